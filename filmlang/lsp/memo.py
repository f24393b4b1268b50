"""Checking again, fast: the checker with scenes and prompt templates remembered.

Two memories, both for the server's lifetime (a `MemoTemplates` holds them):
- scenes (`semantic.scene_memo.SceneMemo`): a scene whose statement the incremental parser
  reused, and whose inputs (the time of the scene before, the film's declarations) are
  unchanged, is not checked again: its IR and diagnostics are those of last time, their
  spans moved if lines were added or removed above it. After typing in one scene of a
  200-scene film, one scene is checked.
- templates: a template's text is rendered from the names it uses, so each output is
  remembered by the template's text and the values of exactly those names; after an edit
  of the declarations, only shots whose inputs changed are rendered again. Templates that
  fail are never remembered, so their diagnostics are made afresh each time.
Scenes and shots also remember which characters they read (`semantic.scene_memo.Watched`):
after an edit of one character's `look`, only the shots that show or name that character are
checked again. The result is the checker's, unchanged (tests/test_lsp_memo.py compares it
with full checks).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from filmlang import ir
from filmlang.diagnostics import Diagnostic
from filmlang.semantic.checker import Checker
from filmlang.semantic.loader import Program
from filmlang.semantic.scene_memo import EVERY, LET, SceneMemo
from filmlang.semantic.templates import Obj, Templates
from filmlang.source import Span, gc_paused

MAX_REMEMBERED = 100_000
MAX_FROZEN_CHECKS = 200
"""Checks without an idle moment to collect in, after which the next check collects first."""
_ABSENT = ("absent",)
_NUMBERS = frozenset({int, float, bool})


class _Unhashable(Exception):
    pass


def freeze(value: Any, seen: dict[int, tuple[Any, Any]] | None = None) -> Any:
    """A hashable image of a template value; raises _Unhashable for anything unknown.

    `seen` remembers records already frozen in this check (the scene's record is shared by
    all its shots); it holds the records too, so that their ids stay theirs.
    """
    kind = value.__class__
    if kind is str or value is None:
        return value
    if kind in _NUMBERS:  # 2, 2.0 and True are equal, but print differently
        return (kind.__name__, value)
    if seen is not None:
        known = seen.get(id(value))
        if known is not None:
            return known[1]
    if kind is Obj:
        out: Any = ("obj", str(value),
                    tuple([(k, freeze(v, seen)) for k, v in value._fields.items()]))
    elif kind is list or kind is tuple:  # the shot's subjects: the commonest after records
        out = (kind.__name__, tuple([freeze(v, seen) for v in value]))
    elif isinstance(value, str):
        out = value
    elif isinstance(value, int | float):
        out = (kind.__name__, value)
    elif isinstance(value, Obj):
        out = ("obj", str(value), tuple((k, freeze(value[k], seen)) for k in value))
    elif isinstance(value, Mapping):
        out = ("map", tuple((k, freeze(v, seen)) for k, v in value.items()))
    elif isinstance(value, list | tuple):
        out = (type(value).__name__, tuple(freeze(v, seen) for v in value))
    else:
        raise _Unhashable
    if seen is not None:
        seen[id(value)] = (value, out)
    return out


def _fields_read(tree: Any, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The names of `names` that the template reads only as `name.FIELD` (or with a constant
    `name["FIELD"]`), with the fields read."""
    from jinja2 import nodes

    under: dict[int, str] = {}  # a Name node's id -> the field read of it
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        inner = node.node
        if not isinstance(inner, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr):
            under[id(inner)] = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            under[id(inner)] = node.arg.value
    fields: dict[str, set[str]] = {n: set() for n in names}
    for name in tree.find_all(nodes.Name):
        if name.name not in fields:
            continue
        field = under.get(id(name))
        if field is None or name.ctx != "load":
            fields.pop(name.name)  # read whole (printed, iterated, passed to a filter)
        else:
            fields[name.name].add(field)
    return {n: tuple(sorted(f)) for n, f in fields.items() if f}


def _record_fields(fields: tuple[str, ...] | None) -> bool:
    """Whether reading `value.FIELD` in a template gives `value[FIELD]` for each field, when
    `value` is a record (`Obj`) that has them: no name of the record's own."""
    return fields is not None and all(
        not f.startswith("_") and not hasattr(Obj, f) for f in fields)


