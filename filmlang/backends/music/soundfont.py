"""SoundFont (SF2) music: a pure numpy SF2 reader and sampler for the composer's scores.

Takes an `.sf2` file and a `synth_score.Score`; gives the same cue the built-in
synthesizer would play, on General MIDI instruments. No C library: the RIFF file is read
here (16-bit `smpl`, memory-mapped, so only the samples played are ever read; `pdta`:
presets, instruments, zones, generators, sample headers), and notes are played by
resampling their sample with linear interpolation, looped where the zone says so, shaped
by the zone's volume envelope (delay, attack, hold, decay, sustain, release) and panned.

- Which file: `$FILMC_SOUNDFONT` wins (a file that is missing or not an SF2 is error
  E0603 before any work; `none` turns SoundFonts off), else the first of `SYSTEM_PATHS`
  that exists, else no SoundFont (the built-in synthesizer plays).
- Keys: `identity` gives the file's sha256, memoised per (path, size, mtime) in the build
  session (`filmlang.session`, cache `soundfont.hashes`) and in
  `~/.cache/filmlang/soundfonts.json`, so a 140 MB file is hashed once; `parse` is cached
  per session the same way (`soundfont.fonts`).
- Levels: each GM preset is levelled against the synthesizer's voices (`level`), so the
  mix keeps the synthesizer's balance of lead, pads, bass, arpeggios and drums.
- Cost: release tails are kept until they have fallen TAIL_DB (at most MAX_RELEASE
  seconds), and notes that repeat in a cue are rendered once (`NoteCache`): a minute of
  music takes one to two seconds of one core.
- Modulators, filters, LFOs, chorus and the SoundFont's own reverb are not applied (the
  cue gets the synthesizer's room instead); 24-bit `sm24` is ignored (16 bits are used).

Importing this module is cheap: numpy loads on first use.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmlang import session

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.backends.music.score import Score

    Signal = npt.NDArray[np.float64]
    Mono = npt.NDArray[np.float32]

VERSION = "1"
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

MAX_RELEASE = 2.0
"""Seconds of release tail kept at most (the tail is faded to silence at its end)."""
TAIL_DB = 60.0
"""A release tail is kept until it has fallen this far (then faded out over END_FADE):
the 100 dB of the SF2 release time would spend most of the work on inaudible tails."""
END_FADE = 0.005
CACHE_SAMPLES = 16_000_000
"""Samples of rendered notes kept for reuse in a cue (float32: 64 MB)."""
CACHE_NOTE = 6.0
"""Seconds: notes longer than this are not kept for reuse."""


class SoundFontError(Exception):
    """A file that is not a usable SF2: the message says why, in words."""


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
        _check_header(path)
    except SoundFontError as exc:
        return str(exc)
    return None


def _stamp(path: Path) -> tuple[str, int, int]:
    real = os.path.realpath(path)
    info = os.stat(real)
    return real, info.st_size, info.st_mtime_ns


def identity(path: Path) -> str:
    """The sha256 of the file's content, memoised per (path, size, mtime): in the process,
    and across builds in `$XDG_CACHE_HOME/filmlang/soundfonts.json` (as make trusts mtimes)."""
    stamp = _stamp(path)

    def digest() -> str:
        memo = _memo_file()
        key = "|".join(map(str, stamp))
        known = _load_memo(memo).get(key)
        if known is None:
            from filmlang.jobs import file_digest

            known = file_digest(Path(stamp[0]))
            _save_memo(memo, key, known)
        return known

    found: str = session.current().cache("soundfont.hashes").get_or_make(stamp, digest)
    return found


def _memo_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "filmlang" / "soundfonts.json"


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


# RIFF parsing ------------------------------------------------------------------------------

_PDTA = {"phdr": 38, "pbag": 4, "pmod": 10, "pgen": 4, "inst": 22, "ibag": 4, "imod": 10,
         "igen": 4, "shdr": 46}


def _chunks(data: bytes | memoryview, start: int, end: int,
            where: str) -> list[tuple[str, int, int]]:
    """(id, offset of the body, size) of each chunk in data[start:end]."""
    out = []
    at = start
    while at + 8 <= end:
        name = bytes(data[at:at + 4]).decode("latin-1")
        (size,) = struct.unpack_from("<I", data, at + 4)
        if at + 8 + size > end:
            raise SoundFontError(f"the '{name}' chunk in {where} runs past the end of the file "
                                 "(the file is truncated)")
        out.append((name, at + 8, size))
        at += 8 + size + (size & 1)
    return out


def _lists(path: Path) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """The sdta and pdta sub-chunks of a file: id -> (offset, size). Reads headers only."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                raise SoundFontError("it is not a SoundFont 2 file (no 'RIFF sfbk' header)")
            found: dict[str, dict[str, tuple[int, int]]] = {}
            at = 12
            while at + 12 <= size:
                handle.seek(at)
                header = handle.read(12)
                tag, length = header[:4], struct.unpack_from("<I", header, 4)[0]
                if at + 8 + length > size:
                    raise SoundFontError("the file is truncated")
                if tag == b"LIST":
                    kind = header[8:12].decode("latin-1")
                    if kind == "pdta":
                        handle.seek(at + 12)
                        body = handle.read(length - 4)
                        found[kind] = {n: (at + 12 + o, s)
                                       for n, o, s in _chunks(body, 0, len(body), "pdta")}
                    elif kind == "sdta":
                        handle.seek(at + 12)
                        subs: dict[str, tuple[int, int]] = {}
                        inner = at + 12
                        while inner + 8 <= at + 8 + length:
                            handle.seek(inner)
                            sub = handle.read(8)
                            sub_size = struct.unpack_from("<I", sub, 4)[0]
                            subs[sub[:4].decode("latin-1")] = (inner + 8, sub_size)
                            inner += 8 + sub_size + (sub_size & 1)
                        found[kind] = subs
                at += 8 + length + (length & 1)
    except OSError as exc:
        raise SoundFontError(f"it cannot be read ({exc.strerror or exc})") from None
    if "pdta" not in found:
        raise SoundFontError("it has no preset data (no 'pdta' list)")
    if "smpl" not in found.get("sdta", {}):
        raise SoundFontError("it has no samples (no 'sdta/smpl' chunk)")
    pdta = found["pdta"]
    for name, record in _PDTA.items():
        if name not in pdta:
            raise SoundFontError(f"its preset data has no '{name}' chunk")
        if pdta[name][1] % record or pdta[name][1] < record:
            raise SoundFontError(f"its '{name}' chunk has a bad size ({pdta[name][1]} bytes)")
    return found["sdta"], pdta


