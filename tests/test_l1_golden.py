"""L1 fabric golden vectors: synapse-switch rows of VLines 13/141/217 (§3.2, §12.3), collision
flag, repeater bytes 0x50/0x10/0x90 and the §2.3 line shifts through tiled fabrics."""

from amaranth import Module
from amaranth.sim import Simulator

from bss1.models import coords
from bss1.models.l1_fabric import L1FabricModel
from bss1.rtl.l1_fabric import L1Fabric, connect_neighbours
from bss1.rtl.registers import (CROSSBAR, CROSSBAR_NAMES, REPEATER, REPEATER_BLOCK_H,
                                SYNAPSE_SWITCH, SYNAPSE_SWITCH_NAMES)

from l1_harness import Op, decode, encode, run

CFG = REPEATER_BLOCK_H.reg("config")
TP = REPEATER_BLOCK_H.reg("testport")
ON = CFG.encode(dllresetb=1, drvresetb=1)


def rows_of(v, half):
    side = "left" if v < 128 else "right"
    lines = range(112) if half == "top" else range(112, 224)
    return [L for L in lines if coords.synapse_switch_exists(v, side, L)]


def syn_ops(pairs):
    words = {}
    for v, L in pairs:
        side = "left" if v < 128 else "right"
        half, row, bit = coords.synapse_switch_register(v, side, L)
        key = (SYNAPSE_SWITCH_NAMES[(side, half)], row)
        words[key] = words.get(key, 0) | (1 << bit)
    return [Op(b, SYNAPSE_SWITCH.reg("row").address(r), w) for (b, r), w in words.items()]


def test_synapse_switch_golden_and_conflict():
    r13 = (rows_of(13, "top"), rows_of(13, "bottom"))
    assert [r13[0][i] for i in (0, 5, 9, 13)] == [6, 39, 71, 103]
    assert [r13[1][i] for i in (0, 7, 10, 13)] == [120, 169, 200, 217]
    r141 = (rows_of(141, "top"), rows_of(141, "bottom"))
    assert [r141[0][i] for i in (0, 7, 10, 13)] == [8, 57, 88, 105]
    assert [r141[1][i] for i in (0, 7, 10, 13)] == [118, 167, 198, 215]
    assert rows_of(217, "top")[:2] == [2, 3]
    pairs = [(13, L) for L in (6, 39, 71, 103, 120, 169, 200, 217)]
    pairs += [(141, L) for L in (8, 57, 88, 105, 118, 167, 198, 215)] + [(217, 2), (217, 3)]
    ops = syn_ops(pairs)
    # second source on VLine 13 at cycle 40 -> collision (the north neighbour's raw line is
    # north_i for a top-left repeater; the south edge carries the neighbour's drive)
    expect = {"drv_in": {}, "west_drv_o": {}, "east_drv_o": {}}
    addr = {13: 1, 141: 2, 217: 3}
    for v, L in pairs:
        side = "left" if v < 128 else "right"
        target = coords.synapse_switch_target(side, L)[0]
        key = "drv_in" if target == "local" else f"{target}_drv_o"
        expect[key][L] = addr[v]
    assert expect["drv_in"] and expect["west_drv_o"] and expect["east_drv_o"]
    t_ev = 2 * len(ops) + 2
    seen = {}
    own13 = coords.vrepeater_location(13)[0]
    assert own13 == "top_left"            # repeater at the north edge: south_i drives into 13

    def ev(c):
        if c == t_ev:
            return {"south_i": {13: 1}, "north_i": {141: 2, 217: 3}}
        if c == t_ev + 2:        # VLine 13 row 39 meets the west neighbour's row: collision
            return {"south_i": {13: 1}, "west_drv_i": {39: 4}}
        return {}

    def on_cycle(c, out):
        seen[c] = out

    run(L1Fabric(), L1FabricModel(), t_ev + 5, ops=ops, events=ev, on_cycle=on_cycle)
    out = seen[t_ev]
    for key, want in expect.items():
        assert out[key] == want, key
    assert seen[t_ev + 1]["conflict"] == 0
    # drv_in[39]: local row (VLine 13) and the west neighbour's row collide
    assert 39 in expect["drv_in"] and coords.driver_side(39) == "left"
    assert seen[t_ev + 2]["drv_in"][39] == 1 | 4
    assert seen[t_ev + 3]["conflict"] == 1 and seen[t_ev + 4]["conflicts"] == 1


