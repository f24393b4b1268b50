"""The linker's building blocks against the real ffmpeg binary, at a tiny size.

Segments are 160x90 at 12 fps and a few frames long; every media file is checked with
`probe` (ffmpeg only: ffprobe is not shipped) and, where bytes matter, with per-frame
checksums from ffmpeg's `framecrc`/`framemd5` muxers.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import processes
from filmlang.audio import SAMPLE_RATE, write_wav
from filmlang.link.audio_mix import PREVIEW_RATE, Clip, duck_envelope, half_rate, mix
from filmlang.link.ffmpeg import (
    ENV_FFMPEG,
    FfmpegError,
    capture_ffmpeg,
    ffmpeg_exe,
    probe,
    run_ffmpeg,
)
from filmlang.link.loudness import (
    TABLE_HIGHPASS_48K,
    TABLE_SHELF_48K,
    _gain_for_peaks,
    _interpolator,
    _limited_peak_dbtp,
    _oversampled_peaks,
    _stretch_gain,
    integrated_loudness,
    k_weighting,
    limiter_gain,
    normalize,
    true_peak_dbtp,
)
from filmlang.link.mux import PREVIEW_AUDIO, encode_audio, mux
from filmlang.link.segments import SegmentEncoder, Yuv420, concat_segments, encode_segment
from filmlang.link.subtitles import (
    Cue,
    chapters_metadata,
    format_srt,
    parse_srt,
    srt_time,
    write_srt,
)

W, H, FPS = 160, 90, 12
SEGMENT_FRAMES = (5, 7, 9)
RATE = SAMPLE_RATE


# -- helpers ------------------------------------------------------------------------------

def frames(count: int, seed: int) -> Iterator[np.ndarray]:
    """Moving gradients with a per-segment tint, so every frame and segment differs."""
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(count):
        yield np.stack([(xx * 2 + i * 9) % 256, (yy * 3 + seed * 40) % 256,
                        np.full_like(xx, (seed * 70 + i * 5) % 256)], axis=-1).astype(np.uint8)


def ffmpeg_children() -> list[int]:
    """The ids of this process's children that are ffmpeg (zombies included)."""
    return [pid for pid, name, ppid, _ in processes()
            if ppid == os.getpid() and "ffmpeg" in name]


def packets(path: Path) -> list[tuple[str, int, bool]]:
    """(checksum, size, keyframe) of each video packet, copied (not decoded)."""
    listing = capture_ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc",
                              "pipe:1"]).stdout.decode()
    rows = [[f.strip() for f in line.split(",")] for line in listing.splitlines()
            if line and not line.startswith("#")]
    return [(row[5], int(row[4]), "F=0x0" not in row[6:]) for row in rows]


def extradata(path: Path) -> str:
    """The checksum of the video stream's codec headers (SPS/PPS)."""
    listing = capture_ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-frames:v", "1",
                              "-f", "framecrc", "pipe:1"]).stdout.decode()
    return next(line for line in listing.splitlines() if line.startswith("#extradata"))


def packet_times(path: Path) -> list[tuple[int, int]]:
    listing = capture_ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc",
                              "pipe:1"]).stdout.decode()
    rows = [line.split(",") for line in listing.splitlines() if line and line[0] != "#"]
    return [(int(row[2]), int(row[3])) for row in rows]


def decoded_md5s(path: Path) -> list[str]:
    listing = capture_ffmpeg(["-i", str(path), "-map", "0:v:0", "-f", "framemd5",
                              "pipe:1"]).stdout.decode()
    return [line.split(",")[-1].strip() for line in listing.splitlines()
            if line and not line.startswith("#")]


def sine(freq: float, seconds: float, dbfs: float, channels: int = 2) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    wave = 10.0 ** (dbfs / 20.0) * np.sin(2 * np.pi * freq * t)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("segments")
    return [encode_segment(folder / f"shot{i}.mp4", frames(n, seed=i), W, H, FPS)
            for i, n in enumerate(SEGMENT_FRAMES)]


@pytest.fixture(scope="module")
def joined(segments: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return concat_segments(segments, tmp_path_factory.mktemp("joined") / "video.mp4")


# -- ffmpeg -------------------------------------------------------------------------------

def test_ffmpeg_exe_is_bundled_and_overridable(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_FFMPEG, raising=False)
    assert Path(ffmpeg_exe()).is_file()
    monkeypatch.setenv(ENV_FFMPEG, str(tmp_path / "no-such-ffmpeg"))
    assert ffmpeg_exe() == str(tmp_path / "no-such-ffmpeg")
    with pytest.raises(FfmpegError, match="could not start ffmpeg"):
        run_ffmpeg(["-version"])


def test_run_ffmpeg_failure_names_the_cause(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError) as caught:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])
    assert "exit status" in str(caught.value)
    assert "No such file or directory" in str(caught.value)
    assert caught.value.returncode not in (0, None)


