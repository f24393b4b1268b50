"""`filmc plan`: the jobs a build needs, which are cached, and what the rest should cost
(the cost estimate; `--explain`, why a job ran, lives with the scheduler in `exec/explain`).

Runs nothing. Lines not yet spoken get an estimated length from their words and rate, so
the plan of an unbuilt film is an estimate; once the speech is cached it is exact.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from filmlang import ir
from filmlang.api import check_file
from filmlang.backends.protocol import LineWhere, PlanContext
from filmlang.cache.store import Store, default_cache_dir
from filmlang.config import BuildConfig
from filmlang.jobs import Job
from filmlang.plan.planner import backend_problems, plan_film, prepared

NATURAL_WPM = 165.0

# Rough seconds of work per job (or per frame, for pictures) on a 2-core machine.
COST: dict[str, float] = {"speech": 0.4, "still": 0.15, "music": 0.5, "ambience": 0.2,
                          "sound": 0.05, "mix": 1.0, "video": 0.3, "mux": 1.0}
COST_PER_FRAME = 1 / 45


def estimate(job: Job) -> float:
    if job.kind == "segment":
        first, last = job.params["range"]
        return float(last - first) * COST_PER_FRAME
    if job.kind == "transition":
        return float(job.params["frames"]) * COST_PER_FRAME * 2
    return COST.get(job.kind, 0.5)


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
                  allow_outside: bool = False) -> tuple[str, int]:
    checked = check_file(path, allow_outside=allow_outside)
    if not checked.ok or checked.film is None:
        return checked.report(), 1
    film = checked.film
    config = prepared(film, config, path)
    problems = backend_problems(film, config)
    if problems:
        return dataclasses.replace(checked, diagnostics=problems).report(), 1
    store = Store(default_cache_dir(path, cache))
    durations = Estimated(film, store)
    plan = plan_film(film, config, durations)
    exact = durations.exact
    assert plan.timeline is not None and plan.graph is not None
    rows: list[dict[str, Any]] = []
    for job in plan.graph.jobs.values():
        cached = store.lookup(job.key, verify=False).ok
        rows.append({"key": job.key, "kind": job.kind, "backend": job.backend,
                     "label": job.label, "inputs": list(job.inputs), "cached": cached,
                     "estimate": 0.0 if cached else round(estimate(job), 3)})
    total = sum(r["estimate"] for r in rows)
    timeline = plan.timeline
    if as_json:
        data = {"film": film.title, "seconds": round(timeline.seconds, 3),
                "frames": timeline.frames, "exact": exact, "estimate": round(total, 2),
                "outputs": plan.graph.outputs, "jobs": rows}
        return json.dumps(data, indent=1, ensure_ascii=False), 0
    return _text(film.title, timeline.seconds, exact, rows, total), 0


def _text(title: str, seconds: float, exact: bool, rows: list[dict[str, Any]],
          total: float) -> str:
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
    lines.append(f"{len(rows)} jobs, {len(todo_rows)} to run, about {total:.0f}s of work "
                 "on this machine")
    for row in todo_rows[:40]:
        lines.append(f"  run {row['kind']:<10} {row['label']}")
    if len(todo_rows) > 40:
        lines.append(f"  ... and {len(todo_rows) - 40} more")
    return "\n".join(lines)
