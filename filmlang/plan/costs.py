"""What a job should cost: seconds estimated from the cache's measured records.

`Estimator.cost(job)` looks in the cache's records (`cache/costs.py`, added to by every
job that runs) for, in order:

1. the same backend, kind, model and size: its mean;
2. the same backend, kind and model at the nearest size, scaled by size (the work of a
   segment grows with its frames, of a still with its pixels and steps);
3. the same backend and kind with another model, nearest size, scaled;
4. otherwise the documented default of `DEFAULTS` (seconds per unit of size, plus a fixed
   part), measured on a 2-core machine for the CPU backends and on an H200 for generated
   stills (docs/performance.md).

`on_gpu(job)`: whether a job runs on a GPU lane (its backend batches its kind), which the
schedule treats as the scarce resource and `filmc plan` counts as GPU-seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from filmlang.backends.registry import registry
from filmlang.cache.costs import CostBook, cost_key
from filmlang.jobs import Job

DEFAULTS: dict[str, tuple[float, float]] = {
    # kind: (seconds per unit of size, fixed seconds); sizes in cache/costs.py `cost_key`.
    "speech": (0.012, 0.15),       # per character of text
    "still": (0.35, 0.02),         # per megapixel (drawn: one step)
    "still@gpu": (0.047, 0.0),     # per megapixel-step, batched on an H200 (0.246 s at 512^2x20)
    "clip@gpu": (0.02, 0.5),       # per frame-megapixel-step
    "sound": (0.02, 0.05),         # per input
    "music": (0.02, 0.1),          # per second of music
    "ambience": (0.01, 0.05),      # per second
    "segment": (0.012, 0.15),      # per frame-megapixel, two at a time (x264 veryfast)
    "transition": (0.024, 0.15),   # per frame-megapixel (two pictures blended)
    "piece": (0.1, 0.5),           # per input: a scene's sounds mixed
    "levels": (0.5, 1.0),          # per input: the pieces' energies
    "chunk": (0.5, 0.5),           # per input (the levels and a piece): its AAC
    "mix": (0.03, 0.3),            # per input: the chunks joined
    "mux": (0.02, 0.4),            # per input: the mix and each segment joined
}
FALLBACK = (0.0, 0.5)


def default_cost(job: Job, gpu: bool = False) -> float:
    """The documented default: `DEFAULTS[KIND@gpu]` for a job on a GPU lane, else
    `DEFAULTS[KIND]`."""
    _, kind, _, size = cost_key(job)
    per, fixed = DEFAULTS.get(f"{kind}@gpu" if gpu else kind, DEFAULTS.get(kind, FALLBACK))
    return per * size + fixed


def _scaled(sizes: dict[float, float], size: float) -> float | None:
    if not sizes:
        return None
    if size in sizes:
        return sizes[size]
    nearest = min(sizes, key=lambda known: abs(known - size))
    if nearest <= 0:
        return sizes[nearest]
    return sizes[nearest] * size / nearest


class Estimator:
    """Seconds per job from the cost records (or the defaults), and where it runs."""

    def __init__(self, book: CostBook | None,
                 gpu_kinds: Callable[[Job], bool] | None = None) -> None:
        self.book = book
        self._gpu = gpu_kinds
        self._memo: dict[str, float] = {}

    def cost(self, job: Job) -> float:
        seen = self._memo.get(job.key)
        if seen is not None:
            return seen
        value = self._measured(job)
        seconds = default_cost(job, self.on_gpu(job)) if value is None else value
        self._memo[job.key] = seconds
        return seconds

    def measured(self, job: Job) -> bool:
        """Whether a record (exact or near) exists for this job's backend and kind."""
        return self._measured(job) is not None

    def _measured(self, job: Job) -> float | None:
        if self.book is None:
            return None
        backend, kind, model, size = cost_key(job)
        same = _scaled(self.book.sizes(backend, kind, model), size)
        if same is not None:
            return same
        others: dict[float, float] = {}
        for other in self.book.models(backend, kind):
            others.update(self.book.sizes(backend, kind, other))
        return _scaled(others, size)

    def on_gpu(self, job: Job) -> bool:
        if self._gpu is None:
            found = registry()
            batchers = {(backend.name, kind): batcher for backend in found
                        for kind, batcher in backend.batchers().items()}

            def gpu(job: Job) -> bool:
                batcher = batchers.get((job.backend_name, job.kind))
                return batcher is not None and batcher.accepts(job)

            self._gpu = gpu
        return self._gpu(job)
