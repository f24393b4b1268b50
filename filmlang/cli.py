"""`filmc`: the command line. A thin layer over `filmlang.api`.

Imports stay inside the commands so that `filmc --help` starts at once.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from filmlang import __version__, stamp
from filmlang.cli_conventions import (
    COLOR as _COLOR,
)
from filmlang.cli_conventions import (
    EXIT_ERRORS,
    EXIT_FAILURE,
    EXIT_OK,
    STDIN_NAME,
)
from filmlang.cli_conventions import FILE_OR_STDIN as _FILE_OR_STDIN
from filmlang.cli_conventions import cannot_write as _cannot_write
from filmlang.cli_conventions import check_path as _check
from filmlang.cli_conventions import chosen_format as _format
from filmlang.cli_conventions import color_report as _color_report
from filmlang.cli_conventions import everywhere as _everywhere
from filmlang.cli_conventions import json_alias as _json_alias
from filmlang.cli_conventions import progress_for as _progress
from filmlang.cli_conventions import shown as _shown
from filmlang.cli_conventions import stop_on_terminate as _stop_on_terminate
from filmlang.outputs import write_atomic

if TYPE_CHECKING:
    from filmlang import ir
    from filmlang.build import BuildResult
    from filmlang.config import BuildConfig

F = TypeVar("F", bound=Callable[..., Any])

class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["build", "check", "plan", "fmt", "ir", "storyboard", "watch", "import",
                "export", "cache", "lsp"]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="filmc")
@_COLOR
def main() -> None:
    """filmc: compile .film sources into films.

    \b
    filmc build movie.film       build the film: build/movie.mp4 and .srt
    filmc check movie.film       parse and check; print diagnostics
    filmc plan movie.film        the render jobs a build needs, and what is cached
    filmc fmt movie.film         rewrite in the canonical layout
    filmc ir movie.film          the checked film as JSON
    filmc storyboard movie.film  a contact sheet PNG: one frame per shot
    filmc watch movie.film       build, then rebuild on every save
    filmc import script.fountain a screenplay (Fountain, Final Draft) to a film
    filmc export movie.film      the film for an editor (OTIO, EDL, FCPXML), stems, Fountain
    filmc cache gc               keep the build cache under a size
    filmc lsp                    the language server, for editors (docs/editors.md)
    """


_FILE = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
_ALLOW_OUTSIDE = click.option(
    "--allow-outside", is_flag=True,
    help="Allow imports and includes outside the film's folder.")


@main.command()
@_FILE_OR_STDIN
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print diagnostics (json: one object a line).")
@_ALLOW_OUTSIDE
def check(file: Path, fmt: str, allow_outside: bool) -> None:
    """Parse and check FILE (- for standard input) and everything it imports. Exit 1 on
    errors."""
    result = _check(file, allow_outside)
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
        shown = STDIN_NAME if str(file) == "-" else file
        click.echo(f"{shown}: ok: \"{film.title}\", {len(film.scenes)} scene"
                   f"{'s' if len(film.scenes) != 1 else ''}, {shots} shot"
                   f"{'s' if shots != 1 else ''}, {lines} line{'s' if lines != 1 else ''}")


def _checked_film(file: Path, allow_outside: bool) -> ir.Film:
    """The checked film, its warnings printed; on errors, print them and exit 1."""
    result = _check(file, allow_outside)
    if result.diagnostics:
        click.echo(_color_report(result.report()), err=True)
    if not result.ok or result.film is None:
        sys.exit(EXIT_ERRORS)
    return result.film


@main.command()
def lsp() -> None:
    """Run the language server on stdin/stdout (for editors; see docs/editors.md)."""
    from filmlang.lsp import serve

    serve()


@main.command(name="ir")
@_FILE_OR_STDIN
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json",
              help="The only format: JSON.")
@_ALLOW_OUTSIDE
def ir_command(file: Path, fmt: str, allow_outside: bool) -> None:
    """Print the checked film of FILE (- for standard input) as JSON."""
    from filmlang.api import ir_json

    click.echo(ir_json(_checked_film(file, allow_outside)), nl=False)


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
    from filmlang.source import read_source

    status = EXIT_OK
    for path in files:
        if str(path) == "-":
            result = format_text(sys.stdin.read(), "<stdin>")
        else:
            try:
                text = read_source(path).decode("utf-8")
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
            try:
                write_atomic(path, result.text)
            except OSError as exc:
                _cannot_write(path, exc)
                status = EXIT_FAILURE
                continue
            click.echo(f"formatted {path}", err=True)
    sys.exit(status)


def _config(preview: bool, backends: tuple[str, ...]) -> BuildConfig:
    from filmlang.config import BuildConfig

    chosen: dict[str, str] = {}
    for item in backends:
        kind, sep, name = item.partition("=")
        if not sep or kind not in ("visual", "voice", "music") or not name:
            raise click.BadParameter(f"'{item}': write KIND=NAME with KIND visual, voice or "
                                     "music, e.g. --backend voice=espeak",
                                     param_hint="--backend")
        chosen[kind] = name
    context = click.get_current_context(silent=True)
    model = str(context.meta.get(_MODEL_META, "")) if context is not None else ""
    return BuildConfig(preview=preview, visual=chosen.get("visual", "diffusers" if model else ""),
                       voice=chosen.get("voice", ""), music=chosen.get("music", ""),
                       model=model)


_MODEL_META = "filmc.model"


def _remember_model(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--model goes to the build config through the context (no command takes it as an
    argument); relative to the working directory, and it implies visual=diffusers."""
    if value:
        ctx.meta[_MODEL_META] = str(Path(value).absolute()) if Path(value).exists() else value


