"""Music cues: a `synth_score.Score` played on simple synthesized instruments.

Takes a mood, tempo, key, length and seed; gives (n, 2) float32 samples at SAMPLE_RATE.
Tonal voices read one-cycle wavetables of harmonics already passed through the mood's
gentle low-pass (two tables per voice, bright and dull, crossfaded as the note goes on:
the sound of a filter that closes), shaped by ADSR envelopes, with vibrato and a detuned
copy for width; drums are short synthesized one-shots. The mix gets a cheap reverb,
fades, and its mood's level (a peak of about -6 dBFS). A cue is played by window
(`render_window`): any stretch of it, the same samples as the whole cue's, so that a
cue can be rendered as jobs that an edit keeps (`filmlang.backends.music`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from filmlang.backends.music import dsp
from filmlang.backends.music.dsp import SR, TWO_PI, Signal
from filmlang.backends.music.kit import DRUM_VARIANTS, DRUMS, PARTS, drum
from filmlang.backends.music.score import (
    DRUM_PATTERNS,
    Hit,
    Mood,
    Note,
    compose,
    find_mood,
    grid,
    parse_key,
)

if TYPE_CHECKING:
    from filmlang.backends.music.soundfont import SoundFontBand

Samples = npt.NDArray[np.float32]

PEAK = 10 ** (-6 / 20)
TABLE_BITS = 13
TABLE_SIZE = 1 << TABLE_BITS
FADE_IN = 0.3
FADE_OUT = 1.5
CHUNK = 60.0
"""Seconds of a cue rendered at once: bounds memory for long cues."""
LEVELS: dict[str, float] = {
    "calm": 0.621, "warm": 0.512, "hopeful": 0.463, "upbeat": 0.459, "playful": 0.555,
    "epic": 0.402, "sad": 0.538, "melancholy": 0.542, "tense": 0.485, "dark": 0.477,
    "mysterious": 0.646, "romantic": 0.539, "action": 0.429}
"""Each mood's gain to a peak of `PEAK`: 1 / the median peak of its cues rendered at unit
gain (seeds 1 to 6, 60 s), since a window cannot know its cue's own peak."""
LIMIT, CEILING = 10 ** (-3 / 20), 0.95
"""A cue louder than its mood's usual is bent smoothly below CEILING above LIMIT (sample by
sample, so windows still meet exactly)."""


@dataclass(frozen=True)
class Timbre:
    """A tonal voice: harmonic amplitudes, envelope, brightness decay and movement."""

    bright: tuple[float, ...]
    attack: float
    decay: float
    sustain: float
    release: float
    dull: tuple[float, ...] | None = None
    """Harmonics the sound settles to, at `damping` per second; None keeps it bright."""
    damping: float = 0.0
    ratios: tuple[float, ...] | None = None
    """Inharmonic partial ratios (bells), rendered as decaying sines instead of a table."""
    decays: tuple[float, ...] | None = None
    vibrato: float = 0.0
    vibrato_delay: float = 0.3
    detune: float = 0.0
    """Cents between two copies spread left and right; 0 plays one copy."""
    level: float = 1.0


