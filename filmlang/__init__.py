"""filmlang: a compiler for films.

`import filmlang` is cheap: the API below is imported when first used, so that
`filmc --help` starts without loading the parser or pydantic.

    result = filmlang.check_file("examples/lighthouse.film")
    if result.ok:
        print(result.film.title)
    else:
        print(result.report())

What a build loads (voices, pipelines, a parsed SoundFont) is kept in a build session
(`session`), not in module globals: `filmlang.session.Session`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "CheckResult",
    "FormatResult",
    "__version__",
    "check_file",
    "format_text",
    "ir_json",
]

if TYPE_CHECKING:
    from filmlang.api import CheckResult, FormatResult, check_file, format_text, ir_json


def __getattr__(name: str) -> Any:
    if name in __all__:
        from filmlang import api

        return getattr(api, name)
    raise AttributeError(f"module 'filmlang' has no attribute {name!r}")
