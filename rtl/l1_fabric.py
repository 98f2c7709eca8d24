"""The layer-1 fabric of one HICANN: 64 HLines, 256 VLines, 6 repeater blocks, 2 crossbars,
4 synapse-switch blocks and the neighbour ports (spec hicann-digital.md §2, §3, §11.1).

Line model (DESIGN decision 1). Every line carries ``(valid, addr)`` per core
cycle. Its **own sources** are the inward drive of its own repeater (:mod:`bss1.rtl.repeater`;
this covers forwarding, test-port playback and the sending repeaters) and the neighbour chip's
repeater driving into it at the opposite edge (a neighbour port ``*_i``). A line's value is the OR
of its own sources and, through each closed crossbar switch, the own sources of the partner line
(:mod:`bss1.rtl.crossbar`): crossbar switches are passive, so one crossbar hop per net - an event
does not traverse two crossbar switches without a repeater in between. Synapse-switch rows take the
full VLine values. When two or more of these contributions are valid on one line, row or driver
input in the same cycle the values are ORed and the sticky ``conflict`` flag is raised; the
saturating 16-bit ``conflicts`` counter counts the cycles in which any collision happened. Both
are registered (visible in the next cycle).

Neighbour ports use the SW line index of THIS chip. At an edge where the line's repeater belongs
to this chip, ``<edge>_o`` is the repeater's (registered) drive into the neighbour's line and
``<edge>_i`` the neighbour's raw line value; at the edge where the repeater belongs to the
neighbour, ``<edge>_o`` is our raw line value and ``<edge>_i`` the neighbour repeater's drive into
our line. :func:`connect_neighbours` applies the §2.3 index shifts when tiling chips.

All event inputs are normalised (``addr`` forced to 0 while ``valid`` = 0); all outputs follow the
same rule.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..models import coords
from .bus import BusSignature
from .crossbar import Crossbar
from .l1 import N_CHANNELS, N_DRIVERS, N_HLINES, N_VLINES, l1_array
from .registers import CROSSBAR_NAMES, REPEATER_BLOCK_NAMES, SYNAPSE_SWITCH_NAMES
from .repeater import REPEATER_EDGE, RepeaterBlock
from .synapse_switch import N_ROWS, SynapseSwitch

__all__ = ["L1Fabric", "connect_neighbours", "line_repeater", "EDGES", "OPPOSITE",
           "EDGE_KIND", "driver_neighbour_edge"]

EV = 7
EDGES = ("west", "east", "north", "south")
OPPOSITE = {"west": "east", "east": "west", "north": "south", "south": "north"}
EDGE_KIND = {"west": "h", "east": "h", "north": "v", "south": "v"}
N_LINES = {"h": N_HLINES, "v": N_VLINES}


def line_repeater(kind: str, line: int) -> tuple[str, int]:
    """(repeater block, physical address) of the repeater owning HLine (``"h"``) / VLine."""
    if kind == "h":
        return coords.hrepeater_location(line)
    if kind == "v":
        return coords.vrepeater_location(line)
    raise ValueError(f"line kind {kind!r} not 'h' or 'v'")


def driver_neighbour_edge(line: int) -> str:
    """Edge through which the neighbour chip's switch row reaches the driver of ``line``."""
    return "west" if coords.driver_side(line) == "left" else "east"


def _el(vec, i):
    return vec[EV * i:][:EV]


def _normalised(m, port, n, name):
    v = port.as_value()
    sig = Signal(n * EV, name=name)
    m.d.comb += sig.eq(Cat(*(Mux(v[EV * i], _el(v, i), 0) for i in range(n))))
    return sig


