"""Short-term plasticity of the synapse drivers (spec analog-core.md §6, §11 T6, §13.1, §13.6;
driver bits hicann-digital.md §4.2, §4.4).

Model (the ESS equations, §6.1). Per STP unit: inactive fraction ``I`` (0 at start) and the time
of its last event. On an event at time t::

    I_now = I · exp(-(t - t_last) / tau_rec)
    f     = 1 - lambda · (I_now - N_dep)       depression
          = 1 + lambda · (I_now - N_fac)       facilitation
    I     = I_now + U · (1 - I_now);  t_last = t

Every conductance step of that event is multiplied by ``f``; a unit with STP disabled gives 1
and keeps its state.

Parameters: ``U`` from the driver's 3-bit ``stp_cap`` (U = 0.25 + 0.15/7 · cap, §6.2); tau_rec,
lambda, N_dep, N_fac are shared per quadrant (FG block) and come from V_dtc, V_stdf, V_dep,
V_fac (:meth:`StpParameters.from_fg`, via :mod:`bss1.models.transform`); model defaults tau_rec
10 µs hardware (100 ms bio), lambda 1, N_dep 0, N_fac 1.

Conflict §13.1 (mode polarity), our choice: the register bit ``stp_mode`` (HW name "dep") = 1
selects depression, 0 facilitation, as halbe and the driver SRAM layout say; the ESS's internal
inverse encoding is not used.

Conflict §13.6 (state granularity), our choice: one unit per driver (the hardware has one STP
circuit per driver), so events of different presynaptic addresses share the state. The ESS
keeps one state per (driver, 6-bit address); :class:`StpState` is generic over units, so a
caller may key units by ``64 * driver + address`` to get the ESS behaviour.

Times are hardware seconds (float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bss1.models.coords import check_range
from bss1.models.transform import DAC_MAX, V_MAX, SharedFGValues, SharedHardwareParameters

__all__ = ["StpParameters", "StpState", "utilisation", "cap_for_utilisation",
           "tau_rec_from_dac", "U_MIN", "U_MAX"]

U_MIN, U_STEP = 0.25, 0.15 / 7
U_MAX = U_MIN + 7 * U_STEP
_V_DTC = (-1.07639, 6.31944e-4)    # DAC = c0 + c1 / tau_rec[s] (calibtic default, §4.4 / §6.2)


def utilisation(cap: int) -> float:
    """U of the 3-bit ``stp_cap`` (linear fit to the measured 0.25..0.40)."""
    return U_MIN + U_STEP * check_range("stp_cap", cap, 0, 7)


def cap_for_utilisation(u: float) -> int:
    """The ``stp_cap`` whose U is nearest to ``u`` (0.25..0.40)."""
    if not U_MIN - 1e-12 <= u <= U_MAX + 1e-12:
        raise ValueError(f"utilisation {u!r} out of range {U_MIN}..{U_MAX:.2f}")
    return int(np.clip(np.rint((u - U_MIN) / U_STEP), 0, 7))


def tau_rec_from_dac(dac: int) -> float:
    """Recovery time constant (s, hardware) of the V_dtc DAC code (§6.2)."""
    check_range("V_dtc", dac, 0, DAC_MAX)
    return _V_DTC[1] / (dac - _V_DTC[0])


@dataclass(frozen=True)
class StpParameters:
    """Shared STP values of one quadrant: ``tau_rec`` (s, hardware), ``lambda_`` (V_stdf in
    volts, gain 1/V), ``n_dep``, ``n_fac``."""
    tau_rec: float = 10e-6
    lambda_: float = 1.0
    n_dep: float = 0.0
    n_fac: float = 1.0

    def __post_init__(self):
        if not self.tau_rec > 0:
            raise ValueError(f"tau_rec {self.tau_rec!r} must be > 0")

    @classmethod
    def from_fg(cls, v_dtc: int, v_stdf: int, v_dep: int, v_fac: int) -> "StpParameters":
        """From the four shared FG DAC codes of the quadrant's FG block."""
        for name, v in (("V_stdf", v_stdf), ("V_dep", v_dep), ("V_fac", v_fac)):
            check_range(name, v, 0, DAC_MAX)
        lam = v_stdf * V_MAX / DAC_MAX
        return cls(tau_rec=tau_rec_from_dac(v_dtc), lambda_=lam,
                   n_dep=v_dep * V_MAX / DAC_MAX / lam if lam else 0.0,
                   n_fac=v_fac * V_MAX / DAC_MAX / lam if lam else 0.0)

    @classmethod
    def from_shared(cls, shared: SharedHardwareParameters | SharedFGValues) -> "StpParameters":
        """From the shared parameters of :mod:`bss1.models.transform` (SI or DAC form)."""
        if isinstance(shared, SharedFGValues):
            return cls.from_fg(shared["V_dtc"], shared["V_stdf"], shared["V_dep"],
                               shared["V_fac"])
        if not shared.tau_rec > 0:
            raise ValueError(f"tau_rec {shared.tau_rec!r} must be > 0")
        return cls(tau_rec=shared.tau_rec, lambda_=shared.v_stdf, n_dep=shared.n_dep,
                   n_fac=shared.n_fac)


