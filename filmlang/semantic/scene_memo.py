"""What the language server remembers of each scene's check between keystrokes.

`SceneMemo` lives as long as the server; `Remembered` is one scene's result, whose
checker-made spans move with the scene's statement (see `Scenes._scene`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from filmlang import ir
from filmlang.diagnostics import Diagnostic
from filmlang.source import Span
from filmlang.syntax import ast

EVERY = "\0every"
"""In a set of characters used: the whole table was read (iterated, listed, counted)."""

V = TypeVar("V")


LET = "let:"
"""In a set of names used: the prefix of a `let` constant's name (`let:town`)."""

TYPE = "type:"
"""In a set of names used: the prefix of a shot type's name (its declaration read, but its
prompt)."""

TYPE_SPAN = "typespan:"
"""In a set of names used: the prefix of a shot type whose prompt was rendered: its text,
and its place (where a template error in it is reported)."""

FILM = LET + "film"
"""In a set of names used: the film's title and style (templates name them `film`; every
prompt ends with the film's style)."""

FILM_SEED, FILM_FPS, FILM_MOTION = LET + "\0seed", LET + "\0fps", LET + "\0motion"
"""In a set of names used: the film's seed (a shot's own derives from it), frame rate and
default motion (names no let has)."""
FILM_NAMES = ("film", "\0seed", "\0fps", "\0motion")


def note(templates: Any, name: str) -> None:
    """Note `name` among what is being read, where reads are noted (the language server)."""
    reads = templates.reads
    if reads is not None:
        reads.add(name)


def exists(name: str) -> str:
    """In a set of names used: only whether `name` is declared was read."""
    return "?" + name


