"""Speed of the denmem model (models/neuron.py) against NEST.

One HICANN: 512 denmems as 128 neurons of 4 (PyNN default AdEx, ideal mode) for 1 biological
second (100 us hardware = 10^4 core cycles at speed-up 10^4) with Poisson conductance input,
every denmem receiving ``--rate`` excitatory and ``--rate / 2`` inhibitory events per bio
second; the median of ``--reps`` runs, single-threaded. The wafer: 384 such HICANNs (196,608
denmems) for ``--wafer-bio-s`` (default 0.1 bio s = 1000 cycles, scaled to one bio second in
the JSON), input queued window by window (``--window`` cycles), with ``--threads`` worker
threads (default: one per available core); the input generation is not timed. NEST: 128
aeif_cond_exp neurons with the same parameters and the HICANN's input times per neuron through
spike_generators, resolution 0.05 ms (the 5 ns hardware step at speed-up 10^4).

Besides wall times it reports ns per denmem-step (wall time / (denmems x integration steps),
2 steps per core cycle), comparable across array sizes, and the load average, since the
machine may be shared. Prints one JSON object as its last line.

    python bench/neuron_core.py [--reps 5] [--dtype float32] [--wafer-bio-s 0.1] [--threads 2]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from bss1.models.neuron import NeuronArray, compound_neurons
from bss1.models.transform import NeuronParameters, Scaling

SC = Scaling()
BIO = NeuronParameters()                 # PyNN EIF_cond_exp_isfa_ista defaults
W_EXC, W_INH = 3.0, 6.0                  # nS bio, per event, on the 4-denmem neuron
SIZE = 4


def poisson_input(rng, n_denmems, c0, c1, rate_bio_hz):
    """(cycle, denmem, input, dg) for cycles c0..c1-1: exc at rate, inh at rate / 2."""
    bio_s = (c1 - c0) / 100e6 * SC.speedup
    out = []
    for inp, rate, w in ((0, rate_bio_hz, W_EXC), (1, rate_bio_hz / 2, W_INH)):
        k = rng.poisson(rate * bio_s * n_denmems)
        dg = SC.conductance(w, BIO.bio["cm"]) * SIZE      # marocco: weights x C_hw,total / C_hw
        out.append((rng.integers(c0, c1, k), rng.integers(0, n_denmems, k),
                    np.full(k, inp), np.full(k, dg)))
    return tuple(np.concatenate(x) for x in zip(*out))


def make_array(n_denmems, dtype, threads=1):
    arr = NeuronArray(n_denmems, dtype=dtype, threads=threads)
    arr.set_neurons(*compound_neurons(n_denmems, SIZE))
    arr.set_hardware_parameters(BIO.to_hardware(SC))
    return arr


def hicann_run(inp, dtype):
    arr = make_array(512, dtype)
    arr.add_conductance(*inp)
    t, c = time.perf_counter(), time.process_time()
    spikes = arr.run(10_000)
    return time.perf_counter() - t, time.process_time() - c, spikes


def wafer_run(rng, bio_s, window, rate, dtype, threads):
    n = 384 * 512
    arr = make_array(n, dtype, threads)
    arr.run(0)
    cycles = int(round(bio_s * 10_000))
    wall = gen = 0.0
    n_spikes = 0
    for c0 in range(0, cycles, window):
        c1 = min(cycles, c0 + window)
        t = time.perf_counter()
        inp = poisson_input(rng, n, c0, c1, rate)
        gen += time.perf_counter() - t
        t = time.perf_counter()
        arr.add_conductance(*inp)
        n_spikes += arr.run(c1 - c0).cycle.size
        wall += time.perf_counter() - t
        print(f"wafer: {c1}/{cycles} cycles, {wall:.1f} s", file=sys.stderr, flush=True)
    return wall, n_spikes


def nest_run(inp, reps):
    import nest
    label, _ = compound_neurons(512, SIZE)
    cycle, den, kind, _ = inp
    t_ms = np.round(SC.time_bio(cycle / 100e6) / 0.05) * 0.05 + 0.05
    walls, counts = [], []
    for _ in range(reps):
        nest.ResetKernel()
        nest.verbosity = nest.VerbosityLevel.ERROR
        nest.resolution = 0.05
        cells = nest.Create("aeif_cond_exp", 128, params=BIO.nest_aeif_cond_exp())
        rec = nest.Create("spike_recorder")
        nest.Connect(cells, rec)
        for inp_kind, w in ((0, W_EXC), (1, -W_INH)):
            gens = nest.Create("spike_generator", 128)
            for k in range(128):
                sel = (label[den] == k) & (kind == inp_kind)
                times, mult = np.unique(t_ms[sel], return_counts=True)
                gens[k].set(spike_times=times.tolist(), spike_multiplicities=mult.tolist())
            nest.Connect(gens, cells, "one_to_one", syn_spec={"weight": w, "delay": 0.05})
        t = time.perf_counter()
        nest.Simulate(1000.0)
        walls.append(time.perf_counter() - t)
        counts.append(rec.n_events)
    return statistics.median(walls), counts[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rate", type=float, default=300.0, help="exc events per denmem per bio s")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--wafer-bio-s", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="worker threads of the wafer run")
    ap.add_argument("--window", type=int, default=1000, help="wafer window, core cycles")
    args = ap.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(1)
    inp = poisson_input(rng, 512, 0, 10_000, args.rate)
    hicann_run(inp, dtype)                                   # compile / load the kernel
    load0 = os.getloadavg()[0]
    runs = [hicann_run(inp, dtype) for _ in range(args.reps)]
    walls = [w for w, _, _ in runs]
    hicann_wall = statistics.median(walls)
    hicann_cpu = statistics.median(c for _, c, _ in runs)
    n_sp = runs[0][2].cycle.size
    print(f"hicann: median {hicann_wall:.3f} s over {walls}", file=sys.stderr)
    nest_wall, nest_sp = nest_run(inp, args.reps)
    print(f"nest: median {nest_wall:.3f} s", file=sys.stderr)
    wafer_wall, wafer_sp = (wafer_run(rng, args.wafer_bio_s, args.window, args.rate, dtype,
                                      args.threads)
                            if args.wafer_bio_s > 0 else (float("nan"), 0))
    wafer = args.wafer_bio_s > 0
    steps_bio_s = 2 * 10_000                                 # integration steps per bio s
    print(json.dumps({
        "dtype": args.dtype, "substeps_per_cycle": 2, "input_events_per_denmem_bio_s":
            1.5 * args.rate, "load_average_1min": round(load0, 2),
        "hicann_wall_s_median": round(hicann_wall, 4),
        "hicann_cpu_s_median": round(hicann_cpu, 4),
        "hicann_ns_per_denmem_step": round(hicann_wall / (512 * steps_bio_s) * 1e9, 3),
        "hicann_bio_s_per_wall_s": round(1.0 / hicann_wall, 3),
        "hicann_rate_hz_per_neuron": round(n_sp / 128, 2),
        "nest_wall_s": round(nest_wall, 4), "nest_rate_hz_per_neuron": round(nest_sp / 128, 2),
        "model_over_nest_wall": round(hicann_wall / nest_wall, 4),
        "wafer_bio_s_simulated": args.wafer_bio_s, "wafer_threads": args.threads,
        "wafer_wall_s_per_bio_s": round(wafer_wall / args.wafer_bio_s, 2) if wafer else None,
        "wafer_ns_per_denmem_step": round(
            wafer_wall / (384 * 512 * steps_bio_s * args.wafer_bio_s) * 1e9, 3) if wafer else None,
        "wafer_rate_hz_per_neuron": round(wafer_sp / (384 * 128) / args.wafer_bio_s, 2)
        if wafer else None,
    }))


if __name__ == "__main__":
    main()
