"""Configuration path: packets, chip-side ARQ gateware, host ARQ and chip twin (spec §9.1-9.2)."""

import random

import pytest
from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from bss1.models.config_arq import (ArqProtocolError, ConfigInterfaceModel, HostArq,
                                    LossyChannel, ScratchBus, lossless_exchange, lossless_ready)
from bss1.rtl.bus import BusDecoder, BusSignature, register_hit, slave_access
from bss1.rtl.config.arq import ConfigArq
from bss1.rtl.config.interface import ConfigInterface
from bss1.rtl.config.packet import (READ_MARK, SEQ_MODULUS, WINDOW, ack_only, decode_packet,
                                    encode_packet, read_request, read_response, write_request)
from bss1.rtl.config.sim import arq_transact
from bss1.rtl.registers import HICANN_MAP

# Scratch registers behind the real decoders: (instance, register) per tag.
SCRATCH = {0: ("neuron_control", "bg_period"), 1: ("synapse_controller_top", "lut")}
# Addresses answered with err: a register the scratch slave lacks, and a block without a slave.
ERR_ADDRS = {0: [HICANN_MAP["neuron_control"].address("merger_enable"),
                 HICANN_MAP["crossbar_left"].address("row", 3)],
             1: [HICANN_MAP["synapse_controller_top"].address("ctrl"),
                 HICANN_MAP["synapse_controller_bottom"].address("lut", 1)]}


def scratch_addrs(tag):
    inst_name, reg_name = SCRATCH[tag]
    inst = HICANN_MAP[inst_name]
    return [inst.address(reg_name, i) for i in range(inst.type.reg(reg_name).count)]


def scratch_bus():
    widths = {}
    for tag, (inst_name, reg_name) in SCRATCH.items():
        width = HICANN_MAP[inst_name].type.reg(reg_name).width
        widths.update({(tag, a): width for a in scratch_addrs(tag)})
    return ScratchBus(widths)


class _ScratchSlave(wiring.Component):
    """Read/write register array of one declared register; everything else answers err."""
    bus: In(BusSignature())

    def __init__(self, register):
        self.register = register
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        reg = self.register
        mem = [Signal(reg.width, name=f"r{i}") for i in range(reg.count)]
        rdata, err = Signal(32), Signal()
        do = slave_access(m, self.bus)
        hit, idx = register_hit(self.bus.addr, reg)
        m.d.comb += [self.bus.rdata.eq(rdata), self.bus.err.eq(err)]
        with m.If(do):
            # garbage data with err: the ARQ must answer such reads with 0
            m.d.sync += [err.eq(~hit), rdata.eq(0xDEAD_BEEF)]
            for i, r in enumerate(mem):
                with m.If(hit & (idx == i)):
                    with m.If(self.bus.we):
                        m.d.sync += r.eq(self.bus.wdata)
                    m.d.sync += rdata.eq(r)
        return m


def build(timeout=2000):
    top = Module()
    top.submodules.iface = iface = ConfigInterface(timeout=timeout)
    for tag, (inst_name, reg_name) in SCRATCH.items():
        dec = BusDecoder(HICANN_MAP, tag, [inst_name])
        slave = _ScratchSlave(HICANN_MAP[inst_name].type.reg(reg_name))
        top.submodules[f"dec{tag}"] = dec
        top.submodules[f"slave{tag}"] = slave
        wiring.connect(top, iface.bus(tag), dec.bus)
        wiring.connect(top, dec.slave(inst_name), slave.bus)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    return sim, iface


def add_monitors(sim, iface, bus_log, stream_errors):
    """Log every executed bus transaction per tag; check the tx stream rule."""
    for tag in (0, 1):
        bus = iface.bus(tag)

        async def monitor(ctx, bus=bus, tag=tag):
            async for _, _, stb, ack, we, addr, wdata in ctx.tick().sample(
                    bus.stb, bus.ack, bus.we, bus.addr, bus.wdata):
                if stb and ack:
                    bus_log[tag].append((we, addr, wdata if we else None))
        sim.add_process(monitor)

    async def stream_rule(ctx):
        held = None
        async for _, _, valid, ready, payload in ctx.tick().sample(
                iface.tx.valid, iface.tx.ready, iface.tx.payload):
            if held is not None and (not valid or payload != held):
                stream_errors.append((valid, payload, held))
            held = payload if valid and not ready else None
    sim.add_process(stream_rule)


