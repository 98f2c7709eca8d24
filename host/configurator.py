"""Whole-HICANN configuration container and the staged configurator (spec host-stack.md §3.3,
§3.4; hicann-digital.md §9.3, §9.5).

:class:`HICANNConfig` (sthal ``HICANN``-like) holds everything the HAL of :mod:`bss1.host.hal`
configures on one chip, in user coordinates. Entries not given are written with their defaults
(repeaters IDLE, switches open, drivers off, ...), so a config describes the whole chip.

:func:`configure` writes it in the stages of host-stack §3.4 (ParallelHICANNv4Configurator):

* ``INIT`` — halbe ``HICANN::init`` (§9.5): SPL1 reset, all switch rows zero, repeater-block SRAM
  timings, all repeaters zero, block config 0x20 (DLLs held in reset), neuron builder timings and
  512 zero entries, neuron control zero, synapse-controller timings and all driver SRAM rows zero.
* ``TIMING_UNCRITICAL`` — floating gates first (all configured blocks in parallel, row by row,
  with ``cfg.fg_passes``; :mod:`bss1.host.hal_fg`: the host waits each pass's worst-case time
  with ``link.wait`` and polls SLAVE.busy), then synapse array (decoders, weights), synapse
  controllers with their DLLs
  held in reset (CNFG, LUTs, SYNRST), phase, GbitLink, synapse switches, crossbar, merger tree and
  DNC mergers, background generators, repeaters, synapse drivers, repeater blocks (DLLs held).
* ``LOCKING_REPEATER_BLOCKS`` — the repeater-block configs as given (DLL reset released).
* ``LOCKING_SYNAPSE_DRIVERS`` — the synapse controllers' CNFG as given (driver DLLs released).
* ``NEURONS`` — neuron config with neurons and SPL1 held in reset, then as given; denmem quads.

:func:`verify` reads every readable storage
register the configuration wrote and compares it with the last word written (the chip's truth:
a shared register such as the BG seed reads back its last value), plus the synapse weights and
decoders through the controller's read sequences, and per configured floating-gate block what the
chip lets the host read (both RAM banks = the last two rows loaded, OP / BIAS = the last pass,
SLAVE not busy and without error; the cells themselves are not digitally readable); mismatches
raise :class:`ConfigurationMismatch` listing each register by block, name and index.

:func:`configure_async` and :func:`verify_async` are the same for an asynchronous link such as
:class:`~bss1.host.cocotb_link.CocotbConfigLink` (the RTL under cocotb): they share the stage plan
and the comparison with the blocking versions; only the transport call differs.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from typing import Callable

from ..models import coords
from ..rtl.regmap import RegisterMapError
from ..rtl.registers import (CROSSBAR_NAMES, DRIVER_SRAMS, HICANN_MAP, SYNAPSE_CONTROLLER,
                             SYNAPSE_SWITCH_NAMES)
from . import hal
from . import hal_fg
from .floating_gates import DEFAULT_PASSES, Poll, Wait
from .hal import (BackgroundGenerator, DNCMerger, GbitLink, GbitLinkDirection, HRepeaterOnHICANN,
                  Merger0, Merger1, Merger2, Merger3, MergerConfig, MergerMode, MergerTree, Neuron,
                  NeuronConfig, NeuronQuad, RepeaterBlockConfig, RepeaterConfig, RowConfig,
                  SramTiming, SynapseControllerConfig, SynapseDriverConfig, VRepeaterOnHICANN)
from .hal_link import Query, run_queries, run_queries_async
from .merger_tree import bg_period_for_isi

__all__ = ["STAGES", "HICANNConfig", "ConfigurationMismatch", "init_writes", "stage_writes",
           "fg_stage_ops",
           "configure", "configure_async", "expected_registers", "verify", "verify_async",
           "random_synapse_driver", "random_merger_tree", "random_hicann_config",
           "routed_hicann_config"]

log = logging.getLogger(__name__)

STAGES = ("INIT", "TIMING_UNCRITICAL", "LOCKING_REPEATER_BLOCKS", "LOCKING_SYNAPSE_DRIVERS",
          "NEURONS")
_CONTROLLERS = hal.CONTROLLERS


def _default_blocks():
    return {b: RepeaterBlockConfig(dll_reset=False) for b in coords.REPEATER_BLOCKS}


def _default_controllers():
    return {c: SynapseControllerConfig(dll_reset=False) for c in _CONTROLLERS}


def _default_bgs():
    return tuple(BackgroundGenerator(i, enable=False) for i in range(8))


@dataclass
class HICANNConfig:
    """Everything configured on one HICANN. Keys: repeaters by :class:`HRepeaterOnHICANN` /
    :class:`VRepeaterOnHICANN`; repeater blocks by block name (``coords.REPEATER_BLOCKS``);
    crossbar rows by ``(hline, side)``; synapse-switch rows by ``(side, line)``; drivers by line;
    synapse controllers by instance name; weights by SynapseRowOnHICANN (256 values); decoders by
    driver line (2 x 256 values); quads by QuadOnHICANN; floating gates by FGBlockOnHICANN
    (:class:`~bss1.host.hal_fg.FGBlockConfig`; blocks not given are not programmed: floating
    gates are not reset), programmed with the passes ``fg_passes``."""

    repeaters: dict = field(default_factory=dict)
    repeater_blocks: dict = field(default_factory=_default_blocks)
    crossbar: dict = field(default_factory=dict)
    synapse_switches: dict = field(default_factory=dict)
    drivers: dict = field(default_factory=dict)
    synapse_controllers: dict = field(default_factory=_default_controllers)
    weights: dict = field(default_factory=dict)
    decoders: dict = field(default_factory=dict)
    merger_tree: MergerTree = field(default_factory=MergerTree.default)
    phase: int = 0
    background_generators: tuple = field(default_factory=_default_bgs)
    gbit_link: GbitLink = field(default_factory=GbitLink)
    neuron_config: NeuronConfig = field(default_factory=NeuronConfig)
    quads: dict = field(default_factory=dict)
    neuron_builder_timing: SramTiming = field(default_factory=SramTiming)
    floating_gates: dict = field(default_factory=dict)
    fg_passes: tuple = DEFAULT_PASSES

    def check(self) -> list[str]:
        """sthal-like software checks: at most one closed crossbar switch per row side, a
        driver line listened to by at most one synapse-switch row side... returns problems."""
        problems = []
        for (hline, side), row in sorted(self.crossbar.items()):
            if sum(row) > 1:
                problems.append(f"crossbar HLine {hline} {side}: {sum(row)} switches closed")
        by_vline: dict[int, int] = {}
        for (hline, side), row in self.crossbar.items():
            for v, on in zip(hal.crossbar_side_vlines(hline, side), row):
                by_vline[v] = by_vline.get(v, 0) + bool(on)
        problems += [f"crossbar VLine {v}: {n} switches closed"
                     for v, n in sorted(by_vline.items()) if n > 1]
        return problems


class ConfigurationMismatch(RuntimeError):
    """Read-back differs from what was configured; ``mismatches`` lists
    ``(register description, expected, read)``."""

    def __init__(self, mismatches: list[tuple[str, object, object]]):
        self.mismatches = mismatches
        lines = [f"{where}: wrote {exp}, read {got}" for where, exp, got in mismatches]
        super().__init__(f"{len(mismatches)} register(s) differ after configuration:\n"
                         + "\n".join(lines))


# -- writes per stage ----------------------------------------------------------------------------
def _all_rows(name):
    inst = HICANN_MAP[name]
    reg = inst.type.reg("row")
    return [(inst.tag, inst.address("row", i), 0) for i in range(reg.count)]


def init_writes() -> list[hal.Write]:
    """halbe ``HICANN::init`` (§9.5 steps 1-5; weights and decoders are not zeroed)."""
    out = hal.spl1_reset_writes()
    for name in (*CROSSBAR_NAMES.values(), *SYNAPSE_SWITCH_NAMES.values()):
        out += _all_rows(name)
    for block in coords.REPEATER_BLOCKS:
        name = f"repeater_{block}"
        inst = HICANN_MAP[name]
        out += hal.sram_timing_writes(name, SramTiming())
        out += [(inst.tag, inst.address("repeater", i), 0)
                for i in range(inst.type.reg("repeater").count)]
        out.append(hal.block_write(name, "config", 0, RepeaterBlockConfig().config_word()))
    nb = HICANN_MAP["neuron_builder"]
    out += hal.sram_timing_writes("neuron_builder", SramTiming())
    out += [(nb.tag, nb.address("sram", i), 0) for i in range(512)]
    nc = HICANN_MAP["neuron_control"]
    out += [(nc.tag, nc.address(r.name, i), 0) for r in nc.type.registers for i in range(r.count)]
    for ctl in _CONTROLLERS:
        inst = HICANN_MAP[ctl]
        out += hal.sram_timing_writes(ctl, SramTiming())
        out += [(inst.tag, inst.address(s, r), 0) for s in DRIVER_SRAMS for r in range(224)]
    return out


def stage_writes(cfg: HICANNConfig, stage: str) -> list[hal.Write]:
    """The writes of ``stage`` (one of :data:`STAGES`) for ``cfg``."""
    return _stage_writes(cfg, stage, synapse_array=True)


def _stage_writes(cfg: HICANNConfig, stage: str, synapse_array: bool) -> list[hal.Write]:
    """:func:`stage_writes`; without ``synapse_array`` the weight and decoder row sequences are
    left out. Those write SYNIN and CTRL (not storage) and, as waits, the CNFG word of the
    held controller configuration that this stage has just written to the same controller, so
    they do not change :func:`expected_registers` (tested)."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} not one of {', '.join(STAGES)}")
    if stage == "INIT":
        return init_writes()
    if stage == "TIMING_UNCRITICAL":
        out = []
        held = {c: replace(cfg.synapse_controllers.get(c, SynapseControllerConfig()),
                           dll_reset=True) for c in _CONTROLLERS}
        for c in _CONTROLLERS:
            out += hal.synapse_controller_writes(c, held[c])
        for line, dec in sorted(cfg.decoders.items()) if synapse_array else ():
            out += hal.decoder_double_row_writes(line, dec, held[hal.driver_controller(line)])
        for row, w in sorted(cfg.weights.items()) if synapse_array else ():
            out += hal.weights_row_writes(row, w, held[hal.synapse_row_location(row)[0]])
        out += hal.phase_writes(cfg.phase)
        out += hal.gbit_link_writes(cfg.gbit_link)
        for side in ("left", "right"):
            for line in range(224):
                row = cfg.synapse_switches.get((side, line), (False,) * 16)
                out += hal.syndriver_switch_row_writes(side, line, row)
        for hline in range(64):
            for side in ("left", "right"):
                out += hal.crossbar_row_writes(hline, side,
                                               cfg.crossbar.get((hline, side), (False,) * 4))
        out += hal.merger_tree_writes(cfg.merger_tree)
        out += hal.background_generator_writes(cfg.background_generators)
        for coord in [HRepeaterOnHICANN(y) for y in range(64)] + \
                [VRepeaterOnHICANN(v) for v in range(256)]:
            out += hal.repeater_writes(coord, cfg.repeaters.get(coord, RepeaterConfig()))
        for line in range(224):
            out += hal.synapse_driver_writes(line, cfg.drivers.get(line, SynapseDriverConfig()))
        for block in coords.REPEATER_BLOCKS:
            b = cfg.repeater_blocks.get(block, RepeaterBlockConfig())
            out += hal.repeater_block_writes(block, replace(b, dll_reset=True, start_tdo=(0, 0),
                                                            start_tdi=(0, 0)))
        return out
    if stage == "LOCKING_REPEATER_BLOCKS":
        out = []
        for block in coords.REPEATER_BLOCKS:
            b = cfg.repeater_blocks.get(block, RepeaterBlockConfig(dll_reset=False))
            out.append(hal.repeater_block_writes(block, b)[-1])     # the config register only
        return out
    if stage == "LOCKING_SYNAPSE_DRIVERS":
        return [hal.synapse_controller_writes(c, _final_controller(cfg, c))[2]     # CNFG
                for c in _CONTROLLERS]
    out = hal.neuron_config_writes(cfg.neuron_config.held_in_reset())
    out += hal.sram_timing_writes("neuron_builder", cfg.neuron_builder_timing)
    for q in range(128):
        out += hal.denmem_quad_writes(q, cfg.quads.get(q, NeuronQuad()))
    out += hal.neuron_config_writes(cfg.neuron_config)
    return out


