"""The analog core configured from the chip's digital configuration, as on the real chip
(spec hicann-digital.md §7.1 neuron builder SRAM, neuron config and output config, §10 FG
controllers and the current stimulus; analog-core.md §3.4 compound neurons, §3.5 capacitors and
speed bits, §3.6 current stimulus, §4 floating gates, §10 membrane readout; DESIGN decision 4).

:func:`read_analog_config` decodes and checks everything the analog core needs from a
:class:`~bss1.models.hicann.HicannModel`; :func:`configure_from_hicann` (and
:meth:`AnalogCore.configure_from_model <bss1.models.analog_core.AnalogCore.configure_from_model>`)
applies it in one step, after every check has passed (nothing is half applied):

1. Compound neurons from the neuron builder SRAM (:mod:`bss1.models.neuron_builder_map`). This
   resets the neuron state and the core's cycle to 0.
2. Synapse drivers from their SRAM words.
3. Denmem parameters from the FG cells (default calibration) with the capacitor and I_gl speed
   bits of the neuron config register (address 512): ``bigcap_t`` / ``gl_slow_t`` /
   ``gl_fast_t`` for the top row (y = 0), the ``_b`` bits for the bottom row; shared STP values
   and V_gmax per quadrant.
4. Current stimulus: a denmem receives the source of FG block ``2 y + x mod 2`` (§3.6, the
   quad position) when the inout code of its quad row has its ``currentin`` flag. The source of a
   block plays what its FG controller plays: the 129 cells of the RAM bank named by the running
   stimulate instruction, each held ``pulselength + 1`` slow ticks (PLL/4), once or continuous.
   The playback keeps its phase: core cycle 0 after the configuration is the controller's current
   cycle (``HicannModel.cycle + idle_cycles``). A stimulate instruction that is still pending in
   the controller (written, not yet clocked) is taken as accepted in that cycle; the chip shows
   the old source value in that one cycle. A one-pass stimulus that has ended, or a block whose
   controller runs no stimulus, gives 0 A.
5. Synapse array: when the chip model does not already share the core's array
   (``HicannModel(synapse_array=core.arrays[h])``, the live coupling), the chip model's weights
   and decoders are copied into the core's array, so what the synapse controllers wrote is what
   the core integrates.
6. Analog outputs (:class:`~bss1.models.membrane_readout.AnalogOutputs` of the core): an enabled
   output whose select names a membrane line shows the one denmem of that line with
   ``enable_aout`` (inout code); the core records the shown denmems. Other sources (FG lines,
   fire line, pre-out, DLL voltage, none) are not modelled: the output shows no trace.

Output config register (address 513, 22 bits, §7.1 "two 10-bit one-hot selects + 2 enables";
the spec gives no bit order, so this module chooses): select of output k in bits
``[10 k + 9 : 10 k]``, one-hot in the order of :data:`OUTPUT_SOURCES` (bit 0 membrane top-even
... bit 9 none); enable of output k in bit ``20 + k``. A select of 0 reads as "none" (the
register's reset value). halbe offers the neuron-0 fire line on output 0 only.

Checks (each a ``ValueError`` naming the values): several bits in an enabled output's select;
the neuron-0 fire line on output 1; two denmems with ``enable_aout`` on one membrane line; an
enabled output showing a membrane line without such a denmem; ``slow`` and ``fast`` both set for
one current of one row; the neuron builder's own checks. Not an error: a stimulus on a block
with no enabled denmem (the source drives nothing), a denmem with current input on a block
without stimulus (0 A). Not modelled: the reset bits of the neuron config, the gla/ra speed bits
(ignored by the default calibration, §13.10), I_bstim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bss1.models import fg_layout
from bss1.models.neuron import DENMEMS_PER_HICANN, CurrentStimulus
from bss1.models.neuron_builder_map import builder_words, neurons_from_builder
from bss1.rtl.fg_controller import SLOW_DIVIDER
from bss1.rtl.hicann import FG_BLOCKS
from bss1.rtl.registers import (HICANN_MAP, NB_ENTRY, NB_INOUT_FLAGS, NB_PAIR, NB_PAIR_FIELDS,
                                NEURON_BUILDER, nb_pair_entry)

__all__ = ["OUTPUT_SOURCES", "MEMBRANE_SOURCES", "INOUT_CODES", "SELECT_WIDTH", "ENABLE_LSB",
           "encode_output_config", "decode_output_config", "row_bits", "inout_flags",
           "controller_stimulus", "AnalogConfig", "read_analog_config", "configure_from_hicann"]

#: One-hot select order of one analog output (bit i = source i).
OUTPUT_SOURCES = ("membrane_top_even", "membrane_top_odd", "membrane_bottom_even",
                  "membrane_bottom_odd", "fg_left", "fg_right", "fireline_neuron0", "preout",
                  "dll_voltage", "none")
#: Membrane line sources; index = quad position 2 y + x mod 2 = FG block of the current source.
MEMBRANE_SOURCES = OUTPUT_SOURCES[:4]
_OUT_REG = NEURON_BUILDER.reg("output_config")
SELECT_WIDTH = _OUT_REG.field("select0").width
ENABLE_LSB = _OUT_REG.field("enable0").lsb
assert (_OUT_REG.field("select1").lsb, _OUT_REG.field("enable1").lsb) == (SELECT_WIDTH,
                                                                           ENABLE_LSB + 1)
assert ENABLE_LSB + 2 == _OUT_REG.width
_NCFG = NEURON_BUILDER.reg("neuron_config")
_NB = HICANN_MAP["neuron_builder"]
#: inout code (field ``inout`` of :data:`~bss1.rtl.registers.NB_PAIR`) -> flags word
#: (:data:`~bss1.rtl.registers.NB_INOUT_FLAGS`)
INOUT_CODES = (0, 1, 2, 3, 4, 5, 0b1010, 0b1000)
assert len(INOUT_CODES) == 1 << NB_PAIR.field("inout").width
_ROW_NAMES = ("top", "bottom")


def _denmem_name(d: int) -> str:
    y, x = divmod(int(d), 256)
    return f"({x}, {y})"


# -- output config register ------------------------------------------------------------------------
def encode_output_config(outputs) -> int:
    """Word of the output config register from two ``(source, enable)`` pairs (output 0, 1)."""
    outputs = tuple(outputs)
    if len(outputs) != 2:
        raise ValueError(f"analog output config needs 2 (source, enable) pairs, got "
                         f"{len(outputs)}")
    word = 0
    for k, item in enumerate(outputs):
        source, enable = item
        if source not in OUTPUT_SOURCES:
            raise ValueError(f"analog output {k} source {source!r} not one of "
                             f"{list(OUTPUT_SOURCES)}")
        if enable not in (0, 1):
            raise ValueError(f"analog output {k} enable {enable!r} not a bool")
        if k == 1 and source == "fireline_neuron0":
            raise ValueError("analog output 1 source 'fireline_neuron0' is only available on "
                             "analog output 0")
        word |= 1 << (SELECT_WIDTH * k + OUTPUT_SOURCES.index(source))
        word |= int(enable) << (ENABLE_LSB + k)
    return word


def decode_output_config(word: int) -> tuple[tuple[str, bool], tuple[str, bool]]:
    """Two ``(source, enable)`` pairs from a register word; a select of 0 reads as "none"."""
    if isinstance(word, bool) or not isinstance(word, (int, np.integer)) \
            or not 0 <= word < 1 << _OUT_REG.width:
        top = (1 << _OUT_REG.width) - 1
        raise ValueError(f"output config word {word!r} out of range 0..{top:#x}")
    out = []
    for k in range(2):
        sel = (int(word) >> (SELECT_WIDTH * k)) & ((1 << SELECT_WIDTH) - 1)
        enable = bool(int(word) >> (ENABLE_LSB + k) & 1)
        if sel & (sel - 1):
            raise ValueError(f"analog output {k} select {sel:#05x} has several bits set; "
                             f"allowed: one-hot, bit i = {list(OUTPUT_SOURCES)}[i]")
        out.append((OUTPUT_SOURCES[sel.bit_length() - 1] if sel else "none", enable))
    return tuple(out)


# -- neuron config register ------------------------------------------------------------------------
def row_bits(word: int) -> tuple[tuple[bool, bool], tuple[str, str]]:
    """``((bigcap top, bigcap bottom), (I_gl speed top, bottom))`` of a neuron config word."""
    f = _NCFG.decode(int(word))
    bigcap, speed = [], []
    for row, s in zip(_ROW_NAMES, "tb"):
        for cur in ("gl", "gla", "ra"):
            if f[f"{cur}_slow_{s}"] and f[f"{cur}_fast_{s}"]:
                raise ValueError(f"neuron config: {cur}_slow_{s} and {cur}_fast_{s} both set "
                                 f"({row} row); allowed: at most one")
        bigcap.append(bool(f[f"bigcap_{s}"]))
        speed.append("slow" if f[f"gl_slow_{s}"] else "fast" if f[f"gl_fast_{s}"] else "normal")
    return tuple(bigcap), tuple(speed)


# -- neuron builder inout codes -------------------------------------------------------------------
def inout_flags(words) -> tuple[np.ndarray, np.ndarray]:
    """``(aout, current_input)``: bool arrays over the local denmems ``256 y + x`` from the pair
    bytes (entry ``4 q + 3``) of the 512 neuron builder words."""
    words = builder_words(words)
    aout = np.zeros(DENMEMS_PER_HICANN, bool)
    cur = np.zeros(DENMEMS_PER_HICANN, bool)
    for q in range(128):
        f = NB_ENTRY.decode(int(words[nb_pair_entry(q)]))
        for y, name in enumerate(NB_PAIR_FIELDS):
            flags = NB_INOUT_FLAGS.decode(INOUT_CODES[NB_PAIR.decode(f[name])["inout"]])
            left, right = 256 * y + 2 * q, 256 * y + 2 * q + 1
            aout[right], aout[left] = flags["aout_right"], flags["aout_left"]
            cur[right], cur[left] = flags["currentin_right"], flags["currentin_left"]
    return aout, cur


# -- FG controller current stimulus ---------------------------------------------------------------
def controller_stimulus(controller) -> tuple[CurrentStimulus, int] | None:
    """``(stimulus, start)`` that an FG controller twin plays from its current cycle on (start
    in cycles relative to that cycle, possibly negative), or None when it plays nothing. Bus
    writes still pending in the controller count as applied
    (:meth:`~bss1.models.fg_controller.FGControllerModel.stimulus`)."""
    run = controller.stimulus(include_pending=True)
    if run is None:
        return None
    stim = CurrentStimulus.from_dac(run.codes, pulselength=run.hold - 1,
                                    continuous=run.continuous, clock_div=SLOW_DIVIDER)
    # entry k is shown from the cycle 3 before the first slow tick + k x hold ticks
    return stim, run.first_tick - (SLOW_DIVIDER - 1) - controller.cycle


# -- the whole configuration ----------------------------------------------------------------------
@dataclass(frozen=True)
class AnalogConfig:
    """What the analog core of one HICANN takes from its digital configuration (local denmem
    indices ``256 y + x``; rows 0 top, 1 bottom; FG blocks 0..3)."""
    words: np.ndarray               # the 512 neuron builder SRAM words
    neuron_of_denmem: np.ndarray
    firing_denmem: np.ndarray
    bigcap: tuple                   # per row
    i_gl_speed: tuple               # per row
    current_input: np.ndarray       # bool per denmem
    aout: np.ndarray                # bool per denmem
    outputs: tuple                  # per output: (source, enable)
    output_denmem: tuple            # per output: local denmem shown, or None
    stimuli: tuple                  # per FG block: (CurrentStimulus, start) or None


def read_analog_config(model) -> AnalogConfig:
    """Decode and check the analog configuration of a HicannModel (module docstring)."""
    words = builder_words(model)
    nod, fir = neurons_from_builder(words)
    bigcap, speed = row_bits(model.neurons.neuron_config)
    aout, cur = inout_flags(words)
    outputs = decode_output_config(model.read(_NB.tag, _NB.address("output_config")))
    shown = [None, None]
    line_of = np.array([2 * (d // 256) + d % 2 for d in range(DENMEMS_PER_HICANN)])
    on_line = []
    for line, source in enumerate(MEMBRANE_SOURCES):
        ds = np.nonzero(aout & (line_of == line))[0]
        if ds.size > 1:
            raise ValueError(f"denmems {', '.join(_denmem_name(d) for d in ds)} enable aout on "
                             f"membrane line {line} ({source}); allowed: one denmem per line")
        on_line.append(int(ds[0]) if ds.size else None)
    for k, (source, enable) in enumerate(outputs):
        if k == 1 and source == "fireline_neuron0":
            raise ValueError("analog output 1 selects 'fireline_neuron0', which only analog "
                             "output 0 offers")
        if enable and source in MEMBRANE_SOURCES:
            d = on_line[MEMBRANE_SOURCES.index(source)]
            if d is None:
                raise ValueError(f"analog output {k} shows {source}, but no denmem on that "
                                 f"membrane line has enable_aout")
            shown[k] = d
    ctrls = model.floating_gates
    ctrls.sync()
    stimuli = tuple(controller_stimulus(ctrls.controllers[name]) for name in FG_BLOCKS)
    return AnalogConfig(words, nod, fir, bigcap, speed, cur, aout, outputs, tuple(shown),
                        stimuli)


def configure_from_hicann(core, model, hicann: int = 0) -> AnalogConfig:
    """Configure HICANN ``hicann`` of AnalogCore ``core`` from HicannModel ``model`` (module
    docstring); returns the decoded :class:`AnalogConfig`."""
    if not isinstance(hicann, (int, np.integer)) or isinstance(hicann, bool) \
            or not 0 <= hicann < core.n_hicanns:
        raise ValueError(f"hicann {hicann!r} out of range 0..{core.n_hicanns - 1}")
    h = int(hicann)
    cfg = read_analog_config(model)
    nod, fir = core.neurons_from_model(cfg.words, h)
    # everything checked: apply
    core.configure_neurons(nod, fir)
    core.configure_drivers(model, h)
    core.configure_fg(model.fg_storage, h, bigcap=cfg.bigcap, i_gl_speed=cfg.i_gl_speed)
    chip_array, core_array = getattr(model, "synapse_array", None), core.arrays[h]
    if chip_array is not None and chip_array is not core_array:
        for half in ("top", "bottom"):
            core_array.set_weights(half, chip_array.weights(half))
            core_array.set_decoders(half, chip_array.decoders(half))
    neurons = core.neurons
    base = DENMEMS_PER_HICANN * h
    neurons.enable_current_input(np.arange(base, base + DENMEMS_PER_HICANN), False)
    on = np.nonzero(cfg.current_input)[0]
    if on.size:
        neurons.enable_current_input(base + on, True)
    for block in range(fg_layout.N_BLOCKS):
        _play(neurons, 4 * h + block, cfg.stimuli[block])
    outs = core.analog_outputs
    for k, d in enumerate(cfg.output_denmem):
        if d is None:
            outs.disconnect(h, k)
        else:
            outs.connect(h, k, d, outs.offsets.get((h, k), 0.0))
    outs.record_on(neurons)
    return cfg


def _play(neurons, source: int, playback) -> None:
    """Program current source ``source`` with ``(stimulus, start)`` relative to the array's
    current cycle (None: 0 A)."""
    if playback is None:
        neurons.set_current_stimulus(source, CurrentStimulus((0.0,)))
        return
    stim, start = playback
    neurons.set_current_stimulus(source, stim, start_cycle=neurons.cycle + start)
