"""The parser: `SourceFile` in, `ast.Module` and parse diagnostics out.

Lark's LALR parser builds the AST directly through an inline transformer, so no parse
tree is made. A post-lexer drops newlines inside `[...]` and keeps the stack of open
braces for messages about a missing `}`. A parse error does not end the parse: the
offending statement is blanked out (braces kept, so nesting survives) and the file is
parsed again, so one run reports every broken line, up to a limit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from filmlang import resources
from filmlang.diagnostics import Diagnostic, error
from filmlang.source import SourceFile, Span, gc_paused, make_span, trusted
from filmlang.syntax import ast
from filmlang.syntax.chunks import chunks, move_spans
from filmlang.syntax.strings import StringError, decode_long_string, decode_string

MAX_PARSE_ERRORS = 25
MAX_NESTING = 32
"""Blocks and lists nest at most this deep, together (a film needs 3: scene, shot, list)."""
MAX_TOKENS = 300_000
"""A file holds at most this many tokens (words, values, punctuation and line ends): a
feature film is some 25,000, a 2 MB film of shots and dialogue 220,000. It bounds the memory
of a syntax tree (about 1 kB a token at most) whatever the file is made of."""

# What each terminal is called when telling a writer what was expected.
TOKEN_WORDS: dict[str, str] = {
    "NAME": "a name",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "NUMBER": "a number",
    "DURATION": "a duration like 4s",
    "SIZE": "a size like 1280x720",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "PARENTHETICAL": "a parenthetical like (whispering)",
    "_SEP": "end of line",
    "NEWLINE": "end of line",
    "SEMICOLON": "';'",
    "IMPORT": "'import'",
    "INCLUDE": "'include'",
    "LET": "'let'",
    "$END": "end of file",
}

# The order in which expected things are listed: the likely ones first.
_WORD_ORDER = [
    "a string", "a name", "a number", "a duration like 4s", "a size like 1280x720", "'='",
    "':'", "'{'", "'}'", "'['", "']'", "','", "a parenthetical like (whispering)",
    "end of line", "end of file",
]


def describe_token(token: Token) -> str:
    kind = token.type
    if kind == "$END":
        return "end of file"
    if kind in ("_SEP", "NEWLINE") or (kind == "SEMICOLON"):
        return "end of line" if "\n" in token.value else "';'"
    if kind in ("STRING", "LONG_STRING"):
        return "string"
    if kind == "NAME":
        return f"name '{token.value}'"
    if kind in ("NUMBER", "DURATION", "SIZE"):
        return f"'{token.value}'"
    return f"'{token.value}'"


def expected_words(expected: set[str] | frozenset[str]) -> str:
    words = {TOKEN_WORDS.get(name, name.lower()) for name in expected}
    if "a name" in words and "'import'" in words:
        words -= {"'import'", "'include'", "'let'"}
    ordered = sorted(words, key=lambda w: (_WORD_ORDER.index(w) if w in _WORD_ORDER else 99, w))
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]


class _Builder(Transformer[Token, Any]):
    """Builds AST nodes as the LALR parser reduces; `source` is set for each parse."""

    source: SourceFile

    def _span(self, first: Token | ast.Node | Span, last: Token | ast.Node | Span) -> Span:
        a = self._tok(first) if isinstance(first, Token) else _as_span(first)
        b = self._tok(last) if isinstance(last, Token) else _as_span(last)
        return make_span(a.file, a.line, a.column, b.end_line, b.end_column, a.start, b.end)

    def _tok(self, token: Token) -> Span:
        # Lark's tokens know their lines and columns: no offset lookups needed.
        return make_span(self.source.name, token.line or 1, token.column or 1,
                         token.end_line or 1, token.end_column or 1, token.start_pos or 0,
                         token.end_pos or 0)

    # values
    def string(self, children: list[Token]) -> ast.StringValue:
        token = children[0]
        try:
            if token.type == "LONG_STRING":
                value = decode_long_string(token.value)
            else:
                value = decode_string(token.value)
        except StringError as exc:
            start = (token.start_pos or 0) + exc.offset
            raise _StringProblem(self.source.span(start, start + exc.length), exc.message) from None
        return trusted(ast.StringValue, span=self._tok(token), value=value, raw=token.value)

    def number(self, children: list[Token]) -> ast.NumberValue:
        token = children[0]
        return trusted(ast.NumberValue, span=self._tok(token), value=float(token.value),
                       raw=token.value)

    def duration(self, children: list[Token]) -> ast.DurationValue:
        token = children[0]
        text = token.value
        if text.endswith("ms"):
            seconds = float(text[:-2]) / 1000.0
        elif text.endswith("s"):
            seconds = float(text[:-1])
        else:
            seconds = float(text[:-1]) * 60.0
        return trusted(ast.DurationValue, span=self._tok(token), seconds=seconds, raw=text)

    def size(self, children: list[Token]) -> ast.SizeValue:
        token = children[0]
        width, height = token.value.split("x")
        return trusted(ast.SizeValue, span=self._tok(token), width=_side(width),
                       height=_side(height), raw=token.value)

    def name(self, children: list[Token]) -> ast.NameValue:
        token = children[0]
        return trusted(ast.NameValue, span=self._tok(token), name=token.value)

    def value_list(self, children: list[Any]) -> ast.ListValue:
        items = tuple(c for c in children[1:-1] if c is not None)
        return trusted(ast.ListValue, span=self._span(children[0], children[-1]), items=items)

    # statements
    def kwarg(self, children: list[Any]) -> ast.KwArg:
        name, value = children
        return trusted(ast.KwArg, span=self._span(name, value), name=name.value,
                       name_span=self._tok(name), value=value)

    def property(self, children: list[Any]) -> ast.Property:
        name = children[0]
        args = tuple(c for c in children[1:] if not isinstance(c, ast.KwArg))
        kwargs = tuple(c for c in children[1:] if isinstance(c, ast.KwArg))
        return trusted(ast.Property, span=self._span(name, children[-1]), name=name.value,
                            name_span=self._tok(name), args=args, kwargs=kwargs)

    def block(self, children: list[Any]) -> ast.Block:
        name = children[0]
        brace = next(i for i, c in enumerate(children) if isinstance(c, Token)
                     and c.type == "LBRACE")
        head = children[1:brace]
        close = children[-1]
        return trusted(ast.Block,
            span=self._span(name, close),
            name=name.value,
            name_span=self._tok(name),
            args=tuple(c for c in head if not isinstance(c, ast.KwArg)),
            kwargs=tuple(c for c in head if isinstance(c, ast.KwArg)),
            body=tuple(children[brace + 1:-1]),
            close_span=self._tok(close),
        )

    def dialogue(self, children: list[Any]) -> ast.Dialogue:
        speaker = children[0]
        text: ast.StringValue = children[-1]
        paren = children[1] if len(children) == 3 else None
        return trusted(ast.Dialogue,
            span=self._span(speaker, text),
            speaker=speaker.value,
            speaker_span=self._tok(speaker),
            parenthetical=" ".join(paren.value[1:-1].split()) if paren is not None else None,
            parenthetical_span=self._tok(paren) if paren is not None else None,
            text=text,
        )

    def import_(self, children: list[Any]) -> ast.Import:
        return trusted(ast.Import, span=self._span(children[0], children[1]), path=children[1])

    def include(self, children: list[Any]) -> ast.Include:
        return trusted(ast.Include, span=self._span(children[0], children[1]), path=children[1])

    def let(self, children: list[Any]) -> ast.Let:
        keyword, name, value = children
        return trusted(ast.Let, span=self._span(keyword, value), name=name.value,
                       name_span=self._tok(name), value=value)

    def start(self, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)


def _side(digits: str) -> int:
    # Python refuses to convert more than 4300 digits; any side past 9 digits is far out of
    # range anyway, and the checker says so with the digits as written.
    return int(digits) if len(digits) <= 9 else 10**9


def _as_span(item: ast.Node | Span) -> Span:
    return item if isinstance(item, Span) else item.span


class _StringProblem(Exception):
    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message


class _PostLex:
    """Drops newlines inside brackets and remembers the open braces."""

    always_accept = ("_SEP",)

    def __init__(self) -> None:
        self.braces: list[Token] = []
        self.brackets: list[Token] = []
        self.limit = MAX_TOKENS
        """Tokens this parse may take (less than MAX_TOKENS for a later chunk of a file)."""
        self.count = 0

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.braces = []
        self.brackets = []
        self.count = 0
        for token in stream:
            if self.count >= self.limit:
                raise _TooBig(token)
            self.count += 1
            kind = token.type
            depth = len(self.brackets)
            if kind == "LSQB":
                self.brackets.append(token)
                self._check_depth(token)
            elif kind == "RSQB":
                if self.brackets:
                    self.brackets.pop()
            elif kind == "LBRACE":
                self.braces.append(token)
                self._check_depth(token)
            elif kind == "RBRACE":
                if self.braces:
                    self.braces.pop()
            elif kind == "_SEP" and depth and token.value != ";":
                continue
            yield token


    def _check_depth(self, token: Token) -> None:
        # Checked as the tokens come, so that nothing after (the tree, the checker, the
        # formatter, the language server) ever meets a tree deeper than this.
        if len(self.braces) + len(self.brackets) > MAX_NESTING:
            raise _TooDeep(token)


class _TooBig(Exception):
    def __init__(self, token: Token) -> None:
        super().__init__("too many tokens")
        self.token = token


class _TooDeep(Exception):
    def __init__(self, token: Token) -> None:
        super().__init__("nested too deeply")
        self.token = token


class _Parser:
    def __init__(self) -> None:
        self.builder = _Builder()
        self.postlex = _PostLex()
        self.comments: list[Token] = []
        self.lock = threading.Lock()
        self.lark = Lark(
            resources.grammar_text(),
            parser="lalr",
            lexer="contextual",
            transformer=self.builder,
            postlex=self.postlex,
            maybe_placeholders=True,
            lexer_callbacks={"COMMENT": self.comments.append},
            cache=resources.lark_cache_path(),
        )


@lru_cache(maxsize=1)
def _parser() -> _Parser:
    return _Parser()


def parse(source: SourceFile) -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one file. With errors, the module holds what could be parsed."""
    with gc_paused():
        return _parse(source)


