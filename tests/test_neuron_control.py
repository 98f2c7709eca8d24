"""NeuronControl (neuron builder + PEs + BGs + merger tree + DNC mergers): register round trips,
the ESS l1_delay latency ordering, loopback, and gateware vs reference model on random
configurations and fire patterns (spec hicann-digital.md §7, §12.1, §12.2)."""

import random

import pytest
from amaranth.sim import Simulator
from neuron_harness import Program, configure, events, run_model, run_rtl

from bss1.host.merger_tree import (BackgroundGenerator, DNCMerger, MergerConfig, MergerMode,
                                   MergerTree, bg_writes, nb_entry)
from bss1.models.neuron_control import NeuronControlModel
from bss1.rtl.neuron_builder import field_mask
from bss1.rtl.neuron_control import NeuronControl
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import NEURON_BUILDER, NEURON_CONTROL
from bss1.rtl.sim import bus_read, bus_write

NC = NEURON_CONTROL


def _all_elements(block_type):
    return [(reg, reg.address(i)) for reg in block_type.registers for i in range(reg.count)]


def test_register_roundtrip_rtl_and_model():
    """§12.2: random set/get of every neuron-control register and every NB entry/register."""
    rng = random.Random(7)
    plan = []
    for block, bt in (("neuron_control", NEURON_CONTROL), ("neuron_builder", NEURON_BUILDER)):
        for reg, addr in _all_elements(bt):
            word = rng.getrandbits(reg.width)
            if reg.name == "dnc_loopback_select":   # legal: at most one channel per pair
                word &= ~0x00AA
            plan.append((block, addr, word, word & field_mask(reg)))
    rng.shuffle(plan)
    model = NeuronControlModel()
    for block, addr, word, _ in plan:
        model.write(block, addr, word)
    assert all(model.read(b, a) == exp for b, a, _, exp in plan)

    dut = NeuronControl()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got = {}

    async def tb(ctx):
        for block, addr, word, _ in plan:
            assert await bus_write(ctx, getattr(dut, block), addr, word) == 0
        for block, addr, _, _ in plan:
            got[block, addr] = await bus_read(ctx, getattr(dut, block), addr)
        # unmapped addresses answer err and change nothing
        got["nc_hole"] = await bus_write(ctx, dut.neuron_control, NC.reg("bg_address").end, 1)
        got["nb_hole"] = await bus_write(ctx, dut.neuron_builder, 514, 1)
        got["nb_read_hole"] = await bus_read(ctx, dut.neuron_builder, 0x212)
        got["nb0"] = await bus_read(ctx, dut.neuron_builder, 0)
    sim.add_testbench(tb)
    sim.run()
    for block, addr, _, exp in plan:
        assert got[block, addr] == (exp, 0), (block, addr)
    assert got["nc_hole"] == 1 and got["nb_hole"] == 1 and got["nb_read_hole"][1] == 1
    assert got["nb0"] == (model.read("neuron_builder", 0), 0)


def test_model_register_errors():
    m = NeuronControlModel()
    with pytest.raises(RegisterMapError, match=r"^neuron_control: local address 20 is not a "
                                               r"writable register; allowed: 0x0\.\.0x13$"):
        m.write("neuron_control", 20, 0)
    with pytest.raises(RegisterMapError, match=r"^neuron_builder: local address 514 is not a "
                                               r"readable register; allowed: 0x0\.\.0x201, "
                                               r"0x210\.\.0x211$"):
        m.read("neuron_builder", 514)
    with pytest.raises(RegisterMapError, match=r"^block 'crossbar_left' is not one of "
                                               r"'neuron_control', 'neuron_builder'$"):
        m.read("crossbar_left", 0)
    with pytest.raises(RegisterMapError, match=r"^sram: word 33554432 out of range "
                                               r"0\.\.0x1ffffff$"):
        m.write("neuron_builder", 3, 1 << 25)
    lb = NC.reg("dnc_loopback_select")
    with pytest.raises(RegisterMapError, match=r"^dnc_loopback_select: loopback 0x30 sets both "
                                               r"channels of pair 4/5; allowed: at most one "
                                               r"channel per pair \(0/1, 2/3, 4/5, 6/7\)$"):
        m.write("neuron_control", lb.address(), lb.encode(loopback=0x30, select=0xFF))
    assert m.read("neuron_control", lb.address()) == 0          # nothing applied
    with pytest.raises(ValueError, match=r"^fire index 512 out of range 0\.\.511$"):
        m.step([512])
    with pytest.raises(ValueError, match=r"^l2_rx address 64 on channel 2 out of range "
                                         r"0\.\.63$"):
        m.step([], {2: 64})
    with pytest.raises(ValueError, match=r"^l2_rx channel 8 out of range 0\.\.7$"):
        m.step([], {8: 1})


def _source_entries():
    """Denmem 32 i (top) of every neuron block sends address 10 + i."""
    return [nb_entry(32 * i, 0, 10 + i) for i in range(8)]


