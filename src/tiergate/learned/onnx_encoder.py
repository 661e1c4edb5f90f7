"""The transformer on onnxruntime: the same vectors as numpy, faster; or int8 weights, faster still.

Needs the optional ``onnx`` extra (onnxruntime and onnx; the Makefile installs it). The graph is built
from the weights (:mod:`tiergate.learned.graph`) and run on one thread, like the numpy encoder; pooling is
the same numpy mean + normalise.

- ``int8=False``: float32, built in memory at start (about a second). Its vectors equal the numpy
  encoder's to float rounding, so it has the same id and either can serve a head trained on the other.
- ``int8=True``: dense weights quantised per channel. Built on first use (a few seconds) and kept beside
  the static tables as ``int8-<digest>-<recipe>.onnx``. Its vectors differ from the float model's (cosine
  0.99 on average, 0.98 at worst on the reference sentences), so its id says ``int8``. Activations are
  quantised per call, so a text's vector would depend on the other texts in a padded batch: int8 encodes
  one text per run, and serving and training see the same vectors.

    encoder = OnnxEncoder.build(load_weights(), max_tokens=128)             # float32
    encoder = OnnxEncoder.build(load_weights(), max_tokens=256, int8=True)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tiergate.errors import WeightsBroken
from tiergate.learned.bert import F32, pool
from tiergate.learned.graph import GRAPH_RECIPE, build_graph, quantize
from tiergate.learned.tables import cache_dir
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.transformer import BATCH, MODEL
from tiergate.learned.weights import Weights


def available() -> bool:
    """Whether onnxruntime and onnx are installed (checked without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def int8_path(directory: Path, digest: str) -> Path:
    return directory / f"int8-{digest[:16]}-{GRAPH_RECIPE}.onnx"


def prepare_int8(weights: Weights, directory: Path | None = None) -> Path:
    """The cached int8 model for these weights, built and saved first when absent."""
    path = int8_path(directory if directory is not None else cache_dir(), weights.digest)
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            quantize(build_graph(weights), Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        detail = f"the int8 model cannot be saved ({exc}); point TIERGATE_CACHE_DIR at a writable directory"
        raise WeightsBroken(str(path), detail, [*weights.searched, f"int8 model: {path}"]) from exc
    return path


class OnnxEncoder:
    inline = False

    def __init__(self, session: Any, tokenizer: Tokenizer, digest: str, dim: int, *, int8: bool) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.dim = dim
        self.int8 = int8
        kind = f"transformer-int8-{GRAPH_RECIPE}" if int8 else "transformer"
        self.id = f"{MODEL}/{kind}-{tokenizer.label}@{digest[:8]}"

    @classmethod
    def build(
        cls, weights: Weights, *, max_tokens: int = 256, int8: bool = False, cache_dir: Path | None = None
    ) -> OnnxEncoder:
        """Raises ImportError without onnxruntime, WeightsBroken when the model cannot be built or loaded."""
        import onnxruntime as ort

        if max_tokens > weights.config.max_positions:
            raise ValueError(f"max_tokens {max_tokens} exceeds the model's {weights.config.max_positions} positions")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        source: Any = str(prepare_int8(weights, cache_dir)) if int8 else build_graph(weights).SerializeToString()
        try:
            session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad model
            where = source if int8 else weights.origin
            raise WeightsBroken(where, f"onnxruntime cannot load the model ({exc}); delete it to rebuild") from exc
        tokenizer = Tokenizer.parse(weights.tokenizer_json, max_tokens=max_tokens)
        return cls(session, tokenizer, weights.digest, weights.config.hidden_size, int8=int8)

    def encode(self, texts: Sequence[str]) -> F32:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        ids = [self.tokenizer.ids(text) for text in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        step = 1 if self.int8 else BATCH
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            seq = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), seq), dtype=np.int64)
            mask = np.zeros((len(chunk), seq), dtype=np.int64)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            (hidden,) = self.session.run(["hidden"], {"input_ids": batch, "attention_mask": mask})
            out[chunk] = pool(hidden, mask.astype(np.bool_))
        return out
