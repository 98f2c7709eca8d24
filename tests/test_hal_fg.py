"""Floating gates and synapse weights through the host stack over UDP: the HALbe-like FG API
(bss1.host.hal_fg), configuration-phase chip time in the emulated FPGA
(bss1.firmware.config_time), the host's wait, and the configurator's FG stage and synapse array
verified against the chip model (host-stack §2.5, §3.2, §3.4; hicann-digital §6.6, §10)."""

import contextlib

import numpy as np
import pytest

from bss1.firmware.config_time import ACCESS_CYCLES, ConfigPhaseClock
from bss1.firmware.fpga_emulator import FpgaEmulator, HostHicannLink
from bss1.host import configurator as C
from bss1.host import hal
from bss1.host.floating_gates import FGConfig, Wait, program_block
from bss1.host.hal_fg import FGBlockConfig
from bss1.host.hostarq import ArqParams
from bss1.host.hostarq_udp import HostArqClient
from bss1.models import fg_layout as L
from bss1.models.fg_controller import max_programming_time
from bss1.models.hicann import HicannModel
from bss1.rtl.registers import HICANN_MAP

CLIENT = ArqParams(rto_max_s=3e-3)
FPGA = ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6)
FAST = FGConfig(maxcycle=0, readtime=0, acceleratorstep=0, voltagewritetime=1,
                currentwritetime=1, pulselength=0)
FAST_PASSES = ((FAST, "down"), (FAST, "up"))
ROW_CYCLES = max_programming_time(FAST.op_word, FAST.bias_word, 0)      # 520 at these settings


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@contextlib.contextmanager
def udp(**emu_kw):
    sleep = emu_kw.pop("sleep", None)
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(FpgaEmulator(params=FPGA, n_hicanns=1, **emu_kw))
        client = stack.enter_context(
            HostArqClient("127.0.0.1", emu.data_port, emu.reset_port, params=CLIENT))
        client.connect()
        kw = {} if sleep is None else {"sleep": sleep}
        host = HostHicannLink(client, n_hicanns=1, read_timeout=10.0, **kw)
        yield emu, host, hal.UdpLink(host, 0)


def random_block(seed):
    rng = np.random.default_rng(seed)
    return FGBlockConfig.from_array(rng.integers(0, 1024, size=(24, 129)))


# -- containers and bad input -------------------------------------------------------------------
def test_block_config_from_names_and_bad_input():
    blocks = hal.fg_blocks_from_parameters([{"E_l": 420}] + [{}] * 511, [{}, {"V_reset": 250},
                                                                        {}, {}])
    assert set(blocks) == {0, 1, 2, 3}
    x, y = L.denmem_xy(0)
    b, col = L.denmem_cell(x, y)
    assert blocks[b].values[L.neuron_row("E_l", b)][col] == 420
    assert blocks[1].values[L.shared_row("V_reset", 1)][0] == 250
    assert blocks[2] == FGBlockConfig.default(2)
    assert blocks[3].array().shape == (24, 129)
    with pytest.raises(ValueError, match=r"^FG block needs 24 rows, got 23$"):
        FGBlockConfig(np.zeros((23, 129), int))
    with pytest.raises(ValueError, match=r"^FG row 4 needs 129 values, got 128$"):
        FGBlockConfig([[0] * 129] * 4 + [[0] * 128] + [[0] * 129] * 19)
    bad = np.zeros((24, 129), int)
    bad[3, 7] = 1024
    with pytest.raises(ValueError, match=r"^FG value of column 7 1024 out of range 0\.\.1023$"):
        FGBlockConfig.from_array(bad)
    with pytest.raises(ValueError, match=r"^FG block 4 out of range 0\.\.3$"):
        hal.fg_program_ops({4: random_block(0)})
    with pytest.raises(ValueError, match=r"^FG block 1 config 'x' is not an FGBlockConfig$"):
        hal.fg_program_ops({1: "x"})
    with pytest.raises(ValueError, match=r"^chip_time_scale 0 must be a number > 0$"):
        ConfigPhaseClock(100, chip_time_scale=0)


