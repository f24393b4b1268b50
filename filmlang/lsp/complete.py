"""Completion: the text before the cursor and what the program declares in, candidates out.

The buffer being typed in rarely parses, so the place is read from the text: the stack of
open blocks (each `{` belongs to the first word of its line) and the words of the current
line. What may stand there comes from the schema tables (`semantic/schema.py`), so a new
property is offered as soon as the checker knows it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from filmlang import resources
from filmlang.semantic import schema

_TOKENS = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]|\n')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Candidate:
    label: str
    kind: str
    """keyword, property, character, shottype, camera, let, module, value, argument, snippet."""
    detail: str = ""
    insert: str | None = None


@dataclass(frozen=True)
class Names:
    """What the program declares, for completion."""

    characters: tuple[str, ...] = ()
    shottypes: tuple[str, ...] = ()
    lets: tuple[str, ...] = ()


def context_at(text: str, offset: int) -> tuple[list[str], str]:
    """The names of the open blocks at `offset` (outermost first) and the line before it."""
    stack: list[str] = []
    line_start = 0
    for match in _TOKENS.finditer(text, 0, offset):
        token = match.group()
        if token == "\n":
            line_start = match.end()
        elif token == "{":
            head = _WORD.match(text[line_start:match.start()].lstrip())
            stack.append(head.group() if head else "")
        elif token == "}" and stack:
            stack.pop()
    return stack, text[text.rfind("\n", 0, offset) + 1:offset]


def context_of(stack: list[str]) -> schema.Context | None:
    context = schema.TOP
    for name in stack:
        prop = context.props.get(name)
        if prop is None or prop.block is None:
            return None
        context = schema.CONTEXTS[prop.block]
    return context


def std_modules() -> list[str]:
    return sorted(f"std/{p.stem}" for p in (resources.stdlib_dir() / "std").glob("*.film"))


def candidates(text: str, offset: int, names: Names, folder: Path | None) -> list[Candidate]:
    stack, line = context_at(text, offset)
    stripped = line.lstrip()
    path = re.match(r'(import|include)\s+"([^"]*)$', stripped)
    if path:
        return _paths(path.group(1), folder)
    if _in_text(line):
        return []  # inside a string or a comment: words there are the writer's own
    context = context_of(stack)
    if context is None:
        return []
    words = stripped.split()
    typing_word = not line.endswith((" ", "\t", "=")) and bool(words)
    if not words or (len(words) == 1 and typing_word):
        return _first_words(context, names)
    head = words[0]
    if context.name == "scene" and head == "shot":
        done = len(words) - (1 if typing_word else 0)
        if done == 1:
            return [Candidate(n, "shottype", "shot type") for n in names.shottypes]
        return [Candidate(n, "character", "character") for n in names.characters]
    prop = context.props.get(head)
    if prop is None:
        return []
    kw = re.search(r"([A-Za-z_]\w*)=\w*$", line)
    if kw:
        param = prop.kwarg(kw.group(1))
        return _param_values(param, names) if param else []
    out = [Candidate(f"{p.name}=", "argument", p.describe or p.kind) for p in prop.kwargs]
    if prop.args:
        out += _param_values(prop.args[0], names)
    return out


def _in_text(line: str) -> bool:
    """Whether the end of `line` is inside a string or a comment."""
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return True
        i += 1
    return quoted


def _first_words(context: schema.Context, names: Names) -> list[Candidate]:
    out = [Candidate(p.name, "keyword" if p.block else "property", p.doc)
           for p in context.props.values()]
    if context.name == "top":
        out += [Candidate("import", "keyword", "bring a module's declarations"),
                Candidate("include", "keyword", "splice another part of this film here"),
                Candidate("let", "keyword", "a named constant")]
    if context.name == "shot":
        out += [Candidate(n, "character", "dialogue", insert=f'{n}: "') for n in names.characters]
    return out


def _param_values(param: schema.Param, names: Names) -> list[Candidate]:
    out: list[Candidate] = [Candidate(c, "value", param.name) for c in param.choices]
    if param.kind in ("string_or_none", "name_or_none"):
        out.append(Candidate("none", "value", param.name))
    if param.name == "camera":
        out = [Candidate(c, "camera", "camera move") for c in schema.CAMERA_MOVES]
    out += [Candidate(n, "let", "let constant") for n in names.lets]
    return out


def _paths(kind: str, folder: Path | None) -> list[Candidate]:
    out = [Candidate(m, "module", "standard library") for m in std_modules()] \
        if kind == "import" else []
    if folder is not None and folder.is_dir():
        found: list[str] = []
        for here, dirs, files in os.walk(folder):
            # Not into caches, build outputs or hidden folders.
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP]
            base = Path(here).relative_to(folder)
            found += [(base / f).with_suffix("").as_posix() for f in files if f.endswith(".film")]
        out += [Candidate(rel, "module", "file") for rel in sorted(found)]
    return out


_SKIP = {"build", "node_modules", "__pycache__"}


def is_name(text: str) -> bool:
    return _WORD.fullmatch(text) is not None
