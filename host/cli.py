"""The ``bss1`` command line.

``bss1 demo``                   run the default scenario (L1 transmission test) and report
``bss1 rtl generate TOP``       write TOP's Verilog and name map (cached by content hash)
``bss1 regmap export [FILE]``   write the HICANN register map as JSON
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(simulator=args.simulator, period=args.period)


def _cmd_generate(args) -> int:
    from ..rtl import generate
    argv = [args.top] + (["--out", args.out] if args.out else [])
    return generate.main(argv) or 0


def _cmd_regmap(args) -> int:
    from ..rtl.registers import HICANN_MAP
    text = HICANN_MAP.to_json() + "\n"
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.file, "w") as f:
            f.write(text)
        print(f"wrote {args.file}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bss1", description="BrainScaleS-1 emulator")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the L1 transmission scenario on the model and the RTL")
    d.add_argument("--simulator", choices=["auto", "verilator", "icarus", "amaranth", "none"],
                   default="auto", help="RTL simulator (auto: Verilator if usable, else Icarus)")
    d.add_argument("--period", type=int, default=150, help="BG period in core cycles (ISI)")
    d.set_defaults(func=_cmd_demo)
    r = sub.add_parser("rtl", help="RTL utilities")
    rsub = r.add_subparsers(dest="rtl_cmd", required=True)
    g = rsub.add_parser("generate", help="generate Verilog + name map")
    g.add_argument("top")
    g.add_argument("--out", default=None)
    g.set_defaults(func=_cmd_generate)
    f = sub.add_parser("fpga", help="emulated wafer-module FPGA")
    from ..firmware.fpga_emulator import add_cli as fpga_add_cli
    fpga_add_cli(f.add_subparsers(dest="fpga_cmd", required=True))
    rm = sub.add_parser("regmap", help="register map")
    rmsub = rm.add_subparsers(dest="regmap_cmd", required=True)
    e = rmsub.add_parser("export", help="export as JSON")
    e.add_argument("file", nargs="?")
    e.set_defaults(func=_cmd_regmap)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
