"""Parameter transformation and FG layout (analog-core §2, §4.1-§4.7, §13; hicann-digital §10)."""

import warnings

import numpy as np
import pytest

from bss1.models import fg_layout as L
from bss1.models.transform import (
    CALIBRATION, FGClipWarning, FGValues, HardwareParameters, NeuronParameters, Scaling,
    SharedFGValues, SharedHardwareParameters, SharedParameters, i_gl_shape)

# §4.5 worked example: PyNN default EIF_cond_exp_isfa_ista, s = 1e4, bigcap.
GOLDEN = {  # name: (DAC alpha_V = 10, DAC alpha_V = 5)
    "E_l": (281, 481), "V_t": (455, 568), "V_exp": (396, 539), "E_synx": (721, 721),
    "E_syni": (227, 455), "I_gl": (209, 209), "I_gladapt": (34, 34), "I_radapt": (82, 82),
    "I_fire": (944, 538), "I_rexp": (1017, 611), "I_pl": (1022, 1022), "V_syntcx": (320, 320),
    "V_syntci": (320, 320),
}
CONSTANTS = {"I_convx": 1023, "I_convi": 1023, "I_bexp": 1023, "I_spikeamp": 1023,
             "I_intbbx": 511, "I_intbbi": 511, "V_synx": 511, "V_syni": 511,
             "V_convoffx": 1023, "V_convoffi": 1023}


def quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FGClipWarning)
        return fn(*a, **kw)


@pytest.mark.parametrize("col, alpha", [(0, 10.0), (1, 5.0)])
def test_worked_example_golden(col, alpha):
    fg = quiet(NeuronParameters().to_fg, Scaling(alpha_v=alpha))
    assert {k: fg[k] for k in GOLDEN} == {k: v[col] for k, v in GOLDEN.items()}
    assert {k: fg[k] for k in CONSTANTS} == CONSTANTS
    assert SharedParameters().to_fg(Scaling(alpha_v=alpha))["V_reset"] == (281, 481)[col]


def test_worked_example_hardware_values():
    hw = NeuronParameters().to_hardware()
    assert hw.v_rest == pytest.approx(0.494) and hw.v_spike == pytest.approx(0.8)
    assert hw.v_thresh == pytest.approx(0.696) and hw.e_rev_E == pytest.approx(1.2)
    assert hw.e_rev_I == pytest.approx(0.4) and hw.tau_m == pytest.approx(0.93667e-6)
    assert hw.a == pytest.approx(308e-9, rel=2e-3) and hw.b == pytest.approx(62.0e-9, rel=2e-3)
    assert hw.tau_w == pytest.approx(14.4e-6) and hw.delta_T == pytest.approx(20e-3)
    assert hw.tau_refrac == pytest.approx(10e-9) and hw.tau_syn_E == pytest.approx(0.5e-6)


def test_worked_example_clip_warnings_exact():
    with pytest.warns(FGClipWarning) as rec:
        NeuronParameters().to_fg()
    assert sorted(str(w.message) for w in rec) == [
        "I_pl: tau_refrac 1e-08 s outside the calibrated range 1.47e-08..1.732e-06 s; "
        "clipped to 1.47e-08",
        "I_rexp: delta_T 0.02 V outside the calibrated range 0.00121..0.0135 V; "
        "clipped to 0.0135",
    ]
    with pytest.raises(ValueError, match=r"^I_rexp: delta_T 0\.02 V outside the calibrated "
                                         r"range 0\.00121\.\.0\.0135 V$"):
        NeuronParameters({"tau_refrac": 1.0}).to_fg(strict=True)


def test_dac_clip_message_and_strict():
    with pytest.warns(FGClipWarning, match=r"^E_synx: DAC value -16 outside the range 0\.\.1023; "
                                           r"clipped to 0$"):
        assert CALIBRATION["E_synx"].to_dac("E_synx", 0.0) == 0
    with pytest.raises(ValueError, match=r"^E_synx: DAC value -16 outside the range 0\.\.1023$"):
        CALIBRATION["E_synx"].to_dac("E_synx", 0.0, strict=True)
    with pytest.raises(ValueError, match=r"^V_t: v_spike 1\.9 V outside the calibrated range "
                                         r"0\.\.1\.8 V$"):
        NeuronParameters({"v_spike": 70.0}).to_fg(strict=True)


