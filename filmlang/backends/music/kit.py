"""The parts' and drums' places in the mix, and the drum hits: what the built-in band
(`band`) and the SoundFont band (`soundfont`, for drums its font lacks) share."""

from __future__ import annotations

import numpy as np

from filmlang.backends.music import dsp
from filmlang.backends.music.dsp import SR, TWO_PI, Signal

# Mix gain and pan of each part.
PARTS: dict[str, tuple[float, float]] = {
    "lead": (0.5, -0.1), "pad": (0.16, 0.0), "bass": (0.45, 0.0), "arp": (0.22, 0.35),
}
DRUMS: dict[str, tuple[float, float]] = {
    "kick": (0.8, 0.0), "snare": (0.45, -0.1), "hat": (0.22, 0.3), "shaker": (0.2, -0.3),
    "rim": (0.25, 0.15), "taiko": (0.8, -0.05),
}
DRUM_VARIANTS = 3


def drum(name: str, rng: np.random.Generator) -> Signal:
    """One hit of a drum, normalised to a peak of 1."""
    lengths = {"kick": 0.6, "snare": 0.3, "hat": 0.12, "shaker": 0.15, "rim": 0.08,
               "taiko": 1.2}
    n = int(lengths[name] * SR)
    t = dsp.times(n)
    if name == "kick":
        phase = TWO_PI * (48.0 * t + 75.0 * 0.035 * (1.0 - np.exp(-t / 0.035)))
        click = dsp.noise(rng, n, lambda f: dsp.band(f, 1000.0, 6000.0)) * np.exp(-t / 0.004)
        sig = np.sin(phase) * dsp.decay(n, 0.15, 0.002) + 0.25 * click
    elif name == "snare":
        rattle = dsp.noise(rng, n, lambda f: dsp.band(f, 1200.0, 9000.0))
        sig = 0.8 * rattle * dsp.decay(n, 0.07) + 0.6 * np.sin(TWO_PI * 190.0 * t) * dsp.decay(
            n, 0.045)
    elif name == "hat":
        sig = dsp.noise(rng, n, lambda f: dsp.band(f, 7000.0, 16000.0)) * dsp.decay(n, 0.022)
    elif name == "shaker":
        grains = dsp.noise(rng, n, lambda f: dsp.band(f, 4500.0, 12000.0))
        sig = grains * np.minimum(1.0, t / 0.012) * np.exp(-t / 0.045)
    elif name == "rim":
        tick = dsp.noise(rng, n, lambda f: dsp.band(f, 2000.0, 7000.0)) * dsp.decay(n, 0.006)
        sig = 0.5 * np.sin(TWO_PI * 1700.0 * t) * dsp.decay(n, 0.012) + tick
    else:  # taiko: a big low drum
        phase = TWO_PI * (55.0 * t + 25.0 * 0.08 * (1.0 - np.exp(-t / 0.08)))
        thump = dsp.noise(rng, n, lambda f: dsp.lowpass(f, 600.0)) * dsp.decay(n, 0.05)
        sig = np.sin(phase) * dsp.decay(n, 0.35, 0.003) + 0.5 * thump
    tail = int(0.02 * SR)  # end at silence, however long the ring
    sig[n - tail:] *= np.linspace(1.0, 0.0, tail)
    peak = float(np.max(np.abs(sig)))
    result: Signal = sig / peak if peak > 0 else sig
    return result
