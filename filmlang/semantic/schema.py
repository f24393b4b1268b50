"""The schema of spec section 4, as tables: which statement may stand where, with what.

The checker dispatches through these tables; nothing else in filmlang lists properties.
The language server's completion (a later issue) reads them too. `Param.kind` names a
coercion in `filmlang/semantic/values.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CAMERA_MOVES = (
    "static", "push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down", "handheld",
)
FRAMINGS = ("wide", "medium", "close", "extreme_close")
TIMES_OF_DAY = ("dawn", "day", "dusk", "night")
MOTIONS = ("camera", "generative")
SUBTITLES = ("burn", "track", "none")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe")
AMBIENCES = ("rain", "wind", "sea", "city", "forest", "room", "night", "storm")
SOUNDS = ("thunder", "door", "footsteps", "knock", "bell", "glass", "splash")
VISUAL_BACKENDS = ("procedural", "diffusers")
VOICE_BACKENDS = ("piper", "espeak", "coqui")
MUSIC_BACKENDS = ("synth", "soundfont")
GENDERS = ("female", "male", "neutral")
AGES = ("child", "young", "adult", "old")
FITS = ("hold", "loop", "speed")
"""How a video picture fills a shot longer than it: hold its last frame, loop it, or play
it faster or slower to last exactly the shot."""


@dataclass(frozen=True)
class Param:
    """One value a statement takes, positional or `key=`."""

    name: str
    kind: str
    """string, number, int, duration, size, enum, color, key, path, name_or_none,
    string_or_none."""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    required: bool = True
    describe: str = ""
    """How to write it, for messages: 'a duration like 4s'."""
    files: bool = False
    """A string with `choices` may instead name a file ("sounds/gull.wav")."""


@dataclass(frozen=True)
class Prop:
    """A statement that a context allows."""

    name: str
    args: tuple[Param, ...] = ()
    kwargs: tuple[Param, ...] = ()
    repeatable: bool = False
    doc: str = ""
    block: str | None = None
    """For block statements: the context of the body."""

    def kwarg(self, name: str) -> Param | None:
        for param in self.kwargs:
            if param.name == name:
                return param
        return None


def _p(name: str, kind: str, **options: object) -> Param:
    return Param(name, kind, **options)  # type: ignore[arg-type]


MAX_SECONDS = 3600.0
"""The longest duration a film may write (a shot, a transition, a pause, a title's `at=`)."""
MAX_SEED = 2**32 - 1
"""Seeds are 32-bit, as the derived ones are."""
MAX_NUMBER = 1e15
"""The largest magnitude of a number in a `let` (exact as a whole number in a float)."""

_DURATION = {"min": 0.0, "min_exclusive": True, "max": MAX_SECONDS}
_OFFSET = {"min": 0.0, "max": MAX_SECONDS}
_SEED = {"min": 0, "max": MAX_SEED}
_VOLUME = {"min": 0.0, "max": 2.0}
_TRANSITION_DOC = "the transition between the shots (or scenes) around it"


def _transition(name: str) -> Prop:
    if name == "cut":
        return Prop("cut", doc="a straight cut (the default between shots)")
    return Prop(name, args=(_p("duration", "duration", **_DURATION),), doc=_TRANSITION_DOC)


@dataclass(frozen=True)
class Context:
    name: str
    """What the writer calls this place, in messages: 'a film block'."""
    where: str
    props: dict[str, Prop] = field(default_factory=dict)

    @property
    def inside(self) -> str:
        """'in the film block', 'at the top level'."""
        return ("at " if self.name == "top" else "in ") + self.where


FILM = Context("film", "the film block", {p.name: p for p in (
    Prop("size", (_p("size", "size"),), doc="the frame size, WIDTHxHEIGHT"),
    Prop("fps", (_p("fps", "number", min=1, max=120),), doc="frames per second, 1..120"),
    Prop("seed", (_p("seed", "int", **_SEED),), doc="the film's seed"),
    Prop("style", (_p("style", "string"),), doc="appended to every visual prompt"),
    Prop("negative", (_p("negative", "string"),), doc="negative prompt for generative backends"),
    Prop("loudness", (_p("loudness", "number", min=-70, max=0),),
         doc="target integrated loudness, LUFS"),
    Prop("subtitles", (_p("subtitles", "enum", choices=SUBTITLES),),
         doc="burn, track or none"),
    Prop("backend", kwargs=(
        # Any name: plug-in backends add their own; `filmc build` says which are here.
        _p("visual", "name", choices=VISUAL_BACKENDS, required=False),
        _p("voice", "name", choices=VOICE_BACKENDS, required=False),
        _p("music", "name", choices=MUSIC_BACKENDS, required=False),
    ), doc="visual=NAME voice=NAME music=NAME (built in: visual procedural|diffusers, "
           "voice piper|espeak|coqui, music synth|soundfont; plug-ins add more)"),
    Prop("model", (_p("model", "string"),), doc="the still-image model"),
    Prop("clip_model", (_p("clip_model", "string"),), doc="the video model"),
    Prop("motion", (_p("motion", "enum", choices=MOTIONS),), doc="camera or generative"),
)})

CHARACTER = Context("character", "a character block", {p.name: p for p in (
    Prop("look", (_p("look", "string"),), doc="how the character looks"),
    Prop("voice", (_p("voice", "string"),), kwargs=(
        _p("pitch", "number", min=0, max=100, required=False),
        _p("rate", "number", min=80, max=400, required=False),
        _p("variant", "string", required=False),
        _p("volume", "number", required=False, **_VOLUME),
        _p("gender", "enum", choices=GENDERS, required=False),
        _p("age", "enum", choices=AGES, required=False),
        _p("speaker", "string", required=False),
    ), doc="a language, a Piper .onnx file or coqui:FOLDER, with pitch= rate= variant= "
           "volume= gender= age= speaker="),
    Prop("reference", (_p("reference", "path"),), doc="an image that fixes the appearance"),
    Prop("color", (_p("color", "color"),), doc='the colour in previews, "#rrggbb"'),
    Prop("seed", (_p("seed", "int", **_SEED),), doc="the character's own seed"),
)})

PROP = Context("prop", "a prop block", {p.name: p for p in (
    Prop("look", (_p("look", "string"),), doc="how the prop looks: it is drawn from the words"),
)})

SHOTTYPE = Context("shottype", "a shottype block", {p.name: p for p in (
    Prop("prompt", (_p("prompt", "string"),), doc="the prompt template for shots of this type"),
    Prop("duration", (_p("duration", "duration", **_DURATION),),
         doc="the length when nothing else sets it"),
    Prop("camera", (_p("camera", "enum", choices=CAMERA_MOVES),), doc="the default camera move"),
    Prop("framing", (_p("framing", "enum", choices=FRAMINGS),),
         doc="wide, medium, close or extreme_close"),
)})

SCENE = Context("scene", "a scene", {p.name: p for p in (
    Prop("setting", (_p("setting", "string"),), doc="where the scene happens"),
    Prop("time", (_p("time", "enum", choices=TIMES_OF_DAY),), doc="dawn, day, dusk or night"),
    Prop("music", (_p("mood", "string_or_none"),), kwargs=(
        _p("tempo", "number", min=20, max=300, required=False),
        _p("key", "key", required=False),
        _p("volume", "number", required=False, **_VOLUME),
    ), doc="a mood with tempo= key= volume=, or none"),
    Prop("ambience", (_p("ambience", "string_or_none", choices=AMBIENCES, files=True),), kwargs=(
        _p("volume", "number", required=False, **_VOLUME),
    ), doc="a sound bed (rain, wind, sea, city, forest, room ...), a file, or none"),
    Prop("style", (_p("style", "string"),), doc="added to the film's style"),
    Prop("motion", (_p("motion", "enum", choices=MOTIONS),), doc="camera or generative"),
    Prop("shot", repeatable=True, block="shot", doc="shot TYPE SUBJECT* [DURATION]"),
    *(_transition(t) for t in TRANSITIONS),
)})

SHOT = Context("shot", "a shot", {p.name: p for p in (
    Prop("camera", (_p("camera", "enum", choices=CAMERA_MOVES),), doc="the camera move"),
    Prop("action", (_p("action", "string"),), doc="what happens, added to the prompt"),
    Prop("prompt", (_p("prompt", "string"),), doc="replaces the shot type's prompt"),
    Prop("seed", (_p("seed", "int", **_SEED),), doc="this shot's seed"),
    Prop("motion", (_p("motion", "enum", choices=MOTIONS),), doc="camera or generative"),
    Prop("title", (_p("text", "string"),), kwargs=(
        _p("at", "duration", required=False, **_OFFSET),
        _p("for", "duration", required=False, **_DURATION),
    ), repeatable=True, doc="text on screen, with at= and for="),
    Prop("sound", (_p("sound", "string", choices=SOUNDS, files=True),), kwargs=(
        _p("at", "duration", required=False, **_OFFSET),
        _p("volume", "number", required=False, **_VOLUME),
    ), repeatable=True, doc="a sound effect or a sound file, with at= and volume="),
    Prop("music", (_p("mood", "string"),), kwargs=(
        _p("tempo", "number", min=20, max=300, required=False),
        _p("key", "key", required=False),
        _p("volume", "number", required=False, **_VOLUME),
    ), doc="the music from this shot on, with tempo= key= volume="),
    Prop("pause", (_p("pause", "duration", **_OFFSET),), repeatable=True,
         doc="silence between dialogue lines"),
    Prop("picture", (_p("picture", "path"),), kwargs=(
        _p("from", "duration", required=False, **_OFFSET),
        _p("to", "duration", required=False, **_DURATION),
        _p("fit", "enum", choices=FITS, required=False),
    ), doc="the shot's picture from a file: a video (from= to= trim it, fit=hold|loop|speed "
           "fills the shot) or a still image, moved by the camera"),
)})

TOP = Context("top", "the top level", {p.name: p for p in (
    Prop("film", (_p("title", "string"),), block="film", doc="the film's settings"),
    Prop("character", (_p("name", "name"),), block="character", repeatable=True,
         doc="a character"),
    Prop("prop", (_p("name", "name"),), block="prop", repeatable=True,
         doc="a prop, drawn and named in actions"),
    Prop("shottype", (_p("name", "name"),), block="shottype", repeatable=True,
         doc="a kind of shot"),
    Prop("scene", (_p("name", "name"), _p("heading", "string", required=False)),
         block="scene", repeatable=True, doc="a scene"),
    *(_transition(t) for t in TRANSITIONS),
)})

CONTEXTS: dict[str, Context] = {c.name: c for c in (TOP, FILM, CHARACTER, PROP, SHOTTYPE,
                                                      SCENE, SHOT)}

# Where a misplaced statement belongs, for the help line: every place, likeliest first.
HOME: dict[str, list[str]] = {}
for _context in (SHOT, SCENE, CHARACTER, PROP, FILM, SHOTTYPE, TOP):
    for _name in _context.props:
        HOME.setdefault(_name, []).append(_context.where)
for _name in ("import", "include", "let"):
    HOME[_name] = ["the top level"]
HOME["dialogue"] = ["a shot"]
