"""Sound follows the picture: fades to black take the sound to silence, the film's end fades."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from conftest import TINY_FILM, write_film
from filmlang.build import build
from filmlang.link.audio_mix import Clip, fade_envelope, mix
from filmlang.link.ffmpeg import ffmpeg_exe

RATE = 48000


def test_the_envelope_reaches_silence_before_the_picture_is_black() -> None:
    gain = fade_envelope([(1.0, 3.0, 1.0, 0.0), (3.0, 4.0, 0.0, 1.0)], 5 * RATE)
    assert gain[:RATE].min() == 1.0  # untouched before the fade
    assert 0.0 < gain[int(1.5 * RATE)] < 1.0
    assert gain[int(2.5 * RATE):int(3.25 * RATE)].max() == 0.0  # silent from 0.5 s early
    assert gain[int(3.3 * RATE)] < gain[int(3.8 * RATE)] < 1.0  # back up with the picture
    assert gain[-1] == 1.0


def test_effects_cued_inside_a_fade_play_as_written() -> None:
    tone = np.full(RATE, 0.25, dtype=np.float32)
    clips = [Clip(tone, 2.7, kind="effect"), Clip(tone, 0.0, kind="music")]
    out = mix(clips, 4.0, rate=RATE, fades=[(0.5, 3.0, 1.0, 0.0)])
    assert abs(out[int(2.8 * RATE), 0] - 0.25) < 1e-6  # the effect, not faded
    assert np.abs(out[int(0.2 * RATE)]).max() > 0.2  # the music before the fade
    assert np.abs(out[int(3.8 * RATE)]).max() == 0.0  # after it, silence


def _audio(path: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1",
                          "-ar", str(RATE), "-f", "f32le", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def test_a_film_ending_in_a_fade_ends_in_silence(tmp_path: Path) -> None:
    result = build(write_film(tmp_path, TINY_FILM), jobs=1)
    assert result.ok and result.output is not None, result.diagnostics
    samples = _audio(result.output)
    tail = samples[-RATE // 2:]
    peak_db = 20 * np.log10(max(float(np.abs(tail).max()), 1e-12))
    assert peak_db < -60.0, peak_db
    assert np.abs(samples[: len(samples) // 2]).max() > 0.05  # the film is not silent
