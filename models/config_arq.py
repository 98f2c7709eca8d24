"""Reference models of the HICANN configuration ARQ (spec hicann-digital.md §9.1-9.2).

* :class:`HostArq` - the host/FPGA-side ARQ endpoint (window 16, sequence space 64, go-back-N),
  transport agnostic: callers feed received packets to :meth:`HostArq.receive` and send what
  :meth:`HostArq.poll` returns. Used by amaranth.sim tests (through
  :func:`bss1.rtl.config.sim.arq_transact`), cocotb tests and the FPGA emulator.
* :class:`ConfigInterfaceModel` - the behavioural twin of the chip side
  (:class:`bss1.rtl.config.interface.ConfigInterface`), packet accurate: for every incoming packet
  it returns the packets the RTL sends in reply, in order, with the same field values, as long as
  the RTL's output is never stalled and no retransmission timeout fires in between (then the RTL
  may coalesce ack-only packets, and when a timeout fires depends on the clock).
* :func:`lossless_exchange` - what :class:`HostArq` and :class:`ConfigInterfaceModel` do on a
  lossless, instantaneous channel, computed without building a single packet (the FPGA emulator's
  default; see the function).
* :class:`ScratchBus` - a tiny in-memory configuration bus for tests, logging every write.
* :class:`LossyChannel` - a fault-injecting packet channel (loss, duplication, reordering).

Packet conventions (write polarity, read mark, ack-only packets) are those of
:mod:`bss1.rtl.config.packet`.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from bss1.rtl.config.arq import TIMEOUT_DEFAULT, TIMEOUT_MAX
from bss1.rtl.config.packet import (N_TAGS, READ_MARK, SEQ_MODULUS, WINDOW, ack_only,
                                    check_addr, check_data, check_tag, decode_packet, read_request,
                                    read_response, seq_add, seq_diff, write_request)

__all__ = ["ArqProtocolError", "ReadHandle", "HostArq", "ConfigInterfaceModel", "ScratchBus",
           "LossyChannel", "BusCallback", "lossless_exchange", "lossless_ready"]

BusCallback = Callable[[int, int, bool, int], tuple[int, int]]
_DATA_MAX = (1 << 32) - 1


class ArqProtocolError(RuntimeError):
    """The other endpoint broke the protocol (e.g. a response to a read never issued)."""


@dataclass
class ReadHandle:
    """Result slot of one read; ``data`` is ``None`` until the response arrived."""

    tag: int
    addr: int
    index: int
    data: int | None = None

    @property
    def done(self) -> bool:
        return self.data is not None


def _check_now(now, previous) -> int:
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError(f"now {now!r} is not an int")
    if now < previous:
        raise ValueError(f"now {now!r} is before the previous time {previous!r}")
    return now


def _check_timeout(timeout) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or \
            not 1 <= timeout <= TIMEOUT_MAX:
        raise ValueError(f"timeout {timeout!r} out of range 1..{TIMEOUT_MAX}")
    return timeout


# -- host side -------------------------------------------------------------------------------------

@dataclass
class _HostTag:
    queue: deque = field(default_factory=deque)      # requests not yet sent: (write, addr, data)
    unacked: deque = field(default_factory=deque)    # sent, not acknowledged: (seq, request)
    reads: deque = field(default_factory=deque)      # ReadHandles waiting for a response
    tx_base: int = 0
    tx_next: int = 0
    rx_expected: int = 0
    ack_owed: bool = False
    last_progress: int = 0


class HostArq:
    """Host/FPGA-side ARQ endpoint for both configuration tags of one HICANN.

    Parameters
    ----------
    timeout : int
        Retransmission timeout in the units of ``now`` (core cycles in simulation).
    window : int
        Requests in flight per tag, 1..16.

    Counters: ``retransmissions`` (go-back rounds), ``rx_dropped`` (out-of-order or duplicate
    responses), ``rx_bad_tag`` (packets with tag 2 or 3, dropped).
    """

    def __init__(self, *, timeout: int = TIMEOUT_DEFAULT, window: int = WINDOW):
        self.timeout = _check_timeout(timeout)
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= WINDOW:
            raise ValueError(f"window {window!r} out of range 1..{WINDOW}")
        self.window = window
        self._tags = [_HostTag() for _ in range(N_TAGS)]
        self._now = 0
        self._reads: list[ReadHandle] = []
        self.retransmissions = 0
        self.rx_dropped = 0
        self.rx_bad_tag = 0

    # -- user API ----------------------------------------------------------------------------------
    def write(self, tag: int, addr: int, data: int) -> None:
        """Queue a write of ``data`` to the absolute bus address ``addr`` of ``tag``."""
        check_tag(tag), check_addr(addr), check_data(data)
        self._tags[tag].queue.append((1, addr, data))

    def read(self, tag: int, addr: int) -> ReadHandle:
        """Queue a read; the handle gets its ``data`` when the response arrives."""
        check_tag(tag), check_addr(addr)
        handle = ReadHandle(tag, addr, len(self._reads))
        self._reads.append(handle)
        self._tags[tag].queue.append((0, addr, 0))
        self._tags[tag].reads.append(handle)
        return handle

    @property
    def now(self) -> int:
        """Time of the last :meth:`poll`."""
        return self._now

    def read_results(self) -> list[int | None]:
        """Data of all reads in issue order (``None`` where still pending)."""
        return [h.data for h in self._reads]

    def done(self) -> bool:
        """Every request acknowledged, every read answered, no acknowledgement owed."""
        return all(not (s.queue or s.unacked or s.reads or s.ack_owed) for s in self._tags)

    # -- transport API -----------------------------------------------------------------------------
    def _encode(self, tag: int, seq: int, request) -> int:
        write, addr, data = request
        ack = self._tags[tag].rx_expected
        if write:
            return write_request(tag, seq, ack, addr, data)
        return read_request(tag, seq, ack, addr)

    def poll(self, now: int) -> list[int]:
        """Packets to transmit at time ``now`` (new requests within the window, go-back-N
        retransmissions after a timeout, ack-only packets for responses received)."""
        self._now = _check_now(now, self._now)
        out = []
        for tag, st in enumerate(self._tags):
            sent = False
            if st.unacked and now - st.last_progress >= self.timeout:
                out += [self._encode(tag, seq, req) for seq, req in st.unacked]
                st.last_progress = now
                self.retransmissions += 1
                sent = True
            while st.queue and len(st.unacked) < self.window:
                if not st.unacked:
                    st.last_progress = now
                request = st.queue.popleft()
                st.unacked.append((st.tx_next, request))
                out.append(self._encode(tag, st.tx_next, request))
                st.tx_next = seq_add(st.tx_next)
                sent = True
            if st.ack_owed and not sent:
                out.append(ack_only(tag, st.rx_expected))
            st.ack_owed = False
        return out

    def receive(self, packet: int) -> None:
        """Take one packet from the chip."""
        p = decode_packet(packet)
        if p.tag >= N_TAGS:
            self.rx_bad_tag += 1
            return
        st = self._tags[p.tag]
        advance = seq_diff(p.ack, st.tx_base)
        if 0 < advance <= len(st.unacked):
            for _ in range(advance):
                st.unacked.popleft()
            st.tx_base = p.ack
            st.last_progress = self._now
        if not p.seq_valid:
            return
        st.ack_owed = True
        if p.seq != st.rx_expected:
            self.rx_dropped += 1
            return
        if not st.reads:
            raise ArqProtocolError(f"tag {p.tag}: response seq {p.seq} for address "
                                   f"{p.addr:#06x}, but no read is pending")
        handle = st.reads[0]
        if handle.addr != p.addr:
            raise ArqProtocolError(f"tag {p.tag}: response seq {p.seq} for address "
                                   f"{p.addr:#06x}, expected one for {handle.addr:#06x}")
        st.reads.popleft()
        handle.data = p.data
        st.rx_expected = seq_add(st.rx_expected)


# -- chip side -------------------------------------------------------------------------------------

class _ChipArqModel:
    """Packet-level twin of :class:`bss1.rtl.config.arq.ConfigArq`."""

    def __init__(self, tag: int, bus: BusCallback, timeout: int):
        self.tag, self.bus, self.timeout = tag, bus, timeout
        self.rx_expected = self.tx_base = self.tx_next = 0
        self.buffer: dict[int, tuple[int, int]] = {}    # seq -> (addr, data)
        self.last_progress = 0
        self.bus_errors = self.rx_dropped = self.retransmissions = 0

    def _response(self, seq: int) -> int:
        addr, data = self.buffer[seq]
        return read_response(self.tag, seq, self.rx_expected, addr, data)

    def receive(self, p, now: int) -> list[int]:
        outstanding = seq_diff(self.tx_next, self.tx_base)
        advance = seq_diff(p.ack, self.tx_base)
        if 0 < advance <= outstanding:
            for k in range(advance):
                del self.buffer[seq_add(self.tx_base, k)]
            self.tx_base = p.ack
            self.last_progress = now
        if not p.seq_valid:
            return []
        room = seq_diff(self.tx_next, self.tx_base) < WINDOW
        if p.seq != self.rx_expected or not (p.write or room):
            self.rx_dropped += 1
            return [ack_only(self.tag, self.rx_expected)]
        self.rx_expected = seq_add(self.rx_expected)
        rdata, err = self.bus(self.tag, p.addr, bool(p.write), p.data)
        if isinstance(rdata, bool) or not isinstance(rdata, int) or not 0 <= rdata <= _DATA_MAX:
            raise ValueError(f"bus callback returned rdata {rdata!r}, allowed 0..{_DATA_MAX}")
        if err:
            self.bus_errors += 1
        if p.write:
            return [ack_only(self.tag, self.rx_expected)]
        if self.tx_next == self.tx_base:
            self.last_progress = now
        self.buffer[self.tx_next] = (p.addr, 0 if err else rdata)
        seq = self.tx_next
        self.tx_next = seq_add(self.tx_next)
        return [self._response(seq)]

    def poll(self, now: int) -> list[int]:
        if self.tx_next == self.tx_base or now - self.last_progress < self.timeout:
            return []
        self.last_progress = now
        self.retransmissions += 1
        n = seq_diff(self.tx_next, self.tx_base)
        return [self._response(seq_add(self.tx_base, k)) for k in range(n)]


class ConfigInterfaceModel:
    """Behavioural twin of the chip's configuration interface (both tags).

    Parameters
    ----------
    bus : callable ``bus(tag, addr, write, data) -> (rdata, err)``
        Executes one configuration-bus transaction (absolute address). For reads ``data`` is the
        request's data field, as the RTL drives it on ``wdata``.
    timeout : int
        Retransmission timeout in the units of ``now``.
    """

    def __init__(self, bus: BusCallback, *, timeout: int = TIMEOUT_DEFAULT):
        if not callable(bus):
            raise TypeError(f"bus {bus!r} is not callable")
        self.timeout = _check_timeout(timeout)
        self.arqs = [_ChipArqModel(t, bus, self.timeout) for t in range(N_TAGS)]
        self.rx_bad_tag = 0
        self._now = 0

    def receive(self, packet: int, now: int | None = None) -> list[int]:
        """Process one host packet; returns the chip's reply packets in order."""
        if now is not None:
            self._now = _check_now(now, self._now)
        p = decode_packet(packet)
        if p.tag >= N_TAGS:
            self.rx_bad_tag += 1
            return []
        return self.arqs[p.tag].receive(p, self._now)

    def poll(self, now: int) -> list[int]:
        """Retransmissions due at ``now`` (tag 0 first)."""
        self._now = _check_now(now, self._now)
        return [pkt for arq in self.arqs for pkt in arq.poll(now)]

    def _total(self, name: str) -> int:
        return sum(getattr(a, name) for a in self.arqs)

    @property
    def bus_errors(self) -> int:
        return self._total("bus_errors")

    @property
    def rx_dropped(self) -> int:
        return self._total("rx_dropped")

    @property
    def retransmissions(self) -> int:
        return self._total("retransmissions")


