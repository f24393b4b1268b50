"""The language server's remembered scenes give exactly what a full check gives.

The server checks through the incremental parser and `lsp.memo` (scenes and templates
remembered between checks). After each edit of a series (typing, lines added and removed
above scenes, errors made and fixed, declarations changed, a heading that makes the next
scene's time change, scenes renamed, deleted and included), its film and diagnostics must
equal those of `filmc check`'s full load and check of the same text, spans included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filmlang.lsp import memo
from filmlang.lsp.incremental import IncrementalParser
from filmlang.semantic.checker import check
from filmlang.semantic.loader import load

CAST = ["MARA", "TOM", "ELSA"]


def base_film() -> str:
    lines = [
        'film "Memo" {', "    size 640x360", "    fps 24", "    seed 7",
        '    style "cinematic"', "}", "",
        'let town = "a harbour town"', "let short = 2s", "",
        "shottype lookout {", '    prompt "a lookout shot of {{ scene.setting }}"', "}", "",
    ]
    for i, name in enumerate(CAST):
        lines += [f"character {name} {{", f'    look "person {i}"', "}", ""]
    for s in range(6):
        time = "CONTINUOUS" if s % 3 == 2 else ("NIGHT" if s % 2 else "DAY")
        lines.append(f'scene s{s} "EXT. QUAY {s} - {time}" {{')
        lines.append("    setting town")
        for k in range(3):
            a, b = CAST[(s + k) % 3], CAST[(s + k + 1) % 3]
            kind = ["wide", "lookout", "close_up"][k]
            lines.append(f"    shot {kind} {a} {b} {{")
            lines.append(f'        action "{a} looks at {b} in {{{{ scene.setting }}}}"')
            lines.append(f'        {a}: "Line {k} of scene {s}."')
            lines.append("    }")
            if k == 0:
                lines.append("    dissolve 0.5s")
        lines.append("}")
        lines.append("")
        if s == 1:
            lines += ["fade 1s", ""]
    lines += ['include "part"', ""]
    return "\n".join(lines)


PART = 'scene extra "INT. CABIN - NIGHT" {\n    shot wide MARA short {\n' \
       '        action "MARA waits"\n    }\n}\n'


def after(text: str, anchor: str, insert: str) -> str:
    at = text.index(anchor)
    return text[:at] + insert + text[at:]


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def edits(text: str) -> list[tuple[str, str]]:
    """(what, text) after each edit, each edit applied to the text before it."""
    out: list[tuple[str, str]] = []

    def step(what: str, new: str) -> None:
        nonlocal text
        assert new != text, what
        text = new
        out.append((what, text))

    step("a letter typed in a line", after(text, "of scene 3.", "x"))
    step("a blank line above scene 2", after(text, 'scene s2 "', "\n"))
    step("a heading's time changes the next scene's", replace(text, "QUAY 1 - NIGHT",
                                                               "QUAY 1 - DAWN"))
    step("a character's look", replace(text, '"person 1"', '"person one"'))
    step("a let's value", replace(text, '"a harbour town"', '"a fishing town"'))
    step("a shot type's prompt moves", replace(text, 'prompt "a lookout',
                                               'prompt  "a lookout'))
    step("an unknown character in scene 4", replace(text, "shot wide ELSA MARA",
                                                    "shot wide ELSE MARA"))
    step("a bad template in scene 5", replace(text, "TOM looks at ELSA in {{ scene.setting }}",
                                              "TOM looks at {{ nope }}"))
    step("a property set twice in scene 3", after(text, "    setting town\n    shot wide MARA TOM",
                                                  "    setting town\n"))
    step("too many values in scene 4", replace(text, 'QUAY 4 - DAY" {\n    setting town',
                                               'QUAY 4 - DAY" {\n    setting town "a" "b"'))
    step("a shot type's prompt broken", replace(text, "a lookout shot of {{ scene.setting }}",
                                                "a lookout shot of {{ scene.nowhere }}"))
    step("a blank line above scene 3", after(text, 'scene s3 "', "\n"))
    step("three lines above every scene", after(text, "scene s0", "\n\n\n"))
    step("a letter typed before the errors", after(text, "of scene 0.", "y"))
    step("lines removed above the errors", replace(text, "\n\n\n\nscene s0", "\nscene s0"))
    step("a letter in a line of the included part's neighbour", after(text, "of scene 5.", "z"))
    step("a scene renamed to another's name", replace(text, "scene s4 ", "scene s3 "))
    step("and back", replace(text, "scene s3 \"EXT. QUAY 4", "scene s4 \"EXT. QUAY 4"))
    step("errors fixed", replace(replace(text, "ELSE MARA", "ELSA MARA"), "{{ nope }}",
                                 "{{ scene.setting }}"))
    start, end = text.index("scene s2 "), text.index("scene s3 ")
    step("a scene deleted", text[:start] + text[end:])
    step("a letter typed after the deletion", after(text, "of scene 4.", "w"))
    step("a shot made shorter than its dissolve", replace(text, "shot wide MARA TOM {",
                                                         "shot wide MARA TOM 0.2s {"))
    step("a blank line above it", after(text, 'scene s0 "', "\n"))
    # Characters are remembered per scene and per shot (issue 17): a look edit checks again
    # only the shots that read that character, whose spans must still move right.
    step("an error in a shot of MARA", replace(text, "shot close_up MARA TOM {",
                                               "shot close_up MARA TOM 99999s {"))
    step("MARA's look", replace(text, '"person 0"', '"person zero"'))
    step("a blank line above the cast", after(text, "character MARA", "\n"))
    step("MARA's look again, lines moved", replace(text, '"person zero"', '"person 0, tall"'))
    step("a scene's setting reads every character",
         replace(text, "    setting town\n", "    setting \"{{ characters | length }} "
                 "people in {{ characters.TOM.look }}\"\n"))
    step("TOM's look, read by that setting", replace(text, '"person one"', '"person uno"'))
    step("ELSA's look", replace(text, '"person 2"', '"person two"'))
    step("a character added", after(text, "character MARA", 'character NEW {\n'
                                    '    look "new"\n}\n\n'))
    step("an unknown speaker declared", replace(text, 'character NEW {', 'character ELSE {'))
    step("the error fixed", replace(text, "99999s", "2s"))
    # Lets too are remembered per scene and shot: by name, in values and in templates.
    step("a template reads a let", replace(text, "TOM looks at ELSA in {{ scene.setting }}",
                                                  "TOM looks at ELSA in {{ town }}"))
    step("that let's value", replace(text, '"a fishing town"', '"a mining town"'))
    step("a let a shot names, renamed away", replace(text, "let short = 2s",
                                                    "let shorter = 2s"))
    step("and declared again", replace(text, "let shorter = 2s", "let short = 3s"))
    step("a let that names another", replace(text, "let short = 3s",
                                             "let long = 4s\nlet short = long"))
    step("the other's value", replace(text, "let long = 4s", "let long = 5s"))
    step("a template names a let not declared", replace(text, "{{ town }}", "{{ harbour }}"))
    step("the let declared", after(text, "let short", 'let harbour = "the old harbour"\n'))
    # A let, the film block and shot types are read per shot too (issue 17): a prompt is
    # rendered again, and its action staged again, without checking the rest of the shot.
    step("the let every setting reads", replace(text, '"a mining town"', '"a mining townx"'))
    step("an action a let stages", replace(text, "ELSA looks at MARA in {{ scene.setting }}",
                                           "ELSA {{ verb }} MARA in {{ scene.setting }}"))
    step("a parenthetical that stages a beat", replace(text, 'ELSA: "Line 2 of scene 0."',
                                                       'ELSA (nodding): "Line 2 of scene 0."'))
    step("its let declared", after(text, "let short", 'let verb = "waves at"\n'))
    step("the let changes the verb", replace(text, '"waves at"', '"hugs"'))
    step("the let's verb unknown (W0005)", replace(text, '"hugs"', '"blorfs"'))
    step("and known again", replace(text, '"blorfs"', '"walks to"'))
    step("the film's style", replace(text, 'style "cinematic"', 'style "cinematic, grainy"'))
    step("the film's size", replace(text, "size 640x360", "size 640x480"))
    step("the film's fps", replace(text, "fps 24", "fps 25"))
    step("the film's seed", replace(text, "seed 7", "seed 8"))
    step("the film's motion", replace(text, "seed 8", "seed 8\n    motion generative"))
    step("a template reads the film's title",
         replace(text, "MARA looks at TOM in", "MARA looks at TOM in {{ film.title }},"))
    step("the film's title", replace(text, 'film "Memo"', 'film "Memo two"'))
    step("a scene's time, read by its prompts", replace(text, "QUAY 0 - DAY", "QUAY 0 - NIGHT"))
    step("a shot type's prompt", replace(text, "a lookout shot of", "a high lookout shot of"))
    step("a shot type's camera", replace(text, "shottype lookout {\n",
                                                     "shottype lookout {\n    camera high\n"))
    step("a shot type's prompt fails", replace(text, "a high lookout shot of {{ scene.",
                                               "a high lookout shot of {{ scene.x"))
    step("and renders again", replace(text, "{{ scene.xnowhere }}", "{{ scene.setting }}"))
    step("a line above the shot type", after(text, "shottype lookout", "\n"))
    step("the style of a scene", replace(text, 'QUAY 1 - DAWN" {\n    setting town',
                                         'QUAY 1 - DAWN" {\n    style "foggy"\n'
                                         "    setting town"))
    step("that style's text", replace(text, 'style "foggy"', 'style "foggy, wet"'))
    # A let that only moved changes nothing but the diagnostics that point at it.
    step("a let a scene cannot use", replace(text, 'style "foggy, wet"\n    setting town',
                                             'style "foggy, wet"\n    setting short'))
    step("a let a shot cannot use", replace(text, "    shot wide MARA TOM 0.2s {\n",
                                            "    shot wide MARA TOM 0.2s {\n"
                                            "        camera town\n"))
    step("lines above the lets", after(text, "let town", "\n\n"))
    step("the film's style longer, which moves them", replace(text, "grainy", "grainyy"))
    step("a let above them longer", replace(text, '"a mining townx"', '"a mining townxy"'))
    step("the misused lets fixed", replace(replace(text, "setting short", "setting town"),
                                           "        camera town\n", ""))
    step("lines above the lets again", after(text, "let town", "\n"))
    return out


def prompt_edits(text: str) -> list[tuple[str, str]]:
    """Edits of what prompts are made from (issue 17), each leaving a film without errors,
    so that the films are compared too, not only the diagnostics."""
    out: list[tuple[str, str]] = []

    def step(what: str, new: str) -> None:
        nonlocal text
        assert new != text, what
        text = new
        out.append((what, text))

    step("the let every setting reads", replace(text, '"a harbour town"', '"a harbour townx"'))
    step("again", replace(text, '"a harbour townx"', '"a harbour townxy"'))
    step("a let for a verb", after(text, "let short", 'let verb = "waves at"\n'))
    step("an action the let stages", replace(text, "ELSA looks at MARA in {{ scene.setting }}",
                                             "ELSA {{ verb }} MARA in {{ scene.setting }}"))
    step("a parenthetical that stages a beat", replace(text, 'ELSA: "Line 2 of scene 0."',
                                                       'ELSA (nodding): "Line 2 of scene 0."'))
    step("the let changes the verb", replace(text, '"waves at"', '"hugs"'))
    step("a verb the animatic does not stage (W0005)", replace(text, '"hugs"', '"blorfs"'))
    step("and one it does", replace(text, '"blorfs"', '"walks to"'))
    step("the setting again, the verb staged", replace(text, "townxy", "townxyz"))
    step("the film's style", replace(text, 'style "cinematic"', 'style "cinematic, grainy"'))
    step("the film's size", replace(text, "size 640x360", "size 640x480"))
    step("the film's fps", replace(text, "fps 24", "fps 25"))
    step("the film's seed", replace(text, "seed 7", "seed 8"))
    step("the film's motion", replace(text, "seed 8", "seed 8\n    motion generative"))
    step("a template reads the film's title",
         replace(text, "MARA looks at TOM in", "MARA looks at TOM in {{ film.title }},"))
    step("the film's title", replace(text, 'film "Memo"', 'film "Memo two"'))
    step("a heading's time, read by the next scene's prompts",
         replace(text, "QUAY 1 - NIGHT", "QUAY 1 - DUSK"))
    step("a shot type's prompt", replace(text, "a lookout shot of", "a high lookout shot of"))
    step("a shot type's camera", replace(text, "shottype lookout {\n",
                                         "shottype lookout {\n    camera tilt_up\n"))
    step("a line above the shot type", after(text, "shottype lookout", "\n"))
    step("a scene's own style", replace(text, 'QUAY 4 - DAY" {\n', 'QUAY 4 - DAY" {\n'
                                        '    style "foggy"\n'))
    step("its text", replace(text, 'style "foggy"', 'style "foggy, wet"'))
    step("lines above the lets", after(text, "let town", "\n\n"))
    step("the film's style longer, which moves the lets", replace(text, "grainy", "grainyy"))
    step("a character's look, read by prompts", replace(text, '"person 1"', '"person one"'))
    return out


def test_prompt_edits_match_full_checks(tmp_path: Path) -> None:
    """Lets, the film block, shot types, a scene's time and style: a shot whose prompt reads
    them has its prompt made again (and its action staged again), the rest of its check
    kept; its film and diagnostics are a full check's."""
    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = base_film()
    parser, templates = IncrementalParser(), memo.MemoTemplates()
    memo.check(load(path, text=text, parser=parser.parse), templates)
    codes: set[str] = set()
    for what, edited in prompt_edits(text):
        reshot = templates.scenes.reshot
        film, diagnostics = memo.check(load(path, text=edited, parser=parser.parse), templates)
        want = check(load(path, text=edited))
        assert want[0] is not None, (what, want[1])
        assert dump(film, diagnostics) == dump(*want), what
        codes.update(d.code for d in diagnostics)
        if what.startswith(("the let", "the film's style", "the film's title")):
            assert templates.scenes.reshot > reshot, what  # prompts made again, not checked
    assert codes == {"W0005"}
    staged = film.scenes[0].shots[2]
    assert [b.verb for b in staged.beats] == ["walk_to", "nod"]  # the let's verb, the line's


