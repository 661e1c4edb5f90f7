"""``build_encoder``: either kind behind the cache, from a configured folder, with the errors the gateway catches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.errors import WeightsBroken, WeightsError
from tiergate.learned import onnx_encoder
from tiergate.learned.cache import CachedEncoder
from tiergate.learned.encoder import MAX_TOKENS, Encoder, build_encoder
from tiergate.learned.onnx_encoder import OnnxEncoder
from tiergate.learned.static import StaticEncoder
from tiergate.learned.transformer import TransformerEncoder


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return tiny_model(tmp_path / "tiny")


def test_transformer_kind(tiny: Path) -> None:
    encoder = build_encoder("transformer", tiny, max_tokens=32, cache_size=2, backend="numpy")
    assert isinstance(encoder, CachedEncoder) and isinstance(encoder.inner, TransformerEncoder)
    assert encoder.id.startswith("minilm-l6-v2/transformer-t32c12@") and encoder.dim == 16
    assert encoder.inline is False
    rows = encoder.encode(["alpha beta", "gamma"])
    assert rows.shape == (2, 16) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-6)


def test_static_kind_uses_the_given_cache(tiny: Path, tmp_path: Path) -> None:
    encoder = build_encoder("static", tiny, dims=8, cache_dir=tmp_path / "tables")
    assert isinstance(encoder.inner, StaticEncoder)
    assert encoder.inline is True and encoder.dim == 8
    assert encoder.id.startswith("minilm-l6-v2/static-8-") and f"-t{MAX_TOKENS['static']}c12@" in encoder.id
    assert len(list((tmp_path / "tables").iterdir())) == 1


def test_both_kinds_fit_the_protocol(tiny: Path, tmp_path: Path) -> None:
    kinds: list[Encoder] = [
        build_encoder("static", tiny, dims=8, cache_dir=tmp_path).inner,
        build_encoder("transformer", tiny, max_tokens=32).inner,
        build_encoder("transformer", tiny, max_tokens=32),
    ]
    assert len({encoder.id for encoder in kinds[:2]}) == 2


def test_auto_prefers_onnxruntime_with_the_same_id(tiny: Path, tmp_path: Path) -> None:
    import onnx  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this fails
    import onnxruntime  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this fails

    auto = build_encoder("transformer", tiny, max_tokens=32)
    assert isinstance(auto.inner, OnnxEncoder) and not auto.inner.int8
    numpy = build_encoder("transformer", tiny, max_tokens=32, backend="numpy")
    assert auto.id == numpy.id
    np.testing.assert_allclose(auto.encode(["alpha", "beta w1"]), numpy.encode(["alpha", "beta w1"]), atol=1e-5)
    int8 = build_encoder("transformer-int8", tiny, max_tokens=32, cache_dir=tmp_path)
    assert isinstance(int8.inner, OnnxEncoder) and int8.inner.int8 and int8.id != auto.id


def test_without_onnxruntime_auto_falls_back_and_int8_is_a_weights_error(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_encoder, "available", lambda: False)
    assert isinstance(build_encoder("transformer", tiny, max_tokens=32).inner, TransformerEncoder)
    with pytest.raises(WeightsError, match=r"pip install 'tiergate\[onnx\]'"):
        build_encoder("transformer-int8", tiny, max_tokens=32)
    with pytest.raises(WeightsError, match="backend 'onnxruntime'"):
        build_encoder("transformer", tiny, max_tokens=32, backend="onnxruntime")


def test_unknown_kind_or_backend(tiny: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoder kind 'dense'"):
        build_encoder("dense", tiny)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        build_encoder("transformer", tiny, backend="torch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exceeds the model's 64 positions"):
        build_encoder("transformer", tiny)  # the default 128 tokens


def test_broken_weights_surface_as_the_one_error_type(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(WeightsBroken) as caught:
        build_encoder("transformer", tmp_path / "model")
    assert isinstance(caught.value, WeightsError)
    assert "tokenizer.json, model.safetensors missing" in caught.value.message
