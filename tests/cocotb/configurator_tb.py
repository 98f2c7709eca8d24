"""cocotb testbench: the host's staged configurator drives the generated HICANN test top.

Run by tests/cocotb/test_configurator_rtl.py. A random :class:`~bss1.host.configurator.HICANNConfig`
is written with :func:`~bss1.host.configurator.configure_async` through a
:class:`~bss1.host.cocotb_link.CocotbConfigLink` and read back with
:func:`~bss1.host.configurator.verify_async` (synapse weights are not verified: the stub top's
synapse arrays read zeros). The configured RTL then routes background-generator events cycle for
cycle as the reference model configured with the same container through a
:class:`~bss1.host.hal_link.ModelLink`. Finally two registers are changed behind the host's back
and verification must name exactly those.

Environment: BSS1_TB_SEED (configuration seed), BSS1_TB_WINDOW (cycles compared after the BGs
are re-armed), BSS1_TB_OUT (result JSON).
"""

import json
import os

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from bss1.host import configurator as C
from bss1.host import hal
from bss1.host.cocotb_link import CocotbConfigLink
from bss1.models import coords
from bss1.models.hicann import HicannModel
from bss1.rtl.cocotb_util import ClockedTestbench, handle, load_names
from bss1.rtl.l1 import N_CHANNELS, N_HLINES, N_VLINES
from bss1.rtl.registers import HICANN_MAP

from hicann_scenarios import _events, _strobes

PERIOD_NS = 10
PERIOD = 100                # BG inter-spike interval of the route, cycles
DRAIN_CYCLES = 300          # BGs off: the merger tree and the lines run empty
PORTS = ("dnc_out", "hline", "vline", "strobes")


def _env_int(name, default):
    return int(os.environ.get(name, default))


async def start(dut):
    """Every input of the top except clock and reset tied off (readies high, the rest 0), so
    the bench does not depend on the top's event ports; clock started, reset applied."""
    for name, port in load_names()["ports"].items():
        if port["dir"] == "in" and name not in ("clk", "rst"):
            handle(dut, name).value = 1 if name.endswith("__ready") else 0
    tb = ClockedTestbench(dut, period_ns=PERIOD_NS)
    await tb.start()
    return tb


def routing_config(seed: int):
    """``random_hicann_config(seed)`` with the route of
    :func:`~bss1.host.configurator.routed_hicann_config` laid through it: its merger tree and
    BGs; its sending repeaters, crossbar switches, synapse-switch rows and drivers replace the
    random ones on the same lines, and random switches or repeaters that would also drive one of
    its VLines or driver lines are opened / idled. Everything else stays random. Returns ``(cfg,
    {HW channel: L1 address of its BG}, the route's driver lines)``."""
    cfg = C.random_hicann_config(seed)
    route, address = C.routed_hicann_config(period=PERIOD, rows_per_channel=2)
    cfg.merger_tree = route.merger_tree
    cfg.background_generators = route.background_generators
    hlines = {hline for hline, _ in route.crossbar}
    vlines = {v for (hline, side), row in route.crossbar.items()
              for v, on in zip(hal.crossbar_side_vlines(hline, side), row) if on}
    lines = {line for _, line in route.synapse_switches}
    for key, row in list(cfg.crossbar.items()):
        if key[0] in hlines or any(on and v in vlines for v, on in
                                   zip(hal.crossbar_side_vlines(*key), row)):
            del cfg.crossbar[key]
    for key, row in list(cfg.synapse_switches.items()):
        if key[1] in lines or any(on and v in vlines for v, on in
                                  zip(coords.synapse_switch_vlines(*key), row)):
            del cfg.synapse_switches[key]
    for v in vlines:
        cfg.repeaters[hal.VRepeaterOnHICANN(v)] = hal.RepeaterConfig()
    cfg.repeaters.update(route.repeaters)
    cfg.crossbar.update(route.crossbar)
    cfg.synapse_switches.update(route.synapse_switches)
    cfg.drivers.update(route.drivers)
    return cfg, address, sorted(lines)


def _bg_control(cfg):
    """The last bg_control write of the configuration (all enables as configured)."""
    key = hal.block_read("neuron_control", "bg_control")
    words = [w for w in hal.background_generator_writes(cfg.background_generators)
             if w[:2] == key]
    return key, words[-1][2]


def _sample(dut) -> dict:
    return {"dnc_out": _events(dut.dnc_out.value.to_unsigned(), N_CHANNELS),
            "hline": _events(dut.hline.value.to_unsigned(), N_HLINES),
            "vline": _events(dut.vline.value.to_unsigned(), N_VLINES),
            "strobes": _strobes(dut.strobes.value.to_unsigned())}


async def _record(dut, n: int, out: list):
    for _ in range(n):
        await RisingEdge(dut.clk)
        await ReadOnly()
        out.append(_sample(dut))


def _first_event(trace) -> int | None:
    return next((t for t, ports in enumerate(trace) if any(ports.values())), None)


