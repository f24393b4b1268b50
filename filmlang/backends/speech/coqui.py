"""The Coqui engine: speech from a Coqui `TTS` model already on disk, never downloaded.

The model is a character's own (`voice "coqui:path/to/folder"`, relative to the film's
file) or the folder named by `FILMC_COQUI_MODEL`: its `config.json` and its checkpoint
(`model.pth`, `model_file.pth`, `best_model.pth`, or else the one `*.pth`/`*.pt` in it), as
Coqui's `Synthesizer(tts_checkpoint=..., tts_config_path=...)` loads them; a
`speakers.pth`/`speakers.json` beside them is found by the config itself. The engine is
only used when asked for (`backend voice=coqui`, `--backend voice=coqui`): it is not in
`speech.PREFERENCE`. `TTS` and torch are imported only in `synthesize`; `available()`
reads no more than the folder's listing.

Determinism: the model runs on the CPU with a fixed number of torch threads, and torch,
numpy and `random` are seeded from a hash of (the request's seed, variant, sentence) before
each sentence, so a line's samples depend on the request alone.

The key (`fingerprint`): the versions of coqui-tts and torch, the sha256 of `config.json`
and of the checkpoint (hashed once per size and mtime in a process, `jobs.file_digest`).

A character's voice, as in `speech_piper`: `pitch` shifts by resampling the finished take
(formants move too); `rate` and the parenthetical's pace go to the model as its
`length_scale` (VITS, Glow-TTS) or `speed` (XTTS), with the pitch shift's change of pace
compensated; a model with neither (Tacotron 2) keeps its own pace, shifted by the pitch.
`speaker=` (else `variant`) names a speaker of a multi-speaker model; a variant that is no
speaker gives a small fixed tweak. `gender=`/`age=` do not transform a model of one's own. The
take is trimmed, resampled to 48 kHz and finished by `speech_dsp.finish` (whisper, tilt,
level, gain from `volume` and the delivery, limiter) like every other engine's.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import ir, session
from filmlang.backends.protocol import Availability
from filmlang.backends.speech import dsp, voicing
from filmlang.backends.speech.core import (
    SpeechRequest,
    SpeechUnavailable,
    language_tags,
    speaks,
    stable_hash,
    voice_delivery,
    words_per_minute,
    write_takes,
)

if TYPE_CHECKING:
    from filmlang.backends.speech.dsp import Samples

MODEL_ENV = "FILMC_COQUI_MODEL"
PACKAGE = "TTS"
"""The import name of Coqui's library; `coqui-tts` (or the older `TTS`) on PyPI."""
INSTALL_PACKAGE = "pip install coqui-tts"
INSTALL_MODEL = (f"set ${MODEL_ENV} to a folder holding a Coqui model's config.json and its "
                 "checkpoint (model.pth)")
CHECKPOINTS = ("model.pth", "model_file.pth", "best_model.pth", "model.pt", "checkpoint.pth")
"""Checkpoint names tried in order before any other `*.pth`/`*.pt` in the folder."""
NATURAL_WPM = 170.0
"""The pace `rate` is relative to; a Coqui model's own pace varies, so this is nominal."""
THREADS = 2
"""torch intra-op threads. Fixed: results may differ in their last bits otherwise."""
SENTENCE_PAUSE = 0.3
"""Seconds between the sentences of one line, at the natural pace."""


@dataclass(frozen=True)
class ModelFiles:
    """A Coqui model folder: its config and its checkpoint."""

    folder: Path
    config: Path
    checkpoint: Path


