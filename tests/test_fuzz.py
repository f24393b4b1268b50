"""Property-based tests: whatever a writer types, `check` answers with diagnostics.

Random token soup and mutated example films go through the whole front end (load, parse,
check, templates). It must never raise, never hang, and an unsuccessful check must always
say why. Where the text parses, `fmt` is idempotent and keeps every comment.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from filmlang.api import check_file, format_text, parse_text

EXAMPLE = ROOT / "examples" / "last_ferry.film"
SOURCES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").rglob("*.film"))]

TOKENS = [
    "film", "scene", "shot", "character", "shottype", "let", "import", "include", "wide",
    "close_up", "MARA", "TOM", "look", "voice", "music", "title", "fade", "dissolve", "cut",
    "pause", "camera", "push_in", "setting", "time", "night", "none", "size", "fps",
    '"text"', '"{{ scene.setting }}"', '"{{ x.__class__ }}"', '"{% for %}"', '"""a\n  b"""',
    '"std/shots"', '"../x"', '"missing"', "4s", "500ms", "2m", "0.5s", "1280x720", "24", "-3",
    "0.5", "{", "}", "[", "]", ",", ":", "=", ";", "(whispering)", "\n", "\n", "\n", " ",
    "# note", '"', "\\", "\t", "é", "\x00", "pitch=40", "at=1s", "for=2s", "@", "{{", "%}",
]

FAST = settings(max_examples=150, deadline=3000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _check(text: str) -> None:
    result = check_file(EXAMPLE, text=text)
    if not result.ok:
        assert result.errors, "a failed check must say why"
        report = result.report()
        assert "error" in report
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1
        assert d.message


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=80).map(" ".join))
@example("fade film")  # once raised IndexError: a name where a film-level word was expected
def test_token_soup_gives_diagnostics_not_exceptions(text: str) -> None:
    _check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        i = draw(st.integers(0, n))
        if op == "delete":
            j = draw(st.integers(i, min(n, i + 40)))
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        else:
            lines = text.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            if op == "duplicate":
                lines.insert(b, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@FAST
@given(mutated())
def test_mutated_examples_give_diagnostics_not_exceptions(text: str) -> None:
    _check(text)


@FAST
@given(mutated())
def test_fmt_is_idempotent_and_keeps_comments(text: str) -> None:
    first = format_text(text)
    if first.text is None:
        assert first.diagnostics
        return
    second = format_text(first.text)
    assert second.text == first.text
    before, _ = parse_text(text)
    after, _ = parse_text(first.text)
    assert [c.text.rstrip() for c in before.comments] == [c.text for c in after.comments]


def test_random_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.film"
    path.write_bytes(bytes(range(256)) * 4)
    result = check_file(path)
    assert not result.ok and result.errors[0].code == "E0006"
