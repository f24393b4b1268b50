"""The animatic shows the script: verbs staged as poses, props, places and people as written.

Single frames are drawn in process (`draw.Staged.at`): each verb's test compares the
figure's joints and pixels at the start and end (or middle) of its shot.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import check_source
from filmlang import ir
from filmlang.backends.procedural import draw as P
from filmlang.backends.procedural.places import PAINTERS
from filmlang.backends.procedural.props import PROPS
from filmlang.backends.procedural.spec import StillSpec, Subject, still_spec
from filmlang.build import build
from filmlang.link.ffmpeg import ffmpeg_exe
from filmlang.semantic.places import PLACES
from filmlang.semantic.staging import PROPS as PROP_NAMES
from filmlang.semantic.staging import VOCABULARY

W, H = 320, 180

VERBS: dict[str, str] = {
    "sit": "ANA sits down",
    "stand": "ANA stands up",
    "walk_in": "ANA walks in",
    "walk_out": "ANA walks out",
    "walk_to": "ANA walks to BO",
    "run": "ANA runs",
    "turn": "ANA turns around",
    "look_at": "ANA looks at BO",
    "point": "ANA points at the sea",
    "nod": "ANA nods",
    "wave": "ANA waves",
    "hug": "ANA hugs BO",
    "lie": "ANA lies down",
    "open": "ANA opens the door",
    "close": "ANA closes the door",
    "pick_up": "ANA picks up the cup",
    "put_down": "ANA puts down the bag",
    "hold": "ANA holds the lantern",
    "give": "ANA gives the letter to BO",
    "drink": "ANA drinks",
    "eat": "ANA eats",
    "write": "ANA writes",
    "phone": "ANA phones home",
}
TWO = {"walk_to", "look_at", "hug", "give"}
WIDE = {"walk_in", "walk_out", "walk_to", "run", "hug", "lie"}

SOURCE = 'film "Verbs" { size 320x180\n fps 8 }\n' + '''
character ANA {
    look "young woman, short hair, green coat"
    color "#e6b422"
}
character BO {
    look "old man, grey beard, charcoal coat"
    color "#d02090"
}
scene verbs "INT. KITCHEN - DAY" {
''' + "".join(
    f'    shot {"wide" if v in WIDE else "medium"} '
    f'ANA{" BO" if v in TWO else ""} 1s {{ action "{text}" }}\n'
    for v, text in VERBS.items()) + "}\n"


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> ir.Film:
    result = check_source(tmp_path_factory.mktemp("verbs"), SOURCE)
    assert result.film is not None, result.report()
    assert not result.diagnostics, result.report()
    return result.film


def staged(film: ir.Film, verb: str) -> P.Staged:
    scene = film.scenes[0]
    shot = scene.shots[list(VERBS).index(verb)]
    assert shot.beats and shot.beats[0].verb == verb, shot.beats
    return P.Staged(still_spec(film, scene, shot), W, H)


def at(s: P.Staged, t: float) -> tuple[np.ndarray, list[dict[str, tuple[float, float]]]]:
    image, _, joints = s.at(t, t)
    return np.asarray(image, dtype=np.int16), joints


def box(s: P.Staged, t: float) -> tuple[int, int, int, int] | None:
    """The bounding box (x0, y0, x1, y1) of what is drawn over the plate at t."""
    image, _ = at(s, t)
    changed = np.abs(image - np.asarray(s.plate, dtype=np.int16)).max(axis=2) > 24
    ys, xs = np.nonzero(changed)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_every_verb_of_the_vocabulary_has_a_shot() -> None:
    assert set(VERBS) == set(VOCABULARY) - {"walk", "look"}


def test_sit_and_stand_lower_and_raise_the_hips(film: ir.Film) -> None:
    for verb, sign in (("sit", 1), ("stand", -1)):
        s = staged(film, verb)
        hip0, hip1 = at(s, 0.0)[1][0]["hip"][1], at(s, 1.0)[1][0]["hip"][1]
        assert (hip1 - hip0) * sign > 5, verb


def test_walking_in_and_out_crosses_the_frame_edge(film: ir.Film) -> None:
    s = staged(film, "walk_in")
    start, end = box(s, 0.0), box(s, 1.0)
    assert end is not None and (start is None or start[2] < end[0] or start[0] < 0.1 * W)
    assert 0.2 * W < (end[0] + end[2]) / 2 < 0.8 * W
    s = staged(film, "walk_out")
    start, end = box(s, 0.0), box(s, 1.0)
    assert start is not None and 0.2 * W < (start[0] + start[2]) / 2 < 0.8 * W
    assert end is None or end[2] < 0.12 * W or end[0] > 0.88 * W


def test_walking_to_and_hugging_close_the_gap(film: ir.Film) -> None:
    for verb in ("walk_to", "hug"):
        s = staged(film, verb)
        a0, b0 = (j["hip"][0] for j in at(s, 0.0)[1])
        a1, b1 = (j["hip"][0] for j in at(s, 1.0)[1])
        assert abs(b1 - a1) < abs(b0 - a0) * 0.8, verb


def test_running_covers_ground_with_long_strides(film: ir.Film) -> None:
    s = staged(film, "run")
    x0, x1 = at(s, 0.0)[1][0]["hip"][0], at(s, 1.0)[1][0]["hip"][0]
    assert abs(x1 - x0) > 0.2 * W
    feet = [abs(j["foot_r"][0] - j["foot_l"][0]) for j in (at(s, t / 10)[1][0] for t in range(11))]
    assert max(feet) - min(feet) > 2


def test_turning_shows_the_back(film: ir.Film) -> None:
    s = staged(film, "turn")
    assert s.at(0.0, 0.0)[1][0] is not None  # a face, with a mouth
    assert s.at(1.0, 1.0)[1][0] is None  # the back of the head


def test_looking_at_turns_the_face_toward_them(film: ir.Film) -> None:
    s = staged(film, "look_at")
    m0, m1 = s.at(0.0, 0.0)[1][0], s.at(1.0, 1.0)[1][0]
    assert m0 is not None and m1 is not None and m1.x > m0.x  # BO stands to the right


def test_pointing_and_waving_raise_an_arm(film: ir.Film) -> None:
    s = staged(film, "point")
    j0, j1 = at(s, 0.0)[1][0], at(s, 1.0)[1][0]
    assert j1["hand_r"][0] - j1["hip"][0] > 2 * (j0["hand_r"][0] - j0["hip"][0])
    b0, b1 = box(s, 0.0), box(s, 1.0)
    assert b0 is not None and b1 is not None and b1[2] > b0[2] + 10
    s = staged(film, "wave")
    j0, j1 = at(s, 0.0)[1][0], at(s, 0.5)[1][0]
    assert j1["hand_r"][1] < j1["head"][1] < j0["hand_r"][1]


def test_nodding_moves_the_head(film: ir.Film) -> None:
    s = staged(film, "nod")
    heads = [at(s, t / 8)[1][0]["head"][1] for t in range(9)]
    assert max(heads) - min(heads) > 1


def test_lying_down_turns_the_figure_on_its_side(film: ir.Film) -> None:
    s = staged(film, "lie")
    b0, b1 = box(s, 0.0), box(s, 1.0)
    assert b0 is not None and b1 is not None
    assert b0[3] - b0[1] > b0[2] - b0[0]  # standing: taller than wide
    assert b1[2] - b1[0] > b1[3] - b1[1]  # lying: wider than tall


def test_opening_and_closing_swing_the_door(film: ir.Film) -> None:
    for verb in ("open", "close"):
        s = staged(film, verb)
        door = next(p for p in s.stage.placed if p.kind == "door")
        a, b = door.opened(0.0), door.opened(1.0)
        assert (a, b) == ((0.0, 1.0) if verb == "open" else (1.0, 0.0))
        start, end = at(s, 0.0)[0], at(s, 1.0)[0]
        assert np.count_nonzero(np.abs(start - end).max(axis=2) > 30) > 100
        j = at(s, 1.0)[1][0]
        assert abs(j["hand_r"][0] - j["hip"][0]) > 30 or abs(j["hand_l"][0] - j["hip"][0]) > 30


def test_picking_up_and_putting_down_move_the_prop(film: ir.Film) -> None:
    s = staged(film, "pick_up")
    assert s.stage.tracks["ANA"].at(0.0, 0).held == ""
    assert s.stage.tracks["ANA"].at(1.0, 1).held == "cup"
    low = at(s, 0.5)[1][0]["hand_r"][1]
    assert at(s, 1.0)[1][0]["hand_r"][1] < low - 5  # lifted back up
    s = staged(film, "put_down")
    assert s.stage.tracks["ANA"].at(0.0, 0).held == "bag"
    assert s.stage.tracks["ANA"].at(1.0, 1).held == ""


def _near(image: np.ndarray, color: tuple[int, int, int], point: tuple[float, float],
          radius: int) -> int:
    x, y = round(point[0]), round(point[1])
    patch = image[max(0, y - radius):y + radius, max(0, x - radius):x + radius]
    return int(np.count_nonzero(np.abs(patch - np.asarray(color)).max(axis=2) <= 12))


def test_holding_puts_the_prop_in_the_hand(film: ir.Film) -> None:
    s = staged(film, "hold")
    image, joints = at(s, 1.0)
    assert _near(image, (255, 226, 150), joints[0]["hand_r"], 20) > 5  # the lantern's flame


def test_giving_passes_the_prop(film: ir.Film) -> None:
    s = staged(film, "give")
    assert s.stage.tracks["ANA"].at(0.0, 0).held == "letter"
    assert s.stage.tracks["ANA"].at(1.0, 1).held == ""
    assert s.stage.tracks["BO"].at(1.0, 1).held == "letter"
    image, joints = at(s, 1.0)
    paper = (240, 232, 208)
    assert _near(image, paper, joints[1]["hand_r"], 12) > _near(image, paper,
                                                               joints[0]["hand_r"], 12)


@pytest.mark.parametrize("verb", ["drink", "eat", "phone"])
def test_drinking_eating_and_phoning_bring_a_hand_to_the_head(film: ir.Film,
                                                               verb: str) -> None:
    s = staged(film, verb)
    j0, j1 = at(s, 0.0)[1][0], at(s, 1.0)[1][0]

    def reach(j: dict[str, tuple[float, float]]) -> float:
        return float(np.hypot(j["hand_r"][0] - j["head"][0], j["hand_r"][1] - j["head"][1]))

    assert reach(j1) < 0.5 * reach(j0)
    assert s.stage.tracks["ANA"].at(1.0, 1).held


def test_writing_brings_the_hands_in_front(film: ir.Film) -> None:
    s = staged(film, "write")
    j0, j1 = at(s, 0.0)[1][0], at(s, 1.0)[1][0]
    assert abs(j1["hand_l"][0] - j1["hand_r"][0]) < 0.6 * abs(j0["hand_l"][0] - j0["hand_r"][0])


def test_unknown_verbs_get_a_hint_at_the_action(tmp_path: Path) -> None:
    result = check_source(tmp_path, 'film "T" { size 320x180 }\ncharacter ANA { look "a" }\n'
                          'scene s "INT. KITCHEN - DAY" {\n'
                          '    shot wide ANA { action "ANA juggles three oranges" }\n}\n')
    assert result.film is not None
    hints = [d for d in result.diagnostics if d.code == "W0005"]
    assert len(hints) == 1 and "juggles" in hints[0].message
    assert hints[0].span.line == 4 and "walk in/out/to" in hints[0].help


def test_a_film_using_every_verb_builds(tmp_path: Path) -> None:
    path = tmp_path / "verbs.film"
    path.write_text(SOURCE)
    result = build(path, jobs=1)
    assert result.ok and result.output is not None, result.diagnostics
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(result.output), "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                         check=True).stdout
    video = np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W, 3).astype(np.int16)
    # The first shot (sitting down) moves within itself on a static camera.
    assert np.count_nonzero(np.abs(video[0] - video[6]).max(axis=2) > 30) > 50


# --- props --------------------------------------------------------------------------------

def test_the_library_draws_every_prop_the_words_name() -> None:
    assert len(PROPS) >= 40
    assert set(PROP_NAMES) <= set(PROPS)


def test_declared_props_are_checked_and_shown_large_in_inserts(tmp_path: Path) -> None:
    source = ('film "T" { size 320x180 }\nprop LANTERN { look "brass storm lantern" }\n'
              'character ANA { look "a" }\n'
              'scene s "EXT. HARBOUR - NIGHT" {\n    shot wide ANA { action "ANA lifts the '
              'LANTERN" }\n    shot insert LANTERN\n}\n')
    result = check_source(tmp_path, source)
    assert result.film is not None, result.report()
    assert result.film.props[0].kind == "lantern"
    scene = result.film.scenes[0]
    insert = P.render_still(result.film, scene, scene.shots[1], *P.still_size(W, H))
    flame = np.abs(np.asarray(insert, np.int16) - (255, 226, 150)).max(axis=2) <= 6
    assert np.count_nonzero(flame) > 0.02 * insert.width * insert.height
    twice = check_source(tmp_path, source.replace(
        'character ANA', 'prop LANTERN { look "x" }\ncharacter ANA'))
    assert twice.film is None and any(d.code == "E0105" for d in twice.diagnostics)
    wrong = check_source(tmp_path, source.replace('look "brass storm lantern"', 'colour "x"'))
    assert wrong.film is None


# --- places -------------------------------------------------------------------------------

def place_still(kind: str, time: str = "day", ambience: str = "") -> Image.Image:
    spec = StillSpec(place_seed=1, time=time, interior=PLACES[kind][0], setting="",
                     location="", heading="", shot_type="wide", framing="wide", action="",
                     subjects=(), place=kind, ambience=ambience)
    return P.paint_still(spec, W, H)


def test_every_place_kind_is_painted_and_distinct() -> None:
    assert len(PLACES) >= 25 and set(PLACES) == set(PAINTERS)
    images = {k: np.asarray(place_still(k), np.int16) for k in PLACES}
    kinds = list(images)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1:]:
            assert np.abs(images[a] - images[b]).mean() > 4, (a, b)


def test_places_come_from_heading_and_setting(tmp_path: Path) -> None:
    source = ('film "T" { size 320x180 }\n'
              'scene a "INT. BAKERY - DAWN" { shot wide 1s }\n'
              'scene b "EXT. MARKET SQUARE - DAY" { shot wide 1s }\n'
              'scene c "INT. FERRY - NIGHT" { setting "the ferry\'s wheelhouse"\n shot wide 1s }\n'
              'scene d "EXT. NOWHERE IN PARTICULAR - DAY" { shot wide 1s }\n')
    result = check_source(tmp_path, source)
    assert result.film is not None
    assert [s.place for s in result.film.scenes] == ["bakery", "market", "wheelhouse", ""]
    hints = [d for d in result.diagnostics if d.code == "W0006"]
    assert len(hints) == 1 and hints[0].span.line == 6 and "exterior" in hints[0].message


def test_no_moon_or_stars_under_rain_clouds() -> None:
    clear = np.asarray(place_still("field", "night"), np.int16)
    storm = np.asarray(place_still("field", "night", "rain"), np.int16)
    sky = slice(0, H // 3)
    assert np.count_nonzero(clear[sky].min(axis=2) > 200) > 20  # the moon and stars
    assert np.count_nonzero(storm[sky].min(axis=2) > 200) == 0


# --- people -------------------------------------------------------------------------------

def figure_box(look: str, color: str = "#e6b422") -> tuple[int, int, int, int]:
    spec = StillSpec(place_seed=1, time="day", interior=True, setting="", location="",
                     heading="", shot_type="wide", framing="wide", action="",
                     subjects=(Subject(look, color, 2, "A"),), place="kitchen")
    plate = np.asarray(P.Staged(spec, W, H).plate, np.int16)
    image = np.asarray(P.paint_still(spec, W, H), np.int16)
    ys, xs = np.nonzero(np.abs(image - plate).max(axis=2) > 24)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_age_sets_the_height() -> None:
    adult = figure_box("a fisherman in his thirties")
    child = figure_box("an eleven-year-old boy")
    teen = figure_box("a teenage girl")
    old = figure_box("old man in his seventies")

    def height(b: tuple[int, int, int, int]) -> int:
        return b[3] - b[1]

    assert height(child) < 0.82 * height(adult)
    assert height(child) < height(teen) <= height(adult)
    assert height(old) < height(adult)
    assert abs(adult[3] - child[3]) <= 2  # on the same ground


def test_look_words_set_hair_clothes_and_accessories() -> None:
    from filmlang.backends.procedural.looks import figure_of
    from filmlang.backends.procedural.spec import words_of

    def fig(look: str) -> object:
        return figure_of(look, "#4f86c6", 4, words_of(look))

    gaunt = fig("gaunt, unshaven man, charcoal coat")
    assert not gaunt.long_hair and gaunt.stubble and gaunt.width < 1  # type: ignore[attr-defined]
    assert gaunt.color == (58, 60, 66) and gaunt.accent == (79, 134, 198)  # type: ignore[attr-defined]
    keeper = fig("weathered keeper in her sixties, grey braid, yellow raincoat")
    assert keeper.long_hair and keeper.age == "old" and keeper.color == (236, 196, 40)  # type: ignore[attr-defined]
    baker = fig("bald baker with glasses, apron, red scarf, flat cap")
    assert baker.bald and baker.glasses and baker.apron and baker.scarf and baker.cap  # type: ignore[attr-defined]
    plain = fig("young woman, red hair, raincoat")
    assert plain.color == (79, 134, 198)  # type: ignore[attr-defined]


def test_parentheticals_stage_their_speaker_and_mouths_follow_the_face(tmp_path: Path) -> None:
    source = ('film "T" { size 320x180 }\ncharacter ANA { look "a woman" }\n'
              'scene s "INT. OFFICE - DAY" {\n    shot medium ANA {\n'
              '        ANA (waving): "Over here!"\n    }\n}\n')
    result = check_source(tmp_path, source)
    assert result.film is not None, result.report()
    scene = result.film.scenes[0]
    shot = scene.shots[0]
    assert [(b.verb, b.actor) for b in shot.beats] == [("wave", "ANA")]
    s = P.Staged.of(still_spec(result.film, scene, shot), W, H)
    assert s is not None  # a waving figure moves: its frames are drawn one by one
    mouths = [s.at(t / 4, t / 4)[1][0] for t in range(5)]
    assert all(m is not None for m in mouths)  # lip sync has a mouth on every frame
