"""Figures for the procedural animatic: a posable body and head per character.

Takes a `Canvas`, a `Figure` (what the look says: `looks.figure_of`) and a `Pose` (what the
action says at this moment: `poses`); draws the figure with a thin dark outline so that it
reads over any background. Limbs are two bones each, placed by inverse kinematics from
where the pose wants the hands and feet; sitting lowers the hips, lying turns the whole
figure about its feet, walking swings the legs. Age sets the proportions (`Body`): a
child is about three quarters of an adult's height with a bigger head for its size, an
old figure stoops. Framing scales and moves one full figure (wide: small and whole;
medium: waist up; close: head and shoulders); what falls outside the frame is cropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import ImageDraw

from filmlang.backends.procedural.looks import Figure, figure_of, parse_color
from filmlang.backends.procedural.poses import REST, Pose
from filmlang.backends.procedural.scene import RGB, Canvas, mix, scale

__all__ = ["Body", "Figure", "MouthAnchor", "Pen", "draw_figure", "figure_of", "parse_color"]

Point = tuple[float, float]


@dataclass(frozen=True)
class MouthAnchor:
    """Where a drawn face's mouth is, in canvas pixels: its centre, its width, its lip colour.

    Lip sync draws the open mouth here (see `procedural_mouths`); the still itself shows it
    closed.
    """

    x: float
    y: float
    width: float
    lip: RGB


@dataclass(frozen=True)
class Body:
    """A body's proportions in head units, from the head's top (y down)."""

    head: float
    """The head's size relative to an adult's."""
    shoulder: float
    hip: float
    foot: float
    upper_arm: float
    forearm: float

    @property
    def thigh(self) -> float:
        return (self.foot - self.hip) * 0.49

    @property
    def shin(self) -> float:
        return (self.foot - self.hip) * 0.51

    @classmethod
    def of(cls, age: str) -> Body:
        return BODIES.get(age, BODIES["adult"])


BODIES = {
    "adult": Body(1.0, 1.58, 3.9, 6.95, 1.0, 1.05),
    "old": Body(1.0, 1.62, 3.85, 6.6, 0.98, 1.02),
    "teen": Body(0.95, 1.55, 3.8, 6.75, 0.98, 1.0),
    "child": Body(0.94, 1.42, 3.15, 5.4, 0.8, 0.82),
}
ADULT_HEIGHT = 7.3
"""An adult figure's height in head units, from the head's top to the shoes' soles."""


