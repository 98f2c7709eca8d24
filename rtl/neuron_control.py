"""The event sources of one HICANN: neuron builder, priority encoders, background generators,
merger tree and DNC mergers with the neuron-control register file (spec hicann-digital.md §7,
§11, §12.1-12.3).

Event path and latencies (core-clock cycles; the model :mod:`bss1.models.neuron_control` is
cycle-identical)::

    fire[n] (cycle t) -> PE pending (t+1) -> PE grant, written into bg_merger[7 - n // 64] input 0
    (valid t+2) -> 2 cycles per merger -> DNC merger c output register = dnc_out[c]

so with k tree mergers on the path (plus the DNC merger) a lone spike appears on ``dnc_out`` in
cycle t + 3 + 2k. BG k writes input 1 of bg_merger[k]; ``l2_rx[c]`` writes input 1 of DNC merger c.

Neuron-control registers (§7.5, local addresses from :data:`~bss1.rtl.registers.NEURON_CONTROL`)
all read back what was written, masked to their fields (the BG seed returns the last value
written; it is shared, and each BG's LFSR loads it on the rising edge of its enable bit). The
output-register sampling ``phase`` is stored and driven out only (no effect on the event timing;
its polarity is a spec conflict, §13.8, left to the L2 side). Writing loopback bits on both
channels of a pair is illegal: the reference model refuses it, this gateware stores it and both
loops are built (see :mod:`bss1.rtl.merger`).
"""


from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .background import BackgroundGenerator
from .bus import BusSignature, register_hit, slave_access
from .l1 import l1_array
from .merger import N_TREE_MERGERS, MergerTree
from .neuron_builder import NeuronBuilder, field_mask
from .priority_encoder import N_PE_INPUTS, PriorityEncoder
from .registers import NEURON_BUILDER, NEURON_CONTROL

__all__ = ["NeuronControl", "NeuronControlRegisters"]

_NC = NEURON_CONTROL


