"""The film's AAC in chunks, one per piece, joined by stream copy.

Takes the film's levelled sound one piece at a time (`link/master.py`) and gives AAC
chunks (ADTS frames) and, from them, the film's `mix.m4a`. A chunk's bytes depend only
on its piece's samples (with margins), the gain and limiting applied to them and where
the piece sits on the film's 1024-sample frame grid, so a chunk is remembered by those
(`chunk_key`) and an edit encodes only the chunks whose piece, gain or grid phase changed.

How the chunks join without a seam. AAC codes 1024-sample frames with a 2048-sample MDCT
window: a decoder outputs frame b of the film by overlapping packets b and b + 1 (ffmpeg's
encoder primes one frame, packet 0). The chunks therefore follow the film's own frame grid:
chunk i owns the film's packets b + 1 for every frame b that starts within its piece
(chunk 0 also the priming packet), and is encoded from `PRE_ROLL` samples before its first
frame to `TAIL` samples after its last, taken from the piece's margins (which are its
neighbours' edges, gained and limited as the neighbours are there), so that each kept
packet is coded from the same signal as in a whole-film encode, and the packets either
side of a join cancel each other's time-domain aliasing as one encoder's would. The
packets outside the owned range are dropped. Laid end to end the chunks are one stream of
the film's length in packets; ffmpeg copies it into MP4, with the priming frame and the
last frame's length in the timestamps (an edit list), so the decoded film is exactly as
many samples as the mix (`tests/test_aac.py` measures every boundary against a
whole-film encode).

The price: a piece that moves along the film by other than a multiple of 1024 samples
sits on a different grid phase, and its chunk is encoded again (its mix is not).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FRAME = 1024
"""Samples per AAC-LC frame."""
PRE_ROLL = 4 * FRAME
"""Encoded before a chunk's first owned frame and dropped: the encoder's window, its
priming frame and its psychoacoustic state settle on the film's own signal."""
TAIL = 2 * FRAME
"""Encoded after a chunk's last owned frame and dropped: the last kept packet's window
and the encoder's look-ahead see the film's signal, not the end of a stream."""
VERSION = "1"


@dataclass(frozen=True)
class Span:
    """Where a chunk's samples come from and which of its packets are kept.

    `lo`, `hi`: the encoded range, in samples of the piece's array with margins;
    `skip`: packets dropped at the start; `keep`: packets kept after them (the rest is
    dropped); the last chunk keeps all to the end (`keep` is then what that comes to)."""

    lo: int
    hi: int
    skip: int
    keep: int


