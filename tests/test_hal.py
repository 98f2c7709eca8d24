"""HALbe-like host API (bss1.host.hal): golden word encodings from the spec, set_/get_ round trips
through the reference model, command sequences of the synapse controller, bad input."""

import math
import random

import pytest

from bss1.host import hal
from bss1.host.hal import (BackgroundGenerator, Direction, GbitLink, GbitLinkDirection,
                           HRepeaterOnHICANN, MergerTree, ModelLink, Neuron, NeuronConfig,
                           NeuronQuad, RepeaterBlockConfig, RepeaterConfig, RepeaterMode,
                           SramTiming, SynapseControllerConfig, TestEvent, VRepeaterOnHICANN)
from bss1.models import coords
from bss1.models.hicann import HicannModel
from bss1.rtl.registers import (HICANN_MAP, NB_ENTRY, NB_INOUT_FLAGS, NB_PAIR, NB_PAIR_FIELDS,
                                SYNAPSE_CONTROLLER, nb_pair_entry)

from hicann_scenarios import SynapseArrayLink, random_driver
from bss1.host.configurator import _random_quad, random_merger_tree


class Recorder:
    """A link that records writes and answers reads with 0."""

    def __init__(self):
        self.ops = []

    def write(self, tag, addr, data):
        self.ops.append((tag, addr, data))

    def writes(self, writes):
        self.ops += list(writes)

    def read_many(self, reads):
        reads = list(reads)
        self.ops += reads
        return [0] * len(reads)


@pytest.fixture
def link():
    return ModelLink(HicannModel())


def addr(block, reg, index=0):
    inst = HICANN_MAP[block]
    return inst.tag, inst.address(reg, index)


# -- golden vectors -----------------------------------------------------------------------------
def test_gbitlink_word_0x10181():
    g = GbitLink.of({0: GbitLinkDirection.TO_DNC, 7: GbitLinkDirection.TO_HICANN},
                    timestamp_enable=True)
    assert hal.gbit_link_writes(g) == [(*addr("spl1_control", "gbitlink"), 0x10181)]
    rec = Recorder()
    hal.set_gbit_link(rec, g)
    assert rec.ops == [(*addr("spl1_control", "gbitlink"), 0x10181)]
    assert hal.spl1_reset_writes() == [(*addr("spl1_control", "gbitlink"), 0x80000000)]


def test_default_merger_tree_words(link):
    got = {HICANN_MAP.decode(t, a, True)[1].name: d
           for t, a, d in hal.merger_tree_writes(MergerTree.default())}
    assert (got["merger_enable"], got["merger_select"], got["merger_slow"]) == \
        (0x00FF, 0x5100, 0x0000)
    hal.set_merger_tree(link, MergerTree.default())
    assert hal.get_merger_tree(link) == MergerTree.default()


@pytest.mark.parametrize("line, cfg, block, address, byte", [
    (HRepeaterOnHICANN(62), RepeaterConfig(RepeaterMode.OUTPUT, Direction.INWARD),
     "repeater_center_left", 0, 0x50),
    (HRepeaterOnHICANN(0), RepeaterConfig(RepeaterMode.FORWARDING, Direction.INWARD),
     "repeater_center_left", 31, 0x10),
    (HRepeaterOnHICANN(63), RepeaterConfig(RepeaterMode.INPUT, Direction.INWARD),
     "repeater_center_right", 0, 0x90),
    (VRepeaterOnHICANN(127), RepeaterConfig(RepeaterMode.LOOPBACK),
     "repeater_top_left", 0, 0xC0),
    (VRepeaterOnHICANN(128), RepeaterConfig(RepeaterMode.OUTPUT, Direction.BOTH),
     "repeater_top_right", 0, 0x70),
    (VRepeaterOnHICANN(255), RepeaterConfig(RepeaterMode.FORWARDING, Direction.OUTWARD),
     "repeater_bottom_right", 0, 0x20),
])
def test_repeater_bytes(link, line, cfg, block, address, byte):
    assert hal.repeater_writes(line, cfg) == [(*addr(block, "repeater", address), byte)]
    hal.set_repeater(link, line, cfg)
    assert link.read_many([addr(block, "repeater", address)]) == [byte]
    assert hal.get_repeater(link, line) == cfg
    assert RepeaterConfig.from_byte(byte | 0x0F) == cfg      # crosstalk bits ignored


