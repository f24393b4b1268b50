"""Generated clips: `motion generative` shots moved by a video model (`clip_model`).

Each family of video pipeline has its own rules for frame counts and a native frame
rate; `clip_plan` turns a shot's length into a clip the model can make: the smallest valid
frame count that covers the shot at the model's rate, or, past the model's longest clip,
several chunks, each started from the last frame of the one before (image-to-video
families). The segment then stretches the clip over the shot's frames (the clip's rate
is adapted to the film's). The clip is its own cached stage: frames as PNGs, between the
still and the segment, so a change in post never re-runs the video model.

Clips that share a model, size, frame count, chunks and steps (`group`) are sampled
together: one pipeline call per chunk with a list of stills (or prompts) and a list of
per-clip CPU generators, so a clip's frames depend on its seed and still, not on its batch
neighbours' (up to floating-point rounding in batched kernels: at most one level of 255
on the CPU). How many clips a call takes comes from free GPU memory and the memory a
pixel-frame of the family was measured to take at the peak of earlier calls (kept in the
cache, `cache/costs.py`), else `DEFAULT_BYTES_PER_VOXEL`; on the CPU it is `CPU_BATCH`.

A batch that runs out of GPU memory is made again with half the clips, from fresh
generators (so from the same noise), down to one clip; one clip is made again with less at
once (`sample`: the frames the VAE decodes together halved, then the VAE sliced); a clip
that still does not fit fails at its shot's line. A build that stops ends a call at its
next diffusion step (`run.stop_between_steps`).

torch and diffusers are imported inside the runner only.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmlang import ir, session
from filmlang.backends.diffusers.models import VERSION, ModelInfo
from filmlang.jobs import Job

MAX_CHUNKS = 8


@dataclass(frozen=True)
class Family:
    """A video pipeline family: valid frame counts are `step * k + offset` (or `fixed`)."""

    name: str
    fps: float
    step: int
    offset: int
    longest: int
    image: bool
    """Image-to-video: starts from the shot's still (else text-to-video from its prompt)."""


FAMILIES: dict[str, Family] = {
    "StableVideoDiffusionPipeline": Family("Stable Video Diffusion", 7, 1, 0, 25, True),
    "LTXImageToVideoPipeline": Family("LTX-Video", 24, 8, 1, 257, True),
    "LTXPipeline": Family("LTX-Video", 24, 8, 1, 257, False),
    "CogVideoXImageToVideoPipeline": Family("CogVideoX", 8, 8, 1, 49, True),
    "CogVideoXPipeline": Family("CogVideoX", 8, 8, 1, 49, False),
    "WanImageToVideoPipeline": Family("Wan", 16, 4, 1, 81, True),
    "WanPipeline": Family("Wan", 16, 4, 1, 81, False),
}
SHORTEST = 2


@dataclass(frozen=True)
class ClipPlan:
    frames: int
    """Frames per chunk, valid for the family."""
    chunks: int


def family_of(info: ModelInfo) -> Family | None:
    return FAMILIES.get(info.class_name)


def longest_clip(family: Family, info: ModelInfo) -> int:
    """The longest clip of a model: its UNet's `num_frames` (SVD 14, SVD-XT 25) where it
    says, else the family's."""
    import json

    try:
        config = json.loads((Path(info.path) / "unet" / "config.json").read_text())
        frames = config.get("num_frames") if isinstance(config, dict) else None
    except (OSError, ValueError):
        frames = None
    return int(frames) if isinstance(frames, int) and frames >= SHORTEST else family.longest


def plan_clips(graph: Any, film: ir.Film, stills: dict[tuple[str, int], str],
               timings: list[Any], fps: float, root: Path) -> dict[tuple[str, int], str]:
    """A clip job for each `motion generative` shot, once its length is known."""
    from filmlang.backends.diffusers.models import locate, model_info

    moving = [t for t in timings if t.shot.motion == "generative"]
    if not moving or not film.clip_model:
        return {}
    info = model_info(locate(film.clip_model, root))
    family = family_of(info)
    if family is None:
        return {}
    longest = longest_clip(family, info)
    clips: dict[tuple[str, int], str] = {}
    for timing in moving:
        where = (timing.scene.name, timing.shot.index)
        still = stills[where]
        size = graph.jobs[still].params
        clips[where] = graph.add(clip_job(info, family, longest, timing.shot,
                                          timing.scene.name, still, timing.frames / fps,
                                          size["width"], size["height"]))
    return clips


