"""String literals: raw token text in, the string's value out (spec section 2)."""

from __future__ import annotations

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class StringError(Exception):
    """An escape the language does not have, at `offset` into the token."""

    def __init__(self, message: str, offset: int, length: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.length = length


def _unescape(body: str, base: int) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise StringError(f"unknown escape '\\{nxt}' in a string", base + i, 2)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def decode_string(raw: str) -> str:
    """`"..."` with the escapes \\" \\\\ \\n \\t."""
    return _unescape(raw[1:-1], 1)


def decode_long_string(raw: str) -> str:
    """`\"\"\"...\"\"\"`: may span lines; indentation common to its lines is removed.

    A first line break right after the opening quotes and the last line's indentation
    before the closing quotes are not part of the text, as in most languages.
    """
    body = _unescape(raw[3:-3], 3)
    if body.startswith("\r\n"):
        body = body[2:]
    elif body.startswith("\n"):
        body = body[1:]
    lines = body.split("\n")
    if len(lines) > 1 and lines[-1].strip() == "":
        lines[-1] = ""
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    text = "\n".join(line[cut:] if line.strip() else "" for line in lines)
    return text.rstrip("\n") if text.endswith("\n") and lines[-1] == "" else text
