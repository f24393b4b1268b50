"""The procedural visual backend: stills, camera moves, text and blends."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from conftest import FILM_HEADER, check_source
from filmlang import ir
from filmlang.backends.procedural import draw as P
from filmlang.build import build
from filmlang.link.ffmpeg import ffmpeg_exe

W, H = 320, 180
ANA = (230, 180, 34)
BO = (208, 32, 144)
TW, TH = 640, 360  # text is checked at a size where letters are several pixels wide

SOURCE = FILM_HEADER + """
character ANA { look "young woman, red hair, raincoat"; color "#e6b422" }
character BO { look "old man, grey beard, glasses"; color "#d02090" }

scene coast "EXT. COAST - DAY" {
    setting "a rocky coast, a lighthouse on the cliff"
    shot wide ANA
    shot medium ANA
    shot close_up ANA
    shot extreme_close_up ANA
    shot two_shot ANA BO
    shot insert { action "the lock turns at last" }
    shot wide { action "the tide comes in" }
    shot wide
}
scene dark "EXT. COAST - NIGHT" {
    setting "a rocky coast, a lighthouse on the cliff"
    shot wide ANA
}
scene inside "INT. KITCHEN - DAY" {
    setting "a small kitchen"
    shot medium BO
}
"""

Frame = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> ir.Film:
    result = check_source(tmp_path_factory.mktemp("procedural"), SOURCE)
    assert result.film is not None, result.report()
    return result.film


def shot_of(film: ir.Film, scene: str, index: int) -> tuple[ir.Scene, ir.Shot]:
    sc = next(s for s in film.scenes if s.name == scene)
    return sc, sc.shots[index]


def still(film: ir.Film, scene: str, index: int) -> Image.Image:
    sc, shot = shot_of(film, scene, index)
    return P.render_still(film, sc, shot, *P.still_size(W, H))


def pixels(image: Image.Image | Frame) -> Frame:
    return np.asarray(image, dtype=np.uint8)


def count(image: Image.Image | Frame, color: tuple[int, int, int], tol: int = 3) -> int:
    diff = np.abs(pixels(image).astype(np.int16) - np.asarray(color, np.int16))
    return int(np.count_nonzero(diff.max(axis=2) <= tol))


def frames(image: Image.Image, camera: str, n: int = 24, seed: int = 1,
           start: int = 0) -> list[Frame]:
    return list(P.render_frames(image, camera, n, 24.0, W, H, seed, start=start))


def test_still_size_is_a_quarter_larger_and_even() -> None:
    assert P.still_size(1280, 720) == (1600, 900)
    for w, h in ((320, 180), (321, 181), (640, 360), (100, 50)):
        sw, sh = P.still_size(w, h)
        assert sw % 2 == 0 and sh % 2 == 0
        assert abs(sw - w * P.STILL_SCALE) <= 1 and abs(sh - h * P.STILL_SCALE) <= 1


def test_stills_and_frames_are_deterministic(film: ir.Film) -> None:
    for index in (0, 4, 5, 6):
        a, b = still(film, "coast", index), still(film, "coast", index)
        assert a.mode == "RGB" and a.size == P.still_size(W, H)
        assert a.tobytes() == b.tobytes()
    image = still(film, "coast", 0)
    for camera in ("handheld", "push_in"):
        first, second = frames(image, camera, 12, seed=9), frames(image, camera, 12, seed=9)
        assert all(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    other = frames(image, "handheld", 12, seed=10)
    assert not np.array_equal(frames(image, "handheld", 12, seed=9)[-1], other[-1])


def test_subjects_are_drawn_in_their_colours(film: ir.Film) -> None:
    wide, close = still(film, "coast", 0), still(film, "coast", 2)
    assert count(wide, ANA) > 30
    assert count(close, ANA) > 500
    assert count(wide, BO) == 0
    two = still(film, "coast", 4)
    assert count(two, ANA) > 200 and count(two, BO) > 200
    # The colour survives the camera, as the frames the film is made of.
    assert count(frames(close, "push_in", 6)[-1], ANA) > 500
    assert count(still(film, "inside", 0), BO) > 200


def test_framing_sets_the_figure_size(film: ir.Film) -> None:
    shots = [still(film, "coast", i) for i in (0, 1, 2)]
    wide, medium, close = (count(image, ANA) for image in shots)
    assert medium > wide > 0 and close > 3 * wide
    assert medium > 3 * wide
    # A close-up's bigger head pushes the clothes lower in the frame than a medium shot's.
    tops = [np.nonzero((np.abs(pixels(image).astype(np.int16) - ANA).max(axis=2) <= 3)
                       .any(axis=1))[0].min() for image in shots]
    assert tops[1] < tops[2]


def test_night_is_darker_than_day(film: ir.Film) -> None:
    day = pixels(still(film, "coast", 0)).mean()
    night = pixels(still(film, "dark", 0)).mean()
    assert night < day * 0.6


def test_places_differ(film: ir.Film) -> None:
    empty = pixels(still(film, "coast", 7))
    inside = pixels(still(film, "inside", 0))
    assert np.abs(empty.astype(np.int16) - inside.astype(np.int16)).mean() > 20


def test_insert_and_empty_shots_show_their_action(film: ir.Film) -> None:
    card = pixels(still(film, "coast", 5))
    # A dark card with light words in its middle.
    assert card.mean() < 80
    sh, sw = card.shape[:2]
    middle = card[int(sh * 0.4):int(sh * 0.65), int(sw * 0.2):int(sw * 0.8)]
    assert np.count_nonzero(middle.min(axis=2) > 200) > 50
    captioned = pixels(still(film, "coast", 6)).astype(np.int16)
    bare = pixels(still(film, "coast", 7)).astype(np.int16)
    changed = np.abs(captioned - bare).max(axis=2) > 30
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.size and rows.min() > sh * 0.5 and rows.max() < sh * 0.9


def test_cameras_move_or_stay(film: ir.Film) -> None:
    image = still(film, "coast", 0)
    for camera in ("push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down",
                   "handheld"):
        shot = frames(image, camera, 24)
        assert len(shot) == 24
        assert shot[0].shape == (H, W, 3) and shot[0].dtype == np.uint8
        assert not np.array_equal(shot[0], shot[-1]), camera
    static = frames(image, "static", 24)
    assert len(static) == 24
    assert all(np.array_equal(static[0], f) for f in static)
    # Opposite moves end where the other starts.
    push, pull = frames(image, "push_in", 8), frames(image, "pull_out", 8)
    assert np.array_equal(push[0], pull[-1]) and np.array_equal(push[-1], pull[0])
    with pytest.raises(ValueError):
        frames(image, "dolly_zoom", 4)


def test_start_renders_the_tail_of_the_same_shot(film: ir.Film) -> None:
    image = still(film, "coast", 0)
    for camera in ("push_in", "static", "handheld"):
        whole = frames(image, camera, 20)
        tail = frames(image, camera, 20, start=14)
        assert len(tail) == 6
        assert all(np.array_equal(a, b) for a, b in zip(whole[14:], tail, strict=True))
    assert frames(image, "push_in", 5, start=5) == []


def motion(shot: list[Frame]) -> npt.NDArray[np.float64]:
    return np.array([np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()
                     for a, b in pairwise(shot)])


@pytest.mark.parametrize("camera", ["push_in", "pan_right", "tilt_down"])
def test_moves_are_smooth_and_eased(film: ir.Film, camera: str) -> None:
    steps = motion(frames(still(film, "coast", 2), camera, 48))
    middle = steps[len(steps) // 3: 2 * len(steps) // 3]
    assert middle.min() > 0
    # Steady in the middle, slow at both ends, never a jump.
    assert middle.max() / middle.min() < 1.35
    assert steps[0] < middle.mean() * 0.5 and steps[-1] < middle.mean() * 0.5
    assert steps.max() < middle.mean() * 1.3


def test_handheld_drifts_without_jitter(film: ir.Film) -> None:
    steps = motion(frames(still(film, "coast", 2), "handheld", 48))
    assert steps.max() > 0
    # A slow drift: neighbouring steps are alike.
    jumps = np.abs(np.diff(steps))
    assert jumps.max() < steps.max() * 0.6


def test_subtitles_sit_at_the_bottom_inside_the_safe_area() -> None:
    frame = np.full((TH, TW, 3), 90, np.uint8)
    out = P.draw_text(frame, "The light has to stay on.", where="subtitle", alpha=1.0)
    assert out is not frame and frame.max() == 90
    changed = np.abs(out.astype(np.int16) - 90).max(axis=2) > 10
    rows, cols = np.nonzero(changed)
    assert rows.min() > TH * 0.7 and rows.max() < TH * 0.96
    assert cols.min() > TW * 0.05 and cols.max() < TW * 0.95
    assert np.count_nonzero(out.min(axis=2) > 240) > 30  # white letters
    assert np.count_nonzero(out.max(axis=2) < 40) > 30  # dark outline
    long = "Then we keep it burning, all night and all of tomorrow night. " * 3
    out = P.draw_text(frame, long, where="subtitle", alpha=1.0)
    rows, cols = np.nonzero(np.abs(out.astype(np.int16) - 90).max(axis=2) > 10)
    assert cols.min() >= TW * 0.05 - 1 and cols.max() <= TW * 0.95 + 1
    assert rows.max() - rows.min() < TH * 0.2  # two lines at most


def test_titles_sit_in_the_middle_and_fade() -> None:
    frame = np.full((TH, TW, 3), 40, np.uint8)
    out = P.draw_text(frame, "Ashcombe Point, 1893", where="title", alpha=1.0)
    rows, cols = np.nonzero(np.abs(out.astype(np.int16) - 40).max(axis=2) > 10)
    assert rows.min() > TH * 0.3 and rows.max() < TH * 0.7
    assert cols.min() > TW * 0.05 and cols.max() < TW * 0.95
    half = P.draw_text(frame, "Ashcombe Point, 1893", where="title", alpha=0.5)
    assert 40 < half.max() < out.max()
    assert np.array_equal(P.draw_text(frame, "x", where="title", alpha=0.0), frame)


def test_blend_ends_are_its_inputs() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    for kind in ("dissolve", "wipe", "fade"):
        assert np.array_equal(P.blend(a, b, 0.0, kind), a)
        assert np.array_equal(P.blend(a, b, 1.0, kind), b)
    assert P.blend(a, b, 0.5, "fade").max() == 0
    mid = P.blend(a, b, 0.5, "dissolve").astype(np.int16)
    assert np.abs(mid - (a.astype(np.int16) + b) / 2).max() <= 1
    wipe = P.blend(a, b, 0.5, "wipe")
    assert np.array_equal(wipe[:, : W // 4], b[:, : W // 4])
    assert np.array_equal(wipe[:, -W // 4:], a[:, -W // 4:])
    with pytest.raises(ValueError):
        P.blend(a, b, 0.5, "iris")


def test_every_shot_renders(film: ir.Film) -> None:
    """Every shot of the test film renders at a film's size without error."""
    for sc in film.scenes:
        for shot in sc.shots:
            image = P.render_still(film, sc, shot, *P.still_size(W, H))
            assert len(frames(image, shot.camera, 2, seed=shot.seed)) == 2


