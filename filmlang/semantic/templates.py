"""Prompt templates: a STRING and its context in, the rendered text or a diagnostic out.

Every string that feeds a visual prompt is a Jinja2 template (spec section 6), rendered at
check time in an immutable sandbox (`sandbox.py`): no attribute of Python's internals, no
loader (so no file is ever read), and a budget of work, memory and nesting that is checked
before the work is done. Only data prints: never a function's or an object's text, which
would hold a memory address. Undefined names are errors.
Templates compile once per distinct text; text with no `{` skips Jinja. Whitespace runs
(the line breaks of a triple-quoted string) become single spaces: a prompt is one line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from filmlang.diagnostics import Diagnostic, error
from filmlang.semantic.values import did_you_mean
from filmlang.source import Span


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


class TemplateProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class Templates:
    """Compiles and renders prompt templates; one per check."""

    reads: set[str] | None = None
    """The language server's: the names the templates rendered use are noted here."""

    def __init__(self) -> None:
        self._env: Any = None
        self._compiled: dict[str, Any] = {}
        self._failed: dict[str, Exception] = {}
        self.heavy = 0.0
        """CPU seconds of this check's heavy renderings (`budget.MAX_HEAVY_SECONDS`)."""

    def new_check(self) -> None:
        """A check starts: the heavy renderings of the last one are forgotten, and so are the
        templates that ran over their budget then (the language server checks again and
        again, with one `Templates`)."""
        self.heavy = 0.0
        self._failed = {text: exc for text, exc in self._failed.items()
                        if not _over_budget(exc)}

    def inputs_key(self, texts: tuple[str, ...], context: Mapping[str, Any],
                   given: frozenset[str]) -> Any:
        """What rendering `texts` in `context` reads of it, but the names in `given` (the
        caller's own key holds those): equal for two contexts where the outputs are, as far
        as these templates know; None: not known (these do not; `lsp.memo.MemoTemplates`
        do)."""
        return None

    def _environment(self) -> Any:
        if self._env is None:
            self._env = _make_environment()
        return self._env

    def render(self, text: str, context: Mapping[str, Any], span: Span) -> str:
        """Render `text`; raises `TemplateProblem` with a diagnostic at `span`.

        A template that fails to compile, or runs over its budget, fails the same way
        wherever else it is used: it is not run again.
        """
        if "{" not in text:
            return " ".join(text.split())
        failed = self._failed.get(text)
        if failed is not None:
            raise TemplateProblem(_diagnose(failed, text, span, context))
        env = self._environment()
        template = self._compiled.get(text)
        if template is None:
            env.start()
            try:
                template = env.from_string(text)
            except Exception as exc:  # syntax, nesting, or the budget of constant folding
                self._failed[text] = exc
                raise TemplateProblem(_diagnose(exc, text, span, context)) from None
            self._compiled[text] = template
        from filmlang.semantic.budget import HEAVY_SECONDS, MAX_HEAVY_SECONDS, MAX_SECONDS

        seconds = min(MAX_SECONDS, max(HEAVY_SECONDS, MAX_HEAVY_SECONDS - self.heavy))
        started = time.thread_time()
        env.start(seconds)
        try:
            out: str = template.render(context)
        except Exception as exc:  # a template may raise anything Jinja raises
            if _over_budget(exc):
                self._failed[text] = exc
            raise TemplateProblem(_diagnose(exc, text, span, context)) from None
        finally:
            spent = time.thread_time() - started
            if spent > HEAVY_SECONDS:
                self.heavy += spent
        from filmlang.semantic.budget import MAX_TEXT

        if len(out) > MAX_TEXT:
            raise TemplateProblem(error(
                "E0503", f"this template's text is too long ({len(out):,} characters)", span,
                label="too long", help=f"a prompt is at most {MAX_TEXT:,} characters"))
        return " ".join(out.split())


def _over_budget(exc: Exception) -> bool:
    from filmlang.semantic.budget import OverBudget

    return isinstance(exc, OverBudget | RecursionError | MemoryError)


def _template_line(exc: BaseException) -> int | None:
    """The line of the template where `exc` was raised, from Jinja's rewritten traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _make_environment() -> Any:
    from jinja2 import StrictUndefined

    from filmlang.semantic.sandbox import make_environment

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

    return make_environment(Obj, Undefined)


_UNDEFINED = re.compile(r"'([^']+)' is undefined")
_NO_ATTR = re.compile(r"has no attribute '([^']+)'")


def _diagnose(exc: Exception, text: str, span: Span, context: Mapping[str, Any]) -> Diagnostic:
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    from filmlang.semantic.budget import (
        MAX_ALLOC,
        MAX_DEPTH,
        MAX_INT_BITS,
        MAX_ITEMS,
        MAX_OPS,
        MAX_RANGE,
        MAX_SECONDS,
        MAX_TEXT,
        NotData,
        OverBudget,
    )

    line = _template_line(exc)
    where = f" (line {line} of the template)" if line is not None and "\n" in text else ""
    if isinstance(exc, TemplateSyntaxError):
        where = f" (line {exc.lineno} of the template)" if "\n" in text else ""
        return error("E0501", f"template syntax error: {exc.message}{where}", span,
                     label="in this template",
                     help="templates use {{ name }} to insert a value and "
                          "{% if ... %}...{% endif %} for logic")
    if isinstance(exc, NotData):
        return error("E0506", f"this template prints {exc.kind}, not text{where}", span,
                     label="not text",
                     help="a template prints text, numbers, true/false/none and lists of "
                          "them; a function or an object has no text of its own (its text "
                          "would hold a memory address, another on each run)")
    if _over_budget(exc):
        message = str(exc) if isinstance(exc, OverBudget) else (
            "this template nests too deeply" if isinstance(exc, RecursionError)
            else "this template takes too much memory")
        return error("E0505", f"{message}{where}", span, label="over budget",
                     help=f"a template renders in at most {MAX_OPS:,} steps and "
                          f"{MAX_SECONDS} s of CPU, makes at most {MAX_ALLOC:,} characters in "
                          f"all and nests at most {MAX_DEPTH} deep; a prompt needs far less")
    if isinstance(exc, SecurityError):
        message = str(exc)
        internals = "internals" in message or "unsafe" in message
        return error("E0503", f"this template is not allowed to do that: {message}{where}",
                     span, label="unsafe",
                     help="templates can read the film's names (film, scene, shot, subjects, "
                          "characters and let constants), not Python's internals" if internals
                     else f"a template's texts are at most {MAX_TEXT:,} characters, its lists "
                          f"{MAX_ITEMS:,} items, its numbers {MAX_INT_BITS} bits and a range "
                          f"{MAX_RANGE:,} items")
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
    if isinstance(exc, TemplateNotFound) or "loader" in str(exc):
        return error("E0503", "templates cannot include, import or extend other files", span,
                     label="unsafe", help="put the text in a let constant and use {{ name }}")
    return error("E0504", f"template error: {exc}", span, label="in this template")
