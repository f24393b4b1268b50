"""Generated clips batched: several clips of one model, size and length in one call of the
video pipeline, with the tiny random Stable Video Diffusion of test_diffusers (built here,
saved, loaded back through the backend's own loading path, offline, on the CPU)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmlang import session

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("diffusers", reason="diffusers is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("transformers", reason="transformers is not installed")

from test_diffusers import make_tiny_svd, read_events  # noqa: E402

from filmlang.backends.diffusers import clips  # noqa: E402
from filmlang.backends.diffusers.models import VERSION  # noqa: E402
from filmlang.cache.store import Store  # noqa: E402
from filmlang.jobs import Job  # noqa: E402

SEEDS = (11, 22, 33, 44)


@pytest.fixture(scope="module")
def svd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_svd(tmp_path_factory.mktemp("tiny-svd"))


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "diffusers.jsonl"
    monkeypatch.setenv("FILMC_DIFFUSERS_LOG", str(log))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("FILMC_SIMULATE_OOM", raising=False)
    with session.Session("test") as own, session.active(own):
        yield log


def clip_jobs(svd: Path, store: Store) -> list[Job]:
    """Four clips of 5 frames at 80x48, each from a still of its own colour, in the store."""
    from PIL import Image

    jobs = []
    for n, seed in enumerate(SEEDS):
        still = Job(kind="still", backend="test@1", params={"n": n})
        with store.writing(still.key, "still") as out:
            Image.new("RGB", (80, 48), (60 * n, 120, 200 - 60 * n)).save(out / "still.png")
        jobs.append(Job(kind="clip", backend=f"diffusers@{VERSION}", params={
            "model": {"fingerprint": "tiny", "class": "StableVideoDiffusionPipeline"},
            "frames": 5, "chunks": 1, "fps": 7, "width": 80, "height": 48, "seed": seed,
            "prompt": "", "steps": 2, "image": True}, inputs=(still.key,),
            identity=f"clip:{n}", payload={"model": str(svd)}))
    return jobs


def frames_of(jobs: list[Job], store: Store) -> dict[str, list[Any]]:
    import numpy as np

    made = [(job.key, frames) for job, frames in clips.generate(jobs, 0, store)]
    assert [key for key, _ in made] == [job.key for job in jobs]  # every clip, in order
    return {job.identity: [np.asarray(frame, dtype=int) for frame in frames]
            for job, (_, frames) in zip(jobs, made, strict=True)}


def test_a_batch_of_clips_gives_the_frames_of_single_calls(
        svd: Path, events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    jobs = clip_jobs(svd, store)
    assert len({clips.group(job) for job in jobs}) == 1  # one model, size, length: one group
    longer = jobs[0].model_copy(update={"params": {**jobs[0].params, "frames": 9}})
    assert clips.group(longer) != clips.group(jobs[0])

    monkeypatch.setenv("FILMC_DIFFUSERS_BATCH", "1")
    single = frames_of(jobs, store)
    monkeypatch.setenv("FILMC_DIFFUSERS_BATCH", "3")
    batched = frames_of(jobs, store)
    calls = [e["batch"] for e in read_events(events) if e["event"] == "clip"]
    assert calls == [1, 1, 1, 1, 3, 1]
    for name in single:
        assert len(batched[name]) == len(single[name]) == 5
        # the same frames, up to the rounding of batched kernels (one level of 255)
        assert max(int(abs(a - b).max()) for a, b in
                   zip(single[name], batched[name], strict=True)) <= 1
    # and each clip is its own: its seed and still, not its neighbours'
    assert max(int(abs(a - b).max()) for a, b in
               zip(batched["clip:0"], batched["clip:1"], strict=True)) > 20

    # Without a setting, the CPU makes two clips a call.
    monkeypatch.delenv("FILMC_DIFFUSERS_BATCH")
    assert clips.batch_limit(jobs[0], "cpu", store) == clips.CPU_BATCH == 2


def test_a_batch_out_of_memory_is_halved_and_completes(
        svd: Path, events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    jobs = clip_jobs(svd, store)
    monkeypatch.setenv("FILMC_DIFFUSERS_BATCH", "1")
    single = frames_of(jobs, store)
    # Memory for 5 decoded frames: a call of 4 clips (20) or 2 (10) runs out, 1 fits.
    monkeypatch.setenv("FILMC_DIFFUSERS_BATCH", "4")
    monkeypatch.setenv("FILMC_SIMULATE_OOM", "5")
    halved = frames_of(jobs, store)
    log = read_events(events)
    assert [e["batch"] for e in log if e["event"] == "clip-oom"] == [4, 2]
    assert [e["batch"] for e in log if e["event"] == "clip"] == [1] * 8
    # the halved calls start from fresh generators: the very frames of single calls
    for name in single:
        assert all((a == b).all() for a, b in zip(single[name], halved[name], strict=True))


def test_clip_batch_sizes_come_from_the_memory_measured_per_family(tmp_path: Path) -> None:
    from filmlang.cache.costs import CostBook

    job = Job(kind="clip", backend=f"diffusers@{VERSION}", params={
        "model": {"fingerprint": "x", "class": "LTXImageToVideoPipeline"},
        "frames": 97, "width": 768, "height": 512})
    assert clips.family(job) == "clip|LTXImageToVideoPipeline"
    gib = float(2**30)
    voxels = 768 * 512 * 97
    # unmeasured: the documented default (8 GiB for 1024x576x25) gives one clip in 48 GiB
    assert clips.clips_that_fit(48 * gib, None, job) == int(
        48 * gib * 0.8 / (clips.DEFAULT_BYTES_PER_VOXEL * voxels))
    book = CostBook(tmp_path)
    book.note_memory(clips.family(job), 2 * gib / voxels)  # measured: 2 GiB a clip
    book.save()
    measured = CostBook(tmp_path).memory_per_image(clips.family(job))
    assert measured is not None
    assert clips.clips_that_fit(48 * gib, measured, job) == clips.MAX_BATCH == 8
    assert clips.clips_that_fit(6 * gib, measured, job) == 2
    assert clips.clips_that_fit(1 * gib, measured, job) == 1
    assert json.loads((tmp_path / "costs.json").read_text())["memory"]


def test_clips_that_become_ready_while_the_lane_is_busy_share_a_call(
        svd: Path, events: Path, tmp_path: Path) -> None:
    """Through the GPU pool, as the scheduler hands clips over: one at a time, as their
    stills finish. Those that wait for the busy lane are sampled together."""
    import threading
    import time

    from filmlang.backends.diffusers import BACKEND
    from filmlang.exec.context import Context
    from filmlang.exec.gpu import GpuPool

    store = Store(tmp_path / "cache")
    store.ensure()
    jobs = clip_jobs(svd, store)
    pool = GpuPool({("diffusers", "clip"): BACKEND.batchers()["clip"]})
    ctx = Context(store, lambda job: None, threading.Event())
    futures = pool.submit(jobs[:1], ctx)
    deadline = time.monotonic() + 60
    while not read_events(events) and time.monotonic() < deadline:
        time.sleep(0.01)  # the lane has loaded the model and samples the first clip
    for job in jobs[1:]:
        futures += pool.submit([job], ctx)
    for _, future in futures:
        future.result(timeout=120)
    assert all(store.lookup(job.key).ok for job in jobs)
    # the first alone; the three that waited in one batch (two a call on the CPU)
    assert [e["batch"] for e in read_events(events) if e["event"] == "clip"] == [1, 2, 1]
