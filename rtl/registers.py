"""The HICANN configuration register map, declared once (spec: hicann-digital.md §9.2 and the
block sections cited per block type).

Addresses here are hardware addresses (tag, 16-bit OCP address, local offsets); the SW (halco-like)
coordinate mirrors live in :mod:`bss1.models.coords`. Everything that needs an address or a bit
position asks these objects.
"""

from __future__ import annotations

from .regmap import AddressMap, BlockInstance, BlockType, Register, fields

__all__ = ["HICANN_MAP", "CROSSBAR", "REPEATER_BLOCK_H", "REPEATER_BLOCK_V", "NEURON_CONTROL",
           "NEURON_BUILDER", "SYNAPSE_SWITCH", "SYNAPSE_CONTROLLER", "FG_CONTROLLER", "DNC_IF",
           "SPL1_CONTROL", "CONFIG_PACKET", "DRIVER_SRAMS", "REPEATER", "NB_ENTRY", "NB_PAIR",
           "NB_PAIR_FIELDS", "NB_PAIR_ENTRY", "NB_INOUT_FLAGS", "nb_pair_entry",
           "SRAM_TIMING_READ", "SRAM_TIMING_SETUP_WRITE"]

# -- shared pieces -------------------------------------------------------------------------------

# SRAM controller timing pair, §9.2: read_delay 8 bit; {setup_precharge[7:4], write_delay[3:0]}.
def _sram_timing(offset: int) -> tuple[Register, Register]:
    return (
        Register("timing_read", offset, 8, fields(("read_delay", 0, 8)),
                 doc="SRAM read delay (core cycles)"),
        Register("timing_setup_write", offset + 1, 8,
                 fields(("write_delay", 0, 4), ("setup_precharge", 4, 4)),
                 doc="SRAM {setup_precharge, write_delay}"),
    )


SRAM_TIMING_READ, SRAM_TIMING_SETUP_WRITE = _sram_timing(0)

# -- crossbar, §3.1 ------------------------------------------------------------------------------
CROSSBAR = BlockType("crossbar", (
    Register("row", 0, 4, fields(("switches", 0, 4)), count=64,
             doc="row = HW hline (63 - HLine); bit = local_hv // 32 of the switched VLine"),
), doc="Crossbar switch block (HLine <-> VLine), spec §3.1")

# -- synapse switch, §3.2 ------------------------------------------------------------------------
SYNAPSE_SWITCH = BlockType("synapse_switch", (
    Register("row", 0, 16, fields(("switches", 0, 16)), count=112,
             doc="top blocks: address 111 - line; bottom blocks: line - 112"),
), doc="Synapse switch block (VLine -> synapse-driver input), spec §3.2")

# -- repeater blocks, §2.4-2.6 -------------------------------------------------------------------
REPEATER = Register("repeater", 0, 8, fields(
    ("len", 0, 2, "crosstalk cancellation caps (analog)"),
    ("ren", 2, 2, "crosstalk cancellation caps (analog)"),
    ("dir", 4, 1, "inward driver: drive into this chip"),
    ("recen", 5, 1, "outward driver: drive towards the neighbour chip"),
    ("tinen", 6, 1, "drive events from the test port / DNC merger onto the line"),
    ("touten", 7, 1, "copy received events to the block's test port"),
), count=64, doc="repeater config byte at the physical repeater address")


