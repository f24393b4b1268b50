"""`filmc`: the command line. A thin layer over `filmlang.api`.

Imports stay inside the commands so that `filmc --help` starts at once.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
import tempfile
from pathlib import Path

import click

from filmlang import __version__

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_FAILURE = 2


def _color_report(text: str) -> str:
    """Colour the severity words of a report when writing to a terminal."""
    out = []
    for line in text.splitlines():
        for word, color in ((": error:", "red"), (": warning:", "yellow")):
            if word in line and not line.startswith(" "):
                head, tail = line.split(word, 1)
                line = head + click.style(word, fg=color, bold=True) + click.style(tail, bold=True)
                break
        if line.lstrip().startswith("= help:"):
            line = line.replace("= help:", click.style("= help:", fg="cyan"), 1)
        out.append(line)
    return "\n".join(out)


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["check", "fmt", "ir"]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="filmc")
def main() -> None:
    """filmc: compile .film sources into films.

    \b
    filmc check movie.film     parse and check; print diagnostics
    filmc fmt movie.film       rewrite in the canonical layout
    filmc ir movie.film        the checked film as JSON
    """


_FILE = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
_ALLOW_OUTSIDE = click.option(
    "--allow-outside", is_flag=True,
    help="Allow imports and includes outside the film's folder.")


@main.command()
@_FILE
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print diagnostics.")
@_ALLOW_OUTSIDE
def check(file: Path, fmt: str, allow_outside: bool) -> None:
    """Parse and check FILE and everything it imports. Exit 1 on errors."""
    from filmlang.api import check_file

    result = check_file(file, allow_outside=allow_outside)
    if fmt == "json":
        if result.diagnostics:
            click.echo(result.report_json())
    elif result.diagnostics:
        click.echo(_color_report(result.report()), err=not result.ok)
    if not result.ok:
        sys.exit(EXIT_ERRORS)
    if fmt == "text":
        film = result.film
        assert film is not None
        shots = sum(len(s.shots) for s in film.scenes)
        lines = sum(len(shot.lines) for s in film.scenes for shot in s.shots)
        click.echo(f"{file}: ok: \"{film.title}\", {len(film.scenes)} scene"
                   f"{'s' if len(film.scenes) != 1 else ''}, {shots} shot"
                   f"{'s' if shots != 1 else ''}, {lines} line{'s' if lines != 1 else ''}")


@main.command(name="ir")
@_FILE
@_ALLOW_OUTSIDE
def ir_command(file: Path, allow_outside: bool) -> None:
    """Print the checked film of FILE as JSON."""
    from filmlang.api import check_file, ir_json

    result = check_file(file, allow_outside=allow_outside)
    if not result.ok or result.film is None:
        click.echo(_color_report(result.report()), err=True)
        sys.exit(EXIT_ERRORS)
    if result.diagnostics:
        click.echo(_color_report(result.report()), err=True)
    click.echo(ir_json(result.film), nl=False)


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", is_flag=True, help="Print what would change as a diff.")
def fmt(files: tuple[Path, ...], check_only: bool, diff: bool) -> None:
    """Rewrite FILES in the canonical layout, keeping every comment.

    FILE may be - to format standard input to standard output.
    """
    from filmlang.api import format_text
    from filmlang.diagnostics import render_all

    status = EXIT_OK
    for path in files:
        if str(path) == "-":
            result = format_text(sys.stdin.read(), "<stdin>")
        else:
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                click.echo(f"{path}: error: cannot read it: {exc}", err=True)
                status = EXIT_ERRORS
                continue
            result = format_text(text, str(path), path)
        if result.text is None:
            click.echo(_color_report(render_all(result.diagnostics,
                                                {result.source.name: result.source})), err=True)
            status = EXIT_ERRORS
            continue
        if str(path) == "-" and not (check_only or diff):
            click.echo(result.text, nl=False)
            continue
        if not result.changed:
            continue
        if diff:
            click.echo("".join(difflib.unified_diff(
                result.source.text.splitlines(keepends=True),
                result.text.splitlines(keepends=True), f"{path}", f"{path} (formatted)")),
                nl=False)
        if check_only:
            click.echo(f"would reformat {path}", err=True)
            status = EXIT_ERRORS
            continue
        if not diff and str(path) != "-":
            _write_atomic(path, result.text)
            click.echo(f"formatted {path}", err=True)
    sys.exit(status)


def _write_atomic(path: Path, text: str) -> None:
    folder = path.parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        with contextlib.suppress(OSError):
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
