"""The music backend: score cues, ambience beds and sound effects, synthesized.

Music plays on a General MIDI SoundFont when one is found (`soundfont`: the file and the
band, `sf2`: the reader, `sampler`: the notes) and on the built-in synthesizer otherwise
(`synth`, with `score`: moods and composition, `band`: the instruments, `kit`: the drums,
`catalogue`: the names, `dsp`: building blocks); `ambience` and `sounds` synthesize beds
and effects. Planned in phase two, once
the timeline is solved: a cue per run of scenes with the same music (or ambience), an
effect per `sound` of a shot.

A film's beds are planned in bounded pieces, each relative to its cue's own start, so
that an edit costs what it changed (issue 13):

- **Music by window**: a `music` job per `WINDOW_SECONDS` of the cue, from its start
  (`band.render_window`: the score played over the window, with the reverb's memory and
  the notes that started before it rendered as a pre-roll). Laid end to end the windows
  are the cue rendered whole, to float rounding. A window's key holds its place in the
  cue (samples from the cue's start, not the film's) and the cue's shape (its intro);
  only the windows that reach the cue's last bar or fade-out (`band.shape`) hold the
  cue's length too. So a cue that moves keeps all its windows, and a cue made longer
  (a scene in its run lengthened) renders again only its ending: the score keeps the
  mood's tempo (it is not stretched to end on a phrase) and every bar but the last is
  the same for any length.
- **Ambience as a loop**: an `ambience` job per name and loop length (`AMBIENCE_LOOPS`:
  the shortest that covers the cue, else the longest), the seamless loop laid end to end
  in the mix and cut at the cue's end with a short fade (`AMBIENCE_FADE`). A cue that
  moves, or grows within its loop, renders nothing again; scenes with the same ambience
  share the job.
- A preview and a writer's own sound file keep a job per whole cue (a preview's
  rendered to a step of `PREVIEW_BED_STEP` and cut in the mix): the preview's half rate
  is filtered across a file's ends, so its beds are not cut into files.

Pieces (`link/pieces.py`) read each window or loop as a bed clip, over their own window
only; nothing there changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.backends.protocol import AudioCue, Base, PlanContext
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic, error
from filmlang.ir import derive_seed
from filmlang.jobs import Job, Runner
from filmlang.provenance import file_source, scene_sources, shot_name

if TYPE_CHECKING:
    from filmlang.cache.store import Store
    from filmlang.timeline import Timeline

VERSION = "1"
PREVIEW_BED_STEP = 8.0
"""A preview renders music and ambience to a multiple of this many seconds and cuts them in
the mix: an edit that moves a scene's end by less than that reuses its music."""
WINDOW_SECONDS = 16.0
"""A film's music is rendered a window of this many seconds at a time, from its cue's start
(a whole number of samples, a multiple of the reverb's 4-sample blocks)."""
AMBIENCE_LOOPS = (30.0, 60.0)
"""The lengths of loop a film's ambience is rendered as: whole seconds, so that the loops
laid end to end fall on whole samples."""
AMBIENCE_FADE = 0.1
"""Seconds an ambience fades out over where its cue ends (its loop is cut there)."""


def run_audio(job: Job, out: Path, store: Store) -> None:
    """Music (on the job's SoundFont when it names one), ambience or an effect."""
    from filmlang import audio
    from filmlang.backends.music import soundfont, synth

    p = job.params
    if "file" in p:  # the writer's own sound file
        samples = _from_file(job)
    elif job.kind == "music":
        font: str | Path | None = None
        if "soundfont" in p:
            font = job.payload if isinstance(job.payload, str) else soundfont.find()
        if "window" in p:
            samples = synth.render_music_window(
                p["mood"], p["tempo"], p["key"], p["seed"], *p["window"],
                seconds=p.get("ends"), intro=p["intro"], soundfont=font)
        else:
            samples = synth.render_music(p["mood"], p["tempo"], p["key"], p["seconds"],
                                         p["seed"], soundfont=font)
    elif job.kind == "ambience":
        samples = synth.render_ambience(p["name"], p["seconds"], p["seed"])
    else:
        samples = synth.render_sound(p["name"], p["seed"])
    audio.write_wav(out / "audio.wav", samples)


