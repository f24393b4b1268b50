"""Scenes, shots and transitions: the film's playing order, checked, to IR.

Takes the film's top-level items in order (scenes and the transitions between them) and
gives `ir.Scene`s whose shots know their type, subjects, dialogue, rendered prompt, seed
and the transition into them. Timing that needs speech is left to the timeline solver;
what can be known now (a title after the end of a fixed-length shot, a dissolve longer
than its shots) is checked now.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Label, error, warning
from filmlang.semantic import schema
from filmlang.semantic.bind import Bound
from filmlang.semantic.declarations import body_of, prompt_span
from filmlang.semantic.files import audio_file, is_file_name
from filmlang.semantic.headings import Heading, parse_heading
from filmlang.semantic.scene_memo import (
    FILM_MOTION,
    FILM_NAMES,
    LET,
    TYPE,
    TYPE_SPAN,
    Remembered,
    SceneMemo,
    Watched,
    WatchedLets,
    WatchedTypes,
    changed_for,
    changed_names,
    note,
    still_valid,
    unplaced,
    updated,
    watch,
)
from filmlang.semantic.shots import Shots
from filmlang.semantic.templates import Obj
from filmlang.semantic.transitions import Joins, Transition
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker, Item

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
        self.watched: list[Any] = []
        if self.memo is not None:  # note which characters and lets each scene and shot reads
            self.characters = Watched(characters)
            self.character_objs = Watched(self.character_objs)
            scope_lets: WatchedLets[ast.Let] = WatchedLets(checker.scope.lets)
            checker.scope.lets = checker.binder.lets.values = scope_lets
            self.shottypes = WatchedTypes(shottypes)
            self.watched = [self.characters, self.character_objs, scope_lets,
                            self.shottypes, checker.templates]
        self.joins = Joins(checker, film)
        self.shots = Shots(checker, film, self.characters, self.shottypes, self.character_objs)
        self.shots.watched = self.watched
        self._old: dict[int, Remembered] = {}
        self._new: dict[int, Remembered] = {}
        self._changed: set[str] = set()
        self._moved: set[str] = set()
        """The lets moved or changed (`scene_memo.changed_for`)."""
        self._context: dict[str, Any] | None = None
        """The templates' context of the scene being checked (for `Remembered`)."""
        """The characters changed since the last check (see `scene_memo.still_valid`)."""

    def report(self, diagnostic: Any) -> None:
        self.checker.report(diagnostic)

    # ---------------------------------------------------------------- the film's order

    def build(self, items: list[Item]) -> list[ir.Scene]:
        if self.memo is None:
            return self._build(items)
        program = self.checker.program
        entry = f"{program.root}\0{program.entry}"  # entries are named from their folder
        environment = self._environment()
        names: dict[str, dict[str, Any]] = {
            "characters": {name: c.model_dump(exclude={"origin"})  # no scene reads where
                           for name, c in dict.items(self.characters)},
            "lets": {"film": (self.film.title, self.film.style),  # names no let has
                     "\0seed": self.film.seed, "\0fps": self.film.fps,
                     "\0motion": self.film.motion,
                     **{name: (self.lets.get(name), let.model_dump())
                        for name, let in dict.items(self.checker.scope.lets)}},
            "types": {name: t.model_dump(exclude={"origin", "prompt"})
                      for name, t in dict.items(self.shottypes)},
            "spans": {name: (t.prompt, prompt_span(self.checker, t).model_dump())
                      for name, t in dict.items(self.shottypes)}}
        known = self.memo.films.get(entry)
        self._old = known[2] if known is not None and known[0] == environment else {}
        lets = names["lets"]
        names["placed"] = {name: value for name, value in lets.items()}
        names["lets"] = {name: value if name in FILM_NAMES else (value[0], unplaced(value[1]))
                         for name, value in lets.items()}
        self._moved = set() if known is None else changed_names(
            known[1]["placed"], names["placed"], LET)
        self._changed = set() if known is None else changed_names(
            known[1]["characters"], names["characters"]) | changed_names(
            known[1]["lets"], names["lets"], LET) | changed_names(
            known[1]["types"], names["types"], TYPE) | changed_names(
            known[1]["spans"], names["spans"], TYPE_SPAN)
        self.shots.changed, self.shots.moved = self._changed, self._moved
        self._new = {}
        try:
            return self._build(items)
        finally:
            self.memo.films[entry] = (environment, names, self._new)

    def _environment(self) -> Any:
        """By value, all a scene's check reads besides its own statement and the names it
        reads (characters, lets, shot types: see SceneMemo)."""
        # the film's title and style are read as the name `film` (`FILM`), its seed, frame
        # rate and motion as names too (`FILM_SEED`...), the shot types by name (`TYPE`,
        # `TYPE_SPAN`): what is left is the props' names and kinds (for staging)
        return [(p.name, p.kind) for p in self.film.props]

    def _build(self, items: list[Item]) -> list[ir.Scene]:
        scenes: list[ir.Scene] = []
        names: dict[str, ast.Value] = {}
        pending: Transition | None = None
        previous_time: str = "day"
        first_scene = True
        for item in items:
            statement = item.statement
            if statement.name == "film":
                continue
            if statement.name in schema.TRANSITIONS:
                transition = self.joins.transition(statement, schema.TOP)
                if transition is None:
                    continue
                if first_scene:
                    self.joins.edge_error(transition, "before the first scene",
                                     "inside the first scene, before its first shot")
                elif pending is not None:
                    self.joins.two_in_a_row(transition, pending)
                pending = transition
                continue
            scene = self._scene(statement, previous_time, names)
            if scene is None:
                pending = None
                first_scene = False
                continue
            previous_time = scene.time
            if scenes:
                scene = self.joins.join(scenes[-1], scene, pending)
            pending = None
            first_scene = False
            scenes.append(scene)
        if pending is not None and not first_scene:
            self.joins.edge_error(pending, "after the last scene",
                             "inside the last scene, after its last shot")
        return scenes

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
        same = remembered is not None and remembered.statement is statement \
            and remembered.previous_time == previous_time
        if remembered is not None and same and remembered.valid(changed_for(
                remembered.diagnostics, self._changed, self._moved)):
            remembered.move()
            self.checker.diagnostics.extend(remembered.diagnostics)
            self._new[id(statement)] = remembered
            self.memo.hits += 1
            return remembered.scene
        if remembered is not None and same and self._patch(remembered):
            self.memo.patched += 1
            return self._new[id(statement)].scene
        self.memo.misses += 1
        mark = len(self.checker.diagnostics)
        uses: set[str] = set()
        self.shots.old = remembered.shots if remembered is not None \
            and remembered.statement is statement else {}
        self.shots.new = {}
        self._context = None
        self._watch(uses)
        try:
            scene = self._scene_body(statement, previous_time, name, name_value)
        finally:
            self._watch(None)
        made = self.checker.diagnostics[mark:]
        where = statement.span
        own = frozenset(uses)  # its shots' reads are theirs (`Remembered.valid`)
        self._new[id(statement)] = Remembered(
            statement, previous_time, scene, made, where.start, where.end, where.line,
            uses=own, shots=self.shots.new, outside=own, context=self._context)
        return scene

    def _patch(self, old: Remembered) -> bool:
        """The scene as last checked, with the prompts of the shots whose characters or lets
        changed rendered again (`Shots.again`): when only those prompts read the changed
        names, and their diagnostics stay the same (else the scene is checked again). True
        when done."""
        changed = changed_for(old.diagnostics, self._changed, self._moved)
        if old.scene is None or old.context is None or not still_valid(old.outside, changed):
            return False
        stale = [m for m in old.shots.values() if not still_valid(m.uses, changed)]
        if any(m.prompting is None or m.staging is None or m.shot is None
               or not still_valid(m.outside, changed) for m in stale):
            return False
        old.move()
        context = {**self.lets, "film": self._film_obj(), "characters": self.character_objs,
                   "scene": old.context["scene"]}  # as `_scene_body` makes it
        shots = list(old.scene.shots)
        place = {id(shot.origin): n for n, shot in enumerate(shots)}
        memos = dict(old.shots)
        for memo in stale:
            again = self.shots.again(memo, context, memo.inputs)
            if again.diagnostics != memo.diagnostics:
                return False
            n = place.get(id(memo.statement.span))
            if n is not None and again.shot is not None:
                shots[n] = updated(shots[n], {
                    k: getattr(again.shot, k)
                    for k in ("action", "prompt", "beats", "props", "seed")})
            memos[id(memo.statement)] = again
        self.checker.diagnostics.extend(old.diagnostics)
        self._new[id(old.statement)] = replace(
            old, scene=old.scene.model_copy(update={"shots": tuple(shots)}), shots=memos,
            context={**old.context, **context})
        return True

    def _film_obj(self) -> Obj:
        return Obj("film", self.film.title, title=self.film.title, style=self.film.style)

    def _watch(self, uses: set[str] | None) -> None:
        watch(self.watched, uses)

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
        context = {**self.lets, "film": self._film_obj(),
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
            text = str(bound.arg())
            file = audio_file(checker, text, bound.arg_span(), "ambience") \
                if is_file_name(text) else None
            ambience = ir.Ambience(name=text, origin=bound.span, file=file,
                                   **{k: v for k, v in bound.kwargs.items() if v is not None})
        if "motion" not in values:
            note(checker.templates, FILM_MOTION)
        motion = str(values["motion"].arg()) if "motion" in values else self.film.motion
        self._context = context
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
        place = self._place(heading, setting, statement, values)
        return ir.Scene(
            name=name, heading=heading_text, interior=heading.interior,
            location=heading.location, time=time,
            setting=setting, music=music, ambience=ambience, style=style, place=place,
            shots=tuple(shots), origin=statement.span)

    def _place(self, heading: Heading, setting: str, statement: ast.Property | ast.Block,
               values: dict[str, Bound]) -> str:
        """The kind of place the heading or setting names; a hint when they name none."""
        from filmlang.semantic.places import KNOWN_PLACES, place_of

        place = place_of(heading.location, setting, heading.interior)
        if place or not (heading.location or setting).strip():
            return place
        span = values["setting"].arg_span() if "setting" in values else \
            statement.args[1].span if len(statement.args) > 1 else statement.name_span
        where = "an interior" if heading.interior else "an exterior" \
            if heading.interior is False else "a plain place"
        self.report(warning(
            "W0006", "the animatic does not know this place; it paints " + where,
            span, label="no known place named",
            help=f"name a place it knows in the heading or setting: {KNOWN_PLACES}"))
        return place

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
        pending: Transition | None = None
        leading: Transition | None = None
        for statement in sequence:
            assert isinstance(statement, ast.Property | ast.Block)
            if statement.name in schema.TRANSITIONS:
                transition = self.joins.transition(statement, schema.SCENE)
                if transition is None:
                    continue
                if pending is not None or (not shots and leading is not None):
                    self.joins.two_in_a_row(transition, pending or leading)  # type: ignore[arg-type]
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
            shot = self.shots.shot(statement, scene, len(shots), context, style, motion, time)
            if shot is None:
                pending = None
                continue
            if not shots and leading is not None and leading.value.kind == "fade":
                shot = shot.model_copy(update={"fade_in": leading.value})
            if pending is not None and shots:
                self.joins.check_overlap(pending, shots[-1], shot)
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
