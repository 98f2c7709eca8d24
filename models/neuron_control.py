"""Reference model of the event sources of one HICANN: neuron builder, priority encoders,
background generators, merger tree and DNC mergers (spec hicann-digital.md §7, §11, §12.1-12.3).

Cycle-identical to :class:`bss1.rtl.neuron_control.NeuronControl` (latencies, arbitration, losses;
the rules are in the docstrings of :mod:`bss1.rtl.priority_encoder`, :mod:`bss1.rtl.background`,
:mod:`bss1.rtl.merger`) and configured through the same register writes. A :meth:`write` between
two :meth:`step` calls corresponds to a bus write whose register update happens at the clock edge
between those two cycles.

Differences on purpose: the model refuses writes the chip accepts but that are illegal (loopback on
both channels of a DNC pair: :class:`~bss1.rtl.regmap.RegisterMapError`, nothing applied) and
warns when an enabled random-mode BG holds LFSR 0 (seed 0 locks the LFSR; the ESS substitutes 1).
"""

from __future__ import annotations

import operator
import warnings

from bss1.rtl.background import LFSR_TAPS
from bss1.rtl.neuron_builder import field_mask
from bss1.rtl.regmap import BlockType, RegisterMapError
from bss1.rtl.registers import NB_ENTRY, NEURON_BUILDER, NEURON_CONTROL

from .coords import rev_bits
from .merger import MergerTreeModel

__all__ = ["NeuronControlModel"]

_BLOCKS = {"neuron_control": NEURON_CONTROL, "neuron_builder": NEURON_BUILDER}
_N_DENMEMS = NB_ENTRY.count
_MASK32 = (1 << 32) - 1


def _spans(bt: BlockType, write: bool) -> str:
    """Human-readable list of the local address ranges of ``bt`` (for error messages)."""
    spans = sorted((r.offset, r.end - 1) for r in bt.registers
                   if (r.writable if write else r.readable))
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return ", ".join(f"{lo:#x}..{hi:#x}" for lo, hi in merged)


def _lfsr_step(x: int) -> int:
    fb = 0
    for t in LFSR_TAPS:
        fb ^= (x >> t) & 1
    return ((x << 1) & 0xFFFF) | fb


