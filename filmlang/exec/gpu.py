"""The GPU pool: batched jobs beside the scheduler's CPU pool.

The scheduler offers the pool every ready job; the pool takes those whose backend it
batches (generated stills, character sheets, clips), groups them by what lets them share a
pipeline call (model, size, steps), splits each group over its lanes (one per visible
GPU) and runs each part on a lane's thread. It gives the scheduler one future per job,
so the scheduler's bookkeeping (records, failures, dependants) is the same as for CPU
jobs, and these futures do not count against the CPU workers: speech, music and encoding
go on while the GPU samples. Each job is committed to the cache, and its future resolved,
as soon as the pipeline call that made it returns.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from filmlang.backends.protocol import Batcher
from filmlang.jobs import Job, JobFailed

if TYPE_CHECKING:
    from filmlang.exec.scheduler import Scheduler


class GpuPool:
    def __init__(self, batchers: dict[tuple[str, str], Batcher]) -> None:
        self.batchers = batchers
        self._futures: set[Future[float]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._lanes: queue.Queue[int] = queue.Queue()
        self._count = 0
        self._lock = threading.Lock()

    def _batcher(self, job: Job) -> Batcher | None:
        batcher = self.batchers.get((job.backend_name, job.kind))
        return batcher if batcher is not None and batcher.accepts(job) else None

    def owns(self, future: Future[float]) -> bool:
        return future in self._futures

    def busy(self, futures: list[Future[float]]) -> int:
        """How many of these futures are the pool's (they do not use CPU workers)."""
        return sum(1 for f in futures if f in self._futures)

    def submit(self, jobs: list[Job], scheduler: Scheduler) -> list[tuple[Job, Future[float]]]:
        """Take the batchable jobs among `jobs`; the others are left to the CPU pool."""
        mine = [job for job in jobs if self._batcher(job) is not None]
        if not mine:
            return []
        executor = self._start(mine[0])
        groups: dict[tuple[tuple[str, str], Hashable], list[Job]] = {}
        for job in mine:
            batcher = self.batchers[(job.backend_name, job.kind)]
            groups.setdefault(((job.backend_name, job.kind), batcher.group(job)), []).append(job)
            if scheduler._lookups.get(job.key) is not None \
                    and scheduler._lookups[job.key].status == "corrupt":
                scheduler.store.discard(job.key)
        out: list[tuple[Job, Future[float]]] = []
        for (name, _), members in groups.items():
            batcher = self.batchers[name]
            parts = min(self._count, len(members))
            for i in range(parts):
                part = members[i::parts] if parts > 1 else members
                futures: list[Future[float]] = [Future() for _ in part]
                for job, future in zip(part, futures, strict=True):
                    self._futures.add(future)
                    out.append((job, future))
                executor.submit(self._run, batcher, part, futures, scheduler)
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

    def _run(self, batcher: Batcher, jobs: list[Job], futures: list[Future[float]],
             scheduler: Scheduler) -> None:
        from filmlang.jobs import Cancelled

        pending = dict(zip((job.key for job in jobs), futures, strict=True))
        lane = self._lanes.get()
        start = time.perf_counter()
        todo = list(jobs)
        try:
            while todo:
                if scheduler._cancel.is_set():
                    raise Cancelled()
                try:
                    for job, result in batcher.generate(todo, lane, scheduler.store):
                        with scheduler.store.writing(job.key, job.kind) as out:
                            batcher.write(job, result, out)
                        pending.pop(job.key).set_result(time.perf_counter() - start)
                        start = time.perf_counter()
                    todo = []
                except JobFailed as exc:  # one shot cannot be made: report it, go on
                    future = pending.pop(exc.job.key, None)
                    if future is None:
                        raise
                    future.set_exception(exc)
                    todo = [job for job in todo if job.key in pending]
        except BaseException as exc:  # the rest of the batch shares the fate
            for future in pending.values():
                future.set_exception(exc)
        finally:
            self._lanes.put(lane)
