"""Scores for the synthesizer's music cues: moods, keys and a small composer.

Takes a mood (free text), an optional tempo and key, a length and a generator; gives a
`Score`: timed notes for each voice (lead, pad, bass, arpeggio) and drum hits, laid on the
tempo's bar grid and ending on a cadence in its last bar; every bar but the last is the same
for any length of cue (each draws from its own generator), so a cue can be played by window.
Pitches are worked out in scale degrees, so the same seed gives the same tune in any key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from filmlang.backends.music.kit import DRUM_VARIANTS

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY = re.compile(r"\s*([A-Ga-g])\s*(#|b|♯|♭)?\s*(m|min|minor|maj|major|M)?\s*")


@dataclass(frozen=True)
class Mood:
    """How one family of moods sounds: harmony, rhythm, voices and space."""

    name: str
    keywords: tuple[str, ...]
    tempo: float
    minor: bool
    tonic: int
    """Pitch class of the key's tonic when no key is given."""
    progressions: tuple[tuple[int, ...], ...]
    """Chord roots as scale degrees (0 is the tonic), one chord a bar."""
    lead: str
    pad: str
    bass: str
    """A bass pattern from BASS_PATTERNS; its timbre comes from the mood's darkness."""
    density: int
    """How busy the tune is: 0 (long notes) to 3 (running eighths)."""
    meter: int = 4
    sevenths: bool = False
    harmonic: bool = False
    """Raise the leading tone in the dominant chord of a minor key."""
    arp: str | None = None
    arp_mode: str = "up"
    arp_step: float = 0.5
    drums: str | None = None
    cutoff: float = 4000.0
    """The gentle low-pass on the tonal voices, in Hz."""
    rt60: float = 2.0
    send: float = 0.3
    octave: int = 0
    gate: float = 0.95
    """The share of each tune note's length that sounds (low values are staccato)."""


