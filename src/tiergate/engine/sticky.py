"""Conversation stickiness: within a session a conversation never moves down a tier.

An agent loop's first request may go to opus because the task is hard; a later turn of the same loop
("ok, now run the tests") scores low on its own and would go local, so the loop bounces between models
that see its history differently. With stickiness on (``routing.stickiness``, the default), each
routed decision raises the tier to the highest one this session has been routed to.

- **Session** — the SHA-256 of the client's name and the conversation's id where the client sends one
  (Codex's ``prompt_cache_key``, the ``session_id`` in Claude Code's ``metadata.user_id``), else its
  opening: the first user message a person wrote, all of it: its text, and its images (a digest of each
  URL, data URLs included) and other parts in order: stable across every turn of one conversation,
  different between clients. User messages the client sends before it are passed over: its file dumps and
  ``routing.ask.preamble_patterns`` (aider opens every conversation with its own example conversation, then
  the files in the chat and its repo map, which change from turn to turn). The text is read without the
  client's ``routing.ask.blocks`` (aider appends its edit format's rules to the message it sends, and not
  to the same words in the next turn's history). A request of the client's messages alone has no session:
  one made of them would be every such conversation's. Two conversations of one client that open with the
  same words and send no id share a session (a short opener like "hi" can lift a later, unrelated
  conversation for ``ttl`` seconds); two that open with different images do not.
- **What is remembered** — the highest tier *routed* (phase 1, phase 2, then stickiness), by name. A
  capability or breaker fallback to another tier does not change it; a tier that a reload removes is
  forgotten. Ranks come from the tier prices, cheapest first, as everywhere else.
- **Explicit choices** (``model: opus``, ``provider``) are honoured as asked and neither read nor update
  the session: a one-off explicit opus call does not make the rest of the conversation expensive.
  Nor do requests a rule marks ``sticky: false`` (a client's side request, such as a title for the chat).
- **Bounds** — ``max_sessions`` most recently used sessions, each forgotten ``ttl`` seconds after its
  last request. The store lives as long as the process (like the classifier's cache), so a reload keeps
  the sessions; a reload that changes ``ttl`` or ``max_sessions`` starts them afresh.
- **Shared** — with ``state.redis_url`` the session lives in Redis (:mod:`tiergate.state.sessions`), so
  a conversation that the load balancer moves to another replica keeps its tier; there ``ttl`` bounds
  it and ``max_sessions`` does not. Only a session this process has not served yet waits for Redis;
  the others are read from a copy that Redis's messages keep current. The process's own store is kept
  up to date beside it and serves while Redis is unreachable.

    pool = SessionPool()                                  # one per process
    Extensions(sessions=pool.build)                       # one Sessions view per loaded graph
    raised = await sessions.hold(features, "team-a", phase1)    # True when stickiness raised the tier
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from cachetools import TTLCache

from tiergate.engine.graph import EvaluationGraph, Phase1, cheapest_first
from tiergate.rules.ask import AskReader, reader_of
from tiergate.rules.features import Features, raw_texts
from tiergate.state.link import DOWN
from tiergate.state.sessions import SharedSessions
from tiergate.wire import Message

Clock = Callable[[], float]
"""Monotonic seconds: drives the sessions' TTL."""


def session_key(f: Features, client: str) -> bytes | None:
    """The session of a request, or None when it has no user message but the client's own. Length-prefixed
    (JSON) material, so no (client, message) pair can collide with another by concatenation. A conversation id
    the client
    sends (:func:`client_session`) comes first: Codex's first user message is its environment block, the
    same for every conversation in one directory on one day. Kept with the request's features: escalation
    and stickiness both ask for it."""
    memo = ("_session", client)
    if memo not in f._memo:
        f._memo[memo] = _session_key(f, client)
    return f._memo[memo]  # type: ignore[no-any-return]


