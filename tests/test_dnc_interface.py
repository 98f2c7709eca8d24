"""Layer-2 DNC interface: GbitLink register, release buffers, timestamps, transmit queues
(spec hicann-digital.md §7.6, §8.2-8.4, §11). Every scenario runs on the gateware in amaranth.sim
and on the reference model; the harness asserts that both agree on every port in every cycle, and
the tests then check the behaviour on the gateware's record."""

import random

import pytest
from amaranth.sim import Simulator

from bss1.host.gbitlink import GbitLink, GbitLinkDirection
from bss1.models.dnc_interface import DncInterfaceModel
from bss1.rtl.dnc_interface import (COUNTERS, SPL1_COUNTERS, SYSTIME_MHZ, DncInterface,
                                    L2Pulse)
from bss1.rtl.registers import HICANN_MAP

D = GbitLinkDirection
GBIT = HICANN_MAP["spl1_control"].type.reg("gbitlink")
LINK = HICANN_MAP["dnc_if"].type.reg("link_control")


def counter_addr(name):
    return SPL1_COUNTERS.address(COUNTERS.index(name))


class Program:
    """Per-cycle stimulus: ``l2`` (channel, addr, ts), ``mo`` {channel: addr}, ``ready``,
    ``sreset``, ``write`` (block, addr, data) or ``read`` (block, addr); a bus cycle is followed
    by its ack cycle."""

    def __init__(self):
        self.cycles = []

    def cycle(self, **kw):
        self.cycles.append(kw)
        return self

    def idle(self, n):
        for _ in range(n):
            self.cycles.append({})
        return self

    def write(self, block, addr, data):
        return self.cycle(write=(block, addr, data)).idle(1)

    def read(self, block, addr):
        return self.cycle(read=(block, addr)).idle(1)

    def gbitlink(self, word):
        return self.write("spl1_control", GBIT.offset, word)

    def mark(self):
        return len(self.cycles)


def run_model(prog, core_mhz=100, tx_depth=4):
    mdl = DncInterfaceModel(core_mhz=core_mhz, tx_depth=tx_depth)
    recs = []
    for cyc in prog.cycles:
        rec = {"systime": mdl.systime, **{n: mdl.counters[n] for n in COUNTERS}}
        if "read" in cyc:
            rec["read"] = mdl.read(*cyc["read"])
        out = mdl.step(cyc.get("l2"), cyc.get("mo"), cyc.get("ready", True),
                       cyc.get("sreset", False))
        rec["merger_in"] = out["merger_in"]
        rec["l2_out"] = out["l2_out"]
        if "write" in cyc:
            rec["write_err"] = mdl.write(*cyc["write"])
        recs.append(rec)
    return recs


def run_rtl(prog, core_mhz=100, tx_depth=4):
    dut = DncInterface(core_mhz=core_mhz, tx_depth=tx_depth)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    recs = []

    async def tb(ctx):
        prev_mo = set()
        prev_bus = None
        pending = None
        for cyc in prog.cycles:
            l2 = cyc.get("l2")
            ctx.set(dut.l2_in.valid, l2 is not None)
            if l2 is not None:
                ctx.set(dut.l2_in.payload, {"channel": l2[0], "addr": l2[1], "timestamp": l2[2]})
            mo = cyc.get("mo") or {}
            for c in prev_mo - set(mo):
                ctx.set(dut.merger_out[c].valid, 0)
            for c, a in mo.items():
                ctx.set(dut.merger_out[c].valid, 1)
                ctx.set(dut.merger_out[c].addr, a)
            prev_mo = set(mo)
            ctx.set(dut.l2_out.ready, cyc.get("ready", True))
            ctx.set(dut.systime_reset, cyc.get("sreset", False))
            if prev_bus is not None:
                ctx.set(prev_bus.stb, 0)
                prev_bus = None
            op = cyc.get("write") or cyc.get("read")
            if op is not None:
                bus = getattr(dut, op[0])
                ctx.set(bus.stb, 1)
                ctx.set(bus.we, "write" in cyc)
                ctx.set(bus.addr, op[1])
                ctx.set(bus.wdata, op[2] if "write" in cyc else 0)
                prev_bus = bus
            rec = {"systime": ctx.get(dut.systime),
                   **{n: ctx.get(getattr(dut, n)) for n in COUNTERS}}
            if pending is not None:     # the ack of last cycle's access
                bus, kind = pending
                assert ctx.get(bus.ack) == 1
                if kind == "read":
                    recs[-1]["read"] = (ctx.get(bus.rdata), ctx.get(bus.err))
                else:
                    recs[-1]["write_err"] = ctx.get(bus.err)
                pending = None
            if op is not None:
                pending = (getattr(dut, op[0]), "write" if "write" in cyc else "read")
            rec["merger_in"] = {c: ctx.get(dut.merger_in[c].addr) for c in range(8)
                                if ctx.get(dut.merger_in[c].valid)}
            if ctx.get(dut.l2_out.valid):
                p = ctx.get(dut.l2_out.payload)
                rec["l2_out"] = (p.channel, p.addr, p.timestamp)
            else:
                rec["l2_out"] = None
            recs.append(rec)
            await ctx.tick()

    sim.add_testbench(tb)
    sim.run()
    return recs, dut


