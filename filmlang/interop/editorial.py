"""A built film as an OpenTimelineIO timeline, for an editor: OTIO, CMX 3600 EDL, FCPXML.

The video track holds one clip per shot. Its media is the shot's whole frames, unblended
(built through the cache as the `shot:` outputs of `plan/assembly.py`), so a dissolve or
wipe is an OTIO transition the editor renders from the outgoing shot's handle, over the
first frames of the incoming one, exactly where the MP4 has it; fades are in the frames.
Each clip's record range is the shot's frames in the MP4, its metadata the shot's
`file:line`, prompt, seed and cache key. The audio tracks hold the film's sounds as the mix
placed them (dialogue, music, ambience and effects; overlapping sounds take another track
of their group), from the mix job's own list, and the video track has a marker per scene.
The media are copied beside the timeline (`NAME.media/`), so that it outlives the cache.
"""

from __future__ import annotations

import shutil
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmlang.build import BuildResult
    from filmlang.cache.store import Store
    from filmlang.timeline import ShotTiming

AUDIO_RATE = 48_000
"""The rate of the audio tracks' times: a sample of the film's mix."""
GROUPS = {"dialogue": "Dialogue", "music": "Music", "ambience": "Ambience and effects",
          "effect": "Ambience and effects"}
TRANSITIONS = {"dissolve": "SMPTE_Dissolve", "wipe": "Custom_Transition"}


def _otio() -> Any:
    import opentimelineio as otio

    return otio


@dataclass
class Media:
    """Copies cache objects into the export's media folder under readable names."""

    folder: Path
    store: Store
    copied: dict[str, Path] = field(default_factory=dict)

    def copy(self, source: Path, name: str) -> Path:
        key = str(source)
        if key not in self.copied:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{name}{source.suffix}"
            shutil.copyfile(source, target)
            self.copied[key] = target
        return self.copied[key]


def _reference(path: Path, duration: Any) -> Any:
    otio = _otio()
    return otio.schema.ExternalReference(
        target_url=path.absolute().as_uri(),
        available_range=otio.opentime.TimeRange(duration.__class__(0, duration.rate), duration))


def _shot_clip(timing: ShotTiming, result: BuildResult, media: Media, fps: float,
               where: str) -> Any:
    otio = _otio()
    assert result.graph is not None
    shot, scene = timing.shot, timing.scene
    key = result.graph.outputs[f"shot:{scene.name}/{shot.index}"]
    source = media.store.path(key) / "segment.mp4"
    name = f"{len(media.copied) + 1:03d}_{scene.name}_{shot.index + 1}"
    path = media.copy(source, name)
    frames = otio.opentime.RationalTime(timing.frames, fps)
    length = timing.frames - timing.overlap_out
    return otio.schema.Clip(
        name=f"{scene.name}/{shot.index + 1} {shot.type}",
        media_reference=_reference(path, frames),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps),
                                             otio.opentime.RationalTime(length, fps)),
        metadata={"filmlang": {"source": where, "scene": scene.name,
                               "shot": shot.index + 1, "type": shot.type,
                               "prompt": shot.prompt, "seed": shot.seed, "cache_key": key,
                               "record_frames": [timing.start_frame,
                                                 timing.start_frame + length]}})


def _where(timing: ShotTiming) -> str:
    """`file:line` of a shot, the file named from the film's folder."""
    origin = timing.shot.origin
    return f"{origin.file}:{origin.line}"


def _video(result: BuildResult, media: Media) -> Any:
    otio = _otio()
    timeline = result.timeline
    assert timeline is not None
    fps = timeline.fps
    track = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    scene = None
    for timing in timeline.shots:
        transition = timing.shot.transition_in
        if timing.overlap_in and transition is not None:
            track.append(otio.schema.Transition(
                name=transition.kind, transition_type=TRANSITIONS[transition.kind],
                in_offset=otio.opentime.RationalTime(0, fps),
                out_offset=otio.opentime.RationalTime(timing.overlap_in, fps),
                metadata={"filmlang": {"kind": transition.kind,
                                       "frames": timing.overlap_in}}))
        track.append(_shot_clip(timing, result, media, fps, _where(timing)))
        if timing.scene is not scene:
            scene = timing.scene
            track.markers.append(otio.schema.Marker(
                name=scene.heading or scene.name, color=otio.schema.MarkerColor.GREEN,
                marked_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(timing.start_frame, fps),
                    otio.opentime.RationalTime(1, fps)),
                metadata={"filmlang": {"scene": scene.name}}))
    return track


def _seconds(path: Path) -> float:
    from filmlang import audio

    if path.suffix == ".wav":
        with wave.open(str(path)) as handle:
            return float(handle.getnframes() / handle.getframerate())
    samples, rate = audio.read_wav(path)
    return len(samples) / rate


