"""The film block, characters and shot types: their AST statements in, IR values out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Label, error
from filmlang.semantic import schema
from filmlang.semantic.files import inside_fixes
from filmlang.semantic.templates import Obj
from filmlang.semantic.values import printable
from filmlang.source import NotReadable, Span, check_regular
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.bind import Bound
    from filmlang.semantic.checker import Checker

DEFAULT_SHOT_PROMPT = "{{ shot.type | replace('_', ' ') }} shot, {{ scene.setting }}"


def body_of(statement: ast.Property | ast.Block) -> tuple[ast.Statement, ...]:
    return statement.body if isinstance(statement, ast.Block) else ()


class Declarations:
    def __init__(self, checker: Checker, lets: dict[str, Any]) -> None:
        self.checker = checker
        self.lets = lets
        self.plain: set[str] = set()
        """The characters with no `voice` statement: the cast gives them one."""

    def context(self, film: ir.Film) -> dict[str, Any]:
        return {**self.lets, "film": Obj("film", film.title, title=film.title, style=film.style)}

    def film(self, statement: ast.Property | ast.Block | None) -> ir.Film:
        checker = self.checker
        if statement is None:
            span = Span(file=checker.program.entry, line=1, column=1, end_line=1, end_column=1)
            return ir.Film(title="", origin=span)
        title = ""
        if statement.args:
            value = checker.binder.value(statement.args[0], schema.TOP.props["film"].args[0],
                                         None, "film")
            title = value if isinstance(value, str) else ""
        else:
            checker.report(error("E0203", "the film needs a title", statement.name_span,
                                 label="no title", help='write: film "The Lighthouse" { ... }'))
        if len(statement.args) > 1:
            checker.report(error("E0203", "'film' takes only a title", statement.args[1].span,
                                 label="unexpected", help="put settings inside the { } block"))
        props = checker.bind_all(body_of(statement), schema.FILM)
        values: dict[str, Any] = {}
        for name, bounds in props.items():
            bound = bounds[0]
            if not bound.ok:
                continue
            if name == "size":
                size = bound.arg()
                assert isinstance(size, tuple)
                values["width"], values["height"] = size
            elif name == "backend":
                values["backends"] = ir.Backends(**{k: v for k, v in bound.kwargs.items()
                                                    if v is not None})
            elif name == "seed":
                values["seed"] = bound.arg()
            else:
                values[name] = bound.arg()
        film = ir.Film(title=title, origin=statement.span, **values)
        context = {**self.lets, "film": Obj("film", title, title=title, style="")}
        style_span = props["style"][0].arg_span() if "style" in props else statement.span
        style = checker.render(film.style, context, style_span)
        negative_span = props["negative"][0].arg_span() if "negative" in props else statement.span
        negative = checker.render(film.negative, context, negative_span)
        return film.model_copy(update={"style": style, "negative": negative})

    def characters(self, film: ir.Film) -> dict[str, ir.Character]:
        from filmlang.ir import PALETTE, derive_seed

        checker = self.checker
        out: dict[str, ir.Character] = {}
        taken: set[str] = set()
        context = self.context(film)
        for name, declared in checker.scope.characters.items():
            statement = declared.statement
            props = checker.bind_all(body_of(statement), schema.CHARACTER)
            look = ""
            if "look" in props and props["look"][0].ok:
                look = checker.render(str(props["look"][0].arg()), context,
                                      props["look"][0].arg_span())
            voice = ir.Voice()
            if "voice" not in props:
                self.plain.add(name)
            elif props["voice"][0].ok:
                voice = self._voice(props["voice"][0], declared.module)
            color = None
            if "color" in props and props["color"][0].ok:
                color = str(props["color"][0].arg())
            if color is None:
                start = derive_seed("color", name) % len(PALETTE)
                for step in range(len(PALETTE)):
                    color = PALETTE[(start + step) % len(PALETTE)]
                    if color not in taken:
                        break
            assert color is not None
            taken.add(color)
            seed_value = props["seed"][0].arg() if "seed" in props else None
            seed = int(seed_value) if isinstance(seed_value, int | float) else derive_seed(
                film.seed, "character", name)
            reference = None
            if "reference" in props and props["reference"][0].ok:
                reference = self._reference(props["reference"][0].arg(),
                                            props["reference"][0].arg_span(), declared.module)
            out[name] = ir.Character(name=name, look=look, voice=voice, reference=reference,
                                     color=color, seed=seed, origin=statement.span)
        return out

    def _voice(self, bound: Bound, module: str) -> ir.Voice:
        """A `voice` statement: a language, or a voice model of one's own (cast.py)."""
        from filmlang.semantic.cast import model_voice

        options = {k: v for k, v in bound.kwargs.items() if v is not None}
        name = str(bound.arg() or "")
        model = model_voice(self.checker.program, name, bound.arg_span(), module,
                            self.checker.report)
        if model is not None:
            return ir.Voice(model=model, **options)
        return ir.Voice(name=name, **options)
    def props(self, characters: dict[str, ir.Character]) -> dict[str, ir.Prop]:
        """`prop NAME { look "..." }`, checked like a character; its drawn kind from its
        name and look (a look that names no prop of the library draws a box)."""
        from filmlang.semantic.staging import PROP_WORDS

        checker = self.checker
        out: dict[str, ir.Prop] = {}
        for name, declared in checker.scope.props.items():
            statement = declared.statement
            if name in characters:
                self.checker.report(error(
                    "E0105", f"'{name}' is declared as a character and as a prop",
                    statement.args[0].span, label="declared again here",
                    notes=[Label(span=characters[name].origin, message="the character")],
                    help="give the prop another name, like " + name + "_PROP"))
                continue
            props = checker.bind_all(body_of(statement), schema.PROP)
            look = ""
            if "look" in props and props["look"][0].ok:
                look = str(props["look"][0].arg())
            words = [w.lower() for w in re.findall(r"[A-Za-z]+", f"{look} {name}")]
            kinds = [PROP_WORDS[w] for w in words if w in PROP_WORDS]
            # The last prop word of the look is its noun: "brass storm lantern".
            kind = kinds[-1] if kinds else "box"
            out[name] = ir.Prop(name=name, look=look, kind=kind, origin=statement.span)
        return out

    def _reference(self, text: Any, span: Span, module: str) -> str | None:
        try:
            return self._reference_path(text, span, module)
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte: no such file
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            shown_text = printable(str(text))
            self.checker.report(error(
                "E0006", f'cannot read the reference image "{shown_text}": {reason}', span,
                label="not a path to a file", help="reference names an image file"))
            return None

    def _reference_path(self, text: Any, span: Span, module: str) -> str | None:
        program = self.checker.program
        source = program.files[module]
        path = (source.path.parent / str(text)).resolve()
        root = program.root.resolve()
        if not program.allow_outside and not path.is_relative_to(root):
            self.checker.report(error(
                "E0403", f'"{text}" is outside the film\'s folder', span,
                label="leaves the film's folder",
                fixes=inside_fixes(program.root, source.path.parent, path, span),
                help="move the image into the film's folder, or build with --allow-outside"))
            return None
        try:
            check_regular(path)
        except NotReadable as exc:
            self.checker.report(error(
                "E0006", f'cannot read the reference image "{text}": {exc.strerror}', span,
                label="not an image file", help="reference names an image file"))
            return None
        if not path.is_file():
            self.checker.report(error(
                "E0401", f'cannot find the reference image "{text}"', span,
                label="no such file", help="paths are relative to the file that names them"))
            return None
        try:
            return path.relative_to(program.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def shottypes(self) -> dict[str, ir.ShotType]:
        checker = self.checker
        out: dict[str, ir.ShotType] = {}
        for name, declared in checker.scope.shottypes.items():
            statement = declared.statement
            props = checker.bind_all(body_of(statement), schema.SHOTTYPE)
            values: dict[str, Any] = {}
            for prop, bounds in props.items():
                if bounds[0].ok:
                    values[prop] = bounds[0].arg()
            values.setdefault("prompt", DEFAULT_SHOT_PROMPT)
            out[name] = ir.ShotType(name=name, origin=statement.span, **values)
        return out


def prompt_span(checker: Checker, shottype: ir.ShotType) -> Span:
    """Where a shot type's prompt template is written (for template errors)."""
    declared = checker.scope.shottypes.get(shottype.name)
    if declared is None:
        return shottype.origin
    for statement in body_of(declared.statement):
        if isinstance(statement, ast.Property) and statement.name == "prompt" and statement.args:
            return statement.args[0].span
    return shottype.origin

