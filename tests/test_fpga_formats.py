"""FPGA application-layer formats and the GbitLink encoder (spec host-stack.md §2.1-2.4, §2.9;
hicann-digital.md §8.2-8.4)."""

import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bss1.firmware.formats import (FPGA_CONFIG, TRACE_END_WORD, TRACE_OVERFLOW, FormatError,
                                   FpgaConfig, FpgaConfigItem, OverflowWait, PacketType,
                                   PulseAddress, PulseGroup, TracePulse, TriggerCommand,
                                   build_playback, decode_playback, decode_trace, encode_playback,
                                   encode_trace, playback_frames, playback_len, playback_program,
                                   playback_pulses, trace_entries)
from bss1.host.gbitlink import GbitLink, GbitLinkDirection, spl1_reset_write
from bss1.rtl.registers import HICANN_MAP

D = GbitLinkDirection
LABEL = 0x5C5   # DNC 0, HICANNOnDNC(1, 0), GbitLink 0, L1 address 5 (§2.3 / §8.3 example)


# -- FPGACONFIG, §2.2 ----------------------------------------------------------------------------
@pytest.mark.parametrize("trigger, word", [
    (TriggerCommand.PRIME_SYSTIME, 0x400000), (TriggerCommand.START_SYSTIME, 0x600000),
    (TriggerCommand.PRIME_EXPERIMENT, 0x480000), (TriggerCommand.START_EXPERIMENT, 0x680000)])
def test_fpga_config_golden_words(trigger, word):
    assert FpgaConfig(trigger).word == word
    assert FpgaConfig(trigger, listen_global=True).word == word + 0x100000
    assert FpgaConfig.from_word(word) == FpgaConfig(trigger)
    assert FpgaConfig.from_word(word | 0x100000).listen_global


def test_fpga_config_flags_and_errors():
    # sthal disable_global = prime_experiment without listen_global
    assert FpgaConfig(TriggerCommand.PRIME_EXPERIMENT).word == 0x480000
    assert FpgaConfig(pulse_loopback=True, systime_replace=True).word == (1 << 24) | (1 << 23)
    assert FpgaConfig(stop_trace=True, start_trace_read=True).word == (1 << 27) | (1 << 26)
    assert FpgaConfig(start_playback_trace=True).word == FPGA_CONFIG.encode(
        start_playback_trace=1)
    assert PacketType.FPGACONFIG == 0x0C1B and PacketType.FPGATRACE == 0x0CA5
    with pytest.raises(FormatError, match=r"^FPGACONFIG word 0x400001 sets undefined bits 0x1; "
                                          r"defined bits: 0x2df80000$"):
        FpgaConfig.from_word(0x400001)
    with pytest.raises(FormatError, match=r"^FPGACONFIG word 0x80000: bits 21:19 set without "
                                          r"the trigger write bit 22$"):
        FpgaConfig.from_word(0x80000)
    with pytest.raises(FormatError, match=r"^FPGACONFIG word -1 out of range "
                                          r"0\.\.0xffffffffffffffff$"):
        FpgaConfig.from_word(-1)
    with pytest.raises(FormatError, match=r"^FPGACONFIG: listen_global needs a trigger command "
                                          r"\(bit 20 is only meaningful with bit 22\)$"):
        FpgaConfig(listen_global=True)


@given(st.sampled_from([None, *TriggerCommand]), st.booleans(), st.booleans(), st.booleans(),
       st.booleans(), st.booleans(), st.booleans())
def test_fpga_config_round_trip(trig, glob, lb, rep, read, stop, legacy):
    c = FpgaConfig(trig, glob and trig is not None, lb, rep, read, stop, legacy)
    assert FpgaConfig.from_word(c.word) == c


# -- pulse labels, §2.9 --------------------------------------------------------------------------
def test_pulse_label_golden():
    a = PulseAddress(dnc=0, hicann_x=1, hicann_y=0, gbit_link=0, address=5)
    assert a.label == LABEL
    assert (a.hicann_port, a.channel) == (2, 7)
    assert PulseAddress().label == 0x1C0
    assert PulseAddress.from_label(LABEL) == a
    assert PulseAddress.from_hw(0, 2, 7, 5) == a


