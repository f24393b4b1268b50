"""Generated stills on a GPU: filmlang's scheduled diffusers build against a naive loop.

Builds a Stable Diffusion 1.5-sized pipeline with random weights (UNet2DConditionModel's
default SD 1.5 layout with 768-wide cross-attention, the SD VAE, a CLIP ViT-L/14-sized text
encoder: the same compute as the real model, no download), saves it as a model folder,
and writes a film of 48 shots at 512x512 stills in which 16 setups (shot type, subjects,
action, seed) each come back three times, as shot / reverse shot coverage does. Then, in
one run, on the same loaded pipeline (20 steps, bf16 on CUDA):

- naive: one pipeline call per shot, in film order (what a script around diffusers does);
- filmlang: the stills of the film through the build's planner, scheduler and GPU pool
  (identical shots merged, compatible shots batched, committed to the cache);

and prints stills per second for both (shots of the film per second of generation), the
ratio (target at least 2x) and the GPU utilisation sampled during each phase.

    python bench/gpu.py            # on a GPU (about 2 minutes on an H100)
    python bench/gpu.py --tiny     # a smoke run on the CPU: tiny model, 6 shots
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SETUPS = [("wide", ""), ("close_up", "MARA"), ("close_up", "TOM"), ("two_shot", "MARA TOM")]
ACTIONS = ["the storm rises", "the lamp flickers", "waves break on the rocks",
           "rain on the windows"]


def byte_chars() -> list[str]:
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    codes = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def make_model(folder: Path, tiny: bool, steps: int) -> Path:
    """A model folder with random weights: SD 1.5's architecture, or a tiny one."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    chars = byte_chars()
    vocab = {c: i for i, c in enumerate([*chars, *(c + "</w>" for c in chars), "ea",
                                         "ea</w>", "<|startoftext|>", "<|endoftext|>"])}
    words = folder / "tokenizer-source"
    words.mkdir(parents=True, exist_ok=True)
    (words / "vocab.json").write_text(json.dumps(vocab))
    (words / "merges.txt").write_text("#version: 0.2\ne a\n")
    tokenizer = CLIPTokenizer(str(words / "vocab.json"), str(words / "merges.txt"),
                              model_max_length=77)
    end = vocab["<|endoftext|>"]
    if tiny:
        text_config = CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"], eos_token_id=end, pad_token_id=end,
            hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
            vocab_size=len(vocab), projection_dim=16)
        unet = UNet2DConditionModel(
            sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
            block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
            norm_num_groups=4, attention_head_dim=2)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, block_out_channels=(8, 8),
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
            sample_size=64)
    else:
        # CLIP ViT-L/14's text tower (SD 1.5's text encoder).
        text_config = CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"], eos_token_id=end, pad_token_id=end,
            hidden_size=768, intermediate_size=3072, num_attention_heads=12,
            num_hidden_layers=12, vocab_size=49408, projection_dim=768,
            hidden_act="quick_gelu")
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768,
                                    attention_head_dim=8)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, block_out_channels=(128, 256, 512, 512),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2,
            sample_size=512)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=CLIPTextModel(text_config), tokenizer=tokenizer, unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085,
                                beta_end=0.012, clip_sample=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    model = folder / "model"
    pipe.save_pretrained(model)
    (model / "filmlang.json").write_text(json.dumps({"steps": steps, "guidance": 7.5}))
    return model


