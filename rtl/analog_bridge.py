"""The RTL side of the analog boundary: strobe capture, stamped fire release, the core-cycle time
base, and the single-chip top that couples a HICANN to a numpy analog core (DESIGN decision 4;
spec analog-core.md §12 time bases, hicann-digital.md §4.3 strobes, §11 clocks).

Coupling is conservative synchronisation with a lookahead: a denmem spike reaches layer 1 only
after its output delay (80 ns = 8 core cycles at 100 MHz), so the analog model may be stepped one
window behind the RTL and still return every fire for a future cycle. The harness
(:mod:`bss1.models.analog_adapter`) alternates between running the chip for a window and a
*transfer phase* in which the chip is frozen (``run`` = 0): it drains the strobes of the window,
steps the model, and queues the returned fire commands. Freezing makes the transfers cost no chip
time, so a burst of strobes or fires of any size is exchanged exactly, whatever the window.

:class:`AnalogBridge`

* ``cycle``: the core-cycle counter, the time base of every stamp. It counts run cycles only:
  during a run cycle it holds that cycle's index; while frozen it holds the index of the next run
  cycle. Stamps are 32 bit; wrap-around (43 s at 100 MHz) is not handled.
* Strobe capture. In each run cycle in which any of the 224 drivers strobes, one *snapshot*
  (stamp + all 224 ``Strobe`` fields, 1824 bits) is written into a memory FIFO of
  ``snapshot_depth`` entries. A priority scan serialises the head snapshot into
  :data:`StrobeRecord` s on ``strobe_rec``, lowest driver first, one per cycle (run or frozen):
  a per-snapshot mask of already sent drivers selects the lowest pending one (``x & -x`` and an
  OR-tree encoder, no 224-deep if-chain). Choice: one snapshot write per cycle and one record read
  per cycle keeps the Verilog to one wide memory, one 224-bit mask and one 8-bit mux, and takes
  any number of drivers per cycle without loss; several write lanes into a record FIFO would need
  a lane per simultaneously strobing driver to be lossless. A strobe cycle that finds the FIFO
  full is lost: its records are added to ``strobes_lost`` and ``overflow`` is raised (sticky
  until reset). ``strobes_captured`` counts the records written.
* Fire release. ``fire_cmd`` takes :data:`FireCommand` (stamp, denmem) into a command FIFO
  (``ready`` depends on the FIFO state only). Its head moves, one per cycle, into a *timing
  wheel*: ``horizon`` slots of 512 bits, slot ``stamp % horizon`` collects every denmem due at
  ``stamp``, so any number of denmems fire in the same cycle. The head waits in the FIFO while
  its stamp is ``horizon`` or more cycles ahead (commands must be queued in stamp order; a later
  stamp blocks earlier ones behind it). In run cycle ``c`` the fire lines carry slot
  ``c % horizon``, which is cleared at the end of the cycle; a head whose stamp is ``c`` or
  earlier in a run cycle fires at once. A command whose stamp has passed when it leaves the FIFO
  fires in the next run cycle and counts in ``late``.
"""

from amaranth import C, Cat, Const, Module, Mux, Signal
from amaranth.hdl import EnableInserter
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import count_ones
from .dnc_interface import L2Pulse, check_core_mhz
from .hicann import NEIGHBOUR_PORTS, Hicann
from .l1 import N_CHANNELS, N_DENMEMS, N_DRIVERS, N_HLINES, N_VLINES, Strobe, l1_array
from .stub_analog import FireCommand
from .synapse_controller import SynapseArrayPort

__all__ = ["StrobeRecord", "FireCommand", "AnalogBridge", "HicannAnalogTop", "STAMP_BITS",
           "DEFAULT_HORIZON", "DEFAULT_SNAPSHOT_DEPTH"]

STAMP_BITS = 32
#: One strobe of one driver in one cycle, as the harness reads it.
StrobeRecord = data.StructLayout({"stamp": STAMP_BITS, "driver": 8, "strobe": 4, "addr": 4})
DEFAULT_HORIZON = 16
DEFAULT_SNAPSHOT_DEPTH = 16
_DRIVER_BITS = 8
_SNAPSHOT = data.StructLayout({"stamp": STAMP_BITS,
                               "strobes": data.ArrayLayout(Strobe, N_DRIVERS)})


def _check_pow2(name, value, lo, hi):
    if not isinstance(value, int) or not lo <= value <= hi or value & (value - 1):
        raise ValueError(f"{name} {value!r} is not a power of two in {lo}..{hi}")


