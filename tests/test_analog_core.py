"""Analog core (models/analog_core.py) and the model-only closed loop (models/closed_loop.py):
the compiled strobe -> conductance kernel against SynapseInput's tables, PSPs against a direct
NeuronArray run, ESS regression cases of spec analog-core.md §9.2 (stp_dep through the whole
core, weight_distortion), STDP pairing through strobes and real post spikes read at the access
port (§7, §11 T7), the loop BG -> L1 -> driver -> synapse -> neuron -> priority encoder ->
sending repeater through HicannModel, the RTL adapter contract, FG configuration, bad input."""

import numpy as np
import pytest

from analog_bridge_scenario import BG, BG_ADDRESS, CHANNEL, routed_writes
from bss1.host.hal_neurons import Neuron, NeuronQuad, denmem_quad_writes
from bss1.host.merger_tree import BackgroundGenerator, bg_period_for_isi, bg_writes
from bss1.host.scenarios import driver_writes, local_writes
from bss1.host.synapse_driver import RowConfig, SynapseDriverConfig
from bss1.models import coords, fg_layout
from bss1.models.analog_core import (FIRE_DTYPE, STROBE_DTYPE, WAFER_STROBE_DTYPE, AnalogCore,
                                     denmem_of_fire_line, fire_line)
from bss1.models.closed_loop import ClosedLoop
from bss1.models.fg_storage import FGStorage
from bss1.models.hicann import HicannModel
from bss1.models.neuron import NeuronArray
from bss1.models.stp import StpParameters, cap_for_utilisation, utilisation
from bss1.models.synapse_array import SynapseArray, hw_row
from bss1.models.synapse_input import SynapseInput
from bss1.models.transform import (HardwareParameters, NeuronParameters, Scaling,
                                   SharedHardwareParameters)

SC = Scaling()
LIF = NeuronParameters({}, "IF_cond_exp").to_hardware(SC)


def g_default(w):
    return (93.94 + 81.34 * w - 1.597 * w * w) * 1e-9


def single_denmem_core(hw=LIF, **kw):
    core = AnalogCore(**kw)
    core.configure_neurons(np.arange(512), np.arange(512))
    core.neurons.set_hardware_parameters(hw)
    return core


def strobes(rows, dtype=STROBE_DTYPE):
    return np.array([tuple(r) for r in rows], dtype)


def strobe_bit(line, row, column):
    """Strobe bit of SynapseRowOnArray ``row`` / ``column`` parity on driver ``line``."""
    h = 0 if line < 112 else 1
    return 1 << (2 * (row - (2 * line - 224 * h)) + (column & 1))


def random_config(rng, *arrays_and_inputs):
    for half in ("top", "bottom"):
        w, d = rng.integers(0, 16, (224, 256)), rng.integers(0, 16, (224, 256))
        rows = [dict(syn_in=(int(r % 2), int(r % 3 == 0)), selgmax=int(r % 4),
                     gmax_div=(int(r % 16), 11)) for r in range(224)]
        for a, si in arrays_and_inputs:
            a.set_weights(half, w)
            a.set_decoders(half, d)
            for r, kw in enumerate(rows):
                si.set_row(half, r, **kw)
            si.set_v_gmax(half, "right", (500, 250, 750, 1000))
    for _, si in arrays_and_inputs:
        si.stp.configure(np.arange(0, 224, 3), 1, np.arange(0, 224, 3) % 2, 3)


def random_strobes(rng, n, cycles, dtype=STROBE_DTYPE):
    s = np.zeros(n, dtype)
    s["cycle"] = np.sort(rng.integers(0, cycles, n))
    s["driver"] = rng.integers(0, 224, n)
    s["strobe"] = rng.integers(0, 16, n)
    s["addr"] = rng.integers(0, 16, n)
    return s


def as_sorted(inc, offset=0):
    return sorted(zip(inc.cycle.tolist(), (np.asarray(inc.denmem) + offset).tolist(),
                      inc.input.tolist(), inc.dg.tolist()))


