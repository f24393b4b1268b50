"""The command line's conventions, shared by every `filmc` command (issue 17).

Colour follows `--color=auto|always|never`, then `NO_COLOR` (no-color.org), then
`FORCE_COLOR`; exit statuses are 0 ok, 1 the film has errors, 2 usage (click's), 3 a
render, backend or output failed; machine-readable output is spelled `--format json`
(`jsonl` for streams), the old spellings kept as hidden aliases; a build's progress is a
live bar on a terminal and a plain line every few seconds otherwise.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from filmlang.api import CheckResult
    from filmlang.exec.scheduler import Progress

# Exit statuses (docs/cli.md): 0 ok, 1 the film has errors, 2 the command line is wrong
# (click's own status for usage errors), 3 a render, a backend or an output failed.
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3

_COLOR_META = "filmc.color"


def color_wanted(choice: str | None, environ: Mapping[str, str] | None = None) -> bool | None:
    """Whether to colour: --color wins, then NO_COLOR (no-color.org), then FORCE_COLOR;
    None lets click decide (colour on a terminal only)."""
    env = os.environ if environ is None else environ
    if choice == "always":
        return True
    if choice == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return None


def set_color(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None and _COLOR_META in ctx.meta:
        return  # `filmc --color=never build`: the group's choice stands
    if value is not None:
        ctx.meta[_COLOR_META] = value
    ctx.color = color_wanted(value)


COLOR = click.option(
    "--color", "--colour", type=click.Choice(["auto", "always", "never"]), default=None,
    expose_value=False, callback=set_color, is_eager=True,
    help="Colour the output: auto (on a terminal, unless NO_COLOR is set), always, never.")


def json_alias(value: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A hidden old spelling (`--json`, `--log-format jsonl`) that sets `--format`."""
    def callback(ctx: click.Context, param: click.Parameter, given: Any) -> None:
        if given and given != "text":
            ctx.meta["filmc.format"] = value
    return callback


def chosen_format(ctx: click.Context, fmt: str) -> str:
    return str(ctx.meta.get("filmc.format", fmt))
def progress_for(log_format: str, kind: str, explain: bool, color: bool | None) -> Progress:
    """What the build shows while it works: JSON lines for tools; a live bar on a
    terminal; without one, a plain line every few seconds on standard error."""
    from filmlang.exec.console import JsonProgress, PlainProgress, RichProgress

    if log_format == "jsonl":
        return JsonProgress()
    if kind == "auto":
        kind = "bar" if sys.stderr.isatty() else "plain"
    if kind == "bar":
        return RichProgress(explain=explain, color=color)
    if kind == "plain":
        return PlainProgress(explain=explain)
    return PlainProgress(explain=explain, interval=None)


def everywhere(group: click.Group) -> None:
    """`--color` is accepted after any command too (`filmc check --color=never x.film`)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            everywhere(command)
        COLOR(command)


def color_report(text: str) -> str:
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


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_terminate() -> None:
    """SIGTERM and SIGHUP (a closed terminal, `kill`, a service manager) stop a build or a
    watch the way Ctrl-C does: running jobs and their ffmpeg processes are stopped, finished
    jobs stay cached, nothing half-written is published."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


FILE_OR_STDIN = click.argument(
    "file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
STDIN_NAME = "<stdin>"


def check_path(file: Path, allow_outside: bool) -> CheckResult:
    """check_file, with `-` for standard input (imports relative to the working folder).

    For a command that checks and ends: without the cyclic collector, which would walk the
    whole syntax tree again once the check is done (reference counting frees the rest)."""
    from filmlang.api import check_file

    gc.disable()
    if str(file) == "-":
        return check_file(Path.cwd() / STDIN_NAME, allow_outside=allow_outside,
                          text=sys.stdin.read())
    return check_file(file, allow_outside=allow_outside)


def cannot_write(path: Path, exc: OSError) -> None:
    """One line: which output could not be written, and why."""
    from filmlang.outputs import cannot_write as why

    click.echo(click.style("error: ", fg="red", bold=True) + why(path, exc), err=True)


def shown(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)
