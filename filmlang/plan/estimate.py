"""`filmc plan`: the jobs a build needs, which are cached, and what the rest should cost
(`--explain`, why a job ran, lives with the scheduler in `exec/explain`).

Runs nothing. Lines not yet spoken get an estimated length from their words and rate, so
the plan of an unbuilt film is an estimate; once the speech is cached it is exact. Each
job's seconds come from the cache's measured records (`plan/costs.py`); the expected wall
time replays the jobs to run on the executor's workers in the scheduler's own order
(`plan/schedule.py`): this machine's CPU workers and GPU lane, or with `--cluster ray` the
cluster's CPUs and GPUs, plus the fixed part of a build measured last time.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from filmlang import ir
from filmlang.api import check_file
from filmlang.backends.protocol import LineWhere, PlanContext
from filmlang.cache.costs import CostBook
from filmlang.cache.remote import open_store, remote_url
from filmlang.cache.store import Store, default_cache_dir
from filmlang.config import BuildConfig
from filmlang.jobs import Job
from filmlang.plan.costs import Estimator
from filmlang.plan.planner import backend_problems, plan_film, prepared
from filmlang.plan.schedule import simulate

NATURAL_WPM = 165.0


@dataclasses.dataclass(frozen=True)
class Workers:
    """What the jobs would run on: for the expected wall time."""

    cpus: int
    gpus: int
    nodes: int = 1
    name: str = "this machine"


def local_workers(jobs: int | None) -> Workers:
    return Workers(cpus=jobs or os.cpu_count() or 1, gpus=1)


def phase_one(jobs: dict[str, Job], ctx: PlanContext) -> set[str]:
    """The jobs that phase two waits for: the speech and what it uses (the build solves
    the timeline once the lines are spoken; the stills run on in the background)."""
    seen: set[str] = set()
    todo = list(ctx.speech.values())
    while todo:
        key = todo.pop()
        if key in seen or key not in jobs:
            continue
        seen.add(key)
        todo.extend(jobs[key].inputs)
    return seen


def started_early(jobs: dict[str, Job], ctx: PlanContext) -> set[str]:
    """The jobs that run beside phase one without waiting for it: the stills (and their
    character sheets), planned before the speech and started with it."""
    seen: set[str] = set()
    todo = list(ctx.stills.values())
    while todo:
        key = todo.pop()
        if key in seen or key not in jobs:
            continue
        seen.add(key)
        todo.extend(jobs[key].inputs)
    return seen


class Estimated:
    """Each line's length: the cached speech's where it is cached (then `exact` stays
    True), otherwise an estimate from its words and its voice's rate."""

    def __init__(self, film: ir.Film, store: Store) -> None:
        self.film = film
        self.store = store
        self.exact = True
        self.lines = {(scene.name, shot.index, n): line for scene in film.scenes
                      for shot in scene.shots for n, line in enumerate(shot.lines)}

    def __call__(self, ctx: PlanContext) -> dict[LineWhere, float]:
        out: dict[LineWhere, float] = {}
        for where, key in ctx.speech.items():
            if self.store.lookup(key, verify=False).ok:
                out[where] = float(self.store.meta(key)["duration"])
                continue
            self.exact = False
            line = self.lines[where]
            wpm = self.film.character(line.speaker).voice.rate or NATURAL_WPM
            out[where] = max(1, len(line.text.split())) / wpm * 60 + 0.2
        return out


def expected_jobs(film: ir.Film, config: BuildConfig, store: Store) -> dict[str, int]:
    """How many jobs of each kind a build will touch (run, or find cached), before it runs
    any: its phases planned with the lines' estimated lengths, and walked the way the
    scheduler walks them (a cached job's inputs are never looked at). Exact where the
    speech is cached; otherwise the jobs that depend on a line's length are missing under
    either length, so the count is the same."""
    plan = plan_film(film, config, Estimated(film, store))
    if plan.graph is None:
        return {}
    jobs = plan.graph.jobs
    seen: set[str] = set()
    counts: dict[str, int] = {}

    def visit(key: str) -> None:
        stack = [key]
        while stack:
            key = stack.pop()
            if key in seen or key not in jobs:
                continue
            seen.add(key)
            job = jobs[key]
            counts[job.kind] = counts.get(job.kind, 0) + 1
            if not store.lookup(key, verify=False).ok:
                stack.extend(job.inputs)

    ctx = plan.context
    for key in ctx.stills.values():  # phase one: the stills not made yet, and the speech
        if store.lookup(key, verify=False).status == "missing":
            visit(key)
    for key in ctx.speech.values():
        visit(key)
    for key in dict.fromkeys([plan.graph.outputs["film"], *plan.graph.outputs.values()]):
        visit(key)  # the film, and what else the build makes (as `build._run` asks)
    return counts


