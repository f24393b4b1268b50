"""A screenplay's elements to a `.film` source that checks clean and builds.

Scenes come from headings (the place and time of day read from them), characters are
declared once with a placeholder look, and shots are planned from the text: a new shot
at each change of speaker, an action paragraph as a wide shot (a medium one of the
characters it names) carrying its text as the action. Parentheticals become the delivery
of the line after them, transitions become transitions, centered text becomes a title,
and notes, synopses, sections, page breaks and the title page's other entries become
comments. Where the mapping has to guess, the output says so in a comment.
"""

from __future__ import annotations

import re
import unicodedata

from filmlang.screenplay.draft import Scene, Shot, comment, quote
from filmlang.screenplay.elements import Element, Script, Warning
from filmlang.screenplay.fountain import off_screen, plain
from filmlang.semantic.headings import parse_heading

TRANSITIONS = {"CUT": ("cut", ""), "SMASH": ("cut", ""), "MATCH": ("cut", ""),
               "JUMP": ("cut", ""), "DISSOLVE": ("dissolve", "0.5s"),
               "WIPE": ("wipe", "0.5s"), "FADE": ("fade", "1s"), "IRIS": ("wipe", "0.5s")}
_COMMENTS = {"note": "note", "synopsis": "synopsis", "boneyard": "boneyard (left out)"}


def identifier(name: str, taken: set[str], fallback: str) -> str:
    """A .film name for a script's name: `MRS. JONES` -> `MRS_JONES`, unique."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9_]+", "_", ascii_name.replace("'", "")).strip("_")
    if not base:
        base = fallback
    if base[0].isdigit():
        base = f"{fallback}_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def reading_time(text: str) -> str:
    """An action's length: about its reading time, 2 to 8 seconds, in half seconds."""
    words = len(text.split())
    return f"{max(2.0, min(8.0, round(words / 2.5 * 2) / 2)):g}s"


