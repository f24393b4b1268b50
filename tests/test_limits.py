"""Stated limits (issue 12): nesting is bounded, and every number a film writes has a range,
so a source of any shape ends in diagnostics at file:line:col, never in a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FILM_HEADER, check_source
from filmlang.api import format_text

BIG = "9" * 309
HUGE = "9" * 5000


def _codes(tmp_path: Path, text: str) -> list[tuple[str, int]]:
    result = check_source(tmp_path, text)
    return [(d.code, d.span.line) for d in result.errors]


@pytest.mark.parametrize("text", [
    "let x = " + "[" * 500 + "]" * 500 + "\n",
    "a {" * 1000 + "}" * 1000 + "\n",
    "scene s {\n" + "shot wide {" * 600 + "}" * 600 + "\n}\n",
    "let x = " + "[" * 33 + "1" + "]" * 33 + "\n",
])
def test_deep_nesting_is_one_diagnostic(tmp_path: Path, text: str) -> None:
    result = check_source(tmp_path, FILM_HEADER + text)
    assert [d.code for d in result.errors] == ["E0007"], result.report()
    assert "nested too deeply" in result.errors[0].message


def test_nesting_up_to_the_limit_is_fine(tmp_path: Path) -> None:
    text = FILM_HEADER + "let x = " + "[" * 31 + "1" + "]" * 31 + \
        '\nscene s { shot wide 1s { action "{{ x | length }}" } }\n'
    assert check_source(tmp_path, text).ok


def test_fmt_of_a_deeply_nested_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = format_text(FILM_HEADER + "a {\n" * 1000 + "}\n" * 1000, "deep.film")
    assert result.text is None
    assert [d.code for d in result.diagnostics] == ["E0007"]
    (tmp_path / "deep.film").write_text("x {" * 5000 + "}" * 5000)
    run = subprocess.run([sys.executable, "-m", "filmlang.cli", "fmt", "deep.film"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "E0007" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(("body", "line"), [
    (f"scene s {{\n    shot wide {BIG}s\n}}\n", 3),
    (f"scene s {{\n    shot wide {BIG}ms\n}}\n", 3),
    ("scene s {\n    shot wide 61m\n}\n", 3),
    (f"scene s {{\n    shot wide 1s\n    dissolve {BIG}s\n    shot wide 1s\n}}\n", 4),
    (f"scene s {{\n    fade {BIG}m\n    shot wide 1s\n}}\n", 3),
    (f"scene s {{\n    shot wide 1s {{\n        title \"x\" at={BIG}s\n    }}\n}}\n", 4),
    (f"scene s {{\n    shot wide 1s {{\n        title \"x\" for={BIG}s\n    }}\n}}\n", 4),
    (f"scene s {{\n    shot wide 1s {{\n        sound \"door\" at={BIG}s\n    }}\n}}\n", 4),
    (f"scene s {{\n    shot wide {{\n        pause {BIG}s\n    }}\n}}\n", 4),
    (f"scene s {{\n    shot wide 1s {{\n        seed {BIG}\n    }}\n}}\n", 4),
    (f"scene s {{\n    music \"calm\" tempo={BIG} volume={BIG}\n    shot wide 1s\n}}\n", 3),
    (f"character A {{\n    voice \"en\" pitch={BIG}\n}}\nscene s {{ shot wide A 1s }}\n", 3),
    (f"character A {{\n    seed {HUGE}\n}}\nscene s {{ shot wide A 1s }}\n", 3),
    (f"shottype long {{\n    duration {BIG}s\n}}\nscene s {{ shot long }}\n", 3),
    (f"let n = {BIG}\nscene s {{ shot wide 1s {{ action \"{{{{ n }}}}\" }} }}\n", 2),
    (f"let n = [1, -{HUGE}]\nscene s {{ shot wide 1s {{ action \"{{{{ n }}}}\" }} }}\n", 2),
])
def test_every_number_has_a_range(tmp_path: Path, body: str, line: int) -> None:
    codes = _codes(tmp_path, FILM_HEADER + body)
    assert codes and {code for code, _ in codes} == {"E0202"}, codes
    assert codes[0][1] == line


@pytest.mark.parametrize("film", [
    f'film "T" {{\n    size {HUGE}x180\n}}\n',
    f'film "T" {{\n    size 320x{HUGE}\n}}\n',
    f'film "T" {{\n    seed {BIG}\n}}\n',
    f'film "T" {{\n    fps {BIG}\n}}\n',
    f'film "T" {{\n    loudness -{BIG}\n}}\n',
])
def test_film_block_numbers_have_a_range(tmp_path: Path, film: str) -> None:
    codes = _codes(tmp_path, film + "scene s { shot wide 1s }\n")
    assert codes == [("E0202", 2)]


def test_a_seed_at_the_limit_is_fine(tmp_path: Path) -> None:
    result = check_source(tmp_path, 'film "T" { seed 4294967295 }\nscene s { shot wide 1s }\n')
    assert result.ok, result.report()
