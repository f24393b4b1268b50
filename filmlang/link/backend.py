"""The linker's jobs: a shot's segment, a transition, the mix (its pieces, their levels,
each piece's AAC chunk and the join), an export's stems, the mux (which joins the segments).

Registered like any backend (`link@VERSION`, no role: every build uses it). A segment's
frames come from the composing backend its parameters name (`composer`, found through the
registry), encoded here with the film's fixed codec settings so that segments join by
stream copy; the mix levels the film's sounds; the mux puts picture, sound, subtitles and
chapters into the MP4. Pictures from files are its jobs too (`link/pictures.py`: the
still, a video's frames, and the E0605 check before any work).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.backends.protocol import Base
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic
from filmlang.jobs import Job, Runner

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.cache.store import Store

    Frame = npt.NDArray[np.uint8]

VERSION = "3"


def _composer(job: Job) -> Any:
    from filmlang.backends.registry import registry

    return registry().get(job.params["composer"].split("@", 1)[0])


def _encode(job: Job, out: Path, frames: Iterator[Frame]) -> None:
    from filmlang.link.segments import SegmentEncoder

    p = job.params
    encoder = SegmentEncoder(out / "segment.mp4", p["width"], p["height"], p["fps"],
                             preset=p["preset"], crf=p["crf"])
    try:
        for frame in frames:
            encoder.write(frame)
    except BaseException:
        encoder.abort()
        raise
    encoder.close()


def run_segment(job: Job, out: Path, store: Store) -> None:
    p = job.params
    first, last = p["range"]
    _encode(job, out, _composer(job).frames(p["shot"], p["width"], p["height"], p["fps"],
                                            first, last, store))


def run_transition(job: Job, out: Path, store: Store) -> None:
    p = job.params
    n, a, b = p["frames"], p["a"], p["b"]
    composer = _composer(job)
    tail = composer.frames(a, p["width"], p["height"], p["fps"], a["frames"] - n, a["frames"],
                           store)
    head = composer.frames(b, p["width"], p["height"], p["fps"], 0, n, store)

    def blended() -> Iterator[Frame]:
        for i, (x, y) in enumerate(zip(tail, head, strict=True)):
            yield composer.blend(x, y, (i + 0.5) / n, p["kind"])

    _encode(job, out, blended())


def run_piece(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.pieces import piece_job

    piece_job(job.params, out, store.audio)


def run_stem(job: Job, out: Path, store: Store) -> None:
    """An export's stem: a whole-film mix with the other stems silenced (not the build's)."""
    from filmlang.link.audio_mix import mix_job

    mix_job(job.params, out, store.audio)


def run_levels(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.master import levels_job

    levels_job(job.params, [store.path(key) for key in job.inputs], out,
               memo=store.root / "memo" / "levels")


def run_chunk(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.master import chunk_job

    levels, piece = job.inputs
    chunk_job(job.params, store.path(piece), store.path(levels), out, store)


def run_mix(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.master import join_job

    join_job(job.params, [store.path(key) for key in job.inputs], out)


def run_mux(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.mux import FILM_AUDIO, PREVIEW_AUDIO, mux
    from filmlang.link.subtitles import Cue, write_srt

    p = job.params
    cues = [Cue(start=c["start"], end=c["end"], text=c["text"], speaker=c["speaker"])
            for c in p["cues"]]
    srt = out / "film.srt"
    write_srt(cues, srt)
    bitrate, rate = PREVIEW_AUDIO if p.get("audio") == "preview" else FILM_AUDIO
    mix, *segments = job.inputs  # the mix, then the segments in film order
    mixed = store.path(mix) / "mix.m4a"     # encoded by the mix job: copied
    if not mixed.is_file():
        mixed = mixed.with_suffix(".wav")
    mux([store.path(key) / "segment.mp4" for key in segments], mixed,
        out / "film.mp4", subtitles=srt if p["subtitles"] == "track" and cues else None,
        chapters=[tuple(c) for c in p["chapters"]], title=p["title"],
        audio_bitrate=bitrate, audio_rate=rate)


def run_picture(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.pictures import run_picture as run

    run(job, out, store)


def run_footage(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.pictures import run_footage as run

    run(job, out, store)


class Link(Base):
    name = "link"
    version = VERSION
    runners: Mapping[str, Runner] = {"segment": run_segment, "transition": run_transition,
                                     "piece": run_piece, "levels": run_levels,
                                     "chunk": run_chunk, "mix": run_mix,
                                     "stem": run_stem, "mux": run_mux,
                                     "picture": run_picture, "footage": run_footage}

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
        """Pictures from files that ffmpeg cannot decode (E0605)."""
        if not any(shot.picture for shot in film.shots):
            return []
        from filmlang.link.pictures import picture_problems

        return picture_problems(film, config)


BACKEND = Link()
