"""Verilog generation with a kept name map and a content-hash cache (spec: ecosystem.md B1, D).

``generate(factory, name)`` converts an Amaranth component to ``<name>.v`` plus
``<name>.names.json`` under ``build/rtl/<key>/`` and returns a :class:`Generated`. The key hashes
what the Verilog depends on, without elaborating the design: this module, the top name, the
parameters, the Amaranth version, and the factory's module with every ``bss1`` module it imports
(a static walk of import statements, so edits elsewhere in rtl/ do not invalidate it; imports
hidden inside functions are not seen). A hit skips elaboration and conversion entirely (the
HICANN top takes about a minute), also in a fresh process, so tests and benchmarks share one
conversion.

Conversion uses ``convert_fragment(emit_src=False, strip_internal_attrs=True)``: no absolute paths
in the output, and the name map is kept (``verilog.convert`` drops it). Ports are built from the
component's signature exactly like ``verilog.convert`` does (member paths joined with ``"__"``);
the implicit ``sync`` domain adds ``clk`` and ``rst``. Use only ``sync`` in converted tops: a
domain created inside a component gets its clock tied to 0 without an error.

Name map (``<name>.names.json``)::

    {"top": "demo", "key": "<hash>", "instances": {"": "demo", "loop": "demo.loop"},
     "ports":   {"count": {"dir": "out", "width": 16}, "clk": {"dir": "in", "width": 1}, ...},
     "signals": {"loop.transfers": {"path": ["loop", "transfers"], "width": 16},
                 "loop.held.addr": {"path": ["loop", "held.addr"], "width": 6}, ...}}

``signals`` keys are Amaranth paths (submodule names, then ``Signal.name``, then struct fields);
``path`` is the Verilog hierarchy below the top (instance names, then the wire name as written
in the Verilog, unescaped). Yosys temporaries (``$1``, ``_0_``) are left out.

Registering a top for the CLI (``python -m bss1.rtl.generate <top> [--out DIR] [-p k=v]``)::

    TOPS["hicann"] = "bss1.rtl.hicann:HICANN"     # lazy "module:attr", or the callable itself

A factory is called with the parameters as keyword arguments; it must return the component.
"""

import argparse
import ast
import dataclasses
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["TOPS", "Generated", "generate", "generate_top", "design_key", "build_root",
           "parse_verilog_decls", "main"]

#: Named tops for the CLI and for :func:`generate_top`: name -> callable or ``"module:attr"``.
TOPS: dict = {
    "demo": "bss1.rtl.demo:DemoTop",
    "hicann": "bss1.rtl.hicann:Hicann",
    "hicann_test": "bss1.rtl.stub_analog:HicannTestTop",
    "hicann_analog": "bss1.rtl.analog_bridge:HicannAnalogTop",
}

#: Bump when the output format of this module changes (invalidates every cache entry).
_FORMAT = 2

_RTL_DIR = Path(__file__).resolve().parent


def build_root() -> Path:
    """``$BSS1_BUILD_DIR`` if set, else ``build/`` at the repository root."""
    env = os.environ.get("BSS1_BUILD_DIR")
    return Path(env) if env else _RTL_DIR.parent / "build"


@dataclasses.dataclass(frozen=True)
class Generated:
    """A converted design: where its files are and what the name map says."""

    name: str
    key: str
    dir: Path
    cached: bool

    @property
    def verilog(self) -> Path:
        return self.dir / f"{self.name}.v"

    @property
    def names_path(self) -> Path:
        return self.dir / f"{self.name}.names.json"

    @property
    def sources(self) -> list:
        return [self.verilog]

    @property
    def names(self) -> dict:
        return json.loads(self.names_path.read_text())

    @property
    def ports(self) -> dict:
        return self.names["ports"]

    @property
    def signals(self) -> dict:
        return self.names["signals"]


# ------------------------------------------------------------------------------------- cache key

