"""Places: a painter per kind of place (`semantic.places`), each with its furniture and light.

Interiors are a room (`Room`: wall and floor colours, windows, the light, the furniture
along the back wall drawn from the prop library); a bakery has its oven, counter and
loaves, a wheelhouse its wheel and the sea through its windows, a car its dashboard and
the road through the windscreen. Exteriors build on `scene.paint_exterior` (sky, sea,
land, weather) with their own pieces: market stalls, a platform's edge and rails, a
rooftop's parapet and chimneys. Every painter gives the ground line the figures stand on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from filmlang.backends.procedural.props import draw_prop, size_of
from filmlang.backends.procedural.scene import (
    PALETTES,
    RGB,
    Canvas,
    Palette,
    glow,
    gradient,
    gradient_box,
    mix,
    paint_exterior,
    paint_interior,
    paint_rain,
    paint_sea,
    paint_sky,
    paint_window,
    polygon,
    rect,
    scale,
    tone,
)
from filmlang.backends.procedural.spec import has

Painter = Callable[[Canvas, Palette, frozenset[str], random.Random], float]

FLOOR_V = 0.7
BACK_HEAD = 0.05
"""The size of a head (in frame heights) at the back wall: furniture's scale there."""


@dataclass(frozen=True)
class Room:
    wall: RGB
    floor: RGB
    furniture: tuple[tuple[str, float], ...]
    """(prop kind, x in frame widths) along the back wall."""
    windows: tuple[tuple[float, float], ...] = ((0.08, 0.3),)
    """(left, right) of each window, in frame widths."""
    light: RGB = (255, 200, 130)
    """The colour of the room's lamps, lit at evening and night (always, if bright)."""
    bright: bool = False
    """Lit by day as well (shops, hospitals, classrooms)."""


ROOMS: dict[str, Room] = {
    "kitchen": Room((214, 200, 170), (150, 110, 80),
                    (("oven", 0.5), ("shelf", 0.68), ("table", 0.84), ("bucket", 0.5)),
                    ((0.1, 0.3),)),
    "bakery": Room((226, 196, 150), (140, 96, 62),
                   (("oven", 0.42), ("shelf", 0.62), ("table", 0.82), ("bread", 0.78),
                    ("bread", 0.86), ("sign", 0.2)), ((0.04, 0.14),)),
    "shop": Room((200, 206, 196), (120, 110, 100),
                 (("shelf", 0.3), ("shelf", 0.46), ("shelf", 0.62), ("table", 0.84),
                  ("box", 0.9)), ((0.02, 0.16),), (236, 236, 220), True),
    "office": Room((186, 190, 186), (96, 100, 110),
                   (("desk", 0.56), ("computer", 0.56), ("lamp", 0.7), ("shelf", 0.86),
                    ("clock", 0.38)), ((0.08, 0.3),), (240, 240, 230), True),
    "bedroom": Room((170, 176, 196), (120, 90, 70),
                    (("bed", 0.62), ("lamp", 0.86), ("mirror", 0.92)), ((0.1, 0.3),)),
    "living_room": Room((200, 180, 150), (120, 86, 60),
                        (("sofa", 0.58), ("lamp", 0.78), ("tv", 0.9), ("flower", 0.38)),
                        ((0.08, 0.3),)),
    "bar": Room((96, 62, 48), (70, 48, 36),
                (("shelf", 0.35), ("shelf", 0.5), ("shelf", 0.65), ("table", 0.5),
                 ("bottle", 0.45), ("bottle", 0.55), ("chair", 0.3), ("chair", 0.7)), (),
                (255, 170, 90), True),
    "cafe": Room((222, 206, 180), (150, 110, 80),
                 (("table", 0.5), ("chair", 0.42), ("chair", 0.58), ("cup", 0.5),
                  ("table", 0.86), ("sign", 0.68)), ((0.04, 0.3),)),
    "classroom": Room((206, 212, 190), (150, 120, 90),
                      (("blackboard", 0.52), ("clock", 0.82), ("desk", 0.3), ("desk", 0.74)),
                      ((0.02, 0.16),), (240, 240, 224), True),
    "hospital": Room((214, 226, 222), (176, 186, 184),
                     (("bed", 0.56), ("lamp", 0.82), ("clock", 0.3)), ((0.06, 0.2),),
                     (236, 246, 246), True),
    "church": Room((180, 170, 156), (120, 112, 104),
                   (("candle", 0.42), ("candle", 0.58), ("table", 0.5), ("chair", 0.2),
                    ("chair", 0.8)), ((0.44, 0.56),), (255, 210, 140), True),
    "wheelhouse": Room((110, 80, 56), (80, 58, 42),
                       (("wheel", 0.5), ("radio", 0.82), ("lantern", 0.2)),
                       ((0.0, 0.32), (0.36, 0.64), (0.68, 1.0)), (255, 190, 110)),
}


