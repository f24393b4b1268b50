"""`filmc build` as a function: a film's path in, the MP4 and its subtitles out.

check → the backends' checks → plan the sources (speech, stills) → run the speech → solve
the timeline → plan the assembly (clips, music, segments, mix, mux) → run it → put the
film where it belongs (`plan.planner.plan_film` holds the two phases; this module runs
them). The cache is locked for the whole build; the output is replaced atomically, so a
failed or interrupted build never leaves a broken film where the last good one was.

A build runs in a `Session` (`filmlang.session`): the models its backends load stay loaded
in it for the next build of the same session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.api import CheckResult, check_file
from filmlang.backends.protocol import LineWhere, PlanContext
from filmlang.backends.registry import registry
from filmlang.cache.costs import CostBook
from filmlang.cache.remote import open_store, remote_url
from filmlang.cache.store import Store, default_cache_dir
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic
from filmlang.exec.executor import Executor, LocalExecutor
from filmlang.exec.explain import BuildLog, Explainer
from filmlang.exec.gpu import GpuPool
from filmlang.exec.scheduler import Progress, Report, Scheduler
from filmlang.jobs import Job, JobFailed, JobGraph, Runner, hashed_files
from filmlang.outputs import OutputError
from filmlang.plan.estimate import expected_jobs
from filmlang.plan.planner import backend_problems, plan_film, prepared
from filmlang.session import Session, active, current
from filmlang.timeline import Timeline

if TYPE_CHECKING:
    from filmlang.link.ffmpeg import Children
    from filmlang.stamp import Request

LOCK_TIMEOUT = 3600.0


@dataclass
class BuildResult:
    check: CheckResult
    output: Path | None = None
    subtitles: Path | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Errors found while building (timing, unavailable backends): exit 1."""
    failures: list[JobFailed] = field(default_factory=list)
    """Jobs that failed: exit 3."""
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
            return 3  # a render failed: not the film's fault (docs/cli.md, exit statuses)
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


def default_output(film_path: Path, preview: bool = False) -> Path:
    """build/NAME.mp4 beside the film; a preview gets its own name, NAME.preview.mp4, so it
    never replaces the final film."""
    path = film_path.absolute()
    return path.parent / "build" / (path.stem + (".preview" if preview else "") + ".mp4")


def build(path: Path | str, *, output: Path | None = None, cache: Path | None = None,
          jobs: int | None = None, config: BuildConfig | None = None,
          allow_outside: bool = False, progress: Progress | None = None,
          cancel: threading.Event | None = None, session: Session | None = None,
          cluster: str = "", cache_remote: str | None = None,
          pictures: Mapping[tuple[str, int], Path] | None = None) -> BuildResult:
    """Build the film at `path`. Setting `cancel` (from another thread) stops the build
    soon: no new job starts, running ffmpeg children are killed, nothing is published, and
    the result says `cancelled`. The build runs in `session` (its loaded models are kept
    there for the next build); None: the current session, the process default unless one
    is active. `cluster="ray"` runs the jobs on a Ray cluster (`exec/ray_executor.py`);
    `cache_remote` (else $FILMC_CACHE_REMOTE) puts a shared cache behind the local one.
    `pictures` gives shots, by (scene name, shot index from 0), their picture from a video
    or image file, as `picture "PATH"` would (`filmlang.clips` passes MoviePy clips this
    way)."""
    with active(session if session is not None else current()):
        return _build(Path(path), output=output, cache=cache, jobs=jobs, config=config,
                      allow_outside=allow_outside, progress=progress, cancel=cancel,
                      cluster=cluster, remote=remote_url(cache_remote), pictures=pictures)


def _build(path: Path, *, output: Path | None, cache: Path | None, jobs: int | None,
           config: BuildConfig | None, allow_outside: bool, progress: Progress | None,
           cancel: threading.Event | None, cluster: str = "", remote: str | None = None,
           pictures: Mapping[tuple[str, int], Path] | None = None) -> BuildResult:
    start = time.perf_counter()
    checked = check_file(path, allow_outside=allow_outside)
    result = BuildResult(check=checked)
    if not checked.ok or checked.film is None:
        return result
    film = with_pictures(checked.film, pictures or {})
    config = prepared(film, config or BuildConfig(), path)
    result.diagnostics = backend_problems(film, config)
    if result.diagnostics:
        return result
    root = default_cache_dir(path, cache)
    store = open_store(root, remote)
    store.ensure()
    from filelock import FileLock

    with FileLock(str(root / "lock"), timeout=LOCK_TIMEOUT):
        store.clean_tmp()
        from filmlang.link.ffmpeg import Children

        children = Children()
        explainer = Explainer(root / "last.json")
        costs = CostBook(root)
        executor = executor_for(cluster, jobs or os.cpu_count() or 1, root, remote)
        scheduler = Scheduler(
            store, runners(children), workers=jobs or os.cpu_count() or 1, progress=progress,
            explainer=explainer, log=BuildLog(root / "log.jsonl"),
            build_id=uuid.uuid4().hex[:12], cancel=cancel, on_cancel=children.kill,
            executor=executor, costs=costs)
        if progress is not None and type(progress).expect is not Progress.expect:
            # the build's totals, before its first job starts (a plan of both phases)
            progress.expect(expected_jobs(film, config, store))
        try:
            plan = plan_film(film, config, lambda ctx: _speak(ctx, scheduler, store, result))
            result.timeline, result.graph = plan.timeline, plan.graph
            if plan.problems:
                result.diagnostics = plan.problems
            if plan.graph is None:
                return result
            _run(plan.graph, scheduler, result, cancel)
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) or a bug: the build stops, so do its batches, at
            # their next step, rather than sampling on while the process waits to exit
            scheduler.cancel()
            executor.cancel()
            raise
        finally:
            left = scheduler.finish()  # stills still sampling when planning stopped
            if left.records:
                result.reports.append(left)
            executor.shutdown()
        if result.cancelled or result.failures:
            return result
        final = store.path(plan.graph.outputs["film"])
        target = (output or default_output(path, config.preview)).absolute()
        _publish(final / "film.mp4", target)
        srt = target.with_suffix(".srt")
        _publish(final / "film.srt", srt)
        result.output, result.subtitles = target, srt
        explainer.save(complete=True)
    result.seconds = time.perf_counter() - start
    if any(r.status == "ran" for report in result.reports for r in report.records.values()):
        # what no job accounts for (checking, planning, lookups, publishing): for `filmc plan`
        costs.note_overhead(result.seconds - sum(report.wall for report in result.reports))
        costs.save()
    return result


