"""The architecture's import contracts (pyproject.toml, [tool.importlinter]) hold, and
breaking one fails: a copy of the package with a backend importing the build is caught."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_import_contracts_are_kept() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Contracts: 4 kept, 0 broken", done.stdout)


def test_a_backend_importing_the_build_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "filmlang", tmp_path / "filmlang",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    music = tmp_path / "filmlang" / "backends" / "music" / "__init__.py"
    music.write_text(music.read_text() + "\nfrom filmlang.build import build  # a loop\n")
    done = lint(tmp_path)
    assert done.returncode != 0
    assert "The pipeline's layers point down BROKEN" in done.stdout
    assert "Backends depend only on the shared types and the IR BROKEN" in done.stdout
    assert "filmlang.backends.music -> filmlang.build" in done.stdout


def test_an_import_loop_inside_a_package_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "filmlang", tmp_path / "filmlang",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kit = tmp_path / "filmlang" / "backends" / "music" / "kit.py"
    kit.write_text(kit.read_text() + "\nfrom filmlang.backends.music.band import Band  # a loop\n")
    done = lint(tmp_path)
    assert done.returncode != 0
    assert "No import loops: in every package, modules import each other one way BROKEN" \
        in done.stdout
    assert ".band -> .kit" in done.stdout or ".kit -> .band" in done.stdout


def test_the_planner_and_the_scheduler_name_no_backend() -> None:
    """They reach backends through the registry only."""
    names = re.compile(r"procedural|piper|espeak|coqui|synth|soundfont|diffusers", re.I)
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("plan", "exec") for path in (ROOT / "filmlang" / folder).glob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1) if names.search(line)]
    assert not found, "\n".join(found)