def test_spec_sanity_points():
    g = i_gl_shape()
    assert [g.to_dac("I_gl", t * 1e-6) for t in (1, 2, 5, 10, 48)] == [189, 80, 22, 8, 1]
    r = CALIBRATION["I_radapt"]
    assert [r.to_dac("I_radapt", t * 1e-6) for t in (2.93, 14.4, 35.4)] == [861, 82, 25]
    assert CALIBRATION["I_fire"].to_dac("I_fire", 62e-9) == 944
    x = CALIBRATION["I_rexp"]
    assert (x.to_dac("I_rexp", 13.5e-3), x.to_dac("I_rexp", 1.21e-3)) == (1017, 0)
    # lookup tables pass through their sample points (§4.4)
    assert CALIBRATION["I_pl"].table[[0, 10, 90, 1012]] == pytest.approx(
        [1.732e-6, 0.862e-6, 104e-9, 14.7e-9])
    assert CALIBRATION["V_syntcx"].from_dac("V_syntcx", 400) == pytest.approx(0.284e-6)


def test_i_gl_variants_domains():
    # fast / slow scale the DAC by 1/3 / 9; small cap uses c_k (1/5)^k (§4.4)
    big, fast, slow = i_gl_shape(), i_gl_shape(speed="fast"), i_gl_shape(speed="slow")
    small = i_gl_shape(bigcap=False)
    assert fast.dac(2e-6) == pytest.approx(big.dac(2e-6) / 3)
    assert slow.dac(2e-6) == pytest.approx(big.dac(2e-6) * 9)
    assert small.dac(0.4e-6) == pytest.approx(big.dac(2e-6))
    assert (small.lo, small.hi) == (0.1083e-6, 9.63e-6)
    with pytest.raises(ValueError, match=r"^I_gl speed 'turbo' not one of"):
        i_gl_shape(speed="turbo")


@pytest.mark.parametrize("scaling", [Scaling(), Scaling(alpha_v=5), Scaling(bigcap=False),
                                     Scaling(i_gl_speed="slow")])
def test_bio_dac_bio_round_trip_random(scaling):
    """Inside the reachable range (§4.6): bio -> DAC -> bio -> DAC is the identity and the bio
    value is back within one LSB of the DAC resolution."""
    rng = np.random.default_rng(1)
    shapes = {"I_gl": i_gl_shape(scaling.bigcap, scaling.i_gl_speed), **CALIBRATION}
    for name, shape in shapes.items():
        lo, hi = shape.lo, shape.hi
        for x in rng.uniform(lo, hi, 40):
            with warnings.catch_warnings():
                warnings.simplefilter("error", FGClipWarning)
                try:
                    dac = shape.to_dac(name, x)
                except FGClipWarning:         # DAC image beyond 0..1023 near a domain edge
                    continue
                back = shape.from_dac(name, dac)
                assert shape.to_dac(name, back) == dac, (name, x)
            if not hasattr(shape, "table"):
                assert abs(shape.dac(back) - shape.dac(x)) <= 0.5 + 1e-6
            else:                              # lookup: the code's tau is >= x > next tau
                assert shape.table[dac - shape.first] >= x


