"""Verilog generation: determinism, the content-hash cache, the name map and the CLI."""

import json
import os
import subprocess
import sys

import pytest

from bss1.rtl import generate as gen_mod
from bss1.rtl.demo import DemoTop, DemoWord
from bss1.rtl.generate import design_key, generate, generate_top, parse_verilog_decls

# design_key() and failing constructors create components that are never elaborated
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BSS1_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path / "build"


def test_cache_hit_and_deterministic_output(build_dir):
    first = generate(DemoTop, "demo")
    assert not first.cached
    assert first.dir == build_dir / "rtl" / first.key
    again = generate(DemoTop, "demo")
    assert again.cached and again.key == first.key
    text = first.verilog.read_text()
    forced = generate(DemoTop, "demo", cache=False)
    assert not forced.cached
    assert forced.verilog.read_text() == text
    assert "src =" not in text and str(gen_mod._RTL_DIR.parent) not in text
    assert "module demo(" in text


def test_key_depends_on_name_and_params(build_dir):
    base = design_key(DemoTop, "demo")
    assert design_key(DemoTop, "demo") == base
    assert design_key(DemoTop, "demo2") != base
    assert design_key(DemoTop, "demo", {"width": 8}) != base
    assert design_key(DemoTop(width=12), "demo") != design_key(DemoTop(width=13), "demo")
    narrow = generate(DemoTop, "demo", params={"width": 8})
    assert narrow.ports["count"] == {"dir": "out", "width": 8}
    inst = generate(DemoTop(width=12), "demo")
    assert inst.ports["count"]["width"] == 12


def test_name_map_content(build_dir):
    names = generate_top("demo").names
    assert names["top"] == "demo"
    ports = names["ports"]
    assert ports["clk"] == {"dir": "in", "width": 1} and ports["rst"] == {"dir": "in", "width": 1}
    assert ports["i__payload"] == {"dir": "in", "width": DemoWord.size}
    assert ports["o__valid"] == {"dir": "out", "width": 1}
    assert ports["o__ready"] == {"dir": "in", "width": 1}
    assert set(ports) == {"clk", "rst", "en", "count", "i__valid", "i__ready", "i__payload",
                          "o__valid", "o__ready", "o__payload"}
    sig = names["signals"]
    assert sig["loop.transfers"] == {"path": ["loop", "transfers"], "width": 16}
    assert sig["loop.fsm_state"] == {"path": ["loop", "fsm_state"], "width": 1}
    assert sig["loop.held.addr"] == {"path": ["loop", "held.addr"], "width": 6}
    assert sig["o__payload.data"] == {"path": ["o__payload.data"], "width": 8}
    assert not [k for k in sig if "$" in k]
    assert names["instances"] == {"": "demo", "loop": "demo.loop"}


def test_bad_input(build_dir):
    with pytest.raises(ValueError, match=r"^top name '1demo' is not a plain Verilog identifier$"):
        generate(DemoTop, "1demo")
    with pytest.raises(KeyError, match=r"unknown top 'nope'; registered: .*demo"):
        generate_top("nope")
    with pytest.raises(ValueError, match=r"^counter width 0 out of range 1..64$"):
        generate(DemoTop, "demo", params={"width": 0})
    with pytest.raises(ValueError, match=r"^top factory 'no_colon' is not of the form"):
        generate("no_colon", "demo")


def test_parse_verilog_decls():
    text = ("module \\a.b (x, y);\n  input [3:0] x;\n  wire [3:0] x;\n  output y;\n"
            "  wire [1:0] \\x.f ;\nendmodule\n\nmodule a(p);\n  input p;\n  \\a.b  b (\n"
            "    .x(p)\n  );\nendmodule\n")
    decls = parse_verilog_decls(text)
    assert decls["a.b"]["ports"] == {"x": ("in", 4), "y": ("out", 1)}
    assert decls["a.b"]["wires"]["x.f"] == 2
    assert decls["a"]["instances"] == {"b": "a.b"}


def _cli(*args, env):
    proc = subprocess.run([sys.executable, "-m", "bss1.rtl.generate", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_fresh_process_reuses_cache(build_dir, tmp_path):
    env = dict(os.environ, BSS1_BUILD_DIR=str(build_dir))
    rc, out, err = _cli("demo", env=env)
    assert rc == 0, err
    first = json.loads(out.splitlines()[-1])
    assert first["cached"] is False
    rc, out, err = _cli("demo", "--out", str(tmp_path / "out"), env=env)
    assert rc == 0, err
    second = json.loads(out.splitlines()[-1])
    assert second["cached"] is True and second["key"] == first["key"]
    assert (tmp_path / "out" / "demo.v").read_text() == (build_dir / "rtl" / first["key"]
                                                         / "demo.v").read_text()
    rc, out, err = _cli("demo", "-p", "width=9", env=env)
    assert rc == 0 and json.loads(out.splitlines()[-1])["key"] != first["key"]
    rc, out, _ = _cli("--list", env=env)
    assert rc == 0 and "demo" in out.split()
    rc, _, err = _cli("nope", env=env)
    assert rc == 2 and "unknown top 'nope'" in err


def test_key_covers_the_import_closure_only():
    files = {p.name for p in gen_mod._import_closure(gen_mod._factory_file(
        "bss1.rtl.bus:BusDecoder"))}
    assert {"bus.py", "regmap.py"} <= files and "demo.py" not in files
    assert {p.name for p in gen_mod._import_closure(gen_mod._factory_file(DemoTop))} \
        == {"demo.py"}
