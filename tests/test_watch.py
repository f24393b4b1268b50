"""`filmc watch` as a real process: rebuilds on saves, keeps the last good film on errors,
follows new includes, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

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
        assert "ran speech" in second and "(changed: text)" in second, second
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
