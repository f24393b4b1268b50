"""Stems for a mixer (`filmc export --format stems`): dialogue, music and effects (with
the ambience) as WAVs in a folder.

Each stem is the film's mix with the other stems' sounds silenced, times the film's own
loudness and limiter gain (`link.audio_mix.stem`): at the film's loudness, as long as the
film's sound to the sample and at its rate, and together they add up to the film's mix.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filmlang.build import BuildResult

STEMS = ("dialogue", "music", "effects")


def write_stems(result: BuildResult, film: Path, cache: Path | None, target: Path
                ) -> list[Path]:
    """Copy the built stems into the folder `target`: NAME-dialogue.wav and so on."""
    from filmlang.cache.store import Store, default_cache_dir

    assert result.graph is not None
    store = Store(default_cache_dir(film, cache))
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in STEMS:
        path = target / f"{film.stem}-{name}.wav"
        shutil.copyfile(store.audio(result.graph.outputs[f"stem:{name}"]), path)
        written.append(path)
    return written
