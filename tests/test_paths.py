"""Paths a film names are checked where they lead, not as written, and only regular files
are read (issue 12): a link in the film's folder cannot read the rest of the machine into a
diagnostic, and a named pipe or a device cannot block or flood a check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FILM_HEADER
from filmlang.api import check_file
from filmlang.source import MAX_SOURCE_BYTES

SECRET = 'let secret = "the private key is 1234"\nscene leak { shot wide 1s }\n'


def _film(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / "main.film"
    entry.write_text(FILM_HEADER + text + "scene s { shot wide 1s }\n", encoding="utf-8")
    return entry


def _outside(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.film"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    return secret


@pytest.mark.parametrize("directive", ["import", "include"])
def test_a_link_out_of_the_folder_is_outside(tmp_path: Path, directive: str) -> None:
    secret = _outside(tmp_path)
    film = tmp_path / "film"
    entry = _film(film, f'{directive} "lib"\n')
    (film / "lib.film").symlink_to(secret)
    result = check_file(entry)
    assert [d.code for d in result.errors] == ["E0403"], result.report()
    assert "leads outside the film's folder" in result.errors[0].message
    assert "private key" not in result.report()
    assert check_file(entry, allow_outside=True).program.files.keys() >= {"lib.film"}


def test_a_linked_folder_out_of_the_folder_is_outside(tmp_path: Path) -> None:
    secret = _outside(tmp_path)
    film = tmp_path / "film"
    entry = _film(film, 'include "parts/secret"\n')
    (film / "parts").symlink_to(secret.parent, target_is_directory=True)
    result = check_file(entry)
    assert [d.code for d in result.errors] == ["E0403"], result.report()
    assert "private key" not in result.report()


def test_a_link_to_a_system_file_is_outside(tmp_path: Path) -> None:
    film = tmp_path / "film"
    entry = _film(film, 'include "pw"\n')
    (film / "pw.film").symlink_to("/etc/passwd")
    result = check_file(entry)
    assert [d.code for d in result.errors] == ["E0403"], result.report()
    assert "root:" not in result.report()


def test_a_link_inside_the_folder_is_fine(tmp_path: Path) -> None:
    film = tmp_path / "film"
    entry = _film(film, 'include "short"\n')
    (film / "parts").mkdir()
    (film / "parts" / "long_name.film").write_text("let x = 1\n")
    (film / "short.film").symlink_to(film / "parts" / "long_name.film")
    assert check_file(entry).ok


def test_a_reference_image_through_a_link_is_outside(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "face.png"
    outside.parent.mkdir()
    outside.write_bytes(b"\x89PNG\r\n")
    film = tmp_path / "film"
    entry = _film(film, 'character A { reference "face.png" }\nscene a { shot wide A 1s }\n')
    (film / "face.png").symlink_to(outside)
    result = check_file(entry)
    assert [d.code for d in result.errors] == ["E0403"], result.report()


def test_a_folder_is_not_read(tmp_path: Path) -> None:
    film = tmp_path / "film"
    entry = _film(film, 'include "scenes"\ninclude "parts"\n')
    (film / "scenes").mkdir()
    (film / "scenes.film").write_text("let x = 1\n")  # the file is meant, not the folder
    (film / "parts.film").mkdir()
    result = check_file(entry)
    assert [(d.code, d.span.line) for d in result.errors] == [("E0006", 3)], result.report()
    assert "a folder, not a regular file" in result.errors[0].message


def _filmc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_named_pipes_are_refused_without_blocking(tmp_path: Path) -> None:
    film = tmp_path / "film"
    _film(film, 'include "pipe"\n')
    os.mkfifo(film / "pipe.film")
    os.mkfifo(film / "face.png")
    (film / "ref.film").write_text(FILM_HEADER + 'character A { reference "face.png" }\n'
                                   "scene a { shot wide A 1s }\n")
    for args, where in ((["check", "main.film"], 'cannot read "pipe"'),
                        (["check", "pipe.film"], "named pipe"),
                        (["check", "ref.film"], "cannot read the reference image"),
                        (["fmt", "pipe.film"], "named pipe")):
        run = _filmc(args, film)
        assert run.returncode == 1, (args, run.stdout, run.stderr)
        output = run.stdout + run.stderr
        assert where in output and "not a regular file" in output, output
        assert "Traceback" not in output


def test_devices_and_huge_files_are_refused(tmp_path: Path) -> None:
    run = _filmc(["check", "/dev/zero"], tmp_path)
    assert run.returncode == 1 and "a device, not a regular file" in run.stdout + run.stderr
    huge = tmp_path / "huge.film"
    with huge.open("wb") as handle:
        handle.truncate(MAX_SOURCE_BYTES + 1)  # sparse: no disk is used
    result = check_file(huge)
    assert [d.code for d in result.errors] == ["E0006"]
    assert "a .film file is at most" in result.errors[0].message
