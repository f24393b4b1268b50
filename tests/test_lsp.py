"""`filmc lsp` driven as an editor drives it: a real subprocess, JSON-RPC frames over stdio.

The client below is a small LSP client (Content-Length framing, requests matched by id,
notifications queued), so every test goes through the server's real protocol handling.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmlang.lsp.incremental import IncrementalParser
from filmlang.source import SourceFile
from filmlang.syntax.chunks import chunks
from filmlang.syntax.parser import parse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


class Client:
    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "filmlang.cli", "lsp"], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.responses: dict[int, Any] = {}
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lock = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                key, value = line.decode().split(":", 1)
                headers[key.lower()] = value.strip()
            body = json.loads(stream.read(int(headers["content-length"])))
            if "id" in body and "method" not in body:
                with self.lock:
                    self.responses[body["id"]] = body
                    self.lock.notify_all()
            elif "method" in body:
                if "id" in body:  # a request from the server (e.g. workDoneProgress)
                    self._send({"id": body["id"], "result": None})
                self.notifications.put(body)

    def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        self.next_id += 1
        rid = self.next_id
        self._send({"id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.lock:
            while rid not in self.responses:
                left = deadline - time.monotonic()
                assert left > 0, f"no answer to {method}"
                self.lock.wait(left)
            body = self.responses.pop(rid)
        if "error" in body:
            raise RuntimeError(body["error"]["message"])
        return body["result"]

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def diagnostics(self, uri: str, timeout: float = 30) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no diagnostics for {uri}"
            message = self.notifications.get(timeout=left)
            if message["method"] == "textDocument/publishDiagnostics" and \
                    message["params"]["uri"] == uri:
                return list(message["params"]["diagnostics"])

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "film", "version": 1,
            "text": path.read_text() if text is None else text}})
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": text}]})

    def close(self) -> int:
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        code = self.proc.wait(timeout=10)
        return code


@pytest.fixture
def film_dir(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "lighthouse.film", tmp_path / "lighthouse.film")
    shutil.copytree(EXAMPLES / "last_ferry", tmp_path / "last_ferry")
    shutil.copy(EXAMPLES / "last_ferry.film", tmp_path / "last_ferry.film")
    return tmp_path


@pytest.fixture
def client(film_dir: Path) -> Iterator[Client]:
    c = Client(film_dir)
    result = c.request("initialize", {"processId": os.getpid(), "rootUri": film_dir.as_uri(),
                                      "capabilities": {}})
    caps = result["capabilities"]
    for feature in ("completionProvider", "hoverProvider", "definitionProvider",
                    "referencesProvider", "renameProvider", "documentSymbolProvider",
                    "foldingRangeProvider", "documentFormattingProvider",
                    "semanticTokensProvider"):
        assert caps.get(feature), feature
    c.notify("initialized", {})
    yield c
    if c.proc.poll() is None:
        c.proc.kill()
        c.proc.wait()


def pos(text: str, needle: str, delta: int = 0) -> dict[str, int]:
    """The LSP position of the first `needle` in text (plus delta characters)."""
    offset = text.index(needle) + delta
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def test_diagnostics_on_open_and_change(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    broken = text.replace('MARA: "The light', 'MRA: "The light')
    client.change(uri, broken, 2)
    [d] = client.diagnostics(uri)
    assert d["code"] == "E0102" and d["severity"] == 1 and d["source"] == "filmc"
    assert "unknown character 'MRA'" in d["message"] and "did you mean 'MARA'" in d["message"]
    where = pos(broken, 'MRA: "The light')
    assert d["range"] == {"start": where, "end": {**where, "character": where["character"] + 3}}
    client.change(uri, broken.replace("fps 24", "fps 240"), 3)  # two errors now
    assert sorted(x["code"] for x in client.diagnostics(uri)) == ["E0102", "E0202"]
    client.change(uri, text, 4)
    assert client.diagnostics(uri) == []
    # A parse error: reported at its place, and cleared when fixed.
    client.change(uri, text.replace('look "weathered', 'look "weathered\n'), 5)
    d = client.diagnostics(uri)[0]
    assert d["code"] == "E0003" and d["range"]["start"] == pos(text, '"weathered')
    client.change(uri, text, 6)
    assert client.diagnostics(uri) == []
    assert client.close() == 0


def test_errors_in_imported_file_are_published_on_it(client: Client, film_dir: Path) -> None:
    entry = film_dir / "last_ferry.film"
    cast = film_dir / "last_ferry" / "cast.film"
    entry_uri = client.open(entry)
    assert client.diagnostics(entry_uri) == []
    cast_text = cast.read_text()
    cast_uri = client.open(cast)
    # The unsaved buffer of cast.film is what counts, not the file on disk.
    client.change(cast_uri, cast_text.replace("pitch=38", "pitch=380"), 2)
    found: dict[str, list[dict[str, Any]]] = {}
    while cast_uri not in found or not found[cast_uri]:
        message = client.notifications.get(timeout=30)
        if message["method"] == "textDocument/publishDiagnostics":
            found[message["params"]["uri"]] = message["params"]["diagnostics"]
    [d] = found[cast_uri]
    assert d["code"] == "E0202" and d["range"]["start"] == pos(cast_text, "38", 0)
    # The note names the import that brought the file in, in the entry file.
    related = d["relatedInformation"]
    assert related and related[0]["location"]["uri"] == entry_uri
    assert "imported here" in related[0]["message"]


def test_completion(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri)

    def labels(edited: str, at: dict[str, int]) -> set[str]:
        client.change(uri, edited, 2)
        result = client.request("textDocument/completion",
                                {"textDocument": {"uri": uri}, "position": at})
        return {item["label"] for item in result["items"]}

    # A new line in a shot: shot properties and the characters, for dialogue.
    anchor = "        camera pull_out\n"
    edited = text.replace(anchor, anchor + "        \n")
    got = labels(edited, pos(edited, anchor, len(anchor) + 8))
    assert {"camera", "action", "title", "sound", "MARA", "TOM"} <= got
    assert "setting" not in got and "fps" not in got
    # In the film block: the film's properties.
    edited = text.replace("    fps 24\n", "    fps 24\n    \n")
    got = labels(edited, pos(edited, "    fps 24\n", 15))
    assert {"size", "fps", "subtitles", "backend"} <= got and "camera" not in got
    # After `shot `: the shot types, the library's too; after the type: characters.
    edited = text.replace("    shot insert {", "    shot  {")
    got = labels(edited, pos(edited, "    shot  {", 9))
    assert {"wide", "close_up", "insert", "two_shot"} <= got
    edited = text.replace("    shot insert {", "    shot insert  {")
    assert {"MARA", "TOM"} <= labels(edited, pos(edited, "    shot insert  {", 16))
    # Camera moves; keyword arguments and their values; let names.
    edited = text.replace("camera push_in", "camera ")
    assert {"push_in", "pan_left", "handheld"} <= labels(edited, pos(edited, "camera ", 7))
    edited = text.replace("voice \"en\" pitch=40", "voice \"en\" ")
    got = labels(edited, pos(edited, 'voice "en" ', 11))
    assert {"pitch=", "rate=", "variant=", "volume="} <= got
    edited = text.replace("setting coast", "setting ")
    assert "coast" in labels(edited, pos(edited, "setting ", 8))
    # Nothing inside a string or a comment.
    edited = text.replace('action "the beam', 'action "the b')
    assert labels(edited, pos(edited, 'action "the b', 13)) == set()
    edited = text.replace("camera pull_out", "camera pull_out  # a sl")
    assert labels(edited, pos(edited, "# a sl", 6)) == set()
    # Standard modules in an import.
    edited = 'import "\n' + text
    assert "std/shots" in labels(edited, {"line": 0, "character": 8})


def test_hover_definition_references_rename(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri)
    doc = {"uri": uri}

    hover = client.request("textDocument/hover", {"textDocument": doc,
                                                  "position": pos(text, "MARA: ")})
    value = hover["contents"]["value"]
    assert "weathered lighthouse keeper" in value and "pitch=40" in value
    hover = client.request("textDocument/hover", {"textDocument": doc,
                                                  "position": pos(text, "close_up MARA")})
    assert "shottype close_up" in hover["contents"]["value"]
    assert "prompt" in hover["contents"]["value"]
    # A shot: its rendered prompt and seed (no build cache here: no timing yet).
    hover = client.request("textDocument/hover", {"textDocument": doc,
                                                  "position": pos(text, "the beam sweeps")})
    value = hover["contents"]["value"]
    assert "the beam sweeps across the black sea" in value and "moody oil painting" in value
    assert "seed: " in value and "not known until a build" in value

    decl = pos(text, "character TOM", len("character "))
    found = client.request("textDocument/definition", {"textDocument": doc,
                                                       "position": pos(text, "TOM:")})
    assert found["uri"] == uri and found["range"]["start"] == decl
    found = client.request("textDocument/definition", {"textDocument": doc,
                                                       "position": pos(text, "setting coast", 9)})
    assert found["range"]["start"] == pos(text, "let coast", 4)
    found = client.request("textDocument/definition", {"textDocument": doc,
                                                       "position": pos(text, "shot wide", 6)})
    assert found["uri"].endswith("std/shots.film")

    refs = client.request("textDocument/references", {
        "textDocument": doc, "position": decl, "context": {"includeDeclaration": True}})
    assert len(refs) == text.count("TOM:") + text.count("TOM (") + 3  # decl + 2 subjects
    assert all(r["uri"] == uri for r in refs)

    edit = client.request("textDocument/rename", {"textDocument": doc, "position": decl,
                                                  "newName": "THOMAS"})
    edits = edit["changes"][uri]
    assert len(edits) == len(refs) and all(e["newText"] == "THOMAS" for e in edits)
    with pytest.raises(RuntimeError, match="not a name"):
        client.request("textDocument/rename", {"textDocument": doc, "position": decl,
                                               "newName": "TWO WORDS"})
    with pytest.raises(RuntimeError, match="can be renamed"):
        client.request("textDocument/rename", {
            "textDocument": doc, "position": pos(text, "shot wide", 6), "newName": "w"})
    with pytest.raises(RuntimeError, match="already a character named 'MARA'"):
        client.request("textDocument/rename", {"textDocument": doc, "position": decl,
                                               "newName": "MARA"})
    # A let used in a prompt template is renamed there too.
    text = text.replace('"the beam sweeps', '"{{ coast }}: the beam sweeps')
    client.change(uri, text, 2)
    assert client.diagnostics(uri) == []
    edit = client.request("textDocument/rename", {
        "textDocument": doc, "position": pos(text, "let coast", 4), "newName": "shore"})
    ranges = sorted((e["range"]["start"]["line"], e["range"]["start"]["character"],
                     e["range"]["end"]["character"]) for e in edit["changes"][uri])
    lines = text.split("\n")
    assert [lines[line][a:b] for line, a, b in ranges] == ["coast"] * 3
    assert ranges[-1][0] == pos(text, "{{ coast }}")["line"]


def test_rename_across_files_and_import_paths(client: Client, film_dir: Path) -> None:
    entry = film_dir / "last_ferry.film"
    cast = film_dir / "last_ferry" / "cast.film"
    uri = client.open(entry)
    client.diagnostics(uri)
    text = entry.read_text()
    cast_text = cast.read_text()
    edit = client.request("textDocument/rename", {
        "textDocument": {"uri": cast.as_uri()}, "position": pos(cast_text, "ELSA"),
        "newName": "CAPTAIN"})
    files = set(edit["changes"])
    assert cast.as_uri() in files and any(u.endswith("crossing.film") for u in files)
    # Apply the edit to every file, as an editor would, and check the film still checks.
    for changed_uri, edits in edit["changes"].items():
        target = Path(changed_uri.removeprefix("file://"))
        lines = target.read_text().split("\n")
        for e in sorted(edits, key=lambda e: (e["range"]["start"]["line"],
                                               e["range"]["start"]["character"]), reverse=True):
            s, t = e["range"]["start"], e["range"]["end"]
            assert s["line"] == t["line"]
            line = lines[s["line"]]
            assert line[s["character"]:t["character"]] == "ELSA"
            lines[s["line"]] = line[:s["character"]] + e["newText"] + line[t["character"]:]
        target.write_text("\n".join(lines))
    result = subprocess.run([sys.executable, "-m", "filmlang.cli", "check", str(entry)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # An import path leads to its file.
    line = next(i for i in text.split("\n") if i.startswith(("import", "include")))
    found = client.request("textDocument/definition", {
        "textDocument": {"uri": uri}, "position": pos(text, line, len(line) - 3)})
    assert found["uri"].endswith(".film") and found["uri"] != uri


def test_symbols_folding_formatting_tokens(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri)
    doc = {"textDocument": {"uri": uri}}
    symbols = client.request("textDocument/documentSymbol", doc)
    assert [s["name"] for s in symbols] == ["The Lighthouse", "coast", "MARA", "TOM", "storm"]
    scene = symbols[-1]
    assert scene["detail"] == "EXT. LIGHTHOUSE - NIGHT"
    assert len(scene["children"]) == text.count("    shot ")
    assert scene["children"][0]["name"] == "1. shot establishing 5s"

    folds = client.request("textDocument/foldingRange", doc)
    assert {"startLine": pos(text, "scene storm")["line"],
            "endLine": len(text.rstrip().split("\n")) - 1} in [
        {k: f[k] for k in ("startLine", "endLine")} for f in folds]

    assert client.request("textDocument/formatting", {
        **doc, "options": {"tabSize": 4, "insertSpaces": True}}) == []
    messy = text.replace("    fps 24", "fps    24")
    client.change(uri, messy, 2)
    [edit] = client.request("textDocument/formatting", {
        **doc, "options": {"tabSize": 4, "insertSpaces": True}})
    assert edit["newText"] == text

    data = client.request("textDocument/semanticTokens/full", doc)["data"]
    assert len(data) % 5 == 0 and len(data) > 5 * 100
    # The first token of the messy file is the comment on line 0; `film` is a keyword.
    decoded = []
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i:i + 5]
        line, col = line + dl, (col + dc if dl == 0 else dc)
        decoded.append((line, col, length, kind, mods))
    assert decoded[0][:3] == (0, 0, len(messy.split("\n")[0]))
    from filmlang.lsp.tokens import TOKEN_MODIFIERS, TOKEN_TYPES

    def token_at(needle: str, delta: int = 0) -> tuple[str, int, int]:
        at = pos(messy, needle, delta)
        [(length, kind, mods)] = [(n, k, m) for line, col, n, k, m in decoded
                                  if (line, col) == (at["line"], at["character"])]
        return TOKEN_TYPES[kind], length, mods

    assert token_at('film "The') == ("keyword", 4, 0)
    assert token_at("character MARA", 10) == ("class", 4, 1 << TOKEN_MODIFIERS.index(
        "declaration"))
    assert token_at("MARA (whispering)")[0] == "class"
    assert token_at("(whispering)")[0] == "modifier"
    assert token_at("push_in")[0] == "enumMember"
    assert token_at("pitch=40") == ("parameter", 5, 0)
    assert token_at("setting coast", 8) == ("variable", 5, 0)
    assert token_at("1280x720") == ("number", 8, 0)


def test_incremental_parse_matches_full_parse() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from check_speed import generate

    text = generate(60)
    parser = IncrementalParser()
    name = "big.film"
    parser.parse(SourceFile(path=Path(name), name=name, text=text))
    cut = text.index("Line 4 of scene 3")
    edits = [
        text[:cut] + "X" + text[cut:],                      # a character typed
        text[:cut] + "\n\n" + text[cut:],                   # lines added: later ones move
        text[:cut] + '"' + text[cut:],                      # a string broken
        text[:cut] + "}" + text[cut:],                      # a brace in a string
        text.replace("scene s5 ", "scene s5 s5b "),         # a heading edited
        text[:cut - 200] + text[cut:],                      # text removed across chunks
        text[:text.rindex("\n", 0, cut) + 1] + "    = oops\n"
        + text[text.rindex("\n", 0, cut) + 1:],              # a line that does not parse
        text,
    ]
    assert parser.reparsed > 10  # opening: the whole file, shared out into chunks
    for n, edited in enumerate(edits):
        source = SourceFile(path=Path(name), name=name, text=edited)
        module, diagnostics = parser.parse(source)
        if n == 0:
            assert parser.reparsed == 1  # the chunks of the first parse are reused
        full_module, full_diagnostics = parse(source)
        assert module.model_dump() == full_module.model_dump()
        assert [d.model_dump() for d in diagnostics] == [d.model_dump() for d in full_diagnostics]
    # After a one-character edit only the chunk that holds it is parsed again.
    parser.parse(SourceFile(path=Path(name), name=name, text=edits[0]))
    assert parser.reparsed == 1
    assert chunks('scene a {\n  "}"\n}\nlet x = 1\n') == [(0, 18), (18, 28)]


def test_hover_shows_timing_once_a_build_cached_the_speech(tmp_path: Path) -> None:
    film = tmp_path / "tiny.film"
    film.write_text('film "Tiny" {\n    size 160x90\n    fps 8\n}\n\n'
                    'character ANA {\n    look "a woman"\n    voice "en"\n}\n\n'
                    'scene one {\n    shot close_up ANA {\n        ANA: "Hi."\n    }\n'
                    '    shot wide 2s\n}\n')
    text = film.read_text()
    client = Client(tmp_path)
    client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(),
                                  "capabilities": {}})
    uri = client.open(film)
    assert client.diagnostics(uri) == []
    where = {"textDocument": {"uri": uri}, "position": pos(text, "shot wide", 1)}
    before = client.request("textDocument/hover", where)["contents"]["value"]
    assert "not known until a build" in before
    build = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", str(film),
                            "--preview"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    objects = sorted(p for p in (tmp_path / ".filmcache").rglob("*") if p.is_file())
    after = client.request("textDocument/hover", where)["contents"]["value"]
    assert "timing: starts at " in after and "lasts 2.00s (16 frames at 8 fps)" in after
    first = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": pos(text, "shot close_up", 1)})
    assert "timing: starts at 0.00s" in first["contents"]["value"]
    start = float(after.split("starts at ")[1].split("s,")[0])
    assert start >= 3.0  # the close-up before it: at least its shot type's 3s
    # Reading the timing wrote nothing to the cache.
    assert sorted(p for p in (tmp_path / ".filmcache").rglob("*") if p.is_file()) == objects
    assert client.close() == 0


def test_a_part_opened_alone_is_checked_as_part_of_its_film(client: Client,
                                                           film_dir: Path) -> None:
    crossing = film_dir / "last_ferry" / "crossing.film"
    uri = client.open(crossing)
    # Checked through last_ferry.film, which includes it: no "no film block" error.
    assert client.diagnostics(uri) == []
    text = crossing.read_text()
    client.change(uri, text.replace("ELSA steers", "ELSA steers {{ nope }}"), 2)
    [d] = client.diagnostics(uri)
    assert d["code"] == "E0502" and "nope" in d["message"]
    # A library module alone (no film loads it here) needs no film block either.
    lib = film_dir / "lib.film"
    lib.write_text('character ZED {\n    look "a man"\n}\n')
    lib_uri = client.open(lib)
    assert client.diagnostics(lib_uri) == []


def test_completion_while_the_file_does_not_parse(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    anchor = "        camera pull_out\n"
    # A half-typed line elsewhere (an open string) makes the file fail to parse.
    edited = text.replace(anchor, anchor + "        \n").replace(
        "    fps 24\n", '    fps 24\n    style "unfinished\n')
    client.change(uri, edited, 2)
    assert client.diagnostics(uri)[0]["code"] == "E0003"
    result = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": pos(edited, anchor, len(anchor) + 8)})
    labels = {item["label"] for item in result["items"]}
    assert {"MARA", "TOM", "camera", "action"} <= labels


def test_without_pygls_a_message_not_a_traceback() -> None:
    code = ("import sys; sys.modules['pygls'] = None\n"
            "from filmlang.cli import main\nsys.argv = ['filmc', 'lsp']\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert "needs the pygls package" in result.stderr and "Traceback" not in result.stderr


def test_changes_in_a_burst_are_checked_once(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    broken = text.replace("fps 24", "fps 999")
    frames = b""
    for version, body in enumerate([broken, broken.replace("MARA:", "MRA:"), text], start=2):
        message = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": body}]}}).encode()
        frames += f"Content-Length: {len(message)}\r\n\r\n".encode() + message
    assert client.proc.stdin is not None
    client.proc.stdin.write(frames)  # all three arrive together, as fast typing does
    client.proc.stdin.flush()
    assert client.diagnostics(uri) == []  # only the last text is checked
    time.sleep(0.5)
    published = []
    while not client.notifications.empty():
        message = client.notifications.get()
        if message["method"] == "textDocument/publishDiagnostics":
            published.append(message)
    assert published == []


def test_completion_offers_imported_shot_types(client: Client, film_dir: Path) -> None:
    (film_dir / "angles.film").write_text(
        'shottype dutch_angle {\n    prompt "a tilted frame of {{ subjects }}"\n}\n')
    path = film_dir / "lighthouse.film"
    text = 'import "angles"\n' + path.read_text().replace("shot insert {", "shot  {")
    uri = client.open(path, text)
    client.diagnostics(uri)
    result = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": pos(text, "shot  {", 5)})
    labels = {item["label"] for item in result["items"]}
    assert {"dutch_angle", "wide", "insert"} <= labels
    # ... and its definition is in the imported file.
    text = text.replace("shot  {", "shot dutch_angle {")
    client.change(uri, text, 2)
    assert client.diagnostics(uri) == []
    found = client.request("textDocument/definition", {
        "textDocument": {"uri": uri}, "position": pos(text, "shot dutch_angle", 6)})
    assert found["uri"] == (film_dir / "angles.film").as_uri()


def test_navigation_keeps_working_while_a_line_does_not_parse(client: Client,
                                                              film_dir: Path) -> None:
    """A half-typed line is a parse error, but the rest of the file still has its outline,
    hover and definitions (the parser blanks the broken line and parses the rest)."""
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri)
    anchor = text.index("    shot close_up MARA")
    broken = text[:anchor] + "    shot wide 2s oops =\n" + text[anchor:]
    client.change(uri, broken, 2)
    assert [d["code"] for d in client.diagnostics(uri)] == ["E0002"]
    doc = {"uri": uri}
    hover = client.request("textDocument/hover", {"textDocument": doc,
                                                  "position": pos(broken, "MARA: ")})
    assert "weathered lighthouse keeper" in hover["contents"]["value"]
    found = client.request("textDocument/definition", {"textDocument": doc,
                                                       "position": pos(broken, "TOM:")})
    assert found["range"]["start"] == pos(broken, "character TOM", len("character "))
    symbols = client.request("textDocument/documentSymbol", {"textDocument": doc})
    names = {s["name"] for s in symbols}
    assert "MARA" in str(symbols) and len(names) >= 3, names
