"""The planner: the checked film in, the graph of render jobs out, in two phases.

Timing depends on speech (a line lasts as long as its audio), so planning is split:

- `plan_sources`: what does not depend on durations: one speech job per distinct line
  (the same line said the same way is synthesised once) and one still per distinct shot
  picture (a shot repeated is drawn once).
- `plan_assembly`: once the timeline is solved from the speech durations: a segment per
  shot (and per dissolve or wipe), music and ambience per run of scenes, effects, the
  audio mix, the joined video and the final mux.

Both are pure: IR and timeline in, jobs out. Every job's key covers all it depends on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from filmlang import ir
from filmlang.plan.jobs import GraphBuilder, Job, JobGraph
from filmlang.plan.timeline import ShotTiming, Timeline
from filmlang.semantic.checker import derive_seed

PREVIEW_HEIGHT = 360
LINK_VERSION = "3"
MIX_VERSION = "2"
PREVIEW_AUDIO_RATE = 24_000
"""A preview's mix and AAC sample rate (`link.audio_mix.PREVIEW_RATE`)."""
"""The mix's own version (loudness normalisation by stretches: the last bits changed)."""


@dataclass(frozen=True)
class BuildConfig:
    """How to build: the parts of the command line that change what is rendered."""

    preview: bool = False
    voice: str = ""
    """A voice backend forced from the command line ('' = the film's, else the best)."""
    visual: str = ""
    music: str = ""
    crf: int = 20
    preset: str = "veryfast"
    model: str = ""
    """The diffusers model folder (--model, or the film's `model` resolved by the build)."""
    root: str = ""
    """The film's folder: relative paths in the film (reference images) start there."""


@dataclass
class Sources:
    """Phase one: its jobs, and which job speaks which line / draws which shot."""

    graph: GraphBuilder
    speech: dict[tuple[str, int, int], str] = field(default_factory=dict)
    stills: dict[tuple[str, int], str] = field(default_factory=dict)


def frame_size(film: ir.Film, config: BuildConfig) -> tuple[int, int]:
    if not config.preview or film.height <= PREVIEW_HEIGHT:
        return film.width, film.height
    width = round(film.width * PREVIEW_HEIGHT / film.height / 2) * 2
    return max(2, width), PREVIEW_HEIGHT


def preview_fps(film: ir.Film, config: BuildConfig) -> float:
    return min(film.fps, 12.0) if config.preview else film.fps


# ------------------------------------------------------------------ phase one


def plan_sources(film: ir.Film, config: BuildConfig) -> Sources:
    from importlib.metadata import version

    from filmlang.backends import procedural_spec as procedural
    from filmlang.backends import speech

    sources = Sources(graph=GraphBuilder())
    characters = {c.name: c for c in film.characters}
    width, height = frame_size(film, config)
    sw, sh = procedural.still_size(width, height)

    preferred = config.voice or film.backends.voice
    pillow = version("pillow")
    generated = (config.visual or film.backends.visual) == "diffusers"
    if generated:
        from pathlib import Path

        from filmlang.backends import diffusers_models, diffusers_plan

        folder = Path(config.model or film.model or "")
        diffusers_plan.plan_stills(sources.graph, film, diffusers_models.model_info(folder),
                                   (width, height), Path(config.root or "."), sources.stills)
    for scene in film.scenes:
        for shot in scene.shots:
            for index, line in enumerate(shot.lines):
                character = characters[line.speaker]
                request = speech.SpeechRequest(
                    text=line.text, voice=character.voice, parenthetical=line.parenthetical,
                    seed=character.seed)
                engine = speech.choose_engine(character.voice, preferred)
                key = sources.graph.add(Job(
                    kind="speech", backend=f"{engine.name}@{engine.version}",
                    params=speech.engine_params(engine, request),
                    label=f"{scene.name}/{shot.index + 1} {line.speaker}: {line.text[:40]}",
                    identity=f"speech:{scene.name}/{shot.index}/{index}",
                    origin=line.origin, payload=request))
                sources.speech[(scene.name, shot.index, index)] = key
            if generated:
                continue
            # Everything render_still reads, and the Pillow that draws it (fonts, resampling).
            params = {"width": sw, "height": sh, "pillow": pillow,
                      "spec": procedural.still_spec(film, scene, shot).key()}
            key = sources.graph.add(Job(
                kind="still", backend=f"procedural@{procedural.VERSION}", params=params,
                label=f"{scene.name}/{shot.index + 1} {shot.type}",
                identity=f"still:{scene.name}/{shot.index}", origin=shot.origin,
                payload=(film, scene, shot)))
            sources.stills[(scene.name, shot.index)] = key
    return sources


