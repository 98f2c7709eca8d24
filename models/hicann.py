"""Behavioural twin of the HICANN digital top (:class:`bss1.rtl.hicann.Hicann`).

Composes the block twins exactly as the gateware composes the blocks: DNC interface (layer 2,
release buffers) -> neuron control (event sources, merger tree, DNC mergers) -> L1 fabric (sending
repeaters, lines, switches) -> synapse drivers (strobes); the DNC merger outputs also go back into
the DNC interface (timestamps, transmit queues, ``l2_out``). The DNC interface twin steps in two
phases (:meth:`~bss1.models.dnc_interface.DncInterfaceModel.begin` before the mergers,
:meth:`~bss1.models.dnc_interface.DncInterfaceModel.finish` after them). Configuration goes
through :meth:`HicannModel.write` / :meth:`read` with absolute (tag, address) pairs resolved by
the declared :data:`~bss1.rtl.registers.HICANN_MAP`, or through :meth:`bus`, the callback form
used by the packet-level
:class:`~bss1.models.config_arq.ConfigInterfaceModel`.

Timing: ``step()`` simulates one core cycle and returns what the gateware shows on its ports in
that cycle (``l2_out``, ``dnc_out``, ``hline``, ``vline``, ``strobes``, neighbour outputs).
Configuration writes made between steps take effect as in the gateware when they are issued at the
same cycles; the event path itself is cycle-exact.

Floating gates: the four controller twins (:class:`~bss1.models.fg_controller.FGControllerModel`)
run on this model's cycle counter but are brought up to date lazily, when one of them is
accessed or :attr:`fg_storage` is looked at, so a programming pass of millions of cycles costs
nothing per ``step()``. :meth:`idle` lets configuration-phase time pass (floating gates, synapse
controllers and driver SRAM writes; the event path is not stepped, so use it while no events are
in flight). Programmed cells land in
:attr:`fg_storage` (:class:`~bss1.models.fg_storage.FGStorage`).
"""

from __future__ import annotations

from ..rtl.regmap import RegisterMapError
from ..rtl.registers import HICANN_MAP
from ..rtl.hicann import FG_BLOCKS
from .dnc_interface import DncInterfaceModel
from .fg_controller import FGControllerModel
from .fg_storage import FGStorage, FGWriteNoise
from .l1_fabric import L1FabricModel
from .synapse_array import SynapseArray
from .synapse_controller import SynapseControllerModel
from .neuron_control import NeuronControlModel
from .synapse_driver import SynapseDriverModel

__all__ = ["HicannModel"]


class _DncBus:
    """Bus adapter of the DNC interface twin (its ``write`` / ``read`` return err flags; the
    map has already rejected every access that answers with an error)."""

    def __init__(self, dnc: DncInterfaceModel):
        self.dnc = dnc

    def write(self, name: str, local: int, data: int) -> None:
        self.dnc.write(name, local, data)

    def read(self, name: str, local: int) -> int:
        return self.dnc.read(name, local)[0]


class _FloatingGates:
    """The four FG controller twins behind the bus, synchronised lazily to the HICANN cycle."""

    def __init__(self, hicann: "HicannModel", noise: FGWriteNoise | None):
        self._hicann = hicann
        self.controllers = {name: FGControllerModel(block) for block, name in enumerate(FG_BLOCKS)}
        self._storage = FGStorage(noise=noise)

    def sync(self) -> None:
        for ctrl in self.controllers.values():
            lag = self._hicann.cycle + self._hicann.idle_cycles - ctrl.cycle
            if lag > 0:
                self._storage.apply_all(ctrl.advance(lag))

    @property
    def storage(self) -> FGStorage:
        self.sync()
        return self._storage

    def write(self, name: str, local: int, data: int) -> None:
        self.sync()
        self.controllers[name].write(local, data)

    def read(self, name: str, local: int) -> int:
        self.sync()
        return self.controllers[name].read(local)


