"""Jobs and their keys: a unit of render work, named by the hash of what determines it.

The types every layer after the checker shares: the planner makes `Job`s into a
`JobGraph`, backends render them (`Runner`), the scheduler runs them and reports
`JobFailed` / `Cancelled`. Nothing here imports a layer above it.

A job's key is the sha256 of canonical JSON of its kind, backend (`name@version`),
parameters and the keys of the jobs it consumes, plus a schema version. Keys are built
from input keys (a Merkle key), never from positions or ids, so inserting a shot or
renaming a scene does not change the key of a shot whose content did not change. Two jobs
with the same key are one job: that is the deduplication.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from filmlang.source import Span

if TYPE_CHECKING:
    from filmlang.cache.store import Store

KEY_SCHEMA = 1


def canonical(value: Any) -> Any:
    """JSON-ready value with floats at fixed precision (4.0 and 4 hash alike)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("a job parameter cannot be NaN or infinite")
        rounded = round(value, 6)
        if rounded == 0:
            return 0
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, BaseModel):
        return canonical(value.model_dump(mode="json", exclude={"origin"}))
    raise TypeError(f"cannot put {type(value).__name__} in a job key")


def canonical_json(value: Any) -> str:
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file's content: what a key holds in place of a file. Remembered in
    the process per (path, size, mtime), as make trusts mtimes. Raises OSError."""
    info = path.stat()
    _HASHED.add(str(path.resolve()))
    return _file_digest(str(path.resolve()), info.st_size, info.st_mtime_ns)


_HASHED: set[str] = set()


def hashed_files() -> list[Path]:
    """Every file `file_digest` hashed in this process: what a no-op build's stamp checks
    besides the sources (`filmlang/stamp.py`)."""
    return [Path(p) for p in sorted(_HASHED)]


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            sha.update(block)
    return sha.hexdigest()


class Job(BaseModel):
    """One unit of work. `label` and `origin` say where it came from; they are not keyed."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    kind: str
    backend: str
    params: dict[str, Any]
    inputs: tuple[str, ...] = ()
    label: str = ""
    identity: str = ""
    """A stable name across builds (scene/shot/line), for --explain: what this job was
    last time."""
    origin: Span | None = None
    sources: dict[str, Any] = Field(default_factory=dict)
    """The writer's inputs this job is made from, by name (`character MARA.look`): never
    keyed; kept between builds so that `--explain` can name what changed
    (`filmlang.provenance`)."""
    payload: Any = Field(default=None, exclude=True)
    """The IR objects a backend renders from: never keyed, so everything of them that
    changes the output must also be in `params`."""

    _key: str = PrivateAttr(default="")

    def model_post_init(self, context: Any) -> None:
        self._key = digest({"schema": KEY_SCHEMA, "kind": self.kind, "backend": self.backend,
                            "params": self.params, "inputs": list(self.inputs)})

    @property
    def key(self) -> str:
        return self._key

    @property
    def backend_name(self) -> str:
        return self.backend.split("@", 1)[0]


class JobGraph(BaseModel):
    """Jobs by key, in an order where every job comes after its inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jobs: dict[str, Job]
    outputs: dict[str, str] = {}
    """Named results (e.g. 'film' -> the mux job's key)."""

    def ordered(self) -> list[Job]:
        return list(self.jobs.values())


class GraphBuilder:
    """Collects jobs, merging duplicates (same key, one job)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.merged = 0

    def add(self, job: Job) -> str:
        for key in job.inputs:
            if key not in self.jobs:
                raise ValueError(f"job {job.label} uses {key[:12]} before it is planned")
        if job.key in self.jobs:
            self.merged += 1
        else:
            self.jobs[job.key] = job
        return job.key

    def graph(self, outputs: dict[str, str] | None = None) -> JobGraph:
        return JobGraph(jobs=dict(self.jobs), outputs=outputs or {})


Runner = Callable[[Job, Path, "Store"], None]
"""How one kind of job is done: the job, its fresh output folder and the store (to read
its inputs' objects) in; files in the folder out. Raises `JobFailed` for what a user can
fix."""


class Cancelled(Exception):
    """A job stopped because its build was cancelled: neither a success nor a failure."""


_stop: ContextVar[Callable[[], bool] | None] = ContextVar("filmc_stop", default=None)


@contextmanager
def stopping_when(check: Callable[[], bool]) -> Iterator[None]:
    """Within this block (on this thread), `raise_if_stopped` raises `Cancelled` once
    `check()` is true: how a batch running deep in a backend learns that its build stops."""
    token = _stop.set(check)
    try:
        yield
    finally:
        _stop.reset(token)


def raise_if_stopped() -> None:
    """`Cancelled` when the build running this work is stopping (see `stopping_when`);
    backends call it between items and between diffusion steps."""
    check = _stop.get()
    if check is not None and check():
        raise Cancelled()


class JobFailed(Exception):
    """A job could not be done: what a user reads, and the job it belongs to."""

    def __init__(self, job: Job, message: str) -> None:
        super().__init__(message)
        self.job = job
        self.message = message
