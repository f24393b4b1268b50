"""People from their `look`: age, build, hair, clothes and accessories, as a `Figure`.

"weathered lighthouse keeper in her sixties, grey braid, yellow raincoat" is an old woman
(shorter, a little stooped) with a grey braid in a yellow coat; "an eleven-year-old boy"
is a child, about three quarters of an adult's height with a larger head for his size. A
colour word before a clothing word ("charcoal coat") colours the clothes; the character's
own colour then becomes an accent (a scarf, a collar, a band), so a character is still
known by it in every shot. Words are matched by hand (a few tables): the looks are short
and the vocabulary is the wardrobe's, which no general parser knows better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from filmlang.backends.procedural.scene import RGB, mix
from filmlang.backends.procedural.spec import wordset

SKIN: tuple[RGB, ...] = ((236, 198, 168), (218, 170, 132), (180, 128, 92), (130, 88, 62))

HAIR: tuple[tuple[frozenset[str], RGB], ...] = (
    (wordset("grey gray silver white greying graying"), (184, 184, 188)),
    (wordset("blond blonde golden fair"), (218, 184, 112)),
    (wordset("red ginger auburn redhead"), (164, 72, 40)),
    (wordset("black raven"), (30, 28, 30)),
    (wordset("brown brunette chestnut"), (96, 62, 40)),
)
DEFAULT_HAIR: tuple[RGB, ...] = ((62, 42, 30), (34, 30, 28), (112, 80, 50))

COLOURS: dict[str, RGB] = {
    "black": (34, 34, 38), "white": (232, 232, 226), "grey": (128, 128, 132),
    "gray": (128, 128, 132), "charcoal": (58, 60, 66), "navy": (36, 48, 92),
    "blue": (52, 96, 176), "red": (178, 40, 40), "crimson": (150, 24, 40),
    "scarlet": (200, 36, 30), "yellow": (236, 196, 40), "mustard": (200, 160, 40),
    "green": (58, 128, 64), "olive": (104, 108, 52), "brown": (110, 74, 46),
    "tan": (186, 150, 104), "beige": (210, 190, 160), "cream": (236, 226, 198),
    "orange": (224, 120, 40), "pink": (228, 140, 168), "purple": (110, 60, 140),
    "violet": (130, 80, 170), "khaki": (168, 156, 110), "maroon": (110, 30, 40),
    "teal": (30, 120, 120), "tweed": (120, 104, 80), "denim": (70, 96, 140),
    "camel": (190, 150, 100), "rust": (170, 80, 40), "burgundy": (120, 30, 50),
    "silver": (190, 190, 196), "gold": (210, 170, 60), "plaid": (150, 60, 50),
    "oilskin": (196, 168, 60), "wool": (150, 130, 110), "leather": (90, 60, 40),
}
CLOTHES = wordset("coat raincoat jacket sweater jumper dress shirt blouse uniform suit "
                  "cardigan hoodie overalls oilskins oilskin parka cloak robe gown vest "
                  "tunic smock pullover anorak mac overcoat blazer")
CHILD = wordset("child kid boy girl toddler son daughter schoolboy schoolgirl little")
TEEN = wordset("teen teenage teenager adolescent youth")
OLD = wordset("old elderly aged grandmother grandfather grandma grandpa granny weathered "
              "wrinkled frail ancient retired widow widower")
NUMBERS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
           "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
           "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
           "eighty": 80, "ninety": 90}
DECADES = {"twenties": 25, "thirties": 35, "forties": 45, "fifties": 55, "sixties": 65,
           "seventies": 75, "eighties": 85, "nineties": 92}


@dataclass(frozen=True)
class Figure:
    """What a figure looks like: taken from a character's `look`, `color` and `seed`."""

    color: RGB
    """The clothes' colour: the look's, else the character's."""
    accent: RGB
    """The character's own colour when the look colours the clothes (a scarf, a band)."""
    skin: RGB
    hair: RGB
    long_hair: bool = False
    cap: bool = False
    hat: bool = False
    beard: bool = False
    stubble: bool = False
    glasses: bool = False
    bald: bool = False
    scarf: bool = False
    apron: bool = False
    age: str = "adult"
    """child, teen, adult or old."""
    width: float = 1.0
    """The build: below 1 thin, above 1 broad."""

    @property
    def height(self) -> float:
        """The figure's height relative to an adult's."""
        return {"child": 0.72, "teen": 0.93, "adult": 1.0, "old": 0.95}[self.age]

    @property
    def stoop(self) -> float:
        """How far the head and shoulders lean forward and down, in head units."""
        return 0.35 if self.age == "old" else 0.0


