"""The closed analog loop used by tests/test_analog_bridge.py and tests/cocotb/analog_bridge_tb.py:
a deterministic test double of the analog core, the chip configuration, and the reference run of
:class:`~bss1.models.hicann.HicannModel` with the same double.

Loop: background generator (SW BG ``BG``) -> its DNC merger -> sending repeater -> HLine ->
crossbar -> VLine -> synapse-switch rows -> 4 synapse drivers (decoders match the BG address) ->
strobes -> the double fires denmem ``fire_target(driver)`` ``DELAY`` cycles later -> priority
encoder of the BG's neuron block -> the same level-0 merger -> DNC merger -> sending repeater ->
HLine. Denmem events carry an address whose 2 MSBs match no decoder, so they strobe nothing.
"""

import numpy as np

from bss1.host.l1_config import (Direction, RepeaterMode, crossbar_row_write,
                                 repeater_block_config_write, repeater_write,
                                 synapse_switch_row_write)
from bss1.host.merger_tree import (BackgroundGenerator, DNCMerger, MergerConfig, MergerMode,
                                   MergerTree, bg_period_for_isi, bg_writes, nb_entry,
                                   neuron_config_word)
from bss1.host.scenarios import driver_writes, local_writes
from bss1.host.synapse_driver import RowConfig, SynapseDriverConfig
from bss1.models import coords
from bss1.models.analog_adapter import FIRE_DTYPE, STROBE_DTYPE
from bss1.rtl.registers import HICANN_MAP

BG = 2                       # SW background generator (HW 5)
CHANNEL = coords.sw_to_hw8(BG)
BG_ADDRESS = 0x15            # MSBs 1 = the drivers' row decoders
DENMEM_ADDRESS_MSB = 3       # denmem events: decoded by no driver
DELAY = 12
N_ROUTE_DRIVERS = 4


class DelayedFireDouble:
    """Analog-core test double: every strobe record of driver L in cycle c fires denmem
    ``fire_target(L)`` in cycle c + ``delay``. Keeps its own clock (``cycle``) and checks that the
    strobes it gets lie in the cycles it steps. ``log`` / ``fired_log``: what it saw and did."""

    def __init__(self, delay: int = DELAY, base: int = 64 * BG, cycle: int = 0):
        self.delay = delay
        self.base = base
        self.cycle = cycle
        self.log = []
        self.fired_log = []

    def fire_target(self, driver: int) -> int:
        return self.base + (int(driver) + 17 * (int(driver) >> 4)) % 64

    def step(self, n_cycles, strobes):
        strobes = np.asarray(strobes, STROBE_DTYPE)
        lo, hi = self.cycle, self.cycle + n_cycles
        if len(strobes) and not ((strobes["cycle"] >= lo).all() and (strobes["cycle"] < hi).all()):
            raise AssertionError(f"strobes {strobes} outside the stepped cycles {lo}..{hi - 1}")
        self.cycle = hi
        fired = np.zeros(len(strobes), FIRE_DTYPE)
        fired["cycle"] = strobes["cycle"] + self.delay
        fired["denmem"] = [self.fire_target(d) for d in strobes["driver"]]
        self.log += [tuple(int(x) for x in s) for s in strobes]
        self.fired_log += [tuple(int(x) for x in f) for f in fired]
        return fired


def route_drivers():
    """The VLine of the BG's channel and the driver lines it reaches (local switch rows)."""
    y = coords.sending_hline(CHANNEL)
    v = coords.crossbar_vlines(y)[1]
    side = "left" if v < 128 else "right"
    lines = [L for L in range(224) if coords.synapse_switch_exists(v, side, L)
             and coords.synapse_switch_target(side, L)[0] == "local"][:N_ROUTE_DRIVERS]
    return y, v, side, lines


def routed_writes(row: RowConfig, neurons) -> tuple[list, list[int]]:
    """The route without the BG: DNC mergers passing the tree, drivers released, the BG
    channel's sending repeater, one crossbar switch, the local switch rows to the route's
    drivers (both rows ``row``), and a neuron-builder entry ``(x, y, L1 address)`` with firing
    on per neuron of ``neurons``. Returns the writes and the driver lines."""
    tree = MergerTree.one_on_one()
    for d in range(8):
        tree[DNCMerger(d)] = MergerConfig(MergerMode.RIGHT_ONLY, slow=True)
    nb = HICANN_MAP["neuron_builder"]
    out = [(nb.tag, nb.address("neuron_config"), neuron_config_word())]
    for block in coords.REPEATER_BLOCKS:
        out.append(repeater_block_config_write(block, drvresetb=1, dllresetb=1))
    out += local_writes("neuron_control", tree.writes())
    y, v, side, lines = route_drivers()
    out.append(repeater_write(("h", y), RepeaterMode.OUTPUT, Direction.INWARD))
    out += crossbar_row_write(y, [v])
    for L in lines:
        out.append(synapse_switch_row_write(side, L, [v]))
        out += driver_writes(L, SynapseDriverConfig(enable=1, locin=1, rows=(row, row)))
    for x, yy, address in neurons:
        a, word = nb_entry(x, yy, address, fire=True)
        out.append((nb.tag, nb.base + a, word))
    return out, lines


