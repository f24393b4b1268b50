"""A stand-in for torchaudio in filmlang's tests: see tests/stand_ins/README.md."""

from __future__ import annotations

from typing import Any

from torchaudio import transforms

__version__ = "2.13.0+standin"
__all__ = ["load", "transforms"]


def load(path: Any) -> tuple[Any, int]:
    """A sound file as (channels, samples) float32 and its rate, as torchaudio.load."""
    import soundfile
    import torch

    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), int(rate)
