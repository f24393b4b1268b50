"""The ffmpeg binary: finding it, running it, and reading what a media file holds.

Takes ffmpeg arguments (or a media path) and gives a finished run (or a `MediaInfo`).
ffprobe is not shipped with imageio-ffmpeg, so `probe` reads the `Input #0` report that
`ffmpeg -i` writes to stderr, the `ffmetadata` dump for metadata and chapters, and a
stream-copied `framecrc` listing for the exact frame count and frame rate.

Every child process is owned by a context (`ffmpeg_process`) that kills and reaps it when
the caller leaves by an exception, KeyboardInterrupt included, so no stray ffmpeg outlives
a failed or interrupted build.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO

ENV_FFMPEG = "FILMC_FFMPEG"
DEFAULT_TIMEOUT = 600.0
_TAIL_LINES = 12


class FfmpegError(RuntimeError):
    """ffmpeg could not be started, failed, or ran past its time limit."""

    def __init__(self, message: str, *, args: Sequence[str] = (), returncode: int | None = None,
                 stderr: str = "") -> None:
        tail = _tail(stderr)
        super().__init__(f"{message}\n{tail}" if tail else message)
        self.ffmpeg_args = list(args)
        self.returncode = returncode
        self.stderr = stderr


def _tail(stderr: str, lines: int = _TAIL_LINES) -> str:
    """The last meaningful lines of ffmpeg's stderr, indented for a readable message."""
    kept = [line.rstrip() for line in stderr.replace("\r", "\n").splitlines()]
    kept = [line for line in kept if line.strip() and not line.lstrip().startswith("frame=")]
    return "\n".join("  " + line for line in kept[-lines:])


@lru_cache(maxsize=1)
def _bundled_ffmpeg() -> str:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_exe() -> str:
    """The ffmpeg binary: $FILMC_FFMPEG when set, else the one imageio-ffmpeg ships."""
    override = os.environ.get(ENV_FFMPEG)
    if override:
        return override
    try:
        return _bundled_ffmpeg()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError, or ImportError when absent
        raise FfmpegError(f"no ffmpeg binary found ({exc}); install imageio-ffmpeg or set "
                          f"{ENV_FFMPEG} to an ffmpeg executable") from exc


def _command(args: Sequence[str], loglevel: str) -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel, *map(str, args)]


def stop_ffmpeg(proc: subprocess.Popen[bytes]) -> None:
    """Kill and reap: the child must not outlive this call.

    SIGKILL rather than SIGTERM: ffmpeg answers SIGTERM by finishing its output, which may
    wait on a stdin nobody will write to, and every output here is a temp file anyway.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(Exception):
        proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()


Stream = int | IO[bytes] | None


def start_ffmpeg(args: Sequence[str], *, stdin: Stream = subprocess.DEVNULL,
                 stdout: Stream = subprocess.DEVNULL, stderr: Stream = subprocess.PIPE,
                 loglevel: str = "error") -> subprocess.Popen[bytes]:
    """Start ffmpeg with `args`; the caller owns the child and must `stop_ffmpeg` it."""
    command = _command(args, loglevel)
    try:
        proc = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr)
    except OSError as exc:
        raise FfmpegError(f"could not start ffmpeg ({command[0]}): {exc}", args=command) from exc
    children: Children | None = getattr(_ADOPTER, "children", None)
    if children is not None:
        children.add(proc)
    return proc


_ADOPTER = threading.local()
"""The `Children` that adopts the ffmpeg processes started by this thread, if any."""



class Children:
    """The ffmpeg processes that one build's jobs start, so that cancelling that build stops
    them, and only them (other builds in the same process go on)."""

    def __init__(self) -> None:
        self._procs: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def adopting(self) -> Iterator[None]:
        """ffmpeg started by this thread inside the block belongs to this group."""
        previous = getattr(_ADOPTER, "children", None)
        _ADOPTER.children = self
        try:
            yield
        finally:
            _ADOPTER.children = previous

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.add(proc)

    def kill(self) -> list[subprocess.Popen[bytes]]:
        """Kill the group's ffmpeg processes that still run. Their owners see them fail as
        if ffmpeg had crashed: they raise, reap the child and remove their temp files, so
        nothing half-written is committed. Returns those it killed."""
        with self._lock:
            procs = list(self._procs)
        killed = []
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                    killed.append(proc)
        return killed


@contextlib.contextmanager
def ffmpeg_process(args: Sequence[str], *, stdin: Stream = subprocess.DEVNULL,
                   stdout: Stream = subprocess.DEVNULL, stderr: Stream = subprocess.PIPE,
                   loglevel: str = "error") -> Iterator[subprocess.Popen[bytes]]:
    """Start ffmpeg with `args`; kill and reap it if the body raises (or is interrupted)."""
    proc = start_ffmpeg(args, stdin=stdin, stdout=stdout, stderr=stderr, loglevel=loglevel)
    try:
        yield proc
    except BaseException:
        stop_ffmpeg(proc)
        raise


@dataclass(frozen=True)
class FfmpegResult:
    """A finished ffmpeg run: its stdout bytes and its stderr text."""

    stdout: bytes
    stderr: str
    returncode: int


def capture_ffmpeg(args: Sequence[str], *, input: bytes | None = None,
                   timeout: float | None = DEFAULT_TIMEOUT, loglevel: str = "error",
                   check: bool = True) -> FfmpegResult:
    """Run ffmpeg to completion and return what it wrote; raise `FfmpegError` on failure."""
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    command = [str(arg) for arg in args]
    with ffmpeg_process(command, stdin=stdin, stdout=subprocess.PIPE,
                        loglevel=loglevel) as proc:
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            stop_ffmpeg(proc)
            raise FfmpegError(f"ffmpeg ran past its time limit of {timeout:g}s",
                              args=command, stderr=_decode(exc.stderr)) from None
    result = FfmpegResult(out, _decode(err), proc.returncode)
    if check and result.returncode != 0:
        raise FfmpegError(f"ffmpeg failed (exit status {result.returncode})",
                          args=command, returncode=result.returncode, stderr=result.stderr)
    return result


def run_ffmpeg(args: Sequence[str], *, input: bytes | None = None,
               timeout: float | None = DEFAULT_TIMEOUT, loglevel: str = "error") -> None:
    """Run ffmpeg with `args` (no binary name, no -y needed: outputs are overwritten)."""
    capture_ffmpeg(["-y", *args], input=input, timeout=timeout, loglevel=loglevel)


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


# -- probe --------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    fps: float
    frames: int | None
    duration: float | None        # from the frame timestamps: exact where frames were counted
    pix_fmt: str | None = None
    profile: str | None = None
    index: int = 0


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int
    index: int = 0
    language: str | None = None


@dataclass(frozen=True)
class SubtitleStream:
    codec: str
    index: int = 0
    language: str | None = None
    handler: str | None = None


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, as far as the linker and its tests need to know."""

    path: Path
    duration: float | None        # the container's (10 ms precision); video.duration is exact
    format: str
    video: VideoStream | None
    audio: tuple[AudioStream, ...] = ()
    subtitles: tuple[SubtitleStream, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return self.metadata.get("title")


_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^ ]+)*), from ")
_DURATION = re.compile(r"Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)(?:\[[^\]]*\])?(?:\(([^)]*)\))?: (\w+): (.*)$")
_SIZE = re.compile(r"(?:^|[ ,])(\d{2,5})x(\d{2,5})(?:[ ,\[]|$)")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_RATE = re.compile(r"(\d+) Hz")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5,
            "5.1": 6, "5.0(side)": 5, "5.1(side)": 6, "6.1": 7, "7.1": 8}