_BUILD_OPTIONS = [
    click.option("--preview", is_flag=True, help="A quick, low-resolution build."),
    click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
                 help="CPU workers (default: the number of cores)."),
    click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="The cache folder (default: .filmcache beside FILE, or $FILMC_CACHE)."),
    click.option("--backend", "backends", multiple=True, metavar="KIND=NAME",
                 help="Use a backend: visual=procedural|diffusers, voice=piper|espeak|coqui, "
                      "music=synth|soundfont."),
    click.option("--model", metavar="PATH", default=None, expose_value=False,
                 callback=_remember_model,
                 help="The diffusers model folder (or a Hugging Face id in the local cache) "
                      "for --backend visual=diffusers."),
]


_CLUSTER_OPTIONS = [
    click.option("--cluster", type=click.Choice(["ray"]), default=None,
                 help="Run the jobs on a Ray cluster: $RAY_ADDRESS, else a local one "
                      "(pip install 'filmlang[ray]'; docs/cluster.md)."),
    click.option("--cache-remote", metavar="URL", default=None, envvar="FILMC_CACHE_REMOTE",
                 help="A shared cache behind the local one: a folder, or s3://bucket/prefix "
                      "(pip install 'filmlang[s3]'); or $FILMC_CACHE_REMOTE."),
]


def _options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func
    return apply


_build_options, _cluster_options = _options(_BUILD_OPTIONS), _options(_CLUSTER_OPTIONS)


@main.command()
@_FILE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the film (default: build/NAME.mp4 beside FILE).")
@_build_options
@click.option("--explain", is_flag=True, help="Say why each job ran, or why it did not.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "json"]), default="text",
              help="jsonl (or json): one JSON event per job on standard output, for tools.")
@click.option("--log-format", type=click.Choice(["text", "jsonl"]), default=None, hidden=True,
              expose_value=False, callback=_json_alias("jsonl"))
@click.option("--progress", "progress_kind", default="auto", show_default=True,
              type=click.Choice(["auto", "bar", "plain", "none"]),
              help="bar: a live bar; plain: a line every few seconds (auto: bar on a "
                   "terminal, plain otherwise); none.")
