"""Behavioural reference model of the 224 synapse drivers and of the register side of the two
synapse controllers (spec hicann-digital.md §4, §6.1, §6.2, §9.2; twin of
:class:`bss1.rtl.synapse_driver.SynapseDriverBank`, same conventions and latencies).

Time
----
``cycle`` counts :meth:`SynapseDriverModel.step` calls. A bus access made between steps is an
access *requested* in cycle ``cycle`` (the cycle the next ``step`` simulates). Register accesses
are served at once; an access to a driver SRAM is served in the first cycle in which the SRAM
sequencer of its controller is idle (the RTL stalls the bus that long), and :attr:`served_cycle`
tells which cycle that was. An SRAM access served in cycle ``d`` keeps the sequencer busy in
cycles ``d + 1 .. d + cost`` (cost = ``setup + 2 + write_delay + 2`` or ``setup + 2 + read_delay +
2``); a write becomes visible to the drivers from cycle ``d + cost + 1`` on.

Two-access read
---------------
:meth:`read` of an SRAM address returns what the RTL bus returns: the read-data latch, and starts
the SRAM read of the addressed word into the latch. Reading the same address twice returns the
word; :meth:`peek_sram` returns the stored word directly (no bus access, no timing) for checks.

Command sequencer
-----------------
Without one, CTRL commands are stored but do nothing (STATUS ``slice_busy`` / ``auto_busy`` read
0, CTRL ``idle`` reads 1, SYNOUT / SYNCORR read 0), like
:class:`bss1.rtl.synapse_controller_regs.SynapseControllerRegs`. :meth:`attach_sequencer` plugs
a :class:`bss1.models.synapse_controller.SynapseControllerModel` into a controller, the twin of
:class:`bss1.rtl.synapse_controller.SynapseController`: CTRL writes then start commands and the
status / SYNOUT / SYNCORR reads come from it; :meth:`step` steps it.

Drivers
-------
:meth:`step` takes the events arriving in one cycle and returns the strobes the RTL shows one
cycle later (see the RTL module for the chain, conflict and decoder conventions).
"""

from __future__ import annotations

from collections import deque

from bss1.models import coords
from bss1.rtl.regmap import RegisterMapError
from bss1.rtl.registers import (DRIVER_CONFIG_BOTTOM, DRIVER_DECODER, DRIVER_SRAMS as _SRAMS,
                                HICANN_MAP, SYNAPSE_CONTROLLER)

__all__ = ["SynapseDriverModel", "CONTROLLERS", "DriverState"]

#: Controller names (= HICANN_MAP tag-1 instances) and the driver lines they serve.
CONTROLLERS = {"synapse_controller_top": range(0, 112),
               "synapse_controller_bottom": range(112, 224)}
_CTRL = SYNAPSE_CONTROLLER.reg("ctrl")
_CNFG = SYNAPSE_CONTROLLER.reg("cnfg")
_T_READ = SYNAPSE_CONTROLLER.reg("timing_read")
_T_SW = SYNAPSE_CONTROLLER.reg("timing_setup_write")
_STATUS = SYNAPSE_CONTROLLER.reg("status")

# Reset values (see the RTL register module: chip power-up timings, spec conflict §13 #15).
_RESET = {
    "timing_read": _T_READ.encode(read_delay=8),
    "timing_setup_write": _T_SW.encode(setup_precharge=1, write_delay=1),
    "cnfg": _CNFG.encode(endel=15, predel=15, oedel=15, wrdel=2),
}


class DriverState:
    """Settings of one driver as used by the event logic."""

    __slots__ = ("enable", "locin", "connect_neighbor", "pattern")

    def __init__(self):
        self.enable = self.locin = self.connect_neighbor = 0
        self.pattern = [0, 0, 0, 0]        # index 2 * r + p (SW row-on-driver r, parity p)


