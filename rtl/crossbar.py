"""Crossbar switch block: HLine <-> VLine switches of one side (spec hicann-digital.md §3.1).

64 rows of 4 switch bits (row = 63 - HLine, bit per :func:`bss1.models.coords.crossbar_switch`).
The switches are passive and combinational. Modelling decision (acyclic nets): a closed
switch makes each line see the **own sources** of its partner (repeater drives and neighbour
inputs, :mod:`bss1.rtl.l1_fabric`), not the partner's full value, so an event crosses at most one
crossbar switch between two repeaters.

Per line the block also reports ``*_multi``: two or more of its switched partners carry a valid
event in this cycle (an electrical collision, counted as a conflict by the fabric).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..models import coords
from .bus import BusSignature, register_array_slave
from .l1 import N_HLINES, l1_array
from .registers import CROSSBAR, CROSSBAR_NAMES

__all__ = ["Crossbar", "crossbar_wiring", "at_least_two"]

EV = 7
N_SIDE_VLINES = 128


def crossbar_wiring(side: str) -> list[tuple[int, int, int]]:
    """All switches of one side as ``(HLine, side-local VLine index, flat config bit)``."""
    if side not in CROSSBAR_NAMES:
        raise ValueError(f"crossbar side {side!r} not 'left' or 'right'")
    base = 0 if side == "left" else N_SIDE_VLINES
    width = CROSSBAR.reg("row").width
    out = []
    for y in range(N_HLINES):
        for v in coords.crossbar_vlines(y):
            s, row, bit = coords.crossbar_switch(v, y)
            if s == side:
                out.append((y, v - base, row * width + bit))
    return out


def at_least_two(bits: list):
    """Expression: two or more of ``bits`` are 1."""
    if len(bits) < 2:
        return Const(0, 1)
    x = Cat(*bits)
    return (x & (x - 1)) != 0


class Crossbar(wiring.Component):
    """Gateware of ``crossbar_left`` or ``crossbar_right``.

    Members
    -------
    bus : In(BusSignature())
    h_own : In(l1_array(64))       own sources of each HLine (addr = 0 when not valid)
    v_own : In(l1_array(128))      own sources of this side's VLines (index v - 128 on the right)
    h_from_v : Out(l1_array(64))   OR of the switched VLines' own sources, per HLine
    v_from_h : Out(l1_array(128))  OR of the switched HLines' own sources, per VLine
    h_multi : Out(64), v_multi : Out(128)   two or more switched partners valid
    """

    def __init__(self, side: str):
        self.wiring = crossbar_wiring(side)
        self.side = side
        self.instance = CROSSBAR_NAMES[side]
        super().__init__({
            "bus": In(BusSignature()),
            "h_own": In(l1_array(N_HLINES)), "v_own": In(l1_array(N_SIDE_VLINES)),
            "h_from_v": Out(l1_array(N_HLINES)), "v_from_h": Out(l1_array(N_SIDE_VLINES)),
            "h_multi": Out(N_HLINES), "v_multi": Out(N_SIDE_VLINES),
        })

    def elaborate(self, platform):
        m = Module()
        reg = CROSSBAR.reg("row")
        rows = Signal(reg.count * reg.width, name="rows")

        h_own, v_own = self.h_own.as_value(), self.v_own.as_value()
        h_terms = [[] for _ in range(N_HLINES)]
        v_terms = [[] for _ in range(N_SIDE_VLINES)]
        for y, vl, bit in self.wiring:
            sw = rows[bit]
            h_terms[y].append((sw, v_own[EV * vl:][:EV]))
            v_terms[vl].append((sw, h_own[EV * y:][:EV]))

        def gather(terms):
            data, multi = [], []
            for ts in terms:
                acc = Const(0, EV)
                for sw, ev in ts:
                    acc = acc | Mux(sw, ev, 0)
                data.append(acc)
                multi.append(at_least_two([sw & ev[0] for sw, ev in ts]))
            return Cat(*data), Cat(*multi)

        hd, hm = gather(h_terms)
        vd, vm = gather(v_terms)
        m.d.comb += [self.h_from_v.as_value().eq(hd), self.h_multi.eq(hm),
                     self.v_from_h.as_value().eq(vd), self.v_multi.eq(vm)]

        # -- bus slave: rows R/W, everything else err --------------------------------------------
        register_array_slave(m, self.bus, reg, rows)
        return m
