"""Distillation is the model2vec recipe and deterministic: same weights, same table, signs included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.learned.bert import Bert
from tiergate.learned.distil import BATCH, distil, pca, sif_weights
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.weights import Weights, load_weights


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Weights:
    return load_weights(tiny_model(tmp_path_factory.mktemp("tiny")), env={})


def parts(weights: Weights) -> tuple[Bert, Tokenizer]:
    return Bert(weights), Tokenizer.parse(weights.tokenizer_json, max_tokens=16)


def test_rows_are_the_token_output_projected_and_weighted(tiny: Weights) -> None:
    bert, tokenizer = parts(tiny)
    table = distil(bert, tokenizer, dims=16)  # full width: PCA is only a rotation
    vocab = tiny.config.vocab_size
    outputs = np.stack([bert.hidden(np.array([[2, i, 3]]))[0, 1] for i in range(vocab)])
    expected = pca(outputs, 16) * sif_weights(vocab)[:, None]
    np.testing.assert_allclose(table, expected, atol=1e-5)
    # A rotation keeps the geometry: distances between rows survive up to the SIF scaling.
    centred = (outputs - outputs.mean(0)) * sif_weights(vocab)[:, None]
    np.testing.assert_allclose(table @ table.T, centred @ centred.T, atol=1e-4)


def test_two_runs_give_the_same_table_and_signs_are_fixed(tiny: Weights) -> None:
    first = distil(*parts(tiny), dims=8)
    again = distil(*parts(tiny), dims=8)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (tiny.config.vocab_size, 8) and first.dtype == np.float32


def test_components_come_by_variance_each_with_its_largest_loading_positive() -> None:
    rng = np.random.default_rng(1)
    vectors = (rng.standard_normal((5000, 4)) * [1.0, 5.0, 0.1, 2.0]).astype(np.float32)
    projected = pca(vectors, 3)
    centred = vectors - vectors.mean(axis=0)
    # The axes are +e2, +e4, +e1 (never -e2...): each column is the matching input column, same sign.
    for column, axis in enumerate([1, 3, 0]):
        correlation = np.corrcoef(projected[:, column], centred[:, axis])[0, 1]
        assert correlation > 0.99  # a flipped axis would give -0.99


def test_frequent_tokens_weigh_less() -> None:
    weights = sif_weights(30522)
    assert np.all(np.diff(weights) > 0)
    assert weights[2000] == pytest.approx(0.68, abs=0.02)  # "the" is id 1996 in BERT's vocabulary
    assert weights[-1] > 0.95


def test_a_subset_fills_only_its_rows(tiny: Weights, tmp_path: Path) -> None:
    ids = [*range(5, 5 + 40), tiny.config.vocab_size - 1]
    table = distil(*parts(tiny), dims=8, ids=ids)
    filled = np.flatnonzero(np.abs(table).sum(axis=1))
    assert filled.tolist() == ids
    assert BATCH > 1


def test_dims_out_of_range_are_refused(tiny: Weights) -> None:
    with pytest.raises(ValueError, match="between 1 and 16"):
        distil(*parts(tiny), dims=17)
    with pytest.raises(ValueError, match="more than 8 vocabulary ids"):
        distil(*parts(tiny), dims=8, ids=range(8))
