"""Model folders for the diffusers backend: where a model is, what it is, and whether it
can be loaded, all without importing torch or diffusers (so `filmc check` stays fast).

A model is a local folder written by `save_pretrained` (it holds `model_index.json`), or a
Hugging Face id already in the local cache (looked up offline). `inspect_model` says what
is missing before any work starts; `model_info` gives what the planner keys on: a
fingerprint of the folder (configs hashed in full, weights by name, size and their first
and last 64 KiB, so a multi-gigabyte model is fingerprinted in milliseconds), the
pipeline class and whether IP-Adapter weights sit beside it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from filmlang.backends.protocol import Availability

VERSION = "1"
GPU_EXTRA = "pip install 'filmlang[gpu]'"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt", ".pth", ".gguf")
EDGE = 64 * 1024

# How many samples and steps a still uses, by pipeline family: few-step models ("turbo")
# are distilled for 1-4 steps without guidance.
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 7.0


class ModelProblem(Exception):
    """The model cannot be used: what is wrong (names the path) and what to do."""

    def __init__(self, message: str, help: str) -> None:
        super().__init__(message)
        self.message = message
        self.help = help


@dataclass(frozen=True)
class ModelInfo:
    path: str
    """The local folder the pipeline loads from (absolute)."""
    class_name: str
    fingerprint: str
    ip_adapter: str | None
    """The IP-Adapter weight file (relative to the folder's `ip_adapter/`), when present."""
    steps: int
    guidance: float
    native: int = 512
    """The side of the square the model was trained at (pixels): stills keep that area."""


def available() -> Availability:
    """torch and diffusers importable (found, not imported: that takes seconds)."""
    missing = [name for name in ("torch", "diffusers", "transformers") if not _found(name)]
    if missing:
        return Availability.no(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'}"
                               " not installed", install=GPU_EXTRA)
    return Availability.yes()


def _found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def locate(text: str, base: Path) -> Path:
    """The folder a `model` names: a path (relative to `base`), else a Hugging Face id in
    the local cache (offline: nothing is downloaded)."""
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    if candidate.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        return candidate.absolute()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(text, local_files_only=True))
    except Exception:
        raise ModelProblem(
            f"model '{text}' is neither a folder ({candidate}) nor in the local Hugging Face "
            "cache", "no weights are downloaded during a build: download the model once "
            f"(huggingface-cli download {text}) or save it with save_pretrained to a folder "
            "and pass that folder") from None


def inspect_model(folder: Path) -> ModelInfo:
    """Check a model folder before any work; raise ModelProblem naming what is missing."""
    if not folder.exists():
        raise ModelProblem(f"the model folder {folder} does not exist",
                           "pass a folder written by save_pretrained (--model PATH or "
                           "model \"PATH\" in the film block)")
    if not folder.is_dir():
        raise ModelProblem(f"the model {folder} is a file, not a folder",
                           "single-file checkpoints are not supported: convert it with "
                           "diffusers' from_single_file(...).save_pretrained(FOLDER)")
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        raise ModelProblem(f"the model folder {folder} has no model_index.json",
                           "a diffusers pipeline folder holds model_index.json and one "
                           "folder per component (unet, vae, text_encoder, ...): write it "
                           "with pipeline.save_pretrained(FOLDER)")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        class_name = str(index["_class_name"])
    except (ValueError, KeyError, TypeError):
        raise ModelProblem(f"{index_path} is not a diffusers model index (no _class_name)",
                           "write the folder again with pipeline.save_pretrained") from None
    missing = []
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue
        if not (folder / name).is_dir():
            missing.append(name)
    if missing:
        raise ModelProblem(
            f"the model folder {folder} lacks the component folder"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} that model_index.json "
            "lists", "copy the whole folder that save_pretrained wrote")
    steps, guidance = _sampling(folder)
    return ModelInfo(path=str(folder), class_name=class_name,
                     fingerprint=_fingerprint(folder), ip_adapter=_ip_adapter(folder),
                     native=_native(folder), steps=steps, guidance=guidance)


@lru_cache(maxsize=16)
def _cached(folder: str, stamp: float) -> ModelInfo:
    return inspect_model(Path(folder))


def model_info(folder: Path) -> ModelInfo:
    """inspect_model, remembered while the folder's index is unchanged."""
    index = folder / "model_index.json"
    stamp = index.stat().st_mtime if index.is_file() else 0.0
    return _cached(str(folder), stamp)


def _fingerprint(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = path.stat().st_size
        sha.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as handle:
            if path.suffix in WEIGHT_SUFFIXES and size > 2 * EDGE:
                sha.update(handle.read(EDGE))
                handle.seek(size - EDGE)
                sha.update(handle.read(EDGE))
            else:
                sha.update(handle.read())
    return sha.hexdigest()


def _native(folder: Path) -> int:
    """The denoiser's sample size times the VAE's scale factor (512 for SD 1.5)."""
    def config(name: str) -> dict[str, object]:
        try:
            data = json.loads((folder / name / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    denoiser = config("unet") or config("transformer")
    channels = config("vae").get("block_out_channels")
    sample = denoiser.get("sample_size")
    if not isinstance(sample, int) or not isinstance(channels, list):
        return 1024
    return int(sample * 2 ** (len(channels) - 1))


def _ip_adapter(folder: Path) -> str | None:
    """IP-Adapter weights in `ip_adapter/`, with its `image_encoder/` inside that folder
    (the layout of h94/IP-Adapter's `models/`) or beside it."""
    weights = folder / "ip_adapter"
    if not weights.is_dir() or not ((weights / "image_encoder").is_dir()
                                    or (folder / "image_encoder").is_dir()):
        return None
    found = sorted(p.name for p in weights.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    return found[0] if found else None


def _sampling(folder: Path) -> tuple[int, float]:
    """Steps and guidance for a model: `filmlang.json` in the folder may set them."""
    steps, guidance = DEFAULT_STEPS, DEFAULT_GUIDANCE
    if "turbo" in folder.name.lower():
        steps, guidance = 2, 0.0
    settings = folder / "filmlang.json"
    if settings.is_file():
        try:
            data = json.loads(settings.read_text(encoding="utf-8"))
            steps = int(data.get("steps", steps))
            guidance = float(data.get("guidance", guidance))
        except (ValueError, TypeError, AttributeError):
            raise ModelProblem(f"{settings} is not valid JSON with numbers for steps and "
                               "guidance", 'write e.g. {"steps": 20, "guidance": 7}') from None
    env = os.environ.get("FILMC_DIFFUSERS_STEPS")
    if env and env.isdigit():
        steps = int(env)
    return max(1, steps), guidance
