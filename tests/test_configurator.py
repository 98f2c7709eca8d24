"""Staged HICANN configurator: a full random configuration over UDP through the emulated FPGA
with read-back verification, a register corrupted behind the host's back, and the configured
chip model routing events as configured (host-stack §3.4, hicann-digital §9.5)."""

import asyncio
import contextlib
import types

import pytest

from bss1.firmware.fpga_emulator import FpgaEmulator, HostHicannLink
from bss1.host import configurator as C
from bss1.host import hal
from bss1.host.hal import HRepeaterOnHICANN
from bss1.host.hostarq import ArqParams
from bss1.host.hostarq_udp import HostArqClient
from bss1.host.scenarios import routed_traffic
from bss1.models import coords
from bss1.models.hicann import HicannModel
from bss1.rtl.registers import HICANN_MAP

from hicann_scenarios import SynapseArrayLink

CLIENT = ArqParams(rto_max_s=3e-3)
FPGA = ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6)


@contextlib.contextmanager
def udp_hicann():
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(FpgaEmulator(params=FPGA, n_hicanns=1))
        client = stack.enter_context(
            HostArqClient("127.0.0.1", emu.data_port, emu.reset_port, params=CLIENT))
        client.connect()
        yield emu, hal.UdpLink(HostHicannLink(client, n_hicanns=1, read_timeout=10.0), 0)


def test_random_configuration_over_udp_verifies_and_detects_corruption():
    cfg = C.random_hicann_config(11)
    seen = []
    with udp_hicann() as (emu, link):
        n = C.configure(link, cfg, progress=lambda s, i, k: seen.append((s, i, k)))
        checked = C.verify(link, cfg, synapses=False)
        assert seen == [(s, i + 1, 5) for i, s in enumerate(C.STAGES)]
        assert n > 5000 and checked > 2500
        assert emu.status()["chip_bus_errors"] == [0]
        # the chip holds what the HAL reads back, container by container
        got = hal.run_queries(link, [hal.merger_tree_query(), hal.neuron_config_query(),
                                     hal.synapse_driver_query(17), hal.denmem_quad_query(5),
                                     hal.repeater_query(HRepeaterOnHICANN(6))])
        assert got == [cfg.merger_tree, cfg.neuron_config, cfg.drivers[17], cfg.quads[5],
                       cfg.repeaters[HRepeaterOnHICANN(6)]]
        # corrupt two registers behind the host's back
        model = emu.hicanns[0]
        nc = HICANN_MAP["neuron_control"]
        phase_hw = coords.rev_bits(cfg.phase, 8)
        model.write(nc.tag, nc.address("phase"), phase_hw ^ 0x01)
        xb = HICANN_MAP["crossbar_left"]
        old = link.read_many([(xb.tag, xb.address("row", 7))])[0]
        model.write(xb.tag, xb.address("row", 7), old ^ 0x4)
        with pytest.raises(C.ConfigurationMismatch, match=(
                r"^2 register\(s\) differ after configuration:\n"
                rf"crossbar_left\.row\[7\] \(tag 0 address 0x0007\): wrote {old:#03x}, read "
                rf"{old ^ 4:#03x}\n"
                rf"neuron_control\.phase \(tag 0 address 0x4005\): wrote {phase_hw:#06x}, read "
                rf"{phase_hw ^ 1:#06x}$")) as e:
            C.verify(link, cfg, synapses=False)
        assert [m[0].split(" ")[0] for m in e.value.mismatches] == \
            ["crossbar_left.row[7]", "neuron_control.phase"]


def test_configured_chip_routes_events_as_the_scenario():
    cfg, address = C.routed_hicann_config()
    _, routes = routed_traffic()                     # the same routing as plain writes
    expected = {L: address[c] for c, lines in routes.items() for L in lines}
    with udp_hicann() as (emu, link):
        C.configure(link, cfg)
        C.verify(link, cfg, synapses=False)
        model = emu.hicanns[0]
        arrived: dict[int, set] = {}
        for _ in range(1200):
            for L, a in model.step()["drv_in"].items():
                arrived.setdefault(L, set()).add(a)
    assert {L: a for L, s in arrived.items() for a in s} == expected
    assert all(len(s) == 1 for s in arrived.values())
    assert len(expected) == 32


