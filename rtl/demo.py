"""A small demo top for the Verilog/cocotb tooling (spec: ecosystem.md B1, B3).

Not part of the HICANN: it exists so that :mod:`bss1.rtl.generate`, :mod:`bss1.rtl.cocotb_util`
and :mod:`bss1.rtl.waves` can be tested on something that converts in well under a second yet has
the features the real tops have: a struct-shaped valid/ready stream, a submodule with an FSM and
internal counters, a free-running counter, only the implicit ``sync`` domain.

Behaviour
---------
* ``count`` increments every cycle while ``en`` is high (wraps at ``2**width``).
* ``i`` -> ``o`` is a one-entry stream stage (submodule ``loop``): a word accepted on ``i`` comes
  out on ``o`` with ``data + 1`` (mod 256) and ``addr`` unchanged. The stage holds at most one word
  (FSM ``IDLE``/``HOLD``), so it accepts at most every other cycle and honours back-pressure.
* ``loop.transfers`` (internal, 16 bit) counts words accepted on ``i``.
"""

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DemoWord", "LoopStage", "DemoTop"]

#: Payload of the demo stream: a 6-bit address (like an L1 event) and an 8-bit data byte.
DemoWord = data.StructLayout({"addr": 6, "data": 8})


class LoopStage(wiring.Component):
    """One-entry stream stage that adds 1 to ``data``; counts accepted words in ``transfers``."""

    i: In(stream.Signature(DemoWord))
    o: Out(stream.Signature(DemoWord))

    def elaborate(self, platform):
        m = Module()
        held = Signal(DemoWord)
        transfers = Signal(16)
        m.d.comb += self.o.payload.eq(held)
        with m.FSM(name="fsm"):
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [
                        held.addr.eq(self.i.payload.addr),
                        held.data.eq(self.i.payload.data + 1),
                        transfers.eq(transfers + 1),
                    ]
                    m.next = "HOLD"
            with m.State("HOLD"):
                m.d.comb += self.o.valid.eq(1)
                with m.If(self.o.ready):
                    m.next = "IDLE"
        return m


class DemoTop(wiring.Component):
    """Counter plus stream loopback; see the module docstring.

    Parameters
    ----------
    width : int
        Width of ``count``.
    """

    def __init__(self, width: int = 16):
        if not isinstance(width, int) or not 1 <= width <= 64:
            self._MustUse__silence = True      # a rejected component is no "unused" one
            raise ValueError(f"counter width {width!r} out of range 1..64")
        self.width = width
        super().__init__({
            "en": In(1),
            "count": Out(width),
            "i": In(stream.Signature(DemoWord)),
            "o": Out(stream.Signature(DemoWord)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.loop = loop = LoopStage()
        wiring.connect(m, wiring.flipped(self.i), loop.i)
        wiring.connect(m, loop.o, wiring.flipped(self.o))
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + 1)
        return m