class HicannModel:
    """One HICANN: registers and the event path, cycle by cycle.

    ``fg_noise``: floating-gate write noise (analog-realistic mode); ``None`` programs exactly.
    ``synapse_array``: the analog synapse array the synapse controllers access (default: a new
    :class:`~bss1.models.synapse_array.SynapseArray`; pass the analog core's to share it);
    ``array_ack_latency``: cycles from an access-port request to its answer (1, as the stub and
    the amaranth.sim servicing helper answer); ``core_mhz``: core clock (system-time ticks per
    cycle of the DNC interface, :attr:`dnc`).
    """

    def __init__(self, *, hop_latency: int = 1, fg_noise: FGWriteNoise | None = None,
                 synapse_array=None, array_ack_latency=1, core_mhz: int = 100):
        self.dnc = DncInterfaceModel(core_mhz=core_mhz)
        self.fabric = L1FabricModel(hop_latency)
        self.neurons = NeuronControlModel()
        self.drivers = SynapseDriverModel()
        self.cycle = 0
        self.bus_errors = 0
        self._strobes = {}          # strobes the gateware shows in the current cycle
        self._owners = {}
        self._routes = {}           # (tag, addr, write) -> _resolve() result
        for name in self.fabric.BUS_NAMES:
            self._owners[name] = self.fabric
        for name in ("neuron_control", "neuron_builder"):
            self._owners[name] = self.neurons
        for name in ("synapse_controller_top", "synapse_controller_bottom"):
            self._owners[name] = self.drivers
        for name in ("spl1_control", "dnc_if"):
            self._owners[name] = _DncBus(self.dnc)
        self.synapse_array = SynapseArray() if synapse_array is None else synapse_array
        for half in ("top", "bottom"):
            self.drivers.attach_sequencer(
                f"synapse_controller_{half}",
                SynapseControllerModel(half, self.synapse_array, ack_latency=array_ack_latency))
        self.idle_cycles = 0        # configuration-phase time that only the FG controllers saw
        self.floating_gates = _FloatingGates(self, fg_noise)
        for name in FG_BLOCKS:
            self._owners[name] = self.floating_gates

    # -- configuration ----------------------------------------------------------------------------
    def _resolve(self, tag: int, addr: int, write: bool):
        """``(block write or read method, block name, local address, data mask)`` of an access,
        decoded by :data:`HICANN_MAP` once per (tag, address, direction) and then cached;
        raises RegisterMapError (not cached) for accesses that reach no register."""
        key = (tag, addr, write)
        try:
            return self._routes[key]
        except (KeyError, TypeError):
            pass
        inst, reg, _ = HICANN_MAP.decode(tag, addr, write)
        owner = self._owners.get(inst.name)
        if owner is None:
            raise RegisterMapError(f"tag {tag} address {addr:#06x}: block {inst.name} has no "
                                   f"model yet (answers with a bus error)")
        route = (owner.write if write else owner.read, inst.name, addr - inst.base,
                 (1 << reg.width) - 1)
        if type(tag) is int and type(addr) is int:
            self._routes[key] = route
        return route

    def write(self, tag: int, addr: int, data: int) -> None:
        """Configuration write; raises RegisterMapError for unmapped or illegal accesses."""
        method, name, local, _ = self._resolve(tag, addr, True)
        method(name, local, data)

    def read(self, tag: int, addr: int) -> int:
        method, name, local, _ = self._resolve(tag, addr, False)
        return method(name, local)

    def writes(self, writes) -> None:
        for tag, addr, data in writes:
            self.write(tag, addr, data)

    def bus(self, tag: int, addr: int, write: bool, data: int) -> tuple[int, int]:
        """Bus callback ``(rdata, err)``: as the chip's bus, data bits above the register width
        are ignored and an access that reaches no register answers err = 1 (counted)."""
        try:
            method, name, local, mask = self._resolve(tag, addr, bool(write))
            if write:
                method(name, local, data & mask)
                return 0, 0
            return method(name, local), 0
        except RegisterMapError:
            self.bus_errors += 1
            return 0, 1

    def bus_many(self, accesses, idle_before: int = 0) -> list[tuple[int, int]]:
        """:meth:`bus` for each ``(tag, addr, write, data)`` of ``accesses`` in order, each
        preceded by :meth:`idle` (``idle_before``) when that is > 0; returns the ``(rdata,
        err)`` pairs. The same as the calls one by one, with less overhead per access."""
        if not isinstance(idle_before, int) or idle_before < 0:
            raise ValueError(f"cycle count {idle_before!r} must be an int >= 0")
        routes, advance = self._routes, self.drivers.advance
        out = []
        for tag, addr, write, data in accesses:
            if idle_before:
                self.idle_cycles += idle_before
                advance(idle_before)
            route = routes.get((tag, addr, write)) if type(write) is bool else None
            if route is None:
                out.append(self.bus(tag, addr, write, data))
            elif write:
                route[0](route[1], route[2], data & route[3])
                out.append((0, 0))
            else:
                out.append((route[0](route[1], route[2]), 0))
        return out

    def check(self) -> list[str]:
        """Static configuration problems (two drivers on a line, ...)."""
        return list(self.fabric.check())

    # -- events -----------------------------------------------------------------------------------
    def step(self, fire=(), l2_in: tuple[int, int, int] | None = None, *,
             l2_out_ready: bool = True, systime_reset: bool = False,
             **neighbour_inputs) -> dict:
        """One core cycle. ``fire``: neuron-builder addresses firing now; ``l2_in``: a pulse
        ``(HW channel, L1 address, timestamp)`` arriving on the layer-2 input (at most one per
        cycle, as on the gateware's stream; with the GbitLink's ``timestamp_enable`` off the
        timestamp is ignored and the pulse enters DNC merger ``channel`` at once), or None;
        ``l2_out_ready``: the outside takes the offered ``l2_out`` pulse; ``systime_reset``:
        clear the system time at the end of the cycle; neighbour inputs as in
        :class:`L1FabricModel` (``west_i`` ...). Returns the port values of this cycle:
        ``l2_out`` (``(channel, addr, timestamp)`` offered, or None), ``l2_out_taken``,
        ``systime`` (at the start of the cycle), ``dnc_out`` (``{HW channel: addr}`` of the DNC
        merger output registers), ``hline``, ``vline``, ``strobes`` (``{driver line: (strobe4,
        addr4)}``), ``drv_in`` and the neighbour outputs."""
        systime = self.dnc.systime
        merger_in = self.dnc.begin(l2_in)
        dnc_out = self.neurons.step(fire, merger_in or None)
        l2 = self.dnc.finish(dnc_out, l2_out_ready, systime_reset)
        out = self.fabric.step(sending=dnc_out, **neighbour_inputs)
        strobes_now = self._strobes
        self._strobes = self.drivers.step(out["drv_in"])
        self.cycle += 1
        result = dict(out)
        result["dnc_out"] = dnc_out
        result["l2_out"] = l2["l2_out"]
        result["l2_out_taken"] = l2["l2_out_taken"]
        result["systime"] = systime
        result["strobes"] = strobes_now
        return result

    def idle(self, n_cycles: int) -> None:
        """Let ``n_cycles`` core cycles of configuration-phase time pass: the floating-gate
        controllers run (their clock is ``cycle + idle_cycles``), and so do the synapse-driver
        bank's SRAM writes and the synapse controllers' command sequencers
        (:meth:`~bss1.models.synapse_driver.SynapseDriverModel.advance`: a running command
        costs a few steps per array access, an idle sequencer nothing); the event path is not
        stepped and :attr:`cycle` keeps counting event-path cycles only."""
        if not isinstance(n_cycles, int) or n_cycles < 0:
            raise ValueError(f"cycle count {n_cycles!r} must be an int >= 0")
        self.idle_cycles += n_cycles
        self.drivers.advance(n_cycles)

    @property
    def fg_storage(self) -> FGStorage:
        """The floating-gate cells as programmed up to the current cycle."""
        return self.floating_gates.storage

    @property
    def lost(self) -> int:
        return self.neurons.lost

    @property
    def l1_conflict(self) -> bool:
        return bool(self.fabric.conflict)