def test_bad_arguments_fail_at_the_call(film: ir.Film) -> None:
    image = still(film, "coast", 0)
    with pytest.raises(ValueError, match="camera move"):
        P.render_frames(image, "dolly_zoom", 4, 24.0, W, H, 0)
    with pytest.raises(ValueError):
        P.draw_text(np.zeros((H, W, 3), np.uint8), "x", where="caption", alpha=1.0)


# --- the fast camera path, and weather ------------------------------------------------------

def pillow_frames(image: Image.Image, camera: str, n: int, seed: int = 1) -> list[Frame]:
    """The reference: each frame a Pillow bilinear resize of the camera's box (slow)."""
    boxes = P.camera_boxes(image.size, camera, n, 24.0, W, H, seed)
    return [pixels(image.resize((W, H), Image.Resampling.BILINEAR, box=box)) for box in boxes]


@pytest.mark.parametrize("camera", ["push_in", "pan_left", "tilt_up", "handheld"])
def test_moving_frames_match_the_pillow_reference(film: ir.Film, camera: str) -> None:
    """Speed did not cost quality: the fast path draws what Pillow's resize draws."""
    image = still(film, "coast", 2)
    fast, ref = frames(image, camera, 12), pillow_frames(image, camera, 12)
    for a, b in zip(fast, ref, strict=True):
        error = np.abs(a.astype(np.int16) - b.astype(np.int16))
        assert error.mean() < 0.45, camera
        assert np.percentile(error.max(axis=2), 99.5) < 20, camera
    # And the frames do move: the reference's first and last frames differ far more.
    assert np.abs(ref[0].astype(np.int16) - ref[-1]).mean() > 2.0


