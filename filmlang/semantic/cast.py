"""The cast's voices: models named by path, defaults from the look, and voices alike.

- `model_voice`: `voice "x.onnx"` and `voice "coqui:folder"` name a voice model of one's
  own, a path relative to the file that names it, kept (like a reference image) relative
  to the film's folder. Whether the files are there and load is the speech backend's
  check, before any work (E0603).
- `cast`: a character whose voice does not say its gender or age gets them from its look
  (`filmlang.voices.guess`); characters with no `voice` at all that share a gender and age
  get pitches 1.9 semitones apart (`voices.CAST_PITCHES`), so none sounds like another.
- `alike`: W0003 for two speaking characters who would still sound alike: the same voice
  and speaker, gender and age, and pitches (with their variants' offsets) within 1.5
  semitones. It names both and how to tell them apart.
- `parenthetical`: W0004 for the words of a parenthetical the delivery table does not know.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang import delivery, ir, voices
from filmlang.diagnostics import Diagnostic, Label, error, warning
from filmlang.semantic.values import did_you_mean
from filmlang.source import Span
from filmlang.syntax import ast

if TYPE_CHECKING:
    from filmlang.semantic.loader import Program

COQUI = "coqui:"
Report = Callable[[Diagnostic], None]


def model_voice(program: Program, text: str, span: Span, module: str,
                report: Report) -> str | None:
    """"piper:PATH" or "coqui:PATH" when the voice names a model of one's own, else None."""
    if text.startswith(COQUI):
        engine, raw = "coqui", text[len(COQUI):]
    elif text.lower().endswith(".onnx"):
        engine, raw = "piper", text
    else:
        return None
    source = program.files[module]
    path = (source.path.parent / raw.strip()).resolve()
    root = program.root.resolve()
    if not program.allow_outside and not path.is_relative_to(root):
        report(error("E0403", f'"{raw}" is outside the film\'s folder', span,
                     label="leaves the film's folder",
                     help="move the voice model into the film's folder, or build with "
                          "--allow-outside"))
        return None
    try:
        where = path.relative_to(root).as_posix()
    except ValueError:
        where = str(path)
    return f"{engine}:{where}"


def model_path(model: str, root: Path) -> tuple[str, Path]:
    """A voice's `model` ("piper:PATH") as its engine and the path, resolved from `root`."""
    engine, _, where = model.partition(":")
    return engine, (root / where).resolve()


def _defaulted(character: ir.Character, taken: dict[tuple[str, str], list[float]],
               plain: bool) -> ir.Character:
    voice = character.voice
    if voice.model:
        return character
    gender, age = voices.guess(character.look)
    update: dict[str, object] = {}
    if voice.gender is None and gender is not None:
        update["gender"] = gender
    if voice.age is None and age is not None:
        update["age"] = age
    voice = voice.model_copy(update=update)
    if plain:
        kind = (voice.gender or "male", voice.age or "adult")
        used = taken.setdefault(kind, [])
        for pitch in voices.CAST_PITCHES:
            if all(abs(voices.pitch_semitones(pitch) - voices.pitch_semitones(other))
                   >= voices.ALIKE_SEMITONES for other in used):
                voice = voice.model_copy(update={"pitch": pitch})
                break
        used.append(voice.pitch)
    return character.model_copy(update={"voice": voice})


def cast(characters: dict[str, ir.Character],
         plain: set[str]) -> dict[str, ir.Character]:
    """Each character with the gender and age its look suggests where its voice says none.

    `plain` names the characters with no `voice` statement: they also get a pitch of
    their own among the characters of the same gender and age.
    """
    taken: dict[tuple[str, str], list[float]] = {}
    for character in characters.values():
        if character.name not in plain and not character.voice.model:
            voice = character.voice
            kind = (voice.gender or "male", voice.age or "adult")
            taken.setdefault(kind, []).append(voice.pitch)
    return {name: _defaulted(character, taken, name in plain)
            for name, character in characters.items()}


def _sound(voice: ir.Voice) -> tuple[object, ...]:
    return (voice.name.lower(), voice.model, voice.speaker, voice.gender or "male",
            voice.age or "adult")


def alike(characters: dict[str, ir.Character], speakers: set[str],
          spans: dict[str, Span], report: Report) -> None:
    """W0003 for each pair of speakers who would sound alike (see the module's docstring)."""
    seen: list[ir.Character] = []
    for character in characters.values():
        if character.name not in speakers:
            continue
        voice = character.voice
        for other in seen:
            them = other.voice
            if _sound(voice) != _sound(them):
                continue
            if voice.variant and them.variant and voice.variant != them.variant:
                continue
            apart = abs(voices.semitones(voice) - voices.semitones(them))
            if apart >= voices.ALIKE_SEMITONES:
                continue
            report(warning(
                "W0003", f"{other.name} and {character.name} would sound alike",
                spans.get(character.name, character.origin),
                label=f"{apart:.1f} semitones from {other.name}, both "
                      f"{voice.gender or 'male'} {voice.age or 'adult'}",
                notes=[Label(span=spans.get(other.name, other.origin),
                             message=f"{other.name} is declared here")],
                help=f"move one of them at least 13 apart in pitch= (0..100), or give "
                     f"{character.name} another gender= or age= (or another voice)"))
            break
        seen.append(character)


def parenthetical(dialogue: ast.Dialogue, report: Report) -> delivery.Reading:
    """The parenthetical of a line, read; W0004 for its words the table does not know."""
    from filmlang.semantic.staging import acted_words

    reading = delivery.read(dialogue.parenthetical)
    if reading.unknown:  # what the figure acts out is staged, not said (staging.py)
        acted = acted_words(dialogue.parenthetical or "")
        reading = dataclasses.replace(
            reading, unknown=tuple(w for w in reading.unknown if w.lower() not in acted))
    if reading.unknown and dialogue.parenthetical_span is not None:
        known = sorted(delivery.DELIVERIES)
        hints = [hint for word in reading.unknown
                 if (hint := did_you_mean(word, known))]
        words = ", ".join(f'"{word}"' for word in reading.unknown)
        moods = ("whispering, quietly, shouting, angrily, sadly, crying, laughing, nervous, "
                 "dry, sarcastic, kindly, curious, slowly, quickly, (V.O.), (O.S.)")
        report(warning(
            "W0004", f"the voice does not know {words} in this parenthetical",
            dialogue.parenthetical_span,
            label="said without it",
            help=(hints[0] + "\n" if hints else "")
            + f"known deliveries include {moods} (docs/backends.md lists them all)"))
    return reading