def random_ops(rng, n, tags=(0, 1), err_rate=0.08):
    ops = []
    for _ in range(n):
        tag = rng.choice(tags)
        addr = rng.choice(ERR_ADDRS[tag] if rng.random() < err_rate else scratch_addrs(tag))
        if rng.random() < 0.5:
            ops.append(("w", tag, addr, rng.getrandbits(32)))
        else:
            ops.append(("r", tag, addr))
    return ops


def expected(ops):
    """Read results and per-tag bus transaction sequences for ``ops`` executed exactly once."""
    shadow = scratch_bus()
    reads, txns = [], {0: [], 1: []}
    for op in ops:
        if op[0] == "w":
            shadow(op[1], op[2], True, op[3])
            txns[op[1]].append((1, op[2], op[3]))
        else:
            data, err = shadow(op[1], op[2], False, READ_MARK)
            reads.append(0 if err else data)
            txns[op[1]].append((0, op[2], None))
    n_err = sum(op[2] in ERR_ADDRS[op[1]] for op in ops)
    return reads, txns, n_err


def queue(host, ops):
    for op in ops:
        if op[0] == "w":
            host.write(*op[1:])
        else:
            host.read(*op[1:])


# -- packets ---------------------------------------------------------------------------------------

def test_packet_golden_vectors():
    # §9.1 table: tag[63:62] seq_valid[61] seq[60:55] ack[54:49] write[48] addr[47:32] data[31:0];
    # a read request carries write = 0 and data bit 31 = 1.
    assert read_request(1, seq=5, ack=3, addr=0x4002) == 0x6286_4002_8000_0000
    assert write_request(0, seq=63, ack=0, addr=0xFFFF, data=0x1234) == 0x3F81_FFFF_0000_1234
    assert ack_only(1, ack=17) == 0x4022_0000_0000_0000
    p = decode_packet(0x6286_4002_8000_0000)
    assert p._asdict() == dict(tag=1, seq_valid=1, seq=5, ack=3, write=0, addr=0x4002,
                               data=READ_MARK)
    assert p.encode() == 0x6286_4002_8000_0000
    assert SEQ_MODULUS == 64 and WINDOW == 16 and READ_MARK == 1 << 31
    # conflict #12: write = 1 means write (software convention)
    assert decode_packet(write_request(0, 0, 0, 0, 0)).write == 1


def test_packet_bad_inputs():
    with pytest.raises(ValueError, match=r"^tag 2 out of range 0..1$"):
        write_request(2, 0, 0, 0, 0)
    with pytest.raises(ValueError, match=r"^address 65536 out of range 0..65535$"):
        read_request(0, 0, 0, 0x10000)
    with pytest.raises(ValueError, match=r"^data -1 out of range 0..4294967295$"):
        write_request(0, 0, 0, 0, -1)
    with pytest.raises(ValueError, match=r"^packet 18446744073709551616 out of range "
                                         r"0..18446744073709551615$"):
        decode_packet(1 << 64)
    with pytest.raises(TypeError, match=r"^packet '1' is not an int$"):
        decode_packet("1")
    with pytest.raises(ValueError, match=r"^cip.seq: value 64 out of range 0..63$"):
        encode_packet(tag=0, seq=64)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"^tag 2 out of range 0..1$"):
        ConfigArq(2)
    with pytest.raises(ValueError, match=r"^timeout 0 out of range 1..16777215$"):
        ConfigInterface(timeout=0)
    with pytest.raises(ValueError, match=r"^tag 3 out of range 0..1$"):
        ConfigInterface().bus(3)
    with pytest.raises(ValueError, match=r"^window 17 out of range 1..16$"):
        HostArq(window=17)
    with pytest.raises(ValueError, match=r"^timeout 0 out of range 1..16777215$"):
        HostArq(timeout=0)
    host = HostArq()
    with pytest.raises(ValueError, match=r"^tag -1 out of range 0..1$"):
        host.write(-1, 0, 0)
    with pytest.raises(ValueError, match=r"^address -5 out of range 0..65535$"):
        host.read(0, -5)
    host.poll(10)
    with pytest.raises(ValueError, match=r"^now 9 is before the previous time 10$"):
        host.poll(9)
    with pytest.raises(TypeError, match=r"^bus 5 is not callable$"):
        ConfigInterfaceModel(5)
    model = ConfigInterfaceModel(lambda *a: (1 << 32, 0))
    with pytest.raises(ValueError, match=r"^bus callback returned rdata 4294967296, "
                                         r"allowed 0..4294967295$"):
        model.receive(read_request(0, 0, 0, 0))


