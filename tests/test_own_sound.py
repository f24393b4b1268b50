"""Sound follows the picture (fades take it to silence, the end fades) and plays one's own files."""

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


OWN = '''film "Own" {
    size 160x90
    fps 8
}

scene harbour "EXT. HARBOUR - DAY" {
    ambience "beds/harbour.wav" volume=0.5
    shot wide 2s {
        sound "sounds/gull.wav" at=0.5s
    }
}
'''


def _tone(path: Path, hz: float, seconds: float) -> None:
    from filmlang import audio

    t = np.arange(round(seconds * RATE), dtype=np.float32) / RATE
    path.parent.mkdir(parents=True, exist_ok=True)
    audio.write_wav(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), RATE)


def test_a_film_plays_its_own_sound_files(tmp_path: Path) -> None:
    _tone(tmp_path / "sounds" / "gull.wav", 880.0, 0.5)
    _tone(tmp_path / "beds" / "harbour.wav", 220.0, 0.7)  # shorter than the scene: looped
    path = tmp_path / "own.film"
    path.write_text(OWN)
    result = build(path, jobs=1)
    assert result.ok and result.output is not None, result.diagnostics
    samples = _audio(result.output)
    spectrum = np.abs(np.fft.rfft(samples[int(0.55 * RATE):int(0.95 * RATE)]))
    freqs = np.fft.rfftfreq(int(0.95 * RATE) - int(0.55 * RATE), 1 / RATE)
    for hz in (220.0, 880.0):  # the bed and the effect both sound
        band = spectrum[(freqs > hz - 20) & (freqs < hz + 20)].max()
        assert band > 20 * np.median(spectrum), hz
    assert np.abs(samples[int(1.2 * RATE):int(1.4 * RATE)]).max() > 0.01  # the bed loops
    # The file's content is in the key: a new gull is a new sound, the rest is cached.
    _tone(tmp_path / "sounds" / "gull.wav", 660.0, 0.5)
    again = build(path, jobs=1)
    assert again.ok
    ran = {kind for kind, c in again.counts().items() if c["ran"]}
    assert "sound" in ran and "ambience" not in ran


def test_a_missing_or_undecodable_file_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "own.film"
    path.write_text(OWN)
    _tone(tmp_path / "beds" / "harbour.wav", 220.0, 0.7)
    result = build(path, jobs=1)
    assert not result.ok
    missing = [d for d in result.check.diagnostics if d.code == "E0401"]
    assert len(missing) == 1 and missing[0].span.line == 9
    assert "sounds/gull.wav" in missing[0].message
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "gull.wav").write_text("not a sound at all\n")
    result = build(path, jobs=1)
    assert not result.ok and result.failures
    failure = result.failures[0]
    assert failure.job.origin is not None and failure.job.origin.line == 9
    assert 'cannot decode the sound file "sounds/gull.wav"' in failure.message


def test_music_changes_at_a_shot(tmp_path: Path) -> None:
    from filmlang.backends.music import runs

    source = ('film "M" {\n    size 160x90\n    fps 8\n}\n'
              'scene a "EXT. FIELD - DAY" {\n    music "calm" tempo=80\n'
              '    shot wide 1s\n    shot wide 1s {\n        music "tense" tempo=120\n    }\n'
              '    shot wide 1s\n}\n'
              'scene b "EXT. FIELD - DAY" {\n    music "tense" tempo=120\n    shot wide 1s\n}\n')
    path = tmp_path / "m.film"
    path.write_text(source)
    result = build(path, jobs=1)
    assert result.ok and result.timeline is not None, result.diagnostics
    cues = runs(result.timeline, "music")
    assert [(c.mood, round(start, 3), round(end, 3)) for c, start, end, _ in cues] == [
        ("calm", 0.0, 1.0), ("tense", 1.0, 4.0)]  # the change runs on into scene b
    assert result.counts()["music"]["ran"] == 2
