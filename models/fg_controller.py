"""Behavioural twin of the floating-gate controller (:class:`bss1.rtl.fg_controller.FGController`;
spec hicann-digital.md §10, §11; analog-core.md §3.6, §4.1).

Same registers, same core-cycle timing, same outputs as the gateware (the rules are in the
gateware's module docstring), but computed in closed form: an operation is described by the cycle
``D`` in which it was accepted and its slow-tick schedule, so the model can jump over the
millions of cycles of a programming pass at the default timing (:meth:`advance`,
:meth:`run_until_idle`) and still agree cycle by cycle when stepped (:meth:`step`).

Cycle convention (lock-step with the gateware): between ``step()`` calls the model holds the
registers of the next cycle ``t = cycle``. :meth:`read` returns what a bus read served in cycle
``t`` returns; :meth:`write` queues a bus write served in cycle ``t``; it takes effect at the
clock edge after that cycle, i.e. inside the next :meth:`step`. Slow ticks are the cycles with
``t % 4 == 3``.

:func:`programming_ticks` is halbe's cycle model of one pass (``FGConfig::getMaxProgrammingTime``
without the final x4), :func:`max_programming_time` the same in PLL cycles.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple

from bss1.rtl.fg_controller import (N_FG_COLUMNS, N_FG_ROWS, SLOW_DIVIDER, FGOpcode,
                                    bias_readback)
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import FG_CONTROLLER

__all__ = ["FGWrite", "FGStimulus", "FGControllerModel", "programming_ticks",
           "max_programming_time", "pass_schedule"]

_FG = FG_CONTROLLER
_INS, _OP, _BIAS, _SLAVE = (_FG.reg(n) for n in ("instruction", "op", "bias", "slave"))
_RAM = (_FG.reg("ram0"), _FG.reg("ram1"))
_CELL = _RAM[0].field("even").width
_WT_LIMIT = 128


class FGWrite(NamedTuple):
    """One programmed cell as the controller emits it (``up`` False = writeDown)."""
    block: int
    row: int
    column: int
    value: int
    up: bool


class FGStimulus(NamedTuple):
    """A current stimulus as the controller plays it (:meth:`FGControllerModel.stimulus`).

    The stimulate instruction was accepted in cycle ``accepted``; the slow ticks that count for it
    fall in cycles ``first_tick + SLOW_DIVIDER * j`` (j = 0, 1, ...). In a cycle ``t >
    accepted`` the source shows ``codes[`` :meth:`entry` ``(t)]``: entry ``n // hold mod 129``
    where ``n`` is the number of those ticks in cycles before ``t``; each of the 129 cells of RAM
    ``bank`` is thus held ``hold`` (``pulselength + 1``) slow ticks. A one-pass stimulus plays
    until ``last_cycle`` (its ``129 hold``-th tick) and then shows nothing; a ``continuous`` one
    (``last_cycle`` None) wraps around for ever. ``codes`` are the 10-bit cells of the bank, in
    column order, as stored when the stimulus was asked for (the controller reads its RAM live, so
    later RAM writes change what it plays)."""
    accepted: int
    bank: int
    hold: int
    continuous: bool
    first_tick: int
    last_cycle: int | None
    codes: tuple

    def entry(self, t: int) -> int | None:
        """Index into :attr:`codes` shown in cycle ``t``, or None (before acceptance, after the
        end of a one-pass stimulus)."""
        if t <= self.accepted or (self.last_cycle is not None and t > self.last_cycle):
            return None
        n = 0 if t <= self.first_tick else (t - 1 - self.first_tick) // SLOW_DIVIDER + 1
        return n // self.hold % N_FG_COLUMNS


def _write_times(maxcycle: int, acceleratorstep: int, writetime: int) -> list[int]:
    """Write time of every programming cycle k = 0..maxcycle (doubling rule of §10)."""
    out, wt, last_double = [], writetime, 0
    for k in range(maxcycle + 1):
        if k == last_double + acceleratorstep and wt < _WT_LIMIT:
            wt *= 2
            last_double = k
        out.append(wt)
    return out


def programming_ticks(maxcycle: int, readtime: int, acceleratorstep: int, writetime: int,
                      pulselength: int) -> int:
    """Slow-clock ticks of one programming pass (§10 cycle model)."""
    pl = pulselength + 1
    return sum(w * pl + (readtime + 1) * pl * N_FG_COLUMNS
               for w in _write_times(maxcycle, acceleratorstep, writetime))


def max_programming_time(op: int, bias: int, row: int) -> int:
    """PLL cycles of one pass over ``row`` with the OP and BIAS words ``op``, ``bias``
    (halbe ``getMaxVoltageProgrammingTime`` for even rows, ``...Current...`` for odd rows)."""
    o, b = _OP.decode(op), _BIAS.decode(bias)
    wt = o["currentwritetime"] if row % 2 else o["voltagewritetime"]
    return SLOW_DIVIDER * programming_ticks(o["maxcycle"], o["readtime"],
                                            o["acceleratorstep"], wt, b["pulselength"])


@dataclass(frozen=True)
class pass_schedule:
    """Tick schedule of one pass: cycle ``k`` starts at tick ``starts[k]`` with a write phase of
    ``writes[k]`` ticks, then 129 columns of ``column_ticks`` ticks each."""
    starts: tuple
    writes: tuple
    column_ticks: int
    total: int

    @classmethod
    def of(cls, maxcycle, readtime, acceleratorstep, writetime, pulselength):
        pl = pulselength + 1
        starts, writes, t = [], [], 0
        for w in _write_times(maxcycle, acceleratorstep, writetime):
            starts.append(t)
            writes.append(w * pl)
            t += w * pl + (readtime + 1) * pl * N_FG_COLUMNS
        return cls(tuple(starts), tuple(writes), (readtime + 1) * pl, t)

    def emission_tick(self, column: int) -> int:
        """Tick index at which the first compare sweep reaches ``column``."""
        return self.writes[0] + column * self.column_ticks

    def column_after(self, consumed: int) -> int:
        """Sweep column shown by SLAVE after ``consumed`` ticks (0 during a write phase)."""
        k = bisect_right(self.starts, consumed) - 1
        off = consumed - self.starts[k] - self.writes[k]
        return 0 if off < 0 else off // self.column_ticks


class _Run:
    """An accepted operation: kind, acceptance cycle, number of ticks (None = endless)."""

    def __init__(self, kind, accepted, ticks, **kw):
        self.kind, self.accepted, self.ticks = kind, accepted, ticks
        first = accepted + 1
        self.first_tick = first + (SLOW_DIVIDER - 1 - first) % SLOW_DIVIDER
        self.__dict__.update(kw)

    def tick_cycle(self, j: int) -> int:
        return self.first_tick + SLOW_DIVIDER * j

    def consumed(self, t: int) -> int:
        """Ticks consumed before cycle ``t``."""
        return 0 if t <= self.first_tick else (t - 1 - self.first_tick) // SLOW_DIVIDER + 1

    def tick_index(self, t: int):
        """Index of the tick in cycle ``t``, or None."""
        if t < self.first_tick or (t - self.first_tick) % SLOW_DIVIDER:
            return None
        return (t - self.first_tick) // SLOW_DIVIDER

    @property
    def last_cycle(self):
        return None if self.ticks is None else self.tick_cycle(self.ticks - 1)


class FGControllerModel:
    """Twin of one ``FGController``; ``block`` (0..3) only labels the emitted writes.

    ``write(local_addr, data)``, ``read(local_addr)``: bus accesses (cycle convention in the
    module docstring). ``step(fail=0)`` clocks one core cycle and returns the outputs of that
    cycle: ``{"busy", "fg_write" (FGWrite or None), "stim" (value or None), "readout" ((row,
    column) or None), "slow_tick"}``. ``fail``: bit mask of columns the analog side reports as not
    converged (sampled at the last tick of a pass).
    """

    def __init__(self, block: int = 0):
        if not isinstance(block, int) or not 0 <= block <= 3:
            raise ValueError(f"FG block {block!r} out of range 0..3")
        self.block = block
        self.cycle = 0
        self.ram = [[0] * _RAM[0].count for _ in range(2)]
        self.op = 0
        self.bias = 0
        self.error = 0
        self.column = 0
        self.failed = 0
        self.ptr = 0
        self.readout = None
        self._run: _Run | None = None
        self._pending: list[tuple[int, int]] = []
        self._fg_write: FGWrite | None = None       # registered output of the next cycle

    # -- bus ----------------------------------------------------------------------------------
    def _lookup(self, local_addr: int, write: bool):
        hit = _FG.lookup(local_addr, write) if isinstance(local_addr, int) else None
        if hit is None:
            kind = "writable" if write else "readable"
            raise RegisterMapError(f"fg_controller: local address {local_addr!r} is not a "
                                   f"{kind} register")
        return hit

    def write(self, local_addr: int, data: int) -> None:
        reg, _ = self._lookup(local_addr, True)
        reg.check_word(data)
        self._pending.append((local_addr, data))

    def read(self, local_addr: int) -> int:
        reg, index = self._lookup(local_addr, False)
        if reg in _RAM:
            return self.ram[_RAM.index(reg)][index]
        if reg is _OP:
            return self.op
        if reg is _BIAS:
            return bias_readback(self.bias)
        return _SLAVE.encode(column=self._slave_column(self.cycle), busy=int(self.busy),
                             error=self.error)

    # -- state --------------------------------------------------------------------------------
    def _busy_at(self, t: int) -> bool:
        run = self._run
        if run is None or t <= run.accepted:
            return False
        if run.kind == "stim" and run.continuous:
            return False
        return t <= run.last_cycle

    @property
    def busy(self) -> bool:
        return self._busy_at(self.cycle)

    def _slave_column(self, t: int) -> int:
        run = self._run
        if run is not None and run.kind == "pass" and t <= run.last_cycle:
            return run.schedule.column_after(run.consumed(t))
        return self.column

    def _cell(self, bank: int, column: int) -> int:
        word = self.ram[bank][column // 2]
        return (word >> (_CELL * (column % 2))) & ((1 << _CELL) - 1)

    def _stim_now(self, t: int):
        run = self._run
        if run is None or run.kind != "stim" or (run.ticks is not None and t > run.last_cycle):
            return None
        entry = run.consumed(t) // run.hold % N_FG_COLUMNS
        return self._cell(run.bank, entry)

    def stimulus(self, include_pending: bool = False) -> FGStimulus | None:
        """The current stimulus the controller plays in and after its current cycle
        (:class:`FGStimulus`), or None when it plays none (no stimulate instruction running, or a
        one-pass stimulus that has ended).

        ``include_pending``: apply the bus writes queued for the current cycle first (on a copy;
        this controller is not changed), as the next :meth:`step` will; a stimulate instruction
        among them is then reported as accepted in the current cycle (in which the chip still
        shows the old source value)."""
        ctrl = self
        if include_pending and self._pending:
            ctrl = copy.deepcopy(self)
            ctrl.step()
        run = ctrl._run
        if run is None or run.kind != "stim":
            return None
        if run.ticks is not None and self.cycle > run.last_cycle:
            return None
        codes = tuple(ctrl._cell(run.bank, c) for c in range(N_FG_COLUMNS))
        return FGStimulus(run.accepted, run.bank, run.hold, run.continuous, run.first_tick,
                          run.last_cycle, codes)

    # -- clocking -------------------------------------------------------------------------------
    def step(self, fail: int = 0) -> dict:
        t = self.cycle
        run = self._run
        busy = self._busy_at(t)
        out = {"busy": busy, "fg_write": self._fg_write, "stim": self._stim_now(t),
               "readout": self.readout, "slow_tick": t % SLOW_DIVIDER == SLOW_DIVIDER - 1}
        self._fg_write = None
        if run is not None:
            j = run.tick_index(t)
            if run.kind == "pass" and j is not None:
                sched = run.schedule
                c = j - sched.writes[0]
                if 0 <= c < N_FG_COLUMNS * sched.column_ticks and c % sched.column_ticks == 0:
                    column = c // sched.column_ticks
                    self._fg_write = FGWrite(self.block, run.row, column,
                                             self._cell(run.bank, column), run.up)
            if run.ticks is not None and t == run.last_cycle:
                self._finish(run, fail)
        for addr, data in self._pending:
            self._apply_write(addr, data, busy, t)
        self._pending.clear()
        self.cycle = t + 1
        return out

    def _finish(self, run: _Run, fail: int) -> None:
        self._run = None
        if run.kind == "pass":
            self.failed = fail & ((1 << N_FG_COLUMNS) - 1)
            self.error = int(bool(self.error or self.failed))
            self.ptr = 0
            self.column = 0
        elif run.kind == "scan":
            if run.found is None:
                self.error, self.column, self.ptr = 0, N_FG_COLUMNS - 1, N_FG_COLUMNS
            else:
                self.error, self.column, self.ptr = 1, run.found, run.found + 1

    def _apply_write(self, addr: int, data: int, busy: bool, t: int) -> None:
        reg, index = self._lookup(addr, True)
        if reg in _RAM:
            self.ram[_RAM.index(reg)][index] = data
        elif reg is _OP:
            self.op = data
        elif reg is _BIAS:
            self.bias = data
        else:
            self._instruction(data, busy, t)

    def _instruction(self, word: int, busy: bool, t: int) -> None:
        f = _INS.decode(word)
        opcode, row, column = f["opcode"], f["row"], f["column"]
        if (busy or opcode > FGOpcode.STIMULATE_CONTINUOUS.value or row >= N_FG_ROWS
                or column >= N_FG_COLUMNS):
            self.error = 1
            return
        self.error = 0
        self.readout = (row, column) if opcode == FGOpcode.READ.value else None
        o, b = _OP.decode(self.op), _BIAS.decode(self.bias)
        bank = f["bank"]
        self._run = None
        if opcode in (FGOpcode.WRITE_UP.value, FGOpcode.WRITE_DOWN.value):
            wt = o["currentwritetime"] if row % 2 else o["voltagewritetime"]
            sched = pass_schedule.of(o["maxcycle"], o["readtime"], o["acceleratorstep"], wt,
                                     b["pulselength"])
            self._run = _Run("pass", t, sched.total, schedule=sched, row=row, bank=bank,
                             up=opcode == FGOpcode.WRITE_UP.value)
        elif opcode == FGOpcode.GET_NEXT_FALSE.value:
            found = next((c for c in range(self.ptr, N_FG_COLUMNS) if self.failed >> c & 1),
                         None)
            ticks = (N_FG_COLUMNS if found is None else found) - self.ptr + 1
            self._run = _Run("scan", t, ticks, found=found)
        elif opcode in (FGOpcode.STIMULATE.value, FGOpcode.STIMULATE_CONTINUOUS.value):
            continuous = opcode == FGOpcode.STIMULATE_CONTINUOUS.value
            hold = b["pulselength"] + 1
            self._run = _Run("stim", t, None if continuous else N_FG_COLUMNS * hold,
                             bank=bank, hold=hold, continuous=continuous)

    # -- fast forward ---------------------------------------------------------------------------
    def _next_event(self) -> int | None:
        """Earliest cycle >= ``cycle`` in which ``step`` must run (None: nothing scheduled)."""
        if self._pending or self._fg_write is not None:
            return self.cycle
        run = self._run
        if run is None or run.ticks is None:
            return None
        t = self.cycle
        candidates = [run.last_cycle]
        if run.kind == "pass":
            sched = run.schedule
            j = max(0, run.consumed(t) - sched.writes[0])
            c = -(-j // sched.column_ticks)
            if c < N_FG_COLUMNS:
                candidates.append(run.tick_cycle(sched.emission_tick(c)))
        return max(t, min(candidates))

    def advance(self, n_cycles: int, fail: int = 0) -> list[FGWrite]:
        """Run ``n_cycles`` core cycles (no bus accesses in between); returns the emitted
        writes. Cycles without events are skipped in O(1)."""
        if not isinstance(n_cycles, int) or n_cycles < 0:
            raise ValueError(f"cycle count {n_cycles!r} must be an int >= 0")
        end = self.cycle + n_cycles
        events = []
        while self.cycle < end:
            nxt = self._next_event()
            if nxt is None or nxt >= end:
                self.cycle = end
                break
            self.cycle = nxt
            w = self.step(fail)["fg_write"]
            if w is not None:
                events.append(w)
        return events

    def run_until_idle(self, fail: int = 0, limit: int = 1 << 40) -> list[FGWrite]:
        """Advance until ``busy`` is low (and the last write was emitted); returns the writes."""
        events = []
        start = self.cycle
        while self.busy or self._pending or self._fg_write is not None:
            if self.cycle - start > limit:
                raise TimeoutError(f"FG controller still busy after {limit} cycles")
            nxt = self._next_event()
            events += self.advance(max(1, (nxt if nxt is not None else self.cycle)
                                       - self.cycle + 1), fail)
        return events
