"""How fast `filmc watch` turns a saved one-line dialogue change into a new preview film.

Copies examples/last_ferry.film (and its folder) to a temp dir, starts `filmc watch` on it
as a real process (preview profile, the default; a fresh cache), waits for the first
build, then edits one dialogue line at a time (a different line each time, so no take is
ever in the cache) and measures the wall time from the file's write to the watcher's
"built ..." line, which it prints after the film is published (atomically) at
build/last_ferry.preview.mp4. The same kind of edit is then built by a one-shot
`filmc build --preview` process for comparison (it loads the voice model and starts
Python every time; the watcher does not). The watcher is stopped with Ctrl-C (SIGINT),
or killed if it does not stop: no process is left behind.

    python bench/watch_speed.py [--edits 5] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILMC = Path(sys.executable).parent / "filmc"
TARGET = 2.0
"""Seconds from save to the new film: the issue's target."""

# (file, line as written, its replacement): each edit changes a different line's words.
EDITS = [
    ("last_ferry.film", "It's the only boat to anywhere tonight.",
     "It's the only boat to anywhere at all tonight."),
    ("last_ferry.film", "She knows I'm going.", "She knows that I'm going."),
    ("last_ferry.film", "One ticket. One way.", "One ticket. Just one way."),
    ("last_ferry/crossing.film", "What's in the case?", "What's in the old case?"),
    ("last_ferry/crossing.film", "Less than you'd think.", "Less than you would think."),
    ("last_ferry.film", "Is this the boat to Vesterø?", "Is this the last boat to Vesterø?"),
    ("last_ferry/crossing.film", "Everything I didn't sell.", "Everything that I didn't sell."),
]
BUILT = re.compile(r"^built .* in ([0-9.]+)s$")
FAILED = re.compile(r"^build failed")

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONUNBUFFERED"] = "1"


def edit(folder: Path, index: int) -> None:
    name, old, new = EDITS[index % len(EDITS)]
    path = folder / name
    text = path.read_text(encoding="utf-8")
    if f'"{old}"' not in text:
        sys.exit(f"{name} no longer has the line {old!r}: update EDITS in {__file__}")
    path.write_text(text.replace(f'"{old}"', f'"{new}"', 1), encoding="utf-8")


class Watch:
    """`filmc watch` as a process; its output lines, each with the time it arrived."""

    def __init__(self, film: Path, cache: Path) -> None:
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [str(FILMC), "watch", str(film), "--cache", str(cache)], cwd=film.parent,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def until_built(self, timeout: float) -> tuple[float, float]:
        """Wait for the next build to end: (when its line arrived, the watcher's own time)."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or (self.process.poll() is not None and self.lines.empty()):
                self.stop()
                sys.exit("the watcher did not finish a build:\n" + "\n".join(self.log[-30:]))
            try:
                at, line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            self.log.append(line)
            if FAILED.match(line):
                self.stop()
                sys.exit("the build failed:\n" + "\n".join(self.log[-30:]))
            found = BUILT.match(line)
            if found:
                return at, float(found.group(1))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def breakdown(cache: Path) -> list[str]:
    """For each build in the cache's log after the first: the jobs that ran, slowest first."""
    builds: dict[str, list[dict[str, object]]] = {}
    log = cache / "log.jsonl"
    for line in log.read_text(encoding="utf-8").splitlines() if log.is_file() else []:
        entry = json.loads(line)
        if entry.get("status") == "ran":
            builds.setdefault(str(entry["build"]), []).append(entry)
    out = []
    for number, ran in enumerate(list(builds.values())[1:], 1):
        ran.sort(key=lambda e: -float(str(e["seconds"])))
        jobs = ", ".join(f"{e['kind']} {float(str(e['seconds'])):.2f}" for e in ran)
        out.append(f"  build {number} jobs (s): {jobs}")
    return out


def one_shot(film: Path, cache: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(FILMC), "build", "--preview", str(film), "--cache", str(cache),
                           "-o", str(film.parent / "build" / "one_shot.mp4")],
                          capture_output=True, text=True, env=ENV, cwd=film.parent)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"filmc build failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=5, help="edits timed in watch mode")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if not 1 <= args.edits <= len(EDITS) - 1:
        sys.exit(f"--edits must be 1 to {len(EDITS) - 1} (one line is kept for the one-shot)")

    work = Path(tempfile.mkdtemp(prefix="filmc-watch-bench-"))
    try:
        shutil.copy2(ROOT / "examples" / "last_ferry.film", work / "last_ferry.film")
        shutil.copytree(ROOT / "examples" / "last_ferry", work / "last_ferry")
        film, cache = work / "last_ferry.film", work / ".filmcache"
        output = work / "build" / "last_ferry.preview.mp4"

        watch = Watch(film, cache)
        try:
            start = time.perf_counter()
            at, _ = watch.until_built(900)
            print(f"first build (cold cache, watch mode): {at - start:.1f} s")
            times: list[float] = []
            for i in range(args.edits):
                time.sleep(1.0)        # let the watcher settle back to waiting
                before = output.stat().st_mtime_ns
                start = time.perf_counter()
                edit(work, i)
                at, own = watch.until_built(300)
                if output.stat().st_mtime_ns == before:
                    sys.exit("the watcher said it built, but the film was not replaced")
                times.append(at - start)
                name, old, _ = EDITS[i]
                print(f"  edit {i + 1}: {at - start:.2f} s save to ready "
                      f"(build {own:.1f} s; {name}: {old!r})")
        finally:
            watch.stop()

        print("\n".join(breakdown(cache)))
        edit(work, args.edits)
        shot = one_shot(film, cache)
        median = statistics.median(times)
        print(f"watch mode, save to ready: median {median:.2f} s over {len(times)} edits "
              f"(min {min(times):.2f}, max {max(times):.2f}); target under {TARGET:.0f} s: "
              f"{'met' if median < TARGET else 'missed'}")
        print(f"one-shot `filmc build --preview` after the same kind of edit: {shot:.2f} s "
              f"({shot / median:.1f}x the watch mode)")
        print("\n".join(breakdown(cache)[-1:]))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
