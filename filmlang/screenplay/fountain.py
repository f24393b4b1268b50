"""A Fountain reader (https://fountain.io/syntax): a screenplay's text in, its elements out,
each with the line it starts on.

Written here rather than taken from PyPI: the maintained parsers there (`screenplain`
0.12, `jouvence` 0.4) keep no source lines, so they cannot say where a malformed
screenplay goes wrong (warnings at file:line), and both drop notes `[[ ]]` and synopses
`=`, which an import keeps as comments. This reader follows the spec's rules: the title
page, scene headings (with forced `.HEADING` and scene numbers `#1#`), action (forced
`!`), character cues (extensions, forced `@`, dual dialogue `^`), parentheticals,
dialogue, lyrics `~`, transitions (`... TO:`, forced `>`), centered text `>text<`,
emphasis, notes, boneyard `/* */`, sections `#`, synopses `=` and page breaks `===`.

It never raises on text: what cannot be read as the spec says is read as action or kept
as text, with a `Warning` at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from filmlang.screenplay.elements import Element, Script, Warning

_REMOVED = "\x01"
"""Marks where a note or a boneyard was taken out of a line."""

HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|E/I|EXT\.?/INT|INT|EXT|EST)[.\s]",
                     re.IGNORECASE)
_NUMBER = re.compile(r"\s*#([A-Za-z0-9.\-]+)#\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*(.*)$")
_PAGE_BREAK = re.compile(r"^\s*={3,}\s*$")
_CENTERED = re.compile(r"^\s*>\s*(.*?)\s*<\s*$")
_PARENTHETICAL = re.compile(r"^\s*(\(.*\))\s*$")
_TRANSITION_WORDS = ("FADE IN:", "FADE OUT.", "FADE TO BLACK.", "FADE OUT:")
_EMPHASIS = re.compile(r"(?<!\\)(\*{1,3}|_)(?=\S)(.+?)(?<=\S)(?<!\\)\1")
_OFF_SCREEN = ("V.O.", "O.S.", "O.C.", "OFF", "V.O", "O.S")


def plain(text: str) -> tuple[str, list[str]]:
    """Text without emphasis markup (`*italic*`, `**bold**`, `_underline_`), and the
    emphasised words; `\\*` and `\\_` are literal."""
    stressed: list[str] = []

    def strip(match: re.Match[str]) -> str:
        stressed.append(match[2])
        return match[2]

    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(strip, text)
    return text.replace("\\*", "*").replace("\\_", "_"), stressed


@dataclass
class _Lines:
    """The screenplay's lines after notes and boneyard are taken out: (line number, text),
    without the lines that held nothing else."""

    items: list[tuple[int, str]] = field(default_factory=list)
    side: list[Element] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


def _take_out(text: str, lines: _Lines, opener: str, closer: str, kind: str) -> str:
    """Replace each `opener ... closer` span with markers (keeping its newlines), and
    remember it as an element at the line it starts on."""
    out: list[str] = []
    at = 0
    while True:
        start = text.find(opener, at)
        if start < 0:
            break
        end = text.find(closer, start + len(opener))
        line = text.count("\n", 0, start) + 1
        if end < 0:
            what = "boneyard /*" if kind == "boneyard" else "note [["
            lines.warnings.append(Warning(line, f"this {what} is never closed with "
                                                f"{closer}: read as text"))
            break
        body = text[start + len(opener):end]
        lines.side.append(Element(kind, " ".join(body.split()), line))
        out.append(text[at:start])
        out.append(_REMOVED + (("\n" + _REMOVED) * body.count("\n")))
        at = end + len(closer)
    out.append(text[at:])
    return "".join(out)


def _lines(text: str) -> _Lines:
    lines = _Lines()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _take_out(text, lines, "/*", "*/", "boneyard")
    text = _take_out(text, lines, "[[", "]]", "note")
    for number, raw in enumerate(text.split("\n"), 1):
        if _REMOVED in raw:
            raw = raw.replace(_REMOVED, "")
            if not raw.strip():
                continue
            raw = raw.rstrip()
        lines.items.append((number, raw))
    return lines


def _blank(line: str) -> bool:
    # Two spaces alone are a deliberate empty line inside dialogue (spec: line breaks).
    return not line.strip() and line != "  "


def _is_caps(text: str) -> bool:
    name = text.split("(")[0]
    return any(c.isalpha() for c in name) and text == text.upper()


class _Reader:
    def __init__(self, text: str) -> None:
        found = _lines(text)
        self.lines = found.items
        self.side = found.side
        self.warnings = found.warnings
        self.elements: list[Element] = []
        self.title: list[Element] = []
        self.i = 0

    def line(self, k: int) -> str:
        return self.lines[k][1] if 0 <= k < len(self.lines) else ""

    def blank_before(self) -> bool:
        return self.i == 0 or _blank(self.line(self.i - 1))

    def blank_after(self) -> bool:
        return self.i + 1 >= len(self.lines) or _blank(self.line(self.i + 1))

    def add(self, kind: str, text: str, **fields: object) -> None:
        self.elements.append(Element(kind, text, self.lines[self.i][0], **fields))  # type: ignore[arg-type]

    # ---------------------------------------------------------------- the title page

    def title_page(self) -> None:
        if not self.lines or not _TITLE_KEY.match(self.line(0).strip()):
            return
        key = ""
        while self.i < len(self.lines) and not _blank(self.line(self.i)):
            raw = self.line(self.i)
            match = _TITLE_KEY.match(raw.strip())
            if match and not raw.startswith((" ", "\t")):
                key = match[1].strip()
                self.title.append(Element("title", match[2].strip(), self.lines[self.i][0],
                                          key=key))
            elif self.title:
                last = self.title[-1]
                joined = f"{last.text}\n{raw.strip()}" if last.text else raw.strip()
                self.title[-1] = Element("title", joined, last.line, key=last.key)
            self.i += 1

    # ---------------------------------------------------------------- the body

    def read(self) -> None:
        self.title_page()
        while self.i < len(self.lines):
            if _blank(self.line(self.i)):
                self.i += 1
                continue
            self.paragraph()

    def paragraph(self) -> None:
        raw = self.line(self.i)
        text = raw.strip()
        for test in (self.simple, self.heading, self.transition, self.character):
            if test(raw, text):
                return
        self.action()

    def simple(self, raw: str, text: str) -> bool:
        """The one-line elements marked by their first character."""
        if _PAGE_BREAK.match(text):
            self.add("page_break", "")
        elif text.startswith("#"):
            level = len(text) - len(text.lstrip("#"))
            self.add("section", text[level:].strip(), level=level)
        elif text.startswith("=") and not text.startswith("=="):
            self.add("synopsis", text[1:].strip())
        elif (centered := _CENTERED.match(text)) is not None:
            self.add("centered", centered[1])
        elif text.startswith("~"):
            self.add("lyric", text[1:].strip())
        else:
            return False
        self.i += 1
        return True

    def heading(self, raw: str, text: str) -> bool:
        forced = text.startswith(".") and not text.startswith("..")
        if not forced and not (HEADING.match(text) and self.blank_before()):
            return False
        body = text[1:].strip() if forced else text
        number = ""
        match = _NUMBER.search(body)
        if match:
            number, body = match[1], body[:match.start()].strip()
        if not body:
            self.warnings.append(Warning(self.lines[self.i][0],
                                         "this scene heading is empty: it starts a scene "
                                         "with no place"))
        self.add("heading", body, number=number, forced=forced)
        self.i += 1
        return True

    def transition(self, raw: str, text: str) -> bool:
        if text.startswith(">"):
            self.add("transition", text[1:].strip(), forced=True)
        elif (text.isupper() and self.blank_before() and self.blank_after()
              and (text.endswith("TO:") or text in _TRANSITION_WORDS)):
            self.add("transition", text)
        else:
            return False
        self.i += 1
        return True

    def character(self, raw: str, text: str) -> bool:
        forced = text.startswith("@")
        if not self.blank_before() or self.blank_after() or self.i + 1 >= len(self.lines):
            return False
        if not forced and not _is_caps(text.rstrip("^").strip()):
            return False
        cue = text[1:] if forced else text
        dual = cue.rstrip().endswith("^")
        cue = cue.rstrip().rstrip("^").strip()
        name, _, rest = cue.partition("(")
        extension = ("(" + rest).strip() if rest else ""
        self.add("character", name.strip(), extension=extension, dual=dual, forced=forced)
        self.i += 1
        self.dialogue()
        return True

    def dialogue(self) -> None:
        """Parentheticals, lyrics and lines of dialogue, up to the next blank line."""
        while self.i < len(self.lines) and not _blank(self.line(self.i)):
            raw = self.line(self.i)
            text = raw.strip()
            if (match := _PARENTHETICAL.match(text)) is not None:
                self.add("parenthetical", match[1][1:-1].strip())
            elif text.startswith("~"):
                self.add("lyric", text[1:].strip(), in_dialogue=True)
            elif self.elements and self.elements[-1].kind == "dialogue" and \
                    self.elements[-1].line < self.lines[self.i][0]:
                last = self.elements[-1]
                self.elements[-1] = Element("dialogue", f"{last.text}\n{text}",
                                            last.line)
            else:
                self.add("dialogue", text)
            self.i += 1

    def action(self) -> None:
        """An action paragraph: every line up to the next blank one (`!` forces one)."""
        start = self.lines[self.i][0]
        texts: list[str] = []
        while self.i < len(self.lines) and not _blank(self.line(self.i)):
            raw = self.line(self.i)
            texts.append(raw[1:] if raw.startswith("!") and not texts else raw)
            self.i += 1
        self.elements.append(Element("action", "\n".join(t.rstrip() for t in texts).strip(),
                                     start))


def off_screen(extension: str) -> bool:
    """A cue's extension that says the speaker is not seen: `(V.O.)`, `(O.S.)`."""
    upper = extension.upper()
    return any(f"({word})" in upper.replace(" ", "") for word in _OFF_SCREEN)


def read_fountain(text: str) -> Script:
    """A Fountain screenplay's elements, in order, with warnings; never raises."""
    reader = _Reader(text)
    reader.read()
    body = sorted([*reader.elements, *reader.side], key=lambda e: e.line)
    return Script(title=reader.title, elements=body, warnings=reader.warnings)