def _check_header(path: Path) -> None:
    if not path.exists():
        raise SoundFontError("the file does not exist")
    if not path.is_file():
        raise SoundFontError("it is not a file")
    _lists(path)


# The model ---------------------------------------------------------------------------------

# Generator numbers (SF2.04, section 8.1.2).
START, END, LOOP_START, LOOP_END, START_COARSE = 0, 1, 2, 3, 4
END_COARSE, PAN = 12, 17
DELAY, ATTACK, HOLD, DECAY, SUSTAIN, RELEASE = 33, 34, 35, 36, 37, 38
KEY_TO_HOLD, KEY_TO_DECAY = 39, 40
INSTRUMENT, KEY_RANGE, VEL_RANGE, LOOP_START_COARSE = 41, 43, 44, 45
KEYNUM, VELOCITY, ATTENUATION, LOOP_END_COARSE = 46, 47, 48, 50
COARSE_TUNE, FINE_TUNE, SAMPLE_ID, SAMPLE_MODES = 51, 52, 53, 54
SCALE_TUNING, ROOT_KEY = 56, 58
DEFAULTS = {DELAY: -12000, ATTACK: -12000, HOLD: -12000, DECAY: -12000, RELEASE: -12000,
            KEY_RANGE: 127 << 8, VEL_RANGE: 127 << 8, KEYNUM: -1, VELOCITY: -1,
            SCALE_TUNING: 100, ROOT_KEY: -1}
NOT_ADDITIVE = {START, END, LOOP_START, LOOP_END, START_COARSE, END_COARSE, LOOP_START_COARSE,
                LOOP_END_COARSE, KEY_RANGE, VEL_RANGE, KEYNUM, VELOCITY, SAMPLE_MODES,
                ROOT_KEY, 57, INSTRUMENT, SAMPLE_ID}
