"""What every speech engine shares: the request, the error, and how a line is delivered.

A `SpeechRequest` (text, voice, parenthetical, seed, placement) goes in; `voice_delivery()`
turns it into a `Delivery` (`filmlang.delivery`): the pitch shift in semitones, the speed
relative to the voice's natural pace, the gain, the pitch range, breath, and whether to
whisper. The engines render that; `voicing.transform` gives the voice its gender and age,
`dsp.finish` levels it.

Parentheticals are matched word by word against `DELIVERIES` (so "(quietly, slowly)"
combines both); unknown words change nothing here (the checker warns of them, W0004). No
heavy imports here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.delivery import DELIVERIES as DELIVERIES
from filmlang.delivery import Delivery as Delivery
from filmlang.delivery import parenthetical_delivery as parenthetical_delivery
from filmlang.voices import PITCH_RANGE as PITCH_RANGE
from filmlang.voices import pitch_semitones, variant_offsets
from filmlang.voices import stable_hash as stable_hash

if TYPE_CHECKING:
    from filmlang.audio import Samples


@dataclass(frozen=True)
class SpeechRequest:
    """One line to say. The output depends on exactly these fields (and the engine)."""

    text: str
    voice: ir.Voice
    parenthetical: str | None = None
    seed: int = 0
    placement: str = "on"
    """"voice_over" or "off_screen" (a line's `(V.O.)`, `(O.S.)`): `dsp.place` treats it."""


class SpeechUnavailable(Exception):
    """No engine can say this here; `install` says what would fix it."""

    def __init__(self, message: str, install: str = "") -> None:
        super().__init__(message)
        self.install = install


def variant_tweak(variant: str | None) -> Delivery:
    """A small, fixed timbre change for a variant the engine has no voice for.

    Each variant name hashes to its own pitch offset (within ±1.5 semitones), pace (±6%)
    and tilt (±0.3), so two characters that differ only in variant still sound different
    (`filmlang.voices.variant_offsets`, which the checker's W0003 uses too).
    """
    semitones, speed, tilt = variant_offsets(variant)
    return Delivery(semitones=semitones, speed=speed, tilt=tilt)


def voice_delivery(request: SpeechRequest, *, variant: bool = True) -> Delivery:
    """The whole delivery of a request: the voice's pitch, the parenthetical, the variant.

    `speed` here is relative to the voice's natural pace; `rate` (words per minute) is
    applied by the engine, which knows its natural pace.
    """
    voice = request.voice
    base = Delivery(semitones=pitch_semitones(voice.pitch))
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
