"""Adapters that couple a numpy analog core to the HICANN RTL in windows with a lookahead (DESIGN
decision 4; spec analog-core.md §12 time bases and the 80 ns neuron -> L1 output delay).

An analog core is any object with ``step(n_cycles: int, strobes) -> fired``:

* ``strobes``: structured array (:data:`STROBE_DTYPE`: ``cycle`` int64 absolute core cycle,
  ``driver``, ``strobe``, ``addr``), the synapse-driver strobes of the ``n_cycles`` cycles being
  stepped, in cycle order (drivers ascending within a cycle);
* ``fired``: structured array with fields ``cycle`` (absolute cycle in which the fire line must
  be raised) and ``denmem`` (neuron-builder address 0..511), or ``None`` for none.

If the core has an integer ``cycle`` attribute (its own clock), the adapter first steps it with
no strobes up to the RTL's cycle and refuses a core that is ahead.

Both adapters drive :class:`bss1.rtl.analog_bridge.HicannAnalogTop` (or anything with its
``run`` / ``strobe_rec`` / ``fire_cmd`` / ``cycle`` / ``overflow`` / ``commands_pending``
ports) in windows of ``window`` cycles (default 8 = the 80 ns output delay at 100 MHz):

1. the chip is frozen (``run`` = 0); queued fire commands whose stamps lie inside the bridge's
   horizon go into ``fire_cmd`` (stamp order), and the adapter waits until the bridge has placed
   them;
2. the chip runs one window: ``run`` = 1 and one wait of ``window`` cycles (amaranth.sim: one
   ``ctx.tick().repeat``; cocotb: one ``Timer``); no Python per cycle;
3. frozen again, the strobe records of the window are drained from ``strobe_rec``, the core
   steps the window, and its fires join the queue.

The lookahead contract: a core stepped over ``[t, t + window)`` may fire no earlier than
``t + window`` (the RTL has already run the window); an earlier fire raises
:class:`LookaheadError`, as does a strobe stamped outside the window or a bridge overflow. This is
exact, not approximate, as long as ``window`` does not exceed the core's output delay.
"""

from __future__ import annotations

import heapq

import numpy as np

from ..rtl.analog_bridge import DEFAULT_HORIZON, FireCommand, StrobeRecord
from ..rtl.l1 import N_DENMEMS

__all__ = ["STROBE_DTYPE", "FIRE_DTYPE", "LookaheadError", "WindowSchedule",
           "AmaranthAnalogAdapter", "CocotbAnalogAdapter", "DEFAULT_WINDOW"]

STROBE_DTYPE = np.dtype([("cycle", np.int64), ("driver", np.int16), ("strobe", np.uint8),
                         ("addr", np.uint8)])
FIRE_DTYPE = np.dtype([("cycle", np.int64), ("denmem", np.int16)])
#: The neuron -> L1 output delay of 80 ns in core cycles at 100 MHz.
DEFAULT_WINDOW = 8


class LookaheadError(RuntimeError):
    """The coupling contract was broken (a fire in the past, a lost or misplaced strobe)."""


def _field(layout, name):
    f = layout[name]
    return f.offset, (1 << f.width) - 1


