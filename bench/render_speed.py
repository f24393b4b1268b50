"""How fast the procedural renderer makes frames, against x264 encoding the same frames.

Takes two shots of examples/lighthouse.film at 1280x720, a push_in and a static one,
renders each shot's still once (timed apart), then, in one run, measures:

- the renderer alone: `procedural.render_frames` over the still, N frames per shot
  (best of --runs), every frame materialised as the array the encoder would get;
- the encoder: the same frames piped into `SegmentEncoder` (x264 `veryfast`, the film's
  segment parameters), one segment per shot, ffmpeg's start and finish included.

    python bench/render_speed.py [--frames 96] [--runs 3]

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
from filmlang.backends import procedural
from filmlang.link.segments import SegmentEncoder

ROOT = Path(__file__).resolve().parent.parent
FILM = ROOT / "examples" / "lighthouse.film"
WIDTH, HEIGHT = 1280, 720
Frame = npt.NDArray[np.uint8]


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
                                        shot.seed))
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
    args = parser.parse_args()

    result = check_file(FILM)
    if result.film is None or not result.ok:
        raise SystemExit(result.report())
    film = result.film.model_copy(update={"width": WIDTH, "height": HEIGHT})
    fps = film.fps
    sw, sh = procedural.still_size(WIDTH, HEIGHT)

    total_render = 0.0
    total_encode = 0.0
    total_frames = 0
    print(f"{WIDTH}x{HEIGHT}, {args.frames} frames per shot, still {sw}x{sh}")
    with tempfile.TemporaryDirectory(prefix="filmc-render-bench-") as tmp:
        for camera in ("push_in", "static"):
            scene, shot = shot_with(film, camera)
            start = time.perf_counter()
            still = procedural.render_still(film, scene, shot, sw, sh)
            still_s = time.perf_counter() - start
            best = float("inf")
            frames: list[Frame] = []
            for _ in range(max(1, args.runs)):
                frames, seconds = render(still, shot, args.frames, fps)
                best = min(best, seconds)
            encode_s = min(encode(frames, fps, Path(tmp) / f"{camera}-{k}.mp4")
                           for k in range(max(1, args.runs)))
            total_render += best
            total_encode += encode_s
            total_frames += len(frames)
            print(f"  {camera:<8} {scene.name}/{shot.index + 1}: still {still_s * 1000:6.0f} ms"
                  f", render {len(frames) / best:7.1f} fps"
                  f", x264 veryfast {len(frames) / encode_s:6.1f} fps")
            del frames
    render_fps = total_frames / total_render
    encode_fps = total_frames / total_encode
    ratio = render_fps / encode_fps
    print(f"renderer alone         {render_fps:7.1f} fps")
    print(f"x264 veryfast encoding {encode_fps:7.1f} fps")
    print(f"ratio                  {ratio:7.2f}x (target >= 2x): "
          f"{'ok' if ratio >= 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
