"""The OCP-like configuration bus inside the HICANN and its address decoder (spec §9.1-9.2).

Protocol (one master per configuration tag, many slaves):

* the master drives ``stb`` = 1 with ``we``, ``addr`` (16 bit) and ``wdata`` (32 bit) and holds
  them stable until it samples ``ack`` = 1;
* a slave answers every request with exactly one cycle of ``ack`` (registered: ``ack`` is high at
  the earliest in the cycle after ``stb`` rose, never in two consecutive cycles for one request);
  ``rdata`` is valid in the ``ack`` cycle; ``err`` = 1 in that cycle marks an access that reached no
  register (unmapped address, write to a read-only register, ...). A slave may stall (delay its
  ``ack``) as long as it needs, e.g. while an SRAM sequencer is busy;
* the master may start the next request in the cycle after ``ack``.

Slaves see *local* addresses (address minus block base). :class:`BusDecoder` builds the routing from
the declared :data:`~bss1.rtl.registers.HICANN_MAP`; an access outside every block is answered by the
decoder itself with ``err``.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regmap import AddressMap, BlockInstance

__all__ = ["BusSignature", "BusDecoder", "slave_access", "register_hit", "register_array_slave"]


class BusSignature(wiring.Signature):
    """Master-side view of the configuration bus."""

    def __init__(self, addr_width: int = 16, data_width: int = 32):
        super().__init__({
            "stb": Out(1), "we": Out(1), "addr": Out(addr_width), "wdata": Out(data_width),
            "ack": In(1), "rdata": In(data_width), "err": In(1),
        })


class BusDecoder(wiring.Component):
    """Routes one master to the slaves of one tag of an :class:`AddressMap`.

    Parameters
    ----------
    address_map : AddressMap
    tag : int
    implemented : iterable of str
        Names of instances that have a slave attached; accesses to declared-but-absent blocks
        are answered with ``err`` like unmapped ones.

    Members
    -------
    bus : In(BusSignature())
        From the master (absolute addresses).
    slaves : dict of name -> Out(BusSignature())
        One port per implemented instance, carrying local addresses.
    """

    def __init__(self, address_map: AddressMap, tag: int, implemented):
        self._instances: list[BlockInstance] = [i for i in address_map.tag_instances(tag)
                                                if i.name in set(implemented)]
        missing = set(implemented) - {i.name for i in self._instances}
        if missing:
            raise ValueError(f"tag {tag} has no blocks named {sorted(missing)!r}")
        self.tag = tag
        members = {"bus": In(BusSignature())}
        for inst in self._instances:
            members[f"s_{inst.name}"] = Out(BusSignature())
        super().__init__(members)

    def slave(self, name: str):
        return getattr(self, f"s_{name}")

    def elaborate(self, platform):
        m = Module()
        err_ack = Signal()
        hits, acks, rdatas, errs = [], [], [], []
        for inst in self._instances:
            port = self.slave(inst.name)
            width = (inst.size - 1).bit_length()
            hit = Signal(name=f"hit_{inst.name}")
            m.d.comb += [
                hit.eq((self.bus.addr >> width) == (inst.base >> width)),
                port.stb.eq(self.bus.stb & hit),
                port.we.eq(self.bus.we),
                port.addr.eq(self.bus.addr & (inst.size - 1)),
                port.wdata.eq(self.bus.wdata),
            ]
            acks.append(port.ack & hit)
            rdatas.append(port.rdata & hit.replicate(32))
            errs.append(port.err & hit)
            hits.append(hit)
        hit_any = Signal()
        m.d.comb += hit_any.eq(Cat(*hits).any() if hits else 0)
        # Unmapped: the decoder answers itself, one registered ack with err.
        m.d.sync += err_ack.eq(self.bus.stb & ~hit_any & ~err_ack)
        ack = err_ack
        rdata = 0
        err = err_ack
        for a, r, e in zip(acks, rdatas, errs):
            ack = ack | a
            rdata = rdata | r
            err = err | e
        m.d.comb += [self.bus.ack.eq(ack), self.bus.rdata.eq(rdata), self.bus.err.eq(err)]
        return m


def slave_access(m: Module, bus, ready=1) -> Signal:
    """Standard slave handshake: returns ``do``, high for one cycle when a request is served.

    In the ``do`` cycle the slave performs the write (``m.d.sync``) or latches its read data into a
    register that drives ``bus.rdata``; ``ack`` follows one cycle later. ``ready`` = 0 stalls.
    """
    ack = Signal(name="slave_ack")
    do = Signal(name="slave_do")
    m.d.comb += do.eq(bus.stb & ~ack & ready)
    m.d.sync += ack.eq(do)
    m.d.comb += bus.ack.eq(ack)
    return do


def register_hit(addr, register):
    """``(hit, index)`` expressions: does local ``addr`` fall on an element of ``register``?"""
    rel = addr - register.offset
    if register.stride == 1:
        hit = (addr >= register.offset) & (addr < register.offset + register.count)
        return hit, rel[:max(1, (register.count - 1).bit_length())]
    assert register.stride & (register.stride - 1) == 0, "stride must be a power of two"
    shift = register.stride.bit_length() - 1
    hit = ((addr >= register.offset) & (addr < register.offset + register.count * register.stride)
           & (rel[:shift] == 0))
    return hit, (rel >> shift)[:max(1, (register.count - 1).bit_length())]


def register_array_slave(m: Module, bus, register, storage) -> None:
    """A slave whose only register is the array ``register``, stored as consecutive
    ``register.width``-bit words in the flat signal ``storage``: read/write of every element,
    ``err`` for any other local address (nothing changes)."""
    from amaranth import Mux
    do = slave_access(m, bus)
    rdata, err = Signal(32, name="rdata"), Signal(name="err")
    m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]
    hit, idx = register_hit(bus.addr, register)
    word = storage.word_select(idx, register.width)
    with m.If(do):
        m.d.sync += [err.eq(~hit), rdata.eq(Mux(hit, word, 0))]
        with m.If(bus.we & hit):
            m.d.sync += word.eq(bus.wdata[:register.width])
