"""Values: an AST value and the `Param` it fills in, to a Python value or a diagnostic.

A NAME in value position is a keyword of the parameter when it is one of its choices,
else a reference to a `let` constant, whose value is then checked in its place. Errors
point at the use; a note points at the `let` when the constant's value is what is wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from filmlang.diagnostics import Diagnostic, Fix, Label, error, replace_with
from filmlang.semantic.files import is_file_name
from filmlang.semantic.schema import Param
from filmlang.source import Span
from filmlang.syntax import ast

Python = str | float | int | tuple[int, int] | None | list[Any]

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_KEY = re.compile(
    r"(?P<note>[A-Ga-g])(?P<acc>#|b|♯|♭)?\s*(?P<mode>m|min|minor|maj|major|M)?",
)


class Invalid(Exception):
    """A value that cannot fill its parameter; the diagnostic says why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def suggest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest candidate, case-insensitively first, for 'did you mean'."""
    if not candidates:
        return None
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if found:
        return found[0]
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def printable(text: str, limit: int = 60) -> str:
    """`text` for a message: control characters escaped, and cut at `limit` characters."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit + 1])
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...] | set[str],
                 *, quote: str = "'") -> str:
    best = suggest(word, candidates)
    return f"did you mean {quote}{best}{quote}?" if best else ""


def resolve_let(value: ast.NameValue, lets: dict[str, ast.Let]) -> ast.Value:
    """A let constant's value where it is used (a shot's head), placed at the use."""
    seen: set[str] = set()
    resolved: ast.Value = value
    while isinstance(resolved, ast.NameValue) and resolved.name in lets \
            and resolved.name not in seen:
        seen.add(resolved.name)
        resolved = lets[resolved.name].value
    return resolved.model_copy(update={"span": value.span})


def fix_to(span: Span, word: str, candidates: list[str] | tuple[str, ...] | set[str],
           *, quote: str = "") -> Fix | None:
    """The "did you mean" of `did_you_mean` as an edit of `span` (None without one)."""
    best = suggest(word, candidates)
    return replace_with(span, f"{quote}{best}{quote}") if best else None


def choices_text(choices: tuple[str, ...]) -> str:
    if not choices:
        return "nothing"
    if len(choices) == 1:
        return choices[0]
    return ", ".join(choices[:-1]) + " or " + choices[-1]


@dataclass
class Lets:
    """The `let` constants of a build: name -> the AST value and where it was defined."""

    values: dict[str, ast.Let]

    def find(self, name: str) -> ast.Let | None:
        return self.values.get(name)


Coercer = Callable[[ast.Value, Param, Lets], Python]


def coerce(value: ast.Value, param: Param, lets: Lets, *, prop: str = "") -> Python:
    """The Python value of `value` for `param`; raises `Invalid`."""
    return _coerce(value, param, lets, prop or param.name, set())


def _coerce(value: ast.Value, param: Param, lets: Lets, prop: str, seen: set[str]) -> Python:
    if isinstance(value, ast.NameValue) and not _keyword_ok(value.name, param):
        let = lets.find(value.name)
        if let is None:
            raise Invalid(_unknown_name(value, param, lets, prop))
        if value.name in seen:
            raise Invalid(error("E0109", f"'{value.name}' is defined in terms of itself",
                                value.span))
        try:
            return _coerce(let.value, param, lets, prop, seen | {value.name})
        except Invalid as exc:
            inner = exc.diagnostic
            if inner.span == let.value.span:
                # The constant's value is wrong for this use: say so at the use.
                raise Invalid(inner.model_copy(update={
                    "span": value.span,
                    "message": inner.message + f" (the value of '{value.name}')",
                    "notes": (*inner.notes, Label(span=let.span,
                                                  message=f"'{value.name}' is defined here")),
                })) from None
            raise
    return COERCERS[param.kind](value, param, lets)


def _keyword_ok(name: str, param: Param) -> bool:
    if param.kind in ("enum", "name"):
        return param.kind == "name" or name in param.choices
    if param.kind in ("string_or_none", "name_or_none"):
        return name == "none"
    return param.kind == "key" and _KEY.fullmatch(name) is not None


