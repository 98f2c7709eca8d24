"""Floating-gate controller of one FG block (spec hicann-digital.md §10, §11, §9.2, §9.3;
analog-core.md §3.6, §4.1).

One controller serves one block of 24 rows x 129 columns of 10-bit cells. It is a bus slave with
the registers of :data:`~bss1.rtl.registers.FG_CONTROLLER`: two RAM banks of 65 x 20-bit words
(word ``w`` = cells ``2w`` in [9:0] and ``2w + 1`` in [19:10]), the write-only instruction register
(a write starts an operation), OP and BIAS (read/write) and the read-only SLAVE status
(column, busy, error). The cells themselves live in the analog model
(:class:`bss1.models.fg_storage.FGStorage`); they cannot be read digitally (§9.3).

Clocking: the controller runs on the slow clock, PLL / 4 (§11), made here as a clock enable
``slow_tick`` that is high in every fourth core cycle (cycles 3, 7, 11, ... after reset). An
operation accepted in core cycle ``D`` consumes the ticks of cycles ``> D``; ``busy`` is high
from ``D + 1`` up to and including the cycle of its last tick.

Operations (opcode = instruction [16:14]):

* 0 read: routes cell (row, column) to the analog readout (``readout`` port); immediate, not busy.
* 1 writeUp / 2 writeDown: one programming pass over the row. Timing follows halbe's cycle model
  of the controller (§10, ``FGConfig::getMaxProgrammingTime``): ``maxcycle + 1`` cycles, each a
  write pulse of ``writetime x (pulselength + 1)`` ticks followed by a compare sweep of
  ``(readtime + 1) x (pulselength + 1)`` ticks per column over the 129 columns; the write time
  starts at OP's ``voltagewritetime`` (even rows) or ``currentwritetime`` (odd rows) and doubles
  when ``acceleratorstep`` cycles have passed since the last doubling while it is below 128.
  Choice: the controller has no comparator feedback from the analog model, so every pass runs
  the full (worst-case) length. The write time is chosen per row by its parity: even rows hold
  voltage cells and odd rows current cells in all 128 neuron columns (analog-core §4.2, checked
  against :mod:`bss1.models.fg_layout` in the tests); the four odd-row voltage cells of
  column 0 (V_bstdf, V_dtc, V_br, V_ccas, §4.3) are programmed with the current write time.
  During the first compare sweep the controller emits one ``fg_write`` per column
  (row, column, RAM target, up = writeUp) in the core cycle after that column's first tick; the
  analog model applies writeUp / writeDown semantics (raise only cells below the target, lower
  only cells above it). The targets are read from the RAM bank named in the instruction at that
  tick. At the last tick the controller samples ``fail`` (bit c: column c did not converge, from
  the analog side; 0 for ideal cells) into its failed-column set; SLAVE.error = any failed.
* 3 getNextFalse: scans the failed-column set from the column after the last one reported, one
  column per tick; on a failed column c it reports c in SLAVE.column and keeps error = 1; when it
  runs past column 128 it reports column 128 and clears error (halbe stops on either, §10).
* 4 / 5 stimulate once / continuously: plays the 129 values of the instruction's RAM bank (halbe
  always names bank 0) to the
  current stimulus (``stim``), each held for ``pulselength + 1`` ticks (analog-core §3.6). Mode 4
  is busy until the last value, then the current drops to 0; mode 5 loops until the next accepted
  instruction and leaves the controller free (busy = 0) so that it can be stopped.

Instruction checks: an opcode 6/7, a row above 23 or a column above 128 sets SLAVE.error and
starts nothing; so does any instruction written while busy (the running operation continues).
An accepted instruction clears error first. OP and BIAS are latched when an operation starts.
BIAS reads return ``fg_bias`` and ``fg_biasn`` bit-reversed, as the chip does (§10).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .bus import BusSignature, register_hit, slave_access
from .registers import FG_CONTROLLER

__all__ = ["FGController", "FGOpcode", "FGWriteLayout", "FGReadoutLayout", "FGStimLayout",
           "N_FG_ROWS", "N_FG_COLUMNS", "SLOW_DIVIDER", "bias_readback"]

N_FG_ROWS, N_FG_COLUMNS = 24, 129
SLOW_DIVIDER = 4            # slow clock = PLL / 4 (§11)
_WT_DOUBLING_LIMIT = 128    # doubling stops once the write time reaches 128 (§10)

_FG = FG_CONTROLLER
_INS = _FG.reg("instruction")
_OP = _FG.reg("op")
_BIAS = _FG.reg("bias")
_SLAVE = _FG.reg("slave")
_RAM = (_FG.reg("ram0"), _FG.reg("ram1"))
_CELL_BITS = _RAM[0].field("even").width


class FGOpcode(enum.Enum, shape=_INS.field("opcode").width):
    READ = 0
    WRITE_UP = 1
    WRITE_DOWN = 2
    GET_NEXT_FALSE = 3
    STIMULATE = 4
    STIMULATE_CONTINUOUS = 5


FGWriteLayout = data.StructLayout({
    "valid": 1, "row": _INS.field("row").width, "column": _INS.field("column").width,
    "value": _CELL_BITS, "up": 1})
FGReadoutLayout = data.StructLayout({
    "valid": 1, "row": _INS.field("row").width, "column": _INS.field("column").width})
FGStimLayout = data.StructLayout({"valid": 1, "value": _CELL_BITS})


def _fld(sig, reg, name):
    f = reg.field(name)
    return sig[f.lsb:f.lsb + f.width]


def bias_readback(word: int) -> int:
    """What a BIAS read returns for the stored ``word``: the two 4-bit biases bit-reversed."""
    out = word
    for name in ("fg_bias", "fg_biasn"):
        f = _BIAS.field(name)
        v = (word >> f.lsb) & ((1 << f.width) - 1)
        r = int(f"{v:0{f.width}b}"[::-1], 2)
        out = (out & ~f.mask) | (r << f.lsb)
    return out


class FGController(wiring.Component):
    """One floating-gate controller (one FG block).

    Members
    -------
    bus : In(BusSignature())
        Configuration slave, local addresses of :data:`FG_CONTROLLER`.
    fg_write : Out(FGWriteLayout)
        One-cycle pulse per programmed cell: row, column, target value, up (1 writeUp, 0 down).
    readout : Out(FGReadoutLayout)
        Cell routed to the analog readout (valid after a read instruction, until the next
        accepted instruction).
    stim : Out(FGStimLayout)
        Current stimulus: valid while playing; value = current RAM entry (0 when not valid).
    fail : In(N_FG_COLUMNS)
        Columns that did not converge, sampled at the last tick of a programming pass.
    busy : Out(1)
        Same as SLAVE.busy.
    slow_tick : Out(1)
        The slow-clock enable (high one core cycle in four).
    bias : Out(14)
        The BIAS register as written (fg_bias, fg_biasn, pulselength, groundvm, calib).
    """

    bus: In(BusSignature())
    fg_write: Out(FGWriteLayout)
    readout: Out(FGReadoutLayout)
    stim: Out(FGStimLayout)
    fail: In(N_FG_COLUMNS)
    busy: Out(1)
    slow_tick: Out(1)
    bias: Out(_BIAS.width)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        # -- slow clock enable ----------------------------------------------------------------
        div = Signal(range(SLOW_DIVIDER))
        tick = Signal()
        m.d.sync += div.eq(div + 1)
        m.d.comb += [tick.eq(div == SLOW_DIVIDER - 1), self.slow_tick.eq(tick)]

        # -- storage ----------------------------------------------------------------------------
        word_bits = (_RAM[0].count - 1).bit_length()          # 7
        m.submodules.ram = ram = Memory(shape=_RAM[0].width, depth=2 << word_bits, init=[])
        wp = ram.write_port()
        rp_bus = ram.read_port(domain="comb")
        rp_ctl = ram.read_port(domain="comb")
        op = Signal(_OP.width)
        bias = Signal(_BIAS.width)
        error = Signal()
        slave_column = Signal(_SLAVE.field("column").width)
        failed = Signal(N_FG_COLUMNS)
        ptr = Signal(8)
        m.d.comb += self.bias.eq(bias)

        # -- operation state --------------------------------------------------------------------
        IDLE, PASS, SCAN, STIM = range(4)
        state = Signal(2)
        continuous = Signal()
        row = Signal(5)
        bank = Signal()
        up = Signal()
        # latched timing
        maxcycle = Signal(8)
        readtime = Signal(6)
        accel = Signal(6)
        pl = Signal(4)
        # pass counters
        k = Signal(8)               # programming cycle
        wt = Signal(9)              # write time (9-bit counter, §10)
        since = Signal(9)           # cycles since the last doubling
        in_write = Signal()
        u = Signal(9)               # write units done in this cycle
        col = Signal(8)             # column of the compare sweep / stimulus entry
        r = Signal(6)               # readtime units of this column
        p = Signal(4)               # pulselength sub-ticks
        busy = Signal()
        m.d.comb += busy.eq((state == PASS) | (state == SCAN) | ((state == STIM) & ~continuous))
        m.d.comb += self.busy.eq(busy)

        # controller RAM port: the current column / stimulus entry of the latched bank
        m.d.comb += rp_ctl.addr.eq(Cat(col[1:1 + word_bits], bank))
        cell = Signal(_CELL_BITS)
        m.d.comb += cell.eq(Mux(col[0], rp_ctl.data[_CELL_BITS:], rp_ctl.data[:_CELL_BITS]))

        def begin_cycle(wt_now, since_now, acc):
            double = Signal(name="double")
            new_wt = Signal(9, name="new_wt")
            m.d.comb += [double.eq((since_now == acc) & (wt_now < _WT_DOUBLING_LIMIT)),
                         new_wt.eq(Mux(double, wt_now << 1, wt_now))]
            m.d.sync += [wt.eq(new_wt), since.eq(Mux(double, 1, since_now + 1)),
                         in_write.eq(new_wt != 0), u.eq(0), col.eq(0), r.eq(0), p.eq(0)]

        # -- running operations (one slow tick at a time) ---------------------------------------
        m.d.sync += self.fg_write.valid.eq(0)
        last_p = Signal()
        m.d.comb += last_p.eq(p == pl)
        with m.If(tick):
            with m.Switch(state):
                with m.Case(PASS):
                    m.d.sync += p.eq(Mux(last_p, 0, p + 1))
                    with m.If(~in_write & (k == 0) & (r == 0) & (p == 0)):
                        m.d.sync += [self.fg_write.valid.eq(1), self.fg_write.row.eq(row),
                                     self.fg_write.column.eq(col), self.fg_write.value.eq(cell),
                                     self.fg_write.up.eq(up)]
                    with m.If(last_p):
                        with m.If(in_write):
                            m.d.sync += u.eq(u + 1)
                            with m.If(u + 1 == wt):
                                m.d.sync += in_write.eq(0)
                        with m.Else():
                            m.d.sync += r.eq(Mux(r == readtime, 0, r + 1))
                            with m.If(r == readtime):
                                m.d.sync += col.eq(col + 1)
                                with m.If(col == N_FG_COLUMNS - 1):
                                    with m.If(k == maxcycle):
                                        m.d.sync += [state.eq(IDLE), col.eq(0),
                                                     failed.eq(self.fail), ptr.eq(0),
                                                     slave_column.eq(0),
                                                     error.eq(error | self.fail.any())]
                                    with m.Else():
                                        m.d.sync += k.eq(k + 1)
                                        begin_cycle(wt, since, accel)
                with m.Case(SCAN):
                    with m.If(ptr == N_FG_COLUMNS):
                        m.d.sync += [error.eq(0), slave_column.eq(N_FG_COLUMNS - 1),
                                     state.eq(IDLE)]
                    with m.Elif(failed.bit_select(ptr, 1)):
                        m.d.sync += [error.eq(1), slave_column.eq(ptr), ptr.eq(ptr + 1),
                                     state.eq(IDLE)]
                    with m.Else():
                        m.d.sync += ptr.eq(ptr + 1)
                with m.Case(STIM):
                    m.d.sync += p.eq(Mux(last_p, 0, p + 1))
                    with m.If(last_p):
                        with m.If(col == N_FG_COLUMNS - 1):
                            m.d.sync += col.eq(0)
                            with m.If(~continuous):
                                m.d.sync += state.eq(IDLE)
                        with m.Else():
                            m.d.sync += col.eq(col + 1)

        playing = Signal()
        m.d.comb += [playing.eq(state == STIM), self.stim.valid.eq(playing),
                     self.stim.value.eq(Mux(playing, cell, 0))]

        # -- bus slave --------------------------------------------------------------------------
        do = slave_access(m, bus)
        rdata, err = Signal(32), Signal()
        m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]
        hit0, idx0 = register_hit(bus.addr, _RAM[0])
        hit1, idx1 = register_hit(bus.addr, _RAM[1])
        ram_hit = Signal()
        m.d.comb += [
            ram_hit.eq(hit0 | hit1),
            rp_bus.addr.eq(Mux(hit1, Cat(idx1, 1), Cat(idx0, 0))),
            wp.addr.eq(rp_bus.addr),
            wp.data.eq(bus.wdata[:_RAM[0].width]),
            wp.en.eq(do & bus.we & ram_hit),
        ]
        hits = {name: register_hit(bus.addr, _FG.reg(name))[0]
                for name in ("instruction", "op", "bias", "slave")}
        bias_rd = Signal(_BIAS.width)
        fb, fbn = _BIAS.field("fg_bias"), _BIAS.field("fg_biasn")
        m.d.comb += bias_rd.eq(bias)
        m.d.comb += [bias_rd[fb.lsb:fb.lsb + fb.width].eq(_fld(bias, _BIAS, "fg_bias")[::-1]),
                     bias_rd[fbn.lsb:fbn.lsb + fbn.width].eq(
                         _fld(bias, _BIAS, "fg_biasn")[::-1])]
        slave_word = Signal(_SLAVE.width)
        m.d.comb += [_fld(slave_word, _SLAVE, "column").eq(Mux(state == PASS, col, slave_column)),
                     _fld(slave_word, _SLAVE, "busy").eq(busy),
                     _fld(slave_word, _SLAVE, "error").eq(error)]

        ins = Signal(_INS.width)
        m.d.comb += ins.eq(bus.wdata[:_INS.width])
        ins_op = _fld(ins, _INS, "opcode")
        ins_row = _fld(ins, _INS, "row")
        ins_col = _fld(ins, _INS, "column")
        ins_ok = Signal()
        m.d.comb += ins_ok.eq((ins_op <= FGOpcode.STIMULATE_CONTINUOUS.value)
                              & (ins_row < N_FG_ROWS) & (ins_col < N_FG_COLUMNS) & ~busy)
        with m.If(do):
            m.d.sync += [err.eq(1), rdata.eq(0)]
            with m.If(bus.we):
                with m.If(ram_hit):
                    m.d.sync += err.eq(0)
                with m.Elif(hits["op"]):
                    m.d.sync += [err.eq(0), op.eq(bus.wdata[:_OP.width])]
                with m.Elif(hits["bias"]):
                    m.d.sync += [err.eq(0), bias.eq(bus.wdata[:_BIAS.width])]
                with m.Elif(hits["instruction"]):
                    m.d.sync += err.eq(0)
                    with m.If(~ins_ok):
                        m.d.sync += error.eq(1)
                    with m.Else():
                        m.d.sync += [
                            error.eq(0), state.eq(IDLE), col.eq(0), p.eq(0),
                            self.readout.valid.eq(ins_op == FGOpcode.READ.value),
                            self.readout.row.eq(ins_row), self.readout.column.eq(ins_col),
                            row.eq(ins_row), bank.eq(_fld(ins, _INS, "bank")),
                            maxcycle.eq(_fld(op, _OP, "maxcycle")),
                            readtime.eq(_fld(op, _OP, "readtime")),
                            accel.eq(_fld(op, _OP, "acceleratorstep")),
                            pl.eq(_fld(bias, _BIAS, "pulselength"))]
                        with m.Switch(ins_op):
                            with m.Case(FGOpcode.WRITE_UP.value, FGOpcode.WRITE_DOWN.value):
                                writetime = Mux(ins_row[0], _fld(op, _OP, "currentwritetime"),
                                                _fld(op, _OP, "voltagewritetime"))
                                m.d.sync += [state.eq(PASS), k.eq(0),
                                             up.eq(ins_op == FGOpcode.WRITE_UP.value)]
                                begin_cycle(writetime, 0, _fld(op, _OP, "acceleratorstep"))
                            with m.Case(FGOpcode.GET_NEXT_FALSE.value):
                                m.d.sync += state.eq(SCAN)
                            with m.Case(FGOpcode.STIMULATE.value,
                                        FGOpcode.STIMULATE_CONTINUOUS.value):
                                m.d.sync += [state.eq(STIM), continuous.eq(
                                    ins_op == FGOpcode.STIMULATE_CONTINUOUS.value)]
            with m.Else():
                with m.If(ram_hit):
                    m.d.sync += [err.eq(0), rdata.eq(rp_bus.data)]
                with m.Elif(hits["op"]):
                    m.d.sync += [err.eq(0), rdata.eq(op)]
                with m.Elif(hits["bias"]):
                    m.d.sync += [err.eq(0), rdata.eq(bias_rd)]
                with m.Elif(hits["slave"]):
                    m.d.sync += [err.eq(0), rdata.eq(slave_word)]
        return m
