"""Shared amaranth.sim harness for the L1 fabric tests: runs ``L1Fabric`` next to
``L1FabricModel`` cycle by cycle, with bus accesses mirrored into the model in the cycle they take
effect, and compares every output in every cycle."""

from __future__ import annotations

from amaranth.sim import Simulator

from bss1.models.l1_fabric import INPUT_NAMES, OUTPUT_NAMES

EV = 7


def encode(events: dict) -> int:
    """Sparse ``{index: addr}`` -> raw l1_array value."""
    raw = 0
    for i, a in events.items():
        raw |= (1 | (a << 1)) << (EV * i)
    return raw


def decode(raw: int, n: int) -> dict:
    out = {}
    for i in range(n):
        e = (raw >> (EV * i)) & 0x7F
        if e & 1:
            out[i] = e >> 1
    return out


class Op:
    """A bus access queued for cycle-exact execution (``data`` None = read)."""

    def __init__(self, block, addr, data=None, expect_err=0, at=0):
        self.block, self.addr, self.data, self.expect_err = block, addr, data, expect_err
        self.at = at             # earliest start cycle
        self.rdata = None
        self.err = None


def run(fabric, model, n_cycles, *, ops=(), events=None, on_cycle=None):
    """Run ``n_cycles``. ``ops``: list of :class:`Op` executed in order, back to back (one per
    2 cycles), each not before its ``at`` cycle. ``events(c)`` -> dict of input name ->
    {index: addr}. ``on_cycle(c, outputs)`` is
    called with the model's outputs (already checked against the RTL). Returns the ops list."""
    ops = list(ops)
    sim = Simulator(fabric)
    sim.add_clock(1e-8)
    mismatches = []

    async def tb(ctx):
        queue = list(ops)
        pending = None           # op whose ack is due this cycle
        prev = {name: 0 for name in INPUT_NAMES}
        for c in range(n_cycles):
            ins = events(c) if events else {}
            for name in INPUT_NAMES:
                raw = encode(ins.get(name, {}))
                if raw != prev[name]:
                    ctx.set(getattr(fabric, name).as_value(), raw)
                    prev[name] = raw
            started = None
            if pending is not None:
                bus = getattr(fabric, pending.block)
                assert ctx.get(bus.ack) == 1
                pending.rdata, pending.err = ctx.get(bus.rdata), ctx.get(bus.err)
                ctx.set(bus.stb, 0)
                pending = None
            elif queue and queue[0].at <= c:
                started = queue.pop(0)
                bus = getattr(fabric, started.block)
                ctx.set(bus.stb, 1)
                ctx.set(bus.we, int(started.data is not None))
                ctx.set(bus.addr, started.addr)
                ctx.set(bus.wdata, started.data or 0)
                if started.data is None and not started.expect_err:
                    started.expected = model.read(started.block, started.addr)
            expected = model.step(**ins)
            for name in OUTPUT_NAMES:
                port = getattr(fabric, name)
                got = ctx.get(port if name in ("conflict", "conflicts") else port.as_value())
                if name in ("conflict", "conflicts"):
                    want = expected[name]
                else:
                    want = encode(expected[name])
                if got != want:
                    n = len(port.as_value()) // EV if name not in ("conflict", "conflicts") else 0
                    mismatches.append((c, name, decode(got, n) if n else got,
                                       expected[name]))
            if started is not None and started.data is not None and not started.expect_err:
                model.write(started.block, started.addr, started.data)
            if on_cycle is not None:
                on_cycle(c, expected)
            if mismatches:
                break
            if started is not None:
                pending = started
            await ctx.tick()

    sim.add_testbench(tb)
    sim.run()
    assert not mismatches, f"RTL/model mismatch: {mismatches[:3]}"
    for op in ops:
        if op.err is not None:
            assert op.err == op.expect_err, (op.block, hex(op.addr), op.err)
            if op.data is None and not op.expect_err:
                assert op.rdata == op.expected, (op.block, hex(op.addr), op.rdata, op.expected)
    return ops
