"""The film's levels from its pieces (`link/master.py`, issue 13): the gain is the smallest
step that reaches the target, whatever was built before; a rebuild after an edit measures
only the changed pieces and decides what a cold build of the edited film decides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_pieces import BOUNDS, RATE, _film, _pieces, _store

from filmlang.backends.protocol import AudioCue
from filmlang.cache.store import Store
from filmlang.link import master
from filmlang.link.levels_memo import HINTS, Memo
from filmlang.link.loudness import _k_weighted
from filmlang.link.master import GAIN_STEP_DB, Piece, levels, levels_job
from filmlang.link.pieces import grain_energies

PARAMS: dict[str, object] = {"loudness": -9.0, "rate": RATE}


def _hot(store: Store, seed: int, louder: float = 1.0) -> tuple[list[AudioCue], list[Piece]]:
    """A loud film the limiter acts on in every piece; `louder` raises the lines of the
    line at 9.3 s (an edit there)."""
    cues, _ = _film(store, np.random.default_rng(seed), 12.0, 5.0 - 0.02)
    cues = [AudioCue(input=c.input, start=c.start, seconds=c.seconds, kind=c.kind,
                     gain=c.gain * (louder if 9.0 <= c.start < 10.0 else 1.0) * 2.5)
            for c in cues]
    return cues, _pieces(store, cues, BOUNDS)


def _decide(pieces: list[Piece], out: Path, memo: Path) -> dict[str, object]:
    out.mkdir(parents=True)
    levels_job(PARAMS, [p.folder for p in pieces], out, memo=memo)
    return dict(json.loads((out / "levels.json").read_text(encoding="utf-8")))


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    measured: list[str] = []
    real = master._measure_limited

    def count(piece: Piece, *args: object, **kwargs: object) -> object:
        measured.append(piece.folder.name)
        return real(piece, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(master, "_measure_limited", count)
    return measured


def _edited(tmp_path: Path) -> tuple[list[Piece], list[Piece]]:
    """The pieces before and after an edit, each named (as the store names them) by what
    it holds: the edited pieces get new names, the others keep theirs."""
    _, before = _hot(_store(tmp_path / "a"), 4)
    _, after = _hot(_store(tmp_path / "b"), 4, louder=1.1)
    renamed = []
    for old, new in zip(before, after, strict=True):
        same = (np.load(old.folder / "piece.npy") == np.load(new.folder / "piece.npy")).all()
        folder = new.folder.rename(new.folder.with_name(old.folder.name + ("" if same else "e")))
        renamed.append(Piece.load(folder))
    return before, renamed


def test_a_rebuild_after_an_edit_decides_as_a_cold_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _edited(tmp_path)
    changed = {p.folder.name for p in after} - {p.folder.name for p in before}
    assert 0 < len(changed) < len(after)
    memo = tmp_path / "memo"
    first = _decide(before, tmp_path / "first", memo)
    measured = _counting(monkeypatch)
    rebuilt = _decide(after, tmp_path / "rebuilt", memo)
    again = list(measured)
    measured.clear()
    cold = _decide(after, tmp_path / "cold", tmp_path / "fresh")
    assert rebuilt == cold, (first, rebuilt, cold)
    assert rebuilt["limited"] != first["limited"]       # the edited pieces' keys
    assert first["limited"] and cold["limited"]
    # The decision stayed: only the edited pieces were measured again, at the step and
    # the one below, each piece read once (`_measure_ahead`).
    assert rebuilt["gain_db"] == first["gain_db"]
    assert sorted(again) == sorted(2 * list(changed)), (again, changed)
    assert len(measured) > len(again)


@pytest.mark.parametrize("wrong", [-6.0, 0.0, 0.45, 4.0])
def test_a_misleading_hint_changes_nothing(tmp_path: Path, wrong: float) -> None:
    """The last decision is a first guess only: whatever it says, the same gain."""
    store = _store(tmp_path)
    _, pieces = _hot(store, 5)
    cold = _decide(pieces, tmp_path / "cold", tmp_path / "fresh")
    memo = tmp_path / "memo"
    memo.mkdir()
    gain = float(str(cold["gain_db"])) + wrong
    (memo / HINTS).write_text(json.dumps({f"{RATE}:-9.0": [gain, -1.75]}), encoding="utf-8")
    assert _decide(pieces, tmp_path / "hinted", memo) == cold


def test_the_pieces_blamed_before_are_only_an_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pieces that last held the true peak over the limit are measured first at each
    ceiling (a failing ceiling fails at once), and change nothing of the decision."""
    store = _store(tmp_path)
    _, pieces = _hot(store, 5)
    cold = _decide(pieces, tmp_path / "cold", tmp_path / "fresh")
    names = [p.folder.name for p in pieces]
    for blamed in (names[::-1], names[1::2], ["not-a-piece"]):
        memo = tmp_path / f"memo{len(blamed)}"
        memo.mkdir()
        (memo / HINTS).write_text(json.dumps({f"{RATE}:culprits": blamed}), encoding="utf-8")
        measured = _counting(monkeypatch)
        assert _decide(pieces, tmp_path / f"blamed{len(blamed)}", memo) == cold
        known = [n for n in blamed if n in names]
        if known:
            assert measured[0] == known[0], (measured, blamed)
        remembered = json.loads((memo / HINTS).read_text(encoding="utf-8"))
        assert isinstance(remembered[f"{RATE}:culprits"], list)
    store_memo = Memo(None, RATE)
    store_memo.culprits = [names[2], names[0]]
    assert store_memo.first(pieces, frozenset(range(len(pieces))))[:3] == [2, 0, 1]
    store_memo.blame(pieces[1])
    assert store_memo.culprits[:3] == [names[1], names[2], names[0]]


def test_the_gain_is_the_smallest_step_that_reaches_the_target(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _, pieces = _hot(store, 6)
    chosen = levels(pieces, -9.0, rate=RATE)
    assert chosen.limited
    found: dict[int, float] = {}
    real = master._first_reaching

    def spy(search: master._Search, goal: float, first: int, top: int) -> int:
        k = real(search, goal, first, top)
        found.update({j: search.at(j)[0] for j in (k - 1, k) if j >= 0})
        return k

    master._first_reaching = spy
    try:
        again = levels(pieces, -9.0, rate=RATE)
    finally:
        master._first_reaching = real
    assert again == chosen
    goal = -9.0 - GAIN_STEP_DB / 2
    k = max(found)
    assert k > 0, "the limiter should cost loudness here"
    assert found[k] >= goal > found[k - 1]
    assert goal <= found[k] < -9.0 + GAIN_STEP_DB


def test_a_limited_piece_is_measured_as_if_weighted_whole(tmp_path: Path) -> None:
    """Only the grains the limiter reaches are weighted again: the same energies as the
    limited piece K-weighted whole, and the same loudness whatever the measurement."""
    store = _store(tmp_path)
    _, pieces = _hot(store, 7)
    scale, ceiling = 10 ** (2.0 / 20), -1.55
    for piece in pieces:
        data, peaks = piece.samples_with_margins(), piece.peaks()
        gain = master._limiter_gain(peaks, scale, ceiling, RATE)
        if (gain == scale).all():
            continue
        measured, _ = master._measure_limited(piece, data, gain, scale, piece.energies(),
                                              peaks, RATE)
        m, n = piece.margin, piece.samples
        whole = grain_energies(_k_weighted(data[:m + n] * gain[:m + n, None], RATE)[m:],
                               piece.grain)
        assert np.allclose(measured, whole, rtol=1e-9, atol=1e-12)
