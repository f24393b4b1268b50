"""Measured costs (cache/costs.py), the estimates made from them (plan/costs.py), the
critical-path order of ready jobs and the replay of a graph on workers (plan/schedule.py),
and `filmc plan`'s estimate against the build it estimates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import TINY_FILM
from filmlang.build import build
from filmlang.cache.costs import CostBook, cost_key
from filmlang.cache.store import Store
from filmlang.exec.scheduler import Scheduler
from filmlang.jobs import GraphBuilder, Job
from filmlang.plan.costs import DEFAULTS, Estimator, default_cost
from filmlang.plan.schedule import priorities, simulate, take


def job(kind: str, inputs: tuple[str, ...] = (), *, backend: str = "procedural@3",
        **params: object) -> Job:
    return Job(kind=kind, backend=backend, params=dict(params), inputs=inputs,
               label=str(params.get("name", kind)), identity=f"{kind}:{params.get('name')}")


def test_costs_are_recorded_by_backend_kind_model_and_size(tmp_path: Path) -> None:
    book = CostBook(tmp_path)
    small = job("still", width=100, height=100, name="a")
    large = job("still", width=200, height=200, name="b")
    assert cost_key(small) == ("procedural", "still", "", 0.01)
    book.note(small, 1.0)
    book.note(small, 3.0)
    book.save()
    again = CostBook(tmp_path)
    assert again.sizes("procedural", "still", "") == {0.01: 2.0}  # the mean
    estimator = Estimator(again, lambda job: False)
    assert estimator.cost(small) == 2.0  # exact
    assert estimator.cost(large) == 8.0  # nearest, scaled by pixels
    other_model = job("still", backend="diffusers@4", width=100, height=100,
                      model={"fingerprint": "x" * 20, "class": "StableDiffusionPipeline"},
                      steps=10, name="c")
    assert cost_key(other_model)[2] == "x" * 16
    assert not estimator.measured(other_model)
    assert estimator.cost(other_model) == default_cost(other_model)
    per, fixed = DEFAULTS["still"]
    assert default_cost(other_model) == per * 0.1 + fixed
    on_gpu = Estimator(again, lambda job: job.backend_name == "diffusers")
    per, fixed = DEFAULTS["still@gpu"]
    assert on_gpu.cost(other_model) == per * 0.1 + fixed


def test_two_books_saving_merge_their_records(tmp_path: Path) -> None:
    one, two = CostBook(tmp_path), CostBook(tmp_path)
    one.note(job("speech", text="hello", name="a"), 0.5)
    two.note(job("mix", seconds=10.0, name="b"), 2.0)
    one.save()
    two.save()
    data = json.loads((tmp_path / "costs.json").read_text())
    assert set(data["jobs"]) == {"procedural|speech|", "procedural|mix|"}


def test_the_gpu_and_its_feeders_go_first() -> None:
    graph = GraphBuilder()
    speech = graph.add(job("speech", text="a line", name="s"))
    still = graph.add(job("still", width=10, height=10, name="p"))
    segment = graph.add(job("segment", (still, speech), name="seg"))
    mix = graph.add(job("mix", (speech,), name="mix"))
    graph.add(job("mux", (segment, mix), name="mux"))
    costs = {"speech": 2.0, "still": 1.0, "segment": 0.5, "mix": 0.5, "mux": 0.1}
    on_gpu = lambda j: j.kind == "still"  # noqa: E731
    rank = priorities(graph.jobs, lambda j: costs[j.kind], on_gpu)
    # the still is the shorter job, but it is GPU work on the critical path
    assert rank[still] > rank[speech] > rank[segment]
    flat = priorities(graph.jobs, lambda j: costs[j.kind], lambda j: False)
    assert flat[speech] > flat[still]


def test_simulation_of_a_graph_on_workers() -> None:
    graph = GraphBuilder()
    leaves = [graph.add(job("still", width=10, height=10, name=str(n))) for n in range(8)]
    graph.add(job("video", tuple(leaves), name="v"))
    cost = lambda j: 1.0 if j.kind == "still" else 0.5  # noqa: E731
    gpu = lambda j: j.kind == "still"  # noqa: E731
    one = simulate(graph.jobs, cost, gpu, cpus=1, gpus=1)
    four = simulate(graph.jobs, cost, gpu, cpus=1, gpus=4)
    assert (one.makespan, four.makespan) == (8.5, 2.5)
    assert (one.gpu_seconds, one.cpu_seconds) == (8.0, 0.5)
    # no GPU: the stills take the CPUs
    assert simulate(graph.jobs, cost, gpu, cpus=2, gpus=0).makespan == 4.5
    # a second phase waits for the whole first
    first = set(leaves[:1])
    assert simulate({k: graph.jobs[k] for k in leaves}, cost, gpu, cpus=1, gpus=1,
                    phase_one=first).makespan == 8.0


def test_the_stills_run_beside_the_speech_that_phase_two_waits_for() -> None:
    graph = GraphBuilder()
    speech = [graph.add(job("speech", text=f"line {n}", name=f"s{n}")) for n in range(4)]
    still = graph.add(job("still", width=10, height=10, name="p"))
    segment = graph.add(job("segment", (still,), name="seg"))
    graph.add(job("mux", (segment, *speech), name="mux"))
    costs = {"speech": 1.0, "still": 4.0, "segment": 0.5, "mux": 0.5}
    cost = lambda j: costs[j.kind]  # noqa: E731
    gpu = lambda j: j.kind == "still"  # noqa: E731
    # the still samples on the GPU while the CPU speaks (4 s): then segment and mux
    beside = simulate(graph.jobs, cost, gpu, cpus=1, gpus=1, phase_one=set(speech),
                      early={still})
    assert beside.makespan == 5.0
    # had it waited for the speech, it would have started at 4 s
    assert simulate(graph.jobs, cost, gpu, cpus=1, gpus=1,
                    phase_one=set(speech)).makespan == 9.0


def test_an_encode_starts_first_and_no_kind_takes_every_slot_while_others_wait() -> None:
    """`take`: speech beside a still, not two lines at once; a segment beside the music
    however they rank; one kind alone takes every slot, and one slot takes the encode."""
    speech = [job("speech", text=f"line {n}", name=f"s{n}") for n in range(3)]
    still = job("still", width=10, height=10, name="p")
    segments = [job("segment", name=f"g{n}", range=[0, n + 1]) for n in range(3)]
    music = job("music", name="m")
    names = lambda jobs: [j.label for j in jobs]  # noqa: E731
    assert names(take([*speech, still], {}, 2, 2)) == ["s0", "p"]
    assert names(take([*speech, still], {"speech": 1}, 2, 1)) == ["p"]
    assert names(take([music, *segments], {}, 2, 2)) == ["g0", "m"]
    assert names(take([*segments, music], {"segment": 1}, 2, 1)) == ["m"]
    assert names(take(segments, {}, 2, 2)) == ["g0", "g1"]
    assert names(take([music, *segments], {}, 1, 1)) == ["g0"]
    assert names(take([music, *speech], {}, 8, 3)) == ["m", "s0", "s1"]


def test_the_scheduler_starts_ready_jobs_by_their_share_of_the_critical_path(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.ensure()
    book = CostBook(tmp_path / "cache")
    graph = GraphBuilder()
    short = graph.add(job("sound", name="short"))
    long = graph.add(job("music", name="long"))
    top = graph.add(job("mix", (short, long), name="top"))
    book.note(graph.jobs[short], 0.1)
    book.note(graph.jobs[long], 5.0)
    order: list[str] = []

    def run(job: Job, out: Path, store: Store) -> None:
        order.append(job.label)
        (out / "x").write_text(job.label)

    report = Scheduler(store, lambda job: run, workers=1, costs=book).run(graph.jobs, [top])
    assert not report.failures
    assert order == ["long", "short", "top"]
    # and the jobs' seconds went into the book
    assert CostBook(tmp_path / "cache").sizes("procedural", "mix", "")


def test_after_a_build_the_plan_estimates_it_within_a_quarter(tmp_path: Path) -> None:
    film = tmp_path / "tiny.film"
    film.write_text(TINY_FILM, encoding="utf-8")
    cold = subprocess.run([sys.executable, "-m", "filmlang.cli", "plan", str(film), "--json",
                           "-j", "2"], capture_output=True, text=True, check=True)
    before = json.loads(cold.stdout)
    assert before["wall_seconds"] > 0 and before["gpu_seconds"] == 0
    assert not any(row["measured"] for row in before["jobs"])
    result = build(film, jobs=2)
    assert result.ok
    done = subprocess.run([sys.executable, "-m", "filmlang.cli", "plan", str(film), "--json",
                           "-j", "2"], capture_output=True, text=True, check=True)
    plan = json.loads(done.stdout)
    assert plan["wall_seconds"] == 0  # nothing to run
    assert all(row["measured"] for row in plan["jobs"])
    estimate = plan["clean_wall_seconds"]
    assert abs(estimate - result.seconds) <= 0.25 * result.seconds, (estimate, result.seconds)
    text = subprocess.run([sys.executable, "-m", "filmlang.cli", "plan", str(film), "-j", "2"],
                          capture_output=True, text=True, check=True).stdout
    assert "0.0 CPU-s, 0.0 GPU-s" in text and "a clean build about" in text