def _audio_clip(cue: dict[str, Any], media: Media, name: str) -> tuple[int, int, Any]:
    otio = _otio()
    source = media.store.audio(cue["input"])
    path = media.copy(source, name)
    length = float(cue.get("length") or _seconds(source))
    start = round(float(cue["start"]) * AUDIO_RATE)
    samples = max(1, round(length * AUDIO_RATE))
    clip = otio.schema.Clip(
        name=name, media_reference=_reference(
            path, otio.opentime.RationalTime(round(_seconds(source) * AUDIO_RATE),
                                             AUDIO_RATE)),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, AUDIO_RATE),
                                             otio.opentime.RationalTime(samples, AUDIO_RATE)),
        metadata={"filmlang": {"kind": cue["kind"], "gain": cue["gain"],
                               "start": float(cue["start"]), "cache_key": cue["input"]}})
    return start, start + samples, clip


def _audio(result: BuildResult, media: Media) -> list[Any]:
    """The mix's sounds on tracks by group, each sound on the first track of its group
    that is free when it starts."""
    otio = _otio()
    assert result.graph is not None
    mix = result.graph.jobs[result.graph.outputs["mix"]]
    lanes: dict[str, list[tuple[Any, int]]] = {}
    counts: dict[str, int] = {}
    for cue in sorted(mix.payload["clips"], key=lambda c: float(c["start"])):
        group = GROUPS.get(cue["kind"], "Ambience and effects")
        counts[cue["kind"]] = counts.get(cue["kind"], 0) + 1
        start, end, clip = _audio_clip(cue, media, f"{cue['kind']}_{counts[cue['kind']]:03d}")
        tracks = lanes.setdefault(group, [])
        index = next((i for i, (_, free) in enumerate(tracks) if free <= start), None)
        if index is None:
            number = f" {len(tracks) + 1}" if tracks else ""
            tracks.append((otio.schema.Track(name=f"{group}{number}",
                                             kind=otio.schema.TrackKind.Audio), 0))
            index = len(tracks) - 1
        track, free = tracks[index]
        if start > free:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                duration=otio.opentime.RationalTime(start - free, AUDIO_RATE))))
        track.append(clip)
        tracks[index] = (track, end)
    return [track for group in ("Dialogue", "Music", "Ambience and effects")
            for track, _ in lanes.get(group, [])]


def film_timeline(result: BuildResult, store: Store, media: Path) -> Any:
    """The built film (built with `extras=('shots',)`) as an `otio.schema.Timeline`; its
    media copied into `media`."""
    otio = _otio()
    check = result.check
    assert check.film is not None and result.timeline is not None
    copies = Media(folder=media, store=store)
    timeline = otio.schema.Timeline(name=check.film.title, metadata={"filmlang": {
        "fps": result.timeline.fps, "frames": result.timeline.frames,
        "film": str(result.output) if result.output else ""}})
    timeline.global_start_time = otio.opentime.RationalTime(0, result.timeline.fps)
    timeline.tracks.append(_video(result, copies))
    for track in _audio(result, copies):
        timeline.tracks.append(track)
    return timeline


def picture_only(timeline: Any) -> Any:
    """The timeline with its video track only (an EDL conforms picture)."""
    otio = _otio()
    copy = timeline.deepcopy()
    for track in list(copy.tracks):
        if track.kind != otio.schema.TrackKind.Video:
            copy.tracks.remove(track)
    return copy


STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
"""The frame rates EDL timecode and FCPXML's formats know."""


class RateProblem(ValueError):
    """The film's frame rate is one an EDL or FCPXML cannot say."""


def standard_rate(fps: float, fmt: str) -> None:
    if not any(abs(fps - rate) < 0.01 for rate in STANDARD_RATES):
        raise RateProblem(f"{fmt.upper()} needs a standard frame rate ("
                          + ", ".join(f"{r:g}" for r in STANDARD_RATES)
                          + f"), and this build runs at {fps:g} fps")


def _frames(time: Any, fps: float) -> int:
    frames: float = time.value * fps / time.rate
    return round(frames)


def at_frame_rate(timeline: Any, fps: float) -> Any:
    """A copy whose every time is in whole frames of `fps` (FCPXML's formats are frame
    rates): each item keeps its place on its track to the nearest frame."""
    otio = _otio()
    copy = timeline.deepcopy()

    def whole(frames: int) -> Any:
        return otio.opentime.RationalTime(frames, fps)

    for track in copy.tracks:
        position = 0.0
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.in_offset = whole(_frames(item.in_offset, fps))
                item.out_offset = whole(_frames(item.out_offset, fps))
                continue
            span = item.source_range
            first = round(position * fps / span.duration.rate)
            position += span.duration.value
            last = round(position * fps / span.duration.rate)
            item.source_range = otio.opentime.TimeRange(whole(_frames(span.start_time, fps)),
                                                        whole(max(1, last - first)))
            reference = getattr(item, "media_reference", None)
            if reference is not None and reference.available_range is not None:
                available = reference.available_range
                reference.available_range = otio.opentime.TimeRange(
                    whole(0), whole(max(1, _frames(available.duration, fps))))
    return copy
