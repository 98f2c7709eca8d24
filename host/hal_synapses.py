"""HALbe-like set_/get_ functions of the synapse side in user coordinates: synapse drivers (driver
SRAMs), the synapse (STDP) controller (CNFG, CTRL, LUTs, SYNRST) and the synapse array's weights
and decoders through the controller's command sequences (spec hicann-digital.md §4.4, §5, §6;
host-stack.md §3.2).

Weights and decoders (§5.4): a row is written per column set s = 0..7 as SYNIN[0..3] followed by
CTRL {WRITE/WDEC, row, sel s, newcmd}; read as CTRL START_READ/START_RDEC, then per column set
CTRL READ/RDEC and SYNOUT[0..3], then CLOSE_ROW. After each command the controller needs
``cycles_synarray`` clock cycles (§6.3); as halbe, the host waits by sending ceil(cycles / 2)
dummy writes of the CNFG register (§6.6), so a sequence needs the controller's
:class:`SynapseControllerConfig` (its CNFG timings, and the word the dummies rewrite).

Choices: CNFG evaluation-pattern bits follow halbe (pattern 0 on the odd bits 7, 5, 3, 1; spec
conflict §13 #3); SYNRST is one 32-bit register (halbe, conflict #5); the driver decoder byte of the
HW-top row is written 0 (halbe, conflict #6, in :mod:`bss1.host.synapse_driver`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..models import coords
from ..rtl.registers import HICANN_MAP, SYNAPSE_CONTROLLER
from .hal_link import (Query, SramTiming, Write, run_queries, sram_timing_query,
                       sram_timing_writes)
from .synapse_driver import (SynapseDriverConfig, decode_synapse_driver, driver_controller,
                             driver_sram_addresses, encode_synapse_driver)

__all__ = ["CONTROLLERS", "synapse_driver_writes", "synapse_driver_query", "set_synapse_driver",
           "get_synapse_driver", "STDPLUT", "SynapseControllerConfig", "SynCmd",
           "synapse_controller_writes", "synapse_controller_query", "set_synapse_controller",
           "get_synapse_controller", "driver_controller", "ctrl_word", "cycles_synarray", "lut_words",
           "lut_from_words", "synapse_row_location", "weight_word", "weights_from_words",
           "weights_row_writes", "weights_row_query", "set_weights_row", "get_weights_row",
           "decoder_words", "decoders_from_words", "decoder_double_row_writes",
           "decoder_double_row_query", "set_decoder_double_row", "get_decoder_double_row"]

CONTROLLERS = ("synapse_controller_top", "synapse_controller_bottom")
_CTRL = SYNAPSE_CONTROLLER.reg("ctrl")
_CNFG = SYNAPSE_CONTROLLER.reg("cnfg")


def _controller(name: str) -> str:
    if name not in CONTROLLERS:
        raise ValueError(f"synapse controller {name!r} not one of {', '.join(CONTROLLERS)}")
    return name


# -- synapse drivers (§4.4) ----------------------------------------------------------------------
def synapse_driver_writes(line: int, cfg: SynapseDriverConfig) -> list[Write]:
    """halbe ``set_synapse_driver``: the 6 driver-SRAM words of driver ``line``."""
    if not isinstance(cfg, SynapseDriverConfig):
        raise ValueError(f"synapse driver config {cfg!r} is not a SynapseDriverConfig")
    return [(HICANN_MAP[w.controller].tag, HICANN_MAP[w.controller].base + w.address, w.word)
            for w in encode_synapse_driver(line, cfg)]


def synapse_driver_query(line: int) -> Query:
    """Driver SRAM words are read in two accesses (the first returns the read latch, §9.3), so
    each address is read twice and the second answer is kept."""
    addrs = [(HICANN_MAP[c].tag, HICANN_MAP[c].base + a, c, a)
             for c, a, _, _, _ in driver_sram_addresses(line)]
    ops = tuple(op for t, a, _, _ in addrs for op in ((t, a), (t, a)))

    def decode(w):
        words = {(c, la): w[2 * i + 1] for i, (_, _, c, la) in enumerate(addrs)}
        return decode_synapse_driver(line, words)
    return Query(ops, decode)


def set_synapse_driver(link, line: int, cfg: SynapseDriverConfig) -> None:
    link.writes(synapse_driver_writes(line, cfg))


def get_synapse_driver(link, line: int) -> SynapseDriverConfig:
    return run_queries(link, [synapse_driver_query(line)])[0]


# -- controller commands and CNFG (§6.2, §6.3) ---------------------------------------------------
class SynCmd:
    """Command codes of CTRL.cmd (§6.3)."""

    IDLE, READ, START_RDEC, WRITE, AUTO, WDEC, RDEC, START_READ = 0, 1, 2, 3, 4, 5, 6, 7
    CLOSE_ROW, RST_CORR = 9, 10


def _identity():
    return tuple(range(16))


@dataclass(frozen=True)
class STDPLUT:
    """The three weight-update LUTs, logical view (``causal[w]`` = new weight; §6.4). Default:
    causal w -> min(w + 1, 15), acausal w -> max(w - 1, 0), combined identity."""

    causal: tuple = tuple(min(w + 1, 15) for w in range(16))
    acausal: tuple = tuple(max(w - 1, 0) for w in range(16))
    combined: tuple = field(default_factory=_identity)

    def __post_init__(self):
        for name in ("causal", "acausal", "combined"):
            t = tuple(getattr(self, name))
            if len(t) != 16:
                raise ValueError(f"STDP LUT {name} needs 16 entries, got {len(t)}")
            for i, v in enumerate(t):
                coords.check_range(f"STDP LUT {name}[{i}]", v, 0, 15)
            object.__setattr__(self, name, t)


def _rev4(x: int) -> int:
    return coords.rev_bits(x, 4)


def lut_words(lut: STDPLUT) -> list[int]:
    """The 6 LUT register words: pairs acausal (0, 1), causal (2, 3), combined (4, 5); register
    2p + k, nibble n from the MSB = physical entry 8k + n, LUT_phys[i] = rev4(lut[rev4(i)])."""
    out = []
    for table in (lut.acausal, lut.causal, lut.combined):
        for k in range(2):
            out.append(sum(_rev4(table[_rev4(8 * k + n)]) << (28 - 4 * n) for n in range(8)))
    return out


def lut_from_words(words) -> STDPLUT:
    tables = []
    for p in range(3):
        t = [0] * 16
        for k in range(2):
            for n in range(8):
                t[_rev4(8 * k + n)] = _rev4(words[2 * p + k] >> (28 - 4 * n) & 0xF)
        tables.append(tuple(t))
    return STDPLUT(causal=tables[1], acausal=tables[0], combined=tables[2])


@dataclass(frozen=True)
class SynapseControllerConfig:
    """halbe ``SynapseController`` settings of one controller: CNFG (evaluation patterns as 4-bit
    codes {cc, ca, ac, aa} = bits 3..0, delays, per-slice ``gen``, driver DLL reset per side),
    the STDP LUTs, SYNRST and the driver-SRAM timing. Defaults are halbe's (CNFG 0x0BC0FF00 with
    the DLLs held in reset)."""

    pattern0: int = 0
    pattern1: int = 0
    enable_delay: int = 15
    setup_precharge: int = 15
    gen: int = 0
    dll_reset: bool = True
    output_delay: int = 15
    write_delay: int = 2
    lut: STDPLUT = field(default_factory=STDPLUT)
    syn_rst: int = 0
    timing: SramTiming = field(default_factory=SramTiming)

    def __post_init__(self):
        coords.check_range("STDP pattern0", self.pattern0, 0, 15)
        coords.check_range("STDP pattern1", self.pattern1, 0, 15)
        coords.check_range("CNFG enable_delay", self.enable_delay, 0, 15)
        coords.check_range("CNFG setup_precharge", self.setup_precharge, 0, 15)
        coords.check_range("CNFG gen", self.gen, 0, 15)
        coords.check_range("CNFG output_delay", self.output_delay, 0, 15)
        coords.check_range("CNFG write_delay", self.write_delay, 0, 3)
        coords.check_range("SYNRST mask", self.syn_rst, 0, 0xFFFF_FFFF)
        if self.dll_reset not in (0, 1):
            raise ValueError(f"dll_reset {self.dll_reset!r} not a bool")
        if not isinstance(self.lut, STDPLUT) or not isinstance(self.timing, SramTiming):
            raise ValueError("lut must be an STDPLUT and timing a SramTiming")

    def cnfg_word(self) -> int:
        patterns = 0
        for b in range(4):        # pattern 0 on odd bits 2b + 1, pattern 1 on even bits 2b
            patterns |= (self.pattern0 >> b & 1) << (2 * b + 1) | (self.pattern1 >> b & 1) << 2 * b
        return _CNFG.encode(patterns=patterns, endel=self.enable_delay,
                            predel=self.setup_precharge, gen=self.gen,
                            dllresetb=0 if self.dll_reset else 3, oedel=self.output_delay,
                            wrdel=self.write_delay)

    @classmethod
    def from_words(cls, cnfg: int, luts, syn_rst: int, timing: SramTiming):
        f = _CNFG.decode(cnfg)
        p0 = sum((f["patterns"] >> (2 * b + 1) & 1) << b for b in range(4))
        p1 = sum((f["patterns"] >> (2 * b) & 1) << b for b in range(4))
        if f["dllresetb"] not in (0, 3):
            raise ValueError(f"CNFG {cnfg:#010x}: dllresetb {f['dllresetb']:#04b} releases only "
                             f"one driver side (SynapseControllerConfig holds both or none)")
        return cls(p0, p1, f["endel"], f["predel"], f["gen"], f["dllresetb"] == 0, f["oedel"],
                   f["wrdel"], lut_from_words(luts), syn_rst, timing)


def ctrl_word(cmd: int, row: int = 0, sel: int = 0, *, last_row: int = 0, encr: bool = False,
              continuous: bool = False, without_reset: bool = False, scc: bool = False,
              sca: bool = False) -> int:
    """A CTRL word issuing ``cmd`` (newcmd = 1)."""
    coords.check_range("synapse controller command", cmd, 0, 15)
    coords.check_range("synapse controller row", row, 0, 223)
    coords.check_range("synapse controller last_row", last_row, 0, 223)
    coords.check_range("column set", sel, 0, 7)
    return _CTRL.encode(cmd=cmd, encr=encr, continuous=continuous, newcmd=1, row=row,
                        last_row=last_row, sel=sel, without_reset=without_reset, scc=scc, sca=sca)


def cycles_synarray(cmd: int, cfg: SynapseControllerConfig) -> int:
    """Busy cycles of a synapse-array command (halbe cycles_synarray, §6.3)."""
    start = cfg.setup_precharge + cfg.enable_delay + 4
    read = cfg.output_delay + 3
    write = cfg.write_delay + 4
    table = {SynCmd.IDLE: 0, SynCmd.START_READ: start, SynCmd.START_RDEC: start,
             SynCmd.READ: read, SynCmd.RDEC: read, SynCmd.WRITE: write, SynCmd.WDEC: write,
             SynCmd.CLOSE_ROW: 3, SynCmd.RST_CORR: cfg.output_delay + 6}
    if cmd not in table:
        raise ValueError(f"synapse controller command {cmd!r} has no fixed duration; commands: "
                         f"{sorted(table)}")
    return table[cmd]


def _reg(ctl: str, name: str, index: int = 0):
    inst = HICANN_MAP[ctl]
    return inst.tag, inst.address(name, index)


def _command(ctl: str, cmd: int, row: int, sel: int, cfg: SynapseControllerConfig) -> list:
    """CTRL write of ``cmd`` and the dummy CNFG writes that wait for it (§6.6)."""
    ops = [(*_reg(ctl, "ctrl"), ctrl_word(cmd, row, sel))]
    ops += [(*_reg(ctl, "cnfg"), cfg.cnfg_word())] * math.ceil(cycles_synarray(cmd, cfg) / 2)
    return ops


def synapse_controller_writes(ctl: str, cfg: SynapseControllerConfig) -> list[Write]:
    """halbe ``set_synapse_controller``: SRAM timing, CNFG, the 6 LUT words, SYNRST."""
    _controller(ctl)
    if not isinstance(cfg, SynapseControllerConfig):
        raise ValueError(f"synapse controller config {cfg!r} is not a SynapseControllerConfig")
    out = sram_timing_writes(ctl, cfg.timing)
    out.append((*_reg(ctl, "cnfg"), cfg.cnfg_word()))
    out += [(*_reg(ctl, "lut", k), w) for k, w in enumerate(lut_words(cfg.lut))]
    out.append((*_reg(ctl, "synrst"), cfg.syn_rst))
    return out


def synapse_controller_query(ctl: str) -> Query:
    _controller(ctl)
    timing_q = sram_timing_query(ctl)
    ops = (*timing_q.ops, _reg(ctl, "cnfg"), *(_reg(ctl, "lut", k) for k in range(6)),
           _reg(ctl, "synrst"))
    return Query(ops, lambda w: SynapseControllerConfig.from_words(
        w[2], w[3:9], w[9], timing_q.decode(w[:2])))


def set_synapse_controller(link, ctl: str, cfg: SynapseControllerConfig) -> None:
    link.writes(synapse_controller_writes(ctl, cfg))


def get_synapse_controller(link, ctl: str) -> SynapseControllerConfig:
    return run_queries(link, [synapse_controller_query(ctl)])[0]


# -- synapse array: weights (§5.1, §5.2, §5.4) ---------------------------------------------------
def synapse_row_location(row: int) -> tuple[str, int]:
    """(controller, HW row R) of SynapseRowOnHICANN ``row`` (0..447; 0..223 top array)."""
    coords.check_range("SynapseRowOnHICANN", row, 0, 447)
    if row < 224:
        return "synapse_controller_top", 223 - row
    return "synapse_controller_bottom", row - 224


def weight_word(values, slice_: int, column_set: int) -> int:
    """SYNIN/SYNOUT word ``slice_`` of ``column_set``: column 64 i + 8 s + j at bits
    [31-4j:28-4j], the 4-bit value bit-reversed."""
    return sum(_rev4(values[64 * slice_ + 8 * column_set + j]) << (28 - 4 * j) for j in range(8))


def weights_from_words(words_by_set) -> tuple[int, ...]:
    """Inverse of :func:`weight_word` over 8 column sets x 4 words."""
    out = [0] * 256
    for s, words in enumerate(words_by_set):
        for i, w in enumerate(words):
            for j in range(8):
                out[64 * i + 8 * s + j] = _rev4(w >> (28 - 4 * j) & 0xF)
    return tuple(out)


def _nibbles(what: str, values) -> tuple[int, ...]:
    t = tuple(values)
    if len(t) != 256:
        raise ValueError(f"{what} needs 256 values (one per column), got {len(t)}")
    for c, v in enumerate(t):
        coords.check_range(f"{what}[{c}]", v, 0, 15)
    return t


def _row_writes(ctl, hw_row, values, cmd, cfg):
    out = []
    for s in range(8):
        out += [(*_reg(ctl, "synin", i), weight_word(values, i, s)) for i in range(4)]
        out += _command(ctl, cmd, hw_row, s, cfg)
    return out


def _row_read_ops(ctl, hw_row, start, cmd, cfg):
    ops = _command(ctl, start, hw_row, 0, cfg)
    for s in range(8):
        ops += _command(ctl, cmd, hw_row, s, cfg)
        ops += [_reg(ctl, "synout", i) for i in range(4)]
    ops += _command(ctl, SynCmd.CLOSE_ROW, hw_row, 0, cfg)
    return ops


def _sets(w):
    return [w[4 * s:4 * s + 4] for s in range(8)]


def weights_row_writes(row: int, weights, cfg: SynapseControllerConfig | None = None) \
        -> list[Write]:
    """halbe ``set_weights_row``: 256 4-bit weights of SynapseRowOnHICANN ``row``."""
    ctl, hw = synapse_row_location(row)
    return _row_writes(ctl, hw, _nibbles("weights", weights), SynCmd.WRITE,
                       cfg or SynapseControllerConfig())


def weights_row_query(row: int, cfg: SynapseControllerConfig | None = None) -> Query:
    ctl, hw = synapse_row_location(row)
    ops = _row_read_ops(ctl, hw, SynCmd.START_READ, SynCmd.READ, cfg or SynapseControllerConfig())
    return Query(tuple(ops), lambda w: weights_from_words(_sets(w)))


def set_weights_row(link, row: int, weights, cfg: SynapseControllerConfig | None = None) -> None:
    link.writes(weights_row_writes(row, weights, cfg))


def get_weights_row(link, row: int, cfg: SynapseControllerConfig | None = None) \
        -> tuple[int, ...]:
    return run_queries(link, [weights_row_query(row, cfg)])[0]


# -- synapse array: decoders (§5.3) --------------------------------------------------------------
# Nibble bit (3 = MSB, at 31-4j) -> (row, decoder bit); row "B" = HW-bottom, "T" = HW-top.
_DEC_TOP_WORD = (("T", 3), ("B", 2), ("T", 2), ("B", 3))      # nibble bits 0..3
_DEC_BOTTOM_WORD = (("T", 1), ("B", 0), ("T", 0), ("B", 1))


def decoder_words(bottom, top) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Nibbles (per column, before the slice packing of :func:`weight_word`) of the HW-bottom and
    HW-top row words for decoders ``bottom`` / ``top`` (256 each): HW-top word B3 T2 B2 T3, HW-bottom
    word B1 T0 B0 T1, listed from bit 31-4j down; values are stored so that :func:`weight_word`'s
    reversal lands them there."""
    rows = {"B": bottom, "T": top}
    out = []
    for layout in (_DEC_BOTTOM_WORD, _DEC_TOP_WORD):
        nib = []
        for c in range(256):
            n = sum((rows[r][c] >> b & 1) << k for k, (r, b) in enumerate(layout))
            nib.append(_rev4(n))       # weight_word reverses again: nibble bit k at 28-4j+k
        out.append(tuple(nib))
    return out[0], out[1]


