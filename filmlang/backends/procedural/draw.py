"""The procedural visual backend: a still per shot, the camera's move over it, text, blends.

The default that always works: no model, no GPU, only Pillow and numpy. It takes the
checked film (`ir.Film`, `ir.Scene`, `ir.Shot`) and gives

- `render_still`: the shot's picture, an RGB image: the scene's place for its time of day,
  its subjects as simple figures in their colours, framed as the shot type says, or a
  caption card for inserts and empty shots with an action;
- `render_frames`: the shot's frames, the camera move applied to that still, as uint8
  arrays of shape (height, width, 3): a static camera's frame is resampled once, a moving
  one's by one affine warp per frame (`Warp`); falling snow (`snow_level`) is a few
  pre-drawn layers of flakes slid down each frame (`Snow`);
- `draw_text`: a title or burned-in subtitle over a frame;
- `blend`: the frames of a dissolve, wipe or fade between two shots.

The still is rendered larger than the frame, `still_size(width, height)` (STILL_SCALE = 1.25
times, rounded to even), so that moves never magnify it. The camera at rest sees the middle
VIEW_SCALE / STILL_SCALE (92%) of the still; a push-in ends on the middle 80%, at one still
pixel per frame pixel; pans and tilts travel 8.5% of the frame inside the margin.

Everything is deterministic: the same inputs give the same pixels. What a still depends on
is exactly `still_spec(...)`: put its `key()` in the job's key, with VERSION.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from filmlang import ir
from filmlang.backends.procedural.figures import MouthAnchor, draw_figure
from filmlang.backends.procedural.looks import figure_of
from filmlang.backends.procedural.mouths import Mouth
from filmlang.backends.procedural.places import paint_place
from filmlang.backends.procedural.props import draw_prop
from filmlang.backends.procedural.scene import (
    PALETTES,
    Canvas,
    gradient,
)
from filmlang.backends.procedural.spec import (
    VERSION,
    StillSpec,
    Subject,
    still_spec,
    words_of,
)
from filmlang.backends.procedural.stage import Stage, draw_stage, stage_of
from filmlang.backends.procedural.text import (
    draw_text,
    paint_caption,
    paint_card,
)
from filmlang.config import STILL_SCALE, still_size

__all__ = [
    "CAMERA_MOVES",
    "PAN",
    "PUSH",
    "STILL_SCALE",
    "VERSION",
    "VIEW_SCALE",
    "Mouth",
    "StillSpec",
    "Subject",
    "blend",
    "camera_boxes",
    "character_sheet",
    "draw_text",
    "moves",
    "paint_still_mouths",
    "render_frames",
    "render_still",
    "render_still_mouths",
    "snow_level",
    "still_size",
    "still_spec",
]

VIEW_SCALE = 1.15
"""The camera at rest sees a window this many times the frame (in still pixels)."""
PUSH = 1.15
"""A push-in magnifies the resting view this much by its end (a pull-out starts there)."""
PAN = 0.0425
"""A pan or tilt moves the window this far either side of centre, in window widths."""
SUPERSAMPLE = 2
"""Stills are drawn this many times larger and each SUPERSAMPLE x SUPERSAMPLE block
averaged (`Image.reduce`, the box resolve of supersampling): anti-aliasing. Against an
8x area-sampled reference the box is as close as LANCZOS (within 0.3 dB PSNR either way
on last_ferry's stills, docs/performance.md) at a tenth of the time (30 ms, not 320 ms,
for a 1600x900 still)."""

Frame = npt.NDArray[np.uint8]


# --- stills --------------------------------------------------------------------------------

# How much closer framings magnify and soften the place behind the subjects, as a longer
# lens and a shallower focus would: (magnification, blur radius in frame heights).
FOCUS: dict[str, tuple[float, float]] = {
    "wide": (1.0, 0.0),
    "medium": (1.3, 0.0035),
    "close": (1.75, 0.008),
    "extreme_close": (2.3, 0.013),
}


def _focus(c: Canvas, framing: str) -> None:
    zoom, blur = FOCUS.get(framing, (1.0, 0.0))
    if zoom <= 1.0:
        return
    img = c.image
    w, h = img.width / zoom, img.height / zoom
    cx, cy = c.x(0.5), c.y(0.55)
    x0 = min(max(0.0, cx - w / 2), img.width - w)
    y0 = min(max(0.0, cy - h / 2), img.height - h)
    # Blur at half resolution: the result is soft anyway, and it is four times cheaper.
    half = img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR,
                      box=(x0, y0, x0 + w, y0 + h))
    half = half.filter(ImageFilter.GaussianBlur(blur * c.fh / 2))
    c.image.paste(half.resize(img.size, Image.Resampling.BILINEAR), (0, 0))


def paint_still(spec: StillSpec, width: int, height: int) -> Image.Image:
    """Render a still of (width, height) from its spec (see `render_still`)."""
    return paint_still_mouths(spec, width, height)[0]


def _canvas(width: int, height: int, q: int) -> Canvas:
    big_w, big_h = width * q, height * q
    view = VIEW_SCALE / STILL_SCALE
    fw, fh = big_w * view, big_h * view
    return Canvas(Image.new("RGB", (big_w, big_h), (0, 0, 0)), (big_w - fw) / 2,
                  (big_h - fh) / 2, fw, fh)


def _plate(c: Canvas, spec: StillSpec) -> float:
    """The place behind the figures (blurred as the framing says); gives the ground."""
    ground = paint_place(c, spec.time, spec.interior, spec.words,
                         random.Random(spec.place_seed), spec.place)
    if spec.subjects:
        _focus(c, spec.framing)
    return ground


def _prop_shot(spec: StillSpec) -> str:
    """The prop an insert or a close shot without people shows large, or ""."""
    close = spec.shot_type == "insert" or (not spec.subjects and spec.framing in (
        "close", "extreme_close"))
    return spec.prop_kind(spec.props[0]) if close and spec.props else ""


def paint_still_mouths(spec: StillSpec, width: int, height: int, *,
                       moment: float = 0.0) -> tuple[Image.Image, list[Mouth | None]]:
    """A still, and each subject's mouth in its pixels (None where no face is seen).

    `moment` is the fraction of the shot whose poses it shows (0: the first frame)."""
    if width < 1 or height < 1:
        raise ValueError(f"still size must be positive, not {width}x{height}")
    c = _canvas(width, height, SUPERSAMPLE)
    pal = PALETTES.get(spec.time, PALETTES["day"])
    anchors: list[MouthAnchor | None] = [None] * len(spec.subjects)
    prop = _prop_shot(spec)
    if prop:
        paint_place(c, spec.time, spec.interior, spec.words, random.Random(spec.place_seed),
                    spec.place)
        _focus(c, "extreme_close")
        draw_prop(c.draw, prop, c.x(0.5), c.y(0.86), 0.62 * c.fh, pal.tint)
    elif spec.shot_type == "insert":
        paint_card(c, pal, spec.action or spec.setting or spec.location)
    else:
        ground = _plate(c, spec)
        anchors, _ = draw_stage(c, stage_of(spec), ground, moment, 0.0, pal.tint)
        if not spec.subjects and spec.action and not spec.props:
            paint_caption(c, spec.action)
    mouths = [Mouth.of(a, SUPERSAMPLE, width, height) for a in anchors]
    return c.image.reduce(SUPERSAMPLE), mouths


def character_sheet(character: ir.Character, width: int, height: int) -> Image.Image:
    """A character's sheet for the storyboard: the whole figure on a plain ground."""
    q = SUPERSAMPLE
    c = Canvas(Image.new("RGB", (width * q, height * q), (58, 60, 66)), 0, 0, width * q,
               height * q)
    gradient(c, 0.0, 1.0, (74, 76, 84), (44, 46, 52))
    fig = figure_of(character.look, character.color, character.seed,
                    words_of(character.look))
    u = 0.118 * c.fh
    draw_figure(c, fig, c.x(0.5), c.y(0.06), u, detail=1)
    return c.image.reduce(q)