MOODS: dict[str, Mood] = {m.name: m for m in (
    Mood("calm", ("calm", "peace", "serene", "gentle", "quiet", "relax", "tranquil", "soft",
                  "still", "ambient", "dream", "neutral"),
         tempo=72, minor=False, tonic=2, progressions=((0, 3, 5, 4), (0, 2, 3, 3)),
         lead="flute", pad="pad", bass="whole", density=1, sevenths=True,
         arp="keys", arp_mode="updown", arp_step=1.0,
         cutoff=3500, rt60=2.4, send=0.35),
    Mood("warm", ("warm", "tender", "cozy", "cosy", "comfort", "friend", "home", "sweet",
                  "affection", "kind", "fond"),
         tempo=80, minor=False, tonic=5, progressions=((0, 5, 3, 4), (0, 2, 3, 4)),
         lead="keys", pad="strings", bass="half", density=1, sevenths=True,
         cutoff=2800, rt60=1.8, send=0.25, gate=0.9),
    Mood("hopeful", ("hope", "uplift", "inspir", "optimis", "resolve", "determin", "dawn",
                     "new beginning", "renew"),
         tempo=96, minor=False, tonic=7, progressions=((0, 4, 5, 3), (3, 4, 0, 5)),
         lead="keys", pad="pad", bass="half", density=2,
         arp="pluck", arp_step=0.5, drums="light",
         cutoff=5000, rt60=2.0, send=0.28),
    Mood("upbeat", ("upbeat", "happy", "joy", "cheer", "bright", "energetic", "dance",
                    "party", "celebrat", "sunny", "fun", "lively"),
         tempo=116, minor=False, tonic=0, progressions=((0, 3, 4, 3), (0, 5, 3, 4)),
         lead="pluck", pad="pad", bass="pop", density=3, drums="pop",
         cutoff=7000, rt60=1.2, send=0.15, gate=0.7),
    Mood("playful", ("playful", "whimsical", "whimsy", "funny", "comic", "quirky", "mischie",
                     "silly", "light-hearted", "lighthearted", "bouncy", "cartoon", "cheeky"),
         tempo=108, minor=False, tonic=5, progressions=((0, 5, 1, 4), (0, 3, 1, 4)),
         lead="bell", pad="pad", bass="walk", density=3, sevenths=True, drums="tick",
         cutoff=6000, rt60=1.0, send=0.15, gate=0.45),
    Mood("epic", ("epic", "heroic", "hero", "grand", "triumph", "majestic", "battle",
                  "glorious", "adventure", "victory", "legend"),
         tempo=88, minor=True, tonic=2, progressions=((0, 5, 2, 6), (0, 6, 5, 6)),
         lead="brass", pad="strings", bass="half", density=1, drums="epic",
         cutoff=4500, rt60=3.0, send=0.4, gate=1.0),
    Mood("sad", ("sad", "grief", "griev", "sorrow", "mourn", "loss", "tragic", "cry", "tear",
                 "lonely", "despair", "somber", "sombre", "funeral", "heartbr"),
         tempo=62, minor=True, tonic=9, progressions=((0, 5, 3, 4), (0, 3, 5, 4)),
         lead="strings", pad="strings", bass="whole", density=0, harmonic=True,
         cutoff=3000, rt60=2.8, send=0.38, gate=1.0),
    Mood("melancholy", ("melanchol", "wistful", "nostalg", "bittersweet", "pensive",
                        "reflect", "regret", "autumn", "blue"),
         tempo=70, minor=True, tonic=4, progressions=((0, 6, 5, 4), (0, 3, 6, 2)),
         lead="keys", pad="pad", bass="whole", density=1, sevenths=True, harmonic=True,
         arp="keys", arp_mode="updown", arp_step=1.0,
         cutoff=3200, rt60=2.4, send=0.32),
    Mood("tense", ("tense", "tension", "suspense", "anxious", "anxiety", "nervous", "unease",
                   "uneasy", "thriller", "danger", "threat", "stealth", "paranoi"),
         tempo=84, minor=True, tonic=0, progressions=((0, 0, 5, 4), (0, 1, 0, 4)),
         lead="strings", pad="pad", bass="pulse", density=0, harmonic=True, drums="tense",
         cutoff=4000, rt60=1.8, send=0.3, gate=1.0),
    Mood("dark", ("dark", "ominous", "menac", "dread", "sinister", "horror", "evil", "grim",
                  "doom", "forebod", "creep", "villain"),
         tempo=64, minor=True, tonic=5, progressions=((0, 1, 0, 4), (0, 5, 1, 4)),
         lead="brass", pad="strings", bass="whole", density=0, harmonic=True,
         drums="heartbeat", cutoff=2000, rt60=3.2, send=0.35, octave=-1, gate=1.0),
    Mood("mysterious", ("myster", "eerie", "strange", "enigma", "magic", "curious", "secret",
                        "unknown", "ethereal", "wonder", "uncanny", "haunt", "fairy"),
         tempo=76, minor=True, tonic=7, progressions=((0, 3, 0, 5), (0, 2, 5, 1)),
         lead="bell", pad="pad", bass="whole", density=1, sevenths=True,
         arp="bell", arp_mode="updown", arp_step=0.5,
         cutoff=5000, rt60=3.5, send=0.45),
    Mood("romantic", ("romanc", "romant", "love", "passion", "intimate", "waltz", "longing",
                      "beloved", "kiss"),
         tempo=84, minor=False, tonic=3, meter=3, progressions=((0, 5, 3, 4), (0, 2, 1, 4)),
         lead="strings", pad="pad", bass="waltz", density=1, sevenths=True,
         arp="keys", arp_mode="comp", arp_step=1.0,
         cutoff=3500, rt60=2.2, send=0.3, gate=1.0),
    Mood("action", ("action", "chase", "fight", "urgent", "fast", "run", "escape", "intense",
                    "combat", "pursuit", "race", "frantic", "attack"),
         tempo=140, minor=True, tonic=4, progressions=((0, 5, 6, 0), (0, 6, 5, 6)),
         lead="brass", pad="strings", bass="drive", density=2,
         arp="pluck", arp_step=0.25, drums="drive",
         cutoff=6000, rt60=1.2, send=0.15, gate=0.8),
)}
DEFAULT_MOOD = "calm"