TIMBRES: dict[str, Timbre] = {
    "pad": Timbre((1.0, 0.45, 0.3, 0.18, 0.1, 0.06), attack=0.6, decay=0.8, sustain=0.85,
                  release=1.1, detune=8.0, level=0.9),
    "strings": Timbre((1.0, 0.55, 0.4, 0.3, 0.22, 0.16, 0.11, 0.08), attack=0.3, decay=0.3,
                      sustain=0.9, release=0.7, vibrato=0.004, detune=5.0),
    "flute": Timbre((1.0, 0.25, 0.08, 0.03), attack=0.09, decay=0.2, sustain=0.85,
                    release=0.3, vibrato=0.003, vibrato_delay=0.2),
    "keys": Timbre((1.0, 0.5, 0.3, 0.2, 0.12, 0.08, 0.05), attack=0.004, decay=2.2,
                   sustain=0.0, release=0.5, dull=(1.0, 0.2, 0.05), damping=3.0),
    "pluck": Timbre((1.0, 0.7, 0.5, 0.4, 0.3, 0.22, 0.15, 0.1, 0.07), attack=0.003,
                    decay=0.7, sustain=0.0, release=0.2, dull=(1.0, 0.15), damping=7.0,
                    level=0.9),
    "bell": Timbre((1.0, 0.4, 0.22, 0.1), attack=0.002, decay=2.5, sustain=0.0,
                   release=0.6, ratios=(1.0, 2.0, 3.93, 5.4), decays=(1.4, 0.7, 0.3, 0.15),
                   level=0.9),
    "brass": Timbre((1.0, 0.75, 0.6, 0.48, 0.36, 0.26, 0.18, 0.12, 0.08), attack=0.08,
                    decay=0.25, sustain=0.8, release=0.3, dull=(1.0, 0.5, 0.25, 0.1),
                    damping=1.5, vibrato=0.002, vibrato_delay=0.4),
    "bass": Timbre((1.0, 0.5, 0.22, 0.1), attack=0.008, decay=0.8, sustain=0.55,
                   release=0.15, dull=(1.0, 0.2), damping=2.5),
}

@lru_cache(maxsize=256)
def _table(amplitudes: tuple[float, ...]) -> Signal:
    """One cycle of a sum of harmonics, scaled to unit RMS."""
    phase = np.arange(TABLE_SIZE) * (TWO_PI / TABLE_SIZE)
    wave = np.zeros(TABLE_SIZE)
    for index, amplitude in enumerate(amplitudes):
        wave += amplitude * np.sin((index + 1) * phase + 1.7 * index)
    wave /= np.sqrt(np.mean(wave * wave))
    return wave


def _shaped(amplitudes: tuple[float, ...], freq: float, cutoff: float,
            ratios: tuple[float, ...] | None = None) -> tuple[float, ...]:
    """Partial amplitudes through a gentle (12 dB an octave) low-pass at `cutoff`, leaving
    out partials above 16 kHz: the filter applied exactly, at no cost per sample."""
    out = []
    for index, amplitude in enumerate(amplitudes):
        partial = freq * (ratios[index] if ratios else index + 1)
        if partial > 16_000.0:
            break
        out.append(round(amplitude / float(np.sqrt(1.0 + (partial / cutoff) ** 4)), 4))
    return tuple(out) or (1.0,)


def _read(table: Signal, cycles: Signal) -> Signal:
    index = (cycles * TABLE_SIZE).astype(np.int64)
    index &= TABLE_SIZE - 1
    result: Signal = table[index]
    return result


_COUNT: list[npt.NDArray[np.int64]] = [np.arange(0, dtype=np.int64)]


def _table_index(freq: float, n: int) -> npt.NDArray[np.int64]:
    """Wavetable positions of a steady tone in 32-bit fixed point: exact and cheap."""
    count = _COUNT[0]
    if len(count) < n:
        count = np.arange(max(n, 2 * len(count)), dtype=np.int64)
        _COUNT[0] = count
    step = round(freq / SR * (1 << 32))
    index = count[:n] * step
    index >>= 32 - TABLE_BITS
    index &= TABLE_SIZE - 1
    return index


def voice(timbre: Timbre, pitch: float, gate: float, cutoff: float) -> list[Signal]:
    """One note at full velocity: a mono signal per copy (two when the timbre is detuned)."""
    freq = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    n = int((gate + timbre.release) * SR) + 1
    env = dsp.adsr(n, gate, timbre.attack, timbre.decay, timbre.sustain, timbre.release)
    env *= timbre.level
    bright = _shaped(timbre.bright, freq, cutoff, timbre.ratios)
    copies = (-timbre.detune / 2, timbre.detune / 2) if timbre.detune else (0.0,)
    out = []
    for cents in copies:
        f = freq * 2.0 ** (cents / 1200.0)
        if timbre.ratios is not None:
            sig = dsp.partials(f, dsp.times(n), bright, ratios=timbre.ratios,
                               decays=timbre.decays)
            sig *= 1.0 / np.sqrt(np.sum(np.square(bright)) / 2.0)
        elif timbre.vibrato > 0:
            cycles = dsp.vibrato_phase(f, dsp.times(n), timbre.vibrato, 5.2,
                                       timbre.vibrato_delay)
            cycles *= 1.0 / TWO_PI
            sig = _read(_table(bright), cycles)
        else:
            index = _table_index(f, n)
            sig = _table(bright)[index]
            if timbre.dull is not None:
                dull = _table(_shaped(timbre.dull, freq, cutoff))[index]
                sig -= dull
                sig *= np.exp(dsp.times(n) * -timbre.damping)
                sig += dull
        sig *= env
        out.append(sig)
    return out


