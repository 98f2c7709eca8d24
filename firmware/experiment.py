"""Experiment side of the emulated FPGA: playback memory, layer-2 time keeping, trace recording.

Spec: spec/host-stack.md §2.2 (FPGACONFIG trigger), §2.3 (playback program, buffering
acknowledgement, address filter), §2.4 (trace), §2.8 (experiment start at the next FPGA counter
wrap), §2.9 (pulse labels, measured loopback delay); spec/hicann-digital.md §8.2 (GbitLink
register), §8.4 (timestamps and release buffers), §11 (clocks).

* :class:`HicannL2Port` keeps time between one :class:`~bss1.models.hicann.HicannModel` (core
  clock, ``pll_mhz``) and the FPGA's 250 MHz system time (4 ns "DNC cycles"; one FPGA cycle = 2 of
  them): :meth:`~HicannL2Port.deliver` takes a pulse leaving the FPGA,
  :meth:`~HicannL2Port.advance_to` clocks the chip and returns the events it sends towards the
  FPGA. Everything on the chip side is the model's DNC interface twin (:attr:`HicannModel.dnc
  <bss1.models.hicann.HicannModel.dnc>`, spec §8): the GbitLink register (written through the
  ordinary configuration path), channel directions, release buffers, timestamps and loss counters.
* :class:`PlaybackMemory` collects FPGAPLAYBACK frames until the program's end marker and answers
  with the end address (the buffering acknowledgement of §2.3).
* :func:`run_experiment` plays a program into the ports and records the trace.

Time mapping (choices, each tested):

* Core cycle k of a port starts at system time ``origin + floor((k - k0) * 250 / pll_mhz)``; a
  system time s falls into the first cycle starting at or after s. :meth:`HicannL2Port.rebase`
  loads the chip's 15-bit system-time counter with the FPGA's (the synchronous "reset all time
  counters" + start of §2.8), so chip timestamps and FPGA times agree modulo 2^15.
* FPGA -> HICANN: a pulse leaving the FPGA at system time s arrives at ``s + down_delay`` and is
  put on the chip's ``l2_in`` in the first cycle starting at or after its arrival; the link
  carries one pulse per core cycle, so pulses arriving in the same cycle queue up in order. The
  DNC interface then rejects it (channel not TO_HICANN), passes it straight into DNC merger c
  (``timestamp_enable`` off) or holds it in a release buffer until its timestamp (§8.4).
* ``down_delay`` = :data:`L2_DOWN_DELAY` = 61 system-time cycles: with the DNC-merger loopback
  (pass-through ``l2_in`` -> DNC merger -> pair channel's output register, where the DNC
  interface stamps it: 4 core cycles at 100 MHz = 10 system-time cycles) the loop "traced time -
  sent time" is 71 - 2 * fpga_hicann_delay, the measurement of §2.9 (71 DNC clocks at PLL
  100 MHz). With ``timestamp_enable`` the pulse waits for its timestamp instead and the loop
  takes timestamp + 10 regardless of the link delays.
* HICANN -> FPGA: the DNC interface stamps an event of a TO_DNC channel with the 15-bit system
  time of its DNC-merger output cycle and offers it on ``l2_out`` (one per cycle, always taken);
  it reaches the FPGA ``up_delay`` (= :data:`L2_UP_DELAY`, taken equal to the downward delay)
  after the cycle it was taken in. The FPGA records its arrival; the absolute stamp is the latest
  system time at or before the sending cycle with the pulse's 15 timestamp bits.
* The HICANN models are clocked only while an experiment runs (virtual time; nothing happens on the
  chips between experiments): each port is rebased to the experiment start, and pulses still on
  the link at the end of the previous experiment are discarded (the chip keeps its state).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from typing import Iterable

from ..models.hicann import HicannModel
from .formats import (PB_HEADER, FormatError, FpgaConfigItem, OverflowWait, PulseGroup,
                      decode_playback, encode_trace)

__all__ = ["SYSTIME_PER_FPGA_CYCLE", "FPGA_COUNTER_WRAP", "TIMESTAMP_WRAP", "L2_DOWN_DELAY",
           "L2_UP_DELAY", "PLAYBACK_MEMORY_WORDS", "HicannL2Port", "PlaybackMemory",
           "ExperimentResult", "run_experiment", "experiment_start"]

SYSTIME_PER_FPGA_CYCLE = 2          # 250 MHz system time / 125 MHz FPGA clock
FPGA_COUNTER_WRAP = 1 << 14         # FPGA playback counter period (FPGA cycles)
TIMESTAMP_WRAP = 1 << 15            # 15-bit HICANN/DNC timestamps (system-time cycles)
L2_DOWN_DELAY = 61                  # FPGA release -> HICANN arrival (system-time cycles)
L2_UP_DELAY = 61                    # HICANN stamp -> FPGA arrival (system-time cycles)
PLAYBACK_MEMORY_WORDS = 1 << 22     # emulated DDR playback memory (64-bit words)
_SYSTIME_MHZ = 250
_CHUNK_CYCLES = 512                 # cycles clocked per lock hold


class HicannL2Port:
    """Layer-2 side of one HICANN model on the system-time axis (see the module docstring)."""

    def __init__(self, model: HicannModel, *, pll_mhz: int = 100,
                 down_delay: int = L2_DOWN_DELAY, up_delay: int = L2_UP_DELAY,
                 record_hline: bool = False):
        if isinstance(pll_mhz, bool) or not isinstance(pll_mhz, int) or \
                not 100 <= pll_mhz <= 250 or pll_mhz % 25:
            raise ValueError(f"PLL frequency {pll_mhz!r} MHz out of range 100..250 in steps "
                             f"of 25")
        if model.dnc.core_mhz != pll_mhz:
            raise ValueError(f"PLL frequency {pll_mhz} MHz differs from the model's core clock "
                             f"{model.dnc.core_mhz} MHz")
        for name, v in (("down_delay", down_delay), ("up_delay", up_delay)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 14:
                raise ValueError(f"{name} {v!r} out of range 0..{(1 << 14) - 1}")
        self.model = model
        self.pll_mhz = pll_mhz
        self.down_delay = down_delay
        self.up_delay = up_delay
        self.cycle = 0                     # next core cycle to clock
        self._origin_cycle = 0
        self._origin_systime = 0
        self._link: collections.deque = collections.deque()   # (cycle, (channel, addr, ts))
        self._fire: dict[int, list[int]] = {}
        self.hline_log: list[tuple[int, int, int]] | None = [] if record_hline else None
        self.delivered = self.sent = 0

    # -- the chip's GbitLink configuration (read from the DNC interface twin) -------------------
    @property
    def enabled(self) -> bool:
        """Some channel of the GbitLink is enabled."""
        return self.model.dnc.enable != 0

    def to_hicann(self, channel: int) -> bool:
        dnc = self.model.dnc
        return bool((dnc.enable & dnc.direction) >> channel & 1)

    def to_dnc(self, channel: int) -> bool:
        dnc = self.model.dnc
        return bool((dnc.enable & ~dnc.direction) >> channel & 1)

    @property
    def dropped(self) -> int:
        """Pulses the chip's DNC interface lost (sum of its loss counters, 16-bit each)."""
        return sum(self.model.dnc.counters.values())

    # -- time ----------------------------------------------------------------------------------------
    def systime_of(self, cycle: int) -> int:
        """System time at which core cycle ``cycle`` starts."""
        return self._origin_systime + ((cycle - self._origin_cycle) * _SYSTIME_MHZ) // self.pll_mhz

    def cycle_at(self, systime: int) -> int:
        """First core cycle starting at or after ``systime``."""
        d = systime - self._origin_systime
        return self._origin_cycle + -((-d * self.pll_mhz) // _SYSTIME_MHZ)

    @property
    def systime(self) -> int:
        """Start of the next cycle to clock."""
        return self.systime_of(self.cycle)

    def rebase(self, systime: int) -> None:
        """The system-time counters restart: the next cycle starts at ``systime``, and the chip's
        15-bit counter is loaded with it."""
        self._link.clear()
        self._fire.clear()
        self._origin_cycle, self._origin_systime = self.cycle, systime
        self.model.dnc.load_systime(systime % TIMESTAMP_WRAP)

    # -- events --------------------------------------------------------------------------------------
    def deliver(self, systime: int, channel: int, addr: int,
                timestamp: int | None = None) -> None:
        """A pulse for HW ``channel`` / L1 ``addr`` with 15-bit ``timestamp`` (None: its arrival
        time, which is already late when timestamps are enabled) leaves the FPGA at
        ``systime``; it reaches the chip's ``l2_in`` ``down_delay`` later."""
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= 7:
            raise ValueError(f"channel {channel!r} out of range 0..7")
        if isinstance(addr, bool) or not isinstance(addr, int) or not 0 <= addr <= 63:
            raise ValueError(f"L1 address {addr!r} out of range 0..63")
        arrival = systime + self.down_delay
        if timestamp is None:
            timestamp = arrival % TIMESTAMP_WRAP
        elif isinstance(timestamp, bool) or not isinstance(timestamp, int) or \
                not 0 <= timestamp < TIMESTAMP_WRAP:
            raise ValueError(f"timestamp {timestamp!r} out of range 0..{TIMESTAMP_WRAP - 1}")
        c = max(self.cycle_at(arrival), self.cycle)     # a cycle already clocked: the next
        if self._link and self._link[-1][0] > c:
            raise ValueError(f"pulse at system time {systime} delivered after a later one")
        self._link.append((c, (channel, addr, timestamp)))
        self.delivered += 1

    def fire(self, systime: int, neurons: Iterable[int]) -> None:
        """Neuron-builder addresses firing in the cycle that starts at or after ``systime``."""
        c = self.cycle_at(systime)
        if c < self.cycle:
            raise ValueError(f"fire at system time {systime} is before the port's time "
                             f"{self.systime}")
        self._fire.setdefault(c, []).extend(neurons)

    def advance_to(self, systime: int) -> list[tuple[int, int, int, int]]:
        """Clock every cycle starting before ``systime``; returns ``(stamp, channel, addr,
        sent)`` of the pulses taken from the chip's ``l2_out``: ``stamp`` = the absolute system
        time of the pulse's 15-bit timestamp, ``sent`` = start of the cycle it left in."""
        out = []
        end = self.cycle_at(systime)
        model, link = self.model, self._link
        while self.cycle < end:
            c = self.cycle
            pulse = link.popleft()[1] if link and link[0][0] <= c else None
            r = model.step(fire=self._fire.pop(c, ()), l2_in=pulse)
            if r["l2_out"] is not None:
                ch, a, ts = r["l2_out"]
                sent = self.systime_of(c)
                out.append((sent - (sent - ts) % TIMESTAMP_WRAP, ch, a, sent))
            if self.hline_log is not None and r["hline"]:
                stamp = self.systime_of(c)
                self.hline_log.extend((stamp, line, a) for line, a in r["hline"].items())
            self.cycle = c + 1
        self.sent += len(out)
        return out

    @property
    def busy(self) -> bool:
        """Pulses on the link or fires are pending."""
        return bool(self._link or self._fire)


class PlaybackMemory:
    """The FPGA's playback memory: FPGAPLAYBACK frames are appended until the program's end
    marker; a frame arriving after a complete program starts a new one (§2.3)."""

    def __init__(self, capacity: int = PLAYBACK_MEMORY_WORDS):
        self.capacity = capacity
        self.words: list[int] = []
        self.items: list | None = None

    def clear(self) -> None:
        self.words, self.items = [], None

    @property
    def complete(self) -> bool:
        return self.items is not None

    def add(self, words) -> int | None:
        """Append one frame; returns the end address (program length in 64-bit words, the
        buffering acknowledgement) once the end marker arrived. A malformed program raises
        :class:`FormatError` and is discarded."""
        if self.items is not None:
            self.clear()
        if not self.words and words:
            h = PB_HEADER.decode(words[0] & 0xFFFFFFFF)
            if h["overflow"] or h["reserved15"] or h["reserved17"] or not h["count"]:
                raise FormatError(f"playback program starts with {words[0] & 0xFFFFFFFF:#010x}, "
                                  f"not a group header")
        self.words.extend(words)
        if len(self.words) > self.capacity:
            n = len(self.words)
            self.clear()
            raise FormatError(f"playback program of {n} words out of range 1..{self.capacity}")
        if self.words[-1] >> 62 != 3:       # the end item's high entry: config + end bits
            return None
        try:
            self.items = decode_playback(self.words)
        except FormatError as exc:
            msg = str(exc)
            if msg == "playback program has no end-of-program marker" or \
                    "program truncated" in msg:
                return None                 # a pulse entry looked like the end; wait
            self.clear()
            raise
        return len(self.words)


def experiment_start(systime: int) -> int:
    """FPGA time of the experiment start: the next FPGA counter wrap at or after ``systime``
    (§2.8: playback and trace start together at the next counter wrap)."""
    fpga = -(-systime // SYSTIME_PER_FPGA_CYCLE)
    return -(-fpga // FPGA_COUNTER_WRAP) * FPGA_COUNTER_WRAP


@dataclasses.dataclass
class ExperimentResult:
    """What one experiment produced. Times in system-time cycles; ``start`` is absolute."""

    start: int
    end: int
    trace: list                  # (t_rel, label12, arrival_rel), sorted by arrival
    trace_words: list            # encoded FPGATRACE payload, end-of-trace word included
    read_out: bool               # the end item started the trace read-out
    pulses_played: int = 0
    pulses_dropped: int = 0      # labels of another DNC or a HICANN the FPGA lacks
    overflow_waits: int = 0
    trace_filtered: int = 0
    trace_overflows: int = 0


def _label_parts(label: int) -> tuple[int, int, int, int]:
    return label >> 12, (label >> 9) & 7, (label >> 6) & 7, label & 63


def run_experiment(items, ports: dict, systime: int, *, drop_address0: int = 0,
                   systime_replace: bool = False, pulse_loopback: bool = False,
                   lock=None) -> ExperimentResult:
    """Play decoded program ``items`` starting at the next FPGA counter wrap after ``systime``
    into ``ports`` (``{HICANN port: HicannL2Port}``) and record the trace.

    ``drop_address0``: bit p set = events of HICANN port p with L1 address 0 are not recorded
    (§2.3 ``drop_bg``). ``systime_replace``: pulses carry the system time of their release as
    timestamp (§2.2 bit 23). ``pulse_loopback``: played pulses go straight into the trace, stamped
    at release, instead of to the chips (§2.2 bit 24). ``lock``: held while a port is clocked, a
    chunk of cycles at a time.
    """
    t0 = experiment_start(systime)
    start = SYSTIME_PER_FPGA_CYCLE * t0
    lock = lock if lock is not None else contextlib.nullcontext()
    per_port: dict[int, list] = {p: [] for p in ports}
    recorded: list[tuple[int, int, int]] = []     # (stamp_abs, label12, arrival_abs)
    res = ExperimentResult(start, start, [], [], False)
    blocked_from: list[tuple[int, bool]] = []
    stop = None
    for it in items:
        if isinstance(it, OverflowWait):
            res.overflow_waits += 1
        elif isinstance(it, FpgaConfigItem):
            at = start + SYSTIME_PER_FPGA_CYCLE * it.time
            blocked_from.append((at, it.block_trace))
            if it.stop_trace and stop is None:
                stop = at
            res.read_out = res.read_out or it.start_trace_read
            res.end = max(res.end, at)
        elif isinstance(it, PulseGroup):
            for j, (label, ts) in enumerate(it.pulses):
                rel = SYSTIME_PER_FPGA_CYCLE * (it.time + j)
                at = start + rel
                dnc, port, channel, addr = _label_parts(label)
                if systime_replace:
                    ts = at % TIMESTAMP_WRAP
                res.pulses_played += 1
                if pulse_loopback:
                    recorded.append((at, label & 0xFFF, at))
                elif dnc != 0 or port not in ports:
                    res.pulses_dropped += 1
                else:
                    per_port[port].append((at, channel, addr, ts))
                res.end = max(res.end, at)
    stop = res.end if stop is None else stop

    for p, port in ports.items():
        with lock:
            port.rebase(start)          # chips are clocked only while an experiment runs
        out = []
        for at, channel, addr, ts in per_port[p] + [(stop, None, None, None)]:
            while port.systime < at:
                step_to = min(at, port.systime_of(port.cycle + _CHUNK_CYCLES))
                with lock:
                    out += port.advance_to(step_to)
            if channel is not None:
                with lock:
                    port.deliver(at, channel, addr, ts)
        for stamp, channel, addr, sent in out:
            recorded.append((stamp, (p << 9) | (channel << 6) | addr, sent + port.up_delay))

    def blocked(t: int) -> bool:
        state = False
        for at, b in blocked_from:
            if at <= t:
                state = b
        return state

    trace = []
    for stamp, label12, arrival in sorted(recorded, key=lambda r: r[2]):
        if not start <= arrival < stop or stamp < start or blocked(arrival):
            continue
        if (drop_address0 >> (label12 >> 9)) & 1 and label12 & 63 == 0:
            res.trace_filtered += 1
            continue
        trace.append((stamp - start, label12, arrival - start))
    res.trace = trace
    res.trace_words = encode_trace(trace)
    res.trace_overflows = sum(1 for w in res.trace_words[:-1] if w >> 63)
    return res
