"""cocotb testbenches on the generated HICANN + analog bridge top
(rtl/analog_bridge.py: HicannAnalogTop), coupled to an analog-core test double by
:class:`bss1.models.analog_adapter.CocotbAnalogAdapter` (one Timer per window).

Run by tests/cocotb/test_analog_bridge_icarus.py and bench/analog_bridge.py. Shape of cocotb's
matrix_multiplier example: a configuration driver, the adapter as the analog driver, event-driven
monitors of the output ports, HicannModel with the same double as the model, the checker in
tests/analog_bridge_scenario.py.

Environment knobs: BSS1_TB_CYCLES (cycles under the adapter), BSS1_TB_WINDOW (adapter window),
BSS1_TB_ISI (BG interval), BSS1_TB_OUT (result JSON).
"""

import json
import os
import time

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

import analog_bridge_scenario as scen
from bss1.host.cocotb_link import CocotbConfigLink
from bss1.models.analog_adapter import CocotbAnalogAdapter
from bss1.rtl.cocotb_util import ClockedTestbench, handle
from bss1.rtl.l1 import L1Event

PERIOD_NS = 10


def _env_int(name, default):
    return int(os.environ.get(name, default))


async def start(dut):
    """Tie the inputs, run enabled, start the clock, reset."""
    for name in ("cfg_rx__valid", "cfg_rx__payload", "cfg_tx__ready", "fire_cmd__valid",
                 "fire_cmd__payload", "strobe_rec__ready", "l2_in__valid", "l2_in__payload",
                 "l2_out__ready", "systime_reset",
                 *(f"synapse_array_{h}__{s}" for h in ("top", "bottom")
                   for s in ("ack", "rdata", "corr"))):
        handle(dut, name).value = 0
    handle(dut, "run").value = 1
    tb = ClockedTestbench(dut, period_ns=PERIOD_NS)
    await tb.start()
    return tb


class ChangeMonitor:
    """Samples ``name`` only when it changes and then every edge while it is non-zero, keyed by
    the bridge's cycle counter; the last sample of a counter value wins and a zero sample
    removes it (values seen while frozen are those of the coming run cycle, and the fire lines
    are only valid once ``run`` is up). No Python in cycles where nothing happens."""

    def __init__(self, dut, name):
        self.sig = handle(dut, name)
        self.cycle = handle(dut, "cycle")
        self.clk = handle(dut, "clk")
        self.samples = {}
        self.wakeups = 0
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            await self.sig.value_change
            while True:
                await ReadOnly()
                self.wakeups += 1
                v = self.sig.value.to_unsigned()
                c = int(self.cycle.value)
                if v:
                    self.samples[c] = v
                else:
                    self.samples.pop(c, None)
                    break
                await RisingEdge(self.clk)

    def stop(self):
        self._task.cancel()


def _l1(samples, n):
    size, voff = L1Event.size, L1Event["valid"].offset
    aoff, amask = L1Event["addr"].offset, (1 << L1Event["addr"].width) - 1
    return [(c, i, a) for c, v in sorted(samples.items())
            for i, a in scen.events(v, size, n, voff, aoff, amask)]


async def configure(dut, tb, isi):
    link = CocotbConfigLink(dut)
    link.writes(scen.base_writes())
    await link.flush()
    await tb.run_cycles(300)                      # driver SRAM writes
    link.writes(scen.bg_enable_writes(isi))
    await link.flush()


@cocotb.test()
async def closed_loop(dut):
    """BG -> L1 -> drivers -> strobes -> double -> fire -> priority encoder -> mergers -> sending
    repeater -> HLine, RTL against HicannModel event for event."""
    ts = time.perf_counter()
    tb = await start(dut)
    dut._log.info(f"start {time.perf_counter() - ts:.1f} s")
    cycles = _env_int("BSS1_TB_CYCLES", 640)
    window = _env_int("BSS1_TB_WINDOW", 8)
    t0 = time.perf_counter()
    await configure(dut, tb, 200)
    t1 = time.perf_counter()
    monitors = {"dnc_out": ChangeMonitor(dut, "dnc_out"), "hline": ChangeMonitor(dut, "hline"),
                "fire": ChangeMonitor(dut, "fire")}
    double = scen.DelayedFireDouble(cycle=0)
    adapter = CocotbAnalogAdapter(dut, double, window=window, period_ns=PERIOD_NS)
    await adapter.run(cycles)
    t2 = time.perf_counter()
    for m in monitors.values():
        m.stop()
    rtl = {"dnc_out": _l1(monitors["dnc_out"].samples, 8),
           "hline": _l1(monitors["hline"].samples, 64),
           "fire": [(c, n) for c, v in sorted(monitors["fire"].samples.items())
                    for n in range(512) if v >> n & 1]}
    for name in ("late", "strobes_lost", "overflow", "bus_errors", "l1_conflict"):
        assert int(handle(dut, name).value) == 0, name
    counts = scen.check_against_model(rtl, double, adapter.start, adapter.t)
    dut._log.info(f"closed loop: {counts} in {adapter.t - adapter.start} cycles, "
                  f"{adapter.windows} windows; configuration {t1 - t0:.1f} s, loop "
                  f"{t2 - t1:.1f} s, model and checks {time.perf_counter() - t2:.1f} s")
    assert counts["strobes"] >= 8 and counts["dnc_out"] >= 10, counts
    out = os.environ.get("BSS1_TB_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"counts": counts, "windows": adapter.windows}, f)


@cocotb.test()
async def speed(dut):
    """Simulated cycles per wall second of the adapter loop (no monitors), against the same
    design left running (run = 1) for the same cycles with one Timer."""
    tb = await start(dut)
    cycles = _env_int("BSS1_TB_CYCLES", 4000)
    window = _env_int("BSS1_TB_WINDOW", 8)
    isi = _env_int("BSS1_TB_ISI", 100)
    await configure(dut, tb, isi)
    double = scen.DelayedFireDouble(cycle=0)
    adapter = CocotbAnalogAdapter(dut, double, window=window, period_ns=PERIOD_NS)
    t0 = time.perf_counter()
    await adapter.run(cycles - cycles % window)
    adapter_s = time.perf_counter() - t0
    handle(dut, "run").value = 1                  # the same design, left running
    t0 = time.perf_counter()
    await tb.run_cycles(cycles)
    plain_s = time.perf_counter() - t0
    assert int(handle(dut, "late").value) == 0
    assert adapter.strobes > 0 and adapter.fires > 0
    result = {"cycles": cycles, "window": window, "isi": isi,
              "plain_cycles_per_s": round(cycles / plain_s),
              "adapter_cycles_per_s": round((cycles - cycles % window) / adapter_s),
              "strobes": adapter.strobes, "fires": adapter.fires, "windows": adapter.windows}
    dut._log.info(f"speed: {result}")
    out = os.environ.get("BSS1_TB_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(result, f)
