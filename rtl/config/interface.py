"""The HICANN configuration interface: tag demultiplexer, two ARQs, output arbiter
(spec hicann-digital.md §9.1-9.2).

Control-interface packets arrive on one 64-bit stream (from the L2 link or JTAG) and leave on
another. :class:`ConfigInterface` routes each incoming packet by its ``tag`` field to the
:class:`~bss1.rtl.config.arq.ConfigArq` of tag 0 ("slow": crossbars, repeaters, neuron control and
builder, FG controllers, DNC/SPL1) or tag 1 ("fast": synapse controllers). Each ARQ masters its own
configuration bus (``bus0``, ``bus1``, absolute addresses, to a
:class:`~bss1.rtl.bus.BusDecoder` of that tag). Packets with tag 2 or 3 name no ARQ; they are
consumed, dropped and counted in ``rx_bad_tag``. The two ARQ outputs share ``tx`` through a
round-robin arbiter that holds its choice while the downstream stalls, so ``tx`` obeys the stream
rule (payload stable until ``ready``).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus import BusSignature
from ..registers import CONFIG_PACKET
from .arq import TIMEOUT_DEFAULT, ConfigArq
from .packet import N_TAGS, PACKET_BITS

__all__ = ["ConfigInterface"]


class ConfigInterface(wiring.Component):
    """Both configuration ARQs behind one packet stream pair.

    Parameters
    ----------
    timeout : int
        Retransmission timeout of both ARQs, core cycles.
    counter_width : int
        Width of the wrapping status counters.

    Members
    -------
    rx : In(stream.Signature(64))
        Packets from the host (all tags).
    tx : Out(stream.Signature(64))
        Packets to the host.
    bus0, bus1 : Out(BusSignature())
        Configuration bus masters of tag 0 and tag 1.
    bus_errors0, bus_errors1, rx_dropped0, rx_dropped1, retransmissions0, retransmissions1
        Out(counter_width): the per-tag ARQ counters.
    bus_errors, rx_dropped, retransmissions : Out(counter_width)
        Sums over both tags.
    rx_bad_tag : Out(counter_width)
        Packets dropped for an illegal tag (2, 3).
    """

    def __init__(self, *, timeout: int = TIMEOUT_DEFAULT, counter_width: int = 16):
        self.arqs = [ConfigArq(t, timeout=timeout, counter_width=counter_width)
                     for t in range(N_TAGS)]
        self.timeout = timeout
        members = {
            "rx": In(stream.Signature(PACKET_BITS)),
            "tx": Out(stream.Signature(PACKET_BITS)),
            "rx_bad_tag": Out(counter_width),
        }
        for t in range(N_TAGS):
            members[f"bus{t}"] = Out(BusSignature())
        for name in ("bus_errors", "rx_dropped", "retransmissions"):
            members[name] = Out(counter_width)
            for t in range(N_TAGS):
                members[f"{name}{t}"] = Out(counter_width)
        super().__init__(members)

    def bus(self, tag: int):
        """The bus master port of ``tag``."""
        if not isinstance(tag, int) or not 0 <= tag < N_TAGS:
            raise ValueError(f"tag {tag!r} out of range 0..{N_TAGS - 1}")
        return getattr(self, f"bus{tag}")

    def elaborate(self, platform):
        m = Module()
        arq0, arq1 = self.arqs
        m.submodules.arq0 = arq0
        m.submodules.arq1 = arq1
        pkt = data.View(CONFIG_PACKET.layout, self.rx.payload)

        # -- demultiplexer -------------------------------------------------------------------------
        bad_tag = pkt.tag >= N_TAGS
        m.d.comb += self.rx.ready.eq(bad_tag)
        for t, arq in enumerate(self.arqs):
            wiring.connect(m, wiring.flipped(self.bus(t)), arq.bus)
            m.d.comb += [arq.rx.payload.eq(self.rx.payload),
                         arq.rx.valid.eq(self.rx.valid & (pkt.tag == t))]
            with m.If(pkt.tag == t):
                m.d.comb += self.rx.ready.eq(arq.rx.ready)
        with m.If(self.rx.valid & bad_tag):
            m.d.sync += self.rx_bad_tag.eq(self.rx_bad_tag + 1)

        # -- counters ------------------------------------------------------------------------------
        for name in ("bus_errors", "rx_dropped", "retransmissions"):
            per_tag = [getattr(arq, name) for arq in self.arqs]
            for t, sig in enumerate(per_tag):
                m.d.comb += getattr(self, f"{name}{t}").eq(sig)
            m.d.comb += getattr(self, name).eq(per_tag[0] + per_tag[1])

        # -- round-robin arbiter -------------------------------------------------------------------
        prefer1 = Signal()      # tag 1 goes first when both wait
        locked = Signal()       # last cycle offered a packet that was not taken
        locked_sel = Signal()
        sel = Signal()
        pick1 = arq1.tx.valid & (~arq0.tx.valid | prefer1)
        m.d.comb += sel.eq(Mux(locked, locked_sel, pick1))
        m.d.comb += [
            self.tx.valid.eq(Mux(sel, arq1.tx.valid, arq0.tx.valid)),
            self.tx.payload.eq(Mux(sel, arq1.tx.payload, arq0.tx.payload)),
            arq0.tx.ready.eq(self.tx.ready & ~sel),
            arq1.tx.ready.eq(self.tx.ready & sel),
        ]
        m.d.sync += [locked.eq(self.tx.valid & ~self.tx.ready), locked_sel.eq(sel)]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += prefer1.eq(~sel)
        return m