def with_pictures(film: ir.Film, pictures: Mapping[tuple[str, int], Path]) -> ir.Film:
    """The film with the given shots' pictures from files; KeyError names a shot that is
    not in the film."""
    from filmlang.semantic.pictures import IMAGE_SUFFIXES

    if not pictures:
        return film
    known = {(scene.name, shot.index) for scene in film.scenes for shot in scene.shots}
    for where in pictures:
        if where not in known:
            raise KeyError(f"the film has no shot {where[1]} (counting from 0) in a scene "
                           f"'{where[0]}'")
    scenes = []
    for scene in film.scenes:
        shots = []
        for shot in scene.shots:
            given = pictures.get((scene.name, shot.index))
            if given is not None:
                path = Path(given).absolute()
                kind = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "video"
                shot = shot.model_copy(update={"picture": ir.Picture(
                    path=str(path), kind=kind, origin=shot.origin)})
            shots.append(shot)
        scenes.append(scene.model_copy(update={"shots": tuple(shots)}))
    return film.model_copy(update={"scenes": tuple(scenes)})


def stamp_result(request: Request, result: BuildResult) -> None:
    """After a successful build, what a no-op build of the same request checks before it
    answers without parsing (`filmlang/stamp.py`); after any other, nothing."""
    from filmlang.backends.music.soundfont import SYSTEM_PATHS

    if not result.ok or result.output is None or result.subtitles is None:
        request.forget()
        return
    request.record(sources=[f.path for f in result.check.program.files.values()],
                   hashed=hashed_files(), watched=[Path(p) for p in SYSTEM_PATHS],
                   outputs=[result.output, result.subtitles],
                   seconds=result.timeline.seconds if result.timeline else 0.0,
                   counts={k: c["ran"] + c["cached"] for k, c in result.counts().items()})


def _speak(ctx: PlanContext, scheduler: Scheduler, store: Store, result: BuildResult
           ) -> dict[LineWhere, float] | None:
    """Phase one's jobs run: the speech, and beside it, in the background, every still not
    made yet (no still waits for a line's length, so the GPU starts at once, and goes on
    sampling while phase two is planned and the segments of the stills already made are
    encoded; a still already in the cache is verified only if phase two needs it, so a
    no-op rebuild stays cheap). Gives each line's length once the speech is done, or None
    when a job failed or the build was cancelled (the result says which)."""
    missing = [key for key in ctx.stills.values()
               if store.lookup(key, verify=False).status == "missing"]
    report = scheduler.run(ctx.graph.jobs, list(dict.fromkeys(ctx.speech.values())),
                           background=missing)
    result.reports.append(report)
    result.cancelled = report.cancelled
    result.failures = report.failures
    if report.cancelled or report.failures:
        return None
    return {where: float(store.meta(key)["duration"]) for where, key in ctx.speech.items()}


def _run(graph: JobGraph, scheduler: Scheduler, result: BuildResult,
         cancel: threading.Event | None) -> None:
    # The film, and whatever else an export asked for (`BuildConfig.extras`).
    report = scheduler.run(graph.jobs, list(dict.fromkeys([graph.outputs["film"],
                                                            *graph.outputs.values()])))
    result.reports.append(report)
    result.cancelled = report.cancelled or (cancel is not None and cancel.is_set())
    result.failures = report.failures


def _publish(source: Path, target: Path) -> None:
    """Copy into place atomically: a temp file beside the target, then a rename. A failure
    names the target (`OutputError`), not the temp file or the cache object copied."""
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    except OSError as exc:
        raise OutputError(target, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def runners(children: Children | None = None) -> Callable[[Job], Runner | None]:
    """Each job's runner, from the backend that planned it; the ffmpeg they start belongs
    to `children`, if given."""
    found = registry()
    if children is None:
        return found.runner
    group = children

    def lookup(job: Job) -> Runner | None:
        runner = found.runner(job)
        if runner is None:
            return None
        chosen = runner

        def run(job: Job, out: Path, store: Store) -> None:
            with group.adopting():
                chosen(job, out, store)
        return run

    return lookup


def executor_for(cluster: str, workers: int, root: Path, remote: str | None) -> Executor:
    """Threads and the GPU pool here (the default), or a Ray cluster (`cluster="ray"`)."""
    if cluster == "ray":
        from filmlang.exec.ray_executor import RayExecutor, StoreSpec

        return RayExecutor(StoreSpec(str(root.absolute()), remote))
    if cluster:
        raise ValueError(f"unknown cluster {cluster!r}: the one known is 'ray'")
    return LocalExecutor(workers, gpu_pool())


def gpu_pool() -> GpuPool:
    """The batched jobs of every backend that batches (generated stills, sheets, clips):
    torch loads at their first."""
    return GpuPool({(backend.name, kind): batcher for backend in registry()
                    for kind, batcher in backend.batchers().items()})
