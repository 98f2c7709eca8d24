"""Host side of the HICANN configuration path over HostARQ (spec/host-stack.md §2.5).

* The HICANNCONFIG entry format: :func:`encode_entry` (host request: [63:62] DNC, [61:59] HICANN,
  [49] tag, [48] write, [47:32] address, [31:0] data), :func:`response_entry` (FPGA response: the
  same addressing, write = 0, address and read data in [47:0]), :func:`decode_entry`.
* :class:`HostHicannLink` writes and reads HICANN registers by (HICANN index, tag, address) over a
  connected :class:`~bss1.host.hostarq_udp.HostArqClient`: writes are buffered (<= 180 entries per
  frame) and flushed when full, before any read and on :meth:`HostHicannLink.flush`; responses are
  demultiplexed per (HICANN, tag), as the host's 64 queues (dnc<<4)|(hicann<<1)|tag do.
  :meth:`HostHicannLink.wait` flushes and sleeps a number of PLL cycles of wall time (the chip's
  configuration-phase time passes meanwhile, e.g. a floating-gate programming pass).
"""

from __future__ import annotations

import collections
import time
from typing import NamedTuple

from ..firmware.formats import PacketType
from ..rtl.config.packet import READ_MARK, check_addr, check_data, check_tag
from .hostarq_udp import HostArqClient

__all__ = ["N_HICANNS", "MAX_ENTRIES_PER_FRAME", "READ_TIMEOUT_S", "HicannEntry",
           "encode_entry", "decode_entry", "response_entry", "HicannLinkError",
           "HostHicannLink"]

N_HICANNS = 8                   # HICANNs behind one wafer-module FPGA (one DNC)
MAX_ENTRIES_PER_FRAME = 180     # §2.5: up to 180 entries per HICANNCONFIG frame
READ_TIMEOUT_S = 20.0           # §2.5: host read timeout (floating-gate programming is slow)
_RESERVED_MASK = ((1 << 9) - 1) << 50   # bits 58:50 must be 0


# -- §2.5 entry format -------------------------------------------------------------------------
class HicannEntry(NamedTuple):
    """One decoded HICANNCONFIG entry (host request or FPGA response)."""

    dnc: int
    hicann: int
    tag: int
    write: int
    addr: int
    data: int


def encode_entry(hicann: int, tag: int, write: bool, addr: int, data: int, dnc: int = 0) -> int:
    """Host request entry: [63:62] DNC, [61:59] HICANN, [49] tag, [48] write, [47:32] address,
    [31:0] data (reads: pass ``READ_MARK``)."""
    if not isinstance(dnc, int) or not 0 <= dnc <= 3:
        raise ValueError(f"DNC index {dnc!r} out of range 0..3")
    if not isinstance(hicann, int) or not 0 <= hicann <= 7:
        raise ValueError(f"HICANN index {hicann!r} out of range 0..7")
    check_tag(tag), check_addr(addr), check_data(data)
    return (dnc << 62) | (hicann << 59) | (tag << 49) | (int(bool(write)) << 48) | \
        (addr << 32) | data


def response_entry(hicann: int, tag: int, addr: int, data: int, dnc: int = 0) -> int:
    """FPGA response entry: same addressing, write = 0, address and read data in [47:0]."""
    return encode_entry(hicann, tag, False, addr, data, dnc)


def decode_entry(word: int) -> HicannEntry:
    """Split an entry; raises ValueError for non-64-bit values or reserved bits 58:50 set."""
    if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word < 1 << 64:
        raise ValueError(f"HICANNCONFIG entry {word!r} out of range 0..0xffffffffffffffff")
    if word & _RESERVED_MASK:
        raise ValueError(f"HICANNCONFIG entry {word:#018x} sets reserved bits 58:50")
    return HicannEntry((word >> 62) & 3, (word >> 59) & 7, (word >> 49) & 1, (word >> 48) & 1,
                       (word >> 32) & 0xFFFF, word & 0xFFFFFFFF)


class HicannLinkError(RuntimeError):
    """The FPGA answered something the host did not ask for."""



