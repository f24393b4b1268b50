"""Text for the procedural backend: titles and subtitles over frames, captions in stills.

`draw_text` overlays a title (centred, large, soft shadow) or a subtitle (bottom centre,
white with a dark outline, at most two lines inside the 90% safe area) on a frame, with an
alpha for fades. The text is rasterised once per (text, place, frame size) and kept, so a
subtitle burned into a hundred frames costs one rasterisation and a hundred small blends.
`paint_card` and `paint_caption` put a shot's action into its still, for insert shots
and for shots with nobody in them.

The font is Pillow's bundled TrueType font (`ImageFont.load_default(size=…)`), the same on
every machine, so the same film renders the same pixels everywhere.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from filmlang.backends.procedural.scene import RGB, Canvas, Palette, mix, scale

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

TITLE_RATIO = 0.075
"""A title's font size, in frame heights."""
SUBTITLE_RATIO = 0.05
"""A subtitle's font size, in frame heights."""
SAFE = 0.9
"""The safe area: text stays inside the middle 90% of the frame."""


@lru_cache(maxsize=32)
def font(size: int) -> Font:
    return ImageFont.load_default(size=max(6, size))


def text_width(f: Font, text: str) -> float:
    return float(f.getlength(text))


def wrap(text: str, f: Font, max_width: float) -> list[str]:
    """Greedy word wrap; a word longer than the line is left whole (it is measured later)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}" if line else word
            if line and text_width(f, trial) > max_width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return [line for line in lines if line] or [""]


def balanced(text: str, f: Font, max_width: float) -> list[str]:
    """Word wrap into as few lines as greedy wrapping needs, but of even widths."""
    lines = wrap(text, f, max_width)
    if len(lines) < 2:
        return lines
    lo, hi = 0.0, max_width
    for _ in range(12):
        mid = (lo + hi) / 2
        if len(wrap(text, f, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return wrap(text, f, hi)


def balanced_two(text: str, f: Font, max_width: float) -> list[str] | None:
    """Split into at most two lines of the most even widths that fit; None if none fits."""
    words = text.split()
    if text_width(f, " ".join(words)) <= max_width:
        return [" ".join(words)]
    best: tuple[float, list[str]] | None = None
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        widest = max(text_width(f, a), text_width(f, b))
        if widest <= max_width and (best is None or widest < best[0]):
            best = (widest, [a, b])
    return best[1] if best else None


def fit_subtitle(text: str, height: int, width: int, ratio: float) -> tuple[Font, list[str]]:
    """The largest size, down to 60% of the asked one, that fits two lines; else truncate."""
    max_width = width * SAFE
    size = max(8, round(height * ratio))
    floor = max(8, round(size * 0.6))
    while True:
        f = font(size)
        lines = balanced_two(" ".join(text.split()), f, max_width)
        if lines is not None:
            return f, lines
        if size <= floor:
            break
        size = max(floor, round(size * 0.92))
    f = font(size)
    lines = wrap(text, f, max_width)[:2]
    lines = [_clip(line, f, max_width) for line in lines]
    if len(wrap(text, f, max_width)) > 2:
        lines[-1] = _clip(lines[-1] + " …", f, max_width)
    return f, lines


def _clip(line: str, f: Font, max_width: float) -> str:
    """The line, or as much of it as fits with an ellipsis."""
    if text_width(f, line) <= max_width:
        return line
    while line and text_width(f, line + "…") > max_width:
        line = line[:-1]
    return line.rstrip() + "…"


Layer = tuple[int, int, npt.NDArray[np.float32], npt.NDArray[np.float32]]
"""(x, y, premultiplied colour (h, w, 3), alpha (h, w)) of a text overlay in a frame."""


def _masks(lines: list[str], f: Font, pad: int, stroke: int, spacing: float,
           ) -> tuple[Image.Image, Image.Image]:
    """The fill and the outlined masks of centred lines of text, with `pad` pixels around."""
    ascent, descent = f.getmetrics() if isinstance(f, ImageFont.FreeTypeFont) else (10, 2)
    line_h = (ascent + descent) * spacing
    width = max(1, round(max(text_width(f, line) for line in lines))) + 2 * pad
    height = max(1, round(line_h * (len(lines) - 1) + ascent + descent)) + 2 * pad
    fill = Image.new("L", (width, height), 0)
    outline = Image.new("L", (width, height), 0)
    for k, line in enumerate(lines):
        xy = (width / 2, pad + k * line_h)
        ImageDraw.Draw(fill).text(xy, line, font=f, fill=255, anchor="ma")
        ImageDraw.Draw(outline).text(xy, line, font=f, fill=255, anchor="ma",
                                     stroke_width=stroke, stroke_fill=255)
    return fill, outline


# A layer is 16 bytes a pixel (about 2 MB for a 720p subtitle); cues are drawn one after
# another, so a few layers are enough.
@lru_cache(maxsize=16)
def text_layer(text: str, where: str, width: int, height: int, ratio: float) -> Layer:
    """Rasterise a title or subtitle for a frame of this size, once."""
    if where == "subtitle":
        f, lines = fit_subtitle(text, height, width, ratio)
        size = f.size if isinstance(f, ImageFont.FreeTypeFont) else 12
        stroke = max(1, round(size * 0.09))
        pad = stroke + 2
        fill, outline = _masks(lines, f, pad, stroke, 1.12)
        a_fill = np.asarray(fill, np.float32) / 255.0
        # Outline, then a faint soft shadow under it for light backgrounds.
        shadow = np.asarray(outline.filter(ImageFilter.GaussianBlur(stroke * 1.2)),
                            np.float32) / 255.0
        a_line = np.maximum(np.asarray(outline, np.float32) / 255.0 * 0.92, shadow * 0.5)
        alpha = a_fill + a_line * (1.0 - a_fill)
        color = np.full((*alpha.shape, 3), 255.0, np.float32) * a_fill[..., None]
        bottom = height * (1.0 - (1.0 - SAFE) / 2)
        x = round((width - alpha.shape[1]) / 2)
        y = round(bottom - alpha.shape[0] + pad)
    else:
        size = max(8, round(height * ratio))
        f = font(size)
        lines = balanced(text, f, width * 0.8)
        while len(lines) > 3 and size > 10:
            size = round(size * 0.9)
            f = font(size)
            lines = balanced(text, f, width * 0.8)
        blur = max(1.0, size * 0.09)
        pad = round(blur * 3 + size * 0.05)
        fill, _ = _masks(lines, f, pad, 0, 1.15)
        a_fill = np.asarray(fill, np.float32) / 255.0
        off = max(1, round(size * 0.05))
        moved = Image.new("L", fill.size, 0)
        moved.paste(fill, (off, off))
        shadow = np.asarray(moved.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255.0
        shadow = np.minimum(1.0, shadow * 1.6) * 0.75
        alpha = a_fill + shadow * (1.0 - a_fill)
        warm = np.asarray((252, 248, 238), np.float32)
        color = warm * a_fill[..., None]
        x = round((width - alpha.shape[1]) / 2)
        y = round((height - alpha.shape[0]) / 2)
    return _clip_layer(x, y, color, alpha, width, height)


def _clip_layer(x: int, y: int, color: npt.NDArray[np.float32], alpha: npt.NDArray[np.float32],
                width: int, height: int) -> Layer:
    x0, y0 = max(0, -x), max(0, -y)
    x1 = min(alpha.shape[1], width - x)
    y1 = min(alpha.shape[0], height - y)
    color = np.ascontiguousarray(color[y0:y1, x0:x1])
    alpha = np.ascontiguousarray(alpha[y0:y1, x0:x1])
    color.flags.writeable = False
    alpha.flags.writeable = False
    return (x + x0, y + y0, color, alpha)


def draw_text(frame: npt.NDArray[np.uint8], text: str, *, where: str, alpha: float,
              size_ratio: float | None = None) -> npt.NDArray[np.uint8]:
    """A copy of `frame` with `text` over it as a "title" or a "subtitle", faded by alpha.

    size_ratio is the font size in frame heights (default 0.075 for titles, 0.05 for
    subtitles). Long subtitles are balanced over two lines, shrunk to fit if need be.
    """
    if where not in ("title", "subtitle"):
        raise ValueError(f"draw_text: where must be 'title' or 'subtitle', not {where!r}")
    out = np.array(frame, dtype=np.uint8, copy=True)
    a = min(1.0, max(0.0, float(alpha)))
    if a <= 0.0 or not text.strip():
        return out
    height, width = out.shape[:2]
    ratio = size_ratio if size_ratio is not None else \
        (TITLE_RATIO if where == "title" else SUBTITLE_RATIO)
    x, y, color, cover = text_layer(text, where, width, height, float(ratio))
    h, w = cover.shape
    if h <= 0 or w <= 0:
        return out
    region = out[y:y + h, x:x + w].astype(np.float32)
    k = (cover * a)[..., None]
    region = region * (1.0 - k) + color * a
    out[y:y + h, x:x + w] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out


# --- captions inside stills ----------------------------------------------------------------

def _draw_lines(c: Canvas, lines: list[str], f: Font, u: float, v: float, color: RGB,
                spacing: float = 1.25) -> None:
    """Draw lines of text centred on (u, v) in frame units."""
    size = f.size if isinstance(f, ImageFont.FreeTypeFont) else 12
    line_h = size * spacing
    y = c.y(v) - line_h * len(lines) / 2 + line_h / 2
    d = ImageDraw.Draw(c.image)
    for k, line in enumerate(lines):
        d.text((c.x(u), y + k * line_h), line, font=f, fill=color, anchor="mm")


def _fit(text: str, c: Canvas, ratio: float, max_width: float, max_lines: int,
         ) -> tuple[Font, list[str]]:
    size = max(8, round(c.fh * ratio))
    while True:
        f = font(size)
        lines = balanced(text, f, max_width)
        widest = max(text_width(f, line) for line in lines)
        if (len(lines) <= max_lines and widest <= max_width) or size <= 10:
            return f, lines
        size = round(size * 0.9)


def paint_card(c: Canvas, pal: Palette, text: str) -> None:
    """An insert: a dark card toned by the time of day, a thin frame, the action in words."""
    paper = mix(scale(pal.sky_top, 0.5), (24, 22, 26), 0.55)
    c.image.paste(paper, (0, 0, c.image.width, c.image.height))
    d = c.draw
    edge = mix(paper, (230, 220, 200), 0.35)
    d.rectangle((c.x(0.12), c.y(0.14), c.x(0.88), c.y(0.86)), outline=edge,
                width=max(1, round(c.fh * 0.004)))
    label = font(max(8, round(c.fh * 0.032)))
    _draw_lines(c, ["I N S E R T"], label, 0.5, 0.24, mix(paper, (230, 220, 200), 0.6))
    f, lines = _fit(text, c, 0.07, c.fw * 0.64, 4)
    _draw_lines(c, lines, f, 0.5, 0.53, (246, 240, 228))


def paint_caption(c: Canvas, text: str) -> None:
    """A shot with nobody in it: its action on a translucent card below the middle."""
    f, lines = _fit(text, c, 0.05, c.fw * 0.6, 3)
    size = f.size if isinstance(f, ImageFont.FreeTypeFont) else 12
    widest = max(text_width(f, line) for line in lines)
    line_h = size * 1.25
    box_w = widest + size * 1.6
    box_h = line_h * len(lines) + size * 0.9
    cx, cy = c.x(0.5), c.y(0.7)
    c.draw.rounded_rectangle((cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2),
                             radius=size * 0.4, fill=(12, 12, 16, 150))
    _draw_lines(c, lines, f, 0.5, 0.7, (244, 240, 230))
