"""The ingress dialects, found by themselves: each module of this package exports one ``DIALECT`` (and
may export ``HANDLERS``, extra routes of its own such as Anthropic's ``count_tokens``). Adding an ingress
is one module here (and its codec in :mod:`tiergate.protocols`) plus its test.

    DIALECTS["anthropic"].decode(body, headers)
    dialect_for_path("/v1/messages/count_tokens").error_body(exc)     # Anthropic's error shape
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from tiergate.api.dialects.base import Dialect, Writer

_modules = [
    importlib.import_module(f"{__name__}.{m.name}")
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if m.name != "base"
]

DIALECTS: dict[str, Dialect] = {module.DIALECT.name: module.DIALECT for module in _modules}
#: Routes a dialect serves besides its main one.
EXTRA_HANDLERS: list[Any] = [h for module in _modules for h in getattr(module, "HANDLERS", ())]
DEFAULT = DIALECTS["openai"]


def dialect_for_path(path: str, headers: Mapping[str, str] | None = None) -> Dialect:
    """The dialect whose clients call ``path``: the longest matching ``Dialect.path``; on a path no dialect
    owns, the one whose ``client_header`` the request sends; OpenAI otherwise."""
    best: Dialect | None = None
    for dialect in DIALECTS.values():
        under = path == dialect.path or path.startswith(dialect.path + "/")
        if under and (best is None or len(dialect.path) > len(best.path)):
            best = dialect
    if best is None and headers is not None:
        best = next((d for d in DIALECTS.values() if d.client_header and d.client_header in headers), None)
    return best or DEFAULT


__all__ = ["DEFAULT", "DIALECTS", "EXTRA_HANDLERS", "Dialect", "Writer", "dialect_for_path"]