def test_run_ffmpeg_feeds_stdin(tmp_path: Path) -> None:
    pcm = (np.zeros(4800, dtype="<f4")).tobytes()
    run_ffmpeg(["-f", "f32le", "-ar", "48000", "-ac", "1", "-i", "pipe:0",
                str(tmp_path / "a.wav")], input=pcm)
    info = probe(tmp_path / "a.wav")
    assert info.video is None
    assert info.audio[0].sample_rate == 48000 and info.audio[0].channels == 1
    assert info.duration == pytest.approx(0.1, abs=0.011)


_ENDLESS = ["-f", "lavfi", "-i", "anoisesrc=r=48000", "-f", "null", "-"]


def test_run_ffmpeg_timeout_kills_the_child() -> None:
    with pytest.raises(FfmpegError, match="time limit"):
        run_ffmpeg(_ENDLESS, timeout=0.5)
    assert ffmpeg_children() == []


def test_interrupt_kills_the_child() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            run_ffmpeg(_ENDLESS, timeout=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert ffmpeg_children() == []


# -- segments -----------------------------------------------------------------------------

def test_segment_is_h264_high_yuv420p_with_every_frame(segments: list[Path]) -> None:
    for path, count in zip(segments, SEGMENT_FRAMES, strict=True):
        info = probe(path)
        assert info.video is not None
        assert (info.video.codec, info.video.profile, info.video.pix_fmt) == \
            ("h264", "High", "yuv420p")
        assert (info.video.width, info.video.height, info.video.fps) == (W, H, FPS)
        assert info.video.frames == count
        assert info.video.duration == pytest.approx(count / FPS, abs=1e-9)
        assert info.audio == () and info.subtitles == ()


def test_concat_is_frame_exact_and_a_stream_copy(segments: list[Path], joined: Path) -> None:
    info = probe(joined)
    assert info.video is not None
    total = sum(SEGMENT_FRAMES)
    assert info.video.frames == total
    assert info.video.duration == pytest.approx(total / FPS, abs=1e-9)
    # Frame-exact timestamps across the joins: every frame lasts exactly 1/fps.
    stamps = sorted(packet_times(joined))
    tick = stamps[1][0] - stamps[0][0]
    assert [b[0] - a[0] for a, b in itertools.pairwise(stamps)] == [tick] * (total - 1)
    # No re-encode: the packets are the segments' own bytes (the concat demuxer repeats the
    # SPS/PPS in-band at each segment's IDR frame), and decode to the very same pictures.
    assert len({extradata(s) for s in segments}) == 1     # one SPS/PPS for all segments
    whole, parts = packets(joined), [p for s in segments for p in packets(s)]
    assert [p for p in whole if not p[2]] == [p for p in parts if not p[2]]
    keys = [(w[1] - p[1]) for w, p in zip(whole, parts, strict=True) if p[2]]
    assert len(keys) == len(segments) and len(set(keys)) == 1 and 0 <= keys[0] < 100
    assert decoded_md5s(joined) == [m for s in segments for m in decoded_md5s(s)]


def test_concat_rejects_nothing_and_leaves_no_temp(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        concat_segments([], tmp_path / "x.mp4")
    with pytest.raises(FfmpegError):
        concat_segments([tmp_path / "missing.mp4"], tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_segment_encoder_exception_leaves_no_process_and_no_file(
        tmp_path: Path, error: type[BaseException]) -> None:
    target = tmp_path / "shot.mp4"
    target.write_bytes(b"the previous good segment")
    with pytest.raises(error, match="renderer failed"), \
            SegmentEncoder(target, W, H, FPS) as encoder:
        for frame in frames(3, seed=0):
            encoder.write(frame)
        raise error("renderer failed")
    assert encoder._proc.poll() is not None
    assert ffmpeg_children() == []
    assert target.read_bytes() == b"the previous good segment"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.mp4"]


def test_segment_encoder_checks_frames_and_reports_ffmpeg_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8 frame of shape"), \
            SegmentEncoder(tmp_path / "a.mp4", W, H, FPS) as encoder:
        encoder.write(np.zeros((H, W, 4), dtype=np.uint8))
    with pytest.raises(FfmpegError, match="preset"), \
            SegmentEncoder(tmp_path / "b.mp4", W, H, FPS, preset="warp9") as encoder:
        encoder.write_all(frames(50, seed=1))
    with pytest.raises(ValueError, match="even"):
        SegmentEncoder(tmp_path / "c.mp4", 161, 90, FPS)
    assert list(tmp_path.iterdir()) == []
    assert ffmpeg_children() == []


def test_segment_encoder_ntsc_rate(tmp_path: Path) -> None:
    path = encode_segment(tmp_path / "ntsc.mp4", frames(6, seed=2), W, H, 24000 / 1001)
    info = probe(path)
    assert info.video is not None and info.video.frames == 6
    assert info.video.fps == pytest.approx(24000 / 1001, abs=1e-9)
    assert info.video.duration == pytest.approx(6 * 1001 / 24000, abs=1e-9)


def test_frames_go_to_x264_as_bt709_yuv420p_converting_only_what_changed() -> None:
    """`Yuv420`: BT.709 limited range; a frame unlike the last only in a box converts that
    box alone, to the bytes of a whole conversion; the same read-only frame again converts
    nothing; a writeable frame changed in place after it was written is seen to change."""
    conv = Yuv420(W, H)
    for rgb, yuv in [((255, 255, 255), (235, 128, 128)), ((0, 0, 0), (16, 128, 128)),
                     ((255, 0, 0), (63, 102, 240)), ((0, 0, 255), (32, 240, 118))]:
        out = conv(np.full((H, W, 3), rgb, dtype=np.uint8))
        assert (out[0], out[W * H], out[W * H + W * H // 4]) == yuv
    for width in (W, 162):  # 3 * 162 bytes a row: compared by byte, not by word
        rng = np.random.default_rng(width)
        a = rng.integers(0, 256, (H, width, 3), dtype=np.uint8)
        b = a.copy()
        b[31:40, 17:29] = (200, 10, 90)
        whole = Yuv420(width, H)(b).copy()
        conv = Yuv420(width, H)
        first = conv(a).copy()
        assert np.array_equal(conv(b), whole)
        a.flags.writeable = False
        assert np.array_equal(conv(a), first) and np.array_equal(conv(a), first)
        c = a.copy()
        assert np.array_equal(conv(c), first)
        c[H - 1, width - 1] = (1, 2, 3)  # the caller's buffer, changed in place
        assert not np.array_equal(conv(c), first)


def test_the_conversion_is_swscale_s_to_a_level() -> None:
    """Luma as ffmpeg's own BT.709 conversion (`scale`) gives it, to one level."""
    frame = next(frames(1, seed=3))
    ours = Yuv420(W, H)(frame)
    theirs = np.frombuffer(capture_ffmpeg(
        ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-i", "pipe:0",
         "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-pix_fmt", "yuv420p",
         "-f", "rawvideo", "pipe:1"], input=frame.tobytes()).stdout, dtype=np.uint8)
    assert np.abs(ours[:W * H].astype(int) - theirs[:W * H]).max() <= 1
    assert np.abs(ours[W * H:].astype(int) - theirs[W * H:]).mean() < 2.0


# -- audio mix ----------------------------------------------------------------------------

def test_mix_places_clips_sample_accurately_and_cuts_at_the_ends() -> None:
    click = np.zeros(100, dtype=np.float32)
    click[0] = 1.0
    out = mix([Clip(click, 0.75, kind="effect"),
               Clip(np.ones(RATE, dtype=np.float32), -0.5, 0.5, kind="effect"),
               Clip(np.ones(RATE, dtype=np.float32), 0.9, kind="effect")], 1.0)
    assert out.shape == (RATE, 2) and out.dtype == np.float32
    assert out[36000, 0] == pytest.approx(1.0) and out[35999, 0] == 0.0
    assert out[36001, 0] == 0.0
    assert np.all(out[: RATE // 2 - 1] >= 0.5) and out[RATE // 2 + 1, 0] == 0.0
    assert np.all(out[int(0.9 * RATE):, 1] == 1.0)


def test_dialogue_is_centred() -> None:
    rng = np.random.default_rng(3)
    stereo = rng.standard_normal((RATE, 2)).astype(np.float32)
    out = mix([Clip(stereo, 0.0, kind="dialogue"),
               Clip(stereo[:, 0].copy(), 1.0, kind="dialogue")], 2.0)
    assert np.array_equal(out[:, 0], out[:, 1])
    assert np.allclose(out[:RATE, 0], stereo.mean(axis=1), atol=1e-6)
    assert np.allclose(out[RATE:, 0], stereo[:, 0], atol=1e-6)


def test_music_ducks_smoothly_under_dialogue() -> None:
    music = np.full((4 * RATE, 2), 0.1, dtype=np.float32)
    line = np.zeros(RATE, dtype=np.float32)      # silent speech: only its span matters
    out = mix([Clip(music, 0.0, kind="music"), Clip(line, 1.5, kind="dialogue")], 4.0)
    level = out[:, 0] / 0.1
    ducked = 10 ** (-12 / 20)
    assert level[int(1.0 * RATE)] == pytest.approx(1.0)             # before the attack
    assert level[int(2.0 * RATE)] == pytest.approx(ducked, rel=1e-5)  # under the line
    assert level[int(1.5 * RATE)] == pytest.approx(ducked, rel=1e-5)  # down when it starts
    assert ducked < level[int(1.46 * RATE)] < 1.0                     # on the way down
    assert ducked < level[int(2.7 * RATE)] < 1.0                      # on the way back up
    assert level[int(2.9 * RATE)] == pytest.approx(1.0)             # after the release
    assert np.abs(np.diff(level)).max() < 1e-3                     # no step anywhere


def test_ducking_holds_across_short_gaps_and_ambience_ducks_too() -> None:
    spans = [(1.0, 2.0), (2.3, 3.0)]
    held = mix([Clip(np.full(4 * RATE, 0.1, dtype=np.float32), 0.0, kind="ambience"),
                *(Clip(np.zeros(round((e - s) * RATE), dtype=np.float32), s, kind="dialogue")
                  for s, e in spans)], 4.0)
    assert held[int(2.15 * RATE), 0] == pytest.approx(0.1 * 10 ** (-12 / 20), rel=1e-5)
    envelope = duck_envelope(spans, 4 * RATE)
    assert envelope[int(2.15 * RATE)] > 10 ** (-12 / 20)   # the envelope alone would pump


def test_clip_validates_its_kind() -> None:
    with pytest.raises(ValueError, match="unknown clip kind"):
        Clip(np.zeros(10, dtype=np.float32), 0.0, kind="speech")  # type: ignore[arg-type]


# -- loudness -----------------------------------------------------------------------------

def test_k_weighting_matches_the_standard_tables() -> None:
    shelf, highpass = k_weighting(48000)
    assert np.allclose(shelf, TABLE_SHELF_48K, atol=1e-8)
    assert np.allclose(highpass, TABLE_HIGHPASS_48K, atol=1e-8)


def test_sine_reference_levels() -> None:
    # BS.1770-4 §2.1: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS.
    assert integrated_loudness(sine(997, 3, 0.0, channels=1)) == pytest.approx(-3.01, abs=0.02)
    # In both channels of a stereo pair: 0 LKFS; EBU Tech 3341 case 1: -23 dBFS gives -23.
    assert integrated_loudness(sine(997, 3, 0.0)) == pytest.approx(0.0, abs=0.02)
    assert integrated_loudness(sine(1000, 5, -23.0)) == pytest.approx(-23.0, abs=0.1)


def test_gating() -> None:
    # EBU Tech 3341 case 3: the quiet parts fall under the relative gate.
    quiet, loud = sine(1000, 10, -36.0), sine(1000, 60, -23.0)
    assert integrated_loudness(np.concatenate([quiet, loud, quiet])) == \
        pytest.approx(-23.0, abs=0.1)
    # Silence and near-silence sit under the absolute gate: they do not lower the result.
    silence = np.zeros((5 * RATE, 2))
    faint = sine(1000, 5, -75.0)
    padded = np.concatenate([silence, loud, faint])
    assert integrated_loudness(padded) == pytest.approx(integrated_loudness(loud), abs=0.05)
    ungated = -0.691 + 10 * np.log10(2 * np.mean(padded[:, 0] ** 2))   # (no K-weighting)
    assert ungated < integrated_loudness(loud) - 0.5
    assert integrated_loudness(silence) == -math.inf
    assert integrated_loudness(loud[: RATE // 3]) == -math.inf     # shorter than one block


def _expected_lufs(signal: np.ndarray) -> float:
    """Loudness of a long stationary signal from its spectrum and the filters' response."""
    spectrum = np.fft.rfft(signal, axis=0)
    omega = np.linspace(0, np.pi, len(spectrum))
    z = np.exp(1j * omega)
    response = np.ones_like(z)
    for b, a in k_weighting(RATE):
        response *= (b[0] + b[1] / z + b[2] / z**2) / (a[0] + a[1] / z + a[2] / z**2)
    power = np.abs(spectrum * response[:, None]) ** 2
    power[1:-1] *= 2
    return float(-0.691 + 10 * np.log10(power.sum() / len(signal) ** 2))


def test_white_and_pink_noise_match_their_spectra() -> None:
    rng = np.random.default_rng(7)
    n = 10 * RATE
    white = 0.1 * rng.standard_normal((n, 2))
    assert integrated_loudness(white) == pytest.approx(_expected_lufs(white), abs=0.05)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.where(freqs > 0, 1 / np.sqrt(np.maximum(freqs, 1.0)), 0.0)
    pink = np.fft.irfft(np.fft.rfft(rng.standard_normal((n, 2)), axis=0) * shape[:, None],
                        n, axis=0)
    pink *= 0.1 / pink.std()
    assert integrated_loudness(pink) == pytest.approx(_expected_lufs(pink), abs=0.05)
    # Pink noise carries less high-frequency energy, so K-weighting lifts it less.
    assert integrated_loudness(pink) < integrated_loudness(white)


def test_true_peak_finds_the_peak_between_samples() -> None:
    n = np.arange(RATE)
    taper = np.minimum(1.0, np.minimum(n, n[::-1]) / 2000)
    isp = np.sin(np.pi * n / 2 + np.pi / 4) * taper        # samples at ±0.707, peaks at 1
    sample_peak = 20 * np.log10(np.abs(isp).max())
    assert sample_peak == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(isp) == pytest.approx(0.0, abs=0.1)
    assert true_peak_dbtp(sine(100, 1, -6.0)) == pytest.approx(-6.0, abs=0.05)
    assert true_peak_dbtp(np.zeros(100)) == -math.inf


def test_normalize_reaches_the_target_under_the_ceiling() -> None:
    rng = np.random.default_rng(11)
    noise = (0.05 * rng.standard_normal((20 * RATE, 2))).astype(np.float32)
    out = normalize(noise, -16.0)
    assert out.dtype == np.float32 and out.shape == noise.shape
    assert integrated_loudness(out) == pytest.approx(-16.0, abs=0.1)
    assert true_peak_dbtp(out) <= -1.0


def test_normalize_limits_transients_and_keeps_the_loudness() -> None:
    bed = sine(220, 20, -20.0)
    clicked = bed.copy()
    for at in range(1, 20, 2):                     # short loud clicks over the bed
        clicked[at * RATE: at * RATE + 48] += 0.95
    out = normalize(clicked, -14.0, max_true_peak=-1.0)
    assert integrated_loudness(out) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(out) <= -1.0
    assert true_peak_dbtp(clicked) + (-14.0 - integrated_loudness(clicked)) > 4.0
    # Limiting is local: away from the clicks the bed is only gained, not squashed.
    def gain_db(at: float) -> float:
        part = slice(int(at * RATE), int((at + 0.5) * RATE))
        return float(20 * np.log10(out[part, 0].std() / bed[part, 0].std()))
    assert gain_db(1.5) == pytest.approx(gain_db(6.2), abs=0.01)
    assert gain_db(1.5) == pytest.approx(-14.0 - integrated_loudness(bed), abs=0.3)


def test_limiter_gain_is_smooth_and_never_above_what_peaks_need() -> None:
    signal_ = sine(440, 2, -6.0)
    signal_[RATE: RATE + 480] *= 4.0                 # a 10 ms burst to +6 dBFS
    gain = limiter_gain(signal_, -1.0)
    assert true_peak_dbtp(signal_ * gain[:, None]) <= -0.95
    assert gain[: RATE - 2400].min() == 1.0 and gain[RATE + 480 + 4800:].min() == 1.0
    assert np.abs(np.diff(gain)).max() < 2e-3          # ramps, no steps


def _direct_peaks(data: np.ndarray) -> np.ndarray:
    """The oversampled peaks by plain convolution with each phase (the definition)."""
    phases = _interpolator()
    half = phases.shape[1] // 2
    out = np.abs(data).copy()
    for c in range(data.shape[1]):
        for row in phases[1:]:
            values = np.convolve(data[:, c], row)[half:half + len(data)]
            out[:, c] = np.maximum(out[:, c], np.abs(values))
    return out


def test_oversampled_peaks_equal_the_direct_convolution() -> None:
    rng = np.random.default_rng(5)
    for n in (30, 5000, 70_000):                  # shorter than, and across, FFT blocks
        data = rng.standard_normal((n, 2))
        assert np.allclose(_oversampled_peaks(data), _direct_peaks(data), atol=1e-12)


def test_limiter_is_idle_exactly_away_from_peaks() -> None:
    rng = np.random.default_rng(9)
    peaks = np.abs(rng.standard_normal(20 * RATE)) * 0.1
    peaks[[3 * RATE, 3 * RATE + 900, 12 * RATE]] = 2.0
    gain = _gain_for_peaks(peaks, -1.0)
    everywhere = _stretch_gain(np.minimum(1.0, 10 ** (-1 / 20) / peaks), 240, 1920, 960)
    assert np.allclose(gain, everywhere, atol=1e-9)
    assert (gain < 1.0).sum() < RATE // 4           # only around the three peaks
    assert gain[5 * RATE:11 * RATE].min() == 1.0


def test_limited_true_peak_only_oversamples_where_the_gain_moves() -> None:
    rng = np.random.default_rng(13)
    data = 0.2 * rng.standard_normal((10 * RATE, 2))
    data[4 * RATE: 4 * RATE + 200] *= 6.0
    peaks = _oversampled_peaks(data).max(axis=1)
    gain = 1.5 * _gain_for_peaks(1.5 * peaks, -1.05)
    fast = _limited_peak_dbtp(data, gain, 1.5 * peaks, _interpolator().shape[1])
    assert fast == pytest.approx(true_peak_dbtp(data * gain[:, None]), abs=1e-9)


def test_normalize_with_many_transients_hits_the_target_within_its_tolerance() -> None:
    rng = np.random.default_rng(17)
    speech_like = 0.1 * rng.standard_normal((30 * RATE, 2)) * \
        np.abs(np.sin(np.linspace(0, 40, 30 * RATE)))[:, None]
    for at in range(1, 30, 3):
        speech_like[at * RATE: at * RATE + 300] *= 8.0
    out = normalize(speech_like, -16.0, max_true_peak=-1.5)
    assert integrated_loudness(out) == pytest.approx(-16.0, abs=0.1)
    assert true_peak_dbtp(out) <= -1.5


def test_normalize_keeps_silence_and_mono_shape() -> None:
    assert np.array_equal(normalize(np.zeros((RATE, 2)), -16.0), np.zeros((RATE, 2)))
    mono = normalize(sine(997, 2, -30.0, channels=1), -20.0, max_true_peak=-1.0)
    assert mono.ndim == 1
    assert integrated_loudness(mono) == pytest.approx(-20.0, abs=0.1)


# -- subtitles and chapters ---------------------------------------------------------------

def test_srt_times_and_layout(tmp_path: Path) -> None:
    assert srt_time(0.0) == "00:00:00,000"
    assert srt_time(3725.0125) == "01:02:05,013"
    assert srt_time(1.0005) == "00:00:01,001"
    assert srt_time(59.9996) == "00:01:00,000"
    cues = [Cue(2.0, 3.5, "Second.", "TOM"), Cue(0.5, 1.75, "The light\n\nhas to stay on.",
                                                 "MARA")]
    text = format_srt(cues)
    assert text == ("1\n00:00:00,500 --> 00:00:01,750\nThe light\nhas to stay on.\n\n"
                    "2\n00:00:02,000 --> 00:00:03,500\nSecond.\n")
    assert "MARA: The light" in format_srt(cues, speakers=True)
    path = write_srt(cues, tmp_path / "film.srt")
    back = parse_srt(path.read_text(encoding="utf-8"))
    assert [(c.start, c.end) for c in back] == [(0.5, 1.75), (2.0, 3.5)]
    assert [p.name for p in tmp_path.iterdir()] == ["film.srt"]
    with pytest.raises(ValueError):
        Cue(1.0, 1.0, "no time at all")


def test_chapters_metadata_format() -> None:
    text = chapters_metadata([("Opening; a=b", 0.0, 12.3456), ("Night", 12.3456, 20.0)],
                             title="The #1 Film")
    assert text == (";FFMETADATA1\ntitle=The \\#1 Film\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=12346\ntitle=Opening\\; a\\=b\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=12346\nEND=20000\ntitle=Night\n")
    with pytest.raises(ValueError):
        chapters_metadata([("Backwards", 2.0, 1.0)])


# -- mux ----------------------------------------------------------------------------------

CHAPTERS = [("The Lighthouse", 0.0, 1.0), ("Storm; night", 1.0, 21 / FPS)]
CUES = [Cue(0.25, 0.9, "The light has to stay on.", "MARA"),
        Cue(1.0, 1.6666, "It will.", "TOM")]


def test_mux_joins_the_segments_as_it_writes_the_film(segments: list[Path], joined: Path,
                                                     tmp_path: Path) -> None:
    """The build's mux takes the segments themselves: the same packets, in order, as the
    joined video, with no joined video written first; the AAC is copied."""
    seconds = sum(SEGMENT_FRAMES) / FPS
    wav = tmp_path / "mix.wav"
    write_wav(wav, sine(440, seconds, -20.0).astype(np.float32))
    m4a = encode_audio(wav, tmp_path / "mix.m4a", bitrate="128k", rate=RATE)
    out = mux(segments, m4a, tmp_path / "film.mp4", chapters=CHAPTERS, title="T")
    info = probe(out)
    assert info.video is not None and info.video.frames == sum(SEGMENT_FRAMES)
    assert packets(out) == packets(joined)                           # copied, in order
    assert decoded_md5s(out) == decoded_md5s(joined)
    assert [(a.codec, a.sample_rate) for a in info.audio] == [("aac", RATE)]
    assert not list(tmp_path.glob("*.concat.txt"))                  # no listing left behind
    with pytest.raises(ValueError, match="no video"):
        mux([], m4a, tmp_path / "none.mp4")


def test_mux_mp4_streams_chapters_and_subtitles(joined: Path, tmp_path: Path) -> None:
    srt = write_srt(CUES, tmp_path / "film.srt")
    seconds = sum(SEGMENT_FRAMES) / FPS
    audio = sine(440, seconds - 0.5, -20.0).astype(np.float32)     # short: gets padded
    out = mux(joined, audio, tmp_path / "film.mp4", subtitles=srt, chapters=CHAPTERS,
              title="The Lighthouse")
    info = probe(out)
    assert info.video is not None
    assert (info.video.codec, info.video.pix_fmt, info.video.frames) == \
        ("h264", "yuv420p", sum(SEGMENT_FRAMES))
    assert packets(out) == packets(joined)                           # video copied
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 48000, 2)]
    assert [(s.codec, s.language, s.handler) for s in info.subtitles] == \
        [("mov_text", "und", "Subtitles")]
    assert info.title == "The Lighthouse"
    assert [(c.title, c.start, c.end) for c in info.chapters] == \
        [("The Lighthouse", 0.0, 1.0), ("Storm; night", 1.0, 1.75)]
    track = capture_ffmpeg(["-i", str(out), "-map", "0:s:0", "-f", "srt", "pipe:1"])
    assert parse_srt(track.stdout.decode()) == parse_srt(srt.read_text(encoding="utf-8"))
    assert [(c.start, c.end) for c in parse_srt(track.stdout.decode())] == \
        [(0.25, 0.9), (1.0, 1.667)]
    decoded = capture_ffmpeg(["-i", str(out), "-map", "0:a:0", "-f", "f32le", "-ac", "2",
                              "pipe:1"]).stdout
    assert len(decoded) // 8 == pytest.approx(seconds * RATE, abs=1024)   # padded to video


def test_mux_wav_without_subtitles_and_mkv(joined: Path, tmp_path: Path) -> None:
    wav = tmp_path / "mix.wav"
    write_wav(wav, sine(440, 3.0, -20.0, channels=1).astype(np.float32))
    plain = probe(mux(joined, wav, tmp_path / "film.mp4"))
    assert plain.subtitles == () and plain.chapters == ()
    assert [(a.codec, a.channels) for a in plain.audio] == [("aac", 1)]
    srt = write_srt(CUES, tmp_path / "film.srt")
    mkv = probe(mux(joined, wav, tmp_path / "film.mkv", subtitles=srt, chapters=CHAPTERS))
    assert [s.codec for s in mkv.subtitles] == ["subrip"]
    assert [c.title for c in mkv.chapters] == ["The Lighthouse", "Storm; night"]
    with pytest.raises(ValueError, match=r"cannot write film\.avi"):
        mux(joined, wav, tmp_path / "film.avi")


def test_mux_preview_audio_is_24_khz_and_as_long_as_the_video(joined: Path,
                                                              tmp_path: Path) -> None:
    seconds = sum(SEGMENT_FRAMES) / FPS
    audio = sine(440, seconds + 0.5, -20.0).astype(np.float32)     # long: gets cut
    out = mux(joined, audio, tmp_path / "film.mp4", audio_bitrate=PREVIEW_AUDIO[0],
              audio_rate=PREVIEW_AUDIO[1])
    info = probe(out)
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 24000, 2)]
    decoded = capture_ffmpeg(["-i", str(out), "-map", "0:a:0", "-f", "f32le", "-ac", "2",
                              "pipe:1"]).stdout
    assert len(decoded) // 8 == pytest.approx(seconds * 24000, abs=1024)


def test_failed_mux_keeps_the_last_good_film(joined: Path, tmp_path: Path) -> None:
    out = tmp_path / "film.mp4"
    out.write_bytes(b"last good film")
    audio = np.zeros((RATE, 2), dtype=np.float32)
    with pytest.raises(FfmpegError):
        mux(joined, audio, out, audio_bitrate="not-a-bitrate")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(FfmpegError):
        mux(broken, audio, out)
    assert out.read_bytes() == b"last good film"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "film.mp4"]
    assert ffmpeg_children() == []


# -- the preview profile's audio ----------------------------------------------------------

def test_half_rate_keeps_the_band_and_removes_what_would_alias() -> None:
    low, high = half_rate(sine(1000, 1, -6.0)), half_rate(sine(15000, 1, -6.0))
    assert low.shape == (RATE // 2, 2) and low.dtype == np.float32
    middle = slice(1000, -1000)
    assert 20 * np.log10(np.abs(low[middle]).max()) == pytest.approx(-6.0, abs=0.1)
    assert 20 * np.log10(np.abs(high[middle]).max()) < -50.0     # would fold to 9 kHz


def test_mix_at_the_preview_rate() -> None:
    rate = PREVIEW_RATE
    line = Clip(np.full(rate, 0.1, dtype=np.float32), 0.5, kind="dialogue", rate=rate)
    bed = Clip(np.full((3 * rate, 2), 0.1, dtype=np.float32), 0.0, kind="music", rate=rate)
    out = mix([line, bed], 2.0, rate=rate)
    assert out.shape == (2 * rate, 2)
    assert out[int(1.0 * rate), 0] == pytest.approx(0.1 + 0.1 * 10 ** (-12 / 20), abs=1e-6)
    assert out[int(0.1 * rate), 0] == pytest.approx(0.1, abs=1e-6)   # before the ducking
    with pytest.raises(ValueError, match="24000 Hz in a mix at 48000 Hz"):
        mix([line], 2.0)


def test_preview_mix_and_mux_meet_the_loudness_target(joined: Path, tmp_path: Path) -> None:
    """The preview profile's own jobs, on real WAVs in a real store: 24 kHz, on target."""
    from filmlang.cache.store import Store
    from filmlang.jobs import Job
    from filmlang.link.backend import run_chunk, run_levels, run_mix, run_mux, run_piece

    store = Store(tmp_path / "cache")
    store.ensure()
    rng = np.random.default_rng(21)
    seconds = sum(SEGMENT_FRAMES) / FPS
    voice = (0.3 * rng.standard_normal(RATE) * np.hanning(RATE)).astype(np.float32)
    voice[RATE // 2: RATE // 2 + 100] = 0.99                      # a peak to limit
    keys = {"speech": ("a" * 64, voice), "music": ("b" * 64, sine(330, 3, -24.0))}
    for key, samples in keys.values():
        store.path(key).mkdir(parents=True)
        write_wav(store.path(key) / "audio.wav", np.asarray(samples, dtype=np.float32))
    pad = PREVIEW_RATE
    clips = [{"input": keys["speech"][0], "at": round(0.3 * PREVIEW_RATE), "gain": 1.0,
              "kind": "dialogue"},
             {"input": keys["music"][0], "at": 0, "gain": 0.5, "kind": "music",
              "length": round(seconds * PREVIEW_RATE), "fade_out": 0.25}]   # cut here
    piece_job = Job(kind="piece", backend="link@test", params={
        "samples": round(seconds * PREVIEW_RATE), "margin": pad, "rate": PREVIEW_RATE,
        "grain": 400, "clips": clips, "channels": 1})
    store.path(piece_job.key).mkdir(parents=True)
    run_piece(piece_job, store.path(piece_job.key), store)
    samples = round(seconds * PREVIEW_RATE)
    levels_job = Job(kind="levels", backend="link@test", inputs=(piece_job.key,), params={
        "loudness": -16.0, "rate": PREVIEW_RATE})
    chunk_job = Job(kind="chunk", backend="link@test", inputs=(levels_job.key, piece_job.key),
                    params={"start": 0, "total": samples, "rate": PREVIEW_RATE,
                            "bitrate": "96k"})
    mix_job = Job(kind="mix", backend="link@test", inputs=(chunk_job.key,), params={
        "samples": samples, "rate": PREVIEW_RATE, "bitrate": "96k"})
    for job, runner in ((levels_job, run_levels), (chunk_job, run_chunk), (mix_job, run_mix)):
        store.path(job.key).mkdir(parents=True)
        runner(job, store.path(job.key), store)
    piece = np.load(store.path(piece_job.key) / "piece.npy")
    assert piece.shape == (round(seconds * PREVIEW_RATE) + 2 * pad, 1)     # dual mono
    mixed = piece[pad:-pad, 0]
    encoded = probe(store.path(mix_job.key) / "mix.m4a")          # the mux copies it
    assert [(a.codec, a.sample_rate) for a in encoded.audio] == [("aac", PREVIEW_RATE)]
    tail, body = np.abs(mixed[-48:]).max(), np.abs(mixed[-PREVIEW_RATE // 2:]).max()
    assert tail < 0.05 * body                                    # faded out at the cut
    segment_key = "c" * 64
    store.path(segment_key).mkdir(parents=True)
    (store.path(segment_key) / "segment.mp4").write_bytes(joined.read_bytes())
    mux_job = Job(kind="mux", backend="ffmpeg@test", inputs=(mix_job.key, segment_key), params={
        "title": "T", "subtitles": "track", "cues": [], "chapters": [], "audio": "preview"})
    out = tmp_path / "mux"
    out.mkdir()
    run_mux(mux_job, out, store)
    info = probe(out / "film.mp4")
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", PREVIEW_RATE, 2)]
    decoded = capture_ffmpeg(["-i", str(out / "film.mp4"), "-map", "0:a:0", "-f", "f32le",
                              "-ac", "2", "-ar", str(RATE), "pipe:1"]).stdout
    samples = np.frombuffer(decoded, dtype="<f4").reshape(-1, 2)
    assert len(samples) == pytest.approx(seconds * RATE, abs=2048)   # the video's length
    assert abs(integrated_loudness(samples) - (-16.0)) < 1.0
    assert true_peak_dbtp(samples) < -1.0


def test_a_preview_rebuild_reuses_the_beds_when_a_line_grows_a_little(tmp_path: Path) -> None:
    """Preview beds are rendered to a whole step and cut in the mix: a line that changes
    its scene's length a little re-renders no music; the film's beds follow the scene."""
    from conftest import planned, write_film
    from filmlang.api import check_file
    from filmlang.config import BuildConfig

    film = check_file(write_film(tmp_path)).film
    assert film is not None

    def beds(config: BuildConfig, seconds: float) -> tuple[float, dict[str, object]]:
        graph, timeline = planned(film, seconds, config, fps=8.0)
        keys = {j.key: j.params["seconds"] for j in graph.jobs.values()
                if j.kind in ("music", "ambience")}
        cuts = [c.get("length") for j in graph.jobs.values() if j.kind == "piece"
                for c in j.params["clips"] if c["kind"] == "music"]
        return timeline.seconds, {"keys": keys, "cuts": cuts}

    preview = BuildConfig(preview=True)
    short, before = beds(preview, 2.5)
    long, after = beds(preview, 2.8)
    assert long > short
    assert before["keys"] == after["keys"]              # the same music and ambience jobs
    assert before["cuts"] != after["cuts"]              # cut to the new length in the mix
    assert all(s % 8.0 == 0 for s in after["keys"].values())   # type: ignore[attr-defined]
    final_before, final_after = beds(BuildConfig(), 2.5)[1], beds(BuildConfig(), 2.8)[1]
    assert final_before["keys"] != final_after["keys"]
    assert final_after["cuts"] and set(final_after["cuts"]) == {None}


def test_the_preview_film_is_the_same_from_two_fresh_caches(tmp_path: Path) -> None:
    from conftest import write_film
    from filmlang.build import build
    from filmlang.config import BuildConfig

    films = []
    for name in ("one", "two"):
        result = build(write_film(tmp_path / name), jobs=2, config=BuildConfig(preview=True))
        assert result.ok and result.output is not None
        films.append(result.output.read_bytes())
    assert films[0] == films[1]
