"""The shared cache (`--cache-remote`): on a folder, and on S3 through s3fs against moto's
standalone S3 server, started here on 127.0.0.1 and stopped by its pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_cluster import free_port

from conftest import TINY_FILM
from filmlang.build import build
from filmlang.cache.remote import Remote, TieredStore, verify
from filmlang.cache.store import Store


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A bucket on a moto S3 server of this module's own; its URL."""
    pytest.importorskip("moto", reason="moto is not installed (the dev extra has it)")
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'filmlang[s3]')")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=log.open("wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in
             ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
              "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start: "
                                       + log.read_text()[-2000:]) from None
                time.sleep(0.2)
        import s3fs

        s3fs.S3FileSystem(anon=False).mkdir("films")
        yield "s3://films/cache"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def tiny(folder: Path, text: str = TINY_FILM) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    film = folder / "tiny.film"
    film.write_text(text, encoding="utf-8")
    return film


def ran(result: object) -> set[str]:
    return {job.key for job, status, _ in result.records() if status == "ran"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_two_machines_reuse_each_others_work(where: str, tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    """Two builds with caches of their own and one shared: the second (one line edited)
    runs no job that the first finished, and its film equals a build from scratch."""
    url = str(tmp_path / "shared") if where == "folder" else request.getfixturevalue("s3")
    # an object store's single PUT is atomic: written straight under the key; a folder's
    # objects go through tmp/ and a rename
    assert Remote(url).atomic_put == (where == "s3")
    film = tiny(tmp_path / "a")
    first = build(film, jobs=2, cache=tmp_path / "a" / "cache", cache_remote=url)
    assert first.ok
    published = set(Remote(url).keys())
    assert ran(first) <= published

    edited = TINY_FILM.replace("Then we keep it burning.", "Then we keep it lit.")
    film2 = tiny(tmp_path / "b", edited)
    second = build(film2, jobs=2, cache=tmp_path / "b" / "cache", cache_remote=url)
    assert second.ok
    assert ran(second) and not ran(second) & ran(first)
    counts = second.counts()
    assert counts["still"]["ran"] == 0 and counts["music"]["ran"] == 0
    assert counts["speech"]["ran"] == 1

    alone = build(tiny(tmp_path / "c", edited), jobs=2, cache=tmp_path / "c" / "cache")
    assert alone.ok and alone.output is not None and second.output is not None
    assert second.output.read_bytes() == alone.output.read_bytes()


def test_a_corrupt_shared_object_is_never_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    remote = Remote(str(shared))
    local = Store(tmp_path / "one")
    local.ensure()
    with local.writing("ab" * 32, "still") as out:
        (out / "still.png").write_bytes(b"picture")
    remote.publish("ab" * 32, local.path("ab" * 32))
    fresh = TieredStore(tmp_path / "two", remote)
    fresh.ensure()
    assert fresh.lookup("ab" * 32).ok
    assert (fresh.path("ab" * 32) / "still.png").read_bytes() == b"picture"

    # the object on the shared folder is changed behind its manifest's back
    archive = shared / "objects" / "ab" / f"{'ab' * 32}.tar"
    work = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    (work / "still.png").write_bytes(b"pictur!")
    with tarfile.open(archive, "w") as tar:
        for path in work.iterdir():
            tar.add(path, arcname=path.name)
    other = TieredStore(tmp_path / "three", remote)
    other.ensure()
    found = other.lookup("ab" * 32)
    assert found.status == "corrupt" and "still.png" in found.detail
    assert not other.local("ab" * 32).exists()
    assert verify(work, "cd" * 32).detail == "its manifest names another key"


def test_publishing_to_a_folder_is_atomic_and_gc_keeps_the_shared_objects(
        tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    film = tiny(tmp_path / "a")
    first = build(film, jobs=2, cache=tmp_path / "a" / "cache", cache_remote=str(shared))
    assert first.ok
    keys = set(Remote(str(shared)).keys())
    # nothing half-written is left: every object is a whole tar, no temp file remains
    assert not list((shared / "tmp").iterdir())
    for archive in (shared / "objects").rglob("*.tar"):
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest["key"] == archive.stem
    done = subprocess.run([sys.executable, "-m", "filmlang.cli", "cache", "gc",
                           str(tmp_path / "a" / "cache"), "--max-size", "0"],
                          capture_output=True, text=True, check=True)
    assert "removed" in done.stdout
    assert not list((tmp_path / "a" / "cache" / "objects").rglob("manifest.json"))
    assert set(Remote(str(shared)).keys()) == keys


def test_a_shared_cache_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    film = tiny(tmp_path)
    done = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", str(film),
                           "--cache-remote", "nosuchscheme://bucket/x"],
                          capture_output=True, text=True)
    assert done.returncode == 3  # a backend (the shared cache) failed: docs/cli.md
    assert "Traceback" not in done.stderr
    assert "cannot open the shared cache nosuchscheme://bucket/x" in done.stderr
