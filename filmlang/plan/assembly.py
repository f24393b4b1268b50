"""Phase two's own passes: once the timeline is solved, how the film is put together.

One short pure function per job kind, in `PASSES`, run in that order after the backends'
timed passes (clips, music, ambience, effects): a segment per shot (and per dissolve or
wipe), the mix of every sound and the mux (which joins the segments as it writes the
film). Identical segments merge like identical stills: the same picture for the same
frames is encoded once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from filmlang import ir
from filmlang.audio import SAMPLE_RATE
from filmlang.backends.protocol import AudioCue, PlanContext
from filmlang.config import PREVIEW_AUDIO_RATE, SEGMENT_PIXELS, frame_size
from filmlang.jobs import Job
from filmlang.plan.pictures import footage
from filmlang.provenance import shot_name, shot_sources
from filmlang.timeline import ShotTiming, Timeline

LINK = "link@3"
"""The linker's jobs' backend (`filmlang.link.backend`): named, never imported, here."""
MIX_VERSION = "5"
PIECE_VERSION = "5"
STEM_VERSION = "3"
PIECE_SECONDS = 30.0
"""A scene longer than this is mixed in pieces of this length (from its own start). 30 s
rather than 60: two pieces mixed at once were the build's peak memory (5-minute scale
film: cold peak 808-846 -> 714-735 MB, an edit's 713-765 -> 511-528 MB, its CPU 6% less)."""
PIECE_MARGIN = 1.0
"""Seconds each piece mixes beyond its ends (`link/pieces.py` MARGIN_SECONDS)."""
LOUDNESS_BLOCK = 0.4


@dataclass
class Assembly:
    """What the passes hand each other: the segments in order, named results."""

    ctx: PlanContext
    timeline: Timeline
    segments: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def video(self) -> dict[str, Any]:
        width, height = frame_size(self.ctx.film, self.ctx.config)
        return {"width": width, "height": height, "fps": self.timeline.fps,
                "crf": self.ctx.config.crf, "preset": self.ctx.config.preset,
                "pixels": SEGMENT_PIXELS, "composer": self.ctx.composer}


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    speaker: str


def subtitle_cues(timeline: Timeline) -> list[Cue]:
    return [Cue(start=lt.start, end=lt.end, text=lt.line.text, speaker=lt.line.speaker)
            for st in timeline.shots for lt in st.lines]


def chapters(timeline: Timeline) -> list[tuple[str, float, float]]:
    """A chapter per scene: its heading (or name), from its first frame to the next's."""
    out: list[tuple[str, float, float]] = []
    scene = None
    for st in timeline.shots:
        if st.scene is scene:
            continue
        scene = st.scene
        start = timeline.time(st.start_frame)
        if out:
            out[-1] = (out[-1][0], out[-1][1], start)
        out.append((scene.heading or scene.name, start, timeline.seconds))
    return out


def durations(timeline: Timeline) -> dict[str, Any]:
    """Every shot's solved length, by name: what moves the mux and the mix."""
    return {f"{shot_name(t.scene.name, t.shot.index)} duration":
            round(t.frames / timeline.fps, 3) for t in timeline.shots}


# ------------------------------------------------------------------ a shot's picture


def _overlays(timing: ShotTiming, timeline: Timeline, burn: bool) -> dict[str, Any]:
    """Titles and burned subtitles of a shot, in frames relative to the shot's start."""
    fps = timeline.fps
    titles = []
    for title in timing.shot.titles:
        last = timing.frames if title.duration is None else min(
            timing.frames, ir.to_frames(title.at + title.duration, fps))
        titles.append({"text": title.text, "first": ir.to_frames(title.at, fps), "last": last})
    subtitles = []
    if burn:
        t0 = timeline.time(timing.start_frame)
        subtitles = [{"text": lt.line.text, "first": ir.to_frames(lt.start - t0, fps),
                      "last": ir.to_frames(lt.end - t0, fps)} for lt in timing.lines]
    return {"titles": titles, "subtitles": subtitles}


def _mouths(ctx: PlanContext, timing: ShotTiming, timeline: Timeline) -> list[dict[str, Any]]:
    """Lip sync: for each line a subject of the shot says on screen (not V.O., O.S.), which
    subject (its index among the still's subjects), the line's frames relative to the
    shot's start, when its audio starts (seconds from the shot's start) and the speech job
    that holds the audio."""
    names = {c.name for c in ctx.film.characters}
    subjects = [n for n in timing.shot.subjects if n in names]
    fps = timeline.fps
    t0 = timeline.time(timing.start_frame)
    mouths = []
    for index, lt in enumerate(timing.lines):
        # A voice-over or an off-screen voice is not said in the picture: no lips move.
        if lt.line.speaker not in subjects or lt.line.placement != "on":
            continue
        mouths.append({"subject": subjects.index(lt.line.speaker),
                       "first": ir.to_frames(lt.start - t0, fps),
                       "last": min(timing.frames, ir.to_frames(lt.end - t0, fps)),
                       "at": lt.start - t0,
                       "speech": ctx.speech[(timing.scene.name, timing.shot.index, index)]})
    return mouths