def base_writes():
    """Everything except the background generator."""
    msb = BG_ADDRESS >> 4
    double = DelayedFireDouble()
    neurons = []
    for n in sorted({double.fire_target(L) for L in route_drivers()[3]}):
        x, y = coords.nb_address_neuron(n)
        neurons.append((x, y, (DENMEM_ADDRESS_MSB << 4) | (n % 16)))
    return routed_writes(RowConfig(syn_in=(1, 0), decoder=(msb, msb)), neurons)[0]


def bg_enable_writes(isi: int = 200):
    """The BG last: its enable write starts the event stream."""
    bgs = [BackgroundGenerator(BG, period=bg_period_for_isi(isi), address=BG_ADDRESS)]
    return local_writes("neuron_control", bg_writes(bgs))


def events(value: int, layout_size: int, n: int, valid_off: int, addr_off: int, addr_mask: int):
    out = []
    for i in range(n):
        e = value >> (layout_size * i)
        if e >> valid_off & 1:
            out.append((i, e >> addr_off & addr_mask))
    return out


def model_run(cycles: int, isi: int = 200, hop_latency: int = 1):
    """The reference: HicannModel with the same configuration and a double, cycle by cycle.
    Cycle 0 = the first cycle after the BG enable write. Returns event lists keyed like
    :func:`rtl_event_lists`."""
    from bss1.models.hicann import HicannModel
    model = HicannModel(hop_latency=hop_latency)
    model.writes(base_writes())
    while model.drivers.writes_pending:
        model.step()
    model.writes(bg_enable_writes(isi))
    double = DelayedFireDouble(cycle=0)
    schedule = {}
    ev = {"dnc_out": [], "hline": [], "strobes": [], "fire": []}
    for c in range(cycles):
        fire = sorted(schedule.pop(c, ()))
        out = model.step(fire)
        strobes = sorted(out["strobes"].items())
        arr = np.array([(c, L, s, a) for L, (s, a) in strobes], STROBE_DTYPE)
        for t, d in double.step(1, arr):
            schedule.setdefault(int(t), set()).add(int(d))
        ev["dnc_out"] += [(c, ch, a) for ch, a in sorted(out["dnc_out"].items())]
        ev["hline"] += [(c, y, a) for y, a in sorted(out["hline"].items())]
        ev["strobes"] += [(c, L, s, a) for L, (s, a) in strobes]
        ev["fire"] += [(c, n) for n in fire]
    return ev


def shift(ev: dict, offset: int, lo: int, hi: int) -> dict:
    """Event lists with cycles shifted by ``-offset``, keeping shifted cycles in [lo, hi)."""
    return {k: [(e[0] - offset,) + tuple(e[1:]) for e in v if lo <= e[0] - offset < hi]
            for k, v in ev.items()}


def check_against_model(rtl: dict, double: DelayedFireDouble, start: int, end: int) -> dict:
    """Assert that the RTL's event lists (``dnc_out``, ``hline``, ``fire`` as (cycle, ...) in RTL
    cycles; the strobes are the RTL double's log) equal the model's on [start, end), aligned on
    the first event leaving the chip (the first BG event). Returns event counts."""
    rtl = dict(rtl, strobes=list(double.log))
    rtl = {k: [e for e in v if start <= e[0] < end] for k, v in rtl.items()}
    assert rtl["dnc_out"], "no event left the chip"
    assert rtl["dnc_out"][0][2] == BG_ADDRESS, rtl["dnc_out"][0]
    ref = model_run(end - start + 400)
    assert ref["dnc_out"][0][2] == BG_ADDRESS, ref["dnc_out"][0]
    offset = rtl["dnc_out"][0][0] - ref["dnc_out"][0][0]
    ref = shift(ref, -offset, start, end)
    for key in ("dnc_out", "hline", "strobes", "fire"):
        assert rtl[key] == ref[key], (key, rtl[key][:12], ref[key][:12])
    # the loop closed: every routed driver strobed, each fired its denmem, whose events (address
    # MSBs DENMEM_ADDRESS_MSB) left the chip
    lines = route_drivers()[3]
    assert sorted({e[1] for e in rtl["strobes"]}) == lines
    assert sorted({n for _, n in rtl["fire"]}) == sorted({double.fire_target(L) for L in lines})
    assert rtl["fire"] == sorted({(c, n) for c, n in double.fired_log if start <= c < end})
    denmem_events = [e for e in rtl["dnc_out"] if e[2] >> 4 == DENMEM_ADDRESS_MSB]
    assert len(denmem_events) >= len(lines), denmem_events
    return {k: len(v) for k, v in rtl.items()}