def film_source(shots: int, repeats: int, size: str) -> str:
    out = [f'film "GPU bench" {{\n    size {size}\n    fps 12\n    seed 11\n'
           '    style "cinematic film still, 35mm"\n    negative "blurry, text"\n'
           '    backend visual=diffusers\n    model "model"\n}\n',
           'character MARA {\n    look "keeper, yellow raincoat"\n}\n',
           'character TOM {\n    look "fisherman, wool cap"\n}\n',
           'scene storm "EXT. LIGHTHOUSE - NIGHT" {\n']
    distinct = max(1, shots // repeats)
    for n in range(shots):
        setup = n % distinct
        kind, subjects = SETUPS[setup % len(SETUPS)]
        action = ACTIONS[(setup // len(SETUPS)) % len(ACTIONS)]
        head = " ".join(x for x in ("shot", kind, subjects, "1s") if x)
        out.append(f'    {head} {{\n        action "{action}"\n'
                   f'        seed {1000 + setup}\n    }}\n')
    out.append("}\n")
    return "".join(out)


class Utilisation:
    """GPU utilisation sampled every 0.2 s from nvidia-smi (or torch.cuda.utilization)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float | None:
        if shutil.which("nvidia-smi"):
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,"
                     "nounits", "-i", "0"], capture_output=True, text=True, timeout=5)
                return float(out.stdout.strip().splitlines()[0])
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                return None
        try:
            import torch

            return float(torch.cuda.utilization())
        except Exception:
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self._sample()
            if value is not None:
                self.samples.append(value)
            self._stop.wait(0.2)

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self) -> str:
        value = self.value()
        return "n/a" if value is None else f"{value:.0f}%"

    def value(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def naive(pipe: Any, jobs: list[Any]) -> None:
    import torch

    for job in jobs:
        p = job.params
        pipe(prompt=p["prompt"], negative_prompt=p["negative"], width=p["width"],
             height=p["height"], num_inference_steps=p["steps"], guidance_scale=p["guidance"],
             generator=torch.Generator("cpu").manual_seed(p["seed"]), output_type="pil")
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on the CPU (smoke)")
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    shots = args.shots or (6 if args.tiny else 48)
    steps = args.steps or (2 if args.tiny else 20)
    size = "64x36" if args.tiny else "410x410"  # stills 1.25x: 80x48, or 512x512

    import torch

    from filmlang.api import check_file
    from filmlang.backends.diffusers import run as diffusers_run
    from filmlang.backends.diffusers.check import configure
    from filmlang.build import gpu_pool, runners
    from filmlang.cache.store import Store
    from filmlang.config import BuildConfig
    from filmlang.exec.scheduler import Scheduler
    from filmlang.plan.planner import plan_sources

    os.environ["HF_HUB_OFFLINE"] = "1"
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "CPU"
    if not cuda and not args.tiny:
        print("no GPU: run with --tiny for a CPU smoke run", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="filmc-gpu-bench-"))
    try:
        start = time.perf_counter()
        make_model(work, args.tiny, steps)
        made = time.perf_counter() - start
        path = work / "bench.film"
        path.write_text(film_source(shots, args.repeats, size), encoding="utf-8")
        checked = check_file(path)
        if checked.film is None:
            print(checked.report(), file=sys.stderr)
            return 1
        config = configure(checked.film, BuildConfig(), path)
        sources = plan_sources(checked.film, config)
        order = [sources.graph.jobs[sources.stills[(s.scene, s.index)]]
                 for s in checked.film.shots]
        start = time.perf_counter()
        pipe = diffusers_run.pipeline(config.model, diffusers_run.device_for(0))
        loaded = time.perf_counter() - start
        naive(pipe, order[:1])  # warm-up: kernels, allocator

        with Utilisation() as naive_util:
            start = time.perf_counter()
            naive(pipe, order)
            naive_s = time.perf_counter() - start

        store = Store(work / "cache")
        store.ensure()
        scheduler = Scheduler(store, runners(), workers=os.cpu_count() or 1,
                              gpu=gpu_pool())
        log = work / "events.jsonl"
        os.environ[diffusers_run.LOG_ENV] = str(log)
        with Utilisation() as ours_util:
            start = time.perf_counter()
            report = scheduler.run(sources.graph.jobs, list(sources.stills.values()))
            ours_s = time.perf_counter() - start
        if report.failures:
            for failure in report.failures:
                print(f"failed: {failure.job.label}: {failure.message}", file=sys.stderr)
            return 2
        calls = [json.loads(line) for line in log.read_text().splitlines()
                 if '"call"' in line]
        distinct = len(set(sources.stills.values()))
        width, height = order[0].params["width"], order[0].params["height"]
        print(f"device: {device}; dtype {diffusers_run.dtype_for(diffusers_run.device_for(0))}"
              f"; {'tiny' if args.tiny else 'SD 1.5-sized'} random weights; "
              f"{width}x{height}, {steps} steps")
        print(f"model written in {made:.1f} s, loaded in {loaded:.1f} s")
        print(f"film: {shots} shots, {distinct} distinct stills; our pipeline calls: "
              f"{len(calls)} (batches {[c['batch'] for c in calls]})")
        print(f"naive loop:  {shots / naive_s:6.2f} stills/s ({naive_s:.1f} s), "
              f"GPU utilisation {naive_util.mean()}")
        print(f"filmlang:    {shots / ours_s:6.2f} stills/s ({ours_s:.1f} s), "
              f"GPU utilisation {ours_util.mean()}")
        print(f"ratio: {naive_s / ours_s:.2f}x (target >= 2x)")
        if args.json is not None:
            results = {
                "device": device, "dtype": str(diffusers_run.dtype_for(
                    diffusers_run.device_for(0))), "tiny": args.tiny,
                "width": width, "height": height, "steps": steps, "shots": shots,
                "distinct_stills": distinct, "model_written_s": round(made, 2),
                "model_loaded_s": round(loaded, 2), "naive_s": round(naive_s, 3),
                "filmlang_s": round(ours_s, 3), "naive_stills_per_s": round(shots / naive_s, 3),
                "filmlang_stills_per_s": round(shots / ours_s, 3),
                "filmlang_images_per_s": round(distinct / ours_s, 3),
                "ratio": round(naive_s / ours_s, 3), "target_ratio": 2.0,
                "target_met": naive_s / ours_s >= 2.0,
                "pipeline_calls": len(calls), "batches": [c["batch"] for c in calls],
                "naive_mean_utilization": naive_util.value(),
                "filmlang_mean_utilization": ours_util.value()}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
