"""SoundFont (SF2) music: the composer's scores played on a General MIDI SoundFont.

Takes an `.sf2` file and a `synth_score.Score`; gives the same cue the built-in
synthesizer would play, on General MIDI instruments. No C library: `sf2` reads the file,
`sampler` plays its notes; this module chooses the file, keys it, and plays a score on it
(`SoundFontBand`).

- Which file: `$FILMC_SOUNDFONT` wins (a file that is missing or not an SF2 is error
  E0603 before any work; `none` turns SoundFonts off), else the first of `SYSTEM_PATHS`
  that exists, else no SoundFont (the built-in synthesizer plays).
- Keys: `identity` gives the file's sha256, memoised per (path, size, mtime) in the build
  session (`filmlang.session`, cache `soundfont.hashes`) and in
  `~/.cache/filmlang/soundfonts.json`, so a 140 MB file is hashed once; `sf2.parse` is
  cached per session the same way (`soundfont.fonts`).
- Levels: each GM preset is levelled against the synthesizer's voices (`level`), so the
  mix keeps the synthesizer's balance of lead, pads, bass, arpeggios and drums.
- Cost: release tails are kept until they have fallen `sampler.TAIL_DB` (at most
  `sampler.MAX_RELEASE` seconds), and notes that repeat in a cue are rendered once
  (`sampler.NoteCache`): a minute of music takes one to two seconds of one core.
- Modulators, filters, LFOs, chorus and the SoundFont's own reverb are not applied (the
  cue gets the synthesizer's room instead); 24-bit `sm24` is ignored (16 bits are used).

Importing this module is cheap: numpy loads on first use.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import session
from filmlang.backends.music.sampler import MAX_RELEASE, NoteCache, note, velocity_gain
from filmlang.backends.music.sf2 import (
    Preset,
    SoundFont,
    SoundFontError,
    check_header,
    parse,
    stamp,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.backends.music.score import Score

    Signal = npt.NDArray[np.float64]
    Mono = npt.NDArray[np.float32]

VERSION = "2"
"""Part of the key of every cue rendered from a SoundFont: bump it when output changes."""

ENV = "FILMC_SOUNDFONT"
SYSTEM_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/sounds/sf2/FluidR3_GM.sf2",
)
INSTALL_HELP = ("install a General MIDI SoundFont (`apt install fluid-soundfont-gm`) or set "
                f"{ENV}=/path/to/file.sf2")


# Where the file is and what it is ----------------------------------------------------------


def find() -> Path | None:
    """The SoundFont to play music with: `$FILMC_SOUNDFONT`, else the first system one that
    exists, else None. The named file is not checked here (see `problem`)."""
    named = os.environ.get(ENV, "").strip()
    if named.lower() == "none":
        return None
    if named:
        return Path(named).expanduser()
    for candidate in SYSTEM_PATHS:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def problem(path: Path) -> str | None:
    """Why `path` cannot be played (in words), or None when it is a readable SF2."""
    try:
        check_header(path)
    except SoundFontError as exc:
        return str(exc)
    return None


def identity(path: Path) -> str:
    """The sha256 of the file's content, memoised per (path, size, mtime): in the session,
    and across builds in `$XDG_CACHE_HOME/filmlang/soundfonts.json` (as make trusts mtimes)."""
    file = stamp(path)

    def digest() -> str:
        memo = _memo_file()
        key = "|".join(map(str, file))
        known = _load_memo(memo).get(key)
        if known is None:
            from filmlang.jobs import file_digest

            known = file_digest(Path(file[0]))
            _save_memo(memo, key, known)
        return known

    found: str = session.current().cache("soundfont.hashes").get_or_make(file, digest)
    return found


def _memo_file() -> Path:
    from filmlang.resources import user_cache_dir

    return user_cache_dir() / "soundfonts.json"


def _load_memo(memo: Path) -> dict[str, str]:
    import json

    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_memo(memo: Path, key: str, value: str) -> None:
    """Best effort: a read-only home only means hashing again next time."""
    import json

    entries = _load_memo(memo)
    entries[key] = value
    if len(entries) > 64:
        entries = dict(list(entries.items())[-64:])
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        temp = memo.with_name(f".{memo.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        temp.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
        os.replace(temp, memo)
    except OSError:
        pass


# GM instruments for the composer's voices ---------------------------------------------------

PROGRAMS: dict[str, int] = {
    "pad": 89,      # Pad 2 (warm)
    "strings": 48,  # String Ensemble 1
    "flute": 73,    # Flute
    "keys": 0,      # Acoustic Grand Piano
    "pluck": 46,    # Orchestral Harp
    "bell": 8,      # Celesta
    "brass": 60,    # French Horn
}
BASS_PROGRAMS: dict[str, int] = {
    "upbeat": 33, "action": 33, "playful": 32, "hopeful": 33,  # fingered / acoustic
    "melancholy": 35, "mysterious": 35, "calm": 35,             # fretless
}
DEFAULT_BASS = 32  # Acoustic Bass
DRUM_KEYS: dict[str, int] = {
    "kick": 36, "snare": 38, "hat": 42, "shaker": 70, "rim": 37, "taiko": 41,
}


REFERENCE_KEYS = {"bass": 40, "pad": 60, "lead": 72, "arp": 72}
"""The key each part is levelled at (see `level`)."""
LEVEL = 0.5
"""The RMS a levelled note has at velocity 100, before the part's gain."""
TRIM = {"arp": 1.6, "drums": 0.75}
"""Gains on top of the synthesizer's mix of each part, measured to keep its balance:
arpeggios on a decaying piano or harp sound quieter than their onsets say, and GM drums
peak-normalised are louder than the synthesizer's."""


