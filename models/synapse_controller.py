"""Behavioural twin of the synapse (STDP) controller's command sequencer (spec hicann-digital.md
§5.2-5.4, §6.3-6.5; analog-core.md §7.3): the same commands, AUTO update, choices and cycle
timing as :class:`bss1.rtl.synapse_controller.SynapseController` (read its docstring for the
rules), calling a synapse-array object directly instead of driving the access port.

Time
----
The owner (normally :class:`bss1.models.synapse_driver.SynapseDriverModel`, after
:meth:`~bss1.models.synapse_driver.SynapseDriverModel.attach_sequencer`) calls :meth:`step` once
per core cycle ``t`` with the register words as they are *during* cycle ``t`` (bus writes served
in earlier cycles) and the CTRL word of a CTRL write served in cycle ``t`` (or None). The state
attributes (:attr:`slice_busy`, :attr:`synout`, ...) are the RTL register values of the current
cycle, i.e. what a bus read served in that cycle returns.

The servicing side of the port is emulated with the same rules as
:func:`bss1.rtl.synapse_array_port_sim.serve_synapse_array`: request number ``n`` (counted from
0) is acknowledged ``ack_latency(n)`` cycles after it starts (an int latency is the same for all),
and the array operation is performed in the ``ack`` cycle by :func:`perform_access`.
"""

from __future__ import annotations

from bss1.rtl.registers import SYNAPSE_CONTROLLER
from bss1.rtl.synapse_controller import (CLOSE_ROW_CYCLES, COLUMN_SETS, N_ROWS, AutoPhase,
                                         Command, SynapseArrayOp, flag_bit)

__all__ = ["SynapseControllerModel", "perform_access", "lut_update", "lut_entries"]

_CTRL = SYNAPSE_CONTROLLER.reg("ctrl")
_CNFG = SYNAPSE_CONTROLLER.reg("cnfg")
_READS = (SynapseArrayOp.READ_WEIGHTS, SynapseArrayOp.READ_DECODERS)


def perform_access(array, half: str, op: SynapseArrayOp, row: int, colset: int, wdata, mask: int,
                   patterns: int, scc: int, sca: int):
    """Carry out one port request on ``array``; returns ``(rdata_words, (corr0, corr1))``
    (zeros where the operation returns nothing)."""
    rdata, corr = [0, 0, 0, 0], (0, 0)
    if op == SynapseArrayOp.READ_WEIGHTS:
        rdata = list(array.read_weights(half, row, colset))
    elif op == SynapseArrayOp.WRITE_WEIGHTS:
        array.write_weights(half, row, colset, list(wdata))
    elif op == SynapseArrayOp.READ_DECODERS:
        rdata = list(array.read_decoders(half, row, colset))
    elif op == SynapseArrayOp.WRITE_DECODERS:
        array.write_decoders(half, row, colset, list(wdata))
    elif op == SynapseArrayOp.READ_CORRELATION:
        corr = tuple(array.read_correlation(half, row, colset, patterns,
                                            causal_enable=bool(scc), acausal_enable=bool(sca)))
    elif op == SynapseArrayOp.RESET_CORRELATION:
        array.reset_correlation(half, row, colset, mask)
    else:
        raise ValueError(f"synapse array op {op!r} not one of "
                         f"{', '.join(o.name for o in SynapseArrayOp)}")
    return rdata, corr


_COSTS: dict[int, tuple[dict, dict]] = {}


def _cnfg_costs(word: int) -> tuple[dict, dict]:
    """CNFG fields and the phase costs they give (cached per CNFG word; read-only)."""
    hit = _COSTS.get(word)
    if hit is None:
        if len(_COSTS) > 4096:
            _COSTS.clear()
        cnfg = _CNFG.decode(word)
        costs = {"start": cnfg["predel"] + cnfg["endel"] + 4, "read": cnfg["oedel"] + 3,
                 "write": cnfg["wrdel"] + 4, "rst": cnfg["oedel"] + 6,
                 "close": CLOSE_ROW_CYCLES}
        hit = _COSTS[word] = (cnfg, costs)
    return hit


def lut_entries(lo: int, hi: int) -> list[int]:
    """The 16 physical LUT entries of one register pair (§6.4): entry e is nibble e % 8
    (counted from the MSB) of register ``lo`` (e < 8) or ``hi``."""
    return [((lo if e < 8 else hi) >> (28 - 4 * (e % 8))) & 0xF for e in range(16)]


