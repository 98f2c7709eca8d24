"""The scripts in examples/ run and succeed (so they cannot rot)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path)])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"


def test_cli_demo_model_only(capsys):
    from bss1.host.cli import main
    assert main(["demo", "--simulator", "none"]) == 0
    out = capsys.readouterr().out
    assert out.count("[150, 150] ok") == 8


def test_cli_regmap_export(tmp_path):
    import json

    from bss1.host.cli import main
    from bss1.rtl.registers import HICANN_MAP
    f = tmp_path / "map.json"
    assert main(["regmap", "export", str(f)]) == 0
    d = json.loads(f.read_text())
    assert [i["name"] for i in d["instances"]] == [i.name for i in HICANN_MAP.instances]
