"""What a template may spend, and the checks that keep it to that before work is done.

The limits of one rendering of a prompt template (`MAX_*`), the `Budget` that counts its
steps, CPU time and the characters and items it makes, and the errors for going over. The
checks measure values without making them: `measure` gives the length of a value as text (and
refuses anything that is not data), `count_items` the items of a list through its nested
lists; `check_printf`, `format_size` (for `sandbox.BoundedFormatter`), `check_str_call` and
`check_binop` refuse a `%` format, a `str.format` field, a method call or an operator whose
result would be over its size. `sandbox.py` calls them from the environment's hooks.
"""

from __future__ import annotations

import re
import time
import types
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro, Undefined


class Host(Protocol):
    """What the checks need of the environment (`sandbox.Sandbox`): the film's record type,
    the running budget, and its guarded iteration."""

    record: type[Any]

    @property
    def budget(self) -> Budget: ...

    def guard_iter(self, iterable: Any) -> Iterator[Any]: ...


MAX_TEXT = 20_000
"""Characters of any one text a template makes, and of a rendered prompt."""
MAX_ITEMS = 20_000
"""Items of any one list or dict a template makes, counting the items of nested lists."""
MAX_INT_BITS = 1024
"""Bits of any whole number a template makes (about 308 digits)."""
MAX_POWER = 64
"""The largest exponent of `**`."""
MAX_RANGE = 1_000
"""Items of a `range()`."""
MAX_DEPTH = 32
"""Nesting of brackets and blocks in a template, of the values it makes, and of its calls."""
MAX_LOOPS = 16
"""Nesting of `for` loops (Python's own limit on nested blocks is 20)."""
MAX_OPS = 200_000
"""Operations (loop iterations, calls, lookups, operators, filters) of one rendering."""
MAX_ALLOC = 16_000_000
"""Characters and list items that one rendering may make, all together."""
MAX_SECONDS = 0.5
"""CPU seconds of one rendering: the backstop for work that the counts above miss."""
HEAVY_SECONDS = 0.01
"""A rendering that takes more CPU than this is heavy (a prompt takes some microseconds)."""
MAX_HEAVY_SECONDS = 4.0
"""CPU seconds all the heavy renderings of one check may take together; past it, each
rendering has `HEAVY_SECONDS`, so that a film of many costly templates still checks fast."""
MAX_AST_DEPTH = 96
"""Depth of a compiled template's syntax tree (expressions such as a+a+a+... nest too)."""


class OverBudget(SecurityError):
    """A template did too much work, made too much, or nested too deeply."""


class TooLarge(SecurityError):
    """A template would make one value over its size limit."""


class NotData(SecurityError):
    """A template would turn a non-data value (a function, an object) into text."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"this template prints {kind}, which is not text")
        self.kind = kind


class Budget:
    """What one rendering may still spend; every check point calls `tick`."""

    __slots__ = ("alloc", "clock", "deadline", "depth", "ops", "seconds")

    def __init__(self, seconds: float = MAX_SECONDS) -> None:
        self.ops = 0
        self.alloc = 0
        self.depth = 0
        self.clock = 256
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds

    def tick(self, n: int = 1) -> None:
        self.ops += n
        if self.ops > MAX_OPS:
            raise OverBudget(f"this template does too much work (more than {MAX_OPS:,} "
                             "steps)")
        if self.ops >= self.clock:
            self.clock = self.ops + 256
            if time.thread_time() > self.deadline:
                raise OverBudget(f"this template takes too long (more than {self.seconds:g} "
                                 "s of CPU)")

    def charge(self, units: int) -> None:
        self.alloc += units
        if self.alloc > MAX_ALLOC:
            raise OverBudget(f"this template makes too much text (more than {MAX_ALLOC:,} "
                             "characters and items in all)")
        self.tick(1 + units // 1024)


def too_long(size: int) -> TooLarge:
    return TooLarge(f"that makes a text of {size:,} characters; a template's texts are at "
                    f"most {MAX_TEXT:,}")


def too_many(size: int) -> TooLarge:
    return TooLarge(f"that makes a list of {size:,} items; a template's lists are at most "
                    f"{MAX_ITEMS:,}")


def too_big() -> TooLarge:
    return TooLarge(f"that makes a number of more than {MAX_INT_BITS} bits; a template's "
                    f"numbers are at most 2**{MAX_INT_BITS}")


def too_deep(what: str) -> OverBudget:
    return OverBudget(f"this template's {what} nest more than {MAX_DEPTH} deep")


def weight(values: Iterable[Any]) -> int:
    """How much work touching these values is likely to be, in steps."""
    total = 0
    for value in values:
        if isinstance(value, str | list | tuple | dict):
            total += len(value) // 4
    return total


def _kind(value: Any) -> str:
    """What a non-data value is, in a writer's words."""
    if isinstance(value, Macro):
        return "a macro (call it: name())"
    if isinstance(value, LoopContext):
        return "the loop object"
    if isinstance(value, types.ModuleType):
        return "a module"
    if isinstance(value, type):
        return "a type"
    if callable(value):
        return "a function or method (call it with ())"
    if isinstance(value, Iterator | range) or type(value).__name__.startswith("dict_"):
        return "a sequence that is not a list yet (add | list)"
    return f"a {type(value).__name__} object"