def test_synapse_controller_cnfg_defaults():
    assert SynapseControllerConfig().cnfg_word() == 0x0BC0FF00
    assert SynapseControllerConfig(dll_reset=False).cnfg_word() == 0x0BF0FF00
    # halbe pattern bits: pattern 0 on 7, 5, 3, 1 (cc, ca, ac, aa)
    assert SynapseControllerConfig(pattern0=0x8).cnfg_word() & 0xFF == 0x80
    assert SynapseControllerConfig(pattern1=0x1).cnfg_word() & 0xFF == 0x01


def test_default_lut_words():
    words = hal.lut_words(hal.STDPLUT())
    rev4 = [int(f"{i:04b}"[::-1], 2) for i in range(16)]
    order_low, order_high = (0, 8, 4, 12, 2, 10, 6, 14), (1, 9, 5, 13, 3, 11, 7, 15)
    for p, table in enumerate((lambda w: max(w - 1, 0), lambda w: min(w + 1, 15),
                               lambda w: w)):
        for k, order in enumerate((order_low, order_high)):
            expect = 0
            for n, w in enumerate(order):
                expect |= rev4[table(w)] << (28 - 4 * n)
            assert words[2 * p + k] == expect
    assert hal.lut_from_words(words) == hal.STDPLUT()


def test_weight_word_layout():
    w = [0] * 256
    w[0] = 1            # slice 0, set 0, j 0: value bit 0 at bit 31
    w[64 + 9] = 0b0011  # slice 1, set 1, j 1: bits 27..24 hold 0b1100
    assert hal.weight_word(w, 0, 0) == 0x80000000
    assert hal.weight_word(w, 1, 1) == 0x0C000000
    assert hal.weights_from_words([[hal.weight_word(w, i, s) for i in range(4)]
                                   for s in range(8)]) == tuple(w)


def test_decoder_storage_golden():
    def words(bottom, top):
        nb, nt = hal.decoder_words(bottom, top)
        return hal.weight_word(nb, 0, 0), hal.weight_word(nt, 0, 0)
    z = [0] * 256
    one = lambda v: [v] + [0] * 255         # noqa: E731
    # HW-top word: B3 T2 B2 T3 from bit 31 down; HW-bottom word: B1 T0 B0 T1
    assert words(one(0b1000), z) == (0, 0x80000000)
    assert words(one(0b0100), z) == (0, 0x20000000)
    assert words(z, one(0b0100)) == (0, 0x40000000)
    assert words(z, one(0b1000)) == (0, 0x10000000)
    assert words(one(0b0010), z) == (0x80000000, 0)
    assert words(one(0b0001), z) == (0x20000000, 0)
    assert words(z, one(0b0001)) == (0x40000000, 0)
    assert words(z, one(0b0010)) == (0x10000000, 0)