def _session_key(f: Features, client: str) -> bytes | None:
    if (given := client_session(f)) is not None:
        return hashlib.sha256(msgspec.json.encode([client, "id", given])).digest()
    reader, texts = reader_of(f), raw_texts(f)
    for i, message in enumerate(f.messages):
        if message.role == "user" and not reader.is_preamble(texts[i]):
            return _opening_key(f, client, message, reader)
    # only the client's own messages (aider's examples, its files): a session of them would be every such
    # conversation's, so none
    return None


def _opening_key(f: Features, client: str, message: Message, reader: AskReader) -> bytes:
    """The session of a conversation that opens with ``message``: its opening read without the blocks a client
    appends to the message it sends only (:func:`_words`). That reading costs a search per such block, on every
    turn; the load's ``openings`` cache keeps the session by the digest of the opening as sent, so a
    conversation pays it once on this process."""
    sent = _digest(client, _opening(message, _as_sent))
    cache = f.settings.get("openings")
    if cache is not None and (known := cache.get(sent)) is not None:
        return known  # type: ignore[no-any-return]
    key = _digest(client, _opening(message, lambda text: _words(reader, text)))
    if cache is not None:
        cache[sent] = key
    return key


def _digest(client: str, opening: str | list[Any]) -> bytes:
    return hashlib.sha256(msgspec.json.encode([client, opening])).digest()


#: Claude Code's earlier ``metadata.user_id``: ``user_<hash>_account_<uuid>_session_<uuid>``.
_SESSION_SUFFIX = re.compile(r"_session_([0-9a-fA-F-]{8,64})$")


def client_session(f: Features) -> str | None:
    """The conversation's own id, where the client sends one in its body: a Responses ``prompt_cache_key``
    (Codex sends its conversation's id, kept when a conversation is resumed), the ``session_id`` in the
    JSON of a Messages ``metadata.user_id`` (Claude Code's)."""
    native = f.request.native
    body = native.body if native is not None else {}
    if native is not None and native.dialect == "responses":
        key = body.get("prompt_cache_key")
        return key if isinstance(key, str) and key.strip() else None
    metadata = body.get("metadata")
    user = metadata.get("user_id") if native is not None and isinstance(metadata, dict) else None
    if not isinstance(user, str):
        return None
    if (earlier := _SESSION_SUFFIX.search(user)) is not None:  # Claude Code before its JSON user_id
        return earlier.group(1)
    if not user.startswith("{"):
        return None
    try:
        found = msgspec.json.decode(user)
    except (msgspec.DecodeError, RecursionError):
        return None
    session = found.get("session_id") if isinstance(found, dict) else None
    return session if isinstance(session, str) and session.strip() else None


def _opening(message: Message, words: Callable[[str], str]) -> str | list[Any]:
    """What identifies a first user message: its text when that is all it holds (so a plain string and
    the same text in parts are one opening), else every part in order — text, a digest of each image's
    URL and each document's data or URL (a data URL can be megabytes), the type of any other part — and its
    tool calls. Its text is read by ``words``."""
    content = message.content if isinstance(message.content, list) else []
    if all(p.type == "text" for p in content) and not message.tool_calls and not message.tool_call_id:
        return words(message.text())
    parts: list[Any] = [["text", words(message.content)]] if isinstance(message.content, str) else []
    for part in content:
        if part.type == "text":
            parts.append(["text", words(part.text or "")])
        elif part.image_url is not None:
            parts.append(["image", hashlib.sha256(part.image_url.url.encode()).hexdigest()])
        elif part.file is not None:
            held = part.file.file_data or part.file.file_url or ""
            parts.append(["file", hashlib.sha256(held.encode()).hexdigest()])
        else:
            parts.append([part.type, part.text or ""])
    calls = [[c.id, c.function.name, c.function.arguments] for c in message.tool_calls or []]
    return [parts, calls, message.tool_call_id or ""]


def _as_sent(text: str) -> str:
    return text


