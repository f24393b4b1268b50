"""The scheduler: targets in, their jobs done and cached, with progress and explanations.

Demand-driven, like a build system: a target whose object is in the cache is done and
its inputs are never looked at; otherwise its inputs are demanded first. Ready jobs run
on a pool of `jobs` workers (threads: the heavy work happens in ffmpeg, numpy and
onnxruntime, which release the GIL). A failed job stops the build cleanly: nothing more
starts, running jobs finish, their results stay cached, and the failure is reported at
the source line its job came from. A cancel token set from another thread stops a run
sooner: nothing more starts, `on_cancel` kills the running jobs' children, and the report
says `cancelled`; only jobs that finished are committed to the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from filmlang.cache.store import Lookup, Store
from filmlang.exec.explain import BuildLog, Explainer
from filmlang.jobs import Cancelled, Job, JobFailed, Runner

if TYPE_CHECKING:
    from filmlang.exec.gpu import GpuPool

@dataclass
class Record:
    job: Job
    status: str
    """ran, cached or failed"""
    reason: str
    seconds: float = 0.0


@dataclass
class Report:
    records: dict[str, Record] = field(default_factory=dict)
    failures: list[JobFailed] = field(default_factory=list)
    cancelled: bool = False
    """The build was cancelled: some targets were not made."""

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for record in self.records.values():
            kind = out.setdefault(record.job.kind, {"ran": 0, "cached": 0, "failed": 0})
            kind[record.status] = kind.get(record.status, 0) + 1
        return out


class Progress:
    """What the scheduler tells the console (or a test): a no-op by default."""

    def start(self, total: int) -> None: ...
    def advance(self, record: Record) -> None: ...
    def stop(self) -> None: ...


class Scheduler:
    def __init__(self, store: Store, runners: Callable[[Job], Runner | None], *, workers: int,
                 progress: Progress | None = None, explainer: Explainer | None = None,
                 log: BuildLog | None = None, build_id: str = "",
                 cancel: threading.Event | None = None,
                 on_cancel: Callable[[], object] | None = None,
                 gpu: GpuPool | None = None) -> None:
        self.store = store
        self.gpu = gpu
        """Batched (GPU) jobs run there, beside the CPU workers."""
        self.runners = runners
        self.workers = max(1, workers)
        self.progress = progress or Progress()
        self.explainer = explainer
        self.log = log
        self.build_id = build_id
        self.report = Report()
        self._lock = threading.Lock()
        self._cancel = cancel or threading.Event()
        self._on_cancel = on_cancel
        """Called while cancelled jobs still run: stops their child processes."""
        self._lookups: dict[str, Lookup] = {}
        self._done: set[str] = set()
        """Keys this scheduler already made or found cached, in an earlier `run` of the
        same build (phase one's stills are phase two's inputs): not looked up again."""

    def cancel(self) -> None:
        self._cancel.set()

    def plan(self, jobs: dict[str, Job], targets: list[str]) -> tuple[list[Job], list[Job]]:
        """Which jobs must run and which are cached, for these targets."""
        run: dict[str, Job] = {}
        cached: dict[str, Job] = {}
        lookups: dict[str, Lookup] = {}

        def visit(key: str) -> None:
            if key in run or key in cached or key in self._done:
                return  # (done by an earlier run of this build: counted there)
            job = jobs[key]
            lookup = self.store.lookup(key)
            lookups[key] = lookup
            if lookup.ok:
                cached[key] = job
                return
            for dep in job.inputs:
                visit(dep)
            run[key] = job

        for key in targets:
            visit(key)
        self._lookups = lookups
        return list(run.values()), list(cached.values())

    def run(self, jobs: dict[str, Job], targets: list[str]) -> Report:
        self.report = Report()
        to_run, cached = self.plan(jobs, targets)
        self.progress.start(len(to_run) + len(cached))
        for job in cached:
            self._record(Record(job, "cached", "unchanged"))
        pending = {job.key: job for job in to_run}
        waiting = {key: {d for d in job.inputs if d in pending} for key, job in pending.items()}
        running: dict[Future[float], Job] = {}
        if pending:
            _import_shared_modules()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="filmc") as pool:
            while waiting or running:
                if self._cancel.is_set():
                    # Start nothing new, stop what runs; objects already done stay cached.
                    self.report.cancelled = True
                    waiting.clear()
                    if self._on_cancel is not None:
                        self._on_cancel()
                self._start(pool, pending, waiting, running)
                if not running:
                    break
                done, _ = wait(list(running), timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    if self._finished(job, future):
                        for deps in waiting.values():
                            deps.discard(job.key)
                if self.report.failures:
                    waiting.clear()  # start nothing new; let running jobs finish
        self.progress.stop()
        if self.explainer is not None:
            self.explainer.save()
        if self.log is not None:
            self.log.close()
        return self.report

    def _start(self, pool: ThreadPoolExecutor, pending: dict[str, Job],
               waiting: dict[str, set[str]], running: dict[Future[float], Job]) -> None:
        """Start the jobs whose inputs are done: the batched ones on the GPU pool, the rest
        on the threads while one is free; nothing new after a failure."""
        ready = [key for key, deps in waiting.items() if not deps]
        # Keep the pool fed, most expensive kinds first.
        ready.sort(key=lambda k: _PRIORITY.get(pending[k].kind, 9))
        if self.gpu is not None and ready and not self.report.failures:
            for job, batched in self.gpu.submit([pending[k] for k in ready], self):
                del waiting[job.key]
                running[batched] = job
            ready = [key for key in ready if key in waiting]
        on_gpu = self.gpu.busy(list(running)) if self.gpu is not None else 0
        for key in ready:
            if len(running) - on_gpu >= self.workers or self.report.failures:
                break
            del waiting[key]
            job = pending[key]
            if self._lookups.get(key, Lookup("missing")).status == "corrupt":
                self.store.discard(key)
            running[pool.submit(self._execute, job)] = job

    def _finished(self, job: Job, future: Future[float]) -> bool:
        """Record how a job that stopped went; True when it ran to the end."""
        try:
            seconds = future.result()
        except Cancelled:
            return False
        except JobFailed as exc:
            self.report.failures.append(exc)
            self._record(Record(job, "failed", exc.message))
            return False
        except Exception as exc:  # a bug in a backend: still reported at its line
            failure = JobFailed(job, f"{type(exc).__name__}: {exc}")
            self.report.failures.append(failure)
            self._record(Record(job, "failed", failure.message))
            return False
        self._record(Record(job, "ran", self._why(job), seconds))
        return True

    def _why(self, job: Job) -> str:
        if self.explainer is None:
            return ""
        return self.explainer.why(job, self._lookups.get(job.key, Lookup("missing")))

    def _execute(self, job: Job) -> float:
        if self._cancel.is_set():
            raise Cancelled()
        runner = self.runners(job)
        if runner is None:
            raise JobFailed(job, f"no installed backend renders '{job.kind}' jobs of "
                                 f"{job.backend} (is its plug-in installed?)")
        start = time.perf_counter()
        try:
            with self.store.writing(job.key, job.kind) as out:
                runner(job, out, self.store)
        except Exception:
            if self._cancel.is_set():  # its ffmpeg was killed: nothing was committed
                raise Cancelled() from None
            raise
        return time.perf_counter() - start

    def _record(self, record: Record) -> None:
        with self._lock:
            self.report.records[record.job.key] = record
            if record.status != "failed":
                self._done.add(record.job.key)
            if self.explainer is not None and record.status != "failed":
                self.explainer.note(record.job)
            if self.log is not None:
                entry = {"build": self.build_id, "time": round(time.time(), 3),
                         "key": record.job.key, "kind": record.job.kind,
                         "label": record.job.label, "identity": record.job.identity,
                         "status": record.status, "reason": record.reason,
                         "seconds": round(record.seconds, 4)}
                self.log.write(entry)
            self.progress.advance(record)


_PRIORITY = {"speech": 0, "still": 1, "music": 2, "ambience": 2, "segment": 3,
             "transition": 3, "piece": 3, "sound": 4, "mix": 5, "video": 6, "mux": 7}


def _import_shared_modules() -> None:
    """Import, on this thread, the modules that the runners import lazily on theirs.

    Two job threads that both import numpy for the first time can see it partially
    initialised ("cannot import name ... (most likely due to a circular import)"); importing
    it once before any thread starts closes that race. A no-op build never gets here, so it
    never pays for the import.
    """
    import numpy  # noqa: F401