def compare_routing(rtl: list, ref: list) -> dict:
    """Aligns the two traces at their first event (the RTL's re-arm write lands at a cycle the
    host does not know) and compares every port in every overlapping cycle."""
    t_rtl, t_ref = _first_event(rtl), _first_event(ref)
    stats = {"first_rtl": t_rtl, "first_model": t_ref, "compared_cycles": 0, "mismatches": 0,
             "first_mismatch": None, **{f"{p}_events": 0 for p in PORTS}}
    if t_rtl is None or t_ref is None:
        return stats
    shift = t_rtl - t_ref
    for t in range(t_ref, min(len(ref), len(rtl) - shift)):
        got, exp = rtl[t + shift], ref[t]
        for p in PORTS:
            stats[f"{p}_events"] += len(exp[p])
            if got[p] != exp[p]:
                stats["mismatches"] += 1
                if stats["first_mismatch"] is None:
                    stats["first_mismatch"] = {"cycle_after_first_event": t - t_ref, "port": p,
                                               "rtl": got[p], "model": exp[p]}
        stats["compared_cycles"] += 1
    return stats


def corruption(cfg) -> tuple[list, str]:
    """Two registers changed behind the host's back (the DNC phase and one driver-SRAM word of
    the bottom controller, read back through the two-access path) and the exact message the
    verification must raise."""
    nc = HICANN_MAP["neuron_control"]
    phase_addr = nc.address("phase")
    phase_hw = coords.rev_bits(cfg.phase, 8)        # the register holds the bits reversed
    ctl = HICANN_MAP["synapse_controller_bottom"]
    row = 37
    sram_addr = ctl.address("drv_config", row)
    sram_word = [d for t, a, d in C.stage_writes(cfg, "TIMING_UNCRITICAL")
                 if (t, a) == (ctl.tag, sram_addr)][-1]
    writes = [(nc.tag, phase_addr, phase_hw ^ 0x80), (ctl.tag, sram_addr, sram_word ^ 0x1)]
    message = ("2 register(s) differ after configuration:\n"
               f"neuron_control.phase (tag 0 address {phase_addr:#06x}): wrote "
               f"{phase_hw:#06x}, read {phase_hw ^ 0x80:#06x}\n"
               f"synapse_controller_bottom.drv_config[{row}] (tag 1 address {sram_addr:#06x}): "
               f"wrote {sram_word:#06x}, read {sram_word ^ 1:#06x}")
    return writes, message


@cocotb.test()
async def configure_and_verify(dut):
    """configure_async + verify_async of a random HICANNConfig on the RTL; routing against the
    model; corrupted registers reported by name."""
    tb = await start(dut)
    seed = _env_int("BSS1_TB_SEED", 5)
    window = _env_int("BSS1_TB_WINDOW", 600)
    cfg, address, lines = routing_config(seed)
    link = CocotbConfigLink(dut)
    seen = []
    n_writes = await C.configure_async(link, cfg,
                                       progress=lambda s, i, k: seen.append([s, i, k]))
    cycles_configure = int(dut.cycle.value)
    checked = await C.verify_async(link, cfg, synapses=False)
    cycles_verify = int(dut.cycle.value) - cycles_configure
    dut._log.info(f"seed {seed}: {n_writes} writes in {cycles_configure} cycles, {checked} "
                  f"registers read back in {cycles_verify} cycles")
    assert seen == [[s, i + 1, len(C.STAGES)] for i, s in enumerate(C.STAGES)], seen
    assert int(dut.bus_errors.value) == 0, f"{int(dut.bus_errors.value)} bus errors"

    # the reference model with the same container through the blocking link
    model = HicannModel()
    C.configure(hal.ModelLink(model), cfg)
    C.verify(hal.ModelLink(model), cfg, synapses=False)
    while model.drivers.writes_pending:         # the RTL's bus waited for these SRAM writes
        model.step()

    # re-arm all BGs at once in both (their counters start on enable), then compare the event
    # ports cycle for cycle
    key, enables = _bg_control(cfg)
    link.write(*key, 0)
    await link.flush()
    await tb.run_cycles(DRAIN_CYCLES)
    model.write(*key, 0)
    for _ in range(DRAIN_CYCLES):
        model.step()
    rtl = []
    recorder = cocotb.start_soon(_record(dut, window, rtl))
    link.write(*key, enables)
    await link.flush()
    await recorder
    await RisingEdge(dut.clk)                   # out of the recorder's read-only phase
    model.write(*key, enables)
    ref = [{p: r[p] for p in PORTS} for r in (model.step() for _ in range(window))]
    stats = compare_routing(rtl, ref)
    dut._log.info(f"routing: {stats}")
    assert stats["compared_cycles"] >= window // 2, stats
    assert stats["mismatches"] == 0, stats["first_mismatch"]
    assert stats["hline_events"] > 0 and stats["strobes_events"] > 0, stats
    # each BG's events on the sending HLine of its channel, nowhere else
    on_hlines = sorted({(y, a) for r in rtl for y, a in r["hline"].items()})
    assert on_hlines == sorted((coords.sending_hline(c), address[c]) for c in range(8)), \
        on_hlines
    # every driver of the route strobes (a random driver connected to a neighbour may too)
    strobed = sorted({line for r in rtl for line in r["strobes"]})
    assert set(lines) <= set(strobed), f"route drivers {lines}, strobing {strobed}"

    # registers changed behind the host's back
    writes, expected = corruption(cfg)
    link.writes(writes)
    await link.flush()
    message = None
    try:
        await C.verify_async(link, cfg, synapses=False)
    except C.ConfigurationMismatch as e:
        message = str(e)
    assert message == expected, f"verification reported {message!r}, expected {expected!r}"

    out = os.environ.get("BSS1_TB_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"stages": seen, "writes": n_writes, "checked": checked,
                       "cycles_configure": cycles_configure, "cycles_verify": cycles_verify,
                       "routing": stats, "corruption_message": message}, f, default=str)
