"""Measured costs: the seconds each finished job took, kept in the cache (`costs.json`).

Every job that runs adds its seconds under its cost key: backend, kind, model and size
(`cost_key`), where the size is what the work grows with: frames for a segment or clip,
megapixels times steps for a generated still, characters for speech, seconds for music.
Records are running means, at most `KEEP_SIZES` sizes per (backend, kind, model), so the
file stays small. `filmc plan` and the scheduler's priorities read them back
(`plan/costs.py`). Measured GPU memory per image, per model family, is kept here too
(`memory_per_image`, read by the diffusers backend to size its batches), and the build's
fixed overhead (checking, planning, the phase barrier).

A plain JSON file, merged under a lock with what other builds of the cache wrote since it
was read: the records are a few hundred numbers, so no database is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class Job(Protocol):
    """What a cost is keyed by, of a job (`filmlang.jobs.Job`, a layer above the cache)."""

    @property
    def kind(self) -> str: ...

    @property
    def backend_name(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def inputs(self) -> tuple[str, ...]: ...


COSTS = "costs.json"
KEEP_SIZES = 32
VERSION = 1


def _model(job: Job) -> str:
    model = job.params.get("model")
    if isinstance(model, dict):
        return str(model.get("fingerprint", ""))[:16]
    if isinstance(model, str) and model:
        return model[:40]
    engine = job.params.get("engine")
    return str(engine)[:40] if isinstance(engine, str) else ""


def _size(job: Job) -> float:
    p = job.params
    pixels = float(p.get("width", 1)) * float(p.get("height", 1)) / 1e6
    if "range" in p:  # a segment: frames of pictures
        first, last = p["range"]
        return float(last - first) * pixels
    if "frames" in p:  # a transition, a clip (chunks of frames, each sampled in steps)
        return float(p["frames"]) * float(p.get("chunks", 1)) * pixels \
            * float(p.get("steps", 1))
    if "width" in p and "height" in p:  # a still: its pixels, each sampled in steps
        return pixels * float(p.get("steps", 1))
    if isinstance(p.get("text"), str):
        return float(len(p["text"]))
    for name in ("seconds", "duration", "length"):
        if isinstance(p.get(name), int | float):
            return float(p[name])
    return float(len(job.inputs) or 1)


def cost_key(job: Job) -> tuple[str, str, str, float]:
    """(backend, kind, model, size): what a job's cost is recorded and looked up by."""
    return job.backend_name, job.kind, _model(job), round(_size(job), 4)


class CostBook:
    """The cache's cost records: read once, added to by the jobs of a build, saved at its
    end (merged with what another build saved meanwhile)."""

    def __init__(self, root: Path) -> None:
        self.path = root / COSTS
        self._lock = threading.Lock()
        self._data = self._read()
        self._fresh: dict[str, dict[str, list[float]]] = {}
        self._extra: dict[str, Any] = {}

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"v": VERSION, "jobs": {}, "memory": {}}
        if not isinstance(data, dict) or data.get("v") != VERSION:
            return {"v": VERSION, "jobs": {}, "memory": {}}
        return data

    # ------------------------------------------------------------- reading

    def sizes(self, backend: str, kind: str, model: str) -> dict[float, float]:
        """Known sizes of a (backend, kind, model) and their mean seconds."""
        with self._lock:
            entry = self._data["jobs"].get(f"{backend}|{kind}|{model}", {})
            return {float(size): float(mean) for size, (mean, _) in entry.items()}

    def models(self, backend: str, kind: str) -> list[str]:
        prefix = f"{backend}|{kind}|"
        with self._lock:
            return [name[len(prefix):] for name in self._data["jobs"] if name.startswith(prefix)]

    def memory_per_image(self, family: str) -> float | None:
        """Bytes of GPU memory one image took in a model family's batched call."""
        with self._lock:
            value = self._data.get("memory", {}).get(family)
        return float(value) if isinstance(value, int | float) else None

    def overhead(self) -> float | None:
        """Seconds of a build that no job accounts for (checking, planning, publishing)."""
        value = self._data.get("overhead")
        return float(value) if isinstance(value, int | float) else None

    # ------------------------------------------------------------- writing

    def note(self, job: Job, seconds: float) -> None:
        backend, kind, model, size = cost_key(job)
        self.add(f"{backend}|{kind}|{model}", size, seconds)

    def add(self, name: str, size: float, seconds: float) -> None:
        with self._lock:
            for book in (self._data["jobs"], self._fresh):
                slot = book.setdefault(name, {}).setdefault(str(size), [0.0, 0])
                mean, count = float(slot[0]), int(slot[1])
                # a running mean of the last few: costs drift as code and machines change
                count = min(count + 1, 8)
                slot[0], slot[1] = round(mean + (seconds - mean) / count, 5), count

    def note_memory(self, family: str, per_image: float) -> None:
        with self._lock:
            self._data.setdefault("memory", {})[family] = per_image
            self._extra.setdefault("memory", {})[family] = per_image

    def note_overhead(self, seconds: float) -> None:
        with self._lock:
            self._data["overhead"] = round(max(0.0, seconds), 4)
            self._extra["overhead"] = self._data["overhead"]

    def save(self) -> None:
        """Merge this build's records into the file: atomic, and never fails a build."""
        with self._lock:
            if not self._fresh and not self._extra:
                return
            disk = self._read()
            for name, sizes in self._fresh.items():
                entry = disk["jobs"].setdefault(name, {})
                entry.update(sizes)
                if len(entry) > KEEP_SIZES:
                    for size in sorted(entry, key=lambda s: -entry[s][1])[KEEP_SIZES:]:
                        del entry[size]
            disk.setdefault("memory", {}).update(self._extra.get("memory", {}))
            if "overhead" in self._extra:
                disk["overhead"] = self._extra["overhead"]
            self._data = disk
            self._fresh, self._extra = {}, {}
            temp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            with contextlib.suppress(OSError):
                temp.write_text(json.dumps(disk, separators=(",", ":"), sort_keys=True))
                temp.replace(self.path)