def test_moving_frames_are_contiguous_and_read_only(film: ir.Film) -> None:
    for frame in frames(still(film, "coast", 0), "pan_right", 3):
        assert frame.flags.c_contiguous and not frame.flags.writeable


WEATHER = FILM_HEADER + """
character ANA { look "young woman, red hair, raincoat"; color "#e6b422" }

scene clear "EXT. COAST - DAY" {
    setting "a rocky coast, a lighthouse on the cliff"
    shot wide ANA
}
scene fog "EXT. COAST - DAY" {
    setting "a foggy rocky coast, a lighthouse on the cliff"
    shot wide ANA
}
scene wet "EXT. COAST - DAY" {
    setting "a rocky coast, a lighthouse on the cliff"
    ambience "rain" volume=0.3
    shot wide ANA
}
scene snow "EXT. VILLAGE - NIGHT" {
    setting "a village street, snow falling"
    shot wide ANA
}
scene snug "INT. KITCHEN - NIGHT" {
    setting "a small kitchen, snow outside"
    shot wide ANA
}
"""


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> ir.Film:
    result = check_source(tmp_path_factory.mktemp("weather"), WEATHER)
    assert result.film is not None, result.report()
    return result.film


def weather_still(film: ir.Film, scene: str) -> Image.Image:
    sc = next(s for s in film.scenes if s.name == scene)
    return P.render_still(film, sc, sc.shots[0], *P.still_size(W, H))


