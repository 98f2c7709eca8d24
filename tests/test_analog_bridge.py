"""The analog bridge (rtl/analog_bridge.py) and the window adapter (models/analog_adapter.py) in
amaranth.sim: strobe capture under bursts, fire release at the stamps, overflow, the adapter's
lookahead contract, and the closed loop BG -> L1 -> drivers -> strobes -> analog double -> fire ->
priority encoder -> mergers -> sending repeater -> L1 against HicannModel, event for event."""

import random

import numpy as np
import pytest
from amaranth.lib import data
from amaranth.sim import Simulator

import analog_bridge_scenario as scen
from bss1.models.analog_adapter import (FIRE_DTYPE, AmaranthAnalogAdapter, LookaheadError,
                                        WindowSchedule)
from bss1.rtl.analog_bridge import AnalogBridge, HicannAnalogTop
from bss1.rtl.cocotb_util import pack
from bss1.rtl.l1 import N_DRIVERS, L1Event, Strobe


def _sim(dut, *benches, processes=()):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for b in benches:
        sim.add_testbench(b)
    for p in processes:
        sim.add_process(p)
    sim.run()


_STROBES = data.ArrayLayout(Strobe, N_DRIVERS)


def _strobe_vector(active: dict) -> int:
    """{driver: (strobe, addr)} -> the packed strobes port value."""
    return pack(_STROBES, [{"strobe": s, "addr": a} for s, a in
                           (active.get(L, (0, 0)) for L in range(N_DRIVERS))])


def _random_bursts(rng, cycles, p_cycle, max_drivers):
    """Per cycle: {driver: (strobe, addr)}; drivers with strobe 0 but an address are not
    strobing and must not be captured."""
    out = []
    for _ in range(cycles):
        act = {}
        if rng.random() < p_cycle:
            for L in rng.sample(range(N_DRIVERS), rng.randrange(1, max_drivers + 1)):
                act[L] = (rng.randrange(1, 16), rng.randrange(16))
            for L in rng.sample(range(N_DRIVERS), 3):
                act.setdefault(L, (0, rng.randrange(16)))
        out.append(act)
    return out


# -- strobe capture ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_bursts_captured_exactly_once_with_stamps(seed):
    """Random bursts of up to 224 drivers per cycle, random frozen cycles and random back-pressure:
    the records are exactly the (run cycle, driver, strobe, addr) of every strobing driver, in
    cycle then driver order; frozen cycles capture nothing; no overflow."""
    rng = random.Random(seed)
    cycles = 300
    bursts = _random_bursts(rng, cycles, 0.25, 40)
    bursts[7] = {L: (1 + L % 15, L % 16) for L in range(N_DRIVERS)}     # every driver at once
    runs = [int(rng.random() < 0.8) for _ in range(cycles)]
    dut = AnalogBridge(snapshot_depth=64)
    expected, got, state = [], [], {}

    async def drive(ctx):
        for c in range(cycles):
            ctx.set(dut.run, runs[c])
            ctx.set(dut.strobes.as_value(), _strobe_vector(bursts[c]))
            if runs[c]:
                stamp = ctx.get(dut.cycle)
                expected.extend((stamp, L, s, a) for L, (s, a) in sorted(bursts[c].items())
                                if s)
            await ctx.tick()
        ctx.set(dut.run, 0)
        ctx.set(dut.strobes.as_value(), 0)
        await ctx.tick().until(~dut.strobe_rec.valid)
        state["captured"] = ctx.get(dut.strobes_captured)
        state["lost"] = ctx.get(dut.strobes_lost)
        state["overflow"] = ctx.get(dut.overflow)

    async def consume(ctx):
        prng = random.Random(seed + 100)
        while True:
            ctx.set(dut.strobe_rec.ready, int(prng.random() < 0.7))
            await ctx.delay(0)
            if ctx.get(dut.strobe_rec.valid) and ctx.get(dut.strobe_rec.ready):
                p = ctx.get(dut.strobe_rec.payload)
                got.append((p.stamp, p.driver, p.strobe, p.addr))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(consume, background=True)
    sim.run()
    assert sum(1 for s, a in bursts[7].values() if s) == N_DRIVERS
    assert len(expected) > 1000
    assert got == expected
    assert state == {"captured": len(expected), "lost": 0, "overflow": 0}


