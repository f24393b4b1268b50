"""Music and ambience in bounded pieces (issue 13): a cue rendered by window is the cue
rendered whole, to float rounding, with no click at any window or scene boundary (music
carrying across one, and under a crossfade); a scene that only moves keeps every music and
ambience job, and a longer one renders only the windows its change reaches."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from test_pieces import FRAME, _assert_no_click, _joined, _pieces, _put, _store

from conftest import planned, write_film
from filmlang.audio import SAMPLE_RATE, read_wav
from filmlang.backends import music as backend
from filmlang.backends.music import synth
from filmlang.backends.protocol import AudioCue
from filmlang.link.audio_mix import Clip, mix
from filmlang.link.pieces import mix_piece
from filmlang.plan.assembly import _piece_clips

SR = SAMPLE_RATE
WINDOW = round(backend.WINDOW_SECONDS * SR)


def _windows(mood: str, seconds: float, seed: int, tempo: float | None = None,
             font: Path | None = None) -> list[tuple[int, np.ndarray]]:
    """The cue's windows as the planner cuts them and the runner renders them."""
    n = round(seconds * SR)
    intro, ending = synth.music_shape(mood, tempo, seconds)
    out = []
    for lo in range(0, n, WINDOW):
        hi = min(n, lo + WINDOW)
        ends = seconds if hi + SR > ending * SR else None
        out.append((lo, synth.render_music_window(mood, tempo, None, seed, lo, hi,
                                                  seconds=ends, intro=intro,
                                                  soundfont=font)))
    return out


@pytest.mark.parametrize(("mood", "seconds", "tempo"), [
    ("hopeful", 50.3, None),     # drums, an intro, a last window shorter than the rest
    ("calm", 37.0, 72.0),        # long reverb (its memory reaches back into the window)
    ("action", 16.0, None),      # exactly one window
    ("sad", 90.0, 60.0),         # two of the renderer's 60 s chunks in one render
])
def test_windows_end_to_end_are_the_whole_cue_and_click_free(mood: str, seconds: float,
                                                            tempo: float | None) -> None:
    whole = synth.render_music(mood, tempo, None, seconds, 11)
    windows = _windows(mood, seconds, 11, tempo)
    joined = np.concatenate([w for _, w in windows])
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() < 1e-6
    bounds = [0, *(lo for lo, _ in windows[1:]), len(whole)]
    _assert_no_click(joined, bounds)
    again = _windows(mood, seconds, 11, tempo)    # deterministic
    assert all(a.tobytes() == b.tobytes() for (_, a), (_, b) in zip(windows, again,
                                                                      strict=True))


def test_soundfont_windows_are_the_whole_cue(tmp_path: Path) -> None:
    from test_soundfont import write_sf2

    font = write_sf2(tmp_path / "test.sf2")
    whole = synth.render_music("upbeat", None, None, 35.0, 2, soundfont=font)
    joined = np.concatenate([w for _, w in _windows("upbeat", 35.0, 2, font=font)])
    assert np.abs(joined - whole).max() < 1e-6


def test_a_longer_cue_changes_only_its_ending() -> None:
    """Every bar but the last is the same for any length: a longer cue is the shorter one's
    samples up to the shorter one's ending."""
    short = synth.render_music("hopeful", None, None, 40.0, 4)
    long = synth.render_music("hopeful", None, None, 43.5, 4)
    _, ending = synth.music_shape("hopeful", None, 40.0)
    cut = math.floor(ending * SR)
    assert cut > 30 * SR
    assert np.array_equal(short[:cut], long[:cut])


