"""Floating-gate controllers: gateware, twin, cell storage and host programming sequence
(spec hicann-digital.md §10, §11, §9.3; analog-core.md §3.6, §4.1-§4.3, §8)."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from bss1.host.floating_gates import (COARSE, DEFAULT_PASSES, FGConfig, Poll, Wait, Write,
                                      block_instance, execute, failed_columns, instruction_word,
                                      program_block, program_row, read_config, read_ram,
                                      read_status, row_ram_words, stimulus_sequence)
from bss1.models import fg_layout as L
from bss1.models.fg_controller import (FGControllerModel, FGStimulus, FGWrite,
                                       max_programming_time, programming_ticks)
from bss1.models.fg_storage import FGStorage, FGWriteNoise
from bss1.models.transform import CALIBRATION, HardwareParameters
from bss1.rtl.fg_controller import FGController, FGOpcode, bias_readback
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import FG_CONTROLLER as FG
from bss1.rtl.registers import HICANN_MAP
from bss1.rtl.sim import bus_read, bus_write

INS, OP, BIAS, SLAVE = (FG.reg(n) for n in ("instruction", "op", "bias", "slave"))
RAM = (FG.reg("ram0"), FG.reg("ram1"))
FAST = FGConfig(maxcycle=0, readtime=0, acceleratorstep=0, voltagewritetime=1,
                currentwritetime=1, pulselength=0)
FAST_PASSES = ((FAST, "down"), (FAST, "up"))


def reference_ticks(maxcycle, readtime, acceleratorstep, writetime, pulselength):
    """§10 cycle model, written out from the spec's words."""
    total, wt, last = 0, writetime, 0
    for k in range(maxcycle + 1):
        if k == last + acceleratorstep and wt < 128:
            wt, last = 2 * wt, k
        total += wt * (pulselength + 1) + (readtime + 1) * (pulselength + 1) * 129
    return total


# -- host encoder: golden words and bad input ----------------------------------------------------
def test_golden_words():
    assert COARSE.op_word == 0x04F268FF and COARSE.bias_word == 0x0958
    assert instruction_word(FGOpcode.WRITE_DOWN, 5) == 0x08005
    assert instruction_word(FGOpcode.WRITE_UP, 23) == 0x04017
    assert instruction_word(FGOpcode.READ, 3, 128) == 0x01003
    assert instruction_word(FGOpcode.GET_NEXT_FALSE) == 0x0C000
    assert instruction_word(FGOpcode.STIMULATE_CONTINUOUS) == 0x14000
    words = row_ram_words(list(range(129)))
    assert len(words) == 65 and words[0] == 0 | 1 << 10 and words[64] == 128
    assert [block_instance(b).name for b in range(4)] == [
        "fg_top_left", "fg_top_right", "fg_bottom_left", "fg_bottom_right"]
    # fine / coarse OP values reach the map unchanged
    assert FGConfig.from_words(COARSE.op_word, COARSE.bias_word) == COARSE


def test_host_bad_input():
    with pytest.raises(ValueError, match=r"^FG row 24 out of range 0\.\.23$"):
        instruction_word(FGOpcode.WRITE_UP, 24)
    with pytest.raises(ValueError, match=r"^FG column 129 out of range 0\.\.128$"):
        instruction_word(FGOpcode.READ, 0, 129)
    with pytest.raises(ValueError, match=r"^FG opcode 6 is not one of READ, WRITE_UP, "
                                         r"WRITE_DOWN, GET_NEXT_FALSE, STIMULATE, "
                                         r"STIMULATE_CONTINUOUS$"):
        instruction_word(6)
    with pytest.raises(ValueError, match=r"^FG value of column 7 1024 out of range 0\.\.1023$"):
        row_ram_words([0] * 7 + [1024] + [0] * 121)
    with pytest.raises(ValueError, match=r"^FG row needs 129 values, got 128$"):
        row_ram_words([0] * 128)
    with pytest.raises(ValueError, match=r"^FGConfig readtime 64 out of range 0\.\.63$"):
        FGConfig(readtime=64)
    with pytest.raises(ValueError, match=r"^FG block 4 out of range 0\.\.3$"):
        program_block(4, np.zeros((24, 129), int))
    with pytest.raises(ValueError, match=r"^FG block needs 24 rows, got 23$"):
        program_block(0, np.zeros((23, 129), int))
    bad = np.zeros((24, 129), int)
    bad[20, 100] = 2000
    with pytest.raises(ValueError, match=r"^FG value of column 100 2000 out of range "
                                         r"0\.\.1023$"):
        program_block(0, bad)
    with pytest.raises(ValueError, match=r"^FG programming direction 'sideways' is not 'up' "
                                         r"or 'down'$"):
        program_block(0, np.zeros((24, 129), int), passes=((COARSE, "sideways"),))


