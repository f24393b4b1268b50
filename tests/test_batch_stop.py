"""A GPU batch stops when its build stops, on this machine's GPU pool: cancelled, or a CPU
job failed. The tiny Stable Diffusion of test_diffusers, sampled in 900 steps so that a
call lasts far longer than the bounds, on the CPU through the real scheduler."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmlang import session

pytest.importorskip("torch", reason="torch is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("diffusers", reason="diffusers is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("transformers", reason="transformers is not installed")

from test_diffusers import FILM, make_tiny_model, read_events

from filmlang.cache.store import Store
from filmlang.config import BuildConfig
from filmlang.jobs import Job, JobFailed

STEPS = 900


@pytest.fixture
def slow_film(tmp_path: Path) -> Path:
    model = shutil.copytree(make_tiny_model(tmp_path / "tiny"), tmp_path / "model")
    (model / "filmlang.json").write_text(json.dumps({"steps": STEPS, "guidance": 5.0}))
    film = tmp_path / "gen.film"
    film.write_text(FILM, encoding="utf-8")
    return film


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "diffusers.jsonl"
    monkeypatch.setenv("FILMC_DIFFUSERS_LOG", str(log))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with session.Session("test") as own, session.active(own):
        yield log


def stills_scheduler(film: Path, cache: Path, cancel: threading.Event | None = None,
                     extra: Job | None = None, after: float = 0.0) -> tuple[Any, Any, Store]:
    """The scheduler and GPU pool of a build, with the film's stills to make (and `extra`,
    a CPU job that fails `after` seconds in)."""
    from filmlang.api import check_file
    from filmlang.backends.diffusers.check import configure
    from filmlang.build import gpu_pool, runners
    from filmlang.exec.scheduler import Scheduler
    from filmlang.plan.planner import plan_sources

    checked = check_file(film)
    assert checked.film is not None
    sources = plan_sources(checked.film, configure(checked.film, BuildConfig(), film))
    store = Store(cache)
    store.ensure()
    base = runners()

    def fail(job: Job, out: Path, store: Any) -> None:
        time.sleep(after)
        raise JobFailed(job, "this job fails")

    scheduler = Scheduler(store, lambda job: fail if job.kind == "boom" else base(job),
                          workers=2, gpu=gpu_pool(), cancel=cancel)
    jobs = dict(sources.graph.jobs)
    targets = list(sources.stills.values())
    if extra is not None:
        jobs[extra.key] = extra
        targets.append(extra.key)
    return scheduler, (jobs, targets), store


def no_stills(store: Store) -> None:
    objects = [folder.name for folder in store.objects.glob("*/*")]
    assert all(store.lookup(key).ok for key in objects)
    assert not [key for key in objects if (store.path(key) / "still.png").exists()]


def test_a_cancelled_build_stops_its_batch_at_a_step(slow_film: Path, events: Path,
                                                     tmp_path: Path) -> None:
    cancel = threading.Event()
    scheduler, (jobs, targets), store = stills_scheduler(slow_film, tmp_path / "cache", cancel)
    reports: list[Any] = []
    runner = threading.Thread(target=lambda: reports.append(scheduler.run(jobs, targets)))
    runner.start()
    deadline = time.monotonic() + 120
    while not any(e["event"] == "load" for e in read_events(events)) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    cancelled_at = time.time()
    cancel.set()
    runner.join(timeout=60)
    assert not runner.is_alive() and reports[0].cancelled and not reports[0].failures
    stopped = [e for e in read_events(events) if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] < STEPS - 100
    assert stopped[0]["time"] - cancelled_at < 3.0 and time.time() - cancelled_at < 10.0
    assert not [e for e in read_events(events) if e["event"] == "call"]
    no_stills(store)


def test_a_failed_cpu_job_stops_the_batch(slow_film: Path, events: Path,
                                          tmp_path: Path) -> None:
    boom = Job(kind="boom", backend="test@1", params={}, label="boom")
    scheduler, (jobs, targets), store = stills_scheduler(
        slow_film, tmp_path / "cache", extra=boom, after=3.0)
    began = time.time()
    report = scheduler.run(jobs, targets)
    assert [f.message for f in report.failures] == ["this job fails"]
    stopped = [e for e in read_events(events) if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] < STEPS - 100
    assert stopped[0]["time"] - began < 15.0
    assert not [e for e in read_events(events) if e["event"] == "call"]
    no_stills(store)


def test_ctrl_c_stops_the_batch_and_filmc_exits(slow_film: Path, tmp_path: Path) -> None:
    """`filmc build` as a user runs it, interrupted (SIGINT, as Ctrl-C sends) while its
    stills sample: the lane stops at a step and the process exits, not after the batch."""
    import os
    import signal
    import subprocess
    import sys

    log = tmp_path / "diffusers.jsonl"
    env = {**os.environ, "FILMC_DIFFUSERS_LOG": str(log), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", "build", str(slow_film),
                             "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "o.mp4")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(e["event"] == "load" for e in read_events(log)) \
                and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)
        interrupted_at = time.time()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert time.time() - interrupted_at < 15.0
    stopped = [e for e in read_events(log) if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] < STEPS - 100
    assert not [e for e in read_events(log) if e["event"] == "call"]
    no_stills(Store(tmp_path / "cache"))
