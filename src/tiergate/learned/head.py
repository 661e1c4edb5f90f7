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
        return cls(file, hashlib.sha256(raw).hexdigest()[:12], str(path))

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
        logits = [w @ x + b for (w, b), x in zip(self._arrays, vectors, strict=True)]  # each (sonnet, opus)
        if self.file.combine == "concat":
            z = sum(logits[1:], logits[0])
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


def write_head(path: Path, file: HeadFile) -> str:
    """Write ``file`` as indented JSON (weights rounded to 6 digits, so diffs stay readable); its version."""
    data = msgspec.to_builtins(file)
    for member in data["members"]:
        for part in ("sonnet", "opus"):
            member[part]["weights"] = [round(w, 6) for w in member[part]["weights"]]
            member[part]["bias"] = round(member[part]["bias"], 6)
    text = json.dumps(data, indent=1) + "\n"
    path.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
