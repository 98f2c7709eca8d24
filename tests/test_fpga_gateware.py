"""FPGA gateware of the layer-2 path: playback release scheduler and trace recorder against their
twins and the host formats (spec host-stack.md §2.3, §2.4, §2.9), and the FPGA -> HICANN -> FPGA
loopback through playback, the HICANN's DNC interface with the DNC-merger loopback, and the trace
(hicann-digital.md §7.4, §8.4; host-stack.md §2.9 measured loopback delay)."""

import random

import pytest
from amaranth import C, Cat, ClockDomain, DomainRenamer, Elaboratable, Module
from amaranth.lib.fifo import AsyncFIFO
from amaranth.sim import Simulator

from bss1.firmware.formats import (TRACE_END_WORD, PulseAddress, PulseGroup, build_playback,
                                   decode_playback, decode_trace, encode_trace,
                                   playback_program)
from bss1.firmware.playback import Playback, PlaybackModel, PlaybackState, play
from bss1.firmware.trace import TraceModel, TraceRecorder
from bss1.host.gbitlink import GbitLink, GbitLinkDirection
from bss1.rtl.dnc_interface import DncInterface
from bss1.rtl.merger import MergerTree
from bss1.rtl.registers import HICANN_MAP
from bss1.rtl.sim import bus_write

LABEL = 0x5C5       # DNC 0, HICANNOnDNC(1, 0), GbitLink 0, L1 address 5 (§2.3 / §8.3 example)
GOLDEN_PROGRAM = [0x0000000000050000, 0x8000000000000000, 0x171407D0000803B6,
                  0x00000000171407D8, 0x00000000000509C4, 0xC000000000000003]
GBIT = HICANN_MAP["spl1_control"].type.reg("gbitlink")


# -- playback --------------------------------------------------------------------------------------
def run_playback(words, *, start_at=8, cycles=None, valid=None, ready=None):
    """Clock the gateware and the twin side by side; assert equal outputs every cycle. ``valid``
    / ``ready``: functions cycle -> bool for the program stream and the pulse output."""
    dut = Playback()
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    mdl = PlaybackModel()
    log = {"pulses": [], "stop": [], "read": [], "late": 0, "done_at": None, "block": []}
    valid = valid or (lambda n: True)
    ready = ready or (lambda n: True)

    async def tb(ctx):
        k = 0
        n = 0
        while cycles is None or n < cycles:
            word = words[k] if k < len(words) and valid(n) else None
            ctx.set(dut.program.valid, word is not None)
            ctx.set(dut.program.payload, word or 0)
            ctx.set(dut.start, n == start_at)
            r = ready(n)
            ctx.set(dut.pulse.ready, r)
            exp = mdl.step(word, start=n == start_at, pulse_ready=r)
            got = {"ready": bool(ctx.get(dut.program.ready)),
                   "pulse": ((ctx.get(dut.pulse.payload.label),
                              ctx.get(dut.pulse.payload.timestamp))
                             if ctx.get(dut.pulse.valid) else None),
                   "stop_trace": bool(ctx.get(dut.stop_trace)),
                   "start_trace_read": bool(ctx.get(dut.start_trace_read)),
                   "block_trace": bool(ctx.get(dut.block_trace)),
                   "done": bool(ctx.get(dut.done)), "time": ctx.get(dut.time),
                   "running": bool(ctx.get(dut.running)), "late": ctx.get(dut.late)}
            want = {key: exp[key] for key in got}
            assert got == want, f"cycle {n}: gateware {got} != model {want}"
            if got["pulse"] is not None and r:
                log["pulses"].append((got["time"], *got["pulse"]))
            if got["stop_trace"]:
                log["stop"].append(got["time"])
            if got["start_trace_read"]:
                log["read"].append(got["time"])
            log["block"].append(got["block_trace"])
            if got["done"] and log["done_at"] is None:
                log["done_at"] = n
                if cycles is None:
                    break
            k += got["ready"]
            n += 1
            await ctx.tick()
        log["late"] = ctx.get(dut.late)
        log["words_taken"] = k

    sim.add_testbench(tb)
    sim.run()
    return log


def test_playback_golden_program_through_the_gateware():
    log = run_playback(GOLDEN_PROGRAM)
    # group of 2 at FPGA time 475: one pulse per clock; end item at 1250
    assert log["pulses"] == [(475, LABEL, 1000), (476, LABEL, 1004)]
    assert log["stop"] == [1250] and log["read"] == [1250]
    assert log["late"] == 0 and log["words_taken"] == 6
    assert not any(log["block"])
    assert play(GOLDEN_PROGRAM) == {"pulses": log["pulses"], "late": 0, "end": 1250,
                                    "config": [(0, False, False, False),
                                               (1250, True, True, False)]}


