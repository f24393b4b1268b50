"""A fuzz campaign for filmlang's front end (issue 12).

Mutates the example films, the tests' `.film` sources and the diagnostics corpus
(tests/diagnostics/): byte flips, token deletion and duplication, deep nesting, huge
numbers, unicode, splices of lines from other files, and prompt-template payloads. Each
case goes through the parser, the checker (from the seed file's folder, so its imports
resolve), `fmt` (twice: the second pass must change nothing) and the template renderer,
in process, in worker subprocesses:

- a case may use at most 5 s of CPU (an interval timer in the worker, and a wall-clock
  deadline in the campaign that kills a worker stuck in C code), and at most 300 MB (the
  worker's peak resident memory, reset before each case through /proc/self/clear_refs; an
  address-space limit turns a runaway into a MemoryError instead of the kernel's OOM killer);
- a worker that dies is started again, and its case is counted as a crash;
- an exception, a failed check without an error, a diagnostic without a place, or a `fmt`
  that is not stable is a finding.

Every finding is written as a one-file case (`--findings DIR`, default fuzz-findings/) to be
moved to tests/fuzz_cases/, where tests/test_fuzz_cases.py runs each. Cases are made from
`--seed` and their number alone, so `--case N` replays one.

    python bench/fuzz.py --cases 3000 --seed 1            # the short run of the test suite
    nice -n 10 python bench/fuzz.py --cases 100000 --workers 1 --report fuzz.json
    python bench/fuzz.py --atheris -runs=10000 examples   # coverage-guided, where it installs

The campaign is hand-written because the fuzzers on PyPI either need a C toolchain and
libFuzzer's process model (atheris: offered with --atheris, one case per process crash) or
know nothing of a language's tokens; the mutations here are the ones the issue found bugs
with.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CPU_LIMIT = 5.0
MEMORY_LIMIT_MB = 300
WALL_LIMIT = 60.0
ADDRESS_SPACE = 2 << 30

PAYLOADS = [
    "{{ ''.join }}", "{{ range }}", "{{ film.__class__ }}", "{{ lipsum }}", "{{ cycler }}",
    "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro sq(x) %}{{ sq(x * x) }}{% endmacro %}{{ sq(2) }}",
    "{{ 'a' * 1000000000 }}", "{{ '' | center(10**9) }}", "{{ '%*d' | format(10**9, 1) }}",
    "{{ '{:1000000000}'.format(1) }}", "{{ [1] * 10**9 }}", "{{ 9**9**9 }}",
    "{{ " + "(" * 100 + "1" + ")" * 100 + " }}", "{% if 1 %}" * 200 + "{% endif %}" * 200,
    "{{ scene.setting | upper }}", "{{ subjects | map(attribute='name') | join(', ') }}",
    "{{ shot }}", "{{ film.title[::-1] }}", "{% set x = 1 %}{{ x / 0 }}", "{{ x.y.z }}",
    "{{ 1e308 * 10 }}", "{{ (2**1023) * 2.0 }}", "{{ '%s' % (1,2) }}", "{{ }}", "{%", "}}",
    "{{ 'a'.ljust(10**9) }}", "{{ dict(a=1) | tojson }}", "{{ self }}", "{{ loop }}",
]
UNICODE = ["\u00e9", "\u0301", "\u202e", "\U0001f3ac", "\x00", "\ufeff", "\u2028", "\r",
           "\t", "\u3000", "\ud7ff", "\U00010000", "\u0085", "\x7f", "\u200b"]
TOKEN = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|\w+|\S')
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:ms|s|m|x\d+)?")
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def read_seeds(files: list[Path]) -> dict[Path, str]:
    """The seed files' text (one is Latin-1 on purpose: its byte becomes U+FFFD)."""
    return {p: p.read_bytes().decode("utf-8", errors="replace") for p in files}


def seed_files() -> list[Path]:
    """The sources mutated: examples, tests' films, the diagnostics corpus. Not the fuzz
    cases (tests/fuzz_cases): a case added must not change what the numbers of a campaign
    stand for (replay a case with the commit that ran it)."""
    files = [*sorted((ROOT / "examples").rglob("*.film")),
             *sorted((ROOT / "tests").rglob("*.film"))]
    cases = ROOT / "tests" / "fuzz_cases"
    return [p for p in files if p.stat().st_size <= 64_000 and cases not in p.parents]


# ---------------------------------------------------------------- mutations


def _flip_byte(rng: random.Random, text: str) -> str | bytes:
    data = bytearray(text.encode("utf-8")) or bytearray(b" ")
    i = rng.randrange(len(data))
    data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def _tokens(text: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(text))