def model_folder(voice: ir.Voice | None = None) -> Path | None:
    """The folder a voice names as its own (`voice "coqui:FOLDER"`), else the one
    `$FILMC_COQUI_MODEL` names, or None when neither is set."""
    if voice is not None and voice.model and voice.model.startswith("coqui:"):
        return Path(voice.model[len("coqui:"):])
    chosen = os.environ.get(MODEL_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else None


def find_checkpoint(folder: Path) -> Path | None:
    """The model's checkpoint in `folder` (a listing, nothing loaded), or None."""
    for name in CHECKPOINTS:
        if (folder / name).is_file():
            return folder / name
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".pth", ".pt")
                   and not p.name.startswith(("speakers", "language", "d_vector")))
    return found[0] if found else None


def model_files(voice: ir.Voice | None = None) -> ModelFiles | Availability:
    """The model's files, or why there are none (cheap: no loading): a config that is not
    JSON, or an empty checkpoint, is broken."""
    folder = model_folder(voice)
    if folder is None:
        return Availability.no(f"${MODEL_ENV} is not set (no Coqui model folder)",
                               INSTALL_MODEL)
    if not folder.is_dir():
        return Availability.no(f"the Coqui model folder {folder} does not exist "
                               f"(from ${MODEL_ENV})", INSTALL_MODEL)
    config = folder / "config.json"
    if not config.is_file():
        return Availability.no(f"the Coqui model folder {folder} has no config.json",
                               INSTALL_MODEL)
    checkpoint = find_checkpoint(folder)
    if checkpoint is None:
        return Availability.no(f"the Coqui model folder {folder} has no checkpoint "
                               "(model.pth or another *.pth)", INSTALL_MODEL)
    try:
        parsed = json.loads(_read_config(config))
    except (OSError, ValueError) as exc:
        return Availability.no(f"the Coqui model config {config} is broken "
                               f"({type(exc).__name__}: {exc})", INSTALL_MODEL)
    if not isinstance(parsed, dict):
        return Availability.no(f"the Coqui model config {config} is not a JSON object",
                               INSTALL_MODEL)
    if checkpoint.stat().st_size == 0:
        return Availability.no(f"the Coqui checkpoint {checkpoint} is empty", INSTALL_MODEL)
    return ModelFiles(folder=folder, config=config, checkpoint=checkpoint)


@lru_cache(maxsize=16)
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def runtime_version() -> str:
    """The versions of the library (coqui-tts, or the older TTS) and of torch."""
    tts = _version("coqui-tts")
    if tts == "missing":
        tts = _version("TTS")
    return f"coqui-tts {tts}, torch {_version('torch')}"


def _read_config(path: Path) -> bytes:
    """The config's bytes, read each time: it is small, and an edit that keeps its size and
    mtime must still change the key."""
    return path.read_bytes()


def _language_tags(config: dict[str, Any]) -> frozenset[str]:
    """The languages a Coqui config says its model speaks (lower case, `-` not `_`)."""
    tags: set[str] = set()
    for key in ("phoneme_language", "language"):
        if isinstance(config.get(key), str):
            tags.add(config[key])
    if isinstance(config.get("languages"), list):
        tags.update(str(item) for item in config["languages"])
    for dataset in config.get("datasets") or []:
        if isinstance(dataset, dict) and isinstance(dataset.get("language"), str):
            tags.add(dataset["language"])
    return language_tags(tags)


