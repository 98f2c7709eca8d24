"""The HICANN-level closed loop with the real analog core (tests/hicann_closed_loop_scenario.py) on
the generated Verilog of HicannAnalogTop under cocotb; testbenches in closed_loop_tb.py.

Icarus only: the same loop runs in amaranth.sim in tests/test_hicann_closed_loop.py, and a
Verilator build of the HICANN top costs minutes of CPU that this check does not need. The
membrane trace files (membrane.npz, membrane.vcd with a real var) land in the test's tmp_path.
"""

import json
from pathlib import Path

import pytest

from bss1.rtl.cocotb_util import require_simulator, run_cocotb
from bss1.rtl.generate import generate

TB = Path(__file__).with_name("closed_loop_tb.py")


@pytest.mark.cocotb
@pytest.mark.xdist_group("icarus")
def test_closed_loop_with_the_analog_core_icarus(tmp_path):
    require_simulator("icarus")
    out = tmp_path / "result.json"
    top = generate("bss1.rtl.analog_bridge:HicannAnalogTop", "hicann_analog")
    run_cocotb("icarus", top, TB, testcase="closed_loop",
               extra_env={"BSS1_TB_OUT": str(out), "BSS1_TB_CYCLES": "800"})
    result = json.loads(out.read_text())
    summary = result["summary"]
    assert result["windows"] == 100 and result["requests"] == 24
    assert len(summary["fires"]) >= 3 and summary["resets"] == len(summary["fires"])
    assert (tmp_path / "membrane.vcd").stat().st_size > 0
    assert (tmp_path / "membrane.npz").exists()