class Pen:
    """Draws shapes in head units around a figure's centre line, outline first; turns them
    about a pivot (`turn`, radians) when the figure lies down."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, top: float, u: float,
                 turn: float = 0.0, pivot: float = 0.0) -> None:
        self.d, self.cx, self.top, self.u = draw, cx, top, u
        self.w = min(5.0, max(1.0, u * 0.035))
        self.cos, self.sin, self.pivot = math.cos(turn), math.sin(turn), pivot

    def p(self, x: float, y: float) -> Point:
        dy = y - self.pivot
        x, y = x * self.cos + dy * self.sin, self.pivot + dy * self.cos - x * self.sin
        return (self.cx + x * self.u, self.top + y * self.u)

    def ellipse(self, x: float, y: float, rx: float, ry: float, fill: RGB,
                line: RGB | None = None) -> None:
        px, py = self.p(x, y)
        if abs(self.sin) > 0.7:
            rx, ry = ry, rx
        rx, ry = rx * self.u, ry * self.u
        if line is not None:
            self.d.ellipse((px - rx - self.w, py - ry - self.w, px + rx + self.w,
                            py + ry + self.w), fill=line)
        self.d.ellipse((px - rx, py - ry, px + rx, py + ry), fill=fill)

    def capsule(self, a: Point, b: Point, width: float, fill: RGB,
                line: RGB | None = None) -> None:
        pa, pb = self.p(*a), self.p(*b)
        for color, extra in ((line, self.w), (fill, 0.0)):
            if color is None:
                continue
            r = width * self.u / 2 + extra
            self.d.line((pa, pb), fill=color, width=max(1, round(r * 2)))
            for px, py in (pa, pb):
                self.d.ellipse((px - r, py - r, px + r, py + r), fill=color)

    def polygon(self, points: list[Point], fill: RGB, line: RGB | None = None) -> None:
        pts = [self.p(x, y) for x, y in points]
        if line is not None:
            self.d.line([*pts, pts[0]], fill=line, width=max(1, round(self.w * 2)),
                        joint="curve")
            r = self.w
            for px, py in pts:
                self.d.ellipse((px - r, py - r, px + r, py + r), fill=line)
        self.d.polygon(pts, fill=fill)

    def arc(self, x: float, y: float, rx: float, ry: float, start: float, end: float,
            color: RGB, width: float) -> None:
        (x0, y0), (x1, y1) = self.p(x - rx, y - ry), self.p(x + rx, y + ry)
        self.d.arc((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), start, end,
                   fill=color, width=max(1, round(width * self.u)))

    def box(self, x: float, y: float, rx: float, ry: float) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self.p(x - rx, y - ry), self.p(x + rx, y + ry)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def reach(start: Point, target: Point, first: float, second: float, bend: float) -> Point:
    """The middle joint (elbow, knee) of a two-bone limb from `start` toward `target`,
    bent to the side `bend` says (+1 or -1): inverse kinematics by the law of cosines."""
    dx, dy = target[0] - start[0], target[1] - start[1]
    d = max(1e-6, min(math.hypot(dx, dy), first + second - 1e-6))
    cos_a = (first * first + d * d - second * second) / (2 * first * d)
    a = math.acos(max(-1.0, min(1.0, cos_a))) * bend
    base = math.atan2(dy, dx)
    return (start[0] + first * math.cos(base + a), start[1] + first * math.sin(base + a))


def _limb(start: Point, target: Point, first: float, second: float) -> Point:
    """Where a limb's end gets to: the target, or as far toward it as the limb reaches."""
    dx, dy = target[0] - start[0], target[1] - start[1]
    d = math.hypot(dx, dy)
    k = min(1.0, (first + second - 1e-3) / max(1e-6, d))
    return (start[0] + dx * k, start[1] + dy * k)


