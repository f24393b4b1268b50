"""What every backend shares: how it says whether it can run, and why not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here; when not, why, and what to install."""

    ok: bool
    reason: str = ""
    install: str = ""

    @classmethod
    def yes(cls) -> Availability:
        return cls(ok=True)

    @classmethod
    def no(cls, reason: str, install: str = "") -> Availability:
        return cls(ok=False, reason=reason, install=install)

    def __bool__(self) -> bool:
        return self.ok
