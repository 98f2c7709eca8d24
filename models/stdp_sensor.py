"""STDP correlation sensors of the two synapse arrays of one HICANN (spec analog-core.md §7.1,
§7.2, §11 T7, §13.11; hicann-digital.md §6.2 CNFG evaluation patterns, §6.5).

Every synapse has a causal (post after pre) and an acausal (pre after post) accumulator. They are
driven by presynaptic events (arrivals at the synapse) and by the spikes of the denmem its column
feeds, with the reduced symmetric nearest-neighbour pairing of NEST's ``stdp_facetshw_synapse_hom``
(§7.1):

* the first post spike after a pre event adds ``amplitude_causal * exp(-dt / tau_causal)`` to the
  causal accumulator (dt = t_post - t_pre);
* a pre event preceded by post spikes since the synapse's previous pre event adds
  ``amplitude_acausal * exp(-dt / tau_acausal)`` for the last of them (dt = t_pre - t_post).

NEST adds both terms lazily at the next pre spike; here the causal term is added at the post spike
itself (the capacitor charges when the post spike arrives), which gives the same sums but shows
them to an evaluation in between. Within one cycle post spikes come before pre events, so a pre
event and a post spike in the same cycle pair acausally with dt = 0 (as NEST's history interval
``(t_last, t_spike]`` does).

Pre history per decoder group. All synapses of one row and column parity with the same 4-bit
decoder see exactly the same pre events (a driver strobe with address bits [3:0] reaches them
together, §5.1), so the time of the last pre event is kept per group (half, row, parity,
decoder), not per synapse. A pre event named by one synapse therefore reaches its whole group;
rewriting a synapse's decoder moves it to the other group's history. A compiled kernel walks
the time-ordered events; a pre event scans the 128 synapses of its row and parity in the packed
array for its decoder.

Memory: the accumulators are uint8 codes with ``lsb`` per code (default 1/8 of one full pairing,
full scale 255 codes = 31.875; the capacitor saturates there). Each pairing term is rounded to the
nearest code before it is added. The group pre times are int32 cycles relative to a moving epoch;
with the per-denmem post times this is 2 bytes per synapse plus 0.54 amortised (see
:meth:`StdpSensors.nbytes`).

Defaults (§13.11: the chip's STDP time constants, amplitudes and thresholds are not documented):
``tau = 20 ms`` bio = 2 µs hardware at speed-up 1e4, amplitude 1, cycle 10 ns (100 MHz PLL).
Thresholds ``th = tl = 22.0`` instead of NEST's 21.835: NEST's value is 36 pairs at +10 ms
(36·e^-1/2 = 21.8351, rounded down, so exactly 36 exact pairs pass it); with the rounding above
each such pair adds 5 codes = 0.625, so 22.0 keeps "36 pairs at +10 ms" the smallest count that
sets the flag (35 pairs = 21.875).

Evaluation (§7.2, charge sharing). With the pattern bits cc, ca, ac, aa of one pattern::

    high = (th + cc·a_c + aa·a_a) / (1 + cc + aa)
    low  = (tl + ac·a_c + ca·a_a) / (1 + ac + ca)

Conflict (our choice): NEST's model sets the flag when ``low > high`` and uses the patterns {ac} /
{ca}; the chip designers' read-out codes (hicann-system CORR_READ_CAUSAL = cc, CORR_READ_ACAUSAL =
aa, hicann-digital §6.2) only make sense when the flag is set for ``high > low``. We model the
chip: flag ⇔ ``high > low`` (so pattern {cc} ⇔ a_c > 2·tl - th); ``nest_polarity=True`` gives
NEST's comparison. CNFG bits 7..0 interleave the two patterns as halbe does (§6.2, conflict
hicann-digital §13.3: pattern 0 on the odd bits): b7 p0.cc, b6 p1.cc, b5 p0.ca, b4 p1.ca,
b3 p0.ac, b2 p1.ac, b1 p0.aa, b0 p1.aa. A capacitor whose read-out is disabled (CTRL scc / sca)
is not connected: its pattern bits count as 0. A reset sets both accumulators to 0.
"""

from __future__ import annotations

import numba
import numpy as np

from bss1.models.coords import check_range

__all__ = ["StdpSensors", "HALVES", "N_ROWS", "N_COLUMNS", "pattern_bits"]

