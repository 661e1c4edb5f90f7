"""The cost/quality dial: one number moves every band threshold, learned cut-off and escalation score together;
0.5 moves nothing; a client's header is bounded by the file."""

from __future__ import annotations

import math

import pytest

from tests.helpers import chat, graph
from tiergate.engine.decision import LearnedOutcome
from tiergate.engine.quality import HEADER, Dial, preference, shift
from tiergate.engine.router import Router
from tiergate.errors import RequestError
from tiergate.learned.scorer import Cutoffs
from tiergate.rules.features import Features
from tiergate.rules.learned import MEMO_KEY, Reading

RULES = """
routing:
  learned: {{head: nowhere.json, cutoffs: {{sonnet: 0.4, opus: 0.2}}}}
  scorers:
    - {{name: learned, feature: learned.p_sonnet, transform: {{kind: ramp, from: 0, to: 1}}}}
  bands: {{local: 0.4, claude: 0.45}}
  escalation: {{tier: opus, when: {{feature: learned.tier, eq: opus}}}}
  quality_preference: {pref}
  quality: {{span: 2, client_min: 0.2, client_max: 0.8}}
"""


class FixedLearned:
    """A learned scorer that reads every request the same, with the file's cut-offs."""

    def __init__(self, p_sonnet: float, p_opus: float, cutoffs: Cutoffs) -> None:
        self.p_sonnet, self.p_opus, self.cutoffs = p_sonnet, p_opus, cutoffs

    async def prepare(self, f: Features) -> LearnedOutcome:
        tier = self.cutoffs.tier(self.p_sonnet, self.p_opus)
        alone = self.cutoffs.opus_alone(self.p_sonnet, self.p_opus)
        f._memo[MEMO_KEY] = Reading(self.p_sonnet, self.p_opus, tier, opus_alone=alone)
        return LearnedOutcome(
            head="h", encoders=[], available=True, p_sonnet=self.p_sonnet, p_opus=self.p_opus, tier=tier
        )


def router(pref: float = 0.5, p_sonnet: float = 0.3, p_opus: float = 0.01) -> Router:
    g = graph(RULES.format(pref=pref))
    assert g.config.routing.learned is not None
    return Router(g, learned=FixedLearned(p_sonnet, p_opus, g.config.routing.learned.cutoffs))


def test_the_middle_of_the_dial_moves_nothing_not_even_by_rounding() -> None:
    for t in (0.0, 0.1, 0.39, 0.447, 0.999, 1.0):
        assert shift(t, 0.5, 2.0) == t
    assert Dial.of(graph(RULES.format(pref=0.5)).config.routing, 0.5) is None


def test_the_dial_moves_thresholds_in_log_odds_and_keeps_their_order() -> None:
    assert shift(0.39, 1.0, 2.0) == pytest.approx(1 / (1 + math.exp(-(math.log(0.39 / 0.61) - 2))))
    assert shift(0.39, 1.0, 2.0) == pytest.approx(0.0797, abs=1e-4)
    assert shift(0.39, 0.0, 2.0) == pytest.approx(0.8253, abs=1e-4)
    assert shift(0.0, 1.0, 2.0) == 0.0 and shift(1.0, 0.0, 2.0) == 1.0  # the ends stay where they are
    grid = [i / 10 for i in range(11)]
    for low, high in ((0.1, 0.2), (0.39, 0.447), (0.5, 0.9)):
        moved = [(shift(low, p, 2.0), shift(high, p, 2.0)) for p in grid]
        assert all(a < b for a, b in moved)  # bands.local stays below bands.claude
        assert [a for a, _ in moved] == sorted((a for a, _ in moved), reverse=True)  # more quality, lower cut


def test_one_dial_moves_bands_cutoffs_and_the_escalation_score_together() -> None:
    routing = graph(RULES.format(pref=0.5).replace("when: {feature: learned.tier, eq: opus}", "score_at_least: 0.8"))
    dial = Dial.of(routing.config.routing, 0.9)
    assert dial is not None
    assert dial.bands.local == round(shift(0.4, 0.9, 2), 6) and dial.bands.claude == round(shift(0.45, 0.9, 2), 6)
    assert dial.cutoffs == Cutoffs(sonnet=round(shift(0.4, 0.9, 2), 6), opus=round(shift(0.2, 0.9, 2), 6))
    assert dial.score_at_least == round(shift(0.8, 0.9, 2), 6)


