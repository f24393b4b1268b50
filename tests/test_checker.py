"""The checker's rules: names, seeds, imports and includes, templates, transitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FILM_HEADER, ROOT, check_source
from filmlang.api import check_file
from filmlang.ir import derive_seed

CAST = 'character MARA { look "keeper, grey braid" }\ncharacter TOM { look "fisherman" }\n'


def codes(result: object) -> list[str]:
    return [d.code for d in result.diagnostics]  # type: ignore[attr-defined]


def test_seed_of_a_shot_does_not_move_when_another_scene_grows(tmp_path: Path) -> None:
    base = FILM_HEADER + CAST + (
        'scene a { shot wide; shot close_up MARA }\n'
        'scene b { shot wide; shot close_up TOM }\n')
    grown = base.replace("scene a { shot wide;", "scene a { shot insert; shot wide;")
    first = check_source(tmp_path, base).film
    second = check_source(tmp_path, grown).film
    assert first is not None and second is not None
    assert [s.seed for s in first.scenes[1].shots] == [s.seed for s in second.scenes[1].shots]
    # In the scene that grew, seeds follow the index, as the spec says.
    assert first.scenes[0].shots[0].seed == second.scenes[0].shots[0].seed
    assert first.scenes[0].shots[0].seed != second.scenes[0].shots[1].seed


def test_seed_rules(tmp_path: Path) -> None:
    film = check_source(tmp_path, 'film "S" { seed 7 }\n' + CAST +
                        'scene a { shot wide; shot wide { seed 99 } }\n').film
    assert film is not None
    shots = film.scenes[0].shots
    assert shots[0].seed == derive_seed(7, "a", 0)
    assert shots[1].seed == 99
    assert film.character("MARA").seed == derive_seed(7, "character", "MARA")


def test_film_block_missing_or_twice(tmp_path: Path) -> None:
    assert codes(check_source(tmp_path, "scene a { shot wide }\n")) == ["E0301"]
    result = check_source(tmp_path, 'film "A"\nfilm "B"\nscene a { shot wide }\n')
    assert codes(result) == ["E0302"]


def test_film_block_may_come_from_an_include(tmp_path: Path) -> None:
    result = check_source(tmp_path, 'include "settings"\nscene a { shot wide }\n',
                          files={"settings.film": 'film "From include" { fps 12 }\n'})
    assert result.ok and result.film is not None and result.film.fps == 12


def test_own_shottype_overrides_std(tmp_path: Path) -> None:
    text = FILM_HEADER + 'import "std/shots"\nshottype wide { prompt "mine"; duration 9s }\n' \
        'scene a { shot wide }\n'
    film = check_source(tmp_path, text).film
    assert film is not None
    assert film.scenes[0].shots[0].prompt.startswith("mine")
    assert film.scenes[0].shots[0].min_duration == 9


def test_std_shots_has_the_spec_types(tmp_path: Path) -> None:
    film = check_source(tmp_path, FILM_HEADER + "scene a { shot wide }\n").film
    assert film is not None
    names = {t.name for t in film.shot_types}
    assert {"establishing", "wide", "medium", "close_up", "extreme_close_up", "two_shot",
            "over_shoulder", "pov", "insert"} <= names
    for shot_type in film.shot_types:
        assert shot_type.duration and shot_type.prompt


def test_include_splices_scenes_in_place(tmp_path: Path) -> None:
    text = FILM_HEADER + CAST + 'scene a { shot wide }\ninclude "middle"\nscene c { shot wide }\n'
    result = check_source(tmp_path, text, files={
        "middle.film": 'scene b { shot close_up MARA { MARA: "Middle." } }\n'})
    assert result.film is not None
    assert [s.name for s in result.film.scenes] == ["a", "b", "c"]


def test_import_brings_declarations_only(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + 'import "cast"\nscene a { shot close_up ANA }\n',
                          files={"cast.film": 'character ANA { look "a girl" }\n'
                                              'scene nope { shot wide }\n'})
    assert codes(result) == ["E0404"]
    assert result.diagnostics[0].span.file == "cast.film"
    assert result.diagnostics[0].notes  # the chain: imported from film.film


def test_each_file_is_read_once(tmp_path: Path) -> None:
    files = {"a.film": 'import "c"\n', "b.film": 'import "c"\n',
             "c.film": 'let shared = "x"\n'}
    result = check_source(tmp_path, FILM_HEADER + 'import "a"\nimport "b"\nscene s { shot wide }\n',
                          files=files)
    assert result.ok, result.report()
    assert sorted(result.program.files) == ["a.film", "b.film", "c.film", "film.film",
                                            "std/shots.film"]


def test_paths_outside_the_folder_need_allow_outside(tmp_path: Path) -> None:
    (tmp_path / "lib.film").write_text('let x = "y"\n')
    inner = tmp_path / "film"
    inner.mkdir()
    entry = inner / "main.film"
    entry.write_text(FILM_HEADER + 'import "../lib"\nscene s { shot wide }\n')
    assert codes(check_file(entry)) == ["E0403"]
    assert check_file(entry, allow_outside=True).ok


def test_cycles_name_the_chain(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + 'include "a"\nscene s { shot wide }\n',
                          files={"a.film": 'include "b"\n', "b.film": 'include "a"\n'})
    assert codes(result) == ["E0402"]
    assert "a.film -> b.film -> a.film" in result.diagnostics[0].message


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__ }}",
    "{{ film.__init__.__globals__ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{ range(10**9) | list }}",
    "{{ 'x' * 100000000 }}",
    "{{ self.__dict__ }}",
    "{{ lipsum() }}",
])
def test_templates_cannot_escape_the_sandbox(tmp_path: Path, template: str) -> None:
    text = FILM_HEADER + f'scene s {{ setting "{template}"; shot wide }}\n'
    result = check_source(tmp_path, text)
    assert not result.ok
    assert {d.code for d in result.errors} <= {"E0502", "E0503", "E0504"}, result.report()
    assert result.errors[0].span.line == 2  # at the string's line


def test_template_names_and_prompt_assembly(tmp_path: Path) -> None:
    text = ('film "Night Watch" { style "oil painting" }\nlet sea = "grey sea"\n' + CAST +
            'scene s "EXT. CLIFF - NIGHT" {\n'
            '    setting "cliff above the {{ sea }}"\n    style "blue tones"\n'
            '    shot close_up MARA { action "MARA looks at {{ characters.TOM.look }}" }\n}\n')
    film = check_source(tmp_path, text).film
    assert film is not None
    prompt = film.scenes[0].shots[0].prompt
    assert prompt.startswith("close-up portrait, keeper, grey braid")
    assert prompt.endswith("MARA looks at fisherman, night, oil painting, blue tones")
    assert "cliff above the grey sea" in prompt


def test_template_errors_are_compile_errors_at_the_string(tmp_path: Path) -> None:
    result = check_source(tmp_path, FILM_HEADER + 'scene s {\n    setting "{{ scene.nmae }}"\n'
                                                   '    shot wide\n}\n')
    assert codes(result) == ["E0502"]
    d = result.diagnostics[0]
    assert (d.span.line, d.span.column) == (3, 13)
    assert "did you mean 'name'" in d.help


def test_dialogue_timing_fields(tmp_path: Path) -> None:
    text = FILM_HEADER + CAST + ('scene s { shot two_shot MARA TOM {\n'
                                 'MARA: "a"\nTOM: "b"\npause 1.2s\nMARA: "c"\npause 2s\n} }\n')
    film = check_source(tmp_path, text).film
    assert film is not None
    shot = film.scenes[0].shots[0]
    assert [line.gap_before for line in shot.lines] == [0.5, 0.3, 1.2]
    assert shot.tail == 2.0


def test_transitions(tmp_path: Path) -> None:
    text = FILM_HEADER + ('scene a { fade 1s; shot wide 2s; dissolve 0.5s; shot wide 2s }\n'
                          'wipe 1s\nscene b { shot wide 2s; fade 2s }\n')
    film = check_source(tmp_path, text).film
    assert film is not None
    shots = film.shots
    assert shots[0].fade_in is not None and shots[0].transition_in is None
    assert shots[1].transition_in is not None and shots[1].transition_in.kind == "dissolve"
    assert shots[1].transition_in.frames == 12
    assert shots[2].transition_in is not None and shots[2].transition_in.kind == "wipe"
    assert shots[2].fade_out is not None and shots[2].fade_out.duration == 2.0


@pytest.mark.parametrize("body", [
    "dissolve 1s\nscene a { shot wide }",           # before the first scene
    "scene a { shot wide }\nfade 1s",               # after the last scene
    "scene a { shot wide; dissolve 1s; fade 1s; shot wide }",   # two in a row
    "scene a { shot wide; wipe 1s }",               # wipe with nothing after it
    "scene a { shot wide 1s; dissolve 2s; shot wide 3s }",      # longer than the shot
])
def test_transitions_in_the_wrong_place(tmp_path: Path, body: str) -> None:
    result = check_source(tmp_path, FILM_HEADER + body + "\n")
    assert not result.ok
    assert {d.code for d in result.errors} <= {"E0303", "E0202"}


def test_heading_gives_interior_and_time(tmp_path: Path) -> None:
    film = check_source(tmp_path, FILM_HEADER + 'scene k "INT. KITCHEN - SUNSET" { shot wide }\n'
                                                'scene l "EXT. YARD - CONTINUOUS" { shot wide }\n'
                        ).film
    assert film is not None
    kitchen, yard = film.scenes
    assert (kitchen.interior, kitchen.time, kitchen.setting) == (True, "dusk", "kitchen")
    assert (yard.interior, yard.time) == (False, "dusk")


def test_all_errors_of_a_run_are_reported(tmp_path: Path) -> None:
    text = FILM_HEADER + 'scene s {\n shot wyde\n shot wide { MRA: "x" }\n time nite\n}\n'
    assert sorted(codes(check_source(tmp_path, text))) == ["E0102", "E0104", "E0204"]


def test_examples_ir_is_unchanged_by_fmt(tmp_path: Path) -> None:
    import shutil

    from filmlang.api import format_text, ir_json, without_origins

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for path in sorted((tmp_path / "examples").rglob("*.film")):
        before = check_file(tmp_path / "examples" / "last_ferry.film").film
        formatted = format_text(path.read_text())
        assert formatted.text is not None
        path.write_text(formatted.text)
        after = check_file(tmp_path / "examples" / "last_ferry.film").film
        assert before is not None and after is not None
        import json
        assert without_origins(json.loads(ir_json(before))) == \
            without_origins(json.loads(ir_json(after)))
