"""Reference model of the HICANN's layer-2 (DNC) interface (spec hicann-digital.md §7.6, §8;
gateware :mod:`bss1.rtl.dnc_interface`, whose docstring states the cycle behaviour this model
reproduces event for event).

``step(l2_in, merger_out, l2_out_ready, systime_reset)`` is one core cycle: it returns the
combinational outputs of the cycle (``merger_in`` {HW channel: address}, ``l2_out`` offered
``(channel, addr, timestamp)`` or None) computed from the state at the start of the cycle and
the inputs, then advances the state. ``write(block, local address, data)`` applies a bus write
at the end of a cycle (after that cycle's ``step``), ``read(block, local address)`` returns
``(data, err)`` as the bus slave would in that cycle.

Inside the HICANN twin the cycle is split in two phases: :meth:`~DncInterfaceModel.begin`
(``l2_in`` -> ``merger_in``, which depends only on the state and ``l2_in``) and
:meth:`~DncInterfaceModel.finish` (this cycle's DNC merger outputs -> transmit queues, ``l2_out``,
system time), because the merger outputs of a cycle are known only after the mergers saw
``merger_in``. ``step`` is ``begin`` followed by ``finish``.
"""

from __future__ import annotations

from bss1.models.coords import check_range
from bss1.rtl.dnc_interface import (COMPARE_BITS, COUNTERS, RELEASE_ENTRIES, SPL1_COUNTERS,
                                    SYSTIME_BITS, check_core_mhz, systime_ticks)
from bss1.rtl.registers import DNC_IF, SPL1_CONTROL

__all__ = ["DncInterfaceModel"]

_GBITLINK = SPL1_CONTROL.reg("gbitlink")
_LINK_CONTROL = DNC_IF.reg("link_control")
_TS_MASK = (1 << SYSTIME_BITS) - 1
_CMP_MASK = (1 << COMPARE_BITS) - 1
_BLOCKS = ("spl1_control", "dnc_if")


