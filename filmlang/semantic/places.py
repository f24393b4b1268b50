"""Places: the kind of place a scene's heading and setting name, for the animatic to paint.

`"INT. BAKERY - DAWN"` is a bakery, `setting "the ferry's wheelhouse"` a wheelhouse. The
heading's words are read first, then the setting's; the first word of the table that either
names wins, in the table's order (so "lighthouse" beats "cliff", "wheelhouse" beats "sea").
A heading or setting that names no place of the table gives an empty kind, and the
animatic paints a plain room or landscape by INT/EXT; the checker hints at it.
"""

from __future__ import annotations

import re

PLACES: dict[str, tuple[bool, tuple[str, ...]]] = {
    # kind: (interior, the words that name it)
    "wheelhouse": (True, ("wheelhouse", "bridge", "cockpit", "cabin_boat")),
    "car": (True, ("car", "taxi", "cab", "van", "truck", "bus")),
    "lighthouse": (False, ("lighthouse", "lamp room", "lantern room")),
    "deck": (False, ("deck", "ferry", "boat", "ship", "trawler", "yacht")),
    "bakery": (True, ("bakery", "bakehouse", "patisserie", "boulangerie")),
    "kitchen": (True, ("kitchen", "scullery", "galley")),
    "bedroom": (True, ("bedroom", "dormitory", "nursery", "hotel room")),
    "living_room": (True, ("living room", "lounge", "sitting room", "parlour", "parlor",
                           "den", "apartment", "flat", "house", "home", "cottage", "cabin")),
    "bar": (True, ("bar", "pub", "tavern", "saloon", "inn", "club")),
    "cafe": (True, ("cafe", "café", "coffee shop", "diner", "restaurant", "canteen",
                    "tearoom")),
    "shop": (True, ("shop", "store", "boutique", "grocer", "grocery", "pharmacy",
                    "bookshop", "bookstore")),
    "office": (True, ("office", "study", "bank", "police station", "newsroom", "studio")),
    "classroom": (True, ("classroom", "school", "lecture", "library")),
    "hospital": (True, ("hospital", "ward", "clinic", "infirmary")),
    "church": (True, ("church", "chapel", "cathedral", "temple", "abbey")),
    "station": (False, ("station", "platform", "railway", "train", "subway", "metro")),
    "harbour": (False, ("harbour", "harbor", "port", "pier", "dock", "docks", "quay",
                        "jetty", "marina", "wharf")),
    "beach": (False, ("beach", "shore", "coast", "seaside", "sand", "dunes", "cove", "sea",
                      "ocean", "cliff", "cliffs")),
    "market": (False, ("market", "square", "plaza", "bazaar", "fair")),
    "rooftop": (False, ("rooftop", "roof", "rooftops", "terrace")),
    "skyline": (False, ("city", "skyline", "downtown", "town")),
    "street": (False, ("street", "road", "avenue", "alley", "lane", "crossing", "highway",
                       "village", "bridge_road")),
    "garden": (False, ("garden", "yard", "backyard", "orchard", "park", "courtyard")),
    "forest": (False, ("forest", "woods", "wood", "jungle", "grove", "trees")),
    "mountain": (False, ("mountain", "mountains", "peak", "hills", "hill", "valley",
                         "ridge", "glacier")),
    "field": (False, ("field", "fields", "meadow", "farm", "countryside", "prairie",
                      "pasture", "moor", "desert")),
}


def _words(text: str) -> str:
    return f" {' '.join(re.findall(r'[a-zé]+', text.lower()))} "


def _names(low: str, words: tuple[str, ...]) -> bool:
    """Whether the words of a text (`_words`) name one of `words`."""
    return any(f" {w} " in low for w in words)


_KNOWN: dict[tuple[str, bool | None], str] = {}
"""Short texts already read, each on its own (the language server reads every scene's
heading and setting at each edit: when the let that settings read changes, the headings'
places are known still)."""


def place_of(heading_location: str, setting: str, interior: bool | None = None) -> str:
    """The kind of place named by the heading's location, else the setting; "" if none.
    When the heading says INT. or EXT., only places indoors or outdoors count."""
    return _place_in(heading_location, interior) or _place_in(setting, interior)


def _place_in(text: str, interior: bool | None) -> str:
    """The first kind of place (indoors or out, as asked) that `text` names; "" if none."""
    key = (text, interior)
    found = _KNOWN.get(key)
    if found is None:
        low = _words(text)
        found = next((kind for kind, (inside, words) in PLACES.items()
                      if (interior is None or inside == interior) and _names(low, words)), "")
        if len(text) <= 400:
            if len(_KNOWN) >= 4096:
                _KNOWN.clear()
            _KNOWN[key] = found
    return found


def interior_of(kind: str) -> bool | None:
    """Whether a kind of place is indoors (None for an unknown kind)."""
    entry = PLACES.get(kind)
    return entry[0] if entry is not None else None


KNOWN_PLACES = ", ".join(k.replace("_", " ") for k in PLACES)