def test_neuron_round_trip_through_objects():
    bio = {"cm": 0.2, "tau_m": 10.0, "v_rest": -65.0, "v_spike": -45.0, "v_thresh": -52.0,
           "v_reset": -70.0, "e_rev_E": 0.0, "e_rev_I": -80.0, "a": 2.0, "b": 0.03,
           "tau_w": 100.0, "delta_T": 1.0, "tau_refrac": 2.0, "tau_syn_E": 5.0, "tau_syn_I": 8.0}
    s = Scaling()
    n = NeuronParameters(bio)
    fg = n.to_fg(strict=True)
    v_reset = SharedParameters(v_reset=bio["v_reset"]).to_fg()["V_reset"]
    back = NeuronParameters.from_fg(fg, v_reset, s, cm=0.2)
    assert back.to_fg(s, strict=True) == fg
    lsb_mv = 1.8 / 1023 * 1e3 / s.alpha_v
    for k in ("v_rest", "v_spike", "v_thresh", "v_reset", "e_rev_I"):
        assert abs(back.bio[k] - bio[k]) <= lsb_mv / 2 + 1e-9
    assert back.bio["e_rev_E"] == pytest.approx(0.0, abs=1.8 / 614 * 100)
    assert back.bio["tau_m"] == pytest.approx(10.0, rel=0.05)
    assert back.bio["a"] == pytest.approx(2.0, rel=0.05)
    assert back.bio["b"] == pytest.approx(0.03, rel=0.05)


def test_disabling_and_special_values():
    fg = NeuronParameters({"tau_m": 10.0, "tau_refrac": 1.0}, cell_type="IF_cond_exp").to_fg(
        strict=True)
    assert (fg["V_exp"], fg["I_rexp"], fg["I_bexp"]) == (1023, 1023, 1023)
    assert (fg["I_gladapt"], fg["I_fire"], fg["I_radapt"]) == (0, 0, 1023)
    assert fg["V_t"] == 398          # IF_cond_exp: v_thresh -50 mV -> 0.7 V is the threshold
    fg = NeuronParameters({"delta_T": 0.0, "a": 0.0, "b": 0.0, "tau_m": 10.0,
                           "tau_refrac": 2.0}).to_fg(strict=True)
    assert (fg["V_exp"], fg["I_rexp"], fg["I_gladapt"], fg["I_fire"]) == (1023, 1023, 0, 0)
    assert fg["V_t"] == 396          # delta_T = 0 and v_thresh < v_spike: v_thresh is V_t
    hw = HardwareParameters.from_fg(fg, v_reset=0.5)
    assert (hw.delta_T, hw.a, hw.b, hw.exp_enabled) == (0.0, 0.0, 0.0, False)
    hw = HardwareParameters.from_fg(FGValues({**fg, "I_radapt": 1023}), v_reset=0.5)
    assert hw.tau_w == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match=r"^a -1\.0 must be >= 0$"):
        NeuronParameters({"a": -1})
    with pytest.raises(ValueError, match=r"^unknown EIF_cond_exp_isfa_ista parameters \['foo'\]$"):
        NeuronParameters({"foo": 1})
    with pytest.raises(ValueError, match=r"^I_gl: DAC value 1024 out of range 0\.\.1023$"):
        FGValues({**dict(FGValues({n: 0 for n in L.NEURON_PARAMETERS})), "I_gl": 1024})
    with pytest.raises(ValueError, match=r"^speedup 0 must be a positive finite number$"):
        Scaling(speedup=0)


def test_scaling_helpers():
    s = Scaling()
    assert s.voltage(-70) == pytest.approx(0.5) and s.voltage(0) == pytest.approx(1.2)
    assert s.time(1.0) == pytest.approx(100e-9)
    r = Scaling.from_bio_range(-80.0, -30.0)
    assert r.voltage(-80) == pytest.approx(0.3) and r.voltage(-30) == pytest.approx(1.4)


def test_shared_round_trip_and_defaults():
    sh = SharedParameters(v_reset=-70.0, tau_rec=100.0, lambda_=0.5, n_dep=1.0)
    fg = sh.to_fg(strict=True)
    assert fg["V_dtc"] == round(-1.07639 + 6.31944e-4 / 10e-6)
    assert (fg["V_stdf"], fg["V_dep"], fg["V_fac"]) == (284, 284, 0)
    # §13.4: halbe power-on defaults for the technical cells (V_gmax 1000, V_dllres 200)
    assert (fg["V_gmax0"], fg["V_dllres"], fg["V_ccas"]) == (1000, 200, 800)
    back = SharedParameters.from_hardware(SharedHardwareParameters.from_fg(fg))
    assert back.to_fg() == fg
    assert isinstance(fg, SharedFGValues)


