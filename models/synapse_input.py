"""Synaptic input path: stamped synapse-driver strobes -> conductance increments of the denmems
(spec analog-core.md §5.1-5.3, §6, §13.2-13.6; hicann-digital.md §4.2-4.4, §5.1).

Strobes are exactly what :class:`bss1.models.synapse_driver.SynapseDriverModel` and
:class:`bss1.rtl.synapse_driver.SynapseDriverBank` produce: per event the core ``cycle``, the
driver ``line`` L (0..223), a 4-bit ``strobe`` whose bit ``2 r + p`` says that row-on-driver r
(0 = SynapseRowOnArray 2L, 1 = 2L + 1; bottom half minus 224) listens with column parity p
(0 even, 1 odd columns), and ``addr`` = L1 address bits [3:0]. A synapse of a strobed row and
parity fires iff its decoder equals ``addr`` (§5.1 step 3).

A fired synapse of row R adds, for each synaptic input k (0 = syn_in[0] "senx", 1 = syn_in[1]
"seni") switched on for R::

    dg = g_R,k(weight) · f_STP(driver)          (siemens, to denmem 256·half + column, input k)

Row conductance (§5.2, the default RTL-simulation calibration scaled as the ESS does)::

    g_R,k(w) = (V_gmax[sel] / 500) · (11 / div_k) · (93.94 + 81.34 w - 1.597 w²) nS

with ``sel`` = the row's ``selgmax`` choosing one of the 4 shared V_gmax values of the row's
quadrant (FG block of the driver's side and half) and ``div_k`` the row's gmax divisor of input k.

Conflict choices:

* §13.2: inputs stay "0/1" with their own reversal potential and time constant in the neuron
  model; no excitatory/inhibitory meaning here.
* §13.3: one divisor per input (ESS); halbe's combined setter, where the two divisor circuits
  add, is not modelled. ``div_k`` = 0 (encodable, useless) gives no conductance.
* §13.4: V_gmax in DAC units with the calibration point 500 (calibtic's constant trafo), default
  500 for all four values of every quadrant, so the default rows reproduce the polynomial.
* §13.5: weight 0 gives no conductance (the synapse DAC has no current); ``zero_weight_conducts
  =True`` gives the ESS behaviour (g(0) = 93.94 nS, scaled).
* §13.6: STP state per driver (:mod:`bss1.models.stp`); it sees the events that strobe at least
  one row (the only ones that reach this model).
* §4.2 vs ESS: a row with both inputs switched on feeds both (each with its own divisor).

Per driver, strobe bit and 4-bit address, the fired synapses are precomputed as one CSR table
(rebuilt when weights, decoders or row settings change), so an event costs a slice lookup.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bss1.models import coords
from bss1.models.stdp_sensor import N_COLUMNS, N_ROWS, half_index
from bss1.models.stp import StpParameters, StpState
from bss1.models.synapse_array import SynapseArray, row_on_array
from bss1.rtl.registers import DRIVER_CONFIG_BOTTOM, DRIVER_CONFIG_TOP, DRIVER_GMAX

__all__ = ["SynapseInput", "Increments", "STROBE_DTYPE", "G_POLY", "row_conductance",
           "CONTROLLER_HALVES"]

#: Stamped strobes as a numpy structured array.
STROBE_DTYPE = np.dtype([("cycle", np.int64), ("driver", np.int16), ("strobe", np.uint8),
                         ("addr", np.uint8)])
#: Default row calibration g(w) = c0 + c1 w + c2 w² in siemens (§5.2, V_gmax 500, div 11).
G_POLY = (93.94e-9, 81.34e-9, -1.597e-9)
V_GMAX_REF, DIV_REF = 500, 11
#: Synapse controller instance (HICANN_MAP tag 1) -> half.
CONTROLLER_HALVES = {"synapse_controller_top": "top", "synapse_controller_bottom": "bottom"}
N_DRIVERS = 224


class Increments(NamedTuple):
    """Conductance increments, parallel arrays in event (cycle) order."""
    cycle: np.ndarray      # int64 core cycle of the strobe
    denmem: np.ndarray     # int16, 256 * half + column
    input: np.ndarray      # uint8, synaptic input 0/1
    dg: np.ndarray         # float64, siemens


def row_conductance(weight, v_gmax=V_GMAX_REF, div=DIV_REF, zero_weight_conducts=False):
    """g(w) in siemens for weights ``weight`` with V_gmax DAC ``v_gmax`` and divisor ``div``."""
    w = np.asarray(weight, np.float64)
    div = np.asarray(div, np.float64)
    g = G_POLY[0] + G_POLY[1] * w + G_POLY[2] * w * w
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(div > 0, (np.asarray(v_gmax) / V_GMAX_REF) * (DIV_REF / div), 0.0)
    g = g * scale
    if not zero_weight_conducts:
        g = np.where(w == 0, 0.0, g)
    return g


def _driver_rows(line: int) -> tuple[int, int, int]:
    """(half index, SynapseRowOnArray of row-on-driver 0, side index 0 left / 1 right)."""
    h = 0 if line < 112 else 1
    return h, 2 * line - N_ROWS * h, int(coords.driver_side(line) == "right")


def _as_ints(name, values, lo, hi):
    a = np.asarray(values)
    if a.size == 0:
        return a.astype(np.int64).ravel()
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64).ravel()
    bad = a[(a < lo) | (a > hi)]
    if bad.size:
        raise ValueError(f"{name} {int(bad[0])!r} out of range {lo}..{hi}")
    return a


class SynapseInput:
    """Row settings, shared V_gmax, per-driver STP and the strobe -> conductance rule of one
    HICANN, on top of a :class:`SynapseArray`. ``cycle_time`` = core clock period (s)."""

    def __init__(self, array: SynapseArray | None = None, *, cycle_time: float = 1e-8,
                 zero_weight_conducts: bool = False):
        if not cycle_time > 0:
            raise ValueError(f"cycle_time {cycle_time!r} must be > 0")
        self.array = array if array is not None else SynapseArray()
        self.cycle_time = float(cycle_time)
        self.zero_weight_conducts = bool(zero_weight_conducts)
        self.syn_in = np.zeros((2, N_ROWS, 2), bool)          # half, SynapseRowOnArray, input
        self.selgmax = np.zeros((2, N_ROWS), np.uint8)
        self.gmax_div = np.zeros((2, N_ROWS, 2), np.uint8)
        self.v_gmax = np.full((2, 2, 4), V_GMAX_REF, np.int64)  # half, side, select
        self.stp = StpState(N_DRIVERS)
        self._config_version = 0
        self._built = None
        self._last_cycle = -1

    @property
    def version(self) -> int:
        """Configuration version: increments with every change of row settings, V_gmax or
        driver SRAM configuration (users cache derived conductance tables against it; weight and
        decoder changes advance ``array.version`` instead)."""
        return self._config_version

    # -- configuration -----------------------------------------------------------------------------
    def set_row(self, half: str, row: int, syn_in=(0, 0), selgmax: int = 0,
                gmax_div=(0, 0)) -> None:
        """Settings of SynapseRowOnArray ``row``: input switches, V_gmax select, divisors."""
        h = half_index(half)
        coords.check_range("synapse row", row, 0, N_ROWS - 1)
        if len(syn_in) != 2 or len(gmax_div) != 2:
            raise ValueError("syn_in and gmax_div need 2 entries each")
        for k in (0, 1):
            coords.check_range(f"syn_in[{k}]", syn_in[k], 0, 1)
            coords.check_range(f"gmax_div[{k}]", gmax_div[k], 0, 15)
        coords.check_range("selgmax", selgmax, 0, 3)
        self.syn_in[h, row] = syn_in
        self.selgmax[h, row] = selgmax
        self.gmax_div[h, row] = gmax_div
        self._config_version += 1

    def set_v_gmax(self, half: str, side: str, values) -> None:
        """The 4 shared V_gmax DAC values (V_gmax0..3) of the quadrant (``side``, ``half``)."""
        h = half_index(half)
        if side not in ("left", "right"):
            raise ValueError(f"side {side!r} not 'left' or 'right'")
        if len(values) != 4:
            raise ValueError(f"V_gmax needs 4 values, got {len(values)}")
        for i, v in enumerate(values):
            coords.check_range(f"V_gmax{i}", v, 0, 1023)
        self.v_gmax[h, int(side == "right")] = values
        self._config_version += 1

    def set_stp_parameters(self, half: str, side: str, params: StpParameters) -> None:
        """Shared STP values of the quadrant (``side``, ``half``)."""
        half_index(half)
        if side not in ("left", "right"):
            raise ValueError(f"side {side!r} not 'left' or 'right'")
        self.stp.set_parameters(coords.driver_chain(side, half), params)

    def configure_from_srams(self, half: str, drv_config, drv_gmax) -> None:
        """Row settings and STP bits of the 112 drivers of ``half`` from the driver SRAM words
        (224 16-bit words each, indexed by HW row R, both byte lanes, §4.4)."""
        h = half_index(half)
        words = {}
        for name, ws in (("drv_config", drv_config), ("drv_gmax", drv_gmax)):
            ws = list(ws)
            if len(ws) != N_ROWS:
                raise ValueError(f"{name} needs 224 words, got {len(ws)}")
            for r, w in enumerate(ws):
                coords.check_range(f"{name} word {r}", w, 0, 0xFFFF)
            words[name] = ws
        syn_in, selgmax = self.syn_in[h].copy(), self.selgmax[h].copy()
        div = self.gmax_div[h].copy()
        lines = range(0, 112) if h == 0 else range(112, 224)
        stp = []
        for line in lines:
            r_bottom, r_top, _, _ = coords.driver_hw_rows(line)
            shift = 8 * coords.driver_byte_lane(line)
            for r, layout in ((r_bottom, DRIVER_CONFIG_BOTTOM), (r_top, DRIVER_CONFIG_TOP)):
                cfg = layout.decode((words["drv_config"][r] >> shift) & 0xFF)
                gmax = DRIVER_GMAX.decode((words["drv_gmax"][r] >> shift) & 0xFF)
                roa = row_on_array(half, r)
                syn_in[roa] = (cfg["syn_in0"], cfg["syn_in1"])
                selgmax[roa] = cfg["selgmax"]
                div[roa] = (gmax["div0"], gmax["div1"])
                if layout is DRIVER_CONFIG_BOTTOM:
                    enable = cfg["stp_enable"]
                else:
                    stp.append((line, enable, cfg["stp_mode"], cfg["stp_cap"]))
        self.syn_in[h], self.selgmax[h], self.gmax_div[h] = syn_in, selgmax, div
        line_, en, mode, cap = (np.array(c) for c in zip(*stp))
        self.stp.configure(line_, en, mode, cap)
        self._config_version += 1

    def configure_from_driver_model(self, model) -> None:
        """Both halves from a :class:`~bss1.models.synapse_driver.SynapseDriverModel` (or any
        object with its ``peek_sram(controller, sram, row)``)."""
        for ctl, half in CONTROLLER_HALVES.items():
            self.configure_from_srams(
                half, [model.peek_sram(ctl, "drv_config", r) for r in range(N_ROWS)],
                [model.peek_sram(ctl, "drv_gmax", r) for r in range(N_ROWS)])

    # -- tables ------------------------------------------------------------------------------------
    def row_table(self) -> np.ndarray:
        """g of every (half, row, input, weight) in siemens, shape (2, 224, 2, 16)."""
        side = np.zeros((2, N_ROWS), np.intp)
        for line in range(N_DRIVERS):
            h, roa, s = _driver_rows(line)
            side[h, roa:roa + 2] = s
        vg = self.v_gmax[np.arange(2)[:, None], side, self.selgmax]          # (2, 224)
        g = row_conductance(np.arange(16)[None, None, None, :], vg[:, :, None, None],
                            self.gmax_div[:, :, :, None], self.zero_weight_conducts)
        return np.where(self.syn_in[:, :, :, None], g, 0.0)

    def _tables(self):
        key = (self.array.version, self._config_version)
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        wd = self.array.packed
        g_row = self.row_table()
        lines = np.arange(N_DRIVERS)
        h = (lines >= 112).astype(np.intp)
        roa0 = 2 * lines - N_ROWS * h
        # candidates over (line, bit, column index within parity, input)
        b = np.arange(4)
        c = np.arange(N_COLUMNS // 2)
        L_, B_, C_, K_ = np.meshgrid(lines, b, c, np.arange(2), indexing="ij")
        H_ = h[L_]
        R_ = roa0[L_] + (B_ >> 1)
        col = 2 * C_ + (B_ & 1)
        v = wd[H_, R_, col]
        g = g_row[H_, R_, K_, v & 0xF]
        keep = g != 0
        keys = ((L_ * 4 + B_) * 16 + (v >> 4))[keep]
        order = np.argsort(keys, kind="stable")
        denmem = (N_COLUMNS * H_ + col)[keep][order].astype(np.int16)
        inp = K_[keep][order].astype(np.uint8)
        gs = g[keep][order]
        ptr = np.zeros(N_DRIVERS * 64 + 1, np.int64)
        np.cumsum(np.bincount(keys, minlength=N_DRIVERS * 64), out=ptr[1:])
        tables = (ptr, denmem, inp, gs)
        self._built = (key, tables)
        return tables

    # -- events ------------------------------------------------------------------------------------
    def increments(self, strobes) -> Increments:
        """Conductance increments of a batch of stamped strobes: a :data:`STROBE_DTYPE` array or
        a tuple ``(cycle, driver, strobe, addr)`` of arrays. Cycles must not precede the last
        batch's last cycle. Entries with strobe 0 are ignored."""
        if isinstance(strobes, np.ndarray) and strobes.dtype.names:
            missing = [f for f in STROBE_DTYPE.names if f not in strobes.dtype.names]
            if missing:
                raise ValueError(f"strobes lack fields {missing}")
            fields = [strobes[f] for f in STROBE_DTYPE.names]
        else:
            if len(strobes) != 4:
                raise ValueError(f"strobes need 4 arrays (cycle, driver, strobe, addr), got "
                                 f"{len(strobes)}")
            fields = list(strobes)
        sizes = {np.asarray(f).size for f in fields}
        if len(sizes) != 1:
            raise ValueError(f"strobe arrays differ in length: {sorted(sizes)}")
        cycle = _as_ints("strobe cycle", fields[0], 0, np.iinfo(np.int64).max)
        line = _as_ints("synapse driver line", fields[1], 0, N_DRIVERS - 1)
        strobe = _as_ints("strobe", fields[2], 0, 15)
        addr = _as_ints("strobe address", fields[3], 0, 15)
        if cycle.size and cycle.min() < self._last_cycle:
            raise ValueError(f"strobe cycle {int(cycle.min())!r} before the last batch's cycle "
                             f"{self._last_cycle}")
        live = np.nonzero(strobe)[0]
        live = live[np.argsort(cycle[live], kind="stable")]
        cycle, line, strobe, addr = cycle[live], line[live], strobe[live], addr[live]
        ptr, denmem, inp, gs = self._tables()
        f = self.stp.factors(line, cycle * self.cycle_time)
        if cycle.size:
            self._last_cycle = int(cycle[-1])
        # one (event, strobe bit) pair per set bit, bits in order 0..3
        ev = np.repeat(np.arange(cycle.size), 4)
        bit = np.tile(np.arange(4), cycle.size)
        on = ((strobe[ev] >> bit) & 1).astype(bool)
        ev, bit = ev[on], bit[on]
        keys = (line[ev] * 4 + bit) * 16 + addr[ev]
        start, count = ptr[keys], ptr[keys + 1] - ptr[keys]
        total = int(count.sum())
        offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        idx = np.repeat(start, count) + offs
        owner = np.repeat(ev, count)
        return Increments(cycle[owner], denmem[idx], inp[idx], gs[idx] * f[owner])

    def reset_state(self) -> None:
        """Forget the STP history and the batch time (start of a new experiment)."""
        self.stp.reset()
        self._last_cycle = -1