def test_l1_delay_ordering_one_on_one():
    """ESS l1_delay test (§12.1): with one_on_one, block 3 > 5 > {1, 6} > {0, 2, 4, 7}."""
    prog = configure(Program(), entries=_source_entries())
    starts = {}
    for blk in range(8):
        prog.idle(4)
        starts[blk] = prog.mark()
        prog.cycle(fire=[64 * blk + 1]).idle(16)
    both = prog.mark()
    prog.cycle(fire=[64 * b + 1 for b in range(8)]).idle(16)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    latency = {}
    for blk, t0 in starts.items():
        seen = [(t, c, a) for t, c, a in events(outs, t0) if t < t0 + 16]
        assert len(seen) == 1, (blk, seen)
        t, c, a = seen[0]
        assert (c, a) == (7 - blk, 10 + blk)         # SW block d -> SW DNC merger d = HW 7 - d
        latency[blk] = t - t0
    # 3 cycles + 2 per tree merger on the path (depths 4 / 3 / 2 / 1)
    assert latency == {0: 5, 1: 7, 2: 5, 3: 11, 4: 5, 5: 9, 6: 7, 7: 5}
    assert all(latency[3] > latency[b] for b in range(8) if b != 3)
    assert all(latency[5] > latency[b] for b in range(8) if b not in (3, 5))
    assert all(min(latency[1], latency[6]) > latency[b] for b in (0, 2, 4, 7))
    # all blocks at once: same latencies, no interference in one_on_one
    seen = {c: t - both for t, c, a in events(outs, both)}
    assert seen == {7 - b: latency[b] for b in range(8)}
    assert lost[-1] == (0, 0, 0, 0)


def test_dnc_loopback_and_l2_input():
    """Loopback bit c (set at the target): DNC merger c input 1 = output of channel c ^ 1."""
    tree = MergerTree.one_on_one()
    tree.set_loopback(6)                              # SW DNC 6 = HW channel 1, pair HW 0
    tree[DNCMerger(6)] = MergerConfig(MergerMode.LEFT_ONLY)
    tree[DNCMerger(5)] = MergerConfig(MergerMode.MERGE)      # HW 2: L2 events merged in
    prog = configure(Program(), tree=tree, entries=_source_entries())
    t0 = prog.mark()
    prog.cycle(fire=[64 * 7 + 1], l2={2: 33, 1: 44}).idle(12)   # block 7 -> HW channel 0
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    ev = [(t - t0, c, a) for t, c, a in events(outs, t0)]
    # ch 0 at +5; looped into ch 1 (+1 input register, +1 output register); l2 on ch 1 ignored
    assert ev == [(2, 2, 33), (5, 0, 17), (7, 1, 17)]


def _random_program(seed: int, n_cycles: int) -> Program:
    rng = random.Random(seed)
    denmems = rng.sample(range(512), 40) + [64 * b + rng.randrange(2) for b in range(8)]
    entries = []
    for n in denmems:
        x, y = n // 2, 0 if n % 2 else 1
        entries.append(nb_entry(x, y, rng.randrange(64), fire=rng.random() < 0.9))
    nc = NEURON_BUILDER.reg("neuron_config")
    extra = [(NC.reg(r).address(), rng.getrandbits(15))
             for r in ("merger_enable", "merger_select", "merger_slow")]
    lb = 0
    for p in range(0, 8, 2):
        lb |= rng.choice((0, 0, 1, 2)) << p
    extra += [(NC.reg("dnc_loopback_select").address(),
               NC.reg("dnc_loopback_select").encode(loopback=lb, select=rng.getrandbits(8))),
              (NC.reg("dnc_enable_slow").address(), rng.getrandbits(16))]
    bgs = [BackgroundGenerator(i, random=rng.random() < 0.5, period=rng.choice(
        (0, 1, 3, 9, 30, 40000, 60000)), address=rng.randrange(64), seed=rng.getrandbits(16) | 1)
        for i in rng.sample(range(8), rng.randrange(1, 6))]
    prog = configure(Program(), tree=MergerTree(), entries=entries,
                     neuron_config=nc.encode(spl1_reset_n=1), extra=extra)
    prog.writes("neuron_control", bg_writes(bgs))
    rate = rng.choice((0.02, 0.1, 0.3))
    for t in range(n_cycles):
        fire = [n for n in denmems if rng.random() < rate / 8]
        l2 = {c: rng.randrange(64) for c in range(8) if rng.random() < 0.05}
        if t == n_cycles // 2:                      # reconfigure in flight
            prog.write("neuron_control", NC.reg("merger_enable").address(),
                       rng.getrandbits(15))
            continue
        if t == n_cycles // 3:                      # BG enables toggle (seed reloads)
            prog.write("neuron_control", NC.reg("bg_control").address(), rng.getrandbits(16))
            continue
        if t in (2 * n_cycles // 3, 2 * n_cycles // 3 + 20):   # SPL1 reset pulse
            prog.write("neuron_builder", nc.address(),
                       nc.encode(spl1_reset_n=int(t != 2 * n_cycles // 3)))
            continue
        prog.cycle(fire=fire, l2=l2)
    return prog


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_rtl_matches_model_random(seed):
    prog = _random_program(seed, 1500)
    rtl = run_rtl(prog)
    model = run_model(prog)
    for t, (r, m) in enumerate(zip(rtl[0], model[0])):
        assert r == m, f"cycle {t}: rtl {r} model {m}"
    assert rtl[1] == model[1]
    assert len(events(rtl[0])) > 50               # the scenario is not trivially empty
