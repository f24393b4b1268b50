"""How fast `filmc build` is: cold, no-op, one edited line, and relinking against MoviePy.

Generates a 60 s 1280x720 24 fps film with dialogue (every other shot has a line), then,
in one run, measures:

- x264 alone: ffmpeg encoding 720p frames with -preset veryfast (the baseline: the build
  cannot encode faster than this);
- a cold build (empty cache) as a whole process: film seconds per build second;
- a no-op rebuild as a whole process (target under 0.5 s);
- a rebuild after editing one dialogue line (target under 15% of the cold build);
- relinking: joining the cached segments by stream copy against MoviePy's
  concatenate_videoclips + write_videofile of the same segments (target 10x; skipped
  when MoviePy is not installed).

    python bench/build_speed.py [--seconds 60] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAST = [("MARA", 40, 150), ("TOM", 62, 175), ("ELSA", 35, 140)]
TYPES = ["wide", "close_up", "medium", "two_shot", "over_shoulder", "insert"]


def generate(seconds: float, size: str) -> str:
    lines = [f'film "Bench" {{\n    size {size}\n    fps 24\n    seed 5\n}}\n']
    for name, pitch, rate in CAST:
        lines.append(f'character {name} {{\n    look "{name.lower()}, long coat"\n'
                     f'    voice "en" pitch={pitch} rate={rate}\n}}\n')
    shots = max(2, round(seconds / 3))
    per_scene = 6
    for s in range(0, shots, per_scene):
        lines.append(f'scene s{s} "EXT. HARBOUR - NIGHT" {{\n    music "tense" tempo=90\n'
                     '    ambience "sea" volume=0.4')
        for k in range(s, min(shots, s + per_scene)):
            a = CAST[k % 3][0]
            b = CAST[(k + 1) % 3][0]
            kind = TYPES[k % len(TYPES)]
            subjects = f"{a} {b}" if kind in ("two_shot", "over_shoulder") else a
            if kind == "insert":
                subjects = ""
            if k % 2:
                lines.append(f'    shot {kind} {subjects} {{\n        {a}: "Line number {k}, '
                             f'we keep the light burning."\n    }}')
            else:
                lines.append(f"    shot {kind} {subjects} 3s {{\n        camera push_in\n    }}")
        lines.append("}\n")
    return "\n".join(lines)


# Measure what a user gets: Python caches compiled modules (some shells turn that off).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def x264_fps(size: str, frames: int = 240) -> float:
    from filmlang.link.ffmpeg import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
           f"testsrc2=size={size}:rate=24", "-frames:v", str(frames), "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", "-f", "null", "-"]
    return frames / run(cmd)


def relink_ratio(cache: Path, workdir: Path) -> str:
    try:
        from moviepy import VideoFileClip, concatenate_videoclips
    except ImportError:
        return "relink vs MoviePy: skipped (pip install moviepy to measure it)"
    from filmlang.link.segments import concat_segments

    segments = sorted(cache.glob("objects/*/*/segment.mp4"), key=lambda p: p.stat().st_mtime)
    start = time.perf_counter()
    concat_segments(segments, workdir / "relinked.mp4")
    ours = time.perf_counter() - start
    start = time.perf_counter()
    clips = [VideoFileClip(str(p)) for p in segments]
    concatenate_videoclips(clips).write_videofile(str(workdir / "moviepy.mp4"), fps=24,
                                                   preset="veryfast", logger=None, audio=False)
    theirs = time.perf_counter() - start
    return (f"relink {len(segments)} segments: {ours:.2f}s by stream copy, MoviePy "
            f"{theirs:.2f}s: {theirs / ours:.0f}x faster (target 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    filmc = [sys.executable, "-m", "filmlang.cli"]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        film = work / "bench.film"
        film.write_text(generate(args.seconds, args.size))
        base = x264_fps(args.size)
        cold = run([*filmc, "build", str(film)])
        noop = run([*filmc, "build", str(film)])
        film.write_text(re.sub(r"Line number 1,", "Line number one,", film.read_text(), count=1))
        edit = run([*filmc, "build", str(film)])
        from filmlang.link.ffmpeg import probe

        info = probe(work / "build" / "bench.mp4")
        film_seconds = info.duration
        frames = info.video.frames if info.video else 0
        print(f"film: {film_seconds:.1f}s, {frames} frames at {args.size}")
        print(f"x264 veryfast alone          {base:6.1f} fps (baseline)")
        print(f"cold build                   {cold:6.1f} s   {film_seconds / cold:5.2f}x real "
              f"time   {frames / cold:5.1f} fps = {frames / cold / base:4.2f} of x264 alone")
        print(f"no-op rebuild (process)      {noop:6.2f} s   {noop / cold:6.3f} of cold  "
              f"target 0.5 s: {'ok' if noop < 0.5 else 'MISSED'}")
        print(f"one line edited              {edit:6.2f} s   {edit / cold:6.3f} of cold  "
              f"target 0.15: {'ok' if edit / cold < 0.15 else 'MISSED'}")
        print(relink_ratio(work / ".filmcache", work))
        shutil.rmtree(work / ".filmcache", ignore_errors=True)


if __name__ == "__main__":
    main()