CELLS: dict[int, tuple[tuple[tuple[float, ...], ...], ...]] = {
    4: (
        ((4.0,), (2.0, 2.0), (3.0, 1.0), (2.0, 1.0, 1.0)),
        ((2.0, 1.0, 1.0), (1.0, 1.0, 2.0), (2.0, 2.0), (1.5, 0.5, 2.0), (3.0, 1.0)),
        ((1.0, 1.0, 1.0, 1.0), (1.0, 0.5, 0.5, 2.0), (0.5, 0.5, 1.0, 1.0, 1.0),
         (1.5, 0.5, 1.0, 1.0), (1.0, 1.0, 2.0)),
        ((0.5,) * 8, (0.5, 0.5, 1.0, 0.5, 0.5, 1.0), (1.0, 0.5, 0.5, 0.5, 0.5, 1.0),
         (0.75, 0.25, 0.5, 0.5, 1.0, 1.0)),
    ),
    3: (
        ((3.0,), (2.0, 1.0)),
        ((2.0, 1.0), (1.0, 1.0, 1.0), (1.5, 0.5, 1.0), (3.0,)),
        ((1.0, 0.5, 0.5, 1.0), (0.5, 0.5, 1.0, 1.0), (1.0, 1.0, 0.5, 0.5), (1.0, 1.0, 1.0)),
        ((0.5,) * 6, (0.5, 0.5, 1.0, 0.5, 0.5)),
    ),
}

# (beat, length in beats, chord member: 0 root, 2 third, 4 fifth, 7 octave)
BASS_PATTERNS: dict[str, tuple[tuple[float, float, int], ...]] = {
    "whole": ((0.0, 4.0, 0),),
    "half": ((0.0, 2.0, 0), (2.0, 2.0, 4)),
    "pulse": tuple((i * 0.5, 0.4, 0) for i in range(8)),
    "drive": tuple((i * 0.5, 0.4, 7 if i % 4 == 2 else 0) for i in range(8)),
    "walk": ((0.0, 0.9, 0), (1.0, 0.9, 2), (2.0, 0.9, 4), (3.0, 0.9, 7)),
    "pop": ((0.0, 1.4, 0), (1.5, 0.4, 0), (2.0, 0.9, 4), (3.0, 0.9, 7)),
    "waltz": ((0.0, 1.0, 0),),
}

# 16 steps a 4/4 bar (a 3/4 bar uses the first 12): x loud, o medium, - ghost, . rest.
DRUM_PATTERNS: dict[str, dict[str, str]] = {
    "light": {"kick": "x.......-.......", "shaker": "-.o.-.o.-.o.-.o."},
    "pop": {"kick": "x.....-.x.......", "snare": "....x.......x...",
            "hat": "o.-.o.-.o.-.o.-."},
    "drive": {"kick": "x..x..x.x..x..-.", "snare": "....x.......x..-",
              "hat": "o-o-o-o-o-o-o-o-"},
    "tick": {"kick": "x.......o.......", "rim": "....o.......o...",
             "shaker": "..o...o...o...o."},
    "tense": {"kick": "x..o............", "hat": "-.o.-.o.-.o.-.o."},
    "epic": {"taiko": "x.....o.x...o.o.", "kick": "x.......x......."},
    "heartbeat": {"taiko": "x..o............"},
}
STEP_VELOCITY = {"x": 1.0, "o": 0.6, "-": 0.35}
BASS_LOW = 36
"""Bass notes sit in [C2, C3), octaves above."""
LEAD_LOW = 64
"""The tune's tonic sits in [E4, E5) (shifted by the mood's octave)."""


@dataclass(frozen=True)
class Note:
    start: float
    """Seconds from the start of the cue."""
    gate: float
    """Seconds the note is held before its release."""
    pitch: float
    """MIDI note number."""
    velocity: float
    voice: str
    part: str
    """lead, pad, bass or arp: how it is mixed."""