def test_overflow_counts_lost_records_and_sticks():
    """Depth 4, nobody reading: the 5th and 6th strobe cycles are lost and counted; the first 4
    come out intact afterwards; the flag stays set."""
    dut = AnalogBridge(snapshot_depth=4)
    per_cycle = [3, 1, 4, 2, 5, 6]
    got, state = [], {}

    async def bench(ctx):
        ctx.set(dut.run, 1)
        for c, n in enumerate(per_cycle):
            ctx.set(dut.strobes.as_value(), _strobe_vector({10 * c + k: (2, c) for k in range(n)}))
            await ctx.tick()
        ctx.set(dut.strobes.as_value(), 0)
        await ctx.tick()
        state["mid"] = (ctx.get(dut.strobes_captured), ctx.get(dut.strobes_lost),
                        ctx.get(dut.overflow))
        ctx.set(dut.strobe_rec.ready, 1)
        while ctx.get(dut.strobe_rec.valid):
            p = ctx.get(dut.strobe_rec.payload)
            got.append((p.stamp, p.driver))
            await ctx.tick()
        await ctx.tick().repeat(3)
        state["end"] = ctx.get(dut.overflow)

    _sim(dut, bench)
    assert state["mid"] == (10, 11, 1)
    assert state["end"] == 1
    assert got == [(c, 10 * c + k) for c, n in enumerate(per_cycle[:4]) for k in range(n)]


# -- fire release -----------------------------------------------------------------------------
def test_fire_commands_fire_at_their_stamps():
    """Commands queued while frozen and while running, 13 denmems in one cycle, stamps beyond
    the horizon (they wait in the FIFO): each denmem fires exactly in the run cycle whose counter
    equals its stamp; frozen cycles fire nothing and do not advance time. (The FIFO moves one
    command per cycle into the wheel, so a burst of k equal stamps needs k cycles inside the
    horizon; the adapter gives it frozen cycles.)"""
    rng = random.Random(5)
    dut = AnalogBridge(horizon=16)
    cmds = sorted({(rng.randrange(4, 230), rng.randrange(512)) for _ in range(60)})
    cmds += [(100, n) for n in range(0, 512, 41) if (100, n) not in cmds]
    cmds.sort()
    fired, state = [], {}

    async def push(ctx):
        for i, (stamp, denmem) in enumerate(cmds):
            ctx.set(dut.fire_cmd.payload, {"stamp": stamp, "denmem": denmem})
            ctx.set(dut.fire_cmd.valid, 1)
            await ctx.tick().until(dut.fire_cmd.ready)
        ctx.set(dut.fire_cmd.valid, 0)

    async def clock(ctx):
        prng = random.Random(6)
        for _ in range(400):
            run = int(prng.random() < 0.6)
            ctx.set(dut.run, run)
            if run:
                f = ctx.get(dut.fire)
                c = ctx.get(dut.cycle)
                fired.extend((c, n) for n in range(512) if f >> n & 1)
            else:
                assert ctx.get(dut.fire) == 0
            await ctx.tick()
        state["late"] = ctx.get(dut.late)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(clock)
    sim.add_testbench(push, background=True)
    sim.run()
    assert fired == sorted(set(cmds))
    assert sum(1 for c, _ in fired if c == 100) >= 13
    assert state["late"] == 0


