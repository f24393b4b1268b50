"""A screenplay as elements: what the Fountain and Final Draft readers give and the
importer turns into a film."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("title", "heading", "action", "character", "parenthetical", "dialogue", "lyric",
         "transition", "centered", "note", "boneyard", "section", "synopsis", "page_break")


@dataclass(frozen=True)
class Element:
    """One element of a screenplay, at the line (1-based) where it starts."""

    kind: str
    """One of `KINDS`."""
    text: str
    line: int
    key: str = ""
    """A title page entry's key (`Title`, `Credit`, `Author`, `Draft date`)."""
    number: str = ""
    """A scene heading's number (`#12A#`)."""
    extension: str = ""
    """A character cue's extensions, with their brackets: `(V.O.) (CONT'D)`."""
    dual: bool = False
    """A character cue marked `^`: spoken at the same time as the cue before."""
    forced: bool = False
    level: int = 0
    """A section's depth (the number of `#`)."""
    in_dialogue: bool = False
    """A lyric sung inside a character's dialogue."""


@dataclass(frozen=True)
class Warning:
    """Something the reader could not read as the format says: where, and what it did."""

    line: int
    message: str


@dataclass
class Script:
    title: list[Element] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