@dataclass(frozen=True)
class Hit:
    start: float
    drum: str
    velocity: float
    variant: int = 0
    """Which of the kit's takes of the drum plays (drawn with the bar, so that a hit's
    sound does not depend on how many hits the cue has)."""


@dataclass(frozen=True)
class Score:
    mood: Mood
    notes: tuple[Note, ...]
    hits: tuple[Hit, ...]
    bar: float
    bars: int


def find_mood(text: str) -> Mood:
    """The mood whose keyword comes first in `text` (the longest on a tie); else calm."""
    lowered = text.lower()
    best: tuple[int, int, str] | None = None
    for mood in MOODS.values():
        for word in mood.keywords:
            at = lowered.find(word)
            if at >= 0 and (best is None or (at, -len(word)) < (best[0], best[1])):
                best = (at, -len(word), mood.name)
    return MOODS[best[2] if best else DEFAULT_MOOD]


def parse_key(key: str) -> tuple[int, bool]:
    """`"F# major"`, `"Bb minor"`, `"Am"`, `"C"` -> (tonic pitch class, minor)."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a musical key: {key!r} (expected e.g. 'D minor')")
    note, accidental, mode = match.groups()
    pitch = NOTE_NAMES[note.upper()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental or "", 0)
    return pitch % 12, mode in ("m", "min", "minor")


class Harmony:
    """Scale degrees to MIDI pitches in one key."""

    def __init__(self, tonic: int, minor: bool, harmonic: bool) -> None:
        self.scale = MINOR if minor else MAJOR
        self.minor = minor
        self.harmonic = harmonic and minor
        self.tonic = tonic

    def pitch(self, degree: int, base: int, chord_root: int | None = None) -> int:
        step = self.scale[degree % 7] + 12 * (degree // 7)
        if self.harmonic and chord_root is not None and chord_root % 7 == 4 and degree % 7 == 6:
            step += 1  # the raised leading tone of a major dominant
        return base + step

    def chord(self, root: int, sevenths: bool) -> tuple[int, ...]:
        return (root, root + 2, root + 4, root + 6) if sevenths else (root, root + 2, root + 4)

    def base(self, low: int) -> int:
        """The MIDI tonic in [low, low + 12)."""
        return low + (self.tonic - low) % 12


def _voicing(pitches: list[int], previous: list[int] | None, low: int) -> list[int]:
    """The inversion of a chord nearest the previous voicing (smooth voice leading)."""
    classes = [p % 12 for p in pitches]
    candidates = []
    for inversion in range(len(classes)):
        order = classes[inversion:] + classes[:inversion]
        notes = [low + (order[0] - low) % 12]
        for pc in order[1:]:
            notes.append(notes[-1] + (pc - notes[-1]) % 12)
        candidates.append(notes)
    centre = low + 9.0 if previous is None else sum(previous) / len(previous)
    return min(candidates, key=lambda c: abs(sum(c) / len(c) - centre) + 0.1 * (max(c) - min(c)))


def _melody_phrase(rng: np.random.Generator, mood: Mood, chords: list[tuple[int, ...]],
                   start: int) -> list[tuple[float, float, int | None]]:
    """A phrase of (beat, beats, degree or None for a rest) over one chord a bar."""
    cells = CELLS[mood.meter if mood.meter in CELLS else 4][mood.density]
    out: list[tuple[float, float, int | None]] = []
    degree = start
    steps = np.array([-3, -2, -1, -1, 0, 1, 1, 2, 3])
    for index, chord in enumerate(chords):
        rhythm = list(cells[int(rng.integers(len(cells)))])
        last_bar = index == len(chords) - 1
        if last_bar and len(rhythm) > 1 and rhythm[-1] < 1.0:
            rhythm[-2:] = [rhythm[-2] + rhythm[-1]]
        tones = {d % 7 for d in chord[:3]}
        beat = 0.0
        for position, length in enumerate(rhythm):
            strong = beat % 2.0 == 0.0 if mood.meter == 4 else beat == 0.0
            final = last_bar and position == len(rhythm) - 1
            candidate = degree + int(rng.choice(steps))
            if candidate < -3 or candidate > 9:
                candidate = degree - (candidate - degree)
            if strong or final:
                near = [d for d in range(-4, 11) if d % 7 in tones]
                candidate = min(near, key=lambda d: (abs(d - candidate), d))
            rest = not strong and not final and rng.random() < 0.12
            out.append((index * mood.meter + beat, length, None if rest else candidate))
            if not rest:
                degree = candidate
            beat += length
    return out


def grid(mood: Mood, tempo: float, seconds: float) -> tuple[int, float, bool]:
    """The cue's bars, each bar's length and whether it opens with an intro phrase. The bar
    is the tempo's own (not stretched to fit the length), so every bar but the last sounds
    the same whatever the cue's length: a longer cue only moves its ending."""
    bar = mood.meter * 60.0 / tempo
    bars = max(1, round(seconds / bar))
    phrase = len(mood.progressions[0])
    return bars, bar, -(-bars // phrase) >= 3


def compose(mood: Mood, tempo: float, tonic: int, minor: bool, seconds: float,
            rng: np.random.Generator, *, bars: int | None = None,
            intro: bool | None = None) -> Score:
    """The score of a cue of about `seconds`, ending on a cadence in its last bar (the grid
    may run up to half a bar past the end, and is cut there).

    Each bar draws from its own generator (seeded from `rng`'s first draw and the bar's
    number), and no pad is tied into the last bar, so bars before the last are the same
    for any length: `bars` (with `intro`) overrides the count, to play a stretch of a cue
    whose end lies beyond it."""
    harmony = Harmony(tonic, minor, mood.harmonic)
    meter = mood.meter
    phrase = len(mood.progressions[0])
    count, bar, long_form = grid(mood, tempo, seconds)
    bars = count if bars is None else bars
    intro = long_form if intro is None else intro
    beat = bar / meter
    bar_seed = int(rng.integers(1 << 62))
    order = list(mood.progressions)
    if rng.random() < 0.5:
        order.reverse()
    form = ("A", "A2", "B", "A")
    chords_of = {"A": order[0], "A2": order[0], "B": order[1 % len(order)]}

    # The tune: a phrase A, its answer A2 (a new last bar) and a contrasting B.
    def chords_for(letter: str) -> list[tuple[int, ...]]:
        return [harmony.chord(root, mood.sevenths) for root in chords_of[letter]]

    tune_a = _melody_phrase(rng, mood, chords_for("A"), start=2)
    tail = _melody_phrase(rng, mood, chords_for("A")[-1:], start=4)
    tune_a2 = [n for n in tune_a if n[0] < (phrase - 1) * meter] + [
        ((phrase - 1) * meter + b, length, d) for b, length, d in tail]
    tune_b = _melody_phrase(rng, mood, chords_for("B"), start=4)
    tunes = {"A": tune_a, "A2": tune_a2, "B": tune_b}

    lead_base = harmony.base(LEAD_LOW) + 12 * mood.octave
    pad_low = 50
    notes: list[Note] = []
    hits: list[Hit] = []
    previous: list[int] | None = None
    ties: dict[int, int] = {}
    for index in range(bars):
        here = np.random.default_rng([bar_seed, index])
        p, position = divmod(index, phrase)
        letter = form[(p - 1 if intro else p) % len(form)] if not (intro and p == 0) else "A"
        last = index == bars - 1
        root = 0 if last else chords_of[letter][position]
        chord = harmony.chord(root, mood.sevenths)
        start = index * bar
        # Pads: the chord, voiced near the last one; common tones are tied over (not into
        # the last bar, which would make the bars before it depend on where the cue ends).
        voicing = _voicing([harmony.pitch(d, tonic, root) for d in chord], previous, pad_low)
        previous = voicing
        held: dict[int, int] = {}
        for pitch in voicing:
            until = start + bar * (1.6 if last else 1.0)
            if pitch in ties and not last:
                tied = notes[ties[pitch]]
                notes[ties[pitch]] = replace(tied, gate=until - tied.start)
                held[pitch] = ties[pitch]
            else:
                held[pitch] = len(notes)
                notes.append(_human(Note(start, until - start, pitch, 0.8, mood.pad, "pad"),
                                    here))
        ties = held
        made: list[Note] = []
        # Bass.
        pattern = BASS_PATTERNS["whole" if last else mood.bass]
        for at, length, member in pattern:
            if at >= meter:
                continue
            pitch = harmony.pitch(root + member % 7, tonic, root)
            pitch = BASS_LOW + (pitch - BASS_LOW) % 12 + (12 if member == 7 else 0)
            length = min(length, meter - at) * (1.6 if last else 1.0)
            made.append(Note(start + at * beat, length * beat, pitch, 0.9, "bass", "bass"))
        # Arpeggio or comping.
        if mood.arp and not last:
            made.extend(_arpeggio(mood, voicing, start, beat, here))
        # Tune.
        if not (intro and p == 0):
            if last:
                pitch = harmony.pitch(0, lead_base)
                made.append(Note(start, bar * 1.5, pitch, 0.85, mood.lead, "lead"))
            else:
                for at, length, degree in tunes[letter]:
                    if degree is None or not position * meter <= at < (position + 1) * meter:
                        continue
                    made.append(Note(start + (at - position * meter) * beat,
                                     length * beat * mood.gate,
                                     harmony.pitch(degree, lead_base, root),
                                     0.75 + 0.2 * float(here.random()), mood.lead, "lead"))
        notes.extend(_human(note, here) for note in made)
        # Drums.
        if mood.drums and not (intro and p == 0):
            hits.extend(_drums(mood, start, beat, last, here))
    return Score(mood, tuple(notes), tuple(hits), bar, bars)


def _arpeggio(mood: Mood, voicing: list[int], start: float, beat: float,
              rng: np.random.Generator) -> list[Note]:
    notes: list[Note] = []
    if mood.arp is None:
        return notes
    if mood.arp_mode == "comp":  # waltz: the chord on the beats after the first
        for at in range(1, mood.meter):
            for pitch in voicing[:3]:
                notes.append(Note(start + at * beat, 0.6 * beat, pitch + 12, 0.55, mood.arp,
                                  "arp"))
        return notes
    tones = [*voicing, voicing[0] + 12, voicing[1] + 12]
    cycle = tones if mood.arp_mode == "up" else tones + tones[-2:0:-1]
    steps = round(mood.meter / mood.arp_step)
    offset = int(rng.integers(len(cycle))) if mood.arp_mode == "up" else 0
    for step in range(steps):
        pitch = cycle[(step + offset) % len(cycle)]
        accent = 0.7 if step % int(max(1, round(1.0 / mood.arp_step))) == 0 else 0.5
        notes.append(Note(start + step * mood.arp_step * beat, mood.arp_step * beat * 0.9,
                          pitch + 12, accent, mood.arp, "arp"))
    return notes


def _drums(mood: Mood, start: float, beat: float, last: bool,
           rng: np.random.Generator) -> list[Hit]:
    hits: list[Hit] = []
    pattern = DRUM_PATTERNS[mood.drums or ""]
    steps = 4 * mood.meter
    for drum, line in pattern.items():
        for step, mark in enumerate(line[:steps]):
            if mark == "." or (last and step > 0):
                continue
            if last and drum not in ("kick", "taiko"):
                continue
            jitter = float(rng.normal(0.0, 0.003))
            velocity = STEP_VELOCITY[mark] * (0.9 + 0.1 * float(rng.random()))
            hits.append(Hit(max(0.0, start + step * beat / 4 + jitter), drum, velocity,
                            int(rng.integers(DRUM_VARIANTS))))
    return hits


def _human(note: Note, rng: np.random.Generator) -> Note:
    """A few milliseconds of timing and a little velocity, as a player would."""
    jitter = 0.0 if note.part == "pad" else float(rng.normal(0.0, 0.006))
    return Note(max(0.0, note.start + jitter), note.gate, note.pitch,
                note.velocity * (0.92 + 0.16 * float(rng.random())), note.voice, note.part)
