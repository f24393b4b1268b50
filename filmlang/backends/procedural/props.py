"""Props for the procedural animatic: a drawn library of common things, as data.

Each prop is a few flat shapes in a box of its own (x across, y up, in units of its height,
its base's middle at 0, 0) and a height in head units (a figure is 7.3), so that a cup is a
cup beside a person and a door a door. `draw_prop` paints one at a place and size under the
scene's light, with a thin outline; a door or window can be drawn part open. Shapes are
hand-written data rather than drawings from a library: there is no small, permissively
licensed vector set of everyday things on PyPI, and these need only read at a glance.
"""

from __future__ import annotations

from typing import Any

from PIL import ImageDraw

from filmlang.backends.procedural.poses import CARRIED
from filmlang.backends.procedural.scene import RGB, scale

Shape = tuple[Any, ...]

C: dict[str, RGB] = {
    "wood": (132, 92, 58), "dark": (70, 50, 36), "metal": (120, 126, 134),
    "glass": (170, 206, 222), "white": (236, 234, 226), "red": (176, 52, 44),
    "brass": (196, 158, 70), "paper": (240, 232, 208), "bread": (206, 150, 80),
    "green": (70, 128, 64), "black": (36, 36, 40), "light": (255, 226, 150),
    "blue": (60, 96, 160), "cloth": (150, 80, 70), "stone": (150, 146, 140),
    "yellow": (232, 196, 60), "pink": (222, 120, 140), "leaf": (60, 110, 56),
}


def _r(x0: float, y0: float, x1: float, y1: float, c: str) -> Shape:
    return ("r", x0, y0, x1, y1, c)


def _e(x: float, y: float, rx: float, ry: float, c: str) -> Shape:
    return ("e", x, y, rx, ry, c)


def _p(c: str, *pts: float) -> Shape:
    return ("p", c, *pts)


def _l(x0: float, y0: float, x1: float, y1: float, w: float, c: str) -> Shape:
    return ("l", x0, y0, x1, y1, w, c)


