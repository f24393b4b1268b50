"""`filmc watch`: build a film, then rebuild it each time one of its files is saved.

The build runs in the main thread. watchdog's observer thread only notes that a file of
the build changed (an event and a timestamp); the main loop waits for a short quiet spell
so that a burst of saves gives one build, then builds with `filmlang.build.build`, whose
cache makes the rebuild incremental. Changes made during a build start another build as
soon as it ends. After each build the set of watched files is computed again, so new
imports and includes are followed. A source with errors prints its diagnostics and leaves
the last good film in place (a build writes its output only on success, atomically).

A save in the middle of a build cancels it: the observer thread sets the build's cancel
token, `build` stops starting jobs, kills its ffmpeg children and returns without
publishing anything, and the main loop starts the new build once the old one has returned.
Jobs that finished before the cancel stay in the cache; the new build reuses them.

A `BuildListener` (the `--serve` preview page) hears when each build starts, how far it
has got, and how it ended.

A watcher owns a `Session`: every build of it runs there, so the voice and the models load
once for all the rebuilds; `close` (at the end of `run`) lets them go.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from filmlang.build import BuildResult, build, default_output
from filmlang.config import BuildConfig
from filmlang.diagnostics import render_all
from filmlang.exec.scheduler import Progress, Record
from filmlang.outputs import cannot_write
from filmlang.session import Session

QUIET_SECONDS = 0.15
"""How long the files must stay unchanged before a rebuild starts."""

Echo = Callable[[str], None]


def watched_files(entry: Path, result: BuildResult | None) -> set[Path]:
    """The entry file, every non-standard-library file the last build read, and the
    shots' pictures from files."""
    files = {entry.resolve()}
    if result is not None:
        for source in result.check.program.files.values():
            if not source.is_std:
                files.add(source.path.resolve())
        film = result.check.film
        root = result.check.program.root
        for shot in film.shots if film is not None else ():
            if shot.picture is not None:
                files.add((root / shot.picture.path).resolve())
    return files


def _shown(path: Path) -> str:
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def describe(result: BuildResult, seconds: float, style: Callable[[str], str] = str
             ) -> list[str]:
    """What a build did, as lines: its diagnostics or the jobs that ran and why, the jobs
    reused, and the output or why there is none."""
    lines: list[str] = []
    check = result.check
    if check.diagnostics:
        lines.append(style(check.report()))
    if result.diagnostics:
        rendered = render_all(result.diagnostics, check.program.files,
                              display=check.program.display_names())
        lines.append(style(rendered))
    for failure in result.failures:
        origin = failure.job.origin
        where = f"{origin}: " if origin is not None else ""
        lines.append(f"{where}error: {failure.job.kind} job failed: {failure.message}")
    reused: Counter[str] = Counter()
    for job, status, reason in result.records():
        if status == "ran":
            label = f" {job.label}" if job.label else ""
            lines.append(f"  ran {job.kind}{label} ({reason or 'new'})")
        elif status == "cached":
            reused[job.kind] += 1
    if reused:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(reused.items()))
        lines.append(f"  reused {sum(reused.values())} jobs ({kinds})")
    if result.ok:
        assert result.output is not None
        film = result.timeline.seconds if result.timeline else 0.0
        lines.append(f"built {_shown(result.output)} ({film:.1f}s of film) in {seconds:.1f}s")
    else:
        lines.append(f"build failed in {seconds:.1f}s; the last good film stays in place")
    return lines


class BuildListener:
    """Hears about each build of a watch session; all no-ops here. Called from the main
    thread (`started`, `finished`) and the scheduler's threads (`progress`)."""

    def started(self, number: int) -> None: ...
    def progress(self, number: int, done: int, total: int, phase: str) -> None: ...
    def finished(self, number: int, result: BuildResult | None, seconds: float) -> None: ...


class _Progress(Progress):
    """The scheduler's progress, passed on to a listener as (done, total, phase): the
    speech and stills first, then the assembly."""

    def __init__(self, listener: BuildListener, number: int) -> None:
        self.listener = listener
        self.number = number
        self.lock = threading.Lock()
        self.phase = 0
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        with self.lock:
            self.phase += 1
            self.done, self.total = 0, total
            self._tell()

    def advance(self, record: Record) -> None:
        with self.lock:
            self.done += 1
            self._tell()

    def _tell(self) -> None:
        phase = "speech and stills" if self.phase <= 1 else "shots, sound and mux"
        self.listener.progress(self.number, self.done, self.total, phase)


