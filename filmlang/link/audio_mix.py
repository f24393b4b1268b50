"""The film's sound mix: clips placed on a timeline, summed into one stereo track.

Takes `Clip`s (float32 samples at `SAMPLE_RATE`, or `PREVIEW_RATE` for a preview, a start
time, a gain and a kind) and gives a float32 (samples, 2) array of exactly the film's length.
Dialogue is centred; music and ambience duck under dialogue, with a gain envelope built
from the dialogue clips' spans (ramped down over `attack` before a line, back up over
`release` after it, and held down across short gaps between lines so the music does not
pump). The mix is not clipped or
normalised here: `link/master.py` levels the film from its pieces (`link/pieces.py`, a
scene each, mixed here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from filmlang.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

ClipKind = Literal["dialogue", "music", "ambience", "effect"]
CLIP_KINDS: tuple[str, ...] = get_args(ClipKind)
DUCKED_KINDS = frozenset({"music", "ambience"})
PREVIEW_RATE = SAMPLE_RATE // 2      # the planner's PREVIEW_AUDIO_RATE
DUAL_MONO_DB = 3.0103
"""How much louder (BS.1770) a mono track is when played on both speakers."""
"""A preview's mix runs at half the rate: half the work in mixing, loudness and AAC."""


@dataclass(frozen=True, eq=False)
class Clip:
    """A sound placed on the film's timeline.

    `samples` is (n,) mono or (n, 2) stereo at `SAMPLE_RATE`; `start` is in seconds from
    the start of the film (it may be negative: the clip then starts part-way through).
    `fade_in`/`fade_out` (seconds) shape the clip's own ends, e.g. for music under a scene.
    """

    samples: Samples
    start: float
    gain: float = 1.0
    _: KW_ONLY
    kind: ClipKind
    fade_in: float = 0.0
    fade_out: float = 0.0
    rate: int = SAMPLE_RATE
    """The samples' rate: the mix's (a preview mixes at `PREVIEW_RATE`)."""

    def __post_init__(self) -> None:
        if self.kind not in CLIP_KINDS:
            raise ValueError(f"unknown clip kind {self.kind!r}; expected one of "
                             f"{', '.join(CLIP_KINDS)}")
        shape: tuple[int, ...] = tuple(getattr(self.samples, "shape", ()))
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] not in (1, 2)):
            raise ValueError(f"clip samples must be (n,) or (n, 2), got shape {shape}")

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def end(self) -> float:
        return self.start + self.duration


def _stereo(clip: Clip) -> Samples:
    """The clip as (n, 2) float32 with its gain and fades; dialogue folded to the centre."""
    import numpy as np

    data = np.asarray(clip.samples, dtype=np.float32)
    if data.ndim == 2 and (data.shape[1] == 1 or clip.kind == "dialogue"):
        data = data.mean(axis=1)
    if data.ndim == 1:
        data = np.repeat(data[:, None], 2, axis=1)
    data = data * np.float32(clip.gain)
    n = len(data)
    for seconds, at_start in ((clip.fade_in, True), (clip.fade_out, False)):
        length = min(n, round(seconds * clip.rate))
        if length > 0:
            ramp = _smoothstep(np.linspace(0.0, 1.0, length, dtype=np.float32))
            if at_start:
                data[:length] *= ramp[:, None]
            else:
                data[n - length:] *= ramp[::-1, None]
    return data


def _smoothstep(x: Samples) -> Samples:
    """A raised-cosine shaped ramp from 0 to 1: no corner where a ramp meets a level."""
    import numpy as np

    return np.asarray(x * x * (3.0 - 2.0 * x), dtype=np.float32)


def _place(bus: Samples, clip: Clip) -> None:
    """Add the clip into `bus` at its start sample, cut to the bus's length."""
    data = _stereo(clip)
    start = round(clip.start * clip.rate)
    lo, hi = max(start, 0), min(start + len(data), len(bus))
    if hi > lo:
        bus[lo:hi] += data[lo - start:hi - start]


