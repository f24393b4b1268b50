"""The language server of filmlang (`filmc lsp`), its incremental parsing, and the
TextMate grammar generator. pygls is imported only when the server starts.

`server` (the pygls server and its handlers), `convert` (spans to LSP ranges, URIs to
paths, diagnostics), `analysis` (a checked document's names, occurrences and blocks),
`incremental` (re-parsing only changed top-level blocks), `memo` (what is remembered between
checks), `complete` (schema-driven completion), `hover` (hover text, with timing from the
build cache), `actions` (code actions: the diagnostics' quick fixes, declare a character,
extract to let), `commands` (the commands it runs for an editor: explain the last build),
`tokens` (semantic tokens), `textmate` (the editors' TextMate grammar, generated from the
grammar's tokens)."""

from __future__ import annotations

import sys


def serve() -> None:
    """Run the server on stdio; a clear message, not a traceback, when pygls is missing."""
    try:
        from filmlang.lsp.server import start
    except ImportError as exc:
        if exc.name not in ("pygls", "lsprotocol") and "pygls" not in str(exc):
            raise
        print("error: filmc lsp needs the pygls package (2.x), which is not installed\n"
              "  = help: pip install 'pygls>=2,<3'", file=sys.stderr)
        sys.exit(2)
    start()
