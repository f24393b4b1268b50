"""The template sandbox: Jinja2's immutable sandbox, bounded in work, memory and nesting.

`make_environment` gives the environment that `templates.py` renders prompts in. Jinja's own
sandbox keeps a template away from Python's internals; this one also bounds what a template
can cost, and checks every size *before* the work is done, so that no template of a few
bytes can hang a check or take the machine's memory:

- every loop iteration, call, attribute lookup, operator and filter is counted against a
  budget of steps, and the thread's CPU time is checked at those points (`budget.Budget`);
- every text, list and number a template makes is measured before it is made, against the
  limits in `budget.py`, and all it makes in one rendering is counted;
- brackets, blocks, expressions and calls nest at most `MAX_DEPTH` deep;
- only data is ever turned into text: text, numbers, true/false/none, the film's records
  and lists or dicts of those. A function, a macro or any other object prints with a memory
  address in it, which would make the same source give another prompt on each run.

Methods are allowed by name (`str.upper`, `dict.items`, ...), never all of a type's.
Filters that make no sense in a prompt (HTML and JSON ones, `pprint`, `random`) are gone.
"""

from __future__ import annotations

import operator
import threading
import types
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import pass_environment, pass_eval_context

from filmlang.semantic.budget import (
    MAX_AST_DEPTH,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_LOOPS,
    MAX_RANGE,
    MAX_SECONDS,
    MAX_TEXT,
    METHODS,
    Budget,
    OverBudget,
    TooLarge,
    check_binop,
    check_printf,
    check_str_call,
    check_width,
    count_items,
    format_size,
    measure,
    too_big,
    too_deep,
    too_long,
    too_many,
    weight,
)

# ---------------------------------------------------------------- filters

# Filters that turn their value into text: it must be data.
_STRINGIFY = frozenset((
    "capitalize", "center", "escape", "e", "forceescape", "format", "indent", "lower",
    "replace", "safe", "string", "striptags", "title", "trim", "truncate", "upper",
    "wordcount", "wordwrap", "filesizeformat"))
# Filters a prompt has no use for: markup and JSON, and `pprint`, whose text holds memory
# addresses; `random` would make another prompt on each run.
_REMOVED = ("pprint", "random", "tojson", "urlize", "urlencode", "xmlattr")


def _pre_center(value: Any, width: Any = 80) -> None:
    check_width(width)


def _pre_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> None:
    if isinstance(s, str):
        step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        size = len(s) + (s.count("\n") + 2) * max(0, step)
        if size > MAX_TEXT:
            raise too_long(size)


def _pre_wordwrap(s: Any, width: Any = 79, break_long_words: bool = True,
                  wrapstring: Any = None, break_on_hyphens: bool = True) -> None:
    if isinstance(s, str):
        wrap = len(wrapstring) if isinstance(wrapstring, str) else 1
        size = len(s) + (len(s) + 1) * wrap
        if size > MAX_TEXT:
            raise too_long(size)


def _pre_replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        times = len(s) + 1 if not old else s.count(old)
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        size = len(s) + times * len(new)
        if size > MAX_TEXT:
            raise too_long(size)


def _pre_batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    if isinstance(linecount, int) and linecount > MAX_ITEMS:
        raise too_many(linecount)


def _pre_slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    if isinstance(slices, int) and slices > MAX_ITEMS:
        raise too_many(slices)


_PRECHECKS: dict[str, Callable[..., None]] = {
    "center": _pre_center, "indent": _pre_indent, "wordwrap": _pre_wordwrap,
    "replace": _pre_replace, "batch": _pre_batch, "slice": _pre_slice,
}


