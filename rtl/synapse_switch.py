"""Synapse switch block: VLine -> synapse-driver switch rows of one quadrant
(spec hicann-digital.md §3.2).

112 rows of 16 switch bits (top blocks: address 111 - line, bottom: line - 112; bit per
:func:`bss1.models.coords.synapse_switch_register`). Combinational: a row carries the OR of the
full values of its switched VLines; ``row_multi`` flags two or more valid ones in a cycle. Where a
row leads (local driver or the neighbour chip's) is decided by :mod:`bss1.rtl.l1_fabric`.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..models import coords
from .bus import BusSignature, register_array_slave
from .crossbar import at_least_two
from .l1 import l1_array
from .registers import SYNAPSE_SWITCH, SYNAPSE_SWITCH_NAMES

__all__ = ["SynapseSwitch", "synapse_switch_wiring", "N_ROWS"]

EV = 7
N_ROWS = 112            # switch rows per block (= driver lines per half)
N_SIDE_VLINES = 128


def synapse_switch_wiring(side: str, half: str) -> list[list[tuple[int, int]]]:
    """Per row (driver line - first line of the half): ``[(side-local VLine, flat bit), ...]``."""
    if (side, half) not in SYNAPSE_SWITCH_NAMES:
        raise ValueError(f"synapse switch block {(side, half)!r} not one of "
                         f"{', '.join(map(repr, SYNAPSE_SWITCH_NAMES))}")
    width = SYNAPSE_SWITCH.reg("row").width
    first = 0 if half == "top" else N_ROWS
    base = 0 if side == "left" else N_SIDE_VLINES
    rows = []
    for line in range(first, first + N_ROWS):
        sw = []
        for v in coords.synapse_switch_vlines(side, line):
            h, addr, bit = coords.synapse_switch_register(v, side, line)
            assert h == half
            sw.append((v - base, addr * width + bit))
        rows.append(sw)
    return rows


class SynapseSwitch(wiring.Component):
    """Gateware of one ``synapse_switch_*`` block.

    Members
    -------
    bus : In(BusSignature())
    vline : In(l1_array(128))   full values of this side's VLines (index v - 128 on the right)
    row : Out(l1_array(112))    per driver line (line - 112 in the bottom half)
    row_multi : Out(112)        two or more switched VLines valid in this cycle
    """

    def __init__(self, side: str, half: str):
        self.wiring = synapse_switch_wiring(side, half)
        self.side, self.half = side, half
        self.instance = SYNAPSE_SWITCH_NAMES[(side, half)]
        super().__init__({
            "bus": In(BusSignature()),
            "vline": In(l1_array(N_SIDE_VLINES)),
            "row": Out(l1_array(N_ROWS)), "row_multi": Out(N_ROWS),
        })

    def elaborate(self, platform):
        m = Module()
        reg = SYNAPSE_SWITCH.reg("row")
        cfg = Signal(reg.count * reg.width, name="rows")
        vline = self.vline.as_value()
        data, multi = [], []
        for sw in self.wiring:
            acc = Const(0, EV)
            valids = []
            for vl, bit in sw:
                ev = vline[EV * vl:][:EV]
                acc = acc | Mux(cfg[bit], ev, 0)
                valids.append(cfg[bit] & ev[0])
            data.append(acc)
            multi.append(at_least_two(valids))
        m.d.comb += [self.row.as_value().eq(Cat(*data)), self.row_multi.eq(Cat(*multi))]

        register_array_slave(m, self.bus, reg, cfg)
        return m
