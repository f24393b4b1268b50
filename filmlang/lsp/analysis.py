"""What the language server knows of a checked program: names, where they are, what they mean.

Takes a loaded `Program` (and the `ir.Film` when it checked clean) and gives the
occurrences of every character, shot type, `let` constant and import/include path, so that
definition, references, rename, hover and the outline are lookups. Pure: no LSP types here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from filmlang import ir
from filmlang.semantic.loader import Program
from filmlang.source import Span
from filmlang.syntax import ast

CHARACTER = "character"
SHOTTYPE = "shottype"
LET = "let"
PATH = "path"
CAMERA = "camera"


@dataclass(frozen=True)
class Occurrence:
    span: Span
    kind: str
    """character, shottype, let, path or camera."""
    name: str
    """The name; for a path, the module it loaded."""
    is_def: bool = False


@dataclass
class Index:
    program: Program
    film: ir.Film | None
    occurrences: dict[str, list[Occurrence]] = field(default_factory=dict)
    """file -> its occurrences, in source order."""
    defs: dict[tuple[str, str], Occurrence] = field(default_factory=dict)
    blocks: dict[tuple[str, str], ast.Block] = field(default_factory=dict)
    """(kind, name) -> the declaring block of a character or shot type."""
    lets: dict[str, ast.Let] = field(default_factory=dict)
    timing: dict[tuple[str, int], str] | None = None
    """(scene, shot index) -> its timing, once the build cache had all the speech."""

    def at(self, file: str, offset: int) -> Occurrence | None:
        for occ in self.occurrences.get(file, ()):
            if occ.span.start <= offset <= occ.span.end:
                return occ
        return None

    def definition(self, occ: Occurrence) -> Occurrence | None:
        if occ.kind == PATH:
            return occ
        return self.defs.get((occ.kind, occ.name))

    def references(self, kind: str, name: str) -> list[Occurrence]:
        return [o for occs in self.occurrences.values() for o in occs
                if o.kind == kind and o.name == name]

    def names(self, kind: str) -> list[str]:
        return sorted({name for (k, name) in self.defs if k == kind})


def build_index(program: Program, film: ir.Film | None) -> Index:
    index = Index(program=program, film=film)
    # Shot types: the film's own win over the library's, so visit the library first.
    order = [*program.implicit, *(n for n in program.modules if n not in program.implicit)]
    for name in order:
        module = program.modules[name]
        out: list[Occurrence] = []
        for statement in module.body:
            _statement(index, name, statement, None, out)
        index.occurrences[name] = out
    resolve_lets(index)
    return index


def _add(index: Index, out: list[Occurrence], occ: Occurrence) -> None:
    out.append(occ)
    if occ.is_def:
        own = occ.kind != SHOTTYPE or not occ.span.file.startswith("std/")
        if own or (occ.kind, occ.name) not in index.defs:
            index.defs[(occ.kind, occ.name)] = occ


def _statement(index: Index, file: str, statement: ast.Statement, parent: str | None,
               out: list[Occurrence]) -> None:
    if isinstance(statement, ast.Import | ast.Include):
        target = index.program.target(file, statement)
        if target is not None:
            out.append(Occurrence(statement.path.span, PATH, target))
        return
    if isinstance(statement, ast.Let):
        _add(index, out, Occurrence(statement.name_span, LET, statement.name, is_def=True))
        index.lets.setdefault(statement.name, statement)
        _values(index, (statement.value,), out)
        return
    if isinstance(statement, ast.Dialogue):
        _add(index, out, Occurrence(statement.speaker_span, CHARACTER, statement.speaker))
        return
    name = statement.name
    args = statement.args
    if parent is None and name in (CHARACTER, SHOTTYPE) and args \
            and isinstance(args[0], ast.NameValue):
        _add(index, out, Occurrence(args[0].span, name, args[0].name, is_def=True))
        if isinstance(statement, ast.Block):
            index.blocks.setdefault((name, args[0].name), statement)
        args = args[1:]
    elif parent == "scene" and name == "shot" and args:
        first, *rest = args
        if isinstance(first, ast.NameValue):
            _add(index, out, Occurrence(first.span, SHOTTYPE, first.name))
        for value in rest:
            if isinstance(value, ast.NameValue) and value.name not in index.lets:
                _add(index, out, Occurrence(value.span, CHARACTER, value.name))
            else:
                _values(index, (value,), out)
        args = ()
    elif name == "camera" and args and isinstance(args[0], ast.NameValue) \
            and args[0].name not in index.lets:
        out.append(Occurrence(args[0].span, CAMERA, args[0].name))
        args = args[1:]
    _values(index, args, out)
    _values(index, tuple(kw.value for kw in statement.kwargs), out)
    if isinstance(statement, ast.Block):
        for child in statement.body:
            _statement(index, file, child, name, out)


def _values(index: Index, values: tuple[ast.Value, ...], out: list[Occurrence]) -> None:
    for value in values:
        if isinstance(value, ast.NameValue):
            # A let may be declared later in the file or in an import: decide by name.
            out.append(Occurrence(value.span, LET, value.name))
        elif isinstance(value, ast.ListValue):
            _values(index, value.items, out)
        elif isinstance(value, ast.StringValue) and "{" in value.raw:
            _template_names(value, out)


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_TEMPLATE_NAME = re.compile(
    r"(?<=characters\.)(?P<char>[A-Za-z_]\w*)|(?<![.\w])(?P<name>[A-Za-z_]\w*)")


def _template_names(value: ast.StringValue, out: list[Occurrence]) -> None:
    """Names used inside `{{ ... }}` and `{% ... %}` of a prompt template: lets (kept when
    such a let exists) and `characters.NAME`."""
    raw, span = value.raw, value.span
    for part in _TEMPLATE_PART.finditer(raw):
        for m in _TEMPLATE_NAME.finditer(raw, part.start() + 2, part.end() - 2):
            offset = m.start()
            before = raw[:offset]
            lines = before.count("\n")
            column = (span.column + offset if lines == 0
                      else offset - before.rfind("\n"))
            where = Span(file=span.file, line=span.line + lines, column=column,
                         end_line=span.line + lines, end_column=column + len(m.group()),
                         start=span.start + offset, end=span.start + m.end())
            kind = CHARACTER if m.group("char") else LET
            out.append(Occurrence(where, kind, m.group()))


def resolve_lets(index: Index) -> None:
    """Drop name occurrences that are keywords (`none`, `night`), not let constants."""
    for file, occs in index.occurrences.items():
        index.occurrences[file] = [o for o in occs if o.kind != LET or o.name in index.lets]


# ---------------------------------------------------------------- outline


@dataclass(frozen=True)
class Symbol:
    name: str
    detail: str
    kind: str
    """film, character, shottype, scene, shot, let."""
    span: Span
    selection: Span
    children: tuple[Symbol, ...] = ()


def outline(module: ast.Module) -> list[Symbol]:
    symbols: list[Symbol] = []
    for statement in module.body:
        if isinstance(statement, ast.Let):
            symbols.append(Symbol(statement.name, statement.value.raw, "let", statement.span,
                                  statement.name_span))
        elif isinstance(statement, ast.Block) and statement.name in (
                "film", "character", "prop", "shottype", "scene"):
            symbols.append(_block_symbol(statement))
    return symbols


def _block_symbol(block: ast.Block) -> Symbol:
    args = block.args
    if block.name == "film":
        title = args[0].raw if args else "film"
        return Symbol(title.strip('"') or "film", "film", "film", block.span, block.name_span)
    name = args[0].raw if args else block.name
    selection = args[0].span if args else block.name_span
    if block.name != "scene":
        return Symbol(name, block.name, block.name, block.span, selection)
    heading = args[1].raw.strip('"') if len(args) > 1 else ""
    shots = []
    number = 0
    for child in block.body:
        if isinstance(child, ast.Block | ast.Property) and child.name == "shot":
            number += 1
            words = " ".join(a.raw for a in child.args)
            shots.append(Symbol(f"{number}. shot {words}".strip(), "shot", "shot", child.span,
                                child.name_span))
    return Symbol(name, heading or "scene", "scene", block.span, selection, tuple(shots))


def folds(module: ast.Module) -> list[tuple[int, int]]:
    """(first line, last line), 1-based, of every block that spans lines."""
    out: list[tuple[int, int]] = []

    def visit(body: tuple[ast.Statement, ...]) -> None:
        for statement in body:
            if isinstance(statement, ast.Block):
                if statement.close_span.line > statement.span.line:
                    out.append((statement.span.line, statement.close_span.line))
                visit(statement.body)
            elif isinstance(statement, ast.Let | ast.Property) and \
                    statement.span.end_line > statement.span.line:
                out.append((statement.span.line, statement.span.end_line))

    visit(module.body)
    return out


def shot_at(film: ir.Film, file: str, line: int) -> tuple[ir.Scene, ir.Shot] | None:
    """The shot whose source holds `line` of `file`."""
    for scene in film.scenes:
        for shot in scene.shots:
            origin = shot.origin
            if origin.file == file and origin.line <= line <= origin.end_line:
                return scene, shot
    return None
