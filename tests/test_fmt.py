"""`filmc fmt`: canonical layout, comments kept, idempotent, IR unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from filmlang.api import format_text, parse_text

MESSY = '''# header


film "X" {  # the film
  size 320x180 ; fps 24   # two on a line
    # before seed
  seed 7
}   # after film
character A { look "a man" }  # one-liner
let l = [1,   2,
  3]
scene s "INT. ROOM - DAY" {


    shot wide 4s {
        A  ( whispering ) : "there"
    }
    # dangling


}
# the end
'''

CANONICAL = '''# header

film "X" {  # the film
    size 320x180
    fps 24  # two on a line
    # before seed
    seed 7
}  # after film
character A {
    look "a man"
}  # one-liner
let l = [1, 2, 3]
scene s "INT. ROOM - DAY" {
    shot wide 4s {
        A (whispering): "there"
    }
    # dangling
}
# the end
'''


def test_canonical_layout() -> None:
    result = format_text(MESSY)
    assert result.text == CANONICAL


def test_formatting_formatted_text_changes_nothing() -> None:
    assert format_text(CANONICAL).text == CANONICAL
    assert not format_text(CANONICAL).changed


FILES = sorted([*(ROOT / "examples").rglob("*.film"), *(ROOT / "stdlib").rglob("*.film"),
                *(ROOT / "tests" / "golden").glob("*/source.film")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_idempotent_and_keeps_comments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = format_text(text)
    if first.text is None:
        return  # a file with parse errors is left alone
    assert format_text(first.text).text == first.text
    before = [c.text.rstrip() for c in parse_text(text)[0].comments]
    after = [c.text for c in parse_text(first.text)[0].comments]
    assert before == after


@pytest.mark.parametrize("path", sorted((ROOT / "examples").rglob("*.film")) +
                         sorted((ROOT / "stdlib").rglob("*.film")),
                         ids=lambda p: p.name)
def test_shipped_files_are_formatted(path: Path) -> None:
    assert not format_text(path.read_text(encoding="utf-8")).changed, \
        f"run: filmc fmt {path.relative_to(ROOT)}"


def test_fmt_refuses_text_that_does_not_parse() -> None:
    result = format_text('film "x" {\n')
    assert result.text is None and result.diagnostics[0].code == "E0005"
