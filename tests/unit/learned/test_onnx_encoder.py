"""The onnxruntime encoders: float32 gives the numpy encoder's vectors; int8 stays close and is cached."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this module fails
import onnxruntime  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this module fails
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.errors import WeightsBroken
from tiergate.learned.onnx_encoder import OnnxEncoder, int8_path
from tiergate.learned.transformer import TransformerEncoder
from tiergate.learned.weights import Weights, load_weights

CASES = json.loads((Path(__file__).parent / "reference_vectors.json").read_text())["cases"]
TEXTS = [case["text"] for case in CASES]
REFERENCE = np.asarray([case["vector"] for case in CASES], dtype=np.float64)
REFERENCE /= np.linalg.norm(REFERENCE, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def int8(weights: Weights, tmp_path_factory: pytest.TempPathFactory) -> OnnxEncoder:
    return OnnxEncoder.build(weights, max_tokens=256, int8=True, cache_dir=tmp_path_factory.mktemp("onnx"))


def test_float32_matches_numpy_and_the_reference(weights: Weights) -> None:
    float32 = OnnxEncoder.build(weights, max_tokens=256)
    ours = float32.encode(TEXTS)
    np.testing.assert_allclose(ours, TransformerEncoder.build(weights, max_tokens=256).encode(TEXTS), atol=1e-5)
    assert np.all((ours * REFERENCE).sum(axis=1) >= 0.999)
    assert float32.id == TransformerEncoder.build(weights, max_tokens=256).id  # same vectors, same id


def test_int8_stays_close_to_the_published_vectors(int8: OnnxEncoder) -> None:
    cosines = (int8.encode(TEXTS) * REFERENCE).sum(axis=1)
    assert cosines.min() >= 0.975 and cosines.mean() >= 0.99, cosines
    food, bread = int8.encode(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(food @ bread) == pytest.approx(0.7553, abs=0.01)
    assert "transformer-int8-" in int8.id


def test_int8_vectors_do_not_depend_on_the_batch(int8: OnnxEncoder) -> None:
    batch = int8.encode(TEXTS)
    alone = np.stack([int8.encode([text])[0] for text in TEXTS])
    np.testing.assert_array_equal(batch, alone)


def test_the_int8_model_is_built_once_into_the_cache(tmp_path: Path) -> None:
    tiny = load_weights(tiny_model(tmp_path / "tiny"), env={})
    first = OnnxEncoder.build(tiny, max_tokens=32, int8=True, cache_dir=tmp_path / "cache")
    path = int8_path(tmp_path / "cache", tiny.digest)
    stamp = path.stat().st_mtime_ns
    again = OnnxEncoder.build(tiny, max_tokens=32, int8=True, cache_dir=tmp_path / "cache")
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.encode(["alpha beta"]), again.encode(["alpha beta"]))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]


def test_a_corrupt_cached_model_is_a_weights_error(tmp_path: Path) -> None:
    tiny = load_weights(tiny_model(tmp_path / "tiny"), env={})
    int8_path(tmp_path, tiny.digest).write_bytes(b"not a model")
    with pytest.raises(WeightsBroken, match="delete it to rebuild"):
        OnnxEncoder.build(tiny, max_tokens=32, int8=True, cache_dir=tmp_path)
