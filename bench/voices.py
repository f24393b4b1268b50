"""The built-in cast, measured: each gender and age of the bundled voice, saying the same text.

Synthesizes the same two lines with the Piper engine for the voice as it is (joe) and for
every `gender=`/`age=` of `filmlang.voices.TIMBRES`, and measures each take as Praat does
(praat-parselmouth): the median F0, the mean F1 and F2 over voiced frames (Burg, five
formants up to 5.5 kHz, the same settings for every voice) and local jitter; then what the
transform costs against the synthesis it follows (the baseline, in the same run). Prints a
Markdown table (the one in docs/backends.md, "Voices").

    python bench/voices.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import parselmouth
from parselmouth.praat import call

from filmlang import ir, voices
from filmlang.audio import read_wav
from filmlang.backends.speech import engines as speech

REPEATS = 5
"""Timings: the fastest of this many (the machine is noisy)."""
TEXT = ("The light has to stay on tonight, whatever happens out there. "
        "We keep it burning until every boat is home.")


def measure(path: Path) -> dict[str, float]:
    samples, rate = read_wav(path)
    sound = parselmouth.Sound(samples[:, 0].astype(np.float64), sampling_frequency=rate)
    pitch = sound.to_pitch(pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = [t for t, f in zip(pitch.xs(), f0, strict=True) if f > 0]
    formants = sound.to_formant_burg(max_number_of_formants=5, maximum_formant=5500.0)
    pulses = call(sound, "To PointProcess (periodic, cc)", 60.0, 500.0)
    return {
        "f0": float(np.median(f0[f0 > 0])),
        "f1": float(np.nanmean([formants.get_value_at_time(1, t) for t in voiced])),
        "f2": float(np.nanmean([formants.get_value_at_time(2, t) for t in voiced])),
        "jitter": 100.0 * float(call(pulses, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)),
    }


def cost(engine: Any, folder: Path) -> None:
    """The transform's time against the synthesis it follows (the fastest of REPEATS)."""
    from filmlang.backends.speech import voicing
    from filmlang.delivery import Delivery

    path = folder / "plain.wav"
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        (seconds,) = engine.synthesize([speech.SpeechRequest(TEXT, ir.Voice(), None, 1)],
                                       [path])
        times.append(time.perf_counter() - start)
    samples, rate = read_wav(path)
    # The engine transforms at the voice's own rate (22.05 kHz for joe): about half of 48.
    plain, rate = samples[::2, 0], rate // 2
    for name, options in (("female adult", {"gender": "female"}),
                          ("female old", {"gender": "female", "age": "old"})):
        spent = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            voicing.transform(plain, float(rate), ir.Voice(**options), Delivery(), 1)
            spent.append(time.perf_counter() - start)
        print(f"{name}: the transform takes {min(spent):.3f} s, "
              f"{min(spent) / min(times):.2f}x the synthesis of the same {seconds:.1f} s of "
              f"speech ({min(times):.2f} s)")


def main() -> None:
    engine = speech.ENGINES["piper"]
    rows: list[tuple[str, dict[str, Any]]] = []
    kinds: list[tuple[str, dict[str, Any]]] = [("joe, as he is (male adult)", {})]
    kinds += [(f"{gender} {age}", {"gender": gender, "age": age})
              for gender in voices.GENDERS for age in voices.AGES
              if (gender, age) != ("male", "adult")]
    with tempfile.TemporaryDirectory() as folder:
        engine.synthesize([speech.SpeechRequest("Warm up.", ir.Voice())],
                          [Path(folder) / "warm.wav"])
        for index, (name, options) in enumerate(kinds):
            path = Path(folder) / f"{index}.wav"
            engine.synthesize([speech.SpeechRequest(TEXT, ir.Voice(**options), None, 1)],
                              [path])
            rows.append((name, measure(path)))
        base_f2 = rows[0][1]["f2"]
        print("| voice | median F0 | mean F1 | mean F2 | F2 vs joe | jitter |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, row in rows:
            print(f"| {name} | {row['f0']:.0f} Hz | {row['f1']:.0f} Hz | {row['f2']:.0f} Hz | "
                  f"{100.0 * (row['f2'] / base_f2 - 1.0):+.1f}% | {row['jitter']:.2f}% |")
        print()
        cost(engine, Path(folder))


if __name__ == "__main__":
    main()
