"""The scheduler: targets in, their jobs done and cached, with progress and explanations.

Demand-driven, like a build system: a target whose object is in the cache is done and
its inputs are never looked at; otherwise its inputs are demanded first. Ready jobs are
handed to an executor (`exec/executor.py`: threads and the GPU pool here by default, or
a Ray cluster), most urgent first: by their share of the critical path, with the GPU
treated as the scarce resource (`plan/schedule.py`), from costs measured in earlier
builds (`cache/costs.py`), which every job that runs adds to. A failed job stops the
build cleanly: nothing more starts, running jobs finish, their results stay cached, and
the failure is reported at the source line its job came from. A cancel token set from
another thread stops a run sooner: nothing more starts, `on_cancel` kills the running
jobs' children, and the report says `cancelled`; only jobs that finished are committed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from filmlang.cache.costs import CostBook
from filmlang.cache.store import Lookup, Store
from filmlang.exec.context import NODE, Context, Outcome
from filmlang.exec.executor import Executor, LocalExecutor
from filmlang.exec.explain import BuildLog, Explainer
from filmlang.jobs import Cancelled, Job, JobFailed, Runner
from filmlang.plan.costs import Estimator
from filmlang.plan.schedule import priorities, take

if TYPE_CHECKING:
    from filmlang.exec.gpu import GpuPool

@dataclass
class Record:
    job: Job
    status: str
    """ran, cached or failed"""
    reason: str
    seconds: float = 0.0
    node: str = ""
    """Where it ran (the host's name, a Ray node's id); '' when it did not run."""
    worker: int = 0
    """The process id of the worker that ran it."""


@dataclass
class Report:
    records: dict[str, Record] = field(default_factory=dict)
    failures: list[JobFailed] = field(default_factory=list)
    cancelled: bool = False
    """The build was cancelled: some targets were not made."""
    wall: float = 0.0
    """Seconds the run took, from the first lookup to the last job."""

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for record in self.records.values():
            kind = out.setdefault(record.job.kind, {"ran": 0, "cached": 0, "failed": 0})
            kind[record.status] = kind.get(record.status, 0) + 1
        return out


class Progress:
    """What the scheduler tells the console (or a test): a no-op by default."""

    def expect(self, kinds: dict[str, int]) -> None:
        """Before the first job: how many jobs of each kind the whole build should touch
        (a build runs the scheduler once per phase; each `start` gives that phase's total)."""
    def start(self, total: int) -> None: ...
    def advance(self, record: Record) -> None: ...
    def stop(self) -> None: ...


class Scheduler:
    def __init__(self, store: Store, runners: Callable[[Job], Runner | None], *, workers: int,
                 progress: Progress | None = None, explainer: Explainer | None = None,
                 log: BuildLog | None = None, build_id: str = "",
                 cancel: threading.Event | None = None,
                 on_cancel: Callable[[], object] | None = None,
                 gpu: GpuPool | None = None, executor: Executor | None = None,
                 costs: CostBook | None = None) -> None:
        self.store = store
        self.executor: Executor = executor or LocalExecutor(workers, gpu)
        """Runs the ready jobs: threads and the GPU pool by default, or a Ray cluster."""
        self.runners = runners
        self.costs = costs
        """Each job that runs records its seconds there; the ready jobs' order comes
        from it."""
        self._estimator = Estimator(costs)
        self._rank: dict[str, float] = {}
        self.progress = progress or Progress()
        self.explainer = explainer
        self.log = log
        self.build_id = build_id
        self.report = Report()
        self._lock = threading.Lock()
        self._cancel = cancel or threading.Event()
        self._on_cancel = on_cancel
        """Called while cancelled jobs still run: stops their child processes."""
        self._halt = threading.Event()
        """Set once the build stops (cancelled, or a job failed): batched work stops."""
        self._lookups: dict[str, Lookup] = {}
        self._done: set[str] = set()
        """Keys this scheduler already made or found cached, in an earlier `run` of the
        same build (phase one's stills are phase two's inputs): not looked up again."""
        self._carry: tuple[dict[str, Job], dict[str, set[str]], dict[Future[Outcome], Job]] \
            = ({}, {}, {})
        """Background jobs of the last run still to start, their inputs not done, and those
        running: the next run (or `finish`) takes them over."""

    def cancel(self) -> None:
        self._cancel.set()

    def plan(self, jobs: dict[str, Job], targets: list[str]) -> tuple[list[Job], list[Job]]:
        """Which jobs must run and which are cached, for these targets."""
        run: dict[str, Job] = {}
        cached: dict[str, Job] = {}
        lookups: dict[str, Lookup] = {}

        carried = self._carried()

        def visit(key: str) -> None:
            if key in run or key in cached or key in self._done or key in carried:
                return  # (done, or in flight, from an earlier run of this build)
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
        self._lookups.update(lookups)
        return list(run.values()), list(cached.values())

    def _carried(self) -> set[str]:
        pending, _, running = self._carry
        return set(pending) | {job.key for job in running.values()}

    def run(self, jobs: dict[str, Job], targets: list[str], *,
            background: list[str] | tuple[str, ...] = ()) -> Report:
        """Make `targets`; return once they are made (or the run failed or was
        cancelled). `background` targets are started too, in rank order with the rest, but
        not waited for: what of them is left goes on during the next run, which takes it
        over, or is waited for by `finish` (phase one's stills run on while the build
        speaks, solves the timeline and encodes the segments of the stills already made)."""
        began = time.perf_counter()
        self.report = Report()
        carried_pending, carried_waiting, running = self._carry
        self._carry = ({}, {}, {})
        to_run, cached = self.plan(jobs, [*targets, *background])
        self.progress.start(len(to_run) + len(cached) + len(carried_pending) + len(running))
        for job in cached:
            self._record(Record(job, "cached", "unchanged"))
        pending = {**carried_pending, **{job.key: job for job in to_run}}
        inflight = set(pending) | {job.key for job in running.values()}
        waiting = {**carried_waiting,
                   **{job.key: {d for d in job.inputs if d in inflight} for job in to_run}}
        if pending:
            _import_shared_modules()
            self._rank = priorities(pending, self._estimator.cost, self._estimator.on_gpu)
        self.executor.open(Context(self.store, self.runners, self._cancel, self._on_cancel,
                                   halt=self._halt))
        goal = list(targets)
        self._loop(pending, waiting, running, goal)
        if self._cancel.is_set() and any(key not in self._done for key in pending):
            # the batches may have seen the cancel (and stopped) before the loop did
            self.report.cancelled = True
        if (waiting or running) and not self.report.failures and not self.report.cancelled:
            self._carry = ({k: pending[k] for k in waiting}, waiting, running)
        else:
            self.executor.close()
        self._close_run(began)
        return self.report

    def finish(self) -> Report:
        """Wait for (and record) what earlier runs left running in the background."""
        if not any(self._carry):
            return Report()
        return self.run({}, [], background=())

    def _close_run(self, began: float) -> None:
        self.progress.stop()
        if self.explainer is not None:
            self.explainer.save()
        if self.log is not None:
            self.log.close()
        if self.costs is not None:
            self.costs.save()
        self.report.wall = time.perf_counter() - began

    def _loop(self, pending: dict[str, Job], waiting: dict[str, set[str]],
              running: dict[Future[Outcome], Job], goal: list[str]) -> None:
        """Start and collect jobs until the goal's targets are made (every job, when the
        goal is empty), a job fails (then until what runs has finished) or the run is
        cancelled."""
        while waiting or running:
            if goal and all(key in self._done for key in goal) and not self.report.failures:
                return
            if self._cancel.is_set():
                # Start nothing new, stop what runs; objects already done stay cached.
                self.report.cancelled = True
                waiting.clear()
                self.executor.cancel()
                self._stop_batches()
            self._start(pending, waiting, running)
            if not running:
                break
            done, _ = wait(list(running), timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                failed = len(self.report.failures)
                if self._finished(job, future):
                    for deps in waiting.values():
                        deps.discard(job.key)
                elif len(self.report.failures) > failed and not self.executor.batched([future]):
                    # A CPU job failed: the build will stop, so GPU batches stop too (what
                    # they finished is committed; the rest would sample for nothing). A
                    # batched job's own failure lets its batch go on, so that every shot
                    # that cannot be made is reported at once.
                    self._stop_batches()
            if self.report.failures:
                waiting.clear()  # start nothing new; let running CPU jobs finish

    def _stop_batches(self) -> None:
        if not self._halt.is_set():
            self._halt.set()
            self.executor.stop_batches()

    def _start(self, pending: dict[str, Job], waiting: dict[str, set[str]],
               running: dict[Future[Outcome], Job]) -> None:
        """Start the jobs whose inputs are done, most urgent first: the batched ones on
        the GPU, the rest while a CPU slot is free; nothing new after a failure."""
        if self.report.failures:
            return
        ready = [key for key, deps in waiting.items() if not deps]
        ready.sort(key=lambda k: -self._rank.get(k, 0.0))
        for key in ready:
            if self._lookups.get(key, Lookup("missing")).status == "corrupt":
                self.store.discard(key)
        if ready:
            for job, batched in self.executor.submit_batched([pending[k] for k in ready]):
                del waiting[job.key]
                running[batched] = job
            ready = [key for key in ready if key in waiting]
        on_gpu = self.executor.batched(running)
        slots = self.executor.slots()
        free = slots - (len(running) - on_gpu)
        if free <= 0 or not ready:
            return
        busy = Counter(job.kind for future, job in running.items()
                       if not on_gpu or not self.executor.batched([future]))
        for job in take([pending[key] for key in ready], busy, slots, free):
            del waiting[job.key]
            running[self.executor.submit(job)] = job

    def _finished(self, job: Job, future: Future[Outcome]) -> bool:
        """Record how a job that stopped went; True when it ran to the end."""
        try:
            outcome = future.result()
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
        if self.costs is not None:
            self.costs.note(job, outcome.seconds)
        self._record(Record(job, "ran", self._why(job), outcome.seconds, outcome.node,
                            outcome.worker))
        return True

    def _why(self, job: Job) -> str:
        if self.explainer is None:
            return ""
        return self.explainer.why(job, self._lookups.get(job.key, Lookup("missing")))

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
                if record.status == "ran":
                    entry["node"], entry["worker"] = record.node or NODE, record.worker
                self.log.write(entry)
            self.progress.advance(record)


def _import_shared_modules() -> None:
    """Import, on this thread, the modules that the runners import lazily on theirs.

    Two job threads that both import numpy for the first time can see it partially
    initialised ("cannot import name ... (most likely due to a circular import)"); importing
    it once before any thread starts closes that race. A no-op build never gets here, so it
    never pays for the import.
    """
    import numpy  # noqa: F401

