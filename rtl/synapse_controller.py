"""Synapse (STDP) controller: the command sequencer on top of the register side, and the access
port to the analog synapse array (spec hicann-digital.md §5.2-5.4, §6.1-6.6, §12.4;
analog-core.md §7.3; conflicts hicann-digital.md §13 #3, #4, #5).

:class:`SynapseController` extends :class:`~bss1.rtl.synapse_controller_regs.SynapseControllerRegs`
(bus slave, driver SRAMs, register file) with the CTRL commands of §6.3 and the AUTO weight
update of §6.5. It talks to the synapse array through :class:`SynapseArrayPort`.

Synapse-array port protocol
---------------------------
The controller raises ``req`` with ``op`` and the request fields and holds them until it samples
``ack`` = 1; ``rdata`` / ``corr`` are valid in the ``ack`` cycle. A request *starts* in a cycle
with ``req`` = 1 whose previous cycle had ``req`` = 0 or ``ack`` = 1 (the controller may issue the
next request in the cycle after an ``ack`` without dropping ``req``); the servicing side answers
at the earliest one cycle after the start, performing the operation in the ``ack`` cycle.
``wdata`` / ``rdata``: word i (slice i, §5.2 chip format) at bits [32i+31:32i]; ``corr``: SYNCORR
word 0 (pattern 0) at [31:0], word 1 (pattern 1) at [63:32]; ``patterns`` = CNFG[7:0] unchanged
(what the bits mean is the array's business, conflict §13 #3). Flag and reset-mask bit
``31 - (8 i + j)`` belongs to column j of slice i of the column set (= synapse column 64 i + 8 s
+ j): MSB first in the column order of the data words, the convention of
:mod:`bss1.models.synapse_array` (the sources do not give SYNCORR's bit order; for SYNRST we keep
one 32-bit register as halbe does, conflict §13 #5).

Commands (a CTRL write with ``newcmd`` = 1)
-------------------------------------------
A CTRL write served in cycle ``d`` starts its command at the clock edge that ends ``d``; the
command keeps ``STATUS.slice_busy`` = 1 (and ``CTRL.idle`` = 0) from cycle ``d + 1`` for its
§6.3 cost ``N`` (CNFG timings read in cycle ``d``), i.e. cycles ``d + 1 .. d + N``, and longer
while its array access is not yet acknowledged: it completes in the first cycle in which the
``N`` cycles have elapsed and the last access was acknowledged.

=======================  ===============  ======================================================
command                  cost N           array access (row = CTRL.row, column set = CTRL.sel)
=======================  ===============  ======================================================
START_READ, START_RDEC   predel+endel+4   none (opening a row is timing only)
READ                     oedel + 3        READ_WEIGHTS -> SYNOUT; then, if encr,
                                          READ_CORRELATION -> SYNCORR (CTRL.scc / CTRL.sca,
                                          CNFG patterns)
RDEC                     oedel + 3        READ_DECODERS -> SYNOUT (encr does not apply)
WRITE, WDEC              wrdel + 4        WRITE_WEIGHTS / WRITE_DECODERS of SYNIN
CLOSE_ROW                3                none
RST_CORR                 oedel + 6        RESET_CORRELATION with mask SYNRST
=======================  ===============  ======================================================

The emulator does not keep an "open row" state: READ / RDEC / RST_CORR act on their own CTRL.row
whether or not a START_READ came first (the software always sends the same row).

Our choices for what the sources leave open:

* **Commands while busy** (``slice_busy`` or ``auto_busy``) are ignored: the CTRL word is stored
  (it reads back) but starts nothing, and the bus is not stalled. IDLE (0), the v1-only code 8
  and the unused codes 11..15 do nothing at any time. A command whose CTRL.row (for AUTO also
  CTRL.last_row) is above 223 is ignored as well.
* **AUTO** (§6.5, conflict §13 #4) latches row, last_row, without_reset, scc, sca and the CNFG
  patterns at its start and, for each row (row, row + 1, ... last_row, counting 223 -> 0), runs
  the steps START_READ; for column sets 0..7: READ (weights, then always the correlation: AUTO
  needs the flags whatever encr says), WRITE, and unless without_reset RST_CORR; CLOSE_ROW. Each
  step costs its §6.3 cycles (CNFG read when the step starts) and starts in the cycle after the
  previous one completed, so with prompt acks a row costs ``predel + endel + 4 + 8 (oedel + 3 +
  wrdel + 4 [+ oedel + 6]) + 3`` cycles (397 with the defaults and reset, 229 without).
  ``CTRL.sel`` is not used (AUTO visits all eight column sets). The new weights and the reset
  mask are computed when the correlation arrives: per synapse, flags (pattern0, pattern1) = (1, 0)
  -> causal LUT, (0, 1) -> acausal LUT, (1, 1) -> combined LUT, (0, 0) -> weight kept; the LUT is
  applied in the physical view (§6.4: LUT register pair entries indexed by the stored nibble);
  the reset mask is SYNRST AND (pattern0 OR pattern1): only synapses that produced a flag lose
  their accumulated correlation. After last_row AUTO reads CTRL.continuous *live*: 1 -> it starts
  again at the first row, 0 -> it ends (``auto_busy`` = 0). Writing CTRL with continuous = 0 is
  therefore how software stops a continuous run (after the current pass).
* ``STATUS.slice_busy`` is 1 during every step of AUTO, ``STATUS.auto_busy`` during the whole
  AUTO run; ``CTRL.idle`` = NOT ``slice_busy``.
"""

