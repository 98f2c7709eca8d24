"""cocotb testbench for the demo top (bss1.rtl.demo), run by tests/cocotb/test_tooling.py.

Driver / Monitor / Model / Checker shape: a StreamDriver feeds ``i``, a StreamMonitor with
random back-pressure records ``o``, the model is ``data + 1``; counters are read through the name
map. ``speed`` measures run_cycles (one Timer) against ClockCycles and writes ``speed.json``.
"""

import json
import os
import random
import time

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from bss1.rtl.cocotb_util import ClockedTestbench, StreamDriver, StreamMonitor, handle, unpack
from bss1.rtl.demo import DemoWord


def _model(word: dict) -> dict:
    return {"addr": word["addr"], "data": (word["data"] + 1) % 256}


def _val(dut, name: str) -> int:
    return handle(dut, name).value.to_unsigned()


async def _read(dut, name: str) -> int:
    await ReadOnly()
    return _val(dut, name)


@cocotb.test()
async def loopback(dut):
    """Words through the one-entry stage arrive in order, transformed, under back-pressure."""
    tb = ClockedTestbench(dut)
    handle(dut, "en").value = 0
    await tb.start()
    rng = random.Random(int(os.environ.get("BSS1_TB_SEED", "1")))
    drv = StreamDriver(dut, "i", tb.clk, layout=DemoWord).start()
    mon = StreamMonitor(dut, "o", tb.clk, layout=DemoWord,
                        ready=lambda cycle: rng.random() < 0.6).start()
    words = [{"addr": rng.randrange(64), "data": rng.randrange(256)} for _ in range(40)]
    for w in words:
        drv.send(w)
    got = await mon.wait_for(len(words), timeout_cycles=2000)
    assert got == [_model(w) for w in words]
    assert drv.sent == len(words)
    # internal counter via the name map (Amaranth path), and an escaped struct-field wire
    await ReadOnly()
    assert _val(dut, "loop.transfers") == len(words)
    assert _val(dut, "loop.held.data") == got[-1]["data"]
    assert unpack(DemoWord, _val(dut, "o__payload")) == got[-1]
    assert _val(dut, "o__payload.addr") == got[-1]["addr"]
    assert _val(dut, "count") == 0          # en was low all along
    drv.stop()
    mon.stop()


@cocotb.test()
async def speed(dut):
    """run_cycles (one Timer) vs ClockCycles; both must advance the counter exactly."""
    n = int(os.environ.get("BSS1_TB_CYCLES", "20000"))
    tb = ClockedTestbench(dut)
    handle(dut, "en").value = 1
    await tb.start()
    await RisingEdge(tb.clk)
    start = await _read(dut, "count")
    await RisingEdge(tb.clk)            # leave ReadOnly, be just after an edge
    start += 1
    t0 = time.perf_counter()
    await tb.run_cycles(n)
    t_timer = time.perf_counter() - t0
    after = await _read(dut, "count")
    assert after == (start + n) % (1 << 16), (start, n, after)
    await RisingEdge(tb.clk)
    start = after + 1
    t0 = time.perf_counter()
    await tb.cycles(n)
    t_edges = time.perf_counter() - t0
    after = await _read(dut, "count")
    assert after == (start + n) % (1 << 16), (start, n, after)
    result = {"sim": cocotb.SIM_NAME, "cycles": n,
              "timer_cycles_per_s": round(n / t_timer), "clockcycles_cycles_per_s":
              round(n / t_edges)}
    dut._log.info("speed: %s", result)
    with open("speed.json", "w") as f:
        json.dump(result, f)


@cocotb.test(skip=os.environ.get("BSS1_TB_FAIL") != "1")
async def deliberately_failing(dut):
    """Only enabled by BSS1_TB_FAIL=1: checks that a failing cocotb test fails the pytest."""
    tb = ClockedTestbench(dut)
    await tb.start()
    assert await _read(dut, "count") == 12345