def test_program_block_sequence_shape():
    ops = program_block(3, np.zeros((24, 129), int))
    inst = HICANN_MAP["fg_bottom_right"]
    writes = [o for o in ops if isinstance(o, Write)]
    assert all(o.tag == 0 and inst.contains(o.addr) for o in writes)
    ins = [INS.decode(o.data) for o in writes if o.addr == inst.address("instruction")]
    # four passes (down, up, down, up) over rows 0..23, banks alternating
    assert [i["opcode"] for i in ins] == [2] * 24 + [1] * 24 + [2] * 24 + [1] * 24
    assert [i["row"] for i in ins] == list(range(24)) * 4
    assert [i["bank"] for i in ins] == [r % 2 for r in range(24)] * 4
    waits = [o.pll_cycles for o in ops if isinstance(o, Wait)]
    assert waits[:2] == [max_programming_time(COARSE.op_word, COARSE.bias_word, r)
                         for r in (0, 1)]
    assert sum(isinstance(o, Poll) for o in ops) == 96


# -- the cycle model --------------------------------------------------------------------------
def test_programming_time_formula():
    rng = random.Random(3)
    for _ in range(200):
        args = (rng.randrange(256), rng.randrange(64), rng.randrange(64), rng.randrange(64),
                rng.randrange(16))
        assert programming_ticks(*args) == reference_ticks(*args)
    # default timing, voltage (even) and current (odd) rows, in PLL cycles = 4 x slow ticks
    for row, wt in ((4, 15), (5, 1)):
        assert max_programming_time(COARSE.op_word, COARSE.bias_word, row) == \
            4 * reference_ticks(255, 40, 9, wt, 9)


@pytest.mark.parametrize("row", [6, 7])
def test_twin_busy_time_at_default_timing(row):
    m = FGControllerModel(2)
    m.write(OP.address(), COARSE.op_word)
    m.step()
    m.write(BIAS.address(), COARSE.bias_word)
    m.step()
    m.advance(5)
    accepted = m.cycle
    m.write(INS.address(), instruction_word(FGOpcode.WRITE_UP, row))
    m.step()
    assert m.busy
    wt = 1 if row % 2 else 15
    ticks = reference_ticks(255, 40, 9, wt, 9)
    events = m.advance(4 * ticks - 8)
    assert m.busy
    while m.busy:
        m.step()
    busy_cycles = m.cycle - accepted - 1
    # busy from the cycle after acceptance through the cycle of the last slow tick
    assert 4 * ticks - 3 <= busy_cycles <= 4 * ticks
    assert [e.column for e in events] == list(range(129))
    assert all(e.block == 2 and e.row == row and e.up for e in events)