class _Controller:
    def __init__(self, name: str):
        self.name = name
        self.sram = {s: [0] * SYNAPSE_CONTROLLER.reg(s).count for s in _SRAMS}
        self.latch = 0
        self.regs = {r.name: [_RESET.get(r.name, 0)] * r.count
                     for r in SYNAPSE_CONTROLLER.registers
                     if r.name not in _SRAMS and r.name != "status"}
        self.seq_free = 0      # first cycle in which a new SRAM access can be served
        self.seq_start = -1    # cycle in which the running/last SRAM access was served
        self.sequencer = None  # command sequencer twin (attach_sequencer)
        self.seq_regs = None   # register words as during the current cycle (for the sequencer)
        self.ctrl_write = None  # data of a CTRL write served in the current cycle
        self.written = True     # a register written since the last snapshot
        self.pending = deque()  # driver SRAM writes in the sequencer: (visible, sram, row, word)

    def snapshot(self):
        self.seq_regs = {n: list(self.regs[n]) for n in ("ctrl", "cnfg", "lut", "synin",
                                                         "synrst")}
        self.written = False


class SynapseDriverModel:
    """Cycle-level twin of the synapse-driver bank (see the module docstring)."""

    def __init__(self):
        self.cycle = 0
        self.served_cycle = 0
        self.conflict = False          # sticky, like the RTL flag
        self.conflict_cycles = 0       # cycles with at least one collision (statistics)
        self.ctl = {name: _Controller(name) for name in CONTROLLERS}
        self._controllers = tuple(self.ctl.values())
        self.drivers = [DriverState() for _ in range(coords.N_DRIVER_LINES)]
        self._latest = {}      # (controller, sram, row) -> [pending writes, newest word]
        self._routes = {}      # (controller, local address, write) -> _lookup() result
        self._chains = [coords.driver_chain(side, half)
                        for half in ("top", "bottom") for side in ("left", "right")]

    # -- bus side ----------------------------------------------------------------------------------
    def _lookup(self, controller: str, local_addr: int, write: bool):
        try:
            return self._routes[(controller, local_addr, write)]
        except (KeyError, TypeError):
            pass
        hit = self._decode(controller, local_addr, write)
        if type(local_addr) is int:
            self._routes[(controller, local_addr, write)] = hit
        return hit

    def _decode(self, controller: str, local_addr: int, write: bool):
        if controller not in self.ctl:
            raise RegisterMapError(f"controller {controller!r} not one of "
                                   f"{', '.join(CONTROLLERS)}")
        size = HICANN_MAP[controller].size
        if not isinstance(local_addr, int) or not 0 <= local_addr < size:
            raise RegisterMapError(f"{controller}: local address {local_addr!r} out of range "
                                   f"0..{size - 1:#x}")
        hit = SYNAPSE_CONTROLLER.lookup(local_addr, write)
        if hit is None:
            kind = "writable" if write else "readable"
            raise RegisterMapError(f"{controller}: no {kind} register at local address "
                                   f"{local_addr:#x}")
        return self.ctl[controller], hit[0], hit[1]

    def attach_sequencer(self, controller: str, sequencer) -> None:
        """Run ``sequencer`` (a SynapseControllerModel of the same half) as the command
        sequencer of ``controller`` from the current cycle on."""
        if controller not in self.ctl:
            raise RegisterMapError(f"controller {controller!r} not one of "
                                   f"{', '.join(CONTROLLERS)}")
        half = controller.rsplit("_", 1)[1]
        if sequencer.half != half:
            raise ValueError(f"sequencer half {sequencer.half!r} does not match controller "
                             f"{controller!r}")
        sequencer.cycle = self.cycle
        c = self.ctl[controller]
        c.sequencer = sequencer
        c.snapshot()

    def _sram_access(self, c: _Controller, cost: int) -> int:
        served = max(self.cycle, c.seq_free)
        c.seq_start = served
        c.seq_free = served + cost + 1
        self.served_cycle = served
        return served

    def write_cost(self, controller: str) -> int:
        f = _T_SW.decode(self.ctl[controller].regs["timing_setup_write"][0])
        return f["setup_precharge"] + 2 + f["write_delay"] + 2

    def read_cost(self, controller: str) -> int:
        c = self.ctl[controller]
        setup = _T_SW.decode(c.regs["timing_setup_write"][0])["setup_precharge"]
        return setup + 2 + _T_READ.decode(c.regs["timing_read"][0])["read_delay"] + 2

    def write(self, controller: str, local_addr: int, data: int) -> None:
        """Bus write of ``data`` (32 bit) to ``local_addr`` of ``controller``."""
        if not isinstance(data, int) or not 0 <= data <= 0xFFFF_FFFF:
            raise RegisterMapError(f"data {data!r} out of range 0..0xffffffff")
        c, reg, idx = self._lookup(controller, local_addr, write=True)
        if reg.name in _SRAMS:
            served = self._sram_access(c, self.write_cost(controller))
            word = data & ((1 << reg.width) - 1)
            # per controller the visible cycles rise (each access starts after the last one)
            c.pending.append((served + self.write_cost(controller) + 1, reg.name, idx, word))
            latest = self._latest.get((controller, reg.name, idx))
            if latest is None:
                self._latest[(controller, reg.name, idx)] = [1, word]
            else:
                latest[0] += 1
                latest[1] = word
            return
        self.served_cycle = self.cycle
        word = data & ((1 << reg.width) - 1)
        words = c.regs[reg.name]
        if words[idx] != word:
            words[idx] = word
            c.written = True        # the sequencer's view changes with the next cycle
        if reg.name == "ctrl":
            c.ctrl_write = c.regs["ctrl"][0]

    def read(self, controller: str, local_addr: int) -> int:
        """Bus read; for a driver SRAM address: the latch (see the module docstring)."""
        c, reg, idx = self._lookup(controller, local_addr, write=False)
        if reg.name in _SRAMS:
            self._sram_access(c, self.read_cost(controller))
            # every earlier write has completed when this access is served
            value, c.latch = c.latch, self.peek_sram(controller, reg.name, idx)
            return value
        self.served_cycle = self.cycle
        seq = c.sequencer
        if reg.name == "status":
            return _STATUS.encode(syndrv_busy=int(self.busy(controller)),
                                  slice_busy=int(bool(seq and seq.slice_busy)),
                                  auto_busy=int(bool(seq and seq.auto_busy)))
        if reg.name == "ctrl":
            forced = _CTRL.field("cmd").mask | _CTRL.field("idle").mask
            idle = 1 if seq is None else int(seq.idle)
            return (c.regs["ctrl"][0] & ~forced) | _CTRL.encode(idle=idle)
        if reg.name in ("synout", "syncorr"):
            return 0 if seq is None else getattr(seq, reg.name)[idx]
        return c.regs[reg.name][idx]

    def busy(self, controller: str) -> bool:
        """STATUS.syndrv_busy in the current cycle."""
        c = self.ctl[controller]
        return c.seq_start < self.cycle < c.seq_free

    @property
    def writes_pending(self) -> bool:
        """Driver SRAM writes still in the sequencer (not yet visible to the drivers)."""
        return bool(self._latest)

    def peek_sram(self, controller: str, sram: str, row: int) -> int:
        """The stored SRAM word (including writes still in the sequencer)."""
        latest = self._latest.get((controller, sram, row))
        return latest[1] if latest is not None else self.ctl[controller].sram[sram][row]

    # -- settings mirror ---------------------------------------------------------------------------
    def _commit(self, upto):
        for c in self.ctl.values():
            pending = c.pending
            while pending and pending[0][0] <= upto:
                _, sram, row, word = pending.popleft()
                c.sram[sram][row] = word
                key = (c.name, sram, row)
                latest = self._latest[key]
                latest[0] -= 1
                if not latest[0]:
                    del self._latest[key]
                if sram != "drv_gmax":
                    self._update_driver(c.name, row)

    def _update_driver(self, controller: str, row: int):
        if row % 2:
            return                      # only HW-bottom rows carry the event-logic settings
        for line in CONTROLLERS[controller]:
            r_bottom, _, sw_bottom, sw_top = coords.driver_hw_rows(line)
            if r_bottom != row:
                continue
            shift = 8 * coords.driver_byte_lane(line)
            c = self.ctl[controller]
            cfg = DRIVER_CONFIG_BOTTOM.decode((c.sram["drv_config"][row] >> shift) & 0xFF)
            dec = DRIVER_DECODER.decode((c.sram["drv_decoder"][row] >> shift) & 0xFF)
            d = self.drivers[line]
            d.enable, d.locin = cfg["enable"], cfg["locin"]
            d.connect_neighbor = cfg["connect_neighbor"]
            # halbe: p0 HW-bottom even, p1 HW-top even, p2 HW-bottom odd, p3 HW-top odd
            for pname, (r, p) in (("p0", (sw_bottom, 0)), ("p1", (sw_top, 0)),
                                  ("p2", (sw_bottom, 1)), ("p3", (sw_top, 1))):
                d.pattern[2 * r + p] = dec[f"{pname}_0"] | (dec[f"{pname}_1"] << 1)
            return

    def advance(self, n_cycles: int) -> None:
        """Let ``n_cycles`` cycles pass without driver events (configuration-phase time): the
        same as ``n_cycles`` :meth:`step` calls with no input, minus the strobes (none can
        occur without input) and the per-cycle work: driver SRAM writes whose time has come
        take effect, each attached sequencer simulates its first cycle as :meth:`step` does
        (register words of the previous cycle, a pending CTRL write) and the rest with the
        current register words, through
        :meth:`~bss1.models.synapse_controller.SynapseControllerModel.run`, which jumps over
        the cycles in which nothing happens. An idle controller costs nothing per cycle."""
        if n_cycles <= 0:
            return
        for c in self._controllers:
            seq = c.sequencer
            if seq is None:
                continue
            if c.ctrl_write is not None:
                seq.step(c.seq_regs, c.ctrl_write)
                c.ctrl_write = None
                if c.written:
                    c.snapshot()
                seq.run(c.seq_regs, n_cycles - 1)
            elif seq.active:
                if c.written:           # the first cycle still sees the previous words
                    seq.run(c.seq_regs, 1)
                    c.snapshot()
                    seq.run(c.seq_regs, n_cycles - 1)
                else:
                    seq.run(c.seq_regs, n_cycles)
            else:                       # idle, nothing starts: what run() does, inline
                seq.cnt = max(seq.cnt - n_cycles, 0)
                seq.cycle += n_cycles
                if c.written:
                    c.snapshot()
        self.cycle += n_cycles
        if self._latest:
            self._commit(self.cycle - 1)

    # -- event side --------------------------------------------------------------------------------
    def step(self, drv_in: dict | None = None) -> dict:
        """Simulate one cycle: ``drv_in`` = ``{line: 6-bit L1 address}`` of the events arriving in
        this cycle. Returns ``{line: (strobe4, addr4)}`` for every driver with a nonzero strobe,
        as the RTL shows it in the next cycle."""
        drv_in = drv_in or {}
        for line, addr in drv_in.items():
            coords.check_range("synapse driver line", line, 0, coords.N_DRIVER_LINES - 1)
            coords.check_range("L1 address", addr, 0, 63)
        self._commit(self.cycle)
        for c in self.ctl.values():
            if c.sequencer is not None:
                c.sequencer.step(c.seq_regs, c.ctrl_write)
                c.ctrl_write = None
                c.snapshot()
        out = {}
        self._collided = False
        for chain in self._chains:
            segment = []
            for j, line in enumerate(chain):
                segment.append(line)
                if j == len(chain) - 1 or not self.drivers[line].connect_neighbor:
                    self._segment(segment, drv_in, out)
                    segment = []
        self.conflict_cycles += self._collided
        self.cycle += 1
        return out

    def _segment(self, lines, drv_in, out):
        sources = [drv_in[L] for L in lines if L in drv_in and self.drivers[L].locin]
        if not sources:
            return
        if len(sources) > 1:
            self.conflict = self._collided = True
        addr = 0
        for a in sources:
            addr |= a                   # colliding events: wired-OR
        for L in lines:
            d = self.drivers[L]
            if not d.enable:
                continue
            strobe = sum(1 << b for b in range(4) if d.pattern[b] == addr >> 4)
            if strobe:
                out[L] = (strobe, addr & 0xF)
