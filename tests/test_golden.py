"""Golden files per stage: `tests/golden/<name>/source.film` gives `ast.json` (the parser),
`ir.json` (the checker; absent when the source has errors) and `diagnostics.txt`.

The example films are checked the same way into `tests/golden/example_<name>/`.
Regenerate with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, assert_golden
from filmlang.api import check_file, ir_json
from filmlang.source import SourceFile
from filmlang.syntax.parser import parse

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.film"))


def corpus() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "source.film").is_file())


@pytest.mark.parametrize("case", corpus(), ids=lambda p: p.name)
def test_ast(case: Path, update_golden: bool) -> None:
    path = case / "source.film"
    module, diagnostics = parse(SourceFile(path=path, name="source.film",
                                           text=path.read_text(encoding="utf-8")))
    data = {"module": module.model_dump(mode="json"),
            "diagnostics": [d.to_json() for d in diagnostics]}
    assert_golden(case / "ast.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                  update_golden)


@pytest.mark.parametrize("case", corpus(), ids=lambda p: p.name)
def test_ir_and_diagnostics(case: Path, update_golden: bool,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    result = check_file(case / "source.film")
    assert_golden(case / "diagnostics.txt", (result.report() or "no problems") + "\n",
                  update_golden)
    if result.film is not None:
        assert_golden(case / "ir.json", ir_json(result.film), update_golden)
    else:
        assert not (case / "ir.json").exists(), "a source with errors has no IR"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_check_clean(example: Path, update_golden: bool,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example.parent)
    result = check_file(example)
    assert result.ok and not result.diagnostics, result.report()
    assert result.film is not None
    folder = GOLDEN / f"example_{example.stem}"
    folder.mkdir(exist_ok=True)
    assert_golden(folder / "ir.json", ir_json(result.film), update_golden)


def test_examples_show_the_language() -> None:
    """The multi-scene example has what the issue asks: include, let, music, titles ..."""
    texts = "\n".join(p.read_text() for p in (ROOT / "examples").rglob("*.film"))
    for needle in ("include ", "import ", "let ", "music ", "title ", "dissolve ", "fade ",
                   "wipe ", "("):
        assert needle in texts, needle
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_ir_round_trips_through_its_schema(example: Path) -> None:
    """Every field the checker sets is a declared one (extra='forbid' holds on reload)."""
    from filmlang import ir

    film = check_file(example).film
    assert film is not None
    again = ir.Film.model_validate_json(ir_json(film))
    assert again == film
