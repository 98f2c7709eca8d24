"""Floating gates inside the HICANN top and its reference model (hicann-digital.md §10, §9.2):
programming sequences of :mod:`bss1.host.floating_gates` through the chip's configuration path
land in the cells, on the gateware's ``fg_write`` port and in :attr:`HicannModel.fg_storage`."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from bss1.host.floating_gates import (FGConfig, Poll, Wait, Write, execute, program_block,
                                      program_row)
from bss1.models.config_arq import HostArq
from bss1.models.fg_controller import max_programming_time
from bss1.models.fg_storage import FGStorage, FGWriteNoise
from bss1.models.hicann import HicannModel
from bss1.rtl.config.sim import arq_transact
from bss1.rtl.hicann import FG_BLOCKS, Hicann
from bss1.rtl.registers import HICANN_MAP

FAST = FGConfig(maxcycle=0, readtime=0, acceleratorstep=0, voltagewritetime=1,
                currentwritetime=1, pulselength=0)


class ModelLink:
    """Runs host sequences on a HicannModel; waits become configuration-phase time."""

    def __init__(self, model):
        self.model = model

    def write(self, tag, addr, data):
        self.model.write(tag, addr, data)

    def read(self, tag, addr):
        return self.model.read(tag, addr)

    def wait(self, cycles):
        self.model.idle(cycles)


def test_model_programs_every_block_at_default_timing():
    rng = np.random.default_rng(3)
    model = HicannModel()
    link = ModelLink(model)
    target = rng.integers(0, 1024, size=(4, 24, 129))
    for block in range(4):
        execute(link, program_block(block, target[block]))
    assert np.array_equal(model.fg_storage.values, target)
    # the host waited the formula's time for every pass (4 passes x 24 rows x 4 blocks)
    waits = [op.pll_cycles for block in range(4) for op in program_block(block, target[block])
             if isinstance(op, Wait)]
    assert len(waits) == 4 * 4 * 24
    assert model.idle_cycles == sum(waits)
    assert model.cycle == 0            # the event path did not move


def fast_row(block, row, values, direction):
    """OP/BIAS of the fast configuration, then one pass over one row."""
    inst = HICANN_MAP[FG_BLOCKS[block]]
    return ([Write(0, inst.address("op"), FAST.op_word),
             Write(0, inst.address("bias"), FAST.bias_word)]
            + program_row(block, row, values, direction, FAST))


def test_model_busy_until_the_pass_ends():
    model = HicannModel()
    inst = HICANN_MAP["fg_top_right"]
    ops = fast_row(1, 5, [700] * 129, "up")
    writes = [op for op in ops if isinstance(op, Write)]
    poll = next(op for op in ops if isinstance(op, Poll))
    for w in writes:
        model.write(w.tag, w.addr, w.data)
    model.idle(2)                      # the instruction is accepted at the next clock edge
    assert model.read(poll.tag, poll.addr) & poll.mask != poll.value      # busy
    model.idle(max_programming_time(FAST.op_word, FAST.bias_word, 5) + 8)
    assert model.read(poll.tag, poll.addr) & poll.mask == poll.value
    assert (model.fg_storage.values[1, 5] == 700).all()
    assert not model.fg_storage.values[[0, 2, 3]].any()
    assert model.read(0, inst.address("op")) == FAST.op_word


def test_model_write_noise_is_seeded():
    def program(seed):
        model = HicannModel(fg_noise=FGWriteNoise(seed=seed))
        execute(ModelLink(model), fast_row(0, 2, [512] * 129, "up"))
        model.idle(10_000)
        return model.fg_storage.values[0, 2].copy()
    a, b, c = program(1), program(1), program(2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.abs(a.astype(int) - 512).max() < 20


@pytest.mark.slow
def test_gateware_fg_write_port_matches_the_model():
    """A row pass through packets on the HICANN top: the cells announced on ``fg_write`` equal
    the model's programmed cells, and the pass ends when the model says."""
    block, row = 2, 7
    values = [(37 * c + 11) % 1024 for c in range(129)]
    ops = fast_row(block, row, values, "up")
    dut = Hicann()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen = FGStorage()
    result = {}

    async def monitor(ctx):
        async for *_, wr in ctx.tick().sample(dut.fg_write[block]):
            if wr.valid:
                seen.apply((block, wr.row, wr.column, wr.value, bool(wr.up)))

    async def bench(ctx):
        ctx.set(dut.cfg_tx.ready, 1)
        host = HostArq()
        for op in ops:
            if isinstance(op, Write):
                host.write(op.tag, op.addr, op.data)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(max_programming_time(FAST.op_word, FAST.bias_word, row) + 50)
        poll = next(op for op in ops if isinstance(op, Poll))
        h = host.read(poll.tag, poll.addr)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx)
        result["slave"] = h.data
        result["errors"] = ctx.get(dut.bus_errors)
        result["cycles"] = host.now

    sim.add_process(monitor)
    sim.add_testbench(bench)
    sim.run()
    assert result["slave"] & poll_mask(ops) == poll_value(ops)
    assert result["errors"] == 0
    model = HicannModel()
    link = ModelLink(model)
    execute(link, ops)
    model.idle(50)                     # as the gateware run: the last cell lands after busy drops
    assert list(seen.values[block, row]) == values
    diff = np.argwhere(seen.values != model.fg_storage.values)
    assert diff.size == 0, diff[:5]
    assert FG_BLOCKS[block] == "fg_bottom_left"


def poll_mask(ops):
    return next(op for op in ops if isinstance(op, Poll)).mask


def poll_value(ops):
    return next(op for op in ops if isinstance(op, Poll)).value
