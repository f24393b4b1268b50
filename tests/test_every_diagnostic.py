"""Every diagnostic that can be known is reported (issue 12): a syntax error does not hide
the checker's errors in the rest of the file, and a shot whose head is wrong (an unknown
subject or type) still has its body checked."""

from __future__ import annotations

from pathlib import Path

from conftest import FILM_HEADER, check_source

CAST = 'character MARA { look "a woman in a coat" }\n'


def _codes(result: object) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in result.diagnostics]  # type: ignore[attr-defined]


def test_a_syntax_error_does_not_hide_the_checkers_errors(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + CAST + (
        "scene s {\n"                          # 3
        "    shot wide MARA 2s {\n"            # 4
        '        action "x" "y" ]\n'           # 5: syntax error
        "    }\n"
        "    shot wide 2s { bogus 1 }\n"       # 7: unknown statement
        "}\n"
        "scene t {\n"
        "    shot wide TOM 2s\n"               # 10: unknown character
        "}\n"))
    assert _codes(result) == [("E0002", 5), ("E0101", 7), ("E0102", 10)], result.report()
    assert not result.ok


def test_a_broken_block_header_says_nothing_of_its_placeholder(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + CAST + (
        "scene s {\n"
        "    shot wide MARA 2s = {\n"          # 4: syntax error; the block is kept as '_ {'
        '        action "storm"\n'
        "    }\n"
        "    shot wide 2s { bogus 1 }\n"       # 7
        "}\n"))
    assert _codes(result) == [("E0002", 4), ("E0101", 7)], result.report()
    assert "'_'" not in result.report()


def test_an_abandoned_parse_is_not_checked(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + 'scene s {\n    shot wide 2s\n}\nlet x = """\n')
    assert [d.code for d in result.diagnostics] == ["E0003"], result.report()


def test_an_unknown_subject_does_not_hide_the_shots_body(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + CAST + (
        "scene s {\n"
        "    shot wide BOB 2s {\n"             # 4: unknown character
        "        camera sideways\n"            # 5: not a camera word
        '        MARA: "hello"\n'
        '        TOM: "who is there"\n'        # 7: unknown speaker
        "        bogus 1\n"                    # 8: unknown statement
        '        action "{{ nothing.here }}"\n'  # 9: template error
        "    }\n"
        "}\n"))
    codes = _codes(result)
    assert codes[:4] == [("E0102", 4), ("E0204", 5), ("E0102", 7), ("E0101", 8)], codes
    assert any(line == 9 and code.startswith("E05") for code, line in codes), codes


def test_an_unknown_shot_type_does_not_hide_the_shots_body(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + CAST + (
        "scene s {\n"
        "    shot widest MARA 2s {\n"          # 4: unknown shot type
        '        title "x" at=9s\n'            # 5: still checked by the binder: fine here
        "        seed -1\n"                    # 6: out of range
        "    }\n"
        "}\n"))
    assert [c for c in _codes(result)] == [("E0104", 4), ("E0202", 6)], result.report()