def _stage_plan(cfg: HICANNConfig, stages, progress):
    """Yields the writes of each of ``stages`` in order, calling ``progress`` before each. Every
    stage is encoded (and ``cfg`` checked) before the first one is yielded."""
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise ValueError(f"stage {bad[0]!r} not one of {', '.join(STAGES)}")
    problems = cfg.check()
    if problems:
        raise ValueError("HICANN config fails its checks: " + "; ".join(problems))
    plan = [(s, fg_stage_ops(cfg) if s == "TIMING_UNCRITICAL" else [], stage_writes(cfg, s))
            for s in stages]                        # everything encoded before writing
    for i, (stage, fg_ops, writes) in enumerate(plan):
        if progress is not None:
            progress(stage, i + 1, len(plan))
        log.info("stage %d/%d %s: %d writes, %d floating-gate ops", i + 1, len(plan), stage,
                 len(writes), len(fg_ops))
        yield fg_ops, writes, _settle_polls(writes)


_STATUS = SYNAPSE_CONTROLLER.reg("status")


def _settle_polls(writes) -> list:
    """Polls of STATUS.syndrv_busy of every synapse controller whose driver SRAMs ``writes``
    touch: the SRAM sequencer writes them one by one after the bus access, and a stage that
    releases the drivers (or an experiment) must not start before the last one landed."""
    names = set()
    for tag, addr, _ in writes:
        for name in _CONTROLLERS:
            inst = HICANN_MAP[name]
            if tag == inst.tag and inst.contains(addr):
                _, reg, _ = HICANN_MAP.decode(tag, addr, True)
                if reg.name in DRIVER_SRAMS:
                    names.add(name)
    busy = _STATUS.field("syndrv_busy").mask
    return [Poll(HICANN_MAP[n].tag, HICANN_MAP[n].address("status"), busy, 0)
            for n in _CONTROLLERS if n in names]


