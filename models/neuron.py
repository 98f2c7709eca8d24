"""Denmem array: AdEx membranes with conductance synapses, compound neurons, spike output.

Spec analog-core.md §1 (denmem numbering), §2 (units), §3.1 (equations as the ESS
``CompoundNeuron`` implements them), §3.2 (threshold test after each step, reset, refractoriness
with adaptation running on, 80 ns output delay), §3.4 (compound neurons: one shared membrane,
one firing denmem), §3.5 (capacitors and speed bits), §3.6 (current stimulus), §8 (fixed-pattern
mismatch), §9.1 (Heun, 5 ns step), §12 (data layout), §13 (conflicts).

Everything is in hardware units: volts, seconds, siemens, amperes, farads. Denmem ``d`` of HICANN
``h`` has the global index ``512 h + 256 y + x`` (x column 0..255, y row 0 top / 1 bottom), so
its neuron block (priority encoder) is ``(d % 256) // 32`` (§3.2).

The compiled loop is in ``models.neuron_kernel``: chunks of up to 64 neurons of one size, each
taken through the whole window with its state in cache, optionally on several threads (the
results do not depend on the thread count).

Time is counted in core cycles (100 MHz by default); each cycle is integrated in an integer
number of steps ``dt`` (5 ns in the ESS, §9.1 / §13.7: we take the code's 5 ns, not the comment's
1 ns; any divisor of the cycle may be chosen). One step is a Heun (trapezoid predictor-corrector)
step on V and w with the membrane clipped at the firing denmem's V_spike inside all derivatives;
synaptic conductances decay exactly (exp(-dt/tau)) and enter stage 1 with their value at the
start and stage 2 with their value at the end of the step (§12 allows this); one that decays
below 1e-30 S is set to 0 (it carries < 1e-30 A; this keeps the arithmetic out of subnormal
numbers). Conductance increments of a cycle are added before its first step (the ESS adds them
at the tick).

Spikes: the threshold test runs after every step that was not refractory. On a spike V is set to
the firing denmem's V_reset, every denmem's w grows by its b, and the next ceil(t_ref / dt)
steps are refractory: V is held at V_reset, w and g keep evolving and inputs keep adding to g
(§3.2, ESS issue 873). A spike detected in cycle c leaves the neuron at cycle c + 8 (80 ns at
100 MHz, rounded to whole cycles; ``Spikes.time`` keeps the exact detection time).

Choices where the sources disagree (§13): #2 input 0 is "x" (E_synx, tau_syn_E: excitatory) and
input 1 is "i", as in ``models.transform``; #7 the step is 5 ns and Heun's second stage is taken
at the end of the step (a21 = 1); #8 switching a row to the small capacitor keeps the leak
conductance and swaps C for the nominal 0.1642 pF (tau_m shrinks by 13.2; calibtic's measured
factor 5 only enters the DAC -> tau_m map of ``models.transform``); #9 every denmem whose current
input is enabled receives the full current of its FG block's source, as in the ESS.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bss1.models import neuron_kernel as _kern
from bss1.models.transform import C_BIG, C_SMALL, I_GL_SPEED, I_MAX, DAC_MAX, V_MAX

__all__ = [
    "CORE_HZ", "DT_ESS", "OUTPUT_DELAY", "DENMEMS_PER_HICANN", "PARAMETERS", "Mismatch",
    "CurrentStimulus", "Spikes", "NeuronArray", "compound_neurons", "AUTO_THREADS_MIN",
]

CORE_HZ = 100e6                 # PLL default, §12 / §13.15
DT_ESS = 5e-9                   # ESS neuron step, §9.1
OUTPUT_DELAY = 80e-9            # neuron -> L1, §3.2
DENMEMS_PER_HICANN = 512        # §1
STIM_LSB = I_MAX / DAC_MAX      # 2.444 nA per code, §3.6
STIM_ENTRIES = 129              # §3.6
AUTO_THREADS_MIN = 16384        # denmems from which ``threads=None`` uses every core

# name: (kind, description of the allowed range) -- validated in ``set_parameters``.
PARAMETERS = {
    "C": ("positive", "> 0 F"), "g_L": ("nonneg", ">= 0 S"), "E_L": ("volt", "0..1.8 V"),
    "delta_T": ("nonneg", ">= 0 V"), "V_T": ("volt", "0..1.8 V"), "a": ("finite", "finite S"),
    "tau_w": ("nonneg", ">= 0 s"), "b": ("finite", "finite A"),
    "E_syn_0": ("volt", "0..1.8 V"), "E_syn_1": ("volt", "0..1.8 V"),
    "tau_syn_0": ("positive", "> 0 s"), "tau_syn_1": ("positive", "> 0 s"),
    "V_spike": ("volt", "0..1.8 V"), "V_reset": ("volt", "0..1.8 V"),
    "t_ref": ("nonneg", ">= 0 s"), "I_ext": ("finite", "finite A"),
}
_VOLTS = [n for n, (k, _) in PARAMETERS.items() if k == "volt"]
_SPEED_CODES = {name: i for i, name in enumerate(sorted(I_GL_SPEED))}


def _check_positive_int(name, value, lo=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lo:
        raise ValueError(f"{name} {value!r} must be an integer >= {lo}")
    return int(value)


@dataclass(frozen=True)
class Mismatch:
    """Fixed-pattern spread of the analog-realistic mode (§8.2 priors; to be fitted to data).

    ``sigma_v``: offset (V) added to every potential of a denmem (E_L, V_T, E_syn_0/1, V_spike,
    V_reset). The others are relative gains: the parameter is multiplied by max(1 + sigma z, 0.05)
    with z ~ N(0, 1). The pattern of HICANN h is drawn from a generator seeded with (seed, h), so
    it does not depend on how many HICANNs are simulated.
    """
    sigma_v: float = 10e-3
    g_L: float = 0.10
    tau_syn: float = 0.25
    a: float = 0.10
    tau_w: float = 0.10
    b: float = 0.10
    delta_T: float = 0.10
    t_ref: float = 0.10

    def __post_init__(self):
        for name, v in self.__dict__.items():
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"mismatch {name} {v!r} must be a finite number >= 0")


_MISMATCH_GAINS = ("g_L", "tau_syn_0", "tau_syn_1", "a", "tau_w", "b", "delta_T", "t_ref")


@dataclass(frozen=True)
class CurrentStimulus:
    """One FG block's programmable current source (§3.6).

    ``values``: up to 129 currents (A, 0..2.5 µA) played in order; each is held for
    ``pulselength + 1`` ticks of the stimulus clock (core clock / ``clock_div``, PLL/4);
    ``continuous`` repeats the sequence, otherwise the current is 0 after the last entry.
    """
    values: tuple
    pulselength: int = 15
    continuous: bool = False
    clock_div: int = 4

    def __post_init__(self):
        vals = np.asarray(self.values, dtype=float).ravel()
        if not 1 <= vals.size <= STIM_ENTRIES:
            raise ValueError(f"current stimulus length {vals.size} out of range 1..{STIM_ENTRIES}")
        bad = vals[~((vals >= 0) & (vals <= I_MAX))]
        if bad.size:
            raise ValueError(f"current stimulus value {float(bad[0])!r} A out of range 0..{I_MAX} A")
        _check_positive_int("pulselength", self.pulselength, 0)
        _check_positive_int("clock_div", self.clock_div, 1)
        object.__setattr__(self, "values", tuple(float(v) for v in vals))

    @classmethod
    def from_dac(cls, codes, **kw) -> "CurrentStimulus":
        """Stimulus from 10-bit codes (2.444 nA per LSB)."""
        codes = np.asarray(codes).ravel()
        bad = [c for c in codes.tolist() if not (isinstance(c, int) and 0 <= c <= DAC_MAX)]
        if bad:
            raise ValueError(f"current stimulus code {bad[0]!r} out of range 0..{DAC_MAX}")
        return cls(tuple(codes * STIM_LSB), **kw)

    @property
    def hold_cycles(self) -> int:
        return (self.pulselength + 1) * self.clock_div


class Spikes(NamedTuple):
    """Spikes of one run, ordered by detection step then neuron. ``cycle``: core cycle at which
    the spike leaves the neuron (detection cycle + output delay); ``time``: detection time (end
    of the integration step, s, without the delay); ``denmem``: the firing denmem; ``neuron``:
    the logical-neuron label given to :meth:`NeuronArray.set_neurons`."""
    cycle: np.ndarray
    time: np.ndarray
    denmem: np.ndarray
    neuron: np.ndarray


def compound_neurons(n_denmems: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rectangular neurons of ``size`` denmems (size / 2 consecutive columns x both rows, §3.4),
    sthal style, firing denmem upper left; labels count 0, 1, ... along the columns of each
    HICANN. Returns (neuron_of_denmem, firing_denmem per neuron)."""
    n_denmems = _check_positive_int("n_denmems", n_denmems)
    if n_denmems % DENMEMS_PER_HICANN:
        raise ValueError(f"n_denmems {n_denmems} must be a multiple of {DENMEMS_PER_HICANN}")
    if size not in (2, 4, 8, 16, 32, 64):
        raise ValueError(f"neuron size {size!r} not one of [2, 4, 8, 16, 32, 64]")
    cols = size // 2
    d = np.arange(n_denmems)
    hicann, local = divmod(d, DENMEMS_PER_HICANN)
    x = local % 256
    per_hicann = 256 // cols
    neuron = hicann * per_hicann + x // cols
    m = np.arange(n_denmems // size)
    firing = (m // per_hicann) * DENMEMS_PER_HICANN + (m % per_hicann) * cols
    return neuron, firing


class NeuronArray:
    """N denmems with AdEx conductance dynamics, compound neurons and spike output.

    ``core_hz``: core clock; ``dt``: integration step (s), must divide the cycle; ``dtype``:
    float64 or float32 for state and parameters inside the loop; ``mode``: "ideal" (parameters
    as set) or "analog" (plus the fixed pattern of ``mismatch`` drawn with ``seed``);
    ``threads``: worker threads of :meth:`run` (None: one per available core for arrays of
    ``AUTO_THREADS_MIN`` denmems or more, else one). Neurons are independent within a run, so
    the results do not depend on the thread count.
    """

    def __init__(self, n_denmems: int = DENMEMS_PER_HICANN, *, core_hz: float = CORE_HZ,
                 dt: float = DT_ESS, output_delay: float = OUTPUT_DELAY, dtype=np.float64,
                 mode: str = "ideal", seed: int = 0, mismatch: Mismatch = Mismatch(),
                 threads: int | None = None):
        self.n = _check_positive_int("n_denmems", n_denmems)
        if threads is None:
            threads = len(os.sched_getaffinity(0)) if self.n >= AUTO_THREADS_MIN else 1
        self.threads = _check_positive_int("threads", threads)
        if not (isinstance(core_hz, (int, float)) and math.isfinite(core_hz) and core_hz > 0):
            raise ValueError(f"core_hz {core_hz!r} must be a positive finite number")
        self.core_hz = float(core_hz)
        ratio = 1.0 / (core_hz * dt) if dt > 0 else 0.0
        if not (dt > 0 and ratio >= 1 and abs(ratio - round(ratio)) < 1e-6):
            raise ValueError(f"dt {dt!r} s must divide the core cycle {1 / core_hz!r} s "
                             f"an integer number of times")
        self.substeps = int(round(ratio))
        self.dt = 1.0 / (self.core_hz * self.substeps)
        delay = output_delay * core_hz
        if not (delay >= 0 and abs(delay - round(delay)) < 1e-6):
            raise ValueError(f"output_delay {output_delay!r} s must be a whole number of core "
                             f"cycles (>= 0)")
        self.delay_cycles = int(round(delay))
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype {self.dtype} not one of float32, float64")
        if mode not in ("ideal", "analog"):
            raise ValueError(f"mode {mode!r} not one of ['analog', 'ideal']")
        self.mode, self.seed, self.mismatch = mode, int(seed), mismatch
        n = self.n
        # targets (what was configured); effective = targets (+ mismatch) in ``_compile``
        self.params = {
            "C": np.full(n, C_BIG), "g_L": np.full(n, C_BIG / 10e-6), "E_L": np.full(n, 0.5),
            "delta_T": np.zeros(n), "V_T": np.full(n, V_MAX), "a": np.zeros(n),
            "tau_w": np.zeros(n), "b": np.zeros(n), "E_syn_0": np.full(n, 1.2),
            "E_syn_1": np.full(n, 0.4), "tau_syn_0": np.full(n, 0.5e-6),
            "tau_syn_1": np.full(n, 0.5e-6), "V_spike": np.full(n, 0.8),
            "V_reset": np.full(n, 0.5), "t_ref": np.zeros(n), "I_ext": np.zeros(n)}
        self.bigcap = np.ones(n, dtype=bool)
        self.i_gl_speed = np.full(n, _SPEED_CODES["normal"], dtype=np.int8)
        self._record = np.zeros(0, dtype=np.int64)
        self.set_neurons(np.arange(n), np.arange(n))
        n_src = 4 * -(-n // DENMEMS_PER_HICANN)
        self._stim_src = np.full(n, -1, dtype=np.int32)
        self._stim_vals = np.zeros((n_src, STIM_ENTRIES))
        self._stim_len = np.zeros(n_src, dtype=np.int64)
        self._stim_hold = np.ones(n_src, dtype=np.int64)
        self._stim_start = np.zeros(n_src, dtype=np.int64)
        self._stim_cont = np.zeros(n_src, dtype=np.bool_)

    # -- configuration ---------------------------------------------------------------------------
    def _denmems(self, denmems):
        if denmems is None:
            return np.arange(self.n)
        d = np.atleast_1d(np.asarray(denmems))
        if d.dtype.kind not in "iu" or d.ndim != 1:
            raise ValueError(f"denmems must be a 1-d integer array, got dtype {d.dtype}")
        bad = d[(d < 0) | (d >= self.n)]
        if bad.size:
            raise ValueError(f"denmem {int(bad[0])} out of range 0..{self.n - 1}")
        return d.astype(np.int64)

    def set_parameters(self, denmems=None, **values) -> None:
        """Set per-denmem parameters (names of ``PARAMETERS``, scalars or arrays matching
        ``denmems``). All values are validated before any is stored."""
        d = self._denmems(denmems)
        staged = {}
        for name, value in values.items():
            if name not in PARAMETERS:
                raise ValueError(f"unknown denmem parameter {name!r}; known: {sorted(PARAMETERS)}")
            kind, allowed = PARAMETERS[name]
            arr = np.broadcast_to(np.asarray(value, dtype=float), d.shape)
            ok = np.isfinite(arr)
            if kind == "positive":
                ok &= arr > 0
            elif kind == "nonneg":
                ok &= arr >= 0
            elif kind == "volt":
                ok &= (arr >= 0) & (arr <= V_MAX)
            if not ok.all():
                i = int(np.argmin(ok))
                raise ValueError(f"{name} {float(arr[i])!r} of denmem {int(d[i])} out of range "
                                 f"{allowed}")
            staged[name] = arr
        for name, arr in staged.items():
            self.params[name][d] = arr
        self._dirty = True

    def set_hardware_parameters(self, hw, denmems=None, i_ext: float = 0.0) -> None:
        """Configure denmems from one ``models.transform.HardwareParameters``: C from its cap
        bit, g_L = C / tau_m, input 0 = e_rev_E / tau_syn_E, input 1 = e_rev_I / tau_syn_I;
        a disabled exponential gives delta_T = 0, disabled adaptation a = b = tau_w = 0."""
        if hw.i_gl_speed not in _SPEED_CODES:
            raise ValueError(f"I_gl speed {hw.i_gl_speed!r} not one of {sorted(_SPEED_CODES)}")
        cap = C_BIG if hw.bigcap else C_SMALL
        exp_on = hw.exp_enabled and hw.delta_T != 0
        self.set_parameters(
            denmems, C=cap, g_L=cap / hw.tau_m, E_L=hw.v_rest,
            delta_T=hw.delta_T if exp_on else 0.0, V_T=hw.v_thresh,
            a=hw.a if hw.adaptation else 0.0, b=hw.b if hw.adaptation else 0.0,
            tau_w=hw.tau_w if hw.adaptation else 0.0, E_syn_0=hw.e_rev_E, E_syn_1=hw.e_rev_I,
            tau_syn_0=hw.tau_syn_E, tau_syn_1=hw.tau_syn_I, V_spike=hw.v_spike,
            V_reset=hw.v_reset, t_ref=hw.tau_refrac, I_ext=i_ext)
        d = self._denmems(denmems)
        self.bigcap[d] = bool(hw.bigcap)
        self.i_gl_speed[d] = _SPEED_CODES[hw.i_gl_speed]

    def set_cap_and_speed(self, denmems=None, *, bigcap: bool | None = None,
                          i_gl_speed: str | None = None) -> None:
        """Flip the digital cap / I_gl speed bits (§3.5) with the FG biases unchanged: the cap
        bit swaps C (big 2.16456 pF, small 0.1642 pF); the speed bit rescales the leak
        conductance by the bias divisors (slow /9, fast x3 relative to normal)."""
        d = self._denmems(denmems)
        if i_gl_speed is not None and i_gl_speed not in _SPEED_CODES:
            raise ValueError(f"I_gl speed {i_gl_speed!r} not one of {sorted(_SPEED_CODES)}")
        if bigcap is not None:
            self.params["C"][d] = C_BIG if bigcap else C_SMALL
            self.bigcap[d] = bool(bigcap)
        if i_gl_speed is not None:
            names = sorted(_SPEED_CODES)
            old = np.array([I_GL_SPEED[names[c]] for c in self.i_gl_speed[d]])
            self.params["g_L"][d] *= old / I_GL_SPEED[i_gl_speed]
            self.i_gl_speed[d] = _SPEED_CODES[i_gl_speed]
        self._dirty = True

    def set_neurons(self, neuron_of_denmem, firing_denmem) -> None:
        """Interconnect denmems (§3.4): ``neuron_of_denmem[d]`` is the label (>= 0) of denmem
        d's logical neuron; ``firing_denmem`` lists, per label 0..M-1, the one denmem whose
        comparator fires (it must belong to that neuron). Every label must be used."""
        nod = np.asarray(neuron_of_denmem)
        fir = np.atleast_1d(np.asarray(firing_denmem))
        if nod.shape != (self.n,) or nod.dtype.kind not in "iu":
            raise ValueError(f"neuron_of_denmem must be {self.n} integers, got shape {nod.shape} "
                             f"dtype {nod.dtype}")
        m = fir.size
        if fir.ndim != 1 or fir.dtype.kind not in "iu" or m == 0:
            raise ValueError("firing_denmem must be a 1-d non-empty integer array")
        bad = nod[(nod < 0) | (nod >= m)]
        if bad.size:
            raise ValueError(f"neuron label {int(bad[0])} out of range 0..{m - 1}")
        used = np.bincount(nod, minlength=m)
        if (used == 0).any():
            raise ValueError(f"neuron {int(np.argmin(used))} has no denmems")
        bad = fir[(fir < 0) | (fir >= self.n)]
        if bad.size:
            raise ValueError(f"firing denmem {int(bad[0])} out of range 0..{self.n - 1}")
        wrong = np.nonzero(nod[fir] != np.arange(m))[0]
        if wrong.size:
            k = int(wrong[0])
            raise ValueError(f"firing denmem {int(fir[k])} of neuron {k} belongs to neuron "
                             f"{int(nod[fir[k]])}")
        self.neuron_of_denmem = nod.astype(np.int64)
        self.firing_denmem = fir.astype(np.int64)
        self.n_neurons = m
        self._layout(used)
        self._dirty = True
        self.reset_state()

    def _layout(self, size):
        """Slot layout of the kernel: neurons grouped by size K; group g holds its M_g neurons
        and K x M_g denmems at flat positions doff + k M_g + m (k-th denmem of its m-th
        neuron), so the inner loops run over neurons with unit stride."""
        nod = self.neuron_of_denmem
        srt = np.argsort(nod, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(size)])
        rank = np.empty(self.n, np.int64)
        rank[srt] = np.arange(self.n) - ptr[nod[srt]]
        groups, flat_of_label = [], np.empty(self.n_neurons, np.int64)
        den_pos = np.empty(self.n, np.int64)
        doff = noff = 0
        for k in np.unique(size):
            labels = np.nonzero(size == k)[0]
            mk = labels.size
            flat_of_label[labels] = noff + np.arange(mk)
            m_in_group = np.empty(self.n_neurons, np.int64)
            m_in_group[labels] = np.arange(mk)
            sel = size[nod] == k
            den_pos[sel] = doff + rank[sel] * mk + m_in_group[nod[sel]]
            groups.append((int(k), mk, doff, noff))
            doff += int(k) * mk
            noff += mk
        self._groups = np.array(groups, dtype=np.int64)
        self._den_pos = den_pos                      # denmem -> flat position
        self._order = np.argsort(den_pos)            # flat position -> denmem
        self._flat_of_label = flat_of_label
        self._label_of_flat = np.argsort(flat_of_label)
        # chunks of at most LANES neurons of one group, taken through a window one at a time
        L = _kern.LANES
        chunks = [(k, min(L, mk - m0), doff + m0, mk, noff + m0)
                  for k, mk, doff, noff in groups for m0 in range(0, mk, L)]
        self._chunks = np.array(chunks, dtype=np.int64)
        pos_chunk = np.empty(self.n, np.int64)      # flat position -> chunk, buffer offset
        pos_off = np.empty(self.n, np.int64)
        nrn_chunk = np.empty(self.n_neurons, np.int64)   # flat neuron -> chunk, lane
        nrn_lane = np.empty(self.n_neurons, np.int64)
        for ch, (k, nb, dbase, stride, nbase) in enumerate(chunks):
            lane = np.arange(nb)
            nrn_chunk[nbase + lane], nrn_lane[nbase + lane] = ch, lane
            for kk in range(k):
                pos = dbase + kk * stride + lane
                pos_chunk[pos], pos_off[pos] = ch, _kern.den_offset(kk, 0, lane)
        self._pos_chunk, self._pos_off = pos_chunk, pos_off
        self._den_chunk, self._den_off = pos_chunk[den_pos], pos_off[den_pos]
        self._cache = {}                # per-chunk layouts of recording and current stimulus
        self._nrn_chunk, self._nrn_lane = nrn_chunk, nrn_lane
        work = np.array([k * nb for k, nb, *_ in chunks], dtype=float)
        self._chunk_work = np.cumsum(work) / work.sum()

    # -- current stimulus, §3.6 ------------------------------------------------------------------
    def set_current_stimulus(self, source: int, stimulus: CurrentStimulus,
                             start_cycle: int | None = None) -> None:
        """Program source ``source`` (= 4 h + FG block b of HICANN h) with ``stimulus``, played
        from ``start_cycle`` (default: the current cycle).

        Playback rule: in cycle ``c`` the source gives entry ``k = (c - start_cycle) // hold``
        (``hold`` = :attr:`CurrentStimulus.hold_cycles`; ``k`` modulo the number of entries when
        continuous) while ``c >= start_cycle`` and, for a one-pass stimulus, ``k`` is an entry;
        0 A otherwise. ``start_cycle`` may be any integer: a future cycle (0 A until then), or one
        before the current cycle, also negative, for a stimulus already under way (continued in
        phase; a one-pass stimulus that has ended gives 0 A)."""
        n_src = self._stim_len.size
        if not isinstance(source, (int, np.integer)) or not 0 <= source < n_src:
            raise ValueError(f"current source {source!r} out of range 0..{n_src - 1}")
        start = self.cycle if start_cycle is None else start_cycle
        if not isinstance(start, (int, np.integer)) or isinstance(start, bool):
            raise ValueError(f"start_cycle {start!r} must be an integer")
        start = int(start)
        vals = np.asarray(stimulus.values)
        self._stim_vals[source] = 0.0
        self._stim_vals[source, :vals.size] = vals
        self._stim_len[source] = vals.size
        self._stim_hold[source] = stimulus.hold_cycles
        self._stim_start[source] = start
        self._stim_cont[source] = stimulus.continuous

    def enable_current_input(self, denmems, enable: bool = True) -> None:
        """Connect (or disconnect) denmems to the source of their quad position: FG block
        b = 2 y + (x mod 2) of their HICANN (§3.6)."""
        d = self._denmems(denmems)
        hicann, local = np.divmod(d, DENMEMS_PER_HICANN)
        y, x = np.divmod(local, 256)
        self._stim_src[d] = (4 * hicann + 2 * y + x % 2) if enable else -1
        self._cache.pop("stim", None)

    # -- state -----------------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Cycle 0, no pending input, w = g = 0, not refractory, V at each neuron's leak
        potential (g_L-weighted mean E_L; plain mean where g_L sums to 0) of the parameters in
        force when the first run starts, unless :meth:`set_membrane` sets it. Called by
        :meth:`set_neurons`."""
        self.cycle = 0
        n, m = self.n, self.n_neurons
        self._v_auto = True
        self.V = self._rest_potential()
        self.w = np.zeros(n, self.dtype)
        self.g = np.zeros((2, n), self.dtype)
        self.ref_left = np.zeros(m, np.int64)
        self._pending = []          # batches (cycle, denmem, input, dg), in arrival order
        self._trace = []

    def _rest_potential(self):
        self._compile()
        m = self.n_neurons
        gl = np.bincount(self.neuron_of_denmem, self._eff["g_L"], minlength=m)
        glel = np.bincount(self.neuron_of_denmem, self._eff["g_L"] * self._eff["E_L"], minlength=m)
        el = np.bincount(self.neuron_of_denmem, self._eff["E_L"], minlength=m) / np.bincount(
            self.neuron_of_denmem, minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(gl > 0, glel / np.where(gl > 0, gl, 1), el)
        return v.astype(self.dtype)

    def set_membrane(self, v) -> None:
        """Set every neuron's V (scalar or one value per neuron)."""
        v = np.broadcast_to(np.asarray(v, dtype=float), (self.n_neurons,))
        if not np.all(np.isfinite(v)):
            raise ValueError("membrane potentials must be finite")
        self.V = v.astype(self.dtype)
        self._v_auto = False

    def effective_parameters(self) -> dict[str, np.ndarray]:
        """Per-denmem parameters as integrated (targets plus mismatch in analog mode)."""
        self._compile()
        return {k: v.copy() for k, v in self._eff.items()}

    def _mismatch_pattern(self):
        """(offsets in V, gains) per denmem, one generator per HICANN keyed by (seed, h)."""
        n_h = -(-self.n // DENMEMS_PER_HICANN)
        k = len(_MISMATCH_GAINS) + 1
        z = np.empty((k, n_h * DENMEMS_PER_HICANN))
        for h in range(n_h):
            rng = np.random.default_rng([self.seed, h])
            z[:, h * DENMEMS_PER_HICANN:(h + 1) * DENMEMS_PER_HICANN] = rng.standard_normal(
                (k, DENMEMS_PER_HICANN))
        z = z[:, :self.n]
        mm = self.mismatch
        offsets = mm.sigma_v * z[0]
        sig = {"tau_syn_0": mm.tau_syn, "tau_syn_1": mm.tau_syn}
        gains = {name: np.maximum(1 + sig.get(name, getattr(mm, name, 0.0)) * z[i + 1], 0.05)
                 for i, name in enumerate(_MISMATCH_GAINS)}
        return offsets, gains

    def _compile(self):
        if not getattr(self, "_dirty", True) and hasattr(self, "_eff"):
            return
        eff = {k: v.copy() for k, v in self.params.items()}
        if self.mode == "analog":
            offsets, gains = self._mismatch_pattern()
            for name in _VOLTS:
                eff[name] = eff[name] + offsets
            for name, gain in gains.items():
                eff[name] = eff[name] * gain
        self._eff = eff
        dt, t = self.dt, self.dtype.type
        fire = self.firing_denmem
        tau_w, d_t = eff["tau_w"], eff["delta_T"]
        inv_tau_w = np.where(tau_w > 0, 1.0 / np.where(tau_w > 0, tau_w, 1.0), 0.0)
        inv_dt = np.where(d_t > 0, 1.0 / np.where(d_t > 0, d_t, 1.0), 0.0)
        c_tot = np.bincount(self.neuron_of_denmem, eff["C"], minlength=self.n_neurons)
        order = self._order
        nf = fire[self._label_of_flat]
        # kernel arrays in slot order (see ``_layout``), rows as ``neuron_kernel.DEN_FIELDS``
        self._par_d = np.stack([
            eff["g_L"], eff["E_L"], eff["g_L"] * d_t, inv_dt, eff["V_T"], eff["a"], inv_tau_w,
            (tau_w <= 0).astype(float), eff["b"], eff["E_syn_0"], eff["E_syn_1"],
            np.exp(-dt / eff["tau_syn_0"]), np.exp(-dt / eff["tau_syn_1"]), eff["I_ext"],
        ])[:, order].astype(t)
        self._par_n = np.stack([
            eff["V_spike"][nf], eff["V_reset"][nf], (1.0 / c_tot)[self._label_of_flat],
            np.ceil(eff["t_ref"][nf] / dt - 1e-9)]).astype(t)
        self._dirty = False

    # -- inputs ----------------------------------------------------------------------------------
    def add_conductance(self, cycle, denmem, input, dg) -> None:
        """Queue conductance increments: at the start of core cycle ``cycle[k]`` the input
        ``input[k]`` (0 or 1) of denmem ``denmem[k]`` grows by ``dg[k]`` siemens (>= 0).
        Cycles must not lie in the past; any future cycle is accepted."""
        cycle, denmem, inp, dg = (np.atleast_1d(np.asarray(a)) for a in (cycle, denmem, input, dg))
        shape = cycle.shape
        if cycle.ndim != 1 or any(a.shape != shape for a in (denmem, inp, dg)):
            raise ValueError(f"cycle, denmem, input and dg must be 1-d arrays of one length, "
                             f"got shapes {[a.shape for a in (cycle, denmem, inp, dg)]}")
        for name, arr in (("cycle", cycle), ("denmem", denmem), ("input", inp)):
            if arr.size and arr.dtype.kind not in "iu":
                raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
        checks = (("cycle", cycle, self.cycle, None), ("denmem", denmem, 0, self.n - 1),
                  ("input", inp, 0, 1))
        for name, arr, lo, hi in checks:
            bad = arr[(arr < lo) | ((arr > hi) if hi is not None else False)]
            if bad.size:
                rng = f"{lo}..{hi}" if hi is not None else f">= {lo} (the current cycle)"
                raise ValueError(f"{name} {int(bad[0])} out of range {rng}")
        dg = dg.astype(np.float64)
        bad = dg[~(np.isfinite(dg) & (dg >= 0))]
        if bad.size:
            raise ValueError(f"conductance increment {float(bad[0])!r} S must be finite and >= 0")
        if cycle.size:
            self._pending.append((cycle.astype(np.int64), denmem.astype(np.int64),
                                  inp.astype(np.int64), dg))

    # -- recording -------------------------------------------------------------------------------
    def record(self, denmems) -> None:
        """Record the membrane of these denmems (their neuron's V) at the start of every step
        of later runs; read with :meth:`read_trace`."""
        self._record = self._denmems(denmems)
        self._trace = []
        self._cache.pop("rec", None)

    def read_trace(self) -> tuple[np.ndarray, np.ndarray]:
        """(t in s, V in V with shape (len(recorded), len(t))) recorded since the last call."""
        if not self._trace:
            return np.zeros(0), np.zeros((self._record.size, 0))
        t = np.concatenate([t for t, _ in self._trace])
        v = np.concatenate([v for _, v in self._trace], axis=1)
        self._trace = []
        return t, v

    # -- run -------------------------------------------------------------------------------------
    def run(self, n_cycles: int) -> Spikes:
        """Integrate ``n_cycles`` core cycles from the current state and cycle; returns the
        spikes detected in them (their ``cycle`` includes the output delay)."""
        n_cycles = _check_positive_int("n_cycles", n_cycles, 0)
        self._compile()
        if self._v_auto:
            self.V = self._rest_potential()
            self._v_auto = False
        t = self.dtype.type
        order, n_chunks = self._order, self._chunks.shape[0]
        c0, c1 = self.cycle, self.cycle + n_cycles
        # inputs of the window, bucketed by chunk and cycle (stable: arrival order per cycle)
        ev_cyc, ev_off, ev_g, ev_ptr = self._window_inputs(c1, n_chunks)
        st_ptr, st_off, st_row, st_table = self._window_stimulus(c0, c1, n_chunks)
        # recording: per chunk (lane, row of the trace)
        if "rec" not in self._cache:
            rec = self._flat_of_label[self.neuron_of_denmem[self._record]]
            rc_row, rc_ptr = _kern.bucket_order(self._nrn_chunk[rec], n_chunks)
            self._cache["rec"] = rc_ptr, self._nrn_lane[rec][rc_row], rc_row
        rc_ptr, rc_lane, rc_row = self._cache["rec"]
        n_steps = n_cycles * self.substeps
        rec_out = np.zeros((rc_row.size, n_steps), self.dtype)
        # state in slot order
        w, g0, g1 = self.w[order], self.g[0][order], self.g[1][order]
        V = self.V[self._label_of_flat]
        ref_left = self.ref_left[self._label_of_flat]
        args = (self._chunks, self.substeps, c0, c1, t(self.dt), t(self.dt / 2),
                _kern.constants(self.dtype), self._par_d, w, g0, g1, self._par_n, V,
                ref_left, ev_ptr, ev_cyc, ev_off, ev_g, st_ptr, st_off, st_row, st_table,
                rc_ptr, rc_lane, rc_row, rec_out)
        parts = self._parts(n_chunks)
        if len(parts) == 1:
            results = [_kern.run_chunks(0, n_chunks, *args)]
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(len(parts)) as pool:
                results = list(pool.map(lambda r: _kern.run_chunks(r[0], r[1], *args), parts))
        self.w[order], self.g[0][order], self.g[1][order] = w, g0, g1
        self.V[self._label_of_flat] = V
        self.ref_left[self._label_of_flat] = ref_left
        self.cycle = c1
        if rc_row.size:
            self._trace.append(((c0 * self.substeps + np.arange(n_steps)) * self.dt, rec_out))
        steps = np.concatenate([r[0] for r in results])
        nrn = self._label_of_flat[np.concatenate([r[1] for r in results])]
        srt = np.lexsort((nrn, steps))
        steps, nrn = steps[srt], nrn[srt]
        return Spikes(cycle=steps // self.substeps + self.delay_cycles,
                      time=(steps + 1) * self.dt, denmem=self.firing_denmem[nrn], neuron=nrn)

    def _parts(self, n_chunks):
        """Contiguous chunk ranges, one per thread, of about equal work."""
        n = min(self.threads, n_chunks)
        if n <= 1:
            return [(0, n_chunks)]
        cut = np.searchsorted(self._chunk_work, np.arange(1, n) / n, side="left") + 1
        edges = np.unique(np.concatenate([[0], np.minimum(cut, n_chunks), [n_chunks]]))
        return list(zip(edges[:-1].tolist(), edges[1:].tolist()))

    def _window_inputs(self, c1, n_chunks):
        """Queued inputs before ``c1``, bucketed by chunk in arrival order: (cycle, buffer
        offset, dg, chunk start pointers); later ones stay queued."""
        if len(self._pending) > 1:
            self._pending = [tuple(np.concatenate(x) for x in zip(*self._pending))]
        pc, pd, pi, pg = self._pending[0] if self._pending else (np.zeros(0, np.int64),) * 3 + (
            np.zeros(0),)
        n_now = int(np.count_nonzero(pc < c1))
        ev_g = np.empty(n_now, self.dtype)
        ev_cyc, ev_off, ev_ptr, later = _kern.window_inputs(
            pc, pd, pi, pg, c1, self._den_chunk, self._den_off, n_chunks, ev_g)
        self._pending = [(pc[later], pd[later], pi[later], pg[later])] if later.size else []
        return ev_cyc, ev_off, ev_g, ev_ptr

    def _window_stimulus(self, c0, c1, n_chunks):
        """Current stimulus of the window: per chunk the buffer offsets of its stimulated
        denmems, their row in a (source x cycle) table of the sources in use."""
        if "stim" not in self._cache:
            pos = np.nonzero(self._stim_src[self._order] >= 0)[0]
            used, row = np.unique(self._stim_src[self._order][pos], return_inverse=True)
            srt, ptr = _kern.bucket_order(self._pos_chunk[pos], n_chunks)
            self._cache["stim"] = used, ptr, self._pos_off[pos][srt], row.astype(np.int64)[srt]
        used, ptr, off, row = self._cache["stim"]
        c = np.arange(c0, c1)
        table = np.zeros((used.size, c.size))
        for r, s in enumerate(used.tolist()):
            n, start = int(self._stim_len[s]), int(self._stim_start[s])
            if n == 0:
                continue
            idx = (c - start) // int(self._stim_hold[s])
            if self._stim_cont[s]:
                idx = idx % n
            ok = (c >= start) & (idx < n)
            table[r, ok] = self._stim_vals[s, idx[ok]]
        return ptr, off, row, table.astype(self.dtype)