class Watched(dict[str, V]):
    """The film's characters, noting which a check reads while `uses` is a set: `NAME` for
    its declaration read, `?NAME` for only asking whether there is one (a name not declared
    too); reading the whole table notes `EVERY`."""

    uses: set[str] | None = None
    prefix = ""
    """Put before the names noted: `LET` for the table of `let` constants."""

    def __contains__(self, key: object) -> bool:
        if self.uses is not None and isinstance(key, str):
            self.uses.add(exists(self.prefix + key))
        return dict.__contains__(self, key)

    def __getitem__(self, key: str) -> V:
        if self.uses is not None:
            self.uses.add(self.prefix + key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if self.uses is not None:
            self.uses.add(self.prefix + key)
        return dict.get(self, key, default)

    def _every(self) -> None:
        if self.uses is not None:
            self.uses.add(EVERY)

    def __iter__(self) -> Iterator[str]:
        self._every()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._every()
        return dict.keys(self)

    def values(self) -> Any:
        self._every()
        return dict.values(self)

    def items(self) -> Any:
        self._every()
        return dict.items(self)

    def __len__(self) -> int:
        self._every()
        return dict.__len__(self)


class WatchedLets(Watched[V]):
    prefix = LET


class WatchedTypes(Watched[V]):
    prefix = TYPE


def watch(tables: list[Any], uses: set[str] | None) -> None:
    """Note what is read from now on in `uses` (None: stop noting): the `Watched` tables,
    and the names the prompt templates use (a `Templates`: its `reads`)."""
    for table in tables:
        if isinstance(table, Watched):
            table.uses = uses
        else:
            table.reads = uses


def updated(model: BaseModel, update: dict[str, Any]) -> Any:
    """`model.model_copy(update=update)`, as pydantic makes it (a shallow copy of its fields,
    the fields set, its extra and private parts), without `copy.copy` for each part: a
    language server's edit copies a shot thousands of times."""
    cls = model.__class__
    new = cls.__new__(cls)
    state = model.__dict__.copy()
    state.update(update)
    setattr_ = object.__setattr__
    setattr_(new, "__dict__", state)
    setattr_(new, "__pydantic_extra__", model.__pydantic_extra__)
    setattr_(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    setattr_(new, "__pydantic_private__", model.__pydantic_private__)
    return new


def changed_names(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> set[str]:
    """The names whose declaration differs (added, removed, changed; `?NAME` too for those
    added or removed); `EVERY` too when the table's order changed, which a check that read
    the whole table could see."""
    changed = {prefix + name for name in before.keys() | now.keys()
               if before.get(name) != now.get(name)}
    changed.update(exists(prefix + name) for name in before.keys() ^ now.keys())
    if list(before) != list(now):
        changed.add(EVERY)
    return changed


def unplaced(dump: Any) -> Any:
    """A dumped declaration without its spans: what it says, not where it stands."""
    if isinstance(dump, dict):
        return {k: unplaced(v) for k, v in dump.items() if not k.endswith("span")}
    if isinstance(dump, list | tuple):
        return [unplaced(v) for v in dump]
    return dump


def changed_for(diagnostics: list[Diagnostic], changed: set[str], moved: set[str]) -> set[str]:
    """The names changed for a result with these diagnostics: a declaration that only moved
    (`moved`: its text the same, lines added or removed above it) changes only results
    with diagnostics, which may point at it; the IR holds no span of a `let`."""
    return changed | moved if diagnostics and moved else changed


def still_valid(uses: frozenset[str], changed: set[str]) -> bool:
    """A result that read `uses` is still right after `changed` characters changed."""
    if not changed:
        return True
    return EVERY not in uses and uses.isdisjoint(changed)


class Prompting(NamedTuple):
    """What a shot's prompt is rendered from, besides the scene's context and the characters
    (`Shots.prompt`): kept to render it again when only a character's look changed."""

    subjects: tuple[str, ...]
    type: str
    camera: str
    action: tuple[str, Span] | None
    """The action's template and where it is written."""
    base: tuple[str, Span]
    """The prompt's template (the shot's own, or its shot type's) and where it is written."""
    time: str
    style: str
    from_type: bool = False
    """Whether `base` is the shot type's prompt (not the shot's own)."""

    @property
    def noted(self) -> tuple[str, ...]:
        """What looking its subjects up notes: `?NAME` and `NAME` for each."""
        return tuple(n for s in self.subjects for n in (exists(s), s))


class Staging(NamedTuple):
    """What a shot's staging is read from besides its action, its subjects and its lines
    (`Shots.stage`): kept to stage it again when only its action's text changed."""

    action: Span | None
    """Where its action is written; None: it has none."""
    head_props: tuple[str, ...]
    """The props its head names (`shot insert LANTERN`)."""
    line_beats: tuple[ir.Beat, ...] | None = None
    """The beats of its lines' parentheticals, once read."""


@dataclass
class ShotMemo:
    """One shot's check inside a remembered scene: reused when its scene is checked again
    because characters it did not read changed; only its prompt rendered again when the
    characters it read changed but were read only by its prompt's templates."""

    statement: ast.Property | ast.Block
    key: tuple[Any, ...]
    shot: ir.Shot | None
    diagnostics: list[Diagnostic]
    uses: frozenset[str]
    start: int
    end: int
    line: int
    """Where the statement was when the spans the checker made were last moved."""
    outside: frozenset[str] = frozenset({EVERY})
    """The characters read outside the prompt's rendering."""
    prompting: Prompting | None = None
    rendered: tuple[int, int] = (0, 0)
    """The diagnostics (from, to) that rendering the prompt made."""
    staged: int = 0
    """The end of the diagnostics staging the action made (they start where `rendered`
    ends)."""
    staging: Staging | None = None
    parts: tuple[str, str] | None = None
    """The action and the prompt's template, rendered (None: rendering them reported)."""
    template_reads: frozenset[str] = frozenset()
    """What rendering them read."""
    derived_seed: bool = False
    """Whether its seed is derived from the film's (it has none of its own)."""
    inputs: Any = None
    """What its prompt was rendered in besides the characters and lets it read: the scene's
    style, its time and its record (`scene.setting`...)."""
    spans: list[Span] | None = None

    def move(self) -> None:
        """Shift the spans the checker made for this shot as its statement moved."""
        now = self.statement.span
        d_offset, d_line = now.start - self.start, now.line - self.line
        if not d_offset and not d_line:
            return
        if self.spans is None:
            self.spans = made_spans(self.statement, (self.shot, self.prompting, self.staging),
                                    self.diagnostics, self.start, self.end)
        _shift(self.spans, d_offset, d_line)
        self.start, self.end, self.line = now.start, now.end, now.line


def _shift(spans: list[Span], d_offset: int, d_line: int) -> None:
    for made in spans:
        state = made.__dict__
        state["start"] += d_offset
        state["end"] += d_offset
        state["line"] += d_line
        state["end_line"] += d_line


@dataclass
class Remembered:
    """One scene's check: its IR (None when it had errors) and the diagnostics it made."""

    statement: ast.Property | ast.Block
    """Kept so that its id, the key, is not given to another object."""
    previous_time: str
    scene: ir.Scene | None
    diagnostics: list[Diagnostic]
    start: int
    end: int
    line: int
    """Where the statement was when the spans the checker made were last moved."""
    spans: list[Span] | None = None
    """Spans the checker made inside the scene, found when it first moves; the AST's own
    spans are moved by the incremental parser."""
    uses: frozenset[str] = frozenset({EVERY})
    """The names the scene's own check read, outside its shots (theirs are theirs): it
    stays right while none of them, and none its shots read, changes (`valid`)."""
    shots: dict[int, ShotMemo] = field(default_factory=dict)
    """Its shots' checks, by their statement's id."""
    outside: frozenset[str] = frozenset({EVERY})
    """The same as `uses`: while none of them changes, nor what its shots read outside
    their prompts, the scene is its last check with some shots' prompts made again
    (`Scenes._patch`)."""
    context: dict[str, Any] | None = None
    """The templates' context its shots were checked in."""

    def valid(self, changed: set[str]) -> bool:
        """Whether the scene's check is still right after `changed` changed: nothing it or
        its shots read is among them."""
        if not changed:
            return True
        return still_valid(self.uses, changed) and all(
            still_valid(shot.uses, changed) for shot in self.shots.values())

    def move(self) -> None:
        """Shift the checker's spans as the scene's statement moved; columns do not change."""
        now = self.statement.span
        d_offset, d_line = now.start - self.start, now.line - self.line
        if not d_offset and not d_line:
            return
        if self.spans is None:
            self.spans = made_spans(self.statement, (self.scene, [
                (m.shot, m.prompting, m.staging) for m in self.shots.values()]), self.diagnostics,
                self.start, self.end)
        _shift(self.spans, d_offset, d_line)
        self.start, self.end, self.line = now.start, now.end, now.line
        for shot in self.shots.values():  # their spans moved with the scene's
            where = shot.statement.span
            shot.start, shot.end, shot.line = where.start, where.end, where.line


@dataclass
class SceneMemo:
    """Scenes checked before, for the language server: one for the server's lifetime.

    A scene's check depends only on its own statement, the time of the scene before it,
    and the film's declarations (film block, characters, shot types, lets: `environment`).
    The incremental parser gives the same statement object for a scene whose text did not
    change, with its spans moved in place where lines were added above it; so when the
    statement and its inputs are the same as last time, the last result is used again, its
    diagnostics reported again and the spans the checker made moved as the scene moved.
    The scene's name (declared twice?) and its joins to its neighbours are checked afresh.

    Characters are a finer input: each scene (and each of its shots) records the characters
    its check read (`Watched`), so an edit of one character's `look` checks again only the
    shots that show or name that character, and reuses the rest of their scenes.
    """

    films: dict[str, tuple[Any, dict[str, Any], dict[int, Remembered]]] = field(
        default_factory=dict)
    """entry -> (the declarations but characters and lets, the characters and lets by
    value, the scenes remembered)."""
    hits: int = 0
    misses: int = 0
    patched: int = 0
    """Scenes reused with some shots' prompts rendered again (not counted as misses)."""
    readings: tuple[Any, dict[Any, Any]] = (None, {})
    """Action texts read for staging (`staging.Reader`), while the film's characters and
    props are the same: (their names, text and subjects -> the reading and the names it
    asked about)."""
    reshot: int = 0
    """Shots reused with their prompt rendered (and action staged) again."""
    shared: int = 0
    """Of those, the shots whose prompt another's rendering in the same check gave."""

    def readings_for(self, names: Any) -> dict[Any, Any]:
        """The remembered readings of action texts, for a film of these characters and props."""
        if self.readings[0] != names:
            self.readings = (names, {})
        return self.readings[1]


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _all_spans(value: object, out: dict[int, Span]) -> None:
    """Every Span object in a tree of models, tuples, lists and dicts, by id."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        if item.__class__ in _LEAVES:
            continue
        if isinstance(item, Span):
            out[id(item)] = item
        elif isinstance(item, BaseModel):
            push(item.__dict__.values())
        elif isinstance(item, tuple | list):
            push(item)
        elif isinstance(item, dict):
            push(item.values())


def made_spans(statement: ast.Property | ast.Block, scene: object,
                diagnostics: list[Diagnostic], start: int, end: int) -> list[Span]:
    """The spans in a scene's results that the checker made (not the AST's own) inside the
    statement, which stood at start..end when they were made."""
    own: dict[int, Span] = {}
    _all_spans(statement, own)
    found: dict[int, Span] = {}
    _all_spans(scene, found)
    _all_spans(diagnostics, found)
    file = statement.span.file
    return [span for key, span in found.items() if key not in own and span.file == file
            and start <= span.start and span.end <= end]
