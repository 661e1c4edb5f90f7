"""The tree drawn in tiergate.errors is the class hierarchy: every class drawn exists where it is drawn,
and every error class of the package is drawn."""

from __future__ import annotations

import re

import tiergate.errors
from tiergate.api.errors import Refusal
from tiergate.config.problems import ConfigError
from tiergate.errors import OperatorError, TiergateError
from tiergate.evals.dataset import DatasetError
from tiergate.learned.head import HeadError
from tiergate.protocols.anthropic import BlankLastMessage
from tiergate.protocols.ollama import ImageURLRefused
from tiergate.telemetry.decisions import DecisionLogError
from tiergate.telemetry.stats import StatsError

ELSEWHERE = {
    cls.__name__: cls
    for cls in (
        BlankLastMessage,
        ConfigError,
        DatasetError,
        DecisionLogError,
        HeadError,
        ImageURLRefused,
        Refusal,
        StatsError,
    )
}


def drawn() -> dict[str, str]:
    """``{class: parent}`` read from the drawing's indentation."""
    doc = tiergate.errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        m = re.match(r"^(\s*(?:[│ ]\s*)*)(?:├── |└── )?([A-Z]\w+)\s", line + " ")
        if not m or not line.strip() or not re.search(r"├──|└──|^\s+Exception\s*$", line):
            continue
        depth = line.index(m.group(2))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[m.group(2)] = stack[-1][1]
        stack.append((depth, m.group(2)))
    return parents


def every_subclass(root: type) -> set[type]:
    found = set()
    for cls in root.__subclasses__():
        found |= {cls, *every_subclass(cls)}
    return found


def test_the_drawing_is_the_hierarchy() -> None:
    parents = drawn()
    assert parents["TiergateError"] == "Exception" and parents["OperatorError"] == "Exception"
    for name, parent in parents.items():
        cls = getattr(tiergate.errors, name, None) or ELSEWHERE[name]
        expected = Exception if parent == "Exception" else (getattr(tiergate.errors, parent, None) or ELSEWHERE[parent])
        assert cls.__bases__ == (expected,), f"{name} is drawn under {parent}"


def test_every_error_class_is_drawn() -> None:
    classes = every_subclass(TiergateError) | every_subclass(OperatorError)
    assert {cls.__name__ for cls in classes} == set(drawn()) - {"TiergateError", "OperatorError"}