def level(font: SoundFont, preset: Preset, key: int) -> float:
    """The gain that levels `preset` with the synthesizer's voices (GM presets differ by
    20 dB and more): LEVEL over the loudest 50 ms RMS of a note (at `key`, or the nearest
    key it plays, velocity 100) held a second: the onset of a piano, the swell of a pad."""
    import numpy as np

    for candidate in sorted(range(128), key=lambda k: (abs(k - key), k)):
        played = note(font, preset, candidate, 100, font_rate(1.0), font_rate(1.0))
        if played is not None:
            break
    else:
        return 1.0
    frame = font_rate(0.05)
    count = min(len(played[0]), font_rate(1.0)) // frame
    if count == 0:
        return 1.0
    power = sum(np.square(x[:count * frame]).reshape(count, frame).mean(axis=1)
                for x in played) / 2.0
    rms = float(np.sqrt(np.max(power)))
    return LEVEL / rms if rms > 1e-4 else 1.0


def font_rate(seconds: float) -> int:
    from filmlang.audio import SAMPLE_RATE

    return round(seconds * SAMPLE_RATE)


def program(voice: str, mood: str) -> int:
    if voice == "bass":
        return BASS_PROGRAMS.get(mood, DEFAULT_BASS)
    return PROGRAMS.get(voice, 0)


class SoundFontBand:
    """Plays a score on a SoundFont into any stretch of the cue (the same samples whichever
    stretch is asked for), like `synth_music.Band`."""

    def __init__(self, font: SoundFont, score: Score, rng: np.random.Generator,
                 sr: int, names: list[str]) -> None:
        from filmlang.backends.music.kit import DRUM_VARIANTS, drum

        self.font = font
        self.score = score
        self.sr = sr
        self.kit = font.preset(128, 0)
        self.levels: dict[tuple[object, ...], float] = {}
        self.cache = NoteCache()
        self.drum_cache = NoteCache()
        # Drums the kit lacks (or a font with no kit) are the synthesizer's: the mood's
        # whole kit, whichever drums this stretch of the cue plays.
        self.fallback = {name: [drum(name, rng) for _ in range(DRUM_VARIANTS)]
                         for name in names}

    def _level(self, preset: Preset, part: str) -> float:
        key = (preset.bank, preset.program, part)
        if key not in self.levels:
            self.levels[key] = level(self.font, preset, REFERENCE_KEYS.get(part, 60))
        return self.levels[key]

    def _peak(self, drum: str) -> float:
        """The gain that brings a hit at velocity 100 to a peak of 1, as the synthesizer's
        drums are made."""
        import numpy as np

        key = ("kit", DRUM_KEYS[drum], drum)
        if key not in self.levels and self.kit is not None:
            played = note(self.font, self.kit, DRUM_KEYS[drum], 100, round(0.3 * self.sr),
                          self.sr, one_shot=True)
            peak = max(float(np.abs(x).max()) for x in played) if played else 0.0
            self.levels[key] = 1.0 / peak if peak > 1e-4 else 1.0
        return self.levels.get(key, 1.0)

    def play(self, lo: int, hi: int) -> Signal:
        """Samples lo to hi of the dry mix, as (2, hi - lo)."""
        import numpy as np

        from filmlang.backends.music import dsp
        from filmlang.backends.music.kit import DRUMS, PARTS

        out = np.zeros((2, hi - lo))
        sr = self.sr
        mood = self.score.mood.name
        for item in self.score.notes:
            start = round(item.start * sr)
            if start >= hi or start + (item.gate + MAX_RELEASE) * sr + 1 < lo:
                continue
            preset = self.font.preset(0, program(item.voice, mood))
            if preset is None:
                continue
            key = max(0, min(127, round(item.pitch)))
            velocity = max(1, min(127, round(127 * min(1.0, item.velocity))))
            played = note(self.font, preset, key, velocity, round(item.gate * sr), sr,
                          cache=self.cache)
            if played is None:
                continue
            gain, pan = PARTS[item.part]
            gain *= velocity_gain(velocity) / velocity_gain(100) * self._level(preset, item.part)
            gain *= TRIM.get(item.part, 1.0)
            _add_stereo(out, start - lo, played, pan, gain, dsp)
        for hit in self.score.hits:
            start = round(hit.start * sr)
            if start >= hi:
                continue
            gain, pan = DRUMS[hit.drum]
            velocity = max(1, min(127, round(127 * min(1.0, hit.velocity))))
            played = None
            if self.kit is not None:
                played = note(self.font, self.kit, DRUM_KEYS[hit.drum], velocity,
                              round(0.3 * sr), sr, one_shot=True, cache=self.drum_cache)
            if played is not None:
                if start + len(played[0]) < lo:
                    continue
                gain *= velocity_gain(velocity) / velocity_gain(100) * TRIM["drums"]
                _add_stereo(out, start - lo, played, pan, gain * self._peak(hit.drum), dsp)
            else:
                sample = self.fallback[hit.drum][hit.variant]
                if start + len(sample) < lo:
                    continue
                dsp.add_at(out, start - lo, sample, pan, gain * hit.velocity)
        return out