def _guarded_filter(env: Sandbox, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0
    pre = _PRECHECKS.get(name)
    stringify = name in _STRINGIFY

    @wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        env.constant()
        env.budget.tick(1 + weight(args[skip:]))
        if stringify and len(args) > skip:
            measure(args[skip], env.record)
        if pre is not None:
            pre(*args[skip:], **kwargs)
        return env.checked(fn(*args, **kwargs))

    return guarded


def _filter_format(env: Sandbox) -> Callable[..., Any]:
    def do_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        env.constant()
        env.budget.tick(1 + weight((value, *args)))
        if args and kwargs:
            raise TypeError("format takes either values or key=values, not both")
        text = value if isinstance(value, str) else str(value)
        if not isinstance(value, str):
            measure(value, env.record)
        values = kwargs or args
        check_printf(env, text, values)
        return env.checked(text % values)

    return do_format


def _filter_join(env: Sandbox) -> Callable[..., Any]:
    @pass_eval_context
    def do_join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> str:
        env.constant()
        env.budget.tick()
        items = list(env.guard_iter(value))
        if attribute is not None:
            getter = make_attrgetter(env, attribute)
            items = [getter(item) for item in items]
        separator = str(d)
        size = len(separator) * max(0, len(items) - 1)
        for item in items:
            size = measure(item, env.record, size)
        env.budget.charge(size)
        return separator.join(map(str, items))

    return do_join


def _filter_sum(env: Sandbox) -> Callable[..., Any]:
    @pass_environment
    def do_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        env.constant()
        items = list(env.guard_iter(iterable))
        if attribute is not None:
            getter = make_attrgetter(environment, attribute)
            items = [getter(item) for item in items]
        size = len(start) if isinstance(start, list | tuple) else 0
        for item in items:
            if isinstance(item, list | tuple):
                size += len(item)
        if size > MAX_ITEMS:
            raise too_many(size)
        env.budget.tick(len(items) * (1 + size // 64))
        total = start
        for item in items:
            total = env.call_binop(None, "+", total, item)
        return total

    return do_sum


# ---------------------------------------------------------------- the compiled code


class _Codegen(CodeGenerator):
    """Jinja's code generator, with loops, `~`, comparisons and new lists checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterables: set[int] = set()
        """The iterables of `for` loops (by id) still to be written: each is wrapped."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._iterables:
            return super().visit(node, *args, **kwargs)
        self._iterables.discard(id(node))
        self.write("environment.guard_iter(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guard_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.compare(")
        self.visit(node.expr, frame)
        for operand in node.ops:
            self.write(f", {operand.op!r}, ")
            self.visit(operand.expr, frame)
        self.write(")")

    def _made(self, node: nodes.Expr, frame: Frame, visit: Callable[..., None]) -> None:
        self.write("environment.made(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._made(node, frame, super().visit_List)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._made(node, frame, super().visit_Dict)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":
            super().visit_Tuple(node, frame)
        else:
            self._made(node, frame, super().visit_Tuple)


_CODEGEN_CLASS: Any = _Codegen  # Jinja's attribute is typed as its own class

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gteq": operator.ge,
    "lt": operator.lt, "lteq": operator.le,
    "in": lambda a, b: a in b, "notin": lambda a, b: a not in b,
}

_OPENERS = frozenset(("for", "if", "macro", "call", "filter", "with", "block", "autoescape"))


def nesting_depth(env: Any, source: str) -> tuple[int, int]:
    """The deepest nesting of brackets and blocks in a template, and of its `for` loops
    alone, from its tokens (before Jinja's recursive parser sees them)."""
    opened: list[str] = []
    deepest = loops = 0
    tag: str | None = None
    """The name of the `{% tag %}` being read; "" just after its `{%`."""
    assigns = False
    for _, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "block_begin":
            tag, assigns = "", False
            continue
        if kind == "name" and tag == "":
            tag = value
            if value in _OPENERS:
                opened.append(value)
            elif value.startswith("end") and opened:
                opened.pop()
        elif kind == "operator":
            if value in "([{":
                opened.append(value)
            elif value in ")]}" and opened:
                opened.pop()
            elif value == "=":
                assigns = True
        elif kind == "block_end":
            if tag == "set" and not assigns:
                opened.append("set")  # `{% set x %}...{% endset %}` is a block
            tag = None
        if tag == "":
            tag = None
        deepest = max(deepest, len(opened))
        if value == "for" and opened and opened[-1] == "for":
            loops = max(loops, opened.count("for"))
    return deepest, loops


def tree_depth(tree: nodes.Node) -> int:
    deepest = 0
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


class BoundedFormatter(SandboxedFormatter):
    """`str.format` with its widths, precisions and values checked before formatting."""

    def __init__(self, env: Sandbox) -> None:
        super().__init__(env)
        self.sandbox = env
        self.total = 0

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        measure(value, self.sandbox.record)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        size = format_size(self.sandbox.record, value, format_spec, self.total)
        self.total += size
        self.sandbox.budget.charge(size)
        return super().format_field(value, format_spec)


class Sandbox(ImmutableSandboxedEnvironment):
    """The environment prompts render in; `budget` is the current rendering's."""

    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))
    intercepted_unops = frozenset(("+", "-"))
    code_generator_class = _CODEGEN_CLASS

    def __init__(self, record: type[Any], **options: Any) -> None:
        super().__init__(**options)
        self.record = record
        self._local = threading.local()
        self.finalize = self._finalize

    @property
    def budget(self) -> Budget:
        budget: Budget | None = getattr(self._local, "budget", None)
        if budget is None:
            budget = self._local.budget = Budget()
        return budget

    def start(self, seconds: float = MAX_SECONDS) -> Budget:
        """A new budget for the next compile or rendering in this thread."""
        budget = self._local.budget = Budget(seconds)
        return budget

    @property
    def compiling(self) -> bool:
        return bool(getattr(self._local, "compiling", False))

    def constant(self) -> None:
        """While compiling, refuse to work out a value ahead of time.

        Jinja folds constant expressions when it compiles, calling lookups and filters and
        turning the results into text without `finalize`: `''.join ~ ''` would fold to the
        text of a method, memory address and all. Refused, they are left to run, checked.
        """
        if self.compiling:
            raise nodes.Impossible()

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self._local.compiling = True
        try:
            return super()._generate(*args, **kwargs)
        finally:
            self._local.compiling = False

    # -- parsing: nesting is checked before Jinja's recursive parser sees it
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        depth, loops = nesting_depth(self, source)
        if depth > MAX_DEPTH:
            raise too_deep("brackets and blocks")
        if loops > MAX_LOOPS:
            raise OverBudget(f"this template's loops nest more than {MAX_LOOPS} deep")
        tree = super()._parse(source, name, filename)
        if tree_depth(tree) > MAX_AST_DEPTH:
            raise OverBudget(f"this template's expressions nest too deeply (more than "
                             f"{MAX_AST_DEPTH} levels)")
        return tree

    # -- values
    def checked(self, value: Any) -> Any:
        """`value`, after checking its size and paying for it."""
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise too_long(len(value))
            self.budget.charge(len(value))
        elif isinstance(value, list | tuple | dict):
            self.budget.charge(count_items(value))
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise too_big()
        return value

    def made(self, value: Any) -> Any:
        self.budget.tick()
        return self.checked(value)

    def guard_iter(self, iterable: Any) -> Iterator[Any]:
        budget = self.budget
        for item in iterable:
            budget.tick()
            yield item

    def guard_concat(self, pieces: tuple[Any, ...]) -> str:
        size = 0
        for piece in pieces:
            size = measure(piece, self.record, size)
        self.budget.charge(size)
        return "".join(map(str, pieces))

    def compare(self, left: Any, *rest: Any) -> Any:
        result: Any = True
        for index in range(0, len(rest), 2):
            right = rest[index + 1]
            self.budget.tick(1 + weight((left, right)))
            result = _COMPARE[rest[index]](left, right)
            if not result:
                return result
            left = right
        return result

    def _finalize(self, value: Any) -> Any:
        if isinstance(value, Undefined):
            return value  # printing it raises the undefined-name error
        self.budget.charge(measure(value, self.record))
        return value

    # -- lookups, calls and operators
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if not callable(value):
            return True
        for kind, names in METHODS:
            if isinstance(obj, kind):
                return attr in names
        return isinstance(obj, LoopContext | self.record)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.constant()
        self.budget.tick()
        # A record's field (`scene.setting`, the most common lookup): what the general
        # path returns for it, without its safety checks (a field is never internal).
        fields = obj._fields if type(obj) is self.record else None
        if fields is not None and attribute in fields and attribute not in self._record_names:
            return fields[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.constant()
        self.budget.tick()
        value = super().getitem(obj, argument)
        return self.checked(value) if isinstance(argument, slice) else value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) \
                or value.__name__ not in ("format", "format_map") \
                or not isinstance(value.__self__, str):
            return None
        text: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            positional: tuple[Any, ...] = args
            named: Any = kwargs
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                positional, named = (), args[0]
            self.budget.tick(1 + weight((text, *positional)))
            out: str = BoundedFormatter(self).vformat(text, positional, named)
            return str(self.checked(out))

        return bounded_format

    def call(__self, __context: Any, __obj: Any,
             *args: Any, **kwargs: Any) -> Any:
        budget = __self.budget
        owner = getattr(__obj, "__self__", None)
        budget.tick(1 + weight((owner, *args)))
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType):
            args = check_str_call(__self, owner, __obj.__name__, args, kwargs)
        elif isinstance(__obj, LoopContext) and args:
            args = (__self.guard_iter(args[0]), *args[1:])  # a recursive loop's next level
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise too_deep("calls")
            out = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return __self.checked(out)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.budget.tick(1 + weight((left, right)))
        check_binop(self, operator, left, right)
        return self.checked(self.binop_table[operator](left, right))

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        self.budget.tick()
        return self.unop_table[operator](arg)

    _record_names: frozenset[str] = frozenset()


