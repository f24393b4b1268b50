"""Staging from the text: an action's verbs, actors and props, as beats.

A shot's action text ("MARA opens the door, lantern in hand; TOM sits down") and its lines'
parentheticals ("(nodding)") are read clause by clause: a clause's actor is a character it
names (or a pronoun for the last one named, "they" for everyone), its verb one of the
vocabulary's (with their inflections and a few synonyms: "climbs" walks, "glances" looks),
its target the character or prop it names after the verb. Each becomes an `ir.Beat` over its
share of the shot, which the animatic turns into poses and movement.

A word right after an actor that is no verb of the vocabulary is reported (`unknown`), so the
checker can hint at it: nothing written is silently dropped. Hand-written rather than a
parser such as spaCy: the vocabulary is small and closed, and a model download per check
would cost far more than the few word lookups this does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any

from filmlang import ir

VERBS: dict[str, tuple[str, ...]] = {
    # canonical verb: its forms and synonyms (one word; see PHRASES for two)
    "sit": ("sit", "sits", "sitting", "sat", "seated", "perch", "perches", "perched",
            "kneel", "kneels", "kneeling", "knelt", "crouch", "crouches", "crouching"),
    "stand": ("stand", "stands", "standing", "stood", "rise", "rises", "rising", "rose",
              "gets", "get"),
    "walk_in": ("enter", "enters", "entering", "entered", "arrive", "arrives", "arriving"),
    "walk_out": ("leave", "leaves", "leaving", "exit", "exits", "exiting"),
    "walk": ("walk", "walks", "walking", "walked", "climb", "climbs", "climbing", "climbed",
             "step", "steps", "stepping", "stride", "strides", "striding", "cross",
             "crosses", "crossing", "approach", "approaches", "approaching", "come",
             "comes", "coming", "go", "goes", "going", "move", "moves", "moving", "wander",
             "wanders", "pace", "paces", "pacing", "follow", "follows", "stroll", "strolls",
             "shoulders", "shoulder", "push", "pushes", "pushing", "limp", "limps"),
    "run": ("run", "runs", "running", "ran", "hurry", "hurries", "hurrying", "rush",
            "rushes", "rushing", "dash", "dashes", "sprint", "sprints", "race", "races",
            "chase", "chases", "flee", "flees"),
    "turn": ("turn", "turns", "turning", "turned", "spin", "spins", "whirl", "whirls"),
    "look": ("look", "looks", "looking", "looked", "glance", "glances", "glancing", "stare",
             "stares", "staring", "watch", "watches", "watching", "gaze", "gazes",
             "gazing", "peer", "peers", "peering", "see", "sees", "study", "studies",
             "search", "searches", "scan", "scans", "wait", "waits", "waiting", "listen",
             "listens", "listening", "smile", "smiles", "smiling", "laugh", "laughs",
             "frown", "frowns", "sigh", "sighs", "whisper", "whispers", "whispering",
             "shout", "shouts", "shouting", "say", "says", "speak", "speaks", "call",
             "calls", "cry", "cries", "crying", "pause", "pauses", "freeze", "freezes",
             "shiver", "shivers", "breathe", "breathes", "hesitate", "hesitates"),
    "point": ("point", "points", "pointing", "pointed", "gesture", "gestures", "gesturing",
              "reach", "reaches", "reaching", "signal", "signals"),
    "nod": ("nod", "nods", "nodding", "nodded", "agree", "agrees", "bow", "bows", "bowing"),
    "wave": ("wave", "waves", "waving", "waved", "beckon", "beckons", "salute", "salutes"),
    "hug": ("hug", "hugs", "hugging", "hugged", "embrace", "embraces", "embracing",
            "hold_each"),
    "lie": ("lie", "lies", "lying", "lay", "sleep", "sleeps", "sleeping", "slept", "fall",
            "falls", "collapse", "collapses", "rest", "rests", "resting"),
    "open": ("open", "opens", "opening", "opened", "unlock", "unlocks"),
    "close": ("close", "closes", "closing", "closed", "shut", "shuts", "shutting", "slam",
              "slams", "lock", "locks"),
    "pick_up": ("grab", "grabs", "grabbing", "take", "takes", "taking", "took", "lift",
                "lifts", "lifting", "raise", "raises", "catch", "catches"),
    "put_down": ("drop", "drops", "dropping", "place", "places", "placing", "set", "sets",
                 "setting", "lay_down"),
    "hold": ("hold", "holds", "holding", "held", "carry", "carries", "carrying", "carried",
             "clutch", "clutches", "clutching", "hand", "steer", "steers", "steering",
             "coil", "coils", "coiling", "tie", "ties", "pull", "pulls", "pulling", "drag",
             "drags", "row", "rows", "rowing", "knead", "kneads", "kneading", "bake", "bakes",
             "bring", "brings", "read", "reads",
             "reading", "pour", "pours", "pouring", "light", "lights", "lighting", "fill",
             "fills", "show", "shows", "showing"),
    "give": ("give", "gives", "giving", "gave", "pass", "passes", "passing", "passed",
             "hands", "handing", "handed", "offer", "offers", "offering", "share",
             "shares", "sharing"),
    "drink": ("drink", "drinks", "drinking", "drank", "sip", "sips", "sipping", "gulp",
              "gulps", "toast", "toasts"),
    "eat": ("eat", "eats", "eating", "ate", "bite", "bites", "biting", "chew", "chews",
            "nibble", "nibbles", "taste", "tastes", "tear", "tears", "tearing"),
    "write": ("write", "writes", "writing", "wrote", "scribble", "scribbles", "sign",
              "signs", "signing", "type", "types", "typing", "draw", "draws", "sketch",
              "sketches"),
    "phone": ("phone", "phones", "phoning", "phoned", "ring", "rings", "dial", "dials",
              "dialing", "dialling", "answer", "answers", "answering"),
}

PHRASES: dict[tuple[str, str], str] = {
    # (verb word, particle) -> canonical verb: "walks in", "picks up", "lies down" ...
    **{(w, "in"): "walk_in" for w in ("walk", "walks", "walking", "come", "comes", "coming",
                                      "step", "steps", "run", "runs", "rush", "rushes",
                                      "burst", "bursts", "hurry", "hurries")},
    **{(w, "out"): "walk_out" for w in ("walk", "walks", "walking", "go", "goes", "step",
                                        "steps", "run", "runs", "storm", "storms", "hurry",
                                        "hurries", "head", "heads")},
    **{(w, "off"): "walk_out" for w in ("walk", "walks", "head", "heads", "run", "runs")},
    **{(w, "away"): "walk_out" for w in ("walk", "walks", "turn", "turns", "run", "runs",
                                         "go", "goes")},
    **{(w, "to"): "walk_to" for w in ("walk", "walks", "walking", "go", "goes", "cross",
                                      "crosses", "move", "moves", "step", "steps", "head",
                                      "heads", "hurry", "hurries", "come", "comes")},
    **{(w, "toward"): "walk_to" for w in ("walk", "walks", "move", "moves", "step", "steps",
                                          "head", "heads", "go", "goes")},
    **{(w, "towards"): "walk_to" for w in ("walk", "walks", "move", "moves", "step",
                                           "steps", "head", "heads", "go", "goes")},
    **{(w, "at"): "look_at" for w in ("look", "looks", "looking", "glance", "glances",
                                      "stare", "stares", "staring", "gaze", "gazes", "peer",
                                      "peers", "smile", "smiles")},
    **{(w, "up"): "pick_up" for w in ("pick", "picks", "picking", "picked", "scoop",
                                      "scoops", "snatch", "snatches")},
    **{(w, "up"): "stand" for w in ("stand", "stands", "get", "gets", "jump", "jumps",
                                    "spring", "springs")},
    **{(w, "down"): "put_down" for w in ("put", "puts", "putting", "set", "sets", "lay",
                                         "lays", "drop", "drops", "place", "places")},
    **{(w, "down"): "lie" for w in ("lie", "lies", "lying", "lay")},
    **{(w, "down"): "sit" for w in ("sit", "sits", "sitting", "kneel", "kneels", "crouch",
                                    "crouches", "settle", "settles", "slump", "slumps")},
    **{(w, "around"): "turn" for w in ("turn", "turns", "spin", "spins")},
    **{(w, "round"): "turn" for w in ("turn", "turns")},
    **{(w, "on"): "phone" for w in ("hang", "hangs")},
}

VOCABULARY: tuple[str, ...] = (
    "sit", "stand", "walk_in", "walk_out", "walk_to", "walk", "run", "turn", "look_at",
    "look", "point", "nod", "wave", "hug", "lie", "open", "close", "pick_up", "put_down",
    "hold", "give", "drink", "eat", "write", "phone")
"""Every canonical verb a beat can carry."""

KNOWN_VERBS = ("sit, stand, walk in/out/to, run, turn, look at, point, nod, wave, hug, "
               "lie down, open/close, pick up, put down, hold, give, drink, eat, write, phone")
"""The vocabulary as a hint lists it."""

PROPS: dict[str, tuple[str, ...]] = {
    # drawn prop kind: the words that name it
    "lantern": ("lantern", "lanterns", "lamp_oil"), "lamp": ("lamp", "lamps", "flame"),
    "door": ("door", "doors", "doorway", "gate"), "table": ("table", "tables", "counter"),
    "chair": ("chair", "chairs", "stool", "stools", "bench", "seat"),
    "bed": ("bed", "beds", "bunk", "cot", "mattress"), "cup": ("cup", "cups", "mug", "mugs",
                                                              "tea", "coffee", "glass"),
    "bottle": ("bottle", "bottles", "wine", "flask", "oil"),
    "bread": ("bread", "loaf", "loaves", "roll", "rolls", "baguette", "pastry"),
    "phone": ("phone", "telephone", "mobile", "cellphone", "receiver"),
    "book": ("book", "books", "notebook", "diary", "journal"),
    "letter": ("letter", "letters", "envelope", "note", "paper", "papers", "map", "ticket",
               "tickets", "photo", "photograph"),
    "bag": ("bag", "bags", "suitcase", "satchel", "backpack", "basket", "parcel",
            "package"),
    "car": ("car", "cars", "taxi", "van", "truck"), "boat": ("boat", "ferry", "rowboat",
                                                             "ship", "dinghy"),
    "bicycle": ("bicycle", "bike", "bicycles"), "umbrella": ("umbrella", "umbrellas"),
    "window": ("window", "windows"), "stairs": ("stairs", "steps", "staircase", "ladder"),
    "clock": ("clock", "watch", "clocks"), "candle": ("candle", "candles"),
    "key": ("key", "keys"), "knife": ("knife", "knives", "dagger"),
    "plate": ("plate", "plates", "bowl", "dish", "soup"), "apple": ("apple", "apples",
                                                                   "fruit", "orange"),
    "flower": ("flower", "flowers", "rose", "bouquet"), "box": ("box", "boxes", "crate",
                                                                "chest"),
    "guitar": ("guitar", "violin"), "radio": ("radio", "wireless"),
    "computer": ("computer", "laptop", "screen", "typewriter"),
    "pen": ("pen", "pencil", "quill"), "hat": ("hat",), "sofa": ("sofa", "couch"),
    "desk": ("desk", "desks"), "shelf": ("shelf", "shelves", "bookcase", "cupboard"),
    "oven": ("oven", "stove", "fireplace", "fire", "hearth"), "rope": ("rope", "ropes", "net"),
    "wheel": ("wheel", "helm"), "tree": ("tree", "trees"), "fence": ("fence", "railing",
                                                                   "rail"),
    "ball": ("ball",), "camera": ("camera",), "mirror": ("mirror",), "gun": ("gun", "pistol",
                                                                          "rifle"),
    "sign": ("sign", "signpost", "placard"), "bucket": ("bucket", "pail", "jug", "kettle",
                                                        "pot"),
    "cake": ("cake", "pie"), "tv": ("tv", "television"), "blackboard": ("blackboard",
                                                                       "chalkboard"),
}

EMERGES = frozenset(("snow", "fog", "mist", "dark", "darkness", "rain", "shadows", "shadow",
                     "night", "storm", "crowd", "trees", "woods", "smoke", "sea", "water"))
"""Out of these one comes in: "walks out of the fog"."""

PROP_WORDS: dict[str, str] = {w: kind for kind, words in PROPS.items() for w in words}
VERB_WORDS: dict[str, str] = {w: verb for verb, words in VERBS.items() for w in words}

PRONOUNS = {"he": "one", "she": "one", "his": "skip", "her": "one", "they": "all",
            "both": "all", "everyone": "all", "together": "skip"}
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NOT_VERBS = _words(
    "is are was were be been has have had does do did and or but with without the a an "
    "of in on at to from into onto by for as still then now again also just only "
    "never always finally slowly quickly quietly suddenly gently softly carefully barely "
    "not too very almost already soon s d ll re ve alone here there up down out off "
    "back over through across away inside outside who that which while")


@dataclass
class Reading:
    """What an action says: its beats, the props it shows, and words that were no verb."""

    beats: list[ir.Beat] = field(default_factory=list)
    props: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _clauses(text: str) -> list[list[str]]:
    out = []
    for part in re.split(r"[.;:,!?\u2014]+|\s+(?:and|then|while|as)\s+", text):
        words = re.findall(r"[A-Za-z][A-Za-z'_-]*", part)
        if words:
            out.append(words)
    return out


def _verb_at(words: list[str], k: int) -> tuple[str, int] | None:
    """The canonical verb at word k and how many words it takes, or None."""
    word = words[k].lower()
    nxt = words[k + 1].lower() if k + 1 < len(words) else ""
    if (word, nxt) in PHRASES:
        phrase = PHRASES[(word, nxt)]
        rest = {w.lower() for w in words[k + 2:k + 5]}
        if phrase == "walk_out" and "of" in rest and not rest.isdisjoint(EMERGES):
            phrase = "walk_in"  # "walks out of the snow" arrives
        return phrase, 2
    if nxt and k + 2 < len(words) and (word, words[k + 2].lower()) in PHRASES \
            and nxt in ("the", "a", "it", "her", "him", "them", "his"):
        return PHRASES[(word, words[k + 2].lower())], 1  # "picks the cup up"
    verb = VERB_WORDS.get(word)
    return (verb, 1) if verb else None


def acted_words(text: str) -> frozenset[str]:
    """The words (lower case) of the clauses of `text` that stage a verb: a parenthetical's
    "(nodding)" or "(looking at the sky)" is acted, so the voice need not know it (W0004)."""
    acted: set[str] = set()
    for words in _clauses(text):
        if any(_verb_at(words, k) for k in range(len(words))):
            acted.update(w.lower() for w in words)
    return frozenset(acted)


class Reader:
    """Reads action texts against a film's characters and declared props."""

    def __init__(self, characters: Container[str], props: dict[str, str]) -> None:
        self.characters = characters
        self.props = props
        """Declared prop NAME -> its drawn kind."""

    def prop_of(self, word: str) -> str | None:
        if word in self.props:
            return word
        return PROP_WORDS.get(word.lower())

    def read(self, text: str, subjects: tuple[str, ...], *, actor: str = "") -> Reading:
        out = Reading()
        clauses = _clauses(text)
        last = actor
        found: list[tuple[str, str, str, str]] = []
        for words in clauses:
            last = self._clause(words, subjects, last, found, out)
        for name in self._props_named(text):
            if name not in out.props:
                out.props.append(name)
        n = max(1, len(found))
        for k, (verb, who, target, prop) in enumerate(found):
            out.beats.append(ir.Beat(verb=verb, actor=who, target=target, prop=prop,
                                     start=round(k / n, 4), end=round((k + 1) / n, 4)))
        return out

    def _props_named(self, text: str) -> list[str]:
        names = []
        for word in re.findall(r"[A-Za-z][A-Za-z_]*", text):
            prop = self.prop_of(word)
            if prop is not None and prop not in names:
                names.append(prop)
        return names

    def _clause(self, words: list[str], subjects: tuple[str, ...], last: str,
                found: list[tuple[str, str, str, str]], out: Reading) -> str:
        actor = last
        after_actor = False
        verbs = 0
        k = 0
        while k < len(words):
            word = words[k]
            low = word.lower()
            if word in self.characters and not found_target(found, word, k):
                actor, after_actor = word, True
                k += 1
                continue
            if low in PRONOUNS and PRONOUNS[low] != "skip":
                actor = "" if PRONOUNS[low] == "all" else actor
                after_actor = True
                k += 1
                continue
            verb = _verb_at(words, k)
            if verb is not None and verbs and low in PROP_WORDS:
                verb = None  # "climbs the last steps": the steps are the stairs
            if verb is not None:
                name, size = verb
                target, prop = self._objects(words[k + size:])
                prop = prop or self._objects(words)[1]  # "lantern in hand"
                if name == "walk" and target:
                    name = "walk_to"
                if name == "look" and target:
                    name = "look_at"
                found.append((name, actor, target, prop))
                verbs += 1
                after_actor = False
                k += size
                continue
            if after_actor and low not in NOT_VERBS and not low.endswith("ly") \
                    and self.prop_of(word) is None and not word.isupper():
                out.unknown.append(word)
            after_actor = False
            k += 1
        return actor

    def _objects(self, rest: list[str]) -> tuple[str, str]:
        """The character and the prop a verb acts on, from the words after it."""
        target = prop = ""
        for word in rest[:6]:
            if _verb_at(rest, rest.index(word)) is not None and word.lower() not in PROP_WORDS:
                break
            if not target and word in self.characters:
                target = word
            elif not prop and self.prop_of(word) is not None:
                prop = self.prop_of(word) or ""
        return target, prop


