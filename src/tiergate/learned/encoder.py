"""One interface for both encoder kinds, and the factory that builds either behind an embedding cache.

An encoder turns texts into unit-length float32 rows. ``id`` names the model, the kind, every setting that
changes the vectors and the weights' digest, so a trained head can refuse vectors it was not trained on.
``inline`` says whether ``encode`` is cheap enough to call on the event loop.

    encoder = build_encoder("static")                        # or "transformer", weights_dir=Path(...)
    encoder.id                                               # 'minilm-l6-v2/static-256-m2v1-t512@0147dd92'
    encoder.encode(["rename foo to bar", "design a sharded queue"]).shape   # (2, 256)

Raises :class:`~tiergate.errors.WeightsMissing` / :class:`~tiergate.errors.WeightsBroken` when the weights
cannot be used, and ValueError for settings out of range.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from tiergate.learned.bert import F32
from tiergate.learned.cache import CachedEncoder

Kind = Literal["static", "transformer"]

#: Token budgets per kind. The transformer's is the largest that meets phase 1's latency budget on one core
#: (docs/encoders.md); the static encoder's cost is tokenizing, so it can read more.
MAX_TOKENS: dict[str, int] = {"transformer": 128, "static": 512}


class Encoder(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def inline(self) -> bool: ...

    def encode(self, texts: Sequence[str]) -> F32:
        """(len(texts), dim) float32, each row of unit length (zeros for a text with no tokens)."""
        ...


def build_encoder(
    kind: Kind,
    weights_dir: Path | None = None,
    *,
    max_tokens: int | None = None,
    cache_size: int = 4096,
    dims: int = 256,
    cache_dir: Path | None = None,
) -> CachedEncoder:
    """``dims`` and ``cache_dir`` (where distilled tables live) apply to the static kind only."""
    from tiergate.learned.weights import load_weights

    if kind not in MAX_TOKENS:
        raise ValueError(f"unknown encoder kind {kind!r}; expected 'static' or 'transformer'")
    weights = load_weights(weights_dir)
    tokens = MAX_TOKENS[kind] if max_tokens is None else max_tokens
    inner: Encoder
    if kind == "transformer":
        from tiergate.learned.transformer import TransformerEncoder

        inner = TransformerEncoder.build(weights, max_tokens=tokens)
    else:
        from tiergate.learned.static import StaticEncoder

        inner = StaticEncoder.build(weights, dims=dims, max_tokens=tokens, cache_dir=cache_dir)
    return CachedEncoder(inner, size=cache_size)