def clip_plan(family: Family, seconds: float, longest: int) -> ClipPlan:
    """The clip for a shot of `seconds`: valid frames per chunk, and how many chunks."""
    needed = max(SHORTEST, math.ceil(seconds * family.fps) + 1)
    if needed <= longest:
        k = max(0, math.ceil((needed - family.offset) / family.step))
        return ClipPlan(frames=min(longest, family.step * k + family.offset), chunks=1)
    # Chunks share a frame (each starts from the last frame of the one before).
    chunks = math.ceil((needed - 1) / (longest - 1))
    return ClipPlan(frames=longest, chunks=chunks)


def clip_job(info: ModelInfo, family: Family, longest: int, shot: ir.Shot, scene: str,
             still: str, seconds: float, width: int, height: int) -> Job:
    plan = clip_plan(family, seconds, longest)
    return Job(kind="clip", backend=f"diffusers@{VERSION}",
               params={"model": {"fingerprint": info.fingerprint, "class": info.class_name},
                       "frames": plan.frames, "chunks": plan.chunks, "fps": family.fps,
                       "width": width, "height": height, "seed": shot.seed,
                       "prompt": shot.prompt, "steps": info.steps,
                       "image": family.image},
               inputs=(still,), label=f"{scene}/{shot.index + 1} clip",
               identity=f"clip:{scene}/{shot.index}", origin=shot.origin,
               payload={"model": info.path})


# ------------------------------------------------------------------ running

CPU_BATCH = 2
MAX_BATCH = 8
DEFAULT_BYTES_PER_VOXEL = 8.0 * 2**30 / (1024 * 576 * 25)
"""For a video family never measured: about 8 GiB of activations for one 1024x576 clip of
25 frames in half precision (an estimate of Stable Video Diffusion XT's peak with its
frames decoded at once, not a measurement): a safe start, which the halving corrects and
the first measured call replaces."""


class _BatchOutOfMemory(Exception):
    """A call of several clips ran out of memory: the caller halves the batch."""


def _pipeline(model: str, device: str) -> Any:
    """The video pipeline, loaded once per session; one video model at a time (they are
    large): loading another lets the last go first."""
    from filmlang.backends.diffusers.run import load_pretrained, record

    def load() -> Any:
        start = time.perf_counter()
        pipe = load_pretrained("DiffusionPipeline", model, device)
        record("load", model=model, device=device, seconds=round(time.perf_counter() - start, 3))
        return pipe

    pipelines = session.current().cache("diffusers.clip-pipelines", limit=1)
    return pipelines.get_or_make((model, device), load)


def group(job: Job) -> Any:
    """Clips that can share a pipeline call (their stills, prompts and seeds differ)."""
    p = job.params
    return (job.payload["model"], p["width"], p["height"], p["frames"], p["chunks"],
            p["steps"], p["image"])


def family(job: Job) -> str:
    """What memory per pixel-frame is measured and looked up by: the video pipeline class."""
    return f"clip|{job.params['model']['class']}"


def clips_that_fit(free: float, per_voxel: float | None, job: Job) -> int:
    """How many clips of `job`'s size and frames fit in `free` bytes (80% of it), from the
    measured bytes per pixel-frame of its family, else the default."""
    p = job.params
    voxels = p["width"] * p["height"] * p["frames"]
    per = per_voxel if per_voxel is not None else DEFAULT_BYTES_PER_VOXEL
    return max(1, min(MAX_BATCH, int(free * 0.8 / (per * voxels))))


def batch_limit(job: Job, device: str, store: Any) -> int:
    """How many clips one call makes: `FILMC_DIFFUSERS_BATCH` when set; on CUDA from free
    memory and the family's measured memory; else `CPU_BATCH`."""
    from filmlang.backends.diffusers.run import _costs

    env = os.environ.get("FILMC_DIFFUSERS_BATCH")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if not device.startswith("cuda"):
        return CPU_BATCH
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    book = _costs(store)
    return clips_that_fit(free, book.memory_per_image(family(job)) if book else None, job)


