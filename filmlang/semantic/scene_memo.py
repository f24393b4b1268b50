"""What the language server remembers of each scene's check between keystrokes.

`SceneMemo` lives as long as the server; `Remembered` is one scene's result, whose
checker-made spans move with the scene's statement (see `Scenes._scene`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from filmlang import ir
from filmlang.diagnostics import Diagnostic
from filmlang.source import Span
from filmlang.syntax import ast


@dataclass
class Remembered:
    """One scene's check: its IR (None when it had errors) and the diagnostics it made."""

    statement: ast.Property | ast.Block
    """Kept so that its id, the key, is not given to another object."""
    previous_time: str
    scene: ir.Scene | None
    diagnostics: list[Diagnostic]
    start: int
    end: int
    line: int
    """Where the statement was when the spans the checker made were last moved."""
    spans: list[Span] | None = None
    """Spans the checker made inside the scene, found when it first moves; the AST's own
    spans are moved by the incremental parser."""

    def move(self) -> None:
        """Shift the checker's spans as the scene's statement moved; columns do not change."""
        now = self.statement.span
        d_offset, d_line = now.start - self.start, now.line - self.line
        if not d_offset and not d_line:
            return
        if self.spans is None:
            self.spans = made_spans(self.statement, self.scene, self.diagnostics,
                                     self.start, self.end)
        for made in self.spans:
            state = made.__dict__
            state["start"] += d_offset
            state["end"] += d_offset
            state["line"] += d_line
            state["end_line"] += d_line
        self.start, self.end, self.line = now.start, now.end, now.line


@dataclass
class SceneMemo:
    """Scenes checked before, for the language server: one for the server's lifetime.

    A scene's check depends only on its own statement, the time of the scene before it,
    and the film's declarations (film block, characters, shot types, lets: `environment`).
    The incremental parser gives the same statement object for a scene whose text did not
    change, with its spans moved in place where lines were added above it; so when the
    statement and its inputs are the same as last time, the last result is used again, its
    diagnostics reported again and the spans the checker made moved as the scene moved.
    The scene's name (declared twice?) and its joins to its neighbours are checked afresh.
    """

    films: dict[str, tuple[Any, dict[int, Remembered]]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _all_spans(value: object, out: dict[int, Span]) -> None:
    """Every Span object in a tree of models, tuples, lists and dicts, by id."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        if item.__class__ in _LEAVES:
            continue
        if isinstance(item, Span):
            out[id(item)] = item
        elif isinstance(item, BaseModel):
            push(item.__dict__.values())
        elif isinstance(item, tuple | list):
            push(item)
        elif isinstance(item, dict):
            push(item.values())


def made_spans(statement: ast.Property | ast.Block, scene: ir.Scene | None,
                diagnostics: list[Diagnostic], start: int, end: int) -> list[Span]:
    """The spans in a scene's results that the checker made (not the AST's own) inside the
    statement, which stood at start..end when they were made."""
    own: dict[int, Span] = {}
    _all_spans(statement, own)
    found: dict[int, Span] = {}
    _all_spans(scene, found)
    _all_spans(diagnostics, found)
    file = statement.span.file
    return [span for key, span in found.items() if key not in own and span.file == file
            and start <= span.start and span.end <= end]