# -- lossless channel, no packets ------------------------------------------------------------------

def lossless_ready(host: HostArq, chip: ConfigInterfaceModel) -> bool:
    """Both endpoints are quiescent and agree on every sequence number (nothing queued, in
    flight, unanswered or owed), so :func:`lossless_exchange` may run."""
    for tag, st in enumerate(host._tags):
        c = chip.arqs[tag]
        if st.queue or st.unacked or st.reads or st.ack_owed or c.tx_next != c.tx_base \
                or c.buffer or st.tx_next != c.rx_expected or st.rx_expected != c.tx_next:
            return False
    return True


def lossless_exchange(host: HostArq, chip: ConfigInterfaceModel, requests, now: int):
    """Serve ``requests`` (``(tag, write, addr, data)`` in issue order) on ``chip``'s bus as
    the packet-level exchange between ``host`` (the requests queued on it) and ``chip`` over a
    lossless, instantaneous channel does, polling both once per time unit from ``now`` until
    all is acknowledged and answered: returns ``(read data in issue order, rounds)``, where
    ``now + rounds`` is the time of the final, quiet round.

    That exchange serves, in round k = 0, 1, ..., the requests k*W .. k*W + W - 1 of tag 0 and
    then those of tag 1 (W = ``host.window``): every round's packets are acknowledged within the
    round, the chip's response window (16) never fills because the host acknowledges every
    response in its next packet of that tag, no timeout fires, and every request is served
    exactly once. The bus sees the same accesses in the same order, the reads return the same
    data (0 after a bus error, counted in ``bus_errors``), an invalid ``rdata`` raises the
    same ValueError (a bus with a ``many`` method, which serves a list of accesses in order,
    gets them all at once, so there the accesses after the bad one have happened too), and
    both endpoints end in the same state (sequence numbers, clocks);
    :class:`ReadHandle` objects and packets are not made. Requires :func:`lossless_ready`
    (raises ArqProtocolError otherwise); requests are checked as :meth:`HostArq.write` /
    :meth:`HostArq.read` check them."""
    if not lossless_ready(host, chip):
        raise ArqProtocolError("the ARQ endpoints are not quiescent and in sync")
    _check_now(now, max(host._now, chip._now))
    per_tag = ([], [])
    for i, (tag, write, addr, data) in enumerate(requests):
        check_tag(tag), check_addr(addr)
        if write:
            check_data(data)
        per_tag[tag].append((i, write, addr, data))
    n0, n1 = len(per_tag[0]), len(per_tag[1])
    w = host.window
    rounds = -(-max(n0, n1) // w)
    if n0 and n1:
        order = []
        for k in range(0, rounds * w, w):
            order += [(0, *r) for r in per_tag[0][k:k + w]]
            order += [(1, *r) for r in per_tag[1][k:k + w]]
    else:
        order = [(1 if n1 else 0, *r) for r in per_tag[1 if n1 else 0]]
    out = [None] * (n0 + n1)
    arqs = chip.arqs
    bus = arqs[0].bus
    many = getattr(bus, "many", None) if all(a.bus is bus for a in arqs) else None
    if many is not None:        # a bus that serves a batch: the same calls, in order
        results = many([(tag, addr, bool(write), data if write else READ_MARK)
                        for tag, _, write, addr, data in order])
    else:
        results = (arqs[tag].bus(tag, addr, bool(write), data if write else READ_MARK)
                   for tag, _, write, addr, data in order)
    for (tag, i, write, addr, data), (rdata, err) in zip(order, results):
        if type(rdata) is not int or not 0 <= rdata <= _DATA_MAX:
            raise ValueError(f"bus callback returned rdata {rdata!r}, allowed 0..{_DATA_MAX}")
        if err:
            arqs[tag].bus_errors += 1
        if not write:
            out[i] = 0 if err else rdata
    end = now + rounds
    for tag, reqs in enumerate(per_tag):
        if not reqs:
            continue
        n = len(reqs)
        read_at = [k for k, r in enumerate(reqs) if not r[1]]
        reads = len(read_at)
        st, c = host._tags[tag], arqs[tag]
        st.tx_next = st.tx_base = seq_add(st.tx_next, n % SEQ_MODULUS)
        st.rx_expected = seq_add(st.rx_expected, reads % SEQ_MODULUS)
        st.last_progress = now + (n - 1) // w
        c.rx_expected = seq_add(c.rx_expected, n % SEQ_MODULUS)
        c.tx_next = c.tx_base = seq_add(c.tx_next, reads % SEQ_MODULUS)
        if reads:           # the host acknowledges the last responses in the next round
            c.last_progress = now + read_at[-1] // w + 1
    host._now = max(host._now, end)
    chip._now = max(chip._now, end)
    return [d for d in out if d is not None], rounds


# -- test helpers ----------------------------------------------------------------------------------

class ScratchBus:
    """In-memory configuration bus: ``widths`` maps ``(tag, addr)`` to a register width in bits;
    every other address answers with ``err``. Writes keep the low ``width`` bits. ``writes`` logs
    every executed write as ``(tag, addr, data)``."""

    def __init__(self, widths: dict[tuple[int, int], int]):
        for (tag, addr), width in widths.items():
            check_tag(tag), check_addr(addr)
            if not 1 <= width <= 32:
                raise ValueError(f"width {width!r} out of range 1..32")
        self.widths = dict(widths)
        self.values = {key: 0 for key in widths}
        self.writes: list[tuple[int, int, int]] = []

    def __call__(self, tag: int, addr: int, write: bool, data: int) -> tuple[int, int]:
        key = (tag, addr)
        if key not in self.widths:
            return 0, 1
        if write:
            self.writes.append((tag, addr, data))
            self.values[key] = data & ((1 << self.widths[key]) - 1)
        return self.values[key], 0


class LossyChannel:
    """A packet channel with fixed ``delay`` that loses, duplicates and reorders packets.

    Each packet is lost with probability ``loss``, otherwise delivered after ``delay`` cycles plus,
    with probability ``reorder``, an extra 1..``jitter`` cycles (so later packets may overtake it);
    with probability ``duplicate`` a second copy is delivered (also with its own jitter).
    """

    def __init__(self, seed: int, *, loss: float = 0.0, duplicate: float = 0.0,
                 reorder: float = 0.0, delay: int = 1, jitter: int = 16):
        for name, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} probability {p!r} out of range [0, 1)")
        if delay < 0 or jitter < 1:
            raise ValueError(f"delay {delay!r} / jitter {jitter!r} out of range 0.. / 1..")
        self._rng = random.Random(seed)
        self.loss, self.duplicate, self.reorder = loss, duplicate, reorder
        self.delay, self.jitter = delay, jitter
        self._heap: list[tuple[int, int, int]] = []
        self._count = 0
        self.lost = self.duplicated = self.reordered = self.sent = 0

    def _schedule(self, packet: int, now: int) -> None:
        when = now + self.delay
        if self._rng.random() < self.reorder:
            when += self._rng.randint(1, self.jitter)
            self.reordered += 1
        heapq.heappush(self._heap, (when, self._count, packet))
        self._count += 1

    def send(self, packet: int, now: int) -> None:
        self.sent += 1
        if self._rng.random() < self.loss:
            self.lost += 1
            return
        self._schedule(packet, now)
        if self._rng.random() < self.duplicate:
            self.duplicated += 1
            self._schedule(packet, now)

    def deliver(self, now: int) -> list[int]:
        """Packets due at or before ``now``, in delivery order."""
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def __len__(self) -> int:
        return len(self._heap)
