"""The order of ready jobs, and what a graph should take on given workers.

`priorities(jobs, cost, on_gpu)`: each job's rank is its share of the critical path: its
own seconds plus the longest chain of seconds through the jobs that use it (its "bottom
level", as list schedulers call it), with GPU seconds counted `GPU_WEIGHT` times, since
the GPU is the scarce resource: a still that four segments and the video wait for starts
before a line of speech that only the mix waits for, and the work that feeds the GPU
comes first. The scheduler (`exec/scheduler.py`) starts ready jobs in this order.

`take(ready, busy, slots, free)`: which of the ready jobs, in that order, start on the
free CPU slots. Two rules mix the kinds of work, so that the encoder, which a cold build
waits on, is busy from its first segment to its last while the rest goes on beside it:
an encode (`ENCODES`: its frames go to an x264 child) starts first whenever none runs,
and no kind takes more than half the slots (rounded up) while a job of another kind
waits. On two cores: speech beside the stills, then one segment after another beside the
sound's chain (music, piece, levels, chunk), rather than the sound after every segment
(docs/performance.md, issue 13).

`simulate(...)`: replays a graph with known costs on `cpus` CPU and `gpus` GPU workers
with the same order (the scheduler's own list scheduling), and gives the makespan: the
expected wall time of `filmc plan` and the replays of `bench/cluster_sim.py`. Jobs of the
second planning phase wait for the speech (the build solves the timeline once the lines
are spoken; the stills go on meanwhile).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from filmlang.jobs import Job

GPU_WEIGHT = 4.0
"""How much more a GPU second weighs than a CPU second in the ranks."""


def priorities(jobs: Mapping[str, Job], cost: Callable[[Job], float],
               on_gpu: Callable[[Job], bool]) -> dict[str, float]:
    """Each job's weighted bottom level. `jobs` lists inputs before the jobs using them
    (as the planner and the scheduler's demand order give them)."""
    users: dict[str, list[str]] = {key: [] for key in jobs}
    for key, job in jobs.items():
        for dep in job.inputs:
            if dep in users:
                users[dep].append(key)
    rank: dict[str, float] = {}
    for key in reversed(list(jobs)):
        job = jobs[key]
        own = cost(job) * (GPU_WEIGHT if on_gpu(job) else 1.0)
        rank[key] = own + max((rank[user] for user in users[key]), default=0.0)
    return rank


ENCODES = frozenset({"segment", "transition"})
"""Kinds of job that feed an encoder child process with frames."""


def take(ready: Sequence[Job], busy: Mapping[str, int], slots: int, free: int) -> list[Job]:
    """The jobs of `ready` (most urgent first) to start on `free` of `slots` CPU slots,
    while the kinds `busy` counts run: an encode first when none runs, then the most
    urgent whose kind is on fewer than half the slots (rounded up), else the most urgent."""
    running = Counter(busy)
    left = list(ready)
    cap = max(1, -(-slots // 2))
    out: list[Job] = []
    while free > 0 and left:
        pick = None
        if not any(running[kind] for kind in ENCODES):
            pick = next((job for job in left if job.kind in ENCODES), None)
        if pick is None:
            pick = next((job for job in left if running[job.kind] < cap), left[0])
        left.remove(pick)
        out.append(pick)
        running[pick.kind] += 1
        free -= 1
    return out


@dataclass(frozen=True)
class Simulation:
    makespan: float
    cpu_seconds: float
    gpu_seconds: float


def simulate(jobs: Mapping[str, Job], cost: Callable[[Job], float],
             on_gpu: Callable[[Job], bool], *, cpus: int, gpus: int,
             phase_one: set[str] | frozenset[str] = frozenset(),
             early: set[str] | frozenset[str] = frozenset()) -> Simulation:
    """List-schedule `jobs` (inputs first) on `cpus` + `gpus` workers in rank order; GPU
    jobs on CPUs where there is no GPU. Jobs outside `phase_one` wait for all of it, but
    for those in `early`: planned in phase one, started beside it (the stills)."""
    cpus, gpus = max(1, cpus), max(0, gpus)
    rank = priorities(jobs, cost, on_gpu)
    waiting = {key: {d for d in job.inputs if d in jobs} for key, job in jobs.items()}
    barrier = {key for key in jobs if key in phase_one}
    if barrier:
        for key in jobs:
            if key not in barrier and key not in early:
                waiting[key] |= barrier
    users: dict[str, list[str]] = {key: [] for key in jobs}
    for key, deps in waiting.items():
        for dep in deps:
            users[dep].append(key)
    lane_of = {key: "gpu" if gpus and on_gpu(job) else "cpu" for key, job in jobs.items()}
    free = {"cpu": cpus, "gpu": gpus}
    ready: dict[str, list[tuple[float, str]]] = {"cpu": [], "gpu": []}
    for key, deps in waiting.items():
        if not deps:
            heapq.heappush(ready[lane_of[key]], (-rank[key], key))
    events: list[tuple[float, str]] = []
    now = 0.0
    spent = {"cpu": 0.0, "gpu": 0.0}
    busy: Counter[str] = Counter()
    while True:
        for lane, queue in ready.items():
            order = [jobs[key] for _, key in sorted(queue)]
            started = take(order, busy, cpus, free[lane]) if lane == "cpu" else \
                order[:free[lane]]
            for job in started:
                queue.remove((-rank[job.key], job.key))
                free[lane] -= 1
                busy[job.kind] += lane == "cpu"
                seconds = cost(job)
                spent[lane] += seconds
                heapq.heappush(events, (now + seconds, job.key))
            heapq.heapify(queue)
        if not events:
            break
        now, key = heapq.heappop(events)
        free[lane_of[key]] += 1
        busy[jobs[key].kind] -= lane_of[key] == "cpu"
        for user in users[key]:
            waiting[user].discard(key)
            if not waiting[user]:
                heapq.heappush(ready[lane_of[user]], (-rank[user], user))
    return Simulation(now, spent["cpu"], spent["gpu"])
