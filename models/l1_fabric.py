"""Behavioural reference model of the L1 fabric of one HICANN (spec hicann-digital.md §2, §3).

Cycle-accurate twin of :class:`bss1.rtl.l1_fabric.L1Fabric`: same register interface
(``write`` / ``read`` by HICANN_MAP instance name and local address), same line semantics (own
sources, one crossbar hop per net, ORed collisions, registered ``conflict``/``conflicts``), same
latencies. Events are sparse dicts ``{index: addr}`` holding the valid events only. :meth:`L1FabricModel.check` lists
configuration conflicts statically.
"""

from __future__ import annotations

from ..rtl.l1 import N_CHANNELS, N_DRIVERS, N_HLINES, N_VLINES
from ..rtl.l1_fabric import (EDGE_KIND, EDGES, L1Fabric, driver_neighbour_edge,
                             line_repeater)
from ..rtl.regmap import RegisterMapError
from ..rtl.registers import CROSSBAR, CROSSBAR_NAMES, HICANN_MAP, SYNAPSE_SWITCH, \
    SYNAPSE_SWITCH_NAMES
from ..rtl.repeater import REPEATER_EDGE
from . import coords
from .repeater import _DIR, _RECEN, _TINEN, _TOUTEN, MODE_NAMES, RepeaterBlockModel, or_event

__all__ = ["L1FabricModel", "OUTPUT_NAMES", "INPUT_NAMES"]

N_LINES = {"h": N_HLINES, "v": N_VLINES}
INPUT_NAMES = ("sending", "west_i", "east_i", "north_i", "south_i", "west_drv_i", "east_drv_i")
OUTPUT_NAMES = ("hline", "vline", "drv_in", "west_o", "east_o", "north_o", "south_o",
                "west_drv_o", "east_drv_o", "conflict", "conflicts")
_INPUT_SIZE = {"sending": N_CHANNELS, "west_i": N_HLINES, "east_i": N_HLINES,
               "north_i": N_VLINES, "south_i": N_VLINES, "west_drv_i": N_DRIVERS,
               "east_drv_i": N_DRIVERS}

# Static wiring tables (SW coordinates).
_REP = {k: [line_repeater(k, i) for i in range(N_LINES[k])] for k in ("h", "v")}
_EDGE = {k: [REPEATER_EDGE[b] for b, _ in _REP[k]] for k in ("h", "v")}
_XBAR = {}      # (side, row, bit) -> (HLine, VLine)
for _y in range(N_HLINES):
    for _v in coords.crossbar_vlines(_y):
        _XBAR[coords.crossbar_switch(_v, _y)] = (_y, _v)
_SYNSW = {}     # (half, row address, bit) per side -> (VLine, driver line)
for _side in ("left", "right"):
    for _line in range(N_DRIVERS):
        for _v in coords.synapse_switch_vlines(_side, _line):
            _h, _a, _b = coords.synapse_switch_register(_v, _side, _line)
            _SYNSW[(_side, _h, _a, _b)] = (_v, _line)
_SW_BLOCK = {name: key for key, name in SYNAPSE_SWITCH_NAMES.items()}
_XB_BLOCK = {name: side for side, name in CROSSBAR_NAMES.items()}


def _check_events(name: str, events) -> dict[int, int]:
    if events is None:
        return {}
    if not isinstance(events, dict):
        raise ValueError(f"{name}: events must be a dict {{index: addr}}, not {events!r}")
    for i, a in events.items():
        coords.check_range(f"{name} index", i, 0, _INPUT_SIZE[name] - 1)
        coords.check_range(f"{name}[{i}] address", a, 0, 63)
    return events


