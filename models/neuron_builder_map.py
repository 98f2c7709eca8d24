"""Compound neurons from the neuron builder SRAM: which denmems share a membrane and which one
fires (spec hicann-digital.md §7.1 neuron builder SRAM, analog-core.md §3.4 compound neurons).

Coordinates. Denmem ``(x, y)``: column x 0..255, row y 0 top / 1 bottom; its index in
:class:`~bss1.models.neuron.NeuronArray` (and :class:`~bss1.models.analog_core.AnalogCore`) is
``256 y + x``; its SRAM entry and fire line is ``2 x + (1 if y == 0 else 0)`` (§7.1 "top denmem
at column c -> 2c+1, bottom denmem at column c -> 2c"; :func:`bss1.models.analog_core.fire_line`).
Quad q holds columns 2q (left) and 2q + 1 (right).

Switches read from the 512 entries (§7.1 table; §3.4 "Switches"):

* vertical (bit 22) of the *bottom* entry ``2 c`` shorts denmems (c, 0) and (c, 1). The bit in a
  top entry is not a switch and is ignored (as halbe's decoder does).
* The pair bytes ``nmem_top`` / ``nmem_bot`` of entry ``4 q + 3`` (only there; the fields of the
  other three entries of the quad are ignored) configure row 0 / row 1 of quad q; their fields
  (:data:`~bss1.rtl.registers.NB_PAIR`): ``horizontal`` (shorts (2q, y) and (2q + 1, y)),
  ``firing_left`` / ``firing_right`` (activate_firing of the left / right denmem),
  ``input_left`` (the left denmem takes fire input from the left neighbour quad) and
  ``input_right`` (the right denmem from the right neighbour quad).
* Between quads (§3.4 "between quads a directed link via the neuron's enable_fire_input (input
  from the left for even, from the right for odd denmems)"): denmems (2q + 1, y) and (2q + 2, y)
  are shorted when (2q + 2, y) takes fire input from the left or (2q + 1, y) from the right. The
  link is a membrane short here; its direction (which side's fire it forwards) is not checked.
  Errors: both directions set on one link (§7.1 "never set both directions"), a link at the
  chip's edge (column 0 from the left, 255 from the right: no neighbour) and a link across a
  neuron-block boundary (columns 32b - 1 / 32b; §3.4 "links never cross a 32-column neuron
  block").

Logical neurons are the connected components of these shorts, labelled 0, 1, ... in the order of
their lowest denmem index (so sthal rectangles get the labels of
:func:`~bss1.models.neuron.compound_neurons`). The firing denmem of a neuron is its one denmem
with activate_firing (§3.4 "Exactly one denmem per logical neuron has activate_firing"):

* several -> :class:`ValueError` naming the neuron's denmems and the firing ones;
* none, neuron of several denmems -> :class:`ValueError` naming its denmems;
* none, single denmem (every denmem of an unconfigured, all-zero SRAM) -> a neuron that never
  fires: its firing denmem is reported as :data:`NO_FIRING` (-1).

Not consulted here: the L1 address and the SPL1 output enables firet/fireb (the priority encoder
of :class:`~bss1.models.neuron_control.NeuronControlModel` applies them to the fire lines), the
inout code (analog output / current input) and the neuron-config register (§7.1 address 512:
speed, capacitor and reset bits, no interconnect).
"""

from __future__ import annotations

import numpy as np

from bss1.rtl.registers import NB_ENTRY, NB_PAIR, NB_PAIR_FIELDS, nb_pair_entry

__all__ = ["neurons_from_builder", "builder_words", "NO_FIRING", "N_ENTRIES"]

#: Firing denmem of a neuron without activate_firing (a single denmem that never fires).
NO_FIRING = -1
N_ENTRIES = NB_ENTRY.count                    # 512 entries, one per denmem
_COLUMNS = N_ENTRIES // 2
_BLOCK_COLUMNS = 32                           # columns per neuron block (§7.2)
_WORD_MAX = (1 << NB_ENTRY.width) - 1


def _index(x: int, y: int) -> int:
    return 256 * y + x


def _name(d: int) -> str:
    y, x = divmod(int(d), 256)
    return f"({x}, {y})"