def test_pieces_of_windowed_beds_are_the_whole_mix(tmp_path: Path) -> None:
    """The film's mix in pieces (scene boundaries off the window grid), the music read by
    window across every boundary, the ambience as loops laid end to end, a crossfade's
    dip at a scene boundary: the whole-cue mix to 1e-6, no click at any window, loop or
    scene boundary."""
    store = _store(tmp_path)
    seconds, at = 40.0, 0.5       # the cue starts half a second into the film
    music = synth.render_music("hopeful", None, None, seconds, 5)
    loop = synth.render_ambience("sea", 30.0, 5)
    cues = [AudioCue(input=_put(store, w), start=at + lo / SR, gain=0.7, kind="music",
                     seconds=len(w) / SR) for lo, w in _windows("hopeful", seconds, 5)]
    looped = _put(store, loop)      # one loop, laid twice, the second cut with a fade
    cues += [AudioCue(input=looped, start=0.0, gain=0.8, kind="ambience", seconds=30.0),
             AudioCue(input=looped, start=30.0, gain=0.8, kind="ambience", seconds=11.0,
                      length=11.0, fade_out=0.1)]
    # As the store holds them (16-bit WAVs): the whole cue and the loop read back.
    music = read_wav(store.audio(_put(store, music)))[0]
    loop = read_wav(store.audio(looped))[0]
    bed = np.concatenate([loop, loop[:11 * SR]])
    clips = [Clip(samples=music, start=at, gain=0.7, kind="music"),
             Clip(samples=bed, start=0.0, gain=0.8, kind="ambience", fade_out=0.1)]
    total = 41 * SR
    scenes = [0, 7 * SR + 3 * FRAME, 16 * SR + SR // 2, 21 * SR + FRAME, 33 * SR, total]
    pieces = _pieces(store, cues, scenes)
    joined = _joined(pieces)
    whole = mix(clips, total / SR)
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() < 1e-6
    windows = [round((at + lo / SR) * SR) for lo in range(WINDOW, len(music), WINDOW)]
    _assert_no_click(joined, sorted({0, *scenes, *windows, 30 * SR, total}))
    # A crossfade at the second scene boundary: the pieces follow the picture's dip.
    fades = [(scenes[2] / SR - 0.5, scenes[2] / SR, 1.0, 0.0),
             (scenes[2] / SR, scenes[2] / SR + 0.5, 0.0, 1.0)]
    dipped = mix(clips, total / SR, fades=fades)
    pad = pieces[0].margin
    placed = [(c, round(c.start * SR), (c.seconds or 0) * SR + 1) for c in cues]
    for lo, hi in itertools.pairwise(scenes):
        near = [[f0 - (lo - pad) / SR, f1 - (lo - pad) / SR, g0, g1]
                for f0, f1, g0, g1 in fades]
        params = {"samples": hi - lo, "margin": pad, "rate": SR,
                  "clips": _piece_clips(placed, lo, hi, pad, SR), "fades": near}
        got = mix_piece(params, store.audio)[pad:pad + hi - lo]
        assert np.abs(got - dipped[lo:hi]).max() < 1e-6, f"the piece at {lo}"


TWO_CUES = '''film "Windows" {
    size 160x90
    fps 8
    seed 9
}

scene quay "EXT. QUAY - DAY" {
    music "hopeful"
    ambience "sea"
    shot wide 9s
    shot close_up 9s
}

scene deck "EXT. DECK - DAY" {
    music "hopeful"
    ambience "wind"
    shot wide 12s
    shot wide 8s
}

dissolve 1s

scene cabin "INT. CABIN - NIGHT" {
    music "calm"
    ambience "room"
    shot wide 20s
}
'''


def _jobs(tmp_path: Path, text: str) -> dict[str, dict[str, str]]:
    """The music and ambience jobs a film plans: {kind: {identity: key}}."""
    from filmlang.api import check_file

    film = check_file(write_film(tmp_path, text)).film
    assert film is not None
    graph, _ = planned(film, 1.0)
    out: dict[str, dict[str, str]] = {"music": {}, "ambience": {}}
    for job in graph.jobs.values():
        if job.kind in out:
            out[job.kind][job.identity] = job.key
    return out


def test_a_moved_scene_keeps_its_jobs_and_a_longer_one_renders_its_ending(
        tmp_path: Path) -> None:
    before = _jobs(tmp_path, TWO_CUES)
    # quay + deck share a 38 s cue (three windows), cabin's is 20 s (two).
    assert sorted(before["music"]) == ["music:cabin/0", "music:cabin/1", "music:quay/0",
                                       "music:quay/1", "music:quay/2"]
    assert sorted(before["ambience"]) == ["ambience:room/30", "ambience:sea/30",
                                          "ambience:wind/30"]
    # The first shot 3 s longer: the shared cue grows, cabin only moves.
    after = _jobs(tmp_path, TWO_CUES.replace("shot wide 9s", "shot wide 12s"))
    same = {k for k in before["music"] if after["music"].get(k) == before["music"][k]}
    assert same == {"music:cabin/0", "music:cabin/1", "music:quay/0", "music:quay/1"}
    assert after["ambience"] == before["ambience"]      # within their loops' length
    # A new 12 s scene before them all: everything moves, nothing is rendered again.
    moved = _jobs(tmp_path, TWO_CUES.replace(
        'scene quay', 'scene gull "EXT. SKY - DAY" {\n    music "tense"\n    shot wide 12s\n}'
        '\n\nscene quay'))
    assert {k: v for k, v in moved["music"].items() if not k.startswith("music:gull")} \
        == before["music"]
    assert before["ambience"].items() <= moved["ambience"].items()
