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
    (lambda a: a.write_weights("top", 0, 0, (0, 0, 0)), r"words must be 4 integers, got \(0, 0, 0\)"),
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
