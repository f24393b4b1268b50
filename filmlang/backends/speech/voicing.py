"""A voice's gender and age, and a delivery's pitch range, by transforming a take.

The bundled voice is one man; `filmlang.voices.TIMBRES` says how each gender and age
differs from him. `transform` applies that with Praat's "Change gender" through
`praat-parselmouth` (a well-kept binding of Praat itself, not hand-written DSP): the sound
is resampled to scale its formants by `Timbre.formants`, then PSOLA puts the pitch's
median at `Timbre.median_hz` (times the line's own pitch change) and scales its range by
the delivery's `range`; its length stays the same. An old voice then gets `Timbre.jitter`:
every glottal period's pitch moved by seeded noise (a second PSOLA pass), which Praat's
jitter measure sees and a listener hears as a less steady voice. It runs as one Praat
script (`SCRIPT`) that seeds Praat's random numbers from the take's key first.

A take keeps its exact length, so the timeline (and the picture) does not change when a
voice does. Deterministic: Praat's own random numbers are seeded from the take's key for each take
(under a lock: Praat's state is global), so a take is the same whatever came before.
`parselmouth` and numpy are imported in the functions.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from filmlang import ir, voices
from filmlang.delivery import Delivery

if TYPE_CHECKING:
    from filmlang.backends.speech.dsp import Samples

PITCH_FLOOR = 60.0
"""Hz: the lowest pitch Praat looks for (joe at pitch=0 is about 65 Hz)."""
PITCH_CEILING = 600.0
SCRIPT = """
form Voicing
    integer seed
    real floor
    real ceiling
    real formants
    real median
    real range
    real jitter
endform
random_initializeWithSeedUnsafelyButPredictably: seed
Change gender: floor, ceiling, formants, median, range, 1.0
if jitter > 0
    changed = selected ("Sound")
    manipulation = To Manipulation: 0.01, floor, ceiling
    tier = Extract pitch tier
    Formula: "self * (1 + jitter * max (-2.5, min (2.5, sqrt (-2 * ln (randomUniform (1e-12, 1)))
    ... * cos (2 * pi * randomUniform (0, 1)))))"
    selectObject: manipulation, tier
    Replace pitch tier
    selectObject: manipulation
    Get resynthesis (overlap-add)
endif
"""
"""The transform as one Praat script, so that Praat's random numbers (its overlap-add draws
some for unvoiced stretches; the jitter draws one per glottal period) come from the take's
seed: the same take in any process, after any other. The jitter's normal noise is made from
two uniform draws (Box-Muller), not `randomGauss`, which keeps a spare value across seeds."""
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

    shift = 2.0 ** (delivery.semitones / 12.0)
    median = 0.0
    formants = 1.0
    if timbre is not None:
        median = timbre.median_hz * shift if timbre.median_hz else 0.0
        formants = timbre.formants / shift
    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=rate)
    jitter = timbre.jitter if timbre is not None else 0.0
    try:
        with _PRAAT:
            (changed,) = parselmouth.praat.run(
                sound, SCRIPT, key & 0x7FFF_FFFF, PITCH_FLOOR, PITCH_CEILING, formants,
                median, delivery.range, jitter)
    except parselmouth.PraatError:
        return samples  # too short or unvoiced to analyse: the take as it was
    out = np.asarray(changed.values[0], dtype=np.float32)
    if len(out) != len(samples):   # Praat keeps the length; make sure, to the sample
        out = np.resize(out, len(samples)) if len(out) > len(samples) else np.concatenate(
            [out, np.zeros(len(samples) - len(out), dtype=np.float32)])
    result: Samples = out
    return result
