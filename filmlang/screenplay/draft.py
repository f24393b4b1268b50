"""The film being written by the screenplay importer: its scenes and shots, and the
spelling of `.film` strings and comments (shared by `importer` and `writer`)."""

from __future__ import annotations

from dataclasses import dataclass, field

INDENT = "    "


def quote(text: str, template: bool = False) -> str:
    """A .film string of `text`; a template's braces kept as text."""
    text = " ".join(text.split())
    if template and any(mark in text for mark in ("{{", "{%", "{#")):
        text = "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines() or [""]]


@dataclass
class Shot:
    head: str
    body: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    speaker: str = ""

    def lines(self) -> list[str]:
        out = [f"{INDENT}{c}" for note in self.notes for c in comment(note)]
        if not self.body:
            return [*out, f"{INDENT}{self.head}"]
        return [*out, f"{INDENT}{self.head} {{", *(f"{INDENT * 2}{b}" for b in self.body),
                f"{INDENT}}}"]


@dataclass
class Scene:
    name: str
    heading: str | None
    line: int
    items: list[Shot | str | tuple[str, str]] = field(default_factory=list)
    """Shots, comment lines, and transitions as (statement, comment)."""
    top: list[str] = field(default_factory=list)
    """Comments that stand before the scene."""
