"""`filmc watch --serve` as a real process: the HTTP endpoints (state, events, the film with
Range requests, loopback only), and the page itself driven in a real headless Chromium."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_watch as tw

from conftest import TINY_FILM, write_film

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


class Session:
    """A `filmc watch --serve --port 0` process on a copy of the tiny film."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.film = write_film(folder)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "filmlang.cli", "watch", "tiny.film", "--serve", "--port",
             "0", "-j", "2", *extra], cwd=folder, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        self.out = tw.Reader(self.proc)
        line = self.out.until("preview page: ")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        self.port = int(match[1])
        self.url = match[0]
        self.mp4 = folder / "build" / "tiny.preview.mp4"

    def get(self, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def state(self) -> dict[str, Any]:
        status, _, body = self.get("/state.json")
        assert status == 200
        data: dict[str, Any] = json.loads(body)
        return data

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert code == 0, "".join(self.out.seen)
        assert tw.in_session(self.proc.pid) == []


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    running = Session(tmp_path)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.stop()


def _listening_addresses(port: int) -> list[str]:
    """The local addresses of the TCP sockets listening on `port` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                found.append(address)
    return found


def test_state_film_ranges_events_and_loopback_only(session: Session, tmp_path: Path) -> None:
    session.out.until("built ")
    session.out.until("watching 1 file")
    state = session.state()
    assert state["build"] == 1 and state["status"] == "ok" and state["diagnostics"]["ok"]
    assert state["film"] == "/film.mp4?build=1"
    timeline = state["timeline"]
    assert [s["name"] for s in timeline["scenes"]] == ["storm", "dawn"]
    shots = timeline["shots"]
    assert [(s["id"], s["type"], s["subjects"]) for s in shots] == [
        ("storm/0", "wide", []), ("storm/1", "close_up", ["MARA"]),
        ("storm/2", "two_shot", ["MARA", "TOM"]), ("dawn/0", "wide", [])]
    lines = TINY_FILM.splitlines()
    for shot in shots:
        file, line = shot["location"].rsplit(":", 1)
        assert file == "tiny.film"
        assert lines[int(line) - 1].strip().startswith(f"shot {shot['type']}"), shot
        # for an editor beside the page: the file's path and the shot's lines
        assert Path(shot["path"]).name == "tiny.film" and Path(shot["path"]).is_absolute()
        assert shot["line"] == int(line) <= shot["end_line"]
        assert shot["prompt"] and shot["duration"] > 0
    assert shots[2]["first_line"] == 'TOM: "Then we keep it burning."'
    assert shots[0]["start"] == 0 and shots[1]["start"] == 2.0
    assert abs(shots[-1]["start"] + shots[-1]["duration"] - timeline["duration"]) < 1e-3
    assert state["progress"]["running"] is False
    assert state["progress"]["done"] == state["progress"]["total"] > 0

    film = session.mp4.read_bytes()
    status, headers, body = session.get("/film.mp4?build=1")
    assert status == 200 and body == film and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/mp4"
    status, headers, body = session.get("/film.mp4", {"Range": "bytes=100-199"})
    assert status == 206 and body == film[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{len(film)}"
    status, headers, body = session.get("/film.mp4", {"Range": "bytes=-10"})
    assert status == 206 and body == film[-10:]
    status, headers, body = session.get("/film.mp4", {"Range": f"bytes={len(film) - 5}-"})
    assert status == 206 and body == film[-5:]
    status, headers, _ = session.get("/film.mp4", {"Range": f"bytes={len(film)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(film)}"

    status, _, page = session.get("/")
    assert status == 200 and b"EventSource" in page and b'id="timeline"' in page
    assert session.get("/nothing")[0] == 404
    # Another site's page reaching the port by DNS rebinding carries its own Host: refused.
    assert session.get("/state.json", {"Host": "example.com"})[0] == 403

    conn = http.client.HTTPConnection("127.0.0.1", session.port, timeout=30)
    conn.request("GET", "/events")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.readline() == b"event: state\n"
    data = response.readline()
    assert data.startswith(b"data: ") and json.loads(data[6:])["build"] == 1
    conn.close()

    assert _listening_addresses(session.port) == ["0100007F"]  # 127.0.0.1 and nothing else

    # The same port again: a clear error naming --port, before any build.
    busy = subprocess.run([sys.executable, "-m", "filmlang.cli", "watch", "tiny.film",
                           "--serve", "--port", str(session.port)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert busy.returncode == 3  # the page is an output it cannot make (docs/cli.md)
    assert f"cannot serve on 127.0.0.1:{session.port}" in busy.stderr, busy.stderr
    assert "--port" in busy.stderr and "Traceback" not in busy.stderr + busy.stdout
    assert "built" not in busy.stdout

    session.stop()


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_page_in_chromium(session: Session, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    def video(page: Any, prop: str) -> Any:
        return page.evaluate(f"document.getElementById('player').{prop}")

    session.out.until("watching 1 file")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(session.url)
            page.wait_for_function("document.body.dataset.build === '1'")
            assert page.locator(".shot").count() == 4
            assert "Then we keep it burning." in page.locator("#shots").inner_text()
            assert page.locator(".scene").count() == 2
            assert video(page, "error") is None

            before = {s["id"]: s for s in session.state()["timeline"]["shots"]}
            two = before["storm/2"]
            page.locator('.shot[data-id="storm/2"]').click()
            page.wait_for_function(
                f"Math.abs(document.getElementById('player').currentTime - {two['start']})"
                " < 0.01")
            details = page.locator("#details")
            assert details.locator(".loc").inner_text() == two["location"] == "tiny.film:30"
            assert details.locator(".prompt").inner_text() == two["prompt"]
            assert "two_shot MARA TOM" in details.inner_text()
            page.screenshot(path=str(tmp_path / "page.png"))

            # An editor beside the page (the VS Code extension frames it): the line under
            # its cursor shows that shot; a shot clicked tells the editor its line.
            one = before["storm/1"]
            page.evaluate("(m) => window.postMessage(m, '*')",
                          {"filmlang": "reveal", "path": one["path"], "line": one["line"]})
            page.wait_for_function(
                f"Math.abs(document.getElementById('player').currentTime - {one['start']})"
                " < 0.01")
            assert details.locator(".loc").inner_text() == one["location"]
            host = browser.new_page()
            host.set_content(f'<iframe id="f" src="{session.url}" width="1200" '
                             'height="700"></iframe><script>window.told = [];'
                             'addEventListener("message", (e) => told.push(e.data));</script>')
            frame = host.frame_locator("#f")
            frame.locator('.shot[data-id="storm/2"]').click(timeout=60_000)
            host.wait_for_function("window.told.length > 0")
            assert host.evaluate("window.told[0]") == {
                "filmlang": "clicked", "path": two["path"], "line": two["line"]}
            host.close()
            page.locator('.shot[data-id="storm/2"]').click()  # back where the rest expects
            page.wait_for_function(
                f"Math.abs(document.getElementById('player').currentTime - {two['start']})"
                " < 0.01")

            # A longer line earlier in the film moves the shot under the playhead later: the
            # page follows it there, without a reload.
            edited = TINY_FILM.replace(
                "The light has to stay on.",
                "The light has to stay on, whatever the sea does tonight.")
            tw.save_whole(session.film, edited)
            page.wait_for_function("document.body.dataset.build === '2'", timeout=120_000)
            assert "whatever the sea does tonight" in page.locator("#shots").inner_text()
            after = {s["id"]: s for s in session.state()["timeline"]["shots"]}
            moved = after["storm/2"]["start"]
            assert moved > two["start"] + 0.5
            page.wait_for_function(
                f"Math.abs(document.getElementById('player').currentTime - {moved}) < 0.01")
            assert "build=2" in video(page, "currentSrc")
            assert page.locator(".shot.current").get_attribute("data-id") == "storm/2"

            # A broken save: its diagnostic shows, the last good film keeps playing.
            tw.save_whole(session.film, edited.replace('TOM: "Then', 'TIM: "Then'))
            page.wait_for_selector("#diagnostics.bad", timeout=120_000)
            shown = page.locator("#diagnostics").inner_text()
            assert "E0102" in shown and "unknown character 'TIM'" in shown
            assert "tiny.film:" in shown
            assert "failed" in page.locator("#status").inner_text()
            assert "build=2" in video(page, "currentSrc")
            assert page.evaluate("document.body.dataset.build") == "2"
            assert video(page, "error") is None
        finally:
            browser.close()
    session.stop()


def test_serve_wants_an_mp4(tmp_path: Path) -> None:
    write_film(tmp_path)
    done = subprocess.run([sys.executable, "-m", "filmlang.cli", "watch", "tiny.film",
                           "--serve", "-o", "out.mkv"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "give -o a .mp4 name" in done.stderr
    assert "Traceback" not in done.stderr
