"""The lexical rules of spec section 2 and the statement forms of section 3."""

from __future__ import annotations

import pytest

from filmlang.api import parse_text
from filmlang.syntax import ast
from filmlang.syntax.strings import decode_long_string


def only(text: str) -> ast.Statement:
    module, diagnostics = parse_text(text)
    assert not diagnostics, diagnostics
    assert len(module.body) == 1, module.body
    return module.body[0]


def test_statements_end_at_newline_semicolon_or_brace() -> None:
    block = only('character A { look "a man" }')
    assert isinstance(block, ast.Block) and len(block.body) == 1
    block = only('character A { look "a man"; voice "en" pitch=40 }')
    assert [s.kind for s in block.body] == ["property", "property"]
    module, diagnostics = parse_text('fps 24; seed 7\nsize 320x180\n\n\n')
    assert not diagnostics and [s.name for s in module.body] == ["fps", "seed", "size"]


@pytest.mark.parametrize(("raw", "seconds"), [
    ("500ms", 0.5), ("4s", 4.0), ("1.5s", 1.5), ("2m", 120.0), ("0.25s", 0.25), (".5s", 0.5),
])
def test_durations(raw: str, seconds: float) -> None:
    prop = only(f"pause {raw}")
    assert isinstance(prop, ast.Property)
    value = prop.args[0]
    assert isinstance(value, ast.DurationValue) and value.seconds == seconds
    assert value.raw == raw


def test_numbers_sizes_names_lists() -> None:
    prop = only("x 42 -3 0.5 1280x720 push_in [1, 2,\n 3,] key=Am")
    assert isinstance(prop, ast.Property)
    kinds = [v.kind for v in prop.args]
    assert kinds == ["number", "number", "number", "size", "name", "list"]
    lst = prop.args[-1]
    assert isinstance(lst, ast.ListValue) and [i.raw for i in lst.items] == ["1", "2", "3"]
    assert prop.kwargs[0].name == "key"


def test_string_escapes() -> None:
    prop = only(r'look "say \"hi\"\n\tback\\slash"')
    assert isinstance(prop, ast.Property)
    value = prop.args[0]
    assert isinstance(value, ast.StringValue)
    assert value.value == 'say "hi"\n\tback\\slash'


def test_unknown_escape_is_an_error() -> None:
    _, diagnostics = parse_text(r'look "a\qb"')
    assert [d.code for d in diagnostics] == ["E0004"]
    assert diagnostics[0].span.column == 8


def test_triple_quoted_strings_remove_common_indentation() -> None:
    assert decode_long_string('"""\n    one\n      two\n    """') == "one\n  two"
    assert decode_long_string('"""single"""') == "single"
    prop = only('prompt """\n    a # not a comment\n    b"""\n')
    assert isinstance(prop, ast.Property)
    value = prop.args[0]
    assert isinstance(value, ast.StringValue) and value.value == "a # not a comment\nb"


def test_comments_are_kept_for_the_formatter() -> None:
    module, _ = parse_text('# one\nfps 24  # two\nlook "# not a comment"\n')
    assert [c.text for c in module.comments] == ["# one", "# two"]


def test_dialogue_with_parenthetical() -> None:
    line = only('MARA ( whispering  softly ): "Whatever happens."')
    assert isinstance(line, ast.Dialogue)
    assert line.speaker == "MARA" and line.parenthetical == "whispering softly"
    assert line.text.value == "Whatever happens."


def test_directives() -> None:
    assert isinstance(only('import "std/shots"'), ast.Import)
    assert isinstance(only('include "scenes/one"'), ast.Include)
    let = only("let coast = [1, 2]")
    assert isinstance(let, ast.Let) and let.name == "coast"


def test_spans_are_one_based_and_exact() -> None:
    module, _ = parse_text('film "X" {\n    fps 24\n}\n')
    film = module.body[0]
    assert isinstance(film, ast.Block)
    fps = film.body[0]
    assert (fps.span.line, fps.span.column, fps.span.end_line, fps.span.end_column) == (2, 5, 2, 11)
    assert (film.close_span.line, film.close_span.column) == (3, 1)


@pytest.mark.parametrize(("text", "code", "line", "column"), [
    ('look "open', "E0003", 1, 6),
    ("fps 24sec", "E0205", 1, 5),
    ("fps @", "E0001", 1, 5),
    ("scene s {\n shot wide\n", "E0005", 1, 9),
    ("}\n", "E0002", 1, 1),
    ("MARA: hello", "E0002", 1, 7),
    ("let x 3", "E0002", 1, 7),
])
def test_parse_errors_point_at_the_place(text: str, code: str, line: int, column: int) -> None:
    _, diagnostics = parse_text(text)
    assert diagnostics, text
    first = diagnostics[0]
    assert (first.code, first.span.line, first.span.column) == (code, line, column), first


def test_parse_errors_are_all_reported() -> None:
    text = 'fps @\nlook "open\nMARA: hello\nsize 320x180\nx = 3\n'
    _, diagnostics = parse_text(text)
    assert [d.span.line for d in diagnostics] == [1, 2, 3, 5]


def test_expected_tokens_in_plain_words() -> None:
    _, diagnostics = parse_text("MARA: hello")
    assert "expected a string" in diagnostics[0].message
    assert "STRING" not in diagnostics[0].message
