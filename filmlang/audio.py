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


MAX_FILE_SECONDS = 3600.0
"""The longest sound file a film may use: more is cut (a bed loops what it has)."""


def decode_file(path: Path, rate: int = SAMPLE_RATE) -> Samples:
    """A sound file of any format ffmpeg decodes, as (n, 2) float32 at `rate`.

    ffmpeg is the one `link.ffmpeg` uses ($FILMC_FFMPEG, else imageio-ffmpeg's); this is
    the one call below the linker that needs it. Raises ValueError with ffmpeg's own words
    when it cannot decode the file, or when the file holds no sound."""
    import os
    import subprocess

    import numpy as np

    exe = os.environ.get("FILMC_FFMPEG")
    if not exe:
        import imageio_ffmpeg  # type: ignore[import-untyped]

        exe = str(imageio_ffmpeg.get_ffmpeg_exe())
    result = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-t",
         str(MAX_FILE_SECONDS), "-ac", "2", "-ar", str(rate), "-f", "f32le", "-"],
        capture_output=True, timeout=600, check=False)
    if result.returncode != 0:
        said = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(said[-1] if said else f"ffmpeg exited with {result.returncode}")
    samples = np.frombuffer(result.stdout, dtype=np.float32)
    if len(samples) < 2:
        raise ValueError("it holds no sound")
    return np.array(samples[: len(samples) // 2 * 2].reshape(-1, 2), dtype=np.float32)