def _parse(source: SourceFile) -> tuple[ast.Module, list[Diagnostic]]:
    parser = _parser()
    text = source.text
    if not text.endswith("\n"):
        text += "\n"
    with parser.lock:
        whole = _parse_whole(parser, source, text, MAX_TOKENS, chunkable=True)
        if whole is None:
            chunked = _parse_chunked(parser, source, text)
            if chunked is not None:
                return chunked
            whole = _parse_whole(parser, source, text, MAX_TOKENS, chunkable=False)
            assert whole is not None
        return whole.module, whole.diagnostics


@dataclass
class _Parsed:
    module: ast.Module
    diagnostics: list[Diagnostic]
    gave_up: bool
    """The module is empty because the parse stopped (not because the file is)."""
    tokens: int


def _parse_whole(parser: _Parser, source: SourceFile, text: str, limit: int, *,
                 chunkable: bool) -> _Parsed | None:
    """Parse `text`; after an error, blank the broken line and parse again, up to a limit.

    With `chunkable`, the first error that can be recovered from returns None instead, for
    `_parse_chunked` to parse the file again top-level block by block (each parse again is
    then of a block, not of the file: a 2 MB file with 25 errors took 18 s)."""
    diagnostics: list[Diagnostic] = []
    seen: set[int] = set()
    parser.builder.source = source
    parser.postlex.limit = limit

    def stop() -> _Parsed:
        return _Parsed(ast.Module(file=source.name, body=()), diagnostics, True, 0)

    while True:
        parser.comments.clear()
        try:
            body = parser.lark.parse(text)
        except UnexpectedInput as exc:
            diagnostic, blank = _diagnose(source, text, exc, parser.postlex)
            if chunkable and blank is not None:
                return None
            diagnostics.append(diagnostic)
            if blank is None or blank[0] in seen or len(diagnostics) >= MAX_PARSE_ERRORS:
                return stop()
            seen.add(blank[0])
            text = _blank(text, *blank)
            continue
        except _TooDeep as exc:
            token = exc.token
            what = "list" if token.type == "LSQB" else "block"
            diagnostics.append(error(
                "E0007", f"this {what} is nested too deeply", source.span(
                    token.start_pos or 0, token.end_pos or 0), label=f"level {MAX_NESTING + 1}",
                help=f"blocks and lists nest at most {MAX_NESTING} deep; a film needs "
                     "three levels: a scene, its shots, a list"))
            return stop()
        except _TooBig as exc:
            at = exc.token.start_pos or 0
            diagnostics.append(error(
                "E0008", f"this file has more than {MAX_TOKENS:,} tokens",
                source.span(at, at), label="the limit is reached here",
                help=f"a file holds at most {MAX_TOKENS:,} words, values and punctuation "
                     "(a feature film is some 25,000): split it into files joined with "
                     "include"))
            return stop()
        except _StringProblem as exc:
            if chunkable:
                return None
            diagnostics.append(error("E0004", exc.message, exc.span,
                                     help="the escapes are \\\" \\\\ \\n and \\t"))
            start = exc.span.start
            if start in seen or len(diagnostics) >= MAX_PARSE_ERRORS:
                return stop()
            seen.add(start)
            text = text[:start] + " " + text[start + 1:]
            continue
        comments = tuple(
            trusted(ast.Comment, span=source.span(c.start_pos or 0, c.end_pos or 0),
                    text=c.value)
            for c in parser.comments
        )
        # After errors, `body` is the file with its broken lines blanked: what the
        # language server's outline, hover and navigation use while a line is half typed.
        module = trusted(ast.Module, file=source.name, body=body, comments=comments)
        return _Parsed(module, diagnostics, False, parser.postlex.count)


