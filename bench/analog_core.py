"""Speed and memory of the composed analog core (models/analog_core.py) against NEST.

One HICANN: 512 denmems as 128 neurons of 4 (PyNN default AdEx, ideal mode), all 114,688
synapses configured (random weights 0..15 and decoders 0..15; even rows input 0 = excitatory,
odd rows input 1 = inhibitory, V_gmax 500, divisor --div), Poisson input on every driver at
--rate Hz (bio) per 6-bit L1 address: an address A strobes row-on-driver (A >> 4) >> 1 with
parity (A >> 4) & 1 (the driver decoders set to 0..3) and the synapses whose decoder is A & 15,
so every synapse has exactly one source. Two events of one driver in one cycle cannot exist on
L1: the later one is dropped (counted). 1 bio second = 10^4 core cycles at speed-up 10^4.

NEST: the same network as aeif_cond_exp (128 neurons), 224 x 64 spike_generators carrying the
same event times, one connection per non-silent synapse with the conductance of that synapse
converted to bio (g_bio = g_hw C_bio / (speed-up 4 C_denmem), marocco's rule for 4-denmem
neurons), resolution 0.05 ms (the 5 ns hardware step). nest_speedup = wall(NEST) / wall(ours),
Simulate() only against step() only.

The wafer: 384 HICANNs' worth, no routing, the same input; --wafer-fraction of the HICANNs for
--wafer-bio-s, extrapolated linearly to 384 HICANNs and 1 bio second.

    python bench/analog_core.py [--reps 3] [--wafer-fraction 0.125] [--wafer-bio-s 0.1]
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

from bss1.models.analog_core import WAFER_STROBE_DTYPE, AnalogCore
from bss1.models.transform import NeuronParameters, Scaling

SC = Scaling()
BIO = NeuronParameters()
SIZE = 4
CYCLES_PER_BIO_S = 10_000


def configure(core, rng, div):
    """Random weights/decoders on every HICANN of ``core``; rows alternate input 0 / 1."""
    core.configure_neurons(size=SIZE)
    core.neurons.set_hardware_parameters(BIO.to_hardware(SC))
    for arr, si in zip(core.arrays, core.inputs):
        for half in ("top", "bottom"):
            arr.set_weights(half, rng.integers(0, 16, (224, 256)))
            arr.set_decoders(half, rng.integers(0, 16, (224, 256)))
            for row in range(224):
                si.set_row(half, row, syn_in=(1 - row % 2, row % 2), gmax_div=(div, div))


def poisson_strobes(rng, n_hicanns, c0, c1, rate):
    """Superposed Poisson trains of the 64 addresses of every driver, cycles c0..c1-1."""
    bio_s = (c1 - c0) / CYCLES_PER_BIO_S
    k = rng.poisson(64 * rate * bio_s, n_hicanns * 224)
    n = int(k.sum())
    src = np.repeat(np.arange(n_hicanns * 224), k)
    cyc = rng.integers(c0, c1, n)
    key = np.unique(cyc * (n_hicanns * 224) + src)          # one event per driver and cycle
    cyc, src = np.divmod(key, n_hicanns * 224)
    a = rng.integers(0, 64, cyc.size)
    s = np.zeros(cyc.size, WAFER_STROBE_DTYPE)
    s["cycle"], s["hicann"], s["driver"] = cyc, src // 224, src % 224
    s["strobe"], s["addr"] = 1 << (a >> 4), a & 15
    return s, n - cyc.size


def run_core(core, strobes, cycles, window):
    t = time.perf_counter()
    fired = []
    for c0 in range(core.cycle, core.cycle + cycles, window):
        sel = strobes[(strobes["cycle"] >= c0) & (strobes["cycle"] < c0 + window)]
        fired.append(core.step(window, sel))
    return time.perf_counter() - t, np.concatenate(fired)


def nest_network(core, strobes):
    """Per (driver, address) source: the targets, bio weights (nS, negative = inhibitory)."""
    arr, si = core.arrays[0], core.inputs[0]
    g = si.row_table()                                       # (2, 224, 2, 16) siemens
    label = core.neurons.neuron_of_denmem
    src, tgt, w = [], [], []
    for line in range(224):
        h = int(line >= 112)
        half = ("top", "bottom")[h]
        wts, decs = arr.weights(half), arr.decoders(half)
        for a in range(64):
            b = a >> 4
            row = 2 * line - 224 * h + (b >> 1)
            cols = np.arange(b & 1, 256, 2)
            cols = cols[decs[row, cols] == (a & 15)]
            for k in (0, 1):
                gk = g[h, row, k, wts[row, cols]]
                keep = gk > 0
                src.append(np.full(int(keep.sum()), 64 * line + a))
                tgt.append(label[256 * h + cols[keep]])
                gb = SC.conductance_bio(gk[keep], BIO.bio["cm"]) / SIZE
                w.append(gb if k == 0 else -gb)
    times = {}
    t_ms = strobes["cycle"] * 0.1 + 0.05
    a = (np.log2(strobes["strobe"]).astype(int) << 4) | strobes["addr"]
    s_id = 64 * strobes["driver"].astype(int) + a
    order = np.argsort(s_id, kind="stable")
    bounds = np.searchsorted(s_id[order], np.arange(224 * 64 + 1))
    for s in range(224 * 64):
        times[s] = np.sort(t_ms[order[bounds[s]:bounds[s + 1]]])
    return np.concatenate(src), np.concatenate(tgt), np.concatenate(w), times


def nest_run(network, reps):
    import nest
    src, tgt, w, times = network
    walls, counts = [], []
    for _ in range(reps):
        nest.ResetKernel()
        nest.verbosity = nest.VerbosityLevel.ERROR
        nest.resolution = 0.05
        cells = nest.Create("aeif_cond_exp", 128, params=BIO.nest_aeif_cond_exp())
        gens = nest.Create("spike_generator", 224 * 64)
        gens.set([{"spike_times": times[s].tolist()} for s in range(224 * 64)])
        rec = nest.Create("spike_recorder")
        nest.Connect(cells, rec)
        nest.Connect(np.asarray(gens.tolist())[src], np.asarray(cells.tolist())[tgt],
                     "one_to_one", syn_spec={"weight": w, "delay": np.full(w.size, 0.05)})
        t = time.perf_counter()
        nest.Simulate(1000.0)
        walls.append(time.perf_counter() - t)
        counts.append(rec.n_events)
    return statistics.median(walls), counts[0], walls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rate", type=float, default=10.0, help="Hz (bio) per address")
    ap.add_argument("--div", type=int, default=11, help="gmax divisor of every row")
    ap.add_argument("--window", type=int, default=1000, help="cycles per step() call")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--wafer-fraction", type=float, default=1.0)
    ap.add_argument("--wafer-bio-s", type=float, default=1.0)
    ap.add_argument("--no-nest", action="store_true")
    args = ap.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(1)

    # -- one HICANN -----------------------------------------------------------------------------
    seed_cfg = 7
    strobes, dropped = poisson_strobes(rng, 1, 0, CYCLES_PER_BIO_S, args.rate)
    walls, walls_stdp, spikes, spikes_stdp = [], [], None, None
    for rep in range(args.reps + 1):                        # the first run compiles
        for stdp in (False, True):
            core = AnalogCore(dtype=dtype, stdp=stdp)
            configure(core, np.random.default_rng(seed_cfg), args.div)
            wall, fired = run_core(core, strobes, CYCLES_PER_BIO_S, args.window)
            if rep:
                (walls_stdp if stdp else walls).append(wall)
            if stdp:
                spikes_stdp = fired.size
            else:
                spikes, incs = fired.size, core.increments_made
    hicann_wall = statistics.median(walls)
    stdp_wall = statistics.median(walls_stdp)
    assert spikes_stdp == spikes, "the sensors must not change the dynamics"
    print(f"hicann: {hicann_wall:.3f} s {walls}, {spikes} spikes, {incs} increments; "
          f"with stdp: {stdp_wall:.3f} s {walls_stdp}", file=sys.stderr)
    # the same with 8-cycle windows (RTL coupling), 0.1 bio s
    part = strobes[strobes["cycle"] < CYCLES_PER_BIO_S // 10]
    core = AnalogCore(dtype=dtype, stdp=False)
    configure(core, np.random.default_rng(seed_cfg), args.div)
    wall8, _ = run_core(core, part, CYCLES_PER_BIO_S // 10, 8)
    print(f"window 8: {wall8 * 10:.2f} s/bio s", file=sys.stderr)

    # -- NEST ------------------------------------------------------------------------------------
    nest_wall = nest_spikes = None
    if not args.no_nest:
        core = AnalogCore(dtype=dtype, stdp=False)
        configure(core, np.random.default_rng(seed_cfg), args.div)
        nest_wall, nest_spikes, nest_walls = nest_run(nest_network(core, strobes), args.reps)
        print(f"nest: {nest_wall:.3f} s {nest_walls}, {nest_spikes} spikes", file=sys.stderr)

    # -- wafer fraction --------------------------------------------------------------------------
    n_h = max(1, int(round(384 * args.wafer_fraction)))
    cycles = int(round(args.wafer_bio_s * CYCLES_PER_BIO_S))
    core = AnalogCore(n_h, dtype=dtype, stdp=False)
    configure(core, np.random.default_rng(seed_cfg), args.div)
    wafer_window = 100
    wall = gen = 0.0
    wafer_spikes = 0
    for c0 in range(0, cycles, wafer_window):
        t = time.perf_counter()
        s, _ = poisson_strobes(rng, n_h, c0, c0 + wafer_window, args.rate)
        gen += time.perf_counter() - t
        t = time.perf_counter()
        wafer_spikes += core.step(wafer_window, s).size
        wall += time.perf_counter() - t
        if (c0 // wafer_window) % 20 == 0:
            print(f"wafer: {c0 + wafer_window}/{cycles} cycles, {wall:.1f} s", file=sys.stderr)
    scale = 384 / n_h / args.wafer_bio_s
    n_syn = n_h * 2 * 224 * 256
    print(json.dumps({
        "dtype": args.dtype, "rate_hz_per_address": args.rate, "window_cycles": args.window,
        "hicann_wall_s_median": round(hicann_wall, 4),
        "hicann_bio_s_per_wall_s": round(1.0 / hicann_wall, 3),
        "hicann_window8_bio_s_per_wall_s": round(0.1 / wall8, 3),
        "hicann_bio_s_per_wall_s_stdp": round(1.0 / stdp_wall, 3),
        "stdp_share_of_wall": round(max(stdp_wall - hicann_wall, 0.0) / stdp_wall, 3),
        "strobes_per_bio_s": int(strobes.size), "strobes_dropped_collisions": int(dropped),
        "increments_per_bio_s": int(incs),
        "hicann_spikes": int(spikes),
        "nest_wall_s_median": round(nest_wall, 4) if nest_wall else None,
        "nest_spikes": nest_spikes,
        "nest_speedup": round(nest_wall / hicann_wall, 2) if nest_wall else None,
        "spike_count_rel_diff": round(abs(spikes - nest_spikes) / max(nest_spikes, 1), 4)
        if nest_wall else None,
        "wafer_hicanns_run": n_h, "wafer_fraction": round(n_h / 384, 4),
        "wafer_bio_s_run": args.wafer_bio_s, "wafer_wall_s": round(wall, 2),
        "wafer_input_generation_s": round(gen, 2),
        "wafer_wall_s_per_bio_s": round(wall * scale, 2),
        "wafer_rate_hz_per_neuron": round(wafer_spikes / (n_h * 128) / args.wafer_bio_s, 2),
        "bytes_per_synapse": round(core.nbytes_synapses() / n_syn, 3),
    }))


if __name__ == "__main__":
    main()
