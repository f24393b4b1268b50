"""Ambience beds: rain, wind, sea, city, forest, room, night and storm.

Takes a name, a length and a seed; gives (n, 2) float32 samples at SAMPLE_RATE. Each bed is
filtered noise plus a few scattered events (drops, birds, horns, crickets, rumbles). Every
part is periodic in n (noise folded at the seam, control curves and events wrapped round
the end), so the bed loops without a click; it is then set to its RMS level. Layers with
no highs are built at a fraction of the sample rate and interpolated up once; beds longer
than `LOOP` repeat a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt

from filmlang.backends.music import dsp
from filmlang.backends.music.dsp import SR, TWO_PI, Signal

Samples = npt.NDArray[np.float32]

LEVEL_DBFS = -18.0
QUIET_DBFS = {"room": -26.0}
"""Beds quieter than the rest by nature: room tone is barely there."""
LOOP = 90.0
"""The longest stretch of a bed that does not repeat."""


class Loop:
    """A bed of n samples being built, with its layers at SR / divide."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n
        self.seconds = n / SR

    def size(self, divide: int) -> int:
        return self.n if divide == 1 else max(16, -(-self.n // divide))

    def times(self, divide: int) -> Signal:
        k = self.size(divide)
        result: Signal = np.arange(k, dtype=np.float64) * (self.seconds / k)
        return result

    def noise(self, response: dsp.Response, corr: float = 0.5, divide: int = 1) -> Signal:
        """Stereo noise with channels correlated by `corr`."""
        k = self.size(divide)
        rate = k / self.seconds
        left = dsp.noise(self.rng, k, response, rate=rate)
        out = np.empty((2, k))
        out[0] = left
        out[1] = dsp.noise(self.rng, k, response, rate=rate)
        out[1] *= np.sqrt(1.0 - corr * corr)
        out[1] += corr * left
        return out

    def gusts(self, rate: float, depth: float, divide: int = 1) -> Signal:
        """A slowly moving gain of mean 1."""
        gain = np.exp(depth * dsp.control(self.rng, self.size(divide), rate, self.seconds))
        result: Signal = gain / float(np.mean(gain))
        return result

    def up(self, x: Signal) -> Signal:
        """A (2, k) layer at full rate."""
        if x.shape[1] == self.n:
            return x
        out = np.empty((2, self.n))
        for channel in range(2):
            out[channel] = dsp.periodic_upsample(x[channel], self.n)
        return out

    def events(self, per_second: float, at_least: int = 0) -> dsp.Indices:
        count = max(at_least, int(self.rng.poisson(per_second * self.seconds)))
        return np.sort(self.rng.integers(0, self.n, count)).astype(np.int64)

    def scatter(self, starts: dsp.Indices, grains: Signal, pans: Signal) -> Signal:
        """Overlap-add mono grains at `starts`, panned, wrapping round the end."""
        n, k = self.n, grains.shape[1]
        angle = (np.clip(pans, -1.0, 1.0) + 1.0) * np.pi / 4.0
        index = (starts[:, None] + np.arange(k)[None, :]).ravel()
        out = np.empty((2, n))
        for channel, gains in enumerate((np.cos(angle), np.sin(angle))):
            summed = np.bincount(index, weights=(grains * gains[:, None]).ravel(),
                                 minlength=n + k)
            out[channel] = summed[:n]
            tail = summed[n:]
            while len(tail):  # wrap what ran past the end (more than once if n < k)
                out[channel, :min(n, len(tail))] += tail[:n]
                tail = tail[n:]
        return out

    def place(self, out: Signal, start: int, mono: Signal, pan: float, gain: float) -> None:
        """Mix a mono event into out, wrapping what runs past the end to the start."""
        mono = mono[:self.n]
        dsp.add_at(out, start, mono, pan, gain)
        spill = start + len(mono) - self.n
        if spill > 0:
            dsp.add_at(out, 0, mono[len(mono) - spill:], pan, gain)


def _at(x: Signal, level: float) -> Signal:
    """x scaled to an RMS of `level`."""
    result: Signal = x * (level / max(dsp.rms(x), 1e-12))
    return result


def _droplets(loop: Loop, per_second: float, low: float, high: float,
              tau: tuple[float, float], length: float) -> Signal:
    """Short decaying chirps, drawn from a bank of 48, at random times."""
    rng = loop.rng
    t = np.arange(int(length * SR)) / SR
    freq = np.exp(np.linspace(np.log(low), np.log(high), 48))[:, None]
    decay = rng.uniform(*tau, 48)[:, None]
    bank = np.sin(TWO_PI * freq * t * (1.0 + 6.0 * t)) * np.exp(-t / decay)
    bank *= np.minimum(1.0, (len(t) - np.arange(len(t))) / 32.0)  # no cut at the end
    starts = loop.events(per_second)
    grains = bank[rng.integers(0, 48, len(starts))]
    grains *= rng.lognormal(0.0, 0.5, len(starts))[:, None]
    return loop.scatter(starts, grains, rng.uniform(-0.9, 0.9, len(starts)))


def rain(loop: Loop, heavy: bool = False) -> Signal:
    hiss = loop.noise(lambda f: dsp.band(f, 500.0, 9000.0, 1) * dsp.tilt(f, -1.0, 3000.0))
    hiss *= loop.gusts(0.08, 0.25 if heavy else 0.15)
    out = _at(hiss, 1.0)
    out += _at(_droplets(loop, 140.0 if heavy else 70.0, 1500.0, 7000.0, (0.0012, 0.0025),
                         0.008), 0.5)
    out += _at(_droplets(loop, 6.0, 600.0, 1500.0, (0.006, 0.012), 0.05), 0.25)
    out += _at(loop.up(loop.noise(lambda f: dsp.band(f, 40.0, 250.0), 0.7, divide=16)),
               0.35 if heavy else 0.2)
    return out


def _wind_layer(loop: Loop, strength: float, divide: int = 4) -> Signal:
    """Gusting wind at SR / divide: three resonant bands and a low buffeting."""
    whole = loop.gusts(0.05, 0.3 * strength, divide)
    out = np.zeros((2, loop.size(divide)))
    for centre, q, level in ((230.0, 1.5, 1.0), (520.0, 2.5, 0.75), (1100.0, 3.0, 0.4)):
        voice = loop.noise(partial(dsp.resonance, centre=centre, q=q), 0.3, divide)
        voice *= loop.gusts(0.12, 0.6, divide) * level
        out += voice
    out += loop.noise(lambda f: dsp.band(f, 20.0, 120.0), 0.6, divide) * 0.6 * whole
    out *= whole
    return out


def wind(loop: Loop) -> Signal:
    return loop.up(_wind_layer(loop, 1.0))


def sea(loop: Loop) -> Signal:
    waves = max(1, round(loop.seconds / loop.rng.uniform(8.0, 12.0)))
    strength = loop.rng.uniform(0.55, 1.0, waves)

    def envelope(divide: int, lag: float, sharp: int, tail: float) -> Signal:
        """The waves' rise and fall, worked out at 100 Hz and brought to SR / divide."""
        points = max(16, int(loop.seconds * 100.0))
        cycle = (np.arange(points, dtype=np.float64) * (waves / points) - lag) % waves
        which = np.minimum(cycle.astype(np.int64), waves - 1)
        u = cycle - which
        rise = u / 0.6
        shape = np.where(u < 0.6, dsp.power(rise, sharp), np.exp(-(u - 0.6) / tail))
        return dsp.periodic_upsample(strength[which] * shape, loop.size(divide))

    low = loop.noise(lambda f: dsp.band(f, 60.0, 700.0), 0.4, divide=8)
    deep = loop.noise(lambda f: dsp.band(f, 20.0, 90.0), 0.7, divide=8)
    wash = loop.noise(lambda f: dsp.highpass(f, 800.0, 1) * dsp.lowpass(f, 6000.0), 0.4,
                      divide=2)
    for channel, lag in ((0, 0.0), (1, 0.03)):
        swell = 0.25 + envelope(8, lag, 2, 0.12)
        low[channel] *= swell
        low[channel] += deep[channel] * (0.5 * swell)
        wash[channel] *= 0.06 + 0.7 * envelope(2, lag + 0.05, 4, 0.18)
    return loop.up(low) + loop.up(wash)


def _horn(rng: np.random.Generator) -> Signal:
    """A distant two-tone car horn with an echo off the buildings."""
    seconds = rng.uniform(0.25, 0.7)
    n = int((seconds + 0.5) * SR)
    t = dsp.times(n)
    low = rng.uniform(380.0, 480.0)
    tone = np.zeros(n)
    for freq in (low, low * 1.26):
        amps = tuple(1.0 / k / float(np.sqrt(1.0 + (freq * k / 1200.0) ** 4))
                     for k in (1, 3, 5, 7))
        tone += dsp.partials(freq, t, amps, ratios=(1.0, 3.0, 5.0, 7.0))
    tone *= dsp.adsr(n, seconds, 0.02, 0.05, 0.9, 0.06)
    echo = int(0.13 * SR)
    tone[echo:] += 0.3 * tone[:-echo]
    return tone


def city(loop: Loop) -> Signal:
    rng = loop.rng
    divide = 4
    out = loop.noise(lambda f: dsp.band(f, 25.0, 180.0), 0.7, divide)
    out *= loop.gusts(0.03, 0.15, divide)
    times, seconds = loop.times(divide), loop.seconds
    cars = max(1, int(rng.poisson(seconds / 4.0)))
    centre = rng.uniform(0.0, seconds, cars)
    width = rng.uniform(3.0, 8.0, cars) / 4.0
    loud = rng.uniform(0.4, 1.0, cars)
    way = rng.choice([-1.0, 1.0], cars)
    traffic = loop.noise(lambda f: dsp.band(f, 120.0, 1500.0) * dsp.tilt(f, -2.0), 0.2, divide)
    traffic += loop.noise(lambda f: dsp.band(f, 1000.0, 4000.0), 0.2, divide) * 0.2
    env = np.full((2, len(times)), 0.2)
    for car in range(cars):
        lag = (times - centre[car] + seconds / 2) % seconds - seconds / 2
        near = np.abs(lag) < 4.0 * width[car]
        bump = loud[car] * np.exp(-((lag[near] / width[car]) ** 2))
        pan = way[car] * np.tanh(lag[near] / (width[car] * 1.3))
        env[0, near] += bump * np.sqrt((1.0 - pan) / 2.0)
        env[1, near] += bump * np.sqrt((1.0 + pan) / 2.0)
    traffic *= env
    out += traffic * 1.2
    out = loop.up(out)
    for start in loop.events(1.0 / 12.0):
        loop.place(out, int(start), _horn(rng), float(rng.uniform(-0.7, 0.7)),
                   float(rng.uniform(0.2, 0.4)))
    return out


def _birds(loop: Loop) -> Signal:
    """Songs of three species: runs of swept, sometimes trilled, chirps."""
    rng, n = loop.rng, loop.n
    species = [(rng.uniform(2500.0, 5500.0), rng.uniform(0.04, 0.14), rng.uniform(-0.4, 0.6),
                int(rng.integers(3, 9)), rng.uniform(0.07, 0.16), rng.uniform(0.0, 40.0))
               for _ in range(3)]
    starts: list[int] = []
    rows: list[tuple[float, ...]] = []
    for song in range(max(1 if loop.seconds >= 1.0 else 0, int(rng.poisson(loop.seconds / 2.5)))):
        base, length, sweep, notes, gap, trill = species[song % len(species)]
        at = int(rng.integers(0, n))
        pan, loud = rng.uniform(-0.9, 0.9), rng.uniform(0.4, 1.0)
        for note in range(notes):
            starts.append(at + int(note * gap * SR))
            rows.append((base * rng.uniform(0.95, 1.05), length, sweep, trill, pan, loud))
    if not rows:
        return np.zeros((2, n))
    table = np.array(rows)
    t = np.arange(int(0.14 * SR) + 1) / SR
    pitch, span, glide, trills = (table[:, i:i + 1] for i in range(4))
    u = np.minimum(t[None, :] / span, 1.0)
    rate = np.maximum(trills, 1.0)
    phase = TWO_PI * pitch * (t + glide * t * t / (2 * span)) + np.where(
        trills > 1.0, pitch * 0.04 / rate * (1.0 - np.cos(TWO_PI * rate * t)), 0.0)
    grains = (np.sin(phase) + 0.15 * np.sin(2 * phase)) * np.sin(np.pi * u) ** 2
    grains *= table[:, 5:6]
    return loop.scatter(np.array(starts, dtype=np.int64) % n, grains, table[:, 4])


def forest(loop: Loop) -> Signal:
    out = _at(loop.up(_wind_layer(loop, 0.6)), 0.45)
    leaves = loop.noise(lambda f: dsp.band(f, 2500.0, 7000.0), 0.3, divide=2)
    leaves *= loop.gusts(0.4, 0.8, divide=2)
    out += _at(loop.up(leaves), 0.1)
    out += _at(_birds(loop), 0.35)
    return out


def room(loop: Loop) -> Signal:
    divide = 4
    out = loop.noise(lambda f: dsp.band(f, 30.0, 900.0) * dsp.tilt(f, -4.0, 150.0), 0.8, divide)
    out += loop.noise(lambda f: dsp.resonance(f, 120.0, 2.0), 0.6, divide) * 0.3
    hum = max(1, round(60.0 * loop.seconds)) / loop.seconds
    buzz = dsp.partials(hum, loop.times(divide), (1.0, 0.5, 0.3, 0.1))
    out += buzz * (0.5 / max(dsp.rms(buzz), 1e-9))
    return loop.up(out)


def night(loop: Loop) -> Signal:
    rng, seconds, divide = loop.rng, loop.seconds, 8
    out = _at(loop.up(loop.noise(lambda f: dsp.band(f, 30.0, 300.0), 0.6, divide=16)), 0.05)
    out += _at(loop.noise(lambda f: dsp.band(f, 3500.0, 6000.0), 0.2), 0.06)
    slow = loop.times(divide)
    t = dsp.times(loop.n)
    for _ in range(3):
        # A cricket: a steady tone gated into chirps of a few pulses each.
        carrier = max(1, round(rng.uniform(4200.0, 5600.0) * seconds)) / seconds
        chirps = max(1, round(rng.uniform(1.5, 3.2) * seconds)) / seconds
        pulses = int(rng.integers(3, 6))
        within = (slow * chirps) % 1.0 * (rng.uniform(28.0, 45.0) / chirps)
        gate = np.sin(np.pi * np.minimum((within % 1.0) / 0.7, 1.0))
        gate *= gate * (within < pulses)
        gate *= loop.gusts(0.05, 0.3, divide)
        song = np.sin(t * (TWO_PI * carrier))
        song *= dsp.periodic_upsample(gate, loop.n)
        dsp.add_at(out, 0, song, float(rng.uniform(-0.8, 0.8)), float(rng.uniform(0.15, 0.4)))
    return out


def storm(loop: Loop) -> Signal:
    rng, divide = loop.rng, 4
    out = _at(rain(loop, heavy=True), 1.0)
    slow = _at(_wind_layer(loop, 1.4, divide), 0.9)
    rumble = loop.noise(lambda f: dsp.band(f, 25.0, 220.0), 0.6, divide)
    rumble += loop.noise(lambda f: dsp.band(f, 200.0, 800.0), 0.6, divide) * 0.3
    times, seconds = loop.times(divide), loop.seconds
    env = np.zeros(len(times))
    for start in rng.uniform(0.0, seconds, max(1 if seconds > 6 else 0,
                                                int(rng.poisson(seconds / 15.0)))):
        lag = (times - start) % seconds
        attack, tau = rng.uniform(0.4, 1.2), rng.uniform(2.0, 4.0)
        env += rng.uniform(0.6, 1.0) * (1.0 - np.exp(-lag / attack)) * np.exp(-lag / tau)
    env *= np.maximum(0.0, 1.0 + 0.5 * dsp.control(rng, len(times), 1.5, seconds))
    slow += _at(rumble, 2.5) * env
    out += loop.up(slow)
    return out


DESIGNS: dict[str, Callable[[Loop], Signal]] = {
    "rain": rain, "wind": wind, "sea": sea, "city": city, "forest": forest, "room": room,
    "night": night, "storm": storm,
}


def render(name: str, seconds: float, seed: int) -> Samples:
    """The bed as (n, 2) float32 samples, n = round(seconds * SR).

    Up to LOOP seconds it is one loop of exactly n samples; a longer bed repeats a loop
    of at most LOOP seconds (seamless at each repeat), which keeps memory bounded.
    """
    n = round(seconds * SR)
    out = np.zeros((max(n, 0), 2), dtype=np.float32)
    if n <= 0:
        return out
    repeats = -(-n // round(LOOP * SR))
    period = -(-n // repeats)
    bed = DESIGNS[name](Loop(dsp.generator(seed, "ambience", name), period))
    dsp.remove_dc(bed)
    level = dsp.rms(bed)
    if level > 0:
        bed *= 10 ** (QUIET_DBFS.get(name, LEVEL_DBFS) / 20) / level
    bed = dsp.soft_limit(bed, 10 ** (-6 / 20), 10 ** (-3 / 20))
    for start in range(0, n, period):
        stop = min(n, start + period)
        out[start:stop] = bed[:, :stop - start].T
    return out
