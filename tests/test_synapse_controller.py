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
from bss1.rtl.synapse_controller import (Command, SynapseArrayOp, SynapseArrayPort,
                                         SynapseController, command_cycles)
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


# -- §5.4 sequences ------------------------------------------------------------------------------
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



def test_read_with_encr_fills_syncorr():
    """READ with encr = 1 evaluates the correlation of the column set into SYNCORR (word 0 =
    pattern 0 = causal, word 1 = pattern 1 = acausal with the typical patterns, bit
    31 - (8 slice + j)); scc = 0 / sca = 0 disconnect the capacitor; encr = 0 leaves SYNCORR."""
    rng = random.Random(9)
    half, r, s = "top", 40, 5
    arr = SynapseArray()
    kinds = _prepare_stdp(arr, half, [r], rng)
    got = {}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN | TYPICAL_PATTERNS)
        for scc, sca, encr in ((1, 1, 1), (0, 1, 1), (1, 0, 1), (0, 0, 0)):
            await b.command(Command.READ, row=r, sel=s, encr=encr, scc=scc, sca=sca)
            await b.wait_idle()
            got[scc, sca, encr] = await b.words(SYNCORR)
    run(SynapseController(half), body, arr, half)

    def word(bit):
        return sum(1 << (31 - (8 * i + j)) for i, cs in enumerate(columns(s))
                   for j, c in enumerate(cs) if kinds[r, c] & bit)
    assert got[1, 1, 1] == [word(1), word(2)]
    assert got[0, 1, 1] == [0, word(2)]
    assert got[1, 0, 1] == [word(1), 0]
    assert got[0, 0, 0] == [word(1), 0]             # not read: still the previous flags
    assert 0 < bin(word(1)).count("1") < 32

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


# -- LUTs (§6.4) ---------------------------------------------------------------------------------
def test_lut_logical_physical_golden():
    """Registers written in halbe's logical view hold the physical table of §6.4:
    LUT_phys[rev4(w)] = rev4(T[w]); with the default LUTs an update with the causal flag
    increments, with the acausal flag decrements, with both keeps, without flags keeps."""
    rng = random.Random(8)
    for table in (DEFAULT_CAUSAL, DEFAULT_ACAUSAL, IDENTITY,
                  [rng.randrange(16) for _ in range(16)]):
        phys = lut_entries(*lut_registers_logical(table))
        assert [rev4(phys[rev4(w)]) for w in range(16)] == table
    luts = (lut_registers_logical(DEFAULT_ACAUSAL) + lut_registers_logical(DEFAULT_CAUSAL)
            + lut_registers_logical(IDENTITY))
    weights = [[(4 * i + j) % 16 for j in range(8)] for i in range(4)]
    words = weight_words(weights)
    bit = {(i, j): 1 << (31 - (8 * i + j)) for i in range(4) for j in range(8)}
    kinds = {(i, j): (i * 8 + j) % 4 for i in range(4) for j in range(8)}  # 0 none 1 c 2 a 3 both
    c0 = sum(bit[k] for k, v in kinds.items() if v in (1, 3))
    c1 = sum(bit[k] for k, v in kinds.items() if v in (2, 3))
    new = lut_update(words, c0, c1, luts)
    expect = [[{0: w, 1: min(w + 1, 15), 2: max(w - 1, 0), 3: w}[kinds[i, j]]
               for j, w in enumerate(row)] for i, row in enumerate(weights)]
    assert new == weight_words(expect)


def _prepare_stdp(arr, half, rows, rng, sub_threshold=10.0):
    """Random weights; per synapse of ``rows`` (HW) a random flag kind 0 none, 1 causal,
    2 acausal, 3 both (accumulators FULL, none: both sub-threshold). Returns
    {(row, column): kind}."""
    arr.set_weights(half, np.array([[rng.randrange(16) for _ in range(256)]
                                    for _ in range(224)]))
    kinds = {}
    for r in rows:
        ra = row_on_array(half, r)
        for c in range(256):
            k = rng.randrange(4)
            kinds[r, c] = k
            arr.set_correlation(half, ra, c, causal=FULL if k & 1 else sub_threshold,
                                acausal=FULL if k & 2 else sub_threshold)
    return kinds