HALVES = ("top", "bottom")
N_ROWS, N_COLUMNS = 224, 256
_NEVER = np.iinfo(np.int32).min          # "no event yet"
_OLDEST = _NEVER + 1                     # events older than the epoch window
_WINDOW = 1 << 30                        # rebase the epoch when a time leaves this window


def half_index(half) -> int:
    if half not in HALVES:
        raise ValueError(f"half {half!r} not 'top' or 'bottom'")
    return HALVES.index(half)


def pattern_bits(patterns: int, pattern: int) -> tuple[int, int, int, int]:
    """(cc, ca, ac, aa) of evaluation pattern ``pattern`` (0/1) in CNFG bits 7..0 ``patterns``."""
    check_range("evaluation patterns", patterns, 0, 255)
    check_range("evaluation pattern", pattern, 0, 1)
    return tuple((patterns >> (b - pattern)) & 1 for b in (7, 5, 3, 1))


def _as_int_array(name, values, lo, hi):
    a = np.asarray(values)
    if a.dtype.kind not in "iu" and not (a.dtype == object and a.size == 0):
        if a.size == 0:
            return a.astype(np.int64)
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64).ravel()
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a[(a < lo) | (a > hi)][0]
        raise ValueError(f"{name} {int(bad)!r} out of range {lo}..{hi}")
    return a


