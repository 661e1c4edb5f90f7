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


@pytest.mark.parametrize(
    ("sonnet", "opus", "why"),
    [
        ([0.1, 0.2], [0.3], r"member 0 \(static, e\) has 2 sonnet weights and 1 opus weights"),
        ([], [], r"member 0 \(static, e\) has no weights"),
        ([1e308, 1e308], [0.0, 0.0], r"member 0 \(static, e\) has sonnet weights too large to use"),
    ],
)
def test_a_head_with_mismatched_or_unusable_weights_is_refused_at_load(
    tmp_path: Path, sonnet: list[float], opus: list[float], why: str
) -> None:
    path = tmp_path / "head.json"
    e = Member("e", "static", Logistic(sonnet, 0.0), Logistic(opus, 0.0))
    write_head(path, HeadFile(FORMAT, "ask", [e], Training("h", 1)))
    with pytest.raises(HeadError, match=why) as info:
        Head.load(path)
    assert str(path) in str(info.value)


def test_a_member_whose_weights_do_not_match_its_encoders_dimension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    write_head(path, HeadFile(FORMAT, "ask", [member("a", 0.0, 0.0), member("b", 0.0, 0.0)], Training("h", 1)))
    head = Head.load(path)
    head.check_dims([2, 2])
    with pytest.raises(HeadError, match=r"member 1 \(static, b\) has 2 weights, and its encoder gives 256-dimensional"):
        head.check_dims([2, 256])


def test_logits_that_are_not_finite_raise_a_head_error_not_a_nan() -> None:
    """Finite weights whose product with a vector overflows (a head built in code, not loaded): a HeadError
    the scorer turns into 'unavailable', never a NaN probability."""
    huge = Member("e", "static", Logistic([1e308, 1e308], 0.0), Logistic([-1e308, 1e308], 0.0))
    head = Head(HeadFile(FORMAT, "ask", [huge], Training("h", 1)), "v", "<test>")
    with pytest.raises(HeadError, match="not finite"):
        head.predict([np.array([1e10, 1e10])])


def test_a_head_is_written_whole_by_a_rename_in_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway's head watcher polls the file: ``tiergate train --write`` must never leave half of it."""
    import os

    import tiergate.learned.head as head_module

    path = tmp_path / "head.json"
    old = HeadFile(FORMAT, "ask", [member("a", 0.0, 0.0)], Training("h", 1))
    write_head(path, old)
    before = path.read_bytes()
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def replace(src: str, dst: Path) -> None:
        assert path.read_bytes() == before  # until the rename, a reader sees the old head whole
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(head_module.os, "replace", replace)
    version = write_head(path, HeadFile(FORMAT, "ask", [member("a", 1.0, 2.0)], Training("h", 2)))
    assert [(src.parent, dst) for src, dst in renames] == [(tmp_path, path)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head.json"]
    assert Head.load(path).version == version and path.stat().st_mode & 0o777 == 0o644
