"""Throughput of the synapse-side models: strobes -> conductance increments (with STP on every
driver), STDP sensor events. Prints one JSON object as its last line."""

import json
import time

import numpy as np

from bss1.models.synapse_array import SynapseArray
from bss1.models.synapse_input import STROBE_DTYPE, SynapseInput


def main(n_strobes=200_000, n_stdp=20_000):
    rng = np.random.default_rng(0)
    a = SynapseArray()
    for half in ("top", "bottom"):
        a.set_weights(half, rng.integers(0, 16, (224, 256)))
        a.set_decoders(half, rng.integers(0, 16, (224, 256)))
    si = SynapseInput(a)
    for half in ("top", "bottom"):
        for row in range(224):
            si.set_row(half, row, syn_in=(row % 2, 1 - row % 2), gmax_div=(11, 11))
    si.stp.configure(np.arange(224), 1, 1, 3)
    t0 = time.perf_counter()
    si._tables()
    t_build = time.perf_counter() - t0
    s = np.zeros(n_strobes, STROBE_DTYPE)
    s["cycle"] = np.sort(rng.integers(0, 10 * n_strobes, n_strobes))
    s["driver"] = rng.integers(0, 224, n_strobes)
    s["strobe"] = rng.integers(1, 16, n_strobes)
    s["addr"] = rng.integers(0, 16, n_strobes)
    t0 = time.perf_counter()
    out = si.increments(s)
    t_inc = time.perf_counter() - t0
    pre = (np.sort(rng.integers(0, 10 * n_stdp, n_stdp)), rng.integers(0, 2, n_stdp),
           rng.integers(0, 224, n_stdp), rng.integers(0, 256, n_stdp))
    post = (np.sort(rng.integers(0, 10 * n_stdp, n_stdp)), rng.integers(0, 512, n_stdp))
    warm = SynapseArray()                                   # load / compile the kernel
    warm.sensors.process(pre=tuple(x[:10] for x in pre), post=tuple(x[:10] for x in post))
    t0 = time.perf_counter()
    a.sensors.process(pre=pre, post=post)
    t_stdp = time.perf_counter() - t0
    print(json.dumps({
        "table_build_s": round(t_build, 4),
        "strobes": n_strobes, "increments": int(out.dg.size),
        "strobes_per_s": round(n_strobes / t_inc), "increments_per_s": round(out.dg.size / t_inc),
        "stdp_events": 2 * n_stdp, "stdp_events_per_s": round(2 * n_stdp / t_stdp),
        "bytes_per_synapse": round(a.nbytes() / (2 * 224 * 256), 3),
    }))


if __name__ == "__main__":
    main()
