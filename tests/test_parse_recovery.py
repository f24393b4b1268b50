"""After a syntax error the parser parses again block by block (`_parse_chunked`), not the
whole file again for each error: the tree and the diagnostics must be exactly those of
parsing the whole file again each time (`_parse_whole`, as before), which these tests
compare on mutated sources (issue 12: a 2 MB film with 25 errors took 18 s, now 2 s)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import ROOT
from filmlang.source import SourceFile
from filmlang.syntax import parser


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz", module)
    spec.loader.exec_module(module)
    return module


def _slow(source: SourceFile) -> tuple[Any, list[Any]]:
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    p = parser._parser()
    with p.lock:
        whole = parser._parse_whole(p, source, text, parser.MAX_TOKENS, chunkable=False)
    assert whole is not None
    return whole.module, whole.diagnostics


def _same(text: str) -> None:
    source = SourceFile(path=Path("x.film"), name="x.film", text=text)
    module, diagnostics = parser.parse(source)
    slow_module, slow_diagnostics = _slow(source)
    assert [d.model_dump() for d in diagnostics] == [d.model_dump() for d in slow_diagnostics]
    assert module.model_dump() == slow_module.model_dump()


fuzz = _fuzz()
FILES = fuzz.seed_files()
TEXTS = fuzz.read_seeds(FILES)


@pytest.mark.parametrize("block", range(12))
def test_chunked_recovery_is_the_whole_files(block: int) -> None:
    for index in range(block * 150, (block + 1) * 150):
        case = fuzz.make_case(7, index, FILES, TEXTS)
        if isinstance(case.data, str):
            _same(case.data)


BROKEN = '''film "T" { size 320x180 }

character MARA { look "a" }
scene s {
    shot wide MARA 2s { action "x" ] }
}


scene t {
    shot wide 2s
    = oops
}
# a comment
scene u { shot wide "\\q" 1s }
'''


def test_many_errors_and_the_limit_of_errors() -> None:
    _same(BROKEN * 3)
    _same(BROKEN * 12)  # past 25 errors: the parse gives up, as the whole file's did


def test_the_token_limit_falls_where_the_whole_files_did(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for limit in range(1, 90, 3):
        monkeypatch.setattr(parser, "MAX_TOKENS", limit)
        _same(BROKEN * 2)


def test_a_longer_file_with_many_errors() -> None:
    scene = 'scene s{n} {{\n    shot wide 2s {{ action "a" }}\n}}\n'
    text = "".join(scene.format(n=n) for n in range(300))
    lines = text.split("\n")
    for i in range(100, len(lines), len(lines) // 20):
        lines[i] += " ]"
    _same("\n".join(lines))


_TOKEN = __import__("re").compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]')


def _chunks_token_by_token(text: str) -> list[tuple[int, int]] | None:
    """`chunks` as it was written before (issue 17): a loop over every string, comment and
    brace, where `chunks` now matches the text up to each brace at once."""
    import itertools

    depth, cuts = 0, [0]
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "{}":
            depth += 1 if token == "{" else -1
            if depth < 0:
                return None
            if depth == 0:
                newline = text.find("\n", match.end())
                if newline == -1:
                    break
                if newline + 1 > cuts[-1]:
                    cuts.append(newline + 1)
    if depth != 0:
        return None
    if cuts[-1] < len(text):
        cuts.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def test_chunks_are_those_of_a_token_by_token_scan() -> None:
    """On every film of the project and on mutations full of braces, quotes, comments and
    backslashes, the chunks are those the token-by-token scan finds."""
    import random

    from filmlang.syntax.chunks import chunks

    films = [p.read_text(errors="replace") for folder in ("examples", "stdlib", "tests")
             for p in sorted((ROOT / folder).rglob("*.film"))]
    assert len(films) > 20
    rng = random.Random(17)
    texts = list(films)
    for film in films:
        for _ in range(40):
            chars = list(film[:2000])
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(chars) + 1)
                chars[at:at + rng.randint(0, 1)] = rng.choice(['{', '}', '"', '"""', '#', '\n',
                                                                 '\\', ' ', 'a'])
            texts.append("".join(chars))
    differ = [t for t in texts if chunks(t) != _chunks_token_by_token(t)]
    assert not differ, differ[:3]
    assert sum(chunks(t) is None for t in texts) > 50  # unbalanced ones were among them


def test_chunks_scanned_again_from_the_last_are_a_whole_scans() -> None:
    """`rechunk` (the language server's: it scans again only around an edit) gives what a
    whole scan gives, after edits full of braces, quotes and newlines, one after another."""
    import random

    from filmlang.syntax.chunks import chunks, closes, rechunk

    films = [p.read_text(errors="replace") for folder in ("examples", "stdlib", "tests")
             for p in sorted((ROOT / folder).rglob("*.film"))]
    rng = random.Random(18)
    checked = 0
    for film in films:
        text, known = film, closes(film)
        for _ in range(80):
            chars = list(text)
            at = rng.randrange(len(chars) + 1)
            chars[at:at + rng.randint(0, 3)] = rng.choice(
                ['{', '}', '"', '"""', '#', '\n', '\\', ' ', 'a', '}\n', 'x {\n}\n', ''])
            edited = "".join(chars)
            got = rechunk(text, known, edited)
            assert (got[0] if got is not None else None) == chunks(edited), (text, edited)
            assert got is None or got[1] == closes(edited)
            checked += got is not None
            if got is not None or rng.random() < 0.3:  # back to a text that chunks
                text, known = (edited, got[1]) if got is not None else (film, closes(film))
    assert checked > 200
