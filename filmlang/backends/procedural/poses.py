"""Poses over a shot: a shot's beats (`ir.Beat`, from its action) as keyframed poses.

Each figure gets a track of keyframes (time in fractions of the shot, a `Pose`): where it
stands on the ground (`dx`, frame widths from its place in the shot), how far it sits or
lies, where its hands are (head units: x outward from the body's middle, y down from the
head's top), which way it faces, what it holds. Between keyframes poses are eased like the
camera (smoothstep); walking swings the legs with the distance covered, and a few verbs
repeat a small motion while they last (a wave, a nod, bites, sips, writing). `pose_at`
gives a figure's pose at any moment; props that change hands follow the hands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import pairwise

Point = tuple[float, float]


@dataclass(frozen=True)
class Pose:
    dx: float = 0.0
    sit: float = 0.0
    lie: float = 0.0
    back: bool = False
    facing: float = 0.0
    nod: float = 0.0
    stride: float = 0.0
    hand_r: Point | None = None
    hand_l: Point | None = None
    held: str = ""
    """The prop in the right hand ("" for none)."""
    pace: float = 0.0
    """How the legs swing while dx changes: 0 still, 1 walking, 2 running."""
    repeat: str = ""
    """A motion repeated while the pose holds: wave, nod, eat, drink, write."""


REST = Pose()

# Where the hands go for each gesture (right hand, left hand), head units.
HOLD = (0.75, 3.0)
HANDS: dict[str, tuple[Point | None, Point | None]] = {
    "point": ((2.9, 1.7), None),
    "wave": ((1.5, -0.7), None),
    "hug": ((1.9, 2.0), (0.2, 2.1)),
    "open": ((2.6, 2.5), None),
    "close": ((2.6, 2.5), None),
    "give": ((2.7, 2.4), None),
    "drink": ((0.3, 0.95), None),
    "eat": ((0.3, 0.95), None),
    "phone": ((0.5, 0.6), None),
    "write": ((0.5, 3.0), (0.45, 3.05)),
    "hold": (HOLD, None),
}
CARRIED = frozenset(("lantern", "cup", "bottle", "bread", "phone", "book", "letter", "bag",
                     "umbrella", "clock", "candle", "key", "knife", "plate", "apple", "flower",
                     "box", "guitar", "radio", "pen", "hat", "rope", "ball", "camera", "gun",
                     "bucket", "cake", "lamp"))
"""Props small enough to carry (the rest stand in the shot)."""
OFFSCREEN = 0.75
"""How far (frame widths) a figure walking in starts from, or walking out ends at."""


def ease(t: float) -> float:
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


def _mix_point(a: Point | None, b: Point | None, t: float, rest: Point) -> Point | None:
    if a is None and b is None:
        return None
    pa, pb = a or rest, b or rest
    return (pa[0] + (pb[0] - pa[0]) * t, pa[1] + (pb[1] - pa[1]) * t)


def between(a: Pose, b: Pose, t: float) -> Pose:
    """The pose a fraction `t` (already eased) of the way from a to b."""
    rest = (1.06, 3.6)
    return Pose(dx=a.dx + (b.dx - a.dx) * t, sit=a.sit + (b.sit - a.sit) * t,
                lie=a.lie + (b.lie - a.lie) * t, back=b.back if t > 0.5 else a.back,
                facing=a.facing + (b.facing - a.facing) * t, nod=a.nod + (b.nod - a.nod) * t,
                hand_r=_mix_point(a.hand_r, b.hand_r, t, rest),
                hand_l=_mix_point(a.hand_l, b.hand_l, t, (1.06, 3.6)),
                held=b.held if t >= 0.5 else a.held, pace=max(a.pace, b.pace),
                repeat=b.repeat if t >= 0.5 else a.repeat)


@dataclass
class Track:
    """One figure's keyframes, (time, pose), in time order."""

    keys: list[tuple[float, Pose]]

    @property
    def last(self) -> Pose:
        return self.keys[-1][1]

    def add(self, at: float, pose: Pose) -> None:
        at = max(at, self.keys[-1][0])
        self.keys.append((at, pose))

    def at(self, t: float, seconds: float) -> Pose:
        """The pose at fraction t of the shot, `seconds` into it (for repeated motions)."""
        keys = self.keys
        pose = keys[-1][1]
        for (t0, a), (t1, b) in pairwise(keys):
            if t0 <= t < t1:
                pose = between(a, b, ease((t - t0) / max(1e-6, t1 - t0)))
                break
        else:
            if t < keys[0][0]:
                pose = keys[0][1]
        return _moving(_repeated(pose, seconds), pose)


