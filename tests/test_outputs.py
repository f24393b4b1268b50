"""Outputs that cannot be written (issue 12): every command says which path and why, in one
line, and exits non-zero; never a traceback, never the name of a temp file or a cache object
instead of the output."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FILM_HEADER
from filmlang.cli import main

FILM = FILM_HEADER + "scene s { shot wide 1s }\n"
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def _filmc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _one_line_error(run: subprocess.CompletedProcess[str], path: str, why: str) -> None:
    assert run.returncode == 3, (run.stdout, run.stderr)
    errors = [line for line in run.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, run.stderr
    assert f"cannot write {path}: " in errors[0] and why in errors[0], errors[0]
    assert "Traceback" not in run.stderr + run.stdout


@pytest.fixture
def film(tmp_path: Path) -> Path:
    (tmp_path / "film.film").write_text(FILM, encoding="utf-8")
    (tmp_path / "taken").write_text("a regular file")
    return tmp_path


def test_storyboard_under_a_regular_file(film: Path) -> None:
    run = _filmc(["storyboard", "film.film", "-o", "taken/board.png"], film)
    _one_line_error(run, "taken/board.png", "taken is a file, not a folder")


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="Linux /proc")
def test_storyboard_into_a_folder_that_takes_no_files(film: Path) -> None:
    run = _filmc(["storyboard", "film.film", "-o", "/proc/board.png"], film)
    _one_line_error(run, "/proc/board.png", "/proc")


@pytest.mark.skipif(ROOT_USER, reason="root writes into read-only folders")
def test_storyboard_and_fmt_in_a_read_only_folder(film: Path) -> None:
    locked = film / "locked"
    locked.mkdir()
    (locked / "messy.film").write_text('film "T" {size 320x180}\nscene s {shot wide 1s}\n')
    locked.chmod(0o555)
    try:
        run = _filmc(["storyboard", "film.film", "-o", "locked/board.png"], film)
        _one_line_error(run, "locked/board.png", "permission denied")
        run = _filmc(["fmt", "locked/messy.film"], film)
        _one_line_error(run, "locked/messy.film", "permission denied")
    finally:
        locked.chmod(0o755)


def test_fmt_that_cannot_write_names_the_file(film: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """A read-only folder, as root sees one: creating the temp file beside it fails."""
    messy = film / "messy.film"
    messy.write_text('film "T" {size 320x180}\nscene s {shot wide 1s}\n')

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(film / ".messy.film.tmp"))

    monkeypatch.setattr("filmlang.outputs.tempfile.mkstemp", refuse)
    monkeypatch.chdir(film)
    result = CliRunner().invoke(main, ["fmt", "messy.film"])
    assert result.exit_code == 3, result.output
    assert "cannot write messy.film: permission denied" in result.output
    assert ".tmp" not in result.output


def test_a_full_disk_names_the_output_not_the_cache(film: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang import build as build_module
    from filmlang.outputs import OutputError

    cached = film / ".filmcache" / "objects" / "ab" / "abcdef" / "film.mp4"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\0" * 64)

    def full(source: object, target: object) -> None:  # as sendfile fails: names the source
        raise OSError(errno.ENOSPC, "No space left on device", str(source))

    monkeypatch.setattr(shutil, "copyfile", full)
    target = film / "out" / "film.mp4"
    with pytest.raises(OutputError) as caught:
        build_module._publish(cached, target)
    assert caught.value.filename == str(target)
    assert str(caught.value) == f"cannot write {target}: no space left on the disk"
    assert not list(target.parent.glob(".*.tmp"))


def test_a_full_disk_while_writing_the_storyboard(film: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    def full(self: object, fp: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    monkeypatch.chdir(film)
    result = CliRunner().invoke(main, ["storyboard", "film.film", "-o", "board.png"])
    assert result.exit_code == 3
    assert "cannot write board.png: no space left on the disk" in result.output
    assert not list(film.glob(".board.png*"))


def test_build_output_under_a_regular_file(film: Path) -> None:
    run = _filmc(["build", "film.film", "-o", "taken/film.mp4"], film)
    _one_line_error(run, str(film / "taken" / "film.mp4"), "is a file, not a folder")
    assert ".filmcache" not in run.stderr
