"""The GPU pool: batched jobs beside the executor's CPU threads.

The scheduler offers the pool every ready job; the pool takes those whose backend it
batches (generated stills, character sheets, clips), groups them by what lets them share a
pipeline call (model, size, steps), splits each group over its lanes (one per visible
GPU) and runs each part on a lane's thread. Parts wait for a free lane; the lane that
starts one takes with it the parts of the same group handed over since (one of each later
hand-over), so that jobs which become ready one by one while the lanes are busy (clips, as
their stills finish) share a call rather than making one each. It gives the scheduler one
future per job, so the scheduler's bookkeeping (records, failures, dependants) is the same
as for CPU jobs, and these futures do not count against the CPU workers: speech, music and
encoding go on while the GPU samples. Each result is written (PNG encoding, hashing, the rename
into the cache) on a writer thread while the lane's next pipeline call samples, and its
future is resolved once it is committed.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from filmlang.backends.protocol import Batcher
from filmlang.exec.context import NODE, Context, Outcome
from filmlang.jobs import Cancelled, Job, JobFailed, stopping_when


def group_batches(batchers: dict[tuple[str, str], Batcher], jobs: list[Job]
                  ) -> dict[tuple[tuple[str, str], Hashable], list[Job]]:
    """The batchable jobs among `jobs`, grouped by batcher and what shares a call."""
    groups: dict[tuple[tuple[str, str], Hashable], list[Job]] = {}
    for job in jobs:
        batcher = batchers.get((job.backend_name, job.kind))
        if batcher is None or not batcher.accepts(job):
            continue
        name = (job.backend_name, job.kind)
        groups.setdefault((name, batcher.group(job)), []).append(job)
    return groups


class GpuPool:
    def __init__(self, batchers: dict[tuple[str, str], Batcher]) -> None:
        self.batchers = batchers
        self._futures: set[Future[Outcome]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._lanes: queue.Queue[int] = queue.Queue()
        self._count = 0
        self._lock = threading.Lock()
        self._queued: dict[Hashable, list[_Part]] = {}
        """Parts submitted and not yet started, by group: a lane that starts one takes the
        others of its group queued since other submissions with it (one part of each, so
        that a group split over lanes stays split)."""
        self._calls = 0

    def owns(self, future: Future[Outcome]) -> bool:
        return future in self._futures

    def busy(self, futures: Iterable[Future[Outcome]]) -> int:
        """How many of these futures are the pool's (they do not use CPU workers)."""
        return sum(1 for f in futures if f in self._futures)

    def lanes_hint(self) -> int:
        """The lanes in use, or one before the first batch (torch not yet imported)."""
        return self._count or 1

    def accepts(self, job: Job) -> bool:
        batcher = self.batchers.get((job.backend_name, job.kind))
        return batcher is not None and batcher.accepts(job)

    def submit(self, jobs: list[Job], ctx: Context) -> list[tuple[Job, Future[Outcome]]]:
        """Take the batchable jobs among `jobs`; the others are left to the CPU pool."""
        groups = group_batches(self.batchers, jobs)
        if not groups:
            return []
        first = next(iter(groups.values()))[0]
        executor = self._start(first)
        out: list[tuple[Job, Future[Outcome]]] = []
        self._calls += 1
        for (name, key), members in groups.items():
            batcher = self.batchers[name]
            parts = min(self._count, len(members))
            for i in range(parts):
                part = members[i::parts] if parts > 1 else members
                futures: list[Future[Outcome]] = [Future() for _ in part]
                for job, future in zip(part, futures, strict=True):
                    self._futures.add(future)
                    out.append((job, future))
                entry = _Part(self._calls, part, futures)
                with self._lock:
                    self._queued.setdefault((name, key), []).append(entry)
                executor.submit(self._run, batcher, (name, key), entry, ctx)
        return out

    def _start(self, job: Job) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._count = max(1, self.batchers[(job.backend_name, job.kind)].lanes())
                for lane in range(self._count):
                    self._lanes.put(lane)
                self._executor = ThreadPoolExecutor(max_workers=self._count,
                                                    thread_name_prefix="filmc-gpu")
            return self._executor

    def _run(self, batcher: Batcher, group: Hashable, own: _Part, ctx: Context) -> None:
        lane = self._lanes.get()
        try:
            taken = self._take(group, own)
            if not taken:
                return  # a lane that started before this one took this part with its own
            jobs = [job for part in taken for job in part.jobs]
            futures = [future for part in taken for future in part.futures]
            pending = dict(zip((job.key for job in jobs), futures, strict=True))
            run_settled(batcher, jobs, lane, ctx, pending)
        finally:
            self._lanes.put(lane)

    def _take(self, group: Hashable, own: _Part) -> list[_Part]:
        """This part, if no other lane took it, with one queued part of the same group from
        each other submission: jobs that became ready while the lanes were busy (clips
        whose stills finished one by one) are sampled together, not one call each."""
        with self._lock:
            queued = self._queued.get(group, [])
            if own not in queued:
                return []
            taken, calls = [own], {own.call}
            for part in queued:
                if part.call not in calls:
                    taken.append(part)
                    calls.add(part.call)
            left = [part for part in queued if part not in taken]
            if left:
                self._queued[group] = left
            else:
                self._queued.pop(group, None)
            return taken


@dataclass(eq=False)
class _Part:
    """Jobs of one group submitted together for one lane, and their futures."""

    call: int
    jobs: list[Job]
    futures: list[Future[Outcome]]


def run_settled(batcher: Batcher, jobs: list[Job], lane: int, ctx: Context,
                pending: dict[str, Future[Outcome]]) -> None:
    """`run_batch` with its own writer thread; whatever stops the batch is every unfinished
    job's failure (the rest of the batch shares the fate), never this caller's."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="filmc-gpu-write")
    try:
        run_batch(batcher, jobs, lane, ctx, pending, writer)
    except BaseException as exc:
        writer.shutdown(wait=True)
        for future in pending.values():
            if not future.done():
                future.set_exception(exc)
    finally:
        writer.shutdown(wait=True)


def run_batch(batcher: Batcher, jobs: list[Job], lane: int, ctx: Context,
              pending: dict[str, Future[Outcome]], writer: ThreadPoolExecutor) -> None:
    """Generate `jobs` on a lane, each result written and committed on `writer` while the
    next call samples; a job that cannot be made fails alone (its future says why). Once
    the build stops (`ctx.stopping()`), the batch stops at its next diffusion step or item
    with `Cancelled`: what it finished is committed whole, the rest is never written."""
    todo = list(jobs)
    start = time.perf_counter()

    def commit(job: Job, result: Any, seconds: float) -> None:
        future = pending[job.key]
        try:
            with ctx.store.writing(job.key, job.kind) as out:
                batcher.write(job, result, out)
        except BaseException as exc:
            future.set_exception(exc)
            return
        future.set_result(Outcome(seconds, NODE, os.getpid()))

    while todo:
        if ctx.stopping():
            raise Cancelled()
        try:
            # the batcher checks ctx.stopping() between diffusion steps (raise_if_stopped)
            with stopping_when(ctx.stopping):
                for job, result in batcher.generate(todo, lane, ctx.store):
                    now = time.perf_counter()
                    writer.submit(commit, job, result, now - start)
                    start = now
                    todo = [other for other in todo if other.key != job.key]
                    if todo and ctx.stopping():
                        raise Cancelled()
        except JobFailed as exc:  # one shot cannot be made: report it, go on
            future = pending.get(exc.job.key)
            if future is None or future.done():
                raise
            future.set_exception(exc)
            todo = [job for job in todo if job.key != exc.job.key]