# -- strobes -> conductance increments ------------------------------------------------------------
def test_kernel_matches_synapse_input_tables_with_stp():
    rng = np.random.default_rng(0)
    core = AnalogCore()
    ref_a = SynapseArray()
    ref = SynapseInput(ref_a)
    random_config(rng, (core.array, core.synapse_input), (ref_a, ref))
    s = random_strobes(rng, 3000, 5000)
    got, want = as_sorted(core.increments(s)), as_sorted(ref.increments(s))
    assert len(want) > 10_000
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12, atol=0)
    # weights written later through the chip port are seen (no stale copies)
    core.array.write_weights("top", hw_row("top", 0), 0, (0, 0, 0, 0))
    ref_a.write_weights("top", hw_row("top", 0), 0, (0, 0, 0, 0))
    s2 = random_strobes(rng, 500, 1000)
    s2["cycle"] += 5000
    s2["driver"][::2] = 0
    got, want = as_sorted(core.increments(s2)), as_sorted(ref.increments(s2))
    assert [g[:3] for g in got] == [w[:3] for w in want]
    # every synapse of a strobed row answering (more increments than the first guess)
    for a in (core.array, ref_a):
        a.set_decoders("bottom", np.zeros((224, 256), int))
    s3 = strobes([(7000, 200, 15, 0), (7001, 150, 5, 0)])
    got, want = as_sorted(core.increments(s3)), as_sorted(ref.increments(s3))
    assert len(want) > 24 * 6 and [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12, atol=0)


def test_wafer_core_routes_each_hicann_to_its_own_synapses():
    rng = np.random.default_rng(1)
    core = AnalogCore(3, stdp=False)
    refs = []
    for h in (0, 2):
        a = SynapseArray()
        si = SynapseInput(a)
        random_config(np.random.default_rng(10 + h), (core.arrays[h], core.inputs[h]), (a, si))
        refs.append((h, si))
    s = random_strobes(rng, 1200, 3000, WAFER_STROBE_DTYPE)
    s["hicann"] = rng.choice([0, 1, 2], s.size)
    got = as_sorted(core.increments(s))
    want = sorted(sum((as_sorted(si.increments(s[s["hicann"] == h]), 512 * h)
                       for h, si in refs), []))
    assert len(want) > 1000 and not any(512 <= g[1] < 1024 for g in got)
    assert [g[:3] for g in got] == [w[:3] for w in want]


