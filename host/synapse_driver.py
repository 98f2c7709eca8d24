"""Host-side encoder/decoder of a whole synapse-driver configuration (spec hicann-digital.md §4.2,
§4.4): SW fields (halbe ``SynapseDriver`` + ``RowConfig``) <-> the words of the three driver SRAMs
in the synapse controller's tag-1 space.

A driver on line L owns two consecutive HW rows (HW-bottom R, HW-top R + 1, see
:func:`bss1.models.coords.driver_hw_rows`) and one byte lane of them (right drivers bits [15:8],
left drivers [7:0]). The other lane of those words belongs to no driver; the encoder writes it as
0. Decoder patterns: all four in the HW-bottom row's byte, HW-top byte 0 (halbe; spec conflict
§13 #6). Rows are indexed by SW row-on-driver r (0 = SynapseRow 2L, 1 = 2L + 1); per row
``decoder[p]`` is the required L1 address bits [5:4] for column parity p (0 even, 1 odd).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, NamedTuple

from bss1.models import coords
from bss1.rtl.registers import (DRIVER_CONFIG_BOTTOM, DRIVER_CONFIG_TOP, DRIVER_DECODER,
                                DRIVER_GMAX, DRIVER_SRAMS as _SRAMS, SYNAPSE_CONTROLLER)

__all__ = ["RowConfig", "SynapseDriverConfig", "DriverSramWrite", "MODES", "driver_controller",
           "driver_sram_addresses", "encode_synapse_driver", "decode_synapse_driver"]

#: halbe convenience modes -> (enable, locin, connect_neighbor). ``disable`` clears all three.
MODES = {
    "l1": (1, 1, 0), "l1_mirror": (1, 1, 1), "mirror": (1, 0, 1), "mirror_only": (0, 0, 1),
    "listen": (1, 0, 0), "disable": (0, 0, 0),
}


def _bit(what: str, value) -> int:
    if value not in (0, 1) or not isinstance(value, (bool, int)):
        raise ValueError(f"{what} {value!r} not a bool (0 or 1)")
    return int(value)


@dataclass(frozen=True)
class RowConfig:
    """Per synapse row: synaptic-input switches, V_gmax select, gmax divisors, decoders."""

    syn_in: tuple[int, int] = (0, 0)
    selgmax: int = 0
    gmax_div: tuple[int, int] = (0, 0)
    decoder: tuple[int, int] = (0, 0)

    def validate(self, where: str = "row") -> "RowConfig":
        if len(self.syn_in) != 2 or len(self.gmax_div) != 2 or len(self.decoder) != 2:
            raise ValueError(f"{where}: syn_in, gmax_div and decoder need 2 entries each")
        for i in range(2):
            _bit(f"{where} syn_in[{i}]", self.syn_in[i])
            coords.check_range(f"{where} gmax_div[{i}]", self.gmax_div[i], 0, 15)
            coords.check_range(f"{where} decoder[{i}]", self.decoder[i], 0, 3)
        coords.check_range(f"{where} selgmax", self.selgmax, 0, 3)
        return self


@dataclass(frozen=True)
class SynapseDriverConfig:
    """One synapse driver (halbe ``SynapseDriver``); ``stp_mode`` 1 = depression."""

    enable: int = 0
    locin: int = 0
    connect_neighbor: int = 0
    stp_enable: int = 0
    stp_mode: int = 0
    stp_cap: int = 0
    rows: tuple[RowConfig, RowConfig] = field(default_factory=lambda: (RowConfig(), RowConfig()))

    def validate(self) -> "SynapseDriverConfig":
        for name in ("enable", "locin", "connect_neighbor", "stp_enable", "stp_mode"):
            _bit(name, getattr(self, name))
        coords.check_range("stp_cap", self.stp_cap, 0, 7)
        if len(self.rows) != 2:
            raise ValueError(f"rows: {len(self.rows)!r} entries, need 2")
        for r, row in enumerate(self.rows):
            if not isinstance(row, RowConfig):
                raise ValueError(f"rows[{r}] {row!r} is not a RowConfig")
            row.validate(f"rows[{r}]")
        return self

    def with_mode(self, mode: str) -> "SynapseDriverConfig":
        """A copy set to one of the halbe convenience modes (:data:`MODES`)."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} not one of {', '.join(MODES)}")
        en, loc, cn = MODES[mode]
        return replace(self, enable=en, locin=loc, connect_neighbor=cn)

    @property
    def mode(self) -> str | None:
        """The convenience mode matching (enable, locin, connect_neighbor), else ``None``."""
        key = (int(self.enable), int(self.locin), int(self.connect_neighbor))
        for name, bits in MODES.items():
            if bits == key:
                return name
        return None


class DriverSramWrite(NamedTuple):
    """One bus write: ``controller`` (HICANN_MAP tag-1 instance), local ``address``, 16-bit
    ``word``; ``lane`` 0 = bits [7:0], 1 = [15:8]; ``sram`` and HW ``row`` for information."""

    controller: str
    address: int
    word: int
    lane: int
    sram: str
    row: int


