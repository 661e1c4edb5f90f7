"""The static encoder on the real weights, with a table distilled from a slice of the vocabulary.

The full table takes tens of seconds (``tiergate encoder prepare``, run by the Makefile's install steps);
here PCA is fitted on 400 common tokens plus every token the test sentences use, which is enough for the
geometry the tests check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.learned.bert import Bert
from tiergate.learned.distil import RECIPE, distil
from tiergate.learned.static import StaticEncoder
from tiergate.learned.tables import table_path
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.weights import Weights, load_weights

FOOD = "A man is eating food."
BREAD = "A man is eating a piece of bread."
MARKET = "The stock market crashed today."
ASYNC_DB = "Refactor the database layer to use async queries."
ASYNC_IO = "Rewrite the DB access code with asyncio."
TEXTS = [FOOD, BREAD, MARKET, ASYNC_DB, ASYNC_IO]


@pytest.fixture(scope="module")
def encoder(weights: Weights, bert: Bert) -> StaticEncoder:
    tokenizer = Tokenizer.parse(weights.tokenizer_json, max_tokens=512)
    used = {int(i) for text in TEXTS for i in tokenizer.content_ids(text)}
    table = distil(bert, tokenizer, dims=256, ids=sorted(used | set(range(1996, 2396))))
    return StaticEncoder(table, tokenizer, weights.digest)


def test_unit_rows_of_the_table_width(encoder: StaticEncoder, weights: Weights) -> None:
    out = encoder.encode(TEXTS)
    assert out.shape == (5, 256) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-6)
    assert encoder.id == f"minilm-l6-v2/static-256-{RECIPE}-t512c12@{weights.digest[:8]}"


def test_deterministic(encoder: StaticEncoder) -> None:
    np.testing.assert_array_equal(encoder.encode(TEXTS), encoder.encode(TEXTS))
    np.testing.assert_array_equal(encoder.encode([BREAD])[0], encoder.encode(TEXTS)[1])


def test_similar_sentences_are_closer_than_unrelated_ones(encoder: StaticEncoder) -> None:
    food, bread, market, async_db, async_io = encoder.encode(TEXTS)
    assert food @ bread > food @ market + 0.2
    assert async_db @ async_io > async_db @ market + 0.2
    assert async_db @ async_io > async_db @ food


def test_a_text_with_no_tokens_is_zeros(encoder: StaticEncoder) -> None:
    np.testing.assert_array_equal(encoder.encode(["", "  \n\t "]), np.zeros((2, 256), np.float32))


def test_a_long_text_costs_its_budget_only(encoder: StaticEncoder) -> None:
    long = FOOD + " filler" * 5000 + " " + MARKET
    ids = encoder.tokenizer.content_ids(long)
    assert len(ids) == 512
    head = encoder.tokenizer.content_ids(FOOD).tolist()
    assert ids[: len(head)].tolist() == head  # the ask at the start survives the paste


def test_build_distils_into_the_given_cache_once_then_loads(tmp_path: Path) -> None:
    tiny = load_weights(tiny_model(tmp_path / "tiny"), env={})
    built = StaticEncoder.build(tiny, dims=8, max_tokens=32, cache_dir=tmp_path / "cache")
    path = table_path(tmp_path / "cache", tiny.digest, 8)
    assert path.exists()
    path.write_bytes(path.read_bytes())  # same bytes, new mtime: a reload must not rewrite it
    stamp = path.stat().st_mtime_ns
    again = StaticEncoder.build(tiny, dims=8, max_tokens=32, cache_dir=tmp_path / "cache")
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(built.encode(["alpha beta"]), again.encode(["alpha beta"]))
    assert built.id == again.id and built.dim == 8