def moves(spec: StillSpec) -> bool:
    """Whether the shot's figures move, so that its frames are drawn one by one."""
    if spec.shot_type == "insert" or not spec.subjects or _prop_shot(spec):
        return False
    return stage_of(spec).moving


class Staged:
    """A shot whose figures move: its plate (the place) and its stage, drawn per frame."""

    def __init__(self, spec: StillSpec, width: int, height: int,
                 plate: tuple[Image.Image, float] | None = None) -> None:
        c = _canvas(width, height, SUPERSAMPLE)
        if plate is None:
            self.ground = _plate(c, spec)
            self.plate = c.image.reduce(SUPERSAMPLE)  # resolved as a still is
        else:
            self.plate, self.ground = plate
        self.spec = spec
        self.geometry = (c.fx0 / SUPERSAMPLE, c.fy0 / SUPERSAMPLE, c.fw / SUPERSAMPLE,
                         c.fh / SUPERSAMPLE)
        self.stage: Stage = stage_of(spec)
        self.tint = PALETTES.get(spec.time, PALETTES["day"]).tint
        self.size = (width, height)

    @classmethod
    def of(cls, spec: StillSpec, width: int, height: int) -> Staged | None:
        """The staged shot, or None when nothing in it moves (its still serves)."""
        return cls(spec, width, height) if moves(spec) else None

    def to_json(self) -> dict[str, object]:
        return {"spec": self.spec.key(), "ground": self.ground}

    @classmethod
    def from_json(cls, data: dict[str, object], plate: Image.Image) -> Staged:
        spec = StillSpec.from_key(data["spec"])  # type: ignore[arg-type]
        return cls(spec, plate.width, plate.height, (plate, float(data["ground"])))  # type: ignore[arg-type]

    def at(self, t: float, seconds: float) -> tuple[Image.Image, list[Mouth | None],
                                                     list[dict[str, tuple[float, float]]]]:
        """The still at fraction t of the shot: plate, props and figures in their poses;
        the mouths and joints in its pixels."""
        image = self.plate.copy()
        c = Canvas(image, *self.geometry)
        anchors, joints = draw_stage(c, self.stage, self.ground, t, seconds, self.tint)
        return image, [Mouth.of(a, 1, *self.size) for a in anchors], joints


