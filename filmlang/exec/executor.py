"""Executors: who runs the jobs that the scheduler has decided are ready.

The scheduler (`exec/scheduler.py`) owns the demand-driven graph, the order of ready jobs,
cancellation, progress and the explanations; an executor only runs what it is handed:

- `submit(job)`: one CPU job, a future of its `Outcome` (seconds, node, worker process);
- `submit_batched(jobs)`: of the ready jobs, those a GPU pool batches; a future per job;
- `slots()`: how many CPU jobs may run at once (batched futures do not count);
- `cancel()`: stop the children of running jobs; `stop_batches()`: the build stops (a job
  failed): batched work stops at its next step, what it finished stays; `close()`:
  nothing runs any more (a run that leaves jobs in the background for the next does not
  close); `shutdown()`: the end of the build.

`LocalExecutor` is the default: CPU jobs on threads in this process (the heavy work
happens in ffmpeg, numpy and onnxruntime, which release the GIL) and batched jobs on the
`GpuPool`. `exec/ray_executor.py` runs them on a Ray cluster (`--cluster ray`); nothing
here imports Ray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from filmlang.exec.context import NODE, Context, Outcome
from filmlang.jobs import Cancelled, Job, JobFailed

if TYPE_CHECKING:
    from filmlang.exec.gpu import GpuPool

class ClusterError(Exception):
    """Ray is missing or the cluster cannot be reached: what a user reads."""


@dataclass(frozen=True)
class Resources:
    """What an executor has to run jobs on: for `filmc plan`'s expected wall time."""

    cpus: int
    gpus: int
    nodes: int = 1
    name: str = "local"


class Executor(Protocol):
    name: str

    def open(self, ctx: Context) -> None: ...

    def slots(self) -> int: ...

    def submit(self, job: Job) -> Future[Outcome]: ...

    def submit_batched(self, jobs: list[Job]) -> list[tuple[Job, Future[Outcome]]]: ...

    def batched(self, futures: Iterable[Future[Outcome]]) -> int: ...

    def cancel(self) -> None: ...

    def stop_batches(self) -> None: ...

    def close(self) -> None: ...

    def shutdown(self) -> None: ...

    def resources(self) -> Resources: ...


def run_job(job: Job, ctx: Context) -> float:
    """Do one job into the store: its runner writes a fresh folder that is committed when
    it returns. The seconds it took; `Cancelled` when the build was cancelled."""
    if ctx.cancel.is_set():
        raise Cancelled()
    runner = ctx.runners(job)
    if runner is None:
        raise JobFailed(job, f"no installed backend renders '{job.kind}' jobs of "
                             f"{job.backend} (is its plug-in installed?)")
    start = time.perf_counter()
    try:
        with ctx.store.writing(job.key, job.kind) as out:
            runner(job, out, ctx.store)
    except Exception:
        if ctx.cancel.is_set():  # its ffmpeg was killed: nothing was committed
            raise Cancelled() from None
        raise
    return time.perf_counter() - start


class LocalExecutor:
    """Threads in this process for CPU jobs; the GPU pool beside them for batched ones."""

    name = "local"

    def __init__(self, workers: int, gpu: GpuPool | None = None) -> None:
        self.workers = max(1, workers)
        self.gpu = gpu
        self._pool: ThreadPoolExecutor | None = None
        self._ctx: Context | None = None

    def open(self, ctx: Context) -> None:
        from filmlang.exec.heap import bound_heap

        bound_heap()
        self._ctx = ctx
        if self._pool is None:  # still open when the last run left jobs in the background
            self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                            thread_name_prefix="filmc")

    def slots(self) -> int:
        return self.workers

    def submit(self, job: Job) -> Future[Outcome]:
        assert self._pool is not None and self._ctx is not None
        ctx = self._ctx

        def work() -> Outcome:
            return Outcome(run_job(job, ctx), NODE, os.getpid())

        return self._pool.submit(work)

    def submit_batched(self, jobs: list[Job]) -> list[tuple[Job, Future[Outcome]]]:
        if self.gpu is None or self._ctx is None:
            return []
        return self.gpu.submit(jobs, self._ctx)

    def batched(self, futures: Iterable[Future[Outcome]]) -> int:
        return self.gpu.busy(futures) if self.gpu is not None else 0

    def cancel(self) -> None:
        if self._ctx is not None and self._ctx.on_cancel is not None:
            self._ctx.on_cancel()

    def stop_batches(self) -> None:
        """Nothing more: the GPU pool's lanes watch the context's `halt` themselves."""

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def shutdown(self) -> None:
        self.close()

    def resources(self) -> Resources:
        lanes = self.gpu.lanes_hint() if self.gpu is not None else 0
        return Resources(cpus=self.workers, gpus=lanes, nodes=1, name=self.name)