# -- gateware harness ----------------------------------------------------------------------------
def rtl_run(program, fails=None, n_cycles=None):
    """Run ``program(ctx, dut, log)`` (async) on an FGController; a monitor records per cycle
    busy, slow_tick, fg_write and stim into ``log``."""
    dut = FGController()
    log = {"cycles": [], "writes": []}
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def monitor(ctx):
        t = 0
        while True:
            w = ctx.get(dut.fg_write)
            s = ctx.get(dut.stim)
            r = ctx.get(dut.readout)
            log["cycles"].append((ctx.get(dut.busy), ctx.get(dut.slow_tick),
                                  (w.row, w.column, w.value, w.up) if w.valid else None,
                                  s.value if s.valid else None,
                                  (r.row, r.column) if r.valid else None))
            if w.valid:
                log["writes"].append(FGWrite(0, w.row, w.column, w.value, bool(w.up)))
            if fails is not None:
                ctx.set(dut.fail, fails(t))
            await ctx.tick()
            t += 1

    async def tb(ctx):
        await program(ctx, dut, log)
    sim.add_testbench(monitor, background=True)
    sim.add_testbench(tb)
    sim.run()
    return log


async def run_ops(ctx, dut, ops, base):
    for op in ops:
        if isinstance(op, Write):
            assert await bus_write(ctx, dut.bus, op.addr - base, op.data) == 0
        elif isinstance(op, Poll):
            while True:
                data, err = await bus_read(ctx, dut.bus, op.addr - base)
                assert err == 0
                if data & op.mask == op.value:
                    break


def test_rtl_programs_whole_block():
    """Host sequence on the gateware bus; the storage fed by fg_write equals the DAC values."""
    rng = np.random.default_rng(11)
    block = 1
    target = rng.integers(0, 1024, size=(24, 129))
    start = rng.integers(0, 1024, size=(4, 24, 129))
    storage = FGStorage(start)
    ops = program_block(block, target, passes=FAST_PASSES)
    base = block_instance(block).base

    async def program(ctx, dut, log):
        await run_ops(ctx, dut, ops, base)
        for _ in range(4):
            await ctx.tick()
    log = rtl_run(program)
    storage.apply_all(w._replace(block=block) for w in log["writes"])
    assert len(log["writes"]) == 2 * 24 * 129
    assert np.array_equal(storage.values[block], target)
    others = [b for b in range(4) if b != block]
    assert np.array_equal(storage.values[others], start[others])
    # busy intervals: slow ticks while busy follow the formula, one interval per instruction
    intervals, n, prev = [], 0, 0
    for busy, tick, *_ in log["cycles"]:
        if busy:
            n += tick
        elif prev:
            intervals.append(n)
            n = 0
        prev = busy
    expect = [reference_ticks(0, 0, 0, 1, 0)] * 48
    assert intervals == expect


def test_rtl_ram_readback_bias_reversal_and_bad_instructions():
    rng = random.Random(5)
    words = {(b, w): rng.getrandbits(20) for b in range(2) for w in range(65)}
    op_word, bias_word = rng.getrandbits(32), 0b01_0_1001_0011_0001
    got = {}

    async def program(ctx, dut, log):
        for (b, w), d in words.items():
            assert await bus_write(ctx, dut.bus, RAM[b].address(w), d | 0xFFF00000) == 0
        await bus_write(ctx, dut.bus, OP.address(), op_word)
        await bus_write(ctx, dut.bus, BIAS.address(), bias_word)
        for key in words:
            got[key] = await bus_read(ctx, dut.bus, RAM[key[0]].address(key[1]))
        got["op"] = await bus_read(ctx, dut.bus, OP.address())
        got["bias"] = await bus_read(ctx, dut.bus, BIAS.address())
        got["ins_read"] = await bus_read(ctx, dut.bus, INS.address())
        got["slave_write"] = await bus_write(ctx, dut.bus, SLAVE.address(), 1)
        got["hole"] = await bus_read(ctx, dut.bus, 0x41)
        for name, word in (("opcode", INS.encode(opcode=6)), ("row", INS.encode(row=24)),
                           ("column", INS.encode(column=129, opcode=0))):
            await bus_write(ctx, dut.bus, INS.address(), word)
            got[name] = SLAVE.decode((await bus_read(ctx, dut.bus, SLAVE.address()))[0])
        await bus_write(ctx, dut.bus, OP.address(), FAST.op_word)
        await bus_write(ctx, dut.bus, BIAS.address(), FAST.bias_word)
        await bus_write(ctx, dut.bus, INS.address(), INS.encode(opcode=1, row=2))
        got["ok"] = SLAVE.decode((await bus_read(ctx, dut.bus, SLAVE.address()))[0])
        await bus_write(ctx, dut.bus, INS.address(), INS.encode(opcode=2, row=3))
        got["while_busy"] = SLAVE.decode((await bus_read(ctx, dut.bus, SLAVE.address()))[0])
    log = rtl_run(program)
    for key, d in words.items():
        assert got[key] == (d, 0)
    assert got["op"] == (op_word, 0)
    assert got["bias"] == (bias_readback(bias_word), 0)
    assert bias_readback(bias_word) == 0b01_0_1001_1100_1000
    assert got["ins_read"][1] == 1 and got["slave_write"] == 1 and got["hole"][1] == 1
    for name in ("opcode", "row", "column"):
        assert got[name] == {"column": 0, "busy": 0, "error": 1}, name
    assert got["ok"]["busy"] == 1 and got["ok"]["error"] == 0
    assert got["while_busy"]["busy"] == 1 and got["while_busy"]["error"] == 1
    assert not any(c[2] for c in log["cycles"] if c[2] and c[2][0] == 3)   # refused: no row 3


