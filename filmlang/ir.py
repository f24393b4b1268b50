"""The checked film: what the planner and the renderers need, none of the syntax.

The checker gives an `ir.Film`; everything after it takes one. Durations are seconds and
whole frames, characters are resolved, prompts are rendered, seeds are derived. Every
node keeps `origin`, the span of the source that made it, so that a failure anywhere later
is reported at the writer's line.
"""

from __future__ import annotations

import hashlib
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from filmlang.source import Span

PALETTE = (
    "#e6a23c", "#4fa3e0", "#d9534f", "#5cb85c", "#a27ddc", "#e07bb4",
    "#3fc1c0", "#c9a227", "#7f8fa6", "#f08a5d", "#6c9a3f", "#b56576",
)


def derive_seed(*parts: object) -> int:
    """A stable 32-bit seed from its parts (film seed, scene name, shot index, ...)."""
    text = "\x1f".join(str(p) for p in ("filmlang-seed-v1", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


TimeOfDay = Literal["dawn", "day", "dusk", "night"]
CameraMove = Literal[
    "static", "push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down", "handheld"
]
Framing = Literal["wide", "medium", "close", "extreme_close"]
Motion = Literal["camera", "generative"]
TransitionKind = Literal["cut", "fade", "dissolve", "wipe"]
Subtitles = Literal["burn", "track", "none"]


def to_frames(seconds: float, fps: float) -> int:
    """Seconds to whole frames, halves rounding up (not to even): 0.5s at 25 fps is 13."""
    return math.floor(seconds * fps + 0.5 + 1e-9)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Voice(Model):
    name: str = ""
    """A language ("en", "en-GB") or an engine's voice name; "" the voice's own."""
    pitch: float = 50.0
    rate: float | None = None
    variant: str | None = None
    volume: float = 1.0
    gender: Literal["female", "male", "neutral"] | None = None
    """None: the voice's own (the look's, when the checker could tell; filmlang.voices)."""
    age: Literal["child", "young", "adult", "old"] | None = None
    model: str | None = None
    """A voice model of one's own: "piper:PATH" (a .onnx beside its .onnx.json) or
    "coqui:PATH" (a Coqui model folder), PATH relative to the film's folder (absolute when
    outside it); None for the engines' own voices."""
    speaker: str | None = None
    """A speaker of a multi-speaker model, by name or number."""


class Character(Model):
    name: str
    look: str
    voice: Voice
    reference: str | None = None
    color: str
    seed: int
    origin: Span


class Prop(Model):
    """A declared prop: `prop LANTERN { look "brass storm lantern" }`."""

    name: str
    look: str = ""
    kind: str = ""
    """The drawn prop it looks like (lantern, door, cup ...), from its name and look."""
    origin: Span


class Beat(Model):
    """One thing a shot's action says someone does: a verb of the staging vocabulary."""

    verb: str
    actor: str = ""
    """The character who does it; empty: every subject of the shot."""
    target: str = ""
    """The character it is done to or toward (look at, walk to, give, hug), if any."""
    prop: str = ""
    """The prop it is done with (a drawn kind, or a declared prop's name), if any."""
    start: float = 0.0
    """When it starts and ends, as fractions of the shot."""
    end: float = 1.0


class ShotType(Model):
    name: str
    prompt: str
    duration: float | None = None
    camera: CameraMove = "static"
    framing: Framing = "medium"
    origin: Span


class Title(Model):
    text: str
    at: float = 0.0
    duration: float | None = None
    origin: Span


class Sound(Model):
    name: str
    at: float = 0.0
    volume: float = 1.0
    file: str | None = None
    """The writer's own audio file, relative to the film's folder, when `name` is a path."""
    origin: Span


class Line(Model):
    speaker: str
    parenthetical: str | None = None
    text: str
    gap_before: float
    """Silence before the line starts: the lead-in for a shot's first line, else the gap."""
    placement: Literal["on", "voice_over", "off_screen"] = "on"
    """(V.O.) or (O.S.) in the parenthetical (which then no longer holds it): the voice is
    not in the picture, so no lips move; the mix treats it (filmlang.delivery)."""
    origin: Span


class Picture(Model):
    """A shot's picture from a file (`picture "shots/12.mp4"`), instead of a backend's."""

    path: str
    """Relative to the film's folder (absolute when given from Python or outside it)."""
    kind: Literal["video", "image"]
    start: float = 0.0
    """`from=`: where a video's part starts, in seconds."""
    end: float | None = None
    """`to=`: where it ends (None: the video's end)."""
    fit: Literal["hold", "loop", "speed"] = "hold"
    origin: Span


class Transition(Model):
    kind: TransitionKind
    duration: float = 0.0
    frames: int = 0
    origin: Span


class Music(Model):
    mood: str
    tempo: float | None = None
    key: str | None = None
    volume: float = 1.0
    origin: Span


class Shot(Model):
    scene: str
    index: int
    type: str
    subjects: tuple[str, ...] = ()
    duration: float | None = None
    """Fixed length in seconds, when the shot sets one; else the timeline solves it."""
    frames: int | None = None
    min_duration: float
    """The shot type's length: the least a shot without a fixed duration lasts."""
    tail: float
    """Silence after the last line before the shot ends (when its length is not fixed)."""
    camera: CameraMove
    framing: Framing
    action: str = ""
    beats: tuple[Beat, ...] = ()
    """The action's and the parentheticals' staging, in order."""
    props: tuple[str, ...] = ()
    """The props the shot shows: drawn kinds, or declared props' names."""
    prompt: str
    seed: int
    motion: Motion
    titles: tuple[Title, ...] = ()
    sounds: tuple[Sound, ...] = ()
    music: Music | None = None
    """Music that starts at this shot, in place of the scene's, to its end (or a change)."""
    lines: tuple[Line, ...] = ()
    transition_in: Transition | None = None
    """How this shot follows the previous shot of the film: cut, fade (out to black over
    half its duration, then in), dissolve or wipe. None for the film's first shot."""
    fade_in: Transition | None = None
    """A fade in from black at the start of this shot (a `fade` before a scene's first
    shot)."""
    fade_out: Transition | None = None
    """A fade out to black at the end of this shot (a `fade` after a scene's last shot)."""
    picture: Picture | None = None
    """The shot's picture from a file, when it has one (no backend draws it then)."""
    origin: Span


class Ambience(Model):
    name: str
    volume: float = 1.0
    file: str | None = None
    """The writer's own audio file, relative to the film's folder, when `name` is a path."""
    origin: Span


class Scene(Model):
    name: str
    heading: str | None = None
    interior: bool | None = None
    location: str = ""
    time: TimeOfDay
    setting: str
    music: Music | None = None
    ambience: Ambience | None = None
    style: str = ""
    place: str = ""
    """The kind of place the heading and setting name (kitchen, harbour ...), or empty."""
    shots: tuple[Shot, ...]
    origin: Span


class Backends(Model):
    visual: str = "procedural"
    voice: str = ""
    """Empty: the best voice available offline, chosen at build time."""
    music: str = ""
    """Empty: the best music available, a General MIDI SoundFont when one is found, else
    the built-in synthesizer; 'synth' or 'soundfont' when the film names one."""


class Film(Model):
    title: str
    width: int = 1280
    height: int = 720
    fps: float = 24.0
    seed: int = 0
    style: str = ""
    negative: str = ""
    loudness: float = -16.0
    subtitles: Subtitles = "track"
    backends: Backends = Backends()
    model: str | None = None
    clip_model: str | None = None
    motion: Motion = "camera"
    characters: tuple[Character, ...] = ()
    props: tuple[Prop, ...] = ()
    shot_types: tuple[ShotType, ...] = ()
    scenes: tuple[Scene, ...] = ()
    sources: tuple[str, ...] = ()
    origin: Span

    def character(self, name: str) -> Character:
        for character in self.characters:
            if character.name == name:
                return character
        raise KeyError(name)

    @property
    def shots(self) -> tuple[Shot, ...]:
        return tuple(shot for scene in self.scenes for shot in scene.shots)
