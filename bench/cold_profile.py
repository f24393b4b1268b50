"""Where a cold build's CPU goes: per job kind in this process, per kind of ffmpeg child.

Builds a generated scale film (`bench/scale.py`'s `generate`) cold, in this process, and
reports CPU seconds (user + system):

- per job kind, on the executor's threads (`time.thread_time` around each job: drawing,
  speech, pieces, the Python side of segments: composing frames and writing them to the
  pipe);
- per kind of ffmpeg child (x264 segments, the rest), sampled from `/proc` every 50 ms
  (a child's last 50 ms can be missed; "other children" is the remainder of
  `getrusage(RUSAGE_CHILDREN)`);
- the rest of this process (planning, the scheduler, threads no job ran on);
- how long the segment encoders sat waiting for frames: the x264 children's CPU against
  their lifetime, and the time the Python side spent in `write` (blocked on a full pipe
  means x264 is the one being waited on).

    python bench/cold_profile.py [--minutes 1] [--size 1280x720] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _kind(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    text = b" ".join(args).decode(errors="replace")
    if "libx264" in text:
        return "ffmpeg x264 (segments)"
    if "aac" in text:
        return "ffmpeg aac"
    return "ffmpeg other: " + os.path.basename(args[0].decode(errors="replace"))


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, tuple[str, float, float, float]] = {}  # kind, cpu, born, last
        self.stop = threading.Event()
        self.timeline: list[tuple[float, float, float]] = []  # time, own CPU, children CPU

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.05):
            now = time.perf_counter()
            for pid in _children(me):
                try:
                    # A child seen between fork and exec is python, a zombie has no
                    # command line: the kind is the last one seen with an ffmpeg's.
                    kind = _kind(pid)
                    if pid in self.seen and not kind.startswith("ffmpeg x264"):
                        kind = self.seen[pid][0] if "x264" in self.seen[pid][0] else kind
                    born = self.seen[pid][2] if pid in self.seen else now
                    self.seen[pid] = (kind, _cpu(pid), born, now)
                except OSError:
                    pass
            kids = sum(cpu for _, cpu, _, _ in self.seen.values())
            self.timeline.append((now, _cpu(me), kids))


def _utilisation(timeline: list[tuple[float, float, float]], step: float = 1.0) -> str:
    """Cores busy per `step` seconds: the build's own threads, then its children's."""
    out, mark = [], 0
    for k in range(1, len(timeline)):
        if timeline[k][0] - timeline[mark][0] >= step or k == len(timeline) - 1:
            dt = timeline[k][0] - timeline[mark][0]
            own = (timeline[k][1] - timeline[mark][1]) / dt
            kids = (timeline[k][2] - timeline[mark][2]) / dt
            out.append(f"{own:.1f}+{kids:.1f}")
            mark = k
    return " ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from scale import generate

    from filmlang.exec import executor
    from filmlang.link import segments

    jobs: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])  # cpu, wall, count
    lock = threading.Lock()
    real_run_job = executor.run_job

    spans: list[tuple[float, float, str]] = []

    def run_job(job, ctx):  # type: ignore[no-untyped-def]
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        try:
            return real_run_job(job, ctx)
        finally:
            with lock:
                spans.append((wall0, time.perf_counter(), job.kind))
                row = jobs[job.kind]
                row[0] += time.thread_time() - cpu0
                row[1] += time.perf_counter() - wall0
                row[2] += 1

    executor.run_job = run_job
    blocked = [0.0]
    real_write = segments.SegmentEncoder.write

    def write(self, frame):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return real_write(self, frame)
        finally:
            with lock:
                blocked[0] += time.perf_counter() - t0

    segments.SegmentEncoder.write = write  # type: ignore[method-assign]

    from click.testing import CliRunner

    from filmlang.cli import main as cli

    with tempfile.TemporaryDirectory() as work:
        film = Path(work) / "scale.film"
        film.write_text(generate(args.minutes, args.size), encoding="utf-8")
        sampler = Sampler()
        sampler.start()
        t0 = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_SELF)
        result = CliRunner().invoke(cli, ["build", str(film)], catch_exceptions=False)
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.exit_code:
            sys.exit(result.output)
        from filmlang.link.ffmpeg import probe

        info = probe(Path(work) / "build" / "scale.mp4")
        frames = info.video.frames if info.video and info.video.frames else 0

    own = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    children = kids.ru_utime + kids.ru_stime
    rows: dict[str, float] = {}
    for kind, (cpu, _, _) in sorted(jobs.items(), key=lambda kv: -kv[1][0]):
        rows[f"python: {kind} jobs"] = cpu
    rows["python: rest (planning, scheduler, other threads)"] = own - sum(
        r[0] for r in jobs.values())
    by_kind: dict[str, float] = defaultdict(float)
    x264_life = 0.0
    for kind, cpu, born, last in sampler.seen.values():
        by_kind[kind] += cpu
        if kind.startswith("ffmpeg x264"):
            x264_life += last - born
    for kind, cpu in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        rows[kind] = cpu
    rows["other children (unsampled)"] = children - sum(by_kind.values())
    total = own + children
    print(f"{args.minutes:g} min at {args.size}: {frames} frames, wall {wall:.1f} s, "
          f"{frames / wall:.1f} fps, CPU {total:.1f} s (process {own:.1f}, children "
          f"{children:.1f}), peak RSS {c1.ru_maxrss / 1024:.0f} MB")
    for name, cpu in rows.items():
        print(f"  {name:55s} {cpu:7.2f} s  {100 * cpu / total:5.1f}%")
    for kind, (cpu, w, n) in sorted(jobs.items(), key=lambda kv: -kv[1][0]):
        print(f"  job {kind:12s} x{n:<4d} thread CPU {cpu:7.2f} s  wall {w:7.2f} s")
    print(f"  segment writes blocked on the pipe: {blocked[0]:.1f} s; x264 children alive "
          f"{x264_life:.1f} s (summed), x264 CPU {by_kind['ffmpeg x264 (segments)']:.1f} s")
    if os.environ.get("PROFILE_SPANS"):
        for a, b, kind in sorted(spans):
            print(f"    {a - t0:6.2f} .. {b - t0:6.2f}  {kind}")
    print("  cores busy per second (process + x264 and other children):")
    print("  " + _utilisation(sampler.timeline))
    if args.json:
        args.json.write_text(json.dumps({"frames": frames, "wall": wall, "cpu": total,
                                         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
