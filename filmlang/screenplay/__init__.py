"""Screenplays in and out: Fountain and Final Draft to a `.film` source (`filmc import`),
and a film's script back out as Fountain (`filmc export --format fountain`).

Modules: `elements` (a screenplay as elements), `fountain` (the Fountain reader), `fdx`
(the Final Draft reader), `importer` (elements to scenes and shots, `draft`) and `writer`
(those to `.film` text), `export` (a
checked film to Fountain).
"""

from __future__ import annotations

from pathlib import Path

from filmlang.screenplay.elements import Script, Warning

FOUNTAIN_SUFFIXES = (".fountain", ".spmd", ".txt")
SUFFIXES = (*FOUNTAIN_SUFFIXES, ".fdx")


def read_script(path: Path, data: bytes) -> Script:
    """The elements of a screenplay file's bytes, by its suffix (`.fdx` is Final Draft,
    anything else Fountain); never raises."""
    if path.suffix.lower() == ".fdx":
        from filmlang.screenplay.fdx import read_fdx

        return read_fdx(data)
    from filmlang.screenplay.fountain import read_fountain

    warnings: list[Warning] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        warnings.append(Warning(line, "this line is not UTF-8: its odd bytes are read as "
                                      "\N{REPLACEMENT CHARACTER}"))
        text = data.decode("utf-8-sig", errors="replace")
    script = read_fountain(text)
    script.warnings[:0] = warnings
    return script


def import_screenplay(path: Path, data: bytes) -> tuple[str, list[Warning]]:
    """A `.film` source from a screenplay file's bytes, and the warnings (with lines)."""
    from filmlang.screenplay.importer import Importer
    from filmlang.screenplay.writer import write_film

    importer = Importer(read_script(path, data), path.name)
    importer.run()
    return write_film(importer), importer.warnings
