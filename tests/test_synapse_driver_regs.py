"""Register side of the synapse controller: driver SRAMs behind the sequencer (two-access read,
busy timing = the §9.2 cost formula, stalls), register file (tmsf_stdpctrl tests, §12.4),
errors, mirror timing, and agreement with the reference model."""

import random

import pytest
from amaranth.sim import Simulator

from bss1.models import coords
from bss1.models.synapse_driver import SynapseDriverModel
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import DRIVER_SRAMS as SRAMS, SYNAPSE_CONTROLLER as SC
from bss1.rtl.synapse_controller_regs import (CNFG_RESET, SynapseControllerRegs,
                                              TIMING_READ_RESET, TIMING_SETUP_WRITE_RESET,
                                              half_lines, sram_read_cost, sram_write_cost)

T_READ, T_SW = SC.reg("timing_read"), SC.reg("timing_setup_write")
CTRL, CNFG, STATUS = SC.reg("ctrl"), SC.reg("cnfg"), SC.reg("status")


class Bench:
    """Cycle-counting bus master for one slave port (``now`` = ticks done so far; an access
    returns the cycle in which the slave served it)."""

    def __init__(self, ctx, bus):
        self.ctx, self.bus, self.now = ctx, bus, 0

    async def tick(self, n=1):
        for _ in range(n):
            await self.ctx.tick()
            self.now += 1

    async def access(self, addr, write, data=0, settle=True):
        ctx, bus = self.ctx, self.bus
        if settle and ctx.get(bus.ack):
            await self.tick()           # let the previous ack pass: request in a clean cycle
        ctx.set(bus.stb, 1)
        ctx.set(bus.we, int(write))
        ctx.set(bus.addr, addr)
        ctx.set(bus.wdata, data)
        for _ in range(2000):
            await self.tick()
            if ctx.get(bus.ack):
                ctx.set(bus.stb, 0)
                return ctx.get(bus.rdata), ctx.get(bus.err), self.now - 1
        raise TimeoutError(f"no ack for {addr:#x}")

    async def write(self, addr, data):
        _, err, served = await self.access(addr, True, data)
        assert err == 0, f"write {addr:#x} err"
        return served

    async def read(self, addr):
        rdata, err, _ = await self.access(addr, False)
        assert err == 0, f"read {addr:#x} err"
        return rdata


def run(dut, body):
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def tb(ctx):
        await body(Bench(ctx, dut.bus), ctx)
    sim.add_testbench(tb)
    sim.run()


def test_cost_formula_helpers():
    assert sram_write_cost(TIMING_SETUP_WRITE_RESET) == 1 + 2 + 1 + 2
    assert sram_read_cost(TIMING_READ_RESET, TIMING_SETUP_WRITE_RESET) == 1 + 2 + 8 + 2
    sw = T_SW.encode(setup_precharge=8, write_delay=8)
    assert (sram_read_cost(T_READ.encode(read_delay=64), sw), sram_write_cost(sw)) == (76, 20)
    assert CNFG_RESET == 0x0BC0FF00


def test_register_file_tmsf_stdpctrl():
    """Random write/read-back of CNFG, CTRL (cmd forced to IDLE, idle = 1), the 3 LUT pairs,
    SYNIN, SYNRST; reset values; read-only registers; unmapped addresses."""
    rng = random.Random(7)
    dut = SynapseControllerRegs("top")
    seen = {}

    async def body(b, ctx):
        seen["reset"] = [await b.read(SC.reg(n).address()) for n in
                         ("cnfg", "timing_read", "timing_setup_write", "ctrl", "status")]
        for _ in range(6):
            vals = {"cnfg": rng.getrandbits(32), "ctrl": rng.getrandbits(32),
                    "synrst": rng.getrandbits(32)}
            vals.update({("lut", i): rng.getrandbits(32) for i in range(6)})
            vals.update({("synin", i): rng.getrandbits(32) for i in range(4)})
            for k, v in vals.items():
                name, i = (k, 0) if isinstance(k, str) else k
                await b.write(SC.reg(name).address(i), v)
            for k, v in vals.items():
                name, i = (k, 0) if isinstance(k, str) else k
                got = await b.read(SC.reg(name).address(i))
                if name == "ctrl":
                    v = (v & ~CTRL.field("cmd").mask) | CTRL.field("idle").mask
                assert got == v, (k, hex(got), hex(v))
        # read-only registers: writes answer err and change nothing
        for name, i in (("status", 0), ("synout", 2), ("syncorr", 1)):
            addr = SC.reg(name).address(i)
            _, err, _ = await b.access(addr, True, 0xFFFF_FFFF)
            assert err == 1
            assert await b.read(addr) == 0
        # unmapped: SRAM holes, gaps, beyond the block
        for addr in (SC.reg("drv_config").end, SC.reg("drv_gmax").end + 5, 0x502, 0x4003,
                     SC.reg("lut").end, SC.reg("syncorr").end, 0x7FFF, 0x8000):
            for write in (False, True):
                _, err, _ = await b.access(addr, write, 0x1234)
                assert err == 1, hex(addr)
        seen["done"] = True
    run(dut, body)
    assert seen["reset"] == [CNFG_RESET, TIMING_READ_RESET, TIMING_SETUP_WRITE_RESET,
                             CTRL.field("idle").mask, 0]
    assert seen["done"]