def dump(film: Any, diagnostics: list[Any]) -> tuple[Any, list[Any]]:
    return (film.model_dump() if film is not None else None,
            [d.model_dump() for d in diagnostics])


def test_remembered_scenes_match_full_checks(tmp_path: Path) -> None:
    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = base_film()
    parser, templates = IncrementalParser(), memo.MemoTemplates()
    film, diagnostics = memo.check(load(path, text=text, parser=parser.parse), templates)
    assert film is not None and diagnostics == []
    assert dump(film, diagnostics) == dump(*check(load(path, text=text)))
    codes: set[str] = set()
    for what, edited in edits(text):
        hits = templates.scenes.hits
        got = dump(*memo.check(load(path, text=edited, parser=parser.parse), templates))
        want = dump(*check(load(path, text=edited)))
        assert got == want, what
        codes.update(d["code"] for d in want[1])
        if what.startswith("a letter"):
            # Only the edited scene is checked again; the others are remembered.
            assert templates.scenes.hits - hits >= 5, what
    # The series did make the errors it meant to, so spans of remembered errors were compared.
    assert {"E0102", "E0105", "E0107", "E0202", "E0203", "E0502", "W0005"} <= codes, codes
    assert templates.scenes.reshot > 0  # shots whose prompts only were rendered again