# -- models alone (fast, many seeds) ----------------------------------------------------------

def run_model_link(host, model, rng, *, loss=0.0, dup=0.0, reorder=0.0, max_cycles=500_000):
    """Pump packets between the two models through lossy channels, one step per cycle."""
    down = LossyChannel(rng.getrandbits(32), loss=loss, duplicate=dup, reorder=reorder)
    up = LossyChannel(rng.getrandbits(32), loss=loss, duplicate=dup, reorder=reorder)
    for now in range(max_cycles):
        for p in host.poll(now):
            down.send(p, now)
        for p in down.deliver(now):
            for q in model.receive(p, now):
                up.send(q, now)
        for q in model.poll(now):
            up.send(q, now)
        for q in up.deliver(now):
            host.receive(q)
        if host.done() and not len(down) and not len(up):
            return now
    raise TimeoutError("model link did not finish")


@pytest.mark.parametrize("seed", range(6))
def test_models_over_lossy_link(seed):
    rng = random.Random(seed)
    ops = random_ops(rng, 600)
    reads, txns, n_err = expected(ops)
    bus = scratch_bus()
    log = {0: [], 1: []}

    def logging_bus(tag, addr, write, data):
        log[tag].append((int(write), addr, data if write else None))
        return bus(tag, addr, write, data)

    model = ConfigInterfaceModel(logging_bus, timeout=60)
    host = HostArq(timeout=80)
    queue(host, ops)
    run_model_link(host, model, rng, loss=0.1, dup=0.1, reorder=0.2)
    assert host.read_results() == reads
    assert log == txns
    assert model.bus_errors == n_err
    assert host.retransmissions > 0 and model.rx_dropped > 0 and host.rx_dropped > 0


def _lossless_packets(host, chip, now):
    """The FPGA emulator's packet-level exchange on its lossless channel; returns the end time."""
    while True:
        to_fpga = [r for p in host.poll(now) for r in chip.receive(p, now)] + chip.poll(now)
        for r in to_fpga:
            host.receive(r)
        if host.done() and not to_fpga:
            return now
        now += 1


def _endpoint_state(host, chip):
    return ([(s.tx_base, s.tx_next, s.rx_expected, s.last_progress) for s in host._tags],
            [(a.tx_base, a.tx_next, a.rx_expected, a.last_progress, a.bus_errors)
             for a in chip.arqs], host._now, chip._now)


@pytest.mark.parametrize("seed", range(8))
def test_lossless_exchange_matches_packets(seed):
    """Batches without packets: the same bus accesses in the same order (interleaved by
    rounds of the window across the tags), read data, time and endpoint state as the packet
    exchange, batch after batch (sequence numbers wrap), in either mode after the other."""
    rng = random.Random(seed)
    window = rng.choice([WINDOW, 5, 1])
    sides = []
    for _ in range(2):
        bus, log = scratch_bus(), []

        def logging_bus(tag, addr, write, data, bus=bus, log=log):
            log.append((tag, int(write), addr, data))
            return bus(tag, addr, write, data)
        sides.append((HostArq(window=window), ConfigInterfaceModel(logging_bus), log))
    now = [0, 0]
    for batch in range(6):
        ops = random_ops(rng, rng.choice([1, 17, 40, 150]),
                         tags=rng.choice([(0,), (1,), (0, 1)]))
        reqs = [(op[1], 1, op[2], op[3]) if op[0] == "w" else (op[1], 0, op[2], READ_MARK)
                for op in ops]
        direct = batch % 3 != 2          # a packet-level batch now and then
        (h0, c0, log0), (h1, c1, log1) = sides
        assert lossless_ready(h0, c0) and lossless_ready(h1, c1)
        if direct:
            data, rounds = lossless_exchange(h0, c0, reqs, now[0])
            now[0] += rounds
        else:
            start = len(h0.read_results())
            queue(h0, ops)
            now[0] = _lossless_packets(h0, c0, now[0])
            data = h0.read_results()[start:]
        start = len(h1.read_results())
        queue(h1, ops)
        now[1] = _lossless_packets(h1, c1, now[1])
        data1 = h1.read_results()[start:]
        assert data == data1 and None not in data
        assert now[0] == now[1]
        assert log0 == log1
        assert _endpoint_state(h0, c0) == _endpoint_state(h1, c1)
    assert h1.retransmissions == 0 and c1.retransmissions == 0
    ok, bad = lossless_ready(h0, c0), HostArq()
    bad.write(0, 0, 0)
    assert ok and not lossless_ready(bad, ConfigInterfaceModel(scratch_bus()))
    with pytest.raises(ArqProtocolError, match="not quiescent"):
        lossless_exchange(bad, ConfigInterfaceModel(scratch_bus()), [], 0)


