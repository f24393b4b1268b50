"""A cast, not one man: voices by gender and age, defaults from the look, delivery, V.O./O.S.

The cheap part reads looks and parentheticals and checks films (W0003, W0004). The costly
part builds a four-character film (a man, a woman, a boy, an old woman, none with
`pitch=`) and measures each character's speech in the built film with Praat
(praat-parselmouth): the median F0, the mean F1 and F2 over voiced frames, and the jitter.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ROOT, check_source
from filmlang import delivery, ir, voices
from filmlang.backends.speech import engines as speech
from filmlang.build import BuildResult, build
from filmlang.link.ffmpeg import ffmpeg_exe

parselmouth = pytest.importorskip("parselmouth")
call = parselmouth.praat.call
PIPER = speech.ENGINES["piper"]
needs_piper = pytest.mark.skipif(not PIPER.available(), reason="piper or its voice missing")

LINES = ("The light has to stay on tonight, whatever happens out there.",
         "We keep it burning until every boat is home.")
CAST = {
    "VIKTOR": "gaunt man in his forties, long charcoal coat",
    "ELSA": "ferry captain, a woman in her thirties, red scarf",
    "JONAH": "eleven-year-old boy, freckles, green parka",
    "MARA": "old woman, grey braid, yellow raincoat",
}


def four_film() -> str:
    people = "".join(f'character {name} {{\n    look "{look}"\n}}\n\n'
                     for name, look in CAST.items())
    shots = "".join(f'    shot close_up {name} {{\n' + "".join(
        f'        {name}: "{line}"\n' for line in LINES) + "    }\n" for name in CAST)
    return ('film "Cast" {\n    size 160x90\n    fps 8\n    seed 2\n}\n\n' + people
            + 'scene harbour "EXT. HARBOUR - DAY" {\n    music none\n    ambience none\n'
            + shots + "}\n")


# ---------------------------------------------------------------- cheap: no synthesis


@pytest.mark.parametrize(("look", "expected"), [
    ("weathered lighthouse keeper in her sixties, grey braid", ("female", "old")),
    ("young fisherman, wool cap", ("male", "young")),
    ("eleven-year-old boy, freckles", ("male", "child")),
    ("gaunt man in his forties", ("male", "adult")),
    ("a girl of seven with a kite", ("female", "child")),
    ("an old woman with a cane", ("female", "old")),
    ("policeman, grey moustache", ("male", "old")),
    ("lighthouse keeper, yellow raincoat", (None, None)),
])
def test_the_look_suggests_gender_and_age(look: str, expected: tuple[str | None, ...]) -> None:
    assert voices.guess(look) == expected


def test_parentheticals_read_placement_and_unknown_words() -> None:
    assert delivery.read("V.O.") == delivery.Reading("voice_over", None, ())
    assert delivery.read("O.S., shouting") == delivery.Reading("off_screen", "shouting", ())
    assert delivery.read("to TOM, quietly").unknown == ()
    assert delivery.read("dry").unknown == () and delivery.read("dyr").unknown == ("dyr",)
    dry = delivery.parenthetical_delivery("dry")
    assert dry.range < 1.0 and delivery.parenthetical_delivery("sarcastic").range > 1.0
    assert delivery.parenthetical_delivery("nervous").breath > 0.0
    assert delivery.parenthetical_delivery("crying").breath > 0.0


def test_the_docs_list_every_delivery_word() -> None:
    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    section = text[text.index("### Delivery"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    listed = set(re.findall(r"`([a-z']+)`", section))
    missing = sorted(set(delivery.DELIVERIES) - listed)
    assert not missing, f"docs/backends.md does not list: {missing}"


def test_defaults_come_from_the_look_and_stay_apart(tmp_path: Path) -> None:
    text = four_film().replace(
        'character MARA', 'character ANNA {\n    look "a woman, blue coat"\n}\n\ncharacter MARA')
    text = text.replace('        MARA: "We', '        ANNA: "Hello."\n        MARA: "We')
    result = check_source(tmp_path, text)
    assert result.film is not None, result.report()
    cast = {c.name: c.voice for c in result.film.characters}
    assert (cast["VIKTOR"].gender, cast["VIKTOR"].age) == ("male", "adult")
    assert (cast["ELSA"].gender, cast["ELSA"].age) == ("female", "adult")
    assert (cast["JONAH"].gender, cast["JONAH"].age) == ("male", "child")
    assert (cast["MARA"].gender, cast["MARA"].age) == ("female", "old")
    assert cast["ANNA"].gender == "female" and cast["ANNA"].age is None
    # ELSA and ANNA are both adult women with no voice: they get pitches apart.
    apart = abs(voices.semitones(cast["ELSA"]) - voices.semitones(cast["ANNA"]))
    assert apart >= voices.ALIKE_SEMITONES
    assert not [d for d in result.diagnostics if d.code == "W0003"]


def test_two_characters_who_sound_alike_are_named(tmp_path: Path) -> None:
    text = '''film "Twins" { size 320x180 }
character ANNA {
    look "a woman in a blue coat"
    voice "en" pitch=50
}
character BETH {
    look "a woman in a red coat"
    voice "en" pitch=55
}
character CARL {
    look "a man"
    voice "en" pitch=52
}
scene s { shot wide ANNA BETH {
    ANNA: "Hello."
    BETH: "Hello to you."
    CARL: "And me."
} }
'''
    result = check_source(tmp_path, text)
    alike = [d for d in result.diagnostics if d.code == "W0003"]
    assert len(alike) == 1, result.report()
    warning = alike[0]
    assert "ANNA" in warning.message and "BETH" in warning.message
    assert warning.span.line == 6 and "pitch=" in warning.help and "gender=" in warning.help
    assert result.film is not None   # a warning: it still builds


def test_unknown_parenthetical_is_a_warning_with_the_known_ones(tmp_path: Path) -> None:
    text = '''film "Dry" { size 320x180 }
character ANNA { look "a woman" }
scene s { shot wide ANNA {
    ANNA (dry): "Lovely."
    ANNA (whisperin): "Lovely."
    ANNA (to herself, V.O.): "Lovely."
} }
'''
    result = check_source(tmp_path, text)
    unknown = [d for d in result.diagnostics if d.code == "W0004"]
    assert len(unknown) == 1, result.report()
    assert '"whisperin"' in unknown[0].message
    assert "did you mean 'whispering'?" in unknown[0].help and "sarcastic" in unknown[0].help
    assert (unknown[0].span.line, unknown[0].span.column) == (5, 10)
    assert result.film is not None
    lines = result.film.shots[0].lines
    assert [line.placement for line in lines] == ["on", "on", "voice_over"]
    assert lines[2].parenthetical == "to herself"


# ---------------------------------------------------------------- measured on a built film


def measure(samples: np.ndarray[Any, Any], rate: int) -> dict[str, float]:
    """Median F0, mean F1 and F2 over voiced frames (Burg, 5 formants up to 5.5 kHz, the
    same settings for every voice), and local jitter, as Praat measures them."""
    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=rate)
    pitch = sound.to_pitch(pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = [t for t, f in zip(pitch.xs(), f0, strict=True) if f > 0]
    formants = sound.to_formant_burg(max_number_of_formants=5, maximum_formant=5500.0)
    f1 = np.nanmean([formants.get_value_at_time(1, t) for t in voiced])
    f2 = np.nanmean([formants.get_value_at_time(2, t) for t in voiced])
    pulses = call(sound, "To PointProcess (periodic, cc)", 60.0, 500.0)
    jitter = call(pulses, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
    return {"f0": float(np.median(f0[f0 > 0])), "f1": float(f1), "f2": float(f2),
            "jitter": float(jitter) * 100.0}


def film_audio(result: BuildResult) -> tuple[np.ndarray[Any, Any], int]:
    assert result.output is not None
    rate = 48000
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(result.output), "-vn", "-ac",
                          "1", "-ar", str(rate), "-f", "f32le", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, dtype=np.float32), rate


def by_character(result: BuildResult) -> dict[str, np.ndarray[Any, Any]]:
    """Each character's lines, cut from the built film's sound track and joined."""
    audio, rate = film_audio(result)
    assert result.timeline is not None
    parts: dict[str, list[np.ndarray[Any, Any]]] = {}
    for timing in result.timeline.shots:
        for lt in timing.lines:
            parts.setdefault(lt.line.speaker, []).append(
                audio[round(lt.start * rate): round(lt.end * rate)])
    return {name: np.concatenate(pieces) for name, pieces in parts.items()}


@pytest.fixture(scope="module")
def cast_film(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    folder = tmp_path_factory.mktemp("cast")
    path = folder / "cast.film"
    path.write_text(four_film(), encoding="utf-8")
    result = build(path, jobs=2)
    assert result.ok, (result.check.report(), result.diagnostics,
                       [f.message for f in result.failures])
    figures = {name: measure(samples, 48000) for name, samples in by_character(result).items()}
    for name, row in figures.items():
        print(f"{name}: F0 {row['f0']:.0f} Hz, F1 {row['f1']:.0f} Hz, F2 {row['f2']:.0f} Hz, "
              f"jitter {row['jitter']:.2f}%")
    return figures


@needs_piper
@pytest.mark.slow
def test_four_characters_meet_the_pitch_targets(cast_film: dict[str, dict[str, float]]) -> None:
    assert cast_film["ELSA"]["f0"] >= 165.0, cast_film
    assert cast_film["VIKTOR"]["f0"] <= 140.0, cast_film
    assert cast_film["JONAH"]["f0"] >= 220.0, cast_film
    assert cast_film["MARA"]["f0"] >= 165.0, cast_film


@needs_piper
@pytest.mark.slow
def test_formants_move_with_gender_and_age(cast_film: dict[str, dict[str, float]]) -> None:
    woman, man = cast_film["ELSA"], cast_film["VIKTOR"]
    assert woman["f2"] >= 1.10 * man["f2"], cast_film
    assert woman["f1"] > man["f1"] and cast_film["JONAH"]["f2"] > man["f2"], cast_film


@needs_piper
@pytest.mark.slow
def test_the_old_voice_is_less_steady(cast_film: dict[str, dict[str, float]]) -> None:
    assert cast_film["MARA"]["jitter"] > 1.2 * cast_film["ELSA"]["jitter"], cast_film


@needs_piper
def test_a_voice_keeps_its_length_whatever_its_gender(tmp_path: Path) -> None:
    """The timeline, and so the picture, does not change when a voice does."""
    requests = [speech.SpeechRequest(LINES[0], ir.Voice(name="en", pitch=40, rate=150, **kw),
                                     "quietly", 3)
                for kw in ({}, {"gender": "female", "age": "old"}, {"gender": "male",
                                                                     "age": "child"})]
    outputs = [tmp_path / f"{i}.wav" for i in range(len(requests))]
    seconds = PIPER.synthesize(requests, outputs)
    assert seconds[0] == seconds[1] == seconds[2]
    assert outputs[0].read_bytes() != outputs[1].read_bytes()


@needs_piper
def test_a_transformed_take_is_the_same_in_another_process(tmp_path: Path) -> None:
    """Praat's random numbers (overlap-add, jitter) are seeded per take."""
    import sys

    voice = {"gender": "female", "age": "old"}
    request = speech.SpeechRequest(LINES[0], ir.Voice(**voice), "nervous", 7)
    PIPER.synthesize([request], [tmp_path / "here.wav"])
    code = ("import sys; from pathlib import Path; from filmlang import ir\n"
            "from filmlang.backends.speech import engines as s\n"
            "e = s.ENGINES['piper']\n"
            "e.synthesize([s.SpeechRequest('Something else first.', ir.Voice(gender='male',"
            " age='old'))], [Path(sys.argv[1]) / 'other.wav'])\n"
            f"e.synthesize([s.SpeechRequest({LINES[0]!r}, ir.Voice(**{voice!r}), 'nervous',"
            " 7)], [Path(sys.argv[1]) / 'there.wav'])\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=300)
    assert (tmp_path / "here.wav").read_bytes() == (tmp_path / "there.wav").read_bytes()


@needs_piper
def test_off_screen_is_muffled_and_voice_over_moves_no_lips(tmp_path: Path) -> None:
    text = '''film "Off" {
    size 160x90
    fps 8
}
character ANNA { look "a woman" }
scene s {
    music none
    ambience none
    shot close_up ANNA {
        ANNA: "Is anyone there?"
        ANNA (O.S.): "Is anyone there?"
        ANNA (V.O.): "Is anyone there?"
    }
}
'''
    path = tmp_path / "off.film"
    path.write_text(text, encoding="utf-8")
    result = build(path, jobs=2)
    assert result.ok and result.graph is not None and result.timeline is not None
    mouths = [m for job in result.graph.jobs.values() if job.kind == "segment"
              for m in job.params["shot"]["mouths"]]
    lines = result.timeline.shots[0].lines
    assert len(mouths) == 1 and mouths[0]["last"] <= round(8 * lines[1].start) + 1, mouths
    audio, rate = film_audio(result)

    def highs_and_level(lt: Any) -> tuple[float, float]:
        """The share of the line's energy above 3 kHz, and its RMS."""
        piece = audio[round(lt.start * rate): round(lt.end * rate)].astype(np.float64)
        power = np.abs(np.fft.rfft(piece)) ** 2
        high = np.fft.rfftfreq(len(piece), 1 / rate) > 3000.0
        return float(power[high].sum() / power.sum()), float(np.sqrt(np.mean(piece ** 2)))

    on, off, over = (highs_and_level(lt) for lt in lines)
    assert off[0] < 0.3 * on[0] and off[1] < on[1], (on, off)
    assert abs(over[0] - on[0]) < 0.2 * on[0] and over[1] > 1.1 * on[1], (on, over)


# ---------------------------------------------------------------- voices people own

OWN_FILM = '''film "Own" {{
    size 160x90
    fps 8
}}
character ANNA {{
    look "a woman"
    voice "voices/alba.onnx"{options}
}}
scene s {{
    music none
    ambience none
    shot close_up ANNA {{
        ANNA: "Is anyone there?"
    }}
}}
'''


def own_voice(folder: Path, speakers: dict[str, int] | None = None) -> Path:
    """A Piper voice of one's own: joe's model and config under another name."""
    import json
    import shutil

    from filmlang.backends.speech.piper import model_files

    files = model_files()
    assert files is not None
    target = folder / "voices"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files[0], target / "alba.onnx")
    config = json.loads(files[1].read_text(encoding="utf-8"))
    if speakers is not None:
        config["speaker_id_map"] = speakers
    (target / "alba.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return target / "alba.onnx"


def test_a_voice_file_is_kept_relative_to_the_film(tmp_path: Path) -> None:
    result = check_source(tmp_path, OWN_FILM.format(options=' speaker="1" gender=female'))
    assert result.film is not None, result.report()
    voice = result.film.characters[0].voice
    assert voice.model == "piper:voices/alba.onnx" and voice.name == ""
    assert voice.speaker == "1" and voice.gender == "female"
    (tmp_path / "a").mkdir()
    outside = check_source(tmp_path / "a", OWN_FILM.replace("voices/alba", "../../alba")
                           .format(options=""))
    assert [d.code for d in outside.diagnostics if d.is_error] == ["E0403"]


@needs_piper
def test_a_missing_or_broken_voice_file_is_e0603_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "own.film"
    path.write_text(OWN_FILM.format(options=""), encoding="utf-8")
    missing = build(path, jobs=1)
    assert not missing.ok and [d.code for d in missing.diagnostics] == ["E0603"]
    assert str(tmp_path / "voices" / "alba.onnx") in missing.diagnostics[0].message
    assert missing.reports == []        # nothing ran

    model = own_voice(tmp_path)
    model.with_name("alba.onnx.json").write_text("{not json", encoding="utf-8")
    broken = build(path, jobs=1)
    assert [d.code for d in broken.diagnostics] == ["E0603"]
    assert "alba.onnx.json is broken" in broken.diagnostics[0].message

    own_voice(tmp_path)
    path.write_text(OWN_FILM.format(options=' speaker="mara"'), encoding="utf-8")
    unknown = build(path, jobs=1)
    assert [d.code for d in unknown.diagnostics] == ["E0603"]
    assert "no speaker 'mara'" in unknown.diagnostics[0].message


@needs_piper
def test_a_voice_file_of_ones_own_speaks_and_is_keyed_by_its_hash(tmp_path: Path) -> None:
    from filmlang.jobs import file_digest

    model = own_voice(tmp_path, speakers={"anna": 0})
    voice = ir.Voice(model=f"piper:{model}", speaker="anna")
    request = speech.SpeechRequest(LINES[1], voice, None, 3)
    engine = speech.choose_engine(voice, "espeak")     # the file decides, not the film's
    assert engine is PIPER
    params = speech.engine_params(engine, request)
    assert file_digest(model) in params["model"] and str(tmp_path) not in json_text(params)
    (seconds,) = PIPER.synthesize([request], [tmp_path / "own.wav"])
    joe = PIPER.synthesize([speech.SpeechRequest(LINES[1], ir.Voice(), None, 3)],
                           [tmp_path / "joe.wav"])
    # The same network: the same take as the bundled voice's.
    assert seconds == joe[0]
    assert (tmp_path / "own.wav").read_bytes() == (tmp_path / "joe.wav").read_bytes()


def json_text(value: Any) -> str:
    import json

    return json.dumps(value)


@pytest.mark.skipif(not speech.ENGINES["espeak"].available(), reason="espeak-ng is missing")
def test_espeak_speaks_gender_and_age_with_its_own_variants(tmp_path: Path) -> None:
    from filmlang.audio import read_wav

    espeak = speech.ENGINES["espeak"]
    kinds = {"man": {"gender": "male"}, "woman": {"gender": "female"},
             "girl": {"gender": "female", "age": "child"}}
    f0 = {}
    for name, options in kinds.items():
        path = tmp_path / f"{name}.wav"
        espeak.synthesize([speech.SpeechRequest(LINES[0], ir.Voice(name="en", **options))],
                          [path])
        samples, rate = read_wav(path)
        f0[name] = measure(samples[:, 0], rate)["f0"]
    assert f0["man"] < f0["woman"] < f0["girl"], f0