def render_still(film: ir.Film, scene: ir.Scene, shot: ir.Shot, width: int,
                 height: int) -> Image.Image:
    """The shot's still, an RGB image of (width, height); pass `still_size(frame size)`.

    The picture is composed for the middle VIEW_SCALE / STILL_SCALE of the image (what the
    camera sees at rest); the rest is margin for camera moves.
    """
    return paint_still(still_spec(film, scene, shot), width, height)


def render_still_mouths(film: ir.Film, scene: ir.Scene, shot: ir.Shot, width: int,
                        height: int) -> tuple[Image.Image, list[Mouth | None]]:
    """`render_still`, and where each of the shot's subjects' mouths is in it (lip sync)."""
    return paint_still_mouths(still_spec(film, scene, shot), width, height)


# --- camera moves --------------------------------------------------------------------------

Pose = tuple[float, float, float]
"""(x, y, zoom): the window's centre offset in window widths and heights, and its zoom."""
Move = Callable[[float, float, "Wobble"], Pose]


def ease(t: float) -> float:
    """Ease in and out (smoothstep): still at both ends, steadiest in the middle."""
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class Wobble:
    """A hand-held camera's drift: a few slow sines per axis, fixed by the shot's seed."""

    x: tuple[tuple[float, float, float], ...]
    y: tuple[tuple[float, float, float], ...]
    z: tuple[float, float]

    @classmethod
    def of(cls, seed: int) -> Wobble:
        rng = random.Random(seed)

        def axis(amplitude: float) -> tuple[tuple[float, float, float], ...]:
            # (amplitude, frequency in Hz, phase): slow, incommensurate, never a jitter.
            weights = (1.0, 0.55, 0.3)
            return tuple((amplitude * w / sum(weights), rng.uniform(0.12, 0.22) * (k + 1),
                          rng.uniform(0.0, 2 * math.pi)) for k, w in enumerate(weights))

        return cls(x=axis(PAN * 0.6), y=axis(PAN * 0.5),
                   z=(rng.uniform(0.07, 0.12), rng.uniform(0.0, 2 * math.pi)))

    @staticmethod
    def at(terms: tuple[tuple[float, float, float], ...], seconds: float) -> float:
        return sum(a * math.sin(2 * math.pi * f * seconds + p) for a, f, p in terms)


CAMERA_MOVES: dict[str, Move] = {
    "static": lambda t, s, w: (0.0, 0.0, 1.0),
    "push_in": lambda t, s, w: (0.0, 0.0, PUSH ** ease(t)),
    "pull_out": lambda t, s, w: (0.0, 0.0, PUSH ** (1.0 - ease(t))),
    "pan_left": lambda t, s, w: (PAN * (1.0 - 2.0 * ease(t)), 0.0, 1.0),
    "pan_right": lambda t, s, w: (PAN * (2.0 * ease(t) - 1.0), 0.0, 1.0),
    "tilt_up": lambda t, s, w: (0.0, PAN * (1.0 - 2.0 * ease(t)), 1.0),
    "tilt_down": lambda t, s, w: (0.0, PAN * (2.0 * ease(t) - 1.0), 1.0),
    "handheld": lambda t, s, w: (
        Wobble.at(w.x, s), Wobble.at(w.y, s),
        1.0 + 0.012 * (0.5 + 0.5 * math.sin(2 * math.pi * w.z[0] * s + w.z[1]))),
}

