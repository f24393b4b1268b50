"""Transitions: `cut`, `fade`, `dissolve` and `wipe`, bound and checked where they join shots.

A transition between scenes stands at the top level; inside a scene it joins two shots, or
fades the scene in or out. `Joins` checks what can be known before the timeline is solved:
two in a row, one with nothing on its other side, one longer than the shots it overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.diagnostics import Label, error
from filmlang.semantic import schema
from filmlang.semantic.bind import Bound
from filmlang.semantic.scene_memo import FILM_FPS, note
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.checker import Checker


@dataclass
class Transition:
    bound: Bound
    value: ir.Transition


class Joins:
    def __init__(self, checker: Checker, film: ir.Film) -> None:
        self.checker = checker
        self.film = film

    def report(self, diagnostic: Any) -> None:
        self.checker.report(diagnostic)

    def join(self, before: ir.Scene, after: ir.Scene, transition: Transition | None
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
        self.check_overlap(transition, last, first)
        self.leaves_a_frame(transition, last)
        shots = (first.model_copy(update={"transition_in": transition.value}), *after.shots[1:])
        return after.model_copy(update={"shots": shots})

    def leaves_a_frame(self, transition: Transition, last: ir.Shot) -> None:
        """A dissolve or wipe between scenes leaves the scene before a frame of its own (its
        chapter would be empty); longer than the shot is `_check_overlap`'s error."""
        value = transition.value
        if value.kind not in ("dissolve", "wipe") or last.duration is None \
                or value.duration > last.duration + 1e-9:
            return
        note(self.checker.templates, FILM_FPS)
        if value.frames >= max(1, ir.to_frames(last.duration, self.film.fps)):
            self.report(error(
                "E0202", f"this {value.kind} covers all of the scene before it",
                transition.bound.arg_span(), label="as long as the shot",
                notes=[Label(span=last.origin, message="the scene's last shot")],
                help=f"make it shorter than {last.duration:g}s, so that the scene keeps a "
                     "frame of its own"))

    def edge_error(self, transition: Transition, where: str, instead: str) -> None:
        kind = transition.value.kind
        help = f"a transition stands between two scenes; to fade from or to black, put " \
               f"'fade {transition.value.duration:g}s' {instead}"
        if kind != "fade":
            help = f"'{kind}' joins two scenes; remove it, or add a scene on its other side"
        self.report(error("E0303", f"'{kind}' {where}", transition.bound.statement.name_span,
                          label="nothing on the other side", help=help))

    def two_in_a_row(self, transition: Transition, previous: Transition) -> None:
        self.report(error(
            "E0303", "two transitions in a row", transition.bound.statement.name_span,
            label="second transition",
            notes=[Label(span=previous.bound.statement.name_span, message="the first one")],
            help="keep one of them; shots are joined by one transition"))

    def transition(self, statement: ast.Property | ast.Block,
                    context: schema.Context) -> Transition | None:
        bound = self.checker.binder.bind(statement, context)
        if bound is None or not bound.ok:
            return None
        kind = bound.name
        duration = float(bound.arg()) if kind != "cut" else 0.0  # type: ignore[arg-type]
        note(self.checker.templates, FILM_FPS)
        value = ir.Transition(kind=kind, duration=duration,
                              frames=ir.to_frames(duration, self.film.fps), origin=statement.span)
        return Transition(bound, value)

    def check_overlap(self, transition: Transition, before: ir.Shot, after: ir.Shot) -> None:
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
