"""How each kind of job is done: a job and its output folder in, files in that folder out.

The runners are thin: the picture comes from `backends/procedural.py`, voices from
`backends/speech.py`, music and sound from `backends/synth.py`, encoding, mixing and
muxing from `link/`. Heavy imports happen here, inside the functions, never at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang.cache.store import Store
from filmlang.exec.scheduler import JobFailed, Runner
from filmlang.plan.jobs import Job

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Frame = npt.NDArray[np.uint8]

TITLE_FADE = 0.3
AUDIO_FILES = ("speech.wav", "audio.wav", "mix.wav")


def _meta(out: Path, **values: Any) -> None:
    (out / "meta.json").write_text(json.dumps(values))


def run_speech(job: Job, out: Path, store: Store) -> None:
    from filmlang.backends import speech

    engine = speech.ENGINES[job.backend_name]
    try:
        (seconds,) = engine.synthesize([job.payload], [out / "speech.wav"])
    except speech.SpeechUnavailable as exc:
        raise JobFailed(job, str(exc)) from None
    _meta(out, duration=seconds)


def run_still(job: Job, out: Path, store: Store) -> None:
    from filmlang.backends import procedural

    film, scene, shot = job.payload
    image, mouths = procedural.render_still_mouths(film, scene, shot, job.params["width"],
                                                   job.params["height"])
    image.save(out / "still.png", compress_level=1)
    (out / "still.json").write_text(json.dumps(
        {"mouths": [None if m is None else m.to_json() for m in mouths],
         "snow": procedural.snow_level(procedural.still_spec(film, scene, shot))}))


def _still(store: Store, key: str) -> Any:
    from PIL import Image

    with Image.open(store.path(key) / "still.png") as image:
        return image.convert("RGB")


def _mouths(store: Store, picture: dict[str, Any], fps: float) -> list[Any]:
    """Lip sync of a shot: (mouth, openness per frame of the shot) for each line a subject
    speaks; the openness is 0 outside the line."""
    from filmlang import audio
    from filmlang.backends.procedural_mouths import Mouth, openness

    if not picture.get("mouths"):
        return []
    meta = store.path(picture["still"]) / "still.json"
    anchors = json.loads(meta.read_text())["mouths"] if meta.is_file() else []
    out = []
    for m in picture["mouths"]:
        mouth = Mouth.from_json(anchors[m["subject"]]) if m["subject"] < len(anchors) else None
        if mouth is None:
            continue
        samples, rate = audio.read_wav(audio_path(store, m["speech"]))
        values = openness(samples, rate, fps, m["at"], m["first"], m["last"])
        track = [0.0] * picture["frames"]
        for k, value in enumerate(values):
            if 0 <= m["first"] + k < len(track):
                track[m["first"] + k] = value
        out.append((mouth, track))
    return out


def _snow(store: Store, picture: dict[str, Any]) -> float:
    """How bright the shot's falling snow is (0: none), as its still job found."""
    meta = store.path(picture["still"]) / "still.json"
    value = json.loads(meta.read_text()).get("snow", 0.0) if meta.is_file() else 0.0
    return float(value)


def shot_frames(picture: dict[str, Any], still: Any, width: int, height: int, fps: float,
                first: int, last: int, store: Store | None = None) -> Iterator[Frame]:
    """Frames [first, last) of a shot: camera move, lip sync, fades, titles, subtitles.

    Lip sync needs the store (the still's mouths and the lines' speech); without it the
    mouths stay closed.
    """
    import numpy as np

    from filmlang.backends import procedural
    from filmlang.backends.procedural_mouths import draw_mouths

    total = picture["frames"]
    fade_in, fade_out = picture["fade_in"], picture["fade_out"]
    ramp = max(1, round(TITLE_FADE * fps))
    if picture.get("clip") and store is not None:  # a generated clip moves the shot
        from filmlang.backends.diffusers_clips import clip_frames

        frames = clip_frames(store.path(picture["clip"]), total, width, height, first, last)
    else:
        frames = procedural.render_frames(
            still, picture["camera"], total, fps, width, height, picture["seed"],
            start=first, snow=_snow(store, picture) if store is not None else 0.0)
    mouths = _mouths(store, picture, fps) if store is not None else []
    boxes = procedural.camera_boxes(still.size, picture["camera"], total, fps, width, height,
                                    picture["seed"], start=first)
    for index, frame, box in zip(range(first, last), frames, boxes, strict=False):
        if mouths:
            frame = draw_mouths(frame, [(mouth, track[index]) for mouth, track in mouths],
                                box)
        for title in picture["titles"]:
            if title["first"] <= index < title["last"]:
                alpha = min(1.0, (index - title["first"] + 1) / ramp,
                            (title["last"] - index) / ramp)
                frame = procedural.draw_text(frame, title["text"], where="title", alpha=alpha)
        for cue in picture["subtitles"]:
            if cue["first"] <= index < cue["last"]:
                frame = procedural.draw_text(frame, cue["text"], where="subtitle", alpha=1.0)
        gain = 1.0
        if fade_in and index < fade_in:
            gain = min(gain, (index + 0.5) / fade_in)
        if fade_out and index >= total - fade_out:
            gain = min(gain, (total - index - 0.5) / fade_out)
        if gain < 1.0:
            frame = (frame.astype(np.float32) * gain + 0.5).astype(np.uint8)
        yield frame


def _encoder(job: Job, out: Path) -> Any:
    from filmlang.link.segments import SegmentEncoder

    p = job.params
    return SegmentEncoder(out / "segment.mp4", p["width"], p["height"], p["fps"],
                          preset=p["preset"], crf=p["crf"])