def _repeater_block(name: str, n_repeaters: int) -> BlockType:
    rep = Register(REPEATER.name, REPEATER.offset, REPEATER.width, REPEATER.fields,
                   count=n_repeaters, doc=REPEATER.doc)
    return BlockType(name, (
        rep,
        Register("config", 0x80, 8, fields(
            ("start_tdo0", 0, 1, "start playback on test port 0"),
            ("start_tdo1", 1, 1, "start playback on test port 1"),
            ("start_tdi0", 2, 1, "arm capture on test port 0 (0 clears it)"),
            ("start_tdi1", 3, 1, "arm capture on test port 1 (0 clears it)"),
            ("dllresetb", 4, 1, "0 = DLLs held in reset"),
            ("drvresetb", 5, 1, "0 = line drivers held in reset"),
            ("fextcap0", 6, 1), ("fextcap1", 7, 1),
        ), access="w", doc="block configuration (write-only)"),
        Register("status", 0x80, 8, fields(("full0", 0, 1), ("full1", 1, 1)), access="r",
                 doc="capture buffer full flags"),
        Register("testport", 0x81, 16, fields(
            ("addr", 0, 6), ("time_lo", 6, 2), ("time_hi", 8, 8)), count=6, stride=2, span=2,
            doc="test-port entry k (port k // 3, entry k % 3) spread over two byte addresses: "
                "low byte at 0x81 + 2k, high byte at 0x82 + 2k. Writes load playback, reads "
                "return capture (Gray-coded time)."),
        *_sram_timing(0xA0),
    ), doc=f"repeater block with {n_repeaters} repeaters, spec §2.5")


REPEATER_BLOCK_H = _repeater_block("repeater_block_h", 32)
REPEATER_BLOCK_V = _repeater_block("repeater_block_v", 64)

# -- neuron control (mergers, BGs, DNC mergers), §7.5 --------------------------------------------
_MERGER_BITS = "b0..b7 bg_merger[0..7], b8..b11 L0[0..3], b12 L1[0], b13 L1[1], b14 L2[0]"
NEURON_CONTROL = BlockType("neuron_control", (
    Register("merger_enable", 0, 16, fields(("mergers", 0, 15)), doc=_MERGER_BITS),
    Register("merger_select", 1, 16, fields(("mergers", 0, 15)), doc=_MERGER_BITS),
    Register("merger_slow", 2, 16, fields(("mergers", 0, 15)), doc=_MERGER_BITS),
    Register("dnc_loopback_select", 3, 16, fields(
        ("loopback", 0, 8, "loop the pair channel's output into this channel's input 1"),
        ("select", 8, 8, "DNC merger select (1 = input 1)"))),
    Register("bg_control", 4, 16, fields(
        ("enable", 0, 8, "BG enable / reset_n; rising edge loads the seed"),
        ("random", 8, 8, "random (LFSR) mode"))),
    Register("phase", 5, 16, fields(("phase", 0, 8))),
    Register("bg_seed", 6, 16, fields(("seed", 0, 16))),
    Register("bg_period", 7, 16, fields(("period", 0, 16)), count=8),
    Register("dnc_enable_slow", 15, 16, fields(("enable", 0, 8), ("slow", 8, 8))),
    Register("bg_address", 16, 16, fields(("even", 0, 6), ("odd", 8, 6)), count=4,
             doc="element j: HW BG 2j in [5:0], HW BG 2j+1 in [13:8]"),
), doc="neuron control register file, spec §7.5")

# -- neuron builder, §7.1 ------------------------------------------------------------------------
NB_ENTRY = Register("sram", 0, 25, fields(
    ("spl1_rev", 0, 6, "L1 address, bit-reversed"),
    ("nmem_top", 6, 8, "pair config of the quad's top row (entry 4q+3 only)"),
    ("nmem_bot", 14, 8, "pair config of the quad's bottom row (entry 4q+3 only)"),
    ("vertical", 22, 1, "short the top and bottom denmem of this column (bottom entry 2c "
                        "only; ignored in top entries)"),
    ("firet", 23, 1), ("fireb", 24, 1),
), count=512, doc="entry = 2 * column + (1 if top denmem else 0)")

# Pair configuration byte (§7.1): field nmem_top (quad row y = 0) / nmem_bot (row y = 1) of the
# quad's pair entry; left / right = the quad's columns 2q / 2q + 1.
NB_PAIR_FIELDS = ("nmem_top", "nmem_bot")
NB_PAIR_ENTRY = 3                             # entry 4q + 3 of quad q holds both pair bytes
NB_PAIR = Register("nb_pair", 0, NB_ENTRY.field(NB_PAIR_FIELDS[0]).width, fields(
    ("inout", 0, 3, "inout code: index into the code table of NB_INOUT_FLAGS words"),
    ("horizontal", 3, 1, "short the left and right denmem of this row"),
    ("firing_left", 4, 1, "activate_firing of the left denmem"),
    ("input_left", 5, 1, "left denmem takes fire input from the left neighbour quad"),
    ("input_right", 6, 1, "right denmem takes fire input from the right neighbour quad"),
    ("firing_right", 7, 1, "activate_firing of the right denmem"),
), doc="neuron builder pair configuration byte of one quad row")
# The four flags an inout code stands for (§7.1 "inout code").
NB_INOUT_FLAGS = Register("nb_inout_flags", 0, 4, fields(
    ("aout_right", 0, 1), ("aout_left", 1, 1), ("currentin_right", 2, 1),
    ("currentin_left", 3, 1)), doc="analog output / current input flags of a quad row")


