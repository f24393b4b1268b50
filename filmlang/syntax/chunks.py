"""A file's top-level chunks, and moving the spans of a tree parsed on its own.

A chunk ends at the end of the line of a `}` that closes a top-level block: scenes,
characters and the film block parse independently. The language server parses again only
the chunks an edit touched (`filmlang/lsp/incremental.py`); the parser, after a syntax error,
parses the file chunk by chunk, so that each parse again after an error is of one block.
"""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel

from filmlang.source import Span

# What can hide a brace: strings and comments. A quote not closed on its line is skipped,
# as the parser's recovery skips it; its chunk's own parse reports it. One match is all the
# text up to the next brace that counts, strings and comments skipped whole (atomic groups:
# no backtracking into them), so the loop below runs once a brace, not once a string.
_BRACE = re.compile(r'(?>[^{}"#]++|"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|"'
                    r'|#[^\n]*)*+([{}])')


def chunks(text: str) -> list[tuple[int, int]] | None:
    """The (start, end) offsets of the top-level chunks, or None when unsure."""
    depth = 0
    cuts = [0]
    pos = 0
    match_at = _BRACE.match
    while (match := match_at(text, pos)) is not None:
        pos = match.end()
        if match.group(1) == "{":
            depth += 1
        else:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                newline = text.find("\n", match.end())
                if newline == -1:
                    break
                if newline + 1 > cuts[-1]:
                    cuts.append(newline + 1)
    if depth != 0:
        return None
    if cuts[-1] < len(text):
        cuts.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def spans_of(value: object, out: list[Span]) -> None:
    """Every Span object in a tree of models, tuples and lists."""
    if isinstance(value, Span):
        out.append(value)
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            spans_of(item, out)
    elif isinstance(value, tuple | list):
        for item in value:
            spans_of(item, out)


def move_spans(value: object, offset: int, lines: int) -> None:
    """Move every span in `value` by `offset` characters and `lines` lines, in place (the
    spans of a tree just made, that nothing else holds); columns do not change."""
    if not offset and not lines:
        return
    found: list[Span] = []
    spans_of(value, found)
    moved: set[int] = set()
    for span in found:
        if id(span) in moved:
            continue
        moved.add(id(span))
        state = span.__dict__
        state["start"] += offset
        state["end"] += offset
        state["line"] += lines
        state["end_line"] += lines