def test_weight_row_sequence_exact():
    cfg = SynapseControllerConfig()
    w = list(range(16)) * 16
    ops = hal.weights_row_writes(0, w, cfg)            # SynapseRowOnHICANN 0: top, HW row 223
    ctrl, cnfg = addr("synapse_controller_top", "ctrl"), addr("synapse_controller_top", "cnfg")
    per_set = 4 + 1 + math.ceil((cfg.write_delay + 4) / 2)
    assert len(ops) == 8 * per_set == 64
    for s in range(8):
        chunk = ops[s * per_set:(s + 1) * per_set]
        assert chunk[:4] == [(*addr("synapse_controller_top", "synin", i),
                              hal.weight_word(w, i, s)) for i in range(4)]
        assert chunk[4] == (*ctrl, 3 | 1 << 6 | 223 << 8 | s << 24)
        assert chunk[5:] == [(*cnfg, 0x0BC0FF00)] * 3
    q = hal.weights_row_query(447, cfg)                # bottom array, HW row 223
    c = addr("synapse_controller_bottom", "ctrl")
    assert q.ops[0] == (*c, 7 | 1 << 6 | 223 << 8)
    assert q.ops[1:18] == ((*addr("synapse_controller_bottom", "cnfg"), 0x0BC0FF00),) * 17
    assert q.ops[18] == (*c, 1 | 1 << 6 | 223 << 8)
    assert q.ops[28:32] == tuple(addr("synapse_controller_bottom", "synout", i)
                                 for i in range(4))
    assert q.ops[-3] == (*c, 9 | 1 << 6 | 223 << 8)
    assert q.n_reads == 32


def test_weights_and_decoders_through_the_command_sequences():
    rng = random.Random(5)
    arr = SynapseArrayLink(ModelLink(HicannModel()))
    rows = {r: tuple(rng.randrange(16) for _ in range(256)) for r in (0, 223, 224, 447, 100)}
    for r, w in rows.items():
        hal.set_weights_row(arr, r, w)
    decs = {L: tuple(tuple(rng.randrange(16) for _ in range(256)) for _ in range(2))
            for L in (0, 111, 112, 223)}
    for L, d in decs.items():
        hal.set_decoder_double_row(arr, L, d)
    for r, w in rows.items():
        assert hal.get_weights_row(arr, r) == w
    for L, d in decs.items():
        assert hal.get_decoder_double_row(arr, L) == d
    # decoder rows are written as a pair: both HW rows of the driver
    rb, rt, _, _ = coords.driver_hw_rows(111)
    assert {row for row, _ in arr.decoders["synapse_controller_top"]} >= {rb, rt}


# -- round trips through the reference model ------------------------------------------------------
def test_repeaters_round_trip_all(link):
    rng = random.Random(1)
    M, D = RepeaterMode, Direction
    choices = [RepeaterConfig(), RepeaterConfig(M.FORWARDING, D.INWARD),
               RepeaterConfig(M.FORWARDING, D.OUTWARD), RepeaterConfig(M.INPUT, D.OUTWARD),
               RepeaterConfig(M.OUTPUT, D.BOTH), RepeaterConfig(M.LOOPBACK)]
    cfgs = {c: rng.choice(choices) for c in [HRepeaterOnHICANN(y) for y in range(64)]
            + [VRepeaterOnHICANN(v) for v in range(256)]}
    link.writes([w for c, r in cfgs.items() for w in hal.repeater_writes(c, r)])
    got = hal.run_queries(link, [hal.repeater_query(c) for c in cfgs])
    assert dict(zip(cfgs, got)) == cfgs


def test_repeater_block_round_trip(link):
    pb = ((TestEvent(5, 50), TestEvent(63, 1023), TestEvent(0, 2)),
          (TestEvent(1, 3), TestEvent(2, 4), TestEvent(3, 5)))
    cfg = RepeaterBlockConfig(dll_reset=False, playback=pb, timing=SramTiming(10, 3, 4))
    writes = hal.repeater_block_writes("bottom_left", cfg)
    assert writes[-1] == (*addr("repeater_bottom_left", "config"), 0x30)
    a = HICANN_MAP["repeater_bottom_left"].address("testport", 1)
    # entry (63, 1023): low byte {time[1:0], address}, high byte time[9:2]
    assert (0, a, 0xFF) in writes and (0, a + 1, 0xFF) in writes
    hal.set_repeater_block(link, "bottom_left", cfg)
    back = hal.get_repeater_block(link, "bottom_left")
    assert back.timing == SramTiming(10, 3, 4)
    assert back.full == (False, False)
    assert back.captured == ((TestEvent(),) * 3,) * 2
    assert RepeaterBlockConfig().config_word() == 0x20


