"""Planning generated stills: a shot (and its characters) in, diffusers jobs out. Pure but
for reading the model folder's fingerprint (cached) and reference images' bytes.

Each shot's still is a `still` job with backend `diffusers@VERSION` whose parameters are
everything the image depends on: the model's fingerprint, prompt, negative prompt, seed,
size, steps, guidance and the diffusers and torch versions. Characters stay themselves:

- with IP-Adapter weights in the model folder, each character gets a `character` sheet
  job (generated from its `look`, or its `reference` image) and the shots whose first
  subject it is are conditioned on that sheet, which is one of their inputs;
- without them, the look of every subject is anchored in the prompt (appended when the
  shot's prompt does not already say it).

Either way a character's look is in the keys of exactly the shots that show it, so
changing it re-renders those shots and no others.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from filmlang import ir
from filmlang.backends.diffusers.models import VERSION, ModelInfo
from filmlang.config import still_size
from filmlang.jobs import GraphBuilder, Job, file_digest
from filmlang.provenance import character_sources, shot_sources

MULTIPLE = 16
"""Generated sizes are multiples of 16 (SD needs 8, SDXL and Flux-style models 16)."""


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {}
    for name in ("diffusers", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def generated_size(width: int, height: int, native: int) -> tuple[int, int]:
    """A still's size: the procedural still size (1.25x the frame, room for camera moves)
    scaled down to the model's native area, in multiples of 16."""
    sw, sh = still_size(width, height)
    scale = min(1.0, math.sqrt(native * native / (sw * sh)))

    def snap(x: float) -> int:
        return max(MULTIPLE, MULTIPLE * math.floor(x * scale / MULTIPLE + 0.5))

    return snap(sw), snap(sh)


def anchored_prompt(shot: ir.Shot, characters: dict[str, ir.Character]) -> str:
    """The shot's prompt with each subject's look appended, unless the prompt says it."""
    parts = [shot.prompt]
    for name in shot.subjects:
        character = characters.get(name)
        if character is not None and character.look and character.look not in shot.prompt:
            parts.append(character.look)
    return ", ".join(p for p in parts if p)


def sheet_job(film: ir.Film, character: ir.Character, info: ModelInfo, root: Path) -> Job:
    """A character sheet: the reference image as given, or one generated from the look."""
    if character.reference:
        path = (root / character.reference).resolve()
        return Job(kind="character", backend=f"diffusers@{VERSION}",
                   params={"source": "reference", "sha256": file_digest(path),
                           "size": info.native},
                   label=f"character {character.name} (reference)",
                   identity=f"character:{character.name}", origin=character.origin,
                   payload={"path": str(path)})
    prompt = ", ".join(p for p in (f"character sheet of {character.look}",
                                   "full body, plain background", film.style) if p)
    return Job(kind="character", backend=f"diffusers@{VERSION}",
               params={**_common(info, film, info.native, info.native), "prompt": prompt,
                       "seed": character.seed},
               label=f"character {character.name}", identity=f"character:{character.name}",
               origin=character.origin, payload={"model": info.path},
               sources=character_sources(character))


def _common(info: ModelInfo, film: ir.Film, width: int, height: int) -> dict[str, Any]:
    return {"model": {"fingerprint": info.fingerprint, "class": info.class_name},
            "negative": film.negative, "width": width, "height": height,
            "steps": info.steps, "guidance": info.guidance, **_versions()}


def still_job(graph: GraphBuilder, film: ir.Film, scene: ir.Scene, shot: ir.Shot,
              info: ModelInfo, frame: tuple[int, int], sheets: dict[str, str]) -> Job:
    """The generated still of a shot (sheets: character name -> its sheet job's key)."""
    characters = {c.name: c for c in film.characters}
    width, height = generated_size(frame[0], frame[1], info.native)
    references = [sheets[name] for name in shot.subjects if name in sheets][:1]
    prompt = shot.prompt if references else anchored_prompt(shot, characters)
    params = {**_common(info, film, width, height), "prompt": prompt, "seed": shot.seed,
              "reference_inputs": references}
    return Job(kind="still", backend=f"diffusers@{VERSION}", params=params,
               inputs=tuple(references), label=f"{scene.name}/{shot.index + 1} {shot.type}",
               identity=f"still:{scene.name}/{shot.index}", origin=shot.origin,
               payload={"model": info.path}, sources=shot_sources(film, scene, shot))


def plan_stills(graph: GraphBuilder, film: ir.Film, info: ModelInfo, frame: tuple[int, int],
                root: Path, stills: dict[tuple[str, int], str]) -> None:
    """Every shot's generated still (and character sheets when they condition shots)."""
    sheets: dict[str, str] = {}
    if info.ip_adapter is not None:
        shown = {name for shot in film.shots for name in shot.subjects}
        for character in film.characters:
            if character.name in shown:
                sheets[character.name] = graph.add(sheet_job(film, character, info, root))
    for scene in film.scenes:
        for shot in scene.shots:
            stills[(scene.name, shot.index)] = graph.add(
                still_job(graph, film, scene, shot, info, frame, sheets))


def run_reference(job: Job, out: Path, store: Any) -> None:
    """A character sheet from a reference image: squared and sized for the model."""
    from PIL import Image, ImageOps

    size = int(job.params["size"])
    with Image.open(job.payload["path"]) as image:
        sheet = ImageOps.fit(image.convert("RGB"), (size, size))
    sheet.save(out / "still.png", compress_level=1)
