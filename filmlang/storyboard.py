"""Storyboards: a contact sheet of a film, one frame per shot, in order, as a PNG.

`render_storyboard(film)` lays the shots out in a grid under a title bar with the film's
title. Each cell is the shot's frame as the procedural backend renders it (its still, or
its `picture` image file, seen through the camera at rest: the first frame of its move;
a video picture shows the procedural still) and, under it, a label: the shot's
`scene/number type` and its dialogue (`SPEAKER: line`, wrapped, cut with … when long), or
its action when nobody speaks. `write_png` writes the sheet atomically.

Nothing here reads the cache or runs a build: the sheet comes from the checked film alone,
with the same fonts and pixels on every machine, so the same film gives the same bytes.
"""

from __future__ import annotations

import math
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from filmlang import ir
from filmlang.backends.procedural import draw as procedural
from filmlang.backends.procedural.text import Font, font, text_width, wrap

__all__ = ["Layout", "label_lines", "label_rows", "layout_for", "render_storyboard", "write_png"]

BACKGROUND = (18, 18, 22)
FRAME_EDGE = (58, 58, 66)
HEADING = (236, 186, 84)
TEXT = (222, 222, 226)
MUTED = (150, 150, 160)

FRAMES = 24
"""Frames of the camera move rendered to find its first frame (the move eases over them)."""
TEXT_ROWS = 3
"""Rows of dialogue or action under a frame; more is cut with an ellipsis."""


@dataclass(frozen=True)
class Layout:
    """The geometry of a sheet: cells of a frame and its label, in rows under a title bar."""

    shots: int
    columns: int
    thumb_width: int
    thumb_height: int
    cast: int = 0
    """How many characters the cast strip under the title shows (a sheet each)."""

    @property
    def rows(self) -> int:
        return max(1, math.ceil(self.shots / self.columns))

    @property
    def gutter(self) -> int:
        return max(8, round(self.thumb_width * 0.04))

    @property
    def heading_size(self) -> int:
        return max(10, round(self.thumb_width * 0.034))

    @property
    def text_size(self) -> int:
        return max(9, round(self.thumb_width * 0.03))

    @property
    def title_size(self) -> int:
        return max(14, round(self.thumb_width * 0.06))

    @property
    def title_height(self) -> int:
        return round(self.title_size * 2.6)

    @property
    def cast_height(self) -> int:
        """The strip of character sheets under the title bar (none without characters)."""
        return round(self.thumb_height * 0.9) + self.gutter if self.cast else 0

    @property
    def header_height(self) -> int:
        return self.title_height + self.cast_height

    def cast_box(self, index: int) -> tuple[int, int, int, int]:
        """The (left, top, right, bottom) of character `index`'s sheet in the strip."""
        height = self.cast_height - self.gutter
        width = round(height * 0.62)
        x = self.gutter + index * (width + self.gutter)
        return x, self.title_height, x + width, self.title_height + height

    @property
    def line_height(self) -> int:
        return round(self.text_size * 1.3)

    @property
    def label_height(self) -> int:
        return round(self.heading_size * 1.8) + TEXT_ROWS * self.line_height

    @property
    def cell_width(self) -> int:
        return self.thumb_width

    @property
    def cell_height(self) -> int:
        return self.thumb_height + self.label_height

    @property
    def size(self) -> tuple[int, int]:
        g = self.gutter
        return (self.columns * (self.cell_width + g) + g,
                self.header_height + self.rows * (self.cell_height + g))

    def frame_box(self, index: int) -> tuple[int, int, int, int]:
        """The (left, top, right, bottom) of shot `index`'s frame in the sheet."""
        row, column = divmod(index, self.columns)
        x = self.gutter + column * (self.cell_width + self.gutter)
        y = self.header_height + row * (self.cell_height + self.gutter)
        return x, y, x + self.thumb_width, y + self.thumb_height

    def label_box(self, index: int) -> tuple[int, int, int, int]:
        """The (left, top, right, bottom) of shot `index`'s label, under its frame."""
        left, _, right, bottom = self.frame_box(index)
        return left, bottom, right, bottom + self.label_height


def layout_for(film: ir.Film, *, columns: int = 3, width: int = 480) -> Layout:
    """The layout of `film`'s sheet: frames `width` wide, of the film's aspect, even."""
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}")
    if width < 16:
        raise ValueError(f"width must be at least 16, not {width}")
    height = max(2, 2 * round(width * film.height / film.width / 2))
    return Layout(shots=len(film.shots), columns=columns, thumb_width=width,
                  thumb_height=height, cast=len(film.characters))


def thumbnail(film: ir.Film, scene: ir.Scene, shot: ir.Shot, width: int,
              height: int, root: Path | None = None) -> Image.Image:
    """The shot as the film shows it at rest: its still through the camera's first frame,
    with the snow that falls in it. A shot whose picture is an image file (found from
    `root`, the film's folder) shows that image; a shot whose figures move shows them in
    the middle of their action."""
    size = procedural.still_size(width, height)
    picture = shot.picture
    if root is not None and picture is not None and picture.kind == "image":
        from PIL import ImageOps

        with Image.open(root / picture.path) as image:
            still = ImageOps.fit(image.convert("RGB"), size)
        snow = 0.0
    else:
        spec = procedural.still_spec(film, scene, shot)
        moment = 0.6 if procedural.moves(spec) else 0.0
        still = procedural.paint_still_mouths(spec, *size, moment=moment)[0]
        snow = procedural.snow_level(spec)
    frames = procedural.render_frames(still, shot.camera, FRAMES, film.fps, width, height,
                                      shot.seed, snow=snow)
    return Image.fromarray(next(iter(frames)))


