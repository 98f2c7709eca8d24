# amaranth: UnusedElaboratable=no
"""L1 config blocks on their own: register round trips of every register of every block through
the bus (RTL and model), error answers for unmapped addresses, bad inputs, static check()."""

import random

import pytest
from amaranth.sim import Simulator

from bss1.models.l1_fabric import L1FabricModel
from bss1.rtl.crossbar import Crossbar
from bss1.rtl.l1_fabric import L1Fabric, connect_neighbours
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import (CROSSBAR, HICANN_MAP, REPEATER,
                                SYNAPSE_SWITCH)
from bss1.rtl.repeater import TIMING_RESET, RepeaterBlock
from bss1.rtl.sim import bus_read, bus_write
from bss1.rtl.synapse_switch import SynapseSwitch



def components():
    for b in ("top_left", "top_right", "center_left", "center_right", "bottom_left",
              "bottom_right"):
        yield RepeaterBlock(b)
    yield Crossbar("left")
    yield Crossbar("right")
    for side in ("left", "right"):
        for half in ("top", "bottom"):
            yield SynapseSwitch(side, half)


def plan(comp, rng):
    """(writes, reads, bad addresses) for one block, all addresses from the register map."""
    bt = HICANN_MAP[comp.instance].type
    writes = []
    for reg in bt.registers:
        if not reg.writable:
            continue
        for i in range(reg.count):
            for byte in range(reg.width // 8 if reg.name == "testport" else 1):
                width = 8 if comp.instance.startswith("repeater") else reg.width
                writes.append((reg.address(i) + byte, rng.randrange(1 << width)))
    rng.shuffle(writes)
    reads = sorted({a for a, _ in writes})
    size = HICANN_MAP[comp.instance].size
    if comp.instance.startswith("repeater"):
        n = bt.reg("repeater").count
        bad = [n, 0x7F, 0x8D, 0x9F, 0xA2, size - 1]
    else:
        bad = [bt.reg("row").count, size - 1]
    return writes, reads, bad


@pytest.mark.parametrize("seed", [11])
def test_register_round_trips_rtl_and_model(seed):
    rng = random.Random(seed)
    for comp in components():
        model = L1FabricModel()
        writes, reads, bad = plan(comp, rng)
        # timing registers start at the chip power-up values (spec conflict #15)
        if comp.instance.startswith("repeater"):
            assert model.read(comp.instance, 0xA0) == TIMING_RESET[0]
        for a, d in writes:
            model.write(comp.instance, a, d)
        got = {}

        async def tb(ctx, comp=comp, writes=writes, reads=reads, bad=bad):
            for a, d in writes:
                assert await bus_write(ctx, comp.bus, a, d) == 0
            for a in reads:
                got[a] = await bus_read(ctx, comp.bus, a)
            for a in bad:
                assert await bus_write(ctx, comp.bus, a, 0xFF) == 1
                assert (await bus_read(ctx, comp.bus, a))[1] == 1
            for a in reads:      # bad accesses changed nothing
                assert (await bus_read(ctx, comp.bus, a)) == got[a]

        sim = Simulator(comp)
        sim.add_clock(1e-8)
        sim.add_testbench(tb)
        sim.run()
        for a in reads:
            assert got[a] == (model.read(comp.instance, a), 0), (comp.instance, hex(a))
        for a in bad:
            with pytest.raises(RegisterMapError):
                model.write(comp.instance, a, 0)
        if comp.instance.startswith("repeater"):
            # writes load playback, reads return the (empty) capture buffer; 0x80 reads status
            assert all(got[a][0] == 0 for a in reads if 0x80 <= a < 0xA0)
        else:
            assert any(got[a][0] for a in reads)


def test_model_bad_inputs():
    m = L1FabricModel()
    with pytest.raises(RegisterMapError, match=r"^repeater_center_left: no writable register at "
                                               r"local address 0x20$"):
        m.write("repeater_center_left", 0x20, 1)
    with pytest.raises(RegisterMapError, match=r"^repeater_top_left: local address 2048 out of "
                                               r"range 0..0x7ff$"):
        m.read("repeater_top_left", 0x800)
    with pytest.raises(RegisterMapError, match=r"^repeater_top_left repeater: word 256 out of "
                                               r"range 0..0xff$"):
        m.write("repeater_top_left", 0, 256)
    with pytest.raises(RegisterMapError, match=r"^crossbar_left row: word 16 out of range "
                                               r"0..0xf$"):
        m.write("crossbar_left", 0, 16)
    with pytest.raises(RegisterMapError, match=r"^synapse_switch_top_right: no readable register "
                                               r"at local address 0x70$"):
        m.read("synapse_switch_top_right", 112)
    with pytest.raises(RegisterMapError, match=r"^block 'neuron_control' is not part of the L1 "
                                               r"fabric; blocks: repeater_top_left, .*$"):
        m.write("neuron_control", 0, 0)
    with pytest.raises(ValueError, match=r"^sending index 8 out of range 0..7$"):
        m.step(sending={8: 1})
    with pytest.raises(ValueError, match=r"^west_i\[3\] address 64 out of range 0..63$"):
        m.step(west_i={3: 64})
    with pytest.raises(ValueError, match=r"^unknown input 'up_i'; inputs: sending, west_i, .*$"):
        m.step(up_i={})
    with pytest.raises(ValueError, match=r"^hop_latency 0 out of range 1..$"):
        L1Fabric(hop_latency=0)
    with pytest.raises(ValueError, match=r"^hop_latency 0 out of range 1..$"):
        L1FabricModel(hop_latency=0)
    with pytest.raises(ValueError, match=r"^direction 'up' not one of west, east, north, "
                                         r"south$"):
        connect_neighbours(None, None, None, "up")
    with pytest.raises(ValueError, match=r"^crossbar side 'top' not 'left' or 'right'$"):
        Crossbar("top")
    assert L1Fabric.bus_names() == L1FabricModel.BUS_NAMES and len(L1Fabric.BUS_NAMES) == 12
    assert set(L1Fabric.BUS_NAMES) <= {i.name for i in HICANN_MAP.instances}


def test_model_check_lists_configuration_conflicts():
    m = L1FabricModel()
    assert m.check() == []
    rep = REPEATER
    m.write("repeater_center_left", rep.address(0), 0x30)           # HLine 62: both directions
    m.write("repeater_center_left", rep.address(1), 0xE0)           # illegal mode
    m.write("repeater_center_left", rep.address(4), 0xC0)           # sending repeater LOOPBACK
    m.write("repeater_top_left", rep.address(0), 0x90)
    m.write("repeater_top_left", rep.address(2), 0xA0)
    m.write("crossbar_left", CROSSBAR.reg("row").address(21), 0x3)  # HLine 42 -> VLines 10, 42
    m.write("repeater_bottom_left", rep.address(5), 0x10)           # VLine 10 drives inward
    m.write("repeater_center_left", rep.address(10), 0x10)          # HLine 42 drives inward
    m.write("synapse_switch_top_left", SYNAPSE_SWITCH.reg("row").address(0), 0x3)
    msgs = m.check()
    assert msgs == [
        "repeater_top_left test port 0: 2 TOUTEN repeaters (physical addresses [0, 2]), "
        "at most 1 allowed",
        "repeater_center_left[0] (HLine 62): FORWARDING with both directions (mode bits 0x30)",
        "repeater_center_left[1] (HLine 60): mode bits 0xe0 are not one of IDLE, FORWARDING, "
        "INPUT, OUTPUT, LOOPBACK",
        "repeater_center_left[4] (HLine 54): sending repeater cannot loop back test-port data "
        "(its TINEN path carries DNC merger 6)",
        "crossbar: HLine 42 switched to 2 VLines [10, 42], at most 1",
        "HLine 42: 2 drivers configured (its repeater, VLine 10's repeater), at most 1",
        "VLine 10: 2 drivers configured (its repeater, HLine 42's repeater), at most 1",
        "synapse switch row (left, 111): 2 VLines [126, 127] switched, at most 1",
    ], msgs
