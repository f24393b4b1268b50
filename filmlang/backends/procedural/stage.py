"""The stage of a shot: its figures, their places and poses over time, and its props.

`stage_of(spec)` lays a shot out once: each subject's place on the ground (its slot, by the
framing), the pose tracks its beats give (`poses.tracks`), the props the shot shows and
where each stands (under a sitter a chair, beside a door's opener the door, a table
between the figures; small things in a hand or on the table). `draw_stage(canvas, stage,
t, seconds)` draws them all at one moment: the still draws t = 0 (or a moment of the action
for the storyboard) and a shot whose figures move draws every frame this way over its
plate, the place without the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from filmlang.backends.procedural.figures import MouthAnchor, draw_figure
from filmlang.backends.procedural.looks import Figure, figure_of
from filmlang.backends.procedural.poses import REST, Pose, Slot, Track, ease, tracks
from filmlang.backends.procedural.props import HELD, draw_prop, size_of
from filmlang.backends.procedural.scene import Canvas
from filmlang.backends.procedural.spec import StillSpec, words_of

Point = tuple[float, float]

# Where a framing puts a figure: head height and head top, both in frame heights, and the
# spacing between neighbours in frame widths. A full figure is about 7.3 heads tall.
FRAMINGS: dict[str, tuple[float, float, float, int]] = {
    #                 head  top   spacing detail
    "wide": (0.052, -1.0, 0.15, 0),
    "medium": (0.21, 0.2, 0.3, 1),
    "close": (0.5, 0.12, 0.42, 2),
    "extreme_close": (1.35, -0.16, 0.55, 2),
}
PLACED_AT = (0.84, 0.16, 0.7, 0.3, 0.92, 0.08)
"""Where large props stand when no action places them, in frame widths."""


@dataclass
class Placed:
    """A prop standing in the shot: kind, x in frame widths, and how open over time."""

    kind: str
    x: float
    opens: list[tuple[float, float, float, float]] = field(default_factory=list)
    """(start, end, from, to): a door or window swinging over part of the shot."""

    def opened(self, t: float) -> float:
        value = 0.0
        for start, end, a, b in self.opens:
            if t >= start:
                value = a + (b - a) * ease((t - start) / max(1e-6, end - start))
        return value


@dataclass
class Stage:
    names: list[str]
    figures: list[Figure]
    slots: dict[str, Slot]
    tracks: dict[str, Track]
    placed: list[Placed]
    loose: list[str]
    """Small props not held at the start: on the table, or at the first figure's feet."""
    framing: str
    over_shoulder: bool
    held: dict[str, str] = field(default_factory=dict)

    @property
    def moving(self) -> bool:
        """Whether anything changes over the shot (then every frame is drawn)."""
        for track in self.tracks.values():
            poses = [p for _, p in track.keys]
            if any(p != poses[0] for p in poses) or any(p.repeat for p in poses):
                return True
        return any(p.opens for p in self.placed)


def _slots(names: list[str], framing: str) -> dict[str, Slot]:
    _, _, spacing, _ = FRAMINGS.get(framing, FRAMINGS["medium"])
    n = len(names)
    spacing = min(spacing, 0.8 / max(1, n - 1)) if n > 1 else spacing
    return {name: Slot(name, 0.5 + (k - (n - 1) / 2) * spacing)
            for k, name in enumerate(names)}


def stage_of(spec: StillSpec) -> Stage:
    names = [s.name or f"#{k}" for k, s in enumerate(spec.subjects)]
    figures = [figure_of(s.look, s.color, s.seed, words_of(s.look)) for s in spec.subjects]
    slots = _slots(names, spec.framing)
    beats = [(verb, actor, target, spec.prop_kind(prop), start, end)
             for verb, actor, target, prop, start, end in spec.beats]
    moves = tracks(beats, slots) if names else {}
    for name, track in moves.items():
        if len(names) > 1 and not any(b[1] == name for b in beats):
            # A figure with nothing to do faces the others.
            here = slots[name].x
            track.keys = [(t, p if p.facing else Pose(**{**p.__dict__, "facing": (
                1.0 if here < 0.5 else -1.0) * 0.6})) for t, p in track.keys]
    kinds = [spec.prop_kind(p) for p in spec.props]
    placed, loose = _placing(kinds, beats, slots)
    return Stage(names, figures, slots, moves, placed, loose, spec.framing,
                 spec.shot_type == "over_shoulder")


