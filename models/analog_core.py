"""The analog core of one or more HICANNs: synapse drivers' strobes -> STP -> synapse array ->
conductances -> AdEx denmems -> fire lines, with the STDP sensors watching pre and post events
(spec analog-core.md §5 synapses, §6 STP, §7 STDP sensors, §8 synapse distortion, §12 model
skeleton; DESIGN decision 4, the narrow analog boundary).

:class:`AnalogCore` owns, per HICANN, a :class:`~bss1.models.synapse_array.SynapseArray`
(weights, decoders, STDP sensors, the synapse controller's access port) and a
:class:`~bss1.models.synapse_input.SynapseInput` (row settings, V_gmax, STP per driver), and one
:class:`~bss1.models.neuron.NeuronArray` over all denmems (denmem ``512 h + 256 y + x``).

One call, ``step(n_cycles, strobes) -> fired``, advances the core over the window
``[cycle, cycle + n_cycles)``:

1. ``strobes`` (:data:`STROBE_DTYPE`: ``cycle``, ``driver`` 0..223, ``strobe`` 4 bit, ``addr``
   4 bit; plus ``hicann`` for more than one HICANN, :data:`WAFER_STROBE_DTYPE`) become
   conductance increments with the rule of :mod:`bss1.models.synapse_input` (§5.1 steps 2-4:
   strobed row and parity, decoder == addr, g_row(weight) · f_STP · D_syn). A compiled kernel
   scans the 128 synapses of each strobed row and parity in the packed weight/decoder array, so
   the wafer needs no per-synapse tables (``tests/test_analog_core.py`` checks it against
   :meth:`SynapseInput.increments`). The increment of a strobe in cycle c acts from the start of
   cycle c (the ESS adds input at the tick, §9.1; the ≈60 ns driver -> neuron latency is lumped
   into the 80 ns output delay as in the ESS, §3.2).
2. The denmems integrate the window.
3. Pre events (per strobe bit: the decoder group ``(half, row, parity, addr)`` it reaches) and
   post events (every denmem of a neuron that spiked, at its detection cycle) go to the STDP
   sensors of the HICANN (``stdp=False`` skips this; the sensors are then frozen).
4. ``fired`` (:data:`FIRE_DTYPE`, plus ``hicann`` for several HICANNs): per spike the cycle at
   which the fire line must be raised (detection cycle + 8 = the 80 ns output delay) and the
   fire line, i.e. the neuron-builder address ``2 x + (1 if y == 0 else 0)`` of the neuron's
   firing denmem (hicann-digital §7.1, :func:`bss1.models.coords.neuron_nb_address`). The RTL
   and :class:`~bss1.models.hicann.HicannModel` index fire lines that way; the field keeps the
   name ``denmem`` of :mod:`bss1.models.analog_adapter`.

Lookahead: a spike detected in the window leaves at least 8 cycles later, so a window of up to
8 cycles never returns a fire for a cycle the RTL has already run (DESIGN decision 4).

Synapse distortion (§8.1 "ESS weight distortion", §9.2 weight_distortion): with
``distortion_sigma`` > 0 every synapse gets a fixed factor D ~ N(1, sigma), clipped at 0, drawn
from a generator keyed by ``(seed, hicann)``; stored as float32 (4 bytes per synapse, only when
enabled). Choice: D multiplies the conductance of both inputs of the synapse's row.

Configuration is explicit: :meth:`configure_drivers` (driver SRAM words of a
:class:`~bss1.models.synapse_driver.SynapseDriverModel` or a HicannModel), :meth:`configure_fg`
(an :class:`~bss1.models.fg_storage.FGStorage`: denmem parameters, STP shared values, V_gmax),
:meth:`configure_neurons` (denmem -> neuron map and firing denmems, or a rectangle size),
:meth:`configure_neurons_from_model` (the same derived from the neuron builder SRAM, as the chip
does: :mod:`bss1.models.neuron_builder_map`), :meth:`configure_from_model` (all of it plus the
cap / speed bits, the current stimulus and the analog outputs from a HicannModel in one step:
:mod:`bss1.models.analog_config`), and direct access to ``neurons``, ``arrays[h]``,
``inputs[h]`` and ``analog_outputs`` (:class:`~bss1.models.membrane_readout.AnalogOutputs`).
"""

