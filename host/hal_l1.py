"""HALbe-like set_/get_ functions of the layer-1 routing blocks in user coordinates (spec
hicann-digital.md §2.4-§2.6 repeaters and repeater blocks, §3 crossbar and synapse switches;
host-stack.md §3.2, §4.2-§4.3).

Containers are frozen dataclasses; words come from :mod:`bss1.host.l1_config` (the encoders) and
:data:`~bss1.rtl.registers.HICANN_MAP`. Rows of switches are tuples of bools in the order of the
VLines they reach, ascending (crossbar: :func:`~bss1.models.coords.crossbar_vlines` of one side;
synapse switches: :func:`~bss1.models.coords.synapse_switch_vlines`, halbe's dense order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import coords
from ..rtl.registers import CROSSBAR_NAMES, HICANN_MAP, REPEATER, SYNAPSE_SWITCH_NAMES
from .hal_link import (Query, SramTiming, Write, block_read, block_write, run_queries,
                       sram_timing_query, sram_timing_writes)
from .l1_config import (Direction, RepeaterMode, crossbar_side_row_write, repeater_byte,
                        repeater_write, synapse_switch_row_write)

__all__ = ["HRepeaterOnHICANN", "VRepeaterOnHICANN", "RepeaterConfig", "repeater_writes",
           "repeater_query", "set_repeater", "get_repeater", "TestEvent", "RepeaterBlockConfig",
           "RepeaterBlockReadback", "repeater_block_writes", "repeater_block_query",
           "set_repeater_block", "get_repeater_block", "crossbar_row_writes", "crossbar_row_query",
           "set_crossbar_switch_row", "get_crossbar_switch_row", "syndriver_switch_row_writes",
           "syndriver_switch_row_query", "set_syndriver_switch_row", "get_syndriver_switch_row",
           "crossbar_side_vlines"]

_REP_F = {f.name: f for f in REPEATER.fields}


# -- repeaters -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HRepeaterOnHICANN:
    """The repeater of HLine ``hline`` (even: centre-left block, odd: centre-right)."""

    hline: int

    def __post_init__(self):
        coords.check_range("HRepeaterOnHICANN", self.hline, 0, 63)

    @property
    def line(self) -> tuple[str, int]:
        return "h", self.hline


@dataclass(frozen=True)
class VRepeaterOnHICANN:
    """The repeater of VLine ``vline`` (top or bottom block, §2.6)."""

    vline: int

    def __post_init__(self):
        coords.check_range("VRepeaterOnHICANN", self.vline, 0, 255)

    @property
    def line(self) -> tuple[str, int]:
        return "v", self.vline


def _repeater_coord(rep) -> tuple[str, int]:
    if not isinstance(rep, (HRepeaterOnHICANN, VRepeaterOnHICANN)):
        raise ValueError(f"repeater {rep!r} is not an HRepeaterOnHICANN or VRepeaterOnHICANN")
    return rep.line


@dataclass(frozen=True)
class RepeaterConfig:
    """halbe ``Repeater``: a mode and, where the mode has one, a direction (§2.4)."""

    mode: RepeaterMode = RepeaterMode.IDLE
    direction: Direction | None = None

    def __post_init__(self):
        repeater_byte(self.mode, self.direction)     # validates the combination

    @property
    def byte(self) -> int:
        return repeater_byte(self.mode, self.direction)

    @classmethod
    def from_byte(cls, byte: int) -> "RepeaterConfig":
        """Inverse of :attr:`byte` (crosstalk-cancellation bits 3:0 are ignored)."""
        coords.check_range("repeater byte", byte, 0, 0xFF)
        bit = {n: (byte >> f.lsb) & 1 for n, f in _REP_F.items()}
        inward, outward = bit["dir"], bit["recen"]
        direction = {(0, 0): None, (1, 0): Direction.INWARD, (0, 1): Direction.OUTWARD,
                     (1, 1): Direction.BOTH}[(inward, outward)]
        mode = {(0, 0): RepeaterMode.FORWARDING if direction else RepeaterMode.IDLE,
                (1, 0): RepeaterMode.INPUT, (0, 1): RepeaterMode.OUTPUT,
                (1, 1): RepeaterMode.LOOPBACK}[(bit["touten"], bit["tinen"])]
        try:
            return cls(mode, direction)
        except ValueError:
            raise ValueError(f"repeater byte {byte:#04x} is no repeater mode (IDLE, FORWARDING, "
                             f"INPUT, OUTPUT, LOOPBACK with their directions)") from None


def repeater_writes(rep, cfg: RepeaterConfig) -> list[Write]:
    if not isinstance(cfg, RepeaterConfig):
        raise ValueError(f"repeater config {cfg!r} is not a RepeaterConfig")
    return [repeater_write(_repeater_coord(rep), cfg.mode, cfg.direction)]


def repeater_query(rep) -> Query:
    kind, index = _repeater_coord(rep)
    block, address = (coords.hrepeater_location if kind == "h" else
                      coords.vrepeater_location)(index)
    return Query((block_read(f"repeater_{block}", "repeater", address),),
                 lambda w: RepeaterConfig.from_byte(w[0]))


def set_repeater(link, rep, cfg: RepeaterConfig) -> None:
    link.writes(repeater_writes(rep, cfg))


def get_repeater(link, rep) -> RepeaterConfig:
    return run_queries(link, [repeater_query(rep)])[0]


# -- repeater blocks -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TestEvent:
    """One test-port entry: L1 ``address`` and 10-bit ``time`` (§2.5)."""

    __test__ = False        # not a pytest test class
    address: int = 0
    time: int = 0

    def __post_init__(self):
        coords.check_range("test event address", self.address, 0, 63)
        coords.check_range("test event time", self.time, 0, 1023)


def _block_name(block: str) -> str:
    if block not in coords.REPEATER_BLOCKS:
        raise ValueError(f"repeater block {block!r} not one of "
                         f"{', '.join(coords.REPEATER_BLOCKS)}")
    return f"repeater_{block}"


def _bool2(what: str, v) -> tuple[bool, bool]:
    t = tuple(v)
    if len(t) != 2 or any(x not in (0, 1) for x in t):
        raise ValueError(f"{what} {v!r} needs 2 bools (test port 0, 1)")
    return tuple(bool(x) for x in t)


@dataclass(frozen=True)
class RepeaterBlockConfig:
    """halbe ``RepeaterBlock``: DLL / driver resets (``*_reset`` True = held in reset), test-port
    start bits, per-port playback entries (3 each, or None to leave the buffers alone), SRAM
    timing. Default: halbe's init value 0x20 (DLLs held in reset, drivers running)."""

    dll_reset: bool = True
    drv_reset: bool = False
    fextcap: tuple[bool, bool] = (False, False)
    start_tdo: tuple[bool, bool] = (False, False)
    start_tdi: tuple[bool, bool] = (False, False)
    playback: tuple | None = None
    timing: SramTiming = field(default_factory=SramTiming)

    def __post_init__(self):
        for name in ("fextcap", "start_tdo", "start_tdi"):
            object.__setattr__(self, name, _bool2(name, getattr(self, name)))
        if self.playback is not None:
            pb = tuple(tuple(p) for p in self.playback)
            if len(pb) != 2 or any(len(p) != 3 or not all(isinstance(e, TestEvent) for e in p)
                                   for p in pb):
                raise ValueError(f"playback {self.playback!r} needs 2 ports x 3 TestEvents")
            object.__setattr__(self, "playback", pb)
        if not isinstance(self.timing, SramTiming):
            raise ValueError(f"timing {self.timing!r} is not a SramTiming")

    def config_word(self) -> int:
        reg = HICANN_MAP["repeater_center_left"].type.reg("config")
        return reg.encode(dllresetb=int(not self.dll_reset), drvresetb=int(not self.drv_reset),
                          fextcap0=self.fextcap[0], fextcap1=self.fextcap[1],
                          start_tdo0=self.start_tdo[0], start_tdo1=self.start_tdo[1],
                          start_tdi0=self.start_tdi[0], start_tdi1=self.start_tdi[1])