@pytest.mark.parametrize("half", ["top", "bottom"])
def test_driver_ram_two_read_mode(half):
    """tmsf_stdpctrl RAM test: random words to all rows of the three SRAMs, read back in
    two-read mode (first read starts the SRAM cycle, second returns the data) and in the
    pipelined form (each read returns the word of the previous read)."""
    rng = random.Random(11 if half == "top" else 12)
    dut = SynapseControllerRegs(half)
    ok = {}

    async def body(b, ctx):
        await b.write(T_READ.address(), T_READ.encode(read_delay=0))
        await b.write(T_SW.address(), T_SW.encode(setup_precharge=0, write_delay=0))
        expect = {}
        for s in SRAMS:
            for row in range(SC.reg(s).count):
                expect[SC.reg(s).address(row)] = w = rng.getrandbits(16)
                await b.write(SC.reg(s).address(row), w)
        addrs = list(expect)
        rng.shuffle(addrs)
        for a in addrs[:120]:                       # two-read mode
            await b.read(a)
            assert await b.read(a) == expect[a], hex(a)
        prev = None                                 # pipelined: returns the previous address
        for a in addrs:
            got = await b.read(a)
            if prev is not None:
                assert got == expect[prev], hex(prev)
            prev = a
        ok["n"] = len(addrs)
    run(dut, body)
    assert ok["n"] == 3 * 224


@pytest.mark.parametrize("timing", [None, (64, 8, 8), (0, 0, 0), (255, 15, 15), (3, 5, 2)])
def test_busy_timing_equals_cost_formula(timing):
    """STATUS.syndrv_busy is high for exactly cost cycles after an SRAM access; a second SRAM
    access stalls until the sequencer is idle; register accesses are not stalled."""
    dut = SynapseControllerRegs("top")
    res = {}

    async def body(b, ctx):
        if timing is not None:
            rd, setup, wr = timing
            await b.write(T_READ.address(), T_READ.encode(read_delay=rd))
            await b.write(T_SW.address(), T_SW.encode(setup_precharge=setup, write_delay=wr))
        tr = await b.read(T_READ.address())
        tsw = await b.read(T_SW.address())
        res["costs"] = sram_write_cost(tsw), sram_read_cost(tr, tsw)
        for kind, addr in (("write", SC.reg("drv_gmax").address(5)),
                           ("read", SC.reg("drv_config").address(7))):
            await b.tick(2)
            assert not ctx.get(dut.syndrv_busy)
            served = (await b.access(addr, kind == "write", 0xABCD))[2]
            assert b.now == served + 1
            busy = []
            while ctx.get(dut.syndrv_busy):         # cycles served + 1, served + 2, ...
                busy.append(b.now)
                await b.tick()
            assert busy == list(range(served + 1, served + 1 + len(busy)))
            # a status read while busy is served at once and shows busy
            s1 = (await b.access(addr, kind == "write", 0x1111))[2]
            rdata, err, s2 = await b.access(STATUS.address(), False, settle=False)
            assert err == 0 and s2 == s1 + 2
            res[kind] = (len(busy), STATUS.decode(rdata)["syndrv_busy"])
            while ctx.get(dut.syndrv_busy):
                await b.tick()
            # back-to-back: the second access is served when the sequencer is idle
            s1 = (await b.access(addr, kind == "write", 0x1111))[2]
            s2 = (await b.access(addr, kind == "write", 0x2222, settle=False))[2]
            res[kind + "_stall"] = s2 - s1
            while ctx.get(dut.syndrv_busy):
                await b.tick()
    run(dut, body)
    wcost, rcost = res["costs"]
    if timing is not None:
        rd, setup, wr = timing
        assert (wcost, rcost) == (setup + 2 + wr + 2, setup + 2 + rd + 2)
    assert res["write"] == (wcost, 1)
    assert res["read"] == (rcost, 1)
    assert res["write_stall"] == wcost + 1
    assert res["read_stall"] == rcost + 1


