"""Merger tree and DNC mergers: host encoders and gateware behaviour (spec hicann-digital.md §7.4,
§7.5, §12.1 tb_merger_tree)."""

import pytest
from neuron_harness import Program, configure, events, run_model, run_rtl

from bss1.host.merger_tree import (BackgroundGenerator, DNCMerger, Merger0, Merger1, Merger2,
                                   Merger3, MergerConfig, MergerMode, MergerTree, bg_writes,
                                   nb_entry)
from bss1.rtl.registers import NEURON_CONTROL

NC = NEURON_CONTROL
MERGE, LEFT, RIGHT = MergerMode.MERGE, MergerMode.LEFT_ONLY, MergerMode.RIGHT_ONLY


def test_default_tree_golden_words():
    regs = MergerTree.default().registers()
    assert regs["merger_enable"] == 0x00FF
    assert regs["merger_select"] == 0x5100
    assert regs["merger_slow"] == 0x0000
    writes = dict(MergerTree.default().writes())
    assert writes[NC.reg("merger_select").address()] == 0x5100


def test_sw_hw_bits_and_dnc_words():
    t = MergerTree()
    t[Merger3()] = MergerConfig(LEFT, slow=True)
    t[Merger2(1)] = MergerConfig(RIGHT)
    t[DNCMerger(0)] = MergerConfig(MERGE, slow=True)      # HW channel 7
    t[DNCMerger(6)] = MergerConfig(LEFT)                  # HW channel 1
    t.set_loopback(6)
    regs = t.registers()
    assert regs["merger_enable"] == 0x7FFF & ~(1 << 14) & ~(1 << 12)
    assert regs["merger_select"] == 1 << 14
    assert regs["merger_slow"] == 1 << 14
    assert regs["dnc_loopback_select"] == NC.reg("dnc_loopback_select").encode(
        loopback=0b10, select=0b10)
    assert regs["dnc_enable_slow"] == NC.reg("dnc_enable_slow").encode(enable=0x80, slow=0x80)


def test_host_bad_input():
    t = MergerTree()
    t.set_loopback(2)
    with pytest.raises(ValueError, match=r"^loopback into DNCMerger 3 conflicts with the "
                                         r"loopback into its pair DNCMerger 2; allowed: one "
                                         r"direction per pair$"):
        t.set_loopback(3)
    with pytest.raises(ValueError, match=r"^Merger1 index 4 out of range 0\.\.3$"):
        Merger1(4)
    with pytest.raises(ValueError, match=r"^Merger3 index 1 out of range 0\.\.0$"):
        Merger3(1)
    with pytest.raises(ValueError, match=r"^merger 5 is not one of Merger0\(0\.\.7\), "
                                         r"Merger1\(0\.\.3\), Merger2\(0\.\.1\), Merger3\(0\), "
                                         r"DNCMerger\(0\.\.7\)$"):
        t[5] = MergerConfig()
    with pytest.raises(ValueError, match=r"^BackgroundGenerator 1 given twice$"):
        bg_writes([BackgroundGenerator(1), BackgroundGenerator(1)])
    assert Merger2(0).hw_bit == 13 and Merger1(0).hw_bit == 11 and Merger0(0).hw_bit == 7


def _pe_and_bg(slow: bool, dnc_slow: bool = False):
    """Merger0(7) = HW bg_merger[0] merges SW block 7 (10 denmems fired at once) and SW BG 7
    (an event every cycle) -> HW DNC channel 0."""
    tree = MergerTree.one_on_one()
    tree[Merger0(7)] = MergerConfig(MERGE, slow=slow)
    tree[DNCMerger(7)] = MergerConfig(RIGHT, slow=dnc_slow)
    denmems = [7 * 64 + 2 * i + 1 for i in range(10)]          # top denmems, addresses 1..10
    entries = [nb_entry(n // 2, 0, i + 1) for i, n in enumerate(denmems)]
    prog = configure(Program(), tree=tree, entries=entries)
    t0 = prog.mark()
    prog.cycle(fire=denmems).idle(40)
    prog.writes("neuron_control", bg_writes([BackgroundGenerator(7, period=0, address=50)]))
    prog.idle(30)
    return prog, t0


def test_round_robin_and_full_rate():
    prog, t0 = _pe_and_bg(slow=False)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    ev = events(outs, t0)
    pe_only = [a for t, c, a in ev if a != 50]
    assert pe_only == list(range(1, 11))                       # PE alone: one per 2 cycles
    bg_start = min(t for t, c, a in ev if a == 50)
    ch0 = [(t, a) for t, c, a in ev if c == 0 and t >= bg_start]
    assert [t for t, _ in ch0] == list(range(bg_start, bg_start + len(ch0)))   # 1 per cycle
    assert len(ch0) >= 25


def test_round_robin_alternates_when_both_wait():
    tree = MergerTree.one_on_one()
    tree[Merger0(7)] = MergerConfig(MERGE)
    denmems = [7 * 64 + 2 * i + 1 for i in range(10)]
    entries = [nb_entry(n // 2, 0, i + 1) for i, n in enumerate(denmems)]
    prog = configure(Program(), tree=tree, entries=entries)
    prog.writes("neuron_control", bg_writes([BackgroundGenerator(7, period=0, address=50)]))
    t0 = prog.mark()
    prog.cycle(fire=denmems).idle(40)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    seq = [a for t, c, a in events(outs, t0) if c == 0]
    # from the first PE event on: input 0 (PE) and input 1 (BG) alternate while both wait
    first = seq.index(1)
    assert seq[first:first + 20] == [x for i in range(1, 11) for x in (i, 50)]


def test_slow_merger_half_rate_and_backpressure_loss():
    for slow, dnc_slow in ((True, False), (False, True)):
        prog, t0 = _pe_and_bg(slow=slow, dnc_slow=dnc_slow)
        outs, lost = run_rtl(prog)
        assert (outs, lost) == run_model(prog)
        times = [t for t, c, a in events(outs, t0) if c == 0]
        gaps = {b - a for a, b in zip(times, times[1:])}
        assert min(gaps) == 2
        assert lost[-1][2] > 5            # BG events overwritten while the merger stalls


def test_two_level_merge_slow_conservation():
    """tb_merger_tree-like: bg_merger[0], bg_merger[1] merge into a slow merging L0[0]."""
    tree = MergerTree.one_on_one()
    tree[Merger1(3)] = MergerConfig(MERGE, slow=True)           # HW L0[0] -> HW DNC 1
    blocks = {7: [], 6: []}
    entries, fires = [], {}
    for i, t in enumerate(list(range(2, 26)) + [30, 40, 60]):
        blk = 7 if t % 2 == 0 else 6
        n = blk * 64 + 2 * len(blocks[blk]) + 1
        blocks[blk].append(n)
        entries.append(nb_entry(n // 2, 0, i))
        fires[t] = [n]
    prog = configure(Program(), tree=tree, entries=entries)
    t0 = prog.mark()
    for t in range(80):
        prog.cycle(fire=fires.get(t, []))
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    ch1 = [(t, a) for t, c, a in events(outs, t0) if c == 1]
    assert min(b[0] - a[0] for a, b in zip(ch1, ch1[1:])) == 2
    assert len(ch1) + lost[-1][0] == len(fires)               # every event out or counted lost
    assert lost[-1][0] > 0