class StdpSensors:
    """Causal/acausal accumulators of all 2 x 224 x 256 synapses (see the module docstring).

    ``decoders`` is the (2, 224, 256) uint8 array whose bits [7:4] hold each synapse's decoder
    (the packed array of :class:`~bss1.models.synapse_array.SynapseArray`; indices half,
    SynapseRowOnArray, column); a private all-zero array when omitted.
    """

    def __init__(self, decoders: np.ndarray | None = None, *, tau_causal: float = 2e-6,
                 tau_acausal: float = 2e-6, amplitude_causal: float = 1.0,
                 amplitude_acausal: float = 1.0, threshold_high: float = 22.0,
                 threshold_low: float = 22.0, lsb: float = 0.125, cycle_time: float = 1e-8,
                 nest_polarity: bool = False):
        for name, v in (("tau_causal", tau_causal), ("tau_acausal", tau_acausal),
                        ("lsb", lsb), ("cycle_time", cycle_time)):
            if not v > 0:
                raise ValueError(f"{name} {v!r} must be > 0")
        for name, v in (("amplitude_causal", amplitude_causal),
                        ("amplitude_acausal", amplitude_acausal)):
            if not v >= 0:
                raise ValueError(f"{name} {v!r} must be >= 0")
        if decoders is None:
            decoders = np.zeros((2, N_ROWS, N_COLUMNS), np.uint8)
        if decoders.shape != (2, N_ROWS, N_COLUMNS) or decoders.dtype != np.uint8:
            raise ValueError(f"decoders must be a (2, 224, 256) uint8 array, got "
                             f"{decoders.shape} {decoders.dtype}")
        self._packed = decoders
        self.tau_causal, self.tau_acausal = float(tau_causal), float(tau_acausal)
        self.amplitude_causal = float(amplitude_causal)
        self.amplitude_acausal = float(amplitude_acausal)
        self.threshold_high, self.threshold_low = float(threshold_high), float(threshold_low)
        self.lsb, self.cycle_time = float(lsb), float(cycle_time)
        self.nest_polarity = bool(nest_polarity)
        self._causal = np.zeros((2, N_ROWS, N_COLUMNS), np.uint8)
        self._acausal = np.zeros((2, N_ROWS, N_COLUMNS), np.uint8)
        self._last_pre = np.full((2, N_ROWS, 2, 16), _NEVER, np.int32)   # half, row, parity, dec
        self._last_post = np.full(2 * N_COLUMNS, _NEVER, np.int32)        # per denmem
        self._epoch = 0
        self.now = -1            # last processed cycle

    # -- memory ------------------------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes of sensor state (accumulators, pre-group and post times)."""
        return sum(a.nbytes for a in (self._causal, self._acausal, self._last_pre,
                                      self._last_post))

    # -- direct state access (tests, controller preparation) ---------------------------------------
    def accumulators(self, half: str) -> tuple[np.ndarray, np.ndarray]:
        """(causal, acausal) of one half as float arrays (224 rows on array x 256 columns)."""
        h = half_index(half)
        return self._causal[h] * self.lsb, self._acausal[h] * self.lsb

    def set_accumulators(self, half: str, row, column, causal=None, acausal=None) -> None:
        """Set accumulators of the synapses (``row``, ``column``) (SynapseRowOnArray, column;
        scalars or equally long arrays) to the nearest code of ``causal`` / ``acausal``."""
        h = half_index(half)
        rows = _as_int_array("synapse row", row, 0, N_ROWS - 1)
        cols = _as_int_array("synapse column", column, 0, N_COLUMNS - 1)
        if rows.size != cols.size:
            raise ValueError(f"row and column must have the same length, got {rows.size} "
                             f"and {cols.size}")
        codes = []
        for name, v in (("causal", causal), ("acausal", acausal)):
            if v is None:
                codes.append(None)
                continue
            a = np.broadcast_to(np.asarray(v, np.float64), rows.shape)
            full = 255 * self.lsb
            bad = a[~((a >= 0) & (a <= full))]
            if bad.size:
                raise ValueError(f"{name} accumulator {float(bad[0])!r} out of range "
                                 f"0..{full}")
            codes.append(np.rint(a / self.lsb).astype(np.uint8))
        if codes[0] is not None:
            self._causal[h, rows, cols] = codes[0]
        if codes[1] is not None:
            self._acausal[h, rows, cols] = codes[1]

    # -- evaluation and reset ----------------------------------------------------------------------
    def evaluate(self, half: str, row, column, patterns: int, causal_enable: bool = True,
                 acausal_enable: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Flags (bool arrays) of pattern 0 and pattern 1 for synapses (``row``, ``column``)."""
        h = half_index(half)
        a_c = self._causal[h, row, column] * self.lsb
        a_a = self._acausal[h, row, column] * self.lsb
        out = []
        for k in (0, 1):
            cc, ca, ac, aa = pattern_bits(patterns, k)
            if not causal_enable:
                cc = ac = 0
            if not acausal_enable:
                ca = aa = 0
            high = (self.threshold_high + cc * a_c + aa * a_a) / (1 + cc + aa)
            low = (self.threshold_low + ac * a_c + ca * a_a) / (1 + ac + ca)
            out.append(low > high if self.nest_polarity else high > low)
        return out[0], out[1]

    def reset(self, half: str, row, column) -> None:
        """Clear both accumulators of synapses (``row``, ``column``)."""
        h = half_index(half)
        self._causal[h, row, column] = 0
        self._acausal[h, row, column] = 0

    # -- events ------------------------------------------------------------------------------------
    def process(self, pre=None, post=None, pre_groups=None) -> None:
        """Feed events in time order, at cycles >= the last processed cycle.

        ``pre``: pre events named by synapse, ``(cycle, half, row, column)`` arrays (half 0 = top,
        1 = bottom; row = SynapseRowOnArray). ``pre_groups``: pre events by decoder group,
        ``(cycle, half, row, parity, decoder)`` arrays (what a driver strobe delivers).
        ``post``: denmem spikes ``(cycle, denmem)``, denmem = 256 * half + column.
        """
        cyc, key = [], []
        if pre is not None:
            c, h, r, col = self._fields("pre", pre, 4)
            h = _as_int_array("pre half", h, 0, 1)
            r = _as_int_array("pre row", r, 0, N_ROWS - 1)
            col = _as_int_array("pre column", col, 0, N_COLUMNS - 1)
            dec = self._packed[h, r, col] >> 4
            cyc.append(c)
            key.append((((h * N_ROWS + r) * 2 + (col & 1)) * 16 + dec) + 2 * N_COLUMNS)
        if pre_groups is not None:
            c, h, r, p, d = self._fields("pre group", pre_groups, 5)
            h = _as_int_array("pre group half", h, 0, 1)
            r = _as_int_array("pre group row", r, 0, N_ROWS - 1)
            p = _as_int_array("pre group parity", p, 0, 1)
            d = _as_int_array("pre group decoder", d, 0, 15)
            cyc.append(c)
            key.append((((h * N_ROWS + r) * 2 + p) * 16 + d) + 2 * N_COLUMNS)
        if post is not None:
            c, n = self._fields("post", post, 2)
            cyc.insert(0, c)                # posts first: see the sort below
            key.insert(0, _as_int_array("post denmem", n, 0, 2 * N_COLUMNS - 1))
        if not cyc:
            return
        cyc, key = np.concatenate(cyc), np.concatenate(key)
        if cyc.size == 0:
            return
        # time order, posts before pres in the same cycle (a stable sort of posts + pres; the
        # order among posts or among pres of one cycle does not matter); a repeated event finds
        # nothing left to pair, so duplicates need no removal
        if np.any(cyc[1:] < cyc[:-1]):
            order = np.argsort(cyc, kind="stable")
            cyc, key = cyc[order], key[order]
        self._epoch = _process(cyc, key, self._packed, self._causal, self._acausal,
                               self._last_pre, self._last_post, self._epoch,
                               self.cycle_time, self.tau_causal, self.tau_acausal,
                               self.amplitude_causal, self.amplitude_acausal, self.lsb)
        self.now = int(cyc[-1])

    def _fields(self, what, arrays, n):
        if len(arrays) != n:
            raise ValueError(f"{what} events need {n} arrays, got {len(arrays)}")
        c = _as_int_array(f"{what} cycle", arrays[0], 0, np.iinfo(np.int64).max)
        sizes = {np.asarray(a).size for a in arrays}
        if len(sizes) != 1:
            raise ValueError(f"{what} event arrays differ in length: {sorted(sizes)}")
        if c.size and c.min() < self.now:
            raise ValueError(f"{what} event cycle {int(c.min())!r} before the last processed "
                             f"cycle {self.now}")
        return (c, *arrays[1:])



@numba.njit(cache=True, nogil=True)
def _add_code(acc, h, r, c, increment, lsb):
    """Add ``increment`` rounded to the nearest code (half to even), saturating at 255."""
    v = acc[h, r, c] + np.rint(increment / lsb)
    acc[h, r, c] = 255 if v > 255.0 else np.uint8(v)


@numba.njit(cache=True, nogil=True)
def _process(cyc, key, packed, causal, acausal, last_pre, last_post, epoch,
             cycle_time, tau_causal, tau_acausal, amplitude_causal, amplitude_acausal, lsb):
    """The §7.1 pairing over time-ordered events (see the module docstring); returns the new
    epoch. ``key`` < 512: post spike of denmem ``key``; else pre event of decoder group
    ``key - 512`` = ((half * 224 + row) * 2 + parity) * 16 + decoder."""
    cols = np.empty(N_COLUMNS // 2, np.int64)
    for e in range(cyc.size):
        rel = cyc[e] - epoch
        if rel >= _WINDOW:                  # rebase the epoch, clamp very old times
            shift = rel - _WINDOW // 2
            for a in (last_pre.reshape(-1), last_post):
                for i in range(a.size):
                    if a[i] != _NEVER:
                        a[i] = max(np.int64(a[i]) - shift, _OLDEST)
            epoch += shift
            rel -= shift
        k = key[e]
        if k < 2 * N_COLUMNS:               # post: the first post after each row's last pre
            h = k // N_COLUMNS
            c = k - N_COLUMNS * h
            p = c & 1
            t_last = last_post[k]
            for r in range(N_ROWS):
                t_pre = last_pre[h, r, p, packed[h, r, c] >> 4]
                if t_pre != _NEVER and t_pre >= t_last:
                    dt = (rel - np.int64(t_pre)) * cycle_time
                    _add_code(causal, h, r, c,
                              amplitude_causal * np.exp(-dt / tau_causal), lsb)
            last_post[k] = rel
        else:                               # pre: the last post since the group's last pre
            g = k - 2 * N_COLUMNS
            d = g % 16
            p = (g // 16) % 2
            hr = g // 32
            h = hr // N_ROWS
            r = hr - N_ROWS * h
            t_prev = last_pre[h, r, p, d]
            row = packed[h, r]
            code = np.uint8(d << 4)
            m = 0                           # the group's columns, without branches
            for j in range(N_COLUMNS // 2):
                cols[m] = 2 * j + p
                m += (row[2 * j + p] & 0xF0) == code
            for i in range(m):
                c = cols[i]
                t_post = last_post[N_COLUMNS * h + c]
                if t_post != _NEVER and t_post > t_prev:
                    dt = (rel - np.int64(t_post)) * cycle_time
                    _add_code(acausal, h, r, c,
                              amplitude_acausal * np.exp(-dt / tau_acausal), lsb)
            last_pre[h, r, p, d] = rel
    return epoch
