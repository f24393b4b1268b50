"""A shot's titles and sounds: `title "..." at= for=`, `sound "..." at= volume=`, placed in
the shot and checked against its fixed length, if it has one; and its `music`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.diagnostics import error
from filmlang.semantic.bind import Bound
from filmlang.semantic.files import audio_file, is_file_name

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker


def title(checker: Checker, bound: Bound, duration: float | None) -> ir.Title:
    """A `title`: where it starts and how long it lasts, inside the shot's fixed length."""
    at = float(bound.kwargs.get("at") or 0.0)  # type: ignore[arg-type]
    length = bound.kwargs.get("for")
    if duration is not None:
        if at >= duration:
            checker.report(error("E0202", f"this title starts at {at:g}s, after the "
                                          f"{duration:g}s shot ends", bound.kwarg_span("at"),
                                 label="too late", help=f"use at= less than {duration:g}s"))
        elif length is not None and at + float(length) > duration + 1e-9:  # type: ignore[arg-type]
            checker.report(error("E0202", f"this title runs to {at + float(length):g}s, "  # type: ignore[arg-type]
                                          f"past the end of the {duration:g}s shot",
                                 bound.kwarg_span("for"), label="too long",
                                 help=f"use for= at most {duration - at:g}s"))
    return ir.Title(text=str(bound.arg()), at=at,
                    duration=float(length) if length is not None else None,  # type: ignore[arg-type]
                    origin=bound.span)


def sound(checker: Checker, bound: Bound, duration: float | None) -> ir.Sound:
    """A `sound`: a built-in one or a file of the film's, starting inside the shot."""
    at = float(bound.kwargs.get("at") or 0.0)  # type: ignore[arg-type]
    if duration is not None and at >= duration:
        checker.report(error("E0202", f"this sound starts at {at:g}s, after the {duration:g}s "
                                      "shot ends", bound.kwarg_span("at"), label="too late",
                             help=f"use at= less than {duration:g}s"))
    volume = bound.kwargs.get("volume")
    name = str(bound.arg())
    file = audio_file(checker, name, bound.arg_span(), "sound") if is_file_name(name) else None
    return ir.Sound(name=name, at=at,
                    volume=float(volume) if volume is not None else 1.0,  # type: ignore[arg-type]
                    file=file, origin=bound.span)


def music(bound: Bound) -> ir.Music:
    """A shot's `music`: its mood, and the settings given."""
    return ir.Music(mood=str(bound.arg()), origin=bound.span,
                    **{k: v for k, v in bound.kwargs.items() if v is not None})
