"""The backend protocol: what a backend declares, and what it is handed to plan with.

A backend is one subpackage (or a third party's module, through the entry-point group
`filmlang.backends`) that exposes one object satisfying `Backend`:

- `name` and `version`: every job it plans says `backend="NAME@VERSION"`, so bumping the
  version re-renders exactly its jobs (`--explain` then says `backend NAME version`);
- `role` and `engines`: which `backend ROLE=ENGINE` choices of a film it answers
  ('visual', 'voice', 'music'; '' for a backend that always takes part, like the linker);
- `runners`: how each job kind it plans is done;
- `problems(film, config)`: before any work, why it cannot build this film here (E0603
  with what to install), or nothing;
- `prepare(film, config, film_path)`: the config it needs resolved (model folders);
- `plan_sources(ctx)`: phase one, jobs that do not depend on durations (speech, stills);
- `plan_timed(ctx, timeline)`: phase two, once the timeline is solved (clips, music,
  ambience, effects).

The `Base` class gives every hook a do-nothing default, so a backend states only what it
does. Composing backends (the one that draws a shot's frames for its segment) also offer
`frames` and `blend` (`Composer`); batching backends offer `batchers` (GPU pools).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from filmlang import ir
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic
from filmlang.jobs import GraphBuilder, Job, Runner

if TYPE_CHECKING:
    from filmlang.cache.store import Store
    from filmlang.timeline import Timeline

Where = tuple[str, int]
"""A shot: (scene name, shot index)."""
LineWhere = tuple[str, int, int]
"""A line of dialogue: (scene name, shot index, line index)."""


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here; when not, why, and what to install."""

    ok: bool
    reason: str = ""
    install: str = ""

    @classmethod
    def yes(cls) -> Availability:
        return cls(ok=True)

    @classmethod
    def no(cls, reason: str, install: str = "") -> Availability:
        return cls(ok=False, reason=reason, install=install)

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class AudioCue:
    """A sound the mix places: a job's audio, where it starts, its gain and its bus.

    `shot` ties an effect to its shot, so the mix lists it beside that shot's dialogue;
    beds (music, ambience) have none. `length`/`fade_out`: a bed rendered longer than it
    plays (a preview's) is cut there. `seconds`: how long it plays, so that the mix's
    pieces (one per scene) know which sounds reach them (None: to the end of the film)."""

    input: str
    start: float
    gain: float
    kind: str
    shot: Where | None = None
    length: float | None = None
    fade_out: float | None = None
    seconds: float | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input": self.input, "start": self.start, "gain": self.gain,
                               "kind": self.kind}
        if self.length is not None:
            out["length"] = self.length
        if self.fade_out is not None:
            out["fade_out"] = self.fade_out
        return out


@dataclass
class PlanContext:
    """What the planning passes share: the film, the config, the graph being built and
    which job holds what (a line's speech, a shot's still or clip, the mix's sounds)."""

    film: ir.Film
    config: BuildConfig
    graph: GraphBuilder = field(default_factory=GraphBuilder)
    speech: dict[LineWhere, str] = field(default_factory=dict)
    stills: dict[Where, str] = field(default_factory=dict)
    clips: dict[Where, str] = field(default_factory=dict)
    audio: list[AudioCue] = field(default_factory=list)
    composer: str = ""
    """`NAME@VERSION` of the backend that draws shots' frames for their segments."""

    @property
    def root(self) -> Path:
        return Path(self.config.root or ".")


@dataclass(frozen=True)
class Batcher:
    """How one kind of a backend's jobs is batched onto GPU lanes."""

    group: Callable[[Job], Hashable]
    """Jobs with the same group share a pipeline call (model, size, steps)."""
    generate: Callable[[list[Job], int, Any], Iterator[tuple[Job, Any]]]
    """Jobs, a lane and the store in; (job, result) out as each call finishes."""
    write: Callable[[Job, Any, Path], None]
    lanes: Callable[[], int]
    accepts: Callable[[Job], bool] = lambda job: True
    """Jobs of the kind that are not batched (done by the kind's CPU runner instead)."""


@runtime_checkable
class Backend(Protocol):
    """What the planner, the scheduler and the checks know of a backend."""

    name: str
    version: str
    role: str
    engines: tuple[str, ...]
    runners: Mapping[str, Runner]

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]: ...

    def prepare(self, film: ir.Film, config: BuildConfig, film_path: Path) -> BuildConfig: ...

    def plan_sources(self, ctx: PlanContext) -> None: ...

    def plan_timed(self, ctx: PlanContext, timeline: Timeline) -> None: ...

    def batchers(self) -> Mapping[str, Batcher]: ...


class Base:
    """Do-nothing defaults for every hook of `Backend`: subclass and say what you do."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    role: ClassVar[str] = ""
    engines: ClassVar[tuple[str, ...]] = ()
    runners: Mapping[str, Runner] = {}

    @property
    def id(self) -> str:
        """What its jobs' `backend` says: NAME@VERSION."""
        return f"{self.name}@{self.version}"

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
        return []

    def prepare(self, film: ir.Film, config: BuildConfig, film_path: Path) -> BuildConfig:
        return config

    def plan_sources(self, ctx: PlanContext) -> None:
        return None

    def plan_timed(self, ctx: PlanContext, timeline: Timeline) -> None:
        return None

    def batchers(self) -> Mapping[str, Batcher]:
        return {}


class Composer(Protocol):
    """A backend that draws the frames of shots (their segments and transitions)."""

    def frames(self, picture: dict[str, Any], width: int, height: int, fps: float,
               first: int, last: int, store: Store) -> Iterator[Any]: ...

    def blend(self, a: Any, b: Any, t: float, kind: str) -> Any: ...
