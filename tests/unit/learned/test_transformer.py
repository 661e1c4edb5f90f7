"""Our numpy transformer against the published model's own vectors (reference_vectors.json says how made)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.learned.transformer import TransformerEncoder
from tiergate.learned.weights import Weights, load_weights

REFERENCE = json.loads((Path(__file__).parent / "reference_vectors.json").read_text())
CASES = REFERENCE["cases"]


@pytest.fixture(scope="module")
def encoder(weights: Weights) -> TransformerEncoder:
    return TransformerEncoder.build(weights, max_tokens=256)


def test_every_reference_sentence_within_cosine_0_999(encoder: TransformerEncoder) -> None:
    texts = [case["text"] for case in CASES]
    ours = encoder.encode(texts)
    for text, case, mine in zip(texts, CASES, ours, strict=True):
        theirs = np.asarray(case["vector"], dtype=np.float64)
        cosine = float(mine @ theirs / np.linalg.norm(theirs))
        assert cosine >= 0.999, f"{text!r}: cosine {cosine:.6f}"
        assert len(encoder.tokenizer.ids(text)) == case["tokens"]
    assert max(case["tokens"] for case in CASES) > 128  # one case would be cut by the file's truncation


def test_the_published_food_and_bread_similarity(encoder: TransformerEncoder) -> None:
    food, bread = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(food @ bread) == pytest.approx(0.7553, abs=0.001)


def test_output_rows_are_unit_float32_in_input_order(encoder: TransformerEncoder) -> None:
    texts = [CASES[7]["text"], "hi", CASES[0]["text"]]  # long, short, middle: sorted internally
    batch = encoder.encode(texts)
    assert batch.dtype == np.float32 and batch.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-6)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(row, encoder.encode([text])[0], atol=2e-6)
    assert encoder.encode([]).shape == (0, 384)


def test_the_id_changes_with_anything_that_changes_the_vectors(weights: Weights, tmp_path: Path) -> None:
    at_256 = TransformerEncoder.build(weights, max_tokens=256).id
    assert at_256 == f"minilm-l6-v2/transformer-t256c12@{weights.digest[:8]}"
    assert TransformerEncoder.build(weights, max_tokens=128).id != at_256
    other = load_weights(tiny_model(tmp_path / "tiny", seed=1), env={})
    assert TransformerEncoder.build(other, max_tokens=32).id.split("@")[1] != at_256.split("@")[1]


def test_max_tokens_beyond_the_position_table_is_refused(weights: Weights) -> None:
    with pytest.raises(ValueError, match="512 positions"):
        TransformerEncoder.build(weights, max_tokens=513)
