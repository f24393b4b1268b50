"""`filmc lsp`: the language server, over stdio, on pygls.

Open documents are checked as the writer types (debounced) with the same loader and checker
as `filmc check`; the loader reads open buffers from memory, and parses through the
incremental parser, so only what changed is parsed again. Every request is answered from the
last check of the document's program (`analysis.Index`). pygls is imported only here, and
this module only by `filmc lsp`.

The server owns a `Session` (`filmlang.session`) for whatever it loads that a backend would
(it builds nothing today); it is closed when the client asks the server to shut down.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from filmlang import __version__, ir
from filmlang.diagnostics import Diagnostic, Severity
from filmlang.lsp import analysis, complete, hover, memo, tokens
from filmlang.lsp.incremental import IncrementalParser
from filmlang.semantic.loader import Program, load
from filmlang.session import Session
from filmlang.source import SourceFile, Span, read_source
from filmlang.syntax import ast

DEBOUNCE_S = 0.02
_FILM_BLOCK = re.compile(r"^film\b", re.MULTILINE)


@dataclass
class Checked:
    program: Program
    film: ir.Film | None
    diagnostics: list[Diagnostic]
    index: analysis.Index | None = None

    def get_index(self) -> analysis.Index:
        if self.index is None:
            self.index = analysis.build_index(self.program, self.film)
        return self.index


class FilmServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("filmc", __version__)
        self.parser = IncrementalParser()
        self.templates = memo.MemoTemplates()
        self.checked: dict[Path, Checked] = {}
        """entry path -> its last check."""
        self.parsed: dict[Path, Checked] = {}
        """entry path -> its last check whose files all parsed."""
        self.owner: dict[Path, Path] = {}
        """file -> the entry whose program holds it."""
        self.published: dict[Path, set[str]] = {}
        self.pending: dict[Path, asyncio.TimerHandle] = {}
        self.session = Session("lsp")
        """The server's process state: run work that loads models inside
        `filmlang.session.active(self.session)`; closed at shutdown."""

    # ------------------------------------------------------------ documents

    def overlay(self) -> dict[Path, str]:
        out: dict[Path, str] = {}
        for uri, doc in self.workspace.text_documents.items():
            path = uri_path(uri)
            if path is not None:
                out[path] = doc.source
        return out

    def entry_for(self, path: Path) -> Path:
        entry = self.owner.get(path)
        if entry is None:
            entry = self.find_entry(path)
            self.owner[path] = entry
        if entry != path and entry not in self.overlay() and not entry.is_file():
            return path
        return entry

    def find_entry(self, path: Path) -> Path:
        """The film a part belongs to: a film in its folder or the one above that loads it.

        A file with its own film block is its own entry; so is a file no film loads.
        """
        overlay = self.overlay()
        text = overlay.get(path)
        if text is None:
            try:
                text = read_source(path).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return path
        if _FILM_BLOCK.search(text):
            return path
        for folder in (path.parent, path.parent.parent):
            for candidate in sorted(folder.glob("*.film")):
                if candidate == path:
                    continue
                try:
                    head = overlay.get(candidate) or read_source(candidate).decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                if not _FILM_BLOCK.search(head):
                    continue
                program = load(candidate, overlay=overlay, parser=self.parser.parse)
                if any(source.path == path for source in program.files.values()):
                    return candidate
        return path

    def schedule(self, uri: str, delay: float = DEBOUNCE_S) -> None:
        path = uri_path(uri)
        if path is None:
            return
        entry = self.entry_for(path)
        old = self.pending.pop(entry, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_event_loop()
        self.pending[entry] = loop.call_later(delay, self.run_check, entry)

    def run_check(self, entry: Path) -> Checked:
        handle = self.pending.pop(entry, None)
        if handle is not None:
            handle.cancel()  # checked now (a request needed it): not again when it fires
        overlay = self.overlay()
        program = load(entry, overlay=overlay, parser=self.parser.parse)
        film, diagnostics = memo.check(program, self.templates)
        if not _is_film(program):
            # A library module opened on its own: it needs no film block, and its
            # characters are used by the films that import it.
            diagnostics = [d for d in diagnostics if d.code not in ("E0301", "W0002")]
        checked = Checked(program, film, diagnostics)
        self.checked[entry] = checked
        if not program.parse_failed:
            self.parsed[entry] = checked
        for source in program.files.values():
            if not source.is_std and source.path != entry:
                self.owner[source.path] = entry
        self.publish(entry, checked)
        return checked

    def publish(self, entry: Path, checked: Checked) -> None:
        program = checked.program
        by_file: dict[str, list[lsp.Diagnostic]] = {
            from_fs_path(str(s.path)) or "": [] for s in program.files.values() if not s.is_std}
        for d in checked.diagnostics:
            source = program.files.get(d.span.file)
            path = source.path if source is not None else program.root / d.span.file
            uri = from_fs_path(str(path)) or ""
            by_file.setdefault(uri, []).append(to_lsp_diagnostic(d, program))
        for uri in self.published.get(entry, set()) - set(by_file):
            by_file[uri] = []
        self.published[entry] = {u for u, ds in by_file.items() if ds}
        for uri, items in by_file.items():
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items))

    def state(self, uri: str) -> tuple[Checked, SourceFile] | None:
        """The last check of the program that holds `uri`, and that file in it."""
        path = uri_path(uri)
        if path is None:
            return None
        entry = self.entry_for(path)
        checked = self.checked.get(entry)
        if checked is None or entry in self.pending:
            checked = self.run_check(entry)
        for source in checked.program.files.values():
            if source.path == path:
                return checked, source
        return None


def uri_path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(os.path.normpath(path)) if path else None


def _is_film(program: Program) -> bool:
    module = program.modules.get(program.entry)
    if module is None:
        return True
    return any(getattr(s, "name", None) in ("film", "scene") for s in module.body) or \
        bool(program.parse_failed)


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


# ---------------------------------------------------------------- features

server = FilmServer()


@server.feature(lsp.SHUTDOWN)
def shutdown(ls: FilmServer, params: None) -> None:
    ls.session.close()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FilmServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0.0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: FilmServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: FilmServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: FilmServer, params: lsp.DidCloseTextDocumentParams) -> None:
    path = uri_path(params.text_document.uri)
    if path is not None and path.is_file():
        ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[" ", "=", '"', "/"]))
def completion(ls: FilmServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    offset = doc.offset_at_position(params.position)
    names = complete.Names()
    state = ls.state(params.text_document.uri)
    if state is not None:
        # While a line is half typed the file rarely parses: take the names from the last
        # check that parsed.
        path = uri_path(params.text_document.uri)
        last = ls.parsed.get(ls.entry_for(path)) if path is not None else None
        index = (last or state[0]).get_index()
        names = complete.Names(characters=tuple(index.names(analysis.CHARACTER)),
                               shottypes=tuple(index.names(analysis.SHOTTYPE)),
                               lets=tuple(sorted(index.lets)))
    path = uri_path(doc.uri)
    items = [lsp.CompletionItem(label=c.label, kind=_KINDS.get(c.kind), detail=c.detail or None,
                                insert_text=c.insert)
             for c in complete.candidates(doc.source, offset, names,
                                          path.parent if path else None)]
    return lsp.CompletionList(is_incomplete=False, items=items)


_KINDS = {"keyword": lsp.CompletionItemKind.Keyword, "property": lsp.CompletionItemKind.Property,
          "character": lsp.CompletionItemKind.Class, "shottype": lsp.CompletionItemKind.Struct,
          "camera": lsp.CompletionItemKind.EnumMember, "let": lsp.CompletionItemKind.Constant,
          "module": lsp.CompletionItemKind.Module, "value": lsp.CompletionItemKind.EnumMember,
          "argument": lsp.CompletionItemKind.Field}


def _occurrence(ls: FilmServer, uri: str, pos: lsp.Position
                ) -> tuple[Checked, SourceFile, analysis.Occurrence | None] | None:
    state = ls.state(uri)
    if state is None:
        return None
    checked, source = state
    offset = offset_of(source, pos)
    return checked, source, checked.get_index().at(source.name, offset)


def _named(ls: FilmServer, uri: str, pos: lsp.Position
           ) -> tuple[Checked, analysis.Occurrence] | None:
    """The check and the name (character, shot type, let, path …) under the cursor."""
    found = _occurrence(ls, uri, pos)
    if found is None or found[2] is None:
        return None
    return found[0], found[2]


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: FilmServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = _occurrence(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    checked, source, occ = found
    text = hover.describe(checked.get_index(), source, occ, params.position.line + 1)
    if not text:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=to_range(source, occ.span) if occ else None)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: FilmServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    named = _named(ls, params.text_document.uri, params.position)
    if named is None:
        return None
    checked, occ = named
    if occ.kind == analysis.PATH:
        target = checked.program.files.get(occ.name)
        if target is None:
            return None
        return lsp.Location(uri=from_fs_path(str(target.path)) or "", range=lsp.Range(
            start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)))
    target_occ = checked.get_index().definition(occ)
    return location(checked.program, target_occ.span) if target_occ else None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: FilmServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    named = _named(ls, params.text_document.uri, params.position)
    if named is None:
        return []
    checked, occ = named
    occs = checked.get_index().references(occ.kind, occ.name)
    if not params.context.include_declaration:
        occs = [o for o in occs if not o.is_def]
    return [location(checked.program, o.span) for o in occs]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: FilmServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
    found = _occurrence(ls, params.text_document.uri, params.position)
    if found is None or found[2] is None or not _renamable(found[0], found[2]):
        return None
    return to_range(found[1], found[2].span)


def _renamable(checked: Checked, occ: analysis.Occurrence) -> bool:
    if occ.kind not in (analysis.CHARACTER, analysis.LET):
        return False
    target = checked.get_index().definition(occ)
    return target is not None and not target.span.file.startswith("std/")


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: FilmServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
    named = _named(ls, params.text_document.uri, params.position)
    if named is None:
        return None
    checked, occ = named
    if not _renamable(checked, occ):
        raise ValueError("only characters and let constants declared in this film can be "
                         "renamed")
    if not complete.is_name(params.new_name):
        raise ValueError(f"'{params.new_name}' is not a name: use letters, digits and _")
    index = checked.get_index()
    if (occ.kind, params.new_name) in index.defs or (
            occ.kind == analysis.LET and params.new_name in index.lets):
        raise ValueError(f"there is already a {occ.kind} named '{params.new_name}'")
    changes: dict[str, list[lsp.TextEdit]] = {}
    for o in index.references(occ.kind, occ.name):
        loc = location(checked.program, o.span)
        changes.setdefault(loc.uri, []).append(lsp.TextEdit(range=loc.range,
                                                            new_text=params.new_name))
    return lsp.WorkspaceEdit(changes=changes)


def _module(ls: FilmServer, uri: str) -> tuple[SourceFile, ast.Module] | None:
    """The file at `uri` and its tree, as its program's last check parsed it."""
    state = ls.state(uri)
    if state is None:
        return None
    checked, source = state
    module = checked.program.modules.get(source.name)
    return None if module is None else (source, module)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: FilmServer, params: lsp.DocumentSymbolParams
                    ) -> list[lsp.DocumentSymbol]:
    found = _module(ls, params.text_document.uri)
    if found is None:
        return []
    source, module = found
    return [_symbol(source, s) for s in analysis.outline(module)]