"""Generators a preset zone may not offset (the rest add to the instrument's)."""


@dataclass(frozen=True)
class Region:
    """One instrument zone as it sounds in one preset: a sample and how to play it."""

    keys: tuple[int, int]
    velocities: tuple[int, int]
    start: int
    end: int
    loop_start: int
    loop_end: int
    loops: bool
    rate: int
    root: int
    cents: float
    """Tuning in cents: coarse and fine tune plus the sample's pitch correction."""
    scale: float
    """Cents a key (100 normally)."""
    gain: float
    pan: float
    """-1 (left) to 1 (right)."""
    delay: float
    attack: float
    hold: float
    decay: float
    sustain: float
    """Sustain level as a gain (1 is full)."""
    release: float
    key_to_hold: int
    key_to_decay: int


@dataclass(frozen=True)
class Preset:
    name: str
    bank: int
    program: int
    regions: tuple[Region, ...]


@dataclass
class SoundFont:
    path: Path
    samples: Any
    """The `smpl` chunk as int16 (memory-mapped)."""
    presets: dict[tuple[int, int], Preset]
    name: str = ""

    def preset(self, bank: int, program: int) -> Preset | None:
        """The preset at (bank, program); for melodic banks, else the same program in bank 0,
        else the first preset of bank 0 (or of any melodic bank)."""
        if (bank, program) in self.presets:
            return self.presets[(bank, program)]
        if bank == 128:
            kits = sorted(k for k in self.presets if k[0] == 128)
            return self.presets[kits[0]] if kits else None
        if (0, program) in self.presets:
            return self.presets[(0, program)]
        melodic = sorted(k for k in self.presets if k[0] != 128)
        return self.presets[melodic[0]] if melodic else None


def _seconds(timecents: int) -> float:
    return float(2.0 ** (max(-12000, min(8000, timecents)) / 1200.0))


def _zones(bags: Any, gens: Any, first: int, last: int, terminal: int
           ) -> tuple[dict[int, int], list[dict[int, int]]]:
    """The global zone and the other zones of bags[first:last] as {generator: amount}."""
    zones = []
    for bag in range(first, last):
        lo, hi = int(bags[bag]["gen"]), int(bags[bag + 1]["gen"])
        zone: dict[int, int] = {}
        for index in range(lo, min(hi, len(gens))):
            oper = int(gens[index]["oper"])
            if oper in (KEY_RANGE, VEL_RANGE, INSTRUMENT, SAMPLE_ID):
                zone[oper] = int(gens[index]["amount"]) & 0xFFFF
            else:
                zone[oper] = int(gens[index]["amount"])
        zones.append(zone)
    global_zone: dict[int, int] = {}
    if zones and terminal not in zones[0]:
        global_zone = zones.pop(0)
    return global_zone, [z for z in zones if terminal in z]


def _range(value: int) -> tuple[int, int]:
    return value & 0xFF, (value >> 8) & 0xFF


def _region(gens: dict[int, int], header: Any) -> Region | None:
    """A region from merged generators and its sample header."""
    def g(oper: int) -> int:
        return gens.get(oper, DEFAULTS.get(oper, 0))

    if int(header["type"]) & 0x8000:  # a ROM sample: not in the file
        return None
    start = int(header["start"]) + g(START) + 32768 * g(START_COARSE)
    end = int(header["end"]) + g(END) + 32768 * g(END_COARSE)
    loop_start = int(header["loop_start"]) + g(LOOP_START) + 32768 * g(LOOP_START_COARSE)
    loop_end = int(header["loop_end"]) + g(LOOP_END) + 32768 * g(LOOP_END_COARSE)
    if end - start < 2:
        return None
    mode = g(SAMPLE_MODES) & 3
    loops = mode in (1, 3) and start <= loop_start < loop_end - 1 and loop_end <= end
    pitch = int(header["pitch"])
    root = g(ROOT_KEY) if g(ROOT_KEY) >= 0 else (pitch if pitch <= 127 else 60)
    keys = _range(g(KEY_RANGE))
    velocities = _range(g(VEL_RANGE))
    rate = int(header["rate"]) or 44100
    attenuation = max(0, min(1440, g(ATTENUATION)))
    return Region(
        keys=keys, velocities=velocities, start=start, end=end, loop_start=loop_start,
        loop_end=loop_end, loops=loops, rate=rate, root=root,
        cents=100.0 * g(COARSE_TUNE) + g(FINE_TUNE) + int(header["correction"]),
        scale=float(g(SCALE_TUNING)), gain=10.0 ** (-attenuation / 200.0),
        pan=max(-1.0, min(1.0, g(PAN) / 500.0)),
        delay=_seconds(g(DELAY)), attack=_seconds(g(ATTACK)), hold=_seconds(g(HOLD)),
        decay=_seconds(g(DECAY)),
        sustain=10.0 ** (-max(0, min(1440, g(SUSTAIN))) / 200.0),
        release=_seconds(g(RELEASE)), key_to_hold=g(KEY_TO_HOLD),
        key_to_decay=g(KEY_TO_DECAY))


