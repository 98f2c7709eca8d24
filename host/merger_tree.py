"""Host-side encoders for the event sources of one HICANN, in user (halbe-like) coordinates
(spec hicann-digital.md §7.1, §7.3-7.5, §12.3).

* :class:`MergerTree`: ``Merger0(i)`` .. ``Merger3(0)`` and ``DNCMerger(d)`` in SW coordinates, each
  with a :class:`MergerMode` (LEFT_ONLY = input 1, RIGHT_ONLY = input 0, MERGE) and ``slow``;
  presets :meth:`MergerTree.default` (= :meth:`MergerTree.one_on_one`); DNC loopback (at most one
  direction per pair). :meth:`MergerTree.writes` gives the neuron-control register words.
* :class:`BackgroundGenerator` settings and :func:`bg_writes`: the write sequence that enables the
  BGs one after another, rewriting the shared seed before each (the LFSR loads the seed on the
  rising edge of its enable bit). :func:`bg_period_for_isi` converts a target ISI to a period.
* :func:`nb_entry`: neuron-builder SRAM word of one denmem (SW ``NeuronOnHICANN(x, y)``).

SW -> HW: Merger0(i) -> bit 7 - i, Merger1(j) -> 11 - j, Merger2(j) -> 13 - j, Merger3 -> 14,
DNCMerger / BG / phase index i -> 7 - i (:mod:`bss1.models.coords`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from bss1.models.coords import (MERGER_LEVEL_SIZES, check_range, merger_hw_bit,
                                neuron_nb_address, rev_bits, sw_to_hw8)
from bss1.rtl.registers import NB_ENTRY, NEURON_BUILDER, NEURON_CONTROL

__all__ = ["MergerMode", "MergerConfig", "Merger0", "Merger1", "Merger2", "Merger3", "DNCMerger",
           "MergerTree", "BackgroundGenerator", "bg_writes", "bg_period_for_isi", "nb_entry",
           "neuron_config_word"]

_NC = NEURON_CONTROL


class MergerMode(enum.Enum):
    RIGHT_ONLY = "right_only"   # select = 0: input 0 (neuron block / tree / DNC: tree side)
    LEFT_ONLY = "left_only"     # select = 1: input 1 (BG / tree / DNC: L2 side)
    MERGE = "merge"             # enable = 1: round robin over both inputs


@dataclass(frozen=True)
class MergerConfig:
    mode: MergerMode = MergerMode.MERGE
    slow: bool = False


@dataclass(frozen=True)
class _MergerCoord:
    index: int
    level = -1

    def __post_init__(self):
        check_range(f"{type(self).__name__} index", self.index, 0, self._size() - 1)

    def _size(self) -> int:
        return MERGER_LEVEL_SIZES[self.level]

    @property
    def hw_bit(self) -> int:
        """Bit in the neuron-control merger registers (DNC mergers: channel bit)."""
        return merger_hw_bit(self.level, self.index)


@dataclass(frozen=True)
class Merger0(_MergerCoord):
    level = 0


@dataclass(frozen=True)
class Merger1(_MergerCoord):
    level = 1


@dataclass(frozen=True)
class Merger2(_MergerCoord):
    level = 2


@dataclass(frozen=True)
class Merger3(_MergerCoord):
    index: int = 0
    level = 3


@dataclass(frozen=True)
class DNCMerger(_MergerCoord):
    def _size(self) -> int:
        return 8

    @property
    def hw_bit(self) -> int:
        return sw_to_hw8(self.index)


_TREE = tuple(cls(i) for cls, n in zip((Merger0, Merger1, Merger2, Merger3), MERGER_LEVEL_SIZES)
              for i in range(n))
_DNC = tuple(DNCMerger(d) for d in range(8))


@dataclass
class MergerTree:
    """SW merger configuration; ``tree[Merger1(3)] = MergerConfig(MergerMode.LEFT_ONLY)``."""

    configs: dict = field(default_factory=lambda: {
        **{m: MergerConfig() for m in _TREE},
        **{d: MergerConfig(MergerMode.RIGHT_ONLY) for d in _DNC}})
    loopback: set = field(default_factory=set)

    def __getitem__(self, merger) -> MergerConfig:
        return self.configs[self._check(merger)]

    def __setitem__(self, merger, config: MergerConfig):
        if not isinstance(config, MergerConfig):
            raise TypeError(f"merger config {config!r} is not a MergerConfig")
        self.configs[self._check(merger)] = config

    @staticmethod
    def _check(merger):
        if merger not in _TREE and merger not in _DNC:
            raise ValueError(f"merger {merger!r} is not one of Merger0(0..7), Merger1(0..3), "
                             f"Merger2(0..1), Merger3(0), DNCMerger(0..7)")
        return merger

    @classmethod
    def one_on_one(cls) -> "MergerTree":
        """halbe default: neuron block d reaches DNC merger d (depths 1/2/3/4 tree mergers)."""
        t = cls()
        left, right = MergerConfig(MergerMode.LEFT_ONLY), MergerConfig(MergerMode.RIGHT_ONLY)
        for j in range(3):
            t[Merger1(j)] = right
        t[Merger1(3)] = left
        t[Merger2(0)] = right
        t[Merger2(1)] = left
        t[Merger3()] = left
        return t

    default = one_on_one

    def set_loopback(self, target: int, on: bool = True) -> None:
        """Loop the pair channel's output into DNCMerger(``target``)'s L2 input (SW index)."""
        check_range("DNCMerger", target, 0, 7)
        if on and (target ^ 1) in self.loopback:
            raise ValueError(f"loopback into DNCMerger {target!r} conflicts with the loopback "
                             f"into its pair DNCMerger {target ^ 1}; allowed: one direction per "
                             f"pair")
        (self.loopback.add if on else self.loopback.discard)(target)

    def registers(self) -> dict[str, int]:
        """Register words ``{register name: word}`` of the neuron-control block."""
        en = sel = slow = 0
        for m in _TREE:
            c = self.configs[m]
            en |= (c.mode is MergerMode.MERGE) << m.hw_bit
            sel |= (c.mode is MergerMode.LEFT_ONLY) << m.hw_bit
            slow |= bool(c.slow) << m.hw_bit
        d_en = d_sel = d_slow = lb = 0
        for d in _DNC:
            c = self.configs[d]
            d_en |= (c.mode is MergerMode.MERGE) << d.hw_bit
            d_sel |= (c.mode is MergerMode.LEFT_ONLY) << d.hw_bit
            d_slow |= bool(c.slow) << d.hw_bit
        for target in self.loopback:
            lb |= 1 << sw_to_hw8(target)
        return {
            "merger_enable": _NC.reg("merger_enable").encode(mergers=en),
            "merger_select": _NC.reg("merger_select").encode(mergers=sel),
            "merger_slow": _NC.reg("merger_slow").encode(mergers=slow),
            "dnc_loopback_select": _NC.reg("dnc_loopback_select").encode(loopback=lb,
                                                                         select=d_sel),
            "dnc_enable_slow": _NC.reg("dnc_enable_slow").encode(enable=d_en, slow=d_slow),
        }

    @classmethod
    def from_registers(cls, words: dict[str, int]) -> "MergerTree":
        """Inverse of :meth:`registers` (a merger with enable set is MERGE whatever its select)."""
        f = {name: _NC.reg(name).decode(words[name]) for name in (
            "merger_enable", "merger_select", "merger_slow", "dnc_loopback_select",
            "dnc_enable_slow")}

        def config(enable, select, slow, bit):
            mode = (MergerMode.MERGE if enable >> bit & 1 else
                    MergerMode.LEFT_ONLY if select >> bit & 1 else MergerMode.RIGHT_ONLY)
            return MergerConfig(mode, bool(slow >> bit & 1))
        t = cls()
        for m in _TREE:
            t.configs[m] = config(f["merger_enable"]["mergers"], f["merger_select"]["mergers"],
                                  f["merger_slow"]["mergers"], m.hw_bit)
        for d in _DNC:
            t.configs[d] = config(f["dnc_enable_slow"]["enable"],
                                  f["dnc_loopback_select"]["select"],
                                  f["dnc_enable_slow"]["slow"], d.hw_bit)
        lb = f["dnc_loopback_select"]["loopback"]
        for target in range(8):
            if lb >> sw_to_hw8(target) & 1:
                t.set_loopback(target)
        return t

    def writes(self) -> list[tuple[int, int]]:
        """``[(local address, word), ...]`` for the neuron-control block."""
        return [(_NC.reg(name).address(), word) for name, word in self.registers().items()]


# -- background generators, §7.3 ---------------------------------------------------------------
@dataclass(frozen=True)
class BackgroundGenerator:
    """Settings of SW BG ``index`` (HW BG 7 - index)."""

    index: int
    enable: bool = True
    random: bool = False
    period: int = 0
    address: int = 0
    seed: int = 0

    def __post_init__(self):
        check_range("BackgroundGenerator index", self.index, 0, 7)
        check_range("BG period", self.period, 0, 0xFFFF)
        check_range("BG address", self.address, 0, 63)
        check_range("BG seed", self.seed, 0, 0xFFFF)


def bg_writes(bgs) -> list[tuple[int, int]]:
    """Write sequence configuring the given BGs: all disabled (mode bits set), periods, addresses,
    then for each enabled BG (in list order) its seed followed by its enable bit."""
    by_hw: dict[int, BackgroundGenerator] = {}
    for bg in bgs:
        hw = sw_to_hw8(bg.index)
        if hw in by_hw:
            raise ValueError(f"BackgroundGenerator {bg.index!r} given twice")
        by_hw[hw] = bg
    ctl, seed_reg = _NC.reg("bg_control"), _NC.reg("bg_seed")
    random = sum(int(bg.random) << hw for hw, bg in by_hw.items())
    out = [(ctl.address(), ctl.encode(enable=0, random=random))]
    for hw, bg in sorted(by_hw.items()):
        out.append((_NC.reg("bg_period").address(hw),
                    _NC.reg("bg_period").encode(period=bg.period)))
    addr_reg = _NC.reg("bg_address")
    for j in range(4):
        even, odd = by_hw.get(2 * j), by_hw.get(2 * j + 1)
        if even or odd:
            out.append((addr_reg.address(j), addr_reg.encode(even=even.address if even else 0,
                                                             odd=odd.address if odd else 0)))
    enable = 0
    for bg in bgs:
        if bg.enable:
            enable |= 1 << sw_to_hw8(bg.index)
            out.append((seed_reg.address(), seed_reg.encode(seed=bg.seed)))
            out.append((ctl.address(), ctl.encode(enable=enable, random=random)))
    return out


def bg_period_for_isi(isi: int, random: bool = False) -> int:
    """BG period for a (mean) inter-spike interval ``isi`` in core-clock cycles.

    Regular: period = isi - 1 (isi 1..65536). Random: period = floor(65535 * (1 - 2 / isi)),
    isi 4..32768 (halbe's range; the maximum rate is one event per 4 cycles).
    """
    if random:
        check_range("random BG mean ISI", isi, 4, 32768)
        return 65535 * (isi - 2) // isi
    return check_range("regular BG ISI", isi, 1, 65536) - 1


# -- neuron builder, §7.1 ----------------------------------------------------------------------
def nb_entry(x: int, y: int, address: int, fire: bool = True, vertical: bool = False,
             nmem_top: int = 0, nmem_bot: int = 0) -> tuple[int, int]:
    """``(neuron-builder local address, SRAM word)`` for denmem NeuronOnHICANN(x, y) sending L1
    ``address`` when ``fire`` (firet for top denmems y = 0, fireb for bottom ones)."""
    n = neuron_nb_address(x, y)
    check_range("L1 address", address, 0, 63)
    fire_field = "firet" if y == 0 else "fireb"
    word = NB_ENTRY.encode(spl1_rev=rev_bits(address, 6), vertical=int(vertical),
                           nmem_top=nmem_top, nmem_bot=nmem_bot, **{fire_field: int(fire)})
    return NB_ENTRY.address(n), word


def neuron_config_word(**fields: int) -> int:
    """Neuron-builder ``neuron_config`` word; resets default to *released* (1)."""
    values = {"spl1_reset_n": 1, "neuron_reset_n_b": 1, "neuron_reset_n_t": 1, **fields}
    return NEURON_BUILDER.reg("neuron_config").encode(**values)
