"""Emulated FPGA, first slice (spec/host-stack.md §2.1, §2.2, §2.5, §2.7) over UDP on 127.0.0.1."""

import contextlib
import threading
import time

import pytest

from bss1.firmware.fpga_emulator import (FpgaEmulator, HicannLinkError, HostHicannLink,
                                         build_parser, decode_entry, encode_entry,
                                         response_entry)
from bss1.firmware.formats import FpgaConfig, PacketType, TriggerCommand
from bss1.host.hostarq import ArqParams
from bss1.host.hostarq_udp import HostArqClient
from bss1.host.scenarios import l1_transmission
from bss1.models.hicann import HicannModel
from bss1.rtl.registers import HICANN_MAP

# One-process emulation: thread hand-offs exceed 756 us, so both ends use the RTT estimator.
CLIENT = ArqParams(rto_max_s=3e-3)
FPGA = ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6)
HC = PacketType.HICANNCONFIG


def readback_write():
    """First scenario write whose register reads back the written value (a repeater entry)."""
    for t, a, d in l1_transmission(150, 0):
        m = HicannModel()
        m.write(t, a, d)
        if d and m.read(t, a) == d:
            return t, a, d
    raise AssertionError("no read-back write in the scenario")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


@contextlib.contextmanager
def setup(**kw):
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(FpgaEmulator(params=FPGA, **kw))
        client = stack.enter_context(
            HostArqClient("127.0.0.1", emu.data_port, emu.reset_port, params=CLIENT))
        client.connect()
        yield emu, client, HostHicannLink(client, read_timeout=5.0)


