"""Scaling on paper: a film's job graph replayed on N simulated workers.

Plans two films with the real planner (nothing is rendered): a 90-minute film with
generated stills, and a 10-minute film whose every shot is a generated clip, both on the
diffusers backend (stand-in model folders: planning reads only their configs). Each job
gets its measured cost (`plan/costs.py` over a cost book: `--costs FOLDER` names a cache
whose `costs.json` to use; by default this script builds examples/lighthouse.film here
first and measures the CPU jobs). Generated stills cost what bench/gpu.py measured on an
H200 (0.246 s an image at 512x512, 20 steps, batched; docs/performance.md) unless the book
has its own; clips cost the documented default of `plan/costs.py` (no GPU measure yet).

It then replays each graph with `plan.schedule.simulate` (the scheduler's own order:
critical path first, the GPU as the scarce resource; the second planning phase waits for
the first) on N = 1, 2, 4, 8, 64 workers, each one GPU and `--cpus` CPUs, and prints the
makespan, the speed-up over one worker and its efficiency (target: speed-up >= 0.8 N up to
N = 8).

`--master-per-piece` adds a projection: the same graphs with the whole-film mix/master
job's measured cost spread over the audio pieces (each piece mastered as it is made, the
final job only joining them), as the per-piece master being written will do; a
projection of the cost model, not a measurement of that code. `--workers 1,2,4,8` picks N.

    python bench/cluster_sim.py [--costs CACHE] [--cpus 8] [--workers 1,2,4,8]
                                [--master-per-piece] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from filmlang.api import check_file  # noqa: E402
from filmlang.build import build  # noqa: E402
from filmlang.cache.costs import CostBook  # noqa: E402
from filmlang.config import BuildConfig  # noqa: E402
from filmlang.jobs import Job  # noqa: E402
from filmlang.plan.costs import Estimator  # noqa: E402
from filmlang.plan.estimate import phase_one, started_early  # noqa: E402
from filmlang.plan.planner import plan_film, prepared  # noqa: E402
from filmlang.plan.schedule import simulate  # noqa: E402

WORKERS = (1, 2, 4, 8, 64)
H200_STILL_SECONDS = 1 / 4.06
"""bench/gpu.py on an H200: 4.06 distinct 512x512 images/s at 20 steps, batched."""
CAST = [("MARA", 40, 150), ("TOM", 62, 175), ("ELSA", 35, 140)]
TYPES = ["wide", "close_up", "medium", "two_shot", "over_shoulder", "insert"]


def stand_in_model(folder: Path, class_name: str, steps: int) -> Path:
    """A model folder the planner accepts (an index and configs, no weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    denoiser = "transformer" if "Video" in class_name or "Wan" in class_name else "unet"
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": class_name, denoiser: ["diffusers", "Model"],
        "vae": ["diffusers", "AutoencoderKL"]}))
    for name, config in ((denoiser, {"sample_size": 64}),
                         ("vae", {"block_out_channels": [128, 256, 512, 512]})):
        (folder / name).mkdir(exist_ok=True)
        (folder / name / "config.json").write_text(json.dumps(config))
    (folder / "filmlang.json").write_text(json.dumps({"steps": steps, "guidance": 7.0}))
    return folder