def _words(reader: AskReader, text: str) -> str:
    """The message without the blocks a client adds to it in the request that carries it only (else all of it),
    stripped: aider appends its edit format's rules to the person's message then, not in the turns after, where
    it is history. Its first turn and the rest are one session. Blocks that attach something (Zed's context,
    Void's selections) stay: two conversations opening "explain this" over two files are two sessions."""
    return reader.without_appended(text) or text.strip()


class Sessions:
    """The session store as one loaded graph sees it: the shared cache plus this graph's tier ranks."""

    def __init__(
        self,
        cache: TTLCache[bytes, str],
        ranks: Mapping[str, int],
        shared: SharedSessions | None = None,
        ttl: float = 3600.0,
    ) -> None:
        self.cache = cache
        self.ranks = ranks
        self.shared = shared
        self.ttl = ttl

    async def hold(self, f: Features, client: str, p1: Phase1, remember: bool = True) -> bool:
        """Raise ``p1.tier`` to the session's highest tier so far and record the outcome.

        ``remember=False`` (a dry run) applies the session without changing it. Returns True when the
        tier was raised; the reason is added to ``p1.reasons``."""
        key = session_key(f, client)
        rank = self.ranks.get(p1.tier)
        if key is None or rank is None:
            return False
        local = previous = self.cache.get(key)
        if self.shared is not None:
            above = [tier for tier, r in self.ranks.items() if r > rank]
            got = await self.shared.hold(key, p1.tier, above=above, ttl=self.ttl, remember=remember)
            if got is not DOWN:
                remote = got if isinstance(got, str) else None
                previous = remote if self.ranks.get(remote or "", -1) >= self.ranks.get(local or "", -1) else local
                if remember and local is not None and previous == local != remote and self.ranks.get(local, -1) > rank:
                    # Redis lost what this process saw (restarted without persistence, flushed, evicted):
                    # the higher tier holds, and goes back into Redis for the other replicas
                    higher = [tier for tier, r in self.ranks.items() if r > self.ranks[local]]
                    await self.shared.hold(key, local, above=higher, ttl=self.ttl, remember=True)
        raised = previous is not None and self.ranks.get(previous, -1) > rank
        if raised:
            assert previous is not None
            p1.reasons.append(f"sticky: session already on {previous}; not moving down to {p1.tier}")
            p1.tier = previous
        if remember:
            self.cache[key] = p1.tier  # refreshes the session's TTL too
        return raised


class SessionPool:
    """Lives as long as the app and builds one :class:`Sessions` per load, all sharing one store."""

    def __init__(self, *, clock: Clock = time.monotonic, shared: SharedSessions | None = None) -> None:
        self._clock = clock
        self.shared = shared
        self._cache: TTLCache[bytes, str] | None = None
        self._settings: tuple[float, int] | None = None

    def build(self, graph: EvaluationGraph) -> Sessions | None:
        cfg = graph.config.routing.stickiness
        if not cfg.enabled:
            return None
        settings = (cfg.ttl, cfg.max_sessions)
        if self._cache is None or self._settings != settings:
            self._cache = TTLCache(cfg.max_sessions, cfg.ttl, timer=self._clock)
            self._settings = settings
            if self.shared is not None:
                self.shared.configure(ttl=cfg.ttl, size=cfg.max_sessions)
        ranks = {tier: i for i, tier in enumerate(cheapest_first(graph.config))}
        return Sessions(self._cache, ranks, self.shared, cfg.ttl)

    @property
    def size(self) -> int:
        """Sessions remembered now."""
        return 0 if self._cache is None else len(self._cache)


def sessions_factory(
    *, clock: Clock = time.monotonic, shared: SharedSessions | None = None
) -> Callable[[EvaluationGraph], Sessions | None]:
    """The hook for ``Extensions(sessions=...)``: one pool, so sessions survive reloads.

    rules = Rules.load(path, os.environ, Extensions(sessions=sessions_factory()))
    """
    return SessionPool(clock=clock, shared=shared).build
