"""One interface for every encoder kind, and the factory that builds one behind an embedding cache.

An encoder turns texts into unit-length float32 rows. ``id`` names the model, the kind, every setting that
changes the vectors and the weights' digest, so a trained head can refuse vectors it was not trained on.
``inline`` says whether ``encode`` is cheap enough to call on the event loop.

Kinds:

- ``static``: the distilled table (:mod:`tiergate.learned.static`); inline, a few milliseconds at most.
- ``transformer``: all-MiniLM-L6-v2 itself, float32. ``backend`` picks onnxruntime when installed (about
  20% faster) and numpy otherwise; both give the same vectors and the same id.
- ``transformer-int8``: the same on onnxruntime with int8 weights, about twice as fast as numpy, cosine
  ~0.99 to the float vectors. Needs the ``onnx`` extra.

    encoder = build_encoder("static")                        # or "transformer", weights_dir=Path(...)
    encoder.id                                               # 'minilm-l6-v2/static-256-m2v1-t512c12@0147dd92'
    encoder.encode(["rename foo to bar", "design a sharded queue"]).shape   # (2, 256)

Raises :class:`~tiergate.errors.WeightsError` (``WeightsMissing``, ``WeightsBroken``, or the base class when
a needed runtime is not installed) when the encoder cannot start, and ValueError for settings out of range.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from tiergate.errors import WeightsError
from tiergate.learned.bert import F32
from tiergate.learned.cache import CachedEncoder

if TYPE_CHECKING:
    from tiergate.learned.weights import Weights

Kind = Literal["static", "transformer", "transformer-int8"]
Backend = Literal["auto", "numpy", "onnxruntime"]

#: Token budgets per kind: for the transformers, the largest that meets phase 1's latency budget on one
#: core (docs/encoders.md); the static encoder's cost is tokenizing, so it reads more.
MAX_TOKENS: dict[str, int] = {"static": 512, "transformer": 128, "transformer-int8": 192}
_NEEDS_ONNX = "needs onnxruntime and onnx, which are not installed: pip install 'tiergate[onnx]'"


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
    backend: Backend = "auto",
    weights: Weights | None = None,
) -> CachedEncoder:
    """``dims`` applies to the static kind, ``backend`` to ``transformer``; ``cache_dir`` holds built artifacts;
    ``weights`` already loaded spares loading them again (several encoders from one model)."""
    from tiergate.learned import onnx_encoder
    from tiergate.learned.weights import load_weights

    if kind not in MAX_TOKENS:
        raise ValueError(f"unknown encoder kind {kind!r}; expected one of {', '.join(MAX_TOKENS)}")
    if backend not in ("auto", "numpy", "onnxruntime"):
        raise ValueError(f"unknown backend {backend!r}; expected auto, numpy or onnxruntime")
    onnx = kind == "transformer-int8" or backend == "onnxruntime" or (backend == "auto" and onnx_encoder.available())
    if onnx and not onnx_encoder.available():
        raise WeightsError(f"encoder kind {kind!r} with backend {backend!r} {_NEEDS_ONNX}")
    weights = weights or load_weights(weights_dir)
    tokens = MAX_TOKENS[kind] if max_tokens is None else max_tokens
    inner: Encoder
    if kind == "static":
        from tiergate.learned.static import StaticEncoder

        inner = StaticEncoder.build(weights, dims=dims, max_tokens=tokens, cache_dir=cache_dir)
    elif onnx:
        int8 = kind == "transformer-int8"
        inner = onnx_encoder.OnnxEncoder.build(weights, max_tokens=tokens, int8=int8, cache_dir=cache_dir)
    else:
        from tiergate.learned.transformer import TransformerEncoder

        inner = TransformerEncoder.build(weights, max_tokens=tokens)
    return CachedEncoder(inner, size=cache_size)
