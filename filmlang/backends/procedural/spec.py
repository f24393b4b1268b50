"""What a procedural still depends on, without drawing it: light enough for the planner.

The planner keys still jobs by `still_spec(...)` and `VERSION` and sizes them with
`still_size`; none of this imports numpy or Pillow, so planning and no-op rebuilds stay
fast. `procedural.py` draws from these specs.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from filmlang import ir

VERSION = "5"
"""Part of every key of this backend's jobs: bump it whenever its output changes."""

def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words of a setting that call for each set piece.
KEYWORDS: dict[str, frozenset[str]] = {
    "sea": wordset("sea ocean coast coastal shore beach harbour harbor bay waves wave pier "
                     "ferry boat ship lighthouse cliff cliffs dock port seaside"),
    "cliff": wordset("cliff cliffs coast coastal rocky rocks lighthouse headland"),
    "beach": wordset("beach sand sandy dunes"),
    "pier": wordset("pier dock harbour harbor port ferry jetty quay"),
    "lighthouse": frozenset(["lighthouse"]),
    "boat": wordset("boat ferry ship trawler steamer yacht sailboat"),
    "city": wordset("city town downtown skyline buildings street streets avenue alley "
                      "rooftop rooftops village"),
    "street": wordset("street streets road avenue alley crossing highway"),
    "forest": wordset("forest woods wood trees tree jungle pines park grove"),
    "mountain": wordset("mountain mountains hills hill peak peaks alps valley "
                          "ridge"),
    "rain": wordset("rain raining rainy storm stormy downpour drizzle"),
    "storm": wordset("storm stormy thunder lightning gale"),
    "snow": wordset("snow snowy winter ice frozen snowing snowfall blizzard snowstorm"),
    # Weather: falling snow (frames) and fog (the still). Also read from the ambience's name.
    "snowfall": wordset("snow snowy snowing snowfall blizzard snowstorm snowflakes"),
    "fog": wordset("fog foggy mist misty haze hazy"),
    "desert": wordset("desert dunes sand sandy"),
    "interior": wordset("room kitchen bedroom office inside interior hall hallway corridor "
                          "house apartment flat cabin bar pub cafe restaurant shop classroom "
                          "library studio attic basement"),
    "kitchen": frozenset(["kitchen"]),
}


WEATHER = KEYWORDS["rain"] | KEYWORDS["snowfall"] | KEYWORDS["fog"]
"""The words of an ambience's name that change the picture."""


def words_of(*texts: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z]+", " ".join(texts).lower()))


def has(words: frozenset[str], feature: str) -> bool:
    return not words.isdisjoint(KEYWORDS[feature])


@dataclass(frozen=True)
class Subject:
    look: str
    color: str
    seed: int
    name: str = ""


BeatSpec = tuple[str, str, str, str, float, float]
"""(verb, actor, target, prop, start, end): an `ir.Beat` as plain data."""


@dataclass(frozen=True)
class StillSpec:
    """Everything a procedural still depends on, and nothing else."""

    place_seed: int
    time: str
    interior: bool
    setting: str
    location: str
    heading: str
    shot_type: str
    framing: str
    action: str
    subjects: tuple[Subject, ...]
    ambience: str = ""
    """The weather words of the scene's ambience (rain, fog, snow), sorted: nothing else
    of it shows, so only they are part of the key."""
    place: str = ""
    """The kind of place (kitchen, harbour ...; `semantic.places`), or empty."""
    beats: tuple[BeatSpec, ...] = ()
    props: tuple[str, ...] = ()
    """The props the shot shows: drawn kinds or declared props' names."""
    prop_kinds: tuple[tuple[str, str], ...] = ()
    """Declared props the shot names: (name, drawn kind)."""

    @classmethod
    def from_key(cls, key: dict[str, Any]) -> StillSpec:
        """The spec back from its `key()` (JSON gives lists for tuples)."""
        def tuples(value: Any) -> Any:
            return tuple(tuples(v) for v in value) if isinstance(value, list) else value

        values = {k: tuples(v) for k, v in key.items()}
        values["subjects"] = tuple(Subject(**s) for s in key["subjects"])
        return cls(**values)

    def prop_kind(self, name: str) -> str:
        """The drawn kind of a prop the shot names (a kind is its own)."""
        return dict(self.prop_kinds).get(name, name)

    def key(self) -> dict[str, object]:
        """A JSON-ready form for job keys."""
        return asdict(self)

    @property
    def words(self) -> frozenset[str]:
        """The words of the place, which choose its set pieces, and the ambience's weather."""
        return words_of(self.setting, self.location, self.heading, self.ambience)

    @property
    def snowfall(self) -> bool:
        """Whether snow falls in the shot's frames (an exterior whose words say so)."""
        return (self.shot_type != "insert" and not self.interior
                and has(self.words, "snowfall"))


def still_spec(film: ir.Film, scene: ir.Scene, shot: ir.Shot) -> StillSpec:
    """What `render_still` reads of the film, the scene and the shot: key stills by it."""
    words = words_of(scene.setting, scene.location, scene.heading or "")
    interior = scene.interior if scene.interior is not None else has(words, "interior")
    names = {c.name: c for c in film.characters}
    subjects = tuple(Subject(look=names[n].look, color=names[n].color, seed=names[n].seed,
                             name=n) for n in shot.subjects if n in names)
    declared = {p.name: p.kind for p in film.props}
    named = set(shot.props) | {b.prop for b in shot.beats}
    beats = tuple((b.verb, b.actor, b.target, b.prop, b.start, b.end) for b in shot.beats)
    # The place depends on the film's seed and the place itself, not on the scene's name:
    # two scenes set in the same place look the same.
    ambience = scene.ambience.name if scene.ambience is not None else ""
    place = f"{film.seed}\0{scene.setting}\0{scene.location}\0{interior}"
    return StillSpec(place_seed=zlib.crc32(place.encode("utf-8")), time=scene.time,
                     interior=interior, setting=scene.setting, location=scene.location,
                     heading=scene.heading or "", shot_type=shot.type,
                     framing=shot.framing, action=shot.action, subjects=subjects,
                     ambience=" ".join(sorted(words_of(ambience) & WEATHER)),
                     place=scene.place, beats=beats, props=shot.props,
                     prop_kinds=tuple(sorted((n, k) for n, k in declared.items()
                                             if n in named)))


