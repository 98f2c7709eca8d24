"""Denmem array model (analog-core §3, §8, §9.2, §10, §11 T1/T4): hand-checked spike, reset,
refractoriness and output delay; compound-neuron invariance; current stimulus against the closed
form of the passive membrane; ESS regression cases; windows; mismatch; readout; bad input."""

import math

import numpy as np
import pytest

from bss1.models.membrane_readout import Adc, AnalogOutputs, membrane_line
from bss1.models.neuron import (C_BIG, C_SMALL, CurrentStimulus, Mismatch, NeuronArray,
                                compound_neurons)
from bss1.models.transform import NeuronParameters, Scaling

DT = 5e-9


# -- spike, reset, refractoriness, output delay (hand-checked) ------------------------------------
def integrator(**kw):
    """One denmem as a perfect integrator (g_L = 0): Heun is exact, V rises by I dt / C."""
    n = NeuronArray(1, **kw)
    n.set_parameters(g_L=0.0, E_L=0.5, V_reset=0.5, V_spike=0.7, C=1e-12)
    return n


def test_spike_reset_refractory_and_delay_hand_checked():
    n = integrator()
    # slope 0.2 V / 37.5 steps: 37 steps stay below 0.7 V, the 38th crosses
    n.set_parameters(I_ext=1e-12 * 0.2 / (37.5 * DT), t_ref=30e-9)     # 30 ns = 6 steps
    n.record([0])
    s = n.run(100)
    # first crossing after step index 37 -> cycle 18 (2 steps per cycle); leaves at 18 + 8.
    # then 6 refractory steps (38..43) and 38 more steps: crossing after step 81 -> cycle 40.
    assert s.cycle.tolist() == [26, 48, 70, 92][:len(s.cycle)]
    assert s.time.tolist() == pytest.approx([38 * DT, 82 * DT, 126 * DT, 170 * DT][:len(s.cycle)],
                                            rel=1e-12)
    assert len(s.cycle) == 4
    assert s.denmem.tolist() == [0] * 4 and s.neuron.tolist() == [0] * 4
    t, v = n.read_trace()
    assert t.size == 200 and t[1] == pytest.approx(DT)
    slope = 0.2 / 37.5
    assert v[0, :38] == pytest.approx(0.5 + slope * np.arange(38), abs=1e-12)
    assert np.all(v[0, 38:45] == 0.5)        # reset value at step 38 + 6 refractory steps
    assert v[0, 45] == pytest.approx(0.5 + slope, abs=1e-12)


def test_zero_output_delay_and_zero_refractory():
    n = integrator(output_delay=0.0)
    n.set_parameters(I_ext=1e-12 * 0.2 / (37.5 * DT))
    s = n.run(40)
    assert s.cycle.tolist() == [18, 37]         # steps 37 and 75: no refractory steps
    assert s.time.tolist() == pytest.approx([38 * DT, 76 * DT], rel=1e-12)


def test_adaptation_runs_through_refractoriness():
    """§3.2 / ESS issue 873: w keeps evolving while V is clamped at V_reset."""
    n = integrator()
    tau_w, b = 1e-6, 1e-9
    n.set_parameters(I_ext=1e-12 * 0.2 / (37.5 * DT) + 0.0, t_ref=30e-9, a=0.0, b=b,
                     tau_w=tau_w, g_L=0.0)
    n.run(19)                                    # spike after step 37 (last step of cycle 18)
    assert n.ref_left[0] == 6 and n.w[0] == pytest.approx(b, rel=1e-15)
    n.run(3)                                     # 6 refractory steps
    r = 1 - DT / tau_w + (DT / tau_w) ** 2 / 2   # Heun factor of dw/dt = -w / tau_w
    assert n.w[0] == pytest.approx(b * r ** 6, rel=1e-12)
    assert n.V[0] == 0.5 and n.ref_left[0] == 0