def test_pulse_label_round_trip_all_and_errors():
    for label in range(1 << 14):
        assert PulseAddress.from_label(label).label == label
    with pytest.raises(ValueError, match=r"^pulse label 16384 out of range 0\.\.16383$"):
        PulseAddress.from_label(0x4000)
    with pytest.raises(ValueError, match=r"^HICANNOnDNC y 2 out of range 0\.\.1$"):
        PulseAddress(hicann_y=2)
    with pytest.raises(ValueError, match=r"^GbitLinkOnHICANN 8 out of range 0\.\.7$"):
        PulseAddress(gbit_link=8)


# -- playback program, §2.3 ----------------------------------------------------------------------
GOLDEN_PROGRAM = [0x0000000000050000, 0x8000000000000000, 0x171407D0000803B6,
                  0x00000000171407D8, 0x00000000000509C4, 0xC000000000000003]


def test_playback_golden_example():
    pulses = [(1000, LABEL), (1004, LABEL)]
    items = build_playback(pulses, 2500, delay=25, enable_trace=True)
    assert items == [FpgaConfigItem(0), PulseGroup(475, ((LABEL, 1000), (LABEL, 1004))),
                     FpgaConfigItem(1250, stop_trace=True, start_trace_read=True, end=True)]
    words = encode_playback(items)
    assert words == GOLDEN_PROGRAM
    assert playback_program(pulses, 2500) == GOLDEN_PROGRAM
    assert decode_playback(words) == items
    assert playback_pulses(items) == pulses
    frames = playback_frames(words)
    assert frames == [GOLDEN_PROGRAM]
    assert playback_len(2 * len(words)) == 6


def test_playback_trace_disabled_and_frames():
    words = playback_program([], 100, enable_trace=False)
    assert words[:2] == [0x0000000000050000, 0x8000000000000004]   # block trace recording
    assert [len(f) for f in playback_frames(list(range(400)))] == [180, 180, 40]
    assert playback_len(3) == 2 and playback_len(360) == 180
    with pytest.raises(ValueError, match=r"^playback entries per frame 361 out of range "
                                         r"0\.\.360$"):
        playback_len(361)


def test_playback_overflow_waits():
    # Group ends in the last 4 clocks before a wrap: the wait counts one wrap less (§2.3 step 3).
    late = 2 * (0x3FFC + 25)
    far = 2 * (3 * 0x4000 + 5 + 25)
    items = build_playback([(late, 1), (far, 2)], far)
    assert items[1:4] == [PulseGroup(0x3FFC, ((1, late % 2**15),)), OverflowWait(2),
                          PulseGroup(3 * 0x4000 + 5, ((2, far % 2**15),))]
    assert decode_playback(encode_playback(items)) == items
    # Not late: n = difference of the counter periods; a short hop over a wrap needs no wait.
    a, b, c = 2 * (0x3FF0 + 25), 2 * (0x8010 + 25), 2 * (0x8010 + 0x1000 + 25)
    items = build_playback([(a, 1), (b, 2), (c, 3)], c)
    assert [type(i).__name__ for i in items] == ["FpgaConfigItem", "PulseGroup", "OverflowWait",
                                                 "PulseGroup", "PulseGroup", "FpgaConfigItem"]
    assert items[2] == OverflowWait(2)
    assert playback_pulses(decode_playback(encode_playback(items))) == [(a, 1), (b, 2), (c, 3)]


def test_playback_bad_input():
    with pytest.raises(FormatError, match=r"^pulse 1: time 999 is before the previous pulse's "
                                          r"time 1004; pulses must be sorted by time$"):
        build_playback([(1004, 1), (999, 1)], 2000)
    with pytest.raises(FormatError, match=r"^pulse 0: time 49 out of range 50\.\.536870961 DNC "
                                          r"cycles \(>= 2 \* delay 25\)$"):
        build_playback([(49, 1)], 2000)
    with pytest.raises(FormatError, match=r"^pulse label 16384 out of range 0\.\.0x3fff$"):
        build_playback([(1000, 0x4000)], 2000)
    with pytest.raises(FormatError, match=r"^runtime 1003 out of range 1004\.\.536870909 DNC "
                                          r"cycles \(not before the last pulse\)$"):
        build_playback([(1004, 1)], 1003)
    with pytest.raises(FormatError, match=r"^pulse 184: release at FPGA time 475 \(DNC time "
                                          r"1000\) is too dense: the open group already holds "
                                          r"184 pulses; a new group needs FPGA time >= 664 "
                                          r"\(6 clocks after 658\)$"):
        build_playback([(1000, 1)] * 185, 2000)
    with pytest.raises(FormatError, match=r"^pulse 0: release at FPGA time 0 \(DNC time 50\) is "
                                          r"too dense: the config item at FPGA time 0 comes "
                                          r"first; a new group needs FPGA time >= 6 \(6 clocks "
                                          r"after 0\)$"):
        build_playback([(50, 1)], 2000)
    with pytest.raises(FormatError, match=r"^pulse 0: \(1000,\) is not a \(time, label\) pair$"):
        build_playback([(1000,)], 2000)


