"""Prompt templates: a STRING and its context in, the rendered text or a diagnostic out.

Every string that feeds a visual prompt is a Jinja2 template (spec section 6), rendered at
check time in an immutable sandbox: no attribute of Python's internals, no loader (so no
file is ever read), no unbounded ranges or giant strings. Undefined names are errors.
Templates compile once per distinct text; text with no `{` skips Jinja. Whitespace runs
(the line breaks of a triple-quoted string) become single spaces: a prompt is one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from filmlang.diagnostics import Diagnostic, error
from filmlang.semantic.values import did_you_mean
from filmlang.source import Span

_MAX_OUTPUT = 20_000
_MAX_RANGE = 1_000


class Obj:
    """A read-only record for templates: `scene.name`; prints as its text.

    `label` names it in messages: `'scene' has no 'nme'`.
    """

    __slots__ = ("_fields", "_label", "_text")

    def __init__(self, label: str, text: str, **fields: Any) -> None:
        self._fields = fields
        self._label = label
        self._text = text

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        # Lists of records print their items' text, never a memory address.
        return self._text

    def __iter__(self) -> Any:
        return iter(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def keys(self) -> list[str]:
        return list(self._fields)


# Names of Obj's own (methods, slots): a field with one of these names is not what
# `obj.name` finds, so the sandbox's quick path for fields leaves them to the general one.
_OBJ_NAMES = frozenset(dir(Obj))


class TemplateProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class Templates:
    """Compiles and renders prompt templates; one per check."""

    def __init__(self) -> None:
        self._env: Any = None
        self._compiled: dict[str, Any] = {}
        self._failed: dict[str, Exception] = {}

    def _environment(self) -> Any:
        if self._env is None:
            self._env = _make_environment()
        return self._env

    def render(self, text: str, context: Mapping[str, Any], span: Span) -> str:
        """Render `text`; raises `TemplateProblem` with a diagnostic at `span`."""
        if "{" not in text:
            return " ".join(text.split())
        from jinja2 import TemplateSyntaxError

        template = self._compiled.get(text)
        if template is None:
            if text in self._failed:
                raise TemplateProblem(_diagnose(self._failed[text], text, span, context))
            try:
                template = self._environment().from_string(text)
            except TemplateSyntaxError as exc:
                self._failed[text] = exc
                raise TemplateProblem(_diagnose(exc, text, span, context)) from None
            self._compiled[text] = template
        try:
            out: str = template.render(context)
        except Exception as exc:  # a template may raise anything Jinja raises
            raise TemplateProblem(_diagnose(exc, text, span, context)) from None
        if len(out) > _MAX_OUTPUT:
            raise TemplateProblem(error("E0503", "this template's text is too long", span,
                                        help=f"a prompt is at most {_MAX_OUTPUT} characters"))
        return " ".join(out.split())


def _make_environment() -> Any:
    from jinja2 import StrictUndefined

    class Undefined(StrictUndefined):
        """Names what was asked of what, in the writer's words."""

        __slots__ = ()

        @property
        def _undefined_message(self) -> str:
            owner = self._undefined_obj
            name = str(self._undefined_name)
            if self._undefined_hint or name.startswith("_"):
                return f"'{name}' belongs to Python's internals"
            if isinstance(owner, Obj):
                fields = owner.keys()
                hint = did_you_mean(name, fields)
                return f"'{owner._label}' has no '{name}'" + (
                    f"; {hint}" if hint else f"; it has {', '.join(fields)}")
            if isinstance(owner, dict) and name not in owner:
                hint = did_you_mean(name, [str(k) for k in owner])
                return f"there is no '{name}' here" + (f"; {hint}" if hint else "")
            message: str = super()._undefined_message
            return message
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def getattr(self, obj: Any, attribute: str) -> Any:
            # A record's field (`scene.setting`, the most common lookup): what the general
            # path returns for it, without its safety checks (a field is never internal).
            if type(obj) is Obj and attribute in obj._fields and attribute not in _OBJ_NAMES:
                return obj._fields[attribute]
            return super().getattr(obj, attribute)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("powers above 64 are not allowed in templates")
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, str | list | tuple) and isinstance(n, int) \
                            and len(seq) * n > _MAX_OUTPUT:
                        raise SecurityError("that repetition makes too long a text")
            return super().call_binop(context, operator, left, right)

    def safe_range(*args: int) -> range:
        r = range(*args)
        if len(r) > _MAX_RANGE:
            raise SecurityError(f"a range in a template has at most {_MAX_RANGE} items")
        return r

    env = Sandbox(undefined=Undefined, autoescape=False, keep_trailing_newline=False)
    env.globals = {"range": safe_range, "dict": dict, "lipsum": None, "cycler": None,
                   "joiner": None, "namespace": None}
    env.globals = {k: v for k, v in env.globals.items() if v is not None}
    # The same source gives the same film: no filter may give another text each time.
    del env.filters["random"]
    return env


_UNDEFINED = re.compile(r"'([^']+)' is undefined")
_NO_ATTR = re.compile(r"has no attribute '([^']+)'")


def _diagnose(exc: Exception, text: str, span: Span, context: Mapping[str, Any]) -> Diagnostic:
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    if isinstance(exc, TemplateSyntaxError):
        where = f" (line {exc.lineno} of the template)" if "\n" in text else ""
        return error("E0501", f"template syntax error: {exc.message}{where}", span,
                     label="in this template",
                     help="templates use {{ name }} to insert a value and "
                          "{% if ... %}...{% endif %} for logic")
    if isinstance(exc, SecurityError):
        message = str(exc)
        internals = "internals" in message or "unsafe" in message
        return error("E0503", f"this template is not allowed to do that: {message}", span,
                     label="unsafe",
                     help="templates can read the film's names (film, scene, shot, subjects, "
                          "characters and let constants), not Python's internals" if internals
                     else f"a template's text is at most {_MAX_OUTPUT} characters, and a "
                          f"range at most {_MAX_RANGE} items")
    if isinstance(exc, UndefinedError):
        message = str(exc)
        found = _UNDEFINED.search(message)
        if found:
            name = found.group(1)
            hint = did_you_mean(name, [k for k in context if not k.startswith("_")])
            names = ", ".join(sorted(context))
            return error("E0502", f"unknown name '{name}' in a template", span,
                         label="in this template",
                         help=hint or f"the names a template can use here: {names}")
        attr = _NO_ATTR.search(message)
        if attr and attr.group(1).startswith("_"):
            return error("E0503", f"this template is not allowed to read '{attr.group(1)}'",
                         span, label="unsafe",
                         help="names that start with _ are Python's internals")
        head, _, hint = message.partition("; ")
        return error("E0502", f"unknown name in a template: {head}", span,
                     label="in this template", help=hint)
    if isinstance(exc, TemplateNotFound | RuntimeError) or "loader" in str(exc):
        return error("E0503", "templates cannot include, import or extend other files", span,
                     label="unsafe", help="put the text in a let constant and use {{ name }}")
    return error("E0504", f"template error: {exc}", span, label="in this template")