def test_remembered_errors_move_with_their_scene(tmp_path: Path) -> None:
    """A scene with errors, unchanged, below an edit: its errors move with it."""
    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = replace(base_film(), "ELSA looks at MARA in {{ scene.setting }}",
                   "ELSA looks at MARA in {{ scene.nowhere }}")
    text = replace(text, "shot wide TOM ELSA", "shot wide TOM ELSE")
    parser, templates = IncrementalParser(), memo.MemoTemplates()
    first = memo.check(load(path, text=text, parser=parser.parse), templates)[1]
    assert len(first) >= 2
    lines = [d.span.line for d in first]  # (remembered spans are moved in place)
    moved = after(text, "scene s0", "\n\n")
    misses = templates.scenes.misses
    again = memo.check(load(path, text=moved, parser=parser.parse), templates)[1]
    assert templates.scenes.misses - misses == 1  # only the scene above which lines went
    full = check(load(path, text=moved))[1]
    assert [d.model_dump() for d in again] == [d.model_dump() for d in full]
    assert [d.span.line for d in again] == [line + 2 for line in lines]


def test_remembered_templates_tell_numbers_apart(tmp_path: Path) -> None:
    """1, 1.0 and true are equal in Python but print differently in a template."""
    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = replace(base_film(), "let short = 2s", "let short = 2s\nlet count = 2")
    text = replace(text, "MARA looks at TOM in", "MARA looks at {{ count }} boats in")
    parser, templates = IncrementalParser(), memo.MemoTemplates()
    for value in ("2", "2.0", "2", '"2"', "true"):
        edited = replace(text, "let count = 2", f"let count = {value}")
        film, _ = memo.check(load(path, text=edited, parser=parser.parse), templates)
        assert film is not None
        assert film.scenes[0].shots[0].action.startswith(f"MARA looks at {value.strip(chr(34))} ")
        assert dump(film, []) == dump(check(load(path, text=edited))[0], [])


