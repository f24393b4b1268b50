"""The diffusers backend on the CPU, with a tiny Stable Diffusion built here with random
weights (tokenizer included), saved with save_pretrained and loaded back through the same
from_pretrained path a user's model folder takes, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmlang import session
from filmlang.build import BuildResult, build
from filmlang.config import BuildConfig

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("diffusers", reason="diffusers is not installed (pip install 'filmlang[gpu]')")
pytest.importorskip("transformers", reason="transformers is not installed")

FILM = '''film "Gen" {
    size 64x36
    fps 4
    seed 7
    negative "blurry"
    backend visual=diffusers
    model "model"
}

character MARA {
    look "keeper, yellow raincoat"
}

character TOM {
    look "fisherman, wool cap"
}

scene storm "EXT. LIGHTHOUSE - NIGHT" {
    shot wide 1s {
        title "Ashcombe" at=0.25s for=0.5s
    }
    shot close_up MARA 1s
    shot two_shot MARA TOM 1s
    shot close_up TOM 1s
    shot wide 1s
}
'''


def make_tiny_model(folder: Path) -> Path:
    """A Stable Diffusion pipeline of a few thousand random weights (tokenizer included), as
    a model folder: bench/gpu.py's tiny model, sampled in 2 steps."""
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gpu
    finally:
        sys.path.remove(str(ROOT / "bench"))
    model: Path = gpu.make_model(folder, tiny=True, steps=2)
    (model / "filmlang.json").write_text(json.dumps({"steps": 2, "guidance": 5.0}))
    return model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture
def film(tmp_path: Path, model: Path) -> Path:
    import shutil

    shutil.copytree(model, tmp_path / "model")
    path = tmp_path / "gen.film"
    path.write_text(FILM, encoding="utf-8")
    return path


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "diffusers.jsonl"
    monkeypatch.setenv("FILMC_DIFFUSERS_LOG", str(log))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Each test loads its own copy of the model, in a session of its own.
    with session.Session("test") as own, session.active(own):
        yield log


def read_events(log: Path) -> list[dict[str, Any]]:
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def statuses(result: BuildResult, kind: str) -> dict[str, int]:
    return result.counts().get(kind, {})


def still_bytes(result: BuildResult, cache: Path) -> dict[str, bytes]:
    return {job.identity: (cache / "objects" / job.key[:2] / job.key / "still.png").read_bytes()
            for job, _, _ in result.records() if job.kind == "still"}


