"""Files a film names for its sound: `sound "sounds/gull.wav"`, `ambience "beds/harbour.ogg"`.

A `sound` or `ambience` whose text looks like a file (it has a folder or an audio file's
extension) names one of the writer's own files instead of a built-in sound. The path is
relative to the file that names it, resolved as a real path (symbolic links followed) and
must stay inside the film's folder unless the build allows outside files, like an `import`
or a `reference`. A file that is missing or not a regular file is an error at its line; one
that ffmpeg cannot decode is an error at its line when the build decodes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang.diagnostics import Fix, error, replace_with
from filmlang.source import NotReadable, Span, check_regular

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker

AUDIO_SUFFIXES = ("wav", "ogg", "oga", "mp3", "flac", "m4a", "aac", "aif", "aiff", "opus",
                  "wma", "webm", "mka")


def is_file_name(text: str) -> bool:
    """Whether a `sound` or `ambience` text names a file rather than a built-in sound."""
    return "/" in text or "\\" in text or re.search(
        r"\.(" + "|".join(AUDIO_SUFFIXES) + r")$", text, re.IGNORECASE) is not None


def audio_file(checker: Checker, text: str, span: Span, what: str) -> str | None:
    """The file `text` names, relative to the film's folder (absolute when outside it and
    allowed); None, with an error at `span`, when it is outside, missing or not a file."""
    program = checker.program
    source = program.files.get(span.file)
    folder = source.path.parent if source is not None else program.root
    path = (folder / text).resolve()
    root = program.root.resolve()
    if not program.allow_outside and not path.is_relative_to(root):
        checker.report(error(
            "E0403", f'"{text}" is outside the film\'s folder', span,
            label="leaves the film's folder", fixes=inside_fixes(program.root, folder, path, span),
            help=f"move the {what} file into the film's folder, or build with --allow-outside"))
        return None
    try:
        check_regular(path)
    except NotReadable as exc:
        checker.report(error(
            "E0006", f'cannot read the {what} file "{text}": {exc.strerror}', span,
            label="not an audio file", help=f"{what} names an audio file"))
        return None
    if not path.is_file():
        checker.report(error(
            "E0401", f'cannot find the {what} file "{text}"', span, label="no such file",
            help="paths are relative to the file that names them; or use a built-in "
                 f"{what}"))
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


MAX_LOOKED_AT = 5_000
"""Entries `inside_fixes` looks at at most: a film's folder, not a disk."""


def inside_fixes(root: Path, named_from: Path, outside: Path, span: Span,
                 limit: int = 3) -> list[Fix | None]:
    """E0403's fixes for a file the film names outside its folder: the paths of the files of
    the same name inside the folder (`root`), written relative to the folder of the file
    that names them (`named_from`), nearest the top first; none when there is none (the
    file is not copied in: a picture or a sound may be large, and may be meant to stay)."""
    name = outside.name
    if not name or '"' in name or "\\" in name:
        return []
    real_root = os.path.realpath(root)
    found: list[Path] = []
    looked = 0
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "build")
        looked += len(files) + len(folders)
        if name in files:
            path = Path(folder) / name
            real = os.path.realpath(path)
            if os.path.isfile(real) and Path(real).is_relative_to(real_root):
                found.append(path)
        if looked > MAX_LOOKED_AT or len(found) >= limit:
            break
    fixes: list[Fix | None] = []
    for path in sorted(found, key=lambda p: (len(p.parts), str(p))):
        written = Path(os.path.relpath(path, named_from)).as_posix()
        fixes.append(replace_with(span, f'"{written}"',
                                  f"Use {written}, the {name} in the film's folder"))
    return fixes
