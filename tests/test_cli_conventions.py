"""`filmc` follows its ecosystem's conventions (issue 17): colour (NO_COLOR, FORCE_COLOR,
--color), exit statuses, one JSON spelling, `-` for standard input, previews under their own
name, progress without a terminal, totals known before the first job, shell completion and
a LICENSE. Real processes throughout."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import FILM_HEADER, ROOT

GOOD = 'film "Good" { size 320x180 }\ncharacter A { look "a" }\n' \
       'scene s { shot close_up A { A: "Hi." } }\n'
BAD = 'film "Bad" { size 320x180 }\nscene s {\n    shot wyde\n}\n'
SILENT = FILM_HEADER + "scene s { shot wide 1s }\nscene t { shot close_up 1s }\n"
ESC = "\x1b["


def filmc(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300, env=environ)


def on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """What `filmc ARGS` writes to a real terminal (a pseudo-terminal) on stderr/stdout."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env, TERM="xterm")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd,
                            stdout=slave, stderr=slave, env=environ)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=60)
    return b"".join(chunks).decode("utf-8", "replace")


# ------------------------------------------------------------------ colour


def test_colour_on_a_terminal_unless_no_color_or_never(tmp_path: Path) -> None:
    (tmp_path / "bad.film").write_text(BAD)
    assert ESC in on_terminal(["check", "bad.film"], tmp_path, {})
    assert ESC not in on_terminal(["check", "bad.film"], tmp_path, {"NO_COLOR": "1"})
    assert ESC not in on_terminal(["check", "--color=never", "bad.film"], tmp_path, {})
    assert ESC not in on_terminal(["--color", "never", "check", "bad.film"], tmp_path, {})
    # --color beats the environment
    assert ESC in on_terminal(["check", "--color=always", "bad.film"], tmp_path,
                              {"NO_COLOR": "1"})