class CoquiEngine:
    """Coqui TTS with the local model in $FILMC_COQUI_MODEL."""

    name = "coqui"
    version = "1"
    kind = "speech"

    def available(self, voice: ir.Voice | None = None) -> Availability:
        """Everything missing at once: the package, and the model folder or its files."""
        reasons: list[str] = []
        installs: list[str] = []
        if find_spec(PACKAGE) is None:
            reasons.append(f"the Coqui TTS Python package ({PACKAGE}) is not installed")
            installs.append(INSTALL_PACKAGE)
        files = model_files(voice)
        if isinstance(files, Availability):
            reasons.append(files.reason)
            installs.append(files.install)
        if reasons:
            return Availability.no(" and ".join(reasons), "; ".join(installs))
        return Availability.yes()

    def supports(self, voice: ir.Voice) -> bool:
        """The voice's language is one the model's config names; "" is the model's own.

        A config that names no language speaks whatever it is asked to (it was chosen by
        name, so the film's author knows the model).
        """
        if not voice.name or voice.model:
            return True
        files = model_files(voice)
        if isinstance(files, Availability):
            return False
        try:
            config = json.loads(_read_config(files.config))
        except (OSError, ValueError):
            return False
        tags = _language_tags(config) if isinstance(config, dict) else frozenset()
        return not tags or speaks(tags, voice)

    def fingerprint(self, voice: ir.Voice | None = None) -> dict[str, str]:
        """The runtime's versions, the config's hash, the checkpoint's name and hash."""
        from filmlang.jobs import file_digest

        runtime = runtime_version()
        files = model_files(voice)
        if isinstance(files, Availability):
            return {"model": "missing", "runtime": runtime}
        try:
            config = hashlib.sha256(_read_config(files.config)).hexdigest()
            checkpoint = file_digest(files.checkpoint)
        except OSError:
            return {"model": "missing", "runtime": runtime}
        return {"model": f"config sha256:{config}, checkpoint {files.checkpoint.name} "
                         f"sha256:{checkpoint}", "runtime": runtime}

    def synthesize(self, requests: list[SpeechRequest], outputs: list[Path],
                   memo: Path | None = None) -> list[float]:
        def locked(request: SpeechRequest) -> Samples:
            # One take at a time: rendering seeds torch's, numpy's and random's global
            # generators. _load is once per session: the first take loads the model.
            with _RENDER_LOCK:
                return render(_load(request.voice), request)

        return write_takes(requests, outputs, locked)


@dataclass(frozen=True)
class _Model:
    synthesizer: Any  # TTS.utils.synthesizer.Synthesizer
    torch: Any  # the torch module
    sample_rate: int
    speakers: tuple[str, ...]
    languages: tuple[str, ...]
    length_scale: float | None  # the model's own, when it has one (VITS, Glow-TTS)
    takes_speed: bool  # XTTS: `speed=` goes through `Synthesizer.tts` to its inference


_RENDER_LOCK = threading.Lock()


def _names(manager: Any, attribute: str) -> tuple[str, ...]:
    names = getattr(manager, attribute, None) if manager is not None else None
    return tuple(str(name) for name in names) if names else ()


def _load(voice: ir.Voice | None = None) -> _Model:
    """The model, loaded once per session (cache `coqui.models`) on the CPU; later calls
    reuse it."""
    ready = CoquiEngine().available(voice)
    if not ready:
        raise SpeechUnavailable(f"Coqui TTS cannot run: {ready.reason} ({ready.install})",
                                ready.install)
    files = model_files(voice)
    assert isinstance(files, ModelFiles)
    stat = files.checkpoint.stat()
    key = (files.checkpoint.resolve(), stat.st_size, stat.st_mtime_ns)
    models = session.current().cache("coqui.models")
    model: _Model = models.get_or_make(key, lambda: _open(files))
    return model


def _open(files: ModelFiles) -> _Model:
    torch = importlib.import_module("torch")  # untyped, optional: reached by name
    synthesis = importlib.import_module("TTS.utils.synthesizer")
    torch.set_num_threads(THREADS)
    config = json.loads(_read_config(files.config))
    xtts = isinstance(config, dict) and config.get("model") == "xtts"
    # XTTS loads itself from its folder (checkpoint, vocabulary, speakers), not one file.
    checkpoint = files.folder if xtts else files.checkpoint
    synthesizer = synthesis.Synthesizer(tts_checkpoint=str(checkpoint),
                                        tts_config_path=str(files.config), use_cuda=False)
    tts_model = synthesizer.tts_model
    scale = getattr(tts_model, "length_scale", None)
    return _Model(
        synthesizer=synthesizer, torch=torch,
        sample_rate=int(synthesizer.output_sample_rate),
        speakers=_names(getattr(tts_model, "speaker_manager", None), "speaker_names"),
        languages=_names(getattr(tts_model, "language_manager", None), "language_names"),
        length_scale=float(scale) if isinstance(scale, int | float) else None,
        takes_speed=xtts)


