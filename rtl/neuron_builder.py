"""Neuron builder: the 512 x 25-bit SRAM and the neuron / output config registers
(spec hicann-digital.md §7.1, §9.3, §13.14).

A configuration-bus slave at the local addresses of :data:`~bss1.rtl.registers.NEURON_BUILDER`:

* ``sram`` (512 entries, :data:`~bss1.rtl.registers.NB_ENTRY`): entry n = 2 * column + (1 if top);
* ``neuron_config`` (17 bit, driven out as ``neuron_config``), ``output_config`` (22 bit, analog
  mux, stored only), ``timing_read`` / ``timing_setup_write`` (stored only: accesses here always
  take the standard two cycles of :func:`~bss1.rtl.bus.slave_access`).

Every register and entry reads back what was written, masked to its declared fields. The real
chip's warning that SRAM read-back "may lead to bit flips" (spec §13.14) is *not* modelled: reads
are non-destructive. Unmapped local addresses answer ``err`` and change nothing. Data bits above a
register's fields are ignored.

For the priority encoders the block keeps, next to the SRAM, a copy of what they need in parallel:
``fire_enable`` (bit n = firet of a top entry (n odd) / fireb of a bottom entry (n even)) and a
512 x 6 address memory with 8 asynchronous read ports (``pe_index[b]`` -> ``pe_address[b]``, entry
64 b + index), holding the SPL1 address un-reversed (the SRAM stores it bit-reversed).
"""


from amaranth import C, Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .bus import BusSignature, register_hit, slave_access
from .registers import NB_ENTRY, NEURON_BUILDER

__all__ = ["NeuronBuilder", "field_mask"]


def field_mask(register) -> int:
    """Bits of ``register`` that are storage (the union of its fields)."""
    mask = 0
    for f in register.fields:
        mask |= f.mask
    return mask


class NeuronBuilder(wiring.Component):
    """Members
    -------
    bus : In(BusSignature())
        Local addresses of the neuron-builder block.
    neuron_config : Out(17)
    fire_enable : Out(512)
    pe_index : In(ArrayLayout(6, 8))
        Per neuron block: input index to look up.
    pe_address : Out(ArrayLayout(6, 8))
        Per neuron block: un-reversed L1 address of entry 64 b + ``pe_index[b]`` (combinational).
    """

    bus: In(BusSignature())
    neuron_config: Out(NEURON_BUILDER.reg("neuron_config").width)
    fire_enable: Out(NB_ENTRY.count)
    pe_index: In(data.ArrayLayout(6, 8))
    pe_address: Out(data.ArrayLayout(6, 8))

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        n_entries = NB_ENTRY.count
        m.submodules.sram = sram = Memory(shape=NB_ENTRY.width, depth=n_entries, init=[])
        m.submodules.addrs = addrs = Memory(shape=6, depth=n_entries, init=[])
        wr = sram.write_port()
        rd = sram.read_port(domain="sync")
        awr = addrs.write_port()

        regs = [NEURON_BUILDER.reg(name) for name in
                ("neuron_config", "output_config", "timing_read", "timing_setup_write")]
        store = [Signal(r.width, name=r.name) for r in regs]
        m.d.comb += self.neuron_config.eq(store[0])

        do = slave_access(m, bus)
        rdata, err, from_sram = Signal(32), Signal(), Signal()
        m.d.comb += bus.rdata.eq(Mux(from_sram, rd.data, rdata))
        m.d.comb += bus.err.eq(err)

        sram_hit, index = register_hit(bus.addr, NB_ENTRY)
        spl1 = NB_ENTRY.field("spl1_rev")
        firet, fireb = NB_ENTRY.field("firet"), NB_ENTRY.field("fireb")
        wdata = bus.wdata[:NB_ENTRY.width]
        write_sram = do & bus.we & sram_hit
        m.d.comb += [
            wr.addr.eq(index), wr.data.eq(wdata), wr.en.eq(write_sram),
            rd.addr.eq(index), rd.en.eq(do & sram_hit),
            awr.addr.eq(index), awr.en.eq(write_sram),
            awr.data.eq(wdata[spl1.lsb:spl1.lsb + spl1.width][::-1]),
        ]
        with m.If(write_sram):
            m.d.sync += self.fire_enable.bit_select(index, 1).eq(
                Mux(index[0], wdata[firet.lsb], wdata[fireb.lsb]))

        for b in range(8):
            port = addrs.read_port(domain="comb")
            m.d.comb += [port.addr.eq(Cat(self.pe_index[b], C(b, 3))),
                         self.pe_address[b].eq(port.data)]

        with m.If(do):
            m.d.sync += [from_sram.eq(sram_hit), err.eq(~sram_hit), rdata.eq(0)]
            for reg, sig in zip(regs, store):
                hit, _ = register_hit(bus.addr, reg)
                with m.If(hit):
                    m.d.sync += [err.eq(0), rdata.eq(sig)]
                    with m.If(bus.we):
                        m.d.sync += sig.eq(bus.wdata & field_mask(reg))
        with m.Else():
            m.d.sync += from_sram.eq(0)
        return m
