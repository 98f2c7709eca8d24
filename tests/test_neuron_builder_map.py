"""Compound neurons from the neuron builder SRAM (models/neuron_builder_map.py, spec
hicann-digital.md §7.1, analog-core.md §3.4): hand-built quads written with the host encoders
(NeuronQuad / denmem_quad_writes, nb_entry), the resulting components and firing denmems, the
AnalogCore configured from the SRAM against the explicit configure_neurons, bad configurations."""

import numpy as np
import pytest

from bss1.host.hal_neurons import Neuron, NeuronQuad, denmem_quad_writes
from bss1.host.merger_tree import nb_entry
from bss1.models.analog_core import AnalogCore, fire_line
from bss1.models.hicann import HicannModel
from bss1.models.neuron_builder_map import NO_FIRING, builder_words, neurons_from_builder
from bss1.models.neuron_control import NeuronControlModel
from bss1.models.transform import NeuronParameters, Scaling
from bss1.rtl.registers import HICANN_MAP, NB_ENTRY

NB = HICANN_MAP["neuron_builder"]
LIF = NeuronParameters({}, "IF_cond_exp").to_hardware(Scaling())


def d(x, y):
    """NeuronArray index of denmem (x, y)."""
    return 256 * y + x


def quad_writes(vertical=(), horizontal=(), fire_input=(), firing=()):
    """Bus writes of the quads touched: ``vertical`` columns, ``horizontal`` (quad, row) pairs,
    ``fire_input`` / ``firing`` denmems (x, y); a firing denmem also gets its SPL1 output."""
    quads = ({x // 2 for x in vertical} | {q for q, _ in horizontal}
             | {x // 2 for x, _ in fire_input} | {x // 2 for x, _ in firing})
    out = []
    for q in sorted(quads):
        neurons = [Neuron(address=(2 * q + x) % 64, activate_firing=(2 * q + x, y) in firing,
                          enable_spl1_output=(2 * q + x, y) in firing,
                          enable_fire_input=(2 * q + x, y) in fire_input)
                   for y in range(2) for x in range(2)]
        out += denmem_quad_writes(q, NeuronQuad(
            neurons, vertical=(2 * q in vertical, 2 * q + 1 in vertical),
            horizontal=((q, 0) in horizontal, (q, 1) in horizontal)))
    return out


def words_of(writes):
    words = np.zeros(512, np.int64)
    for tag, addr, word in writes:
        assert tag == NB.tag
        words[addr - NB.base] = word
    return words


def groups(nod, fir):
    """{frozenset of denmems: firing denmem} of the neurons with more than one denmem or a
    firing denmem."""
    out = {}
    for k in range(fir.size):
        members = frozenset(np.nonzero(nod == k)[0].tolist())
        if len(members) > 1 or fir[k] != NO_FIRING:
            out[members] = int(fir[k])
    return out


# -- golden cases ----------------------------------------------------------------------------------
def test_empty_sram_every_denmem_alone_and_silent():
    nod, fir = neurons_from_builder(np.zeros(512, np.int64))
    assert nod.tolist() == list(range(512))
    assert fir.tolist() == [NO_FIRING] * 512


def test_single_firing_denmems_left_right_top_bottom():
    nod, fir = neurons_from_builder(words_of(quad_writes(firing=[(4, 0), (5, 1), (255, 0)])))
    assert nod.tolist() == list(range(512))
    assert groups(nod, fir) == {frozenset({4}): 4, frozenset({d(5, 1)}): d(5, 1),
                                frozenset({255}): 255}


def test_2x2_rectangle_labels_follow_the_lowest_denmem():
    nod, fir = neurons_from_builder(words_of(quad_writes(
        vertical=[6, 7], horizontal=[(3, 0), (3, 1)], firing=[(6, 0)])))
    assert groups(nod, fir) == {frozenset({6, 7, d(6, 1), d(7, 1)}): 6}
    assert nod[[5, 6, 7, 8, 255, 256, 261, 262, 263, 264]].tolist() == \
        [5, 6, 6, 7, 254, 255, 260, 6, 6, 261]
    assert fir.size == 509 and fir[6] == 6


def test_1x4_top_row_across_two_quads():
    # quad 4 (columns 8, 9) and quad 5 (10, 11); (10, 0) takes fire input from the left
    nod, fir = neurons_from_builder(words_of(quad_writes(
        horizontal=[(4, 0), (5, 0)], fire_input=[(10, 0)], firing=[(11, 0)])))
    assert groups(nod, fir) == {frozenset({8, 9, 10, 11}): 11}
    assert len({nod[d(x, 1)] for x in range(8, 12)}) == 4          # bottom row stays apart


def test_2x4_eight_denmem_neuron_sthal_style():
    nod, fir = neurons_from_builder(words_of(quad_writes(
        vertical=[12, 13, 14, 15], horizontal=[(6, 0), (6, 1), (7, 0), (7, 1)],
        fire_input=[(14, 0)], firing=[(13, 1)])))
    assert groups(nod, fir) == {frozenset(d(x, y) for x in range(12, 16) for y in (0, 1)):
                                d(13, 1)}


def test_neighbouring_neurons_do_not_merge():
    nod, fir = neurons_from_builder(words_of(quad_writes(
        vertical=[16, 17, 18, 19], horizontal=[(8, 0), (8, 1), (9, 0), (9, 1)],
        firing=[(16, 0), (19, 1)])))
    assert groups(nod, fir) == {frozenset({16, 17, d(16, 1), d(17, 1)}): 16,
                                frozenset({18, 19, d(18, 1), d(19, 1)}): d(19, 1)}


def test_neuron_spanning_two_quads_linked_in_the_bottom_row_from_the_right():
    # columns 21 (right of quad 10) and 22 (left of quad 11); (21, 1) takes input from the right
    nod, fir = neurons_from_builder(words_of(quad_writes(
        vertical=[21, 22], fire_input=[(21, 1)], firing=[(22, 0)])))
    assert groups(nod, fir) == {frozenset({21, 22, d(21, 1), d(22, 1)}): 22}


def test_fields_outside_their_entries_are_no_switches():
    # vertical in a top entry, pair bytes in an entry other than 4q + 3: ignored (§7.1)
    pair = NB_ENTRY.decode(words_of(quad_writes(horizontal=[(3, 0)]))[15])["nmem_top"]
    assert pair != 0
    words = np.zeros(512, np.int64)
    for x, y, kw in ((7, 0, {"vertical": True}), (6, 0, {"nmem_top": pair}),
                     (6, 1, {"nmem_top": pair}), (7, 1, {"nmem_top": pair})):
        a, word = nb_entry(x, y, 0, fire=False, **kw)
        words[a] = word
    nod, fir = neurons_from_builder(words)
    assert nod.tolist() == list(range(512)) and (fir == NO_FIRING).all()
    words[15] = words_of(quad_writes(horizontal=[(3, 0)], firing=[(6, 0)]))[15]
    assert groups(*neurons_from_builder(words)) == {frozenset({6, 7}): 6}


def test_sources_hicann_model_neuron_control_model_and_words_agree():
    writes = quad_writes(vertical=[6, 7], horizontal=[(3, 0), (3, 1)], firing=[(7, 0)])
    model = HicannModel()
    model.writes(writes)
    nc = NeuronControlModel()
    for _, addr, word in writes:
        nc.write("neuron_builder", addr - NB.base, word)
    words = words_of(writes)
    assert (builder_words(model) == words).all() and (builder_words(nc) == words).all()
    ref = neurons_from_builder(words)
    for src in (model, nc, words.tolist()):
        nod, fir = neurons_from_builder(src)
        assert (nod == ref[0]).all() and (fir == ref[1]).all()


# -- the core configured from the SRAM = the explicit configuration --------------------------------
MIXED = dict(vertical=[6, 7, 12, 13, 14, 15, 21, 22],
             horizontal=[(3, 0), (3, 1), (4, 0), (5, 0), (6, 0), (6, 1), (7, 0), (7, 1)],
             fire_input=[(10, 0), (14, 0), (21, 1)],
             firing=[(6, 0), (11, 0), (13, 1), (22, 0), (40, 1)])
MIXED_GROUPS = {(6, 7, d(6, 1), d(7, 1)): 6, (8, 9, 10, 11): 11,
                tuple(d(x, y) for x in range(12, 16) for y in (0, 1)): d(13, 1),
                (21, 22, d(21, 1), d(22, 1)): 22, (d(40, 1),): d(40, 1)}
DRIVEN = {6: 2e-6, 9: 2e-6, d(15, 1): 3e-6, d(21, 1): 1.5e-6, d(40, 1): 1e-6, 41: 1e-6}


def explicit_structure(silent=NO_FIRING):
    """The MIXED structure by hand: its neurons first, then every other denmem alone (firing
    denmem ``silent``: none, or the denmem itself when ``silent`` is None)."""
    nod = np.full(512, -1)
    fir = []
    for k, (members, f) in enumerate(MIXED_GROUPS.items()):
        nod[list(members)] = k
        fir.append(f)
    for den in np.nonzero(nod < 0)[0]:
        nod[den] = len(fir)
        fir.append(int(den) if silent is None else silent)
    return nod, np.array(fir)


def driven_core(configure):
    core = AnalogCore(stdp=False)
    configure(core)
    core.neurons.set_hardware_parameters(LIF)
    for den, i in DRIVEN.items():
        core.neurons.set_hardware_parameters(LIF, [den], i_ext=i)
    return core, core.step(3000)


def test_core_from_model_fires_like_the_explicit_configuration():
    model = HicannModel()
    model.writes(quad_writes(**MIXED))
    assert groups(*neurons_from_builder(model)) == \
        {frozenset(k): v for k, v in MIXED_GROUPS.items()}
    _, from_model = driven_core(lambda c: c.configure_neurons_from_model(model))
    _, explicit = driven_core(lambda c: c.configure_neurons(*explicit_structure()))
    assert from_model.tobytes() == explicit.tobytes()
    lines = set(from_model["denmem"].tolist())
    assert lines == set(fire_line(list(MIXED_GROUPS.values())).tolist())
    # denmem 41 alone without activate_firing never fires; with its comparator on it would
    _, firing_41 = driven_core(lambda c: c.configure_neurons(*explicit_structure(None)))
    assert set(firing_41["denmem"].tolist()) == lines | {int(fire_line(41))}


def test_wafer_core_reconfigures_one_hicann_and_keeps_the_others():
    model = HicannModel()
    model.writes(quad_writes(**MIXED))
    core = AnalogCore(2, stdp=False)
    core.configure_neurons(size=4)
    core.configure_neurons_from_model(model, hicann=1)
    nod, fir = core.neurons.neuron_of_denmem, core.neurons.firing_denmem
    assert (nod[:512] == np.arange(512) % 256 // 2).all()           # HICANN 0: 2x2 as before
    assert fir[:128].tolist() == list(range(0, 256, 2))
    local, local_fir = neurons_from_builder(model)
    assert (nod[512:] == local + 128).all()
    assert (fir[128:][local_fir >= 0] == local_fir[local_fir >= 0] + 512).all()
    assert not core._can_fire[128:][local_fir < 0].any() and core._can_fire[:128].all()
    nod = np.r_[np.arange(512), 0, np.arange(512, 1023)]            # neuron 0: denmems 0, 512
    core.configure_neurons(nod, np.r_[np.arange(512), np.arange(513, 1024)])
    with pytest.raises(ValueError, match="^neuron 0 spans HICANN 1 and another HICANN; "
                                         "reconfigure it with configure_neurons$"):
        core.configure_neurons_from_model(model, hicann=1)


# -- bad configurations --------------------------------------------------------------------------
@pytest.mark.parametrize("cfg, message", [
    (dict(vertical=[6, 7], horizontal=[(3, 0), (3, 1)]),
     r"neuron of denmems \(6, 0\), \(7, 0\), \(6, 1\), \(7, 1\) has no firing denmem; "
     r"allowed: exactly one"),
    (dict(vertical=[6, 7], horizontal=[(3, 0), (3, 1)], firing=[(6, 0), (7, 1)]),
     r"neuron of denmems \(6, 0\), \(7, 0\), \(6, 1\), \(7, 1\) has 2 firing denmems "
     r"\(6, 0\), \(7, 1\); allowed: exactly one"),
    (dict(fire_input=[(9, 0), (10, 0)], firing=[(9, 0)]),
     r"fire-input link between denmems \(9, 0\) and \(10, 0\) is set in both directions; "
     r"allowed: one direction"),
    (dict(fire_input=[(32, 1)], firing=[(32, 1)]),
     r"fire-input link between denmems \(31, 1\) and \(32, 1\) crosses the boundary of neuron "
     r"blocks 0 and 1"),
    (dict(fire_input=[(0, 1)]),
     r"denmem \(0, 1\) takes fire input from the left, but column 0 has no left neighbour"),
    (dict(fire_input=[(255, 0)]),
     r"denmem \(255, 0\) takes fire input from the right, but column 255 has no right "
     r"neighbour"),
])
def test_bad_configurations(cfg, message):
    model = HicannModel()
    model.writes(quad_writes(**cfg))
    core = AnalogCore(stdp=False)
    before = core.neurons.neuron_of_denmem.copy()
    with pytest.raises(ValueError, match=f"^{message}$"):
        core.configure_neurons_from_model(model)
    assert (core.neurons.neuron_of_denmem == before).all()


@pytest.mark.parametrize("entries, message", [
    (np.zeros(511, np.int64), r"neuron builder entries must be 512 integers, got ndarray of "
                              r"shape \(511,\)"),
    (np.zeros(512), r"neuron builder entries must be 512 integers, got ndarray of shape "
                    r"\(512,\)"),
    (np.r_[np.zeros(7, np.int64), 1 << 25, np.zeros(504, np.int64)],
     "neuron builder entry 7 value 33554432 out of range 0..0x1ffffff"),
    (object(), r"neuron builder entries must be 512 integers, got object of shape \(\)"),
])
def test_bad_entries(entries, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        neurons_from_builder(entries)
    with pytest.raises(ValueError, match=f"^{message}$"):
        AnalogCore().configure_neurons_from_model(entries)


def test_bad_hicann():
    with pytest.raises(ValueError, match=r"^hicann 1 out of range 0\.\.0$"):
        AnalogCore().configure_neurons_from_model(np.zeros(512, np.int64), hicann=1)
