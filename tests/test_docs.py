"""Every ```film example in docs/*.md and README.md is checked, so the docs stay true.

The first line of a block says what it is:

    (anything else)           a complete film: `filmc check` finds no errors (warnings are fine)
    # fragment                a part of a film, placed at the top level after HEADER below
                              (a film block and the characters MARA and TOM)
    # fragment: in a scene    placed inside a scene after HEADER; `shot wide 2s` is added
                              when the block has no shot of its own
    # fragment: in a shot     placed inside `shot medium MARA TOM { ... }` in such a scene
    # error: E0102            must fail with that error code; a placement may follow, as
                              `# error: E0102 in a shot`, else the block is a complete film
    # file: PATH              another file of a film with several files: not checked alone,
                              but written to PATH for the later blocks of the same page, and
                              a later block must import or include it

Test ids are `page:line` of the opening fence, as `language.md:123`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT
from filmlang.api import CheckResult, check_file

PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
MIN_LANGUAGE_EXAMPLES = 30
MIN_CLI_EXAMPLES = 2

HEADER = """\
film "Docs example" {
    size 320x180
}

character MARA {
    look "weathered lighthouse keeper, grey braid, yellow raincoat"
    voice "en" pitch=40 rate=150
}

character TOM {
    look "young fisherman, wool cap, soaked jacket"
    voice "en" variant="m3"
}
"""
SCENE_OPEN = 'scene example "EXT. LIGHTHOUSE - NIGHT" {\n'
SHOT_OPEN = "shot medium MARA TOM {\n"

MARKER = re.compile(
    r"^#\s*(?:(?P<fragment>fragment)(?::\s*(?P<fplace>.+?))?"
    r"|error:\s*(?P<code>[EW]\d{4})(?:,?\s+(?P<eplace>.+?))?"
    r"|file:\s*(?P<file>\S+))\s*$")
PLACES = {None: "top", "at top level": "top", "in a scene": "scene", "in a shot": "shot"}
HAS_SHOT = re.compile(r"^\s*shot\b", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    """The line of the opening fence, from 1."""
    text: str
    kind: str
    """film, fragment, error or file."""
    place: str = "film"
    """film (a complete file), top, scene or shot."""
    code: str = ""
    file: str = ""

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def _example(page: Path, line: int, text: str) -> Example:
    first = text.split("\n", 1)[0].strip()
    m = MARKER.match(first)
    if m is None:
        if re.match(r"#\s*(fragment|error|file)\b", first):
            raise ValueError(f"{page.name}:{line}: cannot read the marker {first!r}")
        return Example(page, line, text, "film")
    if m["file"]:
        return Example(page, line, text, "file", file=m["file"])
    place = (m["fplace"] or m["eplace"] or "").strip().lower() or None
    if place not in PLACES:
        raise ValueError(f"{page.name}:{line}: unknown placement {place!r}; "
                         f"use one of {[p for p in PLACES if p]}")
    if m["fragment"]:
        return Example(page, line, text, "fragment", PLACES[place])
    return Example(page, line, text, "error", PLACES[place] if place else "film", m["code"])


def examples(page: Path) -> list[Example]:
    """The ```film blocks of a page, in order (fences may be indented, as in lists)."""
    if not page.is_file():
        return []
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```film":
            start = index
            index += 1
            body: list[str] = []
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            assert index < len(lines), f"{page.name}:{start + 1}: the ```film block is never closed"
            found.append(_example(page, start + 1, textwrap.dedent("\n".join(body)) + "\n"))
        index += 1
    return found


ALL = [example for page in PAGES for example in examples(page)]


