from __future__ import annotations

from typing import Any

import pytest

from tests.agent_clients import AIDER_EXAMPLES
from tests.doubles import Clock
from tests.helpers import MINIMAL, graph, request
from tiergate.engine.router import Router
from tiergate.engine.sticky import SessionPool, Sessions, session_key, sessions_factory
from tiergate.rules.ask import AskConfig, AskReader
from tiergate.rules.features import Features

# "prove" forces opus; "rename" is LOCAL; anything else is AMBIGUOUS (-> sonnet).
RULES = """
routing:
  rules:
    - {name: hard, when: {feature: last_user_text, contains_any: [prove]}, then: {tier: opus}}
    - {name: easy, when: {feature: last_user_text, contains_any: [rename]}, then: {band: LOCAL}}
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 100000}}
  bands: {local: 0.0, claude: 0.9}
"""
PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},").replace(
    "model: big-model,", "model: big-model, price: {input: 15, output: 75},"
)


def turns(*texts: str) -> list[dict[str, Any]]:
    """A conversation whose user turns are ``texts`` (assistant replies between them)."""
    out: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        if i:
            out.append({"role": "assistant", "content": "ok"})
        out.append({"role": "user", "content": text})
    return out


def router(pool: SessionPool | None = None, rules: str = RULES, **kw: Any) -> Router:
    g = graph(rules, base=PRICED)
    sessions = (pool if pool is not None else SessionPool(clock=Clock(1000.0))).build(g)
    return Router(g, sessions=sessions, **kw)


async def tier_of(r: Router, messages: list[dict[str, Any]], **kw: Any) -> tuple[str, bool, list[str]]:
    d = (await r.decide(request(messages=messages, **kw.pop("body", {})), **kw)).decision
    return d.tier, d.sticky, d.reasons


@pytest.mark.asyncio
async def test_an_agent_loop_does_not_move_down_a_tier() -> None:
    r = router()
    assert await tier_of(r, turns("prove the queue is linearizable")) == (
        "opus",
        False,
        ["rule 'hard' forces opus"],
    )
    tier, sticky, reasons = await tier_of(r, turns("prove the queue is linearizable", "now rename q to queue"))
    assert (tier, sticky) == ("opus", True)
    assert reasons[-1] == "sticky: session already on opus; not moving down to local"


@pytest.mark.asyncio
async def test_the_phase_and_band_stay_those_of_the_routing() -> None:
    r = router()
    await r.decide(request(messages=turns("prove it")))
    d = (await r.decide(request(messages=turns("prove it", "rename x")))).decision
    assert (d.band, d.phase, d.tier, d.model, d.sticky) == ("LOCAL", "heuristic", "opus", "big-model", True)
    assert [t.tier for t in d.targets] == ["opus", "sonnet"]


@pytest.mark.asyncio
async def test_moving_up_is_allowed_and_remembered() -> None:
    r = router()
    assert (await tier_of(r, turns("rename a")))[:2] == ("local", False)
    assert (await tier_of(r, turns("rename a", "what next?")))[:2] == ("sonnet", False)
    assert (await tier_of(r, turns("rename a", "what next?", "rename b")))[:2] == ("sonnet", True)


@pytest.mark.asyncio
async def test_sessions_are_per_client_and_per_first_message() -> None:
    r = router()
    await tier_of(r, turns("prove it"), client="team-a")
    assert (await tier_of(r, turns("prove it", "rename x"), client="team-b"))[:2] == ("local", False)
    assert (await tier_of(r, turns("a different start", "rename x"), client="team-a"))[:2] == ("local", False)
    assert (await tier_of(r, turns("prove it", "rename x"), client="team-a"))[:2] == ("opus", True)