def test_rtl_current_stimulus_stream():
    values = [(37 * c + 5) % 1024 for c in range(129)]
    cfg = FGConfig(pulselength=2)
    base = block_instance(0).base
    marks = {}

    async def program(ctx, dut, log):
        await run_ops(ctx, dut, stimulus_sequence(0, values, continuous=False, config=cfg), base)
        marks["once_done"] = len(log["cycles"])
        for _ in range(8):
            await ctx.tick()
        marks["cont"] = len(log["cycles"])
        await run_ops(ctx, dut, stimulus_sequence(0, values, continuous=True, config=cfg), base)
        for _ in range(129 * 3 * 4 * 2 + 50):
            await ctx.tick()
        marks["stop"] = len(log["cycles"])
        await bus_write(ctx, dut.bus, INS.address(), instruction_word(FGOpcode.READ, 3, 7))
        for _ in range(8):
            await ctx.tick()
    log = rtl_run(program)
    cyc = log["cycles"]

    def runs(seq):
        out = []
        for v in seq:
            if out and out[-1][0] == v:
                out[-1][1] += 1
            else:
                out.append([v, 1])
        return out
    once = runs([c[3] for c in cyc[:marks["once_done"]] if c[3] is not None])
    assert [v for v, _ in once] == values
    assert all(n == 4 * 3 for _, n in once[1:])         # held pulselength + 1 slow ticks
    assert all(c[3] is None for c in cyc[marks["once_done"]:marks["cont"]])
    cont = [c for c in cyc[marks["cont"]:marks["stop"]]]
    assert not any(c[0] for c in cont)                   # continuous: controller not busy
    stream = runs([c[3] for c in cont if c[3] is not None])
    assert [v for v, _ in stream[:2 * 129]][1:] == (values * 2)[1:2 * 129]
    tail = cyc[marks["stop"] + 2:]
    assert all(c[3] is None for c in tail) and tail[-1][4] == (3, 7)


