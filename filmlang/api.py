"""The Python API: load, check and format films from Python, as the CLI does.

`filmc` is a thin layer over these functions; `docs/api.md` documents them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filmlang import ir
from filmlang.diagnostics import Diagnostic, render_all, summary, to_json_lines
from filmlang.semantic.checker import check
from filmlang.semantic.loader import Program, load
from filmlang.source import SourceFile
from filmlang.syntax import ast
from filmlang.syntax.formatter import format_module
from filmlang.syntax.parser import parse


@dataclass
class CheckResult:
    """What checking a film gave: the IR (when there are no errors) and the diagnostics."""

    program: Program
    film: ir.Film | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.film is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def report(self, *, cwd: Path | None = None) -> str:
        """The diagnostics as a compiler prints them, with a summary line."""
        if not self.diagnostics:
            return ""
        display = self.program.display_names(cwd)
        return render_all(self.diagnostics, self.program.files, display=display) + \
            f"\n\n{summary(self.diagnostics)}"

    def report_json(self, *, cwd: Path | None = None) -> str:
        return to_json_lines(self.diagnostics, self.program.display_names(cwd))


def check_file(path: Path | str, *, allow_outside: bool = False,
               text: str | None = None) -> CheckResult:
    """Load and check a film: its entry file and everything it imports or includes."""
    program = load(path, allow_outside=allow_outside, text=text)
    film, diagnostics = check(program)
    return CheckResult(program=program, film=film, diagnostics=diagnostics)


def ir_json(film: ir.Film) -> str:
    return json.dumps(film.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def without_origins(value: Any) -> Any:
    """An IR dump with every span removed: what fmt must leave unchanged."""
    if isinstance(value, dict):
        return {k: without_origins(v) for k, v in value.items() if k != "origin"}
    if isinstance(value, list):
        return [without_origins(v) for v in value]
    return value


@dataclass
class FormatResult:
    source: SourceFile
    text: str | None
    """The formatted text; None when the file does not parse."""
    diagnostics: list[Diagnostic]

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.source.text


def format_text(text: str, name: str = "<text>", path: Path | None = None) -> FormatResult:
    """Format source text. Text that does not parse is returned with its diagnostics."""
    source = SourceFile(path=path or Path(name), name=name, text=text)
    module, diagnostics = parse(source)
    if diagnostics:
        return FormatResult(source=source, text=None, diagnostics=diagnostics)
    return FormatResult(source=source, text=format_module(module, source), diagnostics=[])


def parse_text(text: str, name: str = "<text>") -> tuple[ast.Module, list[Diagnostic]]:
    return parse(SourceFile(path=Path(name), name=name, text=text))
