"""Scenes, shots and transitions: the film's playing order, checked, to IR.

Takes the film's top-level items in order (scenes and the transitions between them) and
gives `ir.Scene`s whose shots know their type, subjects, dialogue, rendered prompt, seed
and the transition into them. Timing that needs speech is left to the timeline solver;
what can be known now (a title after the end of a fixed-length shot, a dissolve longer
than its shots) is checked now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from filmlang import ir
from filmlang.diagnostics import Diagnostic, Label, error, warning
from filmlang.semantic import schema
from filmlang.semantic.bind import Bound
from filmlang.semantic.cast import parenthetical
from filmlang.semantic.declarations import body_of, prompt_span
from filmlang.semantic.headings import Heading, parse_heading
from filmlang.semantic.templates import Obj
from filmlang.semantic.values import did_you_mean, shown
from filmlang.source import Span
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker, Item

LEAD_IN = 0.5
GAP = 0.3
TAIL = 0.7
DEFAULT_SHOT_LENGTH = 3.0


@dataclass
class _Transition:
    bound: Bound
    value: ir.Transition


@dataclass
class _Remembered:
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

    def move(self) -> None:
        """Shift the checker's spans as the scene's statement moved; columns do not change."""
        now = self.statement.span
        d_offset, d_line = now.start - self.start, now.line - self.line
        if not d_offset and not d_line:
            return
        if self.spans is None:
            self.spans = _made_spans(self.statement, self.scene, self.diagnostics,
                                     self.start, self.end)
        for made in self.spans:
            state = made.__dict__
            state["start"] += d_offset
            state["end"] += d_offset
            state["line"] += d_line
            state["end_line"] += d_line
        self.start, self.end, self.line = now.start, now.end, now.line


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
    """

    films: dict[str, tuple[Any, dict[int, _Remembered]]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0


class Scenes:
    def __init__(self, checker: Checker, film: ir.Film, characters: dict[str, ir.Character],
                 shottypes: dict[str, ir.ShotType], lets: dict[str, Any]) -> None:
        self.checker = checker
        self.film = film
        self.characters = characters
        self.shottypes = shottypes
        self.lets = lets
        self.character_objs = {name: Obj(name, name, name=name, look=c.look)
                               for name, c in characters.items()}
        self.memo: SceneMemo | None = checker.scene_memo
        self._old: dict[int, _Remembered] = {}
        self._new: dict[int, _Remembered] = {}

    def report(self, diagnostic: Any) -> None:
        self.checker.report(diagnostic)

    # ---------------------------------------------------------------- the film's order

    def build(self, items: list[Item]) -> list[ir.Scene]:
        if self.memo is None:
            return self._build(items)
        program = self.checker.program
        entry = f"{program.root}\0{program.entry}"  # entries are named from their folder
        environment = self._environment()
        known = self.memo.films.get(entry)
        self._old = known[1] if known is not None and known[0] == environment else {}
        self._new = {}
        scenes = self._build(items)
        self.memo.films[entry] = (environment, self._new)
        return scenes

    def _environment(self) -> Any:
        """By value, all a scene's check reads besides its own statement (see SceneMemo)."""
        return (
            self.film.model_dump(),
            [(n, c.model_dump()) for n, c in self.characters.items()],
            [(n, t.model_dump(), prompt_span(self.checker, t).model_dump())
             for n, t in self.shottypes.items()],
            list(self.lets.items()),
            [(n, let.model_dump()) for n, let in self.checker.scope.lets.items()],
        )

    def _build(self, items: list[Item]) -> list[ir.Scene]:
        scenes: list[ir.Scene] = []
        names: dict[str, ast.Value] = {}
        pending: _Transition | None = None
        previous_time: str = "day"
        first_scene = True
        for item in items:
            statement = item.statement
            if statement.name == "film":
                continue
            if statement.name in schema.TRANSITIONS:
                transition = self._transition(statement, schema.TOP)
                if transition is None:
                    continue
                if first_scene:
                    self._edge_error(transition, "before the first scene",
                                     "inside the first scene, before its first shot")
                elif pending is not None:
                    self._two_in_a_row(transition, pending)
                pending = transition
                continue
            scene = self._scene(statement, previous_time, names)
            if scene is None:
                pending = None
                first_scene = False
                continue
            previous_time = scene.time
            if scenes:
                scene = self._join(scenes[-1], scene, pending)
            pending = None
            first_scene = False
            scenes.append(scene)
        if pending is not None and not first_scene:
            self._edge_error(pending, "after the last scene",
                             "inside the last scene, after its last shot")
        return scenes

    def _join(self, before: ir.Scene, after: ir.Scene, transition: _Transition | None
              ) -> ir.Scene:
        """Join two scenes: a top-level transition between them, else a cut."""
        last, first = before.shots[-1], after.shots[0]
        if transition is None:
            cut = ir.Transition(kind="cut", origin=first.origin)
            return after.model_copy(update={
                "shots": (first.model_copy(update={"transition_in": cut}), *after.shots[1:])})
        if last.fade_out is not None or first.fade_in is not None:
            edge = last.fade_out or first.fade_in
            assert edge is not None
            self.report(error(
                "E0303", "two transitions meet here", transition.bound.statement.name_span,
                label="this one",
                notes=[Label(span=edge.origin, message="and the fade at the scene's edge")],
                help="keep one: either this transition or the fade inside the scene"))
            return after
        self._check_overlap(transition, last, first)
        self._leaves_a_frame(transition, last)
        shots = (first.model_copy(update={"transition_in": transition.value}), *after.shots[1:])
        return after.model_copy(update={"shots": shots})

    def _leaves_a_frame(self, transition: _Transition, last: ir.Shot) -> None:
        """A dissolve or wipe between scenes leaves the scene before a frame of its own (its
        chapter would be empty); longer than the shot is `_check_overlap`'s error."""
        value = transition.value
        if value.kind not in ("dissolve", "wipe") or last.duration is None \
                or value.duration > last.duration + 1e-9:
            return
        if value.frames >= max(1, ir.to_frames(last.duration, self.film.fps)):
            self.report(error(
                "E0202", f"this {value.kind} covers all of the scene before it",
                transition.bound.arg_span(), label="as long as the shot",
                notes=[Label(span=last.origin, message="the scene's last shot")],
                help=f"make it shorter than {last.duration:g}s, so that the scene keeps a "
                     "frame of its own"))

    def _edge_error(self, transition: _Transition, where: str, instead: str) -> None:
        kind = transition.value.kind
        help = f"a transition stands between two scenes; to fade from or to black, put " \
               f"'fade {transition.value.duration:g}s' {instead}"
        if kind != "fade":
            help = f"'{kind}' joins two scenes; remove it, or add a scene on its other side"
        self.report(error("E0303", f"'{kind}' {where}", transition.bound.statement.name_span,
                          label="nothing on the other side", help=help))

    def _two_in_a_row(self, transition: _Transition, previous: _Transition) -> None:
        self.report(error(
            "E0303", "two transitions in a row", transition.bound.statement.name_span,
            label="second transition",
            notes=[Label(span=previous.bound.statement.name_span, message="the first one")],
            help="keep one of them; shots are joined by one transition"))

    def _transition(self, statement: ast.Property | ast.Block,
                    context: schema.Context) -> _Transition | None:
        bound = self.checker.binder.bind(statement, context)
        if bound is None or not bound.ok:
            return None
        kind = bound.name
        duration = float(bound.arg()) if kind != "cut" else 0.0  # type: ignore[arg-type]
        value = ir.Transition(kind=kind, duration=duration,
                              frames=ir.to_frames(duration, self.film.fps), origin=statement.span)
        return _Transition(bound, value)

    def _check_overlap(self, transition: _Transition, before: ir.Shot, after: ir.Shot) -> None:
        value = transition.value
        if value.kind == "cut":
            return
        # A dissolve or wipe overlaps its whole length; a fade spends half on each side.
        needed = value.duration if value.kind in ("dissolve", "wipe") else value.duration / 2
        for shot in (before, after):
            if shot.duration is not None and needed > shot.duration + 1e-9:
                self.report(error(
                    "E0202",
                    f"this {value.kind} needs {needed:g}s of a {shot.duration:g}s shot",
                    transition.bound.arg_span(), label="too long",
                    notes=[Label(span=shot.origin, message="the shot")],
                    help=f"make the {value.kind} at most "
                         f"{shot.duration * (value.duration / needed):g}s"))
                return

    # ---------------------------------------------------------------- scenes

    def _scene(self, statement: ast.Property | ast.Block, previous_time: str,
               names: dict[str, ast.Value]) -> ir.Scene | None:
        if not statement.args or not isinstance(statement.args[0], ast.NameValue):
            span = statement.args[0].span if statement.args else statement.name_span
            self.report(error("E0203", "a scene needs a name", span, label="expected a name",
                              help='write: scene storm "EXT. LIGHTHOUSE - NIGHT" { ... }'))
            return None
        name_value = statement.args[0]
        name = name_value.name
        if name in names:
            self.report(error("E0105", f"scene '{name}' is declared twice", name_value.span,
                              label="declared again here",
                              notes=[Label(span=names[name].span, message="first declared here")],
                              help="give each scene its own name"))
            return None
        names[name] = name_value
        if self.memo is None:
            return self._scene_body(statement, previous_time, name, name_value)
        remembered = self._old.get(id(statement))
        if remembered is not None and remembered.statement is statement \
                and remembered.previous_time == previous_time:
            remembered.move()
            self.checker.diagnostics.extend(remembered.diagnostics)
            self._new[id(statement)] = remembered
            self.memo.hits += 1
            return remembered.scene
        self.memo.misses += 1
        mark = len(self.checker.diagnostics)
        scene = self._scene_body(statement, previous_time, name, name_value)
        made = self.checker.diagnostics[mark:]
        where = statement.span
        self._new[id(statement)] = _Remembered(statement, previous_time, scene, made,
                                               where.start, where.end, where.line)
        return scene

    def _scene_body(self, statement: ast.Property | ast.Block, previous_time: str, name: str,
                    name_value: ast.NameValue) -> ir.Scene | None:
        checker = self.checker
        heading_text: str | None = None
        if len(statement.args) > 1:
            bound_heading = checker.binder.value(
                statement.args[1], schema.TOP.props["scene"].args[1], None, "heading")
            heading_text = bound_heading if isinstance(bound_heading, str) else None
        if len(statement.args) > 2:
            self.report(error("E0203", "a scene takes a name and a heading", statement.args[2].span,
                              label="unexpected",
                              help='write: scene storm "EXT. LIGHTHOUSE - NIGHT" { ... }'))
        heading = parse_heading(heading_text or "")
        body = body_of(statement)
        props: dict[str, list[Bound]] = {}
        sequence: list[ast.Statement] = []
        for child in body:
            if isinstance(child, ast.Property | ast.Block) and (
                    child.name == "shot" or child.name in schema.TRANSITIONS):
                sequence.append(child)
                continue
            bound = checker.binder.bind(child, schema.SCENE)
            if bound is None:
                continue
            if bound.name in props:
                self.report(error(
                    "E0107", f"'{bound.name}' is set twice in this scene",
                    bound.statement.name_span, label="set again here",
                    notes=[Label(span=props[bound.name][0].statement.name_span,
                                 message="first set here")], help="keep one of them"))
                continue
            props[bound.name] = [bound]
        time = self._time(props, heading, previous_time, statement)
        values = {k: v[0] for k, v in props.items() if v[0].ok}
        setting_raw = str(values["setting"].arg()) if "setting" in values else \
            heading.location.lower()
        scene_obj = Obj("scene", name, name=name, heading=heading_text or "", setting="", time=time)
        context = {**self.lets, "film": Obj("film", self.film.title, title=self.film.title,
                                            style=self.film.style),
                   "characters": self.character_objs, "scene": scene_obj}
        setting_span = values["setting"].arg_span() if "setting" in values else statement.span
        setting = checker.render(setting_raw, context, setting_span)
        scene_obj = Obj("scene", name, name=name, heading=heading_text or "", setting=setting,
                        time=time)
        context["scene"] = scene_obj
        style = ""
        if "style" in values:
            style = checker.render(str(values["style"].arg()), context, values["style"].arg_span())
        music = None
        if "music" in values and values["music"].arg() is not None:
            bound = values["music"]
            music = ir.Music(mood=str(bound.arg()), origin=bound.span,
                             **{k: v for k, v in bound.kwargs.items() if v is not None})
        ambience = None
        if "ambience" in values and values["ambience"].arg() is not None:
            bound = values["ambience"]
            ambience = ir.Ambience(name=str(bound.arg()), origin=bound.span,
                                   **{k: v for k, v in bound.kwargs.items() if v is not None})
        motion = str(values["motion"].arg()) if "motion" in values else self.film.motion
        shots = self._sequence(sequence, name, context, style, motion, time)
        if not shots:
            if isinstance(statement, ast.Block) and not any(
                    isinstance(s, ast.Property | ast.Block) and s.name == "shot"
                    for s in sequence):
                self.report(error("E0304", f"scene '{name}' has no shots", name_value.span,
                                  label="empty scene",
                                  help="add a shot: shot wide 4s { action \"...\" }"))
            elif isinstance(statement, ast.Property):
                self.report(error("E0304", f"scene '{name}' has no shots", name_value.span,
                                  label="no { } block",
                                  help=f"give the scene a block: scene {name} {{ shot wide 4s }}"))
            return None
        return ir.Scene(
            name=name, heading=heading_text, interior=heading.interior,
            location=heading.location, time=time,
            setting=setting, music=music, ambience=ambience, style=style, shots=tuple(shots),
            origin=statement.span)

    def _time(self, props: dict[str, list[Bound]], heading: Heading, previous: str,
              statement: ast.Property | ast.Block) -> str:
        heading_time = heading.time if heading.time != "continuous" else previous
        if "time" in props and props["time"][0].ok:
            time = str(props["time"][0].arg())
            if heading.time and heading.time != "continuous" and heading.time != time:
                self.report(warning(
                    "W0001", f"the scene's time is {time}, but its heading says "
                    f"{heading.time_word}", props["time"][0].arg_span(), label="time set here",
                    notes=[Label(span=statement.args[1].span, message="the heading")],
                    help="make the heading and the time agree"))
            return time
        return heading_time or "day"

    # ---------------------------------------------------------------- shots

    def _sequence(self, sequence: list[ast.Statement], scene: str, context: dict[str, Any],
                  style: str, motion: str, time: str) -> list[ir.Shot]:
        shots: list[ir.Shot] = []
        pending: _Transition | None = None
        leading: _Transition | None = None
        for statement in sequence:
            assert isinstance(statement, ast.Property | ast.Block)
            if statement.name in schema.TRANSITIONS:
                transition = self._transition(statement, schema.SCENE)
                if transition is None:
                    continue
                if pending is not None or (not shots and leading is not None):
                    self._two_in_a_row(transition, pending or leading)  # type: ignore[arg-type]
                    continue
                if not shots:
                    if transition.value.kind in ("dissolve", "wipe"):
                        self.report(error(
                            "E0303", f"'{transition.value.kind}' before the scene's first shot",
                            statement.name_span, label="no shot before it in this scene",
                            help=f"to join two scenes, put '{transition.value.kind}' at the top "
                                 "level between them; to fade in from black, use fade"))
                        continue
                    leading = transition
                    continue
                pending = transition
                continue
            shot = self._shot(statement, scene, len(shots), context, style, motion, time)
            if shot is None:
                pending = None
                continue
            if not shots and leading is not None and leading.value.kind == "fade":
                shot = shot.model_copy(update={"fade_in": leading.value})
            if pending is not None and shots:
                self._check_overlap(pending, shots[-1], shot)
                shot = shot.model_copy(update={"transition_in": pending.value})
            pending = None
            shots.append(shot)
        if pending is not None and shots:
            if pending.value.kind == "fade":
                shots[-1] = shots[-1].model_copy(update={"fade_out": pending.value})
            elif pending.value.kind != "cut":
                self.report(error(
                    "E0303", f"'{pending.value.kind}' after the scene's last shot",
                    pending.bound.statement.name_span, label="no shot after it in this scene",
                    help=f"to join two scenes, put '{pending.value.kind}' at the top level "
                         "between them; to fade out to black, use fade"))
        return shots

    def _shot(self, statement: ast.Property | ast.Block, scene: str, index: int,
              context: dict[str, Any], style: str, motion: str, time: str) -> ir.Shot | None:
        from filmlang.ir import derive_seed

        head = self._shot_head(statement)
        if head is None:
            return None
        type_name, subjects, duration = head
        shottype = self.shottypes[type_name]
        props: dict[str, list[Bound]] = {}
        lines: list[ir.Line] = []
        gap: float | None = None
        for child in body_of(statement):
            if isinstance(child, ast.Dialogue):
                line = self._line(child, LEAD_IN if not lines else GAP, gap)
                gap = None
                if line is not None:
                    lines.append(line)
                continue
            if isinstance(child, ast.Property) and child.name in self.characters \
                    and child.args and isinstance(child.args[0], ast.StringValue):
                self.report(error(
                    "E0101", f"'{child.name}' is a character, and dialogue needs a colon",
                    child.name_span, label="missing ':'",
                    help=f'write: {child.name}: {child.args[0].raw}'))
                continue
            bound = self.checker.binder.bind(child, schema.SHOT)
            if bound is None:
                continue
            if bound.name == "pause":
                if bound.ok:
                    gap = (gap or 0.0) + float(bound.arg())  # type: ignore[arg-type]
                continue
            if bound.name in props and not bound.prop.repeatable:
                self.report(error(
                    "E0107", f"'{bound.name}' is set twice in this shot",
                    bound.statement.name_span, label="set again here",
                    notes=[Label(span=props[bound.name][0].statement.name_span,
                                 message="first set here")], help="keep one of them"))
                continue
            props.setdefault(bound.name, []).append(bound)
        values = {k: v for k, v in props.items() if all(b.ok for b in v)}
        camera = str(values["camera"][0].arg()) if "camera" in values else shottype.camera
        shot_motion = str(values["motion"][0].arg()) if "motion" in values else motion
        seed_value = values["seed"][0].arg() if "seed" in values else None
        seed = int(seed_value) if isinstance(seed_value, int | float) else derive_seed(
            self.film.seed, scene, index)
        subject_objs = [self.character_objs[s] for s in subjects if s in self.character_objs]
        shot_context = {**context, "subjects": subject_objs,
                        "shot": Obj("shot", type_name, type=type_name, camera=camera, action="")}
        action = ""
        if "action" in values:
            action = self.checker.render(str(values["action"][0].arg()), shot_context,
                                         values["action"][0].arg_span())
        shot_context["shot"] = Obj("shot", type_name, type=type_name, camera=camera, action=action)
        if "prompt" in values:
            base = self.checker.render(str(values["prompt"][0].arg()), shot_context,
                                       values["prompt"][0].arg_span())
        else:
            base = self.checker.render(shottype.prompt, shot_context,
                                       prompt_span(self.checker, shottype))
        parts = [base, action, time, self.film.style, style]
        prompt = ", ".join(p.strip().strip(",").strip() for p in parts if p and p.strip())
        titles = tuple(self._title(b, duration) for b in values.get("title", []))
        sounds = tuple(self._sound(b, duration) for b in values.get("sound", []))
        return ir.Shot(
            scene=scene, index=index, type=type_name, subjects=tuple(subjects),
            duration=duration, frames=ir.to_frames(duration, self.film.fps) if duration else None,
            min_duration=shottype.duration or DEFAULT_SHOT_LENGTH,
            tail=gap if gap is not None and lines else TAIL,
            camera=camera, framing=shottype.framing, action=action,
            prompt=prompt, seed=seed, motion=shot_motion,
            titles=titles, sounds=sounds, lines=tuple(lines),
            transition_in=ir.Transition(kind="cut", origin=statement.span) if index else None,
            origin=statement.span)

    def _shot_head(self, statement: ast.Property | ast.Block
                   ) -> tuple[str, list[str], float | None] | None:
        """`shot TYPE SUBJECT* [DURATION]`: the type, the subjects and the fixed length."""
        if statement.kwargs:
            kw = statement.kwargs[0]
            self.report(error("E0108", f"'shot' has no argument '{kw.name}'", kw.name_span,
                              label="unknown argument",
                              help="write settings inside the shot's block: shot wide { "
                                   f"{kw.name} ... }}"))
        args = list(statement.args)
        if not args:
            self.report(error("E0203", "a shot needs a shot type", statement.name_span,
                              label="missing a type",
                              help="write: shot wide 4s, or shot close_up MARA"))
            return None
        first = args[0]
        if not isinstance(first, ast.NameValue):
            self.report(error("E0201", "a shot starts with its type", first.span,
                              label="expected a shot type like wide or close_up",
                              help="write: shot TYPE SUBJECT* [DURATION]"))
            return None
        ok = True
        if first.name not in self.shottypes:
            hint = did_you_mean(first.name, list(self.shottypes))
            if first.name in self.characters:
                hint = f"a shot starts with its type: shot medium {first.name}"
            self.report(error("E0104", f"unknown shot type '{first.name}'", first.span,
                              label="not a shot type",
                              help=hint or "shot types: " + ", ".join(sorted(self.shottypes))))
            ok = False
        subjects: list[str] = []
        duration: float | None = None
        lets = self.checker.scope.lets
        for value in args[1:]:
            if isinstance(value, ast.NameValue) and value.name not in self.characters \
                    and value.name in lets:
                value = self._resolve_let(value)
            if duration is not None:
                again = isinstance(value, ast.DurationValue)
                self.report(error("E0203", "a shot has one duration" if again else
                                  "the duration comes last in a shot", value.span,
                                  label="after the duration",
                                  help="write: shot TYPE SUBJECT* DURATION"))
                ok = False
                break
            if isinstance(value, ast.DurationValue):
                if not 0 < value.seconds <= schema.MAX_SECONDS:
                    self.report(error("E0202", "a shot must last more than 0s and at most "
                                      f"{schema.MAX_SECONDS:g}s, not {shown(value.raw)}",
                                      value.span, label="out of range"))
                    ok = False
                duration = value.seconds
            elif isinstance(value, ast.NameValue):
                if value.name not in self.characters:
                    self._unknown_character(value.name, value.span)
                    ok = False
                elif value.name in subjects:
                    self.report(error("E0105", f"{value.name} is already in this shot",
                                      value.span, label="named twice", help="name each once"))
                    ok = False
                else:
                    subjects.append(value.name)
            elif isinstance(value, ast.NumberValue):
                self.report(error("E0201", "a shot's length needs a unit", value.span,
                                  label="a number", help=f"write {value.raw}s"))
                ok = False
            else:
                word = ast.VALUE_WORDS.get(value.kind, value.kind)
                self.report(error("E0201", f"a shot takes characters and a duration, "
                                           f"not {word}", value.span, label="unexpected",
                                  help='text goes inside the shot: action "..." or '
                                       'NAME: "a line"'))
                ok = False
        return (first.name, subjects, duration) if ok else None

    def _resolve_let(self, value: ast.NameValue) -> ast.Value:
        """A let constant's value in a shot's head, placed at the use."""
        lets = self.checker.scope.lets
        seen: set[str] = set()
        resolved: ast.Value = value
        while isinstance(resolved, ast.NameValue) and resolved.name in lets \
                and resolved.name not in seen:
            seen.add(resolved.name)
            resolved = lets[resolved.name].value
        return resolved.model_copy(update={"span": value.span})

    def _unknown_character(self, name: str, span: Any) -> None:
        hint = did_you_mean(name, list(self.characters))
        self.report(error("E0102", f"unknown character '{name}'", span, label="not declared",
                          help=hint or f"declare it: character {name} {{ look \"...\" }}"))

    def _line(self, dialogue: ast.Dialogue, default_gap: float,
              gap: float | None) -> ir.Line | None:
        if dialogue.speaker not in self.characters:
            self._unknown_character(dialogue.speaker, dialogue.speaker_span)
            return None
        text = dialogue.text.value.strip()
        if not text:
            self.report(error("E0205", "this line is empty", dialogue.text.span,
                              label="nothing to say", help="write the line, or remove it"))
            return None
        reading = parenthetical(dialogue, self.report)
        return ir.Line(speaker=dialogue.speaker, parenthetical=reading.parenthetical,
                       placement=reading.placement, text=" ".join(text.split()),
                       gap_before=gap if gap is not None else default_gap,
                       origin=dialogue.span)

    def _title(self, bound: Bound, duration: float | None) -> ir.Title:
        at = float(bound.kwargs.get("at") or 0.0)  # type: ignore[arg-type]
        length = bound.kwargs.get("for")
        if duration is not None:
            if at >= duration:
                self.report(error("E0202", f"this title starts at {at:g}s, after the "
                                           f"{duration:g}s shot ends", bound.kwarg_span("at"),
                                  label="too late", help=f"use at= less than {duration:g}s"))
            elif length is not None and at + float(length) > duration + 1e-9:  # type: ignore[arg-type]
                self.report(error("E0202", f"this title runs to {at + float(length):g}s, "  # type: ignore[arg-type]
                                           f"past the end of the {duration:g}s shot",
                                  bound.kwarg_span("for"), label="too long",
                                  help=f"use for= at most {duration - at:g}s"))
        return ir.Title(text=str(bound.arg()), at=at,
                        duration=float(length) if length is not None else None,  # type: ignore[arg-type]
                        origin=bound.span)

    def _sound(self, bound: Bound, duration: float | None) -> ir.Sound:
        at = float(bound.kwargs.get("at") or 0.0)  # type: ignore[arg-type]
        if duration is not None and at >= duration:
            self.report(error("E0202", f"this sound starts at {at:g}s, after the {duration:g}s "
                                       "shot ends", bound.kwarg_span("at"), label="too late",
                              help=f"use at= less than {duration:g}s"))
        volume = bound.kwargs.get("volume")
        return ir.Sound(name=str(bound.arg()), at=at,
                        volume=float(volume) if volume is not None else 1.0,  # type: ignore[arg-type]
                        origin=bound.span)


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


def _made_spans(statement: ast.Property | ast.Block, scene: ir.Scene | None,
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
