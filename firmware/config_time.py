"""Configuration-phase time of the emulated HICANNs (spec host-stack.md §2.5, §3.4;
hicann-digital.md §6.3, §6.6, §10, §11).

On the wafer the chips run all the time; the emulator clocks its HICANN models' event path only
during experiments (:mod:`bss1.firmware.experiment`). Two parts of a chip need time to pass while
the host configures it, and :class:`ConfigPhaseClock` gives them that time, outside experiments
only (an experiment clocks the chip itself):

* **Wall time between batches.** Before the FPGA serves a HICANNCONFIG frame, the wall time since
  the previous frame, times the PLL frequency, times ``chip_time_scale``, passes on every chip
  as :meth:`~bss1.models.hicann.HicannModel.idle` cycles (floating-gate controllers, synapse
  controllers). A host that
  sleeps the programming time of a floating-gate row (``wait(pll_cycles)``) and then polls
  SLAVE.busy finds the pass over, as on hardware. Chip time never moves backwards; wall time
  spent in an experiment is not counted. ``chip_time_scale`` > 1 lets chip time run faster than
  wall time (the host then may sleep less); the default 1.0 is real time.
* **Time per access.** Each configuration access takes ``ACCESS_CYCLES`` core cycles (the
  minimum spacing of configuration packets, halbe ``wait_by_dummy``; hicann-digital §11): the
  chips see them as idle cycles (floating-gate controllers: a RAM word written, then read back
  in the same frame, is the new word; synapse controllers: their command sequencers run
  through them). halbe waits for a synapse-array command with ceil(cycles / 2) dummy writes
  (§6.6), which is exactly this time. The model jumps over the cycles in which nothing happens
  (:meth:`~bss1.models.hicann.HicannModel.idle`), so a quiet sequencer costs nothing; the
  event path (mergers, L1, drivers' strobes) is not stepped.
"""

from __future__ import annotations

import time
from typing import Callable

__all__ = ["ACCESS_CYCLES", "ConfigPhaseClock", "ClockedBus"]

ACCESS_CYCLES = 2           # core cycles per configuration access (hicann-digital §11)


class ConfigPhaseClock:
    """Wall-time -> chip-time conversion of one emulated FPGA (see the module docstring).

    ``clock``: a monotonic wall clock in seconds (injectable for tests); ``pll_mhz``: the core
    clock; ``chip_time_scale``: chip seconds per wall second (> 0)."""

    def __init__(self, pll_mhz: int, *, chip_time_scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        if isinstance(chip_time_scale, bool) or not isinstance(chip_time_scale, (int, float)) \
                or not chip_time_scale > 0:
            raise ValueError(f"chip_time_scale {chip_time_scale!r} must be a number > 0")
        self.pll_hz = pll_mhz * 1e6
        self.scale = float(chip_time_scale)
        self.clock = clock
        self._last = clock()
        self._fraction = 0.0
        self.idle_cycles = 0            # cycles given to the chips from wall time

    def restart(self) -> None:
        """Forget the wall time since the last call (e.g. time spent in an experiment)."""
        self._last = self.clock()
        self._fraction = 0.0

    def elapse(self, buses) -> int:
        """Let the wall time since the last call pass on the chips behind ``buses``
        (:class:`ClockedBus`); returns the cycles."""
        now = self.clock()
        cycles = max(0.0, now - self._last) * self.pll_hz * self.scale + self._fraction
        self._last = max(now, self._last)
        n = int(cycles + 1e-6)          # float noise of the clock difference is not a cycle lost
        self._fraction = cycles - n
        if n:
            for bus in buses:
                bus.model.idle(n)
            self.idle_cycles += n
        return n


class ClockedBus:
    """``model.bus`` with :data:`ACCESS_CYCLES` of configuration-phase time
    (:meth:`~bss1.models.hicann.HicannModel.idle`) before each access while ``active()`` (no
    experiment runs)."""

    def __init__(self, model, active: Callable[[], bool]):
        self.model = model
        self.active = active

    def __call__(self, tag: int, addr: int, write: bool, data: int):
        if self.active():
            self.model.idle(ACCESS_CYCLES)
        return self.model.bus(tag, addr, write, data)

    def many(self, accesses) -> list[tuple[int, int]]:
        """Calls for each ``(tag, addr, write, data)`` in order, ``(rdata, err)`` pairs back;
        ``active()`` is asked once for the batch (the FPGA emulator serves a frame under its
        lock, so no experiment starts or ends within one)."""
        return self.model.bus_many(accesses, ACCESS_CYCLES if self.active() else 0)