def _repeated(pose: Pose, seconds: float) -> Pose:
    phase = math.sin(2 * math.pi * 1.6 * seconds)
    if pose.repeat == "wave" and pose.hand_r is not None:
        return replace(pose, hand_r=(pose.hand_r[0] + 0.45 * phase, pose.hand_r[1]))
    if pose.repeat == "nod":
        return replace(pose, nod=0.12 + 0.12 * phase)
    if pose.repeat in ("eat", "drink") and pose.hand_r is not None:
        lift = 0.5 * (1 - abs(phase))
        return replace(pose, hand_r=(pose.hand_r[0] + lift * 0.4, pose.hand_r[1] + lift))
    if pose.repeat == "write" and pose.hand_r is not None:
        return replace(pose, hand_r=(pose.hand_r[0] + 0.15 * phase, pose.hand_r[1]))
    return pose


def _moving(pose: Pose, base: Pose) -> Pose:
    if pose.pace <= 0.0:
        return pose
    # The legs swing with the distance covered: a step per 0.05 frame widths walking.
    step = 0.05 if pose.pace < 1.5 else 0.08
    return replace(pose, stride=(0.55 if pose.pace < 1.5 else 0.95)
                   * math.sin(pose.dx / step * math.pi))


@dataclass(frozen=True)
class Slot:
    """A figure's resting place in the shot: x in frame widths."""

    name: str
    x: float


def _toward(slots: dict[str, Slot], actor: str, target: str) -> float:
    """-1 or +1: the side of `actor` that `target` is on (the frame's middle if none)."""
    here = slots[actor].x
    there = slots[target].x if target in slots else 0.5
    return 1.0 if there >= here else -1.0


def tracks(beats: list[tuple[str, str, str, str, float, float]], slots: dict[str, Slot],
           ) -> dict[str, Track]:
    """Keyframes for every figure from the beats (verb, actor, target, prop, start, end)."""
    out = {name: Track([(0.0, REST)]) for name in slots}
    starts = _starting(beats, slots)
    for name, pose in starts.items():
        out[name] = Track([(0.0, pose)])
    for verb, actor, target, prop, start, end in beats:
        actors = [actor] if actor in slots else list(slots)
        for who in actors:
            _beat(out, slots, verb, who, target, prop, start, end)
    return out


HOLDING = frozenset(("hold", "put_down", "give", "drink", "eat", "phone", "write", "walk",
                     "walk_in", "walk_out", "walk_to", "run"))
"""Verbs whose prop the actor has in hand from the shot's start (not `pick_up`)."""


def _starting(beats: list[tuple[str, str, str, str, float, float]],
              slots: dict[str, Slot]) -> dict[str, Pose]:
    """Where figures are before their first beat: off screen if they walk in, seated if
    they stand up; holding what they hold, put down or give without picking it up."""
    out: dict[str, Pose] = {}
    held: dict[str, str] = {}
    picked: set[tuple[str, str]] = set()
    for verb, actor, _, prop, _, _ in beats:
        for who in [actor] if actor in slots else list(slots):
            if verb == "pick_up":
                picked.add((who, prop))
            elif prop in CARRIED and verb in HOLDING and (who, prop) not in picked \
                    and who not in held:
                held[who] = prop
            if who in out:
                continue
            side = -1.0 if slots[who].x < 0.5 else 1.0
            if verb == "walk_in":
                out[who] = Pose(dx=side * OFFSCREEN)
            elif verb == "stand":
                out[who] = Pose(sit=1.0)
            else:
                out[who] = REST
    for who, prop in held.items():
        out[who] = replace(out.get(who, REST), hand_r=HOLD, held=prop)
    return out


