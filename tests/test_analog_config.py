"""The analog core configured from a HicannModel's digital configuration
(models/analog_config.py, AnalogCore.configure_from_model) and the analog-output / current
stimulus HAL (host/hal_neurons.py): hicann-digital §7.1, §10; analog-core §3.5, §3.6, §4, §10.

The chip is configured only through host encoders and register writes; the goldens are the
transformation of the programmed DAC codes (models.transform), the FG controller twin's own
stimulus output stepped cycle by cycle, and direct NeuronArray runs."""

import copy

import numpy as np
import pytest

from bss1.host.floating_gates import FGConfig, execute, program_block
from bss1.host.hal_link import ModelLink
from bss1.host.hal_neurons import (AnalogOutput, FGStimulus, Neuron, NeuronConfig, NeuronQuad,
                                   analog_writes, current_stimulus_writes, get_analog,
                                   membrane_source, set_analog, set_current_stimulus,
                                   set_denmem_quad, set_neuron_config)
from bss1.models import fg_layout
from bss1.models.analog_config import controller_stimulus
from bss1.models.analog_core import AnalogCore
from bss1.models.hicann import HicannModel
from bss1.models.membrane_readout import Adc
from bss1.models.neuron import CurrentStimulus, NeuronArray
from bss1.models.transform import CALIBRATION, FGValues, HardwareParameters
from bss1.rtl.registers import HICANN_MAP

FAST = FGConfig(maxcycle=0, readtime=0, acceleratorstep=0, voltagewritetime=1,
                currentwritetime=1, pulselength=0)
NB = HICANN_MAP["neuron_builder"]
A = 4                   # denmem (4, 0): current input, aout, on output 0
B = 256 + 7             # denmem (7, 1): aout, on output 1, no current input
STIM0 = [20 + k for k in range(129)]            # distinct codes: entries are recognisable
STIM3 = [500] * 129


class Link(ModelLink):
    """Host link to a HicannModel; host waits become configuration-phase time."""

    def wait(self, cycles):
        self.model.idle(cycles)


def fg_codes():
    """Per-denmem and shared DAC codes (halbe defaults, some varied per denmem / block)."""
    neurons = []
    for d in range(512):
        v = {n: p.default for n, p in fg_layout.NEURON_PARAMETERS.items()}
        v["I_gl"] = 150 + 40 * (d % 7)
        v["E_l"] = 280 + 10 * (d % 5)
        v["V_t"] = 700
        neurons.append(v)
    shared = []
    for b in range(4):
        v = {n: p.default for n, p in fg_layout.SHARED_PARAMETERS.items()}
        v["V_reset"] = 270 + 10 * b
        shared.append(v)
    return neurons, shared


def configured_model(idle_after=123):
    model = HicannModel()
    link = Link(model)
    neurons, shared = fg_codes()
    values = fg_layout.pack(neurons, shared)
    for block in range(4):
        execute(link, program_block(block, values[block], passes=((FAST, "up"),)))
    # quad 0: one neuron of 4 denmems, firing top-left
    set_denmem_quad(link, 0, NeuronQuad(
        (Neuron(1, activate_firing=True), Neuron(), Neuron(), Neuron()),
        vertical=(True, True), horizontal=(True, False)))
    # quad 2: denmem (4, 0) with current input and aout
    set_denmem_quad(link, 2, NeuronQuad(
        (Neuron(5, activate_firing=True, enable_current_input=True, enable_aout=True),
         Neuron(), Neuron(), Neuron())))
    # quad 3: denmem (7, 1) with aout only
    set_denmem_quad(link, 3, NeuronQuad(
        (Neuron(), Neuron(), Neuron(), Neuron(enable_aout=True))))
    set_neuron_config(link, NeuronConfig(gl_fast_t=True, bigcap_b=False, gl_slow_b=True))
    set_analog(link, (AnalogOutput(membrane_source(4, 0), True),
                      AnalogOutput(membrane_source(7, 1), True)))
    set_current_stimulus(link, 0, FGStimulus(STIM0, pulselength=3, continuous=True))
    set_current_stimulus(link, 3, FGStimulus(STIM3, pulselength=2, continuous=False))
    model.idle(idle_after)
    return model, link, neurons, shared


