"""Benchmark: the HICANN + analog bridge top on Icarus under cocotb, coupled by
CocotbAnalogAdapter (one Timer per window, no Python per cycle) to an analog-core test double
(``--core double``) or to the real AnalogCore (``--core real``).

Double (tests/analog_bridge_scenario.py): one background generator every ``--isi`` cycles, routed
to 4 synapse drivers; every BG event strobes the 4 drivers, the double fires 4 denmems 12 cycles
later, and their events leave the chip. Measures simulated core cycles per wall second:

* ``adapter_cycles_per_s``: the adapter loop (run a window, freeze, drain strobes, step the
  double, queue fires);
* ``plain_cycles_per_s``: the same design afterwards left running for the same number of cycles
  with one Timer (what the coupling costs is the difference).

Real (tests/hicann_closed_loop_scenario.py): the BG every 200 cycles strobes 4 drivers whose
synapses make a 4-denmem AdEx neuron of AnalogCore (512 denmems integrated) fire once per event;
its events leave on the sending repeater. ``adapter_cycles_per_s`` as above,
``core_share_of_wall``: the fraction of the loop's wall time spent in ``AnalogCore.step``
(``--isi`` does not apply).

Prints one JSON object as the last line (simulator logs go before it).

Usage: python bench/analog_bridge.py [--core double|real] [--cycles N] [--window W] [--isi N]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bss1.rtl.cocotb_util import run_cocotb, simulator_available  # noqa: E402
from bss1.rtl.generate import generate  # noqa: E402

TBS = {"double": ROOT / "tests" / "cocotb" / "analog_bridge_tb.py",
       "real": ROOT / "tests" / "cocotb" / "closed_loop_tb.py"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=4000)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--isi", type=int, default=100)
    parser.add_argument("--core", choices=sorted(TBS), default="double")
    args = parser.parse_args(argv)
    ok, reason = simulator_available("icarus")
    if not ok:
        print(json.dumps({"error": f"icarus unavailable: {reason}"}))
        return 1
    t0 = time.monotonic()
    top = generate("bss1.rtl.analog_bridge:HicannAnalogTop", "hicann_analog")
    gen_s = time.monotonic() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.json"
        env = {"BSS1_TB_OUT": str(out), "BSS1_TB_CYCLES": str(args.cycles),
               "BSS1_TB_WINDOW": str(args.window), "BSS1_TB_ISI": str(args.isi)}
        t0 = time.monotonic()
        run_cocotb("icarus", top, TBS[args.core], testcase="speed", extra_env=env)
        run_s = time.monotonic() - t0
        result = json.loads(out.read_text())
    result.update({"core": args.core, "simulator": "icarus", "generate_s": round(gen_s, 1),
                   "run_s": round(run_s, 1)})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