# ------------------------------------------------------------------ phase two


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


def _overlays(timing: ShotTiming, timeline: Timeline, burn: bool) -> dict[str, Any]:
    """Titles and burned subtitles of a shot, in frames relative to the shot's start."""
    fps = timeline.fps
    frames = timing.frames
    titles = []
    for title in timing.shot.titles:
        first = ir.to_frames(title.at, fps)
        last = frames if title.duration is None else min(
            frames, ir.to_frames(title.at + title.duration, fps))
        titles.append({"text": title.text, "first": first, "last": last})
    subtitles = []
    if burn:
        t0 = timeline.time(timing.start_frame)
        for lt in timing.lines:
            subtitles.append({"text": lt.line.text,
                              "first": ir.to_frames(lt.start - t0, fps),
                              "last": ir.to_frames(lt.end - t0, fps)})
    return {"titles": titles, "subtitles": subtitles}


def _mouths(film: ir.Film, timing: ShotTiming, timeline: Timeline,
            speech: dict[tuple[str, int, int], str]) -> list[dict[str, Any]]:
    """Lip sync: for each line a subject of the shot speaks, which subject (its index among
    the still's subjects), the line's frames relative to the shot's start, when its audio
    starts (seconds from the shot's start) and the speech job that holds the audio."""
    names = {c.name for c in film.characters}
    subjects = [n for n in timing.shot.subjects if n in names]
    fps = timeline.fps
    t0 = timeline.time(timing.start_frame)
    mouths = []
    for index, lt in enumerate(timing.lines):
        if lt.line.speaker not in subjects:
            continue
        mouths.append({"subject": subjects.index(lt.line.speaker),
                       "first": ir.to_frames(lt.start - t0, fps),
                       "last": min(timing.frames, ir.to_frames(lt.end - t0, fps)),
                       "at": lt.start - t0,
                       "speech": speech[(timing.scene.name, timing.shot.index, index)]})
    return mouths


def _picture(film: ir.Film, timing: ShotTiming, still: str, timeline: Timeline, burn: bool,
             speech: dict[tuple[str, int, int], str]) -> dict[str, Any]:
    return {"still": still, "camera": timing.shot.camera, "frames": timing.frames,
            "seed": timing.shot.seed, "fade_in": timing.fade_in, "fade_out": timing.fade_out,
            "mouths": _mouths(film, timing, timeline, speech),
            **_overlays(timing, timeline, burn)}


def _speech_inputs(*pictures: dict[str, Any]) -> tuple[str, ...]:
    """The speech jobs whose audio moves the pictures' mouths: inputs after the stills."""
    return tuple(dict.fromkeys(m["speech"] for p in pictures for m in p["mouths"]))


def _clip_inputs(*pictures: dict[str, Any]) -> tuple[str, ...]:
    """The generated clips that move the pictures: inputs after the speech."""
    return tuple(dict.fromkeys(p["clip"] for p in pictures if p.get("clip")))


