"""The SoundFont music backend: a tiny SF2 written here, parsed, played and built with."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from conftest import write_film
from filmlang import session
from filmlang.audio import SAMPLE_RATE, read_wav
from filmlang.backends.music import sampler, sf2, synth
from filmlang.backends.music import soundfont as sf
from filmlang.build import BuildResult, build
from filmlang.config import BuildConfig

SR = SAMPLE_RATE
FLUID = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
Floats = npt.NDArray[np.float64]

# The test sample: 100 samples a cycle at 44 kHz is exactly 440 Hz, so a loop of whole
# cycles has no seam, and a root key of 69 (A4) makes key 69 sound at 440 Hz.
RATE = 44_000
PERIOD = 100
LENGTH = 44 * PERIOD
LOOP = (11 * PERIOD + 25, 43 * PERIOD + 25)  # at a peak of the wave, not a zero


def _timecents(seconds: float) -> int:
    return round(1200.0 * np.log2(seconds))


def _chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _gen(oper: int, amount: int) -> bytes:
    return struct.pack("<Hh", oper, amount)


def _range(lo: int, hi: int) -> int:
    value = lo | (hi << 8)
    return value - 65536 if value >= 32768 else value


def wave(kind: str) -> Floats:
    phase = np.arange(LENGTH) / PERIOD
    if kind == "saw":
        return 2.0 * (phase % 1.0) - 1.0
    return np.sin(2.0 * np.pi * phase)


def write_sf2(path: Path, kind: str = "sine", attack: float = 0.05, release: float = 0.5,
              drums: bool = True) -> Path:
    """A valid SF2: a looped `kind` wave at 440 Hz (root key 69) in a melodic preset (0, 0)
    whose soft notes (velocity < 64) sound an octave up (coarse tune +12), and, with
    `drums`, a kit at bank 128 whose key 36 plays a short, unlooped decaying tone."""
    tone = np.round(0.5 * 32767 * wave(kind)).astype("<i2")
    tone[LOOP[1]:] = 0  # past the loop: silence, so a loop read past its end would click
    t = np.arange(2400) / RATE
    hit = np.round(0.8 * 32767 * np.sin(2 * np.pi * 110 * t) * np.exp(-t / 0.01)).astype("<i2")
    pad = np.zeros(46, dtype="<i2")
    smpl = b"".join(x.tobytes() for x in (tone, pad, hit, pad))
    hit_start = LENGTH + 46
    shdr = b"".join([
        struct.pack("<20sIIIIIBbHH", b"tone", 0, LENGTH, LOOP[0], LOOP[1], RATE, 69, 0, 0, 1),
        struct.pack("<20sIIIIIBbHH", b"hit", hit_start, hit_start + 2400, hit_start + 8,
                    hit_start + 2300, RATE, 36, 0, 0, 1),
        struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ])
    igen = [
        # instrument 0, global zone: the envelope
        _gen(sf2.ATTACK, _timecents(attack)), _gen(sf2.RELEASE, _timecents(release)),
        # zone: loud notes
        _gen(sf2.KEY_RANGE, _range(0, 127)), _gen(sf2.VEL_RANGE, _range(64, 127)),
        _gen(sf2.SAMPLE_MODES, 1), _gen(sf2.SAMPLE_ID, 0),
        # zone: soft notes, an octave up
        _gen(sf2.KEY_RANGE, _range(0, 127)), _gen(sf2.VEL_RANGE, _range(0, 63)),
        _gen(sf2.COARSE_TUNE, 12), _gen(sf2.SAMPLE_MODES, 1), _gen(sf2.SAMPLE_ID, 0),
        # instrument 1: the drum
        _gen(sf2.KEY_RANGE, _range(36, 36)), _gen(sf2.SAMPLE_ID, 1),
        _gen(0, 0),
    ]
    ibag = [(0, 0), (2, 0), (6, 0), (11, 0), (13, 0)]
    inst = [(b"tone", 0), (b"kit", 3), (b"EOI", 4)]
    pgen = [_gen(sf2.INSTRUMENT, 0), _gen(sf2.INSTRUMENT, 1), _gen(0, 0)]
    pbag = [(0, 0), (1, 0), (2, 0)]
    phdr = [(b"Tone", 0, 0, 0)] + ([(b"Kit", 0, 128, 1)] if drums else []) + [
        (b"EOP", 0, 0, 2 if drums else 1)]
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)),
                 _chunk(b"isng", b"EMU8000\0"), _chunk(b"INAM", b"filmlang test\0"))
    sdta = _list(b"sdta", _chunk(b"smpl", smpl))
    pdta = _list(
        b"pdta",
        _chunk(b"phdr", b"".join(struct.pack("<20sHHHIII", n, p, b, g, 0, 0, 0)
                                 for n, p, b, g in phdr)),
        _chunk(b"pbag", b"".join(struct.pack("<HH", *x) for x in pbag)),
        _chunk(b"pmod", b"\0" * 10),
        _chunk(b"pgen", b"".join(pgen)),
        _chunk(b"inst", b"".join(struct.pack("<20sH", n, b) for n, b in inst)),
        _chunk(b"ibag", b"".join(struct.pack("<HH", *x) for x in ibag)),
        _chunk(b"imod", b"\0" * 10),
        _chunk(b"igen", b"".join(igen)),
        _chunk(b"shdr", shdr))
    path.write_bytes(_chunk(b"RIFF", b"sfbk" + info + sdta + pdta))
    return path


@pytest.fixture
def font(tmp_path: Path) -> sf2.SoundFont:
    return sf2.parse(write_sf2(tmp_path / "test.sf2"))


def peak_frequency(x: Floats, sr: int = SR) -> float:
    """The strongest frequency, refined by parabolic interpolation of the log spectrum."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    i = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[i - 1:i + 2] + 1e-12)
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float((i + shift) * sr / len(x))


