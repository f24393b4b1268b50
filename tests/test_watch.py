"""`filmc watch` as a real process: rebuilds on saves, keeps the last good film on errors,
follows new includes, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from conftest import TINY_FILM, processes, write_film

TIMEOUT = 120.0

class Reader:
    """Collects the lines of a process's output in a thread, so tests can wait for one."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def until(self, needle: str, timeout: float = TIMEOUT) -> str:
        """The output from the last wait up to the first line holding `needle`."""
        deadline = time.monotonic() + timeout
        chunk: list[str] = []
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {needle!r} in:\n{''.join(self.seen)}"
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            chunk.append(line)
            if needle in line:
                return "".join(chunk)


def in_session(sid: int) -> list[int]:
    """Processes of the session `sid`: what a process started with start_new_session
    left behind, even once it has exited and they have been adopted by init."""
    return [pid for pid, _, _, session in processes() if session == sid]


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def save_whole(path: Path, text: str) -> None:
    """Save as many editors do, by a rename: a build never reads a half-written source
    (on a loaded machine `save` may leave the file truncated for longer than the quiet
    spell, and a build of the half may succeed)."""
    temp = path.with_name(f".{path.name}.saving")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def test_watch_rebuilds_on_saves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    path = write_film(tmp_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", "watch", "tiny.film",
                             "-j", "2"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out = Reader(proc)
        first = out.until("built ")
        assert "build/tiny.preview.mp4" in first and "ran speech" in first
        out.until("watching 1 file")
        mp4 = tmp_path / "build" / "tiny.preview.mp4"

        edited = TINY_FILM.replace("Then we keep it burning.", "Then we keep it lit.")
        save(path, edited)
        second = out.until("built ")
        assert "ran speech" in second and "(scene storm shot 3 dialogue 1 text" in second, second
        assert "reused" in second
        good = mp4.read_bytes()

        save(path, edited.replace("TOM: \"Then", "TIM: \"Then"))
        broken = out.until("build failed")
        assert "E0102" in broken and "unknown character 'TIM'" in broken, broken
        assert mp4.read_bytes() == good

        save(path, edited)
        out.until("built ")

        (tmp_path / "extra.film").write_text('scene extra "EXT. SEA" { shot wide 1s }\n',
                                             encoding="utf-8")
        save(path, edited + 'include "extra"\n')
        out.until("built ")
        out.until("watching 2 files")
        (tmp_path / "extra.film").write_text('scene extra "EXT. SEA" { shot wide 1.5s }\n',
                                             encoding="utf-8")
        followed = out.until("built ")
        assert "change seen" in followed and "ran segment" in followed, followed
        out.until("watching 2 files")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    out.until("stopped", timeout=5)
    assert in_session(proc.pid) == []


# -- cancelling a stale build -------------------------------------------------------------

def _ffmpeg_children(parent: int) -> list[int]:
    """ffmpeg processes (zombies included) whose parent is `parent`."""
    return [pid for pid, name, ppid, _ in processes()
            if ppid == parent and name.startswith("ffmpeg")]


def _verify_cache(root: Path) -> int:
    """Every object of the cache reads back whole (a fresh store rehashes every file), and
    no job is left half-written in tmp/. Returns how many objects there are."""
    from filmlang.cache.store import Store

    store = Store(root)
    keys = [folder.name for prefix in store.objects.iterdir() for folder in prefix.iterdir()]
    bad = {key: store.lookup(key).detail for key in keys if not store.lookup(key).ok}
    assert bad == {}, bad
    assert list(store.tmp.iterdir()) == []
    return len(keys)


BIG_FILM = TINY_FILM.replace("size 160x90", "size 640x360").replace("fps 8", "fps 24")
"""The tiny film at a size that takes seconds to encode: a build long enough to interrupt."""


def test_cancel_stops_a_build_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.build import build
    from filmlang.config import BuildConfig
    from filmlang.link import ffmpeg

    path = write_film(tmp_path)
    mp4 = tmp_path / "film.mp4"
    first = build(path, output=mp4, jobs=2, config=BuildConfig())
    assert first.ok
    good = mp4.read_bytes()

    save(path, BIG_FILM)
    cancel = threading.Event()
    killed: list[subprocess.Popen[bytes]] = []
    kill = ffmpeg.Children.kill  # what the cancel killed, seen by the test

    def recording(children: ffmpeg.Children) -> list[subprocess.Popen[bytes]]:
        procs = kill(children)
        killed.extend(procs)
        return procs

    monkeypatch.setattr(ffmpeg.Children, "kill", recording)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(build(path, output=mp4, jobs=2, config=BuildConfig(),
                                            cancel=cancel)))
    worker.start()
    deadline = time.monotonic() + TIMEOUT
    pids: list[int] = []
    while not pids:  # cancel while ffmpeg encodes a shot from frames this process makes
        assert worker.is_alive() and time.monotonic() < deadline, "the build ended first"
        time.sleep(0.02)
        pids = _encoding_children(os.getpid())
    cancel.set()
    asked = time.monotonic()
    worker.join(TIMEOUT)
    stopped = time.monotonic() - asked
    (result,) = results
    assert result.cancelled and not result.ok and not result.failures
    assert stopped < 5.0, f"the cancel took {stopped:.1f}s"
    encoding = [proc for proc in killed if proc.pid in pids]
    assert encoding and {proc.pid for proc in encoding} == set(pids)
    assert [proc.returncode for proc in encoding] == [-signal.SIGKILL] * len(encoding)
    segments = result.counts().get("segment", {}).get("ran", 0)
    assert segments < sum(1 for job in (result.graph.jobs.values() if result.graph else ())
                          if job.kind == "segment")
    assert _ffmpeg_children(os.getpid()) == []
    assert mp4.read_bytes() == good, "a cancelled build touched the film"
    _verify_cache(tmp_path / ".filmcache")
    done = {job.key for job, status, _ in result.records() if status == "ran"}

    again = build(path, output=mp4, jobs=2, config=BuildConfig())
    assert again.ok and mp4.read_bytes() != good
    reused = {job.key for job, status, _ in again.records() if status == "cached"}
    assert done <= reused, "jobs that finished before the cancel were not kept"
    _verify_cache(tmp_path / ".filmcache")