@dataclass(frozen=True)
class RepeaterBlockReadback:
    """What a repeater block returns: SRAM timing, capture-buffer full flags and the 3 captured
    entries per port (time converted from Gray code). The config register is write-only."""

    timing: SramTiming
    full: tuple[bool, bool]
    captured: tuple[tuple[TestEvent, ...], tuple[TestEvent, ...]]


def _testport_reg(inst):
    return inst.type.reg("testport")


def repeater_block_writes(block: str, cfg: RepeaterBlockConfig) -> list[Write]:
    """Timing, playback entries (byte by byte), then the config register (whose start bits act
    on the loaded entries)."""
    name = _block_name(block)
    if not isinstance(cfg, RepeaterBlockConfig):
        raise ValueError(f"repeater block config {cfg!r} is not a RepeaterBlockConfig")
    inst = HICANN_MAP[name]
    out = sram_timing_writes(name, cfg.timing)
    if cfg.playback is not None:
        reg = _testport_reg(inst)
        for port, entries in enumerate(cfg.playback):
            for e, ev in enumerate(entries):
                word = reg.encode(addr=ev.address, time_lo=ev.time & 3, time_hi=ev.time >> 2)
                a = inst.address("testport", 3 * port + e)
                out += [(inst.tag, a, word & 0xFF), (inst.tag, a + 1, word >> 8)]
    out.append(block_write(name, "config", 0, cfg.config_word()))
    return out


