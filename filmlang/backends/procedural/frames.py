"""The frames of a shot for its segment: its still (or generated clip) moved by the camera,
the speaking subjects' lips, titles, burned subtitles and fades.

A picture (the planner's description of a shot: still key, camera, frames, seed, fades,
mouths, titles, subtitles, and a clip key when a generated clip moves it) and the store in;
frames (H x W x 3 uint8 arrays) out, lazily. Also the still job's runner.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang.jobs import Job

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.cache.store import Store

    Frame = npt.NDArray[np.uint8]

TITLE_FADE = 0.3


def run_still(job: Job, out: Path, store: Store) -> None:
    from filmlang.backends.procedural import draw

    film, scene, shot = job.payload
    spec = draw.still_spec(film, scene, shot)
    width, height = job.params["width"], job.params["height"]
    image, mouths = draw.paint_still_mouths(spec, width, height)
    image.save(out / "still.png", compress_level=1)
    meta: dict[str, Any] = {"mouths": [None if m is None else m.to_json() for m in mouths],
                            "snow": draw.snow_level(spec)}
    staged = draw.Staged.of(spec, width, height)
    if staged is not None:  # its figures move: every frame is drawn over the plate
        staged.plate.save(out / "plate.png", compress_level=1)
        meta["staged"] = staged.to_json()
    (out / "still.json").write_text(json.dumps(meta))


def still_image(store: Store, key: str) -> Any:
    from PIL import Image

    with Image.open(store.path(key) / "still.png") as image:
        return image.convert("RGB")


def _tracks(store: Store, picture: dict[str, Any], fps: float) -> list[tuple[int, list[float]]]:
    """Lip sync of a shot: (subject, openness per frame of the shot) for each line a
    subject speaks; the openness is 0 outside the line."""
    from filmlang import audio
    from filmlang.backends.procedural.mouths import openness

    out = []
    for m in picture.get("mouths") or []:
        samples, rate = audio.read_wav(store.audio(m["speech"]))
        values = openness(samples, rate, fps, m["at"], m["first"], m["last"])
        track = [0.0] * picture["frames"]
        for k, value in enumerate(values):
            if 0 <= m["first"] + k < len(track):
                track[m["first"] + k] = value
        out.append((int(m["subject"]), track))
    return out


def _mouths(store: Store, picture: dict[str, Any], fps: float) -> list[Any]:
    """Lip sync of a still's shot: (mouth, openness per frame) for each line a subject
    whose face the still shows speaks."""
    from filmlang.backends.procedural.mouths import Mouth

    if not picture.get("mouths"):
        return []
    meta = store.path(picture["still"]) / "still.json"
    anchors = json.loads(meta.read_text())["mouths"] if meta.is_file() else []
    out = []
    for subject, track in _tracks(store, picture, fps):
        mouth = Mouth.from_json(anchors[subject]) if subject < len(anchors) else None
        if mouth is not None:
            out.append((mouth, track))
    return out


def _snow(store: Store, picture: dict[str, Any]) -> float:
    """How bright the shot's falling snow is (0: none), as its still job found."""
    meta = store.path(picture["still"]) / "still.json"
    value = json.loads(meta.read_text()).get("snow", 0.0) if meta.is_file() else 0.0
    return float(value)


