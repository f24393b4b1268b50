"""The procedural backend: the animatic that always works, and the compositor of shots.

As the `visual=procedural` backend it draws a still per shot (`draw`: places from the
setting and time of day, characters framed by the shot type, weather). As the composer it
draws every shot's frames for its segment, whatever made the still or clip (`frames`:
camera moves, lip sync, titles, burned subtitles, fades) and blends transitions.

Modules: `spec` (what a still shows, as data: no numpy or Pillow, so planning stays
cheap), `draw` (painting and camera), `scene` (sky, land, sea), `places` (kinds of place),
`figures` (posable people), `looks` (people from their look), `poses` (the action as
keyframed poses), `stage` (a shot's figures and props at a moment), `props` (the prop
library), `mouths` (lip sync), `text` (titles and subtitles), `frames` (a shot's frames,
the still runner). A shot whose figures move is drawn frame by frame over its plate (the
place without the figures); the others use their still.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from filmlang.backends.procedural import frames as _frames
from filmlang.backends.procedural.spec import VERSION, still_spec
from filmlang.backends.protocol import Base, PlanContext
from filmlang.config import frame_size, still_size
from filmlang.jobs import Job, Runner
from filmlang.provenance import shot_sources

if TYPE_CHECKING:
    from filmlang.cache.store import Store


class Procedural(Base):
    name = "procedural"
    version = VERSION
    role = "visual"
    engines = ("procedural",)
    runners: Mapping[str, Runner] = {"still": _frames.run_still}

    def plan_sources(self, ctx: PlanContext) -> None:
        from importlib.metadata import version

        film = ctx.film
        sw, sh = still_size(*frame_size(film, ctx.config))
        pillow = version("pillow")
        for scene in film.scenes:
            for shot in scene.shots:
                # Everything the still is drawn from, and the Pillow that draws it.
                params = {"width": sw, "height": sh, "pillow": pillow,
                          "spec": still_spec(film, scene, shot).key()}
                ctx.stills[(scene.name, shot.index)] = ctx.graph.add(Job(
                    kind="still", backend=self.id, params=params,
                    label=f"{scene.name}/{shot.index + 1} {shot.type}",
                    identity=f"still:{scene.name}/{shot.index}", origin=shot.origin,
                    payload=(film, scene, shot), sources=shot_sources(film, scene, shot)))

    def frames(self, picture: dict[str, Any], width: int, height: int, fps: float,
               first: int, last: int, store: Store) -> Iterator[Any]:
        still = _frames.still_image(store, picture["still"])
        return _frames.shot_frames(picture, still, width, height, fps, first, last, store)

    def blend(self, a: Any, b: Any, t: float, kind: str) -> Any:
        from filmlang.backends.procedural.draw import blend

        return blend(a, b, t, kind)


BACKEND = Procedural()
