"""Before any work: can the diffusers backend build this film here? Film and config in,
the resolved config and diagnostics out (E0603 with what to install or which file of the
model folder is missing). Imports neither torch nor diffusers.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.backends.diffusers import models
from filmlang.diagnostics import Diagnostic, Label, error

if TYPE_CHECKING:
    from filmlang.config import BuildConfig


def configure(film: ir.Film, config: BuildConfig, film_path: Path) -> BuildConfig:
    """The film's folder as root, and the model as an absolute folder when it can be found
    (the film's `model` is relative to the film, --model to the working directory)."""
    root = film_path.absolute().parent
    model = config.model
    if (config.visual or film.backends.visual) == "diffusers":
        text = config.model or film.model or ""
        base = Path.cwd() if config.model else root
        if text:
            with contextlib.suppress(models.ModelProblem):  # reported by problems()
                model = str(models.locate(text, base))
    return dataclasses.replace(config, root=str(root), model=model)


def problems(film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
    where = "built with --model" if config.model and not film.model else "asks for it"
    available = models.available()
    if not available:
        return [error("E0603", f"the diffusers visual backend needs torch and diffusers: "
                      f"{available.reason}", film.origin, label="asks for diffusers",
                      help=f"{available.install} (or build with --backend "
                           "visual=procedural)")]
    text = config.model or film.model
    if not text:
        return [error("E0603", "the diffusers visual backend needs a model", film.origin,
                      label="asks for diffusers",
                      help='name a model folder: model "PATH" in the film block, or '
                           "--model PATH")]
    try:
        folder = models.locate(text, Path(config.root or "."))
        models.model_info(folder)
    except models.ModelProblem as exc:
        return [error("E0603", exc.message, film.origin, label=where, help=exc.help)]
    return _generative_motion(film, config)


def _generative_motion(film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
    """Shots with `motion generative` need a video model that can make them."""
    from filmlang.backends.diffusers import clips

    moving = [shot for shot in film.shots if shot.motion == "generative"]
    if not moving:
        return []
    others = [Label(span=shot.origin, message="also generative") for shot in moving[1:4]]
    count = f"{len(moving)} shot{'s' if len(moving) > 1 else ''} with motion generative"
    if not film.clip_model:
        return [error("E0604", "motion generative needs a video model, and the film names "
                      "none", moving[0].origin, label=count, notes=others,
                      help='add clip_model "PATH" (a diffusers video model folder) to the film '
                           "block, or use 'motion camera'")]
    try:
        info = models.model_info(models.locate(film.clip_model, Path(config.root or ".")))
    except models.ModelProblem as exc:
        return [error("E0603", f"clip_model: {exc.message}", film.origin,
                      label="asks for it", help=exc.help)]
    family = clips.family_of(info)
    if family is None:
        known = ", ".join(sorted(clips.FAMILIES))
        return [error("E0604", f"the clip model {info.path} is a {info.class_name}, not a "
                      "video pipeline filmlang can drive", moving[0].origin, label=count,
                      notes=others, help=f"use a folder of one of: {known}")]
    longest = clips.longest_clip(family, info)
    problems = []
    for shot in moving:
        if shot.duration is None:
            continue
        plan = clips.clip_plan(family, shot.duration, longest)
        if plan.chunks > clips.MAX_CHUNKS:
            most = (clips.MAX_CHUNKS * (longest - 1)) / family.fps
            problems.append(error(
                "E0604", f"this shot lasts {shot.duration:g}s; {family.name} makes at most "
                f"{most:.1f}s in {clips.MAX_CHUNKS} chained clips of {longest} frames",
                shot.origin, label="too long for the video model",
                help=f"split it into shots of at most {most:.1f}s, or give it "
                     "'motion camera'"))
    return problems