def test_b_added_to_every_denmem_of_the_neuron():
    n = NeuronArray(3)
    n.set_neurons(np.array([0, 0, 0]), np.array([1]))
    n.set_parameters(g_L=0.0, V_spike=0.7, V_reset=0.5, b=np.array([1e-9, 2e-9, 3e-9]),
                     tau_w=1.0, I_ext=np.array([0, 1e-5, 0]))
    n.set_membrane(0.5)
    s = n.run(20)
    assert s.denmem.tolist() == [1] and s.neuron.tolist() == [0]
    assert n.w == pytest.approx([1e-9, 2e-9, 3e-9], rel=1e-6)


# -- compound neurons, §3.4 / T4 ------------------------------------------------------------------
ADEX = dict(C=C_BIG, g_L=C_BIG / 1e-6, E_L=0.5, delta_T=0.02, V_T=0.65, a=300e-9, tau_w=15e-6,
            b=20e-9, E_syn_0=1.2, E_syn_1=0.4, tau_syn_0=0.5e-6, tau_syn_1=0.3e-6,
            V_spike=0.8, V_reset=0.52, t_ref=20e-9)


def grouped(sizes, **kw):
    label = np.repeat(np.arange(len(sizes)), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = NeuronArray(int(sum(sizes)), **kw)
    n.set_neurons(label, first)
    return n, first


def test_compound_invariance_weights_scaled_by_size():
    """T4: N = 1, 2, 4, 8 identical denmems, input weights times N -> the same V(t) and spikes.
    The input goes to the last denmem of each neuron (not the firing one)."""
    sizes = [1, 2, 4, 8]
    n, first = grouped(sizes)
    n.set_parameters(**ADEX)
    last = first + np.array(sizes) - 1
    rng = np.random.default_rng(3)
    cyc = np.sort(rng.integers(0, 3000, 300))
    inp = rng.integers(0, 2, 300)
    g = np.where(inp == 0, 400e-9, 300e-9)
    for k, size in enumerate(sizes):
        n.add_conductance(cyc, np.full(300, last[k]), inp, g * size)
    n.record(first)
    s = n.run(3000)
    _, v = n.read_trace()
    for k in range(1, 4):
        np.testing.assert_allclose(v[k], v[0], rtol=0, atol=1e-12)
    times = [s.time[s.neuron == k] for k in range(4)]
    assert len(times[0]) >= 5
    for k in range(1, 4):
        np.testing.assert_array_equal(times[k], times[0])
        assert set(s.denmem[s.neuron == k]) == {first[k]}


def test_compound_leak_potential_is_conductance_weighted():
    n = NeuronArray(2)
    n.set_neurons(np.array([0, 0]), np.array([0]))
    n.set_parameters(g_L=np.array([1e-6, 3e-6]), E_L=np.array([0.4, 0.8]), V_spike=1.5)
    n.set_membrane(1.0)
    n.run(5000)                                  # 50 us = 46 tau_m (2 C / 4 uS): settled
    assert n.V[0] == pytest.approx((1e-6 * 0.4 + 3e-6 * 0.8) / 4e-6, abs=1e-12)
    n.reset_state()
    n.run(0)
    assert n.V[0] == pytest.approx(0.7, abs=1e-15)


def test_only_the_firing_denmem_threshold_reset_and_refractory_count():
    runs = []
    for other in ((0.9, 0.3, 0.0), (0.6, 0.55, 100e-9)):
        n = NeuronArray(4)
        n.set_neurons(np.array([0, 0, 0, 0]), np.array([2]))
        n.set_parameters(**ADEX)
        n.set_parameters(np.array([0, 1, 3]), V_spike=other[0], V_reset=other[1], t_ref=other[2])
        n.set_parameters(np.array([2]), I_ext=2.5e-6)
        n.record([0])
        s = n.run(2000)
        runs.append((s.time, n.read_trace()[1]))
    assert len(runs[0][0]) >= 5
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_compound_neurons_helper_rectangles():
    nod, fire = compound_neurons(1024, 4)
    assert fire.size == 256 and nod.max() == 255
    # neuron 5 of HICANN 0: columns 10, 11 of both rows; firing = top-left = denmem 10
    assert np.nonzero(nod == 5)[0].tolist() == [10, 11, 266, 267] and fire[5] == 10
    assert np.nonzero(nod == 128)[0].tolist() == [512, 513, 768, 769] and fire[128] == 512
    with pytest.raises(ValueError, match=r"^neuron size 6 not one of \[2, 4, 8, 16, 32, 64\]$"):
        compound_neurons(512, 6)


# -- passive membrane and current stimulus, §3.6 / T1 ---------------------------------------------
def test_current_stimulus_charges_membrane_like_closed_form():
    """T1: step current from an FG stimulus; V(t) = E_L + R I (1 - exp(-t / tau_m)), ideal mode
    within 0.1 % of the step height. The sequence (0, 200 codes), not looped, holds each entry
    400 cycles; after the last one the current is 0 and V relaxes back."""
    n = NeuronArray(512)
    tau = 2e-6
    n.set_parameters(g_L=C_BIG / tau, V_spike=1.8, E_L=0.5)
    n.set_current_stimulus(0, CurrentStimulus.from_dac([0, 200], pulselength=99), start_cycle=0)
    n.enable_current_input([0, 2, 1])            # 0, 2: block 0 (top even); 1: block 1
    n.record([0, 2, 1])
    n.run(1200)
    t, v = n.read_trace()
    on, off = 400 * 2, 800 * 2                   # step indices where the entries change
    assert np.all(v[:, :on + 1] == 0.5)
    height = 200 * 2.5e-6 / 1023 * tau / C_BIG
    tt = t[on:off + 1] - t[on]
    expect = 0.5 + height * (1 - np.exp(-tt / tau))
    assert np.max(np.abs(v[0, on:off + 1] - expect)) <= 1e-3 * height
    tt = t[off:] - t[off]
    expect = 0.5 + (v[0, off] - 0.5) * np.exp(-tt / tau)
    assert np.max(np.abs(v[0, off:] - expect)) <= 1e-3 * height
    np.testing.assert_array_equal(v[1], v[0])   # ESS: every enabled denmem gets the full current
    assert np.all(v[2] == 0.5)                   # other block's source is not programmed


def test_current_stimulus_sequence_timing_and_loop():
    """Entries held (pulselength + 1) x 4 cycles from start_cycle, looped when continuous."""
    n = NeuronArray(512)
    n.set_parameters(g_L=0.0, C=1e-12, V_spike=1.8, E_L=0.5)
    n.set_current_stimulus(3, CurrentStimulus((1e-7, 0.0, 2e-7), pulselength=1, continuous=True),
                           start_cycle=5)
    n.enable_current_input([257])                # bottom row, odd column -> block 3
    n.record([257])
    n.run(5 + 3 * 8 + 8)
    _, v = n.read_trace()
    current = np.diff(v[0]) * 1e-12 / DT         # perfect integrator: I = C dV / dt
    expect = [0.0] * 10 + [1e-7] * 16 + [0.0] * 16 + [2e-7] * 16 + [1e-7] * 15
    np.testing.assert_allclose(current, expect, rtol=0, atol=1e-15)


@pytest.mark.parametrize("continuous", [False, True])
def test_current_stimulus_started_in_the_past(continuous):
    """A start before the current cycle (also negative) continues the sequence in phase."""
    stim = CurrentStimulus((1e-7, 0.0, 2e-7), pulselength=1, continuous=continuous)   # hold 8
    n = NeuronArray(512)
    n.set_parameters(g_L=0.0, C=1e-12, V_spike=1.8, E_L=0.5)
    n.enable_current_input([257])                # block 3
    n.record([257])
    n.run(3)
    n.set_current_stimulus(3, stim, start_cycle=-14)   # cycle 3 is 17 cycles in: entry 2
    n.run(24)
    _, v = n.read_trace()
    current = np.diff(v[0])[6:6 + 32] * 1e-12 / DT      # 2 steps per cycle; cycles 3 .. 18
    after = [1e-7] * 16 if continuous else [0.0] * 16    # cycles 10 .. 17: entry 0 again / end
    np.testing.assert_allclose(current, [2e-7] * 14 + after + [0.0] * 2, rtol=0, atol=1e-15)
    # a past start on a later cycle, and a negative numpy integer
    n.set_current_stimulus(3, stim, start_cycle=np.int64(-1000))
    assert n.cycle == 27
    with pytest.raises(ValueError, match=r"^start_cycle 1\.5 must be an integer$"):
        n.set_current_stimulus(3, stim, start_cycle=1.5)
    with pytest.raises(ValueError, match=r"^start_cycle True must be an integer$"):
        n.set_current_stimulus(3, stim, start_cycle=True)


def test_stimulus_and_recording_changed_between_runs():
    n = NeuronArray(512)
    n.set_parameters(g_L=0.0, C=1e-12, V_spike=1.8, E_L=0.5)
    n.set_current_stimulus(3, CurrentStimulus((1e-7,), continuous=True), start_cycle=0)
    n.record([257])
    n.run(10)
    n.enable_current_input([257, 259])
    n.record([259, 1])
    n.run(10)
    t, v = n.read_trace()
    assert v.shape == (2, 20) and t[0] == pytest.approx(10e-8)
    np.testing.assert_allclose(np.diff(v[0]) * 1e-12 / DT, 1e-7, rtol=1e-9)
    assert np.all(v[1] == 0.5)
    n.enable_current_input([257, 259], False)
    n.run(10)
    assert np.all(np.diff(n.read_trace()[1][0]) == 0)


# -- cap and speed bits, §3.5 ---------------------------------------------------------------------
@pytest.mark.parametrize("bigcap, speed, factor", [
    (False, "normal", C_SMALL / C_BIG), (True, "slow", 9.0), (True, "fast", 1 / 3)])
def test_cap_and_speed_bits_scale_tau_m(bigcap, speed, factor):
    n = NeuronArray(1)
    tau = 2e-6
    n.set_parameters(g_L=C_BIG / tau, I_ext=100e-9, V_spike=1.8)
    n.set_cap_and_speed(bigcap=bigcap, i_gl_speed=speed)
    p = n.effective_parameters()
    assert p["C"][0] / p["g_L"][0] == pytest.approx(tau * factor, rel=1e-12)
    n.set_cap_and_speed(bigcap=True, i_gl_speed="normal")
    assert n.params["g_L"][0] == pytest.approx(C_BIG / tau, rel=1e-12)


# -- configuration from the transformation --------------------------------------------------------
def test_hardware_parameters_mapping():
    hw = NeuronParameters().to_hardware()
    n = NeuronArray(2)
    n.set_hardware_parameters(hw, [1], i_ext=5e-9)
    p = n.effective_parameters()
    assert p["C"][1] == C_BIG and p["g_L"][1] == pytest.approx(C_BIG / hw.tau_m)
    assert (p["E_L"][1], p["V_T"][1], p["delta_T"][1]) == (hw.v_rest, hw.v_thresh, hw.delta_T)
    assert (p["E_syn_0"][1], p["E_syn_1"][1]) == (hw.e_rev_E, hw.e_rev_I)
    assert (p["tau_syn_0"][1], p["tau_syn_1"][1]) == (hw.tau_syn_E, hw.tau_syn_I)
    assert (p["a"][1], p["b"][1], p["tau_w"][1]) == (hw.a, hw.b, hw.tau_w)
    assert (p["V_spike"][1], p["V_reset"][1], p["t_ref"][1]) == (hw.v_spike, hw.v_reset,
                                                                   hw.tau_refrac)
    assert p["I_ext"][1] == 5e-9 and p["I_ext"][0] == 0.0
    lif = NeuronParameters({}, "IF_cond_exp").to_hardware(Scaling(bigcap=False))
    n.set_hardware_parameters(lif, [0])
    p = n.effective_parameters()
    assert p["C"][0] == C_SMALL and p["delta_T"][0] == 0 and p["a"][0] == 0 == p["tau_w"][0]


# -- ESS regression cases, §9.2 -------------------------------------------------------------------
def cycle_of(t_bio_ms, scaling, core_hz=100e6):
    return np.floor(np.asarray(t_bio_ms) * 1e-3 / scaling.speedup * core_hz + 0.5).astype(int)


def test_ess_issue1129_three_spikes():
    sc = Scaling(speedup=8000)
    bio = dict(cm=0.281, tau_m=9.3667, tau_syn_E=5.0, tau_syn_I=5.0, v_rest=-70.6,
               v_reset=-70.6, v_thresh=-55.0, e_rev_I=-50.0)
    hw = NeuronParameters(bio, "IF_cond_exp").to_hardware(sc)
    n = NeuronArray(1)
    n.set_hardware_parameters(hw)
    t_in = 10.0 + 5.0 * np.arange(10)
    dg = sc.conductance(0.010426 * 1e3, 0.281)
    n.add_conductance(cycle_of(t_in, sc), np.zeros(10, int), np.zeros(10, int), np.full(10, dg))
    s = n.run(int(cycle_of(80.0, sc)))
    assert len(s.time) == 3


def test_ess_issue845_shifted_potentials_mean_differs_by_5mv():
    sc = Scaling()
    base = NeuronParameters({}, "IF_cond_exp").bio
    shifted = {k: v - 5.0 for k, v in base.items()
               if k in ("v_rest", "v_thresh", "v_reset", "e_rev_E", "e_rev_I")}
    n = NeuronArray(2)
    n.set_hardware_parameters(NeuronParameters({}, "IF_cond_exp").to_hardware(sc), [0])
    n.set_hardware_parameters(NeuronParameters(shifted, "IF_cond_exp").to_hardware(sc), [1])
    cyc = cycle_of([10, 50, 110, 122.5], sc)
    dg = sc.conductance(0.012394 * 1e3, 1.0)
    for d in (0, 1):
        n.add_conductance(cyc, np.full(4, d), np.ones(4, int), np.full(4, dg))
    n.record([0, 1])
    s = n.run(int(cycle_of(150.0, sc)))
    _, v = n.read_trace()
    mean = sc.voltage_bio(v.mean(axis=1))
    assert len(s.time) == 0
    assert round(float(mean[0] - mean[1]), 3) == 5.0
    assert mean[0] < -65.0                        # the inhibition did hyperpolarise


# -- windows --------------------------------------------------------------------------------------
def _random_setup(n, rng, n_in=20000, cycles=2000):
    n.set_neurons(*compound_neurons(512, 4))
    n.set_parameters(**ADEX, I_ext=0.3e-6)
    cyc = np.sort(rng.integers(0, cycles, n_in))
    inp = (rng.random(n_in) < 0.25).astype(int)
    return cyc, rng.integers(0, 512, n_in), inp, rng.uniform(0, 400e-9, n_in)


def test_windows_continue_exactly():
    rng = np.random.default_rng(5)
    a, b = NeuronArray(512), NeuronArray(512)
    cyc, den, inp, g = _random_setup(a, rng)
    _random_setup(b, np.random.default_rng(5))
    a.add_conductance(cyc, den, inp, g)
    whole = a.run(2000)
    parts = []
    b.add_conductance(cyc[cyc >= 1500], den[cyc >= 1500], inp[cyc >= 1500], g[cyc >= 1500])
    for w in range(0, 2000, 100):              # the rest arrives window by window
        sel = (cyc >= w) & (cyc < w + 100) & (cyc < 1500)
        b.add_conductance(cyc[sel], den[sel], inp[sel], g[sel])
        parts.append(b.run(100))
    assert len(whole.time) > 50
    for field in ("cycle", "time", "denmem", "neuron"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, field) for p in parts]),
                                      getattr(whole, field))
    np.testing.assert_array_equal(a.V, b.V)
    np.testing.assert_array_equal(a.w, b.w)
    with pytest.raises(ValueError, match=r"^cycle 1999 out of range >= 2000 \(the current cycle\)$"):
        b.add_conductance([1999], [0], [0], [1e-9])


