"""The trained head: embeddings of the user's ask in, P(tier >= sonnet) and P(tier = opus) out.

An ordinal model as two logistic regressions (``sonnet``: tier >= sonnet, ``opus``: tier = opus) over the
embeddings of the encoders it was trained with. ``combine`` says how several encoders join: ``concat``
(the default of ``tiergate train``) is one regression over all their vectors side by side, stored as each
member's slice of the weights, so the logits add up; ``mean`` is one regression per encoder, with the
probabilities averaged. The file is small
JSON, kept in the repository and named by ``routing.learned.head``; it records everything needed to
refuse vectors it was not trained on (each encoder's id) and to tell one training from another.

    {"format": 1, "text": "ask", "combine": "concat", "trained": {"sha256": "...", "sources": {...}, "cases": 366},
     "members": [{"encoder": "minilm-l6-v2/static-256-m2v1-t512c12@0147dd92", "kind": "static",
                  "sonnet": {"weights": [...], "bias": 0.1}, "opus": {...}}]}

    head = Head.load(Path("heads/default.json"))
    p_sonnet, p_opus = head.predict([vector_of_member_0, vector_of_member_1])
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from tiergate.errors import OperatorError

F64 = npt.NDArray[np.float64]
FORMAT = 1


class HeadError(OperatorError):
    """The head file cannot be used: missing, unreadable, or made for other vectors. The message says which."""


class Logistic(msgspec.Struct, frozen=True):
    weights: list[float]
    bias: float


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))


#: The texts a member can read, by their name in the head file: the feature that holds each.
TEXTS = {"ask": "ask_text", "prose": "ask_prose"}


class Member(msgspec.Struct, frozen=True):
    """One encoder's part of the head, reading one text of the request (``TEXTS``)."""

    encoder: str
    kind: str
    sonnet: Logistic
    opus: Logistic
    text: str = "ask"

    @property
    def feature(self) -> str:
        return TEXTS[self.text]


class Training(msgspec.Struct, frozen=True):
    """Where the head came from: a hash of the training rows and labels, and what was used."""

    sha256: str
    cases: int
    sources: dict[str, float] = {}
    l2: float = 0.0
    cv: dict[str, Any] = {}


class HeadFile(msgspec.Struct, frozen=True):
    format: int
    text: str
    members: list[Member]
    trained: Training
    combine: Literal["mean", "concat"] = "mean"