class NeuronControlRegisters(wiring.Component):
    """The 16-bit register file of §7.5 as a bus slave, decoded into named outputs.

    ``load_seed[k]`` is a one-cycle strobe in the write cycle in which BG k's enable bit rises.
    """

    bus: In(BusSignature())
    merger_enable: Out(N_TREE_MERGERS)
    merger_select: Out(N_TREE_MERGERS)
    merger_slow: Out(N_TREE_MERGERS)
    dnc_loopback: Out(8)
    dnc_select: Out(8)
    dnc_enable: Out(8)
    dnc_slow: Out(8)
    bg_enable: Out(8)
    bg_random: Out(8)
    bg_seed: Out(16)
    bg_period: Out(16).array(8)
    bg_address: Out(6).array(8)
    load_seed: Out(8)
    phase: Out(8)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        store = {}          # (register name, index) -> Signal
        for reg in _NC.registers:
            for i in range(reg.count):
                store[reg.name, i] = Signal(reg.width, name=f"{reg.name}_{i}")

        def fld(reg_name, field_name, index=0):
            f = _NC.reg(reg_name).field(field_name)
            return store[reg_name, index][f.lsb:f.lsb + f.width]

        m.d.comb += [
            self.merger_enable.eq(fld("merger_enable", "mergers")),
            self.merger_select.eq(fld("merger_select", "mergers")),
            self.merger_slow.eq(fld("merger_slow", "mergers")),
            self.dnc_loopback.eq(fld("dnc_loopback_select", "loopback")),
            self.dnc_select.eq(fld("dnc_loopback_select", "select")),
            self.dnc_enable.eq(fld("dnc_enable_slow", "enable")),
            self.dnc_slow.eq(fld("dnc_enable_slow", "slow")),
            self.bg_enable.eq(fld("bg_control", "enable")),
            self.bg_random.eq(fld("bg_control", "random")),
            self.bg_seed.eq(fld("bg_seed", "seed")),
            self.phase.eq(fld("phase", "phase")),
        ]
        for k in range(8):
            m.d.comb += [
                self.bg_period[k].eq(fld("bg_period", "period", k)),
                self.bg_address[k].eq(fld("bg_address", "odd" if k % 2 else "even", k // 2)),
            ]

        do = slave_access(m, bus)
        rdata, err = Signal(32), Signal()
        m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]
        with m.If(do):
            m.d.sync += [err.eq(1), rdata.eq(0)]
            for reg in _NC.registers:
                hit, index = register_hit(bus.addr, reg)
                for i in range(reg.count):
                    sig = store[reg.name, i]
                    with m.If(hit & (index == i)):
                        m.d.sync += [err.eq(0), rdata.eq(sig)]
                        with m.If(bus.we):
                            m.d.sync += sig.eq(bus.wdata & field_mask(reg))

        ctl = _NC.reg("bg_control")
        en = ctl.field("enable")
        ctl_hit, _ = register_hit(bus.addr, ctl)
        new_enable = bus.wdata[en.lsb:en.lsb + en.width]
        m.d.comb += self.load_seed.eq(
            (do & bus.we & ctl_hit).replicate(8) & new_enable & ~self.bg_enable)
        return m


class NeuronControl(wiring.Component):
    """Neuron builder + 8 priority encoders + 8 BGs + merger tree + DNC mergers.

    Members
    -------
    neuron_control, neuron_builder : In(BusSignature())
        Configuration slaves at the local addresses of the HICANN_MAP instances of those names.
    fire : In(512)
        Bit n: one-cycle fire pulse of the denmem with neuron-builder address n.
    l2_rx : In(l1_array(8))
        HW channel c: event into input 1 of DNC merger c (lost if occupied).
    dnc_out : Out(l1_array(8))
        HW channel c: DNC merger output register (one cycle per event); feeds the sending repeater
        on SW HLine 6 + 8c and the L2 transmitter.
    lost : Out(32)
        All lost events (wrapping counter) = ``lost_pe + lost_merger + lost_rx``.
    lost_pe : Out(32)
        Fire pulses on a still-pending priority-encoder input.
    lost_merger : Out(32)
        Priority-encoder or BG events that overwrote an occupied level-0 merger input.
    lost_rx : Out(32)
        L2 (or loopback) events that overwrote an occupied DNC merger input 1.
    neuron_config : Out(17)
    phase : Out(8)
        Output-register sampling phase bits (stored for the L2 side).
    """

    neuron_control: In(BusSignature())
    neuron_builder: In(BusSignature())
    fire: In(NEURON_BUILDER.reg("sram").count)
    l2_rx: In(l1_array(8))
    dnc_out: Out(l1_array(8))
    lost: Out(32)
    lost_pe: Out(32)
    lost_merger: Out(32)
    lost_rx: Out(32)
    neuron_config: Out(NEURON_BUILDER.reg("neuron_config").width)
    phase: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.submodules.regs = regs = NeuronControlRegisters()
        m.submodules.builder = nb = NeuronBuilder()
        m.submodules.tree = tree = MergerTree()
        wiring.connect(m, wiring.flipped(self.neuron_control), regs.bus)
        wiring.connect(m, wiring.flipped(self.neuron_builder), nb.bus)
        spl1_run = NEURON_BUILDER.reg("neuron_config").field("spl1_reset_n").lsb
        m.d.comb += [
            self.neuron_config.eq(nb.neuron_config),
            self.phase.eq(regs.phase),
            tree.enable.eq(regs.merger_enable),
            tree.select.eq(regs.merger_select),
            tree.slow.eq(regs.merger_slow),
            tree.dnc_enable.eq(regs.dnc_enable),
            tree.dnc_select.eq(regs.dnc_select),
            tree.dnc_slow.eq(regs.dnc_slow),
            tree.loopback.eq(regs.dnc_loopback),
            tree.l2_rx.eq(self.l2_rx),
            self.dnc_out.eq(tree.dnc_out),
        ]
        pe_lost = []
        for b in range(8):
            pe = PriorityEncoder()
            m.submodules[f"pe{b}"] = pe
            lo, hi = N_PE_INPUTS * b, N_PE_INPUTS * (b + 1)
            k = 7 - b            # HW level-0 merger of SW neuron block b (§7.2)
            m.d.comb += [
                pe.fire.eq(self.fire[lo:hi]),
                pe.fire_enable.eq(nb.fire_enable[lo:hi]),
                pe.run.eq(nb.neuron_config[spl1_run]),
                nb.pe_index[b].eq(pe.index),
                tree.pe[k].valid.eq(pe.grant),
                tree.pe[k].addr.eq(nb.pe_address[b]),
            ]
            pe_lost.append(pe.lost)
        for k in range(8):
            bg = BackgroundGenerator()
            m.submodules[f"bg{k}"] = bg
            m.d.comb += [
                bg.enable.eq(regs.bg_enable[k]),
                bg.random.eq(regs.bg_random[k]),
                bg.seed.eq(regs.bg_seed),
                bg.load_seed.eq(regs.load_seed[k]),
                bg.period.eq(regs.bg_period[k]),
                bg.address.eq(regs.bg_address[k]),
                tree.bg[k].eq(bg.event),
            ]
        lost_pe = Signal(10)
        lost_merger = Signal(5)
        lost_rx = Signal(4)
        m.d.comb += [
            lost_pe.eq(sum(pe_lost)),
            lost_merger.eq(sum(tree.lost_pe[k] + tree.lost_bg[k] for k in range(8))),
            lost_rx.eq(sum(tree.lost_rx[c] for c in range(8))),
        ]
        m.d.sync += [
            self.lost.eq(self.lost + lost_pe + lost_merger + lost_rx),
            self.lost_pe.eq(self.lost_pe + lost_pe),
            self.lost_merger.eq(self.lost_merger + lost_merger),
            self.lost_rx.eq(self.lost_rx + lost_rx),
        ]
        return m