# kind: (height in head units, shapes)
PROPS: dict[str, tuple[float, tuple[Shape, ...]]] = {
    "lantern": (1.1, (_r(-0.2, 0.0, 0.2, 0.08, "brass"), _r(-0.16, 0.08, 0.16, 0.7, "light"),
                      _l(-0.16, 0.08, -0.16, 0.7, 0.04, "brass"),
                      _l(0.16, 0.08, 0.16, 0.7, 0.04, "brass"), _p("brass", -0.22, 0.7, 0.22,
                                                                  0.7, 0.0, 0.86),
                      _l(-0.12, 0.86, 0.0, 1.0, 0.03, "black"),
                      _l(0.12, 0.86, 0.0, 1.0, 0.03, "black"))),
    "lamp": (2.2, (_r(-0.16, 0.0, 0.16, 0.05, "dark"), _l(0.0, 0.05, 0.0, 0.7, 0.04, "metal"),
                   _p("light", -0.25, 0.7, 0.25, 0.7, 0.14, 1.0, -0.14, 1.0))),
    "door": (7.8, (_r(-0.28, 0.0, 0.28, 1.0, "dark"), _r(-0.25, 0.0, 0.25, 0.97, "wood"),
                   _r(-0.2, 0.55, 0.2, 0.9, "dark"), _r(-0.2, 0.08, 0.2, 0.48, "dark"),
                   _e(0.19, 0.5, 0.025, 0.012, "brass"))),
    "table": (3.4, (_r(-0.75, 0.86, 0.75, 1.0, "wood"), _r(-0.68, 0.0, -0.6, 0.86, "dark"),
                    _r(0.6, 0.0, 0.68, 0.86, "dark"))),
    "chair": (4.4, (_r(-0.3, 0.44, 0.3, 0.52, "wood"), _r(-0.3, 0.52, -0.24, 1.0, "dark"),
                    _r(0.24, 0.52, 0.3, 1.0, "dark"), _r(-0.3, 0.9, 0.3, 0.98, "wood"),
                    _r(-0.29, 0.0, -0.24, 0.44, "dark"), _r(0.24, 0.0, 0.29, 0.44, "dark"))),
    "bed": (3.4, (_r(-1.6, 0.3, 1.6, 0.62, "white"), _r(-1.6, 0.0, -1.5, 1.0, "wood"),
                  _r(1.5, 0.0, 1.6, 0.75, "wood"), _r(-1.0, 0.3, 1.5, 0.66, "blue"),
                  _e(-1.2, 0.68, 0.26, 0.1, "white"))),
    "cup": (0.55, (_r(-0.32, 0.0, 0.32, 1.0, "white"), _e(0.42, 0.55, 0.14, 0.22, "white"),
                   _r(-0.28, 0.86, 0.28, 0.96, "dark"))),
    "bottle": (1.3, (_r(-0.18, 0.0, 0.18, 0.62, "green"), _p("green", -0.18, 0.62, 0.18, 0.62,
                                                             0.06, 0.8, -0.06, 0.8),
                     _r(-0.06, 0.8, 0.06, 1.0, "green"), _r(-0.16, 0.2, 0.16, 0.45, "paper"))),
    "bread": (0.6, (_e(0.0, 0.45, 0.9, 0.45, "bread"), _l(-0.4, 0.7, -0.25, 0.35, 0.06, "dark"),
                    _l(0.0, 0.75, 0.15, 0.4, 0.06, "dark"), _l(0.4, 0.7, 0.55, 0.4, 0.06,
                                                               "dark"))),
    "phone": (0.7, (_r(-0.26, 0.0, 0.26, 1.0, "black"), _r(-0.2, 0.1, 0.2, 0.9, "glass"))),
    "book": (0.8, (_r(-0.4, 0.0, 0.4, 1.0, "red"), _r(-0.34, 0.04, 0.38, 0.96, "paper"),
                   _r(-0.4, 0.0, -0.3, 1.0, "dark"))),
    "letter": (0.6, (_r(-0.5, 0.0, 0.5, 1.0, "paper"), _p("dark", -0.5, 1.0, 0.5, 1.0, 0.0,
                                                          0.45))),
    "bag": (1.6, (_r(-0.5, 0.0, 0.5, 0.75, "cloth"), _l(-0.3, 0.75, -0.2, 1.0, 0.06, "dark"),
                  _l(0.3, 0.75, 0.2, 1.0, 0.06, "dark"), _l(-0.2, 1.0, 0.2, 1.0, 0.06, "dark"),
                  _r(-0.5, 0.5, 0.5, 0.58, "dark"))),
    "car": (5.0, (_p("red", -1.5, 0.2, 1.5, 0.2, 1.5, 0.55, 0.8, 0.6, 0.5, 1.0, -0.6, 1.0,
                     -0.95, 0.6, -1.5, 0.55), _p("glass", -0.5, 0.62, 0.42, 0.62, 0.38, 0.92,
                                                -0.42, 0.92),
                  _e(-0.95, 0.2, 0.24, 0.2, "black"), _e(0.95, 0.2, 0.24, 0.2, "black"),
                  _e(-0.95, 0.2, 0.1, 0.08, "metal"), _e(0.95, 0.2, 0.1, 0.08, "metal"))),
    "boat": (5.0, (_p("wood", -1.6, 0.55, 1.8, 0.55, 1.2, 0.0, -1.3, 0.0),
                   _r(-1.6, 0.5, 1.8, 0.58, "white"), _r(-0.5, 0.58, 0.6, 0.85, "white"),
                   _r(-0.1, 0.85, 0.1, 1.0, "red"))),
    "bicycle": (3.4, (_e(-0.6, 0.32, 0.32, 0.32, "black"), _e(-0.6, 0.32, 0.27, 0.27, "glass"),
                      _e(0.6, 0.32, 0.32, 0.32, "black"), _e(0.6, 0.32, 0.27, 0.27, "glass"),
                      _l(-0.6, 0.32, -0.1, 0.32, 0.04, "red"), _l(-0.1, 0.32, 0.35, 0.72, 0.04,
                                                                  "red"),
                      _l(-0.6, 0.32, -0.2, 0.75, 0.04, "red"), _l(-0.2, 0.75, 0.35, 0.72, 0.04,
                                                                 "red"),
                      _l(0.6, 0.32, 0.35, 0.9, 0.04, "red"), _l(-0.1, 0.32, -0.2, 0.8, 0.04,
                                                                "red"),
                      _r(-0.3, 0.8, -0.1, 0.84, "black"), _l(0.25, 0.92, 0.45, 0.92, 0.04,
                                                             "black"))),
    "umbrella": (3.2, (_p("black", -0.9, 0.7, 0.9, 0.7, 0.6, 0.92, 0.0, 1.0, -0.6, 0.92),
                       _l(0.0, 0.7, 0.0, 0.06, 0.04, "dark"),
                       _l(0.0, 0.06, 0.12, 0.0, 0.04, "dark"))),
    "window": (3.6, (_r(-0.55, 0.0, 0.55, 1.0, "white"), _r(-0.48, 0.05, 0.48, 0.95, "glass"),
                     _l(0.0, 0.05, 0.0, 0.95, 0.04, "white"), _l(-0.48, 0.5, 0.48, 0.5, 0.04,
                                                                 "white"))),
    "stairs": (5.0, tuple(_r(-0.9 + k * 0.3, 0.0, 0.9, 0.2 * (k + 1), "stone")
                          for k in range(5))),
    "clock": (1.0, (_e(0.0, 0.5, 0.5, 0.5, "dark"), _e(0.0, 0.5, 0.42, 0.42, "white"),
                    _l(0.0, 0.5, 0.0, 0.85, 0.05, "black"), _l(0.0, 0.5, 0.2, 0.5, 0.05,
                                                               "black"))),
    "candle": (0.9, (_r(-0.12, 0.0, 0.12, 0.7, "white"), _e(0.0, 0.85, 0.08, 0.14, "light"),
                     _r(-0.3, 0.0, 0.3, 0.06, "brass"))),
    "key": (0.4, (_e(-0.5, 0.5, 0.3, 0.3, "brass"), _l(-0.2, 0.5, 0.8, 0.5, 0.12, "brass"),
                  _l(0.6, 0.5, 0.6, 0.2, 0.1, "brass"))),
    "knife": (0.3, (_r(-1.0, 0.3, -0.2, 0.7, "dark"), _p("metal", -0.2, 0.3, 1.2, 0.45, -0.2,
                                                         0.8))),
    "plate": (0.35, (_e(0.0, 0.3, 1.2, 0.3, "white"), _e(0.0, 0.4, 0.7, 0.18, "cloth"))),
    "apple": (0.45, (_e(0.0, 0.45, 0.45, 0.45, "red"), _l(0.0, 0.85, 0.08, 1.05, 0.08, "dark"),
                     _e(0.18, 0.95, 0.15, 0.07, "leaf"))),
    "flower": (1.4, (_l(0.0, 0.0, 0.0, 0.75, 0.05, "leaf"), _e(0.0, 0.82, 0.2, 0.2, "pink"),
                     _e(0.0, 0.82, 0.07, 0.07, "yellow"), _e(0.12, 0.4, 0.12, 0.06, "leaf"))),
    "box": (1.4, (_r(-0.6, 0.0, 0.6, 1.0, "wood"), _l(-0.6, 0.5, 0.6, 0.5, 0.04, "dark"),
                  _r(-0.6, 0.9, 0.6, 1.0, "dark"))),
    "guitar": (2.6, (_e(0.0, 0.22, 0.3, 0.22, "wood"), _e(0.0, 0.5, 0.23, 0.16, "wood"),
                     _e(0.0, 0.3, 0.08, 0.06, "black"), _r(-0.04, 0.55, 0.04, 1.0, "dark"))),
    "radio": (1.0, (_r(-0.7, 0.0, 0.7, 0.8, "wood"), _e(-0.3, 0.4, 0.22, 0.22, "cloth"),
                    _r(0.1, 0.5, 0.55, 0.65, "paper"), _l(0.4, 0.8, 0.6, 1.0, 0.03,
                                                          "metal"))),
    "computer": (1.4, (_r(-0.7, 0.25, 0.7, 1.0, "black"), _r(-0.62, 0.32, 0.62, 0.93, "glass"),
                       _r(-0.1, 0.05, 0.1, 0.25, "metal"), _r(-0.4, 0.0, 0.4, 0.06, "metal"))),
    "pen": (0.2, (_r(-1.6, 0.2, 1.2, 0.8, "blue"), _p("black", 1.2, 0.2, 1.6, 0.5, 1.2, 0.8))),
    "hat": (0.6, (_r(-0.45, 0.15, 0.45, 1.0, "dark"), _r(-0.8, 0.0, 0.8, 0.15, "dark"))),
    "sofa": (3.4, (_r(-1.5, 0.0, 1.5, 0.55, "cloth"), _r(-1.4, 0.55, 1.4, 1.0, "cloth"),
                   _r(-1.6, 0.0, -1.3, 0.7, "cloth"), _r(1.3, 0.0, 1.6, 0.7, "cloth"),
                   _l(-1.3, 0.55, 1.3, 0.55, 0.03, "dark"))),
    "desk": (3.4, (_r(-0.95, 0.88, 0.95, 1.0, "wood"), _r(-0.9, 0.0, -0.35, 0.88, "wood"),
                   _l(-0.9, 0.45, -0.35, 0.45, 0.02, "dark"), _r(0.82, 0.0, 0.9, 0.88,
                                                                "dark"))),
    "shelf": (6.0, (_r(-0.7, 0.0, 0.7, 1.0, "dark"),
                    *(_r(-0.64, y, 0.64, y + 0.2, "wood") for y in (0.04, 0.28, 0.52, 0.76)),
                    *(_r(-0.55 + k * 0.2, 0.28 + 0.24 * (k % 3), -0.45 + k * 0.2,
                         0.44 + 0.24 * (k % 3), ("red", "blue", "green", "paper")[k % 4])
                      for k in range(6)))),
    "oven": (4.2, (_r(-0.6, 0.0, 0.6, 1.0, "black"), _r(-0.5, 0.1, 0.5, 0.65, "dark"),
                   _e(0.0, 0.35, 0.3, 0.18, "light"), _r(-0.6, 0.9, 0.6, 1.0, "metal"))),
    "rope": (0.6, (_e(0.0, 0.3, 0.9, 0.3, "bread"), _e(0.0, 0.35, 0.6, 0.2, "dark"),
                   _e(0.0, 0.38, 0.4, 0.12, "bread"))),
    "wheel": (3.0, (_e(0.0, 0.5, 0.5, 0.5, "wood"), _e(0.0, 0.5, 0.4, 0.4, "glass"),
                    _l(-0.55, 0.5, 0.55, 0.5, 0.05, "wood"), _l(0.0, -0.05, 0.0, 1.05, 0.05,
                                                                "wood"),
                    _e(0.0, 0.5, 0.08, 0.08, "brass"))),
    "tree": (14.0, (_r(-0.05, 0.0, 0.05, 0.4, "dark"), _e(0.0, 0.62, 0.35, 0.3, "leaf"),
                    _e(-0.15, 0.5, 0.2, 0.16, "green"), _e(0.16, 0.52, 0.2, 0.16, "leaf"))),
    "fence": (3.0, (*(_r(-1.5 + k * 0.4, 0.0, -1.4 + k * 0.4, 1.0, "wood") for k in range(8)),
                    _r(-1.6, 0.6, 1.6, 0.7, "wood"), _r(-1.6, 0.2, 1.6, 0.3, "wood"))),
    "ball": (0.8, (_e(0.0, 0.5, 0.5, 0.5, "red"), _l(-0.5, 0.5, 0.5, 0.5, 0.05, "white"))),
    "camera": (0.6, (_r(-0.7, 0.0, 0.7, 0.8, "black"), _e(0.0, 0.4, 0.3, 0.3, "glass"),
                     _r(-0.5, 0.8, -0.1, 1.0, "black"))),
    "mirror": (3.0, (_e(0.0, 0.5, 0.35, 0.5, "brass"), _e(0.0, 0.5, 0.3, 0.45, "glass"))),
    "gun": (0.5, (_r(-0.8, 0.55, 0.8, 0.9, "black"), _r(-0.8, 0.0, -0.4, 0.6, "dark"))),
    "sign": (5.0, (_r(-0.05, 0.0, 0.05, 0.75, "dark"), _r(-0.6, 0.7, 0.6, 1.0, "white"),
                   _l(-0.45, 0.85, 0.45, 0.85, 0.04, "black"))),
    "bucket": (1.2, (_p("metal", -0.45, 1.0, 0.45, 1.0, 0.35, 0.0, -0.35, 0.0),
                     _l(-0.45, 1.0, 0.45, 1.0, 0.05, "dark"))),
    "cake": (0.9, (_r(-0.7, 0.0, 0.7, 0.7, "pink"), _r(-0.7, 0.6, 0.7, 0.75, "white"),
                   _r(-0.05, 0.75, 0.05, 1.0, "white"))),
    "tv": (2.4, (_r(-0.8, 0.2, 0.8, 1.0, "black"), _r(-0.72, 0.27, 0.72, 0.93, "blue"),
                 _r(-0.3, 0.0, 0.3, 0.2, "dark"))),
    "blackboard": (4.0, (_r(-1.6, 0.0, 1.6, 1.0, "wood"), _r(-1.52, 0.06, 1.52, 0.94,
                                                             "green"),
                         _l(-1.2, 0.7, 0.2, 0.7, 0.02, "white"), _l(-1.2, 0.5, 0.6, 0.5, 0.02,
                                                                    "white"))),
}