def test_no_colour_in_a_pipe_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "bad.film").write_text(BAD)
    assert ESC not in filmc("check", "bad.film", cwd=tmp_path).stderr
    assert ESC in filmc("check", "bad.film", cwd=tmp_path, env={"FORCE_COLOR": "1"}).stderr
    assert ESC not in filmc("check", "bad.film", cwd=tmp_path,
                            env={"FORCE_COLOR": "0"}).stderr
    assert ESC in filmc("check", "--color=always", "bad.film", cwd=tmp_path).stderr
    assert ESC in filmc("--color=always", "check", "bad.film", cwd=tmp_path).stderr
    assert ESC not in filmc("check", "bad.film", cwd=tmp_path,
                            env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stderr


# ------------------------------------------------------------------ exit statuses


def test_exit_statuses(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(SILENT)
    (tmp_path / "bad.film").write_text(BAD)
    assert filmc("check", "good.film", cwd=tmp_path).returncode == 0
    assert filmc("check", "bad.film", cwd=tmp_path).returncode == 1
    assert filmc("build", "bad.film", cwd=tmp_path).returncode == 1
    usage = filmc("check", "--frobnicate", "good.film", cwd=tmp_path)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert filmc("check", cwd=tmp_path).returncode == 2
    assert filmc("check", "--format", "yaml", "good.film", cwd=tmp_path).returncode == 2
    # a render that fails (its ffmpeg is /bin/false): 3, at the shot, no traceback
    failed = filmc("build", "good.film", cwd=tmp_path, env={"FILMC_FFMPEG": "/bin/false"})
    assert failed.returncode == 3, failed.stderr
    assert "job failed" in failed.stderr and "Traceback" not in failed.stderr


def test_a_busy_port_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """`watch --serve --port N` where N is taken: one line that names the port and how to
    pick another, the status of an output that cannot be made, and no build."""
    import socket

    (tmp_path / "good.film").write_text(SILENT)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = filmc("watch", "good.film", "--serve", "--port", str(port), cwd=tmp_path)
    assert busy.returncode == 3, busy.stderr
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1, busy.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "--port N" in lines[0]
    assert "--port 0" in lines[0] and lines[0].startswith("error: ")
    assert busy.stdout == "" and not (tmp_path / "build").exists()


def test_exit_statuses_are_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert status in section
    assert "port" in section.split("| 3 |", 1)[1].split("\n", 1)[0]  # a busy --port


# ------------------------------------------------------------------ JSON


def test_one_json_spelling_and_hidden_aliases(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(SILENT)
    (tmp_path / "bad.film").write_text(BAD)
    check = filmc("check", "--format", "json", "bad.film", cwd=tmp_path)
    assert json.loads(check.stdout.splitlines()[0])["code"] == "E0104"
    new = json.loads(filmc("plan", "--format", "json", "good.film", cwd=tmp_path).stdout)
    old = json.loads(filmc("plan", "--json", "good.film", cwd=tmp_path).stdout)
    assert new == old and new["film"] == "Test"
    assert json.loads(filmc("ir", "--format", "json", "good.film", cwd=tmp_path).stdout)
    help_text = filmc("plan", "--help", cwd=tmp_path).stdout
    assert "--format" in help_text and "--json" not in help_text
    build_help = filmc("build", "--help", cwd=tmp_path).stdout
    assert "--format" in build_help and "--log-format" not in build_help
    for spelling in (["--format", "jsonl"], ["--format", "json"], ["--log-format", "jsonl"]):
        run = filmc("build", *spelling, "good.film", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        events = [json.loads(line) for line in run.stdout.splitlines()]
        assert events[0]["event"] == "expect", spelling


# ------------------------------------------------------------------ standard input


def test_dash_reads_standard_input(tmp_path: Path) -> None:
    run = filmc("check", "-", cwd=tmp_path, stdin=GOOD)
    assert run.returncode == 0 and '<stdin>: ok: "Good"' in run.stdout, run.stderr
    bad = filmc("check", "-", cwd=tmp_path, stdin=BAD)
    assert bad.returncode == 1 and "<stdin>:3:10: error: unknown shot type" in bad.stderr
    ir = filmc("ir", "-", cwd=tmp_path, stdin=GOOD)
    assert ir.returncode == 0 and json.loads(ir.stdout)["title"] == "Good"
    fmt = filmc("fmt", "-", cwd=tmp_path, stdin="film \"X\"   {size 320x180}\n")
    assert fmt.returncode == 0 and fmt.stdout.startswith('film "X" {')


# ------------------------------------------------------------------ --preview


def test_preview_has_its_own_name_and_never_touches_the_film(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(SILENT)
    final = tmp_path / "build" / "good.mp4"
    final.parent.mkdir()
    final.write_bytes(b"the final film")
    run = filmc("build", "--preview", "good.film", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "built build/good.preview.mp4" in run.stderr
    assert (tmp_path / "build" / "good.preview.mp4").stat().st_size > 1000
    assert final.read_bytes() == b"the final film"


# ------------------------------------------------------------------ progress


def test_progress_without_a_terminal_is_a_line_every_few_seconds(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(GOOD)
    run = filmc("build", "good.film", cwd=tmp_path, env={"FILMC_PROGRESS_SECONDS": "0.2"})
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("building: ")]
    assert len(lines) >= 2, run.stderr
    pattern = re.compile(r"building: (\d+)/(\d+) jobs \((.*)\); (\d+:\d\d) elapsed, (.*)$")
    totals = set()
    for line in lines:
        m = pattern.match(line)
        assert m, line
        totals.add(int(m.group(2)))
        assert "speech " in m.group(3) and "/" in m.group(3)
    assert len(totals) == 1, lines  # known from the first line on, never jumping
    assert lines[0].startswith("building: 0/")
    assert "\r" not in run.stderr and ESC not in run.stderr
    quiet = filmc("build", "--progress=none", "good.film", cwd=tmp_path,
                  env={"FILMC_PROGRESS_SECONDS": "0.2"})
    assert quiet.returncode == 0 and "building: " not in quiet.stderr
    assert filmc("build", "--progress=sometimes", "good.film", cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("edit", [None, ("Hi.", "Hello, you.")])
def test_totals_before_the_first_job_and_cached_counts_agree(
        tmp_path: Path, edit: tuple[str, str] | None) -> None:
    from filmlang.build import build
    from filmlang.exec.console import RichProgress

    path = tmp_path / "good.film"
    path.write_text(GOOD + "scene t { shot wide 1s }\n")
    assert build(path, jobs=2).ok
    if edit is not None:
        path.write_text(path.read_text().replace(*edit))
    progress = RichProgress(io.StringIO())
    starts: list[int] = []
    original = progress.start

    def start(total: int) -> None:
        original(total)
        starts.append(progress.tally.total)

    progress.start = start  # type: ignore[method-assign]
    result = build(path, jobs=2, progress=progress)
    assert result.ok
    tally = progress.tally
    assert starts and set(starts) == {tally.total}, starts  # the total never moved
    assert tally.count == tally.total
    assert {kind: (c["ran"], c["cached"]) for kind, c in tally.done.items()} == \
        {kind: (c["ran"], c["cached"]) for kind, c in result.counts().items()}
    if edit is not None:
        assert tally.done["speech"]["ran"] == 1


# ------------------------------------------------------------------ completion, licence


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts(tmp_path: Path, shell: str) -> None:
    run = filmc(cwd=tmp_path, env={"_FILMC_COMPLETE": f"{shell}_source"})
    assert run.returncode == 0 and "_FILMC_COMPLETE" in run.stdout, run.stderr
    assert f"_FILMC_COMPLETE={shell}_source filmc" in (ROOT / "docs" / "cli.md").read_text()


def test_completion_names_the_commands(tmp_path: Path) -> None:
    run = filmc(cwd=tmp_path, env={"_FILMC_COMPLETE": "bash_complete", "COMP_WORDS": "filmc b",
                                   "COMP_CWORD": "1"})
    assert "build" in run.stdout


def test_licence_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith(f"{project['license']['text']} License\n")
    assert "Permission is hereby granted, free of charge" in licence
