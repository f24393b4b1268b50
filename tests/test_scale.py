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

MEMORY_RATIO = 1.4
EDIT_RATIO = 2.7
"""Guards against a regression, above what this branch measures (memory 1.25, and 1.11 to
1.37 over two later runs: the 1-minute film's peak is noisy; the edit 2.16 and 2.26 with
the AAC per piece, 2.39 before it, on a busy 2-core machine: 6.5 -> 14.1 CPU-s); issue
13's targets (1.2 and 1.5, for 60 min against 1 min) are not met yet: docs/performance.md
says by how much and why."""


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
