"""Hover text: what a name or a shot means, as Markdown.

A character: its look and voice. A shot type: its prompt template. A shot (hovering its
line or anything in it that is not a name): its rendered prompt, its seed and, when a
build has cached the speech of its film's lines, its start and length in the film. The
timing is read from the cache without writing to it and without rendering anything.
"""

from __future__ import annotations

from filmlang import ir
from filmlang.lsp import analysis
from filmlang.source import SourceFile
from filmlang.syntax import ast


def describe(index: analysis.Index, source: SourceFile, occ: analysis.Occurrence | None,
             line: int) -> str:
    if occ is not None and occ.kind == analysis.CHARACTER:
        return character(index, occ.name)
    if occ is not None and occ.kind == analysis.SHOTTYPE:
        return shottype(index, occ.name)
    if occ is not None and occ.kind == analysis.LET:
        let = index.lets.get(occ.name)
        return f"**let** `{occ.name}` = `{let.value.raw}`" if let else ""
    if occ is not None and occ.kind == analysis.PATH:
        return f"**{occ.name}**"
    if index.film is not None:
        found = analysis.shot_at(index.film, source.name, line)
        if found is not None:
            return shot(index, *found)
    return ""


def character(index: analysis.Index, name: str) -> str:
    if index.film is not None:
        for c in index.film.characters:
            if c.name == name:
                voice = c.voice
                parts = [f'"{voice.name}"' if voice.name else "default voice",
                         f"pitch={voice.pitch:g}"]
                if voice.rate is not None:
                    parts.append(f"rate={voice.rate:g}")
                if voice.variant:
                    parts.append(f'variant="{voice.variant}"')
                return (f"**character {name}**\n\nlook: {c.look}\n\nvoice: {' '.join(parts)}"
                        f"\n\ncolor: `{c.color}`")
    block = index.blocks.get((analysis.CHARACTER, name))
    if block is None:
        return f"**{name}**: not a declared character"
    lines = [f"**character {name}**", ""]
    for statement in block.body:
        if isinstance(statement, ast.Property) and statement.name in ("look", "voice"):
            words = [v.raw for v in statement.args] + \
                [f"{k.name}={k.value.raw}" for k in statement.kwargs]
            lines += [f"{statement.name}: {' '.join(words)}", ""]
    return "\n".join(lines).rstrip()


def shottype(index: analysis.Index, name: str) -> str:
    block = index.blocks.get((analysis.SHOTTYPE, name))
    if block is None:
        return f"**{name}**: not a known shot type"
    out = [f"**shottype {name}** ({block.span.file})"]
    for statement in block.body:
        if isinstance(statement, ast.Property) and statement.args:
            out.append(f"- {statement.name}: `{statement.args[0].raw}`")
    return "\n".join(out)


def shot(index: analysis.Index, scene: ir.Scene, item: ir.Shot) -> str:
    out = [f"**shot {item.index + 1} of scene {scene.name}** ({item.type})", "",
           f"prompt: {item.prompt}", "", f"seed: {item.seed}"]
    timing = shot_timing(index, scene, item)
    out += ["", timing] if timing else ["", "timing: not known until a build has made "
                                        "its speech (filmc build)"]
    return "\n".join(out)


def shot_timing(index: analysis.Index, scene: ir.Scene, item: ir.Shot) -> str:
    """'starts at 12.50s, lasts 3.20s' from the build cache's speech; '' when not cached."""
    if index.timing is None:
        index.timing = _timings(index)
        if not index.timing:
            index.timing = None  # not cached yet: look again next time
            return ""
    return index.timing.get((scene.name, item.index), "")


def _timings(index: analysis.Index) -> dict[tuple[str, int], str]:
    film = index.film
    if film is None:
        return {}
    try:
        from filmlang.backends.protocol import LineWhere, PlanContext
        from filmlang.cache.store import Store, default_cache_dir
        from filmlang.config import BuildConfig
        from filmlang.plan.planner import plan_film

        program = index.program
        store = Store(default_cache_dir(program.root / program.entry))

        def durations(ctx: PlanContext) -> dict[LineWhere, float] | None:
            if ctx.speech and not store.objects.is_dir():
                return None
            found: dict[LineWhere, float] = {}
            for where, key in ctx.speech.items():
                if not store.lookup(key, verify=False).ok:
                    return None
                found[where] = float(store.meta(key)["duration"])
            return found

        timeline = plan_film(film, BuildConfig(), durations, assemble=False).timeline
        if timeline is None:
            return {}
    except Exception:  # a hover must never fail; the timing is a bonus
        return {}
    out: dict[tuple[str, int], str] = {}
    for timing in timeline.shots:
        start = timeline.time(timing.start_frame)
        length = timeline.time(timing.frames)
        out[(timing.scene.name, timing.shot.index)] = (
            f"timing: starts at {start:.2f}s, lasts {length:.2f}s "
            f"({timing.frames} frames at {timeline.fps:g} fps)")
    return out
