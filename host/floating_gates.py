"""Host-side programming of the floating gates, in user coordinates (spec hicann-digital.md §10,
§9.3; analog-core.md §4.1, §3.6).

* :class:`FGConfig`: the OP and BIAS settings of one programming pass (halbe ``FGConfig``
  defaults); :data:`COARSE`, :data:`FINE` and :data:`DEFAULT_PASSES` = sthal's four passes
  (coarse down, coarse up, fine down, fine up, §4.1).
* :func:`program_block`: the whole register sequence that programs one FG block
  (``FGBlockOnHICANN`` 0..3, order top-left, top-right, bottom-left, bottom-right as in
  :mod:`bss1.models.fg_layout`): per pass OP and BIAS, then per row the 65 RAM words of the row
  (alternating RAM banks), the writeDown / writeUp instruction, and a poll of SLAVE.busy. It is
  data (:class:`Write`, :class:`Wait`, :class:`Poll`); :func:`execute` runs it on a link object
  with ``write(tag, addr, data)`` and ``read(tag, addr) -> data`` (and optionally
  ``wait(pll_cycles)``, called with the worst-case programming time before each poll).
* :func:`failed_columns`: halbe's getNextFalse loop after a pass that set SLAVE.error.
* :func:`stimulus_sequence`: current-stimulus programming (bank 0, mode once / continuous).
* Read-back (§9.3): RAM banks, OP, BIAS (biases un-reversed) and SLAVE; the programmed cells
  themselves are not readable digitally (only through the analog readout).

Addresses and bit positions come from :data:`~bss1.rtl.registers.HICANN_MAP` only.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import NamedTuple, Sequence

from bss1.models.fg_controller import max_programming_time
from bss1.models.fg_layout import BLOCK_NAMES, DAC_MAX, N_BLOCKS, N_COLUMNS, N_ROWS
from bss1.rtl.fg_controller import FGOpcode, bias_readback
from bss1.rtl.registers import FG_CONTROLLER, HICANN_MAP

__all__ = ["FGConfig", "COARSE", "FINE", "DEFAULT_PASSES", "HALBE_PASSES", "Write", "Wait",
           "Poll", "block_instance", "instruction_word", "row_ram_words", "program_row",
           "program_block", "stimulus_sequence", "execute", "failed_columns", "read_ram",
           "read_config", "read_status"]

_FG = FG_CONTROLLER
_INS, _OP, _BIAS, _SLAVE = (_FG.reg(n) for n in ("instruction", "op", "bias", "slave"))
_RAM = (_FG.reg("ram0"), _FG.reg("ram1"))
_CELL = _RAM[0].field("even").width


def _check(what, value, lo, hi):
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not lo <= value <= hi):
        shown = int(value) if isinstance(value, numbers.Integral) else value
        raise ValueError(f"{what} {shown!r} out of range {lo}..{hi}")
    return value


def block_instance(block: int):
    """The HICANN_MAP instance of ``FGBlockOnHICANN(block)``."""
    _check("FG block", block, 0, N_BLOCKS - 1)
    return HICANN_MAP["fg_" + BLOCK_NAMES[block]]


@dataclass(frozen=True)
class FGConfig:
    """OP and BIAS fields of one pass (defaults: halbe, §10)."""
    maxcycle: int = 255
    readtime: int = 40
    acceleratorstep: int = 9
    voltagewritetime: int = 15
    currentwritetime: int = 1
    fg_bias: int = 8
    fg_biasn: int = 5
    pulselength: int = 9
    groundvm: int = 0
    calib: int = 0

    def __post_init__(self):
        for name, value in asdict(self).items():
            reg = _OP if name in {f.name for f in _OP.fields} else _BIAS
            width = reg.field(name).width
            _check(f"FGConfig {name}", value, 0, (1 << width) - 1)

    @property
    def op_word(self) -> int:
        return _OP.encode(**{f.name: getattr(self, f.name) for f in _OP.fields})

    @property
    def bias_word(self) -> int:
        return _BIAS.encode(**{f.name: getattr(self, f.name) for f in _BIAS.fields})

    @classmethod
    def from_words(cls, op: int, bias: int) -> "FGConfig":
        return cls(**_OP.decode(op), **_BIAS.decode(bias))


COARSE = FGConfig()
FINE = FGConfig(maxcycle=10, readtime=63, acceleratorstep=63, voltagewritetime=5,
                currentwritetime=20, pulselength=1)
#: sthal's default: coarse down, coarse up, fine down, fine up (analog-core §4.1).
DEFAULT_PASSES = ((COARSE, "down"), (COARSE, "up"), (FINE, "down"), (FINE, "up"))
#: halbe set_fg_values alone: one down and one up pass with the default config.
HALBE_PASSES = ((COARSE, "down"), (COARSE, "up"))


class Write(NamedTuple):
    tag: int
    addr: int
    data: int


class Wait(NamedTuple):
    """Expected duration (PLL cycles) of the operation just started (worst case)."""
    pll_cycles: int


class Poll(NamedTuple):
    """Read ``addr`` until ``data & mask == value``."""
    tag: int
    addr: int
    mask: int
    value: int


def instruction_word(opcode: FGOpcode, row: int = 0, column: int = 0, bank: int = 0) -> int:
    """The 17-bit instruction (§10), e.g. writeDown(row 5) = 0x08005."""
    if not isinstance(opcode, FGOpcode):
        raise ValueError(f"FG opcode {opcode!r} is not one of "
                         f"{', '.join(o.name for o in FGOpcode)}")
    _check("FG row", row, 0, N_ROWS - 1)
    _check("FG column", column, 0, N_COLUMNS - 1)
    _check("FG RAM bank", bank, 0, 1)
    return _INS.encode(opcode=opcode.value, row=row, column=column, bank=bank)


def row_ram_words(values: Sequence[int]) -> list[int]:
    """The 65 RAM words of one row of 129 cell values (column 0 = shared value)."""
    if len(values) != N_COLUMNS:
        raise ValueError(f"FG row needs {N_COLUMNS} values, got {len(values)}")
    vals = [int(_check(f"FG value of column {c}", v, 0, DAC_MAX)) for c, v in enumerate(values)]
    vals.append(0)
    return [vals[2 * w] | vals[2 * w + 1] << _CELL for w in range(_RAM[0].count)]


def _slave_poll(inst) -> Poll:
    busy = _SLAVE.field("busy")
    return Poll(inst.tag, inst.address("slave"), busy.mask, 0)


def program_row(block: int, row: int, values: Sequence[int], direction: str,
                config: FGConfig = COARSE, bank: int = 0) -> list:
    """RAM load, instruction, wait hint and busy poll of one pass over one row."""
    if direction not in ("up", "down"):
        raise ValueError(f"FG programming direction {direction!r} is not 'up' or 'down'")
    inst = block_instance(block)
    opcode = FGOpcode.WRITE_UP if direction == "up" else FGOpcode.WRITE_DOWN
    word = instruction_word(opcode, row, 0, bank)
    ram = _RAM[bank].name
    ops = [Write(inst.tag, inst.address(ram, w), d) for w, d in enumerate(row_ram_words(values))]
    ops += [Write(inst.tag, inst.address("instruction"), word),
            Wait(max_programming_time(config.op_word, config.bias_word, row)),
            _slave_poll(inst)]
    return ops


def program_block(block: int, values, passes=DEFAULT_PASSES) -> list:
    """Whole-block programming sequence: ``values`` is 24 rows x 129 columns of DAC codes
    (a ``fg_layout.pack(...)[block]`` slice). Everything is checked before anything is made."""
    inst = block_instance(block)
    rows = [list(r) for r in values]
    if len(rows) != N_ROWS:
        raise ValueError(f"FG block needs {N_ROWS} rows, got {len(rows)}")
    for r, vals in enumerate(rows):
        if len(vals) != N_COLUMNS:
            raise ValueError(f"FG row {r} needs {N_COLUMNS} values, got {len(vals)}")
    if not passes:
        raise ValueError("at least one programming pass is needed")
    ops = []
    for config, direction in passes:
        if not isinstance(config, FGConfig):
            raise ValueError(f"pass config {config!r} is not an FGConfig")
        ops += [Write(inst.tag, inst.address("op"), config.op_word),
                Write(inst.tag, inst.address("bias"), config.bias_word)]
        for r, vals in enumerate(rows):
            ops += program_row(block, r, vals, direction, config, bank=r % 2)
    return ops


def stimulus_sequence(block: int, values: Sequence[int], continuous: bool = True,
                      config: FGConfig = COARSE) -> list:
    """Current stimulus: BIAS (pulselength), the 129 values into RAM bank 0, the instruction."""
    inst = block_instance(block)
    opcode = FGOpcode.STIMULATE_CONTINUOUS if continuous else FGOpcode.STIMULATE
    ops = [Write(inst.tag, inst.address("bias"), config.bias_word)]
    ops += [Write(inst.tag, inst.address("ram0", w), d)
            for w, d in enumerate(row_ram_words(values))]
    ops.append(Write(inst.tag, inst.address("instruction"), instruction_word(opcode)))
    if not continuous:
        ops += [Wait(4 * N_COLUMNS * (config.pulselength + 1)), _slave_poll(inst)]
    return ops


def execute(link, ops, max_polls: int = 1 << 20) -> list[int]:
    """Run ``ops`` on ``link``; returns the final value of every :class:`Poll`."""
    results = []
    for op in ops:
        if isinstance(op, Write):
            link.write(op.tag, op.addr, op.data)
        elif isinstance(op, Wait):
            if hasattr(link, "wait"):
                link.wait(op.pll_cycles)
        elif isinstance(op, Poll):
            for _ in range(max_polls):
                data = link.read(op.tag, op.addr)
                if data & op.mask == op.value:
                    break
            else:
                raise TimeoutError(f"tag {op.tag} address {op.addr:#06x}: no "
                                   f"{op.value:#x} under mask {op.mask:#x} after {max_polls} reads")
            results.append(data)
        else:
            raise ValueError(f"unknown FG operation {op!r}")
    return results


def read_status(link, block: int) -> dict[str, int]:
    inst = block_instance(block)
    return _SLAVE.decode(link.read(inst.tag, inst.address("slave")))


def failed_columns(link, block: int) -> list[int]:
    """After a pass with SLAVE.error set: getNextFalse until error clears or column 128."""
    inst = block_instance(block)
    out = []
    if not read_status(link, block)["error"]:
        return out
    poll = _slave_poll(inst)
    while True:
        link.write(inst.tag, inst.address("instruction"),
                   instruction_word(FGOpcode.GET_NEXT_FALSE))
        status = _SLAVE.decode(execute(link, [poll])[0])
        if not status["error"]:
            return out
        out.append(status["column"])
        if status["column"] == N_COLUMNS - 1:
            return out


def read_ram(link, block: int, bank: int = 0) -> list[int]:
    """The 129 cell values held in RAM bank ``bank`` of ``block``."""
    _check("FG RAM bank", bank, 0, 1)
    inst = block_instance(block)
    words = [link.read(inst.tag, inst.address(_RAM[bank].name, w))
             for w in range(_RAM[bank].count)]
    mask = (1 << _CELL) - 1
    return [(words[c // 2] >> (_CELL * (c % 2))) & mask for c in range(N_COLUMNS)]


def read_config(link, block: int) -> FGConfig:
    """OP and BIAS of ``block`` (the biases read back bit-reversed; undone here)."""
    inst = block_instance(block)
    op = link.read(inst.tag, inst.address("op"))
    bias = bias_readback(link.read(inst.tag, inst.address("bias")))   # an involution
    return FGConfig.from_words(op, bias)