class MemoTemplates(Templates):
    """Templates that remember their outputs; one for the server's lifetime."""

    def __init__(self, *, freeze_heap: bool = False) -> None:
        super().__init__()
        self.freeze_heap = freeze_heap
        """Move what each check leaves to the collector's permanent generation (`check`):
        the language server's, which collects when idle (`collect`)."""
        self.frozen_checks = 0
        """Checks since the last full collection."""
        self._plans: dict[str, tuple[tuple[str, ...], tuple[Any, ...]] | None] = {}
        """What each template reads (`_plan`)."""
        self._outputs: dict[Any, str] = {}
        self._steps: dict[tuple[tuple[str, ...], frozenset[str]], Any] = {}
        """Templates' steps but those of given names (`inputs_key`)."""
        self.hits = 0
        self.seen: dict[int, tuple[Any, Any]] = {}
        self.scenes = SceneMemo()

    def _plan(self, text: str) -> tuple[tuple[str, ...], tuple[Any, ...]] | None:
        """What rendering `text` reads: the names to note (`let:NAME`), and for each name
        it uses, the fields it reads of it (None: the whole value) and whether they may be
        read as a record's fields or a dictionary's keys (`_key`). None when it does not
        parse (the checker reports it, uncached)."""
        if text not in self._plans:
            try:
                from jinja2 import meta

                tree = self._environment().parse(text)
                names = tuple(sorted(meta.find_undeclared_variables(tree)))
                paths = _fields_read(tree, names)
                self._plans[text] = (tuple(LET + n for n in names), tuple(
                    (n, paths.get(n), _record_fields(paths.get(n)),
                     all(not hasattr(dict, f) for f in paths.get(n, ()))) for n in names))
            except Exception:
                self._plans[text] = None
        return self._plans[text]

    def _key(self, text: str, steps: tuple[Any, ...], context: Mapping[str, Any]) -> Any:
        """What the output of `text` depends on: for each name it uses, the value, or only
        the fields read where the template reads nothing but `name.FIELD` of a record
        (`scene.setting`: not the scene's name, so one rendering serves every scene)."""
        seen = self.seen
        parts: list[Any] = []
        for n, fields, as_record, as_keys in steps:
            value = context.get(n, _ABSENT)
            if value is _ABSENT:
                parts.append((n, _ABSENT))
                continue
            if fields is not None:
                if value.__class__ is Obj:
                    own = value._fields
                    if as_record and all(f in own for f in fields):
                        parts.append((n, "fields", tuple([
                            (f, v if (v := own[f]).__class__ is str else freeze(v, seen))
                            for f in fields])))
                        continue
                elif as_keys and isinstance(value, dict) and all(
                        dict.__contains__(value, f) for f in fields):
                    parts.append((n, "fields", tuple(  # value[f]: a watching table notes it
                        [(f, freeze(value[f], seen)) for f in fields])))
                    continue
            parts.append((n, freeze(value, seen)))
        return (text, tuple(parts))

    def inputs_key(self, texts: tuple[str, ...], context: Mapping[str, Any],
                   given: frozenset[str]) -> Any:
        """What the outputs of `texts` read of `context` (`_key`), but the names in `given`;
        None where one does not parse or reads what has no key."""
        steps = self._steps.get((texts, given), _ABSENT)
        if steps is _ABSENT:
            if len(self._steps) >= MAX_REMEMBERED:
                self._steps.clear()
            steps = self._steps[(texts, given)] = self._given_steps(texts, given)
        if steps is None:
            return None
        try:
            return self._key("", steps, context)[1]
        except _Unhashable:
            return None

    def _given_steps(self, texts: tuple[str, ...], given: frozenset[str]
                     ) -> tuple[Any, ...] | None:
        """The steps of `_key` for all of `texts` (their `_plan`s'), each once, but those of
        names in `given`; None where one does not parse."""
        steps: dict[Any, None] = {}
        for text in texts:
            if "{" not in text:
                continue
            plan = self._plan(text)
            if plan is None:
                return None
            steps.update(dict.fromkeys(step for step in plan[1] if step[0] not in given))
        return tuple(steps)

    def render(self, text: str, context: Mapping[str, Any], span: Span) -> str:
        if "{" not in text:
            return super().render(text, context, span)
        plan = self._plan(text)
        if self.reads is not None:  # what the scene or shot being checked depends on
            self.reads.update(plan[0] if plan is not None else (EVERY,))
        if plan is None:
            return super().render(text, context, span)
        try:
            key = self._key(text, plan[1], context)
        except _Unhashable:
            return super().render(text, context, span)
        out = self._outputs.get(key)
        if out is not None:
            self.hits += 1
            return out
        out = super().render(text, context, span)
        if len(self._outputs) >= MAX_REMEMBERED:
            self._outputs.clear()
        self._outputs[key] = out
        return out


def check(program: Program, templates: Templates) -> tuple[ir.Film | None, list[Diagnostic]]:
    """`semantic.checker.check`, with the given templates."""
    checker = Checker(program)
    checker.templates = templates
    if isinstance(templates, MemoTemplates):
        templates.seen.clear()
        checker.scene_memo = templates.scenes
    server = templates if isinstance(templates, MemoTemplates) and templates.freeze_heap \
        else None
    if server is not None and server.frozen_checks >= MAX_FROZEN_CHECKS:
        collect(server)  # no pause long enough to collect in: now, once in a while
    # A check allocates many small objects and frees them by reference counting: the cycle
    # collector, which would walk the server's whole remembered film several times in it,
    # waits until it is done (a sixth of a `look` edit's time in a 2,000-shot film). In the
    # server it then skips what the check left: those objects are frozen, and the server
    # collects them when idle (a full collection walks the whole remembered film: 25 to 60
    # ms of every edit of a 2,000-shot film, before).
    with gc_paused():
        film = checker.run()
        diagnostics = checker.finish()
        if server is not None:
            gc.freeze()
            server.frozen_checks += 1
    if isinstance(templates, MemoTemplates):
        templates.seen.clear()
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    return film, diagnostics


def collect(templates: MemoTemplates) -> None:
    """Collect the garbage cycles of the checks since the last collection (`freeze_heap`),
    then freeze again what stays: the server calls it when idle."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    templates.frozen_checks = 0