def test_mirror_changes_when_write_completes():
    """The driver settings used by the event logic change exactly at the end of the busy
    period (visible in cycle served + cost + 1)."""
    line = 5
    dut = SynapseControllerRegs("top")
    i = list(half_lines("top")).index(line)
    r_bottom = coords.driver_hw_rows(line)[0]
    lane = coords.driver_byte_lane(line)
    res = {}

    async def body(b, ctx):
        word = SC.reg("drv_config").encode(**{("high" if lane else "low"): 0x70})
        served = await b.write(SC.reg("drv_config").address(r_bottom), word)
        trace = []
        for _ in range(12):
            trace.append((b.now, ctx.get(dut.drivers[i].enable), ctx.get(dut.drivers[i].locin),
                          ctx.get(dut.drivers[i].connect_neighbor)))
            await b.tick()
        res["served"], res["trace"] = served, trace
        # the other lane of the same word and the HW-top row do not touch the driver
        other = SC.reg("drv_config").encode(**{("low" if lane else "high"): 0xFF})
        await b.write(SC.reg("drv_config").address(r_bottom), other)
        await b.write(SC.reg("drv_config").address(r_bottom + 1), 0xFFFF)
        await b.tick(10)
        res["after"] = (ctx.get(dut.drivers[i].enable), ctx.get(dut.drivers[i].locin))
        # spec conflict #6 (halbe): patterns come from the HW-bottom decoder byte only; the
        # HW-top byte is stored (readable) but ignored
        dec = SC.reg("drv_decoder")
        await b.write(dec.address(r_bottom), dec.encode(**{("high" if lane else "low"): 0xA3}))
        await b.write(dec.address(r_bottom + 1), 0xFFFF)
        await b.tick(10)
        res["pattern"] = [ctx.get(dut.drivers[i].pattern[k]) for k in range(4)]
        await b.read(dec.address(r_bottom + 1))
        res["top_byte"] = await b.read(dec.address(r_bottom + 1))
    run(dut, body)
    # 0xA3: p0 = 1, p1 = 2, p2 = 0, p3 = 3; driver 5 (top half): HW-bottom = SW row 1, so
    # strobe bits (r0 even, r0 odd, r1 even, r1 odd) = (p1, p3, p0, p2)
    assert res["pattern"] == [2, 3, 1, 0]
    assert res["top_byte"] == 0xFFFF
    visible = res["served"] + sram_write_cost(TIMING_SETUP_WRITE_RESET) + 1
    for now, en, loc, cn in res["trace"]:
        assert (en, loc, cn) == ((1, 1, 1) if now >= visible else (0, 0, 0)), now
    assert res["after"] == (0, 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rtl_matches_model_random_accesses(seed):
    """Random mix of register/SRAM reads and writes (including illegal ones): the RTL and the
    model give the same read data, the same errors and serve each access in the same cycle."""
    rng = random.Random(seed)
    dut = SynapseControllerRegs("bottom")
    model = SynapseDriverModel()
    ctl = "synapse_controller_bottom"
    res = {"n": 0}
    addrs = ([SC.reg(s).address(rng.randrange(224)) for s in SRAMS for _ in range(4)]
             + [r.address(i) for r in SC.registers if r.name not in SRAMS
                for i in range(r.count)] + [0x0E0, 0x4003, 0x4600])

    async def body(b, ctx):
        for _ in range(400):
            addr = rng.choice(addrs)
            write = rng.random() < 0.5
            data = rng.getrandbits(32)
            if addr in (T_READ.address(), T_SW.address()):   # short timings, stray high bits
                data &= ~0xCC if addr == T_SW.address() else ~0xF0
            if ctx.get(dut.bus.ack):
                await b.tick()
            while model.cycle < b.now:
                model.step({})
            try:
                if write:
                    model.write(ctl, addr, data)
                    expect = None
                else:
                    expect = model.read(ctl, addr)
                m_err = 0
            except RegisterMapError:
                m_err = 1
            rdata, err, served = await b.access(addr, write, data)
            assert err == m_err, hex(addr)
            if not err:
                assert served == model.served_cycle, hex(addr)
                if not write:
                    assert rdata == expect, (hex(addr), rdata, expect)
            res["n"] += 1
            if rng.random() < 0.2:
                await b.tick(rng.randrange(1, 15))
    run(dut, body)
    assert res["n"] == 400


def test_model_bad_input_messages():
    m = SynapseDriverModel()
    with pytest.raises(RegisterMapError, match=r"^controller 'synapse_controller_left' not one "
                                               r"of synapse_controller_top, "
                                               r"synapse_controller_bottom$"):
        m.write("synapse_controller_left", 0, 0)
    with pytest.raises(RegisterMapError, match=r"^synapse_controller_top: no writable register "
                                               r"at local address 0x4002$"):
        m.write("synapse_controller_top", STATUS.address(), 1)
    with pytest.raises(RegisterMapError, match=r"^synapse_controller_top: no readable register "
                                               r"at local address 0xe0$"):
        m.read("synapse_controller_top", 0xE0)
    with pytest.raises(RegisterMapError, match=r"^synapse_controller_bottom: local address "
                                               r"32768 out of range 0..0x7fff$"):
        m.read("synapse_controller_bottom", 0x8000)
    with pytest.raises(RegisterMapError, match=r"^data 4294967296 out of range 0..0xffffffff$"):
        m.write("synapse_controller_top", CNFG.address(), 1 << 32)
    with pytest.raises(ValueError, match=r"^synapse driver line 224 out of range 0..223$"):
        m.step({224: 0})
    with pytest.raises(ValueError, match=r"^L1 address 64 out of range 0..63$"):
        m.step({3: 64})
    with pytest.raises(ValueError, match=r"^half 'middle' not one of 'top', 'bottom'$"):
        SynapseControllerRegs("middle")
