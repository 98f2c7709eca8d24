"""An experiment through the emulated wafer-module FPGA: play spikes into a HICANN, let them travel
over L1 and loop back into the FPGA's trace memory.

    python examples/fpga_experiment.py [--out DIR]

The emulated FPGA (8 HICANN models behind it) runs in this process on free UDP ports of
127.0.0.1; the host talks to it only over HostARQ/UDP, as to the real system:

1. reset: soft reset, HostARQ reset, JTAG ID check of the FPGA and its HICANNs;
2. configure HICANN 2 (HICANNOnDNC(1, 0)) with the staged configurator:
   GbitLink 0 (HW channel 7) TO_HICANN -> DNCMerger 0 -> sending repeater -> HLine 62 (L1), and
   DNCMerger 1 looping those events back out on GbitLink 1 (HW channel 6), TO_DNC;
3. write a playback program of a few pulses (DNC time, 250 MHz = 4 ns per cycle), start the
   system time and the experiment;
4. read the trace: every pulse comes back with GbitLink 1 in its label, about 90 ns after its
   playback time (the FPGA releases pulses ahead of time to make up for part of the link latency).

Writes ``pulses.csv`` (direction, label, GbitLink, L1 address, DNC cycle, µs) and ``raster.png``
into ``--out``.
"""

import argparse
import csv
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bss1.firmware.fpga_emulator import FpgaEmulator  # noqa: E402
from bss1.firmware.formats import PulseAddress  # noqa: E402
from bss1.host import configurator as C  # noqa: E402
from bss1.host import fpga, hal  # noqa: E402
from bss1.host.hicann_link import HostHicannLink  # noqa: E402
from bss1.host.hostarq import ArqParams  # noqa: E402
from bss1.host.hostarq_udp import HostArqClient  # noqa: E402
from bss1.models import coords  # noqa: E402

HICANN_X, HICANN_Y = 1, 0            # HICANNOnDNC of the chip used
HICANN = 2 * HICANN_X + HICANN_Y     # its port on the FPGA (and index of the host link)
LINK_IN, LINK_OUT = 0, 1             # GbitLinkOnHICANN: played pulses in, looped pulses out
DNC_NS = 4                           # one DNC cycle (system time, 250 MHz)
# (DNC cycle, L1 address) of the played pulses
SPIKES = [(1000, 5), (1004, 5), (1500, 12), (2000, 33), (2003, 33), (2600, 63), (3000, 7),
          (3001 * 2, 21)]
RUNTIME = 8000                       # DNC cycles