class WindowSchedule:
    """The simulator-independent half of an adapter: time, validation, the fire queue.

    ``begin(cycle)`` starts at RTL cycle ``cycle`` (kept in ``start``; ``t`` is the first cycle
    of the next window); per window, ``commands()`` gives the fire
    commands to queue now, and ``step(records)`` hands the window's strobe records (dicts or
    tuples ``(stamp, driver, strobe, addr)``) to the core and queues its fires.
    """

    def __init__(self, core, *, window: int = DEFAULT_WINDOW, horizon: int = DEFAULT_HORIZON):
        if not callable(getattr(core, "step", None)):
            raise TypeError(f"analog core {core!r} has no step(n_cycles, strobes) method")
        if not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"fire horizon {horizon!r} out of range 1..")
        if not isinstance(window, int) or isinstance(window, bool) \
                or not 1 <= window <= horizon:
            raise ValueError(f"window {window!r} out of range 1..{horizon}")
        self.core = core
        self.window = window
        self.horizon = horizon
        self.t = None               # RTL cycle of the next window
        self.start = None           # RTL cycle at which the adapter took over
        self._queue: list[tuple[int, int]] = []
        self.windows = 0
        self.strobes = 0
        self.fires = 0

    def begin(self, cycle: int) -> None:
        core_cycle = getattr(self.core, "cycle", None)
        if isinstance(core_cycle, (int, np.integer)):
            if core_cycle > cycle:
                raise LookaheadError(f"analog core at cycle {int(core_cycle)} is ahead of the "
                                     f"RTL: allowed core cycles 0..{cycle}")
            if core_cycle < cycle:
                self._check_fired(self.core.step(cycle - int(core_cycle),
                                                 np.zeros(0, STROBE_DTYPE)), cycle)
        self.t = self.start = cycle

    @property
    def pending(self) -> int:
        """Fire commands not yet handed to the RTL."""
        return len(self._queue)

    def commands(self) -> list[tuple[int, int]]:
        """``(stamp, denmem)`` due within the horizon from now, in stamp order (removed)."""
        out = []
        limit = self.t + self.horizon
        while self._queue and self._queue[0][0] < limit:
            out.append(heapq.heappop(self._queue))
        return out

    def strobe_array(self, records) -> np.ndarray:
        arr = np.zeros(len(records), STROBE_DTYPE)
        for i, r in enumerate(records):
            arr[i] = (r["stamp"], r["driver"], r["strobe"], r["addr"]) if isinstance(r, dict) \
                else tuple(r)
        lo, hi = self.t, self.t + self.window
        bad = arr[(arr["cycle"] < lo) | (arr["cycle"] >= hi)]
        if len(bad):
            raise LookaheadError(f"strobe of driver {int(bad[0]['driver'])} stamped at cycle "
                                 f"{int(bad[0]['cycle'])} out of range {lo}..{hi - 1} "
                                 f"(the window just run)")
        return arr

    def step(self, records) -> np.ndarray:
        """Step the core over the window just run; returns the strobes it got."""
        strobes = self.strobe_array(records)
        fired = self.core.step(self.window, strobes)
        self.t += self.window
        for stamp, denmem in self._check_fired(fired, self.t):
            heapq.heappush(self._queue, (stamp, denmem))
        self.windows += 1
        self.strobes += len(strobes)
        return strobes

    def _check_fired(self, fired, earliest: int) -> list[tuple[int, int]]:
        if fired is None or len(fired) == 0:
            return []
        names = getattr(getattr(fired, "dtype", None), "names", None) or ()
        if "cycle" not in names or "denmem" not in names:
            raise TypeError(f"fired must be a structured array with fields cycle and denmem, "
                            f"got {type(fired).__name__} with fields {names!r}")
        cycles = np.asarray(fired["cycle"], dtype=np.int64)
        denmems = np.asarray(fired["denmem"], dtype=np.int64)
        for c, d in zip(cycles, denmems):
            if not 0 <= d < N_DENMEMS:
                raise ValueError(f"fired denmem {int(d)} out of range 0..{N_DENMEMS - 1}")
            if c < earliest:
                raise LookaheadError(f"fire of denmem {int(d)} at cycle {int(c)} out of range "
                                     f"{earliest}.. (fires must lie at least one window of "
                                     f"{self.window} cycles ahead)")
        self.fires += len(cycles)
        return [(int(c), int(d)) for c, d in zip(cycles, denmems)]


def _check_overflow(overflow, lost):
    if overflow:
        raise LookaheadError(f"strobe capture FIFO overflowed: {lost} strobe record(s) lost")


