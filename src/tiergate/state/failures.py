"""Session escalation shared through a pub/sub channel: failures one process sees count on every process.

``routing.session_escalation`` moves a session up a tier after ``after_failures`` failures of its cheap
tier. Its store (:class:`~tiergate.engine.session_escalation.FailureStore`) is read on the request's
path, synchronously. So every process keeps the whole store in memory (a
:class:`~tiergate.engine.session_escalation.LocalFailures`) and publishes each write on one channel;
each process applies what the others publish to its own copy. What is published:

- a failure of a session's tier (an error, a timeout, a refusal);
- a decision's rating failure, or its withdrawal (a low rating, then a good one: one failure per
  decision, from its latest rating);
- a hold (the session moved up until a time, so it stays up on every process after its failures
  leave the window);
- which session, tier and client served a decision (a rating sent to another process finds it and
  counts only from that client; a refusal in the next turn is charged to the tier that answered,
  wherever that turn lands);
- a refusal already counted (a retried turn on another process does not count it twice).

Messages carry the session's hash, a tier, a time, a decision id and a client's name, never request
text. A write goes out with the
process's next Redis command, at the latest at the end of the event loop's turn: before the response
of the request that failed is written (a streamed answer's end is written first). While Redis is down
or the subscription is being taken again, each process counts on its own.

Holds are also kept in Redis, in one sorted set (``<prefix>:failures:holds``, member ``session␟tier``,
scored by the hold's end). Each time the subscription is taken (at start-up, and after Redis comes
back) a process reads the holds not over yet. So a replica started during a rolling deploy, or one that
lost its subscription for a while, keeps an escalated session up instead of failing its cheap tier
again. Failures that did not make a hold, and which tier served a decision, are not kept: they
matter for minutes, and a missed one costs at most one more failure.

    shared = SharedFailures(link, channels)       # before channels.start()
    Signals(failures=shared)                      # the escalator and the observer use it like the local one
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

from tiergate.engine.session_escalation import LocalFailures
from tiergate.state.channels import Channels
from tiergate.state.link import RedisLink, text_of

log = logging.getLogger("tiergate.state")

#: Separates the session and the tier in a kept hold's member (neither holds it).
SEP = "\x1f"
#: How long the set of holds outlives the last hold written: a day after its end.
KEEP_AFTER = 86_400


class SharedFailures:
    def __init__(
        self,
        link: RedisLink,
        channels: Channels,
        *,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.channel = link.key("failures")
        self.holds = link.key("failures", "holds")
        self.origin = secrets.token_hex(6)
        self.clock = clock
        self.local = LocalFailures(max_sessions=max_sessions)
        channels.add(self.channel, self._receive, ready=self._read_holds)

    def configure(self, max_sessions: int) -> None:
        self.local.configure(max_sessions)

    # --- reads: this process's copy ----------------------------------------------------------------

    def failures(self, session: str, tier: str, since: float) -> list[tuple[float, str]]:
        return self.local.failures(session, tier, since)

    def held(self, session: str, tier: str) -> float:
        return self.local.held(session, tier)

    def decision(self, decision_id: str) -> tuple[str, str, str | None] | None:
        return self.local.decision(decision_id)

    def last_tier(self, session: str) -> str | None:
        return self.local.last_tier(session)

    # --- writes: here, and published to the others -------------------------------------------------

    def fail(self, session: str, tier: str, kind: str, at: float) -> None:
        self.local.fail(session, tier, kind, at)
        self._publish({"op": "fail", "s": session, "t": tier, "k": kind, "at": at})

    def hold(self, session: str, tier: str, until: float) -> None:
        if until > self.local.held(session, tier):
            self._publish({"op": "hold", "s": session, "t": tier, "until": until})
            now = self.clock()
            self.link.later("ZADD", self.holds, repr(until), f"{session}{SEP}{tier}")
            self.link.later("ZREMRANGEBYSCORE", self.holds, "-inf", f"({now!r}")
            self.link.later("EXPIRE", self.holds, max(1, math.ceil(until - now)) + KEEP_AFTER)
        self.local.hold(session, tier, until)

    def rating(self, session: str, tier: str, decision_id: str, at: float | None) -> None:
        self.local.rating(session, tier, decision_id, at)
        self._publish({"op": "rating", "s": session, "t": tier, "d": decision_id, "at": at})

    def served(self, decision_id: str, session: str, tier: str, client: str | None = None) -> None:
        self.local.served(decision_id, session, tier, client)
        self._publish({"op": "served", "d": decision_id, "s": session, "t": tier, "c": client})

    def seen_answer(self, session: str, digest: bytes, *, remember: bool = True) -> bool:
        seen = self.local.seen_answer(session, digest, remember=remember)
        if not seen and remember:
            self._publish({"op": "answer", "s": session, "h": digest.hex()})
        return seen

    def _publish(self, body: dict[str, object]) -> None:
        body["o"] = self.origin
        self.link.later("PUBLISH", self.channel, json.dumps(body, separators=(",", ":")))

    # --- what other processes publish, and the holds kept --------------------------------------------

    async def _read_holds(self) -> None:
        """Apply the holds not over yet (the subscription was just taken: nothing later can be missed)."""
        found = await self.link.execute("ZRANGEBYSCORE", self.holds, f"({self.clock()!r}", "+inf", "WITHSCORES")
        if not isinstance(found, list):
            return  # Redis went away again: the next subscription reads them
        for member, until in _pairs(found):
            session, sep, tier = member.partition(SEP)
            if sep:
                self.local.hold(session, tier, until)

    def _receive(self, data: bytes) -> None:
        try:
            body = json.loads(data)
            if not isinstance(body, dict) or body.get("o") == self.origin:
                return
            op, session = body["op"], str(body["s"])
            if op == "fail":
                self.local.fail(session, str(body["t"]), str(body["k"]), float(body["at"]))
            elif op == "hold":
                self.local.hold(session, str(body["t"]), float(body["until"]))
            elif op == "rating":
                at = body["at"]
                self.local.rating(session, str(body["t"]), str(body["d"]), None if at is None else float(at))
            elif op == "served":
                client = body.get("c")  # absent from an older process: no client, so no rating from one counts
                self.local.served(str(body["d"]), session, str(body["t"]), None if client is None else str(client))
            elif op == "answer":
                self.local.seen_answer(session, bytes.fromhex(body["h"]))
            else:
                raise ValueError(op)
        except (ValueError, KeyError, TypeError):
            log.warning("shared state: ignored a session-failure message that is not ours on %s", self.channel)


def _pairs(reply: list[Any]) -> list[tuple[str, float]]:
    """``WITHSCORES`` replies as (member, score): flat from RESP2, or already paired."""
    flat = [part for item in reply for part in (item if isinstance(item, (list, tuple)) else [item])]
    return [(text_of(flat[i]), float(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]