def test_playback_allow_delay_follows_real_encoder():
    with pytest.warns(UserWarning, match=r"^pulse 184: release delayed from FPGA time 475 to "
                                         r"664$"):
        items = build_playback([(1000, 1)] * 185, 2000, allow_delay=True)
    assert [len(i.pulses) for i in items if isinstance(i, PulseGroup)] == [184, 1]
    assert items[2].time == 664


def test_playback_encode_decode_errors():
    bad_wait = [FpgaConfigItem(0), PulseGroup(0x5000, ((1, 0),)),
                FpgaConfigItem(0x5010, end=True)]
    with pytest.raises(FormatError, match=r"^item 1: FPGA time 20480 after group end 0 needs "
                                          r"overflow wait 1, got None$"):
        encode_playback(bad_wait)
    with pytest.raises(FormatError, match=r"^item 1: FPGA time 3 out of range >= 6 \(6 clocks "
                                          r"after the previous group's end 0\)$"):
        encode_playback([FpgaConfigItem(0), FpgaConfigItem(3, end=True)])
    with pytest.raises(FormatError, match=r"^playback program has no end-of-program item$"):
        encode_playback([FpgaConfigItem(0)])
    with pytest.raises(FormatError, match=r"^playback program has no end-of-program marker$"):
        decode_playback(GOLDEN_PROGRAM[:4])
    with pytest.raises(FormatError, match=r"^playback entry 4: program truncated \(3 entries "
                                          r"needed, 2 left\)$"):
        decode_playback(GOLDEN_PROGRAM[:3])
    with pytest.raises(FormatError, match=r"^playback entry 12: 2 entries follow the "
                                          r"end-of-program marker$"):
        decode_playback(GOLDEN_PROGRAM + [0])


_gap = st.one_of(st.integers(0, 12), st.integers(13, 2000), st.integers(0x3000, 0x30000))


@settings(max_examples=150, deadline=None)
@given(st.integers(62, 40000), st.lists(st.tuples(_gap, st.integers(0, 0x3FFF)), max_size=250),
       st.integers(0, 60), st.integers(0, 100))
def test_playback_round_trip(first, gaps, delay, extra):
    t, pulses = first + 2 * delay, []
    for g, label in gaps:
        t += g
        pulses.append((t, label))
    try:
        items = build_playback(pulses, t + extra, delay=delay)
    except FormatError as e:
        assume("too dense" not in str(e))
        raise
    words = encode_playback(items)
    assert decode_playback(words) == items
    assert playback_pulses(decode_playback(words), delay=delay) == pulses
    groups = [i for i in items if isinstance(i, PulseGroup)]
    assert all(b.time - (a.time + len(a.pulses) - 1) >= 6 for a, b in zip(groups, groups[1:]))


# -- trace, §2.4 ---------------------------------------------------------------------------------
def test_trace_golden_entry_and_end():
    p = TracePulse.from_entry(0x02E2842F)
    assert (p.label, p.timestamp, p.fpga_msb) == (LABEL, 1071, 0)
    assert p.entry == 0x02E2842F == (LABEL << 15) | 1071
    words = encode_trace([(1071, LABEL)])
    assert words == [0x4000000002E2842F, TRACE_END_WORD]
    assert decode_trace(words) == [(1071, LABEL)]
    with pytest.raises(FormatError, match=r"^trace has no end-of-trace word "
                                          r"0x4000e11d40000000$"):
        decode_trace(words[:1])
    with pytest.raises(FormatError, match=r"^trace entry 0x4000e11d is not a pulse \(bits 31:30 "
                                          r"= 0b01, pulse = 0b00\)$"):
        TracePulse.from_entry(0x4000E11D)