def nb_pair_entry(quad: int) -> int:
    """Neuron builder entry holding the pair bytes of quad ``quad``."""
    return 4 * quad + NB_PAIR_ENTRY


NEURON_BUILDER = BlockType("neuron_builder", (
    NB_ENTRY,
    Register("neuron_config", 512, 17, fields(
        ("ra_fast_b", 0, 1), ("gla_fast_b", 1, 1), ("gl_fast_b", 2, 1),
        ("ra_fast_t", 3, 1), ("gla_fast_t", 4, 1), ("gl_fast_t", 5, 1),
        ("ra_slow_b", 6, 1), ("gla_slow_b", 7, 1), ("gl_slow_b", 8, 1),
        ("ra_slow_t", 9, 1), ("gla_slow_t", 10, 1), ("gl_slow_t", 11, 1),
        ("bigcap_b", 12, 1), ("bigcap_t", 13, 1),
        ("spl1_reset_n", 14, 1), ("neuron_reset_n_b", 15, 1), ("neuron_reset_n_t", 16, 1))),
    # Bit layout of the analog output mux: the spec gives only the width; one-hot selects and
    # enables as in models/analog_config.py.
    Register("output_config", 513, 22, fields(("select0", 0, 10), ("select1", 10, 10),
                                               ("enable0", 20, 1), ("enable1", 21, 1)),
             doc="analog output mux: one-hot source select and enable per output"),
    *_sram_timing(0x210),
), doc="neuron builder SRAM and config registers, spec §7.1")

# -- synapse controller (tag 1), §4.4, §6.1-6.2 ---------------------------------------------------
_DRV_DOC = "HW row R (0..223); right drivers use bits [15:8], left drivers bits [7:0]"
SYNAPSE_CONTROLLER = BlockType("synapse_controller", (
    Register("drv_config", 0x000, 16, fields(("low", 0, 8), ("high", 8, 8)), count=224,
             doc=_DRV_DOC),
    Register("drv_decoder", 0x100, 16, fields(("low", 0, 8), ("high", 8, 8)), count=224,
             doc=_DRV_DOC),
    Register("drv_gmax", 0x200, 16, fields(("low", 0, 8), ("high", 8, 8)), count=224,
             doc=_DRV_DOC),
    *_sram_timing(0x500),
    Register("ctrl", 0x4000, 32, fields(
        ("cmd", 0, 4), ("encr", 4, 1), ("continuous", 5, 1), ("newcmd", 6, 1),
        ("row", 8, 8), ("last_row", 16, 8), ("sel", 24, 3), ("without_reset", 27, 1),
        ("scc", 28, 1), ("sca", 29, 1), ("idle", 30, 1))),
    Register("cnfg", 0x4001, 32, fields(
        ("patterns", 0, 8), ("endel", 8, 4), ("predel", 12, 4), ("gen", 16, 4),
        ("dllresetb", 20, 2), ("oedel", 22, 4), ("wrdel", 26, 2))),
    Register("status", 0x4002, 32, fields(
        ("syndrv_busy", 0, 1), ("slice_busy", 1, 1), ("auto_busy", 2, 1)), access="r"),
    Register("lut", 0x4100, 32, fields(("nibbles", 0, 32)), count=6,
             doc="pairs: acausal (0,1), causal (2,3), combined (4,5)"),
    Register("synin", 0x4200, 32, fields(("data", 0, 32)), count=4),
    Register("synout", 0x4300, 32, fields(("data", 0, 32)), count=4, access="r"),
    Register("syncorr", 0x4400, 32, fields(("flags", 0, 32)), count=2, access="r"),
    Register("synrst", 0x4500, 32, fields(("mask", 0, 32))),
), doc="synapse (STDP) controller with the synapse-driver SRAMs, spec §4.4, §6")

