"""Templates are bounded: no prompt template can hang a check, take the memory or print an
address (issue 12). Adversarial payloads, each a few dozen bytes, are checked in process (the
diagnostic) and through `filmc check` as a real process (exit status, CPU time, memory)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FILM_HEADER, check_source

LOOPS3 = ("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
          "{% endfor %}{% endfor %}{% endfor %}")
TITLE_LOOP = ("{% set s = 'a ' * 9000 %}{% for a in range(1000) %}{% for b in range(1000) %}"
              "{% set t = s | title %}{% endfor %}{% endfor %}")

# payload -> the code it must give
PAYLOADS: dict[str, str] = {
    # work
    LOOPS3: "E0505",
    TITLE_LOOP: "E0505",
    "{% for a in range(10**4) %}{% for b in range(10**4) %}{% endfor %}{% endfor %}": "E0503",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}": "E0505",
    "{% macro sq(x) %}{{ sq(x * x) }}{% endmacro %}{{ sq(2) }}": "E0503",
    "{% set l = [[1]] %}{% for x in l recursive %}{{ loop(l) }}{% endfor %}": "E0505",
    # memory: every size is checked before the value is made
    "{{ 'a' * 1000000000 }}": "E0503",
    "{{ '' | center(10**9) }}": "E0503",
    "{{ '' | center(1000000000) }}": "E0503",
    "{{ '%*d' | format(10**9, 1) }}": "E0503",
    "{{ '%1000000000d' % 1 }}": "E0503",
    "{{ '{:1000000000}'.format(1) }}": "E0503",
    "{{ '{:.1000000000f}'.format(1.5) }}": "E0503",
    "{{ 'a'.ljust(10**9) }}": "E0503",
    "{{ 'a'.zfill(10**9) }}": "E0503",
    "{{ ('a' * 10000) | replace('', 'bbbb') }}": "E0503",
    "{{ 'a\\nb' | indent(10**9) }}": "E0503",
    "{{ 'x y' | wordwrap(1, wrapstring='y' * 15000) }}": "E0503",
    "{{ [1] * 10**9 }}": "E0503",
    "{{ [1] | batch(10**9, 0) | list }}": "E0503",
    "{{ [1] | slice(10**9) | list }}": "E0503",
    "{{ range(10**9) | list }}": "E0503",
    "{{ 10**(10**10) }}": "E0503",
    "{{ (2**64)**64 }}": "E0503",
    "{% macro f(x) %}{{ f(x ~ x) }}{% endmacro %}{{ f('a') }}": "E0503",
    "{% macro f(x) %}{{ f([x, x]) }}{% endmacro %}{{ f(1) }}": "E0503",
    "{{ (1).to_bytes(10**9, 'big') }}": "E0503",
    # nesting
    "{{ " + "(" * 100 + "1" + ")" * 100 + " }}": "E0505",
    "{{ " + "[" * 100 + "]" * 100 + " }}": "E0505",
    "{% if 1 %}" * 200 + "x" + "{% endif %}" * 200: "E0505",
    "{% for i in [1] %}" * 20 + "x" + "{% endfor %}" * 20: "E0505",
    "{{ " + "not " * 500 + "1 }}": "E0505",
    "{{ " + "1 + " * 500 + "1 }}": "E0505",
    # determinism: nothing whose text holds a memory address
    "{{ ''.join }}": "E0506",
    "{{ range }}": "E0506",
    "{{ dict }}": "E0506",
    "{% macro m() %}{% endmacro %}{{ m }}": "E0506",
    "{% for i in [1] %}{{ loop.cycle }}{% endfor %}": "E0506",
    "{{ ''.join ~ '' }}": "E0506",
    "{{ (''.join ~ '') | upper }}": "E0506",
    "{{ range | string }}": "E0506",
    "{{ [range] | join }}": "E0506",
    "{{ '%s' % range }}": "E0506",
    "{{ '%s' | format(range) }}": "E0506",
    "{{ '{}'.format(range) }}": "E0506",
    "{{ '{!r}'.format(dict) }}": "E0506",
    "{{ subjects | map(attribute='name') }}": "E0506",
    "{{ [1, 2] | select('odd') ~ '' }}": "E0506",
    "{{ self }}": "E0506",
    "{{ cycler }}": "E0502",
    "{{ namespace }}": "E0502",
    "{{ [1] | pprint }}": "E0501",
    "{{ 'a' | tojson }}": "E0501",
}


def _film(template: str) -> str:
    return (FILM_HEADER + 'character MARA { look "keeper" }\n'
            f'scene s {{\n    shot wide MARA 1s {{ action "{template}" }}\n}}\n')


@pytest.mark.parametrize("template", list(PAYLOADS), ids=range(len(PAYLOADS)))
def test_template_payload_is_a_diagnostic(tmp_path: Path, template: str) -> None:
    started = time.thread_time()
    result = check_source(tmp_path, _film(template))
    assert [d.code for d in result.errors] == [PAYLOADS[template]], result.report()
    assert result.errors[0].span.line == 4  # at the template's string
    assert time.thread_time() - started < 1.5


@pytest.mark.parametrize("template", [
    "{{ scene.setting | upper }}, {{ subjects | map(attribute='name') | join(' and ') }}",
    "{% for s in subjects %}{{ s.look }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{{ '%s and %s' % ('rain', 'wind') }} {{ '{} {}'.format('a', 1) }} {{ [1, 2] | sum }}",
    "{{ (range(3) | list) ~ '' }} {{ {'a': [1, 2]} }} {{ 2**64 * 2**64 }} {{ 1.5 ** 2 }}",
    "{% set x = 2 %}{% for i in range(100) %}{% set x = x * x %}{% endfor %}{{ x }}",
    "{{ ('x' * 19000) | length }} {{ subjects }} {{ characters.MARA.look.upper() }}",
    "{% for i in range(1000) %}{{ i if i > 995 }}{% endfor %}",
])
def test_ordinary_templates_still_work(tmp_path: Path, template: str) -> None:
    result = check_source(tmp_path, _film(template))
    assert result.ok, result.report()


# The worst payloads, through `filmc check` as a user runs it: exit 1 with the diagnostic,
# well inside the budgets, on the main branch each hung, took gigabytes or crashed.
WORST = [LOOPS3, TITLE_LOOP, "{{ '' | center(10**9) }}", "{{ '%*d' | format(10**9, 1) }}",
         "{% macro sq(x) %}{{ sq(x * x) }}{% endmacro %}{{ sq(2) }}",
         "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
         "{{ " + "(" * 100 + "1" + ")" * 100 + " }}",
         "{% if 1 %}" * 200 + "x" + "{% endif %}" * 200,
         "{{ 'a'.ljust(10**9) }}", "{{ ''.join }}",
         # one of each other kind: memory, numbers, non-data values, what is not available
         "{{ 'a' * 1000000000 }}", "{{ [1] * 10**9 }}", "{{ 10**(10**10) }}", "{{ range }}",
         "{% for i in [1] %}{{ loop.cycle }}{% endfor %}", "{{ cycler }}", "{{ 'a' | tojson }}"]


# Runs `filmc` and, at its exit, writes the peak memory of the process since its exec (the
# kernel's ru_maxrss would count the pytest process it was forked from, up to the exec).
_PEAK = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["FILMC_PEAK"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
if os.path.exists("/proc/self/status"):
    atexit.register(_peak)
sys.argv[0] = "filmc"
from filmlang.cli import main
main()
"""


