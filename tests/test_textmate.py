"""The TextMate grammar: generated, committed, and agreeing with the parser's tokens.

A small TextMate engine (below: `match` rules with captures, `begin`/`end` rules with
inner patterns, `include`s of the repository; at each place the leftmost match wins, ties
go to the first rule, and a rule's `end` is tried before its inner patterns) tokenizes the
example films line by line; every token of the parser's token stream must get the scope
its kind calls for.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from filmlang.lsp import textmate, tokens

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "film.tmLanguage.json"
EXAMPLES = sorted([*ROOT.glob("examples/*.film"), *ROOT.glob("examples/last_ferry/*.film"),
                   *ROOT.glob("stdlib/std/*.film")])

# What each kind of token (tokens.classify) must be coloured as: a scope prefix.
EXPECTED = {
    "keyword": ("keyword.other.", "keyword.control."),
    "property": ("support.type.property-name.",),
    "class": ("entity.name.type.character.", "entity.name.type.prop."),
    "struct": ("entity.name.type.shot.",),
    "namespace": ("entity.name.section.scene.",),
    "variable": ("variable.other.",),
    "parameter": ("variable.parameter.",),
    "enumMember": ("constant.language.",),
    "string": ("string.quoted.",),
    "number": ("constant.numeric.",),
    "comment": ("comment.line.",),
    "operator": ("keyword.operator.",),
    "modifier": ("storage.modifier.parenthetical.",),
}


@dataclass
class Frame:
    end: re.Pattern[str]
    patterns: list[dict[str, Any]]
    scopes: list[str] = field(default_factory=list)


class Engine:
    def __init__(self, grammar: dict[str, Any]) -> None:
        self.repository: dict[str, Any] = grammar["repository"]
        self.top: list[dict[str, Any]] = grammar["patterns"]
        self.cache: dict[str, re.Pattern[str]] = {}

    def rx(self, pattern: str) -> re.Pattern[str]:
        if pattern not in self.cache:
            self.cache[pattern] = re.compile(pattern)
        return self.cache[pattern]

    def flat(self, patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rule in patterns:
            if "include" in rule:
                out += self.flat([self.repository[rule["include"][1:]]])
            elif "match" in rule or "begin" in rule:
                out.append(rule)
            else:
                out += self.flat(rule["patterns"])
        return out

    def tokenize(self, text: str) -> list[list[list[str]]]:
        """For each line, the scopes of each character."""
        stack: list[Frame] = []
        result = []
        for line in text.split("\n"):
            chars: list[list[str]] = [[] for _ in line]
            pos = 0
            while pos <= len(line):
                frame = stack[-1] if stack else None
                base = [s for f in stack for s in f.scopes]
                rules = self.flat(frame.patterns if frame else self.top)
                best: tuple[int, int, Any, re.Match[str]] | None = None
                if frame is not None:
                    m = frame.end.search(line, pos)
                    if m:
                        best = (m.start(), -1, None, m)
                for order, rule in enumerate(rules):
                    m = self.rx(rule.get("match") or rule["begin"]).search(line, pos)
                    if m and (best is None or m.start() < best[0]):
                        best = (m.start(), order, rule, m)
                if best is None:
                    for i in range(pos, len(line)):
                        chars[i] = list(base)
                    break
                start, _, rule, m = best
                for i in range(pos, start):
                    chars[i] = list(base)
                if rule is None:  # the frame's end
                    assert frame is not None
                    for i in range(m.start(), m.end()):
                        chars[i] = list(base)
                    stack.pop()
                elif "match" in rule:
                    self.paint(chars, m, rule, base)
                else:
                    self.paint(chars, m, rule, base, captures="beginCaptures")
                    scopes = [rule["name"]] if "name" in rule else []
                    stack.append(Frame(self.rx(rule["end"]), rule.get("patterns", []), scopes))
                if m.end() == pos and rule is not None and "match" in rule:
                    pos += 1  # an empty match: move on
                else:
                    pos = m.end()  # an empty `end` pops its frame, so this ends too
            result.append(chars)
        return result

    def paint(self, chars: list[list[str]], m: re.Match[str], rule: dict[str, Any],
              base: list[str], captures: str = "captures") -> None:
        for i in range(m.start(), m.end()):
            chars[i] = [*base, *([rule["name"]] if "name" in rule else [])]
        for group, spec in rule.get(captures, rule.get("captures", {})).items():
            g = int(group)
            if m.group(g) is None:
                continue
            for i in range(m.start(g), m.end(g)):
                chars[i] = [*chars[i], spec["name"]]


def test_generated_grammar_is_committed() -> None:
    assert GRAMMAR.read_text() == textmate.render(), \
        "run: python -m filmlang.lsp.textmate (and commit editors/vscode/syntaxes)"
    check = subprocess.run([sys.executable, "-m", "filmlang.lsp.textmate", "--check"],
                           cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_token_gets_its_scope(path: Path) -> None:
    engine = Engine(json.loads(GRAMMAR.read_text()))
    text = path.read_text()
    painted = engine.tokenize(text)
    checked = 0
    for item in tokens.classify(text):
        tok = item.token
        line, col = (tok.line or 1) - 1, (tok.column or 1) - 1
        for k, part in enumerate(tok.value.split("\n")):
            if k:
                line, col = line + 1, 0
            for i in range(len(part)):
                scopes = painted[line][col + i]
                assert any(s.startswith(EXPECTED[item.kind]) for s in scopes), (
                    f"{path.name}:{line + 1}:{col + i + 1}: {tok.value!r} is a {item.kind}, "
                    f"coloured {scopes}")
                checked += 1
    assert checked > 100


def test_engine_can_fail() -> None:
    """The check above is not vacuous: a grammar without the dialogue rule fails it."""
    grammar = json.loads(GRAMMAR.read_text())
    grammar["patterns"] = [p for p in grammar["patterns"] if p != {"include": "#dialogue"}]
    engine = Engine(grammar)
    text = 'scene a {\n    shot wide {\n        MARA (softly): "Hi."\n    }\n}\n'
    painted = engine.tokenize(text)
    assert not any(s.startswith("entity.name.type.character") for s in painted[2][8])
    painted = Engine(json.loads(GRAMMAR.read_text())).tokenize(text)
    assert any(s.startswith("entity.name.type.character") for s in painted[2][8])
    assert any(s.startswith("storage.modifier.parenthetical") for s in painted[2][14])


TRICKY = '''film "T" { size 640x360; fps 12 }
let tags = [night,
            "rain", 4s]   # a list over lines
character A { look "a man \\"quoted\\"" }
shottype slow {
    prompt """a long
      prompt over {{ subjects }} lines"""
    duration 1.5s
}
scene s "INT. ROOM - DAY" {
    time day; music none
    shot slow A 2s { camera pan_left }
    dissolve 500ms
    shot slow { A (aside): "Hm." ; title "x" at=0.2s for=1s }
}
'''


def test_tricky_forms_get_their_scopes() -> None:
    from filmlang.api import parse_text

    assert parse_text(TRICKY)[1] == []
    engine = Engine(json.loads(GRAMMAR.read_text()))
    painted = engine.tokenize(TRICKY)
    kinds = set()
    for item in tokens.classify(TRICKY):
        tok = item.token
        kinds.add(item.kind)
        line, col = (tok.line or 1) - 1, (tok.column or 1) - 1
        for k, part in enumerate(tok.value.split("\n")):
            if k:
                line, col = line + 1, 0
            for i in range(len(part)):
                scopes = painted[line][col + i]
                assert any(s.startswith(EXPECTED[item.kind]) for s in scopes), (
                    f"{line + 1}:{col + i + 1}: {tok.value!r} is a {item.kind}, "
                    f"coloured {scopes}")
    assert kinds == set(EXPECTED)