def parse_color(text: str) -> RGB:
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    try:
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
    except ValueError:
        return (200, 200, 200)


def age_of(look: str, words: frozenset[str]) -> str:
    """child, teen, adult or old, from an age in years, a decade or a word."""
    low = look.lower()
    years = None
    match = re.search(r"(\d+)[- ]?(?:year|yr)s?[- ]?old", low) or re.search(
        r"\baged? (\d+)", low)
    if match:
        years = int(match[1])
    else:
        for word, value in NUMBERS.items():
            if re.search(rf"\b{word}[- ](?:year|yr)s?[- ]old", low):
                years = value
        for word, value in DECADES.items():
            if word in words:
                years = value
    if years is not None:
        return "child" if years <= 12 else "teen" if years <= 17 else \
            "old" if years >= 60 else "adult"
    if not words.isdisjoint(TEEN):
        return "teen"
    if not words.isdisjoint(CHILD):
        return "child"
    if not words.isdisjoint(OLD):
        return "old"
    return "adult"


def clothes_color(look: str) -> RGB | None:
    """The colour of the first coloured clothing ("charcoal coat", "soaked navy jacket"):
    a colour word at most two words before a clothing word, in the same phrase."""
    for phrase in re.split(r"[,;.]| and | with ", look.lower()):
        words = re.findall(r"[a-z]+", phrase)
        for k, word in enumerate(words):
            if word not in CLOTHES:
                continue
            for before in reversed(words[max(0, k - 3):k]):
                if before in ("hair", "beard", "braid", "eyes"):
                    break
                if before in COLOURS:
                    return COLOURS[before]
            if word in COLOURS:  # "oilskin"
                return COLOURS[word]
    return None


def figure_of(look: str, color: str, seed: int, words: frozenset[str]) -> Figure:
    hair = DEFAULT_HAIR[seed % len(DEFAULT_HAIR)]
    for names, shade in HAIR:
        if not words.isdisjoint(names):
            hair = shade
            break
    own = parse_color(color)
    clothes = clothes_color(look)
    age = age_of(look, words)
    if age == "old" and words.isdisjoint(wordset("black brown blond blonde red ginger")):
        hair = mix(hair, (190, 190, 194), 0.7)
    feminine = not words.isdisjoint(wordset("she her woman girl lady mother grandmother "
                                            "daughter wife sister aunt"))
    return Figure(
        color=clothes or own, accent=own, skin=SKIN[(seed // 7) % len(SKIN)], hair=hair,
        long_hair=not words.isdisjoint({"braid", "braids", "ponytail", "plait", "curls",
                                        "plaits"}) or ("long" in words and "hair" in words)
        or (feminine and age != "old" and "short" not in words and seed % 2 == 0),
        cap=not words.isdisjoint({"cap", "beanie", "hood", "hooded"}),
        hat=not words.isdisjoint({"hat", "fedora", "bowler", "bonnet"}),
        beard=not words.isdisjoint({"beard", "bearded"}),
        stubble=not words.isdisjoint({"stubble", "unshaven", "stubbled", "stubbly"}),
        glasses=not words.isdisjoint({"glasses", "spectacles", "specs", "bespectacled"}),
        bald=not words.isdisjoint({"bald", "balding", "shaven"}),
        scarf=not words.isdisjoint({"scarf", "shawl", "muffler"}) or clothes is not None,
        apron=not words.isdisjoint({"apron", "pinafore", "baker", "cook", "chef"}),
        age=age,
        width=0.84 if not words.isdisjoint(wordset("gaunt thin slim skinny slender wiry "
                                                   "lanky")) else
        1.18 if not words.isdisjoint(wordset("broad stocky burly heavy heavyset stout big "
                                             "plump")) else 1.0)
