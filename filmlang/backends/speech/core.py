"""What every speech engine shares: the request, the error, and how a line is delivered.

A `SpeechRequest` (text, voice, parenthetical, seed) goes in; `delivery()` turns it into a
`Delivery`: the pitch shift in semitones, the speed relative to the voice's natural pace,
the gain, and whether to whisper. The engines render that; `speech_dsp.finish` levels it.

Parentheticals are matched word by word against `DELIVERIES` (so "(quietly, slowly)"
combines both); unknown words change nothing. No heavy imports here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir

if TYPE_CHECKING:
    from filmlang.audio import Samples

PITCH_RANGE = 6.0
"""Semitones of shift at pitch=0 (down) and pitch=100 (up); 50 is the voice's own pitch."""


@dataclass(frozen=True)
class SpeechRequest:
    """One line to say. The output depends on exactly these fields (and the engine)."""

    text: str
    voice: ir.Voice
    parenthetical: str | None = None
    seed: int = 0


class SpeechUnavailable(Exception):
    """No engine can say this here; `install` says what would fix it."""

    def __init__(self, message: str, install: str = "") -> None:
        super().__init__(message)
        self.install = install


@dataclass(frozen=True)
class Delivery:
    """How a line is said, relative to the character's voice.

    `semitones` shifts the pitch, `speed` multiplies the speaking rate, `gain_db` the level,
    `tilt` brightens (>0) or darkens (<0) the timbre, `whisper` removes the voicing.
    """

    semitones: float = 0.0
    speed: float = 1.0
    gain_db: float = 0.0
    tilt: float = 0.0
    whisper: bool = False

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            semitones=self.semitones + other.semitones,
            speed=self.speed * other.speed,
            gain_db=self.gain_db + other.gain_db,
            tilt=self.tilt + other.tilt,
            whisper=self.whisper or other.whisper,
        )


_WHISPER = Delivery(speed=0.95, gain_db=-12.0, whisper=True)
_QUIET = Delivery(semitones=-0.5, speed=0.95, gain_db=-8.0, tilt=-0.15)
_SHOUT = Delivery(semitones=2.5, speed=1.08, gain_db=8.0, tilt=0.35)
_ANGRY = Delivery(semitones=1.0, speed=1.05, gain_db=3.0, tilt=0.2)
_SAD = Delivery(semitones=-1.0, speed=0.88, gain_db=-3.0, tilt=-0.15)
_BRIGHT = Delivery(semitones=1.5, speed=1.08, gain_db=2.0, tilt=0.1)
_SLOW = Delivery(speed=0.8)
_FAST = Delivery(speed=1.2)

DELIVERIES: dict[str, Delivery] = {
    **dict.fromkeys(("whisper", "whispering", "whispered", "whispers", "breathless"), _WHISPER),
    **dict.fromkeys(("quietly", "quiet", "softly", "soft", "gently", "murmuring", "murmurs",
                     "mumbling", "mutters", "muttering", "low", "hushed"), _QUIET),
    **dict.fromkeys(("shouting", "shouts", "shout", "shouted", "yelling", "yells", "yell",
                     "screaming", "screams", "scream", "loudly", "loud", "calling", "calls",
                     "bellowing"), _SHOUT),
    **dict.fromkeys(("angry", "angrily", "furious", "sharply", "snapping"), _ANGRY),
    **dict.fromkeys(("sad", "sadly", "tearful", "crying", "sobbing", "tired", "wearily",
                     "weary"), _SAD),
    **dict.fromkeys(("excited", "excitedly", "happy", "happily", "laughing", "cheerful",
                     "cheerfully", "eager", "eagerly"), _BRIGHT),
    **dict.fromkeys(("slowly", "slow", "hesitant", "hesitantly", "dreamily"), _SLOW),
    **dict.fromkeys(("quickly", "fast", "hurried", "hurriedly", "rushed", "breathlessly"),
                    _FAST),
}


def parenthetical_delivery(parenthetical: str | None) -> Delivery:
    """The delivery a parenthetical asks for: its known words, combined."""
    total = Delivery()
    for word in re.findall(r"[a-z]+", (parenthetical or "").lower()):
        if word in DELIVERIES:
            total = total + DELIVERIES[word]
    return total


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts' text that is the same in every process (unlike hash())."""
    text = "\x1f".join(repr(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def variant_tweak(variant: str | None) -> Delivery:
    """A small, fixed timbre change for a variant the engine has no voice for.

    Each variant name hashes to its own pitch offset (within ±1.5 semitones), pace (±6%)
    and tilt (±0.3), so two characters that differ only in variant still sound different.
    """
    if not variant:
        return Delivery()
    h = stable_hash("variant", variant)
    u = [((h >> (16 * i)) & 0xFFFF) / 0xFFFF * 2.0 - 1.0 for i in range(3)]
    return Delivery(semitones=1.5 * u[0], speed=1.0 + 0.06 * u[1], tilt=0.3 * u[2])


def voice_delivery(request: SpeechRequest, *, variant: bool = True) -> Delivery:
    """The whole delivery of a request: the voice's pitch, the parenthetical, the variant.

    `speed` here is relative to the voice's natural pace; `rate` (words per minute) is
    applied by the engine, which knows its natural pace.
    """
    voice = request.voice
    base = Delivery(semitones=(min(max(voice.pitch, 0.0), 100.0) - 50.0) / 50.0 * PITCH_RANGE)
    total = base + parenthetical_delivery(request.parenthetical)
    if variant:
        total = total + variant_tweak(voice.variant)
    return replace(total, semitones=min(max(total.semitones, -12.0), 12.0),
                   speed=min(max(total.speed, 0.5), 2.0))


def words_per_minute(voice: ir.Voice, natural: float) -> float:
    """The rate a voice asks for, or the engine's natural one, within the spec's 80..400."""
    return natural if voice.rate is None else min(max(voice.rate, 80.0), 400.0)


def language_tags(names: Iterable[str]) -> frozenset[str]:
    """Language names as a model's config gives them, normalised (`en_US` -> `en-us`),
    with each one's base language too (`en`)."""
    tags = {name.lower().replace("_", "-") for name in names if name}
    return frozenset(tags | {tag.split("-")[0] for tag in tags})


def speaks(tags: frozenset[str], voice: ir.Voice) -> bool:
    """Whether a model with these language tags speaks the voice's language."""
    wanted = voice.name.lower().replace("_", "-")
    return wanted in tags or wanted.split("-")[0] in tags


def write_takes(requests: list[SpeechRequest], outputs: list[Path],
                render: Callable[[SpeechRequest], Samples]) -> list[float]:
    """Render each request, write it as the engines' WAV, and give each take's seconds."""
    from filmlang.audio import SAMPLE_RATE, write_wav

    if len(requests) != len(outputs):
        raise ValueError("one output path per request")
    durations = []
    for request, output in zip(requests, outputs, strict=True):
        samples = render(request)
        write_wav(output, samples)
        durations.append(len(samples) / float(SAMPLE_RATE))
    return durations
