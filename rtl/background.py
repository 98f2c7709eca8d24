"""Background event generator (BG) of one HICANN level-0 merger (spec hicann-digital.md §7.3).

Per core-clock cycle, while ``enable`` (the BG's reset_n bit of neuron-control register 4) is set:

* a 16-bit counter runs 0, 1, ..., period, 0, ...; in *regular* mode the BG emits in every cycle in
  which the counter equals ``period``: one event every period + 1 cycles, the first one in the
  (period + 1)-th enabled cycle, carrying ``address``;
* a 16-bit LFSR steps every cycle: shift left by one, new bit 0 = b15 ^ b13 ^ b12 ^ b10. In *random*
  mode the BG emits in a cycle where LFSR > period while in the previous enabled cycle
  LFSR <= period (never in the first enabled cycle). Random-mode events always carry address 0
  (hardware behaviour per halbe; the ESS would send the address register, spec §13.9);
* ``load_seed`` (the enable bit's rising edge, decoded by the register file in the write cycle)
  loads the shared seed into the LFSR. A seed of 0 locks the LFSR at 0: no random events
  (hardware behaviour; the ESS substitutes 1, the reference model warns).

While disabled the counter and the "previous LFSR <= period" flag are held at 0 and the LFSR keeps
its value. Both counter and LFSR run in either mode, ``random`` only selects the emitter.

``event`` is combinational from the state registers; the parent writes it into input 1 of the
level-0 merger with the same HW index at the end of the cycle.
"""


from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .l1 import L1Event

__all__ = ["BackgroundGenerator", "LFSR_TAPS"]

#: Bits XORed into the new bit 0 of the LFSR.
LFSR_TAPS = (15, 13, 12, 10)


class BackgroundGenerator(wiring.Component):
    """Members
    -------
    enable, random : In(1)
    seed : In(16)
    load_seed : In(1)
        One-cycle strobe: load ``seed`` into the LFSR at the end of this cycle.
    period : In(16)
    address : In(6)
    event : Out(L1Event)
    """

    enable: In(1)
    random: In(1)
    seed: In(16)
    load_seed: In(1)
    period: In(16)
    address: In(6)
    event: Out(L1Event)

    def elaborate(self, platform):
        m = Module()
        count = Signal(16)
        lfsr = Signal(16)
        was_low = Signal()          # LFSR <= period in the previous enabled cycle
        feedback = lfsr[LFSR_TAPS[0]]
        for t in LFSR_TAPS[1:]:
            feedback = feedback ^ lfsr[t]
        regular_hit = count == self.period
        random_hit = (lfsr > self.period) & was_low
        m.d.comb += [
            self.event.valid.eq(self.enable & Mux(self.random, random_hit, regular_hit)),
            self.event.addr.eq(Mux(self.random, 0, self.address)),
        ]
        with m.If(self.load_seed):
            m.d.sync += [lfsr.eq(self.seed), count.eq(0), was_low.eq(0)]
        with m.Elif(self.enable):
            m.d.sync += [
                count.eq(Mux(regular_hit, 0, count + 1)),
                lfsr.eq(Cat(feedback, lfsr[:15])),
                was_low.eq(lfsr <= self.period),
            ]
        with m.Else():
            m.d.sync += [count.eq(0), was_low.eq(0)]
        return m
