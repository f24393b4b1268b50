"""Job keys, the timeline solver, the content-addressed store and the scheduler."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import FILM_HEADER, check_source
from filmlang.cache.store import Store, parse_size
from filmlang.exec.explain import BuildLog, Explainer
from filmlang.exec.scheduler import Scheduler
from filmlang.jobs import GraphBuilder, Job, JobFailed, canonical_json
from filmlang.timeline import solve


def job(kind: str, inputs: tuple[str, ...] = (), **params: object) -> Job:
    return Job(kind=kind, backend="test@1", params=dict(params), inputs=inputs,
               identity=f"{kind}:{params.get('name', '')}", label=str(params.get("name", "")))


# ------------------------------------------------------------------ keys


def test_keys_ignore_labels_and_origins_and_float_noise() -> None:
    a = Job(kind="k", backend="b@1", params={"x": 4.0, "y": [0.1]}, label="one")
    b = Job(kind="k", backend="b@1", params={"y": [0.1000000001], "x": 4}, label="two")
    assert a.key == b.key
    assert canonical_json({"b": 1.0, "a": -0.0}) == '{"a":0,"b":1}'


def test_keys_change_with_params_backend_and_inputs() -> None:
    base = Job(kind="k", backend="b@1", params={"x": 1})
    assert Job(kind="k", backend="b@2", params={"x": 1}).key != base.key
    assert Job(kind="k", backend="b@1", params={"x": 2}).key != base.key
    assert Job(kind="k", backend="b@1", params={"x": 1}, inputs=("0" * 64,)).key != base.key


def test_identical_jobs_are_one_job() -> None:
    graph = GraphBuilder()
    first = graph.add(job("speech", name="hello"))
    second = graph.add(job("speech", name="hello"))
    assert first == second and len(graph.jobs) == 1 and graph.merged == 1
    with pytest.raises(ValueError):
        graph.add(job("mix", inputs=("f" * 64,)))


# ------------------------------------------------------------------ timeline


def test_timeline_follows_the_spec(tmp_path: Path) -> None:
    text = FILM_HEADER.replace("size 320x180", "size 320x180; fps 10") + (
        'character A { look "a" }\n'
        'scene s {\n'
        '    shot medium A { A: "one"; pause 1s; A: "two" }\n'
        '    dissolve 0.5s\n'
        '    shot wide 2s\n'
        '    fade 1s\n'
        '    shot insert\n'
        '}\n')
    film = check_source(tmp_path, text).film
    assert film is not None
    timeline, problems = solve(film, {("s", 0, 0): 1.0, ("s", 0, 1): 2.0})
    assert not problems
    first, second, third = timeline.shots
    # 0.5 lead-in + 1.0 + 1.0 pause + 2.0 + 0.7 tail = 5.2 s = 52 frames
    assert first.frames == 52 and first.start_frame == 0
    assert [(lt.start, lt.end) for lt in first.lines] == [(0.5, 1.5), (2.5, 4.5)]
    assert first.overlap_out == 5 and second.overlap_in == 5
    assert second.start_frame == 47 and second.frames == 20
    assert second.fade_out == 5 and third.fade_in == 5  # a fade spends D/2 on each side
    assert third.start_frame == 67 and third.frames == 20  # insert: 2 s
    assert timeline.frames == 87


def test_fixed_shot_too_short_for_its_dialogue(tmp_path: Path) -> None:
    text = FILM_HEADER + 'character A { look "a" }\nscene s { shot medium A 2s { A: "long" } }\n'
    film = check_source(tmp_path, text).film
    assert film is not None
    _, problems = solve(film, {("s", 0, 0): 3.0})
    assert [p.code for p in problems] == ["E0601"]
    assert problems[0].span.line == 3
    assert "3.50s" in problems[0].message


# ------------------------------------------------------------------ store


def test_store_commits_atomically_and_detects_corruption(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    key = "ab" + "0" * 62
    with store.writing(key, "test") as out:
        (out / "a.txt").write_text("hello")
        (out / "meta.json").write_text(json.dumps({"duration": 1.5}))
    assert store.lookup(key).ok and store.meta(key) == {"duration": 1.5}
    (store.path(key) / "a.txt").write_text("HELLO")
    fresh = Store(tmp_path / "cache")
    assert fresh.lookup(key).status == "corrupt"
    (store.path(key) / "a.txt").unlink()
    assert Store(tmp_path / "cache").lookup(key).status == "corrupt"


def test_a_file_as_committed_is_not_hashed_again(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A later build trusts a file whose size, time and inode are as committed (and older
    than the manifest); one written since, even to the same size and within the same
    clock tick as far as the manifest knows, is hashed and found corrupt."""
    import os

    from filmlang.cache import store as store_module

    store = Store(tmp_path / "cache")
    store.ensure()
    key = "ef" + "0" * 62
    with store.writing(key, "test") as out:
        (out / "a.txt").write_text("hello")
        old = (out / "a.txt").stat().st_mtime_ns - 10**9
        os.utime(out / "a.txt", ns=(old, old))           # well before the manifest
        (out / "b.txt").write_text("world")
        future = (out / "b.txt").stat().st_mtime_ns + 10**9
        os.utime(out / "b.txt", ns=(future, future))     # racy: not older than it
    hashed: list[str] = []
    real = store_module.file_sha256

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(store_module, "file_sha256", counting)
    assert Store(tmp_path / "cache").lookup(key).ok
    assert hashed == ["b.txt"]
    (store.path(key) / "a.txt").write_text("HELLO")
    os.utime(store.path(key) / "a.txt", ns=(old + 1, old + 1))
    assert Store(tmp_path / "cache").lookup(key).status == "corrupt"