def test_late_commands_fire_at_once_and_count():
    dut = AnalogBridge()
    fired, state = [], {}

    async def bench(ctx):
        ctx.set(dut.run, 1)
        await ctx.tick().repeat(20)                       # cycle 20
        cmds = [(5, 7), (20, 9), (23, 11)]
        for i in range(8):
            if i < len(cmds):
                ctx.set(dut.fire_cmd.payload, {"stamp": cmds[i][0], "denmem": cmds[i][1]})
            ctx.set(dut.fire_cmd.valid, int(i < len(cmds)))
            f, c = ctx.get(dut.fire), ctx.get(dut.cycle)
            fired.extend((c, n) for n in range(512) if f >> n & 1)
            await ctx.tick()
        state["late"] = ctx.get(dut.late)

    _sim(dut, bench)
    # pushed in cycles 20, 21, 22, each leaves the FIFO one cycle later: stamps 5 and 20 are
    # late, 23 is on time
    assert fired == [(21, 7), (22, 9), (23, 11)]
    assert state["late"] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"horizon": 3}, "fire horizon 3 is not a power of two in 2..256"),
    ({"snapshot_depth": 0}, "snapshot depth 0 is not a power of two in 2..1024"),
    ({"command_depth": 2048}, "command FIFO depth 2048 is not a power of two in 2..1024"),
])
def test_bad_bridge_parameters(kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        AnalogBridge(**kwargs)


# -- the adapter ------------------------------------------------------------------------------
class _Silent:
    def step(self, n, strobes):
        return None


def test_window_schedule_checks():
    with pytest.raises(ValueError, match=r"^window 17 out of range 1\.\.16$"):
        WindowSchedule(_Silent(), window=17)
    with pytest.raises(TypeError, match=r"^analog core 3 has no step\(n_cycles, strobes\) "
                                        r"method$"):
        WindowSchedule(3)

    class Early:
        cycle = 0

        def step(self, n, strobes):
            self.cycle += n
            out = np.zeros(1, FIRE_DTYPE)
            out[0] = (self.cycle - 1, 4)            # inside the window just stepped
            return out

    s = WindowSchedule(Early(), window=8)
    s.begin(0)
    with pytest.raises(LookaheadError, match=r"^fire of denmem 4 at cycle 7 out of range 8\.\. "
                                             r"\(fires must lie at least one window of 8 "
                                             r"cycles ahead\)$"):
        s.step([])
    s = WindowSchedule(_Silent(), window=8)
    s.begin(16)
    with pytest.raises(LookaheadError, match=r"^strobe of driver 3 stamped at cycle 24 out of "
                                             r"range 16\.\.23 \(the window just run\)$"):
        s.step([(24, 3, 1, 0)])

    class Bad:
        def step(self, n, strobes):
            return np.array([(100, 512)], FIRE_DTYPE)
    s = WindowSchedule(Bad())
    s.begin(0)
    with pytest.raises(ValueError, match=r"^fired denmem 512 out of range 0\.\.511$"):
        s.step([])

    class Ahead:
        cycle = 50

        def step(self, n, strobes):
            return None
    with pytest.raises(LookaheadError, match=r"^analog core at cycle 50 is ahead of the RTL: "
                                             r"allowed core cycles 0\.\.10$"):
        WindowSchedule(Ahead()).begin(10)


@pytest.mark.parametrize("window", [4, 8, 12])
def test_adapter_loop_on_the_bridge(window):
    """The adapter on the bridge alone: a strobe source that depends on the cycle counter only
    (bursts up to all 224 drivers), the double firing 12 cycles later: every strobe reaches the
    double once with its stamp, and every fire line rises exactly at strobe + 12 (so many in
    one cycle)."""
    rng = random.Random(window)
    dut = AnalogBridge()
    pattern = {c: act for c, act in enumerate(_random_bursts(rng, 200, 0.15, 30))
               if act and c >= 3}
    pattern[41] = {L: (15, L % 16) for L in range(N_DRIVERS)}
    double = scen.DelayedFireDouble(delay=12, base=0)
    double.fire_target = lambda L: int(L) * 2 + 1
    adapter = AmaranthAnalogAdapter(dut, double, window=window)
    fires = []

    vectors = {c: _strobe_vector(act) for c, act in pattern.items()}

    async def source(ctx):
        while True:
            ctx.set(dut.strobes.as_value(), vectors.get(ctx.get(dut.cycle), 0))
            await ctx.tick()

    async def monitor(ctx):
        async for _, _, run, cycle, fire in ctx.tick().sample(dut.run, dut.cycle, dut.fire):
            if run and fire:
                fires.extend((cycle, n) for n in range(512) if fire >> n & 1)

    async def bench(ctx):
        ctx.set(dut.run, 1)
        await ctx.tick().repeat(3)
        await adapter.run(ctx, 264 - 264 % window)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_testbench(source, background=True)
    sim.add_process(monitor)
    sim.run()
    end = adapter.t
    expect = [(c, L, s, a) for c, act in sorted(pattern.items()) if c < end
              for L, (s, a) in sorted(act.items()) if s]
    assert double.log == expect
    assert fires == sorted({(c + 12, 2 * L + 1) for c, L, _, _ in expect if c + 12 < end})
    assert sum(1 for c, _ in fires if c == 53) == N_DRIVERS
    assert adapter.strobes == len(expect) and adapter.windows == (end - 3) // window


def _adapter_error(dut, pattern, window, pre_cycles):
    """Run the adapter on the bridge with strobes from ``pattern`` ({cycle: {driver: (s, a)}});
    returns the exception the adapter raised."""
    double = scen.DelayedFireDouble(delay=12, base=0)
    adapter = AmaranthAnalogAdapter(dut, double, window=window)
    vectors = {c: _strobe_vector(act) for c, act in pattern.items()}
    caught = []

    async def source(ctx):
        while True:
            ctx.set(dut.strobes.as_value(), vectors.get(ctx.get(dut.cycle), 0))
            await ctx.tick()

    async def bench(ctx):
        ctx.set(dut.run, 1)
        if pre_cycles:
            await ctx.tick().repeat(pre_cycles)
        try:
            await adapter.run(ctx, 10 * window)
        except LookaheadError as exc:
            caught.append(exc)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_testbench(source, background=True)
    sim.run()
    assert len(caught) == 1
    return str(caught[0])


def test_adapter_refuses_strobes_from_before_its_start():
    msg = _adapter_error(AnalogBridge(), {1: {9: (4, 2)}}, 8, 3)
    assert msg == "strobe of driver 9 stamped at cycle 1 out of range 3.. (before the adapter " \
                  "started)"


def test_adapter_raises_on_capture_overflow():
    """A capture FIFO smaller than the strobe cycles of a window loses records: the adapter
    stops with the count instead of stepping the core with a partial window."""
    pattern = {c: {L: (1, 0) for L in range(c % 5 + 1)} for c in range(10, 16)}
    msg = _adapter_error(AnalogBridge(snapshot_depth=4), pattern, 8, 0)
    # cycles 10..13 fit; 14 (5 drivers) and 15 (1 driver) are lost
    assert msg == "strobe capture FIFO overflowed: 6 strobe record(s) lost"


# -- the closed loop through the whole chip ---------------------------------------------------
def _l1(value: int, n: int):
    """[(line, addr)] of the valid events in an l1_array(n) value (offsets from the layout)."""
    return scen.events(value, L1Event.size, n, L1Event["valid"].offset, L1Event["addr"].offset,
                       (1 << L1Event["addr"].width) - 1)


def test_closed_loop_against_hicann_model():
    """BG event -> L1 -> 4 drivers -> strobes -> double fires 4 denmems 12 cycles later -> priority
    encoder -> merger -> DNC merger -> sending repeater -> HLine: the RTL coupled through the
    bridge and the adapter (window 8) and HicannModel coupled cycle by cycle to the same double
    agree on every DNC merger output, HLine, strobe and fire event (aligned on the first BG event)."""
    from bss1.rtl.config.sim import arq_transact
    from bss1.models.config_arq import HostArq

    dut = HicannAnalogTop()
    double = scen.DelayedFireDouble(cycle=0)
    adapter = AmaranthAnalogAdapter(dut, double, window=8)
    rtl = {"dnc_out": [], "hline": [], "fire": []}
    state = {}
    run_cycles = 640

    async def monitor(ctx):
        async for _, _, run, cycle, l2, hl, fire in ctx.tick().sample(
                dut.run, dut.cycle, dut.dnc_out.as_value(), dut.hline.as_value(), dut.fire):
            if not run:
                continue
            rtl["dnc_out"] += [(cycle, i, a) for i, a in _l1(l2, 8)]
            rtl["hline"] += [(cycle, i, a) for i, a in _l1(hl, 64)]
            if fire:
                rtl["fire"] += [(cycle, n) for n in range(512) if fire >> n & 1]

    async def bench(ctx):
        ctx.set(dut.run, 1)
        ctx.set(dut.l2_in.valid, 0)                     # layer-2 input tied off
        host = HostArq()
        for w in scen.base_writes():
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(300)                    # driver SRAM writes
        for w in scen.bg_enable_writes():
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx)
        state["start"] = ctx.get(dut.cycle)
        await adapter.run(ctx, run_cycles)
        for k in ("late", "strobes_lost", "bus_errors", "l1_conflict", "lost"):
            state[k] = ctx.get(getattr(dut, k))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_process(monitor)
    sim.run()
    assert {k: state[k] for k in ("late", "strobes_lost", "bus_errors", "l1_conflict")} == \
        {"late": 0, "strobes_lost": 0, "bus_errors": 0, "l1_conflict": 0}
    counts = scen.check_against_model(rtl, double, state["start"], adapter.t)
    assert counts["strobes"] >= 8 and counts["dnc_out"] >= 10, counts