import enum as py_enum

from amaranth import Array, Cat, Mux, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from .registers import SYNAPSE_CONTROLLER
from .synapse_controller_regs import SequencerOutputs, SynapseControllerRegs

__all__ = ["SynapseController", "SynapseArrayPort", "SynapseArrayOp", "Command", "AutoPhase",
           "command_cycles", "N_ROWS", "COLUMN_SETS", "flag_bit"]

_CTRL = SYNAPSE_CONTROLLER.reg("ctrl")
_CNFG = SYNAPSE_CONTROLLER.reg("cnfg")

N_ROWS = 224          # HW rows R of one synapse array (§5.1)
COLUMN_SETS = 8       # column sets per row, 32 synapses each (§5.1)
CLOSE_ROW_CYCLES = 3


class Command(py_enum.IntEnum):
    """CTRL.cmd codes (§6.3, halbe SynapseControllerCmd)."""
    IDLE = 0
    READ = 1
    START_RDEC = 2
    WRITE = 3
    AUTO = 4
    WDEC = 5
    RDEC = 6
    START_READ = 7
    CLOSE_ROW = 9
    RST_CORR = 10


class SynapseArrayOp(enum.Enum, shape=3):
    """Operations on the synapse-array access port."""
    READ_WEIGHTS = 0
    WRITE_WEIGHTS = 1
    READ_DECODERS = 2
    WRITE_DECODERS = 3
    READ_CORRELATION = 4
    RESET_CORRELATION = 5


class AutoPhase(py_enum.IntEnum):
    """Step of the AUTO update that is running."""
    OPEN = 0
    READ = 1
    WRITE = 2
    RESET = 3
    CLOSE = 4


def flag_bit(slice_: int, column: int) -> int:
    """Bit of a SYNCORR / SYNRST word that belongs to column ``column`` (0..7) of slice
    ``slice_`` (0..3) of a column set (MSB first, as the data words)."""
    return 31 - (8 * slice_ + column)


def command_cycles(cmd: int, cnfg: int) -> int:
    """§6.3 busy cycles of command ``cmd`` for the CNFG word ``cnfg`` (0 for commands that do
    nothing; AUTO has no fixed cost and raises)."""
    f = _CNFG.decode(cnfg)
    costs = {
        Command.START_READ: f["predel"] + f["endel"] + 4,
        Command.START_RDEC: f["predel"] + f["endel"] + 4,
        Command.READ: f["oedel"] + 3, Command.RDEC: f["oedel"] + 3,
        Command.WRITE: f["wrdel"] + 4, Command.WDEC: f["wrdel"] + 4,
        Command.CLOSE_ROW: CLOSE_ROW_CYCLES, Command.RST_CORR: f["oedel"] + 6,
    }
    if cmd == Command.AUTO:
        raise ValueError("command AUTO has no fixed cost")
    return costs.get(cmd, 0)


class SynapseArrayPort(wiring.Signature):
    """Controller-side view of the synapse-array access port (see the module docstring)."""

    def __init__(self):
        super().__init__({
            "req": Out(1), "op": Out(SynapseArrayOp), "row": Out(8), "colset": Out(3),
            "wdata": Out(128), "mask": Out(32), "patterns": Out(8), "scc": Out(1),
            "sca": Out(1),
            "ack": In(1), "rdata": In(128), "corr": In(64),
        })


def _f(sig, register, name):
    fld = register.field(name)
    return sig[fld.lsb:fld.lsb + fld.width]


def _nibble(word, column):
    """The 4-bit field of column ``column`` (MSB first, §5.2) of a 32-bit word."""
    return word[28 - 4 * column:32 - 4 * column]


