"""The wafer-module FPGA's playback release scheduler: gateware and its cycle twin (spec
host-stack.md §0 clock domains, §2.3 playback program, §2.8 experiment start, §2.9 labels).

Runs in the FPGA clock domain (125 MHz, 8 ns = 2 DNC cycles). ``program`` delivers the 64-bit
program words (entry 2k = bits 31:0, as :func:`bss1.firmware.formats.encode_playback` writes them);
the scheduler takes at most one 32-bit entry per clock and fetches ahead while it waits, so a
program loaded before ``start`` is released on time from FPGA time 0.

Release semantics (the same reconstruction as :func:`~bss1.firmware.formats.decode_playback`):
the FPGA time ``time`` is 0 in the cycle after ``start`` and counts one per clock. After an item
ending at ``last`` (the release time of a group's last pulse, or a config item's time; 0 at the
start) the next item is due at the first time >= ``earliest`` whose 14 LSBs equal the header's
release field, where ``earliest = last``, or after an overflow wait of n wraps
``((last >> 14) + n + late) << 14`` (late = 1 if ``last`` is in the final 4 clocks of a counter
period). A group's pulses leave one per clock from its due time on: ``pulse`` is valid in the
cycle in which ``time`` equals the pulse's release time. A pulse whose entry is not there in time
(program starved, or groups closer than the 6-clock gap the host keeps) leaves as soon as it is,
and is counted in ``late``; later items keep their planned times.

FPGA config items (header bit 16, payload bit 63) act at their due time: one-cycle strobes
``stop_trace`` and ``start_trace_read`` and the level ``block_trace``; with the end-of-program
marker (bit 62) the scheduler stops (``done``). HICANN config items (bit 63 clear) are skipped;
HALbe never writes them. A group header with count 0 is skipped.

:class:`PlaybackModel` is the cycle-identical twin; :func:`play` runs it over a whole program.
"""

import enum

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .formats import PB_CONFIG, PB_HEADER, PB_OVERFLOW, PB_PULSE

__all__ = ["Playback", "PlaybackModel", "PlaybackState", "FpgaPulse", "play",
           "TIME_BITS", "WRAP_BITS"]

#: A pulse towards the HICANN links: bits [23:0] are the DNC -> HICANN pulse of
#: hicann-digital §8.3 (label bits [8:0] = {HW channel, L1 address}); bits [11:9] of the label
#: select the HICANN link, [13:12] the DNC.
FpgaPulse = data.StructLayout({"timestamp": 15, "label": 14})
TIME_BITS = 32          # FPGA time counter (absolute; the hardware compares 14 LSBs)
WRAP_BITS = 14          # playback counter period 2^14 FPGA cycles (131.072 us)
_WRAP = 1 << WRAP_BITS
_LATE_FROM = _WRAP - 4  # a wait issued in the last 4 clocks of a period counts from the next one


class PlaybackState(enum.IntEnum):
    FETCH = 0           # take the next item's first entry
    PULSE = 1           # release the group's pulses
    PAD = 2             # skip the filler entry after a group with an odd entry count
    SKIP = 3            # skip the 0 entry after an overflow wait
    CFG0 = 4            # skip the 0 entry of a config item
    CFG_LO = 5          # config payload bits 31:0
    CFG_HI = 6          # config payload bits 63:32
    CFG_WAIT = 7        # wait for the config item's time
    DONE = 8