class Importer:
    def __init__(self, script: Script, name: str) -> None:
        self.script = script
        self.name = name
        self.warnings: list[Warning] = list(script.warnings)
        self.characters: dict[str, str] = {}
        self.spellings: dict[str, str] = {}
        self.taken: set[str] = set()
        self.scenes: list[Scene] = []
        self.scene_names: set[str] = set()
        self.before: list[str] = []
        self.opening: list[tuple[str, str]] = []
        """Transitions before the first scene (FADE IN:)."""
        self.shot: Shot | None = None
        self.delivery: str | None = None

    # ---------------------------------------------------------------- names

    def character(self, element: Element) -> str:
        key = element.text if element.forced else element.text.upper()
        if key not in self.characters:
            ident = identifier(key, self.taken, "CHARACTER")
            self.characters[key] = ident
            self.spellings[ident] = key
        return self.characters[key]

    def scene(self, element: Element | None) -> Scene:
        heading = element.text if element is not None else None
        place = parse_heading(heading or "").location if heading else "opening"
        name = identifier(place.lower(), self.scene_names, "scene")
        scene = Scene(name=name, heading=heading, line=element.line if element else 1)
        self.scenes.append(scene)
        return scene

    # ---------------------------------------------------------------- shots

    def flush(self) -> None:
        self.dangling()
        self.shot = None

    def dangling(self) -> None:
        """A parenthetical with no line after it: kept as a comment in its shot."""
        if self.delivery is not None and self.shot is not None:
            self.shot.body.extend(comment(f"({self.delivery}): no line after it"))
        self.delivery = None

    def add_shot(self, shot: Shot) -> None:
        self.current().items.append(shot)
        self.shot = shot

    def current(self) -> Scene:
        if not self.scenes:
            scene = self.scene(None)
            scene.top.append("guessed: the screenplay starts before its first scene heading; "
                             "that part is this scene")
            scene.items.extend(self.opening)
            self.opening = []
        return self.scenes[-1]

    def action(self, element: Element) -> None:
        self.flush()
        text, stressed = plain(element.text)
        # A character named in capitals (a name of two letters or more: "A" is a word).
        named = [ident for key, ident in self.characters.items() if len(key) > 1 and
                 re.search(rf"(?<![A-Za-z]){re.escape(key)}(?![A-Za-z])", text)]
        if named:
            head = f"shot medium {' '.join(named[:2])} {reading_time(text)}"
            note = f"guessed: a medium shot of {' and '.join(named[:2])} (named in the action)"
        else:
            head = f"shot wide {reading_time(text)}"
            note = "guessed: a wide shot (the action names no character)"
        shot = Shot(head=head, body=[f"action {quote(text, template=True)}"], notes=[note])
        if stressed:
            shot.notes.append("stressed in the script: " + ", ".join(stressed))
        self.add_shot(shot)
        self.shot = None

    def cue(self, element: Element) -> None:
        ident = self.character(element)
        self.dangling()
        if element.dual and self.shot is not None and self.shot.speaker \
                and self.shot.speaker != ident:
            first = self.shot.speaker
            self.shot.head = f"shot two_shot {first} {ident}"
            self.shot.notes.append("dual dialogue: spoken at once in the script, one after "
                                   "the other here")
            self.shot.speaker = ident
            return
        if self.shot is not None and self.shot.speaker == ident:
            return
        self.flush()
        if off_screen(element.extension):
            shot = Shot(head="shot medium", speaker=ident, notes=[
                f"{ident} {element.extension}: not seen, so not a subject of the shot"])
        else:
            shot = Shot(head=f"shot close_up {ident}", speaker=ident)
        if self.spellings[ident] != ident and not element.forced:
            shot.notes.append(f'{ident} is "{self.spellings[ident]}" in the script')
        self.add_shot(shot)

    def line(self, element: Element, sung: bool = False) -> None:
        shot = self.shot
        if shot is None or not shot.speaker:
            self.warnings.append(Warning(element.line, "a line of dialogue with no character "
                                                       "before it: read as action"))
            self.action(element)
            return
        text, stressed = plain(element.text)
        if not text.strip():
            return
        delivery = self.delivery or ("singing" if sung else None)
        words = re.sub(r"[()\n]", " ", delivery).strip() if delivery else ""
        paren = f" ({' '.join(words.split())})" if words else ""
        shot.body.append(f"{shot.speaker}{paren}: {quote(text)}")
        if stressed:
            shot.notes.append("stressed in the script: " + ", ".join(stressed))
        self.delivery = None

    def parenthetical(self, element: Element) -> None:
        if self.shot is None or not self.shot.speaker:
            self.warnings.append(Warning(element.line, "a parenthetical with no character "
                                                       "before it: kept as a comment"))
            self.current().items.append(f"({element.text})")
            return
        self.dangling()
        self.delivery = element.text

    def centered(self, element: Element) -> None:
        self.flush()
        text, _ = plain(element.text)
        if not text.strip():
            return
        self.add_shot(Shot(head="shot wide 3s", body=[f"title {quote(text)}"],
                            notes=["guessed: centered text as a title over a wide shot"]))
        self.shot = None

    def lyric(self, element: Element) -> None:
        if element.in_dialogue and self.shot is not None and self.shot.speaker:
            self.line(element, sung=True)
            return
        self.flush()
        text, _ = plain(element.text)
        if text.strip():
            self.add_shot(Shot(head="shot wide 3s", body=[f"title {quote(text)}"],
                                notes=["guessed: lyrics nobody sings in the script, as a "
                                       "title over a wide shot"]))
        self.shot = None

    def transition(self, element: Element) -> None:
        self.flush()
        word = element.text.split(" ", 1)[0].upper().rstrip(".:")
        kind, duration = TRANSITIONS.get(word, ("cut", ""))
        note = "" if word in TRANSITIONS else \
            f"guessed: {element.text!r} as a cut"
        item = (f"{kind} {duration}".strip(), note or f"{element.text}")
        if self.scenes:
            self.current().items.append(item)
        else:
            self.opening.append(item)

    def heading(self, element: Element) -> None:
        self.flush()
        scene = self.scene(element)
        scene.items.extend(self.opening)
        self.opening = []
        if self.before:
            scene.top.extend(self.before)
            self.before = []
        if element.number:
            scene.top.append(f"scene {element.number} in the script")
        if not element.text:
            scene.heading = None

    def aside(self, element: Element) -> None:
        """Notes, synopses, sections, page breaks and the boneyard: comments in place."""
        if element.kind == "section":
            text = f"{'#' * element.level} {element.text}"
        elif element.kind == "page_break":
            text = "page break"
        else:
            text = f"{_COMMENTS[element.kind]}: {element.text}"
        if element.kind in ("section", "synopsis") or not self.scenes:
            self.before.append(text)
            return
        self.current().items.append(text)

    def run(self) -> None:
        handlers = {"heading": self.heading, "action": self.action, "character": self.cue,
                    "parenthetical": self.parenthetical, "dialogue": self.line,
                    "lyric": self.lyric, "transition": self.transition,
                    "centered": self.centered}
        for element in self.script.elements:
            if element.kind == "character":
                self.character(element)
        for element in self.script.elements:
            handlers.get(element.kind, self.aside)(element)
        if self.before and self.scenes:
            self.scenes[-1].items.extend(self.before)
            self.before = []
