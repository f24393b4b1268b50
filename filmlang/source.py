"""Source files and spans.

Takes the text of a `.film` file and gives a `SourceFile` that maps offsets to lines and
columns, and the `Span` every AST and IR node carries so that any later failure can be
reported at the place in the source that caused it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict


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
        return Span(
            file=self.file,
            line=first.line,
            column=first.column,
            end_line=end.end_line,
            end_column=end.end_column,
            start=first.start,
            end=end.end,
        )


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
        starts = [0]
        find = self.text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
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
        return Span(
            file=self.name,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            start=start,
            end=max(start, end),
        )