HELD = CARRIED
"""Props small enough to hold: the rest are placed."""


def size_of(kind: str) -> float:
    """A prop's height in head units."""
    return PROPS.get(kind, PROPS["box"])[0]


def draw_prop(draw: ImageDraw.ImageDraw, kind: str, x: float, base: float, height: float,
              tint: tuple[float, float, float] = (1.0, 1.0, 1.0), opened: float = 0.0) -> None:
    """Paint prop `kind` with its base's middle at (x, base) in pixels, `height` pixels
    tall, under the light `tint`; `opened` (0..1) swings a door or window open."""
    _, shapes = PROPS.get(kind, PROPS["box"])
    width_scale = 1.0 - 0.8 * opened if kind in ("door", "window") else 1.0

    def px(u: float, v: float) -> tuple[float, float]:
        return (x + u * height * width_scale, base - v * height)

    def colour(name: object) -> RGB:
        c = C.get(str(name), (128, 128, 128))
        lit = name == "light"
        return c if lit else (round(c[0] * tint[0]), round(c[1] * tint[1]),
                              round(c[2] * tint[2]))

    line = max(1, round(height * 0.012))
    if kind in ("door", "window") and opened > 0.0:
        # The dark of the doorway behind the swinging leaf.
        draw.rectangle((px(-0.28 / width_scale, 0.0)[0], base - height,
                        px(0.28 / width_scale, 1.0)[0], base), fill=(20, 18, 16))
    for shape in shapes:
        _shape(draw, shape, px, colour, line)