def _speaker(model: _Model, variant: str | None) -> str | None:
    """The speaker a variant names in a multi-speaker model (by name or number), if any."""
    if len(model.speakers) <= 1 or not variant:
        return None
    if variant in model.speakers:
        return variant
    if variant.isdigit() and int(variant) < len(model.speakers):
        return model.speakers[int(variant)]
    return None


def _language(model: _Model, voice: ir.Voice) -> str | None:
    """The language to ask a multilingual model for: the voice's, else the model's first."""
    if not model.languages:
        return None
    wanted = voice.name.lower().replace("_", "-")
    for candidate in (wanted, wanted.split("-")[0]):
        for language in model.languages:
            if language.lower().replace("_", "-") == candidate:
                return language
    return model.languages[0]


def _seed(model: _Model, key: int) -> None:
    """Seed every generator Coqui may draw from: torch, numpy and `random`."""
    import random

    import numpy as np

    model.torch.manual_seed(key & 0x7FFF_FFFF_FFFF_FFFF)
    np.random.seed(key & 0xFFFF_FFFF)
    random.seed(key)


def render(model: _Model, request: SpeechRequest) -> Samples:
    """The finished samples of one request at 48 kHz (trimmed, shaped, levelled)."""
    import numpy as np

    voice = request.voice
    speaker = _speaker(model, voice.speaker or voice.variant)
    language = _language(model, voice)
    delivery = voice_delivery(request, variant=speaker is None)
    pace = words_per_minute(voice, NATURAL_WPM) / NATURAL_WPM * delivery.speed
    shift = 2.0 ** (delivery.semitones / 12.0)
    # Resampling to raise the pitch by `shift` also shortens by `shift`: slow down first.
    stretch = min(max(shift / pace, 0.2), 5.0)
    options: dict[str, Any] = {"split_sentences": False}
    if speaker is not None:
        options["speaker_name"] = speaker
    if language is not None:
        options["language_name"] = language
    tts_model = model.synthesizer.tts_model
    if model.length_scale is not None:
        tts_model.length_scale = model.length_scale * stretch
    elif model.takes_speed:
        options["speed"] = 1.0 / stretch
    played_at = model.sample_rate * shift
    key = stable_hash("coqui", request.seed, voice.variant or "")

    pieces: list[Samples] = []
    pause = dsp.silence(SENTENCE_PAUSE / pace)
    try:
        sentences = model.synthesizer.split_into_sentences(request.text)
        for index, sentence in enumerate(sentences):
            if not str(sentence).strip():
                continue
            _seed(model, stable_hash(key, "sentence", index))
            with model.torch.inference_mode():
                wav = model.synthesizer.tts(str(sentence), **options)
            audio = dsp.trim(np.asarray(wav, dtype=np.float32).reshape(-1), model.sample_rate)
            if len(audio) == 0:
                continue
            if pieces:
                pieces.append(pause)
            audio = voicing.transform(audio, played_at, voice, delivery,
                                      stable_hash(key, "voicing", index))
            pieces.append(dsp.to_output_rate(audio, played_at))
    finally:
        if model.length_scale is not None:
            tts_model.length_scale = model.length_scale
    if not pieces:
        return dsp.silence(0.25)
    samples = np.concatenate(pieces)
    return dsp.finish(samples, gain_db=delivery.gain_db, volume=voice.volume,
                      tilt_amount=delivery.tilt,
                      whisper_key=stable_hash(key, "whisper") if delivery.whisper else None,
                      breath=delivery.breath, breath_key=stable_hash(key, "breath"),
                      placement=request.placement)
