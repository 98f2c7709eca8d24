"""STDP end to end (issue 3; spec analog-core.md §7, hicann-digital.md §6.2-6.5): 36 pre/post
pairs at 10 ms (bio) on one synapse of the analog core, pre events from driver strobes and post
spikes from the denmem really firing, set the sensor's causal flag (post after pre), its acausal
flag (post before pre) or both (pre, post, pre); then an AUTO run of the synapse controller over
that synapse's row, configured with the host encoders (CNFG pattern 0 = causal {cc}, pattern 1 =
acausal {aa}; three distinct LUTs), updates the weight with exactly the LUT the flags select and
resets the synapse's accumulators. AUTO runs twice over the same state: in the RTL controller
(amaranth.sim, the array port serviced from the core's own SynapseArray) and in its behavioural
twin (SynapseDriverModel + SynapseControllerModel, same bus writes, on a copy of the array);
both must give the reference result, the same array accesses at the same cycles and identical
arrays. A second AUTO pass changes nothing."""

import copy

import numpy as np
import pytest
from amaranth.sim import Simulator

from bss1.host.hal_synapses import (STDPLUT, SynapseControllerConfig, SynCmd, ctrl_word,
                                    synapse_controller_writes)
from bss1.models import coords
from bss1.models.analog_core import STROBE_DTYPE, AnalogCore, fire_line
from bss1.models.synapse_array import hw_row
from bss1.models.synapse_controller import SynapseControllerModel
from bss1.models.synapse_driver import SynapseDriverModel
from bss1.models.transform import NeuronParameters, Scaling
from bss1.rtl.registers import HICANN_MAP
from bss1.rtl.synapse_array_port_sim import serve_synapse_array
from bss1.rtl.synapse_controller import SynapseArrayOp, SynapseController