class Band:
    """Plays a score into any stretch of the cue: the same samples whichever stretch is
    asked for, so a long cue can be built a chunk at a time."""

    def __init__(self, notes: tuple[Note, ...], hits: tuple[Hit, ...], cutoff: float,
                 rng: np.random.Generator, names: list[str]) -> None:
        self.notes = notes
        self.hits = hits
        self.cutoff = cutoff
        # The mood's whole kit, whichever drums this stretch of the cue plays.
        self.kit = {name: [drum(name, rng) for _ in range(DRUM_VARIANTS)] for name in names}

    def play(self, lo: int, hi: int) -> Signal:
        """Samples lo to hi of the dry mix, as (2, hi - lo)."""
        out = np.zeros((2, hi - lo))
        # Arpeggios and repeated chords play the same note many times: render each once.
        rendered: dict[tuple[str, float, int], list[Signal]] = {}
        for note in self.notes:
            start = round(note.start * SR)
            timbre = TIMBRES[note.voice]
            if start >= hi or start + (note.gate + timbre.release) * SR + 1 < lo:
                continue
            gain, pan = PARTS[note.part]
            gain *= note.velocity
            gate = round(note.gate * SR)
            key = (note.voice, note.pitch, gate)
            if key not in rendered:
                rendered[key] = voice(timbre, note.pitch, gate / SR, self.cutoff)
            copies = rendered[key]
            if len(copies) == 1:
                dsp.add_at(out, start - lo, copies[0], pan, gain)
            else:
                dsp.add_at(out, start - lo, copies[0], pan - 0.6, gain * 0.75)
                dsp.add_at(out, start - lo, copies[1], pan + 0.6, gain * 0.75)
        for hit in self.hits:
            start = round(hit.start * SR)
            sample = self.kit[hit.drum][hit.variant]
            if start >= hi or start + len(sample) < lo:
                continue
            gain, pan = DRUMS[hit.drum]
            dsp.add_at(out, start - lo, sample, pan, gain * hit.velocity)
        return out


ENDING_SLACK = 0.1
"""Seconds before the last bar that its players' jitter may reach (a few milliseconds)."""


def drum_names(mood: Mood) -> list[str]:
    return sorted(DRUM_PATTERNS[mood.drums]) if mood.drums else []


def _bpm(mood: Mood, tempo: float | None) -> float:
    return min(300.0, max(20.0, float(tempo) if tempo else mood.tempo))


def shape(mood_text: str, tempo: float | None, seconds: float) -> tuple[bool, float]:
    """What a cue's windows depend on besides their place: whether it opens with an intro,
    and the second from which its samples depend on its length (its last bar or its fade
    out, whichever is earlier)."""
    mood = find_mood(mood_text)
    bars, bar, intro = grid(mood, _bpm(mood, tempo), seconds)
    fade = min(FADE_OUT, seconds / 3)
    return intro, max(0.0, min((bars - 1) * bar, seconds - fade) - ENDING_SLACK)


