"""How busy the GPU is during a stills-heavy `filmc build` (issue 14: target >= 90%).

Uses bench/gpu.py's Stable Diffusion 1.5-sized model folder with random weights (made here,
or an existing one with --model) and writes a film of N shots, each with its own generated
still (distinct seeds; no dialogue, music or sound, so no speech engine is needed and the
GPU's work dominates). Then runs `filmc build` on it in a child process, a cold start as a
user runs it (imports, check, plan, model load, stills, encoding, linking the MP4), while
`nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used -lms 200` samples the GPU.

Reports, over the build's wall time (from starting the child to its exit):

- busy fraction: the share of samples whose utilisation is above 0 (target >= 0.9);
- mean utilisation, peak memory;
- where the time went, from the backend's event log ($FILMC_DIFFUSERS_LOG) and the build's
  JSON lines: start-up until the model load begins (imports, check, plan), the load, the
  generation window (first pipeline call to last, with its own busy fraction), and the
  tail after the last call (encoding what is left, linking).

    python bench/gpu_busy.py --json busy.json         # on a GPU
    python bench/gpu_busy.py --model DIR/model        # reuse gpu.py --keep DIR's model
    python bench/gpu_busy.py --tiny                   # smoke run: tiny model, CPU is fine

With --timeout the build is stopped after that many seconds and what was measured until
then is reported (marked timed_out), so a slow GPU still gives an answer.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu  # bench/gpu.py: the model and the film

ROOT = Path(__file__).resolve().parent.parent
QUERY = "timestamp,utilization.gpu,memory.used"
TARGET = 0.9


class Sampler:
    """nvidia-smi in the background, one line per 200 ms: (time, utilisation %, MiB)."""

    def __init__(self, index: int = 0, period_ms: int = 200) -> None:
        self.command = ["nvidia-smi", f"--query-gpu={QUERY}", "--format=csv,noheader,nounits",
                        "-i", str(index), "-lms", str(period_ms)]
        self.samples: list[tuple[float, float, float]] = []
        self.bad_lines = 0
        self.warning = ""
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self, wait: float = 10.0) -> None:
        # Line-buffered where stdbuf exists: samples arrive as taken, not in 4 KiB chunks.
        # Each carries its own timestamp, so even buffered output is placed right.
        line = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
        self._proc = subprocess.Popen([*line, *self.command], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.time() + wait
        while not self.samples and time.time() < deadline and self._proc.poll() is None:
            time.sleep(0.05)
        if self.samples:
            return
        if self._proc.poll() is None:
            self.warning = f"no sample within {wait:.0f} s: nvidia-smi's output is buffered?"
            return
        err = self._proc.stderr.read() if self._proc.stderr else ""
        self.stop()
        raise RuntimeError(f"nvidia-smi gave no sample and exited {self._proc.returncode} "
                           f"({' '.join(self.command)}): {err.strip()}")

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            parsed = parse_sample(line, time.time())
            if parsed is None:
                self.bad_lines += int(bool(line.strip()))
            else:
                self.samples.append(parsed)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)


def parse_sample(line: str, arrived: float) -> tuple[float, float, float] | None:
    """'2026/01/02 03:04:05.678, 97, 20480' -> (epoch seconds, 97.0, 20480.0).

    nvidia-smi writes local time, as datetime reads it; a timestamp that does not parse
    falls back to when the line arrived."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != 3:
        return None
    try:
        util, mem = float(parts[1]), float(parts[2])
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None
    try:
        stamp = dt.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
    except ValueError:
        stamp = arrived
    return stamp, util, mem


def busy_stats(samples: list[tuple[float, float, float]], start: float, end: float
               ) -> dict[str, Any]:
    """Busy fraction (share of samples with utilisation > 0) and mean utilisation in a window."""
    inside = [s for s in samples if start <= s[0] <= end]
    if not inside:
        return {"samples": 0, "busy_fraction": None, "mean_utilization": None}
    busy = sum(1 for s in inside if s[1] > 0)
    return {"samples": len(inside), "busy_fraction": round(busy / len(inside), 4),
            "mean_utilization": round(sum(s[1] for s in inside) / len(inside), 1),
            "max_memory_mib": max(s[2] for s in inside)}


