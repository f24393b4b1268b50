"""Loudness and true peak per ITU-R BS.1770-4, and normalisation to a target.

Takes float audio ((n,) mono or (n, channels)) and gives integrated loudness in LUFS,
true peak in dBTP, or audio gained to a loudness target with its true peak held under a
ceiling by a look-ahead limiter. The K-weighting biquads run as one second-order-section
filter (scipy's `sosfilt`, six times the speed of the FFT convolution with their impulse
response that this module did before, and equal to it within 1e-13).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

from filmlang.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]
    Floats = npt.NDArray[np.float64]

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]  # (b, a), a[0] == 1

ABSOLUTE_GATE = -70.0       # LKFS
RELATIVE_GATE = -10.0       # LU below the absolute-gated loudness
BLOCK_SECONDS = 0.4         # gating block, with 75 % overlap (a 100 ms hop)
OVERSAMPLE = 4              # true-peak oversampling
_TAPS_PER_PHASE = 24        # true-peak interpolator length per phase (96 taps in all)
GAIN_STEP_DB = 0.05
"""The film's gain moves in steps of this (`link/master.py`; a stem takes the same step
with `normalize_gain(step_db=...)`): a one-line edit rarely moves the film's loudness by
a step, so the gain, and every piece's encoded sound, stay as they were; half a step is
0.025 LU, far inside the 0.1 LU the loudness is held to."""
_IMPULSE = 1 << 14
"""Samples the K-weighting is run in from before a range, to reach the film's state there:
its impulse response has decayed below e^-80 by then."""

# BS.1770-4, table 1 and 2: the K-weighting coefficients at 48 kHz as printed.
TABLE_SHELF_48K: Biquad = ((1.53512485958697, -2.69169618940638, 1.19839281085285),
                           (1.0, -1.69065929318241, 0.73248077421585))
TABLE_HIGHPASS_48K: Biquad = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def k_weighting(rate: int = SAMPLE_RATE) -> tuple[Biquad, Biquad]:
    """The two K-weighting stages (high shelf, then RLB high-pass) at `rate`.

    The analogue prototypes (the shelf's 1681.97 Hz, +4 dB, Q 0.7072; the high-pass's
    38.135 Hz, Q 0.5003) are taken through the bilinear transform as in libebur128; at
    48 kHz they reproduce the standard's table 1 and 2 to within 1e-8.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf: Biquad = (((vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
                      (vh - vb * k / q + k * k) / a0),
                     (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0))
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    highpass: Biquad = ((1.0, -2.0, 1.0),
                        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0))
    return shelf, highpass


@lru_cache(maxsize=8)
def _k_sections(rate: int) -> Floats:
    """Both K-weighting stages as second-order sections (b0 b1 b2 a0 a1 a2 per row)."""
    import numpy as np

    sections = np.array([[*b, *a] for b, a in k_weighting(rate)], dtype=np.float64)
    sections.setflags(write=False)
    return sections


def _channels(samples: npt.ArrayLike) -> Floats:
    import numpy as np

    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"expected (n,) or (n, channels) samples, got shape {data.shape}")
    return data


def _channel_weights(channels: int) -> list[float]:
    """BS.1770 channel weights: 1 for L, R, C; 1.41 for the surrounds; LFE left out."""
    if channels == 5:
        return [1.0, 1.0, 1.0, 1.41, 1.41]
    if channels == 6:  # ffmpeg's 5.1 order: L R C LFE Ls Rs
        return [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]
    return [1.0] * channels


