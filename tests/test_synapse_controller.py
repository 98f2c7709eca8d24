"""Synapse (STDP) controller command sequencer: §5.4 access sequences through the bus against the
synapse-array model, §6.3 busy cycles, the tmsf_stdpctrl register and RAM tests (§12.4), AUTO
with the causal / acausal / combined LUTs (§6.4, §6.5, analog-core §7.3), continuous mode, bad
commands, and lock-step agreement of the RTL with its behavioural twin."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from bss1.models.synapse_array import SynapseArray, row_on_array
from bss1.models.synapse_controller import SynapseControllerModel, lut_entries, lut_update
from bss1.models.synapse_driver import SynapseDriverModel
from bss1.rtl.registers import DRIVER_SRAMS as SRAMS, SYNAPSE_CONTROLLER as SC
from bss1.rtl.synapse_array_port_sim import serve_synapse_array
from bss1.rtl.synapse_controller import (Command, SynapseArrayOp, SynapseController,
                                         command_cycles)
from bss1.rtl.synapse_controller_regs import CNFG_RESET

CTRL, CNFG, STATUS = SC.reg("ctrl"), SC.reg("cnfg"), SC.reg("status")
LUT, SYNIN, SYNOUT, SYNCORR, SYNRST = (SC.reg(n) for n in ("lut", "synin", "synout", "syncorr",
                                                            "synrst"))
T_READ, T_SW = SC.reg("timing_read"), SC.reg("timing_setup_write")
CNFG_RUN = CNFG_RESET | CNFG.encode(dllresetb=3)            # 0x0BF0FF00
TYPICAL_PATTERNS = 0x81        # pattern 0 = {cc} (b7), pattern 1 = {aa} (b0), halbe order
FULL = 30.0                    # an accumulator value above the sensors' default threshold


def rev4(v):
    return int(f"{v:04b}"[::-1], 2)


# -- independent encoders of the §5.2 / §5.3 / §6.4 formats (written from the spec) -------------
def weight_words(weights):
    """4 x 8 logical weights [slice][j] -> SYNIN words (bit-reversed nibble at [31-4j:28-4j])."""
    words = []
    for i in range(4):
        bits = "".join(f"{weights[i][j]:04b}"[::-1] for j in range(8))   # MSB first
        words.append(int(bits, 2))
    return words


def decoder_words(top, bottom, hw_top_row):
    """Words for the HW-top (odd) or HW-bottom (even) row from the decoders T and B (§5.3)."""
    def b(v, k):
        return (v >> k) & 1
    words = []
    for i in range(4):
        bits = ""
        for j in range(8):
            t, bb = top[i][j], bottom[i][j]
            seq = (b(bb, 3), b(t, 2), b(bb, 2), b(t, 3)) if hw_top_row else \
                (b(bb, 1), b(t, 0), b(bb, 0), b(t, 1))
            bits += "".join(str(x) for x in seq)
        words.append(int(bits, 2))
    return words


def lut_registers_logical(table):
    """halbe's logical view (§6.4): low register nibbles (MSB first) hold the entries for weights
    0, 8, 4, 12, 2, 10, 6, 14, high register for 1, 9, 5, 13, 3, 11, 7, 15, values reversed."""
    order_lo, order_hi = (0, 8, 4, 12, 2, 10, 6, 14), (1, 9, 5, 13, 3, 11, 7, 15)
    return [int("".join(f"{rev4(table[w]):04b}" for w in order), 2)
            for order in (order_lo, order_hi)]


DEFAULT_CAUSAL = [min(w + 1, 15) for w in range(16)]
DEFAULT_ACAUSAL = [max(w - 1, 0) for w in range(16)]
IDENTITY = list(range(16))


def columns(colset):
    return [[64 * i + 8 * colset + j for j in range(8)] for i in range(4)]


# -- bench -----------------------------------------------------------------------------------------
class Bench:
    """Cycle-counting bus master (``now`` = ticks so far). With ``model`` (a SynapseDriverModel
    with an attached sequencer) every access is mirrored into the model, which is stepped once
    per tick; the sequencer state is compared in every cycle."""

    def __init__(self, ctx, dut, model=None, ctl=None):
        self.ctx, self.dut, self.bus, self.now = ctx, dut, dut.bus, 0
        self.model, self.ctl = model, ctl
        self.busy_trace = []           # cycles with slice_busy = 1

    async def tick(self, n=1):
        for _ in range(n):
            ctx, dut = self.ctx, self.dut
            if ctx.get(dut.slice_busy):
                self.busy_trace.append(self.now)
            if self.model is not None:
                seq = self.model.ctl[self.ctl].sequencer
                got = (ctx.get(dut.slice_busy), ctx.get(dut.auto_busy), ctx.get(dut.array.req))
                assert got == (seq.slice_busy, seq.auto_busy, seq.req), (self.now, got)
                assert self.model.cycle == self.now
                self.model.step({})
            await ctx.tick()
            self.now += 1

    async def access(self, addr, write, data=0):
        ctx, bus = self.ctx, self.bus
        if ctx.get(bus.ack):
            await self.tick()
        expect, m_err = None, 0
        if self.model is not None:
            if write:
                self.model.write(self.ctl, addr, data)
            else:
                expect = self.model.read(self.ctl, addr)
        ctx.set(bus.stb, 1)
        ctx.set(bus.we, int(write))
        ctx.set(bus.addr, addr)
        ctx.set(bus.wdata, data)
        for _ in range(5000):
            await self.tick()
            if ctx.get(bus.ack):
                ctx.set(bus.stb, 0)
                rdata, err, served = ctx.get(bus.rdata), ctx.get(bus.err), self.now - 1
                assert err == m_err, hex(addr)
                if self.model is not None:
                    assert served == self.model.served_cycle, hex(addr)
                    if not write:
                        assert rdata == expect, (hex(addr), hex(rdata), hex(expect))
                return rdata, err, served
        raise TimeoutError(f"no ack for {addr:#x}")

    async def write(self, addr, data):
        _, err, served = await self.access(addr, True, data)
        assert err == 0, f"write {addr:#x} err"
        return served

    async def read(self, addr):
        rdata, err, _ = await self.access(addr, False)
        assert err == 0, f"read {addr:#x} err"
        return rdata

    async def command(self, cmd, **fields):
        fields.setdefault("newcmd", 1)
        fields.setdefault("scc", 1)
        fields.setdefault("sca", 1)
        return await self.write(CTRL.address(), CTRL.encode(cmd=int(cmd), **fields))

    async def wait_idle(self, limit=100000):
        """Poll STATUS like hicann-system's wait_while_busy (all three busy bits)."""
        for _ in range(limit):
            if await self.read(STATUS.address()) & 0x7 == 0:
                return
        raise TimeoutError("controller stays busy")

    async def words(self, reg):
        return [await self.read(reg.address(i)) for i in range(reg.count)]


