"""Fault-injecting UDP proxy between a HostARQ host and FPGA (spec/host-stack.md §1.9).

§1.9 asks that the transport be tested against loss, reordering and duplication. The
:class:`FaultyUdpProxy` sits between :class:`~bss1.host.hostarq_udp.HostArqClient` and
:class:`~bss1.host.hostarq_udp.FpgaArqEndpoint` and looks like an FPGA to the host: a data port
and a reset port on 127.0.0.1 (§1.1). Everything it sends to the FPGA (data and reset frames) leaves one
upstream socket, so the FPGA answers that socket's address as §1.8a requires, and the proxy
returns those answers from its data port, the address the host's connected socket expects.

Per direction (:class:`FaultConfig`): independent loss, duplication, reordering (a held datagram
is released after 1..``reorder_distance`` later datagrams of that direction have overtaken it, or
after ``reorder_hold_s`` if none come), corruption (``corrupt_bits``
random bit flips anywhere in the datagram) and a fixed delay. Decisions come from one seeded
``random.Random`` per direction, so a run is reproducible for a given datagram order. Counters are
kept per direction. Reset frames are forwarded untouched unless ``fault_reset`` is set.

Reordering is bounded in datagrams on purpose: a sequence space of 256 with a window of 128
(§1.4) is only safe while no copy of a frame outlives the next 128 frames. A time-based hold of a
few milliseconds breaks that at emulator speeds (~10^5 frames/s): the stale copy's SEQ falls into
the receiver's current window again and is delivered as new data. A real point-to-point 1 GbE link
holds no datagram that long.

Pure ACKs are worse: the sender accepts any ACK value inside its window (§1.6), so an ACK that is
overtaken by a later one after the receiver's cumulative ACK jumped by a full window (128, when a
hole in front of 127 buffered frames is filled) names a frame 256 SEQs ahead and releases up to
128 frames the receiver never got; the stream then stalls. HostARQ cannot detect this (no epoch,
2 * window = modulus). ``reorder_acks=False`` keeps 4-byte datagrams (pure ACKs) in order so loss
tests can still reorder data frames; duplicated ACKs are sent back to back and are harmless.
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass

from .hostarq_udp import bind_udp

__all__ = ["FaultConfig", "ProxyCounters", "FaultyUdpProxy"]


@dataclass(frozen=True)
class FaultConfig:
    """Faults applied to one direction; probabilities are per datagram."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    delay_s: float = 0.0
    reorder_distance: int = 3
    reorder_hold_s: float = 0.001
    corrupt_bits: int = 1
    reorder_acks: bool = True

    def __post_init__(self):
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} probability {v!r} out of range 0..1")
        if not 1 <= self.reorder_distance <= 64:
            raise ValueError(f"reorder_distance {self.reorder_distance!r} out of range 1..64")
        for name in ("delay_s", "reorder_hold_s"):
            v = getattr(self, name)
            if not 0.0 <= v <= 10.0:
                raise ValueError(f"{name} {v!r} out of range 0..10 s")
        if not 1 <= self.corrupt_bits <= 64:
            raise ValueError(f"corrupt_bits {self.corrupt_bits!r} out of range 1..64")


@dataclass
class ProxyCounters:
    """What happened to the datagrams of one direction."""
    received: int = 0
    forwarded: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    corrupted: int = 0
    send_errors: int = 0