class HostHicannLink:
    """Host side of §2.5 over a connected :class:`HostArqClient`.

    Writes are buffered (<= 180 entries per frame) and flushed when the buffer is full, before any
    read and on :meth:`flush`. Responses are demultiplexed into queues per (HICANN, tag); a read
    waits up to ``read_timeout`` seconds for its response. ``pll_mhz``: the chips' core clock,
    for :meth:`wait`; ``sleep``: the wall-clock sleep (injectable for tests).
    """

    def __init__(self, client: HostArqClient, *, dnc: int = 0, n_hicanns: int = N_HICANNS,
                 read_timeout: float = READ_TIMEOUT_S, pll_mhz: int = 100, sleep=time.sleep):
        if not 1 <= n_hicanns <= N_HICANNS:
            raise ValueError(f"n_hicanns {n_hicanns!r} out of range 1..{N_HICANNS}")
        self.client = client
        self.dnc = dnc
        self.n_hicanns = n_hicanns
        self.read_timeout = read_timeout
        if isinstance(pll_mhz, bool) or not isinstance(pll_mhz, int) or not 100 <= pll_mhz <= 250:
            raise ValueError(f"PLL frequency {pll_mhz!r} MHz out of range 100..250")
        self.pll_mhz = pll_mhz
        self._sleep = sleep
        self.waited_s = 0.0
        self._buffer: list[int] = []
        self._queues: dict[tuple[int, int], collections.deque] = \
            collections.defaultdict(collections.deque)
        self.foreign_responses = 0

    def _check_hicann(self, hicann) -> int:
        if isinstance(hicann, bool) or not isinstance(hicann, int) or \
                not 0 <= hicann < self.n_hicanns:
            raise ValueError(f"HICANN index {hicann!r} out of range 0..{self.n_hicanns - 1}")
        return hicann

    def _put(self, word: int) -> None:
        self._buffer.append(word)
        if len(self._buffer) >= MAX_ENTRIES_PER_FRAME:
            self.flush()

    def _entry(self, hicann: int, tag, write: bool, addr, data) -> int:
        """:func:`encode_entry` for a checked ``hicann`` (the same words and errors; plain
        in-range ints take a shortcut)."""
        if type(tag) is int and type(addr) is int and type(data) is int and \
                0 <= tag <= 1 and 0 <= addr <= 0xFFFF and 0 <= data <= 0xFFFF_FFFF and \
                type(self.dnc) is int and 0 <= self.dnc <= 3:
            return (self.dnc << 62) | (hicann << 59) | (tag << 49) | (write << 48) | \
                (addr << 32) | data
        return encode_entry(hicann, tag, write, addr, data, self.dnc)

    def flush(self) -> None:
        """Send the buffered entries."""
        while self._buffer:
            chunk = self._buffer[:MAX_ENTRIES_PER_FRAME]
            self.client.send(PacketType.HICANNCONFIG, chunk)
            del self._buffer[:len(chunk)]

    def wait(self, pll_cycles: int) -> None:
        """Send the buffered entries, wait until the FPGA has acknowledged them (the chip has
        them), then sleep ``pll_cycles`` core cycles of wall time."""
        if isinstance(pll_cycles, bool) or not isinstance(pll_cycles, int) or pll_cycles < 0:
            raise ValueError(f"cycle count {pll_cycles!r} must be an int >= 0")
        self.flush()
        if not self.client.wait_sent(self.read_timeout):
            raise TimeoutError(f"entries not acknowledged within {self.read_timeout} s")
        seconds = pll_cycles / (self.pll_mhz * 1e6)
        self.waited_s += seconds
        self._sleep(seconds)

    def write(self, hicann: int, tag: int, addr: int, data: int) -> None:
        """Queue one register write."""
        self._put(self._entry(self._check_hicann(hicann), tag, 1, addr, data))

    def writes(self, hicann: int, writes) -> None:
        """Queue ``(tag, addr, data)`` writes and flush."""
        self._check_hicann(hicann)
        for tag, addr, data in writes:
            self._put(self._entry(hicann, tag, 1, addr, data))
        self.flush()

    def read_many(self, hicann: int, reads) -> list[int]:
        """Read ``(tag, addr)`` pairs of one HICANN; returns the data in order."""
        self._check_hicann(hicann)
        reads = list(reads)
        for tag, addr in reads:
            self._put(self._entry(hicann, tag, 0, addr, READ_MARK))
        self.flush()
        end = time.monotonic() + self.read_timeout
        out = []
        for tag, addr in reads:
            e = self._next_response(hicann, tag, end)
            if e.addr != addr:
                raise HicannLinkError(f"HICANN {hicann} tag {tag}: response for address "
                                      f"{e.addr:#06x}, expected {addr:#06x}")
            out.append(e.data)
        return out

    def transact(self, hicann: int, ops) -> list[int]:
        """Run writes ``(tag, addr, data)`` and reads ``(tag, addr)`` of one HICANN in order,
        pipelined: every entry is sent before the first response is awaited (the FPGA serves
        entries in order). Returns the read data in order."""
        self._check_hicann(hicann)
        reads = []
        for op in ops:
            if len(op) == 3:
                self._put(self._entry(hicann, op[0], 1, op[1], op[2]))
            else:
                self._put(self._entry(hicann, op[0], 0, op[1], READ_MARK))
                reads.append(op)
        self.flush()
        end = time.monotonic() + self.read_timeout
        out = []
        for tag, addr in reads:
            e = self._next_response(hicann, tag, end)
            if e.addr != addr:
                raise HicannLinkError(f"HICANN {hicann} tag {tag}: response for address "
                                      f"{e.addr:#06x}, expected {addr:#06x}")
            out.append(e.data)
        return out

    def read(self, hicann: int, tag: int, addr: int) -> int:
        return self.read_many(hicann, [(tag, addr)])[0]

    def _next_response(self, hicann: int, tag: int, end: float) -> HicannEntry:
        q = self._queues[(hicann, tag)]
        while not q:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"HICANN {hicann} tag {tag}: no response within "
                                   f"{self.read_timeout} s")
            try:
                words = self.client.receive(PacketType.HICANNCONFIG, timeout=left)
            except TimeoutError:
                continue
            for w in words:
                try:
                    e = decode_entry(w)
                except ValueError:
                    self.foreign_responses += 1
                    continue
                if e.dnc != self.dnc:
                    self.foreign_responses += 1
                    continue
                self._queues[(e.hicann, e.tag)].append(e)
        return q.popleft()
