"""What a run of jobs shares between the scheduler, the executors and the GPU pool: the
`Context` a run is given, and the `Outcome` of a job (its seconds, and where it ran)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from filmlang.cache.store import Store
from filmlang.jobs import Job, Runner

NODE = socket.gethostname()



@dataclass(frozen=True)
class Outcome:
    """How a job that ran to its end went: its seconds, and where it ran."""

    seconds: float
    node: str = NODE
    worker: int = 0
    """The process id of the worker that ran it."""


@dataclass
class Context:
    """What an executor is given for one run: the store, how each job is done, and the
    build's cancel token (with what stops running children). `halt` is set when the build
    stops for any reason (cancelled, or a job failed): batched GPU work then stops between
    items and diffusion steps, rather than sampling on for a build that will not use it;
    `stopped` is a further such check (a Ray actor's: its task was cancelled)."""

    store: Store
    runners: Callable[[Job], Runner | None]
    cancel: threading.Event
    on_cancel: Callable[[], object] | None = None
    halt: threading.Event = field(default_factory=threading.Event)
    stopped: Callable[[], bool] | None = None

    def stopping(self) -> bool:
        """Batched work should stop: cancelled, halted, or told so by its host."""
        return self.cancel.is_set() or self.halt.is_set() or (
            self.stopped is not None and self.stopped())