class FaultyUdpProxy:
    """UDP proxy with seeded faults; ``start()`` it, point the host at its ports, ``close()``."""

    _IDLE_S = 0.05

    def __init__(self, fpga_host: str, fpga_data_port: int, fpga_reset_port: int, *,
                 to_fpga: FaultConfig = FaultConfig(), to_host: FaultConfig = FaultConfig(),
                 seed: int = 0, host: str = "127.0.0.1", data_port: int = 0,
                 reset_port: int = 0, fault_reset: bool = False):
        for name, port in (("fpga_data_port", fpga_data_port),
                           ("fpga_reset_port", fpga_reset_port)):
            if not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"{name} {port!r} out of range 1..65535")
        self.fpga_data = (fpga_host, fpga_data_port)
        self.fpga_reset = (fpga_host, fpga_reset_port)
        self.faults = {"to_fpga": to_fpga, "to_host": to_host}
        self.counters = {"to_fpga": ProxyCounters(), "to_host": ProxyCounters()}
        self._rng = {d: random.Random(f"{seed}:{d}") for d in self.faults}
        self.fault_reset = fault_reset
        self.host_addr: tuple | None = None
        self._socks = []
        self.data_sock = self._bind(host, data_port)
        self.reset_sock = self._bind(host, reset_port)
        self.up_sock = self._bind(host, 0)
        self._heap: list = []
        self._held: dict[str, list] = {d: [] for d in self.faults}
        self._order = itertools.count()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.data_sock, selectors.EVENT_READ, "data")
        self._sel.register(self.reset_sock, selectors.EVENT_READ, "reset")
        self._sel.register(self.up_sock, selectors.EVENT_READ, "up")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _bind(self, host: str, port: int) -> socket.socket:
        s = bind_udp(host, port)
        self._socks.append(s)
        return s

    @property
    def data_port(self) -> int:
        return self.data_sock.getsockname()[1]

    @property
    def reset_port(self) -> int:
        return self.reset_sock.getsockname()[1]

    def start(self) -> "FaultyUdpProxy":
        self._thread = threading.Thread(target=self._run, name="udp-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._sel.close()
        for s in self._socks:
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- forwarding -------------------------------------------------------------------------
    def _schedule(self, direction: str, data: bytes, sock, dest, apply: bool = True) -> None:
        c = self.counters[direction]
        c.received += 1
        if not apply:
            self._send(c, sock, data, dest)
            return
        f, rng = self.faults[direction], self._rng[direction]
        if rng.random() < f.loss:
            c.lost += 1
            return
        copies = 1
        if rng.random() < f.duplicate:
            c.duplicated += 1
            copies = 2
        now = time.monotonic()
        for _ in range(copies):
            out = data
            if rng.random() < f.corrupt and data:
                c.corrupted += 1
                buf = bytearray(data)
                for _ in range(f.corrupt_bits):
                    bit = rng.randrange(8 * len(buf))
                    buf[bit >> 3] ^= 1 << (bit & 7)
                out = bytes(buf)
            if rng.random() < f.reorder and (f.reorder_acks or len(out) != 4):
                c.reordered += 1
                self._held[direction].append(
                    [rng.randint(1, f.reorder_distance), now + f.reorder_hold_s, out, sock, dest])
                continue
            self._emit(direction, out, sock, dest, now)
            held = self._held[direction]
            if held:
                for h in held:
                    h[0] -= 1
                for h in [h for h in held if h[0] <= 0]:
                    held.remove(h)
                    self._emit(direction, h[2], h[3], h[4], now)

    def _emit(self, direction: str, data: bytes, sock, dest, now: float) -> None:
        delay = self.faults[direction].delay_s
        if delay == 0.0:
            self._send(self.counters[direction], sock, data, dest)
        else:
            heapq.heappush(self._heap, (now + delay, next(self._order), direction, data,
                                        sock, dest))

    @staticmethod
    def _send(c: ProxyCounters, sock, data: bytes, dest) -> None:
        try:
            sock.sendto(data, dest)
            c.forwarded += 1
        except OSError:
            c.send_errors += 1

    def _drain(self, key) -> None:
        sock = key.fileobj
        for _ in range(256):
            try:
                data, addr = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if key.data == "up":
                if addr == self.fpga_data and self.host_addr is not None:
                    self._schedule("to_host", data, self.data_sock, self.host_addr)
            else:
                self.host_addr = addr
                if key.data == "reset":
                    self._schedule("to_fpga", data, self.up_sock, self.fpga_reset,
                                   apply=self.fault_reset)
                else:
                    self._schedule("to_fpga", data, self.up_sock, self.fpga_data)

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = self._IDLE_S
            due = [h[1] for held in self._held.values() for h in held]
            if self._heap:
                due.append(self._heap[0][0])
            if due:
                timeout = min(timeout, max(0.0, min(due) - time.monotonic()))
            for key, _ in self._sel.select(timeout):
                self._drain(key)
            now = time.monotonic()
            for direction, held in self._held.items():
                for h in [h for h in held if h[1] <= now]:
                    held.remove(h)
                    self._emit(direction, h[2], h[3], h[4], now)
            while self._heap and self._heap[0][0] <= now:
                _, _, direction, data, sock, dest = heapq.heappop(self._heap)
                self._send(self.counters[direction], sock, data, dest)
