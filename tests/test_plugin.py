"""A backend that lives only in another distribution's entry point builds a film.

The test writes the small project of docs/backends.md ("Write a backend in one folder":
one module, one `filmlang.backends` entry point), installs
it with pip into a folder of its own, and builds a film that asks for it with
`backend visual=flatcolor` in a real `filmc` process: its stills, flat red, come out in
the MP4. Without the plug-in on the path the same film is an E0603 naming what is here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_FILM
from filmlang.link.ffmpeg import capture_ffmpeg

DOC = Path(__file__).resolve().parent.parent / "docs" / "backends.md"


def example(name: str) -> str:
    """The code block of docs/backends.md that follows `<!-- plug-in: NAME -->`."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- plug-in: {re.escape(name)} -->\n```\w+\n(.*?)```", text, re.S)
    assert found, f"docs/backends.md has no plug-in example {name}"
    return found.group(1)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    (root / "src").mkdir()
    (root / "src" / "flatcolor_backend.py").write_text(example("flatcolor_backend.py"))
    (root / "src" / "pyproject.toml").write_text(example("pyproject.toml"))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(root / "src")],
                   check=True, capture_output=True, timeout=300)
    assert list(site.glob("filmlang_flatcolor-0.1.dist-info/entry_points.txt"))
    return site


def filmc(*args: str, site: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_film_builds_with_a_plugin_backend(plugin: Path, tmp_path: Path) -> None:
    film = tmp_path / "flat.film"
    film.write_text(TINY_FILM.replace("    loudness -18\n",
                                      "    loudness -18\n    backend visual=flatcolor\n"))
    out = tmp_path / "flat.mp4"
    done = filmc("build", str(film), "-o", str(out), site=plugin)
    assert done.returncode == 0, done.stdout + done.stderr
    # shot 2 (close_up MARA) starts at 2s: a frame in its middle is the plug-in's red
    raw = capture_ffmpeg(["-ss", "2.5", "-i", str(out), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"]).stdout
    frame = np.frombuffer(raw, dtype=np.uint8).reshape(90, 160, 3).astype(float)
    red, green, blue = frame[20:70, 20:140].mean(axis=(0, 1))
    assert red > 150 and green < 70 and blue < 70, (red, green, blue)


def test_without_the_plugin_the_film_says_what_is_missing(tmp_path: Path) -> None:
    film = tmp_path / "flat.film"
    film.write_text(TINY_FILM.replace("    loudness -18\n",
                                      "    loudness -18\n    backend visual=flatcolor\n"))
    done = filmc("build", str(film), site=None)
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert "flat.film:1:1: error: the 'flatcolor' visual backend is not available here" in said
    assert "the visual backends here are: procedural, diffusers" in said
    assert "--backend visual=procedural" in said
    assert "Traceback" not in done.stdout + done.stderr
