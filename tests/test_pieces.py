"""The mix in pieces (issue 13): per-scene pieces laid end to end are the whole-film mix,
with no click at any boundary, and the loudness from their stored energies matches the
whole-film normalisation. Real WAVs in a real store; real ffmpeg for the AAC."""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_FILM, planned, write_film
from filmlang.audio import SAMPLE_RATE, read_wav, write_wav
from filmlang.backends.protocol import AudioCue
from filmlang.cache.store import Store
from filmlang.link.audio_mix import Clip, half_rate, mix
from filmlang.link.loudness import integrated_loudness, normalize, true_peak_dbtp
from filmlang.link.master import GAIN_STEP_DB, Piece, levelled, levels
from filmlang.link.pieces import margin, piece_job
from filmlang.plan.assembly import _piece_clips

RATE = SAMPLE_RATE
FRAME = 2000                 # samples per frame at 24 fps: pieces start on frames


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "cache")
    store.ensure()
    return store


def _put(store: Store, samples: np.ndarray) -> str:
    """Keyed by content, as the store is: the session keeps decoded sounds by key."""
    key = hashlib.sha256(samples.astype(np.float32).tobytes()).hexdigest()
    store.path(key).mkdir(parents=True)
    write_wav(store.path(key) / "audio.wav", samples.astype(np.float32))
    return key