class L1Fabric(wiring.Component):
    """Gateware of the L1 fabric of one HICANN (ports: see the module docstring and
    :attr:`BUS_NAMES`).

    Members
    -------
    <instance> : In(BusSignature())   one config slave per name in :attr:`BUS_NAMES`
    sending : In(l1_array(8))         DNC merger outputs by HW channel -> sending repeaters
    west_i, west_o, east_i, east_o : l1_array(64)      HLine neighbour ports
    north_i, north_o, south_i, south_o : l1_array(256) VLine neighbour ports
    west_drv_i, west_drv_o, east_drv_i, east_drv_o : l1_array(224)
        synapse-switch rows crossing that edge, by driver line (unused entries are 0)
    drv_in : Out(l1_array(224))       input of the synapse driver of each driver line
    hline : Out(l1_array(64)), vline : Out(l1_array(256))   line values (SW index)
    conflict : Out(1) sticky, conflicts : Out(16) saturating count of collision cycles
    """

    BUS_NAMES = (REPEATER_BLOCK_NAMES + tuple(CROSSBAR_NAMES.values())
                 + tuple(SYNAPSE_SWITCH_NAMES.values()))

    @classmethod
    def bus_names(cls) -> tuple[str, ...]:
        """HICANN_MAP instance names of the config slaves (= the bus port names)."""
        return cls.BUS_NAMES

    def __init__(self, hop_latency: int = 1):
        if not isinstance(hop_latency, int) or isinstance(hop_latency, bool) or hop_latency < 1:
            raise ValueError(f"hop_latency {hop_latency!r} out of range 1..")
        self.hop_latency = hop_latency
        members = {name: In(BusSignature()) for name in self.BUS_NAMES}
        members["sending"] = In(l1_array(N_CHANNELS))
        for e in EDGES:
            n = N_LINES[EDGE_KIND[e]]
            members[f"{e}_i"] = In(l1_array(n))
            members[f"{e}_o"] = Out(l1_array(n))
        for e in ("west", "east"):
            members[f"{e}_drv_i"] = In(l1_array(N_DRIVERS))
            members[f"{e}_drv_o"] = Out(l1_array(N_DRIVERS))
        members.update({
            "drv_in": Out(l1_array(N_DRIVERS)),
            "hline": Out(l1_array(N_HLINES)), "vline": Out(l1_array(N_VLINES)),
            "conflict": Out(1), "conflicts": Out(16),
        })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        reps = {b: RepeaterBlock(b, hop_latency=self.hop_latency) for b in REPEATER_EDGE}
        xbars = {s: Crossbar(s) for s in CROSSBAR_NAMES}
        sws = {k: SynapseSwitch(*k) for k in SYNAPSE_SWITCH_NAMES}
        for comp in (*reps.values(), *xbars.values(), *sws.values()):
            m.submodules[comp.instance] = comp
            wiring.connect(m, wiring.flipped(getattr(self, comp.instance)), comp.bus)

        inp = {e: _normalised(m, getattr(self, f"{e}_i"), N_LINES[EDGE_KIND[e]], f"{e}_in")
               for e in EDGES}
        drv_inp = {e: _normalised(m, getattr(self, f"{e}_drv_i"), N_DRIVERS, f"{e}_drv_in")
                   for e in ("west", "east")}
        m.d.comb += reps["center_left"].dnc.as_value().eq(
            _normalised(m, self.sending, N_CHANNELS, "sending_in"))

        # -- own sources of every line -----------------------------------------------------------
        own, rep_v, nb_v = {}, {}, {}
        for kind in ("h", "v"):
            terms, rv, nv = [], [], []
            for i in range(N_LINES[kind]):
                b, p = line_repeater(kind, i)
                r = _el(reps[b].inward.as_value(), p)
                nb = _el(inp[OPPOSITE[REPEATER_EDGE[b]]], i)
                terms.append(r | nb)
                rv.append(r[0])
                nv.append(nb[0])
            own[kind] = Signal(N_LINES[kind] * EV, name=f"{kind}_own")
            rep_v[kind], nb_v[kind] = Signal(len(rv), name=f"{kind}_rep_valid"), \
                Signal(len(nv), name=f"{kind}_nb_valid")
            m.d.comb += [own[kind].eq(Cat(*terms)), rep_v[kind].eq(Cat(*rv)),
                         nb_v[kind].eq(Cat(*nv))]

        half_v = N_VLINES // 2 * EV
        xl, xr = xbars["left"], xbars["right"]
        m.d.comb += [
            xl.h_own.as_value().eq(own["h"]), xr.h_own.as_value().eq(own["h"]),
            xl.v_own.as_value().eq(own["v"][:half_v]), xr.v_own.as_value().eq(own["v"][half_v:]),
        ]
        line = {"h": Signal(N_HLINES * EV, name="hline_value"),
                "v": Signal(N_VLINES * EV, name="vline_value")}
        m.d.comb += [
            line["h"].eq(own["h"] | xl.h_from_v.as_value() | xr.h_from_v.as_value()),
            line["v"].eq(own["v"] | Cat(xl.v_from_h.as_value(), xr.v_from_h.as_value())),
            self.hline.as_value().eq(line["h"]), self.vline.as_value().eq(line["v"]),
        ]

        # -- repeaters: local line and the neighbour's raw line; neighbour outputs ---------------
        for b, rep in reps.items():
            kind = "h" if b.startswith("center") else "v"
            m.d.comb += [
                rep.local.as_value().eq(Cat(*(_el(line[kind], i) for i in rep.lines))),
                rep.remote.as_value().eq(Cat(*(_el(inp[REPEATER_EDGE[b]], i)
                                               for i in rep.lines))),
            ]
        for e in EDGES:
            kind = EDGE_KIND[e]
            outs = []
            for i in range(N_LINES[kind]):
                b, p = line_repeater(kind, i)
                outs.append(_el(reps[b].outward.as_value(), p) if REPEATER_EDGE[b] == e
                            else _el(line[kind], i))
            m.d.comb += getattr(self, f"{e}_o").as_value().eq(Cat(*outs))

        # -- synapse switches and driver inputs --------------------------------------------------
        for (side, half), sw in sws.items():
            m.d.comb += sw.vline.as_value().eq(line["v"][:half_v] if side == "left"
                                               else line["v"][half_v:])
        drv, drv_multi = [], []
        drv_out = {"west": [], "east": []}
        for L in range(N_DRIVERS):
            half, j = ("top", L) if L < N_ROWS else ("bottom", L - N_ROWS)
            ds = coords.driver_side(L)
            other = "right" if ds == "left" else "left"
            assert coords.synapse_switch_target(ds, L)[0] == "local"
            target = coords.synapse_switch_target(other, L)[0]
            local_row = _el(sws[(ds, half)].row.as_value(), j)
            nb_row = _el(drv_inp[driver_neighbour_edge(L)], L)
            drv.append(local_row | nb_row)
            drv_multi.append(local_row[0] & nb_row[0])
            for e in ("west", "east"):
                drv_out[e].append(_el(sws[(other, half)].row.as_value(), j) if e == target
                                  else Const(0, EV))
        m.d.comb += self.drv_in.as_value().eq(Cat(*drv))
        for e in ("west", "east"):
            m.d.comb += getattr(self, f"{e}_drv_o").as_value().eq(
                Cat(*drv_out[e]))

        # -- collisions --------------------------------------------------------------------------
        def valids(vec, n):
            return Cat(*(vec[EV * i] for i in range(n)))

        rh, nh = rep_v["h"], nb_v["h"]
        xlh, xrh = valids(xl.h_from_v.as_value(), N_HLINES), valids(xr.h_from_v.as_value(),
                                                                    N_HLINES)
        h_multi = ((rh & nh) | ((rh | nh) & (xlh | xrh)) | (xlh & xrh) | xl.h_multi | xr.h_multi)
        rv, nv = rep_v["v"], nb_v["v"]
        xv = Cat(valids(xl.v_from_h.as_value(), N_VLINES // 2),
                 valids(xr.v_from_h.as_value(), N_VLINES // 2))
        v_multi = (rv & nv) | ((rv | nv) & xv) | Cat(xl.v_multi, xr.v_multi)
        collision = Signal(name="collision")
        m.d.comb += collision.eq(h_multi.any() | v_multi.any() | Cat(*drv_multi).any()
                                 | Cat(*(sw.row_multi for sw in sws.values())).any())
        conflict, conflicts = Signal(name="conflict_q"), Signal(16, name="conflicts_q")
        m.d.sync += conflict.eq(conflict | collision)
        with m.If(collision & (conflicts != 0xFFFF)):
            m.d.sync += conflicts.eq(conflicts + 1)
        m.d.comb += [self.conflict.eq(conflict), self.conflicts.eq(conflicts)]
        return m


def connect_neighbours(m: Module, a: L1Fabric, b: L1Fabric, direction: str) -> None:
    """Tile two fabrics: ``b`` lies to the ``direction`` (east/west/north/south) of ``a``.

    East: ``a.east_o[y] -> b.west_i[hline_east(y)]``, ``b.west_o[y] -> a.east_i[hline_west(y)]``,
    and the synapse-switch rows ``a.east_drv_o[L] -> b.west_drv_i[L]`` (and back). North:
    ``a.north_o[v] -> b.south_i[vline_north(v)]``, ``b.south_o[v] -> a.north_i[vline_south(v)]``.
    """
    if direction == "west":
        return connect_neighbours(m, b, a, "east")
    if direction == "south":
        return connect_neighbours(m, b, a, "north")
    if direction == "east":
        fwd, back, e_a, e_b = coords.hline_east, coords.hline_west, "east", "west"
    elif direction == "north":
        fwd, back, e_a, e_b = coords.vline_north, coords.vline_south, "north", "south"
    else:
        raise ValueError(f"direction {direction!r} not one of {', '.join(EDGES)}")
    n = N_LINES[EDGE_KIND[e_a]]
    a_o, b_o = getattr(a, f"{e_a}_o").as_value(), getattr(b, f"{e_b}_o").as_value()
    m.d.comb += [
        getattr(b, f"{e_b}_i").as_value().eq(Cat(*(_el(a_o, back(j)) for j in range(n)))),
        getattr(a, f"{e_a}_i").as_value().eq(Cat(*(_el(b_o, fwd(j)) for j in range(n)))),
    ]
    if direction == "east":
        m.d.comb += [b.west_drv_i.eq(a.east_drv_o), a.east_drv_i.eq(b.west_drv_o)]
