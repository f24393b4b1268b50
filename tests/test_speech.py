"""Speech engines, with real synthesis (Piper's joe voice; espeak-ng where installed).

The voice loads once for the module; lines are short. Measures what a listener would:
duration, level, peak, median pitch (a small autocorrelation estimator below).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from filmlang import ir
from filmlang.audio import SAMPLE_RATE, read_wav
from filmlang.backends.speech import engines as speech
from filmlang.backends.speech.dsp import CEILING, gaussian
from filmlang.backends.speech.engines import SpeechRequest, SpeechUnavailable
from filmlang.backends.speech.piper import MODEL_ENV, NATURAL_WPM, model_files

ROOT = Path(__file__).resolve().parent.parent
PIPER = speech.ENGINES["piper"]
ESPEAK = speech.ENGINES["espeak"]
needs_piper = pytest.mark.skipif(not PIPER.available(), reason="piper or its voice missing")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed")
TEXT = "The light has to stay on, Tom."


class Take:
    def __init__(self, path: Path, duration: float) -> None:
        self.path = path
        self.duration = duration
        self.bytes = path.read_bytes()
        samples, rate = read_wav(path)
        assert rate == SAMPLE_RATE and samples.shape[1] == 1
        self.samples = samples[:, 0].astype(np.float64)

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(self.samples ** 2)))


Say = Callable[..., Take]


@pytest.fixture(scope="module")
def say(tmp_path_factory: pytest.TempPathFactory) -> Say:
    """Synthesize (memoised per request): say(text, engine=, parenthetical=, seed=, **voice)."""
    folder = tmp_path_factory.mktemp("speech")
    takes: dict[tuple[str, SpeechRequest], Take] = {}

    def run(text: str = TEXT, engine: str = "piper", parenthetical: str | None = None,
            seed: int = 1, **voice: Any) -> Take:
        request = SpeechRequest(text=text, voice=ir.Voice(**voice),
                                parenthetical=parenthetical, seed=seed)
        if (engine, request) not in takes:
            path = folder / f"{engine}-{len(takes)}.wav"
            (seconds,) = speech.ENGINES[engine].synthesize([request], [path])
            takes[(engine, request)] = Take(path, seconds)
        return takes[(engine, request)]

    return run


def median_pitch(samples: np.ndarray[Any, Any], rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """Median f0 (Hz) over voiced 40 ms frames, and the fraction of loud frames voiced.

    Autocorrelation at 12 kHz: a frame is voiced when its normalised autocorrelation peaks
    above 0.5 at a lag between 60 and 400 Hz.
    """
    step = 4
    low = np.convolve(samples, np.full(step, 1.0 / step), mode="same")[::step]
    sr = rate // step
    size, hop = int(0.04 * sr), int(0.01 * sr)
    frames = np.lib.stride_tricks.sliding_window_view(low, size)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = np.sqrt(np.mean(frames ** 2, axis=1))
    loud = frames[energy > 0.3 * energy.max()]
    spectrum = np.fft.rfft(loud, 2 * size, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :size]
    corr = corr / np.maximum(corr[:, :1], 1e-12)
    lo, hi = sr // 400, sr // 60
    lags = np.argmax(corr[:, lo:hi], axis=1) + lo
    peaks = corr[np.arange(len(loud)), lags]
    voiced = peaks > 0.5
    if not voiced.any():
        return 0.0, 0.0
    return float(np.median(sr / lags[voiced])), float(voiced.mean())


def leading_trailing(take: Take) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(take.samples) > 0.01 * np.abs(take.samples).max())
    return loud[0] / SAMPLE_RATE, (len(take.samples) - 1 - loud[-1]) / SAMPLE_RATE


# ---------------------------------------------------------------- cheap: no synthesis


def test_importing_speech_loads_no_heavy_module() -> None:
    code = ("import sys, filmlang.backends.speech.engines\n"
            "print([m for m in ('onnxruntime', 'piper') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_noise_is_a_function_of_key_and_index() -> None:
    small = gaussian(7, (1, 2, 5))
    large = gaussian(7, (1, 4, 9))
    assert np.array_equal(small, large[:, :2, :5])
    assert not np.array_equal(small, gaussian(8, (1, 2, 5)))
    many = gaussian(1, (1, 64, 512))
    assert abs(float(many.mean())) < 0.02 and abs(float(many.std()) - 1.0) < 0.02


def test_engine_params_are_json_and_cover_the_request() -> None:
    base = SpeechRequest(TEXT, ir.Voice(name="en", pitch=40, rate=150), "quietly", 3)
    params = speech.engine_params(PIPER, base)
    assert json.loads(json.dumps(params)) == params
    assert params["engine"] == "piper" and params["version"] == PIPER.version
    assert params["model"] and params["runtime"]
    assert speech.engine_params(PIPER, SpeechRequest(
        TEXT, ir.Voice(name="en", pitch=40, rate=150), "quietly", 3)) == params
    changes = [
        SpeechRequest("Other words.", base.voice, "quietly", 3),
        SpeechRequest(TEXT, ir.Voice(name="en", pitch=41, rate=150), "quietly", 3),
        SpeechRequest(TEXT, ir.Voice(name="en", pitch=40, rate=151), "quietly", 3),
        SpeechRequest(TEXT, ir.Voice(name="en", pitch=40, rate=150, variant="b"), "quietly", 3),
        SpeechRequest(TEXT, ir.Voice(name="en", pitch=40, rate=150, volume=0.5), "quietly", 3),
        SpeechRequest(TEXT, base.voice, None, 3),
        SpeechRequest(TEXT, base.voice, "quietly", 4),
    ]
    assert all(speech.engine_params(PIPER, c) != params for c in changes)
    assert speech.engine_params(ESPEAK, base)["engine"] == "espeak"


def test_parentheticals_combine_known_words() -> None:
    assert speech.parenthetical_delivery(None) == speech.Delivery()
    assert speech.parenthetical_delivery("to herself") == speech.Delivery()
    assert speech.parenthetical_delivery("Whispering").whisper
    both = speech.parenthetical_delivery("quietly, slowly")
    assert both.gain_db < 0 and both.speed < speech.parenthetical_delivery("quietly").speed
    assert speech.parenthetical_delivery("shouting").gain_db > 0


@needs_piper
def test_choose_engine_prefers_piper_for_english() -> None:
    for name in ("", "en", "en-us", "en_US", "en-GB"):
        assert speech.choose_engine(ir.Voice(name=name)).name == "piper"
    assert speech.choose_engine(ir.Voice(name="en"), "piper").name == "piper"
    assert not PIPER.supports(ir.Voice(name="fr"))


def test_choose_engine_without_espeak_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = ESPEAK.available()
    assert not missing and "apt-get install espeak-ng" in missing.install
    with pytest.raises(SpeechUnavailable, match="espeak-ng") as caught:
        speech.choose_engine(ir.Voice(name="fr"))
    assert "apt-get install espeak-ng" in caught.value.install
    with pytest.raises(SpeechUnavailable, match="espeak-ng"):
        speech.choose_engine(ir.Voice(name="en"), "espeak")
    with pytest.raises(SpeechUnavailable, match="unknown voice backend 'festival'"):
        speech.choose_engine(ir.Voice(), "festival")
    with pytest.raises(SpeechUnavailable, match="apt-get install espeak-ng"):
        ESPEAK.synthesize([SpeechRequest("Hi.", ir.Voice())], [tmp_path / "x.wav"])


@needs_piper
def test_missing_piper_model_is_reported(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "nobody.onnx"))
    ready = PIPER.available()
    assert not ready and "nobody.onnx" in ready.reason and MODEL_ENV in ready.install
    with pytest.raises(SpeechUnavailable, match=r"nobody\.onnx"):
        speech.choose_engine(ir.Voice(name="en"), "piper")


# ---------------------------------------------------------------- Piper, real synthesis


@needs_piper
def test_take_is_a_trimmed_48k_mono_wav_as_long_as_it_says(say: Say) -> None:
    take = say()
    with wave.open(str(take.path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 1, 2)
        assert take.duration == wav.getnframes() / float(wav.getframerate())
    assert 1.0 < take.duration < 4.0
    head, tail = leading_trailing(take)
    assert 0.001 < head < 0.06 and 0.001 < tail < 0.06
    assert np.abs(take.samples).max() < 10 ** (-1 / 20)


@needs_piper
def test_same_request_same_bytes_whatever_came_before(say: Say, tmp_path: Path) -> None:
    first = say()
    others = [SpeechRequest("Something else entirely, and longer.", ir.Voice(pitch=30), None, 9),
              SpeechRequest("Run!", ir.Voice(), "shouting", 2),
              SpeechRequest(TEXT, ir.Voice(), None, 1)]
    paths = [tmp_path / f"{i}.wav" for i in range(3)]
    durations = PIPER.synthesize(others, paths)
    assert paths[2].read_bytes() == first.bytes and durations[2] == first.duration


@needs_piper
def test_same_request_same_bytes_in_another_process(say: Say, tmp_path: Path) -> None:
    out = tmp_path / "other.wav"
    code = ("import sys; from pathlib import Path; from filmlang import ir\n"
            "from filmlang.backends.speech import engines as speech\n"
            "r = speech.SpeechRequest(sys.argv[1], ir.Voice(), None, 1)\n"
            "print(speech.ENGINES['piper'].synthesize([r], [Path(sys.argv[2])])[0])\n")
    done = subprocess.run([sys.executable, "-c", code, TEXT, str(out)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert out.read_bytes() == say().bytes
    assert float(done.stdout) == say().duration


@needs_piper
def test_a_voice_kept_prepared_in_the_memo_speaks_the_same_bytes(say: Say,
                                                                tmp_path: Path) -> None:
    """A build keeps the voice prepared in its cache's memo: the first process writes it,
    the next loads it, one with it broken prepares it again; each take is the bytes of a
    voice loaded without a memo."""
    memo = tmp_path / "memo"
    code = ("import sys; from pathlib import Path; from filmlang import ir\n"
            "from filmlang.backends.speech import engines as speech\n"
            "r = speech.SpeechRequest(sys.argv[1], ir.Voice(), None, 1)\n"
            "speech.ENGINES['piper'].synthesize([r], [Path(sys.argv[2])],\n"
            "                                   memo=Path(sys.argv[3]))\n")

    def take(name: str) -> bytes:
        out = tmp_path / name
        subprocess.run([sys.executable, "-c", code, TEXT, str(out), str(memo)], cwd=ROOT,
                       capture_output=True, text=True, check=True)
        return out.read_bytes()

    first = take("first.wav")
    kept = sorted(p.suffix for p in memo.iterdir())
    assert kept == [".json", ".onnx"], kept
    (model,) = memo.glob("*.onnx")
    written = model.stat().st_mtime_ns
    second = take("second.wav")
    assert first == second == say().bytes
    assert model.stat().st_mtime_ns == written          # loaded, not prepared again
    model.write_bytes(model.read_bytes()[:1000])       # a part, as if a process died
    third = take("third.wav")
    assert third == say().bytes and model.stat().st_size > 1_000_000


@needs_piper
def test_seed_gives_another_take_of_the_same_line(say: Say) -> None:
    one, two = say(seed=1), say(seed=2)
    assert one.bytes != two.bytes
    assert abs(one.duration - two.duration) < 0.25 * one.duration


@needs_piper
def test_pitch_moves_the_median_pitch_not_the_pace(say: Say) -> None:
    low, mid, high = say(pitch=20), say(), say(pitch=80)
    f_low, f_mid, f_high = (median_pitch(t.samples)[0] for t in (low, mid, high))
    assert 60 < f_low < f_mid < f_high < 400
    assert f_high / f_low > 1.3  # ±3.6 semitones asked: 1.51
    assert abs(high.duration - low.duration) < 0.12 * mid.duration


@needs_piper
def test_rate_sets_the_pace(say: Say) -> None:
    slow, fast = say(rate=120), say(rate=240)
    assert 1.6 < slow.duration / fast.duration < 2.4
    assert say(rate=NATURAL_WPM).bytes == say().bytes


@needs_piper
def test_natural_pace_is_near_the_measured_rate(say: Say) -> None:
    lines = ["Where did you put the lantern?", "Nobody comes out here in winter.",
             "Get down from there right now. The wave is coming."]
    words = sum(len(re.findall(r"[A-Za-z']+", line)) for line in lines)
    seconds = sum(say(line).duration for line in lines)
    assert 0.8 * NATURAL_WPM < words / seconds * 60 < 1.2 * NATURAL_WPM


@needs_piper
def test_volume_scales_the_level_not_the_length(say: Say) -> None:
    full, half, mute = say(), say(volume=0.5), say(volume=0.0)
    assert 0.45 < half.rms / full.rms < 0.55
    assert mute.rms == 0.0 and mute.duration == full.duration
    loud = say(volume=2.0, parenthetical="shouting")
    assert loud.rms > 1.5 * full.rms
    assert np.abs(loud.samples).max() <= CEILING + 1e-4 < 10 ** (-1 / 20)


@needs_piper
def test_parentheticals_change_the_delivery(say: Say) -> None:
    plain = say()
    whisper, quiet, shout = (say(parenthetical=p) for p in ("whispering", "quietly",
                                                             "shouting"))
    assert whisper.rms < 0.4 * plain.rms
    assert quiet.rms < 0.6 * plain.rms
    assert shout.rms > 1.5 * plain.rms
    assert median_pitch(whisper.samples)[1] < 0.5 * median_pitch(plain.samples)[1]
    assert shout.duration < plain.duration


@needs_piper
def test_variant_is_a_fixed_other_voice(say: Say, tmp_path: Path) -> None:
    m3 = say(variant="m3")
    assert m3.bytes != say().bytes and m3.bytes != say(variant="f2").bytes
    request = SpeechRequest(TEXT, ir.Voice(variant="m3"), None, 1)
    PIPER.synthesize([request], [tmp_path / "again.wav"])
    assert (tmp_path / "again.wav").read_bytes() == m3.bytes


@needs_piper
def test_model_from_the_environment(say: Say, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    files = model_files()
    assert files is not None
    bundled = speech.engine_params(PIPER, SpeechRequest(TEXT, ir.Voice(), None, 1))
    monkeypatch.setenv(MODEL_ENV, str(files[0]))
    assert PIPER.available()
    local = speech.engine_params(PIPER, SpeechRequest(TEXT, ir.Voice(), None, 1))
    assert local["model"].startswith("sha256:") and local["model"] != bundled["model"]
    PIPER.synthesize([SpeechRequest(TEXT, ir.Voice(), None, 1)], [tmp_path / "env.wav"])
    assert (tmp_path / "env.wav").read_bytes() == say().bytes


@needs_piper
def test_nothing_to_say_is_a_short_silence(say: Say) -> None:
    take = say("")
    assert 0.0 < take.duration < 1.0 and take.rms == 0.0


# ---------------------------------------------------------------- espeak-ng, where installed


@needs_espeak
def test_espeak_speaks_other_languages(say: Say) -> None:
    assert speech.choose_engine(ir.Voice(name="fr")).name == "espeak"
    assert not ESPEAK.supports(ir.Voice(name="no-such-language"))
    take = say("Bonjour, Tom.", engine="espeak", name="fr")
    with wave.open(str(take.path), "rb") as wav:
        assert wav.getframerate() == 48000
        assert take.duration == wav.getnframes() / float(wav.getframerate())
    assert take.duration > 0.3
    head, tail = leading_trailing(take)
    assert head < 0.06 and tail < 0.06


@needs_espeak
def test_espeak_is_deterministic_and_follows_the_voice(say: Say, tmp_path: Path) -> None:
    take = say(engine="espeak", name="en")
    ESPEAK.synthesize([SpeechRequest(TEXT, ir.Voice(name="en"), None, 1)],
                      [tmp_path / "again.wav"])
    assert (tmp_path / "again.wav").read_bytes() == take.bytes
    low, high = say(engine="espeak", pitch=20), say(engine="espeak", pitch=80)
    assert median_pitch(high.samples)[0] > 1.2 * median_pitch(low.samples)[0]
    slow, fast = say(engine="espeak", rate=120), say(engine="espeak", rate=240)
    assert slow.duration > 1.5 * fast.duration
    assert say(engine="espeak", parenthetical="whispering").rms < 0.5 * take.rms
    assert say(engine="espeak", variant="f2").bytes != take.bytes
