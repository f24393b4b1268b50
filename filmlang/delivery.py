"""How a line is delivered: the parenthetical table, shared by the checker and the voices.

A parenthetical is read word by word. Each known word maps to a `Delivery` (documented in
docs/backends.md, "Delivery"): a pitch change in semitones, a pace, a gain, a timbre tilt,
a pitch range (how far the intonation swings) and breathiness, or a whisper; the words of
one parenthetical combine, so "(quietly, slowly)" is both. `(V.O.)` and `(O.S.)` are not
deliveries but placements: the voice-over is dry and in front, the off-screen voice muffled
by a wall, and neither moves the lips (`split`). Words like "to", "her" or "a" direct the
actor, not the voice, and are passed over; every other unknown word is reported by the
checker (W0004) with the known ones, so "(dyr)" is not silently said as nothing.

The pace and pitch of the words that existed before the table grew (whispering, quietly,
shouting, ...) are kept as they were: a take's length follows them, and the films built
with them keep their timing. No heavy imports here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Placement = Literal["on", "voice_over", "off_screen"]


@dataclass(frozen=True)
class Delivery:
    """How a line is said, relative to the character's voice.

    `semitones` shifts the pitch, `speed` multiplies the speaking rate, `gain_db` the level,
    `tilt` brightens (>0) or darkens (<0) the timbre, `whisper` removes the voicing, `range`
    multiplies the intonation's swing around the median pitch (1 unchanged, <1 flatter),
    `breath` mixes in breath noise (0 none, 1 all breath).
    """

    semitones: float = 0.0
    speed: float = 1.0
    gain_db: float = 0.0
    tilt: float = 0.0
    whisper: bool = False
    range: float = 1.0
    breath: float = 0.0

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            semitones=self.semitones + other.semitones,
            speed=self.speed * other.speed,
            gain_db=self.gain_db + other.gain_db,
            tilt=self.tilt + other.tilt,
            whisper=self.whisper or other.whisper,
            range=self.range * other.range,
            breath=min(1.0, self.breath + other.breath),
        )


_NONE = Delivery()
_WHISPER = Delivery(speed=0.95, gain_db=-12.0, whisper=True)
_QUIET = Delivery(semitones=-0.5, speed=0.95, gain_db=-8.0, tilt=-0.15, range=0.8, breath=0.1)
_SHOUT = Delivery(semitones=2.5, speed=1.08, gain_db=8.0, tilt=0.35, range=1.3)
_ANGRY = Delivery(semitones=1.0, speed=1.05, gain_db=3.0, tilt=0.2, range=1.4)
_SAD = Delivery(semitones=-1.0, speed=0.88, gain_db=-3.0, tilt=-0.15, range=0.7, breath=0.1)
_CRYING = Delivery(semitones=-1.0, speed=0.88, gain_db=-3.0, tilt=-0.15, range=1.5,
                   breath=0.3)
_BRIGHT = Delivery(semitones=1.5, speed=1.08, gain_db=2.0, tilt=0.1, range=1.3)
_LAUGHING = Delivery(semitones=1.5, speed=1.08, gain_db=2.0, tilt=0.1, range=1.5, breath=0.25)
_SLOW = Delivery(speed=0.8)
_FAST = Delivery(speed=1.2)
_NERVOUS = Delivery(semitones=1.0, speed=1.1, gain_db=-2.0, range=1.3, breath=0.15)
_DRY = Delivery(speed=0.97, gain_db=-1.0, tilt=-0.1, range=0.5)
_SARCASTIC = Delivery(semitones=-0.5, speed=0.92, range=1.6, tilt=-0.05)
_COLD = Delivery(speed=0.95, tilt=-0.1, range=0.6)
_FIRM = Delivery(gain_db=2.0, tilt=0.1, range=0.8)
_PLEADING = Delivery(semitones=1.0, speed=0.95, range=1.4, breath=0.1)
_SLEEPY = Delivery(semitones=-1.0, speed=0.85, gain_db=-5.0, tilt=-0.2, range=0.6, breath=0.2)
_SIGHING = Delivery(semitones=-0.5, speed=0.9, gain_db=-3.0, range=0.8, breath=0.35)
# Words of the shipped examples, before the table knew them: pace and pitch stay as said.
_KIND = Delivery(gain_db=-2.0, tilt=-0.1, range=1.1, breath=0.05)
_CURIOUS = Delivery(range=1.3, tilt=0.05)
_SMILING = Delivery(gain_db=1.0, tilt=0.15, range=1.2)

DELIVERIES: dict[str, Delivery] = {
    **dict.fromkeys(("whisper", "whispering", "whispered", "whispers", "breathless"), _WHISPER),
    **dict.fromkeys(("quietly", "quiet", "softly", "soft", "gently", "murmuring", "murmurs",
                     "mumbling", "mutters", "muttering", "low", "hushed"), _QUIET),
    **dict.fromkeys(("shouting", "shouts", "shout", "shouted", "yelling", "yells", "yell",
                     "screaming", "screams", "scream", "loudly", "loud", "calling", "calls",
                     "bellowing"), _SHOUT),
    **dict.fromkeys(("angry", "angrily", "furious", "sharply", "snapping"), _ANGRY),
    **dict.fromkeys(("sad", "sadly", "tearful", "tired", "wearily", "weary"), _SAD),
    **dict.fromkeys(("crying", "sobbing", "weeping", "tearfully"), _CRYING),
    **dict.fromkeys(("excited", "excitedly", "happy", "happily", "cheerful", "cheerfully",
                     "eager", "eagerly"), _BRIGHT),
    **dict.fromkeys(("laughing", "laughs", "chuckling", "giggling"), _LAUGHING),
    **dict.fromkeys(("slowly", "slow", "hesitant", "hesitantly", "dreamily"), _SLOW),
    **dict.fromkeys(("quickly", "fast", "hurried", "hurriedly", "rushed", "breathlessly"),
                    _FAST),
    **dict.fromkeys(("nervous", "nervously", "anxious", "anxiously", "scared", "afraid",
                     "frightened", "worried"), _NERVOUS),
    **dict.fromkeys(("dry", "dryly", "drily", "deadpan", "flat", "flatly"), _DRY),
    **dict.fromkeys(("sarcastic", "sarcastically", "mocking", "ironic", "ironically"),
                    _SARCASTIC),
    **dict.fromkeys(("cold", "coldly", "icy", "stern", "sternly"), _COLD),
    **dict.fromkeys(("firm", "firmly", "calm", "calmly", "steady"), _FIRM),
    **dict.fromkeys(("pleading", "begging", "desperate", "desperately"), _PLEADING),
    **dict.fromkeys(("sighing", "sighs", "resigned"), _SIGHING),
    **dict.fromkeys(("asleep", "sleepy", "drowsy", "yawning", "groggy"), _SLEEPY),
    **dict.fromkeys(("kindly", "kind", "warm", "warmly", "tender", "tenderly"), _KIND),
    **dict.fromkeys(("curious", "curiously", "puzzled", "wondering"), _CURIOUS),
    **dict.fromkeys(("smiling", "smiles", "amused", "wry", "wryly"), _SMILING),
    # Directions that change nothing in the voice, known so they are not reported.
    **dict.fromkeys(("beat", "pause", "continuing", "cont'd", "contd", "interrupting",
                     "reading", "singing", "aside"), _NONE),
}
"""Every known word and its delivery. docs/backends.md lists them (tests/test_voices.py
checks the list there is this one)."""

PASSED_OVER = frozenset((
    "a", "an", "the", "and", "or", "but", "then", "still", "very", "so", "too", "more", "less",
    "bit", "little", "almost", "half", "not", "now", "again", "to", "at", "of", "in", "on",
    "into", "from", "with", "for", "her", "his", "him", "them", "their", "herself", "himself",
    "themselves", "me", "my", "myself", "you", "your", "yourself", "it", "its", "a.", "as",
    "if", "over", "under", "through", "phone", "radio",
))
"""Words that direct the actor or name who is spoken to: never reported, change nothing.
A word after "to" or "at" (who is spoken to: "(to TOM)") is passed over too."""

PLACEMENTS: dict[str, Placement] = {
    "v.o.": "voice_over", "vo": "voice_over", "v.o": "voice_over", "voice-over": "voice_over",
    "voiceover": "voice_over", "o.s.": "off_screen", "os": "off_screen", "o.s": "off_screen",
    "o.c.": "off_screen", "off-screen": "off_screen", "offscreen": "off_screen",
    "off": "off_screen",
}
"""Where a voice comes from, written as a parenthetical item: `(V.O.)`, `(O.S.)`."""


@dataclass(frozen=True)
class Reading:
    """A parenthetical, read: where the voice is, the words that shape it, and the words
    that mean nothing to the table (for W0004)."""

    placement: Placement
    parenthetical: str | None
    """The parenthetical without its placement item, or None when nothing is left."""
    unknown: tuple[str, ...]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z']*", text.lower())


def read(parenthetical: str | None) -> Reading:
    """Split a parenthetical into its placement and its delivery, and find unknown words.

    Items are separated by commas or semicolons; an item that is a placement (`V.O.`) sets
    it and is removed; the rest is the delivery, read word by word.
    """
    placement: Placement = "on"
    kept: list[str] = []
    for item in re.split(r"[,;]", parenthetical or ""):
        key = "".join(item.split()).lower()
        if key in PLACEMENTS:
            placement = PLACEMENTS[key]
        elif item.strip():
            kept.append(item.strip())
    unknown: list[str] = []
    for item in kept:
        skip = False
        for word in _words(item):
            if skip:
                skip = False
                continue
            if word in ("to", "at"):
                skip = True
            if word not in DELIVERIES and word not in PASSED_OVER and word not in unknown:
                unknown.append(word)
    rest = ", ".join(kept) if kept else None
    return Reading(placement=placement, parenthetical=rest, unknown=tuple(unknown))


def parenthetical_delivery(parenthetical: str | None) -> Delivery:
    """The delivery a parenthetical asks for: its known words, combined."""
    total = Delivery()
    for word in _words(parenthetical or ""):
        if word in DELIVERIES:
            total = total + DELIVERIES[word]
    return total
