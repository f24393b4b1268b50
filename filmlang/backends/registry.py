"""The backend registry: every backend by name, the ones a film uses, and a job's runner.

Built-in backends are named here as `module:attribute` strings and imported on first use;
third parties add theirs through the entry-point group `filmlang.backends` (in their
`pyproject.toml`: `[project.entry-points."filmlang.backends"] mine = "pkg.mod:BACKEND"`).
The planner, the scheduler, `filmc plan` and the language server go through this module
and know no backend by name. Importing it is cheap: no backend loads until asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, cast

from filmlang.backends.protocol import Backend

if TYPE_CHECKING:
    from filmlang import ir
    from filmlang.config import BuildConfig
    from filmlang.jobs import Job, Runner

GROUP = "filmlang.backends"
BUILTIN = (
    "filmlang.backends.procedural:BACKEND",
    "filmlang.backends.speech:BACKEND",
    "filmlang.backends.music:BACKEND",
    "filmlang.backends.diffusers:BACKEND",
    "filmlang.link.backend:BACKEND",
)
"""In this order: the first backend of a role is its default (what a film that names
none gets)."""
ROLES = ("visual", "voice", "music")


class UnknownBackend(Exception):
    """A film or a command line asks for an engine no registered backend offers."""

    def __init__(self, role: str, engine: str, known: list[str]) -> None:
        super().__init__(f"the '{engine}' {role} backend is not available here")
        self.role = role
        self.engine = engine
        self.known = known


def _load(spec: str) -> Backend:
    module, _, attribute = spec.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    if not isinstance(value, Backend):
        raise TypeError(f"{spec} is not a filmlang backend (see docs/backends.md)")
    return value


class Registry:
    """Backends by name, in registration order (built-ins first)."""

    def __init__(self, backends: Iterable[Backend]) -> None:
        self.by_name: dict[str, Backend] = {}
        for backend in backends:
            self.by_name.setdefault(backend.name, backend)

    def __iter__(self) -> Any:
        return iter(self.by_name.values())

    def get(self, name: str) -> Backend:
        """The backend called `name` (a job's `backend_name`). Raises KeyError."""
        return self.by_name[name]

    def runner(self, job: Job) -> Runner | None:
        backend = self.by_name.get(job.backend_name)
        return None if backend is None else backend.runners.get(job.kind)

    def for_role(self, role: str, engine: str) -> Backend:
        """The backend a film's `backend ROLE=ENGINE` names ('' = the role's default)."""
        candidates = [b for b in self.by_name.values() if b.role == role]
        for backend in candidates:
            if engine in backend.engines or (not engine and backend is candidates[0]):
                return backend
        known = [e for b in candidates for e in b.engines]   # the default first
        raise UnknownBackend(role, engine, known)

    def active(self, film: ir.Film, config: BuildConfig) -> list[Backend]:
        """The backends a build of this film uses: one per role, and every role-less one.
        Raises UnknownBackend."""
        chosen = {role: self.for_role(role, config.choice(role, film)) for role in ROLES
                  if any(b.role == role for b in self.by_name.values())}
        return [b for b in self.by_name.values()
                if b.role == "" or chosen.get(b.role) is b]

    def composer(self) -> Backend:
        """The backend that draws shots' frames for their segments."""
        for backend in self.by_name.values():
            if callable(getattr(backend, "frames", None)):
                return backend
        raise LookupError("no registered backend draws frames")


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The built-in backends and every installed plug-in."""
    found = [_load(spec) for spec in BUILTIN]
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        found.append(cast(Backend, entry.load()))
    return Registry(found)
