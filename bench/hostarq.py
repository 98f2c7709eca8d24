"""HostARQ goodput on 127.0.0.1 (spec/host-stack.md §1.4: 180-word frames, window 128).

Host -> FPGA goodput with max-size frames (1440 payload bytes each): directly over loopback, and
through :class:`~bss1.host.udp_proxy.FaultyUdpProxy` at 1 % and 10 % loss (both directions). Each
setting runs ``--runs`` times for about ``--seconds`` of sending; the median is reported. The last
line printed is one JSON object. Both ends use the optional RTT estimator (RTO 756 us .. 3 ms, see
bss1.host.hostarq); ``goodput_mb_s_fixed_rto`` is the lossless run with the fixed 756 us RTO.
``resent_frac*`` = frames resent / frames sent: estimator-mode recovery resends the frames it
has evidence for (duplicate ACKs, the ACK of a retransmission, a timeout for the oldest frame), so
it stays near the loss rate instead of a window per lost frame. Timings on a shared machine are
noisy; compare settings from one invocation, not across invocations.

    python bench/hostarq.py [--seconds 1.5] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time

from bss1.host.hostarq import FCP_PARAMS, ArqParams
from bss1.host.hostarq_udp import FpgaArqEndpoint, HostArqClient
from bss1.host.udp_proxy import FaultConfig, FaultyUdpProxy

APP = 0x2A1B
WORDS = tuple(range(0x1000, 0x1000 + 180))
PAYLOAD_BYTES = 8 * len(WORDS)
ADAPTIVE = ArqParams(rto_max_s=3e-3)
ADAPTIVE_FPGA = ArqParams(rto_max_s=3e-3, delay_ack_s=378e-6)


def one_run(loss: float | None, seconds: float, params: ArqParams) -> dict:
    delivered = [0]

    def on_packet(ptype, words):
        delivered[0] += 1

    fpga_params = ADAPTIVE_FPGA if params is ADAPTIVE else ArqParams(delay_ack_s=378e-6)
    with contextlib.ExitStack() as stack:
        fpga = stack.enter_context(FpgaArqEndpoint(data_port=0, reset_port=0, params=fpga_params,
                                                   on_packet=on_packet))
        target = fpga
        if loss is not None:
            faults = FaultConfig(loss=loss)
            target = stack.enter_context(FaultyUdpProxy(
                "127.0.0.1", fpga.data_port, fpga.reset_port, to_fpga=faults, to_host=faults,
                seed=1))
        client = stack.enter_context(HostArqClient("127.0.0.1", target.data_port,
                                                   target.reset_port, params=params))
        for _ in range(5):
            with contextlib.suppress(TimeoutError):
                client.connect(reset_timeout=0.5)
                break
        t0 = time.monotonic()
        sent = 0
        while time.monotonic() - t0 < seconds:
            for _ in range(64):
                client.send(APP, WORDS, timeout=10)
            sent += 64
        client.wait_sent(30)
        end = time.monotonic() + 10
        while delivered[0] < sent and time.monotonic() < end:
            time.sleep(0.001)
        elapsed = time.monotonic() - t0
        if delivered[0] != sent:
            raise RuntimeError(f"delivered {delivered[0]} of {sent} frames")
        return {"frames_s": sent / elapsed, "mb_s": sent * PAYLOAD_BYTES / elapsed / 1e6,
                "resent_frac": client.stats.frames_resent / sent}


def median_of(runs: int, loss, seconds: float, params: ArqParams) -> dict:
    results = [one_run(loss, seconds, params) for _ in range(runs)]
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="sending time per run")
    ap.add_argument("--runs", type=int, default=5, help="runs per setting (median)")
    args = ap.parse_args(argv)
    if not 0.1 <= args.seconds <= 5 or not 1 <= args.runs <= 5:
        ap.error(f"--seconds {args.seconds} must be in 0.1..5, --runs {args.runs} in 1..5")
    out = {}
    for key, loss, params in (("", None, ADAPTIVE), ("_loss1", 0.01, ADAPTIVE),
                              ("_loss10", 0.10, ADAPTIVE), ("_fixed_rto", None, FCP_PARAMS)):
        r = median_of(args.runs, loss, args.seconds, params)
        print(f"goodput{key or ' (loopback)'}: {r['mb_s']:.1f} MB/s, {r['frames_s']:.0f} "
              f"frames/s, resent {100 * r['resent_frac']:.1f} %", file=sys.stderr, flush=True)
        out[f"goodput_mb_s{key}"] = round(r["mb_s"], 2)
        out[f"frames_s{key}"] = round(r["frames_s"])
        out[f"resent_frac{key}"] = round(r["resent_frac"], 4)
    out.update(frame_words=len(WORDS), runs=args.runs, seconds_per_run=args.seconds,
               rto="adaptive 756 us .. 3 ms (fixed 756 us for *_fixed_rto)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
