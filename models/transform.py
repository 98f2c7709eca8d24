"""Neuron parameter transformation: bio (PyNN) <-> hardware (SI) <-> FG DAC codes.

The only place besides ``host/pynn`` where bio units appear (DESIGN decision 8). Sources:
analog-core.md §2 (scaling bio <-> hardware), §3.5 (cap / speed bits), §4.1 (DAC resolution),
§4.2/§4.3 (parameters), §4.4 (default calibration shapes and coefficients), §4.5 (worked example,
the golden vectors of ``tests/test_transform.py``), §4.6 (reachable ranges), §4.7 (disabling and
special values), §13 (conflicts); host-stack.md §5.2.

Chain: ``NeuronParameters`` (bio dict) -> ``HardwareParameters`` (volts, seconds, siemens,
amperes; per denmem, hw_neuron_size 1) -> ``FGValues`` (23 DAC codes) and back. Shared values of
one FG block: ``SharedParameters`` -> ``SharedHardwareParameters`` -> ``SharedFGValues``.

Out of range (documented behaviour): a hardware value outside the calibration domain of its
shape (§4.4 last column; lookup tables: their ends) is clipped to the domain edge, then the
rounded DAC code is clipped to 0..1023. Each clip emits ``FGClipWarning`` naming parameter,
value and range; with ``strict=True`` the same message is raised as ``ValueError`` instead.
Values that are not a matter of range (negative time constants, conductances or currents,
unknown names) always raise ``ValueError``.

Conflict choices (§13): #2 input "x" is excitatory (e_rev_E, tau_syn_E -> E_synx, V_syntcx),
as in halbe_to_ess / marocco; #8 small-cap I_gl uses calibtic's measured factor 5 while a/b
scaling uses the nominal small cap, exactly as calibtic does; #10 I_gladapt / I_radapt ignore the
speed and cap bits (calibtic FIXME #2298).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from bss1.models.fg_layout import NEURON_PARAMETERS, SHARED_PARAMETERS

__all__ = [
    "SPEEDUP", "ALPHA_V", "SHIFT_V", "C_BIG", "C_SMALL", "DAC_MAX", "V_MAX", "I_MAX",
    "FGClipWarning", "Scaling", "Linear", "NegativePowers", "OneOverPolynomial", "Lookup",
    "CALIBRATION", "i_gl_shape", "PYNN_DEFAULTS", "NeuronParameters", "HardwareParameters",
    "FGValues", "SharedParameters", "SharedHardwareParameters", "SharedFGValues",
    "ideal_voltage_dac",
]

SPEEDUP, ALPHA_V, SHIFT_V = 1e4, 10.0, 1.2           # §2 defaults
C_BIG, C_SMALL = 2.16456e-12, 0.1642e-12             # F, §2 / §3.5
DAC_MAX, V_MAX, I_MAX = 1023, 1.8, 2.5e-6            # §4.1
I_GL_SPEED = {"normal": 1.0, "fast": 1 / 3, "slow": 9.0}   # leak divisors 3 / 1 / 27 (§3.5)
SMALLCAP_TAU_FACTOR = 1 / 5                          # measured big -> small tau_m ratio (§3.5)


class FGClipWarning(UserWarning):
    """A value was clipped to a calibration domain or to the DAC range."""


def _clip_report(message, strict):
    if strict:
        raise ValueError(message)
    warnings.warn(message, FGClipWarning, stacklevel=4)


def _g(v):
    return f"{v:.6g}"


def _clip_domain(param, quantity, unit, value, lo, hi, strict):
    if lo <= value <= hi:
        return value
    edge = lo if value < lo else hi
    _clip_report(f"{param}: {quantity} {_g(value)} {unit} outside the calibrated range "
                 f"{_g(lo)}..{_g(hi)} {unit}" + ("" if strict else f"; clipped to {_g(edge)}"),
                 strict)
    return edge


def _round_dac(param, value, strict, lo=0, hi=DAC_MAX):
    dac = math.floor(value + 0.5)       # round half up, like C++ round() for positive values
    if lo <= dac <= hi:
        return dac
    edge = lo if dac < lo else hi
    _clip_report(f"{param}: DAC value {dac} outside the range {lo}..{hi}"
                 + ("" if strict else f"; clipped to {edge}"), strict)
    return edge


def _check_dac(param, dac):
    if not isinstance(dac, (int, np.integer)) or isinstance(dac, bool) or not 0 <= dac <= DAC_MAX:
        raise ValueError(f"{param}: DAC value {dac!r} out of range 0..{DAC_MAX}")
    return int(dac)


# -- calibration shapes, §4.4 ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Shape:
    quantity: str
    unit: str
    lo: float
    hi: float

    def dac(self, x):                                   # continuous DAC of an in-domain x
        raise NotImplementedError

    def to_dac(self, param, x, strict=False):
        x = _clip_domain(param, self.quantity, self.unit, x, self.lo, self.hi, strict)
        return _round_dac(param, self.dac(x), strict)

    def from_dac(self, param, dac, strict=False):
        """x with dac(x) == dac, found by bisection (every shape is monotone on its domain).

        Codes beyond the image of the domain by more than half an LSB are clipped like
        forward values; within half an LSB they belong to the edge code and map to the edge.
        """
        _check_dac(param, dac)
        a, b = self.lo, self.hi
        fa, fb = self.dac(a), self.dac(b)
        rising = fb > fa
        lo_d, hi_d = (fa, fb) if rising else (fb, fa)
        if not lo_d - 0.5 <= dac <= hi_d + 0.5:
            edge_x = (a if dac < lo_d else b) if rising else (b if dac < lo_d else a)
            _clip_report(f"{param}: DAC value {dac} outside the calibrated codes "
                         f"{_g(lo_d)}..{_g(hi_d)}" + ("" if strict else
                                                      f"; {self.quantity} set to {_g(edge_x)} "
                                                      f"{self.unit}"), strict)
        if dac <= lo_d:
            return a if rising else b
        if dac >= hi_d:
            return b if rising else a
        for _ in range(200):
            m = 0.5 * (a + b)
            if m in (a, b):
                break
            if (self.dac(m) < dac) == rising:
                a = m
            else:
                b = m
        return 0.5 * (a + b)


@dataclass(frozen=True)
class Linear(_Shape):
    """DAC = c0 + c1*x + c2*x^2 (calibtic ``Polynomial``)."""
    coeffs: tuple = (0.0, 1.0)

    def dac(self, x):
        return sum(c * x ** k for k, c in enumerate(self.coeffs))


@dataclass(frozen=True)
class NegativePowers(_Shape):
    """DAC = sum c_k * x^-k (calibtic ``NegativePowersPolynomial``, used for I_gl(tau_m))."""
    coeffs: tuple = ()

    def dac(self, x):
        return sum(c * x ** -k for k, c in enumerate(self.coeffs))


@dataclass(frozen=True)
class OneOverPolynomial(_Shape):
    """DAC = 1 / (c0 + c1*x + c2*x^2) (calibtic ``OneOverPolynomial``, I_radapt(tau_w))."""
    coeffs: tuple = ()

    def dac(self, x):
        return 1.0 / sum(c * x ** k for k, c in enumerate(self.coeffs))


def _natural_spline(x, y, xq):
    n, h = len(x), np.diff(x)
    m = np.zeros((n, n))
    r = np.zeros(n)
    m[0, 0] = m[-1, -1] = 1.0
    for i in range(1, n - 1):
        m[i, i - 1:i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        r[i] = 3 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    c = np.linalg.solve(m, r)
    k = np.clip(np.searchsorted(x, xq, side="right") - 1, 0, n - 2)
    d = xq - x[k]
    b = (y[k + 1] - y[k]) / h[k] - h[k] * (2 * c[k] + c[k + 1]) / 3
    return y[k] + b * d + c[k] * d ** 2 + (c[k + 1] - c[k]) / (3 * h[k]) * d ** 3


class Lookup(_Shape):
    """Monotone falling table tau(DAC) over the DAC codes ``first..last`` (calibtic ``Lookup``).

    The spec gives the table at sample codes only (§4.4). The full table is rebuilt at every
    code by a natural cubic spline of ln(tau) through the samples (our choice; it reproduces the
    §4.5 value V_syntc(0.5 us) = 320). Forward, like calibtic's binary search, picks the largest
    code whose tau is still >= the request; a request beyond the table ends clips to them.
    """

    def __init__(self, quantity, unit, samples):
        codes = np.array([c for c, _ in samples], dtype=float)
        taus = np.array([t for _, t in samples], dtype=float)
        self.first, self.last = int(codes[0]), int(codes[-1])
        full = np.exp(_natural_spline(codes, np.log(taus), np.arange(self.first, self.last + 1.0)))
        if not np.all(np.diff(full) < 0):
            raise ValueError(f"lookup table for {quantity} is not strictly falling")
        self.table = full
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "lo", float(full[-1]))
        object.__setattr__(self, "hi", float(full[0]))

    def to_dac(self, param, x, strict=False):
        x = _clip_domain(param, self.quantity, self.unit, x, self.lo, self.hi, strict)
        # table is falling: index of the last entry >= x (relative slack 1e-12 so that a value
        # read back from the table and scaled to bio and back picks its own code again)
        i = int(np.searchsorted(-self.table, -x * (1 - 1e-12), side="right")) - 1
        return self.first + max(i, 0)

    def from_dac(self, param, dac, strict=False):
        _check_dac(param, dac)
        if not self.first <= dac <= self.last:
            edge = self.first if dac < self.first else self.last
            _clip_report(f"{param}: DAC value {dac} outside the table codes "
                         f"{self.first}..{self.last}" + ("" if strict else f"; read as {edge}"),
                         strict)
            dac = edge
        return float(self.table[dac - self.first])


# §4.4 coefficients, verbatim from the spec table (voltage cells: ideal 1023/1.8 per volt, §4.1).
_VOLT = (0.0, DAC_MAX / V_MAX)
_I_GL_COEFFS = (0.0, 3.88526e-5, 4.59779e-10, -5.59735e-16, 2.49921e-22)
# I_gl domains (s) per (bigcap, speed), §4.4 table.
_I_GL_DOMAINS = {
    (True, "normal"): (0.541e-6, 48.2e-6), (True, "fast"): (0.423e-6, 20.1e-6),
    (True, "slow"): (1.5e-6, 200e-6), (False, "normal"): (0.1083e-6, 9.63e-6),
    (False, "fast"): (0.100e-6, 4.02e-6), (False, "slow"): (0.30e-6, 72.2e-6),
}

CALIBRATION: dict[str, _Shape] = {
    "E_l": Linear("v_rest", "V", 0.0, V_MAX, _VOLT),
    "E_syni": Linear("e_rev_I", "V", 0.0, V_MAX, _VOLT),
    "E_synx": Linear("e_rev_E", "V", 0.0, V_MAX, (-16.0, 614.0)),
    "V_exp": Linear("v_thresh", "V", 0.0, V_MAX, _VOLT),
    "V_t": Linear("v_spike", "V", 0.0, V_MAX, _VOLT),
    "I_gladapt": Linear("a", "S", 2.537e-9, 4958e-9, (-0.2701, 1.06392e8, 2.01736e13)),
    "I_radapt": OneOverPolynomial("tau_w", "s", 2.93e-6, 35.4e-6, (-1.222e-3, 782.014, 1.07527e7)),
    "I_fire": Linear("b", "A", 0.0324e-9, 69.26e-9, (22.4037, 1.8414e10, -5.7288e16)),
    "I_rexp": Linear("delta_T", "V", 1.21e-3, 13.5e-3, (-38.5688, 2.71646e4, 3.7804e6)),
    "I_pl": Lookup("tau_refrac", "s", (
        (10, 1.732e-6), (20, 0.862e-6), (50, 0.295e-6), (100, 104e-9), (200, 49.5e-9),
        (300, 39.6e-9), (400, 33.4e-9), (500, 28.7e-9), (700, 21.6e-9), (1022, 14.7e-9))),
}
_SYNTC_SAMPLES = ((226, 1.511e-6), (300, 0.610e-6), (400, 0.284e-6), (500, 0.189e-6),
                  (600, 0.154e-6), (700, 0.140e-6), (800, 0.134e-6), (900, 0.131e-6),
                  (1022, 0.130e-6))
CALIBRATION["V_syntcx"] = Lookup("tau_syn_E", "s", _SYNTC_SAMPLES)
CALIBRATION["V_syntci"] = Lookup("tau_syn_I", "s", _SYNTC_SAMPLES)
# constants of §4.4 ("technical" biases)
CONSTANTS = {"I_convx": 1023, "I_convi": 1023, "I_bexp": 1023, "I_spikeamp": 1023,
             "I_intbbx": 511, "I_intbbi": 511, "V_synx": 511, "V_syni": 511,
             "V_convoffx": 1023, "V_convoffi": 1023}


def i_gl_shape(bigcap: bool = True, speed: str = "normal") -> NegativePowers:
    """I_gl(tau_m) shape for the cap and speed bits: the bigcap-normal fit, coefficients times
    (1/5)^k for small cap, the DAC times 1/3 (fast) or 9 (slow) (§4.4, §3.5)."""
    if speed not in I_GL_SPEED:
        raise ValueError(f"I_gl speed {speed!r} not one of {sorted(I_GL_SPEED)}")
    cap = 1.0 if bigcap else SMALLCAP_TAU_FACTOR
    coeffs = tuple(c * cap ** k * I_GL_SPEED[speed] for k, c in enumerate(_I_GL_COEFFS))
    return NegativePowers("tau_m", "s", *_I_GL_DOMAINS[(bool(bigcap), speed)], coeffs)


def ideal_voltage_dac(volts: float, param: str = "voltage", strict: bool = False) -> int:
    """Ideal voltage cell map round(V / 1.8 * 1023), clipped to 0..1023 (§4.1)."""
    return _round_dac(param, volts / V_MAX * DAC_MAX, strict)


# -- bio <-> hardware scaling, §2 ------------------------------------------------------------------
@dataclass(frozen=True)
class Scaling:
    """Bio <-> hardware scaling of one denmem (§2) plus the cap / I_gl speed bits (§3.5)."""
    speedup: float = SPEEDUP
    alpha_v: float = ALPHA_V
    shift_v: float = SHIFT_V
    bigcap: bool = True
    i_gl_speed: str = "normal"

    def __post_init__(self):
        for name in ("speedup", "alpha_v"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} {v!r} must be a positive finite number")
        i_gl_shape(self.bigcap, self.i_gl_speed)

    @property
    def cap(self) -> float:
        """Nominal capacitance of one denmem, F."""
        return C_BIG if self.bigcap else C_SMALL

    @classmethod
    def from_bio_range(cls, v_min: float, v_max: float, hw_min: float = 0.3, hw_max: float = 1.4,
                       **kw) -> "Scaling":
        """alpha_v / shift_v that map [v_min, v_max] mV onto [hw_min, hw_max] V (§2)."""
        if not v_max > v_min:
            raise ValueError(f"bio range {v_min}..{v_max} mV is empty")
        alpha = 1000 * (hw_max - hw_min) / (v_max - v_min)
        shift = (v_max * hw_min - v_min * hw_max) / (v_max - v_min)
        return cls(alpha_v=alpha, shift_v=shift, **kw)

    def voltage(self, mv):
        return self.alpha_v * mv * 1e-3 + self.shift_v

    def voltage_bio(self, v):
        return (v - self.shift_v) * 1e3 / self.alpha_v

    def time(self, ms):
        return ms * 1e-3 / self.speedup

    def time_bio(self, s):
        return s * 1e3 * self.speedup

    def conductance(self, ns, cm_nf):
        return ns * 1e-9 * self.speedup * self.cap / (cm_nf * 1e-9)

    def conductance_bio(self, siemens, cm_nf):
        return siemens * cm_nf * 1e-9 / (self.speedup * 1e-9 * self.cap)

    def current(self, na, cm_nf):
        return na * 1e-9 * self.alpha_v * self.speedup * self.cap / (cm_nf * 1e-9)

    def current_bio(self, amperes, cm_nf):
        return amperes * cm_nf * 1e-9 / (1e-9 * self.alpha_v * self.speedup * self.cap)


PYNN_DEFAULTS = {
    "EIF_cond_exp_isfa_ista": dict(
        cm=0.281, tau_m=9.3667, v_rest=-70.6, v_spike=-40.0, v_thresh=-50.4, v_reset=-70.6,
        e_rev_E=0.0, e_rev_I=-80.0, a=4.0, b=0.0805, tau_w=144.0, delta_T=2.0, tau_refrac=0.1,
        tau_syn_E=5.0, tau_syn_I=5.0, i_offset=0.0),
    "IF_cond_exp": dict(
        cm=1.0, tau_m=20.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0, e_rev_E=0.0,
        e_rev_I=-70.0, tau_refrac=0.1, tau_syn_E=5.0, tau_syn_I=5.0, i_offset=0.0),
}
_POSITIVE = ("cm", "tau_m", "tau_syn_E", "tau_syn_I")
_NON_NEGATIVE = ("a", "b", "tau_w", "delta_T", "tau_refrac")
_HW_FIELDS = ("v_rest", "v_spike", "v_thresh", "v_reset", "e_rev_E", "e_rev_I", "delta_T")


@dataclass(frozen=True)
class HardwareParameters:
    """One denmem's parameters in SI units (volts, seconds, siemens, amperes), §2.

    ``v_thresh`` is the exponential reference V_exp, ``v_spike`` the spike threshold V_t;
    ``exp_enabled`` False / ``adaptation`` False are the disabled terms of §4.7.
    """
    v_rest: float
    v_spike: float
    v_thresh: float
    v_reset: float
    e_rev_E: float
    e_rev_I: float
    delta_T: float
    tau_m: float
    tau_refrac: float
    tau_syn_E: float
    tau_syn_I: float
    a: float = 0.0
    b: float = 0.0
    tau_w: float = 0.0
    exp_enabled: bool = True
    adaptation: bool = True
    bigcap: bool = True
    i_gl_speed: str = "normal"

    def to_fg(self, strict: bool = False) -> "FGValues":
        """The 23 per-denmem DAC codes (§4.4 shapes, §4.7 disabling). V_reset is shared:
        see :class:`SharedHardwareParameters`."""
        cal, d = CALIBRATION, dict(CONSTANTS)
        d["E_l"] = cal["E_l"].to_dac("E_l", self.v_rest, strict)
        d["E_synx"] = cal["E_synx"].to_dac("E_synx", self.e_rev_E, strict)
        d["E_syni"] = cal["E_syni"].to_dac("E_syni", self.e_rev_I, strict)
        d["V_t"] = cal["V_t"].to_dac("V_t", self.v_spike, strict)
        d["I_gl"] = i_gl_shape(self.bigcap, self.i_gl_speed).to_dac("I_gl", self.tau_m, strict)
        d["I_pl"] = cal["I_pl"].to_dac("I_pl", self.tau_refrac, strict)
        d["V_syntcx"] = cal["V_syntcx"].to_dac("V_syntcx", self.tau_syn_E, strict)
        d["V_syntci"] = cal["V_syntci"].to_dac("V_syntci", self.tau_syn_I, strict)
        if self.exp_enabled and self.delta_T != 0:
            d["V_exp"] = cal["V_exp"].to_dac("V_exp", self.v_thresh, strict)
            d["I_rexp"] = cal["I_rexp"].to_dac("I_rexp", self.delta_T, strict)
        else:
            d["V_exp"] = d["I_rexp"] = d["I_bexp"] = 1023
        if self.adaptation:
            d["I_gladapt"] = cal["I_gladapt"].to_dac("I_gladapt", self.a, strict) if self.a else 0
            d["I_fire"] = cal["I_fire"].to_dac("I_fire", self.b, strict) if self.b else 0
            d["I_radapt"] = cal["I_radapt"].to_dac("I_radapt", self.tau_w, strict)
        else:
            d["I_gladapt"], d["I_fire"], d["I_radapt"] = 0, 0, 1023
        return FGValues(d)

    @classmethod
    def from_fg(cls, fg: "FGValues", v_reset: float, bigcap: bool = True,
                i_gl_speed: str = "normal", strict: bool = False) -> "HardwareParameters":
        """Inverse of :meth:`to_fg` (§4.4 reverse, §4.7 reverse special values)."""
        cal, f = CALIBRATION, fg
        exp_on = f["I_rexp"] != 1023
        return cls(
            v_rest=cal["E_l"].from_dac("E_l", f["E_l"], strict),
            v_spike=cal["V_t"].from_dac("V_t", f["V_t"], strict),
            v_thresh=cal["V_exp"].from_dac("V_exp", f["V_exp"], strict),
            v_reset=v_reset,
            e_rev_E=cal["E_synx"].from_dac("E_synx", f["E_synx"], strict),
            e_rev_I=cal["E_syni"].from_dac("E_syni", f["E_syni"], strict),
            delta_T=cal["I_rexp"].from_dac("I_rexp", f["I_rexp"], strict) if exp_on else 0.0,
            tau_m=i_gl_shape(bigcap, i_gl_speed).from_dac("I_gl", f["I_gl"], strict),
            tau_refrac=cal["I_pl"].from_dac("I_pl", f["I_pl"], strict),
            tau_syn_E=cal["V_syntcx"].from_dac("V_syntcx", f["V_syntcx"], strict),
            tau_syn_I=cal["V_syntci"].from_dac("V_syntci", f["V_syntci"], strict),
            a=cal["I_gladapt"].from_dac("I_gladapt", f["I_gladapt"], strict)
            if f["I_gladapt"] else 0.0,
            b=cal["I_fire"].from_dac("I_fire", f["I_fire"], strict) if f["I_fire"] else 0.0,
            tau_w=cal["I_radapt"].from_dac("I_radapt", f["I_radapt"], strict)
            if f["I_radapt"] != 1023 else 0.0,
            exp_enabled=exp_on, adaptation=True, bigcap=bigcap, i_gl_speed=i_gl_speed)


class _Codes(Mapping):
    _names: tuple = ()
    _what = ""

    def __init__(self, values: Mapping[str, int]):
        unknown = sorted(set(values) - set(self._names))
        missing = [n for n in self._names if n not in values]
        if unknown or missing:
            raise ValueError(f"{self._what}: unknown {unknown}, missing {missing}")
        self._d = {n: _check_dac(n, values[n]) for n in self._names}

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __repr__(self):
        return f"{type(self).__name__}({self._d!r})"


class FGValues(_Codes):
    """DAC codes (0..1023) of the 23 per-denmem FG parameters (§4.2)."""
    _names = tuple(NEURON_PARAMETERS)
    _what = "per-denmem FG values"


class SharedFGValues(_Codes):
    """DAC codes of the shared FG parameters of one block (both sides' names, §4.3)."""
    _names = tuple(SHARED_PARAMETERS)
    _what = "shared FG values"


@dataclass(frozen=True)
class NeuronParameters:
    """PyNN parameters of one cell (mV, ms, nF, nS for ``a``, nA); missing names take the
    PyNN defaults of ``cell_type``. ``i_offset`` is accepted but is not an FG parameter."""
    bio: Mapping[str, float] = field(default_factory=dict)
    cell_type: str = "EIF_cond_exp_isfa_ista"

    def __post_init__(self):
        if self.cell_type not in PYNN_DEFAULTS:
            raise ValueError(f"cell type {self.cell_type!r} not one of {sorted(PYNN_DEFAULTS)}")
        defaults = PYNN_DEFAULTS[self.cell_type]
        unknown = sorted(set(self.bio) - set(defaults))
        if unknown:
            raise ValueError(f"unknown {self.cell_type} parameters {unknown}")
        full = {**defaults, **{k: float(v) for k, v in self.bio.items()}}
        for k, v in full.items():
            if not math.isfinite(v):
                raise ValueError(f"{k} {v!r} is not finite")
            if (k in _POSITIVE and v <= 0) or (k in _NON_NEGATIVE and v < 0):
                raise ValueError(f"{k} {v!r} must be {'> 0' if k in _POSITIVE else '>= 0'}")
        object.__setattr__(self, "bio", full)

    def nest_aeif_cond_exp(self) -> dict[str, float]:
        """The same neuron as NEST ``aeif_cond_exp`` parameters (pF, nS, pA, mV, ms), for
        reference runs; the membrane starts at rest."""
        p = self.bio
        return dict(C_m=p["cm"] * 1e3, g_L=p["cm"] * 1e3 / p["tau_m"], E_L=p["v_rest"],
                    V_th=p["v_thresh"], Delta_T=p["delta_T"], a=p["a"], b=p["b"] * 1e3,
                    tau_w=p["tau_w"], V_reset=p["v_reset"], V_peak=p["v_spike"],
                    t_ref=p["tau_refrac"], E_ex=p["e_rev_E"], E_in=p["e_rev_I"],
                    tau_syn_ex=p["tau_syn_E"], tau_syn_in=p["tau_syn_I"], V_m=p["v_rest"])

    def to_hardware(self, scaling: Scaling = Scaling()) -> HardwareParameters:
        p, s = self.bio, scaling
        eif = self.cell_type == "EIF_cond_exp_isfa_ista"
        delta_t = p["delta_T"] if eif else 0.0
        spike = p["v_spike"] if eif else p["v_thresh"]
        if eif and delta_t == 0 and p["v_thresh"] < p["v_spike"]:
            spike = p["v_thresh"]          # §4.7: without the exp term v_thresh is the threshold
        return HardwareParameters(
            v_rest=s.voltage(p["v_rest"]), v_spike=s.voltage(spike),
            v_thresh=s.voltage(p["v_thresh"]), v_reset=s.voltage(p["v_reset"]),
            e_rev_E=s.voltage(p["e_rev_E"]), e_rev_I=s.voltage(p["e_rev_I"]),
            delta_T=s.alpha_v * delta_t * 1e-3, tau_m=s.time(p["tau_m"]),
            tau_refrac=s.time(p["tau_refrac"]), tau_syn_E=s.time(p["tau_syn_E"]),
            tau_syn_I=s.time(p["tau_syn_I"]),
            a=s.conductance(p["a"], p["cm"]) if eif else 0.0,
            b=s.current(p["b"], p["cm"]) if eif else 0.0,
            tau_w=s.time(p["tau_w"]) if eif else 0.0,
            exp_enabled=eif and delta_t != 0, adaptation=eif, bigcap=s.bigcap,
            i_gl_speed=s.i_gl_speed)

    def to_fg(self, scaling: Scaling = Scaling(), strict: bool = False) -> FGValues:
        return self.to_hardware(scaling).to_fg(strict)

    @classmethod
    def from_hardware(cls, hw: HardwareParameters, scaling: Scaling = Scaling(),
                      cm: float = PYNN_DEFAULTS["EIF_cond_exp_isfa_ista"]["cm"]
                      ) -> "NeuronParameters":
        """Bio view of ``hw`` (EIF_cond_exp_isfa_ista names); ``cm`` in nF is not stored on the
        chip and must be given to scale ``a`` and ``b`` back."""
        s = scaling
        bio = {k: s.voltage_bio(getattr(hw, k)) for k in _HW_FIELDS if k != "delta_T"}
        bio.update(cm=cm, delta_T=hw.delta_T * 1e3 / s.alpha_v, tau_m=s.time_bio(hw.tau_m),
                   tau_refrac=s.time_bio(hw.tau_refrac), tau_syn_E=s.time_bio(hw.tau_syn_E),
                   tau_syn_I=s.time_bio(hw.tau_syn_I), tau_w=s.time_bio(hw.tau_w),
                   a=s.conductance_bio(hw.a, cm), b=s.current_bio(hw.b, cm))
        return cls(bio)

    @classmethod
    def from_fg(cls, fg: FGValues, v_reset_dac: int, scaling: Scaling = Scaling(),
                cm: float = PYNN_DEFAULTS["EIF_cond_exp_isfa_ista"]["cm"],
                strict: bool = False) -> "NeuronParameters":
        v_reset = CALIBRATION["V_t"].from_dac("V_reset", v_reset_dac, strict)
        hw = HardwareParameters.from_fg(fg, v_reset, scaling.bigcap, scaling.i_gl_speed, strict)
        return cls.from_hardware(hw, scaling, cm)


# -- shared parameters, §4.3 / §4.4 ----------------------------------------------------------------
_V_DTC = (-1.07639, 6.31944e-4)      # DAC = c0 + c1 / tau_rec[s] (hardware time)
_SHARED_TRANSFORMED = ("V_reset", "V_dtc", "V_stdf", "V_dep", "V_fac")


@dataclass(frozen=True)
class SharedHardwareParameters:
    """Shared values of one FG block in SI units: reset potential (V), STP recovery time
    constant ``tau_rec`` (s, 0 = leave V_dtc at 0), STP voltages ``v_stdf`` (= lambda, V) and the
    products N_dep / N_fac (dimensionless). Technical cells take halbe's defaults (§4.3, §13.4),
    overridable by ``technical`` (name -> DAC)."""
    v_reset: float
    tau_rec: float = 0.0
    v_stdf: float = 0.0
    n_dep: float = 0.0
    n_fac: float = 0.0
    technical: Mapping[str, int] = field(default_factory=dict)

    def to_fg(self, strict: bool = False) -> SharedFGValues:
        d = {n: p.default for n, p in SHARED_PARAMETERS.items()}
        bad = sorted(set(self.technical) - (set(d) - set(_SHARED_TRANSFORMED)))
        if bad:
            raise ValueError(f"not technical shared parameters: {bad}")
        d.update({n: _check_dac(n, v) for n, v in self.technical.items()})
        d["V_reset"] = CALIBRATION["V_t"].to_dac("V_reset", self.v_reset, strict)
        if self.tau_rec < 0:
            raise ValueError(f"tau_rec {self.tau_rec!r} must be >= 0")
        d["V_dtc"] = (_round_dac("V_dtc", _V_DTC[0] + _V_DTC[1] / self.tau_rec, strict)
                      if self.tau_rec else 0)
        d["V_stdf"] = ideal_voltage_dac(self.v_stdf, "V_stdf", strict)
        d["V_dep"] = ideal_voltage_dac(self.n_dep * self.v_stdf, "V_dep", strict)
        d["V_fac"] = ideal_voltage_dac(self.n_fac * self.v_stdf, "V_fac", strict)
        return SharedFGValues(d)

    @classmethod
    def from_fg(cls, fg: SharedFGValues) -> "SharedHardwareParameters":
        v_stdf = fg["V_stdf"] * V_MAX / DAC_MAX
        tech = {n: fg[n] for n in SHARED_PARAMETERS if n not in _SHARED_TRANSFORMED}
        return cls(
            v_reset=CALIBRATION["V_t"].from_dac("V_reset", fg["V_reset"]),
            tau_rec=_V_DTC[1] / (fg["V_dtc"] - _V_DTC[0]) if fg["V_dtc"] else 0.0,
            v_stdf=v_stdf,
            n_dep=fg["V_dep"] * V_MAX / DAC_MAX / v_stdf if v_stdf else 0.0,
            n_fac=fg["V_fac"] * V_MAX / DAC_MAX / v_stdf if v_stdf else 0.0,
            technical=tech)


@dataclass(frozen=True)
class SharedParameters:
    """Bio shared values of one FG block: ``v_reset`` (mV), ``tau_rec`` (ms, 0 = off),
    ``lambda_`` (STP gain, volts of V_stdf), ``n_dep``, ``n_fac``."""
    v_reset: float = PYNN_DEFAULTS["EIF_cond_exp_isfa_ista"]["v_reset"]
    tau_rec: float = 0.0
    lambda_: float = 0.0
    n_dep: float = 0.0
    n_fac: float = 0.0

    def to_hardware(self, scaling: Scaling = Scaling()) -> SharedHardwareParameters:
        return SharedHardwareParameters(
            v_reset=scaling.voltage(self.v_reset), tau_rec=scaling.time(self.tau_rec),
            v_stdf=self.lambda_, n_dep=self.n_dep, n_fac=self.n_fac)

    def to_fg(self, scaling: Scaling = Scaling(), strict: bool = False) -> SharedFGValues:
        return self.to_hardware(scaling).to_fg(strict)

    @classmethod
    def from_hardware(cls, hw: SharedHardwareParameters,
                      scaling: Scaling = Scaling()) -> "SharedParameters":
        return cls(v_reset=scaling.voltage_bio(hw.v_reset), tau_rec=scaling.time_bio(hw.tau_rec),
                   lambda_=hw.v_stdf, n_dep=hw.n_dep, n_fac=hw.n_fac)

