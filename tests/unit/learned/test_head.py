"""The head: fitting on a tiny set with known answers, its file, and what it predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tiergate.learned.fit import fit_logistic, fit_ordinal, predict_logistic
from tiergate.learned.head import FORMAT, Head, HeadError, HeadFile, Logistic, Member, Training, write_head


def test_logistic_regression_learns_a_separable_rule() -> None:
    """x0 > 0 means yes: the fitted probabilities must agree, and the bias sits near the boundary."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(np.float64)
    beta = fit_logistic(X, y, np.ones(200), l2=0.1)
    p = predict_logistic(beta, X)
    assert ((p > 0.5) == (y > 0.5)).mean() >= 0.97
    assert beta[0] > 5 * abs(beta[1]) and beta[0] > 5 * abs(beta[2])
    assert abs(beta[-1]) < 1.0


def test_weights_move_the_fit_and_l2_shrinks_it() -> None:
    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    heavy_yes = fit_logistic(X, y, np.array([1.0, 9.0, 1.0, 9.0]), l2=1.0)
    assert predict_logistic(heavy_yes, X)[0] == pytest.approx(0.9, abs=0.02)
    loose = fit_logistic(X[:, :], np.array([0.0, 0.0, 1.0, 1.0]), np.ones(4), l2=0.01)
    tight = fit_logistic(X, np.array([0.0, 0.0, 1.0, 1.0]), np.ones(4), l2=10.0)
    assert abs(tight[0]) < abs(loose[0])


def test_the_ordinal_pair_reads_the_three_tiers() -> None:
    X = np.array([[-2.0], [-1.8], [0.0], [0.2], [2.0], [2.2]])
    gold = np.array([0, 0, 1, 1, 2, 2])
    sonnet, opus = fit_ordinal(X, gold, np.ones(6), l2=0.01)
    ps, po = predict_logistic(sonnet, X), predict_logistic(opus, X)
    assert list(ps > 0.5) == [False, False, True, True, True, True]
    assert list(po > 0.5) == [False, False, False, False, True, True]


def member(encoder: str, w_sonnet: float, w_opus: float, kind: str = "static") -> Member:
    return Member(encoder, kind, Logistic([w_sonnet, 0.0], 0.0), Logistic([w_opus, 0.0], 0.0))


def test_members_are_averaged_and_a_larger_p_opus_raises_p_sonnet(tmp_path: Path) -> None:
    file = HeadFile(FORMAT, "ask", [member("a", 2.0, 4.0), member("b", 0.0, 4.0)], Training("x" * 64, 2))
    version = write_head(tmp_path / "head.json", file)
    head = Head.load(tmp_path / "head.json")
    assert head.version == version and head.encoders == [("static", "a"), ("static", "b")]
    p_sonnet, p_opus = head.predict([np.array([1.0, 0.0]), np.array([1.0, 0.0])])
    assert p_opus == pytest.approx(1 / (1 + np.exp(-4)))
    assert p_sonnet == p_opus  # the opus heads said more: what needs opus needs at least sonnet
    p_sonnet, p_opus = head.predict([np.array([-1.0, 0.0]), np.array([-1.0, 0.0])])
    assert p_sonnet == pytest.approx((1 / (1 + np.exp(2)) + 0.5) / 2) and p_opus < p_sonnet


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot read it"),
        (b"{not json", "not a head file"),
        (b'{"format": 9, "text": "ask", "members": [], "trained": {"sha256": "", "cases": 0}}', "format 9"),
        (b'{"format": 1, "text": "ask", "members": [], "trained": {"sha256": "", "cases": 0}}', "no members"),
    ],
)
def test_an_unusable_head_file_says_why(tmp_path: Path, content: bytes | None, why: str) -> None:
    path = tmp_path / "head.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(HeadError, match=why) as info:
        Head.load(path)
    assert str(path) in str(info.value)


def test_concat_members_add_their_logits(tmp_path: Path) -> None:
    """One regression over both encoders' vectors: the members' slices and the one bias sum to its logit."""
    first = Member("a", "static", Logistic([1.0, 0.0], -0.5), Logistic([0.0, 2.0], -1.0))
    second = Member("b", "transformer", Logistic([0.5], 0.0), Logistic([-1.0], 0.0))
    file = HeadFile(FORMAT, "ask", [first, second], Training("x" * 64, 2), combine="concat")
    write_head(tmp_path / "head.json", file)
    head = Head.load(tmp_path / "head.json")
    assert head.file.combine == "concat"
    p_sonnet, p_opus = head.predict([np.array([1.0, 1.0]), np.array([2.0])])
    assert p_sonnet == pytest.approx(1 / (1 + np.exp(-(1.0 - 0.5 + 1.0))))
    assert p_opus == pytest.approx(1 / (1 + np.exp(-(2.0 - 1.0 - 2.0))))


def test_a_head_file_without_combine_averages_its_members(tmp_path: Path) -> None:
    """Head files written before `combine` existed keep their meaning."""
    path = tmp_path / "head.json"
    raw = {
        "format": 1,
        "text": "ask",
        "trained": {"sha256": "x", "cases": 1},
        "members": [
            {
                "encoder": e,
                "kind": "static",
                "sonnet": {"weights": [w], "bias": 0.0},
                "opus": {"weights": [0.0], "bias": 0.0},
            }
            for e, w in (("a", 2.0), ("b", 0.0))
        ],
    }
    path.write_text(json.dumps(raw))
    head = Head.load(path)
    assert head.file.combine == "mean"
    p_sonnet, _ = head.predict([np.array([1.0]), np.array([1.0])])
    assert p_sonnet == pytest.approx((1 / (1 + np.exp(-2.0)) + 0.5) / 2)
