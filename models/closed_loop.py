"""Model-only closed loop of one HICANN: the digital reference model
(:class:`~bss1.models.hicann.HicannModel`) coupled to the analog core
(:class:`~bss1.models.analog_core.AnalogCore`) in windows, exactly as the RTL bridge couples the
gateware (DESIGN decision 4; spec analog-core.md §3.2 80 ns output delay, §12 time bases).

Event path: background generator or L2 input -> merger tree -> DNC merger -> sending repeater
-> HLine -> crossbar -> VLine -> synapse switch -> synapse driver -> strobes -> AnalogCore
(STP, synapses, conductances, denmems) -> fire lines -> priority encoder -> merger tree -> DNC
merger -> sending repeater (and L2 out).

Windows: the digital model runs ``window`` cycles (one ``step`` per cycle) with the fire lines
due in those cycles; the strobes it shows, stamped with their cycle, are then handed to
``core.step(window, strobes)``, whose fires (at least ``window`` cycles ahead, since ``window``
does not exceed the core's output delay) are queued for the cycles they name. The result is
exactly what a cycle-by-cycle coupling would give.

Compound neurons: with ``neurons_from_builder=True`` the core's denmem interconnect follows the
model's neuron builder SRAM (:meth:`AnalogCore.configure_neurons_from_model`, spec
hicann-digital §7.1, analog-core §3.4): it is derived when the loop is made and again at the
start of every :meth:`ClosedLoop.run` in which the SRAM differs from the one last applied
(reconfiguring resets the membranes, conductances and pending input as
:meth:`AnalogCore.configure_neurons` does, but the core keeps its cycle; fires already queued
still reach their fire lines). Without it the core keeps the structure it was given explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bss1.models.analog_core import STROBE_DTYPE
from bss1.models.neuron_builder_map import builder_words

__all__ = ["ClosedLoop", "LoopRecord"]


@dataclass
class LoopRecord:
    """Events of a run, as ``(cycle, ...)`` tuples in cycle order: ``fire`` (cycle, fire line),
    ``strobes`` (cycle, driver, strobe, addr), ``hline`` (cycle, HLine, addr), ``vline``,
    ``l2_tx`` (cycle, HW channel, addr) of the DNC merger outputs."""
    fire: list = field(default_factory=list)
    strobes: list = field(default_factory=list)
    hline: list = field(default_factory=list)
    vline: list = field(default_factory=list)
    l2_tx: list = field(default_factory=list)


class ClosedLoop:
    """Couples ``model`` (a HicannModel) and ``core`` (an AnalogCore of one HICANN) in
    windows of ``window`` cycles (1..the core's output delay in cycles, default 8);
    ``neurons_from_builder``: take the compound neurons from the model's neuron builder."""

    def __init__(self, model, core, *, window: int = 8, neurons_from_builder: bool = False):
        if getattr(core, "n_hicanns", 1) != 1:
            raise ValueError(f"closed loop needs a core of 1 HICANN, got {core.n_hicanns}")
        delay = core.neurons.delay_cycles
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= delay:
            raise ValueError(f"window {window!r} out of range 1..{delay}")
        self.model, self.core, self.window = model, core, window
        self._schedule: dict[int, set[int]] = {}
        self.windows = 0
        self.neurons_from_builder = bool(neurons_from_builder)
        self._builder_words = None
        self._sync_neurons()

    def _sync_neurons(self) -> None:
        """Re-derive the core's compound neurons if the model's neuron builder SRAM changed."""
        if not self.neurons_from_builder:
            return
        words = builder_words(self.model)
        if self._builder_words is None or not np.array_equal(words, self._builder_words):
            cycle = self.core.cycle
            self.core.configure_neurons_from_model(words)
            self.core.neurons.cycle = cycle         # the state restarts, the clock runs on
            self._builder_words = words

    @property
    def pending_fires(self) -> int:
        return sum(len(v) for v in self._schedule.values())

    def run(self, n_cycles: int, *, l2_rx: dict | None = None) -> LoopRecord:
        """Run ``n_cycles`` (a multiple of the window) from the model's current cycle;
        ``l2_rx``: ``{cycle: L2 input of that cycle}`` in the form the model's ``step`` takes.
        The core first catches up with the model (no strobes) if it is behind; a core ahead is
        an error."""
        if isinstance(n_cycles, bool) or not isinstance(n_cycles, int) or n_cycles < 0 \
                or n_cycles % self.window:
            raise ValueError(f"cycle count {n_cycles!r} is not a non-negative multiple of the "
                             f"window ({self.window})")
        model, core = self.model, self.core
        self._sync_neurons()
        if core.cycle > model.cycle:
            raise ValueError(f"analog core at cycle {core.cycle} is ahead of the digital model: "
                             f"allowed 0..{model.cycle}")
        if core.cycle < model.cycle:
            self._queue(core.step(model.cycle - core.cycle), model.cycle)
        l2_rx = l2_rx or {}
        rec = LoopRecord()
        for _ in range(n_cycles // self.window):
            t0 = model.cycle
            strobes = []
            for c in range(t0, t0 + self.window):
                fire = sorted(self._schedule.pop(c, ()))
                out = model.step(fire, l2_rx.get(c))
                rec.fire += [(c, n) for n in fire]
                for line, (s, a) in sorted(out["strobes"].items()):
                    strobes.append((c, line, s, a))
                rec.hline += [(c, y, a) for y, a in sorted(out["hline"].items())]
                rec.vline += [(c, v, a) for v, a in sorted(out["vline"].items())]
                dnc = out["dnc_out"] if "dnc_out" in out else out["l2_tx"]
                rec.l2_tx += [(c, ch, a) for ch, a in sorted(dnc.items())]
            rec.strobes += strobes
            fired = core.step(self.window, np.array(strobes, STROBE_DTYPE))
            self._queue(fired, model.cycle)
            self.windows += 1
        return rec

    def _queue(self, fired, earliest: int) -> None:
        for c, n in zip(fired["cycle"].tolist(), fired["denmem"].tolist()):
            if c < earliest:
                raise ValueError(f"fire of line {n} at cycle {c} out of range {earliest}.. "
                                 f"(the digital model has passed it)")
            self._schedule.setdefault(c, set()).add(n)