def test_templates_have_no_random_filter(tmp_path: Path) -> None:
    """A remembered text is right only if the same inputs give the same text: no `random`."""
    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = replace(base_film(), "MARA looks at TOM in",
                   "MARA looks at {{ ['TOM', 'ELSA'] | random }} in")
    film, diagnostics = check(load(path, text=text))
    assert film is None
    line = text[:text.index("| random")].count("\n") + 1
    assert [(d.code, d.span.line) for d in diagnostics] == [("E0501", line)]
    assert "random" in diagnostics[0].message


class _Cycle:
    loop: object = None


def test_the_server_freezes_what_checks_leave_and_collects_it_later(tmp_path: Path) -> None:
    """With `freeze_heap` (the server's), the collector skips what a check leaves, so it does
    not walk the remembered film after every edit; `collect` (the server's, when idle, or
    the check after MAX_FROZEN_CHECKS without one) frees the garbage cycles all the same."""
    import gc
    import weakref

    path = tmp_path / "memo.film"
    (tmp_path / "part.film").write_text(PART)
    text = base_film()
    parser, templates = IncrementalParser(), memo.MemoTemplates(freeze_heap=True)
    try:
        for bound in (False, True):
            gc.disable()  # no collection before the check freezes it
            garbage = _Cycle()
            garbage.loop = garbage
            gone = weakref.ref(garbage)
            del garbage
            if bound:
                templates.frozen_checks = memo.MAX_FROZEN_CHECKS
            film, _ = memo.check(load(path, text=text, parser=parser.parse), templates)
            gc.enable()
            assert film is not None and gc.get_freeze_count() > 0
            if bound:  # collected before that check
                assert gone() is None and templates.frozen_checks == 1
                continue
            gc.collect()
            assert gone() is not None  # frozen with the check's objects: left alone
            memo.collect(templates)
            assert gone() is None and templates.frozen_checks == 0
    finally:
        gc.enable()
        gc.unfreeze()


