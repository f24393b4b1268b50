"""The built-in synthesizer: exact lengths, determinism, levels, seamless loops, the
character of moods, beds and effects (measured, not listened to), speed, WAV round trips."""

from __future__ import annotations

import itertools
import time
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from filmlang.audio import SAMPLE_RATE, read_wav, write_wav
from filmlang.backends.music import synth

SR = SAMPLE_RATE
Samples = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]

NAMED_MOODS = ("melancholy", "warm", "hopeful", "tense", "mysterious", "romantic", "playful",
               "epic", "sad", "calm")
PERCUSSIVE = ("tense", "action", "upbeat", "hopeful", "playful")
GENTLE = ("calm", "melancholy", "sad", "warm", "romantic")


@cache
def music(mood: str, seconds: float = 20.0, seed: int = 0, tempo: float | None = None,
          key: str | None = None) -> Samples:
    out = synth.render_music(mood, tempo, key, seconds, seed)
    out.setflags(write=False)
    return out


@cache
def ambience(name: str, seconds: float = 20.0, seed: int = 0) -> Samples:
    out = synth.render_ambience(name, seconds, seed)
    out.setflags(write=False)
    return out


def dbfs(value: float) -> float:
    return 20.0 * float(np.log10(max(value, 1e-12)))


def rms(x: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def centroid(x: Samples) -> float:
    power = np.abs(np.fft.rfft(x.mean(axis=1, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / SR)
    return float(np.sum(power * freqs) / np.sum(power))


def band_energies(x: Samples, hop: int = 480, win: int = 2048, bands: int = 24) -> Floats:
    """Energy per frame in log-spaced bands from 60 Hz to 16 kHz: (frames, bands)."""
    mono = x.mean(axis=1, dtype=np.float64)
    count = max(1, (len(mono) - win) // hop)
    index = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    power = np.abs(np.fft.rfft(mono[index] * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / SR)
    edges = np.geomspace(60.0, 16_000.0, bands + 1)
    return np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)
                     for lo, hi in itertools.pairwise(edges)], axis=1)


def onset_rate(x: Samples) -> float:
    """Onsets a second: peaks of the band-wise spectral flux (vibrato stays in its band)."""
    level = np.log10(band_energies(x) + 1e-10)
    flux = np.maximum(0.0, np.diff(level, axis=0)).sum(axis=1)
    median = np.median(flux)
    threshold = median + 6.0 * np.median(np.abs(flux - median))
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
    return float(peaks.sum()) / (len(x) / SR)


def spectral_profile(x: Samples) -> Floats:
    """The average spectrum in dB per band, relative to the total, floored at -45 dB."""
    energy = band_energies(x).mean(axis=0)
    profile: Floats = np.maximum(10.0 * np.log10(energy / energy.sum() + 1e-12), -45.0)
    return profile


def hf_transients(x: Samples) -> float:
    """How much the energy above 7 kHz jumps from one 5 ms frame to the next, in per cent
    of the overall level: hats and shakers score high, sustained tones near zero."""
    energy = band_energies(x, hop=240, win=512)
    edges = np.geomspace(60.0, 16_000.0, energy.shape[1] + 1)
    high = np.sqrt(energy[:, edges[:-1] >= 7000.0].sum(axis=1))
    jumps = np.maximum(0.0, np.diff(high)).mean()
    return 100.0 * float(jumps / np.sqrt(energy.sum(axis=1).mean()))


def onsets(x: Samples, rise: float = 1.8, floor: float = 0.3, gap: float = 0.12) -> list[float]:
    """Times of sharp rises of the 10 ms peak envelope (for effects)."""
    frame = SR // 100
    peak = np.abs(x).max(axis=1)[: len(x) // frame * frame].reshape(-1, frame).max(axis=1)
    found: list[float] = []
    for i in range(1, len(peak)):
        if (peak[i] > floor * peak.max() and peak[i] > rise * peak[i - 1]
                and (not found or i / 100 - found[-1] > gap)):
            found.append(i / 100)
    return found


def check_audio(x: Samples, samples: int) -> None:
    assert x.shape == (samples, 2)
    assert x.dtype == np.float32
    assert x.flags["C_CONTIGUOUS"]
    assert np.isfinite(x).all()
    assert np.abs(x).max(initial=0.0) < 1.0


# Shapes and lengths -------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.0, 1e-4, 0.3, 1.0, 7.3491])
def test_lengths_are_exact_for_every_name(seconds: float) -> None:
    samples = round(seconds * SR)
    for mood in ("calm", "action", "romantic"):
        check_audio(synth.render_music(mood, None, None, seconds, 1), samples)
    for name in synth.AMBIENCES:
        check_audio(synth.render_ambience(name, seconds, 1), samples)


def test_long_renders_are_exact_and_keep_playing_to_the_end() -> None:
    cue = music("tense", 90.0)
    check_audio(cue, 90 * SR)
    # Bars keep coming until the end: the last stretch before the fade is not silence.
    assert rms(cue[80 * SR:88 * SR]) > 0.4 * rms(cue)
    bed = ambience("storm", 90.0)
    check_audio(bed, 90 * SR)
    assert rms(bed[80 * SR:]) > 0.3 * rms(bed)


def test_long_cues_are_built_in_chunks_without_seams(monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.backends.music import band as synth_music

    whole = synth.render_music("epic", None, None, 16.0, 4)
    monkeypatch.setattr(synth_music, "CHUNK", 5.0)
    assert np.abs(synth.render_music("epic", None, None, 16.0, 4) - whole).max() < 1e-6


def test_long_beds_repeat_a_seamless_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.backends.music import ambience as synth_ambience

    monkeypatch.setattr(synth_ambience, "LOOP", 4.0)
    bed = synth.render_ambience("forest", 10.0, 2)
    check_audio(bed, 10 * SR)
    period = -(-len(bed) // 3)
    assert np.array_equal(bed[period:2 * period], bed[:period])
    assert abs(dbfs(rms(bed)) + 18.0) < 0.5


def test_sounds_have_their_natural_length() -> None:
    for name in synth.SOUNDS:
        sound = synth.render_sound(name, 3)
        check_audio(sound, round(synth.sound_seconds(name) * SR))
        assert 0.3 <= synth.sound_seconds(name) <= 10.0


# Determinism ----------------------------------------------------------------------------


def test_same_arguments_give_identical_samples() -> None:
    first = synth.render_music("hopeful", 100, "G major", 6.0, 7)
    synth.render_music("sad", None, None, 3.0, 1)  # nothing carries over between renders
    assert np.array_equal(first, synth.render_music("hopeful", 100, "G major", 6.0, 7))
    for name in synth.AMBIENCES:
        assert np.array_equal(synth.render_ambience(name, 3.0, 7),
                              synth.render_ambience(name, 3.0, 7))
    for name in synth.SOUNDS:
        assert np.array_equal(synth.render_sound(name, 7), synth.render_sound(name, 7))


def test_a_different_seed_gives_different_samples() -> None:
    assert not np.array_equal(music("calm", 10.0, 1), music("calm", 10.0, 2))
    for name in synth.AMBIENCES:
        assert not np.array_equal(synth.render_ambience(name, 3.0, 1),
                                  synth.render_ambience(name, 3.0, 2))
    for name in synth.SOUNDS:
        assert not np.array_equal(synth.render_sound(name, 1), synth.render_sound(name, 2))


def test_seeds_may_be_negative_or_huge() -> None:
    a = synth.render_ambience("wind", 1.0, -1)
    b = synth.render_ambience("wind", 1.0, 2**64 + 5)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    assert not np.array_equal(a, synth.render_ambience("wind", 1.0, 1))


def test_no_key_means_the_moods_own_key() -> None:
    assert synth.music_mood("calm") == "calm"
    assert np.array_equal(music("calm", 8.0), music("calm", 8.0, key="D major"))
    assert not np.array_equal(music("calm", 8.0), music("calm", 8.0, key="D minor"))


# Levels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mood", ["calm", "action", "sad", "playful"])
def test_music_peaks_at_minus_6_dbfs_and_fades(mood: str) -> None:
    # The mood's level, not the cue's own peak (a window cannot know it): within 2 dB,
    # and never above the soft limit's ceiling.
    cue = music(mood)
    assert abs(dbfs(float(np.abs(cue).max())) + 6.0) < 2.0
    assert float(np.abs(cue).max()) <= 0.95
    assert np.abs(cue.mean(axis=0)).max() < 1e-3
    assert np.abs(cue[:10]).max() < 1e-3  # fades in
    assert np.abs(cue[-10:]).max() < 1e-3  # and out
    assert rms(cue[-SR // 4:]) < 0.2 * rms(cue[SR:-2 * SR])


def test_ambience_sits_at_its_rms_level_without_clipping() -> None:
    for name in synth.AMBIENCES:
        bed = ambience(name)
        target = -26.0 if name == "room" else -18.0
        assert abs(dbfs(rms(bed)) - target) < 0.5, name
        assert dbfs(float(np.abs(bed).max())) < -2.9, name
        assert np.abs(bed.mean(axis=0)).max() < 1e-3, name


def test_ambience_level_holds_steady_over_time() -> None:
    for name in synth.AMBIENCES:
        bed = ambience(name)
        windows = [dbfs(rms(bed[i:i + 5 * SR])) for i in range(0, 20 * SR, 5 * SR)]
        assert max(windows) - min(windows) < 9.0, (name, windows)


def test_effects_peak_at_minus_3_dbfs_without_dc() -> None:
    for name in synth.SOUNDS:
        sound = synth.render_sound(name, 0)
        assert abs(dbfs(float(np.abs(sound).max())) + 3.0) < 0.1, name
        assert np.abs(sound.mean(axis=0)).max() < 1e-3, name
        assert np.abs(sound[-10:]).max() < 1e-3, name


# Loops ----------------------------------------------------------------------------------


def test_ambience_loops_without_a_seam() -> None:
    for name in synth.AMBIENCES:
        bed = synth.render_ambience(name, 4.0, 5).astype(np.float64)
        jump = np.abs(bed[0] - bed[-1])
        steps = np.percentile(np.abs(np.diff(bed, axis=0)), 99.9, axis=0)
        assert (jump <= steps).all(), (name, jump, steps)


# Character ------------------------------------------------------------------------------


def test_moods_are_found_by_keyword() -> None:
    assert synth.music_mood("Suspense") == "tense"
    assert synth.music_mood("a bittersweet goodbye") == "melancholy"
    assert synth.music_mood("heroic and grand") == "epic"
    assert synth.music_mood("love theme") == "romantic"
    assert synth.music_mood("chase through the market") == "action"
    assert synth.music_mood("sad but hopeful") == "sad"  # the first keyword wins
    assert synth.music_mood("") == "calm"
    assert synth.music_mood("xyzzy") == "calm"
    for mood in NAMED_MOODS:
        assert synth.music_mood(mood) == mood


def test_named_moods_have_measurably_different_spectra() -> None:
    profiles = {mood: spectral_profile(music(mood)) for mood in NAMED_MOODS}
    for a, b in itertools.combinations(NAMED_MOODS, 2):
        distance = float(np.sqrt(np.mean((profiles[a] - profiles[b]) ** 2)))
        assert distance > 1.5, (a, b, distance)


def test_busy_moods_have_more_onsets_than_slow_ones() -> None:
    rates = {mood: onset_rate(music(mood)) for mood in ("sad", "calm", "upbeat", "action")}
    assert rates["action"] > 1.5 * rates["upbeat"] > 1.5 * rates["calm"], rates
    assert rates["sad"] < rates["calm"], rates


def test_tempo_sets_the_pace() -> None:
    slow = onset_rate(music("calm", tempo=60.0))
    fast = onset_rate(music("calm", tempo=120.0))
    assert fast > 1.5 * slow, (slow, fast)


@pytest.mark.parametrize("key, scale", [("C major", (0, 2, 4, 5, 7, 9, 11)),
                                        ("F# major", (6, 8, 10, 11, 1, 3, 5))])
def test_music_stays_in_its_key(key: str, scale: tuple[int, ...]) -> None:
    cue = music("warm", key=key)
    power = np.abs(np.fft.rfft(cue.mean(axis=1, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(cue), 1.0 / SR)
    audible = (freqs > 60.0) & (freqs < 2000.0)
    classes = np.round(12.0 * np.log2(freqs[audible] / 440.0) + 69.0).astype(int) % 12
    chroma = np.bincount(classes, weights=power[audible], minlength=12)
    assert chroma[list(scale)].sum() > 0.85 * chroma.sum()


def test_percussion_only_where_the_mood_calls_for_it() -> None:
    for mood in PERCUSSIVE:
        assert hf_transients(music(mood)) > 0.035, mood
    for mood in GENTLE:
        assert hf_transients(music(mood)) < 0.025, mood


def test_ambience_names_have_distinct_spectral_centroids() -> None:
    centroids = sorted((centroid(ambience(name)), name) for name in synth.AMBIENCES)
    assert centroids[0][1] == "room" and centroids[-1][1] == "rain"
    for (low, a), (high, b) in itertools.pairwise(centroids):
        assert high > 1.15 * low, (a, low, b, high)


def test_effects_sound_like_their_names() -> None:
    def low_share(x: Samples) -> float:
        power = np.abs(np.fft.rfft(x.mean(axis=1, dtype=np.float64))) ** 2
        return float(power[np.fft.rfftfreq(len(x), 1.0 / SR) < 300.0].sum() / power.sum())

    for seed in (0, 1):
        assert len(onsets(synth.render_sound("knock", seed))) == 3
        assert len(onsets(synth.render_sound("footsteps", seed))) == 4
        thunder = synth.render_sound("thunder", seed)
        assert low_share(thunder) > 0.5  # mostly rumble ...
        assert np.argmax(np.abs(thunder).max(axis=1)) < SR  # ... after the crack
        bell = synth.render_sound("bell", seed)
        assert rms(bell[3 * SR:4 * SR]) > 0.05 * rms(bell[:SR])  # rings on
        glass = synth.render_sound("glass", seed)
        assert centroid(glass) > 2000.0 and low_share(glass) < 0.05
        assert centroid(synth.render_sound("splash", seed)) > 1500.0
        door = synth.render_sound("door", seed)
        assert low_share(door) > 0.5  # the thud


# Errors, speed and files ----------------------------------------------------------------


def test_every_name_the_checker_allows_has_a_design() -> None:
    from filmlang.backends.music import ambience as synth_ambience
    from filmlang.backends.music import sounds as synth_sounds
    from filmlang.semantic import schema

    assert set(schema.AMBIENCES) <= set(synth.AMBIENCES) == set(synth_ambience.DESIGNS)
    assert set(schema.SOUNDS) <= set(synth.SOUNDS) == set(synth_sounds.DESIGNS)


def test_bad_arguments_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown ambience"):
        synth.render_ambience("jungle", 1.0, 0)
    with pytest.raises(ValueError, match="unknown sound"):
        synth.render_sound("explosion", 0)
    with pytest.raises(ValueError, match="seconds"):
        synth.render_music("calm", None, None, -1.0, 0)
    with pytest.raises(ValueError, match="seconds"):
        synth.render_ambience("rain", float("nan"), 0)
    with pytest.raises(ValueError, match="key"):
        synth.render_music("calm", None, "H minor", 1.0, 0)


@pytest.mark.parametrize("key", ["Bb minor", "F#", "Am", "eb major", "C♯ minor"])
def test_keys_in_the_forms_the_checker_allows(key: str) -> None:
    check_audio(synth.render_music("calm", None, key, 0.5, 0), SR // 2)


def test_a_minute_of_music_renders_in_well_under_three_seconds() -> None:
    synth.render_music("action", None, None, 1.0, 0)  # warm up imports and tables
    start = time.process_time()
    synth.render_music("action", None, None, 60.0, 11)
    assert time.process_time() - start < 3.0
    start = time.process_time()
    synth.render_ambience("storm", 60.0, 11)
    assert time.process_time() - start < 5.0


def test_wav_round_trip(tmp_path: Path) -> None:
    for label, samples in (("music", music("warm", 3.0)), ("bed", ambience("sea", 3.0)),
                           ("sound", synth.render_sound("bell", 0))):
        path = tmp_path / f"{label}.wav"
        write_wav(path, samples)
        back, rate = read_wav(path)
        assert rate == SR
        assert back.shape == samples.shape
        # write_wav scales by 32767 and read_wav by 1/32768: half a step plus that.
        assert np.abs(back - samples).max() <= 2.0 / 32767