def _encoding_children(parent: int) -> list[int]:
    """ffmpeg children of `parent` encoding a shot from raw frames."""
    found = []
    for pid in _ffmpeg_children(parent):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"rawvideo" in args:
            found.append(pid)
    return found


class FilmSpy:
    """Reads the output film every few milliseconds from another thread: every version
    a reader could ever have seen, to show that none was half-written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: set[bytes] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.005):
            with contextlib.suppress(OSError):
                self.seen.add(self.path.read_bytes())

    def close(self) -> set[bytes]:
        self.stop.set()
        self.thread.join()
        # The film as it is now, too: the thread may not have woken since the last write.
        with contextlib.suppress(OSError):
            self.seen.add(self.path.read_bytes())
        return self.seen


def test_save_during_a_build_cancels_it(tmp_path: Path) -> None:
    from filmlang.link.ffmpeg import probe

    path = write_film(tmp_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", "watch", "tiny.film",
                             "--final", "-j", "2"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    mp4 = tmp_path / "build" / "tiny.mp4"
    try:
        out = Reader(proc)
        out.until("built ")
        out.until("watching 1 file")
        spy = FilmSpy(mp4)
        first = mp4.read_bytes()

        save_whole(path, BIG_FILM)  # long to build: it gets cancelled
        out.until("change seen")
        deadline = time.monotonic() + TIMEOUT
        while not _encoding_children(proc.pid):
            assert time.monotonic() < deadline, f"no shot encoding seen:\n{''.join(out.seen)}"
            time.sleep(0.02)
        newest = TINY_FILM.replace("size 160x90", "size 320x180").replace(
            "Then we keep it burning.", "Then we keep it lit.")
        save_whole(path, newest)
        stale = out.until("build cancelled")
        assert "built " not in stale, stale
        fresh = out.until("built ")
        assert "build cancelled" not in fresh and "change seen" in fresh, fresh
        out.until("watching 1 file")
        assert _ffmpeg_children(proc.pid) == []
        last = mp4.read_bytes()
        seen = spy.close()
        extra = [len(film) for film in seen - {first, last}]
        assert seen == {first, last}, f"films of {extra} bytes seen too:\n{''.join(out.seen)}"
        info = probe(mp4)
        assert info.video is not None and (info.video.width, info.video.height) == (320, 180)
        assert "Then we keep it lit." in mp4.with_suffix(".srt").read_text(encoding="utf-8")
        _verify_cache(tmp_path / ".filmcache")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    assert in_session(proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_terminate_mid_build_stops_like_ctrl_c(tmp_path: Path, sig: signal.Signals) -> None:
    """`kill` or a closed terminal during a build: running ffmpeg stopped, exit 0, nothing left,
    the cache whole (a plain SIGTERM would kill Python and orphan its ffmpeg children)."""
    path = write_film(tmp_path)
    save_whole(path, BIG_FILM)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", "watch", "tiny.film",
                             "--final", "-j", "2"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out = Reader(proc)
        deadline = time.monotonic() + TIMEOUT
        while not _encoding_children(proc.pid):
            assert time.monotonic() < deadline, f"no shot encoding seen:\n{''.join(out.seen)}"
            time.sleep(0.02)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    out.until("stopped", timeout=5)
    assert in_session(proc.pid) == []
    assert not (tmp_path / "build" / "tiny.mp4").exists()
    _verify_cache(tmp_path / ".filmcache")


def test_cancelling_one_build_stops_only_its_own_ffmpeg() -> None:
    """Each build's jobs adopt the ffmpeg they start: a cancel kills those, and a build
    running beside it in the same process keeps its own."""
    from filmlang.link import ffmpeg

    groups = [ffmpeg.Children(), ffmpeg.Children()]
    procs: list[subprocess.Popen[bytes]] = []

    def start(children: ffmpeg.Children) -> None:
        with children.adopting():
            procs.append(ffmpeg.start_ffmpeg(
                ["-f", "lavfi", "-i", "anullsrc", "-t", "60", "-f", "null", "-"]))

    for children in groups:
        thread = threading.Thread(target=start, args=(children,))
        thread.start()
        thread.join()
    try:
        assert groups[0].kill() == [procs[0]]
        assert procs[0].wait(10) == -signal.SIGKILL
        assert procs[1].poll() is None
        outside = ffmpeg.start_ffmpeg(["-f", "lavfi", "-i", "anullsrc", "-t", "60",
                                       "-f", "null", "-"])  # no build adopted it
        procs.append(outside)
        assert groups[1].kill() == [procs[1]] and outside.poll() is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
