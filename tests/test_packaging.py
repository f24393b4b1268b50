"""The wheel carries the grammar and the standard library, and filmc runs from it alone."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=build,
        env={**os.environ, "PIP_NO_INPUT": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(out.glob("filmlang-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_grammar_and_stdlib(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "filmlang/grammar/film.lark" in names
    assert "filmlang/stdlib/std/shots.film" in names
    assert "filmlang/py.typed" in names
    for std in (ROOT / "stdlib" / "std").glob("*.film"):
        assert f"filmlang/stdlib/std/{std.name}" in names


def test_every_subpackage_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "filmlang").rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject's packages: {sorted(found - listed)}"


def test_filmc_runs_from_the_wheel_alone(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    film = tmp_path / "film" / "short.film"
    film.parent.mkdir()
    film.write_text('film "Short" { size 320x180 }\n'
                    'character A { look "a woman in a red coat" }\n'
                    'scene s "EXT. PARK - DAY" { shot close_up A { A: "Hello." } }\n')
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import filmlang, sys; "
            f"assert filmlang.__file__.startswith({str(site)!r}), filmlang.__file__; "
            "from filmlang.cli import main; sys.argv=['filmc', 'check', sys.argv[1]]; main()")
    result = subprocess.run([sys.executable, "-c", code, str(film)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'ok: "Short"' in result.stdout