class Playback(wiring.Component):
    """Playback release scheduler (FPGA clock domain ``sync``; rename it with DomainRenamer).

    Members
    -------
    program : In(stream.Signature(64))
        Program words.
    start : In(1)
        Experiment start: ``time`` = 0 in the next cycle, releases begin.
    pulse : Out(stream.Signature(FpgaPulse))
        Towards the HICANN links; a pulse held by ``ready`` = 0 past its time is late.
    time : Out(32); running, done : Out(1)
    stop_trace, start_trace_read : Out(1)
        One-cycle strobes of FPGA config items.
    block_trace : Out(1)
    late : Out(16)
        Pulses released after their release time (wrapping).
    state : Out(4)
    """

    program: In(stream.Signature(64))
    start: In(1)
    pulse: Out(stream.Signature(FpgaPulse))
    time: Out(TIME_BITS)
    running: Out(1)
    done: Out(1)
    stop_trace: Out(1)
    start_trace_read: Out(1)
    block_trace: Out(1)
    late: Out(16)
    state: Out(4)

    def elaborate(self, platform):
        m = Module()
        S = PlaybackState
        state = Signal(4)
        t = Signal(TIME_BITS)
        running = Signal()
        due = Signal(TIME_BITS)
        last = Signal(TIME_BITS)
        earliest = Signal(TIME_BITS)
        remaining = Signal(14)
        pad = Signal()
        cfg_word = Signal(64)
        block = Signal()
        late = Signal(16)
        hi = Signal(32)
        hi_valid = Signal()

        # -- entry fetch: one 32-bit entry per clock, low half first --------------------------------
        entry = Signal(32)
        entry_valid = Signal()
        want = Signal()
        take = Signal()
        m.d.comb += [
            entry.eq(Mux(hi_valid, hi, self.program.payload[:32])),
            entry_valid.eq(hi_valid | self.program.valid),
            take.eq(want & entry_valid),
            self.program.ready.eq(take & ~hi_valid),
        ]
        with m.If(take):
            with m.If(hi_valid):
                m.d.sync += hi_valid.eq(0)
            with m.Else():
                m.d.sync += [hi.eq(self.program.payload[32:]), hi_valid.eq(1)]

        # -- time -----------------------------------------------------------------------------------
        with m.If(self.start):
            m.d.sync += [running.eq(1), t.eq(0)]
        with m.Elif(running):
            m.d.sync += t.eq(t + 1)
        reached = Signal()
        m.d.comb += reached.eq(running & (t >= due))

        hdr = data.View(PB_HEADER.layout, entry)
        pls = data.View(PB_PULSE.layout, entry)
        ovf = data.View(PB_OVERFLOW.layout, entry)
        cfg = data.View(PB_CONFIG.layout, cfg_word)
        late_bump = Signal(TIME_BITS)
        m.d.comb += late_bump.eq(Mux(last[:WRAP_BITS] >= _LATE_FROM, 1, 0))
        target = Signal(TIME_BITS)
        offset = Signal(WRAP_BITS)
        m.d.comb += [offset.eq(hdr.time - earliest[:WRAP_BITS]), target.eq(earliest + offset)]

        with m.Switch(state):
            with m.Case(S.FETCH):
                m.d.comb += want.eq(1)
                with m.If(take):
                    with m.If(entry[0]):
                        m.d.sync += [earliest.eq(((last >> WRAP_BITS) + late_bump + ovf.wraps)
                                                 << WRAP_BITS),
                                     state.eq(S.SKIP)]
                    with m.Else():
                        m.d.sync += due.eq(target)
                        with m.If(hdr.config):
                            m.d.sync += state.eq(S.CFG0)
                        with m.Elif(hdr.count == 0):
                            m.d.sync += state.eq(S.PAD)
                        with m.Else():
                            m.d.sync += [remaining.eq(hdr.count), pad.eq(~hdr.count[0]),
                                         state.eq(S.PULSE)]
            with m.Case(S.PULSE):
                m.d.comb += [self.pulse.valid.eq(reached & entry_valid),
                             want.eq(reached & self.pulse.ready),
                             self.pulse.payload.label.eq(pls.label),
                             self.pulse.payload.timestamp.eq(pls.timestamp)]
                with m.If(take):
                    m.d.sync += [last.eq(due), due.eq(due + 1), remaining.eq(remaining - 1)]
                    with m.If(t > due):
                        m.d.sync += late.eq(late + 1)
                    with m.If(remaining == 1):
                        m.d.sync += [earliest.eq(due), state.eq(Mux(pad, S.PAD, S.FETCH))]
            with m.Case(S.PAD, S.SKIP):
                m.d.comb += want.eq(1)
                with m.If(take):
                    m.d.sync += state.eq(S.FETCH)
            with m.Case(S.CFG0):
                m.d.comb += want.eq(1)
                with m.If(take):
                    m.d.sync += state.eq(S.CFG_LO)
            with m.Case(S.CFG_LO):
                m.d.comb += want.eq(1)
                with m.If(take):
                    m.d.sync += [cfg_word[:32].eq(entry), state.eq(S.CFG_HI)]
            with m.Case(S.CFG_HI):
                m.d.comb += want.eq(1)
                with m.If(take):
                    m.d.sync += [cfg_word[32:].eq(entry), state.eq(S.CFG_WAIT)]
            with m.Case(S.CFG_WAIT):
                with m.If(reached):
                    m.d.sync += [last.eq(due), earliest.eq(due)]
                    with m.If(cfg.fpga_config):
                        m.d.comb += [self.stop_trace.eq(cfg.stop_trace),
                                     self.start_trace_read.eq(cfg.start_trace_read)]
                        m.d.sync += block.eq(cfg.block_trace)
                    m.d.sync += state.eq(Mux(cfg.fpga_config & cfg.end, S.DONE, S.FETCH))

        m.d.comb += [
            self.time.eq(t), self.running.eq(running), self.done.eq(state == S.DONE),
            self.block_trace.eq(block), self.late.eq(late), self.state.eq(state),
        ]
        return m


