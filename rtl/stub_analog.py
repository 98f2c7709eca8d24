"""A stub analog core and the single-chip test top used by cocotb tests and benchmarks.

The stub stands in for :mod:`bss1.models` analog core where a test needs no analog behaviour
(DESIGN decision 4): it fires chosen denmems on command and counts the synapse-driver strobes it
receives, without any per-cycle Python. The synapse controllers' array ports are answered by
:class:`NullSynapseArray`, which acknowledges every request one cycle after it starts (the
latency-1 rule of :mod:`bss1.rtl.synapse_array_port_sim`) and reads zeros. Commands carry a cycle stamp: the testbench queues ``(stamp, denmem)`` pairs
ahead of time, then lets the simulator run a whole window with one wait; the stub raises fire line
``denmem`` in the cycle whose free-running counter equals ``stamp`` (commands must be queued in
stamp order; a command whose stamp has passed fires at once and is counted as late).
"""


from amaranth import C, Cat, Module, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import count_ones
from .dnc_interface import L2Pulse
from .hicann import NEIGHBOUR_PORTS, Hicann
from .l1 import N_CHANNELS, N_DENMEMS, N_DRIVERS, N_HLINES, N_VLINES, Strobe, l1_array
from .synapse_controller import SynapseArrayPort

__all__ = ["FireCommand", "StubAnalogCore", "NullSynapseArray", "HicannTestTop"]

FireCommand = data.StructLayout({"stamp": 32, "denmem": 9})


class StubAnalogCore(wiring.Component):
    """Fires denmems at stamped cycles; counts strobes.

    Members
    -------
    cmd : In(stream.Signature(FireCommand))
    strobes : In(ArrayLayout(Strobe, 224))
    fire : Out(512)
    cycle : Out(32)
        Free-running core-cycle counter (the time base of the stamps).
    strobe_events : Out(32)
        Number of (driver, cycle) pairs with at least one strobe bit set.
    late : Out(16)
        Commands that arrived after their stamp.
    """

    cmd: In(stream.Signature(FireCommand))
    strobes: In(data.ArrayLayout(Strobe, N_DRIVERS))
    fire: Out(N_DENMEMS)
    cycle: Out(32)
    strobe_events: Out(32)
    late: Out(16)

    def __init__(self, depth: int = 64):
        self.depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        # ring buffer of stamped commands (a plain memory with one write and one read port)
        width = len(self.cmd.payload.as_value())
        m.submodules.mem = mem = memory.Memory(shape=width, depth=self.depth, init=[])
        wr, rd = mem.write_port(), mem.read_port(domain="comb")
        abits = (self.depth - 1).bit_length()
        w_ptr, r_ptr = Signal(abits + 1), Signal(abits + 1)
        full = (w_ptr[:abits] == r_ptr[:abits]) & (w_ptr[abits] != r_ptr[abits])
        m.d.comb += [self.cmd.ready.eq(~full), wr.addr.eq(w_ptr[:abits]),
                     wr.data.eq(self.cmd.payload), wr.en.eq(self.cmd.valid & ~full),
                     rd.addr.eq(r_ptr[:abits])]
        with m.If(self.cmd.valid & ~full):
            m.d.sync += w_ptr.eq(w_ptr + 1)
        head = data.View(FireCommand, rd.data)
        due = Signal()
        m.d.comb += due.eq((w_ptr != r_ptr) & (head.stamp <= self.cycle))
        with m.If(due):
            m.d.sync += r_ptr.eq(r_ptr + 1)
        m.d.sync += self.cycle.eq(self.cycle + 1)
        with m.If(due):
            m.d.comb += self.fire.eq(C(1, N_DENMEMS) << head.denmem)
            with m.If(head.stamp != self.cycle):
                m.d.sync += self.late.eq(self.late + 1)

        # popcount of the per-driver "any strobe" bits, as an adder tree over 224 bits
        hits = Signal(N_DRIVERS)
        m.d.comb += hits.eq(Cat(*(self.strobes[i].strobe.any() for i in range(N_DRIVERS))))
        m.d.sync += self.strobe_events.eq(self.strobe_events + count_ones(hits))
        return m