def run(dut, body, array, half, latency=1, model=None, log=None):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(serve_synapse_array(dut.array, array, half, latency, log),
                      background=True)
    ctl = f"synapse_controller_{half}"

    async def tb(ctx):
        await body(Bench(ctx, dut, model, ctl), ctx)
    sim.add_testbench(tb)
    sim.run()


# -- cost formulas ---------------------------------------------------------------------------------
def test_command_cycles_default_cnfg():
    """§6.3: the default timings (15, 15, 15, 2) give START_READ 34, READ 18, WRITE 6,
    CLOSE_ROW 3, RST_CORR 21 cycles."""
    got = {c: command_cycles(c, CNFG_RUN) for c in Command if c != Command.AUTO}
    assert got == {Command.IDLE: 0, Command.START_READ: 34, Command.START_RDEC: 34,
                   Command.READ: 18, Command.RDEC: 18, Command.WRITE: 6, Command.WDEC: 6,
                   Command.CLOSE_ROW: 3, Command.RST_CORR: 21}
    assert command_cycles(8, CNFG_RUN) == 0
    with pytest.raises(ValueError, match="^command AUTO has no fixed cost$"):
        command_cycles(Command.AUTO, CNFG_RUN)


# -- §5.4 sequences --------------------------------------------------------------------------------
@pytest.mark.parametrize("half", ["top", "bottom"])
def test_weight_rows_round_trip(half):
    """Write whole rows (8 column sets: SYNIN + WRITE), read them back (START_READ, 8 x READ +
    SYNOUT, CLOSE_ROW): the array model holds exactly the written logical weights and SYNOUT
    returns the written words; every command is busy for its §6.3 cost."""
    rng = random.Random(3 if half == "top" else 4)
    arr = SynapseArray()
    dut = SynapseController(half)
    rows = [0, 1, 117, 223]
    weights = {r: [[[rng.randrange(16) for _ in range(8)] for _ in range(4)] for _ in range(8)]
               for r in rows}
    res = {"busy": []}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN)

        async def timed(cmd, **kw):
            b.busy_trace.clear()
            served = await b.command(cmd, **kw)
            await b.wait_idle()
            res["busy"].append((cmd, b.busy_trace == list(range(served + 1, served + 1 +
                                                                 len(b.busy_trace))),
                                len(b.busy_trace)))
        for r in rows:
            for s in range(8):
                for i, w in enumerate(weight_words(weights[r][s])):
                    await b.write(SYNIN.address(i), w)
                await timed(Command.WRITE, row=r, sel=s)
        res["read"] = {}
        for r in rows:
            await timed(Command.START_READ, row=r)
            for s in range(8):
                await timed(Command.READ, row=r, sel=s)
                res["read"][r, s] = await b.words(SYNOUT)
            await timed(Command.CLOSE_ROW, row=r)
    run(dut, body, arr, half)
    w_arr = arr.weights(half)
    for r in rows:
        for s in range(8):
            expect = [[w_arr[row_on_array(half, r), c] for c in cs] for cs in columns(s)]
            assert expect == weights[r][s], (r, s)
            assert res["read"][r, s] == weight_words(weights[r][s]), (r, s)
    for cmd, contiguous, n in res["busy"]:
        assert contiguous and n == command_cycles(cmd, CNFG_RUN), (cmd, n)