def _resolve(factory):
    if isinstance(factory, str):
        if ":" not in factory:
            raise ValueError(f"top factory {factory!r} is not of the form 'module:attr'")
        mod, attr = factory.split(":", 1)
        return getattr(importlib.import_module(mod), attr)
    return factory


def _factory_file(factory):
    """Source file of the module defining ``factory`` (a callable, component or "mod:attr")."""
    if isinstance(factory, str):
        spec = importlib.util.find_spec(factory.split(":", 1)[0])
        return Path(spec.origin) if spec and spec.origin else None
    obj = factory if inspect.isclass(factory) or inspect.isfunction(factory) else type(factory)
    try:
        return Path(inspect.getsourcefile(obj)).resolve()
    except (TypeError, OSError):
        return None


def _is_instance(factory) -> bool:
    return not isinstance(factory, str) and not inspect.isclass(factory) \
        and hasattr(factory, "elaborate")


def _factory_ident(factory) -> str:
    if isinstance(factory, str):
        return factory
    obj = type(factory) if _is_instance(factory) else factory
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def _instance_fingerprint(component) -> dict:
    """Public attributes of simple type: what distinguishes two instances of one class."""
    simple = (int, float, str, bool, type(None))
    return {k: v for k, v in sorted(vars(component).items())
            if not k.startswith("_") and isinstance(v, simple)}


def _module_file(modname: str):
    try:
        spec = importlib.util.find_spec(modname)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve() if spec and spec.origin and \
        spec.origin.endswith(".py") else None


