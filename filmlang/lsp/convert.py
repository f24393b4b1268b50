"""Between filmlang's values and the protocol's: paths and URIs, spans and LSP ranges
(0-based lines, UTF-16 columns), diagnostics."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from filmlang.diagnostics import Diagnostic, Severity
from filmlang.semantic.loader import Program
from filmlang.source import SourceFile, Span


def uri_path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(os.path.normpath(path)) if path else None


# ---------------------------------------------------------------- positions


def position(source: SourceFile, line: int, column: int) -> lsp.Position:
    """LSP position (0-based, UTF-16) of a 1-based line and column (code points)."""
    text = source.line_text(line)[:column - 1]
    if not text.isascii():
        return lsp.Position(line=line - 1, character=len(text.encode("utf-16-le")) // 2)
    return lsp.Position(line=line - 1, character=column - 1)


def to_range(source: SourceFile | None, span: Span) -> lsp.Range:
    if source is None:
        return lsp.Range(start=lsp.Position(line=span.line - 1, character=span.column - 1),
                         end=lsp.Position(line=span.end_line - 1,
                                          character=span.end_column - 1))
    return lsp.Range(start=position(source, span.line, span.column),
                     end=position(source, span.end_line, span.end_column))


def offset_of(source: SourceFile, pos: lsp.Position) -> int:
    """The offset of an LSP position in the source."""
    line_text = source.line_text(pos.line + 1)
    chars = line_text.encode("utf-16-le")[:pos.character * 2].decode("utf-16-le", "ignore")
    start = 0
    for _ in range(pos.line):
        newline = source.text.find("\n", start)
        if newline == -1:
            break
        start = newline + 1
    return start + len(chars)


def location(program: Program, span: Span) -> lsp.Location:
    source = program.files.get(span.file)
    path = source.path if source is not None else program.root / span.file
    return lsp.Location(uri=from_fs_path(str(path)) or "", range=to_range(source, span))


_SEVERITY = {Severity.ERROR: lsp.DiagnosticSeverity.Error,
             Severity.WARNING: lsp.DiagnosticSeverity.Warning,
             Severity.NOTE: lsp.DiagnosticSeverity.Information}


def to_lsp_diagnostic(d: Diagnostic, program: Program) -> lsp.Diagnostic:
    message = d.message
    if d.label:
        message += f" ({d.label})"
    if d.help:
        message += f"\nhelp: {d.help}"
    related = [lsp.DiagnosticRelatedInformation(location=location(program, n.span),
                                                message=n.message) for n in d.notes]
    return lsp.Diagnostic(
        range=to_range(program.files.get(d.span.file), d.span), message=message,
        severity=_SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error), code=d.code,
        source="filmc", related_information=related or None)
