"""Shared test helpers: golden files and checking sources from strings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from filmlang.api import CheckResult, check_file

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it under --update-golden."""
    if update or not path.exists():
        if not update and os.environ.get("CI"):
            pytest.fail(f"golden file {path} is missing; run pytest --update-golden")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; review and run pytest --update-golden"


def check_source(tmp_path: Path, text: str, name: str = "film.film",
                 files: dict[str, str] | None = None) -> CheckResult:
    """Write `text` (and any other `files`) under tmp_path and check it."""
    for rel, body in (files or {}).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    entry = tmp_path / name
    entry.write_text(text, encoding="utf-8")
    return check_file(entry)


FILM_HEADER = 'film "Test" { size 320x180 }\n'
