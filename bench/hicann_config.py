"""Configure and read back one full HICANN over UDP against the reference model (spec
host-stack.md §3.4): the emulated FPGA (:class:`~bss1.firmware.fpga_emulator.FpgaEmulator`) runs
in-process, the host talks HostARQ over 127.0.0.1 through
:class:`~bss1.firmware.fpga_emulator.HostHicannLink`.

The configuration is :func:`bss1.host.configurator.random_hicann_config`: all 320 repeaters,
6 repeater blocks, 128 crossbar rows, 448 synapse-switch rows, 224 synapse drivers, 2 synapse
controllers (CNFG, LUTs, SYNRST, timings), merger tree and DNC mergers, phase, 8 BGs, GbitLink,
neuron config and 128 denmem quads, in the 5 stages (INIT zeroes everything first). Weights,
decoders and floating gates are not included (the chip model has no synapse-array command
sequencer or FG controller yet). ``hicann_config_verify_s`` = configure + read back + compare,
median of ``--runs``. The last line printed is one JSON object.

    python bench/hicann_config.py [--runs 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

from bss1.firmware.fpga_emulator import FpgaEmulator, HostHicannLink
from bss1.host import configurator as C
from bss1.host.hal import UdpLink
from bss1.host.hostarq import ArqParams
from bss1.host.hostarq_udp import HostArqClient

CLIENT = ArqParams(rto_max_s=3e-3)
FPGA = ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6)


def one_run(seed: int) -> dict:
    cfg = C.random_hicann_config(seed)
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(FpgaEmulator(params=FPGA, n_hicanns=1))
        client = stack.enter_context(HostArqClient("127.0.0.1", emu.data_port, emu.reset_port,
                                                   params=CLIENT))
        client.connect()
        link = UdpLink(HostHicannLink(client, n_hicanns=1, read_timeout=20.0), 0)
        t0 = time.perf_counter()
        writes = C.configure(link, cfg)
        t1 = time.perf_counter()
        registers = C.verify(link, cfg, synapses=False)
        t2 = time.perf_counter()
        status = emu.status()
    return {"total_s": t2 - t0, "configure_s": t1 - t0, "verify_s": t2 - t1, "writes": writes,
            "registers_verified": registers, "chip_bus_errors": status["chip_bus_errors"][0]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    runs = []
    for i in range(args.runs):
        r = one_run(args.seed + i)
        print(f"run {i + 1}/{args.runs}: {r['total_s']:.3f} s ({r['writes']} writes, "
              f"{r['registers_verified']} registers verified)", flush=True)
        runs.append(r)
    result = {
        "hicann_config_verify_s": round(statistics.median(r["total_s"] for r in runs), 4),
        "configure_s": round(statistics.median(r["configure_s"] for r in runs), 4),
        "verify_s": round(statistics.median(r["verify_s"] for r in runs), 4),
        "writes": runs[0]["writes"],
        "registers_verified": runs[0]["registers_verified"],
        "chip_bus_errors": max(r["chip_bus_errors"] for r in runs),
        "included": ["repeaters", "repeater_blocks", "crossbar", "synapse_switches",
                     "synapse_drivers", "synapse_controllers", "merger_tree", "dnc_mergers",
                     "phase", "background_generators", "gbit_link", "neuron_config",
                     "denmem_quads"],
        "excluded": ["synapse_weights", "synapse_decoders", "floating_gates"],
        "transport": "HostARQ over UDP 127.0.0.1, emulated FPGA in-process",
        "runs": args.runs,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
