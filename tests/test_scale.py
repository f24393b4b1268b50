"""Issue 13 in CI: a 1- and a 5-minute film (`bench/scale.py`'s films, tiny frames), built
as whole `filmc` processes: peak memory and a one-line edit's CPU must not grow with the
film. The 20- and 60-minute figures are `bench/scale.py`'s, in docs/performance.md.

Find it with `pytest -m scale`; it takes about two minutes (1:45 to 2:20 here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT

MEMORY_RATIO = 1.3
EDIT_RATIO = 2.0
"""Guards against a regression, above what main measures (2026-12-05, after music by
window, levels by the smallest step and 30-second pieces: memory 1.12 and edit 1.34, 6.4 ->
8.6 CPU-s; before them 1.25 to 1.37 and 2.2 to 2.7). The 1-minute film's peak is noisy
(597 to 705 MB over runs). Issue 13's targets (1.2 and 1.5) are for 60 minutes against 1:
docs/performance.md gives those figures."""


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.scale
@pytest.mark.slow
def test_memory_and_an_edit_do_not_grow_with_the_film(tmp_path: Path) -> None:
    bench = _bench()
    small = bench.measure(1, "160x90", tmp_path, fps=8, baseline=False)
    big = bench.measure(5, "160x90", tmp_path, fps=8, baseline=False)
    assert big.seconds > 4 * small.seconds
    memory = big.cold.peak_mb / small.cold.peak_mb
    edit = big.edit.cpu / small.edit.cpu
    figures = (f"peak RSS {small.cold.peak_mb:.0f} -> {big.cold.peak_mb:.0f} MB ({memory:.2f}); "
               f"edit {small.edit.cpu:.2f} -> {big.edit.cpu:.2f} CPU-s ({edit:.2f})")
    print(figures)
    assert memory <= MEMORY_RATIO, figures
    assert edit <= EDIT_RATIO, figures
