"""A voice's gender and age, and a delivery's pitch range, by transforming a take.

The bundled voice is one man; `filmlang.voices.TIMBRES` says how each gender and age
differs from him. `transform` applies that with Praat's "Change gender" through
`praat-parselmouth` (a well-kept binding of Praat itself, not hand-written DSP): the sound
is resampled to scale its formants by `Timbre.formants`, then PSOLA puts the pitch's
median at `Timbre.median_hz` (times the line's own pitch change) and scales its range by
the delivery's `range`; its length stays the same. An old voice then gets `Timbre.jitter`:
every glottal period's pitch moved by seeded noise (a second PSOLA pass), which Praat's
jitter measure sees and a listener hears as a less steady voice.

A take keeps its exact length, so the timeline (and the picture) does not change when a
voice does. Deterministic: Praat has no randomness here, and the jitter's noise comes from
`dsp.gaussian` with the take's key. `parselmouth` and numpy are imported in the functions.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from filmlang import ir, voices
from filmlang.backends.speech import dsp
from filmlang.delivery import Delivery

if TYPE_CHECKING:
    from filmlang.backends.speech.dsp import Samples

PITCH_FLOOR = 60.0
"""Hz: the lowest pitch Praat looks for (joe at pitch=0 is about 65 Hz)."""
PITCH_CEILING = 600.0
_PRAAT = threading.Lock()
"""One transform at a time: Praat keeps global state and is not made to be re-entered from
several threads (speech jobs run on the scheduler's threads)."""


def needed(voice: ir.Voice, delivery: Delivery) -> bool:
    """Whether a take of this voice and delivery is transformed at all."""
    return voices.timbre(voice) is not None or delivery.range != 1.0


def transform(samples: Samples, rate: float, voice: ir.Voice, delivery: Delivery,
              key: int) -> Samples:
    """The take in the voice's gender and age, with the delivery's pitch range.

    `samples` play at `rate` (already shifted by the delivery's semitones by resampling,
    which moved their formants by as much: the formant ratio makes up for it).
    """
    import numpy as np

    timbre = voices.timbre(voice)
    if (timbre is None and delivery.range == 1.0) or len(samples) == 0:
        return samples
    import parselmouth
    from parselmouth.praat import call

    shift = 2.0 ** (delivery.semitones / 12.0)
    median = 0.0
    formants = 1.0
    if timbre is not None:
        median = timbre.median_hz * shift if timbre.median_hz else 0.0
        formants = timbre.formants / shift
    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=rate)
    try:
        with _PRAAT:
            changed = call(sound, "Change gender", PITCH_FLOOR, PITCH_CEILING, formants,
                           median, delivery.range, 1.0)
            if timbre is not None and timbre.jitter:
                changed = _jitter(changed, timbre.jitter, key)
    except parselmouth.PraatError:
        return samples  # too short or unvoiced to analyse: the take as it was
    out = np.asarray(changed.values[0], dtype=np.float32)
    if len(out) != len(samples):   # Praat keeps the length; make sure, to the sample
        out = np.resize(out, len(samples)) if len(out) > len(samples) else np.concatenate(
            [out, np.zeros(len(samples) - len(out), dtype=np.float32)])
    result: Samples = out
    return result


def _jitter(sound: Any, amount: float, key: int) -> Any:
    """Each glottal period's pitch moved by `amount` (a fraction) of seeded noise."""
    import numpy as np
    from parselmouth.praat import call

    manipulation = call(sound, "To Manipulation", 0.01, PITCH_FLOOR, PITCH_CEILING)
    tier = call(manipulation, "Extract pitch tier")
    count = int(call(tier, "Get number of points"))
    if count == 0:
        return sound
    times = [call(tier, "Get time from index", i + 1) for i in range(count)]
    values = np.array([call(tier, "Get value at index", i + 1) for i in range(count)])
    noise = np.clip(dsp.gaussian(key, (count,)).astype(np.float64), -2.5, 2.5)
    wobbled = call("Create PitchTier", "jitter", sound.xmin, sound.xmax)
    for time, value in zip(times, values * (1.0 + amount * noise), strict=True):
        call(wobbled, "Add point", float(time), float(value))
    call([manipulation, wobbled], "Replace pitch tier")
    return call(manipulation, "Get resynthesis (overlap-add)")
