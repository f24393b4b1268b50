"""Shots: `shot TYPE SUBJECT* [DURATION] { ... }` checked to `ir.Shot`.

The head (type, subjects, fixed length), the body's settings and dialogue, the rendered
action and prompt, the seed, titles and sounds. A scene's order of shots and transitions
is `scenes.Scenes._sequence`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Edit, Fix, Label, error, point, warning
from filmlang.ir import derive_seed
from filmlang.semantic import pictures, schema
from filmlang.semantic.bind import Bound
from filmlang.semantic.cast import parenthetical
from filmlang.semantic.declarations import body_of, prompt_span
from filmlang.semantic.overlays import music, sound, title
from filmlang.semantic.scene_memo import (
    FILM,
    FILM_FPS,
    FILM_SEED,
    TYPE_SPAN,
    Prompting,
    ShotMemo,
    Staging,
    Watched,
    changed_for,
    exists,
    note,
    still_valid,
    updated,
    watch,
)
from filmlang.semantic.staging import Reader
from filmlang.semantic.templates import Obj
from filmlang.semantic.values import did_you_mean, fix_to, resolve_let, shown
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker

LEAD_IN = 0.5
GAP = 0.3
TAIL = 0.7
DEFAULT_SHOT_LENGTH = 3.0
_JOINED = frozenset({FILM})
"""What joining a prompt reads (`Shots.join`)."""
_SEEDED = frozenset({FILM_SEED})
"""What a shot with no seed of its own reads to derive one."""
_GIVEN = frozenset({"subjects", "shot"})
"""The names of a prompt's context that the shot gives (`render_parts`), not its scene."""


