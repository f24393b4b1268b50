"""Lip sync: the speaking character's mouth moves with its voice, and only while it speaks.

A tiny film (320x180 at 10 fps, static camera) is built with the default backends and
decoded; the mouth region of each frame is compared with the frame before.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from conftest import FILM_HEADER, check_source
from filmlang import ir
from filmlang.backends.procedural import draw as P
from filmlang.backends.procedural.mouths import Mouth, draw_mouths, openness
from filmlang.build import BuildResult, build
from filmlang.cache.store import Store, default_cache_dir
from filmlang.link.ffmpeg import ffmpeg_exe

W, H, FPS = 320, 180, 10

FILM = '''film "Lips" {
    size 320x180
    fps 10
    seed 5
}

character MARA {
    look "keeper, yellow raincoat"
    voice "en" pitch=40 rate=150
}

character TOM {
    look "fisherman, wool cap"
    voice "en" pitch=65 rate=180
}

scene kitchen "INT. KITCHEN - DAY" {
    shot close_up MARA {
        camera static
        pause 1s
        MARA: "The light has to stay on tonight."
        pause 1.5s
    }
    shot close_up MARA {
        camera static
        TOM: "Then we keep it burning."
    }
}
'''

Frames = npt.NDArray[np.int16]


def build_and_decode(folder: Path) -> tuple[BuildResult, Frames]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lips.film"
    path.write_text(FILM, encoding="utf-8")
    result = build(path, jobs=2)
    assert result.ok, (result.check.report(), result.diagnostics,
                       [f.message for f in result.failures])
    assert result.output is not None
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(result.output), "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                         check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W, 3).astype(np.int16)
    return result, frames


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult, Frames]:
    folder = tmp_path_factory.mktemp("lips")
    result, frames = build_and_decode(folder)
    return folder, result, frames


def segments(result: BuildResult) -> list[Any]:
    assert result.graph is not None
    return [job for job in result.graph.ordered() if job.kind == "segment"]


def mouth_box(folder: Path, still_key: str) -> tuple[slice, slice]:
    """The frame pixels around MARA's mouth in a static shot (a little margin)."""
    store = Store(default_cache_dir(folder / "lips.film", None))
    data = json.loads((store.path(still_key) / "still.json").read_text())
    mouth = Mouth.from_json(data["mouths"][0])
    assert mouth is not None
    (x0, y0, x1, y1), = P.camera_boxes(P.still_size(W, H), "static", 1, FPS, W, H, 0)
    sx, sy = W / (x1 - x0), H / (y1 - y0)
    cx, cy, r = (mouth.x - x0) * sx, (mouth.y - y0) * sy, 0.6 * mouth.width * sx
    return (slice(math.floor(cy - r), math.ceil(cy + r)),
            slice(math.floor(cx - r), math.ceil(cx + r)))


def changes(frames: Frames, start: int, end: int, region: tuple[slice, slice]) -> list[float]:
    """Mean absolute change of the region from each frame to the next, frames [start, end)."""
    ys, xs = region
    return [float(np.abs(frames[k, ys, xs] - frames[k - 1, ys, xs]).mean())
            for k in range(start + 1, end)]


def test_the_speakers_mouth_moves_only_while_the_line_plays(
        built: tuple[Path, BuildResult, Frames]) -> None:
    folder, result, frames = built
    assert result.timeline is not None
    shot = result.timeline.shots[0]
    t0 = result.timeline.time(shot.start_frame)
    (line,) = shot.lines
    first = shot.start_frame + ir.to_frames(line.start - t0, FPS)
    last = shot.start_frame + ir.to_frames(line.end - t0, FPS)
    assert first >= shot.start_frame + 9 and last <= shot.end_frame - 14  # the pauses
    region = mouth_box(folder, segments(result)[0].inputs[0])
    # Still before the line and after it (x264's key frames add a little noise).
    assert max(changes(frames, shot.start_frame, first, region)) < 2.5
    assert max(changes(frames, last, shot.end_frame, region)) < 2.5
    # Moving while it plays: it opens on the line's first frame, and keeps moving.
    during = changes(frames, first - 1, last, region)
    assert during[0] > 5.0
    assert sum(c > 2.5 for c in during) >= len(during) // 2
    # Only the mouth moves: everything outside its region stays as it was.
    ys, xs = region
    outside = np.abs(frames[first:last] - frames[first - 1]).sum(axis=3)
    outside[:, ys, xs] = 0
    assert float((outside > 100).mean()) < 1e-3


