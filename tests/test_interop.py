"""`filmc export`: Fountain out and back (the round trip on both examples), and the built
film as OTIO, CMX 3600 EDL and FCPXML, read back with their adapters (issue 16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from filmlang.api import check_file
from filmlang.interop import export
from filmlang.link.ffmpeg import probe
from filmlang.link.subtitles import parse_srt
from filmlang.screenplay import import_screenplay
from filmlang.screenplay.export import export_fountain

otio = pytest.importorskip("opentimelineio")

FILM = """film "Cuts" {
    size 160x96
    fps 24
}

character MARA {
    look "a lighthouse keeper"
    color "#e6b422"
}

character TOM {
    look "a fisherman"
}

scene storm "EXT. LIGHTHOUSE - NIGHT" {
    music "tense" volume=0.5
    ambience "storm" volume=0.4
    fade 1s
    shot establishing 2s {
        sound "thunder" at=0.5s
    }
    shot close_up MARA {
        MARA: "Stay on."
    }
    dissolve 0.5s
    shot two_shot MARA TOM {
        TOM (shouting): "It's out!"
    }
}

wipe 0.25s

scene quay "EXT. QUAY - DAWN" {
    shot wide 2s {
        title "Later"
    }
}
"""


def _script(film: object) -> list[tuple[str | None, list[tuple[str, str | None, str]]]]:
    return [(s.heading, [(line.speaker, line.parenthetical, line.text)
                         for shot in s.shots for line in shot.lines])
            for s in film.scenes]  # type: ignore[attr-defined]


def _speakers(film: object) -> list[str]:
    seen = [line.speaker for shot in film.shots for line in shot.lines]  # type: ignore[attr-defined]
    return list(dict.fromkeys(seen))


@pytest.mark.parametrize("example", ["lighthouse.film", "last_ferry.film"])
def test_the_round_trip_through_fountain(tmp_path: Path, example: str) -> None:
    film = check_file(ROOT / "examples" / example).film
    assert film is not None
    text, warnings = import_screenplay(Path("film.fountain"),
                                       export_fountain(film).encode())
    assert warnings == []
    back = tmp_path / "back.film"
    back.write_text(text, encoding="utf-8")
    result = check_file(back)
    # No warnings but the animatic's hints (W0005, W0006), which the original has too.
    assert result.ok and not [d for d in result.diagnostics
                              if d.code not in ("W0005", "W0006")], result.report()
    assert result.film is not None
    assert _script(result.film) == _script(film)
    assert _speakers(result.film) == _speakers(film)
    assert {c.name for c in result.film.characters} == \
        {c.name for c in film.characters if c.name in _speakers(film)}


def test_export_fountain_keeps_what_fountain_would_misread() -> None:
    film = check_file(ROOT / "examples" / "lighthouse.film", text=(
        ROOT / "examples" / "lighthouse.film").read_text().replace(
        "oil poured into the great lamp", "INT. is *not* a heading [[or a note]]")).film
    assert film is not None
    text = export_fountain(film)
    assert "!INT. is \\*not\\* a heading [ [or a note]]" in text
    assert "Title: The Lighthouse" in text
    assert "> DISSOLVE TO:" in text and "FADE IN:" in text and "> FADE OUT." in text


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("cuts")
    path = folder / "cuts.film"
    path.write_text(FILM, encoding="utf-8")
    done = export(path, "otio")
    assert done.build is not None and done.build.ok, (
        done.build.check.report() if done.build else "", done.build and done.build.failures)
    assert done.written == [folder / "build" / "cuts.otio", folder / "build" / "cuts.media"]
    return path, done.build


def test_otio_has_a_clip_per_shot_on_the_mp4s_frames(exported: tuple[Path, object]) -> None:
    path, result = exported
    timeline = otio.adapters.read_from_file(str(path.parent / "build" / "cuts.otio"))
    video = timeline.video_tracks()
    assert len(video) == 1
    clips = [item for item in video[0] if isinstance(item, otio.schema.Clip)]
    solved = result.timeline  # type: ignore[attr-defined]
    assert len(clips) == len(solved.shots) == 4
    for clip, timing in zip(clips, solved.shots, strict=True):
        record = clip.range_in_parent()
        assert record.start_time.rate == 24
        assert record.start_time.value == timing.start_frame
        assert record.duration.value == timing.frames - timing.overlap_out
        reference = clip.media_reference
        assert reference.available_range.duration.value == timing.frames
        media = Path(reference.target_url.removeprefix("file://"))
        assert probe(media).video.frames == timing.frames  # type: ignore[union-attr]
        meta = clip.metadata["filmlang"]
        assert meta["source"] == f"cuts.film:{timing.shot.origin.line}"
        assert meta["prompt"] == timing.shot.prompt and meta["seed"] == timing.shot.seed
        assert len(meta["cache_key"]) == 64
    film = probe(result.output)  # type: ignore[attr-defined]
    assert film.video is not None and film.video.frames == solved.frames
    assert video[0].duration().value == solved.frames


def test_otio_transitions_and_scene_markers(exported: tuple[Path, object]) -> None:
    path, result = exported
    timeline = otio.adapters.read_from_file(str(path.parent / "build" / "cuts.otio"))
    track = timeline.video_tracks()[0]
    transitions = [item for item in track if isinstance(item, otio.schema.Transition)]
    assert [(t.name, t.in_offset.value, t.out_offset.value) for t in transitions] == [
        ("dissolve", 0, 12), ("wipe", 0, 6)]
    assert transitions[0].transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert [(m.name, m.marked_range.start_time.value) for m in track.markers] == [
        ("EXT. LIGHTHOUSE - NIGHT", 0),
        ("EXT. QUAY - DAWN", result.timeline.shots[3].start_frame)]  # type: ignore[attr-defined]


def test_otio_audio_tracks_put_dialogue_at_the_subtitle_times(
        exported: tuple[Path, object]) -> None:
    path, result = exported
    timeline = otio.adapters.read_from_file(str(path.parent / "build" / "cuts.otio"))
    names = [track.name for track in timeline.audio_tracks()]
    assert names[0] == "Dialogue" and "Music" in names
    assert any(name.startswith("Ambience and effects") for name in names)
    dialogue = [item for item in timeline.audio_tracks()[0]
                if isinstance(item, otio.schema.Clip)]
    cues = parse_srt(result.subtitles.read_text())  # type: ignore[attr-defined]
    assert len(dialogue) == len(cues) == 2
    for clip, cue in zip(dialogue, cues, strict=True):
        record = clip.range_in_parent()
        assert abs(record.start_time.to_seconds() - cue.start) < 0.002
        assert abs(record.end_time_exclusive().to_seconds() - cue.end) < 0.02
        assert Path(clip.media_reference.target_url.removeprefix("file://")).is_file()
    effects = [item for track in timeline.audio_tracks()[1:] for item in track
               if isinstance(item, otio.schema.Clip) and
               item.metadata["filmlang"]["kind"] == "effect"]
    assert [round(c.range_in_parent().start_time.to_seconds(), 3) for c in effects] == [0.5]


def test_edl_and_fcpxml_read_back_through_their_adapters(
        exported: tuple[Path, object]) -> None:
    path, result = exported
    shots = len(result.timeline.shots)  # type: ignore[attr-defined]
    done = export(path, "edl")
    assert done.build is not None and done.build.counts()["segment"]["ran"] == 0
    edl = otio.adapters.read_from_file(str(done.written[0]), adapter_name="cmx_3600",
                                       rate=24)
    clips = [c for c in edl.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    assert len(clips) >= shots
    assert edl.video_tracks()[0].duration().value == result.timeline.frames  # type: ignore[attr-defined]
    assert "D 012" in done.written[0].read_text()
    fcp = export(path, "fcpxml").written[0]
    back = otio.adapters.read_from_file(str(fcp), adapter_name="fcpx_xml")
    tracks = back.tracks if hasattr(back, "tracks") else back[0].tracks
    video = [t for t in tracks if t.kind == otio.schema.TrackKind.Video]
    assert video and len([c for c in video[0] if isinstance(c, otio.schema.Clip)]) == shots


def test_cli_export_fountain_and_a_preview_edl(tmp_path: Path) -> None:
    path = tmp_path / "cuts.film"
    path.write_text(FILM, encoding="utf-8")
    run = [sys.executable, "-m", "filmlang.cli", "export", str(path)]
    done = subprocess.run([*run, "--format", "fountain"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "TOM\n(shouting)\nIt's out!" in (tmp_path / "build" / "cuts.fountain").read_text()
    edl = subprocess.run([*run, "--format", "edl", "--preview"], capture_output=True,
                         text=True)
    assert edl.returncode == 2 and "12 fps" in edl.stderr
    bad = tmp_path / "bad.film"
    bad.write_text("scene s { shot wide 1s }\n")
    wrong = subprocess.run([sys.executable, "-m", "filmlang.cli", "export", str(bad),
                            "--format", "otio"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "error" in wrong.stderr


def test_stems_add_up_to_the_films_mix(exported: tuple[Path, object]) -> None:
    import numpy as np

    from filmlang import audio
    from filmlang.cache.store import Store, default_cache_dir
    from filmlang.link.loudness import integrated_loudness
    from filmlang.link.master import film_sound

    path, _ = exported
    done = export(path, "stems")
    assert done.build is not None and done.build.ok
    folder = path.parent / "build" / "cuts-stems"
    assert done.written == [folder / f"cuts-{n}.wav" for n in ("dialogue", "music", "effects")]
    graph = done.build.graph
    assert graph is not None
    store = Store(default_cache_dir(path))
    levels = graph.jobs[graph.jobs[graph.jobs[graph.outputs["mix"]].inputs[0]].inputs[0]]
    rate = int(levels.params["rate"])
    mixed = film_sound(store.path(levels.key), [store.path(k) for k in levels.inputs], rate)
    stems = []
    for stem in done.written:
        samples, stem_rate = audio.read_wav(stem)
        assert stem_rate == rate and samples.shape == mixed.shape     # sample-aligned
        assert np.abs(samples).max() > 1e-3, stem                     # each has its sounds
        stems.append(samples.astype(np.float64))
    residual = np.sum(stems, axis=0) - mixed
    ratio = 20 * np.log10(np.sqrt(np.mean(residual ** 2)) / np.sqrt(np.mean(mixed ** 2)))
    assert ratio < -60, ratio
    assert integrated_loudness(np.sum(stems, axis=0), rate) == pytest.approx(-16, abs=0.5)
    film = probe(done.build.output)  # type: ignore[arg-type]
    assert film.duration == pytest.approx(len(mixed) / rate, abs=0.05)
    print(f"stems: residual {ratio:.1f} dB")


def test_cli_export_otio_and_stems_from_the_cache(exported: tuple[Path, object]) -> None:
    path, _ = exported
    run = [sys.executable, "-m", "filmlang.cli", "export", str(path)]
    out = path.parent / "elsewhere" / "cut.otio"
    done = subprocess.run([*run, "--format", "otio", "-o", str(out)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "segment       0 ran" in done.stderr and "wrote " in done.stderr
    assert out.is_file() and len(list((out.parent / "cut.media").iterdir())) >= 6
    stems = subprocess.run([*run, "--format", "stems", "--preview"], capture_output=True,
                           text=True)
    assert stems.returncode == 2 and "without --preview" in stems.stderr
