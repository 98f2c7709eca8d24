"""The HICANN top in amaranth.sim: configuration through packets and the ARQ, the L1 transmission
scenario (§12.4), the layer-2 path through the DNC interface (§7.6, §8.4), and the reference
model on the same scenarios."""

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
    ctx.set(dut.l2_in.valid, 0)
    ctx.set(dut.l2_out.ready, 1)


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
    assert len(blocks) == 17, sorted(blocks)
    expected = [hs.expected_readback(model, t, a) for t, a, _ in writes]
    assert res["got"] == expected
    assert res["bus_errors"] == 0


def _l2_writes():
    """GbitLink 2 (HW channel 5) TO_HICANN with timestamps into DNC merger 2 (left input) -> its
    sending repeater; neuron (0, 0) with L1 address 9 -> DNC merger 0 (HW channel 7, one-on-one
    tree), GbitLink 0 TO_DNC."""
    from bss1.host.gbitlink import GbitLink, GbitLinkDirection as D
    from bss1.host.l1_config import Direction, RepeaterMode, repeater_block_config_write, \
        repeater_write
    from bss1.host.merger_tree import (DNCMerger, MergerConfig, MergerMode, MergerTree, nb_entry,
                                       neuron_config_word)
    from bss1.host.scenarios import local_writes
    from bss1.models import coords

    nb = HICANN_MAP["neuron_builder"]
    addr, word = nb_entry(0, 0, address=9)
    tree = MergerTree.one_on_one()
    tree[DNCMerger(2)] = MergerConfig(MergerMode.LEFT_ONLY, slow=True)
    w = [(nb.tag, nb.address("neuron_config"), neuron_config_word()),
         (nb.tag, nb.base + addr, word)]
    w += local_writes("neuron_control", tree.writes())
    w += [repeater_block_config_write(b, drvresetb=1, dllresetb=1) for b in coords.REPEATER_BLOCKS]
    w.append(repeater_write(("h", coords.sending_hline(5)), RepeaterMode.OUTPUT, Direction.INWARD))
    w.append(GbitLink.of({0: D.TO_DNC, 2: D.TO_HICANN}, timestamp_enable=True).write())
    return w


def test_l2_pulse_released_onto_l1_and_neuron_event_timestamped():
    """A timestamped pulse on l2_in goes through the DNC interface's release buffer, DNC merger 2
    and its sending repeater onto HLine 46 at its release time; a neuron event on the TO_DNC
    channel 7 leaves on l2_out stamped with the system time of its DNC-merger output cycle. The
    model, stepped with the same inputs, agrees on every cycle."""
    from bss1.models import coords

    writes = _l2_writes()
    n_cycles, pulse_at, lead, fire_at = 160, 10, 150, 40
    neuron = coords.neuron_nb_address(0, 0)
    hline = coords.sending_hline(5)

    async def bench(ctx, dut, result):
        _tie(ctx, dut)
        host = HostArq()
        for w in writes:
            host.write(*w)
        await arq_transact(ctx, None, host, rx=dut.cfg_rx, tx=dut.cfg_tx, start=0)
        await ctx.tick().repeat(64)
        rec, pulse = [], None
        ctx.set(dut.fire_cmd.payload, {"stamp": ctx.get(dut.cycle) + fire_at,
                                       "denmem": neuron})
        ctx.set(dut.fire_cmd.valid, 1)
        for k in range(n_cycles):
            ctx.set(dut.systime_reset, k == 0)
            if k == pulse_at:
                pulse = (5, 17, ctx.get(dut.systime) + lead)
                ctx.set(dut.l2_in.payload, {"channel": 5, "addr": 17, "timestamp": pulse[2]})
            ctx.set(dut.l2_in.valid, k == pulse_at)
            if k == 1:
                ctx.set(dut.fire_cmd.valid, 0)
            out = None
            if ctx.get(dut.l2_out.valid):
                p = ctx.get(dut.l2_out.payload)
                out = (p.channel, p.addr, p.timestamp)
            line = ctx.get(dut.hline[hline])
            rec.append({"systime": ctx.get(dut.systime), "fire": ctx.get(dut.fire) != 0,
                        "l2_out": out, "hline": line.addr if line.valid else None})
            await ctx.tick()
        result["rec"], result["pulse"] = rec, pulse
        result["bus_errors"] = ctx.get(dut.bus_errors)

    res = _run(bench)
    rec, pulse = res["rec"], res["pulse"]
    assert res["bus_errors"] == 0
    # the system time restarts after cycle 0 and advances 2, 3, 2, 3, ... ticks (100 MHz)
    assert [r["systime"] for r in rec[1:6]] == [0, 2, 5, 7, 10]
    assert pulse == (5, 17, rec[pulse_at]["systime"] + lead)
    # release in the cycle whose ticks contain the timestamp, on the HLine 3 cycles later
    release = next(k for k in range(n_cycles - 1)
                   if rec[k]["systime"] <= pulse[2] < rec[k + 1]["systime"])
    on_line = [k for k, r in enumerate(rec) if r["hline"] is not None]
    assert on_line == [release + 3] and rec[release + 3]["hline"] == 17
    # the neuron event: fired in cycle fire_at, out of DNC merger 0 (HW channel 7), on l2_out
    # a cycle after the output register, stamped with that cycle's system time
    assert [k for k, r in enumerate(rec) if r["fire"]] == [fire_at]
    sent = [(k, r["l2_out"]) for k, r in enumerate(rec) if r["l2_out"] is not None]
    assert len(sent) == 1 and sent[0][1][:2] == (7, 9)
    k_out, (_, _, ts) = sent[0]
    assert ts == rec[k_out - 1]["systime"]

    # the reference model with the same inputs, cycle by cycle
    model = HicannModel()
    model.writes(writes)
    while model.drivers.writes_pending:
        model.step()
    ref = []
    for k in range(n_cycles):
        r = model.step(fire=[neuron] if k == fire_at else (),
                       l2_in=pulse if k == pulse_at else None, systime_reset=k == 0)
        ref.append({"systime": r["systime"], "fire": k == fire_at, "l2_out": r["l2_out"],
                    "hline": r["hline"].get(hline)})
    assert ref[1:] == rec[1:]
