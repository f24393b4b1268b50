"""The Python examples of docs/api.md run as written, in a copy of the examples folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_api_examples_run(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("build", ".filmcache"))
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        code = block.replace('open("movie.film")', 'open("examples/lighthouse.film")')
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, block + result.stderr
        assert result.stdout.strip()
    assert (tmp_path / "examples" / "build" / "lighthouse.mp4").is_file()
