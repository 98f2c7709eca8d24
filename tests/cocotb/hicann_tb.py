"""cocotb testbenches on the generated HICANN test top (rtl/stub_analog.py: HicannTestTop).

Run by tests/cocotb/test_hicann.py through bss1.rtl.cocotb_util.run_cocotb. Structure follows
cocotb's matrix_multiplier example: drivers (configuration link, fire commands, L2 input), a
per-cycle monitor of the event ports, the reference model (bss1.models.hicann.HicannModel) as the
scoreboard, and a checker.

Environment knobs: BSS1_TB_SEED, BSS1_TB_CYCLES, BSS1_TB_CHANNELS, BSS1_TB_OUT (result JSON).
"""

import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from bss1.host.cocotb_link import CocotbConfigLink
from bss1.models.config_arq import HostArq, LossyChannel
from bss1.models.hicann import HicannModel
from bss1.host.l1_transmission_tb import start
from bss1.rtl.registers import HICANN_MAP

import hicann_scenarios as hs


def _env_int(name, default):
    return int(os.environ.get(name, default))



@cocotb.test()
async def config_roundtrip(dut):
    """Random values into every configurable register of every block through the packet/ARQ
    path; read back (twice for the two-access driver SRAMs) and compared with the model."""
    await start(dut)
    rng = random.Random(_env_int("BSS1_TB_SEED", 1))
    fraction = float(os.environ.get("BSS1_TB_FRACTION", "1.0"))
    model = HicannModel()
    link = CocotbConfigLink(dut)
    writes = hs.random_register_writes(rng, fraction)
    for w in writes:
        link.write(*w)
        model.write(*w)
    await link.flush()
    reads = [(tag, addr) for tag, addr, _ in writes]
    # a driver SRAM read returns the read latch and reloads it from the addressed word: read such
    # addresses twice back to back and keep the second answer
    handles = []
    for tag, addr in reads:
        if hs.two_access(tag, addr):
            link.read(tag, addr)
        handles.append(link.read(tag, addr))
    await link.flush()
    mism = []
    for (tag, addr), h in zip(reads, handles):
        expect = hs.expected_readback(model, tag, addr)
        if h.data != expect:
            mism.append((tag, hex(addr), hex(h.data), hex(expect)))
    dut._log.info(f"{len(reads)} registers written and read back, {len(mism)} mismatches")
    assert not mism, f"read-back mismatches (tag, addr, got, expected): {mism[:10]}"
    assert int(dut.bus_errors.value) == 0


@cocotb.test()
async def unmapped_access(dut):
    """Unmapped addresses and reads of write-only registers answer with a bus error; reads are
    still answered."""
    await start(dut)
    link = CocotbConfigLink(dut)
    fg = HICANN_MAP["fg_top_left"].address("instruction")
    link.write(0, HICANN_MAP["neuron_control"].base + 0x40, 0x1234)   # hole in neuron control
    h1 = link.read(0, fg)                                            # write-only register
    h2 = link.read(1, 0x4800)                                        # hole in the controller
    await link.flush()
    assert (h1.data, h2.data) == (0, 0)
    assert int(dut.bus_errors.value) == 3


@cocotb.test()
async def arq_faults(dut):
    """Lost, duplicated and reordered packets: every write applied once, every read answered."""
    await start(dut)
    seed = _env_int("BSS1_TB_SEED", 1)
    rng = random.Random(seed)
    host = HostArq(timeout=400)
    to_chip = LossyChannel(seed, loss=0.1, duplicate=0.05, reorder=0.1)
    to_host = LossyChannel(seed + 1, loss=0.1, duplicate=0.05, reorder=0.1)
    base = HICANN_MAP["neuron_control"].address("bg_period", 0)
    requests = []
    for _ in range(_env_int("BSS1_TB_TRANSACTIONS", 120)):
        addr = base + rng.randrange(8)
        if rng.random() < 0.5:
            value = rng.randrange(1 << 16)
            host.write(0, addr, value)
            requests.append(("w", addr, value))
        else:
            requests.append(("r", addr, host.read(0, addr)))
    await hs.pump_with_faults(dut, host, to_chip, to_host)
    # the in-order model: each write applied exactly once, reads see all earlier writes
    model = HicannModel()
    checked = []
    for kind, addr, x in requests:
        if kind == "w":
            model.write(0, addr, x)
        else:
            checked.append((hex(addr), x.data, model.read(0, addr)))
    bad = [c for c in checked if c[1] != c[2]]
    assert not bad, f"reads differ from the in-order model: {bad[:5]}"
    assert to_chip.lost > 0 and to_host.lost > 0 and to_chip.duplicated > 0, "no faults injected"
    handles_expect = checked
    assert len(handles_expect) > 10


async def _sync(dut, tb, model):
    """Let configuration writes settle in both (driver SRAM writes complete in the model) and
    return the stub's cycle counter of the next cycle."""
    await tb.run_cycles(64)
    await ReadOnly()
    rtl_cycle = int(dut.cycle.value)
    await RisingEdge(dut.clk)
    while model.drivers.writes_pending:
        model.step()
    return rtl_cycle + 1


@cocotb.test()
async def scoreboard(dut):
    """RTL and reference model agree event for event on a random configuration and random fire
    patterns / L2 input: DNC merger outputs, l2_out (with timestamps), system time, HLines,
    VLines and strobes, every cycle. The run has ``BSS1_TB_PHASES`` phases, each with a new
    random GbitLink configuration, timestamps on in even phases and off in odd ones; between
    phases the chip drains (compared too) and the GbitLink write goes in while nothing moves."""
    tb = await start(dut)
    seed = _env_int("BSS1_TB_SEED", 1)
    cycles = _env_int("BSS1_TB_CYCLES", 10_000)
    phases = _env_int("BSS1_TB_PHASES", 2)
    rng = random.Random(seed)
    model = HicannModel()
    link = CocotbConfigLink(dut)
    writes = hs.random_routing(rng)
    link.writes(writes)
    model.writes(writes)
    await link.flush()
    total = {}
    for phase in range(phases):
        gbit = hs.random_gbitlink(rng, timestamp_enable=phase % 2 == 0)
        link.write(*gbit)
        model.write(*gbit)
        await link.flush()
        start_cycle = await _sync(dut, tb, model)
        stats = await hs.lockstep(dut, model, rng, cycles // phases, start_cycle=start_cycle)
        drain = await hs.lockstep(dut, model, rng, 600, start_cycle=start_cycle,
                                  systime_reset=False, fire=False)
        dut._log.info(f"scoreboard seed {seed} phase {phase} GbitLink {gbit[2]:#07x}: {stats}")
        for run in (stats, drain):
            assert run["mismatches"] == 0, (phase, run["first_mismatch"])
            for key, val in run.items():
                if isinstance(val, int):
                    total[key] = total.get(key, 0) + val
        assert stats["l2_out_events"] > 0 and stats["l2_in"] > 0, (phase, stats)
    losses = dict(model.dnc.counters)
    dut._log.info(f"scoreboard seed {seed}: {total}, DNC interface losses {losses}")
    assert total["dnc_out_events"] > 0 and total["strobe_events"] > 0, total
