"""Chip-side ARQ of one configuration tag (spec hicann-digital.md §9.1; packet spacing §6.6).

The HICANN has one hardware ARQ endpoint per configuration tag. :class:`ConfigArq` is that endpoint:
a go-back-N sliding-window protocol over the 64-entry sequence space with a window of 16, which
turns the packet stream from the FPGA (or JTAG) into transactions on one OCP-like bus master
(:mod:`bss1.rtl.bus`, absolute 16-bit addresses) and read results back into packets. Packet
conventions are those of :mod:`bss1.rtl.config.packet`.

Receiver
    Request packets (``seq_valid`` = 1) are accepted strictly in order: only ``seq`` equal to the
    expected sequence number is executed, so every request runs exactly once and in issue order.
    Out-of-order and duplicate requests are dropped (counted in ``rx_dropped``) and answered with
    a fresh acknowledgement. A read request that finds the retransmit buffer full is dropped the
    same way (and counted); the host retransmits it later.
Acknowledgements
    Every chip->host packet carries ``ack`` = the sequence number of the next request the chip
    expects. A read answers with its response packet (the ack piggybacks on it); a write or a
    dropped request sets an "ack owed" flag that sends one ack-only packet (``seq_valid`` = 0) at
    the next opportunity. Several owed acks coalesce into one when the output is stalled.
Sender
    Each read yields a response (own sequence number, address, read data) kept in a 16-entry
    retransmit buffer until the host acknowledges it (the ``ack`` field of any host packet,
    including ack-only ones). If the oldest unacknowledged response sees no acknowledgement
    progress for ``timeout`` cycles, all unacknowledged responses are sent again (go-back-N;
    ``retransmissions`` counts these rounds).
Bus errors
    A transaction answered with ``err`` counts in ``bus_errors``; an erroneous read still gets its
    response, with data 0, so every read is answered.

Timing (core clock, slave answering one cycle after ``stb``): a request is taken in cycle ``c``,
``stb`` is high from ``c + 1`` until the slave's ``ack``; the next request can be taken in the
cycle after that ``ack`` (3 cycles per request with a one-cycle slave, which respects the >= 2
cycles packet spacing of §6.6). The resulting packet (response or ack-only) is loaded into the
output register in that same cycle and is offered on ``tx`` one cycle later. Dropped requests take
one cycle; their ack-only packet is offered two cycles after the drop.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..bus import BusSignature
from ..registers import CONFIG_PACKET
from .packet import N_TAGS, PACKET_BITS, SEQ_MODULUS, WINDOW

__all__ = ["ConfigArq", "TIMEOUT_DEFAULT", "TIMEOUT_MAX"]

TIMEOUT_DEFAULT = 2000
TIMEOUT_MAX = (1 << 24) - 1

_SEQ_BITS = (SEQ_MODULUS - 1).bit_length()
_WIN_BITS = (WINDOW - 1).bit_length()
# One retransmit-buffer entry: what a response needs beyond the sequence numbers.
_ENTRY = data.StructLayout({"data": CONFIG_PACKET.field("data").width,
                            "addr": CONFIG_PACKET.field("addr").width})


class ConfigArq(wiring.Component):
    """ARQ endpoint for one configuration tag.

    Parameters
    ----------
    tag : int
        0 or 1; written into every outgoing packet. Incoming packets are not checked for it
        (:class:`~bss1.rtl.config.interface.ConfigInterface` demultiplexes by tag).
    timeout : int
        Retransmission timeout in core cycles (1..2**24-1).
    counter_width : int
        Width of the wrapping status counters.

    Members
    -------
    rx : In(stream.Signature(64))
        Packets from the host.
    tx : Out(stream.Signature(64))
        Packets to the host (registered; payload stable while ``valid`` and not ``ready``).
    bus : Out(BusSignature())
        Configuration bus master, absolute addresses.
    bus_errors, rx_dropped, retransmissions : Out(counter_width)
        Status counters.
    """

    def __init__(self, tag: int = 0, *, timeout: int = TIMEOUT_DEFAULT, counter_width: int = 16):
        if not isinstance(tag, int) or not 0 <= tag < N_TAGS:
            raise ValueError(f"tag {tag!r} out of range 0..{N_TAGS - 1}")
        if not isinstance(timeout, int) or not 1 <= timeout <= TIMEOUT_MAX:
            raise ValueError(f"timeout {timeout!r} out of range 1..{TIMEOUT_MAX}")
        if not isinstance(counter_width, int) or not 1 <= counter_width <= 64:
            raise ValueError(f"counter_width {counter_width!r} out of range 1..64")
        self.tag = tag
        self.timeout = timeout
        super().__init__({
            "rx": In(stream.Signature(PACKET_BITS)),
            "tx": Out(stream.Signature(PACKET_BITS)),
            "bus": Out(BusSignature()),
            "bus_errors": Out(counter_width),
            "rx_dropped": Out(counter_width),
            "retransmissions": Out(counter_width),
        })

    def elaborate(self, platform):
        m = Module()
        pkt = data.View(CONFIG_PACKET.layout, self.rx.payload)

        rx_expected = Signal(_SEQ_BITS)   # next request sequence number we accept
        tx_base = Signal(_SEQ_BITS)       # oldest unacknowledged response
        tx_next = Signal(_SEQ_BITS)       # sequence number of the next new response
        tx_send = Signal(_SEQ_BITS)       # next response to put on tx
        ack_owed = Signal()
        busy = Signal()                   # a bus transaction is in flight
        timer = Signal(range(self.timeout))

        m.submodules.retransmit = mem = Memory(shape=_ENTRY, depth=WINDOW, init=[])
        wport = mem.write_port()
        rport = mem.read_port(domain="comb")

        # -- receive: host acknowledgement ---------------------------------------------------------
        rx_fire = Signal()
        m.d.comb += [self.rx.ready.eq(~busy), rx_fire.eq(self.rx.valid & ~busy)]
        outstanding = (tx_next - tx_base)[:_SEQ_BITS]
        advance = (pkt.ack - tx_base)[:_SEQ_BITS]
        ack_ok = Signal()
        # A cumulative ack is valid if it lies in (tx_base, tx_next]; stale ones are ignored.
        m.d.comb += ack_ok.eq(rx_fire & (advance != 0) & (advance <= outstanding))
        with m.If(ack_ok):
            m.d.sync += tx_base.eq(pkt.ack)
        # Buffer room after applying this packet's ack.
        base_after = Signal(_SEQ_BITS)
        m.d.comb += base_after.eq(tx_base)
        with m.If(ack_ok):
            m.d.comb += base_after.eq(pkt.ack)
        room = (tx_next - base_after)[:_SEQ_BITS] < WINDOW

        # -- receive: request ---------------------------------------------------------------------
        accept = Signal()
        drop = Signal()
        m.d.comb += [
            accept.eq(rx_fire & pkt.seq_valid & (pkt.seq == rx_expected) & (pkt.write | room)),
            drop.eq(rx_fire & pkt.seq_valid & ~accept),
        ]
        with m.If(accept):
            m.d.sync += [
                busy.eq(1), self.bus.stb.eq(1), self.bus.we.eq(pkt.write),
                self.bus.addr.eq(pkt.addr), self.bus.wdata.eq(pkt.data),
                rx_expected.eq(rx_expected + 1),
            ]
        with m.If(drop):
            m.d.sync += self.rx_dropped.eq(self.rx_dropped + 1)

        # -- bus completion ------------------------------------------------------------------------
        done = Signal()
        m.d.comb += done.eq(busy & self.bus.ack)
        with m.If(done):
            m.d.sync += [busy.eq(0), self.bus.stb.eq(0)]
            with m.If(self.bus.err):
                m.d.sync += self.bus_errors.eq(self.bus_errors + 1)
            with m.If(~self.bus.we):
                m.d.comb += [
                    wport.en.eq(1), wport.addr.eq(tx_next[:_WIN_BITS]),
                    wport.data.addr.eq(self.bus.addr),
                    wport.data.data.eq(self.bus.rdata & ~self.bus.err.replicate(32)),
                ]
                m.d.sync += tx_next.eq(tx_next + 1)

        # -- transmit: output register ------------------------------------------------------------
        out_valid = Signal()
        out = Signal(PACKET_BITS)
        outv = data.View(CONFIG_PACKET.layout, out)
        m.d.comb += [self.tx.valid.eq(out_valid), self.tx.payload.eq(out),
                     rport.addr.eq(tx_send[:_WIN_BITS])]
        with m.If(~out_valid | self.tx.ready):
            with m.If(tx_send != tx_next):
                m.d.sync += [
                    out_valid.eq(1), outv.tag.eq(self.tag), outv.seq_valid.eq(1),
                    outv.seq.eq(tx_send), outv.ack.eq(rx_expected), outv.write.eq(0),
                    outv.addr.eq(rport.data.addr), outv.data.eq(rport.data.data),
                    tx_send.eq(tx_send + 1), ack_owed.eq(0),
                ]
            with m.Elif(ack_owed):
                m.d.sync += [
                    out_valid.eq(1), outv.tag.eq(self.tag), outv.seq_valid.eq(0), outv.seq.eq(0),
                    outv.ack.eq(rx_expected), outv.write.eq(0), outv.addr.eq(0), outv.data.eq(0),
                    ack_owed.eq(0),
                ]
            with m.Else():
                m.d.sync += out_valid.eq(0)
        # Set after the clear above: an event in the loading cycle still gets its own ack.
        with m.If(drop | (done & self.bus.we)):
            m.d.sync += ack_owed.eq(1)

        # -- retransmission ------------------------------------------------------------------------
        # An ack past the send pointer (host got a response we were about to resend) moves it on.
        with m.If(ack_ok & ((tx_send - tx_base)[:_SEQ_BITS] < advance)):
            m.d.sync += tx_send.eq(pkt.ack)
        with m.If(ack_ok | (outstanding == 0)):
            m.d.sync += timer.eq(0)
        with m.Elif(timer == self.timeout - 1):
            m.d.sync += [timer.eq(0), tx_send.eq(tx_base),
                         self.retransmissions.eq(self.retransmissions + 1)]
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        return m
