"""The embedding LRU: a hit never reaches the encoder; misses go in one batch; stored rows cannot change."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.learned.fakes import CountingEncoder
from tiergate.learned.cache import CachedEncoder, text_key


def test_a_hit_does_not_call_the_encoder_again() -> None:
    fake = CountingEncoder()
    cached = CachedEncoder(fake, size=8)
    first = cached.encode(["fix the failing test"])
    second = cached.encode(["fix the failing test"])
    assert fake.calls == [["fix the failing test"]]
    np.testing.assert_array_equal(first, second)
    assert (cached.hits, cached.misses) == (1, 1)


def test_only_misses_are_encoded_once_each_in_one_batch() -> None:
    fake = CountingEncoder()
    cached = CachedEncoder(fake, size=8)
    cached.encode(["a"])
    out = cached.encode(["bb", "a", "ccc", "bb"])
    assert fake.calls == [["a"], ["bb", "ccc"]]
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.float32)[[2, 1, 3, 2]])


def test_cached_looks_without_encoding() -> None:
    fake = CountingEncoder()
    cached = CachedEncoder(fake, size=8)
    assert cached.cached("ask") is None
    cached.encode(["ask"])
    row = cached.cached("ask")
    assert row is not None and row.tolist() == [0, 0, 0, 1]
    assert fake.calls == [["ask"]]
    with pytest.raises(ValueError, match="read-only"):
        row[0] = 5


def test_least_recently_used_goes_first() -> None:
    fake = CountingEncoder()
    cached = CachedEncoder(fake, size=2)
    cached.encode(["a"])
    cached.encode(["b"])
    cached.encode(["a"])  # a is now the most recent
    cached.encode(["c"])  # evicts b
    assert cached.cached("a") is not None and cached.cached("b") is None


def test_the_key_is_a_hash_not_the_text_and_takes_any_string() -> None:
    key = text_key("secret token sk-123")
    assert len(key) == 16 and b"secret" not in key
    assert text_key("lone \ud800 surrogate") != text_key("lone ? surrogate")


def test_it_presents_the_inner_encoders_identity() -> None:
    fake = CountingEncoder(inline=False)
    cached = CachedEncoder(fake)
    assert (cached.id, cached.dim, cached.inline) == ("fake/counting", 4, False)
    with pytest.raises(ValueError, match="at least 1"):
        CachedEncoder(fake, size=0)
