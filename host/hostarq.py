"""HostARQ: the reliable host <-> FPGA transport over UDP (spec/host-stack.md §1).

Three layers, each usable on its own:

* Wire format (§1.2): :func:`encode_data_frame`, :func:`encode_ack`, :func:`decode_datagram`.
  All header fields are big-endian: u32 ACK, u32 SEQ, u16 PTYPE, u16 LEN, then LEN u64 words.
  A pure ACK is exactly 4 bytes, the reset frame is the 4-byte magic 0xABABABAB (§1.2, §1.5).
* :class:`ArqEngine`, a transport-agnostic ("sans-IO") sliding-window engine (§1.6, §1.7): a
  sender window of 128 frames, sequence numbers modulo 256, a selective-repeat receiver with a
  cumulative ACK, piggybacked ACKs, a delayed pure ACK and a per-frame retransmission timer. Time
  comes from an injectable clock, so unit tests drive it deterministically without sleeping.
* UDP endpoints on 127.0.0.1 in :mod:`bss1.host.hostarq_udp`: ``HostArqClient`` (host side) and
  ``FpgaArqEndpoint`` (FPGA side), each one worker thread around a selector.

Emulator choices (where the spec leaves room or the real system differs):

* SEQ and ACK values >= 256 are rejected as malformed (the spec says values are used modulo 256;
  neither side here ever sends larger ones, and rejecting them catches corrupted headers).
* A retransmitted frame is due again one RTO after its last transmission, not at t_first + k*RTO:
  the same schedule when the timer runs on time (§1.7), but no burst of resends after a stall of
  the Python thread.
* Pure ACKs are delayed by at most ``delay_ack_s`` (§1.4: 500 us; the FPGA endpoint uses RTO/2 as
  §1.9 asks) and sent at once when ``ack_every`` frames are unacknowledged, so a burst does not
  wait for the timer. Duplicates and out-of-window frames schedule a re-ACK (§1.9). As in TCP
  (RFC 5681 §4.2), a frame that fills a hole is acknowledged at once, and so are the first
  ``dup_acks`` frames buffered behind a new hole: these repeat the old cumulative value, and
  three ACKs of one value tell an estimator-mode sender that its oldest frame is missing.
  ``dup_acks=0`` acknowledges as lazily as the real host does (§1.8a). Only the timing of ACKs
  changes; the frames on the wire are §1.2's.
* ``rto_max_s`` switches on the optional RTT estimator of §1.7 (avg += err/8,
  dev += (|err| - dev)/4, RTO = clamp(avg + 4 dev, rto_s, rto_max_s)) plus Karn's back-off (the
  RTO doubles up to ``rto_max_s`` after a timeout). Off by default (fixed 756 us as in the FCP
  bitfile); emulated links in one Python process need it, because thread hand-offs there take
  longer than 756 us. Estimator mode recovers losses without resending the frames queued behind
  a hole (with fixed per-frame timers all of them time out too, because the cumulative ACK cannot
  report frames the receiver buffered):

  - one retransmission timer, as in RFC 6298 §5: started when a frame goes out with none in
    flight, restarted by every ACK that releases frames; when it expires only the oldest frame is
    resent and the RTO doubles. The next ACK that releases frames ends the back-off (RTO =
    avg + 4 dev again, as Linux does), so one lost retransmission does not slow the rest;
  - fast retransmit: the third pure ACK in a row naming the oldest SEQ - 1 (the first of them
    may be the one that released frames) resends the oldest frame if it was never resent;
  - loss inference from the cumulative ACK (RACK-like, RFC 8985): when an ACK releases a resent
    frame, the receiver had that retransmission, and over a FIFO link every frame transmitted
    before it has arrived as well; so if the new oldest frame was last transmitted before it, that
    frame is lost and is resent at once. (After a retransmission caused by reordering, the ACK
    may answer the original copy instead; then a frame still on its way is resent needlessly,
    which costs a duplicate, not a stall);
  - RTT samples: from the newest frame when an ACK releases frames of which none was ever resent
    (a frame released when a hole fills has waited for the hole); and, unlike Karn's rule, from
    the retransmission when an ACK releases exactly one resent frame, resent once. That copy was
    resent on evidence of loss (duplicate ACKs, the inference above or a timeout), so the ACK
    almost always answers it; under loss hardly any ACK releases only clean frames, and without
    these samples the RTO would rest on the few clean ones.

  The fixed-RTO mode keeps §1.7's per-frame schedule.
* The host's optional slow start (§1.8a) is not modelled: the window is 128 frames from the start.
* HostARQ has no checksum: bit flips in the payload, or in SEQ/ACK bits that stay in range, cannot
  be detected here (on a real link the UDP checksum drops such datagrams).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

__all__ = [
    "DATA_PORT", "RESET_PORT", "RESET_MAGIC", "RESET_FRAME", "RESET_TIMEOUT_S",
    "LOOPBACK_TIMEOUT_S", "FLUSH_TIMEOUT_S",
    "PTYPE_FLUSH", "PTYPE_LOOPBACK", "PTYPE_CFG", "PTYPE_SENDDUMMY", "PTYPE_STATS",
    "PTYPE_PERFTEST", "PTYPE_DUMMYDATA0", "PTYPE_DUMMYDATA1", "PTYPE_ARQSTAT",
    "PTYPE_DO_ARQRESET", "RESERVED_PTYPES",
    "ArqParams", "FCP_PARAMS", "ArqStats", "AckFrame", "DataFrame",
    "ArqError", "FrameError", "WindowFullError", "MaxResendsError", "ResetTimeoutError",
    "SettingsMismatchError", "LoopbackError", "LinkClosedError",
    "encode_data_frame", "encode_ack", "decode_datagram", "encode_text", "decode_text",
    "check_app_ptype", "ArqEngine",
]

# §1.1 default ports, §1.2/§1.5 reset magic, §1.4 timeouts, §1.5 set-up timeouts.
DATA_PORT = 1234
RESET_PORT = 45054
RESET_MAGIC = 0xABABABAB
RESET_FRAME = struct.pack(">I", RESET_MAGIC)
RESET_TIMEOUT_S = 2.0
LOOPBACK_TIMEOUT_S = 0.4
FLUSH_TIMEOUT_S = 0.5

# §1.3 transport-reserved packet types.
PTYPE_FLUSH = 0x8000
PTYPE_LOOPBACK = 0x8001
PTYPE_CFG = 0x8002
PTYPE_SENDDUMMY = 0x8003
PTYPE_STATS = 0x8004
PTYPE_PERFTEST = 0x8006
PTYPE_DUMMYDATA0 = 0x0000
PTYPE_DUMMYDATA1 = 0x0001
PTYPE_ARQSTAT = 0x0002
PTYPE_DO_ARQRESET = 0x5000
RESERVED_PTYPES = frozenset({
    PTYPE_FLUSH, PTYPE_LOOPBACK, PTYPE_CFG, PTYPE_SENDDUMMY, PTYPE_STATS, PTYPE_PERFTEST,
    PTYPE_DUMMYDATA0, PTYPE_DUMMYDATA1, PTYPE_ARQSTAT, PTYPE_DO_ARQRESET})
_RESERVED_TEXT = ", ".join(f"{p:#06x}" for p in sorted(RESERVED_PTYPES))

_HEADER = struct.Struct(">IIHH")
_ACK = struct.Struct(">I")
_U64_MAX = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# Errors

class ArqError(Exception):
    """Base class of every HostARQ error."""


class FrameError(ArqError, ValueError):
    """A datagram or frame violates the wire format (§1.2) or the parameters (§1.4)."""


class WindowFullError(ArqError):
    """The sender window already holds ``window`` unacknowledged frames (§1.6)."""


class MaxResendsError(ArqError):
    """A frame reached the transmission limit without being acknowledged (§1.7)."""


class ResetTimeoutError(ArqError, TimeoutError):
    """No 0x8002 answer to the reset frame in time (§1.5 step 2)."""


class SettingsMismatchError(ArqError):
    """The FPGA announced other protocol parameters than the host uses (§1.5 step 3)."""


class LoopbackError(ArqError, TimeoutError):
    """The 0x8001 loopback word did not come back in time (§1.5 step 4)."""


class LinkClosedError(ArqError):
    """The endpoint is closed, or its worker stopped on an error."""


# --------------------------------------------------------------------------------------------
# Parameters and wire format

@dataclass(frozen=True)
class ArqParams:
    """Protocol parameters (§1.4, set ``ParametersFcpBss1``) plus emulator knobs."""

    window: int = 128
    modulus: int = 256
    max_words: int = 180
    rto_s: float = 756e-6
    rto_max_s: float | None = None
    delay_ack_s: float = 500e-6
    max_transmissions: int = 10000
    ack_every: int = 32
    dup_acks: int = 3

    def __post_init__(self):
        if not 1 <= self.window <= self.modulus // 2:
            raise ValueError(f"window {self.window} out of range 1..{self.modulus // 2} "
                             f"(2 * window <= modulus {self.modulus})")
        if not 2 <= self.modulus <= 1 << 32:
            raise ValueError(f"modulus {self.modulus} out of range 2..{1 << 32}")
        if not 1 <= self.max_words <= 0xFFFF:
            raise ValueError(f"max_words {self.max_words} out of range 1..65535")
        for name in ("rto_s", "delay_ack_s"):
            if not 0 < getattr(self, name) <= 10.0:
                raise ValueError(f"{name} {getattr(self, name)} out of range (0, 10] s")
        if self.rto_max_s is not None and not self.rto_s <= self.rto_max_s <= 10.0:
            raise ValueError(f"rto_max_s {self.rto_max_s} out of range {self.rto_s}..10 s")
        if self.max_transmissions < 1:
            raise ValueError(f"max_transmissions {self.max_transmissions} out of range >= 1")
        if not 1 <= self.ack_every <= self.window:
            raise ValueError(f"ack_every {self.ack_every} out of range 1..{self.window}")
        if not 0 <= self.dup_acks <= self.window:
            raise ValueError(f"dup_acks {self.dup_acks} out of range 0..{self.window}")


FCP_PARAMS = ArqParams()


class AckFrame(NamedTuple):
    """A pure ACK (4 bytes, §1.2)."""
    ack: int


class DataFrame(NamedTuple):
    """A sequenced data frame (§1.2)."""
    ack: int
    seq: int
    ptype: int
    words: tuple


def _check_range(name: str, value: int, hi: int, lo: int = 0) -> None:
    if not isinstance(value, int) or not lo <= value <= hi:
        raise FrameError(f"{name} {value!r} out of range {lo}..{hi}")


def _pack_words(words, max_words: int) -> bytes:
    n = len(words)
    if not 1 <= n <= max_words:
        raise FrameError(f"payload of {n} words out of range 1..{max_words}")
    for i, w in enumerate(words):
        if not 0 <= w <= _U64_MAX:
            raise FrameError(f"payload word {i} value {w!r} out of range 0..2**64-1")
    try:
        return struct.pack(f">{n}Q", *words)
    except struct.error as exc:
        raise FrameError(f"payload words must be integers: {exc}") from None


def encode_data_frame(ack: int, seq: int, ptype: int, words: Sequence[int],
                      params: ArqParams = FCP_PARAMS) -> bytes:
    """One data frame (§1.2): header ACK, SEQ, PTYPE, LEN (big-endian) and the u64 words."""
    _check_range("ACK", ack, params.modulus - 1)
    _check_range("SEQ", seq, params.modulus - 1)
    _check_range("PTYPE", ptype, 0xFFFF)
    payload = _pack_words(words, params.max_words)
    return _HEADER.pack(ack, seq, ptype, len(words)) + payload


def encode_ack(ack: int, params: ArqParams = FCP_PARAMS) -> bytes:
    """A pure ACK frame: exactly the 4-byte big-endian ACK value (§1.2)."""
    _check_range("ACK", ack, params.modulus - 1)
    return _ACK.pack(ack)


def decode_datagram(data: bytes, params: ArqParams = FCP_PARAMS) -> AckFrame | DataFrame:
    """Parse one UDP payload into an :class:`AckFrame` or a :class:`DataFrame`.

    Raises :class:`FrameError` for anything but a 4-byte ACK or a data frame of exactly
    12 + 8 * LEN bytes with 1 <= LEN <= max_words and ACK/SEQ below the modulus (§1.2, §1.8a)."""
    size = len(data)
    top = params.modulus - 1
    if size == 4:
        (ack,) = _ACK.unpack(data)
        if ack > top:
            raise FrameError(f"ACK {ack} out of range 0..{top}")
        return AckFrame(ack)
    if size < 20:
        raise FrameError(f"datagram length {size} out of range: 4 (pure ACK) or "
                         f"20..{12 + 8 * params.max_words} bytes (data frame)")
    ack, seq, ptype, n = _HEADER.unpack_from(data)
    if not 1 <= n <= params.max_words:
        raise FrameError(f"frame LEN {n} out of range 1..{params.max_words}")
    if size != 12 + 8 * n:
        raise FrameError(f"datagram length {size} does not match LEN {n} "
                         f"(expected {12 + 8 * n} bytes)")
    if ack > top:
        raise FrameError(f"ACK {ack} out of range 0..{top}")
    if seq > top:
        raise FrameError(f"SEQ {seq} out of range 0..{top}")
    return DataFrame(ack, seq, ptype, struct.unpack_from(f">{n}Q", data, 12))


def encode_text(text: str) -> list[int]:
    """ASCII text as 64-bit words, 8 characters per word in wire byte order (§1.5 step 3)."""
    raw = text.encode("ascii")
    raw += b"\0" * (-len(raw) % 8)
    return [int.from_bytes(raw[i:i + 8], "big") for i in range(0, len(raw), 8)]


def decode_text(words: Sequence[int]) -> str:
    """Inverse of :func:`encode_text`; trailing NULs are stripped, non-ASCII replaced."""
    raw = b"".join(w.to_bytes(8, "big") for w in words)
    return raw.rstrip(b"\0").decode("ascii", "replace")


def check_app_ptype(ptype: int) -> None:
    """Application packets must not use a transport-reserved type (§1.3)."""
    if not isinstance(ptype, int) or not 0 <= ptype <= 0xFFFF:
        raise ValueError(f"PTYPE {ptype!r} out of range 0x0000..0xffff")
    if ptype in RESERVED_PTYPES:
        raise ValueError(f"PTYPE {ptype:#06x} is reserved by HostARQ; allowed: "
                         f"0x0000..0xffff except {_RESERVED_TEXT}")


# --------------------------------------------------------------------------------------------
# Engine

@dataclass
class ArqStats:
    """Counters kept per engine (the daemon's statistics, §1.8)."""
    datagrams_in: int = 0
    bytes_in: int = 0
    malformed: int = 0
    acks_in: int = 0
    frames_in: int = 0
    delivered: int = 0
    duplicates: int = 0
    out_of_window: int = 0
    congestion_drops: int = 0
    filtered: int = 0
    frames_sent: int = 0
    frames_resent: int = 0
    acks_sent: int = 0
    bytes_sent: int = 0
    bytes_resent: int = 0
    last_error: str = ""


_DUPACK_THRESHOLD = 3      # pure ACKs of one value that trigger a fast retransmit


class _TxEntry:
    __slots__ = ("ptype", "n", "payload", "t_first", "t_last", "t_next", "ntrans")

    def __init__(self, ptype, n, payload, t_first, rto):
        self.ptype, self.n, self.payload = ptype, n, payload
        self.t_first, self.t_last, self.t_next, self.ntrans = t_first, t_first, t_first + rto, 1


class ArqEngine:
    """One end of a HostARQ connection without I/O (§1.6, §1.7).

    Feed datagrams with :meth:`receive`, queue frames with :meth:`send`, call :meth:`tick` at or
    after :meth:`next_deadline`, and transmit whatever :meth:`take_output` returns.
    ``can_accept(ptype)`` answers whether the destination RX queue has room for a window
    (congestion drop otherwise, §1.6)."""

    def __init__(self, params: ArqParams = FCP_PARAMS, clock: Callable[[], float] = time.monotonic,
                 can_accept: Callable[[int], bool] | None = None):
        self.params = params
        self.clock = clock
        self.can_accept = can_accept
        self.stats = ArqStats()
        self.reset()

    def reset(self) -> None:
        """Start over (§1.5 step 1): both windows at SEQ 0, local ACK = modulus - 1."""
        self.tx_low = 0
        self.tx_high = 0
        self._tx: dict[int, _TxEntry] = {}
        self.rx_low = 0
        self._rx: dict[int, tuple] = {}
        self._ack_due: float | None = None
        self._rx_since_ack = 0
        self._out: list[bytes] = []
        self.only_ptype: int | None = None
        self.rto = self.params.rto_s
        self._rtt_avg: float | None = None
        self._rtt_dev = 0.0
        self._timer: float | None = None     # estimator mode: the one retransmission timer
        self._dupacks = 0
        self._ooo_acks = 0                   # immediate ACKs sent behind the current hole

    # -- state ------------------------------------------------------------------------------
    @property
    def local_ack(self) -> int:
        """Cumulative ACK sent to the peer: last SEQ received in order (§1.6)."""
        return (self.rx_low - 1) % self.params.modulus

    @property
    def in_flight(self) -> int:
        return (self.tx_high - self.tx_low) % self.params.modulus

    @property
    def window_free(self) -> int:
        return self.params.window - self.in_flight

    @property
    def ack_pending(self) -> bool:
        return self._ack_due is not None

    def take_output(self) -> list[bytes]:
        """Datagrams produced since the last call, in transmission order."""
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        """Earliest clock value at which :meth:`tick` has work, or None when idle."""
        t = self._ack_due
        if self.params.rto_max_s is not None:
            if self._timer is not None and (t is None or self._timer < t):
                t = self._timer
            return t
        for e in self._tx.values():
            if t is None or e.t_next < t:
                t = e.t_next
        return t

    # -- sending ----------------------------------------------------------------------------
    def send(self, ptype: int, words: Sequence[int]) -> int:
        """Queue one frame; returns its SEQ. Raises :class:`WindowFullError` (§1.6)."""
        _check_range("PTYPE", ptype, 0xFFFF)
        payload = _pack_words(words, self.params.max_words)
        if self.in_flight >= self.params.window:
            raise WindowFullError(f"send window full: {self.in_flight} frames unacknowledged "
                                  f"(window {self.params.window})")
        seq = self.tx_high
        now = self.clock()
        entry = _TxEntry(ptype, len(words), payload, now, self.rto)
        if self._timer is None and self.params.rto_max_s is not None:
            self._timer = now + self.rto
        self._tx[seq] = entry
        self.tx_high = (seq + 1) % self.params.modulus
        self._emit(seq, entry)
        self.stats.frames_sent += 1
        return seq

    def _emit(self, seq: int, e: _TxEntry) -> None:
        data = _HEADER.pack(self.local_ack, seq, e.ptype, e.n) + e.payload
        self._out.append(data)
        self.stats.bytes_sent += len(data)
        self._ack_due = None          # piggybacked (§1.6)
        self._rx_since_ack = 0

    def _emit_ack(self) -> None:
        self._out.append(_ACK.pack(self.local_ack))
        self.stats.acks_sent += 1
        self.stats.bytes_sent += 4
        self._ack_due = None
        self._rx_since_ack = 0

    def tick(self) -> None:
        """Retransmit due frames (§1.7) and send a due pure ACK (§1.6)."""
        now = self.clock()
        p = self.params
        if p.rto_max_s is not None:
            self._tick_estimator(now)
        else:
            seq = self.tx_low
            for _ in range(self.in_flight):
                e = self._tx[seq]
                if now >= e.t_next:
                    self._resend(seq, e, now)
                seq = (seq + 1) % p.modulus
        if self._ack_due is not None and now >= self._ack_due:
            self._emit_ack()

    def _resend(self, seq: int, e: _TxEntry, now: float) -> None:
        p = self.params
        if e.ntrans >= p.max_transmissions:
            raise MaxResendsError(
                f"frame SEQ {seq} (PTYPE {e.ptype:#06x}) unacknowledged after "
                f"{e.ntrans} transmissions (limit {p.max_transmissions})")
        e.ntrans += 1
        e.t_last = now
        e.t_next = now + self.rto
        self._emit(seq, e)
        self.stats.frames_resent += 1
        self.stats.bytes_resent += 12 + 8 * e.n

    def _tick_estimator(self, now: float) -> None:
        """Timeout in estimator mode: resend the oldest frame only, back off (Karn), restart
        the timer (RFC 6298 §5.4-5.6)."""
        if not self.in_flight:
            self._timer = None
            return
        if self._timer is None or self._timer > now:
            return
        self.rto = min(2 * self.rto, self.params.rto_max_s)
        self._resend(self.tx_low, self._tx[self.tx_low], now)
        self._timer = now + self.rto

    # -- receiving --------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[tuple[int, tuple]]:
        """Process one datagram; returns the (ptype, words) now deliverable in order.

        Malformed datagrams are counted (``stats.malformed``) and dropped, never raised."""
        st = self.stats
        st.datagrams_in += 1
        st.bytes_in += len(data)
        try:
            frame = decode_datagram(data, self.params)
        except FrameError as exc:
            st.malformed += 1
            st.last_error = str(exc)
            return []
        if self.only_ptype is not None and (
                type(frame) is AckFrame or frame.ptype != self.only_ptype):
            st.filtered += 1
            return []
        self._on_remote_ack(frame.ack, type(frame) is AckFrame)
        if type(frame) is AckFrame:
            st.acks_in += 1
            return []
        st.frames_in += 1
        return self._on_data(frame)

    def _on_remote_ack(self, r: int, pure: bool = False) -> None:
        m = self.params.modulus
        if (r - self.tx_low) % m < self.in_flight:     # r in [low, high-1]
            seq = self.tx_low
            end = (r + 1) % m
            newest = None
            n_resent = 0
            once = False
            t_resent = None             # latest retransmission among the released frames
            while seq != end:
                e = self._tx.pop(seq)
                if e.ntrans == 1:
                    newest = e
                else:
                    n_resent += 1
                    once = e.ntrans == 2
                    if t_resent is None or e.t_last > t_resent:
                        t_resent = e.t_last
                seq = (seq + 1) % m
            self.tx_low = end
            if self.params.rto_max_s is None:
                return
            now = self.clock()
            if not n_resent:
                self._rtt_sample(now - newest.t_first)
            elif n_resent == 1 and once:
                self._rtt_sample(now - t_resent)
            else:
                self._rto_from_estimate()              # ends a back-off
            self._dupacks = 1 if pure else 0       # this ACK names tx_low - 1 too
            if not self.in_flight:
                self._timer = None
                return
            self._timer = now + self.rto
            e = self._tx[end]
            if t_resent is not None and e.t_last < t_resent:
                self._resend(end, e, now)               # lost: sent before what arrived
        elif pure and r == (self.tx_low - 1) % m and self.in_flight \
                and self.params.rto_max_s is not None:
            self._dupacks += 1
            e = self._tx[self.tx_low]
            if self._dupacks == _DUPACK_THRESHOLD and e.ntrans == 1:
                now = self.clock()
                self._resend(self.tx_low, e, now)       # fast retransmit
                self._timer = now + self.rto

    def _rto_from_estimate(self) -> None:
        p = self.params
        if self._rtt_avg is None:
            self.rto = p.rto_s
        else:
            self.rto = min(max(self._rtt_avg + 4 * self._rtt_dev, p.rto_s), p.rto_max_s)

    def _rtt_sample(self, rtt: float) -> None:
        """Optional RTT estimator of §1.7 (Jacobson's, gains 1/8 and 1/4)."""
        if self._rtt_avg is None:
            self._rtt_avg, self._rtt_dev = rtt, rtt / 2
        else:
            err = rtt - self._rtt_avg
            self._rtt_avg += err / 8
            self._rtt_dev += (abs(err) - self._rtt_dev) / 4
        self._rto_from_estimate()

    def _request_ack(self) -> None:
        self._rx_since_ack += 1
        if self._rx_since_ack >= self.params.ack_every:
            self._emit_ack()
        elif self._ack_due is None:
            self._ack_due = self.clock() + self.params.delay_ack_s

    def _on_data(self, f: DataFrame) -> list[tuple[int, tuple]]:
        p, st = self.params, self.stats
        d = (f.seq - self.rx_low) % p.modulus
        if d >= p.window:               # mostly old copies: the peer missed our ACK
            st.out_of_window += 1
            self._request_ack()
            return []
        if f.seq in self._rx:           # buffered already, not yet deliverable
            st.duplicates += 1
            self._request_ack()
            return []
        if self.can_accept is not None and not self.can_accept(f.ptype):
            st.congestion_drops += 1
            return []
        self._rx[f.seq] = (f.ptype, f.words)
        out = []
        while self.rx_low in self._rx:
            out.append(self._rx.pop(self.rx_low))
            self.rx_low = (self.rx_low + 1) % p.modulus
        st.delivered += len(out)
        if len(out) > 1 or (out and self._rx):        # filled a hole: ACK at once
            self._ooo_acks = 0
            self._emit_ack()
        elif not out and self._ooo_acks < p.dup_acks:  # behind a hole: duplicate ACK
            self._ooo_acks += 1
            self._emit_ack()
        else:
            if out:
                self._ooo_acks = 0
            self._request_ack()
        return out
