"""The two synapse arrays of one HICANN: 4-bit weights, 4-bit decoders and STDP sensors, with the
user-level access and the chip-format access port of the synapse controller (spec
hicann-digital.md §5.1-5.3, §6.1-6.2, §6.5; analog-core.md §1, §5.1).

Coordinates
-----------
User level: ``half`` ("top" / "bottom"), ``row`` = SynapseRowOnArray 0..223 (driver line L drives
rows 2L, 2L + 1 in the top half and 2L - 224, 2L - 223 in the bottom half), ``column`` 0..255.
Column x of the top array feeds denmem x (NeuronOnHICANN x, y = 0), column x of the bottom array
feeds denmem 256 + x (y = 1): denmem index = NeuronOnHICANN enum = 256 * y + x (§1).

Chip port (what the synapse controller RTL reads and writes): ``row`` = HW row address R 0..223
(top array R = 223 - SynapseRowOnArray, bottom array R = SynapseRowOnArray; R = 0 nearest the
midline, §5.1) and column set s 0..7 = columns {64 i + 8 s + j | slice i 0..3, j 0..7}, as 4
32-bit words, word i = slice i:

* weights (§5.2): column j in bits [31-4j : 28-4j] holding the weight bit-reversed (weight bit 0 at
  bit 31-4j);
* decoders (§5.3): the two rows of a driver (even R = HW-bottom "B", odd R = HW-top "T") share the
  words. Bits [31-4j : 28-4j] of the odd row's word are B[3], T[2], B[2], T[3]; of the even row's
  word B[1], T[0], B[0], T[1]. Writing one row's word sets half the bits of both rows' decoders;
* correlation flags (SYNCORR, our choice of bit order, the sources are silent): synapse (slice i,
  j) at bit 31 - (8 i + j), i.e. MSB first in the same column order as the data words; word 0 =
  pattern 0, word 1 = pattern 1. The SYNRST mask uses the same bit order.

Storage: one uint8 per synapse, weight in bits [3:0], decoder in bits [7:4], indexed (half,
SynapseRowOnArray, column); the STDP sensors (:mod:`bss1.models.stdp_sensor`) add 2 bytes per
synapse plus their pre-group times (:meth:`SynapseArray.nbytes`).
"""

from __future__ import annotations

import numpy as np

from bss1.models.coords import check_range
from bss1.models.stdp_sensor import HALVES, N_COLUMNS, N_ROWS, StdpSensors, half_index

__all__ = ["SynapseArray", "HALVES", "N_ROWS", "N_COLUMNS", "N_COLUMN_SETS",
           "column_set_columns", "hw_row", "row_on_array", "denmem_of"]

N_COLUMN_SETS = 8
_WORD_MAX = 0xFFFF_FFFF
_REV4 = np.array([int(f"{v:04b}"[::-1], 2) for v in range(16)], np.uint8)
_SHIFTS = np.array([28 - 4 * j for j in range(8)], np.uint64)      # nibble of column j
_FLAG_BITS = np.array([[31 - (8 * i + j) for j in range(8)] for i in range(4)], np.uint64)


def column_set_columns(colset: int) -> np.ndarray:
    """The (4, 8) columns of column set ``colset``: [slice i, j] = 64 i + 8 s + j."""
    check_range("column set", colset, 0, N_COLUMN_SETS - 1)
    return (64 * np.arange(4)[:, None] + 8 * colset + np.arange(8)[None, :]).astype(np.intp)


def hw_row(half: str, row: int) -> int:
    """HW row address R of SynapseRowOnArray ``row``."""
    h = half_index(half)
    check_range("synapse row", row, 0, N_ROWS - 1)
    return N_ROWS - 1 - row if h == 0 else row


def row_on_array(half: str, r: int) -> int:
    """SynapseRowOnArray of HW row address ``r`` (the mirror is its own inverse)."""
    h = half_index(half)
    check_range("synapse row address", r, 0, N_ROWS - 1)
    return N_ROWS - 1 - r if h == 0 else r


def denmem_of(half: str, column: int) -> int:
    """Denmem (NeuronOnHICANN enum 256 y + x) fed by ``column`` of ``half``."""
    h = half_index(half)
    return N_COLUMNS * h + check_range("synapse column", column, 0, N_COLUMNS - 1)


def _check_words(words) -> tuple[int, int, int, int]:
    try:
        ws = tuple(words)
    except TypeError:
        raise ValueError(f"words must be 4 integers, got {words!r}") from None
    if len(ws) != 4:
        raise ValueError(f"words must be 4 integers, got {words!r}")
    for i, w in enumerate(ws):
        check_range(f"word {i}", w, 0, _WORD_MAX)
    return ws


def _nibbles(word: int) -> np.ndarray:
    """The 8 nibbles of ``word`` at [31-4j : 28-4j], j = 0..7."""
    return ((np.uint64(word) >> _SHIFTS) & np.uint64(0xF)).astype(np.uint8)


