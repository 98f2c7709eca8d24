"""Benchmark: the full HICANN top (with the stub analog core) under realistic traffic.

8 background generators every 150 cycles, routed through DNC mergers, sending repeaters, the
crossbar and synapse switches to 32 synapse drivers (every event strobes 4 drivers). Measures
simulated core cycles per wall second in Verilator and Icarus (cocotb, one wait per window, no
Python per cycle) and in amaranth.sim, plus the Verilator build time. Prints one JSON object as
the last line.

Usage: python bench/hicann_rtl.py [--verilator-cycles N] [--icarus-cycles N] [--amaranth-cycles N]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from bss1.rtl.cocotb_util import run_cocotb, simulator_available  # noqa: E402
from bss1.rtl.generate import generate_top  # noqa: E402

TB = Path(__file__).with_name("hicann_bench_tb.py")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cocotb_speed(sim, top, cycles, *, fresh_build=False):
    out = Path(tempfile.mkdtemp()) / "bench.json"
    extra = ["-DBSS1_BENCH_FRESH_%d" % time.time_ns()] if fresh_build and sim == "verilator" else []
    t0 = time.perf_counter()
    run_dir = run_cocotb(sim, top, TB, testcase="traffic", build_args=extra, public="ports",
                         extra_env={"BSS1_BENCH_CYCLES": str(cycles), "BSS1_BENCH_OUT": str(out)})
    total = time.perf_counter() - t0
    result = json.loads(out.read_text())
    result["process_s"] = total
    if extra:                    # throw the one-off build away again
        shutil.rmtree(Path(run_dir).parent.parent, ignore_errors=True)
    return result


def amaranth_speed(cycles):
    from amaranth.sim import Simulator

    from bss1.host.scenarios import routed_traffic
    from bss1.models.config_arq import HostArq
    from bss1.rtl.config.sim import arq_transact
    from bss1.rtl.stub_analog import HicannTestTop

    dut = HicannTestTop()
    t0 = time.perf_counter()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    res = {"elaborate_s": time.perf_counter() - t0}

    async def tb(ctx):
        ctx.set(dut.fire_cmd.valid, 0)
        ctx.set(dut.l2_rx.as_value(), 0)
        host = HostArq()
        writes, routes = routed_traffic()
        for w in writes:
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(600)
        s0 = ctx.get(dut.strobe_events)
        t = time.perf_counter()
        await ctx.tick().repeat(cycles)
        res["wall_s"] = time.perf_counter() - t
        res["strobe_events"] = ctx.get(dut.strobe_events) - s0
        res["cycles"] = cycles
    sim.add_testbench(tb)
    sim.run()
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--verilator-cycles", type=int, default=2_000_000)
    p.add_argument("--icarus-cycles", type=int, default=20_000)
    p.add_argument("--amaranth-cycles", type=int, default=3_000)
    p.add_argument("--repeats", type=int, default=3, help="median over this many Verilator runs")
    args = p.parse_args(argv)
    out = {}
    t0 = time.perf_counter()
    top = generate_top("hicann_test")
    out["generate_s"] = round(time.perf_counter() - t0, 2)
    out["generate_cached"] = top.cached

    ok, why = simulator_available("verilator")
    if ok:
        log("verilator: fresh build + run ...")
        first = cocotb_speed("verilator", top, args.verilator_cycles, fresh_build=True)
        runs = [cocotb_speed("verilator", top, args.verilator_cycles)
                for _ in range(args.repeats)]
        speeds = sorted(r["cycles"] / r["wall_s"] for r in runs)
        out["verilator_cycles_per_s"] = round(speeds[len(speeds) // 2])
        out["verilator_build_s"] = round(first["process_s"] - runs[0]["process_s"], 1)
        out["verilator_config_s"] = round(runs[0]["config_s"], 2)
        out["verilator_strobe_events"] = runs[0]["strobe_events"]
        out["expected_strobe_events"] = runs[0]["expected_strobe_events"]
        log(f"verilator: {out['verilator_cycles_per_s']} cycles/s")
    else:
        out["verilator_skipped"] = why
    ok, why = simulator_available("icarus")
    if ok:
        log("icarus: build + run ...")
        r = cocotb_speed("icarus", top, args.icarus_cycles)
        out["icarus_cycles_per_s"] = round(r["cycles"] / r["wall_s"])
        out["icarus_strobe_events"] = r["strobe_events"]
        log(f"icarus: {out['icarus_cycles_per_s']} cycles/s")
    else:
        out["icarus_skipped"] = why
    log("amaranth.sim ...")
    r = amaranth_speed(args.amaranth_cycles)
    out["amaranth_cycles_per_s"] = round(r["cycles"] / r["wall_s"])
    out["amaranth_elaborate_s"] = round(r["elaborate_s"], 1)
    out["amaranth_strobe_events"] = r["strobe_events"]
    out["target_cycles_per_s"] = 100_000
    print(json.dumps(out))


if __name__ == "__main__":
    main()
