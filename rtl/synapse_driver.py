"""The 224 synapse drivers of one HICANN: L1 input, mirror chains, driver decoders, strobes
(spec hicann-digital.md §4.1-4.4; register side in :mod:`bss1.rtl.synapse_controller_regs`).

Behaviour per core cycle (§4.3):

1. driver line L takes its ``drv_in[L]`` event only if its ``locin`` bit is 1 ("accepted");
2. accepted events travel along ``connect_neighbor`` chains inside a quadrant: with the quadrant's
   drivers ordered outward from the chip's horizontal midline (:func:`coords.driver_chain`), the
   link between chain elements j and j + 1 exists iff element j has ``connect_neighbor`` = 1; an
   event travels both ways over links and never crosses a quadrant boundary. Drivers relay
   whether or not they are enabled (halbe "mirror_only");
3. every *enabled* driver that an event reaches (its own or a chain member's) sets strobe bit
   ``2 * r + p`` (SW row-on-driver r, column parity p) iff L1 address bits [5:4] equal its decoder
   pattern (r, p); ``strobes[L].addr`` = address bits [3:0] of the event that reached the driver
   (0 when none; only meaningful while ``strobe`` != 0).

Decoder patterns come from the HW-bottom row's ``drv_decoder`` byte only (spec conflict §13 #6:
we follow halbe; the HW-top byte is stored but ignored). The CNFG ``gen`` bits, whose role in the
strobe decoding is undocumented (§13 #6), are ignored.

Conflict convention (our choice, the sources are silent): if two or more accepted events are on
one connected chain segment in the same cycle, they collide on the shared line. ``syndrv_conflict``
is then set (sticky until reset) and every driver of the segment sees the bitwise OR of the
colliding events' addresses (wired-OR bus).

Latency: ``strobes`` (and the conflict flag) are registered: they show in cycle t + 1 the events
on ``drv_in`` in cycle t, evaluated with the driver settings of cycle t. A driver SRAM write
changes the settings at the end of its sequencer run (see the register module).
"""

from __future__ import annotations

from amaranth import Cat, Elaboratable, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from bss1.models import coords

from .bus import BusSignature
from .l1 import N_DRIVERS, L1Event, Strobe, l1_array
from .synapse_controller import SynapseArrayPort, SynapseController
from .synapse_controller_regs import DriverSetting, HALVES, half_lines

__all__ = ["SynapseDriverBank", "QUADRANTS"]

#: (side, half) of the four driver quadrants.
QUADRANTS = tuple((side, half) for half in HALVES for side in ("left", "right"))


