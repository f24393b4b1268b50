"""Pictures from files (issue 16): `picture "shots/12.mp4"` shows that video's frames
(colours and motion), trimmed and fitted to the shot; a still image moves with the camera;
the file's hash is in the key; a missing, outside or undecodable file is an error at its
line before any work; and a MoviePy clip can be a shot's picture from Python."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from filmlang.api import check_file
from filmlang.build import build
from filmlang.link.ffmpeg import ffmpeg_exe
from filmlang.link.pictures import source_frame

moviepy = pytest.importorskip("moviepy")

W, H, FPS = 160, 96, 24
HEAD = f'film "Pictures" {{\n    size {W}x{H}\n    fps {FPS}\n}}\n\n'


def bar_frame(t: float, width: int = W, height: int = H) -> np.ndarray:
    """Blue, with a red bar 16 pixels wide moving right 40 pixels a second."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, :, 2] = 200
    x = round(t * 40) % (width - 16)
    frame[:, x:x + 16] = (230, 20, 20)
    return frame


def write_video(path: Path, seconds: float, make=bar_frame) -> Path:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    clip = moviepy.VideoClip(make, duration=seconds).with_fps(FPS)
    clip.write_videofile(str(path), codec="libx264", audio=False, logger=None,
                         ffmpeg_params=["-crf", "10", "-pix_fmt", "yuv420p"])
    return path


def frames_of(path: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3)


