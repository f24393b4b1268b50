"""torchaudio.transforms.Resample, in plain torch (linear interpolation): a stand-in."""

from __future__ import annotations

from typing import Any

import torch


class Resample(torch.nn.Module):
    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000, **_: Any) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.new_freq = new_freq

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.orig_freq == self.new_freq:
            return waveform
        size = round(waveform.shape[-1] * self.new_freq / self.orig_freq)
        flat = waveform.reshape(-1, 1, waveform.shape[-1])
        out = torch.nn.functional.interpolate(flat, size=size, mode="linear",
                                              align_corners=False)
        return out.reshape(*waveform.shape[:-1], size)
