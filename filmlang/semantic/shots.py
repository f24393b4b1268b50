"""Shots: `shot TYPE SUBJECT* [DURATION] { ... }` checked to `ir.Shot`.

The head (type, subjects, fixed length), the body's settings and dialogue, the rendered
action and prompt, the seed, titles and sounds. A scene's order of shots and transitions
is `scenes.Scenes._sequence`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Label, error
from filmlang.semantic import pictures, schema
from filmlang.semantic.bind import Bound
from filmlang.semantic.declarations import body_of, prompt_span
from filmlang.semantic.templates import Obj
from filmlang.semantic.values import did_you_mean, shown
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker

LEAD_IN = 0.5
GAP = 0.3
TAIL = 0.7
DEFAULT_SHOT_LENGTH = 3.0


class Shots:
    def __init__(self, checker: Checker, film: ir.Film, characters: dict[str, ir.Character],
                 shottypes: dict[str, ir.ShotType], character_objs: dict[str, Obj]) -> None:
        self.checker = checker
        self.film = film
        self.characters = characters
        self.shottypes = shottypes
        self.character_objs = character_objs

    def report(self, diagnostic: Any) -> None:
        self.checker.report(diagnostic)

    def shot(self, statement: ast.Property | ast.Block, scene: str, index: int,
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
        picture = pictures.picture(self.checker, values["picture"][0], duration) \
            if "picture" in values else None
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
            picture=picture, origin=statement.span)

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
                    self.unknown_character(value.name, value.span)
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

    def unknown_character(self, name: str, span: Any) -> None:
        hint = did_you_mean(name, list(self.characters))
        self.report(error("E0102", f"unknown character '{name}'", span, label="not declared",
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
        return ir.Line(speaker=dialogue.speaker, parenthetical=dialogue.parenthetical,
                       text=" ".join(text.split()),
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