@dataclass(frozen=True)
class Head:
    file: HeadFile
    #: A short hash of the file's bytes: the head's version in every decision.
    version: str
    path: str

    @classmethod
    def load(cls, path: Path) -> Head:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise HeadError(f"learned head {path}: cannot read it ({exc.strerror or exc})") from None
        try:
            file = msgspec.json.decode(raw, type=HeadFile)
        except msgspec.DecodeError as exc:
            raise HeadError(f"learned head {path}: not a head file ({exc})") from None
        if file.format != FORMAT:
            raise HeadError(f"learned head {path}: format {file.format}, this tiergate reads format {FORMAT}")
        if not file.members:
            raise HeadError(f"learned head {path}: it has no members")
        unknown = sorted({m.text for m in file.members} - TEXTS.keys())
        if unknown:
            raise HeadError(f"learned head {path}: members read {unknown}, this tiergate knows {sorted(TEXTS)}")
        for i, member in enumerate(file.members):
            problem = _unusable(member)
            if problem is not None:
                raise HeadError(f"learned head {path}: member {i} ({member.kind}, {member.encoder}) {problem}")
        return cls(file, hashlib.sha256(raw).hexdigest()[:12], str(path))

    def check_dims(self, dims: list[int]) -> None:
        """Raise HeadError unless each member has as many weights as its encoder's vectors have dimensions
        (``dims``, in member order): a head trained on other vectors must not load as usable."""
        for i, (member, dim) in enumerate(zip(self.file.members, dims, strict=True)):
            if len(member.sonnet.weights) != dim:
                raise HeadError(
                    f"learned head {self.path}: member {i} ({member.kind}, {member.encoder}) has "
                    f"{len(member.sonnet.weights)} weights, and its encoder gives {dim}-dimensional vectors; "
                    "retrain it (tiergate train)"
                )

    @property
    def encoders(self) -> list[tuple[str, str]]:
        """(kind, id) of each member's encoder, in order."""
        return [(m.kind, m.encoder) for m in self.file.members]

    @property
    def inputs(self) -> list[str]:
        """Each member's input as ``kind`` or ``kind:text`` (``tiergate train --encoders``), in order."""
        return [m.kind if m.text == "ask" else f"{m.kind}:{m.text}" for m in self.file.members]

    def predict(self, vectors: list[F64]) -> tuple[float, float]:
        """(P(>= sonnet), P(opus)). ``concat``: the members' logits add up (one regression over the joined
        vectors); ``mean``: the members' probabilities are averaged. The two regressions are fitted apart, so
        they can disagree: when P(opus) is the larger, P(>= sonnet) is raised to it (whatever needs opus
        needs at least sonnet), never the other way, so a disagreement errs towards the stronger tier."""
        with np.errstate(over="ignore", invalid="ignore"):
            logits = [w @ x + b for (w, b), x in zip(self._arrays, vectors, strict=True)]  # each (sonnet, opus)
            z = sum(logits[1:], logits[0])
        if not all(np.isfinite(each).all() for each in logits) or not np.isfinite(z).all():
            raise HeadError(f"learned head {self.path}: its logits are not finite numbers (weights too large?)")
        if self.file.combine == "concat":
            p_sonnet, p_opus = _sigmoid(float(z[0])), _sigmoid(float(z[1]))
        else:
            p_sonnet = sum(_sigmoid(float(z[0])) for z in logits) / len(logits)
            p_opus = sum(_sigmoid(float(z[1])) for z in logits) / len(logits)
        return max(p_sonnet, p_opus), p_opus

    @functools.cached_property
    def _arrays(self) -> list[tuple[F64, F64]]:
        """Each member's two regressions as one (2, dim) matrix and its biases, built once: the file keeps
        the weights as lists, and turning them into arrays on every request cost more than the products."""
        return [
            (
                np.array([m.sonnet.weights, m.opus.weights], dtype=np.float64),
                np.array([m.sonnet.bias, m.opus.bias], dtype=np.float64),
            )
            for m in self.file.members
        ]


def _unusable(member: Member) -> str | None:
    """Why a member's regressions cannot be used (None: they can): the lengths differ, there are none, or a
    value is not finite or so large that a product with a unit vector overflows."""
    sonnet, opus = len(member.sonnet.weights), len(member.opus.weights)
    if sonnet != opus:
        return f"has {sonnet} sonnet weights and {opus} opus weights; both must match its encoder's dimension"
    if sonnet == 0:
        return "has no weights"
    for part, regression in (("sonnet", member.sonnet), ("opus", member.opus)):
        values = np.asarray([*regression.weights, regression.bias], dtype=np.float64)
        if not np.isfinite(values).all():
            return f"has a {part} weight or bias that is not a finite number"
        with np.errstate(over="ignore"):
            if not np.isfinite(np.abs(values).sum()):
                return f"has {part} weights too large to use (their sum overflows)"
    return None


def head_text(file: HeadFile) -> str:
    """``file`` as indented JSON, weights rounded to 6 digits so diffs stay readable."""
    data = msgspec.to_builtins(file)
    for member in data["members"]:
        for part in ("sonnet", "opus"):
            member[part]["weights"] = [round(w, 6) for w in member[part]["weights"]]
            member[part]["bias"] = round(member[part]["bias"], 6)
    return json.dumps(data, indent=1) + "\n"


def head_version(text: str) -> str:
    """The version of a head file with this text (as :meth:`Head.load` computes it)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_head(path: Path, file: HeadFile) -> str:
    """Write ``file`` (:func:`head_text`); its version. Written whole (a temporary file in the same folder, then
    renamed over ``path``): a running gateway's head watcher never reads half a file."""
    text = head_text(file)
    fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(part, 0o644)  # mkstemp's 0600 would hide it from a gateway running as another user
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return head_version(text)