def test_float32_close_to_float64():
    out = []
    for dtype in (np.float64, np.float32):
        n = NeuronArray(512, dtype=dtype)
        cyc, den, inp, g = _random_setup(n, np.random.default_rng(9))
        n.add_conductance(cyc, den, inp, g)
        out.append(n.run(2000))
    assert len(out[0].time) > 50
    assert abs(len(out[1].time) - len(out[0].time)) <= 0.02 * len(out[0].time)
    for k in range(128):
        t64, t32 = out[0].time[out[0].neuron == k], out[1].time[out[1].neuron == k]
        m = min(len(t64), len(t32), 3)
        np.testing.assert_allclose(t32[:m], t64[:m], atol=2 * DT)


# -- chunked kernel: layout, threads, spike buffer, input order ----------------------------------
def _mixed(threads=1):
    """150 neurons of 1..9 denmems in mixed order (those of one denmem fill two kernel chunks
    of 64 neurons and part of a third), AdEx with per-denmem currents and random conductance
    input."""
    rng = np.random.default_rng(11)
    sizes = rng.permutation(np.concatenate([np.ones(70, int), rng.integers(1, 10, 80)]))
    n, first = grouped(sizes, threads=threads)
    m = n.n
    n.set_parameters(**ADEX)
    n.set_parameters(I_ext=rng.uniform(0.3e-6, 0.6e-6, m))
    k = 6 * m
    inp = (rng.integers(0, 400, k), rng.integers(0, m, k), rng.integers(0, 2, k),
           rng.uniform(0, 300e-9, k))
    return n, first, inp


