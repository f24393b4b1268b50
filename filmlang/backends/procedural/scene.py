"""Backgrounds for the procedural stills: sky, ground, walls and a few flat set pieces.

Takes a `Canvas` (a supersampled RGB image and the frame rectangle inside it) and a
`StillSpec`'s scene fields; paints the scene's place onto the canvas and says where the
ground is, so that figures can stand on it. Exteriors get a sky graded for the time of day
over land or sea; interiors get a wall, a floor and a window onto that sky. Words in the
setting (sea, lighthouse, city, street, forest, mountain, kitchen, rain …) add simple flat
elements; fog lays haze over the distance (`paint_fog`). Everything random is drawn from
the `random.Random` the caller passes, so the same scene always paints the same picture.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from filmlang.backends.procedural.spec import has

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


@dataclass
class Canvas:
    """A supersampled picture and the frame (the camera's resting view) inside it.

    Layout is in frame units: `x(0)`..`x(1)` spans the frame's width, `y(0)`..`y(1)` its
    height. The picture extends a little past the frame on every side, so camera moves
    have room; backgrounds fill the whole picture, subjects are placed in the frame.
    """

    image: Image.Image
    fx0: float
    fy0: float
    fw: float
    fh: float

    def x(self, u: float) -> float:
        return self.fx0 + u * self.fw

    def y(self, v: float) -> float:
        return self.fy0 + v * self.fh

    def u_of(self, px: float) -> float:
        return (px - self.fx0) / self.fw

    def v_of(self, py: float) -> float:
        return (py - self.fy0) / self.fh

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        # "RGBA" mode blends fills that carry an alpha; plain RGB fills stay opaque.
        return ImageDraw.Draw(self.image, "RGBA")

    @property
    def left(self) -> float:
        """The picture's left edge in frame units (negative: it extends past the frame)."""
        return self.u_of(0)

    @property
    def right(self) -> float:
        return self.u_of(self.image.width)

    @property
    def top(self) -> float:
        return self.v_of(0)

    @property
    def bottom(self) -> float:
        return self.v_of(self.image.height)


@dataclass(frozen=True)
class Palette:
    """The colours of one time of day."""

    sky_top: RGB
    sky_horizon: RGB
    ground: RGB
    sea: RGB
    tint: tuple[float, float, float]
    """Multiplies the daylight colour of every set piece."""
    body: str
    """The light in the sky: "sun" or "moon"."""
    body_at: tuple[float, float]
    body_color: RGB
    wall: RGB
    floor: RGB
    lit: bool
    """Whether windows and lamps glow (evening and night)."""


PALETTES: dict[str, Palette] = {
    "dawn": Palette(sky_top=(64, 82, 140), sky_horizon=(246, 178, 140), ground=(78, 84, 70),
                    sea=(88, 104, 146), tint=(0.82, 0.74, 0.76), body="sun",
                    body_at=(0.22, 0.5), body_color=(255, 222, 178),
                    wall=(176, 168, 166), floor=(104, 88, 78), lit=False),
    "day": Palette(sky_top=(68, 128, 208), sky_horizon=(188, 218, 244), ground=(92, 138, 68),
                   sea=(38, 98, 158), tint=(1.0, 1.0, 1.0), body="sun",
                   body_at=(0.2, 0.14), body_color=(255, 250, 226),
                   wall=(206, 190, 162), floor=(128, 94, 66), lit=False),
    "dusk": Palette(sky_top=(42, 40, 92), sky_horizon=(238, 128, 72), ground=(58, 50, 50),
                    sea=(62, 58, 98), tint=(0.74, 0.56, 0.5), body="sun",
                    body_at=(0.8, 0.48), body_color=(255, 168, 90),
                    wall=(160, 118, 92), floor=(90, 62, 48), lit=True),
    "night": Palette(sky_top=(6, 10, 26), sky_horizon=(30, 44, 78), ground=(20, 24, 30),
                     sea=(14, 26, 48), tint=(0.3, 0.36, 0.52), body="moon",
                     body_at=(0.16, 0.12), body_color=(232, 232, 214),
                     wall=(66, 56, 56), floor=(42, 33, 30), lit=True),
}

def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t),
            round(a[2] + (b[2] - a[2]) * t))


