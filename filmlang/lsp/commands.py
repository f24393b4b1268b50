"""The commands the language server runs for an editor (`workspace/executeCommand`).

`filmlang.explainLastBuild`: why each job of the film's last build ran, from the build log
the cache keeps (`log.jsonl`, the scheduler's record of every job of the last few builds).
The editor's other commands (build, watch and preview, storyboard) run `filmc` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from filmlang.cache.store import default_cache_dir

EXPLAIN = "filmlang.explainLastBuild"
COMMANDS = (EXPLAIN,)


def explain_last_build(film: Path, cache: Path | None = None) -> str:
    """The last build of `film` as text: a count per status, then each job that ran (or
    failed) and why."""
    log = default_cache_dir(film, cache) / "log.jsonl"
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return f"{film.name} has not been built yet (no build log at {log})"
    entries: list[dict[str, Any]] = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    if not entries:
        return f"{film.name} has not been built yet (its build log is empty)"
    last = entries[-1].get("build", "")
    jobs = [e for e in entries if e.get("build", "") == last]
    counts: dict[str, int] = {}
    for entry in jobs:
        counts[str(entry.get("status"))] = counts.get(str(entry.get("status")), 0) + 1
    head = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out = [f"last build of {film.name} ({last}): {head}"]
    for entry in jobs:
        if entry.get("status") in ("ran", "failed"):
            out.append(f"  {entry.get('status'):<7} {entry.get('kind', ''):<10} "
                       f"{entry.get('label', '')}: {entry.get('reason', '')}")
    return "\n".join(out)
