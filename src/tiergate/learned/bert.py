"""The BERT forward pass in numpy float32, as sentence-transformers runs all-MiniLM-L6-v2.

Embeddings (word + position + token type 0, LayerNorm), then per layer: self-attention with a padding mask,
residual + LayerNorm, a GELU feed-forward, residual + LayerNorm. Matching ``BertModel`` exactly: GELU is the
erf form (not the tanh approximation) and LayerNorm uses the config's epsilon.

For speed the weights are rearranged once at load: query, key and value are one (hidden, 3·hidden) matrix
with the 1/√head_dim scale folded into the query part, every dense matrix is stored (in, out) so a layer is
``x @ w``, and attention runs for all heads at once as batched matmuls on (batch, heads, seq, head_dim).

    bert = Bert(load_weights())
    hidden = bert.hidden(ids, mask)            # (batch, seq, 384) last hidden state
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tiergate.learned.weights import Weights

F32 = npt.NDArray[np.float32]

# erf as a ratio of odd and even polynomials on [-4, 4] (Eigen's float32 erf): within 1e-7 of math.erf,
# which is float32 resolution; outside ±4, erf is ±1 in float32.
_ERF_ALPHA = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_BETA = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32
    qkv_b: F32
    out_w: F32
    out_b: F32
    norm1_g: F32
    norm1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    norm2_g: F32
    norm2_b: F32


class Bert:
    """The encoder stack. ``hidden`` is pure and holds no state, so one instance serves any thread."""

    def __init__(self, weights: Weights) -> None:
        c, t = weights.config, weights.tensors
        self.config = c
        self.heads = c.num_heads
        self.head_dim = c.hidden_size // c.num_heads
        self.eps = np.float32(c.layer_norm_eps)
        self.word = t["embeddings.word_embeddings.weight"]
        # Token type is always 0 (single sentences): fold it into the position table.
        self.position = np.ascontiguousarray(
            t["embeddings.position_embeddings.weight"] + t["embeddings.token_type_embeddings.weight"][0]
        )
        self.norm_g, self.norm_b = t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"]
        scale = np.float32(1.0 / math.sqrt(self.head_dim))
        self.layers: list[_Layer] = []
        for n in range(c.num_layers):
            p = f"encoder.layer.{n}."
            q, k, v = (p + f"attention.self.{x}" for x in ("query", "key", "value"))
            self.layers.append(
                _Layer(
                    qkv_w=_in_out(np.concatenate([t[q + ".weight"] * scale, t[k + ".weight"], t[v + ".weight"]])),
                    qkv_b=np.concatenate([t[q + ".bias"] * scale, t[k + ".bias"], t[v + ".bias"]]),
                    out_w=_in_out(t[p + "attention.output.dense.weight"]),
                    out_b=t[p + "attention.output.dense.bias"],
                    norm1_g=t[p + "attention.output.LayerNorm.weight"],
                    norm1_b=t[p + "attention.output.LayerNorm.bias"],
                    up_w=_in_out(t[p + "intermediate.dense.weight"]),
                    up_b=t[p + "intermediate.dense.bias"],
                    down_w=_in_out(t[p + "output.dense.weight"]),
                    down_b=t[p + "output.dense.bias"],
                    norm2_g=t[p + "output.LayerNorm.weight"],
                    norm2_b=t[p + "output.LayerNorm.bias"],
                )
            )

    def hidden(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_] | None = None) -> F32:
        """The last hidden state for ``ids`` (batch, seq). ``mask`` marks real tokens; None means all are."""
        batch, seq = ids.shape
        x = (self.word[ids] + self.position[:seq]).reshape(batch * seq, -1)
        x = self._norm(x, self.norm_g, self.norm_b)
        bias = None
        if mask is not None and not mask.all():
            bias = np.where(mask, np.float32(0), np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]
        for layer in self.layers:
            x = self._layer(x, layer, batch, seq, bias)
        return x.reshape(batch, seq, -1)

    def _layer(self, x: F32, w: _Layer, batch: int, seq: int, bias: F32 | None) -> F32:
        h, d = self.heads, self.head_dim
        qkv = x @ w.qkv_w
        qkv += w.qkv_b
        q, k, v = qkv.reshape(batch, seq, 3, h, d).transpose(2, 0, 3, 1, 4)
        scores = q @ k.transpose(0, 1, 3, 2)  # (batch, heads, seq, seq)
        if bias is not None:
            scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * seq, h * d)
        attended = context @ w.out_w
        attended += w.out_b
        attended += x
        x = self._norm(attended, w.norm1_g, w.norm1_b)
        up = x @ w.up_w
        up += w.up_b
        down = _gelu(up) @ w.down_w
        down += w.down_b
        down += x
        return self._norm(down, w.norm2_g, w.norm2_b)

    def _norm(self, x: F32, gain: F32, bias: F32) -> F32:
        """LayerNorm over the last axis, in place on ``x``."""
        x -= x.mean(axis=-1, keepdims=True)
        var = np.einsum("ij,ij->i", x, x)[:, None]
        var /= np.float32(x.shape[-1])
        var += self.eps
        np.sqrt(var, out=var)
        x /= var
        x *= gain
        x += bias
        return x


def pool(hidden: F32, mask: npt.NDArray[np.bool_]) -> F32:
    """Mean over real tokens, then unit length: sentence-transformers' Pooling(mean) + Normalize."""
    weights = mask.astype(np.float32)
    summed = np.einsum("bsh,bs->bh", hidden, weights)
    summed /= np.maximum(weights.sum(axis=1, keepdims=True), np.float32(1e-9))
    return normalise(summed)


def normalise(x: F32) -> F32:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out: F32 = (x / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)
    return out


def _gelu(x: F32) -> F32:
    """x·Φ(x) = x/2·(1 + erf(x/√2)), in place on ``x``, without scipy's erf."""
    z = x * np.float32(1 / math.sqrt(2))
    np.clip(z, -4, 4, out=z)
    z2 = z * z
    p = np.full_like(z, _ERF_ALPHA[0])
    for c in _ERF_ALPHA[1:]:
        p *= z2
        p += c
    p *= z
    q = np.full_like(z, _ERF_BETA[0])
    for c in _ERF_BETA[1:]:
        q *= z2
        q += c
    p /= q  # erf(x/√2)
    p += 1
    x *= p
    x *= np.float32(0.5)
    return x


def _in_out(weight: F32) -> F32:
    """PyTorch's Linear stores (out, in); ``x @ w`` wants (in, out), contiguous for BLAS."""
    return np.ascontiguousarray(weight.T)