def dialogue_spans(clips: Iterable[Clip], *, hold: float = 0.0) -> list[tuple[float, float]]:
    """The (start, end) spans where dialogue plays, merged where they are `hold` apart."""
    spans = sorted((c.start, c.end) for c in clips if c.kind == "dialogue" and len(c.samples))
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= hold:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def duck_envelope(spans: Sequence[tuple[float, float]], n: int, *, duck_db: float = -12.0,
                  attack: float = 0.08, release: float = 0.35,
                  rate: int = SAMPLE_RATE) -> Samples:
    """Gain (n,) for music and ambience: 1 away from dialogue, `duck_db` under it.

    The depth ramps in over `attack` seconds before each span and out over `release`
    seconds after it, shaped by a smoothstep and applied in decibels, so the change is
    smooth to the ear.
    """
    import numpy as np

    depth = np.zeros(n, dtype=np.float32)
    attack_n, release_n = round(attack * rate), round(release * rate)
    for start, end in spans:
        s, e = round(start * rate), round(end * rate)
        pieces = ((s - attack_n, s, True), (e, e + release_n, False))
        lo, hi = max(s, 0), min(e, n)
        if hi > lo:
            depth[lo:hi] = 1.0
        for a, b, rising in pieces:
            if b <= a:
                continue
            t = np.arange(a, b, dtype=np.float32) - a + (1.0 if rising else 0.0)
            ramp = _smoothstep(np.clip(t / (b - a), 0.0, 1.0))
            ramp = ramp if rising else 1.0 - ramp
            lo, hi = max(a, 0), min(b, n)
            if hi > lo:
                np.maximum(depth[lo:hi], ramp[lo - a:hi - a], out=depth[lo:hi])
    return np.asarray(np.power(np.float32(10.0), depth * np.float32(duck_db / 20.0)),
                      dtype=np.float32)


Fade = tuple[float, float, float, float]
"""(start, end, from, to): the picture fading between two gains (0 black, 1 seen), in
seconds of the film."""


def fade_envelope(fades: Sequence[Fade], n: int, rate: int = SAMPLE_RATE) -> Samples:
    """The sound's gain (n,) following the picture's fades: a fade to black takes it to
    silence a little before the picture is black (by half the fade, at most 0.5 s:
    silence is heard as the end of the picture's fall, not after it), a fade in brings it
    back as the picture comes up; raised-cosine ramps, no click."""
    import numpy as np

    gain = np.ones(n, dtype=np.float32)
    for start, end, a, b in fades:
        lead = min(0.5, 0.5 * (end - start))
        lo, hi = (start, end - lead) if b < a else (start + lead, end)
        i0, i1, i2 = (max(0, min(n, round(t * rate))) for t in (start, lo, end))
        i_hi = max(0, min(n, round(hi * rate)))
        if b < a:      # down: ramp over [start, end - lead], silent to the end
            ramp = _smoothstep(np.linspace(1.0, 0.0, max(0, i_hi - i0), dtype=np.float32))
            gain[i0:i_hi] = np.minimum(gain[i0:i_hi], ramp)
            gain[i_hi:i2] = 0.0
        else:          # up: silent to start + lead, ramp to the end
            ramp = _smoothstep(np.linspace(0.0, 1.0, max(0, i2 - i1), dtype=np.float32))
            gain[i0:i1] = 0.0
            gain[i1:i2] = np.minimum(gain[i1:i2], ramp)
    return gain


def _exempt(clip: Clip, fades: Sequence[Fade]) -> bool:
    """An effect cued inside a fade plays as written, at its own level: the writer put it
    there (thunder in the dark)."""
    return clip.kind == "effect" and any(s <= clip.start <= e for s, e, _, _ in fades)


def mix(clips: Iterable[Clip], seconds: float, *, duck_db: float = -12.0, attack: float = 0.08,
        release: float = 0.35, rate: int = SAMPLE_RATE, fades: Sequence[Fade] = ()) -> Samples:
    """Mix `clips` (all at `rate`) into a (round(seconds * rate), 2) float32 track.

    Each clip starts at its exact sample and is cut at the film's ends. Music and ambience
    are multiplied by the ducking envelope of the dialogue spans (gaps between lines shorter
    than attack + release stay ducked). The picture's `fades` take everything with them
    (`fade_envelope`) but effects cued inside a fade.
    """
    import numpy as np

    clips = list(clips)
    for clip in clips:
        if clip.rate != rate:
            raise ValueError(f"a clip at {clip.rate} Hz in a mix at {rate} Hz")
    n = max(0, round(seconds * rate))
    under = np.zeros((n, 2), dtype=np.float32)
    over = np.zeros((n, 2), dtype=np.float32)
    free = np.zeros((n, 2), dtype=np.float32) if fades else over
    for clip in clips:
        _place(free if fades and _exempt(clip, fades) else
               under if clip.kind in DUCKED_KINDS else over, clip)
    spans = dialogue_spans(clips, hold=attack + release)
    if spans and duck_db != 0.0 and n:
        envelope = duck_envelope(spans, n, duck_db=duck_db, attack=attack, release=release,
                                 rate=rate)
        under *= envelope[:, None]
    over += under
    if fades:
        over *= fade_envelope(fades, n, rate)[:, None]
        over += free
    return over


