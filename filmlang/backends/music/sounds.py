"""Sound effects: thunder, door, footsteps, knock, bell, glass and splash.

Takes a name and a seed; gives (n, 2) float32 samples at SAMPLE_RATE, n fixed per effect
(`LENGTHS`). Each effect is a small physical caricature (struck modes, filtered noise
bursts, stick-slip pulses) whose details the seed varies; the result is cleared of DC and
its peak set to -3 dBFS.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from filmlang.backends.music import dsp
from filmlang.backends.music.catalogue import SOUND_SECONDS
from filmlang.backends.music.dsp import SR, TWO_PI, Signal

Samples = npt.NDArray[np.float32]

PEAK = 10 ** (-3 / 20)
LENGTHS = SOUND_SECONDS


def _burst(rng: np.random.Generator, seconds: float, response: dsp.Response, tau: float,
           attack: float = 0.001) -> Signal:
    """A burst of filtered noise with an exponential decay."""
    n = int(seconds * SR)
    result: Signal = dsp.noise(rng, n, response) * dsp.decay(n, tau, attack)
    _tail(result)
    return result


def _tail(x: Signal, seconds: float = 0.01) -> None:
    """Fade the last few milliseconds of a one-shot buffer, so cutting it never clicks."""
    k = min(len(x), int(seconds * SR))
    x[len(x) - k:] *= np.linspace(1.0, 0.0, k)


def _modes(seconds: float, freqs: list[float], amps: list[float],
           taus: list[float]) -> Signal:
    """Struck resonant modes: decaying sines."""
    n = int(seconds * SR)
    t = dsp.times(n)
    out = np.zeros(n)
    for freq, amp, tau in zip(freqs, amps, taus, strict=True):
        span = min(n, int(7.0 * tau * SR) + 1)
        out[:span] += amp * np.sin(TWO_PI * freq * t[:span]) * np.exp(-t[:span] / tau)
    _tail(out, 0.05)
    return out


def _reflect(x: Signal, taps: tuple[tuple[float, float], ...]) -> Signal:
    """Add a few early reflections (delay in seconds, gain) along the last axis."""
    out = x.copy()
    for delay, gain in taps:
        k = int(delay * SR)
        if k < x.shape[-1]:
            out[..., k:] += gain * x[..., :x.shape[-1] - k]
    return out


def thunder(rng: np.random.Generator, n: int) -> Signal:
    out = np.zeros((2, n))
    t = dsp.times(n)
    for _ in range(int(rng.integers(3, 7))):  # the crack: a few sharp tearing bursts
        crack = _burst(rng, 0.6, lambda f: dsp.band(f, 400.0, 9000.0, 1),
                       float(rng.uniform(0.02, 0.08)))
        dsp.add_at(out, int(rng.uniform(0.0, 0.25) * SR), crack,
                   float(rng.uniform(-0.6, 0.6)), float(rng.uniform(0.6, 1.0)))
    onset = rng.uniform(0.1, 0.3)
    env = (1.0 - np.exp(-t / onset)) * np.exp(-t / rng.uniform(1.5, 2.2))
    env *= np.exp(0.5 * dsp.control(rng, n, 2.5))  # rolls, never quite silent
    env *= np.minimum(1.0, (LENGTHS["thunder"] - t) / 0.8)
    for channel in range(2):
        rumble = dsp.noise(rng, n, lambda f: dsp.band(f, 25.0, 250.0))
        rumble += 0.4 * dsp.noise(rng, n, lambda f: dsp.band(f, 150.0, 700.0))
        out[channel] += 0.6 * rumble * env
    return out


def door(rng: np.random.Generator, n: int) -> Signal:
    """A hinge's creak (stick-slip pulses through the door's resonances), then the thud."""
    creak_len = rng.uniform(0.6, 0.85)
    m = int(creak_len * SR)
    pitch = 170.0 * np.exp(0.35 * dsp.control(rng, m, 3.0))
    pulses = np.maximum(0.0, np.sin(TWO_PI * np.cumsum(pitch) / SR)) ** 12
    pulses *= np.maximum(0.0, 1.0 + 0.5 * dsp.control(rng, m, 8.0))
    body = rng.uniform(0.9, 1.1)
    creak = dsp.filtered(pulses, lambda f: (dsp.resonance(f, 700.0 * body, 8.0)
                                            + 0.7 * dsp.resonance(f, 1400.0 * body, 8.0)
                                            + 0.4 * dsp.resonance(f, 2600.0 * body, 6.0)))
    creak *= dsp.adsr(m, creak_len - 0.1, 0.1, 0.1, 1.0, 0.1)
    out = np.zeros((2, n))
    dsp.add_at(out, int(0.05 * SR), creak, 0.2, 0.5 / max(float(np.max(np.abs(creak))), 1e-9))
    hit = int((0.1 + creak_len) * SR)
    thud = _modes(0.6, [75.0 * body, 118.0 * body, 240.0 * body], [1.0, 0.5, 0.2],
                  [0.12, 0.08, 0.04])
    thud[:int(0.3 * SR)] += 0.6 * _burst(rng, 0.3, lambda f: dsp.lowpass(f, 900.0), 0.025)
    dsp.add_at(out, hit, thud, -0.1, 1.0)
    for at in (-0.01, 0.04):  # the latch
        click = _burst(rng, 0.03, lambda f: dsp.band(f, 2000.0, 6000.0), 0.003)
        dsp.add_at(out, hit + int(at * SR), click, 0.3, 0.3)
    return _reflect(out, ((0.011, 0.3), (0.023, 0.2)))


def footsteps(rng: np.random.Generator, n: int) -> Signal:
    out = np.zeros((2, n))
    at = 0.1
    for step in range(4):
        loud = rng.uniform(0.8, 1.0)
        pan = 0.15 if step % 2 else -0.15
        heel = _burst(rng, 0.25, lambda f: dsp.lowpass(f, 700.0), 0.02)
        heel += 0.8 * _modes(0.25, [float(rng.uniform(85.0, 105.0))], [1.0], [0.035])
        dsp.add_at(out, int(at * SR), heel, pan, loud)
        toe = _burst(rng, 0.2, lambda f: dsp.band(f, 800.0, 4000.0), 0.025, attack=0.003)
        dsp.add_at(out, int((at + rng.uniform(0.06, 0.1)) * SR), toe, pan, 0.5 * loud)
        at += rng.uniform(0.48, 0.58)
    return _reflect(out, ((0.009, 0.25), (0.017, 0.15)))


def knock(rng: np.random.Generator, n: int) -> Signal:
    """Three knuckle raps on a wooden door."""
    out = np.zeros((2, n))
    at = 0.05
    for _ in range(3):
        tune = rng.uniform(0.97, 1.03, 4)
        rap = _modes(0.3, list(np.array([190.0, 410.0, 780.0, 1230.0]) * tune),
                     [1.0, 0.6, 0.4, 0.25], [0.05, 0.03, 0.018, 0.01])
        rap[:int(0.02 * SR)] += 0.5 * _burst(rng, 0.02, lambda f: dsp.band(f, 1000.0, 8000.0),
                                             0.0015)
        dsp.add_at(out, int(at * SR), rap, 0.0, float(rng.uniform(0.85, 1.0)))
        at += rng.uniform(0.18, 0.22)
    return _reflect(out, ((0.008, 0.25), (0.019, 0.12)))


def bell(rng: np.random.Generator, n: int) -> Signal:
    """A struck bell: the partials of a church bell (hum, prime, minor third, fifth,
    nominal and above), higher ones dying sooner, beating slowly between the ears."""
    prime = rng.uniform(280.0, 520.0)
    ratios = [0.5, 1.0, 1.19, 1.5, 2.0, 2.52, 2.66, 3.01, 4.1]
    amps = [0.5, 1.0, 0.6, 0.35, 0.7, 0.3, 0.25, 0.2, 0.12]
    taus = [1.8, 1.4, 1.1, 0.9, 0.8, 0.5, 0.4, 0.3, 0.2]
    out = np.zeros((2, n))
    for channel, side in enumerate((-1.0, 1.0)):
        freqs = [prime * r * (1.0 + side * 0.0008 * (i % 3)) for i, r in enumerate(ratios)]
        out[channel] = _modes(n / SR, freqs, amps, taus)[:n]
        strike = _burst(rng, 0.05, lambda f: dsp.band(f, 1500.0, 7000.0), 0.004)
        out[channel, :len(strike)] += 0.3 * strike
    dsp.apply_fades(out, 0.0, 1.0)
    return out


def glass(rng: np.random.Generator, n: int) -> Signal:
    """Two glasses touching: a clink and a softer rebound."""
    out = np.zeros((2, n))
    f0 = rng.uniform(2000.0, 3200.0)
    for at, loud in ((0.02, 1.0), (0.02 + rng.uniform(0.06, 0.12), 0.5)):
        ring = rng.uniform(0.6, 1.0)
        for channel, side in enumerate((-1.0, 1.0)):
            freqs = [f0 * r * (1.0 + side * 0.001) for r in (1.0, 2.7, 5.1, 8.2)]
            clink = _modes(1.3, freqs, [1.0, 0.5, 0.3, 0.15],
                           [0.3 * ring, 0.15 * ring, 0.08 * ring, 0.04 * ring])
            clink[:int(0.01 * SR)] += 0.4 * _burst(
                rng, 0.01, lambda f: dsp.band(f, 4000.0, 12000.0), 0.001)
            start = int(at * SR)
            out[channel, start:start + len(clink)] += loud * clink[:n - start]
    return out


def splash(rng: np.random.Generator, n: int) -> Signal:
    """Something heavy into water: impact, a sheet of spray, a plunge, then bubbles."""
    out = np.zeros((2, n))
    t = dsp.times(n)
    for channel in range(2):
        impact = _burst(rng, 0.6, lambda f: dsp.band(f, 150.0, 8000.0), 0.12, attack=0.004)
        spray = dsp.noise(rng, n, lambda f: dsp.band(f, 600.0, 5000.0)) * np.exp(-t / 0.35)
        spray *= np.maximum(0.0, 1.0 + 0.6 * dsp.control(rng, n, 15.0))
        out[channel] += 0.6 * spray
        out[channel, :len(impact)] += impact
    plunge = np.sin(TWO_PI * (60.0 * t + 60.0 * 0.05 * (1.0 - np.exp(-t / 0.05))))
    dsp.add_at(out, 0, plunge * dsp.decay(n, 0.08, 0.005), 0.0, 0.6)
    count = int(rng.integers(25, 41))
    for at in np.sort(0.1 + rng.exponential(0.35, count)):
        if at > LENGTHS["splash"] - 0.1:
            continue
        f0 = rng.uniform(500.0, 1800.0)
        k = int(0.1 * SR)
        tk = dsp.times(k)
        bubble = np.sin(TWO_PI * f0 * (tk + 0.5 * tk * tk / 0.03)) * dsp.decay(
            k, float(rng.uniform(0.015, 0.03)))
        dsp.add_at(out, int(at * SR), bubble, float(rng.uniform(-0.7, 0.7)),
                   0.25 * float(np.exp(-at / 0.8)))
    return out


DESIGNS: dict[str, Callable[[np.random.Generator, int], Signal]] = {
    "thunder": thunder, "door": door, "footsteps": footsteps, "knock": knock, "bell": bell,
    "glass": glass, "splash": splash,
}


def render(name: str, seed: int) -> Samples:
    """The effect as (n, 2) float32 samples, n = round(LENGTHS[name] * SR)."""
    n = round(LENGTHS[name] * SR)
    out = DESIGNS[name](dsp.generator(seed, "sound", name), n)
    out = dsp.filtered(out, lambda f: dsp.highpass(f, 25.0, 2))
    dsp.remove_dc(out)
    dsp.apply_fades(out, 0.001, 0.02)
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= PEAK / peak
    return np.ascontiguousarray(out.T, dtype=np.float32)
