"""Diagnostics: what went wrong in a writer's source, where, and how to fix it.

Takes `Diagnostic` values from every stage and gives them to people (a caret under the
source, as a good compiler does) or to tools (JSON). The codes are stable and documented
in `docs/errors.md`; `CODES` is the one table of them, and a test checks the two agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from filmlang.source import SourceFile, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


# code -> short title. Documented in docs/errors.md with an example each.
CODES: dict[str, str] = {
    # E00xx: reading and parsing
    "E0001": "unexpected character",
    "E0002": "unexpected token",
    "E0003": "unterminated string",
    "E0004": "unknown escape in a string",
    "E0005": "unexpected end of file",
    "E0006": "file cannot be read",
    "E0007": "nested too deeply",
    "E0008": "file too large",
    "E0009": "too many diagnostics",
    # E01xx: names and statements
    "E0101": "unknown statement",
    "E0102": "unknown character",
    "E0103": "unknown name",
    "E0104": "unknown shot type",
    "E0105": "duplicate declaration",
    "E0106": "statement not allowed here",
    "E0107": "duplicate property",
    "E0108": "unknown keyword argument",
    "E0109": "name cycle in let constants",
    # E02xx: values
    "E0201": "wrong type of value",
    "E0202": "value out of range",
    "E0203": "wrong number of values",
    "E0204": "not one of the allowed words",
    "E0205": "malformed value",
    # E03xx: structure of the film
    "E0301": "no film block",
    "E0302": "more than one film block",
    "E0303": "transition in the wrong place",
    "E0304": "scene without shots",
    "E0305": "dialogue outside a shot",
    "E0306": "film without scenes",
    # E04xx: imports and includes
    "E0401": "file not found",
    "E0402": "import or include cycle",
    "E0403": "path outside the film's folder",
    "E0404": "imported module declares a film or scene",
    "E0405": "malformed path",
    # E05xx: prompt templates
    "E0501": "template syntax error",
    "E0502": "unknown name in a template",
    "E0503": "template not allowed to do that",
    "E0504": "template error",
    "E0505": "template over its budget",
    "E0506": "template prints something that is not text",
    # E06xx: building (found once speech durations are known)
    "E0601": "dialogue longer than its shot",
    "E0602": "transition longer than its shots",
    "E0603": "a backend is not available",
    "E0604": "a shot the video model cannot make",
    # W: warnings
    "W0001": "heading and time of day disagree",
    "W0002": "character declared but never used",
    "W0003": "two characters would sound alike",
    "W0004": "a parenthetical the voice does not know",
    "W0005": "action the animatic does not stage",
    "W0006": "place the animatic does not know",
}


class Label(BaseModel):
    """A secondary place that helps explain a diagnostic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    span: Span
    message: str


class Edit(BaseModel):
    """One change of a fix: the text of `span` becomes `text` (an empty span inserts); or,
    with `create` (an absolute path), a new file holding `text`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    span: Span | None = None
    text: str
    create: str = ""


class Fix(BaseModel):
    """A change that makes a diagnostic go away: an editor's quick fix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    edits: tuple[Edit, ...]


def point(span: Span, *, end: bool = False) -> Span:
    """The empty span at the start (or `end`) of `span`: where an insertion goes."""
    if end:
        return span.model_copy(update={"start": span.end, "line": span.end_line,
                                       "column": span.end_column})
    return span.model_copy(update={"end": span.start, "end_line": span.line,
                                   "end_column": span.column})


def replace_with(span: Span, text: str, title: str = "") -> Fix:
    """The fix that writes `text` in place of `span` ("did you mean")."""
    return Fix(title=title or f"Change to {text}", edits=(Edit(span=span, text=text),))


class Diagnostic(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    span: Span
    label: str = ""
    help: str = ""
    notes: tuple[Label, ...] = ()
    fixes: tuple[Fix, ...] = ()
    """Changes that fix it (the "did you mean" of `help`, as an edit)."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "label": self.label,
            "help": self.help,
            "notes": [
                {"message": n.message, "file": n.span.file, "line": n.span.line,
                 "column": n.span.column}
                for n in self.notes
            ],
        }
        if self.fixes:
            out["fixes"] = [{"title": f.title, "edits": [_edit_json(e) for e in f.edits]}
                            for f in self.fixes]
        return out


def _edit_json(edit: Edit) -> dict[str, object]:
    if edit.span is None:
        return {"create": edit.create, "text": edit.text}
    span = edit.span
    return {"file": span.file, "line": span.line, "column": span.column,
            "end_line": span.end_line, "end_column": span.end_column, "text": edit.text}


def error(code: str, message: str, span: Span, *, label: str = "", help: str = "",
          notes: Iterable[Label] = (), fixes: Iterable[Fix | None] = ()) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, span=span,
                      label=label, help=help, notes=tuple(notes),
                      fixes=tuple(f for f in fixes if f is not None))


def warning(code: str, message: str, span: Span, *, label: str = "", help: str = "",
            notes: Iterable[Label] = (), fixes: Iterable[Fix | None] = ()) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.WARNING, message=message, span=span,
                      label=label, help=help, notes=tuple(notes),
                      fixes=tuple(f for f in fixes if f is not None))


class CompileError(Exception):
    """Raised by a stage that cannot go on; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} diagnostic(s)")
        self.diagnostics = diagnostics