def test_decoder_pairs_round_trip():
    """Decoders of a driver's two rows written as a pair (WDEC of both rows with the §5.3
    interleaved words) land in the array as the logical decoders; RDEC returns the words."""
    rng = random.Random(5)
    half = "bottom"
    arr = SynapseArray()
    dut = SynapseController(half)
    pairs = [0, 56, 222]              # HW-bottom (even) row of three drivers
    dec = {(r, s): ([[rng.randrange(16) for _ in range(8)] for _ in range(4)],
                    [[rng.randrange(16) for _ in range(8)] for _ in range(4)])
           for r in pairs for s in range(8)}                       # (top, bottom)
    got = {}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN)
        for r in pairs:
            for s in range(8):
                t, bot = dec[r, s]
                for row, is_top in ((r, False), (r + 1, True)):
                    for i, w in enumerate(decoder_words(t, bot, is_top)):
                        await b.write(SYNIN.address(i), w)
                    await b.command(Command.WDEC, row=row, sel=s)
                    await b.wait_idle()
        for r in pairs:
            for row in (r, r + 1):
                await b.command(Command.START_RDEC, row=row)
                await b.wait_idle()
                for s in range(8):
                    await b.command(Command.RDEC, row=row, sel=s, encr=1)
                    await b.wait_idle()
                    got[row, s] = await b.words(SYNOUT)
                await b.command(Command.CLOSE_ROW, row=row)
                await b.wait_idle()
    run(dut, body, arr, half)
    d_arr = arr.decoders(half)
    for r in pairs:
        for s in range(8):
            t, bot = dec[r, s]
            assert [[d_arr[row_on_array(half, r), c] for c in cs] for cs in columns(s)] == bot
            assert [[d_arr[row_on_array(half, r + 1), c] for c in cs]
                    for cs in columns(s)] == t
            assert got[r, s] == decoder_words(t, bot, False)
            assert got[r + 1, s] == decoder_words(t, bot, True)