class L1FabricModel:
    """L1 fabric of one HICANN. ``step(**inputs)`` returns the cycle's outputs (dict with the
    keys of :data:`OUTPUT_NAMES`; event outputs as ``{index: addr}``)."""

    BUS_NAMES = L1Fabric.BUS_NAMES

    def __init__(self, hop_latency: int = 1):
        self.repeaters = {b: RepeaterBlockModel(b, hop_latency) for b in REPEATER_EDGE}
        self.crossbar = {side: [0] * CROSSBAR.reg("row").count for side in CROSSBAR_NAMES}
        self.synapse_switch = {key: [0] * SYNAPSE_SWITCH.reg("row").count
                               for key in SYNAPSE_SWITCH_NAMES}
        self.conflict = 0
        self.conflicts = 0
        self._xb_closed: list[tuple[int, int]] = []
        self._syn_closed: dict[int, list[tuple[str, int]]] = {}
        self._switches_dirty = False      # switch lists are rebuilt when next needed

    # -- registers ---------------------------------------------------------------------------------
    def _switch_block(self, block: str, local_addr: int, write: bool):
        inst = HICANN_MAP[block]
        reg = inst.type.reg("row")
        if not isinstance(local_addr, int) or not 0 <= local_addr < inst.size:
            raise RegisterMapError(f"{block}: local address {local_addr!r} out of range "
                                   f"0..{inst.size - 1:#x}")
        hit = inst.type.lookup(local_addr, write)
        if hit is None:
            kind = "writable" if write else "readable"
            raise RegisterMapError(f"{block}: no {kind} register at local address "
                                   f"{local_addr:#x}")
        rows = (self.crossbar[_XB_BLOCK[block]] if block in _XB_BLOCK
                else self.synapse_switch[_SW_BLOCK[block]])
        return reg, rows, hit[1]

    def _block(self, block: str):
        if block not in self.BUS_NAMES:
            raise RegisterMapError(f"block {block!r} is not part of the L1 fabric; blocks: "
                                   f"{', '.join(self.BUS_NAMES)}")
        return self.repeaters.get(block[len("repeater_"):]) if block.startswith("repeater_") \
            else None

    def write(self, block: str, local_addr: int, data: int) -> None:
        """Configuration write; raises RegisterMapError for unmapped or illegal accesses."""
        rep = self._block(block)
        if rep is not None:
            return rep.write(local_addr, data)
        reg, rows, i = self._switch_block(block, local_addr, True)
        if not isinstance(data, int) or not 0 <= data < (1 << reg.width):
            raise RegisterMapError(f"{block} {reg.name}: word {data!r} out of range "
                                   f"0..{(1 << reg.width) - 1:#x}")
        rows[i] = data
        self._switches_dirty = True

    def read(self, block: str, local_addr: int) -> int:
        rep = self._block(block)
        if rep is not None:
            return rep.read(local_addr)
        _, rows, i = self._switch_block(block, local_addr, False)
        return rows[i]

    def _rebuild(self):
        self._switches_dirty = False
        xb_w, sw_w = CROSSBAR.reg("row").width, SYNAPSE_SWITCH.reg("row").width
        self._xb_closed = [_XBAR[(side, r, b)] for side, rows in self.crossbar.items()
                           for r, word in enumerate(rows) for b in range(xb_w) if word >> b & 1]
        self._syn_closed = {}
        for (side, half), rows in self.synapse_switch.items():
            for r, word in enumerate(rows):
                for b in range(sw_w):
                    if word >> b & 1:
                        v, line = _SYNSW[(side, half, r, b)]
                        self._syn_closed.setdefault(v, []).append((side, line))

    # -- one cycle ---------------------------------------------------------------------------------
    def step(self, **inputs) -> dict:
        for name in inputs:
            if name not in INPUT_NAMES:
                raise ValueError(f"unknown input {name!r}; inputs: {', '.join(INPUT_NAMES)}")
        inp = {name: _check_events(name, inputs.get(name)) for name in INPUT_NAMES}
        collision = False
        if self._switches_dirty:
            self._rebuild()

        # own sources: our repeaters' inward drives and the neighbour's drives
        own = {"h": {}, "v": {}}
        n_own = {"h": {}, "v": {}}
        for b, rep in self.repeaters.items():
            kind = "h" if b.startswith("center") else "v"
            for p, a in rep.inward().items():
                i = rep.lines[p]
                own[kind][i] = or_event(own[kind].get(i), a)
                n_own[kind][i] = n_own[kind].get(i, 0) + 1
        for e in EDGES:
            kind = EDGE_KIND[e]
            for i, a in inp[f"{e}_i"].items():
                if _EDGE[kind][i] != e:          # the neighbour's repeater drives into line i
                    own[kind][i] = or_event(own[kind].get(i), a)
                    n_own[kind][i] = n_own[kind].get(i, 0) + 1
        collision |= any(c > 1 for k in n_own for c in n_own[k].values())

        # crossbar: one hop of own sources
        line = {"h": dict(own["h"]), "v": dict(own["v"])}
        n_line = {"h": {i: 1 for i in own["h"]}, "v": {i: 1 for i in own["v"]}}
        for y, v in self._xb_closed:
            if v in own["v"]:
                line["h"][y] = or_event(line["h"].get(y), own["v"][v])
                n_line["h"][y] = n_line["h"].get(y, 0) + 1
            if y in own["h"]:
                line["v"][v] = or_event(line["v"].get(v), own["h"][y])
                n_line["v"][v] = n_line["v"].get(v, 0) + 1
        collision |= any(c > 1 for k in n_line for c in n_line[k].values())

        # synapse switch rows and driver inputs
        rows, n_rows = {}, {}
        for v, a in line["v"].items():
            for key in self._syn_closed.get(v, ()):
                rows[key] = or_event(rows.get(key), a)
                n_rows[key] = n_rows.get(key, 0) + 1
        collision |= any(c > 1 for c in n_rows.values())
        drv_in, drv_o = {}, {"west": {}, "east": {}}
        for (side, L), a in rows.items():
            target = coords.synapse_switch_target(side, L)[0]
            if target == "local":
                drv_in[L] = a
            else:
                drv_o[target][L] = a
        for e in ("west", "east"):
            for L, a in inp[f"{e}_drv_i"].items():
                if driver_neighbour_edge(L) == e:
                    if L in drv_in:
                        collision = True
                    drv_in[L] = or_event(drv_in.get(L), a)

        # neighbour outputs
        outs = {}
        for e in EDGES:
            kind = EDGE_KIND[e]
            o = {i: a for i, a in line[kind].items() if _EDGE[kind][i] != e}
            for b, rep in self.repeaters.items():
                if REPEATER_EDGE[b] == e:
                    for p, a in rep.outward().items():
                        o[rep.lines[p]] = a
            outs[f"{e}_o"] = o

        result = {"hline": line["h"], "vline": line["v"], "drv_in": drv_in, **outs,
                  "west_drv_o": drv_o["west"], "east_drv_o": drv_o["east"],
                  "conflict": self.conflict, "conflicts": self.conflicts}

        # advance the repeater blocks
        for b, rep in self.repeaters.items():
            kind = "h" if b.startswith("center") else "v"
            remote_in = inp[f"{REPEATER_EDGE[b]}_i"]
            local, remote = {}, {}
            for p in rep.active:
                i = rep.lines[p]
                if i in line[kind]:
                    local[p] = line[kind][i]
                if i in remote_in:
                    remote[p] = remote_in[i]
            rep.step(local, remote, inp["sending"] if rep.sending else {})
        if collision:
            self.conflict = 1
            self.conflicts = min(self.conflicts + 1, 0xFFFF)
        return result

    # -- static configuration check ----------------------------------------------------------------
    def check(self) -> list[str]:
        """Configuration conflicts, one message each (empty list: none found)."""
        if self._switches_dirty:
            self._rebuild()
        msgs = []
        inward = {"h": set(), "v": set()}
        for b, rep in self.repeaters.items():
            kind = "h" if b.startswith("center") else "v"
            toutens = {0: [], 1: []}
            for p in range(rep.n):
                mode = rep.mode(p)
                what = f"{rep.instance}[{p}] ({kind.upper()}Line {rep.lines[p]})"
                if mode & (_DIR | _RECEN) == _DIR | _RECEN and not mode & _TINEN:
                    msgs.append(f"{what}: {'INPUT' if mode & _TOUTEN else 'FORWARDING'} with "
                                f"both directions (mode bits {mode:#04x})")
                elif mode not in MODE_NAMES:
                    msgs.append(f"{what}: mode bits {mode:#04x} are not one of IDLE, FORWARDING, "
                                f"INPUT, OUTPUT, LOOPBACK")
                if p in rep.sending and mode == _TOUTEN | _TINEN:
                    msgs.append(f"{what}: sending repeater cannot loop back test-port data (its "
                                f"TINEN path carries DNC merger {rep.sending[p]})")
                if mode & _TOUTEN:
                    toutens[rep.ports[p]].append(p)
                if mode & _DIR:
                    inward[kind].add(rep.lines[p])
            for port, ps in toutens.items():
                if len(ps) > 1:
                    msgs.append(f"{rep.instance} test port {port}: {len(ps)} TOUTEN repeaters "
                                f"(physical addresses {ps}), at most 1 allowed")
        per_h, per_v = {}, {}
        for y, v in sorted(self._xb_closed):
            per_h.setdefault(y, []).append(v)
            per_v.setdefault(v, []).append(y)
        for y, vs in sorted(per_h.items()):
            if len(vs) > 1:
                msgs.append(f"crossbar: HLine {y} switched to {len(vs)} VLines {vs}, at most 1")
        for v, ys in sorted(per_v.items()):
            if len(ys) > 1:
                msgs.append(f"crossbar: VLine {v} switched to {len(ys)} HLines {ys}, at most 1")
        drivers = {("h", y): ["its repeater"] for y in inward["h"]}
        drivers.update({("v", v): ["its repeater"] for v in inward["v"]})
        for y, v in self._xb_closed:
            if v in inward["v"]:
                drivers.setdefault(("h", y), []).append(f"VLine {v}'s repeater")
            if y in inward["h"]:
                drivers.setdefault(("v", v), []).append(f"HLine {y}'s repeater")
        for (kind, i), ds in sorted(drivers.items()):
            if len(ds) > 1:
                msgs.append(f"{kind.upper()}Line {i}: {len(ds)} drivers configured "
                            f"({', '.join(ds)}), at most 1")
        per_row = {}
        for v, keys in self._syn_closed.items():
            for key in keys:
                per_row.setdefault(key, []).append(v)
        for (side, L), vs in sorted(per_row.items()):
            if len(vs) > 1:
                msgs.append(f"synapse switch row ({side}, {L}): {len(vs)} VLines {sorted(vs)} "
                            f"switched, at most 1")
        return msgs
