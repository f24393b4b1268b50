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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from filmlang import __version__, ir
from filmlang.diagnostics import Diagnostic
from filmlang.lsp import actions, analysis, commands, complete, hover, memo, tokens
from filmlang.lsp.convert import location, offset_of, to_lsp_diagnostic, to_range, uri_path
from filmlang.lsp.incremental import IncrementalParser
from filmlang.semantic.loader import Program, load
from filmlang.session import Session
from filmlang.source import SourceFile, read_source
from filmlang.syntax import ast

DEBOUNCE_S = 0.02
IDLE_COLLECT_S = 1.0


class Refused(JsonRpcException):
    """A request the server declines (a rename it cannot do): the LSP error RequestFailed
    with a plain message for the writer, never a traceback."""

    CODE = -32803
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
        self.templates = memo.MemoTemplates(freeze_heap=True)
        self.collecting: asyncio.TimerHandle | None = None
        """The cycle collection after the last check, once the editor is idle."""
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

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, Refused):
            return  # answered with its message; nothing went wrong in the server
        super().report_server_error(error, source)

    # ------------------------------------------------------------ documents

    def files_changed(self, paths: set[Path], created_or_deleted: bool) -> list[Path]:
        """Files changed on disk (a `git pull`): check again every film with an open
        document whose program holds one of them (any, when files came or went: an import
        that was missing may be there now). Gives the films checked again."""
        open_paths = set(self.overlay())
        entries = {self.entry_for(path) for path in open_paths}
        again = []
        for entry in sorted(entries):
            checked = self.checked.get(entry)
            held = set() if checked is None else {
                s.path for s in checked.program.files.values() if not s.is_std}
            if created_or_deleted or held & (paths - open_paths) or checked is None:
                again.append(entry)
        for entry in again:
            self.run_check(entry)
        return again

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
        self._collect_when_idle()
        return checked

    def _collect_when_idle(self) -> None:
        """Collect the checks' garbage cycles once no check ran for `IDLE_COLLECT_S`: off
        the path of an edit's diagnostics (`memo.check` freezes what each check leaves)."""
        if self.collecting is not None:
            self.collecting.cancel()
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:  # no loop in this thread: the next check collects in time
            return
        self.collecting = loop.call_later(IDLE_COLLECT_S, memo.collect, self.templates)

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


def _is_film(program: Program) -> bool:
    module = program.modules.get(program.entry)
    if module is None:
        return True
    return any(getattr(s, "name", None) in ("film", "scene") for s in module.body) or \
        bool(program.parse_failed)


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


@server.feature(lsp.INITIALIZED)
def initialized(ls: FilmServer, params: lsp.InitializedParams) -> None:
    """Ask a client that can be asked (Neovim, Helix) to tell us when .film files change on
    disk; VS Code's extension watches them itself."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    ls.client_register_capability(lsp.RegistrationParams(registrations=[lsp.Registration(
        id="filmlang-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[
            lsp.FileSystemWatcher(glob_pattern="**/*.film")]))]))


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: FilmServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    paths = {p for p in (uri_path(change.uri) for change in params.changes) if p is not None}
    came_or_went = any(change.type != lsp.FileChangeType.Changed for change in params.changes)
    ls.files_changed(paths, came_or_went)


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
    code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorExtract]))
def code_action(ls: FilmServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    state = ls.state(params.text_document.uri)
    if state is None:
        return []
    checked, source = state
    module = checked.program.modules.get(source.name)
    return actions.code_actions(checked.program, checked.diagnostics, source, module,
                                params.range)


@server.command(commands.EXPLAIN)
def explain_last_build(ls: FilmServer, *args: Any) -> str:
    """The film's last build, job by job: the film of the document given (its URI)."""
    uri = args[0] if args and isinstance(args[0], str) else ""
    path = uri_path(uri) if uri else None
    if path is None:
        raise Refused("filmlang.explainLastBuild needs the URI of a .film document")
    cache = args[1] if len(args) > 1 and isinstance(args[1], str) and args[1] else None
    return commands.explain_last_build(ls.entry_for(path), Path(cache) if cache else None)


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
        raise Refused("only characters and let constants declared in this film can be "
                         "renamed")
    if not complete.is_name(params.new_name):
        raise Refused(f"'{params.new_name}' is not a name: use letters, digits and _")
    index = checked.get_index()
    if (occ.kind, params.new_name) in index.defs or (
            occ.kind == analysis.LET and params.new_name in index.lets):
        raise Refused(f"there is already a {occ.kind} named '{params.new_name}'")
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