def idle_gaps(samples: list[tuple[float, float, float]], start: float, end: float,
              period: float = 0.2, top: int = 5) -> list[dict[str, float]]:
    """The longest runs of idle samples (utilisation 0), relative to the build's start."""
    runs: list[list[float]] = []  # [first sample's time, last sample's time, samples]
    idle = False
    for stamp, util, _ in (s for s in samples if start <= s[0] <= end):
        if util > 0:
            idle = False
        elif idle:
            runs[-1][1:] = [stamp, runs[-1][2] + 1]
        else:
            idle = True
            runs.append([stamp, stamp, 1])
    runs.sort(key=lambda r: -r[2])
    return [{"from_s": round(a - start, 2), "to_s": round(b - start + period, 2),
             "samples": int(n)} for a, b, n in runs[:top]]


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def run_build(film: Path, model: Path, work: Path, log: Path, timeout: float
              ) -> tuple[float, float, int | None, bool, list[tuple[float, dict[str, Any]]]]:
    """`filmc build` in a child process; its JSON lines stamped as they arrive."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", FILMC_DIFFUSERS_LOG=str(log),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    command = [sys.executable, "-c", "import sys; from filmlang.cli import main; "
               "sys.exit(main())", "build", str(film), "--model", str(model),
               "--cache", str(work / "cache"), "-o", str(work / "busy.mp4"),
               "--format", "jsonl"]
    lines: list[tuple[float, dict[str, Any]]] = []
    start = time.time()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            with contextlib.suppress(ValueError):
                lines.append((time.time(), json.loads(line)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timed_out = False
    code: int | None = None
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:  # timed out, or this process was told to stop: the build goes too
        if code is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    end = time.time()
    reader.join(timeout=5)
    return start, end, code, timed_out, lines


def summarize(start: float, end: float, events: list[dict[str, Any]],
              lines: list[tuple[float, dict[str, Any]]],
              samples: list[tuple[float, float, float]] | None) -> dict[str, Any]:
    wall = end - start
    loads = [e for e in events if e.get("event") == "load"]
    calls = [e for e in events if e.get("event") == "call"]
    out: dict[str, Any] = {"wall_s": round(wall, 2)}
    if samples is not None:
        out["build"] = busy_stats(samples, start, end)
        out["idle_gaps"] = idle_gaps(samples, start, end)
    phases: dict[str, Any] = {}
    if loads:
        load_end = loads[0]["time"]
        load_start = load_end - loads[0]["seconds"]
        phases["startup_s"] = round(load_start - start, 2)
        phases["load_s"] = round(loads[0]["seconds"], 2)
    if calls:
        first = min(c["time"] - c["seconds"] for c in calls)
        last = max(c["time"] for c in calls)
        phases["generation_s"] = round(last - first, 2)
        phases["tail_s"] = round(end - last, 2)
        phases["pipeline_call_s"] = round(sum(c["seconds"] for c in calls), 2)
        phases["pipeline_call_share_of_wall"] = round(sum(c["seconds"] for c in calls) / wall, 4)
        if samples is not None:
            phases["generation"] = busy_stats(samples, first, last)
    out["phases"] = phases
    out["pipeline_calls"] = len(calls)
    out["batches"] = [c["batch"] for c in calls]
    out["images"] = sum(c["batch"] for c in calls)
    jobs: dict[str, dict[str, Any]] = {}
    done = [arrived for arrived, line in lines if line.get("event") == "job"]
    if done:
        # The output is written with the last job; the rest is the process exiting.
        out["last_job_done_s"] = round(max(done) - start, 2)
        if samples is not None:
            out["build_until_last_job"] = busy_stats(samples, start, max(done))
    for arrived, line in lines:
        if line.get("event") != "job":
            continue
        kind = jobs.setdefault(line["kind"], {"count": 0, "first_done_s": None,
                                              "last_done_s": None})
        kind["count"] += 1
        at = round(arrived - start, 2)
        kind["first_done_s"] = at if kind["first_done_s"] is None else kind["first_done_s"]
        kind["last_done_s"] = at
    out["jobs"] = jobs
    return out


def cuda_problem() -> str | None:
    """Why this machine cannot run the GPU measurement, or None."""
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi is not on PATH: this needs a machine with an NVIDIA GPU and driver"
    try:
        import torch
    except ImportError as exc:
        return f"torch does not import: {exc}"
    if not torch.cuda.is_available():
        return (f"torch {torch.__version__} sees no CUDA device (torch.cuda.is_available() "
                "is False)")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true",
                        help="tiny model; runs without a GPU, and samples no GPU where "
                             "nvidia-smi is missing (smoke run)")
    parser.add_argument("--shots", type=int, default=None,
                        help="shots, each its own still (default 192; 4 with --tiny)")
    parser.add_argument("--steps", type=int, default=None,
                        help="sampling steps of a model made here (default 20; 2 with --tiny)")
    parser.add_argument("--size", default=None,
                        help="the film's frame (default 410x410, stills 512x512; 64x36 with "
                             "--tiny)")
    parser.add_argument("--model", type=Path, default=None,
                        help="an existing model folder (e.g. gpu.py --keep DIR's DIR/model)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="stop the build after this many seconds and report what was "
                             "measured")
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args(argv)
    shots = args.shots or (4 if args.tiny else 192)
    steps = args.steps or (2 if args.tiny else 20)
    size = args.size or ("64x36" if args.tiny else "410x410")  # stills 1.25x: 80x48, 512x512
    result: dict[str, Any] = {"mode": "tiny" if args.tiny else "full", "shots": shots,
                              "size": size, "target_busy_fraction": TARGET}

    def finish(code: int) -> int:
        result["exit"] = code
        text = json.dumps(result, indent=1)
        print(text)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n", encoding="utf-8")
        return code

    if not args.tiny:
        problem = cuda_problem()
        if problem is not None:
            result["error"] = problem
            print(f"gpu_busy: {problem} (--tiny runs a CPU smoke test)", file=sys.stderr)
            return finish(2)
    os.environ["HF_HUB_OFFLINE"] = "1"
    work = args.keep or Path(tempfile.mkdtemp(prefix="filmc-gpu-busy-"))
    work.mkdir(parents=True, exist_ok=True)
    # Stopped from outside (`timeout`): unwind, so the build (its own session) and the
    # sampler are stopped by the finally blocks rather than left running.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.model is not None:
            model = args.model.absolute()
            sampling = json.loads((model / "filmlang.json").read_text())
            result["model"] = f"{model} (reused)"
        else:
            began = time.perf_counter()
            model = gpu.make_model(work, args.tiny, steps)
            sampling = {"steps": steps}
            result["model_written_s"] = round(time.perf_counter() - began, 1)
        result["steps"] = sampling.get("steps")
        film = work / "busy.film"
        film.write_text(gpu.film_source(shots, 1, size).replace('"GPU bench"', '"GPU busy"'),
                        encoding="utf-8")
        log = work / "diffusers.jsonl"
        log.unlink(missing_ok=True)
        # A tiny run samples too where nvidia-smi is (it runs on the GPU when there is one).
        sampler = Sampler() if shutil.which("nvidia-smi") else None
        if sampler is not None:
            result["sampler"] = " ".join(sampler.command)
            try:
                sampler.start()
            except (OSError, RuntimeError) as exc:  # the build still says where time went
                result["sampler_error"] = str(exc)
                print(f"gpu_busy: {exc}", file=sys.stderr)
                sampler = None
        try:
            start, end, code, timed_out, lines = run_build(film, model, work, log, args.timeout)
            time.sleep(0.5 if sampler is not None else 0)  # the samples of the last moments
        finally:
            if sampler is not None:
                sampler.stop()
        result["build_exit"] = code
        result["timed_out"] = timed_out
        result.update(summarize(start, end, read_events(log), lines,
                                sampler.samples if sampler is not None else None))
        if sampler is not None:
            inside = [s for s in sampler.samples if start <= s[0] <= end]
            result["utilization_trace"] = [int(s[1]) for s in inside]
            result["sampler_bad_lines"] = sampler.bad_lines
            if sampler.warning:
                result["sampler_warning"] = sampler.warning
            busy = result["build"]["busy_fraction"]
            result["target_met"] = busy is not None and busy >= TARGET and code == 0
        if timed_out or code != 0 or "sampler_error" in result:
            if timed_out or code != 0:
                print(f"gpu_busy: the build {'timed out' if timed_out else f'exited {code}'}",
                      file=sys.stderr)
            return finish(1)
        return finish(0)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
