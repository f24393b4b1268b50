"""`exec/heap.py`: with the mmap threshold fixed, freed buffers of the mix's size go back to
the system, even after a bigger one was freed and with small objects allocated after each
(what a long build does); by default glibc keeps them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

SCENARIO = """
import sys
import numpy as np
from filmlang.exec.heap import bound_heap

fixed = bound_heap() if sys.argv[1] == "bound" else False

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) // 1024

base = rss()
first = np.ones(24 << 17)          # a 30-s piece of the mix: 24 MB, mapped, then freed
del first
kept, pieces = [], []
for _ in range(40):
    pieces.append(np.ones(12 << 17))   # 12 MB each, two at a time
    kept.append(bytearray(200))        # a small object that lives on, after each
    if len(pieces) > 2:
        pieces.pop(0)
pieces.clear()
print(int(fixed), rss() - base)
"""

linux_glibc = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="glibc's malloc is Linux's")


def retained(mode: str, **env: str) -> tuple[bool, int]:
    done = subprocess.run([sys.executable, "-c", SCENARIO, mode], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120,
                          env={**{k: v for k, v in os.environ.items()
                                  if k != "MALLOC_MMAP_THRESHOLD_"}, **env})
    fixed, megabytes = done.stdout.split()
    return fixed == "1", int(megabytes)


@linux_glibc
def test_freed_buffers_of_the_mix_go_back_to_the_system() -> None:
    fixed, bound = retained("bound")
    _, plain = retained("plain")
    assert fixed
    assert bound < 8, bound
    assert plain > bound + 20, (plain, bound)    # what the default keeps, for contrast


@linux_glibc
def test_a_threshold_the_user_set_is_left_alone() -> None:
    fixed, _ = retained("bound", MALLOC_MMAP_THRESHOLD_=str(1 << 20))
    assert not fixed
