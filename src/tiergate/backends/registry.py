"""The backend kinds, found by themselves: every module of this package that defines a config Struct.

``BackendConfig`` is the tagged union of those Structs (``kind: ollama | anthropic | openai``); each
builds its own backend, so adding a kind is one module (config + binding) and its test.

    backend = build_backend("ollama", config.backends["ollama"], os.environ)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Union

import tiergate.backends
from tiergate.backends.base import Backend, BackendConfigBase

for _module in sorted(m.name for m in pkgutil.iter_modules(tiergate.backends.__path__)):
    if _module != "registry":
        importlib.import_module(f"tiergate.backends.{_module}")


def _kinds(base: type[BackendConfigBase]) -> list[type[BackendConfigBase]]:
    found: list[type[BackendConfigBase]] = []
    for cls in base.__subclasses__():
        found += [cls, *_kinds(cls)]
    return found


BACKEND_KINDS: tuple[type[BackendConfigBase], ...] = tuple(
    sorted((k for k in _kinds(BackendConfigBase) if k.__struct_config__.tag is not None), key=lambda k: k.__module__)
)

if TYPE_CHECKING:
    BackendConfig = BackendConfigBase
else:
    BackendConfig = Union[BACKEND_KINDS]  # noqa: UP007  (built from a tuple at run time)


def build_backend(name: str, cfg: BackendConfigBase, environ: Mapping[str, str]) -> Backend:
    return cfg.build(name, environ)


def missing_in(backends: Mapping[str, Backend], name: str) -> str | None:
    """What the backend called ``name`` lacks to be called at all (``Backend.missing``: an unset key
    variable), or None; None too for a name ``backends`` does not hold."""
    backend = backends.get(name)
    return backend.missing() if backend is not None else None
