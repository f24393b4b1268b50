"""Shared test helpers: golden files and checking sources from strings."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from filmlang.api import CheckResult, check_file

if TYPE_CHECKING:
    from filmlang import ir
    from filmlang.config import BuildConfig
    from filmlang.jobs import JobGraph
    from filmlang.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite hermetic: what the machine has installed must not change the films.

    Music plays on the built-in synthesizer unless a test names a SoundFont itself (a system
    FluidR3 would otherwise be picked up), and per-user caches go to a folder of the run's own.
    Subprocesses inherit both.
    """
    os.environ["FILMC_SOUNDFONT"] = "none"
    # The Ctrl-C tests send SIGINT to filmc children, which inherit an ignored SIGINT (a
    # shell's background job has one): hear it here, so that exec gives them the default.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    cache = config.rootpath / ".pytest_cache" / "xdg-cache"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(cache)


def planned(film: ir.Film, seconds: float = 1.0, config: BuildConfig | None = None, *,
            longer: dict[tuple[str, int, int], float] | None = None,
            fps: float | None = None) -> tuple[JobGraph, Timeline]:
    """The film's job graph and its timeline, as a build plans them, with every line
    spoken in `seconds` (`longer`: seconds more for some lines, by (scene, shot, line)),
    without speaking any; `fps` as `solve` takes it."""
    from filmlang.config import BuildConfig
    from filmlang.plan.planner import plan_assembly, plan_sources
    from filmlang.timeline import solve

    sources = plan_sources(film, config or BuildConfig())
    durations = dict.fromkeys(sources.speech, seconds)
    for line, more in (longer or {}).items():
        durations[line] += more
    timeline, problems = solve(film, durations, fps)
    assert not problems
    return plan_assembly(sources, timeline), timeline


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def processes() -> list[tuple[int, str, int, int]]:
    """(pid, name, parent pid, session id) of every process, from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        found.append((int(entry.name), name, int(fields[1]), int(fields[3])))
    return found


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it under --update-golden."""
    if update or not path.exists():
        if not update and os.environ.get("CI"):
            pytest.fail(f"golden file {path} is missing; run pytest --update-golden")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; review and run pytest --update-golden"


def check_source(tmp_path: Path, text: str, name: str = "film.film",
                 files: dict[str, str] | None = None) -> CheckResult:
    """Write `text` (and any other `files`) under tmp_path and check it."""
    for rel, body in (files or {}).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    entry = tmp_path / name
    entry.write_text(text, encoding="utf-8")
    return check_file(entry)


FILM_HEADER = 'film "Test" { size 320x180 }\n'


# A tiny film with everything a build makes: dialogue, music, ambience, an effect, a title,
# a dissolve and fades; 160x90 at 8 fps, so that it builds in seconds.
TINY_FILM = '''film "Tiny" {
    size 160x90
    fps 8
    seed 3
    loudness -18
}

character MARA {
    look "keeper, yellow raincoat"
    voice "en" pitch=40 rate=150
}

character TOM {
    look "fisherman, wool cap"
    voice "en" pitch=65 rate=180
}

scene storm "EXT. LIGHTHOUSE - NIGHT" {
    music "tense" tempo=90
    ambience "rain" volume=0.5
    fade 1s
    shot wide 2s {
        title "Ashcombe Point" at=0.25s for=1.5s
        sound "thunder" at=0.5s
    }
    shot close_up MARA {
        MARA: "The light has to stay on."
    }
    dissolve 0.5s
    shot two_shot MARA TOM {
        TOM: "Then we keep it burning."
    }
}

scene dawn "EXT. LIGHTHOUSE - DAWN" {
    music "hopeful"
    shot wide 1.5s
    fade 1s
}
'''


def write_film(folder: Path, text: str = TINY_FILM) -> Path:
    """Write the tiny film (or `text`) as `tiny.film` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.film"
    path.write_text(text, encoding="utf-8")
    return path
