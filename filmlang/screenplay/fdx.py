"""A Final Draft (`.fdx`) reader: its XML in, the same elements as the Fountain reader
out, each with the line of its `<Paragraph>`.

Read with the standard library's SAX parser (`xml.sax`, which resolves no external
entities), because it reports the line of each element. A file that stops being
well-formed keeps what was read before the fault, with a warning at its line.
"""

from __future__ import annotations

import xml.sax
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

from filmlang.screenplay.elements import Element, Script, Warning

KINDS = {"scene heading": "heading", "action": "action", "character": "character",
         "parenthetical": "parenthetical", "dialogue": "dialogue", "transition": "transition",
         "shot": "action", "general": "action", "lyrics": "lyric", "new act": "section",
         "end of act": "section", "cast list": "note", "outline": "synopsis"}
TITLE_KEYS = ("Title", "Credit", "Author", "Source", "Draft date", "Contact")


class _Handler(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.script = Script()
        self.kind = ""
        self.number = ""
        self.line = 0
        self.text: list[str] = []
        self.in_paragraph = False
        self.in_title = False
        self.in_note = False
        self.dual = 0
        self.title_lines: list[tuple[int, str]] = []

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def where(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        if name == "TitlePage":
            self.in_title = True
        elif name == "DualDialogue":
            self.dual = 1
        elif name == "ScriptNote":
            self.in_note = True
        elif name == "Paragraph":
            self.in_paragraph = True
            self.kind = str(attrs.get("Type", "Action")).strip().lower()
            self.number = str(attrs.get("Number", "")).strip()
            self.line = self.where()
            self.text = []

    def characters(self, content: str) -> None:
        if self.in_paragraph:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        if name == "TitlePage":
            self.in_title = False
        elif name == "DualDialogue":
            self.dual = 0
        elif name == "ScriptNote":
            self.in_note = False
        elif name == "Paragraph" and self.in_paragraph:
            self.in_paragraph = False
            self.paragraph("".join(self.text).strip())

    def paragraph(self, text: str) -> None:
        if self.in_title:
            if text:
                self.title_lines.append((self.line, text))
            return
        if self.in_note:
            self.script.elements.append(Element("note", text, self.line))
            return
        kind = KINDS.get(self.kind)
        if kind is None:
            self.script.warnings.append(Warning(self.line, f"a paragraph of type "
                                                           f"'{self.kind}' is read as action"))
            kind = "action"
        if not text and kind != "heading":
            return
        self.script.elements.append(self.element(kind, text))

    def element(self, kind: str, text: str) -> Element:
        if kind == "character":
            name, _, rest = text.partition("(")
            dual = self.dual == 2
            if self.dual:
                self.dual += 1
            return Element("character", name.strip(), self.line,
                           extension=("(" + rest).strip() if rest else "", dual=dual)
        if kind == "parenthetical":
            return Element(kind, text.strip().removeprefix("(").removesuffix(")").strip(),
                           self.line)
        if kind == "section":
            return Element(kind, text, self.line, level=1)
        return Element(kind, text, self.line, number=self.number if kind == "heading" else "")

    def title_page(self) -> None:
        """Final Draft's title page is centred lines: the first is the title, the rest are
        kept in order (by, author, contact)."""
        for index, (line, text) in enumerate(self.title_lines):
            key = "Title" if index == 0 else "Title page"
            self.script.title.append(Element("title", text, line, key=key))


def read_fdx(data: bytes) -> Script:
    """A Final Draft file's elements, in order, with warnings; never raises."""
    handler = _Handler()
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(handler)
    try:
        import io

        parser.parse(io.BytesIO(data))
    except xml.sax.SAXParseException as exc:
        handler.script.warnings.append(Warning(
            exc.getLineNumber() or 0, f"not well-formed XML ({exc.getMessage()}): the rest of "
                                 "the file is left out"))
    except (xml.sax.SAXException, ValueError) as exc:
        handler.script.warnings.append(Warning(handler.where(), f"cannot read it: {exc}"))
    handler.title_page()
    return handler.script
