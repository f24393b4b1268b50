"""One piece of the film's sound: a scene (or a window of one) mixed on its own.

Takes a piece job's parameters (its length in samples, the margin mixed on each side, the
loudness grain, and every sound that reaches it: its cache key, where it starts in samples
from the piece's start, its gain and bus) and gives, in the job's folder:

- `piece.npy`: float32 (margin + samples + margin, channels), the mix of those sounds,
  ducked as `audio_mix.mix` ducks the whole film; the margins are the neighbours' edges,
  so that the master's limiter and the true-peak interpolation see across the boundary;
- `energies.npy`: the K-weighted, channel-weighted energy of each `grain` samples of the
  piece itself (BS.1770's 100 ms hops are whole grains, so the film's gating blocks are
  sums of these);
- `peaks.npy`: float32, each sample's 4x-oversampled peak (the largest of its channels),
  margins included: the limiter's input at any gain, since peaks scale with it;
- `piece.json`: its length, margin, channels and the highest 4x-oversampled peak within
  the limiter's reach of the piece (`peak`), so that the master knows without reading
  the samples whether its limiter acts here.

Everything is relative to the piece's own start, so a scene that only moves in time keeps
its key. Sample positions are whole numbers computed by the planner from the film's own
rounding, so pieces laid end to end are the whole-film mix, sample for sample (up to the
order of float additions). A bed (music, ambience) is read only over the piece's window.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang.audio import SAMPLE_RATE
from filmlang.link.audio_mix import DUCKED_KINDS, PREVIEW_RATE, Clip, _smoothstep, half_rate, mix

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

MARGIN_SECONDS = 1.0
"""Mixed on each side of a piece: more than the ducking's reach (attack + hold + release,
0.86 s), the limiter's (0.11 s) and the K-weighting's memory (0.34 s)."""
LIMITER_REACH_SECONDS = 0.2
"""How far a peak moves the limiter's gain (hold + 2 (attack + release) = 0.11 s, with
the interpolator's taps): a piece's `peak` covers this much of its neighbours."""
SHORT_SOUNDS = 16
"""How many decoded lines and effects a session keeps for the next piece or rebuild: a
scene and a half's worth (about 1.2 MB each; 256 held about 300 MB by the 20th minute of
a film, and each is decoded again in milliseconds)."""


def margin(rate: int) -> int:
    return round(MARGIN_SECONDS * rate)


def _short(key: str, rate: int, audio_of: Callable[[str], Path]) -> Samples:
    """A line or an effect, whole, at the mix's rate (kept in the session: a watch rebuild
    decodes only the new ones)."""
    from filmlang import audio, session

    kept = session.current().cache("mix.sounds", limit=SHORT_SOUNDS)

    def load() -> Samples:
        samples, source_rate = audio.read_wav(audio_of(key))
        samples = audio.resample(samples, source_rate)
        return half_rate(samples) if rate == PREVIEW_RATE else samples

    found: Samples = kept.get_or_make((key, rate), load)
    return found


def _bed_window(path: Path, rate: int, lo: int, hi: int) -> Samples:
    """Samples lo to hi (at the mix's `rate`) of a bed WAV at `SAMPLE_RATE`, read from the
    file without the rest; a preview's half rate is filtered with the taps around the
    window, so that neighbouring windows meet exactly."""
    from filmlang import audio

    if rate == SAMPLE_RATE:
        return audio.read_wav_window(path, lo, hi)
    pad = 48                                 # more than half the half-band filter's taps
    start = max(0, 2 * lo - pad)
    wide = audio.read_wav_window(path, start, 2 * hi + pad)
    halved = half_rate(wide)
    skip = (2 * lo - start) // 2
    return halved[skip:skip + hi - lo]


def _bed(clip: dict[str, Any], rate: int, lo: int, hi: int,
         audio_of: Callable[[str], Path]) -> tuple[int, Samples] | None:
    """The part of a bed that plays within [lo, hi) of the piece: (its first sample in the
    piece, samples), cut at its `length` with its fade out shaped as `audio_mix` does."""
    import numpy as np

    from filmlang import audio

    at = int(clip["at"])
    path = audio_of(clip["input"])
    total = round(audio.duration(path) * rate)
    if "length" in clip:
        total = min(total, int(clip["length"]))
    w0, w1 = max(0, lo - at), min(total, hi - at)
    if w1 <= w0:
        return None
    data = np.array(_bed_window(path, rate, w0, w1), dtype=np.float32)
    fade = min(total, round(float(clip.get("fade_out", 0.0)) * rate))
    if fade > 0 and w1 > total - fade:
        ramp = _smoothstep(np.linspace(0.0, 1.0, fade, dtype=np.float32))[::-1]
        first = max(w0, total - fade)
        data[first - w0:] *= ramp[first - (total - fade):w1 - (total - fade), None]
    return at + w0, data


def mix_piece(params: dict[str, Any], audio_of: Callable[[str], Path]) -> Samples:
    """The piece with its margins: (margin + samples + margin, channels) float32."""
    import numpy as np

    rate, n, pad = int(params["rate"]), int(params["samples"]), int(params["margin"])
    clips = []
    for clip in params["clips"]:
        if clip["kind"] in DUCKED_KINDS:
            found = _bed(clip, rate, -pad, n + pad, audio_of)
            if found is None:
                continue
            first, samples = found
        else:
            first, samples = int(clip["at"]), _short(clip["input"], rate, audio_of)
        clips.append(Clip(samples=samples, start=(first + pad) / rate, gain=clip["gain"],
                          kind=clip["kind"], rate=rate))
    fades = [(float(a), float(b), float(c), float(d)) for a, b, c, d in params.get("fades", ())]
    mixed = mix(clips, (n + 2 * pad) / rate, rate=rate, fades=fades)
    if params.get("channels") == 1:          # a preview is dual mono: levelled as one
        return np.ascontiguousarray(mixed.mean(axis=1, keepdims=True, dtype=np.float32))
    return mixed


def grain_energies(weighted: npt.NDArray[np.float64], grain: int) -> npt.NDArray[np.float64]:
    """Channel-weighted energy of each `grain` samples of a K-weighted (n, channels)."""
    import numpy as np

    from filmlang.link.loudness import _channel_weights

    energy = (weighted * weighted) @ np.asarray(_channel_weights(weighted.shape[1]))
    grains = -(-len(energy) // grain)
    padded = np.zeros(grains * grain)
    padded[:len(energy)] = energy
    return np.asarray(padded.reshape(grains, grain).sum(axis=1), dtype=np.float64)


def grain_sums(per_sample: npt.NDArray[np.float64], grain: int) -> npt.NDArray[np.float64]:
    """Sums of `grain` consecutive values (the last sum over what is left)."""
    import numpy as np

    grains = -(-len(per_sample) // grain)
    padded = np.zeros(grains * grain)
    padded[:len(per_sample)] = per_sample
    return np.asarray(padded.reshape(grains, grain).sum(axis=1), dtype=np.float64)


def piece_job(params: dict[str, Any], out: Path, audio_of: Callable[[str], Path]) -> None:
    """A piece job: mix it, measure it, write `piece.npy`, `energies.npy`, `piece.json`."""
    import numpy as np

    from filmlang.link.loudness import _channels, _k_weighted, _oversampled_peaks

    rate, n, pad = int(params["rate"]), int(params["samples"]), int(params["margin"])
    mixed = mix_piece(params, audio_of)
    data = _channels(mixed)
    # The K-weighting runs in from the margin before: the filter's state at the boundary
    # is the film's, as if the film were filtered whole.
    weighted = _k_weighted(data[:pad + n], rate)[pad:]
    energies = grain_energies(weighted, int(params["grain"]))
    reach = min(pad, round(LIMITER_REACH_SECONDS * rate))
    # Each sample's 4x-oversampled peak: the limiter's input, for any gain (it scales).
    peaks = _oversampled_peaks(data, single=True).max(axis=1).astype(np.float32)
    peak = float(peaks[pad - reach:pad + n + reach].max()) if n + 2 * reach else 0.0
    np.save(out / "piece.npy", mixed)
    np.save(out / "peaks.npy", peaks)
    np.save(out / "energies.npy", energies)
    (out / "piece.json").write_text(json.dumps({
        "samples": n, "margin": pad, "rate": rate, "channels": data.shape[1],
        "grain": int(params["grain"]), "peak": peak}), encoding="utf-8")