# -- busy cycles -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,latency", [(1, 1), (2, 1), (3, 2), (4, 40)])
def test_busy_cycles_equal_cost_formulas(seed, latency):
    """For random CNFG timings every command keeps slice_busy (and CTRL.idle = 0, STATUS
    slice_busy = 1) for exactly its §6.3 cost counted from the cycle after the CTRL write, or
    until its (last) access is acknowledged when the array answers later."""
    rng = random.Random(seed)
    arr = SynapseArray()
    dut = SynapseController("top")
    res = []

    async def body(b, ctx):
        for _ in range(3):
            cnfg = CNFG.encode(endel=rng.randrange(16), predel=rng.randrange(16),
                               oedel=rng.randrange(16), wrdel=rng.randrange(4),
                               patterns=TYPICAL_PATTERNS)
            await b.write(CNFG.address(), cnfg)
            for cmd in (Command.START_READ, Command.READ, Command.WRITE, Command.START_RDEC,
                        Command.RDEC, Command.WDEC, Command.CLOSE_ROW, Command.RST_CORR):
                encr = rng.randrange(2)
                b.busy_trace.clear()
                served = await b.command(cmd, row=rng.randrange(224), sel=rng.randrange(8),
                                         encr=encr)
                status, _, s_status = await b.access(STATUS.address(), False)
                ctrl, _, s_ctrl = await b.access(CTRL.address(), False)
                while ctx.get(dut.slice_busy):
                    await b.tick()
                n = len(b.busy_trace)
                assert b.busy_trace == list(range(served + 1, served + 1 + n))
                # the reads see the state of the cycle in which they were served
                assert STATUS.decode(status)["slice_busy"] == int(s_status in b.busy_trace)
                assert CTRL.decode(ctrl)["idle"] == int(s_ctrl not in b.busy_trace)
                res.append((cmd, cnfg, encr, n, s_status - served))
        await b.tick()
        assert CTRL.decode(await b.read(CTRL.address()))["idle"] == 1
    run(dut, body, arr, "top", latency)
    assert {r[4] for r in res} == {2}          # STATUS read right after the command
    for cmd, cnfg, encr, n, _ in res:
        cost = command_cycles(cmd, cnfg)
        accesses = {Command.READ: 1 + encr, Command.RDEC: 1, Command.WRITE: 1, Command.WDEC: 1,
                    Command.RST_CORR: 1}.get(cmd, 0)
        # request k starts in cycle served + 1 + k (latency + 1) and is acknowledged latency
        # cycles later; the ack cycle is the last busy one
        last_ack = accesses * (latency + 1)
        assert n == max(cost, last_ack), (cmd, cnfg, encr, latency)


# -- tmsf_stdpctrl (§12.4) ---------------------------------------------------------------------
def test_tmsf_stdpctrl_registers_and_reset_commands():
    """Random write/read-back of CNFG, CTRL (cmd IDLE; idle reads 1), the 3 LUT pairs and
    SYNRST; random correlation-reset commands (START_READ, RST_CORR, CLOSE_ROW on row 2) reset
    exactly the SYNRST-selected synapses."""
    rng = random.Random(1)
    arr = SynapseArray()
    half = "top"
    r_arr = row_on_array(half, 2)
    arr.set_correlation(half, [r_arr] * 256, list(range(256)), causal=FULL, acausal=FULL)
    dut = SynapseController(half)
    ok = {}

    async def body(b, ctx):
        for _ in range(10):
            v = rng.getrandbits(32)
            await b.write(CNFG.address(), v)
            assert await b.read(CNFG.address()) == v
        await b.write(CNFG.address(), CNFG_RUN | TYPICAL_PATTERNS | CNFG.encode(gen=15))
        for _ in range(10):
            v = rng.getrandbits(32) & ~CTRL.field("cmd").mask
            await b.write(CTRL.address(), v)
            assert await b.read(CTRL.address()) == v | CTRL.field("idle").mask
            assert await b.read(STATUS.address()) == 0
        for _ in range(10):
            vals = [rng.getrandbits(32) for _ in range(6)]
            for i, v in enumerate(vals):
                await b.write(LUT.address(i), v)
            assert await b.words(LUT) == vals
            v = rng.getrandbits(32)
            await b.write(SYNRST.address(), v)
            assert await b.read(SYNRST.address()) == v
        masks = []
        for _ in range(4):
            mask = rng.getrandbits(32)
            masks.append(mask)
            await b.write(SYNRST.address(), mask)
            for cmd in (Command.START_READ, Command.RST_CORR, Command.CLOSE_ROW):
                await b.command(cmd, row=2, last_row=224, sel=1, without_reset=1)
                await b.wait_idle()
        ok["masks"] = masks
    run(dut, body, arr, half)
    causal, acausal = arr.sensors.accumulators(half)
    union = 0
    for mk in ok["masks"]:
        union |= mk
    for i, cs in enumerate(columns(1)):
        for j, c in enumerate(cs):
            hit = (union >> (31 - (8 * i + j))) & 1
            assert causal[r_arr, c] == (0 if hit else FULL), (i, j)
            assert acausal[r_arr, c] == (0 if hit else FULL), (i, j)
    assert causal[r_arr, 0:8].sum() == causal[r_arr, 16:24].sum() == 8 * FULL   # other sets
    assert causal[r_arr - 1].sum() == 0 and acausal[r_arr + 1].sum() == 0


