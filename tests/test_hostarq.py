"""HostARQ wire format and engine (spec/host-stack.md §1.2-§1.7), deterministic fake clock."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bss1.host.hostarq import (
    FCP_PARAMS, PTYPE_CFG, RESET_FRAME, AckFrame, ArqEngine, ArqParams, DataFrame, FrameError,
    MaxResendsError, WindowFullError, check_app_ptype, decode_datagram, decode_text, encode_ack,
    encode_data_frame, encode_text)

APP = 0x2A1B


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def pair(params=FCP_PARAMS):
    clock = FakeClock()
    return clock, ArqEngine(params, clock), ArqEngine(params, clock)


def datas(engine):
    """Output split into data frames (decoded) and pure ACK values."""
    frames, acks = [], []
    for d in engine.take_output():
        f = decode_datagram(d)
        (acks if type(f) is AckFrame else frames).append(f if type(f) is DataFrame else f.ack)
    return frames, acks


def feed(engine, frames):
    out = []
    for f in frames:
        out += engine.receive(encode_data_frame(f.ack, f.seq, f.ptype, f.words))
    return out


# -- wire format (§1.2) ---------------------------------------------------------------------

def test_golden_cfg_answer():
    data = encode_data_frame(255, 0, PTYPE_CFG, [256, 128, 180, 0])
    assert data.hex() == ("000000ff" "00000000" "8002" "0004" "0000000000000100"
                          "0000000000000080" "00000000000000b4" "0000000000000000")


def test_golden_small_frames():
    assert encode_ack(0x12) == b"\x00\x00\x00\x12"
    assert RESET_FRAME == bytes.fromhex("abababab")
    assert encode_data_frame(7, 200, 0x0C1B, [0x0123456789ABCDEF]).hex() == (
        "00000007" "000000c8" "0c1b" "0001" "0123456789abcdef")
    assert len(encode_data_frame(0, 0, APP, [0] * 180)) == 1452
    assert decode_datagram(bytes.fromhex("000000ff")) == AckFrame(255)
    assert decode_datagram(bytes.fromhex("00000003000000040c1b0001" "00000000000000ff")) == \
        DataFrame(3, 4, 0x0C1B, (255,))


def test_text_words():
    assert encode_text("bss1 emu") == [0x627373312065_6D75]
    assert encode_text("abcdefghi") == [0x6162636465666768, 0x6900000000000000]
    assert decode_text(encode_text("bitfile 2026-11-21")) == "bitfile 2026-11-21"


@pytest.mark.parametrize("data, msg", [
    (b"", r"^datagram length 0 out of range: 4 \(pure ACK\) or 20\.\.1452 bytes \(data frame\)$"),
    (b"\0" * 12, r"^datagram length 12 out of range: 4 \(pure ACK\) or 20\.\.1452 bytes "
                 r"\(data frame\)$"),
    (struct.pack(">IIHH", 0, 0, 1, 0) + b"\0" * 8, r"^frame LEN 0 out of range 1\.\.180$"),
    (struct.pack(">IIHH", 0, 0, 1, 181) + b"\0" * 8, r"^frame LEN 181 out of range 1\.\.180$"),
    (struct.pack(">IIHH", 0, 0, 1, 2) + b"\0" * 8,
     r"^datagram length 20 does not match LEN 2 \(expected 28 bytes\)$"),
    (struct.pack(">IIHH", 256, 0, 1, 1) + b"\0" * 8, r"^ACK 256 out of range 0\.\.255$"),
    (struct.pack(">IIHH", 0, 0x10000, 1, 1) + b"\0" * 8, r"^SEQ 65536 out of range 0\.\.255$"),
    (b"\0\0\1\0", r"^ACK 256 out of range 0\.\.255$"),
])
def test_decode_rejects(data, msg):
    with pytest.raises(FrameError, match=msg):
        decode_datagram(data)


def test_encode_rejects():
    with pytest.raises(FrameError, match=r"^payload of 181 words out of range 1\.\.180$"):
        encode_data_frame(0, 0, APP, [0] * 181)
    with pytest.raises(FrameError, match=r"^payload of 0 words out of range 1\.\.180$"):
        encode_data_frame(0, 0, APP, [])
    with pytest.raises(FrameError, match=r"^payload word 1 value -1 out of range 0\.\.2\*\*64-1$"):
        encode_data_frame(0, 0, APP, [0, -1])
    with pytest.raises(FrameError, match=r"^SEQ 256 out of range 0\.\.255$"):
        encode_data_frame(0, 256, APP, [0])
    with pytest.raises(FrameError, match=r"^PTYPE 65536 out of range 0\.\.65535$"):
        encode_data_frame(0, 0, 0x10000, [0])
    with pytest.raises(ValueError, match=r"^PTYPE 0x8001 is reserved by HostARQ; allowed: "
                                         r"0x0000\.\.0xffff except 0x0000, 0x0001, 0x0002, "
                                         r"0x5000, 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, "
                                         r"0x8006$"):
        check_app_ptype(0x8001)
    with pytest.raises(ValueError, match=r"^window 129 out of range 1\.\.128 "
                                         r"\(2 \* window <= modulus 256\)$"):
        ArqParams(window=129)


# -- engine (§1.6, §1.7) --------------------------------------------------------------------

def test_window_full():
    clock, a, b = pair()
    for i in range(128):
        assert a.send(APP, [i]) == i
    with pytest.raises(WindowFullError,
                       match=r"^send window full: 128 frames unacknowledged \(window 128\)$"):
        a.send(APP, [128])
    frames, _ = datas(a)
    assert [f.seq for f in frames] == list(range(128))
    assert len(feed(b, frames[:10])) == 10
    clock.t += 500e-6
    b.tick()
    assert b.take_output() == [encode_ack(9)]
    a.receive(encode_ack(9))
    assert (a.tx_low, a.in_flight, a.window_free) == (10, 118, 10)


def test_wraparound_in_order():
    clock, a, b = pair()
    got = []
    for i in range(1000):
        if a.window_free == 0:
            clock.t += 1e-3
            b.tick()
            for d in b.take_output():
                a.receive(d)
        a.send(APP, [i])
        frames, _ = datas(a)
        got += feed(b, frames)
    assert [w[0] for _, w in got] == list(range(1000))
    assert a.tx_high == 1000 % 256 and b.rx_low == 1000 % 256
    assert a.stats.frames_resent == 0 and b.stats.duplicates == 0


def test_ack_outside_window_ignored():
    clock, a, _ = pair()
    a.send(APP, [0])
    a.receive(encode_ack(255))          # "nothing received"
    a.receive(encode_ack(5))            # beyond high - 1
    assert a.in_flight == 1
    a.receive(encode_ack(0))
    assert a.in_flight == 0


def test_selective_repeat_with_holes():
    clock, a, b = pair()
    for i in range(10):
        a.send(APP, [i])
    frames, _ = datas(a)
    got = feed(b, [f for f in frames if f.seq not in (2, 5)])
    assert [w[0] for _, w in got] == [0, 1]
    assert b.local_ack == 1
    clock.t += 500e-6
    b.tick()
    a.receive(b.take_output()[0])           # pure ACK 1 (delayed)
    assert a.tx_low == 2
    clock.t = 756e-6
    a.tick()
    resent, _ = datas(a)
    assert [f.seq for f in resent] == list(range(2, 10))
    assert all(f.ack == 255 for f in resent)
    got = feed(b, resent[:1])               # SEQ 2 fills the first hole
    assert [w[0] for _, w in got] == [2, 3, 4]
    got = feed(b, resent[:0:-1])            # 9..6 buffered already, 5 fills the hole, 4, 3 old
    assert [w[0] for _, w in got] == [5, 6, 7, 8, 9]
    assert (b.stats.out_of_window, b.stats.duplicates) == (2, 4)
    assert b.stats.delivered == 10 and b.local_ack == 9


def test_duplicate_suppression_and_reack():
    clock, a, b = pair()
    a.send(APP, [42])
    (frame,), _ = datas(a)
    data = encode_data_frame(frame.ack, frame.seq, frame.ptype, frame.words)
    assert b.receive(data) == [(APP, (42,))]
    clock.t += 1e-3
    b.tick()
    assert b.take_output() == [encode_ack(0)]
    assert b.receive(data) == []            # old copy: counted, re-ACKed after the delay
    assert b.stats.out_of_window == 1 and b.ack_pending
    clock.t += 500e-6
    b.tick()
    assert b.take_output() == [encode_ack(0)]


def test_delayed_ack_and_piggyback():
    clock, a, b = pair()
    a.send(APP, [1])
    feed(b, datas(a)[0])
    assert b.take_output() == []
    clock.t = 499e-6
    b.tick()
    assert b.take_output() == []
    clock.t = 500e-6
    b.tick()
    assert b.take_output() == [encode_ack(0)]
    a.send(APP, [2])
    feed(b, datas(a)[0])
    b.send(APP, [3])                        # data frame carries ACK 1, cancels the pure ACK
    frames, acks = datas(b)
    assert [f.ack for f in frames] == [1] and acks == []
    clock.t = 1.2e-3                        # before b's own RTO (0.5 ms + 756 us)
    b.tick()
    assert b.take_output() == []


def test_ack_every_forces_ack():
    clock, a, b = pair(ArqParams(ack_every=4))
    for i in range(4):
        a.send(APP, [i])
    feed(b, datas(a)[0])
    assert b.take_output() == [encode_ack(3)]


def test_retransmission_timing():
    clock, a, _ = pair()
    a.send(APP, [7])
    a.take_output()
    clock.t = 755e-6
    a.tick()
    assert a.take_output() == []
    clock.t = 756e-6
    a.tick()
    assert a.take_output() == [encode_data_frame(255, 0, APP, [7])]
    clock.t = 1.511e-3
    a.tick()
    assert a.take_output() == []
    clock.t = 1.512e-3
    a.tick()
    assert len(a.take_output()) == 1 and a.stats.frames_resent == 2


def test_max_resends():
    clock, a, _ = pair(ArqParams(max_transmissions=3))
    a.send(APP, [0])
    for k in (1, 2):
        clock.t = k * 1e-3
        a.tick()
    with pytest.raises(MaxResendsError, match=r"^frame SEQ 0 \(PTYPE 0x2a1b\) unacknowledged "
                                              r"after 3 transmissions \(limit 3\)$"):
        clock.t = 3e-3
        a.tick()


def test_out_of_window_filter_and_congestion():
    clock, a, b = pair()
    assert b.receive(encode_data_frame(255, 128, APP, [0])) == []
    assert b.receive(encode_data_frame(255, 255, APP, [0])) == []
    assert b.stats.out_of_window == 2 and b.ack_pending
    b.only_ptype = PTYPE_CFG
    assert b.receive(encode_data_frame(255, 0, APP, [0])) == []
    assert b.receive(encode_ack(3)) == []
    assert b.stats.filtered == 2
    b.only_ptype = None
    b.can_accept = lambda ptype: False
    assert b.receive(encode_data_frame(255, 0, APP, [0])) == []
    assert b.stats.congestion_drops == 1 and b.rx_low == 0


def test_malformed_counted():
    _, _, b = pair()
    assert b.receive(b"\x01\x02\x03") == []
    assert b.stats.malformed == 1
    assert b.stats.last_error == ("datagram length 3 out of range: 4 (pure ACK) or "
                                  "20..1452 bytes (data frame)")


# -- parser robustness: >= 10^4 generated datagrams ------------------------------------------

_near_valid = st.builds(
    lambda ack, seq, ptype, n, extra, body: struct.pack(">IIHH", ack, seq, ptype, n)
    + body[:max(0, 8 * n + extra)],
    st.one_of(st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.one_of(st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.integers(0, 0xFFFF), st.one_of(st.integers(0, 4), st.integers(0, 0xFFFF)),
    st.integers(-3, 3), st.binary(min_size=0, max_size=64))
_datagram = st.one_of(st.binary(max_size=40), _near_valid)
_COUNT = {"datagrams": 0}


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_datagram, min_size=20, max_size=40))
def test_parser_survives_generated_datagrams(batch):
    clock = FakeClock()
    eng = ArqEngine(FCP_PARAMS, clock)
    eng.send(APP, [1])
    for data in batch:
        eng.receive(data)
        clock.t += 1e-4
        eng.tick()
    s = eng.stats
    assert s.datagrams_in == len(batch)
    assert s.datagrams_in == s.malformed + s.acks_in + s.frames_in + s.filtered
    assert s.frames_in == s.delivered + len(eng._rx) + s.duplicates + s.out_of_window
    assert 0 <= eng.in_flight <= 1
    _COUNT["datagrams"] += len(batch)


def test_parser_survived_enough():
    # runs after the property test in file order; 500 examples x >= 20 datagrams
    assert _COUNT["datagrams"] >= 10_000


def test_rtt_estimator_and_backoff():
    clock, a, _ = pair(ArqParams(rto_max_s=10e-3))
    assert a.rto == 756e-6
    a.send(APP, [0])
    clock.t = 2e-3
    a.receive(encode_ack(0))                # first sample 2 ms: RTO = 2 + 4 * 1 ms, clamped
    assert a.rto == pytest.approx(6e-3)
    a.send(APP, [1])
    clock.t += 6e-3
    a.tick()                                # timeout: resend and double the RTO (Karn)
    assert a.stats.frames_resent == 1 and a.rto == pytest.approx(10e-3)
    clock.t += 1e-3
    a.receive(encode_ack(1))                # acked after one resend: sample 1 ms from the copy
    assert a._rtt_avg == pytest.approx(1.875e-3) and a.rto == pytest.approx(5.875e-3)
    a.send(APP, [2])
    clock.t += 10e-3
    a.tick()
    a.tick()
    clock.t += 10e-3
    a.tick()                                # resent three times, RTO at its maximum
    assert a.stats.frames_resent == 3 and a.rto == pytest.approx(10e-3)
    a.receive(encode_ack(2))                # ambiguous: no sample, but the back-off ends
    assert a._rtt_avg == pytest.approx(1.875e-3) and a.rto == pytest.approx(5.875e-3)
    with pytest.raises(ValueError, match=r"^rto_max_s 0\.0001 out of range 0\.000756\.\.10 s$"):
        ArqParams(rto_max_s=1e-4)


def test_stale_ack_after_window_jump_is_a_false_ack():
    """Documents a protocol limit (§1.6, 2 * window = modulus): ACK reordering is not survivable.

    The receiver answers frame 1 (buffered, SEQ 0 missing) with ACK 255. When SEQ 0 fills the
    hole in front of 127 buffered frames, its ACK jumps by a full window to 127. If the old ACK
    255 arrives after that, it lies inside the sender's new window 128..255 and releases all of
    it, although none of those frames has reached the receiver."""
    clock, a, b = pair()
    for i in range(128):
        a.send(APP, [i])
    frames, _ = datas(a)
    feed(b, frames[1:2])
    clock.t += 1e-3
    b.tick()
    (stale,) = b.take_output()                  # ACK 255: nothing in order yet
    feed(b, frames[2:] + frames[:1])            # SEQ 0 last: rx_low jumps 0 -> 128
    a.receive(encode_ack(b.local_ack))          # ACK 127
    for i in range(128, 256):
        a.send(APP, [i])
    a.take_output()                             # still on the way
    a.receive(stale)
    assert stale == encode_ack(255)
    assert (a.tx_low, a.in_flight, b.rx_low, b.stats.delivered) == (0, 0, 128, 128)


def test_receiver_acks_holes_at_once():
    """Behind a new hole the first ``dup_acks`` frames are ACKed at once (duplicates of the
    cumulative value), later ones lazily; a frame that fills a hole is ACKed at once."""
    clock, a, b = pair()
    for i in range(8):
        a.send(APP, [i])
    frames, _ = datas(a)
    feed(b, frames[:1])
    assert b.take_output() == []                        # in order: delayed ACK
    feed(b, frames[2:7])                                # SEQ 1 missing
    assert b.take_output() == [encode_ack(0)] * 3       # three duplicates, then lazy
    feed(b, frames[1:2])                                # fills the hole: 1..6 delivered
    assert b.take_output() == [encode_ack(6)]
    _, _, b2 = pair(ArqParams(dup_acks=0))
    feed(b2, frames[1:7])
    assert b2.take_output() == []
    with pytest.raises(ValueError, match=r"^dup_acks 129 out of range 0\.\.128$"):
        ArqParams(dup_acks=129)


def _lossy_round(params, lost):
    clock, a, b = pair(params)
    for i in range(10):
        a.send(APP, [i])
    frames, _ = datas(a)
    feed(b, [f for f in frames if f.seq not in lost])
    return clock, a, b


def test_estimator_fast_retransmit_then_inferred_losses():
    """Estimator mode: the third duplicate ACK resends the oldest frame only; the ACK for that
    retransmission shows the next hole (sent before it), which is resent at once."""
    clock, a, b = _lossy_round(ArqParams(rto_max_s=10e-3), (2, 5, 6))
    acks = b.take_output()
    assert acks == [encode_ack(1)] * 3                  # frames 3, 4, 7 behind the hole
    clock.t = 50e-6
    a.receive(acks[0])                                  # releases 0, 1: clean RTT sample
    assert a.tx_low == 2 and a.stats.frames_resent == 0
    a.receive(acks[1])
    assert datas(a) == ([], [])
    a.receive(acks[2])                                  # third ACK 1: fast retransmit
    resent, _ = datas(a)
    assert [f.seq for f in resent] == [2] and a.rto == pytest.approx(756e-6)
    assert [w[0] for _, w in feed(b, resent)] == [2, 3, 4]
    clock.t = 100e-6
    a.receive(b.take_output()[0])                       # ACK 4: 5 was sent before 2's copy
    resent, _ = datas(a)
    assert [f.seq for f in resent] == [5]
    feed(b, resent)
    clock.t = 150e-6
    a.receive(b.take_output()[0])                       # ACK 5: and so was 6
    resent, _ = datas(a)
    assert [f.seq for f in resent] == [6]
    assert [w[0] for _, w in feed(b, resent)] == [6, 7, 8, 9]
    a.receive(b.take_output()[0])
    assert a.in_flight == 0 and a.stats.frames_resent == 3 and b.stats.delivered == 10


def test_estimator_timeout_resends_oldest_and_backs_off():
    """With a lazy receiver (no duplicate ACKs) a timeout resends the oldest frame only and
    doubles the RTO; the next ACK that releases frames ends the back-off."""
    params = ArqParams(rto_max_s=10e-3, dup_acks=0)
    clock, a, b = _lossy_round(params, (2, 5))
    clock.t = 500e-6
    b.tick()
    a.receive(b.take_output()[0])           # ACK 1: clean sample 0.5 ms, RTO 1.5 ms
    assert a.tx_low == 2 and a.rto == pytest.approx(1.5e-3)
    clock.t = 1999e-6                       # the timer restarted with that ACK
    a.tick()
    assert datas(a) == ([], [])
    clock.t = 2e-3
    a.tick()
    resent, _ = datas(a)
    assert [f.seq for f in resent] == [2]   # only the oldest; RTO backed off
    assert a.rto == pytest.approx(3e-3) and a.stats.frames_resent == 1
    assert [w[0] for _, w in feed(b, resent)] == [2, 3, 4]
    clock.t = 2.5e-3
    a.receive(b.take_output()[0])           # ACK 4 at once: 5 resent, sample 0.5 ms
    resent, _ = datas(a)
    assert [f.seq for f in resent] == [5] and a.rto == pytest.approx(1.25e-3)
    assert [w[0] for _, w in feed(b, resent)] == [5, 6, 7, 8, 9]
    a.receive(b.take_output()[0])
    assert a.in_flight == 0 and a.stats.frames_resent == 2 and b.stats.delivered == 10