def _shape(draw: ImageDraw.ImageDraw, shape: Shape, px: object, colour: object,
           line: int) -> None:
    assert callable(px) and callable(colour)
    kind = shape[0]
    if kind == "r":
        _, x0, y0, x1, y1, c = shape
        (a, b), (d, e) = px(x0, y1), px(x1, y0)
        fill = colour(c)
        draw.rectangle((min(a, d), min(b, e), max(a, d), max(b, e)), fill=fill,
                       outline=scale(fill, 0.55), width=line)
    elif kind == "e":
        _, cx, cy, rx, ry, c = shape
        (a, b), (d, e) = px(cx - rx, cy + ry), px(cx + rx, cy - ry)
        fill = colour(c)
        draw.ellipse((min(a, d), min(b, e), max(a, d), max(b, e)), fill=fill,
                     outline=scale(fill, 0.55), width=line)
    elif kind == "p":
        c, *pts = shape[1:]
        points = [px(pts[k], pts[k + 1]) for k in range(0, len(pts), 2)]
        fill = colour(c)
        draw.polygon(points, fill=fill, outline=scale(fill, 0.55))
    else:
        _, x0, y0, x1, y1, w, c = shape
        (a, b), (d, e) = px(x0, y0), px(x1, y1)
        draw.line((a, b, d, e), fill=colour(c), width=max(1, round(float(w) * abs(
            px(0, 0)[1] - px(0, 1)[1]))))