MAX_DIAGNOSTICS = 1000
"""The most diagnostics one check keeps; past it they are counted, and one E0009 says so."""


class TooMany(BaseException):
    """Raised by `Capped` at its limit, to stop the work whose problems nobody would read.

    A BaseException, as KeyboardInterrupt is, so no `except Exception` on the way takes it
    for a failure of its own."""


class Capped(list[Diagnostic]):
    """A list of diagnostics that stops the check at `MAX_DIAGNOSTICS`.

    A file of 100,000 misspelt words would otherwise give 100,000 messages: hundreds of
    megabytes, and seconds of looking for the nearest word to each, where the first screenful
    is what anyone reads. The checker catches `TooMany` and ends with one E0009.
    """

    def __init__(self, items: Iterable[Diagnostic] = (), limit: int = MAX_DIAGNOSTICS) -> None:
        super().__init__(items)
        self.limit = limit
        self.stopped = False

    def append(self, diagnostic: Diagnostic) -> None:
        super().append(diagnostic)
        if len(self) >= self.limit and not self.stopped:
            self.stopped = True
            raise TooMany

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.append(diagnostic)

    def too_many(self) -> Diagnostic | None:
        """The E0009 that says the check stopped, at the last problem; None if it did not."""
        if not self.stopped:
            return None
        return error("E0009", f"checking stopped after {len(self):,} problems", self[-1].span,
                     label="the last one shown",
                     help="fix the problems shown and check again")


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.start, d.span.end, d.code)


def render(diagnostic: Diagnostic, sources: Mapping[str, SourceFile],
           *, display: Mapping[str, str] | None = None) -> str:
    """The diagnostic as text: header, location, source line with carets, help."""
    span = diagnostic.span
    shown = (display or {}).get(span.file, span.file)
    lines = [
        f"{shown}:{span.line}:{span.column}: {diagnostic.severity.value}: "
        f"{diagnostic.message} [{diagnostic.code}]"
    ]
    source = sources.get(span.file)
    if source is not None:
        lines.extend(_snippet(source, span, diagnostic.label))
    for note in diagnostic.notes:
        where = (display or {}).get(note.span.file, note.span.file)
        lines.append(f"{_PAD}= note: {note.message} ({where}:{note.span.line}:{note.span.column})")
    if diagnostic.help:
        for i, part in enumerate(diagnostic.help.splitlines()):
            lines.append(_PAD + ("= help: " if i == 0 else "        ") + part)
    return "\n".join(lines)


_PAD = " " * 6


def _snippet(source: SourceFile, span: Span, label: str) -> list[str]:
    text = source.line_text(span.line)
    gutter = max(5, len(str(span.line)))
    start = max(1, span.column)
    if span.end_line == span.line:
        end = max(start + 1, span.end_column)
    else:
        end = max(start + 1, len(text) + 1)
    end = min(end, max(start + 1, len(text) + 1))
    # Tabs keep their width under the caret so it lines up in a terminal.
    prefix = "".join("\t" if ch == "\t" else " " for ch in text[: start - 1])
    carets = prefix + "^" * (end - start)
    if label:
        carets += " " + label
    return [
        f"{span.line:>{gutter}} | {text}",
        f"{'':>{gutter}} | {carets}",
    ]


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile],
               *, display: Mapping[str, str] | None = None) -> str:
    return "\n\n".join(render(d, sources, display=display) for d in diagnostics)


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    items = list(diagnostics)
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"


def to_json_lines(diagnostics: Iterable[Diagnostic],
                  display: Mapping[str, str] | None = None) -> str:
    out = []
    for d in diagnostics:
        obj = d.to_json()
        if display:
            obj["file"] = display.get(d.span.file, d.span.file)
        out.append(json.dumps(obj, ensure_ascii=False))
    return "\n".join(out)
