"""End to end: real builds of small films with the default backends, checked with ffmpeg.

Films here are tiny (160x90 at 8 fps) so that a build takes seconds. Each test builds
into its own cache; `built` builds the reference film once for the module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY_FILM, write_film
from filmlang.build import BuildResult, build
from filmlang.link.ffmpeg import ffmpeg_exe, probe


def statuses(result: BuildResult) -> dict[str, dict[str, int]]:
    return result.counts()


def framemd5(path: Path) -> list[str]:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v",
                          "-map", "0:a", "-f", "framemd5", "-"], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    folder = tmp_path_factory.mktemp("tiny")
    path = write_film(folder)
    result = build(path, jobs=2)
    assert result.ok, (result.check.report(), result.diagnostics,
                       [f.message for f in result.failures])
    return path, result


def test_the_film_has_its_streams_chapters_and_subtitles(built: tuple[Path, BuildResult]
                                                         ) -> None:
    path, result = built
    assert result.output == path.parent / "build" / "tiny.mp4"
    info = probe(result.output)
    assert result.timeline is not None
    assert info.video is not None and info.video.codec == "h264"
    assert info.video.width == 160 and info.video.height == 90
    assert info.video.frames == result.timeline.frames
    assert [a.codec for a in info.audio] == ["aac"]
    assert [s.codec for s in info.subtitles] == ["mov_text"]
    assert [c.title for c in info.chapters] == ["EXT. LIGHTHOUSE - NIGHT",
                                               "EXT. LIGHTHOUSE - DAWN"]
    assert info.duration is not None
    assert abs(info.duration - result.timeline.seconds) < 0.1


def test_subtitles_match_the_timeline_exactly(built: tuple[Path, BuildResult]) -> None:
    _, result = built
    assert result.subtitles is not None and result.timeline is not None
    srt = result.subtitles.read_text()
    lines = [lt for st in result.timeline.shots for lt in st.lines]
    assert "The light has to stay on." in srt and "Then we keep it burning." in srt
    for lt in lines:
        start = lt.start
        stamp = (f"{int(start // 3600):02d}:{int(start % 3600 // 60):02d}:"
                 f"{int(start % 60):02d},{round(start % 1 * 1000):03d}")
        assert stamp in srt
    # The first line starts 0.5 s into its shot (spec section 5).
    second_shot = result.timeline.shots[1]
    assert abs(second_shot.lines[0].start - (second_shot.start_frame / 8 + 0.5)) < 1e-9


def test_no_op_rebuild_runs_nothing(built: tuple[Path, BuildResult]) -> None:
    path, first = built
    again = build(path, jobs=2)
    assert again.ok
    ran = {kind: c["ran"] for kind, c in again.counts().items() if c["ran"]}
    assert ran == {}
    assert framemd5(first.output) == framemd5(again.output)  # type: ignore[arg-type]


def test_editing_one_line_reruns_only_what_it_touches(tmp_path: Path) -> None:
    path = write_film(tmp_path)
    assert build(path, jobs=2).ok
    path.write_text(TINY_FILM.replace("Then we keep it burning.", "Then we keep it lit."))
    result = build(path, jobs=2)
    assert result.ok
    ran = {kind: c["ran"] for kind, c in result.counts().items() if c["ran"]}
    assert ran.get("speech") == 1 and "still" not in ran
    assert ran.get("segment", 0) + ran.get("transition", 0) <= 2
    log = [json.loads(x) for x in (tmp_path / ".filmcache" / "log.jsonl").read_text()
           .splitlines()]
    speech = [e for e in log if e["kind"] == "speech" and e["status"] == "ran"]
    assert "lit" in speech[-1]["label"]
    assert speech[-1]["reason"] == "scene storm shot 3 dialogue 1 text"


def test_same_source_same_film_without_cache(tmp_path: Path,
                                             built: tuple[Path, BuildResult]) -> None:
    _, first = built
    path = write_film(tmp_path)
    again = build(path, jobs=1)
    assert again.ok
    assert framemd5(first.output) == framemd5(again.output)  # type: ignore[arg-type]


def test_corrupt_output_object_is_noticed_and_rebuilt(tmp_path: Path) -> None:
    path = write_film(tmp_path)
    first = build(path, jobs=2)
    assert first.ok and first.graph is not None
    film_object = tmp_path / ".filmcache" / "objects"
    key = first.graph.outputs["film"]
    target = film_object / key[:2] / key / "film.mp4"
    target.write_bytes(target.read_bytes()[:1000])
    again = build(path, jobs=2)
    assert again.ok
    ran = {kind: c["ran"] for kind, c in again.counts().items() if c["ran"]}
    assert ran == {"mux": 1}
    assert framemd5(first.output) == framemd5(again.output)  # type: ignore[arg-type]


def test_killed_build_resumes_and_gives_the_same_film(tmp_path: Path,
                                                      built: tuple[Path, BuildResult]) -> None:
    _, reference = built
    path = write_film(tmp_path)
    log = tmp_path / ".filmcache" / "log.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "filmlang.cli", "build", str(path),
                             "--log-format", "jsonl", "-j", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if log.exists() and sum(1 for x in log.read_text().splitlines()
                                if '"ran"' in x) >= 4:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {json.loads(x)["key"] for x in log.read_text().splitlines()
                   if json.loads(x)["status"] == "ran"}
    assert done_before, "the build was killed before any job finished"
    result = build(path, jobs=2)
    assert result.ok
    ran_now = {r.job.key for rep in result.reports for r in rep.records.values()
               if r.status == "ran"}
    assert not (ran_now & done_before), "finished jobs ran again"
    assert framemd5(reference.output) == framemd5(result.output)  # type: ignore[arg-type]


def test_dialogue_longer_than_a_fixed_shot_is_an_error_at_the_shot(tmp_path: Path) -> None:
    text = TINY_FILM.replace("shot close_up MARA {", "shot close_up MARA 1s {")
    path = write_film(tmp_path, text)
    result = build(path, jobs=2)
    assert result.exit_code == 1
    assert [d.code for d in result.diagnostics] == ["E0601"]
    assert result.diagnostics[0].span.line == text.splitlines().index(
        "    shot close_up MARA 1s {") + 1
    assert not (tmp_path / "build" / "tiny.mp4").exists()


def test_cli_build_and_plan(tmp_path: Path) -> None:
    path = write_film(tmp_path)
    plan = subprocess.run([sys.executable, "-m", "filmlang.cli", "plan", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["exact"] is False and all(not j["cached"] for j in data["jobs"])
    kinds = {j["kind"] for j in data["jobs"]}
    assert {"speech", "still", "segment", "transition", "music", "mix", "mux"} <= kinds
    out = tmp_path / "out" / "film.mp4"
    done = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", str(path), "-o",
                           str(out), "--explain"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and out.with_suffix(".srt").is_file()
    assert "new" in done.stderr and "built" in done.stderr
    plan = subprocess.run([sys.executable, "-m", "filmlang.cli", "plan", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    data = json.loads(plan.stdout)
    assert data["exact"] is True and all(j["cached"] for j in data["jobs"])


def test_a_failing_tool_exits_3_at_the_shot_and_keeps_the_old_film(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_film(tmp_path)
    assert build(path, jobs=2).ok
    before = (tmp_path / "build" / "tiny.mp4").read_bytes()
    path.write_text(TINY_FILM.replace("shot wide 1.5s", "shot wide 1.75s"))
    monkeypatch.setenv("FILMC_FFMPEG", "/bin/false")
    result = build(path, jobs=2)
    assert result.exit_code == 3 and result.failures
    assert result.failures[0].job.origin is not None
    assert (tmp_path / "build" / "tiny.mp4").read_bytes() == before


def test_the_timeline_as_moviepy_clips(built: tuple[Path, BuildResult]) -> None:
    from filmlang.clips import shot_clips

    _, result = built
    assert result.timeline is not None
    clips = shot_clips(result)
    assert [(c.scene, c.index) for c in clips] == [
        (t.scene.name, t.shot.index) for t in result.timeline.shots]
    total = sum(c.end - c.start for c in clips)
    assert abs(total - result.timeline.seconds) < 1e-6
    first = clips[0].clip
    assert abs(first.duration - (clips[0].end - clips[0].start)) < 0.2
    assert first.audio is not None
    frame = first.get_frame(0.5)
    assert frame.shape == (90, 160, 3)


def test_a_missing_voice_is_reported_before_any_work(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILMC_PIPER_MODEL", str(tmp_path / "missing-voice.onnx"))
    path = write_film(tmp_path)
    result = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", str(path),
                             "--backend", "voice=piper"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert "error: no voice for MARA" in result.stderr and "[E0603]" in result.stderr
    assert "FILMC_PIPER_MODEL" in result.stderr
    assert "MARA speaks here (" in result.stderr and "tiny.film:31:9)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".filmcache" / "objects").exists() or not any(
        (tmp_path / ".filmcache" / "objects").iterdir())


def test_a_backend_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = write_film(tmp_path)
    from filmlang.config import BuildConfig

    result = build(path, config=BuildConfig(visual="diffusers"))
    assert result.exit_code == 1
    assert [d.code for d in result.diagnostics] == ["E0603"]
    assert "diffusers" in result.diagnostics[0].message


def test_the_mix_meets_its_loudness_target(built: tuple[Path, BuildResult],
                                           tmp_path: Path) -> None:
    from filmlang import audio
    from filmlang.link.loudness import integrated_loudness, true_peak_dbtp

    _, result = built
    wav = tmp_path / "audio.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(result.output), "-map", "0:a",
                    "-ar", "48000", "-c:a", "pcm_s16le", str(wav)], check=True)
    samples, rate = audio.read_wav(wav)
    assert abs(integrated_loudness(samples, rate) - (-18.0)) < 1.0
    assert true_peak_dbtp(samples) < -1.0


def test_identical_lines_and_shots_are_rendered_once(tmp_path: Path) -> None:
    from filmlang.api import check_file
    from filmlang.config import BuildConfig
    from filmlang.plan.planner import plan_sources

    line = '        TOM: "Then we keep it burning."\n'
    text = TINY_FILM.replace(line, line + line).replace(
        "    shot wide 1.5s\n", "    shot wide 1.5s { seed 9 }\n    shot wide 1.5s { seed 9 }\n")
    film = check_file(write_film(tmp_path, text)).film
    assert film is not None
    sources = plan_sources(film, BuildConfig())
    tom = [key for (scene, shot, line), key in sources.speech.items() if scene == "storm"
           and shot == 2]
    assert len(tom) == 2 and tom[0] == tom[1]
    dawn = [key for (scene, _), key in sources.stills.items() if scene == "dawn"]
    assert len(dawn) == 2 and dawn[0] == dawn[1]
    assert sources.graph.merged >= 2


def test_identical_segments_are_encoded_once(tmp_path: Path) -> None:
    """The same picture for the same frames is one segment job, like the same still."""
    from filmlang.api import check_file
    from filmlang.config import BuildConfig
    from filmlang.plan.planner import plan_film

    same = "    shot wide 1.5s { seed 9 }\n"
    text = TINY_FILM.replace("    shot wide 1.5s\n", same * 3)
    film = check_file(write_film(tmp_path, text)).film
    assert film is not None
    plan = plan_film(film, BuildConfig(), lambda ctx: dict.fromkeys(ctx.speech, 1.0))
    assert plan.graph is not None
    mux = plan.graph.jobs[plan.graph.outputs["film"]]
    segments = [plan.graph.jobs[key] for key in mux.inputs[1:]]   # after the mix
    dawn = [job for job in plan.graph.jobs.values()
            if job.kind == "segment" and job.identity.startswith("segment:dawn/")]
    # the first two dawn shots are alike (the third fades out): one job, used twice
    assert len(dawn) == 2
    assert [job.key for job in segments].count(dawn[0].key) == 2
    assert len(mux.inputs) == len(set(mux.inputs)) + 1


def test_two_builds_of_one_cache_wait_for_each_other(tmp_path: Path,
                                                     built: tuple[Path, BuildResult]) -> None:
    _, reference = built
    path = write_film(tmp_path)
    cmd = [sys.executable, "-m", "filmlang.cli", "build", str(path), "--log-format", "jsonl"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert reference.output is not None
    assert framemd5(reference.output) == framemd5(tmp_path / "build" / "tiny.mp4")


def test_burned_subtitles_and_cache_gc(tmp_path: Path) -> None:
    path = write_film(tmp_path, TINY_FILM.replace("    loudness -18\n",
                                             "    loudness -18\n    subtitles burn\n"))
    result = build(path, jobs=2)
    assert result.ok and result.output is not None
    assert probe(result.output).subtitles == ()
    assert result.subtitles is not None and "burning" in result.subtitles.read_text()
    gc = subprocess.run([sys.executable, "-m", "filmlang.cli", "cache", "gc", str(path),
                         "--max-size", "0"], capture_output=True, text=True, timeout=60)
    assert gc.returncode == 0 and "removed" in gc.stdout
    assert not any((tmp_path / ".filmcache" / "objects").rglob("manifest.json"))
    assert result.output.is_file()  # the film itself is not the cache's


def test_preview_builds_small_and_quick(tmp_path: Path) -> None:
    from filmlang.config import BuildConfig

    text = ('film "Preview" { size 1280x720; fps 24 }\n'
            'scene s "EXT. BEACH - DAY" { shot wide 1s; dissolve 0.5s; shot establishing 1s }\n')
    path = write_film(tmp_path, text)
    result = build(path, config=BuildConfig(preview=True))
    assert result.ok and result.output is not None
    info = probe(result.output)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.fps) == (640, 360, 12.0)
    assert info.video.frames == 12 + 12 - 6
