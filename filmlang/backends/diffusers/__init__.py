"""The diffusers backend: generated stills and clips from a local model folder, offline.

`visual=diffusers`. Phase one plans a still per shot (and a character sheet per shown
character when the model conditions on one: `plan`); phase two, once shots have lengths,
a clip per `motion generative` shot (`clips`). Stills, sheets and clips run batched on GPU
lanes (`run`, `clips`); the reference images of character sheets are squared on the CPU.
`models` finds and describes model folders, `check` says before any work what is missing.
torch and diffusers load inside the runners only: importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import ir
from filmlang.backends.diffusers.models import VERSION
from filmlang.backends.diffusers.plan import run_reference
from filmlang.backends.protocol import Base, Batcher, PlanContext
from filmlang.config import BuildConfig, frame_size
from filmlang.diagnostics import Diagnostic
from filmlang.jobs import Runner

if TYPE_CHECKING:
    from filmlang.timeline import Timeline


class Diffusers(Base):
    name = "diffusers"
    version = VERSION
    role = "visual"
    engines = ("diffusers",)
    runners: Mapping[str, Runner] = {"character": run_reference}

    def prepare(self, film: ir.Film, config: BuildConfig, film_path: Path) -> BuildConfig:
        from filmlang.backends.diffusers.check import configure

        return configure(film, config, film_path)

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
        from filmlang.backends.diffusers.check import problems

        return problems(film, config)

    def plan_sources(self, ctx: PlanContext) -> None:
        from filmlang.backends.diffusers import models, plan

        folder = Path(ctx.config.model or ctx.film.model or "")
        plan.plan_stills(ctx.graph, ctx.film, models.model_info(folder),
                         frame_size(ctx.film, ctx.config), ctx.root, ctx.stills)

    def plan_timed(self, ctx: PlanContext, timeline: Timeline) -> None:
        from filmlang.backends.diffusers.clips import plan_clips

        ctx.clips.update(plan_clips(ctx.graph, ctx.film, ctx.stills, list(timeline.shots),
                                    timeline.fps, ctx.root))

    def batchers(self) -> Mapping[str, Batcher]:
        from filmlang.backends.diffusers import clips, run

        still = Batcher(group=run.group, generate=run.generate, write=run.write,
                        lanes=run.lanes,
                        accepts=lambda job: job.params.get("source") != "reference")
        return {"still": still, "character": still,
                "clip": Batcher(group=clips.group, generate=clips.generate, write=clips.write,
                                lanes=run.lanes)}


BACKEND = Diffusers()