def _beat(out: dict[str, Track], slots: dict[str, Slot], verb: str, who: str, target: str,
          prop: str, start: float, end: float) -> None:
    track = out[who]
    now = track.last
    side = _toward(slots, who, target)
    ramp = start + (end - start) * 0.35
    if verb in ("walk_in", "walk", "walk_to", "run", "walk_out"):
        track.add(start, replace(now, repeat=""))
        dx = _destination(slots, who, target, verb, now)
        pace = 2.0 if verb == "run" else 1.0
        track.add(end, replace(now, dx=dx, pace=pace, sit=0.0, repeat="", facing=0.0))
        track.keys[-2] = (track.keys[-2][0], replace(track.keys[-2][1], pace=pace))
        return
    track.add(start, now)
    if verb == "pick_up":
        middle = start + (end - start) * 0.5
        track.add(middle, replace(now, sit=0.7, hand_r=(1.4, 4.6), held=""))
        track.add(middle + 1e-3, replace(now, sit=0.7, hand_r=(1.4, 4.6), held=prop or "box"))
        track.add(end, replace(now, sit=0.0, hand_r=HOLD, held=prop or "box"))
        return
    if verb == "put_down":
        middle = start + (end - start) * 0.5
        track.add(middle, replace(now, sit=0.7, hand_r=(1.4, 4.6)))
        track.add(middle + 1e-3, replace(now, sit=0.7, hand_r=(1.4, 4.6), held=""))
        track.add(end, replace(now, sit=0.0, hand_r=None, held=""))
        return
    if verb == "give" and target in out:
        given = now.held or prop or "box"
        middle = start + (end - start) * 0.55
        reach_r = (2.7, 2.4) if side > 0 else None
        reach_l = (2.7, 2.4) if side < 0 else None
        held_side = reach_r or reach_l
        track.add(middle, replace(now, hand_r=held_side, held=given, facing=side * 0.6))
        track.add(end, replace(now, hand_r=None, held="", facing=side * 0.6))
        other = out[target]
        there = other.last
        other.add(start, there)
        other.add(middle, replace(there, hand_r=(2.7, 2.4), facing=-side * 0.6))
        other.add(end, replace(there, hand_r=HOLD, held=given, facing=-side * 0.6))
        return
    track.add(ramp, _gesture(verb, now, side, prop, slots, who, target))
    track.add(end, _gesture(verb, now, side, prop, slots, who, target))


def _destination(slots: dict[str, Slot], who: str, target: str, verb: str,
                 now: Pose) -> float:
    here = slots[who].x
    side = -1.0 if here < 0.5 else 1.0
    if verb == "walk_in":
        return 0.0
    if verb == "walk_out":
        return side * OFFSCREEN
    if target in slots and target != who:
        gap = 0.06 if slots[target].x > here else -0.06
        return slots[target].x - here - gap
    return now.dx + (0.3 if verb == "run" else 0.18) * (-side)


def _gesture(verb: str, now: Pose, side: float, prop: str,
             slots: dict[str, Slot], who: str, target: str) -> Pose:
    hands = HANDS.get(verb)
    base = replace(now, repeat="")
    if hands is not None:
        right, left = hands
        if side < 0 and verb in ("point", "give", "open", "close", "hug"):
            right, left = None, (right if right else None)
            if verb == "hug":
                right, left = (0.2, 2.1), (1.9, 2.0)
        held = prop if verb in ("hold", "drink", "eat", "phone", "write") and prop else \
            {"drink": "cup", "eat": "bread", "phone": "phone", "write": "pen"}.get(
                verb, now.held)
        base = replace(base, hand_r=right, hand_l=left, held=held or "",
                       repeat=verb if verb in ("wave", "eat", "drink", "write") else "")
    return _posture(verb, base, side, slots, who, target)


def _posture(verb: str, pose: Pose, side: float, slots: dict[str, Slot], who: str,
             target: str) -> Pose:
    if verb == "sit":
        return replace(pose, sit=1.0, lie=0.0)
    if verb == "stand":
        return replace(pose, sit=0.0, lie=0.0)
    if verb == "lie":
        return replace(pose, lie=1.0, sit=0.0)
    if verb == "turn":
        return replace(pose, back=not pose.back)
    if verb in ("look_at", "look"):
        return replace(pose, facing=side if target else pose.facing, back=False)
    if verb == "nod":
        return replace(pose, repeat="nod")
    if verb == "hug" and target in slots:
        return replace(pose, dx=slots[target].x - slots[who].x - side * 0.07, facing=side)
    return pose