def driver_controller(line: int) -> str:
    """The synapse controller instance holding driver ``line``'s SRAM bytes."""
    coords.check_range("synapse driver line", line, 0, 223)
    return "synapse_controller_top" if line < 112 else "synapse_controller_bottom"


def driver_sram_addresses(line: int) -> list[tuple[str, int, int, str, int]]:
    """``(controller, local address, lane, sram, row)`` of the 6 SRAM words of driver ``line``,
    in the order HW-bottom/HW-top row of drv_config, drv_decoder, drv_gmax."""
    ctl = driver_controller(line)
    r_bottom, r_top, _, _ = coords.driver_hw_rows(line)
    lane = coords.driver_byte_lane(line)
    return [(ctl, SYNAPSE_CONTROLLER.reg(s).address(r), lane, s, r)
            for s in _SRAMS for r in (r_bottom, r_top)]


def _lane_word(sram: str, lane: int, byte: int) -> int:
    return SYNAPSE_CONTROLLER.reg(sram).encode(**{("high" if lane else "low"): byte})


def encode_synapse_driver(line: int, cfg: SynapseDriverConfig) -> list[DriverSramWrite]:
    """The 6 SRAM writes that configure driver ``line`` as ``cfg``."""
    cfg.validate()
    _, _, sw_b, sw_t = coords.driver_hw_rows(line)
    rb, rt = cfg.rows[sw_b], cfg.rows[sw_t]
    bytes_ = {
        ("drv_config", 0): DRIVER_CONFIG_BOTTOM.encode(
            syn_in0=rb.syn_in[0], syn_in1=rb.syn_in[1], selgmax=rb.selgmax,
            connect_neighbor=cfg.connect_neighbor, locin=cfg.locin, enable=cfg.enable,
            stp_enable=cfg.stp_enable),
        ("drv_config", 1): DRIVER_CONFIG_TOP.encode(
            syn_in0=rt.syn_in[0], syn_in1=rt.syn_in[1], selgmax=rt.selgmax,
            stp_cap=cfg.stp_cap, stp_mode=cfg.stp_mode),
        # p0 HW-bottom even, p1 HW-top even, p2 HW-bottom odd, p3 HW-top odd
        ("drv_decoder", 0): DRIVER_DECODER.encode(**{
            f"{p}_{b}": (v >> b) & 1
            for p, v in (("p0", rb.decoder[0]), ("p1", rt.decoder[0]),
                         ("p2", rb.decoder[1]), ("p3", rt.decoder[1])) for b in (0, 1)}),
        ("drv_decoder", 1): 0,
        ("drv_gmax", 0): DRIVER_GMAX.encode(div0=rb.gmax_div[0], div1=rb.gmax_div[1]),
        ("drv_gmax", 1): DRIVER_GMAX.encode(div0=rt.gmax_div[0], div1=rt.gmax_div[1]),
    }
    out = []
    for i, (ctl, addr, lane, sram, row) in enumerate(driver_sram_addresses(line)):
        out.append(DriverSramWrite(ctl, addr, _lane_word(sram, lane, bytes_[(sram, i % 2)]),
                                   lane, sram, row))
    return out


def decode_synapse_driver(line: int, words: Mapping[tuple[str, int], int]
                          | Callable[[str, int], int]) -> SynapseDriverConfig:
    """Inverse of :func:`encode_synapse_driver`: ``words`` maps ``(controller, local address)`` to
    the 16-bit word read back (or is a function of those two). The HW-top decoder byte is
    ignored (halbe)."""
    get = words if callable(words) else (lambda c, a: words[(c, a)])
    _, _, sw_b, sw_t = coords.driver_hw_rows(line)
    b = {}
    for i, (ctl, addr, lane, sram, _) in enumerate(driver_sram_addresses(line)):
        word = SYNAPSE_CONTROLLER.reg(sram).check_word(get(ctl, addr))
        b[(sram, i % 2)] = (word >> (8 * lane)) & 0xFF
    cb = DRIVER_CONFIG_BOTTOM.decode(b[("drv_config", 0)])
    ct = DRIVER_CONFIG_TOP.decode(b[("drv_config", 1)])
    dec = DRIVER_DECODER.decode(b[("drv_decoder", 0)])
    gb, gt = DRIVER_GMAX.decode(b[("drv_gmax", 0)]), DRIVER_GMAX.decode(b[("drv_gmax", 1)])

    def pat(p):
        return dec[f"{p}_0"] | (dec[f"{p}_1"] << 1)

    row_b = RowConfig((cb["syn_in0"], cb["syn_in1"]), cb["selgmax"], (gb["div0"], gb["div1"]),
                      (pat("p0"), pat("p2")))
    row_t = RowConfig((ct["syn_in0"], ct["syn_in1"]), ct["selgmax"], (gt["div0"], gt["div1"]),
                      (pat("p1"), pat("p3")))
    rows = [None, None]
    rows[sw_b], rows[sw_t] = row_b, row_t
    return SynapseDriverConfig(enable=cb["enable"], locin=cb["locin"],
                               connect_neighbor=cb["connect_neighbor"],
                               stp_enable=cb["stp_enable"], stp_mode=ct["stp_mode"],
                               stp_cap=ct["stp_cap"], rows=tuple(rows))
