"""Register side of one synapse (STDP) controller: the three synapse-driver SRAMs behind their
SRAM sequencer, and the controller's register file (spec hicann-digital.md §4.4, §6.1, §6.2,
§6.6, §9.2; conflicts §13 #6 and #15).

One instance serves one synapse array: ``half="top"`` (driver lines 0..111, bus instance
``synapse_controller_top``) or ``half="bottom"`` (lines 112..223). All addresses and bit positions
come from :data:`bss1.rtl.registers.SYNAPSE_CONTROLLER`; the slave sees local addresses.

Driver SRAMs (``drv_config``, ``drv_decoder``, ``drv_gmax``; 224 x 16 bit each)
---------------------------------------------------------------------------------
Every SRAM access runs the SRAM sequencer for a fixed number of core cycles (§9.2):

* write: ``setup_precharge + 2 + write_delay + 2`` cycles, read: ``setup_precharge + 2 +
  read_delay + 2`` cycles, timings taken from ``timing_read`` / ``timing_setup_write`` at the
  moment the access is accepted;
* ``STATUS.syndrv_busy`` (and the ``syndrv_busy`` port) is 1 during exactly those cycles: the
  cycles ``do + 1 .. do + cost`` where ``do`` is the cycle in which the bus access is served;
* a bus access to an SRAM address while the sequencer is busy stalls (``ack`` is delayed) until
  the sequencer is idle, so no access is ever lost. Other registers are served while busy;
* a write is acknowledged at once (posted) and lands in the SRAM in the last busy cycle: the
  SRAM word and the driver settings derived from it (``drivers`` port) change at the clock edge
  that ends the busy period, i.e. they are visible from cycle ``do + cost + 1`` on;
* **two-access read**: every read of an SRAM address returns the current content of the
  read-data latch and starts an SRAM read of the addressed word into the latch (completing, like
  a write, at the end of the busy period). Reading the same address twice therefore returns the
  word on the second access; reading A, B, C, C returns (stale, A, B, C).

Power-up timing (spec conflict §13 #15): the reset values are the chip's power-up defaults
``read_delay = 8, setup_precharge = 1, write_delay = 1`` (costs: write 6, read 13 cycles); host
software writes (64, 8, 8) itself. The SRAM content powers up as 0 (all drivers disabled); a
reset does not clear the SRAM (nor its mirrors, below).

The driver logic needs enable/locin/connect_neighbor and the decoder patterns of all 112 drivers
in parallel, so they are kept in mirror flip-flops (11 bits per driver) next to the SRAM, written
in the same clock edge as the SRAM word. Only the HW-bottom row's bytes matter for them; the
decoder byte of the HW-top row is stored but ignored (spec conflict §13 #6: we follow halbe, which
keeps all four patterns in the HW-bottom byte).

Register file (§6.1, §6.2)
--------------------------
CTRL, CNFG (reset 0x0BC0FF00 = halbe default, DLLs in reset), LUT x6, SYNIN x4 and SYNRST are
32-bit readable storage. CTRL reads back with ``cmd`` forced to IDLE (0) and ``idle`` from the
command sequencer (as the hardware test ``tmsf_stdpctrl`` expects). STATUS is read-only
(``syndrv_busy``, ``slice_busy``, ``auto_busy``); SYNOUT and SYNCORR are read-only. Unmapped
local addresses and writes to read-only registers answer ``err`` = 1 and change nothing.

Command sequencer
-----------------
This class has none: commands written to CTRL are stored but have no effect, ``slice_busy`` and
``auto_busy`` read 0, ``idle`` reads 1 and SYNOUT / SYNCORR read 0. The subclass
:class:`bss1.rtl.synapse_controller.SynapseController` plugs the sequencer (§6.3-6.5) and the
synapse-array access port in through :meth:`SynapseControllerRegs.elaborate_sequencer`.
"""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from bss1.models import coords

from .bus import BusSignature, register_hit, slave_access
from .registers import DRIVER_CONFIG_BOTTOM, DRIVER_DECODER, DRIVER_SRAMS, SYNAPSE_CONTROLLER

__all__ = ["DriverSetting", "SynapseControllerRegs", "SequencerRegs", "SequencerOutputs",
           "DRIVER_SRAMS", "CNFG_RESET",
           "TIMING_READ_RESET", "TIMING_SETUP_WRITE_RESET", "HALVES", "half_lines",
           "sram_write_cost", "sram_read_cost", "decoder_strobe_bits"]

HALVES = ("top", "bottom")
DRIVERS_PER_HALF = 112

#: The three driver SRAMs in memory-bank order.

