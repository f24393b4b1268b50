"""Signal building blocks for the built-in synthesizer (`filmlang.backends.music.synth`).

Takes seeds and parameters; gives float64 numpy signals at `SAMPLE_RATE`: seeded generators,
noise with a chosen spectrum, slow control curves, envelopes, additive partials, event
placement, a cheap reverb and level helpers. Everything is vectorised and stateless, so a
signal is a function of its arguments only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from filmlang.audio import SAMPLE_RATE

Signal = npt.NDArray[np.float64]
AnyFloats = npt.NDArray[np.floating[Any]]
"""float64 work buffers or float32 results alike."""
Indices = npt.NDArray[np.int64]
Response = Callable[[Signal], Signal]
"""A magnitude response: frequencies in Hz in, gains out."""

SR = SAMPLE_RATE
TWO_PI = 2.0 * np.pi


def generator(seed: int, *labels: str) -> np.random.Generator:
    """A PCG64 generator that depends on the seed and the labels only (stable across runs)."""
    digest = hashlib.sha256("\x1f".join(labels).encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    folded = seed % (1 << 64)
    entropy = [folded & 0xFFFF_FFFF, folded >> 32, *words]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def fast_length(n: int) -> int:
    """The smallest 5-smooth length >= n, which numpy's FFT handles quickly."""
    n = max(1, n)
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < n:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


# Magnitude responses ------------------------------------------------------------------


def power(x: Signal, k: int) -> Signal:
    """x ** k for a small whole k, by multiplication (numpy's pow is slow)."""
    out = x.copy()
    for _ in range(k - 1):
        out *= x
    return out


def lowpass(f: Signal, cutoff: float, order: int = 2) -> Signal:
    result: Signal = 1.0 / np.sqrt(1.0 + power(f * (1.0 / cutoff), 2 * order))
    return result


def highpass(f: Signal, cutoff: float, order: int = 2) -> Signal:
    ratio = power(np.maximum(f, 1e-9) * (1.0 / cutoff), 2 * order)
    result: Signal = np.sqrt(ratio / (1.0 + ratio))
    return result


def band(f: Signal, low: float, high: float, order: int = 2) -> Signal:
    return highpass(f, low, order) * lowpass(f, high, order)


def resonance(f: Signal, centre: float, q: float) -> Signal:
    """A resonant band-pass peak of gain 1 at `centre`."""
    ratio = np.maximum(f, 1e-9) / centre
    result: Signal = 1.0 / np.sqrt(1.0 + q * q * (ratio - 1.0 / ratio) ** 2)
    return result


def tilt(f: Signal, slope: float, pivot: float = 1000.0) -> Signal:
    """A spectral tilt of `slope` dB per octave around `pivot` (-3 is pink)."""
    result: Signal = (np.maximum(f, 10.0) / pivot) ** (slope / 6.0206)
    return result


# Noise ----------------------------------------------------------------------------------


def frequencies(m: int, rate: float = SR) -> Signal:
    """The frequencies (Hz) of the bins of an rfft of length m."""
    return np.asarray(np.fft.rfftfreq(m, 1.0 / rate), dtype=np.float64)


def gains_at(response: Response, m: int, rate: float) -> Signal:
    """`response` at the m // 2 + 1 bins of an rfft of length m: evaluated on a fine
    logarithmic grid and interpolated, which is exact enough for smooth responses and
    much cheaper than evaluating every bin."""
    nyquist = rate / 2.0
    bins = m // 2 + 1
    if bins <= 4096:
        return response(frequencies(m, rate))
    grid = np.concatenate([[0.0], np.geomspace(1.0, nyquist, 4096)])
    result: Signal = np.interp(np.arange(bins) * (rate / m), grid, response(grid))
    return result