def test_playback_trace_blocked_program_sets_block_trace():
    words = playback_program([(200, 3)], 400, enable_trace=False)
    log = run_playback(words)
    # the config item acts at FPGA time 0 (cycle 9), the level is registered and follows the
    # latest FPGA config item: the end item (FPGA time 200, cycle 209) clears it
    assert log["block"] == [False] * 10 + [True] * 200 + [False] * (len(log["block"]) - 210)
    assert log["pulses"] == [(100 - 25, 3, 200)]


def _released_times(items):
    out = []
    for it in items:
        if isinstance(it, PulseGroup):
            out += [(it.time + i, lab, ts) for i, (lab, ts) in enumerate(it.pulses)]
    return out


def test_playback_random_programs_lock_step_with_overflow_waits():
    rng = random.Random(7)
    t, pulses = 60, []
    for _ in range(60):
        t += rng.choice([0, 1, 2, 3, 12, 40, 300])
        pulses.append((t, rng.randrange(1 << 14)))
    # a hop over two counter periods: an overflow wait
    t += 2 * (1 << 15) + 500
    pulses += [(t, 1), (t + 2, 2)]
    items = build_playback(pulses, t + 100)
    words = playback_program(pulses, t + 100)
    assert any(type(i).__name__ == "OverflowWait" for i in decode_playback(words))
    log = run_playback(words)
    assert log["pulses"] == _released_times(items)
    assert log["late"] == 0
    assert play(words)["pulses"] == log["pulses"]
    # a program stream with gaps: same pulses, never early, every late one counted
    gappy = run_playback(words, valid=lambda n: n % 5 != 3)
    planned = _released_times(items)
    assert [p[1:] for p in gappy["pulses"]] == [p[1:] for p in planned]
    assert all(g[0] >= p[0] for g, p in zip(gappy["pulses"], planned))
    assert gappy["late"] == sum(g[0] > p[0] for g, p in zip(gappy["pulses"], planned))


def test_playback_starved_and_blocked_pulses_are_late_not_early():
    words = playback_program([(100, 7), (102, 8), (2000, 9)], 2100)
    # the output refuses pulses around the first group's time: they leave late, in order
    log = run_playback(words, ready=lambda n: not 8 + 25 <= n <= 8 + 40)
    assert [(lab, ts) for _, lab, ts in log["pulses"]] == [(7, 100), (8, 102), (9, 2000)]
    # start in cycle 8: FPGA time = cycle - 9; refused in cycles 33..48 = times 24..39
    assert [t for t, _, _ in log["pulses"]] == [40, 41, 975]
    assert log["late"] == 2
    # program words arrive only after the first release time: late as well, never early
    log = run_playback(words, valid=lambda n: n > 60)
    assert [t for t, _, _ in log["pulses"]][2] == 975
    assert all(t >= 25 for t, _, _ in log["pulses"][:2]) and log["late"] == 2


def test_playback_model_bad_input():
    with pytest.raises(ValueError, match=r"^program word -1 out of range "
                                         r"0\.\.0xffffffffffffffff$"):
        PlaybackModel().step(-1)
    with pytest.raises(ValueError, match=r"^playback program of 2 words ends without an "
                                         r"end-of-program marker$"):
        play(GOLDEN_PROGRAM[:2])
    assert PlaybackModel().state == PlaybackState.FETCH


# -- trace -----------------------------------------------------------------------------------------
def run_trace(pulse_at, *, stop_at, cycles, block=lambda n: False, start_at=2):
    """``pulse_at``: cycle -> (label, ts) or None. Lock-step against the twin. Returns the words,
    the accepted pulses with their arrival systime, and the systime at stop."""
    dut = TraceRecorder()
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    mdl = TraceModel()
    log = {"words": [], "accepted": [], "until": None}

    async def tb(ctx):
        for n in range(cycles):
            p = pulse_at(n)
            ctx.set(dut.pulse_in.valid, p is not None)
            if p is not None:
                ctx.set(dut.pulse_in.payload, {"label": p[0], "timestamp": p[1]})
            ctx.set(dut.start, n == start_at)
            ctx.set(dut.stop, n == stop_at)
            ctx.set(dut.block, block(n))
            systime = ctx.get(dut.systime)
            assert systime == mdl.systime
            exp = mdl.step(p, start=n == start_at, stop=n == stop_at, block=block(n))
            got_ready = bool(ctx.get(dut.pulse_in.ready))
            word = ctx.get(dut.word) if ctx.get(dut.word_valid) else None
            assert (got_ready, word) == (exp["ready"], exp["word"]), f"cycle {n}"
            if word is not None:
                log["words"].append(word)
            if exp["recorded"]:
                log["accepted"].append((p, systime))
            if n == stop_at:
                log["until"] = systime + 2
            await ctx.tick()
        assert ctx.get(dut.done)

    sim.add_testbench(tb)
    sim.run()
    return log