def fg_stage_ops(cfg: HICANNConfig) -> list:
    """The floating-gate programming ops of ``cfg`` (first part of TIMING_UNCRITICAL)."""
    if not cfg.floating_gates:
        return []
    return hal_fg.fg_program_ops(cfg.floating_gates, cfg.fg_passes)


def _n_writes(fg_ops) -> int:
    return sum(1 for op in fg_ops if not isinstance(op, (Wait, Poll)))


def configure(link, cfg: HICANNConfig, *, stages=STAGES,
              progress: Callable[[str, int, int], None] | None = None) -> int:
    """Write ``cfg`` through ``link`` in ``stages`` order (a subsequence of :data:`STAGES`);
    ``progress(stage, number, total)`` is called before each stage. Returns the number of
    writes. Floating gates need ``link.wait`` for their programming time (without it the host
    only polls)."""
    n = 0
    for fg_ops, writes, settle in _stage_plan(cfg, stages, progress):
        if fg_ops:
            hal_fg.run_fg_ops(link, fg_ops)
        link.writes(writes)
        if settle:
            hal_fg.run_fg_ops(link, settle)
        n += len(writes) + _n_writes(fg_ops)
    return n


async def _run_fg_ops_async(link, ops, max_polls: int = 1000) -> None:
    for op in ops:
        if isinstance(op, Wait):
            await link.flush()
            if hasattr(link, "wait"):
                await link.wait(op.pll_cycles)
        elif isinstance(op, Poll):
            for _ in range(max_polls):
                handle = link.read(op.tag, op.addr)
                await link.flush()
                if handle.data & op.mask == op.value:
                    break
            else:
                raise TimeoutError(f"tag {op.tag} address {op.addr:#06x}: no {op.value:#x} "
                                   f"under mask {op.mask:#x} after {max_polls} reads")
        else:
            link.write(*op)