def _read(path: Path) -> SoundFont:
    import numpy as np

    sdta, pdta = _lists(path)
    with open(path, "rb") as handle:
        tables: dict[str, Any] = {}
        dtypes = {
            "phdr": [("name", "S20"), ("program", "<u2"), ("bank", "<u2"), ("bag", "<u2"),
                     ("library", "<u4"), ("genre", "<u4"), ("morphology", "<u4")],
            "pbag": [("gen", "<u2"), ("mod", "<u2")],
            "ibag": [("gen", "<u2"), ("mod", "<u2")],
            "pgen": [("oper", "<u2"), ("amount", "<i2")],
            "igen": [("oper", "<u2"), ("amount", "<i2")],
            "inst": [("name", "S20"), ("bag", "<u2")],
            "shdr": [("name", "S20"), ("start", "<u4"), ("end", "<u4"),
                     ("loop_start", "<u4"), ("loop_end", "<u4"), ("rate", "<u4"),
                     ("pitch", "u1"), ("correction", "i1"), ("link", "<u2"),
                     ("type", "<u2")],
        }
        for name, dtype in dtypes.items():
            offset, size = pdta[name]
            handle.seek(offset)
            tables[name] = np.frombuffer(handle.read(size), dtype=np.dtype(dtype))
    offset, size = sdta["smpl"]
    samples = np.memmap(path, dtype="<i2", mode="r", offset=offset, shape=(size // 2,))
    phdr, inst, shdr = tables["phdr"], tables["inst"], tables["shdr"]
    count = len(samples)
    instruments: list[list[tuple[dict[int, int], Any]]] = []
    for index in range(len(inst) - 1):
        glob, zones = _zones(tables["ibag"], tables["igen"], int(inst[index]["bag"]),
                             int(inst[index + 1]["bag"]), SAMPLE_ID)
        entries = []
        for zone in zones:
            sample = zone[SAMPLE_ID]
            if sample >= len(shdr) - 1:
                continue
            entries.append(({**glob, **zone}, shdr[sample]))
        instruments.append(entries)
    presets: dict[tuple[int, int], Preset] = {}
    for index in range(len(phdr) - 1):
        glob, zones = _zones(tables["pbag"], tables["pgen"], int(phdr[index]["bag"]),
                             int(phdr[index + 1]["bag"]), INSTRUMENT)
        regions: list[Region] = []
        for zone in zones:
            merged_preset = {**glob, **zone}
            number = zone[INSTRUMENT]
            if number >= len(instruments):
                continue
            p_keys = _range(merged_preset.get(KEY_RANGE, 127 << 8))
            p_vels = _range(merged_preset.get(VEL_RANGE, 127 << 8))
            for gens, header in instruments[number]:
                merged = dict(gens)
                for oper, amount in merged_preset.items():
                    if oper not in NOT_ADDITIVE:
                        merged[oper] = merged.get(oper, DEFAULTS.get(oper, 0)) + amount
                keys = _range(merged.get(KEY_RANGE, 127 << 8))
                vels = _range(merged.get(VEL_RANGE, 127 << 8))
                lo, hi = max(keys[0], p_keys[0]), min(keys[1], p_keys[1])
                vlo, vhi = max(vels[0], p_vels[0]), min(vels[1], p_vels[1])
                if lo > hi or vlo > vhi:
                    continue
                merged[KEY_RANGE] = lo | (hi << 8)
                merged[VEL_RANGE] = vlo | (vhi << 8)
                region = _region(merged, header)
                if region is not None and region.end <= count:
                    regions.append(region)
        key = (int(phdr[index]["bank"]), int(phdr[index]["program"]))
        if key not in presets and regions:
            name = bytes(phdr[index]["name"]).split(b"\0")[0].decode("latin-1")
            presets[key] = Preset(name, key[0], key[1], tuple(regions))
    if not presets:
        raise SoundFontError("it has no playable presets")
    return SoundFont(path, samples, presets)


def parse(path: Path) -> SoundFont:
    """The SoundFont at `path`, parsed once per session (per path, size and mtime)."""
    stamp = _stamp(path)
    fonts = session.current().cache("soundfont.fonts")

    def read() -> SoundFont:
        # The file changed: let its old mapping go.
        fonts.drop_where(lambda old: old[0] == stamp[0])
        return _read(Path(stamp[0]))

    font: SoundFont = fonts.get_or_make(stamp, read)
    return font


# Playing notes -----------------------------------------------------------------------------


def _envelope(region: Region, key: int, n: int, gate: int, sr: int) -> Signal:
    """The volume envelope of a note held for `gate` samples, over n samples: a linear
    attack after the delay, the hold, a decay falling 100 dB over the decay time (in dB,
    as SF2 says) to the sustain level, and after the gate a release falling 100 dB over
    the release time; the last END_FADE seconds fade to zero."""
    import numpy as np

    env = np.empty(n)
    delay = region.delay if region.delay > 0.0011 else 0.0
    attack = max(region.attack, 0.002)
    hold = region.hold * 2.0 ** (region.key_to_hold * (60 - key) / 1200.0)
    hold = hold if hold > 0.0011 else 0.0
    decay = max(region.decay * 2.0 ** (region.key_to_decay * (60 - key) / 1200.0), 1e-3)
    sustain = max(region.sustain, 1e-5)
    i_delay = min(n, round(delay * sr))
    i_attack = min(n, round((delay + attack) * sr))
    i_hold = min(n, round((delay + attack + hold) * sr))
    falls = -20.0 * float(np.log10(sustain)) / 100.0 * decay  # seconds to reach sustain
    i_decay = min(n, i_hold + round(falls * sr))
    env[:i_delay] = 0.0
    ramp = np.arange(1, i_attack - i_delay + 1, dtype=np.float64)
    env[i_delay:i_attack] = ramp / max(1.0, attack * sr)
    env[i_attack:i_hold] = 1.0
    per_sample = np.log(10.0) * 5.0 / (decay * sr)  # 100 dB over the decay time
    env[i_hold:i_decay] = np.exp(np.arange(i_decay - i_hold) * -per_sample)
    env[i_decay:] = sustain
    if gate < n:
        level = env[gate]
        per_sample = np.log(10.0) * 5.0 / (max(region.release, 0.01) * sr)
        env[gate:] = level * np.exp(np.arange(n - gate) * -per_sample)
    fade = min(n, max(1, round(END_FADE * sr)))
    env[n - fade:] *= np.linspace(1.0, 0.0, fade)
    result: Signal = env
    return result


def play_region(font: SoundFont, region: Region, key: int, gate: int, sr: int,
                one_shot: bool = False) -> Signal:
    """A mono note of `region` at MIDI `key`, held `gate` samples, at unit velocity: the
    sample resampled (linear interpolation, looped where the region loops) under its
    envelope, release tail included."""
    import numpy as np

    release = min(max(region.release, 0.01) * TAIL_DB / 100.0, MAX_RELEASE)
    semis = (key - region.root) * region.scale / 100.0 + region.cents / 100.0
    step = 2.0 ** (semis / 12.0) * region.rate / sr
    if region.loops and not one_shot:
        n = gate + round(release * sr)
    else:
        natural = int((region.end - region.start - 1) / step)
        n = min(natural, gate + round(release * sr)) if not one_shot else natural
    n = max(1, n)
    pos = np.arange(n, dtype=np.float64) * step
    base = pos.astype(np.int64)
    frac = pos - base
    index = base
    index += region.start
    if region.loops and not one_shot:
        length = region.loop_end - region.loop_start
        first = int(np.searchsorted(index, region.loop_start))
        looped = index[first:]
        looped -= region.loop_start
        looped %= length
        looped += region.loop_start
        after = index + 1
        after[after == region.loop_end] = region.loop_start
    else:
        after = np.minimum(index + 1, region.end - 1)
    data = font.samples
    a = data[index].astype(np.float64)
    b = data[after].astype(np.float64)
    sig = a + (b - a) * frac
    sig *= region.gain / 32768.0
    sig *= _envelope(region, key, n, min(gate, n), sr)
    result: Signal = sig
    return result


def velocity_gain(velocity: int) -> float:
    """SF2's default velocity curve: 96 dB over 127 steps on a concave (squared) curve,
    approximately (velocity / 127) squared."""
    return (max(1, min(127, velocity)) / 127.0) ** 2


@dataclass
class NoteCache:
    """Rendered notes (unit velocity), reused when a note repeats in a cue: up to
    CACHE_SAMPLES samples of notes no longer than CACHE_NOTE seconds, the least recently
    used let go first."""

    notes: OrderedDict[tuple[object, ...], tuple[Mono, Mono]] = field(
        default_factory=OrderedDict)
    samples: int = 0

    def get(self, key: tuple[object, ...]) -> tuple[Mono, Mono] | None:
        found = self.notes.get(key)
        if found is not None:
            self.notes.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], played: tuple[Mono, Mono], sr: int) -> None:
        size = 2 * len(played[0])
        if size > 2 * CACHE_NOTE * sr:
            return
        while self.notes and self.samples + size > CACHE_SAMPLES:
            _, old = self.notes.popitem(last=False)
            self.samples -= 2 * len(old[0])
        self.notes[key] = played
        self.samples += size