def printable(text: str) -> str:
    """`text` in the characters the bundled font has: accents dropped, dashes plain."""
    out = []
    for ch in " ".join(text.split()):
        if ord(ch) < 128 or ch in "…‘’“”":
            out.append(ch)
        elif unicodedata.category(ch) == "Pd":
            out.append("-")
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode())
    return "".join(out)


def label_lines(shot: ir.Shot) -> list[tuple[str, str]]:
    """What a shot's label says under its heading: (speaker, text) per line of dialogue,
    or ("", action) when nobody speaks, or its titles, quoted, when it has no action."""
    if shot.lines:
        return [(line.speaker, line.text) for line in shot.lines]
    if shot.action:
        return [("", shot.action)]
    return [("", f"“{title.text}”") for title in shot.titles]


def _clip(text: str, f: Font, max_width: float) -> str:
    """`text` cut to fit `max_width` with an ellipsis after it, at a word where it can be."""
    cut = text.rstrip()
    while cut and text_width(f, cut + "…") > max_width:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6 and cut != text.rstrip():
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def label_rows(entries: list[tuple[str, str]], f: Font, max_width: float) -> list[tuple[str, str]]:
    """The label's rows as (speaker prefix, text), wrapped and cut at TEXT_ROWS."""
    rows: list[tuple[str, str]] = []
    for speaker, text in entries:
        prefix = f"{speaker}: " if speaker else ""
        indent = text_width(f, prefix)
        wrapped = wrap(printable(text), f, max_width - indent)
        for k, part in enumerate(wrapped):
            rows.append((prefix if k == 0 else "", part))
    if len(rows) > TEXT_ROWS:
        prefix, last = rows[TEXT_ROWS - 1]
        room = max_width - text_width(f, prefix)
        rows = [*rows[:TEXT_ROWS - 1], (prefix, _clip(last, f, room))]
    # A single word wider than the cell is cut too.
    return [(p, t if text_width(f, p + t) <= max_width else
             _clip(t, f, max_width - text_width(f, p))) for p, t in rows]


def _label(draw: ImageDraw.ImageDraw, layout: Layout, index: int, scene: ir.Scene,
           shot: ir.Shot) -> None:
    left, top, right, _ = layout.label_box(index)
    heading = font(layout.heading_size)
    body = font(layout.text_size)
    y = top + round(layout.heading_size * 0.45)
    name = f"{scene.name}/{shot.index + 1}"
    draw.text((left, y), name, font=heading, fill=HEADING)
    x = left + text_width(heading, name + "  ")
    draw.text((x, y), shot.type, font=heading, fill=TEXT)
    if shot.camera != "static":
        draw.text((right, y), shot.camera, font=body, fill=MUTED, anchor="ra")
    y += round(layout.heading_size * 1.35)
    for prefix, text in label_rows(label_lines(shot), body, right - left):
        x = left
        if prefix:
            draw.text((x, y), prefix, font=body, fill=HEADING)
            x += text_width(body, prefix)
        draw.text((x, y), text, font=body, fill=TEXT if shot.lines else MUTED)
        y += layout.line_height


def _cast(sheet: Image.Image, draw: ImageDraw.ImageDraw, film: ir.Film,
          layout: Layout) -> None:
    """A sheet per character: the figure whole, as its look draws it, its name and look."""
    label = font(layout.text_size)
    for index, character in enumerate(film.characters):
        left, top, right, bottom = layout.cast_box(index)
        if right > sheet.width:
            break
        card = procedural.character_sheet(character, right - left,
                                          bottom - top - layout.line_height * 2)
        sheet.paste(card, (left, top))
        draw.rectangle((left - 1, top - 1, right, top + card.height), outline=FRAME_EDGE)
        y = top + card.height + 2
        draw.text((left, y), character.name, font=label, fill=HEADING)
        draw.text((left, y + layout.line_height), _clip(printable(character.look), label,
                                                        right - left), font=label, fill=MUTED)


def render_storyboard(film: ir.Film, *, columns: int = 3, width: int = 480,
                      root: Path | None = None) -> Image.Image:
    """The film's contact sheet: a title bar, then one labelled frame per shot, in order;
    `root` (the film's folder) finds the shots' pictures from image files."""
    layout = layout_for(film, columns=columns, width=width)
    sheet = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title = font(layout.title_size)
    middle = layout.title_height / 2
    draw.text((layout.gutter, middle), printable(film.title), font=title, fill=TEXT,
              anchor="lm")
    shots = len(film.shots)
    scenes = len(film.scenes)
    info = (f"{scenes} scene{'s' if scenes != 1 else ''}, {shots} shot"
            f"{'s' if shots != 1 else ''}, {film.width}x{film.height} at {film.fps:g} fps")
    draw.text((layout.size[0] - layout.gutter, middle), info, font=font(layout.text_size),
              fill=MUTED, anchor="rm")
    _cast(sheet, draw, film, layout)
    index = 0
    for scene in film.scenes:
        for shot in scene.shots:
            box = layout.frame_box(index)
            sheet.paste(thumbnail(film, scene, shot, layout.thumb_width, layout.thumb_height,
                                  root), box[:2])
            draw.rectangle((box[0] - 1, box[1] - 1, box[2], box[3]), outline=FRAME_EDGE)
            _label(draw, layout, index, scene, shot)
            index += 1
    return sheet


def write_png(image: Image.Image, path: Path) -> None:
    """Write `image` to `path` as a PNG, atomically: a temp file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, format="PNG", optimize=False)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
