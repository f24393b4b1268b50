"""Segments: a shot's raw RGB frames in, an H.264 MP4 segment out; segments joined by copy.

Every segment is encoded with the same codec parameters (`SegmentFormat`): H.264 High
profile, yuv420p, a fixed GOP with no scene-cut keyframes, x264's `stitchable` headers, and
a movie timescale equal to the track timescale. That makes the segments of one film join
by stream copy (`concat_segments`) with frame-exact timestamps, so an edit re-encodes only
the shots it touched. Outputs are written to a temp file beside the target and moved into
place only when complete.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from filmlang.link.ffmpeg import (
    FfmpegError,
    run_ffmpeg,
    start_ffmpeg,
    stop_ffmpeg,
    temp_path_beside,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Frame = npt.NDArray[np.uint8]


def frame_rate(fps: float | Fraction) -> Fraction:
    """The exact frame rate: 23.976 and 29.97 become their NTSC fractions."""
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {fps}")
    return rate


def track_timescale(rate: Fraction) -> int:
    """ffmpeg's own choice of MP4 timescale for `rate`, made explicit for every segment."""
    scale = rate.numerator
    while scale < 10_000:
        scale *= 2
    return scale


@dataclass(frozen=True)
class SegmentFormat:
    """The codec parameters shared by every segment of a film (part of the segment key)."""

    width: int
    height: int
    fps: Fraction
    preset: str = "veryfast"
    crf: int = 20
    gop_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"yuv420p needs a positive, even frame size, got "
                             f"{self.width}x{self.height}")

    @property
    def gop(self) -> int:
        return max(1, round(self.gop_seconds * float(self.fps)))

    def input_args(self) -> list[str]:
        return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
                "-framerate", str(self.fps), "-i", "pipe:0"]

    def output_args(self) -> list[str]:
        scale = str(track_timescale(self.fps))
        return ["-an", "-sn", "-dn", "-map_metadata", "-1",
                "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf),
                "-profile:v", "high", "-pix_fmt", "yuv420p",
                # RGB in, BT.709 limited-range out, and said so in the stream.
                "-vf", "scale=out_color_matrix=bt709:out_range=tv",
                "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
                "-color_range", "tv",
                "-g", str(self.gop), "-sc_threshold", "0",
                "-x264-params", "stitchable=1:open-gop=0",
                "-video_track_timescale", scale, "-movie_timescale", scale,
                "-f", "mp4"]


class SegmentEncoder:
    """Feed RGB frames (uint8, shape (height, width, 3)) to ffmpeg; get an MP4 segment.

    Use as a context manager: leaving by an exception aborts (the ffmpeg child is killed and
    the temp file removed), leaving normally closes (the segment is moved into place).
    """

    def __init__(self, path: Path, width: int, height: int, fps: float | Fraction, *,
                 preset: str = "veryfast", crf: int = 20, gop_seconds: float = 2.0) -> None:
        self.path = Path(path)
        self.format = SegmentFormat(width, height, frame_rate(fps), preset, crf, gop_seconds)
        self.frames = 0
        self._temp = temp_path_beside(self.path, ".mp4.part")
        # ffmpeg's stderr goes to a file, not a pipe that nobody drains while frames flow.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _cleanup)
        self._done = False
        args = [*self.format.input_args(), *self.format.output_args(), "-y", str(self._temp)]
        try:
            self._proc = start_ffmpeg(args, stdin=subprocess.PIPE, stderr=self._log)
        except BaseException:
            self._cleanup()
            raise
        # The child is killed even if this object is dropped without close() or abort(),
        # and at interpreter exit.
        self._finalizer = weakref.finalize(self, stop_ffmpeg, self._proc)

    def __enter__(self) -> SegmentEncoder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: Frame) -> None:
        """Append one frame; raises `FfmpegError` (and aborts) if ffmpeg has failed."""
        import numpy as np

        if self._done:
            raise ValueError(f"segment {self.path} is already closed")
        shape = (self.format.height, self.format.width, 3)
        if frame.shape != shape or frame.dtype != np.uint8:
            raise ValueError(f"expected a uint8 frame of shape {shape}, got {frame.dtype} "
                             f"{frame.shape}")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError):
            self._fail("ffmpeg stopped while receiving frames")
        self.frames += 1

    def write_all(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            self.write(frame)

    def close(self) -> Path:
        """Finish the encode and move the segment into place; returns its path."""
        if self._done:
            return self.path
        if self.frames == 0:
            self.abort()
            raise ValueError(f"segment {self.path} has no frames")
        assert self._proc.stdin is not None
        try:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
            code = self._proc.wait()
        except BaseException:
            self.abort()
            raise
        if code != 0:
            self._fail(f"ffmpeg failed encoding {self.path.name} (exit status {code})")
        os.replace(self._temp, self.path)
        self._done = True
        self._cleanup()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and remove the temp file; the target path is left as it was."""
        self._done = True
        self._finalizer()
        self._cleanup()

    def _fail(self, message: str) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5.0)  # let a dying ffmpeg finish saying why
        stderr = self._read_log()
        self.abort()
        raise FfmpegError(message, stderr=stderr)

    def _read_log(self) -> str:
        with contextlib.suppress(Exception):
            self._log.seek(0)
            return self._log.read().decode("utf-8", errors="replace")
        return ""

    def _cleanup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()
        with contextlib.suppress(Exception):
            self._log.close()


def concat_listing(paths: Sequence[Path]) -> str:
    """An ffconcat listing of `paths`, for ffmpeg's concat demuxer (`-safe 0`)."""
    lines = []
    for path in paths:
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'\n")
    return "ffconcat version 1.0\n" + "".join(lines)


def concat_segments(paths: Sequence[Path], out: Path, *, timeout: float | None = 600.0) -> Path:
    """Join segments made with one `SegmentFormat` by stream copy (no re-encode) into `out`."""
    if not paths:
        raise ValueError("no segments to join")
    out = Path(out)
    temp = temp_path_beside(out, ".mp4.part")
    listing = temp_path_beside(out, ".concat.txt")
    try:
        listing.write_text(concat_listing(paths), encoding="utf-8")
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy",
                    "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(temp)],
                   timeout=timeout)
        os.replace(temp, out)
    finally:
        for leftover in (temp, listing):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return out


def encode_segment(path: Path, frames: Iterable[Frame], width: int, height: int,
                   fps: float | Fraction, *, preset: str = "veryfast", crf: int = 20) -> Path:
    """Encode `frames` into the segment at `path` (atomic; nothing left behind on failure)."""
    with SegmentEncoder(path, width, height, fps, preset=preset, crf=crf) as encoder:
        encoder.write_all(frames)
    return encoder.path