def test_switch_rows_round_trip(link):
    rng = random.Random(2)
    xb = {(h, s): tuple(rng.random() < 0.3 for _ in range(4))
          for h in range(64) for s in ("left", "right")}
    sw = {(s, L): tuple(rng.random() < 0.2 for _ in range(16))
          for s in ("left", "right") for L in range(224)}
    for (h, s), row in xb.items():
        hal.set_crossbar_switch_row(link, h, s, row)
    for (s, L), row in sw.items():
        hal.set_syndriver_switch_row(link, s, L, row)
    got = hal.run_queries(link, [hal.crossbar_row_query(h, s) for h, s in xb]
                          + [hal.syndriver_switch_row_query(s, L) for s, L in sw])
    assert got[:len(xb)] == list(xb.values())
    assert got[len(xb):] == list(sw.values())
    # halco vector: HLine 42 reaches VLines 10, 42, 74, 106 | 149, 181, 213, 245
    assert hal.crossbar_side_vlines(42, "left") == [10, 42, 74, 106]
    assert hal.crossbar_side_vlines(42, "right") == [149, 181, 213, 245]
    hal.set_crossbar_switch_row(link, 42, "right", (False, True, False, False))
    side, row, bit = coords.crossbar_switch(181, 42)
    assert link.read_many([addr("crossbar_right", "row", row)]) == [1 << bit]


def test_synapse_drivers_round_trip(link):
    rng = random.Random(3)
    cfgs = {L: random_driver(rng) for L in range(224)}
    for L, c in cfgs.items():
        hal.set_synapse_driver(link, L, c)
    got = hal.run_queries(link, [hal.synapse_driver_query(L) for L in cfgs])
    assert dict(zip(cfgs, got)) == cfgs


def test_synapse_controller_round_trip(link):
    rng = random.Random(4)
    for ctl in hal.CONTROLLERS:
        lut = hal.STDPLUT(*(tuple(rng.randrange(16) for _ in range(16)) for _ in range(3)))
        cfg = SynapseControllerConfig(pattern0=9, pattern1=6, enable_delay=3, setup_precharge=4,
                                      gen=0b1010, dll_reset=False, output_delay=7,
                                      write_delay=1, lut=lut, syn_rst=0xDEADBEEF,
                                      timing=SramTiming(12, 5, 6))
        hal.set_synapse_controller(link, ctl, cfg)
        assert hal.get_synapse_controller(link, ctl) == cfg


def test_event_sources_round_trip(link):
    rng = random.Random(6)
    tree = random_merger_tree(rng)
    hal.set_merger_tree(link, tree)
    assert hal.get_merger_tree(link) == tree
    hal.set_phase(link, 0b00000011)
    assert hal.get_phase(link) == 0b00000011
    assert link.read_many([addr("neuron_control", "phase")]) == [0b11000000]   # SW i -> HW 7-i
    bgs = tuple(BackgroundGenerator(i, enable=i % 3 == 0, random=i % 2 == 0, period=100 + i,
                                    address=i * 7, seed=1000 + i) for i in range(8))
    hal.set_background_generators(link, bgs)
    got = hal.get_background_generators(link)
    last_seed = [b.seed for b in bgs if b.enable][-1]          # the shared register
    assert got == tuple(BackgroundGenerator(b.index, b.enable, b.random, b.period, b.address,
                                            last_seed) for b in bgs)