class DncInterfaceModel:
    """Cycle model of :class:`bss1.rtl.dnc_interface.DncInterface`."""

    def __init__(self, *, core_mhz: int = 100, tx_depth: int = 4):
        self.core_mhz = check_core_mhz(core_mhz)
        self.tx_depth = check_range("tx_depth", tx_depth, 1, 16)
        self.systime = 0
        self.acc = 0
        self.link_control = 0
        self._phase = None          # between begin() and finish(): this cycle's pending state
        self._reset_block()

    def _reset_block(self):
        self.enable = self.direction = 0
        self.timestamp_enable = 0
        # release buffers: per channel a list of RELEASE_ENTRIES slots, None or (addr, ts)
        self.buffers = [[None] * RELEASE_ENTRIES for _ in range(8)]
        self.wait: list[int | None] = [None] * 8
        self.queues: list[list[tuple[int, int]]] = [[] for _ in range(8)]
        self.rr = 0
        self.counters = {name: 0 for name in COUNTERS}

    # -- configuration ---------------------------------------------------------------------------
    def _check_block(self, block, addr, data=0):
        if block not in _BLOCKS:
            raise ValueError(f"block {block!r} is not one of {', '.join(_BLOCKS)}")
        check_range("local address", addr, 0, 0x7FF)
        check_range("data", data, 0, 0xFFFFFFFF)

    def write(self, block: str, addr: int, data: int) -> int:
        """Bus write at the end of the present cycle; returns the err flag."""
        self._check_block(block, addr, data)
        if block == "dnc_if":
            if addr != _LINK_CONTROL.offset:
                return 1
            self.link_control = data & ((1 << _LINK_CONTROL.width) - 1)
            return 0
        if addr != _GBITLINK.offset:
            return 1
        f = _GBITLINK.decode(data)
        if f["reset"]:
            self._reset_block()
        else:
            self.enable, self.direction = f["enable"], f["direction"]
            self.timestamp_enable = f["timestamp_enable"]
        return 0

    def read(self, block: str, addr: int) -> tuple[int, int]:
        """``(data, err)`` of a bus read served in the present cycle (before its ``step``)."""
        self._check_block(block, addr)
        if block == "dnc_if":
            return (self.link_control, 0) if addr == _LINK_CONTROL.offset else (0, 1)
        idx = SPL1_COUNTERS.index_of(addr)
        if idx is None:
            return 0, 1
        return self.counters[COUNTERS[idx]], 0

    def load_systime(self, value: int) -> None:
        """Load the system-time counter (and clear its accumulator) between cycles: the
        synchronous start of all time counters by the FPGA (host-stack §2.8), for harnesses that
        put the chip on the FPGA's time axis."""
        self.systime = check_range("system time", value, 0, _TS_MASK)
        self.acc = 0

    # -- one core cycle --------------------------------------------------------------------------
    def step(self, l2_in: tuple[int, int, int] | None = None, merger_out: dict | None = None,
             l2_out_ready: bool = True, systime_reset: bool = False) -> dict:
        """One core cycle. ``l2_in`` = ``(channel, addr, timestamp)`` or None; ``merger_out`` =
        ``{HW channel: address}`` of the DNC merger outputs. Returns ``{"merger_in": {c: addr},
        "l2_out": (channel, addr, timestamp) or None, "l2_out_taken": bool}``."""
        merger_in = self.begin(l2_in)
        out = self.finish(merger_out, l2_out_ready, systime_reset)
        out["merger_in"] = merger_in
        return out

    def begin(self, l2_in: tuple[int, int, int] | None = None) -> dict:
        """First phase of a core cycle: takes ``l2_in`` and returns ``merger_in`` ``{HW channel:
        address}``, which depends only on the state and ``l2_in``. Must be followed by
        :meth:`finish` with the same cycle's ``merger_out`` before the next :meth:`begin` (the
        HICANN twin feeds ``merger_in`` to the DNC mergers in between)."""
        if self._phase is not None:
            raise RuntimeError("begin() called twice without finish()")
        if l2_in is not None:
            ch, a, t = l2_in
            check_range("l2_in channel", ch, 0, 7)
            check_range("l2_in address", a, 0, 63)
            check_range("l2_in timestamp", t, 0, _TS_MASK)
        ticks, acc_next = systime_ticks(self.acc, self.core_mhz)
        now = self.systime
        now_next = (now + ticks) & _TS_MASK
        inc = {name: 0 for name in COUNTERS}
        merger_in = {}

        for c in range(8):
            buf = self.buffers[c]
            imm = None
            store = None
            if l2_in is not None and l2_in[0] == c:
                _, a, t = l2_in
                if not (self.enable >> c & 1 and self.direction >> c & 1):
                    inc["rejected"] += 1
                elif not self.timestamp_enable:
                    imm = a
                elif ((t - now_next) & _TS_MASK) >> (SYSTIME_BITS - 1):
                    inc["expired"] += 1
                elif all(e is not None for e in buf):
                    inc["overflow"] += 1
                else:
                    store = (a, t)
            due = [i for i, e in enumerate(buf)
                   if e is not None and ((e[1] - now) & _CMP_MASK) < ticks]
            cands = ([self.wait[c]] if self.wait[c] is not None else []) + \
                    ([imm] if imm is not None else []) + [buf[i][0] for i in due]
            if cands:
                merger_in[c] = cands[0]
            self.wait[c] = cands[1] if len(cands) > 1 else None
            inc["collided"] += max(0, len(cands) - 2)
            for i in due:
                buf[i] = None
            if store is not None:
                # the lowest entry free at the start of the cycle (due entries were valid then)
                free = next(i for i, e in enumerate(buf) if e is None and i not in due)
                buf[free] = store
        self._phase = (now, now_next, acc_next, inc)
        return merger_in

    @property
    def l2_out(self) -> tuple[int, int, int] | None:
        """The pulse ``(channel, addr, timestamp)`` offered on ``l2_out`` in the present cycle
        (the head of the first non-empty transmit queue from the round-robin pointer)."""
        for o in range(8):
            c = (self.rr + o) % 8
            if self.queues[c]:
                a, t = self.queues[c][0]
                return c, a, t
        return None

    def finish(self, merger_out: dict | None = None, l2_out_ready: bool = True,
               systime_reset: bool = False) -> dict:
        """Second phase of a core cycle (after :meth:`begin`): ``merger_out`` ``{HW channel:
        address}`` of the DNC merger output registers. Returns ``{"l2_out": ..., "l2_out_taken":
        bool}`` and advances the state to the next cycle."""
        if self._phase is None:
            raise RuntimeError("finish() called without begin()")
        mo = {}
        for c, a in (merger_out or {}).items():
            mo[check_range("merger_out channel", c, 0, 7)] = check_range(
                f"merger_out address on channel {c}", a, 0, 63)
        now, now_next, acc_next, inc = self._phase
        self._phase = None

        # transmit queues and arbiter
        l2_out = self.l2_out
        taken = l2_out is not None and bool(l2_out_ready)
        full = [len(q) == self.tx_depth for q in self.queues]   # at the start of the cycle
        if taken:
            sel = l2_out[0]
            self.queues[sel].pop(0)
            self.rr = (sel + 1) % 8
        for c, a in mo.items():
            if self.enable >> c & 1 and not self.direction >> c & 1:
                if full[c]:
                    inc["tx_dropped"] += 1
                else:
                    self.queues[c].append((a, now))

        for name in COUNTERS:
            self.counters[name] = (self.counters[name] + inc[name]) & 0xFFFF
        if systime_reset:
            self.systime, self.acc = 0, 0
        else:
            self.systime, self.acc = now_next, acc_next
        return {"l2_out": l2_out, "l2_out_taken": taken}
