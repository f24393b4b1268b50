"""The importer's scenes, shots and comments as `.film` text: the film block from the
title page, the characters, then the scenes with the transitions between them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmlang.screenplay.draft import INDENT, Scene, Shot, comment, quote
from filmlang.screenplay.fountain import plain
from filmlang.semantic.headings import parse_heading

if TYPE_CHECKING:
    from filmlang.screenplay.importer import Importer

PLACEHOLDER = "guessed: the script gives this scene no action or lines; an establishing shot"


def _film_block(importer: Importer) -> list[str]:
    title = importer.name
    out = [f"# Imported from {importer.name} by `filmc import`: a first cut to build on.",
           "# Comments starting 'guessed:' mark where the import chose for you."]
    for entry in importer.script.title:
        if entry.key.lower() == "title" and entry.text.strip():
            title = " ".join(plain(entry.text)[0].split())
        else:
            out += comment(f"{entry.key}: {'; '.join(plain(entry.text)[0].splitlines())}")
    out += ["", f"film {quote(title)} {{", f"{INDENT}size 1280x720", f"{INDENT}fps 24", "}"]
    return out


def _characters(importer: Importer) -> list[str]:
    out: list[str] = []
    for ident, spelled in importer.spellings.items():
        out += ["", f"character {ident} {{", f"{INDENT}# placeholder look: describe {ident} here"]
        if spelled != ident:
            out.append(f'{INDENT}# "{spelled}" in the script')
        out += [f"{INDENT}look {quote(f'{spelled}, as the screenplay describes them')}", "}"]
    return out


def _place(scene: Scene, first: bool) -> list[str]:
    heading = parse_heading(scene.heading or "")
    place = heading.location or scene.name
    out = [f"{INDENT}setting {quote(place.lower(), template=True)}"]
    if heading.time is None or (heading.time == "continuous" and first):
        out += [f"{INDENT}# guessed: day (the heading names no time of day)",
                f"{INDENT}time day"]
    return out


def _arrange(scenes: list[Scene]) -> dict[int, tuple[str, str]]:
    """Move each scene's transitions where the language has them: a fade before the
    first shot fades in, one after the last fades out, any other at a scene's edge goes
    between the scenes; two in a row keep the first. Gives the transitions between
    scenes, by the index of the scene after them."""
    between: dict[int, tuple[str, str]] = {}
    for index, scene in enumerate(scenes):
        kept: list[Shot | str | tuple[str, str]] = []
        shots = [i for i, item in enumerate(scene.items) if isinstance(item, Shot)]
        if not shots:
            scene.items.append(Shot(head="shot establishing 3s", notes=[PLACEHOLDER]))
            shots = [len(scene.items) - 1]
        pending = False
        for position, item in enumerate(scene.items):
            if not isinstance(item, tuple):
                kept.append(item)
                pending = pending and not isinstance(item, Shot)
                continue
            statement, note = item
            edge_in, edge_out = position < shots[0], position > shots[-1]
            fade = statement.startswith("fade")
            if pending:
                kept.append(f"left out: {note} (right after another transition)")
            elif (edge_in and index > 0 and not fade and index not in between) or \
                    (edge_out and index + 1 < len(scenes) and (index + 1) not in between):
                between[index + (0 if edge_in else 1)] = (statement, note)
            elif (edge_in or edge_out) and not fade:
                kept.append(f"left out: {note} (no shot on one side of it)")
            else:
                kept.append((statement, note))
                pending = True
        scene.items = kept
    return between


def _scene(scene: Scene, first: bool) -> list[str]:
    out = [""] + [c for text in scene.top for c in comment(text)]
    heading = f" {quote(scene.heading)}" if scene.heading else ""
    out += [f"scene {scene.name}{heading} {{", *_place(scene, first), ""]
    for item in scene.items:
        if isinstance(item, Shot):
            out += item.lines()
        elif isinstance(item, tuple):
            statement, note = item
            out += [f"{INDENT}{c}" for c in comment(note)] + [f"{INDENT}{statement}"]
        else:
            out += [f"{INDENT}{c}" for c in comment(item)]
    return [*out, "}"]


def write_film(importer: Importer) -> str:
    if not importer.scenes:
        importer.scene(None).top.append("guessed: the screenplay has no scenes; one to start")
    between = _arrange(importer.scenes)
    out = _film_block(importer) + _characters(importer)
    for index, scene in enumerate(importer.scenes):
        if index in between:
            statement, note = between[index]
            out += ["", *comment(note), statement]
        out += _scene(scene, index == 0)
    return "\n".join(out) + "\n"