def draw_figure(c: Canvas, fig: Figure, cx: float, top: float, u: float, *,
                pose: Pose = REST, detail: int = 1,
                grounded: bool = True) -> tuple[MouthAnchor | None, dict[str, Point]]:
    """Draw a figure standing with its head's top at (cx, top) in canvas pixels, u pixels
    per (adult) head, in `pose`. `detail` 0 draws no face, 1 eyes and mouth, 2 brows and
    nose as well. `grounded`: a shorter body stands on the adult's ground (its head lower);
    else its head stays where an adult's would be (a close-up frames the face). Gives
    where the mouth is (None when the face is not drawn) and where the
    joints are, in canvas pixels (head, hip, hand_r, hand_l, foot_r, foot_l)."""
    body = Body.of(fig.age)
    hu = u * body.head
    ground = ADULT_HEIGHT * u
    if grounded:  # the head's top for this body standing on an adult's ground
        top = top + ground - (body.foot + 0.17) * hu
    drop = pose.sit * body.thigh * 0.9  # seated: the hips come down to a seat's height
    turn = pose.lie * math.pi / 2
    pen = Pen(c.draw, cx, top, hu, turn=turn, pivot=body.foot)
    w = fig.width
    body_c, dark = fig.color, scale(fig.color, 0.42)
    legs = mix(scale(fig.color, 0.35), (52, 54, 62), 0.6)
    hip_y = body.hip + drop
    stoop = fig.stoop
    joints: dict[str, Point] = {}
    for side in (-1, 1):
        hip = (side * 0.33 * w, hip_y)
        swing = pose.stride * side
        foot = (side * (0.36 * w + 0.5 * pose.sit) + 0.35 * swing,
                body.foot - max(0.0, swing) * 0.35)
        foot = _limb(hip, foot, body.thigh, body.shin)
        knee = reach(hip, foot, body.thigh, body.shin, -side)
        pen.capsule(hip, knee, 0.46 * w, legs, scale(legs, 0.6))
        pen.capsule(knee, foot, 0.44 * w, legs, scale(legs, 0.6))
        pen.ellipse(foot[0] + side * 0.06, foot[1] + 0.17, 0.3, 0.14, (40, 36, 34),
                    (20, 18, 18))
        joints["foot_r" if side > 0 else "foot_l"] = pen.p(*foot)
    joints["hip"] = pen.p(0.0, hip_y)
    shoulder_y = body.shoulder + drop + stoop
    neck = (0.0, shoulder_y - 0.36)
    head_y = shoulder_y - body.shoulder + pose.nod + stoop * 0.4
    if fig.long_hair:
        pen.polygon([(-0.42, head_y + 0.4), (0.42, head_y + 0.4), (0.5, head_y + 1.6),
                     (-0.5, head_y + 1.6)], fig.hair, scale(fig.hair, 0.55))
    pen.capsule((0.0, head_y + 0.8), neck, 0.3, fig.skin, scale(fig.skin, 0.55))
    sw = 0.98 * w
    torso = [(-sw, shoulder_y - 0.08), (-sw * 0.8, shoulder_y - 0.36),
             (sw * 0.8, shoulder_y - 0.36), (sw, shoulder_y - 0.08),
             (sw * 0.76, hip_y - 0.5), (sw * 0.82, hip_y + 0.1), (-sw * 0.82, hip_y + 0.1),
             (-sw * 0.76, hip_y - 0.5)]
    pen.polygon(torso, body_c, dark)
    _clothes(pen, fig, sw, shoulder_y, hip_y, pose.back)
    if fig.long_hair and not pose.back:  # a braid or a lock over the shoulder
        pen.capsule((0.3, head_y + 1.0), (0.42, head_y + 2.3), 0.18, fig.hair,
                    scale(fig.hair, 0.55))
    for side in (-1, 1):
        _arm(pen, fig, body, pose, side, (side * 0.86 * w, shoulder_y), joints)
    mouth = draw_head(pen, fig, head_y, facing=pose.facing, back=pose.back, detail=detail)
    joints["head"] = pen.p(0.0, head_y + 0.5)
    return mouth, joints


def _clothes(pen: Pen, fig: Figure, sw: float, shoulder_y: float, hip_y: float,
             back: bool) -> None:
    """The accent in the character's colour, the scarf, the apron, the neckline."""
    if fig.apron and not back:
        apron = (236, 232, 222)
        pen.polygon([(-sw * 0.55, shoulder_y + 0.5), (sw * 0.55, shoulder_y + 0.5),
                     (sw * 0.7, hip_y + 0.9), (-sw * 0.7, hip_y + 0.9)], apron,
                    scale(apron, 0.7))
    if fig.scarf:
        pen.capsule((-sw * 0.7, shoulder_y - 0.28), (sw * 0.7, shoulder_y - 0.28), 0.3,
                    fig.accent, scale(fig.accent, 0.5))
        if not back:
            pen.capsule((sw * 0.35, shoulder_y - 0.2), (sw * 0.45, shoulder_y + 0.9), 0.22,
                        fig.accent, scale(fig.accent, 0.5))
    elif not back:
        pen.polygon([(-0.17, shoulder_y - 0.36), (0.17, shoulder_y - 0.36),
                     (0.0, shoulder_y - 0.03)], fig.skin)


def _arm(pen: Pen, fig: Figure, body: Body, pose: Pose, side: int, shoulder: Point,
         joints: dict[str, Point]) -> None:
    target = pose.hand_r if side > 0 else pose.hand_l
    if target is None:
        swing = -pose.stride * side * 0.5
        target = (side * (1.0 * fig.width + 0.06) + swing * 0.3, shoulder[1] + 2.0)
    else:
        target = (target[0] * side if side < 0 else target[0], target[1] + shoulder[1] - 1.58)
    hand = _limb(shoulder, target, body.upper_arm, body.forearm)
    elbow = reach(shoulder, hand, body.upper_arm, body.forearm, side)
    sleeve, dark = scale(fig.color, 0.84), scale(fig.color, 0.42)
    pen.capsule(shoulder, elbow, 0.36 * fig.width, sleeve, dark)
    pen.capsule(elbow, hand, 0.33 * fig.width, sleeve, dark)
    pen.ellipse(hand[0], hand[1] + 0.05, 0.15, 0.17, fig.skin, scale(fig.skin, 0.55))
    joints["hand_r" if side > 0 else "hand_l"] = pen.p(hand[0], hand[1] + 0.05)


