"""A file's top-level chunks, and moving the spans of a tree parsed on its own.

A chunk ends at the end of the line of a `}` that closes a top-level block: scenes,
characters and the film block parse independently. The language server parses again only
the chunks an edit touched (`filmlang/lsp/incremental.py`), found by scanning again only
around the edit (`rechunk`); the parser, after a syntax error, parses the file chunk by
chunk, so that each parse again after an error is of one block.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable

from pydantic import BaseModel

from filmlang.source import Span

# What can hide a brace: strings and comments. A quote not closed on its line is skipped,
# as the parser's recovery skips it; its chunk's own parse reports it. One match is all the
# text up to the next brace that counts, strings and comments skipped whole (atomic groups:
# no backtracking into them), so the loop below runs once a brace, not once a string.
_BRACE = re.compile(r'(?>[^{}"#]++|"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|"'
                    r'|#[^\n]*)*+([{}])')


Closes = list[tuple[int, int]]
"""Where each top-level `}` that ends a chunk ends, and where its chunk ends (after the
newline of its line): what `rechunk` resumes a scan from."""


def chunks(text: str) -> list[tuple[int, int]] | None:
    """The (start, end) offsets of the top-level chunks, or None when unsure."""
    found = closes(text)
    return None if found is None else _cuts(text, found)


def closes(text: str, pos: int = 0, last: int = 0,
           stop: Callable[[int], bool] | None = None) -> Closes | None:
    """The chunks' closes (`Closes`) of `text` from `pos`, a place at the top level (0, or
    where a close ends; `last`: where its chunk ends); None when unsure. Stops after a
    close where `stop(its end)` is true (the caller knows the rest)."""
    depth = 0
    found: Closes = []
    match_at = _BRACE.match
    while (match := match_at(text, pos)) is not None:
        pos = match.end()
        if match.group(1) == "{":
            depth += 1
            continue
        depth -= 1
        if depth < 0:
            return None
        if depth == 0:
            newline = text.find("\n", pos)
            if newline == -1:
                break
            if newline + 1 > last:
                last = newline + 1
                found.append((pos, last))
                if stop is not None and stop(pos):
                    return found
    return None if depth else found


def rechunk(before: str, known: Closes | None, text: str
            ) -> tuple[list[tuple[int, int]], Closes] | None:
    """`chunks(text)` and its closes, from those of the text `before` it (`known`; None: not
    known): scanned again only from the last chunk before the first change, to the first
    close in the unchanged end that `before` had too; None when unsure."""
    if known is None:
        found = closes(text)
        return None if found is None else (_cuts(text, found), found)
    same = _common(before, text, 1)
    tail = _common(before, text, -1, min(len(before), len(text)) - same)
    if '"""' in before[:same] and any(  # a `"""` not closed before looks past the change
            c in part for part in (before[max(0, same - 2):len(before) - tail + 2],
                                   text[max(0, same - 2):len(text) - tail + 2]) for c in '"\\'):
        return rechunk("", None, text)  # for a quote or backslash there
    shift = len(text) - len(before)
    kept = bisect.bisect_right([cut for _, cut in known], same)  # closes before the change
    pos, last = known[kept - 1] if kept else (0, 0)
    ends = {end: n for n, (end, _) in enumerate(known)}
    resumed = len(text) - tail  # where the unchanged end starts

    def stop(end: int) -> bool:
        return end >= resumed and end - shift in ends

    found = closes(text, pos, last, stop)
    if found is None:
        return None
    if found and stop(found[-1][0]):
        found += [(end + shift, cut + shift) for end, cut in known[ends[found[-1][0] - shift] + 1:]]
    found = [*known[:kept], *found]
    return _cuts(text, found), found


def _cuts(text: str, found: Closes) -> list[tuple[int, int]]:
    cuts = [0, *(cut for _, cut in found)]
    if cuts[-1] < len(text):
        cuts.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _common(a: str, b: str, step: int, most: int | None = None) -> int:
    """How many characters `a` and `b` have in common at their start (step 1) or end (-1),
    at most `most`; compared a block at a time."""
    most = min(len(a), len(b)) if most is None else most
    block, n = 4096, 0
    while n < most:
        size = min(block, most - n)
        if step == 1:
            left, right = a[n:n + size], b[n:n + size]
        else:
            left, right = a[len(a) - n - size:len(a) - n], b[len(b) - n - size:len(b) - n]
        if left != right:
            if size == 1:
                return n
            block = max(1, size // 2)
            continue
        n += size
    return n


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