def _import_closure(root: Path) -> list:
    """Source files ``root`` depends on inside ``bss1``: a static walk of its import statements.

    Deterministic and cheap (no import of the design). Only imports that name a ``bss1``
    module (absolute, or relative inside a ``bss1`` package) are followed, plus the
    ``__init__.py`` of every package on the way. Files outside ``bss1`` count as themselves.
    """
    seen, todo = set(), [root]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        pkg = _package_of(path)
        tree = ast.parse(path.read_bytes(), str(path))
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    if pkg is None:
                        continue
                    parts = pkg.split(".")
                    parts = parts[:len(parts) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names.append(base)
                names += [f"{base}.{a.name}" for a in node.names]
        for name in names:
            if not name.startswith("bss1."):
                continue
            parts = name.split(".")
            for i in range(2, len(parts) + 1):
                f = _module_file(".".join(parts[:i]))
                if f is not None and f not in seen:
                    todo.append(f)
    return sorted(seen)


def _package_of(path: Path):
    """Dotted package name of a file inside a ``bss1`` package (via the installed layout)."""
    for pkg in ("rtl", "firmware", "models", "host"):
        root = _RTL_DIR.parent / pkg
        if root in path.parents:
            rel = path.parent.relative_to(root).parts
            return ".".join(("bss1", pkg) + rel)
    return None


def design_key(factory, name: str, params: dict | None = None) -> str:
    """Content hash identifying the Verilog of ``factory(**params)`` converted as ``name``."""
    h = hashlib.sha256()
    h.update(f"bss1-generate/{_FORMAT}\0{name}\0{_factory_ident(factory)}\0".encode())
    h.update(json.dumps(params or {}, sort_keys=True, default=repr).encode() + b"\0")
    if _is_instance(factory):
        h.update(json.dumps(_instance_fingerprint(factory), default=repr).encode())
    h.update(importlib.metadata.version("amaranth").encode() + b"\0")
    src = _factory_file(factory)
    files = _import_closure(src) if src is not None else []
    for path in [Path(__file__).resolve()] + [f for f in files if f != Path(__file__).resolve()]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


# ---------------------------------------------------------------------- Verilog declaration scan

_MODULE_RE = re.compile(r"^module\s+(\\\S+|\w+)\s*\(", re.M)
_DECL_RE = re.compile(r"^\s*(input|output|inout|wire|reg)\s+(?:signed\s+)?"
                      r"(?:\[(\d+):(\d+)\]\s+)?(\\\S+|[\w$]+)\s*[;=]", re.M)
_INST_RE = re.compile(r"^\s*(\\\S+|\w+)\s+(\\\S+|\w+)\s*\(\s*$", re.M)


def _unescape(ident: str) -> str:
    return ident[1:] if ident.startswith("\\") else ident


def parse_verilog_decls(text: str) -> dict:
    """Scan Yosys ``write_verilog`` output: per module, its ports, wires and instances.

    Returns ``{module: {"ports": {name: (dir, width)}, "wires": {name: width},
    "instances": {inst: module}}}`` with identifiers unescaped. Good enough for Yosys's
    regular output; not a Verilog parser.
    """
    modules = {}
    starts = [(m.start(), _unescape(m.group(1))) for m in _MODULE_RE.finditer(text)]
    for i, (pos, mod) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = text[pos:end]
        ports, wires = {}, {}
        for kind, msb, lsb, ident in _DECL_RE.findall(body):
            width = abs(int(msb) - int(lsb)) + 1 if msb else 1
            ident = _unescape(ident)
            if kind in ("input", "output", "inout"):
                ports[ident] = ({"input": "in", "output": "out"}.get(kind, "inout"), width)
            wires.setdefault(ident, width)
        modules[mod] = {"ports": ports, "wires": wires, "instances": {}}
    names = set(modules)
    for i, (pos, mod) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        for mtype, inst in _INST_RE.findall(text[pos:end]):
            if _unescape(mtype) in names:
                modules[mod]["instances"][_unescape(inst)] = _unescape(mtype)
    return modules


def _is_temporary(ident: str) -> bool:
    return ident.startswith("$") or re.fullmatch(r"_\d+_", ident) is not None


def _build_names(name: str, key: str, text: str, name_map) -> dict:
    decls = parse_verilog_decls(text)
    if name not in decls:
        raise RuntimeError(f"top module {name!r} not found in the generated Verilog")
    ports = {p: {"dir": d, "width": w} for p, (d, w) in sorted(decls[name]["ports"].items())}
    # instance path (tuple of instance names) -> module name, from the top down
    inst_mod = {(): name}
    todo = [()]
    while todo:
        path = todo.pop()
        for inst, mod in decls[inst_mod[path]]["instances"].items():
            inst_mod[path + (inst,)] = mod
            todo.append(path + (inst,))
    mod_of_hier = {}  # Amaranth hierarchy tuple (top, sub, ...) -> instance path
    for path in inst_mod:
        mod_of_hier[(name,) + path] = path
    signals = {}
    for signal, vpath in name_map.items():
        hier, wire = tuple(vpath[:-1]), vpath[-1]
        inst_path = mod_of_hier.get(hier)
        if inst_path is None or _is_temporary(wire) or signal.name is None:
            continue      # module dropped as empty, or a temporary
        wires = decls[inst_mod[inst_path]]["wires"]
        if wire not in wires:
            continue
        base = ".".join(inst_path + (signal.name,))
        if base in signals:
            base = ".".join(inst_path + (wire,))
        signals[base] = {"path": list(inst_path) + [wire], "width": wires[wire]}
        prefix = wire + "."
        for w, width in wires.items():     # struct / array fields: escaped "\sig.field " wires
            if w.startswith(prefix):
                signals.setdefault(base + w[len(wire):], {"path": list(inst_path) + [w],
                                                          "width": width})
    instances = {".".join(path): mod for path, mod in sorted(inst_mod.items())}
    return {"top": name, "key": key, "ports": ports, "instances": instances,
            "signals": dict(sorted(signals.items()))}


# ------------------------------------------------------------------------------------ conversion

def _signature_ports(component) -> dict:
    """Ports dict for ``convert_fragment``, built the way ``verilog.convert`` builds it."""
    from amaranth.hdl import _ast, _ir
    from amaranth.lib import wiring
    if not isinstance(getattr(component, "signature", None), wiring.Signature):
        raise TypeError(f"top {component!r} is not a wiring.Component with a signature")
    ports = {}
    for path, member, value in component.signature.flatten(component):
        if isinstance(value, _ast.ValueCastable):
            value = value.as_value()
        if isinstance(value, _ast.Value):
            direction = (_ir.PortDirection.Input if member.flow == wiring.In
                         else _ir.PortDirection.Output)
            ports["__".join(map(str, path))] = (value, direction)
    return ports


def _convert(component, name: str):
    from amaranth.back import verilog
    from amaranth.hdl import _ir
    ports = _signature_ports(component)
    fragment = _ir.Fragment.get(component, None)
    return verilog.convert_fragment(fragment, ports, name, emit_src=False,
                                    strip_internal_attrs=True)


def _atomic_write(path: Path, text: str):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def generate(factory, name: str, out_dir=None, *, params: dict | None = None,
             cache: bool = True) -> Generated:
    """Convert a component to Verilog plus name map, reusing the cache when possible.

    Parameters
    ----------
    factory : callable, ``"module:attr"`` string, or a ``wiring.Component`` instance
        A callable is called as ``factory(**params)`` on a cache miss only. For an instance,
        ``params`` are not applied; they (and the instance's public simple attributes) only
        enter the cache key, so pass anything else that distinguishes instances there.
    name : str
        Verilog module name of the top (a plain identifier).
    out_dir : path, optional
        Also copy ``<name>.v`` / ``<name>.names.json`` there; the returned object points there.
    cache : bool
        ``False`` forces a conversion (the cache entry is rewritten).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"top name {name!r} is not a plain Verilog identifier")
    params = dict(params or {})
    key = design_key(factory, name, params)
    entry = build_root() / "rtl" / key
    hit = Generated(name, key, entry, cached=True)
    if not (cache and hit.verilog.exists() and hit.names_path.exists()):
        obj = _resolve(factory)
        component = obj if _is_instance(obj) else obj(**params)
        text, name_map = _convert(component, name)
        names = _build_names(name, key, text, name_map)
        entry.mkdir(parents=True, exist_ok=True)
        _atomic_write(hit.verilog, text)
        _atomic_write(hit.names_path, json.dumps(names, indent=1, sort_keys=True) + "\n")
        hit = dataclasses.replace(hit, cached=False)
    if out_dir is None:
        return hit
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for src in (hit.verilog, hit.names_path):
        shutil.copyfile(src, out / src.name)
    return dataclasses.replace(hit, dir=out)


def generate_top(top: str, out_dir=None, *, params: dict | None = None,
                 cache: bool = True) -> Generated:
    """:func:`generate` for a top registered in :data:`TOPS` (module named after the top)."""
    if top not in TOPS:
        raise KeyError(f"unknown top {top!r}; registered: {', '.join(sorted(TOPS))}")
    return generate(TOPS[top], top, out_dir, params=params, cache=cache)


def _parse_param(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"parameter {text!r} is not of the form key=value")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bss1.rtl.generate",
                                     description="Generate Verilog + name map for a named top.")
    parser.add_argument("top", nargs="?", help=f"one of: {', '.join(sorted(TOPS))}")
    parser.add_argument("--out", help="also copy the files to this directory")
    parser.add_argument("-p", "--param", action="append", type=_parse_param, default=[],
                        help="factory parameter key=value (value parsed as JSON if it can be)")
    parser.add_argument("--force", action="store_true", help="ignore the cache")
    parser.add_argument("--list", action="store_true", help="list the registered tops")
    args = parser.parse_args(argv)
    if args.list or args.top is None:
        print("\n".join(sorted(TOPS)))
        return 0 if args.list else 2
    if args.top not in TOPS:
        parser.error(f"unknown top {args.top!r}; registered: {', '.join(sorted(TOPS))}")
    t0 = time.monotonic()
    gen = generate_top(args.top, args.out, params=dict(args.param), cache=not args.force)
    print(json.dumps({"top": gen.name, "key": gen.key, "cached": gen.cached,
                      "verilog": str(gen.verilog), "names": str(gen.names_path),
                      "seconds": round(time.monotonic() - t0, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
