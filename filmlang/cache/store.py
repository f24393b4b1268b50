"""The content-addressed store: a job's key in, its output folder out.

Layout, under the cache folder (`.filmcache/` beside the film by default):

    objects/ab/<key>/            one folder per finished job: its files + manifest.json
    tmp/                         jobs being written; moved into objects/ when complete
    last.json                    what each job identity was in the last build (--explain)
    log.jsonl                    the build log, one JSON line per job per build
    lock                         held by a build for its whole run

A job writes into a fresh folder under `tmp/`; when it succeeds the store hashes every
file into `manifest.json` and renames the folder into place, so an object is either
complete or absent. Reading checks the manifest's hashes; a missing or corrupt object is
reported and re-rendered, never used. A failed job leaves nothing behind.

A file is hashed again only when it may have changed: the manifest also records each
file's size, modification time and inode as committed (`stat`), and a file that still has
them is not read (a rebuild of a long film otherwise hashed every piece and segment it
reads). As in git's index, a file whose time is not older than the manifest's own is
"racy" (a write in the same clock tick would not show) and is always hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
AUDIO_FILES = ("speech.wav", "audio.wav", "mix.wav")
CACHE_ENV = "FILMC_CACHE"


class CacheLocked(Exception):
    """Another build holds the cache."""


@dataclass(frozen=True)
class Lookup:
    """What the store knows of a key: 'ok', 'missing' or 'corrupt' (and why)."""

    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stat(path: Path) -> list[int]:
    """What changes when a file is written: its size, modification time and inode."""
    found = path.stat()
    return [found.st_size, found.st_mtime_ns, found.st_ino]


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._verified: set[str] = set()

    def ensure(self) -> None:
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                           "# This folder is filmc's build cache; it can be deleted.\n")

    def path(self, key: str) -> Path:
        """An object's folder, to read it (a tiered store fetches it first)."""
        return self.local(key)

    def local(self, key: str) -> Path:
        """Where an object is or goes in this folder."""
        return self.objects / key[:2] / key

    # ------------------------------------------------------------- reading

    def lookup(self, key: str, *, verify: bool = True) -> Lookup:
        folder = self.local(key)
        manifest = folder / MANIFEST
        if not manifest.is_file():
            return Lookup("missing")
        if key in self._verified or not verify:
            return Lookup("ok")
        try:
            data = json.loads(manifest.read_text())
            files: dict[str, Any] = data["files"]
        except (OSError, ValueError, KeyError):
            return Lookup("corrupt", "its manifest cannot be read")
        stat = data.get("stat", {})
        for name, entry in files.items():
            path = folder / name
            if not path.is_file():
                return Lookup("corrupt", f"{name} is missing")
            if path.stat().st_size != entry["size"]:
                return Lookup("corrupt", f"{name} has the wrong size")
            if stat.get(name) == _stat(path):
                continue        # as committed: not written since
            if file_sha256(path) != entry["sha256"]:
                return Lookup("corrupt", f"{name} does not match its hash")
        self._verified.add(key)
        with contextlib.suppress(OSError):
            os.utime(manifest)  # last use, for gc
        return Lookup("ok")

    def discard(self, key: str) -> None:
        """Remove an object (corrupt, or evicted), atomically enough: rename, then delete."""
        folder = self.local(key)
        if not folder.exists():
            return
        self.tmp.mkdir(parents=True, exist_ok=True)
        doomed = self.tmp / f"discard-{key}-{uuid.uuid4().hex[:8]}"
        with contextlib.suppress(OSError):
            os.replace(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        self._verified.discard(key)

    def audio(self, key: str) -> Path:
        """The audio file of an object (speech, a synthesized sound, a mix)."""
        folder = self.path(key)
        for name in AUDIO_FILES:
            if (folder / name).is_file():
                return folder / name
        raise FileNotFoundError(f"no audio in cache object {key}")

    def meta(self, key: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path(key) / MANIFEST).read_text())
        return dict(data.get("meta", {}))

    # ------------------------------------------------------------- writing

    @contextlib.contextmanager
    def writing(self, key: str, kind: str) -> Iterator[Path]:
        """A fresh folder for a job's outputs; committed when the block ends without error."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        work = self.tmp / f"{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        work.mkdir()
        try:
            yield work
            self._commit(key, kind, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _commit(self, key: str, kind: str, work: Path) -> None:
        files = {}
        meta: dict[str, Any] = {}
        meta_path = work / "meta.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text())
        for path in sorted(work.rglob("*")):
            if path.is_file():
                name = path.relative_to(work).as_posix()
                files[name] = {"sha256": file_sha256(path), "size": path.stat().st_size}
        manifest: dict[str, Any] = {"key": key, "kind": kind, "created": time.time(),
                                    "files": files, "meta": meta}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        # Each file's stat, but for those not older than the manifest (racy: hashed).
        written = (work / MANIFEST).stat().st_mtime_ns
        stats = {name: _stat(work / name) for name in files}
        manifest["stat"] = {name: s for name, s in stats.items() if s[1] < written}
        if manifest["stat"]:
            (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        target = self.local(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # a corrupt leftover
        try:
            os.replace(work, target)
        except OSError:
            # Another process (a Ray worker retrying the same job) committed it first.
            if not (target / MANIFEST).is_file():
                raise
        self._verified.add(key)

    def clean_tmp(self) -> None:
        """Remove what interrupted builds left in tmp/ (call with the lock held)."""
        if self.tmp.is_dir():
            for child in self.tmp.iterdir():
                shutil.rmtree(child, ignore_errors=True)

    # ------------------------------------------------------------- gc

    def objects_by_age(self) -> list[tuple[float, int, str]]:
        """(last use, size in bytes, key) of every object, oldest first."""
        out: list[tuple[float, int, str]] = []
        if not self.objects.is_dir():
            return out
        for prefix in self.objects.iterdir():
            for folder in prefix.iterdir():
                manifest = folder / MANIFEST
                try:
                    used = manifest.stat().st_mtime
                except OSError:
                    used = 0.0
                size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
                out.append((used, size, folder.name))
        return sorted(out)

    def gc(self, max_bytes: int, *, keep: set[str] | None = None) -> tuple[int, int]:
        """Evict least recently used objects until the store is at most `max_bytes`.

        Returns (objects removed, bytes freed).
        """
        entries = self.objects_by_age()
        total = sum(size for _, size, _ in entries)
        removed = freed = 0
        for _, size, key in entries:
            if total <= max_bytes:
                break
            if keep and key in keep:
                continue
            self.discard(key)
            total -= size
            removed += 1
            freed += size
        return removed, freed


def parse_size(text: str) -> int:
    """'5G', '500M', '1.5GB', '1024' -> bytes."""
    value = text.strip().upper().removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if value and value[-1] in units:
        return int(float(value[:-1]) * units[value[-1]])
    return int(float(value))


def default_cache_dir(film: Path, explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return film.absolute().parent / ".filmcache"
