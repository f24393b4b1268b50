"""Generated stills: batches of still jobs in, one image per job out, on a GPU or the CPU.

The scheduler hands this module groups of compatible jobs (same model, size, steps and
guidance: `group`); each group runs as pipeline calls with a list of prompts and a list
of per-shot CPU generators, so a shot's image depends on its seed, not on its batch
neighbours' (up to floating-point rounding in batched kernels). Pipelines are loaded once
per build session and device (`pipeline`; `filmlang.session`), so weights load once per
build, and once for all the rebuilds of a watch. A call that runs out
of GPU memory is retried with half the batch, down to one image; one image that still
does not fit fails that shot, at its line. Results are yielded as each call finishes, so
the scheduler commits them to the cache at once and an error later loses nothing.

The batch size on a GPU comes from its free memory and the memory one image took, as
measured at the peak of earlier calls of the same model family (pipeline class, with or
without guidance) and kept in the cache (`cache/costs.py`); a family never measured starts
from SD 1.5's figure, and the halving corrects it.

torch and diffusers are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

from filmlang import session
from filmlang.jobs import Cancelled, Job, JobFailed, raise_if_stopped

CPU_BATCH = 4
MAX_BATCH = 16
LOG_ENV = "FILMC_DIFFUSERS_LOG"
OOM_ENV = "FILMC_SIMULATE_OOM"
"""Test hook: a pipeline call with more images than this raises an out-of-memory error."""

_log_lock = threading.Lock()
IP_SCALE = 0.6


def simulated_oom(message: str) -> BaseException:
    """What a call raises under FILMC_SIMULATE_OOM: torch's own out-of-memory error (made
    without a GPU), so the tests take the very path a GPU that runs out of memory takes."""
    import torch

    error: BaseException = torch.cuda.OutOfMemoryError(message)
    return error


def record(event: str, **values: Any) -> None:
    """Metrics for tests and benchmarks: JSON lines appended to $FILMC_DIFFUSERS_LOG."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    entry = {"event": event, "time": round(time.time(), 4), **values}
    with _log_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def lanes() -> int:
    """One GPU worker per visible GPU; one CPU worker without a GPU."""
    import torch

    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


def device_for(lane: int) -> str:
    import torch

    return f"cuda:{lane % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"


def dtype_for(device: str) -> Any:
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def pipeline(model: str, device: str) -> Any:
    """The text-to-image pipeline of a model folder on a device, loaded once per session,
    with the folder's IP-Adapter when it has one. A device holds one model at a time:
    loading another drops the last."""
    state = session.current()
    pipelines = state.cache("diffusers.pipelines")

    def load() -> Any:
        dropped = {id(pipe) for pipe in pipelines.drop_where(
            lambda slot: slot[1] == device and slot[0] != model)}
        state.cache("diffusers.ip-adapters").drop_where(lambda ident: ident in dropped)
        return _load(model, device)

    return pipelines.get_or_make((model, device), load)


def _load(model: str, device: str) -> Any:
    state = session.current()
    if device == "cpu" and state.once("diffusers.cpu-warning"):
        sys.stderr.write("warning: no GPU: the diffusers backend runs on the CPU in "
                         "float32, which is slow (minutes per still at full size)\n")
    start = time.perf_counter()
    pipe = load_pretrained("AutoPipelineForText2Image", model, device)
    weights = _ip_adapter_file(model)
    if weights is not None:
        encoder = "image_encoder" if (Path(model) / "ip_adapter" / "image_encoder").is_dir() \
            else "./image_encoder"
        pipe.load_ip_adapter(model, subfolder="ip_adapter", weight_name=weights,
                             image_encoder_folder=encoder, local_files_only=True)
        state.cache("diffusers.ip-adapters").put(id(pipe), True)
    record("load", model=model, device=device, seconds=round(time.perf_counter() - start, 3))
    return pipe


def load_pretrained(loader: str, model: str, device: str) -> Any:
    """A pipeline of diffusers' class `loader` from a local model folder (offline, nothing
    downloaded), in the device's dtype, on the device, without progress bars."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet()
    import diffusers

    with warnings.catch_warnings():  # torch_dtype: renamed dtype in newer diffusers
        warnings.simplefilter("ignore", FutureWarning)
        cls: Any = getattr(diffusers, loader)  # typed or not, depending on version
        pipe = cls.from_pretrained(model, torch_dtype=dtype_for(device), local_files_only=True)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _quiet() -> None:
    """No progress bars or notices from the libraries: the build has its own console."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    for module in (dlog, tlog):
        module.disable_progress_bar()
        module.set_verbosity_error()


def _ip_adapter_file(model: str) -> str | None:
    from filmlang.backends.diffusers.models import model_info

    return model_info(Path(model)).ip_adapter


def group(job: Job) -> Hashable:
    """Jobs that can share a pipeline call."""
    p = job.params
    return (job.payload["model"], p["width"], p["height"], p["steps"], p["guidance"],
            bool(p.get("reference_inputs")))


SD15_BYTES_PER_PIXEL = 1.2 * 2**30 / (512 * 512)
"""The default for a family not yet measured: about 1.2 GiB of activations per 512x512
image in half precision (SD 1.5, attention at 64x64), twice that with guidance."""


def family(job: Job) -> str:
    """What memory per image is measured and looked up by: the pipeline class, and whether
    guidance doubles the batch."""
    return f"{job.params['model']['class']}|{'cfg' if job.params['guidance'] > 1 else 'plain'}"