@pytest.mark.asyncio
async def test_explicit_choices_are_honoured_and_not_remembered() -> None:
    r = router()
    await tier_of(r, turns("prove it"))
    assert (await tier_of(r, turns("prove it", "rename x"), body={"model": "local"}))[:2] == ("local", False)
    # an explicit opus call does not lift the routed turns after it
    await tier_of(r, turns("rename a"), body={"model": "opus"})
    assert (await tier_of(r, turns("rename a", "rename b")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_a_dry_run_reads_the_session_but_does_not_change_it() -> None:
    r = router()
    await tier_of(r, turns("rename a"))
    assert (await tier_of(r, turns("rename a", "prove it"), remember=False))[:2] == ("opus", False)
    assert (await tier_of(r, turns("rename a", "rename b")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_sessions_expire_after_ttl_since_their_last_request() -> None:
    clock = Clock(1000.0)
    pool = SessionPool(clock=clock)
    r = router(pool, RULES + "  stickiness: {ttl: 60}\n")
    await tier_of(r, turns("prove it"))
    clock.now += 50
    assert (await tier_of(r, turns("prove it", "rename a")))[:2] == ("opus", True)  # refreshes the TTL
    clock.now += 50
    assert (await tier_of(r, turns("prove it", "rename b")))[:2] == ("opus", True)
    clock.now += 61
    assert (await tier_of(r, turns("prove it", "rename c")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_least_recently_used_sessions_are_forgotten_first() -> None:
    pool = SessionPool(clock=Clock(1000.0))
    r = router(pool, RULES + "  stickiness: {max_sessions: 2}\n")
    for start in ("prove a", "prove b", "prove c"):
        await tier_of(r, turns(start))
    assert pool.size == 2
    assert (await tier_of(r, turns("prove a", "rename")))[:2] == ("local", False)
    assert (await tier_of(r, turns("prove c", "rename")))[:2] == ("opus", True)


@pytest.mark.asyncio
async def test_sessions_survive_a_reload_unless_their_settings_change() -> None:
    pool = SessionPool(clock=Clock(1000.0))
    await tier_of(router(pool), turns("prove it"))
    reloaded = router(pool, RULES + "  scan_chars: 2000\n")
    assert (await tier_of(reloaded, turns("prove it", "rename x")))[:2] == ("opus", True)
    resized = router(pool, RULES + "  stickiness: {max_sessions: 5}\n")
    assert (await tier_of(resized, turns("prove it", "rename x")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_a_tier_removed_by_a_reload_is_forgotten() -> None:
    pool = SessionPool(clock=Clock(1000.0))
    await tier_of(router(pool), turns("prove it"))
    base = PRICED.replace("fallbacks: {local: [sonnet], opus: [sonnet]}", "fallbacks: {local: [sonnet]}")
    base = "\n".join(line for line in base.splitlines() if not line.startswith("  opus:"))
    g = graph(RULES.replace("then: {tier: opus}", "then: {tier: sonnet}"), base=base)
    r = Router(g, sessions=pool.build(g))
    assert (await tier_of(r, turns("prove it", "rename x")))[:2] == ("local", False)


def test_disabled_stickiness_builds_nothing() -> None:
    g = graph(RULES + "  stickiness: {enabled: false}\n", base=PRICED)
    assert sessions_factory(clock=Clock(1000.0))(g) is None
    assert isinstance(sessions_factory(clock=Clock(1000.0))(graph(RULES, base=PRICED)), Sessions)


def test_session_key_is_the_first_user_message_and_the_client() -> None:
    def key(messages: list[dict[str, Any]], client: str = "c") -> bytes | None:
        return session_key(Features.of(request(messages=messages)), client)

    system = {"role": "system", "content": "be brief"}
    first = key([system, *turns("fix the bug")])
    assert first is not None and len(first) == 32
    assert key([system, *turns("fix the bug", "and the tests")]) == first
    assert key(turns("fix the bug")) == first  # the system prompt is not part of it
    assert key(turns("fix the bug"), client="other") != first
    assert key(turns("fix the bug!")) != first
    assert key([system]) is None


def test_session_key_tells_openers_apart_by_their_images_and_other_parts() -> None:
    def key(content: Any, client: str = "c") -> bytes | None:
        messages = [{"role": "user", "content": content}, *turns("x", "what colour is the button?")[1:]]
        return session_key(Features.of(request(messages=messages)), client)

    def image(url: str) -> dict[str, Any]:
        return {"type": "image_url", "image_url": {"url": url}}

    png_a, png_b = "data:image/png;base64,iVBORw0KGgoAAAA", "data:image/png;base64,iVBORw0KGgoBBBB"
    only_a = key([image(png_a)])
    assert only_a is not None and only_a == key([image(png_a)])  # the same opening: the same session
    assert only_a != key([image(png_b)])  # two conversations opening with only an image
    assert key([image("https://x.test/a.png")]) != key([image("https://x.test/b.png")])
    assert only_a != key([image(png_a)], client="other")
    captioned = key([{"type": "text", "text": "see"}, image(png_a)])
    assert captioned not in (only_a, key("see"), key([{"type": "text", "text": "see"}, image(png_b)]))
    assert key([image(png_a), {"type": "text", "text": "see"}]) != captioned  # in order
    assert key([{"type": "text", "text": "fix the bug"}]) == key("fix the bug")  # text in parts or not


@pytest.mark.asyncio
async def test_a_conversation_opening_with_another_image_is_not_lifted() -> None:
    r = router()

    def opening(url: str, text: str) -> list[dict[str, Any]]:
        first = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
        return [first, {"role": "assistant", "content": "a screenshot"}, {"role": "user", "content": text}]

    assert (await tier_of(r, opening("data:image/png;base64,AAAA", "prove it is correct")))[0] == "opus"
    tier, sticky, _ = await tier_of(r, opening("data:image/png;base64,BBBB", "rename the button"))
    assert tier != "opus" and not sticky  # (the local model sees no images: the request goes to sonnet)
    assert (await tier_of(r, opening("data:image/png;base64,AAAA", "rename the button")))[:2] == ("opus", True)


# A client's side request (a system prompt asking for a title) is LOCAL, before any other rule.
SIDE = RULES.replace("[prove]}, then: {tier: opus}", "[prove]}, then: {band: CLAUDE}").replace(
    "  rules:\n",
    "  rules:\n"
    "    - name: side\n"
    "      when: {feature: system_text, contains_any: [title for the chat]}\n"
    "      then: {band: LOCAL, sticky: false}\n",
)
TITLE = {"role": "system", "content": "Write a title for the chat in at most 5 words."}


@pytest.mark.asyncio
async def test_a_rule_with_sticky_false_keeps_a_side_request_out_of_the_session() -> None:
    """A client's title request opens with the conversation's first message: with ``sticky: false`` it is
    not lifted to the conversation's tier."""
    r = router(rules=SIDE)
    first = turns("prove the queue is linearizable")
    assert (await tier_of(r, first))[:2] == ("sonnet", False)
    tier, sticky, reasons = await tier_of(r, [TITLE, *first])
    assert (tier, sticky) == ("local", False)
    assert reasons == ["rule 'side' forces LOCAL", "rule 'side' keeps it out of the conversation's session"]
    d = (await r.decide(request(messages=[TITLE, *first]))).decision
    assert next(s for s in d.signals if s.name == "side").action == "band=LOCAL sticky=false"
    # the conversation itself is still on sonnet: the side request left its session as it was
    assert (await tier_of(r, turns("prove the queue is linearizable", "rename q")))[:2] == ("sonnet", True)


@pytest.mark.asyncio
async def test_without_sticky_false_the_same_side_request_is_lifted() -> None:
    r = router(rules=SIDE.replace(", sticky: false", ""))
    first = turns("prove the queue is linearizable")
    await tier_of(r, first)
    assert (await tier_of(r, [TITLE, *first]))[:2] == ("sonnet", True)


@pytest.mark.asyncio
async def test_explicit_and_side_requests_log_their_conversation_but_stay_out_of_its_session() -> None:
    """`tiergate train --log` joins an explicit retry to the routed requests before it by the logged
    session: an explicit choice or a side request carries its conversation's key as ``conversation``,
    while ``session`` (what stickiness, escalation and ratings count on) stays empty."""
    r = router(rules=SIDE)
    first = turns("prove the queue is linearizable")
    routed = (await r.decide(request(messages=first))).decision
    assert routed.session is not None and routed.conversation is None
    retry = (await r.decide(request(messages=first, model="opus"))).decision
    side = (await r.decide(request(messages=[TITLE, *first]))).decision
    assert (retry.phase, retry.session, retry.conversation) == ("explicit", None, routed.session)
    assert (side.tier, side.sticky, side.session, side.conversation) == ("local", False, None, routed.session)


ENVIRONMENT = "<environment_context>\n  <cwd>/home/dev/shop</cwd>\n  <shell>bash</shell>\n</environment_context>"


def keyed(dialect: str, body: dict[str, Any], *texts: str) -> bytes | None:
    from tiergate.wire import Native

    req = request(messages=turns(*texts))
    req.native = Native(dialect=dialect, body=body)
    return session_key(Features.of(req), "team-a")


def test_a_conversation_id_the_client_sends_is_its_session() -> None:
    """Codex opens every conversation with its environment block (one directory, one day: the same text),
    so all of a repository's Codex conversations were one session: one opus task held them all on opus."""
    one, other = {"prompt_cache_key": "01a23c8b-305e"}, {"prompt_cache_key": "01a23c89-f833"}
    assert keyed("responses", one, ENVIRONMENT, "design a lock service") != keyed(
        "responses", other, ENVIRONMENT, "fix the README typo"
    )
    assert keyed("responses", one, ENVIRONMENT, "design a lock service") == keyed(
        "responses", one, ENVIRONMENT, "design a lock service", "now run the tests"
    )
    claude_code = '{"device_id":"6cd7","account_uuid":"","session_id":"%s"}'
    first, second = ({"metadata": {"user_id": claude_code % s}} for s in ("94deda48", "5b0c1f22"))
    assert keyed("anthropic", first, "hi") != keyed("anthropic", second, "hi")
    earlier = "user_9f2c41_account_0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6_session_%s"
    one_id, two_ids = (
        {"metadata": {"user_id": earlier % s}}
        for s in ("94deda48-1111-2222-3333-444455556666", "5b0c1f22-1111-2222-3333-444455556666")
    )
    assert keyed("anthropic", one_id, "hi") != keyed("anthropic", two_ids, "hi")
    assert keyed("anthropic", one_id, "hi") == keyed("anthropic", one_id, "hi", "and then?")
    # no id, or one that is no JSON with a session: the first user message, as before
    plain = keyed("anthropic", {"metadata": {"user_id": "alice"}}, "hi")
    assert plain == session_key(Features.of(request(messages=turns("hi"))), "team-a")


def aider_key(*messages: dict[str, Any], reader: AskReader | None = None) -> bytes | None:
    settings = {"ask": reader} if reader is not None else None
    return session_key(Features.of(request(messages=list(messages)), settings=settings), "team-a")


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


OK = {"role": "assistant", "content": "Ok."}
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAA"}}


def test_the_session_opens_at_the_persons_first_words_not_the_clients() -> None:
    """aider opens every conversation with the example conversation of its edit format, then what it says of the
    files it shares (read-only files, the repo map, the files in the chat, or that there are none yet): the same
    messages in every conversation of a repository, which made them all one session."""
    person = user("why does pop() lose items under load?")
    plain = aider_key(person)
    assert plain is not None
    for example in (  # editblock and patch; whole; udiff
        "Change get_factorial() to use math.factorial",
        "Refactor hello() into its own file.",
        "Change the greeting to be more casual",
        "Replace is_prime with a call to sympy.",
    ):
        assert aider_key(user(example), OK, person) == plain, example
    notes = [
        user("Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n\nCONVENTIONS.md"),
        user("I am working with you on code in a git repository.\nHere are summaries of some files present in my git"),
        user("Don't try and edit any existing code without asking me to add the files to the chat!\nTell me which"),
        user("I am not sharing any files that you can edit yet."),
        user("Here are summaries of some files present in my git repository.\n\nsrc/queue.py:\n│class Queue:"),
        user("I have *added these files to the chat* so you can go ahead and edit them.\n\nsrc/queue.py\n```\n```"),
        {"role": "user", "content": [{"type": "text", "text": "Image file: ui.png"}, IMAGE]},
    ]
    assert aider_key(*AIDER_EXAMPLES, *[m for note in notes for m in (note, OK)], person) == plain
    # only the client's messages: no session, rather than one every such conversation would share
    assert aider_key(*AIDER_EXAMPLES, *notes) is None
    # a person's own words that begin as an example does are theirs
    own = aider_key(user("Change get_factorial() to use math.factorial, and cache it"), OK, person)
    assert own is not None and own != plain


def test_the_session_reads_the_persons_words_without_the_clients_blocks() -> None:
    """aider appends its edit format's rules to the message it sends, and the same words come back without them
    as history in the next turn: one session, as is an opening only a client's block makes up. A load keeps
    each session by its opening as sent, so a conversation's first message is read for blocks once."""
    rules = "# *SEARCH/REPLACE block* Rules:\n\nEvery *SEARCH/REPLACE block* must use this format:\n..."
    g = graph(RULES, base=PRICED)

    def key(*messages: dict[str, Any], client: str = "team-a") -> bytes | None:
        return session_key(g.features(request(messages=list(messages))), client)

    first = key(user(f"add a --verbose flag\n\n{rules}"))
    assert first is not None and first == key(user("add a --verbose flag"), OK, user("thanks"))
    assert first == aider_key(user(f"add a --verbose flag\n\n{rules}"))  # as without the load's cache
    assert len(g.settings["openings"]) == 2  # the opening as sent in the first turn, and in the second
    assert key(user("add a --verbose flag"), OK, user("thanks"), OK, user("and the tests")) == first
    assert key(user("add a --verbose flag"), client="other") not in (None, first)
    assert len(g.settings["openings"]) == 3
    assert aider_key(user(rules)) == aider_key(user(rules), OK, user("and the tests")) != aider_key(user("x"))


def test_two_openings_that_attach_different_files_are_two_sessions() -> None:
    """Read without every client block, gptel's "review this" over a.py and over b.py were one session, and
    one conversation's opus turn held the other on opus: only the blocks a client appends to the message it
    sends (aider's rules) are left out of the opening."""

    def gptel(path: str) -> dict[str, Any]:
        return user(f"Request context:\n\nIn file `{path}`:\n\n```\ndef f(): ...\n```\n\nreview this")

    assert aider_key(gptel("a.py")) != aider_key(gptel("b.py"))
    assert aider_key(gptel("a.py")) == aider_key(gptel("a.py"), OK, user("and the tests"))


def test_the_clients_own_openings_come_from_routes_yaml() -> None:
    reader = AskReader.compile(AskConfig(preamble_patterns=[r"^<intro>"]))
    person = user("fix the bug")
    assert aider_key(user("<intro>this IDE's notes</intro>"), OK, person, reader=reader) == aider_key(person)
    # the list written is the whole list: aider's examples are openings again
    assert aider_key(user("Refactor hello() into its own file."), OK, person, reader=reader) != aider_key(person)