def test_neuron_builder_round_trip(link):
    rng = random.Random(7)
    quads = {q: _random_quad(rng) for q in range(128)}
    for q, c in quads.items():
        hal.set_denmem_quad(link, q, c)
    assert hal.run_queries(link, [hal.denmem_quad_query(q) for q in quads]) == \
        list(quads.values())
    cfg = NeuronConfig(gl_slow_t=True, bigcap_b=False)
    hal.set_neuron_config(link, cfg)
    assert hal.get_neuron_config(link) == cfg
    hal.set_sram_timing(link, "neuron_builder", SramTiming(1, 2, 3))
    assert hal.get_sram_timing(link, "neuron_builder") == SramTiming(1, 2, 3)


def test_quad_encoding_golden():
    # top-left denmem of quad 3 -> entry 13, top-right -> 15, bottom-left -> 12, bottom-right 14
    quad = NeuronQuad((Neuron(5, activate_firing=True, enable_spl1_output=True,
                              enable_aout=True),
                       Neuron(6, enable_fire_input=True),
                       Neuron(7, enable_current_input=True, enable_aout=True),
                       Neuron(8, activate_firing=True, enable_spl1_output=True)),
                      vertical=(False, True), horizontal=(True, False))
    ws = {a - HICANN_MAP["neuron_builder"].base: NB_ENTRY.decode(d)
          for _, a, d in hal.denmem_quad_writes(3, quad)}
    assert sorted(ws) == [12, 13, 14, 15]
    assert coords.rev_bits(ws[13]["spl1_rev"], 6) == 5 and ws[13]["firet"] == 1
    assert ws[14]["fireb"] == 1 and ws[14]["vertical"] == 1 and ws[12]["vertical"] == 0
    # top pair: aout_left -> code 2, horizontal b3, firing left b4, fire input right b6
    assert ws[15]["nmem_top"] == 2 | 1 << 3 | 1 << 4 | 1 << 6
    # bottom pair: aout_left + currentin_left = 0b1010 -> code 6, firing right b7
    assert ws[15]["nmem_bot"] == 6 | 1 << 7
    # the same bytes through the declared pair layout
    top, bot = (NB_PAIR.decode(ws[nb_pair_entry(3)][n]) for n in NB_PAIR_FIELDS)
    assert top == {"inout": 2, "horizontal": 1, "firing_left": 1, "input_left": 0,
                   "input_right": 1, "firing_right": 0}
    assert bot == {"inout": 6, "horizontal": 0, "firing_left": 0, "input_left": 0,
                   "input_right": 0, "firing_right": 1}
    assert NB_INOUT_FLAGS.decode(hal.INOUT_CODES[bot["inout"]]) == {
        "aout_right": 0, "aout_left": 1, "currentin_right": 0, "currentin_left": 1}


def test_pair_byte_fits_its_entry_fields():
    for name in NB_PAIR_FIELDS:
        assert NB_ENTRY.field(name).width == NB_PAIR.width
    assert len(hal.INOUT_CODES) == 1 << NB_PAIR.field("inout").width
    assert max(hal.INOUT_CODES) < 1 << NB_INOUT_FLAGS.width