def _encode(job: Job, out: Path, frames: Iterator[Frame]) -> None:
    encoder = _encoder(job, out)
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
    still = _still(store, job.inputs[0])
    _encode(job, out, shot_frames(p["shot"], still, p["width"], p["height"], p["fps"],
                                  first, last, store))


def run_transition(job: Job, out: Path, store: Store) -> None:
    from filmlang.backends import procedural

    p = job.params
    n = p["frames"]
    a, b = p["a"], p["b"]
    tail = shot_frames(a, _still(store, job.inputs[0]), p["width"], p["height"], p["fps"],
                       a["frames"] - n, a["frames"], store)
    head = shot_frames(b, _still(store, job.inputs[1]), p["width"], p["height"], p["fps"], 0, n,
                       store)

    def blended() -> Iterator[Frame]:
        for i, (x, y) in enumerate(zip(tail, head, strict=True)):
            yield procedural.blend(x, y, (i + 0.5) / n, p["kind"])

    _encode(job, out, blended())


def run_video(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.segments import concat_segments

    concat_segments([store.path(key) / "segment.mp4" for key in job.inputs], out / "video.mp4")


def _synth_audio(job: Job, out: Path, store: Store) -> None:
    from filmlang import audio
    from filmlang.backends import synth

    p = job.params
    if job.kind == "music":
        samples = synth.render_music(p["mood"], p["tempo"], p["key"], p["seconds"], p["seed"])
    elif job.kind == "ambience":
        samples = synth.render_ambience(p["name"], p["seconds"], p["seed"])
    else:
        samples = synth.render_sound(p["name"], p["seed"])
    audio.write_wav(out / "audio.wav", samples)


def audio_path(store: Store, key: str) -> Path:
    folder = store.path(key)
    for name in AUDIO_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no audio in cache object {key}")


def run_mix(job: Job, out: Path, store: Store) -> None:
    import numpy as np

    from filmlang import audio
    from filmlang.link.audio_mix import DUAL_MONO_DB, PREVIEW_RATE, Clip, half_rate, mix
    from filmlang.link.loudness import normalize
    from filmlang.link.mux import encode_audio

    p = job.params
    rate = int(p.get("rate", audio.SAMPLE_RATE))     # a preview mixes at PREVIEW_RATE
    loaded: dict[str, Any] = {}
    clips = []
    for clip in p["clips"]:
        key = clip["input"]
        if key not in loaded:
            # Cache objects never change: a long-lived process (watch) keeps the last mix's
            # sounds decoded, so a rebuild reads only the new ones.
            loaded[key] = _LOADED.get((key, rate))
            if loaded[key] is None:
                samples, source_rate = audio.read_wav(audio_path(store, key))
                samples = audio.resample(samples, source_rate)
                loaded[key] = half_rate(samples) if rate == PREVIEW_RATE else samples
        samples = loaded[key]
        if "length" in clip:        # a preview's bed, rendered long: cut, with a fade out
            samples = samples[: round(clip["length"] * rate)]
        clips.append(Clip(samples=samples, start=clip["start"], gain=clip["gain"],
                          kind=clip["kind"], rate=rate, fade_out=clip.get("fade_out", 0.0)))
    _LOADED.clear()
    _LOADED.update(((key, rate), samples) for key, samples in loaded.items())
    mixed = mix(clips, p["seconds"], rate=rate)
    # -1.5 dBTP in the mix keeps the film under -1 dBTP after AAC, which overshoots a little.
    if rate != PREVIEW_RATE:
        audio.write_wav(out / "mix.wav", normalize(mixed, p["loudness"], max_true_peak=-1.5),
                        rate)
        return
    # A preview is dual mono: levelled as one channel (half the work), which on both
    # speakers is 3 dB louder than it measures alone; 0.5 LU from the target will do.
    mono = normalize(mixed.mean(axis=1), p["loudness"] - DUAL_MONO_DB, max_true_peak=-1.5,
                     rate=rate, tolerance=0.5)
    audio.write_wav(out / "mix.wav", np.repeat(mono[:, None], 2, axis=1), rate)
    encode_audio(out / "mix.wav", out / "mix.m4a")     # the mux copies it


_LOADED: dict[tuple[str, int], Any] = {}
"""The sounds of the last mix, decoded, by (cache key, rate)."""


def run_mux(job: Job, out: Path, store: Store) -> None:
    from filmlang.link.mux import FILM_AUDIO, PREVIEW_AUDIO, mux
    from filmlang.link.subtitles import Cue, write_srt

    p = job.params
    cues = [Cue(start=c["start"], end=c["end"], text=c["text"], speaker=c["speaker"])
            for c in p["cues"]]
    srt = out / "film.srt"
    write_srt(cues, srt)
    bitrate, rate = PREVIEW_AUDIO if p.get("audio") == "preview" else FILM_AUDIO
    mixed = store.path(job.inputs[1]) / "mix.wav"
    if p.get("audio") == "preview" and mixed.with_suffix(".m4a").is_file():
        mixed = mixed.with_suffix(".m4a")          # encoded by the mix job: copied
    mux(store.path(job.inputs[0]) / "video.mp4", mixed,
        out / "film.mp4", subtitles=srt if p["subtitles"] == "track" and cues else None,
        chapters=[tuple(c) for c in p["chapters"]], title=p["title"],
        audio_bitrate=bitrate, audio_rate=rate)


RUNNERS: dict[str, Runner] = {
    "speech": run_speech,
    "still": run_still,
    "segment": run_segment,
    "transition": run_transition,
    "video": run_video,
    "music": _synth_audio,
    "ambience": _synth_audio,
    "sound": _synth_audio,
    "mix": run_mix,
    "mux": run_mux,
}
