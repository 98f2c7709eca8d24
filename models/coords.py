"""User (halco-like, "SW") coordinates <-> hardware addresses of one HICANN.

The single place where the chip's mirrors and bit reversals are written down (spec
hicann-digital.md §2.3, §2.6, §3, §4, §7; the test vectors of §12.3 are in
``tests/test_coords.py``). Everything is a plain function of integers; errors name the value and
the allowed range.
"""

from __future__ import annotations

__all__ = [
    "check_range", "hline_hw", "vline_hw", "hline_east", "hline_west", "vline_north", "vline_south",
    "hrepeater_location", "vrepeater_location", "repeater_line", "sending_hline",
    "sending_repeater_address", "is_sending_hline", "crossbar_vlines", "crossbar_switch",
    "crossbar_hlines", "synapse_switch_exists", "synapse_switch_vlines", "synapse_switch_register",
    "synapse_switch_target", "driver_side", "driver_hw_rows", "driver_byte_lane",
    "driver_chain", "neuron_nb_address", "nb_address_neuron", "neuron_block", "pe_input",
    "sw_to_hw8", "rev_bits", "gray_to_binary", "binary_to_gray", "testport_of_hline",
    "testport_of_vline", "REPEATER_BLOCKS", "SENDING_HLINES",
    "NB_QUAD_OFFSETS", "neuron_quad_nb_address", "merger_hw_bit", "MERGER_LEVEL_SIZES",
]

N_HLINES, N_VLINES, N_DRIVER_LINES = 64, 256, 224

# RepeaterBlockOnHICANN enum order (halco): 0 TL, 1 TR, 2 CL, 3 CR, 4 BL, 5 BR.
REPEATER_BLOCKS = ("top_left", "top_right", "center_left", "center_right", "bottom_left",
                   "bottom_right")