def _unknown_name(value: ast.NameValue, param: Param, lets: Lets, prop: str) -> Diagnostic:
    name = value.name
    if param.kind == "enum":
        hint = did_you_mean(name, param.choices)
        return error("E0204", f"'{name}' is not one of the words '{prop}' takes", value.span,
                     label="not allowed here", fixes=[fix_to(value.span, name, param.choices)],
                     help=(hint + "\n" if hint else "")
                     + f"'{prop}' takes {choices_text(param.choices)}")
    hint = did_you_mean(name, list(lets.values))
    fix = fix_to(value.span, name, list(lets.values))
    if param.kind in ("string", "string_or_none", "path", "color"):
        help = hint or f'text is written in double quotes: "{name}"'
        if param.kind == "string_or_none" and not hint:
            help += ", or none for no " + prop
        quoted = replace_with(value.span, f'"{name}"', f'Write "{name}" (text)')
        return error("E0103", f"unknown name '{name}'", value.span,
                     label="not a let constant", help=help, fixes=[fix or quoted])
    return error("E0103", f"unknown name '{name}'", value.span, label="not a let constant",
                 help=hint or f"'{prop}' takes {_describe(param)}", fixes=[fix])


def _describe(param: Param) -> str:
    if param.describe:
        return param.describe
    if param.kind == "enum":
        return choices_text(param.choices)
    return _DESCRIPTIONS.get(param.kind, param.kind)


_DESCRIPTIONS = {
    "string": "a string", "number": "a number", "int": "a whole number",
    "duration": "a duration like 4s or 500ms", "size": "a size like 1280x720",
    "color": 'a colour like "#e0a030"', "key": 'a key like "D minor" or "F#"',
    "path": "a file path in quotes", "string_or_none": "a string or none", "name": "a name",
}


def _wrong_type(value: ast.Value, param: Param, help: str = "") -> Invalid:
    found = ast.VALUE_WORDS.get(value.kind, value.kind)
    return Invalid(error("E0201", f"expected {_describe(param)}, found {found}", value.span,
                         label=f"'{param.name}' needs {_describe(param)}", help=help))


def _range(number: float, value: ast.Value, param: Param) -> None:
    low, high = param.min, param.max
    too_low = low is not None and (number <= low if param.min_exclusive else number < low)
    too_high = high is not None and number > high
    if not (too_low or too_high):
        return
    raw = shown(getattr(value, "raw", str(number)))
    unit = "s" if param.kind == "duration" else ""
    if low is not None and high is not None:
        allowed = (f"more than {_fmt(low)}{unit} and at most {_fmt(high)}{unit}"
                   if param.min_exclusive else f"from {_fmt(low)}{unit} to {_fmt(high)}{unit}")
    elif low is not None:
        allowed = f"more than {_fmt(low)}" if param.min_exclusive else f"at least {_fmt(low)}"
    else:
        allowed = f"at most {_fmt(high or 0)}"
    raise Invalid(error("E0202", f"'{param.name}' must be {allowed}, not {raw}", value.span,
                        label="out of range"))


def shown(raw: str, limit: int = 24) -> str:
    """A value's text for a message: a number of 400 digits is shown by its first ones."""
    return raw if len(raw) <= limit else f"{raw[:limit - 3]}... ({len(raw)} characters)"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _string(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.StringValue):
        if param.choices and value.value not in param.choices and not (
                param.files and is_file_name(value.value)):
            hint = did_you_mean(value.value, param.choices, quote='"')
            raise Invalid(error(
                "E0204", f'unknown {param.name} "{value.value}"', value.span,
                fixes=[fix_to(value.span, value.value, param.choices, quote='"')],
                label="unknown", help=(hint + "\n" if hint else "")
                + f"known: {choices_text(param.choices)}"
                + (', or a file like "sounds/gull.wav"' if param.files else "")))
        return value.value
    if isinstance(value, ast.NumberValue | ast.DurationValue | ast.SizeValue):
        raise _wrong_type(value, param, help=f'put it in quotes: "{value.raw}"')
    raise _wrong_type(value, param)


def _string_or_none(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.NameValue) and value.name == "none":
        return None
    return _string(value, param, lets)


def _number(value: ast.Value, param: Param, lets: Lets) -> Python:
    if not isinstance(value, ast.NumberValue):
        help = ""
        if isinstance(value, ast.StringValue):
            help = "write the number without quotes"
        elif isinstance(value, ast.DurationValue):
            help = "write the number without a unit"
        raise _wrong_type(value, param, help)
    _range(value.value, value, param)
    return value.value


