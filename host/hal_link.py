"""The configuration link of the HALbe-like host API and the query mechanism behind every get_
(spec host-stack.md §3.1: stateless functions of a handle; hicann-digital.md §9.1-§9.3).

A *link* reaches the registers of one HICANN: anything with ``write(tag, addr, data)``,
``writes([(tag, addr, data), ...])`` and ``read_many([(tag, addr), ...]) -> [data, ...]``
(:class:`HicannLink`); optionally ``wait(pll_cycles)``, which lets that much chip time pass
(the model's configuration-phase idle time; a wall-clock sleep over UDP). Thin adapters make the existing transports links:

* :class:`ModelLink` — a :class:`~bss1.models.hicann.HicannModel` in the same process;
* :class:`UdpLink` — one HICANN behind :class:`~bss1.firmware.fpga_emulator.HostHicannLink`;
* :func:`run_queries_async` — a :class:`~bss1.host.cocotb_link.CocotbConfigLink` (cocotb is
  asynchronous, so its reads are collected after ``await flush()``).

Accesses are *ops*: a write is ``(tag, addr, data)``, a read ``(tag, addr)``. :func:`transact`
runs a mixed, ordered list of ops and returns the read data. A get_ function is a :class:`Query`:
the ops it needs (often writes that start a controller command, then reads) and a ``decode`` of
its read data. :func:`run_queries` runs many queries in one transaction, so a whole HICANN is read
back in a few frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence, runtime_checkable

from ..models.coords import check_range
from ..rtl.registers import HICANN_MAP, SRAM_TIMING_READ, SRAM_TIMING_SETUP_WRITE

__all__ = ["Write", "Read", "Op", "HicannLink", "LinkError", "ModelLink", "UdpLink", "transact",
           "Query", "run_queries", "run_queries_async", "block_write", "block_read",
           "SramTiming", "SRAM_TIMING_BLOCKS", "sram_timing_writes", "sram_timing_query",
           "set_sram_timing", "get_sram_timing"]

Write = tuple[int, int, int]    # (tag, address, data)
Read = tuple[int, int]          # (tag, address)
Op = Write | Read


@runtime_checkable
class HicannLink(Protocol):
    """Register access to one HICANN."""

    def write(self, tag: int, addr: int, data: int) -> None: ...

    def writes(self, writes: Iterable[Write]) -> None: ...

    def read_many(self, reads: Iterable[Read]) -> list[int]: ...


class LinkError(RuntimeError):
    """The chip answered an access with a bus error."""


class ModelLink:
    """A :class:`~bss1.models.hicann.HicannModel` as a link. Accesses go through the model's bus
    callback; an access the chip answers with a bus error raises :class:`LinkError`.

    ``cycles_per_access``: configuration-phase time (:meth:`HicannModel.idle`) that passes with
    each access, as on the chip, where packets arrive at least two core cycles apart (the rule
    the emulated FPGA applies too), plus the bus stall of a driver SRAM access; it lets the
    synapse controllers' commands and driver SRAM writes run while the host talks to the chip.
    0 freezes chip time between accesses."""

    def __init__(self, model, cycles_per_access: int = 2):
        if not isinstance(cycles_per_access, int) or cycles_per_access < 0:
            raise ValueError(f"cycles per access {cycles_per_access!r} must be an int >= 0")
        self.model = model
        self.cycles_per_access = cycles_per_access

    def _bus(self, tag: int, addr: int, write: bool, data: int) -> int:
        if self.cycles_per_access:
            self.model.idle(self.cycles_per_access)
        rdata, err = self.model.bus(tag, addr, write, data)
        if self.cycles_per_access:
            # a driver SRAM access is served when the controller's SRAM sequencer is free: the
            # chip's bus stalls that long, so the host's next access comes no earlier
            stall = self.model.drivers.served_cycle - self.model.drivers.cycle
            if stall > 0:
                self.model.idle(stall)
        if err:
            blocks = [i.name for i in HICANN_MAP.tag_instances(tag) if i.contains(addr)]
            where = f" ({blocks[0]})" if blocks else ""
            raise LinkError(f"tag {tag} address {addr:#06x}{where}: bus error on "
                            f"{'write' if write else 'read'}")
        return rdata

    def write(self, tag: int, addr: int, data: int) -> None:
        self._bus(tag, addr, True, data)

    def writes(self, writes: Iterable[Write]) -> None:
        for tag, addr, data in writes:
            self._bus(tag, addr, True, data)

    def read_many(self, reads: Iterable[Read]) -> list[int]:
        return [self._bus(tag, addr, False, 0) for tag, addr in reads]

    def read(self, tag: int, addr: int) -> int:
        return self._bus(tag, addr, False, 0)

    def wait(self, pll_cycles: int) -> None:
        """Configuration-phase time: :meth:`~bss1.models.hicann.HicannModel.idle`."""
        self.model.idle(pll_cycles)


class UdpLink:
    """HICANN ``hicann`` behind a :class:`~bss1.firmware.fpga_emulator.HostHicannLink`.

    Writes are queued on the host link; a transaction (:func:`transact`, every get_) is
    pipelined: all its writes and reads are sent in order before the responses are collected,
    so it costs one round trip however its reads and writes alternate."""

    def __init__(self, host_link, hicann: int = 0):
        self.host_link = host_link
        self.hicann = host_link._check_hicann(hicann)

    def write(self, tag: int, addr: int, data: int) -> None:
        self.host_link.write(self.hicann, tag, addr, data)

    def writes(self, writes: Iterable[Write]) -> None:
        self.host_link.writes(self.hicann, writes)

    def read_many(self, reads: Iterable[Read]) -> list[int]:
        return self.host_link.read_many(self.hicann, reads)

    def read(self, tag: int, addr: int) -> int:
        return self.host_link.read(self.hicann, tag, addr)

    def wait(self, pll_cycles: int) -> None:
        """Flush, then sleep ``pll_cycles`` PLL cycles of wall time (the FPGA lets the chip
        time pass meanwhile)."""
        self.host_link.wait(pll_cycles)

    def flush(self) -> None:
        self.host_link.flush()

    def transact(self, ops: Sequence[Op]) -> list[int]:
        return self.host_link.transact(self.hicann, list(_checked(ops)))


def _checked(ops: Iterable[Op]):
    for op in ops:
        if not isinstance(op, tuple) or len(op) not in (2, 3):
            raise ValueError(f"op {op!r} is neither a write (tag, addr, data) nor a read "
                             f"(tag, addr)")
        yield op


def transact(link, ops: Sequence[Op]) -> list[int]:
    """Run ``ops`` in order on ``link``; returns the data of the reads in order."""
    if hasattr(link, "transact"):
        return link.transact(ops)
    out: list[int] = []
    writes: list[Write] = []
    reads: list[Read] = []
    for op in _checked(ops):
        if len(op) == 3:
            if reads:
                out += link.read_many(reads)
                reads = []
            writes.append(op)
        else:
            if writes:
                link.writes(writes)
                writes = []
            reads.append(op)
    if writes:
        link.writes(writes)
    if reads:
        out += link.read_many(reads)
    return out


@dataclass(frozen=True)
class Query:
    """Ops of one read-back and the ``decode`` of their read data (list of ints, in order)."""

    ops: tuple
    decode: Callable[[list[int]], Any]

    @property
    def n_reads(self) -> int:
        return sum(1 for op in self.ops if len(op) == 2)


def run_queries(link, queries: Sequence[Query]) -> list:
    """Run ``queries`` in one transaction; returns their decoded results in order."""
    data = transact(link, [op for q in queries for op in q.ops])
    return _split(queries, data)


def _split(queries, data):
    out, i = [], 0
    for q in queries:
        n = q.n_reads
        out.append(q.decode(list(data[i:i + n])))
        i += n
    return out


async def run_queries_async(cocotb_link, queries: Sequence[Query]) -> list:
    """:func:`run_queries` over a :class:`~bss1.host.cocotb_link.CocotbConfigLink`."""
    handles = []
    for q in queries:
        for op in _checked(q.ops):
            if len(op) == 3:
                cocotb_link.write(*op)
            else:
                handles.append(cocotb_link.read(*op))
    await cocotb_link.flush()
    return _split(queries, [h.data for h in handles])


def block_write(block: str, reg: str, index: int, data: int) -> Write:
    inst = HICANN_MAP[block]
    return inst.tag, inst.address(reg, index), data


def block_read(block: str, reg: str, index: int = 0) -> Read:
    inst = HICANN_MAP[block]
    return inst.tag, inst.address(reg, index)


# -- SRAM controller timings (repeater blocks, neuron builder, synapse controllers), §9.2 --------
SRAM_TIMING_BLOCKS = tuple(i.name for i in HICANN_MAP.instances
                           if any(r.name == "timing_read" for r in i.type.registers))


@dataclass(frozen=True)
class SramTiming:
    """SRAM controller timing of one block; default = the software values (64, 8, 8) that halbe
    writes at init (spec conflict §13 #15: the chip powers up with (8, 1, 1))."""

    read_delay: int = 64
    setup_precharge: int = 8
    write_delay: int = 8

    def __post_init__(self):
        check_range("SRAM read_delay", self.read_delay, 0, 255)
        check_range("SRAM setup_precharge", self.setup_precharge, 0, 15)
        check_range("SRAM write_delay", self.write_delay, 0, 15)


def _timing_block(block: str) -> str:
    if block not in SRAM_TIMING_BLOCKS:
        raise ValueError(f"block {block!r} has no SRAM timing; blocks: "
                         f"{', '.join(SRAM_TIMING_BLOCKS)}")
    return block


def sram_timing_writes(block: str, timing: SramTiming) -> list[Write]:
    _timing_block(block)
    return [block_write(block, "timing_read", 0,
                        SRAM_TIMING_READ.encode(read_delay=timing.read_delay)),
            block_write(block, "timing_setup_write", 0, SRAM_TIMING_SETUP_WRITE.encode(
                setup_precharge=timing.setup_precharge, write_delay=timing.write_delay))]


def sram_timing_query(block: str) -> Query:
    _timing_block(block)

    def decode(words):
        sw = SRAM_TIMING_SETUP_WRITE.decode(words[1])
        return SramTiming(SRAM_TIMING_READ.decode(words[0])["read_delay"],
                          sw["setup_precharge"], sw["write_delay"])
    return Query((block_read(block, "timing_read"), block_read(block, "timing_setup_write")),
                 decode)


def set_sram_timing(link, block: str, timing: SramTiming) -> None:
    link.writes(sram_timing_writes(block, timing))


def get_sram_timing(link, block: str) -> SramTiming:
    return run_queries(link, [sram_timing_query(block)])[0]