def run(prog, **kw):
    """Both; asserts lock-step agreement and returns the gateware's record."""
    rtl, _ = run_rtl(prog, **kw)
    mdl = run_model(prog, **kw)
    for i, (a, b) in enumerate(zip(rtl, mdl)):
        assert a == b, f"cycle {i}: RTL {a} != model {b}"
    return rtl


def released(recs, channel):
    return [(i, r["merger_in"][channel]) for i, r in enumerate(recs) if channel in r["merger_in"]]


def test_l2_pulse_layout_is_the_section_8_3_format():
    # [23:21] channel, [20:15] L1 address, [14:0] timestamp
    assert L2Pulse.size == 24
    assert L2Pulse.const({"channel": 5, "addr": 0x2A, "timestamp": 0x1234}).as_value().value \
        == (5 << 21) | (0x2A << 15) | 0x1234


def test_gbitlink_golden_word_decoded_by_the_register():
    # §8.2: link 0 TO_DNC, link 7 TO_HICANN, timestamps on -> 0x10181
    word = GbitLink.of({0: D.TO_DNC, 7: D.TO_HICANN}, timestamp_enable=True).word()
    assert word == 0x10181
    prog = Program().gbitlink(word).idle(1)
    t0 = prog.mark()
    prog.cycle(l2=(0, 9, 0), mo={7: 11, 0: 12})      # HW channel 0 = link 7 (TO_HICANN)
    prog.cycle(l2=(7, 9, 0))                          # HW channel 7 = link 0: not TO_HICANN
    prog.idle(3).read("spl1_control", counter_addr("rejected"))
    prog.read("spl1_control", counter_addr("expired"))
    prog.write("spl1_control", GBIT.offset + 1, 0).write("dnc_if", LINK.offset, 0x1FF)
    prog.read("dnc_if", LINK.offset)
    rtl, dut = run_rtl(prog)
    assert rtl == run_model(prog)
    assert rtl[0]["write_err"] == 0
    # only channel 7 (TO_DNC) transmits; its event leaves the cycle after capture
    assert rtl[t0 + 1]["l2_out"] == (7, 11, rtl[t0]["systime"])
    assert [r["l2_out"] for r in rtl[t0 + 2:]] == [None] * (len(rtl) - t0 - 2)
    reads = [r["read"] for r in rtl if "read" in r]
    # channel 0 accepted (timestamp 0 is in the past: expired), channel 7 rejected
    assert reads[:2] == [(1, 0), (1, 0)]
    assert [r["write_err"] for r in rtl if "write_err" in r][1:] == [1, 0]
    assert reads[2] == (0x1FF, 0)


def _to_hicann(channel, ts_enable=True):
    links = {7 - channel: D.TO_HICANN}
    return GbitLink.of(links, timestamp_enable=ts_enable).word()


