"""Stimulus generators, the lock-step scoreboard and fault pumping for hicann_tb.py.

Plain Python except :func:`lockstep` and :func:`pump_with_faults`, which are cocotb coroutines.
"""

import random

from bss1.host.cocotb_link import cocotb_arq_transact
from bss1.host.configurator import random_merger_tree, random_synapse_driver
from bss1.host.l1_config import (Direction, RepeaterMode, crossbar_row_write,
                                 repeater_block_config_write, repeater_write,
                                 synapse_switch_row_write)
from bss1.host.merger_tree import BackgroundGenerator, bg_writes, nb_entry, neuron_config_word
from bss1.host.scenarios import driver_writes
from bss1.models import coords
from bss1.rtl.l1 import (N_CHANNELS, N_DENMEMS, N_DRIVERS, N_HLINES, N_VLINES, L1Event,
                         Strobe)
from bss1.rtl.cocotb_util import pack, unpack
from bss1.rtl.dnc_interface import L2Pulse
from bss1.rtl.registers import DRIVER_SRAMS, HICANN_MAP
from bss1.rtl.stub_analog import FireCommand

# Blocks with gateware, and registers that are not plain storage (their read is something else).
# SPL1 control has none: its GbitLink register is write-only and its reads are loss counters.
_IMPLEMENTED = ("crossbar_left", "crossbar_right", "synapse_switch_top_left",
                "synapse_switch_top_right", "synapse_switch_bottom_left",
                "synapse_switch_bottom_right", "repeater_top_left", "repeater_top_right",
                "repeater_center_left", "repeater_center_right", "repeater_bottom_left",
                "repeater_bottom_right", "neuron_control", "neuron_builder",
                "synapse_controller_top", "synapse_controller_bottom", "spl1_control",
                "dnc_if")
_NOT_STORAGE = {"testport", "config", "status", "synout", "syncorr"}
_TWO_ACCESS = set(DRIVER_SRAMS)


def random_register_writes(rng: random.Random, fraction: float = 1.0, min_per_block: int = 4):
    """``(tag, addr, value)`` for a random subset (``fraction``, at least ``min_per_block`` per
    block) of all storage registers of every block with gateware."""
    out = []
    for name in _IMPLEMENTED:
        inst = HICANN_MAP[name]
        elements = [(reg, i) for reg in inst.type.registers
                    if reg.name not in _NOT_STORAGE and reg.readable and reg.writable
                    for i in range(reg.count)]
        k = max(min_per_block, round(fraction * len(elements)))
        for reg, i in rng.sample(elements, min(k, len(elements))):
            value = rng.randrange(1 << reg.width)
            if name.startswith("synapse_controller") and reg.name.startswith("timing"):
                value &= 0x37           # short SRAM timings keep the two-access reads quick
            if name == "neuron_control" and reg.name == "dnc_loopback_select":
                value &= ~0xAA          # never both channels of a loopback pair
            out.append((inst.tag, inst.address(reg.name, i), value))
    rng.shuffle(out)
    return out


def two_access(tag: int, addr: int) -> bool:
    inst, reg, _ = HICANN_MAP.decode(tag, addr, False)
    return reg.name in _TWO_ACCESS


def expected_readback(model, tag: int, addr: int) -> int:
    """The value the chip returns for (tag, addr) after all writes (the model as oracle)."""
    if two_access(tag, addr):
        model.read(tag, addr)
        for _ in range(64):
            model.drivers.step({})
    return model.read(tag, addr)


random_driver = random_synapse_driver


