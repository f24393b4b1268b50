"""The sampler: notes played from an SF2's samples, as numpy arrays.

Takes a parsed font (`sf2.SoundFont`), a preset, a key, a velocity and how long the note is
held; gives the note in stereo at unit velocity. A zone's sample is resampled with linear
interpolation, looped where the zone says so, shaped by its volume envelope (delay, attack,
hold, decay, sustain, release) and panned. Release tails are kept until they have fallen
TAIL_DB (at most MAX_RELEASE seconds), and notes that repeat in a cue are rendered once
(`NoteCache`). Filters, LFOs, chorus and the SoundFont's own reverb are not applied.

Importing this module is cheap: numpy loads on first use.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.backends.music.sf2 import Preset, Region, SoundFont

    Signal = npt.NDArray[np.float64]
    Mono = npt.NDArray[np.float32]

MAX_RELEASE = 2.0
"""Seconds of release tail kept at most (the tail is faded to silence at its end)."""
TAIL_DB = 60.0
"""A release tail is kept until it has fallen this far (then faded out over END_FADE):
the 100 dB of the SF2 release time would spend most of the work on inaudible tails."""
END_FADE = 0.005
CACHE_SAMPLES = 16_000_000
"""Samples of rendered notes kept for reuse in a cue (float32: 64 MB)."""
CACHE_NOTE = 6.0
"""Seconds: notes longer than this are not kept for reuse."""


def _envelope(region: Region, key: int, n: int, gate: int, sr: int) -> Signal:
    """The volume envelope of a note held for `gate` samples, over n samples: a linear
    attack after the delay, the hold, a decay falling 100 dB over the decay time (in dB,
    as SF2 says) to the sustain level, and after the gate a release falling 100 dB over
    the release time; the last END_FADE seconds fade to zero."""
    import numpy as np

    env = np.empty(n)
    delay = region.delay if region.delay > 0.0011 else 0.0
    attack = max(region.attack, 0.002)
    hold = region.hold * 2.0 ** (region.key_to_hold * (60 - key) / 1200.0)
    hold = hold if hold > 0.0011 else 0.0
    decay = max(region.decay * 2.0 ** (region.key_to_decay * (60 - key) / 1200.0), 1e-3)
    sustain = max(region.sustain, 1e-5)
    i_delay = min(n, round(delay * sr))
    i_attack = min(n, round((delay + attack) * sr))
    i_hold = min(n, round((delay + attack + hold) * sr))
    falls = -20.0 * float(np.log10(sustain)) / 100.0 * decay  # seconds to reach sustain
    i_decay = min(n, i_hold + round(falls * sr))
    env[:i_delay] = 0.0
    ramp = np.arange(1, i_attack - i_delay + 1, dtype=np.float64)
    env[i_delay:i_attack] = ramp / max(1.0, attack * sr)
    env[i_attack:i_hold] = 1.0
    per_sample = np.log(10.0) * 5.0 / (decay * sr)  # 100 dB over the decay time
    env[i_hold:i_decay] = np.exp(np.arange(i_decay - i_hold) * -per_sample)
    env[i_decay:] = sustain
    if gate < n:
        level = env[gate]
        per_sample = np.log(10.0) * 5.0 / (max(region.release, 0.01) * sr)
        env[gate:] = level * np.exp(np.arange(n - gate) * -per_sample)
    fade = min(n, max(1, round(END_FADE * sr)))
    env[n - fade:] *= np.linspace(1.0, 0.0, fade)
    result: Signal = env
    return result


def play_region(font: SoundFont, region: Region, key: int, gate: int, sr: int,
                one_shot: bool = False) -> Signal:
    """A mono note of `region` at MIDI `key`, held `gate` samples, at unit velocity: the
    sample resampled (linear interpolation, looped where the region loops) under its
    envelope, release tail included."""
    import numpy as np

    release = min(max(region.release, 0.01) * TAIL_DB / 100.0, MAX_RELEASE)
    semis = (key - region.root) * region.scale / 100.0 + region.cents / 100.0
    step = 2.0 ** (semis / 12.0) * region.rate / sr
    if region.loops and not one_shot:
        n = gate + round(release * sr)
    else:
        natural = int((region.end - region.start - 1) / step)
        n = min(natural, gate + round(release * sr)) if not one_shot else natural
    n = max(1, n)
    pos = np.arange(n, dtype=np.float64)
    pos *= step
    # int32 where it fits (a font's samples are fewer than 2**31): half the bytes to move,
    # the same values.
    index: npt.NDArray[np.signedinteger[Any]] = (
        pos.astype(np.int32) if region.end < 2**31 - 2 else pos.astype(np.int64))
    frac = pos
    frac -= index
    index += region.start
    if region.loops and not one_shot:
        length = region.loop_end - region.loop_start
        first = int(np.searchsorted(index, region.loop_start))
        looped = index[first:]
        looped -= region.loop_start
        looped %= length
        looped += region.loop_start
        after = index + 1
        after[after == region.loop_end] = region.loop_start
    else:
        after = np.minimum(index + 1, region.end - 1)
    data = np.asarray(font.samples).view(np.ndarray)   # not memmap's slower indexing
    a = data.take(index).astype(np.float64)
    b = data.take(after).astype(np.float64)
    b -= a
    b *= frac
    a += b
    sig = a
    sig *= region.gain / 32768.0
    sig *= _envelope(region, key, n, min(gate, n), sr)
    result: Signal = sig
    return result


def velocity_gain(velocity: int) -> float:
    """SF2's default velocity curve: 96 dB over 127 steps on a concave (squared) curve,
    approximately (velocity / 127) squared."""
    return (max(1, min(127, velocity)) / 127.0) ** 2


@dataclass
class NoteCache:
    """Rendered notes (unit velocity), reused when a note repeats in a cue: up to
    CACHE_SAMPLES samples of notes no longer than CACHE_NOTE seconds, the least recently
    used let go first."""

    notes: OrderedDict[tuple[object, ...], tuple[Mono, Mono]] = field(
        default_factory=OrderedDict)
    samples: int = 0

    def get(self, key: tuple[object, ...]) -> tuple[Mono, Mono] | None:
        found = self.notes.get(key)
        if found is not None:
            self.notes.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], played: tuple[Mono, Mono], sr: int) -> None:
        size = 2 * len(played[0])
        if size > 2 * CACHE_NOTE * sr:
            return
        while self.notes and self.samples + size > CACHE_SAMPLES:
            _, old = self.notes.popitem(last=False)
            self.samples -= 2 * len(old[0])
        self.notes[key] = played
        self.samples += size


def note(font: SoundFont, preset: Preset, key: int, velocity: int, gate: int, sr: int,
         one_shot: bool = False, cache: NoteCache | None = None
         ) -> tuple[Mono, Mono] | None:
    """A stereo note (left, right) at unit velocity gain (see `velocity_gain`), or None
    when no region of the preset plays this key and velocity."""
    import numpy as np

    regions = tuple(r for r in preset.regions
                    if r.keys[0] <= key <= r.keys[1]
                    and r.velocities[0] <= velocity <= r.velocities[1])
    if not regions:
        return None
    cache_key = (preset.bank, preset.program, key, gate, sr, one_shot,
                 tuple(id(r) for r in regions))
    cached = cache.get(cache_key) if cache is not None else None
    if cached is not None:
        return cached
    signals = [play_region(font, r, key, gate, sr, one_shot) for r in regions]
    n = max(len(s) for s in signals)
    left = np.zeros(n, dtype=np.float32)
    right = np.zeros(n, dtype=np.float32)
    for region, sig in zip(regions, signals, strict=True):
        angle = (region.pan + 1.0) * np.pi / 4.0
        left[:len(sig)] += sig * np.cos(angle)
        right[:len(sig)] += sig * np.sin(angle)
    if cache is not None:
        cache.put(cache_key, (left, right), sr)
    return left, right
