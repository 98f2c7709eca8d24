"""The floating-gate cells of one HICANN: 4 blocks x 24 rows x 129 columns of 10-bit values
(analog-core.md §4.1-§4.3, §8; hicann-digital.md §10).

:class:`FGStorage` receives the writes the FG controllers emit
(:class:`bss1.models.fg_controller.FGWrite`) and applies the programming semantics: a writeUp
pass raises only cells below their target, a writeDown pass lowers only cells above it (cells on
the wrong side keep their value). In the ideal mode a moved cell lands exactly on its target; in
the analog-realistic mode (``noise=FGWriteNoise(...)``) it lands on the target plus a fresh,
seeded Gaussian error per write (§8.2 item 3: voltage cells sigma in LSB, current cells sigma
relative to the target), rounded and clipped to 0..1023, and never past the starting value in
the wrong direction (an up pass cannot lower a cell). Even rows are voltage cells, odd rows
current cells (see :mod:`bss1.rtl.fg_controller`).

The neuron model reads its parameters through :meth:`FGStorage.neuron_values` (the 23 DAC codes
of denmem ``(x, y)``, via :mod:`bss1.models.fg_layout`: block ``(x // 128, y)``, column
``1 + x % 128`` on the left and ``128 - x % 128`` on the right), :meth:`neuron_array` (one
parameter for all 512 denmems, flat index ``x + 256 y``), :meth:`shared_values` (column 0 of a
block), and :meth:`hardware_parameters` (the transformation of :mod:`bss1.models.transform`, with
the V_reset of the block at the denmem's quad position, §4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fg_layout as L
from .transform import CALIBRATION, FGValues, HardwareParameters

__all__ = ["FGWriteNoise", "FGStorage"]


@dataclass(frozen=True)
class FGWriteNoise:
    """Write noise of the analog-realistic mode (§8.2): ``sigma_voltage_lsb`` for voltage cells,
    ``sigma_current_rel`` (fraction of the target) for current cells; ``seed`` keys the draws."""
    sigma_voltage_lsb: float = 2.0
    sigma_current_rel: float = 0.02
    seed: int = 0

    def __post_init__(self):
        for name in ("sigma_voltage_lsb", "sigma_current_rel"):
            v = getattr(self, name)
            if not v >= 0:
                raise ValueError(f"{name} {v!r} must be >= 0")


def _check(what, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{what} {value!r} out of range {lo}..{hi}")
    return int(value)


class FGStorage:
    """Cell values ``values[block, row, column]`` (uint16). ``initial``: an array of that shape
    (default all 0)."""

    def __init__(self, initial=None, noise: FGWriteNoise | None = None):
        shape = (L.N_BLOCKS, L.N_ROWS, L.N_COLUMNS)
        if initial is None:
            self.values = np.zeros(shape, dtype=np.uint16)
        else:
            a = np.asarray(initial)
            if a.shape != shape:
                raise ValueError(f"FG array shape {a.shape} is not {shape}")
            if a.size and (a.min() < 0 or a.max() > L.DAC_MAX):
                raise ValueError(f"FG array values {int(a.min())}..{int(a.max())} out of range "
                                 f"0..{L.DAC_MAX}")
            self.values = a.astype(np.uint16)
        self.noise = noise
        self._rng = np.random.default_rng(noise.seed) if noise is not None else None
        self.writes = 0

    # -- programming ----------------------------------------------------------------------------
    def apply(self, write) -> int:
        """Apply one controller write ``(block, row, column, value, up)``; returns the new value."""
        block, row, column, target, up = write
        _check("FG block", block, 0, L.N_BLOCKS - 1)
        _check("FG row", row, 0, L.N_ROWS - 1)
        _check("FG column", column, 0, L.N_COLUMNS - 1)
        _check("FG value", target, 0, L.DAC_MAX)
        old = int(self.values[block, row, column])
        if (target > old) if up else (target < old):
            new = target
            if self.noise is not None:
                sigma = (self.noise.sigma_current_rel * target if row % 2
                         else self.noise.sigma_voltage_lsb)
                new = int(np.clip(np.rint(target + self._rng.normal(0.0, sigma)), 0, L.DAC_MAX))
                new = max(new, old) if up else min(new, old)
            self.values[block, row, column] = new
        self.writes += 1
        return int(self.values[block, row, column])

    def apply_all(self, writes) -> None:
        for w in writes:
            self.apply(w)

    # -- views for the neuron model -------------------------------------------------------------
    def neuron_values(self, x: int, y: int) -> FGValues:
        """The 23 per-denmem DAC codes of denmem ``(x, y)``."""
        block, column = L.denmem_cell(x, y)
        return FGValues({n: int(self.values[block, L.neuron_row(n, block), column])
                         for n in L.NEURON_PARAMETERS})

    def neuron_array(self, name: str) -> np.ndarray:
        """DAC codes of per-denmem parameter ``name`` for all 512 denmems (flat index)."""
        if name not in L.NEURON_PARAMETERS:
            raise ValueError(f"unknown neuron parameter {name!r}")
        out = np.empty(L.N_DENMEMS, dtype=np.uint16)
        for index in range(L.N_DENMEMS):
            block, column = L.denmem_cell(*L.denmem_xy(index))
            out[index] = self.values[block, L.neuron_row(name, block), column]
        return out

    def shared_values(self, block: int) -> dict[str, int]:
        """Column 0 of ``block``: its side's shared parameters by name."""
        return {n: int(self.values[block, L.shared_row(n, block), 0])
                for n in L.shared_names(block)}

    def v_reset_dac(self, x: int, y: int) -> int:
        """V_reset code acting on denmem ``(x, y)`` (block at its quad position, §4.1)."""
        b = L.reset_block(x, y)
        return int(self.values[b, L.shared_row("V_reset", b), 0])

    def hardware_parameters(self, x: int, y: int, bigcap: bool = True,
                            i_gl_speed: str = "normal") -> HardwareParameters:
        """SI parameters of denmem ``(x, y)`` from its cells (default calibration)."""
        v_reset = CALIBRATION["V_t"].from_dac("V_reset", self.v_reset_dac(x, y))
        return HardwareParameters.from_fg(self.neuron_values(x, y), v_reset, bigcap, i_gl_speed)
