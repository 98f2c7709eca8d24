"""The neuron merger tree and the DNC mergers of one HICANN (spec hicann-digital.md §7.4, §11).

Twenty-three two-input mergers, indexed in HW terms as in the register bits of §7.5:

=========  ==========================  ==================================================
index      merger                      input 0 / input 1
=========  ==========================  ==================================================
0..7       ``bg_merger[k]``            priority encoder of SW neuron block 7 - k / BG k
8..11      ``L0[j]``                   bg_merger[2j] / bg_merger[2j + 1]
12, 13     ``L1[j]``                   L0[2j] / L0[2j + 1]
14         ``L2[0]``                   L1[0] / L1[1]
15..22     ``dnc[c]`` (c = index - 15) bg0, L0[0], L1[0], bg3, L2[0], bg5, L0[3], bg7 / L2 rx c
=========  ==========================  ==================================================

Cycle behaviour (the model in :mod:`bss1.models.merger` is the same algorithm in Python):

* every merger has two input registers and one output register; an event goes input register ->
  output register -> the next merger's input register, one hop per clock (2 clocks per merger);
* ``enable`` = merge both inputs with round robin: when both inputs hold an event, the one not
  served last goes first (after reset input 0 goes first); otherwise ``select`` picks the input
  (1 = input 1, "left"), and events arriving at the other input are discarded (not counted lost);
* ``slow``: the output register is loaded at most every second cycle;
* valid/ready between merger stages: an output register is handed on only when every input
  register it feeds is empty or emptied in the same cycle (a tree output can feed a tree merger and
  a DNC merger); otherwise it holds and the merger stalls. The ready chain is combinational;
* injected inputs (priority encoder, BG, L2 receive / loopback) have no back-pressure: they
  overwrite an occupied input register that is not emptied in the same cycle, and that event is
  lost (``lost_*`` strobes, one bit per merger);
* a DNC merger's output register is never held: it is ``dnc_out[c]`` for exactly one cycle;
* DNC loopback: with ``loopback`` bit c set, input 1 of DNC merger c takes the output of its pair
  channel c ^ 1 instead of ``l2_rx[c]`` (which is then ignored); "set at the loop target channel".
  Setting both bits of a pair is illegal (the model refuses it); this gateware then simply builds
  both loops, and events selected at input 1 circulate between the two channels.
"""


from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .l1 import L1Event, l1_array

__all__ = ["MergerTree", "MERGER_SOURCES", "MERGER_NAMES", "N_TREE_MERGERS", "N_MERGERS",
           "DNC_INPUT0", "DNC_BASE", "merger_consumers"]

N_TREE_MERGERS = 15
DNC_BASE = N_TREE_MERGERS
N_MERGERS = N_TREE_MERGERS + 8
#: Tree merger feeding input 0 of DNC merger c (§7.4, HW indices).
DNC_INPUT0 = (0, 8, 12, 3, 14, 5, 11, 7)

#: Source of (input 0, input 1) of every merger: an int = upstream merger (handshake), or an
#: injected source "pe" / "bg" / "rx" (index = the merger's own HW index k resp. channel c).
MERGER_SOURCES: tuple[tuple[int | str, int | str], ...] = (
    *(("pe", "bg") for _ in range(8)),
    *((2 * j, 2 * j + 1) for j in range(4)),
    *((8 + 2 * j, 8 + 2 * j + 1) for j in range(2)),
    (12, 13),
    *((DNC_INPUT0[c], "rx") for c in range(8)),
)

MERGER_NAMES = (tuple(f"bg_merger[{k}]" for k in range(8)) + tuple(f"L0[{j}]" for j in range(4))
                + ("L1[0]", "L1[1]", "L2[0]") + tuple(f"dnc[{c}]" for c in range(8)))


def merger_consumers() -> dict[int, list[tuple[int, int]]]:
    """``{merger: [(downstream merger, input slot), ...]}`` of the handshake connections."""
    cons: dict[int, list[tuple[int, int]]] = {i: [] for i in range(N_MERGERS)}
    for j, srcs in enumerate(MERGER_SOURCES):
        for s, src in enumerate(srcs):
            if isinstance(src, int):
                cons[src].append((j, s))
    return cons