def test_the_header_is_bounded_by_the_file_and_a_bad_one_is_refused() -> None:
    routing = graph(RULES.format(pref=0.5)).config.routing
    assert preference(routing, {}).preference == 0.5 and preference(routing, {}).source == "file"
    granted = preference(routing, {HEADER: " 0.7 "})
    assert (granted.preference, granted.source, granted.requested) == (0.7, "header", None)
    clamped = preference(routing, {HEADER: "1"})
    assert (clamped.preference, clamped.requested) == (0.8, 1.0)
    assert preference(routing, {HEADER: "0"}).preference == 0.2
    assert preference(routing, {HEADER: "1"}, caller=0.95).preference == 0.95  # tiergate eval's own setting
    for bad in ("high", "1.5", "-0.1", "nan", ""):
        with pytest.raises(RequestError) as info:
            preference(routing, {HEADER: bad})
        assert info.value.param == HEADER and info.value.status == 400


@pytest.mark.asyncio
async def test_at_the_default_a_request_routes_as_the_file_says() -> None:
    d = (await router(0.5, p_sonnet=0.3).decide(chat("x"))).decision
    assert (d.tier, d.band) == ("local", "LOCAL")
    assert d.quality is not None and (d.quality.preference, d.quality.source, d.quality.bands) == (0.5, "file", None)


@pytest.mark.asyncio
async def test_turning_the_dial_up_sends_the_same_request_up_a_tier() -> None:
    d = (await router(0.9, p_sonnet=0.3).decide(chat("x"))).decision
    assert (d.tier, d.band) == ("sonnet", "CLAUDE")
    assert d.quality is not None and d.quality.bands is not None and d.quality.bands["claude"] < 0.3
    assert any("is in band CLAUDE" in r for r in d.reasons)


@pytest.mark.asyncio
async def test_the_learned_tier_follows_the_dial_and_so_does_the_escalation() -> None:
    # p_opus 0.15 is under the file's opus cut-off (0.2) but over the one the dial gives at 0.9
    low = (await router(0.5, p_sonnet=0.6, p_opus=0.15).decide(chat("x"))).decision
    high = (await router(0.9, p_sonnet=0.6, p_opus=0.15).decide(chat("x"))).decision
    assert low.tier == "sonnet" and low.learned is not None and low.learned.tier == "sonnet"
    assert high.tier == "opus" and high.learned is not None and high.learned.tier == "opus"


@pytest.mark.asyncio
async def test_the_lone_opus_reading_follows_the_dial_as_the_learned_tier_does() -> None:
    """``learned.opus_alone`` kept the file's cut-offs under a dial that moved them: turned down, a request the
    dialled head read as local went to sonnet; turned up, an opus reading lost its CLAUDE band."""
    rule = "  rules:\n    - {{name: lone, when: {{feature: learned.opus_alone, eq: true}}, then: {{band: CLAUDE}}}}\n"
    rules = RULES.replace("  scorers:\n", rule + "  scorers:\n", 1)

    async def decided(pref: float, p_sonnet: float, p_opus: float) -> tuple[str, str, str | None]:
        g = graph(rules.format(pref=pref))
        assert g.config.routing.learned is not None
        r = Router(g, learned=FixedLearned(p_sonnet, p_opus, g.config.routing.learned.cutoffs))
        d = (await r.decide(chat("x"))).decision
        return d.tier, d.band, d.learned.tier if d.learned is not None else None

    # p_opus 0.15 is under the file's opus cut-off (0.2), over the dialled one at 0.9: alone, CLAUDE, opus
    assert await decided(0.9, p_sonnet=0.05, p_opus=0.15) == ("opus", "CLAUDE", "opus")
    # p_opus 0.25 is over the file's opus cut-off, under the dialled one at 0.1: local, as the dial reads it
    assert await decided(0.1, p_sonnet=0.05, p_opus=0.25) == ("local", "LOCAL", "local")
    assert await decided(0.5, p_sonnet=0.05, p_opus=0.25) == ("opus", "CLAUDE", "opus")


@pytest.mark.asyncio
async def test_a_client_turns_the_dial_with_its_header() -> None:
    r = router(0.5, p_sonnet=0.3)
    up = (await r.decide(chat("x"), {HEADER: "0.8"})).decision
    assert up.tier == "sonnet" and up.quality is not None and up.quality.source == "header"
    down = (await router(0.5, p_sonnet=0.42).decide(chat("x"), {HEADER: "0.2"})).decision
    assert down.tier == "local"


@pytest.mark.asyncio
async def test_explicit_choices_ignore_the_dial() -> None:
    d = (await router(1.0).decide(chat("x", model="local"), {HEADER: "oops"})).decision
    assert (d.tier, d.phase, d.quality) == ("local", "explicit", None)