class NullSynapseArray(wiring.Component):
    """Answers a synapse-array access port without an array: ``ack`` one cycle after a request
    starts (a request starts when ``req`` rises, or stays high through an ``ack``), data 0."""

    port: In(SynapseArrayPort())

    def elaborate(self, platform):
        m = Module()
        req_q, ack_q, started_q = Signal(), Signal(), Signal()
        start = Signal()
        m.d.comb += [start.eq(self.port.req & (~req_q | ack_q)),
                     self.port.ack.eq(self.port.req & started_q)]
        m.d.sync += [req_q.eq(self.port.req), ack_q.eq(self.port.ack), started_q.eq(start)]
        return m


class HicannTestTop(wiring.Component):
    """One HICANN with the stub analog core and tied-off neighbour ports (a single chip).

    Exposes the configuration streams, the layer-2 ports of the DNC interface (``l2_in``,
    ``l2_out``, ``systime_reset``, ``systime``), the DNC merger outputs (``dnc_out``), the line
    monitors, the strobes and the stub's command port and counters.
    """

    def __init__(self, *, hop_latency: int = 1, arq_timeout: int = 2000, core_mhz: int = 100):
        self.hop_latency = hop_latency
        self.arq_timeout = arq_timeout
        self.core_mhz = core_mhz
        super().__init__({
            "cfg_rx": In(stream.Signature(64)),
            "cfg_tx": Out(stream.Signature(64)),
            "fire_cmd": In(stream.Signature(FireCommand)),
            "l2_in": In(stream.Signature(L2Pulse)),
            "l2_out": Out(stream.Signature(L2Pulse)),
            "systime_reset": In(1),
            "systime": Out(15),
            "dnc_out": Out(l1_array(N_CHANNELS)),
            "hline": Out(l1_array(N_HLINES)),
            "vline": Out(l1_array(N_VLINES)),
            "strobes": Out(data.ArrayLayout(Strobe, N_DRIVERS)),
            "fire": Out(N_DENMEMS),
            "cycle": Out(32),
            "strobe_events": Out(32),
            "late": Out(16),
            "bus_errors": Out(16),
            "l1_conflict": Out(1),
            "syndrv_conflict": Out(1),
            "lost": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.hicann = chip = Hicann(hop_latency=self.hop_latency,
                                            arq_timeout=self.arq_timeout,
                                            core_mhz=self.core_mhz)
        m.submodules.analog = stub = StubAnalogCore()
        wiring.connect(m, wiring.flipped(self.cfg_rx), chip.cfg_rx)
        wiring.connect(m, chip.cfg_tx, wiring.flipped(self.cfg_tx))
        wiring.connect(m, wiring.flipped(self.fire_cmd), stub.cmd)
        wiring.connect(m, wiring.flipped(self.l2_in), chip.l2_in)
        wiring.connect(m, chip.l2_out, wiring.flipped(self.l2_out))
        for half in ("top", "bottom"):
            m.submodules[f"array_{half}"] = array = NullSynapseArray()
            wiring.connect(m, getattr(chip, f"synapse_array_{half}"), array.port)
        m.d.comb += [
            chip.fire.eq(stub.fire), stub.strobes.eq(chip.strobes),
            chip.systime_reset.eq(self.systime_reset), self.systime.eq(chip.systime),
            self.dnc_out.eq(chip.dnc_out),
            self.hline.eq(chip.hline), self.vline.eq(chip.vline),
            self.strobes.eq(chip.strobes), self.fire.eq(stub.fire),
            self.cycle.eq(stub.cycle), self.strobe_events.eq(stub.strobe_events),
            self.late.eq(stub.late), self.bus_errors.eq(chip.bus_errors),
            self.l1_conflict.eq(chip.l1_conflict), self.syndrv_conflict.eq(chip.syndrv_conflict),
            self.lost.eq(chip.lost),
        ]
        for name, _ in NEIGHBOUR_PORTS:
            m.d.comb += getattr(chip, f"{name}_i").eq(0)
        return m
