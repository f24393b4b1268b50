"""The eSpeak NG engine: formant speech in a hundred languages, from the `espeak-ng` binary.

Each request runs `espeak-ng -v NAME[+VARIANT] -p PITCH -s WPM -w FILE` (text on stdin),
then the take is trimmed, resampled to 48 kHz and finished like every other engine's
(`speech_dsp.finish`). `pitch` maps to `-p` directly (both are 0..100 around 50), `rate` to
`-s`, `variant` to espeak's own variants (`m3`, `f2`, `whisper`, ...); a whispered line
uses the `whisper` variant unless the character already has one. eSpeak has no randomness,
so the seed changes nothing but the noise of a whisper made by `speech_dsp`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from filmlang import ir
from filmlang.audio import read_wav
from filmlang.backends.protocol import Availability
from filmlang.backends.speech import dsp
from filmlang.backends.speech.core import (
    SpeechRequest,
    SpeechUnavailable,
    parenthetical_delivery,
    stable_hash,
    words_per_minute,
    write_takes,
)

BINARY = "espeak-ng"
NATURAL_WPM = 175.0
"""eSpeak's default `-s`."""
INSTALL = "install espeak-ng (apt-get install espeak-ng; on macOS: brew install espeak-ng)"
SEMITONE_TO_P = 4.0
"""`-p` steps per semitone of a parenthetical's pitch change (roughly)."""
GENDER_VARIANTS = {"female": "f2", "male": "m3", "neutral": "f5"}
"""eSpeak's own variants for `gender=`, when the voice names none."""
AGE_PITCH = {"child": 30, "young": 8, "old": -8}
"""`-p` steps added for `age=` (eSpeak's variants have no age)."""


def _binary() -> str | None:
    return shutil.which(BINARY)


@lru_cache(maxsize=4)
def _voices(binary: str) -> frozenset[str]:
    """Every name `-v` accepts: languages, voice names and voice files, lower-cased."""
    try:
        listing = subprocess.run([binary, "--voices"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    names: set[str] = set()
    for row in listing.splitlines()[1:]:
        cells = row.split()
        if len(cells) >= 5:
            names.update({cells[1], cells[3], cells[4].rsplit("/", 1)[-1]})
    return frozenset(name.lower() for name in names)


@lru_cache(maxsize=4)
def _version(binary: str) -> str:
    try:
        text = subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return text.split("Data at")[0].strip() or "unknown"


class EspeakEngine:
    """eSpeak NG through its command-line program."""

    name = "espeak"
    version = "1"
    kind = "speech"

    def available(self, voice: ir.Voice | None = None) -> Availability:
        if _binary() is None:
            return Availability.no(f"{BINARY} is not installed (not found on PATH)", INSTALL)
        return Availability.yes()

    def supports(self, voice: ir.Voice) -> bool:
        binary = _binary()
        if binary is None:
            return False
        return not voice.name or voice.name.lower() in _voices(binary)

    def fingerprint(self, voice: ir.Voice | None = None) -> dict[str, str]:
        binary = _binary()
        return {"binary": _version(binary) if binary else "missing"}

    def synthesize(self, requests: list[SpeechRequest], outputs: list[Path],
                   memo: Path | None = None) -> list[float]:
        binary = _binary()
        if binary is None and requests:
            raise SpeechUnavailable(f"{BINARY} is not installed: {INSTALL}", INSTALL)
        return write_takes(requests, outputs, lambda request: _render(binary or "", request))


def command(binary: str, request: SpeechRequest, wav: Path) -> list[str]:
    """The espeak-ng command line for a request (the text goes on stdin)."""
    voice = request.voice
    delivery = parenthetical_delivery(request.parenthetical)
    name = voice.name or "en"
    variant = voice.variant or ("whisper" if delivery.whisper else "") or GENDER_VARIANTS.get(
        voice.gender or "", "")
    pitch = min(max(round(voice.pitch + AGE_PITCH.get(voice.age or "", 0)
                          + SEMITONE_TO_P * delivery.semitones), 0), 99)
    wpm = min(max(round(words_per_minute(voice, NATURAL_WPM) * delivery.speed), 80), 450)
    return [binary, "-v", f"{name}+{variant}" if variant else name, "-p", str(pitch),
            "-s", str(wpm), "-b", "1", "-w", str(wav), "--stdin"]


def _render(binary: str, request: SpeechRequest) -> dsp.Samples:
    delivery = parenthetical_delivery(request.parenthetical)
    with tempfile.TemporaryDirectory(prefix="filmc-espeak-") as folder:
        wav = Path(folder) / "take.wav"
        done = subprocess.run(command(binary, request, wav), input=request.text.encode(),
                              capture_output=True, timeout=120, check=False)
        if done.returncode != 0 or not wav.is_file():
            problem = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            raise SpeechUnavailable(
                f"espeak-ng could not speak voice {request.voice.name or 'en'!r}: {problem}",
                "see `espeak-ng --voices` for the voices it has")
        audio, rate = read_wav(wav)
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    mono = dsp.trim(mono, rate)
    if len(mono) == 0:
        return dsp.silence(0.25)
    samples = dsp.to_output_rate(mono, rate)
    # espeak whispers by itself through its variant; only a character with its own variant
    # needs the filter.
    whisper = delivery.whisper and bool(request.voice.variant)
    return dsp.finish(samples, gain_db=delivery.gain_db, volume=request.voice.volume,
                      tilt_amount=delivery.tilt,
                      whisper_key=stable_hash("espeak", request.seed, "whisper")
                      if whisper else None, placement=request.placement)