def test_a_failing_job_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    key = "cd" + "0" * 62
    with pytest.raises(RuntimeError), store.writing(key, "test") as out:
        (out / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert store.lookup(key).status == "missing"
    assert not any(store.tmp.iterdir())


def test_gc_evicts_least_recently_used(tmp_path: Path) -> None:
    import os

    store = Store(tmp_path / "cache")
    store.ensure()
    keys = [f"{i:02x}" + "0" * 62 for i in range(4)]
    for age, key in enumerate(keys):
        with store.writing(key, "test") as out:
            (out / "data").write_bytes(b"x" * 1000)
        os.utime(store.path(key) / "manifest.json", (1000 + age, 1000 + age))
    removed, freed = store.gc(2500)
    assert removed >= 2 and freed >= 2000
    assert store.lookup(keys[-1]).ok and store.lookup(keys[0]).status == "missing"
    assert parse_size("5G") == 5 << 30 and parse_size("1.5M") == int(1.5 * (1 << 20))


# ------------------------------------------------------------------ scheduler


def _writer(record: list[str]) -> object:
    lock = threading.Lock()

    def run(job: Job, out: Path, store: Store) -> None:
        with lock:
            record.append(job.label)
        text = job.params["name"] + "".join(
            (store.path(k) / "out.txt").read_text() for k in job.inputs)
        (out / "out.txt").write_text(text)
        if job.params.get("fail"):
            raise JobFailed(job, "it broke")

    return run


def _lookup(runners: dict[str, Any]) -> Any:
    return lambda job: runners.get(job.kind)


def _graph(fail: bool = False) -> tuple[dict[str, Job], str]:
    graph = GraphBuilder()
    a = graph.add(job("leaf", name="a"))
    b = graph.add(job("leaf", name="b", fail=fail))
    c = graph.add(job("join", (a, b), name="c"))
    return graph.jobs, c


def test_scheduler_runs_what_is_missing_and_reuses_the_rest(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    ran: list[str] = []
    runners = {"leaf": _writer(ran), "join": _writer(ran)}
    jobs, target = _graph()
    report = Scheduler(store, _lookup(runners), workers=2).run(jobs, [target])
    assert sorted(ran) == ["a", "b", "c"] and not report.failures
    assert (store.path(target) / "out.txt").read_text() == "cab"
    ran.clear()
    report = Scheduler(store, _lookup(runners), workers=2).run(jobs, [target])
    assert ran == []  # the target is cached: its inputs are not even looked at
    assert [r.status for r in report.records.values()] == ["cached"]


def test_scheduler_stops_cleanly_on_failure_and_keeps_finished_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    ran: list[str] = []
    runners = {"leaf": _writer(ran), "join": _writer(ran)}
    jobs, target = _graph(fail=True)
    report = Scheduler(store, _lookup(runners), workers=1).run(jobs, [target])
    assert [f.message for f in report.failures] == ["it broke"]
    assert "c" not in ran
    statuses = {r.job.label: r.status for r in report.records.values()}
    assert statuses["b"] == "failed"
    a_key = next(k for k, j in jobs.items() if j.label == "a")
    if "a" in ran:
        assert store.lookup(a_key).ok


def test_explain_says_why(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    runners = {"leaf": _writer([]), "join": _writer([])}
    jobs, target = _graph()
    log = tmp_path / "log.jsonl"
    explainer = Explainer(tmp_path / "last.json")
    report = Scheduler(store, _lookup(runners), workers=1, explainer=explainer,
                       log=BuildLog(log)).run(jobs, [target])
    assert {r.reason for r in report.records.values()} == {"new"}
    # change a leaf: the leaf and the join run again, each with its reason
    graph = GraphBuilder()
    a = graph.add(job("leaf", name="a"))
    b = graph.add(job("leaf", name="B"))
    c = graph.add(job("join", (a, b), name="c"))
    report = Scheduler(store, _lookup(runners), workers=1,
                       explainer=Explainer(tmp_path / "last.json"),
                       log=BuildLog(log)).run(graph.jobs, [c])
    reasons = {r.job.label: r.reason for r in report.records.values()}
    assert reasons["B"] == "new"  # a new identity ('leaf:B')
    assert reasons["c"] == "new leaf B"  # named by the input that changed
    # corrupt an object: it is re-rendered, and the reason says so
    (store.path(c) / "out.txt").write_text("garbage")
    report = Scheduler(Store(tmp_path / "cache"), _lookup(runners), workers=1,
                       explainer=Explainer(tmp_path / "last.json"),
                       log=BuildLog(log)).run(graph.jobs, [c])
    reasons = {r.job.label: r.reason for r in report.records.values()}
    assert reasons["c"].startswith("cache object corrupt")
    assert (store.path(c) / "out.txt").read_text() == "caB"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {e["status"] for e in entries} >= {"ran", "cached"}