_SYMBOL_KINDS = {"film": lsp.SymbolKind.File, "character": lsp.SymbolKind.Class,
                 "shottype": lsp.SymbolKind.Struct, "scene": lsp.SymbolKind.Namespace,
                 "shot": lsp.SymbolKind.Event, "let": lsp.SymbolKind.Constant}


def _symbol(source: SourceFile, symbol: analysis.Symbol) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=symbol.name, detail=symbol.detail, kind=_SYMBOL_KINDS[symbol.kind],
        range=to_range(source, symbol.span), selection_range=to_range(source, symbol.selection),
        children=[_symbol(source, c) for c in symbol.children] or None)


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
def folding_range(ls: FilmServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
    found = _module(ls, params.text_document.uri)
    if found is None:
        return []
    _, module = found
    return [lsp.FoldingRange(start_line=a - 1, end_line=b - 1)
            for a, b in analysis.folds(module)]


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: FilmServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    from filmlang.api import format_text

    doc = ls.workspace.get_text_document(params.text_document.uri)
    result = format_text(doc.source, name=Path(doc.path).name)
    if result.text is None or not result.changed:
        return []
    lines = doc.source.split("\n")
    end = lsp.Position(line=len(lines), character=0)
    return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(line=0, character=0), end=end),
                         new_text=result.text)]


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                lsp.SemanticTokensLegend(token_types=list(tokens.TOKEN_TYPES),
                                         token_modifiers=list(tokens.TOKEN_MODIFIERS)))
def semantic_tokens(ls: FilmServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    return lsp.SemanticTokens(data=tokens.encode(doc.source))


def start(**_: Any) -> None:
    server.start_io()
