"""`filmc watch --serve`: a local page that shows the film being watched, live.

Takes the builds of a watch session (as a `BuildListener`) and gives an HTTP server bound
to 127.0.0.1, standard library only, running in threads of the watch process:

    /             the page (filmlang/web/preview.html: one file, inline CSS and JS)
    /state.json   the film's timeline (scenes; shots with type, subjects, first line,
                  file:line and rendered prompt), the diagnostics of the last build, its
                  progress and the build number
    /events       server-sent events: the state again each time it changes
    /film.mp4     the last good film, with Range support (browsers seek with 206s)

The timeline is the one of the last good build, the film that plays; diagnostics are
those of the last build, so a broken save shows its errors while the last good film keeps
playing. Requests whose Host is not this server's loopback address are refused, so a web
page elsewhere cannot read the film through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filmlang.build import BuildResult
from filmlang.diagnostics import render_all
from filmlang.timeline import Timeline
from filmlang.watch import BuildListener

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HEARTBEAT_SECONDS = 15.0
_CHUNK = 1 << 16
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class PortBusy(Exception):
    """The port asked for is taken (or not ours to bind)."""

    def __init__(self, port: int, reason: str) -> None:
        super().__init__(f"cannot serve on {HOST}:{port}: {reason}")
        self.port = port
        self.reason = reason


def timeline_json(result: BuildResult, timeline: Timeline) -> dict[str, Any]:
    """Scenes and shots of a built film, in seconds, for the page."""
    film = result.check.film
    assert film is not None
    display = result.check.program.display_names()
    fps = timeline.fps
    shots: list[dict[str, Any]] = []
    scenes: list[dict[str, Any]] = []
    for timing in timeline.shots:
        shot, scene = timing.shot, timing.scene
        start = timing.start_frame / fps
        end = timing.end_frame / fps
        if not scenes or scenes[-1]["name"] != scene.name:
            scenes.append({"name": scene.name, "heading": scene.heading or scene.setting,
                           "start": start, "end": end})
        scenes[-1]["end"] = end
        if shot.lines:
            line = shot.lines[0]
            first = f'{line.speaker}: "{line.text}"'
        elif shot.titles:
            first = f'title "{shot.titles[0].text}"'
        else:
            first = shot.action
        where = f"{display.get(shot.origin.file, shot.origin.file)}:{shot.origin.line}"
        source = result.check.program.files.get(shot.origin.file)
        shots.append({
            "id": f"{scene.name}/{shot.index}", "scene": scene.name, "index": shot.index,
            "start": round(start, 4), "duration": round(timing.frames / fps, 4),
            "type": shot.type, "subjects": list(shot.subjects), "first_line": first,
            "location": where, "prompt": shot.prompt,
            # where it is written, for an editor beside the page (the VS Code extension)
            "path": str(source.path) if source is not None else "",
            "line": shot.origin.line, "end_line": shot.origin.end_line,
            "lines": [f'{ln.speaker}: "{ln.text}"' for ln in shot.lines]})
    return {"title": film.title, "fps": fps, "duration": round(timeline.seconds, 4),
            "width": film.width, "height": film.height, "scenes": scenes, "shots": shots}


def diagnostics_json(result: BuildResult | None) -> dict[str, Any]:
    """What went wrong in a build: rendered as the terminal shows it, and structured."""
    if result is None:
        return {"ok": False, "text": "error: the cache or the output could not be written "
                "(see the terminal)", "items": []}
    check = result.check
    display = check.program.display_names()
    found = [*check.diagnostics, *result.diagnostics]
    items: list[dict[str, Any]] = []
    for d in found:
        item = d.to_json()
        item["file"] = display.get(d.span.file, d.span.file)
        items.append(item)
    texts = [render_all(found, check.program.files, display=display)] if found else []
    for failure in result.failures:
        origin = failure.job.origin
        where = f"{origin}: " if origin is not None else ""
        texts.append(f"{where}error: {failure.job.kind} job failed: {failure.message}")
        items.append({"code": "", "severity": "error", "message": failure.message,
                      "file": origin.file if origin else "", "line": origin.line if origin
                      else 0, "column": origin.column if origin else 0})
    return {"ok": result.ok, "text": "\n\n".join(texts), "items": items}


class Preview(BuildListener):
    """The page's state, kept up to date by the watch session, and the server showing it."""

    def __init__(self, film: Path, output: Path | None, *, port: int = DEFAULT_PORT) -> None:
        self.output = output
        self.film = film
        self._cond = threading.Condition()
        self._version = 0
        self._closing = False
        self._state: dict[str, Any] = {
            "build": 0, "attempt": 0, "status": "starting", "film": None,
            "timeline": None, "diagnostics": {"ok": True, "text": "", "items": []},
            "progress": {"done": 0, "total": 0, "phase": "", "running": False},
            "seconds": None, "source": film.name}
        try:
            self.server = _Server((HOST, port), _Handler)
        except OSError as exc:
            raise PortBusy(port, exc.strerror or str(exc)) from None
        self.server.preview = self
        self.port: int = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="filmc-serve",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------ the listener

    def started(self, number: int) -> None:
        self._update(attempt=number, status="building",
                     progress={"done": 0, "total": 0, "phase": "checking", "running": True})

    def progress(self, number: int, done: int, total: int, phase: str) -> None:
        self._update(progress={"done": done, "total": total, "phase": phase, "running": True})

    def finished(self, number: int, result: BuildResult | None, seconds: float) -> None:
        changes: dict[str, Any] = {"seconds": round(seconds, 2)}
        progress = dict(self.state()["progress"], running=False)
        if result is not None and result.cancelled:
            changes["status"] = "cancelled"
        else:
            changes["diagnostics"] = diagnostics_json(result)
            if result is not None and result.ok and result.timeline is not None:
                self.output = result.output
                changes.update(status="ok", build=number, film=f"/film.mp4?build={number}",
                               timeline=timeline_json(result, result.timeline))
                progress["done"] = progress["total"]
            else:
                changes["status"] = "failed"
        changes["progress"] = progress
        self._update(**changes)

    # ------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        with self._cond:
            return dict(self._state)

    def _update(self, **changes: Any) -> None:
        with self._cond:
            self._state.update(changes)
            self._version += 1
            self._cond.notify_all()

    def wait_change(self, version: int, timeout: float) -> tuple[int, dict[str, Any] | None]:
        """The state once its version is past `version` (None on timeout or closing)."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != version or self._closing, timeout)
            if self._closing or self._version == version:
                return self._version, None
            return self._version, dict(self._state)

    @property
    def closing(self) -> bool:
        return self._closing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False
    preview: Preview


def page() -> bytes:
    return (resources.files("filmlang") / "web" / "preview.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal belongs to the build output."""

    def do_GET(self) -> None:
        preview = self.server.preview
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in (f"{HOST}:{preview.port}", f"localhost:{preview.port}"):
            self._send(HTTPStatus.FORBIDDEN, b"wrong Host\n", "text/plain")
            return
        route = urlsplit(self.path).path
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if route in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page(), "text/html; charset=utf-8")
            elif route == "/state.json":
                body = json.dumps(preview.state(), ensure_ascii=False).encode()
                self._send(HTTPStatus.OK, body, "application/json")
            elif route == "/events":
                self._events(preview)
            elif route == "/film.mp4":
                self._film(preview)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def _send(self, status: HTTPStatus, body: bytes, kind: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _events(self, preview: Preview) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        version = -1
        state: dict[str, Any] | None = preview.state()
        while not preview.closing:
            if state is None:
                self.wfile.write(b": still here\n\n")  # lets a closed tab be noticed
            else:
                data = json.dumps(state, ensure_ascii=False)
                self.wfile.write(f"event: state\ndata: {data}\n\n".encode())
            self.wfile.flush()
            version, state = preview.wait_change(version, HEARTBEAT_SECONDS)

    def _film(self, preview: Preview) -> None:
        output = preview.output
        if output is None or not output.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"no film built yet\n", "text/plain")
            return
        # The build replaces the film by a rename: the file opened here stays whole.
        with output.open("rb") as handle:
            size = output.stat().st_size
            first, last = 0, size - 1
            status = HTTPStatus.OK
            wanted = self.headers.get("Range")
            if wanted:
                match = _RANGE.match(wanted.strip())
                if match is None or not (match[1] or match[2]):
                    self._unsatisfiable(size)
                    return
                if match[1]:
                    first = int(match[1])
                    last = min(int(match[2]), size - 1) if match[2] else size - 1
                else:
                    first = max(0, size - int(match[2]))
                if first > last or first >= size:
                    self._unsatisfiable(size)
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            self.send_header("Cache-Control", "no-cache")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            handle.seek(first)
            left = last - first + 1
            while left > 0:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _unsatisfiable(self, size: int) -> None:
        self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "text/plain",
                   {"Content-Range": f"bytes */{size}"})
