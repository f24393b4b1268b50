"""The syntax tree of a `.film` file.

The parser gives these frozen models; the checker takes them. They say only what was
written (the four statement forms of spec section 3), never what it means. Every node
carries its `Span`; every value keeps its `raw` text so `filmc fmt` can write it back
exactly as the writer typed it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from filmlang.source import Span


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    span: Span


# ---------------------------------------------------------------- values


class StringValue(Node):
    kind: Literal["string"] = "string"
    value: str
    raw: str


class NumberValue(Node):
    kind: Literal["number"] = "number"
    value: float
    raw: str

    @property
    def is_int(self) -> bool:
        return "." not in self.raw


class DurationValue(Node):
    kind: Literal["duration"] = "duration"
    seconds: float
    raw: str


class SizeValue(Node):
    kind: Literal["size"] = "size"
    width: int
    height: int
    raw: str


class NameValue(Node):
    kind: Literal["name"] = "name"
    name: str

    @property
    def raw(self) -> str:
        return self.name


class ListValue(Node):
    kind: Literal["list"] = "list"
    items: tuple[Value, ...]

    @property
    def raw(self) -> str:
        return "[" + ", ".join(item.raw for item in self.items) + "]"


Value = Annotated[
    StringValue | NumberValue | DurationValue | SizeValue | NameValue | ListValue,
    Field(discriminator="kind"),
]

# What each kind of value is called in messages to writers.
VALUE_WORDS: dict[str, str] = {
    "string": "a string",
    "number": "a number",
    "duration": "a duration",
    "size": "a size",
    "name": "a name",
    "list": "a list",
}


# ---------------------------------------------------------------- statements


class KwArg(Node):
    name: str
    name_span: Span
    value: Value


class Property(Node):
    """`NAME value* key=value*`: `fps 24`, `voice "en" pitch=40`, `fade 1s`."""

    kind: Literal["property"] = "property"
    name: str
    name_span: Span
    args: tuple[Value, ...] = ()
    kwargs: tuple[KwArg, ...] = ()


class Block(Node):
    """`NAME value* key=value* { statement* }`: `scene storm "EXT. COAST" { ... }`."""

    kind: Literal["block"] = "block"
    name: str
    name_span: Span
    args: tuple[Value, ...] = ()
    kwargs: tuple[KwArg, ...] = ()
    body: tuple[Statement, ...] = ()
    close_span: Span


class Dialogue(Node):
    """`NAME (words): "line"`."""

    kind: Literal["dialogue"] = "dialogue"
    speaker: str
    speaker_span: Span
    parenthetical: str | None = None
    parenthetical_span: Span | None = None
    text: StringValue


class Import(Node):
    kind: Literal["import"] = "import"
    path: StringValue


class Include(Node):
    kind: Literal["include"] = "include"
    path: StringValue


class Let(Node):
    kind: Literal["let"] = "let"
    name: str
    name_span: Span
    value: Value


Statement = Annotated[
    Property | Block | Dialogue | Import | Include | Let,
    Field(discriminator="kind"),
]


class Comment(Node):
    text: str


class Module(BaseModel):
    """One parsed file: its statements and, for the formatter, its comments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    body: tuple[Statement, ...]
    comments: tuple[Comment, ...] = ()


ListValue.model_rebuild()
Block.model_rebuild()
Module.model_rebuild()
