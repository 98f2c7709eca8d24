"""The wafer-module FPGA's trace recorder: gateware and its cycle twin (spec host-stack.md §2.4
trace format, §2.8 experiment start, §0 clock domains; hicann-digital.md §8.3 "FPGA trace entry").

Runs in the FPGA clock domain (125 MHz). ``systime`` counts DNC cycles (4 ns), two per FPGA clock,
from 0 in the cycle after ``start``. Pulses from the HICANN links arrive on ``pulse_in``
(:data:`TraceInput` = {timestamp 15, label 12}; bits [23:0] are the HICANN -> DNC pulse of §8.3
with the HICANN link number added in label bits [11:9]). An accepted pulse becomes the trace
entry {timestamp, label, fpga_msb = bit 14 of ``systime`` at acceptance}; two entries fill one
64-bit word (first = bits 31:0) on ``word`` (``word_valid``).

Wraps: when ``systime`` reaches a multiple of 2^15 an overflow is pending; before any further
pulse the recorder completes a half-filled word with an empty entry (one clock, ``pulse_in`` not
ready) and writes the word {empty, overflow(running count)} (one clock; a pulse may be accepted
in that clock). This is :func:`bss1.firmware.formats.encode_trace` with ``until`` = the systime
at which recording stopped, word for word.

``stop`` (the playback's stop-trace strobe) ends recording: pending overflows are written, a
half-filled word is completed with an empty entry, then the end-of-trace word
:data:`~bss1.firmware.formats.TRACE_END_WORD` follows, one word per clock, and ``done`` rises.
While not recording (before ``start``, after ``stop``) and while ``block`` is high, pulses are
accepted and discarded. ``word`` has no back-pressure (the trace memory takes a word per clock).

:class:`TraceModel` is the cycle-identical twin.
"""

import enum

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .formats import TRACE_EMPTY_ENTRY, TRACE_END_WORD, TRACE_OVERFLOW, TRACE_PULSE, TracePulse

__all__ = ["TraceRecorder", "TraceModel", "TraceState", "TraceInput", "SYSTIME_PER_CLOCK"]

TraceInput = data.StructLayout({"timestamp": 15, "label": 12})
SYSTIME_PER_CLOCK = 2           # DNC cycles (4 ns) per FPGA clock (8 ns)
_TS_WRAP = 1 << 15
_SYSTIME_BITS = 32


class TraceState(enum.IntEnum):
    IDLE = 0
    RECORD = 1
    FLUSH = 2
    DONE = 3


class TraceRecorder(wiring.Component):
    """Trace recorder (FPGA clock domain ``sync``; rename it with DomainRenamer).

    Members
    -------
    pulse_in : In(stream.Signature(TraceInput))
    start, stop, block : In(1)
    word, word_valid : Out(64), Out(1)
        Trace words towards the trace memory (no back-pressure).
    systime : Out(32)
        DNC cycles since ``start``.
    overflows : Out(31)
        Overflow entries written.
    state : Out(2); done : Out(1)
    """

    pulse_in: In(stream.Signature(TraceInput))
    start: In(1)
    stop: In(1)
    block: In(1)
    word: Out(64)
    word_valid: Out(1)
    systime: Out(_SYSTIME_BITS)
    overflows: Out(31)
    state: Out(2)
    done: Out(1)

    def elaborate(self, platform):
        m = Module()
        S = TraceState
        state = Signal(2)
        systime = Signal(_SYSTIME_BITS)
        half = Signal(32)
        half_valid = Signal()
        ov = Signal(31)
        ov_pending = Signal()

        pulse = Signal(TRACE_PULSE.layout)
        ov_entry = Signal(TRACE_OVERFLOW.layout)
        m.d.comb += [
            pulse.timestamp.eq(self.pulse_in.payload.timestamp),
            pulse.label.eq(self.pulse_in.payload.label),
            pulse.fpga_msb.eq(systime[14]),
            ov_entry.count.eq(ov + 1),
            ov_entry.overflow.eq(1),
        ]
        empty = Const(TRACE_EMPTY_ENTRY, 32)
        pad_word = Signal(64)
        ov_word = Signal(64)
        pair_word = Signal(64)
        m.d.comb += [pad_word.eq(Cat(half, empty)), ov_word.eq(Cat(empty, ov_entry)),
                     pair_word.eq(Cat(half, pulse))]
        accept = Signal()
        m.d.comb += accept.eq(self.pulse_in.valid & self.pulse_in.ready)
        record = Signal()       # accept writes an entry

        def emit(word):
            m.d.comb += [self.word_valid.eq(1), self.word.eq(word)]

        with m.Switch(state):
            with m.Case(S.RECORD):
                next_time = Signal(_SYSTIME_BITS)
                m.d.comb += next_time.eq(systime + SYSTIME_PER_CLOCK)
                m.d.sync += systime.eq(next_time)
                with m.If(ov_pending & half_valid):
                    emit(pad_word)
                    m.d.sync += half_valid.eq(0)
                with m.Elif(ov_pending):
                    emit(ov_word)
                    m.d.sync += [ov.eq(ov + 1), ov_pending.eq(0)]
                    m.d.comb += [self.pulse_in.ready.eq(1), record.eq(accept & ~self.block)]
                    with m.If(record):
                        m.d.sync += [half.eq(pulse), half_valid.eq(1)]
                with m.Else():
                    m.d.comb += [self.pulse_in.ready.eq(1), record.eq(accept & ~self.block)]
                    with m.If(record & half_valid):
                        emit(pair_word)
                        m.d.sync += half_valid.eq(0)
                    with m.Elif(record):
                        m.d.sync += [half.eq(pulse), half_valid.eq(1)]
                with m.If(next_time[:15] == 0):
                    m.d.sync += ov_pending.eq(1)
                with m.If(self.stop):
                    m.d.sync += state.eq(S.FLUSH)
            with m.Case(S.FLUSH):
                m.d.comb += self.pulse_in.ready.eq(1)
                with m.If(ov_pending & half_valid):
                    emit(pad_word)
                    m.d.sync += half_valid.eq(0)
                with m.Elif(ov_pending):
                    emit(ov_word)
                    m.d.sync += [ov.eq(ov + 1), ov_pending.eq(0)]
                with m.Elif(half_valid):
                    emit(pad_word)
                    m.d.sync += half_valid.eq(0)
                with m.Else():
                    emit(Const(TRACE_END_WORD, 64))
                    m.d.sync += state.eq(S.DONE)
            with m.Default():
                m.d.comb += self.pulse_in.ready.eq(1)
        with m.If(self.start):
            m.d.sync += [state.eq(S.RECORD), systime.eq(0), ov.eq(0), ov_pending.eq(0),
                         half_valid.eq(0)]

        m.d.comb += [self.systime.eq(systime), self.overflows.eq(ov), self.state.eq(state),
                     self.done.eq(state == S.DONE)]
        return m