def random_routing(rng: random.Random, *, bgs: bool = False):
    """A random but meaningful event-routing configuration: merger tree, DNC mergers (with
    loopbacks), sending repeaters, crossbar switches, synapse switch rows, synapse drivers, neuron
    builder, and (``bgs``) background generators. BGs start counting when their enable write
    lands, a cycle the testbench does not control, so lock-step comparisons leave them off and
    drive events through fire commands and the L2 input instead (the BGs are compared with their
    model event for event in tests/test_background.py)."""
    w = []
    for block in coords.REPEATER_BLOCKS:
        w.append(repeater_block_config_write(block, drvresetb=1, dllresetb=1))
    nb = HICANN_MAP["neuron_builder"]
    w.append((nb.tag, nb.address("neuron_config"), neuron_config_word()))
    # neuron builder: addresses and fire enables of a random half of the denmems
    for n in range(N_DENMEMS):
        x, y = coords.nb_address_neuron(n)
        a, word = nb_entry(x, y, rng.randrange(64), fire=rng.random() < 0.5)
        w.append((nb.tag, nb.base + a, word))
    # merger tree and DNC mergers
    tree = random_merger_tree(rng)
    nc = HICANN_MAP["neuron_control"]
    w += [(nc.tag, nc.base + a, v) for a, v in tree.writes()]
    bg_list = [BackgroundGenerator(i, enable=bgs and rng.random() < 0.8, random=rng.random() < 0.3,
                               period=rng.randrange(20, 400) if rng.random() < 0.7
                               else rng.randrange(60000, 65000),
                               address=rng.randrange(64), seed=rng.randrange(1, 1 << 16))
           for i in range(8)]
    w += [(nc.tag, nc.base + a, v) for a, v in bg_writes(bg_list)]
    # sending repeaters onto their HLines; each HLine to one random crossbar VLine
    vlines = []
    for c in range(N_CHANNELS):
        y = coords.sending_hline(c)
        w.append(repeater_write(("h", y), RepeaterMode.OUTPUT,
                                rng.choice([Direction.INWARD, Direction.BOTH])))
        v = rng.choice(coords.crossbar_vlines(y))
        vlines.append(v)
        w += crossbar_row_write(y, [v])
    # synapse switch rows: for each used VLine, a few of its rows
    used_rows = {}
    for v in vlines:
        side = "left" if v < 128 else "right"
        rows = [L for L in range(N_DRIVERS) if coords.synapse_switch_exists(v, side, L)]
        for L in rng.sample(rows, 4):
            if (side, L) not in used_rows:
                used_rows[(side, L)] = v
    for (side, L), v in used_rows.items():
        w.append(synapse_switch_row_write(side, L, [v]))
    # synapse drivers: random settings on every line
    for L in range(N_DRIVERS):
        w += driver_writes(L, random_driver(rng))
    return w


def random_gbitlink(rng: random.Random, timestamp_enable: bool):
    """``(tag, addr, value)`` of a random GbitLink configuration (§8.2): two random HW channels
    TO_DNC, two TO_HICANN, each other one OFF, TO_DNC or TO_HICANN."""
    inst = HICANN_MAP["spl1_control"]
    reg = inst.type.reg("gbitlink")
    channels = list(range(N_CHANNELS))
    rng.shuffle(channels)
    enable = direction = 0
    for i, c in enumerate(channels):
        mode = "dnc" if i < 2 else "hicann" if i < 4 else rng.choice(("off", "dnc", "hicann"))
        enable |= (mode != "off") << c
        direction |= (mode == "hicann") << c
    value = reg.encode(enable=enable, direction=direction, timestamp_enable=int(timestamp_enable))
    return inst.tag, inst.address("gbitlink"), value


def random_l2_pulse(rng: random.Random, systime: int):
    """A random ``l2_in`` pulse ``(channel, addr, timestamp)`` around ``systime``: mostly due
    within the release window, some late (expired) and some more than 1023 ticks ahead."""
    r = rng.random()
    lead = rng.randrange(-40, 0) if r < 0.1 else rng.randrange(1024, 1500) if r < 0.15 \
        else rng.randrange(0, 400)
    return rng.randrange(N_CHANNELS), rng.randrange(64), (systime + lead) % (1 << 15)


def _field(layout, name):
    f = layout[name]
    return f.offset, (1 << f.width) - 1


# bit positions come from the port layouts (rtl/l1.py), not typed here
_EV_SIZE = L1Event.size
_EV_VALID, _ = _field(L1Event, "valid")
_EV_ADDR, _EV_ADDR_MASK = _field(L1Event, "addr")
_ST_SIZE = Strobe.size
_ST_STROBE, _ST_STROBE_MASK = _field(Strobe, "strobe")
_ST_ADDR, _ST_ADDR_MASK = _field(Strobe, "addr")


