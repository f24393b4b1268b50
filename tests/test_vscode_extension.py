"""The VS Code extension (issue 17): its manifest's commands have handlers, its build task
runs a real `filmc build` whose errors its problem matcher reads, its snippets and settings
are there, and `build.sh` makes a .vsix wherever npm is present.

VS Code's own test runner needs VS Code, which is not installed here; node loads the
extension with a stand-in `vscode` module instead (tests/vscode/harness.js), so its
activation code runs for real. Without node, the handlers are read from its source.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

EXTENSION = ROOT / "editors" / "vscode"
MANIFEST = json.loads((EXTENSION / "package.json").read_text())
CONTRIBUTES = MANIFEST["contributes"]
BAD = 'film "Bad" { size 320x180 }\nscene s {\n    shot wyde\n    shot wide { MRA: "x" }\n}\n'


def activation(settings: dict[str, str] | None = None) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    run = subprocess.run([node, str(ROOT / "tests" / "vscode" / "harness.js"),
                          str(EXTENSION / "extension.js"), json.dumps(settings or {})],
                         capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_every_command_of_the_manifest_has_a_handler() -> None:
    declared = {c["command"] for c in CONTRIBUTES["commands"]}
    titles = {c["title"] for c in CONTRIBUTES["commands"]}
    assert {"filmlang: Build film", "filmlang: Watch and preview", "filmlang: Show storyboard",
            "filmlang: Explain last build"} <= titles
    if shutil.which("node"):
        registered = set(activation()["registered"])
    else:  # the fallback: the handler table in the source
        source = (EXTENSION / "extension.js").read_text()
        table = source.split("const commands = {", 1)[1].split("};", 1)[0]
        registered = set(re.findall(r'"(filmlang\.\w+)":', table))
    assert registered == declared
    # the server's own command is called through the client, never registered twice
    assert "filmlang.explainLastBuild" not in declared


def test_the_build_task_and_its_problem_matcher(tmp_path: Path) -> None:
    result = activation({"cache": "/tmp/films-cache", "modelFolder": ""})
    assert result["taskTypes"] == ["filmc"]
    assert [d["type"] for d in CONTRIBUTES["taskDefinitions"]] == ["filmc"]
    task = result["task"]
    assert task["command"] == "filmc" and task["matchers"] == ["$filmc"]
    assert task["cwd"] == "/films"  # the workspace folder: the matcher's paths are from there
    assert task["args"][:2] == ["build", "/films/bad.film"]
    assert "--preview" in task["args"] and task["args"][-2:] == ["--cache", "/tmp/films-cache"]
    # The same command line, run for real on a broken film; the matcher reads its errors.
    (tmp_path / "bad.film").write_text(BAD)
    args = ["bad.film", *task["args"][2:-2]]
    run = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    [matcher] = CONTRIBUTES["problemMatchers"]
    pattern = matcher["pattern"]
    regexp = re.compile(pattern["regexp"])
    found = [m for m in map(regexp.match, run.stderr.splitlines()) if m]
    assert [(m[pattern["file"]], m[pattern["line"]], m[pattern["column"]],
             m[pattern["severity"]], m[pattern["code"]]) for m in found] == [
        ("bad.film", "3", "10", "error", "E0104"), ("bad.film", "4", "17", "error", "E0102")]
    assert found[0][pattern["message"]] == "unknown shot type 'wyde'"
    # a failed job's line (`FILE:LINE:COL: error: KIND job failed: ...`) matches too
    assert regexp.match("bad.film:4:5: error: still job failed: ffmpeg exited with 1")


def test_settings_and_snippets() -> None:
    properties = CONTRIBUTES["configuration"]["properties"]
    assert {"filmlang.filmcPath", "filmlang.cache", "filmlang.modelFolder"} <= set(properties)
    snippets = json.loads((EXTENSION / "snippets" / "film.json").read_text())
    prefixes = {p for s in snippets.values() for p in (
        s["prefix"] if isinstance(s["prefix"], list) else [s["prefix"]])}
    assert {"scene", "shot", "character", "dialogue"} <= prefixes
    for snippet in snippets.values():
        assert "".join(snippet["body"]).strip()


def test_readme_has_no_relative_links() -> None:
    """vsce refuses to package a README with relative links (it did: ../../README.md)."""
    text = (EXTENSION / "README.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert all(re.match(r"https?://", link) for link in links), links


@pytest.mark.slow
def test_build_sh_makes_a_vsix(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    copy = tmp_path / "vscode"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("node_modules", "*.vsix"))
    run = subprocess.run(["sh", str(copy / "build.sh")], capture_output=True, text=True,
                         timeout=600)
    offline = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "network")
    if run.returncode != 0 and any(word in run.stdout + run.stderr for word in offline):
        pytest.skip("the npm registry cannot be reached")
    assert run.returncode == 0, run.stdout + run.stderr
    vsix = copy / f"filmlang-{MANIFEST['version']}.vsix"
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        packaged = json.loads(archive.read("extension/package.json"))
    assert {"extension/extension.js", "extension/snippets/film.json",
            "extension/syntaxes/film.tmLanguage.json",
            "extension/node_modules/vscode-languageclient/package.json"} <= names
    assert packaged["contributes"]["commands"] == CONTRIBUTES["commands"]