def test_a_speaker_who_is_not_in_the_shot_moves_no_mouth(
        built: tuple[Path, BuildResult, Frames]) -> None:
    folder, result, frames = built
    assert result.timeline is not None
    shot = result.timeline.shots[1]
    assert shot.lines and shot.lines[0].line.speaker == "TOM"
    job = segments(result)[1]
    assert job.params["shot"]["mouths"] == [] and len(job.inputs) == 1
    region = mouth_box(folder, job.inputs[0])
    assert max(changes(frames, shot.start_frame, shot.end_frame, region)) < 2.5


def test_the_plan_keys_the_speech_that_moves_a_mouth(
        built: tuple[Path, BuildResult, Frames]) -> None:
    _, result, _ = built
    job = segments(result)[0]
    (mouth,) = job.params["shot"]["mouths"]
    assert mouth["subject"] == 0 and mouth["first"] == 10
    assert job.inputs[1:] == (mouth["speech"],)
    assert result.graph is not None and result.graph.jobs[mouth["speech"]].kind == "speech"


def test_lip_sync_is_deterministic(built: tuple[Path, BuildResult, Frames],
                                   tmp_path: Path) -> None:
    _, _, frames = built
    _, again = build_and_decode(tmp_path / "again")
    assert np.array_equal(frames, again)


# --- the pieces ----------------------------------------------------------------------------


def test_openness_follows_the_envelope_and_gates_pauses() -> None:
    rate, fps = 48000, 10.0
    t = np.arange(rate * 2) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    tone[int(0.7 * rate):int(1.4 * rate)] *= 0.001  # a pause in the middle of the line
    values = openness(tone[:, None], rate, fps, 0.5, 5, 25)
    assert len(values) == 20
    assert max(values) > 0.9
    assert values[9:13] == [0.0] * 4  # the pause: frames 14..17 of the shot, smoothed
    assert values[0] > 0.0 and values[-1] > 0.0
    assert values == openness(tone[:, None], rate, fps, 0.5, 5, 25)
    silent = np.zeros((rate, 1), dtype=np.float32)
    assert openness(silent, rate, fps, 0.0, 0, 10) == [0.0] * 10


def test_mouths_are_anchored_on_visible_faces(tmp_path: Path) -> None:
    source = FILM_HEADER + """
character ANA { look "young woman"; color "#e6b422" }
character BO { look "old man"; color "#d02090" }
scene s "EXT. COAST - DAY" {
    shot wide ANA
    shot close_up ANA
    shot two_shot ANA BO
    shot over_shoulder ANA BO
}
"""
    result = check_source(tmp_path, source)
    assert result.film is not None, result.report()
    scene = result.film.scenes[0]
    sw, sh = P.still_size(W, H)
    found = [P.render_still_mouths(result.film, scene, shot, sw, sh)[1]
             for shot in scene.shots]
    assert found[0] == [None]  # too far to see a face
    (close,) = found[1]
    assert close is not None and abs(close.x - sw / 2) < 2 and close.width > 10
    assert all(m is not None for m in found[2])
    assert found[3][0] is None and found[3][1] is not None  # the listener's back
    image = P.render_still(result.film, scene, scene.shots[1], sw, sh)
    assert image.tobytes() == P.render_still_mouths(result.film, scene, scene.shots[1],
                                                    sw, sh)[0].tobytes()


def test_closed_mouths_leave_the_frame_alone() -> None:
    frame = np.full((H, W, 3), 200, dtype=np.uint8)
    mouth = Mouth(x=200.0, y=113.0, width=24.0, lip=(120, 80, 60))
    box = (20.0, 11.0, 380.0, 214.0)
    assert draw_mouths(frame, [(mouth, 0.0)], box) is frame
    drawn = draw_mouths(frame, [(mouth, 1.0)], box)
    changed = np.argwhere(np.abs(drawn.astype(np.int16) - frame).sum(axis=2) > 0)
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    # The anchor maps to (160, 90.4) in the frame; the mouth, 0.8 of its width, around it.
    assert 80 <= y0 <= y1 <= 100 and 148 <= x0 <= x1 <= 172
    assert abs((x0 + x1) / 2 - 159.5) <= 1 and abs((y0 + y1) / 2 - 90) <= 1
    assert np.array_equal(drawn, draw_mouths(frame, [(mouth, 1.0)], box))