@pytest.mark.parametrize("core_mhz", [100, 200])
def test_systime_advances_at_250_mhz(core_mhz):
    prog = Program().idle(40).cycle(sreset=True).idle(5)
    recs = run(prog, core_mhz=core_mhz)
    assert [r["systime"] for r in recs[:40]] == [n * 250 // core_mhz for n in range(40)]
    assert [r["systime"] for r in recs[41:]] == [n * 250 // core_mhz for n in range(5)]


@pytest.mark.parametrize("offset", range(5))
def test_pulse_released_at_its_timestamp_and_not_before(offset):
    c = 3
    prog = Program().gbitlink(_to_hicann(c)).idle(1)
    t_send = prog.mark()
    ts = 100 + offset                    # the systime is about 2.5 * 3 = 7 ticks here
    prog.cycle(l2=(c, 42, ts)).idle(50)
    recs = run(prog)
    rel = released(recs, c)
    assert len(rel) == 1
    i, addr = rel[0]
    assert addr == 42 and i > t_send
    # the release cycle covers the timestamp's tick; every earlier cycle ended before it
    assert recs[i]["systime"] <= ts < recs[i + 1]["systime"]
    assert all(recs[j + 1]["systime"] <= ts for j in range(i))


def test_late_pulses_expire_and_are_counted():
    c = 5
    sys = [r["systime"] for r in run_model(Program().idle(30))]
    t = Program().gbitlink(_to_hicann(c)).idle(10).mark()
    prog = Program().gbitlink(_to_hicann(c)).idle(10)
    prog.cycle(l2=(c, 1, sys[t]))                       # due in this very cycle: too late
    prog.cycle(l2=(c, 2, sys[t + 2]))                   # the first tick of the next cycle
    prog.cycle(l2=(c, 3, (sys[t] - 5000) % 2**15))      # long past
    prog.cycle(l2=(c, 4, (sys[t + 4] + 2**14) % 2**15))  # bit 14 of the difference: expired
    prog.idle(20).read("spl1_control", counter_addr("expired"))
    recs = run(prog)
    assert released(recs, c) == [(t + 2, 2)]
    assert recs[-2]["read"] == (3, 0)
    assert recs[-1]["expired"] == 3


def test_ten_bit_compare_releases_far_pulses_early():
    c = 0
    prog = Program().gbitlink(_to_hicann(c)).idle(1)
    prog.cycle(l2=(c, 7, 1024 + 40)).idle(40)
    recs = run(prog)
    (i, _), = released(recs, c)
    assert recs[i]["systime"] <= 40 < recs[i + 1]["systime"]


def test_two_releases_per_cycle_then_collisions():
    c = 2
    prog = Program().gbitlink(_to_hicann(c)).idle(1)
    for a in (10, 11, 12, 13):
        prog.cycle(l2=(c, a, 200))
    prog.idle(100).read("spl1_control", counter_addr("collided"))
    recs = run(prog)
    rel = released(recs, c)
    assert [a for _, a in rel] == [10, 11]
    assert rel[1][0] == rel[0][0] + 1           # the second waits one cycle
    assert recs[-2]["read"] == (2, 0)


def test_release_buffer_overflow_is_counted():
    c = 6
    prog = Program().gbitlink(_to_hicann(c)).idle(1)
    for a in range(12):
        prog.cycle(l2=(c, a, 1000 + 100 * a))
    prog.idle(5).read("spl1_control", counter_addr("overflow"))
    recs = run(prog)
    assert recs[-2]["read"] == (2, 0)


def test_without_timestamps_pulses_pass_immediately_and_reset_clears():
    c = 1
    prog = Program().gbitlink(_to_hicann(c, ts_enable=False)).idle(1)
    t = prog.mark()
    prog.cycle(l2=(c, 33, 12345)).idle(2)
    prog.cycle(l2=(4, 1, 0))                                   # not enabled: rejected
    prog.gbitlink(GBIT.encode(reset=1)).idle(1)
    prog.cycle(l2=(c, 34, 0)).idle(2)                          # after reset: rejected again
    prog.read("spl1_control", counter_addr("rejected"))
    recs = run(prog)
    assert released(recs, c) == [(t, 33)]
    assert recs[-2]["read"] == (1, 0)


def test_transmit_queue_arbiter_and_drops():
    word = GbitLink.of({i: D.TO_DNC for i in range(8)}).word()
    prog = Program().gbitlink(word).idle(1)
    t = prog.mark()
    for _ in range(6):
        prog.cycle(mo={c: c + 8 for c in range(8)}, ready=False)
    prog.idle(40)
    prog.read("spl1_control", counter_addr("tx_dropped"))
    recs = run(prog)
    outs = [r["l2_out"] for r in recs[t + 6:] if r["l2_out"] is not None]
    assert len(outs) == 32                                   # 4 queued per channel
    assert [o[0] for o in outs[:8]] == list(range(8))        # round robin
    for ch in range(8):
        stamps = [o[2] for o in outs if o[0] == ch]
        assert stamps == [recs[t + k]["systime"] for k in range(4)]
    assert recs[-2]["read"] == (16, 0)


@pytest.mark.parametrize("core_mhz", [100, 250])
def test_random_lock_step_against_the_model(core_mhz):
    rng = random.Random(core_mhz)
    words = []
    for ts_enable in (True, True, False):
        d = [D.TO_HICANN] * 3 + [D.TO_DNC] * 3 + [D.DISABLED] * 2
        rng.shuffle(d)
        words.append(GbitLink(tuple(d), timestamp_enable=ts_enable).word())
    prog = Program().gbitlink(words[0])
    rate = SYSTIME_MHZ / core_mhz
    for n in range(1200):
        if n in (500, 1000):
            prog.gbitlink(words[n // 500])
            continue
        cyc = {}
        if n % 60 < 4:
            # a burst of pulses for one channel with one release time: collisions
            cyc["l2"] = (n // 60 % 8, rng.randrange(64), (int((n // 60 * 60) * rate) + 50)
                         % 2**15)
        elif rng.random() < 0.6:
            t = int(n * rate) + rng.choice([-3, 5, 40, 40, 41, 42, 80, 300])
            cyc["l2"] = (rng.choice([0, 1, 2, rng.randrange(8)]), rng.randrange(64),
                         (t // 4 * 4) % 2**15)
        if rng.random() < 0.5:
            cyc["mo"] = {c: rng.randrange(64) for c in rng.sample(range(8), rng.randrange(1, 8))}
        cyc["ready"] = rng.random() < 0.3
        if n == 1100:
            cyc["sreset"] = True
        prog.cycle(**cyc)
    for name in COUNTERS:
        prog.read("spl1_control", counter_addr(name))
    recs = run(prog, core_mhz=core_mhz)
    assert sum(len(r["merger_in"]) for r in recs) > 50
    assert sum(r["l2_out"] is not None for r in recs) > 50
    assert all(recs[-1][n] > 0 for n in COUNTERS), {n: recs[-1][n] for n in COUNTERS}


def test_bad_input():
    with pytest.raises(ValueError, match=r"^core clock 110 MHz out of range 100\.\.250 in steps "
                                         r"of 25$"):
        DncInterface(core_mhz=110)
    with pytest.raises(ValueError, match=r"^tx_depth 0 out of range 1\.\.16$"):
        DncInterface(tx_depth=0)
    mdl = DncInterfaceModel()
    with pytest.raises(ValueError, match=r"^l2_in channel 8 out of range 0\.\.7$"):
        mdl.step(l2_in=(8, 0, 0))
    with pytest.raises(ValueError, match=r"^l2_in timestamp 32768 out of range 0\.\.32767$"):
        mdl.step(l2_in=(0, 0, 32768))
    with pytest.raises(ValueError, match=r"^merger_out address on channel 2 64 out of range "
                                         r"0\.\.63$"):
        mdl.step(merger_out={2: 64})
    with pytest.raises(ValueError, match=r"^block 'fg' is not one of spl1_control, dnc_if$"):
        mdl.write("fg", 0, 0)
    assert mdl.systime == 0                 # nothing was half applied
