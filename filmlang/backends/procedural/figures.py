"""Figures for the procedural stills: a head and a body silhouette per character.

Takes a `Canvas`, a character's look and colour, and where the shot's framing puts the
figure; draws the figure with a thin dark outline so that it reads over any background.
The body is filled with the character's own colour, exactly, so a character is known by it
in every shot; the head has a skin tone and hair, and a few words of the look (grey, blond,
cap, hat, beard, glasses, braid …) change them. Framing only scales and moves one full
figure (wide: small and whole; medium: waist up; close: head and shoulders; extreme
close: the face filling the frame); what falls outside the frame is simply cropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from filmlang.backends.procedural.scene import RGB, Canvas, mix, scale
from filmlang.backends.procedural.spec import wordset

SKIN: tuple[RGB, ...] = ((236, 198, 168), (218, 170, 132), (180, 128, 92), (130, 88, 62))

HAIR: tuple[tuple[frozenset[str], RGB], ...] = (
    (wordset("grey gray silver white"), (184, 184, 188)),
    (wordset("blond blonde golden fair"), (218, 184, 112)),
    (wordset("red ginger auburn redhead"), (164, 72, 40)),
    (wordset("black raven"), (30, 28, 30)),
    (wordset("brown brunette chestnut"), (96, 62, 40)),
)
DEFAULT_HAIR: tuple[RGB, ...] = ((62, 42, 30), (34, 30, 28), (112, 80, 50))


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
class Figure:
    """What a figure looks like: taken from a character's `look`, `color` and `seed`."""

    color: RGB
    skin: RGB
    hair: RGB
    long_hair: bool
    cap: bool
    hat: bool
    beard: bool
    glasses: bool
    bald: bool


def parse_color(text: str) -> RGB:
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    try:
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
    except ValueError:
        return (200, 200, 200)