def _add_stereo(out: Signal, start: int, played: tuple[Mono, Mono], pan: float,
                gain: float, dsp: Any) -> None:
    """Add a stereo note at `start`, moved towards `pan` by constant-power balance."""
    left_gain, right_gain = dsp.pan_gains(pan)
    left, right = played
    scale = 2.0 ** 0.5
    n = out.shape[1]
    begin, skip = max(0, start), max(0, -start)
    end = min(n, start + len(left))
    if end <= begin:
        return
    out[0, begin:end] += left[skip:skip + end - begin] * (gain * left_gain * scale)
    out[1, begin:end] += right[skip:skip + end - begin] * (gain * right_gain * scale)


# Choosing the renderer for a build -----------------------------------------------------------


def chosen(film_music: str, cli_music: str) -> Path | None:
    """The SoundFont a build's music is played with, or None for the built-in synthesizer.

    `cli_music` ('--backend music=NAME', '' when not given) wins over the film's `backend
    music=NAME` ('' when the film names none): 'synth' plays the built-in synthesizer;
    otherwise ('' means the best music available, or 'soundfont') the SoundFont `find`
    gives is used when there is one. Problems with the file are `selection_problem`'s to
    report; here a file that is not there gives None.
    """
    if (cli_music or film_music) not in ("", "soundfont"):
        return None
    path = find()
    return path if path is not None and path.is_file() else None


def planned(film_music: str, cli_music: str) -> tuple[Path, str] | None:
    """(file, content hash) of the SoundFont a build's music is played with, or None for
    the built-in synthesizer: the hash is in the music jobs' keys, so a different file
    re-renders the music."""
    path = chosen(film_music, cli_music)
    if path is None:
        return None
    try:
        return path, identity(path)
    except OSError:
        return None


def selection_problem(film_music: str, cli_music: str, needs_music: bool
                      ) -> tuple[str, str] | None:
    """(message, help) when the music the build asks for cannot be played, before any
    work: a `$FILMC_SOUNDFONT` that is missing or not an SF2, a system SoundFont that is
    damaged, or `music=soundfont` with no SoundFont on this machine."""
    requested = cli_music or film_music
    if requested == "synth" or not needs_music:
        return None
    named = os.environ.get(ENV, "").strip()
    off = named.lower() == "none"
    path = find()
    fallback = "--backend music=synth plays the built-in synthesizer"
    if path is None:
        if requested == "soundfont":
            reason = f"{ENV}=none turns SoundFonts off" if off else "no SoundFont was found"
            return (f"the 'soundfont' music backend has no SoundFont: {reason}",
                    f"{INSTALL_HELP}; or {fallback}")
        return None
    why = problem(path) or _parse_problem(path)
    if why is None:
        return None
    if named and not off:
        return (f"{ENV} names '{path}', which cannot be used: {why}",
                f"set {ENV} to a General MIDI .sf2 file (e.g. "
                f"/usr/share/sounds/sf2/FluidR3_GM.sf2), or unset it; or {fallback}")
    return (f"the SoundFont '{path}' cannot be used: {why}",
            f"reinstall it, or set {ENV}=/path/to/file.sf2 (or {ENV}=none for the built-in "
            f"synthesizer); or {fallback}")


def _parse_problem(path: Path) -> str | None:
    """Why the whole file cannot be parsed (the parse is kept for the render).

    A file that parsed once is remembered as good by (path, size, mtime), as its hash is,
    so that a build that renders no music (a no-op rebuild) does not parse 140 MB again."""
    try:
        memo, key = _memo_file(), "parsed|" + "|".join(map(str, stamp(path)))
    except OSError:
        memo, key = None, ""
    if memo is not None and _load_memo(memo).get(key) == "ok":
        return None
    try:
        parse(path)
    except SoundFontError as exc:
        return str(exc)
    except (OSError, ValueError, IndexError, KeyError, struct.error) as exc:
        return f"it is damaged ({type(exc).__name__}: {exc})"
    if memo is not None:
        _save_memo(memo, key, "ok")
    return None
