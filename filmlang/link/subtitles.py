"""Subtitles and chapters as text: SubRip (.srt) cues and ffmpeg's FFMETADATA chapters.

Takes `Cue`s (seconds and text) and gives an `.srt` file, or (title, start, end) chapters
and gives the FFMETADATA text that `mux` hands to ffmpeg. Times are rounded to the
millisecond once, here, so the sidecar file and the muxed track agree exactly.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filmlang.link.ffmpeg import temp_path_beside


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start` to `end` seconds; `speaker` is who says it."""

    start: float
    end: float
    text: str
    speaker: str | None = None

    def __post_init__(self) -> None:
        if self.start < 0 or to_ms(self.end) <= to_ms(self.start):
            raise ValueError(f"a cue must start at or after 0 and end after it starts, got "
                             f"{self.start:g}s to {self.end:g}s ({self.text!r})")


def to_ms(seconds: float) -> int:
    """Seconds to whole milliseconds, halves rounded up (not to even).

    The product is first rounded to a nanosecond so that 1.0005 s, stored as
    1.000499999..., still counts as the half it was written as.
    """
    return math.floor(round(seconds * 1000.0, 6) + 0.5)


def srt_time(seconds: float) -> str:
    """`HH:MM:SS,mmm` for a time in seconds, rounded to the millisecond."""
    ms = to_ms(seconds)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def _cue_text(cue: Cue, speakers: bool) -> str:
    # A blank line ends a cue in SubRip, so the text may not contain one.
    lines = [line.strip() for line in cue.text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(line for line in lines if line)
    if speakers and cue.speaker:
        text = f"{cue.speaker}: {text}"
    return text


def format_srt(cues: Iterable[Cue], *, speakers: bool = False) -> str:
    """The SubRip text of `cues`, numbered from 1 in order of start time.

    With `speakers`, each cue is prefixed by its speaker (`MARA: ...`).
    """
    ordered = sorted(cues, key=lambda cue: (to_ms(cue.start), to_ms(cue.end)))
    blocks = [f"{number}\n{srt_time(cue.start)} --> {srt_time(cue.end)}\n"
              f"{_cue_text(cue, speakers)}\n"
              for number, cue in enumerate(ordered, start=1)]
    return "\n".join(blocks)


def write_srt(cues: Iterable[Cue], path: Path, *, speakers: bool = False) -> Path:
    """Write `cues` as a UTF-8 `.srt` file, atomically; returns the path."""
    write_text_atomic(Path(path), format_srt(cues, speakers=speakers))
    return Path(path)


_SRT_TIME = r"(\d+):(\d{2}):(\d{2})[,.](\d{3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}")


def parse_srt(text: str) -> list[Cue]:
    """Read SubRip text back into cues (times exact to the millisecond; no speakers)."""
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").lstrip("\ufeff").strip()):
        lines = block.split("\n")
        for i, line in enumerate(lines[:2]):
            timing = _SRT_TIMING.match(line)
            if timing:
                parts = [int(g) for g in timing.groups()]
                start = (parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1000 + parts[3]
                end = (parts[4] * 3600 + parts[5] * 60 + parts[6]) * 1000 + parts[7]
                cues.append(Cue(start / 1000, end / 1000, "\n".join(lines[i + 1:])))
                break
    return cues


def _escape_ffmetadata(value: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def chapters_metadata(chapters: Sequence[tuple[str, float, float]], *,
                      title: str | None = None) -> str:
    """FFMETADATA text with one `[CHAPTER]` per (title, start, end), in milliseconds."""
    lines = [";FFMETADATA1"]
    if title is not None:
        lines.append(f"title={_escape_ffmetadata(title)}")
    for name, start, end in chapters:
        if to_ms(end) <= to_ms(start) or start < 0:
            raise ValueError(f"chapter {name!r} must end after it starts, got "
                             f"{start:g}s to {end:g}s")
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={to_ms(start)}",
                  f"END={to_ms(end)}", f"title={_escape_ffmetadata(name)}"]
    return "\n".join(lines) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to a temp file beside `path`, then move it into place."""
    temp = temp_path_beside(path, ".tmp")
    try:
        with open(temp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
