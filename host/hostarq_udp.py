"""HostARQ UDP endpoints on 127.0.0.1 (spec/host-stack.md §1.5, §1.8a, §1.9).

:class:`HostArqClient` is the host side (§1.5 connection set-up: reset handshake, 0x8002 parameter
check, loopback flush); :class:`FpgaArqEndpoint` the FPGA side (§1.8a/§1.9: reset port, answers
from its data port with SEQ 0 / ACK 255, echoes 0x8001, acknowledges FLUSH). Each endpoint runs one
worker thread around a selector and drives an :class:`~bss1.host.hostarq.ArqEngine`; the wire
format, parameters and the emulator's choices are described in :mod:`bss1.host.hostarq`.
"""

from __future__ import annotations

import collections
import random
import selectors
import socket
import threading
import time
from typing import Callable, Sequence

from .hostarq import (ArqEngine, ArqError, ArqParams, ArqStats, DATA_PORT, FCP_PARAMS,
                       FLUSH_TIMEOUT_S, LOOPBACK_TIMEOUT_S, LinkClosedError, LoopbackError,
                       PTYPE_CFG, PTYPE_FLUSH, PTYPE_LOOPBACK, RESERVED_PTYPES, RESET_FRAME,
                       RESET_PORT, RESET_TIMEOUT_S, ResetTimeoutError, SettingsMismatchError,
                       _pack_words, check_app_ptype, decode_text, encode_text)

__all__ = ["HostArqClient", "FpgaArqEndpoint", "bind_udp"]


def bind_udp(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to (host, port) with a 4 MiB receive buffer."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port {port!r} out of range 0..65535")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((host, port))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return s