def clip_frames(folder: Path, total: int, width: int, height: int, first: int,
                last: int) -> Iterator[Any]:
    """Frames [first, last) of a shot of `total` frames from a clip object's PNGs
    (`frame_*.png`), stretched over the shot (the clip's rate adapted to the film's) and
    cropped to the frame."""
    import numpy as np
    from PIL import Image, ImageOps

    paths = sorted(folder.glob("frame_*.png"))
    cache: dict[int, Any] = {}
    for index in range(first, last):
        source = min(len(paths) - 1, index * len(paths) // max(1, total))
        if source not in cache:
            cache.clear()
            with Image.open(paths[source]) as image:
                fitted = ImageOps.fit(image.convert("RGB"), (width, height))
            cache[source] = np.asarray(fitted)
        yield cache[source]


def _overlaid(picture: dict[str, Any], index: int, frame: Frame, ramp: int) -> Frame:
    from filmlang.backends.procedural import draw

    for title in picture["titles"]:
        if title["first"] <= index < title["last"]:
            alpha = min(1.0, (index - title["first"] + 1) / ramp,
                        (title["last"] - index) / ramp)
            frame = draw.draw_text(frame, title["text"], where="title", alpha=alpha)
    for cue in picture["subtitles"]:
        if cue["first"] <= index < cue["last"]:
            frame = draw.draw_text(frame, cue["text"], where="subtitle", alpha=1.0)
    return frame


def _faded(picture: dict[str, Any], index: int, frame: Frame) -> Frame:
    import numpy as np

    total, fade_in, fade_out = picture["frames"], picture["fade_in"], picture["fade_out"]
    gain = 1.0
    if fade_in and index < fade_in:
        gain = min(gain, (index + 0.5) / fade_in)
    if fade_out and index >= total - fade_out:
        gain = min(gain, (total - index - 0.5) / fade_out)
    if gain < 1.0:
        frame = (frame.astype(np.float32) * gain + 0.5).astype(np.uint8)
    return frame


def _staged(store: Store | None, picture: dict[str, Any]) -> Any:
    """The shot's staging when its figures move (its still job saved a plate), else None."""
    from PIL import Image

    from filmlang.backends.procedural import draw

    if store is None or not picture.get("still"):
        return None
    folder = store.path(picture["still"])
    meta = folder / "still.json"
    if not meta.is_file() or not (folder / "plate.png").is_file():
        return None
    data = json.loads(meta.read_text()).get("staged")
    if data is None:
        return None
    with Image.open(folder / "plate.png") as plate:
        return draw.Staged.from_json(data, plate.convert("RGB"))


def _staged_frames(staged: Any, picture: dict[str, Any], width: int, height: int, fps: float,
                   first: int, last: int, store: Store | None) -> Iterator[Frame]:
    """Frames of a shot whose figures move: each drawn in its pose over the plate, then
    seen through the camera's box, with snow, lip sync, titles and fades."""
    import numpy as np

    from filmlang.backends.procedural import draw
    from filmlang.backends.procedural.mouths import draw_mouths

    total = picture["frames"]
    ramp = max(1, round(TITLE_FADE * fps))
    tracks = _tracks(store, picture, fps) if store is not None else []
    snow_level = _snow(store, picture) if store is not None else 0.0
    snow = draw.Snow(width, height, fps, picture["seed"], snow_level) if snow_level else None
    boxes = draw.camera_boxes(staged.plate.size, picture["camera"], total, fps, width,
                              height, picture["seed"], start=first)
    span = max(1, total - 1)
    for index, box in zip(range(first, last), boxes, strict=False):
        image, mouths, _ = staged.at(index / span, index / fps)
        # One affine resample (OpenCV, as camera moves over stills): 4x Pillow's resize.
        frame = draw.Warp(np.asarray(image, dtype=np.uint8), width, height)(box)
        if snow is not None:
            frame = snow.over(frame, index)
        open_now = [(mouths[k], track[index]) for k, track in tracks
                    if k < len(mouths) and mouths[k] is not None]
        if open_now:
            frame = draw_mouths(frame, open_now, box)
        yield _faded(picture, index, _overlaid(picture, index, frame, ramp))


def shot_frames(picture: dict[str, Any], still: Any, width: int, height: int, fps: float,
                first: int, last: int, store: Store | None = None) -> Iterator[Frame]:
    """Frames [first, last) of a shot: camera move, lip sync, fades, titles, subtitles.

    Lip sync needs the store (the still's mouths and the lines' speech); without it the
    mouths stay closed.
    """
    from filmlang.backends.procedural import draw
    from filmlang.backends.procedural.mouths import draw_mouths

    total = picture["frames"]
    ramp = max(1, round(TITLE_FADE * fps))
    staged = _staged(store, picture) if not picture.get("clip") else None
    if staged is not None:
        yield from _staged_frames(staged, picture, width, height, fps, first, last, store)
        return
    if picture.get("clip") and store is not None:  # a generated clip moves the shot
        frames = clip_frames(store.path(picture["clip"]), total, width, height, first, last)
    else:
        frames = draw.render_frames(
            still, picture["camera"], total, fps, width, height, picture["seed"],
            start=first, snow=_snow(store, picture) if store is not None else 0.0)
    mouths = _mouths(store, picture, fps) if store is not None else []
    boxes = draw.camera_boxes(still.size, picture["camera"], total, fps, width, height,
                              picture["seed"], start=first)
    for index, frame, box in zip(range(first, last), frames, boxes, strict=False):
        if mouths:
            frame = draw_mouths(frame, [(mouth, track[index]) for mouth, track in mouths],
                                box)
        yield _faded(picture, index, _overlaid(picture, index, frame, ramp))