def wait_until(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_entry_format():
    w = encode_entry(5, 1, True, 0x8123, 0xDEADBEEF)
    assert w == (5 << 59) | (1 << 49) | (1 << 48) | (0x8123 << 32) | 0xDEADBEEF
    assert decode_entry(w) == (0, 5, 1, 1, 0x8123, 0xDEADBEEF)
    assert decode_entry(response_entry(7, 0, 0x12, 3, dnc=2)) == (2, 7, 0, 0, 0x12, 3)
    with pytest.raises(ValueError, match=r"^HICANN index 8 out of range 0\.\.7$"):
        encode_entry(8, 0, True, 0, 0)
    with pytest.raises(ValueError, match=r"^HICANNCONFIG entry 0x0004000000000000 sets "
                                         r"reserved bits 58:50$"):
        decode_entry(1 << 50)


def test_fpgaconfig_echo_and_state():
    with setup() as (emu, client, _):
        for trig in (TriggerCommand.PRIME_SYSTIME, TriggerCommand.START_SYSTIME,
                     TriggerCommand.PRIME_EXPERIMENT):
            word = FpgaConfig(trig, pulse_loopback=True).word
            client.send(PacketType.FPGACONFIG, [word])
            assert client.receive(PacketType.FPGACONFIG, timeout=5) == (word,)
        assert word == 0x1480000
        assert emu.systime_running and not emu.systime_primed
        assert emu.experiment_primed and not emu.experiment_running
        assert emu.pulse_loopback and emu.last_fpga_config == word
        client.send(PacketType.FPGACONFIG, [0x680000])         # start_experiment
        assert client.receive(PacketType.FPGACONFIG, timeout=5) == (0x680000,)
        # started without a buffered playback program: nothing runs
        assert not emu.experiment_running and not emu.experiment_primed
        assert emu.experiments_without_program == 1 and emu.experiments == 0
        assert not emu.pulse_loopback                           # sticky bit not re-sent
        assert emu.fpga_config_echoes == 4
        assert emu.status()["packets"] == {PacketType.FPGACONFIG: 4}


def test_configure_hicann_over_udp_matches_model():
    writes = l1_transmission(150, 0)
    assert len(writes) >= 30
    ref = HicannModel()
    ref.writes(writes)
    addrs = list(dict.fromkeys((t, a) for t, a, _ in writes))
    with setup() as (emu, client, link):
        link.writes(3, writes)
        got = link.read_many(3, addrs)
        assert got == [ref.read(t, a) for t, a in addrs]
        assert emu.hicann_writes == len(writes) and emu.hicann_reads == len(addrs)
        assert emu.responses_sent == len(addrs)
        assert [emu.hicanns[3].read(t, a) for t, a in addrs] == got
        # the other HICANNs were not touched
        assert [emu.hicanns[0].read(t, a) for t, a in addrs] == \
            [HicannModel().read(t, a) for t, a in addrs]
        assert emu.arq_failures == 0 and emu.status()["chip_bus_errors"] == [0] * 8


def test_two_hicanns_independent_and_both_tags():
    t0, a0, d0 = readback_write()
    with setup() as (emu, client, link):
        link.write(1, t0, a0, d0)
        link.write(6, t0, a0, 0)
        link.flush()
        # interleaved reads of two HICANNs in one frame, answered per (HICANN, tag)
        link._put(encode_entry(6, t0, False, a0, 1 << 31))
        assert link.read(1, t0, a0) == d0
        assert link.read(6, t0, a0) == 0
        # tag 1 (synapse controllers) goes to the same chip's second ARQ
        ref = HicannModel()
        reads = [(1, 0x0000), (1, 0x8000)]
        assert link.read_many(6, reads) == [ref.read(t, a) for t, a in reads]
        with pytest.raises(ValueError, match=r"^HICANN index 8 out of range 0\.\.7$"):
            link.write(8, 0, 0, 0)
        with pytest.raises(ValueError, match=r"^HICANN index -1 out of range 0\.\.7$"):
            link.read(-1, 0, 0)


def test_unmapped_read_gives_zero_and_bus_error():
    with setup() as (emu, client, link):
        # a hole in the neuron control block: the chip answers a bus error, data 0
        assert link.read(2, 0, HICANN_MAP["neuron_control"].base + 0x40) == 0
        assert emu.status()["chip_bus_errors"][2] == 1
        # the DNC interface's link-control register is storage
        dnc_if = HICANN_MAP["dnc_if"].address("link_control")
        link.write(2, 0, dnc_if, 0x1A5)
        assert link.read(2, 0, dnc_if) == 0x1A5
        assert emu.status()["chip_bus_errors"][2] == 1


def test_malformed_and_unknown_counted_not_fatal():
    with setup(n_hicanns=4) as (emu, client, link):
        client.send(PacketType.FPGACONFIG, [1, 2])                  # LEN 2
        client.send(PacketType.FPGACONFIG, [1 << 40])               # undefined bits
        client.send(PacketType.FPGAPLAYBACK, [0])                   # no group header
        client.send(0x1234, [0])                                    # unknown type
        client.send(PacketType.FPGADEBUG, [1, 1])                   # LEN 2
        client.send(HC, [1 << 50,                                   # reserved bits
                         encode_entry(0, 0, True, 0, 1, dnc=1),     # DNC 1
                         encode_entry(5, 0, True, 0, 1)])           # HICANN 5 of 4
        assert wait_until(lambda: emu.packets[HC] == 1)
        assert emu.malformed_frames == 3 and emu.unknown_packets == 1
        assert emu.status()["malformed"] == {"fpgaconfig": 2, "playback": 1,
                                             "unknown_ptype": 1, "fpgadebug": 1}
        assert emu.malformed_entries == 2 and emu.bad_hicann_entries == 1
        assert emu.hicann_writes == 0 and emu.endpoint.error is None
        assert not client.received_packet_available(PacketType.FPGACONFIG)
        # still serving
        t, a, d = readback_write()
        link.write(0, t, a, d)
        assert link.read(0, t, a) == d
        short = HostHicannLink(client, n_hicanns=4)
        with pytest.raises(ValueError, match=r"^HICANN index 4 out of range 0\.\.3$"):
            short.read(4, 0, 0)


def test_foreign_response_and_address_mismatch():
    with setup() as (emu, client, link):
        # arm loopback: entries come back unchanged, so a read of a different address than the
        # one the link waits for can be staged
        client.send(PacketType.FPGADEBUG, [1])
        assert wait_until(lambda: emu.hicann_arq_loopback)
        link._put(encode_entry(0, 0, False, 0x10, 1 << 31))
        link.flush()
        with pytest.raises(HicannLinkError,
                           match=r"^HICANN 0 tag 0: response for address 0x0010, "
                                 r"expected 0x0020$"):
            link.read(0, 0, 0x20)
        client.send(PacketType.FPGADEBUG, [0])
        assert wait_until(lambda: not emu.hicann_arq_loopback)
        quick = HostHicannLink(client, read_timeout=0.2)
        with pytest.raises(TimeoutError, match=r"^HICANN 1 tag 0: no response within 0\.2 s$"):
            quick._next_response(1, 0, time.monotonic() + 0.2)


def test_soft_reset():
    with setup() as (emu, client, link):
        t, a, d = readback_write()
        link.write(0, t, a, d)
        assert link.read(0, t, a) == d
        emu.soft_reset(0x55000000 | 0x10)          # HICANN-ARQ reset: registers stay
        assert link.read(0, t, a) == d
        emu.soft_reset(0x55000000 | 0x02)          # HICANN design reset
        assert link.read(0, t, a) == HicannModel().read(t, a)
        with pytest.raises(ValueError, match=r"^soft-reset word 1 is not 0x55000000 \| "
                                             r"bits 4:0$"):
            emu.soft_reset(1)


def test_argument_parser():
    args = build_parser().parse_args(["--port", "4321"])
    assert (args.host, args.port, args.reset_port, args.hicanns) == \
        ("127.0.0.1", 4321, 45054, 8)


def test_chip_arq_modes_identical():
    """The direct (packet-free) FPGA<->chip exchange and the packet-level one give the same
    reply stream, chip state, bus errors, virtual ARQ time and chip time for random batches of
    writes and reads to both tags of two HICANNs (mapped and unmapped addresses), also when the
    mode changes between frames."""
    import random
    rng = random.Random(7)
    insts = [i for i in HICANN_MAP.instances if not i.name.startswith("floating_gate")]
    frames = []
    for _ in range(12):
        words = []
        for _ in range(rng.choice([1, 30, 180])):
            inst = rng.choice(insts)
            addr = inst.base + rng.randrange(min(inst.size, 64))
            hicann = rng.randrange(2)
            if rng.random() < 0.5:
                words.append(encode_entry(hicann, inst.tag, True, addr, rng.getrandbits(32)))
            else:
                words.append(encode_entry(hicann, inst.tag, False, addr, 1 << 31))
        frames.append(tuple(words))
    runs = []
    for modes in (["direct"] * 12, ["packets"] * 12, ["direct", "packets"] * 6):
        with FpgaEmulator(params=FPGA, n_hicanns=2, threaded=False, clock=lambda: 0.0,
                          chip_arq=modes[0]) as emu:
            sent = []
            emu._send = lambda ptype, words: sent.append((ptype, tuple(words)))
            for mode, words in zip(modes, frames):
                emu.chip_arq = mode
                emu.handle_packet(HC, words)
            state = [(m.idle_cycles, m.drivers.cycle, m.bus_errors,
                      [m.bus(t, a, False, 0) for t, a in
                       [(i.tag, i.base + k) for i in insts for k in range(0, 64, 5)]])
                     for m in emu.hicanns]
            runs.append((sent, state, emu.arq_now, emu.arq_failures,
                         [s.chip.bus_errors for s in emu.slots]))
    assert runs[0][0] and sum(len(w) for _, w in runs[0][0]) > 300
    assert runs[0][3] == 0 and runs[0][4][0] > 0
    assert runs[0] == runs[1] == runs[2]
    with pytest.raises(ValueError, match="chip_arq"):
        FpgaEmulator(chip_arq="fast")
