"""HALbe-like set_/get_ functions of a HICANN's event sources and layer-2 side in user
coordinates: merger tree and DNC mergers, phase, background generators, GbitLink, neuron builder
(denmem quads, neuron config, analog outputs), current stimulus of the FG blocks (spec
hicann-digital.md §7.1, §7.3-§7.5, §8.2, §10; analog-core.md §3.6, §10; host-stack.md §3.2).

Encoders are those of :mod:`bss1.host.merger_tree` and :mod:`bss1.host.gbitlink`; this module adds
the typed quad / neuron-config containers and the read-back decoders.

Read-back limits of the chip (hicann-digital §7.5, §8.2, §9.3): the BG seed register returns the
last seed written (it is shared), so :func:`get_background_generators` reports that value as the
seed of every BG; the GbitLink register is write-only (no get_); neuron-builder reads are
unreliable on silicon ("bit flips"), the model returns the stored word; the FG instruction
register is write-only, so a current stimulus has only a set_.

Analog outputs: the bit layout of the output config register is the one chosen in
:mod:`bss1.models.analog_config` (select of output k one-hot in bits ``[10 k + 9 : 10 k]`` in the
order of :data:`~bss1.models.analog_config.OUTPUT_SOURCES`, enable in bit ``20 + k``). Which
denmem a membrane line shows is the ``enable_aout`` of the :class:`Neuron` in its quad;
current input is ``enable_current_input`` there (§7.1 inout code).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ..models import coords
from ..models.analog_config import (INOUT_CODES, MEMBRANE_SOURCES, OUTPUT_SOURCES,
                                    decode_output_config, encode_output_config)
from ..rtl.registers import (HICANN_MAP, NB_ENTRY, NB_INOUT_FLAGS, NB_PAIR, NB_PAIR_FIELDS,
                             NEURON_BUILDER, NEURON_CONTROL, nb_pair_entry)
from .floating_gates import COARSE, stimulus_sequence
from .floating_gates import Write as FGWriteOp
from .gbitlink import GbitLink, spl1_reset_write
from .hal_link import Query, Write, run_queries
from .merger_tree import BackgroundGenerator, MergerTree, bg_writes, nb_entry

__all__ = ["merger_tree_writes", "merger_tree_query", "set_merger_tree", "get_merger_tree",
           "phase_writes", "phase_query", "set_phase", "get_phase",
           "background_generator_writes", "background_generators_query",
           "set_background_generators", "get_background_generators", "gbit_link_writes",
           "set_gbit_link", "spl1_reset_writes", "Neuron", "NeuronQuad", "denmem_quad_writes",
           "denmem_quad_query", "set_denmem_quad", "get_denmem_quad", "NeuronConfig",
           "neuron_config_writes", "neuron_config_query", "set_neuron_config",
           "get_neuron_config", "INOUT_CODES", "AnalogOutput", "OUTPUT_SOURCES",
           "membrane_source", "analog_writes", "analog_query", "set_analog", "get_analog",
           "FGStimulus", "current_stimulus_writes", "set_current_stimulus"]

_NC = HICANN_MAP["neuron_control"]
_NB = HICANN_MAP["neuron_builder"]
_TREE_REGS = ("merger_enable", "merger_select", "merger_slow", "dnc_loopback_select",
              "dnc_enable_slow")


def _nc_write(name: str, word: int, index: int = 0) -> Write:
    return _NC.tag, _NC.address(name, index), word


def _nc_read(name: str, index: int = 0):
    return _NC.tag, _NC.address(name, index)


# -- merger tree and DNC mergers (§7.4, §7.5) ----------------------------------------------------
def merger_tree_writes(tree: MergerTree) -> list[Write]:
    """halbe ``set_merger_tree`` + ``set_dnc_merger``: the 15 tree mergers, the 8 DNC mergers and
    the DNC loopbacks (one :class:`MergerTree` holds all of them)."""
    if not isinstance(tree, MergerTree):
        raise ValueError(f"merger tree {tree!r} is not a MergerTree")
    return [_nc_write(name, word) for name, word in tree.registers().items()]


def merger_tree_query() -> Query:
    return Query(tuple(_nc_read(n) for n in _TREE_REGS),
                 lambda w: MergerTree.from_registers(dict(zip(_TREE_REGS, w))))


def set_merger_tree(link, tree: MergerTree) -> None:
    link.writes(merger_tree_writes(tree))


def get_merger_tree(link) -> MergerTree:
    return run_queries(link, [merger_tree_query()])[0]


# -- phase (§7.5 reg 5) --------------------------------------------------------------------------
def phase_writes(phase: int) -> list[Write]:
    """halbe ``set_phase``: bit i of ``phase`` is DNC merger i's output sampling phase (HW bit
    7 - i). Polarity (spec conflict §13 #8) is not interpreted here: the bit is stored as given."""
    coords.check_range("phase", phase, 0, 255)
    return [_nc_write("phase", NEURON_CONTROL.reg("phase").encode(
        phase=coords.rev_bits(phase, 8)))]


def phase_query() -> Query:
    return Query((_nc_read("phase"),), lambda w: coords.rev_bits(
        NEURON_CONTROL.reg("phase").decode(w[0])["phase"], 8))


def set_phase(link, phase: int) -> None:
    link.writes(phase_writes(phase))


def get_phase(link) -> int:
    return run_queries(link, [phase_query()])[0]


# -- background generators (§7.3) ----------------------------------------------------------------
def _bg_array(bgs) -> tuple[BackgroundGenerator, ...]:
    bgs = tuple(bgs)
    if len(bgs) != 8 or not all(isinstance(b, BackgroundGenerator) for b in bgs):
        raise ValueError(f"background generator array needs 8 BackgroundGenerators, got "
                         f"{len(bgs)} items")
    if sorted(b.index for b in bgs) != list(range(8)):
        raise ValueError(f"background generator indices {[b.index for b in bgs]} are not "
                         f"0..7 once each")
    return bgs


def background_generator_writes(bgs) -> list[Write]:
    """halbe ``set_background_generator``: all 8 BGs, enabled one after another in list order
    with the shared seed rewritten before each (:func:`~bss1.host.merger_tree.bg_writes`)."""
    return [(_NC.tag, _NC.base + a, w) for a, w in bg_writes(_bg_array(bgs))]


def background_generators_query() -> Query:
    ops = ((_nc_read("bg_control"), _nc_read("bg_seed"))
           + tuple(_nc_read("bg_period", k) for k in range(8))
           + tuple(_nc_read("bg_address", j) for j in range(4)))

    def decode(w):
        ctl = NEURON_CONTROL.reg("bg_control").decode(w[0])
        seed = NEURON_CONTROL.reg("bg_seed").decode(w[1])["seed"]
        out = []
        for i in range(8):
            hw = coords.sw_to_hw8(i)
            addr = NEURON_CONTROL.reg("bg_address").decode(w[10 + hw // 2])
            out.append(BackgroundGenerator(
                i, enable=bool(ctl["enable"] >> hw & 1), random=bool(ctl["random"] >> hw & 1),
                period=NEURON_CONTROL.reg("bg_period").decode(w[2 + hw])["period"],
                address=addr["odd" if hw % 2 else "even"], seed=seed))
        return tuple(out)
    return Query(ops, decode)


def set_background_generators(link, bgs) -> None:
    link.writes(background_generator_writes(bgs))


def get_background_generators(link) -> tuple[BackgroundGenerator, ...]:
    """The 8 BGs in SW order; ``seed`` of each is the shared seed register (last written)."""
    return run_queries(link, [background_generators_query()])[0]


# -- GbitLink / SPL1 (§8.2, write-only) ----------------------------------------------------------
def gbit_link_writes(gbit: GbitLink) -> list[Write]:
    if not isinstance(gbit, GbitLink):
        raise ValueError(f"GbitLink config {gbit!r} is not a GbitLink")
    return [gbit.write()]


def set_gbit_link(link, gbit: GbitLink) -> None:
    link.writes(gbit_link_writes(gbit))


def spl1_reset_writes() -> list[Write]:
    return [spl1_reset_write()]


# -- neuron builder: quads (§7.1) ----------------------------------------------------------------
@dataclass(frozen=True)
class Neuron:
    """One denmem of a quad (halbe ``Neuron``)."""

    address: int = 0
    activate_firing: bool = False
    enable_spl1_output: bool = False
    enable_fire_input: bool = False
    enable_aout: bool = False
    enable_current_input: bool = False

    def __post_init__(self):
        coords.check_range("neuron L1 address", self.address, 0, 63)
        for f in fields(self)[1:]:
            if getattr(self, f.name) not in (0, 1):
                raise ValueError(f"neuron {f.name} {getattr(self, f.name)!r} not a bool")
            object.__setattr__(self, f.name, bool(getattr(self, f.name)))


@dataclass(frozen=True)
class NeuronQuad:
    """halbe ``NeuronQuad``: ``neurons[y * 2 + x]`` (NeuronOnQuad x 0..1 left/right, y 0 top /
    1 bottom); ``vertical[x]`` shorts the top and bottom denmem of column x; ``horizontal[y]``
    shorts the left and right denmem of row y."""

    neurons: tuple = (Neuron(),) * 4
    vertical: tuple[bool, bool] = (False, False)
    horizontal: tuple[bool, bool] = (False, False)

    def __post_init__(self):
        n = tuple(self.neurons)
        if len(n) != 4 or not all(isinstance(x, Neuron) for x in n):
            raise ValueError(f"neuron quad needs 4 Neurons, got {self.neurons!r}")
        object.__setattr__(self, "neurons", n)
        for name in ("vertical", "horizontal"):
            v = tuple(getattr(self, name))
            if len(v) != 2 or any(x not in (0, 1) for x in v):
                raise ValueError(f"quad {name} {getattr(self, name)!r} needs 2 bools")
            object.__setattr__(self, name, tuple(bool(x) for x in v))
        for y in range(2):
            self._pair_byte(y)      # rejects illegal aout / current-input combinations

    def _pair_byte(self, y: int) -> int:
        """Pair configuration byte (:data:`~bss1.rtl.registers.NB_PAIR`) of quad row ``y``."""
        left, right = self.neurons[2 * y], self.neurons[2 * y + 1]
        flags = NB_INOUT_FLAGS.encode(
            aout_right=right.enable_aout, aout_left=left.enable_aout,
            currentin_right=right.enable_current_input, currentin_left=left.enable_current_input)
        if flags not in INOUT_CODES:
            names = ", ".join(f"{f.name} b{f.lsb}" for f in NB_INOUT_FLAGS.fields)
            raise ValueError(f"quad row {y}: aout/current-input combination {flags:#06b} "
                             f"({names}) is not one of the legal inout codes "
                             f"{[bin(c) for c in INOUT_CODES]}")
        return NB_PAIR.encode(
            inout=INOUT_CODES.index(flags), horizontal=self.horizontal[y],
            firing_left=left.activate_firing, input_left=left.enable_fire_input,
            input_right=right.enable_fire_input, firing_right=right.activate_firing)


def _quad(quad: int) -> int:
    return coords.check_range("QuadOnHICANN", quad, 0, 127)


def denmem_quad_writes(quad: int, cfg: NeuronQuad) -> list[Write]:
    """halbe ``set_denmem_quad``: the 4 neuron-builder entries of quad ``quad``."""
    _quad(quad)
    if not isinstance(cfg, NeuronQuad):
        raise ValueError(f"quad config {cfg!r} is not a NeuronQuad")
    out = []
    for y in range(2):
        for x in range(2):
            nrn = cfg.neurons[2 * y + x]
            extra = {}
            if coords.neuron_quad_nb_address(quad, 2 * y + x) == nb_pair_entry(quad):
                extra = {name: cfg._pair_byte(row) for row, name in enumerate(NB_PAIR_FIELDS)}
            a, word = nb_entry(2 * quad + x, y, nrn.address, fire=nrn.enable_spl1_output,
                               vertical=bool(y == 1 and cfg.vertical[x]), **extra)
            out.append((_NB.tag, _NB.base + a, word))
    return out


def denmem_quad_query(quad: int) -> Query:
    _quad(quad)
    entries = [coords.neuron_quad_nb_address(quad, k) for k in range(4)]

    def decode(w):
        f = [NB_ENTRY.decode(x) for x in w]
        pair_entry = f[entries.index(nb_pair_entry(quad))]
        pair = tuple(NB_PAIR.decode(pair_entry[name]) for name in NB_PAIR_FIELDS)
        neurons = []
        for k in range(4):
            x, y = k % 2, k // 2
            side = ("left", "right")[x]
            p = pair[y]
            flags = NB_INOUT_FLAGS.decode(INOUT_CODES[p["inout"]])
            neurons.append(Neuron(
                address=coords.rev_bits(f[k]["spl1_rev"], 6),
                activate_firing=bool(p[f"firing_{side}"]),
                enable_spl1_output=bool(f[k]["firet" if y == 0 else "fireb"]),
                enable_fire_input=bool(p[f"input_{side}"]),
                enable_aout=bool(flags[f"aout_{side}"]),
                enable_current_input=bool(flags[f"currentin_{side}"])))
        vertical = tuple(bool(f[2 + x]["vertical"]) for x in range(2))
        horizontal = tuple(bool(p["horizontal"]) for p in pair)
        return NeuronQuad(tuple(neurons), vertical, horizontal)
    return Query(tuple((_NB.tag, _NB.base + NB_ENTRY.address(n)) for n in entries), decode)


def set_denmem_quad(link, quad: int, cfg: NeuronQuad) -> None:
    link.writes(denmem_quad_writes(quad, cfg))


def get_denmem_quad(link, quad: int) -> NeuronQuad:
    return run_queries(link, [denmem_quad_query(quad)])[0]


# -- neuron config (§7.1, address 512) -----------------------------------------------------------
_NCFG = NEURON_BUILDER.reg("neuron_config")


@dataclass(frozen=True)
class NeuronConfig:
    """halbe ``NeuronConfig``: one field per register bit (``_b`` bottom, ``_t`` top half);
    resets are active low (1 = released). Default: bigcap on in both halves, resets released."""

    ra_fast_b: bool = False
    gla_fast_b: bool = False
    gl_fast_b: bool = False
    ra_fast_t: bool = False
    gla_fast_t: bool = False
    gl_fast_t: bool = False
    ra_slow_b: bool = False
    gla_slow_b: bool = False
    gl_slow_b: bool = False
    ra_slow_t: bool = False
    gla_slow_t: bool = False
    gl_slow_t: bool = False
    bigcap_b: bool = True
    bigcap_t: bool = True
    spl1_reset_n: bool = True
    neuron_reset_n_b: bool = True
    neuron_reset_n_t: bool = True

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) not in (0, 1):
                raise ValueError(f"neuron config {f.name} {getattr(self, f.name)!r} not a bool")
            object.__setattr__(self, f.name, bool(getattr(self, f.name)))

    def word(self) -> int:
        return _NCFG.encode(**{k: int(v) for k, v in asdict(self).items()})

    def held_in_reset(self) -> "NeuronConfig":
        """The same config with neurons and SPL1 output held in reset (halbe writes this first)."""
        return replace(self, spl1_reset_n=False, neuron_reset_n_b=False, neuron_reset_n_t=False)


def neuron_config_writes(cfg: NeuronConfig) -> list[Write]:
    if not isinstance(cfg, NeuronConfig):
        raise ValueError(f"neuron config {cfg!r} is not a NeuronConfig")
    return [(_NB.tag, _NB.address("neuron_config"), cfg.word())]


def neuron_config_query() -> Query:
    return Query(((_NB.tag, _NB.address("neuron_config")),),
                 lambda w: NeuronConfig(**_NCFG.decode(w[0])))


def set_neuron_config(link, cfg: NeuronConfig) -> None:
    link.writes(neuron_config_writes(cfg))


def get_neuron_config(link) -> NeuronConfig:
    return run_queries(link, [neuron_config_query()])[0]


# -- analog outputs (§7.1 address 513; analog-core §10) ------------------------------------------
@dataclass(frozen=True)
class AnalogOutput:
    """One analog output (halbe ``Analog`` per ``AnalogOnHICANN``): ``source`` one of
    :data:`OUTPUT_SOURCES`, ``enable`` switches the output on."""

    source: str = "none"
    enable: bool = False

    def __post_init__(self):
        if self.source not in OUTPUT_SOURCES:
            raise ValueError(f"analog output source {self.source!r} not one of "
                             f"{list(OUTPUT_SOURCES)}")
        if self.enable not in (0, 1):
            raise ValueError(f"analog output enable {self.enable!r} not a bool")
        object.__setattr__(self, "enable", bool(self.enable))


def membrane_source(x: int, y: int) -> str:
    """The membrane line source that shows denmem (column ``x``, row ``y``): its quad position
    (halbe/sthal ``enable_aout``: top/bottom, even/odd column)."""
    coords.check_range("denmem column", x, 0, 255)
    coords.check_range("denmem row", y, 0, 1)
    return MEMBRANE_SOURCES[2 * y + x % 2]


def _outputs(outputs) -> tuple:
    outputs = tuple(outputs)
    if len(outputs) != 2 or not all(isinstance(o, AnalogOutput) for o in outputs):
        raise ValueError(f"analog outputs need 2 AnalogOutputs (AnalogOnHICANN 0, 1), got "
                         f"{outputs!r}")
    return outputs


def analog_writes(outputs) -> list[Write]:
    """halbe ``set_analog``: the output config word of outputs 0 and 1."""
    word = encode_output_config([(o.source, o.enable) for o in _outputs(outputs)])
    return [(_NB.tag, _NB.address("output_config"), word)]


def analog_query() -> Query:
    return Query(((_NB.tag, _NB.address("output_config")),),
                 lambda w: tuple(AnalogOutput(s, e) for s, e in decode_output_config(w[0])))


def set_analog(link, outputs) -> None:
    link.writes(analog_writes(outputs))


def get_analog(link) -> tuple:
    return run_queries(link, [analog_query()])[0]


# -- current stimulus (FG block, §10; analog-core §3.6) ------------------------------------------
@dataclass(frozen=True)
class FGStimulus:
    """halbe ``FGStimulus``: 129 10-bit codes (2.444 nA per LSB), each held ``pulselength`` + 1
    slow-clock ticks (PLL/4), played once or ``continuous``."""

    values: tuple = (0,) * 129
    pulselength: int = 15
    continuous: bool = False

    def __post_init__(self):
        vals = tuple(self.values)
        if len(vals) != 129:
            raise ValueError(f"current stimulus needs 129 values, got {len(vals)}")
        for v in vals:
            coords.check_range("current stimulus value", v, 0, 1023)
        coords.check_range("current stimulus pulselength", self.pulselength, 0, 15)
        if self.continuous not in (0, 1):
            raise ValueError(f"current stimulus continuous {self.continuous!r} not a bool")
        object.__setattr__(self, "values", tuple(int(v) for v in vals))
        object.__setattr__(self, "continuous", bool(self.continuous))


def current_stimulus_writes(block: int, stim: FGStimulus) -> list[Write]:
    """halbe ``set_current_stimulus`` on FG block ``block`` (0..3, FGBlockOnHICANN): BIAS with
    the pulselength (other fields: the coarse programming config), the 129 values into RAM
    bank 0, the stimulate instruction. The source reaches the denmems of quad position
    ``block`` whose current input is enabled."""
    coords.check_range("FGBlockOnHICANN", block, 0, 3)
    if not isinstance(stim, FGStimulus):
        raise ValueError(f"current stimulus {stim!r} is not an FGStimulus")
    ops = stimulus_sequence(block, stim.values, stim.continuous,
                            replace(COARSE, pulselength=stim.pulselength))
    return [(op.tag, op.addr, op.data) for op in ops if isinstance(op, FGWriteOp)]


def set_current_stimulus(link, block: int, stim: FGStimulus) -> None:
    link.writes(current_stimulus_writes(block, stim))