def test_host_protocol_errors():
    host = HostArq()
    with pytest.raises(ArqProtocolError, match=r"^tag 0: response seq 0 for address 0x4007, "
                                               r"but no read is pending$"):
        host.receive(read_response(0, 0, 0, 0x4007, 1))
    host = HostArq()
    host.read(1, 0x4100)
    host.poll(0)
    with pytest.raises(ArqProtocolError, match=r"^tag 1: response seq 0 for address 0x4101, "
                                               r"expected one for 0x4100$"):
        host.receive(read_response(1, 0, 1, 0x4101, 1))
    host.receive(encode_packet(tag=3, seq_valid=1))      # malformed tag: dropped, counted
    assert host.rx_bad_tag == 1


def test_model_buffer_full_and_illegal_tag():
    model = ConfigInterfaceModel(scratch_bus())
    addr = scratch_addrs(0)[0]
    outs = [model.receive(read_request(0, s, 0, addr)) for s in range(WINDOW + 1)]
    assert [decode_packet(o[0]).seq_valid for o in outs] == [1] * WINDOW + [0]
    assert outs[-1] == [ack_only(0, WINDOW)] and model.rx_dropped == 1
    # acknowledging one response frees room: the retransmitted read is accepted
    assert model.receive(read_request(0, WINDOW, 1, addr)) == [
        read_response(0, WINDOW, WINDOW + 1, addr, 0)]
    assert model.receive(encode_packet(tag=2, seq_valid=1, write=1)) == []
    assert model.rx_bad_tag == 1


# -- RTL -------------------------------------------------------------------------------------------

def test_rtl_roundtrip_wraparound_and_bus_errors():
    """> 200 transactions per tag through a clean channel: sequence numbers wrap several times."""
    rng = random.Random(7)
    ops = random_ops(rng, 420)
    reads, txns, n_err = expected(ops)
    sim, iface = build()
    bus_log, stream_errors = {0: [], 1: []}, []
    add_monitors(sim, iface, bus_log, stream_errors)
    host = HostArq(timeout=400)
    queue(host, ops[:100])
    res = {}

    async def tb(ctx):
        await arq_transact(ctx, iface, host)
        queue(host, ops[100:])                   # a second call continues the host's clock
        res["cycles"] = await arq_transact(ctx, iface, host)
        for name in ("bus_errors", "rx_dropped", "retransmissions", "rx_bad_tag"):
            res[name] = ctx.get(getattr(iface, name))
    sim.add_testbench(tb)
    sim.run()
    assert host.read_results() == reads
    assert bus_log == txns
    assert min(len(t) for t in txns.values()) > 200
    assert res["bus_errors"] == n_err > 0
    assert (res["rx_dropped"], res["retransmissions"], res["rx_bad_tag"]) == (0, 0, 0)
    assert host.retransmissions == 0 and stream_errors == []
    # the shared rx stream takes one request per 3 cycles (one-cycle slaves): no window stalls
    assert res["cycles"] < 3 * len(ops) + 100


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rtl_fault_injection(seed):
    rng = random.Random(100 + seed)
    ops = random_ops(rng, 240)
    reads, txns, n_err = expected(ops)
    sim, iface = build(timeout=120)
    bus_log, stream_errors = {0: [], 1: []}, []
    add_monitors(sim, iface, bus_log, stream_errors)
    host = HostArq(timeout=160)
    queue(host, ops)
    kw = dict(loss=0.06, duplicate=0.06, reorder=0.15, delay=2, jitter=12)
    down = LossyChannel(rng.getrandbits(32), **kw)
    up = LossyChannel(rng.getrandbits(32), **kw)
    res = {}

    async def tb(ctx):
        await arq_transact(ctx, iface, host, to_chip=down, to_host=up,
                           tx_ready=lambda c: rng.random() < 0.8)
        for name in ("bus_errors", "rx_dropped", "retransmissions"):
            res[name] = ctx.get(getattr(iface, name))
    sim.add_testbench(tb)
    sim.run()
    assert host.read_results() == reads              # every read answered, right data
    assert bus_log == txns                           # every request executed exactly once, in order
    assert res["bus_errors"] == n_err
    assert stream_errors == []
    assert min(down.lost, up.lost, down.duplicated, up.duplicated, down.reordered) > 0
    assert res["rx_dropped"] > 0 and res["retransmissions"] > 0 and host.retransmissions > 0


