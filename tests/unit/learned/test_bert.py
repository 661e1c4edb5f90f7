"""The forward pass's parts: exact GELU without scipy, padding that changes nothing, pooling."""

from __future__ import annotations

import math

import numpy as np

from tiergate.learned.bert import Bert, _gelu, normalise, pool


def test_gelu_is_the_erf_form_to_float32_precision() -> None:
    x = np.linspace(-12, 12, 24_001, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert np.abs(_gelu(x.copy()) - exact).max() < 2e-6
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    assert np.abs(tanh_form - exact).max() > 1e-4  # the approximation we must not be


def test_padding_a_row_does_not_change_its_vector(bert: Bert) -> None:
    short = np.array([[101, 1037, 2158, 102]])
    padded = np.array([[101, 1037, 2158, 102, 0, 0, 0], [101, 2003, 5983, 2833, 1012, 2054, 102]])
    mask = padded != 0
    alone = pool(bert.hidden(short), short != 0)[0]
    batched = pool(bert.hidden(padded, mask), mask)
    np.testing.assert_allclose(batched[0], alone, atol=2e-6)
    unmasked = pool(bert.hidden(padded), np.ones_like(mask))[0]  # attending to the pads does change it
    assert float(unmasked @ alone) < 0.9999


def test_pool_averages_real_tokens_only_and_normalises() -> None:
    hidden = np.array([[[1.0, 0.0], [0.0, 1.0], [100.0, 100.0]]], dtype=np.float32)
    out = pool(hidden, np.array([[True, True, False]]))
    np.testing.assert_allclose(out, [[math.sqrt(0.5), math.sqrt(0.5)]], rtol=1e-6)
    assert out.dtype == np.float32


def test_normalise_leaves_a_zero_row_at_zero() -> None:
    out = normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
