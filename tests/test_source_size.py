"""Memory and time per source byte (issue 12): a 2 MB source checks and formats in at most
300 MB (a generous 400 MB here: the machine is shared, and the bound is on memory, not time).

Each source runs through `filmc` as a real process, whose own peak memory (`VmHWM`) is read
at its exit (see tests/test_template_budget.py). Before: about 1.8 kB of memory per bare
word, 1.5 GB for 2 MB of one-word lines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_template_budget import run_measured

from conftest import FILM_HEADER, ROOT, check_source
from filmlang.api import check_file, parse_text
from filmlang.syntax import parser

BOUND_KIB = 400 * 1024
SIZE = 2_000_000


def _film_of_size(size: int) -> str:
    spec = importlib.util.spec_from_file_location("check_speed", ROOT / "bench" / "check_speed.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    shots = 2000
    text: str = bench.generate(shots)
    while len(text) < size:
        shots = shots * size // len(text) + 10
        text = bench.generate(shots)
    return text


def _words(size: int, sep: str) -> str:
    words = ["alpha", "MARA", "wide", "shot", "look", "x1", "hello"]
    out = (sep.join(words) + sep) * (size // (len(sep.join(words)) + len(sep)) + 1)
    return out[:size]


@pytest.mark.parametrize(("name", "command", "statuses", "said"), [
    ("film", "check", (0,), ""),
    ("film", "fmt", (0, 1), ""),  # 1: `fmt --check` would reformat
    ("lines", "check", (1,), "E0008"),
    ("one_line", "fmt", (1,), "E0008"),
], ids=["film-check", "film-fmt", "word-lines-check", "words-on-one-line-fmt"])
def test_two_megabytes_take_bounded_memory(tmp_path: Path, name: str, command: str,
                                            statuses: tuple[int, ...], said: str) -> None:
    text = {"film": lambda: _film_of_size(SIZE), "lines": lambda: _words(SIZE, "\n"),
            "one_line": lambda: _words(SIZE, " ")}[name]()
    path = tmp_path / f"{name}.film"
    path.write_text(text, encoding="utf-8")
    args = ["check", path.name] if command == "check" else ["fmt", "--check", path.name]
    code, output, _cpu, peak = run_measured(args, tmp_path, timeout=120)
    assert code in statuses, output[-2000:]
    assert said in output and "Traceback" not in output
    assert peak is not None and peak < BOUND_KIB, f"peak {peak / 1024:.0f} MiB"


def test_a_file_past_the_token_limit_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_TOKENS", 50)
    module, diagnostics = parse_text("a\n" * 30)
    assert [d.code for d in diagnostics] == ["E0008"]
    assert (diagnostics[0].span.line, diagnostics[0].span.column) == (26, 1)
    assert module.body == ()
    module, diagnostics = parse_text("a\n" * 20)
    assert not diagnostics and len(module.body) == 20


def test_a_check_stops_after_a_thousand_problems(tmp_path: Path) -> None:
    path = tmp_path / "notes.film"
    path.write_text("look\n" * 5000, encoding="utf-8")
    result = check_file(path)
    codes = [d.code for d in result.diagnostics]
    assert len(codes) == 1001 and codes[-1] == "E0009", codes[-3:]
    assert set(codes[:-1]) == {"E0106"}
    assert "checking stopped after 1,000 problems" in result.report()


def test_a_check_with_many_problems_but_under_the_limit_reports_them_all(
        tmp_path: Path) -> None:
    shots = "    shot wide 1s { bogus 1 }\n" * 300
    result = check_source(tmp_path, FILM_HEADER + "scene s {\n" + shots + "}\n")
    assert sum(d.code == "E0101" for d in result.diagnostics) == 300
    assert not any(d.code == "E0009" for d in result.diagnostics)
