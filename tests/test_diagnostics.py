"""One small file per diagnostic, each saying what it expects.

Every `tests/diagnostics/*.film` (or `tests/diagnostics/<case>/main.film` for cases that
need several files) starts with lines such as

    # expect: E0102 24:9 unknown character 'MRA'
    # expect: E0404 characters.film:6:1 an imported module cannot have a 'scene'

(code, [file:]line:column, and a part of the message; the file is the entry file unless
named). The check must give exactly those errors and warnings, at those places; its whole
text output is a golden file beside it (`.txt`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, assert_golden
from filmlang.api import check_file
from filmlang.diagnostics import CODES

CORPUS = ROOT / "tests" / "diagnostics"
EXPECT = re.compile(
    r"^#\s*expect:\s*(?P<code>[EW]\d{4})\s+(?:(?P<file>[\w./-]+\.film):)?"
    r"(?P<line>\d+):(?P<col>\d+)\s+(?P<msg>.+)$")


def cases() -> list[Path]:
    singles = sorted(CORPUS.glob("*.film"))
    folders = sorted(p / "main.film" for p in CORPUS.iterdir() if (p / "main.film").is_file())
    return singles + folders


def expectations(path: Path) -> list[tuple[str, str, int, int, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line.strip())
        if m:
            out.append((m["code"], m["file"] or path.name, int(m["line"]), int(m["col"]),
                        m["msg"].strip()))
    return out


def case_id(path: Path) -> str:
    return path.parent.name if path.name == "main.film" else path.stem


@pytest.mark.parametrize("path", cases(), ids=case_id)
def test_diagnostic_case(path: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = expectations(path)
    assert expected, f"{path} has no '# expect:' line"
    monkeypatch.chdir(CORPUS)
    result = check_file(path)
    found = [(d.code, d.span.file, d.span.line, d.span.column, d.message)
             for d in result.diagnostics]
    for code, file, line, col, message in expected:
        assert any(f[:4] == (code, file, line, col) and message in f[4] for f in found), (
            f"expected {code} at {file}:{line}:{col} '{message}', found {found}")
    assert len(found) == len(expected), f"unexpected extra diagnostics: {found}"
    assert result.ok == all(e[0].startswith("W") for e in expected)
    golden = path.with_suffix(".txt") if path.name != "main.film" else path.parent / "expected.txt"
    assert_golden(golden, result.report() + "\n", update_golden)


def test_every_code_has_a_case_and_a_doc() -> None:
    covered = {e[0] for path in cases() for e in expectations(path)}
    # E06xx are build errors (they need speech durations): tests/test_build.py has them.
    # E0008 and E0009 need a file of 300,000 tokens or 1,000 problems:
    # tests/test_source_size.py makes them.
    missing = sorted(c for c in set(CODES) - covered
                     if not c.startswith("E06") and c not in ("E0008", "E0009"))
    assert not missing, f"codes without a file in tests/diagnostics: {missing}"
    doc = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    undocumented = [code for code in CODES if f"## {code}" not in doc]
    assert not undocumented, f"codes missing from docs/errors.md: {undocumented}"
