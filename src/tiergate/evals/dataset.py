"""Evaluation sets: JSON Lines files of chat requests with what routing should have done.

Two kinds, told apart by the first line:

- **labelled** — ``{"id", "gold", "why", "request"}`` (``tags`` optional): ``gold`` is the cheapest tier
  that answers the request well, ``request`` an OpenAI chat body. evals/dev.jsonl and evals/test.jsonl.
- **scored** — ``{"messages", "strong_score", "weak_score"}`` (other chat fields allowed, ``id`` optional):
  how well a strong and a weak model answered, for RouteLLM's APGR.

A file mixing the kinds, or a line that does not decode, fails with ``file:line: message``.

    data = load_dataset(Path("evals/test.jsonl"))
    data.kind, data.cases[0].gold, data.cases[0].request.messages
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from tiergate.config.problems import did_you_mean
from tiergate.errors import OperatorError
from tiergate.wire import ChatRequest

Kind = Literal["labelled", "scored"]
_SCORE_KEYS = ("strong_score", "weak_score")


class DatasetError(OperatorError):
    """An evaluation file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    id: str
    request: ChatRequest
    gold: str | None = None
    why: str = ""
    tags: tuple[str, ...] = ()
    strong_score: float | None = None
    weak_score: float | None = None
    line: int = 0
    """Where the case is in its file (1-based; 0 for a case not read from one), for messages about it."""


@dataclass(frozen=True)
class Dataset:
    path: str
    kind: Kind
    cases: tuple[Case, ...] = field(default_factory=tuple)

    def check_tiers(self, tiers: Iterable[str]) -> None:
        """Every gold label must name a configured tier; the message says where, and the likely tier meant."""
        known = set(tiers)
        for case in self.cases:
            if case.gold is not None and case.gold not in known:
                where = f"{self.path}:{case.line}" if case.line else self.path
                raise DatasetError(
                    f"{where}: case '{case.id}' has gold '{case.gold}', which is not a tier of the config "
                    f"({', '.join(sorted(known))}){did_you_mean(case.gold, sorted(known))}"
                )


def load_dataset(path: Path) -> Dataset:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_dataset(text, str(path))


def parse_dataset(text: str, name: str = "<dataset>") -> Dataset:
    kind: Kind | None = None
    cases: list[Case] = []
    ids: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            row = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            raise DatasetError(f"{where}: not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: each line must be a JSON object")
        this: Kind = "scored" if any(k in row for k in _SCORE_KEYS) else "labelled"
        if kind is not None and this != kind:
            raise DatasetError(f"{where}: a {this} case in a {kind} file; use one format per file")
        kind = this
        case = _scored(row, where, len(cases)) if this == "scored" else _labelled(row, where)
        case = dataclasses.replace(case, line=lineno)
        if case.id in ids:
            raise DatasetError(f"{where}: duplicate id '{case.id}'")
        ids.add(case.id)
        cases.append(case)
    if kind is None:
        raise DatasetError(f"{name}: no cases")
    return Dataset(name, kind, tuple(cases))


def _labelled(row: dict[str, Any], where: str) -> Case:
    missing = [k for k in ("id", "gold", "request") if k not in row]
    if missing:
        raise DatasetError(f"{where}: a labelled case needs {', '.join(missing)} (format: id, gold, why, request)")
    if not isinstance(row["id"], str) or not isinstance(row["gold"], str):
        raise DatasetError(f"{where}: `id` and `gold` must be strings")
    tags = row.get("tags") or []
    return Case(
        id=row["id"],
        request=_request(row["request"], where),
        gold=row["gold"],
        why=str(row.get("why", "")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def _scored(row: dict[str, Any], where: str, index: int) -> Case:
    scores = []
    for key in _SCORE_KEYS:
        value = row.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DatasetError(f"{where}: `{key}` must be a number (format: messages, strong_score, weak_score)")
        scores.append(float(value))
    body = {k: v for k, v in row.items() if k not in (*_SCORE_KEYS, "id")}
    return Case(
        id=str(row.get("id", f"#{index + 1}")),
        request=_request(body, where),
        strong_score=scores[0],
        weak_score=scores[1],
    )


def _request(body: Any, where: str) -> ChatRequest:
    try:
        request = msgspec.convert(body, ChatRequest)
    except msgspec.ValidationError as exc:
        raise DatasetError(f"{where}: the request is not an OpenAI chat body: {exc}") from None
    if not request.messages:
        raise DatasetError(f"{where}: the request has no messages")
    return request