def test_synapse_array_in_the_configuration():
    cfg = C.random_hicann_config(3, synapses=True)
    model = HicannModel()
    arr = SynapseArrayLink(_ModelWithL2(model))
    C.configure(arr, cfg)
    C.verify(arr, cfg)
    # weights are written with the controllers' DLLs held in reset, CNFG released at the end
    ctl = HICANN_MAP["synapse_controller_top"]
    cnfg = [d for t, a, *d in arr.ops if len(d) == 1 and (t, a) == (ctl.tag,
                                                                    ctl.address("cnfg"))]
    held = cfg.synapse_controllers["synapse_controller_top"]
    assert cnfg[-1] == [held.cnfg_word()]
    # a weight changed behind the host's back is reported
    row = sorted(cfg.weights)[0]
    c, hw = hal.synapse_row_location(row)
    words = arr.weights[c][(hw, 0)]
    words[0] ^= 0x80000000
    with pytest.raises(C.ConfigurationMismatch, match=rf"^1 register\(s\) differ after "
                                                     rf"configuration:\nweights of "
                                                     rf"SynapseRowOnHICANN {row}: wrote "
                                                     rf"configured values, read 1 differing, "
                                                     rf"first at index 0$"):
        C.verify(arr, cfg)


def test_synapse_array_sequences_do_not_change_the_expected_registers():
    """verify() computes the expected register words without encoding the weight and decoder
    row sequences again: those only add SYNIN / CTRL writes and CNFG writes of the word the
    stage has already written to that controller."""
    for seed in (3, 4):
        for kw in ({"synapses": True}, {"all_synapses": True}):
            cfg = C.random_hicann_config(seed, **kw)
            for stage in C.STAGES:
                full = C.stage_writes(cfg, stage)
                short = C._stage_writes(cfg, stage, synapse_array=False)
                assert C.expected_registers(full) == C.expected_registers(short)
                if stage == "TIMING_UNCRITICAL":
                    assert len(full) > len(short) + 64 * len(cfg.weights)


class _ModelWithL2(hal.ModelLink):
    """ModelLink that keeps the write-only SPL1 word itself (the plain chip model has no
    layer-2 block; the emulated FPGA's chip does)."""

    def __init__(self, model):
        super().__init__(model)
        self.spl1 = []

    def _bus(self, tag, addr, write, data):
        inst = HICANN_MAP["spl1_control"]
        if write and tag == inst.tag and addr == inst.address("gbitlink"):
            self.spl1.append(data)
            return 0
        return super()._bus(tag, addr, write, data)


def test_bad_configurations():
    cfg = C.HICANNConfig()
    cfg.crossbar[(3, "left")] = (True, True, False, False)
    with pytest.raises(ValueError, match=r"^HICANN config fails its checks: crossbar HLine 3 "
                                         r"left: 2 switches closed$"):
        C.configure(hal.ModelLink(HicannModel()), cfg)
    with pytest.raises(ValueError, match=r"^stage 'LATE' not one of INIT, TIMING_UNCRITICAL, "
                                         r"LOCKING_REPEATER_BLOCKS, LOCKING_SYNAPSE_DRIVERS, "
                                         r"NEURONS$"):
        C.configure(hal.ModelLink(HicannModel()), C.HICANNConfig(), stages=("INIT", "LATE"))
    bad = C.HICANNConfig()
    bad.drivers[3] = "l1"
    arr = SynapseArrayLink()
    with pytest.raises(ValueError, match=r"^synapse driver config 'l1' is not a "
                                         r"SynapseDriverConfig$"):
        C.configure(arr, bad)
    assert arr.ops == []            # everything is encoded before the first write