from __future__ import annotations

import numba
import numpy as np

from bss1.models import fg_layout
from bss1.models.neuron import (CORE_HZ, DENMEMS_PER_HICANN, DT_ESS, Mismatch, NeuronArray,
                                compound_neurons)
from bss1.models.analog_config import configure_from_hicann
from bss1.models.membrane_readout import AnalogOutputs
from bss1.models.neuron_builder_map import NO_FIRING, neurons_from_builder
from bss1.models.stp import StpParameters
from bss1.models.synapse_array import SynapseArray
from bss1.models.synapse_input import (STROBE_DTYPE, Increments, SynapseInput,
                                       row_conductance)
from bss1.models.transform import I_GL_SPEED

__all__ = ["AnalogCore", "STROBE_DTYPE", "WAFER_STROBE_DTYPE", "FIRE_DTYPE", "WAFER_FIRE_DTYPE",
           "fire_line", "denmem_of_fire_line", "N_DRIVERS"]

#: Fired events: cycle at which the fire line goes high, fire line (neuron-builder address).
FIRE_DTYPE = np.dtype([("cycle", np.int64), ("denmem", np.int16)])
WAFER_STROBE_DTYPE = np.dtype(STROBE_DTYPE.descr + [("hicann", np.int32)])
WAFER_FIRE_DTYPE = np.dtype(FIRE_DTYPE.descr + [("hicann", np.int32)])
N_DRIVERS = 224
_HALF_ROWS, _COLUMNS = 224, 256
_QUADRANTS = (("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right"))


def fire_line(denmem):
    """Fire line (neuron-builder address) of local denmem index(es) ``256 y + x``."""
    d = np.asarray(denmem) % DENMEMS_PER_HICANN
    y, x = np.divmod(d, 256)
    return 2 * x + (y == 0)


def denmem_of_fire_line(line):
    """Local denmem index ``256 y + x`` of fire line(s) ``line``."""
    n = np.asarray(line)
    return 256 * (1 - n % 2) + n // 2


def _check_int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo \
            or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} {value!r} out of range {rng}")
    return int(value)


