"""`filmc storyboard`: a contact sheet PNG of a film, run as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import ROOT
from filmlang.api import check_file
from filmlang.backends.procedural.text import font, text_width
from filmlang.storyboard import BACKGROUND, TEXT_ROWS, label_rows, layout_for

BAD = 'film "Bad" { size 320x180 }\nscene s {\n    shot wyde\n}\n'


def filmc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_storyboard_of_lighthouse(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "lighthouse.film", tmp_path / "lighthouse.film")
    result = filmc("storyboard", "lighthouse.film", "--columns", "3", "--width", "240",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "build" / "lighthouse-storyboard.png"
    assert result.stdout.strip() == f"wrote {Path('build/lighthouse-storyboard.png')} (7 shots)"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]

    # Seven shots in three columns: three rows of 240x136 frames, under a title bar.
    film = check_file(tmp_path / "lighthouse.film").film
    assert film is not None
    layout = layout_for(film, columns=3, width=240)
    assert (layout.rows, layout.thumb_height) == (3, 136)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == layout.size
        assert image.size[0] == 3 * 240 + 4 * layout.gutter
        assert image.size[1] == layout.header_height + 3 * (136 + layout.label_height
                                                           + layout.gutter)
        pixels = np.asarray(image.convert("RGB")).astype(np.int16)

    # Every cell has a picture in its frame and words in its label; the empty ones do not.
    background = np.array(BACKGROUND, dtype=np.int16)
    for index in range(3 * 3):
        left, top, right, bottom = layout.frame_box(index)
        frame = pixels[top:bottom, left:right]
        left, top, right, bottom = layout.label_box(index)
        inked = (np.abs(pixels[top:bottom, left:right] - background).sum(axis=2) > 60).sum()
        if index < 7:
            assert frame.std() > 8, f"shot {index + 1} has a blank frame"
            assert inked > 100, f"shot {index + 1} has no label"
        else:
            assert np.abs(frame - background).max() == 0
            assert inked == 0
    # The title bar says the film's title.
    title = pixels[:layout.title_height]
    assert (np.abs(title - background).sum(axis=2) > 60).sum() > 200
    # Under it, a sheet per character: MARA in her yellow raincoat, TOM in navy.
    assert layout.cast == 2 and layout.cast_height > 0
    for index, colour in enumerate(((236, 196, 40), (36, 48, 92))):
        left, top, right, bottom = layout.cast_box(index)
        card = pixels[top:bottom, left:right]
        assert (np.abs(card - colour).max(axis=2) <= 6).sum() > 100, index

    # The same film gives the same bytes.
    again = tmp_path / "again.png"
    result = filmc("storyboard", "lighthouse.film", "--columns", "3", "--width", "240",
                   "-o", str(again), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == path.read_bytes()


def test_storyboard_errors_exit_1(tmp_path: Path) -> None:
    (tmp_path / "bad.film").write_text(BAD)
    result = filmc("storyboard", "bad.film", "-o", "sheet.png", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.film:3:10: error: unknown shot type 'wyde' [E0104]" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sheet.png").exists()


def test_long_dialogue_is_wrapped_and_cut() -> None:
    text = "It was the best of times, it was the worst of times, it was the age of wisdom, " \
           "it was the age of foolishness, it was the epoch of belief."
    f = font(12)
    rows = label_rows([("MARA", text), ("TOM", "Yes.")], f, 200)
    assert len(rows) == TEXT_ROWS
    assert rows[0][0] == "MARA: " and rows[1][0] == ""
    assert rows[-1][1].endswith("…")
    assert all(text_width(f, prefix + line) <= 200 for prefix, line in rows)
    assert label_rows([("", "A gull.")], f, 200) == [("", "A gull.")]


def test_snow_falls_in_the_thumbnails(tmp_path: Path) -> None:
    """A snowy scene's thumbnail shows the snow the film shows; a clear one has none."""
    from filmlang.backends.procedural import draw as procedural
    from filmlang.storyboard import thumbnail

    snowy = tmp_path / "snowy.film"
    snowy.write_text('film "Snow" { size 320x180 }\n'
                     'scene a "EXT. SNOWY HARBOUR - NIGHT" { shot wide 1s }\n'
                     'scene b "EXT. HARBOUR - NIGHT" { shot wide 1s }\n', encoding="utf-8")
    film = check_file(snowy).film
    assert film is not None
    brighter = []
    for scene in film.scenes:
        shot = scene.shots[0]
        shown = np.asarray(thumbnail(film, scene, shot, 320, 180), dtype=np.int16)
        still = procedural.render_still(film, scene, shot, *procedural.still_size(320, 180))
        clear = next(iter(procedural.render_frames(still, shot.camera, 1, film.fps, 320, 180,
                                                   shot.seed))).astype(np.int16)
        brighter.append(int(((shown - clear).max(axis=2) > 20).sum()))
    assert brighter[0] > 50, brighter
    assert brighter[1] == 0, brighter
