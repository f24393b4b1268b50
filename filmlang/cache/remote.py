"""The shared cache: a second tier behind the local store, on a folder or an object store.

`--cache-remote URL` (or `FILMC_CACHE_REMOTE`) names it: a shared folder (`/mnt/films`,
`file:///mnt/films`) or any URL an fsspec driver understands (`s3://bucket/prefix` through
`s3fs`, `gs://` through `gcsfs`, ...). Many machines read and write it; nothing on it is
ever deleted by filmc (`filmc cache gc` evicts local objects only).

An object is one file, `objects/ab/<key>.tar`: the job's files and its `manifest.json`
(each file's sha256 and size). One file per object makes publishing atomic: on an object
store one PUT (or a multipart upload, which appears only when completed) makes the whole
object visible under its key at once, never a part of it; on a folder or any other
filesystem the tar is written under `tmp/` and then renamed into place. A reader
downloads it, unpacks it into the local store's `tmp/`, checks every file against the
manifest and the manifest against the key, and only then renames it into the local
store: an object that does not verify is never used (it is rendered again and published
over).

`TieredStore` is a `Store` whose lookups fall through to the remote and whose commits
publish to it, so the scheduler, the runners and the Ray workers (which publish their
outputs themselves) need not know there is a second tier.

Written here rather than taken from a library: fsspec does the transport, and what is
left (one tar per object, verify before use) is a page of code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

from filmlang.cache.store import MANIFEST, Lookup, Store, file_sha256

REMOTE_ENV = "FILMC_CACHE_REMOTE"
ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "r2"}
"""Object stores whose single PUT (and completed multipart upload) is atomic."""


class RemoteError(Exception):
    """The shared cache cannot be reached or used: what a user reads."""


class Remote:
    """One shared cache, through fsspec."""

    def __init__(self, url: str) -> None:
        import fsspec.core

        self.url = url
        try:
            self.fs, self.base = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            scheme = url.split("://", 1)[0] if "://" in url else "file"
            raise RemoteError(f"cannot open the shared cache {url}: {exc} (for {scheme}:// "
                              "install its fsspec driver, e.g. pip install "
                              "'filmlang[s3]' for s3://)") from None
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) \
            else (self.fs.protocol,)
        self.atomic_put = any(p in ATOMIC_PUT for p in protocols)

    def _key_path(self, key: str) -> str:
        return f"{self.base.rstrip('/')}/objects/{key[:2]}/{key}.tar"

    def has(self, key: str) -> bool:
        try:
            return bool(self.fs.exists(self._key_path(key)))
        except (OSError, ValueError):
            return False

    def fetch(self, key: str, into: Path) -> Lookup:
        """Download an object and unpack it into the folder `into` (which must not exist);
        'ok' only when every file matches the manifest and the manifest names the key."""
        with tempfile.TemporaryDirectory(dir=into.parent) as scratch:
            archive = Path(scratch) / "object.tar"
            try:
                self.fs.get_file(self._key_path(key), str(archive))
            except FileNotFoundError:
                return Lookup("missing")
            except OSError as exc:
                return Lookup("missing", f"the shared cache did not answer: {exc}")
            unpacked = Path(scratch) / "object"
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(unpacked, filter="data")
            except (tarfile.TarError, OSError) as exc:
                return Lookup("corrupt", f"the shared object cannot be unpacked: {exc}")
            found = verify(unpacked, key)
            if found.ok:
                os.replace(unpacked, into)
            return found

    def publish(self, key: str, folder: Path) -> None:
        """Put a committed local object on the remote, atomically under its key."""
        final = self._key_path(key)
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / f"{key}.tar"
            with tarfile.open(archive, "w") as tar:
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        tar.add(path, arcname=path.relative_to(folder).as_posix())
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            if self.atomic_put:
                self.fs.put_file(str(archive), final)
                return
            temp = f"{self.base.rstrip('/')}/tmp/{key}-{uuid.uuid4().hex[:8]}.tar"
            self.fs.makedirs(temp.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(str(archive), temp)
            try:
                self.fs.mv(temp, final)
            finally:
                with contextlib.suppress(OSError, FileNotFoundError):
                    if self.fs.exists(temp):
                        self.fs.rm(temp)

    def keys(self) -> list[str]:
        """Every object's key (for tests and tools)."""
        try:
            found = self.fs.glob(f"{self.base.rstrip('/')}/objects/*/*.tar")
        except (OSError, FileNotFoundError):
            return []
        return sorted(Path(str(name)).stem for name in found)


def verify(folder: Path, key: str) -> Lookup:
    """Whether an unpacked object is whole: its manifest names `key`, and every file it
    lists is there with its size and hash."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
        files: dict[str, Any] = data["files"]
    except (OSError, ValueError, KeyError):
        return Lookup("corrupt", "its manifest cannot be read")
    if data.get("key") != key:
        return Lookup("corrupt", "its manifest names another key")
    for name, entry in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return Lookup("corrupt", f"{name} is missing or has the wrong size")
        if file_sha256(path) != entry["sha256"]:
            return Lookup("corrupt", f"{name} does not match its hash")
    return Lookup("ok")


class TieredStore(Store):
    """The local store with a shared remote behind it: a lookup that misses locally
    fetches (and verifies) the remote's object; a commit publishes to the remote."""

    def __init__(self, root: Path, remote: Remote) -> None:
        super().__init__(root)
        self.remote = remote
        self.fetched = 0
        self.published = 0

    def lookup(self, key: str, *, verify: bool = True) -> Lookup:
        local = super().lookup(key, verify=verify)
        if local.status != "missing":
            return local
        if not verify:
            return Lookup("ok") if self.remote.has(key) else local
        return self._pull(key)

    def path(self, key: str) -> Path:
        folder = self.local(key)
        if not (folder / MANIFEST).is_file():
            self._pull(key)
        return folder

    def _pull(self, key: str) -> Lookup:
        target = self.local(key)
        self.tmp.mkdir(parents=True, exist_ok=True)
        landing = self.tmp / f"fetch-{key}-{uuid.uuid4().hex[:8]}"
        try:
            found = self.remote.fetch(key, landing)
            if found.ok:
                target.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(OSError):  # another process put it there first
                    os.replace(landing, target)
        finally:
            shutil.rmtree(landing, ignore_errors=True)
        if found.ok and (target / MANIFEST).is_file():
            self._verified.add(key)
            self.fetched += 1
            return Lookup("ok")
        return found if found.status != "ok" else Lookup("missing")

    def _commit(self, key: str, kind: str, work: Path) -> None:
        super()._commit(key, kind, work)
        try:
            self.remote.publish(key, self.local(key))
        except OSError as exc:
            raise RemoteError(f"cannot publish to the shared cache {self.remote.url}: "
                              f"{exc}") from exc
        self.published += 1


def remote_url(explicit: str | None) -> str | None:
    """The shared cache asked for: --cache-remote, else $FILMC_CACHE_REMOTE, else none."""
    return explicit or os.environ.get(REMOTE_ENV) or None


def open_store(root: Path, remote: str | None) -> Store:
    """The local store at `root`, with the shared one behind it when a URL is given."""
    return TieredStore(root, Remote(remote)) if remote else Store(root)
