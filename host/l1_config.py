"""Host encoders for the layer-1 routing blocks in user coordinates (spec §2.4-2.6, §3).

Each function returns the configuration writes ``(tag, address, data)`` for one setting, encoded
exactly as the chip's registers expect (addresses and bits from :mod:`bss1.rtl.registers`, mirrors
from :mod:`bss1.models.coords`). Row-wide registers (crossbar and synapse-switch rows) are written
whole, so the functions take the complete row content.
"""

from __future__ import annotations

from enum import Enum

from ..models import coords
from ..rtl.registers import (CROSSBAR_NAMES, HICANN_MAP, REPEATER, SYNAPSE_SWITCH_NAMES)

__all__ = ["RepeaterMode", "Direction", "repeater_byte", "repeater_write", "crossbar_row_write",
           "crossbar_side_row_write", "synapse_switch_row_write", "repeater_block_config_write",
           "testport_entry_addresses", "Write"]

Write = tuple[int, int, int]   # (tag, address, data)


class RepeaterMode(Enum):
    IDLE = "idle"
    FORWARDING = "forwarding"
    INPUT = "input"          # record on the test port while forwarding
    OUTPUT = "output"        # inject from the test port / DNC merger
    LOOPBACK = "loopback"


class Direction(Enum):
    INWARD = "inward"        # bit 4: drive into this chip
    OUTWARD = "outward"      # bit 5: drive towards the neighbour chip
    BOTH = "both"            # OUTPUT mode only


def repeater_byte(mode: RepeaterMode, direction: Direction | None = None) -> int:
    """The repeater configuration byte of §2.4 (crosstalk-cancellation bits left 0)."""
    f = {x.name: x.lsb for x in REPEATER.fields}
    dirs = {None: 0, Direction.INWARD: 1 << f["dir"], Direction.OUTWARD: 1 << f["recen"],
            Direction.BOTH: (1 << f["dir"]) | (1 << f["recen"])}
    if mode is RepeaterMode.IDLE or mode is RepeaterMode.LOOPBACK:
        if direction is not None:
            raise ValueError(f"repeater mode {mode.name} takes no direction, got {direction!r}")
        return 0 if mode is RepeaterMode.IDLE else (1 << f["touten"]) | (1 << f["tinen"])
    if direction is None or (direction is Direction.BOTH and mode is not RepeaterMode.OUTPUT):
        raise ValueError(f"repeater mode {mode.name} needs direction INWARD or OUTWARD"
                         f"{' or BOTH' if mode is RepeaterMode.OUTPUT else ''}, got {direction!r}")
    extra = {RepeaterMode.FORWARDING: 0, RepeaterMode.INPUT: 1 << f["touten"],
             RepeaterMode.OUTPUT: 1 << f["tinen"]}[mode]
    return extra | dirs[direction]


def _repeater_of(line: tuple[str, int]) -> tuple[str, int]:
    kind, index = line
    if kind == "h":
        return coords.hrepeater_location(index)
    if kind == "v":
        return coords.vrepeater_location(index)
    raise ValueError(f"line kind {kind!r} not 'h' or 'v'")


def repeater_write(line: tuple[str, int], mode: RepeaterMode,
                   direction: Direction | None = None) -> Write:
    """Configure the repeater owning ``line`` = ("h", HLine) or ("v", VLine)."""
    block, address = _repeater_of(line)
    inst = HICANN_MAP[f"repeater_{block}"]
    return inst.tag, inst.address("repeater", address), repeater_byte(mode, direction)


def repeater_block_config_write(block: str, **bits: int) -> Write:
    """Write the block config register (start_tdo/tdi, dllresetb, drvresetb, ...)."""
    inst = HICANN_MAP[f"repeater_{block}"]
    return inst.tag, inst.address("config"), inst.type.reg("config").encode(**bits)


def testport_entry_addresses(block: str, port: int, entry: int) -> tuple[int, int]:
    """(low-byte, high-byte) bus addresses of test-port ``port`` entry ``entry``."""
    coords.check_range("test port", port, 0, 1)
    coords.check_range("test port entry", entry, 0, 2)
    inst = HICANN_MAP[f"repeater_{block}"]
    a = inst.address("testport", 3 * port + entry)
    return a, a + 1


def crossbar_side_row_write(hline: int, side: str, vlines: list[int]) -> Write:
    """The crossbar row word of ``side`` for HLine ``hline`` closing exactly ``vlines`` (all on
    that side)."""
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r} not 'left' or 'right'")
    row = 63 - coords._hline(hline)
    word = 0
    for v in vlines:
        s, r, bit = coords.crossbar_switch(v, hline)
        if s != side:
            raise ValueError(f"VLine {v!r} is not on the {side} side of the crossbar of HLine "
                             f"{hline}")
        assert r == row
        word |= 1 << bit
    inst = HICANN_MAP[CROSSBAR_NAMES[side]]
    return inst.tag, inst.address("row", row), word


def crossbar_row_write(hline: int, vlines: list[int]) -> list[Write]:
    """Close exactly the switches between ``hline`` and ``vlines`` (others of the row open).

    Returns one write per side (both sides are always written, so that a previous setting of the
    row is cleared).
    """
    for v in vlines:
        coords.crossbar_switch(v, hline)
    return [crossbar_side_row_write(hline, side,
                                    [v for v in vlines if (v < 128) == (side == "left")])
            for side in ("left", "right")]


def synapse_switch_row_write(side: str, line: int, vlines: list[int]) -> Write:
    """Connect exactly ``vlines`` to synapse switch row (side, driver line)."""
    half = "top" if coords.check_range("synapse switch row", line, 0, 223) < 112 else "bottom"
    word, row = 0, 111 - line if half == "top" else line - 112
    for v in vlines:
        h, r, bit = coords.synapse_switch_register(v, side, line)
        assert (h, r) == (half, row)
        word |= 1 << bit
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r} not 'left' or 'right'")
    inst = HICANN_MAP[SYNAPSE_SWITCH_NAMES[(side, half)]]
    return inst.tag, inst.address("row", row), word