def render_frames(still: Image.Image, camera: str, frames: int, fps: float, width: int,
                  height: int, seed: int, *, start: int = 0,
                  snow: float = 0.0) -> Iterator[Frame]:
    """Frames [start, frames) of a shot: the camera's move over its still.

    Each frame is a uint8 array (height, width, 3). Moves ease in and out over the whole
    shot (frame 0 to frames - 1), whatever `start` is; a hand-held camera drifts as the
    seed says. `snow` > 0 lets snow fall in front of the camera, flakes this bright (1 is
    white; `snow_level` gives the shot's), placed by the seed. A static camera without
    snow yields one and the same read-only array for every frame; other frames are fresh
    arrays, also read-only (copy before writing in place). Arguments are checked at the
    call, not at the first frame.
    """
    move = CAMERA_MOVES.get(camera)
    if move is None:
        raise ValueError(f"unknown camera move {camera!r}; expected one of "
                         f"{', '.join(CAMERA_MOVES)}")
    if width < 1 or height < 1:
        raise ValueError(f"frame size must be positive, not {width}x{height}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    if not 0.0 <= snow <= 1.0:
        raise ValueError(f"snow must be between 0 and 1, not {snow}")
    first = max(0, start)
    out = _frames(still, camera, frames, fps, width, height, seed, first)
    if snow > 0.0:
        return _snowing(out, Snow(width, height, fps, seed, snow), first)
    return out


def snow_level(spec: StillSpec) -> float:
    """How bright the shot's falling snow is (`render_frames`' `snow`), 0 where none falls."""
    return SNOW_LIGHT.get(spec.time, 1.0) if spec.snowfall else 0.0


SNOW_LIGHT = {"dawn": 0.86, "day": 0.96, "dusk": 0.82, "night": 0.7}
"""The brightness of snowflakes at each time of day."""


class Snow:
    """Falling snow: a few layers of flakes, drawn once per shot, slid down every frame.

    Each layer is one anti-aliased tile of flakes (grey, RGB) that wraps around, stored
    twice over in each direction; a frame's flakes are a window into it, moved by whole
    pixels (the far layers slowly, the near ones faster, with a little wind), and lighten
    the frame (`np.maximum`): about 1.5 ms a frame at 720p, no drawing.
    """

    # (flakes per frame area at 720p, radius in frame heights, fall and wind speed in
    # frame heights per second, brightness): far, middle, near.
    LAYERS = ((900, 0.0011, 0.06, 0.004, 0.7), (320, 0.0019, 0.11, 0.012, 0.85),
              (90, 0.004, 0.19, 0.024, 1.0))

    def __init__(self, width: int, height: int, fps: float, seed: int, light: float) -> None:
        rng = random.Random(seed ^ 0x5E0)
        area = width * height / (1280 * 720)
        self.size = (width, height)
        self.layers: list[tuple[Frame, float, float]] = []
        q = 2  # drawn at twice the size, then averaged down: soft, round flakes
        for count, radius, fall, wind, bright in self.LAYERS:
            tile = Image.new("L", (width * q, height * q), 0)
            draw = ImageDraw.Draw(tile)
            r = max(0.6, radius * height) * q
            level = round(255 * light * bright)
            for _ in range(max(1, round(count * area))):
                x, y = rng.uniform(0, width * q), rng.uniform(0, height * q)
                rr = r * rng.uniform(0.7, 1.3)
                # Flakes across an edge are drawn on both sides: the tile wraps around.
                for dx in (-width * q, 0, width * q):
                    for dy in (-height * q, 0, height * q):
                        if (-rr <= x + dx <= width * q + rr
                                and -rr <= y + dy <= height * q + rr):
                            draw.ellipse((x + dx - rr, y + dy - rr, x + dx + rr,
                                          y + dy + rr), fill=level)
            small = np.asarray(tile.reduce(q), dtype=np.uint8)
            grey = np.repeat(small[:, :, None], 3, axis=2)  # RGB: no broadcast per frame
            self.layers.append((np.tile(grey, (2, 2, 1)), fall * height / fps,
                                wind * height / fps))

    def at(self, index: int) -> list[Frame]:
        """The layers' flakes on frame `index`: views of shape (height, width, 3)."""
        width, height = self.size
        out = []
        for tile, fall, wind in self.layers:
            dy = (height - round(index * fall) % height) % height
            dx = round(index * wind) % width
            out.append(tile[dy:dy + height, dx:dx + width])
        return out

    def over(self, frame: Frame, index: int) -> Frame:
        """A new read-only frame: `frame` with frame `index`'s flakes over it."""
        layers = self.at(index)
        out = np.maximum(frame, layers[0])
        for layer in layers[1:]:
            np.maximum(out, layer, out=out)
        out.flags.writeable = False
        return out


def _snowing(frames: Iterator[Frame], snow: Snow, first: int) -> Iterator[Frame]:
    for index, frame in enumerate(frames, start=first):
        yield snow.over(frame, index)


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1): the part of the still, in its pixels, that a frame shows."""


def _base(sw: int, sh: int, width: int, height: int) -> tuple[float, float]:
    """The resting window's size in still pixels."""
    fit = min(sw / width, sh / height)
    base_w = width * fit * VIEW_SCALE / STILL_SCALE
    base_h = height * fit * VIEW_SCALE / STILL_SCALE
    # A still of any other size still works: the window keeps the frame's shape and fits.
    if base_w > sw or base_h > sh:
        shrink = min(sw / base_w, sh / base_h)
        base_w, base_h = base_w * shrink, base_h * shrink
    return base_w, base_h