def test_threads_do_not_change_results():
    out = []
    for threads in (1, 3):
        n, first, inp = _mixed(threads)
        n.enable_current_input(np.arange(0, n.n, 3))
        n.set_current_stimulus(0, CurrentStimulus((0.2e-6, 0.0, 0.4e-6), pulselength=2,
                                                  continuous=True))
        n.record(first[::7])
        n.add_conductance(*inp)
        s = n.run(250) + n.run(150)
        out.append((s, n.V.copy(), n.w.copy(), n.g.copy(), n.read_trace()[1]))
    (s1, *a1), (s3, *a3) = out
    assert len(s1[0]) + len(s1[4]) > 50
    for x, y in zip(s1 + tuple(a1), s3 + tuple(a3)):
        np.testing.assert_array_equal(x, y)


def test_each_neuron_integrates_as_if_alone():
    n, first, (cyc, den, inp, dg) = _mixed()
    n.add_conductance(cyc, den, inp, dg)
    s = n.run(400)
    sizes = np.bincount(n.neuron_of_denmem)
    for k in (0, 1, 2, 63, 64, 65, 100, 140, 149):
        d = np.nonzero(n.neuron_of_denmem == k)[0]
        alone = NeuronArray(d.size)
        alone.set_neurons(np.zeros(d.size, np.int64), np.array([0]))
        alone.set_parameters(**ADEX)
        alone.set_parameters(I_ext=n.params["I_ext"][d])
        sel = np.isin(den, d)
        alone.add_conductance(cyc[sel], np.searchsorted(d, den[sel]), inp[sel], dg[sel])
        t = alone.run(400).time
        assert sizes[k] == d.size and d[0] == first[k] and t.size > 0
        np.testing.assert_allclose(s.time[s.neuron == k], t, rtol=0, atol=1e-15)
        assert n.V[k] == pytest.approx(alone.V[0], abs=1e-9)