async def configure_async(link, cfg: HICANNConfig, *, stages=STAGES,
                          progress: Callable[[str, int, int], None] | None = None) -> int:
    """:func:`configure` over an asynchronous link (``writes`` queues, ``await flush()``
    transmits, e.g. :class:`~bss1.host.cocotb_link.CocotbConfigLink`): each stage is flushed,
    i.e. acknowledged by the chip, before the next one starts; floating-gate waits are
    ``await link.wait(pll_cycles)`` where the link has it."""
    n = 0
    for fg_ops, writes, settle in _stage_plan(cfg, stages, progress):
        if fg_ops:
            await _run_fg_ops_async(link, fg_ops)
        link.writes(writes)
        await link.flush()
        if settle:
            await _run_fg_ops_async(link, settle)
        n += len(writes) + _n_writes(fg_ops)
    return n


# -- verification --------------------------------------------------------------------------------
_NOT_STORAGE = {"testport", "status", "ctrl", "synin", "synout", "syncorr"}


def _describe(tag: int, addr: int) -> tuple[str, object]:
    inst, reg, index = HICANN_MAP.decode(tag, addr, False)
    idx = f"[{index}]" if reg.count > 1 else ""
    return f"{inst.name}.{reg.name}{idx} (tag {tag} address {addr:#06x})", reg


