"""The built film as MoviePy clips, for Python users who post-process in their own scripts.

Takes a `BuildResult` and gives one MoviePy subclip per shot of the built film, cut at the
frames the timeline solved (dissolves belong to the shot they lead into), with the film's
mixed sound; and the other way, `build_with_clips` builds a film with your MoviePy clips
as some shots' pictures. MoviePy is optional: `pip install 'filmlang[moviepy]'`.

    from filmlang.build import build
    from filmlang.clips import shot_clips

    result = build("examples/lighthouse.film")
    for shot in shot_clips(result):
        print(shot.scene, shot.index, shot.type, shot.clip.duration)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmlang.build import BuildResult


class MoviePyMissing(ImportError):
    """MoviePy is not installed; the message says how to install it."""


@dataclass(frozen=True)
class ShotClip:
    scene: str
    index: int
    type: str
    start: float
    """Seconds from the start of the film."""
    end: float
    clip: Any
    """A `moviepy.VideoClip`: this shot's part of the film, with its sound."""


def _moviepy() -> Any:
    try:
        import moviepy
    except ImportError as exc:
        raise MoviePyMissing("MoviePy is not installed: pip install 'filmlang[moviepy]'"
                             ) from exc
    return moviepy


def film_clip(result: BuildResult) -> Any:
    """The whole built film as a `moviepy.VideoFileClip`."""
    if result.output is None:
        raise ValueError("this build made no film; look at its diagnostics and failures")
    moviepy = _moviepy()
    # MoviePy 2 cannot read a file with chapters: it gets a stream copy without them,
    # a hidden file beside the film.
    from filmlang.link.ffmpeg import run_ffmpeg

    plain = result.output.with_name(f".{result.output.stem}.clips{result.output.suffix}")
    if not plain.exists() or plain.stat().st_mtime < result.output.stat().st_mtime:
        run_ffmpeg(["-i", str(result.output), "-map", "0:v", "-map", "0:a", "-c", "copy",
                    "-map_chapters", "-1", str(plain)])
    return moviepy.VideoFileClip(str(plain))


def shot_clips(result: BuildResult) -> list[ShotClip]:
    """One subclip per shot, in film order, cut on the timeline's frames."""
    if result.timeline is None:
        raise ValueError("this build has no timeline; look at its diagnostics and failures")
    film = film_clip(result)
    timeline = result.timeline
    out = []
    for timing in timeline.shots:
        start = timeline.time(timing.start_frame + timing.overlap_in)
        end = timeline.time(timing.end_frame)
        out.append(ShotClip(scene=timing.scene.name, index=timing.shot.index,
                            type=timing.shot.type, start=start, end=end,
                            clip=film.subclipped(start, end)))
    return out


def build_with_clips(path: Path | str, pictures: Mapping[tuple[str, int], Any],
                     **options: Any) -> BuildResult:
    """Build the film with MoviePy clips as some shots' pictures: `pictures` maps (scene
    name, shot index from 0) to a `moviepy.VideoClip` (or a path of a video or image). Each
    clip is written once into the cache's `pictures/` folder, named by its content's hash,
    and used like `picture "FILE"` in that shot (scaled and cropped to the film's size,
    held on its last frame). `options` are `filmlang.build.build`'s."""
    from filmlang.build import build
    from filmlang.cache.store import default_cache_dir

    folder = default_cache_dir(Path(path), options.get("cache")) / "pictures"
    files = {where: _clip_file(clip, folder) for where, clip in pictures.items()}
    return build(path, pictures=files, **options)


def _clip_file(clip: Any, folder: Path) -> Path:
    """A MoviePy clip as an MP4 in `folder`, named by the hash of its bytes."""
    import hashlib
    import os
    import uuid

    if isinstance(clip, str | Path):
        return Path(clip)
    _moviepy()
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{uuid.uuid4().hex}.mp4"
    try:
        clip.write_videofile(str(temp), fps=clip.fps or 24, codec="libx264", audio=False,
                             preset="veryfast", ffmpeg_params=["-crf", "12", "-pix_fmt",
                                                               "yuv420p"], logger=None)
        sha = hashlib.sha256(temp.read_bytes()).hexdigest()
        target = folder / f"{sha}.mp4"
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