def _placing(kinds: list[str], beats: list[tuple[str, str, str, str, float, float]],
             slots: dict[str, Slot]) -> tuple[list[Placed], list[str]]:
    placed: list[Placed] = []
    taken: set[str] = set()
    first = next(iter(slots.values()), Slot("", 0.5))
    for verb, actor, _, _, start, end in beats:
        who = slots.get(actor, first)
        if verb == "sit" or (verb == "stand" and "bed" not in kinds):
            if not any(p.kind in ("chair", "sofa", "bed") for p in placed):
                placed.append(Placed("sofa" if "sofa" in kinds else "chair", who.x))
                taken.add(placed[-1].kind)
        elif verb == "lie" and "bed" in kinds and "bed" not in taken:
            placed.append(Placed("bed", who.x - 0.08))
            taken.add("bed")
        elif verb in ("open", "close"):
            kind = "window" if "window" in kinds else "door"
            door = next((p for p in placed if p.kind == kind), None)
            if door is None:
                side = 1.0 if who.x >= 0.5 else -1.0
                door = Placed(kind, min(0.95, max(0.05, who.x + side * 0.13)))
                placed.append(door)
                taken.add(kind)
            a, b = (0.0, 1.0) if verb == "open" else (1.0, 0.0)
            if verb == "close" and not door.opens:
                door.opens.append((0.0, 0.0, 1.0, 1.0))
            door.opens.append((start, end, a, b))
    spots = iter(PLACED_AT)
    loose = []
    for kind in kinds:
        if kind in taken:
            continue
        taken.add(kind)
        if kind in HELD:
            loose.append(kind)
        elif kind == "table" and slots:
            placed.append(Placed(kind, 0.5))
        else:
            placed.append(Placed(kind, next(spots, 0.5)))
    return placed, loose


def draw_stage(c: Canvas, stage: Stage, ground: float, t: float, seconds: float,
               tint: tuple[float, float, float]) -> tuple[list[MouthAnchor | None],
                                                          list[dict[str, Point]]]:
    """Draw the stage's props and figures at fraction t of the shot (`seconds` into it);
    gives each figure's mouth and joints in canvas pixels."""
    head, top, _, detail = FRAMINGS.get(stage.framing, FRAMINGS["medium"])
    if stage.over_shoulder and len(stage.names) >= 2:
        return _over_shoulder(c, stage)
    if top < -0.5:
        top = ground - 7.3 * head
    u = head * c.fh
    floor = c.y(top) + 7.3 * u
    poses = {name: stage.tracks[name].at(t, seconds) if name in stage.tracks else REST
             for name in stage.names}
    held = {p.held for p in poses.values() if p.held}
    table = next((p for p in stage.placed if p.kind == "table"), None)
    for prop in stage.placed:
        draw_prop(c.draw, prop.kind, c.x(prop.x), floor, size_of(prop.kind) * u, tint,
                  opened=prop.opened(t))
    for k, kind in enumerate(stage.loose):
        if kind in held:
            continue
        if table is not None:
            x, base = c.x(table.x - 0.05 + 0.06 * k), floor - size_of("table") * u * 0.94
        elif stage.slots:
            lead = next(iter(stage.slots.values()))
            x, base = c.x(lead.x + poses[lead.name].dx + 0.07 + 0.05 * k), floor
        else:
            x, base = c.x(0.5 + 0.08 * k), floor
        draw_prop(c.draw, kind, x, base, size_of(kind) * u, tint)
    mouths: list[MouthAnchor | None] = []
    joints: list[dict[str, Point]] = []
    # Feet on one ground where they are seen, or where heights are compared side by side;
    # a single figure framed closer keeps its face where the framing puts a face.
    grounded = stage.framing == "wide" or (stage.framing == "medium" and len(stage.names) > 1)
    for name, fig in zip(stage.names, stage.figures, strict=True):
        pose = poses[name]
        slot = stage.slots[name]
        mouth, where = draw_figure(c, fig, c.x(slot.x + pose.dx), c.y(top), u, pose=pose,
                                   detail=detail,
                                   grounded=grounded)
        if pose.held:
            hx, hy = where["hand_r"] if pose.hand_r is not None or not pose.hand_l else \
                where["hand_l"]
            size = size_of(pose.held) * u
            draw_prop(c.draw, pose.held, hx, hy + size * 0.3, size, tint)
        mouths.append(mouth)
        joints.append(where)
    return mouths, joints


def _over_shoulder(c: Canvas, stage: Stage) -> tuple[list[MouthAnchor | None],
                                                      list[dict[str, Point]]]:
    """The listener, seen from behind in the foreground, frames the speaker."""
    head, top, _, detail = FRAMINGS["medium"]
    seen = []
    joints = []
    for k, fig in enumerate(stage.figures[1:]):
        mouth, where = draw_figure(c, fig, c.x(0.64 + 0.12 * k), c.y(top + 0.02),
                                   head * c.fh, pose=Pose(facing=-0.7), detail=detail,
                                   grounded=False)
        seen.append(mouth)
        joints.append(where)
    _, back = draw_figure(c, stage.figures[0], c.x(0.19), c.y(0.27), 0.52 * c.fh,
                          pose=Pose(back=True), detail=0, grounded=False)
    return [None, *seen], [back, *joints]
