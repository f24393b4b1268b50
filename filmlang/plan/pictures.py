"""Shots whose picture is a file (`picture "shots/12.mp4"`): planned by the linker, not by
a visual backend.

Phase one gives such a shot a `picture` job for its still (the image, or the video's first
frame) in place of the one its visual backend planned, and drops that one if nothing else
uses it; phase two (`footage`, run before the segments) gives a video picture a `footage`
job with the shot's frames, which the composer draws as it draws a generated clip. The
file's sha256 is in both keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.backends.protocol import PlanContext
from filmlang.config import frame_size, still_size
from filmlang.jobs import Job, file_digest
from filmlang.provenance import file_source, shot_name

if TYPE_CHECKING:
    from filmlang.timeline import Timeline

LINK = "link@3"


def _path(ctx: PlanContext, picture: ir.Picture) -> Path:
    return ctx.root / picture.path


def _sources(ctx: PlanContext, scene: str, shot: ir.Shot, picture: ir.Picture
             ) -> dict[str, object]:
    path = _path(ctx, picture)
    name = shot_name(scene, shot.index)
    return {f"{name} picture": picture.path, f"{name} picture from": picture.start,
            f"{name} picture to": picture.end, f"{name} picture fit": picture.fit,
            file_source(path, ctx.root): file_digest(path)[:12]}


def plan_picture_stills(ctx: PlanContext) -> None:
    """Phase one: the still of each shot with a picture file, from that file."""
    replaced: set[str] = set()
    width, height = still_size(*frame_size(ctx.film, ctx.config))
    for scene in ctx.film.scenes:
        for shot in scene.shots:
            picture = shot.picture
            if picture is None:
                continue
            where = (scene.name, shot.index)
            path = _path(ctx, picture)
            if where in ctx.stills:
                replaced.add(ctx.stills[where])
            ctx.stills[where] = ctx.graph.add(Job(
                kind="picture", backend=LINK,
                params={"sha256": file_digest(path), "kind": picture.kind,
                        "start": picture.start, "width": width, "height": height},
                payload=path, label=f"{scene.name}/{shot.index + 1} picture",
                identity=f"picture:{scene.name}/{shot.index}", origin=picture.origin,
                sources=_sources(ctx, scene.name, shot, picture)))
    _prune(ctx, replaced)


def _prune(ctx: PlanContext, replaced: set[str]) -> None:
    """Drop the stills that pictures replaced and nothing else uses."""
    used = set(ctx.stills.values()) | {key for job in ctx.graph.jobs.values()
                                       for key in job.inputs}
    for key in replaced - used:
        ctx.graph.jobs.pop(key, None)


def footage(ctx: PlanContext, timeline: Timeline) -> None:
    """Phase two: the frames of each shot whose picture is a video."""
    width, height = frame_size(ctx.film, ctx.config)
    for timing in timeline.shots:
        shot, scene = timing.shot, timing.scene
        picture = shot.picture
        if picture is None or picture.kind != "video":
            continue
        path = _path(ctx, picture)
        ctx.clips[(scene.name, shot.index)] = ctx.graph.add(Job(
            kind="footage", backend=LINK,
            params={"sha256": file_digest(path), "start": picture.start,
                    "end": picture.end, "fit": picture.fit, "frames": timing.frames,
                    "fps": timeline.fps, "width": width, "height": height},
            payload=path, label=f"{scene.name}/{shot.index + 1} footage",
            identity=f"footage:{scene.name}/{shot.index}", origin=picture.origin,
            sources=_sources(ctx, scene.name, shot, picture)))