def camera_boxes(still_size: tuple[int, int], camera: str, frames: int, fps: float,
                 width: int, height: int, seed: int, *, start: int = 0) -> Iterator[Box]:
    """For frames [start, frames) of a shot, the box of the still each frame shows.

    Frame pixel (x, y) shows still pixel (x0 + x * (x1 - x0) / width, y0 + y * (y1 - y0)
    / height): this is the camera move `render_frames` draws, for things drawn over it.
    """
    move = CAMERA_MOVES.get(camera)
    if move is None:
        raise ValueError(f"unknown camera move {camera!r}; expected one of "
                         f"{', '.join(CAMERA_MOVES)}")
    sw, sh = still_size
    base_w, base_h = _base(sw, sh, width, height)
    if camera == "static":
        box = ((sw - base_w) / 2, (sh - base_h) / 2, (sw + base_w) / 2, (sh + base_h) / 2)
        for _ in range(max(0, start), frames):
            yield box
        return
    wobble = Wobble.of(seed)
    # Pans and tilts never leave the margin, whatever the still's size.
    limit_x = (sw - base_w) / 2 / base_w
    limit_y = (sh - base_h) / 2 / base_h
    span = max(1, frames - 1)
    for i in range(max(0, start), frames):
        ox, oy, zoom = move(i / span, i / fps, wobble)
        ox = min(max(ox, -limit_x), limit_x)
        oy = min(max(oy, -limit_y), limit_y)
        w, h = base_w / zoom, base_h / zoom
        cx = sw / 2 + ox * base_w
        cy = sh / 2 + oy * base_h
        x0 = min(max(0.0, cx - w / 2), sw - w)
        y0 = min(max(0.0, cy - h / 2), sh - h)
        yield (x0, y0, x0 + w, y0 + h)


def _frames(still: Image.Image, camera: str, frames: int, fps: float, width: int,
            height: int, seed: int, first: int) -> Iterator[Frame]:
    src = still if still.mode == "RGB" else still.convert("RGB")
    if first >= frames:
        return
    boxes = camera_boxes(src.size, camera, frames, fps, width, height, seed, start=first)
    if camera == "static":
        still_frame = _array(src.resize((width, height), Image.Resampling.LANCZOS,
                                        box=next(boxes)))
        for _ in range(first, frames):
            yield still_frame
        return
    warp = Warp(np.asarray(src, dtype=np.uint8), width, height)
    for box in boxes:
        yield warp(box)