def noise(rng: np.random.Generator, n: int, response: Response | None = None,
          rate: float = SR) -> Signal:
    """Unit-RMS Gaussian noise of n samples whose spectrum follows `response`.

    It is circular (periodic in n), so it loops without a seam; the FFT runs at a fast
    length and the result is folded back with `loop_fold` when n itself would be slow.
    """
    if n <= 0:
        return np.zeros(0)
    m = n if fast_length(n) == n else fast_length(n + min(n, int(rate * 0.25)))
    spectrum = np.empty(m // 2 + 1, dtype=np.complex128)
    rng.standard_normal(out=spectrum.view(np.float64))
    if response is not None:
        spectrum *= gains_at(response, m, rate)
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, m)
    if m != n:
        x = loop_fold(x, n, min(n // 2, m - n))
    level = float(np.sqrt(energy(x) / n))
    if level > 0:
        x *= 1.0 / level
    return x


def loop_fold(x: Signal, n: int, overlap: int) -> Signal:
    """The first n samples of x, with x[n:n+overlap] crossfaded into the head so the
    result loops seamlessly (equal power, for uncorrelated material such as noise)."""
    out = x[:n]
    if overlap > 0:
        ramp = np.linspace(0.0, np.pi / 2, overlap, endpoint=False)
        out[:overlap] = out[:overlap] * np.sin(ramp) + x[n:n + overlap] * np.cos(ramp)
    return out


def periodic_upsample(x: Signal, n: int) -> Signal:
    """Linear interpolation of a periodic curve of len(x) points onto n samples."""
    k = len(x)
    positions = np.arange(n, dtype=np.float64) * (k / n)
    result: Signal = np.interp(positions, np.arange(k + 1, dtype=np.float64),
                               np.append(x, x[0]))
    return result


def control(rng: np.random.Generator, n: int, rate_hz: float,
            seconds: float | None = None) -> Signal:
    """A smooth random curve around 0 of n points spanning `seconds` (n / SR unless
    given), periodic, changing at about `rate_hz`.

    Its RMS is 1 for long curves and smaller for curves too short to hold a cycle at that
    rate, so a short render is not wobblier than a long one.
    """
    span = n / SR if seconds is None else seconds
    k = max(16, int(np.ceil(span * 100.0)))
    f = frequencies(k, k / span)
    gains = lowpass(f, rate_hz, 2)
    gains[0] = 0.0
    spectrum = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) * gains
    if k % 2 == 0:
        spectrum[-1] = spectrum[-1].real
    slow = np.fft.irfft(spectrum, k)
    # Parseval: the variance this curve is expected to have, and that of an endless one
    # (the integral of the squared response is rate * pi / (2 * sqrt 2)).
    weights = np.full(len(f), 4.0)
    if k % 2 == 0:
        weights[-1] = 1.0
    expected = float(np.sum(weights * gains ** 2)) / (k * k)
    endless = 4.0 * span * rate_hz * np.pi / (2.0 * np.sqrt(2.0)) / (k * k)
    slow *= 1.0 / np.sqrt(max(endless, expected, 1e-12))
    return periodic_upsample(slow, n)


# Envelopes and oscillators --------------------------------------------------------------


def times(n: int) -> Signal:
    return np.arange(n, dtype=np.float64) / SR


def _ramp(out: Signal, start: int, length: int, begin: float, end: float) -> None:
    """Write a straight line from `begin` towards `end` over `length` samples into out."""
    stop = min(len(out), start + length)
    if stop > start:
        out[start:stop] = begin + (end - begin) / length * np.arange(stop - start)


def adsr(n: int, gate: float, attack: float, decay: float, sustain: float,
         release: float) -> Signal:
    """An ADSR envelope over n samples: held for `gate` seconds, then released."""
    n_attack = max(1, int(attack * SR))
    n_decay = max(1, int(decay * SR))
    n_gate = max(1, int(gate * SR))
    n_release = max(1, int(release * SR))
    env = np.zeros(n)
    held = env[:n_gate]
    held[:] = sustain
    _ramp(held, 0, n_attack, 0.0, 1.0)
    _ramp(held, n_attack, n_decay, 1.0, sustain)
    if n_gate <= n_attack:
        level = n_gate / n_attack
    elif n_gate <= n_attack + n_decay:
        level = 1.0 + (sustain - 1.0) * (n_gate - n_attack) / n_decay
    else:
        level = sustain
    _ramp(env, n_gate, n_release, level, 0.0)
    np.square(env, out=env)  # squared: closer to the exponential curves of instruments
    return env


def decay(n: int, tau: float, attack: float = 0.001) -> Signal:
    """A fast attack and an exponential decay with time constant `tau`."""
    t = times(n)
    env: Signal = np.exp(-t / tau) * np.minimum(1.0, t / attack)
    return env


def partials(freq: float, t: Signal, amplitudes: tuple[float, ...],
             ratios: tuple[float, ...] | None = None,
             decays: tuple[float, ...] | None = None) -> Signal:
    """A sum of sine partials (harmonic unless `ratios` are given), the k-th decaying with
    time constant decays[k] when given (and computed only while audible)."""
    out = np.zeros(len(t))
    for index, amplitude in enumerate(amplitudes):
        ratio = ratios[index] if ratios is not None else float(index + 1)
        if amplitude == 0.0 or freq * ratio > 18_000.0:
            continue
        rate = 1.0 / decays[index] if decays is not None else 0.0
        span = len(t) if rate <= 0 else min(len(t), int(7.0 / rate * SR) + 1)
        term = np.sin(t[:span] * (TWO_PI * freq * ratio) + 1.7 * index)
        term *= amplitude
        if rate > 0:
            term *= np.exp(t[:span] * -rate)
        out[:span] += term
    return out


def vibrato_phase(freq: float, t: Signal, depth: float, rate: float,
                  delay: float = 0.0) -> Signal:
    """The phase of a tone with vibrato (depth as a fraction of the frequency)."""
    base = TWO_PI * freq * t
    if depth <= 0.0:
        return base
    ramp = np.minimum(1.0, t / delay) if delay > 0 else 1.0
    result: Signal = base + ramp * (freq * depth / rate) * (1.0 - np.cos(TWO_PI * rate * t))
    return result


# Placement, mixing and levels -----------------------------------------------------------


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power gains for a pan position in [-1, 1]."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def add_at(out: Signal, start: int, mono: Signal, pan: float = 0.0, gain: float = 1.0) -> None:
    """Mix a mono signal into a (2, n) buffer at `start`, cut at the buffer's end."""
    n = out.shape[1]
    if start >= n or len(mono) == 0:
        return
    if start < 0:
        mono = mono[-start:]
        start = 0
    end = min(n, start + len(mono))
    left, right = pan_gains(pan)
    part = mono[:end - start]
    out[0, start:end] += part * (gain * left)
    out[1, start:end] += part * (gain * right)


def soft_limit(x: Signal, threshold: float, ceiling: float) -> Signal:
    """Leave |x| <= threshold alone; bend larger values smoothly below `ceiling`."""
    magnitude = np.abs(x)
    over = magnitude > threshold
    if not np.any(over):
        return x
    out = x.copy()
    room = ceiling - threshold
    out[over] = np.sign(x[over]) * (threshold + room * np.tanh((magnitude[over] - threshold)
                                                                / room))
    return out


def energy(x: Signal) -> float:
    """The sum of squares, without BLAS (whose idle threads would spin on other cores)."""
    flat = x.ravel()
    return float(np.einsum("i,i->", flat, flat))


def rms(x: Signal) -> float:
    return float(np.sqrt(energy(x) / x.size)) if x.size else 0.0


def remove_dc(x: AnyFloats) -> None:
    """Subtract each channel's mean, in place ((channels, n) layout)."""
    if x.shape[-1]:
        x -= np.mean(x, axis=-1, keepdims=True, dtype=np.float64)


def apply_fades(x: AnyFloats, fade_in: float, fade_out: float) -> None:
    """Raised-cosine fade-in and fade-out on a (channels, n) buffer, in place."""
    n = x.shape[-1]
    k_in = min(n, round(fade_in * SR))
    k_out = min(n, round(fade_out * SR))
    if k_in > 0:
        x[..., :k_in] *= 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k_in, endpoint=False))
    if k_out > 0:
        x[..., n - k_out:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, k_out + 1)[1:])


