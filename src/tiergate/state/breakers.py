"""Circuit breakers shared through Redis: a target one replica sees failing is skipped by all of them.

pybreaker's ``CircuitRedisStorage`` is synchronous (a blocking round trip inside every state read), and
the router reads every target's state on every request. So the state machine stays in memory
(:mod:`tiergate.resilience.breakers`) and this mirror shares its transitions instead:

- a failure adds one to the target's shared failure count (``fails``, expiring ``window`` seconds after
  the last one); when the count reaches ``fail_max`` the script marks the target open in its hash and
  publishes it;
- a breaker that opens or closes here writes its hash and publishes the change;
- every process follows the channel (:mod:`tiergate.state.channels`) and applies what others publish;
  once subscribed, at start and after Redis returns, it reads each known target's hash again
  (messages sent while it was away are lost).

All of it runs after the call that caused it, in the background: successes, the hot path, cost nothing.
A success resets the shared count only when this process had counted a failure (like pybreaker's own
counter, which only its process resets). Each process may send its own half-open trial call.

    mirror = BreakerMirror(link, channels)
    breakers = Breakers(mirror=mirror)      # Breakers calls mirror.failed/opened/closed/reset
    mirror.attach(breakers.apply, breakers.keys)    # and the mirror applies what others published
    channels.start()                        # the subscription, until channels.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from tiergate.state.channels import Channels
from tiergate.state.link import DOWN, RedisLink
from tiergate.state.resp import Script

log = logging.getLogger("tiergate.state")

FAIL = Script("""
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[2], 'state', 'open', 'opened_at', ARGV[3])
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return 1
end
return 0
""")

SET = Script("""
redis.call('HSET', KEYS[2], 'state', ARGV[1], 'opened_at', ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
""")

#: ``apply(key, state, opened_at)``: put a breaker into a state another process published.
Apply = Callable[[str, str, float | None], None]


class BreakerMirror:
    def __init__(self, link: RedisLink, channels: Channels) -> None:
        self.link = link
        self.origin = secrets.token_hex(6)
        self.channel = link.key("breakers")
        self._apply: Apply = lambda key, state, opened_at: None
        self._keys: Callable[[], Iterable[str]] = tuple
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        link.on_up(self.resync)
        channels.add(self.channel, self._receive, ready=self.resync)

    def attach(self, apply: Apply, keys: Callable[[], Iterable[str]]) -> None:
        """Where published states go, and which targets exist (for the resync after an outage)."""
        self._apply, self._keys = apply, keys

    # --- what the in-memory breakers report (sync: they run on the request's path) ------------------

    def failed(self, key: str, fail_max: int, window: float, now: float) -> None:
        self._dirty.add(key)
        payload = self._message(key, "open", now)
        keys = self._names(key)
        args: list[str | int] = [fail_max, max(1, int(window * 1000)), repr(now), self.channel, payload]

        async def run() -> None:
            opened = await self.link.evalsha(FAIL, keys, args)
            if opened is not DOWN and int(opened) == 1:
                self._dirty.discard(key)
                self._apply(key, "open", now)  # this process's failure was the one that tipped it

        self._spawn(run())

    def opened(self, key: str, now: float) -> None:
        self._publish(key, "open", now)

    def closed(self, key: str) -> None:
        self._publish(key, "closed", None)

    def reset(self, key: str) -> None:
        if key in self._dirty:
            self._dirty.discard(key)
            name = self._names(key)[0]
            self._spawn(self.link.execute("DEL", name))

    # --- what other processes publish --------------------------------------------------------------

    async def resync(self) -> None:
        """Read every known target's shared state (at start, and when Redis comes back)."""
        for key in list(self._keys()):
            name = self._names(key)[1]
            got = await self.link.execute("HGETALL", name)
            if got is DOWN:
                return
            if isinstance(got, list):  # the pipelined client's flat [field, value, ...]
                got = dict(zip(got[::2], got[1::2], strict=True))
            state = got.get(b"state")
            if state is not None:
                opened = got.get(b"opened_at")
                self._apply(key, state.decode(), float(opened) if opened else None)

    def _receive(self, data: bytes) -> None:
        try:
            body = json.loads(data)
            if not isinstance(body, dict) or body.get("origin") == self.origin:
                return
            opened = body.get("opened_at")
            self._apply(str(body["key"]), str(body["state"]), float(opened) if opened is not None else None)
        except (ValueError, KeyError, TypeError):
            log.warning("shared state: ignored a breaker message that is not ours on %s", self.channel)

    # --- plumbing ----------------------------------------------------------------------------------

    def _publish(self, key: str, state: str, opened_at: float | None) -> None:
        self._dirty.discard(key)
        keys = self._names(key)
        args = [state, repr(opened_at) if opened_at is not None else "", self.channel]
        args.append(self._message(key, state, opened_at))
        self._spawn(self.link.evalsha(SET, keys, args))

    def _message(self, key: str, state: str, opened_at: float | None) -> str:
        return json.dumps({"key": key, "state": state, "opened_at": opened_at, "origin": self.origin})

    def _names(self, key: str) -> tuple[str, str]:
        return self.link.key("breaker", key, "fails"), self.link.key("breaker", key)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop (a sync caller in a test): nothing to share with
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Let the changes still being sent finish (the subscription is the channels')."""
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 1.0)
