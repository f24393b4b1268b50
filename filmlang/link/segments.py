"""Segments: a shot's RGB frames in, an H.264 MP4 segment out; segments joined by copy.

Frames are converted here to BT.709 limited-range yuv420p (`Yuv420`), the format x264
codes, and piped to ffmpeg as such: half the bytes of RGB, and no colour conversion per
frame in ffmpeg. A frame that differs from the one before only in a small box (a speaking
mouth, a title over a still) costs a compare and that box's conversion; the same frame
again costs nothing. Every segment is encoded with the same codec parameters
(`SegmentFormat`): H.264 High profile, yuv420p, a fixed GOP with no scene-cut keyframes,
x264's `stitchable` headers, and a movie timescale equal to the track timescale. That
makes the segments of one film join by stream copy (`concat_segments`) with frame-exact
timestamps, so an edit re-encodes only the shots it touched. Outputs are written to a
temp file beside the target and moved into place only when complete.
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
        return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{self.width}x{self.height}",
                "-framerate", str(self.fps), "-color_range", "tv", "-colorspace", "bt709",
                "-i", "pipe:0"]

    def output_args(self) -> list[str]:
        scale = str(track_timescale(self.fps))
        return ["-an", "-sn", "-dn", "-map_metadata", "-1",
                "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf),
                "-profile:v", "high", "-pix_fmt", "yuv420p",
                # BT.709 limited range in (`Yuv420`), and said so in the stream.
                "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
                "-color_range", "tv",
                "-g", str(self.gop), "-sc_threshold", "0",
                "-x264-params", "stitchable=1:open-gop=0",
                "-video_track_timescale", scale, "-movie_timescale", scale,
                "-f", "mp4"]


_ONE = 1 << 16
_KR, _KB = 0.2126, 0.0722  # BT.709
_KG = 1.0 - _KR - _KB


def _fixed(row: tuple[float, float, float], offset: float, scale: float) -> list[float]:
    """A row of a colour matrix in 1/65536 steps. OpenCV's three-channel 8-bit transform
    rounds it to its own fixed point and works in integers: the same bytes on every SIMD
    path, within one level of the exact product (`tests/test_link.py`)."""
    return [round(k * scale * _ONE) / _ONE for k in row] + [offset]


_LUMA = [_fixed((_KR, _KG, _KB), 16.0, 219 / 255)]
_CHROMA = [_fixed((-_KR / (2 - 2 * _KB), -_KG / (2 - 2 * _KB), 0.5), 128.0, 224 / 255),
           _fixed((0.5, -_KG / (2 - 2 * _KR), -_KB / (2 - 2 * _KR)), 128.0, 224 / 255)]
_WHOLE = 0.5
"""A change over more than this share of the rows is converted whole."""


class Yuv420:
    """RGB frames (uint8, (height, width, 3)) to BT.709 limited-range yuv420p bytes.

    Luma per pixel; chroma from each 2x2 block's mean (rounded to 8 bits, then converted).
    Each output depends on its frame alone: a frame like the last one converts only the
    even-aligned box where they differ (the same bytes as converting it whole), one that is
    the last (read-only) array converts nothing.
    """

    def __init__(self, width: int, height: int) -> None:
        import cv2
        import numpy as np

        cv2.setNumThreads(1)  # one core per frame stream: the encoder has the others
        self._cv2, self._np = cv2, np
        self.width, self.height = width, height
        self.buffer = np.empty(width * height * 3 // 2, dtype=np.uint8)
        w2, h2 = width // 2, height // 2
        self.y = self.buffer[:width * height].reshape(height, width)
        self.u = self.buffer[width * height:width * height + w2 * h2].reshape(h2, w2)
        self.v = self.buffer[width * height + w2 * h2:].reshape(h2, w2)
        # One 3x4 matrix, Y then Cb then Cr: OpenCV's three-channel 8-bit transform is a
        # fixed-point path, ten times the speed of a one- or two-row one.
        self._matrix = np.array(_LUMA + _CHROMA, dtype=np.float32)
        self._last: Frame | None = None

    def __call__(self, frame: Frame) -> Frame:
        """The frame's yuv420p bytes: a buffer reused by the next call."""
        np = self._np
        last = self._last
        if last is None:
            self._convert(frame, 0, self.height, 0, self.width)
        elif frame is not last:
            box = self._changed(last, frame)
            if box is not None:
                self._convert(frame, *box)
        # Kept to compare with: the frame itself if nobody can change it, else a copy.
        self._last = frame if not frame.flags.writeable else np.array(frame, copy=True)
        return self.buffer

    def _changed(self, a: Frame, b: Frame) -> tuple[int, int, int, int] | None:
        """The even-aligned box (y0, y1, x0, x1) where b differs from a; None if nowhere."""
        np = self._np
        differ = (_words(a, self.height) != _words(b, self.height)).any(axis=1)
        rows = np.flatnonzero(differ).tolist()
        if not rows:
            return None
        y0, y1 = rows[0] // 2 * 2, -(-(rows[-1] + 1) // 2) * 2
        if y1 - y0 > _WHOLE * self.height:
            return 0, self.height, 0, self.width
        cols = np.flatnonzero((a[y0:y1] != b[y0:y1]).any(axis=(0, 2))).tolist()
        return y0, y1, cols[0] // 2 * 2, -(-(cols[-1] + 1) // 2) * 2

    def _convert(self, frame: Frame, y0: int, y1: int, x0: int, x1: int) -> None:
        cv2 = self._cv2
        part = self._np.ascontiguousarray(frame[y0:y1, x0:x1])
        yuv = cv2.transform(part, self._matrix)
        if (y0, y1, x0, x1) == (0, self.height, 0, self.width):
            cv2.extractChannel(yuv, 0, dst=self.y)
        else:
            self.y[y0:y1, x0:x1] = yuv[:, :, 0]
        half = cv2.resize(part, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_AREA)
        uv = cv2.transform(half, self._matrix)
        self.u[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = uv[:, :, 1]
        self.v[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = uv[:, :, 2]


def _words(frame: Frame, height: int) -> Frame:
    """Whatever rows of `frame` can be compared by: one 64-bit word per 8 bytes if they
    fit, else the bytes; `!=` then `any` per row says which rows differ."""
    import numpy as np

    flat = np.ascontiguousarray(frame).reshape(height, -1)
    if flat.shape[1] % 8 == 0:
        flat = flat.view(np.uint64)
    return flat


class SegmentEncoder:
    """Feed RGB frames (uint8, shape (height, width, 3)) to ffmpeg; get an MP4 segment.

    Frames go to x264 as yuv420p (`Yuv420`).

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
        self._yuv = Yuv420(width, height)
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
        data = self._yuv(frame)
        try:
            self._proc.stdin.write(data.data)
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