@pytest.fixture(scope="module")
def scenario():
    model, link, neurons, shared = configured_model()
    core = AnalogCore()
    cfg = core.configure_from_model(model)
    return model, core, cfg, neurons, shared


def golden(neurons, shared, d, bigcap, speed):
    y, x = divmod(d, 256)
    block = fg_layout.reset_block(x, y)
    v_reset = CALIBRATION["V_t"].from_dac("V_reset", shared[block]["V_reset"])
    return HardwareParameters.from_fg(FGValues(neurons[d]), v_reset, bigcap, speed)


def test_parameters_are_the_transform_of_the_programmed_codes_with_row_bits(scenario):
    model, core, cfg, neurons, shared = scenario
    assert cfg.bigcap == (True, False) and cfg.i_gl_speed == ("fast", "slow")
    ref = NeuronArray(512)
    picks = [0, 4, 5, 77, 255, 256, B, 300, 511]
    for d in picks:
        top = d < 256
        ref.set_hardware_parameters(golden(neurons, shared, d, top, "fast" if top else "slow"),
                                    [d])
    for name, arr in ref.params.items():
        assert np.array_equal(core.neurons.params[name][picks], arr[picks]), name
    assert core.neurons.bigcap[A] and not core.neurons.bigcap[B]
    # the cap bit matters: the small-cap golden differs from the big-cap one
    assert golden(neurons, shared, B, False, "slow") != golden(neurons, shared, B, True, "slow")


def test_neurons_from_the_builder(scenario):
    _, core, cfg, _, _ = scenario
    nod = core.neurons.neuron_of_denmem
    assert nod[0] == nod[1] == nod[256] == nod[257]
    assert len({nod[0], nod[A], nod[B], nod[2]}) == 4
    assert core.neurons.firing_denmem[nod[0]] == 0


def twin_codes(model, block_name, n):
    """Stimulus codes the FG controller twin shows in the next ``n`` cycles (0 when none)."""
    ctrl = copy.deepcopy(model.floating_gates.controllers[block_name])
    return np.array([ctrl.step()["stim"] or 0 for _ in range(n)])


