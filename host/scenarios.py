"""Named configuration scenarios of one HICANN, as lists of configuration writes.

Every scenario is built from the host encoders (user coordinates in, register words out), so the
same list drives the reference model, the RTL in amaranth.sim and the RTL under cocotb.

* :func:`l1_transmission` — the hardware L1 transmission test (spec §12.4): 8 regular background
  generators, DNC mergers passing the merger tree (slow), the 8 sending repeaters driving their
  HLines, one channel switched through the crossbar onto a VLine whose repeater records on its
  test port.
* :func:`capture_readout` / :func:`decode_capture` — reading the 3 captured test-port entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import coords
from ..rtl.registers import HICANN_MAP
from .l1_config import (Direction, RepeaterMode, crossbar_row_write, repeater_block_config_write,
                        repeater_write, testport_entry_addresses)
from .merger_tree import (BackgroundGenerator, DNCMerger, MergerConfig, MergerMode, MergerTree,
                          bg_period_for_isi, bg_writes, neuron_config_word)
from .l1_config import synapse_switch_row_write
from .synapse_driver import RowConfig, SynapseDriverConfig, encode_synapse_driver

__all__ = ["Write", "local_writes", "CaptureTap", "l1_transmission", "capture_tap",
           "arm_capture", "capture_readout", "decode_capture", "background_traffic",
           "driver_writes", "routed_traffic"]

Write = tuple[int, int, int]


def local_writes(block: str, writes) -> list[Write]:
    """Turn ``[(local address, word)]`` of one block into absolute ``(tag, address, word)``."""
    inst = HICANN_MAP[block]
    return [(inst.tag, inst.base + a, w) for a, w in writes]


@dataclass(frozen=True)
class CaptureTap:
    """Where one channel's events are recorded: VLine, its repeater block and test port."""
    channel: int
    hline: int
    vline: int
    block: str
    port: int


def capture_tap(channel: int) -> CaptureTap:
    """The VLine (first left crossbar partner of the channel's sending HLine) and its test port."""
    y = coords.sending_hline(channel)
    v = coords.crossbar_vlines(y)[0]
    block, _ = coords.vrepeater_location(v)
    return CaptureTap(channel, y, v, block, coords.testport_of_vline(v))


def background_traffic(period: int = 150, address: int = 0) -> list[Write]:
    """All 8 BGs regular at ``period`` cycles with ``address``; DNC mergers RIGHT_ONLY + slow
    (one_on_one tree: BG d reaches DNC merger d); SPL1 output released."""
    tree = MergerTree.one_on_one()
    for d in range(8):
        tree[DNCMerger(d)] = MergerConfig(MergerMode.RIGHT_ONLY, slow=True)
    nb = HICANN_MAP["neuron_builder"]
    out = [(nb.tag, nb.address("neuron_config"), neuron_config_word())]
    out += local_writes("neuron_control", tree.writes())
    bgs = [BackgroundGenerator(i, period=bg_period_for_isi(period), address=address)
           for i in range(8)]
    out += local_writes("neuron_control", bg_writes(bgs))
    return out


def l1_transmission(period: int = 150, capture_channel: int = 0) -> list[Write]:
    """The L1 transmission scenario; capture on the tap of HW channel ``capture_channel``."""
    tap = capture_tap(capture_channel)
    out: list[Write] = []
    # repeaters: drivers out of reset, DLLs in reset while configuring (halbe init order)
    for block in coords.REPEATER_BLOCKS:
        out.append(repeater_block_config_write(block, drvresetb=1, dllresetb=0))
    for c in range(8):
        out.append(repeater_write(("h", coords.sending_hline(c)), RepeaterMode.OUTPUT,
                                  Direction.INWARD))
    out += crossbar_row_write(tap.hline, [tap.vline])
    out.append(repeater_write(("v", tap.vline), RepeaterMode.INPUT, Direction.OUTWARD))
    for block in coords.REPEATER_BLOCKS:
        out.append(repeater_block_config_write(block, drvresetb=1, dllresetb=1))
    out += arm_capture(tap)
    out += background_traffic(period)
    return out