def figure_of(look: str, color: str, seed: int, words: frozenset[str]) -> Figure:
    hair = DEFAULT_HAIR[seed % len(DEFAULT_HAIR)]
    for names, shade in HAIR:
        if not words.isdisjoint(names):
            hair = shade
            break
    return Figure(
        color=parse_color(color),
        skin=SKIN[(seed // 7) % len(SKIN)],
        hair=hair,
        long_hair=not words.isdisjoint({"braid", "long", "ponytail", "plait", "curls"}),
        cap=not words.isdisjoint({"cap", "beanie", "hood", "hooded"}),
        hat=not words.isdisjoint({"hat", "fedora", "bowler"}),
        beard=not words.isdisjoint({"beard", "bearded"}),
        glasses=not words.isdisjoint({"glasses", "spectacles", "specs"}),
        bald="bald" in words,
    )


class Pen:
    """Draws shapes in head units around a figure's centre line, outline first."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, top: float, u: float) -> None:
        self.d, self.cx, self.top, self.u = draw, cx, top, u
        self.w = min(5.0, max(2.0, u * 0.035))

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + x * self.u, self.top + y * self.u)

    def ellipse(self, x: float, y: float, rx: float, ry: float, fill: RGB,
                line: RGB | None = None) -> None:
        (x0, y0), (x1, y1) = self.p(x - rx, y - ry), self.p(x + rx, y + ry)
        if line is not None:
            self.d.ellipse((x0 - self.w, y0 - self.w, x1 + self.w, y1 + self.w), fill=line)
        self.d.ellipse((x0, y0, x1, y1), fill=fill)

    def capsule(self, a: tuple[float, float], b: tuple[float, float], width: float, fill: RGB,
                line: RGB | None = None) -> None:
        pa, pb = self.p(*a), self.p(*b)
        for color, extra in ((line, self.w), (fill, 0.0)):
            if color is None:
                continue
            r = width * self.u / 2 + extra
            self.d.line((pa, pb), fill=color, width=max(1, round(r * 2)))
            for px, py in (pa, pb):
                self.d.ellipse((px - r, py - r, px + r, py + r), fill=color)

    def polygon(self, points: list[tuple[float, float]], fill: RGB,
                line: RGB | None = None) -> None:
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
        self.d.arc((x0, y0, x1, y1), start, end, fill=color,
                   width=max(1, round(width * self.u)))


def draw_figure(c: Canvas, fig: Figure, cx: float, top: float, u: float, *,
                facing: float = 0.0, back: bool = False, detail: int = 1) -> MouthAnchor | None:
    """Draw a figure whose head top is at (cx, top) in canvas pixels, u pixels per head.

    `facing` in -1..1 turns the face left or right; `back` shows the figure from behind;
    `detail` 0 draws no face, 1 eyes and mouth, 2 brows and nose as well. Gives where the
    mouth is drawn, or None when the face is not.
    """
    pen = Pen(c.draw, cx, top, u)
    body, dark = fig.color, scale(fig.color, 0.42)
    sleeve = scale(fig.color, 0.84)
    legs = mix(scale(fig.color, 0.35), (52, 54, 62), 0.6)
    skin_line = scale(fig.skin, 0.55)
    hair_line = scale(fig.hair, 0.55)
    if detail == 0:
        pen.ellipse(0.0, 7.3, 1.0, 0.16, (0, 0, 0))
    # Legs and shoes, then the torso over their tops.
    for side in (-1, 1):
        pen.capsule((side * 0.33, 3.9), (side * 0.36, 6.95), 0.46, legs, scale(legs, 0.6))
        pen.ellipse(side * 0.42, 7.12, 0.3, 0.14, (40, 36, 34), (20, 18, 18))
    if fig.long_hair:
        pen.polygon([(-0.42, 0.4), (0.42, 0.4), (0.5, 1.6), (-0.5, 1.6)], fig.hair, hair_line)
    pen.capsule((0.0, 0.8), (0.0, 1.3), 0.3, fig.skin, skin_line)
    torso = [(-0.98, 1.5), (-0.78, 1.22), (0.78, 1.22), (0.98, 1.5), (0.74, 3.4), (0.8, 4.0),
             (-0.8, 4.0), (-0.74, 3.4)]
    pen.polygon(torso, body, dark)
    for side in (-1, 1):
        pen.ellipse(side * 0.72, 1.52, 0.3, 0.3, body)
    if not back:
        pen.polygon([(-0.17, 1.22), (0.17, 1.22), (0.0, 1.55)], fig.skin)
    if fig.long_hair and not back:
        pen.capsule((0.3, 1.0), (0.42, 2.3), 0.18, fig.hair, hair_line)
    for side in (-1, 1):
        pen.capsule((side * 0.86, 1.58), (side * 1.0, 3.62), 0.36, sleeve, dark)
        pen.ellipse(side * 1.0, 3.82, 0.15, 0.17, fig.skin, skin_line)
    return draw_head(pen, fig, facing=facing, back=back, detail=detail)


def draw_head(pen: Pen, fig: Figure, *, facing: float, back: bool,
              detail: int) -> MouthAnchor | None:
    skin_line = scale(fig.skin, 0.55)
    hair_line = scale(fig.hair, 0.55)
    shift = facing * 0.07
    if not back:
        for side in (-1, 1):
            pen.ellipse(side * 0.39 + shift * 0.3, 0.56, 0.07, 0.11, scale(fig.skin, 0.92),
                        skin_line)
    hair_fill = fig.skin if fig.bald else fig.hair
    pen.ellipse(0.0, 0.5, 0.4, 0.51, hair_fill, hair_line if not fig.bald else skin_line)
    if back:
        if fig.cap or fig.hat:
            pen.ellipse(0.0, 0.2, 0.42, 0.24, (58, 60, 70), (30, 30, 36))
        return None
    # The face: a skin oval over the lower part of the hair, leaving a hairline on top.
    pen.ellipse(shift * 0.4, 0.58, 0.35, 0.42, fig.skin)
    if fig.beard:
        pen.d.chord(_box(pen, shift * 0.4, 0.58, 0.36, 0.43), 10, 170, fill=fig.hair)
        pen.ellipse(shift + 0.0, 0.78, 0.1, 0.035, fig.skin)
    if fig.cap:
        hat = (58, 62, 78)
        pen.d.chord(_box(pen, 0.0, 0.28, 0.44, 0.28), 180, 360, fill=hat, outline=hat)
        pen.capsule((-0.42 + shift, 0.29), (0.42 + shift, 0.29), 0.09, scale(hat, 0.8))
    elif fig.hat:
        hat = (62, 52, 44)
        pen.polygon([(-0.32, 0.22), (-0.28, -0.12), (0.28, -0.12), (0.32, 0.22)], hat,
                    scale(hat, 0.6))
        pen.capsule((-0.62, 0.22), (0.62, 0.22), 0.1, scale(hat, 0.85), scale(hat, 0.6))
    if detail <= 0:
        return None
    ink = (34, 26, 24)
    for side in (-1, 1):
        ex = side * 0.16 + shift
        if detail >= 2:
            pen.ellipse(ex, 0.52, 0.075, 0.05, (246, 244, 238))
            pen.ellipse(ex + facing * 0.03, 0.52, 0.04, 0.045, ink)
            pen.ellipse(ex + facing * 0.03 + 0.012, 0.508, 0.012, 0.012, (250, 250, 250))
            pen.capsule((ex - 0.07, 0.43), (ex + 0.07, 0.42 - side * 0.006), 0.03,
                        scale(fig.hair, 0.8))
        else:
            pen.ellipse(ex, 0.52, 0.045, 0.05, ink)
        if fig.glasses:
            pen.d.ellipse(_box(pen, ex, 0.52, 0.11, 0.09), outline=(40, 40, 44),
                          width=max(1, round(0.022 * pen.u)))
    if detail >= 2:
        pen.capsule((shift * 1.2, 0.58), (shift * 1.7, 0.665), 0.05,
                    scale(fig.skin, 0.8))
    pen.arc(shift * 1.2, 0.72, 0.12, 0.06, 20, 160, scale(fig.skin, 0.5),
            0.03 if detail >= 2 else 0.045)
    mx, my = pen.p(shift * 1.2, 0.75)
    return MouthAnchor(x=mx, y=my, width=0.24 * pen.u, lip=scale(fig.skin, 0.5))


def _box(pen: Pen, x: float, y: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = pen.p(x - rx, y - ry), pen.p(x + rx, y + ry)
    return (x0, y0, x1, y1)


# Where a framing puts a figure: head height and head top, both in frame heights, and the
# spacing between neighbours in frame widths. A full figure is about 7.3 heads tall.
FRAMINGS: dict[str, tuple[float, float, float, int]] = {
    #                 head  top   spacing detail
    "wide": (0.052, -1.0, 0.15, 0),
    "medium": (0.21, 0.2, 0.3, 1),
    "close": (0.5, 0.12, 0.42, 2),
    "extreme_close": (1.35, -0.16, 0.55, 2),
}


def draw_subjects(c: Canvas, figures: list[Figure], framing: str, ground: float, *,
                  over_shoulder: bool = False) -> list[MouthAnchor | None]:
    """Place and draw a shot's subjects as its framing and type ask.

    Gives each figure's mouth, in the order of `figures`: None where no face is drawn.
    """
    if not figures:
        return []
    if over_shoulder and len(figures) >= 2:
        # The listener, seen from behind in the foreground, frames the speaker.
        head, top, _, detail = FRAMINGS["medium"]
        seen = [draw_figure(c, fig, c.x(0.64 + 0.12 * k), c.y(top + 0.02), head * c.fh,
                            facing=-0.7, detail=detail)
                for k, fig in enumerate(figures[1:])]
        draw_figure(c, figures[0], c.x(0.19), c.y(0.27), 0.52 * c.fh, back=True, detail=0)
        return [None, *seen]
    head, top, spacing, detail = FRAMINGS.get(framing, FRAMINGS["medium"])
    if top < -0.5:
        top = ground - 7.3 * head
    n = len(figures)
    spacing = min(spacing, 0.8 / max(1, n - 1)) if n > 1 else spacing
    mouths: list[MouthAnchor | None] = []
    for k, fig in enumerate(figures):
        offset = k - (n - 1) / 2
        facing = 0.0 if n == 1 else (1.0 if offset < 0 else -1.0)
        mouths.append(draw_figure(c, fig, c.x(0.5 + offset * spacing), c.y(top), head * c.fh,
                                  facing=facing * (0.6 if detail else 0.0), detail=detail))
    return mouths