def half_rate(samples: Samples) -> Samples:
    """(n,) or (n, c) at `SAMPLE_RATE` to half that rate: a windowed-sinc low-pass at 0.45
    of the old Nyquist (10.8 kHz, under the new one's 12 kHz), then every other sample."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    if not len(data):
        return data[::2]
    kernel = _half_band()
    half = len(kernel) // 2
    columns = data[:, None] if data.ndim == 1 else data
    out = np.stack([np.convolve(columns[:, c], kernel)[half:half + len(columns)][::2]
                    for c in range(columns.shape[1])], axis=1).astype(np.float32)
    return out[:, 0] if data.ndim == 1 else out


def _half_band(taps: int = 47) -> Samples:
    import numpy as np

    t = np.arange(taps) - taps // 2
    kernel = 0.45 * np.sinc(0.45 * t) * np.blackman(taps)
    return np.asarray(kernel / kernel.sum(), dtype=np.float32)


STEMS: dict[str, tuple[str, ...]] = {"dialogue": ("dialogue",), "music": ("music",),
                                     "effects": ("ambience", "effect")}
"""Each stem and the kinds of sound it holds: together, every sound of the mix."""


def stem(mixed: Samples, clips: list[Clip], params: dict[str, Any], rate: int,
         fades: Sequence[Fade] = ()) -> Samples:
    """One stem (`params["stem"]`): the mix of its sounds, the others silenced (so the
    ducking is the film's), times the film's own loudness and limiter gain: the stems add
    up to the film's mix."""
    import dataclasses

    import numpy as np

    from filmlang.link.loudness import GAIN_STEP_DB, normalize_gain

    # The film's gain is in steps (`link/master.py`): the stems take the same.
    gain = normalize_gain(mixed, params["loudness"], max_true_peak=-1.5, rate=rate,
                          step_db=GAIN_STEP_DB)
    kinds = STEMS[params["stem"]]
    part = mix([c if c.kind in kinds else dataclasses.replace(c, gain=0.0) for c in clips],
               params["seconds"], rate=rate, fades=fades)
    return np.asarray(part * gain[:, None], dtype=np.float32)


def mix_job(params: dict[str, Any], out: Path, audio_of: Callable[[str], Path]) -> None:
    """A whole-film mix job, as an export's stems use it: its clips' audio (found by
    `audio_of(key)`) placed, ducked, levelled to the film's loudness and written to
    `out/mix.wav` (the film's own sound is made in pieces: `link/pieces.py`)."""
    import numpy as np

    from filmlang import audio
    from filmlang.link.loudness import normalize
    from filmlang.link.mux import encode_audio

    rate = int(params.get("rate", audio.SAMPLE_RATE))     # a preview mixes at PREVIEW_RATE
    loaded: dict[str, Any] = {}
    clips = []
    for clip in params["clips"]:
        key = clip["input"]
        if key not in loaded:
            samples, source_rate = audio.read_wav(audio_of(key))
            samples = audio.resample(samples, source_rate)
            loaded[key] = half_rate(samples) if rate == PREVIEW_RATE else samples
        samples = loaded[key]
        if "length" in clip:        # a preview's bed, rendered long: cut, with a fade out
            samples = samples[: round(clip["length"] * rate)]
        clips.append(Clip(samples=samples, start=clip["start"], gain=clip["gain"],
                          kind=clip["kind"], rate=rate, fade_out=clip.get("fade_out", 0.0)))
    fades = [(float(a), float(b), float(c), float(d)) for a, b, c, d in params.get("fades", ())]
    mixed = mix(clips, params["seconds"], rate=rate, fades=fades)
    if "stem" in params:
        audio.write_wav(out / "mix.wav", stem(mixed, clips, params, rate, fades), rate)
        return
    # -1.5 dBTP in the mix keeps the film under -1 dBTP after AAC, which overshoots a little.
    if rate != PREVIEW_RATE:
        audio.write_wav(out / "mix.wav",
                        normalize(mixed, params["loudness"], max_true_peak=-1.5), rate)
        return
    # A preview is dual mono: levelled as one channel (half the work), which on both
    # speakers is 3 dB louder than it measures alone; 0.5 LU from the target will do.
    mono = normalize(mixed.mean(axis=1), params["loudness"] - DUAL_MONO_DB,
                     max_true_peak=-1.5, rate=rate, tolerance=0.5)
    audio.write_wav(out / "mix.wav", np.repeat(mono[:, None], 2, axis=1), rate)
    encode_audio(out / "mix.wav", out / "mix.m4a")     # the mux copies it

