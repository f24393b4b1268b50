"""Generated clips: `motion generative` shots moved by a video model (`clip_model`).

Each family of video pipeline has its own rules for frame counts and a native frame
rate; `clip_plan` turns a shot's length into a clip the model can make: the smallest valid
frame count that covers the shot at the model's rate, or, past the model's longest clip,
several chunks, each started from the last frame of the one before (image-to-video
families). The segment then stretches the clip over the shot's frames (the clip's rate
is adapted to the film's). The clip is its own cached stage: frames as PNGs, between the
still and the segment, so a change in post never re-runs the video model.

A call that runs out of GPU memory is made again from the same noise with less at once
(`sample`: the frames the VAE decodes together halved, then the VAE sliced); a clip that
still does not fit fails at its shot's line. Each clip is its own call: a clip is already
a batch of frames, and the video pipelines condition on one image each.

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
    return job.key  # each clip is its own call


def generate(jobs: list[Job], lane: int, store: Any) -> Iterator[tuple[Job, Any]]:
    import torch
    from PIL import Image

    from filmlang.backends.diffusers.run import device_for, record
    from filmlang.jobs import JobFailed

    device = device_for(lane)
    for job in jobs:
        p = job.params
        try:
            pipe = _pipeline(job.payload["model"], device)
        except Exception as exc:
            raise JobFailed(job, f"cannot load the clip model {job.payload['model']}: "
                            f"{type(exc).__name__}: {exc}") from None
        with Image.open(store.path(job.inputs[0]) / "still.png") as still:
            image = still.convert("RGB")
        generator = torch.Generator("cpu").manual_seed(p["seed"])
        frames: list[Any] = []
        start = time.perf_counter()
        for chunk in range(p["chunks"]):
            kwargs: dict[str, Any] = {
                "width": p["width"], "height": p["height"], "num_frames": p["frames"],
                "num_inference_steps": p["steps"], "generator": generator,
                "output_type": "pil"}
            if p["image"]:
                kwargs["image"] = image
            if "StableVideoDiffusion" not in p["model"]["class"]:
                kwargs["prompt"] = p["prompt"]
            else:
                kwargs["decode_chunk_size"] = p["frames"]
            out = sample(pipe, kwargs, job, device)
            frames.extend(out if chunk == 0 else out[1:])
            image = out[-1]
        record("clip", frames=len(frames), device=device,
               seconds=round(time.perf_counter() - start, 3))
        yield job, frames


def sample(pipe: Any, kwargs: dict[str, Any], job: Job, device: str) -> list[Any]:
    """One call of the video pipeline. Out of memory, it is tried again with less at once
    (the frames the VAE decodes together halved, then the VAE sliced), from the same noise;
    a clip that does not fit even so fails at its shot's line."""
    import torch

    from filmlang.backends.diffusers.run import OOM_ENV, SimulatedOOM, _is_oom, record
    from filmlang.jobs import JobFailed

    generator = kwargs["generator"]
    state = generator.get_state()
    sliced = False
    while True:
        decode = kwargs.get("decode_chunk_size")
        limit = os.environ.get(OOM_ENV)
        try:
            if limit is not None and limit.isdigit() and (decode or 1) > int(limit):
                raise SimulatedOOM(f"simulated out of memory decoding {decode} frames")
            with torch.inference_mode():
                return list(pipe(**kwargs).frames[0])
        except Exception as exc:
            if not _is_oom(exc, torch):
                raise
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            record("clip-oom", decode=decode)
            generator.set_state(state)
            if decode is not None and decode > 1:
                kwargs["decode_chunk_size"] = max(1, decode // 2)
            elif not sliced and callable(getattr(pipe, "enable_vae_slicing", None)):
                pipe.enable_vae_slicing()
                sliced = True
            else:
                raise JobFailed(job, "out of GPU memory generating this shot's clip at "
                                f"{kwargs['width']}x{kwargs['height']}, {kwargs['num_frames']} "
                                "frames; build with --preview (smaller frames), shorten the "
                                "shot, or free GPU memory") from None


def write(job: Job, frames: Any, out: Path) -> None:
    for index, frame in enumerate(frames):
        frame.convert("RGB").save(out / f"frame_{index:04d}.png", compress_level=1)
