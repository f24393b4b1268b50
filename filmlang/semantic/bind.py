"""Binding: one statement and the context it stands in, to its checked values.

`Binder.bind` looks the statement up in the context's schema table, reports unknown and
misplaced statements (with 'did you mean'), wrong counts of values, unknown keyword
arguments and bad values, and gives a `Bound` whose values are plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from filmlang.diagnostics import Diagnostic, error
from filmlang.semantic import schema
from filmlang.semantic.schema import Context, Param, Prop
from filmlang.semantic.values import Invalid, Lets, Python, coerce, did_you_mean, fix_to
from filmlang.source import Span
from filmlang.syntax import ast


@dataclass
class Bound:
    prop: Prop
    statement: ast.Property | ast.Block
    args: list[Python] = field(default_factory=list)
    kwargs: dict[str, Python] = field(default_factory=dict)
    ok: bool = True

    @property
    def name(self) -> str:
        return self.prop.name

    @property
    def span(self) -> Span:
        return self.statement.span

    def arg(self, index: int = 0) -> Python:
        return self.args[index] if index < len(self.args) else None

    def arg_span(self, index: int = 0) -> Span:
        args = self.statement.args
        return args[index].span if index < len(args) else self.statement.name_span

    def kwarg_span(self, name: str) -> Span:
        for kw in self.statement.kwargs:
            if kw.name == name:
                return kw.value.span
        return self.statement.span


class Binder:
    """Checks statements against the schema; collects diagnostics in `diagnostics`."""

    def __init__(self, lets: Lets, diagnostics: list[Diagnostic]) -> None:
        self.lets = lets
        self.diagnostics = diagnostics

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def misplaced(self, statement: ast.Statement, context: Context) -> None:
        """A statement that is not one of `context`'s: unknown, or at home elsewhere."""
        if isinstance(statement, ast.Dialogue):
            self.report(error(
                "E0305", f"dialogue is not allowed {context.inside}", statement.speaker_span,
                label="outside a shot",
                help=f"put the line in a shot: shot medium {statement.speaker} {{ ... }}"))
            return
        if isinstance(statement, ast.Import | ast.Include | ast.Let):
            span = statement.span
            self.report(error(
                "E0106", f"'{statement.kind}' is not allowed {context.inside}", span,
                label="not at the top level",
                help=f"move the {statement.kind} to the top level of the file"))
            return
        name = statement.name
        homes = schema.HOME.get(name)
        if homes and context.where not in homes:
            places = homes[0] if len(homes) == 1 else ", ".join(homes[:-1]) + " or " + homes[-1]
            self.report(error(
                "E0106", f"'{name}' is not allowed {context.inside}", statement.name_span,
                label="misplaced", help=f"'{name}' belongs in {places}"))
            return
        hint = did_you_mean(name, list(context.props))
        known = ", ".join(sorted(context.props))
        self.report(error(
            "E0101", f"unknown statement '{name}' {context.inside}", statement.name_span,
            label="unknown", help=hint or f"{context.where} takes: {known}",
            fixes=[fix_to(statement.name_span, name, list(context.props))]))

    def bind(self, statement: ast.Statement, context: Context) -> Bound | None:
        """Bind a property or block to its schema entry; None if it has none here."""
        if not isinstance(statement, ast.Property | ast.Block):
            self.misplaced(statement, context)
            return None
        prop = context.props.get(statement.name)
        if prop is None:
            self.misplaced(statement, context)
            return None
        if isinstance(statement, ast.Block) and prop.block is None:
            self.report(error(
                "E0106", f"'{prop.name}' does not take a block", statement.name_span,
                label="no { } here",
                help=f"write it on one line: {prop.name} {_example(prop)}"))
            return None
        bound = Bound(prop=prop, statement=statement)
        self._positional(bound)
        self._keywords(bound)
        return bound

    def _positional(self, bound: Bound) -> None:
        statement, prop = bound.statement, bound.prop
        values = statement.args
        params = prop.args
        for index, param in enumerate(params):
            if index >= len(values):
                if param.required:
                    bound.ok = False
                    self.report(error(
                        "E0203", f"'{prop.name}' needs {_needs(param)}", statement.name_span,
                        label="missing a value", help=f"write: {prop.name} {_example(prop)}"))
                bound.args.append(None)
                continue
            bound.args.append(self.value(values[index], param, bound, prop.name))
        if len(values) > len(params):
            extra = values[len(params)]
            bound.ok = False
            if not params:
                message = f"'{prop.name}' takes no values"
            else:
                count = len(params)
                message = f"'{prop.name}' takes {count} value{'s' if count > 1 else ''}, " \
                          f"found {len(values)}"
            help = ""
            if any(isinstance(v, ast.StringValue) for v in values[len(params):]):
                help = "several words of text go in one pair of quotes"
            elif prop.kwargs:
                help = "other settings are written key=value: " + " ".join(
                    f"{p.name}=..." for p in prop.kwargs)
            self.report(error("E0203", message, extra.span.cover(values[-1].span),
                              label="too many values", help=help))

    def _keywords(self, bound: Bound) -> None:
        seen: dict[str, ast.KwArg] = {}
        for kw in bound.statement.kwargs:
            param = bound.prop.kwarg(kw.name)
            if param is None:
                bound.ok = False
                names = [p.name for p in bound.prop.kwargs]
                hint = did_you_mean(kw.name, names)
                if names:
                    takes = f"'{bound.name}' takes " + ", ".join(f"{n}=" for n in names)
                    help = f"{hint}\n{takes}" if hint else takes
                else:
                    help = f"'{bound.name}' takes no key=value arguments"
                self.report(error("E0108", f"'{bound.name}' has no argument '{kw.name}'",
                                  kw.name_span, label="unknown argument", help=help,
                                  fixes=[fix_to(kw.name_span, kw.name, names)]))
                continue
            if kw.name in seen:
                bound.ok = False
                self.report(error("E0107", f"'{kw.name}=' is given twice", kw.name_span,
                                  label="again here", help="keep one of them"))
                continue
            seen[kw.name] = kw
            bound.kwargs[kw.name] = self.value(kw.value, param, bound, kw.name)

    def value(self, value: ast.Value, param: Param, bound: Bound | None, name: str) -> Python:
        try:
            return coerce(value, param, self.lets, prop=name)
        except Invalid as exc:
            if bound is not None:
                bound.ok = False
            self.report(exc.diagnostic)
            return None


def _needs(param: Param) -> str:
    return {
        "string": "a string", "number": "a number", "int": "a whole number",
        "duration": "a duration like 4s", "size": "a size like 1280x720",
        "enum": "one of " + ", ".join(param.choices), "color": 'a colour like "#e0a030"',
        "path": "a file path in quotes", "string_or_none": "a string or none",
        "name": "a name", "key": "a key",
    }.get(param.kind, param.kind)


_EXAMPLES = {
    "string": '"..."', "number": "1", "int": "1", "duration": "2s", "size": "1280x720",
    "color": '"#e0a030"', "path": '"images/ref.png"', "string_or_none": '"..."',
    "name": "NAME", "key": '"D minor"',
}


def _example(prop: Prop) -> str:
    parts = []
    for param in prop.args:
        if param.kind == "enum":
            parts.append(param.choices[0])
        elif param.kind in ("number", "int") and param.min is not None:
            parts.append(f"{int(param.min) if param.min >= 1 else 1}")
        else:
            parts.append(_EXAMPLES.get(param.kind, param.name))
    return " ".join(parts)
