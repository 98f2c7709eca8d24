"""The host's staged configurator on the generated HICANN test top (Icarus and Verilator, cocotb 2.1):
a random HICANNConfig written through the cocotb link and verified by read-back, the configured RTL
routing events as the reference model does, and registers changed behind the host's back reported
by name. The testbench is tests/cocotb/configurator_tb.py."""

import json
from pathlib import Path

import pytest

from bss1.host import configurator as C
from bss1.rtl.cocotb_util import require_simulator, run_cocotb
from bss1.rtl.generate import generate_top

TB = Path(__file__).with_name("configurator_tb.py")
PUBLIC = "ports"            # as tests/cocotb/test_hicann.py: the same Verilator build is reused
SIMS = [pytest.param(sim, marks=[pytest.mark.cocotb, pytest.mark.xdist_group(sim)], id=sim)
        for sim in ("verilator", "icarus")]


@pytest.fixture(scope="module")
def top():
    return generate_top("hicann_test")


@pytest.mark.parametrize("sim", SIMS)
def test_configure_verify_route_and_detect(sim, top, tmp_path):
    require_simulator(sim)
    out = tmp_path / "result.json"
    run_cocotb(sim, top, TB, testcase="configure_and_verify", public=PUBLIC,
               extra_env={"BSS1_TB_SEED": "5", "BSS1_TB_OUT": str(out)})
    result = json.loads(out.read_text())
    assert result["stages"] == [[s, i + 1, 5] for i, s in enumerate(C.STAGES)]
    assert result["writes"] > 5000 and result["checked"] > 2500, result
    routing = result["routing"]
    assert routing["mismatches"] == 0 and routing["compared_cycles"] >= 300, routing
    assert routing["hline_events"] > 0 and routing["strobes_events"] > 0, routing
    assert result["corruption_message"].startswith(
        "2 register(s) differ after configuration:\nneuron_control.phase "), result
