#!/usr/bin/env bash
# Every GPU measurement of filmlang in one run (issue 14), for a machine with an NVIDIA GPU:
#
#   1. the machine: nvidia-smi, and the versions of python, torch, diffusers, transformers;
#   2. bench/gpu.py: stills/s of filmlang's scheduled build against a naive per-shot
#      diffusers loop on an SD 1.5-sized model with random weights (target >= 2x);
#   3. bench/gpu_busy.py: the GPU's busy fraction (nvidia-smi samples with utilisation > 0)
#      over the wall time of a stills-heavy `filmc build` (target >= 90%), on gpu.py's model;
#   4. the tests marked `gpu` (tests/test_diffusers.py and any other file that has them).
#
#   bash bench/gpu_device.sh OUTDIR           # on the GPU machine, from anywhere
#   bash bench/gpu_device.sh --tiny OUTDIR    # the same plumbing with tiny models (a CPU is fine)
#
# OUTDIR gets six files, each under 1 MB: run.log (the machine, each step's status and the
# summary, also printed), gpu_bench.log, gpu_bench.json, busy.log, busy.json, pytest.log.
# Exit status: 0 when every step ran (whether or not the targets were met: see the
# summary), 1 when a step failed or timed out, 2 when there is no usable GPU.
#
# Packages that the machine lacks can come as wheels in .whl/ at the top of the repository
# (git-ignored): they are installed into $FILMC_SITE (default /tmp/site) first, without
# the network, and put on PYTHONPATH. The steps share a time budget of $BUDGET_S seconds
# (default 380), each under `timeout`, so the run ends in about 7 minutes even on a slow
# GPU; the busy build's length is sized from the stills/s that gpu.py measured.
set -uo pipefail

TINY=0
if [ "${1:-}" = "--tiny" ]; then TINY=1; shift; fi
if [ $# -ne 1 ]; then
    echo "usage: bash bench/gpu_device.sh [--tiny] OUTDIR" >&2
    exit 64
fi
mkdir -p "$1" || exit 1
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PY=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-380}
START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/filmc-gpu-device.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG="$OUT/run.log"
rm -f "$OUT"/{run.log,gpu_bench.log,gpu_bench.json,busy.log,busy.json,pytest.log}
: >"$LOG"
FAILED=0

say() { echo "$*" | tee -a "$LOG"; }
# Seconds a step may take: its cap, less what the later steps need, never below 30.
allow() {  # cap reserve
    local left=$((BUDGET_S - (SECONDS - START) - $2))
    local t=$(($1 < left ? $1 : left))
    echo $((t < 30 ? 30 : t))
}
step() {  # name seconds logfile command...
    local name=$1 limit=$2 file=$3
    shift 3
    say "== $name (limit ${limit}s): $*"
    local began=$SECONDS
    timeout -k 15 "$limit" "$@" >"$file" 2>&1
    local code=$?
    if [ $code -eq 124 ] || [ $code -eq 137 ]; then
        say "== $name: TIMED OUT after $((SECONDS - began))s"
        FAILED=1
    elif [ $code -ne 0 ]; then
        say "== $name: FAILED (exit $code) after $((SECONDS - began))s; last lines:"
        tail -n 15 "$file" | tee -a "$LOG"
        FAILED=1
    else
        say "== $name: ok in $((SECONDS - began))s"
    fi
    return 0
}
fail() {
    say "FAIL: $*"
    exit 2
}

say "filmlang GPU measurements: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "on $(uname -n) at $(date -u +%FT%TZ); tiny=$TINY, budget ${BUDGET_S}s"