def test_fog_fades_the_distance_more_than_the_foreground(weather: ir.Film) -> None:
    clear = pixels(weather_still(weather, "clear")).astype(np.float64)
    sh = clear.shape[0]
    fog = pixels(weather_still(weather, "fog")).astype(np.float64)
    # The far left of the horizon, where sea meets sky (the cliff and the figure are
    # nearer): its contrast drops by more than half.
    band = (slice(int(sh * 0.4), int(sh * 0.7)), slice(0, int(clear.shape[1] * 0.3)))
    assert fog[band].std(axis=(0, 1)).mean() < 0.5 * clear[band].std(axis=(0, 1)).mean()
    # The foreground changes much less than the distance.
    near = slice(int(sh * 0.9), sh)
    assert (np.abs(fog[near] - clear[near]).mean()
            < 0.5 * np.abs(fog[band] - clear[band]).mean())
    assert np.array_equal(pixels(weather_still(weather, "fog")),
                          pixels(weather_still(weather, "fog")))


def test_the_ambience_brings_its_weather(weather: ir.Film) -> None:
    """An ambience of rain rains on a setting that does not say so: a grey sky."""
    clear = pixels(weather_still(weather, "clear")).astype(np.int16)
    wet = pixels(weather_still(weather, "wet")).astype(np.int16)
    sky = slice(0, clear.shape[0] // 3)
    assert wet[sky, :, 2].mean() < clear[sky, :, 2].mean() - 20  # less blue
    assert np.abs(wet[sky] - clear[sky]).max(axis=2).mean() > 20


def snow_of(film: ir.Film, scene: str) -> float:
    sc = next(s for s in film.scenes if s.name == scene)
    return P.snow_level(P.still_spec(film, sc, sc.shots[0]))


def test_snow_falls_as_bright_moving_flakes(weather: ir.Film) -> None:
    assert snow_of(weather, "clear") == 0.0 and snow_of(weather, "fog") == 0.0
    assert snow_of(weather, "snug") == 0.0  # indoors it does not snow
    level = snow_of(weather, "snow")
    assert 0.0 < level <= 1.0
    image = weather_still(weather, "snow")
    plain = frames(image, "static", 9)
    snowy = list(P.render_frames(image, "static", 9, 24.0, W, H, 7, snow=level))
    flakes = [(s.astype(np.int16) - p).max(axis=2) > 25 for s, p in zip(snowy, plain,
                                                                          strict=True)]
    # Bright flakes over a small part of the picture, never darker than the picture.
    share = np.mean([f.mean() for f in flakes])
    assert 0.002 < share < 0.05
    assert all((s >= p).all() for s, p in zip(snowy, plain, strict=True))

    # They fall: frame 8's flakes match frame 0's moved down by a few pixels, not in place.
    def overlap(shift: int) -> int:
        return int(np.count_nonzero(flakes[0][: H - shift] & flakes[8][shift:]))
    best = max(range(40), key=overlap)
    assert best >= 4 and overlap(best) > 2 * overlap(0)
    # Deterministic from the seed; another seed, other flakes; the tail is the same shot.
    again = list(P.render_frames(image, "static", 9, 24.0, W, H, 7, snow=level))
    assert all(np.array_equal(a, b) for a, b in zip(snowy, again, strict=True))
    other = next(iter(P.render_frames(image, "static", 9, 24.0, W, H, 8, snow=level)))
    assert not np.array_equal(other, snowy[0])
    tail = list(P.render_frames(image, "static", 9, 24.0, W, H, 7, start=5, snow=level))
    assert all(np.array_equal(a, b) for a, b in zip(snowy[5:], tail, strict=True))
    with pytest.raises(ValueError, match="snow"):
        P.render_frames(image, "static", 9, 24.0, W, H, 7, snow=2.0)


def test_a_build_lets_snow_fall(tmp_path: Path) -> None:
    """The whole build path: the still job finds the snow, the segment's frames show it."""
    scene = '''scene pass "EXT. MOUNTAIN PASS - NIGHT" {{
    setting "a mountain pass{}"
    shot wide 1s
}}
'''
    moved = []
    for name, words in (("clear", ""), ("snowy", ", snow falling")):
        path = tmp_path / name / "film.film"
        path.parent.mkdir()
        path.write_text('film "Snow" { size 320x180\n fps 12 }\n' + scene.format(words))
        result = build(path, jobs=1)
        assert result.ok and result.output is not None, result.diagnostics
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(result.output), "-f",
                              "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                             check=True).stdout
        video = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 180, 320, 3).astype(np.int16)
        assert len(video) == 12
        # A static camera: frames differ only where something moves.
        moved.append(int(np.count_nonzero(np.abs(video[2] - video[8]).max(axis=2) > 20)))
    assert moved[0] < 20 and moved[1] > 100