# The three driver SRAMs of the synapse controller, in bank order (§4.4).
DRIVER_SRAMS = ("drv_config", "drv_decoder", "drv_gmax")

# Driver SRAM bytes (§4.4). HW-bottom row = even R, HW-top row = odd R of a driver.
DRIVER_CONFIG_BOTTOM = Register("drv_config_bottom", 0, 8, fields(
    ("syn_in0", 0, 1), ("syn_in1", 1, 1), ("selgmax", 2, 2), ("connect_neighbor", 4, 1),
    ("locin", 5, 1), ("enable", 6, 1), ("stp_enable", 7, 1)))
DRIVER_CONFIG_TOP = Register("drv_config_top", 0, 8, fields(
    ("syn_in0", 0, 1), ("syn_in1", 1, 1), ("selgmax", 2, 2), ("stp_cap", 4, 3),
    ("stp_mode", 7, 1)))
# Decoder byte of the HW-bottom row; p0 = HW-bottom even columns, p1 = HW-top even,
# p2 = HW-bottom odd, p3 = HW-top odd (halbe encode_preouts).
DRIVER_DECODER = Register("drv_decoder_byte", 0, 8, fields(
    ("p0_0", 0, 1), ("p1_1", 1, 1), ("p0_1", 2, 1), ("p1_0", 3, 1),
    ("p2_0", 4, 1), ("p3_1", 5, 1), ("p2_1", 6, 1), ("p3_0", 7, 1)))
DRIVER_GMAX = Register("drv_gmax_byte", 0, 8, fields(("div0", 0, 4), ("div1", 4, 4)))

# -- floating gates, §10 (gateware in a later stage; map declared now) ---------------------------
FG_CONTROLLER = BlockType("fg_controller", (
    Register("ram0", 0x000, 20, fields(("even", 0, 10), ("odd", 10, 10)), count=65),
    Register("ram1", 0x080, 20, fields(("even", 0, 10), ("odd", 10, 10)), count=65),
    Register("instruction", 0x101, 17, fields(
        ("row", 0, 5), ("column", 5, 8), ("bank", 13, 1), ("opcode", 14, 3)), access="w"),
    Register("op", 0x102, 32, fields(
        ("maxcycle", 0, 8), ("readtime", 8, 6), ("acceleratorstep", 14, 6),
        ("voltagewritetime", 20, 6), ("currentwritetime", 26, 6))),
    Register("slave", 0x104, 10, fields(("column", 0, 8), ("busy", 8, 1), ("error", 9, 1)),
             access="r"),
    Register("bias", 0x108, 14, fields(
        ("fg_bias", 0, 4), ("fg_biasn", 4, 4), ("pulselength", 8, 4), ("groundvm", 12, 1),
        ("calib", 13, 1))),
), doc="floating-gate controller, spec §10")

# -- layer-2 side, §8 (gateware in a later stage; map declared now) ------------------------------
DNC_IF = BlockType("dnc_if", (
    Register("link_control", 0, 9, fields(
        ("auto_init", 0, 1), ("init_master", 1, 1), ("proto_cfg", 2, 1), ("proto_pls", 3, 1),
        ("dc_bal_ctrl", 4, 1), ("lowspeed_mode", 5, 1), ("use_timestamp", 6, 1),
        ("loopback_en", 7, 1), ("use_speed_detect", 8, 1))),
), doc="DNC interface control, spec §8.5")

SPL1_CONTROL = BlockType("spl1_control", (
    Register("gbitlink", 0, 32, fields(
        ("enable", 0, 8), ("direction", 8, 8, "1 = TO_HICANN"), ("timestamp_enable", 16, 1),
        ("reset", 31, 1, "write 1: reset the SPL1 block")), access="w"),
    # §8.2 leaves the read side undocumented; we answer reads with the interface's loss counters.
    Register("counters", 0, 16, fields(("count", 0, 16)), count=5, access="r",
             doc="loss counters: expired, overflow, collided, rejected, tx_dropped"),
), doc="SPL1 / GbitLink control, spec §8.2")