class SynapseDriverBank(wiring.Component):
    """All 224 synapse drivers plus the register side of both synapse controllers.

    Members
    -------
    synapse_controller_top, synapse_controller_bottom : In(BusSignature())
        Tag-1 configuration slaves (local addresses), named like the ``HICANN_MAP`` instances.
    drv_in : In(l1_array(224))
        Per driver line L: the L1 event arriving from its synapse-switch row(s).
    strobes : Out(ArrayLayout(Strobe, 224))
        Per driver line L, registered (1 cycle after ``drv_in``).
    syndrv_conflict : Out(1)
        Sticky: two accepted events met on one mirror chain segment in the same cycle.
    settings : Out(ArrayLayout(DriverSetting, 224))
        The driver settings in use (mirror of the SRAM contents), per driver line.
    synapse_array_top, synapse_array_bottom : Out(SynapseArrayPort())
        The synapse controllers' access ports to the analog synapse arrays (§5.4, §6).
    """

    def __init__(self):
        super().__init__({
            "synapse_controller_top": In(BusSignature()),
            "synapse_controller_bottom": In(BusSignature()),
            "drv_in": In(l1_array(N_DRIVERS)),
            "strobes": Out(data.ArrayLayout(Strobe, N_DRIVERS)),
            "syndrv_conflict": Out(1),
            "settings": Out(data.ArrayLayout(DriverSetting, N_DRIVERS)),
            "synapse_array_top": Out(SynapseArrayPort()),
            "synapse_array_bottom": Out(SynapseArrayPort()),
        })

    def elaborate(self, platform):
        m = Module()
        for half in HALVES:
            regs = SynapseController(half)
            m.submodules[f"regs_{half}"] = regs
            wiring.connect(m, wiring.flipped(getattr(self, f"synapse_controller_{half}")),
                           regs.bus)
            wiring.connect(m, regs.array, wiring.flipped(getattr(self, f"synapse_array_{half}")))
            for i, line in enumerate(half_lines(half)):
                m.d.comb += self.settings[line].eq(regs.drivers[i])

        # The drivers are computed as bit planes over each quadrant's chain (bit j = chain
        # element j): one plane per setting bit, per event bit and per strobe bit. The chain
        # propagation is a segmented OR scan: upward (away from the midline) with a carry chain
        # (an adder), downward with a log-depth shift network. In the Python simulator a
        # fragment's combinational statements form one function, re-run whenever one of its
        # inputs changes; the logic is therefore split into groups (configuration planes, event
        # gathering, one group per scan level, reach, output) so that each runs once per cycle.
        cfg_stmts, gather_stmts, reach_stmts, out_stmts = [], [], [], []
        scan_stmts = [[] for _ in range(8)]
        prop_stmts = [[] for _ in range(8)]
        conflict_terms = []
        position = {}
        planes = {}
        for q, (side, half) in enumerate(QUADRANTS):
            chain = coords.driver_chain(side, half)
            n = len(chain)
            for j, L in enumerate(chain):
                position[L] = (q, j)
            sett = [self.settings[L] for L in chain]

            def plane(name, bits, stmts, _q=q, _n=n):
                sig = Signal(_n, name=f"q{_q}_{name}")
                stmts.append(sig.eq(Cat(*bits)))
                return sig

            link = plane("link", [s.connect_neighbor for s in sett], cfg_stmts)
            enable = plane("enable", [s.enable for s in sett], cfg_stmts)
            locin = plane("locin", [s.locin for s in sett], cfg_stmts)
            pat = [[plane(f"pat{b}_{k}", [s.pattern[b][k] for s in sett], cfg_stmts)
                    for k in range(2)] for b in range(4)]

            # raw event planes: k = 0 valid, k = 1..6 address bits 0..5
            ev = [self.drv_in[L] for L in chain]
            any_in = (self.drv_in.as_value() & _valid_mask(chain)).any()
            raw = [plane(f"raw{k}", [Mux(any_in, Cat(*(e.valid if k == 0 else e.addr[k - 1]
                                                       for e in ev)), 0)], gather_stmts)
                   for k in range(7)]

            # accepted events only; address planes masked by valid
            acc = raw[0] & locin
            # downward propagate masks per doubling level (configuration only): props[l][j] = all
            # links j .. j + 2**l - 1 closed
            props = [link]
            while 1 << len(props) < n:
                span = 1 << (len(props) - 1)
                props.append(plane(f"prop{2 * span}", [props[-1] & (props[-1] >> span)],
                                   prop_stmts[len(props) - 1]))
            up, down = [], []
            for k in range(7):
                gk = acc if k == 0 else raw[k] & acc
                up.append(plane(f"up{k}", [_scan_up(gk, link, n)], scan_stmts[0]))
                # segmented OR scan toward lower indices, f[j] = g[j] | (link[j] & f[j + 1]), as
                # a log-depth (Kogge-Stone) network of shifts; one signal per level
                f = gk
                for level, prop in enumerate(props):
                    f = plane(f"down{k}_{level}", [f | (prop & (f >> (1 << level)))],
                              scan_stmts[level])
                down.append(f)
            # an accepted event meets one coming up from the midline side of its segment
            conflict_terms.append((acc & (link << 1) & (up[0] << 1))[:n].any())
            reach = [plane(f"reach{k}", [up[k] | down[k]], reach_stmts) for k in range(7)]

            strobe = [Signal(n, name=f"q{q}_strobe{b}") for b in range(4)]
            addr = [Signal(n, name=f"q{q}_addr{k}") for k in range(4)]
            for b in range(4):
                match = enable & reach[0] & ~(reach[5] ^ pat[b][0]) & ~(reach[6] ^ pat[b][1])
                m.d.sync += strobe[b].eq(match)
            for k in range(4):
                m.d.sync += addr[k].eq(reach[k + 1])
            planes[q] = (strobe, addr)

        conflict = Signal()
        reach_stmts.append(conflict.eq(Cat(*conflict_terms).any()))
        with m.If(conflict):
            m.d.sync += self.syndrv_conflict.eq(1)

        out = []
        for L in range(N_DRIVERS):
            q, j = position[L]
            strobe, addr = planes[q]
            out.append(Cat(*(s[j] for s in strobe), *(a[j] for a in addr)))
        out_stmts.append(self.strobes.eq(Cat(*out)))

        groups = [("cfg_planes", cfg_stmts), ("gather", gather_stmts)]
        groups += [(f"prop{i}", st) for i, st in enumerate(prop_stmts) if st]
        groups += [(f"scan{i}", st) for i, st in enumerate(scan_stmts) if st]
        groups += [("reach", reach_stmts), ("strobe_out", out_stmts)]
        for name, stmts in groups:
            m.submodules[name] = _CombGroup(stmts)
        return m


def _valid_mask(chain):
    """Bit mask of the ``valid`` bits of the chain's lines inside the flat ``drv_in`` vector."""
    return sum(1 << (L1Event.size * L + L1Event["valid"].offset) for L in chain)


def _scan_up(g, link, n, shift=1):
    """Segmented OR scan toward higher indices: ``f[j] = g[j] | (p[j] & f[j - 1])`` with the
    propagate bit ``p[j]`` = ``link[j - shift]``. Computed as the carries of ``g + (g | p)``:
    a generate where ``g`` = 1, a propagate where only ``p`` = 1, a kill elsewhere."""
    p = (link << shift)[:n]
    y = g | p
    return (((g + y) ^ g ^ y) >> 1)[:n]


class _CombGroup(Elaboratable):
    """A group of combinational statements in its own fragment (see the comment in
    :meth:`SynapseDriverBank.elaborate`)."""

    def __init__(self, stmts):
        self.stmts = stmts

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.stmts
        return m
