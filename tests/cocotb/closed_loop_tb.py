"""cocotb testbenches of the HICANN-level closed loop with the real analog core on the generated
HicannAnalogTop (scenario and checks: tests/hicann_closed_loop_scenario.py).

Shape of cocotb's matrix_multiplier example: the configuration driver (CocotbConfigLink over the
config stream), the analog side (CocotbAnalogAdapter stepping AnalogCore one Timer per window,
CocotbArrayService answering the synapse controllers' array ports from the core's synapse array,
edge-triggered), event-driven monitors of the HLines and fire lines, the model-only ClosedLoop as
the model, the checker in the scenario module.

Run by tests/cocotb/test_closed_loop_icarus.py and bench/analog_bridge.py (``--core real``).
Environment knobs: BSS1_TB_CYCLES (cycles under the adapter), BSS1_TB_WINDOW, BSS1_TB_OUT (result
JSON; the membrane trace files go next to it).
"""

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import RisingEdge, Timer

import hicann_closed_loop_scenario as S
from analog_bridge_tb import PERIOD_NS, ChangeMonitor, _l1, start
from bss1.host.cocotb_link import CocotbConfigLink
from bss1.models.analog_adapter import CocotbAnalogAdapter
from bss1.models.analog_array_service import CocotbArrayService
from bss1.rtl.cocotb_util import handle


def _env_int(name, default):
    return int(os.environ.get(name, default))


async def setup(dut):
    """Reset, the real core, the array service, the configuration through the config stream,
    the BG enabled; the chip frozen on return with the core starting fresh at its cycle.
    Returns (tb, recording core, array service, access log, configuration seconds)."""
    tb = await start(dut)
    core = S.make_core()
    writes = S.config_writes()
    S.direct_synapses(core.array)
    core.configure_drivers(S.mirror_model(writes))
    log = []
    service = CocotbArrayService(dut, core.array, period_ns=PERIOD_NS, log=log)
    service.start()
    t0 = time.perf_counter()
    link = CocotbConfigLink(dut)
    link.writes(writes)
    await link.flush()
    await tb.run_cycles(300)                      # driver SRAM writes
    link.writes(S.bg_enable_writes())
    await link.flush()
    config_s = time.perf_counter() - t0
    # freeze at the adapter's phase (a quarter period after an edge) and start the core there
    await RisingEdge(handle(dut, "clk"))
    await Timer(PERIOD_NS * 250, unit="ps")
    handle(dut, "run").value = 0
    await Timer(PERIOD_NS * 1000, unit="ps")
    core.neurons.cycle = int(handle(dut, "cycle").value)
    return tb, S.RecordingCore(core), service, log, config_s


def _write(result):
    out = os.environ.get("BSS1_TB_OUT")
    if out:
        Path(out).write_text(json.dumps(result))


@cocotb.test()
async def closed_loop(dut):
    """BG -> L1 -> drivers -> synapses -> PSPs -> neuron fires -> priority encoder -> mergers ->
    sending repeater -> HLine with the real core; scoreboard: the model-only closed loop; the
    membrane trace as .npz and VCD next to the result file."""
    cycles = _env_int("BSS1_TB_CYCLES", 800)
    window = _env_int("BSS1_TB_WINDOW", 8)
    tb, rec_core, service, log, config_s = await setup(dut)
    monitors = {"hline": ChangeMonitor(dut, "hline"), "fire": ChangeMonitor(dut, "fire")}
    adapter = CocotbAnalogAdapter(dut, rec_core, window=window, period_ns=PERIOD_NS)
    t0 = time.perf_counter()
    await adapter.run(cycles)
    loop_s = time.perf_counter() - t0
    for m in monitors.values():
        m.stop()
    service.stop()
    for name in ("late", "strobes_lost", "overflow", "bus_errors", "l1_conflict"):
        assert int(handle(dut, name).value) == 0, name
    hline = _l1(monitors["hline"].samples, 64)
    fire = [(c, n) for c, v in sorted(monitors["fire"].samples.items())
            for n in range(512) if v >> n & 1]
    bg = [c for c, y, a in hline if y == S.SENDING_HLINE and a == S.BG_ADDRESS]
    assert bg and bg[0] >= adapter.start, (bg[:2], adapter.start)
    out_dir = Path(os.environ["BSS1_TB_OUT"]).parent if os.environ.get("BSS1_TB_OUT") else None
    summary = S.check_loop(hline, fire, rec_core, log, start=adapter.start, end=adapter.t,
                           bg0=bg[0], out_dir=out_dir)
    dut._log.info(f"closed loop with the analog core: fires {summary['fires']}, latency "
                  f"{summary['latency']}, configuration {config_s:.1f} s, {cycles} cycles in "
                  f"{loop_s:.1f} s ({cycles / loop_s:.0f} cycles/s)")
    _write({"summary": summary, "windows": adapter.windows, "requests": service.requests,
            "loop_cycles_per_s": round(cycles / loop_s)})


@cocotb.test()
async def speed(dut):
    """Simulated cycles per wall second of the adapter loop with the real core (no monitors),
    and the share of wall time spent in the core's step."""
    cycles = _env_int("BSS1_TB_CYCLES", 4000)
    window = _env_int("BSS1_TB_WINDOW", 8)
    tb, rec_core, service, log, config_s = await setup(dut)

    class Timed:
        def __init__(self, inner):
            self.inner, self.seconds = inner, 0.0

        @property
        def cycle(self):
            return self.inner.cycle

        def step(self, n, strobes):
            t = time.perf_counter()
            try:
                return self.inner.step(n, strobes)
            finally:
                self.seconds += time.perf_counter() - t

    timed = Timed(rec_core)
    adapter = CocotbAnalogAdapter(dut, timed, window=window, period_ns=PERIOD_NS)
    run = cycles - cycles % window
    t0 = time.perf_counter()
    await adapter.run(run)
    loop_s = time.perf_counter() - t0
    service.stop()
    assert int(handle(dut, "late").value) == 0
    assert adapter.strobes > 0 and adapter.fires > 0
    result = {"core": "real", "cycles": run, "window": window, "isi": S.ISI,
              "adapter_cycles_per_s": round(run / loop_s),
              "core_share_of_wall": round(timed.seconds / loop_s, 3),
              "strobes": adapter.strobes, "fires": adapter.fires, "windows": adapter.windows,
              "config_s": round(config_s, 1)}
    dut._log.info(f"speed: {result}")
    _write(result)
