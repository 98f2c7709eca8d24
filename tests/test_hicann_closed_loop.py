"""HICANN-level closed loop with the real analog core in amaranth.sim (scenario and checks in
tests/hicann_closed_loop_scenario.py): a background generator's event goes L1 -> synapse drivers
-> synapses -> PSPs -> the AdEx neuron fires -> priority encoder -> merger tree -> sending repeater
-> HLine, the chip (HicannAnalogTop) coupled to AnalogCore by AmaranthAnalogAdapter, the synapse
controller's weight / decoder commands answered from the core's synapse array; scoreboard: the
model-only ClosedLoop (HicannModel + AnalogCore); the membrane trace written as .npz and as a VCD
with real vars, read back and checked."""

import numpy as np
import pytest
from amaranth.sim import Simulator

import hicann_closed_loop_scenario as S
from bss1.models.analog_adapter import AmaranthAnalogAdapter
from bss1.models.analog_array_service import amaranth_array_service
from bss1.models.config_arq import HostArq
from bss1.rtl.analog_bridge import HicannAnalogTop
from bss1.rtl.config.sim import arq_transact
from bss1.rtl.l1 import L1Event

RUN_CYCLES = 800


def _hline_events(value):
    size, voff = L1Event.size, L1Event["valid"].offset
    aoff, amask = L1Event["addr"].offset, (1 << L1Event["addr"].width) - 1
    out = []
    for i in range(64):
        e = value >> (size * i)
        if e >> voff & 1:
            out.append((i, e >> aoff & amask))
    return out


def run_rtl(run_cycles=RUN_CYCLES):
    """Configure the chip through the configuration stream, start the BG, run the adapter with
    the real core. Returns (hline events, fire events, recording core, access log, state)."""
    dut = HicannAnalogTop()
    core = S.make_core()
    writes = S.config_writes()
    S.direct_synapses(core.array)
    core.configure_drivers(S.mirror_model(writes))
    rec_core = S.RecordingCore(core)
    adapter = AmaranthAnalogAdapter(dut, rec_core, window=8)
    access_log = []
    hline, fire, state = [], [], {}

    async def monitor(ctx):
        async for _, _, run, cycle, hl, f in ctx.tick().sample(
                dut.run, dut.cycle, dut.hline.as_value(), dut.fire):
            if not run:
                continue
            if hl:
                hline.extend((cycle, y, a) for y, a in _hline_events(hl))
            if f:
                fire.extend((cycle, n) for n in range(512) if f >> n & 1)

    async def bench(ctx):
        ctx.set(dut.run, 1)
        ctx.set(dut.l2_in.valid, 0)                     # layer-2 input tied off
        host = HostArq()
        for w in writes:
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(300)                    # driver SRAM writes
        for w in S.bg_enable_writes():
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx)
        state["start"] = start = ctx.get(dut.cycle)
        core.neurons.cycle = start                      # the core starts fresh here
        await adapter.run(ctx, run_cycles)
        state["end"] = adapter.t
        for k in ("late", "strobes_lost", "bus_errors", "l1_conflict", "lost"):
            state[k] = ctx.get(getattr(dut, k))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    for tb in amaranth_array_service(dut, core.array, log=access_log):
        sim.add_testbench(tb, background=True)
    sim.add_process(monitor)
    sim.run()
    return hline, fire, rec_core, access_log, state


@pytest.fixture(scope="module")
def rtl_run():
    return run_rtl()


def test_bg_event_makes_the_neuron_fire_onto_the_sending_hline(rtl_run, tmp_path):
    hline, fire, rec_core, access_log, state = rtl_run
    assert {k: state[k] for k in ("late", "strobes_lost", "bus_errors", "l1_conflict")} == \
        {"late": 0, "strobes_lost": 0, "bus_errors": 0, "l1_conflict": 0}
    start, end = state["start"], state["end"]
    assert end - start == RUN_CYCLES
    bg = [c for c, y, a in hline if y == S.SENDING_HLINE and a == S.BG_ADDRESS]
    assert bg and bg[0] >= start
    summary = S.check_loop(hline, fire, rec_core, access_log, start=start, end=end, bg0=bg[0],
                           out_dir=tmp_path)
    assert summary["resets"] == len(summary["fires"]) >= 3
    assert (tmp_path / "membrane.vcd").stat().st_size > 0


def test_membrane_checks_can_fail():
    """The trace check rejects a trace whose reset comes one cycle off the fire."""
    rec, core, _, (t, v), _ = S.model_reference(400, 40)
    fires = [c for c, _ in rec.fire]
    strobes = sorted({c for c, *_ in rec.strobes})
    kw = dict(cycle_time=core.cycle_time, substeps=core.neurons.substeps,
              delay=core.neurons.delay_cycles)
    assert S.check_membrane(t, v[0], strobes, fires, **kw) == len(fires) >= 1
    with pytest.raises(AssertionError):
        S.check_membrane(t, v[0], strobes, [fires[0] + 1] + fires[1:], **kw)
    flat = v[0].copy()
    i = (strobes[0] - int(round(t[0] / core.cycle_time))) * core.neurons.substeps
    flat[i:i + 8] = flat[i]
    with pytest.raises(AssertionError):
        S.check_membrane(t, flat, strobes, fires, **kw)
    assert np.isfinite(v).all()