class NeuronControlModel:
    """Behavioural twin of ``NeuronControl``.

    ``write(block, local_addr, data)`` / ``read(block, local_addr)`` with ``block`` =
    ``"neuron_control"`` or ``"neuron_builder"``; ``step(fire_indices, l2_rx)`` clocks one cycle and
    returns ``{channel: addr}`` of the DNC merger output registers *in that cycle* (they do not
    depend on the cycle's inputs). Counters ``lost``, ``lost_pe``, ``lost_merger``, ``lost_rx``
    include the losses of all completed cycles (like the gateware's registered counters).
    """

    def __init__(self):
        self._regs: dict[tuple[str, str, int], int] = {}
        for name, bt in _BLOCKS.items():
            for reg in bt.registers:
                if reg is not NB_ENTRY:
                    for i in range(reg.count):
                        self._regs[name, reg.name, i] = 0
        self._sram = [0] * _N_DENMEMS
        self._fire_enable = [0] * 8          # per neuron block, bit = PE input
        self._address = [0] * _N_DENMEMS     # un-reversed L1 address per entry
        self._pending = [0] * 8
        self._cooldown = [False] * 8
        self._count = [0] * 8
        self._lfsr = [0] * 8
        self._was_low = [False] * 8
        self.tree = MergerTreeModel()
        self.lost = self.lost_pe = self.lost_merger = self.lost_rx = 0

    # -- configuration -----------------------------------------------------------------------------
    def _lookup(self, block: str, local_addr: int, write: bool):
        bt = _BLOCKS.get(block) if isinstance(block, str) else None
        if bt is None:
            raise RegisterMapError(f"block {block!r} is not one of "
                                   f"{', '.join(repr(b) for b in _BLOCKS)}")
        hit = bt.lookup(local_addr, write) if isinstance(local_addr, int) else None
        if hit is None:
            kind = "writable" if write else "readable"
            raise RegisterMapError(f"{block}: local address {local_addr!r} is not a {kind} "
                                   f"register; allowed: {_spans(bt, write)}")
        return hit

    def _nc(self, reg: str, field: str, index: int = 0) -> int:
        f = NEURON_CONTROL.reg(reg).field(field)
        return (self._regs["neuron_control", reg, index] >> f.lsb) & ((1 << f.width) - 1)

    def write(self, block: str, local_addr: int, data: int) -> None:
        reg, index = self._lookup(block, local_addr, write=True)
        reg.check_word(data)
        word = data & field_mask(reg)
        if reg is NB_ENTRY:
            self._write_entry(index, word)
            return
        if block == "neuron_control" and reg.name == "dnc_loopback_select":
            lb = reg.decode(word)["loopback"]
            both = [p for p in range(0, 8, 2) if (lb >> p) & 3 == 3]
            if both:
                p = both[0]
                raise RegisterMapError(
                    f"dnc_loopback_select: loopback {lb:#04x} sets both channels of pair "
                    f"{p}/{p + 1}; allowed: at most one channel per pair (0/1, 2/3, 4/5, 6/7)")
        old_enable = self._nc("bg_control", "enable")
        self._regs[block, reg.name, index] = word
        if block == "neuron_control":
            self._apply_control(old_enable, reg.name)

    def _write_entry(self, n: int, word: int) -> None:
        self._sram[n] = word
        f = NB_ENTRY.decode(word)
        b, i = divmod(n, 64)
        enable = f["firet"] if n % 2 else f["fireb"]
        self._fire_enable[b] = (self._fire_enable[b] & ~(1 << i)) | (enable << i)
        self._address[n] = rev_bits(f["spl1_rev"], 6)

    def _apply_control(self, old_enable: int, reg_name: str) -> None:
        t = self.tree
        t.enable = self._nc("merger_enable", "mergers")
        t.select = self._nc("merger_select", "mergers")
        t.slow = self._nc("merger_slow", "mergers")
        t.loopback = self._nc("dnc_loopback_select", "loopback")
        t.dnc_select = self._nc("dnc_loopback_select", "select")
        t.dnc_enable = self._nc("dnc_enable_slow", "enable")
        t.dnc_slow = self._nc("dnc_enable_slow", "slow")
        if reg_name != "bg_control":
            return
        enable = self._nc("bg_control", "enable")
        random = self._nc("bg_control", "random")
        seed = self._nc("bg_seed", "seed")
        for k in range(8):
            if (enable >> k) & 1 and not (old_enable >> k) & 1:      # rising edge: load seed
                self._lfsr[k], self._count[k], self._was_low[k] = seed, 0, False
            if (enable >> k) & (random >> k) & 1 and self._lfsr[k] == 0:
                warnings.warn(f"BG {k}: random mode with LFSR 0 (seed 0 locks the LFSR): "
                              f"it will emit no events", RuntimeWarning, stacklevel=3)

    def read(self, block: str, local_addr: int) -> int:
        reg, index = self._lookup(block, local_addr, write=False)
        if reg is NB_ENTRY:
            return self._sram[index]
        return self._regs[block, reg.name, index]

    @property
    def neuron_config(self) -> int:
        return self._regs["neuron_builder", "neuron_config", 0]

    @property
    def phase(self) -> int:
        return self._nc("phase", "phase")

    # -- one clock cycle ---------------------------------------------------------------------------
    def _fire_masks(self, fire_indices) -> list[int]:
        masks = [0] * 8
        for n in fire_indices:
            try:
                n = operator.index(n)
            except TypeError:
                n = None
            if n is None or not 0 <= n < _N_DENMEMS:
                raise ValueError(f"fire index {n!r} out of range 0..{_N_DENMEMS - 1}")
            masks[n // 64] |= 1 << (n % 64)
        return masks

    @staticmethod
    def _rx_list(l2_rx) -> list[int | None]:
        rx: list[int | None] = [None] * 8
        for c, addr in (l2_rx or {}).items():
            if not isinstance(c, int) or not 0 <= c <= 7:
                raise ValueError(f"l2_rx channel {c!r} out of range 0..7")
            if not isinstance(addr, int) or not 0 <= addr <= 63:
                raise ValueError(f"l2_rx address {addr!r} on channel {c} out of range 0..63")
            rx[c] = addr
        return rx

    def step(self, fire_indices=(), l2_rx: dict | None = None) -> dict[int, int]:
        """One core-clock cycle: fire pulses (neuron-builder addresses) and L2 events
        ``{HW channel: addr}`` of this cycle; returns ``{HW channel: addr}`` of ``dnc_out``."""
        masks = self._fire_masks(fire_indices)
        rx = self._rx_list(l2_rx)
        out = {c: a for c, a in enumerate(self.tree.dnc_out()) if a is not None}

        run = (self.neuron_config >> NEURON_BUILDER.reg("neuron_config")
               .field("spl1_reset_n").lsb) & 1
        pe: list[int | None] = [None] * 8
        lost_pe = 0
        for b in range(8):
            pending = self._pending[b]
            if not run:
                self._pending[b], self._cooldown[b] = 0, False
                continue
            grant = not self._cooldown[b] and pending != 0
            granted = pending & -pending if grant else 0
            if grant:
                pe[7 - b] = self._address[64 * b + granted.bit_length() - 1]
            new = masks[b] & self._fire_enable[b]
            lost_pe += bin(new & pending & ~granted).count("1")
            self._pending[b] = (pending & ~granted) | new
            self._cooldown[b] = grant

        bg: list[int | None] = [None] * 8
        enable = self._nc("bg_control", "enable")
        random = self._nc("bg_control", "random")
        for k in range(8):
            if not (enable >> k) & 1:
                self._count[k], self._was_low[k] = 0, False
                continue
            period = self._nc("bg_period", "period", k)
            lfsr, count = self._lfsr[k], self._count[k]
            regular_hit = count == period
            if (random >> k) & 1:
                if lfsr > period and self._was_low[k]:
                    bg[k] = 0
            elif regular_hit:
                bg[k] = self._nc("bg_address", "odd" if k % 2 else "even", k // 2)
            self._count[k] = 0 if regular_hit else (count + 1) & 0xFFFF
            self._lfsr[k] = _lfsr_step(lfsr)
            self._was_low[k] = lfsr <= period

        l_pe, l_bg, l_rx = self.tree.step(pe, bg, rx)
        lost_merger = sum(l_pe) + sum(l_bg)
        lost_rx = sum(l_rx)
        self.lost_pe = (self.lost_pe + lost_pe) & _MASK32
        self.lost_merger = (self.lost_merger + lost_merger) & _MASK32
        self.lost_rx = (self.lost_rx + lost_rx) & _MASK32
        self.lost = (self.lost + lost_pe + lost_merger + lost_rx) & _MASK32
        return out
