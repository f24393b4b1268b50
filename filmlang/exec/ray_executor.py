"""The Ray executor (`filmc build --cluster ray`): the build's jobs on a Ray cluster.

The driver (this process) keeps what the scheduler owns: the demand-driven graph, the
order of ready jobs, cancellation, progress and the explanations. Ray runs the jobs:

- CPU jobs are Ray tasks asking for their real CPU needs (`CPU_NEEDS`: speech runs
  onnxruntime on two threads); a task whose worker dies is retried by Ray elsewhere
  (`max_retries`), and a retry overwrites nothing (objects are committed by rename);
- GPU jobs go to Ray actors (`GpuWorker`), one per GPU of the cluster, each holding one
  loaded pipeline (model affinity: its session keeps it between batches). The driver forms
  the batches (the GPU pool's groups, split over the actors in chunks) and each actor runs
  them through the backend's batcher, which halves a batch that runs out of memory. An
  actor has at most two calls at once (`IN_FLIGHT`); later chunks wait in the driver and
  are merged by group, so that jobs that become ready one by one share a call.
  Without GPUs in the cluster, one actor runs them on a CPU. `FILMC_RAY_GPU_RESOURCE`
  names a custom resource to place the actors by instead of `GPU` (the tests use it to run
  a GPU-type actor on a CPU).

Workers read inputs from and write outputs to the store directly: with `--cache-remote`,
each worker process keeps a local tier (`FILMC_WORKER_CACHE`, else a folder under the
system's temp) in front of the shared cache and publishes what it makes there; without
one, workers use the driver's cache folder, which must then be visible to them (one
machine, or a shared filesystem).

The connection follows Ray's conventions: `RAY_ADDRESS` when set (a `ray start --head`
cluster, or KubeRay), else a local Ray instance started for the build, on 127.0.0.1.
Ray is imported here only, and only when `--cluster ray` asks for it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmlang.backends.protocol import Batcher
from filmlang.backends.registry import registry
from filmlang.cache.remote import open_store
from filmlang.cache.store import Store
from filmlang.exec.context import Context, Outcome
from filmlang.exec.executor import ClusterError, Resources
from filmlang.exec.gpu import group_batches, run_settled
from filmlang.jobs import Cancelled, Job, JobFailed
from filmlang.plan.estimate import Workers

CPU_NEEDS = {"speech": 2.0}
"""CPUs a kind of job keeps busy (speech runs onnxruntime on two threads); others take one."""
CHUNK = 8
"""At most this many images per actor call: results come back, and are committed, as each
chunk finishes; the actor's batcher splits a chunk further when memory asks for it."""
IN_FLIGHT = 2
"""Calls sent to an actor at once: the one it samples and the next, so it never waits for
the driver; later chunks are held by the driver and merged by group before they are sent."""
GPU_RESOURCE_ENV = "FILMC_RAY_GPU_RESOURCE"
WORKER_CACHE_ENV = "FILMC_WORKER_CACHE"
TASK_RETRIES = 3
FORWARDED = ("HF_HUB_OFFLINE", "XDG_CACHE_HOME")


@dataclass(frozen=True)
class StoreSpec:
    """How a worker opens the store: the driver's folder, and the shared cache if any."""

    root: str
    remote: str | None = None

    def open(self) -> Store:
        if self.remote:
            root = os.environ.get(WORKER_CACHE_ENV) or os.path.join(
                tempfile.gettempdir(), f"filmc-worker-cache-{os.getuid()}")
            store = open_store(Path(root), self.remote)
        else:
            store = Store(Path(self.root))
        store.objects.mkdir(parents=True, exist_ok=True)
        store.tmp.mkdir(parents=True, exist_ok=True)
        return store


_stores: dict[StoreSpec, Store] = {}
_stores_lock = threading.Lock()


def _worker_store(spec: StoreSpec) -> Store:
    """One store per worker process and spec, so verified objects are not hashed again."""
    with _stores_lock:
        if spec not in _stores:
            _stores[spec] = spec.open()
        return _stores[spec]