def lut_update(words, corr0: int, corr1: int, luts) -> list[int]:
    """New weight words of a column set for the flag words ``corr0`` (pattern 0 = causal) and
    ``corr1`` (pattern 1 = acausal), with the six LUT register words ``luts`` (pairs acausal,
    causal, combined), in the physical view. Flags (0, 0) keep the weight."""
    acausal, causal, combined = (lut_entries(luts[2 * p], luts[2 * p + 1]) for p in range(3))
    out = []
    for i, word in enumerate(words):
        new = 0
        for j in range(8):
            shift = 28 - 4 * j
            code = (word >> shift) & 0xF
            f0, f1 = (corr0 >> flag_bit(i, j)) & 1, (corr1 >> flag_bit(i, j)) & 1
            table = combined if f0 and f1 else causal if f0 else acausal if f1 else None
            new |= (table[code] if table else code) << shift
        out.append(new)
    return out


class SynapseControllerModel:
    """Cycle-level twin of the command sequencer of the controller of ``half``.

    Parameters
    ----------
    half : "top" | "bottom"
    array : object with the SynapseArray access methods (see :func:`perform_access`)
    ack_latency : int >= 1, or a callable ``n -> int >= 1`` (request number -> latency)
    """

    def __init__(self, half: str, array, ack_latency=1):
        if half not in ("top", "bottom"):
            raise ValueError(f"half {half!r} not one of 'top', 'bottom'")
        if not callable(ack_latency) and (not isinstance(ack_latency, int)
                                          or ack_latency < 1):
            raise ValueError(f"ack latency {ack_latency!r} out of range 1..")
        self.half, self.array = half, array
        self._latency = ack_latency if callable(ack_latency) else (lambda n: ack_latency)
        self.cycle = 0
        # register state (values during the current cycle)
        self.active = self.auto = False
        self.cnt = 0
        self.req = False
        self.op = SynapseArrayOp.READ_WEIGHTS
        self.second = False
        self.phase = AutoPhase.OPEN
        self.row = self.first_row = self.last_row = self.colset = 0
        self.no_reset = False
        self.scc = self.sca = self.patterns = 0
        self.wdata = [0, 0, 0, 0]
        self.mask = 0
        self.synout = [0, 0, 0, 0]
        self.syncorr = [0, 0]
        # port emulation
        self.requests = 0          # requests started so far
        self._req_start = 0
        #: every acknowledged access: (cycle, op, row, colset, wdata, mask, patterns, scc, sca)
        self.log: list[tuple] = []

    # -- views -------------------------------------------------------------------------------------
    @property
    def slice_busy(self) -> bool:
        return self.active

    @property
    def auto_busy(self) -> bool:
        return self.auto

    @property
    def idle(self) -> bool:
        return not self.active

    # -- one cycle ---------------------------------------------------------------------------------
    def step(self, regs: dict, ctrl_write: int | None = None) -> None:
        """Simulate the current cycle. ``regs``: register name -> list of words as during this
        cycle (``ctrl``, ``cnfg``, ``lut``, ``synin``, ``synrst``); ``ctrl_write``: the data
        of a CTRL write served in this cycle."""
        t = self.cycle
        cnfg, costs = _cnfg_costs(regs["cnfg"][0])
        ack = self.req and t - self._req_start == self._latency(self.requests - 1)
        done = self.active and self.cnt <= 1 and (not self.req or (ack and not self.second))
        nxt = {}                                  # register updates at the end of this cycle
        if self.cnt:
            nxt["cnt"] = self.cnt - 1

        def load(cost, access=None, then_corr=False):
            nxt.update(active=True, cnt=costs[cost])
            if access is None:
                nxt["req"] = False
            else:
                nxt.update(req=True, op=access, second=bool(then_corr))

        if ack:
            rdata, corr = perform_access(self.array, self.half, self.op, self.row, self.colset,
                                         self.wdata, self.mask, self.patterns, self.scc,
                                         self.sca)
            self.log.append((t, self.op, self.row, self.colset, tuple(self.wdata), self.mask,
                             self.patterns, self.scc, self.sca))
            if self.op in _READS:
                nxt["synout"] = rdata
            if self.op == SynapseArrayOp.READ_CORRELATION:
                nxt["syncorr"] = list(corr)
                if self.auto:
                    nxt["wdata"] = lut_update(self.synout, corr[0], corr[1], regs["lut"])
                    nxt["mask"] = regs["synrst"][0] & (corr[0] | corr[1])
            if self.second:
                nxt.update(op=SynapseArrayOp.READ_CORRELATION, second=False)
            else:
                nxt["req"] = False

        if done and not self.auto:
            nxt["active"] = False
        elif done:
            def next_colset():
                if self.colset == COLUMN_SETS - 1:
                    load("close")
                    nxt["phase"] = AutoPhase.CLOSE
                else:
                    load("read", SynapseArrayOp.READ_WEIGHTS, True)
                    nxt.update(colset=self.colset + 1, phase=AutoPhase.READ)
            if self.phase == AutoPhase.OPEN:
                load("read", SynapseArrayOp.READ_WEIGHTS, True)
                nxt.update(colset=0, phase=AutoPhase.READ)
            elif self.phase == AutoPhase.READ:
                load("write", SynapseArrayOp.WRITE_WEIGHTS)
                nxt["phase"] = AutoPhase.WRITE
            elif self.phase == AutoPhase.WRITE:
                if self.no_reset:
                    next_colset()
                else:
                    load("rst", SynapseArrayOp.RESET_CORRELATION)
                    nxt["phase"] = AutoPhase.RESET
            elif self.phase == AutoPhase.RESET:
                next_colset()
            elif self.row != self.last_row:
                load("start")
                nxt.update(row=0 if self.row == N_ROWS - 1 else self.row + 1,
                           phase=AutoPhase.OPEN)
            elif _CTRL.decode(regs["ctrl"][0])["continuous"]:
                load("start")
                nxt.update(row=self.first_row, phase=AutoPhase.OPEN)
            else:
                nxt.update(active=False, auto=False)

        if ctrl_write is not None and not self.active:
            self._start(ctrl_write, cnfg, regs, load, nxt)

        starts = nxt.get("req", self.req) and (not self.req or ack)
        for name, value in nxt.items():
            setattr(self, name, value)
        if starts:
            self._req_start = t + 1
            self.requests += 1
        self.cycle = t + 1

    def run(self, regs: dict, n_cycles: int) -> None:
        """Simulate ``n_cycles`` cycles with the register words ``regs`` constant and no CTRL
        write: the same as ``n_cycles`` calls of :meth:`step` (``regs``, None), but cycles in
        which nothing but the wait counter changes are jumped over (an idle sequencer costs
        nothing; a busy one costs one :meth:`step` per access acknowledgement and per
        command phase)."""
        end = self.cycle + n_cycles
        while self.cycle < end:
            t = self.cycle
            if not self.active:
                nxt = end                                    # nothing starts without CTRL
            elif self.req:
                nxt = self._req_start + self._latency(self.requests - 1)    # the ack cycle
            else:
                nxt = t + max(self.cnt - 1, 0)               # cnt <= 1: the phase is done
            if nxt > t:
                k = min(nxt, end) - t
                self.cnt = max(self.cnt - k, 0)
                self.cycle = t + k
            else:
                self.step(regs)

    def _start(self, word, cnfg, regs, load, nxt):
        c = _CTRL.decode(word)
        try:
            cmd = Command(c["cmd"])
        except ValueError:
            return                                   # unused code (8, 11..15): nothing
        if (not c["newcmd"] or cmd == Command.IDLE or c["row"] >= N_ROWS
                or (cmd == Command.AUTO and c["last_row"] >= N_ROWS)):
            return
        nxt.update(row=c["row"], colset=c["sel"], scc=c["scc"], sca=c["sca"],
                   patterns=cnfg["patterns"])
        if cmd in (Command.START_READ, Command.START_RDEC):
            load("start")
        elif cmd == Command.READ:
            load("read", SynapseArrayOp.READ_WEIGHTS, c["encr"])
        elif cmd == Command.RDEC:
            load("read", SynapseArrayOp.READ_DECODERS)
        elif cmd in (Command.WRITE, Command.WDEC):
            load("write", SynapseArrayOp.WRITE_WEIGHTS if cmd == Command.WRITE
                 else SynapseArrayOp.WRITE_DECODERS)
            nxt["wdata"] = list(regs["synin"])
        elif cmd == Command.CLOSE_ROW:
            load("close")
        elif cmd == Command.RST_CORR:
            load("rst", SynapseArrayOp.RESET_CORRELATION)
            nxt["mask"] = regs["synrst"][0]
        else:                                        # AUTO
            load("start")
            nxt.update(auto=True, first_row=c["row"], last_row=c["last_row"], colset=0,
                       no_reset=bool(c["without_reset"]), phase=AutoPhase.OPEN)
