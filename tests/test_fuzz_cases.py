"""The fuzz campaign (bench/fuzz.py, issue 12) in the test suite.

Every finding of a campaign is a one-file case in tests/fuzz_cases/, run here as the
campaign runs a case: parsed, checked, formatted twice and its templates rendered, with no
exception, a failed check always saying why, and `fmt` stable. And a short seeded run of the
campaign itself, in a worker process with the campaign's limits (5 s of CPU, 300 MB a case).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT

CASES = sorted((ROOT / "tests" / "fuzz_cases").glob("*.film"))
SHORT_RUN = 2000


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz"] = module
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fuzz_case(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    try:
        data: str | bytes = raw.decode("utf-8")
    except UnicodeDecodeError:
        data = raw
    result = fuzz.measured_case(fuzz.Case(0, path, data), tmp_path, whole_process=False)
    assert result["outcome"] == "ok", result["detail"]


def test_the_cases_are_there() -> None:
    assert len(CASES) >= 3


def test_a_short_seeded_campaign(tmp_path: Path) -> None:
    totals = fuzz.campaign(SHORT_RUN, seed=12, workers=1, folder=tmp_path)
    assert totals.cases == SHORT_RUN
    assert totals.outcomes == {"ok": SHORT_RUN}, totals.findings[:3]
    assert totals.max_cpu < fuzz.CPU_LIMIT
    assert totals.max_peak_kb < fuzz.MEMORY_LIMIT_MB * 1024


def test_the_campaign_catches_what_it_looks_for(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(case: object, folder: Path) -> str | None:
        raise KeyError("a traceback")

    monkeypatch.setattr(fuzz, "run_case", broken)
    result = fuzz.measured_case(fuzz.Case(0, ROOT / "x.film", ""), tmp_path)
    assert result["outcome"] == "crash" and "KeyError" in result["detail"]
