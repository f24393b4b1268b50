"""Process state lives in a `Session`: a model loads once per session, a new session loads
it again, `close` lets it go; the watcher owns one (filmlang/session.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import write_film
from filmlang import session
from filmlang.backends.speech import engines
from filmlang.build import build
from filmlang.session import Cache, Session

ONE_LINE = '''film "One line" {
    size 160x90
    fps 8
    seed 2
}

character MARA {
    look "keeper"
    voice "en"
}

scene only "INT. LAMP ROOM - NIGHT" {
    shot close_up MARA {
        MARA: "Keep it burning."
    }
}
'''

needs_piper = pytest.mark.skipif(not engines.ENGINES["piper"].available(),
                                 reason="piper or its voice missing")


# The cache --------------------------------------------------------------------------------


def test_a_value_is_made_once_even_when_two_threads_ask() -> None:
    cache: Cache[str, int] = Cache("test")
    made: list[str] = []
    started = threading.Event()

    def make() -> int:
        made.append("made")
        started.set()
        time.sleep(0.1)  # the other thread asks while this one is making
        return 7

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_make("a", make)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get_or_make("a", make)))
    second.start()
    first.join(5)
    second.join(5)
    assert results == [7, 7] and made == ["made"]
    assert cache.get("a") == 7 and "a" in cache and len(cache) == 1


def test_other_keys_do_not_wait_for_a_slow_make() -> None:
    cache: Cache[str, str] = Cache("test")
    release = threading.Event()
    slow = threading.Thread(target=lambda: cache.get_or_make("slow", lambda: str(
        release.wait(5))))
    slow.start()
    time.sleep(0.05)
    assert cache.get_or_make("fast", lambda: "quick") == "quick"  # not blocked by "slow"
    release.set()
    slow.join(5)
    assert cache.get("slow") == "True"


def test_a_failed_make_leaves_nothing_and_the_next_caller_tries_again() -> None:
    cache: Cache[str, int] = Cache("test")

    def broken() -> int:
        raise RuntimeError("no model")

    with pytest.raises(RuntimeError):
        cache.get_or_make("a", broken)
    assert "a" not in cache
    assert cache.get_or_make("a", lambda: 1) == 1


def test_a_limit_lets_the_least_recently_used_go_before_making_the_next() -> None:
    cache: Cache[str, int] = Cache("test", limit=2)
    cache.get_or_make("a", lambda: 1)
    cache.get_or_make("b", lambda: 2)
    assert cache.get("a") == 1  # "a" used last: "b" goes first
    seen: list[list[str]] = []

    def make() -> int:
        seen.append(cache.keys())
        return 3

    cache.get_or_make("c", make)
    assert seen == [["a"]], "the old entry was let go before the new one was made"
    assert cache.keys() == ["a", "c"]


def test_clear_empties_and_drops_what_is_being_made() -> None:
    cache: Cache[str, int] = Cache("test")
    cache.put("a", 1)

    def make() -> int:
        cache.clear()  # a session closed while a model loads
        return 2

    assert cache.get_or_make("b", make) == 2
    assert len(cache) == 0


# Sessions ---------------------------------------------------------------------------------


def test_active_makes_a_session_current_in_every_thread_then_restores() -> None:
    before = session.current()
    own = Session("own")
    seen: list[Session] = []
    with session.active(own):
        thread = threading.Thread(target=lambda: seen.append(session.current()))
        thread.start()
        thread.join()
        assert session.current() is own
    assert seen == [own]
    assert session.current() is before
    assert session.default() is session.default()


def test_close_empties_every_cache_and_resets_flags() -> None:
    own = Session()
    own.cache("models").put("m", object())
    assert own.once("warned") and not own.once("warned")
    own.close()
    assert len(own.cache("models")) == 0
    assert own.once("warned")


def test_the_soundfont_parse_is_once_per_session(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from test_soundfont import write_sf2

    from filmlang.backends.music import sf2

    path = write_sf2(tmp_path / "count.sf2")
    reads: list[Path] = []
    read = sf2.read

    def counting(where: Path) -> Any:
        reads.append(where)
        return read(where)

    monkeypatch.setattr(sf2, "read", counting)
    first = Session()
    with session.active(first):
        font = sf2.parse(path)
        assert sf2.parse(path) is font
    assert len(reads) == 1
    with session.active(Session()):
        assert sf2.parse(path) is not font
    assert len(reads) == 1      # a new session's is the kept parse (tests/test_soundfont.py)
    first.close()
    assert len(first.cache("soundfont.fonts")) == 0


@needs_piper
def test_a_session_loads_the_voice_once_across_builds(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.backends.speech import piper

    loads: list[Path] = []
    load = piper._open

    def counting(onnx: Path, config: Path, memo: Path | None = None) -> Any:
        loads.append(onnx)
        return load(onnx, config, memo)

    monkeypatch.setattr(piper, "_open", counting)
    film = write_film(tmp_path, ONE_LINE)
    own = Session("test")
    # Two caches: the second build speaks the line again rather than reusing the take.
    for number in (1, 2):
        result = build(film, cache=tmp_path / f"cache{number}", jobs=2, session=own)
        assert result.ok, (result.check.report(), result.diagnostics, result.failures)
        assert result.counts()["speech"]["ran"] == 1
    assert len(loads) == 1, "the second build of the session loaded the voice again"
    assert len(own.cache("piper.voices")) == 1
    assert session.current() is session.default()  # the build made its session current only

    other = build(film, cache=tmp_path / "cache3", jobs=2, session=Session("other"))
    assert other.ok and len(loads) == 2, "a new session loads its own voice"
    own.close()
    assert len(own.cache("piper.voices")) == 0


def test_the_watcher_owns_a_session_and_closing_it_lets_go(tmp_path: Path) -> None:
    from filmlang.watch import Watcher

    film = write_film(tmp_path, ONE_LINE)
    lines: list[str] = []
    watcher = Watcher(film, cache=tmp_path / "cache", jobs=2, echo=lines.append)
    mixes = watcher.session.cache("mix.sounds")
    result = watcher.build_once()
    assert result is not None and result.ok, lines
    assert len(mixes) > 0, "the build's mix kept its sounds in the watcher's session"
    assert session.current() is session.default()
    watcher.close()
    assert len(mixes) == 0


def test_diffusers_pipelines_are_per_session_one_model_per_device(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without torch: the loader is replaced; what is kept, dropped and warned is checked."""
    from filmlang.backends.diffusers import clips, run

    loaded: list[tuple[str, str, str]] = []

    def fake(loader: str, model: str, device: str) -> object:
        loaded.append((loader, model, device))
        return object()

    monkeypatch.setattr(run, "load_pretrained", fake)
    monkeypatch.setattr(run, "_ip_adapter_file", lambda model: None)
    own = Session()
    with session.active(own):
        first = run.pipeline("m1", "cpu")
        assert run.pipeline("m1", "cpu") is first
        run.pipeline("m1", "cuda:0")
        run.pipeline("m2", "cpu")  # drops m1 from the CPU, not from cuda:0
        assert sorted(own.cache("diffusers.pipelines").keys()) == [("m1", "cuda:0"),
                                                                    ("m2", "cpu")]
        video = clips._pipeline("v1", "cpu")
        assert clips._pipeline("v1", "cpu") is video
        clips._pipeline("v2", "cpu")  # one video model at a time
        assert own.cache("diffusers.clip-pipelines").keys() == [("v2", "cpu")]
    assert len(loaded) == 5
    assert capsys.readouterr().err.count("warning: no GPU") == 1  # once per session
    own.close()
    assert len(own.cache("diffusers.pipelines")) == 0
    with session.active(own):
        run.pipeline("m1", "cpu")
    assert capsys.readouterr().err.count("warning: no GPU") == 1, "a closed session warns again"