def _word(nibbles: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(nibbles.astype(np.uint64) << _SHIFTS))


def _bit(v, b):
    return (v >> b) & 1


class SynapseArray:
    """Weights, decoders and STDP sensors of both synapse arrays of one HICANN.

    Keyword arguments are passed to :class:`~bss1.models.stdp_sensor.StdpSensors` (time
    constants, amplitudes, thresholds, ...). The version counter :attr:`version` increments with
    every change of a weight or decoder (users cache derived tables against it).
    """

    def __init__(self, **sensor_parameters):
        self._wd = np.zeros((2, N_ROWS, N_COLUMNS), np.uint8)
        self.sensors = StdpSensors(self._wd, **sensor_parameters)
        self.version = 0

    @property
    def packed(self) -> np.ndarray:
        """The packed (2, 224, 256) uint8 storage ``weight | decoder << 4`` (indices half,
        SynapseRowOnArray, column), by reference: compiled kernels read the current weights and
        decoders from it without copies. Read-only by convention: write through the setters,
        which also advance :attr:`version`."""
        return self._wd

    def nbytes(self) -> int:
        """Bytes of per-synapse state: weights, decoders and STDP sensors."""
        return self._wd.nbytes + self.sensors.nbytes()

    # -- user level --------------------------------------------------------------------------------
    def weights(self, half: str) -> np.ndarray:
        """Copy of the weights of ``half`` (224 SynapseRowOnArray x 256 columns, uint8)."""
        return self._wd[half_index(half)] & 0xF

    def decoders(self, half: str) -> np.ndarray:
        """Copy of the decoders of ``half`` (224 x 256, uint8)."""
        return self._wd[half_index(half)] >> 4

    def set_weights(self, half: str, weights) -> None:
        """Set all weights of ``half`` from a (224, 256) array of 0..15."""
        h = half_index(half)
        w = self._check_array("weight", weights)
        self._wd[h] = (self._wd[h] & 0xF0) | w
        self.version += 1

    def set_decoders(self, half: str, decoders) -> None:
        """Set all decoders of ``half`` from a (224, 256) array of 0..15."""
        h = half_index(half)
        d = self._check_array("decoder", decoders)
        self._wd[h] = (self._wd[h] & 0x0F) | (d << 4)
        self.version += 1

    def synapse(self, half: str, row: int, column: int) -> tuple[int, int]:
        """(weight, decoder) of one synapse (SynapseRowOnArray ``row``)."""
        h = half_index(half)
        check_range("synapse row", row, 0, N_ROWS - 1)
        check_range("synapse column", column, 0, N_COLUMNS - 1)
        v = int(self._wd[h, row, column])
        return v & 0xF, v >> 4

    def set_synapse(self, half: str, row: int, column: int, weight: int | None = None,
                    decoder: int | None = None) -> None:
        """Set the weight and/or decoder of one synapse (SynapseRowOnArray ``row``)."""
        h = half_index(half)
        check_range("synapse row", row, 0, N_ROWS - 1)
        check_range("synapse column", column, 0, N_COLUMNS - 1)
        if weight is not None:
            check_range("weight", weight, 0, 15)
        if decoder is not None:
            check_range("decoder", decoder, 0, 15)
        v = int(self._wd[h, row, column])
        if weight is not None:
            v = (v & 0xF0) | weight
        if decoder is not None:
            v = (v & 0x0F) | (decoder << 4)
        self._wd[h, row, column] = v
        self.version += 1

    @staticmethod
    def _check_array(what, values) -> np.ndarray:
        a = np.asarray(values)
        if a.shape != (N_ROWS, N_COLUMNS):
            raise ValueError(f"{what}s must have shape (224, 256), got {a.shape}")
        if a.dtype.kind not in "iu":
            raise ValueError(f"{what}s must be integers, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() > 15):
            bad = a[(a < 0) | (a > 15)][0]
            raise ValueError(f"{what} {int(bad)!r} out of range 0..15")
        return a.astype(np.uint8)

    # -- chip port ---------------------------------------------------------------------------------
    def _port(self, half, row, colset):
        h = half_index(half)
        check_range("synapse row address", row, 0, N_ROWS - 1)
        cols = column_set_columns(colset)
        return h, row_on_array(half, row), cols

    def read_weights(self, half: str, row: int, colset: int) -> tuple[int, int, int, int]:
        """SYNOUT words of a weight read of HW row ``row``, column set ``colset`` (§5.2)."""
        h, r, cols = self._port(half, row, colset)
        w = _REV4[self._wd[h, r, cols] & 0xF]
        return tuple(_word(w[i]) for i in range(4))

    def write_weights(self, half: str, row: int, colset: int, words) -> None:
        """Write the SYNIN words ``words`` as weights into HW row ``row``, column set ``colset``."""
        h, r, cols = self._port(half, row, colset)
        ws = _check_words(words)
        w = np.stack([_REV4[_nibbles(x)] for x in ws])
        self._wd[h, r, cols] = (self._wd[h, r, cols] & 0xF0) | w
        self.version += 1

    def _pair(self, half, row, colset):
        h, _, cols = self._port(half, row, colset)
        r_bottom = row & ~1                     # even R: HW-bottom row of the driver
        rb, rt = row_on_array(half, r_bottom), row_on_array(half, r_bottom + 1)
        return h, rb, rt, cols

    def read_decoders(self, half: str, row: int, colset: int) -> tuple[int, int, int, int]:
        """SYNOUT words of a decoder read of HW row ``row`` (§5.3 interleaving)."""
        h, rb, rt, cols = self._pair(half, row, colset)
        b = self._wd[h, rb, cols] >> 4
        t = self._wd[h, rt, cols] >> 4
        if row % 2:       # HW-top row: B[3], T[2], B[2], T[3] from MSB to LSB of the nibble
            n = (_bit(b, 3) << 3) | (_bit(t, 2) << 2) | (_bit(b, 2) << 1) | _bit(t, 3)
        else:             # HW-bottom row: B[1], T[0], B[0], T[1]
            n = (_bit(b, 1) << 3) | (_bit(t, 0) << 2) | (_bit(b, 0) << 1) | _bit(t, 1)
        return tuple(_word(n[i]) for i in range(4))

    def write_decoders(self, half: str, row: int, colset: int, words) -> None:
        """Write SYNIN ``words`` as decoders of HW row ``row``: sets half the bits of the
        decoders of both rows of its driver (§5.3)."""
        h, rb, rt, cols = self._pair(half, row, colset)
        ws = _check_words(words)
        n = np.stack([_nibbles(x) for x in ws])
        b = self._wd[h, rb, cols] >> 4
        t = self._wd[h, rt, cols] >> 4
        if row % 2:
            b = (b & 0b0011) | (_bit(n, 3) << 3) | (_bit(n, 1) << 2)
            t = (t & 0b0011) | (_bit(n, 2) << 2) | (_bit(n, 0) << 3)
        else:
            b = (b & 0b1100) | (_bit(n, 3) << 1) | _bit(n, 1)
            t = (t & 0b1100) | _bit(n, 2) | (_bit(n, 0) << 1)
        self._wd[h, rb, cols] = (self._wd[h, rb, cols] & 0x0F) | (b << 4)
        self._wd[h, rt, cols] = (self._wd[h, rt, cols] & 0x0F) | (t << 4)
        self.version += 1

    def read_correlation(self, half: str, row: int, colset: int, patterns: int,
                         causal_enable: bool = True,
                         acausal_enable: bool = True) -> tuple[int, int]:
        """SYNCORR words (pattern 0, pattern 1) of HW row ``row``, column set ``colset``;
        ``patterns`` = CNFG bits 7..0; ``causal_enable`` / ``acausal_enable`` = CTRL scc / sca."""
        h, r, cols = self._port(half, row, colset)
        check_range("evaluation patterns", patterns, 0, 255)
        f0, f1 = self.sensors.evaluate(HALVES[h], r, cols, patterns, bool(causal_enable),
                                       bool(acausal_enable))
        return tuple(int(np.bitwise_or.reduce((f.astype(np.uint64) << _FLAG_BITS).ravel()))
                     for f in (f0, f1))

    def reset_correlation(self, half: str, row: int, colset: int, mask: int) -> None:
        """Reset the accumulators of the synapses of HW row ``row``, column set ``colset``
        whose bit is set in the SYNRST ``mask`` (bit order as SYNCORR)."""
        h, r, cols = self._port(half, row, colset)
        check_range("reset mask", mask, 0, _WORD_MAX)
        sel = ((np.uint64(mask) >> _FLAG_BITS) & np.uint64(1)).astype(bool)
        self.sensors.reset(HALVES[h], r, cols[sel])

    # -- user-level correlation access -------------------------------------------------------------
    def set_correlation(self, half: str, row, column, causal=None, acausal=None) -> None:
        """Set the accumulators of synapses (SynapseRowOnArray ``row``, ``column``); see
        :meth:`StdpSensors.set_accumulators`."""
        self.sensors.set_accumulators(half, row, column, causal, acausal)

    def correlation_flags(self, half: str, patterns: int, causal_enable: bool = True,
                          acausal_enable: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Flags of pattern 0 and 1 of every synapse of ``half`` ((224, 256) bool arrays)."""
        check_range("evaluation patterns", patterns, 0, 255)
        return self.sensors.evaluate(half, slice(None), slice(None), patterns,
                                     bool(causal_enable), bool(acausal_enable))