class AnalogCore:
    """The analog core of ``n_hicanns`` HICANNs (see the module docstring).

    ``core_hz``, ``dt``, ``dtype``, ``mode``, ``seed``, ``mismatch``: passed to the
    :class:`NeuronArray`; ``stdp``: feed the STDP sensors; ``zero_weight_conducts``: the ESS
    behaviour of weight 0 (§13.5); ``distortion_sigma``: synapse distortion (§8);
    ``sensor_parameters``: keyword arguments of the STDP sensors (time constants, thresholds).
    """

    def __init__(self, n_hicanns: int = 1, *, core_hz: float = CORE_HZ, dt: float = DT_ESS,
                 dtype=np.float64, mode: str = "ideal", seed: int = 0,
                 mismatch: Mismatch = Mismatch(), stdp: bool = True,
                 zero_weight_conducts: bool = False, distortion_sigma: float = 0.0,
                 sensor_parameters: dict | None = None):
        self.n_hicanns = _check_int("n_hicanns", n_hicanns, 1, 384 * 8)
        if not (isinstance(distortion_sigma, (int, float)) and distortion_sigma >= 0):
            raise ValueError(f"distortion_sigma {distortion_sigma!r} out of range >= 0")
        self.neurons = NeuronArray(DENMEMS_PER_HICANN * self.n_hicanns, core_hz=core_hz, dt=dt,
                                   dtype=dtype, mode=mode, seed=seed, mismatch=mismatch)
        self.cycle_time = 1.0 / self.neurons.core_hz
        sp = {"cycle_time": self.cycle_time, **(sensor_parameters or {})}
        self.arrays = [SynapseArray(**sp) for _ in range(self.n_hicanns)]
        self.inputs = [SynapseInput(a, cycle_time=self.cycle_time,
                                    zero_weight_conducts=zero_weight_conducts)
                       for a in self.arrays]
        self.stdp = bool(stdp)
        self.seed = int(seed)
        self.distortion_sigma = float(distortion_sigma)
        # packed weight/decoder arrays by reference (no copy), see _packed_of
        self._packed = numba.typed.List([_packed_of(a) for a in self.arrays])
        # g(h, half, row, input, w) = poly[w] * scale[h, half, row, input]: 1/16 byte per synapse
        self._poly = np.zeros(16)
        self._scale = np.zeros((self.n_hicanns, 2, _HALF_ROWS, 2))
        self._g_version = [None] * self.n_hicanns
        if self.distortion_sigma > 0:
            self._dist = np.stack([self.distortion(h) for h in range(self.n_hicanns)])
        else:
            self._dist = np.ones((1, 1, 1, 1), np.float32)
        self._members = None
        self._can_fire = np.ones(self.neurons.n_neurons, bool)
        self.analog_outputs = AnalogOutputs(self.n_hicanns)
        self.strobes_seen = 0
        self.increments_made = 0

    # -- state -----------------------------------------------------------------------------------
    @property
    def cycle(self) -> int:
        """The next core cycle to simulate."""
        return self.neurons.cycle

    @property
    def array(self) -> SynapseArray:
        """The synapse array of HICANN 0."""
        return self.arrays[0]

    @property
    def synapse_input(self) -> SynapseInput:
        """The synaptic input (row settings, STP) of HICANN 0."""
        return self.inputs[0]

    def distortion(self, hicann: int = 0) -> np.ndarray:
        """The (2, 224, 256) synapse distortion factors of ``hicann`` (all 1 when sigma = 0)."""
        h = _check_int("hicann", hicann, 0, self.n_hicanns - 1)
        if self.distortion_sigma == 0:
            return np.ones((2, _HALF_ROWS, _COLUMNS), np.float32)
        rng = np.random.default_rng([self.seed, h, 0x5D])
        z = rng.standard_normal((2, _HALF_ROWS, _COLUMNS))
        return np.maximum(1 + self.distortion_sigma * z, 0).astype(np.float32)

    def nbytes_synapses(self) -> int:
        """Bytes of per-synapse state of all HICANNs: weights, decoders, STDP sensors, the
        conductance tables per row and (if enabled) the distortion factors."""
        dist = self._dist.nbytes if self.distortion_sigma > 0 else 0
        return sum(a.nbytes() for a in self.arrays) + self._scale.nbytes + dist

    # -- configuration ---------------------------------------------------------------------------
    def configure_drivers(self, source, hicann: int = 0) -> None:
        """Row settings and STP bits of ``hicann`` from driver SRAM words: ``source`` is a
        SynapseDriverModel (or anything with ``peek_sram``) or a HicannModel (its ``drivers``)."""
        h = _check_int("hicann", hicann, 0, self.n_hicanns - 1)
        model = getattr(source, "drivers", source)
        if not callable(getattr(model, "peek_sram", None)):
            raise TypeError(f"driver source {type(source).__name__} has no peek_sram(controller, "
                            f"sram, row)")
        self.inputs[h].configure_from_driver_model(model)

    def configure_fg(self, storage, hicann: int = 0, *, bigcap=True,
                     i_gl_speed="normal") -> None:
        """Denmem parameters (default calibration, cap and speed bits as given: one value for
        both rows or a (top, bottom) pair), the shared STP values and V_gmax0..3 of every
        quadrant of ``hicann`` from an FGStorage (§4.1: FG block (x, y) serves the drivers of
        side x, half y)."""
        h = _check_int("hicann", hicann, 0, self.n_hicanns - 1)
        caps = _per_row("bigcap", bigcap, lambda v: v in (0, 1))
        speeds = _per_row("i_gl_speed", i_gl_speed, lambda v: v in I_GL_SPEED)
        base = DENMEMS_PER_HICANN * h
        for index in range(DENMEMS_PER_HICANN):
            x, y = fg_layout.denmem_xy(index)
            hw = storage.hardware_parameters(x, y, bool(caps[y]), speeds[y])
            self.neurons.set_hardware_parameters(hw, [base + index])
        for block, (half, side) in enumerate(_QUADRANTS):
            bx, by = fg_layout.block_xy(block)
            assert (side, half) == (("left", "right")[bx], ("top", "bottom")[by])
            shared = storage.shared_values(block)
            self.inputs[h].set_stp_parameters(half, side, StpParameters.from_fg(
                shared["V_dtc"], shared["V_stdf"], shared["V_dep"], shared["V_fac"]))
            self.inputs[h].set_v_gmax(half, side, [shared[f"V_gmax{i}"] for i in range(4)])

    def configure_neurons(self, neuron_of_denmem=None, firing_denmem=None, *,
                          size: int | None = None) -> None:
        """Interconnect the denmems: explicit arrays over all denmems (global indices, see
        :meth:`NeuronArray.set_neurons`) or ``size``: sthal rectangles of that many denmems with
        the upper-left denmem firing (:func:`compound_neurons`). A firing denmem
        :data:`~bss1.models.neuron_builder_map.NO_FIRING` (-1) makes a neuron without comparator:
        it never raises a fire line and gives the STDP sensors no post events (the model still
        resets its membrane at threshold, with its lowest denmem's V_spike and V_reset; the
        membrane of such a neuron is not visible to the digital side)."""
        if size is not None:
            if neuron_of_denmem is not None or firing_denmem is not None:
                raise ValueError("give either size or neuron_of_denmem and firing_denmem")
            neuron_of_denmem, firing_denmem = compound_neurons(self.neurons.n, size)
        elif neuron_of_denmem is None or firing_denmem is None:
            raise ValueError("give either size or neuron_of_denmem and firing_denmem")
        fir, can_fire = _stand_in_firing(neuron_of_denmem, firing_denmem)
        self.neurons.set_neurons(neuron_of_denmem, fir)
        self._can_fire = can_fire
        self._members = None

    def neurons_from_model(self, source, hicann: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The ``(neuron_of_denmem, firing_denmem)`` over all denmems that
        :meth:`configure_neurons_from_model` sets, without setting them."""
        h = _check_int("hicann", hicann, 0, self.n_hicanns - 1)
        local_nod, local_fir = neurons_from_builder(source)
        base = DENMEMS_PER_HICANN * h
        nod = self.neurons.neuron_of_denmem.copy()
        fir = np.where(self._can_fire, self.neurons.firing_denmem, NO_FIRING)
        inside = np.zeros(nod.size, bool)
        inside[base:base + DENMEMS_PER_HICANN] = True
        span = np.intersect1d(nod[inside], nod[~inside])
        if span.size:
            k = int(span[0])
            raise ValueError(f"neuron {k} spans HICANN {h} and another HICANN; reconfigure it "
                             f"with configure_neurons")
        nod[inside] = local_nod + fir.size
        fir = np.concatenate([fir, np.where(local_fir >= 0, local_fir + base, NO_FIRING)])
        labels, first = np.unique(nod, return_index=True)
        order = labels[np.argsort(first)]              # by lowest denmem
        relabel = np.empty(fir.size, np.int64)
        relabel[order] = np.arange(order.size)
        return relabel[nod], fir[order]

    def configure_neurons_from_model(self, source, hicann: int = 0) -> None:
        """Interconnect the denmems of ``hicann`` as its neuron builder SRAM says
        (:func:`~bss1.models.neuron_builder_map.neurons_from_builder`; ``source``: a HicannModel,
        a NeuronControlModel or the 512 SRAM words). The neurons of the other HICANNs keep their
        structure; labels are renumbered in the order of each neuron's lowest denmem. A neuron
        that spans ``hicann`` and another HICANN (explicit configuration) is an error. Resets the
        neuron state like :meth:`configure_neurons`."""
        self.configure_neurons(*self.neurons_from_model(source, hicann))

    def configure_from_model(self, model, hicann: int = 0):
        """Everything of ``hicann`` from a HicannModel's digital configuration in one step:
        neurons, drivers, FG parameters with the cap / speed bits, current stimulus, analog
        outputs (:func:`bss1.models.analog_config.configure_from_hicann`). Resets the neuron
        state; returns the decoded :class:`~bss1.models.analog_config.AnalogConfig`."""
        return configure_from_hicann(self, model, hicann)

    # -- events ----------------------------------------------------------------------------------
    def _tables(self):
        """(poly, scale) from each HICANN's row table: every row's g(w) is the calibration
        polynomial times a per-row, per-input factor (§5.2), so the table factorises."""
        for h, si in enumerate(self.inputs):
            version = si.version
            if version != self._g_version[h]:
                table = si.row_table()                          # (2, 224, 2, 16)
                poly = row_conductance(np.arange(16), zero_weight_conducts=True)
                self._scale[h] = table[..., 15] / poly[15]
                if not si.zero_weight_conducts:
                    poly[0] = 0.0
                self._poly = poly
                self._g_version[h] = version
        return self._poly, self._scale

    def _fields(self, strobes, lo, hi):
        """Validated (cycle, hicann, driver, strobe, addr) arrays, cycle-sorted, strobe != 0."""
        if strobes is None:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z
        names = getattr(getattr(strobes, "dtype", None), "names", None)
        if not names:
            raise ValueError(f"strobes must be a structured array with fields "
                             f"{list(STROBE_DTYPE.names)}")
        need = list(STROBE_DTYPE.names) + (["hicann"] if self.n_hicanns > 1 else [])
        missing = [f for f in need if f not in names]
        if missing:
            raise ValueError(f"strobes lack fields {missing}")
        cyc = np.asarray(strobes["cycle"], np.int64).ravel()
        hic = (np.asarray(strobes["hicann"], np.int64).ravel() if "hicann" in names
               else np.zeros(cyc.size, np.int64))
        out = [cyc, hic]
        for name, what, top in (("driver", "synapse driver line", N_DRIVERS - 1),
                                ("strobe", "strobe", 15), ("addr", "strobe address", 15)):
            a = np.asarray(strobes[name], np.int64).ravel()
            bad = a[(a < 0) | (a > top)]
            if bad.size:
                raise ValueError(f"{what} {int(bad[0])} out of range 0..{top}")
            out.append(a)
        bad = hic[(hic < 0) | (hic >= self.n_hicanns)]
        if bad.size:
            raise ValueError(f"hicann {int(bad[0])} out of range 0..{self.n_hicanns - 1}")
        bad = cyc[(cyc < lo) | (cyc >= hi)]
        if bad.size:
            raise ValueError(f"strobe cycle {int(bad[0])} out of range {lo}..{hi - 1}")
        live = np.nonzero(out[3])[0]
        live = live[np.argsort(cyc[live], kind="stable")]
        return tuple(a[live] for a in out)

    def _stp_factors(self, cyc, hic, line):
        f = np.ones(cyc.size)
        for h, si in enumerate(self.inputs):
            if not si.stp.enable.any():
                continue
            sel = np.nonzero(hic == h)[0] if self.n_hicanns > 1 else np.arange(cyc.size)
            if sel.size:
                f[sel] = si.stp.factors(line[sel], cyc[sel] * self.cycle_time)
        return f

    def _increments(self, cyc, hic, line, strobe, addr) -> Increments:
        poly, scale = self._tables()
        f = self._stp_factors(cyc, hic, line)
        dist = self._dist
        use_dist = self.distortion_sigma > 0
        args = (cyc, hic, line, strobe, addr, f, self._packed, poly, scale, dist, use_dist)
        cap = max(1024, 24 * int(np.bitwise_count(strobe.astype(np.uint8)).sum()))
        out = tuple(np.empty(cap, t) for t in (np.int64, np.int64, np.int64, np.float64))
        n = _fill(*args, *out)
        if n < 0:                                       # more than guessed: exact size
            n = _fill(*args, *(a[:0] for a in out))
            n = -n - 1
            out = tuple(np.empty(n, a.dtype) for a in out)
            _fill(*args, *out)
        out = tuple(a[:n] for a in out)
        self.strobes_seen += cyc.size
        self.increments_made += n
        return Increments(*out)

    def increments(self, strobes) -> Increments:
        """Conductance increments of ``strobes`` (any cycles >= the current one), advancing the
        STP state, without stepping the core; ``denmem`` is the global denmem index."""
        return self._increments(*self._fields(strobes, self.cycle, np.iinfo(np.int64).max))

    def _neuron_members(self):
        if self._members is None:
            nod = self.neurons.neuron_of_denmem
            order = np.argsort(nod, kind="stable")
            ptr = np.zeros(self.neurons.n_neurons + 1, np.int64)
            np.cumsum(np.bincount(nod, minlength=self.neurons.n_neurons), out=ptr[1:])
            self._members = (order, ptr)
        return self._members

    def step(self, n_cycles: int, strobes=None) -> np.ndarray:
        """Advance ``n_cycles`` cycles with the window's ``strobes`` (all stamped inside it);
        returns the fire-line events of the spikes detected in the window (module docstring)."""
        n_cycles = _check_int("n_cycles", n_cycles, 0)
        c0 = self.cycle
        cyc, hic, line, strobe, addr = self._fields(strobes, c0, c0 + n_cycles)
        inc = self._increments(cyc, hic, line, strobe, addr)
        if inc.cycle.size:
            self.neurons.add_conductance(*inc)
        spikes = self.neurons.run(n_cycles)
        if not self._can_fire.all():
            keep = self._can_fire[spikes.neuron]
            spikes = type(spikes)(*(a[keep] for a in spikes))
        if self.stdp:
            self._feed_sensors(cyc, hic, line, strobe, addr, spikes)
        dtype = FIRE_DTYPE if self.n_hicanns == 1 else WAFER_FIRE_DTYPE
        fired = np.zeros(spikes.cycle.size, dtype)
        fired["cycle"] = spikes.cycle
        fired["denmem"] = fire_line(spikes.denmem)
        if self.n_hicanns > 1:
            fired["hicann"] = spikes.denmem // DENMEMS_PER_HICANN
        order = np.lexsort((fired["denmem"], fired["cycle"]) if self.n_hicanns == 1 else
                           (fired["denmem"], fired["hicann"], fired["cycle"]))
        return fired[order]

    def _feed_sensors(self, cyc, hic, line, strobe, addr, spikes):
        # pre: one decoder-group event per set strobe bit
        bit = np.arange(4)
        on = ((strobe[:, None] >> bit) & 1).astype(bool)
        ev, b = np.nonzero(on)
        half = (line[ev] >= 112).astype(np.int64)
        row = 2 * line[ev] - _HALF_ROWS * half + (b >> 1)
        pre = (cyc[ev], hic[ev], half, row, b & 1, addr[ev])
        # post: every denmem of a spiking neuron, at the detection cycle
        order, ptr = self._neuron_members()
        det = spikes.cycle - self.neurons.delay_cycles
        cnt = ptr[spikes.neuron + 1] - ptr[spikes.neuron]
        start = np.repeat(ptr[spikes.neuron], cnt)
        offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        den = order[start + offs]
        post_c = np.repeat(det, cnt)
        post_h, post_d = np.divmod(den, DENMEMS_PER_HICANN)
        hs = np.union1d(np.unique(pre[1]), np.unique(post_h))
        for h in hs.tolist():
            ps = pre[1] == h
            qs = post_h == h
            self.arrays[h].sensors.process(
                pre_groups=(pre[0][ps], pre[2][ps], pre[3][ps], pre[4][ps], pre[5][ps]),
                post=(post_c[qs], post_d[qs]))


def _per_row(name, value, ok):
    """``value`` for the (top, bottom) rows: one value or a pair, each accepted by ``ok``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(not isinstance(v, (tuple, list)) and ok(v) for v in pair):
        raise ValueError(f"{name} {value!r} is not one valid value or a (top, bottom) pair")
    return pair


def _stand_in_firing(neuron_of_denmem, firing_denmem):
    """``firing_denmem`` with every NO_FIRING entry replaced by the neuron's lowest denmem (the
    NeuronArray needs one per neuron), and the per-neuron can-fire mask. Malformed arrays pass
    through unchanged for NeuronArray.set_neurons to reject."""
    fir = np.atleast_1d(np.asarray(firing_denmem))
    nod = np.asarray(neuron_of_denmem)
    if fir.ndim != 1 or fir.dtype.kind not in "iu" or fir.size == 0:
        return firing_denmem, None
    silent = fir == NO_FIRING
    if silent.any() and nod.ndim == 1 and nod.size and nod.dtype.kind in "iu" \
            and nod.min() >= 0 and nod.max() < fir.size:
        labels, first = np.unique(nod, return_index=True)
        lowest = np.full(fir.size, NO_FIRING, np.int64)
        lowest[labels] = first
        fir = np.where(silent, lowest, fir)
    return fir, ~silent


def _packed_of(array: SynapseArray) -> np.ndarray:
    """The array's packed (2, 224, 256) weight | decoder << 4 storage, by reference, so the
    kernel always sees the current weights and decoders without copies."""
    packed = array.packed
    assert packed.shape == (2, _HALF_ROWS, _COLUMNS) and packed.dtype == np.uint8
    return packed


@numba.njit(cache=True, nogil=True)
def _fill(cyc, hic, line, strobe, addr, f, packed, poly, scale, dist, use_dist, oc, od, oi, og):
    """Write the increments into the output arrays; if they do not fit, only count and return
    -(count) - 1."""
    cap = oc.size
    n = 0
    for e in range(line.size):
        he = hic[e]
        wd = packed[he]
        L = line[e]
        h = 1 if L >= 112 else 0
        r0 = 2 * L - _HALF_ROWS * h
        a = addr[e]
        base = DENMEMS_PER_HICANN * he + _COLUMNS * h
        for b in range(4):
            if (strobe[e] >> b) & 1:
                r = r0 + (b >> 1)
                s0 = scale[he, h, r, 0]
                s1 = scale[he, h, r, 1]
                if s0 == 0.0 and s1 == 0.0:
                    continue
                for col in range(b & 1, _COLUMNS, 2):
                    v = wd[h, r, col]
                    if (v >> 4) == a:
                        p = poly[v & 15]
                        d = dist[he, h, r, col] if use_dist else 1.0
                        if p == 0.0 or d == 0.0:
                            continue
                        for k in range(2):
                            sk = s0 if k == 0 else s1
                            if sk != 0.0:
                                if n < cap:
                                    oc[n] = cyc[e]
                                    od[n] = base + col
                                    oi[n] = k
                                    og[n] = p * sk * d * f[e]
                                n += 1
    return n if n <= cap else -n - 1
