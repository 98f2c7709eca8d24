"""Background event generators (spec hicann-digital.md §7.3, §12.1 main_bg_ev_gen, §12.4)."""

import pytest
from neuron_harness import Program, configure, events, run_model, run_rtl

from bss1.host.merger_tree import BackgroundGenerator, bg_period_for_isi, bg_writes
from bss1.models.neuron_control import NeuronControlModel
from bss1.rtl.registers import NEURON_CONTROL

NC = NEURON_CONTROL


def test_period_for_isi_vectors_and_ranges():
    assert bg_period_for_isi(150) == 149
    assert bg_period_for_isi(100, random=True) == 64224
    assert bg_period_for_isi(4, random=True) == 32767
    with pytest.raises(ValueError, match=r"^random BG mean ISI 3 out of range 4\.\.32768$"):
        bg_period_for_isi(3, random=True)
    with pytest.raises(ValueError, match=r"^random BG mean ISI 32769 out of range 4\.\.32768$"):
        bg_period_for_isi(32769, random=True)
    with pytest.raises(ValueError, match=r"^regular BG ISI 0 out of range 1\.\.65536$"):
        bg_period_for_isi(0)
    with pytest.raises(ValueError, match=r"^BG address 64 out of range 0\.\.63$"):
        BackgroundGenerator(0, address=64)


def _bg_program(bgs):
    """SW BG 7 = HW BG 0 feeds bg_merger[0] (MERGE in one_on_one) -> HW DNC channel 0."""
    prog = configure(Program())
    prog.writes("neuron_control", bg_writes(bgs))
    return prog, prog.mark() - 2           # do cycle of the final (enabling) write


def test_regular_period_exact():
    period = bg_period_for_isi(150)
    prog, enable_cycle = _bg_program([BackgroundGenerator(7, period=period, address=42,
                                                          seed=5)])
    prog.idle(640)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    ev = events(outs)
    # first enabled cycle: counter 0; emits at counter == period; 4 cycles BG -> DNC output
    first = enable_cycle + 1 + period + 4
    assert ev == [(first + 150 * i, 0, 42) for i in range(4)]


def _lfsr_reference(seed, period, n):
    """Independent LFSR emitter: cycles (from the first enabled cycle) with an event."""
    x, prev_low, hits = seed, False, []
    for t in range(n):
        if x > period and prev_low:
            hits.append(t)
        prev_low = x <= period
        fb = ((x >> 15) ^ (x >> 13) ^ (x >> 12) ^ (x >> 10)) & 1
        x = ((x << 1) & 0xFFFF) | fb
    return hits


def test_random_mode_lfsr_sequence():
    period = bg_period_for_isi(8, random=True)
    seed = 43409                                        # ESS main_bg_ev_gen
    prog, enable_cycle = _bg_program([BackgroundGenerator(7, random=True, period=period,
                                                          address=42, seed=seed)])
    prog.idle(600)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    n = len(prog.cycles) - enable_cycle - 1 - 4
    expected = [(enable_cycle + 1 + t + 4, 0, 0) for t in _lfsr_reference(seed, period, n)]
    assert len(expected) > 40                           # mean ISI 8 over ~600 cycles
    assert events(outs) == expected                     # random mode sends address 0


def test_seed_zero_locks_lfsr():
    prog, _ = _bg_program([BackgroundGenerator(7, random=True, period=100, seed=0)])
    prog.idle(200)
    outs, _ = run_rtl(prog)
    assert events(outs) == []
    with pytest.warns(RuntimeWarning, match=r"^BG 0: random mode with LFSR 0 \(seed 0 locks "
                                            r"the LFSR\): it will emit no events$"):
        model_outs, _ = run_model(prog)
    assert model_outs == outs


def test_eight_bgs_sequential_seed_loading():
    bgs = [BackgroundGenerator(i, random=i % 2 == 1, period=(i + 2) if i % 2 == 0 else 40000,
                               address=i + 1, seed=1000 + i) for i in range(8)]
    prog, _ = _bg_program(bgs)
    model = NeuronControlModel()
    for addr, word in bg_writes(bgs):
        model.write("neuron_control", addr, word)
    # every LFSR loaded the seed written just before its own enable bit rose
    assert model._lfsr == [1000 + (7 - k) for k in range(8)]
    assert model.read("neuron_control", NC.reg("bg_seed").address()) == 1007
    prog.idle(300)
    outs, lost = run_rtl(prog)
    assert (outs, lost) == run_model(prog)
    # BGs on direct bg_merger -> DNC paths (HW 0, 3, 5, 7 = SW 7, 4, 2, 0) keep their period
    for hw in (5, 7):
        sw = 7 - hw
        times = [t for t, c, a in events(outs) if c == hw and a == sw + 1]
        assert len(times) > 10
        assert {b - a for a, b in zip(times, times[1:])} == {sw + 3}