def _delete_token(rng: random.Random, text: str) -> str:
    tokens = _tokens(text)
    if not tokens:
        return text
    m = rng.choice(tokens)
    return text[:m.start()] + text[m.end():]


def _duplicate_token(rng: random.Random, text: str) -> str:
    tokens = _tokens(text)
    if not tokens:
        return text
    m = rng.choice(tokens)
    copies = m.group() * rng.choice([1, 1, 2, 10, 100])
    return text[:m.end()] + " " + copies + text[m.end():]


def _nest(rng: random.Random, text: str) -> str:
    depth = rng.choice([10, 31, 32, 33, 40, 200, 1000, 5000])
    i = rng.randrange(len(text) + 1)
    kind = rng.randrange(4)
    if kind == 0:
        inner = "[" * depth + "1" + "]" * depth
    elif kind == 1:
        inner = "a {\n" * depth + "}\n" * depth
    elif kind == 2:
        inner = "[" * depth
    else:
        inner = '"{{ ' + "(" * depth + "1" + ")" * depth + ' }}"'
    return text[:i] + inner + text[i:]


def _huge_number(rng: random.Random, text: str) -> str:
    digits = "9" * rng.choice([10, 19, 20, 309, 400, 5000])
    unit = rng.choice(["", "s", "ms", "m", "x720", ".5", "e9"])
    found = list(NUMBER.finditer(text))
    number = rng.choice(["-", ""]) + digits + unit
    if not found:
        return text + f"\nlet n = {number}\n"
    m = rng.choice(found)
    return text[:m.start()] + number + text[m.end():]


