"""Audio as numpy arrays, and WAV files: the common currency of the sound backends.

Every sound artifact is a WAV file of 16-bit PCM at `SAMPLE_RATE`; in memory, audio is a
float32 array of shape (samples, channels) with values in [-1, 1].
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

SAMPLE_RATE = 48_000


def write_wav(path: Path, samples: Samples, rate: int = SAMPLE_RATE) -> None:
    """Write float samples (n,) or (n, channels) as 16-bit PCM, clipping to [-1, 1]."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    pcm = (np.clip(data, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def read_wav(path: Path) -> tuple[Samples, int]:
    """Read a 16-bit PCM WAV as float32 (n, channels) and its sample rate."""
    import numpy as np

    with wave.open(str(path), "rb") as src:
        channels = src.getnchannels()
        width = src.getsampwidth()
        rate = src.getframerate()
        raw = src.readframes(src.getnframes())
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit PCM, found {8 * width}-bit")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels), rate


def read_wav_window(path: Path, lo: int, hi: int) -> Samples:
    """Frames lo to hi of a 16-bit PCM WAV as float32 (hi - lo, channels), read without
    the rest of the file; cut at the file's ends (lo >= 0)."""
    import numpy as np

    with wave.open(str(path), "rb") as src:
        channels = src.getnchannels()
        if src.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, found {8 * src.getsampwidth()}-bit")
        lo = max(0, min(lo, src.getnframes()))
        src.setpos(lo)
        raw = src.readframes(max(0, hi - lo))
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels)


def resample(samples: Samples, rate: int, target: int = SAMPLE_RATE) -> Samples:
    """Resample by linear interpolation of a band-limited signal (good for speech)."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    if rate == target or len(data) == 0:
        return data
    squeeze = data.ndim == 1
    if squeeze:
        data = data[:, None]
    n_out = round(len(data) * target / rate)
    positions = np.arange(n_out, dtype=np.float64) * (rate / target)
    index = np.arange(len(data), dtype=np.float64)
    out = np.stack([np.interp(positions, index, data[:, c]) for c in range(data.shape[1])],
                   axis=1).astype(np.float32)
    return out[:, 0] if squeeze else out


def duration(path: Path) -> float:
    with wave.open(str(path), "rb") as src:
        return src.getnframes() / float(src.getframerate())
