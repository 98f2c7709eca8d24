"""Command line of the emulated wafer-module FPGA: ``python -m bss1.firmware.fpga_emulator`` and
``bss1 fpga serve`` (:func:`add_cli`) run a :class:`~bss1.firmware.fpga_emulator.FpgaEmulator`
on 127.0.0.1 until Ctrl-C. All names are re-exported by :mod:`bss1.firmware.fpga_emulator`,
which imports this module at its end; so this module imports the emulator only inside the
functions that need it."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Sequence

from ..host.hicann_link import N_HICANNS
from ..host.hostarq import DATA_PORT, RESET_PORT

__all__ = ["build_parser", "add_cli", "serve", "main"]


# -- command line ------------------------------------------------------------------------------
def _add_arguments(p: argparse.ArgumentParser) -> None:
    from .fpga_emulator import SOFT_RESET_PORT
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DATA_PORT,
                   help=f"HostARQ data port (default {DATA_PORT}; 0 = any free port)")
    p.add_argument("--reset-port", type=int, default=RESET_PORT,
                   help=f"HostARQ reset port (default {RESET_PORT}; 0 = any free port)")
    p.add_argument("--soft-reset-port", type=int, default=SOFT_RESET_PORT,
                   help=f"FPGA soft-reset port (default {SOFT_RESET_PORT}; 0 = any free port)")
    p.add_argument("--hicanns", type=int, default=N_HICANNS,
                   help=f"number of HICANNs (default {N_HICANNS})")
    p.add_argument("--pll", type=int, default=100, help="HICANN PLL in MHz (default 100)")
    p.add_argument("--status-every", type=float, default=0.0,
                   help="print the status counters every N seconds (default 0 = never)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bss1.firmware.fpga_emulator",
                                description="Emulated BrainScaleS-1 wafer-module FPGA "
                                            "(HostARQ over UDP, 8 HICANNs)")
    _add_arguments(p)
    return p


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add ``serve`` to an argparse subparsers object (``bss1 fpga serve``)."""
    p = subparsers.add_parser("serve", help="run the emulated FPGA on 127.0.0.1",
                              description=build_parser().description)
    _add_arguments(p)
    p.set_defaults(func=lambda args: serve(args))
    return p


def serve(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or ``stop`` is set); prints the ports first."""
    from .fpga_emulator import FpgaEmulator
    emu = FpgaEmulator(args.host, args.port, args.reset_port,
                       soft_reset_port=args.soft_reset_port, n_hicanns=args.hicanns,
                       pll_mhz=args.pll)
    print(f"FPGA emulator on {args.host}: data port {emu.data_port}, reset port "
          f"{emu.reset_port}, soft-reset port {emu.soft_reset_port}; Ctrl-C stops", flush=True)
    last = time.monotonic()
    try:
        while emu.endpoint.error is None and not (stop is not None and stop.is_set()):
            time.sleep(0.05)
            if args.status_every > 0 and time.monotonic() - last >= args.status_every:
                last = time.monotonic()
                print(f"status: {emu._summary()}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    if emu.endpoint.error is not None:
        print(f"endpoint failed: {emu.endpoint.error}", flush=True)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return serve(build_parser().parse_args(argv))