def expected_registers(writes) -> dict[tuple[int, int], int]:
    """``{(tag, addr): word}``: the last word written to each readable storage register."""
    out = {}
    for tag, addr, data in writes:
        try:
            inst, reg, _ = HICANN_MAP.decode(tag, addr, False)
        except RegisterMapError:
            continue            # write-only register (block config, GbitLink)
        if reg.name in _NOT_STORAGE or not reg.writable:
            continue
        mask = sum(f.mask for f in reg.fields) if reg.fields else (1 << reg.width) - 1
        out[(tag, addr)] = data & mask
    return out


def _sram_controller(tag: int, addr: int) -> str | None:
    inst, reg, _ = HICANN_MAP.decode(tag, addr, False)
    return inst.name if reg.name in DRIVER_SRAMS else None


def _register_query(expected) -> Query:
    """Reads of all ``expected`` registers. Driver-SRAM reads return the word of the previous
    SRAM read of the same controller (two-access read, §9.3), so each controller's SRAM words
    are read back to back, the last address once more: n + 1 reads for n words."""
    keys = sorted(expected)
    sram = [_sram_controller(*k) for k in keys]
    ops = []
    slot = []           # index in the read data holding each key's value
    for i, key in enumerate(keys):
        ops.append(key)
        if sram[i] is None:
            slot.append(len(ops) - 1)
            continue
        slot.append(len(ops))           # answered by the next read
        if i + 1 == len(keys) or sram[i + 1] != sram[i]:
            ops.append(key)

    def decode(words):
        return {key: words[j] for key, j in zip(keys, slot)}
    return Query(tuple(ops), decode)