_CTRL = SYNAPSE_CONTROLLER.reg("ctrl")
_CNFG = SYNAPSE_CONTROLLER.reg("cnfg")
_STATUS = SYNAPSE_CONTROLLER.reg("status")
_T_READ = SYNAPSE_CONTROLLER.reg("timing_read")
_T_SW = SYNAPSE_CONTROLLER.reg("timing_setup_write")

#: CNFG reset value: halbe's default with the DLLs held in reset (= 0x0BC0FF00).
CNFG_RESET = _CNFG.encode(endel=15, predel=15, oedel=15, wrdel=2)
#: Chip power-up SRAM timings (spec conflict §13 #15): read_delay 8, setup 1, write_delay 1.
TIMING_READ_RESET = _T_READ.encode(read_delay=8)
TIMING_SETUP_WRITE_RESET = _T_SW.encode(setup_precharge=1, write_delay=1)

#: Per-driver settings used by the driver logic. ``pattern[2 * r + p]`` is the value that L1
#: address bits [5:4] must have to fire strobe (row-on-driver r, column parity p).
DriverSetting = data.StructLayout({
    "enable": 1, "locin": 1, "connect_neighbor": 1, "pattern": data.ArrayLayout(2, 4),
})


def half_lines(half: str) -> range:
    """Driver lines served by the controller of ``half``."""
    if half not in HALVES:
        raise ValueError(f"half {half!r} not one of 'top', 'bottom'")
    return range(0, 112) if half == "top" else range(112, 224)


def sram_write_cost(timing_setup_write: int) -> int:
    """Sequencer cycles of one SRAM write for a ``timing_setup_write`` register word."""
    f = _T_SW.decode(timing_setup_write)
    return f["setup_precharge"] + 2 + f["write_delay"] + 2


def sram_read_cost(timing_read: int, timing_setup_write: int) -> int:
    """Sequencer cycles of one SRAM read for the two timing register words."""
    return _T_SW.decode(timing_setup_write)["setup_precharge"] + 2 + \
        _T_READ.decode(timing_read)["read_delay"] + 2


