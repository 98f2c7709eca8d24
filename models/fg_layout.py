"""Floating-gate (FG) parameter memory layout of one HICANN: which parameter sits where.

Declared once here, used by the parameter transformation (``models.transform``), the FG
controller model and the host encoder. Sources: analog-core.md §1, §4.1 (block and column
mapping, shared-parameter scope), §4.2 (per-denmem rows), §4.3 (shared rows, column 0);
hicann-digital.md §10 (4 controllers of 24 rows x 129 columns, right blocks mirrored).

Coordinates:

- FG block ``b`` = ``x + 2*y`` with ``x`` 0 left / 1 right and ``y`` 0 top / 1 bottom, i.e. the
  controller order top-left, top-right, bottom-left, bottom-right.
- Denmem ``(x, y)``: column ``x`` 0..255, row ``y`` 0 top / 1 bottom; its flat index is
  ``x + 256*y`` (halco ``NeuronOnHICANN`` enum). Its individual cells live in block
  ``(x // 128, y)``.
- FG columns are *physical controller columns*: column 0 holds the shared parameters; in a left
  block denmem ``n = x % 128`` sits in column ``1 + n``, in a right block in column ``128 - n``
  (hicann-digital §10). analog-core §4.1 writes ``1 + (c mod 128)`` for both sides; that is
  halbe's logical ``FGBlock`` index before the mirror is applied when writing to the chip. The
  array built here is the one the controllers' RAM receives, so it carries the mirror.
- Shared ``V_reset``/``I_breset`` of block ``b`` act on the denmems at quad position ``b``
  (0 top-even, 1 top-odd, 2 bottom-even, 3 bottom-odd) of the whole chip, not on the denmems
  stored in that block (§4.1); see :func:`reset_block`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "N_BLOCKS", "N_ROWS", "N_COLUMNS", "N_DENMEMS", "BLOCK_NAMES", "NEURON_PARAMETERS",
    "SHARED_PARAMETERS", "FGParam", "block_of", "block_xy", "neuron_row", "shared_row",
    "shared_names", "denmem_index", "denmem_xy", "denmem_cell", "cell_denmem", "reset_block",
    "pack", "unpack",
]

N_BLOCKS, N_ROWS, N_COLUMNS = 4, 24, 129
N_DENMEMS = 512
DAC_MAX = 1023
BLOCK_NAMES = ("top_left", "top_right", "bottom_left", "bottom_right")


class FGParam(tuple):
    """(kind, left row, right row, halbe power-on default); kind "V" voltage or "I" current cell.

    A row of ``None`` means the parameter does not exist on that side.
    """

    __slots__ = ()

    def __new__(cls, kind, left, right, default):
        return super().__new__(cls, (kind, left, right, default))

    kind = property(lambda self: self[0])
    left = property(lambda self: self[1])
    right = property(lambda self: self[2])
    default = property(lambda self: self[3])


# analog-core §4.2: 23 per-denmem parameters (rows in left / right blocks, halbe default DAC).
NEURON_PARAMETERS: dict[str, FGParam] = {
    "E_l": FGParam("V", 6, 16, 300),
    "E_syni": FGParam("V", 18, 2, 100),
    "E_synx": FGParam("V", 16, 0, 570),
    "I_bexp": FGParam("I", 1, 15, 1023),
    "I_convi": FGParam("I", 3, 1, 1023),
    "I_convx": FGParam("I", 17, 3, 1023),
    "I_fire": FGParam("I", 7, 19, 511),
    "I_gl": FGParam("I", 11, 21, 200),
    "I_gladapt": FGParam("I", 9, 11, 100),
    "I_intbbi": FGParam("I", 21, 7, 511),
    "I_intbbx": FGParam("I", 19, 5, 511),
    "I_pl": FGParam("I", 13, 9, 511),
    "I_radapt": FGParam("I", 15, 23, 511),
    "I_rexp": FGParam("I", 23, 13, 511),
    "I_spikeamp": FGParam("I", 5, 17, 1023),
    "V_exp": FGParam("V", 20, 4, 400),
    "V_syni": FGParam("V", 8, 10, 511),
    "V_syntci": FGParam("V", 10, 8, 800),
    "V_syntcx": FGParam("V", 14, 12, 800),
    "V_synx": FGParam("V", 22, 6, 511),
    "V_t": FGParam("V", 12, 14, 500),
    "V_convoffi": FGParam("V", 4, 18, 1023),
    "V_convoffx": FGParam("V", 2, 20, 1023),
}

# analog-core §4.3: shared parameters in column 0 (rows 18, 20, 22 unused). The defaults are
# halbe's power-on values; calibtic's differ (V_dllres 400, V_gmax 500 or 1023; §4.3, §13.4).
# We keep halbe's: they are what the chip holds when nothing else is written.
SHARED_PARAMETERS: dict[str, FGParam] = {
    "V_reset": FGParam("V", 0, 0, 300),
    "int_op_bias": FGParam("I", 1, 1, 1023),
    "V_dllres": FGParam("V", 2, 2, 200),
    "V_bout": FGParam("I", 3, None, 1023),
    "V_bexp": FGParam("I", None, 3, 1023),
    "V_fac": FGParam("V", 4, 4, 0),
    "I_breset": FGParam("I", 5, 5, 1023),
    "V_dep": FGParam("V", 6, 6, 0),
    "I_bstim": FGParam("I", 7, 7, 1023),
    "V_thigh": FGParam("V", 8, 8, 0),
    "V_gmax3": FGParam("I", 9, 9, 1000),
    "V_tlow": FGParam("V", 10, 10, 0),
    "V_gmax0": FGParam("I", 11, 11, 1000),
    "V_clra": FGParam("V", 12, None, 0),
    "V_clrc": FGParam("V", None, 12, 0),
    "V_gmax1": FGParam("I", 13, 13, 1000),
    "V_stdf": FGParam("V", 14, 14, 0),
    "V_gmax2": FGParam("I", 15, 15, 1000),
    "V_m": FGParam("V", 16, 16, 0),
    "V_bstdf": FGParam("V", 17, 17, 0),
    "V_dtc": FGParam("V", 19, 19, 0),
    "V_br": FGParam("V", 21, 21, 0),
    "V_ccas": FGParam("V", 23, 23, 800),
}


def _check(what, value, lo, hi):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{what} {value!r} out of range {lo}..{hi}")
    return int(value)


def block_of(x: int, y: int) -> int:
    """FG block index ``x + 2*y`` of side ``x`` (0 left, 1 right) and half ``y`` (0 top)."""
    return _check("FG block x", x, 0, 1) + 2 * _check("FG block y", y, 0, 1)


def block_xy(block: int) -> tuple[int, int]:
    """(x, y) of FG block ``block``."""
    _check("FG block", block, 0, N_BLOCKS - 1)
    return block % 2, block // 2


def _side_row(table, name, block, what):
    if name not in table:
        raise ValueError(f"unknown {what} parameter {name!r}")
    x, _ = block_xy(block)
    row = table[name][1 + x]
    if row is None:
        raise ValueError(f"{what} parameter {name!r} does not exist in FG block {block} "
                         f"({BLOCK_NAMES[block]})")
    return row


def neuron_row(name: str, block: int) -> int:
    """FG row of per-denmem parameter ``name`` in block ``block`` (§4.2)."""
    return _side_row(NEURON_PARAMETERS, name, block, "neuron")


def shared_row(name: str, block: int) -> int:
    """FG row (column 0) of shared parameter ``name`` in block ``block`` (§4.3)."""
    return _side_row(SHARED_PARAMETERS, name, block, "shared")


def shared_names(block: int) -> tuple[str, ...]:
    """Names of the 23 shared parameters that exist in block ``block`` (side dependent)."""
    x, _ = block_xy(block)
    return tuple(n for n, p in SHARED_PARAMETERS.items() if p[1 + x] is not None)


def denmem_index(x: int, y: int) -> int:
    """Flat denmem index ``x + 256*y``."""
    return _check("denmem x", x, 0, 255) + 256 * _check("denmem y", y, 0, 1)


def denmem_xy(index: int) -> tuple[int, int]:
    _check("denmem", index, 0, N_DENMEMS - 1)
    return index % 256, index // 256


def denmem_cell(x: int, y: int) -> tuple[int, int]:
    """(FG block, physical FG column) of the individual cells of denmem ``(x, y)``."""
    denmem_index(x, y)
    side, n = divmod(x, 128)
    return block_of(side, y), (1 + n if side == 0 else 128 - n)


def cell_denmem(block: int, column: int) -> tuple[int, int]:
    """Denmem ``(x, y)`` whose individual cells sit in ``column`` (1..128) of ``block``."""
    side, y = block_xy(block)
    _check("FG neuron column", column, 1, N_COLUMNS - 1)
    return (column - 1 if side == 0 else 128 + 128 - column), y


def reset_block(x: int, y: int) -> int:
    """FG block whose shared V_reset / I_breset act on denmem ``(x, y)`` (quad position)."""
    denmem_index(x, y)
    return x % 2 + 2 * y


def _dac(what, value):
    return _check(what, value, 0, DAC_MAX)


def pack(neurons: Sequence[Mapping[str, int]], shared: Sequence[Mapping[str, int]]) -> np.ndarray:
    """Array ``[block, row, column]`` (4 x 24 x 129, uint16) of DAC codes.

    ``neurons``: 512 mappings (flat denmem index order) of all 23 per-denmem parameters;
    ``shared``: 4 mappings (block order) with the shared parameters of that block's side (extra
    names of the other side are ignored). Unused cells are 0. Nothing is returned half filled:
    every value is checked first.
    """
    if len(neurons) != N_DENMEMS:
        raise ValueError(f"need {N_DENMEMS} denmem parameter sets, got {len(neurons)}")
    if len(shared) != N_BLOCKS:
        raise ValueError(f"need {N_BLOCKS} shared parameter sets, got {len(shared)}")
    out = np.zeros((N_BLOCKS, N_ROWS, N_COLUMNS), dtype=np.uint16)
    for index, values in enumerate(neurons):
        x, y = denmem_xy(index)
        block, column = denmem_cell(x, y)
        for name in NEURON_PARAMETERS:
            if name not in values:
                raise ValueError(f"denmem {index}: missing parameter {name!r}")
            out[block, neuron_row(name, block), column] = _dac(
                f"denmem {index} {name}", values[name])
    for block, values in enumerate(shared):
        for name in shared_names(block):
            if name not in values:
                raise ValueError(f"FG block {block}: missing shared parameter {name!r}")
            out[block, shared_row(name, block), 0] = _dac(f"FG block {block} {name}", values[name])
    return out


def unpack(array) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    """Inverse of :func:`pack`: (512 per-denmem dicts, 4 shared dicts of their side's names)."""
    a = np.asarray(array)
    if a.shape != (N_BLOCKS, N_ROWS, N_COLUMNS):
        raise ValueError(f"FG array shape {a.shape} is not {(N_BLOCKS, N_ROWS, N_COLUMNS)}")
    if a.size and (a.min() < 0 or a.max() > DAC_MAX):
        raise ValueError(f"FG array values {int(a.min())}..{int(a.max())} out of range "
                         f"0..{DAC_MAX}")
    neurons = []
    for index in range(N_DENMEMS):
        block, column = denmem_cell(*denmem_xy(index))
        neurons.append({n: int(a[block, neuron_row(n, block), column]) for n in NEURON_PARAMETERS})
    shared = [{n: int(a[b, shared_row(n, b), 0]) for n in shared_names(b)} for b in range(N_BLOCKS)]
    return neurons, shared