def _film(store: Store, rng: np.random.Generator, seconds: float, loud_at: float | None
          ) -> tuple[list[AudioCue], list[Clip]]:
    """A carry-over music cue across every boundary, ambience, lines ducking it that sit
    across the boundaries, an effect that rings into the next piece; optionally a hot
    transient just before a boundary that the limiter must catch."""
    t = np.arange(round(seconds * RATE)) / RATE
    music = 0.3 * np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 277 * t)], 1)
    music[:RATE // 4] *= np.linspace(0, 1, RATE // 4)[:, None]
    ambience = 0.05 * rng.standard_normal((len(t), 2))
    line = 0.3 * rng.standard_normal(round(1.3 * RATE)) * np.hanning(round(1.3 * RATE))
    bell = 0.5 * np.sin(2 * np.pi * 880 * t[:RATE * 2]) * np.exp(-t[:RATE * 2] * 2)
    if loud_at is not None:
        line[RATE // 2:RATE // 2 + 60] = 0.99
    keys = {"m": _put(store, music), "b": _put(store, ambience),
            "l": _put(store, line), "e": _put(store, bell)}
    cues = [AudioCue(input=keys["m"], start=0.0, gain=0.6, kind="music", seconds=seconds),
            AudioCue(input=keys["b"], start=0.0, gain=1.0, kind="ambience", seconds=seconds)]
    for at in (0.4, 2.4, 4.95, 9.3, (loud_at or 11.0) - 0.5):
        cues.append(AudioCue(input=keys["l"], start=at, gain=1.0, kind="dialogue",
                             seconds=1.3))
    cues.append(AudioCue(input=keys["e"], start=3.5, gain=0.8, kind="effect", seconds=2.0))
    clips = [Clip(samples=read_wav(store.audio(c.input))[0], start=c.start, gain=c.gain,
                  kind=c.kind) for c in cues]   # type: ignore[arg-type]
    return cues, clips


def _pieces(store: Store, cues: list[AudioCue], bounds: list[int], rate: int = RATE,
            channels: int = 2) -> list[Piece]:
    pad = margin(rate)
    placed = [(c, round(c.start * rate), c.seconds * rate + 1 if c.seconds else math.inf)
              for c in cues]
    out = []
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        params = {"samples": hi - lo, "margin": pad, "rate": rate, "grain": 400,
                  "clips": _piece_clips(placed, lo, hi, pad, rate),
                  **({"channels": 1} if channels == 1 else {})}
        folder = store.root / f"piece{k}"
        folder.mkdir()
        piece_job(params, folder, store.audio)
        out.append(Piece.load(folder))
    return out


def _joined(pieces: list[Piece]) -> np.ndarray:
    return np.concatenate([np.load(p.folder / "piece.npy")[p.margin:p.margin + p.samples]
                           for p in pieces])


def _assert_no_click(x: np.ndarray, bounds: list[int], around: int = 480) -> None:
    """At each boundary, the step between the samples either side is no larger than the
    program's own largest step nearby."""
    for b in bounds[1:-1]:
        step = np.abs(x[b] - x[b - 1]).max()
        near = np.abs(np.diff(np.concatenate([x[b - around:b - 1], x[b + 1:b + around]]),
                              axis=0)).max()
        assert step <= near, f"a click at sample {b}: step {step:.4g} > local {near:.4g}"


BOUNDS = [0, 2 * RATE + 3 * FRAME, 5 * RATE, 5 * RATE + 4 * FRAME, 9 * RATE + FRAME, 12 * RATE]


def test_pieces_end_to_end_are_the_whole_mix_and_click_free(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cues, clips = _film(store, np.random.default_rng(1), 12.0, None)
    pieces = _pieces(store, cues, BOUNDS)
    joined = _joined(pieces)
    whole = mix(clips, 12.0)
    # The same samples: the order of float additions differs in the last bits only.
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() < 1e-6
    _assert_no_click(joined, BOUNDS)
    _assert_no_click(whole, BOUNDS)       # and the check itself passes on a whole mix


def test_a_piece_that_moves_keeps_its_key() -> None:
    """Its clips are relative to its start: the same scene later in the film is the same
    piece."""
    cue = AudioCue(input="k" * 64, start=3.0, gain=1.0, kind="dialogue", seconds=1.0)
    moved = AudioCue(input="k" * 64, start=7.0, gain=1.0, kind="dialogue", seconds=1.0)
    a = _piece_clips([(cue, 3 * RATE, RATE + 1)], 2 * RATE, 5 * RATE, RATE, RATE)
    b = _piece_clips([(moved, 7 * RATE, RATE + 1)], 6 * RATE, 9 * RATE, RATE, RATE)
    assert a == b and a[0]["at"] == RATE
    assert _piece_clips([(cue, 3 * RATE, RATE + 1)], 6 * RATE, 9 * RATE, RATE, RATE) == []


@pytest.mark.parametrize(("loud_at", "target"), [(None, -16.0), (5.0 - 0.02, -9.0)])
def test_levels_from_pieces_match_the_whole_film(tmp_path: Path, loud_at: float | None,
                                                 target: float) -> None:
    """Loudness from stored block energies within 0.1 LU of the whole film's normalize;
    with a transient at a boundary the limiter's look-ahead acts across it."""
    store = _store(tmp_path)
    cues, clips = _film(store, np.random.default_rng(2), 12.0, loud_at)
    pieces = _pieces(store, cues, BOUNDS)
    chosen = levels(pieces, target, rate=RATE, memo=tmp_path / "memo")
    assert levels(pieces, target, rate=RATE, memo=tmp_path / "memo") == chosen
    assert bool(chosen.limited) == any((tmp_path / "memo").glob("*.npy"))
    out = np.concatenate([levelled(p, i, chosen, RATE) for i, p in enumerate(pieces)])
    today = normalize(mix(clips, 12.0), target, max_true_peak=-1.5)
    assert abs(integrated_loudness(out) - integrated_loudness(today)) < 0.1
    assert abs(integrated_loudness(out) - target) <= 0.1
    assert true_peak_dbtp(out) <= -1.5 + 1e-6
    if loud_at is not None:
        assert chosen.limited, "the transient should need the limiter"
        # The same samples to 1e-3, but for the film's gain, in GAIN_STEP_DB steps (up to
        # half a step from normalize's).
        step = np.abs(today).max() * (10 ** (GAIN_STEP_DB / 40) - 1)
        assert np.abs(out - today).max() < 1e-3 + step
    _assert_no_click(out, BOUNDS)


def test_a_preview_is_dual_mono_at_half_rate(tmp_path: Path) -> None:
    """Preview pieces read their beds' windows at 24 kHz: laid end to end they are the
    whole preview mix."""
    store = _store(tmp_path)
    cues, clips = _film(store, np.random.default_rng(3), 12.0, None)
    half = [b // 2 for b in BOUNDS]
    pieces = _pieces(store, cues, half, rate=RATE // 2, channels=1)
    joined = _joined(pieces)
    small = [Clip(samples=half_rate(c.samples), start=c.start, gain=c.gain, kind=c.kind,
                  rate=RATE // 2) for c in clips]
    whole = mix(small, 12.0, rate=RATE // 2).mean(axis=1, keepdims=True)
    assert joined.shape == whole.shape and np.abs(joined - whole).max() < 1e-6
    _assert_no_click(joined, half, around=240)


THREE_SCENES = TINY_FILM + '''
scene harbour "EXT. HARBOUR - DAY" {
    music "calm"
    ambience "sea"
    shot wide 3s
    shot close_up TOM {
        TOM: "The boats are in."
    }
}
'''


def test_a_scene_that_only_moves_is_not_mixed_again(tmp_path: Path) -> None:
    """A longer line in the first scene moves the others: the first scene's piece and the
    boundary it shares are new, the last scene's piece keeps its key."""
    from filmlang.api import check_file

    film = check_file(write_film(tmp_path, THREE_SCENES)).film
    assert film is not None

    def pieces(longer: float) -> dict[str, str]:
        graph, _ = planned(film, 1.5, longer={("storm", 1, 0): longer})
        return {j.identity: j.key for j in graph.jobs.values() if j.kind == "piece"}

    before, after = pieces(0.0), pieces(0.75)
    assert set(before) == {"piece:storm/0", "piece:dawn/0", "piece:harbour/0"}
    assert before["piece:storm/0"] != after["piece:storm/0"]
    assert before["piece:harbour/0"] == after["piece:harbour/0"]
