"""Speech: a character's line in, a 48 kHz mono WAV and its duration out.

`filmc build` turns each line of dialogue into a `SpeechRequest`, picks an engine with
`choose_engine`, keys the job with `engine_params`, and later calls `synthesize`, which
writes one 16-bit WAV per request and returns each one's length in seconds (exactly the
written file's), from which the timeline is solved.

Engines, by name in `ENGINES`:
- `piper` (`speech_piper`): neural speech from a local Piper voice, the bundled US-English
  joe voice by default or `$FILMC_PIPER_MODEL`. The best voice, English only with joe.
- `espeak` (`speech_espeak`): the `espeak-ng` program; robotic, but many languages.
- `coqui` (`speech_coqui`): a Coqui `TTS` model on disk (`$FILMC_COQUI_MODEL`); only when
  named (`backend voice=coqui`), never chosen on its own, so it is not in `PREFERENCE`.

Every engine is deterministic: a request's WAV bytes depend on the request and the engine
alone (`engine_params` lists all of it), not on the process or on what was said before.
Importing this module is cheap: no numpy, onnxruntime, piper, torch or TTS until
`synthesize`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from filmlang import ir
from filmlang.backends.protocol import Availability
from filmlang.backends.speech.coqui import CoquiEngine
from filmlang.backends.speech.core import (
    DELIVERIES,
    Delivery,
    SpeechRequest,
    SpeechUnavailable,
    parenthetical_delivery,
)
from filmlang.backends.speech.espeak import EspeakEngine
from filmlang.backends.speech.piper import PiperEngine

__all__ = [
    "DELIVERIES",
    "ENGINES",
    "PREFERENCE",
    "Delivery",
    "SpeechEngine",
    "SpeechRequest",
    "SpeechUnavailable",
    "choose_engine",
    "engine_params",
    "parenthetical_delivery",
]


class SpeechEngine(Protocol):
    """What `filmc build` needs of a speech engine."""

    name: str
    """"piper", "espeak", "coqui": the `voice=` of `backend` and of `--backend`."""
    version: str
    """Bumped whenever the output for the same request changes: it is part of every key."""

    def available(self, voice: ir.Voice | None = None) -> Availability:
        """Whether it can run here (cheap: loads no model), for this voice when given (its
        own model's files); if not, what to install or fix."""
        ...

    def supports(self, voice: ir.Voice) -> bool:
        """Whether it can speak this voice (its language), assuming it is available."""
        ...

    def fingerprint(self, voice: ir.Voice | None = None) -> dict[str, str]:
        """What else decides the output (model files, program version): part of the key."""
        ...

    def synthesize(self, requests: list[SpeechRequest], outputs: list[Path],
                   memo: Path | None = None) -> list[float]:
        """Write one mono 16-bit WAV at 48 kHz per request; return each one's seconds.
        `memo`: a folder the engine may keep a prepared model in between processes (the
        build cache's); the samples are the same without it."""
        ...


ENGINES: dict[str, SpeechEngine] = {"piper": PiperEngine(), "espeak": EspeakEngine(),
                                    "coqui": CoquiEngine()}
PREFERENCE = ("piper", "espeak")
"""The order `choose_engine` tries engines in when the film does not name one. Engines
not listed (coqui) are used only when named."""


def choose_engine(voice: ir.Voice, preferred: str = "") -> SpeechEngine:
    """The engine that will speak `voice`: `preferred` if named, else the best available.

    Raises `SpeechUnavailable`, whose message says what to install or change, when the
    named engine is unknown, missing or cannot speak the voice, or when none can.
    """
    language = voice.name or "the default voice"
    if voice.model:
        return _own(voice)
    if preferred:
        engine = ENGINES.get(preferred)
        if engine is None:
            known = ", ".join(sorted(ENGINES))
            raise SpeechUnavailable(f"unknown voice backend {preferred!r} (known: {known})",
                                    f"use one of: {known}")
        ready = engine.available()
        if not ready:
            raise SpeechUnavailable(f"voice backend {preferred!r} is unavailable: "
                                    f"{ready.reason}; to fix it, {ready.install}",
                                    ready.install)
        if not engine.supports(voice):
            advice = ("choose another voice backend (for example voice=espeak)"
                      if preferred != "espeak" else "see `espeak-ng --voices` for its languages")
            raise SpeechUnavailable(
                f"voice backend {preferred!r} cannot speak {language!r}: {advice}", advice)
        return engine

    reasons: list[str] = []
    installs: list[str] = []
    for name in PREFERENCE:
        engine = ENGINES[name]
        ready = engine.available()
        if not ready:
            reasons.append(f"{name}: {ready.reason}")
            installs.append(ready.install)
        elif engine.supports(voice):
            return engine
        else:
            reasons.append(f"{name} cannot speak {language!r}")
    install = next((text for text in reversed(installs) if text), "")
    advice = f"; to fix it, {install}" if install else ""
    raise SpeechUnavailable(f"no speech engine here can speak {language!r} "
                            f"({'; '.join(reasons)}){advice}", install)


def _own(voice: ir.Voice) -> SpeechEngine:
    """The engine of a voice model of one's own ("piper:PATH", "coqui:PATH"), when it can
    load it: else `SpeechUnavailable` naming the file that is missing or broken."""
    assert voice.model is not None
    engine = ENGINES[voice.model.partition(":")[0]]
    ready = engine.available(voice)
    if not ready:
        raise SpeechUnavailable(f"{ready.reason}; to fix it, {ready.install}", ready.install)
    return engine


def engine_params(engine: SpeechEngine, request: SpeechRequest) -> dict[str, Any]:
    """Everything that decides a request's audio, as JSON: the cache key's parameters.

    A voice model of one's own is keyed by its files' hashes (`fingerprint`), not by
    where it lies."""
    voice = request.voice
    return {
        "engine": engine.name,
        "version": engine.version,
        **engine.fingerprint(voice),
        "text": request.text,
        "voice": {"name": voice.name, "pitch": voice.pitch, "rate": voice.rate,
                  "variant": voice.variant, "volume": voice.volume, "gender": voice.gender,
                  "age": voice.age, "speaker": voice.speaker},
        "parenthetical": request.parenthetical,
        "placement": request.placement,
        "seed": request.seed,
    }