def source_of(example: Example) -> str:
    """The complete file that is checked for an example."""
    text = example.text
    if example.place == "film":
        return text
    if example.place == "top":
        # A film has a scene (E0306): a fragment without one gets one after it.
        scene = "" if re.search(r"^\s*(scene|include)\b", text, re.MULTILINE) else \
            "\nscene docs_fragment { shot wide 2s }\n"
        return HEADER + "\n" + text + scene
    if example.place == "scene":
        padding = "" if HAS_SHOT.search(text) else "shot wide 2s\n"
        return HEADER + "\n" + SCENE_OPEN + textwrap.indent(text + padding, "    ") + "}\n"
    inner = SHOT_OPEN + textwrap.indent(text, "    ") + "}\n"
    return HEADER + "\n" + SCENE_OPEN + textwrap.indent(inner, "    ") + "}\n"


def check_example(example: Example, folder: Path) -> CheckResult:
    """Write the example, and the `# file:` blocks before it on its page, and check it."""
    for other in examples(example.page):
        if other.line >= example.line:
            break
        if other.kind == "file":
            target = folder / other.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(other.text, encoding="utf-8")
    entry = folder / "example.film"
    entry.write_text(source_of(example), encoding="utf-8")
    return check_file(entry)


def _show(example: Example, result: CheckResult) -> str:
    return f"{example.id}\n--- checked source ---\n{source_of(example)}--- report ---\n" + \
        result.report()


@pytest.mark.parametrize("example", ALL, ids=[e.id for e in ALL])
def test_example(example: Example, tmp_path: Path) -> None:
    if example.kind == "file":
        later = [e for e in examples(example.page) if e.line > example.line and e.kind != "file"]
        for index, other in enumerate(later):
            folder = tmp_path / str(index)
            folder.mkdir()
            if example.file in check_example(other, folder).program.files:
                return
        pytest.fail(f"{example.id}: no later example on the page imports or includes "
                    f"{example.file}")
    result = check_example(example, tmp_path)
    if example.kind == "error":
        codes = [d.code for d in result.diagnostics]
        assert example.code in codes, f"expected {example.code}, got {codes}\n" + \
            _show(example, result)
        if example.code.startswith("E"):
            assert not result.ok
        return
    assert result.ok, _show(example, result)


def test_pages_have_examples() -> None:
    """The pages exist and are the tested, example-rich pages they should be."""
    counts = {page.name: len(examples(page)) for page in PAGES}
    assert counts.get("language.md", 0) >= MIN_LANGUAGE_EXAMPLES, counts
    assert counts.get("cli.md", 0) >= MIN_CLI_EXAMPLES, counts
    kinds = {e.kind for e in ALL if e.page.name == "language.md"}
    assert {"film", "fragment", "error", "file"} <= kinds, kinds


def test_markers_are_read() -> None:
    """The convention itself: the wrappers give files that check."""
    page = Path("page.md")
    top = _example(page, 1, "# fragment\nlet coast = \"a rocky coast\"\n")
    scene = _example(page, 1, "# fragment: in a scene\nmusic \"tense\"\n")
    shot = _example(page, 1, "# fragment: in a shot\nMARA: \"Hello.\"\n")
    error = _example(page, 1, "# error: E0102 in a shot\nMRA: \"Hello.\"\n")
    assert (top.place, scene.place, shot.place) == ("top", "scene", "shot")
    assert (error.kind, error.code, error.place) == ("error", "E0102", "shot")
    assert "shot wide 2s" in source_of(scene)
    assert source_of(shot).count("{") == source_of(shot).count("}")
    with pytest.raises(ValueError):
        _example(page, 1, "# fragment: in a film block\nfps 24\n")


def test_every_module_is_on_the_map() -> None:
    """docs/architecture.md names every module under filmlang/, or its package's
    docstring does (as `name`)."""
    import ast as python_ast

    package = ROOT / "filmlang"
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(package).as_posix()
        if relative in text:
            continue
        init = path.parent / "__init__.py"
        doc = python_ast.get_docstring(python_ast.parse(init.read_text())) if init.is_file() \
            else None
        if doc and f"`{path.stem}`" in doc:
            continue
        missing.append(relative)
    assert not missing, f"name these in docs/architecture.md: {missing}"
