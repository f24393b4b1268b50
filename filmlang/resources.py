"""Where the grammar and the standard library are, installed or in a source tree.

In a wheel they are `filmlang/grammar/` and `filmlang/stdlib/`; in a checkout (and an
editable install) they are `grammar/` and `stdlib/` at the top of the repository.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"filmlang is installed without its {name}/ folder (looked in {_PACKAGE})")


@lru_cache(maxsize=1)
def grammar_path() -> Path:
    return _find("grammar") / "film.lark"


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def stdlib_dir() -> Path:
    return _find("stdlib")


def user_cache_dir() -> Path:
    """The user's cache folder for filmlang: `$XDG_CACHE_HOME/filmlang`, else
    `~/.cache/filmlang` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "filmlang"


def lark_cache_path() -> str:
    """A file for Lark's cached parse tables, keyed by the grammar's own hash."""
    digest = hashlib.sha256(grammar_text().encode()).hexdigest()[:16]
    folder = user_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.touch()
    except OSError:
        folder = Path(tempfile.gettempdir())
    return str(folder / f"lark-{digest}.cache")