def test_trace_golden_entry_and_end_word():
    # §2.4: the looped-back pulse, label 0x5C5, timestamp 1071 -> entry 0x02E2842F
    log = run_trace(lambda n: (LABEL, 1071) if n == 10 else None, stop_at=20, cycles=30)
    assert log["words"] == [0x40000000_02E2842F, TRACE_END_WORD]
    assert decode_trace(log["words"]) == [(1071, LABEL)]


def test_trace_random_pulses_with_wraps_equal_the_host_encoder():
    rng = random.Random(3)
    stream = {}
    for n in range(40, 17000):
        if rng.random() < 0.02 or 16370 <= n <= 16395:
            stream[n] = rng.randrange(1 << 12)
    log = run_trace(lambda n: (stream[n], (2 * n - 37) % 2**15) if n in stream else None,
                    stop_at=16700, cycles=16720, block=lambda n: 1000 <= n < 1100)
    pulses = []
    for (label, ts), arrival in log["accepted"]:
        d = (arrival - ts) % 2**15
        pulses.append((arrival - d, label, arrival))
    assert any(arrival >= 2**15 for _, _, arrival in pulses)      # crossed a wrap
    assert log["words"] == encode_trace(pulses, until=log["until"])
    assert decode_trace(log["words"]) == [(t, lab) for t, lab, _ in pulses]


def test_trace_bad_input():
    with pytest.raises(ValueError, match=r"^trace end 10 out of range >= 20 \(the last "
                                         r"arrival\)$"):
        encode_trace([(20, 1)], until=10)
    with pytest.raises(ValueError, match=r"^trace_pulse\.label: value 4096 out of range "
                                         r"0\.\.4095$"):
        TraceModel().step((4096, 0))
    # wraps up to the stop time are written even without later pulses
    assert encode_trace([(5, 1)], until=2**15) == [
        0x40000000_00000005 | 1 << 15, 0x80000001_40000000, TRACE_END_WORD]


# -- loopback: playback -> DNC interface -> DNC mergers (loopback) -> DNC interface -> trace ------
class LoopbackTop(Elaboratable):
    """One FPGA (domain ``fpga``, 125 MHz) and one HICANN (``sync``, 100 MHz) joined by a link of
    two asynchronous FIFOs; HW channel 7 (GbitLink 0) loops into channel 6 (GbitLink 1)."""

    PORT = 2        # HICANNOnDNC(1, 0)

    def __init__(self):
        self.playback = DomainRenamer("fpga")(Playback())
        self.trace = DomainRenamer("fpga")(TraceRecorder())
        self.dnc = DncInterface()
        self.tree = MergerTree()

    def elaborate(self, platform):
        m = Module()
        m.domains.fpga = ClockDomain("fpga")
        pb, tr, dnc, tree = self.playback, self.trace, self.dnc, self.tree
        m.submodules.playback, m.submodules.trace = pb, tr
        m.submodules.dnc, m.submodules.tree = dnc, tree
        m.submodules.down = down = AsyncFIFO(width=24, depth=8, w_domain="fpga",
                                             r_domain="sync")
        m.submodules.up = up = AsyncFIFO(width=24, depth=8, w_domain="sync", r_domain="fpga")
        label = pb.pulse.payload.label
        m.d.comb += [
            down.w_en.eq(pb.pulse.valid & (label[9:12] == self.PORT)),
            down.w_data.eq(Cat(pb.pulse.payload.timestamp, label[:9])),
            pb.pulse.ready.eq(down.w_rdy),
            dnc.l2_in.valid.eq(down.r_rdy),
            dnc.l2_in.payload.eq(down.r_data),
            down.r_en.eq(dnc.l2_in.ready),
            tree.l2_rx.eq(dnc.merger_in),
            dnc.merger_out.eq(tree.dnc_out),
            tree.dnc_select.eq(0b1100_0000),     # DNC mergers 6 and 7 take input 1
            tree.loopback.eq(0b0100_0000),       # merger 6 input 1 = output of merger 7
            up.w_en.eq(dnc.l2_out.valid),
            up.w_data.eq(dnc.l2_out.payload),
            dnc.l2_out.ready.eq(up.w_rdy),
            tr.pulse_in.valid.eq(up.r_rdy),
            tr.pulse_in.payload.timestamp.eq(up.r_data[:15]),
            tr.pulse_in.payload.label.eq(Cat(up.r_data[15:24], C(self.PORT, 3))),
            up.r_en.eq(tr.pulse_in.ready),
            tr.start.eq(pb.start),
            tr.stop.eq(pb.stop_trace),
            tr.block.eq(pb.block_trace),
        ]
        return m