def _parse_chunked(parser: _Parser, source: SourceFile, text: str
                   ) -> tuple[ast.Module, list[Diagnostic]] | None:
    """The file parsed top-level block by block, each with `_parse_whole`'s recovery: the
    same tree and diagnostics as the whole file's, or None where that is not certain (the
    cut is unsure, or a block's parse stopped: an unclosed string or list may reach into the
    next block)."""
    cuts = chunks(text)
    if cuts is None or len(cuts) < 2:
        return None
    body: list[ast.Statement] = []
    comments: list[ast.Comment] = []
    diagnostics: list[Diagnostic] = []
    used = 0
    line = 1
    for start, end in cuts:
        piece = text[start:end]
        # A line end that opens a block is one token with the line end before it.
        merged = 1 if start and piece.startswith(("\n", "\r\n")) else 0
        part = SourceFile(path=source.path, name=source.name, text=piece, is_std=source.is_std)
        parsed = _parse_whole(parser, part, piece, MAX_TOKENS - used + merged, chunkable=False)
        assert parsed is not None
        move_spans((parsed.module, parsed.diagnostics), start, line - 1)
        diagnostics.extend(parsed.diagnostics)
        if len(diagnostics) >= MAX_PARSE_ERRORS:
            return ast.Module(file=source.name, body=()), diagnostics[:MAX_PARSE_ERRORS]
        if parsed.gave_up:
            if parsed.diagnostics and parsed.diagnostics[-1].code == "E0008":
                return ast.Module(file=source.name, body=()), diagnostics
            return None
        body.extend(parsed.module.body)
        comments.extend(parsed.module.comments)
        used += parsed.tokens - merged
        line += piece.count("\n")
    parser.builder.source = source
    return trusted(ast.Module, file=source.name, body=tuple(body),
                   comments=tuple(comments)), diagnostics


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, len(text) if end == -1 else end


