"""The checker: a loaded `Program` in, an `ir.Film` and every diagnostic out.

It walks the entry file, splicing included files in place and taking declarations from
imported modules, then checks the film block, the declarations and the scenes against the
schema (`schema.py`) and renders every prompt template. All errors of the run are
collected; the IR is given only when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Capped, Diagnostic, Label, TooMany, error, sort_key, warning
from filmlang.semantic import cast, schema
from filmlang.semantic.bind import Binder, Bound
from filmlang.semantic.loader import Program, import_chain_notes
from filmlang.semantic.templates import TemplateProblem, Templates
from filmlang.semantic.values import Lets, literal, out_of_range, shown
from filmlang.source import Span, gc_paused
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.scene_memo import SceneMemo

TEMPLATE_NAMES = ("film", "scene", "shot", "subjects", "characters")

# Colours for characters that set none: distinct in hue and readable on dark and light.
@dataclass
class Declared:
    statement: ast.Property | ast.Block
    module: str
    own: bool


@dataclass
class Item:
    """A film block, scene or top-level transition, in playing order."""

    statement: ast.Property | ast.Block
    module: str


@dataclass
class Scope:
    """What a build declares, gathered from all its files."""

    lets: dict[str, ast.Let] = field(default_factory=dict)
    let_own: dict[str, bool] = field(default_factory=dict)
    characters: dict[str, Declared] = field(default_factory=dict)
    props: dict[str, Declared] = field(default_factory=dict)
    shottypes: dict[str, Declared] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)


def check(program: Program) -> tuple[ir.Film | None, list[Diagnostic]]:
    """Check a loaded program. The film is None when there is any error."""
    checker = Checker(program)
    with gc_paused():
        film = checker.run()
        diagnostics = checker.finish()
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    return film, diagnostics


class Checker:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.diagnostics = Capped(program.diagnostics)
        self.scope = Scope()
        self.binder = Binder(Lets(self.scope.lets), self.diagnostics)
        self.templates = Templates()
        self.scene_memo: SceneMemo | None = None
        """Scenes of earlier checks, to use again (the language server sets it)."""
        self._visited_imports: set[str] = set()

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def finish(self) -> list[Diagnostic]:
        """Every diagnostic once, in file order, with the import chain of other files."""
        unique: dict[tuple[Any, ...], Diagnostic] = {}
        # A line with a syntax error is left out of the tree (a block's '{' kept, under the
        # placeholder name '_'): what the checker says about it is about the placeholder.
        broken = {(d.span.file, d.span.line) for d in self.program.diagnostics}
        given = len(self.program.diagnostics)
        for i, d in enumerate(self.diagnostics):
            if i >= given and (d.span.file, d.span.line) in broken:
                continue
            unique.setdefault((d.code, d.span.file, d.span.start, d.span.end, d.message), d)
        out = []
        for d in sorted(unique.values(), key=sort_key):
            if d.span.file != self.program.entry and d.span.file in self.program.reached_from:
                d = d.model_copy(update={
                    "notes": (*d.notes, *import_chain_notes(self.program, d.span.file))})
            out.append(d)
        entry = self.program.entry
        out.sort(key=lambda d: (d.span.file != entry, *sort_key(d)))
        too_many = self.diagnostics.too_many()
        return [*out, too_many] if too_many else out

    # ---------------------------------------------------------------- gathering

    def run(self) -> ir.Film | None:
        try:
            return self._run()
        except TooMany:
            return None  # `finish` says so (E0009)

    def _run(self) -> ir.Film | None:
        if self.program.entry not in self.program.modules:
            return None
        if self.program.parse_abandoned:
            return None  # nothing, or not all, of a file parsed: checking would mislead
        self.templates.new_check()
        for name in self.program.implicit:
            self._visit(name, own=False)
        self._visit(self.program.entry, own=True)
        lets = self._let_values()
        film_block = self._film_block()
        from filmlang.semantic.declarations import Declarations
        from filmlang.semantic.scenes import Scenes

        decls = Declarations(self, lets)
        film = decls.film(film_block)
        characters = cast.cast(decls.characters(film), decls.plain)
        film = film.model_copy(update={"props": tuple(decls.props(characters).values())})
        shottypes = decls.shottypes()
        scenes = Scenes(self, film, characters, shottypes, lets).build(self.scope.items)
        if film_block is not None and not any(
                item.statement.name == "scene" for item in self.scope.items):
            self.report(error(
                "E0306", "this film has no scenes", film_block.name_span,
                label="nothing to show",
                help="add a scene after the film block: scene opening { shot wide 4s }"))
        self._unused(characters, scenes)
        return film.model_copy(update={
            "characters": tuple(characters.values()),
            "shot_types": tuple(shottypes.values()),
            "scenes": tuple(scenes),
            "sources": tuple(self.program.files),
        })

    def _visit(self, name: str, *, own: bool) -> None:
        module = self.program.modules.get(name)
        if module is None:
            return
        for statement in module.body:
            kind = statement.kind
            if isinstance(statement, ast.Import):
                target = self.program.target(name, statement)
                if target is not None and target not in self._visited_imports:
                    self._visited_imports.add(target)
                    self._visit(target, own=False)
            elif isinstance(statement, ast.Include):
                target = self.program.target(name, statement)
                if target is not None:
                    self._visit(target, own=own)
            elif isinstance(statement, ast.Let):
                self._declare_let(statement, own)
            elif isinstance(statement, ast.Dialogue):
                self.binder.misplaced(statement, schema.TOP)
            elif kind in ("property", "block"):
                self._top(statement, name, own)

    def _top(self, statement: ast.Property | ast.Block, module: str, own: bool) -> None:
        name = statement.name
        if name not in schema.TOP.props:
            self.binder.misplaced(statement, schema.TOP)
            return
        if name in ("character", "shottype", "prop"):
            table = {"character": self.scope.characters, "prop": self.scope.props,
                     "shottype": self.scope.shottypes}[name]
            self._declare(table, statement, module, own)
            return
        if not own:
            self.report(error(
                "E0404", f"an imported module cannot have a '{name}'", statement.name_span,
                label="in an imported module",
                help="import brings only let, character and shottype; use include to add "
                     "scenes or the film block"))
            return
        self.scope.items.append(Item(statement, module))

    def _declare(self, table: dict[str, Declared], statement: ast.Property | ast.Block,
                 module: str, own: bool) -> None:
        what = statement.name
        if not statement.args or not isinstance(statement.args[0], ast.NameValue):
            span = statement.args[0].span if statement.args else statement.name_span
            self.report(error("E0203", f"a {what} needs a name", span,
                              label="expected a name",
                              help=f"write: {what} NAME {{ ... }}, with NAME like MARA or "
                                   "wide_angle (no quotes)"))
            return
        name_value = statement.args[0]
        if len(statement.args) > 1:
            self.report(error("E0203", f"'{what}' takes only a name", statement.args[1].span,
                              label="unexpected", help=f"write the {what}'s settings inside "
                                                       "its { } block"))
        name = name_value.name
        previous = table.get(name)
        if previous is not None:
            if what == "shottype" and own and not previous.own:
                table[name] = Declared(statement, module, own)  # the film's own wins
                return
            if what == "shottype" and not own and previous.own:
                return
            if previous.statement is statement:
                return
            self.report(error(
                "E0105", f"{what} '{name}' is declared twice", name_value.span,
                label="declared again here",
                notes=[Label(span=previous.statement.args[0].span,
                             message="first declared here")],
                help=f"rename one of them, or remove one {what} block"))
            return
        table[name] = Declared(statement, module, own)

    def _declare_let(self, let: ast.Let, own: bool) -> None:
        if let.name in TEMPLATE_NAMES:
            self.report(error(
                "E0105", f"'{let.name}' is a name templates already use", let.name_span,
                label="reserved", help="choose another name for the constant"))
            return
        previous = self.scope.lets.get(let.name)
        if previous is not None:
            if previous is let:
                return
            self.report(error(
                "E0105", f"'{let.name}' is already defined", let.name_span,
                label="redefined here",
                notes=[Label(span=previous.name_span, message="first defined here")],
                help="a let constant cannot change; give this one another name"))
            return
        self.scope.lets[let.name] = let
        self.scope.let_own[let.name] = own

    def _let_values(self) -> dict[str, Any]:
        """Every let constant as a plain value, for templates; reports cycles."""
        values: dict[str, Any] = {}

        def resolve(name: str, trail: list[str]) -> Any:
            if name in values:
                return values[name]
            let = self.scope.lets[name]
            value: ast.Value = let.value
            if isinstance(value, ast.NameValue) and value.name in self.scope.lets:
                if value.name in trail:
                    cycle = " -> ".join([*trail[trail.index(value.name):], value.name])
                    self.report(error("E0109", f"let constants refer to each other: {cycle}",
                                      value.span, label="cycle",
                                      help="give one of them a value of its own"))
                    values[name] = ""
                    return ""
                result = resolve(value.name, [*trail, value.name])
            else:
                result = literal(value)
                huge = out_of_range(value, schema.MAX_NUMBER)
                if huge is not None:
                    self.report(error(
                        "E0202", f"numbers are at most 10^15 in size, not {shown(huge.raw)}",
                        huge.span, label="out of range",
                        help="a film's numbers are small: seeds, volumes, tempos; write the "
                             "value as text in quotes if it is a label"))
            values[name] = result
            return result

        for name in list(self.scope.lets):
            resolve(name, [name])
        return values

    def _film_block(self) -> ast.Property | ast.Block | None:
        films = [item for item in self.scope.items if item.statement.name == "film"]
        if not films:
            span = Span(file=self.program.entry, line=1, column=1, end_line=1, end_column=1)
            self.report(error("E0301", "this film has no film block", span,
                              help='start the file with: film "My Title" { size 1280x720 }'))
            return None
        first = films[0].statement
        for other in films[1:]:
            self.report(error(
                "E0302", "a film has exactly one film block; this is another",
                other.statement.name_span, label="second film block",
                notes=[Label(span=first.name_span, message="the first film block is here")],
                help="merge the two blocks, or split the film into two entry files"))
        return first

    def bind_all(self, body: tuple[ast.Statement, ...],
                 context: schema.Context) -> dict[str, list[Bound]]:
        """Bind every statement of a block body; one of each unless repeatable."""
        found: dict[str, list[Bound]] = {}
        for statement in body:
            bound = self.binder.bind(statement, context)
            if bound is None:
                continue
            previous = found.get(bound.name)
            if previous and not bound.prop.repeatable:
                self.report(error(
                    "E0107", f"'{bound.name}' is set twice {context.inside}",
                    bound.statement.name_span, label="set again here",
                    notes=[Label(span=previous[0].statement.name_span,
                                 message="first set here")],
                    help="keep one of them"))
                continue
            found.setdefault(bound.name, []).append(bound)
        return found

    def render(self, text: str, context: dict[str, Any], span: Span) -> str:
        try:
            return self.templates.render(text, context, span)
        except TemplateProblem as exc:
            self.report(exc.diagnostic)
            return ""

    def _unused(self, characters: dict[str, ir.Character], scenes: list[ir.Scene]) -> None:
        used: set[str] = set()
        speakers: set[str] = set()
        for scene in scenes:
            for shot in scene.shots:
                used.update(shot.subjects)
                for line in shot.lines:
                    speakers.add(line.speaker)
        used |= speakers
        if any(d.is_error for d in self.diagnostics):
            return  # shots with errors are missing: the warning would be noise
        cast.alike(characters, speakers, {name: declared.statement.args[0].span
                                     for name, declared in self.scope.characters.items()},
              self.report)
        for name, declared in self.scope.characters.items():
            if declared.own and name not in used and name in characters:
                self.report(warning(
                    "W0002", f"character '{name}' never appears", declared.statement.args[0].span,
                    label="declared but not in any shot",
                    help=f"give {name} a line or put them in a shot, or remove the block"))