def picture(ctx: PlanContext, timing: ShotTiming, timeline: Timeline) -> dict[str, Any]:
    """A shot as its composer draws it; a generated clip, when it has one, moves it."""
    where = (timing.scene.name, timing.shot.index)
    out = {"still": ctx.stills[where], "camera": timing.shot.camera, "frames": timing.frames,
           "seed": timing.shot.seed, "fade_in": timing.fade_in, "fade_out": timing.fade_out,
           # A picture from a file has no drawn faces to move.
           "mouths": [] if timing.shot.picture else _mouths(ctx, timing, timeline),
           **_overlays(timing, timeline, ctx.film.subtitles == "burn")}
    clip = ctx.clips.get(where)
    return {**out, "clip": clip} if clip else out


def _inputs(*pictures: dict[str, Any]) -> tuple[str, ...]:
    """Stills, then the speech that moves their mouths, then the clips that move them."""
    stills = [p["still"] for p in pictures]
    speech = [m["speech"] for p in pictures for m in p["mouths"]]
    clips = [p["clip"] for p in pictures if p.get("clip")]
    return tuple(dict.fromkeys([*stills, *speech, *clips]))


def _sources(ctx: PlanContext, timeline: Timeline, *timings: ShotTiming) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for timing in timings:
        out.update(shot_sources(ctx.film, timing.scene, timing.shot, timing=True))
        out[f"{shot_name(timing.scene.name, timing.shot.index)} duration"] = round(
            timing.frames / timeline.fps, 3)
    return out


# ------------------------------------------------------------------ the passes


def segments(a: Assembly) -> None:
    """A segment per shot (its frames outside any transition) and per dissolve or wipe."""
    ctx, timeline = a.ctx, a.timeline
    shots = timeline.shots
    for i, timing in enumerate(shots):
        shot = timing.shot
        pic = picture(ctx, timing, timeline)
        first, last = timing.overlap_in, timing.frames - timing.overlap_out
        if last > first:
            a.segments.append(ctx.graph.add(Job(
                kind="segment", backend=LINK,
                params={**a.video, "shot": pic, "range": [first, last]},
                inputs=_inputs(pic), label=f"{timing.scene.name}/{shot.index + 1} {shot.type}",
                identity=f"segment:{timing.scene.name}/{shot.index}", origin=shot.origin,
                sources=_sources(ctx, timeline, timing))))
        if timing.overlap_out and i + 1 < len(shots):
            a.segments.append(_transition(a, timing, pic, shots[i + 1]))


def _transition(a: Assembly, timing: ShotTiming, pic: dict[str, Any], nxt: ShotTiming) -> str:
    ctx, timeline = a.ctx, a.timeline
    transition = nxt.shot.transition_in
    assert transition is not None
    nxt_pic = picture(ctx, nxt, timeline)
    return ctx.graph.add(Job(
        kind="transition", backend=LINK,
        params={**a.video, "kind": transition.kind, "frames": timing.overlap_out,
                "a": pic, "b": nxt_pic},
        inputs=_inputs(pic, nxt_pic),
        label=f"{transition.kind} to {nxt.scene.name}/{nxt.shot.index + 1}",
        identity=f"transition:{nxt.scene.name}/{nxt.shot.index}", origin=transition.origin,
        sources=_sources(ctx, timeline, timing, nxt)))


def _cues(a: Assembly) -> list[AudioCue]:
    """Every sound of the film in mix order: each shot's lines, then its effects; then the
    beds (music, ambience)."""
    ctx, film = a.ctx, a.ctx.film
    by_shot: dict[tuple[str, int], list[AudioCue]] = {}
    beds: list[AudioCue] = []
    for cue in ctx.audio:
        if cue.shot is None:
            beds.append(cue)
        else:
            by_shot.setdefault(cue.shot, []).append(cue)
    out: list[AudioCue] = []
    for timing in a.timeline.shots:
        where = (timing.scene.name, timing.shot.index)
        for index, lt in enumerate(timing.lines):
            out.append(AudioCue(input=ctx.speech[(*where, index)], start=lt.start,
                                gain=film.character(lt.line.speaker).voice.volume,
                                kind="dialogue", shot=where, seconds=lt.end - lt.start))
        out += by_shot.get(where, [])
    return out + beds


END_FADE = 0.5
"""The film's sound fades out over its last half second when its picture does not fade."""