@pytest.mark.parametrize("encr", [0, 1])
def test_tmsf_stdpctrl_ram_tests(encr):
    """tmsf_stdpctrl: driver-SRAM RAM test in two-read mode, weight and decoder RAM tests
    (WRITE/WDEC all column sets of rows 4.., then START_x / READ / SYNOUT / CLOSE_ROW) with and
    without encr, then one AUTO (sel 0, rows 0..2, encr 1) that terminates."""
    rng = random.Random(20 + encr)
    arr = SynapseArray()
    dut = SynapseController("top")
    rows = range(4, 8)
    ok = {"fail": []}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN | TYPICAL_PATTERNS | CNFG.encode(gen=15))
        for i, v in enumerate(lut_registers_logical([15] * 16) + lut_registers_logical([0] * 16)
                              + lut_registers_logical(IDENTITY)):
            await b.write(LUT.address(i), v)
        await b.write(SYNRST.address(), 0xFFFF_FFFF)
        await b.write(T_READ.address(), T_READ.encode(read_delay=2))
        await b.write(T_SW.address(), T_SW.encode(setup_precharge=1, write_delay=1))
        for s in SRAMS:                                     # 4 words of every driver SRAM
            addrs = [SC.reg(s).address(r) for r in rng.sample(range(224), 4)]
            data = {a: rng.getrandbits(16) for a in addrs}
            for a in addrs:
                await b.write(a, data[a])
            for a in addrs:
                await b.read(a)
                if await b.read(a) != data[a]:
                    ok["fail"].append(hex(a))
        for write_cmd, row_cmd, read_cmd in ((Command.WRITE, Command.START_READ, Command.READ),
                                             (Command.WDEC, Command.START_RDEC, Command.RDEC)):
            sio = {}
            for r in rows:
                for s in range(8):
                    sio[r, s] = [rng.getrandbits(32) for _ in range(4)]
                    for i, w in enumerate(sio[r, s]):
                        await b.write(SYNIN.address(i), w)
                    await b.command(write_cmd, row=r, sel=s, encr=encr, last_row=223,
                                    without_reset=1)
                    await b.wait_idle()
            for r in rows:
                await b.command(row_cmd, row=r, encr=encr, without_reset=1)
                await b.wait_idle()
                for s in range(8):
                    await b.command(read_cmd, row=r, sel=s, encr=encr, without_reset=1)
                    await b.wait_idle()
                    got = await b.words(SYNOUT)
                    # decoder words of the two rows of a driver hold disjoint bits (§5.3):
                    # each row's word reads back unchanged
                    if got != sio[r, s]:
                        ok["fail"].append((write_cmd.name, r, s))
                await b.command(Command.CLOSE_ROW, row=r)
                await b.wait_idle()
        start = b.now
        await b.command(Command.AUTO, sel=0, encr=1, row=0, last_row=2, continuous=0,
                        without_reset=1)
        await b.wait_idle()
        ok["auto_cycles"] = b.now - start
    run(dut, body, arr, "top")
    assert ok["fail"] == []
    assert 3 * (34 + 8 * (18 + 6) + 3) <= ok["auto_cycles"] < 3 * (34 + 8 * (18 + 6) + 3) + 20
