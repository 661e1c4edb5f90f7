"""The eval metrics on tiny handmade sets whose answers were worked out by hand."""

from __future__ import annotations

import pytest

from tests.helpers import graph
from tiergate.evals.metrics import Outcome, TierTable, apgr, score_labelled

# Declared dearest first on purpose: the table orders tiers by price, not by file order.
PRICED = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  opus: {targets: [{backend: anthropic, model: big, price: {input: 15, output: 75}}]}
  local: {targets: [{backend: ollama, model: small}]}
  sonnet: {targets: [{backend: anthropic, model: mid, price: {input: 3, output: 15}}]}
"""


@pytest.fixture
def table() -> TierTable:
    return TierTable.of(graph(base=PRICED).config)


def outcome(id: str, gold: str, predicted: str, band: str, tokens: int) -> Outcome:
    return Outcome(id=id, predicted=predicted, band=band, phase="heuristic", input_tokens=tokens, gold=gold)


SET = [
    outcome("a", "local", "local", "LOCAL", 1000),
    outcome("b", "local", "opus", "CLAUDE", 1000),  # severe over-routing
    outcome("c", "sonnet", "local", "LOCAL", 2000),  # under-routing
    outcome("d", "opus", "local", "LOCAL", 1000),  # severe under-routing
    outcome("e", "opus", "opus", "CLAUDE", 4000),
    outcome("f", "sonnet", "sonnet", "AMBIGUOUS", 2000),
]


def test_tiers_are_ranked_cheapest_first_by_price(table: TierTable) -> None:
    assert table.order == ("local", "sonnet", "opus")
    assert (table.cheapest, table.dearest) == ("local", "opus")
    assert table.cost("sonnet", 1_000_000, 1_000_000) == pytest.approx(18.0)


def test_confusion_and_shares(table: TierTable) -> None:
    r = score_labelled(SET, table)
    assert r.confusion == [[1, 0, 1], [1, 1, 0], [1, 0, 1]]  # rows gold, columns predicted
    assert r.accuracy == pytest.approx(3 / 6)
    assert r.sufficiency == pytest.approx(4 / 6)
    assert (r.under, r.severe_under) == (pytest.approx(2 / 6), pytest.approx(1 / 6))
    assert (r.over, r.severe_over) == (pytest.approx(1 / 6), pytest.approx(1 / 6))
    assert r.phase1_share == pytest.approx(5 / 6)
    assert r.counts == {
        "correct": 3,
        "sufficient": 4,
        "under": 2,
        "severe_under": 1,
        "over": 1,
        "severe_over": 1,
        "phase1": 5,
    }


def test_cost_by_gold_tier_output_estimate(table: TierTable) -> None:
    # output tokens 300 / 800 / 1500 for gold local / sonnet / opus; prices per 1M tokens
    r = score_labelled(SET, table)
    assert r.cost == pytest.approx(0.0375 + 0.1725 + 0.018)  # b on opus, e on opus, f on sonnet
    assert r.cost_dearest == pytest.approx(0.0375 + 0.0375 + 0.09 + 0.1275 + 0.1725 + 0.09)
    assert r.cost_oracle == pytest.approx(0.018 + 0.1275 + 0.1725 + 0.018)
    assert r.saved == pytest.approx(1 - 0.228 / 0.555)
    assert r.oracle_saved == pytest.approx(1 - 0.336 / 0.555)


def test_cost_with_a_fixed_output_estimate(table: TierTable) -> None:
    r = score_labelled(SET, table, fixed_output=1000)
    assert r.cost_dearest == pytest.approx(11000 * 15 / 1e6 + 6 * 1000 * 75 / 1e6)


def test_report_as_json_names_every_metric(table: TierTable) -> None:
    d = score_labelled(SET, table).to_dict()
    assert d["confusion"]["rows_gold_cols_predicted"] == ["local", "sonnet", "opus"]
    assert d["severe_under_routing"] == pytest.approx(1 / 6)
    assert d["saved_vs_dearest"] == pytest.approx(1 - 0.228 / 0.555)


def test_unknown_tier_and_empty_sets_are_refused(table: TierTable) -> None:
    with pytest.raises(ValueError):
        score_labelled([], table)
    with pytest.raises(ValueError):
        score_labelled([outcome("x", "haiku", "local", "LOCAL", 1)], table)


def test_apgr_of_a_router_that_knows_nothing_useful() -> None:
    # thresholds at the 0/50/100% quantiles: 0.1 (all strong), 0.5 (half), > 0.9 (none)
    result = apgr([0.1, 0.4, 0.6, 0.9], [1, 1, 1, 1], [1, 0, 1, 0], [False, False, True, True], n_thresholds=2)
    assert [(p.strong_share, p.performance) for p in result.points] == [(0.0, 0.5), (0.5, 0.75), (1.0, 1.0)]
    assert result.apgr == pytest.approx(0.5)
    assert (result.strong_performance, result.weak_performance) == (1.0, 0.5)
    assert (result.operating_share, result.operating_performance) == (0.5, 0.75)
    assert result.operating_pgr == pytest.approx(0.5)


def test_apgr_of_a_router_that_sends_the_weak_models_failures_up() -> None:
    result = apgr([0.1, 0.9, 0.2, 0.8], [1, 1, 1, 1], [1, 0, 1, 0], [False, True, False, True], n_thresholds=2)
    assert result.apgr == pytest.approx(0.75)
    assert result.operating_pgr == pytest.approx(1.0)


def test_apgr_is_undefined_without_a_gap() -> None:
    result = apgr([0.2, 0.8], [0.7, 0.7], [0.7, 0.7], [False, True])
    assert result.apgr is None and result.operating_pgr is None