def film_text(minutes: float, clips: bool) -> str:
    """A film of `minutes`: 4 s shots in scenes of 8, a line in every other shot."""
    model = 'model "sd"\n    clip_model "video"\n' if clips else 'model "sd"\n'
    out = [f'film "Sim" {{\n    size 1280x720\n    fps 24\n    seed 5\n'
           f'    backend visual=diffusers\n    {model}}}\n']
    for name, pitch, rate in CAST:
        out.append(f'character {name} {{\n    look "{name.lower()}, long coat"\n'
                   f'    voice "en" pitch={pitch} rate={rate}\n}}\n')
    shots = max(2, round(minutes * 60 / 4))
    for start in range(0, shots, 8):
        # the score changes from scene to scene, as a feature's does (one cue per scene)
        mood, place = [("tense", "sea"), ("hopeful", "rain")][start // 8 % 2]
        out.append(f'scene s{start} "EXT. HARBOUR - NIGHT" {{\n    music "{mood}" tempo=90\n'
                   f'    ambience "{place}" volume=0.4')
        for k in range(start, min(shots, start + 8)):
            a, b = CAST[k % 3][0], CAST[(k + 1) % 3][0]
            kind = TYPES[k % len(TYPES)]
            subjects = "" if kind == "insert" else (
                f"{a} {b}" if kind in ("two_shot", "over_shoulder") else a)
            body = "        motion generative\n" if clips else ""
            if k % 2:
                body += f'        {a}: "Line {k}: we keep the light burning tonight."\n'
                out.append(f"    shot {kind} {subjects} {{\n{body}    }}")
            else:
                out.append(f"    shot {kind} {subjects} 4s {{\n{body}    }}")
        out.append("}\n")
    return "\n".join(out)


def plan(folder: Path, minutes: float, clips: bool
         ) -> tuple[dict[str, Job], set[str], set[str]]:
    stand_in_model(folder / "sd", "StableDiffusionPipeline", 20)
    stand_in_model(folder / "video", "WanImageToVideoPipeline", 30)
    path = folder / "sim.film"
    path.write_text(film_text(minutes, clips), encoding="utf-8")
    checked = check_file(path)
    if checked.film is None or not checked.ok:
        sys.exit(checked.report())
    film = checked.film
    config = prepared(film, BuildConfig(), path)

    def durations(ctx: Any) -> dict[Any, float]:
        lines = {(s.name, shot.index, n): line for s in film.scenes for shot in s.shots
                 for n, line in enumerate(shot.lines)}
        return {where: len(lines[where].text.split()) / 160 * 60 + 0.2 for where in ctx.speech}

    done = plan_film(film, config, durations)
    if done.graph is None:
        sys.exit(f"the film did not plan: {done.problems}")
    return (done.graph.jobs, phase_one(done.graph.jobs, done.context),
            started_early(done.graph.jobs, done.context))


def measured_book(costs: Path | None, work: Path) -> CostBook:
    """The cost book: a cache's, or one measured here by building examples/lighthouse.film
    twice in this process, keeping the second (warm: imports done, the voice loaded, as on
    a long-running worker)."""
    if costs is not None:
        return CostBook(costs)
    print("measuring CPU job costs: building examples/lighthouse.film here ...", flush=True)
    for attempt in ("warm-up", "measure"):
        start = time.perf_counter()
        result = build(ROOT / "examples" / "lighthouse.film", output=work / f"{attempt}.mp4",
                       cache=work / attempt, config=BuildConfig(preview=True))
        if not result.ok:
            sys.exit("the measuring build failed")
        print(f"  {attempt} build in {time.perf_counter() - start:.1f}s", flush=True)
    return CostBook(work / "measure")


JOIN_SECONDS = 1.0
"""The final audio job of a per-piece master: joining mastered pieces (a stream copy)."""


def per_piece_master(jobs: dict[str, Job], cost: Any) -> Any:
    """`cost` with each mix job's cost moved onto its pieces, in proportion to theirs, and
    the mix left with a join: the projection of a master made per piece."""
    moved: dict[str, float] = {}
    for key, job in jobs.items():
        if job.kind != "mix":
            continue
        pieces = [dep for dep in job.inputs if dep in jobs and jobs[dep].kind == "piece"]
        total = sum(cost(jobs[dep]) for dep in pieces) or 1.0
        spread = max(0.0, cost(job) - JOIN_SECONDS)
        for dep in pieces:
            moved[dep] = moved.get(dep, 0.0) + spread * cost(jobs[dep]) / total
        moved[key] = JOIN_SECONDS - cost(job)

    def projected(job: Job) -> float:
        return float(cost(job)) + moved.get(job.key, 0.0)

    return projected


def replay(name: str, jobs: dict[str, Job], first: set[str], early: set[str],
           book: CostBook, cpus: int, workers: tuple[int, ...] = WORKERS,
           per_piece: bool = False) -> list[dict[str, Any]]:
    estimator = Estimator(book, lambda job: job.backend_name == "diffusers"
                          and job.kind in ("still", "clip"))
    cost = per_piece_master(jobs, estimator.cost) if per_piece else estimator.cost
    rows: list[dict[str, Any]] = []
    base = 0.0
    for n in workers:
        sim = simulate(jobs, cost, estimator.on_gpu, cpus=n * cpus, gpus=n,
                       phase_one=first, early=early)
        base = base or sim.makespan
        speedup = base / sim.makespan
        rows.append({"film": name, "workers": n, "makespan_s": round(sim.makespan, 1),
                     "speedup": round(speedup, 2), "efficiency": round(speedup / n, 2),
                     "gpu_s": round(sim.gpu_seconds, 1), "cpu_s": round(sim.cpu_seconds, 1),
                     "gpu_busy": round(sim.gpu_seconds / (n * sim.makespan), 3),
                     "jobs": len(jobs), "master": "per piece" if per_piece else "whole film"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--costs", type=Path, help="a cache folder whose costs.json to use")
    parser.add_argument("--cpus", type=int, default=8, help="CPUs per simulated worker")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--workers", default=",".join(map(str, WORKERS)),
                        help="the N to simulate, comma-separated (default 1,2,4,8,64)")
    parser.add_argument("--master-per-piece", action="store_true",
                        help="also project the mix mastered per piece (see the docstring)")
    args = parser.parse_args()
    workers = tuple(int(n) for n in args.workers.split(","))
    with tempfile.TemporaryDirectory(prefix="filmc-sim-") as scratch:
        work = Path(scratch)
        book = measured_book(args.costs, work)
        films = [("90-min, generated stills", 90.0, False),
                 ("10-min, generated clips", 10.0, True)]
        rows: list[dict[str, Any]] = []
        for name, minutes, clips in films:
            start = time.perf_counter()
            jobs, first, early = plan(work / name.split(",")[0], minutes, clips)
            stills = [job for job in jobs.values() if job.kind == "still"
                      and job.backend_name == "diffusers"]
            if stills and not book.models("diffusers", "still"):
                # megapixel-steps of bench/gpu.py's images (scaled to each still's size)
                book.add("diffusers|still|h200", 512 * 512 / 1e6 * 20, H200_STILL_SECONDS)
            print(f"{name}: {len(jobs)} jobs planned in {time.perf_counter() - start:.1f}s",
                  flush=True)
            rows.extend(replay(name, jobs, first, early, book, args.cpus, workers))
            if args.master_per_piece:
                rows.extend(replay(name, jobs, first, early, book, args.cpus, workers, True))
    print(f"\n| film | master | workers (1 GPU + {args.cpus} CPU each) | makespan | "
          "speed-up | efficiency | GPU busy |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['film']} | {row['master']} | {row['workers']} | "
              f"{row['makespan_s']:.0f} s | {row['speedup']:.2f}x | {row['efficiency']:.2f} | "
              f"{row['gpu_busy']:.0%} |")
    met = all(row["efficiency"] >= 0.8 for row in rows
              if row["workers"] <= 8 and row["master"] == "whole film")
    print(f"\ntarget speed-up >= 0.8 N up to N = 8: {'MET' if met else 'NOT MET'}")
    if args.json:
        args.json.write_text(json.dumps({"cpus_per_worker": args.cpus, "rows": rows,
                                         "target_met": met}, indent=1))


if __name__ == "__main__":
    main()