@_cluster_options
@_ALLOW_OUTSIDE
@click.pass_context
def build(ctx: click.Context, file: Path, output: Path | None, preview: bool, jobs: int | None,
          cache: Path | None, backends: tuple[str, ...], explain: bool, fmt: str,
          progress_kind: str, cluster: str | None, cache_remote: str | None,
          allow_outside: bool) -> None:
    """Build FILE into a film (MP4 with subtitles and chapters). Exit 1 on errors in the
    source, 3 when rendering fails. --preview writes NAME.preview.mp4."""
    if output is not None and output.suffix.lower() not in stamp.CONTAINER_SUFFIXES:
        raise click.BadParameter(f"filmc writes {', '.join(sorted(stamp.CONTAINER_SUFFIXES))}, "
                                 f"not '{output.suffix or output.name}'", param_hint="-o")
    log_format = "jsonl" if _format(ctx, fmt) in ("json", "jsonl") else "text"
    request = stamp.Request(file, output, cache, dict(
        preview=preview, backends=sorted(backends), allow_outside=allow_outside, cluster=cluster,
        model=str(ctx.meta.get(_MODEL_META, "")), cache_remote=cache_remote))
    if not explain and log_format == "text" and request.answer(_shown(request.target)):
        sys.exit(EXIT_OK)          # nothing changed: no parse, no plan (filmlang/stamp.py)
    from filmlang.build import build as run_build
    from filmlang.build import stamp_result
    from filmlang.cache.remote import RemoteError
    from filmlang.exec.executor import ClusterError

    config = _config(preview, backends)
    progress = _progress(log_format, progress_kind, explain, ctx.color)
    _stop_on_terminate()
    try:
        result = run_build(file, output=output, cache=cache, jobs=jobs,
                           config=config, allow_outside=allow_outside,
                           progress=progress, cluster=cluster or "",
                           cache_remote=cache_remote)
    except (RemoteError, ClusterError) as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        click.echo("filmc: interrupted; finished jobs stay cached", err=True)
        sys.exit(130)
    except OSError as exc:  # the cache or the output (named by build's OutputError)
        if exc.filename:
            _cannot_write(Path(str(exc.filename)), exc)
        else:
            click.echo(click.style("error: ", fg="red", bold=True)
                       + f"cannot write: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FAILURE)
    finally:
        close = getattr(progress, "close", None)
        if close is not None:
            close()
    _report(result, log_format)
    if result.ok:
        assert result.output is not None
        if log_format == "text":
            seconds = result.timeline.seconds if result.timeline else 0.0
            click.echo(f"built {_shown(result.output)} ({seconds:.1f}s of film) in "
                       f"{result.seconds:.1f}s", err=True)
    stamp_result(request, result)
    sys.exit(result.exit_code)


def _report(result: BuildResult, log_format: str) -> None:
    """A build's diagnostics, failed jobs and (as text) its counts, on standard error."""
    from filmlang.diagnostics import render_all

    check = result.check
    if check.diagnostics:
        click.echo(_color_report(check.report()), err=True)
    if result.diagnostics:
        display = check.program.display_names()
        click.echo(_color_report(render_all(result.diagnostics, check.program.files,
                                            display=display)), err=True)
    for failure in result.failures:
        origin = failure.job.origin
        where = f"{origin}: " if origin is not None else ""
        click.echo(click.style(f"{where}error: {failure.job.kind} job failed: ", fg="red",
                               bold=True) + failure.message, err=True)
        if origin is not None and origin.file in check.program.files:
            line = check.program.files[origin.file].line_text(origin.line)
            click.echo(f"{origin.line:>5} | {line}", err=True)
    if log_format == "text":
        for kind, counts in result.counts().items():
            failed = f", {counts['failed']} failed" if counts.get("failed") else ""
            click.echo(f"  {kind:<10} {counts['ran']:>4} ran, {counts['cached']:>4} cached"
                       f"{failed}", err=True)


@main.command(name="plan")
@_FILE
@_build_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: the job graph as JSON.")
@click.option("--json", "as_json", is_flag=True, hidden=True, expose_value=False,
              callback=_json_alias("json"))
@_cluster_options
@_ALLOW_OUTSIDE
@click.pass_context
def plan_command(ctx: click.Context, file: Path, preview: bool, jobs: int | None,
                 cache: Path | None, backends: tuple[str, ...], fmt: str, cluster: str | None,
                 cache_remote: str | None, allow_outside: bool) -> None:
    """Show the render jobs FILE needs, which are cached, and what the rest should cost:
    CPU- and GPU-seconds and the wall time on this machine (or the --cluster's)."""
    from filmlang.backends.diffusers.models import ModelProblem
    from filmlang.cache.remote import RemoteError
    from filmlang.exec.executor import ClusterError
    from filmlang.plan.estimate import describe_plan

    config = _config(preview, backends)
    as_json = _format(ctx, fmt) == "json"
    try:
        if cluster:
            from filmlang.exec.ray_executor import plan_workers
        text, code = describe_plan(file, cache=cache, config=config, as_json=as_json,
                                   allow_outside=allow_outside, jobs=jobs,
                                   workers=plan_workers() if cluster else None,
                                   cache_remote=cache_remote)
    except (RemoteError, ClusterError) as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(EXIT_FAILURE)
    except ModelProblem as exc:  # the diffusers model named cannot be used
        click.echo(click.style("error: ", fg="red", bold=True) + f"{exc.message} [E0603]\n"
                   f"  = help: {exc.help}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(text, err=code != 0)
    sys.exit(code)


@main.command()
@_FILE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the PNG (default: build/NAME-storyboard.png beside FILE).")
@click.option("--columns", type=click.IntRange(1, 64), default=3, show_default=True,
              help="Frames per row.")
@click.option("--width", type=click.IntRange(16, 4096), default=480, show_default=True,
              help="The width of each frame, in pixels.")
@_ALLOW_OUTSIDE
def storyboard(file: Path, output: Path | None, columns: int, width: int,
               allow_outside: bool) -> None:
    """Draw a contact sheet of FILE: one labelled frame per shot, in order. Exit 1 on
    errors in the source."""
    from filmlang.storyboard import render_storyboard, write_png

    film = _checked_film(file, allow_outside)
    path = output if output is not None else file.parent / "build" / f"{file.stem}-storyboard.png"
    try:
        write_png(render_storyboard(film, columns=columns, width=width,
                                    root=file.absolute().parent), path)
    except OSError as exc:
        _cannot_write(path, exc)
        sys.exit(EXIT_FAILURE)
    shots = len(film.shots)
    click.echo(f"wrote {path} ({shots} shot{'s' if shots != 1 else ''})")


@main.command()
@_FILE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the film (default: build/NAME.mp4 beside FILE).")
@_build_options
@click.option("--final", is_flag=True,
              help="Build the full film (watch builds the --preview profile by default).")
@click.option("--serve", is_flag=True,
              help="Also serve a live preview page (player, timeline, diagnostics) on "
                   "127.0.0.1.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port of the --serve page (0: any free port).")
@_ALLOW_OUTSIDE
def watch(file: Path, output: Path | None, preview: bool, jobs: int | None,
          cache: Path | None, backends: tuple[str, ...], final: bool, serve: bool,
          port: int, allow_outside: bool) -> None:
    """Build FILE, then rebuild it each time it or a file it imports or includes is saved.
    A save during a build cancels it and starts the new one. Ctrl-C stops."""
    from filmlang.link.mux import CONTAINERS
    from filmlang.watch import Watcher

    if output is not None and output.suffix.lower() not in CONTAINERS:
        raise click.BadParameter(
            f"filmc writes {', '.join(sorted(CONTAINERS))}, not '{output.suffix or output.name}'",
            param_hint="-o")
    if serve and output is not None and CONTAINERS[output.suffix.lower()].muxer != "mp4":
        raise click.BadParameter(
            f"the --serve page plays an MP4, not '{output.suffix}': give -o a .mp4 name",
            param_hint="-o")
    config = _config(not final, backends)
    _stop_on_terminate()
    watcher = Watcher(file, output=output, cache=cache, jobs=jobs, config=config,
                      allow_outside=allow_outside, echo=click.echo, style=_color_report)
    if not serve:
        sys.exit(watcher.run())
    from filmlang.serve import PortBusy, Preview

    try:
        page = Preview(file, watcher.output, port=port)
    except PortBusy as exc:  # one line, and the page is an output it cannot make: 3
        click.echo(f"error: {exc} (another filmc watch?); pick another port with --port N, "
                   "or --port 0 for any free one", err=True)
        sys.exit(EXIT_FAILURE)
    watcher.listener = page
    page.start()
    click.echo(f"preview page: {page.url}")
    try:
        code = watcher.run()
    finally:
        page.stop()
    sys.exit(code)


@main.command(name="import")
@click.argument("script", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the film (default: SCRIPT with .film beside it).")
@click.option("--force", is_flag=True, help="Replace the output if it exists.")
def import_command(script: Path, output: Path | None, force: bool) -> None:
    """Turn a screenplay (Fountain, or Final Draft .fdx) into a film that checks and
    builds: scenes from headings, characters, shots from action and dialogue. Where it
    guesses, the film says so in a comment. Exit 1 when SCRIPT cannot be read."""
    from filmlang.screenplay import import_screenplay
    from filmlang.source import read_source

    target = output if output is not None else script.with_suffix(".film")
    if target.exists() and not force:
        click.echo(f"error: {target} exists\n  = help: pass --force to replace it, or name "
                   "another with -o", err=True)
        sys.exit(EXIT_ERRORS)
    try:
        data = read_source(script)
    except OSError as exc:
        click.echo(f"{script}: error: cannot read it: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERRORS)
    text, warnings = import_screenplay(script, data)
    for warning in warnings:
        click.echo(_color_report(f"{script}:{warning.line}: warning: {warning.message}"),
                   err=True)
    try:
        write_atomic(target, text, make_folder=True)
    except OSError as exc:
        _cannot_write(target, exc)
        sys.exit(EXIT_FAILURE)
    scenes = text.count("\nscene ")
    click.echo(f"wrote {target} ({scenes} scene{'s' if scenes != 1 else ''}); "
               f"build it with: filmc build {target}", err=True)


@main.command(name="export")
@_FILE
@click.option("--format", "fmt", required=True,
              type=click.Choice(["otio", "edl", "fcpxml", "fountain", "stems"]),
              help="otio, edl (CMX 3600) or fcpxml for an editor; stems (dialogue, music, "
                   "effects WAVs) for a mixer; fountain: the script as a screenplay.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write it (default: build/NAME.FORMAT beside FILE; stems: the "
                   "folder build/NAME-stems).")
@_build_options
@_ALLOW_OUTSIDE
def export_command(file: Path, fmt: str, output: Path | None, preview: bool, jobs: int | None,
                   cache: Path | None, backends: tuple[str, ...], allow_outside: bool) -> None:
    """Export FILE for another tool, building what it needs through the cache first. Exit
    1 on errors in the source, 3 when rendering or writing fails."""
    from filmlang.interop import InteropMissing, export
    from filmlang.interop.editorial import RateProblem

    if preview and fmt in ("edl", "fcpxml", "stems"):
        why = "stems are mixed at the film's rate" if fmt == "stems" else \
            f"a --preview runs at 12 fps, which {fmt.upper()} cannot say"
        raise click.BadParameter(f"{why}: export without --preview", param_hint="--preview")
    _stop_on_terminate()
    progress = None if fmt == "fountain" else _progress(
        "text", "auto", False, click.get_current_context().color)
    try:
        done = export(file, fmt, output, cache=cache, jobs=jobs,
                      config=_config(preview, backends), allow_outside=allow_outside,
                      progress=progress)
    except KeyboardInterrupt:
        click.echo("filmc: interrupted; finished jobs stay cached", err=True)
        sys.exit(130)
    except (InteropMissing, RateProblem) as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(EXIT_FAILURE)
    except OSError as exc:
        _cannot_write(Path(str(exc.filename or output or file)), exc)
        sys.exit(EXIT_FAILURE)
    finally:
        close = getattr(progress, "close", None)
        if close is not None:
            close()
    if done.build is not None:
        _report(done.build, "text" if fmt != "fountain" else "")
    if not done.written:
        sys.exit(done.build.exit_code if done.build is not None else EXIT_ERRORS)
    click.echo("wrote " + ", ".join(_shown(p) for p in done.written), err=True)


@main.group()
def cache() -> None:
    """Look after the build cache."""


@cache.command(name="gc")
@click.argument("where", required=False, type=click.Path(path_type=Path))
@click.option("--max-size", default="5G", show_default=True,
              help="Evict least recently used objects until the cache is this small.")
def cache_gc(where: Path | None, max_size: str) -> None:
    """Evict old objects from the cache of WHERE (a film, or a cache folder)."""
    from filmlang.cache.store import Store, default_cache_dir, parse_size

    if where is None:
        root = default_cache_dir(Path.cwd() / "x.film")
    elif where.is_dir() and (where / "objects").is_dir():
        root = where
    else:
        root = default_cache_dir(where)
    try:
        limit = parse_size(max_size)
    except ValueError:
        raise click.BadParameter(f"'{max_size}' is not a size like 5G or 500M",
                                 param_hint="--max-size") from None
    if not (root / "objects").is_dir():
        click.echo(f"no cache at {root}", err=True)
        sys.exit(EXIT_OK)
    from filelock import FileLock

    with FileLock(str(root / "lock"), timeout=600):
        removed, freed = Store(root).gc(limit)
    click.echo(f"removed {removed} objects, freed {freed / 1e6:.1f} MB from {root}")


_everywhere(main)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="filmc")
