"""Reference model of the merger tree and the DNC mergers (spec hicann-digital.md §7.4).

The same cycle algorithm as :class:`bss1.rtl.merger.MergerTree` (whose module docstring states the
rules), in plain Python: an input or output register is ``None`` (empty) or an address 0..63.
The topology table is shared with the gateware (:data:`bss1.rtl.merger.MERGER_SOURCES`).
"""

from __future__ import annotations

from bss1.rtl.merger import (DNC_BASE, MERGER_SOURCES, N_MERGERS, N_TREE_MERGERS,
                             merger_consumers)

__all__ = ["MergerTreeModel"]

_CONSUMERS = merger_consumers()


class MergerTreeModel:
    """Cycle-accurate model of the 15 tree mergers and 8 DNC mergers (HW indices).

    Configuration attributes (bit masks, same layout as the gateware ports): ``enable``,
    ``select``, ``slow`` (15 bit), ``dnc_enable``, ``dnc_select``, ``dnc_slow``, ``loopback``
    (8 bit).
    """

    def __init__(self):
        self.enable = self.select = self.slow = 0
        self.dnc_enable = self.dnc_select = self.dnc_slow = self.loopback = 0
        self.slot: list[list[int | None]] = [[None, None] for _ in range(N_MERGERS)]
        self.out: list[int | None] = [None] * N_MERGERS
        self.last = [1] * N_MERGERS
        self.loaded = [False] * N_MERGERS

    def _bits(self):
        en = self.enable | (self.dnc_enable << N_TREE_MERGERS)
        sel = self.select | (self.dnc_select << N_TREE_MERGERS)
        slow = self.slow | (self.dnc_slow << N_TREE_MERGERS)
        return en, sel, slow

    def dnc_out(self) -> list[int | None]:
        """The DNC merger output registers in the current cycle (channel c at index c)."""
        return self.out[DNC_BASE:]

    def step(self, pe: list[int | None], bg: list[int | None], l2_rx: list[int | None]):
        """Clock one cycle with the injected events of this cycle (8 each, ``None`` = none).

        Returns ``(lost_pe, lost_bg, lost_rx)``: lists of 8 booleans (overwritten registers).
        """
        en, sel, slow = self._bits()
        n = N_MERGERS
        go = [False] * n
        serve = [False] * n
        pick1 = [False] * n
        consumed = [[False, False] for _ in range(n)]
        ready = [[False, False] for _ in range(n)]
        # downstream first: the ready chain runs against the event flow
        for i in reversed(range(n)):
            valid_out = self.out[i] is not None
            if i >= DNC_BASE:
                go[i] = valid_out
            else:
                go[i] = valid_out and all(ready[j][s] for j, s in _CONSUMERS[i])
            can = (not valid_out or go[i]) and not ((slow >> i) & 1 and self.loaded[i])
            v0, v1 = self.slot[i][0] is not None, self.slot[i][1] is not None
            if (en >> i) & 1:
                pick1[i] = v1 and (not v0 or not self.last[i])
                serve[i] = can and (v0 or v1)
                consumed[i] = [serve[i] and not pick1[i], serve[i] and pick1[i]]
            else:
                s1 = bool((sel >> i) & 1)
                pick1[i] = s1
                serve[i] = can and (v1 if s1 else v0)
                consumed[i] = [s1 or serve[i], (not s1) or serve[i]]
            ready[i] = [not v0 or consumed[i][0], not v1 or consumed[i][1]]

        old_out = list(self.out)
        lost = {"pe": [False] * 8, "bg": [False] * 8, "rx": [False] * 8}
        new_slot = [list(s) for s in self.slot]
        for i in range(n):
            if serve[i]:
                self.out[i] = self.slot[i][1 if pick1[i] else 0]
                self.last[i] = int(pick1[i])
            elif go[i]:
                self.out[i] = None
            self.loaded[i] = serve[i]
            for s, src in enumerate(MERGER_SOURCES[i]):
                if isinstance(src, int):
                    if go[src]:
                        new_slot[i][s] = old_out[src]
                    elif consumed[i][s]:
                        new_slot[i][s] = None
                    continue
                if src == "rx":
                    c = i - DNC_BASE
                    inj = old_out[DNC_BASE + (c ^ 1)] if (self.loopback >> c) & 1 else l2_rx[c]
                    k = c
                else:
                    inj = (pe if src == "pe" else bg)[i]
                    k = i
                if inj is not None:
                    lost[src][k] = self.slot[i][s] is not None and not consumed[i][s]
                    new_slot[i][s] = inj
                elif consumed[i][s]:
                    new_slot[i][s] = None
        self.slot = new_slot
        return lost["pe"], lost["bg"], lost["rx"]
