from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import chat, graph, request
from tiergate.rules.features import Features

SCORERS = """
routing:
  keywords:
    hard: [proof, deadlock, race]
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 100}, weight: 1}
    - {name: turns, feature: message_count, transform: {kind: threshold, at: 3}, weight: 1}
    - {name: words, feature: last_user_text, transform: {kind: keywords, keywords: hard, saturate: 2}, weight: 1}
    - {name: tools, feature: tools_present, transform: {kind: boolean}, weight: 1}
    - {name: shrink, feature: total_chars, transform: {kind: ramp, from: 100, to: 0}, weight: 0}
  bands: {local: 0.2, claude: 0.6}
"""


def test_transforms_and_normalised_weights() -> None:
    g = graph(SCORERS)
    values, contributions, raw = g.scorers.evaluate(Features.of(chat("x" * 50 + " proof")))
    assert raw == [56.0, 1.0, 1.0, 0.0, 56.0]
    np.testing.assert_allclose(values, [0.56, 0.0, 0.5, 0.0, 0.44])
    np.testing.assert_allclose(contributions, [0.14, 0.0, 0.125, 0.0, 0.0])


def test_threshold_is_inclusive() -> None:
    g = graph(SCORERS)
    msgs = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    values, _, _ = g.scorers.evaluate(Features.of(request(messages=msgs)))
    assert values[1] == 1.0


@pytest.mark.parametrize(
    ("text", "band"),
    [("x", "LOCAL"), ("x" * 60 + " proof", "AMBIGUOUS"), ("x" * 100 + " proof race deadlock", "CLAUDE")],
)
def test_bands_from_score(text: str, band: str) -> None:
    g = graph(SCORERS)
    result = g.phase1(
        Features.of(
            request(
                messages=[{"role": "user", "content": text}],
                tools=[{"type": "function", "function": {"name": "f"}}] if band == "CLAUDE" else None,
            )
        )
    )
    assert result.band == band
    assert result.tier == {"LOCAL": "local", "AMBIGUOUS": "sonnet", "CLAUDE": "sonnet"}[band]
    assert 0.0 <= result.confidence <= 1.0


PRIORITY = """
routing:
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 100}, weight: 3}
    - {name: prio, feature: header.x-priority, transform: {kind: ramp, from: 0, to: 10}, weight: 1}
    - {name: huge, feature: max_tokens, transform: {kind: threshold, at: 20000000}, weight: 0}
  bands: {local: 0.3, claude: 0.6}
"""


@pytest.mark.parametrize("sent", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_a_client_value_that_is_no_finite_number_scores_0(sent: str) -> None:
    """``x-priority: nan`` made the whole score NaN, which the bands read as LOCAL (score 0.0) while the
    trace still showed the size scorer's share."""
    g = graph(PRIORITY)
    f = Features.of(chat("x" * 300), {"x-priority": sent})
    values, _, raw = g.scorers.evaluate(f)
    assert (raw[1], values[1]) == (0.0, 0.0)
    result = g.phase1(f)
    assert (result.band, result.score) == ("CLAUDE", pytest.approx(0.75))


@pytest.mark.parametrize(("limit", "value"), [(20_000_000, 1.0), (19_999_999, 0.0)])
def test_a_threshold_at_a_large_value_is_still_a_step(limit: int, value: float) -> None:
    """``at - 1e-9`` is ``at`` from about 1e7, so a value exactly at it divided 0 by 0 (a NaN score)."""
    g = graph(PRIORITY)
    values, _, _ = g.scorers.evaluate(Features.of(chat("x", max_tokens=limit)))
    assert values[2] == value