class _AsyncModelLink:
    """The interface of :class:`bss1.host.cocotb_link.CocotbConfigLink` (queued writes and read
    handles, ``await flush()``) over a chip model; records the ops of each flush."""

    def __init__(self, model):
        self.link = _ModelWithL2(model)
        self.queue = []
        self.flushed = []

    def write(self, tag, addr, data):
        self.queue.append((tag, addr, data))

    def writes(self, writes):
        self.queue.extend(writes)

    def read(self, tag, addr):
        handle = types.SimpleNamespace(data=None)
        self.queue.append((tag, addr, handle))
        return handle

    async def flush(self):
        for op in self.queue:
            if isinstance(op[2], types.SimpleNamespace):
                op[2].data = self.link.read_many([op[:2]])[0]
            else:
                self.link.write(*op)
        self.flushed.append([op[:2] if isinstance(op[2], types.SimpleNamespace) else op
                             for op in self.queue])
        self.queue = []


class _Recording(_ModelWithL2):
    def __init__(self, model):
        super().__init__(model)
        self.ops = []

    def _bus(self, tag, addr, write, data):
        self.ops.append((tag, addr, data) if write else (tag, addr))
        return super()._bus(tag, addr, write, data)


def test_async_configurator_is_the_blocking_one_over_another_transport():
    cfg = C.random_hicann_config(7)
    sync = _Recording(HicannModel())
    n = C.configure(sync, cfg)
    n_checked = C.verify(sync, cfg, synapses=False)
    alink = _AsyncModelLink(HicannModel())
    seen = []
    assert asyncio.run(C.configure_async(alink, cfg, progress=lambda *a: seen.append(a))) == n
    writing = [f for f in alink.flushed if any(len(op) == 3 for op in f)]
    assert [len(f) for f in writing] == [len(C.stage_writes(cfg, s)) for s in C.STAGES]
    # the other flushes poll the synapse controllers' STATUS until the driver SRAMs are written
    status = {(HICANN_MAP[c].tag, HICANN_MAP[c].address("status"))
              for c in ("synapse_controller_top", "synapse_controller_bottom")}
    polls = [op for f in alink.flushed if f not in writing for op in f]
    assert polls and set(polls) <= status
    assert seen == [(s, i + 1, 5) for i, s in enumerate(C.STAGES)]
    assert asyncio.run(C.verify_async(alink, cfg, synapses=False)) == n_checked
    assert [op for f in alink.flushed for op in f] == sync.ops     # the same ops, in order
    # the same mismatch report from both
    xb = HICANN_MAP["crossbar_right"]
    old = sync.model.read(xb.tag, xb.address("row", 40))
    for model in (sync.model, alink.link.model):
        model.write(xb.tag, xb.address("row", 40), old ^ 0x1)
    with pytest.raises(C.ConfigurationMismatch) as blocking:
        C.verify(sync, cfg, synapses=False)
    with pytest.raises(C.ConfigurationMismatch) as asynchronous:
        asyncio.run(C.verify_async(alink, cfg, synapses=False))
    assert str(asynchronous.value) == str(blocking.value)
    assert str(blocking.value) == ("1 register(s) differ after configuration:\n"
                                   "crossbar_right.row[40] (tag 0 address 0xd428): "
                                   f"wrote {old:#03x}, read {old ^ 1:#03x}")


def test_configure_returns_after_the_driver_srams_are_written():
    """The synapse controllers write their driver SRAMs one by one after the bus accesses;
    configure() polls STATUS.syndrv_busy before it goes on, so the drivers are set when it
    returns (on a link where chip time passes with each access)."""
    model = HicannModel()
    cfg = C.random_hicann_config(11)
    C.configure(hal.ModelLink(model), cfg)
    assert not model.drivers.writes_pending
    frozen = HicannModel()            # no chip time between accesses: the writes stay queued
    C.configure(hal.ModelLink(frozen, cycles_per_access=0), cfg)
    assert frozen.drivers.writes_pending