@pytest.mark.parametrize("luts,without_reset", [("default", 0), ("random", 0), ("random", 1)])
def test_auto_follows_luts_once(luts, without_reset):
    """AUTO over two rows with prepared correlation: every synapse follows the causal / acausal
    / combined LUT (or keeps its weight without flag) exactly once; flagged synapses selected by
    SYNRST lose their correlation, the others keep it; with without_reset nothing is reset and a
    second AUTO applies the LUTs again, otherwise the second AUTO changes nothing. auto_busy
    lasts rows x (34 + 8 (18 + 6 [+ 21]) + 3) cycles."""
    rng = random.Random(hash((luts, without_reset)) & 0xFFFF)
    half, rows = "top", [5, 6]
    arr = SynapseArray()
    kinds = _prepare_stdp(arr, half, rows, rng)
    w0 = arr.weights(half).copy()
    acc0 = [a.copy() for a in arr.sensors.accumulators(half)]
    if luts == "default":
        tables = {1: DEFAULT_CAUSAL, 2: DEFAULT_ACAUSAL, 3: IDENTITY}
    else:
        tables = {k: [rng.randrange(16) for _ in range(16)] for k in (1, 2, 3)}
    synrst = rng.getrandbits(32)
    dut = SynapseController(half)
    res = {}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN | TYPICAL_PATTERNS)
        regs = (lut_registers_logical(tables[2]) + lut_registers_logical(tables[1])
                + lut_registers_logical(tables[3]))
        for i, v in enumerate(regs):
            await b.write(LUT.address(i), v)
        await b.write(SYNRST.address(), synrst)
        for n in range(2):
            served = await b.command(Command.AUTO, row=rows[0], last_row=rows[-1], sel=3,
                                     without_reset=without_reset)
            auto = []
            while ctx.get(dut.auto_busy):
                auto.append(b.now)
                await b.tick()
            res[n] = (auto[0] - served, len(auto), arr.weights(half).copy(),
                      [a.copy() for a in arr.sensors.accumulators(half)])
            res[f"syncorr{n}"] = await b.words(SYNCORR)
    run(dut, body, arr, half)
    per_row = 34 + 8 * (18 + 6 + (0 if without_reset else 21)) + 3
    assert res[0][:2] == res[1][:2] == (1, len(rows) * per_row)

    def apply(w, k):
        return tables[k][w] if k else w
    w1, acc1 = res[0][2], res[0][3]
    w2 = res[1][2]
    expect1 = w0.copy()
    expect2 = w0.copy()
    for (r, c), k in kinds.items():
        ra = row_on_array(half, r)
        expect1[ra, c] = apply(w0[ra, c], k)
        reset = not without_reset and k and (synrst >> (31 - (8 * (c // 64) + c % 8))) & 1
        for a0, a1 in zip(acc0, acc1):
            assert a1[ra, c] == (0 if reset else a0[ra, c]), (r, c, k)
        # second pass: a synapse keeps its flags unless it was reset
        expect2[ra, c] = apply(expect1[ra, c], 0 if reset else k)
    assert np.array_equal(w1, expect1)
    assert np.array_equal(w2, expect2)
    # SYNCORR shows the flags of the last evaluated column set (row 6, set 7) of the 2nd pass
    r, s = rows[-1], 7
    assert res["syncorr1"] == [
        sum(1 << (31 - (8 * i + j)) for i, cs in enumerate(columns(s)) for j, c in enumerate(cs)
            if (0 if not without_reset and (synrst >> (31 - (8 * i + j))) & 1 else
                kinds[r, c]) & bit)
        for bit in (1, 2)]


FAST = CNFG.encode(endel=0, predel=0, oedel=1, wrdel=0, patterns=TYPICAL_PATTERNS)
FAST_ROW = 4 + 8 * (4 + 4) + 3                 # START_READ, 8 x (READ, WRITE), CLOSE_ROW


def test_auto_continuous_and_row_wrap():
    """continuous = 1 restarts at the first row after the last; a CTRL write with
    continuous = 0 ends the run after the pass in progress. Rows count 223 -> 0."""
    half = "bottom"
    arr = SynapseArray()
    r_a = row_on_array(half, 223)
    arr.set_synapse(half, r_a, 9, weight=2)
    arr.set_correlation(half, r_a, 9, causal=FULL)             # causal flag, never reset
    dut = SynapseController(half)
    log = []
    res = {}

    async def body(b, ctx):
        await b.write(CNFG.address(), FAST)
        regs = (lut_registers_logical(DEFAULT_ACAUSAL) + lut_registers_logical(DEFAULT_CAUSAL)
                + lut_registers_logical(IDENTITY))
        for i, v in enumerate(regs):
            await b.write(LUT.address(i), v)
        start = await b.command(Command.AUTO, row=222, last_row=1, continuous=1,
                                without_reset=1)
        await b.tick(int(2.5 * 4 * FAST_ROW))
        stop = await b.write(CTRL.address(), CTRL.encode(cmd=0, continuous=0, row=222,
                                                         last_row=1))
        while ctx.get(dut.auto_busy):
            await b.tick()
        res["cycles"] = b.now - start - 1
        res["stop"] = stop - start
    run(dut, body, arr, half, log=log)
    reads = [(row, colset) for (_, op, row, colset, *_) in log
             if op == SynapseArrayOp.READ_WEIGHTS]
    one_pass = [(r, s) for r in (222, 223, 0, 1) for s in range(8)]
    assert reads == one_pass * 3
    assert res["cycles"] == 3 * 4 * FAST_ROW and res["stop"] < res["cycles"]
    assert arr.synapse(half, r_a, 9)[0] == 5                  # +1 per pass


def test_bad_commands():
    """Unused codes (8, 11..15), newcmd = 0, rows above 223 and commands while busy (a single
    command or AUTO) start nothing: no busy cycle, no array access; the CTRL word is stored."""
    half = "top"
    arr = SynapseArray()
    dut = SynapseController(half)
    log = []
    res = {"ctrl": []}

    async def body(b, ctx):
        await b.write(CNFG.address(), CNFG_RUN)
        for i in range(4):
            await b.write(SYNIN.address(i), 0xFFFF_FFFF)
        for code in (8, 11, 12, 13, 14, 15):
            word = CTRL.encode(cmd=code, newcmd=1, row=3, sel=2, encr=1)
            await b.write(CTRL.address(), word)
            res["ctrl"].append((word, await b.read(CTRL.address())))
        await b.command(Command.WRITE, row=3, newcmd=0)
        await b.command(Command.WRITE, row=224)
        await b.command(Command.WRITE, row=255)
        await b.command(Command.AUTO, row=3, last_row=224)
        await b.tick(30)
        res["quiet"] = list(b.busy_trace)
        # while busy: START_READ running, WRITE ignored
        served = await b.command(Command.START_READ, row=7)
        await b.command(Command.WRITE, row=7, sel=0)
        while ctx.get(dut.slice_busy):
            await b.tick()
        res["start_read"] = (list(b.busy_trace), served)
        res["stored"] = CTRL.decode(await b.read(CTRL.address()))
        # while AUTO runs: a WRITE is ignored, AUTO takes its normal time
        await b.write(CNFG.address(), FAST)
        start = await b.command(Command.AUTO, row=10, last_row=10, without_reset=1)
        await b.tick(20)
        await b.command(Command.WRITE, row=11, sel=0)
        while ctx.get(dut.auto_busy):
            await b.tick()
        res["auto"] = b.now - start - 1
    run(dut, body, arr, half, log=log)
    for word, got in res["ctrl"]:
        assert got == (word & ~CTRL.field("cmd").mask) | CTRL.field("idle").mask
    assert res["quiet"] == []
    trace, served = res["start_read"]
    assert trace == list(range(served + 1, served + 1 + 34))
    assert res["stored"]["cmd"] == 0 and res["stored"]["row"] == 7
    assert res["auto"] == FAST_ROW
    assert not arr.weights(half).any()          # no WRITE reached the array
    assert {row for (_, _, row, *_) in log} == {10}


# -- lock-step with the twin -----------------------------------------------------------------------
def _twin_arrays(rng):
    arrays = (SynapseArray(), SynapseArray())
    w = np.array([[rng.randrange(16) for _ in range(256)] for _ in range(224)])
    d = np.array([[rng.randrange(16) for _ in range(256)] for _ in range(224)])
    acc = [[[rng.choice([0.0, 10.0, FULL]) for _ in range(256)] for _ in range(224)]
           for _ in range(2)]
    rows = [r for r in range(224) for _ in range(256)]
    cols = list(range(256)) * 224
    for a in arrays:
        for half in ("top", "bottom"):
            a.set_weights(half, w)
            a.set_decoders(half, d)
            a.set_correlation(half, rows, cols, causal=np.ravel(acc[0]),
                              acausal=np.ravel(acc[1]))
    return arrays


@pytest.mark.parametrize("seed", [1, 2])
def test_rtl_matches_twin_random_commands(seed):
    """Random command sequences (all codes, commands while busy, AUTO incl. continuous, random
    CNFG / LUT / SYNIN / SYNRST, random ack latencies): RTL and twin agree in every cycle
    (slice_busy, auto_busy, req), on every bus read, on every array access and on the final
    array contents."""
    rng = random.Random(seed)
    half = "bottom" if seed % 2 else "top"
    ctl = f"synapse_controller_{half}"
    arr_rtl, arr_model = _twin_arrays(rng)
    lats = [rng.choice([1, 1, 2, 3, 7, 25]) for _ in range(20000)]
    model = SynapseDriverModel()
    seq = SynapseControllerModel(half, arr_model, ack_latency=lambda n: lats[n])
    model.attach_sequencer(ctl, seq)
    dut = SynapseController(half)
    log = []
    res = {"n": 0}
    codes = [c for c in Command if c != Command.AUTO] * 3 + [Command.AUTO, 8, 11, 15]

    async def body(b, ctx):
        for _ in range(600):
            x = rng.random()
            if x < 0.08:
                v = rng.getrandbits(32)
                if rng.random() < 0.7:       # mostly short timings: more commands per cycle
                    v &= ~(CNFG.field("endel").mask | CNFG.field("predel").mask |
                           CNFG.field("oedel").mask) | CNFG.encode(endel=1, predel=2, oedel=1)
                await b.write(CNFG.address(), v)
            elif x < 0.16:
                reg = rng.choice([LUT, SYNIN, SYNRST])
                await b.write(reg.address(rng.randrange(reg.count)), rng.getrandbits(32))
            elif x < 0.55:
                cmd = rng.choice(codes)
                row = rng.randrange(224) if rng.random() < 0.95 else rng.randrange(224, 256)
                last = (row + rng.randrange(2)) % 224 if row < 224 else row
                await b.write(CTRL.address(), CTRL.encode(
                    cmd=int(cmd), newcmd=int(rng.random() < 0.9), row=row, last_row=last,
                    sel=rng.randrange(8), encr=rng.randrange(2),
                    continuous=int(rng.random() < 0.1), without_reset=rng.randrange(2),
                    scc=rng.randrange(2), sca=rng.randrange(2)))
                if rng.random() < 0.5:            # software waits for the command
                    while await b.read(STATUS.address()) & 0x6 and not ctx.get(dut.auto_busy):
                        pass
            elif x < 0.85:
                reg = rng.choice([STATUS, CTRL, SYNOUT, SYNCORR])
                await b.read(reg.address(rng.randrange(reg.count)))
            elif x < 0.9:
                s = SC.reg(rng.choice(SRAMS))
                await b.access(s.address(rng.randrange(224)), rng.random() < 0.5,
                               rng.getrandbits(16))
            else:
                await b.tick(rng.randrange(1, 60))
            res["n"] += 1
        await b.write(CTRL.address(), 0)           # stop a continuous run
        while ctx.get(dut.slice_busy):
            await b.tick()
        await b.read(SYNOUT.address(0))
    run(dut, body, arr_rtl, half, latency=lambda n: lats[n], model=model, log=log)
    assert res["n"] == 600
    assert len(log) > 50 and log == seq.log
    assert {op for (_, op, *_) in log} == set(SynapseArrayOp)
    for h in ("top", "bottom"):
        assert np.array_equal(arr_rtl.weights(h), arr_model.weights(h))
        assert np.array_equal(arr_rtl.decoders(h), arr_model.decoders(h))
        for a, b_ in zip(arr_rtl.sensors.accumulators(h), arr_model.sensors.accumulators(h)):
            assert np.array_equal(a, b_)


def test_bad_input_messages():
    arr = SynapseArray()
    with pytest.raises(ValueError, match=r"^half 'middle' not one of 'top', 'bottom'$"):
        SynapseControllerModel("middle", arr)
    with pytest.raises(ValueError, match=r"^ack latency 0 out of range 1\.\.$"):
        SynapseControllerModel("top", arr, ack_latency=0)
    port = SynapseArrayPort().create()
    with pytest.raises(ValueError, match=r"^half 'left' not one of 'top', 'bottom'$"):
        serve_synapse_array(port, arr, "left")
    with pytest.raises(ValueError, match=r"^ack latency 0 out of range 1\.\.$"):
        serve_synapse_array(port, arr, "top", latency=0)
    m = SynapseDriverModel()
    with pytest.raises(ValueError, match=r"^sequencer half 'top' does not match controller "
                                         r"'synapse_controller_bottom'$"):
        m.attach_sequencer("synapse_controller_bottom", SynapseControllerModel("top", arr))
    with pytest.raises(ValueError, match=r"^controller 'synapse_controller_x' not one of "
                                         r"synapse_controller_top, synapse_controller_bottom$"):
        m.attach_sequencer("synapse_controller_x", SynapseControllerModel("top", arr))
    with pytest.raises(ValueError, match=r"^synapse row address 224 out of range 0\.\.223$"):
        arr.read_weights("top", 224, 0)      # what a servicing side answers to a bad row


# -- configuration-phase time: jumping over quiet cycles -------------------------------------------
def _sequencer_state(seq):
    return {k: v for k, v in vars(seq).items() if k not in ("array", "_latency")}


@pytest.mark.parametrize("seed", [3, 4])
def test_advance_equals_cycle_steps(seed):
    """SynapseDriverModel.advance(n) (jumps over quiet cycles) leaves the sequencers, the array,
    the driver SRAMs and every bus read exactly as n step() calls without events, for random
    command sequences (AUTO incl. continuous, commands while busy, random CNFG / LUT / SYNIN,
    driver SRAM accesses, random ack latencies) and random gaps between accesses."""
    rng = random.Random(seed)
    arrays = _twin_arrays(rng)
    lats = [rng.choice([1, 1, 2, 3, 7, 25]) for _ in range(20000)]
    models = []
    for arr in arrays:
        m = SynapseDriverModel()
        for half in ("top", "bottom"):
            m.attach_sequencer(f"synapse_controller_{half}",
                               SynapseControllerModel(half, arr, ack_latency=lambda n: lats[n]))
        models.append(m)
    stepped, jumped = models
    codes = [c for c in Command if c != Command.AUTO] * 3 + [Command.AUTO, 8]
    steps = 0
    for _ in range(400):
        ctl = rng.choice(["synapse_controller_top", "synapse_controller_bottom"])
        x = rng.random()
        if x < 0.08:
            v = rng.getrandbits(32) & ~(CNFG.field("endel").mask | CNFG.field("predel").mask |
                                        CNFG.field("oedel").mask)
            op = ("w", ctl, CNFG.address(), v | CNFG.encode(endel=1, predel=2, oedel=1))
        elif x < 0.16:
            reg = rng.choice([LUT, SYNIN, SYNRST])
            op = ("w", ctl, reg.address(rng.randrange(reg.count)), rng.getrandbits(32))
        elif x < 0.45:
            row = rng.randrange(224)
            op = ("w", ctl, CTRL.address(), CTRL.encode(
                cmd=int(rng.choice(codes)), newcmd=1, row=row,
                last_row=(row + rng.randrange(2)) % 224, sel=rng.randrange(8),
                encr=rng.randrange(2), continuous=int(rng.random() < 0.05),
                without_reset=rng.randrange(2), scc=rng.randrange(2), sca=rng.randrange(2)))
        elif x < 0.8:
            reg = rng.choice([STATUS, CTRL, SYNOUT, SYNCORR])
            op = ("r", ctl, reg.address(rng.randrange(reg.count)))
        else:
            s = SC.reg(rng.choice(SRAMS))
            addr = s.address(rng.randrange(224))
            op = ("w", ctl, addr, rng.getrandbits(16)) if rng.random() < 0.5 else \
                ("r", ctl, addr)
        outs = [m.write(*op[1:]) if op[0] == "w" else m.read(*op[1:]) for m in models]
        assert outs[0] == outs[1], op
        assert stepped.served_cycle == jumped.served_cycle
        gap = rng.choice([0, 1, 1, 2, 2, 2, rng.randrange(3, 40), rng.randrange(40, 400)])
        for _ in range(gap):
            assert stepped.step() == {}
        steps += gap
        jumped.advance(gap)
        assert stepped.cycle == jumped.cycle
        for name in ("synapse_controller_top", "synapse_controller_bottom"):
            a, b = stepped.ctl[name], jumped.ctl[name]
            assert _sequencer_state(a.sequencer) == _sequencer_state(b.sequencer)
            assert a.sequencer.log == b.sequencer.log
            assert a.sram == b.sram and list(a.pending) == list(b.pending)
            for sram in SRAMS:
                for row in range(0, 224, 37):
                    assert stepped.peek_sram(name, sram, row) == jumped.peek_sram(name, sram, row)
    assert steps > 10_000
    assert sum(len(c.sequencer.log) for c in jumped.ctl.values()) > 30
    for h in ("top", "bottom"):
        assert np.array_equal(arrays[0].weights(h), arrays[1].weights(h))
        assert np.array_equal(arrays[0].decoders(h), arrays[1].decoders(h))
