"""Code actions: the quick fixes that diagnostics carry, and two refactorings.

Takes a checked program, its diagnostics and a range of one of its files, and gives LSP code
actions: a quick fix for each `Fix` of a diagnostic under the range (did you mean, the
missing colon, a shot that starts with a character, text without quotes, a path not found,
an imported file outside the film's folder copied in, a picture, sound or reference image
outside it changed to the file of that name inside); "Declare character NAME" for a speaker
nobody declared; and "Extract to let" for a literal value under the cursor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from filmlang.diagnostics import Diagnostic, Edit, Fix
from filmlang.lsp.convert import location, offset_of, to_lsp_diagnostic, to_range
from filmlang.semantic.loader import Program
from filmlang.source import SourceFile, Span
from filmlang.syntax import ast

_ORIGIN = lsp.Position(line=0, character=0)


def code_actions(program: Program, diagnostics: list[Diagnostic], source: SourceFile,
                 module: ast.Module | None, where: lsp.Range) -> list[lsp.CodeAction]:
    out: list[lsp.CodeAction] = []
    for d in diagnostics:
        if d.span.file != source.name or not _overlaps(d, where):
            continue
        shown = to_lsp_diagnostic(d, program)
        for n, fix in enumerate(d.fixes):
            out.append(lsp.CodeAction(title=fix.title, kind=lsp.CodeActionKind.QuickFix,
                                      diagnostics=[shown], is_preferred=n == 0,
                                      edit=workspace_edit(fix, program)))
        if d.code == "E0102" and module is not None:
            declare = declare_character(source, module, d)
            if declare is not None:
                out.append(lsp.CodeAction(
                    title=declare.title, kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[shown], is_preferred=not d.fixes,
                    edit=workspace_edit(declare, program)))
    if module is not None:
        extract = extract_to_let(program, source, module, where)
        if extract is not None:
            out.append(extract)
    return out


def _overlaps(d: Diagnostic, where: lsp.Range) -> bool:
    return d.span.line - 1 <= where.end.line and where.start.line <= d.span.end_line - 1


def workspace_edit(fix: Fix, program: Program) -> lsp.WorkspaceEdit:
    """The fix as a workspace edit: plain text edits, or, when it makes a file, document
    changes that create it, fill it, then edit the others."""
    if not any(e.create for e in fix.edits):
        changes: dict[str, list[lsp.TextEdit]] = {}
        for edit in fix.edits:
            assert edit.span is not None
            loc = location(program, edit.span)
            changes.setdefault(loc.uri, []).append(lsp.TextEdit(range=loc.range,
                                                                new_text=edit.text))
        return lsp.WorkspaceEdit(changes=changes)
    steps: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    for edit in fix.edits:
        if edit.create:
            uri = from_fs_path(edit.create) or ""
            steps.append(lsp.CreateFile(uri=uri))
            text_range = lsp.Range(start=_ORIGIN, end=_ORIGIN)
        else:
            assert edit.span is not None
            loc = location(program, edit.span)
            uri, text_range = loc.uri, loc.range
        steps.append(lsp.TextDocumentEdit(
            text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[lsp.TextEdit(range=text_range, new_text=edit.text)]))
    return lsp.WorkspaceEdit(document_changes=steps)


# ---------------------------------------------------------------- declare a character


def declare_character(source: SourceFile, module: ast.Module, d: Diagnostic) -> Fix | None:
    """A declaration of the unknown character of an E0102, after the file's last character
    (before its first scene when it has none)."""
    name = source.text[d.span.start:d.span.end]
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        return None
    declaration = f'character {name} {{\n    look "{name}: how they look"\n}}\n'
    blocks = [s for s in module.body if isinstance(s, ast.Block)]
    characters = [b for b in blocks if b.name == "character"]
    scenes = [b for b in blocks if b.name == "scene"]
    if characters:
        line, text = characters[-1].close_span.end_line + 1, "\n" + declaration
    elif scenes:
        line, text = scenes[0].span.line, declaration + "\n"
    else:
        line, text = source.text.count("\n") + 1, "\n" + declaration
    return Fix(title=f"Declare character {name}",
               edits=(Edit(span=_line_start(source, line), text=text),))


def _line_start(source: SourceFile, line: int) -> Span:
    """The empty span at the start of `line` (1-based; one past the end: the end)."""
    offset = 0
    for _ in range(line - 1):
        found = source.text.find("\n", offset)
        if found == -1:
            offset = len(source.text)
            break
        offset = found + 1
    return Span(file=source.name, line=line, column=1, end_line=line, end_column=1,
                    start=offset, end=offset)


# ---------------------------------------------------------------- extract to let

_LITERALS = (ast.StringValue, ast.NumberValue, ast.DurationValue, ast.SizeValue)


def _values(statement: ast.Statement, top: ast.Statement
            ) -> Iterator[tuple[ast.Value, str, ast.Statement]]:
    """Every literal value written in a statement: (value, its property, its top-level
    statement)."""
    if not isinstance(statement, ast.Property | ast.Block):
        return
    args = statement.args
    if statement.name in ("character", "shottype", "scene", "shot") and args:
        args = args[1:]  # a name, a shot type: not a value
    for value in args:
        if isinstance(value, _LITERALS):
            yield value, statement.name, top
    for kw in statement.kwargs:
        if isinstance(kw.value, _LITERALS):
            yield kw.value, kw.name, top
    if isinstance(statement, ast.Block):
        for child in statement.body:
            yield from _values(child, top)


def extract_to_let(program: Program, source: SourceFile, module: ast.Module,
                   where: lsp.Range) -> lsp.CodeAction | None:
    """`look "a long coat"` -> `let long_coat = "a long coat"` above its declaration, and
    `look long_coat`: for the literal value under the cursor or the selection."""
    start, end = offset_of(source, where.start), offset_of(source, where.end)
    found = [(value, prop, top) for top in module.body for value, prop, top in _values(top, top)
             if value.span.start <= start and end <= value.span.end]
    if not found:
        return None
    value, prop, top = min(found, key=lambda item: item[0].span.end - item[0].span.start)
    name = _let_name(value, prop, program)
    at = _line_start(source, top.span.line)
    edit = lsp.WorkspaceEdit(changes={
        location(program, value.span).uri: [
            lsp.TextEdit(range=to_range(source, at), new_text=f"let {name} = {value.raw}\n\n"),
            lsp.TextEdit(range=to_range(source, value.span), new_text=name)]})
    return lsp.CodeAction(title=f"Extract to let {name}", kind=lsp.CodeActionKind.RefactorExtract,
                          edit=edit)


def _let_name(value: ast.Value, prop: str, program: Program) -> str:
    taken: set[str] = set()
    for module in program.modules.values():
        for statement in module.body:
            if isinstance(statement, ast.Let):
                taken.add(statement.name)
            elif isinstance(statement, ast.Block) and statement.args and \
                    isinstance(statement.args[0], ast.NameValue):
                taken.add(statement.args[0].name)
    words = re.findall(r"[a-z]+", value.value.lower()) if isinstance(
        value, ast.StringValue) else []
    words = [w for w in words if len(w) > 2] or [prop.lower(), "value"]
    base = "_".join(words[:2])
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name