def test_stimulated_membrane_and_adc_readout_match_a_direct_run(scenario):
    model, core, cfg, neurons, shared = scenario
    n = 3000
    # golden stimulus phase: read off the controller twin's own output
    codes = twin_codes(model, "fg_top_left", n)
    hold = 4 * (3 + 1)
    c1 = int(np.nonzero(np.diff(codes))[0][0]) + 1
    start = c1 - STIM0.index(int(codes[c1])) * hold
    idx = ((np.arange(n) - start) // hold) % 129
    assert np.array_equal(np.array(STIM0)[idx], codes)
    assert cfg.stimuli[3] is not None            # the block-3 source is running ...
    assert not cfg.current_input[[B, 256 + 6, 256 + 7]].any()   # ... into no enabled denmem

    ref = NeuronArray(512)
    ref.set_hardware_parameters(golden(neurons, shared, A, True, "fast"), [A])
    ref.set_hardware_parameters(golden(neurons, shared, B, False, "slow"), [B])
    ref.set_current_stimulus(0, CurrentStimulus.from_dac(STIM0, pulselength=3, continuous=True),
                             start_cycle=start)
    ref.enable_current_input([A])
    ref.record([A, B])
    ref.run(n)
    t, v = ref.read_trace()
    assert v[0].max() - v[0][0] > 0.02                     # the stimulus moves A's membrane
    assert v[0][2 * 100] - v[0][0] > 1e-3                  # ... from cycle 0 on (under way)

    core.step(n)
    adc = Adc()
    got = core.analog_outputs.acquire(core.neurons, adc)
    assert sorted(got) == [(0, 0), (0, 1)]
    for k, row in ((0, 0), (1, 1)):
        ts, want = adc.sample(t, v[row])
        assert np.allclose(got[(0, k)][0], ts)
        assert np.array_equal(got[(0, k)][1], want), k
    # B sees no current: its trace is the unstimulated one (flat at rest)
    assert np.ptp(v[1]) < 1e-9


@pytest.mark.parametrize("idle", [0, 1, 2, 3, 5, 700])
def test_controller_stimulus_phase_equals_the_twin(idle):
    model = HicannModel()
    link = Link(model)
    link.writes(current_stimulus_writes(1, FGStimulus(STIM0, pulselength=1, continuous=False)))
    model.idle(idle)
    model.floating_gates.sync()
    stim, start = controller_stimulus(model.floating_gates.controllers["fg_top_right"])
    n = 129 * 8 + 40
    codes = twin_codes(model, "fg_top_right", n)
    c = np.arange(n)
    k = (c - start) // stim.hold_cycles
    grid = np.where((c >= start) & (k < 129), np.array(STIM0)[np.clip(k, 0, 128)], 0)
    first = 1 if idle == 0 else 0         # the cycle that takes the instruction
    assert np.array_equal(grid[first:], codes[first:])
    assert codes[-1] == 0                  # one pass: 0 after the last entry


def test_finished_one_pass_stimulus_gives_no_source():
    model = HicannModel()
    link = Link(model)
    link.writes(current_stimulus_writes(2, FGStimulus(STIM3, pulselength=0)))
    model.idle(129 * 4 + 4)
    model.floating_gates.sync()
    assert controller_stimulus(model.floating_gates.controllers["fg_bottom_left"]) is None


# -- HAL encoders ---------------------------------------------------------------------------------
def test_analog_output_encoding_and_read_back():
    outs = (AnalogOutput("membrane_top_odd", True), AnalogOutput("none", False))
    # select 0 one-hot in bits 9:0 (top-odd = bit 1), select 1 in 19:10 (none = bit 9 -> 19),
    # enable 0 in bit 20
    assert analog_writes(outs) == [(NB.tag, NB.address("output_config"),
                                    (1 << 1) | (1 << 19) | (1 << 20))]
    outs = (AnalogOutput("fireline_neuron0", False), AnalogOutput("membrane_bottom_odd", True))
    assert analog_writes(outs)[0][2] == (1 << 6) | (1 << 13) | (1 << 21)
    model = HicannModel()
    set_analog(Link(model), outs)
    assert get_analog(Link(model)) == outs
    assert get_analog(Link(HicannModel())) == (AnalogOutput(), AnalogOutput())
    assert [membrane_source(x, y) for x, y in ((0, 0), (3, 0), (8, 1), (255, 1))] == [
        "membrane_top_even", "membrane_top_odd", "membrane_bottom_even", "membrane_bottom_odd"]


def test_current_stimulus_writes():
    w = current_stimulus_writes(0, FGStimulus(STIM0, pulselength=3, continuous=True))
    fg = HICANN_MAP["fg_top_left"]
    assert w[-1] == (fg.tag, fg.address("instruction"), 0x14000)        # spec §10 example
    assert w[0][1] == fg.address("bias") and (w[0][2] >> 8) & 15 == 3
    assert w[1] == (fg.tag, fg.address("ram0", 0), STIM0[0] | STIM0[1] << 10)
    assert len(w) == 1 + 65 + 1
    once = current_stimulus_writes(3, FGStimulus(STIM0, pulselength=3))
    assert once[-1][2] == 0x10000


@pytest.mark.parametrize("make, message", [
    (lambda: AnalogOutput("membrane", True),
     r"^analog output source 'membrane' not one of \['membrane_top_even', "),
    (lambda: analog_writes((AnalogOutput(), AnalogOutput("fireline_neuron0", True))),
     r"^analog output 1 source 'fireline_neuron0' is only available on analog output 0$"),
    (lambda: FGStimulus([0] * 128), r"^current stimulus needs 129 values, got 128$"),
    (lambda: FGStimulus([1024] * 129), r"^current stimulus value 1024 out of range 0\.\.1023"),
    (lambda: current_stimulus_writes(4, FGStimulus()), r"^FGBlockOnHICANN 4 out of range 0\.\.3"),
])
def test_hal_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- bad configurations ---------------------------------------------------------------------------
def small_model():
    model = HicannModel()
    link = Link(model)
    set_denmem_quad(link, 2, NeuronQuad((Neuron(enable_aout=True), Neuron(), Neuron(),
                                         Neuron())))
    set_analog(link, (AnalogOutput("membrane_top_even", True), AnalogOutput()))
    return model, link


def _second_aout(model, link):
    set_denmem_quad(link, 4, NeuronQuad((Neuron(enable_aout=True), Neuron(), Neuron(),
                                         Neuron())))


def _dark_line(model, link):
    set_analog(link, (AnalogOutput("membrane_bottom_even", True), AnalogOutput()))


def _two_bits(model, link):
    model.write(NB.tag, NB.address("output_config"), 0b11 | 1 << 20)


def _fireline_on_1(model, link):
    model.write(NB.tag, NB.address("output_config"), 1 << 16 | 1 << 21)


def _slow_and_fast(model, link):
    set_neuron_config(link, NeuronConfig(gl_slow_t=True, gl_fast_t=True))


def _two_firing(model, link):
    set_denmem_quad(link, 0, NeuronQuad((Neuron(activate_firing=True),
                                         Neuron(activate_firing=True), Neuron(), Neuron()),
                                        horizontal=(True, False)))


@pytest.mark.filterwarnings("ignore::bss1.models.transform.FGClipWarning")  # unprogrammed FG
@pytest.mark.parametrize("spoil, message", [
    (_second_aout, r"^denmems \(4, 0\), \(8, 0\) enable aout on membrane line 0 "
                   r"\(membrane_top_even\); allowed: one denmem per line$"),
    (_dark_line, r"^analog output 0 shows membrane_bottom_even, but no denmem on that membrane "
                 r"line has enable_aout$"),
    (_two_bits, r"^analog output 0 select 0x003 has several bits set; allowed: one-hot, "),
    (_fireline_on_1, r"^analog output 1 selects 'fireline_neuron0', which only analog output 0 "
                     r"offers$"),
    (_slow_and_fast, r"^neuron config: gl_slow_t and gl_fast_t both set \(top row\); allowed: "
                     r"at most one$"),
    (_two_firing, r"^neuron of denmems \(0, 0\), \(1, 0\) has 2 firing denmems"),
])
def test_bad_configuration_is_refused_and_nothing_applied(spoil, message):
    model, link = small_model()
    core = AnalogCore()
    core.configure_from_model(model)
    assert core.analog_outputs.channels() == [(0, 0, 4)]
    core.step(20)
    before = ({k: v.copy() for k, v in core.neurons.params.items()},
              core.neurons.neuron_of_denmem.copy(), core.cycle)
    spoil(model, link)
    with pytest.raises(ValueError, match=message):
        core.configure_from_model(model)
    assert core.cycle == before[2] == 20
    assert np.array_equal(core.neurons.neuron_of_denmem, before[1])
    for k, v in before[0].items():
        assert np.array_equal(core.neurons.params[k], v, equal_nan=True), k
    assert core.analog_outputs.channels() == [(0, 0, 4)]


def test_bad_hicann_index():
    with pytest.raises(ValueError, match=r"^hicann 1 out of range 0\.\.0$"):
        AnalogCore().configure_from_model(HicannModel(), 1)


def test_configure_fg_row_pairs_are_checked():
    core = AnalogCore()
    with pytest.raises(ValueError, match=r"^bigcap \(True,\) is not one valid value or a "
                                         r"\(top, bottom\) pair$"):
        core.configure_fg(HicannModel().fg_storage, bigcap=(True,))
    with pytest.raises(ValueError, match=r"^i_gl_speed \('normal', 'quick'\) is not one valid "
                                         r"value or a \(top, bottom\) pair$"):
        core.configure_fg(HicannModel().fg_storage, i_gl_speed=("normal", "quick"))


def test_synapses_written_on_the_chip_model_reach_the_core():
    """A chip model with its own synapse array: configure_from_model copies weights and
    decoders into the core's array (snapshot); a shared array is left as it is."""
    model = HicannModel()
    rng = np.random.default_rng(4)
    w = rng.integers(0, 16, size=(224, 256))
    d = rng.integers(0, 16, size=(224, 256))
    model.synapse_array.set_weights("bottom", w)
    model.synapse_array.set_decoders("bottom", d)
    core = AnalogCore()
    core.configure_from_model(model)
    assert np.array_equal(core.array.weights("bottom"), w)
    assert np.array_equal(core.array.decoders("bottom"), d)
    assert not core.array.weights("top").any()
    shared = HicannModel(synapse_array=core.array)
    core.configure_from_model(shared)
    assert shared.synapse_array is core.array
