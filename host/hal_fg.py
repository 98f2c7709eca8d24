"""HALbe-like set_/get_ of the floating gates in user coordinates (spec host-stack.md §3.2
``set_fg_values``, ``set_fg_config``, ``wait_fg``; hicann-digital.md §10; analog-core.md §4).

* :class:`FGBlockConfig`: the 24 x 129 DAC values (0..1023) of one ``FGBlockOnHICANN`` (0..3:
  top-left, top-right, bottom-left, bottom-right), column 0 = the block's shared parameters;
  built from values, from a :func:`bss1.models.fg_layout.pack` array, or from parameter names
  (:func:`fg_blocks_from_parameters`, :meth:`FGBlockConfig.default`).
* :func:`set_fg_values` / :func:`set_fg_blocks`: program blocks with a sequence of passes
  (``(FGConfig, "down" | "up")``, default :data:`~bss1.host.floating_gates.DEFAULT_PASSES`).
  The register sequences are :func:`bss1.host.floating_gates.program_block`'s; several blocks
  are programmed in parallel as halbe does (row ``r`` of every block is loaded and started, one
  wait for the longest, then every block's SLAVE.busy is polled). The wait is ``link.wait(pll
  cycles)`` (model: idle time; UDP: a wall-clock sleep while the emulated FPGA lets chip time
  pass). Returns the columns that did not converge per block (halbe's getNextFalse loop).
* :func:`get_fg_block` / :func:`fg_block_query`: what the chip lets the host read back: both
  RAM banks (the values of the last two rows loaded), OP and BIAS (as an
  :class:`~bss1.host.floating_gates.FGConfig`), SLAVE (busy, error, column). The programmed cells
  themselves are **not digitally readable**: on the chip only the analog readout (``read``
  instruction, analog output) shows them.
* :func:`expected_fg_readback`: the read-back a correct chip gives after :func:`set_fg_blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..models import fg_layout as L
from . import floating_gates as F
from .hal_link import Query, run_queries

__all__ = ["FGBlockConfig", "FGBlockReadback", "fg_blocks_from_parameters", "fg_program_ops",
           "run_fg_ops", "set_fg_values", "set_fg_blocks", "fg_block_query", "get_fg_block",
           "expected_fg_readback"]


@dataclass(frozen=True)
class FGBlockConfig:
    """DAC values ``values[row][column]`` (24 x 129, 0..1023) of one FG block."""

    values: tuple

    def __post_init__(self):
        rows = [tuple(int(v) if isinstance(v, np.integer) else v for v in r)
                for r in self.values]
        if len(rows) != L.N_ROWS:
            raise ValueError(f"FG block needs {L.N_ROWS} rows, got {len(rows)}")
        for r, vals in enumerate(rows):
            if len(vals) != L.N_COLUMNS:
                raise ValueError(f"FG row {r} needs {L.N_COLUMNS} values, got {len(vals)}")
            F.row_ram_words(vals)                     # range check of every value
        object.__setattr__(self, "values", tuple(rows))

    @classmethod
    def from_array(cls, array, block: int | None = None) -> "FGBlockConfig":
        """From a 24 x 129 array, or block ``block`` of a 4 x 24 x 129 ``fg_layout.pack``."""
        a = np.asarray(array)
        return cls(a if block is None else a[block])

    @classmethod
    def default(cls, block: int) -> "FGBlockConfig":
        """Every parameter at its :mod:`~bss1.models.fg_layout` default."""
        F.block_instance(block)
        return fg_blocks_from_parameters()[block]

    def array(self) -> np.ndarray:
        return np.array(self.values, dtype=np.uint16)


def fg_blocks_from_parameters(neurons: Sequence[Mapping[str, int]] | None = None,
                              shared: Sequence[Mapping[str, int]] | None = None) \
        -> dict[int, FGBlockConfig]:
    """All four blocks from parameter names (:func:`bss1.models.fg_layout.pack`): ``neurons``
    512 mappings (denmem index order), ``shared`` 4 (block order); missing names take their
    defaults."""
    neurons = [{} for _ in range(L.N_DENMEMS)] if neurons is None else list(neurons)
    shared = [{} for _ in range(L.N_BLOCKS)] if shared is None else list(shared)
    nd = {n: p.default for n, p in L.NEURON_PARAMETERS.items()}
    sd = {n: p.default for n, p in L.SHARED_PARAMETERS.items()}
    packed = L.pack([{**nd, **n} for n in neurons], [{**sd, **s} for s in shared])
    return {b: FGBlockConfig.from_array(packed, b) for b in range(L.N_BLOCKS)}


def _blocks(blocks: Mapping[int, FGBlockConfig]) -> list[tuple[int, FGBlockConfig]]:
    out = []
    for b, cfg in sorted(blocks.items()):
        F.block_instance(b)
        if not isinstance(cfg, FGBlockConfig):
            raise ValueError(f"FG block {b} config {cfg!r} is not an FGBlockConfig")
        out.append((b, cfg))
    return out


def _segments(ops):
    """Split one block's sequence after each Poll."""
    seg, out = [], []
    for op in ops:
        seg.append(op)
        if isinstance(op, F.Poll):
            out.append(seg)
            seg = []
    return out


