"""Membrane traces of the analog core as files next to a run's other outputs (DESIGN "results people
look at come next to machine-readable files"; spec ecosystem.md B4/B5: real-valued VCD vars written
with pyvcd, read with vcdvcd; analog-core.md §10 membrane readout).

* :func:`write_npz`: ``t`` (s), ``V`` (V, one row per recorded denmem), the denmem indices and
  any event cycle lists (strobes, fires) as arrays.
* :func:`write_vcd`: one ``real`` var per recorded denmem (``membrane.V_<denmem>``, volts) and
  one 1-bit ``wire`` per event list (high for the event's core cycle), timescale 1 ps. The
  membrane var changes only where the value changes.
* :func:`read_vcd_real`: ``(t in s, values)`` of a real var, through vcdvcd.

The trace comes from :meth:`bss1.models.neuron.NeuronArray.read_trace` (sampled at the start of
every integration step; ``core.neurons.record(denmems)`` selects the denmems).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_npz", "write_vcd", "read_vcd_real", "VCD_TIMESCALE_S"]

VCD_TIMESCALE_S = 1e-12


def _check(t, v, denmems):
    t = np.asarray(t, np.float64)
    v = np.atleast_2d(np.asarray(v, np.float64))
    denmems = [int(d) for d in denmems]
    if t.ndim != 1 or v.shape != (len(denmems), t.size):
        raise ValueError(f"trace shape {v.shape} does not match {len(denmems)} denmem(s) x "
                         f"{t.size} samples")
    if t.size > 1 and not (np.diff(t) > 0).all():
        raise ValueError("trace times are not strictly increasing")
    return t, v, denmems


def write_npz(path, t, v, denmems, **events) -> Path:
    """``path`` (.npz) with ``t``, ``V``, ``denmems`` and one int64 array per event list."""
    t, v, denmems = _check(t, v, denmems)
    path = Path(path)
    np.savez(path, t=t, V=v, denmems=np.array(denmems, np.int64),
             **{k: np.asarray(sorted(e), np.int64) for k, e in events.items()})
    return path


def write_vcd(path, t, v, denmems, *, cycle_time: float, **events) -> Path:
    """``path`` (.vcd): the membrane(s) as real vars and event lists (core cycles) as 1-bit
    wires; ``cycle_time``: seconds per core cycle."""
    from vcd import VCDWriter
    t, v, denmems = _check(t, v, denmems)
    if not cycle_time > 0:
        raise ValueError(f"cycle time {cycle_time!r} out of range > 0")
    changes = []                         # (time ps, order, var key, value)
    for i, d in enumerate(denmems):
        keep = np.ones(t.size, bool)
        keep[1:] = v[i, 1:] != v[i, :-1]
        for ts, val in zip(t[keep], v[i, keep]):
            changes.append((round(ts / VCD_TIMESCALE_S), 1, ("V", d), float(val)))
    cyc_ps = cycle_time / VCD_TIMESCALE_S
    for name, cycles in events.items():
        for c in sorted(set(int(c) for c in cycles)):
            changes.append((round(c * cyc_ps), 0, ("E", name), 1))
            changes.append((round((c + 1) * cyc_ps), 0, ("E", name), 0))
    changes.sort(key=lambda x: (x[0], x[1]))
    path = Path(path)
    with open(path, "w") as f, VCDWriter(f, timescale="1 ps") as w:
        vars_ = {("V", d): w.register_var("membrane", f"V_{d}", "real", init=float(v[i, 0])
                                          if t.size else 0.0)
                 for i, d in enumerate(denmems)}
        vars_.update({("E", n): w.register_var("events", n, "wire", size=1, init=0)
                      for n in events})
        for ts, _, key, val in changes:
            w.change(vars_[key], ts, val)
    return path


def read_vcd_real(path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and values of the real var ``name`` (full dotted name, e.g.
    ``membrane.V_74``) of a VCD, through vcdvcd."""
    from vcdvcd import VCDVCD
    vcd = VCDVCD(str(path), signals=[name], store_tvs=True)
    tv = vcd[name].tv
    return (np.array([t for t, _ in tv], np.float64) * VCD_TIMESCALE_S,
            np.array([float(x) for _, x in tv], np.float64))