def level_db(x: Floats) -> float:
    return 20.0 * float(np.log10(max(float(np.sqrt(np.mean(x * x))), 1e-12)))


# Parsing ----------------------------------------------------------------------------------


def test_the_parsed_structure(font: sf2.SoundFont) -> None:
    assert sorted(font.presets) == [(0, 0), (128, 0)]
    tone = font.presets[(0, 0)]
    assert tone.name == "Tone"
    loud, soft = tone.regions
    assert (loud.velocities, soft.velocities) == ((64, 127), (0, 63))
    assert loud.keys == (0, 127) and loud.root == 69 and loud.rate == RATE
    assert (loud.start, loud.end, loud.loop_start, loud.loop_end) == (0, LENGTH, *LOOP)
    assert loud.loops and (loud.cents, soft.cents) == (0.0, 1200.0)
    assert loud.attack == pytest.approx(0.05, rel=0.01)
    assert loud.release == pytest.approx(0.5, rel=0.01)
    kit = font.presets[(128, 0)]
    (drum,) = kit.regions
    assert drum.keys == (36, 36) and not drum.loops and drum.start == LENGTH + 46
    assert font.preset(0, 40) is tone  # a program the font lacks: its first melodic preset
    assert font.preset(128, 25) is kit


def test_what_is_not_an_sf2_is_named(tmp_path: Path) -> None:
    text = tmp_path / "notes.sf2"
    text.write_text("not a soundfont")
    assert "not a SoundFont 2 file" in (sf.problem(text) or "")
    assert sf.problem(tmp_path / "missing.sf2") == "the file does not exist"
    good = write_sf2(tmp_path / "good.sf2")
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(good.read_bytes()[:-300])
    assert "truncated" in (sf.problem(cut) or "")
    assert sf.problem(good) is None