def fg_program_ops(blocks: Mapping[int, FGBlockConfig], passes=F.DEFAULT_PASSES) -> list:
    """The programming ops (:class:`~bss1.host.floating_gates.Write` / ``Wait`` / ``Poll``) of
    ``blocks`` ({FGBlockOnHICANN: FGBlockConfig}), the blocks in parallel row by row."""
    per_block = [_segments(F.program_block(b, cfg.values, passes)) for b, cfg in _blocks(blocks)]
    ops = []
    for step in zip(*per_block):
        ops += [op for seg in step for op in seg if isinstance(op, F.Write)]
        ops.append(F.Wait(max(op.pll_cycles for seg in step for op in seg
                              if isinstance(op, F.Wait))))
        ops += [op for seg in step for op in seg if isinstance(op, F.Poll)]
    return ops


def run_fg_ops(link, ops, max_polls: int = 1000) -> int:
    """Run FG ops on a HAL link: runs of writes in one ``writes``, a run of polls as one
    ``read_many`` repeated for the registers still busy. Returns the number of poll reads."""
    n_reads, i = 0, 0
    while i < len(ops):
        op = ops[i]
        if isinstance(op, F.Write):
            j = i
            while j < len(ops) and isinstance(ops[j], F.Write):
                j += 1
            link.writes([tuple(w) for w in ops[i:j]])
        elif isinstance(op, F.Wait):
            j = i + 1
            if hasattr(link, "wait"):
                link.wait(op.pll_cycles)
        elif isinstance(op, F.Poll):
            j = i
            while j < len(ops) and isinstance(ops[j], F.Poll):
                j += 1
            waiting = list(ops[i:j])
            for _ in range(max_polls):
                data = link.read_many([(p.tag, p.addr) for p in waiting])
                n_reads += len(waiting)
                waiting = [p for p, d in zip(waiting, data) if d & p.mask != p.value]
                if not waiting:
                    break
            else:
                p = waiting[0]
                raise TimeoutError(f"tag {p.tag} address {p.addr:#06x}: no {p.value:#x} under "
                                   f"mask {p.mask:#x} after {max_polls} reads")
        else:
            raise ValueError(f"unknown FG operation {op!r}")
        i = j
    return n_reads


def set_fg_blocks(link, blocks: Mapping[int, FGBlockConfig], passes=F.DEFAULT_PASSES) \
        -> dict[int, list[int]]:
    """Program ``blocks`` in parallel; returns ``{block: columns that did not converge}``."""
    run_fg_ops(link, fg_program_ops(blocks, passes))
    status = run_queries(link, [fg_block_query(b) for b in sorted(blocks)])
    return {b: (F.failed_columns(link, b) if s.error else [])
            for b, s in zip(sorted(blocks), status)}


def set_fg_values(link, block: int, cfg: FGBlockConfig, passes=F.DEFAULT_PASSES) -> list[int]:
    """halbe ``set_fg_values``: program one block; returns the columns that did not converge."""
    return set_fg_blocks(link, {block: cfg}, passes)[block]


@dataclass(frozen=True)
class FGBlockReadback:
    """What the chip returns for one FG block: RAM banks (129 cells each), OP / BIAS, SLAVE."""

    ram: tuple
    config: F.FGConfig
    busy: int
    error: int
    column: int


class _Replay:
    """A link answering reads from ``{(tag, addr): word}`` (records the reads it is asked)."""

    def __init__(self, words=None):
        self.words = words or {}
        self.reads = []

    def read(self, tag, addr):
        self.reads.append((tag, addr))
        return self.words.get((tag, addr), 0)


def _readback(link, block: int) -> FGBlockReadback:
    status = F.read_status(link, block)
    return FGBlockReadback((tuple(F.read_ram(link, block, 0)), tuple(F.read_ram(link, block, 1))),
                           F.read_config(link, block), status["busy"], status["error"],
                           status["column"])


def fg_block_query(block: int) -> Query:
    """Read-back of ``block`` (:class:`FGBlockReadback`), decoded by the read functions of
    :mod:`bss1.host.floating_gates`."""
    probe = _Replay()
    _readback(probe, block)
    ops = tuple(probe.reads)
    return Query(ops, lambda words: _readback(_Replay(dict(zip(ops, words))), block))


def get_fg_block(link, block: int) -> FGBlockReadback:
    return run_queries(link, [fg_block_query(block)])[0]


def expected_fg_readback(block: int, cfg: FGBlockConfig, passes=F.DEFAULT_PASSES) \
        -> FGBlockReadback:
    """The read-back after programming ``cfg`` into ``block``: the RAM words and the OP / BIAS
    last written by the sequence, not busy, no error (column not predicted: 0)."""
    last = {(w.tag, w.addr): w.data for w in F.program_block(block, cfg.values, passes)
            if isinstance(w, F.Write)}
    replay = _Replay(last)
    ram = (tuple(F.read_ram(replay, block, 0)), tuple(F.read_ram(replay, block, 1)))
    return FGBlockReadback(ram, passes[-1][0], 0, 0, 0)
