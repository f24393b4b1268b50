"""The no-op rebuild's fast path: is the film published last time still what a build makes?

Takes a build request as the command line gives it (the film, the output, the cache
folder, the options) and gives the stamp of the last successful build of that request
when nothing it was made from has changed, else None; `record` writes the stamp after a
build. Standard library only: answering costs a few `stat` calls, with no parser, no
pydantic and no plan, so a no-op `filmc build` of a feature-length film stays a fraction
of a second (the full no-op path parses, checks and plans the whole film: it grows with
the film).

A stamp (`CACHE/stamps/<request>.json`) records, as make trusts them, the size and mtime
of, and a sha256 for the text of:

- every source file of the build (entry, imports, includes, the standard library);
- every file a job's key hashed (`jobs.hashed_files`: voices, SoundFonts, references),
  and the places a build looks for files it did not find (`watched`: a SoundFont
  installed later changes the music);
- filmlang itself (its files' sizes and mtimes), the interpreter, and the folders that
  hold installed packages (installing a backend changes a folder's mtime);
- the environment variables that choose engines and files (`FILMC_*`, `PATH`);
- the published film and its subtitles, as written: a film changed or deleted since is
  built again.

A source whose mtime moved but whose text did not is still the same (its hash is
checked). Anything else that differs, or a stamp that cannot be read, means a full build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

VERSION = 1
Stat = list[int]


def _stat(path: Path) -> Stat | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _tree_stamp() -> list[int]:
    """filmlang's own files (code, grammar, standard library): count, total size, latest
    mtime. An edited or upgraded filmlang builds again."""
    package = Path(__file__).resolve().parent
    roots = [package, package.parent / "grammar", package.parent / "stdlib"]
    count = size = latest = 0
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith((".py", ".lark", ".film", ".json", ".typed")):
                    with contextlib.suppress(OSError):
                        info = os.stat(os.path.join(folder, name))
                        count, size = count + 1, size + info.st_size
                        latest = max(latest, info.st_mtime_ns)
    return [count, size, latest]


def _environment() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k.startswith("FILMC_") or k == "PATH"}
    paths = {p: _stat(Path(p)) for p in sys.path if p and os.path.isdir(p)}
    return {"env": env, "python": sys.version, "executable": sys.executable,
            "filmlang": _tree_stamp(), "paths": paths}


def request_key(film: Path, output: Path, options: Mapping[str, Any]) -> str:
    text = json.dumps([VERSION, str(film.absolute()), str(output.absolute()), dict(options)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _where(cache: Path, key: str) -> Path:
    return cache / "stamps" / f"{key}.json"


def fresh(film: Path, output: Path, cache: Path, options: Mapping[str, Any]
          ) -> dict[str, Any] | None:
    """The last stamp of this request when nothing it records has changed, else None."""
    try:
        stamp = json.loads(_where(cache, request_key(film, output, options)).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("version") != VERSION:
        return None
    for path, recorded in stamp["outputs"].items():
        if _stat(Path(path)) != recorded:
            return None
    for path, recorded in stamp["watched"].items():
        if _stat(Path(path)) != recorded:
            return None
    for path, (recorded, digest) in stamp["files"].items():
        now = _stat(Path(path))
        if now != recorded and (now is None or _digest(Path(path)) != digest):
            return None
    if stamp["environment"] != json.loads(json.dumps(_environment())):
        return None
    return stamp


def record(film: Path, output: Path, cache: Path, options: Mapping[str, Any], *,
           sources: Iterable[Path], hashed: Iterable[Path], watched: Iterable[Path],
           outputs: Iterable[Path], summary: Mapping[str, Any]) -> None:
    """Write the stamp of a successful build (atomically; a failure to write is ignored:
    the next build is then a full one)."""
    files = {}
    for path in [*sources, *hashed]:
        stat = _stat(path)
        if stat is not None:
            files[str(path.absolute())] = [stat, _digest(path)]
    stamp = {"version": VERSION, "files": files,
             "watched": {str(p): _stat(p) for p in watched},
             "outputs": {str(p.absolute()): _stat(p) for p in outputs},
             "environment": _environment(), "summary": dict(summary)}
    target = _where(cache, request_key(film, output, options))
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(stamp, sort_keys=True, default=str))
        os.replace(temp, target)


def forget(film: Path, output: Path, cache: Path, options: Mapping[str, Any]) -> None:
    """Drop the stamp of a request (a build that failed or was cancelled)."""
    with contextlib.suppress(OSError):
        _where(cache, request_key(film, output, options)).unlink()


CONTAINER_SUFFIXES = (".mkv", ".m4v", ".mov", ".mp4")
"""`link.mux.CONTAINERS`, named here so that a no-op build imports nothing of the linker
(tests/test_stamp.py checks that they agree)."""


class Request:
    """A build request as the command line gives it (FILE, -o, --cache, the options that
    change the film): what its stamp is keyed by."""

    def __init__(self, file: Path, output: Path | None, cache: Path | None,
                 options: Mapping[str, Any]) -> None:
        self.file = file
        preview = ".preview" if options.get("preview") else ""     # build.default_output
        self.target = (output or file.absolute().parent / "build" /
                       (file.stem + preview + ".mp4")).absolute()
        env = os.environ.get("FILMC_CACHE")
        self.cache = cache or (Path(env) if env else file.absolute().parent / ".filmcache")
        self.options = dict(options)

    def fresh(self) -> dict[str, Any] | None:
        return fresh(self.file, self.target, self.cache, self.options)

    def answer(self, shown: str) -> bool:
        """When fresh, say what a no-op build says (every job cached) on standard error."""
        found = self.fresh()
        if found is None:
            return False
        for kind, count in found["summary"]["counts"].items():
            print(f"  {kind:<10} {0:>4} ran, {count:>4} cached", file=sys.stderr)
        print(f"built {shown} ({found['summary']['seconds']:.1f}s of film) in 0.0s",
              file=sys.stderr)
        return True

    def forget(self) -> None:
        forget(self.file, self.target, self.cache, self.options)

    def record(self, *, sources: Iterable[Path], hashed: Iterable[Path],
               watched: Iterable[Path], outputs: Iterable[Path], seconds: float,
               counts: Mapping[str, int]) -> None:
        record(self.file, self.target, self.cache, self.options, sources=sources,
               hashed=hashed, watched=watched, outputs=outputs,
               summary={"counts": dict(counts), "seconds": seconds})