def run_measured(args: list[str], cwd: Path, timeout: float
                 ) -> tuple[int, str, float, int | None]:
    """Run `filmc ARGS`; its exit status, output, CPU seconds and peak memory in KiB."""
    out, peak = cwd / "out.txt", cwd / "peak.txt"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-c", _PEAK, *args], cwd=cwd, stdout=sink,
                                stderr=subprocess.STDOUT, env={**os.environ,
                                                               "FILMC_PEAK": str(peak)})
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            pytest.fail(f"filmc {args} ran for more than {timeout}s")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = int(peak.read_text()) if peak.is_file() else None
    return (proc.returncode, out.read_text(encoding="utf-8", errors="replace"),
            usage.ru_utime + usage.ru_stime, peak_kib)


@pytest.mark.parametrize("template", WORST, ids=range(len(WORST)))
def test_filmc_check_stops_every_payload_quickly(tmp_path: Path, template: str) -> None:
    (tmp_path / "payload.film").write_text(_film(template), encoding="utf-8")
    status, output, cpu, peak_kib = run_measured(["check", "payload.film"], tmp_path,
                                                 timeout=30)
    assert status == 1, output
    assert PAYLOADS[template] in output
    assert "Traceback" not in output
    assert cpu < 2.0, f"{cpu:.2f} s of CPU"
    if peak_kib is not None:  # Linux
        assert peak_kib < 256 * 1024, f"{peak_kib // 1024} MiB"


def test_many_costly_templates_share_one_budget(tmp_path: Path) -> None:
    """Forty different templates that each run to their budget: the check as a whole takes
    a few seconds, not forty half-seconds, and each is an error at its own string."""
    from filmlang.semantic.budget import HEAVY_SECONDS, MAX_HEAVY_SECONDS

    text = FILM_HEADER + "".join(
        f'scene s{i} {{ setting "{TITLE_LOOP}{{{{ {i} }}}}"; shot wide 1s }}\n'
        for i in range(40))
    started = time.thread_time()
    result = check_source(tmp_path, text)
    spent = time.thread_time() - started
    assert [d.code for d in result.errors] == ["E0505"] * 40
    assert [d.span.line for d in result.errors] == list(range(2, 42))
    assert spent < MAX_HEAVY_SECONDS + 40 * HEAVY_SECONDS + 2.0, spent


def test_the_same_source_gives_the_same_film_in_every_process(tmp_path: Path) -> None:
    """Determinism: prompts made by templates are the same in every run, whatever Python's
    hash seed (the order of sets, the addresses of objects)."""
    template = ("{{ subjects }} {{ characters }} {{ {'b': 1, 'a': 2} }} {{ [3, 1] | sort }} "
                "{{ ['b', 'a', 'b'] | unique | join }} {{ characters | dictsort }} {{ film }}")
    (tmp_path / "film.film").write_text(_film(template), encoding="utf-8")
    outputs = []
    for seed in ("1", "2", "3"):
        run = subprocess.run([sys.executable, "-m", "filmlang.cli", "ir", "film.film"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert "0x" not in outputs[0]


def test_a_non_data_value_in_a_prompt_is_an_error_not_an_address(tmp_path: Path) -> None:
    for template in ("{{ ''.join }}", "{{ film.__class__ }}", "{{ lipsum }}", "{{ range }}"):
        result = check_source(tmp_path, _film(template))
        assert not result.ok
        assert result.errors[0].code in ("E0502", "E0503", "E0506"), result.report()
        assert "0x" not in result.report()