class _Fifo:
    """Pointers of a memory FIFO (one bit wider than the address)."""

    def __init__(self, m, depth, name):
        self.abits = (depth - 1).bit_length()
        self.w = Signal(self.abits + 1, name=f"{name}_wptr")
        self.r = Signal(self.abits + 1, name=f"{name}_rptr")
        self.full = Signal(name=f"{name}_full")
        self.empty = Signal(name=f"{name}_empty")
        m.d.comb += [self.full.eq((self.w[:self.abits] == self.r[:self.abits])
                                  & (self.w[self.abits] != self.r[self.abits])),
                     self.empty.eq(self.w == self.r)]


class AnalogBridge(wiring.Component):
    """Strobe capture, stamped fire release and the core-cycle counter.

    Parameters
    ----------
    snapshot_depth : int
        Strobe cycles the capture FIFO holds (power of two, 2..1024).
    horizon : int
        Slots of the fire timing wheel = how far ahead (cycles) a command may be placed
        (power of two, 2..256).
    command_depth : int
        Entries of the fire-command FIFO (power of two, 2..1024).

    Members
    -------
    run : In(1)
        1: the chip runs this cycle (counter, capture, clearing of fired slots); 0: frozen
        (transfer phase).
    strobes : In(ArrayLayout(Strobe, 224))
    fire : Out(512)
        Fire lines of this cycle (all 0 while frozen).
    strobe_rec : Out(stream.Signature(StrobeRecord))
    fire_cmd : In(stream.Signature(FireCommand))
    cycle : Out(32)
    strobes_captured, strobes_lost : Out(32)
    overflow : Out(1)
        Sticky: a strobe cycle was lost.
    late : Out(32)
    commands_pending : Out(1)
        The command FIFO holds commands not yet in the wheel.
    """

    run: In(1)
    strobes: In(data.ArrayLayout(Strobe, N_DRIVERS))
    fire: Out(N_DENMEMS)
    strobe_rec: Out(stream.Signature(StrobeRecord))
    fire_cmd: In(stream.Signature(FireCommand))
    cycle: Out(STAMP_BITS)
    strobes_captured: Out(32)
    strobes_lost: Out(32)
    overflow: Out(1)
    late: Out(32)
    commands_pending: Out(1)

    def __init__(self, *, snapshot_depth: int = DEFAULT_SNAPSHOT_DEPTH,
                 horizon: int = DEFAULT_HORIZON, command_depth: int = 64):
        try:
            _check_pow2("snapshot depth", snapshot_depth, 2, 1024)
            _check_pow2("fire horizon", horizon, 2, 256)
            _check_pow2("command FIFO depth", command_depth, 2, 1024)
        except ValueError:
            self._MustUse__silence = True       # never elaborated: no unused-object warning
            raise
        self.snapshot_depth = snapshot_depth
        self.horizon = horizon
        self.command_depth = command_depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        run = self.run
        m.d.sync += self.cycle.eq(self.cycle + run)
        self._capture(m)
        self._release(m)
        return m

    # -- strobes -> records -------------------------------------------------------------------
    def _capture(self, m):
        snap_w = _SNAPSHOT.size
        m.submodules.snapshots = mem = memory.Memory(shape=snap_w, depth=self.snapshot_depth,
                                                     init=[])
        wr, rd = mem.write_port(), mem.read_port(domain="comb")
        q = _Fifo(m, self.snapshot_depth, "snap")

        hits = Signal(N_DRIVERS)
        m.d.comb += hits.eq(Cat(*(self.strobes[i].strobe.any() for i in range(N_DRIVERS))))
        n_hits = count_ones(hits)
        strobing = Signal()
        m.d.comb += strobing.eq(self.run & hits.any())
        m.d.comb += [wr.addr.eq(q.w[:q.abits]), wr.en.eq(strobing & ~q.full),
                     wr.data.eq(Cat(self.cycle, self.strobes.as_value()))]
        with m.If(strobing):
            with m.If(q.full):
                m.d.sync += [self.strobes_lost.eq(self.strobes_lost + n_hits),
                             self.overflow.eq(1)]
            with m.Else():
                m.d.sync += [q.w.eq(q.w + 1),
                             self.strobes_captured.eq(self.strobes_captured + n_hits)]

        # priority scan of the head snapshot
        m.d.comb += rd.addr.eq(q.r[:q.abits])
        head = data.View(_SNAPSHOT, rd.data)
        head_strobes = Signal(N_DRIVERS * Strobe.size)
        m.d.comb += head_strobes.eq(head.strobes.as_value())
        head_hits = Signal(N_DRIVERS)
        m.d.comb += head_hits.eq(Cat(*(head.strobes[i].strobe.any() for i in range(N_DRIVERS))))
        sent = Signal(N_DRIVERS)               # drivers of the head snapshot already sent
        pending = Signal(N_DRIVERS)
        m.d.comb += pending.eq(head_hits & ~sent)
        lowest = Signal(N_DRIVERS)              # one-hot: the lowest pending driver
        m.d.comb += lowest.eq(pending & (~pending + 1)[:N_DRIVERS])
        driver = Signal(_DRIVER_BITS)
        m.d.comb += driver.eq(Cat(*((lowest & _bit_mask(k)).any()
                                    for k in range(_DRIVER_BITS))))
        rec = Signal(Strobe)
        m.d.comb += rec.as_value().eq(head_strobes.word_select(driver, Strobe.size))
        out = self.strobe_rec
        m.d.comb += [out.valid.eq(~q.empty & pending.any()),
                     out.payload.stamp.eq(head.stamp), out.payload.driver.eq(driver),
                     out.payload.strobe.eq(rec.strobe), out.payload.addr.eq(rec.addr)]
        with m.If(out.valid & out.ready):
            with m.If((pending & ~lowest) == 0):
                m.d.sync += [q.r.eq(q.r + 1), sent.eq(0)]
            with m.Else():
                m.d.sync += sent.eq(sent | lowest)

    # -- fire commands -> fire lines ------------------------------------------------------------
    def _release(self, m):
        h = self.horizon
        hbits = (h - 1).bit_length()
        cmd_w = FireCommand.size
        m.submodules.commands = cmem = memory.Memory(shape=cmd_w, depth=self.command_depth,
                                                     init=[])
        cwr, crd = cmem.write_port(), cmem.read_port(domain="comb")
        q = _Fifo(m, self.command_depth, "cmd")
        m.d.comb += [self.fire_cmd.ready.eq(~q.full), cwr.addr.eq(q.w[:q.abits]),
                     cwr.data.eq(self.fire_cmd.payload), cwr.en.eq(self.fire_cmd.valid & ~q.full),
                     crd.addr.eq(q.r[:q.abits]), self.commands_pending.eq(~q.empty)]
        with m.If(self.fire_cmd.valid & ~q.full):
            m.d.sync += q.w.eq(q.w + 1)
        head = data.View(FireCommand, crd.data)

        m.submodules.wheel = wheel = memory.Memory(shape=N_DENMEMS, depth=h, init=[])
        now_rd = wheel.read_port(domain="comb")
        ins_rd = wheel.read_port(domain="comb")
        ins_wr = wheel.write_port()
        clr_wr = wheel.write_port()
        run, cycle = self.run, self.cycle

        due = Signal()                  # stamp <= cycle
        in_horizon = Signal()           # stamp < cycle + horizon
        m.d.comb += [due.eq(head.stamp <= cycle),
                     in_horizon.eq(head.stamp < cycle + C(h, STAMP_BITS + 1))]
        take = Signal()
        immediate = Signal()            # fire in this run cycle, past the wheel
        m.d.comb += [take.eq(~q.empty & in_horizon), immediate.eq(take & run & due)]
        with m.If(take):
            m.d.sync += q.r.eq(q.r + 1)
            # late: the stamp has passed (this run cycle, or the run cycle it is placed into)
            with m.If(head.stamp < cycle):
                m.d.sync += self.late.eq(self.late + 1)

        onehot = Signal(N_DENMEMS)
        m.d.comb += onehot.eq(Const(1, N_DENMEMS) << head.denmem)
        slot = Signal(hbits)
        m.d.comb += [slot.eq(Mux(due, cycle, head.stamp)[:hbits]),
                     ins_rd.addr.eq(slot), ins_wr.addr.eq(slot),
                     ins_wr.data.eq(ins_rd.data | onehot), ins_wr.en.eq(take & ~immediate)]
        # in run cycle c: slot c % horizon goes out and is cleared; an inserted stamp lies in
        # (c, c + horizon), so the two write ports never address the same slot
        m.d.comb += [now_rd.addr.eq(cycle[:hbits]), clr_wr.addr.eq(cycle[:hbits]),
                     clr_wr.data.eq(0), clr_wr.en.eq(run)]
        m.d.comb += self.fire.eq(Mux(run, now_rd.data | Mux(immediate, onehot, 0), 0))


