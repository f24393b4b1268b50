"""How filmlang's cost grows with the film: memory, CPU, edits, speed, start-up (issue 13).

Generates films of --minutes (default 1 5 20 60) with distinct dialogue in every shot and
scenes with music (pairs of scenes share a cue, so music carries across a boundary),
ambience and sound effects, builds each as a whole `filmc build` process, and measures,
in one run:

- peak RSS of the largest process of the build (the build itself or one of its ffmpegs),
  from `wait4`, and CPU seconds of the whole process tree (user + system) per film-second;
- a one-line dialogue edit mid-film (a longer line: every later shot moves), re-run CPU-s;
- a no-op rebuild, whole process, CPU-s;
- cold frames/s against x264 alone at the same preset, size and frame count (one run);
- `examples/last_ferry.film`: a one-line edit ÷ the cold build (CPU-s and wall).

Then the ratios against the targets of issue 13 (largest film ÷ the 1-minute one):

    python bench/scale.py [--minutes 1 5] [--size 1280x720] [--skip-ferry] [--json out.json]

The 60-minute film is a benchmark, not a test: `tests/test_scale.py` (marked `scale`)
builds a 1- and a 5-minute film at a small size and checks the memory and edit ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAST = [("MARA", 40, 150), ("TOM", 62, 175), ("ELSA", 35, 140)]
TYPES = ["wide", "close_up", "medium", "two_shot", "over_shoulder", "insert"]
MOODS = ["tense", "calm", "melancholy", "hopeful", "mysterious", "romantic"]
AMBIENCES = ["sea", "wind", "rain", "city", "forest", "room", "night"]
SOUNDS = ["door", "footsteps", "knock", "bell", "glass", "splash", "thunder"]
WORDS = ["harbour", "light", "ferry", "winter", "coat", "rope", "lantern", "ticket", "island",
         "snow", "engine", "captain", "letter", "morning", "shore", "storm", "signal", "anchor",
         "mother", "brother", "river", "bridge", "station", "window", "promise", "secret",
         "island", "evening", "tide", "whistle", "compass", "north"]
SHOT_SECONDS = 7.2       # about: a line of ten words with its lead-in and tail
SCENE_SHOTS = 8


def _sentence(k: int) -> str:
    """A distinct line for shot k: eight to twelve words drawn by k."""
    count = 8 + k % 5
    words = [WORDS[(k * 7 + i * (k % 11 + 3)) % len(WORDS)] for i in range(count)]
    return f"Number {k}, the " + " ".join(words) + "."


def generate(minutes: float, size: str, fps: int = 24) -> str:
    """A film of about `minutes`: every shot speaks its own line."""
    out = [f'film "Scale" {{\n    size {size}\n    fps {fps}\n    seed 7\n    loudness -16\n}}\n']
    for name, pitch, rate in CAST:
        out.append(f'character {name} {{\n    look "{name.lower()}, long coat"\n'
                   f'    voice "en" pitch={pitch} rate={rate}\n}}\n')
    shots = max(2, round(minutes * 60 / SHOT_SECONDS))
    for first in range(0, shots, SCENE_SHOTS):
        s = first // SCENE_SHOTS
        out.append(f'scene s{s} "EXT. HARBOUR - NIGHT {s}" {{\n'
                   f'    music "{MOODS[(s // 2) % len(MOODS)]}" volume=0.4\n'
                   f'    ambience "{AMBIENCES[s % len(AMBIENCES)]}" volume=0.3')
        for k in range(first, min(shots, first + SCENE_SHOTS)):
            a, b = CAST[k % 3][0], CAST[(k + 1) % 3][0]
            kind = TYPES[k % len(TYPES)]
            subjects = {"two_shot": f"{a} {b}", "over_shoulder": f"{a} {b}",
                        "insert": ""}.get(kind, a)
            sound = (f'\n        sound "{SOUNDS[k % len(SOUNDS)]}" at=0.5s volume=0.6'
                     if k % 3 == 0 else "")
            out.append(f'    shot {kind} {subjects} {{{sound}\n'
                       f'        {a}: "{_sentence(k)}"\n    }}')
        out.append("}\n")
    return "\n".join(out)


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    wall: float
    cpu: float
    """User + system CPU seconds of the process and every child it waited for."""
    peak_mb: float
    """Peak RSS of the largest single process of the tree (wait4's ru_maxrss)."""


def run(cmd: list[str], cwd: Path | None = None) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode(errors='replace')[-3000:]}")
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_mb=usage.ru_maxrss / 1024)


def x264_fps(size: str, frames: int, preset: str = "veryfast", crf: int = 20) -> float:
    """x264 alone on `frames` frames of a synthetic picture, the film's settings."""
    from filmlang.link.ffmpeg import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
           f"testsrc2=size={size}:rate=24", "-frames:v", str(frames), "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-f", "null", "-"]
    return frames / run(cmd).wall


def edit_line(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, replacement, text, count=1)
    if not count:
        sys.exit(f"bench: nothing matches {pattern!r} to edit")
    return new


