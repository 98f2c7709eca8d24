"""cocotb side of bench/hicann_rtl.py: configure the routed traffic, then run a window of cycles
with a single wait (no Python per cycle) and report the speed."""

import json
import os
import time

import cocotb
from cocotb.triggers import ReadOnly

from bss1.host.cocotb_link import CocotbConfigLink
from bss1.host.l1_transmission_tb import start
from bss1.host.scenarios import routed_traffic


@cocotb.test()
async def traffic(dut):
    tb = await start(dut)
    period = int(os.environ.get("BSS1_BENCH_PERIOD", "150"))
    cycles = int(os.environ["BSS1_BENCH_CYCLES"])
    writes, routes = routed_traffic(period)
    link = CocotbConfigLink(dut)
    link.writes(writes)
    t0 = time.perf_counter()
    await link.flush()
    config_s = time.perf_counter() - t0
    await tb.run_cycles(4 * period)          # first events through the whole path
    await ReadOnly()
    s0 = int(dut.strobe_events.value)
    await tb.run_cycles(1)
    t0 = time.perf_counter()
    await tb.run_cycles(cycles)
    wall = time.perf_counter() - t0
    await ReadOnly()
    strobes = int(dut.strobe_events.value) - s0
    expected = cycles / period * sum(len(v) for v in routes.values())
    result = {"cycles": cycles, "wall_s": wall, "config_s": config_s,
              "config_writes": len(writes), "strobe_events": strobes,
              "expected_strobe_events": expected,
              "bus_errors": int(dut.bus_errors.value), "lost": int(dut.lost.value)}
    with open(os.environ["BSS1_BENCH_OUT"], "w") as f:
        json.dump(result, f)
    assert abs(strobes - expected) <= 2 * sum(len(v) for v in routes.values()), result
