"""HICANN-level tests on the generated Verilog, on Verilator and Icarus (cocotb 2.1).

The testbenches are in tests/cocotb/hicann_tb.py; each pytest function runs one of them. Icarus is
much slower on this design, so its runs use fewer channels / cycles / registers (the same checks).
"""

import json
from pathlib import Path

import pytest

from bss1.rtl.cocotb_util import require_simulator, run_cocotb
from bss1.rtl.generate import generate_top

TB = Path(__file__).with_name("hicann_tb.py")
# Only the top's ports are made public in Verilator: --public-flat-rw on this design grows the C++
# fivefold (143 MB vs 29 MB) and keeps Verilator from optimising; the testbenches use ports only.
PUBLIC = "ports"
SIMS = [pytest.param(sim, marks=[pytest.mark.cocotb, pytest.mark.xdist_group(sim)], id=sim)
        for sim in ("verilator", "icarus")]


@pytest.fixture(scope="module")
def top():
    return generate_top("hicann_test")


@pytest.mark.parametrize("sim", SIMS)
def test_l1_transmission(sim, top, tmp_path):
    require_simulator(sim)
    out = tmp_path / "capture.json"
    channels = "0,1,2,3,4,5,6,7" if sim == "verilator" else "0,5"
    run_cocotb(sim, top, "bss1.host.l1_transmission_tb", testcase="l1_transmission", public=PUBLIC,
               extra_env={"BSS1_TB_OUT": str(out), "BSS1_TB_CHANNELS": channels})
    result = json.loads(out.read_text())
    assert sorted(result) == sorted(channels.split(","))
    for c, r in result.items():
        assert r["diffs"] == [150, 150], (c, r)


@pytest.mark.parametrize("sim", SIMS)
def test_config_roundtrip(sim, top):
    require_simulator(sim)
    fraction = "1.0" if sim == "verilator" else "0.05"
    run_cocotb(sim, top, TB, testcase="config_roundtrip", public=PUBLIC,
               extra_env={"BSS1_TB_SEED": "3", "BSS1_TB_FRACTION": fraction})


@pytest.mark.parametrize("sim", SIMS)
def test_unmapped_access(sim, top):
    require_simulator(sim)
    run_cocotb(sim, top, TB, testcase="unmapped_access", public=PUBLIC)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("seed", [1, 2])
def test_arq_faults(sim, seed, top):
    require_simulator(sim)
    run_cocotb(sim, top, TB, testcase="arq_faults", public=PUBLIC,
               extra_env={"BSS1_TB_SEED": str(seed)})


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scoreboard(sim, seed, top):
    require_simulator(sim)
    if sim == "icarus" and seed != 1:
        pytest.skip("Icarus runs one scoreboard seed (the design is slow there); "
                    "Verilator runs all")
    cycles = "10000" if sim == "verilator" else "2000"
    run_cocotb(sim, top, TB, testcase="scoreboard", public=PUBLIC,
               extra_env={"BSS1_TB_SEED": str(seed), "BSS1_TB_CYCLES": cycles})