def found_target(found: list[tuple[str, str, str, str]], word: str, k: int) -> bool:
    """Whether `word` (a character) is the object of the clause's last verb, not an actor."""
    return bool(found) and found[-1][2] == word and k > 0


def parenthetical_beats(reader: Reader, text: str, speaker: str, start: float,
                        end: float) -> list[ir.Beat]:
    """Beats of a line's parenthetical ("nodding", "waves her away"), for its speaker."""
    reading = reader.read(text, (speaker,), actor=speaker)
    return [b.model_copy(update={"actor": b.actor or speaker, "start": start, "end": end})
            for b in reading.beats]


class _Asking:
    """A table of names that notes each name asked about."""

    def __init__(self, names: Container[str]) -> None:
        self.names = names
        self.asked: dict[str, None] = {}

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked[name] = None
        return name in self.names


class RememberingReader(Reader):
    """A `Reader` that reads each text once while `known` is kept (the language server keeps
    it while the film's characters and props are the same): the text, subjects and actor ->
    the reading, and the names it asked the characters about, asked again on reuse so that a
    table noting its reads (`scene_memo.Watched`) notes the same. Readings are shared: their
    lists are not to be changed."""

    def __init__(self, characters: Container[str], props: dict[str, str],
                 known: dict[Any, tuple[Reading, tuple[Any, ...]]],
                 note: Callable[[tuple[Any, ...]], None] | None = None,
                 noted: Callable[[str], Any] | None = None) -> None:
        super().__init__(characters, props)
        self.known = known
        self.note = note
        """Notes the names asked about on reuse (as `noted` writes each), in place of asking
        them again."""
        self.noted = noted

    def read(self, text: str, subjects: tuple[str, ...], *, actor: str = "") -> Reading:
        key = (text, subjects, actor)
        found = self.known.get(key)
        if found is None:
            asking = _Asking(self.characters)
            reading = Reader(asking, self.props).read(text, subjects, actor=actor)
            if len(self.known) >= 100_000:
                self.known.clear()
            noted = self.noted
            self.known[key] = (reading, tuple(asking.asked) if noted is None
                               else tuple(noted(name) for name in asking.asked))
            return reading
        if self.note is not None:
            self.note(found[1])
        else:
            for name in found[1]:
                name in self.characters  # noqa: B015 (noted by a watching table)
        return found[0]