def test_stills_are_generated_batched_and_cached(film: Path, events: Path,
                                                 tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = build(film, cache=cache, jobs=2)
    assert result.ok, (result.diagnostics, [f.message for f in result.failures])
    assert statuses(result, "still") == {"ran": 5, "cached": 0, "failed": 0}
    assert all(job.backend.startswith("diffusers@") for job, _, _ in result.records()
               if job.kind == "still")
    log = read_events(events)
    loads = [e for e in log if e["event"] == "load"]
    calls = [e for e in log if e["event"] == "call"]
    assert len(loads) == 1 and loads[0]["device"] == "cpu"
    # Five prompts in batches of at most four (the CPU batch): two pipeline calls.
    assert sorted(e["batch"] for e in calls) == [1, 4]
    first = still_bytes(result, cache)
    from PIL import Image

    with Image.open(cache / "objects" / next(
            job.key[:2] + "/" + job.key for job, _, _ in result.records()
            if job.kind == "still") / "still.png") as image:
        assert image.size == (80, 48)  # 1.25x the frame, in multiples of 16
    assert len(set(first.values())) == 5  # each shot its own picture

    # A change in post (a title) re-encodes its shot from the cached still: no sampling,
    # not even a model load.
    film.write_text(FILM.replace('"Ashcombe"', '"Ashcombe Point"'), encoding="utf-8")
    again = build(film, cache=cache, jobs=2)
    assert again.ok and statuses(again, "still") == {"ran": 0, "cached": 1, "failed": 0}
    assert statuses(again, "segment")["ran"] == 1
    assert len([e for e in read_events(events) if e["event"] == "load"]) == 1
    film.write_text(FILM, encoding="utf-8")

    # The same source in a fresh cache gives the same bytes.
    fresh = build(film, cache=tmp_path / "cache2", jobs=2)
    assert fresh.ok and still_bytes(fresh, tmp_path / "cache2") == first


def run_stills(film: Path, cache: Path) -> Any:
    """Only the stills of a film, through the build's scheduler and GPU pool."""
    from filmlang.api import check_file
    from filmlang.backends.diffusers.check import configure
    from filmlang.build import gpu_pool, runners
    from filmlang.cache.store import Store
    from filmlang.exec.scheduler import Scheduler
    from filmlang.plan.planner import plan_sources

    checked = check_file(film)
    assert checked.film is not None
    sources = plan_sources(checked.film, configure(checked.film, BuildConfig(), film))
    store = Store(cache)
    store.ensure()
    scheduler = Scheduler(store, runners(), workers=2, gpu=gpu_pool())
    return scheduler.run(sources.graph.jobs, list(sources.stills.values()))


def test_out_of_memory_halves_the_batch(film: Path, events: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILMC_SIMULATE_OOM", "1")
    report = run_stills(film, tmp_path / "cache")
    assert not report.failures and report.counts()["still"]["ran"] == 5
    log = read_events(events)
    assert [e["batch"] for e in log if e["event"] == "oom"][:2] == [4, 2]
    assert {e["batch"] for e in log if e["event"] == "call"} == {1}


def test_a_shot_that_never_fits_is_reported_at_its_line(film: Path, events: Path,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setenv("FILMC_SIMULATE_OOM", "0")
    result = build(film, cache=tmp_path / "cache", jobs=2)
    assert result.exit_code == 3 and result.output is None
    failure = result.failures[0]
    assert "out of GPU memory" in failure.message and "--preview" in failure.message
    # Every shot is tried and reported at its own line (a failure does not stop the batch).
    lines = {f.job.origin.line for f in result.failures if f.job.origin is not None}
    assert lines == {19, 22, 23, 24, 25}


def test_a_look_changes_only_the_shots_that_show_it(film: Path) -> None:
    from filmlang.api import check_file
    from filmlang.backends.diffusers.check import configure
    from filmlang.plan.planner import plan_sources

    def stills(text: str) -> dict[str, str]:
        film.write_text(text, encoding="utf-8")
        checked = check_file(film)
        assert checked.film is not None
        config = configure(checked.film, BuildConfig(), film)
        sources = plan_sources(checked.film, config)
        return {f"{scene}/{index}": key for (scene, index), key in sources.stills.items()}

    before = stills(FILM)
    after = stills(FILM.replace("fisherman, wool cap", "fisherman, red wool cap"))
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed == ["storm/2", "storm/3"]  # the two shots TOM is in


def test_without_a_model_or_folder_the_build_says_what_to_do(film: Path, tmp_path: Path
                                                             ) -> None:
    film.write_text(FILM.replace('    model "model"\n', ""), encoding="utf-8")
    result = build(film, cache=tmp_path / "cache")
    assert [d.code for d in result.diagnostics] == ["E0603"]
    assert "needs a model" in result.diagnostics[0].message
    assert "--model PATH" in result.diagnostics[0].help

    film.write_text(FILM.replace('"model"', '"nowhere"'), encoding="utf-8")
    result = build(film, cache=tmp_path / "cache")
    assert "nowhere does not exist" in result.diagnostics[0].message

    (tmp_path / "model" / "model_index.json").unlink()
    film.write_text(FILM, encoding="utf-8")
    result = build(film, cache=tmp_path / "cache")
    message = result.diagnostics[0].message
    assert str(tmp_path / "model") in message and "no model_index.json" in message
    assert "save_pretrained" in result.diagnostics[0].help
    assert not (tmp_path / "cache" / "objects").exists() or not any(
        (tmp_path / "cache" / "objects").iterdir())


def test_cli_model_option_and_missing_extra(film: Path, tmp_path: Path) -> None:
    film.write_text(FILM.replace('    model "model"\n', "").replace(
        "    backend visual=diffusers\n", ""), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FILMC_DIFFUSERS_LOG": str(tmp_path / "l")}
    done = subprocess.run(
        [sys.executable, "-m", "filmlang.cli", "build", str(film), "--model",
         str(tmp_path / "model"), "--cache", str(tmp_path / "cache"), "-j", "2"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "runs on the CPU" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "build" / "gen.mp4").is_file()

    # Without torch (hidden from this interpreter), the error names the extra.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'diffusers'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hide())\n")
    done = subprocess.run(
        [sys.executable, "-m", "filmlang.cli", "build", str(film), "--model",
         str(tmp_path / "model"), "--cache", str(tmp_path / "cache3")],
        capture_output=True, text=True, timeout=300,
        env={**env, "PYTHONPATH": str(hide)})
    assert done.returncode == 1, done.stderr
    assert "[E0603]" in done.stderr and "pip install 'filmlang[gpu]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_gpu_bench_runs_tiny_on_the_cpu(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import ROOT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("FILMC_DIFFUSERS_LOG", "")
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import gpu

    assert gpu.main(["--tiny", "--shots", "3", "--repeats", "3"]) == 0
    out = capsys.readouterr().out
    assert "device: CPU" in out and "3 shots, 1 distinct stills" in out
    assert "batches [1]" in out  # one distinct still, one call
    assert "naive loop:" in out and "filmlang:" in out and "ratio: " in out


def test_the_busy_bench_builds_tiny_with_a_stand_in_sampler(
        model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/gpu_busy.py (run on a GPU by bench/gpu_device.sh): a real `filmc build` of
    the tiny model, sampled by a stand-in nvidia-smi that reports 0, 35, 100, 0, ..."""
    from conftest import ROOT

    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\n" + '''import datetime, sys, time
if "-lms" not in sys.argv:
    sys.exit(0)
for i in range(100000):
    now = datetime.datetime.now().strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
    print(f"{now}, {[0, 35, 100][i % 3]}, {1000 + i}", flush=True)
    time.sleep(0.05)
''')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import gpu_busy

    out = tmp_path / "busy.json"
    assert gpu_busy.main(["--tiny", "--model", str(model), "--shots", "2",
                          "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["build_exit"] == 0 and not result["timed_out"]
    assert result["images"] == 2 and result["jobs"]["still"]["count"] == 2
    assert result["jobs"]["mux"]["count"] == 1  # the whole film, linked
    assert {"startup_s", "load_s", "generation_s", "tail_s"} <= set(result["phases"])
    build = result["build"]
    assert build["samples"] >= 10 and 0.5 < build["busy_fraction"] < 0.8
    assert result["target_met"] is False
    assert gpu_busy.parse_sample("[N/A], [N/A], 0", 1.0) is None


def make_tiny_svd(folder: Path) -> Path:
    """A Stable Video Diffusion pipeline with tiny random weights, as a model folder."""
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=8,
        out_channels=4, down_block_types=("CrossAttnDownBlockSpatioTemporal",
                                          "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=16, num_attention_heads=(2, 2), num_frames=14,
        projection_class_embeddings_input_dim=3 * 8, addition_time_embed_dim=8)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"])
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
        image_size=224, patch_size=32, projection_dim=16))
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
        prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))
    pipe.save_pretrained(folder / "svd")
    (folder / "svd" / "filmlang.json").write_text(json.dumps({"steps": 2}))
    return folder / "svd"


def moving(text: str, clip_model: str | None) -> str:
    """FILM with TOM's close-up (line 24) moved by the video model."""
    text = text.replace("shot close_up TOM 1s", "shot close_up TOM 0.5s {\n"
                        "        motion generative\n    }")
    if clip_model:
        text = text.replace('    model "model"\n',
                            f'    model "model"\n    clip_model "{clip_model}"\n')
    return text


def test_generative_motion_needs_a_video_model_that_can_make_the_shot(
        film: Path, tmp_path: Path) -> None:
    film.write_text(moving(FILM, None), encoding="utf-8")
    result = build(film, cache=tmp_path / "cache")
    assert [d.code for d in result.diagnostics] == ["E0604"]
    problem = result.diagnostics[0]
    assert "needs a video model" in problem.message and problem.span.line == 24
    assert "clip_model" in problem.help and "motion camera" in problem.help

    film.write_text(moving(FILM, "model"), encoding="utf-8")  # an image model
    result = build(film, cache=tmp_path / "cache")
    assert [d.code for d in result.diagnostics] == ["E0604"]
    assert "StableDiffusionPipeline, not a video pipeline" in result.diagnostics[0].message
    assert "StableVideoDiffusionPipeline" in result.diagnostics[0].help


def test_clip_plans_follow_each_familys_frame_rules() -> None:
    from filmlang.backends.diffusers.clips import FAMILIES, clip_plan

    svd, ltx = FAMILIES["StableVideoDiffusionPipeline"], FAMILIES["LTXPipeline"]
    wan, cog = FAMILIES["WanPipeline"], FAMILIES["CogVideoXPipeline"]
    assert clip_plan(svd, 1.0, 25) == clip_plan(svd, 1.0, 14)  # 8 frames at 7 fps
    assert clip_plan(svd, 1.0, 25).frames == 8
    assert clip_plan(svd, 10.0, 25).frames == 25 and clip_plan(svd, 10.0, 25).chunks == 3
    assert clip_plan(ltx, 2.0, 257).frames == 49  # 8k+1
    assert clip_plan(wan, 1.0, 81).frames == 17  # 4k+1
    assert (clip_plan(cog, 10.0, 49).frames, clip_plan(cog, 10.0, 49).chunks) == (49, 2)
    for family in FAMILIES.values():
        for tenths in range(1, 80):
            plan = clip_plan(family, tenths / 10, family.longest)
            assert (plan.frames - family.offset) % family.step == 0
            assert plan.frames <= family.longest
            covered = plan.chunks * (plan.frames - 1) + 1
            assert covered >= tenths / 10 * family.fps


def test_a_generated_clip_moves_its_shot(film: Path, events: Path, tmp_path: Path) -> None:
    make_tiny_svd(tmp_path)
    film.write_text(moving(FILM, "svd"), encoding="utf-8")
    result = build(film, cache=tmp_path / "cache", jobs=2)
    assert result.ok, (result.diagnostics, [f.message for f in result.failures])
    clips = [job for job, status, _ in result.records() if job.kind == "clip"]
    assert len(clips) == 1 and clips[0].identity == "clip:storm/3"
    folder = tmp_path / "cache" / "objects" / clips[0].key[:2] / clips[0].key
    assert len(sorted(folder.glob("frame_*.png"))) == clips[0].params["frames"] == 5
    log = read_events(events)
    assert [e["frames"] for e in log if e["event"] == "clip"] == [5]
    segments = [job for job, _, _ in result.records()
                if job.kind == "segment" and job.identity == "segment:storm/3"]
    assert clips[0].key in segments[0].inputs

    # A change in post re-encodes the segment from the cached clip.
    film.write_text(moving(FILM, "svd").replace('"Ashcombe"', '"Ashcombe Point"'),
                    encoding="utf-8")
    again = build(film, cache=tmp_path / "cache", jobs=2)
    assert again.ok and again.counts().get("clip", {}).get("ran", 0) == 0

    # Out of memory, the clip is sampled again decoding fewer frames at once.
    os.environ["FILMC_SIMULATE_OOM"] = "2"
    try:
        tight = build(film, cache=tmp_path / "cache-tight", jobs=2)
    finally:
        del os.environ["FILMC_SIMULATE_OOM"]
    assert tight.ok, [f.message for f in tight.failures]
    assert [e["decode"] for e in read_events(events) if e["event"] == "clip-oom"] == [5]
    clip = next(job for job, _, _ in tight.records() if job.kind == "clip")
    folder = tmp_path / "cache-tight" / "objects" / clip.key[:2] / clip.key
    assert len(sorted(folder.glob("frame_*.png"))) == 5


def test_character_sheets_condition_shots_when_the_model_has_an_ip_adapter(
        film: Path, tmp_path: Path) -> None:
    from filmlang.api import check_file
    from filmlang.backends.diffusers.check import configure
    from filmlang.plan.planner import plan_sources

    (tmp_path / "model" / "image_encoder").mkdir()
    (tmp_path / "model" / "ip_adapter").mkdir()
    (tmp_path / "model" / "ip_adapter" / "ip-adapter_sd15.safetensors").write_bytes(b"w")

    def plan(text: str) -> dict[str, Any]:
        film.write_text(text, encoding="utf-8")
        checked = check_file(film)
        assert checked.film is not None
        sources = plan_sources(checked.film, configure(checked.film, BuildConfig(), film))
        return {job.identity: job for job in sources.graph.jobs.values()
                if job.kind in ("still", "character")}

    before = plan(FILM)
    assert sorted(k for k in before if k.startswith("character:")) == [
        "character:MARA", "character:TOM"]
    mara, tom = before["character:MARA"].key, before["character:TOM"].key
    # Shots are conditioned on their first subject's sheet.
    assert before["still:storm/1"].inputs == (mara,)
    assert before["still:storm/2"].inputs == (mara,)
    assert before["still:storm/3"].inputs == (tom,)
    assert before["still:storm/0"].inputs == ()
    after = plan(FILM.replace("fisherman, wool cap", "fisherman, red wool cap"))
    changed = sorted(k for k in before if before[k].key != after[k].key)
    # TOM's sheet, and the shots that show him (the two-shot's prompt names his look).
    assert changed == ["character:TOM", "still:storm/2", "still:storm/3"]


def add_tiny_ip_adapter(model: Path) -> None:
    """IP-Adapter weights for the tiny model (image projection, per-layer key/value
    projections) and a tiny CLIP image encoder, in the layout of h94/IP-Adapter."""
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(1)
    folder = model / "ip_adapter"
    CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
        image_size=32, patch_size=8, projection_dim=16)).save_pretrained(folder / "image_encoder")
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    cross = unet.config.cross_attention_dim
    tensors = {"image_proj.proj.weight": torch.randn(4 * cross, 16) * 0.1,
               "image_proj.proj.bias": torch.zeros(4 * cross),
               "image_proj.norm.weight": torch.ones(cross),
               "image_proj.norm.bias": torch.zeros(cross)}
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        hidden = unet.get_submodule(name.rsplit(".processor", 1)[0]).to_k.out_features
        for part in ("to_k_ip", "to_v_ip"):
            tensors[f"ip_adapter.{key}.{part}.weight"] = torch.randn(hidden, cross) * 0.1
        key += 2
    save_file(tensors, str(folder / "ip-adapter_tiny.safetensors"))


def test_ip_adapter_sheets_are_generated_and_condition_their_shots(
        film: Path, events: Path, tmp_path: Path) -> None:
    add_tiny_ip_adapter(tmp_path / "model")
    report = run_stills(film, tmp_path / "cache")
    assert not report.failures, [f.message for f in report.failures]
    counts = report.counts()
    assert counts["character"]["ran"] == 2 and counts["still"]["ran"] == 5
    log = read_events(events)
    assert len([e for e in log if e["event"] == "load"]) == 1
    # The sheets (64x64) in one call; then the shots, conditioned ones apart.
    assert next(e["batch"] for e in log if e["event"] == "call") == 2

    film.write_text(FILM.replace("fisherman, wool cap", "fisherman, red wool cap"),
                    encoding="utf-8")
    again = run_stills(film, tmp_path / "cache")
    assert again.counts()["character"] == {"ran": 1, "cached": 1, "failed": 0}
    assert again.counts()["still"]["ran"] == 2


def test_a_reference_image_is_the_characters_sheet(film: Path, events: Path,
                                                    tmp_path: Path) -> None:
    from PIL import Image

    add_tiny_ip_adapter(tmp_path / "model")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "tom.png")
    film.write_text(FILM.replace('look "fisherman, wool cap"',
                                 'look "fisherman, wool cap"\n    reference "tom.png"'),
                    encoding="utf-8")
    report = run_stills(film, tmp_path / "cache")
    assert not report.failures, [f.message for f in report.failures]
    sheets = {r.job.identity: r.job for r in report.records.values()
              if r.job.kind == "character"}
    assert sheets["character:TOM"].params["source"] == "reference"
    tom = tmp_path / "cache" / "objects" / sheets["character:TOM"].key[:2] / \
        sheets["character:TOM"].key / "still.png"
    with Image.open(tom) as image:
        assert image.size == (64, 64) and image.getpixel((32, 32)) == (200, 30, 30)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_stills_on_the_gpu_in_half_precision(film: Path, events: Path, tmp_path: Path) -> None:
    from filmlang.backends.diffusers import run as diffusers_run

    report = run_stills(film, tmp_path / "cache")
    assert not report.failures, [f.message for f in report.failures]
    loads = [e for e in read_events(events) if e["event"] == "load"]
    assert loads[0]["device"].startswith("cuda")
    assert str(diffusers_run.dtype_for("cuda:0")) in ("torch.bfloat16", "torch.float16")
    assert diffusers_run.lanes() == torch.cuda.device_count()
    # the memory an image took was measured, per model family, into the cache
    memory = json.loads((tmp_path / "cache" / "costs.json").read_text())["memory"]
    assert memory and all(value > 0 for value in memory.values())


def test_batch_sizes_come_from_the_memory_measured_per_model_family(tmp_path: Path) -> None:
    from filmlang.backends.diffusers.run import SD15_BYTES_PER_PIXEL, family, images_that_fit
    from filmlang.cache.costs import CostBook
    from filmlang.jobs import Job

    job = Job(kind="still", backend="diffusers@4", params={
        "model": {"class": "StableDiffusionXLPipeline", "fingerprint": "x"},
        "width": 1024, "height": 1024, "guidance": 5.0})
    assert family(job) == "StableDiffusionXLPipeline|cfg"
    gib = float(2**30)
    # unmeasured: SD 1.5's 1.2 GiB per 512x512 image, doubled by guidance: 9.6 GiB at 1024^2
    assert images_that_fit(48 * gib, None, job) == 4
    book = CostBook(tmp_path)
    book.note_memory(family(job), SD15_BYTES_PER_PIXEL)  # measured: 4.8 GiB an image
    book.save()
    measured = CostBook(tmp_path).memory_per_image(family(job))
    assert measured == SD15_BYTES_PER_PIXEL
    assert images_that_fit(48 * gib, measured, job) == 8
    assert images_that_fit(1 * gib, measured, job) == 1
