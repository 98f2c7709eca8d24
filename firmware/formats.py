"""Data formats of the wafer-module FPGA's application layer (spec host-stack.md §2.1-2.4, §2.9;
hicann-digital.md §8.3-8.4). Pure data: no transport, no timing model.

* :class:`PacketType`: the application PTYPEs carried in HostARQ frames (§2.1).
* :class:`FpgaConfig`: the 64-bit FPGACONFIG word (§2.2) with its trigger command
  (prime/start of the systime counter or of an experiment) and the sticky flags.
* Playback program (§2.3): :func:`build_playback` turns time-sorted ``(t_dnc, label)`` pulses into
  items (:class:`PulseGroup`, :class:`OverflowWait`, :class:`FpgaConfigItem`) following the host
  encoder's grouping rules; :func:`encode_playback` / :func:`decode_playback` convert items to and
  from 64-bit program words; :func:`playback_pulses` recovers the pulses; :func:`playback_frames`
  splits the words into FPGAPLAYBACK frames (LEN field :func:`playback_len`).
* Trace (§2.4, hicann-digital §8.3 "FPGA trace entry"): :func:`encode_trace` (what the FPGA
  sends), :func:`decode_trace` (what the host reconstructs), :class:`TracePulse` entries.
* :class:`PulseAddress`: the 14-bit pulse label (§2.9) in SW and HW terms.

Bit layouts are declared once below as :class:`bss1.rtl.regmap.Register` objects; all code packs
and unpacks through them. Times: DNC cycles are 4 ns (250 MHz systime), FPGA cycles 8 ns.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass

from bss1.models.coords import check_range, sw_to_hw8
from bss1.rtl.regmap import Register, fields

__all__ = [
    "FormatError", "PacketType", "FPGA_CONFIG", "PULSE_LABEL", "PB_HEADER", "PB_PULSE",
    "PB_OVERFLOW", "PB_CONFIG", "TRACE_PULSE", "TRACE_OVERFLOW", "TriggerCommand", "FpgaConfig",
    "PulseAddress", "PulseGroup", "OverflowWait", "FpgaConfigItem", "build_playback",
    "encode_playback", "decode_playback", "playback_pulses", "playback_program",
    "playback_frames", "playback_len", "TracePulse", "encode_trace", "decode_trace",
    "trace_entries", "TRACE_END_WORD", "TRACE_EMPTY_ENTRY", "MAX_GROUP_PULSES",
    "MIN_GROUP_DISTANCE", "DEFAULT_FPGA_HICANN_DELAY", "MAX_PLAYBACK_WORDS_PER_FRAME",
]


class FormatError(ValueError):
    """Input that does not fit an FPGA application-layer format."""


class PacketType(enum.IntEnum):
    """Application packet types (HostARQ PTYPE), §2.1."""

    JTAGBULK = 0x06A4
    FPGAPLAYBACK = 0x0C5A
    FPGATRACE = 0x0CA5
    FPGACONFIG = 0x0C1B
    FPGADEBUG = 0x0DB0
    HICANNCONFIG = 0x2A1B


# -- layouts (declared once) ---------------------------------------------------------------------
FPGA_CONFIG = Register("fpga_config", 0, 64, fields(
    ("trigger_select", 19, 1, "1 = experiment (playback + trace), 0 = systime counter"),
    ("listen_global", 20, 1, "wait for the master FPGA's trigger instead of the host"),
    ("trigger_enable", 21, 1, "1 = start, 0 = prime (arm)"),
    ("trigger_write", 22, 1, "systime/trigger register write enable"),
    ("systime_replace", 23, 1, "sticky: playback overwrites timestamps with systime"),
    ("pulse_loopback", 24, 1, "sticky: FPGA-internal pulse loopback"),
    ("start_trace_read", 26, 1), ("stop_trace", 27, 1),
    ("start_playback_trace", 29, 1, "legacy startPlaybackTrace")), doc="§2.2")

PULSE_LABEL = Register("pulse_label", 0, 14, fields(
    ("address", 0, 6, "L1 address"), ("channel", 6, 3, "HW channel = 7 - GbitLinkOnHICANN"),
    ("hicann", 9, 3, "HICANN port = 2x + y of HICANNOnDNC"), ("dnc", 12, 2, "DNCOnFPGA")),
    doc="§2.9 PulseAddress; bits 15:14 of the 16-bit label are unused")

PB_HEADER = Register("pb_group_header", 0, 32, fields(
    ("overflow", 0, 1, "0 for a header"), ("time", 1, 14, "FPGA release time, 14 LSBs"),
    ("reserved15", 15, 1), ("config", 16, 1, "1 = config item follows"), ("reserved17", 17, 1),
    ("count", 18, 14, "items in the group")), doc="§2.3 group header")
PB_PULSE = Register("pb_pulse", 0, 32, fields(
    ("zero", 0, 1), ("timestamp", 1, 15, "HICANN/DNC release timestamp (4 ns)"),
    ("pad", 16, 2), ("label", 18, 14)), doc="§2.3 pulse entry")
PB_OVERFLOW = Register("pb_overflow", 0, 32, fields(
    ("overflow", 0, 1, "1"), ("reserved1", 1, 1), ("wraps", 2, 14, "2^14-cycle wraps to wait"),
    ("reserved", 16, 16)), doc="§2.3 overflow wait; the next entry is 0")
PB_CONFIG = Register("pb_config", 0, 64, fields(
    ("stop_trace", 0, 1), ("start_trace_read", 1, 1), ("block_trace", 2, 1),
    ("end", 62, 1, "end-of-program marker"), ("fpga_config", 63, 1)),
    doc="§2.3 FPGA config item payload (LOW entry = bits 31:0, HIGH entry = bits 63:32)")

TRACE_PULSE = Register("trace_pulse", 0, 32, fields(
    ("timestamp", 0, 15), ("label", 15, 12, "PULSE_LABEL bits 11:0"), ("pad", 27, 2),
    ("fpga_msb", 29, 1, "MSB of the FPGA systime at arrival"), ("kind", 30, 2, "00 = pulse")),
    doc="§2.4 trace pulse entry")
TRACE_OVERFLOW = Register("trace_overflow", 0, 32, fields(
    ("count", 0, 31, "running count of 2^15-cycle wraps"), ("overflow", 31, 1)),
    doc="§2.4 trace overflow entry (upper half of a word only)")

TRACE_END_WORD = 0x4000E11D40000000
TRACE_EMPTY_ENTRY = 0x40000000          # kind 01: empty slot; also the low half of the end word
MAX_GROUP_PULSES = 184
MIN_GROUP_DISTANCE = 6                  # FPGA clocks (48 ns) between group release times
DEFAULT_FPGA_HICANN_DELAY = 25          # FPGA clocks (200 ns), sthal FPGAShared
MAX_PLAYBACK_WORDS_PER_FRAME = 180      # 360 entries
_WRAP = 1 << 14                         # FPGA playback counter period (FPGA cycles)
_MAX_RELEASE = (1 << 28) - 1            # keeps overflow waits within their 14-bit field
_TS_WRAP = 1 << 15                      # systime timestamp period (DNC cycles)


def _bit(value) -> int:
    return 1 if value else 0


def _u64(what: str, word) -> int:
    if not isinstance(word, int) or isinstance(word, bool) or not 0 <= word < 1 << 64:
        raise FormatError(f"{what} {word!r} out of range 0..0xffffffffffffffff")
    return word


# -- FPGACONFIG, §2.2 ----------------------------------------------------------------------------
class TriggerCommand(enum.Enum):
    """What an FPGACONFIG word with the trigger-write bit does (§2.2, §2.8)."""

    PRIME_SYSTIME = (0, 0)
    START_SYSTIME = (0, 1)
    PRIME_EXPERIMENT = (1, 0)
    START_EXPERIMENT = (1, 1)


@dataclass(frozen=True)
class FpgaConfig:
    """One FPGACONFIG word. ``trigger`` None = no systime/trigger write (bit 22 clear).

    ``disable_global`` of sthal is ``PRIME_EXPERIMENT`` without ``listen_global`` (0x480000).
    """

    trigger: TriggerCommand | None = None
    listen_global: bool = False
    pulse_loopback: bool = False
    systime_replace: bool = False
    start_trace_read: bool = False
    stop_trace: bool = False
    start_playback_trace: bool = False

    def __post_init__(self):
        if self.listen_global and self.trigger is None:
            raise FormatError("FPGACONFIG: listen_global needs a trigger command "
                              "(bit 20 is only meaningful with bit 22)")

    @property
    def word(self) -> int:
        select, enable = self.trigger.value if self.trigger is not None else (0, 0)
        return FPGA_CONFIG.encode(
            trigger_write=_bit(self.trigger is not None), trigger_select=select,
            trigger_enable=enable, listen_global=_bit(self.listen_global),
            pulse_loopback=_bit(self.pulse_loopback), systime_replace=_bit(self.systime_replace),
            start_trace_read=_bit(self.start_trace_read), stop_trace=_bit(self.stop_trace),
            start_playback_trace=_bit(self.start_playback_trace))

    @classmethod
    def from_word(cls, word: int) -> "FpgaConfig":
        _u64("FPGACONFIG word", word)
        known = sum(f.mask for f in FPGA_CONFIG.fields)
        if word & ~known:
            raise FormatError(f"FPGACONFIG word {word:#x} sets undefined bits {word & ~known:#x}; "
                              f"defined bits: {known:#x}")
        f = FPGA_CONFIG.decode(word)
        if not f["trigger_write"] and (f["trigger_select"] or f["trigger_enable"]
                                       or f["listen_global"]):
            raise FormatError(f"FPGACONFIG word {word:#x}: bits 21:19 set without the trigger "
                              f"write bit 22")
        trig = (TriggerCommand((f["trigger_select"], f["trigger_enable"]))
                if f["trigger_write"] else None)
        return cls(trig, bool(f["listen_global"]), bool(f["pulse_loopback"]),
                   bool(f["systime_replace"]), bool(f["start_trace_read"]), bool(f["stop_trace"]),
                   bool(f["start_playback_trace"]))


# -- pulse labels, §2.9 --------------------------------------------------------------------------
@dataclass(frozen=True)
class PulseAddress:
    """Pulse label in SW terms: DNCOnFPGA, HICANNOnDNC(x, y), GbitLinkOnHICANN, L1 address.

    HW terms: ``hicann_port`` = 2x + y, ``channel`` = 7 - gbit_link. Default = label 0x1C0.
    """

    dnc: int = 0
    hicann_x: int = 0
    hicann_y: int = 0
    gbit_link: int = 0
    address: int = 0

    def __post_init__(self):
        check_range("DNCOnFPGA", self.dnc, 0, 3)
        check_range("HICANNOnDNC x", self.hicann_x, 0, 3)
        check_range("HICANNOnDNC y", self.hicann_y, 0, 1)
        check_range("GbitLinkOnHICANN", self.gbit_link, 0, 7)
        check_range("L1 address", self.address, 0, 63)

    @property
    def hicann_port(self) -> int:
        return 2 * self.hicann_x + self.hicann_y

    @property
    def channel(self) -> int:
        return sw_to_hw8(self.gbit_link)

    @property
    def label(self) -> int:
        return PULSE_LABEL.encode(dnc=self.dnc, hicann=self.hicann_port, channel=self.channel,
                                  address=self.address)

    @classmethod
    def from_hw(cls, dnc: int, hicann_port: int, channel: int, address: int) -> "PulseAddress":
        check_range("HICANN port", hicann_port, 0, 7)
        return cls(dnc, hicann_port // 2, hicann_port % 2, sw_to_hw8(channel), address)

    @classmethod
    def from_label(cls, label: int) -> "PulseAddress":
        check_range("pulse label", label, 0, (1 << PULSE_LABEL.width) - 1)
        f = PULSE_LABEL.decode(label)
        return cls.from_hw(f["dnc"], f["hicann"], f["channel"], f["address"])


def _check_label(label) -> int:
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 0x3FFF:
        raise FormatError(f"pulse label {label!r} out of range 0..0x3fff")
    return label


# -- playback program, §2.3 ----------------------------------------------------------------------
@dataclass(frozen=True)
class PulseGroup:
    """Pulses released from FPGA time ``time`` (absolute FPGA cycles), one per clock.

    ``pulses`` are ``(label, timestamp)`` with the 15-bit HICANN/DNC release timestamp.
    """

    time: int
    pulses: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class OverflowWait:
    """Wait for ``wraps`` wraps of the 14-bit FPGA playback counter before the next group."""

    wraps: int


@dataclass(frozen=True)
class FpgaConfigItem:
    """FPGA config item at FPGA time ``time``; ``end`` marks the end of the program."""

    time: int
    stop_trace: bool = False
    start_trace_read: bool = False
    block_trace: bool = False
    end: bool = False


def _late(last: int) -> int:
    # The FPGA needs a few clocks to fetch the next entry; a wait issued in the last 4 clocks
    # before a wrap starts counting after that wrap (§2.3 step 3, "minus 1").
    return 1 if (last & (_WRAP - 1)) > _WRAP - 5 else 0


def _wraps_needed(last: int, t: int) -> int | None:
    """Overflow-wait count the host encoder inserts before a group at ``t`` (None: no wait)."""
    if t - last > 0x2000 and (t >> 14) > (last >> 14):
        return (t >> 14) - (last >> 14) - _late(last)
    return None


def _group_end(item) -> int:
    return item.time + len(item.pulses) - 1 if isinstance(item, PulseGroup) else item.time


def build_playback(pulses, runtime: int, *, delay: int = DEFAULT_FPGA_HICANN_DELAY,
                   enable_trace: bool = True, allow_delay: bool = False) -> list:
    """Playback items for time-sorted ``(t_dnc, label)`` pulses (HALbe write_playback_program).

    Each pulse is released at FPGA time ``t_dnc // 2 - delay`` with timestamp ``t_dnc``. A config
    item at t = 0 blocks trace recording unless ``enable_trace``; the end item at
    ``(runtime + 1) // 2`` stops the trace and starts its read-out. Pulses join the open group
    while they are due before its end + 6 clocks and it holds < 184 pulses; otherwise they open a
    new group at least 6 clocks later. Choice: a pulse that would need delaying for that (the real
    encoder delays it with a warning) is an error unless ``allow_delay``; the end item, which
    releases no pulse, is moved silently to the earliest legal time.
    """
    check_range("FPGA-HICANN delay", delay, 0, 0x3FFF)
    lo, hi = 2 * delay, 2 * (_MAX_RELEASE + delay) + 1
    checked, prev = [], None
    for i, p in enumerate(pulses):
        try:
            t, label = p
        except (TypeError, ValueError):
            raise FormatError(f"pulse {i}: {p!r} is not a (time, label) pair") from None
        if not isinstance(t, int) or isinstance(t, bool) or not lo <= t <= hi:
            raise FormatError(f"pulse {i}: time {t!r} out of range {lo}..{hi} DNC cycles "
                              f"(>= 2 * delay {delay})")
        _check_label(label)
        if prev is not None and t < prev:
            raise FormatError(f"pulse {i}: time {t} is before the previous pulse's time {prev}; "
                              f"pulses must be sorted by time")
        checked.append((t, label))
        prev = t
    if not isinstance(runtime, int) or isinstance(runtime, bool) or \
            not (prev or 0) <= runtime <= 2 * _MAX_RELEASE - 1:
        raise FormatError(f"runtime {runtime!r} out of range {prev or 0}..{2 * _MAX_RELEASE - 1} "
                          f"DNC cycles (not before the last pulse)")

    items: list = [FpgaConfigItem(0, block_trace=not enable_trace)]
    last, group = 0, None           # last: release of the previous group's last pulse
    for i, (t_dnc, label) in enumerate(checked):
        t = t_dnc // 2 - delay
        if group is not None and t < last + MIN_GROUP_DISTANCE \
                and len(group) < MAX_GROUP_PULSES:
            group.append((label, t_dnc % _TS_WRAP))
            last += 1
            continue
        if t < last + MIN_GROUP_DISTANCE:
            why = (f"the open group already holds {MAX_GROUP_PULSES} pulses" if group is not None
                   else f"the config item at FPGA time {last} comes first")
            if not allow_delay:
                raise FormatError(
                    f"pulse {i}: release at FPGA time {t} (DNC time {t_dnc}) is too dense: "
                    f"{why}; a new group needs FPGA time >= {last + MIN_GROUP_DISTANCE} "
                    f"({MIN_GROUP_DISTANCE} clocks after {last})")
            warnings.warn(f"pulse {i}: release delayed from FPGA time {t} to "
                          f"{last + MIN_GROUP_DISTANCE}", stacklevel=2)
            t = last + MIN_GROUP_DISTANCE
        _wait_before(items, last, t)
        group = [(label, t_dnc % _TS_WRAP)]
        items.append([t, group])
        last = t
    end = max((runtime + 1) // 2, last + MIN_GROUP_DISTANCE)
    _wait_before(items, last, end)
    items.append(FpgaConfigItem(end, stop_trace=True, start_trace_read=True, end=True))
    # Open groups are [time, pulses] lists while building; freeze them.
    return [PulseGroup(it[0], tuple(it[1])) if isinstance(it, list) else it for it in items]


def _wait_before(items: list, last: int, t: int) -> None:
    n = _wraps_needed(last, t)
    if n is not None:
        items.append(OverflowWait(n))


def _entries_to_words(entries: list[int]) -> list[int]:
    return [entries[k] | (entries[k + 1] << 32) for k in range(0, len(entries), 2)]


def encode_playback(items) -> list[int]:
    """64-bit program words (entry 2k = low half) for playback ``items``.

    Checks that every group's absolute time is what the FPGA reaches from its 14 time LSBs (the
    overflow waits must be the ones the host encoder inserts) and that the program ends with the
    end item; nothing is returned on error.
    """
    entries: list[int] = []
    last, pending_wait, ended = 0, None, False
    for i, it in enumerate(items):
        if ended:
            raise FormatError(f"item {i}: {it!r} follows the end-of-program item")
        if isinstance(it, OverflowWait):
            check_range("overflow wait", it.wraps, 0, 0x3FFF)
            if pending_wait is not None:
                raise FormatError(f"item {i}: two overflow waits in a row")
            entries += [PB_OVERFLOW.encode(overflow=1, wraps=it.wraps), 0]
            pending_wait = it.wraps
            continue
        if not isinstance(it, (PulseGroup, FpgaConfigItem)):
            raise FormatError(f"item {i}: {it!r} is not a PulseGroup, OverflowWait or "
                              f"FpgaConfigItem")
        check_range(f"item {i} time", it.time, 0, _MAX_RELEASE)
        if i > 0:
            if it.time < last + MIN_GROUP_DISTANCE:
                raise FormatError(f"item {i}: FPGA time {it.time} out of range >= "
                                  f"{last + MIN_GROUP_DISTANCE} ({MIN_GROUP_DISTANCE} clocks "
                                  f"after the previous group's end {last})")
            want = _wraps_needed(last, it.time)
            if want != pending_wait:
                raise FormatError(f"item {i}: FPGA time {it.time} after group end {last} needs "
                                  f"overflow wait {want!r}, got {pending_wait!r}")
        elif pending_wait is not None:
            raise FormatError("item 0: a program cannot start with an overflow wait")
        pending_wait = None
        t14 = it.time % _WRAP
        if isinstance(it, FpgaConfigItem):
            entries += [PB_HEADER.encode(count=1, config=1, time=t14), 0]
            w = PB_CONFIG.encode(fpga_config=1, end=_bit(it.end), stop_trace=_bit(it.stop_trace),
                                 start_trace_read=_bit(it.start_trace_read),
                                 block_trace=_bit(it.block_trace))
            entries += [w & 0xFFFFFFFF, w >> 32]
            ended = it.end
        else:
            if not 1 <= len(it.pulses) <= MAX_GROUP_PULSES:
                raise FormatError(f"item {i}: {len(it.pulses)} pulses in a group, allowed "
                                  f"1..{MAX_GROUP_PULSES}")
            entries.append(PB_HEADER.encode(count=len(it.pulses), time=t14))
            for label, ts in it.pulses:
                check_range("pulse timestamp", ts, 0, _TS_WRAP - 1)
                entries.append(PB_PULSE.encode(label=_check_label(label), timestamp=ts))
            if len(entries) % 2:
                entries.append(0)
        last = _group_end(it)
    if not ended:
        raise FormatError("playback program has no end-of-program item")
    return _entries_to_words(entries)


def decode_playback(words) -> list:
    """Items of a playback program (inverse of :func:`encode_playback`, absolute times).

    Reconstruction (the FPGA's view): after a group ending at ``last`` the next group is the
    first time >= ``last`` with the given 14 LSBs; after an overflow wait of n wraps it is the
    first such time in counter period ``(last >> 14) + n (+1 if last is in the final 4 clocks)``.
    """
    entries = []
    for k, w in enumerate(words):
        _u64(f"playback word {k}", w)
        entries += [w & 0xFFFFFFFF, w >> 32]
    items: list = []
    last, earliest, i = 0, 0, 0

    def need(n):
        if i + n > len(entries):
            raise FormatError(f"playback entry {i}: program truncated ({n} entries needed, "
                              f"{len(entries) - i} left)")

    while True:
        if i >= len(entries):
            raise FormatError("playback program has no end-of-program marker")
        e = entries[i]
        if e & 1:
            f = PB_OVERFLOW.decode(e)
            need(2)
            if f["reserved1"] or f["reserved"] or entries[i + 1]:
                raise FormatError(f"playback entry {i}: malformed overflow wait {e:#010x} "
                                  f"{entries[i + 1]:#010x}")
            items.append(OverflowWait(f["wraps"]))
            earliest = ((last >> 14) + _late(last) + f["wraps"]) << 14
            i += 2
            continue
        h = PB_HEADER.decode(e)
        if h["reserved15"] or h["reserved17"] or h["count"] == 0:
            raise FormatError(f"playback entry {i}: malformed group header {e:#010x}")
        t = earliest + (h["time"] - earliest) % _WRAP
        if h["config"]:
            need(4)
            w = entries[i + 2] | (entries[i + 3] << 32)
            if h["count"] != 1 or entries[i + 1] or not w >> 63:
                raise FormatError(f"playback entry {i}: unsupported config item (count "
                                  f"{h['count']}, payload {w:#018x}); only FPGA config items")
            if w & ~sum(f.mask for f in PB_CONFIG.fields):
                raise FormatError(f"playback entry {i}: FPGA config item {w:#018x} sets "
                                  f"undefined bits")
            c = PB_CONFIG.decode(w)
            items.append(FpgaConfigItem(t, bool(c["stop_trace"]), bool(c["start_trace_read"]),
                                        bool(c["block_trace"]), bool(c["end"])))
            i += 4
            last = earliest = t
            if c["end"]:
                if i != len(entries):
                    raise FormatError(f"playback entry {i}: {len(entries) - i} entries follow "
                                      f"the end-of-program marker")
                return items
            continue
        n = h["count"]
        need(1 + n)
        pulses = []
        for j in range(i + 1, i + 1 + n):
            p = PB_PULSE.decode(entries[j])
            if p["zero"] or p["pad"]:
                raise FormatError(f"playback entry {j}: malformed pulse {entries[j]:#010x}")
            pulses.append((p["label"], p["timestamp"]))
        items.append(PulseGroup(t, tuple(pulses)))
        i += 1 + n + (1 + n) % 2
        last = earliest = t + n - 1


def playback_pulses(items, *, delay: int = DEFAULT_FPGA_HICANN_DELAY) -> list[tuple[int, int]]:
    """``(t_dnc, label)`` of all pulses: the time with the pulse's 15 timestamp bits nearest to
    ``2 * (group time + delay)``."""
    out = []
    for it in items:
        if isinstance(it, PulseGroup):
            ref = 2 * (it.time + delay)
            for label, ts in it.pulses:
                out.append((ref + (ts - ref + _TS_WRAP // 2) % _TS_WRAP - _TS_WRAP // 2, label))
    return out


def playback_program(pulses, runtime: int, **kwargs) -> list[int]:
    """Program words for ``pulses`` (:func:`build_playback` then :func:`encode_playback`)."""
    return encode_playback(build_playback(pulses, runtime, **kwargs))


def playback_len(n_entries: int) -> int:
    """LEN field (64-bit words) of an FPGAPLAYBACK frame holding ``n_entries`` 32-bit entries."""
    check_range("playback entries per frame", n_entries, 0, 2 * MAX_PLAYBACK_WORDS_PER_FRAME)
    return (4 * n_entries + 7) // 8


def playback_frames(words) -> list[list[int]]:
    """Split program words into FPGAPLAYBACK frame payloads of <= 180 words (360 entries)."""
    words = [_u64(f"playback word {k}", w) for k, w in enumerate(words)]
    n = MAX_PLAYBACK_WORDS_PER_FRAME
    return [words[k:k + n] for k in range(0, len(words), n)]


# -- trace, §2.4 ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TracePulse:
    """One trace pulse entry: 12-bit label (HICANN port, HW channel, L1 address), 15-bit
    timestamp (DNC cycles), MSB of the FPGA systime at arrival."""

    label: int
    timestamp: int
    fpga_msb: int = 0

    @property
    def entry(self) -> int:
        return TRACE_PULSE.encode(label=self.label, timestamp=self.timestamp,
                                  fpga_msb=self.fpga_msb)

    @classmethod
    def from_entry(cls, entry: int) -> "TracePulse":
        f = TRACE_PULSE.decode(entry)
        if f["kind"] != 0:
            raise FormatError(f"trace entry {entry:#010x} is not a pulse (bits 31:30 = "
                              f"{f['kind']:#04b}, pulse = 0b00)")
        return cls(f["label"], f["timestamp"], f["fpga_msb"])


def trace_entries(words) -> list[int]:
    """32-bit entries of trace words (entry 2i = bits 31:0), up to and without the end word."""
    out = []
    for k, w in enumerate(words):
        _u64(f"trace word {k}", w)
        if w == TRACE_END_WORD:
            if k != len(words) - 1:
                raise FormatError(f"trace word {k}: {len(words) - k - 1} words follow the "
                                  f"end-of-trace word")
            return out
        out += [w & 0xFFFFFFFF, w >> 32]
    raise FormatError(f"trace has no end-of-trace word {TRACE_END_WORD:#018x}")


def encode_trace(pulses, until: int | None = None) -> list[int]:
    """Trace words the FPGA sends for ``(t_dnc, label)`` or ``(t_dnc, label, arrival)`` pulses.

    ``arrival`` (default ``t_dnc``) is the FPGA systime at arrival; pulses are sorted by it and
    ``0 <= arrival - t_dnc < 2^14``. Each 2^15-cycle wrap of the systime before an arrival adds
    a word {empty, overflow(running count)}; a half-filled word is completed with an empty slot.
    ``until`` (default: the last arrival) is the systime at which recording stopped; the wraps up
    to it are written too. Labels are 12-bit (DNC bits of a 14-bit label must be 0: one DNC per
    FPGA).
    """
    entries: list[int] = []
    ov, prev = 0, 0
    for i, p in enumerate(pulses):
        t, label, *rest = p
        arrival = rest[0] if rest else t
        for what, v in (("time", t), ("arrival", arrival)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise FormatError(f"trace pulse {i}: {what} {v!r} out of range >= 0")
        if not 0 <= arrival - t < 1 << 14:
            raise FormatError(f"trace pulse {i}: arrival {arrival} - time {t} out of range "
                              f"0..{(1 << 14) - 1}")
        if arrival < prev:
            raise FormatError(f"trace pulse {i}: arrival {arrival} is before the previous "
                              f"arrival {prev}; pulses must be sorted by arrival")
        if not isinstance(label, int) or not 0 <= label <= 0xFFF:
            raise FormatError(f"trace pulse {i}: label {label!r} out of range 0..0xfff")
        prev = arrival
        while ov < arrival // _TS_WRAP:
            ov += 1
            if len(entries) % 2:
                entries.append(TRACE_EMPTY_ENTRY)
            entries += [TRACE_EMPTY_ENTRY, TRACE_OVERFLOW.encode(overflow=1, count=ov)]
        entries.append(TracePulse(label, t % _TS_WRAP, (arrival >> 14) & 1).entry)
    if until is not None:
        if not isinstance(until, int) or isinstance(until, bool) or until < prev:
            raise FormatError(f"trace end {until!r} out of range >= {prev} (the last arrival)")
        while ov < until // _TS_WRAP:
            ov += 1
            if len(entries) % 2:
                entries.append(TRACE_EMPTY_ENTRY)
            entries += [TRACE_EMPTY_ENTRY, TRACE_OVERFLOW.encode(overflow=1, count=ov)]
    if len(entries) % 2:
        entries.append(TRACE_EMPTY_ENTRY)
    return _entries_to_words(entries) + [TRACE_END_WORD]


def decode_trace(words) -> list[tuple[int, int]]:
    """``(t_dnc, label)`` of the pulses in a trace (label = 14-bit, DNC 0).

    Choice (§2.4 vs hicann-digital §8.3): the wrap count is the number of overflow entries seen,
    as HALbe does; the count carried in the entry is not used.
    """
    out = []
    ov = 0
    for k, e in enumerate(trace_entries(words)):
        if e >> 31:
            if k % 2 == 0:
                raise FormatError(f"trace entry {k}: overflow entry {e:#010x} in a low half; "
                                  f"allowed only at odd entries")
            ov += 1
        elif e >> 30 == 0:
            p = TracePulse.from_entry(e)
            t = p.timestamp + ov * _TS_WRAP
            if p.timestamp >> 14 and not p.fpga_msb:
                t -= _TS_WRAP       # stamped before the wrap, arrived after its overflow entry
            if t >= 0:
                out.append((t, p.label))
    return out
