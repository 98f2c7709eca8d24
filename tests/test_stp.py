"""Synapse-driver STP (analog-core §6, T6): per-spike factors against the closed forms of a
regular train, the digest's worked examples, the ESS stp_dep case, facilitation, mode polarity,
vectorised processing against a scalar reference, parameter transformations, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss1.models.stp import (StpParameters, StpState, U_MAX, U_MIN, cap_for_utilisation,
                             tau_rec_from_dac, utilisation)
from bss1.models.transform import SharedHardwareParameters

US = 1e-6


def closed_form(n, u, delta, tau, lam, offset, depression=True):
    """Factor of spike n (1-based) of a regular train: I_n = I_inf (1 - (e (1-U))^(n-1))."""
    e = math.exp(-delta / tau)
    i_inf = u * e / (1 - (1 - u) * e)
    i_n = i_inf * (1 - (e * (1 - u)) ** (n - 1))
    return 1 - lam * (i_n - offset) if depression else 1 + lam * (i_n - offset)


def train(state, unit, n, delta, t0=0.0):
    return state.factors(np.full(n, unit), t0 + delta * np.arange(n))


@pytest.mark.parametrize("cap, delta, tau, lam, n_dep, n_fac", [
    (0, 4 * US, 20 * US, 1.0, 0.0, 1.0),
    (1, 4 * US, 10 * US, 1.0, 0.0, 1.0),
    (7, 1 * US, 30 * US, 0.7, 0.2, 0.9),
    (3, 25 * US, 5 * US, 1.3, 0.1, 0.4),
])
@pytest.mark.parametrize("depression", [True, False])
def test_regular_train_matches_closed_form(cap, delta, tau, lam, n_dep, n_fac, depression):
    s = StpState(4)
    s.configure(2, 1, int(depression), cap)
    s.set_parameters(2, StpParameters(tau_rec=tau, lambda_=lam, n_dep=n_dep, n_fac=n_fac))
    f = train(s, 2, 20, delta)
    offset = n_dep if depression else n_fac
    ref = [closed_form(k, utilisation(cap), delta, tau, lam, offset, depression)
           for k in range(1, 21)]
    np.testing.assert_allclose(f, ref, rtol=1e-9, atol=0)


@pytest.mark.parametrize("tau, expected", [(20 * US, (1, 0.778, 0.645, 0.566, 0.519)),
                                           (10 * US, (1, 0.818, 0.729, 0.686, 0.665))])
def test_digest_examples(tau, expected):
    # §6.2: depression, lambda 1, N_dep 0, U 0.2714 (cap 1), 40 ms bio intervals
    s = StpState(1)
    s.configure(0, 1, 1, 1)
    s.set_parameters(0, StpParameters(tau_rec=tau))
    assert utilisation(1) == pytest.approx(0.2714, abs=1e-4)
    np.testing.assert_allclose(train(s, 0, 5, 4 * US), expected, atol=6e-4)


def test_ess_stp_dep_case():
    # ESS system test stp_dep: U = 3/11, tau_rec 200 ms bio, 5 inputs every 40 ms from 10 ms
    cap = cap_for_utilisation(3 / 11)
    assert cap == 1
    v_dtc = round(-1.07639 + 6.31944e-4 / 20e-6)
    params = StpParameters.from_fg(v_dtc=v_dtc, v_stdf=568, v_dep=0, v_fac=0)
    assert params.tau_rec == pytest.approx(20e-6, rel=0.02)
    s = StpState(224)
    s.configure(17, 1, 1, cap)
    s.set_parameters(17, params)
    f = train(s, 17, 5, 4 * US, t0=1 * US)
    assert f[0] == pytest.approx(1 - params.lambda_ * (0 - params.n_dep))
    assert all(a > b for a, b in zip(f, f[1:]))
    ref = [closed_form(k, utilisation(1), 4 * US, params.tau_rec, params.lambda_, 0.0)
           for k in range(1, 6)]
    np.testing.assert_allclose(f, ref, rtol=1e-9)


def test_facilitation():
    s = StpState(2)
    s.configure([0, 1], 1, 0, 4)
    s.set_parameters(0, StpParameters())                    # lambda 1, N_fac 1 -> f = I
    s.set_parameters(1, StpParameters(lambda_=0.5, n_fac=0.6))
    f0, f1 = train(s, 0, 6, 2 * US), train(s, 1, 6, 2 * US)
    assert f0[0] == 0.0 and f1[0] == pytest.approx(1 - 0.5 * 0.6)   # first spike 1 - lambda N_fac
    assert all(a < b for a, b in zip(f0, f0[1:])) and all(a < b for a, b in zip(f1, f1[1:]))
    # after a long pause the state has recovered: the first-spike value again
    assert s.factors([0], [1.0])[0] == pytest.approx(0.0, abs=1e-12)


def test_mode_bit_polarity_and_disable():
    s = StpState(3)
    s.configure([0, 1, 2], [1, 1, 0], [1, 0, 1], 2)
    f = s.factors(np.repeat([0, 1, 2], 4), np.tile(np.arange(4) * 2 * US, 3)).reshape(3, 4)
    assert all(a > b for a, b in zip(f[0], f[0][1:]))        # stp_mode 1 = depression
    assert all(a < b for a, b in zip(f[1], f[1][1:]))        # stp_mode 0 = facilitation
    assert (f[2] == 1).all() and s.inactive[2] == 0          # disabled: factor 1, no state


def test_state_per_driver_vs_per_address():
    # §13.6: one state per driver (default) mixes the addresses; keyed by 64 * driver + address
    # (ESS) each address has its own history
    times, addrs = np.arange(6) * 2 * US, np.array([3, 9, 3, 9, 3, 9])
    drv = StpState(1)
    drv.configure(0, 1, 1, 7)
    ess = StpState(64)
    ess.configure(np.arange(64), 1, 1, 7)
    f_drv = drv.factors(np.zeros(6, int), times)
    f_ess = ess.factors(addrs, times)
    ref_drv = [closed_form(k, U_MAX, 2 * US, 10 * US, 1, 0) for k in range(1, 7)]
    ref_ess = [closed_form(k, U_MAX, 4 * US, 10 * US, 1, 0) for k in (1, 1, 2, 2, 3, 3)]
    np.testing.assert_allclose(f_drv, ref_drv, rtol=1e-9)
    np.testing.assert_allclose(f_ess, ref_ess, rtol=1e-9)


def scalar_reference(events, u, tau, depression):
    state = {}
    out = []
    for unit, t in events:
        i, tl = state.get(unit, (0.0, None))
        i_now = i * math.exp(-(t - tl) / tau) if tl is not None else 0.0
        out.append(1 - i_now if depression[unit] else i_now)
        state[unit] = (i_now + u[unit] * (1 - i_now), t)
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400)), min_size=1, max_size=60),
       st.lists(st.integers(0, 7), min_size=6, max_size=6),
       st.lists(st.booleans(), min_size=6, max_size=6))
def test_vectorised_batches_match_scalar_reference(events, caps, modes):
    # per unit, distinct times; events given in arbitrary order across units, split in 2 batches
    seen, evs = set(), []
    for unit, c in events:
        if (unit, c) not in seen:
            seen.add((unit, c))
            evs.append((unit, c * 0.1 * US))
    evs.sort(key=lambda e: e[1])
    s = StpState(6)
    s.configure(np.arange(6), 1, np.array(modes, int), np.array(caps))
    half = len(evs) // 2
    got = []
    for batch in (evs[:half], evs[half:]):
        if batch:
            perm = np.random.default_rng(len(batch)).permutation(len(batch))
            units = np.array([batch[k][0] for k in perm])
            times = np.array([batch[k][1] for k in perm])
            f = np.empty(len(batch))
            f[perm] = s.factors(units, times)
            got.extend(f)
    ref = scalar_reference(evs, [utilisation(c) for c in caps], 10 * US, modes)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_parameter_transformations():
    assert tau_rec_from_dac(62) == pytest.approx(10e-6, rel=0.01)
    for dac, tau in ((0, 587e-6), (10, 57e-6), (100, 6.3e-6), (300, 2.1e-6), (1023, 0.62e-6)):
        assert tau_rec_from_dac(dac) == pytest.approx(tau, rel=0.01)
    assert utilisation(0) == U_MIN and utilisation(7) == pytest.approx(0.40)
    assert [cap_for_utilisation(utilisation(c)) for c in range(8)] == list(range(8))
    hw = SharedHardwareParameters(v_reset=0.5, tau_rec=20e-6, v_stdf=1.0, n_dep=0.25, n_fac=0.5)
    p = StpParameters.from_shared(hw)
    assert (p.tau_rec, p.lambda_, p.n_dep, p.n_fac) == (20e-6, 1.0, 0.25, 0.5)
    q = StpParameters.from_shared(hw.to_fg())
    assert q.tau_rec == pytest.approx(20e-6, rel=0.02) and q.lambda_ == pytest.approx(1.0, abs=2e-3)
    assert q.n_dep == pytest.approx(0.25, abs=3e-3) and q.n_fac == pytest.approx(0.5, abs=3e-3)


@pytest.mark.parametrize("call, message", [
    (lambda s: s.configure(0, 1, 1, 8), "stp_cap 8 out of range 0..7"),
    (lambda s: s.configure(0, 2, 1, 0), "stp_enable 2 out of range 0..1"),
    (lambda s: s.configure(4, 1, 1, 0), "STP unit 4 out of range 0..3"),
    (lambda s: s.factors([0, -1], [0.0, 0.0]), "STP unit -1 out of range 0..3"),
    (lambda s: s.factors([0], [0.0, 1.0]), "units and times differ in length: 1 and 2"),
    (lambda s: s.factors([1], [0.5e-6]),
     r"STP event at 5e-07 s before the last event of unit 1 at 1e-06 s"),
    (lambda s: cap_for_utilisation(0.5), "utilisation 0.5 out of range 0.25..0.40"),
    (lambda s: tau_rec_from_dac(1024), "V_dtc 1024 out of range 0..1023"),
    (lambda s: StpParameters(tau_rec=0.0), "tau_rec 0.0 must be > 0"),
])
def test_bad_input(call, message):
    s = StpState(4)
    s.configure(np.arange(4), 1, 1, 3)
    s.factors([1], [1e-6])
    before = (s.inactive.copy(), s.t_last.copy(), s.u.copy())
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(s)
    assert all(np.array_equal(a, b) for a, b in zip(before, (s.inactive, s.t_last, s.u)))
