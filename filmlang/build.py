"""`filmc build` as a function: a film's path in, the MP4 and its subtitles out.

check → plan the sources (speech, stills) → run the speech → solve the timeline → plan the
assembly (segments, music, mix, mux) → run it → put the film where it belongs. The cache
is locked for the whole build; the output is replaced atomically, so a failed or
interrupted build never leaves a broken film where the last good one was.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.api import CheckResult, check_file
from filmlang.cache.store import Store, default_cache_dir
from filmlang.diagnostics import Diagnostic, Label, error
from filmlang.exec.gpu import GpuPool
from filmlang.exec.scheduler import Explainer, JobFailed, Progress, Report, Runner, Scheduler
from filmlang.plan.jobs import Job, JobGraph
from filmlang.plan.planner import (
    BuildConfig,
    Sources,
    plan_assembly,
    plan_sources,
    preview_fps,
)
from filmlang.plan.timeline import Timeline, solve

if TYPE_CHECKING:
    from filmlang.link.ffmpeg import Children

LOCK_TIMEOUT = 3600.0


@dataclass
class BuildResult:
    check: CheckResult
    output: Path | None = None
    subtitles: Path | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Errors found while building (timing, unavailable backends): exit 1."""
    failures: list[JobFailed] = field(default_factory=list)
    """Jobs that failed: exit 2."""
    reports: list[Report] = field(default_factory=list)
    timeline: Timeline | None = None
    graph: JobGraph | None = None
    seconds: float = 0.0
    cancelled: bool = False
    """Stopped by its cancel token: the output was not touched, the cache holds only the
    jobs that finished."""

    @property
    def ok(self) -> bool:
        return self.output is not None

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        if self.failures:
            return 2
        return 1

    def records(self) -> list[tuple[Job, str, str]]:
        """Each job once: how it went (a job cached in one phase may have run in another)."""
        rank = {"failed": 2, "ran": 1, "cached": 0}
        best: dict[str, tuple[Job, str, str]] = {}
        for report in self.reports:
            for key, record in report.records.items():
                seen = best.get(key)
                if seen is None or rank[record.status] > rank[seen[1]]:
                    best[key] = (record.job, record.status, record.reason)
        return list(best.values())

    def counts(self) -> dict[str, dict[str, int]]:
        total: dict[str, dict[str, int]] = {}
        for job, status, _ in self.records():
            slot = total.setdefault(job.kind, {"ran": 0, "cached": 0, "failed": 0})
            slot[status] += 1
        return total


def default_output(film_path: Path) -> Path:
    path = film_path.absolute()
    return path.parent / "build" / (path.stem + ".mp4")


def build(path: Path | str, *, output: Path | None = None, cache: Path | None = None,
          jobs: int | None = None, config: BuildConfig | None = None,
          allow_outside: bool = False, progress: Progress | None = None,
          cancel: threading.Event | None = None) -> BuildResult:
    """Build the film at `path`. Setting `cancel` (from another thread) stops the build
    soon: no new job starts, running ffmpeg children are killed, nothing is published, and
    the result says `cancelled`."""
    start = time.perf_counter()
    path = Path(path)
    config = config or BuildConfig()
    checked = check_file(path, allow_outside=allow_outside)
    result = BuildResult(check=checked)
    if not checked.ok or checked.film is None:
        return result
    film = checked.film
    from filmlang.backends.diffusers_check import configure

    config = configure(film, config, path)
    result.diagnostics = backend_problems(film, config)
    if result.diagnostics:
        return result
    root = default_cache_dir(path, cache)
    store = Store(root)
    store.ensure()
    from filelock import FileLock

    with FileLock(str(root / "lock"), timeout=LOCK_TIMEOUT):
        store.clean_tmp()
        from filmlang.link.ffmpeg import Children

        children = Children()
        scheduler = Scheduler(
            store, _runners(children), workers=jobs or os.cpu_count() or 1, progress=progress,
            explainer=Explainer(root / "last.json"), log=root / "log.jsonl",
            build_id=uuid.uuid4().hex[:12], cancel=cancel, on_cancel=children.kill,
            gpu=_gpu_pool())
        sources = plan_sources(film, config)
        jobs_by_key = sources.graph.jobs
        report = scheduler.run(jobs_by_key, list(sources.speech.values()))
        result.reports.append(report)
        if report.cancelled:
            result.cancelled = True
            return result
        if report.failures:
            result.failures = report.failures
            return result
        timeline, problems = solve_timeline(film, sources, store, config)
        result.timeline = timeline
        if problems:
            result.diagnostics = problems
            return result
        graph = plan_assembly(film, sources, timeline, config)
        result.graph = graph
        report = scheduler.run(graph.jobs, [graph.outputs["film"]])
        result.reports.append(report)
        if report.cancelled or (cancel is not None and cancel.is_set()):
            result.cancelled = True
            return result
        if report.failures:
            result.failures = report.failures
            return result
        final = store.path(graph.outputs["film"])
        target = (output or default_output(path)).absolute()
        _publish(final / "film.mp4", target)
        srt = target.with_suffix(".srt")
        _publish(final / "film.srt", srt)
        result.output, result.subtitles = target, srt
    result.seconds = time.perf_counter() - start
    return result


