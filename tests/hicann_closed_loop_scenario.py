"""The HICANN-level closed loop with the real analog core, shared by
tests/test_hicann_closed_loop.py (amaranth.sim) and tests/cocotb/closed_loop_tb.py (Icarus), and
its model-only reference.

Loop: background generator ``BG`` (regular, every ``ISI`` cycles, address ``BG_ADDRESS``) -> its
DNC merger -> sending repeater -> HLine -> crossbar -> VLine -> synapse-switch rows -> 4 synapse
drivers (row decoders = the address MSBs) -> strobes -> :class:`~bss1.models.analog_core.AnalogCore`
(synapses of weight ``WEIGHT`` with decoder = the address LSBs at the two top denmems of a
4-denmem AdEx neuron) -> the neuron fires -> fire line -> priority encoder of neuron block 2 ->
merger tree -> DNC merger -> the same sending repeater -> HLine, with address ``NEURON_ADDRESS``
(MSBs 3: decoded by no driver, so the neuron does not excite itself).

Configuration goes through the configuration stream with the host encoders (host/l1_config,
merger_tree, scenarios, hal_synapses). The synapses of the first routed driver are written through
the top synapse controller's commands (SYNIN + CTRL WRITE / WDEC, halbe's dummy-write waits): its
first row's weights and both rows' decoders; the other routed rows are set in the core's array
directly (``direct_synapses``). The driver SRAM's row settings and the neuron parameters are
mirrored into the core from a HicannModel that received the same writes (DESIGN decision 4: the
analog side's configuration is mirrored on write).

Reference: :class:`~bss1.models.closed_loop.ClosedLoop` of a HicannModel (sharing a second core's
synapse array, so the controller commands act on it through the model's sequencer twin) and that
core, paced one write per ``MODEL_CYCLES_PER_WRITE`` cycles. The two runs start their cores
``core_lead`` cycles before the first BG event on the HLine (the RTL run measures it, the model run
copies it), so the membranes start in the same state at the same time relative to the events.
"""

from __future__ import annotations

import copy

import numpy as np

from analog_bridge_scenario import BG, BG_ADDRESS, CHANNEL, route_drivers, routed_writes
from bss1.host.hal_synapses import (SynapseControllerConfig, decoder_double_row_writes,
                                    synapse_controller_writes, weights_row_writes)
from bss1.host.merger_tree import BackgroundGenerator, bg_period_for_isi, bg_writes
from bss1.host.scenarios import local_writes
from bss1.host.synapse_driver import RowConfig
from bss1.models import coords
from bss1.models.analog_core import AnalogCore
from bss1.models.closed_loop import ClosedLoop
from bss1.models.hicann import HicannModel
from bss1.models.transform import NeuronParameters, Scaling

__all__ = ["BG", "BG_ADDRESS", "CHANNEL", "ISI", "WEIGHT", "NEURON_X", "NEURON_ADDRESS",
           "FIRE_LINE", "SENDING_HLINE", "ROUTED", "CONTROLLER_DRIVER", "CONTROLLER_ROWS",
           "config_writes", "bg_enable_writes", "make_core", "mirror_model", "direct_synapses",
           "expected_synapses", "model_reference", "TRACE_DENMEM"]

ISI = 200                            # BG inter-event interval, cycles
WEIGHT = 2
NEURON_X = 64 + 2 * 5                # neuron block 2 (BG 2's), left column of a 4-denmem neuron
NEURON_ADDRESS = (3 << 4) | 11       # MSBs 3: decoded by no driver (no recurrence)
FIRE_LINE = coords.neuron_nb_address(NEURON_X, 0)
SENDING_HLINE = coords.sending_hline(CHANNEL)
ROUTED = route_drivers()[3]          # driver lines the BG's VLine reaches (all top half)
CONTROLLER_DRIVER = ROUTED[0]
CONTROLLER = "synapse_controller_top"
CONTROLLER_CFG = SynapseControllerConfig(dll_reset=False)
TRACE_DENMEM = NEURON_X              # the neuron's firing denmem (top row, y = 0)
MODEL_CYCLES_PER_WRITE = 2           # the pacing halbe's dummy writes assume (§6.6)