def fades(timeline: Timeline) -> list[list[float]]:
    """The picture's fades, [start, end, from, to] in seconds, which the sound follows; the
    film's end fades out whatever the picture does."""
    out: list[list[float]] = []
    for timing in timeline.shots:
        if timing.fade_in:
            out.append([round(timeline.time(timing.start_frame), 6),
                        round(timeline.time(timing.start_frame + timing.fade_in), 6), 0.0, 1.0])
        if timing.fade_out:
            out.append([round(timeline.time(timing.end_frame - timing.fade_out), 6),
                        round(timeline.time(timing.end_frame), 6), 1.0, 0.0])
    end = timeline.seconds
    if timeline.shots and not timeline.shots[-1].fade_out and end > END_FADE:
        out.append([round(end - END_FADE, 6), round(end, 6), 1.0, 0.0])
    return out


def _windows(a: Assembly, rate: int) -> list[tuple[str, int, int]]:
    """The mix's pieces: (identity, first sample, end sample), a scene each, a long scene
    cut every `PIECE_SECONDS` from its own start."""
    fps, step = a.timeline.fps, round(PIECE_SECONDS * rate)
    firsts: dict[str, int] = {}
    for st in a.timeline.shots:
        firsts.setdefault(st.scene.name, st.start_frame)
    order = list(firsts)
    bounds = [0, *(round(firsts[name] * rate / fps) for name in order[1:]),
              round(a.timeline.frames * rate / fps)]
    out = []
    for name, lo, hi in zip(order, bounds, bounds[1:], strict=False):
        for w, first in enumerate(range(lo, hi, step)):
            out.append((f"piece:{name}/{w}", first, min(hi, first + step)))
    return out


def _grain(a: Assembly, rate: int) -> int:
    """The loudness grain: whole grains make BS.1770's 100 ms hops and every piece."""
    hop = round(rate * LOUDNESS_BLOCK / 4)
    per_frame = rate / a.timeline.fps
    if per_frame == int(per_frame):
        return math.gcd(hop, int(per_frame))
    return 80        # pieces a fraction of a sample off the grid: the blocks within 0.1%


def _piece_clips(cues: list[tuple[AudioCue, int, float]], lo: int, hi: int, pad: int,
                 rate: int) -> list[dict[str, Any]]:
    out = []
    for cue, start, length in cues:
        if start >= hi + pad or start + length <= lo - pad:
            continue
        clip: dict[str, Any] = {"input": cue.input, "at": start - lo, "gain": cue.gain,
                                "kind": cue.kind}
        if cue.length is not None:
            clip["length"] = round(cue.length * rate)
        if cue.fade_out is not None:
            clip["fade_out"] = cue.fade_out
        out.append(clip)
    return out


def mix(a: Assembly) -> None:
    """A piece of the mix per scene (each relative to its own start: a scene that only
    moves keeps its key), then the film's levels from them, each piece's AAC chunk and
    their join (`link/master.py`)."""
    config, film = a.ctx.config, a.ctx.film
    rate = PREVIEW_AUDIO_RATE if config.preview else SAMPLE_RATE
    pad = round(PIECE_MARGIN * rate)
    cues = [(c, round(c.start * rate),
             math.inf if c.seconds is None else c.seconds * rate + 1) for c in _cues(a)]
    grain = _grain(a, rate)
    film_fades = [(round(s0 * rate), round(s1 * rate), g0, g1)
                  for s0, s1, g0, g1 in fades(a.timeline)]
    by_scene = {st.scene.name: st.scene for st in a.timeline.shots}
    pieces = []
    windows = _windows(a, rate)
    for identity, lo, hi in windows:
        clips = _piece_clips(cues, lo, hi, pad, rate)
        # The picture's fades within reach, in seconds from the piece's first margin sample.
        near = [[(f0 - lo + pad) / rate, (f1 - lo + pad) / rate, g0, g1]
                for f0, f1, g0, g1 in film_fades if f1 >= lo - pad and f0 <= hi + pad]
        scene = by_scene[identity.split(":", 1)[1].rsplit("/", 1)[0]]
        pieces.append(a.ctx.graph.add(Job(
            kind="piece", backend=LINK,
            params={"samples": hi - lo, "margin": pad, "rate": rate, "grain": grain,
                    "clips": clips, "version": PIECE_VERSION, "fades": near,
                    **({"channels": 1} if config.preview else {})},
            inputs=tuple(dict.fromkeys(c["input"] for c in clips)),
            label=f"mix {identity.split(':', 1)[1]}", identity=identity, origin=scene.origin,
            sources={f"{shot_name(scene.name, shot.index)} duration": round(
                t.frames / a.timeline.fps, 3) for t in a.timeline.shots
                for shot in (t.shot,) if t.scene is scene})))
    bitrate = "96k" if config.preview else "192k"
    sources = {"film loudness": film.loudness, **durations(a.timeline)}
    levels = a.ctx.graph.add(Job(
        kind="levels", backend=LINK,
        params={"loudness": film.loudness, "rate": rate, "version": MIX_VERSION},
        inputs=tuple(pieces), label="mix levels", identity="levels", sources=sources))
    # Each piece's AAC on the film's frame grid (`link/aac.py`): its place in the film is
    # its grid phase. The levels change its key at every edit; its runner finds the same
    # encoded chunk in the store when the piece, phase and levels are unchanged.
    total = windows[-1][2] if windows else 0
    chunks = [a.ctx.graph.add(Job(
        kind="chunk", backend=LINK,
        params={"start": lo, "total": total, "rate": rate, "bitrate": bitrate,
                "version": MIX_VERSION},
        inputs=(levels, piece), label=f"encode {identity.split(':', 1)[1]}",
        identity=f"chunk:{identity.split(':', 1)[1]}", sources=sources))
        for (identity, lo, _), piece in zip(windows, pieces, strict=True)]
    a.outputs["mix"] = a.ctx.graph.add(Job(
        kind="mix", backend=LINK,
        params={"samples": total, "rate": rate, "bitrate": bitrate, "version": MIX_VERSION},
        inputs=tuple(chunks), label="mix audio", identity="mix",
        # Every sound on the film's timeline, unkeyed: what an export's audio tracks show.
        payload={"clips": [c.params() for c, _, _ in cues]}, sources=sources))


