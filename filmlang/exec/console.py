"""What a build shows: one rich progress bar, a plain line every few seconds (no terminal),
or JSON lines for tools.

A build runs the scheduler once per phase (speech and stills, then the assembly), so the
counts live in one `Tally` across phases: the total is the build's expected total
(`Progress.expect`, known before the first job starts), corrected to the exact remainder
when the last phase starts, and the cached counts are the records' own, so the bar and
the summary that `filmc build` prints at the end agree.

Each says where jobs ran: the bar counts the nodes and worker processes at work (more than
one with `--cluster ray`), and each JSON line of a job that ran has its `node` and `worker`
(process id).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, TextIO

from filmlang.exec.scheduler import Progress, Record


class Tally:
    """Jobs done (ran, cached, failed) and expected, per kind, over every phase."""

    def __init__(self) -> None:
        self.expected: dict[str, int] = {}
        self.done: dict[str, dict[str, int]] = {}
        self.total = 0
        self.count = 0
        self.started = time.monotonic()
        self.ran_seconds = 0.0

    def expect(self, kinds: dict[str, int]) -> None:
        self.expected = dict(kinds)
        self.total = sum(kinds.values())

    def start(self, total: int) -> None:
        """A phase starts with `total` jobs: the build's total is at least what is done
        plus that (exactly that, when the expectation was short)."""
        self.total = max(self.total, self.count + total)

    def add(self, record: Record) -> None:
        slot = self.done.setdefault(record.job.kind, {"ran": 0, "cached": 0, "failed": 0})
        slot[record.status] = slot.get(record.status, 0) + 1
        self.count += 1
        if record.status == "ran":
            self.ran_seconds += record.seconds

    def kinds(self) -> str:
        """`speech 3+1` (three ran, one cached), with `/N` where N jobs were expected."""
        parts = []
        for kind, slot in self.done.items():
            expected = self.expected.get(kind)
            of = f"/{expected}" if expected else ""
            parts.append(f"{kind} {slot['ran']}+{slot['cached']}{of}")
        return "  ".join(parts)

    def line(self) -> str:
        """One line for a log: done/total per kind, elapsed, and an estimate of the rest."""
        elapsed = time.monotonic() - self.started
        kinds = []
        for kind in dict.fromkeys([*self.expected, *self.done]):
            slot = self.done.get(kind, {})
            done = sum(slot.values())
            kinds.append(f"{kind} {done}/{max(done, self.expected.get(kind, done))}")
        left = max(0, self.total - self.count)
        ran = sum(slot.get("ran", 0) for slot in self.done.values())
        if left == 0:
            estimate = "done"
        elif ran:
            estimate = f"about {_clock(elapsed / ran * left)} left"
        else:
            estimate = "estimating"
        return (f"building: {self.count}/{self.total} jobs ({', '.join(kinds)}); "
                f"{_clock(elapsed)} elapsed, {estimate}")


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 60}:{whole % 60:02d}"


class RichProgress(Progress):
    """One bar for the whole build; its text says how many of each kind ran or were cached."""

    def __init__(self, stream: TextIO | None = None, *, explain: bool = False,
                 color: bool | None = None) -> None:
        from rich.console import Console

        # None: rich decides (a terminal, NO_COLOR and FORCE_COLOR respected).
        options: dict[str, Any] = {} if color is None else (
            {"force_terminal": True} if color else {"no_color": True})
        self.console = Console(file=stream or sys.stderr, **options)
        self.explain = explain
        self._bar: Any = None
        self._task: Any = None
        self.tally = Tally()
        self._where: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def expect(self, kinds: dict[str, int]) -> None:
        self.tally.expect(kinds)

    def start(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self.tally.start(total)
        if self._bar is None:
            self._bar = Bar(TextColumn("[bold]building"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.description}"),
                            console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("", total=self.tally.total,
                                            completed=self.tally.count)
        else:
            self._bar.update(self._task, total=self.tally.total)

    def advance(self, record: Record) -> None:
        with self._lock:
            self.tally.add(record)
            if record.status == "ran":
                self._where.add((record.node, record.worker))
            if self.explain:
                self.console.print(_explain_line(record), highlight=False, soft_wrap=True)
            if self._bar is not None:
                self._bar.update(self._task, completed=self.tally.count,
                                 description=self._text())

    def _text(self) -> str:
        text = self.tally.kinds()
        nodes = {node for node, _ in self._where}
        if len(self._where) > 1:
            text += f"  on {len(nodes)} node{'s' if len(nodes) > 1 else ''}, " \
                    f"{len(self._where)} workers"
        return text

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


PLAIN_INTERVAL = float(os.environ.get("FILMC_PROGRESS_SECONDS", "") or 5.0)


class PlainProgress(Progress):
    """Without a terminal (CI, a log file): a line on standard error when the build starts
    and then every `interval` seconds while it runs; `interval` None prints nothing but the
    `--explain` lines."""

    def __init__(self, stream: TextIO | None = None, *, explain: bool = False,
                 interval: float | None = PLAIN_INTERVAL) -> None:
        self.stream = stream or sys.stderr
        self.explain = explain
        self.interval = interval
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def expect(self, kinds: dict[str, int]) -> None:
        self.tally.expect(kinds)

    def start(self, total: int) -> None:
        with self._lock:
            self.tally.start(total)
        if self.interval is None or self._thread is not None:
            return
        self._line()
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, args=(self.interval,),
                                        name="filmc-progress", daemon=True)
        self._thread.start()

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._line()

    def _line(self) -> None:
        with self._lock:
            text = self.tally.line()
        self._write(text)

    def advance(self, record: Record) -> None:
        with self._lock:
            self.tally.add(record)
        if self.explain:
            self._write(_explain_line(record))

    def stop(self) -> None:
        """A phase ended: the ticker stops only once every expected job is done (the next
        phase's `start` finds it still running otherwise)."""
        if self._thread is not None and self.tally.count >= self.tally.total:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()


class JsonProgress(Progress):
    """The same events as JSON lines (`--format jsonl`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def expect(self, kinds: dict[str, int]) -> None:
        self._emit({"event": "expect", "jobs": sum(kinds.values()), "kinds": kinds})

    def start(self, total: int) -> None:
        self._emit({"event": "start", "jobs": total})

    def advance(self, record: Record) -> None:
        event: dict[str, Any] = {"event": "job", "kind": record.job.kind,
                                 "key": record.job.key, "label": record.job.label,
                                 "status": record.status, "reason": record.reason,
                                 "seconds": round(record.seconds, 4)}
        if record.status == "ran":
            event["node"], event["worker"] = record.node, record.worker
        self._emit(event)

    def stop(self) -> None:
        self._emit({"event": "stop"})

    def _emit(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
            self.stream.flush()


def _explain_line(record: Record) -> str:
    job = record.job
    if record.status == "cached":
        return f"  cached  {job.kind:<10} {job.label}"
    return f"  {record.status:<7} {job.kind:<10} {job.label}: {record.reason}"
