"""Incremental parsing for the language server: a file's text in, its `ast.Module` out, fast.

A file is cut into its top-level chunks (a chunk ends at the end of the line of a `}` that
closes a top-level block; scenes, characters and the film block are independent). Each
chunk is parsed on its own, at its real line and offset, and remembered by its text. After
an edit, the cut is found by scanning again around the edit only, and only the chunks whose
text changed are parsed again; the others are reused, their
spans moved (in place) by the lines and characters the edit added or removed before them.
Whole files whose text did not change (imports, the standard library) are reused as they are.

The result is the same tree a full `parse` gives (tests/test_lsp.py checks it). Whenever the
cut is not certain (unbalanced braces, an unclosed string, a parse error) the file is parsed
whole, so diagnostics are exactly those of `filmc check`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from pydantic import BaseModel

from filmlang.diagnostics import Diagnostic
from filmlang.source import SourceFile, Span
from filmlang.syntax import ast
from filmlang.syntax.chunks import Closes, rechunk
from filmlang.syntax.parser import MAX_PARSE_ERRORS, parse


def _spans(value: object, out: list[Span]) -> None:
    """Every Span object in a tree of AST nodes."""
    if isinstance(value, Span):
        out.append(value)
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            _spans(item, out)
    elif isinstance(value, tuple):
        for item in value:
            _spans(item, out)


@dataclass
class _Chunk:
    text: str
    start: int
    line: int
    body: tuple[ast.Statement, ...]
    comments: tuple[ast.Comment, ...]
    spans: list[Span]
    states: list[dict[str, int]] = field(default_factory=list)
    """The spans' own dictionaries, where `move` changes them (fetched once)."""

    def move(self, start: int, line: int) -> None:
        """Shift every span of the chunk to its new place; columns do not change."""
        d_offset, d_line = start - self.start, line - self.line
        if (d_offset or d_line) and len(self.states) != len(self.spans):
            self.states = [span.__dict__ for span in self.spans]
        if d_line:
            for state in self.states:
                state["start"] += d_offset
                state["end"] += d_offset
                state["line"] += d_line
                state["end_line"] += d_line
        elif d_offset:  # a character added or removed above: only the offsets move
            for state in self.states:
                state["start"] += d_offset
                state["end"] += d_offset
        self.start, self.line = start, line


@dataclass
class IncrementalParser:
    """Parses files for the server, reusing what did not change since the last parse."""

    files: dict[str, tuple[str, ast.Module, list[Diagnostic]]] = field(default_factory=dict)
    chunks: dict[str, dict[str, list[_Chunk]]] = field(default_factory=dict)
    scanned: dict[str, tuple[str, Closes]] = field(default_factory=dict)
    """Each file's last text and where its chunks close (`chunks.rechunk` scans from them)."""
    reparsed: int = 0
    """Chunks parsed by the last call (for tests and the benchmark)."""

    def parse(self, source: SourceFile) -> tuple[ast.Module, list[Diagnostic]]:
        key = _key(source)
        known = self.files.get(key)
        if known is not None and known[0] == source.text:
            self.reparsed = 0
            return known[1], list(known[2])
        module, diagnostics = self._parse(source)
        self.files[key] = (source.text, module, diagnostics)
        return module, list(diagnostics)

    def _parse(self, source: SourceFile) -> tuple[ast.Module, list[Diagnostic]]:
        text = source.text
        before = self.scanned.pop(_key(source), ("", None))
        scan = rechunk(before[0], before[1], text)
        if scan is not None:
            self.scanned[_key(source)] = (text, scan[1])
        cuts = scan[0] if scan is not None else None
        old = self.chunks.pop(_key(source), {})
        if cuts is None or len(cuts) < 2:
            self.reparsed = 1
            return parse(source)
        if sum(1 for a, b in cuts if text[a:b] not in old) > len(cuts) // 2:
            # Mostly new (the file was just opened): one parse of the whole file is
            # quicker; its statements are then shared out to the chunks they stand in.
            self.reparsed = len(cuts)
            module, diagnostics = parse(source)
            if not diagnostics:
                self.chunks[_key(source)] = _partition(module, text, cuts)
            return module, diagnostics
        new: dict[str, list[_Chunk]] = {}
        body: list[ast.Statement] = []
        comments: list[ast.Comment] = []
        line = 1
        problems: list[Diagnostic] = []
        self.reparsed = 0
        for start, end in cuts:
            piece = text[start:end]
            reusable = old.get(piece)
            if reusable:
                chunk = reusable.pop()
                chunk.move(start, line)
                new.setdefault(piece, []).append(chunk)
            else:
                self.reparsed += 1
                chunk, diagnostics = self._parse_chunk(source, piece, start, line)
                if not diagnostics:  # a chunk with errors is parsed again next time
                    new.setdefault(piece, []).append(chunk)
                problems.extend(diagnostics)
            body.extend(chunk.body)
            comments.extend(chunk.comments)
            line += piece.count("\n")
        self.chunks[_key(source)] = new
        # As `parse` does: with errors, the tree is what parsed once the broken lines
        # were blanked (for the outline and navigation; the file is not checked).
        return (ast.Module(file=source.name, body=tuple(body), comments=tuple(comments)),
                problems[:MAX_PARSE_ERRORS])

    def _parse_chunk(self, source: SourceFile, piece: str, start: int,
                     line: int) -> tuple[_Chunk, list[Diagnostic]]:
        # Padding puts the chunk at its real offset and line: spaces, then the newlines.
        padded = " " * (start - (line - 1)) + "\n" * (line - 1) + piece
        part = SourceFile(path=source.path, name=source.name, text=padded,
                          is_std=source.is_std)
        module, diagnostics = parse(part)
        spans: list[Span] = []
        _spans(module.body, spans)
        _spans(module.comments, spans)
        return _Chunk(piece, start, line, module.body, module.comments, spans), diagnostics



def _partition(module: ast.Module, text: str, cuts: list[tuple[int, int]]
               ) -> dict[str, list[_Chunk]]:
    """A whole file's tree, cut into the chunks a chunk-by-chunk parse would have made."""
    starts = [a for a, _ in cuts]
    bodies: list[list[ast.Statement]] = [[] for _ in cuts]
    notes: list[list[ast.Comment]] = [[] for _ in cuts]
    for statement in module.body:
        bodies[bisect.bisect_right(starts, statement.span.start) - 1].append(statement)
    for comment in module.comments:
        notes[bisect.bisect_right(starts, comment.span.start) - 1].append(comment)
    out: dict[str, list[_Chunk]] = {}
    line = 1
    for i, (start, end) in enumerate(cuts):
        piece = text[start:end]
        spans: list[Span] = []
        body, comments = tuple(bodies[i]), tuple(notes[i])
        _spans(body, spans)
        _spans(comments, spans)
        out.setdefault(piece, []).append(_Chunk(piece, start, line, body, comments, spans))
        line += piece.count("\n")
    return out


def _key(source: SourceFile) -> str:
    # The same file may have another name in another film (names are relative to the entry).
    return f"{source.path}\0{source.name}"