def builder_words(source) -> np.ndarray:
    """The 512 SRAM words (int64, entry order) of ``source``: a sequence of 512 integers, a
    :class:`~bss1.models.neuron_control.NeuronControlModel` or a
    :class:`~bss1.models.hicann.HicannModel` (its ``neurons``)."""
    model = getattr(source, "neurons", source)
    if callable(getattr(model, "read", None)):
        return np.array([model.read("neuron_builder", NB_ENTRY.address(n))
                         for n in range(N_ENTRIES)], np.int64)
    try:
        words = np.asarray(source)
    except Exception:                                          # pragma: no cover - odd objects
        words = np.zeros(0)
    if words.shape != (N_ENTRIES,) or words.dtype.kind not in "iu":
        raise ValueError(f"neuron builder entries must be {N_ENTRIES} integers, got "
                         f"{type(source).__name__} of shape {words.shape}")
    words = words.astype(np.int64)
    bad = np.nonzero((words < 0) | (words > _WORD_MAX))[0]
    if bad.size:
        n = int(bad[0])
        raise ValueError(f"neuron builder entry {n} value {int(words[n])} out of range "
                         f"0..{_WORD_MAX:#x}")
    return words


def _switches(words: np.ndarray):
    """(shorts as (denmem, denmem) pairs, activate_firing per denmem index)."""
    fields = [NB_ENTRY.decode(int(w)) for w in words]
    shorts: list[tuple[int, int]] = []
    firing = np.zeros(N_ENTRIES, bool)
    # pair[quad][row]: decoded NB_PAIR byte of the quad's pair entry
    pair = [[NB_PAIR.decode(fields[nb_pair_entry(q)][name]) for name in NB_PAIR_FIELDS]
            for q in range(_COLUMNS // 2)]
    for c in range(_COLUMNS):
        if fields[2 * c]["vertical"]:
            shorts.append((_index(c, 0), _index(c, 1)))
    for q in range(_COLUMNS // 2):
        left, right = 2 * q, 2 * q + 1
        for y in range(2):
            p = pair[q][y]
            if p["horizontal"]:
                shorts.append((_index(left, y), _index(right, y)))
            firing[_index(left, y)] = bool(p["firing_left"])
            firing[_index(right, y)] = bool(p["firing_right"])
            if q == 0 and p["input_left"]:
                raise ValueError(f"denmem {_name(_index(left, y))} takes fire input from the "
                                 f"left, but column 0 has no left neighbour")
            if q == _COLUMNS // 2 - 1 and p["input_right"]:
                raise ValueError(f"denmem {_name(_index(right, y))} takes fire input from the "
                                 f"right, but column {_COLUMNS - 1} has no right neighbour")
            if q == _COLUMNS // 2 - 1:
                continue
            # link between (right, y) of quad q and (right + 1, y) of quad q + 1
            from_right = p["input_right"]
            from_left = pair[q + 1][y]["input_left"]
            if not (from_right or from_left):
                continue
            a, b = _index(right, y), _index(right + 1, y)
            if from_right and from_left:
                raise ValueError(f"fire-input link between denmems {_name(a)} and {_name(b)} "
                                 f"is set in both directions; allowed: one direction")
            if (right + 1) % _BLOCK_COLUMNS == 0:
                raise ValueError(f"fire-input link between denmems {_name(a)} and {_name(b)} "
                                 f"crosses the boundary of neuron blocks "
                                 f"{right // _BLOCK_COLUMNS} and {(right + 1) // _BLOCK_COLUMNS}")
            shorts.append((a, b))
    return shorts, firing


def _components(shorts) -> np.ndarray:
    """Component root (lowest member denmem index) of every denmem."""
    parent = list(range(N_ENTRIES))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in shorts:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(d) for d in range(N_ENTRIES)], np.int64)


def neurons_from_builder(entries) -> tuple[np.ndarray, np.ndarray]:
    """``(neuron_of_denmem, firing_denmem)`` of one HICANN from its neuron builder SRAM
    (``entries``: see :func:`builder_words`), per the module docstring: ``neuron_of_denmem[d]``
    is the label of local denmem ``d = 256 y + x`` (512 entries), ``firing_denmem[k]`` the local
    index of neuron k's firing denmem or :data:`NO_FIRING` for a single denmem that never fires.
    """
    shorts, firing = _switches(builder_words(entries))
    root = _components(shorts)
    roots, neuron_of_denmem = np.unique(root, return_inverse=True)   # sorted: lowest member
    firing_denmem = np.full(roots.size, NO_FIRING, np.int64)
    for k in range(roots.size):
        members = np.nonzero(neuron_of_denmem == k)[0]
        fire = members[firing[members]]
        names = ", ".join(_name(d) for d in members)
        if fire.size > 1:
            raise ValueError(f"neuron of denmems {names} has {fire.size} firing denmems "
                             f"{', '.join(_name(d) for d in fire)}; allowed: exactly one")
        if fire.size == 1:
            firing_denmem[k] = fire[0]
        elif members.size > 1:
            raise ValueError(f"neuron of denmems {names} has no firing denmem; allowed: "
                             f"exactly one")
    return neuron_of_denmem.astype(np.int64), firing_denmem
