"""Pictures from files (`picture "shots/12.mp4"`): the check that ffmpeg decodes them, and
the linker's jobs that bring them into a shot.

- `picture`: the shot's still from the file (an image, or a video's frame at `from=`),
  scaled to cover the still's size and cropped (the composer moves the camera over it);
  no subject's mouth is drawn on it.
- `footage`: a video's frames for the shot, exactly as many as the shot has: decoded at
  the film's rate from `from=` to `to=`, scaled to cover the frame and cropped, then
  held on the last frame, looped, or sped up or slowed down to fill the shot (`fit=`).
  The composer draws them like a generated clip (`frame_*.png`).

Both are keyed by the file's sha256, never its path or time, so an edit of the file
re-renders the shot and a rename does not.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic, error
from filmlang.jobs import Job, JobFailed

if TYPE_CHECKING:
    from filmlang.cache.store import Store


def picture_path(picture: ir.Picture, config: BuildConfig) -> Path:
    return Path(config.root or ".") / picture.path


@lru_cache(maxsize=256)
def _decodes(path: str, size: int, mtime: int, kind: str) -> str:
    """Why ffmpeg cannot use the file as a picture ('' when it can)."""
    from filmlang.link.ffmpeg import probe

    try:
        info = probe(Path(path), count_frames=False)
    except Exception as exc:  # any failure to read it is the answer
        said = [line for line in str(getattr(exc, "stderr", "") or exc).splitlines()
                if line.strip()]
        return said[-1].split(": ", 1)[-1].strip() if said else "ffmpeg cannot read it"
    if info.video is None:
        return "it has no picture stream"
    return ""


def picture_problems(film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
    """E0605 for each picture file that ffmpeg cannot decode, before any work."""
    out = []
    for shot in film.shots:
        picture = shot.picture
        if picture is None:
            continue
        path = picture_path(picture, config)
        try:
            info = path.stat()
            reason = _decodes(str(path.resolve()), info.st_size, info.st_mtime_ns, picture.kind)
        except OSError as exc:
            reason = exc.strerror or str(exc)
        if reason:
            word = "video" if picture.kind == "video" else "image"
            out.append(error(
                "E0605", f'cannot decode the picture "{picture.path}": {reason}',
                picture.origin, label=f"not a {word} ffmpeg can read",
                help="give a video (MP4, MOV, WebM...) or an image (PNG, JPEG...) that plays; "
                     f"re-export it, or check that {picture.path} is the file you meant"))
    return out


def _decode(job: Job, out: Path, args: list[str], limit: int | None) -> list[Path]:
    from filmlang.link.ffmpeg import FfmpegError, run_ffmpeg

    p = job.params
    path: Path = job.payload
    scale = (f"fps={p['fps']},"
             if "fps" in p else "") + (f"scale={p['width']}:{p['height']}:"
                                       "force_original_aspect_ratio=increase,"
                                       f"crop={p['width']}:{p['height']},format=rgb24")
    trim = ["-ss", f"{p['start']:.6f}"] if p.get("start") else []
    if p.get("end") is not None:
        trim += ["-t", f"{p['end'] - p.get('start', 0.0):.6f}"]
    frames = ["-frames:v", str(limit)] if limit else []
    try:
        run_ffmpeg([*trim, "-i", str(path), "-vf", scale, *frames, *args,
                    str(out / "src_%05d.png")])
    except FfmpegError as exc:
        raise JobFailed(job, f"cannot decode {path.name}: {exc}") from exc
    found = sorted(out.glob("src_*.png"))
    if not found:
        raise JobFailed(job, f"{path.name} has no frames between from= and to=")
    return found


def run_picture(job: Job, out: Path, store: Store) -> None:
    """The still of a shot whose picture is a file."""
    found = _decode(job, out, [], 1)
    found[0].rename(out / "still.png")
    for extra in found[1:]:
        extra.unlink()
    (out / "still.json").write_text(json.dumps({"mouths": [], "snow": 0.0}))


def source_frame(index: int, total: int, decoded: int, fit: str) -> int:
    """Which decoded frame shows at frame `index` of a shot of `total` frames."""
    if fit == "loop":
        return index % decoded
    if fit == "speed":
        return min(decoded - 1, index * decoded // max(1, total))
    return min(index, decoded - 1)


def run_footage(job: Job, out: Path, store: Store) -> None:
    """A video's frames for a shot: exactly `frames` of them, as `frame_*.png`."""
    p = job.params
    total = int(p["frames"])
    found = _decode(job, out, [], None if p["fit"] == "speed" else total)
    for index in range(total):
        source = found[source_frame(index, total, len(found), p["fit"])]
        target = out / f"frame_{index:05d}.png"
        try:
            os.link(source, target)
        except OSError:
            target.write_bytes(source.read_bytes())
    for source in found:
        source.unlink()
