"""L1 fabric gateware against its reference model: golden vectors (§3.1, §3.2, §2.4), the
L1TransmissionTest scenario (§12.4), random configurations and events (several seeds)."""

import random

import pytest

from bss1.models import coords
from bss1.models.l1_fabric import L1FabricModel
from bss1.rtl.l1_fabric import L1Fabric
from bss1.rtl.registers import (CROSSBAR, CROSSBAR_NAMES, REPEATER, REPEATER_BLOCK_H,
                                SYNAPSE_SWITCH, SYNAPSE_SWITCH_NAMES)

from l1_harness import Op, run

TP = REPEATER_BLOCK_H.reg("testport")
CFG = REPEATER_BLOCK_H.reg("config")
ON = CFG.encode(dllresetb=1, drvresetb=1)


def xbar_op(v, y):
    side, row, bit = coords.crossbar_switch(v, y)
    return Op(CROSSBAR_NAMES[side], CROSSBAR.reg("row").address(row), 1 << bit)


def rep_op(kind, line, byte):
    b, p = (coords.hrepeater_location if kind == "h" else coords.vrepeater_location)(line)
    return Op("repeater_" + b, REPEATER.address(p), byte)


def capture_reads(block, port):
    return [Op(block, TP.address(3 * port + e) + byte) for e in range(3) for byte in (0, 1)]


def captured(reads):
    words = [reads[i].rdata | (reads[i + 1].rdata << 8) for i in range(0, 6, 2)]
    return [(w & 0x3F, coords.gray_to_binary(w >> 6)) for w in words]


def test_transmission_and_crossbar_golden():
    """§12.4 L1TransmissionTest at fabric level (sending repeater OUTPUT 0x50, crossbar, INPUT
    repeater capturing 3 events 150 cycles apart), plus the §3.1 vector HLine 42 -> 8 VLines."""
    c = 7
    y = coords.sending_hline(c)
    v = coords.crossbar_vlines(y)[1]
    vblock, _ = coords.vrepeater_location(v)
    port = coords.testport_of_vline(v)
    record = REPEATER.encode(touten=1, recen=1)      # INPUT, receiving the local line
    arm = ON | (1 << CFG.field(f"start_tdi{port}").lsb)
    g_vl = coords.crossbar_vlines(42)
    assert g_vl == [10, 42, 74, 106, 149, 181, 213, 245]
    rows = {}
    for vv in g_vl:
        side, row, bit = coords.crossbar_switch(vv, 42)
        rows[side] = (row, rows.get(side, (0, 0))[1] | (1 << bit))
    assert rows == {"left": (21, 0xF), "right": (21, 0xF)}
    ops = [Op("repeater_center_left", REPEATER.address(coords.sending_repeater_address(c)), 0x50),
           Op("repeater_center_left", CFG.address(), ON),
           xbar_op(v, y), rep_op("v", v, record), Op("repeater_" + vblock, CFG.address(), arm)]
    ops += [Op(CROSSBAR_NAMES[s], CROSSBAR.reg("row").address(r), w) for s, (r, w) in rows.items()]
    start, period, n = 20, 150, 4
    end = start + n * period
    reads = capture_reads("repeater_" + vblock, port)
    reads[0].at = end
    status = Op("repeater_" + vblock, CFG.address())
    clear = Op("repeater_" + vblock, CFG.address(), ON)
    status2 = Op("repeater_" + vblock, CFG.address())
    seen = {"v": [], "g": set()}

    def events(cyc):
        ins = {}
        if cyc >= start and (cyc - start) % period == 0 and cyc < end:
            ins["sending"] = {c: 5}
        if cyc == 16:
            ins["east_i"] = {42: 33}      # even HLine 42: the east neighbour drives into it
        return ins

    def on_cycle(cyc, out):
        if v in out["vline"]:
            seen["v"].append(cyc)
        if cyc == 16:
            seen["g"] = set(out["vline"])

    run(L1Fabric(), L1FabricModel(), end + 30, ops=ops + reads + [status, clear, status2],
        events=events, on_cycle=on_cycle)
    # the event reaches the VLine one hop (the sending repeater) after injection
    assert seen["v"] == [start + k * period + 1 for k in range(n)]
    assert seen["g"] == set(g_vl)
    got = captured(reads)
    assert [a for a, _ in got] == [5, 5, 5]
    assert [got[k + 1][1] - got[k][1] for k in range(2)] == [period, period]
    assert got[0][1] == start + 1
    assert status.rdata == 1 << port and status2.rdata == 0


MODES = [0x00, 0x10, 0x20, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xC0, 0x30, 0x80, 0xB0, 0xD0]


def random_ops(rng, n_rep=6, n_rows=8):
    ops = []
    for b in coords.REPEATER_BLOCKS:
        inst = "repeater_" + b
        n = 32 if b.startswith("center") else 64
        for p in rng.sample(range(n), n_rep):
            ops.append(Op(inst, REPEATER.address(p), rng.choice(MODES) | rng.randrange(16)))
        if rng.random() < 0.5:
            for k in range(6):
                ops.append(Op(inst, TP.address(k), rng.randrange(64) | rng.randrange(4) << 6))
                ops.append(Op(inst, TP.address(k) + 1, rng.randrange(6)))
        cfg = rng.randrange(16) | CFG.encode(dllresetb=int(rng.random() < 0.85),
                                             drvresetb=int(rng.random() < 0.85))
        ops.append(Op(inst, CFG.address(), cfg))
    for name in CROSSBAR_NAMES.values():
        for r in rng.sample(range(64), n_rows):
            ops.append(Op(name, CROSSBAR.reg("row").address(r), rng.randrange(16)))
    for name in SYNAPSE_SWITCH_NAMES.values():
        for r in rng.sample(range(112), n_rows):
            ops.append(Op(name, SYNAPSE_SWITCH.reg("row").address(r), 1 << rng.randrange(16)
                          if rng.random() < 0.7 else rng.randrange(1 << 16)))
    rng.shuffle(ops)
    return ops


def random_events(rng, cyc):
    sizes = {"sending": 8, "west_i": 64, "east_i": 64, "north_i": 256, "south_i": 256,
             "west_drv_i": 224, "east_drv_i": 224}
    ins = {}
    for name, n in sizes.items():
        k = rng.choice((0, 0, 0, 1, 2, 4)) if name != "sending" else rng.choice((0, 1, 3))
        if k:
            ins[name] = {i: rng.randrange(64) for i in rng.sample(range(n), k)}
    return ins


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_against_model(seed):
    rng = random.Random(seed)
    ops = random_ops(rng)
    # read back everything of interest at the end (capture buffers, status, repeater bytes)
    tail = []
    for b in coords.REPEATER_BLOCKS:
        inst = "repeater_" + b
        tail += [Op(inst, TP.address(0) + i) for i in range(12)] + [Op(inst, CFG.address())]
    n = 2 * len(ops) + 100
    tail[0].at = n
    ev_rng = random.Random(seed + 100)
    stats = {"events": 0, "conflicts": 0}

    def on_cycle(cyc, out):
        stats["events"] += len(out["vline"]) + len(out["drv_in"])
        stats["conflicts"] = out["conflicts"]

    run(L1Fabric(hop_latency=1 + seed % 2), L1FabricModel(hop_latency=1 + seed % 2),
        n + 2 * len(tail) + 2, ops=ops + tail, events=lambda c: random_events(ev_rng, c),
        on_cycle=on_cycle)
    assert stats["events"] > 100 and stats["conflicts"] > 0