def test_blocks_programmed_in_parallel_row_by_row():
    blocks = {0: random_block(1), 3: random_block(2)}
    ops = hal.fg_program_ops(blocks, FAST_PASSES)
    waits = [op for op in ops if isinstance(op, Wait)]
    assert len(waits) == 2 * 24                       # one wait per row step for both blocks
    # the same ops as the two blocks' own sequences, only interleaved
    own = program_block(0, blocks[0].values, FAST_PASSES) + \
        program_block(3, blocks[3].values, FAST_PASSES)
    assert sorted(o for o in ops if not isinstance(o, Wait)) == \
        sorted(o for o in own if not isinstance(o, Wait))


def test_model_link_programs_and_reads_back():
    model = HicannModel()
    link = hal.ModelLink(model)
    cfg = random_block(5)
    assert hal.set_fg_values(link, 2, cfg, FAST_PASSES) == []
    model.idle(ACCESS_CYCLES)         # the last cell lands one cycle after busy clears
    assert np.array_equal(model.fg_storage.values[2], cfg.array())
    assert not model.fg_storage.values[[0, 1, 3]].any()
    got = hal.get_fg_block(link, 2)
    assert got == hal.expected_fg_readback(2, cfg, FAST_PASSES)
    assert got.ram == (cfg.values[22], cfg.values[23]) and got.config == FAST
    assert model.idle_cycles >= 2 * 24 * ROW_CYCLES


# -- configuration-phase time in the emulated FPGA -------------------------------------------------
def test_phase_clock_converts_wall_time():
    clock = FakeClock()
    pc = ConfigPhaseClock(100, clock=clock, chip_time_scale=2.0)

    class Bus:
        def __init__(self):
            self.model = HicannModel()
    buses = [Bus(), Bus()]
    clock.now += 1e-6
    assert pc.elapse(buses) == 200                      # 1 us x 100 MHz x 2
    clock.now -= 5e-6                                   # a clock stepping back: no time
    assert pc.elapse(buses) == 0
    clock.now += 5e-6 + 0.5e-8                          # fractions are carried
    assert pc.elapse(buses) == 1 and pc.elapse(buses) == 0
    clock.now += 0.5e-8
    assert pc.elapse(buses) == 1
    assert [b.model.idle_cycles for b in buses] == [202, 202]
    assert [b.model.drivers.cycle for b in buses] == [202, 202]
    clock.now += 1.0
    pc.restart()
    assert pc.elapse(buses) == 0


def test_host_wait_is_chip_time_over_udp_deterministic():
    """Host sleeps move a fake wall clock the emulator reads: each row's single poll finds the
    pass over, and the chip saw exactly the waited time plus 2 cycles per access."""
    clock = FakeClock()
    with udp(clock=clock, sleep=clock.sleep) as (emu, host, link):
        cfg = random_block(7)
        ops = hal.fg_program_ops({1: cfg}, FAST_PASSES)
        polls = hal.run_fg_ops(link, ops)
        assert polls == 2 * 24                           # never found busy
        waited = sum(op.pll_cycles for op in ops if isinstance(op, Wait))
        assert host.waited_s == pytest.approx(waited / 100e6)
        assert abs(emu.chip_time.idle_cycles - waited) <= 1
        model = emu.hicanns[0]
        accesses = emu.hicann_writes + emu.hicann_reads
        assert abs(model.idle_cycles - waited - ACCESS_CYCLES * accesses) <= 1
        assert np.array_equal(model.fg_storage.values[1], cfg.array())
        assert hal.get_fg_block(link, 1) == hal.expected_fg_readback(1, cfg, FAST_PASSES)


def test_without_host_wait_polls_see_busy_and_time_stops_in_experiments():
    clock = FakeClock()
    with udp(clock=clock, sleep=lambda s: None) as (emu, host, link):
        ops = hal.fg_program_ops({0: random_block(8)}, FAST_PASSES[1:])
        polls = hal.run_fg_ops(link, ops)
        assert polls > 24 * 10           # only the 2 cycles per access moved the chip
        assert emu.chip_time.idle_cycles == 0
        model = emu.hicanns[0]
        emu.experiment_running = True    # an experiment clocks the chip itself
        before = model.idle_cycles
        clock.now += 1.0
        link.read_many([hal.block_read("fg_top_left", "slave")])
        assert model.idle_cycles == before and emu.chip_time.idle_cycles == 0
        emu.experiment_running = False
        clock.now += 1e-3                 # the second spent in the experiment is not counted
        link.read_many([hal.block_read("fg_top_left", "slave")])
        assert emu.chip_time.idle_cycles == 100_000