# -- current stimulus accessor --------------------------------------------------------------------
@pytest.mark.parametrize("continuous", [False, True])
def test_stimulus_accessor_matches_played_values(continuous):
    m = FGControllerModel(1)
    assert m.stimulus() is None and m.stimulus(include_pending=True) is None
    codes = [(41 * c + 3) % 1024 for c in range(129)]
    for k in range(65):
        m.write(RAM[1].address(k), RAM[1].encode(even=codes[2 * k],
                                                 odd=codes[2 * k + 1] if 2 * k + 1 < 129 else 0))
    m.write(BIAS.address(), BIAS.encode(pulselength=1))
    m.advance(6)
    opcode = FGOpcode.STIMULATE_CONTINUOUS if continuous else FGOpcode.STIMULATE
    m.write(INS.address(), instruction_word(opcode, bank=1))
    m.write(RAM[1].address(0), RAM[1].encode(even=7, odd=codes[1]))   # same cycle, also pending
    assert m.stimulus() is None                         # not yet clocked
    accepted = m.cycle
    run = m.stimulus(include_pending=True)
    assert m._pending and m.stimulus() is None           # the query changed nothing
    assert isinstance(run, FGStimulus)
    assert (run.accepted, run.bank, run.hold, run.continuous) == (accepted, 1, 2, continuous)
    assert run.codes == (7, *codes[1:])
    assert run.first_tick > accepted and run.first_tick % 4 == 3
    assert (run.last_cycle is None) == continuous
    m.step()
    assert m.stimulus() == run
    n = 129 * 2 * 4 + 40
    for _ in range(n):
        t = m.cycle
        shown = m.step()["stim"]
        e = run.entry(t)
        assert shown == (None if e is None else run.codes[e]), t
    assert run.entry(accepted) is None
    if continuous:
        assert m.stimulus() == run
    else:
        assert m.cycle > run.last_cycle and m.stimulus() is None
        assert run.entry(run.last_cycle) == 128 and run.entry(run.last_cycle + 1) is None


# -- lock-step: gateware vs twin -----------------------------------------------------------------
def _random_access(rng):
    kind = rng.random()
    if kind < 0.35:
        reg = rng.choice(RAM)
        return True, reg.address(rng.randrange(65)), rng.getrandbits(20)
    if kind < 0.45:
        return True, OP.address(), OP.encode(
            maxcycle=rng.randrange(3), readtime=rng.randrange(2), acceleratorstep=rng.randrange(3),
            voltagewritetime=rng.randrange(4), currentwritetime=rng.randrange(4))
    if kind < 0.5:
        return True, BIAS.address(), BIAS.encode(pulselength=rng.randrange(3),
                                                 fg_bias=rng.randrange(16))
    if kind < 0.7:
        opcode = rng.choice([0, 1, 2, 3, 3, 4, 5, 1, 2, 6, 7])
        return True, INS.address(), INS.encode(opcode=opcode, row=rng.randrange(26),
                                                column=rng.randrange(131),
                                                bank=rng.randrange(2))
    return False, rng.choice([SLAVE.address(), OP.address(), BIAS.address(),
                              RAM[1].address(rng.randrange(65))]), 0