def images_that_fit(free: float, per_pixel: float | None, job: Job) -> int:
    """How many images of `job`'s size fit in `free` bytes (80% of it), from the measured
    bytes per pixel of its family, else the SD 1.5 default."""
    pixels = job.params["width"] * job.params["height"]
    if per_pixel is None:
        per_pixel = SD15_BYTES_PER_PIXEL * (2 if job.params["guidance"] > 1 else 1)
    return max(1, min(MAX_BATCH, int(free * 0.8 / (per_pixel * pixels))))


def _costs(store: Any) -> Any:
    from filmlang.cache.costs import CostBook

    root = getattr(store, "root", None)
    return CostBook(root) if isinstance(root, Path) else None


def batch_limit(job: Job, device: str, store: Any = None) -> int:
    """How many images one call makes: from free GPU memory and the memory an image of the
    model's family was measured to take (recorded in the cache), on CUDA; a constant on
    the CPU."""
    env = os.environ.get("FILMC_DIFFUSERS_BATCH")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if not device.startswith("cuda"):
        return CPU_BATCH
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    book = _costs(store)
    measured = book.memory_per_image(family(job)) if book is not None else None
    return images_that_fit(free, measured, job)


def measure(device: str, name: str, units: int, before: int, store: Any) -> None:
    """Record the bytes per unit (pixel of a still, pixel-frame of a clip) a call took at
    its peak, for the model family `name` (CUDA only)."""
    import torch

    peak = torch.cuda.max_memory_allocated(torch.device(device))
    book = _costs(store)
    if book is None or peak <= before or units <= 0:
        return
    book.note_memory(name, round((peak - before) / units, 3))
    book.save()


def stop_between_steps(pipe: Any, step: int, timestep: Any,
                       tensors: dict[str, Any]) -> dict[str, Any]:
    """diffusers' `callback_on_step_end`: a call of a build that is stopping ends at its
    next step (`Cancelled`), not after all of them."""
    try:
        raise_if_stopped()
    except Cancelled:
        record("stopped", step=step, pid=os.getpid())
        raise
    return {}


def generate(jobs: list[Job], lane: int, store: Any) -> Iterator[tuple[Job, Any]]:
    """Images for compatible jobs, yielded as each pipeline call finishes."""
    import torch

    device = device_for(lane)
    first = jobs[0]
    try:
        pipe = pipeline(first.payload["model"], device)
    except Exception as exc:  # a folder that passed the checks but does not load
        raise JobFailed(first, f"cannot load the model {first.payload['model']}: "
                        f"{type(exc).__name__}: {exc}") from None
    size = batch_limit(first, device, store)
    todo = list(jobs)
    while todo:
        chunk = todo[:size]
        try:
            images = _call(pipe, chunk, device, store)
        except Exception as exc:
            if not _is_oom(exc, torch):
                raise
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            record("oom", batch=len(chunk))
            if len(chunk) == 1:
                raise JobFailed(chunk[0], "out of GPU memory generating this shot's still "
                                f"at {first.params['width']}x{first.params['height']}, even "
                                "alone; build with --preview (smaller stills) or free GPU "
                                "memory") from None
            size = max(1, len(chunk) // 2)
            continue
        todo = todo[len(chunk):]
        yield from zip(chunk, images, strict=True)


def _is_oom(exc: BaseException, torch: Any) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError)


def _call(pipe: Any, jobs: list[Job], device: str, store: Any) -> list[Any]:
    import torch

    limit = os.environ.get(OOM_ENV)
    if limit is not None and limit.isdigit() and len(jobs) > int(limit):
        raise simulated_oom(f"simulated out of memory at batch {len(jobs)}")
    p = jobs[0].params
    generators = [torch.Generator("cpu").manual_seed(job.params["seed"]) for job in jobs]
    kwargs: dict[str, Any] = {}
    if id(pipe) in session.current().cache("diffusers.ip-adapters"):
        # Shots conditioned on a character sheet; the rest (and the sheets themselves) get
        # a grey image at scale 0, which leaves them as the plain model makes them.
        conditioned = bool(p.get("reference_inputs"))
        pipe.set_ip_adapter_scale(IP_SCALE if conditioned else 0.0)
        # One IP-Adapter: a list (per adapter) of a list (per prompt) of images.
        kwargs["ip_adapter_image"] = [[_reference_image(job, store) for job in jobs]]
    start = time.perf_counter()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
        before = torch.cuda.memory_allocated(torch.device(device))
    with torch.inference_mode():
        result = pipe(prompt=[job.params["prompt"] for job in jobs],
                      negative_prompt=[job.params["negative"] or "" for job in jobs],
                      width=p["width"], height=p["height"], num_inference_steps=p["steps"],
                      guidance_scale=p["guidance"], generator=generators, output_type="pil",
                      callback_on_step_end=stop_between_steps, **kwargs)
    if cuda:
        torch.cuda.synchronize(torch.device(device))
        measure(device, family(jobs[0]), p["width"] * p["height"] * len(jobs), before, store)
    record("call", batch=len(jobs), device=device,
           seconds=round(time.perf_counter() - start, 3))
    return list(result.images)


def _reference_image(job: Job, store: Any) -> Any:
    """The character sheet a shot is conditioned on (its first subject's), else grey."""
    from PIL import Image

    if not job.params.get("reference_inputs"):
        return Image.new("RGB", (224, 224), (128, 128, 128))
    key = job.params["reference_inputs"][0]
    with Image.open(store.path(key) / "still.png") as image:
        return image.convert("RGB")


def write(job: Job, image: Any, out: Path) -> None:
    image.convert("RGB").save(out / "still.png", compress_level=1)
    (out / "still.json").write_text(json.dumps({"mouths": [], "generated": True}))
