"""A build session: the process state builds share, in one object, released in one call.

Takes nothing; gives `Session`, named `Cache`s of what is costly to make again (a loaded
voice, a GPU pipeline, a parsed SoundFont) plus one-time flags, and the session that is
current (`current`, `active`). After ComfyUI's cache classes: the state that used to sit in
module globals belongs to whoever runs builds, and `Session.close` lets it all go.

- `filmlang.build.build(session=…)` runs inside `active(session)`; without one it uses the
  session current then: the process default (`default`), unless a caller made another
  active. So plain builds in one process share the loaded voice, as a long-lived process
  (`filmc watch`, the language server) owns a session of its own and closes it at the end.
- The current session is a plain module-level pointer, not a context variable: the
  scheduler's worker threads, which start and end inside a build, must see it. One session
  is current per process at a time; concurrent builds with different sessions share
  whichever was made active last.
- A backend asks for its state by name when it needs it
  (`session.current().cache("piper.voices")`), never at import time, and keeps nothing of
  its own between calls.

Where the state lives (cache names):

- `piper.voices`: the Piper voice, by .onnx path (`backends/speech/piper.py`).
- `coqui.models`: the Coqui TTS model, by (checkpoint, size, mtime)
  (`backends/speech/coqui.py`).
- `soundfont.hashes`: an SF2 file's sha256, by (path, size, mtime)
  (`backends/music/soundfont.py`); `soundfont.fonts`: the parsed SF2, by the same stamp,
  one per path (`backends/music/sf2.py`).
- `diffusers.pipelines`: text-to-image pipelines, by (model, device), one model per device;
  `diffusers.ip-adapters`: id() of those with an IP-Adapter loaded
  (`backends/diffusers/run.py`); `diffusers.clip-pipelines`: the video pipeline, one at a
  time (`backends/diffusers/clips.py`); the flag `diffusers.cpu-warning`.
- `mix.sounds`: decoded lines and effects, by (cache key, rate), the last 16 the pieces
  of the mix used (`link/pieces.py`).

What stays in `functools.lru_cache`s: memos of pure functions of small inputs, the same in
any session, which hold no model and nothing a build changes: fonts and text layout
(`backends/procedural/text.py`), espeak's voice list and version
(`backends/speech/espeak.py`), voice configs and package versions (`piper.py`,
`coqui.py`), model folder metadata (`backends/diffusers/models.py`, `plan.py`), the
loudness filters (`link/loudness.py`), the ffmpeg binary (`link/ffmpeg.py`), drum and
chord tables (`backends/music/band.py`), the registry (`backends/registry.py`), packaged
resources (`resources.py`), LSP token tables and `jobs.file_digest` (keyed by path, size
and mtime).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Cache(Generic[K, V]):
    """A thread-safe map of made things. `get_or_make` makes a missing value once: other
    threads asking for the same key wait for it (a per-key lock), threads asking for other
    keys do not. With a `limit`, the least recently used entries go, before a new value is
    made (so a model is released before the next one loads)."""

    def __init__(self, name: str, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("a cache's limit is at least 1")
        self.name = name
        self.limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[K, V] = OrderedDict()
        self._making: dict[K, threading.Lock] = {}
        self._generation = 0
        """Bumped by `clear`: a value made before it is returned but not kept."""

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value at `key`, made by `make()` if missing. An exception in `make` leaves
        nothing; the next caller tries again."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            lock = self._making.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                generation = self._generation
                self._trim(room=1)
            try:
                value = make()
            except BaseException:
                with self._lock:
                    self._done(key, lock)
                raise
            with self._lock:
                # Kept and unlocked in one step: no third thread finds neither.
                if generation == self._generation:
                    self._items[key] = value
                    self._trim(room=0)
                self._done(key, lock)
            return value

    def _done(self, key: K, lock: threading.Lock) -> None:
        if self._making.get(key) is lock:
            del self._making[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            self._trim(room=0)

    def replace(self, items: dict[K, V]) -> None:
        """Keep exactly `items` (within the limit), in one step."""
        with self._lock:
            self._items = OrderedDict(items)
            self._trim(room=0)

    def drop_where(self, predicate: Callable[[K], bool]) -> list[V]:
        """Let go of the entries whose key matches; their values."""
        with self._lock:
            return [self._items.pop(key) for key in [k for k in self._items if predicate(k)]]

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Let go of everything, including what is being made now."""
        with self._lock:
            self._items.clear()
            self._generation += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def _trim(self, room: int) -> None:
        """Under the lock: drop least recently used entries until `room` more fit."""
        if self.limit is None:
            return
        while self._items and len(self._items) + room > self.limit:
            self._items.popitem(last=False)


class Session:
    """The state of a run of builds: named caches and one-time flags."""

    def __init__(self, name: str = "session") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._caches: dict[str, Cache[Any, Any]] = {}
        self._flags: set[str] = set()

    def cache(self, name: str, limit: int | None = None) -> Cache[Any, Any]:
        """The cache called `name`, made on first use (with `limit`, which the first use
        sets)."""
        with self._lock:
            found = self._caches.get(name)
            if found is None:
                found = self._caches[name] = Cache(name, limit)
            return found

    def once(self, flag: str) -> bool:
        """True the first time `flag` is asked for in this session, then False: a warning
        given once."""
        with self._lock:
            if flag in self._flags:
                return False
            self._flags.add(flag)
            return True

    def close(self) -> None:
        """Let go of everything the session holds (models included) and reset its flags.
        The session stays usable: what is asked for again is made again."""
        with self._lock:
            caches = list(self._caches.values())
            self._flags.clear()
        for cache in caches:
            cache.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        with self._lock:
            sizes = {name: len(cache) for name, cache in self._caches.items()}
        return f"Session({self.name!r}, {sizes})"


_lock = threading.Lock()
_default: Session | None = None
_active: Session | None = None


def default() -> Session:
    """The process's own session, made on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = Session("default")
        return _default


def current() -> Session:
    """The active session, else the process default."""
    with _lock:
        found = _active
    return found if found is not None else default()


@contextmanager
def active(session: Session) -> Iterator[Session]:
    """Make `session` current in every thread until the block ends; then the one before."""
    global _active
    with _lock:
        before, _active = _active, session
    try:
        yield session
    finally:
        with _lock:
            if _active is session:
                _active = before
