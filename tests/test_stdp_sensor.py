"""STDP correlation sensors (analog-core §7, T7): 36 pre->post pairs at +10 ms bio set the causal
flag only, the reverse order the acausal flag only, reset clears, thresholds and patterns are
respected; accumulators against a scalar re-implementation of the §7.1 pairing rule; decoder
groups; long runs; memory per synapse; bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss1.models.stdp_sensor import StdpSensors, pattern_bits
from bss1.models.synapse_array import SynapseArray, hw_row

PAIR_DT = 100          # 10 ms bio = 1 µs hardware = 100 cycles at 100 MHz
PERIOD = 1000          # one pair every 100 ms bio
READ = 0x81            # pattern 0 = {cc} (CNFG bit 7), pattern 1 = {aa} (bit 0)


def pairs(n, causal, half=0, row=40, column=12):
    """Pre events at the synapse and post spikes of its denmem, ``n`` pairs at +-10 ms."""
    t = 500 + PERIOD * np.arange(n)
    t_pre, t_post = (t, t + PAIR_DT) if causal else (t + PAIR_DT, t)
    pre = (t_pre, np.full(n, half), np.full(n, row), np.full(n, column))
    post = (t_post, np.full(n, 256 * half + column))
    return pre, post


def flags(a, half, row, column):
    """(pattern 0, pattern 1) flag of one synapse through the chip port."""
    r = hw_row(half, row)
    s = (column % 64) // 8
    i, j = column // 64, column % 8
    w0, w1 = a.read_correlation(half, r, s, READ)
    bit = 31 - (8 * i + j)
    return (w0 >> bit) & 1, (w1 >> bit) & 1


@pytest.mark.parametrize("half", ["top", "bottom"])
def test_36_causal_pairs_set_the_causal_flag_only(half):
    h = ("top", "bottom").index(half)
    a = SynapseArray()
    pre, post = pairs(35, True, h)
    a.sensors.process(pre=pre, post=post)
    assert flags(a, half, 40, 12) == (0, 0)              # 35 pairs: 35 * 0.625 = 21.875 <= 22
    c, ac = a.sensors.accumulators(half)
    assert c[40, 12] == 35 * 0.625 and ac[40, 12] == 0   # 5 codes per pair, tails round to 0
    pre, post = pairs(1, True, h)
    a.sensors.process(pre=(pre[0] + 35 * PERIOD, *pre[1:]), post=(post[0] + 35 * PERIOD, post[1]))
    assert flags(a, half, 40, 12) == (1, 0)
    # neighbours in the same column / row saw nothing
    assert flags(a, half, 41, 12) == (0, 0) and flags(a, half, 40, 14) == (0, 0)
    # reset of exactly this synapse clears it
    r, s = hw_row(half, 40), (12 % 64) // 8
    a.reset_correlation(half, r, s, 1 << (31 - 4))
    assert flags(a, half, 40, 12) == (0, 0)
    c, ac = a.sensors.accumulators(half)
    assert not c.any() and not ac.any()


def test_36_acausal_pairs_set_the_acausal_flag_only():
    a = SynapseArray()
    pre, post = pairs(36, False)
    a.sensors.process(pre=pre, post=post)
    assert flags(a, "top", 40, 12) == (0, 1)
    c, ac = a.sensors.accumulators("top")
    assert ac[40, 12] == 36 * 0.625 and c[40, 12] == 0
    a.reset_correlation("top", hw_row("top", 40), 1, 0xFFFF_FFFF)
    assert flags(a, "top", 40, 12) == (0, 0)


def test_nest_threshold_with_rounded_pairs():
    # NEST's 21.835 lies between 35 and 36 exact pairs (36 e^-1/2 = 21.8351); each rounded pair
    # adds 0.625, so with NEST's threshold 35 pairs would already pass, hence the default 22.0
    assert 35 * math.exp(-0.5) < 21.835 < 36 * math.exp(-0.5)
    assert 21.835 < 35 * 0.625 < 22.0 < 36 * 0.625
    s = StdpSensors(threshold_high=21.835, threshold_low=21.835)
    pre, post = pairs(35, True)
    s.process(pre=pre, post=post)
    assert s.evaluate("top", 40, 12, READ)[0]


@pytest.mark.parametrize("th, tl, n_set", [(10.0, 10.0, 17), (12.0, 10.0, 13), (10.0, 12.0, 23)])
def test_thresholds_respected(th, tl, n_set):
    # pattern {cc}: flag <=> (th + a_c) / 2 > tl <=> a_c > 2 tl - th; each pair adds 0.625
    s = StdpSensors(threshold_high=th, threshold_low=tl)
    pre, post = pairs(n_set - 1, True)
    s.process(pre=pre, post=post)
    assert not s.evaluate("top", 40, 12, 0x80)[0]
    pre, post = pairs(1, True)
    s.process(pre=(pre[0] + (n_set - 1) * PERIOD, *pre[1:]),
              post=(post[0] + (n_set - 1) * PERIOD, post[1]))
    assert s.evaluate("top", 40, 12, 0x80)[0]


def test_pattern_bits_and_polarity():
    assert pattern_bits(0x81, 0) == (1, 0, 0, 0) and pattern_bits(0x81, 1) == (0, 0, 0, 1)
    assert pattern_bits(0x28, 0) == (0, 1, 1, 0) and pattern_bits(0x14, 1) == (0, 1, 1, 0)
    chip = StdpSensors()
    nest = StdpSensors(nest_polarity=True)
    for s in (chip, nest):
        s.set_accumulators("top", [0, 1], [0, 0], causal=[30.0, 5.0], acausal=[5.0, 30.0])
    # chip: {cc} reads "causal high"; NEST: {ac} (its default pattern 0) reads the same
    assert chip.evaluate("top", [0, 1], [0, 0], 0x80)[0].tolist() == [True, False]
    assert nest.evaluate("top", [0, 1], [0, 0], 0x08)[0].tolist() == [True, False]
    assert nest.evaluate("top", [0, 1], [0, 0], 0x80)[0].tolist() == [False, True]
    # pattern 1 = {aa} on the chip, {ca} in NEST
    assert chip.evaluate("top", [0, 1], [0, 0], 0x01)[1].tolist() == [False, True]
    assert nest.evaluate("top", [0, 1], [0, 0], 0x10)[1].tolist() == [False, True]
    # no pattern bit: th vs tl only (equal -> no flag)
    assert not chip.evaluate("top", [0, 1], [0, 0], 0)[0].any()


def test_pre_event_reaches_its_decoder_group():
    a = SynapseArray()
    d = np.full((224, 256), 3)
    d[40, 14] = 4                      # same row and parity, other decoder
    a.set_decoders("top", d)
    pre, _ = pairs(36, True)
    post = (np.concatenate([pre[0] + PAIR_DT] * 4),
            np.repeat([12, 13, 14, 16], 36))
    a.sensors.process(pre=pre, post=post)
    c, _ = a.sensors.accumulators("top")
    # columns 12 and 16 (even, decoder 3) paired; 13 (odd) and 14 (decoder 4) did not
    assert c[40, 12] == c[40, 16] == 22.5 and c[40, 13] == c[40, 14] == 0
    assert np.count_nonzero(c) == 2
    # the same events as decoder-group events give the same result
    b = StdpSensors()
    t = pre[0]
    b.process(pre_groups=(t, t * 0, t * 0 + 40, t * 0, t * 0), post=post)
    assert np.array_equal(b.accumulators("top")[0], np.where(
        (np.arange(256) % 2 == 0)[None, :] & (np.arange(224) == 40)[:, None]
        & np.isin(np.arange(256), [12, 14, 16])[None, :], 22.5, 0.0))


def reference(pre_times, post_times, lsb=0.125, tau=200.0):
    """§7.1 pairing for one synapse, terms rounded to codes, causal terms of a trailing pre
    counted too (the model adds them at the post spike)."""
    events = sorted([(t, 0) for t in post_times] + [(t, 1) for t in pre_times])
    c = ac = 0
    t_prev, posts = None, []
    for t, kind in events:
        if kind == 0:
            posts.append(t)
            continue
        if posts:
            if t_prev is not None:
                c = min(255, c + round(math.exp(-(posts[0] - t_prev) / tau) / lsb))
            ac = min(255, ac + round(math.exp(-(t - posts[-1]) / tau) / lsb))
        t_prev, posts = t, []
    if posts and t_prev is not None:
        c = min(255, c + round(math.exp(-(posts[0] - t_prev) / tau) / lsb))
    return c * lsb, ac * lsb


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3000), max_size=25, unique=True),
       st.lists(st.integers(0, 3000), max_size=25, unique=True), st.integers(1, 3))
def test_accumulators_match_scalar_pairing_reference(pre_t, post_t, batches):
    s = StdpSensors()
    pre_t, post_t = np.array(sorted(pre_t), np.int64), np.array(sorted(post_t), np.int64)
    edges = np.linspace(0, 3001, batches + 1).astype(int)
    for lo, hi in zip(edges, edges[1:]):
        p = pre_t[(pre_t >= lo) & (pre_t < hi)]
        q = post_t[(post_t >= lo) & (post_t < hi)]
        s.process(pre=(p, p * 0 + 1, p * 0 + 7, p * 0 + 100), post=(q, q * 0 + 356))
    c, ac = s.accumulators("bottom")
    assert (c[7, 100], ac[7, 100]) == reference(pre_t.tolist(), post_t.tolist())
    assert np.count_nonzero(c) <= 1 and np.count_nonzero(ac) <= 1


def test_long_runs_rebase_the_time_epoch():
    s = StdpSensors()
    s.process(pre=([0], [0], [3], [3]), post=([100], [3]))
    far = 5_000_000_000                      # beyond the int32 window of the stored times
    s.process(pre=([far], [0], [3], [3]), post=([far + 100], [3]))
    s.process(pre=([2 * far], [0], [3], [3]), post=([2 * far + 100], [3]))
    c, ac = s.accumulators("top")
    assert c[3, 3] == 3 * 0.625 and ac[3, 3] == 0
    assert s.now == 2 * far + 100


def test_saturation_and_memory():
    s = StdpSensors()
    pre, post = pairs(60, True)
    s.process(pre=pre, post=post)
    assert s.accumulators("top")[0][40, 12] == 255 * 0.125
    per_synapse = s.nbytes() / (2 * 224 * 256)
    assert per_synapse <= 2.6
    assert SynapseArray().nbytes() / (2 * 224 * 256) <= 4.0


@pytest.mark.parametrize("call, message", [
    (lambda s: s.process(pre=([11], [2], [0], [0])), "pre half 2 out of range 0..1"),
    (lambda s: s.process(pre=([11], [0], [224], [0])), "pre row 224 out of range 0..223"),
    (lambda s: s.process(pre=([11], [0], [0], [256])), "pre column 256 out of range 0..255"),
    (lambda s: s.process(post=([11], [512])), "post denmem 512 out of range 0..511"),
    (lambda s: s.process(post=([11, 12], [5])), r"post event arrays differ in length: \[1, 2\]"),
    (lambda s: s.process(post=([3], [5])), "post event cycle 3 before the last processed cycle 10"),
    (lambda s: s.process(pre_groups=([11], [0], [0], [2], [0])),
     "pre group parity 2 out of range 0..1"),
    (lambda s: s.process(pre=([11], [0], [0])), "pre events need 4 arrays, got 3"),
    (lambda s: s.set_accumulators("top", 0, 0, causal=-1.0),
     "causal accumulator -1.0 out of range 0..31.875"),
    (lambda s: s.set_accumulators("top", [0, 1], [0], causal=1.0),
     "row and column must have the same length, got 2 and 1"),
    (lambda s: s.accumulators("middle"), "half 'middle' not 'top' or 'bottom'"),
    (lambda s: StdpSensors(tau_causal=0), "tau_causal 0 must be > 0"),
])
def test_bad_input(call, message):
    s = StdpSensors()
    s.process(pre=([5], [0], [0], [0]), post=([10], [0]))
    before = [x.copy() for x in s.accumulators("top")]
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(s)
    assert all(np.array_equal(x, y) for x, y in zip(before, s.accumulators("top")))
    assert s.now == 10