# -- bad input ------------------------------------------------------------------------------------
def test_bad_coordinates_and_values():
    with pytest.raises(ValueError, match=r"^HRepeaterOnHICANN 64 out of range 0\.\.63$"):
        HRepeaterOnHICANN(64)
    with pytest.raises(ValueError, match=r"^VRepeaterOnHICANN -1 out of range 0\.\.255$"):
        VRepeaterOnHICANN(-1)
    with pytest.raises(ValueError, match=r"^repeater mode FORWARDING needs direction INWARD or "
                                         r"OUTWARD, got <Direction\.BOTH: 'both'>$"):
        RepeaterConfig(RepeaterMode.FORWARDING, Direction.BOTH)
    with pytest.raises(ValueError, match=r"^repeater byte 0x40 is no repeater mode \(IDLE, "
                                         r"FORWARDING, INPUT, OUTPUT, LOOPBACK with their "
                                         r"directions\)$"):
        RepeaterConfig.from_byte(0x40)
    with pytest.raises(ValueError, match=r"^HLine 64 out of range 0\.\.63$"):
        hal.crossbar_row_writes(64, "left", (0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"^side 'up' not 'left' or 'right'$"):
        hal.crossbar_row_writes(3, "up", (0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"^synapse switch row \(1, 0\) needs 16 bools$"):
        hal.syndriver_switch_row_writes("left", 3, (1, 0))
    with pytest.raises(ValueError, match=r"^SynapseRowOnHICANN 448 out of range 0\.\.447$"):
        hal.weights_row_writes(448, [0] * 256)
    with pytest.raises(ValueError, match=r"^phase 256 out of range 0\.\.255$"):
        hal.phase_writes(256)
    with pytest.raises(ValueError, match=r"^QuadOnHICANN 128 out of range 0\.\.127$"):
        hal.denmem_quad_writes(128, NeuronQuad())
    with pytest.raises(ValueError, match=r"^quad row 0: aout/current-input combination 0b1111 "
                                         r"\(aout_right b0, aout_left b1, currentin_right b2, "
                                         r"currentin_left b3\) is not one of the legal inout "
                                         r"codes \['0b0', '0b1', '0b10', '0b11', '0b100', "
                                         r"'0b101', '0b1010', '0b1000'\]$"):
        full = Neuron(enable_aout=True, enable_current_input=True)
        NeuronQuad((full, full, Neuron(), Neuron()))
    with pytest.raises(ValueError, match=r"^CNFG write_delay 4 out of range 0\.\.3$"):
        SynapseControllerConfig(write_delay=4)
    with pytest.raises(ValueError, match=r"^SRAM setup_precharge 16 out of range 0\.\.15$"):
        SramTiming(setup_precharge=16)
    with pytest.raises(ValueError, match=r"^block 'crossbar_left' has no SRAM timing; blocks: "):
        hal.sram_timing_writes("crossbar_left", SramTiming())
    with pytest.raises(ValueError, match=r"^background generator array needs 8 "
                                         r"BackgroundGenerators, got 7 items$"):
        hal.background_generator_writes([BackgroundGenerator(i) for i in range(7)])
    with pytest.raises(ValueError, match=r"^repeater block 'middle' not one of top_left, "
                                         r"top_right, center_left, center_right, bottom_left, "
                                         r"bottom_right$"):
        hal.repeater_block_writes("middle", RepeaterBlockConfig())


def test_nothing_half_applied():
    rec = Recorder()
    bad = [1] * 255 + [16]
    with pytest.raises(ValueError, match=r"^weights\[255\] 16 out of range 0\.\.15$"):
        hal.set_weights_row(rec, 3, bad)
    with pytest.raises(ValueError, match=r"^decoders\[1\]\[0\] -1 out of range 0\.\.15$"):
        hal.set_decoder_double_row(rec, 3, ([0] * 256, [-1] + [0] * 255))
    with pytest.raises(ValueError, match=r"^STDP LUT combined\[15\] 16 out of range 0\.\.15$"):
        hal.set_synapse_controller(rec, "synapse_controller_top", SynapseControllerConfig(
            lut=hal.STDPLUT(combined=tuple(range(1, 17)))))
    assert rec.ops == []


def test_link_errors():
    link = ModelLink(HicannModel())
    with pytest.raises(hal.LinkError, match=r"^tag 0 address 0xf801 \(spl1_control\): bus error "
                                            r"on write$"):
        link.write(0, 0xF801, 1)
    with pytest.raises(ValueError, match=r"^op \(1,\) is neither a write \(tag, addr, data\) "
                                         r"nor a read \(tag, addr\)$"):
        hal.transact(link, [(1,)])


def test_transact_orders_mixed_ops():
    link = ModelLink(HicannModel())
    a = addr("neuron_control", "phase")
    assert hal.transact(link, [(*a, 1), a, (*a, 2), a, a]) == [1, 2, 2]
    assert SYNAPSE_CONTROLLER.reg("ctrl").address() == 0x4000
