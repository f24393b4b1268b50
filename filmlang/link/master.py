"""The film's sound from its pieces: loudness, limiting and the AAC, one piece at a time.

Three kinds of job, after the pieces (`link/pieces.py`: each piece's samples with its
margins, its grains' K-weighted energies and its peak):

- `levels` (`levels_job`): the film's gain and which pieces the limiter acts on, from the
  stored energies and peaks alone (a few kilobytes a piece), into `levels.json`;
- `chunk` (`chunk_job`), one per piece: the piece gained and limited, encoded into its
  AAC chunk on the film's frame grid (`link/aac.py`), found in the store instead when
  its piece, grid phase and levels are what they were;
- `mix` (`join_job`): the chunks joined by stream copy into `mix.m4a`, which the mux
  copies.

No step holds more than one piece's samples, and none writes the whole film's PCM.

- Integrated loudness (BS.1770-4) is a function of the 400 ms gating blocks' energies,
  and those are sums of the pieces' grain energies: the film's loudness, and the gain to
  its target, come from the stored energies alone. The gain is quantised to
  `GAIN_STEP_DB` (0.05 dB, below what anyone hears and within 0.025 LU of the target), so
  that an edit that moves the film's loudness by a little keeps the gain, and with it
  every untouched piece's AAC chunk.
- The true-peak limiter (`loudness._gain_for_peaks`, the same as the whole-film
  `normalize`) runs only on the pieces whose stored peak, gained, is over the ceiling,
  over the piece and its margins: its look-ahead and release reach across the boundary
  exactly as in a whole film, and both sides of a boundary compute the same gain there.
- When limiting costs loudness, more gain is tried (secant steps, as `normalize` does)
  with only the limited pieces measured again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filmlang.link import aac, loudness
from filmlang.link.levels_memo import Memo, forget_others

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from filmlang.cache.store import Store

    Floats = npt.NDArray[np.float64]

TRUE_PEAK_IN_MIX = -1.5
"""-1.5 dBTP in the mix keeps the film under -1 dBTP after AAC, which overshoots a little."""
DUAL_MONO_DB = 3.0103
"""How much louder (BS.1770) a mono track is when played on both speakers."""


GAIN_STEP_DB = loudness.GAIN_STEP_DB


def _step(db: float) -> float:
    return round(round(db / GAIN_STEP_DB) * GAIN_STEP_DB, 4)


@dataclass(frozen=True)
class Piece:
    folder: Path
    samples: int
    margin: int
    channels: int
    grain: int
    peak: float

    @classmethod
    def load(cls, folder: Path) -> Piece:
        meta = json.loads((folder / "piece.json").read_text(encoding="utf-8"))
        return cls(folder=folder, samples=int(meta["samples"]), margin=int(meta["margin"]),
                   channels=int(meta["channels"]), grain=int(meta["grain"]),
                   peak=float(meta["peak"]))

    def energies(self) -> Floats:
        import numpy as np

        return np.asarray(np.load(self.folder / "energies.npy"), dtype=np.float64)

    def samples_with_margins(self) -> Floats:
        import numpy as np

        return np.asarray(np.load(self.folder / "piece.npy"), dtype=np.float64)

    def peaks(self) -> Floats:
        """Each sample's 4x-oversampled peak, margins included (float64)."""
        import numpy as np

        return np.asarray(np.load(self.folder / "peaks.npy"), dtype=np.float64)


def _blocks(pieces: list[Piece], energies: list[Floats], rate: int) -> Floats:
    """The film's 400 ms gating blocks' mean squares from the pieces' grain energies."""
    import numpy as np

    from filmlang.link.loudness import BLOCK_SECONDS

    hop = round(rate * BLOCK_SECONDS / 4)
    hops = sum(p.samples for p in pieces) // hop
    if hops < 4:
        return np.zeros(0)
    per_hop = np.zeros(hops)
    at = 0
    for piece, energy in zip(pieces, energies, strict=True):
        index = (at + np.arange(len(energy)) * piece.grain) // hop
        kept = index < hops
        np.add.at(per_hop, index[kept], energy[kept])
        at += piece.samples
    blocks = per_hop[:-3] + per_hop[1:-2] + per_hop[2:-1] + per_hop[3:]
    return np.asarray(blocks / (4 * hop), dtype=np.float64)


