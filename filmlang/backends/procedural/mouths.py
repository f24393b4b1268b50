"""Lip sync for the procedural animatic: the speaking character's mouth opens with its voice.

A still is drawn once, with every mouth closed; `render_still_mouths` also says where each
subject's mouth is (`Mouth`, in still pixels; `still.json` beside `still.png`). For each
line a subject speaks in a shot, `openness` turns the line's speech audio into one value
per video frame, 0 (closed) to 1 (wide open): the RMS level of the audio the frame shows,
relative to the line's loudest frame, smoothed over three frames, with a gate so that
pauses close the mouth. `draw_mouths` then draws the open mouths, a dark ellipse in a lip
coloured rim, over a frame at the place the frame's camera box (`procedural.camera_boxes`)
maps the mouth to. Closed mouths are left as the still draws them. Only the few pixels
around a mouth are touched, so this costs little per frame; it is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from filmlang.backends.procedural.figures import MouthAnchor
from filmlang.backends.procedural.scene import RGB

Frame = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]

GATE_DB = -28.0
"""Audio this far below the line's loudest frame leaves the mouth shut."""
FULL_DB = -4.0
"""Audio this close to the line's loudest frame opens the mouth fully."""
SILENCE = 10 ** (-55.0 / 20)
"""An RMS level (of full scale) below which a frame is silent, however quiet the line."""
CLOSED = 0.08
"""Openness below this draws nothing: the still's closed mouth shows."""
INSIDE: RGB = (56, 18, 24)
"""The colour of an open mouth's inside."""


@dataclass(frozen=True)
class Mouth:
    """Where a subject's mouth is in its still: centre and width in still pixels, lip colour."""

    x: float
    y: float
    width: float
    lip: RGB

    @classmethod
    def of(cls, anchor: MouthAnchor | None, supersample: int, width: int,
           height: int) -> Mouth | None:
        """The mouth of a canvas `anchor` drawn `supersample` times larger; None if unseen."""
        if anchor is None:
            return None
        x, y = anchor.x / supersample, anchor.y / supersample
        if not (0.0 <= x < width and 0.0 <= y < height):
            return None
        return cls(x=round(x, 3), y=round(y, 3), width=round(anchor.width / supersample, 3),
                   lip=anchor.lip)

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "width": self.width, "lip": list(self.lip)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Mouth | None:
        if data is None:
            return None
        r, g, b = data["lip"]
        return cls(x=float(data["x"]), y=float(data["y"]), width=float(data["width"]),
                   lip=(int(r), int(g), int(b)))


def openness(samples: npt.NDArray[np.float32], rate: int, fps: float, at: float,
             first: int, last: int) -> list[float]:
    """How open the mouth is on each frame [first, last) of a shot, 0..1, for one line.

    `samples` is the line's mono audio at `rate`; it starts `at` seconds after the shot's
    first frame. Frame k shows the audio within half a frame of k / fps.
    """
    n = max(0, last - first)
    if n == 0:
        return []
    mono = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1).mean(axis=1)
    levels = np.zeros(n, dtype=np.float64)
    for j in range(n):
        t = (first + j) / fps - at
        s0 = max(0, math.floor((t - 0.5 / fps) * rate))
        s1 = min(len(mono), math.floor((t + 0.5 / fps) * rate))
        if s1 > s0:
            levels[j] = math.sqrt(float(np.mean(mono[s0:s1] ** 2)))
    peak = float(levels.max())
    if peak < SILENCE:
        return [0.0] * n
    db = 20.0 * np.log10(np.maximum(levels, 1e-9) / peak)
    value = np.clip((db - GATE_DB) / (FULL_DB - GATE_DB), 0.0, 1.0)
    value[levels < SILENCE] = 0.0
    if n >= 3:
        padded = np.concatenate(([value[0]], value, [value[-1]]))
        value = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    value[value < CLOSED] = 0.0
    return [round(float(v), 4) for v in value]


def _ellipse(region: npt.NDArray[np.float32], x0: int, y0: int, cx: float, cy: float,
             rx: float, ry: float, color: RGB) -> None:
    """Paint a soft-edged filled ellipse into a float region whose corner is (x0, y0)."""
    h, w = region.shape[:2]
    ys = (np.arange(y0, y0 + h, dtype=np.float32) + 0.5 - cy)[:, None] / ry
    xs = (np.arange(x0, x0 + w, dtype=np.float32) + 0.5 - cx)[None, :] / rx
    r = np.sqrt(xs * xs + ys * ys)
    alpha = np.clip(0.5 - (r - 1.0) * min(rx, ry), 0.0, 1.0)[:, :, None]
    region *= 1.0 - alpha
    region += alpha * np.asarray(color, dtype=np.float32)


def draw_mouths(frame: Frame, mouths: Sequence[tuple[Mouth, float]], box: Box) -> Frame:
    """The frame with each (mouth, openness) drawn open; `box` is the frame's camera box.

    Gives the frame itself when nothing is open, else a copy (frames may be read-only).
    """
    open_ = [(m, o) for m, o in mouths if o >= CLOSED]
    if not open_:
        return frame
    out = np.array(frame, dtype=np.uint8, copy=True)
    height, width = out.shape[:2]
    bx0, by0, bx1, by1 = box
    sx, sy = width / (bx1 - bx0), height / (by1 - by0)
    for mouth, amount in open_:
        cx, cy = (mouth.x - bx0) * sx, (mouth.y - by0) * sy
        half = mouth.width / 2 * sx
        rx = max(0.8, half * (0.62 + 0.18 * amount))
        ry = max(0.6, half * (0.12 + 0.5 * amount))
        rim = max(0.5, 0.12 * half)
        x0 = max(0, math.floor(cx - rx - rim - 1))
        x1 = min(width, math.ceil(cx + rx + rim + 1))
        y0 = max(0, math.floor(cy - ry - rim - 1))
        y1 = min(height, math.ceil(cy + ry + rim + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        region = out[y0:y1, x0:x1].astype(np.float32)
        _ellipse(region, x0, y0, cx, cy, rx + rim, ry + rim, mouth.lip)
        _ellipse(region, x0, y0, cx, cy, rx, ry, INSIDE)
        out[y0:y1, x0:x1] = np.rint(region).astype(np.uint8)
    return out
