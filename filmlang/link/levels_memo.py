"""What the film's `levels` job remembers between builds (`link/master.py`).

Limited pieces' measurements, by the piece's key, the rate, the gain and the ceiling (after
an edit, the untouched pieces' are found here), the last decision per rate and target
(where the search looks first) and the pieces that last held the true peak over the limit
(measured first). None of it changes a decision: only how soon it is reached.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]


class Piece(Protocol):
    """A piece of the mix as the memo knows it: by its folder, named by its key."""

    @property
    def folder(self) -> Path: ...


class Levels(Protocol):
    """A decision as the memo keeps it."""

    @property
    def scale(self) -> float: ...

    @property
    def ceiling_db(self) -> float: ...


class Memo:
    """Limited pieces' measurements by the piece's key, the rate, the gain and the ceiling:
    kept for this job, and in `folder` between builds (after an edit, the untouched pieces'
    are found there), with the last decision (`hint`), which only says where to look
    first."""

    def __init__(self, folder: Path | None, rate: int) -> None:
        self.folder, self.rate = folder, rate
        self._found: dict[str, tuple[Floats, float]] = {}
        found = self._hints().get(f"{rate}:culprits")
        self.culprits: list[str] = [str(name) for name in found] if isinstance(found, list) \
            else []

    def blame(self, piece: Piece) -> None:
        """`piece` kept its true peak over the limit at some gain and ceiling: measured first
        from now on, so that a ceiling that fails fails at once."""
        name = piece.folder.name
        if name in self.culprits:
            self.culprits.remove(name)
        self.culprits.insert(0, name)
        del self.culprits[CULPRITS:]

    def first(self, pieces: Sequence[Piece], indices: frozenset[int]) -> list[int]:
        """`indices` in the order to measure them: the pieces blamed last first."""
        rank = {name: r for r, name in enumerate(self.culprits)}
        return sorted(indices, key=lambda i: (rank.get(pieces[i].folder.name, len(rank)), i))

    def _name(self, piece: Piece, scale: float, ceiling_db: float) -> str:
        gain_db = 20.0 * math.log10(scale)
        return (f"{piece.folder.name}-{self.rate}-{gain_db:.2f}-{ceiling_db:.2f}"
                f"-{MEMO_VERSION}.npy")

    def get(self, piece: Piece, scale: float, ceiling_db: float
            ) -> tuple[Floats, float] | None:
        import numpy as np

        name = self._name(piece, scale, ceiling_db)
        if name not in self._found and self.folder is not None:
            with contextlib.suppress(OSError, ValueError):
                found = np.load(self.folder / name)
                self._found[name] = (np.asarray(found[1:], dtype=np.float64), float(found[0]))
        return self._found.get(name)

    def put(self, piece: Piece, scale: float, ceiling_db: float, measured: Floats,
            peak: float) -> None:
        import numpy as np

        name = self._name(piece, scale, ceiling_db)
        self._found[name] = (measured, peak)
        if self.folder is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = self.folder / f".{name}.{os.getpid()}.tmp.npy"
            np.save(temp, np.concatenate([[peak], measured]))
            os.replace(temp, self.folder / name)

    def _hints(self) -> dict[str, list[Any]]:
        if self.folder is None:
            return {}
        with contextlib.suppress(OSError, ValueError):
            found = json.loads((self.folder / HINTS).read_text(encoding="utf-8"))
            if isinstance(found, dict):
                return found
        return {}

    def hint(self, target: float) -> tuple[float, float] | None:
        """The gain (dB) and ceiling the last build at this rate and target decided."""
        found = self._hints().get(f"{self.rate}:{target}")
        return (float(found[0]), float(found[1])) if isinstance(found, list) and found \
            else None

    def remember(self, target: float, chosen: Levels) -> None:
        if self.folder is None:
            return
        hints = self._hints()
        hints[f"{self.rate}:{target}"] = [20.0 * math.log10(chosen.scale), chosen.ceiling_db]
        hints[f"{self.rate}:culprits"] = self.culprits
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = self.folder / f".{HINTS}.{os.getpid()}.tmp"
            temp.write_text(json.dumps(hints), encoding="utf-8")
            os.replace(temp, self.folder / HINTS)


MEMO_VERSION = 2
"""In a measurement's name: what an earlier way of measuring kept is not read."""
HINTS = "decisions.json"
"""In the memo folder: the last decision per rate and target (a first guess only), and the
pieces that last held the true peak over the limit (an order to measure in, only)."""
CULPRITS = 16
"""How many of those are remembered."""


def forget_others(memo: Path | None, keys: set[str]) -> None:
    """The memo keeps only this film's pieces: it stays the size of one film's."""
    if memo is None or not memo.is_dir():
        return
    for entry in memo.iterdir():
        if entry.name != HINTS and entry.name.split("-", 1)[0] not in keys:
            with contextlib.suppress(OSError):
                entry.unlink()
