"""Scene headings: a screenplay slugline in, interior/exterior, place and time of day out.

`"EXT. LIGHTHOUSE - NIGHT"` gives exterior, `LIGHTHOUSE`, night. Words such as SUNSET or
MORNING map onto the four times of day; CONTINUOUS, LATER and SAME keep the previous
scene's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PREFIX = re.compile(
    r"^\s*(?P<prefix>INT\.?\s*/\s*EXT\.?|EXT\.?\s*/\s*INT\.?|I\s*/\s*E\.?|INT\.?|EXT\.?)"
    r"(?=\s|$)\s*",
    re.IGNORECASE,
)
_DASH = re.compile(r"\s+[-–—]+\s+")

TIME_WORDS: dict[str, str] = {
    "DAY": "day", "MORNING": "day", "AFTERNOON": "day", "NOON": "day", "MIDDAY": "day",
    "DAYTIME": "day", "LATE MORNING": "day", "LATE AFTERNOON": "day",
    "NIGHT": "night", "MIDNIGHT": "night", "LATE NIGHT": "night", "NIGHTTIME": "night",
    "DAWN": "dawn", "SUNRISE": "dawn", "FIRST LIGHT": "dawn", "EARLY MORNING": "dawn",
    "DAYBREAK": "dawn",
    "DUSK": "dusk", "SUNSET": "dusk", "EVENING": "dusk", "TWILIGHT": "dusk",
    "MAGIC HOUR": "dusk", "GOLDEN HOUR": "dusk", "SUNDOWN": "dusk",
    "CONTINUOUS": "continuous", "LATER": "continuous", "SAME": "continuous",
    "SAME TIME": "continuous", "MOMENTS LATER": "continuous", "CONT'D": "continuous",
}


@dataclass(frozen=True)
class Heading:
    interior: bool | None = None
    location: str = ""
    time: str | None = None
    """dawn, day, dusk, night, 'continuous', or None when the heading names no time."""
    time_word: str = ""


_READ: dict[str, Heading] = {}
"""Short headings already read (the language server reads every scene's at each edit)."""


def parse_heading(text: str) -> Heading:
    """The slugline's parts; a short one's result is remembered (it is frozen)."""
    found = _READ.get(text)
    if found is None:
        found = _parse_heading(text)
        if len(text) <= 200:
            if len(_READ) >= 4096:
                _READ.clear()
            _READ[text] = found
    return found


def _parse_heading(text: str) -> Heading:
    text = " ".join(text.split())
    if not text:
        return Heading()
    interior: bool | None = None
    match = _PREFIX.match(text)
    rest = text
    if match:
        prefix = match["prefix"].upper().replace(" ", "")
        interior = None if "/" in prefix else prefix.startswith("INT")
        rest = text[match.end():]
    parts = _DASH.split(rest)
    time: str | None = None
    time_word = ""
    if len(parts) > 1:
        word = parts[-1].strip().upper().rstrip(".")
        if word in TIME_WORDS:
            time, time_word = TIME_WORDS[word], parts[-1].strip()
            parts = parts[:-1]
    location = " - ".join(p.strip() for p in parts).strip(" -")
    return Heading(interior=interior, location=location, time=time, time_word=time_word)