def paint_room(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random,
               room: Room, kind: str) -> float:
    """A room: wall, floor, windows onto the time of day, furniture, light."""
    night = pal.body == "moon"
    wall = tone(room.wall, pal) if not room.bright else mix(room.wall, tone(room.wall, pal),
                                                            0.5)
    floor = tone(room.floor, pal) if not room.bright else room.floor
    gradient(c, c.top, FLOOR_V, scale(wall, 0.85), wall)
    gradient(c, FLOOR_V, c.bottom, floor, scale(floor, 0.7))
    rect(c, c.left, FLOOR_V - 0.02, c.right, FLOOR_V, scale(wall, 0.7))
    for k in range(1, 6):
        v = FLOOR_V + (c.bottom - FLOOR_V) * (k / 6) ** 1.5
        c.draw.line((c.x(c.left), c.y(v), c.x(c.right), c.y(v)), fill=scale(floor, 0.8),
                    width=max(1, round(c.fh * 0.003)))
    for u0, u1 in room.windows:
        if kind == "church":
            _stained(c, u0, u1)
        elif kind == "wheelhouse":
            _sea_window(c, pal, u0, u1, words, rng)
        else:
            paint_window(c, pal, u0, 0.14, u1, 0.48, words, rng)
    u = BACK_HEAD * c.fh
    base = c.y(FLOOR_V + 0.06)
    tint = pal.tint if not room.bright else tuple(0.5 + 0.5 * t for t in pal.tint)
    table = size_of("table") * u
    for prop, x in room.furniture:
        on = size_of(prop) < 1.5 and prop not in ("bucket",)
        draw_prop(c.draw, prop, c.x(x), base - (table * 0.95 if on else 0), size_of(prop) * u,
                  tint)  # type: ignore[arg-type]
    if pal.lit or room.bright or night:
        for x in (0.3, 0.7) if room.bright else (0.36,):
            glow(c, x, 0.1, 0.2, room.light, 0.4 if room.bright else 0.45)
    return 0.92


def _stained(c: Canvas, u0: float, u1: float) -> None:
    """A tall arched window of coloured glass."""
    mid = (u0 + u1) / 2
    polygon(c, [(u0, 0.5), (u0, 0.2), (mid, 0.08), (u1, 0.2), (u1, 0.5)], (60, 50, 50))
    colours = ((180, 40, 50), (40, 80, 170), (220, 180, 60), (50, 140, 80))
    for k in range(8):
        v0 = 0.2 + k * 0.0375
        rect(c, u0 + 0.008, v0, mid - 0.002, v0 + 0.034, colours[k % 4])
        rect(c, mid + 0.002, v0, u1 - 0.008, v0 + 0.034, colours[(k + 2) % 4])


def _sea_window(c: Canvas, pal: Palette, u0: float, u1: float, words: frozenset[str],
                rng: random.Random) -> None:
    """A wheelhouse window: the sea's horizon, rain on the glass in weather."""
    gradient_box(c, u0 + 0.01, 0.12, u1 - 0.01, 0.34, pal.sky_top, pal.sky_horizon)
    gradient_box(c, u0 + 0.01, 0.34, u1 - 0.01, 0.5, mix(pal.sea, pal.sky_horizon, 0.3),
                 scale(pal.sea, 0.8))
    frame = scale((110, 80, 56), 0.6)
    c.draw.rectangle((c.x(u0), c.y(0.12), c.x(u1), c.y(0.5)), outline=frame,
                     width=max(1, round(c.fh * 0.012)))
    if has(words, "rain"):
        for _ in range(30):
            x, y = rng.uniform(u0, u1), rng.uniform(0.12, 0.46)
            c.draw.line((c.x(x), c.y(y), c.x(x - 0.003), c.y(y + 0.03)),
                        fill=(210, 220, 235, 100), width=max(1, round(c.fh * 0.0015)))