def shared_film() -> str:
    """Three scenes of the same place, each with a shot whose prompt reads the same as the
    others' (type, subjects, action, the scene's setting); the second's has an error of
    its own (a title after its end)."""
    lines = ['film "Share" {', "    size 640x360", "    fps 24", "    seed 3", "}", "",
             'let town = "a quay"', 'let verb = "looks at"', "let count = 2", ""]
    for i, name in enumerate(CAST[:2]):
        lines += [f"character {name} {{", f'    look "person {i}"', "}", ""]
    for s in range(3):
        lines += [f'scene s{s} "EXT. QUAY - NIGHT" {{', "    setting town",
                  "    shot medium MARA TOM" + (" 2s {" if s == 1 else " {"),
                  '        action "MARA {{ verb }} TOM {{ 10 // count }} times in '
                  '{{ scene.setting }}"']
        lines += ['        title "late" at=3s'] if s == 1 else []
        lines += ["    }", "    shot wide TOM {", f'        action "TOM waits {s}"', "    }",
                  "}", ""]
    return "\n".join(lines)


def test_shots_that_read_the_same_share_prompts_not_diagnostics(tmp_path: Path) -> None:
    """In one check, shots whose prompts read the same share the prompt made again (and the
    action staged again), but never a diagnostic: each points into its own shot. A template
    that fails, or a verb the animatic does not stage, is reported at each shot's own
    action; a shot's own error stays its own."""
    path = tmp_path / "share.film"
    text = shared_film()
    parser, templates = IncrementalParser(), memo.MemoTemplates()
    memo.check(load(path, text=text, parser=parser.parse), templates)
    steps = [("the setting", '"a quay"', '"a quay, wet"'),
             ("a template that fails in each", "let count = 2", "let count = 0"),
             ("and renders again", "let count = 0", "let count = 5"),
             ("a verb not staged (W0005)", '"looks at"', '"blorfs"'),
             ("the setting, W0005 kept", '"a quay, wet"', '"a quay, dry"'),
             ("a verb staged", '"blorfs"', '"walks to"')]
    for what, old, new in steps:
        text = replace(text, old, new)
        shared = templates.scenes.shared
        got = memo.check(load(path, text=text, parser=parser.parse), templates)
        want = check(load(path, text=text))
        assert dump(*got) == dump(*want), what
        codes = [d.code for d in want[1]]
        assert codes.count("E0202") == 1, what
        if what.startswith("the setting"):  # the second and third scenes' shots share
            assert templates.scenes.shared - shared >= 2, what
        if "fails" in what:  # a rendering that reports is never shared
            assert templates.scenes.shared == shared, what
        failed = [d for d in want[1] if d.code.startswith("E05") or d.code == "W0005"]
        if "fails" in what or "W0005" in what:
            assert len({d.span.line for d in failed}) == 3, what  # one in each shot
        else:
            assert not failed, what