class MergerTree(wiring.Component):
    """15 tree mergers + 8 DNC mergers (HW indices throughout).

    Members
    -------
    pe, bg : In(l1_array(8))
        Element k is written into input 0 (priority encoder) / input 1 (BG) of ``bg_merger[k]``.
    l2_rx : In(l1_array(8))
        Element c is written into input 1 of DNC merger c (unless its loopback bit is set).
    enable, select, slow : In(15)
        Tree merger configuration, bit = merger index (register layout of §7.5).
    dnc_enable, dnc_select, dnc_slow, loopback : In(8)
        DNC merger configuration, bit = channel.
    dnc_out : Out(l1_array(8))
        The DNC merger output registers.
    lost_pe, lost_bg, lost_rx : Out(8)
        One-cycle strobes: an injected event overwrote an occupied input register.
    """

    pe: In(l1_array(8))
    bg: In(l1_array(8))
    l2_rx: In(l1_array(8))
    enable: In(N_TREE_MERGERS)
    select: In(N_TREE_MERGERS)
    slow: In(N_TREE_MERGERS)
    dnc_enable: In(8)
    dnc_select: In(8)
    dnc_slow: In(8)
    loopback: In(8)
    dnc_out: Out(l1_array(8))
    lost_pe: Out(8)
    lost_bg: Out(8)
    lost_rx: Out(8)

    def elaborate(self, platform):
        m = Module()
        n = N_MERGERS
        enable = Cat(self.enable, self.dnc_enable)
        select = Cat(self.select, self.dnc_select)
        slow = Cat(self.slow, self.dnc_slow)

        slot = [[Signal(L1Event, name=f"m{i}_in{s}") for s in (0, 1)] for i in range(n)]
        out = [Signal(L1Event, name=f"m{i}_out") for i in range(n)]
        last = [Signal(init=1, name=f"m{i}_last") for i in range(n)]   # input served last
        loaded = [Signal(name=f"m{i}_loaded") for i in range(n)]       # output loaded last cycle
        go = [Signal(name=f"m{i}_go") for i in range(n)]               # output handed on
        serve = [Signal(name=f"m{i}_serve") for i in range(n)]
        pick1 = [Signal(name=f"m{i}_pick1") for i in range(n)]
        consumed = [[Signal(name=f"m{i}_take{s}") for s in (0, 1)] for i in range(n)]
        ready = [[Signal(name=f"m{i}_ready{s}") for s in (0, 1)] for i in range(n)]
        consumers = merger_consumers()

        for i in range(n):
            o = out[i]
            if i >= DNC_BASE:
                m.d.comb += go[i].eq(o.valid)
            else:
                all_ready = Cat(*(ready[j][s] for j, s in consumers[i])).all()
                m.d.comb += go[i].eq(o.valid & all_ready)
            can = (~o.valid | go[i]) & ~(slow[i] & loaded[i])
            v0, v1 = slot[i][0].valid, slot[i][1].valid
            with m.If(enable[i]):
                m.d.comb += [
                    pick1[i].eq(v1 & (~v0 | ~last[i])),
                    serve[i].eq(can & (v0 | v1)),
                    consumed[i][0].eq(serve[i] & ~pick1[i]),
                    consumed[i][1].eq(serve[i] & pick1[i]),
                ]
            with m.Else():
                m.d.comb += [
                    pick1[i].eq(select[i]),
                    serve[i].eq(can & Mux(select[i], v1, v0)),
                    consumed[i][0].eq(select[i] | serve[i]),
                    consumed[i][1].eq(~select[i] | serve[i]),
                ]
            for s in (0, 1):
                m.d.comb += ready[i][s].eq(~slot[i][s].valid | consumed[i][s])
            # output register
            m.d.sync += loaded[i].eq(serve[i])
            with m.If(serve[i]):
                m.d.sync += [o.eq(Mux(pick1[i], slot[i][1], slot[i][0])), last[i].eq(pick1[i])]
            with m.Elif(go[i]):
                m.d.sync += o.valid.eq(0)

        # input registers
        for i, srcs in enumerate(MERGER_SOURCES):
            for s, src in enumerate(srcs):
                reg = slot[i][s]
                if isinstance(src, int):
                    with m.If(go[src]):
                        m.d.sync += reg.eq(out[src])
                    with m.Elif(consumed[i][s]):
                        m.d.sync += reg.valid.eq(0)
                    continue
                if src == "rx":
                    c = i - DNC_BASE
                    pair = out[DNC_BASE + (c ^ 1)]
                    inj = Signal(L1Event, name=f"rx{c}")
                    m.d.comb += inj.eq(Mux(self.loopback[c], pair, self.l2_rx[c]))
                    lost = self.lost_rx[c]
                else:
                    inj = self.pe[i] if src == "pe" else self.bg[i]
                    lost = self.lost_pe[i] if src == "pe" else self.lost_bg[i]
                m.d.comb += lost.eq(inj.valid & reg.valid & ~consumed[i][s])
                with m.If(inj.valid):
                    m.d.sync += reg.eq(inj)
                with m.Elif(consumed[i][s]):
                    m.d.sync += reg.valid.eq(0)

        for c in range(8):
            m.d.comb += self.dnc_out[c].eq(out[DNC_BASE + c])
        return m