# Wheels carried in .whl/ (the packages the machine lacks).
shopt -s nullglob
WHEELS=("$ROOT"/.whl/*.whl)
if [ ${#WHEELS[@]} -gt 0 ]; then
    SITE=${FILMC_SITE:-/tmp/site}
    say "== installing ${#WHEELS[@]} wheels from .whl into $SITE"
    if "$PY" -m pip --version >/dev/null 2>&1; then
        timeout 180 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --upgrade --target "$SITE" "${WHEELS[@]}" >>"$LOG" 2>&1 \
            || fail "pip could not install the wheels in .whl (see run.log)"
    else  # no pip: a wheel is a zip of what goes into site-packages
        say "(no pip: unpacking the wheels)"
        mkdir -p "$SITE" && for w in "${WHEELS[@]}"; do
            "$PY" -m zipfile -e "$w" "$SITE" || fail "cannot unpack $w"
        done
        chmod +x "$SITE"/imageio_ffmpeg/binaries/ffmpeg* 2>/dev/null
    fi
    export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

# 1. The machine.
if command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi 2>&1 | tee -a "$LOG"
elif [ $TINY -eq 0 ]; then
    fail "nvidia-smi is not on PATH: this script needs a machine with an NVIDIA GPU and driver" \
         "(bash bench/gpu_device.sh --tiny OUTDIR checks the plumbing on a CPU)"
fi
if ! timeout 120 "$PY" - >>"$LOG" 2>&1 <<'EOF'
import importlib, platform, shutil, sys
print("python", platform.python_version(), sys.executable)
for name in ("torch", "diffusers", "transformers", "huggingface_hub", "accelerate",
             "safetensors", "lark", "pydantic", "numpy", "PIL"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')} ({module.__file__})")
    except Exception as exc:
        print(f"{name}: MISSING ({type(exc).__name__}: {exc})")
import torch
print("cuda available:", torch.cuda.is_available(), "| torch.version.cuda:", torch.version.cuda)
for i in range(torch.cuda.device_count()):
    print(f"cuda:{i}", torch.cuda.get_device_name(i),
          f"bf16={torch.cuda.is_bf16_supported()}")
from filmlang.link.ffmpeg import ffmpeg_exe
print("ffmpeg:", ffmpeg_exe())
import filmlang.build  # noqa: F401  (filmlang and its dependencies import)
EOF
then
    tail -n 20 "$LOG"
    fail "the environment is not usable (torch, diffusers or filmlang do not import; see run.log)"
fi
grep -E "^(python|torch|diffusers|transformers|huggingface_hub|cuda|ffmpeg)|MISSING" "$LOG"
if [ $TINY -eq 0 ] && ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    fail "torch.cuda.is_available() is False: torch cannot use the GPU here (driver, CUDA build?)"
fi

# 2. Stills/s: filmlang against a naive loop (default size: 48 shots, 512x512, 20 steps).
TINYARG=()
[ $TINY -eq 1 ] && TINYARG=(--tiny)
step "gpu.py: stills/s, filmlang vs naive loop" "$(allow 210 150)" "$OUT/gpu_bench.log" \
    "$PY" bench/gpu.py ${TINYARG[@]+"${TINYARG[@]}"} --keep "$WORK/bench" --json "$OUT/gpu_bench.json"

# 3. Busy fraction of a stills-heavy build, on gpu.py's model when it made one. About 60 s
# of generation at the rate gpu.py measured (96..480 shots), else 192 shots.
SHOTS=$("$PY" - "$OUT/gpu_bench.json" "$TINY" <<'EOF'
import json, sys
if sys.argv[2] == "1":
    print(4)
    raise SystemExit
try:
    rate = json.load(open(sys.argv[1]))["filmlang_images_per_s"]
    print(max(96, min(480, int(rate * 60))))
except Exception:
    print(192)
EOF
)
MODEL=()
[ -f "$WORK/bench/model/model_index.json" ] && MODEL=(--model "$WORK/bench/model")
LIMIT=$(allow 200 70)
step "gpu_busy.py: busy fraction of a ${SHOTS}-shot build" "$LIMIT" "$OUT/busy.log" \
    "$PY" bench/gpu_busy.py ${TINYARG[@]+"${TINYARG[@]}"} ${MODEL[@]+"${MODEL[@]}"} --shots "$SHOTS" \
    --timeout $((LIMIT - 25)) --json "$OUT/busy.json"
rm -rf "$WORK/bench"

# 4. The tests marked gpu.
mapfile -t GPU_TESTS < <(grep -l -E "mark\.gpu\b" tests/test_*.py)
if [ ${#GPU_TESTS[@]} -gt 0 ]; then
    step "pytest -m gpu (${GPU_TESTS[*]})" "$(allow 120 0)" "$OUT/pytest.log" \
        "$PY" -m pytest -m gpu -q -p no:cacheprovider "${GPU_TESTS[@]}"
else
    say "== no test file has gpu tests" | tee "$OUT/pytest.log"
fi

# Summary.
say "== summary (${SECONDS}s in all)"
"$PY" - "$OUT" <<'EOF' 2>&1 | tee -a "$LOG"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def load(name):
    try:
        return json.loads((out / name).read_text())
    except Exception as exc:
        return {"error": f"no {name} ({type(exc).__name__})"}
b = load("gpu_bench.json")
if "ratio" in b:
    print(f"(a) stills/s on {b['device']}: filmlang {b['filmlang_stills_per_s']:.2f} vs naive "
          f"{b['naive_stills_per_s']:.2f} = {b['ratio']:.2f}x (target >= 2x: "
          f"{'MET' if b['target_met'] else 'NOT MET'}); {b['shots']} shots, "
          f"{b['distinct_stills']} distinct, {b['width']}x{b['height']}, {b['steps']} steps, "
          f"batches {b['batches']}")
else:
    print("(a) stills/s:", b.get("error", "no result"))
u = load("busy.json")
build = u.get("build") or {}
if build.get("busy_fraction") is not None:
    ph = u.get("phases", {})
    gen = ph.get("generation") or {}
    print(f"(b) busy fraction over the {u['wall_s']}s build of {u['shots']} shots: "
          f"{build['busy_fraction']:.1%} (target >= 90%: "
          f"{'MET' if u.get('target_met') else 'NOT MET'}), mean utilisation "
          f"{build['mean_utilization']}%; start-up {ph.get('startup_s')}s, load "
          f"{ph.get('load_s')}s, generation {ph.get('generation_s')}s (busy "
          f"{gen.get('busy_fraction')}), after the last call {ph.get('tail_s')}s; "
          f"build exit {u.get('build_exit')}, timed out {u.get('timed_out')}")
else:
    print("(b) busy fraction:", u.get("error") or
          f"no samples (build exit {u.get('build_exit')}, timed out {u.get('timed_out')})")
lines = (out / "pytest.log").read_text(errors="replace").strip().splitlines() \
    if (out / "pytest.log").exists() else ["no pytest.log"]
print("(c) pytest -m gpu:", lines[-1] if lines else "no output")
EOF

# At most six files, each under 1 MB.
for f in "$OUT"/*; do
    if [ -f "$f" ] && [ "$(stat -c %s "$f")" -ge 1000000 ]; then
        tail -c 900000 "$f" >"$f.tmp" && mv "$f.tmp" "$f"
    fi
done
exit $FAILED