_LEAVES: tuple[type, ...] = (str, bool, int, float, type(None))


def measure(value: Any, record: type, base: int = 0) -> int:
    """`base` plus the length of `value` as text, without making the text (about: in a
    list, a text's quotes and commas count too); raises for non-data and at `MAX_TEXT`.

    Data is text, numbers, true/false/none, records and lists, tuples and dicts of those.
    An undefined name inside a list raises its own error here.
    """
    total = base
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += len(item) + (4 if depth else 0)
        elif isinstance(item, bool | float | type(None)):
            total += 8
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, record):
            total += len(str(item)) + (2 if depth else 0)
        elif isinstance(item, list | tuple | dict):
            if depth >= MAX_DEPTH:
                raise too_deep("lists")
            total += 2
            children = list(item.items()) if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, Undefined):
            item._fail_with_undefined_error()
        else:
            raise NotData(_kind(item))
        if total > MAX_TEXT:
            raise too_long(total)
    return total


def count_items(value: Any) -> int:
    """Items in a list, tuple or dict, counting those of nested ones (shared ones each time)."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | tuple | dict):
            if depth >= MAX_DEPTH:
                raise too_deep("lists")
            total += len(item)
            if total > MAX_ITEMS:
                raise too_many(total)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, list | tuple | dict))
    return total


# ---------------------------------------------------------------- methods and text formats

# The methods a template may call, by type: reading, searching and making text, never
# changing a value, encoding it or making one of unbounded size.
_STR_METHODS = frozenset((
    "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index",
    "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
    "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
    "swapcase", "title", "upper", "zfill",
))
METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset(("get", "items", "keys", "values", "copy"))),
    (list, frozenset(("count", "index", "copy"))),
    (tuple, frozenset(("count", "index"))),
    (range, frozenset(("count", "index"))),
    (bool, frozenset()),
    (int, frozenset(("bit_length", "conjugate"))),
    (float, frozenset(("is_integer", "conjugate"))),
)

_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[a-zA-Z%]?")


def _number(digits: str) -> int:
    return int(digits) if len(digits) < 9 else MAX_TEXT + 1


def check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_TEXT:
        raise too_long(width)


def format_size(record: type[Any], value: Any, format_spec: str, total: int) -> int:
    """How many characters a `str.format` field adds to the `total` made so far, checked
    before it is formatted."""
    size = measure(value, record, total) - total
    spec = _FORMAT_SPEC.fullmatch(format_spec)
    if spec is None:
        raise TooLarge(f"'{format_spec[:20]}' is not a format this template may use")
    for digits in (spec[1], spec[2]):
        size += _number(digits) if digits else 0
    if total + size > MAX_TEXT:
        raise too_long(total + size)
    return size


def check_printf(env: Host, fmt: str, args: Any) -> None:
    """Refuse a `%` format whose widths or values would make too long a text."""
    size = len(fmt)
    star = False
    for found in _PRINTF.finditer(fmt):
        for digits in (found[1], found[2]):
            if digits == "*":
                star = True
            elif digits:
                size += _number(digits)
    values = list(args.values()) if isinstance(args, dict) else (
        list(args) if isinstance(args, tuple) else [args])
    for value in values:
        if star and isinstance(value, int):
            size += abs(value)
        size = measure(value, env.record, size)
    if size > MAX_TEXT:
        raise too_long(size)


def check_str_call(env: Host, text: str, name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check a call of a `str` method before it runs; gives the arguments to call with."""
    if name in ("center", "ljust", "rjust", "zfill"):
        check_width(args[0] if args else kwargs.get("width"))
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            times = len(text) + 1 if not old else text.count(old)
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                times = min(times, args[2])
            size = len(text) + times * len(new)
            if size > MAX_TEXT:
                raise too_long(size)
    elif name == "join" and args:
        items = list(env.guard_iter(args[0]))
        size = sum(len(item) if isinstance(item, str) else 0 for item in items)
        size += len(text) * max(0, len(items) - 1)
        if size > MAX_TEXT:
            raise too_long(size)
        return (items, *args[1:])
    return args


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def check_binop(env: Host, op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before it is computed."""
    if op == "**":
        if isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise TooLarge(f"powers above {MAX_POWER} are not allowed in templates")
        if isinstance(left, int) and isinstance(right, int) and right > 0 \
                and _bits(left) * right > MAX_INT_BITS:
            raise too_big()
    elif op == "*":
        if isinstance(left, int) and isinstance(right, int):
            if _bits(left) + _bits(right) > MAX_INT_BITS:
                raise too_big()
            return
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                size = len(seq) * times
                if isinstance(seq, str) and size > MAX_TEXT:
                    raise too_long(size)
                if not isinstance(seq, str) and size > MAX_ITEMS:
                    raise too_many(size)
    elif op == "+":
        if isinstance(left, str) and isinstance(right, str) and len(left) + len(right) > MAX_TEXT:
            raise too_long(len(left) + len(right))
        if isinstance(left, list | tuple) and isinstance(right, list | tuple) \
                and len(left) + len(right) > MAX_ITEMS:
            raise too_many(len(left) + len(right))
    elif op == "%" and isinstance(left, str):
        check_printf(env, left, right)