def _verify_plan(cfg: HICANNConfig, stages, synapses: bool):
    """``(queries, check)``: the read-back queries of :func:`verify` and ``check(results)``,
    which compares their decoded results with ``cfg`` (raises :class:`ConfigurationMismatch`,
    returns the number of registers and rows compared)."""
    writes = [w for s in stages for w in _stage_writes(cfg, s, synapse_array=False)]
    expected = expected_registers(writes)
    queries = [_register_query(expected)]
    syn_items = []
    if synapses:
        for row, w in sorted(cfg.weights.items()):
            ctl = _final_controller(cfg, hal.synapse_row_location(row)[0])
            queries.append(hal.weights_row_query(row, ctl))
            syn_items.append((f"weights of SynapseRowOnHICANN {row}", tuple(w)))
        for line, dec in sorted(cfg.decoders.items()):
            ctl = _final_controller(cfg, hal.driver_controller(line))
            queries.append(hal.decoder_double_row_query(line, ctl))
            syn_items.append((f"decoders of synapse driver {line}",
                              tuple(tuple(r) for r in dec)))

    fg_items = []
    if "TIMING_UNCRITICAL" in stages:
        for block, fgc in sorted(cfg.floating_gates.items()):
            queries.append(hal_fg.fg_block_query(block))
            fg_items.append((block, hal_fg.expected_fg_readback(block, fgc, cfg.fg_passes)))

    def check(results) -> int:
        got = results[0]
        mismatches = []
        for key in sorted(expected):
            if got[key] != expected[key]:
                where, reg = _describe(*key)
                digits = (reg.width + 3) // 4
                mismatches.append((where, f"{expected[key]:#0{digits + 2}x}",
                                   f"{got[key]:#0{digits + 2}x}"))
        fg_results = results[1 + len(syn_items):]
        for (block, exp), value in zip(fg_items, fg_results):
            name = f"floating-gate block {block}"
            for b in range(2):
                if value.ram[b] != exp.ram[b]:
                    diff = [i for i, (a, c) in enumerate(zip(exp.ram[b], value.ram[b])) if a != c]
                    mismatches.append((f"{name} RAM bank {b}", "configured values",
                                       f"{len(diff)} differing, first at column {diff[0]}"))
            if value.config != exp.config:
                mismatches.append((f"{name} OP/BIAS", f"{exp.config}", f"{value.config}"))
            if (value.busy, value.error) != (0, 0):
                mismatches.append((f"{name} SLAVE", "busy 0 error 0",
                                   f"busy {value.busy} error {value.error}"))
        for (what, exp), value in zip(syn_items, results[1:]):
            if value != exp:
                diff = [i for i, (a, b) in enumerate(zip(_flat(exp), _flat(value))) if a != b]
                mismatches.append((what, "configured values", f"{len(diff)} differing, first "
                                                              f"at index {diff[0]}"))
        if mismatches:
            raise ConfigurationMismatch(mismatches)
        return len(expected) + len(syn_items) + len(fg_items)
    return queries, check


def verify(link, cfg: HICANNConfig, *, stages=STAGES, synapses: bool = True) -> int:
    """Read back what :func:`configure` wrote for ``cfg`` and compare; raises
    :class:`ConfigurationMismatch`. ``synapses``: also read the configured weight rows and
    decoder double rows. Returns the number of registers (and rows) compared."""
    queries, check = _verify_plan(cfg, stages, synapses)
    return check(run_queries(link, queries))


async def verify_async(link, cfg: HICANNConfig, *, stages=STAGES, synapses: bool = True) -> int:
    """:func:`verify` over an asynchronous link (:func:`~bss1.host.hal_link.run_queries_async`,
    e.g. a :class:`~bss1.host.cocotb_link.CocotbConfigLink`)."""
    queries, check = _verify_plan(cfg, stages, synapses)
    return check(await run_queries_async(link, queries))


def _final_controller(cfg: HICANNConfig, name: str) -> SynapseControllerConfig:
    return cfg.synapse_controllers.get(name, SynapseControllerConfig(dll_reset=False))


def _flat(x):
    return [v for r in x for v in r] if x and isinstance(x[0], tuple) else list(x)


# -- random configurations for tests -------------------------------------------------------------
def random_synapse_driver(rng: random.Random) -> SynapseDriverConfig:
    def row():
        return RowConfig(syn_in=(rng.randrange(2), rng.randrange(2)), selgmax=rng.randrange(4),
                         gmax_div=(rng.randrange(16), rng.randrange(16)),
                         decoder=(rng.randrange(4), rng.randrange(4)))
    return SynapseDriverConfig(enable=int(rng.random() < 0.8), locin=int(rng.random() < 0.5),
                               connect_neighbor=int(rng.random() < 0.3),
                               stp_enable=rng.randrange(2), stp_mode=rng.randrange(2),
                               stp_cap=rng.randrange(8), rows=(row(), row()))


