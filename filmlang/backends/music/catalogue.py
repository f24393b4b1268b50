"""The built-in synthesizer's names: its ambiences and effects, and each effect's natural
length, known to the planner without numpy (`synth` and `sounds` share them)."""

from __future__ import annotations

AMBIENCES = ("rain", "wind", "sea", "city", "forest", "room", "night", "storm")
SOUNDS = ("thunder", "door", "footsteps", "knock", "bell", "glass", "splash")
SOUND_SECONDS: dict[str, float] = {
    "thunder": 7.0, "door": 1.6, "footsteps": 2.6, "knock": 1.0, "bell": 6.0, "glass": 1.5,
    "splash": 2.0,
}
"""Each effect's natural length (`sounds.LENGTHS`), known to the planner without numpy."""