class Warp:
    """Frames of one still through moving camera boxes: one affine resample per frame.

    OpenCV's `warpAffine` (bilinear, in fixed point, 1/32 pixel steps) on the still kept
    as RGBA (OpenCV's four-channel path is vectorised, its three-channel one is not), then
    packed to a contiguous RGB frame: about four times faster than Pillow's resize and
    conversion (see bench/render_speed.py). A window is at most 1.15 still pixels per frame
    pixel, so two taps per axis do not alias visibly; the mean difference from Pillow's
    bilinear resize is under one level (tests/test_procedural.py).
    """

    def __init__(self, still: Frame, width: int, height: int) -> None:
        try:
            import cv2  # lazy: 0.15 s to import, and only frames of moving shots need it
        except ImportError as exc:
            raise RuntimeError("camera moves need OpenCV, a dependency of filmlang: "
                               "pip install opencv-python-headless") from exc

        cv2.setNumThreads(1)  # one core per frame stream: the encoder has the others
        self._cv2 = cv2
        self.still = cv2.cvtColor(np.ascontiguousarray(still), cv2.COLOR_RGB2RGBA)
        self.size = (width, height)

    def __call__(self, box: Box) -> Frame:
        x0, y0, x1, y1 = box
        width, height = self.size
        sx, sy = (x1 - x0) / width, (y1 - y0) / height
        # Frame pixel centre x + 0.5 shows still point x0 + (x + 0.5) * sx; OpenCV's pixel
        # centres are at integers.
        matrix = np.array([[sx, 0.0, x0 + 0.5 * sx - 0.5], [0.0, sy, y0 + 0.5 * sy - 0.5]])
        cv2 = self._cv2
        rgba = cv2.warpAffine(self.still, matrix, self.size,
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        out: Frame = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        out.flags.writeable = False
        return out


def _array(image: Image.Image) -> Frame:
    out = np.array(image, dtype=np.uint8)
    out.flags.writeable = False
    return out


# --- transitions ---------------------------------------------------------------------------

WIPE_SOFTNESS = 0.06
"""The width of a wipe's soft edge, in frame widths."""


def _mix(a: Frame, b: Frame, weight: npt.NDArray[np.uint16] | int) -> Frame:
    """a*(1-w) + b*w with w in 0..256, in integers (fast, exact at both ends)."""
    w = np.asarray(weight, dtype=np.uint16)
    out = (a.astype(np.uint16) * (256 - w) + b.astype(np.uint16) * w + 128) >> 8
    return out.astype(np.uint8)


def _dissolve(a: Frame, b: Frame, t: float) -> Frame:
    return _mix(a, b, round(t * 256))


def _wipe(a: Frame, b: Frame, t: float) -> Frame:
    width = a.shape[1]
    soft = max(1.0, WIPE_SOFTNESS * width)
    edge = t * (width + soft) - soft / 2
    # Left of the soft edge is b, right of it a; only the edge itself is blended.
    lo = min(width, max(0, math.floor(edge - soft / 2)))
    hi = min(width, max(lo, math.ceil(edge + soft / 2)))
    out = np.array(a, dtype=np.uint8, copy=True)
    out[:, :lo] = b[:, :lo]
    if hi > lo:
        x = np.arange(lo, hi, dtype=np.float32) + 0.5
        m = np.clip((edge - x) / soft + 0.5, 0.0, 1.0)
        m = m * m * (3.0 - 2.0 * m)
        weight = np.rint(m * 256).astype(np.uint16)[None, :, None]
        out[:, lo:hi] = _mix(a[:, lo:hi], b[:, lo:hi], weight)
    return out


def _fade(a: Frame, b: Frame, t: float) -> Frame:
    black = np.zeros_like(a)
    if t < 0.5:
        return _mix(a, black, round(t * 2 * 256))
    return _mix(black, b, round((t - 0.5) * 2 * 256))


BLENDS: dict[str, Callable[[Frame, Frame, float], Frame]] = {
    "dissolve": _dissolve,
    "wipe": _wipe,
    "fade": _fade,
}


def blend(a: Frame, b: Frame, t: float, kind: str) -> Frame:
    """A transition frame from `a` (t = 0) to `b` (t = 1): "dissolve", "wipe" or "fade".

    A wipe moves a soft edge from left to right; a fade goes to black by t = 0.5, then
    up from black. The ends are exact: t <= 0 gives a copy of a, t >= 1 a copy of b.
    """
    fn = BLENDS.get(kind)
    if fn is None:
        raise ValueError(f"unknown blend {kind!r}; expected one of {', '.join(BLENDS)}")
    if a.shape != b.shape:
        raise ValueError(f"blend needs frames of one shape, not {a.shape} and {b.shape}")
    if t <= 0.0:
        return np.array(a, dtype=np.uint8, copy=True)
    if t >= 1.0:
        return np.array(b, dtype=np.uint8, copy=True)
    return fn(a, b, float(t))
