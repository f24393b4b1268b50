"""The language server's code actions, watched files, commands and refusals (issue 17),
through `filmc lsp` as a real subprocess (the client of tests/test_lsp.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from test_lsp import Client, client, film_dir, pos

from filmlang.api import check_file

__all__ = ["client", "film_dir"]  # the fixtures, used by name

LIGHTHOUSE_FIXES = [
    ("E0102", 'MARA: "The light', 'MRA: "The light', "Change to MARA"),
    ("E0104", "shot establishing 5s", "shot establishin 5s", "Change to establishing"),
    ("E0104", "shot wide MARA {", "shot MARA {", "shot medium MARA"),
    ("E0101", '        MARA: "The light', '        MARA "The light', "missing ':'"),
    ("E0101", '    look "weathered', '    lok "weathered', "Change to look"),
    ("E0103", "setting coast", "setting cost", "Change to coast"),
    ("E0103", 'negative "text, watermark, blurry"', "negative blurry", 'Write "blurry"'),
    ("E0204", "loudness -16\n}", "loudness -16\n    subtitles trak\n}", "Change to track"),
    ("E0204", "camera push_in", "camera push_inn", "Change to push_in"),
    ("E0108", 'voice "en" pitch=40', 'voice "en" pich=40', "Change to pitch"),
    ("E0102", 'MARA: "The light', 'BOB: "The light', "Declare character BOB"),
]


def _offset(text: str, position: dict[str, int]) -> int:
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:position["line"]]) + position["character"]


def _apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    spans = sorted(((_offset(text, e["range"]["start"]), _offset(text, e["range"]["end"]),
                     e["newText"]) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def apply(edit: dict[str, Any]) -> None:
    """Apply a WorkspaceEdit to the files on disk, as an editor would."""
    for uri, edits in (edit.get("changes") or {}).items():
        path = Path(uri.removeprefix("file://"))
        path.write_text(_apply_edits(path.read_text(), edits))
    for change in edit.get("documentChanges") or []:
        path = Path(change.get("uri", change.get("textDocument", {}).get("uri", ""))
                    .removeprefix("file://"))
        if change.get("kind") == "create":
            assert not path.exists()
            path.write_text("")
        else:
            path.write_text(_apply_edits(path.read_text(), change["edits"]))


def actions(client: Client, uri: str, text: str, needle: str, end: str | None = None
            ) -> list[dict[str, Any]]:
    start = pos(text, needle)
    stop = pos(text, end) if end else start
    found = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": {"start": start, "end": stop},
        "context": {"diagnostics": []}})
    return list(found or [])


def test_each_quick_fix_applies_and_checks_clean(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    original = path.read_text()
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    version = 1
    for code, old, new, title in LIGHTHOUSE_FIXES:
        broken = original.replace(old, new, 1)
        path.write_text(broken)
        version += 1
        client.change(uri, broken, version)
        found = client.diagnostics(uri)
        assert [d["code"] for d in found] == [code], (new, found)
        offered = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": found[0]["range"],
            "context": {"diagnostics": found}})
        fixes = [a for a in offered if title in a["title"]]
        assert fixes, (title, [a["title"] for a in offered])
        assert fixes[0]["kind"] == "quickfix" and fixes[0]["diagnostics"][0]["code"] == code
        apply(fixes[0]["edit"])
        result = check_file(path)
        assert result.ok and not result.diagnostics, (title, result.report())
    # the server agrees: the last fixed text checks clean there too
    version += 1
    client.change(uri, path.read_text(), version)
    assert client.diagnostics(uri) == []
    assert client.close() == 0


def test_path_fixes_and_copying_a_file_in(client: Client, film_dir: Path) -> None:
    entry = film_dir / "last_ferry.film"
    text = entry.read_text()
    entry.write_text(text.replace('import "last_ferry/cast"', 'import "last_ferry/casts"'))
    uri = client.open(entry)
    assert "E0401" in [d["code"] for d in client.diagnostics(uri)]
    [fix] = [a for a in actions(client, uri, entry.read_text(), 'import "last_ferry/casts"')
             if a["kind"] == "quickfix"]
    assert fix["title"] == 'Change to "last_ferry/cast"'
    apply(fix["edit"])
    assert check_file(entry).ok
    # E0403: a file outside the film's folder is copied in, and the import points at it
    film = film_dir / "inner"
    film.mkdir()
    outside = film_dir / "extra.film"
    outside.write_text('character ZED {\n    look "a tall stranger"\n}\n')
    inner = film / "short.film"
    inner.write_text('import "../extra"\n\nfilm "Short" {\n    size 320x180\n}\n\n'
                     'scene s {\n    shot wide ZED 1s\n}\n')
    inner_uri = client.open(inner)
    assert "E0403" in [d["code"] for d in client.diagnostics(inner_uri)]
    [fix] = [a for a in actions(client, inner_uri, inner.read_text(), '"../extra"')
             if a["kind"] == "quickfix"]
    assert fix["title"] == "Copy extra.film into the film's folder"
    apply(fix["edit"])
    assert (film / "extra.film").read_text() == outside.read_text()
    assert 'import "extra"' in inner.read_text()
    assert check_file(inner).ok


PICTURE_FILM = 'film "Pictures" {{\n    size 320x180\n}}\n\nscene s {{\n    shot wide 1s {{\n' \
    '        picture "{path}"\n    }}\n    shot wide 1s {{\n        sound "{sound}"\n' \
    '    }}\n}}\n'


def test_a_path_outside_is_fixed_only_to_a_file_of_its_name_inside(client: Client,
                                                                   film_dir: Path) -> None:
    """E0403 on a picture or a sound: the fix is the file of the same name inside the film's
    folder (nearest the top first); where the folder has none, there is no fix (the file is
    not copied in)."""
    outside = film_dir / "shared"
    outside.mkdir()
    for name in ("board.png", "other.png", "gull.wav"):
        (outside / name).write_bytes(b"not decoded by the check")
    film = film_dir / "pictures"
    (film / "stills" / "old").mkdir(parents=True)
    (film / "sounds").mkdir()
    (film / "stills" / "board.png").write_bytes(b"inside")
    (film / "stills" / "old" / "board.png").write_bytes(b"inside, older")
    (film / "sounds" / "gull.wav").write_bytes(b"inside")
    path = film / "pictures.film"
    path.write_text(PICTURE_FILM.format(path="../shared/board.png", sound="../shared/gull.wav"))
    uri = client.open(path)
    assert [d["code"] for d in client.diagnostics(uri)] == ["E0403", "E0403"]
    text = path.read_text()
    offered = [a for a in actions(client, uri, text, '"../shared/board.png"')
               if a["kind"] == "quickfix"]
    assert [a["title"] for a in offered] == [
        "Use stills/board.png, the board.png in the film's folder",
        "Use stills/old/board.png, the board.png in the film's folder"]
    assert offered[0]["isPreferred"] and not offered[1]["isPreferred"]
    apply(offered[0]["edit"])
    [sound] = [a for a in actions(client, uri, text, '"../shared/gull.wav"')
               if a["kind"] == "quickfix"]
    assert sound["title"] == "Use sounds/gull.wav, the gull.wav in the film's folder"
    apply(sound["edit"])
    result = check_file(path)
    assert result.ok and not result.diagnostics, result.report()
    assert 'picture "stills/board.png"' in path.read_text()
    # No file of that name inside: no fix, and nothing is copied in.
    lonely = film / "lonely.film"
    lonely.write_text(PICTURE_FILM.format(path="../shared/other.png",
                                          sound="sounds/gull.wav"))
    lonely_uri = client.open(lonely)
    assert [d["code"] for d in client.diagnostics(lonely_uri)] == ["E0403"]
    assert [a for a in actions(client, lonely_uri, lonely.read_text(), '"../shared/other.png"')
            if a["kind"] == "quickfix"] == []
    assert not (film / "other.png").exists()


def test_extract_to_let(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    offered = actions(client, uri, text, '"young fisherman', 'wool cap')
    [extract] = [a for a in offered if a["kind"] == "refactor.extract"]
    assert extract["title"] == "Extract to let young_fisherman"
    before = check_file(path)
    apply(extract["edit"])
    after = path.read_text()
    assert 'let young_fisherman = "young fisherman, wool cap, soaked navy jacket"\n' in after
    assert "    look young_fisherman\n" in after
    result = check_file(path)
    assert result.ok and not result.diagnostics, result.report()
    assert before.film is not None and result.film is not None
    assert [(c.name, c.look) for c in before.film.characters] == \
        [(c.name, c.look) for c in result.film.characters]  # the same film


def test_watched_file_changes_refresh_the_films_that_import_them(client: Client,
                                                                 film_dir: Path) -> None:
    entry = film_dir / "last_ferry.film"
    cast = film_dir / "last_ferry" / "cast.film"
    entry_uri = client.open(entry)
    assert client.diagnostics(entry_uri) == []
    cast_text = cast.read_text()
    cast.write_text(cast_text.replace("pitch=38", "pitch=380"))  # a `git pull`
    client.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": cast.as_uri(), "type": 2}]})
    found: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + 30
    while not found.get(cast.as_uri()):
        assert time.monotonic() < deadline, "no diagnostics after the watched change"
        message = client.notifications.get(timeout=30)
        if message["method"] == "textDocument/publishDiagnostics":
            found[message["params"]["uri"]] = message["params"]["diagnostics"]
    assert [d["code"] for d in found[cast.as_uri()]] == ["E0202"]
    cast.write_text(cast_text)
    client.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": cast.as_uri(), "type": 2}]})
    assert client.diagnostics(cast.as_uri()) == []
    # a file nobody imports changes nothing
    (film_dir / "notes.film").write_text("let x = 1\n")
    client.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": (film_dir / "notes.film").as_uri(), "type": 2}]})
    assert client.request("shutdown", None) is None
    assert all(m["params"].get("uri") != entry_uri or m["params"]["diagnostics"] == []
               for m in list(client.notifications.queue)
               if m["method"] == "textDocument/publishDiagnostics")


def raw_request(client: Client, method: str, params: Any) -> dict[str, Any]:
    client.next_id += 1
    rid = client.next_id
    client._send({"id": rid, "method": method, "params": params})
    deadline = time.monotonic() + 30
    with client.lock:
        while rid not in client.responses:
            assert time.monotonic() < deadline
            client.lock.wait(1)
        return dict(client.responses.pop(rid))


def test_refused_requests_are_plain_lsp_errors(client: Client, film_dir: Path) -> None:
    path = film_dir / "lighthouse.film"
    text = path.read_text()
    uri = client.open(path)
    client.diagnostics(uri)
    answer = raw_request(client, "textDocument/rename", {
        "textDocument": {"uri": uri}, "position": pos(text, "MARA {"), "newName": "9 lives"})
    error = answer["error"]
    assert error["code"] == -32803
    assert error["message"] == "'9 lives' is not a name: use letters, digits and _"
    assert "Traceback" not in str(error) and "traceback" not in str(error.get("data"))
    answer = raw_request(client, "textDocument/rename", {
        "textDocument": {"uri": uri}, "position": pos(text, "push_in"), "newName": "x"})
    assert answer["error"]["code"] == -32803 and "can be renamed" in answer["error"]["message"]
    # no "Error in server" message pops up in the editor
    shown = [m for m in list(client.notifications.queue) if m["method"] == "window/showMessage"]
    assert shown == []


def test_the_advertised_commands_run(tmp_path: Path) -> None:
    from filmlang.build import build

    (tmp_path / "f.film").write_text('film "F" { size 320x180 }\nscene s { shot wide 1s }\n')
    c = Client(tmp_path)
    try:
        caps = c.request("initialize", {"processId": os.getpid(), "rootUri": tmp_path.as_uri(),
                                        "capabilities": {}})["capabilities"]
        assert caps["executeCommandProvider"]["commands"] == ["filmlang.explainLastBuild"]
        assert caps["codeActionProvider"]["codeActionKinds"] == ["quickfix", "refactor.extract"]
        c.notify("initialized", {})
        uri = (tmp_path / "f.film").as_uri()
        text = c.request("workspace/executeCommand", {
            "command": "filmlang.explainLastBuild", "arguments": [uri]})
        assert "has not been built yet" in text
        assert build(tmp_path / "f.film", jobs=1).ok
        text = c.request("workspace/executeCommand", {
            "command": "filmlang.explainLastBuild", "arguments": [uri]})
        assert text.startswith("last build of f.film") and "ran" in text
        assert "segment" in text and "new" in text
        with pytest.raises(RuntimeError, match="needs the URI"):
            c.request("workspace/executeCommand", {"command": "filmlang.explainLastBuild",
                                                   "arguments": []})
        assert c.close() == 0
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