def make_environment(record: type[Any], undefined: type[Undefined]) -> Sandbox:
    """The sandbox for prompts; `record` is the type of the film's records (`Obj`)."""
    env = Sandbox(record, undefined=undefined, autoescape=False, keep_trailing_newline=False)
    env._record_names = frozenset(dir(record))
    env.globals = {"range": _safe_range(env), "dict": dict}
    for name in _REMOVED:
        env.filters.pop(name, None)
    guarded = {name: _guarded_filter(env, name, fn) for name, fn in env.filters.items()}
    guarded["format"] = _filter_format(env)
    guarded["join"] = _filter_join(env)
    guarded["sum"] = _filter_sum(env)
    env.filters = guarded
    tests: dict[str, Any] = env.tests
    env.tests = {name: _guarded_filter(env, "", fn) for name, fn in tests.items()}
    return env


def _safe_range(env: Sandbox) -> Callable[..., range]:
    def range_(*args: int) -> range:
        env.budget.tick()
        if any(isinstance(a, int) and a.bit_length() > 62 for a in args):
            raise TooLarge(f"a range in a template has at most {MAX_RANGE} items")
        r = range(*args)
        if len(r) > MAX_RANGE:
            raise TooLarge(f"a range in a template has at most {MAX_RANGE} items")
        return r

    return range_

