"""Where a job's inputs come from, named as a writer reads them: `character MARA.look`,
`scene storm shot 2 dialogue 1 text`, `scene storm shot 3 duration`.

A job carries these (`Job.sources`, never keyed) beside its parameters; the build keeps
them per job identity, and the next build diffs them to say why a job ran (`--explain`).
Values are kept as they are when they are numbers (shown as `4s → 5s`) and as a short hash
when they are text, so the stored record stays small.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from filmlang import ir

SECONDS = {"duration", "at", "min_duration", "tail", "gap_before"}
"""Fields shown with a unit: `4s`."""
_SKIP = {"origin", "scene", "index", "lines", "titles", "sounds", "seed", "frames"}
_TIMING = {"duration", "min_duration", "tail", "transition_in", "fade_in", "fade_out"}


def _flat(prefix: str, value: Any, out: dict[str, Any], skip: set[str]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name not in skip:
                _flat(f"{prefix}.{name}", getattr(value, name), out, {"origin"})
    elif isinstance(value, tuple | list) and value and isinstance(value[0], BaseModel):
        for n, item in enumerate(value, 1):
            _flat(f"{prefix} {n}", item, out, {"origin"})
    else:
        out[prefix] = value


def file_source(path: Path, root: Path) -> str:
    """`file music/FluidR3_GM.sf2`: a file a job reads, relative to the film's folder when
    it is inside it."""
    try:
        shown = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    return f"file {shown}"


def shot_name(scene: str, index: int) -> str:
    return f"scene {scene} shot {index + 1}"


def film_sources(film: ir.Film) -> dict[str, Any]:
    return {"film size": f"{film.width}x{film.height}", "film fps": film.fps,
            "film style": film.style, "film seed": film.seed, "film negative": film.negative}


def character_sources(character: ir.Character) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flat(f"character {character.name}", character, out, {"origin", "name", "seed"})
    return out


def scene_sources(scene: ir.Scene, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields or ("heading", "setting", "time", "location", "style"):
        value = getattr(scene, name)
        if isinstance(value, BaseModel):
            _flat(f"scene {scene.name} {name}", value, out, {"origin"})
        else:
            out[f"scene {scene.name} {name}"] = value
    return out


def line_sources(scene: str, shot: ir.Shot, index: int, *, timing: bool = False
                 ) -> dict[str, Any]:
    line = shot.lines[index]
    base = f"{shot_name(scene, shot.index)} dialogue {index + 1}"
    out: dict[str, Any] = {f"{base} text": line.text, f"{base} speaker": line.speaker,
           f"{base} parenthetical": line.parenthetical or ""}
    if timing:
        out[f"{base} gap_before"] = line.gap_before
    return out


def shot_sources(film: ir.Film, scene: ir.Scene, shot: ir.Shot, *, timing: bool = False
                 ) -> dict[str, Any]:
    """The shot, its scene, the characters it shows and the film's look; with `timing`,
    its written timing and its lines too."""
    out: dict[str, Any] = {**film_sources(film), **scene_sources(scene)}
    name = shot_name(scene.name, shot.index)
    skip = _SKIP if timing else _SKIP | _TIMING
    for field in type(shot).model_fields:
        if field not in skip:
            _flat(f"{name} {field}", getattr(shot, field), out, {"origin"})
    for kind in ("titles", "sounds"):
        for n, item in enumerate(getattr(shot, kind), 1):
            _flat(f"{name} {kind[:-1]} {n}", item, out, {"origin"})
    if timing:
        for index in range(len(shot.lines)):
            out.update(line_sources(scene.name, shot, index, timing=True))
    for character in film.characters:
        if character.name in shot.subjects:
            out.update(character_sources(character))
    return out


def stored(sources: dict[str, Any]) -> dict[str, Any]:
    """What is kept of sources between builds: numbers as they are, the rest hashed."""
    out: dict[str, Any] = {}
    for name, value in sources.items():
        if isinstance(value, bool) or value is None or isinstance(value, int | float):
            out[name] = value
        else:
            text = value if isinstance(value, str) else repr(value)
            out[name] = "#" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def shown(name: str, value: Any) -> str:
    """A stored value as a writer reads it: 4s, 120, or nothing for hashed text."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        last = name.rsplit(" ", 1)[-1].rsplit(".", 1)[-1]
        text = f"{value:g}"
        return f"{text}s" if last in SECONDS else text
    return ""


DERIVED = ("prompt",)
"""Fields the checker derives from others (a shot's prompt is rendered from its template,
the characters' looks and the film's style): named only when nothing they come from
changed, so a `look` edit reads `character TOM.look`, not also the prompts it reaches."""


def changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The names whose stored values differ, with `old → new` where that reads well; the
    derived ones only when nothing else changed."""
    found = _changes(before, now)
    roots = [name for name in found if not name.split(" ")[-1].endswith(DERIVED)]
    return roots or found


def _changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name in now:
        if name in before and before[name] == now[name]:
            continue
        if name not in before:
            out.append(f"{name} added")
            continue
        old, new = shown(name, before[name]), shown(name, now[name])
        out.append(f"{name} {old} → {new}" if old and new else name)
    out += [f"{name} removed" for name in before if name not in now]
    return out