def filtered(x: Signal, response: Response) -> Signal:
    """Filter a short signal (along its last axis) through `response` by FFT, zero-padded
    rather than circular."""
    n = x.shape[-1]
    m = fast_length(2 * n)
    spectrum = np.fft.rfft(x, m, axis=-1)
    spectrum *= response(frequencies(m))
    result: Signal = np.fft.irfft(spectrum, m, axis=-1)[..., :n]
    return result


class Reverb:
    """A cheap stereo room: the mono send, taken down to SR / divide, convolved with two
    decorrelated decaying-noise responses and interpolated back up. The lower rate keeps
    it cheap and damps the tail's highs, as air and walls do. The responses are drawn
    once, so every stretch of a long cue rings in the same room."""

    divide = 4

    def __init__(self, rng: np.random.Generator, rt60: float, send: float,
                 predelay: float = 0.02) -> None:
        rate = SR / self.divide
        length = int(rt60 * 1.2 * rate)
        t = np.arange(length) / rate
        delay = int(predelay * rate)
        self.send = send
        self.responses = np.zeros((2, length + delay))
        for channel in range(2):
            tail = noise(rng, length, lambda f: band(f, 180.0, 4500.0, 1), rate=rate)
            tail *= np.exp(-6.9 * t / rt60) * np.minimum(1.0, t / 0.03)
            tail *= 1.0 / max(float(np.sqrt(energy(tail))), 1e-12)
            self.responses[channel, delay:] = tail

    @property
    def memory(self) -> float:
        """Seconds a sound goes on ringing."""
        return self.responses.shape[1] * self.divide / SR

    def __call__(self, dry: Signal) -> Signal:
        """The wet (2, n) signal for a dry (2, n) one."""
        n = dry.shape[1]
        out = np.zeros((2, n))
        if n == 0 or self.send <= 0.0:
            return out
        k = -(-n // self.divide)
        mono = np.zeros(k * self.divide)
        mono[:n] = dry[0]
        mono[:n] += dry[1]
        slow = mono.reshape(k, self.divide).mean(axis=1) * (0.5 * self.send)
        m = fast_length(k + self.responses.shape[1])
        spectrum = np.fft.rfft(slow, m)
        span = np.arange(n, dtype=np.float64) / self.divide
        grid = np.arange(k, dtype=np.float64)
        for channel in range(2):
            wet = np.fft.irfft(spectrum * np.fft.rfft(self.responses[channel], m), m)[:k]
            out[channel] = np.interp(span, grid, wet)
        return out