def plan_assembly(film: ir.Film, sources: Sources, timeline: Timeline,
                  config: BuildConfig) -> JobGraph:
    from filmlang.backends import soundfont
    from filmlang.backends.procedural_spec import VERSION as PROCEDURAL_VERSION
    from filmlang.backends.synth import VERSION as SYNTH_VERSION

    graph = sources.graph
    width, height = frame_size(film, config)
    fps = timeline.fps
    burn = film.subtitles == "burn"
    video = {"width": width, "height": height, "fps": fps, "crf": config.crf,
             "preset": config.preset}
    link_backend = f"ffmpeg@{LINK_VERSION}"
    picture_backend = f"procedural@{PROCEDURAL_VERSION}"
    segments: list[str] = []
    shots = timeline.shots
    moved: dict[tuple[str, int], str] = {}
    if (config.visual or film.backends.visual) == "diffusers":
        from pathlib import Path

        from filmlang.backends.diffusers_clips import plan_clips

        moved = plan_clips(graph, film, sources.stills, list(shots), fps,
                           Path(config.root or "."))

    def picture_of(timing: ShotTiming, still: str) -> dict[str, Any]:
        """A shot's picture; a generated clip, when it has one, moves it."""
        picture = _picture(film, timing, still, timeline, burn, sources.speech)
        clip = moved.get((timing.scene.name, timing.shot.index))
        return {**picture, "clip": clip} if clip else picture

    for i, timing in enumerate(shots):
        shot = timing.shot
        still = sources.stills[(timing.scene.name, shot.index)]
        picture = picture_of(timing, still)
        first, last = timing.overlap_in, timing.frames - timing.overlap_out
        if last > first:
            segments.append(graph.add(Job(
                kind="segment", backend=f"{picture_backend}+{link_backend}",
                params={**video, "shot": picture, "range": [first, last]},
                inputs=(still, *_speech_inputs(picture), *_clip_inputs(picture)),
                label=f"{timing.scene.name}/{shot.index + 1} {shot.type}",
                identity=f"segment:{timing.scene.name}/{shot.index}", origin=shot.origin)))
        if timing.overlap_out and i + 1 < len(shots):
            nxt = shots[i + 1]
            transition = nxt.shot.transition_in
            assert transition is not None
            nxt_still = sources.stills[(nxt.scene.name, nxt.shot.index)]
            nxt_picture = picture_of(nxt, nxt_still)
            segments.append(graph.add(Job(
                kind="transition", backend=f"{picture_backend}+{link_backend}",
                params={**video, "kind": transition.kind, "frames": timing.overlap_out,
                        "a": picture, "b": nxt_picture},
                inputs=(still, nxt_still, *_speech_inputs(picture, nxt_picture),
                        *_clip_inputs(picture, nxt_picture)),
                label=f"{transition.kind} to {nxt.scene.name}/{nxt.shot.index + 1}",
                identity=f"transition:{nxt.scene.name}/{nxt.shot.index}",
                origin=transition.origin)))
    video_key = graph.add(Job(kind="video", backend=link_backend,
                              params={"segments": len(segments)}, inputs=tuple(segments),
                              label="join video", identity="video"))

    clips: list[dict[str, Any]] = []
    inputs: list[str] = []
    for timing in shots:
        for index, lt in enumerate(timing.lines):
            key = sources.speech[(timing.scene.name, timing.shot.index, index)]
            character = film.character(lt.line.speaker)
            clips.append({"input": key, "start": lt.start, "gain": character.voice.volume,
                          "kind": "dialogue"})
            inputs.append(key)
        t0 = timeline.time(timing.start_frame)
        for n, sound in enumerate(timing.shot.sounds):
            key = graph.add(Job(
                kind="sound", backend=f"synth@{SYNTH_VERSION}",
                params={"name": sound.name, "seed": derive_seed(timing.shot.seed, "sound", n)},
                label=f"sound {sound.name}", identity=f"sound:{timing.scene.name}/"
                f"{timing.shot.index}/{n}", origin=sound.origin))
            clips.append({"input": key, "start": t0 + sound.at, "gain": sound.volume,
                          "kind": "effect"})
            inputs.append(key)
    for kind in ("music", "ambience"):
        for cue, start, end in _runs(timeline, kind):
            length = max(0.1, end - start)
            seconds = _bed_seconds(length, config)
            backend, payload = f"synth@{SYNTH_VERSION}", None
            if isinstance(cue, ir.Music):
                params: dict[str, Any] = {"mood": cue.mood, "tempo": cue.tempo, "key": cue.key,
                                          "seconds": seconds,
                                          "seed": derive_seed(film.seed, "music", cue.mood)}
                # A SoundFont when there is one: its content hash is in the key.
                backend, extra, payload = soundfont.planned(film.backends.music, config.music,
                                                            SYNTH_VERSION)
                params.update(extra)
                gain = cue.volume
            else:
                assert isinstance(cue, ir.Ambience)
                params = {"name": cue.name, "seconds": seconds,
                          "seed": derive_seed(film.seed, "ambience", cue.name)}
                gain = cue.volume
            key = graph.add(Job(kind=kind, backend=backend, params=params,
                                label=f"{kind} {params.get('mood') or params.get('name')}",
                                identity=f"{kind}:{start:.3f}", origin=cue.origin,
                                payload=payload))
            clips.append({"input": key, "start": start, "gain": gain, "kind": kind,
                          **_bed_cut(kind, length, seconds)})
            inputs.append(key)
    mix_key = graph.add(Job(
        kind="mix", backend=f"mix@{LINK_VERSION}+{MIX_VERSION}",
        params={"clips": clips, "seconds": timeline.seconds, "loudness": film.loudness,
                # A preview mixes at half the rate (24 kHz); the film's keys stay as they were.
                **({"rate": PREVIEW_AUDIO_RATE} if config.preview else {})},
        inputs=tuple(dict.fromkeys(inputs)), label="mix audio", identity="mix"))
    cues = [{"start": c.start, "end": c.end, "text": c.text, "speaker": c.speaker}
            for c in subtitle_cues(timeline)]
    mux_key = graph.add(Job(
        kind="mux", backend=link_backend,
        params={"title": film.title, "subtitles": film.subtitles, "cues": cues,
                "chapters": [list(c) for c in chapters(timeline)],
                # Only a preview names its audio: the film's keys stay as they were.
                **({"audio": "preview"} if config.preview else {})},
        inputs=(video_key, mix_key), label="mux film", identity="mux"))
    return graph.graph({"film": mux_key, "video": video_key, "mix": mix_key})


