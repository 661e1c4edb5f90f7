"""The transforms a scorer may name, found by themselves: one module of this package each.

``Transform`` is the tagged union of every :class:`~tiergate.rules.transforms.base.TransformBase`
subclass defined here, in module order; the rule file's ``transform: {kind: ...}`` decodes into it.

    TRANSFORMS   # (Boolean, KeywordDensity, Ramp, Threshold)
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Union

from tiergate.rules.transforms.base import Scale, TransformBase

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
    importlib.import_module(f"{__name__}.{_module}")

TRANSFORMS: tuple[type[TransformBase], ...] = tuple(
    sorted(TransformBase.__subclasses__(), key=lambda cls: cls.__module__)
)

if TYPE_CHECKING:
    Transform = TransformBase
else:
    Transform = Union[TRANSFORMS]  # noqa: UP007  (built from a tuple at run time)

__all__ = ["TRANSFORMS", "Scale", "Transform", "TransformBase"]
