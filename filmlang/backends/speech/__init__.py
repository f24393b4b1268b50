"""The speech backend: every line of dialogue as a 48 kHz mono WAV, and its length.

One job per distinct line said the same way (phase one: the timeline is solved from these
lengths). The engine that speaks a character is chosen per voice (`engines`, `choose_engine`:
the film's `backend voice=NAME`, else the best available) and is part of the job's
parameters: `piper` (`piper`, `onnx`: the bundled joe voice or a Piper model), `espeak`
(`espeak`: espeak-ng), `coqui` (`coqui`: a local Coqui TTS model). A character's own
voice model (`voice "x.onnx"`, `voice "coqui:folder"`) picks its engine, and its files are
checked before any work (E0603 naming the file). `core` holds what the engines share
(requests, delivery from parentheticals), `voicing` the gender and age transform, `dsp`
the finishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import ir
from filmlang.backends.protocol import Base, PlanContext
from filmlang.config import BuildConfig
from filmlang.diagnostics import Diagnostic, Label, error
from filmlang.jobs import Job, JobFailed, Runner
from filmlang.provenance import character_sources, line_sources

if TYPE_CHECKING:
    from filmlang.cache.store import Store

VERSION = "2"


def run_speech(job: Job, out: Path, store: Store) -> None:
    import json

    from filmlang.backends.speech import engines

    engine = engines.ENGINES[job.params["engine"]]
    try:
        (seconds,) = engine.synthesize([job.payload], [out / "speech.wav"],
                                       memo=store.root / "memo" / "voices")
    except engines.SpeechUnavailable as exc:
        raise JobFailed(job, str(exc)) from None
    (out / "meta.json").write_text(json.dumps({"duration": seconds}))


def _spoken(film: ir.Film) -> dict[str, list[Label]]:
    lines: dict[str, list[Label]] = {}
    for shot in film.shots:
        for line in shot.lines:
            lines.setdefault(line.speaker, []).append(
                Label(span=line.origin, message=f"{line.speaker} speaks here"))
    return lines


def resolved(voice: ir.Voice, root: Path) -> ir.Voice:
    """The voice with its own model's path (relative to the film's folder) made absolute."""
    if not voice.model:
        return voice
    engine, _, where = voice.model.partition(":")
    return voice.model_copy(update={"model": f"{engine}:{(root / where).resolve()}"})


def _voice(character: ir.Character) -> dict[str, Any]:
    return {name: value for name, value in character_sources(character).items()
            if ".voice" in name}


class Speech(Base):
    name = "speech"
    version = VERSION
    role = "voice"
    engines = ("piper", "espeak", "coqui")
    runners: Mapping[str, Runner] = {"speech": run_speech}

    def problems(self, film: ir.Film, config: BuildConfig) -> list[Diagnostic]:
        """Every character who speaks has a voice here, or it says what to install."""
        from filmlang.backends.speech import engines

        preferred = config.choice("voice", film)
        spoken = _spoken(film)
        problems: list[Diagnostic] = []
        for character in film.characters:
            if character.name not in spoken:
                continue
            try:
                engines.choose_engine(resolved(character.voice, Path(config.root or ".")),
                                      preferred)
            except engines.SpeechUnavailable as exc:
                origin = character.origin
                head = origin.model_copy(update={
                    "end_line": origin.line,
                    "end_column": origin.column + len(f"character {character.name}")})
                lines = spoken[character.name]
                more = len(lines) - 3
                problems.append(error(
                    "E0603", f"no voice for {character.name}: {exc}", head,
                    label=f"{len(lines)} line{'s' if len(lines) != 1 else ''} need a voice",
                    help=exc.install + (f" ({more} more lines need it)" if more > 0 else ""),
                    notes=lines[:3]))
        return problems

    def plan_sources(self, ctx: PlanContext) -> None:
        from filmlang.backends.speech import engines

        film = ctx.film
        preferred = ctx.config.choice("voice", film)
        characters = {c.name: c for c in film.characters}
        for scene in film.scenes:
            for shot in scene.shots:
                for index, line in enumerate(shot.lines):
                    character = characters[line.speaker]
                    voice = resolved(character.voice, ctx.root)
                    request = engines.SpeechRequest(
                        text=line.text, voice=voice, parenthetical=line.parenthetical,
                        seed=character.seed, placement=line.placement)
                    engine = engines.choose_engine(voice, preferred)
                    ctx.speech[(scene.name, shot.index, index)] = ctx.graph.add(Job(
                        kind="speech", backend=self.id,
                        params=engines.engine_params(engine, request),
                        label=f"{scene.name}/{shot.index + 1} {line.speaker}: "
                              f"{line.text[:40]}",
                        identity=f"speech:{scene.name}/{shot.index}/{index}",
                        origin=line.origin, payload=request,
                        sources={**line_sources(scene.name, shot, index),
                                 **_voice(character)}))


BACKEND = Speech()
