"""How to build: the parts of the command line that change what is rendered.

Shared by the planner, the backends and the build; imports nothing of filmlang but the IR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from filmlang import ir

PREVIEW_HEIGHT = 360
"""A preview (`--preview`, watch mode) is drawn at most this many lines high."""
PREVIEW_FPS = 12.0
STILL_SCALE = 1.25
"""A shot's still is this many times the frame's size, so that camera moves never upscale it."""
SEGMENT_PIXELS = "yuv420p-bt709-tv-2"
"""How a segment's RGB frames become what x264 codes (`link/segments.py` `Yuv420`): in
every segment's key, so that a change to the conversion encodes the segments again."""


def still_size(width: int, height: int) -> tuple[int, int]:
    """The size to render a shot's still at for frames of (width, height): 1.25x, even."""

    def even(x: float) -> int:
        return max(2, 2 * math.floor(x / 2 + 0.5))

    return even(width * STILL_SCALE), even(height * STILL_SCALE)


PREVIEW_AUDIO_RATE = 24_000
"""A preview's mix and AAC sample rate (`link.audio_mix.PREVIEW_RATE`)."""


@dataclass(frozen=True)
class BuildConfig:
    """How to build: the parts of the command line that change what is rendered."""

    preview: bool = False
    voice: str = ""
    """A voice backend forced from the command line ('' = the film's, else the best)."""
    visual: str = ""
    music: str = ""
    crf: int = 20
    preset: str = "veryfast"
    model: str = ""
    """The diffusers model folder (--model, or the film's `model` resolved by the build)."""
    root: str = ""
    """The film's folder: relative paths in the film (reference images) start there."""
    extras: tuple[str, ...] = ()
    """What an export needs beyond the film (`filmc export`): 'shots' (each shot's whole
    frames, transitions left to the editor), 'stems' (dialogue, music, effects mixes)."""

    def choice(self, role: str, film: ir.Film) -> str:
        """The engine asked for a role ('visual', 'voice', 'music'): the command line's, else
        the film's `backend` line's; '' when neither names one (the best available)."""
        forced = {"visual": self.visual, "voice": self.voice, "music": self.music}.get(role, "")
        named = {"visual": film.backends.visual, "voice": film.backends.voice,
                 "music": film.backends.music}.get(role, "")
        return forced or named or ""


def frame_size(film: ir.Film, config: BuildConfig) -> tuple[int, int]:
    """The frame a build draws: the film's size, or a preview's smaller one."""
    if not config.preview or film.height <= PREVIEW_HEIGHT:
        return film.width, film.height
    width = round(film.width * PREVIEW_HEIGHT / film.height / 2) * 2
    return max(2, width), PREVIEW_HEIGHT


def preview_fps(film: ir.Film, config: BuildConfig) -> float:
    return min(film.fps, PREVIEW_FPS) if config.preview else film.fps
