"""Priority encoder of one neuron block (spec hicann-digital.md §7.2, §11, §12.1).

A neuron block (SW block b = columns 32b..32b+31, both rows) has 64 fire lines: neuron-builder
address n with n // 64 == b is input n % 64. Behaviour per core-clock cycle:

* a fire pulse on an input whose fire enable is set (firet/fireb of its neuron-builder entry) sets
  the input's pending bit; a pulse on an input that is still pending (and not granted in this very
  cycle) is lost and counted (``lost``);
* the encoder grants at most one event every 2 cycles: in a cycle where it is not cooling down and
  some input is pending, the lowest pending index wins (``grant``/``index``), its pending bit clears
  and the next cycle is a cool-down cycle. The grant is based on the pending register, so a pulse
  in cycle t is granted in cycle t + 1 at the earliest;
* ``run`` = 0 (neuron config ``spl1_reset_n`` = 0) holds the encoder in reset: no pending bits, no
  grants, no losses.

The winner's 6-bit L1 address is looked up by the parent (neuron-builder read port, index =
``index``) and written into input 0 of HW level-0 merger 7 - b at the end of the grant cycle.
"""


from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PriorityEncoder", "popcount", "N_PE_INPUTS"]

N_PE_INPUTS = 64


def popcount(value: Value) -> Value:
    """Number of set bits of ``value`` as a balanced adder tree."""
    terms = [value[i] for i in range(len(value))]
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


class PriorityEncoder(wiring.Component):
    """Members
    -------
    fire : In(64)
        One-cycle fire pulses of the block's denmems (bit = input index).
    fire_enable : In(64)
        Fire enables from the neuron-builder SRAM (bit = input index).
    run : In(1)
        0 holds the encoder in reset.
    grant : Out(1)
        An event is emitted in this cycle (combinational from the registers).
    index : Out(6)
        Input index of the granted denmem.
    lost : Out(7)
        Number of fire pulses lost in this cycle (re-flagged pending inputs).
    """

    fire: In(N_PE_INPUTS)
    fire_enable: In(N_PE_INPUTS)
    run: In(1)
    grant: Out(1)
    index: Out(6)
    lost: Out(7)

    def elaborate(self, platform):
        m = Module()
        pending = Signal(N_PE_INPUTS)
        cooldown = Signal()
        lowest = Signal(N_PE_INPUTS)
        granted = Signal(N_PE_INPUTS)
        new = Signal(N_PE_INPUTS)
        m.d.comb += [
            lowest.eq(pending & (~pending + 1)),
            self.grant.eq(self.run & ~cooldown & pending.any()),
            granted.eq(lowest & self.grant.replicate(N_PE_INPUTS)),
            new.eq(self.fire & self.fire_enable & self.run.replicate(N_PE_INPUTS)),
            self.lost.eq(popcount(new & pending & ~granted)),
        ]
        # one-hot -> binary: bit j of the index is set when the winner's index has bit j
        bits = []
        for j in range(6):
            mask = sum(1 << i for i in range(N_PE_INPUTS) if (i >> j) & 1)
            bits.append((lowest & mask).any())
        m.d.comb += self.index.eq(Cat(*bits))
        with m.If(self.run):
            m.d.sync += [pending.eq((pending & ~granted) | new), cooldown.eq(self.grant)]
        with m.Else():
            m.d.sync += [pending.eq(0), cooldown.eq(0)]
        return m