def test_trace_overflow_and_late_pulses():
    # stamped at 0x7FFF (before the wrap), arrives at 0x8002 (after the overflow entry)
    words = encode_trace([(10, 1), (0x7FFF, 2, 0x8002), (0x8005, 3)])
    ov = TRACE_OVERFLOW.encode(overflow=1, count=1)
    assert trace_entries(words) == [TracePulse(1, 10).entry, 0x40000000, 0x40000000, ov,
                                    TracePulse(2, 0x7FFF, 0).entry, TracePulse(3, 5, 0).entry]
    assert decode_trace(words) == [(10, 1), (0x7FFF, 2), (0x8005, 3)]
    # Choice: wraps = overflow entries seen; the entry's own count (99) is not used.
    odd = [(TRACE_OVERFLOW.encode(overflow=1, count=99) << 32) | 0x40000000,
           TracePulse(4, 7).entry | (0x40000000 << 32), TRACE_END_WORD]
    assert decode_trace(odd) == [(0x8007, 4)]
    # a "late" pulse before any overflow would be negative: dropped
    assert decode_trace([TracePulse(5, 0x4000, 0).entry | (0x40000000 << 32),
                         TRACE_END_WORD]) == []
    with pytest.raises(FormatError, match=r"^trace entry 0: overflow entry 0x80000001 in a low "
                                          r"half; allowed only at odd entries$"):
        decode_trace([0x40000000_80000001, TRACE_END_WORD])
    with pytest.raises(FormatError, match=r"^trace pulse 0: arrival 20000 - time 0 out of range "
                                          r"0\.\.16383$"):
        encode_trace([(0, 1, 20000)])
    with pytest.raises(FormatError, match=r"^trace pulse 1: arrival 5 is before the previous "
                                          r"arrival 9; pulses must be sorted by arrival$"):
        encode_trace([(9, 1), (5, 1)])
    with pytest.raises(FormatError, match=r"^trace word 0: 1 words follow the end-of-trace "
                                          r"word$"):
        decode_trace([TRACE_END_WORD, 0])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200000), st.integers(0, 0xFFF),
                          st.integers(0, (1 << 14) - 1)), max_size=100))
def test_trace_round_trip(raw):
    pulses = sorted(((t, label, t + lat) for t, label, lat in raw), key=lambda p: p[2])
    words = encode_trace(pulses)
    assert words[-1] == TRACE_END_WORD
    assert decode_trace(words) == [(t, label) for t, label, _ in pulses]


# -- GbitLink, hicann-digital §8.2 ---------------------------------------------------------------
def test_gbitlink_golden():
    g = GbitLink.of({0: D.TO_DNC, 7: D.TO_HICANN}, timestamp_enable=True)
    assert g.word() == 0x10181
    inst = HICANN_MAP["spl1_control"]
    assert g.write() == (inst.tag, inst.address("gbitlink"), 0x10181)
    assert GbitLink.from_word(0x10181) == g
    assert GbitLink().word() == 0
    assert spl1_reset_write() == (inst.tag, inst.address("gbitlink"), 0x80000000)


def test_gbitlink_errors():
    with pytest.raises(ValueError, match=r"^GbitLinkOnHICANN 8 out of range 0\.\.7$"):
        GbitLink.of({8: D.TO_DNC})
    with pytest.raises(ValueError, match=r"^GbitLink needs 8 directions \(GbitLinkOnHICANN "
                                         r"0\.\.7\), got 7$"):
        GbitLink((D.TO_DNC,) * 7)
    with pytest.raises(ValueError, match=r"^GbitLinkOnHICANN 3: direction 'to_dnc' is not a "
                                         r"GbitLinkDirection$"):
        GbitLink.of({3: "to_dnc"})
    with pytest.raises(ValueError, match=r"^SPL1 control word 0x80000000 is a reset \(bit 31\), "
                                         r"not a GbitLink configuration$"):
        GbitLink.from_word(0x80000000)


@given(st.lists(st.sampled_from(list(D)), min_size=8, max_size=8), st.booleans())
def test_gbitlink_round_trip(dirs, ts):
    g = GbitLink(tuple(dirs), ts)
    assert GbitLink.from_word(g.word()) == g
    for i, d in enumerate(dirs):
        assert (g.word() >> (7 - i) & 1) == (d is not D.DISABLED)


def test_no_warnings_in_strict_mode():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_playback([(1000, 1), (1001, 2), (1002, 3)], 1100)