def _split_fields(desc: str) -> list[str]:
    """Split a stream description at top-level commas (not those inside parentheses)."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(desc):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(desc[start:i].strip())
            start = i + 1
    fields.append(desc[start:].strip())
    return fields


def _codec(first: str) -> tuple[str, str | None]:
    name, _, rest = first.partition(" ")
    profile = re.match(r"\(([^)/]+)\)", rest.strip())
    return name, profile.group(1).strip() if profile else None


def _channels(fields: list[str]) -> int:
    for item in fields[2:4]:
        layout = item.split(" ")[0]
        if layout in _LAYOUTS:
            return _LAYOUTS[layout]
        counted = re.match(r"(\d+) channels", item)
        if counted:
            return int(counted.group(1))
    return 0


_PAIR = re.compile(r"^((?:[^\\=]|\\.)*)=(.*)$", re.DOTALL)


def _unescape_ffmetadata(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL)


def _parse_ffmetadata(text: str) -> tuple[dict[str, str], list[Chapter]]:
    """Global metadata and chapters from an ffmetadata dump (escaped `key=value` lines)."""
    text = re.sub(r"\\\n", "\\\u2028", text)  # a backslash-newline continues the value
    metadata: dict[str, str] = {}
    chapters: list[Chapter] = []
    section: dict[str, str] | None = metadata
    current: dict[str, str] = {}
    for raw in text.split("\n"):
        line = raw.replace("\u2028", "\n")
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            if current:
                chapters.append(_chapter(current))
            current = {}
            section = current if line.strip() == "[CHAPTER]" else None
            continue
        pair = _PAIR.match(line)
        if pair and section is not None:
            section[_unescape_ffmetadata(pair.group(1))] = _unescape_ffmetadata(pair.group(2))
    if current:
        chapters.append(_chapter(current))
    return metadata, chapters


def _chapter(values: dict[str, str]) -> Chapter:
    base = Fraction(values.get("TIMEBASE", "1/1000"))
    return Chapter(title=values.get("title", ""),
                   start=float(int(values.get("START", "0")) * base),
                   end=float(int(values.get("END", "0")) * base))


def _count_frames(path: Path, index: int, timeout: float | None) -> tuple[int, float, float]:
    """(frames, duration, fps) of video stream `index`, from a stream copy: no decoding."""
    listing = capture_ffmpeg(["-i", str(path), "-map", f"0:{index}", "-c", "copy",
                              "-f", "framecrc", "pipe:1"], timeout=timeout).stdout.decode()
    base = Fraction(1)
    stamps: list[tuple[int, int]] = []
    for line in listing.splitlines():
        if line.startswith("#tb"):
            base = Fraction(line.split(":", 1)[1].strip())
        elif line and not line.startswith("#"):
            parts = [p.strip() for p in line.split(",")]
            stamps.append((int(parts[2]), int(parts[3])))
    if not stamps:
        return 0, 0.0, 0.0
    start = min(pts for pts, _ in stamps)
    end = max(pts + dur for pts, dur in stamps)
    span = (end - start) * base
    # Frames over their span, not one packet's duration: Matroska's millisecond clock
    # gives 83 ms frames at 12 fps, yet 36 of them still span 3 s.
    fps = (len(stamps) / span).limit_denominator(1001) if span > 0 else Fraction(0)
    return len(stamps), float(span), float(fps)


def probe(path: Path, *, count_frames: bool = True,
          timeout: float | None = 120.0) -> MediaInfo:
    """Describe a media file with the ffmpeg binary alone (no ffprobe).

    With `count_frames`, the video frames are counted exactly from a stream copy of the
    packets, which also gives the video's exact duration and frame rate.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such media file: {path}")
    result = capture_ffmpeg(["-i", str(path), "-f", "ffmetadata", "pipe:1"], timeout=timeout,
                            loglevel="info")
    metadata, chapters = _parse_ffmetadata(result.stdout.decode("utf-8", errors="replace"))
    fmt, duration = "", None
    video: VideoStream | None = None
    audio: list[AudioStream] = []
    subtitles: list[SubtitleStream] = []
    in_input = False
    for line in result.stderr.splitlines():
        if line.startswith("Input #0"):
            in_input = True
            match = _INPUT.match(line)
            fmt = match.group(1) if match else ""
            continue
        if in_input and not line.startswith(" "):
            break  # the end of the input report: "Stream mapping:", "Output #0", ...
        if not in_input:
            continue
        found = _DURATION.search(line)
        if found and line.lstrip().startswith("Duration:"):
            if found.group(1) is not None:
                duration = (int(found.group(1)) * 3600 + int(found.group(2)) * 60
                            + float(found.group(3)))
            continue
        stream = _STREAM.match(line)
        if stream is None:
            continue
        index, language, kind, desc = (int(stream.group(1)), stream.group(2), stream.group(3),
                                       stream.group(4))
        fields = _split_fields(desc)
        codec, profile = _codec(fields[0])
        if kind == "Video" and video is None and "(attached pic)" not in desc:
            size = _SIZE.search(desc)
            rate = _FPS.search(desc)
            fps = float(rate.group(1)) * (1000 if rate.group(2) else 1) if rate else 0.0
            pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else None
            video = VideoStream(codec=codec, width=int(size.group(1)) if size else 0,
                                height=int(size.group(2)) if size else 0, fps=fps,
                                frames=None, duration=None, pix_fmt=pix_fmt, profile=profile,
                                index=index)
        elif kind == "Audio":
            rate = _RATE.search(desc)
            audio.append(AudioStream(codec=codec, sample_rate=int(rate.group(1)) if rate else 0,
                                     channels=_channels(fields), index=index,
                                     language=language))
        elif kind == "Subtitle":
            subtitles.append(SubtitleStream(codec=codec, index=index, language=language))
    subtitles = _with_handlers(result.stderr, subtitles)
    if video is not None and count_frames:
        frames, exact, fps = _count_frames(path, video.index, timeout)
        video = VideoStream(codec=video.codec, width=video.width, height=video.height,
                            fps=fps or video.fps, frames=frames, duration=exact,
                            pix_fmt=video.pix_fmt, profile=video.profile, index=video.index)
    return MediaInfo(path=path, duration=duration, format=fmt, video=video, audio=tuple(audio),
                     subtitles=tuple(subtitles), chapters=tuple(chapters), metadata=metadata)


def _with_handlers(stderr: str, subtitles: list[SubtitleStream]) -> list[SubtitleStream]:
    """Attach each subtitle stream's `handler_name` from the metadata block under it."""
    handlers: dict[int, str] = {}
    current: int | None = None
    for line in stderr.splitlines():
        stream = _STREAM.match(line)
        if stream:
            current = int(stream.group(1))
            continue
        if not line.startswith("    "):
            current = None
        key, sep, value = line.strip().partition(":")
        if current is not None and sep and key.strip() == "handler_name":
            handlers[current] = value.strip()
    return [SubtitleStream(codec=s.codec, index=s.index, language=s.language,
                           handler=handlers.get(s.index)) for s in subtitles]


def temp_path_beside(target: Path, suffix: str = ".part") -> Path:
    """A fresh, unique, hidden temp file name in `target`'s folder (same file system)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: the file is created by ffmpeg (or the caller) with the usual permissions.
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"