def random_merger_tree(rng: random.Random) -> MergerTree:
    """Random modes and slow flags for all 23 mergers, random legal DNC loopbacks."""
    tree = MergerTree()
    modes = list(MergerMode)
    for m in ([Merger0(i) for i in range(8)] + [Merger1(j) for j in range(4)]
              + [Merger2(j) for j in range(2)] + [Merger3()]):
        tree[m] = MergerConfig(rng.choice(modes), slow=rng.random() < 0.3)
    for d in range(8):
        tree[DNCMerger(d)] = MergerConfig(rng.choice(modes), slow=rng.random() < 0.5)
    for target in range(0, 8, 2):
        r = rng.random()
        if r < 0.2:
            tree.set_loopback(target)
        elif r < 0.4:
            tree.set_loopback(target + 1)
    return tree


def _random_repeater(rng: random.Random, sending: bool) -> RepeaterConfig:
    M, D = hal.RepeaterMode, hal.Direction
    choices = [RepeaterConfig(), RepeaterConfig(M.FORWARDING, D.INWARD),
               RepeaterConfig(M.FORWARDING, D.OUTWARD), RepeaterConfig(M.INPUT, D.INWARD)]
    if sending:
        choices += [RepeaterConfig(M.OUTPUT, D.INWARD), RepeaterConfig(M.OUTPUT, D.BOTH)]
    return rng.choice(choices)


def random_hicann_config(seed: int, *, synapses: bool = False, all_synapses: bool = False,
                         floating_gates: bool = False) -> HICANNConfig:
    """A random, check-clean configuration of every digital block; ``synapses`` adds a few random
    weight rows and decoder double rows, ``all_synapses`` all 448 weight rows and 224 decoder
    double rows, ``floating_gates`` random values for all four FG blocks (passes: the default;
    set ``fg_passes`` for another timing)."""
    rng = random.Random(seed)
    cfg = HICANNConfig()
    for y in range(64):
        cfg.repeaters[HRepeaterOnHICANN(y)] = _random_repeater(rng, coords.is_sending_hline(y))
    for v in range(256):
        cfg.repeaters[VRepeaterOnHICANN(v)] = _random_repeater(rng, False)
    for block in coords.REPEATER_BLOCKS:
        cfg.repeater_blocks[block] = RepeaterBlockConfig(
            dll_reset=False, fextcap=(rng.random() < 0.5, rng.random() < 0.5),
            timing=SramTiming(rng.randrange(256), rng.randrange(16), rng.randrange(16)))
    used_v = set()
    for hline in rng.sample(range(64), 24):           # one switch per row, per VLine
        side = rng.choice(("left", "right"))
        k = rng.randrange(4)
        v = hal.crossbar_side_vlines(hline, side)[k]
        if v in used_v:
            continue
        used_v.add(v)
        cfg.crossbar[(hline, side)] = tuple(i == k for i in range(4))
    for side in ("left", "right"):
        for line in rng.sample(range(224), 40):
            d = rng.randrange(16)
            cfg.synapse_switches[(side, line)] = tuple(i == d for i in range(16))
    for line in range(224):
        cfg.drivers[line] = random_synapse_driver(rng)
    for c in _CONTROLLERS:
        lut = hal.STDPLUT(*(tuple(rng.randrange(16) for _ in range(16)) for _ in range(3)))
        cfg.synapse_controllers[c] = SynapseControllerConfig(
            pattern0=rng.randrange(16), pattern1=rng.randrange(16), gen=rng.randrange(16),
            dll_reset=False, lut=lut, syn_rst=rng.randrange(1 << 32),
            timing=SramTiming(rng.randrange(1, 16), rng.randrange(1, 8), rng.randrange(1, 8)))
    cfg.merger_tree = random_merger_tree(rng)
    cfg.phase = rng.randrange(256)
    cfg.background_generators = tuple(BackgroundGenerator(
        i, enable=rng.random() < 0.5, random=rng.random() < 0.3,
        period=rng.randrange(20, 65536), address=rng.randrange(64),
        seed=rng.randrange(1, 1 << 16)) for i in range(8))
    cfg.gbit_link = GbitLink(tuple(rng.choice(list(GbitLinkDirection)) for _ in range(8)),
                             rng.random() < 0.5)
    cfg.neuron_config = NeuronConfig(**{k: rng.random() < 0.5 for k in (
        "ra_fast_b", "gla_fast_b", "gl_fast_b", "ra_fast_t", "gla_fast_t", "gl_fast_t",
        "ra_slow_b", "gla_slow_b", "gl_slow_b", "ra_slow_t", "gla_slow_t", "gl_slow_t",
        "bigcap_b", "bigcap_t")})
    for q in range(128):
        cfg.quads[q] = _random_quad(rng)
    cfg.neuron_builder_timing = SramTiming(rng.randrange(256), rng.randrange(16),
                                           rng.randrange(16))
    if floating_gates:
        for b in range(4):
            cfg.floating_gates[b] = hal_fg.FGBlockConfig(
                tuple(tuple(rng.randrange(1024) for _ in range(129)) for _ in range(24)))
    if all_synapses:
        for row in range(448):
            cfg.weights[row] = tuple(rng.randrange(16) for _ in range(256))
        for line in range(224):
            cfg.decoders[line] = tuple(tuple(rng.randrange(16) for _ in range(256))
                                       for _ in range(2))
    elif synapses:
        for row in rng.sample(range(448), 4):
            cfg.weights[row] = tuple(rng.randrange(16) for _ in range(256))
        for line in rng.sample(range(224), 2):
            cfg.decoders[line] = tuple(tuple(rng.randrange(16) for _ in range(256))
                                       for _ in range(2))
    return cfg