def note(font: SoundFont, preset: Preset, key: int, velocity: int, gate: int, sr: int,
         one_shot: bool = False, cache: NoteCache | None = None
         ) -> tuple[Mono, Mono] | None:
    """A stereo note (left, right) at unit velocity gain (see `velocity_gain`), or None
    when no region of the preset plays this key and velocity."""
    import numpy as np

    regions = tuple(r for r in preset.regions
                    if r.keys[0] <= key <= r.keys[1]
                    and r.velocities[0] <= velocity <= r.velocities[1])
    if not regions:
        return None
    cache_key = (preset.bank, preset.program, key, gate, sr, one_shot,
                 tuple(id(r) for r in regions))
    cached = cache.get(cache_key) if cache is not None else None
    if cached is not None:
        return cached
    signals = [play_region(font, r, key, gate, sr, one_shot) for r in regions]
    n = max(len(s) for s in signals)
    left = np.zeros(n, dtype=np.float32)
    right = np.zeros(n, dtype=np.float32)
    for region, sig in zip(regions, signals, strict=True):
        angle = (region.pan + 1.0) * np.pi / 4.0
        left[:len(sig)] += sig * np.cos(angle)
        right[:len(sig)] += sig * np.sin(angle)
    if cache is not None:
        cache.put(cache_key, (left, right), sr)
    return left, right


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
                 sr: int) -> None:
        from filmlang.backends.music.band import DRUM_VARIANTS, drum

        self.font = font
        self.score = score
        self.sr = sr
        self.kit = font.preset(128, 0)
        self.levels: dict[tuple[object, ...], float] = {}
        self.cache = NoteCache()
        self.drum_cache = NoteCache()
        names = sorted({hit.drum for hit in score.hits})
        # Drums the kit lacks (or a font with no kit) are the synthesizer's.
        self.fallback = {name: [drum(name, rng) for _ in range(DRUM_VARIANTS)]
                         for name in names}
        self.variants = [int(v) for v in rng.integers(DRUM_VARIANTS, size=len(score.hits))]

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
        from filmlang.backends.music.band import DRUMS, PARTS

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
        for hit, variant in zip(self.score.hits, self.variants, strict=True):
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
                sample = self.fallback[hit.drum][variant]
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
        memo, key = _memo_file(), "parsed|" + "|".join(map(str, _stamp(path)))
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
