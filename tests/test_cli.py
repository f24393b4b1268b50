"""`filmc` as a user runs it: real processes, exit statuses, output formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

GOOD = 'film "Good" { size 320x180 }\ncharacter A { look "a" }\n' \
       'scene s { shot close_up A { A: "Hi." } }\n'
BAD = 'film "Bad" { size 320x180 }\nscene s {\n    shot wyde\n    shot wide { MRA: "x" }\n}\n'


def filmc(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_check_clean_exits_0(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(GOOD)
    result = filmc("check", "good.film", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'good.film: ok: "Good", 1 scene, 1 shot, 1 line' in result.stdout


def test_check_errors_exit_1_with_every_error(tmp_path: Path) -> None:
    (tmp_path / "bad.film").write_text(BAD)
    result = filmc("check", "bad.film", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.film:3:10: error: unknown shot type 'wyde' [E0104]" in result.stderr
    assert "bad.film:4:17: error: unknown character 'MRA' [E0102]" in result.stderr
    assert "    3 |     shot wyde" in result.stderr
    assert "= help: did you mean 'wide'?" in result.stderr
    assert "2 errors" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_json(tmp_path: Path) -> None:
    (tmp_path / "bad.film").write_text(BAD)
    result = filmc("check", "--format", "json", "bad.film", cwd=tmp_path)
    assert result.returncode == 1
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert [i["code"] for i in items] == ["E0104", "E0102"]
    first = items[0]
    for key in ("file", "line", "column", "end_line", "end_column", "severity", "message",
                "help"):
        assert key in first
    assert (first["file"], first["line"], first["column"], first["end_column"]) == \
        ("bad.film", 3, 10, 14)


def test_missing_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = filmc("check", "nope.film", cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_ir_prints_the_checked_film(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(GOOD)
    result = filmc("ir", "good.film", cwd=tmp_path)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["title"] == "Good" and data["width"] == 320
    assert data["scenes"][0]["shots"][0]["lines"][0]["text"] == "Hi."
    (tmp_path / "bad.film").write_text(BAD)
    assert filmc("ir", "bad.film", cwd=tmp_path).returncode == 1


def test_fmt_check_rewrite_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "messy.film"
    path.write_text('film "M" {\n  fps 24 ; seed 1\n}\n')
    check = filmc("fmt", "--check", "messy.film", cwd=tmp_path)
    assert check.returncode == 1 and "would reformat messy.film" in check.stderr
    assert filmc("fmt", "messy.film", cwd=tmp_path).returncode == 0
    assert path.read_text() == 'film "M" {\n    fps 24\n    seed 1\n}\n'
    assert filmc("fmt", "--check", "messy.film", cwd=tmp_path).returncode == 0
    piped = filmc("fmt", "-", cwd=tmp_path, stdin="fps 24;seed 1")
    assert piped.stdout == "fps 24\nseed 1\n"


def test_fmt_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.film"
    path.write_text('film "M" {\n  fps 24\n')
    result = filmc("fmt", "broken.film", cwd=tmp_path)
    assert result.returncode == 1 and "E0005" in result.stderr
    assert path.read_text() == 'film "M" {\n  fps 24\n'


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys\nfrom filmlang.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pydantic', 'lark', 'jinja2', 'rich') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "check" in result.stdout and "fmt" in result.stdout


def test_example_films_check(tmp_path: Path) -> None:
    for film in sorted((ROOT / "examples").glob("*.film")):
        result = filmc("check", str(film), cwd=tmp_path)
        assert result.returncode == 0, result.stderr


def test_build_refuses_an_unknown_container(tmp_path: Path) -> None:
    (tmp_path / "good.film").write_text(GOOD)
    result = filmc("build", "good.film", "-o", "film.avi", cwd=tmp_path)
    assert result.returncode == 2
    assert "filmc writes .m4v, .mkv, .mov, .mp4, not '.avi'" in result.stderr
    assert not (tmp_path / ".filmcache").exists()
