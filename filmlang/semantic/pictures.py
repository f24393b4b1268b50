"""`picture "PATH" from= to= fit=`: a shot's picture from a file, checked to `ir.Picture`.

The path is relative to the file that names it and judged where it leads (links followed):
inside the film's folder unless the build allows outside paths (E0403), a regular file
(E0006) that exists (E0401). A video or an image by its suffix; whether ffmpeg can decode
it is the linker's check before any work (E0605, `link/pictures.py`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.diagnostics import error
from filmlang.semantic.bind import Bound
from filmlang.semantic.files import inside_fixes
from filmlang.semantic.values import printable
from filmlang.source import NotReadable, check_regular

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _where(checker: Checker, bound: Bound) -> Path | None:
    """The real path of the file, or None after reporting why it cannot be used."""
    try:
        return _where_path(checker, bound)
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte: no such file
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        checker.report(error(
            "E0006", f'cannot read the picture "{printable(str(bound.arg()))}": {reason}',
            bound.arg_span(), label="not a path to a file",
            help="picture names a video or an image file"))
        return None


def _where_path(checker: Checker, bound: Bound) -> Path | None:
    program = checker.program
    text = str(bound.arg())
    span = bound.arg_span()
    source = program.files.get(span.file)
    folder = source.path.parent if source is not None else program.root
    path = Path(os.path.realpath(folder / text))
    if not program.allow_outside and not path.is_relative_to(os.path.realpath(program.root)):
        checker.report(error(
            "E0403", f'"{text}" is outside the film\'s folder', span,
            label="leaves the film's folder",
            fixes=inside_fixes(program.root, folder, path, span),
            help="copy the file into the film's folder, or build with --allow-outside"))
        return None
    try:
        check_regular(path)
    except NotReadable as exc:
        checker.report(error("E0006", f'cannot read the picture "{text}": {exc.strerror}',
                             span, label="not a video or image file",
                             help="picture names a video or an image file"))
        return None
    if not path.is_file():
        checker.report(error(
            "E0401", f'cannot find the picture "{text}"', span, label="no such file",
            help="paths are relative to the file that names them; check the name and the "
                 "folder"))
        return None
    return path


def picture(checker: Checker, bound: Bound, duration: float | None) -> ir.Picture | None:
    path = _where(checker, bound)
    if path is None:
        return None
    kind = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "video"
    start = float(bound.kwargs.get("from") or 0.0)  # type: ignore[arg-type]
    end_value = bound.kwargs.get("to")
    end = float(end_value) if end_value is not None else None  # type: ignore[arg-type]
    fit = str(bound.kwargs.get("fit") or "hold")
    if kind == "image" and (end is not None or start or bound.kwargs.get("fit")):
        checker.report(error(
            "E0108", "from=, to= and fit= are for a video; a still image has none",
            bound.span, label="an image", help=f'write: picture "{bound.arg()}"'))
        return None
    if end is not None and end <= start:
        checker.report(error("E0202", f"this picture ends at {end:g}s, before it starts at "
                                      f"{start:g}s", bound.kwarg_span("to"), label="too early",
                             help=f"use to= more than {start:g}s"))
        return None
    root = Path(os.path.realpath(checker.program.root))
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return ir.Picture(path=shown, kind=kind, start=start, end=end,
                      fit=fit, origin=bound.span)