def decoders_from_words(bottom_nibbles, top_nibbles) -> tuple[tuple[int, ...], tuple[int, ...]]:
    bottom, top = [0] * 256, [0] * 256
    rows = {"B": bottom, "T": top}
    for layout, nibbles in ((_DEC_BOTTOM_WORD, bottom_nibbles), (_DEC_TOP_WORD, top_nibbles)):
        for c in range(256):
            n = _rev4(nibbles[c])
            for k, (r, b) in enumerate(layout):
                rows[r][c] |= (n >> k & 1) << b
    return tuple(bottom), tuple(top)


def _driver_rows(line: int):
    ctl = driver_controller(line)
    r_bottom, r_top, sw_b, sw_t = coords.driver_hw_rows(line)
    return ctl, r_bottom, r_top, sw_b, sw_t


def decoder_double_row_writes(line: int, decoders, cfg: SynapseControllerConfig | None = None) \
        -> list[Write]:
    """halbe ``set_decoder_double_row``: ``decoders[r]`` (r = SW row-on-driver 0, 1; 256 4-bit
    synapse decoders each) of the two rows of driver ``line``, written as a pair (§5.3)."""
    ctl, r_bottom, r_top, sw_b, sw_t = _driver_rows(line)
    d = tuple(decoders)
    if len(d) != 2:
        raise ValueError(f"decoder double row needs 2 rows, got {len(d)}")
    d = (_nibbles("decoders[0]", d[0]), _nibbles("decoders[1]", d[1]))
    nb, nt = decoder_words(d[sw_b], d[sw_t])
    cfg = cfg or SynapseControllerConfig()
    return (_row_writes(ctl, r_bottom, nb, SynCmd.WDEC, cfg)
            + _row_writes(ctl, r_top, nt, SynCmd.WDEC, cfg))


def decoder_double_row_query(line: int, cfg: SynapseControllerConfig | None = None) -> Query:
    ctl, r_bottom, r_top, sw_b, sw_t = _driver_rows(line)
    cfg = cfg or SynapseControllerConfig()
    ops = (_row_read_ops(ctl, r_bottom, SynCmd.START_RDEC, SynCmd.RDEC, cfg)
           + _row_read_ops(ctl, r_top, SynCmd.START_RDEC, SynCmd.RDEC, cfg))

    def decode(w):
        bottom, top = decoders_from_words(weights_from_words(_sets(w[:32])),
                                          weights_from_words(_sets(w[32:])))
        rows = [None, None]
        rows[sw_b], rows[sw_t] = bottom, top
        return tuple(rows)
    return Query(tuple(ops), decode)


def set_decoder_double_row(link, line: int, decoders,
                           cfg: SynapseControllerConfig | None = None) -> None:
    link.writes(decoder_double_row_writes(line, decoders, cfg))


def get_decoder_double_row(link, line: int, cfg: SynapseControllerConfig | None = None):
    return run_queries(link, [decoder_double_row_query(line, cfg)])[0]
