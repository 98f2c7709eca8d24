"""The HICANN top in amaranth.sim: configuration through packets and the ARQ, the L1 transmission
scenario (§12.4) and the reference model on the same scenario."""

import pytest
from amaranth.sim import Simulator

from bss1.host.scenarios import (capture_readout, capture_tap, decode_capture, l1_transmission)
from bss1.models.config_arq import HostArq
from bss1.models.hicann import HicannModel
from bss1.rtl.config.sim import arq_transact
from bss1.rtl.registers import HICANN_MAP
from bss1.rtl.stub_analog import HicannTestTop

PERIOD = 150


def _run(bench, cycles_hint=0):
    dut = HicannTestTop()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    result = {}

    async def tb(ctx):
        await bench(ctx, dut, result)
    sim.add_testbench(tb)
    sim.run()
    return result


def _tie(ctx, dut):
    ctx.set(dut.fire_cmd.valid, 0)
    ctx.set(dut.l2_rx.as_value(), 0)


@pytest.mark.slow
def test_l1_transmission_rtl_and_model():
    tap = capture_tap(0)

    async def bench(ctx, dut, result):
        _tie(ctx, dut)
        host = HostArq()
        for w in l1_transmission(PERIOD, capture_channel=0):
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(4 * PERIOD)
        handles = [host.read(t, a) for t, a in capture_readout(tap)]
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx)
        result["entries"] = decode_capture([h.data for h in handles])
        result["bus_errors"] = ctx.get(dut.bus_errors)
        result["conflict"] = ctx.get(dut.l1_conflict)

    res = _run(bench)
    diffs = [(b - a) % 1024 for (_, a), (_, b) in zip(res["entries"], res["entries"][1:])]
    assert [a for a, _ in res["entries"]] == [0, 0, 0]
    assert diffs == [PERIOD, PERIOD]
    assert res["bus_errors"] == 0 and res["conflict"] == 0

    model = HicannModel()
    model.writes(l1_transmission(PERIOD, capture_channel=0))
    for _ in range(4 * PERIOD):
        model.step()
    entries = decode_capture([model.read(t, a) for t, a in capture_readout(tap)])
    assert [(b - a) % 1024 for (_, a), (_, b) in zip(entries, entries[1:])] == [PERIOD, PERIOD]


def test_unmapped_and_write_only_answer_with_error():
    async def bench(ctx, dut, result):
        _tie(ctx, dut)
        host = HostArq()
        host.write(0, HICANN_MAP["neuron_control"].base + 0x40, 1)
        h = host.read(0, HICANN_MAP["fg_top_left"].address("instruction"))
        ok = host.read(0, HICANN_MAP["neuron_control"].address("bg_seed"))
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        result["data"] = (h.data, ok.data)
        result["bus_errors"] = ctx.get(dut.bus_errors)

    res = _run(bench)
    assert res["data"] == (0, 0)
    assert res["bus_errors"] == 2


def test_config_roundtrip_through_packets():
    """A random sample of every block's registers written and read back through control-interface
    packets and the ARQ (driver SRAM words read twice, the second answer counts)."""
    import random

    import hicann_scenarios as hs

    rng = random.Random(7)
    writes = hs.random_register_writes(rng, fraction=0.04)
    model = HicannModel()
    for w in writes:
        model.write(*w)

    async def bench(ctx, dut, result):
        _tie(ctx, dut)
        host = HostArq()
        for w in writes:
            host.write(*w)
        handles = []
        for tag, addr, _ in writes:
            if hs.two_access(tag, addr):
                host.read(tag, addr)
            handles.append(host.read(tag, addr))
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        result["got"] = [h.data for h in handles]
        result["bus_errors"] = ctx.get(dut.bus_errors)

    res = _run(bench)
    blocks = {HICANN_MAP.decode(t, a, True)[0].name for t, a, _ in writes}
    assert len(blocks) == 16, sorted(blocks)
    expected = [hs.expected_readback(model, t, a) for t, a, _ in writes]
    assert res["got"] == expected
    assert res["bus_errors"] == 0
