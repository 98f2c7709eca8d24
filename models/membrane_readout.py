"""Membrane readout: two analog outputs per HICANN and the ADC that digitises them.

Spec analog-core.md §10 and §13.13. Each HICANN has two analog outputs; each can be switched to
one of the four membrane lines (quad positions: top-even 0, top-odd 1, bottom-even 2,
bottom-odd 3), and on a line only one of its 128 denmems may drive it (``enable_aout``). So at
most two denmems per HICANN are visible at a time, from different lines unless both outputs
show the same denmem. The ADC samples one channel at ``rate`` (a parameter; 96 MHz is what the
tools assume, the ESS uses 1 GS/s: §13.13) with 12 bits and the inverted default conversion
V = 1.8 - 1.8 code / 4095. A per-channel offset (the "ReadoutShift" calibration, §8.1) is added
before conversion; it is 0 V by default.

The neuron model records V at the start of every integration step (``NeuronArray.record``); the
ADC holds the latest recorded value at each of its sample times (zero-order hold).
"""

from __future__ import annotations

import math

import numpy as np

from bss1.models.neuron import DENMEMS_PER_HICANN

__all__ = ["ADC_RATE", "ADC_BITS", "ADC_VOLTS", "Adc", "AnalogOutputs", "membrane_line"]

ADC_RATE = 96e6
ADC_BITS = 12
ADC_VOLTS = 1.8


def membrane_line(denmem: int) -> int:
    """Membrane line (quad position 2 y + x mod 2) of a denmem of one HICANN (0..511)."""
    if not isinstance(denmem, (int, np.integer)) or not 0 <= denmem < DENMEMS_PER_HICANN:
        raise ValueError(f"denmem {denmem!r} out of range 0..{DENMEMS_PER_HICANN - 1}")
    y, x = divmod(int(denmem), 256)
    return 2 * y + x % 2


class Adc:
    """12-bit ADC with the default inverted conversion; ``rate`` in samples per second."""

    def __init__(self, rate: float = ADC_RATE, bits: int = ADC_BITS, volts: float = ADC_VOLTS):
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"ADC rate {rate!r} must be a positive finite number")
        if not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ValueError(f"ADC bits {bits!r} out of range 1..16")
        self.rate, self.bits, self.volts = float(rate), bits, float(volts)
        self.full = (1 << bits) - 1

    def code(self, v) -> np.ndarray:
        """Codes of voltages: round((1.8 - V) / 1.8 * 4095), clipped to 0..4095."""
        c = np.floor((self.volts - np.asarray(v, dtype=float)) / self.volts * self.full + 0.5)
        return np.clip(c, 0, self.full).astype(np.int64)

    def to_volts(self, codes) -> np.ndarray:
        return self.volts - self.volts * np.asarray(codes, dtype=float) / self.full

    def sample(self, t, v, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Digitise one trace: ``t`` ascending recording times (s), ``v`` values (V), each held
        until the next one. Samples at t[0] + k / rate while inside [t[0], t[-1]]; returns
        (sample times, codes)."""
        t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
        if t.ndim != 1 or v.shape != t.shape:
            raise ValueError(f"t and v must be 1-d arrays of one length, got {t.shape}, {v.shape}")
        if t.size == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        if np.any(np.diff(t) <= 0):
            raise ValueError("trace times must be strictly ascending")
        n = int(math.floor((t[-1] - t[0]) * self.rate * (1 + 1e-12))) + 1
        ts = t[0] + np.arange(n) / self.rate
        span = t[-1] - t[0]
        idx = np.searchsorted(t, ts + 1e-9 * (span / max(t.size - 1, 1)), side="right") - 1
        return ts, self.code(v[idx] + offset)


class AnalogOutputs:
    """Routing of the two analog outputs of each of ``n_hicanns`` HICANNs to denmems (§10)."""

    def __init__(self, n_hicanns: int = 1):
        if not isinstance(n_hicanns, int) or n_hicanns < 1:
            raise ValueError(f"n_hicanns {n_hicanns!r} must be an integer >= 1")
        self.n_hicanns = n_hicanns
        self._sel: dict[tuple[int, int], int] = {}     # (hicann, output) -> local denmem
        self.offsets: dict[tuple[int, int], float] = {}

    def connect(self, hicann: int, output: int, denmem: int, offset: float = 0.0) -> None:
        """Show local denmem ``denmem`` (0..511) of ``hicann`` on analog output ``output``."""
        if not isinstance(hicann, (int, np.integer)) or not 0 <= hicann < self.n_hicanns:
            raise ValueError(f"hicann {hicann!r} out of range 0..{self.n_hicanns - 1}")
        if output not in (0, 1):
            raise ValueError(f"analog output {output!r} out of range 0..1")
        line = membrane_line(denmem)
        other = self._sel.get((hicann, 1 - output))
        if other is not None and other != denmem and membrane_line(other) == line:
            raise ValueError(f"denmem {denmem} and denmem {other} of hicann {hicann} share "
                             f"membrane line {line}; only one denmem per line may enable aout")
        self._sel[(int(hicann), output)] = int(denmem)
        self.offsets[(int(hicann), output)] = float(offset)

    def disconnect(self, hicann: int, output: int) -> None:
        self._sel.pop((hicann, output), None)
        self.offsets.pop((hicann, output), None)

    def channels(self) -> list[tuple[int, int, int]]:
        """(hicann, output, global denmem) of every connected output, sorted."""
        return [(h, o, h * DENMEMS_PER_HICANN + d) for (h, o), d in sorted(self._sel.items())]

    def record_on(self, neurons) -> None:
        """Make ``neurons`` (a ``NeuronArray``) record the connected denmems."""
        neurons.record(np.array([d for _, _, d in self.channels()], dtype=np.int64))

    def acquire(self, neurons, adc: Adc = Adc()) -> dict[tuple[int, int], tuple]:
        """Digitise what ``neurons`` recorded since the last read: {(hicann, output):
        (sample times, codes)}. ``record_on`` must have been called before the run."""
        chans = self.channels()
        t, v = neurons.read_trace()
        if v.shape[0] != len(chans):
            raise ValueError(f"the neuron array records {v.shape[0]} denmems, the analog outputs "
                             f"select {len(chans)}; call record_on before running")
        return {(h, o): adc.sample(t, v[k], self.offsets[(h, o)])
                for k, (h, o, _) in enumerate(chans)}
