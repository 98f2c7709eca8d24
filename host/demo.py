"""``bss1 demo``: the L1 transmission scenario on the reference model and on the RTL.

One HICANN is configured through the packet/ARQ path the way the real host does it (spec §12.4,
halbe's L1TransmissionTest): 8 background generators, DNC mergers passing the merger tree, the 8
sending repeaters on their HLines, one HLine switched through the crossbar onto a VLine whose
repeater records on its test port. The captured, Gray-decoded times must differ by exactly the BG
period. The demo prints the result for every channel on the model, then on the generated RTL in a
simulator (Verilator if its build is cached or asked for, else Icarus, else amaranth.sim).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ..models.hicann import HicannModel
from . import scenarios

__all__ = ["run_demo", "model_l1_transmission"]


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def model_l1_transmission(period: int, channels=range(8)) -> dict:
    """Run the scenario on :class:`HicannModel`; ``{channel: {"entries", "diffs"}}``."""
    out = {}
    for c in channels:
        model = HicannModel()
        model.writes(scenarios.l1_transmission(period, capture_channel=c))
        for _ in range(4 * period):
            model.step()
        tap = scenarios.capture_tap(c)
        entries = scenarios.decode_capture([model.read(t, a)
                                            for t, a in scenarios.capture_readout(tap)])
        out[c] = {"entries": entries,
                  "diffs": [(b - a) % 1024 for (_, a), (_, b) in zip(entries, entries[1:])]}
    return out


def _table(result: dict, period: int) -> bool:
    ok = True
    _say("  ch  HLine  VLine  block/port        captured (addr, time)          diffs")
    for c in sorted(result, key=int):
        r = result[c]
        tap = scenarios.capture_tap(int(c))
        good = r["diffs"] == [period, period]
        ok &= good
        entries = ", ".join(f"({a},{t:4d})" for a, t in r["entries"])
        _say(f"  {int(c):2d}  {tap.hline:5d}  {tap.vline:5d}  {tap.block:>12s}/{tap.port}   "
             f"{entries:30s} {r['diffs']} {'ok' if good else 'MISMATCH'}")
    return ok


def _rtl_cocotb(sim: str, period: int, channels: str) -> dict:
    from ..rtl.cocotb_util import run_cocotb
    from ..rtl.generate import generate_top
    _say("  generating Verilog (cached by content hash) ...")
    t0 = time.perf_counter()
    top = generate_top("hicann_test")
    _say(f"  {top.verilog.name}: {'cached' if top.cached else 'generated'} "
         f"in {time.perf_counter() - t0:.1f} s; building and running under {sim} ...")
    out = Path(tempfile.mkdtemp()) / "capture.json"
    run_cocotb(sim, top, "bss1.host.l1_transmission_tb", testcase="l1_transmission", public="ports",
               extra_env={"BSS1_TB_OUT": str(out), "BSS1_TB_PERIOD": str(period),
                          "BSS1_TB_CHANNELS": channels, "COCOTB_LOG_LEVEL": "WARNING"})
    return json.loads(out.read_text())


def _rtl_amaranth(period: int, channel: int) -> dict:
    from amaranth.sim import Simulator

    from ..models.config_arq import HostArq
    from ..rtl.config.sim import arq_transact
    from ..rtl.stub_analog import HicannTestTop
    dut = HicannTestTop()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    tap = scenarios.capture_tap(channel)
    res = {}

    async def tb(ctx):
        ctx.set(dut.fire_cmd.valid, 0)
        ctx.set(dut.l2_in.valid, 0)
        host = HostArq()
        for w in scenarios.l1_transmission(period, capture_channel=channel):
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(4 * period)
        handles = [host.read(t, a) for t, a in scenarios.capture_readout(tap)]
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx)
        entries = scenarios.decode_capture([h.data for h in handles])
        res[channel] = {"entries": entries, "diffs": [(b - a) % 1024 for (_, a), (_, b)
                                                      in zip(entries, entries[1:])]}
    sim.add_testbench(tb)
    sim.run()
    return res


def _pick_simulator(requested: str) -> str:
    from ..rtl.cocotb_util import simulator_available
    if requested != "auto":
        if requested in ("verilator", "icarus"):
            ok, why = simulator_available(requested)
            if not ok:
                raise SystemExit(f"simulator {requested!r} not usable: {why}")
        return requested
    if simulator_available("icarus")[0]:
        return "icarus"
    return "amaranth"


def run_demo(simulator: str = "auto", period: int = 150) -> int:
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    _say("bss1 demo: L1 transmission test on one HICANN (spec hicann-digital.md §12.4)")
    _say(f"  8 background generators, regular, period {period} cycles, address 0; DNC mergers "
         f"RIGHT_ONLY + slow;")
    _say("  sending repeaters OUTPUT on HLines 6, 14, ..., 62; one crossbar switch per channel "
         "onto a VLine whose repeater records (INPUT) on its test port")
    _say()
    _say("reference model (bss1.models.HicannModel):")
    t0 = time.perf_counter()
    ok = _table(model_l1_transmission(period), period)
    _say(f"  ({time.perf_counter() - t0:.1f} s)")
    _say()
    sim = _pick_simulator(simulator)
    if sim == "none":
        return 0 if ok else 1
    _say(f"RTL (generated from Amaranth, configured through control-interface packets and the "
         f"chip-side ARQ) on {sim}:")
    t0 = time.perf_counter()
    if sim == "amaranth":
        _say("  amaranth.sim is slow on the whole chip: channel 0 only")
        result = _rtl_amaranth(period, 0)
    else:
        result = _rtl_cocotb(sim, period, "0,1,2,3,4,5,6,7" if sim == "verilator" else "0,3,5,7")
    ok &= _table(result, period)
    _say(f"  ({time.perf_counter() - t0:.1f} s)")
    _say()
    _say("result: " + ("every captured time difference equals the BG period" if ok
                       else "MISMATCH between captured differences and the BG period"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run_demo())