class SynapseController(SynapseControllerRegs):
    """One synapse (STDP) controller: register side plus command sequencer.

    Parameters
    ----------
    half : "top" | "bottom"

    Members
    -------
    bus, drivers, syndrv_busy
        As in :class:`SynapseControllerRegs`.
    array : Out(SynapseArrayPort())
        Access port to the synapse array of ``half``.
    slice_busy, auto_busy : Out(1)
        STATUS bits 1 and 2 (a command / AUTO is running).
    """

    def members(self) -> dict:
        return {**super().members(), "array": Out(SynapseArrayPort()),
                "slice_busy": Out(1), "auto_busy": Out(1)}

    def elaborate_sequencer(self, m, regs):
        port = self.array
        cnfg, w = regs.cnfg, regs.wdata

        cost_start, cost_read, cost_write, cost_rst = (Signal(6, name=n) for n in
                                                       ("cost_start", "cost_read",
                                                        "cost_write", "cost_rst"))
        m.d.comb += [
            cost_start.eq(_f(cnfg, _CNFG, "predel") + _f(cnfg, _CNFG, "endel") + 4),
            cost_read.eq(_f(cnfg, _CNFG, "oedel") + 3),
            cost_write.eq(_f(cnfg, _CNFG, "wrdel") + 4),
            cost_rst.eq(_f(cnfg, _CNFG, "oedel") + 6),
        ]

        active = Signal()          # a command or an AUTO step is running
        auto = Signal()            # AUTO is running
        cnt = Signal(6)            # cycles of the step still to elapse (incl. the current one)
        req = Signal()
        op = Signal(SynapseArrayOp)
        second = Signal()          # a READ_CORRELATION follows the running read
        phase = Signal(3)
        row, first_row, last_row = Signal(8), Signal(8), Signal(8)
        colset = Signal(3)
        no_reset = Signal()
        scc, sca, patterns = Signal(), Signal(), Signal(8)
        wdata = [Signal(32, name=f"wdata{i}") for i in range(4)]
        mask = Signal(32)
        synout = [Signal(32, name=f"synout{i}") for i in range(4)]
        syncorr = [Signal(32, name=f"syncorr{i}") for i in range(2)]

        m.d.comb += [
            port.req.eq(req), port.op.eq(op), port.row.eq(row), port.colset.eq(colset),
            port.wdata.eq(Cat(*wdata)), port.mask.eq(mask), port.patterns.eq(patterns),
            port.scc.eq(scc), port.sca.eq(sca),
            self.slice_busy.eq(active), self.auto_busy.eq(auto),
        ]

        def load(cost, access=None, then_corr=0):
            """Statements that start a step of ``cost`` cycles (and its access)."""
            stmts = [active.eq(1), cnt.eq(cost)]
            if access is None:
                return stmts + [req.eq(0)]
            return stmts + [req.eq(1), op.eq(access), second.eq(then_corr)]

        # -- step timing and the port handshake ------------------------------------------------
        with m.If(cnt != 0):
            m.d.sync += cnt.eq(cnt - 1)
        acked = Signal()
        done = Signal()
        m.d.comb += [acked.eq(req & port.ack),
                     done.eq(active & (cnt <= 1) & (~req | (port.ack & ~second)))]

        c0, c1 = port.corr[:32], port.corr[32:]
        lut_words = self._lut_update(m, synout, c0, c1, regs.luts)
        with m.If(acked):
            with m.If((op == SynapseArrayOp.READ_WEIGHTS) |
                      (op == SynapseArrayOp.READ_DECODERS)):
                m.d.sync += [s.eq(port.rdata.word_select(i, 32)) for i, s in enumerate(synout)]
            with m.If(op == SynapseArrayOp.READ_CORRELATION):
                m.d.sync += [s.eq(port.corr.word_select(i, 32)) for i, s in enumerate(syncorr)]
                with m.If(auto):
                    m.d.sync += [t.eq(v) for t, v in zip(wdata, lut_words)]
                    m.d.sync += mask.eq(regs.synrst & (c0 | c1))
            with m.If(second):
                m.d.sync += [op.eq(SynapseArrayOp.READ_CORRELATION), second.eq(0)]
            with m.Else():
                m.d.sync += req.eq(0)

        # -- AUTO: chain the next step ----------------------------------------------------------
        def next_colset():
            with m.If(colset == COLUMN_SETS - 1):
                m.d.sync += load(CLOSE_ROW_CYCLES) + [phase.eq(AutoPhase.CLOSE)]
            with m.Else():
                m.d.sync += load(cost_read, SynapseArrayOp.READ_WEIGHTS, 1) + [
                    colset.eq(colset + 1), phase.eq(AutoPhase.READ)]

        with m.If(done):
            with m.If(~auto):
                m.d.sync += active.eq(0)
            with m.Else():
                with m.Switch(phase):
                    with m.Case(AutoPhase.OPEN):
                        m.d.sync += load(cost_read, SynapseArrayOp.READ_WEIGHTS, 1) + [
                            colset.eq(0), phase.eq(AutoPhase.READ)]
                    with m.Case(AutoPhase.READ):
                        m.d.sync += load(cost_write, SynapseArrayOp.WRITE_WEIGHTS) + [
                            phase.eq(AutoPhase.WRITE)]
                    with m.Case(AutoPhase.WRITE):
                        with m.If(no_reset):
                            next_colset()
                        with m.Else():
                            m.d.sync += load(cost_rst, SynapseArrayOp.RESET_CORRELATION) + [
                                phase.eq(AutoPhase.RESET)]
                    with m.Case(AutoPhase.RESET):
                        next_colset()
                    with m.Case(AutoPhase.CLOSE):
                        with m.If(row != last_row):
                            m.d.sync += load(cost_start) + [
                                row.eq(Mux(row == N_ROWS - 1, 0, row + 1)),
                                phase.eq(AutoPhase.OPEN)]
                        with m.Elif(_f(regs.ctrl, _CTRL, "continuous")):
                            m.d.sync += load(cost_start) + [row.eq(first_row),
                                                            phase.eq(AutoPhase.OPEN)]
                        with m.Else():
                            m.d.sync += [active.eq(0), auto.eq(0)]

        # -- starting a command from a CTRL write -----------------------------------------------
        cmd = _f(w, _CTRL, "cmd")
        w_row, w_last = _f(w, _CTRL, "row"), _f(w, _CTRL, "last_row")
        known = Signal()
        m.d.comb += known.eq(Cat(*(cmd == c for c in Command if c != Command.IDLE)).any())
        accept = Signal()
        m.d.comb += accept.eq(regs.ctrl_write & ~active & _f(w, _CTRL, "newcmd") & known &
                              (w_row < N_ROWS) & ((cmd != Command.AUTO) | (w_last < N_ROWS)))
        with m.If(accept):
            m.d.sync += [row.eq(w_row), colset.eq(_f(w, _CTRL, "sel")),
                         scc.eq(_f(w, _CTRL, "scc")), sca.eq(_f(w, _CTRL, "sca")),
                         patterns.eq(_f(cnfg, _CNFG, "patterns"))]
            with m.Switch(cmd):
                with m.Case(Command.START_READ, Command.START_RDEC):
                    m.d.sync += load(cost_start)
                with m.Case(Command.READ):
                    m.d.sync += load(cost_read, SynapseArrayOp.READ_WEIGHTS,
                                     _f(w, _CTRL, "encr"))
                with m.Case(Command.RDEC):
                    m.d.sync += load(cost_read, SynapseArrayOp.READ_DECODERS)
                with m.Case(Command.WRITE, Command.WDEC):
                    m.d.sync += load(cost_write, Mux(cmd == Command.WRITE,
                                                     SynapseArrayOp.WRITE_WEIGHTS,
                                                     SynapseArrayOp.WRITE_DECODERS))
                    m.d.sync += [t.eq(s) for t, s in zip(wdata, regs.synin)]
                with m.Case(Command.CLOSE_ROW):
                    m.d.sync += load(CLOSE_ROW_CYCLES)
                with m.Case(Command.RST_CORR):
                    m.d.sync += load(cost_rst, SynapseArrayOp.RESET_CORRELATION)
                    m.d.sync += mask.eq(regs.synrst)
                with m.Case(Command.AUTO):
                    m.d.sync += load(cost_start) + [
                        auto.eq(1), first_row.eq(w_row), last_row.eq(w_last), colset.eq(0),
                        no_reset.eq(_f(w, _CTRL, "without_reset")), phase.eq(AutoPhase.OPEN)]

        return SequencerOutputs(slice_busy=active, auto_busy=auto, idle=~active,
                                synout=synout, syncorr=syncorr)

    @staticmethod
    def _lut_update(m, words, c0, c1, luts):
        """New weight words of one column set (§6.4, physical view): per synapse the LUT chosen
        by its flag pair, indexed by the stored nibble; flags (0, 0) keep the nibble."""
        def table(pair):
            lo, hi = luts[2 * pair], luts[2 * pair + 1]
            return Array(_nibble(lo if e < 8 else hi, e % 8) for e in range(16))
        acausal, causal, combined = table(0), table(1), table(2)
        out = []
        for i, word in enumerate(words):
            nibbles = []
            for j in range(8):
                code = _nibble(word, j)
                f0, f1 = c0[flag_bit(i, j)], c1[flag_bit(i, j)]
                new = Signal(4, name=f"lut_s{i}_c{j}")
                m.d.comb += new.eq(Mux(f0 & f1, combined[code],
                                       Mux(f0, causal[code], Mux(f1, acausal[code], code))))
                nibbles.append(new)
            word_new = Signal(32, name=f"lut_word{i}")
            m.d.comb += word_new.eq(Cat(*reversed(nibbles)))
            out.append(word_new)
        return out