def stem_mix(a: Assembly, stem: str) -> None:
    """For an export, one stem: the film's mix with the other stems' sounds silenced
    (`link.audio_mix.stem`), made whole (an export's own job, not the build's)."""
    cues = _cues(a)
    config = a.ctx.config
    a.outputs[f"stem:{stem}"] = a.ctx.graph.add(Job(
        kind="stem", backend=LINK,
        params={"clips": [c.params() for c in cues], "seconds": a.timeline.seconds,
                "loudness": a.ctx.film.loudness, "version": STEM_VERSION, "stem": stem,
                "fades": fades(a.timeline),
                **({"rate": PREVIEW_AUDIO_RATE} if config.preview else {})},
        inputs=tuple(dict.fromkeys(c.input for c in cues)),
        label=f"mix {stem} stem", identity=f"stem:{stem}",
        sources={"film loudness": a.ctx.film.loudness, **durations(a.timeline)}))


def stems(a: Assembly) -> None:
    """For an export (`extras` has 'stems'): dialogue, music and effects stems."""
    if "stems" in a.ctx.config.extras:
        for name in ("dialogue", "music", "effects"):
            stem_mix(a, name)


def mux(a: Assembly) -> None:
    film, timeline = a.ctx.film, a.timeline
    cues = [{"start": c.start, "end": c.end, "text": c.text, "speaker": c.speaker}
            for c in subtitle_cues(timeline)]
    a.outputs["film"] = a.ctx.graph.add(Job(
        kind="mux", backend=LINK,
        params={"title": film.title, "subtitles": film.subtitles, "cues": cues,
                "chapters": [list(c) for c in chapters(timeline)],
                # Only a preview names its audio: the film's keys stay as they were.
                **({"audio": "preview"} if a.ctx.config.preview else {})},
        # the segments are joined as the film is written: no joined video before it
        inputs=(a.outputs["mix"], *a.segments), label="mux film", identity="mux",
        sources={"film title": film.title, "film subtitles": film.subtitles,
                 **durations(timeline)}))


def shot_media(a: Assembly) -> None:
    """For an export (`extras` has 'shots'): each shot's whole frames, unblended, as one
    segment, named `shot:SCENE/INDEX`; a shot with no transition is its usual segment."""
    if "shots" not in a.ctx.config.extras:
        return
    ctx, timeline = a.ctx, a.timeline
    for timing in timeline.shots:
        shot = timing.shot
        pic = picture(ctx, timing, timeline)
        a.outputs[f"shot:{timing.scene.name}/{shot.index}"] = ctx.graph.add(Job(
            kind="segment", backend=LINK,
            params={**a.video, "shot": pic, "range": [0, timing.frames]},
            inputs=_inputs(pic), label=f"{timing.scene.name}/{shot.index + 1} {shot.type}",
            identity=f"shot:{timing.scene.name}/{shot.index}", origin=shot.origin,
            sources=_sources(ctx, timeline, timing)))


def _footage(a: Assembly) -> None:
    footage(a.ctx, a.timeline)


PASSES: tuple[Callable[[Assembly], None], ...] = (_footage, segments, mix, mux,
                                                  shot_media, stems)
"""Phase two's passes, in order; each reads what the ones before it made."""