def _half_rows(line: int):
    """(half, SynapseRowOnArray of the driver's two rows)."""
    h = 0 if line < 112 else 1
    return ("top", "bottom")[h], (2 * line - 224 * h, 2 * line - 224 * h + 1)


CONTROLLER_ROWS = _half_rows(CONTROLLER_DRIVER)


def _row_values(value: int) -> list[int]:
    out = [0] * 256
    out[NEURON_X] = out[NEURON_X + 1] = value
    return out


def config_writes() -> list[tuple[int, int, int]]:
    """Everything but the BG: mergers, neuron builder, repeaters, crossbar, switches, drivers,
    then the synapse controller and its weight / decoder row commands."""
    msb = BG_ADDRESS >> 4
    row = RowConfig(syn_in=(1, 0), selgmax=0, gmax_div=(2, 0), decoder=(msb, msb))
    out, _ = routed_writes(row, [(NEURON_X, 0, NEURON_ADDRESS)])
    # synapses of CONTROLLER_DRIVER through the controller
    half, (r0, _) = CONTROLLER_ROWS
    out += synapse_controller_writes(CONTROLLER, CONTROLLER_CFG)
    out += weights_row_writes(224 * (half == "bottom") + r0, _row_values(WEIGHT), CONTROLLER_CFG)
    dec = _row_values(BG_ADDRESS & 15)
    out += decoder_double_row_writes(CONTROLLER_DRIVER, (dec, dec), CONTROLLER_CFG)
    return out


def bg_enable_writes() -> list[tuple[int, int, int]]:
    """The BG last: its enable write starts the event stream."""
    bgs = [BackgroundGenerator(BG, period=bg_period_for_isi(ISI), address=BG_ADDRESS)]
    return local_writes("neuron_control", bg_writes(bgs))


def direct_synapses(array) -> None:
    """The routed rows not written through the controller, set in ``array`` directly."""
    for L in ROUTED:
        half, rows = _half_rows(L)
        for r in rows:
            if (half, r) == (CONTROLLER_ROWS[0], CONTROLLER_ROWS[1][0]):
                continue
            for x in (NEURON_X, NEURON_X + 1):
                weight = WEIGHT
                decoder = None if L == CONTROLLER_DRIVER else BG_ADDRESS & 15
                array.set_synapse(half, r, x, weight=weight, decoder=decoder)


def expected_synapses() -> dict:
    """{(half, row, column): (weight, decoder)} of every non-zero synapse after configuration."""
    out = {}
    for L in ROUTED:
        half, rows = _half_rows(L)
        for r in rows:
            for x in (NEURON_X, NEURON_X + 1):
                out[(half, r, x)] = (WEIGHT, BG_ADDRESS & 15)
    return out


def make_core(**kw) -> AnalogCore:
    """A fresh core: 4-denmem neurons with PyNN-default AdEx parameters, membrane of the loop's
    neuron recorded."""
    core = AnalogCore(**kw)
    core.configure_neurons(size=4)
    core.neurons.set_hardware_parameters(NeuronParameters().to_hardware(Scaling()))
    core.neurons.record([TRACE_DENMEM])
    return core


def mirror_model(writes) -> HicannModel:
    """A HicannModel holding the configuration ``writes`` (driver SRAM writes completed): the
    source the core's row settings are mirrored from."""
    model = HicannModel()
    model.writes(writes)
    while model.drivers.writes_pending:
        model.step()
    return model


def _paced(model, writes) -> None:
    for w in writes:
        model.write(*w)
        for _ in range(MODEL_CYCLES_PER_WRITE):
            out = model.step()
            assert not out["strobes"], "strobes during configuration"
    seqs = [c.sequencer for c in model.drivers.ctl.values() if c.sequencer is not None]
    while model.drivers.writes_pending or any(s.slice_busy for s in seqs):
        model.step()