class Shots:
    def __init__(self, checker: Checker, film: ir.Film, characters: dict[str, ir.Character],
                 shottypes: dict[str, ir.ShotType], character_objs: dict[str, Obj]) -> None:
        self.checker = checker
        self.film = film
        self.characters = characters
        self.shottypes = shottypes
        self.character_objs = character_objs
        self.old: dict[int, ShotMemo] = {}
        """The language server's: the shots of the last check of the scene being checked."""
        self.new: dict[int, ShotMemo] = {}
        self.changed: set[str] = set()
        self.moved: set[str] = set()
        self.prompting: Prompting | None = None
        """The last fresh shot's: what its prompt was rendered from, what it read before,
        and the diagnostics rendering it made (for `ShotMemo`)."""
        self.inside: frozenset[str] = frozenset()
        self.watched: list[Any] = []
        """What `_watch` notes the reads of (`scene_memo.watch`)."""
        self.rendered: tuple[int, int] = (0, 0)
        self.staging: Staging | None = None
        self.staged = 0
        self.derived_seed = False
        self.parts: tuple[str, str] | None = None
        self.template_reads: frozenset[str] = frozenset()
        """The last fresh shot's: what its staging read, and where the diagnostics it made
        end."""
        self.prop_names = {p.name: p.kind for p in film.props}
        self._reader: Reader | None = None
        self._noted: dict[tuple[str, ...], tuple[str, ...]] = {}
        """Subjects -> what looking them up notes (`Prompting.noted`), for this check."""
        self._tables: tuple[list[Any], list[Watched[Any]]] | None = None
        """`watched`, and the tables in it (the templates are the checker's)."""
        self._inputs: tuple[Any, Any, Any] | None = None
        """The last scene's record, style and time, and the inputs of its shots' prompts."""
        self._joined: dict[tuple[str, ...], str] = {}
        """Prompts joined in this check, by their parts (`join`)."""
        self._subject_objs: dict[tuple[str, ...], list[Obj]] = {}
        self._head_props: list[str] = []
        self._remakes: dict[Any, tuple[tuple[str, str], frozenset[str], str]] = {}
        self._restagings: dict[Any, tuple[tuple[ir.Beat, ...], tuple[str, ...], Any]] = {}
        """`again`'s renderings and stagings in this check (`_remade`, `_restaged`)."""

    def report(self, diagnostic: Any) -> None:
        self.checker.report(diagnostic)

    def shot(self, statement: ast.Property | ast.Block, scene: str, index: int,
             context: dict[str, Any], style: str, motion: str, time: str) -> ir.Shot | None:
        """The shot's check; in the language server, the last one while all it read is
        unchanged (its scene is checked again because other characters changed), or the last
        one with its prompt rendered again when only what its prompt reads changed."""
        table = self.characters
        if not isinstance(table, Watched) or table.uses is None:
            return self._shot(statement, scene, index, context, style, motion, time)
        scene_obj = context.get("scene")
        key = (scene, index, motion)
        inputs = self._inputs
        if inputs is None or inputs[0] is not scene_obj or inputs[1] != (style, time):
            inputs = (scene_obj, (style, time), (style, time, tuple(
                scene_obj._fields.items()) if isinstance(scene_obj, Obj) else None))
            self._inputs = inputs  # the same for each shot of the scene
        inputs = inputs[2]
        outer = table.uses
        remembered = self.old.get(id(statement))
        if remembered is not None and remembered.statement is statement \
                and remembered.key == key:
            changed = changed_for(remembered.diagnostics, self.changed, self.moved)
            if remembered.inputs == inputs and still_valid(remembered.uses, changed):
                remembered.move()
                self.checker.diagnostics.extend(remembered.diagnostics)
                self.new[id(statement)] = remembered
                return remembered.shot
            if remembered.prompting is not None and remembered.staging is not None \
                    and remembered.shot is not None \
                    and still_valid(remembered.outside, changed):
                again = self.again(remembered, context, inputs)
                if again.diagnostics:
                    self.checker.diagnostics.extend(again.diagnostics)
                self.new[id(statement)] = again
                return again.shot
        mark = len(self.checker.diagnostics)
        uses: set[str] = set()
        self._watch(uses)
        self.prompting, self.rendered, self.inside = None, (mark, mark), frozenset()
        self.staging, self.staged = None, mark
        self.parts, self.template_reads = None, frozenset()
        self.derived_seed = False
        try:
            shot = self._shot(statement, scene, index, context, style, motion, time)
        finally:
            self._watch(outer)
        everything = frozenset(uses) | self.inside  # the prompt's reads went to `inside`
        if self.derived_seed:  # made again by `again`, like the prompt
            everything |= _SEEDED
        where = statement.span
        self.new[id(statement)] = ShotMemo(
            statement, key, shot, self.checker.diagnostics[mark:], everything,
            where.start, where.end, where.line, outside=frozenset(uses), prompting=self.prompting,
            rendered=(self.rendered[0] - mark, self.rendered[1] - mark),
            staged=self.staged - mark, staging=self.staging, inputs=inputs,
            parts=self.parts, template_reads=self.template_reads,
            derived_seed=self.derived_seed)
        return shot

    def again(self, remembered: ShotMemo, context: dict[str, Any], inputs: Any) -> ShotMemo:
        """A remembered shot whose prompt's inputs changed, but nothing else it read: its
        prompt made again in `context` (with the scene's style and time of `inputs`): its
        templates rendered again unless nothing they read changed, its action staged again
        if its text changed, the rest of its check kept. Reports nothing: the diagnostics
        are the new memo's."""
        assert remembered.prompting is not None and remembered.staging is not None
        assert remembered.shot is not None
        style, time = inputs[0], inputs[1]
        prompting = remembered.prompting
        if prompting.time != time or prompting.style != style:
            prompting = prompting._replace(time=time, style=style)
        remembered.move()
        old = remembered.diagnostics
        before, after = remembered.rendered
        shot = remembered.shot
        staged = old[after:remembered.staged] if old else old
        changed = changed_for(old, self.changed, self.moved)
        outside = remembered.outside
        parts = remembered.parts
        if parts is not None and remembered.inputs == inputs \
                and still_valid(remembered.template_reads, changed):
            # The templates would give what they gave: the film's style or the scene's
            # changed, or what they read only moved.
            reads = remembered.template_reads
            prompt = self.join(prompting, parts[0], parts[1])
            rendered: list[Any] = []
            update: dict[str, Any] = {"prompt": prompt}
        else:
            diagnostics = self.checker.diagnostics
            mark = len(diagnostics)
            table = self.characters
            outer = table.uses if isinstance(table, Watched) else None
            inside: set[str] = set()
            staged_reads: frozenset[str] = frozenset()
            try:
                self._watch(inside)
                if prompting.from_type and TYPE_SPAN + prompting.type in changed:
                    shottype = self.shottypes[prompting.type]  # its prompt changed or moved
                    prompting = prompting._replace(base=(shottype.prompt,
                                                         prompt_span(self.checker, shottype)))
                parts, reads, prompt = self._remade(prompting, context, inside)
                rendered = diagnostics[mark:]
                update = {"action": parts[0], "prompt": prompt}
                if parts[0] != shot.action:
                    del diagnostics[mark:]
                    update["beats"], update["props"], staged_reads = self._restaged(
                        parts[0], remembered.staging, shot)
                    staged = diagnostics[mark:]
            finally:
                del diagnostics[mark:]
                self._watch(outer)
            if staged_reads and not staged_reads <= outside:
                outside = outside | staged_reads
            if reads == remembered.template_reads:
                reads = remembered.template_reads  # the same set: its union below too
        seeded: frozenset[str] = frozenset()
        if remembered.derived_seed:
            seeded = _SEEDED
            if FILM_SEED in changed:
                update["seed"] = derive_seed(self.film.seed, remembered.key[0],
                                             remembered.key[1])
        new = [*rendered, *staged] if rendered or staged else rendered
        made = bool(new or old) and new != old[before:remembered.staged]
        where = remembered.statement.span
        self.checker.scene_memo.reshot += 1  # type: ignore[union-attr]
        uses = remembered.uses if outside is remembered.outside \
            and reads is remembered.template_reads else outside | reads | _JOINED | seeded
        return ShotMemo(
            remembered.statement, remembered.key, updated(shot, update),
            [*old[:before], *new, *old[remembered.staged:]] if made or old else [],
            uses,
            where.start, where.end, where.line, outside=outside, prompting=prompting,
            rendered=(before, before + len(rendered)), staged=before + len(new),
            staging=remembered.staging, inputs=inputs,
            parts=None if rendered else parts, template_reads=reads,
            derived_seed=remembered.derived_seed,
            # The same spans as before (the copy shares them), unless the diagnostics
            # changed: then they are found again when the shot next moves.
            spans=None if made else remembered.spans)

    def _remade(self, prompting: Prompting, context: dict[str, Any], inside: set[str]
                ) -> tuple[tuple[str, str], frozenset[str], str]:
        """`again`'s action and template rendered, what that read (noted in `inside`), and the
        prompt; shared in this check by shots whose renderings read the same, where they
        report nothing (a diagnostic points into its own shot)."""
        found = frozenset(inside) if inside else None  # what finding its type's prompt read
        action = prompting.action[0] if prompting.action is not None else None
        key = self.checker.templates.inputs_key((action or "", prompting.base[0]), context, _GIVEN)
        if key is not None:
            key = (*prompting[:3], action, prompting.base[0], *prompting[5:], key, found)
            shared = self._remakes.get(key)
            if shared is not None:
                self.checker.scene_memo.shared += 1  # type: ignore[union-attr]
                return shared
        mark = len(self.checker.diagnostics)
        parts = self.render_parts(prompting, context)
        # What it read, before joining notes the film's (the shot's: `_JOINED`).
        made = (parts, frozenset(inside), self.join(prompting, parts[0], parts[1]))
        if key is not None and len(self.checker.diagnostics) == mark:
            self._remakes[key] = made
        return made

    def _restaged(self, action: str, staging: Staging, shot: ir.Shot
                  ) -> tuple[tuple[ir.Beat, ...], tuple[str, ...], frozenset[str]]:
        """`again`'s beats and props of a changed action, and the names it asked about;
        shared in this check by shots that read the same, where it reports nothing."""
        key = (action, shot.subjects, staging.action is None, staging.head_props,
               staging.line_beats)  # None: read from the lines, and not shared
        shared = self._restagings.get(key)
        if shared is not None:
            return shared
        asked: set[str] = set()
        mark = len(self.checker.diagnostics)
        self._watch(asked)
        beats, props, _ = self.stage(action, staging, shot.subjects, shot.lines)
        made = (beats, props, frozenset(asked))
        if staging.line_beats is not None and len(self.checker.diagnostics) == mark:
            self._restagings[key] = made
        return made

    def _prompt_watched(self, prompting: Prompting, context: dict[str, Any]) -> tuple[str, str]:
        """`prompt`, noting for the language server what it read and reported apart from
        the rest of the shot's check."""
        table = self.characters
        if not isinstance(table, Watched) or table.uses is None:
            return self.prompt(prompting, context)
        outer = table.uses
        inside: set[str] = set()
        start = len(self.checker.diagnostics)
        self.prompting = prompting
        self._watch(inside)
        try:
            parts = self.render_parts(prompting, context)
            self.template_reads = frozenset(inside)
            return parts[0], self.join(prompting, parts[0], parts[1])
        finally:
            self._watch(outer)
            self.inside = frozenset(inside)
            self.rendered = (start, len(self.checker.diagnostics))
            self.parts = parts if self.rendered[0] == self.rendered[1] else None

    def prompt(self, prompting: Prompting, context: dict[str, Any]) -> tuple[str, str]:
        """The shot's action and prompt, rendered in the scene's `context`."""
        action, base = self.render_parts(prompting, context)
        return action, self.join(prompting, action, base)

    def render_parts(self, prompting: Prompting, context: dict[str, Any]) -> tuple[str, str]:
        """The shot's action and its prompt's template (its own, or its type's), rendered."""
        subjects, type_name, camera = prompting.subjects, prompting.type, prompting.camera
        reads = self.checker.templates.reads
        if reads is not None and prompting.from_type:  # where its template is written
            reads.add(TYPE_SPAN + type_name)
        objs = self.character_objs
        uses = objs.uses if isinstance(objs, Watched) else None
        if uses is not None:  # what `objs[s] for s in subjects if s in objs` notes
            noted = self._noted.get(subjects)
            if noted is None:
                noted = self._noted[subjects] = prompting.noted
            uses.update(noted)
        subject_objs = self._subject_objs.get(subjects)
        if subject_objs is None:  # one list for each set of subjects: the templates cannot
            subject_objs = self._subject_objs[subjects] = [  # change it (an immutable sandbox)
                dict.__getitem__(objs, s) for s in subjects if dict.__contains__(objs, s)]
        shot_context = {**context, "subjects": subject_objs,
                        "shot": Obj("shot", type_name, type=type_name, camera=camera, action="")}
        action = ""
        if prompting.action is not None:
            action = self.checker.render(prompting.action[0], shot_context, prompting.action[1])
        shot_context["shot"] = Obj("shot", type_name, type=type_name, camera=camera, action=action)
        base = self.checker.render(prompting.base[0], shot_context, prompting.base[1])
        return action, base

    def join(self, prompting: Prompting, action: str, base: str) -> str:
        """The prompt: the rendered template, the action, the time, the film's and the
        scene's style."""
        reads = self.checker.templates.reads
        if reads is not None:
            reads.add(FILM)
        parts = (base, action, prompting.time, self.film.style, prompting.style)
        joined = self._joined.get(parts)
        if joined is None:
            joined = self._joined[parts] = ", ".join(
                p.strip().strip(",").strip() for p in parts if p and p.strip())
        return joined

    def _note_asked(self, noted: tuple[str, ...]) -> None:
        """Note that names were asked about (`?NAME`, as given), as the table would."""
        table = self.characters
        uses = table.uses if isinstance(table, Watched) else None
        if uses is not None:
            uses.update(noted)

    def _watch(self, uses: set[str] | None) -> None:
        cached = self._tables
        if cached is None or cached[0] is not self.watched:
            watch(self.watched, uses)
            self._tables = (self.watched, [t for t in self.watched if isinstance(t, Watched)])
            return
        for table in cached[1]:
            table.uses = uses
        self.checker.templates.reads = uses

    def _shot(self, statement: ast.Property | ast.Block, scene: str, index: int,
              context: dict[str, Any], style: str, motion: str, time: str) -> ir.Shot | None:

        # The body is checked whatever the head's problems: every error that can be known.
        type_name, subjects, duration, ok = self._shot_head(statement)
        props, lines, gap = self._body(statement)
        values = {k: v for k, v in props.items() if all(b.ok for b in v)}
        if not ok or type_name is None or type_name not in self.shottypes:
            if "action" in values:  # its template's errors
                camera = str(values["camera"][0].arg()) if "camera" in values else ""
                self.prompt(Prompting(tuple(subjects), type_name or "", camera,
                                      (str(values["action"][0].arg()),
                                       values["action"][0].arg_span()),
                                      ("", statement.span), time, style), context)
            return None
        shottype = self.shottypes[type_name]
        camera = str(values["camera"][0].arg()) if "camera" in values else shottype.camera
        shot_motion = str(values["motion"][0].arg()) if "motion" in values else motion
        seed_value = values["seed"][0].arg() if "seed" in values else None
        self.derived_seed = not isinstance(seed_value, int | float)  # read as `FILM_SEED`
        seed = int(seed_value) if isinstance(seed_value, int | float) else derive_seed(
            self.film.seed, scene, index)
        if duration:
            note(self.checker.templates, FILM_FPS)  # its frames
        prompting = Prompting(
            tuple(subjects), type_name, camera,
            (str(values["action"][0].arg()), values["action"][0].arg_span())
            if "action" in values else None,
            (str(values["prompt"][0].arg()), values["prompt"][0].arg_span())
            if "prompt" in values else (shottype.prompt, prompt_span(self.checker, shottype)),
            time, style, from_type="prompt" not in values)
        action, prompt = self._prompt_watched(prompting, context)
        staging = Staging(values["action"][0].arg_span() if "action" in values else None,
                          tuple(self._head_props))
        beats, held, line_beats = self.stage(action, staging, tuple(subjects), lines)
        self.staging = staging._replace(line_beats=line_beats)
        self.staged = len(self.checker.diagnostics)
        titles = tuple(title(self.checker, b, duration) for b in values.get("title", []))
        picture = pictures.picture(self.checker, values["picture"][0], duration) \
            if "picture" in values else None
        sounds = tuple(sound(self.checker, b, duration) for b in values.get("sound", []))
        cue = music(values["music"][0]) if "music" in values else None
        return ir.Shot(
            scene=scene, index=index, type=type_name, subjects=tuple(subjects),
            duration=duration, frames=ir.to_frames(duration, self.film.fps) if duration else None,
            min_duration=shottype.duration or DEFAULT_SHOT_LENGTH,
            tail=gap if gap is not None and lines else TAIL,
            camera=camera, framing=shottype.framing, action=action, beats=beats, props=held,
            prompt=prompt, seed=seed, motion=shot_motion,
            titles=titles, sounds=sounds, lines=tuple(lines), music=cue,
            transition_in=ir.Transition(kind="cut", origin=statement.span) if index else None,
            picture=picture, origin=statement.span)

    def _body(self, statement: ast.Property | ast.Block
              ) -> tuple[dict[str, list[Bound]], list[ir.Line], float | None]:
        """The settings, the lines and the pause after the last line of a shot's body."""
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
                    fixes=[Fix(title="Add the missing ':'", edits=(Edit(span=point(
                        child.name_span, end=True), text=":"),))],
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
        return props, lines, gap

    def stage(self, action: str, staging: Staging, subjects: tuple[str, ...],
              lines: Sequence[ir.Line]
              ) -> tuple[tuple[ir.Beat, ...], tuple[str, ...], tuple[ir.Beat, ...]]:
        """The action's and parentheticals' beats, the props shown, and the parentheticals'
        beats alone (`Staging.line_beats`, read again only when not given); hints at
        unknown verbs."""
        from filmlang.semantic.staging import KNOWN_VERBS, RememberingReader, parenthetical_beats

        reader = self._reader
        if reader is None:
            memo = self.checker.scene_memo  # asks of names only: `?NAME`
            reader = Reader(self.characters, self.prop_names) if memo is None else \
                RememberingReader(self.characters, self.prop_names, memo.readings_for(
                    (frozenset(dict.keys(self.characters)), tuple(self.prop_names.items()))),
                    self._note_asked, exists)
            self._reader = reader
        reading = reader.read(action, subjects)
        if reading.unknown and staging.action is not None:
            words = ", ".join(dict.fromkeys(reading.unknown))
            self.report(warning(
                "W0005", f"the animatic does not stage '{words}'",
                staging.action, label="not a verb it knows",
                help=f"it stages: {KNOWN_VERBS}; other words only go to the prompt"))
        line_beats = staging.line_beats
        if line_beats is None:
            found: list[ir.Beat] = []
            for k, line in enumerate(lines):
                if line.parenthetical:
                    share = 1.0 / len(lines)
                    found += parenthetical_beats(reader, line.parenthetical, line.speaker,
                                                 round(k * share, 4), round((k + 1) * share, 4))
            line_beats = tuple(found)
        head = staging.head_props
        shown = [*head, *(p for p in reading.props if p not in head)]
        return (*reading.beats, *line_beats), tuple(shown), line_beats

    def _shot_head(self, statement: ast.Property | ast.Block
                   ) -> tuple[str | None, list[str], float | None, bool]:
        """`shot TYPE SUBJECT* [DURATION]`: the type, the subjects, the fixed length, and
        whether all of it is right (the type is None when there is none)."""
        if statement.kwargs:
            kw = statement.kwargs[0]
            self.report(error("E0108", f"'shot' has no argument '{kw.name}'", kw.name_span,
                              label="unknown argument",
                              help="write settings inside the shot's block: shot wide { "
                                   f"{kw.name} ... }}"))
        self._head_props = []
        args = list(statement.args)
        if not args:
            self.report(error("E0203", "a shot needs a shot type", statement.name_span,
                              label="missing a type",
                              help="write: shot wide 4s, or shot close_up MARA"))
            return None, [], None, False
        first = args[0]
        if not isinstance(first, ast.NameValue):
            self.report(error("E0201", "a shot starts with its type", first.span,
                              label="expected a shot type like wide or close_up",
                              help="write: shot TYPE SUBJECT* [DURATION]"))
            return None, [], None, False
        ok = True
        if first.name not in self.shottypes:
            hint = did_you_mean(first.name, list(self.shottypes))
            fix = fix_to(first.span, first.name, list(self.shottypes))
            if first.name in self.characters:  # then `medium` before the character
                hint = f"a shot starts with its type: shot medium {first.name}"
                fix = Fix(title=f"Start the shot with its type: shot medium {first.name}",
                          edits=(Edit(span=point(first.span), text="medium "),))
            self.report(error("E0104", f"unknown shot type '{first.name}'", first.span,
                              label="not a shot type", fixes=[fix],
                              help=hint or "shot types: " + ", ".join(sorted(self.shottypes))))
            ok = False
        subjects: list[str] = []
        duration: float | None = None
        lets = self.checker.scope.lets
        for value in args[1:]:
            if isinstance(value, ast.NameValue) and value.name not in self.characters \
                    and value.name in lets:
                value = resolve_let(value, lets)
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
                ok = self._subject(value, subjects) and ok
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
        return first.name, subjects, duration, ok

    def _subject(self, value: ast.NameValue, subjects: list[str]) -> bool:
        """A name in a shot's head: a character it shows, or a prop (`shot insert LANTERN`)."""
        if value.name in self.prop_names:
            self._head_props.append(value.name)
            return True
        if value.name not in self.characters:
            self.unknown_character(value.name, value.span)
            return False
        if value.name in subjects:
            self.report(error("E0105", f"{value.name} is already in this shot",
                              value.span, label="named twice", help="name each once"))
            return False
        subjects.append(value.name)
        return True

    def unknown_character(self, name: str, span: Any) -> None:
        hint = did_you_mean(name, list(self.characters))
        self.report(error("E0102", f"unknown character '{name}'", span, label="not declared",
                          fixes=[fix_to(span, name, list(self.characters))],
                          help=hint or f"declare it: character {name} {{ look \"...\" }}"))

    def _line(self, dialogue: ast.Dialogue, default_gap: float,
              gap: float | None) -> ir.Line | None:
        if dialogue.speaker not in self.characters:
            self.unknown_character(dialogue.speaker, dialogue.speaker_span)
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

