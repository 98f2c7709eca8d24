"""Priority encoders (spec hicann-digital.md §7.1, §7.2, §12.1 tb_priority_encoder)."""

import pytest
from neuron_harness import Program, configure, events, run_model, run_rtl

from bss1.host.merger_tree import nb_entry, neuron_config_word
from bss1.models.coords import nb_address_neuron
from bss1.rtl.registers import NB_ENTRY


def _block0_entries(fire=True):
    """Block 0 (HW merger 7 -> HW DNC channel 7): entry n sends L1 address n."""
    return [nb_entry(*nb_address_neuron(n), n, fire=fire) for n in range(64)]


def test_ess_pulse_file_scenario():
    """ESS pulse_file_pe at 10 ns per cycle: 2 (10 ns), 4 (20), 6..9 (22-25), 4 again (30),
    8..63 (32): one output per 2 cycles, lowest index first, re-flagged pending inputs lost."""
    prog = configure(Program(), entries=_block0_entries())
    t0 = prog.mark()
    schedule = {1: [2], 2: [4, 6, 7, 8, 9], 3: [4] + list(range(8, 64))}
    for t in range(140):
        prog.cycle(fire=schedule.get(t, []))
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    ev = events(outs, t0)
    order = [2, 4, 6, 7] + list(range(8, 64))
    # grant in the cycle after the pulse, then 2 cycles per event; 4 cycles to the DNC output
    assert ev == [(t0 + 6 + 2 * i, 7, a) for i, a in enumerate(order)]
    assert lost[-1] == (3, 3, 0, 0)              # 4, 8 and 9 re-flagged while pending


def test_lowest_index_wins_and_rate():
    prog = configure(Program(), entries=_block0_entries())
    t0 = prog.mark()
    prog.cycle(fire=[63, 17, 5, 40]).idle(20)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    assert events(outs, t0) == [(t0 + 5, 7, 5), (t0 + 7, 7, 17), (t0 + 9, 7, 40),
                                (t0 + 11, 7, 63)]
    assert lost[-1] == (0, 0, 0, 0)


def test_fire_enable_reset_and_address_reversal():
    top_no_fire = nb_entry(0, 0, 9, fire=False)                 # entry 1: firet = 0
    # bottom denmem (entry 2) with only firet set: bottom entries use fireb -> no event
    bottom_wrong = (2, NB_ENTRY.encode(spl1_rev=0b100000, firet=1))
    bottom_ok = (4, NB_ENTRY.encode(spl1_rev=0b100000, fireb=1))   # bit-reversed 1
    prog = configure(Program(), entries=[top_no_fire, bottom_wrong, bottom_ok])
    t0 = prog.mark()
    prog.cycle(fire=[1, 2, 4]).idle(10)
    # SPL1 output logic in reset: nothing, not even losses
    prog.write("neuron_builder", 512, neuron_config_word(spl1_reset_n=0))
    t1 = prog.mark()
    prog.cycle(fire=[4]).cycle(fire=[4]).idle(10)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    assert events(outs, t0) == [(t0 + 5, 7, 1)]
    assert events(outs, t1) == [] and lost[-1] == (0, 0, 0, 0)


def test_nb_entry_encoder():
    addr, word = nb_entry(5, 0, 0b000011)                     # top denmem of column 5
    assert addr == 11
    assert NB_ENTRY.decode(word) == {"spl1_rev": 0b110000, "nmem_top": 0, "nmem_bot": 0,
                                     "vertical": 0, "firet": 1, "fireb": 0}
    addr, word = nb_entry(5, 1, 63, fire=True, vertical=True)
    assert addr == 10 and NB_ENTRY.decode(word)["fireb"] == 1
    assert NB_ENTRY.decode(word)["vertical"] == 1
    with pytest.raises(ValueError, match=r"^L1 address 64 out of range 0\.\.63$"):
        nb_entry(0, 0, 64)
    with pytest.raises(ValueError, match=r"^neuron column 256 out of range 0\.\.255$"):
        nb_entry(256, 0, 1)