def _int(value: ast.Value, param: Param, lets: Lets) -> Python:
    number = _number(value, param, lets)
    assert isinstance(number, float)
    if not number.is_integer():
        raise Invalid(error("E0201", f"'{param.name}' must be a whole number, not {number:g}",
                            value.span, label="not a whole number"))
    return int(number)


def _duration(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.NumberValue):
        raise _wrong_type(value, param, help=f"give it a unit: {value.raw}s, or "
                                             f"{value.raw}ms for milliseconds")
    if not isinstance(value, ast.DurationValue):
        raise _wrong_type(value, param)
    _range(value.seconds, value, param)
    return value.seconds


def _size(value: ast.Value, param: Param, lets: Lets) -> Python:
    if not isinstance(value, ast.SizeValue):
        raise _wrong_type(value, param)
    digits = value.raw.split("x")
    for side, what, written in ((value.width, "width", digits[0]),
                                (value.height, "height", digits[-1])):
        if side < 16 or side > 8192:
            raise Invalid(error("E0202", f"the {what} must be from 16 to 8192, not "
                                f"{shown(written)}", value.span, label="out of range"))
        if side % 2:
            raise Invalid(error("E0202", f"the {what} must be even, not {side}", value.span,
                                label="odd", help="H.264 video needs even sizes: try "
                                f"{value.width + value.width % 2}x"
                                f"{value.height + value.height % 2}"))
    return (value.width, value.height)


def _enum(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.NameValue):
        return value.name
    help = f"'{param.name}' takes {choices_text(param.choices)}"
    if isinstance(value, ast.StringValue) and value.value in param.choices:
        help = f"write it without quotes: {value.value}"
    raise _wrong_type(value, param, help)


def _name(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.NameValue):
        return value.name
    raise _wrong_type(value, param)


def _color(value: ast.Value, param: Param, lets: Lets) -> Python:
    text = _string(value, param, lets)
    assert isinstance(text, str)
    if not _COLOR.fullmatch(text):
        raise Invalid(error("E0205", f'"{text}" is not a colour', value.span,
                            label="expected #rrggbb",
                            help='write colours as "#" and six hex digits, like "#e0a030"'))
    return text.lower()


def _key(value: ast.Value, param: Param, lets: Lets) -> Python:
    if isinstance(value, ast.NameValue):
        text = value.name
    elif isinstance(value, ast.StringValue):
        text = value.value.strip()
    else:
        raise _wrong_type(value, param)
    match = _KEY.fullmatch(text)
    if not match:
        raise Invalid(error("E0205", f"'{text}' is not a musical key", value.span,
                            label="unknown key",
                            help='write a key like "C", "F#", "Bb minor" or "Am"'))
    note = match["note"].upper() + {"♯": "#", "♭": "b"}.get(match["acc"] or "", match["acc"] or "")
    minor = (match["mode"] or "") in ("m", "min", "minor")
    return f"{note} {'minor' if minor else 'major'}"


COERCERS: dict[str, Coercer] = {
    "string": _string,
    "path": _string,
    "string_or_none": _string_or_none,
    "number": _number,
    "int": _int,
    "duration": _duration,
    "size": _size,
    "enum": _enum,
    "name": _name,
    "color": _color,
    "key": _key,
}


def out_of_range(value: ast.Value, limit: float) -> ast.NumberValue | None:
    """The first number in `value` (a list's items too) of magnitude over `limit`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.NumberValue) and not abs(item.value) <= limit:
            return item
        if isinstance(item, ast.ListValue):
            stack.extend(reversed(item.items))
    return None


def literal(value: ast.Value) -> Any:
    """A value as a plain Python value, for templates (`{{ coast }}`)."""
    if isinstance(value, ast.StringValue):
        return value.value
    if isinstance(value, ast.NumberValue):
        # The digits as written, exactly; a number too large for that (reported by the
        # checker, `out_of_range`) stays the float the parser made.
        if value.is_int and len(value.raw) <= 18:
            return int(value.raw)
        return value.value
    if isinstance(value, ast.ListValue):
        return [literal(item) for item in value.items]
    if isinstance(value, ast.NameValue):
        return value.name
    return value.raw