def _where() -> tuple[str, int]:
    import ray

    return ray.get_runtime_context().get_node_id()[:12], os.getpid()


Result = tuple[str, str, float, str, int]
"""(status 'ok', 'failed' or 'cancelled', message, seconds, node, worker pid)."""


def cpu_job(job: Job, spec: StoreSpec) -> Result:
    """Runs in a Ray worker: one job into the store."""
    from filmlang.exec.executor import run_job
    from filmlang.exec.heap import bound_heap

    bound_heap()
    node, pid = _where()
    ctx = Context(_worker_store(spec), registry().runner, threading.Event())
    try:
        seconds = run_job(job, ctx)
    except JobFailed as exc:
        return "failed", exc.message, 0.0, node, pid
    except Exception as exc:  # a bug in a backend: reported at its line by the driver
        return "failed", f"{type(exc).__name__}: {exc}", 0.0, node, pid
    return "ok", "", seconds, node, pid


@dataclass(frozen=True, eq=False)
class _Held:
    """A chunk handed over for an actor and not yet sent: its call (backend, kind and the
    group that shares a pipeline call), jobs and futures."""

    call: tuple[str, str, Any]
    jobs: list[Job]
    futures: dict[str, Future[Outcome]]


class GpuWorker:
    """A Ray actor holding one loaded pipeline (in its process's session) that runs the
    batches the driver sends it."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec

    def run(self, backend: str, kind: str, jobs: list[Job]) -> list[tuple[str, Result]]:
        """The batch, each job committed to the store as it is made. `ray.cancel` of this
        call (the driver's build stops) ends it at its next diffusion step or item: what
        was finished is committed whole and reported; the rest says 'cancelled'."""
        import ray

        batcher: Batcher = registry().get(backend).batchers()[kind]
        node, pid = _where()
        ctx = Context(_worker_store(self.spec), registry().runner, threading.Event(),
                      stopped=ray.get_runtime_context().is_canceled)
        pending: dict[str, Future[Outcome]] = {job.key: Future() for job in jobs}
        run_settled(batcher, jobs, 0, ctx, pending)
        out: list[tuple[str, Result]] = []
        for key, future in pending.items():
            error = future.exception()
            if error is None:
                out.append((key, ("ok", "", future.result().seconds, node, pid)))
            elif isinstance(error, Cancelled):
                out.append((key, ("cancelled", "", 0.0, node, pid)))
            else:
                message = error.message if isinstance(error, JobFailed) \
                    else f"{type(error).__name__}: {error}"
                out.append((key, ("failed", message, 0.0, node, pid)))
        return out


def connect() -> Any:
    """Ray, connected: to $RAY_ADDRESS when set, else to a local instance on 127.0.0.1."""
    try:
        import ray
    except ImportError:
        raise ClusterError("--cluster ray needs Ray: pip install 'filmlang[ray]'") from None
    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS") or None
    host = (address or "").split("://")[-1].split(":")[0]
    # The driver's filmc settings (FILMC_*: models, test hooks, logs) reach the workers.
    env = {name: value for name, value in os.environ.items()
           if name.startswith("FILMC_") or name in FORWARDED}
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING",
                               "configure_logging": True,
                               "runtime_env": {"env_vars": env}}
    if address is None or host in ("127.0.0.1", "localhost"):
        options["_node_ip_address"] = "127.0.0.1"
    if address is None:
        options["include_dashboard"] = False
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at RAY_ADDRESS={address}" if address else "a local Ray"
        raise ClusterError(f"cannot start or reach {where}: {exc} (start one with "
                           "`ray start --head`, or unset RAY_ADDRESS)") from None
    return ray


class RayExecutor:
    """CPU jobs as Ray tasks, batched GPU jobs on Ray actors."""

    name = "ray"

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self.ray = connect()
        self.batchers: dict[tuple[str, str], Batcher] = {
            (backend.name, kind): batcher for backend in registry()
            for kind, batcher in backend.batchers().items()}
        self._ctx: Context | None = None
        self._refs: dict[Future[Outcome], Any] = {}
        self._batch_refs: dict[int, Any] = {}
        """The actor calls in flight, by id: what `stop_batches` cancels."""
        self._gpu_futures: set[Future[Outcome]] = set()
        self._actors: list[Any] = []
        self._load: list[int] = []
        self._in_flight: list[int] = []
        self._held: list[list[_Held]] = []
        """Per actor, the chunks handed over and not yet sent (it had `IN_FLIGHT` calls)."""
        self._last: list[Any] = []
        """The group each actor ran last: its pipeline is loaded (model affinity)."""
        self._widest = 1.0
        self._lock = threading.Lock()
        self._task = self.ray.remote(max_retries=TASK_RETRIES)(cpu_job)
        self._slots = 1
        self._stopping = False

    # ------------------------------------------------------------- the cluster

    def resources(self) -> Resources:
        total = self.ray.cluster_resources()
        resource = os.environ.get(GPU_RESOURCE_ENV) or "GPU"
        alive = [node for node in self.ray.nodes() if node.get("Alive")]
        nodes = len(alive)
        self._widest = max([float(node.get("Resources", {}).get("CPU", 1)) for node in alive]
                           or [1.0])
        return Resources(cpus=max(1, int(total.get("CPU", 1))),
                         gpus=int(total.get(resource, 0)), nodes=max(1, nodes), name="ray")

    def _start_actors(self) -> None:
        if self._actors:
            return
        found = self.resources()
        resource = os.environ.get(GPU_RESOURCE_ENV)
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 2, "max_task_retries": 2}
        if found.gpus and resource:
            options["resources"] = {resource: 1}
        elif found.gpus:
            options["num_gpus"] = 1
        actor = self.ray.remote(GpuWorker).options(**options)
        self._actors = [actor.remote(self.spec) for _ in range(max(1, found.gpus))]
        self._load = [0] * len(self._actors)
        self._last = [None] * len(self._actors)
        self._in_flight = [0] * len(self._actors)
        self._held = [[] for _ in self._actors]

    # ------------------------------------------------------------- a run

    def open(self, ctx: Context) -> None:
        self._ctx = ctx
        self._slots = self.resources().cpus

    def slots(self) -> int:
        return max(1, self._slots - len(self._actors))

    def submit(self, job: Job) -> Future[Outcome]:
        needs = min(CPU_NEEDS.get(job.kind, 1.0), self._widest)  # never more than a node has
        ref = self._task.options(num_cpus=needs).remote(job, self.spec)
        future: Future[Outcome] = Future()
        self._refs[future] = ref
        ref.future().add_done_callback(lambda done: self._resolve(job, future, done))
        return future

    def _resolve(self, job: Job, future: Future[Outcome], done: Future[Any]) -> None:
        self._refs.pop(future, None)
        try:
            status, message, seconds, node, pid = done.result()
        except Exception as exc:
            cancelled = self._ctx is not None and self._ctx.cancel.is_set()
            future.set_exception(Cancelled() if cancelled else JobFailed(
                job, f"the Ray task failed: {type(exc).__name__}: {exc}"))
            return
        if status != "ok":
            future.set_exception(JobFailed(job, message))
        else:
            future.set_result(Outcome(seconds, node, pid))

    def submit_batched(self, jobs: list[Job]) -> list[tuple[Job, Future[Outcome]]]:
        groups = group_batches(self.batchers, jobs)
        if not groups:
            return []
        self._start_actors()
        out: list[tuple[Job, Future[Outcome]]] = []
        for ((backend, kind), group), members in groups.items():
            for start in range(0, len(members), CHUNK):
                chunk = members[start:start + CHUNK]
                futures = {job.key: Future[Outcome]() for job in chunk}
                for job in chunk:
                    self._gpu_futures.add(futures[job.key])
                    out.append((job, futures[job.key]))
                with self._lock:
                    # the least loaded actor, and of those one with this group's model loaded
                    lane = min(range(len(self._actors)),
                               key=lambda n: (self._load[n], self._last[n] != group))
                    self._load[lane] += len(chunk)
                    self._last[lane] = group
                    self._held[lane].append(_Held((backend, kind, group), chunk, futures))
                self._pump(lane)
        return out

    def _pump(self, lane: int) -> None:
        """Send an actor its next calls, while it has fewer than `IN_FLIGHT`: each the first
        held chunk with the later held chunks of its group (at most `CHUNK` jobs), so that
        jobs handed over one by one while the actor is busy share a call."""
        while True:
            with self._lock:
                if self._stopping or self._in_flight[lane] >= IN_FLIGHT \
                        or not self._held[lane]:
                    return
                first = self._held[lane].pop(0)
                taken = [first]
                size = len(first.jobs)
                for held in list(self._held[lane]):
                    if held.call == first.call and size + len(held.jobs) <= CHUNK:
                        taken.append(held)
                        size += len(held.jobs)
                        self._held[lane].remove(held)
                self._in_flight[lane] += 1
            chunk = [job for held in taken for job in held.jobs]
            futures = {key: f for held in taken for key, f in held.futures.items()}
            backend, kind, _ = first.call
            ref = self._actors[lane].run.remote(backend, kind, chunk)
            ident = id(ref)
            with self._lock:
                self._batch_refs[ident] = ref
            ref.future().add_done_callback(
                lambda done, c=chunk, f=futures, n=lane, r=ident:
                self._resolve_batch(c, f, n, r, done))

    def _resolve_batch(self, chunk: list[Job], futures: dict[str, Future[Outcome]], lane: int,
                       ref: int, done: Future[Any]) -> None:
        with self._lock:
            self._load[lane] -= len(chunk)
            self._in_flight[lane] -= 1
            self._batch_refs.pop(ref, None)
        self._pump(lane)
        try:
            results = dict(done.result())
        except Exception as exc:
            for job in chunk:
                futures[job.key].set_exception(Cancelled() if self._stopping else JobFailed(
                    job, f"the GPU worker failed: {type(exc).__name__}: {exc}"))
            return
        for job in chunk:
            status, message, seconds, node, pid = results[job.key]
            if status == "ok":
                futures[job.key].set_result(Outcome(seconds, node, pid))
            elif status == "cancelled":
                futures[job.key].set_exception(Cancelled())
            else:
                futures[job.key].set_exception(JobFailed(job, message))

    def batched(self, futures: Iterable[Future[Outcome]]) -> int:
        return sum(1 for future in futures if future in self._gpu_futures)

    def cancel(self) -> None:
        for ref in list(self._refs.values()):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished
                continue
        self.stop_batches()

    def stop_batches(self) -> None:
        """Cancel the actor calls in flight: Ray sets their cancellation flag, which the
        actor checks between diffusion steps and items (`GpuWorker.run`), so each ends
        within a step, keeping its actor and its loaded pipeline."""
        self._stopping = True
        with self._lock:
            refs = list(self._batch_refs.values())
            held = [h for lane in self._held for h in lane]
            for lane in self._held:
                lane.clear()
        for chunk in held:
            for future in chunk.futures.values():
                future.set_exception(Cancelled())
        for ref in refs:
            try:
                self.ray.cancel(ref, force=False, recursive=False)
            except Exception:  # already finished
                continue

    def close(self) -> None:
        deadline = time.monotonic() + 1.0
        while self._refs and time.monotonic() < deadline and self._ctx is not None \
                and self._ctx.cancel.is_set():
            time.sleep(0.05)

    def shutdown(self) -> None:
        for actor in self._actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                continue
        self._actors = []
        self.ray.shutdown()


def plan_workers() -> Workers:
    """What `filmc plan --cluster ray` estimates on: the CPUs and GPUs of the cluster a
    build would use (connects, then disconnects)."""
    executor = RayExecutor(StoreSpec(""))
    try:
        found = executor.resources()
    finally:
        executor.shutdown()
    return Workers(found.cpus, found.gpus, found.nodes, "the Ray cluster")