def test_host_wait_bad_input():
    with udp() as (_, host, link):
        with pytest.raises(ValueError, match=r"^cycle count -1 must be an int >= 0$"):
            link.wait(-1)
    with pytest.raises(ValueError, match=r"^PLL frequency 50 MHz out of range 100\.\.250$"):
        HostHicannLink(None, pll_mhz=50)


# -- the configurator over UDP, real wall clock --------------------------------------------------
def test_configurator_fg_and_synapses_over_udp():
    cfg = C.random_hicann_config(4, synapses=True, floating_gates=True)
    cfg.fg_passes = FAST_PASSES
    with udp() as (emu, host, link):
        C.configure(link, cfg)
        n = C.verify(link, cfg)
        assert n > 2800
        model = emu.hicanns[0]
        assert emu.status()["chip_bus_errors"] == [0]
        assert np.array_equal(model.fg_storage.values,
                              np.stack([cfg.floating_gates[b].array() for b in range(4)]))
        assert host.waited_s == pytest.approx(2 * 24 * ROW_CYCLES / 100e6)
        # the synapse array holds the weights (through the controllers' command sequencers)
        row = sorted(cfg.weights)[0]
        assert hal.get_weights_row(link, row, cfg.synapse_controllers[
            hal.synapse_row_location(row)[0]]) == cfg.weights[row]
        # corrupt one FG RAM word and one synapse behind the host's back
        inst = HICANN_MAP["fg_bottom_left"]
        model.write(inst.tag, inst.address("ram1", 3), 0)
        half, on_array = ("top", row) if row < 224 else ("bottom", row - 224)
        w, _ = model.synapse_array.synapse(half, on_array, 100)
        model.synapse_array.set_synapse(half, on_array, 100, weight=(w + 1) % 16)
        with pytest.raises(C.ConfigurationMismatch, match=(
                r"^2 register\(s\) differ after configuration:\nfloating-gate block 2 RAM bank "
                r"1: wrote configured values, read 2 differing, first at column 6\n"
                rf"weights of SynapseRowOnHICANN {row}: wrote configured values, read 1 "
                r"differing, first at index 100$")):
            C.verify(link, cfg)


def test_fg_stage_position_and_check_before_writing():
    cfg = C.HICANNConfig()
    cfg.floating_gates[0] = random_block(3)
    cfg.fg_passes = FAST_PASSES
    seen = []

    class Rec(hal.ModelLink):
        def _bus(self, tag, addr, write, data):
            seen.append(HICANN_MAP.decode(tag, addr, write)[0].name)
            return super()._bus(tag, addr, write, data)
    stages = []
    C.configure(Rec(HicannModel()), cfg, stages=("INIT", "TIMING_UNCRITICAL"),
                progress=lambda s, i, k: stages.append((s, len(seen))))
    first_fg = seen.index("fg_top_left")
    assert stages[1][1] == first_fg                    # FG first in TIMING_UNCRITICAL
    assert "fg_top_left" not in seen[:first_fg]
    bad = C.HICANNConfig()
    bad.floating_gates[1] = [[0] * 129] * 24
    rec = Rec(HicannModel())
    seen.clear()
    with pytest.raises(ValueError, match=r"^FG block 1 config \[\[0, .*\]\] is not an "
                                         r"FGBlockConfig$"):
        C.configure(rec, bad)
    assert seen == []


def test_transaction_is_pipelined_over_udp():
    """Writes and reads alternating in one transaction go out in one frame, in order."""
    from bss1.firmware.formats import PacketType
    xb = HICANN_MAP["crossbar_left"]
    ops = []
    for i in range(5):
        ops += [(xb.tag, xb.address("row", i), i + 1), (xb.tag, xb.address("row", i)),
                (xb.tag, xb.address("row", i), 0), (xb.tag, xb.address("row", i))]
    with udp() as (emu, host, link):
        before = emu.packets[PacketType.HICANNCONFIG]
        assert hal.transact(link, ops) == [v for i in range(5) for v in (i + 1, 0)]
        assert emu.packets[PacketType.HICANNCONFIG] - before == 1