def scale(color: RGB, k: float) -> RGB:
    return (min(255, round(color[0] * k)), min(255, round(color[1] * k)),
            min(255, round(color[2] * k)))


def tone(base: RGB, pal: Palette, haze: float = 0.0) -> RGB:
    """A set piece's daylight colour under this time's light, hazed toward the horizon."""
    lit = (round(base[0] * pal.tint[0]), round(base[1] * pal.tint[1]),
           round(base[2] * pal.tint[2]))
    return mix(lit, pal.sky_horizon, haze)


def gradient(c: Canvas, v0: float, v1: float, top: RGB, bottom: RGB) -> None:
    """Fill the rows from frame height v0 to v1 with a vertical gradient (numpy, fast)."""
    img = c.image
    y0 = max(0, round(c.y(v0)))
    y1 = min(img.height, round(c.y(v1)))
    if y1 <= y0:
        return
    t = np.linspace(0.0, 1.0, y1 - y0, dtype=np.float32)[:, None]
    rows = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    band = np.broadcast_to(np.rint(rows).astype(np.uint8)[:, None, :],
                           (y1 - y0, img.width, 3))
    img.paste(Image.fromarray(np.ascontiguousarray(band)), (0, y0))


def glow(c: Canvas, u: float, v: float, radius: float, color: RGB, strength: float) -> None:
    """A soft round light: a blurred disc blended over the picture (radius in frame heights)."""
    r = radius * c.fh
    cx, cy = c.x(u), c.y(v)
    pad = r * 2.2
    box = (max(0, int(cx - pad)), max(0, int(cy - pad)),
           min(c.image.width, int(cx + pad) + 1), min(c.image.height, int(cy + pad) + 1))
    if box[2] <= box[0] or box[3] <= box[1]:
        return
    # Blur at a quarter of the size: the light is soft anyway and this keeps it cheap.
    q = 4
    w, h = max(1, (box[2] - box[0]) // q), max(1, (box[3] - box[1]) // q)
    mask = Image.new("L", (w, h), 0)
    ox, oy = (cx - box[0]) / q, (cy - box[1]) / q
    ImageDraw.Draw(mask).ellipse((ox - r / q, oy - r / q, ox + r / q, oy + r / q),
                                 fill=round(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(r / q * 0.6))
    mask = mask.resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.BILINEAR)
    c.image.paste(color, box, mask)


def polygon(c: Canvas, points: Iterable[tuple[float, float]], fill: RGB | RGBA) -> None:
    c.draw.polygon([(c.x(u), c.y(v)) for u, v in points], fill=fill)


def rect(c: Canvas, u0: float, v0: float, u1: float, v1: float, fill: RGB | RGBA) -> None:
    c.draw.rectangle((c.x(u0), c.y(v0), c.x(u1), c.y(v1)), fill=fill)


def ellipse(c: Canvas, u: float, v: float, ru: float, rv: float, fill: RGB | RGBA) -> None:
    c.draw.ellipse((c.x(u - ru), c.y(v - rv), c.x(u + ru), c.y(v + rv)), fill=fill)


# --- the sky -------------------------------------------------------------------------------

def paint_sky(c: Canvas, pal: Palette, horizon: float, words: frozenset[str],
              rng: random.Random) -> None:
    top, low = pal.sky_top, pal.sky_horizon
    overcast = has(words, "storm") or has(words, "rain") or has(words, "fog")
    if has(words, "storm") or has(words, "rain"):
        grey = (70, 74, 84)
        top, low = mix(top, scale(grey, pal.tint[2]), 0.5), mix(low, scale(grey, pal.tint[2]), 0.6)
    gradient(c, c.top, horizon, top, low)
    if overcast:  # under rain clouds or in fog: no stars, no moon, no sun disc
        _paint_overcast(c, pal, horizon, rng)
        return
    if pal.body == "moon":
        for _ in range(140):
            u = rng.uniform(c.left, c.right)
            v = rng.uniform(c.top, horizon - 0.08) if horizon - 0.08 > c.top else c.top
            s = rng.choice((0.0012, 0.0018, 0.0026))
            ellipse(c, u, v, s * c.fh / c.fw, s, (220, 226, 240, rng.randint(90, 220)))
    bu, bv = pal.body_at
    if bv < horizon:
        glow(c, bu, bv, 0.16, pal.body_color, 0.35)
        ellipse(c, bu, bv, 0.045 * c.fh / c.fw, 0.045, pal.body_color)
    if not has(words, "storm"):
        for _ in range(rng.randint(2, 4)):
            u, v = rng.uniform(0.0, 1.0), rng.uniform(0.08, max(0.1, horizon - 0.2))
            cloud = mix(pal.sky_horizon, (255, 255, 255), 0.35 if pal.body == "sun" else 0.0)
            alpha = 70 if pal.body == "sun" else 40
            for k in range(3):
                ellipse(c, u + (k - 1) * 0.05, v + (0.01 if k != 1 else 0), 0.07, 0.028,
                        (*cloud, alpha))
    else:
        for _ in range(5):
            u, v = rng.uniform(-0.1, 1.1), rng.uniform(c.top, max(0.1, horizon - 0.25))
            ellipse(c, u, v, rng.uniform(0.18, 0.3), rng.uniform(0.05, 0.09),
                    (*scale(pal.sky_top, 0.7), 110))


def _paint_overcast(c: Canvas, pal: Palette, horizon: float, rng: random.Random) -> None:
    for _ in range(7):
        u, v = rng.uniform(-0.1, 1.1), rng.uniform(c.top, max(0.1, horizon - 0.2))
        ellipse(c, u, v, rng.uniform(0.2, 0.34), rng.uniform(0.05, 0.1),
                (*scale(pal.sky_top, 0.75), 120))


# --- land, sea and set pieces --------------------------------------------------------------

def paint_mountains(c: Canvas, pal: Palette, horizon: float, rng: random.Random) -> None:
    for layer, (base, haze, height) in enumerate((((120, 126, 150), 0.55, 0.32),
                                                  ((82, 96, 92), 0.3, 0.22))):
        points = [(c.left - 0.05, horizon)]
        u = c.left - 0.05
        while u < c.right + 0.05:
            u += rng.uniform(0.08, 0.18)
            points.append((u, horizon - height * rng.uniform(0.45, 1.0)))
            u += rng.uniform(0.06, 0.14)
            points.append((u, horizon - height * rng.uniform(0.1, 0.35)))
        points.append((c.right + 0.1, horizon))
        polygon(c, points, tone(base, pal, haze))
        if layer == 0:
            snow = tone((236, 240, 246), pal, 0.3)
            for (u0, v0), (u1, v1), (u2, v2) in zip(points, points[1:], points[2:], strict=False):
                if v1 < v0 and v1 < v2 and horizon - v1 > height * 0.7:
                    k = 0.28
                    polygon(c, [(u1, v1), (u1 + (u2 - u1) * k, v1 + (v2 - v1) * k),
                                (u1 + (u0 - u1) * k, v1 + (v0 - v1) * k)], snow)


def paint_sea(c: Canvas, pal: Palette, horizon: float, shore: float, words: frozenset[str],
              rng: random.Random) -> None:
    gradient(c, horizon, c.bottom, mix(pal.sea, pal.sky_horizon, 0.35), scale(pal.sea, 0.8))
    foam = mix(pal.sky_horizon, (255, 255, 255), 0.4)
    rough = bool(words & {"waves", "crashing", "storm", "stormy", "rough"})
    for _ in range(90 if rough else 50):
        v = horizon + (shore - horizon) * rng.random() ** 1.6
        depth = (v - horizon) / max(1e-6, shore - horizon)
        half = 0.01 + 0.05 * depth
        u = rng.uniform(c.left, c.right)
        alpha = round((60 + 120 * depth) * (1.0 if rough else 0.6))
        w = max(1, round((0.002 + 0.004 * depth) * c.fh))
        c.draw.line((c.x(u - half), c.y(v), c.x(u + half), c.y(v)), fill=(*foam, alpha),
                    width=w)


def paint_city(c: Canvas, pal: Palette, horizon: float, rng: random.Random) -> None:
    for layer, (base, haze, tall) in enumerate((((96, 100, 118), 0.5, 0.34),
                                                ((70, 72, 84), 0.15, 0.26))):
        u = c.left - 0.02
        while u < c.right:
            w = rng.uniform(0.05, 0.11)
            h = tall * rng.uniform(0.35, 1.0)
            color = tone(base, pal, haze)
            rect(c, u, horizon - h, u + w, horizon + 0.01, color)
            if layer == 1:
                lit = (255, 214, 130) if pal.lit else tone((180, 200, 220), pal, 0.2)
                cols, rows = max(1, int(w / 0.022)), max(1, int(h / 0.05))
                for i in range(cols):
                    for j in range(rows):
                        if rng.random() < (0.45 if pal.lit else 0.8):
                            wu = u + (i + 0.3) * w / cols
                            wv = horizon - h + 0.02 + j * 0.05
                            if wv + 0.025 < horizon:
                                rect(c, wu, wv, wu + w / cols * 0.45, wv + 0.025,
                                     lit if pal.lit else (*lit, 150))
            u += w + rng.uniform(0.0, 0.02)


def paint_trees(c: Canvas, pal: Palette, horizon: float, rng: random.Random) -> None:
    rows = ((0.55, 0.05, 0.09, 26), (0.3, 0.09, 0.16, 14), (0.0, 0.16, 0.32, 5))
    for haze, small, big, count in rows:
        green = tone((40, 86, 52), pal, haze)
        trunk = tone((70, 50, 36), pal, haze)
        for _ in range(count):
            u = rng.uniform(c.left, c.right)
            if haze == 0.0 and 0.22 < u < 0.78:
                u = u - 0.55 if u < 0.5 else u + 0.55  # near trees frame the sides
            h = rng.uniform(small, big)
            base_v = horizon + (0.02 if haze > 0.4 else 0.06 if haze > 0.0 else 0.3)
            rect(c, u - h * 0.04, base_v - h * 0.2, u + h * 0.04, base_v, trunk)
            for k in range(3):
                top = base_v - h * (1.0 - k * 0.22)
                half = h * (0.16 + k * 0.07)
                polygon(c, [(u, top), (u + half * c.fh / c.fw * 1.6, top + h * 0.42),
                            (u - half * c.fh / c.fw * 1.6, top + h * 0.42)], green)


def paint_cliff(c: Canvas, pal: Palette, horizon: float) -> tuple[float, float]:
    """A headland on the right; gives the (u, v) of its top, where a lighthouse stands."""
    rock = tone((74, 70, 66), pal)
    top_v = horizon - 0.06
    points = [(0.52, c.bottom), (0.6, horizon + 0.1), (0.66, top_v + 0.02), (0.7, top_v),
              (c.right + 0.05, top_v - 0.01), (c.right + 0.05, c.bottom)]
    polygon(c, points, rock)
    polygon(c, [(0.66, top_v + 0.02), (0.7, top_v), (c.right + 0.05, top_v - 0.01),
                (c.right + 0.05, top_v + 0.015), (0.7, top_v + 0.02)], tone((70, 92, 60), pal))
    return 0.8, top_v + 0.005


def paint_lighthouse(c: Canvas, pal: Palette, u: float, base_v: float) -> None:
    height, wb, wt = 0.3, 0.03, 0.021
    top_v = base_v - height
    white, red = tone((236, 232, 222), pal), tone((186, 52, 46), pal)
    polygon(c, [(u - wb, base_v), (u + wb, base_v), (u + wt, top_v), (u - wt, top_v)], white)
    for k in (0.25, 0.6):
        v0, v1 = base_v - height * k, base_v - height * (k + 0.14)
        w0, w1 = wb + (wt - wb) * k, wb + (wt - wb) * (k + 0.14)
        polygon(c, [(u - w0, v0), (u + w0, v0), (u + w1, v1), (u - w1, v1)], red)
    rect(c, u - wt * 1.3, top_v - 0.008, u + wt * 1.3, top_v, tone((40, 40, 44), pal))
    lamp = (255, 226, 140) if pal.lit else tone((200, 210, 216), pal)
    rect(c, u - wt * 0.8, top_v - 0.05, u + wt * 0.8, top_v - 0.008, lamp)
    polygon(c, [(u - wt * 1.1, top_v - 0.05), (u + wt * 1.1, top_v - 0.05), (u, top_v - 0.085)],
            red)
    if pal.lit:
        beam_v = top_v - 0.03
        polygon(c, [(u, beam_v - 0.006), (c.left - 0.1, beam_v + 0.09),
                    (c.left - 0.1, beam_v + 0.32), (u, beam_v + 0.006)], (255, 236, 170, 40))
        glow(c, u, beam_v, 0.06, (255, 230, 150), 0.8)


def paint_boat(c: Canvas, pal: Palette, u: float, v: float) -> None:
    """A small ship on the sea: hull, cabin, funnel, and a lit porthole row at night."""
    hull, cabin = tone((48, 52, 60), pal, 0.25), tone((214, 208, 196), pal, 0.25)
    s = 0.09
    polygon(c, [(u - s, v - 0.02), (u + s * 1.1, v - 0.02), (u + s * 0.85, v + 0.012),
                (u - s * 0.8, v + 0.012)], hull)
    rect(c, u - s * 0.5, v - 0.045, u + s * 0.45, v - 0.02, cabin)
    rect(c, u - s * 0.1, v - 0.075, u + s * 0.08, v - 0.045, tone((170, 60, 48), pal, 0.25))
    if pal.lit:
        for k in range(5):
            wu = u - s * 0.4 + k * s * 0.18
            rect(c, wu, v - 0.037, wu + s * 0.07, v - 0.029, (255, 220, 140))


def paint_rain(c: Canvas, rng: random.Random, *, alpha: int = 70) -> None:
    d = c.draw
    for _ in range(420):
        u, v = rng.uniform(c.left, c.right), rng.uniform(c.top, c.bottom)
        length = rng.uniform(0.03, 0.07)
        d.line((c.x(u), c.y(v), c.x(u - length * 0.18), c.y(v + length)),
               fill=(200, 210, 225, alpha), width=max(1, round(c.fh * 0.0016)))


def fog_color(pal: Palette) -> RGB:
    """The colour of fog under this time's light: a pale grey leaning to the sky's."""
    return mix(tone((206, 210, 214), pal), pal.sky_horizon, 0.25)


def paint_fog(c: Canvas, pal: Palette, horizon: float, rng: random.Random, *,
              strength: float, depth: float) -> None:
    """A layer of fog over everything painted so far: thickest at the horizon, thinning
    toward the top and, more quickly, toward the foreground (`depth`, in frame heights
    below the horizon), in soft banks that drift across the picture (from `rng`).

    Painted once after the distant set pieces and again, thinner, after the near ones:
    the farther a thing is, the more fog lies in front of it.
    """
    img = c.image
    # The mask is smooth, so it is made at an eighth of the size and scaled up.
    q = 8
    w, h = max(2, img.width // q), max(2, img.height // q)
    v = (((np.arange(h, dtype=np.float32) + 0.5) * q - c.fy0) / c.fh - horizon)[:, None]
    u = (((np.arange(w, dtype=np.float32) + 0.5) * q - c.fx0) / c.fw)[None, :]
    profile = np.where(v < 0.0, np.exp(-((v / 0.75) ** 2)), np.exp(-((v / depth) ** 2)))
    banks = np.ones((h, w), np.float32)
    for _ in range(3):
        freq, phase = rng.uniform(1.5, 3.5), rng.uniform(0.0, 2 * np.pi)
        centre, spread = rng.uniform(-0.12, 0.06), rng.uniform(0.05, 0.1)
        band = np.exp(-(((v - centre) / spread) ** 2))
        banks += 0.25 * band * np.sin(2 * np.pi * freq * u + phase)
    alpha = np.clip(strength * profile * banks, 0.0, 1.0)
    mask = Image.fromarray(np.rint(alpha * 255).astype(np.uint8))
    mask = mask.resize(img.size, Image.Resampling.BILINEAR)
    img.paste(fog_color(pal), (0, 0, img.width, img.height), mask)


# --- the two kinds of place ----------------------------------------------------------------

def paint_exterior(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    """Sky over land or sea, the set pieces the words ask for; gives the ground line."""
    sea = has(words, "sea")
    city = has(words, "city")
    horizon = 0.56 if sea else 0.62 if city else 0.6
    ground_line = 0.9
    paint_sky(c, pal, horizon, words, rng)
    if has(words, "mountain"):
        paint_mountains(c, pal, horizon, rng)
    if sea:
        shore = 0.8
        paint_sea(c, pal, horizon, shore, words, rng)
    else:
        _paint_land(c, pal, horizon, words, city)
    if city:
        paint_city(c, pal, horizon, rng)
    if has(words, "forest"):
        paint_trees(c, pal, horizon, rng)
    if has(words, "street"):
        _paint_road(c, pal, horizon)
    fog = has(words, "fog")
    fog_rng = random.Random(rng.getrandbits(32)) if fog else rng
    if fog:
        paint_fog(c, pal, horizon, fog_rng, strength=0.82, depth=0.22)
    if sea and has(words, "cliff"):
        lu, lv = paint_cliff(c, pal, horizon)
    else:
        lu, lv = 0.8, horizon + 0.01
    if has(words, "lighthouse"):
        paint_lighthouse(c, pal, lu, lv)
    if sea and has(words, "boat"):
        paint_boat(c, pal, 0.3 if has(words, "cliff") else 0.62, horizon + 0.045)
    if sea:
        _paint_shore(c, pal, words)
    elif has(words, "street"):
        rect(c, c.left, 0.8, c.right, c.bottom, tone((120, 116, 110), pal))
        rect(c, c.left, 0.8, c.right, 0.815, tone((150, 146, 140), pal))
    if fog:
        paint_fog(c, pal, horizon, fog_rng, strength=0.4, depth=0.3)
    if has(words, "rain"):
        paint_rain(c, rng)
    return ground_line


def _paint_land(c: Canvas, pal: Palette, horizon: float, words: frozenset[str],
                city: bool) -> None:
    """The ground below the horizon: snow, sand, paving or the palette's own."""
    base = (230, 234, 240) if has(words, "snow") else \
        (196, 168, 118) if has(words, "desert") else \
        (82, 84, 88) if city else pal.ground
    ground = tone(base, pal) if base != pal.ground else base
    gradient(c, horizon, c.bottom, mix(ground, pal.sky_horizon, 0.3), scale(ground, 0.8))


def _paint_road(c: Canvas, pal: Palette, horizon: float) -> None:
    """A road to the horizon with a dashed centre line."""
    road = tone((62, 62, 68), pal)
    rect(c, c.left, horizon + 0.02, c.right, 0.8, road)
    line = tone((224, 210, 150), pal)
    for k in range(8):
        u = c.left + k * 0.16
        rect(c, u, 0.69, u + 0.08, 0.705, line)


def _paint_shore(c: Canvas, pal: Palette, words: frozenset[str]) -> None:
    """The foreground the figures stand on by the sea: sand, planks or rock."""
    if has(words, "beach"):
        front, edge = tone((206, 184, 140), pal), tone((230, 220, 196), pal)
    elif has(words, "pier"):
        front, edge = tone((112, 84, 60), pal), tone((84, 62, 44), pal)
    else:
        front, edge = tone((70, 68, 66), pal), tone((96, 92, 88), pal)
    polygon(c, [(c.left, 0.84), (0.2, 0.81), (0.45, 0.83), (0.7, 0.8), (c.right, 0.82),
                (c.right, c.bottom), (c.left, c.bottom)], front)
    c.draw.line([(c.x(c.left), c.y(0.84)), (c.x(0.2), c.y(0.81)), (c.x(0.45), c.y(0.83)),
                 (c.x(0.7), c.y(0.8)), (c.x(c.right), c.y(0.82))],
                fill=edge, width=max(1, round(c.fh * 0.006)))


def paint_window(c: Canvas, pal: Palette, u0: float, v0: float, u1: float, v1: float,
                 words: frozenset[str], rng: random.Random) -> None:
    frame_color = tone((230, 224, 210), pal) if not pal.lit else scale(pal.wall, 1.25)
    rect(c, u0 - 0.012, v0 - 0.02, u1 + 0.012, v1 + 0.02, frame_color)
    gradient_box(c, u0, v0, u1, v1, pal.sky_top, pal.sky_horizon)
    if pal.body == "moon" and not (has(words, "rain") or has(words, "storm")):
        ellipse(c, u0 + (u1 - u0) * 0.7, v0 + (v1 - v0) * 0.3, 0.02 * c.fh / c.fw, 0.02,
                pal.body_color)
    if has(words, "rain"):
        for _ in range(40):
            u, v = rng.uniform(u0, u1), rng.uniform(v0, v1 - 0.03)
            c.draw.line((c.x(u), c.y(v), c.x(u - 0.004), c.y(v + 0.03)),
                        fill=(210, 220, 235, 90), width=max(1, round(c.fh * 0.0015)))
    bar = max(1, round(c.fh * 0.008))
    c.draw.line((c.x((u0 + u1) / 2), c.y(v0), c.x((u0 + u1) / 2), c.y(v1)), fill=frame_color,
                width=bar)
    c.draw.line((c.x(u0), c.y((v0 + v1) / 2), c.x(u1), c.y((v0 + v1) / 2)), fill=frame_color,
                width=bar)


def gradient_box(c: Canvas, u0: float, v0: float, u1: float, v1: float, top: RGB,
                 bottom: RGB) -> None:
    steps = 24
    for k in range(steps):
        a, b = v0 + (v1 - v0) * k / steps, v0 + (v1 - v0) * (k + 1) / steps
        rect(c, u0, a, u1, b + 0.002, mix(top, bottom, k / (steps - 1)))


def paint_interior(c: Canvas, pal: Palette, words: frozenset[str], rng: random.Random) -> float:
    """A wall with a window onto the time of day, a floor, and a few furnishings."""
    floor_v = 0.7
    gradient(c, c.top, floor_v, scale(pal.wall, 0.88), pal.wall)
    gradient(c, floor_v, c.bottom, pal.floor, scale(pal.floor, 0.7))
    rect(c, c.left, floor_v - 0.02, c.right, floor_v, scale(pal.wall, 0.7))
    for k in range(1, 6):
        v = floor_v + (c.bottom - floor_v) * (k / 6) ** 1.5
        c.draw.line((c.x(c.left), c.y(v), c.x(c.right), c.y(v)), fill=scale(pal.floor, 0.8),
                    width=max(1, round(c.fh * 0.003)))
    paint_window(c, pal, 0.08, 0.14, 0.3, 0.48, words, rng)
    if has(words, "kitchen"):
        wood, top = scale(pal.wall, 0.62), scale(pal.wall, 1.12)
        rect(c, 0.42, 0.48, c.right, floor_v - 0.02, wood)
        rect(c, 0.42, 0.46, c.right, 0.49, top)
        rect(c, 0.52, 0.08, c.right, 0.3, wood)
        for k in range(8):
            u = 0.44 + k * 0.09
            c.draw.rectangle((c.x(u), c.y(0.52), c.x(u + 0.075), c.y(floor_v - 0.05)),
                             outline=scale(wood, 0.75), width=max(1, round(c.fh * 0.004)))
            if u > 0.5:
                c.draw.rectangle((c.x(u), c.y(0.1), c.x(u + 0.075), c.y(0.28)),
                                 outline=scale(wood, 0.75), width=max(1, round(c.fh * 0.004)))
    else:
        frame_c = scale(pal.wall, 0.55)
        rect(c, 0.6, 0.16, 0.78, 0.36, frame_c)
        art = mix(pal.sky_horizon, pal.wall, 0.5)
        rect(c, 0.615, 0.18, 0.765, 0.34, art)
        polygon(c, [(0.615, 0.34), (0.67, 0.25), (0.71, 0.3), (0.735, 0.27), (0.765, 0.34)],
                scale(art, 0.7))
        rect(c, 0.86, 0.16, 1.0, floor_v - 0.01, scale(pal.wall, 0.75))
        ellipse(c, 0.875, 0.44, 0.005, 0.009, scale(pal.wall, 1.3))
    if pal.lit:
        lamp_u, lamp_v = (0.36, 0.3) if not has(words, "kitchen") else (0.36, 0.12)
        glow(c, lamp_u, lamp_v, 0.22, (255, 200, 130), 0.45)
        ellipse(c, lamp_u, lamp_v, 0.02 * c.fh / c.fw, 0.02, (255, 226, 170))
    return 0.92
