"""A checked film's script as a Fountain screenplay (`filmc export --format fountain`).

The title page from the film's title; per scene its heading (a forced `.NAME` where it has
none); per shot its action, its titles as centered text, and each line as a cue with its
parenthetical; transitions as `DISSOLVE TO:`, `WIPE TO:`, `FADE IN:` and `FADE OUT.`.
Reading it back with `filmc import` gives the same headings, characters, lines and
parentheticals, in order.
"""

from __future__ import annotations

from filmlang import ir

_TO = {"dissolve": "DISSOLVE TO:", "wipe": "WIPE TO:", "fade": "FADE TO BLACK."}


def _escape(text: str) -> str:
    """Text with Fountain's markup characters made literal."""
    text = text.replace("*", "\\*").replace("_", "\\_")
    return text.replace("[[", "[ [").replace("/*", "/ *")


def _cue(name: str) -> str:
    """A character cue: as it is when in capitals, else forced with `@`."""
    return name if name == name.upper() and any(c.isalpha() for c in name) else f"@{name}"


def _action(text: str) -> str:
    """An action paragraph, forced (`!`) where Fountain would read it as something else."""
    text = _escape(" ".join(text.split()))
    upper = text == text.upper() and any(c.isalpha() for c in text)
    risky = upper or text[:1] in ".@~>=#!(" or text.upper().startswith(("INT", "EXT", "I/E"))
    return f"!{text}" if risky else text


def _shot(shot: ir.Shot) -> list[str]:
    out: list[str] = []
    if shot.action:
        out += [_action(shot.action), ""]
    for title in shot.titles:
        out += [f"> {_escape(title.text)} <", ""]
    for line in shot.lines:
        out.append(_cue(line.speaker))
        if line.parenthetical:
            out.append(f"({line.parenthetical})")
        out += [_escape(line.text), ""]
    return out


def _transition(shot: ir.Shot, first: bool) -> list[str]:
    out: list[str] = []
    if shot.fade_in is not None and first:
        out += ["FADE IN:", ""]
    transition = shot.transition_in
    if transition is not None and transition.kind in _TO and not first:
        out += [f"> {_TO[transition.kind]}", ""]
    return out


def _heading(scene: ir.Scene) -> str:
    heading = scene.heading or scene.name
    forced = not scene.heading or not heading.upper().startswith(
        ("INT", "EXT", "EST", "I/E", "E/I"))
    return f".{heading}" if forced else heading


def export_fountain(film: ir.Film) -> str:
    out = [f"Title: {_escape(film.title)}", "Credit: exported by filmc", ""]
    first = True
    for scene in film.scenes:
        for index, shot in enumerate(scene.shots):
            if index == 0:
                out += _transition(shot, first)
                out += [_heading(scene), ""]
            else:
                out += _transition(shot, False)
            out += _shot(shot)
            first = False
            if shot.fade_out is not None:
                out += ["> FADE OUT.", ""]
    return "\n".join(out).rstrip("\n") + "\n"
