"""The local executor and where jobs ran: the build log and the console say it."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from filmlang.cache.store import Store
from filmlang.exec.console import JsonProgress, RichProgress
from filmlang.exec.context import NODE
from filmlang.exec.executor import LocalExecutor
from filmlang.exec.explain import BuildLog
from filmlang.exec.scheduler import Record, Scheduler
from filmlang.jobs import GraphBuilder, Job


def test_the_log_says_each_job_ran_here_in_this_process(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    graph = GraphBuilder()
    a = graph.add(Job(kind="leaf", backend="t@1", params={"n": 1}, label="a"))
    top = graph.add(Job(kind="join", backend="t@1", params={}, inputs=(a,), label="top"))

    def run(job: Job, out: Path, store: Store) -> None:
        (out / "x").write_text(job.label)

    stream = io.StringIO()
    report = Scheduler(store, lambda job: run, workers=2, log=BuildLog(tmp_path / "log.jsonl"),
                       executor=LocalExecutor(2), progress=JsonProgress(stream)
                       ).run(graph.jobs, [top])
    assert not report.failures
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(e["node"], e["worker"]) for e in log] == [(NODE, os.getpid())] * 2
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {(e["node"], e["worker"]) for e in events if e["event"] == "job"} == {
        (NODE, os.getpid())}


def test_the_bar_counts_the_nodes_and_workers_at_work() -> None:
    progress = RichProgress(io.StringIO())
    job = Job(kind="segment", backend="t@1", params={})
    for node, worker in (("a1", 10), ("a1", 11), ("b2", 20)):
        progress.advance(Record(job, "ran", "new", 1.0, node, worker))
    progress.advance(Record(job, "cached", "unchanged"))
    assert progress._text() == "segment 3+1  on 2 nodes, 3 workers"
    alone = RichProgress(io.StringIO())
    alone.advance(Record(job, "ran", "new", 1.0, NODE, 1))
    assert alone._text() == "segment 1+0"


def test_background_jobs_go_on_into_the_next_run(tmp_path: Path) -> None:
    """Phase one's stills: started with the speech, not waited for; the next run takes
    them over (a job that uses one waits for it), and `finish` waits for the rest."""
    import threading

    store = Store(tmp_path / "cache")
    store.ensure()
    release = threading.Event()
    graph = GraphBuilder()
    quick = graph.add(Job(kind="speech", backend="t@1", params={}, label="quick"))
    slow = graph.add(Job(kind="still", backend="t@1", params={"n": 1}, label="slow"))
    other = graph.add(Job(kind="still", backend="t@1", params={"n": 2}, label="other"))
    user = graph.add(Job(kind="segment", backend="t@1", params={}, inputs=(slow, quick),
                         label="user"))

    def run(job: Job, out: Path, store: Store) -> None:
        if job.kind == "still":
            assert release.wait(30)
        (out / "x").write_text(job.label)

    scheduler = Scheduler(store, lambda job: run, workers=4)
    first = scheduler.run(graph.jobs, [quick], background=[slow, other])
    assert {r.job.label: r.status for r in first.records.values()} == {"quick": "ran"}
    assert not store.lookup(slow).ok  # still sampling
    release.set()
    second = scheduler.run(graph.jobs, [user])
    labels = {r.job.label for r in second.records.values()}
    assert {"slow", "user"} <= labels and "quick" not in labels
    rest = scheduler.finish()
    assert labels | {r.job.label for r in rest.records.values()} == {"slow", "other", "user"}
    assert all(store.lookup(key).ok for key in (slow, other, user))
    assert not scheduler.finish().records  # nothing left