# -- control-interface packet, §9.1 --------------------------------------------------------------
CONFIG_PACKET = Register("cip", 0, 64, fields(
    ("data", 0, 32), ("addr", 32, 16), ("write", 48, 1), ("ack", 49, 6), ("seq", 55, 6),
    ("seq_valid", 61, 1), ("tag", 62, 2)), doc="64-bit control-interface packet")

# -- the address map, §9.2 -----------------------------------------------------------------------
HICANN_MAP = AddressMap("hicann", (
    BlockInstance("crossbar_left", CROSSBAR, 0, 0x0000, 0x2000),
    BlockInstance("repeater_center_left", REPEATER_BLOCK_H, 0, 0x2000, 0x2000),
    BlockInstance("neuron_control", NEURON_CONTROL, 0, 0x4000, 0x2000),
    BlockInstance("neuron_builder", NEURON_BUILDER, 0, 0x6000, 0x2000),
    BlockInstance("fg_top_left", FG_CONTROLLER, 0, 0x8000, 0x2000),
    BlockInstance("synapse_switch_bottom_left", SYNAPSE_SWITCH, 0, 0xA000, 0x1000),
    BlockInstance("fg_bottom_left", FG_CONTROLLER, 0, 0xB000, 0x1000),
    BlockInstance("repeater_bottom_left", REPEATER_BLOCK_V, 0, 0xC000, 0x1000),
    BlockInstance("synapse_switch_top_right", SYNAPSE_SWITCH, 0, 0xD000, 0x200),
    BlockInstance("synapse_switch_bottom_right", SYNAPSE_SWITCH, 0, 0xD200, 0x200),
    BlockInstance("crossbar_right", CROSSBAR, 0, 0xD400, 0x200),
    BlockInstance("repeater_center_right", REPEATER_BLOCK_H, 0, 0xD600, 0x200),
    BlockInstance("repeater_top_right", REPEATER_BLOCK_V, 0, 0xD800, 0x200),
    BlockInstance("repeater_bottom_right", REPEATER_BLOCK_V, 0, 0xDA00, 0x200),
    BlockInstance("fg_top_right", FG_CONTROLLER, 0, 0xDC00, 0x200),
    BlockInstance("fg_bottom_right", FG_CONTROLLER, 0, 0xDE00, 0x200),
    BlockInstance("synapse_switch_top_left", SYNAPSE_SWITCH, 0, 0xE000, 0x800),
    BlockInstance("repeater_top_left", REPEATER_BLOCK_V, 0, 0xE800, 0x800),
    BlockInstance("dnc_if", DNC_IF, 0, 0xF000, 0x800),
    BlockInstance("spl1_control", SPL1_CONTROL, 0, 0xF800, 0x800),
    BlockInstance("synapse_controller_top", SYNAPSE_CONTROLLER, 1, 0x0000, 0x8000),
    BlockInstance("synapse_controller_bottom", SYNAPSE_CONTROLLER, 1, 0x8000, 0x8000),
))

# Repeater block enum order (halco RepeaterBlockOnHICANN): 0 TL, 1 TR, 2 CL, 3 CR, 4 BL, 5 BR.
REPEATER_BLOCK_NAMES = ("repeater_top_left", "repeater_top_right", "repeater_center_left",
                        "repeater_center_right", "repeater_bottom_left", "repeater_bottom_right")
# Synapse switch blocks: (side, half) -> instance. Crossbars: side -> instance.
SYNAPSE_SWITCH_NAMES = {("left", "top"): "synapse_switch_top_left",
                        ("right", "top"): "synapse_switch_top_right",
                        ("left", "bottom"): "synapse_switch_bottom_left",
                        ("right", "bottom"): "synapse_switch_bottom_right"}
CROSSBAR_NAMES = {"left": "crossbar_left", "right": "crossbar_right"}
