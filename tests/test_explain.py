"""`filmc build --explain` names the input that changed, as the writer reads it.

Each test builds the tiny film, makes one edit, builds again and reads the reason the
scheduler recorded for the jobs that ran (the same text `--explain` prints)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_soundfont import write_sf2

from conftest import TINY_FILM, write_film
from filmlang.backends.procedural import Procedural
from filmlang.build import BuildResult, build
from filmlang.config import BuildConfig
from filmlang.exec.explain import BuildLog, Explainer, builds


def reasons(result: BuildResult) -> dict[str, str]:
    assert result.ok, result.diagnostics or result.failures
    return {f"{job.kind} {job.label}": reason for job, status, reason in result.records()
            if status == "ran"}


def rebuild(folder: Path, text: str, **options: object) -> dict[str, str]:
    film = write_film(folder, TINY_FILM)
    assert build(film, jobs=2, **options).ok  # type: ignore[arg-type]
    film.write_text(text, encoding="utf-8")
    return reasons(build(film, jobs=2, **options))  # type: ignore[arg-type]


def test_a_dialogue_line_names_the_line(tmp_path: Path) -> None:
    ran = rebuild(tmp_path, TINY_FILM.replace("keep it burning", "keep it lit"))
    assert ran["speech storm/3 TOM: Then we keep it lit."] == \
        "scene storm shot 3 dialogue 1 text"
    segment = ran["segment storm/3 two_shot"]
    assert segment.startswith("scene storm shot 3 dialogue 1 text")


def test_a_look_names_the_character(tmp_path: Path) -> None:
    ran = rebuild(tmp_path, TINY_FILM.replace("wool cap", "oilskin hat"))
    assert ran["still storm/3 two_shot"] == "character TOM.look"
    assert not any(k.startswith("speech") for k in ran)   # a look is not heard


def test_a_duration_names_the_shot_and_both_lengths(tmp_path: Path) -> None:
    ran = rebuild(tmp_path, TINY_FILM.replace("shot wide 2s {", "shot wide 3s {"))
    assert ran["segment storm/1 wide"] == "scene storm shot 1 duration 2s → 3s"
    assert ran["mux mux film"] == "scene storm shot 1 duration 2s → 3s"
    assert not any(k.startswith("still") for k in ran)    # a length is not drawn


def test_a_soundfont_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    (tmp_path / "music").mkdir()
    font = write_sf2(tmp_path / "music" / "font.sf2")
    monkeypatch.setenv("FILMC_SOUNDFONT", str(font))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    film = write_film(tmp_path, TINY_FILM)
    assert build(film, jobs=2).ok
    write_sf2(font, kind="saw")                         # the same file, other bytes
    ran = reasons(build(film, jobs=2))
    music = {k: v for k, v in ran.items() if k.startswith("music")}
    assert set(music.values()) == {"file music/font.sf2"}


def test_a_backend_version_names_the_backend(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    film = write_film(tmp_path, TINY_FILM)
    assert build(film, jobs=2).ok
    monkeypatch.setattr(Procedural, "version", "99")
    ran = reasons(build(film, jobs=2))
    stills = {v for k, v in ran.items() if k.startswith("still")}
    from filmlang.backends.procedural.spec import VERSION

    assert stills == {f"backend procedural version {VERSION} → 99"}


def test_explain_prints_the_reason(tmp_path: Path) -> None:
    film = write_film(tmp_path, TINY_FILM)
    command = [sys.executable, "-m", "filmlang.cli", "build", str(film), "--explain"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    film.write_text(TINY_FILM.replace("wool cap", "oilskin hat"), encoding="utf-8")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "character TOM.look" in done.stdout + done.stderr
    assert "changed" not in done.stdout.replace("what changed", "")


def test_the_record_and_the_log_stay_bounded(tmp_path: Path) -> None:
    film = write_film(tmp_path, TINY_FILM)
    first = build(film, jobs=2)
    assert first.ok
    cache = tmp_path / ".filmcache"
    identities = set(json.loads((cache / "last.json").read_text()))
    # a scene removed: its identities leave the record with the next complete build
    film.write_text(TINY_FILM[:TINY_FILM.index('scene dawn')], encoding="utf-8")
    assert build(film, jobs=2).ok
    now = set(json.loads((cache / "last.json").read_text()))
    assert {i for i in identities if "dawn" in i} and not {i for i in now if "dawn" in i}
    # the log keeps the last few builds once it outgrows its limit
    log = BuildLog(tmp_path / "log.jsonl", keep=2, limit=100)
    for n in range(5):
        log.write({"build": f"b{n}", "key": "k"})
        log.close()
    assert list(builds(tmp_path / "log.jsonl")) == ["b3", "b4"]


def test_nothing_changed_is_not_a_reason(tmp_path: Path) -> None:
    """A rebuild with nothing changed runs nothing; a deleted object says so."""
    film = write_film(tmp_path, TINY_FILM)
    result = build(film, jobs=2, config=BuildConfig())
    assert result.ok
    assert reasons(build(film, jobs=2)) == {}
    assert isinstance(Explainer(tmp_path / ".filmcache" / "last.json").last, dict)