def test_rtl_matches_model_streaming():
    """Clean channel, HostArq streaming at full rate: per-tag output packets equal the twin's."""
    rng = random.Random(11)
    ops = random_ops(rng, 160)
    sim, iface = build()
    host = HostArq()
    queue(host, ops)
    log = []

    async def tb(ctx):
        await arq_transact(ctx, None, host, log=log, rx=iface.rx, tx=iface.tx)
    sim.add_testbench(tb)
    sim.run()
    model = ConfigInterfaceModel(scratch_bus())
    want = {0: [], 1: []}
    for kind, _, pkt in log:
        if kind == "rx":
            want[decode_packet(pkt).tag] += model.receive(pkt)
    got = {t: [p for k, _, p in log if k == "tx" and decode_packet(p).tag == t] for t in (0, 1)}
    assert got == want and len(got[0]) > 50 and len(got[1]) > 50


def lockstep(packets, *, gap=7, timeout=2000, tx_ready=1, extra=0):
    """Feed raw packets one by one with ``gap`` idle cycles; returns (outputs per input,
    counters, cycles of the tx transfers). ``tx_ready``: constant or ``f(packet index)``."""
    sim, iface = build(timeout=timeout)
    outs, times, res = [], [], {}

    async def tb(ctx):
        ctx.set(iface.tx.ready, 1 if callable(tx_ready) else tx_ready)
        cycle = 0

        async def step():
            nonlocal cycle
            if ctx.get(iface.tx.valid) and ctx.get(iface.tx.ready):
                outs[-1].append(ctx.get(iface.tx.payload))
                times.append(cycle)
            await ctx.tick()
            cycle += 1
        for i, pkt in enumerate(packets):
            if callable(tx_ready):
                ctx.set(iface.tx.ready, tx_ready(i))
            outs.append([])
            ctx.set(iface.rx.payload, pkt)
            ctx.set(iface.rx.valid, 1)
            while not ctx.get(iface.rx.ready):
                await step()
            await step()
            ctx.set(iface.rx.valid, 0)
            for _ in range(gap):
                await step()
        for _ in range(extra):
            await step()
        for name in ("bus_errors", "rx_dropped", "retransmissions", "rx_bad_tag",
                     "bus_errors0", "bus_errors1", "rx_dropped0", "rx_dropped1"):
            res[name] = ctx.get(getattr(iface, name))
    sim.add_testbench(tb)
    sim.run()
    return outs, res, times


@pytest.mark.parametrize("seed", [21, 22])
def test_rtl_matches_model_raw_packets(seed):
    """Random raw host packets (wrong/duplicate seqs, random acks, ack-only, illegal tags,
    buffer overflow): the RTL answers every packet exactly like the twin."""
    rng = random.Random(seed)
    model = ConfigInterfaceModel(scratch_bus())
    packets, want, refused = [], [], 0
    for _ in range(240):
        tag = rng.choice((2, 3)) if rng.random() < 0.05 else rng.choice((0, 1))
        arq = model.arqs[tag & 1]
        seq = arq.rx_expected if rng.random() < 0.75 else rng.randrange(SEQ_MODULUS)
        ack = rng.randrange(SEQ_MODULUS) if rng.random() < 0.3 else arq.tx_base
        addr = rng.choice(scratch_addrs(tag & 1) + ERR_ADDRS[tag & 1])
        if rng.random() < 0.1:
            pkt = encode_packet(tag=tag, ack=ack)
        elif rng.random() < 0.4:
            pkt = encode_packet(tag=tag, seq_valid=1, seq=seq, ack=ack, write=1, addr=addr,
                                data=rng.getrandbits(32))
        else:
            # conflict #12: write = 0 is a read whatever data bit 31 says
            pkt = encode_packet(tag=tag, seq_valid=1, seq=seq, ack=ack, addr=addr,
                                data=rng.choice((READ_MARK, 0)))
        p = decode_packet(pkt)
        in_order_read = tag < 2 and p.seq_valid and not p.write and p.seq == arq.rx_expected
        packets.append(pkt)
        want.append(model.receive(pkt))
        refused += bool(in_order_read and not decode_packet(want[-1][0]).seq_valid)
    outs, res, _ = lockstep(packets)
    assert outs == want
    assert res["rx_bad_tag"] == model.rx_bad_tag > 0
    assert res["rx_dropped"] == model.rx_dropped > 0
    assert [res["rx_dropped0"], res["rx_dropped1"]] == [a.rx_dropped for a in model.arqs]
    assert res["bus_errors"] == model.bus_errors > 0
    assert [res["bus_errors0"], res["bus_errors1"]] == [a.bus_errors for a in model.arqs]
    assert res["retransmissions"] == 0
    assert refused > 0        # the retransmit buffer filled up: in-order reads were refused