def _bit_mask(k):
    return Const(sum(1 << i for i in range(N_DRIVERS) if i >> k & 1), N_DRIVERS)


class HicannAnalogTop(wiring.Component):
    """One HICANN coupled to an analog core through :class:`AnalogBridge` (a single chip, tied-off
    neighbour ports).

    The chip runs under a clock enable: ``run`` = 0 freezes every register of the
    :class:`~bss1.rtl.hicann.Hicann` and the bridge's counter, while the bridge keeps serving
    its streams. The configuration streams and the layer-2 streams are gated with ``run`` too (no
    handshake while frozen), so a configuration driver may run at any time. Hold ``run`` = 1
    through reset.

    Ports: ``cfg_rx`` / ``cfg_tx`` and the layer-2 side ``l2_in`` / ``l2_out`` /
    ``systime_reset`` / ``systime`` / ``dnc_out`` (as :class:`~bss1.rtl.stub_analog.HicannTestTop`),
    ``run``, ``strobe_rec``, ``fire_cmd``, the synapse controllers' array access ports
    ``synapse_array_top`` / ``synapse_array_bottom`` (controller side out: the harness answers
    them from the analog core's synapse array, counting run cycles only:
    :mod:`bss1.models.analog_array_service`), the line monitors ``hline`` / ``vline``,
    ``strobes``, ``fire``, and status: ``cycle``, ``strobes_captured``, ``strobes_lost``,
    ``overflow``, ``late``, ``commands_pending``, ``bus_errors``, ``l1_conflict``,
    ``syndrv_conflict``, ``lost``.
    """

    def __init__(self, *, hop_latency: int = 1, arq_timeout: int = 2000,
                 snapshot_depth: int = DEFAULT_SNAPSHOT_DEPTH, horizon: int = DEFAULT_HORIZON,
                 core_mhz: int = 100):
        try:
            self.core_mhz = check_core_mhz(core_mhz)
        except ValueError:
            self._MustUse__silence = True       # never elaborated: no unused-object warning
            raise
        self.hop_latency = hop_latency
        self.arq_timeout = arq_timeout
        self.snapshot_depth = snapshot_depth
        self.horizon = horizon
        super().__init__({
            "cfg_rx": In(stream.Signature(64)),
            "cfg_tx": Out(stream.Signature(64)),
            "run": In(1),
            "strobe_rec": Out(stream.Signature(StrobeRecord)),
            "fire_cmd": In(stream.Signature(FireCommand)),
            "l2_in": In(stream.Signature(L2Pulse)),
            "l2_out": Out(stream.Signature(L2Pulse)),
            "systime_reset": In(1),
            "systime": Out(15),
            "dnc_out": Out(l1_array(N_CHANNELS)),
            "synapse_array_top": Out(SynapseArrayPort()),
            "synapse_array_bottom": Out(SynapseArrayPort()),
            "hline": Out(l1_array(N_HLINES)),
            "vline": Out(l1_array(N_VLINES)),
            "strobes": Out(data.ArrayLayout(Strobe, N_DRIVERS)),
            "fire": Out(N_DENMEMS),
            "cycle": Out(STAMP_BITS),
            "strobes_captured": Out(32),
            "strobes_lost": Out(32),
            "overflow": Out(1),
            "late": Out(32),
            "commands_pending": Out(1),
            "bus_errors": Out(16),
            "l1_conflict": Out(1),
            "syndrv_conflict": Out(1),
            "lost": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        chip = Hicann(hop_latency=self.hop_latency, arq_timeout=self.arq_timeout,
                      core_mhz=self.core_mhz)
        m.submodules.hicann = EnableInserter(self.run)(chip)
        m.submodules.bridge = bridge = AnalogBridge(snapshot_depth=self.snapshot_depth,
                                                    horizon=self.horizon)
        wiring.connect(m, wiring.flipped(self.fire_cmd), bridge.fire_cmd)
        wiring.connect(m, bridge.strobe_rec, wiring.flipped(self.strobe_rec))
        for half in ("top", "bottom"):
            wiring.connect(m, getattr(chip, f"synapse_array_{half}"),
                           wiring.flipped(getattr(self, f"synapse_array_{half}")))
        run = self.run
        for rx, tx in ((self.cfg_rx, chip.cfg_rx), (self.l2_in, chip.l2_in),
                       (chip.cfg_tx, self.cfg_tx), (chip.l2_out, self.l2_out)):
            m.d.comb += [tx.valid.eq(rx.valid & run), tx.payload.eq(rx.payload),
                         rx.ready.eq(tx.ready & run)]
        m.d.comb += [
            bridge.run.eq(run),
            chip.fire.eq(bridge.fire), bridge.strobes.eq(chip.strobes),
            chip.systime_reset.eq(self.systime_reset), self.systime.eq(chip.systime),
            self.dnc_out.eq(chip.dnc_out),
            self.hline.eq(chip.hline), self.vline.eq(chip.vline),
            self.strobes.eq(chip.strobes), self.fire.eq(bridge.fire),
            self.cycle.eq(bridge.cycle),
            self.strobes_captured.eq(bridge.strobes_captured),
            self.strobes_lost.eq(bridge.strobes_lost), self.overflow.eq(bridge.overflow),
            self.late.eq(bridge.late), self.commands_pending.eq(bridge.commands_pending),
            self.bus_errors.eq(chip.bus_errors),
            self.l1_conflict.eq(chip.l1_conflict), self.syndrv_conflict.eq(chip.syndrv_conflict),
            self.lost.eq(chip.lost),
        ]
        for name, _ in NEIGHBOUR_PORTS:
            m.d.comb += getattr(chip, f"{name}_i").eq(0)
        return m