# -- layout ---------------------------------------------------------------------------------------
def test_row_maps_are_permutations():
    for side in (1, 2):
        rows = [p[side] for p in L.NEURON_PARAMETERS.values()]
        assert len(rows) == 23 and len(set(rows)) == 23 and set(rows) <= set(range(24))
        shared = [p[side] for p in L.SHARED_PARAMETERS.values() if p[side] is not None]
        assert sorted(shared) == sorted(set(range(24)) - {18, 20, 22})
    assert L.neuron_row("E_l", 0) == 6 and L.neuron_row("E_l", 3) == 16
    assert L.shared_row("V_bout", 2) == 3 and L.shared_row("V_bexp", 1) == 3
    with pytest.raises(ValueError, match=r"^shared parameter 'V_bout' does not exist in FG "
                                         r"block 1 \(top_right\)$"):
        L.shared_row("V_bout", 1)


def test_denmem_cells_and_mirror():
    assert L.denmem_cell(0, 0) == (0, 1) and L.denmem_cell(127, 0) == (0, 128)
    assert L.denmem_cell(128, 0) == (1, 128) and L.denmem_cell(255, 1) == (3, 1)
    seen = set()
    for i in range(L.N_DENMEMS):
        x, y = L.denmem_xy(i)
        cell = L.denmem_cell(x, y)
        assert L.cell_denmem(*cell) == (x, y)
        seen.add(cell)
    assert len(seen) == 512
    assert [L.reset_block(x, y) for x, y in ((0, 0), (1, 0), (2, 1), (255, 1))] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"^FG neuron column 0 out of range 1\.\.128$"):
        L.cell_denmem(0, 0)


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(7)
    neurons = [{n: int(v) for n, v in zip(L.NEURON_PARAMETERS, rng.integers(0, 1024, 23))}
               for _ in range(L.N_DENMEMS)]
    shared = [{n: int(rng.integers(0, 1024)) for n in L.shared_names(b)} for b in range(4)]
    a = L.pack(neurons, shared)
    assert a.shape == (4, 24, 129)
    assert a[1, 16, 128] == neurons[128]["E_l"]      # right block: x 128 at column 128, row 16
    assert a[0, 6, 1] == neurons[0]["E_l"]
    assert a[2, 0, 0] == shared[2]["V_reset"]
    assert not a[:, [18, 20, 22], 0].any()
    n2, s2 = L.unpack(a)
    assert n2 == neurons and s2 == shared


def test_pack_from_transform_objects():
    fg = quiet(NeuronParameters().to_fg)
    sh = SharedParameters().to_fg()
    a = L.pack([fg] * 512, [sh] * 4)
    n2, s2 = L.unpack(a)
    assert FGValues(n2[300]) == fg and all(s2[b]["V_reset"] == 281 for b in range(4))
    with pytest.raises(ValueError, match=r"^need 512 denmem parameter sets, got 1$"):
        L.pack([fg], [sh] * 4)


def test_nest_parameters_of_the_pynn_defaults():
    """The NEST aeif_cond_exp view used by the reference runs (pF, nS, pA, mV, ms)."""
    from bss1.models.transform import NeuronParameters
    n = NeuronParameters().nest_aeif_cond_exp()
    assert n["C_m"] == pytest.approx(281.0) and n["g_L"] == pytest.approx(281.0 / 9.3667)
    assert n["b"] == pytest.approx(80.5) and n["a"] == 4.0 and n["tau_w"] == 144.0
    assert (n["V_th"], n["V_peak"], n["V_reset"], n["E_L"], n["V_m"]) == \
        (-50.4, -40.0, -70.6, -70.6, -70.6)
    assert (n["E_ex"], n["E_in"], n["t_ref"], n["Delta_T"]) == (0.0, -80.0, 0.1, 2.0)