def check_range(what: str, value, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{what} {value!r} out of range {lo}..{hi}")
    return value


def _hline(y):
    return check_range("HLine", y, 0, N_HLINES - 1)


def _vline(v):
    return check_range("VLine", v, 0, N_VLINES - 1)


# -- line numbering and continuation, §2.3 -------------------------------------------------------
def hline_hw(y: int) -> int:
    """HW horizontal bus index of HLine ``y`` (63 - y)."""
    return 63 - _hline(y)


def vline_hw(v: int) -> int:
    """HW vertical bus index of VLine ``v`` (v for the left half, 383 - v for the right half)."""
    return v if _vline(v) < 128 else 383 - v


def hline_east(y: int) -> int:
    return (_hline(y) + 2) % 64


def hline_west(y: int) -> int:
    return (_hline(y) - 2) % 64


def vline_north(v: int) -> int:
    return (_vline(v) + 2) % 128 if v < 128 else 128 + (v - 128 - 2) % 128


def vline_south(v: int) -> int:
    return (_vline(v) - 2) % 128 if v < 128 else 128 + (v - 128 + 2) % 128


# -- repeaters, §2.2, §2.6 -----------------------------------------------------------------------
def hrepeater_location(y: int) -> tuple[str, int]:
    """(block, physical address) of the repeater owning HLine ``y``."""
    if _hline(y) % 2 == 0:
        return "center_left", (62 - y) // 2
    return "center_right", ((y + 1) // 2) % 32


def vrepeater_location(v: int) -> tuple[str, int]:
    """(block, physical address) of the repeater owning VLine ``v``."""
    if _vline(v) < 128:
        if v % 2:
            return "top_left", ((v + 1) // 2) % 64
        return "bottom_left", v // 2
    if v % 2 == 0:
        return "top_right", ((256 - v) // 2) % 64
    return "bottom_right", (255 - v) // 2


def repeater_line(block: str, address: int) -> tuple[str, int]:
    """Inverse of the two location functions: ``("h"|"v", line)`` of a physical repeater."""
    if block in ("center_left", "center_right"):
        check_range(f"{block} repeater address", address, 0, 31)
        lines = range(0, 64, 2) if block == "center_left" else range(1, 64, 2)
        for y in lines:
            if hrepeater_location(y) == (block, address):
                return "h", y
    elif block in REPEATER_BLOCKS:
        check_range(f"{block} repeater address", address, 0, 63)
        for v in range(256):
            if vrepeater_location(v) == (block, address):
                return "v", v
    raise ValueError(f"repeater block {block!r} not one of {', '.join(REPEATER_BLOCKS)}")


SENDING_HLINES = tuple(6 + 8 * c for c in range(8))


def sending_hline(channel_hw: int) -> int:
    """SW HLine driven by the sending repeater fed from DNC merger (HW channel) ``c``."""
    return 6 + 8 * check_range("DNC merger (HW channel)", channel_hw, 0, 7)


def sending_repeater_address(channel_hw: int) -> int:
    """Centre-left physical address of the sending repeater of HW channel ``c``."""
    return hrepeater_location(sending_hline(channel_hw))[1]


def is_sending_hline(y: int) -> bool:
    return _hline(y) % 8 == 6


# -- crossbar, §3.1 ------------------------------------------------------------------------------
def crossbar_vlines(y: int) -> list[int]:
    """The 8 VLines HLine ``y`` can be switched to (4 left, then 4 right)."""
    _hline(y)
    return [31 - y // 2 + 32 * k for k in range(4)] + [128 + y // 2 + 32 * k for k in range(4)]


def crossbar_hlines(v: int) -> list[int]:
    """The 2 HLines VLine ``v`` can be switched to."""
    base = 2 * ((63 - _vline(v)) % 32) if v < 128 else 2 * (v % 32)
    return [base, base + 1]


def crossbar_switch(v: int, y: int) -> tuple[str, int, int]:
    """(side, register row, data bit) of the crossbar switch joining VLine ``v`` and HLine ``y``."""
    _vline(v), _hline(y)
    if v not in crossbar_vlines(y):
        raise ValueError(f"no crossbar switch between VLine {v!r} and HLine {y!r}; HLine {y} "
                         f"reaches VLines {crossbar_vlines(y)}")
    row = 63 - y
    if v < 128:
        return "left", row, (v - (31 - y // 2)) // 32
    return "right", row, 3 - (v - 128 - y // 2) // 32


# -- synapse switches, §3.2 ----------------------------------------------------------------------
def _side_half(side: str, line: int):
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r} not 'left' or 'right'")
    check_range("synapse switch row", line, 0, N_DRIVER_LINES - 1)
    return side == "left", line < 112


def synapse_switch_exists(v: int, side: str, line: int) -> bool:
    left, top = _side_half(side, line)
    if (_vline(v) < 128) != left:
        return False
    xm, ym = (v % 32) // 4, (line % 16) // 2
    return ym == xm if left == top else ym == 7 - xm


def synapse_switch_vlines(side: str, line: int) -> list[int]:
    """The 16 VLines of switch row (side, line), in the halbe dense index order d = 0..15."""
    left, _ = _side_half(side, line)
    base = 0 if left else 128
    return sorted(v for v in range(base, base + 128) if synapse_switch_exists(v, side, line))


def synapse_switch_register(v: int, side: str, line: int) -> tuple[str, int, int]:
    """(half, register row address, data bit) of the switch joining VLine ``v`` to row (side, line)."""
    if not synapse_switch_exists(v, side, line):
        raise ValueError(f"no synapse switch between VLine {v!r} and {side} row {line!r}")
    left, top = _side_half(side, line)
    d = ((v % 128) // 32) * 4 + v % 4
    row = 111 - line if top else line - 112
    return ("top" if top else "bottom"), row, (15 - d if left else d)


def synapse_switch_target(side: str, line: int) -> tuple[str, str, int]:
    """Where switch row (side, line) leads: ``("local", side, line)`` or ``("west"|"east", side, line)``
    for the driver on the same line on the other side of the neighbour chip."""
    left, top = _side_half(side, line)
    odd = line % 2 == 1
    local = (left and top and odd) or (not left and top and not odd) or \
        (left and not top and not odd) or (not left and not top and odd)
    if local:
        return "local", side, line
    return ("west", "right", line) if left else ("east", "left", line)


# -- synapse drivers, §4.1, §4.4 -----------------------------------------------------------------
def driver_side(line: int) -> str:
    """The side of the (unique) synapse driver on driver line ``line``."""
    check_range("synapse driver line", line, 0, N_DRIVER_LINES - 1)
    if line < 112:
        return "right" if line % 2 == 0 else "left"
    return "left" if line % 2 == 0 else "right"


def driver_hw_rows(line: int) -> tuple[int, int, int, int]:
    """(HW-bottom row R, HW-top row R+1, SW row-on-driver of HW-bottom, of HW-top) in the driver's
    synapse controller (top controller for line < 112, bottom otherwise)."""
    check_range("synapse driver line", line, 0, N_DRIVER_LINES - 1)
    if line < 112:
        return 222 - 2 * line, 223 - 2 * line, 1, 0
    r = 2 * (line - 112)
    return r, r + 1, 0, 1


def driver_byte_lane(line: int) -> int:
    """0 = bits [7:0] (left drivers), 1 = bits [15:8] (right drivers)."""
    return int(driver_side(line) == "right")


def driver_chain(side: str, half: str) -> list[int]:
    """Driver lines of one quadrant ordered outward from the chip's horizontal midline: element
    j + 1 is the neighbour that ``connect_neighbor`` of element j links to."""
    if half not in ("top", "bottom"):
        raise ValueError(f"half {half!r} not 'top' or 'bottom'")
    lines = range(111, -1, -1) if half == "top" else range(112, 224)
    return [L for L in lines if driver_side(L) == side]


# -- neurons, §7.1-7.2 ---------------------------------------------------------------------------
def neuron_nb_address(x: int, y: int) -> int:
    """Neuron-builder entry (= fire-line index) of denmem NeuronOnHICANN(x, y); y 0 = top row."""
    check_range("neuron column", x, 0, 255)
    check_range("neuron row", y, 0, 1)
    return 2 * x + (1 if y == 0 else 0)


def nb_address_neuron(n: int) -> tuple[int, int]:
    check_range("neuron builder address", n, 0, 511)
    return n // 2, 0 if n % 2 else 1


def neuron_block(n: int) -> int:
    """Neuron block (SW, 0..7; = priority encoder) of fire line / nb address ``n``."""
    return check_range("neuron builder address", n, 0, 511) // 64


def pe_input(n: int) -> int:
    """Input index (0..63, lowest wins) of fire line ``n`` at its block's priority encoder."""
    return check_range("neuron builder address", n, 0, 511) % 64


def sw_to_hw8(i: int) -> int:
    """The 7 - i mirror of all 8-element digital blocks (mergers, BGs, DNC channels, links)."""
    return 7 - check_range("index", i, 0, 7)


# -- bit tricks ----------------------------------------------------------------------------------
_REV_TABLES: dict[int, tuple[int, ...]] = {}


def rev_bits(value: int, width: int) -> int:
    """``value`` with its ``width`` low bits in reverse order (tables for widths up to 12)."""
    table = _REV_TABLES.get(width)
    if table is None and 0 < width <= 12:
        table = _REV_TABLES[width] = tuple(int(format(v, f"0{width}b")[::-1], 2)
                                           for v in range(1 << width))
    if table is not None and 0 <= value < len(table):
        return table[value]
    return int(format(value, f"0{width}b")[::-1], 2)


def gray_to_binary(g: int, width: int = 10) -> int:
    b = 0
    for i in reversed(range(width)):
        b |= (((b >> (i + 1)) & 1) ^ ((g >> i) & 1)) << i
    return b


def binary_to_gray(b: int) -> int:
    return b ^ (b >> 1)


# -- test ports, §2.5 ----------------------------------------------------------------------------
def testport_of_hline(y: int) -> int:
    return (1, 1, 0, 0)[_hline(y) % 4]


def testport_of_vline(v: int, *, v2_swap: bool = True) -> int:
    """Test port of the repeater of VLine ``v``. With ``v2_swap`` (HICANN v2), ports of the bottom
    blocks are swapped (spec conflict #10: we model the silicon, halco's formula is without it)."""
    channel = v if _vline(v) < 128 else 383 - v
    port = 1 - ((channel // 2) % 2)
    block = vrepeater_location(v)[0]
    if v2_swap and block.startswith("bottom"):
        port = 1 - port
    return port


# -- neuron quads and the merger tree, §7.1, §7.5 ------------------------------------------------
#: Neuron-builder entry offset inside quad q (entry 4q + offset) of NeuronOnQuad enum y * 2 + x.
NB_QUAD_OFFSETS = (1, 3, 0, 2)


def neuron_quad_nb_address(quad: int, neuron_on_quad: int) -> int:
    """Neuron-builder entry of NeuronOnQuad ``neuron_on_quad`` (= y * 2 + x) in quad ``quad``."""
    check_range("neuron quad", quad, 0, 127)
    return 4 * quad + NB_QUAD_OFFSETS[check_range("neuron on quad", neuron_on_quad, 0, 3)]


#: Number of SW mergers per tree level: Merger0..Merger3OnHICANN.
MERGER_LEVEL_SIZES = (8, 4, 2, 1)


def merger_hw_bit(level: int, index: int) -> int:
    """Bit of SW merger ``Merger<level>(index)`` in the neuron-control merger registers (§7.5):
    Merger0(i) -> 7 - i, Merger1(j) -> 11 - j, Merger2(j) -> 13 - j, Merger3 -> 14."""
    check_range("merger level", level, 0, 3)
    check_range(f"Merger{level} index", index, 0, MERGER_LEVEL_SIZES[level] - 1)
    return (7, 11, 13, 14)[level] - index