def block_powers(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> Floats:
    """The channel-weighted mean square of each 400 ms gating block (hop 100 ms)."""
    data = _channels(samples)
    return _powers_of_weighted(_k_weighted(data, rate), data.shape[1], rate)


def _k_weighted(data: Floats, rate: int = SAMPLE_RATE) -> Floats:
    """data (n, channels) through the K-weighting filter, from rest."""
    import numpy as np
    from scipy.signal import sosfilt  # type: ignore[import-untyped]

    sections = np.array(_k_sections(rate))     # a copy: sosfilt takes writable sections
    return np.asarray(sosfilt(sections, data, axis=0), dtype=np.float64)


def _powers_of_weighted(weighted: Floats, channels: int, rate: int = SAMPLE_RATE) -> Floats:
    import numpy as np

    hop = round(rate * BLOCK_SECONDS / 4)
    hops = len(weighted) // hop
    if hops < 4:
        return np.zeros(0)
    cut = weighted[: hops * hop]
    energy = (cut * cut).reshape(hops, hop, -1).sum(axis=1)   # (hops, channels)
    energy = energy @ np.asarray(_channel_weights(channels))
    blocks = energy[:-3] + energy[1:-2] + energy[2:-1] + energy[3:]
    return np.asarray(blocks / (4 * hop), dtype=np.float64)


def _lufs(power: float) -> float:
    return -0.691 + 10.0 * math.log10(power) if power > 0 else -math.inf


def integrated_loudness(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness in LUFS (BS.1770-4, gated); -inf for silence or < 400 ms."""
    return _gated_loudness(block_powers(samples, rate))


def _gated_loudness(powers: Floats) -> float:
    import numpy as np

    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(powers)
    gated = powers[loudness > ABSOLUTE_GATE]
    if not len(gated):
        return -math.inf
    threshold = _lufs(float(gated.mean())) + RELATIVE_GATE
    kept = gated[-0.691 + 10.0 * np.log10(gated) > threshold]
    return _lufs(float(kept.mean())) if len(kept) else -math.inf


@lru_cache(maxsize=4)
def _interpolator(factor: int = OVERSAMPLE, taps: int = _TAPS_PER_PHASE) -> Floats:
    """Polyphase Kaiser-windowed-sinc interpolator: row p, convolved with x, gives x(i + p/f).

    Row p holds h(p / f + k - taps / 2) for k = 0 .. taps - 1, h the low-pass kernel in
    units of input samples (pass band to 0.9 of Nyquist), each row scaled to unity DC gain.
    """
    import numpy as np

    half = taps // 2
    k = np.arange(taps)
    rows = []
    for p in range(factor):
        t = p / factor + k - half
        window = np.i0(8.0 * np.sqrt(np.clip(1.0 - (t / (half + 1)) ** 2, 0.0, 1.0)))
        row = 0.9 * np.sinc(0.9 * t) * window
        rows.append(row / row.sum())
    phases = np.stack(rows)
    phases.setflags(write=False)
    return phases


def _oversampled_peaks(data: Floats, factor: int = OVERSAMPLE, *,
                       single: bool = False) -> Floats:
    """max |x| over each sample and the (factor - 1) points after it: (n, channels).

    The point p/f after sample i is the causal convolution of x with phase p's filter,
    read `taps / 2` samples later; the convolutions are done by FFT, block by block, with
    numpy's own single-threaded FFT (a BLAS matrix product was 10x slower on a busy
    machine, where its threads fight for the cores). `single`: in float32, twice as fast,
    within a few parts in a million of float64 (for peaks stored as float32).
    """
    import numpy as np

    phases = _interpolator(factor)
    if single:
        phases, data = phases.astype(np.float32), data.astype(np.float32)
    taps = phases.shape[1]
    half = taps // 2
    size = min(1 << 16, 1 << (len(data) + 2 * taps).bit_length())
    step = size - taps + 1
    spectra = np.fft.rfft(phases[1:], size, axis=1)               # (factor - 1, bins)
    peak = np.abs(data)
    n = len(data)
    for c in range(data.shape[1]):
        # y[j] = sum_k x[j - k] h[k]; the point after sample i is y[i + half].
        x = np.concatenate([np.zeros(taps - 1 - half, data.dtype), data[:, c],
                            np.zeros(half, data.dtype)])
        column = peak[:, c]
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            spectrum = np.fft.rfft(x[lo:hi + taps - 1], size)
            values = np.fft.irfft(spectrum[None, :] * spectra, size, axis=1)
            values = np.abs(values[:, taps - 1:taps - 1 + hi - lo])
            top = values[0]
            for p in range(1, len(values)):
                top = np.maximum(top, values[p])
            np.maximum(column[lo:hi], top, out=column[lo:hi])
    return peak


def true_peak_dbtp(samples: npt.ArrayLike) -> float:
    """True peak in dBTP: the largest |x| with 4x oversampling (BS.1770-4, annex 2)."""
    data = _channels(samples)
    if not data.size:
        return -math.inf
    peak = float(_oversampled_peaks(data).max())
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def _sliding_min(x: Floats, width: int) -> Floats:
    """min(x[i:i + width]) for every i (past the end counts as +inf): van Herk / Gil-Werman."""
    import numpy as np

    n = len(x)
    blocks = -(-(n + width) // width)
    padded = np.full(blocks * width, np.inf)
    padded[:n] = x
    grid = padded.reshape(blocks, width)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.asarray(np.minimum(suffix[:n], prefix[width - 1:width - 1 + n]), dtype=np.float64)


def _moving_mean(x: Floats, width: int) -> Floats:
    """mean(x[i - width + 1 : i + 1]) for every i (fewer samples at the start)."""
    import numpy as np

    total = np.concatenate([np.zeros(width), np.cumsum(x)])
    counts = np.minimum(np.arange(1, len(x) + 1), width)
    return np.asarray((total[width:] - total[:-width]) / counts, dtype=np.float64)


def limiter_gain(samples: npt.ArrayLike, ceiling_dbtp: float, *, attack: float = 0.005,
                 release: float = 0.04, hold: float = 0.02,
                 rate: int = SAMPLE_RATE) -> Floats:
    """A smooth gain (n,) that keeps the true peak of samples * gain under the ceiling.

    What each sample needs is spread by a sliding minimum over the `hold` before it and the
    attack + release after it, then smoothed by two moving averages (`attack` and `release`
    long). Every sample the averages reach was already at or under what the peak needs, so
    the gain never exceeds it; it ramps down ahead of a peak (look-ahead) and back up after.
    """
    peaks = _oversampled_peaks(_channels(samples)).max(axis=1)
    return _gain_for_peaks(peaks, ceiling_dbtp, attack, release, hold, rate)


def _gain_for_peaks(peaks: Floats, ceiling_dbtp: float, attack: float = 0.005,
                    release: float = 0.04, hold: float = 0.02,
                    rate: int = SAMPLE_RATE) -> Floats:
    """The limiter's gain for `peaks`: exactly 1 wherever no peak within reach needs less.

    Computed only around the samples that need less than 1, stretch by stretch: a film is
    mostly under the ceiling, and running sums over a short stretch stay exact.
    """
    import numpy as np

    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    first, second = max(1, round(attack * rate)), max(1, round(release * rate))
    back = round(hold * rate)
    gain = np.ones(len(peaks))
    low = np.flatnonzero(peaks > ceiling)          # what each sample needs: only where < 1
    low = low[ceiling / peaks[low] < 1.0]
    if not len(low):
        return gain
    reach = back + 2 * (first + second)     # how far one sample's need moves the gain
    breaks = np.flatnonzero(np.diff(low) > 2 * reach)
    starts = [int(low[0]), *(int(i) for i in low[breaks + 1])]
    ends = [*(int(i) + 1 for i in low[breaks]), int(low[-1]) + 1]
    for start, end in zip(starts, ends, strict=True):
        lo, hi = max(0, start - reach), min(len(peaks), end + reach)
        with np.errstate(divide="ignore"):
            need = np.minimum(1.0, ceiling / peaks[lo:hi])
        gain[lo:hi] = _stretch_gain(need, first, second, back)
    return gain


def _stretch_gain(need: Floats, first: int, second: int, back: int) -> Floats:
    import numpy as np

    ahead = first + second - 1
    shifted = np.concatenate([np.ones(back), need])
    lowest = _sliding_min(shifted, back + ahead)[: len(need)]
    gain = _moving_mean(_moving_mean(lowest, first), second)
    return np.asarray(np.minimum(gain, 1.0), dtype=np.float64)


def normalize(samples: npt.ArrayLike, target_lufs: float, *, max_true_peak: float = -1.0,
              rate: int = SAMPLE_RATE, tolerance: float = 0.1,
              max_limiting_db: float = 20.0) -> Samples:
    """`samples` times their `normalize_gain`: float32 of the input's shape."""
    import numpy as np

    source = np.asarray(samples)
    gain = normalize_gain(source, target_lufs, max_true_peak=max_true_peak, rate=rate,
                          tolerance=tolerance, max_limiting_db=max_limiting_db)
    out = np.asarray(_channels(source) * gain[:, None], dtype=np.float32)
    return np.ascontiguousarray(out[:, 0]) if source.ndim == 1 else out


def normalize_gain(samples: npt.ArrayLike, target_lufs: float, *,
                   max_true_peak: float = -1.0, rate: int = SAMPLE_RATE,
                   tolerance: float = 0.1, max_limiting_db: float = 20.0,
                   step_db: float = 0.0) -> Floats:
    """The gain (n,) to `target_lufs`, limited so the true peak stays at or under
    `max_true_peak` (`normalize` applies it; stems apply the film's to their part). With
    `step_db`, the gain before limiting is a whole number of those steps (as the film's).

    When limiting costs loudness, more gain goes into the limiter (secant steps on the
    measured loudness) until the result is within `tolerance` LU of the target. Where that
    would take more than `max_limiting_db` of extra gain, the result stays quieter than the
    target rather than crushed. Silence comes back unchanged (a gain of 1).

    The film is filtered and oversampled once. Each step after that only looks at where
    the limiter acts: the K-weighting is linear, so the limited film's weighted signal is
    the gained original's plus the filtered (sparse) difference the limiter makes; and
    where the limiter leaves the gain alone, the true peak is the original's, gained.
    """
    import numpy as np

    source = np.asarray(samples)
    data = _channels(source)
    weighted = _k_weighted(data, rate)
    measured = _gated_loudness(_powers_of_weighted(weighted, data.shape[1], rate))
    if not math.isfinite(measured):
        return np.ones(len(data))
    def stepped(db: float) -> float:
        return round(round(db / step_db) * step_db, 4) if step_db else db

    base = stepped(target_lufs - measured)
    peaks = _oversampled_peaks(data).max(axis=1)       # scale with the gain: measured once
    if 20.0 * math.log10(float(peaks.max())) + base <= max_true_peak:
        return np.full(len(data), 10.0 ** (base / 20.0))
    ceiling = max_true_peak - 0.05      # a margin for the limiter's own gain modulation
    tried: list[tuple[float, float]] = []   # (extra gain, loudness reached)
    extra, total = 0.0, np.ones(len(data))
    taps = _interpolator().shape[1]
    for _ in range(8):
        scale = 10.0 ** (stepped(base + extra) / 20.0)
        for _ in range(10):
            gain = _gain_for_peaks(peaks * scale, ceiling, rate=rate)
            if _limited_peak_dbtp(data, scale * gain, peaks * scale, taps) <= max_true_peak:
                break
            ceiling -= 0.1
        total = scale * gain
        residual = data * (gain - 1.0)[:, None]        # zero where the limiter is idle
        limited_weighted = scale * (weighted + _k_weighted(residual, rate))
        reached = _gated_loudness(_powers_of_weighted(limited_weighted, data.shape[1], rate))
        shortfall = target_lufs - reached
        if abs(shortfall) <= tolerance:
            break
        extra = secant_step(tried, extra, reached, shortfall)
        if extra > max_limiting_db:
            break
    return np.asarray(total, dtype=np.float64)


def secant_step(tried: list[tuple[float, float]], extra: float, reached: float,
                shortfall: float) -> float:
    """The next extra gain (dB) to try when limiting cost loudness: a secant step on the
    (extra gain, loudness reached) pairs tried so far, its slope kept within 0.1..1."""
    tried.append((extra, reached))
    slope = 1.0
    if len(tried) > 1:
        (x0, y0), (x1, y1) = tried[-2], tried[-1]
        slope = min(1.0, max(0.1, (y1 - y0) / (x1 - x0))) if x1 != x0 else 1.0
    return extra + shortfall / slope


def _limited_peak_dbtp(data: Floats, gain: Floats, gained_peaks: Floats, taps: int,
                       resting: float | None = None) -> float:
    """True peak of data * gain, where `gain` is constant (`resting`, the film's gain; by
    default the largest) but for a few stretches where a limiter lowers it.

    Where the gain is constant over a whole interpolation window, the oversampled peaks are
    the gained original's (`gained_peaks`); only the stretches near a change are oversampled.
    """
    import numpy as np

    n = len(gain)
    active = np.flatnonzero(gain < (gain.max() if resting is None else resting))
    top = 0.0
    idle = gained_peaks.copy()
    if len(active):
        breaks = np.flatnonzero(np.diff(active) > 2 * taps + 1)
        starts = [int(active[0]), *(int(i) for i in active[breaks + 1])]
        ends = [*(int(i) + 1 for i in active[breaks]), int(active[-1]) + 1]
        for start, end in zip(starts, ends, strict=True):
            near_lo, near_hi = max(0, start - taps), min(n, end + taps)
            idle[near_lo:near_hi] = 0.0
            lo, hi = max(0, near_lo - taps), min(n, near_hi + taps)
            stretch = data[lo:hi] * gain[lo:hi, None]
            peaks = _oversampled_peaks(stretch)[near_lo - lo:near_hi - lo]
            top = max(top, float(peaks.max()))
    if len(idle):
        top = max(top, float(idle.max()))
    return 20.0 * math.log10(top) if top > 0 else -math.inf
