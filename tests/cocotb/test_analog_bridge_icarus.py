"""The closed analog loop (tests/analog_bridge_scenario.py) on the generated Verilog of
HicannAnalogTop under cocotb, coupled by CocotbAnalogAdapter; testbenches in analog_bridge_tb.py.

Icarus only, window 8: the same loop runs in amaranth.sim in tests/test_analog_bridge.py (other
windows there too), and a Verilator build of the HICANN top costs minutes of CPU that this check
does not need.
"""

import json
from pathlib import Path

import pytest

from bss1.rtl.cocotb_util import require_simulator, run_cocotb
from bss1.rtl.generate import generate

TB = Path(__file__).with_name("analog_bridge_tb.py")
TOP = "bss1.rtl.analog_bridge:HicannAnalogTop"


def generate_analog_top():
    """Verilog of the top, cached under the name a TOPS registration would use."""
    return generate(TOP, "hicann_analog")


@pytest.mark.cocotb
@pytest.mark.xdist_group("icarus")
def test_closed_loop_icarus(tmp_path):
    require_simulator("icarus")
    out = tmp_path / "result.json"
    window = 8
    run_cocotb("icarus", generate_analog_top(), TB, testcase="closed_loop",
               extra_env={"BSS1_TB_OUT": str(out), "BSS1_TB_WINDOW": str(window),
                          "BSS1_TB_CYCLES": "640"})
    result = json.loads(out.read_text())
    assert result["windows"] == 640 // window
    assert result["counts"]["strobes"] >= 8 and result["counts"]["fire"] >= 8