def _unicode(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + "".join(rng.choice(UNICODE) for _ in range(rng.randint(1, 4))) + text[i:]


def _payload(rng: random.Random, text: str) -> str:
    payload = rng.choice(PAYLOADS).replace('"', "'")
    found = list(STRING.finditer(text))
    if found and rng.random() < 0.8:
        m = rng.choice(found)
        return text[:m.start()] + '"' + payload + '"' + text[m.end():]
    return text + f'\nlet p = "{payload}"\n'


def _splice(rng: random.Random, text: str, other: str) -> str:
    lines, others = text.split("\n"), other.split("\n")
    i = rng.randrange(len(lines) + 1)
    j = rng.randrange(len(others))
    return "\n".join(lines[:i] + others[j:j + rng.randint(1, 5)] + lines[i:])


MUTATIONS: list[Callable[[random.Random, str], str | bytes]] = [
    _flip_byte, _delete_token, _delete_token, _duplicate_token, _nest, _huge_number, _unicode,
    _payload, _payload,
]


@dataclass
class Case:
    index: int
    seed_file: Path
    data: str | bytes
    steps: list[str] = field(default_factory=list)


def make_case(seed: int, index: int, files: list[Path], texts: dict[Path, str]) -> Case:
    """Case `index` of the campaign `seed`: the same every time."""
    rng = random.Random(f"{seed}:{index}")
    path = rng.choice(files)
    data: str | bytes = texts[path]
    steps = []
    for _ in range(rng.choice([1, 1, 2, 3, 4])):
        if isinstance(data, bytes):
            break
        if rng.random() < 0.1:
            other = texts[rng.choice(files)]
            data, name = _splice(rng, data, other), "_splice"
        else:
            mutate = rng.choice(MUTATIONS)
            data, name = mutate(rng, data), mutate.__name__
        steps.append(name.lstrip("_"))
    return Case(index, path, data, steps)


# ---------------------------------------------------------------- one case, in process


class OverCPU(BaseException):
    """A BaseException, so that no `except Exception` in the code under test takes it."""


def _on_cpu_limit(signum: int, frame: Any) -> None:
    raise OverCPU(f"more than {CPU_LIMIT:g} s of CPU")


def _problem(result: Any) -> str | None:
    """What is wrong with a check's result, in words; None when nothing is."""
    if not result.ok and not result.errors:
        return "the check failed without an error"
    for d in result.diagnostics:
        if d.span.line < 1 or d.span.column < 1 or not d.message:
            return f"a diagnostic without a place or a message: {d!r}"
    result.report()
    return None


def _render_templates(text: str) -> None:
    from filmlang.semantic.templates import Obj, TemplateProblem, Templates
    from filmlang.source import Span

    templates = Templates()
    span = Span(file="fuzz.film", line=1, column=1, end_line=1, end_column=2)
    mara = Obj("character", "MARA", name="MARA", look="a woman in a coat")
    context = {"film": Obj("film", "Fuzz", title="Fuzz"),
               "scene": Obj("scene", "s", name="s", setting="a quay", time="night"),
               "shot": Obj("shot", "wide", type="wide", camera="static", action=""),
               "subjects": [mara], "characters": [mara]}
    for m in STRING.finditer(text):
        if "{" in m.group(1):
            with contextlib.suppress(TemplateProblem):
                templates.render(m.group(1), context, span)


def run_case(case: Case, folder: Path) -> str | None:
    """Parse, check, format and render one case; None, or what went wrong."""
    from filmlang.api import check_file, format_text

    if isinstance(case.data, bytes):
        path = folder / "case.film"
        path.write_bytes(case.data)
        return _problem(check_file(path))
    text = case.data
    problem = _problem(check_file(case.seed_file, text=text))
    if problem:
        return problem
    first = format_text(text)
    if first.text is not None:
        second = format_text(first.text)
        if second.text != first.text:
            return "fmt is not stable: formatting its output changes it"
    _render_templates(text)
    return None


def _peak_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _reset_peak() -> int:
    """Reset the peak to the resident size now, and give that size (kB)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def measured_case(case: Case, folder: Path, *, whole_process: bool = True) -> dict[str, Any]:
    """`run_case` under the CPU limit, with its CPU time and peak memory: the worker's
    whole peak (`whole_process`, as the campaign's workers count it), or else what the case
    added to a process that was already large (a test suite's, which runs the cases)."""
    base = _reset_peak()
    started = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, CPU_LIMIT)
    outcome, detail = "ok", ""
    try:
        problem = run_case(case, folder)
        if problem:
            outcome, detail = "finding", problem
    except OverCPU as exc:
        outcome, detail = "hang", str(exc)
    except MemoryError:
        outcome, detail = "memory", "MemoryError"
    except RecursionError:
        outcome, detail = "crash", traceback.format_exc(limit=-8)
    except Exception:  # a traceback is what the campaign looks for
        outcome, detail = "crash", traceback.format_exc(limit=-8)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    cpu = time.process_time() - started
    peak = _peak_kb() - (0 if whole_process else base)
    if outcome == "ok" and peak > MEMORY_LIMIT_MB * 1024:
        outcome, detail = "memory", f"peak {peak / 1024:.0f} MB"
    return {"index": case.index, "outcome": outcome, "detail": detail, "cpu": round(cpu, 4),
            "peak_kb": peak}


def worker(seed: int, folder: Path) -> None:
    """Read case numbers from stdin, one a line; answer each with a JSON line."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    signal.signal(signal.SIGPROF, _on_cpu_limit)
    sys.setrecursionlimit(10_000)
    files = seed_files()
    texts = read_seeds(files)
    for line in sys.stdin:
        case = make_case(seed, int(line), files, texts)
        print(json.dumps(measured_case(case, folder)), flush=True)


# ---------------------------------------------------------------- the campaign


@dataclass
class Totals:
    cases: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    max_cpu: float = 0.0
    max_peak_kb: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, result: dict[str, Any]) -> None:
        self.cases += 1
        self.outcomes[result["outcome"]] = self.outcomes.get(result["outcome"], 0) + 1
        self.max_cpu = max(self.max_cpu, result["cpu"])
        self.max_peak_kb = max(self.max_peak_kb, result["peak_kb"])
        if result["outcome"] != "ok":
            self.findings.append(result)


class Worker:
    def __init__(self, seed: int, folder: Path, nice: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seed", str(seed),
               "--folder", str(folder)]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self.index: int | None = None
        self.since = 0.0
        self.nice = nice

    def give(self, index: int) -> None:
        assert self.proc.stdin is not None
        self.index, self.since = index, time.monotonic()
        self.proc.stdin.write(f"{index}\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _lost(worker: Worker, why: str) -> dict[str, Any]:
    worker.stop()
    return {"index": worker.index, "outcome": "hang" if why == "wall" else "crash",
            "detail": f"the worker {'ran past the deadline' if why == 'wall' else 'died'} "
                      f"(exit {worker.proc.returncode})", "cpu": 0.0, "peak_kb": 0}


def campaign(cases: int, seed: int, workers: int = 1, start: int = 0, nice: int = 0,
             folder: Path | None = None, progress: Callable[[Totals], None] | None = None
             ) -> Totals:
    """Run cases start..start+cases-1 of campaign `seed` in `workers` worker processes;
    `progress` is called every 1,000 cases."""
    base = folder or Path(os.environ.get("TMPDIR", "/tmp")) / f"filmlang-fuzz-{os.getpid()}"
    totals, began = Totals(), time.monotonic()
    pending = iter(range(start, start + cases))
    pool = [Worker(seed, base / str(i), nice) for i in range(workers)]
    try:
        for w in pool:
            _next(w, pending)
        while any(w.index is not None for w in pool):
            done = totals.cases
            _step(pool, pending, totals, seed, base)
            if progress and totals.cases // 1000 > done // 1000:
                progress(totals)
    finally:
        for w in pool:
            w.stop()
    totals.seconds = time.monotonic() - began
    return totals


def _next(worker: Worker, pending: Any) -> None:
    index = next(pending, None)
    worker.index = None
    if index is not None:
        worker.give(index)


def _step(pool: list[Worker], pending: Any, totals: Totals, seed: int, base: Path) -> None:
    busy = {w.proc.stdout: w for w in pool if w.index is not None and w.proc.stdout}
    ready, _, _ = select.select(list(busy), [], [], 1.0)
    for stream in ready:
        w = busy[stream]
        line = stream.readline()
        if line:
            totals.add(json.loads(line))
            _next(w, pending)
            continue
        totals.add(_lost(w, "died"))
        _restart(pool, w, pending, seed, base)
    for w in pool:
        if w.index is not None and time.monotonic() - w.since > WALL_LIMIT:
            totals.add(_lost(w, "wall"))
            _restart(pool, w, pending, seed, base)


def _restart(pool: list[Worker], old: Worker, pending: Any, seed: int, base: Path) -> None:
    i = pool.index(old)
    pool[i] = Worker(seed, base / str(i), old.nice)
    _next(pool[i], pending)


def write_findings(totals: Totals, seed: int, out: Path) -> list[Path]:
    """One file per finding, named after its outcome, campaign and case number."""
    files = seed_files()
    texts = read_seeds(files)
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for finding in totals.findings:
        case = make_case(seed, finding["index"], files, texts)
        data = case.data if isinstance(case.data, bytes) else case.data.encode("utf-8")
        path = out / f"{finding['outcome']}_{seed}_{finding['index']}.film"
        path.write_bytes(data)
        (out / (path.stem + ".txt")).write_text(
            f"seed file: {case.seed_file.relative_to(ROOT)}\nsteps: {case.steps}\n\n"
            f"{finding['detail']}\n", encoding="utf-8")
        written.append(path)
    return written


def _atheris() -> None:  # pragma: no cover - optional, needs atheris
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports():
        import filmlang.api  # noqa: F401
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / "filmlang-atheris"
    folder.mkdir(exist_ok=True)
    seed_file = ROOT / "examples" / "lighthouse.film"

    def one(data: bytes) -> None:
        try:
            text: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data
        problem = run_case(Case(0, seed_file, text), folder)
        if problem:
            raise AssertionError(problem)

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="the first case's number")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--nice", type=int, default=0, help="the workers' niceness")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--report", type=Path, help="write the totals here as JSON")
    parser.add_argument("--case", type=int, help="run one case in this process and say how")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, with atheris")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if rest and not args.atheris:
        parser.error(f"unknown arguments: {' '.join(rest)}")
    if args.worker:
        worker(args.seed, args.folder)
        return
    if args.atheris:
        sys.argv = [sys.argv[0], *rest]  # libFuzzer's flags: -runs=N, -max_total_time=S
        _atheris()
        return
    if args.case is not None:
        files = seed_files()
        case = make_case(args.seed, args.case, files, read_seeds(files))
        print(f"seed file {case.seed_file}, steps {case.steps}")
        print(json.dumps(measured_case(case, Path(os.environ.get("TMPDIR", "/tmp")))))
        return
    began = time.monotonic()

    def report(totals: Totals, written: list[Path] | None = None) -> dict[str, Any]:
        summary = {"seed": args.seed, "first_case": args.start, "cases": totals.cases,
                   "outcomes": totals.outcomes, "max_cpu_s": round(totals.max_cpu, 3),
                   "max_peak_mb": round(totals.max_peak_kb / 1024, 1),
                   "seconds": round(time.monotonic() - began, 1),
                   "findings": [str(p) for p in written] if written is not None else
                   [f["index"] for f in totals.findings]}
        print(json.dumps(summary), file=sys.stderr, flush=True)
        if args.report:
            args.report.write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    totals = campaign(args.cases, args.seed, args.workers, args.start, args.nice,
                      progress=report)
    written = write_findings(totals, args.seed, args.findings) if totals.findings else []
    print(json.dumps(report(totals, written), indent=2))
    sys.exit(1 if totals.findings else 0)


if __name__ == "__main__":
    main()