def _blank(text: str, start: int, end: int) -> str:
    """Blank text[start:end], keeping newlines and braces so lines and nesting survive."""
    chunk = text[start:end]
    kept = "".join(ch if ch in "\n{}" else " " for ch in chunk)
    if "{" in kept:
        # `_ {` is a valid block header, so the block's body still parses.
        first = kept.index("{")
        kept = kept[:max(0, first - 2)] + "_ " + kept[first:] if first >= 2 else "_ " + kept[2:]
    return text[:start] + kept + text[end:]


def _diagnose(source: SourceFile, text: str, exc: UnexpectedInput,
              postlex: _PostLex) -> tuple[Diagnostic, tuple[int, int] | None]:
    """A writer's message for a Lark error, and the range to blank before parsing on."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        line_start, line_end = _line_bounds(text, pos)
        char = text[pos]
        if char == '"':
            if text.startswith('"""', pos) or text.startswith('"""', max(0, pos - 2)):
                pos = pos if text.startswith('"""', pos) else pos - 2
                span = source.span(pos, pos + 3)
                return error("E0003", "this string is never closed", span,
                             label="string starts here",
                             help='close it with """'), None
            span = source.span(pos, line_end)
            return error("E0003", "this string is not closed on its line", span,
                         label="string starts here",
                         help='add the closing " at the end of the line, or use """ for text '
                              'over several lines'), (line_start, line_end)
        word_end = pos
        while word_end < line_end and (text[word_end].isalnum() or text[word_end] in "._-"):
            word_end += 1
        word = text[pos:word_end]
        if word and (word[0].isdigit() or word[0] in "-."):
            span = source.span(pos, word_end)
            return error("E0205", f"'{word}' is not a value filmlang knows", span,
                         label="not a number, duration or size",
                         help="write durations like 4s, 500ms or 2m, sizes like 1280x720, "
                              "numbers like 42 or 0.5"), (line_start, line_end)
        span = source.span(pos, pos + 1)
        shown = char if char.isprintable() else repr(char)
        return error("E0001", f"unexpected character '{shown}'", span,
                     help="text belongs in double quotes; comments start with #"), (
                         line_start, line_end)
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        token: Token = exc.token if isinstance(exc, UnexpectedToken) else Token("$END", "")
        expected = set(exc.expected) if isinstance(exc, UnexpectedToken) else set()
        if isinstance(exc, UnexpectedToken):
            expected = set(exc.accepts or exc.expected)
        braces = postlex.braces
        if token.type == "$END":
            if postlex.brackets:
                bracket = postlex.brackets[-1]
                span = source.span(bracket.start_pos or 0, bracket.end_pos or 0)
                return error("E0005", "this '[' is never closed", span, label="opened here",
                             help="close the list with ']'"), None
            if braces:
                brace = braces[-1]
                span = source.span(brace.start_pos or 0, brace.end_pos or 0)
                return error("E0005", "this '{' is never closed", span,
                             label="opened here",
                             help="add a '}' on a line of its own where the block ends"), None
            end = len(source.text)
            return error("E0005", f"unexpected end of file; expected {expected_words(expected)}",
                         source.span(end, end)), None
        pos = token.start_pos or 0
        span = source.span(pos, token.end_pos or pos)
        if token.type == "_SEP" and "\n" in token.value:
            span = source.span(pos, pos)
        line_start, line_end = _line_bounds(text, pos)
        found = describe_token(token)
        message = f"unexpected {found}; expected {expected_words(expected)}"
        help = _parse_help(token, expected, text[line_start:line_end])
        if token.type == "RBRACE" and "RBRACE" not in expected:
            return error("E0002", "unexpected '}': no block is open here", span,
                         help="remove it, or check the '{' of the block above"), (
                             pos, pos + 1)
        return error("E0002", message, span, help=help), (line_start, line_end)
    return error("E0002", str(exc).splitlines()[0], source.span(0, 0)), None


def _parse_help(token: Token, expected: set[str], line: str) -> str:
    if expected <= {"STRING", "LONG_STRING"} and token.type == "NAME":
        return f'put the text in double quotes: "{token.value} ..."'
    if expected <= {"STRING", "LONG_STRING"}:
        return 'text is written in double quotes, like "Hello."'
    if "EQUAL" in expected and token.type != "EQUAL":
        return "a let is written: let NAME = value"
    if token.type == "LBRACE":
        return "a block's '{' ends its first line; the block's statements go on the lines after"
    if token.type == "COLON":
        return 'dialogue is written NAME: "line" or NAME (whispering): "line"'
    if token.type == "EQUAL":
        return "a keyword argument is written key=value, after a name"
    if ";" in line or token.type in ("NAME", "STRING", "NUMBER"):
        return "each statement goes on its own line (or after a ';')"
    return ""