def arm_capture(tap: CaptureTap) -> list[Write]:
    """Clear and re-arm capture on the tap's test port (start_tdi 0 then 1)."""
    bit = f"start_tdi{tap.port}"
    return [repeater_block_config_write(tap.block, drvresetb=1, dllresetb=1),
            repeater_block_config_write(tap.block, drvresetb=1, dllresetb=1, **{bit: 1})]


def capture_readout(tap: CaptureTap) -> list[tuple[int, int]]:
    """``(tag, address)`` reads of the 3 captured entries (low byte, high byte each)."""
    inst = HICANN_MAP[f"repeater_{tap.block}"]
    out = []
    for e in range(3):
        lo, hi = testport_entry_addresses(tap.block, tap.port, e)
        out += [(inst.tag, lo), (inst.tag, hi)]
    return out


def decode_capture(values: list[int]) -> list[tuple[int, int]]:
    """``[(address, binary time)]`` from the 6 bytes read by :func:`capture_readout`."""
    reg = HICANN_MAP["repeater_top_left"].type.reg("testport")
    out = []
    for lo, hi in zip(values[0::2], values[1::2]):
        f = reg.decode((lo & 0xFF) | (hi & 0xFF) << 8)
        gray = f["time_lo"] | f["time_hi"] << 2
        out.append((f["addr"], coords.gray_to_binary(gray, 10)))
    return out


def driver_writes(line: int, cfg: SynapseDriverConfig) -> list[Write]:
    """Absolute configuration writes for synapse driver ``line``."""
    out = []
    for w in encode_synapse_driver(line, cfg):
        inst = HICANN_MAP[w.controller]
        out.append((inst.tag, inst.base + w.address, w.word))
    return out


def routed_traffic(period: int = 150, rows_per_channel: int = 4) -> tuple[list[Write], dict]:
    """Benchmark traffic: 8 regular BGs (period ``period``, address 16 c + 5 for HW channel c)
    through the DNC mergers and sending repeaters onto their HLines, each HLine through the
    crossbar onto a VLine, each VLine through ``rows_per_channel`` local synapse-switch rows to
    drivers in ``l1`` mode whose decoders match the address: every event strobes
    ``rows_per_channel`` drivers. Returns the writes and ``{channel: [driver lines]}``."""
    tree = MergerTree.one_on_one()
    for d in range(8):
        tree[DNCMerger(d)] = MergerConfig(MergerMode.RIGHT_ONLY, slow=True)
    nb = HICANN_MAP["neuron_builder"]
    out: list[Write] = [(nb.tag, nb.address("neuron_config"), neuron_config_word())]
    for block in coords.REPEATER_BLOCKS:
        out.append(repeater_block_config_write(block, drvresetb=1, dllresetb=1))
    out += local_writes("neuron_control", tree.writes())
    address = {c: 16 * (c % 4) + 5 for c in range(8)}
    bgs = [BackgroundGenerator(i, period=bg_period_for_isi(period),
                               address=address[coords.sw_to_hw8(i)]) for i in range(8)]
    routes: dict[int, list[int]] = {}
    for c in range(8):
        y = coords.sending_hline(c)
        v = coords.crossbar_vlines(y)[c % 4] if c < 4 else coords.crossbar_vlines(y)[4 + c % 4]
        side = "left" if v < 128 else "right"
        out.append(repeater_write(("h", y), RepeaterMode.OUTPUT, Direction.INWARD))
        out += crossbar_row_write(y, [v])
        lines = [L for L in range(224) if coords.synapse_switch_exists(v, side, L)
                 and coords.synapse_switch_target(side, L)[0] == "local"][:rows_per_channel]
        msb = address[c] >> 4
        row = RowConfig(syn_in=(1, 0), decoder=(msb, msb))
        for L in lines:
            out.append(synapse_switch_row_write(side, L, [v]))
            out += driver_writes(L, SynapseDriverConfig(enable=1, locin=1, rows=(row, row)))
        routes[c] = lines
    out += local_writes("neuron_control", bg_writes(bgs))
    return out, routes