class TraceModel:
    """Cycle twin of :class:`TraceRecorder`. ``step(pulse, start, stop, block)`` is one FPGA
    clock; ``pulse`` = ``(label, timestamp)`` offered this cycle or None. Returns ``{"ready",
    "word" (int or None), "accepted", "recorded"}`` and advances the state (``systime`` is the
    attribute; it stamps a pulse accepted in the cycle)."""

    def __init__(self):
        self.state = TraceState.IDLE
        self.systime = 0
        self.half: int | None = None
        self.ov = 0
        self.ov_pending = False

    def _ov_word(self) -> int:
        return TRACE_EMPTY_ENTRY | TRACE_OVERFLOW.encode(overflow=1, count=self.ov + 1) << 32

    def step(self, pulse: tuple[int, int] | None = None, start: bool = False,
             stop: bool = False, block: bool = False) -> dict:
        if pulse is not None:
            label, ts = pulse
            entry = TracePulse(label, ts, (self.systime >> 14) & 1).entry
        S = TraceState
        word, ready, record = None, True, False
        if self.state == S.RECORD:
            nxt = self.systime + SYSTIME_PER_CLOCK
            if self.ov_pending and self.half is not None:
                word, self.half, ready = self.half | TRACE_EMPTY_ENTRY << 32, None, False
            elif self.ov_pending:
                word = self._ov_word()
                self.ov, self.ov_pending = self.ov + 1, False
                record = pulse is not None and not block
                if record:
                    self.half = entry
            else:
                record = pulse is not None and not block
                if record and self.half is not None:
                    word, self.half = self.half | entry << 32, None
                elif record:
                    self.half = entry
            self.systime = nxt
            if nxt % _TS_WRAP == 0:
                self.ov_pending = True
            if stop:
                self.state = S.FLUSH
        elif self.state == S.FLUSH:
            if self.ov_pending and self.half is not None:
                word, self.half = self.half | TRACE_EMPTY_ENTRY << 32, None
            elif self.ov_pending:
                word = self._ov_word()
                self.ov, self.ov_pending = self.ov + 1, False
            elif self.half is not None:
                word, self.half = self.half | TRACE_EMPTY_ENTRY << 32, None
            else:
                word, self.state = TRACE_END_WORD, S.DONE
        if start:
            self.state, self.systime, self.ov, self.ov_pending, self.half = S.RECORD, 0, 0, \
                False, None
        return {"ready": ready, "word": word, "accepted": ready and pulse is not None,
                "recorded": record}