def bar_x(frame: np.ndarray) -> int:
    """Where the red bar starts in a frame (its first red column in the middle row)."""
    row = frame[H // 2].astype(int)
    red = np.nonzero((row[:, 0] > 150) & (row[:, 2] < 100))[0]
    return int(red[0]) if len(red) else -1


def _film(folder: Path, body: str) -> Path:
    path = folder / "pics.film"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _built(path: Path, **options: object) -> np.ndarray:
    result = build(path, jobs=2, **options)  # type: ignore[arg-type]
    assert result.ok, (result.check.report(), result.diagnostics,
                       [f.message for f in result.failures])
    assert result.output is not None
    return frames_of(result.output)


def test_a_video_picture_shows_its_frames_colours_and_motion(tmp_path: Path) -> None:
    write_video(tmp_path / "shots" / "bar.mp4", 2.0)
    frames = _built(_film(tmp_path, 'scene s {\n    shot wide 2s {\n'
                                    '        picture "shots/bar.mp4"\n    }\n}\n'))
    assert len(frames) == 48
    for index in (0, 10, 30, 47):
        expected = bar_frame(index / FPS)
        assert abs(bar_x(frames[index]) - bar_x(expected)) <= 1, index
        blue = frames[index][:, -6:].reshape(-1, 3).mean(axis=0)
        assert abs(blue[2] - 200) < 12 and blue[0] < 15, blue
    assert bar_x(frames[40]) - bar_x(frames[0]) == pytest.approx(40 * 40 / FPS, abs=2)


def test_trimmed_and_fitted_to_the_shot(tmp_path: Path) -> None:
    write_video(tmp_path / "shots" / "bar.mp4", 2.0)
    frames = _built(_film(tmp_path, (
        'scene s {\n'
        '    shot wide 1s {\n        picture "shots/bar.mp4" from=1s\n    }\n'
        '    shot wide 2s {\n        picture "shots/bar.mp4" to=0.5s\n    }\n'
        '    shot wide 2s {\n        picture "shots/bar.mp4" to=0.5s fit=loop\n    }\n'
        '    shot wide 1s {\n        picture "shots/bar.mp4" fit=speed\n    }\n}\n')))
    assert len(frames) == 24 * 6
    assert abs(bar_x(frames[0]) - bar_x(bar_frame(1.0))) <= 1            # from=1s
    held = frames[24:72]
    assert abs(bar_x(held[-1]) - bar_x(bar_frame(11 / FPS))) <= 1        # hold: the last
    looped = frames[72:120]
    assert abs(bar_x(looped[12]) - bar_x(bar_frame(0))) <= 1             # loop: again
    assert abs(bar_x(looped[13]) - bar_x(bar_frame(1 / FPS))) <= 1
    fast = frames[120:144]
    assert abs(bar_x(fast[12]) - bar_x(bar_frame(24 / FPS))) <= 1        # speed: 2x


def test_source_frame_per_fit() -> None:
    assert [source_frame(i, 6, 3, "hold") for i in range(6)] == [0, 1, 2, 2, 2, 2]
    assert [source_frame(i, 6, 3, "loop") for i in range(6)] == [0, 1, 2, 0, 1, 2]
    assert [source_frame(i, 6, 3, "speed") for i in range(6)] == [0, 0, 1, 1, 2, 2]
    assert [source_frame(i, 3, 6, "speed") for i in range(3)] == [0, 2, 4]


def test_a_video_is_scaled_to_cover_and_cropped(tmp_path: Path) -> None:
    def halves(t: float) -> np.ndarray:
        frame = np.zeros((H, 2 * W, 3), np.uint8)
        frame[:, :W] = (220, 30, 30)        # red left half, blue right half: the centre
        frame[:, W:] = (30, 30, 220)        # crop keeps a quarter... then the split
        return frame

    write_video(tmp_path / "shots" / "wide.mp4", 0.5, halves)
    frames = _built(_film(tmp_path, 'scene s {\n    shot wide 0.5s {\n'
                                    '        picture "shots/wide.mp4"\n    }\n}\n'))
    frame = frames[5].astype(int)
    assert frame[:, : W // 2 - 4, 0].mean() > 180 and frame[:, W // 2 + 4:, 2].mean() > 180


def test_a_still_moves_with_the_camera(tmp_path: Path) -> None:
    from PIL import Image

    ramp = np.tile(np.linspace(0, 255, 400).astype(np.uint8), (240, 1))
    Image.fromarray(np.stack([ramp, ramp, ramp], axis=2)).save(tmp_path / "board.png")
    frames = _built(_film(tmp_path, (
        'scene s {\n'
        '    shot wide 2s {\n        picture "board.png"\n        camera push_in\n    }\n'
        '    shot wide 1s {\n        picture "board.png"\n        camera static\n    }\n}\n')))
    first, last = frames[0].astype(int), frames[47].astype(int)
    spread = [f[H // 2, -4:, 0].mean() - f[H // 2, :4, 0].mean() for f in (first, last)]
    assert spread[0] > 120 and spread[1] < spread[0] - 20      # the camera pushed in
    static = frames[48:]
    assert np.abs(static[0].astype(int) - static[-1].astype(int)).mean() < 2


def test_the_files_hash_is_in_the_key_and_errors_come_before_any_work(
        tmp_path: Path) -> None:
    video = write_video(tmp_path / "shots" / "bar.mp4", 0.5)
    path = _film(tmp_path, 'scene s {\n    shot wide 0.5s {\n'
                           '        picture "shots/bar.mp4"\n    }\n}\n')
    first = build(path, jobs=2)
    assert first.ok
    again = build(path, jobs=2)
    assert all(counts["ran"] == 0 for counts in again.counts().values())
    write_video(video, 0.5, lambda t: 255 - bar_frame(t))
    third = build(path, jobs=2)
    assert third.counts()["footage"]["ran"] == 1 and third.counts()["picture"]["ran"] == 1
    video.write_bytes(b"not a video at all")
    broken = build(path, jobs=2)
    assert not broken.ok and not broken.reports                 # nothing ran
    assert [(d.code, d.span.line) for d in broken.diagnostics] == [("E0605", 8)]
    assert 'cannot decode the picture "shots/bar.mp4"' in broken.diagnostics[0].message


@pytest.mark.parametrize(("line", "code"), [
    ('picture "shots/none.mp4"', "E0401"),
    ('picture "../outside.mp4"', "E0403"),
    ('picture "board.png" fit=loop', "E0108"),
    ('picture "board.png" from=1s to=0.5s', "E0108"),
    ('picture "clip.mp4" from=2s to=1s', "E0202"),
])
def test_picture_errors_at_check(tmp_path: Path, line: str, code: str) -> None:
    folder = tmp_path / "film"
    folder.mkdir()
    (tmp_path / "outside.mp4").write_bytes(b"x")
    (folder / "board.png").write_bytes(b"x")
    (folder / "clip.mp4").write_bytes(b"x")
    path = _film(folder, f'scene s {{\n    shot wide 1s {{\n        {line}\n    }}\n}}\n')
    result = check_file(path)
    assert [(d.code, d.span.line, d.span.column) for d in result.errors] == [
        (code, 8, result.errors[0].span.column)], result.report()
    assert result.errors[0].help


def test_a_moviepy_clip_as_a_shots_picture(tmp_path: Path) -> None:
    from filmlang.clips import build_with_clips

    path = _film(tmp_path, 'scene s {\n    shot wide 1s\n    shot wide 1s\n}\n')
    clip = moviepy.VideoClip(bar_frame, duration=1.0).with_fps(FPS)
    result = build_with_clips(path, {("s", 1): clip}, jobs=2)
    assert result.ok and result.output is not None
    frames = frames_of(result.output)
    assert abs(bar_x(frames[24 + 12]) - bar_x(bar_frame(0.5))) <= 1
    assert bar_x(frames[12]) == -1                         # the first shot is drawn
    with pytest.raises(KeyError, match="no shot 5"):
        build_with_clips(path, {("s", 5): clip})


def test_watch_mode_watches_the_picture_files(tmp_path: Path) -> None:
    from filmlang.build import BuildResult
    from filmlang.watch import watched_files

    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "1.png").write_bytes(b"x")
    path = _film(tmp_path, 'scene s {\n    shot wide 1s {\n'
                           '        picture "boards/1.png"\n    }\n}\n')
    files = watched_files(path, BuildResult(check=check_file(path)))
    assert (tmp_path / "boards" / "1.png").resolve() in files


def test_the_storyboard_shows_a_picture_image(tmp_path: Path) -> None:
    from PIL import Image

    from filmlang.storyboard import thumbnail

    Image.new("RGB", (64, 48), (10, 200, 40)).save(tmp_path / "green.png")
    path = _film(tmp_path, 'scene s {\n    shot wide 1s {\n        picture "green.png"\n'
                           '    }\n}\n')
    film = check_file(path).film
    assert film is not None
    shown = np.asarray(thumbnail(film, film.scenes[0], film.shots[0], 80, 48, tmp_path))
    assert tuple(shown.reshape(-1, 3).mean(axis=0).round()) == (10, 200, 40)
