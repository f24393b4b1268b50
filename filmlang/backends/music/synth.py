"""The built-in synthesizer: music cues, ambience beds and sound effects, in pure numpy.

Takes what the checked film says (`ir.Music`: mood, tempo, key; `ir.Ambience` and
`ir.Sound` names), a length and a seed; gives stereo float32 arrays of shape (n, 2) at
`filmlang.audio.SAMPLE_RATE`, ready for `filmlang.audio.write_wav`.

Every result is a function of its arguments only (same arguments, same samples, bit for
bit; the randomness comes from generators seeded by the arguments), so a render can be
cached under a key built from its arguments and `VERSION`.

- Music peaks at about -6 dBFS (its mood's level, bent below -0.4 dBFS above -3), fades
  in over 0.3 s and out over the last 1.5 s (less for very short cues), and ends on a
  cadence in its last bar, at the mood's own tempo. Any window of a cue can be rendered
  on its own (`render_music_window`): the same samples, and only the windows that reach
  its last bar or fade depend on its length.
- Ambience beds sit at -18 dBFS RMS (room tone at -26), peak below -3 dBFS, and loop
  seamlessly at their own length: tiling one gives no click. Beds over 90 s repeat a
  seamless loop of at most 90 s.
- Effects peak at -3 dBFS and have a natural length per name (`sound_seconds`).
- Bit-for-bit sameness holds on one machine and numpy build; another CPU may differ in the
  last bits (FFT and SIMD paths), which the 16-bit WAV almost always hides.

The implementation lives in `synth_dsp` (building blocks), `synth_score` (moods and
composition), `synth_music`, `synth_ambience` and `synth_sounds`; they import numpy, so
they load on first use and importing this module stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from filmlang.backends.music.catalogue import AMBIENCES, SOUND_SECONDS, SOUNDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

VERSION = "3"
"""Part of every cache key of a synthesized artifact: bump it whenever output changes."""


def render_music(mood: str, tempo: float | None, key: str | None, seconds: float,
                 seed: int, soundfont: str | Path | None = None) -> Samples:
    """A music cue of exactly round(seconds * SAMPLE_RATE) stereo samples.

    `mood` is free text, matched by keywords to one of the moods in
    `synth_score.MOODS` (calm when none matches); `tempo` is in beats a minute (the
    mood's own when None); `key` is like "D minor" or "F# major" (the mood's own when
    None: minor for sad, tense, melancholy, dark, mysterious, epic and action moods).
    With `soundfont` (an .sf2 path), the same composition is played on that SoundFont's
    General MIDI instruments instead of the built-in ones (`soundfont.py`).
    """
    from filmlang.backends.music import band as synth_music

    _check_seconds(seconds)
    return synth_music.render(mood, tempo, key, seconds, seed,
                              Path(soundfont) if soundfont is not None else None)


def render_music_window(mood: str, tempo: float | None, key: str | None, seed: int,
                        lo: int, hi: int, *, seconds: float | None, intro: bool,
                        soundfont: str | Path | None = None) -> Samples:
    """Samples lo to hi of the cue `render_music` gives for these arguments, as (hi - lo, 2)
    float32, the same to float rounding: `seconds` is the cue's length when the window
    reaches its ending (`music_shape`), else None (with `intro` from `music_shape`)."""
    from filmlang.backends.music import band as synth_music

    if seconds is not None:
        _check_seconds(seconds)
    return synth_music.render_window(mood, tempo, key, seed, lo, hi, seconds=seconds,
                                     intro=intro,
                                     soundfont=Path(soundfont) if soundfont is not None
                                     else None)


def music_shape(mood: str, tempo: float | None, seconds: float) -> tuple[bool, float]:
    """Whether a cue of these arguments opens with an intro, and the second from which its
    samples depend on its length (a window that ends before it does not)."""
    from filmlang.backends.music import band as synth_music

    return synth_music.shape(mood, tempo, seconds)


def render_ambience(name: str, seconds: float, seed: int) -> Samples:
    """An ambience bed of exactly round(seconds * SAMPLE_RATE) stereo samples that loops
    seamlessly; `name` is one of AMBIENCES."""
    from filmlang.backends.music import ambience as synth_ambience

    _check_name(name, AMBIENCES, "ambience")
    _check_seconds(seconds)
    return synth_ambience.render(name, seconds, seed)


def render_sound(name: str, seed: int) -> Samples:
    """A sound effect at its natural length (`sound_seconds(name)`); `name` is one of
    SOUNDS."""
    from filmlang.backends.music import sounds as synth_sounds

    _check_name(name, SOUNDS, "sound")
    return synth_sounds.render(name, seed)


def sound_seconds(name: str) -> float:
    """How long `render_sound(name, seed)` runs, for any seed, without rendering it."""
    _check_name(name, SOUNDS, "sound")
    return SOUND_SECONDS[name]


def music_mood(mood: str) -> str:
    """The name of the built-in mood that `mood` is played as (e.g. 'suspense' -> 'tense')."""
    from filmlang.backends.music import score as synth_score

    return synth_score.find_mood(mood).name


def _check_name(name: str, names: tuple[str, ...], what: str) -> None:
    if name not in names:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(names)}")


def _check_seconds(seconds: float) -> None:
    if not seconds >= 0.0 or seconds == float("inf"):
        raise ValueError(f"seconds must be finite and >= 0, not {seconds!r}")