def _events(value: int, n: int) -> dict:
    """Unpack an ``l1_array(n)`` vector into ``{line: addr}`` of the valid events."""
    out = {}
    if not value:
        return out
    for i in range(n):
        e = value >> (_EV_SIZE * i)
        if e >> _EV_VALID & 1:
            out[i] = e >> _EV_ADDR & _EV_ADDR_MASK
    return out


def _strobes(value: int) -> dict:
    """Unpack the strobe vector into ``{driver line: (strobe4, addr4)}`` of active drivers."""
    out = {}
    if not value:
        return out
    for L in range(N_DRIVERS):
        s = value >> (_ST_SIZE * L)
        strobe = s >> _ST_STROBE & _ST_STROBE_MASK
        if strobe:
            out[L] = (strobe, s >> _ST_ADDR & _ST_ADDR_MASK)
    return out


async def lockstep(dut, model, rng: random.Random, cycles: int, *, start_cycle: int,
                   fire_rate: float = 0.05, l2_rate: float = 0.1, ready_rate: float = 0.8,
                   systime_reset: bool = True, fire: bool = True) -> dict:
    """Run ``cycles`` cycles comparing every port with the model. Fire commands go through the
    stub's stamped command queue; the fire lines the stub raises are fed to the model. Random
    pulses go into ``l2_in`` (rate ``l2_rate``) and ``l2_out`` is taken with ``ready_rate``;
    ``systime_reset`` clears the system time in the first cycle (RTL and model start their
    counters at different cycles). ``fire`` = False: no fire commands and no L2 input."""
    from cocotb.triggers import ReadOnly, RisingEdge
    stats = {"cycles": 0, "mismatches": 0, "first_mismatch": None, "dnc_out_events": 0,
             "l2_in": 0, "l2_out_events": 0, "hline_events": 0, "vline_events": 0,
             "strobe_events": 0, "fires": 0}
    cycle = start_cycle
    next_stamp = cycle + 8
    pending_cmd = None
    for i in range(cycles):
        # drive inputs of this cycle
        reset = systime_reset and i == 0
        pulse = random_l2_pulse(rng, model.dnc.systime) \
            if fire and rng.random() < l2_rate else None
        ready = rng.random() < ready_rate
        dut.l2_in__valid.value = int(pulse is not None)
        if pulse is not None:
            c, a, t = pulse
            dut.l2_in__payload.value = pack(L2Pulse, {"channel": c, "addr": a, "timestamp": t})
        dut.l2_out__ready.value = int(ready)
        dut.systime_reset.value = int(reset)
        if fire and pending_cmd is None and rng.random() < fire_rate * 4:
            next_stamp = max(next_stamp, cycle + 4) + rng.randrange(0, 8)
            pending_cmd = pack(FireCommand, {"stamp": next_stamp,
                                             "denmem": rng.randrange(N_DENMEMS)})
        dut.fire_cmd__valid.value = int(pending_cmd is not None)
        if pending_cmd is not None:
            dut.fire_cmd__payload.value = pending_cmd
        await ReadOnly()
        if pending_cmd is not None and int(dut.fire_cmd__ready.value):
            pending_cmd = None
        fire_v = dut.fire.value.to_unsigned()
        fired = [n for n in range(N_DENMEMS) if fire_v >> n & 1] if fire_v else []
        l2_out = None
        if int(dut.l2_out__valid.value):
            f = unpack(L2Pulse, dut.l2_out__payload.value.to_unsigned())
            l2_out = (f["channel"], f["addr"], f["timestamp"])
        got = {
            "dnc_out": _events(dut.dnc_out.value.to_unsigned(), N_CHANNELS),
            "l2_out": l2_out,
            "systime": dut.systime.value.to_unsigned(),
            "hline": _events(dut.hline.value.to_unsigned(), N_HLINES),
            "vline": _events(dut.vline.value.to_unsigned(), N_VLINES),
            "strobes": _strobes(dut.strobes.value.to_unsigned()),
        }
        ref = model.step(fired, pulse, l2_out_ready=ready, systime_reset=reset)
        if reset:               # the two counters differ until the reset at the end of cycle 0
            del got["systime"]
        for key, val in got.items():
            if val != ref[key]:
                stats["mismatches"] += 1
                if stats["first_mismatch"] is None:
                    stats["first_mismatch"] = {"cycle": cycle, "port": key, "rtl": val,
                                               "model": ref[key]}
        stats["fires"] += len(fired)
        stats["l2_in"] += pulse is not None
        stats["l2_out_events"] += l2_out is not None and ready
        stats["dnc_out_events"] += len(got["dnc_out"])
        stats["hline_events"] += len(got["hline"])
        stats["vline_events"] += len(got["vline"])
        stats["strobe_events"] += len(got["strobes"])
        stats["cycles"] += 1
        cycle += 1
        await RisingEdge(dut.clk)
    dut.fire_cmd__valid.value = 0
    dut.l2_in__valid.value = 0
    dut.systime_reset.value = 0
    dut.l2_out__ready.value = 1
    return stats


