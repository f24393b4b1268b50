"""The SF2 reader: a SoundFont 2 file in, its presets, zones and samples out, in pure numpy.

The RIFF file is read here: its 16-bit `smpl` chunk memory-mapped (so only the samples
played are ever read) and its `pdta` tables (presets, instruments, zones, generators,
sample headers) merged into `Region`s, one per instrument zone as it sounds in a preset.
`parse` keeps the parse for the build session (`filmlang.session`, cache `soundfont.fonts`),
per path, size and mtime; `check_header` reads the headers only, to say quickly why a file
cannot be used. Modulators are not read; 24-bit `sm24` is ignored (16 bits are used).

Importing this module is cheap: numpy loads on first use.
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmlang import session


class SoundFontError(Exception):
    """A file that is not a usable SF2: the message says why, in words."""


def stamp(path: Path) -> tuple[str, int, int]:
    """(real path, size, mtime): what a parse or a hash of the file is remembered by."""
    real = os.path.realpath(path)
    info = os.stat(real)
    return real, info.st_size, info.st_mtime_ns


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


def check_header(path: Path) -> None:
    """Raises SoundFontError, saying why, when `path` is not a readable SF2 (headers only)."""
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


def read(path: Path) -> SoundFont:
    """The whole file parsed (the samples memory-mapped, not read)."""
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
    """The SoundFont at `path`, parsed once per session (per path, size and mtime), and
    kept parsed between processes (`_kept`)."""
    known = stamp(path)
    fonts = session.current().cache("soundfont.fonts")

    def load() -> SoundFont:
        # The file changed: let its old mapping go.
        fonts.drop_where(lambda old: old[0] == known[0])
        font = _kept(known)
        if font is None:
            font = read(Path(known[0]))
            _keep(known, font)
        return font

    font: SoundFont = fonts.get_or_make(known, load)
    return font


KEPT_VERSION = 1
"""Part of a kept parse's name: bump it when `read` or `Region` changes."""


def _kept_file(known: tuple[str, int, int]) -> Path:
    """Where the parse of the file with this stamp is kept: the user's cache folder, beside
    `soundfont.py`'s memo of hashes (a 140 MB General MIDI font takes 1.4 s to parse, its
    kept parse 0.2 s to load)."""
    import hashlib

    from filmlang.resources import user_cache_dir

    name = hashlib.sha256(repr((known, KEPT_VERSION)).encode()).hexdigest()[:32]
    return user_cache_dir() / "sf2" / f"{name}.json"


def _keep(known: tuple[str, int, int], font: SoundFont) -> None:
    """Best effort: a read-only home only means parsing again next time."""
    import dataclasses
    import json

    from filmlang.outputs import write_atomic

    names = [f.name for f in dataclasses.fields(Region)]
    data = {"stamp": list(known), "version": KEPT_VERSION, "name": font.name,
            "smpl": [int(font.samples.offset), len(font.samples)],
            "presets": [[p.bank, p.program, p.name,
                         [[getattr(r, n) for n in names] for r in p.regions]]
                        for p in font.presets.values()]}
    with contextlib.suppress(OSError):
        write_atomic(_kept_file(known), json.dumps(data), make_folder=True)


def _kept(known: tuple[str, int, int]) -> SoundFont | None:
    """The kept parse of the file with this stamp, or None (not kept, or not whole)."""
    import json

    import numpy as np

    try:
        data = json.loads(_kept_file(known).read_text(encoding="utf-8"))
        if data["stamp"] != list(known) or data["version"] != KEPT_VERSION:
            return None
        offset, count = data["smpl"]
        presets = {}
        for bank, program, name, regions in data["presets"]:
            presets[(bank, program)] = Preset(name, bank, program, tuple(
                Region(tuple(r[0]), tuple(r[1]), *r[2:]) for r in regions))
        samples = np.memmap(known[0], dtype="<i2", mode="r", offset=offset, shape=(count,))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return SoundFont(Path(known[0]), samples, presets, str(data["name"]))
