"""The film out to other tools (`filmc export`): an editor's timeline (OTIO, CMX 3600 EDL,
FCPXML), stems for a mixer, and the script as Fountain.

Modules: `editorial` (the built film as an OpenTimelineIO timeline), `stems` (the stems'
WAVs). Export builds what it needs through the cache, as `filmc build` does: the film,
and each shot's whole frames or the stems' mixes (`BuildConfig.extras`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

    from filmlang.build import BuildResult
    from filmlang.config import BuildConfig
    from filmlang.exec.scheduler import Progress

FORMATS = {"otio": ".otio", "edl": ".edl", "fcpxml": ".fcpxml", "fountain": ".fountain",
           "stems": ""}
"""Each format and its file's suffix (stems are a folder)."""
ADAPTERS = {"edl": "cmx_3600", "fcpxml": "fcpx_xml", "otio": "otio_json"}


class InteropMissing(ImportError):
    """OpenTimelineIO or its adapters are not installed; the message says how."""


@dataclass
class Exported:
    build: BuildResult | None = None
    written: list[Path] = field(default_factory=list)


def default_output(film: Path, fmt: str) -> Path:
    path = film.absolute()
    if fmt == "stems":
        return path.parent / "build" / f"{path.stem}-stems"
    return path.parent / "build" / f"{path.stem}{FORMATS[fmt]}"


def _write_timeline(result: BuildResult, fmt: str, target: Path, cache: Path | None,
                    film: Path) -> list[Path]:
    from filmlang.cache.store import Store, default_cache_dir
    from filmlang.interop.editorial import (
        at_frame_rate,
        film_timeline,
        picture_only,
        standard_rate,
    )

    try:
        import opentimelineio as otio
    except ImportError as exc:
        raise InteropMissing("OpenTimelineIO is not installed: pip install "
                             "'filmlang[interop]'") from exc
    assert result.timeline is not None
    if fmt != "otio":
        standard_rate(result.timeline.fps, fmt)
    store = Store(default_cache_dir(film, cache))
    media = target.with_name(f"{target.stem}.media")
    timeline = film_timeline(result, store, media)
    if fmt == "edl":
        timeline = picture_only(timeline)
    elif fmt == "fcpxml":
        timeline = at_frame_rate(timeline, result.timeline.fps)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        otio.adapters.write_to_file(timeline, str(target), adapter_name=ADAPTERS[fmt])
    except otio.exceptions.NoKnownAdapterForExtensionError as exc:  # pragma: no cover
        raise InteropMissing(f"the {fmt} adapter is not installed: pip install "
                             "'filmlang[interop]'") from exc
    return [target, media]


def export(film: Path, fmt: str, output: Path | None = None, *, cache: Path | None = None,
           jobs: int | None = None, config: BuildConfig | None = None,
           allow_outside: bool = False, progress: Progress | None = None,
           cancel: threading.Event | None = None) -> Exported:
    """Export the film at `film` as `fmt` (a key of `FORMATS`) to `output`; builds what
    the format needs through the cache first (not for `fountain`)."""
    from filmlang.build import build
    from filmlang.config import BuildConfig

    target = (output or default_output(film, fmt)).absolute()
    if fmt == "fountain":
        return _fountain(film, target, allow_outside)
    if fmt == "stems" and config is not None and config.preview:
        raise ValueError("stems are mixed at the film's rate: export them without --preview")
    extras = ("stems",) if fmt == "stems" else ("shots",)
    config = replace(config or BuildConfig(), extras=extras)
    result = build(film, cache=cache, jobs=jobs, config=config, allow_outside=allow_outside,
                   progress=progress, cancel=cancel)
    done = Exported(build=result)
    if not result.ok:
        return done
    if fmt == "stems":
        from filmlang.interop.stems import write_stems

        done.written = write_stems(result, film, cache, target)
    else:
        done.written = _write_timeline(result, fmt, target, cache, film)
    return done


def _fountain(film: Path, target: Path, allow_outside: bool) -> Exported:
    from filmlang.api import check_file
    from filmlang.build import BuildResult
    from filmlang.screenplay.export import export_fountain

    checked = check_file(film, allow_outside=allow_outside)
    done = Exported(build=BuildResult(check=checked))
    if checked.ok and checked.film is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export_fountain(checked.film), encoding="utf-8")
        done.written = [target]
    return done
