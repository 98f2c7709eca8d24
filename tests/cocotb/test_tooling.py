"""Tooling on the demo top: runner wrapper, handles, stream driver/monitor, run_cycles, waves.

cocotb runs are parametrised over simulators, skip with the reason when one is missing, and sit
in one xdist group per simulator so that ``pytest -n 2 --dist loadgroup`` never races a build.
The testbench is tests/cocotb/tooling_tb.py.
"""

import json
from pathlib import Path

import pytest
from amaranth.lib import data
from amaranth.sim import Simulator

from bss1.rtl.cocotb_util import (CocotbFailure, pack, require_simulator, run_cocotb,
                                  simulator_available, unpack)
from bss1.rtl.demo import DemoTop, DemoWord
from bss1.rtl.generate import generate_top
from bss1.rtl.waves import Waves, normalise

TB = Path(__file__).with_name("tooling_tb.py")
SIMS = [pytest.param(sim, marks=[pytest.mark.cocotb, pytest.mark.xdist_group(sim)], id=sim)
        for sim in ("icarus", "verilator")]
N_CYCLES = {"icarus": 100_000, "verilator": 1_000_000}


@pytest.fixture(scope="module")
def demo():
    return generate_top("demo")


@pytest.mark.parametrize("sim", SIMS)
def test_loopback_and_handles(sim, demo):
    require_simulator(sim)
    run_dir = run_cocotb(sim, demo, TB, testcase="loopback", seed=1)
    assert (run_dir / "results.xml").is_file()


@pytest.mark.parametrize("sim", SIMS)
def test_run_cycles_speed(sim, demo):
    require_simulator(sim)
    run_dir = run_cocotb(sim, demo, TB, testcase="speed",
                         extra_env={"BSS1_TB_CYCLES": str(N_CYCLES[sim])})
    speed = json.loads((run_dir / "speed.json").read_text())
    assert speed["cycles"] == N_CYCLES[sim]
    print(f"\n{sim}: run_cycles {speed['timer_cycles_per_s']} cycles/s, "
          f"ClockCycles {speed['clockcycles_cycles_per_s']} cycles/s")


@pytest.mark.parametrize("sim", SIMS)
def test_failing_cocotb_test_fails(sim, demo):
    require_simulator(sim)
    with pytest.raises(CocotbFailure, match=r"deliberately_failing: "):
        run_cocotb(sim, demo, TB, testcase="deliberately_failing",
                   extra_env={"BSS1_TB_FAIL": "1"})


@pytest.mark.parametrize("sim", SIMS)
def test_waves_readback(sim, demo):
    require_simulator(sim)
    run_dir = run_cocotb(sim, demo, TB, testcase="loopback", waves=True, seed=1)
    vcd = run_dir / ("dump.vcd" if sim == "verilator" else "demo.vcd")
    waves = Waves(vcd, top="demo")
    transfers = waves.signal("loop.transfers")
    assert [v for _, v in transfers] == list(range(41))       # 0, then one step per word
    assert all(b > a for (a, _), (b, _) in zip(transfers, transfers[1:]))
    assert {v for _, v in waves.signal("count")} == {0}
    assert waves.width("o__payload") == DemoWord.size
    # the escaped field wire and the packed port agree at every change of the field
    for t, addr in waves.signal("o__payload.addr"):
        assert unpack(DemoWord, waves.value_at("o__payload", t))["addr"] == addr


@pytest.mark.cocotb
@pytest.mark.xdist_group("verilator")
@pytest.mark.parametrize("public", ["map", "ports"])
def test_verilator_public_modes(public, demo):
    require_simulator("verilator")
    if public == "map":      # .vlt marks exactly the name-map signals: everything still works
        run_cocotb("verilator", demo, TB, testcase="loopback", public=public, seed=1)
    else:                    # ports only: internal signals are not reachable
        with pytest.raises(CocotbFailure, match=r"no signal 'loop.transfers'"):
            run_cocotb("verilator", demo, TB, testcase="loopback", public=public, seed=1)


def test_simulator_available_rejects_unknown():
    with pytest.raises(ValueError, match=r"^unknown simulator 'modelsim'; expected one of"):
        simulator_available("modelsim")
    ok, reason = simulator_available("icarus")
    assert ok or "Icarus" in reason


def test_pack_unpack():
    layout = data.StructLayout({"a": 3, "arr": data.ArrayLayout(2, 3), "s": data.StructLayout(
        {"x": 1, "y": 4})})
    value = {"a": 5, "arr": [1, 2, 3], "s": {"x": 1, "y": 9}}
    word = pack(layout, value)
    assert word == 5 | (1 << 3) | (2 << 5) | (3 << 7) | (1 << 9) | (9 << 10)
    assert unpack(layout, word) == value
    assert pack(DemoWord, {"addr": 63, "data": 1}) == 63 | (1 << 6)
    with pytest.raises(ValueError, match=r"^field 'addr': value 64 out of range 0..63$"):
        pack(DemoWord, {"addr": 64})
    with pytest.raises(KeyError, match=r"'nope' is not a field of"):
        pack(DemoWord, {"nope": 1})


def test_normalise_prefixes():
    assert normalise("bench.top.loop.fsm_state") == "loop.fsm_state"
    assert normalise("TOP.demo.count [15:0]", top="demo") == "count"
    assert normalise("$rootio.count") == "count"
    assert normalise("demo.\\held.addr ", top="demo") == "held.addr"


def test_waves_reads_pysim_string_tracks(tmp_path):
    """Amaranth's VCD writes the FSM state as a string var, which vcdvcd alone drops."""
    dut = DemoTop()
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        ctx.set(dut.en, 1)
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, {"addr": 3, "data": 7})
        await ctx.tick().repeat(6)

    sim.add_testbench(bench)
    vcd = tmp_path / "demo.vcd"
    with sim.write_vcd(str(vcd)):
        sim.run()
    waves = Waves(vcd)
    states = [v for _, v in waves.signal("loop.fsm_state")]
    assert states[:3] == ["IDLE/0", "HOLD/1", "IDLE/0"]     # Amaranth writes "name/value"
    assert [v for _, v in waves.signal("count")][:4] == [0, 1, 2, 3]
    with pytest.raises(KeyError, match=r"^\"no signal 'nothing'"):
        waves.signal("nothing")