async def pump_with_faults(dut, host, to_chip, to_host):
    return await cocotb_arq_transact(dut, host, to_chip=to_chip, to_host=to_host)


class SynapseArrayLink:
    """A link wrapping another link that also plays the synapse arrays (spec §5.4, §6.3): CTRL
    WRITE / WDEC store SYNIN[0..3] into column set ``sel`` of ``row``; START_READ / START_RDEC
    open a row, READ / RDEC load SYNOUT, CLOSE_ROW closes it. An independent reading of the
    command semantics, used as the scoreboard of the host's weight and decoder sequences while
    the chip model has no command sequencer. Records every op in ``ops``."""

    def __init__(self, inner=None):
        from bss1.host.hal_synapses import CONTROLLERS
        self.inner = inner
        self.ops = []
        self.weights = {c: {} for c in CONTROLLERS}     # (row, sel) -> 4 words
        self.decoders = {c: {} for c in CONTROLLERS}
        self.synin = {c: [0] * 4 for c in CONTROLLERS}
        self.synout = {c: [0] * 4 for c in CONTROLLERS}
        self.open = {c: None for c in CONTROLLERS}

    def _where(self, tag, addr, write):
        inst, reg, idx = HICANN_MAP.decode(tag, addr, write)
        return inst.name, reg.name, idx

    def write(self, tag, addr, data):
        self.ops.append((tag, addr, data))
        ctl, reg, idx = self._where(tag, addr, True)
        if reg == "synin":
            self.synin[ctl][idx] = data
        elif reg == "ctrl":
            f = HICANN_MAP[ctl].type.reg("ctrl").decode(data)
            assert f["newcmd"] == 1
            cmd, row, sel = f["cmd"], f["row"], f["sel"]
            if cmd in (3, 5):
                (self.weights if cmd == 3 else self.decoders)[ctl][(row, sel)] = \
                    list(self.synin[ctl])
            elif cmd in (7, 2):
                self.open[ctl] = (row, cmd)
            elif cmd in (1, 6):
                orow, ocmd = self.open[ctl]
                assert (ocmd, cmd) in ((7, 1), (2, 6)), "READ/RDEC without matching START"
                store = self.weights if cmd == 1 else self.decoders
                self.synout[ctl] = list(store[ctl].get((orow, sel), [0] * 4))
            elif cmd == 9:
                self.open[ctl] = None
        if self.inner is not None:
            self.inner.write(tag, addr, data)

    def writes(self, writes):
        for w in writes:
            self.write(*w)

    def read_many(self, reads):
        out = []
        for tag, addr in reads:
            self.ops.append((tag, addr))
            ctl, reg, idx = self._where(tag, addr, False)
            if reg == "synout":
                out.append(self.synout[ctl][idx])
            else:
                out.append(self.inner.read_many([(tag, addr)])[0] if self.inner else 0)
        return out