def _limited(piece: Piece, scale: float, ceiling_db: float, rate: int
             ) -> tuple[Floats, Floats]:
    """The piece (with margins, float64) and its limiter gain at `scale`, from the piece's
    stored oversampled peaks: nothing is oversampled here."""
    data = piece.samples_with_margins()
    return data, _limiter_gain(piece.peaks(), scale, ceiling_db, rate)


def _limiter_gain(peaks: Floats, scale: float, ceiling_db: float, rate: int) -> Floats:
    from filmlang.link.loudness import _gain_for_peaks

    return _gain_for_peaks(peaks * scale, ceiling_db, rate=rate) * scale


def _measure_limited(piece: Piece, data: Floats, gain: Floats, scale: float,
                     energies: Floats, peaks: Floats, rate: int) -> tuple[Floats, float]:
    """The limited piece's grain energies and the true peak (dBTP) of data * gain.

    Only where the limiter acts is anything computed: the grains that the limiter's runs
    reach through the K-weighting's memory are weighted again, from the limited samples
    with the filter's whole memory before them; the other grains are the piece's stored
    energies, gained; the true peak away from the runs is the stored peak, gained.
    """
    import numpy as np

    from filmlang.link.loudness import _IMPULSE, _interpolator, _limited_peak_dbtp

    m, n = piece.margin, piece.samples
    # Resting at `scale`: a short piece can be under the limiter from end to end.
    top = _limited_peak_dbtp(data[m - 64:m + n + 64], gain[m - 64:m + n + 64],
                             peaks[m - 64:m + n + 64] * scale, _interpolator().shape[1],
                             resting=scale)
    # Where the limiter acts (earlier samples reach no weighted sample of the piece).
    first = max(0, m - _IMPULSE)
    active = np.flatnonzero(np.abs(gain[first:m + n] / scale - 1.0) > 1e-12) + first
    measured = energies * (scale * scale)
    for lo, hi in _touched(active, m, n, piece.grain):
        measured[lo:hi] = _weighted_grains(piece, data, gain, lo, hi, rate)
    return measured, top


