"""The loader: an entry path in, every file of the build parsed, once each.

Follows `import` and `include` with the spec's path rules: `std/NAME` from the installed
standard library, anything else relative to the file that names it, `.film` optional,
nothing outside the entry file's folder unless allowed. Cycles are reported with their
chain. The standard library's `std/shots` is loaded for every film.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from filmlang import resources
from filmlang.diagnostics import Diagnostic, Edit, Fix, Label, error, replace_with
from filmlang.semantic.values import printable, suggest
from filmlang.source import NotReadable, SourceFile, Span, check_regular, read_source
from filmlang.syntax import ast
from filmlang.syntax.parser import parse

STD_PREFIX = "std/"
ParseHook = Callable[[SourceFile], tuple[ast.Module, list[Diagnostic]]]
IMPLICIT_IMPORTS = ("std/shots",)


@dataclass
class Program:
    """Every file of a build, parsed, and how they reach each other."""

    entry: str
    root: Path
    files: dict[str, SourceFile] = field(default_factory=dict)
    modules: dict[str, ast.Module] = field(default_factory=dict)
    targets: dict[tuple[str, int], str] = field(default_factory=dict)
    """(file, offset of an import/include) -> the name of the module it loaded."""
    reached_from: dict[str, Span] = field(default_factory=dict)
    """module -> the import or include that first loaded it."""
    implicit: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    parse_failed: set[str] = field(default_factory=set)
    """Files with syntax errors: their trees hold what parsed (broken lines left out)."""
    parse_abandoned: set[str] = field(default_factory=set)
    """Files whose parse gave up (a string never closed, a limit): their tree is empty, so the
    build is not checked."""
    allow_outside: bool = False

    def target(self, file: str, directive: ast.Import | ast.Include) -> str | None:
        return self.targets.get((file, directive.span.start))

    def chain(self, name: str) -> list[Span]:
        """The imports and includes that lead from the entry file to `name`."""
        spans: list[Span] = []
        seen: set[str] = set()
        while name in self.reached_from and name not in seen:
            seen.add(name)
            span = self.reached_from[name]
            spans.append(span)
            name = span.file
        return spans

    def display_names(self, cwd: Path | None = None) -> dict[str, str]:
        """Names for messages: paths relative to the working folder where possible."""
        here = (cwd or Path.cwd()).resolve()
        out: dict[str, str] = {}
        for name, source in self.files.items():
            if source.is_std:
                out[name] = name
                continue
            try:
                out[name] = os.path.relpath(source.path, here)
            except ValueError:
                out[name] = str(source.path)
            if out[name].startswith(".."):
                out[name] = str(source.path)
        return out


def load(entry: Path | str, *, allow_outside: bool = False, text: str | None = None,
         overlay: Mapping[Path, str] | None = None, parser: ParseHook | None = None) -> Program:
    """Read and parse `entry` and everything it imports or includes.

    `text`, when given, is used instead of reading the entry file (an editor's buffer);
    `overlay` maps absolute paths to such texts for any file (the language server's open
    documents), and `parser` replaces `parse` (the server's incremental parser).
    """
    entry_path = Path(entry).absolute()
    root = entry_path.parent
    program = Program(entry=entry_path.name, root=root, allow_outside=allow_outside)
    loader = _Loader(program, allow_outside)
    loader.overlay = overlay or {}
    loader.parse = parser or parse
    source = loader.read(entry_path, entry_path.name, text=text, at=None)
    if source is None:
        return program
    for path in IMPLICIT_IMPORTS:
        std = loader.resolve_std(path, None)
        if std is not None and std[1] not in program.modules:
            program.implicit.append(std[1])
            if loader.read(std[0], std[1], at=None, is_std=True) is not None:
                loader.visit(std[1], [std[1]])
    loader.visit(entry_path.name, [entry_path.name])
    return program


class _Loader:
    def __init__(self, program: Program, allow_outside: bool) -> None:
        self.program = program
        self.allow_outside = allow_outside
        self.overlay: Mapping[Path, str] = {}
        self.parse: ParseHook = parse

    def read(self, path: Path, name: str, *, at: Span | None, text: str | None = None,
             is_std: bool = False) -> SourceFile | None:
        try:
            if text is None:
                text = self.overlay.get(path)
            if text is None:
                text = read_source(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            self._fail_read(name, at, f"{name} is not UTF-8 text (byte {exc.start})",
                            "save the file as UTF-8")
            return None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            help = "a film is read from regular files of text" if isinstance(
                exc, NotReadable) else ""
            self._fail_read(name, at, f"cannot read {path}: {reason}", help)
            return None
        if text.startswith("\ufeff"):
            text = text[1:]
        source = SourceFile(path=path, name=name, text=text, is_std=is_std)
        self.program.files[name] = source
        module, diagnostics = self._parsed(source)
        self.program.modules[name] = module
        self.program.diagnostics.extend(diagnostics)
        if diagnostics:
            self.program.parse_failed.add(name)
            if not module.body:
                self.program.parse_abandoned.add(name)
        return source

    def _parsed(self, source: SourceFile) -> tuple[ast.Module, list[Diagnostic]]:
        """`parse`, once a process for the standard library's modules (every check imports
        them). Not with the language server's parser, which moves the spans of its trees."""
        if not source.is_std or self.parse is not parse:
            return self.parse(source)
        key = (source.name, source.text)
        with _std_lock:
            found = _std_trees.get(key)
        if found is None:
            found = parse(source)
            with _std_lock:
                _std_trees[key] = found
        return found[0], list(found[1])

    def _fail_read(self, name: str, at: Span | None, message: str, help: str) -> None:
        span = at or Span(file=name, line=1, column=1, end_line=1, end_column=1)
        self.program.diagnostics.append(error("E0006", message, span, help=help))

    def visit(self, name: str, stack: list[str]) -> None:
        module = self.program.modules[name]
        for statement in module.body:
            if isinstance(statement, ast.Import | ast.Include):
                self.follow(name, statement, stack)

    def follow(self, name: str, directive: ast.Import | ast.Include, stack: list[str]) -> None:
        resolved = self.resolve(name, directive)
        if resolved is None:
            return
        path, target, is_std = resolved
        key = (name, directive.span.start)
        if target in stack:
            chain = " -> ".join([*stack[stack.index(target):], target])
            word = directive.kind
            help = (f"a file cannot {word} itself; remove this {word}" if target == name else
                    f"remove one {word} of the cycle; "
                    "put what both files need in a module they both import")
            self.program.diagnostics.append(error(
                "E0402", f"this {word} makes a cycle: {chain}", directive.path.span,
                label=f"{target} is already being read", help=help))
            return
        self.program.targets[key] = target
        if target in self.program.modules:
            return
        if self.read(path, target, at=directive.path.span, is_std=is_std) is None:
            return
        self.program.reached_from[target] = directive.span
        self.visit(target, [*stack, target])

    def resolve_std(self, text: str, at: ast.StringValue | None) -> tuple[Path, str] | None:
        module = text[len(STD_PREFIX):].removesuffix(".film")
        folder = resources.stdlib_dir() / "std"
        path = folder / f"{module}.film"
        if module and "/" not in module and ".." not in module and _is_file(path):
            return path, f"std/{module}.film"
        if at is not None:
            known = sorted(p.stem for p in folder.glob("*.film"))
            best = suggest(module, known)
            hint = f'did you mean "std/{best}"?' if best else ""
            self.program.diagnostics.append(error(
                "E0401", f'there is no standard module "{text}"', at.span,
                fixes=[replace_with(at.span, f'"std/{best}"') if best else None],
                label="not in the standard library",
                help=hint or "the standard modules are: "
                + ", ".join(f'"std/{k}"' for k in known)))
        return None

    def copy_in(self, literal: ast.StringValue, source: Path, importer: Path) -> Fix | None:
        """E0403's fix: a copy of the file in the film's folder, and the path changed to it.
        None when it cannot be read, or the folder has a file of that name already."""
        try:  # a name too long or with a NUL byte is no file to copy
            if not source.name.endswith(".film") and not source.is_file():
                source = source.with_name(source.name + ".film")
            target = self.program.root / source.name
            if target.exists() or target.is_symlink():
                return None
            text = read_source(source).decode("utf-8")
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
            return None
        written = os.path.relpath(target, importer.parent)
        if not literal.value.strip().endswith(".film"):
            written = written.removesuffix(".film")
        return Fix(title=f"Copy {source.name} into the film's folder",
                   edits=(Edit(create=str(target), text=text),
                          Edit(span=literal.span, text=f'"{written}"')))

    def resolve(self, name: str, directive: ast.Import | ast.Include
                ) -> tuple[Path, str, bool] | None:
        literal = directive.path
        text = literal.value.strip()
        if not text:
            self.program.diagnostics.append(error(
                "E0405", f"an {directive.kind} needs a path", literal.span,
                help=f'write the path of a .film file: {directive.kind} "scenes/opening"'))
            return None
        if text.startswith(STD_PREFIX):
            found = self.resolve_std(text, literal)
            return (found[0], found[1], True) if found else None
        source = self.program.files[name]
        candidate = Path(os.path.normpath(source.path.parent / text))
        root = self.program.root
        outside = Path(text).is_absolute() or not _within(candidate, root)
        if outside and not self.allow_outside and not source.is_std:
            self.program.diagnostics.append(error(
                "E0403", f'"{text}" is outside the film\'s folder', literal.span,
                label="leaves the film's folder",
                fixes=[self.copy_in(literal, candidate, source.path)],
                help="move the file into the film's folder, or build with --allow-outside"))
            return None
        try:
            return self._resolve_file(name, directive, candidate)
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte: no such file
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            shown_text = printable(text)
            self.program.diagnostics.append(error(
                "E0006", f'cannot read "{shown_text}": {reason}', literal.span,
                label="not a path to a file", help=f"{directive.kind} names a .film file"))
            return None

    def _resolve_file(self, name: str, directive: ast.Import | ast.Include, candidate: Path
                      ) -> tuple[Path, str, bool] | None:
        literal = directive.path
        text = literal.value.strip()
        source = self.program.files[name]
        root = self.program.root
        path = candidate
        if not path.name.endswith(".film") and not path.is_file():
            named = candidate.with_name(candidate.name + ".film")
            if named.exists() or not path.exists():
                path = named
        try:
            check_regular(path)
        except NotReadable as exc:
            self.program.diagnostics.append(error(
                "E0006", f'cannot read "{text}": {exc.strerror}', literal.span,
                label="not a file of text", help=f"{directive.kind} names a .film file"))
            return None
        # Where the path leads, not how it is written: a link in the film's folder may point
        # anywhere on the machine, and the diagnostics would show that file's lines.
        real = Path(os.path.realpath(path))
        if path.exists() and not self.allow_outside and not source.is_std \
                and not _within(real, Path(os.path.realpath(root))):
            self.program.diagnostics.append(error(
                "E0403", f'"{text}" leads outside the film\'s folder, to {real}', literal.span,
                label="a link that leaves the film's folder",
                fixes=[self.copy_in(literal, real, source.path)],
                help="copy the file into the film's folder, or build with --allow-outside"))
            return None
        if not path.is_file():
            folder = candidate.parent
            known = sorted(p.stem for p in folder.glob("*.film")) if folder.is_dir() else []
            best = suggest(candidate.stem, known)
            folder_part = text.rsplit("/", 1)[0] + "/" if "/" in text else ""
            hint = f'did you mean "{folder_part}{best}"?' if best else ""
            self.program.diagnostics.append(error(
                "E0401", f'cannot find "{text}"', literal.span,
                fixes=[replace_with(literal.span, f'"{folder_part}{best}"') if best else None],
                label=f"no {path.name} in {_shown(folder, root)}",
                help=hint or "paths are relative to the file that names them; "
                             "the standard library is std/NAME"))
            return None
        try:
            target = path.relative_to(root).as_posix()
        except ValueError:
            target = os.path.relpath(path, root).replace(os.sep, "/")
        return path, target, False


_std_trees: dict[tuple[str, str], tuple[ast.Module, list[Diagnostic]]] = {}
_std_lock = threading.Lock()


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _shown(folder: Path, root: Path) -> str:
    try:
        rel = folder.relative_to(root).as_posix()
    except ValueError:
        return str(folder)
    return "the film's folder" if rel == "." else rel


def import_chain_notes(program: Program, file: str) -> list[Label]:
    """Notes naming the imports/includes that led to `file`, nearest first."""
    notes = []
    for span in program.chain(file):
        modules = program.modules.get(span.file)
        word = "imported"
        if modules is not None:
            for statement in modules.body:
                if statement.span.start == span.start:
                    word = "included" if statement.kind == "include" else "imported"
        notes.append(Label(span=span, message=f"{file} is {word} here"))
        file = span.file
    return notes


def _is_file(path: Path) -> bool:
    """Whether a standard module's file is there; a name the system refuses (too long, a
    NUL byte) is no module, and the caller says which ones there are."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
