"""The no-op build's fast path (`filmlang/stamp.py`): nothing changed, nothing loaded; any
change that could change the film builds again. Real `filmc` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, write_film

PROBE = ("import runpy, sys\n"
         "sys.argv = ['filmc', *sys.argv[1:]]\n"
         "try:\n"
         "    runpy.run_module('filmlang.cli', run_name='__main__')\n"
         "except SystemExit as exit:\n"
         "    print('loaded', 'pydantic' in sys.modules, 'numpy' in sys.modules)\n"
         "    raise\n")


def _build(film: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, "build", str(film), *args],
                            cwd=film.parent, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def _fast(result: subprocess.CompletedProcess[str]) -> bool:
    return "loaded False False" in result.stdout


def test_a_no_op_build_loads_nothing_and_any_change_builds_again(tmp_path: Path) -> None:
    film = write_film(tmp_path)
    first = _build(film)
    assert not _fast(first) and "ran" in first.stderr
    again = _build(film)
    assert _fast(again), again.stdout
    assert "0 ran" in again.stderr and "built build/tiny.mp4" in again.stderr
    os.utime(film)                                    # touched, same text: still a no-op
    assert _fast(_build(film))
    film.write_text(film.read_text() + "\n# a comment\n")
    assert not _fast(_build(film))                    # new text: the full path (no jobs run)
    assert _fast(_build(film))
    assert not _fast(_build(film, env={"FILMC_OTHER": "1"}))
    (tmp_path / "build" / "tiny.mp4").write_bytes(b"not a film")
    assert not _fast(_build(film))                    # the output changed: published again
    assert (tmp_path / "build" / "tiny.mp4").read_bytes()[4:8] == b"ftyp"
    assert not _fast(_build(film, "--preview"))       # another request, its own stamp
    assert not _fast(_build(film, "-o", str(tmp_path / "other.mkv")))


def test_the_command_line_knows_the_containers() -> None:
    from filmlang.link.mux import CONTAINERS
    from filmlang.stamp import CONTAINER_SUFFIXES

    assert set(CONTAINER_SUFFIXES) == set(CONTAINERS)
    assert (ROOT / "filmlang" / "stamp.py").is_file()