class _Endpoint:
    """Shared machinery: one worker thread around a selector, a lock, a TX backlog."""

    _IDLE_S = 0.05

    def __init__(self, params: ArqParams, clock, rx_capacity: int):
        if rx_capacity < params.window:
            raise ValueError(f"rx_capacity {rx_capacity} out of range >= {params.window}")
        self.params = params
        self.rx_capacity = rx_capacity
        self.engine = ArqEngine(params, clock, self._can_accept)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._backlog: collections.deque = collections.deque()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None
        self._stop = False
        self._closed = False
        self.error: BaseException | None = None
        self.send_errors = 0

    @property
    def stats(self) -> ArqStats:
        return self.engine.stats

    # subclass hooks
    def _can_accept(self, ptype: int) -> bool:
        return True

    def _transmit(self, data: bytes) -> None:
        raise NotImplementedError

    def _on_readable(self, key) -> None:
        raise NotImplementedError

    def _deliver(self, ptype: int, words: tuple) -> None:
        raise NotImplementedError

    # worker
    def _start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def _flush_out(self) -> None:
        for data in self.engine.take_output():
            try:
                self._transmit(data)
            except OSError:
                self.send_errors += 1   # e.g. ICMP port unreachable; the timer resends

    def _pump(self) -> None:
        """Move backlog frames into the window as far as it has room (lock held)."""
        eng = self.engine
        while self._backlog and eng.in_flight < self.params.window:
            ptype, words = self._backlog.popleft()
            eng.send(ptype, words)
        self._flush_out()

    def _run(self) -> None:
        eng = self.engine
        try:
            while not self._stop:
                with self._lock:
                    deadline = eng.next_deadline()
                timeout = self._IDLE_S
                if deadline is not None:
                    timeout = min(timeout, max(0.0, deadline - eng.clock()))
                for key, _ in self._sel.select(timeout):
                    if key.fileobj is self._wake_r:
                        try:
                            self._wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                    else:
                        self._on_readable(key)
                with self._lock:
                    before = eng.in_flight
                    eng.tick()
                    self._pump()
                    if eng.in_flight != before or not self._backlog:
                        self._cond.notify_all()
        except BaseException as exc:     # noqa: BLE001 - reported to the user threads
            with self._lock:
                self.error = exc
                self._stop = True
                self._cond.notify_all()

    def _read_socket(self, sock: socket.socket, peer_check=None) -> None:
        """Drain a socket (bounded), feed the engine, deliver outside the lock."""
        delivered = []
        with self._lock:
            for _ in range(256):
                try:
                    data, addr = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    self.send_errors += 1
                    break
                if peer_check is not None and not peer_check(addr):
                    continue
                delivered.extend(self.engine.receive(data))
            self._pump()
            self._cond.notify_all()
        for ptype, words in delivered:
            self._deliver(ptype, words)

    def _check_usable(self) -> None:
        if self.error is not None:
            raise LinkClosedError(f"link failed: {self.error}") from self.error
        if self._closed:
            raise LinkClosedError("link is closed")

    def _enqueue(self, ptype: int, words: Sequence[int], timeout: float | None) -> None:
        """Send with flow control: blocks while the window and the backlog are full."""
        words = tuple(words)
        _pack_words(words, self.params.max_words)          # validate before queueing
        on_worker = threading.current_thread() is self._thread
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._check_usable()
                if on_worker or (not self._backlog
                                 and self.engine.in_flight < self.params.window):
                    break
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"send window full ({self.params.window} frames "
                                       f"unacknowledged) for {timeout} s")
                self._cond.wait(0.05 if left is None else min(left, 0.05))
            idle = self.engine.in_flight == 0
            self._backlog.append((ptype, words))
            self._pump()
        if idle and not on_worker:
            self._wake()

    def all_packets_sent(self) -> bool:
        with self._lock:
            return not self._backlog and self.engine.in_flight == 0

    def _wait_for(self, pred, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cond:
            while not pred():
                self._check_usable()
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def wait_sent(self, timeout: float) -> bool:
        """Wait until every queued frame is acknowledged; False on timeout."""
        return self._wait_for(lambda: not self._backlog and not self.engine.in_flight, timeout)

    def _shutdown(self, sockets) -> None:
        with self._lock:
            self._stop = True
            self._closed = True
            self._cond.notify_all()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._sel.close()
        for s in (*sockets, self._wake_r, self._wake_w):
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HostArqClient(_Endpoint):
    """Host side of HostARQ over UDP (§1.1, §1.5, §1.6).

    >>> with HostArqClient("127.0.0.1", fpga.data_port, fpga.reset_port) as link:  # doctest: +SKIP
    ...     link.connect(); link.send(0x0C1B, [x]); link.receive(0x0C1B, timeout=15)
    """

    def __init__(self, fpga_host: str = "127.0.0.1", data_port: int = DATA_PORT,
                 reset_port: int = RESET_PORT, *, params: ArqParams = FCP_PARAMS,
                 bind_host: str = "127.0.0.1", rx_capacity: int = 4096,
                 clock: Callable[[], float] = time.monotonic):
        for name, port in (("data_port", data_port), ("reset_port", reset_port)):
            if not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"{name} {port!r} out of range 1..65535")
        super().__init__(params, clock, rx_capacity)
        self.fpga = (fpga_host, data_port)
        self.reset_addr = (fpga_host, reset_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            self.sock.setsockopt(socket.SOL_SOCKET, opt, 10 << 20)   # §1.1: 10 MiB buffers
        self.sock.bind((bind_host, 0))
        self.sock.connect(self.fpga)
        self.sock.setblocking(False)
        self._sel.register(self.sock, selectors.EVENT_READ, None)
        self._queues: dict[int, collections.deque] = collections.defaultdict(collections.deque)
        self._cfg_words: list[int] = []
        self._loopback_magic: int | None = None
        self._loopback_seen = False
        self._draining = False
        self.dropped_packets = 0
        self.fpga_params: tuple[int, int, int] | None = None
        self.bitfile_info = ""
        self.connected = False
        self._start("hostarq-client")

    def _transmit(self, data: bytes) -> None:
        self.sock.send(data)

    def _on_readable(self, key) -> None:
        self._read_socket(self.sock)

    def _can_accept(self, ptype: int) -> bool:
        q = self._queues.get(ptype)
        return q is None or self.rx_capacity - len(q) >= self.params.window

    def _deliver(self, ptype: int, words: tuple) -> None:
        with self._cond:
            if ptype == PTYPE_CFG:
                self._cfg_words.extend(words)
            elif ptype == PTYPE_LOOPBACK:
                if words == (self._loopback_magic,):
                    self._loopback_seen = True
                    self._draining = False
                else:
                    self.dropped_packets += 1
            elif ptype in RESERVED_PTYPES or self._draining:
                self.dropped_packets += 1
            else:
                self._queues[ptype].append(words)
            self._cond.notify_all()


    def connect(self, reset: bool = True, reset_timeout: float = RESET_TIMEOUT_S,
                loopback_timeout: float = LOOPBACK_TIMEOUT_S) -> "HostArqClient":
        """Set up the connection (§1.5): reset handshake, parameter check, loopback flush."""
        p = self.params
        with self._cond:
            self._check_usable()
            self.engine.reset()
            self._backlog.clear()
            self._queues.clear()
            self._cfg_words = []
            self.connected = False
            if reset:
                self.engine.only_ptype = PTYPE_CFG
                self.sock.sendto(RESET_FRAME, self.reset_addr)
        if reset:
            def cfg_complete():
                w = self._cfg_words
                return len(w) >= 4 and len(w) >= 4 + w[3]
            if not self._wait_for(cfg_complete, reset_timeout):
                raise ResetTimeoutError(f"no 0x8002 answer to the reset frame sent to "
                                        f"{self.reset_addr[0]}:{self.reset_addr[1]} within "
                                        f"{reset_timeout} s")
            with self._cond:
                self.engine.only_ptype = None
                w = self._cfg_words
                self.fpga_params = (w[0], w[1], w[2])
                self.bitfile_info = decode_text(w[4:4 + w[3]])
            mine = (p.modulus, p.window, p.max_words)
            if self.fpga_params != mine:
                raise SettingsMismatchError(
                    f"FPGA parameters (modulus, window, max words) = {self.fpga_params} "
                    f"do not match the host's {mine}")
        magic = random.getrandbits(64)
        with self._cond:
            self._loopback_magic = magic
            self._loopback_seen = False
            self._draining = True
        self._enqueue(PTYPE_LOOPBACK, (magic,), loopback_timeout)
        if not self._wait_for(lambda: self._loopback_seen, loopback_timeout):
            raise LoopbackError(f"loopback word {magic:#018x} did not come back within "
                                f"{loopback_timeout} s")
        self.connected = True
        return self

    def send(self, ptype: int, words: Sequence[int], timeout: float | None = None) -> None:
        """Queue one application packet; blocks while the send window is full (§1.6)."""
        check_app_ptype(ptype)
        self._enqueue(ptype, words, timeout)

    def receive(self, ptype: int, timeout: float | None = None) -> tuple:
        """Next packet of type ``ptype`` (words as a tuple of ints); TimeoutError if none."""
        check_app_ptype(ptype)
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                q = self._queues.get(ptype)
                if q:
                    return q.popleft()
                self._check_usable()
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no packet of PTYPE {ptype:#06x} within {timeout} s")
                self._cond.wait(0.05 if left is None else min(left, 0.05))

    def received_packet_available(self, ptype: int) -> bool:
        with self._lock:
            return bool(self._queues.get(ptype))

    def close(self, flush_timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Send FLUSH, wait up to ``flush_timeout`` for all ACKs (§1.5 step 5), stop."""
        if self._closed:
            return
        if self.connected and self.error is None:
            try:
                self._enqueue(PTYPE_FLUSH, (0,), flush_timeout)
                self.wait_sent(flush_timeout)
            except (ArqError, TimeoutError):
                pass
        self._shutdown([self.sock])


class FpgaArqEndpoint(_Endpoint):
    """FPGA side of HostARQ over UDP (§1.8a, §1.9).

    Listens on ``data_port`` and ``reset_port`` (0 = any free port). A reset frame from address A
    restarts both windows at SEQ 0 and makes A the peer; every frame goes out of the data port.
    Application packets go to ``on_packet(ptype, words)`` (called on the worker thread) or, without
    a callback, to a queue read by :meth:`receive`."""

    def __init__(self, host: str = "127.0.0.1", data_port: int = DATA_PORT,
                 reset_port: int = RESET_PORT, *, params: ArqParams | None = None,
                 bitfile_info: str = "bss1 emulated wafer-module FPGA",
                 on_packet: Callable[[int, tuple], None] | None = None,
                 rx_capacity: int = 4096, clock: Callable[[], float] = time.monotonic,
                 announce: tuple[int, int, int] | None = None):
        if params is None:   # §1.9: acknowledge no later than about RTO/2
            params = ArqParams(delay_ack_s=FCP_PARAMS.rto_s / 2)
        super().__init__(params, clock, rx_capacity)
        self.bitfile_info = bitfile_info
        encode_text(bitfile_info)             # validate: ASCII only
        self.announce = announce or (params.modulus, params.window, params.max_words)
        self.on_packet = on_packet
        self._inbox: collections.deque = collections.deque()
        self.data_sock = self._bind(host, data_port)
        self.reset_sock = self._bind(host, reset_port)
        self.peer: tuple | None = None
        self.resets = 0
        self.bad_resets = 0
        self.foreign = 0
        self.flushes = 0
        self._sel.register(self.data_sock, selectors.EVENT_READ, "data")
        self._sel.register(self.reset_sock, selectors.EVENT_READ, "reset")
        self._start("hostarq-fpga")

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        return bind_udp(host, port)

    @property
    def data_port(self) -> int:
        return self.data_sock.getsockname()[1]

    @property
    def reset_port(self) -> int:
        return self.reset_sock.getsockname()[1]

    def _transmit(self, data: bytes) -> None:
        if self.peer is not None:
            self.data_sock.sendto(data, self.peer)

    def _can_accept(self, ptype: int) -> bool:
        if self.on_packet is not None or ptype in RESERVED_PTYPES:
            return True
        return self.rx_capacity - len(self._inbox) >= self.params.window

    def _on_readable(self, key) -> None:
        if key.data == "reset":
            self._read_reset()
        else:
            self._read_socket(self.data_sock, self._from_peer)

    def _from_peer(self, addr) -> bool:
        if addr != self.peer:
            self.foreign += 1
            return False
        return True

    def _read_reset(self) -> None:
        for _ in range(64):
            try:
                data, addr = self.reset_sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if data != RESET_FRAME:
                self.bad_resets += 1
                continue
            self.handle_reset(addr)

    def handle_reset(self, addr) -> None:
        """Restart at SEQ 0 both ways and answer with the 0x8002 frame(s) (§1.5, §1.8a)."""
        with self._cond:
            self.peer = addr
            self.resets += 1
            self.engine.reset()
            self._backlog.clear()
            self._inbox.clear()
            text = encode_text(self.bitfile_info)
            words = [*self.announce, len(text), *text]
            mw = self.params.max_words
            for i in range(0, len(words), mw):
                self._backlog.append((PTYPE_CFG, tuple(words[i:i + mw])))
            self._pump()
            self._cond.notify_all()

    def _deliver(self, ptype: int, words: tuple) -> None:
        if ptype == PTYPE_LOOPBACK:
            with self._cond:
                self._backlog.append((PTYPE_LOOPBACK, words))
                self._pump()
        elif ptype == PTYPE_FLUSH:
            self.flushes += 1
        elif ptype in RESERVED_PTYPES:
            self.stats.filtered += 1
        elif self.on_packet is not None:
            self.on_packet(ptype, words)
        else:
            with self._cond:
                self._inbox.append((ptype, words))
                self._cond.notify_all()

    def send(self, ptype: int, words: Sequence[int], timeout: float | None = None) -> None:
        """Send one application packet to the host; blocks while the window is full."""
        check_app_ptype(ptype)
        if self.peer is None:
            raise LinkClosedError("no host connected: no reset frame received yet")
        self._enqueue(ptype, words, timeout)

    def receive(self, timeout: float | None = None) -> tuple[int, tuple]:
        """Next application packet (ptype, words) when no ``on_packet`` callback is set."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._inbox:
                self._check_usable()
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no packet within {timeout} s")
                self._cond.wait(0.05 if left is None else min(left, 0.05))
            return self._inbox.popleft()

    def close(self) -> None:
        if not self._closed:
            self._shutdown([self.data_sock, self.reset_sock])