class _Changes(FileSystemEventHandler):
    """Runs in the observer thread: notes that a watched file changed, and cancels the
    build in progress, if any."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.last = 0.0
        self.files: set[Path] = set()
        self.any_film = False
        """After a failed build: also take any .film file (an include not yet written)."""
        self.cancel: threading.Event | None = None
        """The cancel token of the build running now."""

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        with self.lock:
            for raw in paths:
                if not raw:
                    continue
                path = Path(raw if isinstance(raw, str) else raw.decode())
                if path.resolve() in self.files or (self.any_film and path.suffix == ".film"):
                    self.last = time.monotonic()
                    self.changed.set()
                    if self.cancel is not None:
                        self.cancel.set()
                    return

    def settled(self, quiet: float) -> bool:
        """True, and the change taken, once nothing has changed for `quiet` seconds."""
        with self.lock:
            if time.monotonic() - self.last < quiet:
                return False
            self.changed.clear()
            return True


class Watcher:
    """Builds `file`, then rebuilds it whenever a file of the build changes."""

    def __init__(self, file: Path, *, output: Path | None = None, cache: Path | None = None,
                 jobs: int | None = None, config: BuildConfig | None = None,
                 allow_outside: bool = False, echo: Echo = print,
                 style: Callable[[str], str] = str, quiet: float = QUIET_SECONDS,
                 listener: BuildListener | None = None) -> None:
        self.file = file
        self.config = config or BuildConfig(preview=True)
        if output is None and self.config.preview:
            # A preview never replaces the film `filmc build` made: it has its own name.
            final = default_output(file)
            output = final.with_name(f"{final.stem}.preview{final.suffix}")
        self.output = output
        self.cache = cache
        self.jobs = jobs
        self.allow_outside = allow_outside
        self.echo = echo
        self.style = style
        self.quiet = quiet
        self.listener = listener or BuildListener()
        self.changes = _Changes()
        self.watches: dict[Path, ObservedWatch] = {}
        self.builds = 0
        self.session = Session(f"watch {file.name}")
        """What the builds keep loaded between rebuilds; closed by `close`."""

    def close(self) -> None:
        """Let go of what the builds loaded (voices, models, decoded sounds)."""
        self.session.close()

    def build_once(self) -> BuildResult | None:
        """One build, reported; None when the cache or output could not be written. A save
        during the build cancels it (the result says `cancelled`)."""
        self.builds += 1
        number = self.builds
        self.listener.started(number)
        cancel = threading.Event()
        with self.changes.lock:
            self.changes.cancel = cancel
        start = time.perf_counter()
        result: BuildResult | None = None
        try:
            result = build(self.file, output=self.output, cache=self.cache, jobs=self.jobs,
                           config=self.config, allow_outside=self.allow_outside,
                           progress=_Progress(self.listener, number), cancel=cancel,
                           session=self.session)
        except OSError as exc:
            self.echo("error: " + (cannot_write(Path(str(exc.filename)), exc) if exc.filename
                                   else f"cannot write: {exc.strerror or exc}"))
        finally:
            with self.changes.lock:
                self.changes.cancel = None
        seconds = time.perf_counter() - start
        if result is not None and result.cancelled:
            self.echo(f"build cancelled after {seconds:.1f}s: a file changed")
        elif result is not None:
            for line in describe(result, seconds, self.style):
                self.echo(line)
        self.listener.finished(number, result, seconds)
        return result

    def _follow(self, observer: BaseObserver, result: BuildResult | None) -> None:
        """Watch the folders of the files of the last build, and only those."""
        files = watched_files(self.file, result)
        with self.changes.lock:
            self.changes.files = files
            self.changes.any_film = result is None or not (result.ok or result.cancelled)
        folders = {path.parent for path in files if path.parent.is_dir()}
        for folder in set(self.watches) - folders:
            observer.unschedule(self.watches.pop(folder))
        for folder in folders - set(self.watches):
            self.watches[folder] = observer.schedule(self.changes, str(folder),
                                                     recursive=False)

    def run(self) -> int:
        """Build, then watch until interrupted (Ctrl-C). Returns the exit status, 0."""
        observer = Observer()
        observer.daemon = True
        try:
            observer.start()
            # Watch before the first build, so that saves made during it are seen.
            self._follow(observer, None)
            result = self.build_once()
            self._follow(observer, result)
            self._waiting()
            while True:
                if not self.changes.changed.wait(0.5):
                    continue
                if not self.changes.settled(self.quiet):
                    time.sleep(self.quiet / 3)
                    continue
                self.echo("change seen; rebuilding")
                result = self.build_once()
                self._follow(observer, result)
                if not self.changes.changed.is_set():
                    self._waiting()
        except KeyboardInterrupt:
            self.echo("stopped")
        finally:
            observer.stop()
            observer.join(timeout=10)
            self.close()
        return 0

    def _waiting(self) -> None:
        count = len(self.changes.files)
        self.echo(f"watching {count} file{'s' if count != 1 else ''}; Ctrl-C to stop")
