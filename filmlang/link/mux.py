"""The last step of a build: video, sound, subtitles and chapters into one film file.

Takes the video (one file, or the segments, joined as they are read; stream-copied, never
re-encoded), the mixed audio (an array or a
WAV file; encoded to AAC and cut or padded to the video's exact length), an optional
`.srt` file (a `mov_text` track in MP4, `subrip` in Matroska), chapters and a title, and
gives the film. It is written to a temp file beside `out` and moved into place only when
ffmpeg succeeded, so an interrupted or failed mux leaves the last good film untouched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang.audio import SAMPLE_RATE
from filmlang.link.ffmpeg import probe, run_ffmpeg, temp_path_beside
from filmlang.link.segments import concat_listing
from filmlang.link.subtitles import chapters_metadata, parse_srt, write_text_atomic

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]


PREVIEW_AUDIO = ("96k", SAMPLE_RATE // 2)
"""A preview's AAC: bitrate and sample rate (about half the encoding time of the film's)."""
FILM_AUDIO = ("192k", SAMPLE_RATE)


@dataclass(frozen=True)
class Container:
    """How one output container is written: ffmpeg muxer, subtitle codec, extra options."""

    muxer: str
    subtitle_codec: str
    options: tuple[str, ...] = ()
    stream_tags: tuple[str, ...] = ()


# An explicit movie timescale: with a subtitle track, ffmpeg otherwise picks one so fine
# that the chapter track's 32-bit durations overflow past about 5 s (chapters come out
# garbled).
_MP4 = Container("mp4", "mov_text", ("-movflags", "+faststart", "-movie_timescale", "1000"),
                 ("-metadata:s:s:0", "handler_name=Subtitles"))
CONTAINERS: dict[str, Container] = {
    ".mp4": _MP4,
    ".m4v": _MP4,
    ".mov": Container("mov", "mov_text", ("-movflags", "+faststart", "-movie_timescale", "1000"),
                      ("-metadata:s:s:0", "handler_name=Subtitles")),
    ".mkv": Container("matroska", "srt", (), ("-metadata:s:s:0", "title=Subtitles")),
}


def container_for(out: Path) -> Container:
    """The container that `out`'s suffix names; ValueError naming the supported ones."""
    found = CONTAINERS.get(out.suffix.lower())
    if found is None:
        raise ValueError(f"cannot write {out.name}: the film can be written as "
                         f"{', '.join(sorted(CONTAINERS))}")
    return found


def encode_audio(wav: Path, out: Path, *, bitrate: str = PREVIEW_AUDIO[0],
                 rate: int = PREVIEW_AUDIO[1], timeout: float | None = 600.0) -> Path:
    """AAC of a WAV, as it is (no cut or pad), into `out` (.m4a), atomically.

    A preview's mix job encodes its own audio, so that the encoding runs alongside the
    video's segments and the mux only copies it."""
    temp = temp_path_beside(out, ".m4a.part")
    try:
        run_ffmpeg(["-i", str(wav), "-map", "0:a:0", "-c:a", "aac", "-aac_coder", "fast",
                    "-b:a", bitrate, "-af", f"aresample={rate}", "-map_metadata", "-1",
                    "-f", "mp4", str(temp)], timeout=timeout)
        os.replace(temp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return out


def mux(video: Path | Sequence[Path], audio: Samples | Path, out: Path, *,
        subtitles: Path | None = None,
        chapters: Sequence[tuple[str, float, float]] = (), title: str | None = None,
        audio_bitrate: str = "192k", audio_rate: int = SAMPLE_RATE, language: str = "und",
        timeout: float | None = 600.0) -> Path:
    """Write the film `out` (MP4, MOV or MKV by its suffix); returns `out`.

    `video` is one file, or the film's segments in order (made with one `SegmentFormat`),
    joined here by stream copy as they are read: the film is written once, with no joined
    video written before it. `audio` is float samples at `SAMPLE_RATE`, (n,) or
    (n, channels), or a WAV path; it is padded with silence or cut to the video's exact
    duration. `subtitles` is an `.srt`
    file (a file with no cues adds no track). `chapters` are (title, start, end) seconds.
    `audio_rate` is the AAC's sample rate (a preview uses 24 kHz: half the encoding).
    An `.m4a` audio path (from `encode_audio`, exactly the video's length) is copied.
    """
    import numpy as np

    out = Path(out)
    form = container_for(out)
    parts = [Path(video)] if isinstance(video, str | Path) else [Path(p) for p in video]
    if not parts:
        raise ValueError("no video to mux")
    copied = isinstance(audio, Path | str) and Path(audio).suffix.lower() == ".m4a"
    total = 0
    if not copied or len(parts) == 1:  # the video's length, to pad or cut the audio to
        seconds = 0.0
        for part in parts:
            info = probe(part)
            if info.video is None:
                raise ValueError(f"{part} has no video stream")
            seconds += info.video.duration or info.duration or 0.0
        total = round(seconds * audio_rate)
    temp = temp_path_beside(out, out.suffix + ".part")
    scratch: list[Path] = [temp]
    try:
        inputs: list[list[str]] = [["-i", str(parts[0])]]
        if len(parts) > 1:
            listing = temp_path_beside(out, ".concat.txt")
            scratch.append(listing)
            write_text_atomic(listing, concat_listing(parts))
            inputs = [["-f", "concat", "-safe", "0", "-i", str(listing)]]
        if isinstance(audio, Path | str):
            inputs.append(["-i", str(audio)])
        else:
            data = np.asarray(audio, dtype="<f4")
            channels = 1 if data.ndim == 1 else data.shape[1]
            raw = temp_path_beside(out, ".f32")
            scratch.append(raw)
            np.ascontiguousarray(data).tofile(raw)
            inputs.append(["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(channels),
                           "-i", str(raw)])
        maps = ["-map", "0:v:0", "-map", "1:a:0"]
        tags = ["-metadata:s:a:0", f"language={language}"]
        # The fast AAC coder halves the encode of a long film; at 192k it is transparent.
        codecs = ["-c:v", "copy", "-c:a", "aac", "-aac_coder", "fast", "-b:a", audio_bitrate,
                  "-af", f"aresample={audio_rate},apad=whole_len={total},"
                         f"atrim=end_sample={total}"]
        if copied:
            codecs = ["-c:v", "copy", "-c:a", "copy"]
        if subtitles is not None and parse_srt(Path(subtitles).read_text(encoding="utf-8-sig")):
            inputs.append(["-f", "srt", "-i", str(subtitles)])
            maps += ["-map", f"{len(inputs) - 1}:s:0"]
            tags += ["-metadata:s:s:0", f"language={language}", *form.stream_tags]
            codecs += ["-c:s", form.subtitle_codec]
        # The title and chapters come from an FFMETADATA input: the inputs' own metadata
        # (encoder tags of the segments, a WAV's) is left behind.
        meta = temp_path_beside(out, ".ffmeta")
        scratch.append(meta)
        write_text_atomic(meta, chapters_metadata(chapters, title=title))
        inputs.append(["-f", "ffmetadata", "-i", str(meta)])
        source = str(len(inputs) - 1)
        flat = [arg for group in inputs for arg in group]
        run_ffmpeg([*flat, *maps, "-map_metadata", source, "-map_chapters", source, *codecs,
                    *tags, *form.options, "-f", form.muxer, str(temp)], timeout=timeout)
        os.replace(temp, out)
    finally:
        for leftover in scratch:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return out