# Playing notes ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [69, 76])
def test_a_note_sounds_at_its_pitch(font: sf2.SoundFont, key: int) -> None:
    played = sampler.note(font, font.presets[(0, 0)], key, 100, SR, SR)
    assert played is not None
    left, right = played
    assert np.allclose(left, right)  # a centred zone
    expected = 440.0 * 2.0 ** ((key - 69) / 12.0)
    assert peak_frequency(left[SR // 10:SR]) == pytest.approx(expected, abs=0.5)


def test_velocity_chooses_the_zone(font: sf2.SoundFont) -> None:
    played = sampler.note(font, font.presets[(0, 0)], 69, 40, SR // 2, SR)
    assert played is not None
    assert peak_frequency(played[0][SR // 10:SR // 2]) == pytest.approx(880.0, abs=1.0)
    assert sampler.velocity_gain(40) < 0.25 * sampler.velocity_gain(100)


def test_the_loop_has_no_seam(font: sf2.SoundFont) -> None:
    """A sustained note runs through its loop many times; its steps stay those of a sine."""
    played = sampler.note(font, font.presets[(0, 0)], 69, 100, 2 * SR, SR)
    assert played is not None
    held = played[0][SR // 5:2 * SR]
    amplitude = float(np.abs(held).max())
    slope = 2 * np.pi * 440.0 / SR * amplitude
    assert float(np.abs(np.diff(held)).max()) < 1.02 * slope
    assert level_db(held[:SR // 2]) == pytest.approx(level_db(held[-SR // 2:]), abs=0.1)


def test_envelope_attack_and_release(font: sf2.SoundFont) -> None:
    gate = SR // 2
    played = sampler.note(font, font.presets[(0, 0)], 69, 100, gate, SR)
    assert played is not None
    x = played[0]
    # Held, then the 0.5 s release, kept until it has fallen TAIL_DB (60 dB: 0.3 s).
    assert len(x) == gate + round(0.5 * sampler.TAIL_DB / 100.0 * SR)
    ms = SR // 1000
    # A linear attack over 50 ms: the first 5 ms are ~26 dB below the sustain.
    assert level_db(x[:5 * ms]) < level_db(x[100 * ms:200 * ms]) - 20.0
    # The release falls 100 dB over its 0.5 s: 20 dB after 0.1 s, 40 dB after 0.2 s.
    at_gate = level_db(x[gate - 10 * ms:gate])
    assert level_db(x[gate + 95 * ms:gate + 105 * ms]) == pytest.approx(at_gate - 20.0, abs=1.5)
    assert level_db(x[gate + 195 * ms:gate + 205 * ms]) == pytest.approx(at_gate - 40.0, abs=1.5)
    assert abs(x[-1]) < 1e-6  # ends at silence


def test_a_long_release_is_cut_without_a_click(tmp_path: Path) -> None:
    font = sf2.parse(write_sf2(tmp_path / "long.sf2", release=20.0))
    gate = SR // 4
    played = sampler.note(font, font.presets[(0, 0)], 69, 100, gate, SR)
    assert played is not None
    x = played[0]
    assert len(x) == gate + round(sampler.MAX_RELEASE * SR)
    tail = x[-round(sampler.END_FADE * SR):]
    before = float(np.abs(x[-2 * len(tail):-len(tail)]).max())
    assert before > 0.05  # still ringing when the tail is cut ...
    # ... so it fades out over its last 5 ms: the last millisecond is below a fifth.
    assert float(np.abs(x[-48:]).max()) < 0.22 * before and abs(x[-1]) < 1e-9


def test_drums_come_from_bank_128(font: sf2.SoundFont) -> None:
    kit = font.preset(128, 0)
    assert kit is not None
    assert sampler.note(font, kit, 38, 100, SR // 10, SR, one_shot=True) is None  # no snare here
    hit = sampler.note(font, kit, 36, 100, SR // 10, SR, one_shot=True)
    assert hit is not None
    assert len(hit[0]) == pytest.approx(2400 * SR / RATE, abs=2)  # its natural length
    assert peak_frequency(np.pad(hit[0], (0, SR - len(hit[0])))) == pytest.approx(110, abs=3)


# Cues -------------------------------------------------------------------------------------


def test_cues_are_deterministic_and_not_the_synthesizer(tmp_path: Path) -> None:
    path = write_sf2(tmp_path / "test.sf2")
    first = synth.render_music("upbeat", None, "A minor", 6.0, 3, soundfont=path)
    # A fresh parse, as in another process.
    with session.Session() as fresh, session.active(fresh):
        again = synth.render_music("upbeat", None, "A minor", 6.0, 3, soundfont=path)
    assert first.tobytes() == again.tobytes()
    assert first.shape == (6 * SR, 2)
    builtin = synth.render_music("upbeat", None, "A minor", 6.0, 3)
    assert np.abs(first - builtin).max() > 0.05
    # The mood's level (the windows of a cue cannot know its own peak), below the ceiling.
    assert 10 ** (-12 / 20) < float(np.abs(first).max()) <= 0.95
    # Fades at both ends: silence at the very start and end.
    assert float(np.abs(first[:48]).max()) < 1e-3 and float(np.abs(first[-48:]).max()) < 1e-2


def test_long_cues_are_seamless_across_chunks(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.backends.music import band as synth_music

    path = write_sf2(tmp_path / "test.sf2")
    whole = synth.render_music("warm", None, None, 8.0, 1, soundfont=path)
    monkeypatch.setattr(synth_music, "CHUNK", 1.7)
    chunked = synth.render_music("warm", None, None, 8.0, 1, soundfont=path)
    assert np.abs(whole - chunked).max() < 1e-5


# Building ---------------------------------------------------------------------------------

SCORED = '''film "Scored" {
    size 160x90
    fps 8
    seed 5
}

scene sea "EXT. SEA - DAY" {
    music "calm"
    shot wide 2.5s
}

scene shore "EXT. SHORE - DAY" {
    music "calm"
    shot wide 2s
}
'''


def _music_jobs(result: BuildResult) -> list[tuple[str, str, dict[str, object]]]:
    assert result.graph is not None
    # (key, engine, params): the music backend says which renderer plays the cue
    return [(job.key, str(job.params["engine"]), job.params)
            for job in result.graph.jobs.values() if job.kind == "music"]


def _cue(folder: Path, key: str) -> Floats:
    samples, _ = read_wav(folder / ".filmcache" / "objects" / key[:2] / key / "audio.wav")
    return samples.astype(np.float64)


def test_a_build_plays_its_music_on_the_soundfont(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    film = write_film(tmp_path, SCORED)
    font = write_sf2(tmp_path / "a.sf2")
    monkeypatch.setenv(sf.ENV, str(font))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    played = build(film, jobs=1)
    assert played.ok, played.diagnostics or played.failures
    ((key, backend, params),) = _music_jobs(played)  # both scenes: one cue, carried over
    assert backend == f"soundfont@{sf.VERSION}"
    assert params["soundfont"] == sf.identity(font) and params["seconds"] == 4.5
    cue = _cue(tmp_path, key)

    plain = build(film, jobs=1, config=BuildConfig(music="synth"))
    ((synth_key, synth_backend, synth_params),) = _music_jobs(plain)
    assert synth_backend == f"synth@{synth.VERSION}" and "soundfont" not in synth_params
    assert synth_key != key
    assert np.abs(cue - _cue(tmp_path, synth_key)).max() > 0.05

    # Another SoundFont (a saw, not a sine): the music's key changes, nothing else reruns.
    time.sleep(0.01)
    write_sf2(font, kind="saw")
    again = build(film, jobs=1)
    ((new_key, _, new_params),) = _music_jobs(again)
    assert new_key != key and new_params["soundfont"] != params["soundfont"]
    ran = {job.kind for job, status, _ in again.records() if status == "ran"}
    assert ran == {"music", "piece", "levels", "chunk", "mix", "mux"}


def _cli(folder: Path, film: Path, env: dict[str, str], *args: str
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", "build", *args, str(film)],
                          capture_output=True,
                          text=True, timeout=300, cwd=folder, env={**os.environ, **env})


def test_a_bad_filmc_soundfont_is_an_error_before_any_work(tmp_path: Path) -> None:
    film = write_film(tmp_path, SCORED)
    junk = tmp_path / "junk.sf2"
    junk.write_text("not a soundfont")
    for named, why in ((tmp_path / "missing.sf2", "the file does not exist"),
                       (junk, "it is not a SoundFont 2 file")):
        result = _cli(tmp_path, film, {sf.ENV: str(named)})
        assert result.returncode == 1, result.stderr
        err = result.stderr
        assert f"error: {sf.ENV} names '{named}', which cannot be used: {why}" in err
        assert "[E0603]" in err and "tiny.film:1:1" in err and "Traceback" not in err
        assert "help: set FILMC_SOUNDFONT to a General MIDI .sf2 file" in err
        assert "--backend music=synth" in err
        assert not (tmp_path / ".filmcache" / "objects").exists() or not any(
            (tmp_path / ".filmcache" / "objects").iterdir())


def test_only_films_with_music_need_a_good_soundfont(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from filmlang.api import check_file
    from filmlang.plan.planner import backend_problems

    monkeypatch.setenv(sf.ENV, str(tmp_path / "missing.sf2"))
    scored = check_file(write_film(tmp_path / "a", SCORED)).film
    silent = check_file(write_film(tmp_path / "b", SCORED.replace('    music "calm"\n', ""))).film
    assert scored is not None and silent is not None
    assert [d.code for d in backend_problems(scored, BuildConfig())] == ["E0603"]
    assert backend_problems(silent, BuildConfig()) == []
    assert backend_problems(scored, BuildConfig(music="synth")) == []


def test_music_soundfont_needs_a_soundfont(tmp_path: Path) -> None:
    film = write_film(tmp_path, SCORED.replace("seed 5", "seed 5\n    backend music=soundfont"))
    result = _cli(tmp_path, film, {sf.ENV: "none"})
    assert result.returncode == 1
    assert "the 'soundfont' music backend has no SoundFont" in result.stderr
    assert "apt install fluid-soundfont-gm" in result.stderr and "Traceback" not in result.stderr


def test_the_soundfont_is_found_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    font = write_sf2(tmp_path / "x.sf2")
    monkeypatch.setenv(sf.ENV, str(font))
    assert sf.find() == font
    assert sf.chosen("", "") == font  # the film names no music backend: the best there is
    assert sf.chosen("soundfont", "") == font
    assert sf.chosen("synth", "") is None  # backend music=synth in the film
    assert sf.chosen("", "synth") is None  # --backend music=synth
    assert sf.chosen("synth", "soundfont") == font  # the command line wins
    monkeypatch.setenv(sf.ENV, "none")
    assert sf.find() is None and sf.planned("", "") is None
    monkeypatch.delenv(sf.ENV)
    system = next((Path(p) for p in sf.SYSTEM_PATHS if Path(p).is_file()), None)
    assert sf.find() == system


def test_a_film_that_names_the_synthesizer_gets_it(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`backend music=synth` in the film plays the built-in synthesizer even where a
    SoundFont is found; `--backend music=soundfont` overrides the film."""
    monkeypatch.setenv(sf.ENV, str(write_sf2(tmp_path / "x.sf2")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    film = write_film(tmp_path, SCORED.replace("seed 5", "seed 5\n    backend music=synth"))
    named = build(film, jobs=1)
    assert named.ok, named.diagnostics or named.failures
    ((_, backend, _),) = _music_jobs(named)
    assert backend == f"synth@{synth.VERSION}"
    overridden = build(film, jobs=1, config=BuildConfig(music="soundfont"))
    ((_, backend, _),) = _music_jobs(overridden)
    assert backend == f"soundfont@{sf.VERSION}"


def test_the_hash_is_memoised_by_size_and_mtime(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write_sf2(tmp_path / "m.sf2")
    first = sf.identity(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "cache" / "filmlang" / "soundfonts.json").is_file()
    # Same size and mtime, other bytes: the memo (of this process, then of the last build)
    # answers without reading the file, as make would.
    info = path.stat()
    write_sf2(path, kind="saw")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert sf.identity(path) == first
    session.current().cache("soundfont.hashes").clear()
    assert sf.identity(path) == first
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
    assert sf.identity(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


# The General MIDI SoundFont, where it is installed -----------------------------------------


@pytest.mark.skipif(not FLUID.is_file(), reason="FluidR3_GM.sf2 is not installed")
@pytest.mark.parametrize("mood, key, scale", [("warm", "C major", (0, 2, 4, 5, 7, 9, 11)),
                                              ("upbeat", "F# major", (6, 8, 10, 11, 1, 3, 5))])
def test_fluidr3_plays_music_in_its_key(mood: str, key: str, scale: tuple[int, ...]) -> None:
    start = time.process_time()
    cue = synth.render_music(mood, None, key, 20.0, 0, soundfont=FLUID)
    assert time.process_time() - start < 10.0
    assert cue.shape == (20 * SR, 2) and np.isfinite(cue).all()
    # The mood's level (about -6 dBFS: a window cannot know its cue's own peak), and
    # never above the soft limit's ceiling: no clipping.
    assert 10 ** (-12 / 20) < float(np.abs(cue).max()) <= 0.95
    assert level_db(cue.astype(np.float64)) > -30.0  # not silent
    power = np.abs(np.fft.rfft(cue.mean(axis=1, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(cue), 1.0 / SR)
    audible = (freqs > 60.0) & (freqs < 2000.0)
    classes = np.round(12.0 * np.log2(freqs[audible] / 440.0) + 69.0).astype(int) % 12
    chroma = np.bincount(classes, weights=power[audible], minlength=12)
    assert chroma[list(scale)].sum() > 0.8 * chroma.sum()


def test_a_good_soundfont_is_parsed_once_across_builds(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before a build remembers a file that parsed (a no-op rebuild must not parse
    a 140 MB SoundFont again); a file saved again is parsed again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font = write_sf2(tmp_path / "x.sf2")
    monkeypatch.setenv(sf.ENV, str(font))
    assert sf.selection_problem("", "", True) is None
    parses = []
    real = sf2.parse

    def counting(path: Path) -> sf2.SoundFont:
        parses.append(path)
        return real(path)

    monkeypatch.setattr(sf, "parse", counting)
    assert sf.selection_problem("", "", True) is None
    assert parses == []
    stat = font.stat()
    os.utime(font, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # saved again
    assert sf.selection_problem("", "", True) is None
    assert parses == [font]


def test_a_parse_is_kept_between_processes_and_redone_when_broken(tmp_path: Path) -> None:
    """A new session loads the kept parse (the same presets, the same samples); a kept parse
    that is not whole, or of the file before it was saved again, is parsed again."""
    path = write_sf2(tmp_path / "kept.sf2")
    with session.active(session.Session("first")):
        first = sf2.parse(path)
        before = np.array(first.samples)
    (kept,) = (Path(os.environ["XDG_CACHE_HOME"]) / "filmlang" / "sf2").glob(
        f"{sf2._kept_file(sf2.stamp(path)).stem}.json")
    reads = []
    real = sf2.read

    def counting(where: Path) -> sf2.SoundFont:
        reads.append(where)
        return real(where)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sf2, "read", counting)
        with session.active(session.Session("second")):
            second = sf2.parse(path)
        assert reads == []
        assert second.presets == first.presets and second.name == first.name
        assert np.array_equal(second.samples, first.samples)
        kept.write_text(kept.read_text(encoding="utf-8")[:100], encoding="utf-8")
        with session.active(session.Session("third")):
            assert sf2.parse(path).presets == first.presets
        assert len(reads) == 1
        write_sf2(path, kind="saw")                  # saved again: another stamp
        with session.active(session.Session("fourth")):
            fourth = sf2.parse(path)
        assert len(reads) == 2 and not np.array_equal(fourth.samples, before)