def draw_head(pen: Pen, fig: Figure, y: float, *, facing: float, back: bool,
              detail: int) -> MouthAnchor | None:
    """The head whose top is at height `y` (head units): hair, face, hat, glasses."""
    skin_line = scale(fig.skin, 0.55)
    hair_line = scale(fig.hair, 0.55)
    shift = facing * 0.07
    if not back:
        for side in (-1, 1):
            pen.ellipse(side * 0.39 + shift * 0.3, y + 0.56, 0.07, 0.11,
                        scale(fig.skin, 0.92), skin_line)
    hair_fill = fig.skin if fig.bald else fig.hair
    pen.ellipse(0.0, y + 0.5, 0.4, 0.51, hair_fill, hair_line if not fig.bald else skin_line)
    if back:
        if fig.cap or fig.hat:
            pen.ellipse(0.0, y + 0.2, 0.42, 0.24, (58, 60, 70), (30, 30, 36))
        return None
    # The face: a skin oval over the lower part of the hair, leaving a hairline on top.
    pen.ellipse(shift * 0.4, y + 0.58, 0.35, 0.42, fig.skin)
    if fig.beard or fig.stubble:
        shade = fig.hair if fig.beard else mix(fig.skin, fig.hair, 0.35)
        pen.d.chord(pen.box(shift * 0.4, y + 0.58, 0.36, 0.43), 10, 170, fill=shade)
        pen.ellipse(shift, y + 0.78, 0.1, 0.035, fig.skin)
    _headwear(pen, fig, y, shift)
    if detail <= 0:
        return None
    ink = (34, 26, 24)
    for side in (-1, 1):
        ex = side * 0.16 + shift
        if detail >= 2:
            pen.ellipse(ex, y + 0.52, 0.075, 0.05, (246, 244, 238))
            pen.ellipse(ex + facing * 0.03, y + 0.52, 0.04, 0.045, ink)
            pen.capsule((ex - 0.07, y + 0.43), (ex + 0.07, y + 0.42 - side * 0.006), 0.03,
                        scale(fig.hair, 0.8))
        else:
            pen.ellipse(ex, y + 0.52, 0.045, 0.05, ink)
        if fig.glasses:
            pen.d.ellipse(pen.box(ex, y + 0.52, 0.11, 0.09), outline=(40, 40, 44),
                          width=max(1, round(0.022 * pen.u)))
    if detail >= 2:
        pen.capsule((shift * 1.2, y + 0.58), (shift * 1.7, y + 0.665), 0.05,
                    scale(fig.skin, 0.8))
    pen.arc(shift * 1.2, y + 0.72, 0.12, 0.06, 20, 160, scale(fig.skin, 0.5),
            0.03 if detail >= 2 else 0.045)
    mx, my = pen.p(shift * 1.2, y + 0.75)
    return MouthAnchor(x=mx, y=my, width=0.24 * pen.u, lip=scale(fig.skin, 0.5))


def _headwear(pen: Pen, fig: Figure, y: float, shift: float) -> None:
    if fig.cap:
        hat = (58, 62, 78)
        pen.d.chord(pen.box(0.0, y + 0.28, 0.44, 0.28), 180, 360, fill=hat, outline=hat)
        pen.capsule((-0.42 + shift, y + 0.29), (0.42 + shift, y + 0.29), 0.09,
                    scale(hat, 0.8))
    elif fig.hat:
        hat = (62, 52, 44)
        pen.polygon([(-0.32, y + 0.22), (-0.28, y - 0.12), (0.28, y - 0.12),
                     (0.32, y + 0.22)], hat, scale(hat, 0.6))
        pen.capsule((-0.62, y + 0.22), (0.62, y + 0.22), 0.1, scale(hat, 0.85),
                    scale(hat, 0.6))