def model_reference(cycles: int, core_lead: int, *, window: int = 8):
    """The model-only closed loop: HicannModel + a fresh core coupled by ClosedLoop, the core
    started ``core_lead`` cycles before the first BG event on the sending HLine. Returns
    ``(record, core, model, trace, bg0)``: the LoopRecord of ``cycles`` cycles from the core's
    start, the core (its array as configured through the model's controller twin), the model,
    the recorded membrane (t, V) and the cycle of the first BG event."""
    core = make_core()
    model = HicannModel(synapse_array=core.array)
    _paced(model, config_writes())
    direct_synapses(core.array)
    core.configure_drivers(model)
    # cycles from the BG enable write to its first event on the HLine: a dry run of a copy
    probe = copy.deepcopy(model)
    probe.writes(bg_enable_writes())
    first = None
    for c in range(4 * ISI):
        if probe.step()["hline"].get(SENDING_HLINE) == BG_ADDRESS:
            first = c
            break
    assert first is not None, "the BG never reached the sending HLine"
    model.writes(bg_enable_writes())
    enable = model.cycle
    start = enable + first - core_lead
    if start < enable:
        raise ValueError(f"core lead {core_lead} out of range ..{first}")
    while model.cycle < start:
        out = model.step()
        assert not out["strobes"] and out["hline"].get(SENDING_HLINE) is None
    core.neurons.cycle = start
    loop = ClosedLoop(model, core, window=window)
    rec = loop.run(cycles)
    return rec, core, model, core.neurons.read_trace(), enable + first


class RecordingCore:
    """Wraps a core: logs the strobes it is stepped with and the fires it returns (absolute
    cycles); everything else is the core's."""

    def __init__(self, core):
        self.core = core
        self.strobes = []            # (cycle, driver, strobe, addr)
        self.fired = []              # (cycle, fire line)

    @property
    def cycle(self) -> int:
        return self.core.cycle

    def step(self, n_cycles, strobes):
        self.strobes += [tuple(int(x) for x in s) for s in strobes]
        fired = self.core.step(n_cycles, strobes)
        self.fired += [(int(c), int(n)) for c, n in zip(fired["cycle"], fired["denmem"])]
        return fired


def _sending(hline_events, addr):
    return [c for c, y, a in hline_events if y == SENDING_HLINE and a == addr]


