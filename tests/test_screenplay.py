"""`filmc import`: every Fountain element, Final Draft, malformed screenplays (issue 16).

The screenplays in tests/screenplays/ are written for these tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TESTS
from filmlang.api import check_file, format_text
from filmlang.screenplay import import_screenplay, read_script
from filmlang.screenplay.fountain import plain, read_fountain

SCRIPTS = TESTS / "screenplays"


def _import(tmp_path: Path, name: str) -> tuple[str, Path]:
    source = SCRIPTS / name
    text, _warnings = import_screenplay(source, source.read_bytes())
    film = tmp_path / (source.stem + ".film")
    film.write_text(text, encoding="utf-8")
    result = check_file(film)
    # Clean: no errors, no warnings but the animatic's hints at what it cannot stage or
    # paint (a screenplay's prose is free; W0005 and W0006 say what the animatic skips).
    others = [d for d in result.diagnostics if d.code not in ("W0005", "W0006")]
    assert result.ok and not others, result.report() + "\n" + text
    assert not format_text(text, film.name).changed        # already in filmc fmt's layout
    return text, film


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in read_fountain(text).elements]


@pytest.fixture(scope="module")
def every(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return _import(tmp_path_factory.mktemp("every"), "every_element.fountain")


def test_the_title_page(every: tuple[str, Path]) -> None:
    text, film = every
    script = read_script(SCRIPTS / "every_element.fountain",
                         (SCRIPTS / "every_element.fountain").read_bytes())
    assert [(e.key, e.text) for e in script.title] == [
        ("Title", "_The **Night** Kettle_"), ("Credit", "Written by"),
        ("Author", "Pat Example"), ("Draft date", "5 December 2026"),
        ("Contact", "12 Any Street\nNowhere")]
    checked = check_file(film).film
    assert checked is not None and checked.title == "The Night Kettle"
    for line in ("# Credit: Written by", "# Author: Pat Example",
                 "# Draft date: 5 December 2026", "# Contact: 12 Any Street; Nowhere"):
        assert line in text


def test_scene_headings_with_numbers_forced_and_int_ext(every: tuple[str, Path]) -> None:
    text, film = every
    checked = check_file(film).film
    assert checked is not None
    assert [(s.name, s.heading, s.time) for s in checked.scenes] == [
        ("kitchen", "INT. KITCHEN - NIGHT", "night"),
        ("garden", "EXT. GARDEN - DAWN", "dawn"),
        ("leonards_shed", "LEONARD'S SHED", "day"),
        ("car", "INT./EXT. CAR - CONTINUOUS", "day"),
        ("porch", "I/E. PORCH - DUSK", "dusk"),
        ("hall", "INT. HALL - LATER", "dusk")]
    assert [s.setting for s in checked.scenes][:3] == ["kitchen", "garden", "leonard's shed"]
    assert checked.scenes[0].interior is True and checked.scenes[1].interior is False
    assert "# scene 1 in the script" in text and "# scene 2A in the script" in text
    assert "# guessed: day (the heading names no time of day)" in text
    assert "# guessed: the script gives this scene no action or lines" in text


def test_action_as_wide_or_medium_shots(every: tuple[str, Path]) -> None:
    text, film = every
    checked = check_file(film).film
    assert checked is not None
    kitchen = checked.scenes[0].shots
    assert (kitchen[0].type, kitchen[0].subjects) == ("wide", ())
    assert kitchen[0].action == "A small kitchen. The kettle rattles on the hob."
    assert (kitchen[1].type, kitchen[1].subjects) == ("medium", ("RUTH",))
    assert "# guessed: a medium shot of RUTH (named in the action)" in text
    porch = checked.scenes[4].shots
    assert porch[1].action == "RUTH LOOKS BACK."     # forced action (!), not a cue


def test_characters_dialogue_parentheticals_and_extensions(every: tuple[str, Path]) -> None:
    text, film = every
    checked = check_file(film).film
    assert checked is not None
    assert [c.name for c in checked.characters] == ["RUTH", "LEONARD", "McCready"]
    assert text.count("character RUTH {") == 1             # declared once
    assert "# placeholder look: describe RUTH here" in text
    lines = [(line.speaker, line.parenthetical, line.text) for s in checked.scenes
             for shot in s.shots for line in shot.lines]
    assert lines == [
        ("RUTH", "half asleep", "Who leaves a kettle on at this hour?"),
        ("LEONARD", None, "I do. I always do."),
        ("RUTH", None, "You could have said."),              # (CONT'D), emphasis out
        ("LEONARD", None, "Sorry."),
        ("McCready", "reading", "Oh the shed, the lovely shed"),  # forced @, a lyric
        ("RUTH", "to herself", "Quiet at last.")]
    kitchen = checked.scenes[0].shots
    # A new shot at each change of speaker; off screen (O.S.) is not a subject.
    assert [(s.type, s.subjects) for s in kitchen[2:4]] == [
        ("close_up", ("RUTH",)), ("medium", ())]
    assert "# LEONARD (O.S.): not seen, so not a subject of the shot" in text
    assert "# stressed in the script: said" in text


def test_dual_dialogue(every: tuple[str, Path]) -> None:
    text, film = every
    checked = check_file(film).film
    assert checked is not None
    shot = checked.scenes[0].shots[4]
    assert (shot.type, shot.subjects) == ("two_shot", ("RUTH", "LEONARD"))
    assert "# dual dialogue: spoken at once in the script" in text


def test_lyrics_centered_text_and_transitions(every: tuple[str, Path]) -> None:
    text, film = every
    checked = check_file(film).film
    assert checked is not None
    titles = [t.text for s in checked.scenes for shot in s.shots for t in shot.titles]
    assert titles == ["Twinkle twinkle little star", "THE NEXT MORNING"]
    shots = checked.shots
    first = shots[0]
    assert first.fade_in is not None                          # FADE IN:
    assert shots[-1].fade_out is not None                     # FADE OUT.
    hall = checked.scenes[5].shots[0]
    assert hall.transition_in is not None and hall.transition_in.kind == "dissolve"  # > forced
    garden = checked.scenes[1].shots[0]
    assert garden.transition_in is not None and garden.transition_in.kind == "cut"
    assert "# CUT TO:\ncut\n" in text


def test_notes_boneyard_sections_synopses_page_breaks_as_comments(
        every: tuple[str, Path]) -> None:
    text, _ = every
    for line in ("# # ACT ONE", "# ## The kitchen",
                 "# synopsis: Ruth cannot sleep, and neither can the kettle.",
                 "# note: Is this too loud?", "# page break",
                 "# boneyard (left out): An old version: RUTH Go back to bed."):
        assert line in text
    assert "Go back to bed" not in text.replace(
        "# boneyard (left out): An old version: RUTH Go back to bed.", "")


def test_each_element_kind_is_read() -> None:
    kinds = {e.kind for e in read_fountain(
        (SCRIPTS / "every_element.fountain").read_text()).elements}
    assert kinds == {"transition", "section", "synopsis", "heading", "action", "note",
                     "character", "parenthetical", "dialogue", "boneyard", "lyric",
                     "centered", "page_break"}


@pytest.mark.parametrize(("source", "expected"), [
    ("*italic* **bold** ***both*** _under_", ("italic bold both under",
                                              ["italic", "bold", "both", "under"])),
    ("a \\*literal\\* star", ("a *literal* star", [])),
    ("_**nested**_", ("nested", ["**nested**", "nested"])),
])
def test_emphasis(source: str, expected: tuple[str, list[str]]) -> None:
    assert plain(source) == expected


def test_what_is_and_is_not_a_heading_cue_or_transition() -> None:
    assert _kinds("\nEXTRA TIME is what we need.\n") == [
        ("action", "EXTRA TIME is what we need.")]
    assert _kinds("\n.EXT. ODD #12#\n") == [("heading", "EXT. ODD")]
    assert _kinds("\nSOMEONE\n") == [("action", "SOMEONE")]       # a cue needs a line
    assert _kinds("\nJUMP CUT TO:\n\nINT. X - DAY\n")[0] == ("transition", "JUMP CUT TO:")
    assert _kinds("\nBOB\nHi\n  \nthere\n") == [("character", "BOB"),
                                               ("dialogue", "Hi\n\nthere")]


def test_a_parenthetical_with_no_line_after_it_is_kept(tmp_path: Path) -> None:
    text, _ = import_screenplay(Path("x.fountain"),
                                b"\nINT. ROOM - DAY\n\nBOB\nHello.\n(beat)\n\nAMY\nHi.\n")
    assert 'BOB: "Hello."\n        # (beat): no line after it' in text
    film = tmp_path / "x.film"
    film.write_text(text)
    assert check_file(film).ok


def test_final_draft(tmp_path: Path) -> None:
    text, film = _import(tmp_path, "dual.fdx")
    checked = check_file(film).film
    assert checked is not None and checked.title == "THE SIGNAL"
    assert "# Title page: by Sam Placeholder" in text
    assert [(s.heading, len(s.shots)) for s in checked.scenes] == [
        ("INT. SIGNAL BOX - NIGHT", 3), ("EXT. TRACKS - DAWN", 1)]
    assert checked.scenes[0].shots[0].action == "Levers. A red lamp."
    lines = [(line.speaker, line.parenthetical, line.text) for line in
             (x for s in checked.shots for x in s.lines)]
    assert lines == [("IVY", "over the radio", "Box four, are you there?"),
                     ("OWEN", None, "Here."), ("IVY", None, "Good.")]
    assert checked.scenes[0].shots[2].subjects == ("OWEN", "IVY")
    assert "# scene 7 in the script" in text
    assert checked.scenes[1].shots[0].transition_in is not None
    assert checked.scenes[1].shots[0].transition_in.kind == "dissolve"
    script = read_script(Path("x.fdx"), (SCRIPTS / "dual.fdx").read_bytes())
    assert [e.line for e in script.elements][:3] == [4, 7, 10]


def test_a_malformed_screenplay_imports_with_warnings_at_its_lines(tmp_path: Path) -> None:
    text, _ = _import(tmp_path, "malformed.fountain")
    _, warnings = import_screenplay(SCRIPTS / "malformed.fountain",
                                    (SCRIPTS / "malformed.fountain").read_bytes())
    assert [(w.line, w.message.split(":")[0]) for w in warnings] == [
        (7, "this boneyard /* is never closed with */"),
        (10, "this note [[ is never closed with ]]")]
    assert 'BOB: "Hello [[ a note that never closes"' in text


def test_broken_xml_keeps_what_came_before(tmp_path: Path) -> None:
    data = (SCRIPTS / "dual.fdx").read_bytes()[:900]
    text, warnings = import_screenplay(Path("cut.fdx"), data)
    assert warnings and "not well-formed XML" in warnings[0].message
    assert 'scene signal_box "INT. SIGNAL BOX - NIGHT"' in text
    film = tmp_path / "cut.film"
    film.write_text(text)
    assert check_file(film).ok


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    text, warnings = import_screenplay(Path("x.fountain"),
                                       b"\nINT. ROOM - DAY\n\nA \xff\xfe thing.\n")
    assert [(w.line, w.message[:30]) for w in warnings] == [
        (4, "this line is not UTF-8: its od")]
    film = tmp_path / "x.film"
    film.write_text(text)
    assert check_file(film).ok


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([
    "", "", "INT. A - DAY", "EXT. B", ".FORCED", "BOB", "@amy", "(soft)", "Hello there.",
    "~sing", "> CUT TO:", ">CENTER<", "CUT TO:", "[[note", "]]", "/*", "*/", "===", "# Act",
    "= syn", "Title: T", "  ", "BOB ^", "!ACTION", "{{ x }}", '"q" \\', "ÅSA", "(", "*a*",
    "DISSOLVE TO:", "FADE OUT.", "MR. O'NEIL (V.O.)", "12",
]), max_size=30))
def test_any_text_imports_to_a_film_that_checks(tmp_path: Path, lines: list[str]) -> None:
    text, _ = import_screenplay(Path("fuzz.fountain"), "\n".join(lines).encode())
    film = tmp_path / "fuzz.film"
    film.write_text(text, encoding="utf-8")
    result = check_file(film)
    assert result.ok, result.report() + "\n" + text


def test_cli_import_then_build(tmp_path: Path) -> None:
    script = tmp_path / "short.fountain"
    script.write_text("Title: Short\n\nEXT. ROOF - NIGHT\n\nWind.\n\nMAY\n(calm)\nStay.\n")
    run = [sys.executable, "-m", "filmlang.cli"]
    done = subprocess.run([*run, "import", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    film = tmp_path / "short.film"
    assert re.search(r"wrote .*short\.film \(1 scene\)", done.stderr)
    again = subprocess.run([*run, "import", str(script)], capture_output=True, text=True)
    assert again.returncode == 1 and "--force" in again.stderr
    built = subprocess.run([*run, "build", str(film), "--preview"], capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "build" / "short.preview.mp4").stat().st_size > 0  # --preview: its own
    missing = subprocess.run([*run, "import", str(tmp_path / "none.fountain")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "cannot read it" in missing.stderr