def test_tiled_fabrics_line_shift_and_repeater_bytes():
    """Chip A sends on HLine 6 (0x50); chip B east of A forwards it inward (0x90: record while
    forwarding) onto HLine hline_east(6) = 8, switches it to a VLine whose top repeater drives it
    outward into chip C north of B on VLine vline_north(v). A's right synapse-switch row crosses
    the east edge into B's driver."""
    top = Module()
    a, b, cc = L1Fabric(), L1Fabric(), L1Fabric()
    top.submodules.a, top.submodules.b, top.submodules.c = a, b, cc
    connect_neighbours(top, a, b, "east")
    connect_neighbours(top, b, cc, "north")
    ch = 0
    y_a = coords.sending_hline(ch)
    y_b = coords.hline_east(y_a)
    assert (y_a, y_b) == (6, 8)
    v_b = next(v for v in coords.crossbar_vlines(y_b) if coords.vrepeater_location(v)[0]
               == "top_right")
    v_c = coords.vline_north(v_b)
    assert v_c == 128 + (v_b - 128 - 2) % 128
    # A: right VLine of HLine 6 -> right row that leads east
    v_a = coords.crossbar_vlines(y_a)[4]
    L = next(L for L in range(224) if coords.synapse_switch_exists(v_a, "right", L)
             and coords.synapse_switch_target("right", L)[0] == "east")
    blk_b, p_b = coords.hrepeater_location(y_b)
    port_b = coords.testport_of_hline(y_b)
    blk_v, p_v = coords.vrepeater_location(v_b)
    ops = [
        (a, "repeater_center_left", REPEATER.address(coords.sending_repeater_address(ch)), 0x50),
        (a, "repeater_center_left", CFG.address(), ON),
        (b, "repeater_" + blk_b, REPEATER.address(p_b), 0x90),
        (b, "repeater_" + blk_b, CFG.address(), ON | (1 << CFG.field(f"start_tdi{port_b}").lsb)),
        (b, "repeater_" + blk_v, REPEATER.address(p_v), REPEATER.encode(recen=1)),
        (b, "repeater_" + blk_v, CFG.address(), ON),
    ]
    for fab, v, y in ((b, v_b, y_b), (a, v_a, y_a)):
        side, row, bit = coords.crossbar_switch(v, y)
        ops.append((fab, CROSSBAR_NAMES[side], CROSSBAR.reg("row").address(row), 1 << bit))
    for o in syn_ops([(v_a, L)]):
        ops.append((a, o.block, o.addr, o.data))
    t0 = 100
    log = {"a_h": [], "b_h": [], "c_v": [], "b_drv": []}
    sim = Simulator(top)
    sim.add_clock(1e-8)

    async def tb(ctx):
        from bss1.rtl.sim import bus_write, bus_read
        for fab, blk, addr, data in ops:
            assert await bus_write(ctx, getattr(fab, blk), addr, data) == 0
        for _ in range(t0 - 2 * len(ops) - 5):
            await ctx.tick()
        for c in range(t0, t0 + 400):
            ctx.set(a.sending.as_value(), encode({ch: 9}) if (c - t0) % 150 == 0 else 0)
            if decode(ctx.get(a.hline.as_value()), 64).get(y_a) == 9:
                log["a_h"].append(c)
            if decode(ctx.get(b.hline.as_value()), 64).get(y_b) == 9:
                log["b_h"].append(c)
            if decode(ctx.get(cc.vline.as_value()), 256).get(v_c) == 9:
                log["c_v"].append(c)
            if decode(ctx.get(b.drv_in.as_value()), 224).get(L) == 9:
                log["b_drv"].append(c)
            await ctx.tick()
        blk = getattr(b, "repeater_" + blk_b)
        words = []
        for e in range(3):
            lo, _ = await bus_read(ctx, blk, TP.address(3 * port_b + e))
            hi, _ = await bus_read(ctx, blk, TP.address(3 * port_b + e) + 1)
            words.append(lo | hi << 8)
        log["cap"] = words
        log["conflict"] = [ctx.get(f.conflict) for f in (a, b, cc)]

    sim.add_testbench(tb)
    sim.run()
    sends = [t0, t0 + 150, t0 + 300]
    assert log["a_h"] == [t + 1 for t in sends]
    assert log["b_drv"] == [t + 1 for t in sends]
    assert log["b_h"] == [t + 2 for t in sends]
    assert log["c_v"] == [t + 3 for t in sends]
    times = [coords.gray_to_binary(w >> 6) for w in log["cap"]]
    assert [w & 0x3F for w in log["cap"]] == [9, 9, 9]
    assert [times[1] - times[0], times[2] - times[1]] == [150, 150]
    assert log["conflict"] == [0, 0, 0]