PREVIEW_BED_STEP = 8.0
"""A preview renders music and ambience to a multiple of this many seconds and cuts them in
the mix: an edit that moves a scene's end by less than that reuses its music."""


def _bed_seconds(length: float, config: BuildConfig) -> float:
    if not config.preview:
        return length
    return float(math.ceil(length / PREVIEW_BED_STEP - 1e-9) * PREVIEW_BED_STEP)


def _bed_cut(kind: str, length: float, seconds: float) -> dict[str, float]:
    """Where the mix cuts a bed rendered longer than its run, and its fade out there."""
    if seconds == length:
        return {}
    return {"length": length, "fade_out": 1.5 if kind == "music" else 0.1}


def _runs(timeline: Timeline, kind: str) -> list[tuple[ir.Music | ir.Ambience, float, float]]:
    """Consecutive scenes with the same music (or ambience) play it as one cue."""
    runs: list[tuple[ir.Music | ir.Ambience, float, float]] = []
    current: ir.Music | ir.Ambience | None = None
    start = 0.0
    last_scene = None
    for timing in timeline.shots:
        if timing.scene is last_scene:
            continue
        last_scene = timing.scene
        cue = timing.scene.music if kind == "music" else timing.scene.ambience
        at = timeline.time(timing.start_frame)
        same = (current is not None and cue is not None
                and current.model_dump(exclude={"origin"}) == cue.model_dump(exclude={"origin"}))
        if same:
            continue
        if current is not None:
            runs.append((current, start, at))
        current, start = cue, at
    if current is not None:
        runs.append((current, start, timeline.seconds))
    return runs