def span(start: int, samples: int, margin: int, total: int) -> Span:
    """The chunk of a piece that starts at film sample `start`, `samples` long, with
    `margin` samples mixed on each side, in a film of `total` samples."""
    first = -(-start // FRAME)                      # the frames that start in the piece
    end = -(-(start + samples) // FRAME)
    last = start + samples >= total
    if start == 0:
        lo, skip, owned = 0, 0, end + 1             # with the priming packet
    else:
        lo, skip, owned = first * FRAME - PRE_ROLL, PRE_ROLL // FRAME + 1, end - first
    hi = total if last else min(total, end * FRAME + TAIL)
    if lo < start - margin or hi > start + samples + margin:
        raise ValueError(f"a piece's margin of {margin} samples is shorter than the AAC "
                         f"chunk's pre-roll and tail")
    return Span(lo=lo - start + margin, hi=hi - start + margin, skip=skip, keep=owned)


def adts_frames(data: bytes) -> list[bytes]:
    """The ADTS frames of a raw AAC stream, each with its header."""
    out = []
    at = 0
    while at + 7 <= len(data):
        if data[at] != 0xFF or data[at + 1] & 0xF0 != 0xF0:
            raise ValueError(f"not an ADTS frame at byte {at}")
        size = ((data[at + 3] & 3) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        out.append(data[at:at + size])
        at += size
    return out


def encode_chunk(samples: bytes, chunk: Span, rate: int, bitrate: str) -> bytes:
    """The kept ADTS packets of interleaved stereo float32 `samples` (the chunk's range)."""
    from filmlang.link.ffmpeg import FfmpegError, capture_ffmpeg

    encoded = capture_ffmpeg(["-f", "f32le", "-ar", str(rate), "-ac", "2", "-i", "pipe:0",
                              "-c:a", "aac", "-aac_coder", "fast", "-b:a", bitrate,
                              "-f", "adts", "pipe:1"], input=samples).stdout
    packets = adts_frames(encoded)
    if len(packets) < chunk.skip + chunk.keep:
        raise FfmpegError(f"the AAC encoder gave {len(packets)} packets for a chunk that "
                          f"keeps {chunk.skip + chunk.keep}")
    return b"".join(packets[chunk.skip:chunk.skip + chunk.keep])


def _count(data: bytes) -> int:
    """How many ADTS frames `data` holds (their headers read, nothing copied)."""
    count = at = 0
    while at + 7 <= len(data):
        if data[at] != 0xFF or data[at + 1] & 0xF0 != 0xF0:
            raise ValueError(f"not an ADTS frame at byte {at}")
        at += ((data[at + 3] & 3) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        count += 1
    return count


def join(chunks: Sequence[Path], total: int, rate: int, out: Path) -> None:
    """The chunks' packets, in order, copied into `out` (MP4 audio) as one stream: the
    first packet is the priming frame (a negative timestamp: an edit list skips it) and
    the last packet lasts only to the film's `total` samples. Streamed a chunk at a time:
    the whole film's AAC is never held."""
    import subprocess

    from filmlang.link.ffmpeg import FfmpegError, ffmpeg_process, temp_path_beside

    packets = sum(_count(path.read_bytes()) for path in chunks)
    expected = -(-total // FRAME) + 1
    if packets != expected:
        raise ValueError(f"the chunks hold {packets} AAC packets; {total} samples take "
                         f"{expected}")
    last = total - (packets - 2) * FRAME
    timing = (f"setts=prescale=1:time_base=1/{rate}:ts=TS-{FRAME}"
              f":duration=if(eq(N\\,{packets - 1})\\,{last}\\,DURATION)")
    temp = temp_path_beside(out, ".m4a.part")
    try:
        with ffmpeg_process(["-y", "-f", "aac", "-i", "pipe:0", "-c:a", "copy", "-bsf:a",
                             timing, "-map_metadata", "-1", "-f", "mp4", str(temp)],
                            stdin=subprocess.PIPE) as proc:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                for path in chunks:
                    proc.stdin.write(path.read_bytes())
                proc.stdin.close()
            stderr = proc.stderr.read() if proc.stderr else b""
            if proc.wait() != 0:
                raise FfmpegError("ffmpeg failed joining the film's AAC chunks",
                                  stderr=stderr.decode("utf-8", errors="replace"))
        os.replace(temp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def silence(rate: int, bitrate: str, out: Path) -> None:
    """An empty film's sound: what the encoder makes of no samples."""
    from filmlang.link.ffmpeg import capture_ffmpeg, temp_path_beside

    temp = temp_path_beside(out, ".m4a.part")
    try:
        capture_ffmpeg(["-y", "-f", "f32le", "-ar", str(rate), "-ac", "2", "-i", "pipe:0",
                        "-c:a", "aac", "-b:a", bitrate, "-f", "mp4", str(temp)], input=b"")
        os.replace(temp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def remember(memo: Path, key: str, packets: bytes) -> Path:
    """Write a chunk into the memo atomically; its path."""
    memo.mkdir(parents=True, exist_ok=True)
    path = memo / f"{key}.aac"
    temp = memo / f".{key}.{os.getpid()}.{id(packets)}.tmp"
    temp.write_bytes(packets)
    os.replace(temp, path)
    return path
