"""The code stays ruff-clean and mypy --strict clean (ARCHITECTURE.md section 8)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff() -> None:
    result = _run("ruff", "check", "filmlang", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy", "--strict", "filmlang")
    assert result.returncode == 0, result.stdout + result.stderr


MAX_LINES = 600
MAX_COMPLEXITY = 15
SIZE_EXCEPTIONS: set[str] = set()


def test_files_and_functions_stay_small() -> None:
    """No file under filmlang/ over MAX_LINES lines, no function over MAX_COMPLEXITY
    (ruff's C901, McCabe) (ARCHITECTURE.md section 7: a file past that is two ideas)."""
    long = []
    for path in sorted((ROOT / "filmlang").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES and name not in SIZE_EXCEPTIONS:
            long.append(f"{name}: {count} lines")
    assert not long, f"files over {MAX_LINES} lines: {long}"
    result = _run("ruff", "check", "filmlang", "--select", "C901", "--output-format", "concise",
                  "--config", f"lint.mccabe.max-complexity={MAX_COMPLEXITY}",
                  *(f"--extend-exclude={name}" for name in sorted(SIZE_EXCEPTIONS)))
    assert result.returncode == 0, result.stdout + result.stderr
