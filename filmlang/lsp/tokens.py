"""Semantic tokens: source text in, every token of the grammar with what it is, out.

The tokens are the parser's own (`grammar/film.lark` lexed with a basic lexer that keeps
comments); their kind comes from the token type and its place in the statement, read with
the schema's tables: the first name of a statement is a keyword (blocks, transitions) or a
property, a name before `:` is a speaking character, `key=` names a parameter. The TextMate
grammar (`textmate.py`) gives the same answers; tests/test_textmate.py holds them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from lark import Lark, Token

from filmlang import resources
from filmlang.semantic import schema

TOKEN_TYPES = ("keyword", "property", "class", "struct", "namespace", "variable", "parameter",
               "enumMember", "string", "number", "comment", "operator", "modifier")
TOKEN_MODIFIERS = ("declaration", "defaultLibrary")

BLOCK_KEYWORDS = tuple(sorted({p.name for c in schema.CONTEXTS.values() for p in c.props.values()
                               if p.block is not None}))
TRANSITIONS = schema.TRANSITIONS
DIRECTIVES = ("import", "include", "let")
PROPERTIES = tuple(sorted({p.name for c in schema.CONTEXTS.values() for p in c.props.values()
                           if p.block is None and p.name not in TRANSITIONS}))
KEYWORD_VALUES = tuple(sorted({
    *schema.CAMERA_MOVES, *schema.FRAMINGS, *schema.TIMES_OF_DAY, *schema.MOTIONS,
    *schema.SUBTITLES, *schema.VISUAL_BACKENDS, *schema.VOICE_BACKENDS,
    *schema.MUSIC_BACKENDS, "none"}))
DECLARES = {"character": "class", "prop": "class", "shottype": "struct", "scene": "namespace",
            "shot": "struct", "let": "variable"}


@dataclass(frozen=True)
class Classified:
    token: Token
    kind: str
    declaration: bool = False


@lru_cache(maxsize=1)
def _lexer() -> Lark:
    return Lark(resources.grammar_text(), parser="lalr", lexer="basic")


def lex(text: str) -> list[Token]:
    """The grammar's tokens, comments included, whitespace left out."""
    return [t for t in _lexer().lex(text, dont_ignore=True) if t.type != "WS"]


LITERALS = {"STRING": "string", "LONG_STRING": "string", "NUMBER": "number",
            "DURATION": "number", "SIZE": "number", "PARENTHETICAL": "modifier",
            "EQUAL": "operator", "COLON": "operator"}
"""Tokens whose kind is their type's, wherever they are."""
STATEMENT_ENDS = ("_SEP", "NEWLINE", "SEMICOLON", "LBRACE", "RBRACE")


def classify(text: str) -> Iterator[Classified]:
    toks = lex(text)
    statement_start = True
    head: str | None = None
    names_after_head = 0
    brackets = 0
    for i, tok in enumerate(toks):
        kind = tok.type
        if kind in ("LSQB", "RSQB"):
            brackets = max(0, brackets + (1 if kind == "LSQB" else -1))
            continue
        if kind == "_SEP" and brackets and tok.value != ";":
            continue  # newlines inside [...] do not end the statement (as in the parser)
        if kind in STATEMENT_ENDS:
            statement_start, head, names_after_head = True, None, 0
            continue
        if kind == "COMMENT":
            yield Classified(tok, "comment")
            continue
        if kind in LITERALS:
            yield Classified(tok, LITERALS[kind])
        elif kind in ("IMPORT", "INCLUDE", "LET"):
            yield Classified(tok, "keyword")
            head = tok.value
        elif kind == "NAME":
            nxt = toks[i + 1].type if i + 1 < len(toks) else ""
            yield _name(tok, nxt, statement_start, head, names_after_head)
            if statement_start:
                head = tok.value
            else:
                names_after_head += 1
        statement_start = False


def _name(tok: Token, nxt: str, statement_start: bool, head: str | None,
          names_after_head: int) -> Classified:
    """A name by its place: a statement's first name (a speaking character, a keyword or a
    property), the name a declaration declares, a parameter, a keyword value, a variable."""
    value = tok.value
    if statement_start:
        if nxt in ("COLON", "PARENTHETICAL"):
            return Classified(tok, "class")
        if value in BLOCK_KEYWORDS or value in TRANSITIONS:
            return Classified(tok, "keyword")
        return Classified(tok, "property")
    if head in DECLARES and names_after_head == 0:
        return Classified(tok, DECLARES[head], declaration=head != "shot")
    if nxt == "EQUAL":
        return Classified(tok, "parameter")
    if value in KEYWORD_VALUES:
        return Classified(tok, "enumMember")
    return Classified(tok, "variable")


def encode(text: str) -> list[int]:
    """The LSP encoding: five integers a token, positions relative to the previous one."""
    data: list[int] = []
    last_line, last_col = 0, 0
    types = {name: i for i, name in enumerate(TOKEN_TYPES)}
    for item in classify(text):
        tok = item.token
        line = (tok.line or 1) - 1
        col = (tok.column or 1) - 1
        modifiers = 1 if item.declaration else 0
        for k, part in enumerate(tok.value.split("\n")):
            if k:
                line, col = line + 1, 0
            if not part:
                continue
            length = len(part.encode("utf-16-le")) // 2
            prefix = text_prefix_units(text, tok, k, col)
            delta_line = line - last_line
            delta_col = prefix - last_col if delta_line == 0 else prefix
            data += [delta_line, delta_col, length, types[item.kind], modifiers]
            last_line, last_col = line, prefix
    return data


def text_prefix_units(text: str, tok: Token, part: int, col: int) -> int:
    """The UTF-16 column of a token (part) that starts `col` code points into its line."""
    if part or col == 0:
        return col
    start = (tok.start_pos or 0) - col
    prefix = text[start:tok.start_pos or 0]
    return col if prefix.isascii() else len(prefix.encode("utf-16-le")) // 2