def generate(jobs: list[Job], lane: int, store: Any) -> Iterator[tuple[Job, Any]]:
    """Frames for compatible clips, yielded as each batch finishes."""
    from filmlang.backends.diffusers.run import device_for, record
    from filmlang.jobs import JobFailed

    device = device_for(lane)
    first = jobs[0]
    try:
        pipe = _pipeline(first.payload["model"], device)
    except Exception as exc:
        raise JobFailed(first, f"cannot load the clip model {first.payload['model']}: "
                        f"{type(exc).__name__}: {exc}") from None
    size = batch_limit(first, device, store)
    todo = list(jobs)
    while todo:
        batch = todo[:size]
        try:
            videos = make_batch(pipe, batch, device, store)
        except _BatchOutOfMemory:
            record("clip-oom", batch=len(batch), decode=None)
            size = max(1, len(batch) // 2)
            continue
        todo = todo[len(batch):]
        yield from zip(batch, videos, strict=True)


def make_batch(pipe: Any, batch: list[Job], device: str, store: Any) -> list[list[Any]]:
    """The frames of each clip of a batch: one call per chunk, each clip's next chunk
    starting from its last frame; each clip has its own generator, seeded by its shot."""
    import torch
    from PIL import Image

    from filmlang.backends.diffusers.run import measure, record, stop_between_steps
    from filmlang.jobs import raise_if_stopped

    p = batch[0].params
    images = []
    for job in batch:
        with Image.open(store.path(job.inputs[0]) / "still.png") as still:
            images.append(still.convert("RGB"))
    generators = [torch.Generator("cpu").manual_seed(job.params["seed"]) for job in batch]
    videos: list[list[Any]] = [[] for _ in batch]
    start = time.perf_counter()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
        before = torch.cuda.memory_allocated(torch.device(device))
    for chunk in range(p["chunks"]):
        raise_if_stopped()
        kwargs: dict[str, Any] = {
            "width": p["width"], "height": p["height"], "num_frames": p["frames"],
            "num_inference_steps": p["steps"], "generator": generators,
            "output_type": "pil", "callback_on_step_end": stop_between_steps}
        if p["image"]:
            kwargs["image"] = images
        if "StableVideoDiffusion" not in p["model"]["class"]:
            kwargs["prompt"] = [job.params["prompt"] for job in batch]
        else:
            kwargs["decode_chunk_size"] = p["frames"]
        out = sample(pipe, kwargs, batch, device)
        for video, frames in zip(videos, out, strict=True):
            video.extend(frames if chunk == 0 else frames[1:])
        images = [frames[-1] for frames in out]
    if cuda:
        torch.cuda.synchronize(torch.device(device))
        measure(device, family(batch[0]), p["width"] * p["height"] * p["frames"] * len(batch),
                before, store)
    record("clip", batch=len(batch), frames=len(videos[0]), device=device,
           seconds=round(time.perf_counter() - start, 3))
    return videos


def sample(pipe: Any, kwargs: dict[str, Any], batch: list[Job], device: str
           ) -> list[list[Any]]:
    """One call of the video pipeline: each clip's frames. Out of memory, a call of
    several clips raises `_BatchOutOfMemory` (the batch is halved); a call of one is tried
    again with less at once (the frames the VAE decodes together halved, then the VAE
    sliced), from the same noise; a clip that does not fit even so fails at its line.
    Under `FILMC_SIMULATE_OOM=N`, a call runs out of memory when clips times the frames
    decoded at once exceed N."""
    import torch

    from filmlang.backends.diffusers.run import OOM_ENV, _is_oom, record, simulated_oom
    from filmlang.jobs import JobFailed

    generators = kwargs["generator"]
    states = [generator.get_state() for generator in generators]
    sliced = False
    while True:
        decode = kwargs.get("decode_chunk_size")
        limit = os.environ.get(OOM_ENV)
        try:
            if limit is not None and limit.isdigit() and len(batch) * (decode or 1) > int(limit):
                raise simulated_oom(f"simulated out of memory: {len(batch)} clips, "
                                    f"decoding {decode} frames")
            with torch.inference_mode():
                return [list(frames) for frames in pipe(**kwargs).frames]
        except Exception as exc:
            if not _is_oom(exc, torch):
                raise
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            for generator, state in zip(generators, states, strict=True):
                generator.set_state(state)
            if len(batch) > 1:
                raise _BatchOutOfMemory() from None
            record("clip-oom", batch=1, decode=decode)
            if decode is not None and decode > 1:
                kwargs["decode_chunk_size"] = max(1, decode // 2)
            elif not sliced and callable(getattr(pipe, "enable_vae_slicing", None)):
                pipe.enable_vae_slicing()
                sliced = True
            else:
                raise JobFailed(batch[0], "out of GPU memory generating this shot's clip at "
                                f"{kwargs['width']}x{kwargs['height']}, {kwargs['num_frames']} "
                                "frames; build with --preview (smaller frames), shorten the "
                                "shot, or free GPU memory") from None


def write(job: Job, frames: Any, out: Path) -> None:
    for index, frame in enumerate(frames):
        frame.convert("RGB").save(out / f"frame_{index:04d}.png", compress_level=1)
