"""Synapse array (hicann-digital §5.1-5.3, §6.2): chip-format weight and decoder words against
hand-computed examples and an independent bit-level encoder written from the spec text, round
trips, correlation read-out words, memory per synapse, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss1.models.synapse_array import (SynapseArray, column_set_columns, denmem_of, hw_row,
                                       row_on_array)


# -- independent reference encoders (spec text, bit by bit) ---------------------------------------
def ref_weight_word(values):
    """§5.2 second wording: put column j as a normal nibble at [4j+3:4j], reverse all 32 bits."""
    v = 0
    for j, w in enumerate(values):
        v |= w << (4 * j)
    return int(f"{v:032b}"[::-1], 2)


def ref_decoder_word(bottom, top, odd_row):
    """§5.3: per column j, the four bits listed from bit 31-4j down to 28-4j."""
    word = 0
    for j, (b, t) in enumerate(zip(bottom, top)):
        bits = ((b >> 3 & 1, t >> 2 & 1, b >> 2 & 1, t >> 3 & 1) if odd_row
                else (b >> 1 & 1, t & 1, b & 1, t >> 1 & 1))
        for k, bit in enumerate(bits):
            word |= bit << (31 - 4 * j - k)
    return word


# -- coordinates ---------------------------------------------------------------------------------
def test_row_and_column_maps():
    assert hw_row("top", 223) == 0 and hw_row("top", 0) == 223
    assert hw_row("bottom", 0) == 0 and hw_row("bottom", 223) == 223
    for half in ("top", "bottom"):
        assert all(row_on_array(half, hw_row(half, r)) == r for r in range(224))
    assert column_set_columns(0)[:, 0].tolist() == [0, 64, 128, 192]
    assert column_set_columns(3)[2].tolist() == list(range(152, 160))
    every = np.sort(np.concatenate([column_set_columns(s).ravel() for s in range(8)]))
    assert every.tolist() == list(range(256))
    assert denmem_of("top", 17) == 17 and denmem_of("bottom", 17) == 273


# -- weights -------------------------------------------------------------------------------------
def test_weight_word_worked_examples():
    a = SynapseArray()
    # weight 1 at column 0 (slice 0, j 0): value bit 0 lands at bit 31
    a.set_synapse("top", 223, 0, weight=1)
    assert a.read_weights("top", 0, 0) == (0x8000_0000, 0, 0, 0)
    # weight 0b0011 at column 64 + 8 * 2 + 7 = 87 (slice 1, set 2, j 7): bits [3:0] = rev(3) = 0xC
    a.set_synapse("bottom", 5, 87, weight=3)
    assert a.read_weights("bottom", 5, 2) == (0, 0xC, 0, 0)
    # weights 1..8 in slice 3 of set 1: nibbles rev4 = 8, 4, C, 2, A, 6, E, 1
    for j in range(8):
        a.set_synapse("bottom", 100, 192 + 8 + j, weight=j + 1)
    assert a.read_weights("bottom", 100, 1) == (0, 0, 0, 0x84C2A6E1)


def test_weight_write_then_user_view():
    a = SynapseArray()
    a.write_weights("top", 10, 5, (0xF000_0000, 0, 0x1000_0000, 0x0000_0002))
    w = a.weights("top")
    r = 223 - 10
    assert w[r, 40] == 15              # slice 0, set 5, j 0: nibble F -> 15
    assert w[r, 128 + 40] == 8         # slice 2: nibble 1 = 0b0001 reversed -> 0b1000
    assert w[r, 192 + 40 + 7] == 4     # slice 3, j 7: nibble 2 = 0b0010 reversed -> 0b0100
    assert int(w.sum()) == 27 and int(a.decoders("top").sum()) == 0


@settings(max_examples=60, deadline=None)
@given(half=st.sampled_from(["top", "bottom"]), row=st.integers(0, 223),
       colset=st.integers(0, 7), values=st.lists(st.integers(0, 15), min_size=32, max_size=32))
def test_weight_words_match_reference(half, row, colset, values):
    a = SynapseArray()
    cols = column_set_columns(colset)
    r = row_on_array(half, row)
    w = np.zeros((224, 256), np.uint8)
    w[r, cols.ravel()] = values
    a.set_weights(half, w)
    words = a.read_weights(half, row, colset)
    assert words == tuple(ref_weight_word(values[8 * i:8 * i + 8]) for i in range(4))
    b = SynapseArray()
    b.write_weights(half, row, colset, words)
    assert np.array_equal(b.weights(half), w)
    assert not b.decoders(half).any()


# -- decoders ------------------------------------------------------------------------------------
def test_decoder_word_worked_example():
    a = SynapseArray()
    # driver of HW rows 0 (HW-bottom, B) and 1 (HW-top, T) of the top array, column 1 (j = 1)
    a.set_synapse("top", 223, 1, decoder=0b1011)     # B
    a.set_synapse("top", 222, 1, decoder=0b0110)     # T
    # even row: B1 T0 B0 T1 = 1 0 1 1; odd row: B3 T2 B2 T3 = 1 1 0 0  (bits [27:24])
    assert a.read_decoders("top", 0, 0) == (0x0B00_0000, 0, 0, 0)
    assert a.read_decoders("top", 1, 0) == (0x0C00_0000, 0, 0, 0)
    assert a.read_weights("top", 0, 0) == (0, 0, 0, 0)


def test_decoder_write_sets_half_the_bits_of_both_rows():
    a = SynapseArray()
    a.write_decoders("bottom", 7, 0, (0xF000_0000, 0, 0, 0))    # odd row: B3 T2 B2 T3 all 1
    d = a.decoders("bottom")
    assert d[6, 0] == 0b1100 and d[7, 0] == 0b1100             # B = row 6 (even R), T = row 7
    a.write_decoders("bottom", 6, 0, (0xA000_0000, 0, 0, 0))    # even row: B1 T0 B0 T1 = 1 0 1 0
    d = a.decoders("bottom")
    assert d[6, 0] == 0b1111 and d[7, 0] == 0b1100
    assert int(d.astype(int).sum()) == 27


@settings(max_examples=60, deadline=None)
@given(half=st.sampled_from(["top", "bottom"]), driver=st.integers(0, 111),
       colset=st.integers(0, 7), bottom=st.lists(st.integers(0, 15), min_size=32, max_size=32),
       top=st.lists(st.integers(0, 15), min_size=32, max_size=32))
def test_decoder_words_match_reference_and_round_trip(half, driver, colset, bottom, top):
    a = SynapseArray()
    rb, rt = 2 * driver, 2 * driver + 1
    cols = column_set_columns(colset).ravel()
    d = np.zeros((224, 256), np.uint8)
    d[row_on_array(half, rb), cols] = bottom
    d[row_on_array(half, rt), cols] = top
    a.set_decoders(half, d)
    even = a.read_decoders(half, rb, colset)
    odd = a.read_decoders(half, rt, colset)
    assert even == tuple(ref_decoder_word(bottom[8 * i:8 * i + 8], top[8 * i:8 * i + 8], False)
                         for i in range(4))
    assert odd == tuple(ref_decoder_word(bottom[8 * i:8 * i + 8], top[8 * i:8 * i + 8], True)
                        for i in range(4))
    b = SynapseArray()
    b.write_decoders(half, rt, colset, odd)
    b.write_decoders(half, rb, colset, even)
    assert np.array_equal(b.decoders(half), d)
    assert not b.weights(half).any()


def test_weights_and_decoders_are_independent():
    a = SynapseArray()
    rng = np.random.default_rng(1)
    w, d = rng.integers(0, 16, (224, 256)), rng.integers(0, 16, (224, 256))
    a.set_weights("top", w)
    a.set_decoders("top", d)
    a.set_weights("top", w)
    assert np.array_equal(a.weights("top"), w) and np.array_equal(a.decoders("top"), d)
    assert not a.weights("bottom").any() and not a.decoders("bottom").any()
    assert a.synapse("top", 3, 4) == (w[3, 4], d[3, 4])


# -- correlation port ----------------------------------------------------------------------------
CAUSAL_READ = 0x81      # p0 = {cc} (bit 7), p1 = {aa} (bit 0)


def test_correlation_words_bit_order_and_reset():
    a = SynapseArray()
    r = row_on_array("top", 9)
    # slice 0 j 0 -> bit 31; slice 2 j 5 -> bit 31 - 21 = 10 (set 3: column 128 + 24 + 5 = 157)
    a.set_correlation("top", [r, r], [24, 157], causal=[30.0, 0.0], acausal=[0.0, 30.0])
    assert a.read_correlation("top", 9, 3, CAUSAL_READ) == (1 << 31, 1 << 10)
    assert a.read_correlation("top", 9, 3, CAUSAL_READ, causal_enable=False) == (0, 1 << 10)
    assert a.read_correlation("top", 9, 3, CAUSAL_READ, acausal_enable=False) == (1 << 31, 0)
    assert a.read_correlation("top", 9, 2, CAUSAL_READ) == (0, 0)
    assert a.read_correlation("top", 8, 3, CAUSAL_READ) == (0, 0)
    a.reset_correlation("top", 9, 3, 1 << 10)
    assert a.read_correlation("top", 9, 3, CAUSAL_READ) == (1 << 31, 0)
    a.reset_correlation("top", 9, 3, 0xFFFF_FFFF)
    assert a.read_correlation("top", 9, 3, CAUSAL_READ) == (0, 0)
    c, ac = a.sensors.accumulators("top")
    assert not c.any() and not ac.any()


def test_memory_per_synapse_at_most_four_bytes():
    a = SynapseArray()
    assert a.nbytes() / (2 * 224 * 256) <= 4.0


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda a: a.read_weights("left", 0, 0), "half 'left' not 'top' or 'bottom'"),
    (lambda a: a.read_weights("top", 224, 0), "synapse row address 224 out of range 0..223"),
    (lambda a: a.read_decoders("top", -1, 0), "synapse row address -1 out of range 0..223"),
    (lambda a: a.read_weights("top", 0, 8), "column set 8 out of range 0..7"),
    (lambda a: a.write_weights("top", 0, 0, (0, 0, 0)),
     r"words must be 4 integers, got \(0, 0, 0\)"),
    (lambda a: a.write_decoders("top", 0, 0, (0, 0, 0, 1 << 32)),
     "word 3 4294967296 out of range 0..4294967295"),
    (lambda a: a.write_weights("top", 0, 0, 5), "words must be 4 integers, got 5"),
    (lambda a: a.read_correlation("top", 0, 0, 256), "evaluation patterns 256 out of range 0..255"),
    (lambda a: a.reset_correlation("top", 0, 0, -1), "reset mask -1 out of range 0..4294967295"),
    (lambda a: a.set_synapse("top", 0, 256, weight=1), "synapse column 256 out of range 0..255"),
    (lambda a: a.set_synapse("top", 0, 0, weight=16), "weight 16 out of range 0..15"),
    (lambda a: a.set_synapse("top", 0, 0, weight=1, decoder=-1), "decoder -1 out of range 0..15"),
    (lambda a: a.set_weights("top", np.zeros((224, 255), int)),
     r"weights must have shape \(224, 256\), got \(224, 255\)"),
    (lambda a: a.set_decoders("top", np.full((224, 256), 16)), "decoder 16 out of range 0..15"),
    (lambda a: a.set_correlation("top", 0, 0, causal=40.0),
     "causal accumulator 40.0 out of range 0..31.875"),
])
def test_bad_input(call, message):
    a = SynapseArray()
    a.set_synapse("top", 5, 5, weight=7, decoder=3)
    before = (a.weights("top").copy(), a.decoders("top").copy())
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(a)
    assert np.array_equal(a.weights("top"), before[0])
    assert np.array_equal(a.decoders("top"), before[1])


# -- event -> conductance (analog-core §5.1-5.2) -------------------------------------------------
import random  # noqa: E402

from bss1.host.synapse_driver import encode_synapse_driver  # noqa: E402
from bss1.models import coords  # noqa: E402
from bss1.models.stp import StpParameters, cap_for_utilisation, utilisation  # noqa: E402
from bss1.models.synapse_driver import SynapseDriverModel  # noqa: E402
from bss1.models.synapse_input import STROBE_DTYPE, SynapseInput  # noqa: E402
from hicann_scenarios import random_driver  # noqa: E402

NS = 1e-9


def g_default(w):
    return (93.94 + 81.34 * w - 1.597 * w * w) * NS


def strobes(*events):
    return np.array(list(events), dtype=STROBE_DTYPE)


def test_conductance_hand_computed():
    a = SynapseArray()
    si = SynapseInput(a)
    # driver 5 (top half, right side): rows 10 (row-on-driver 0) and 11 (1)
    a.set_synapse("top", 10, 4, weight=15, decoder=7)
    a.set_synapse("top", 10, 5, weight=15, decoder=7)      # odd column: other strobe bit
    a.set_synapse("top", 10, 6, weight=3, decoder=2)
    a.set_synapse("top", 11, 9, weight=1, decoder=7)
    a.set_synapse("top", 12, 4, weight=9, decoder=7)       # row of driver 6: never reached
    si.set_row("top", 10, syn_in=(1, 0), selgmax=0, gmax_div=(11, 3))
    si.set_row("top", 11, syn_in=(0, 1), selgmax=2, gmax_div=(11, 4))
    si.set_row("top", 12, syn_in=(1, 1), selgmax=0, gmax_div=(11, 11))
    si.set_v_gmax("top", coords.driver_side(5), (500, 500, 650, 500))
    out = si.increments(strobes((100, 5, 0b0001, 7), (100, 5, 0b1000, 7), (130, 5, 0b0001, 2),
                                (140, 5, 0b0100, 7), (150, 5, 0b0001, 9)))
    assert out.cycle.tolist() == [100, 100, 130]
    assert out.denmem.tolist() == [4, 9, 6]
    assert out.input.tolist() == [0, 1, 0]
    # 93.94 + 81.34 * 15 - 1.597 * 225 = 954.715 nS; (650/500) (11/4) (93.94 + 81.34 - 1.597)
    np.testing.assert_allclose(out.dg, [954.715 * NS, 3.575 * 173.683 * NS, g_default(3)],
                               rtol=1e-12)


def test_conductance_bottom_half_both_inputs_and_zero_cases():
    a = SynapseArray()
    si = SynapseInput(a)
    # driver 120 (bottom half): rows 2 * 120 - 224 = 16 and 17; column 33 -> denmem 256 + 33
    a.set_decoders("bottom", np.ones((224, 256), int))      # park all others on decoder 1
    a.set_synapse("bottom", 17, 33, weight=4, decoder=0)
    a.set_synapse("bottom", 17, 35, weight=0, decoder=0)
    si.set_row("bottom", 17, syn_in=(1, 1), selgmax=1, gmax_div=(11, 5))
    si.set_v_gmax("bottom", coords.driver_side(120), (500, 1000, 500, 500))
    out = si.increments(strobes((7, 120, 0b1000, 0)))
    assert out.denmem.tolist() == [289, 289] and out.input.tolist() == [0, 1]
    np.testing.assert_allclose(out.dg, [2 * g_default(4), 2 * 11 / 5 * g_default(4)], rtol=1e-12)
    # weight 0 conducts only in the ESS convention (§13.5); divisor 0 never
    ess = SynapseInput(a, zero_weight_conducts=True)
    ess.set_row("bottom", 17, syn_in=(1, 0), selgmax=0, gmax_div=(11, 0))
    out = ess.increments(strobes((7, 120, 0b1000, 0)))
    assert out.denmem.tolist() == [289, 291]
    np.testing.assert_allclose(out.dg, [g_default(4), 93.94 * NS], rtol=1e-12)
    ess.set_row("bottom", 17, syn_in=(1, 0), selgmax=0, gmax_div=(0, 11))
    assert ess.increments(strobes((8, 120, 0b1000, 0))).dg.size == 0


def test_conductance_tables_follow_array_changes():
    a = SynapseArray()
    si = SynapseInput(a)
    si.set_row("top", 0, syn_in=(1, 0), gmax_div=(11, 0))
    ev = (np.array([1]), np.array([0]), np.array([1]), np.array([3]))
    assert si.increments(ev).dg.size == 0
    a.write_weights("top", hw_row("top", 0), 0, (0xF000_0000, 0, 0, 0))     # column 0 := 15
    a.set_synapse("top", 0, 0, decoder=3)
    out = si.increments((np.array([2]), *ev[1:]))
    assert out.denmem.tolist() == [0]
    np.testing.assert_allclose(out.dg, [g_default(15)], rtol=1e-12)


def test_configure_from_driver_srams_matches_host_encoder():
    rng = random.Random(7)
    cfgs = {line: random_driver(rng) for line in range(224)}
    words = {ctl: {s: [0] * 224 for s in ("drv_config", "drv_gmax")}
             for ctl in ("synapse_controller_top", "synapse_controller_bottom")}
    for line, cfg in cfgs.items():
        for w in encode_synapse_driver(line, cfg):
            if w.sram in ("drv_config", "drv_gmax"):
                words[w.controller][w.sram][w.row] |= w.word
    si = SynapseInput()
    si.configure_from_srams("top", **words["synapse_controller_top"])
    si.configure_from_srams("bottom", **words["synapse_controller_bottom"])
    for line, cfg in cfgs.items():
        h = 0 if line < 112 else 1
        for r in (0, 1):
            roa = 2 * line + r - 224 * h
            row = cfg.rows[r]
            assert tuple(si.syn_in[h, roa]) == tuple(bool(x) for x in row.syn_in)
            assert si.selgmax[h, roa] == row.selgmax
            assert tuple(si.gmax_div[h, roa]) == tuple(row.gmax_div)
        assert si.stp.enable[line] == bool(cfg.stp_enable)
        assert si.stp.depression[line] == bool(cfg.stp_mode)
        assert si.stp.u[line] == pytest.approx(utilisation(cfg.stp_cap))


def brute_force(a, si, events, factors):
    """Scalar scoreboard written from §5.1 step 3 / §5.2."""
    out = []
    for (cycle, line, strobe, addr), f in zip(events, factors):
        h = 0 if line < 112 else 1
        half = ("top", "bottom")[h]
        for bit in range(4):
            if not strobe >> bit & 1:
                continue
            row = 2 * line + (bit >> 1) - 224 * h
            for col in range(bit & 1, 256, 2):
                w, d = a.synapse(half, row, col)
                if d != addr or w == 0:
                    continue
                for k in (0, 1):
                    div = int(si.gmax_div[h, row, k])
                    if not si.syn_in[h, row, k] or div == 0:
                        continue
                    side = int(coords.driver_side(line) == "right")
                    vg = si.v_gmax[h, side, si.selgmax[h, row]]
                    out.append((cycle, 256 * h + col, k, vg / 500 * 11 / div * g_default(w) * f))
    return out


def test_driver_model_strobes_to_conductances_match_scoreboard():
    rng = random.Random(3)
    model = SynapseDriverModel()
    for line in range(224):
        cfg = random_driver(rng)
        for w in encode_synapse_driver(line, cfg):
            model.write(w.controller, w.address, w.word)       # local address
    while model.writes_pending:
        model.step()
    a = SynapseArray()
    nprng = np.random.default_rng(3)
    for half in ("top", "bottom"):
        a.set_weights(half, nprng.integers(0, 16, (224, 256)))
        a.set_decoders(half, nprng.integers(0, 16, (224, 256)))
    si = SynapseInput(a)
    si.configure_from_driver_model(model)
    si.set_v_gmax("top", "left", (500, 300, 700, 1000))
    si.stp.enable[:] = False                     # STP factor 1: checked separately
    events = []
    for _ in range(40):
        cyc = model.cycle + 1                    # strobes show one cycle after the input
        out = model.step({rng.randrange(224): rng.randrange(64) for _ in range(6)})
        events += [(cyc, line, s, ad) for line, (s, ad) in sorted(out.items())]
    assert len(events) > 20
    got = si.increments(np.array(events, dtype=STROBE_DTYPE))
    ref = brute_force(a, si, events, [1.0] * len(events))
    assert len(ref) > 100
    key = lambda e: e[:3]  # noqa: E731
    ref = sorted(ref, key=key)
    got = sorted(zip(got.cycle.tolist(), got.denmem.tolist(), got.input.tolist(),
                     got.dg.tolist()), key=key)
    assert [g[:3] for g in got] == [r[:3] for r in ref]
    np.testing.assert_allclose([g[3] for g in got], [r[3] for r in ref], rtol=1e-12)


def test_ess_stp_dep_conductances():
    # ESS stp_dep: 5 inputs every 40 ms bio (4 µs = 400 cycles) from 10 ms, U = 3/11, tau_rec
    # 200 ms -> 5 strictly decreasing conductance steps, each g(w) times the closed-form factor
    a = SynapseArray()
    si = SynapseInput(a)
    line = 150
    row = 2 * 150 - 224
    a.set_synapse("bottom", row, 10, weight=12, decoder=5)
    si.set_row("bottom", row, syn_in=(1, 0), selgmax=0, gmax_div=(11, 0))
    si.stp.configure(line, 1, 1, cap_for_utilisation(3 / 11))
    params = StpParameters(tau_rec=20e-6)
    si.set_stp_parameters("bottom", coords.driver_side(line), params)
    cycles = 100 + 400 * np.arange(5)
    out = si.increments((cycles, np.full(5, line), np.full(5, 1), np.full(5, 5)))
    assert out.denmem.tolist() == [266] * 5 and out.cycle.tolist() == cycles.tolist()
    assert all(x > y for x, y in zip(out.dg, out.dg[1:]))
    u, e = utilisation(1), np.exp(-4e-6 / 20e-6)
    i_inf = u * e / (1 - (1 - u) * e)
    f = 1 - i_inf * (1 - (e * (1 - u)) ** np.arange(5))
    np.testing.assert_allclose(out.dg, g_default(12) * f, rtol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda si: si.increments(strobes((1, 5, 1, 0))[["cycle", "driver"]]),
     r"strobes lack fields \['strobe', 'addr'\]"),
    (lambda si: si.increments(([1], [224], [1], [0])),
     "synapse driver line 224 out of range 0..223"),
    (lambda si: si.increments(([1], [0], [16], [0])), "strobe 16 out of range 0..15"),
    (lambda si: si.increments(([1], [0], [1], [16])), "strobe address 16 out of range 0..15"),
    (lambda si: si.increments(([1, 2], [0], [1], [0])),
     r"strobe arrays differ in length: \[1, 2\]"),
    (lambda si: si.increments(([5], [0], [1], [0])),
     "strobe cycle 5 before the last batch's cycle 10"),
    (lambda si: si.set_row("top", 224), "synapse row 224 out of range 0..223"),
    (lambda si: si.set_row("top", 0, gmax_div=(16, 0)), r"gmax_div\[0\] 16 out of range 0..15"),
    (lambda si: si.set_v_gmax("top", "middle", (0, 0, 0, 0)),
     "side 'middle' not 'left' or 'right'"),
    (lambda si: si.set_v_gmax("top", "left", (0, 0, 0, 1024)),
     "V_gmax3 1024 out of range 0..1023"),
    (lambda si: si.configure_from_srams("top", [0] * 223, [0] * 224),
     "drv_config needs 224 words, got 223"),
    (lambda si: si.configure_from_srams("top", [0] * 224, [0x10000] + [0] * 223),
     "drv_gmax word 0 65536 out of range 0..65535"),
])
def test_conductance_bad_input(call, message):
    si = SynapseInput()
    si.set_row("top", 3, syn_in=(1, 0), gmax_div=(11, 0))
    si.increments(([10], [1], [1], [0]))
    before = (si.syn_in.copy(), si.gmax_div.copy(), si.v_gmax.copy(), si._last_cycle)
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(si)
    assert np.array_equal(si.syn_in, before[0]) and np.array_equal(si.gmax_div, before[1])
    assert np.array_equal(si.v_gmax, before[2]) and si._last_cycle == before[3]