def _car(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    """Inside a car: the road through the windscreen, the dashboard, the wheel."""
    paint_sky(c, pal, 0.45, words, rng)
    gradient(c, 0.45, c.bottom, tone((90, 96, 90), pal), tone((60, 62, 64), pal))
    polygon(c, [(0.42, 0.45), (0.58, 0.45), (0.9, 0.75), (0.1, 0.75)], tone((62, 62, 68), pal))
    for k in range(4):
        v = 0.47 + k * 0.07
        rect(c, 0.497 - k * 0.004, v, 0.503 + k * 0.004, v + 0.03, tone((224, 210, 150), pal))
    if has(words, "rain"):
        paint_rain(c, rng, alpha=50)
    body = scale((40, 40, 46), 0.9)
    polygon(c, [(c.left, c.top), (c.right, c.top), (c.right, 0.1), (0.85, 0.1), (0.98, 0.62),
                (c.right, 0.62), (c.right, c.bottom), (c.left, c.bottom), (c.left, 0.62),
                (0.02, 0.62), (0.15, 0.1), (c.left, 0.1)], body)
    rect(c, c.left, 0.62, c.right, c.bottom, scale(body, 1.2))
    draw_prop(c.draw, "wheel", c.x(0.3), c.y(0.96), 0.42 * c.fh, pal.tint)
    glow(c, 0.6, 0.68, 0.05, (120, 200, 255) if pal.lit else (200, 200, 200), 0.5)
    return 0.98


def _exterior(extra: str) -> Painter:
    """paint_exterior with the words that call for this place's set pieces."""
    more = frozenset(extra.split())

    def paint(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
        return paint_exterior(c, pal, words | more, rng)
    return paint


def _with(base: Painter, *pieces: Callable[[Canvas, Palette, random.Random], None]) -> Painter:
    def paint(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
        ground = base(c, pal, words, rng)
        for piece in pieces:
            piece(c, pal, rng)
        return ground
    return paint


def _stalls(c: Canvas, pal: Palette, rng: random.Random) -> None:
    """Market stalls: striped awnings on poles, crates of fruit."""
    colours = ((190, 50, 46), (46, 110, 170), (220, 170, 50), (60, 140, 80))
    for k, u in enumerate((0.06, 0.34, 0.62, 0.9)):
        stripe = tone(colours[k % 4], pal)
        rect(c, u - 0.1, 0.62, u - 0.095, 0.82, tone((80, 60, 40), pal))
        rect(c, u + 0.095, 0.62, u + 0.1, 0.82, tone((80, 60, 40), pal))
        for s in range(6):
            fill = stripe if s % 2 == 0 else tone((236, 232, 220), pal)
            x0 = u - 0.11 + s * 0.0367
            polygon(c, [(x0, 0.6), (x0 + 0.0367, 0.6), (x0 + 0.0367, 0.64), (x0, 0.64)], fill)
        rect(c, u - 0.09, 0.74, u + 0.09, 0.8, tone((140, 100, 60), pal))
        for f in range(6):
            ellipse_fruit = tone(colours[(k + f) % 4], pal)
            x = u - 0.075 + f * 0.03
            c.draw.ellipse((c.x(x - 0.012), c.y(0.725), c.x(x + 0.012), c.y(0.745)),
                           fill=ellipse_fruit)


def _cobbles(c: Canvas, pal: Palette, rng: random.Random) -> None:
    rect(c, c.left, 0.8, c.right, c.bottom, tone((132, 124, 114), pal))
    for _ in range(160):
        u, v = rng.uniform(c.left, c.right), rng.uniform(0.81, c.bottom)
        w = 0.012 + 0.02 * (v - 0.8)
        c.draw.ellipse((c.x(u - w), c.y(v - w * 0.4), c.x(u + w), c.y(v + w * 0.4)),
                       fill=tone((112, 104, 96), pal))


def _lamps(c: Canvas, pal: Palette, rng: random.Random) -> None:
    """Street lamps, lit at evening and night."""
    for u in (0.1, 0.9):
        rect(c, u - 0.004, 0.42, u + 0.004, 0.82, tone((40, 42, 46), pal))
        rect(c, u - 0.014, 0.4, u + 0.014, 0.44, (255, 220, 150) if pal.lit else
             tone((200, 200, 190), pal))
        if pal.lit:
            glow(c, u, 0.42, 0.08, (255, 210, 140), 0.6)


def _platform(c: Canvas, pal: Palette, rng: random.Random) -> None:
    """A station platform: rails below its edge, a canopy on pillars, a sign, a clock."""
    rect(c, c.left, 0.7, c.right, 0.78, tone((70, 66, 62), pal))
    for v in (0.72, 0.76):
        rect(c, c.left, v, c.right, v + 0.006, tone((150, 150, 156), pal))
    rect(c, c.left, 0.78, c.right, c.bottom, tone((160, 156, 148), pal))
    rect(c, c.left, 0.78, c.right, 0.79, tone((230, 210, 90), pal))
    rect(c, c.left, 0.08, c.right, 0.14, tone((90, 40, 40), pal))
    for u in (0.05, 0.35, 0.65, 0.95):
        rect(c, u - 0.006, 0.14, u + 0.006, 0.8, tone((60, 50, 50), pal))
    rect(c, 0.42, 0.2, 0.58, 0.26, tone((30, 60, 120), pal))
    rect(c, 0.44, 0.225, 0.56, 0.235, tone((236, 236, 236), pal))
    draw_prop(c.draw, "clock", c.x(0.75), c.y(0.27), 0.08 * c.fh, pal.tint)


def _rooftop(c: Canvas, pal: Palette, rng: random.Random) -> None:
    """A roof's tar and parapet, chimneys and a water tower, the city below."""
    rect(c, c.left, 0.68, c.right, c.bottom, tone((70, 62, 60), pal))
    rect(c, c.left, 0.66, c.right, 0.7, tone((150, 120, 100), pal))
    rect(c, 0.5, 0.3, 0.66, 0.5, tone((120, 84, 60), pal))
    polygon(c, [(0.49, 0.3), (0.58, 0.22), (0.67, 0.3)], tone((90, 62, 46), pal))
    for u in (0.52, 0.64):
        rect(c, u, 0.5, u + 0.008, 0.68, tone((60, 50, 44), pal))
    for u in (0.12, 0.82):
        rect(c, u, 0.56, u + 0.05, 0.74, tone((150, 80, 60), pal))
        rect(c, u - 0.005, 0.55, u + 0.055, 0.57, tone((90, 60, 50), pal))


def _garden(c: Canvas, pal: Palette, rng: random.Random) -> None:
    draw_prop(c.draw, "fence", c.x(0.5), c.y(0.7), 0.1 * c.fh, pal.tint)
    draw_prop(c.draw, "fence", c.x(0.0), c.y(0.7), 0.1 * c.fh, pal.tint)
    draw_prop(c.draw, "fence", c.x(1.0), c.y(0.7), 0.1 * c.fh, pal.tint)
    for _ in range(40):
        u, v = rng.uniform(c.left, c.right), rng.uniform(0.72, 0.8)
        colour = tone(rng.choice(((222, 120, 140), (240, 210, 80), (236, 236, 236),
                                  (160, 90, 200))), pal)
        c.draw.ellipse((c.x(u - 0.006), c.y(v - 0.01), c.x(u + 0.006), c.y(v + 0.01)),
                       fill=colour)
    draw_prop(c.draw, "tree", c.x(0.86), c.y(0.74), 0.7 * c.fh, pal.tint)


def _field(c: Canvas, pal: Palette, rng: random.Random) -> None:
    for k in range(12):
        v = 0.62 + (k / 12) ** 1.4 * 0.4
        c.draw.line((c.x(c.left), c.y(v), c.x(c.right), c.y(v)),
                    fill=tone((120, 160, 70), pal, 0.2), width=max(1, round(c.fh * 0.003)))
    draw_prop(c.draw, "fence", c.x(0.2), c.y(0.7), 0.06 * c.fh, pal.tint)
    draw_prop(c.draw, "tree", c.x(0.78), c.y(0.62), 0.22 * c.fh, pal.tint)


def _deck(c: Canvas, pal: Palette, rng: random.Random) -> None:
    """A boat's deck: planks, a railing over the sea, a lifebuoy on the cabin."""
    rect(c, c.left, 0.8, c.right, c.bottom, tone((150, 116, 80), pal))
    for k in range(8):
        v = 0.8 + (k / 8) ** 1.3 * 0.35
        c.draw.line((c.x(c.left), c.y(v), c.x(c.right), c.y(v)), fill=tone((110, 84, 58), pal),
                    width=max(1, round(c.fh * 0.003)))
    rect(c, c.left, 0.66, c.right, 0.675, tone((236, 236, 230), pal))
    for u in range(-2, 12):
        rect(c, u * 0.1, 0.66, u * 0.1 + 0.006, 0.8, tone((236, 236, 230), pal))
    rect(c, 0.78, 0.3, c.right, 0.8, tone((226, 222, 212), pal))
    c.draw.ellipse((c.x(0.84), c.y(0.42), c.x(0.9), c.y(0.52)), fill=tone((220, 70, 50), pal))
    c.draw.ellipse((c.x(0.855), c.y(0.445), c.x(0.885), c.y(0.495)),
                   fill=tone((226, 222, 212), pal))


def _bollards(c: Canvas, pal: Palette, rng: random.Random) -> None:
    for u in (0.12, 0.88):
        rect(c, u - 0.012, 0.79, u + 0.012, 0.84, tone((40, 40, 44), pal))
    draw_prop(c.draw, "rope", c.x(0.2), c.y(0.85), 0.03 * c.fh, pal.tint)
    draw_prop(c.draw, "box", c.x(0.93), c.y(0.86), 0.07 * c.fh, pal.tint)


def _skyline(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    paint_exterior(c, pal, words | {"city"}, rng)
    rect(c, c.left, 0.82, c.right, c.bottom, tone((92, 92, 96), pal))
    return 0.9


def _beach(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    ground = paint_exterior(c, pal, words | {"beach", "sea"}, rng)
    if pal.body == "sun" and not has(words, "rain") and "beach" in words:
        draw_prop(c.draw, "umbrella", c.x(0.86), c.y(0.86), 0.16 * c.fh, pal.tint)
    return ground


def _sea_deck(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    paint_sky(c, pal, 0.56, words, rng)
    paint_sea(c, pal, 0.56, 0.8, words, rng)
    _deck(c, pal, rng)
    if has(words, "rain"):
        paint_rain(c, rng)
    return 0.9


def _room(kind: str) -> Painter:
    def paint(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
        return paint_room(c, pal, words, rng, ROOMS[kind], kind)
    return paint


PAINTERS: dict[str, Painter] = {
    **{kind: _room(kind) for kind in ROOMS},
    "car": _car,
    "deck": _sea_deck,
    "lighthouse": _exterior("lighthouse cliff sea"),
    "harbour": _with(_exterior("harbour pier boat sea"), _bollards),
    "beach": _beach,
    "market": _with(_exterior("city"), _cobbles, _stalls),
    "rooftop": _with(_exterior("city"), _rooftop),
    "skyline": _skyline,
    "street": _with(_exterior("city street"), _lamps),
    "garden": _with(_exterior(""), _garden),
    "forest": _exterior("forest"),
    "mountain": _exterior("mountain"),
    "field": _with(_exterior(""), _field),
    "station": _with(_exterior("city"), _platform),
}
"""A painter for every kind of place `semantic.places` names."""


def paint_place(c: Canvas, time: str, interior: bool, words: frozenset[str],
                rng: random.Random, place: str = "") -> float:
    """Paint the scene's place over the whole canvas; gives the ground line (frame units)."""
    pal = PALETTES.get(time, PALETTES["day"])
    if place in PAINTERS:
        return PAINTERS[place](c, pal, words, rng)
    painter: Callable[[Canvas, Palette, frozenset[str], random.Random], float] = \
        paint_interior if interior else paint_exterior
    return painter(c, pal, words, rng)
