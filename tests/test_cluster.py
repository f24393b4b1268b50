"""`filmc build --cluster ray` on a real two-node Ray cluster on 127.0.0.1, started by the
tests (`tests/ray_cluster.py`) once for the module and stopped by its process ids.

Each build is a `filmc` process (the driver), so that a driver can be killed like a user's;
jobs run in Ray's worker processes, which the jsonl log names."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'filmlang[ray]')")

from ray_cluster import Cluster, two_nodes
from test_build import framemd5

from conftest import TINY_FILM, processes
from filmlang.build import build
from filmlang.cache.remote import Remote

FILMC = [sys.executable, "-m", "filmlang.cli"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with two_nodes() as started:
        yield started
    assert not started.pids(), "a Ray process of the test's cluster is still running"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The tiny film built here, without Ray: what every cluster build must equal."""
    folder = tmp_path_factory.mktemp("local")
    film = folder / "tiny.film"
    film.write_text(TINY_FILM, encoding="utf-8")
    result = build(film, jobs=2, cache=folder / "cache")
    assert result.ok and result.output is not None
    return film, framemd5(result.output)


def start_build(film: Path, cache: Path, out: Path, env: dict[str, str], *extra: str
                ) -> subprocess.Popen[str]:
    return subprocess.Popen([*FILMC, "build", str(film), "--cache", str(cache), "-o", str(out),
                             "--cluster", "ray", "--log-format", "jsonl", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> list[dict[str, Any]]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def ran(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "job" and e["status"] == "ran"]


def copy_film(reference: tuple[Path, list[str]], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    film = folder / "tiny.film"
    shutil.copyfile(reference[0], film)
    return film


def test_a_film_built_on_ray_is_identical_and_its_jobs_ran_in_workers(
        cluster: Cluster, reference: tuple[Path, list[str]], tmp_path: Path) -> None:
    film = copy_film(reference, tmp_path)
    proc = start_build(film, tmp_path / "cache", tmp_path / "out.mp4", cluster.env())
    events = finish(proc)
    jobs = ran(events)
    assert len(jobs) >= 15
    assert all(e["worker"] and e["worker"] != proc.pid and e["node"] for e in jobs)
    assert len({e["worker"] for e in jobs}) >= 2  # several worker processes
    assert framemd5(tmp_path / "out.mp4") == reference[1]
    # the cache's log says the same, and every job's cost was recorded
    log = [json.loads(line) for line in (tmp_path / "cache" / "log.jsonl").read_text()
           .splitlines()]
    assert {e["worker"] for e in log if e["status"] == "ran"} == {e["worker"] for e in jobs}
    assert (tmp_path / "cache" / "costs.json").is_file()


def test_a_worker_killed_mid_build_is_retried_and_the_film_is_identical(
        cluster: Cluster, reference: tuple[Path, list[str]], tmp_path: Path) -> None:
    film = copy_film(reference, tmp_path)
    proc = start_build(film, tmp_path / "cache", tmp_path / "out.mp4", cluster.env())
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        for pid, name, _, sid in processes():
            if sid in cluster.sessions() and name.startswith("ray::cpu_job"):
                os.kill(pid, signal.SIGKILL)
                killed = pid
                break
        time.sleep(0.02)
    assert killed is not None, "no job was seen running in a worker"
    events = finish(proc)
    assert all(e["status"] != "failed" for e in events if e.get("event") == "job")
    assert killed not in {e["worker"] for e in ran(events)}
    assert framemd5(tmp_path / "out.mp4") == reference[1]


def test_a_rebuild_after_the_driver_was_killed_reuses_the_shared_cache(
        cluster: Cluster, reference: tuple[Path, list[str]], tmp_path: Path) -> None:
    film = copy_film(reference, tmp_path)
    shared = tmp_path / "shared"
    remote = Remote(str(shared))
    proc = start_build(film, tmp_path / "cache1", tmp_path / "out.mp4", cluster.env(),
                       "--cache-remote", str(shared))
    deadline = time.monotonic() + 120
    while len(remote.keys()) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    time.sleep(2.0)  # what the workers were finishing lands; then nothing more
    before = set(remote.keys())
    assert len(before) >= 6

    again = start_build(film, tmp_path / "cache2", tmp_path / "out.mp4", cluster.env(),
                        "--cache-remote", str(shared))
    events = finish(again)
    assert not {e["key"] for e in ran(events)} & before
    assert framemd5(tmp_path / "out.mp4") == reference[1]


def test_tiny_diffusers_stills_run_batched_in_a_gpu_type_actor(
        cluster: Cluster, tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="torch is not installed")
    pytest.importorskip("diffusers", reason="diffusers is not installed")
    from test_diffusers import FILM, make_tiny_model

    shutil.copytree(make_tiny_model(tmp_path / "tiny"), tmp_path / "model")
    film = tmp_path / "gen.film"
    film.write_text(FILM, encoding="utf-8")
    log = tmp_path / "diffusers.jsonl"
    # the driver's FILMC_* settings reach the actor: a call of more than 2 images runs out
    # of (simulated) memory there, and the actor halves its batch
    proc = start_build(film, tmp_path / "cache", tmp_path / "out.mp4",
                       cluster.env(FILMC_DIFFUSERS_LOG=str(log), HF_HUB_OFFLINE="1",
                                   FILMC_SIMULATE_OOM="2"))
    events = finish(proc, timeout=400)
    stills = [e for e in ran(events) if e["kind"] == "still"]
    assert len(stills) == 5
    # one actor (the cluster's one GPU-type resource) made them all, not the driver
    assert len({(e["node"], e["worker"]) for e in stills}) == 1
    assert stills[0]["worker"] != proc.pid
    others = {e["worker"] for e in ran(events) if e["kind"] != "still"}
    assert stills[0]["worker"] not in others
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["batch"] for c in calls if c["event"] == "oom"] == [4]
    assert sorted(c["batch"] for c in calls if c["event"] == "call") == [1, 2, 2]
    assert [c["device"] for c in calls if c["event"] == "load"] == ["cpu"]


def test_a_cancelled_build_stops_the_batch_running_in_its_gpu_actor(
        cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build is this process (a driver, as watch mode's builds are), cancelled while
    its actor samples a batch of stills that takes far longer than the bound."""
    pytest.importorskip("torch", reason="torch is not installed")
    pytest.importorskip("diffusers", reason="diffusers is not installed")
    from test_diffusers import FILM, make_tiny_model

    from filmlang.build import BuildResult
    from filmlang.cache.store import Store

    steps = 900
    model = shutil.copytree(make_tiny_model(tmp_path / "tiny"), tmp_path / "model")
    (model / "filmlang.json").write_text(json.dumps({"steps": steps, "guidance": 5.0}))
    film = tmp_path / "gen.film"
    film.write_text(FILM, encoding="utf-8")
    log = tmp_path / "diffusers.jsonl"
    for name, value in cluster.env(FILMC_DIFFUSERS_LOG=str(log), HF_HUB_OFFLINE="1").items():
        if name.startswith(("RAY_", "FILMC_", "HF_")):
            monkeypatch.setenv(name, value)

    def events() -> list[dict[str, Any]]:
        return [json.loads(line) for line in log.read_text().splitlines()] \
            if log.is_file() else []

    cancel = threading.Event()
    results: list[BuildResult] = []
    builder = threading.Thread(target=lambda: results.append(build(
        film, cache=tmp_path / "cache", jobs=2, cluster="ray", cancel=cancel)))
    builder.start()
    deadline = time.monotonic() + 180
    while not any(e["event"] == "load" for e in events()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(e["event"] == "load" for e in events()), "the actor never loaded the model"
    time.sleep(2.0)  # well into the first call's steps
    cancelled_at = time.time()
    cancel.set()
    builder.join(timeout=120)
    assert not builder.is_alive()
    returned = time.time() - cancelled_at
    assert results and results[0].cancelled and results[0].output is None
    # The actor stopped its call itself, at a step, soon after the cancel: no call ran
    # to its end (one would take hundreds of steps more).
    stopped = [e for e in events() if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] < steps - 100
    assert stopped[0]["time"] - cancelled_at < 5.0 and returned < 15.0
    assert stopped[0]["pid"] != os.getpid()
    assert not [e for e in events() if e["event"] == "call"]
    # Nothing of the batch is in the cache: no still, whole or partial, and every object
    # there (the CPU jobs that finished) verifies.
    store = Store(tmp_path / "cache")
    objects = [folder.name for folder in store.objects.glob("*/*")]
    assert all(store.lookup(key).ok for key in objects)
    assert not [key for key in objects if (store.path(key) / "still.png").exists()]
    assert not list(store.tmp.glob("*")) if store.tmp.is_dir() else True


def test_stills_handed_over_one_by_one_to_a_busy_actor_share_a_call(
        cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ray executor driven here as the scheduler drives it: five stills handed over
    one at a time, as they become ready. The actor gets two calls at once; the three held
    meanwhile go as one call."""
    pytest.importorskip("torch", reason="torch is not installed")
    pytest.importorskip("diffusers", reason="diffusers is not installed")
    from test_diffusers import FILM, make_tiny_model

    from filmlang.api import check_file
    from filmlang.backends.diffusers.check import configure
    from filmlang.build import runners
    from filmlang.cache.store import Store
    from filmlang.config import BuildConfig
    from filmlang.exec.context import Context
    from filmlang.exec.ray_executor import RayExecutor, StoreSpec
    from filmlang.plan.planner import plan_sources

    shutil.copytree(make_tiny_model(tmp_path / "tiny"), tmp_path / "model")
    film = tmp_path / "gen.film"
    film.write_text(FILM, encoding="utf-8")
    log = tmp_path / "diffusers.jsonl"
    for name, value in cluster.env(FILMC_DIFFUSERS_LOG=str(log), HF_HUB_OFFLINE="1").items():
        if name.startswith(("RAY_", "FILMC_", "HF_")):
            monkeypatch.setenv(name, value)
    checked = check_file(film)
    assert checked.film is not None
    sources = plan_sources(checked.film, configure(checked.film, BuildConfig(), film))
    stills = [sources.graph.jobs[key] for key in sources.stills.values()]
    store = Store(tmp_path / "cache")
    store.ensure()
    executor = RayExecutor(StoreSpec(str(store.root)))
    try:
        executor.open(Context(store, runners(), threading.Event()))
        futures = [future for still in stills for _, future in executor.submit_batched([still])]
        outcomes = [future.result(timeout=300) for future in futures]
    finally:
        executor.shutdown()
    assert len(outcomes) == 5 and all(store.lookup(still.key).ok for still in stills)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["batch"] for c in calls if c["event"] == "call"] == [1, 1, 3]
    assert len({o.worker for o in outcomes}) == 1 and outcomes[0].worker != os.getpid()


def test_plan_estimates_on_the_clusters_resources(cluster: Cluster, tmp_path: Path) -> None:
    film = tmp_path / "tiny.film"
    film.write_text(TINY_FILM, encoding="utf-8")
    done = subprocess.run([*FILMC, "plan", str(film), "--json", "--cluster", "ray"],
                          capture_output=True, text=True, env=cluster.env(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads(done.stdout)
    assert plan["workers"] == {"cpus": 4, "gpus": 1, "nodes": 2, "name": "the Ray cluster"}
    local = subprocess.run([*FILMC, "plan", str(film), "--json", "-j", "1"],
                           capture_output=True, text=True, check=True)
    # the same work, spread over four CPUs rather than one
    assert plan["cpu_seconds"] == json.loads(local.stdout)["cpu_seconds"]
    assert plan["wall_seconds"] < json.loads(local.stdout)["wall_seconds"]
