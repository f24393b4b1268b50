"""Signal processing for speech: deterministic noise, resampling, trimming, whisper, level.

Float32 mono arrays in, float32 mono arrays out; numpy only, imported inside the functions.
Everything here is a pure function of its arguments (noise comes from a counter-based hash,
never from a global generator), so the same line gives the same samples in any process.

The finishing chain (`finish`), shared by every engine, after the engine has trimmed and
resampled to 48 kHz: whisper or breath (when asked), timbre tilt, level to `TARGET_RMS`
over the voiced frames, the line's placement (`place`: voice-over in front, off-screen
muffled), the gain (volume and delivery), then a smooth peak limiter whose ceiling
`CEILING` (-1.2 dBFS) keeps every peak below -1 dBFS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmlang.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]
    Words = npt.NDArray[np.uint64]

TARGET_RMS = 0.1
"""-20 dBFS over the voiced frames, before the gain: every voice at the same level."""
CEILING = 10.0 ** (-1.2 / 20.0)
KEEP = 0.02
"""Seconds of silence kept before the first and after the last sound of a take."""
FADE = 0.005
"""Seconds of fade at each end of a trimmed take, inside the kept silence."""
SILENCE_DB = -40.0
"""A 10 ms frame this far below the loudest frame counts as silence when trimming."""

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1


def _mix(z: Words) -> Words:
    """splitmix64's finaliser: a good 64-bit hash of each word (wrapping arithmetic)."""
    import numpy as np

    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def gaussian(key: int, shape: tuple[int, ...]) -> Samples:
    """Standard normal noise whose value at each index depends only on (key, index).

    A larger `shape` extends a smaller one without changing the values they share, so noise
    can be asked for generously and sliced.
    """
    import numpy as np

    h = np.array(key & _MASK, dtype=np.uint64)
    for size in shape:
        coords = (np.arange(1, size + 1, dtype=np.uint64) * np.uint64(_GOLDEN))
        h = _mix(h[..., None] + coords)
    u1 = ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
    u2 = ((_mix(h ^ np.uint64(_M2)) >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return z.astype(np.float32)


def fft_resample(samples: Samples, n_out: int) -> Samples:
    """Band-limited resampling to exactly `n_out` samples (the spectrum padded or cut)."""
    import numpy as np

    n = len(samples)
    if n == 0 or n_out <= 0:
        return np.zeros(max(n_out, 0), dtype=np.float32)
    if n_out == n:
        return np.asarray(samples, dtype=np.float32)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins = n_out // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - len(spectrum), complex)])
    return (np.fft.irfft(spectrum, n_out) * (n_out / n)).astype(np.float32)


def to_output_rate(samples: Samples, rate: float) -> Samples:
    """Resample from `rate` (which need not be whole: a pitch shift plays faster) to 48 kHz."""
    return fft_resample(samples, round(len(samples) * SAMPLE_RATE / rate))


def trim(samples: Samples, rate: int, keep: float = KEEP) -> Samples:
    """Cut leading and trailing silence, keeping `keep` seconds either side of the sound.

    Silence is a 10 ms frame more than 40 dB below the loudest frame (or nearly zero); a
    take that is all silence comes back empty.
    """
    import numpy as np

    hop = max(1, rate // 100)
    frames = len(samples) // hop
    if frames == 0:
        return samples[:0]
    power = np.square(samples[: frames * hop].astype(np.float64)).reshape(frames, hop)
    rms = np.sqrt(power.mean(axis=1))
    threshold = max(float(rms.max()) * 10.0 ** (SILENCE_DB / 20.0), 1e-4)
    loud = np.flatnonzero(rms > threshold)
    if len(loud) == 0:
        return samples[:0]
    margin = round(keep * rate)
    start = max(0, int(loud[0]) * hop - margin)
    end = min(len(samples), (int(loud[-1]) + 1) * hop + margin)
    out = np.array(samples[start:end], dtype=np.float32)
    # Fade the kept margins in and out, so no edge clicks (or rings through a resampling).
    fade = min(round(FADE * rate), len(out) // 2)
    if fade > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
        out[:fade] *= ramp
        out[len(out) - fade:] *= ramp[::-1]
    return out


def _frames(samples: Samples, size: int, hop: int) -> tuple[Samples, int]:
    import numpy as np

    count = (len(samples) + size) // hop + 1
    padded = np.zeros((count - 1) * hop + size, dtype=np.float32)
    padded[size - hop: size - hop + len(samples)] = samples
    view = np.lib.stride_tricks.sliding_window_view(padded, size)[::hop]
    return view, size - hop


def whisper(samples: Samples, key: int) -> Samples:
    """Unvoiced speech: noise shaped, frame by frame, by the speech's spectral envelope.

    A short-time Fourier transform (21 ms frames, 75% overlap); each frame's magnitude is
    smoothed across ~700 Hz, which keeps the formants (what is said) and drops the
    harmonics (the voicing); that envelope colours seeded noise, high-passed at 300 Hz.
    """
    import numpy as np

    size, hop = 1024, 256
    if len(samples) == 0:
        return samples
    window = np.hanning(size).astype(np.float32)
    frames, offset = _frames(samples, size, hop)
    magnitude = np.abs(np.fft.rfft(frames * window, axis=1))
    width = 15
    summed = np.cumsum(np.pad(magnitude, ((0, 0), (width // 2 + 1, width // 2))), axis=1)
    envelope = (summed[:, width:] - summed[:, :-width]) / width
    noise = gaussian(key, (len(frames), size))
    excitation = np.fft.rfft(noise * window, axis=1) / np.sqrt(np.sum(window ** 2))
    cutoff = int(300 * size / SAMPLE_RATE)
    ramp = np.clip((np.arange(envelope.shape[1]) - cutoff) / cutoff, 0.0, 1.0)
    shaped = np.fft.irfft(envelope * excitation * ramp, size, axis=1) * window
    out = np.zeros((len(frames) - 1) * hop + size)
    for k in range(size // hop):
        chunk = shaped[:, k * hop:(k + 1) * hop].reshape(-1)
        out[k * hop: k * hop + len(chunk)] += chunk
    norm = float(np.sum(window ** 2) / hop)
    return (out[offset: offset + len(samples)] / norm).astype(np.float32)


def tilt(samples: Samples, amount: float) -> Samples:
    """Brighten (amount > 0) or darken (< 0): add or take away what a 5-tap average removes."""
    import numpy as np

    if amount == 0.0 or len(samples) == 0:
        return samples
    smooth = np.convolve(samples, np.full(5, 0.2, dtype=np.float32), mode="same")
    return (samples + np.float32(amount) * (samples - smooth)).astype(np.float32)


def level(samples: Samples, target: float = TARGET_RMS) -> Samples:
    """Scale so that the RMS over the voiced 20 ms frames (within 35 dB of the loudest) is
    `target`: loudness that does not depend on pauses or on the engine's own level."""
    import numpy as np

    hop = SAMPLE_RATE // 50
    frames = len(samples) // hop
    if frames == 0:
        frames, hop = 1, max(len(samples), 1)
    power = np.square(samples[: frames * hop].astype(np.float64)).reshape(frames, hop).mean(1)
    if float(power.max()) <= 1e-12:
        return samples
    voiced = power[power >= power.max() * 10.0 ** (-35.0 / 10.0)]
    return (samples * np.float32(target / np.sqrt(voiced.mean()))).astype(np.float32)


def limit(samples: Samples, ceiling: float = CEILING) -> Samples:
    """A smooth look-ahead limiter: no sample ends above `ceiling`, and gain moves gently.

    The gain of each 1 ms block is ceiling / (the peak within 3 blocks), averaged over 5
    blocks and interpolated between block centres: every gain that reaches a sample was
    computed from a window containing it, so the result never exceeds the ceiling.
    """
    import numpy as np

    n = len(samples)
    block = SAMPLE_RATE // 1000
    if n == 0 or float(np.max(np.abs(samples))) <= ceiling:
        return samples
    blocks = -(-n // block)
    padded = np.zeros(blocks * block, dtype=np.float32)
    padded[:n] = np.abs(samples)
    peak = padded.reshape(blocks, block).max(axis=1)
    wide = np.lib.stride_tricks.sliding_window_view(np.pad(peak, 3), 7).max(axis=1)
    gain = np.minimum(1.0, ceiling / np.maximum(wide, 1e-9))
    gain = np.lib.stride_tricks.sliding_window_view(np.pad(gain, 2, mode="edge"), 5).mean(1)
    centres = (np.arange(blocks) + 0.5) * block
    out: Samples = samples * np.interp(np.arange(n), centres, gain).astype(np.float32)
    return np.clip(out, -ceiling, ceiling).astype(np.float32)


def finish(samples: Samples, *, gain_db: float, volume: float, tilt_amount: float,
           whisper_key: int | None, breath: float = 0.0, breath_key: int = 0,
           placement: str = "on") -> Samples:
    """The chain every engine ends with: whisper or breath, tilt, level, placement, gain,
    limit (see above)."""
    import numpy as np

    out = np.asarray(samples, dtype=np.float32)
    if whisper_key is not None:
        out = whisper(out, whisper_key)
    elif breath > 0.0:
        out = breathe(out, breath, breath_key)
    out = tilt(out, tilt_amount)
    out = level(out)
    out, placed_db = place(out, placement)
    gain = max(volume, 0.0) * 10.0 ** ((gain_db + placed_db) / 20.0)
    return limit((out * np.float32(gain)).astype(np.float32))


def breathe(samples: Samples, amount: float, key: int) -> Samples:
    """Breathiness: the take mixed with its own whisper (`amount` of it, 0..1), at the
    same level, so the voicing is still there but the breath is heard through it."""
    import numpy as np

    if amount <= 0.0 or len(samples) == 0:
        return samples
    air = whisper(samples, key)
    power = float(np.mean(np.square(air)))
    scale = float(np.sqrt(float(np.mean(np.square(samples))) / max(power, 1e-12)))
    mixed = (1.0 - amount) * samples + amount * scale * air
    return np.asarray(mixed, dtype=np.float32)


VOICE_OVER_DB = 2.0
"""A voice-over sits in front of the scene: this much louder than a line said on screen."""
OFF_SCREEN_DB = -5.0
OFF_SCREEN_CUTOFF = 2500.0
"""Hz: an off-screen voice is heard through a wall or round a corner: its highs go."""
OFF_SCREEN_ECHOES = ((0.023, 0.3), (0.037, 0.2), (0.053, 0.12))
"""(seconds, gain) of the room's first reflections under an off-screen voice."""


def place(samples: Samples, placement: str) -> tuple[Samples, float]:
    """A line's placement: the voice-over dry and louder (in front), the off-screen voice
    muffled (low-passed at 2.5 kHz, with a room's early reflections) and quieter. The
    take keeps its length. Returns the samples and the gain (dB) to add."""
    import numpy as np

    if placement == "voice_over":
        return samples, VOICE_OVER_DB
    if placement != "off_screen" or len(samples) == 0:
        return samples, 0.0
    spectrum = np.fft.rfft(samples.astype(np.float64))
    freqs = np.fft.rfftfreq(len(samples), 1.0 / SAMPLE_RATE)
    spectrum *= 1.0 / np.sqrt(1.0 + (freqs / OFF_SCREEN_CUTOFF) ** 4)
    dull = np.fft.irfft(spectrum, len(samples))
    out = dull.copy()
    for seconds, gain in OFF_SCREEN_ECHOES:
        delay = round(seconds * SAMPLE_RATE)
        if delay < len(out):
            out[delay:] += gain * dull[: len(out) - delay]
    return np.asarray(out, dtype=np.float32), OFF_SCREEN_DB


def silence(seconds: float) -> Samples:
    import numpy as np

    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)