def routed_hicann_config(period: int = 150, rows_per_channel: int = 4):
    """The routing of :func:`bss1.host.scenarios.routed_traffic` as a HICANNConfig: BG ``i``
    (regular, ISI ``period`` cycles) -> merger tree one on one -> DNC merger -> sending HLine of
    its channel -> one crossbar switch -> a VLine -> ``rows_per_channel`` synapse-switch rows
    -> those drivers (decoders matching the address's upper bits). Returns ``(cfg, {HW channel:
    L1 address})``."""
    cfg = HICANNConfig()
    tree = MergerTree.one_on_one()
    for d in range(8):
        tree[DNCMerger(d)] = MergerConfig(MergerMode.RIGHT_ONLY, slow=True)
    cfg.merger_tree = tree
    address = {c: 16 * (c % 4) + 5 for c in range(8)}
    cfg.background_generators = tuple(
        BackgroundGenerator(i, period=bg_period_for_isi(period),
                            address=address[coords.sw_to_hw8(i)]) for i in range(8))
    for c in range(8):
        y = coords.sending_hline(c)
        v = coords.crossbar_vlines(y)[c % 4 if c < 4 else 4 + c % 4]
        side = "left" if v < 128 else "right"
        cfg.repeaters[HRepeaterOnHICANN(y)] = RepeaterConfig(hal.RepeaterMode.OUTPUT,
                                                             hal.Direction.INWARD)
        vs = hal.crossbar_side_vlines(y, side)
        cfg.crossbar[(y, side)] = tuple(x == v for x in vs)
        lines = [L for L in range(224) if coords.synapse_switch_exists(v, side, L)
                 and coords.synapse_switch_target(side, L)[0] == "local"][:rows_per_channel]
        msb = address[c] >> 4
        row = RowConfig(syn_in=(1, 0), decoder=(msb, msb))
        for L in lines:
            sv = coords.synapse_switch_vlines(side, L)
            cfg.synapse_switches[(side, L)] = tuple(x == v for x in sv)
            cfg.drivers[L] = SynapseDriverConfig(enable=1, locin=1, rows=(row, row))
    return cfg, address


def _random_quad(rng: random.Random) -> NeuronQuad:
    flags = [rng.choice(hal.INOUT_CODES) for _ in range(2)]
    neurons = []
    for k in range(4):
        x, y = k % 2, k // 2
        f = flags[y]
        neurons.append(Neuron(address=rng.randrange(64), activate_firing=rng.random() < 0.5,
                              enable_spl1_output=rng.random() < 0.5,
                              enable_fire_input=rng.random() < 0.2,
                              enable_aout=bool(f >> (0 if x else 1) & 1),
                              enable_current_input=bool(f >> (2 if x else 3) & 1)))
    return NeuronQuad(tuple(neurons), (rng.random() < 0.2, rng.random() < 0.2),
                      (rng.random() < 0.2, rng.random() < 0.2))