def hicann_config() -> C.HICANNConfig:
    """GbitLink 0 (TO_HICANN) -> DNCMerger 0 -> sending repeater of HW channel 7 -> HLine 62;
    DNCMerger 1 takes DNCMerger 0's output (loopback) -> GbitLink 1 (TO_DNC)."""
    cfg = C.HICANNConfig()
    tree = hal.MergerTree.one_on_one()
    for m in (LINK_IN, LINK_OUT):
        # LEFT_ONLY: the DNC merger passes its layer-2 input, not the merger tree's output
        tree[hal.DNCMerger(m)] = hal.MergerConfig(hal.MergerMode.LEFT_ONLY, slow=True)
    tree.set_loopback(LINK_OUT)      # DNCMerger 1's input: DNCMerger 0's output (its pair)
    cfg.merger_tree = tree
    y = coords.sending_hline(coords.sw_to_hw8(LINK_IN))
    cfg.repeaters[hal.HRepeaterOnHICANN(y)] = hal.RepeaterConfig(hal.RepeaterMode.OUTPUT,
                                                                 hal.Direction.INWARD)
    D = hal.GbitLinkDirection
    cfg.gbit_link = hal.GbitLink.of({LINK_IN: D.TO_HICANN, LINK_OUT: D.TO_DNC})
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="output directory (default: a new temporary one)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bss1_fpga_experiment_"))
    out.mkdir(parents=True, exist_ok=True)

    sent = [(t, PulseAddress(0, HICANN_X, HICANN_Y, LINK_IN, a).label) for t, a in SPIKES]
    t0 = time.monotonic()
    fast = ArqParams(rto_max_s=3e-3)                 # loopback UDP: short retransmit timeouts
    with FpgaEmulator(params=ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6),
                      soft_reset_port=0) as emu, \
            HostArqClient("127.0.0.1", emu.data_port, emu.reset_port, params=fast) as client:
        print(f"emulated FPGA on 127.0.0.1: data port {emu.data_port}, reset port "
              f"{emu.reset_port}, soft-reset port {emu.soft_reset_port}, "
              f"{emu.n_hicanns} HICANNs")
        client.connect()
        conn = fpga.FpgaConnection(client, ("127.0.0.1", emu.soft_reset_port), emu.n_hicanns)
        fpga.reset(conn)
        print(f"reset, JTAG IDs checked ({time.monotonic() - t0:.1f} s)")
        link = hal.UdpLink(HostHicannLink(client, read_timeout=5.0), HICANN)
        cfg = hicann_config()
        n = C.configure(link, cfg, progress=lambda s, i, k: print(f"  stage {i}/{k} {s}",
                                                                  flush=True))
        C.verify(link, cfg, synapses=False)
        print(f"configured HICANN {HICANN} with {n} writes, read back and verified "
              f"({time.monotonic() - t0:.1f} s)")
        fpga.prime_systime(conn)
        fpga.start_systime(conn)
        fpga.write_playback_program(conn, sent, RUNTIME)
        fpga.prime_experiment(conn)
        fpga.start_experiment(conn)
        received = fpga.read_trace_pulses(conn, first_timeout=20)
    print(f"experiment of {RUNTIME} DNC cycles ({RUNTIME * DNC_NS / 1000:.0f} µs) done "
          f"({time.monotonic() - t0:.1f} s)")

    def describe(label):
        p = PulseAddress.from_label(label)
        return p.gbit_link, p.address

    print(" sent (label, t)        received (label, t)     delay")
    rows = []
    for (ts, ls), (tr, lr) in zip(sent, received):
        print(f" {ls:#06x} {ts:6d}          {lr:#06x} {tr:6d}          {tr - ts:3d} DNC cycles "
              f"= {(tr - ts) * DNC_NS} ns")
    for direction, pulses in (("sent", sent), ("received", received)):
        for t, label in pulses:
            link_, addr = describe(label)
            rows.append((direction, f"{label:#06x}", link_, addr, t, t * DNC_NS / 1000))
    with open(out / "pulses.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["direction", "label", "gbit_link", "l1_address", "t_dnc_cycles", "t_us"])
        w.writerows(rows)

    fig, ax = plt.subplots(figsize=(9, 3.5), constrained_layout=True)
    for direction, pulses, y0, color, marker in (("sent (GbitLink 0)", sent, 0, "tab:blue", "|"),
                                                 ("received (GbitLink 1)", received, 1,
                                                  "tab:red", "|")):
        ts = [t * DNC_NS / 1000 for t, _ in pulses]
        addrs = [describe(label)[1] for _, label in pulses]
        ax.scatter(ts, [a + 0.25 * (2 * y0 - 1) for a in addrs], marker=marker, s=200,
                   color=color, label=direction)
    ax.set_xlabel("FPGA system time (µs, hardware)")
    ax.set_ylabel("L1 address")
    ax.set_xlim(0, RUNTIME * DNC_NS / 1000)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"playback -> HICANN {HICANN} L1 (HLine "
                 f"{coords.sending_hline(coords.sw_to_hw8(LINK_IN))}) -> DNC loopback -> trace")
    fig.savefig(out / "raster.png", dpi=120)
    plt.close(fig)
    delays = sorted({tr - ts for (ts, _), (tr, _) in zip(sent, received)})
    print(f"{len(sent)} pulses sent, {len(received)} received, loopback delay {delays} DNC "
          f"cycles; outputs: {out / 'pulses.csv'}, {out / 'raster.png'}")
    assert [describe(lr)[1] for _, lr in received] == [a for _, a in SPIKES], received


if __name__ == "__main__":
    main()
