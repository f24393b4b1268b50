"""Outputs that cannot be written: a path and an `OSError` in, one line for a writer out.

`filmc build`, `storyboard`, `fmt` and `watch` write files the writer names. When one cannot
be written (its folder is a file, is read-only, the disk is full), the message names that
path, not a temporary file beside it or the cache object it was copied from, and says why
in words: `cannot write out/film.mp4: out is a file, not a folder`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


def reason(path: Path, exc: OSError) -> str:
    """Why `path` could not be written, in words."""
    for folder in path.parents:
        try:
            if folder.exists():
                if not folder.is_dir():
                    return f"{folder} is a file, not a folder"
                break
        except OSError:
            break
    if path.is_dir():
        return "it is a folder"
    code = exc.errno if isinstance(exc.errno, int) else -1
    if code in _REASONS:
        found = _REASONS[code]
        if code in (errno.EACCES, errno.EPERM):
            return f"{found} (the folder {path.parent} cannot be written)"
        return found
    if code == errno.ENOENT:
        return f"the folder {path.parent} does not take new files"
    return str(exc.strerror or exc)


def cannot_write(path: Path, exc: OSError) -> str:
    """The one line that says which output could not be written and why."""
    return f"cannot write {path}: {reason(path, exc)}"


class OutputError(OSError):
    """An output that could not be written; `filename` is the output, not a temp file."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(exc.errno or 0, reason(path, exc), str(path))

    def __str__(self) -> str:
        return cannot_write(Path(str(self.filename)), self)


def write_atomic(path: Path, text: str, *, make_folder: bool = False) -> None:
    """Write text through a temp file beside `path` and a rename (keeping its mode): a
    reader sees the old file or the new one, never a part. Raises OSError."""
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        with contextlib.suppress(OSError):
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
