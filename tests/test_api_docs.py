"""The Python examples of docs/api.md run as written (from the repository's root)."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_api_examples_run() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        code = block.replace('open("movie.film")', 'open("examples/lighthouse.film")')
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, block + result.stderr
        assert result.stdout.strip()