def describe_plan(path: Path, *, cache: Path | None, config: BuildConfig, as_json: bool,
                  allow_outside: bool = False, jobs: int | None = None,
                  workers: Workers | None = None, cache_remote: str | None = None
                  ) -> tuple[str, int]:
    """The plan as text or JSON, and the exit status. `workers`: what the jobs would run
    on (a cluster's resources, found by the caller), else this machine's."""
    checked = check_file(path, allow_outside=allow_outside)
    if not checked.ok or checked.film is None:
        return checked.report(), 1
    film = checked.film
    config = prepared(film, config, path)
    problems = backend_problems(film, config)
    if problems:
        return dataclasses.replace(checked, diagnostics=problems).report(), 1
    root = default_cache_dir(path, cache)
    store = open_store(root, remote_url(cache_remote))
    durations = Estimated(film, store)
    plan = plan_film(film, config, durations)
    exact = durations.exact
    assert plan.timeline is not None and plan.graph is not None
    book = CostBook(root)
    estimator = Estimator(book)
    workers = workers or local_workers(jobs)
    graph = plan.graph.jobs
    rows: list[dict[str, Any]] = []
    todo: dict[str, Job] = {}
    for job in graph.values():
        cached = store.lookup(job.key, verify=False).ok
        if not cached:
            todo[job.key] = job
        rows.append({"key": job.key, "kind": job.kind, "backend": job.backend,
                     "label": job.label, "inputs": list(job.inputs), "cached": cached,
                     "gpu": estimator.on_gpu(job), "measured": estimator.measured(job),
                     "estimate": 0.0 if cached else round(estimator.cost(job), 3)})
    first = phase_one(graph, plan.context)
    early = started_early(graph, plan.context)
    overhead = book.overhead() or 0.0
    run = simulate(todo, estimator.cost, estimator.on_gpu, cpus=workers.cpus,
                   gpus=workers.gpus, phase_one=first & set(todo), early=early)
    clean = simulate(graph, estimator.cost, estimator.on_gpu, cpus=workers.cpus,
                     gpus=workers.gpus, phase_one=first, early=early)
    costs = {"cpu_seconds": round(run.cpu_seconds, 2), "gpu_seconds": round(run.gpu_seconds, 2),
             "wall_seconds": round(run.makespan + (overhead if todo else 0.0), 2),
             "clean_wall_seconds": round(clean.makespan + overhead, 2),
             "workers": dataclasses.asdict(workers)}
    timeline = plan.timeline
    if as_json:
        data = {"film": film.title, "seconds": round(timeline.seconds, 3),
                "frames": timeline.frames, "exact": exact,
                "estimate": round(run.cpu_seconds + run.gpu_seconds, 2), **costs,
                "outputs": plan.graph.outputs, "jobs": rows}
        return json.dumps(data, indent=1, ensure_ascii=False), 0
    return _text(film.title, timeline.seconds, exact, rows, costs), 0


def _text(title: str, seconds: float, exact: bool, rows: list[dict[str, Any]],
          costs: dict[str, Any]) -> str:
    kinds: dict[str, list[int]] = {}
    for row in rows:
        slot = kinds.setdefault(row["kind"], [0, 0])
        slot[0 if row["cached"] else 1] += 1
    note = "" if exact else " (estimated: speech not yet built)"
    lines = [f'"{title}": {seconds:.1f}s of film{note}',
             f"{'kind':<11}{'jobs':>6}{'cached':>8}{'to run':>8}"]
    for kind, (cached, todo) in kinds.items():
        lines.append(f"{kind:<11}{cached + todo:>6}{cached:>8}{todo:>8}")
    todo_rows = [r for r in rows if not r["cached"]]
    workers = costs["workers"]
    shown = workers["gpus"] and (costs["gpu_seconds"] or workers["name"] != "this machine")
    gpus = f" and {workers['gpus']} GPU" if shown else ""
    measured = sum(1 for r in todo_rows if r["measured"])
    lines.append(f"{len(rows)} jobs, {len(todo_rows)} to run: {costs['cpu_seconds']:.1f} "
                 f"CPU-s, {costs['gpu_seconds']:.1f} GPU-s, about {costs['wall_seconds']:.1f}s "
                 f"on {workers['name']} ({workers['cpus']} CPU{gpus}); a clean build about "
                 f"{costs['clean_wall_seconds']:.1f}s")
    if todo_rows:
        lines.append(f"  costs from {measured} measured jobs of {len(todo_rows)}; the rest "
                     "from defaults")
    for row in todo_rows[:40]:
        lines.append(f"  run {row['kind']:<10} {row['label']}")
    if len(todo_rows) > 40:
        lines.append(f"  ... and {len(todo_rows) - 40} more")
    return "\n".join(lines)