class StpState:
    """STP state and configuration of ``n_units`` units (default: the 224 drivers)."""

    def __init__(self, n_units: int = 224):
        check_range("number of STP units", n_units, 1, 1 << 24)
        self.n_units = n_units
        self.inactive = np.zeros(n_units)
        self.t_last = np.full(n_units, -np.inf)
        self.enable = np.zeros(n_units, bool)
        self.depression = np.ones(n_units, bool)
        self.u = np.full(n_units, U_MIN)
        self.tau_rec = np.full(n_units, StpParameters.tau_rec)
        self.lambda_ = np.full(n_units, StpParameters.lambda_)
        self.n_dep = np.full(n_units, StpParameters.n_dep)
        self.n_fac = np.full(n_units, StpParameters.n_fac)

    def _units(self, units):
        u = np.atleast_1d(np.asarray(units))
        if u.dtype.kind not in "iu":
            raise ValueError(f"STP units must be integers, got dtype {u.dtype}")
        u = u.astype(np.intp).ravel()
        bad = u[(u < 0) | (u >= self.n_units)]
        if bad.size:
            raise ValueError(f"STP unit {int(bad[0])!r} out of range 0..{self.n_units - 1}")
        return u

    def configure(self, units, enable, mode, cap) -> None:
        """Driver bits of ``units``: ``stp_enable``, ``stp_mode`` (1 = depression), ``stp_cap``
        (scalars or arrays)."""
        u = self._units(units)
        en, md, cp = (np.broadcast_to(np.asarray(v), u.shape) for v in (enable, mode, cap))
        for name, a, hi in (("stp_enable", en, 1), ("stp_mode", md, 1), ("stp_cap", cp, 7)):
            if a.dtype.kind not in "iub":
                raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
            bad = a[(a < 0) | (a > hi)]
            if bad.size:
                raise ValueError(f"{name} {int(bad[0])!r} out of range 0..{hi}")
        self.enable[u] = en.astype(bool)
        self.depression[u] = md.astype(bool)
        self.u[u] = U_MIN + U_STEP * cp

    def set_parameters(self, units, params: StpParameters) -> None:
        """Shared values ``params`` for ``units`` (e.g. the drivers of one quadrant)."""
        u = self._units(units)
        self.tau_rec[u] = params.tau_rec
        self.lambda_[u] = params.lambda_
        self.n_dep[u] = params.n_dep
        self.n_fac[u] = params.n_fac

    def reset(self) -> None:
        """Forget all events (I = 0)."""
        self.inactive[:] = 0
        self.t_last[:] = -np.inf

    def factors(self, units, times) -> np.ndarray:
        """STP factors of events (``units[k]``, ``times[k]`` seconds), updating the state.
        Events of one unit are applied in time order (ties in the given order) and must not be
        earlier than that unit's last event; the work is vectorised over units."""
        u = self._units(units)
        t = np.asarray(times, np.float64).ravel()
        if t.shape != u.shape:
            raise ValueError(f"units and times differ in length: {u.size} and {t.size}")
        if not np.isfinite(t).all():
            raise ValueError("event times must be finite")
        f = np.ones(u.size)
        on = np.nonzero(self.enable[u])[0]
        if on.size == 0:
            return f
        order = on[np.lexsort((t[on], u[on]))]
        uu, tt = u[order], t[order]
        start = np.r_[0, np.nonzero(np.diff(uu))[0] + 1]
        first = np.repeat(start, np.diff(np.r_[start, uu.size]))
        rank = np.arange(uu.size) - first
        early = tt[start] < self.t_last[uu[start]]
        if early.any():
            k = start[np.argmax(early)]
            raise ValueError(f"STP event at {float(tt[k])!r} s before the last event of unit "
                             f"{int(uu[k])} at {float(self.t_last[uu[k]])!r} s")
        for k in range(int(rank.max()) + 1):
            sel = np.nonzero(rank == k)[0]
            n, tk = uu[sel], tt[sel]
            with np.errstate(invalid="ignore"):
                decay = np.exp(-(tk - self.t_last[n]) / self.tau_rec[n])
            i_now = self.inactive[n] * np.where(np.isfinite(self.t_last[n]), decay, 0.0)
            fk = np.where(self.depression[n],
                          1 - self.lambda_[n] * (i_now - self.n_dep[n]),
                          1 + self.lambda_[n] * (i_now - self.n_fac[n]))
            f[order[sel]] = fk
            self.inactive[n] = i_now + self.u[n] * (1 - i_now)
            self.t_last[n] = tk
        return f