def repeater_block_query(block: str) -> Query:
    name = _block_name(block)
    inst = HICANN_MAP[name]
    reg = _testport_reg(inst)
    status = inst.type.reg("status")
    ops = list(sram_timing_query(name).ops) + [block_read(name, "status")]
    for k in range(6):
        a = inst.address("testport", k)
        ops += [(inst.tag, a), (inst.tag, a + 1)]

    def decode(words):
        timing = sram_timing_query(name).decode(words[:2])
        st = status.decode(words[2])
        cap = []
        for k in range(6):
            f = reg.decode(words[3 + 2 * k] | (words[4 + 2 * k] << 8))
            cap.append(TestEvent(f["addr"], coords.gray_to_binary(f["time_lo"]
                                                                  | (f["time_hi"] << 2))))
        return RepeaterBlockReadback(timing, (bool(st["full0"]), bool(st["full1"])),
                                     (tuple(cap[:3]), tuple(cap[3:])))
    return Query(tuple(ops), decode)


def set_repeater_block(link, block: str, cfg: RepeaterBlockConfig) -> None:
    link.writes(repeater_block_writes(block, cfg))


def get_repeater_block(link, block: str) -> RepeaterBlockReadback:
    return run_queries(link, [repeater_block_query(block)])[0]


# -- crossbar and synapse-switch rows ------------------------------------------------------------
def crossbar_side_vlines(hline: int, side: str) -> list[int]:
    """The 4 VLines of ``side`` that HLine ``hline`` reaches, ascending (= row index order)."""
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r} not 'left' or 'right'")
    vs = coords.crossbar_vlines(hline)
    return sorted(vs[:4] if side == "left" else vs[4:])


def _row(what: str, row, n: int) -> tuple[bool, ...]:
    t = tuple(row)
    if len(t) != n or any(x not in (0, 1) for x in t):
        raise ValueError(f"{what} {row!r} needs {n} bools")
    return tuple(bool(x) for x in t)


def crossbar_row_writes(hline: int, side: str, row) -> list[Write]:
    """halbe ``set_crossbar_switch_row``: ``row[k]`` closes the switch to the k-th VLine of
    :func:`crossbar_side_vlines`."""
    vs = crossbar_side_vlines(hline, side)
    row = _row("crossbar row", row, 4)
    return [crossbar_side_row_write(hline, side, [v for v, on in zip(vs, row) if on])]


def crossbar_row_query(hline: int, side: str) -> Query:
    vs = crossbar_side_vlines(hline, side)
    inst = HICANN_MAP[CROSSBAR_NAMES[side]]
    bits = [coords.crossbar_switch(v, hline)[2] for v in vs]
    return Query(((inst.tag, inst.address("row", 63 - hline)),),
                 lambda w: tuple(bool(w[0] >> b & 1) for b in bits))


def set_crossbar_switch_row(link, hline: int, side: str, row) -> None:
    link.writes(crossbar_row_writes(hline, side, row))


def get_crossbar_switch_row(link, hline: int, side: str) -> tuple[bool, ...]:
    return run_queries(link, [crossbar_row_query(hline, side)])[0]


def syndriver_switch_row_writes(side: str, line: int, row) -> list[Write]:
    """halbe ``set_syndriver_switch_row``: ``row[d]`` connects the d-th VLine of
    :func:`~bss1.models.coords.synapse_switch_vlines` to switch row (side, line)."""
    vs = coords.synapse_switch_vlines(side, line)
    row = _row("synapse switch row", row, 16)
    return [synapse_switch_row_write(side, line, [v for v, on in zip(vs, row) if on])]


def syndriver_switch_row_query(side: str, line: int) -> Query:
    vs = coords.synapse_switch_vlines(side, line)
    regs = [coords.synapse_switch_register(v, side, line) for v in vs]
    half, row = regs[0][0], regs[0][1]
    inst = HICANN_MAP[SYNAPSE_SWITCH_NAMES[(side, half)]]
    return Query(((inst.tag, inst.address("row", row)),),
                 lambda w: tuple(bool(w[0] >> b & 1) for _, _, b in regs))


def set_syndriver_switch_row(link, side: str, line: int, row) -> None:
    link.writes(syndriver_switch_row_writes(side, line, row))


def get_syndriver_switch_row(link, side: str, line: int) -> tuple[bool, ...]:
    return run_queries(link, [syndriver_switch_row_query(side, line)])[0]
