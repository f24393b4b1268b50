"""The timeline solver: the film and its lines' speech durations in, every shot's frames out.

Spec section 5, exactly, in whole frames. A line lasts as long as its speech; the first
starts after the shot's lead-in (0.5 s, or the `pause` before it), the next after the gap
(0.3 s, or the `pause` between). A shot without a duration ends its tail (0.7 s, or the
`pause` after the last line) after its last line, and lasts at least its shot type's
length. A shot with a duration lasts exactly that, and it is an error if its dialogue
needs longer. Dissolves and wipes overlap the shots around them; fades do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from filmlang import ir
from filmlang.diagnostics import Diagnostic, Label, error


@dataclass(frozen=True)
class LineTiming:
    line: ir.Line
    start: float
    """Seconds from the start of the film."""
    end: float


@dataclass(frozen=True)
class ShotTiming:
    shot: ir.Shot
    scene: ir.Scene
    start_frame: int
    frames: int
    overlap_in: int = 0
    """Frames shared with the previous shot (dissolve or wipe)."""
    overlap_out: int = 0
    fade_in: int = 0
    """Frames fading in from black at the start."""
    fade_out: int = 0
    lines: tuple[LineTiming, ...] = ()

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames


@dataclass
class Timeline:
    fps: float
    shots: list[ShotTiming] = field(default_factory=list)
    frames: int = 0

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def time(self, frame: int) -> float:
        return frame / self.fps


def solve(film: ir.Film, durations: dict[tuple[str, int, int], float],
          fps: float | None = None) -> tuple[Timeline, list[Diagnostic]]:
    """`durations[(scene, shot index, line index)]` is each line's speech in seconds.

    `fps` overrides the film's (a preview build solves at a lower rate).
    """
    fps = fps or film.fps
    diagnostics: list[Diagnostic] = []
    lengths: list[tuple[ir.Scene, ir.Shot, int, list[tuple[float, float]]]] = []
    for scene in film.scenes:
        for shot in scene.shots:
            frames, spans = _shot_length(scene, shot, durations, fps, diagnostics)
            lengths.append((scene, shot, frames, spans))

    timeline = Timeline(fps=fps)
    frame = 0
    for i, (scene, shot, frames, spans) in enumerate(lengths):
        overlap_in = 0
        fade_in = 0
        transition = shot.transition_in
        if transition is not None and i > 0:
            if transition.kind in ("dissolve", "wipe"):
                overlap_in = ir.to_frames(transition.duration, fps)
                previous = lengths[i - 1][2]
                # Between scenes, the scene before keeps a frame (else its chapter is empty).
                limit = min(previous - (lengths[i - 1][0] is not scene), frames)
                if overlap_in > limit:
                    diagnostics.append(error(
                        "E0602", f"this {transition.kind} lasts {transition.duration:g}s, "
                        f"longer than a shot it joins", transition.origin, label="too long",
                        notes=[Label(span=shot.origin, message="this shot")],
                        help=f"make it at most {limit / fps:.2f}s"))
                    overlap_in = limit
            elif transition.kind == "fade":
                fade_in = min(frames, ir.to_frames(transition.duration / 2, fps))
        if shot.fade_in is not None:
            fade_in = min(frames, max(fade_in, ir.to_frames(shot.fade_in.duration, fps)))
        fade_out = 0
        if i + 1 < len(lengths):
            nxt = lengths[i + 1][1].transition_in
            if nxt is not None and nxt.kind == "fade":
                fade_out = min(frames, ir.to_frames(nxt.duration / 2, fps))
        if shot.fade_out is not None:
            fade_out = min(frames, max(fade_out, ir.to_frames(shot.fade_out.duration, fps)))
        start = frame - overlap_in
        t0 = start / fps
        lines = tuple(LineTiming(line=line, start=t0 + a, end=t0 + b)
                      for line, (a, b) in zip(shot.lines, spans, strict=True))
        timing = ShotTiming(shot=shot, scene=scene, start_frame=start, frames=frames,
                            overlap_in=overlap_in, fade_in=fade_in, fade_out=fade_out,
                            lines=lines)
        if timeline.shots and overlap_in:
            prev = timeline.shots[-1]
            timeline.shots[-1] = ShotTiming(
                shot=prev.shot, scene=prev.scene, start_frame=prev.start_frame,
                frames=prev.frames, overlap_in=prev.overlap_in, overlap_out=overlap_in,
                fade_in=prev.fade_in, fade_out=prev.fade_out, lines=prev.lines)
        timeline.shots.append(timing)
        frame = start + frames
    timeline.frames = frame
    return timeline, diagnostics


def _shot_length(scene: ir.Scene, shot: ir.Shot, durations: dict[tuple[str, int, int], float],
                 fps: float, diagnostics: list[Diagnostic]
                 ) -> tuple[int, list[tuple[float, float]]]:
    """A shot's frames (at least one) and its lines' (start, end) in seconds from its start;
    E0601 when its fixed duration is shorter than its dialogue."""
    spans: list[tuple[float, float]] = []
    t = 0.0
    for index, line in enumerate(shot.lines):
        t += line.gap_before
        length = durations[(scene.name, shot.index, index)]
        spans.append((t, t + length))
        t += length
    if shot.duration is not None:
        frames = ir.to_frames(shot.duration, fps)
        if spans and spans[-1][1] > shot.duration + 1e-9:
            diagnostics.append(error(
                "E0601", f"the dialogue of this shot runs {spans[-1][1]:.2f}s, longer "
                f"than its {shot.duration:g}s", shot.origin,
                label="fixed length too short",
                help=f"make the shot at least {spans[-1][1]:.1f}s long, or leave out "
                     "its duration so that it fits its lines"))
    else:
        natural = (spans[-1][1] + shot.tail) if spans else 0.0
        frames = ir.to_frames(max(natural, shot.min_duration), fps)
    return max(1, frames), spans
