"""What a build shows: one rich progress bar with counts per kind, or JSON lines for tools.

Both say where each job ran: the bar counts the nodes and worker processes at work (more
than one with `--cluster ray`), and each JSON line of a job that ran has its `node` and
`worker` (process id)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from filmlang.exec.scheduler import Progress, Record


class RichProgress(Progress):
    """One bar for the whole build; its text says how many of each kind ran or were cached."""

    def __init__(self, stream: TextIO | None = None, *, explain: bool = False) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr)
        self.explain = explain
        self._bar: Any = None
        self._task: Any = None
        self._counts: dict[str, list[int]] = {}
        self._where: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def start(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(TextColumn("[bold]building"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.description}"),
                        console=self.console, transient=True)
        self._bar.start()
        self._task = self._bar.add_task("", total=total)

    def advance(self, record: Record) -> None:
        with self._lock:
            ran, cached = self._counts.setdefault(record.job.kind, [0, 0])
            if record.status == "ran":
                self._counts[record.job.kind][0] = ran + 1
                self._where.add((record.node, record.worker))
            elif record.status == "cached":
                self._counts[record.job.kind][1] = cached + 1
            if self.explain:
                self.console.print(_explain_line(record), highlight=False, soft_wrap=True)
            if self._bar is not None:
                self._bar.update(self._task, advance=1, description=self._text())

    def _text(self) -> str:
        text = "  ".join(f"{kind} {ran}+{cached}" for kind, (ran, cached)
                         in self._counts.items())
        nodes = {node for node, _ in self._where}
        if len(self._where) > 1:
            text += f"  on {len(nodes)} node{'s' if len(nodes) > 1 else ''}, " \
                    f"{len(self._where)} workers"
        return text

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class JsonProgress(Progress):
    """The same events as JSON lines (`--log-format jsonl`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

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