def solve_timeline(film: ir.Film, sources: Sources, store: Store, config: BuildConfig
                   ) -> tuple[Timeline, list[Diagnostic]]:
    durations = {where: float(store.meta(key)["duration"])
                 for where, key in sources.speech.items()}
    return solve(film, durations, preview_fps(film, config))


def backend_problems(film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
    """Before any work: every backend the film needs is installed, or it says what to do."""
    from filmlang.backends import speech

    problems: list[Diagnostic] = []
    visual = config.visual or film.backends.visual
    if visual == "diffusers":
        from filmlang.backends import diffusers_check

        problems += diffusers_check.problems(film, config)
    elif visual != "procedural":
        problems.append(error(
            "E0603", f"the '{visual}' visual backend is not available in this version of "
            "filmlang", film.origin, label="asks for it",
            help="build with the procedural backend (the default): remove "
                 f"'backend visual={visual}' or pass --backend visual=procedural"))
    music = config.music or film.backends.music
    if music not in ("", "synth", "soundfont"):
        problems.append(error(
            "E0603", f"the '{music}' music backend is not available in this version of "
            "filmlang", film.origin, label="asks for it",
            help="the built-in synthesizer is the default: --backend music=synth"))
    else:
        from filmlang.backends import soundfont

        needs = any(scene.music is not None for scene in film.scenes)
        found = soundfont.selection_problem(film.backends.music, config.music, needs)
        if found is not None:
            problems.append(error("E0603", found[0], film.origin, label="has music",
                                  help=found[1]))
    preferred = config.voice or film.backends.voice
    lines: dict[str, list[Label]] = {}
    for shot in film.shots:
        for line in shot.lines:
            lines.setdefault(line.speaker, []).append(
                Label(span=line.origin, message=f"{line.speaker} speaks here"))
    for character in film.characters:
        if character.name not in lines:
            continue
        try:
            speech.choose_engine(character.voice, preferred)
        except speech.SpeechUnavailable as exc:
            origin = character.origin
            head = origin.model_copy(update={
                "end_line": origin.line,
                "end_column": origin.column + len(f"character {character.name}")})
            spoken = lines[character.name]
            more = len(spoken) - 3
            problems.append(error(
                "E0603", f"no voice for {character.name}: {exc}", head,
                label=f"{len(spoken)} line{'s' if len(spoken) != 1 else ''} need a voice",
                help=exc.install + (f" ({more} more lines need it)" if more > 0 else ""),
                notes=spoken[:3]))
    return problems


def _publish(source: Path, target: Path) -> None:
    """Copy into place atomically: a temp file beside the target, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _runners(children: Children | None = None) -> dict[str, Runner]:
    """The runner of each job kind; the ffmpeg they start belongs to `children`, if given."""
    from filmlang.backends.diffusers_plan import run_reference
    from filmlang.backends.soundfont import run_music
    from filmlang.exec.runners import RUNNERS

    runners = {**RUNNERS, "character": run_reference, "music": run_music}
    if children is None:
        return runners
    group = children

    def adopted(runner: Runner) -> Runner:
        def run(job: Job, out: Path, store: Store) -> None:
            with group.adopting():
                runner(job, out, store)
        return run

    return {kind: adopted(runner) for kind, runner in runners.items()}


def _gpu_pool() -> GpuPool:
    """Batched jobs: diffusers stills, character sheets and clips (torch loads at their
    first)."""
    from filmlang.backends import diffusers_clips, diffusers_run
    from filmlang.exec.gpu import Batcher, GpuPool

    return GpuPool({
        "diffusers": Batcher(group=diffusers_run.group, generate=diffusers_run.generate,
                             write=diffusers_run.write, lanes=diffusers_run.lanes),
        "diffusers-clip": Batcher(group=diffusers_clips.group,
                                  generate=diffusers_clips.generate,
                                  write=diffusers_clips.write, lanes=diffusers_run.lanes)})
