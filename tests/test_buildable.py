"""Whatever `check` accepts builds (issue 12): a property over generated small films.

Each generated film goes through `check`; when it is clean, the planner and the timeline
solver must take it (with made-up speech lengths) and give a plan whose chapters, cues and
segments are all sound, or stop with a build diagnostic (E06xx, which needs speech lengths
that `check` cannot know). A few of the films are built for real, at 64x36 and a few fps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import check_source
from filmlang.backends.protocol import PlanContext
from filmlang.build import build
from filmlang.config import BuildConfig
from filmlang.plan.assembly import chapters, subtitle_cues
from filmlang.plan.planner import plan_film
from filmlang.timeline import solve

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

DURATIONS = ["1ms", "40ms", "100ms", "250ms", "0.5s", "1s", "1.5s", "2s", "3s"]
TRANSITIONS = ["cut", "fade {}", "dissolve {}", "wipe {}"]
CAST = ("character MARA {{\n    look \"keeper, yellow raincoat\"\n    voice \"en\" pitch={p} "
        "rate={r} volume={v}\n}}\ncharacter TOM {{ look \"fisherman\" }}\n")

duration = st.sampled_from(DURATIONS)
short = st.sampled_from(DURATIONS[:6])
words = st.sampled_from(["Run.", "The light has to stay on.", "Hm.", "Now!", "Again, and again."])


@st.composite
def shots(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["wide", "close_up", "two_shot", "insert"]))
    subjects = draw(st.sampled_from(["", " MARA", " TOM", " MARA TOM"]))
    fixed = draw(st.one_of(st.just(""), duration.map(lambda d: " " + d)))
    body: list[str] = []
    speakers = [name for name in ("MARA", "TOM") if name in subjects] or ["MARA"]
    # Lines in a short shot of fixed length are E0601 at build: mostly, leave them out.
    for _ in range(draw(st.sampled_from([0, 0, 0, 1]) if fixed else st.integers(0, 2))):
        if draw(st.booleans()):
            body.append(f"pause {draw(duration)}")
        body.append(f'{draw(st.sampled_from(speakers))}: "{draw(words)}"')
    if draw(st.booleans()):
        body.append(f'title "Dawn" at={draw(st.sampled_from(["0s", "1ms", "0.2s"]))} '
                    f"for={draw(short)}")
    if draw(st.booleans()):
        body.append(f'sound "{draw(st.sampled_from(["door", "thunder"]))}" at=0s '
                    f"volume={draw(st.sampled_from(['0', '0.5', '2']))}")
    if draw(st.booleans()):
        body.append(f"camera {draw(st.sampled_from(['static', 'push_in', 'handheld']))}")
    inner = "".join(f"        {line}\n" for line in body)
    return f"    shot {kind}{subjects}{fixed}" + (f" {{\n{inner}    }}\n" if inner else "\n")


def _transition(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(TRANSITIONS)).format(draw(short))


@st.composite
def scenes(draw: st.DrawFn, name: str) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f'    music "tense" tempo={draw(st.sampled_from(["20", "84", "300"]))} '
                     f"volume={draw(st.sampled_from(['0', '1', '2']))}")
    if draw(st.booleans()):
        lines.append(f'    ambience "{draw(st.sampled_from(["rain", "sea"]))}" volume=0.3')
    if draw(st.booleans()):
        lines.append(f"    fade {draw(duration)}")
    count = draw(st.integers(1, 3))
    for index in range(count):
        if index and draw(st.booleans()):
            lines.append("    " + _transition(draw))
        lines.append(draw(shots()).rstrip("\n"))
    if draw(st.booleans()):
        lines.append(f"    fade {draw(duration)}")
    heading = draw(st.sampled_from(["", ' "EXT. COAST - NIGHT"', ' "INT. ROOM - DAY"']))
    return f"scene {name}{heading} {{\n" + "\n".join(lines) + "\n}\n"


@st.composite
def films(draw: st.DrawFn) -> str:
    width = draw(st.sampled_from([16, 32, 64, 96]))
    height = draw(st.sampled_from([16, 36, 54]))
    fps = draw(st.sampled_from(["1", "1.5", "4", "6", "12"]))
    subtitles = draw(st.sampled_from(["track", "burn", "none"]))
    text = (f'film "Generated" {{\n    size {width}x{height}\n    fps {fps}\n'
            f"    seed {draw(st.sampled_from(['0', '7', '4294967295']))}\n"
            f"    subtitles {subtitles}\n}}\n")
    text += CAST.format(p=draw(st.sampled_from(["0", "50", "100"])),
                        r=draw(st.sampled_from(["80", "150", "400"])),
                        v=draw(st.sampled_from(["0", "1", "2"])))
    for index in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3]))):
        if index and draw(st.booleans()):
            text += _transition(draw) + "\n"
        text += draw(scenes(f"s{index}"))
    return text


def _speech(film_text: str) -> float:
    return 0.2 + 0.03 * len(film_text)


@settings(max_examples=150, **SETTINGS)  # type: ignore[arg-type]
@given(text=films())
def test_what_check_accepts_the_planner_takes(tmp_path_factory: object, text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = check_source(Path(folder), text)
    if not result.ok:
        assert result.errors, "a failed check says why"
        return
    film = result.film
    assert film is not None and film.scenes
    lines = {(scene.name, shot.index, i): line.text
             for scene in film.scenes for shot in scene.shots
             for i, line in enumerate(shot.lines)}

    def lengths(ctx: PlanContext) -> dict[tuple[str, int, int], float]:
        assert set(ctx.speech) == set(lines)
        return {where: _speech(words) for where, words in lines.items()}

    for preview in (False, True):
        plan = plan_film(film, BuildConfig(preview=preview), lengths)
        timeline = plan.timeline
        assert timeline is not None
        if plan.problems:
            assert {d.code for d in plan.problems} <= {"E0601", "E0602"}, plan.problems
            continue
        assert timeline.frames > 0
        assert all(timing.frames >= 1 for timing in timeline.shots)
        for _, start, end in chapters(timeline):
            assert end > start, chapters(timeline)
        for cue in subtitle_cues(timeline):
            assert cue.end > cue.start
        assert plan.graph is not None and "film" in plan.graph.outputs


def _clean(text: str) -> bool:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return check_source(Path(folder), text).ok


@settings(max_examples=8, **SETTINGS)  # type: ignore[arg-type]
@given(text=films().filter(_clean))
def test_what_check_accepts_builds(tmp_path_factory: object, text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.film"
        path.write_text(text, encoding="utf-8")
        result = build(path, jobs=2)
        assert result.check.ok, result.check.report()
        codes = {d.code for d in result.diagnostics}
        assert result.ok or codes <= {"E0601", "E0602"}, (
            text, result.diagnostics, [f.message for f in result.failures])
        if result.ok:
            assert result.output is not None and result.output.stat().st_size > 0


def test_a_film_without_scenes_is_a_check_error(tmp_path: Path) -> None:
    result = check_source(tmp_path, 'film "Nothing" {\n    size 64x36\n}\n')
    assert [(d.code, d.span.line) for d in result.errors] == [("E0306", 1)]


@pytest.mark.parametrize("transition", ["wipe 1s", "dissolve 1s", "dissolve 0.9s"])
def test_a_transition_that_covers_a_whole_scene_is_a_check_error(tmp_path: Path,
                                                                 transition: str) -> None:
    text = ('film "T" {\n    size 64x36\n    fps 4\n}\nscene a { shot wide 1s }\n'
            f"{transition}\nscene b {{ shot wide 2s }}\n")
    result = check_source(tmp_path, text)
    assert [(d.code, d.span.line) for d in result.errors] == [("E0202", 6)], result.report()
    assert "covers all of the scene before it" in result.errors[0].message
    ok = text.replace(transition, transition.split()[0] + " 0.5s")
    assert check_source(tmp_path, ok).ok


def test_a_transition_that_covers_a_whole_spoken_scene_stops_the_build(tmp_path: Path) -> None:
    text = ('film "T" {\n    size 64x36\n    fps 4\n}\ncharacter A { look "a" }\n'
            'shottype talk { duration 3s }\n'
            'scene a { shot talk A { A: "Hi." } }\nwipe 3s\nscene b { shot wide 4s }\n')
    film = check_source(tmp_path, text).film
    assert film is not None
    timeline, problems = solve(film, {("a", 0, 0): 0.5}, film.fps)
    assert [d.code for d in problems] == ["E0602"]
    assert all(end > start for _, start, end in chapters(timeline))