def test_many_spikes_in_one_run():
    """More spikes than the kernel's first output buffer: every neuron of the perfect
    integrator fires after 38 steps, then after 38 more (no refractory time)."""
    n = NeuronArray(512, output_delay=0.0)
    n.set_parameters(g_L=0.0, E_L=0.5, V_reset=0.5, V_spike=0.7, C=1e-12,
                     I_ext=1e-12 * 0.2 / (37.5 * DT))
    s = n.run(1000)
    assert len(s.time) == 512 * (2000 // 38)
    np.testing.assert_array_equal(s.neuron, np.tile(np.arange(512), 2000 // 38))
    assert s.time[::512] == pytest.approx(DT * 38 * np.arange(1, 2000 // 38 + 1), rel=1e-12)


def test_decayed_conductance_floors_at_zero():
    """A conductance that decays below 1e-30 S becomes 0 (no subnormal arithmetic): from 10 nS
    with tau 0.5 us that takes ln(1e22) tau = 25.3 us, 2533 cycles."""
    for dtype in (np.float64, np.float32):
        n = NeuronArray(1, dtype=dtype)
        n.add_conductance([0], [0], [0], [10e-9])
        n.run(2500)
        assert 0 < n.g[0, 0] < 2e-30
        n.run(40)
        assert n.g[0, 0] == 0


def test_inputs_applied_per_cycle_in_arrival_order():
    """Queued inputs in any order act as if sorted by cycle (stably): the same increments of
    one cycle and denmem add up in the order they arrived."""
    res = []
    for order in ("shuffled", "stable"):
        n, _, (cyc, den, inp, dg) = _mixed()
        perm = np.random.default_rng(3).permutation(cyc.size)
        if order == "stable":
            perm = perm[np.argsort(cyc[perm], kind="stable")]
        half = perm.size // 2
        for part in (perm[:half], perm[half:]):
            n.add_conductance(cyc[part], den[part], inp[part], dg[part])
        res.append((n.run(300).time, n.V.copy(), n.g.copy()))
    for x, y in zip(*res):
        np.testing.assert_array_equal(x, y)


# -- mismatch, §8 ---------------------------------------------------------------------------------
def test_mismatch_seeded_reproducible_and_ideal_exact():
    def make(mode, seed=0, n=512):
        a = NeuronArray(n, mode=mode, seed=seed)
        a.set_parameters(**ADEX)
        return a
    ideal = make("ideal").effective_parameters()
    assert all(np.array_equal(ideal[k], np.broadcast_to(v, (512,))) for k, v in ADEX.items())
    p1, p1b, p2 = (make("analog", s).effective_parameters() for s in (1, 1, 2))
    for k in ADEX:
        np.testing.assert_array_equal(p1[k], p1b[k])
    assert not np.array_equal(p1["E_L"], p2["E_L"]) and not np.array_equal(p1["g_L"], p2["g_L"])
    assert np.std(p1["E_L"] - 0.5) == pytest.approx(10e-3, rel=0.15)
    assert np.std(p1["g_L"] / ADEX["g_L"]) == pytest.approx(0.10, rel=0.15)
    assert np.array_equal(p1["C"], ideal["C"])               # capacitance is not spread
    big = make("analog", 1, 1024).effective_parameters()     # HICANN 0 keeps its pattern
    np.testing.assert_array_equal(big["V_T"][:512], p1["V_T"])
    runs = []
    for seed in (1, 1):
        a = make("analog", seed)
        a.set_parameters(I_ext=1e-6)
        runs.append(a.run(500))
    np.testing.assert_array_equal(runs[0].time, runs[1].time)
    np.testing.assert_array_equal(runs[0].neuron, runs[1].neuron)


# -- membrane readout, §10 ------------------------------------------------------------------------
def test_adc_conversion_golden():
    adc = Adc()
    assert adc.code([1.8, 0.0, 0.9, 2.5, -1.0]).tolist() == [0, 4095, 2048, 0, 4095]
    assert adc.to_volts([0, 4095]).tolist() == [1.8, 0.0]
    v = np.linspace(0.2, 1.6, 50)
    assert np.max(np.abs(adc.to_volts(adc.code(v)) - v)) <= 0.9 / 4095 + 1e-12


def test_readout_routes_two_denmems_and_samples_at_adc_rate():
    n = NeuronArray(1024)
    n.set_parameters(g_L=0.0, C=1e-12, V_spike=1.8, E_L=0.3)
    n.set_parameters(np.arange(1024), I_ext=np.arange(1024) * 1e-10)
    ao = AnalogOutputs(2)
    ao.connect(0, 0, 3)
    ao.connect(1, 1, 300, offset=0.01)
    ao.record_on(n)
    n.run(1000)                                       # 10 us
    data = ao.acquire(n, Adc(rate=96e6))
    assert sorted(data) == [(0, 0), (1, 1)]
    ts, codes = data[(0, 0)]
    assert ts.size == math.floor(9.995e-6 * 96e6) + 1
    assert ts[1] - ts[0] == pytest.approx(1 / 96e6)
    k = np.floor(ts / DT + 1e-6)                       # zero-order hold of the step samples
    v_true = 0.3 + k * DT * 3 * 1e-10 / 1e-12
    np.testing.assert_array_equal(codes, Adc().code(v_true))
    _, codes1 = data[(1, 1)]
    v1 = 0.3 + np.floor(data[(1, 1)][0] / DT + 1e-6) * DT * 812e-10 / 1e-12 + 0.01
    np.testing.assert_array_equal(codes1, Adc().code(v1))


def test_readout_line_conflict():
    assert [membrane_line(d) for d in (0, 1, 256, 257, 6)] == [0, 1, 2, 3, 0]
    ao = AnalogOutputs()
    ao.connect(0, 0, 4)
    ao.connect(0, 1, 4)                               # both outputs on one denmem: fine
    with pytest.raises(ValueError, match=r"^denmem 6 and denmem 4 of hicann 0 share membrane "
                                         r"line 0; only one denmem per line may enable aout$"):
        ao.connect(0, 1, 6)
    with pytest.raises(ValueError, match=r"^denmem 512 out of range 0\.\.511$"):
        ao.connect(0, 1, 512)


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda n: n.set_parameters(C=0.0), r"^C 0\.0 of denmem 0 out of range > 0 F$"),
    (lambda n: n.set_parameters([3], E_L=1.9), r"^E_L 1\.9 of denmem 3 out of range 0\.\.1\.8 V$"),
    (lambda n: n.set_parameters(tau_w=-1e-6), r"^tau_w -1e-06 of denmem 0 out of range >= 0 s$"),
    (lambda n: n.set_parameters(C_m=1.0), r"^unknown denmem parameter 'C_m'; known: \[.*\]$"),
    (lambda n: n.set_parameters([4], C=1e-12), r"^denmem 4 out of range 0\.\.3$"),
    (lambda n: n.set_neurons(np.array([0, 0, 1, 1]), np.array([0, 1])),
     r"^firing denmem 1 of neuron 1 belongs to neuron 0$"),
    (lambda n: n.set_neurons(np.array([0, 0, 2, 2]), np.array([0, 1, 2])),
     r"^neuron 1 has no denmems$"),
    (lambda n: n.add_conductance([0], [0], [2], [1e-9]), r"^input 2 out of range 0\.\.1$"),
    (lambda n: n.add_conductance([0], [0], [0], [-1e-9]),
     r"^conductance increment -1e-09 S must be finite and >= 0$"),
    (lambda n: n.run(-1), r"^n_cycles -1 must be an integer >= 0$"),
    (lambda n: n.set_current_stimulus(4, CurrentStimulus((0.0,))),
     r"^current source 4 out of range 0\.\.3$"),
    (lambda n: CurrentStimulus((3e-6,)), r"^current stimulus value 3e-06 A out of range "
                                         r"0\.\.2\.5e-06 A$"),
    (lambda n: CurrentStimulus.from_dac([1024]),
     r"^current stimulus code 1024 out of range 0\.\.1023$"),
    (lambda n: NeuronArray(4, dt=3e-9), r"^dt 3e-09 s must divide the core cycle 1e-08 s an "
                                        r"integer number of times$"),
    (lambda n: NeuronArray(4, mode="real"), r"^mode 'real' not one of \['analog', 'ideal'\]$"),
    (lambda n: NeuronArray(4, threads=0), r"^threads 0 must be an integer >= 1$"),
    (lambda n: n.set_cap_and_speed(i_gl_speed="turbo"),
     r"^I_gl speed 'turbo' not one of \['fast', 'normal', 'slow'\]$"),
    (lambda n: Mismatch(sigma_v=-1.0), r"^mismatch sigma_v -1\.0 must be a finite number >= 0$"),
])
def test_bad_input_raises_and_changes_nothing(call, message):
    n = NeuronArray(4)
    before = {k: v.copy() for k, v in n.params.items()}
    with pytest.raises(ValueError, match=message):
        call(n)
    assert all(np.array_equal(before[k], n.params[k]) for k in before)


def test_bad_parameter_array_nothing_half_applied():
    n = NeuronArray(4)
    with pytest.raises(ValueError, match=r"^V_reset 2\.0 of denmem 2 out of range 0\.\.1\.8 V$"):
        n.set_parameters(E_L=0.6, V_reset=np.array([0.5, 0.5, 2.0, 0.5]))
    assert np.all(n.params["E_L"] == 0.5) and np.all(n.params["V_reset"] == 0.5)