def _touched(active: npt.NDArray[np.int64], margin: int, samples: int, grain: int
             ) -> list[tuple[int, int]]:
    """The spans of grains (first, end) that a limiter acting at `active` samples (of the
    array with margins) reaches through the K-weighting's memory; spans less than that
    memory apart are one (weighting the grains between costs less than the memory)."""
    import numpy as np

    from filmlang.link.loudness import _IMPULSE

    if not len(active):
        return []
    grains = -(-samples // grain)
    gaps = np.flatnonzero(np.diff(active) > _IMPULSE)
    los = active[np.r_[0, gaps + 1]]
    his = active[np.r_[gaps, len(active) - 1]] + 1 + _IMPULSE
    spans: list[tuple[int, int]] = []
    for lo, hi in zip(los.tolist(), his.tolist(), strict=True):
        a = max(0, lo - margin) // grain
        b = min(grains, -(-(min(hi, margin + samples) - margin) // grain))
        if a >= b:
            continue
        if spans and (a - spans[-1][1]) * grain <= _IMPULSE:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def _weighted_grains(piece: Piece, data: Floats, gain: Floats, first: int, end: int,
                     rate: int) -> Floats:
    """Grains first..end of data * gain, K-weighted with the filter's memory before them."""
    import numpy as np

    from filmlang.link.loudness import _IMPULSE, _k_weighted
    from filmlang.link.pieces import grain_energies

    m, g = piece.margin, piece.grain
    lo, hi = m + first * g, min(m + piece.samples, m + end * g)
    memory = max(0, lo - _IMPULSE)
    part = data[memory:hi] * gain[memory:hi, None]
    weighted = _k_weighted(np.ascontiguousarray(part), rate)[lo - memory:]
    return grain_energies(weighted, g)


@dataclass
class Levels:
    """What the master decided: the film's gain, the limiter's ceiling, and which pieces
    the limiter acts on."""

    scale: float = 1.0
    ceiling_db: float = 0.0
    limited: frozenset[int] = frozenset()




def _limited_energies(piece: Piece, energies: Floats, scale: float, ceiling_db: float,
                      rate: int, memo: Memo) -> tuple[Floats, float]:
    """`_measure_limited` at this gain and ceiling, from `memo` when it has it."""
    found = memo.get(piece, scale, ceiling_db)
    if found is not None:
        return found
    data = piece.samples_with_margins()
    peaks = piece.peaks()
    gain = _limiter_gain(peaks, scale, ceiling_db, rate)
    measured, peak = _measure_limited(piece, data, gain, scale, energies, peaks, rate)
    memo.put(piece, scale, ceiling_db, measured, peak)
    return measured, peak


def _measure_ahead(pieces: list[Piece], energies: list[Floats],
                   points: list[tuple[float, float]], rate: int, memo: Memo) -> None:
    """Each piece limited at any of `points` (scale, ceiling) and not in `memo`, measured
    there, the piece read once for all of them: the search will look these up."""
    for piece, energy in zip(pieces, energies, strict=True):
        wanted = [(scale, ceiling) for scale, ceiling in points
                  if piece.peak * scale > 10.0 ** (ceiling / 20.0)
                  and memo.get(piece, scale, ceiling) is None]
        if not wanted:
            continue
        data, peaks = piece.samples_with_margins(), piece.peaks()
        for scale, ceiling in wanted:
            gain = _limiter_gain(peaks, scale, ceiling, rate)
            memo.put(piece, scale, ceiling,
                     *_measure_limited(piece, data, gain, scale, energy, peaks, rate))


def _reach(pieces: list[Piece], energies: list[Floats], scale: float, ceiling_db: float,
           max_true_peak: float, rate: int, memo: Memo
           ) -> tuple[float, float, frozenset[int]] | None:
    """Loudness reached at `scale` with the limiter at `ceiling_db`, the ceiling used and the
    limited pieces; None when a limited piece's peak is over `max_true_peak` (lower the
    ceiling and try again)."""
    limit = 10.0 ** (ceiling_db / 20.0)
    limited = frozenset(i for i, p in enumerate(pieces) if p.peak * scale > limit)
    now = [e * scale * scale for e in energies]
    # Any piece over `max_true_peak` fails the ceiling, and a ceiling that holds measures
    # every piece: the order changes only how soon a failing ceiling is known. The pieces
    # that failed before go first (a search tries ceilings from the highest down, and the
    # same few pieces fail each of them: on a 20-minute film each failed ceiling measured
    # 40 of 60 limited pieces first, 3 s, eight times at each gain tried).
    for i in memo.first(pieces, limited):
        now[i], peak = _limited_energies(pieces[i], energies[i], scale, ceiling_db, rate, memo)
        if peak > max_true_peak:
            memo.blame(pieces[i])
            return None
    from filmlang.link.loudness import _gated_loudness

    return _gated_loudness(_blocks(pieces, now, rate)), ceiling_db, limited


@dataclass
class _Search:
    """The loudness reached at each gain step k above `base` (the unlimited gain), with the
    highest ceiling that holds the true peak there: a function of the pieces and k alone."""

    pieces: list[Piece]
    energies: list[Floats]
    base: float
    max_true_peak: float
    rate: int
    memo: Memo
    tried: dict[int, tuple[float, float, frozenset[int]]]

    def scale(self, k: int) -> float:
        return float(10.0 ** (_step(self.base + k * GAIN_STEP_DB) / 20.0))

    def first_ceiling(self) -> float:
        return round(self.max_true_peak - 0.05, 4)    # a margin for the limiter's own gain

    def at(self, k: int) -> tuple[float, float, frozenset[int]]:
        if k not in self.tried:
            ceiling = self.first_ceiling()
            found = None
            for _ in range(10):
                found = _reach(self.pieces, self.energies, self.scale(k), ceiling,
                               self.max_true_peak, self.rate, self.memo)
                if found is not None:
                    break
                ceiling = round(ceiling - 0.1, 4)
            if found is None:   # no ceiling holds the peaks: too loud, less gain is tried
                limit = self.scale(k) / 10.0 ** (ceiling / 20.0)
                found = (math.inf, ceiling,
                         frozenset(i for i, p in enumerate(self.pieces) if p.peak * limit > 1))
            self.tried[k] = found
        return self.tried[k]


def _guess(search: _Search, order: list[int], goal: float, lo: int, hi: int) -> int:
    """The next step to try: a secant on the last two tried (the loudness per step kept
    within 0.1 to 1 times the step), towards the first step that reaches `goal`; halving
    the bracket after six tries, so that the search ends whatever the curve."""
    if len(order) > 6 or not math.isfinite(search.tried[order[-1]][0]):
        return (lo + hi) // 2
    x1 = order[-1]
    y1 = search.tried[x1][0]
    slope = GAIN_STEP_DB
    if len(order) > 1 and math.isfinite(search.tried[order[-2]][0]) and order[-2] != x1:
        x0 = order[-2]
        slope = (y1 - search.tried[x0][0]) / (x1 - x0)
        slope = min(GAIN_STEP_DB, max(0.1 * GAIN_STEP_DB, slope))
    return math.ceil(x1 + (goal - y1) / slope - 1e-9)


def _first_reaching(search: _Search, goal: float, first: int, top: int) -> int:
    """The smallest step k in 0..top whose loudness reaches `goal` (top when none does),
    tried first at `first`: k reaches and k - 1 does not. The loudness grows with the gain
    (the limited gain, scale times the limiter's, grows with the scale at every sample), so
    that step is one and the same wherever the search starts."""
    lo, hi = -1, top + 1           # lo does not reach, hi does (top + 1: by convention)
    k = first
    order: list[int] = []
    while hi - lo > 1:
        k = min(max(k, lo + 1), hi - 1)
        order.append(k)
        if search.at(k)[0] >= goal:
            hi = k
        else:
            lo = k
        k = _guess(search, order, goal, lo, hi)
    return min(hi, top)


def levels(pieces: list[Piece], target: float, *, max_true_peak: float = TRUE_PEAK_IN_MIX,
           rate: int, shortfall: float = GAIN_STEP_DB / 2, max_limiting_db: float = 20.0,
           memo: Path | None = None) -> Levels:
    """The gain to `target` LUFS and the limiting that holds the true peak, from the pieces.

    Without limiting, the gain is the target's, in steps. With it, the gain is the smallest
    step whose limited film reaches `target - shortfall` (and so within a step of it, which
    adds at most a step's loudness), below `max_limiting_db` more than that: a function of
    the pieces alone, whatever was built before. The last build's decision, kept in `memo`
    with the limited pieces' measurements, is only where the search looks first: after an
    edit it is usually the answer again, and only the changed pieces are measured, at it
    and the step below, reading each piece once.
    """
    from filmlang.link.loudness import _gated_loudness

    energies = [p.energies() for p in pieces]
    measured = _gated_loudness(_blocks(pieces, energies, rate))
    if not math.isfinite(measured):
        return Levels()
    base = _step(target - measured)
    peak = max((p.peak for p in pieces), default=0.0)
    if 20.0 * math.log10(peak) + base <= max_true_peak:
        return Levels(scale=10.0 ** (base / 20.0), ceiling_db=max_true_peak)
    store = Memo(memo, rate)
    search = _Search(pieces, energies, base, max_true_peak, rate, store, {})
    top = math.floor(max_limiting_db / GAIN_STEP_DB + 1e-9)
    first = 0
    hint = store.hint(target)
    if hint is not None:
        first = min(max(0, round((hint[0] - base) / GAIN_STEP_DB)), top)
        # The ceilings above the last one fail at the pieces that failed them before
        # (`_reach` measures those first): only the last ceiling is measured ahead.
        ceiling = round(hint[1], 4)
        _measure_ahead(pieces, energies, [(search.scale(k), ceiling) for k in (first, first - 1)
                                          if k >= 0], rate, store)
    k = _first_reaching(search, target - shortfall, first, top)
    _, ceiling, limited = search.at(k)
    chosen = Levels(scale=search.scale(k), ceiling_db=ceiling, limited=limited)
    store.remember(target, chosen)
    return chosen


def levelled(piece: Piece, index: int, chosen: Levels, rate: int) -> Floats:
    """The piece's own samples, gained and limited: (samples, channels) float64."""
    import numpy as np

    m, n = piece.margin, piece.samples
    if index in chosen.limited:
        data, gain = _limited(piece, chosen.scale, chosen.ceiling_db, rate)
        return np.asarray(data[m:m + n] * gain[m:m + n, None], dtype=np.float64)
    core = np.load(piece.folder / "piece.npy", mmap_mode="r")[m:m + n]
    return np.asarray(core, dtype=np.float64) * chosen.scale


def _levelled_range(piece: Piece, limited: bool, chosen: Levels, rate: int, lo: int,
                    hi: int) -> Floats:
    """Samples lo to hi of the piece's array with margins, gained and limited as the film."""
    import numpy as np

    if limited:
        data, gain = _limited(piece, chosen.scale, chosen.ceiling_db, rate)
        return np.asarray(data[lo:hi] * gain[lo:hi, None], dtype=np.float64)
    part = np.load(piece.folder / "piece.npy", mmap_mode="r")[lo:hi]
    return np.asarray(part, dtype=np.float64) * chosen.scale


def _chunk_key(piece: Piece, span: aac.Span, limited: bool, chosen: Levels,
               params: dict[str, object]) -> str:
    """What a piece's AAC chunk depends on: its piece (the folder is named by its key), the
    range encoded and the packets kept (its grid phase), the gain and, when the limiter acts
    on it, the ceiling; the encoder's settings."""
    from filmlang.jobs import digest

    return digest({"piece": piece.folder.name, "span": [span.lo, span.hi, span.skip, span.keep],
                   "gain_db": round(20.0 * math.log10(chosen.scale), 4),
                   "ceiling_db": chosen.ceiling_db if limited else None,
                   "rate": params["rate"], "bitrate": params["bitrate"],
                   "channels": piece.channels, "version": aac.VERSION})


def levels_job(params: dict[str, object], folders: list[Path], out: Path,
               memo: Path | None = None) -> None:
    """The `levels` job: the film's gain and limiting from its pieces' stored energies and
    peaks, into `out/levels.json` (the gain in dB, the ceiling, the limited pieces by key).
    `memo`: where limited pieces' measurements are remembered between builds."""
    rate = int(str(params["rate"]))
    target = float(str(params["loudness"]))
    pieces = [Piece.load(folder) for folder in folders]
    mono = bool(pieces) and pieces[0].channels == 1
    # A preview is dual mono: levelled as one channel, which on both speakers is 3 dB
    # louder than it measures alone; 0.5 LU from the target will do.
    chosen = levels(pieces, target - (DUAL_MONO_DB if mono else 0.0), rate=rate,
                    shortfall=0.45 if mono else GAIN_STEP_DB / 2, memo=memo)
    forget_others(memo, {folder.name for folder in folders})
    (out / "levels.json").write_text(json.dumps({
        "gain_db": round(20.0 * math.log10(chosen.scale), 4), "ceiling_db": chosen.ceiling_db,
        "limited": sorted(pieces[i].folder.name for i in chosen.limited)}), encoding="utf-8")


def read_levels(folder: Path) -> tuple[Levels, frozenset[str]]:
    """A `levels` job's decision: the levels, and the keys of the pieces it limits."""
    meta = json.loads((folder / "levels.json").read_text(encoding="utf-8"))
    chosen = Levels(scale=10.0 ** (float(meta["gain_db"]) / 20.0),
                    ceiling_db=float(meta["ceiling_db"]))
    return chosen, frozenset(meta["limited"])


def _place(source: Path, target: Path) -> None:
    """`source`'s bytes at `target`: a hard link where the file system allows."""
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(source.read_bytes())


def chunk_job(params: dict[str, object], piece_folder: Path, levels_folder: Path, out: Path,
              store: Store) -> None:
    """A `chunk` job: the piece levelled as its `levels` job decided, encoded into
    `out/chunk.aac` (`link/aac.py`; empty when no frame of the film starts in it). The
    film's gain changes the chunk job's key at every edit, so the encoded chunk is also
    kept in the store under `_chunk_key`, what its bytes depend on, and found there when
    the piece, its grid phase and its levels are what they were."""
    import numpy as np

    rate = int(str(params["rate"]))
    piece = Piece.load(piece_folder)
    chosen, limited_keys = read_levels(levels_folder)
    limited = piece_folder.name in limited_keys
    span = aac.span(int(str(params["start"])), piece.samples, piece.margin,
                    int(str(params["total"])))
    target = out / "chunk.aac"
    if not span.keep:
        target.write_bytes(b"")
        return
    key = _chunk_key(piece, span, limited, chosen, params)
    if store.lookup(key).ok:
        with contextlib.suppress(OSError):      # gone meanwhile (gc): encoded again
            _place(store.path(key) / "chunk.aac", target)
            return
    samples = _levelled_range(piece, limited, chosen, rate, span.lo, span.hi)
    if piece.channels == 1:
        samples = np.repeat(samples, 2, axis=1)
    pcm = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    del samples
    target.write_bytes(aac.encode_chunk(pcm, span, rate, str(params["bitrate"])))
    with contextlib.suppress(OSError), store.writing(key, "aac") as folder:
        _place(target, folder / "chunk.aac")


def join_job(params: dict[str, object], folders: list[Path], out: Path) -> None:
    """The `mix` job: the chunks' packets joined by stream copy into `out/mix.m4a`."""
    rate, total = int(str(params["rate"])), int(str(params["samples"]))
    if total:
        aac.join([folder / "chunk.aac" for folder in folders], total, rate, out / "mix.m4a")
    else:
        aac.silence(rate, str(params["bitrate"]), out / "mix.m4a")


def master_job(params: dict[str, object], folders: list[Path], out: Path, store: Store,
               memo: Path | None = None) -> None:
    """The three jobs in one, in `out` (`levels.json`, `chunks/<i>/chunk.aac`, `mix.m4a`),
    for a check or a tool: the build runs them as jobs of their own."""
    levels_job(params, folders, out, memo)
    total = sum(Piece.load(folder).samples for folder in folders)
    chunks = []
    start = 0
    for index, folder in enumerate(folders):
        chunk = out / "chunks" / str(index)
        chunk.mkdir(parents=True)
        chunk_job({**params, "start": start, "total": total}, folder, out, chunk, store)
        start += Piece.load(folder).samples
        chunks.append(chunk)
    join_job({**params, "samples": total}, chunks, out)


def film_sound(levels_folder: Path, folders: list[Path], rate: int) -> Floats:
    """The film's levelled sound, whole, as its AAC was encoded from (for checks and for a
    tool that wants PCM): the pieces (`folders`) at the levels a `levels` job decided.
    Holds the whole film: not for the build."""
    import numpy as np

    chosen, limited = read_levels(levels_folder)
    pieces = [Piece.load(folder) for folder in folders]
    out = [_levelled_range(p, p.folder.name in limited, chosen, rate, p.margin,
                           p.margin + p.samples) for p in pieces]
    both = [np.repeat(s, 2, axis=1) if s.shape[1] == 1 else s for s in out]
    return np.concatenate(both) if both else np.zeros((0, 2))
