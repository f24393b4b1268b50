"""Source files and spans.

Takes the text of a `.film` file and gives a `SourceFile` that maps offsets to lines and
columns, and the `Span` every AST and IR node carries so that any later failure can be
reported at the place in the source that caused it. `read_source` reads a file's bytes only
when it is a regular file of a sensible size: never blocking on a named pipe, reading a
device without end, or taking the memory for a file of gigabytes.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

M = TypeVar("M", bound=BaseModel)


class Span(BaseModel):
    """A range of a source file: 1-based lines and columns, end column exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def cover(self, other: Span) -> Span:
        """The smallest span holding both (both in the same file)."""
        first, last = (self, other) if self.start <= other.start else (other, self)
        end = last if last.end >= first.end else first
        return make_span(self.file, first.line, first.column, end.end_line, end.end_column,
                         first.start, end.end)


_new = object.__new__
_set = object.__setattr__
_LAYOUTS: dict[type[BaseModel], tuple[tuple[str, ...], dict[str, Any], set[str]]] = {}


def trusted(cls: type[M], **values: Any) -> M:
    """`cls(**values)` without validation, for values right by construction (the parser's).

    A validated model keeps a set of the fields it was given: some 700 bytes for a span, more
    than the span itself. Here every model of a class shares one (pydantic copies it before it
    changes it), which halves the memory of a syntax tree; and the validation is skipped.
    Equality, hashing, dumps and copies are those of a validated model.
    """
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = cls.model_fields
        layout = (tuple(fields), {n: f.default for n, f in fields.items() if not f.is_required()},
                  set(fields))
        _LAYOUTS[cls] = layout
    names, defaults, fields_set = layout
    model = _new(cls)
    _set(model, "__dict__", {n: values[n] if n in values else defaults[n] for n in names})
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


_SPAN_FIELDS = set(Span.model_fields)


def make_span(file: str, line: int, column: int, end_line: int, end_column: int, start: int,
              end: int) -> Span:
    """`Span(...)` for the parser's hot path: `trusted`, without the keyword juggling."""
    span = _new(Span)
    _set(span, "__dict__", {"file": file, "line": line, "column": column, "end_line": end_line,
                            "end_column": end_column, "start": start, "end": end})
    _set(span, "__pydantic_fields_set__", _SPAN_FIELDS)
    _set(span, "__pydantic_extra__", None)
    _set(span, "__pydantic_private__", None)
    return span


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while parsing or checking.

    A syntax tree is hundreds of thousands of small objects with no cycles; the collector
    walks all of them again and again as they are made, which was more than half the time of
    checking a 2 MB film. Reference counting still frees what is dropped. Nested and
    threaded uses are counted: the collector runs again when the last one ends.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


@dataclass(frozen=True)
class SourceFile:
    """One file of a build: where it is, what it is called in messages, and its text.

    `name` is the stable name used in spans and the IR: the path relative to the entry
    file's folder, or `std/NAME.film` for the standard library.
    """

    path: Path
    name: str
    text: str
    is_std: bool = False
    _line_starts: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Where each line starts: after each newline (summed line lengths, in C; the
        # language server makes a SourceFile of the whole film at each keystroke).
        lengths = [len(line) + 1 for line in self.text.split("\n")]
        starts = list(itertools.accumulate(lengths[:-1], initial=0))
        object.__setattr__(self, "_line_starts", starts)

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of an offset."""
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(max(start, end))
        return make_span(self.name, line, column, end_line, end_column, start, max(start, end))


MAX_SOURCE_BYTES = 16 * 1024 * 1024
"""The largest `.film` file read: far more than any film needs (a feature is some 200 kB)."""

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class NotReadable(OSError):
    """A file that is not read, and why, in words (as `strerror`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, reason)

    def __str__(self) -> str:
        return str(self.strerror)


def file_kind(mode: int) -> str:
    """What a file of this mode is, in words: 'a named pipe', 'a folder', ..."""
    for test, word in _KINDS:
        if test(mode):
            return word
    return "not a regular file"


def check_regular(path: Path) -> None:
    """Raise `NotReadable` when `path` exists but is not a regular file (no blocking)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise NotReadable(f"it is {file_kind(mode)}, not a regular file")


def read_source(path: Path, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of the regular file `path`; `NotReadable` for anything else or too large.

    The file is opened without blocking and checked on the open descriptor, so a named pipe
    or a device put in its place after a look at its name is refused all the same.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(f"it is {file_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise NotReadable(f"it is {info.st_size:,} bytes; a .film file is at most "
                              f"{limit:,}")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:
                raise NotReadable(f"it is more than {limit:,} bytes; a .film file is at "
                                  f"most that")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
