"""The planner: the checked film in, the graph of render jobs out, as small passes.

Timing depends on speech (a line lasts as long as its audio), so planning has two phases,
written once here and used by the build, `filmc plan` and the language server alike:

1. `plan_sources`: every backend the film uses plans what does not depend on durations
   (speech, stills), in registry order;
2. the caller finds each line's length (the build speaks the lines; `filmc plan` reads the
   cache or estimates; the language server reads the cache), and `solve` places every
   shot and line on the timeline;
3. `plan_assembly`: the backends' timed passes (clips, music, ambience, effects), then the
   planner's own (`assembly.PASSES`: segments, video, mix, mux).

Pure: IR and config in, jobs out; every job's key covers all it depends on. The planner
knows backends only through the registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from filmlang import ir
from filmlang.backends.protocol import Backend, LineWhere, PlanContext
from filmlang.backends.registry import Registry, UnknownBackend, registry
from filmlang.config import BuildConfig, preview_fps
from filmlang.diagnostics import Diagnostic, error
from filmlang.jobs import JobGraph
from filmlang.plan.assembly import PASSES, Assembly
from filmlang.plan.pictures import plan_picture_stills
from filmlang.timeline import Timeline, solve

Durations = Callable[[PlanContext], dict[LineWhere, float] | None]
"""Phase one's jobs in; each line's length in seconds out, or None to stop planning (the
speech could not be made, or is not known yet)."""


@dataclass
class Plan:
    """A plan as far as it got: the sources, then the timeline, then the whole graph."""

    context: PlanContext
    backends: list[Backend]
    timeline: Timeline | None = None
    problems: list[Diagnostic] | None = None
    graph: JobGraph | None = None


def plan_sources(film: ir.Film, config: BuildConfig, backends: list[Backend] | None = None,
                 *, found: Registry | None = None) -> PlanContext:
    """Phase one: each backend's jobs that do not depend on durations."""
    known = found or registry()
    active = known.active(film, config) if backends is None else backends
    ctx = PlanContext(film=film, config=config)
    ctx.composer = _id(known.composer())
    for backend in active:
        backend.plan_sources(ctx)
    plan_picture_stills(ctx)
    return ctx


def plan_assembly(ctx: PlanContext, timeline: Timeline, backends: list[Backend] | None = None
                  ) -> JobGraph:
    """Phase two: the backends' timed jobs, then segments, video, mix and mux."""
    active = registry().active(ctx.film, ctx.config) if backends is None else backends
    for backend in active:
        backend.plan_timed(ctx, timeline)
    assembly = Assembly(ctx=ctx, timeline=timeline)
    for step in PASSES:
        step(assembly)
    return ctx.graph.graph(assembly.outputs)


def plan_film(film: ir.Film, config: BuildConfig, durations: Durations, *,
              assemble: bool = True) -> Plan:
    """Both phases, with the lines' lengths from `durations` in between (only the
    timeline, without phase two's jobs, when not `assemble`)."""
    backends = registry().active(film, config)
    plan = Plan(context=plan_sources(film, config, backends), backends=backends)
    lengths = durations(plan.context)
    if lengths is None:
        return plan
    plan.timeline, plan.problems = solve(film, lengths, preview_fps(film, config))
    if assemble and not plan.problems:
        plan.graph = plan_assembly(plan.context, plan.timeline, backends)
    return plan


def prepared(film: ir.Film, config: BuildConfig, film_path: Path) -> BuildConfig:
    """The config with the film's folder as root and what each backend resolves (models);
    a film asking for an unknown backend is left to `backend_problems` to report."""
    config = replace(config, root=str(film_path.absolute().parent))
    try:
        active = registry().active(film, config)
    except UnknownBackend:
        return config
    for backend in active:
        config = backend.prepare(film, config, film_path)
    return config


def backend_problems(film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
    """Before any work: every backend the film needs is here and can build it, or E0603
    says what to install or change."""
    try:
        active = registry().active(film, config)
    except UnknownBackend as exc:
        known = ", ".join(exc.known)
        close = difflib.get_close_matches(exc.engine, exc.known, n=1)
        fix = f"did you mean '{close[0]}'? " if close else ""
        return [error("E0603", f"the '{exc.engine}' {exc.role} backend is not available here",
                      film.origin, label="asks for it",
                      help=f"{fix}the {exc.role} backends here are: {known}; install the "
                           f"plug-in that provides '{exc.engine}', or pass --backend "
                           f"{exc.role}={(close or exc.known)[0]}")]
    return [problem for backend in active for problem in backend.problems(film, config)]


def _id(backend: Backend) -> str:
    return f"{backend.name}@{backend.version}"