def reset_cycles(t, v, cycle_time, substeps):
    """Cycles whose integration step ended in a reset, read off the trace: a sample more than
    100 mV below the one before starts the step after the spike."""
    c0 = int(round(t[0] / cycle_time * substeps))
    k = np.nonzero(v[:-1] - v[1:] > 0.1)[0] + 1
    return [(c0 + int(i) - 1) // substeps for i in k]


def check_membrane(t, v, strobe_cycles, fire_cycles, *, cycle_time, substeps, delay):
    """The trace shows a PSP after every strobe (the membrane rises by > 5 mV within two
    cycles, unless a spike resets it first) and a spike/reset at every fire: the steps that end
    in a reset are exactly the detection cycles (fire cycle - output delay), each reached from
    above the membrane's threshold region (> 0.65 V)."""
    c0 = int(round(t[0] / cycle_time * substeps)) // substeps
    detections = sorted(c - delay for c in fire_cycles)
    assert reset_cycles(t, v, cycle_time, substeps) == detections
    for d in detections:
        i = (d - c0) * substeps
        assert v[i:i + substeps + 1].max() > 0.65, (d, v[i:i + substeps + 1])
    for s in strobe_cycles:
        i = (s - c0) * substeps
        if any(s <= d < s + 2 for d in detections) or i + 2 * substeps >= v.size:
            continue
        assert v[i + 2 * substeps] - v[i] > 0.005, (s, v[i:i + 2 * substeps + 1])
    return len(detections)


def check_loop(rtl_hline, rtl_fire, rec_core, access_log, *, start, end, bg0, out_dir=None):
    """Checks of one RTL run with the real core (cycles in RTL cycles, ``[start, end)`` = the
    adapter's cycles, ``bg0`` the first BG event on the sending HLine; ``access_log``: the array
    service's log), against the model-only reference; writes the membrane trace files into
    ``out_dir``. Returns a summary dict."""
    core = rec_core.core
    rtl_hline = [e for e in rtl_hline if start <= e[0] < end]
    rtl_fire = [e for e in rtl_fire if start <= e[0] < end]
    # the controller's commands reached the array port: 8 weight writes of one row, 16 decoder
    # writes of two rows, nothing else, all on the top array, all before the loop started
    ops = [(e[2].name, e[4]) for e in access_log]
    assert [e[1] for e in access_log] == ["top"] * 24
    assert ops == [("WRITE_WEIGHTS", s) for s in range(8)] + \
        [("WRITE_DECODERS", s) for s in range(8)] * 2, ops
    assert max(e[0] for e in access_log) < start
    # the synapses: controller-written rows landed in the core's array
    for (half, r, x), want in expected_synapses().items():
        assert core.array.synapse(half, r, x) == want, (half, r, x)
    assert int(sum((core.array.weights(h) != 0).sum() for h in ("top", "bottom"))) == \
        len(expected_synapses())
    # strobes at the BG period, all routed drivers each time
    strobes = [s for s in rec_core.strobes if start <= s[0] < end]
    cycles = sorted({s[0] for s in strobes})
    bg_events = _sending(rtl_hline, BG_ADDRESS)
    assert bg_events == list(range(bg0, end, ISI)), bg_events
    assert len(cycles) >= 3 and set(np.diff(cycles).tolist()) == {ISI}, cycles
    lag = cycles[0] - bg0                    # HLine -> crossbar -> switch -> driver
    assert 0 < lag < 10 and cycles == [b + lag for b in bg_events if b + lag < end]
    assert sorted({s[1] for s in strobes}) == ROUTED
    assert all(sum(1 for s in strobes if s[0] == c) == len(ROUTED) for c in cycles)
    # the neuron fires; the fire lines the RTL raised are the core's fires
    fires = [c for c, n in rec_core.fired if c < end]
    assert {n for _, n in rec_core.fired} == {FIRE_LINE}
    assert len(fires) >= 3
    assert rtl_fire == [(c, FIRE_LINE) for c in fires]
    # every fire reaches the sending repeater's HLine with the neuron's address, constant latency
    neuron_events = _sending(rtl_hline, NEURON_ADDRESS)
    latency = [e - f for e, f in zip(neuron_events, fires)]
    assert len(neuron_events) == len(fires) and len(set(latency)) == 1 and 0 < latency[0] < 20
    # scoreboard: the model-only closed loop, cores started at the same time before the BG
    ref, ref_core, model, (rt, rv), ref_bg0 = model_reference(end - start, bg0 - start)
    off = bg0 - ref_bg0
    assert [(c + off, n) for c, n in ref.fire] == rtl_fire
    assert [(c + off, y, a) for c, y, a in ref.hline] == rtl_hline
    assert [(c + off, L, s, a) for c, L, s, a in ref.strobes] == strobes
    assert np.array_equal(ref_core.array.packed, core.array.packed)
    seq = model.drivers.ctl[CONTROLLER].sequencer
    assert [(e[1], e[2], e[3], tuple(e[4])) for e in seq.log] == \
        [(e[2], e[3], e[4], e[5]) for e in access_log]
    # the membrane: trace files, read back and checked; equal to the reference's membrane
    t, v = core.neurons.read_trace()
    np.testing.assert_array_equal(v, rv)
    dt = core.neurons.dt
    np.testing.assert_allclose(t - rt, off * core.cycle_time, rtol=0, atol=dt * 1e-3)
    summary = {"fires": fires, "latency": latency[0], "strobe_cycles": cycles,
               "hline_bg": bg_events, "hline_neuron": neuron_events}
    if out_dir is not None:
        from pathlib import Path
        from bss1.models.membrane_trace import read_vcd_real, write_npz, write_vcd
        out_dir = Path(out_dir)
        ev = {"strobe": cycles, "fire": fires}
        npz = write_npz(out_dir / "membrane.npz", t, v, [TRACE_DENMEM], **ev)
        vcd = write_vcd(out_dir / "membrane.vcd", t, v, [TRACE_DENMEM],
                        cycle_time=core.cycle_time, **ev)
        data = np.load(npz)
        np.testing.assert_array_equal(data["V"], v)
        tv, vv = read_vcd_real(vcd, f"membrane.V_{TRACE_DENMEM}")
        # the VCD holds the changes: expand back onto the sample grid
        idx = np.searchsorted(tv, t + dt * 1e-3, side="right") - 1
        np.testing.assert_allclose(vv[idx], v[0], rtol=1e-12, atol=0)
        summary["files"] = [str(npz), str(vcd)]
        v_file = vv[idx]
    else:
        v_file = v[0]
    summary["resets"] = check_membrane(
        t, v_file, cycles, fires, cycle_time=core.cycle_time,
        substeps=core.neurons.substeps, delay=core.neurons.delay_cycles)
    return summary