def _from_file(job: Job) -> Any:
    """A sound file decoded (an effect as it is, a bed looped or cut to its length)."""
    import numpy as np

    from filmlang import audio
    from filmlang.jobs import JobFailed

    try:
        samples = audio.decode_file(Path(job.payload))
    except (ValueError, OSError) as exc:
        raise JobFailed(job, f'cannot decode the {job.kind} file "{job.params["file"]}": '
                             f"{exc}") from None
    if job.kind == "sound":
        return samples
    n = max(1, round(float(job.params["seconds"]) * audio.SAMPLE_RATE))
    looped = np.resize(samples, (n, 2)) if len(samples) < n else samples[:n]
    tail = min(len(looped), audio.SAMPLE_RATE // 10)  # no click where it is cut
    looped = np.array(looped, dtype=np.float32)
    looped[len(looped) - tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)[:, None]
    return looped


def _file_params(ctx: PlanContext, file: str, sources: dict[str, Any]
                 ) -> tuple[str, dict[str, Any]]:
    """A job on the writer's own sound file: its path (the payload) and its params, which
    hold the file's content hash (a changed file is a new sound, a touched one is not)."""
    from filmlang.jobs import file_digest

    path = Path(file) if Path(file).is_absolute() else ctx.root / file
    try:
        digest = file_digest(path)
    except OSError:
        digest = "missing"  # it went between the check and the plan: the job says so
    sources[file_source(path, ctx.root)] = digest
    return str(path), {"file": file, "sha256": digest, "engine": "file"}


def _bed_seconds(length: float, config: BuildConfig) -> float:
    if not config.preview:
        return length
    return float(math.ceil(length / PREVIEW_BED_STEP - 1e-9) * PREVIEW_BED_STEP)


def _scene_cue(scene: ir.Scene, kind: str) -> ir.Music | ir.Ambience | None:
    return scene.music if kind == "music" else scene.ambience


def _same(a: ir.Music | ir.Ambience | None, b: ir.Music | ir.Ambience | None) -> bool:
    return a is not None and b is not None and \
        a.model_dump(exclude={"origin"}) == b.model_dump(exclude={"origin"})


def runs(timeline: Timeline, kind: str
         ) -> list[tuple[ir.Music | ir.Ambience, float, float, list[ir.Scene]]]:
    """Consecutive scenes with the same music (or ambience) play it as one cue. A shot's
    own `music` changes it from that shot to the end of its scene (or the next change)."""
    out: list[tuple[ir.Music | ir.Ambience, float, float, list[ir.Scene]]] = []
    current: ir.Music | ir.Ambience | None = None
    start, scenes, last = 0.0, [], None
    playing: ir.Music | ir.Ambience | None = None
    for timing in timeline.shots:
        if timing.scene is not last:
            playing = timing.scene.music if kind == "music" else timing.scene.ambience
        if kind == "music" and timing.shot.music is not None:
            playing = timing.shot.music
        elif timing.scene is last:
            continue
        new_scene = timing.scene is not last
        last = timing.scene
        cue = playing
        at = timeline.time(timing.start_frame)
        if _same(current, cue):
            if new_scene:
                scenes.append(timing.scene)
            continue
        if current is not None:
            out.append((current, start, at, scenes))
        current, start, scenes = cue, at, [timing.scene]
    if current is not None:
        out.append((current, start, timeline.seconds, scenes))
    return out


class Music(Base):
    name = "music"
    version = VERSION
    role = "music"
    engines = ("synth", "soundfont")
    runners: Mapping[str, Runner] = {"music": run_audio, "ambience": run_audio,
                                     "sound": run_audio}

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
        from filmlang.backends.music import soundfont

        needs = any(scene.music is not None for scene in film.scenes)
        found = soundfont.selection_problem(film.backends.music, config.music, needs)
        if found is None:
            return []
        return [error("E0603", found[0], film.origin, label="has music", help=found[1])]

    def plan_timed(self, ctx: PlanContext, timeline: Timeline) -> None:
        self._effects(ctx, timeline)
        for kind in ("music", "ambience"):
            for cue, start, end, scenes in runs(timeline, kind):
                self._bed(ctx, kind, cue, start, end, scenes)

    def _effects(self, ctx: PlanContext, timeline: Timeline) -> None:
        from filmlang.backends.music.catalogue import SOUND_SECONDS
        from filmlang.backends.music.synth import VERSION as SYNTH

        for timing in timeline.shots:
            t0 = timeline.time(timing.start_frame)
            where = (timing.scene.name, timing.shot.index)
            for n, sound in enumerate(timing.shot.sounds):
                params: dict[str, Any] = {"name": sound.name, "engine": f"synth@{SYNTH}",
                                          "seed": derive_seed(timing.shot.seed, "sound", n)}
                payload, sources = None, {
                    f"{shot_name(timing.scene.name, timing.shot.index)} sound {n + 1}":
                    sound.name}
                if sound.file is not None:
                    payload, params = _file_params(ctx, sound.file, sources)
                key = ctx.graph.add(Job(
                    kind="sound", backend=self.id, params=params, payload=payload,
                    label=f"sound {sound.name}",
                    identity=f"sound:{timing.scene.name}/{timing.shot.index}/{n}",
                    origin=sound.origin, sources=sources))
                ctx.audio.append(AudioCue(input=key, start=t0 + sound.at, gain=sound.volume,
                                          kind="effect", shot=where,
                                          # a file's length is known when it is read
                                          seconds=SOUND_SECONDS[sound.name]
                                          if sound.file is None else None))

    def _bed(self, ctx: PlanContext, kind: str, cue: ir.Music | ir.Ambience, start: float,
             end: float, scenes: list[ir.Scene]) -> None:
        length = max(0.1, end - start)
        sources: dict[str, Any] = {f"{kind} from {scenes[0].name} length": round(length, 3)}
        for scene in scenes:
            sources.update(scene_sources(scene, kind))
        name = f"{kind}:{scenes[0].name}" + (
            f"@{start:g}" if cue is not _scene_cue(scenes[0], kind) else "")
        bed = _Bed(ctx, self.id, kind, cue, start, length, name, sources)
        if ctx.config.preview or (isinstance(cue, ir.Ambience) and cue.file is not None):
            bed.whole()
        elif isinstance(cue, ir.Music):
            bed.windows()
        else:
            bed.loop()


class _Bed:
    """One cue's jobs and the mix's cues: whole (a preview's, a writer's file), by window
    (music) or as a loop laid end to end (ambience)."""

    def __init__(self, ctx: PlanContext, backend: str, kind: str,
                 cue: ir.Music | ir.Ambience, start: float, length: float, name: str,
                 sources: dict[str, Any]) -> None:
        self.ctx, self.backend, self.kind, self.cue = ctx, backend, kind, cue
        self.start, self.length, self.name, self.sources = start, length, name, sources

    def _job(self, params: dict[str, Any], identity: str, payload: Any = None) -> str:
        return self.ctx.graph.add(Job(
            kind=self.kind, backend=self.backend, params=params,
            label=f"{self.kind} {params.get('mood') or params.get('name')}",
            identity=identity, origin=self.cue.origin, payload=payload,
            sources=self.sources))

    def _music(self) -> tuple[dict[str, Any], Any]:
        from filmlang.backends.music import soundfont
        from filmlang.backends.music.synth import VERSION as SYNTH

        assert isinstance(self.cue, ir.Music)
        cue, film = self.cue, self.ctx.film
        params: dict[str, Any] = {"mood": cue.mood, "tempo": cue.tempo, "key": cue.key,
                                  "engine": f"synth@{SYNTH}",
                                  "seed": derive_seed(film.seed, "music", cue.mood)}
        payload: Any = None
        font = soundfont.planned(film.backends.music, self.ctx.config.music)
        if font is not None:
            path, digest = font
            params.update(engine=f"soundfont@{soundfont.VERSION}", soundfont=digest)
            payload = str(path)
            self.sources[file_source(path, self.ctx.root)] = digest
        return params, payload

    def whole(self) -> None:
        """The cue as one job (a preview's rendered to a step of `PREVIEW_BED_STEP` and cut
        in the mix, so that a small edit keeps it)."""
        from filmlang.backends.music.synth import VERSION as SYNTH

        cue, ctx, kind = self.cue, self.ctx, self.kind
        seconds = _bed_seconds(self.length, ctx.config)
        payload: Any = None
        if isinstance(cue, ir.Music):
            params, payload = self._music()
        elif cue.file is not None:
            payload, params = _file_params(ctx, cue.file, self.sources)
        else:
            params = {"name": cue.name, "engine": f"synth@{SYNTH}",
                      "seed": derive_seed(ctx.film.seed, "ambience", cue.name)}
        params["seconds"] = seconds
        key = self._job(params, self.name, payload)
        cut = seconds != self.length    # rendered long: cut, with a fade out
        ctx.audio.append(AudioCue(
            input=key, start=self.start, gain=cue.volume, kind=kind,
            length=self.length if cut else None, seconds=self.length,
            fade_out=(1.5 if kind == "music" else 0.1) if cut else None))

    def windows(self) -> None:
        """The cue a `WINDOW_SECONDS` window at a time from its own start, each keyed by
        its place in the cue (not in the film) and, when it reaches the cue's last bar or
        fade, by the cue's length: a cue that moves keeps every window, a longer one
        renders its ending again."""
        from filmlang.audio import SAMPLE_RATE
        from filmlang.backends.music.synth import music_shape

        assert isinstance(self.cue, ir.Music)
        base, payload = self._music()
        n, step = round(self.length * SAMPLE_RATE), round(WINDOW_SECONDS * SAMPLE_RATE)
        intro, ending = music_shape(self.cue.mood, self.cue.tempo, self.length)
        for index, lo in enumerate(range(0, n, step)):
            hi = min(n, lo + step)
            params = {**base, "window": [lo, hi], "seconds": (hi - lo) / SAMPLE_RATE,
                      "intro": intro}
            if hi + SAMPLE_RATE > ending * SAMPLE_RATE:   # its ending's within reach
                params["ends"] = self.length
            key = self._job(params, f"{self.name}/{index}", payload)
            self.ctx.audio.append(AudioCue(
                input=key, start=self.start + lo / SAMPLE_RATE, gain=self.cue.volume,
                kind=self.kind, seconds=(hi - lo) / SAMPLE_RATE))

    def loop(self) -> None:
        """A seamless loop of the bed (`AMBIENCE_LOOPS`: the shortest that covers the cue,
        else the longest, laid end to end), keyed by its name and loop length only: a cue
        that moves or grows within its loop's length renders nothing again. The cue is cut
        at its end with a short fade."""
        from filmlang.backends.music.synth import VERSION as SYNTH

        assert isinstance(self.cue, ir.Ambience)
        loop = next((s for s in AMBIENCE_LOOPS if s >= self.length - 1e-9), AMBIENCE_LOOPS[-1])
        key = self._job({"name": self.cue.name, "seconds": loop, "engine": f"synth@{SYNTH}",
                         "seed": derive_seed(self.ctx.film.seed, "ambience", self.cue.name)},
                        f"{self.kind}:{self.cue.name}/{loop:g}")
        count = math.ceil(self.length / loop - 1e-9)
        for index in range(count):
            part = min(loop, self.length - index * loop)
            last = index == count - 1
            self.ctx.audio.append(AudioCue(
                input=key, start=self.start + index * loop, gain=self.cue.volume,
                kind=self.kind, seconds=part, length=part if last else None,
                fade_out=AMBIENCE_FADE if last else None))


BACKEND = Music()