class PlaybackModel:
    """Cycle twin of :class:`Playback`. ``step(word, start)`` is one FPGA clock: ``word`` is the
    program word offered this cycle (None: no word valid). Returns the cycle's outputs
    ``{"ready", "pulse": (label, timestamp) offered or None, "pulse_taken", "stop_trace",
    "start_trace_read", "block_trace", "done", "time", "running", "late", "config"}`` and then
    advances the state
    (``config``: ``(stop_trace, start_trace_read, block_trace)`` of an FPGA config item applied
    in this cycle, else None)."""

    def __init__(self):
        self.state = PlaybackState.FETCH
        self.time = 0
        self.running = False
        self.due = self.last = self.earliest = 0
        self.remaining = 0
        self.pad = False
        self.cfg = 0
        self.block = False
        self.late = 0
        self.hi: int | None = None
        self.stop_trace = self.start_trace_read = False

    def _want(self, pulse_ready: bool = True) -> bool:
        S = PlaybackState
        if self.state == S.PULSE:
            return self.running and self.time >= self.due and pulse_ready
        return self.state in (S.FETCH, S.PAD, S.SKIP, S.CFG0, S.CFG_LO, S.CFG_HI)

    def step(self, word: int | None = None, start: bool = False,
             pulse_ready: bool = True) -> dict:
        if word is not None and not (isinstance(word, int) and 0 <= word < 1 << 64):
            raise ValueError(f"program word {word!r} out of range 0..0xffffffffffffffff")
        S = PlaybackState
        entry = self.hi if self.hi is not None else (word & 0xFFFFFFFF if word is not None
                                                     else None)
        take = self._want(bool(pulse_ready)) and entry is not None
        ready = take and self.hi is None
        reached = self.running and self.time >= self.due
        offered = self.state == S.PULSE and reached and entry is not None
        out = {"ready": ready, "pulse": None, "pulse_taken": False, "stop_trace": False,
               "start_trace_read": False, "block_trace": self.block,
               "done": self.state == S.DONE, "time": self.time, "running": self.running,
               "late": self.late, "config": None}
        if offered:
            p = PB_PULSE.decode(entry)
            out["pulse"] = (p["label"], p["timestamp"])
        st = self.state
        if take:
            self.hi = None if self.hi is not None else word >> 32
        if st == S.FETCH and take:
            if entry & 1:
                n = PB_OVERFLOW.decode(entry)["wraps"]
                bump = 1 if self.last % _WRAP >= _LATE_FROM else 0
                self.earliest = ((self.last >> WRAP_BITS) + bump + n) << WRAP_BITS
                self.state = S.SKIP
            else:
                h = PB_HEADER.decode(entry)
                self.due = self.earliest + (h["time"] - self.earliest) % _WRAP
                if h["config"]:
                    self.state = S.CFG0
                elif h["count"] == 0:
                    self.state = S.PAD
                else:
                    self.remaining, self.pad = h["count"], h["count"] % 2 == 0
                    self.state = S.PULSE
        elif st == S.PULSE and take:
            out["pulse_taken"] = True
            if self.time > self.due:
                self.late = (self.late + 1) & 0xFFFF
            self.last = self.due
            self.due += 1
            self.remaining -= 1
            if self.remaining == 0:
                self.earliest = self.last
                self.state = S.PAD if self.pad else S.FETCH
        elif st in (S.PAD, S.SKIP) and take:
            self.state = S.FETCH
        elif st == S.CFG0 and take:
            self.state = S.CFG_LO
        elif st == S.CFG_LO and take:
            self.cfg = entry
            self.state = S.CFG_HI
        elif st == S.CFG_HI and take:
            self.cfg |= entry << 32
            self.state = S.CFG_WAIT
        elif st == S.CFG_WAIT and reached:
            self.last = self.earliest = self.due
            c = PB_CONFIG.decode(self.cfg & ((1 << 64) - 1))
            # fields outside the declared ones are ignored, as the gateware does
            if c["fpga_config"]:
                out["stop_trace"] = bool(c["stop_trace"])
                out["start_trace_read"] = bool(c["start_trace_read"])
                self.block = bool(c["block_trace"])
                out["config"] = (out["stop_trace"], out["start_trace_read"], self.block)
            self.state = S.DONE if c["fpga_config"] and c["end"] else S.FETCH
        if start:
            self.running, self.time = True, 0
        elif self.running:
            self.time = (self.time + 1) % (1 << TIME_BITS)
        return out


