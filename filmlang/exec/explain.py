"""Why a job ran, decided where the cache lookup decides it, ninja-style; and the build log.

`Explainer` keeps, per job identity (`speech:storm/1/0`), what the job was made from last
time: its key, backend, the writer's inputs (`Job.sources`, named as the writer reads
them), its files and a digest of each parameter. When a job must run, `why` diffs that
record against the job now and names the input that changed:

    character MARA.look
    scene storm shot 2 dialogue 1 text
    scene storm shot 3 duration 4s → 5s
    backend music version 1 → 2
    file music/FluidR3_GM.sf2

A job made from other jobs whose own sources did not change (the mux, the mix)
names what changed in those inputs. `last.json` holds only the last build's identities;
`BuildLog` keeps `log.jsonl` to the last few builds (ninja recompacts `.ninja_log` too).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filmlang.cache.store import Lookup
from filmlang.jobs import Job, digest
from filmlang.provenance import changes, stored

SHOWN = 4
"""Changed inputs named per job; the rest are counted."""
RECORD_VERSION = 2


def _flat_digests(params: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, dict):
            out.update({f"{name}.{k}": digest(v)[:16] for k, v in value.items()})
        else:
            out[name] = digest(value)[:16]
    return out


def record(job: Job) -> dict[str, Any]:
    """What is kept of a job for the next build's diff."""
    return {"v": RECORD_VERSION, "key": job.key, "backend": job.backend,
            "sources": stored(job.sources), "params": _flat_digests(job.params),
            "inputs": [key[:16] for key in job.inputs]}


def _backend_change(before: str, now: str) -> str:
    old_name, _, old_version = before.partition("@")
    name, _, version = now.partition("@")
    if old_name == name:
        return f"backend {name} version {old_version} → {version}"
    return f"backend {old_name} → {name}"


def _named(items: list[str]) -> str:
    more = len(items) - SHOWN
    return ", ".join(items[:SHOWN]) + (f" and {more} more" if more > 0 else "")


class Explainer:
    """Why each job ran: compares it with what the same identity was last build."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.last: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.last = {}
        self.now: dict[str, Any] = {}
        self.reasons: dict[str, str] = {}
        """This build's reason for each job it ran, by key: what a job made from it says."""
        self._lock = threading.Lock()

    def why(self, job: Job, lookup: Lookup) -> str:
        reason = self._why(job, lookup)
        with self._lock:
            self.reasons[job.key] = reason if reason != "new" else f"new {job.kind} {job.label}"
        return reason

    def _why(self, job: Job, lookup: Lookup) -> str:
        if lookup.status == "corrupt":
            return f"cache object corrupt ({lookup.detail})"
        before = self.last.get(job.identity) if job.identity else None
        if not isinstance(before, dict) or before.get("v") != RECORD_VERSION:
            return "new"
        if before["key"] == job.key:
            return "cache object missing"
        if before["backend"] != job.backend:
            return _backend_change(before["backend"], job.backend)
        now = record(job)
        changed = changes(before["sources"], now["sources"])
        if changed:
            return _named(changed)
        upstream = self._upstream(job, set(before["inputs"]))
        if upstream:
            return _named(upstream)
        params = [name for name in sorted(set(now["params"]) | set(before["params"]))
                  if now["params"].get(name) != before["params"].get(name)]
        if params:
            return _named([f"{name} (computed)" for name in params])
        return "its inputs were rebuilt"

    def _upstream(self, job: Job, before: set[str]) -> list[str]:
        """What changed in the inputs that are new since last time, as they said it."""
        out: list[str] = []
        with self._lock:
            for key in job.inputs:
                if key[:16] in before:
                    continue
                reason = self.reasons.get(key)
                if reason and reason not in out:
                    out.append(reason)
        return out

    def note(self, job: Job) -> None:
        if job.identity:
            with self._lock:
                self.now[job.identity] = record(job)

    def save(self, *, complete: bool = False) -> None:
        """Write what this build saw over what the last one did; once a build is
        `complete`, keep its identities only, so last.json does not grow with history."""
        kept = self.now if complete else {**self.last, **self.now}
        temp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            temp.write_text(json.dumps(kept, separators=(",", ":")))
            temp.replace(self.path)


class BuildLog:
    """`log.jsonl`: a line per job per build, compacted to the last `keep` builds when it
    outgrows `limit` bytes."""

    def __init__(self, path: Path, *, keep: int = 5, limit: int = 4 << 20) -> None:
        self.path = path
        self.keep = max(2, keep)
        self.limit = limit
        self._lock = threading.Lock()
        self._handle: Any = None

    def write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._handle is None:
                self._compact()
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _compact(self) -> None:
        try:
            if self.path.stat().st_size <= self.limit:
                return
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        # the build about to write is the last of the `keep`
        builds = list(dict.fromkeys(_build_of(line) for line in lines))[-(self.keep - 1):]
        kept = [line for line in lines if _build_of(line) in set(builds)]
        temp = self.path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        temp.replace(self.path)


def _build_of(line: str) -> str:
    try:
        return str(json.loads(line).get("build", ""))
    except ValueError:
        return ""


def builds(path: Path) -> Iterable[str]:
    """The builds a log holds, oldest first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return list(dict.fromkeys(_build_of(line) for line in lines))
