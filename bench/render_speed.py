"""How fast the procedural renderer makes frames, against x264 encoding the same frames.

Takes shots of examples/lighthouse.film at 1280x720, by default a push_in and a static
one, renders each shot's still once (timed apart), then, in one run, measures:

- the renderer alone: `procedural.render_frames` over the still, N frames per shot
  (best of --runs), every frame materialised as the array the encoder would get;
- the encoder: the same frames piped into `SegmentEncoder` (x264 `veryfast`, the film's
  segment parameters), one segment per shot, ffmpeg's start and finish included;
- for moving shots, the way frames were made before (Pillow's bilinear resize of each
  camera box, then a numpy array), for a before/after ratio from the same run.

Runs alternate between the three, so that a busy machine slows them alike.

    python bench/render_speed.py [--frames 96] [--runs 3] [--cameras push_in,static]
    python bench/render_speed.py --snow      # the same shots with falling snow

Target: the renderer at least 2x faster than the encoder, so rendering never holds up a
build's encoding.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from filmlang import ir
from filmlang.api import check_file
from filmlang.backends.procedural import draw as procedural
from filmlang.link.segments import SegmentEncoder

ROOT = Path(__file__).resolve().parent.parent
FILM = ROOT / "examples" / "lighthouse.film"
WIDTH, HEIGHT = 1280, 720
Frame = npt.NDArray[np.uint8]
SNOW = [0.0]
"""How bright falling snow is in the rendered frames (--snow sets it)."""


def shot_with(film: ir.Film, camera: str) -> tuple[ir.Scene, ir.Shot]:
    """The film's first shot with this camera move (or its first shot, given the move)."""
    for scene in film.scenes:
        for shot in scene.shots:
            if shot.camera == camera:
                return scene, shot
    scene = film.scenes[0]
    return scene, scene.shots[0].model_copy(update={"camera": camera})


def render(still: Image.Image, shot: ir.Shot, frames: int,
           fps: float) -> tuple[list[Frame], float]:
    start = time.perf_counter()
    out = list(procedural.render_frames(still, shot.camera, frames, fps, WIDTH, HEIGHT,
                                        shot.seed, snow=SNOW[0]))
    return out, time.perf_counter() - start


def render_pillow(still: Image.Image, shot: ir.Shot, frames: int,
                  fps: float) -> tuple[list[Frame], float]:
    """The path before the fast one: a Pillow bilinear resize per frame, then an array."""
    start = time.perf_counter()
    boxes = procedural.camera_boxes(still.size, shot.camera, frames, fps, WIDTH, HEIGHT,
                                    shot.seed)
    out = [np.array(still.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR, box=box))
           for box in boxes]
    return out, time.perf_counter() - start


def encode(frames: list[Frame], fps: float, path: Path) -> float:
    start = time.perf_counter()
    with SegmentEncoder(path, WIDTH, HEIGHT, fps, preset="veryfast") as encoder:
        encoder.write_all(frames)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96, help="frames per shot")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--cameras", default="push_in,static",
                        help="the shots' camera moves, comma-separated")
    parser.add_argument("--snow", action="store_true", help="let snow fall in every shot")
    args = parser.parse_args()
    SNOW[0] = procedural.SNOW_LIGHT["day"] if args.snow else 0.0
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    for camera in cameras:
        if camera not in procedural.CAMERA_MOVES:
            raise SystemExit(f"unknown camera {camera!r}; expected one of "
                             f"{', '.join(procedural.CAMERA_MOVES)}")

    result = check_file(FILM)
    if result.film is None or not result.ok:
        raise SystemExit(result.report())
    film = result.film.model_copy(update={"width": WIDTH, "height": HEIGHT})
    fps = film.fps
    sw, sh = procedural.still_size(WIDTH, HEIGHT)

    total_render = 0.0
    total_encode = 0.0
    total_before = 0.0
    total_frames = 0
    print(f"{WIDTH}x{HEIGHT}, {args.frames} frames per shot, still {sw}x{sh}"
          f"{', snow' if args.snow else ''}")
    with tempfile.TemporaryDirectory(prefix="filmc-render-bench-") as tmp:
        for camera in cameras:
            scene, shot = shot_with(film, camera)
            start = time.perf_counter()
            still = procedural.render_still(film, scene, shot, sw, sh)
            still_s = time.perf_counter() - start
            best = encode_s = before = float("inf")
            frames: list[Frame] = []
            for k in range(max(1, args.runs)):
                frames, seconds = render(still, shot, args.frames, fps)
                best = min(best, seconds)
                encode_s = min(encode_s, encode(frames, fps, Path(tmp) / f"{camera}-{k}.mp4"))
                if camera != "static" and not args.snow:
                    del frames
                    frames, seconds = render_pillow(still, shot, args.frames, fps)
                    before = min(before, seconds)
            if before == float("inf"):
                before = best  # static shots (and snow) are drawn as they were
            total_render += best
            total_encode += encode_s
            total_before += before
            total_frames += len(frames)
            print(f"  {camera:<9} {scene.name}/{shot.index + 1}: still {still_s * 1000:5.0f} ms"
                  f", render {len(frames) / best:7.1f} fps"
                  f" (before {len(frames) / before:6.1f})"
                  f", x264 veryfast {len(frames) / encode_s:6.1f} fps")
            del frames
    render_fps = total_frames / total_render
    encode_fps = total_frames / total_encode
    ratio = render_fps / encode_fps
    before_ratio = total_frames / total_before / encode_fps
    print(f"renderer alone         {render_fps:7.1f} fps"
          f" (before: {total_frames / total_before:.1f} fps, {before_ratio:.2f}x x264)")
    print(f"x264 veryfast encoding {encode_fps:7.1f} fps")
    print(f"ratio                  {ratio:7.2f}x (target >= 2x): "
          f"{'ok' if ratio >= 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