def test_rtl_buffer_full_illegal_tag_and_polarity():
    addr = scratch_addrs(1)[2]
    packets = [write_request(1, 0, 0, addr, 0xCAFE_F00D)]                  # write=1: a write
    packets += [encode_packet(tag=1, seq_valid=1, seq=1 + k, addr=addr)     # write=0: reads
                for k in range(WINDOW + 1)]
    packets += [encode_packet(tag=tag, seq_valid=1, seq=0, write=1, addr=addr, data=5)
                for tag in (2, 3)]
    packets += [read_request(1, WINDOW + 1, 2, addr)]                  # ack frees two slots
    outs, res, _ = lockstep(packets)
    assert outs[0] == [ack_only(1, 1)]
    assert outs[1:WINDOW + 1] == [[read_response(1, k, k + 2, addr, 0xCAFE_F00D)]
                                  for k in range(WINDOW)]
    assert outs[WINDOW + 1] == [ack_only(1, WINDOW + 1)]                  # buffer full: refused
    assert outs[WINDOW + 2:WINDOW + 4] == [[], []]                      # illegal tags
    assert outs[WINDOW + 4] == [read_response(1, WINDOW, WINDOW + 2, addr, 0xCAFE_F00D)]
    assert (res["rx_dropped"], res["rx_bad_tag"], res["bus_errors"]) == (1, 2, 0)


def test_rtl_retransmission_timeout():
    """An unacknowledged response is resent (go-back-N) exactly ``timeout`` cycles later."""
    timeout = 50
    a0, a1 = scratch_addrs(0)[:2]
    packets = [write_request(0, 0, 0, a0, 0x1111), read_request(0, 1, 0, a0),
               read_request(0, 2, 0, a1)]
    outs, res, times = lockstep(packets, timeout=timeout, extra=2 * timeout + 10)
    r0 = read_response(0, 0, 2, a0, 0x1111)
    first = [ack_only(0, 1), r0, read_response(0, 1, 3, a1, 0)]
    assert outs[:2] == [first[:1], first[1:2]]
    resent = [read_response(0, 0, 3, a0, 0x1111), read_response(0, 1, 3, a1, 0)]
    assert outs[2] == first[2:] + resent + resent
    assert times[3] - times[1] == timeout and times[5] - times[3] == timeout
    assert times[4] == times[3] + 1
    assert res["retransmissions"] == 2


def test_rtl_stalled_output_skips_acknowledged_responses():
    """Responses acknowledged while the output was stalled are not sent any more; owed acks
    coalesce into one ack-only packet."""
    a = scratch_addrs(0)[5]
    packets = [read_request(0, k, 0, a) for k in range(3)]
    packets += [write_request(0, 3, 0, a, 7), write_request(0, 4, 0, a, 8)]
    packets += [ack_only(0, 3), ack_only(0, 3)]
    outs, res, _ = lockstep(packets, tx_ready=lambda i: i >= 6)
    # the response already in the output register goes out; the other two were acknowledged
    assert outs[:6] == [[]] * 6
    assert outs[6] == [read_response(0, 0, 1, a, 0), ack_only(0, 5)]


def test_rtl_round_robin_between_tags():
    a0, a1 = scratch_addrs(0)[1], scratch_addrs(1)[1]
    packets = [read_request(0, k, 0, a0) for k in range(3)]
    packets += [read_request(1, k, 0, a1) for k in range(3)]
    packets += [encode_packet(tag=2)]
    outs, res, _ = lockstep(packets, tx_ready=lambda i: i >= 6)
    got = [decode_packet(p) for p in outs[6]]
    assert [(p.tag, p.seq) for p in got] == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    assert res["rx_bad_tag"] == 1


def test_converts_to_verilog():
    from amaranth.back import verilog
    text = verilog.convert(ConfigInterface(timeout=100), name="config_interface")
    assert "module config_interface" in text and "bus1__stb" in text