@dataclass
class Film:
    minutes: float
    seconds: float
    frames: int
    cold: Run
    noop: Run
    edit: Run
    x264_fps: float

    @property
    def cpu_per_second(self) -> float:
        return self.cold.cpu / self.seconds

    @property
    def fps_ratio(self) -> float:
        return self.frames / self.cold.wall / self.x264_fps


def measure(minutes: float, size: str, work: Path, fps: int = 24, *,
            baseline: bool = True) -> Film:
    from filmlang.link.ffmpeg import probe

    folder = work / f"m{minutes:g}"
    folder.mkdir()
    film = folder / "scale.film"
    film.write_text(generate(minutes, size, fps), encoding="utf-8")
    filmc = [sys.executable, "-m", "filmlang.cli", "build", str(film)]
    cold = run(filmc, folder)
    info = probe(folder / "build" / "scale.mp4")
    frames = info.video.frames if info.video and info.video.frames else 0
    noop = run(filmc, folder)
    shots = max(2, round(minutes * 60 / SHOT_SECONDS))
    middle = shots // 2
    film.write_text(edit_line(film.read_text(encoding="utf-8"), f'"Number {middle}, the ',
                              f'"Number {middle}, and then a little later, the '),
                    encoding="utf-8")
    edit = run(filmc, folder)
    base = x264_fps(size, frames) if baseline else float("nan")
    shutil.rmtree(folder / ".filmcache", ignore_errors=True)
    return Film(minutes=minutes, seconds=info.duration or 0.0, frames=frames, cold=cold,
                noop=noop, edit=edit, x264_fps=base)


def ferry(work: Path) -> tuple[Run, Run]:
    """Cold build and a one-line edit of examples/last_ferry.film."""
    folder = work / "ferry"
    shutil.copytree(ROOT / "examples", folder)
    film = folder / "last_ferry.film"
    filmc = [sys.executable, "-m", "filmlang.cli", "build", str(film)]
    cold = run(filmc, folder)
    film.write_text(edit_line(film.read_text(encoding="utf-8"), "It's the only boat to anywhere",
                              "It is the only boat to anywhere at all"), encoding="utf-8")
    edit = run(filmc, folder)
    return cold, edit


def ok(value: float, target: float, *, at_most: bool = True) -> str:
    good = value <= target if at_most else value >= target
    return "ok" if good else "MISSED"


def report(films: list[Film], ferry_runs: tuple[Run, Run] | None) -> list[str]:
    lines = ["minutes  film-s  frames  cold-s  cold-CPU  CPU/film-s  peak-MB  edit-CPU  "
             "noop-CPU  fps/x264"]
    for f in films:
        lines.append(f"{f.minutes:7g}  {f.seconds:6.1f}  {f.frames:6d}  {f.cold.wall:6.1f}  "
                     f"{f.cold.cpu:8.1f}  {f.cpu_per_second:10.2f}  {f.cold.peak_mb:7.0f}  "
                     f"{f.edit.cpu:8.2f}  {f.noop.cpu:8.2f}  {f.fps_ratio:8.2f}")
    if len(films) > 1:
        small, big = films[0], films[-1]
        name = f"{big.minutes:g} min ÷ {small.minutes:g} min"
        rss = big.cold.peak_mb / small.cold.peak_mb
        cpu = big.cpu_per_second / small.cpu_per_second
        edit = big.edit.cpu / small.edit.cpu
        lines += [
            f"peak RSS, {name}: {rss:.2f} ({big.cold.peak_mb:.0f} MB)  target <= 1.2 and "
            f"<= 1.5 GB: {ok(rss, 1.2)}",
            f"CPU-s per film-second, {name}: {cpu:.2f}  target <= 1.1: {ok(cpu, 1.1)}",
            f"one line edited, re-run CPU-s, {name}: {edit:.2f}  target <= 1.5: "
            f"{ok(edit, 1.5)}",
        ]
    for f in films:
        lines.append(f"{f.minutes:g} min: cold fps ÷ x264 alone ({f.x264_fps:.1f} fps) = "
                     f"{f.fps_ratio:.2f}  target >= 0.8: {ok(f.fps_ratio, 0.8, at_most=False)};"
                     f" no-op {f.noop.cpu:.2f} CPU-s  target <= 0.3: {ok(f.noop.cpu, 0.3)}")
    if ferry_runs is not None:
        cold, edit = ferry_runs
        lines.append(f"last_ferry: edit ÷ cold = {edit.cpu / cold.cpu:.3f} CPU-s "
                     f"({edit.wall / cold.wall:.3f} wall; cold {cold.cpu:.1f} CPU-s, "
                     f"{cold.wall:.1f} s)  target <= 0.15: {ok(edit.cpu / cold.cpu, 0.15)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 20, 60])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--skip-ferry", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        films = []
        for minutes in sorted(args.minutes):
            films.append(measure(minutes, args.size, work))
            print(f"built {minutes:g} min", file=sys.stderr, flush=True)
        ferry_runs = None if args.skip_ferry else ferry(work)
    for line in report(films, ferry_runs):
        print(line)
    if args.json:
        data = {"films": [{**asdict(f), "cpu_per_second": f.cpu_per_second,
                           "fps_ratio": f.fps_ratio} for f in films],
                "ferry": [asdict(r) for r in ferry_runs] if ferry_runs else None}
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