def _fade(out: Samples, lo: int, n: int, fade_in: float) -> None:
    """The cue's raised-cosine fades on its samples lo to lo + len(out), in place: each
    sample gets the gain it has when the cue is rendered whole."""
    k_in = min(n, round(fade_in * SR))
    k_out = min(n, round(min(FADE_OUT, n / SR / 3) * SR))
    hi = lo + len(out)
    if k_in > lo:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k_in, endpoint=False))
        out[:min(k_in, hi) - lo] *= ramp[lo:min(k_in, hi), None]
    if k_out > 0 and hi > n - k_out:
        ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, k_out + 1)[1:])
        first = max(lo, n - k_out)
        out[first - lo:] *= ramp[first - (n - k_out):hi - (n - k_out), None]


def render(mood_text: str, tempo: float | None, key: str | None, seconds: float,
           seed: int, soundfont: Path | None = None) -> Samples:
    """The cue as (n, 2) float32 samples, n = round(seconds * SR): its one window."""
    n = round(seconds * SR)
    return render_window(mood_text, tempo, key, seed, 0, n, seconds=seconds,
                         soundfont=soundfont)


def render_window(mood_text: str, tempo: float | None, key: str | None, seed: int,
                  lo: int, hi: int, *, seconds: float | None, intro: bool | None = None,
                  soundfont: Path | None = None) -> Samples:
    """Samples lo to hi of a cue, as (hi - lo, 2) float32: the same samples, to float
    rounding, as those of the cue rendered whole. `seconds` is the cue's length when the
    window reaches its ending (`shape`), else None, with `intro` saying how it opens: the
    score is then played past the window as if the cue went on.

    The room's reverb rings from before the window, so each stretch is rendered with the
    room's memory before it (as a long cue is built, CHUNK seconds at a time); notes that
    started before the window ring into it. With `soundfont`, the same score is played
    on that SF2's General MIDI instruments (`soundfont.SoundFontBand`). The level is the
    mood's, not the cue's own peak (which a window cannot know): `LEVELS`."""
    width = max(hi - lo, 0)
    out = np.zeros((width, 2), dtype=np.float32)
    n = round(seconds * SR) if seconds is not None else None
    if width == 0 or (n is not None and n <= 0):
        return out
    mood: Mood = find_mood(mood_text)
    label = " ".join(mood_text.lower().split())
    rng = dsp.generator(seed, "music", mood.name, label)
    bpm = _bpm(mood, tempo)
    tonic, minor = parse_key(key) if key else (mood.tonic, mood.minor)
    room = dsp.Reverb(dsp.generator(seed, "room", mood.name), mood.rt60, mood.send)
    if n is None:        # an open window: bars enough to play past it, none of them last
        bar = mood.meter * 60.0 / bpm
        bars = int((hi / SR + room.memory + 1.0) / bar) + 2
        score = compose(mood, bpm, tonic, minor, bars * bar, rng, bars=bars,
                        intro=bool(intro))
    else:
        score = compose(mood, bpm, tonic, minor, n / SR, rng)
    drums = dsp.generator(seed, "drums", mood.name)
    band: Band | SoundFontBand
    if soundfont is None:
        band = Band(score.notes, score.hits, mood.cutoff, drums, drum_names(mood))
    else:
        from filmlang.backends.music.sf2 import parse
        from filmlang.backends.music.soundfont import SoundFontBand

        band = SoundFontBand(parse(soundfont), score, drums, SR, drum_names(mood))
    chunk = round(CHUNK * SR)
    margin = round(room.memory * SR)  # the room still rings with what came before
    end = hi if n is None else n
    for start in range(lo, hi, chunk):
        a, b = max(0, start - margin), min(hi, start + chunk)
        # A few samples past the end too, for the room's interpolation there.
        dry = band.play(a, min(end, b + 2 * room.divide) if n is not None else
                        b + 2 * room.divide)
        dry += room(dry)
        out[start - lo:b - lo] = dry[:, start - a:b - a].T
    _fade(out, lo, n if n is not None else 1 << 62, min(FADE_IN, (n or 1 << 62) / SR / 4))
    out *= np.float32(PEAK * LEVELS.get(mood.name, 1.0))
    if float(np.max(np.abs(out))) > LIMIT:
        out = np.asarray(dsp.soft_limit(out.astype(np.float64), LIMIT, CEILING),
                         dtype=np.float32)
    return out