def test_fire_line_mapping():
    assert fire_line(np.array([0, 256, 5, 261, 511])).tolist() == [1, 0, 11, 10, 510]
    n = np.arange(512)
    assert (fire_line(denmem_of_fire_line(n)) == n).all()
    assert [coords.neuron_nb_address(d % 256, d // 256) for d in (0, 256, 5, 261)] == \
        fire_line(np.array([0, 256, 5, 261])).tolist()


# -- PSP through the core = the conductance model --------------------------------------------------
def test_psp_of_one_strobe_equals_direct_neuron_run():
    line, row, col = 150, 2 * 150 - 224 + 1, 10          # bottom half, row-on-driver 1
    core = single_denmem_core()
    core.array.set_synapse("bottom", row, col, weight=9, decoder=5)
    core.synapse_input.set_row("bottom", row, syn_in=(1, 0), gmax_div=(11, 0))
    denmem = 256 + col
    core.neurons.record([denmem])
    ref = NeuronArray(512)
    ref.set_hardware_parameters(LIF)
    ref.add_conductance([53], [denmem], [0], [g_default(9)])
    ref.record([denmem])
    ref.run(1000)
    t_ref, v_ref = ref.read_trace()
    s = strobes([(53, line, strobe_bit(line, row, col), 5)])
    for c0 in range(0, 1000, 8):
        fired = core.step(8, s[(s["cycle"] >= c0) & (s["cycle"] < c0 + 8)])
        assert fired.size == 0
    t, v = core.neurons.read_trace()
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(v, v_ref)
    amplitude = SC.voltage_bio(v.max()) - SC.voltage_bio(v[0, 0])
    assert 0.3 < amplitude < 15.0                      # a real, sub-threshold EPSP (mV bio)
    assert np.argmax(v[0]) > 2 * 53                    # it starts at the strobe, not before
    np.testing.assert_array_equal(v[0, :2 * 53 + 1], v[0, 0])


# -- ESS stp_dep (§9.2) through driver STP, synapse and membrane -----------------------------------
def _epsp_maxima(stp: bool):
    """EPSP maxima (mV bio) of the ESS stp_dep case through the core, and the same from a direct
    NeuronArray run fed with g(w) times the closed-form STP factors."""
    line, row, col = 40, 81, 20                         # top half, row-on-driver 1
    core = single_denmem_core()
    core.array.set_synapse("top", row, col, weight=2, decoder=7)
    core.synapse_input.set_row("top", row, syn_in=(1, 0), gmax_div=(11, 0))
    u = 3 / 11
    core.synapse_input.stp.configure(line, int(stp), 1, cap_for_utilisation(u))
    core.synapse_input.set_stp_parameters("top", coords.driver_side(line),
                                          StpParameters(tau_rec=SC.time(200.0)))
    cycles = 100 + 400 * np.arange(5)                  # 10 ms + 40 ms k (bio)
    core.neurons.record([col])
    core.step(2100, strobes([(c, line, strobe_bit(line, row, col), 7) for c in cycles]))
    _, v = core.neurons.read_trace()
    u = utilisation(cap_for_utilisation(u))
    e = np.exp(-40.0 / 200.0)
    i_inf = u * e / (1 - (1 - u) * e)
    f = 1 - i_inf * (1 - (e * (1 - u)) ** np.arange(5)) if stp else np.ones(5)
    ref = NeuronArray(512)
    ref.set_hardware_parameters(LIF)
    ref.add_conductance(cycles, np.full(5, col), np.zeros(5, int), g_default(2) * f)
    ref.record([col])
    ref.run(2100)
    _, v_ref = ref.read_trace()
    steps = 2 * cycles
    return [np.array([SC.voltage_bio(x[0])[s:s + 800].max() for s in steps]) for x in (v, v_ref)]


def test_ess_stp_dep_five_strictly_decreasing_epsp_maxima():
    maxima, want = _epsp_maxima(stp=True)
    assert all(a > b for a, b in zip(maxima, maxima[1:]))
    assert maxima[0] - maxima[-1] > 0.5                # mV bio: depression is visible
    np.testing.assert_allclose(maxima, want, rtol=1e-9)  # = closed-form STP + conductance model
    # control: without STP the maxima do not decrease (residual depolarisation adds up)
    flat, flat_want = _epsp_maxima(stp=False)
    assert all(b >= a - 1e-9 for a, b in zip(flat, flat[1:]))
    np.testing.assert_allclose(flat, flat_want, rtol=1e-9)


# -- ESS weight_distortion (§9.2) -----------------------------------------------------------------
def _distortion_counts(sigma, seed=0):
    core = single_denmem_core(distortion_sigma=sigma, seed=seed, stdp=False)
    for col in (0, 1):                                 # two neurons: denmems 0 and 1 (top row)
        core.array.set_synapse("top", 0, col, weight=15, decoder=0)
    core.synapse_input.set_v_gmax("top", "left", (500, 1000, 500, 500))
    core.synapse_input.set_row("top", 0, syn_in=(1, 0), selgmax=1, gmax_div=(10, 0))
    g_bio = SC.conductance_bio(g_default(15) * 2 * 11 / 10, 1.0)
    assert g_bio == pytest.approx(97.0, abs=1.0)      # w = 0.1 uS bio (nS here), cm 1 nF
    cyc = np.arange(1000, 5000, 100)                   # 100 Hz, 100..500 ms bio
    s = np.zeros(cyc.size, STROBE_DTYPE)
    s["cycle"], s["strobe"] = cyc, 0b11                # row 0 (driver 0), even and odd columns
    fired = core.step(6000, s)
    counts = [int((fired["denmem"] == fire_line(d)).sum()) for d in (0, 1)]
    return counts, core.distortion(0)[0, 0, :2]


def test_ess_weight_distortion_equal_without_unequal_with_sigma_half():
    counts, d = _distortion_counts(0.0)
    assert counts[0] == counts[1] > 5 and (d == 1).all()
    counts, d = _distortion_counts(0.5, seed=0)
    assert counts[0] != counts[1]
    assert (counts[0] > counts[1]) == (d[0] > d[1])    # the stronger synapse fires more
    again, d2 = _distortion_counts(0.5, seed=0)
    assert again == counts and (d2 == d).all()         # fixed pattern, reproducible per seed


# -- STDP: 36 pairs at +10 ms through strobes and real post spikes ---------------------------------
def _stdp_pairs(n_pairs):
    pre_line, pre_row, col = 20, 41, 30                # top half, row-on-driver 1, even column
    post_line, post_row = 60, 120                      # strong synapse driving the same denmem
    core = single_denmem_core(NeuronParameters({"tau_refrac": 20.0}, "IF_cond_exp")
                              .to_hardware(SC))       # one post spike per drive
    core.array.set_synapse("top", pre_row, col, weight=1, decoder=3)
    core.array.set_synapse("top", post_row, col, weight=15, decoder=9)
    core.synapse_input.set_row("top", pre_row, syn_in=(1, 0), gmax_div=(11, 0))
    core.synapse_input.set_v_gmax("top", coords.driver_side(post_line), (1000, 500, 500, 500))
    core.synapse_input.set_row("top", post_row, syn_in=(1, 0), gmax_div=(1, 0))
    pre_bit, post_bit = strobe_bit(pre_line, pre_row, col), strobe_bit(post_line, post_row, col)
    fires = []
    for k in range(n_pairs):                           # one pair per 100 ms bio
        t0 = 1000 * k + 50
        fires.append(core.step(1000, strobes([(t0, pre_line, pre_bit, 3),
                                              (t0 + 98, post_line, post_bit, 9)])))
    fired = np.concatenate(fires)
    detect = fired["cycle"] - core.neurons.delay_cycles
    assert fired.size == n_pairs and (fired["denmem"] == fire_line(col)).all()
    lag = detect - (1000 * np.arange(n_pairs) + 50)
    assert (lag == 100).all()                          # post 10 ms (bio) after pre
    words = core.array.read_correlation("top", hw_row("top", pre_row), 3, patterns=0x80)
    bit = 31 - (8 * (col // 64) + col % 8)             # column set 3 holds column 30 (j = 6)
    return (words[0] >> bit) & 1, core.array.sensors.accumulators("top")[0][pre_row, col]


def test_stdp_36_causal_pairs_set_the_flag_35_do_not():
    flag, causal = _stdp_pairs(36)
    assert flag == 1 and causal == pytest.approx(36 * 0.625)
    flag, causal = _stdp_pairs(35)
    assert flag == 0 and causal == pytest.approx(35 * 0.625)


# -- closed loop through the digital reference model -----------------------------------------------
NEURON_X = 64 + 2 * 5                # neuron block 2 (BG 2's), left column of a 4-denmem neuron
NEURON_ADDRESS = (3 << 4) | 11       # MSBs 3: decoded by no driver (no recurrence)


def loop_writes():
    msb = BG_ADDRESS >> 4
    row = RowConfig(syn_in=(1, 0), selgmax=0, gmax_div=(2, 0), decoder=(msb, msb))
    out, lines = routed_writes(row, [(NEURON_X, 0, NEURON_ADDRESS)])
    return out, lines


def neuron_quad_writes(firing=True):
    """The 2 x 2 neuron at NEURON_X as the neuron builder holds it (upper-left denmem fires and
    sends NEURON_ADDRESS), or its four denmems apart and silent (``firing`` False)."""
    fire = Neuron(NEURON_ADDRESS, activate_firing=True, enable_spl1_output=True)
    quad = (NeuronQuad((fire, Neuron(), Neuron(), Neuron()), (True, True), (True, True))
            if firing else NeuronQuad())
    return denmem_quad_writes(NEURON_X // 2, quad)


def closed_loop(weight, cycles=2400, builder=False):
    """The loop with the 2 x 2 neuron given explicitly (sthal rectangles everywhere) or, with
    ``builder``, taken from the neuron builder SRAM."""
    model = HicannModel()
    writes, lines = loop_writes()
    model.writes(writes + (neuron_quad_writes() if builder else []))
    while model.drivers.writes_pending:
        model.step()
    core = AnalogCore()
    if not builder:
        core.configure_neurons(size=4)
    core.neurons.set_hardware_parameters(NeuronParameters().to_hardware(SC))
    core.configure_drivers(model)
    for L in lines:                                    # every row of the routed drivers hits
        h = 0 if L < 112 else 1                        # the neuron's 4 denmems' columns
        half = ("top", "bottom")[h]
        for r in (2 * L - 224 * h, 2 * L - 224 * h + 1):
            for x in (NEURON_X, NEURON_X + 1):
                core.array.set_synapse(half, r, x, weight=weight, decoder=BG_ADDRESS & 15)
    loop = ClosedLoop(model, core, neurons_from_builder=builder)
    model.writes(local_writes("neuron_control", bg_writes(
        [BackgroundGenerator(BG, period=bg_period_for_isi(300), address=BG_ADDRESS)])))
    rec = loop.run(cycles)
    return rec, lines, core, loop


def test_closed_loop_bg_to_neuron_to_sending_repeater():
    rec, lines, core, _ = closed_loop(weight=15)
    y = coords.sending_hline(CHANNEL)
    bg_events = [c for c, yy, a in rec.hline if yy == y and a == BG_ADDRESS]
    neuron_events = [c for c, yy, a in rec.hline if yy == y and a == NEURON_ADDRESS]
    line_of_neuron = coords.neuron_nb_address(NEURON_X, 0)
    fires = [c for c, n in rec.fire if n == line_of_neuron]
    assert len(bg_events) >= 5
    assert {L for _, L, _, _ in rec.strobes} == set(lines)
    assert len(fires) >= 3 and {n for _, n in rec.fire} == {line_of_neuron}
    # every fire reaches the sending repeater's HLine after the same pipeline latency
    assert len(neuron_events) == len(fires)
    latency = {e - f for e, f in zip(neuron_events, fires)}
    assert len(latency) == 1 and 0 < latency.pop() < 20
    # fires follow strobes: spike detection after the first strobe, 8-cycle output delay
    first_strobe = min(c for c, *_ in rec.strobes)
    assert min(fires) >= first_strobe + core.neurons.delay_cycles


def test_closed_loop_control_zero_weights_no_neuron_events():
    rec, _, _, _ = closed_loop(weight=0, cycles=1600)
    assert rec.strobes and not rec.fire
    assert not [a for _, _, a in rec.hline if a == NEURON_ADDRESS]


def test_closed_loop_neurons_from_the_builder_match_the_explicit_ones():
    explicit, _, _, _ = closed_loop(weight=15)
    rec, _, core, loop = closed_loop(weight=15, builder=True)
    assert rec == explicit and len(rec.fire) >= 3
    n = NEURON_X
    assert len({core.neurons.neuron_of_denmem[d] for d in (n, n + 1, 256 + n, 257 + n)}) == 1
    # the SRAM changes between runs: the four denmems fall apart and none fires any more,
    # while the core's clock runs on with the model's
    loop.model.writes(neuron_quad_writes(firing=False))
    start = loop.model.cycle
    assert core.cycle == start
    later = loop.run(1600)
    assert core.cycle == loop.model.cycle == start + 1600
    assert later.strobes and not [f for f in later.fire if f[0] >= start + 16]
    assert len({core.neurons.neuron_of_denmem[d] for d in (n, n + 1, 256 + n, 257 + n)}) == 4


# -- RTL adapter contract --------------------------------------------------------------------------
def test_window_schedule_contract_fires_after_the_window():
    from bss1.models.analog_adapter import FIRE_DTYPE as ADAPTER_FIRE, WindowSchedule
    assert FIRE_DTYPE == ADAPTER_FIRE
    line, row, col = 5, 11, 3
    core = single_denmem_core()
    core.array.set_synapse("top", row, col, weight=15, decoder=1)
    core.synapse_input.set_v_gmax("top", coords.driver_side(line), (1000, 500, 500, 500))
    core.synapse_input.set_row("top", row, syn_in=(1, 0), gmax_div=(1, 0))
    sched = WindowSchedule(core)
    sched.begin(16)
    assert core.cycle == 16
    got = []
    for w in range(10):
        t = sched.t
        recs = [(t + 3, line, strobe_bit(line, row, col), 1)] if w in (0, 5) else []
        sched.step(recs)
        got += sched.commands()
    assert sched.fires >= 2 and core.cycle == 96
    assert all(n == fire_line(col) for _, n in got)


# -- FG configuration ------------------------------------------------------------------------------
def test_configure_fg_matches_transform_and_shared_values():
    bio = [NeuronParameters({"tau_m": 6.0 + (i % 7), "v_thresh": -52.0 + (i % 3),
                             "tau_refrac": 1.0, "delta_T": 1.0})
           for i in range(512)]
    neurons = [p.to_fg(SC) for p in bio]
    shared = [SharedHardwareParameters(v_reset=0.45 + 0.01 * b, tau_rec=SC.time(100.0 + 50 * b),
                                       v_stdf=0.5, n_dep=0.2, n_fac=1.0,
                                       technical={f"V_gmax{i}": 300 + 100 * i + b
                                                  for i in range(4)}).to_fg()
              for b in range(4)]
    storage = FGStorage(fg_layout.pack([dict(n) for n in neurons],
                                       [{k: v for k, v in dict(s).items()
                                         if k in fg_layout.shared_names(b)}
                                        for b, s in enumerate(shared)]))
    core = AnalogCore()
    core.configure_fg(storage)
    ref = NeuronArray(512)
    for i in range(512):
        x, y = fg_layout.denmem_xy(i)
        hw = HardwareParameters.from_fg(neurons[i], storage.hardware_parameters(x, y).v_reset)
        ref.set_hardware_parameters(hw, [i])
    for name, values in ref.params.items():
        np.testing.assert_array_equal(core.neurons.params[name], values, err_msg=name)
    assert len(set(core.neurons.params["g_L"].round(12))) == 7
    si = core.synapse_input
    for block, (half, side) in enumerate((("top", "left"), ("top", "right"),
                                          ("bottom", "left"), ("bottom", "right"))):
        h, s = ("top", "bottom").index(half), ("left", "right").index(side)
        assert si.v_gmax[h, s].tolist() == [300 + 100 * i + block for i in range(4)]
        line = coords.driver_chain(side, half)[0]
        want = StpParameters.from_fg(shared[block]["V_dtc"], shared[block]["V_stdf"],
                                     shared[block]["V_dep"], shared[block]["V_fac"])
        assert si.stp.tau_rec[line] == want.tau_rec and si.stp.n_dep[line] == want.n_dep


def test_configure_drivers_from_hicann_model():
    model = HicannModel()
    model.writes(driver_writes(150, SynapseDriverConfig(
        enable=1, locin=1, stp_enable=1, stp_mode=1, stp_cap=5,
        rows=(RowConfig(syn_in=(0, 1), selgmax=2, gmax_div=(3, 7)), RowConfig()))))
    while model.drivers.writes_pending:
        model.step()
    core = AnalogCore()
    core.configure_drivers(model)
    si = core.synapse_input
    roa = 2 * 150 - 224
    assert tuple(si.syn_in[1, roa]) == (False, True) and si.selgmax[1, roa] == 2
    assert tuple(si.gmax_div[1, roa]) == (3, 7)
    assert si.stp.enable[150] and si.stp.u[150] == pytest.approx(utilisation(5))


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda c: c.step(-1), "n_cycles -1 out of range >= 0"),
    (lambda c: c.step(8, strobes([(8, 0, 1, 0)])), "strobe cycle 8 out of range 0..7"),
    (lambda c: c.step(8, strobes([(1, 224, 1, 0)])), "synapse driver line 224 out of range 0..223"),
    (lambda c: c.step(8, strobes([(1, 0, 16, 0)])), "strobe 16 out of range 0..15"),
    (lambda c: c.step(8, strobes([(1, 0, 1, 16)])), "strobe address 16 out of range 0..15"),
    (lambda c: c.step(8, np.zeros(3)),
     r"strobes must be a structured array with fields \['cycle', 'driver', 'strobe', 'addr'\]"),
    (lambda c: c.step(8, strobes([(1, 0, 1, 0)])[["cycle", "driver"]]),
     r"strobes lack fields \['strobe', 'addr'\]"),
    (lambda c: c.distortion(1), "hicann 1 out of range 0..0"),
    (lambda c: c.configure_drivers(object()), "driver source object has no peek_sram"
                                              r"\(controller, sram, row\)"),
    (lambda c: c.configure_neurons(size=4, firing_denmem=[0]),
     "give either size or neuron_of_denmem and firing_denmem"),
    (lambda c: ClosedLoop(HicannModel(), c, window=9), "window 9 out of range 1..8"),
    (lambda c: ClosedLoop(HicannModel(), c).run(12),
     r"cycle count 12 is not a non-negative multiple of the window \(8\)"),
])
def test_bad_input(call, message):
    core = AnalogCore()
    with pytest.raises((ValueError, TypeError), match=f"^{message}$"):
        call(core)
    assert core.cycle == 0


def test_bad_constructor_and_wafer_strobes():
    with pytest.raises(ValueError, match=r"^n_hicanns 0 out of range 1\.\.3072$"):
        AnalogCore(0)
    with pytest.raises(ValueError, match=r"^distortion_sigma -0\.1 out of range >= 0$"):
        AnalogCore(distortion_sigma=-0.1)
    core = AnalogCore(2, stdp=False)
    with pytest.raises(ValueError, match=r"^strobes lack fields \['hicann'\]$"):
        core.step(8, strobes([(1, 0, 1, 0)]))
    with pytest.raises(ValueError, match=r"^hicann 2 out of range 0\.\.1$"):
        core.step(8, strobes([(1, 0, 1, 0, 2)], WAFER_STROBE_DTYPE))
    model = HicannModel()
    core = AnalogCore()
    core.step(16)
    with pytest.raises(ValueError, match=r"^analog core at cycle 16 is ahead of the digital "
                                         r"model: allowed 0\.\.0$"):
        ClosedLoop(model, core).run(8)