def play(words, *, prefetch: int = 8, max_time: int = 1 << 30) -> dict:
    """Run :class:`PlaybackModel` over a whole program: words are offered whenever taken,
    ``start`` comes after ``prefetch`` clocks. Returns ``{"pulses": [(time, label, timestamp)],
    "config": [(time, stop_trace, start_trace_read, block_trace)], "end": time, "late": n}``
    (times = FPGA time). Waits are skipped in one step (same result as clocking through them).
    Raises ``ValueError`` if the program ends without end marker or runs past ``max_time``."""
    words = list(words)
    mdl = PlaybackModel()
    k = 0
    pulses, config = [], []
    for cycle in range(prefetch + 1):
        out = mdl.step(words[k] if k < len(words) else None, start=cycle == prefetch)
        k += out["ready"]
    while mdl.state != PlaybackState.DONE:
        if mdl.time > max_time:
            raise ValueError(f"playback time {mdl.time} out of range 0..{max_time}")
        if mdl.state in (PlaybackState.PULSE, PlaybackState.CFG_WAIT) and mdl.time < mdl.due:
            mdl.time = mdl.due          # nothing happens while the scheduler waits
        word = words[k] if k < len(words) else None
        if word is None and mdl.hi is None and mdl._want():
            raise ValueError(f"playback program of {len(words)} words ends without an "
                             f"end-of-program marker")
        t = mdl.time
        out = mdl.step(word)
        k += out["ready"]
        if out["pulse_taken"]:
            pulses.append((t, *out["pulse"]))
        if out["config"] is not None:
            config.append((t, *out["config"]))
    return {"pulses": pulses, "config": config, "end": mdl.last, "late": mdl.late}