class AmaranthAnalogAdapter(WindowSchedule):
    """Window loop for ``amaranth.sim``: ``await adapter.run(ctx, cycles)`` inside a testbench
    (or ``sim.add_testbench(adapter.testbench(cycles))``). ``dut`` is the top (its ``run``,
    ``strobe_rec``, ``fire_cmd``, ``cycle``, ``overflow``, ``strobes_lost`` and
    ``commands_pending`` members are used). The adapter leaves the chip frozen when it returns;
    it continues where it stopped when called again."""

    def __init__(self, dut, core, *, window: int = DEFAULT_WINDOW,
                 horizon: int = DEFAULT_HORIZON):
        super().__init__(core, window=window, horizon=horizon)
        self.dut = dut

    def testbench(self, cycles: int):
        async def bench(ctx):
            await self.run(ctx, cycles)
        return bench

    async def run(self, ctx, cycles: int) -> None:
        """Run ``cycles`` core cycles (a multiple of the window)."""
        _check_cycles(cycles, self.window)
        dut = self.dut
        ctx.set(dut.run, 0)
        ctx.set(dut.strobe_rec.ready, 0)
        ctx.set(dut.fire_cmd.valid, 0)
        if self.t is None:
            self.begin(ctx.get(dut.cycle))
            if ctx.get(dut.strobe_rec.valid):
                rec = ctx.get(dut.strobe_rec.payload)
                raise LookaheadError(f"strobe of driver {rec.driver} stamped at cycle "
                                     f"{rec.stamp} out of range {self.t}.. (before the "
                                     f"adapter started)")
        elif ctx.get(dut.cycle) != self.t:
            raise LookaheadError(f"RTL cycle {ctx.get(dut.cycle)} out of range {self.t}..{self.t}"
                                 f" (the chip ran without the adapter)")
        for _ in range(cycles // self.window):
            for stamp, denmem in self.commands():
                ctx.set(dut.fire_cmd.payload, {"stamp": stamp, "denmem": denmem})
                ctx.set(dut.fire_cmd.valid, 1)
                while not ctx.get(dut.fire_cmd.ready):
                    await ctx.tick()
                await ctx.tick()
            ctx.set(dut.fire_cmd.valid, 0)
            while ctx.get(dut.commands_pending):
                await ctx.tick()
            ctx.set(dut.run, 1)
            await ctx.tick().repeat(self.window)
            ctx.set(dut.run, 0)
            records = []
            ctx.set(dut.strobe_rec.ready, 1)
            while ctx.get(dut.strobe_rec.valid):
                p = ctx.get(dut.strobe_rec.payload)
                records.append((p.stamp, p.driver, p.strobe, p.addr))
                await ctx.tick()
            ctx.set(dut.strobe_rec.ready, 0)
            _check_overflow(ctx.get(dut.overflow), ctx.get(dut.strobes_lost))
            self.step(records)


def _check_cycles(cycles, window):
    if not isinstance(cycles, int) or cycles < 0 or cycles % window:
        raise ValueError(f"cycle count {cycles!r} is not a non-negative multiple of the "
                         f"window ({window})")


_REC_STAMP = _field(StrobeRecord, "stamp")
_REC_DRIVER = _field(StrobeRecord, "driver")
_REC_STROBE = _field(StrobeRecord, "strobe")
_REC_ADDR = _field(StrobeRecord, "addr")
_CMD_STAMP = FireCommand["stamp"].offset
_CMD_DENMEM = FireCommand["denmem"].offset


class CocotbAnalogAdapter(WindowSchedule):
    """Window loop for cocotb: ``await adapter.run(cycles)`` after the clock runs and reset is
    over. Signals are found through :func:`bss1.rtl.cocotb_util.handle` (ports of
    :class:`~bss1.rtl.analog_bridge.HicannAnalogTop`). The adapter works a quarter period after
    rising edges, where every value is settled and writes land before the next edge, so each
    window costs one ``Timer``, each strobe record and each fire command one more."""

    def __init__(self, dut, core, *, window: int = DEFAULT_WINDOW,
                 horizon: int = DEFAULT_HORIZON, clk: str = "clk", period_ns: float = 10):
        super().__init__(core, window=window, horizon=horizon)
        from ..rtl.cocotb_util import handle
        period_ps = round(period_ns * 1000)
        if period_ps % 4:
            raise ValueError(f"clock period {period_ns!r} ns is not a multiple of 4 ps")
        self.period_ps = period_ps
        self.clk = handle(dut, clk)
        self._h = {name: handle(dut, name) for name in (
            "run", "strobe_rec__valid", "strobe_rec__ready", "strobe_rec__payload",
            "fire_cmd__valid", "fire_cmd__ready", "fire_cmd__payload", "cycle", "overflow",
            "strobes_lost", "commands_pending")}
        self._phased = False

    async def _wait(self, cycles: int):
        from cocotb.triggers import Timer
        await Timer(cycles * self.period_ps, unit="ps")

    def _record(self, word: int):
        return tuple((word >> off) & mask for off, mask in
                     (_REC_STAMP, _REC_DRIVER, _REC_STROBE, _REC_ADDR))

    async def run(self, cycles: int) -> None:
        """Run ``cycles`` core cycles (a multiple of the window); leaves the chip frozen."""
        from cocotb.triggers import RisingEdge, Timer
        _check_cycles(cycles, self.window)
        h = self._h
        if not self._phased:
            await RisingEdge(self.clk)
            await Timer(self.period_ps // 4, unit="ps")
            self._phased = True
        h["run"].value = 0
        h["strobe_rec__ready"].value = 0
        h["fire_cmd__valid"].value = 0
        now = int(h["cycle"].value)
        if self.t is None:
            self.begin(now)
            if int(h["strobe_rec__valid"].value):
                stamp, driver, _, _ = self._record(h["strobe_rec__payload"].value.to_unsigned())
                raise LookaheadError(f"strobe of driver {driver} stamped at cycle {stamp} out of "
                                     f"range {self.t}.. (before the adapter started)")
        elif now != self.t:
            raise LookaheadError(f"RTL cycle {now} out of range {self.t}..{self.t} (the chip "
                                 f"ran without the adapter)")
        for _ in range(cycles // self.window):
            commands = self.commands()
            if commands:
                for stamp, denmem in commands:
                    h["fire_cmd__payload"].value = (stamp << _CMD_STAMP) | (denmem << _CMD_DENMEM)
                    h["fire_cmd__valid"].value = 1
                    while not int(h["fire_cmd__ready"].value):
                        await self._wait(1)
                    await self._wait(1)
                h["fire_cmd__valid"].value = 0
                while int(h["commands_pending"].value):
                    await self._wait(1)
            h["run"].value = 1
            await self._wait(self.window)
            h["run"].value = 0
            records = []
            if int(h["strobe_rec__valid"].value):
                h["strobe_rec__ready"].value = 1
                while int(h["strobe_rec__valid"].value):
                    records.append(self._record(h["strobe_rec__payload"].value.to_unsigned()))
                    await self._wait(1)
                h["strobe_rec__ready"].value = 0
            _check_overflow(int(h["overflow"].value), int(h["strobes_lost"].value))
            self.step(records)