def test_fpga_hicann_fpga_loopback_delay():
    pulses = [(1000, LABEL), (1004, LABEL)]
    words = playback_program(pulses, 2500, delay=25)
    assert words == GOLDEN_PROGRAM
    top = LoopbackTop()
    sim = Simulator(top)
    # both clocks have a rising edge at 2 ns + 40 ns * j: FPGA edge 10 and HICANN edge 8 at 82 ns
    sim.add_clock(8e-9, domain="fpga", phase=2e-9)
    sim.add_clock(10e-9, domain="sync", phase=2e-9)
    pb, tr, dnc = top.playback, top.trace, top.dnc
    rec = {"sent": [], "released": [], "captured": [], "arrived": [], "words": []}
    word = GbitLink.of({0: GbitLinkDirection.TO_HICANN, 1: GbitLinkDirection.TO_DNC},
                       timestamp_enable=True).word()

    async def hicann(ctx):
        assert not await bus_write(ctx, dnc.spl1_control, GBIT.offset, word)   # 2 edges
        await ctx.tick().repeat(5)
        ctx.set(dnc.systime_reset, 1)
        await ctx.tick()                                                      # edge 8
        ctx.set(dnc.systime_reset, 0)
        for _ in range(1100):
            s = ctx.get(dnc.systime)
            if ctx.get(dnc.merger_in[7].valid):
                rec["released"].append((s, ctx.get(dnc.merger_in[7].addr)))
            if ctx.get(dnc.merger_out[6].valid):
                rec["captured"].append(s)
            await ctx.tick()

    async def fpga(ctx):
        k = 0
        for n in range(1300):
            ctx.set(pb.program.valid, k < len(words))
            ctx.set(pb.program.payload, words[k] if k < len(words) else 0)
            ctx.set(pb.start, n == 10)
            if ctx.get(pb.pulse.valid) and ctx.get(pb.pulse.ready):
                rec["sent"].append((ctx.get(pb.time), ctx.get(pb.pulse.payload.timestamp)))
            if ctx.get(tr.pulse_in.valid) and ctx.get(tr.pulse_in.ready):
                rec["arrived"].append((ctx.get(tr.systime), ctx.get(tr.pulse_in.payload.label),
                                       ctx.get(tr.pulse_in.payload.timestamp)))
            if ctx.get(tr.word_valid):
                rec["words"].append(ctx.get(tr.word))
            k += ctx.get(pb.program.ready)
            await ctx.tick("fpga")
        assert ctx.get(tr.done)

    sim.add_testbench(hicann)
    sim.add_testbench(fpga)
    sim.run()
    assert rec["sent"] == [(475, 1000), (476, 1004)]
    # released in the HICANN cycle covering the timestamp, on the right channel and address
    assert [a for _, a in rec["released"]] == [5, 5]
    for (s, _), ts in zip(rec["released"], (1000, 1004)):
        assert s <= ts < s + 3
    back = PulseAddress.from_hw(0, LoopbackTop.PORT, 6, 5).label    # GbitLink 1, address 5
    assert [lab for _, lab, _ in rec["arrived"]] == [back, back]
    assert [ts for _, _, ts in rec["arrived"]] == rec["captured"]
    traced = decode_trace(rec["words"])
    assert [lab for _, lab in traced] == [back, back]
    delays = [t - ts for (t, _), ts in zip(traced, (1000, 1004))]
    round_trip = [arr - 2 * sent for (arr, _, _), (sent, _) in zip(rec["arrived"], rec["sent"])]
    # HICANN-internal loopback, release -> timestamp: DNC merger 7 input register, its output
    # register, merger 6 input, output = 4 core cycles = 10 ticks from the first pulse's release
    # cycle (the second is released 1 tick into its cycle: 8 = 10 - 2 rounding of the window)
    assert [c - s for c, (s, _) in zip(rec["captured"], rec["released"])] == [10, 10]
    assert delays == [10, 8]
    # FPGA release -> trace arrival (DNC cycles) = lead of the timestamp over the release
    # (2 * 25 and 2 * 25 + 2) + HICANN loopback + 4 for the upward link FIFO (2 FPGA clocks)
    leads = [ts - 2 * sent for sent, ts in rec["sent"]]
    assert leads == [50, 52]
    assert [r - ld - d for r, ld, d in zip(round_trip, leads, delays)] == [4, 4]
    assert round_trip == [64, 64]
    print(f"loopback: traced - sent = {delays} DNC cycles; FPGA release -> trace arrival = "
          f"{round_trip} DNC cycles")