def decoder_strobe_bits(line: int) -> tuple[tuple[int, int], ...]:
    """For the decoder byte of driver ``line``: ``((lsb_of_bit0, lsb_of_bit1), ...)`` of the
    pattern that drives strobe bit ``2 * r + p`` (index of the tuple), r = SW row-on-driver.

    halbe order (§4.4): p0 = HW-bottom even, p1 = HW-top even, p2 = HW-bottom odd, p3 = HW-top odd.
    """
    _, _, sw_bottom, sw_top = coords.driver_hw_rows(line)
    hw_of = {(sw_bottom, 0): "p0", (sw_top, 0): "p1", (sw_bottom, 1): "p2", (sw_top, 1): "p3"}
    out = []
    for bit in range(4):
        name = hw_of[(bit // 2, bit % 2)]
        out.append((DRIVER_DECODER.field(f"{name}_0").lsb, DRIVER_DECODER.field(f"{name}_1").lsb))
    return tuple(out)


class SequencerRegs:
    """What the register file hands to a command sequencer (all signals of the slave's domain).

    ``ctrl``, ``cnfg``, ``synrst``: the stored words; ``luts`` (6) and ``synin`` (4): lists of
    32-bit words; ``ctrl_write``: 1 in the cycle in which a bus write to CTRL is served (its
    data is ``wdata``; ``ctrl`` holds it from the next cycle on)."""

    def __init__(self, ctrl, cnfg, luts, synin, synrst, ctrl_write, wdata):
        self.ctrl, self.cnfg, self.luts, self.synin = ctrl, cnfg, luts, synin
        self.synrst, self.ctrl_write, self.wdata = synrst, ctrl_write, wdata


class SequencerOutputs:
    """What a command sequencer gives back to the register file (values or constants)."""

    def __init__(self, slice_busy=0, auto_busy=0, idle=1, synout=(0,) * 4, syncorr=(0,) * 2):
        self.slice_busy, self.auto_busy, self.idle = slice_busy, auto_busy, idle
        self.synout, self.syncorr = list(synout), list(syncorr)


def _mem_index_bits() -> int:
    """Address bits of one SRAM bank (224 words -> 8)."""
    return (max(SYNAPSE_CONTROLLER.reg(n).count for n in DRIVER_SRAMS) - 1).bit_length()


def _field(sig, register, name):
    f = register.field(name)
    return sig[f.lsb:f.lsb + f.width]


class SynapseControllerRegs(wiring.Component):
    """Register slave of one synapse controller (see the module docstring).

    Parameters
    ----------
    half : "top" | "bottom"

    Members
    -------
    bus : In(BusSignature())
        Configuration bus, local addresses of :data:`SYNAPSE_CONTROLLER`.
    drivers : Out(ArrayLayout(DriverSetting, 112))
        Element ``i`` belongs to driver line ``half_lines(half)[i]``.
    syndrv_busy : Out(1)
        The SRAM sequencer is running (= STATUS.syndrv_busy).
    """

    def __init__(self, half: str):
        if half not in HALVES:
            self._MustUse__silence = True      # never elaborated: no "unused" warning
            half_lines(half)                   # raises the error naming the bad value
        self.half = half
        self.lines = half_lines(half)
        super().__init__(self.members())

    def members(self) -> dict:
        """The component's signature members (subclasses add theirs)."""
        return {
            "bus": In(BusSignature()),
            "drivers": Out(data.ArrayLayout(DriverSetting, DRIVERS_PER_HALF)),
            "syndrv_busy": Out(1),
        }

    def elaborate_sequencer(self, m: Module, regs: SequencerRegs) -> SequencerOutputs:
        """Build the command sequencer into ``m``; this class has none (see the module
        docstring)."""
        return SequencerOutputs()

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        row_bits = _mem_index_bits()

        # -- SRAM sequencer ----------------------------------------------------------------------
        m.submodules.sram = sram = Memory(shape=16, depth=len(DRIVER_SRAMS) << row_bits, init=[])
        wp = sram.write_port()
        rp = sram.read_port()

        t_read = Signal(_T_READ.width, init=TIMING_READ_RESET)
        t_sw = Signal(_T_SW.width, init=TIMING_SETUP_WRITE_RESET)
        setup = _field(t_sw, _T_SW, "setup_precharge")
        wdel = _field(t_sw, _T_SW, "write_delay")
        rdel = _field(t_read, _T_READ, "read_delay")
        cost_w = Signal(10)
        cost_r = Signal(10)
        m.d.comb += [cost_w.eq(setup + wdel + 4), cost_r.eq(setup + rdel + 4)]

        seq_cnt = Signal(10)
        seq_we = Signal()
        seq_idx = Signal(row_bits + 2)
        seq_data = Signal(16)
        latch = Signal(16)
        busy = Signal()
        commit = Signal()
        m.d.comb += [busy.eq(seq_cnt != 0), commit.eq(seq_cnt == 1),
                     self.syndrv_busy.eq(busy)]
        with m.If(busy):
            m.d.sync += seq_cnt.eq(seq_cnt - 1)
        m.d.comb += [wp.addr.eq(seq_idx), wp.data.eq(seq_data), wp.en.eq(commit & seq_we),
                     rp.addr.eq(seq_idx)]
        with m.If(commit & ~seq_we):
            m.d.sync += latch.eq(rp.data)

        # -- address decode ----------------------------------------------------------------------
        sram_hit = Signal()
        sram_idx = Signal(row_bits + 2)
        hits = []
        for bank, name in enumerate(DRIVER_SRAMS):
            hit, idx = register_hit(bus.addr, SYNAPSE_CONTROLLER.reg(name))
            hits.append(hit)
            with m.If(hit):
                m.d.comb += sram_idx.eq(idx | (bank << row_bits))
        m.d.comb += sram_hit.eq(Cat(*hits).any())

        do = slave_access(m, bus, ready=~(busy & sram_hit))
        rdata = Signal(32)
        err = Signal()
        m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]

        ctrl = Signal(32)
        cnfg = Signal(32, init=CNFG_RESET)
        synrst = Signal(32)
        luts = [Signal(32, name=f"lut{i}") for i in range(SYNAPSE_CONTROLLER.reg("lut").count)]
        synin = [Signal(32, name=f"synin{i}")
                 for i in range(SYNAPSE_CONTROLLER.reg("synin").count)]

        ctrl_forced = _CTRL.field("cmd").mask | _CTRL.field("idle").mask
        ctrl_write = Signal()
        m.d.comb += ctrl_write.eq(do & bus.we &
                                  register_hit(bus.addr, SYNAPSE_CONTROLLER.reg("ctrl"))[0])
        seq = self.elaborate_sequencer(
            m, SequencerRegs(ctrl, cnfg, luts, synin, synrst, ctrl_write, bus.wdata))
        status_word = Signal(32)
        m.d.comb += status_word.eq(
            (busy << _STATUS.field("syndrv_busy").lsb)
            | (seq.slice_busy << _STATUS.field("slice_busy").lsb)
            | (seq.auto_busy << _STATUS.field("auto_busy").lsb))
        ctrl_read = Signal(32)
        m.d.comb += ctrl_read.eq((ctrl & ~ctrl_forced)
                                 | (seq.idle << _CTRL.field("idle").lsb))

        def single(name):
            return register_hit(bus.addr, SYNAPSE_CONTROLLER.reg(name))[0]

        # single registers: (hit, read value, write target or None for read-only)
        plain = [
            (single("timing_read"), t_read, t_read),
            (single("timing_setup_write"), t_sw, t_sw),
            (single("ctrl"), ctrl_read, ctrl),
            (single("cnfg"), cnfg, cnfg),
            (single("status"), status_word, None),
            (single("synrst"), synrst, synrst),
        ]
        lut_hit, lut_idx = register_hit(bus.addr, SYNAPSE_CONTROLLER.reg("lut"))
        synin_hit, synin_idx = register_hit(bus.addr, SYNAPSE_CONTROLLER.reg("synin"))
        synout_hit, synout_idx = register_hit(bus.addr, SYNAPSE_CONTROLLER.reg("synout"))
        syncorr_hit, syncorr_idx = register_hit(bus.addr, SYNAPSE_CONTROLLER.reg("syncorr"))

        with m.If(do):
            m.d.sync += [rdata.eq(0), err.eq(0)]
            with m.If(sram_hit):
                m.d.sync += [seq_idx.eq(sram_idx), seq_we.eq(bus.we), seq_data.eq(bus.wdata),
                             seq_cnt.eq(Mux(bus.we, cost_w, cost_r))]
                with m.If(~bus.we):
                    m.d.sync += rdata.eq(latch)
            for hit, rval, target in plain:
                with m.Elif(hit):
                    with m.If(bus.we):
                        if target is None:
                            m.d.sync += err.eq(1)
                        else:
                            m.d.sync += target.eq(bus.wdata)
                    with m.Else():
                        m.d.sync += rdata.eq(rval)
            for hit, idx, regs in ((lut_hit, lut_idx, luts), (synin_hit, synin_idx, synin)):
                with m.Elif(hit):
                    with m.If(bus.we):
                        with m.Switch(idx):
                            for i, r in enumerate(regs):
                                with m.Case(i):
                                    m.d.sync += r.eq(bus.wdata)
                    with m.Else():
                        m.d.sync += rdata.eq(Array(regs)[idx])
            for hit, idx, vals in ((synout_hit, synout_idx, seq.synout),
                                   (syncorr_hit, syncorr_idx, seq.syncorr)):
                with m.Elif(hit):                          # read-only
                    with m.If(bus.we):
                        m.d.sync += err.eq(1)
                    with m.Else():
                        m.d.sync += rdata.eq(Array(vals)[idx])
            with m.Else():
                m.d.sync += err.eq(1)

        # -- driver-setting mirrors --------------------------------------------------------------
        cfg_bank = DRIVER_SRAMS.index("drv_config") << row_bits
        dec_bank = DRIVER_SRAMS.index("drv_decoder") << row_bits
        f_en = DRIVER_CONFIG_BOTTOM.field("enable").lsb
        f_loc = DRIVER_CONFIG_BOTTOM.field("locin").lsb
        f_cn = DRIVER_CONFIG_BOTTOM.field("connect_neighbor").lsb
        # reset_less like the SRAM itself: a reset leaves SRAM and mirrors consistent
        cfg_m = [Signal(3, name=f"cfg_mirror{i}", reset_less=True)
                 for i in range(len(self.lines))]
        dec_m = [Signal(8, name=f"dec_mirror{i}", reset_less=True)
                 for i in range(len(self.lines))]
        # One comparator per mirror (not one shared case statement, which Verilog would repeat
        # for every mirror register); evaluated only in the commit cycle of a write.
        with m.If(commit & seq_we):
            for i, line in enumerate(self.lines):
                r_bottom = coords.driver_hw_rows(line)[0]
                byte = seq_data.word_select(coords.driver_byte_lane(line), 8)
                with m.If(seq_idx == (cfg_bank | r_bottom)):
                    m.d.sync += cfg_m[i].eq(Cat(byte[f_en], byte[f_loc], byte[f_cn]))
                with m.If(seq_idx == (dec_bank | r_bottom)):
                    # stored already in the order of the pattern port (a plain wire out)
                    m.d.sync += dec_m[i].eq(Cat(*(Cat(byte[b0], byte[b1])
                                                  for b0, b1 in decoder_strobe_bits(line))))
        for i, line in enumerate(self.lines):
            out = self.drivers[i]
            m.d.comb += [out.enable.eq(cfg_m[i][0]), out.locin.eq(cfg_m[i][1]),
                         out.connect_neighbor.eq(cfg_m[i][2]), out.pattern.eq(dec_m[i])]
        return m