@pytest.mark.parametrize("seed", [1, 2])
def test_lockstep_rtl_vs_twin(seed):
    rng = random.Random(seed)
    n = 6000
    fail_masks = [rng.getrandbits(129) & rng.getrandbits(129) & rng.getrandbits(129)
                  for _ in range(8)]
    model = FGControllerModel(0)
    dut = FGController()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    mismatches = []
    reads = []
    seen = {"fg_write": 0, "stim": 0, "error": 0}

    async def tb(ctx):
        pending = None
        for t in range(n):
            fail = fail_masks[(t // 500) % len(fail_masks)]
            ctx.set(dut.fail, fail)
            if pending is None:
                ctx.set(dut.bus.stb, 0)
            # a request is served (do) only in a cycle without ack: start one only then
            if pending is None and not ctx.get(dut.bus.ack) and rng.random() < 0.2:
                we, addr, data = _random_access(rng)
                ctx.set(dut.bus.stb, 1)
                ctx.set(dut.bus.we, we)
                ctx.set(dut.bus.addr, addr)
                ctx.set(dut.bus.wdata, data)
                if we:
                    model.write(addr, data)
                    pending = ("w", None)
                else:
                    pending = ("r", model.read(addr))
            out = model.step(fail)
            w, s, r = ctx.get(dut.fg_write), ctx.get(dut.stim), ctx.get(dut.readout)
            got = (ctx.get(dut.busy), ctx.get(dut.slow_tick),
                   (0, w.row, w.column, w.value, bool(w.up)) if w.valid else None,
                   s.value if s.valid else None, (r.row, r.column) if r.valid else None)
            want = (int(out["busy"]), int(out["slow_tick"]),
                    tuple(out["fg_write"]) if out["fg_write"] else None, out["stim"],
                    out["readout"])
            if got != want:
                mismatches.append((t, got, want))
            seen["fg_write"] += got[2] is not None
            seen["stim"] += got[3] is not None
            seen["error"] += model.error
            await ctx.tick()
            if pending is not None and ctx.get(dut.bus.ack):
                if pending[0] == "r":
                    reads.append((t, ctx.get(dut.bus.rdata), pending[1]))
                pending = None
    sim.add_testbench(tb)
    sim.run()
    assert mismatches[:5] == []
    assert [(t, a) for t, a, b in reads if a != b] == []
    assert len(reads) > 50
    assert all(seen.values()), seen
    assert model.cycle == n


# -- twin + storage + host: whole block at the real (default) timing ------------------------------
class TwinLink:
    """Link onto four controller twins and one storage; each access costs 2 core cycles."""

    def __init__(self, storage, fail=0):
        self.models = [FGControllerModel(b) for b in range(4)]
        self.storage = storage
        self.fail = fail
        self.cycles = 0

    def _model(self, tag, addr, write):
        inst, _, _ = HICANN_MAP.decode(tag, addr, write)
        block = [block_instance(b).name for b in range(4)].index(inst.name)
        return self.models[block], addr - inst.base

    def wait(self, cycles):
        self.cycles += cycles
        for m in self.models:
            self.storage.apply_all(m.advance(cycles, self.fail))

    def write(self, tag, addr, data):
        m, local = self._model(tag, addr, True)
        m.write(local, data)
        self.wait(2)

    def read(self, tag, addr):
        m, local = self._model(tag, addr, False)
        value = m.read(local)
        self.wait(2)
        return value


def _packed_defaults():
    neurons = [{n: p.default for n, p in L.NEURON_PARAMETERS.items()} for _ in range(512)]
    neurons[5] = dict(neurons[5], E_l=420, I_gl=333)
    neurons[300] = dict(neurons[300], V_t=610)
    shared = [{n: p.default for n, p in L.SHARED_PARAMETERS.items()} for _ in range(4)]
    shared[1] = dict(shared[1], V_reset=250)
    return L.pack(neurons, shared)


def test_host_programs_chip_on_twins_ideal_and_noisy():
    target = _packed_defaults()
    storage = FGStorage(np.full(target.shape, 1023))
    link = TwinLink(storage)
    for b in range(4):
        assert execute(link, program_block(b, target[b], DEFAULT_PASSES)) == [0] * 96
        assert read_status(link, b)["error"] == 0
    assert np.array_equal(storage.values, target)
    # wall time of the 4 sthal passes, all rows, one block at a time, is dominated by the waits
    per_block = sum(max_programming_time(c.op_word, c.bias_word, r)
                    for c, _ in DEFAULT_PASSES for r in range(24))
    assert 4 * per_block <= link.cycles
    # neuron view: denmem 5 = (5, top), denmem 300 = (44, bottom); V_reset acts by quad
    # position, so denmem (5, top) (odd, top) takes block 1's value
    fg = storage.neuron_values(5, 0)
    assert fg["E_l"] == 420 and fg["I_gl"] == 333
    assert storage.neuron_values(44, 1)["V_t"] == 610
    assert storage.v_reset_dac(5, 0) == 250 and storage.v_reset_dac(4, 0) == 300
    hw = storage.hardware_parameters(5, 0)
    assert hw == HardwareParameters.from_fg(fg, CALIBRATION["V_t"].from_dac("V_reset", 250))
    arr = storage.neuron_array("E_l")
    assert arr[5] == 420 and np.count_nonzero(arr != 300) == 1
    assert storage.shared_values(1)["V_bexp"] == 1023 and "V_bout" not in storage.shared_values(1)

    noisy = FGStorage(np.full(target.shape, 1023), FGWriteNoise(2.0, 0.02, seed=4))
    link = TwinLink(noisy)
    execute(link, program_block(0, target[0], DEFAULT_PASSES))
    diff = noisy.values[0].astype(int) - target[0]
    assert 0 < np.count_nonzero(diff) and np.abs(diff).max() <= 60
    again = FGStorage(np.full(target.shape, 1023), FGWriteNoise(2.0, 0.02, seed=4))
    execute(TwinLink(again), program_block(0, target[0], DEFAULT_PASSES))
    assert np.array_equal(again.values, noisy.values)


def test_host_readback_and_failed_columns():
    link = TwinLink(FGStorage(), fail=(1 << 3) | (1 << 77) | (1 << 128))
    inst = block_instance(2)
    values = list(range(1000, 871, -1))
    execute(link, [Write(0, inst.address("op"), FAST.op_word),
                   Write(0, inst.address("bias"), FAST.bias_word)])
    execute(link, program_row(2, 6, values, "down", FAST, bank=0))
    assert read_ram(link, 2, bank=0) == values
    assert read_config(link, 2) == FAST
    assert read_status(link, 2)["error"] == 1
    assert failed_columns(link, 2) == [3, 77, 128]
    link.fail = 1 << 9
    execute(link, program_row(2, 7, values[::-1], "up", FAST, bank=1))
    assert read_ram(link, 2, bank=1) == values[::-1]
    assert failed_columns(link, 2) == [9]
    assert read_status(link, 2) == {"column": 128, "busy": 0, "error": 0}
    assert link.storage.values[2, 6, 0] == 0 and link.storage.values[2, 7, 0] == 872


# -- storage semantics --------------------------------------------------------------------------
def test_storage_write_semantics_and_errors():
    s = FGStorage()
    s.values[0, 2, 5] = 500
    assert s.apply(FGWrite(0, 2, 5, 400, True)) == 500        # up never lowers
    assert s.apply(FGWrite(0, 2, 5, 600, False)) == 500       # down never raises
    assert s.apply(FGWrite(0, 2, 5, 400, False)) == 400
    assert s.apply(FGWrite(0, 2, 5, 700, True)) == 700
    with pytest.raises(ValueError, match=r"^FG row 24 out of range 0\.\.23$"):
        s.apply(FGWrite(0, 24, 5, 1, True))
    with pytest.raises(ValueError, match=r"^FG value 1024 out of range 0\.\.1023$"):
        s.apply(FGWrite(0, 1, 5, 1024, True))
    with pytest.raises(ValueError, match=r"^FG array shape \(4, 24, 128\) is not "
                                         r"\(4, 24, 129\)$"):
        FGStorage(np.zeros((4, 24, 128)))
    with pytest.raises(ValueError, match=r"^sigma_voltage_lsb -1 must be >= 0$"):
        FGWriteNoise(sigma_voltage_lsb=-1)
    with pytest.raises(ValueError, match=r"^unknown neuron parameter 'E_x'$"):
        s.neuron_array("E_x")


def test_row_parity_is_cell_kind():
    """The controller picks the write time by row parity: even rows voltage, odd current. This
    holds for every neuron cell; in column 0 the spec lists four odd-row voltage cells."""
    for name, p in L.NEURON_PARAMETERS.items():
        for row in (p.left, p.right):
            assert (row % 2 == 1) == (p.kind == "I"), name
    odd_voltage = sorted(n for n, p in L.SHARED_PARAMETERS.items() for row in (p.left, p.right)
                         if row is not None and (row % 2 == 1) != (p.kind == "I"))
    assert odd_voltage == sorted(["V_bstdf", "V_dtc", "V_br", "V_ccas"] * 2)


def test_model_register_errors():
    m = FGControllerModel()
    with pytest.raises(RegisterMapError, match=r"^fg_controller: local address 260 is not a "
                                               r"writable register$"):
        m.write(0x104, 0)
    with pytest.raises(RegisterMapError, match=r"^instruction: word 131072 out of range "
                                               r"0\.\.0x1ffff$"):
        m.write(0x101, 1 << 17)
    with pytest.raises(ValueError, match=r"^FG block 4 out of range 0\.\.3$"):
        FGControllerModel(4)