HALF = "top"
CTL = "synapse_controller_top"
PRE_LINE, PRE_ROW, COL = 20, 41, 30          # top half, row-on-driver 1, even column
POST_LINE, POST_ROW = 60, 120                # strong synapse that makes denmem COL fire
PRE_DEC, POST_DEC = 3, 9
W0 = 5                                       # weight of the plastic synapse before AUTO
HW_ROW = hw_row(HALF, PRE_ROW)               # 182
COLSET = (COL % 64) // 8                     # column set 3, slice 0, j = 6
FLAG_BIT = 31 - (8 * (COL // 64) + COL % 8)
BYSTANDERS = (31, 94, 200)                   # same row; 31 and 94 in the same column set
SUB_THRESHOLD = 10.0
PERIOD = 1000                                # one pairing per 100 ms bio
LAG = 100                                    # 10 ms bio at speed-up 1e4, 100 MHz

LUT = STDPLUT(causal=tuple(min(w + 3, 15) for w in range(16)),
              acausal=tuple(max(w - 2, 0) for w in range(16)),
              combined=tuple(15 - w for w in range(16)))
CFG = SynapseControllerConfig(pattern0=0b1000, pattern1=0b0001,   # {cc} causal, {aa} acausal
                              dll_reset=False, lut=LUT, syn_rst=0xFFFF_FFFF)
AUTO = ctrl_word(SynCmd.AUTO, row=HW_ROW, last_row=HW_ROW, sel=COLSET, scc=True, sca=True)
ROW_CYCLES = (15 + 15 + 4) + 8 * ((15 + 3) + (2 + 4) + (15 + 6)) + 3     # §6.5 with reset: 397

# case -> (post spike, pre events) as cycle offsets within each period; flags (causal, acausal).
# The driving synapse is strobed DRIVE_LEAD cycles before the spike: 2 on a resting membrane, 1
# when the plastic synapse's EPSP (weight W0) 10 ms earlier is still there.
POST = 50 + LAG
CASES = {
    "causal": (POST, (POST - LAG,), (1, 0)),
    "acausal": (POST, (POST + LAG,), (0, 1)),
    "combined": (POST, (POST - LAG, POST + LAG), (1, 1)),
}
DRIVE_LEAD = {True: 1, False: 2}


def expected_weight(flags):
    table = {(1, 0): LUT.causal, (0, 1): LUT.acausal, (1, 1): LUT.combined}.get(flags)
    return table[W0] if table else W0


def local_writes(writes):
    """(tag, address, word) of the host encoder -> (local address, word) of the controller."""
    inst = HICANN_MAP[CTL]
    out = []
    for tag, addr, word in writes:
        assert tag == inst.tag and inst.contains(addr)
        out.append((addr - inst.base, word))
    return out


CONFIG_WRITES = local_writes(synapse_controller_writes(CTL, CFG))
CTRL_ADDR = HICANN_MAP[CTL].type.reg("ctrl").address()


# -- the analog part: pairing through strobes and real post spikes --------------------------------
def paired_core(case, n_pairs=36):
    """An AnalogCore after ``n_pairs`` pairings of ``case``; returns (core, fired)."""
    post, pre_offsets, _ = CASES[case]
    drive = post - DRIVE_LEAD[min(pre_offsets) < post]     # key: a pre EPSP precedes
    sc = Scaling()
    core = AnalogCore()
    core.configure_neurons(np.arange(512), np.arange(512))
    core.neurons.set_hardware_parameters(
        NeuronParameters({"tau_refrac": 20.0}, "IF_cond_exp").to_hardware(sc))
    a = core.array
    rng = np.random.default_rng(7)
    row_w = rng.integers(1, 16, 256)
    for c in range(256):                      # the rest of the row: weights, decoder 0 (silent)
        a.set_synapse(HALF, PRE_ROW, c, weight=int(row_w[c]), decoder=0)
    a.set_synapse(HALF, PRE_ROW, COL, weight=W0, decoder=PRE_DEC)
    a.set_synapse(HALF, POST_ROW, COL, weight=15, decoder=POST_DEC)
    a.set_correlation(HALF, [PRE_ROW] * len(BYSTANDERS), list(BYSTANDERS),
                      causal=SUB_THRESHOLD, acausal=SUB_THRESHOLD)
    si = core.synapse_input
    si.set_row(HALF, PRE_ROW, syn_in=(1, 0), gmax_div=(11, 0))
    si.set_v_gmax(HALF, coords.driver_side(POST_LINE), (1000, 500, 500, 500))
    si.set_row(HALF, POST_ROW, syn_in=(1, 0), gmax_div=(1, 0))

    def bit(line, row):                       # top half: rows 2 L, 2 L + 1 of driver L
        return 1 << (2 * (row - 2 * line) + (COL & 1))
    fires = []
    for k in range(n_pairs):
        t0 = PERIOD * k
        ev = [(t0 + drive, POST_LINE, bit(POST_LINE, POST_ROW), POST_DEC)]
        ev += [(t0 + o, PRE_LINE, bit(PRE_LINE, PRE_ROW), PRE_DEC) for o in pre_offsets]
        s = np.array(sorted(ev), STROBE_DTYPE)
        fires.append(core.step(PERIOD, s))
    return core, np.concatenate(fires)


# -- the digital part: AUTO through the RTL and through the twin ----------------------------------
def auto_rtl(array, passes=2):
    """Configure the RTL controller with CONFIG_WRITES and run AUTO ``passes`` times on
    ``array``; per pass (auto_busy cycles, accesses relative to the CTRL write, array state)."""
    dut = SynapseController(HALF)
    log = []
    res = []
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(serve_synapse_array(dut.array, array, HALF, 1, log), background=True)

    async def tb(ctx):
        now = 0
        bus = dut.bus

        async def write(addr, data):
            """One bus write; returns the cycle that served it, in the cycle after (ack)."""
            nonlocal now
            ctx.set(bus.stb, 1)
            ctx.set(bus.we, 1)
            ctx.set(bus.addr, addr)
            ctx.set(bus.wdata, data)
            for _ in range(100):
                await ctx.tick()
                now += 1
                if ctx.get(bus.ack):
                    assert ctx.get(bus.err) == 0, hex(addr)
                    ctx.set(bus.stb, 0)
                    return now - 1
            raise TimeoutError(f"no ack for {addr:#x}")
        for addr, word in CONFIG_WRITES:
            await write(addr, word)
        for _ in range(passes):
            n0 = len(log)
            served = await write(CTRL_ADDR, AUTO)
            first = ctx.get(dut.auto_busy)           # cycle served + 1
            busy = 0
            while ctx.get(dut.auto_busy) and busy <= 4 * ROW_CYCLES:
                busy += 1
                await ctx.tick()
                now += 1
            res.append((first, busy, [(c - served, *rest) for c, *rest in log[n0:]],
                        snapshot(array)))

    sim.add_testbench(tb)
    sim.run()
    return res


def auto_twin(array, passes=2):
    """The same bus writes and AUTO runs through SynapseDriverModel with the sequencer twin."""
    model = SynapseDriverModel()
    seq = SynapseControllerModel(HALF, array)
    model.attach_sequencer(CTL, seq)
    for addr, word in CONFIG_WRITES:
        model.write(CTL, addr, word)
        model.step()
    res = []
    for _ in range(passes):
        n0 = len(seq.log)
        model.write(CTL, CTRL_ADDR, AUTO)
        served = model.served_cycle
        model.step()
        first = seq.auto_busy
        busy = 0
        while seq.auto_busy and busy <= 4 * ROW_CYCLES:
            busy += 1
            model.step()
        res.append((first, busy, [(c - served, *rest) for c, *rest in seq.log[n0:]],
                    snapshot(array)))
    return res


def snapshot(array):
    halves = ("top", "bottom")
    return ([array.weights(h) for h in halves] + [array.decoders(h) for h in halves]
            + [a.copy() for h in halves for a in array.sensors.accumulators(h)])


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


# -- the test ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_stdp_pairs_then_auto_rtl_and_twin(case):
    flags = CASES[case][2]
    core, fired = paired_core(case)
    # the post spikes are real: one per pairing, denmem COL, 10 ms (bio) from the pre events
    det = fired["cycle"] - core.neurons.delay_cycles
    assert fired.size == 36 and (fired["denmem"] == fire_line(COL)).all()
    np.testing.assert_array_equal(det, PERIOD * np.arange(36) + CASES[case][0])
    pre = np.add.outer(PERIOD * np.arange(36), CASES[case][1])
    want_lags = {(1, 0): [LAG], (0, 1): [-LAG], (1, 1): [-LAG, LAG]}[flags]
    assert sorted(set((det[:, None] - pre).ravel().tolist())) == want_lags   # post - pre
    a = core.array
    causal, acausal = (x[PRE_ROW, COL] for x in a.sensors.accumulators(HALF))
    assert (causal, acausal) == (pytest.approx(36 * 0.625 * flags[0]),
                                 pytest.approx(36 * 0.625 * flags[1]))
    corr = a.read_correlation(HALF, HW_ROW, COLSET, CFG.cnfg_word() & 0xFF)
    assert tuple((w >> FLAG_BIT) & 1 for w in corr) == flags
    # nothing else of the row is flagged (the bystanders hold sub-threshold correlation)
    for s in range(8):
        c0, c1 = a.read_correlation(HALF, HW_ROW, s, CFG.cnfg_word() & 0xFF)
        assert (c0 | c1) == ((1 << FLAG_BIT) if s == COLSET else 0), s

    before = snapshot(a)
    twin_array = copy.deepcopy(a)
    assert_same(snapshot(twin_array), before)
    rtl = auto_rtl(a)
    twin = auto_twin(twin_array)

    # reference: only the flagged synapse changes, by the selected LUT, and loses its correlation
    want = [x.copy() for x in before]
    want[0][PRE_ROW, COL] = expected_weight(flags)      # top weights
    want[4][PRE_ROW, COL] = 0.0                         # top causal
    want[5][PRE_ROW, COL] = 0.0                         # top acausal
    assert want[0][PRE_ROW, COL] != W0
    for p in range(2):
        for run in (rtl, twin):
            first, busy, accesses, state = run[p]
            assert first == 1
            assert busy == ROW_CYCLES
            assert_same(state, want)
            ops = [acc[1] for acc in accesses]
            assert ops == [SynapseArrayOp.READ_WEIGHTS, SynapseArrayOp.READ_CORRELATION,
                           SynapseArrayOp.WRITE_WEIGHTS, SynapseArrayOp.RESET_CORRELATION] * 8
            assert {acc[2] for acc in accesses} == {HW_ROW}
        assert rtl[p][2] == twin[p][2]          # same accesses, same cycles, same data
    # the reset mask of the first pass selects exactly the flagged synapse
    resets = [acc for acc in rtl[0][2] if acc[1] == SynapseArrayOp.RESET_CORRELATION]
    assert [acc[5] for acc in resets] == [(1 << FLAG_BIT) if s == COLSET else 0
                                          for s in range(8)]
    assert [acc[5] for acc in rtl[1][2] if acc[1] == SynapseArrayOp.RESET_CORRELATION] == [0] * 8
    # after AUTO the synapse reads back without flags, its accumulators at zero
    assert a.read_correlation(HALF, HW_ROW, COLSET, CFG.cnfg_word() & 0xFF) == (0, 0)
    assert a.synapse(HALF, PRE_ROW, COL)[0] == expected_weight(flags)
    # the bystanders kept their sub-threshold correlation, the driving synapse its flag
    causal, acausal = a.sensors.accumulators(HALF)
    assert (causal[PRE_ROW, list(BYSTANDERS)] == SUB_THRESHOLD).all()
    assert causal[POST_ROW, COL] > 22.0


def test_35_pairs_flag_nothing_and_auto_keeps_the_weight():
    """Control: one pairing less stays below the threshold; AUTO changes nothing."""
    core, fired = paired_core("causal", n_pairs=35)
    assert fired.size == 35
    a = core.array
    assert a.read_correlation(HALF, HW_ROW, COLSET, CFG.cnfg_word() & 0xFF) == (0, 0)
    before = snapshot(a)
    first, busy, accesses, state = auto_twin(a, passes=1)[0]
    assert first and busy == ROW_CYCLES and len(accesses) == 32
    assert_same(state, before)
    assert a.sensors.accumulators(HALF)[0][PRE_ROW, COL] == pytest.approx(35 * 0.625)
