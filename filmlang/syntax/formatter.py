"""`filmc fmt`: a parsed module and its source in, the canonical text out.

The canonical layout: one statement a line, 4 spaces of indent per block, `{` at the end
of the block's first line and `}` on a line of its own, at most one blank line in a row
and none just inside braces. Values are written back exactly as they were typed. Every
comment stays where it was: a comment on a line of its own stays before the statement
that followed it, a comment at the end of a line stays at the end of that statement's
line. Formatting formatted text changes nothing.
"""

from __future__ import annotations

from filmlang.source import SourceFile
from filmlang.syntax import ast

INDENT = "    "


def format_module(module: ast.Module, source: SourceFile) -> str:
    writer = _Writer(module, source)
    writer.body(module.body, 0, len(source.text) + 1)
    text = "\n".join(writer.lines).rstrip("\n")
    return text + "\n" if text else ""


def value_text(value: ast.Value) -> str:
    if isinstance(value, ast.ListValue):
        return "[" + ", ".join(value_text(item) for item in value.items) + "]"
    return value.raw


def head_text(statement: ast.Property | ast.Block) -> str:
    parts = [statement.name]
    parts.extend(value_text(v) for v in statement.args)
    parts.extend(f"{kw.name}={value_text(kw.value)}" for kw in statement.kwargs)
    return " ".join(parts)


def statement_text(statement: ast.Statement) -> str:
    """One simple statement on one line (blocks: their first line without the `{`)."""
    if isinstance(statement, ast.Property | ast.Block):
        return head_text(statement)
    if isinstance(statement, ast.Dialogue):
        paren = f" ({statement.parenthetical})" if statement.parenthetical is not None else ""
        return f"{statement.speaker}{paren}: {statement.text.raw}"
    if isinstance(statement, ast.Import | ast.Include):
        return f"{statement.kind} {statement.path.raw}"
    return f"let {statement.name} = {value_text(statement.value)}"


class _Writer:
    def __init__(self, module: ast.Module, source: SourceFile) -> None:
        self.source = source
        self.comments = list(module.comments)
        self.next_comment = 0
        self.lines: list[str] = []
        self.last_line = 0
        """The source line of the last thing written; 0 at the start of a body."""

    # comments -------------------------------------------------------------

    def flush(self, before: int, indent: int) -> None:
        """Write, on lines of their own, the comments that come before `before`."""
        while self.next_comment < len(self.comments):
            comment = self.comments[self.next_comment]
            if comment.span.start >= before:
                return
            self.next_comment += 1
            self.blank_before(comment.span.line)
            self.lines.append(INDENT * indent + comment.text.rstrip())
            self.last_line = comment.span.line

    def trailing(self, line: int, after: int, before: int) -> str:
        """The comments on `line` between two offsets, as text for the end of a line."""
        out = []
        while self.next_comment < len(self.comments):
            comment = self.comments[self.next_comment]
            span = comment.span
            if span.line != line or span.start < after or span.start >= before:
                break
            out.append(comment.text.rstrip())
            self.next_comment += 1
        return ("  " + " ".join(out)) if out else ""

    def blank_before(self, line: int) -> None:
        if self.last_line == 0 or line <= self.last_line + 1:
            return
        if any(not self.source.line_text(k).strip() for k in range(self.last_line + 1, line)):
            self.lines.append("")

    # statements -----------------------------------------------------------

    def body(self, statements: tuple[ast.Statement, ...], indent: int, end: int) -> None:
        for index, statement in enumerate(statements):
            after = statements[index + 1].span.start if index + 1 < len(statements) else end
            self.flush(statement.span.start, indent)
            if isinstance(statement, ast.Block):
                self.block(statement, indent, after)
            else:
                self.flush(statement.span.end, indent)
                self.blank_before(statement.span.line)
                text = INDENT * indent + statement_text(statement)
                line = statement.span.end_line
                self.lines.append(text + self.trailing(line, statement.span.end, after))
                self.last_line = line
        self.flush(end, indent)

    def block(self, block: ast.Block, indent: int, after: int) -> None:
        brace = self.source.text.find("{", _head_end(block))
        self.flush(brace, indent)
        self.blank_before(block.span.line)
        first = block.body[0].span.start if block.body else block.close_span.start
        brace_line = self.source.position(brace)[0]
        header = INDENT * indent + head_text(block) + " {"
        self.lines.append(header + self.trailing(brace_line, brace, first))
        self.last_line = 0  # no blank line just inside the brace
        self.body(block.body, indent + 1, block.close_span.start)
        close_line = block.close_span.line
        self.lines.append(INDENT * indent + "}" + self.trailing(close_line, block.close_span.end,
                                                               after))
        self.last_line = close_line


def _head_end(block: ast.Block) -> int:
    ends = [block.name_span.end]
    ends.extend(v.span.end for v in block.args)
    ends.extend(kw.span.end for kw in block.kwargs)
    return max(ends)
