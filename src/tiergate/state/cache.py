"""A byte cache in Redis behind a process's own LRU: what one replica computed, the others reuse.

Used for the classifier's answers (a model call saved) and the learned scorer's embeddings (an encoder
pass saved). Only a local miss asks Redis, so a local hit costs nothing more; a write goes out after
the answer, off the request's path. Keys are hashes, never request text.

    remote = RemoteCache(link, "classifier:" + settings, ttl=3600)
    found = await remote.get(key)       # bytes, None (a miss), or DOWN
    remote.put(key, answer_bytes)       # without waiting: with the process's next Redis call
"""

from __future__ import annotations

from tiergate.state.link import Down, RedisLink

#: A write may wait this long for another command to ride along with (another replica asking for the
#: key meanwhile computes it once more).
WRITE_WITHIN = 0.01


class RemoteCache:
    def __init__(self, link: RedisLink, namespace: str, *, ttl: float) -> None:
        self.link = link
        self.namespace = namespace
        self.ttl_ms = max(1, int(ttl * 1000))
        self.hits = 0
        self.misses = 0

    def _key(self, key: bytes) -> str:
        return self.link.key(self.namespace, key.hex())

    async def get(self, key: bytes) -> bytes | Down | None:
        name = self._key(key)
        got = await self.link.execute("GET", name)
        if isinstance(got, bytes):
            self.hits += 1
        elif got is None:
            self.misses += 1
        return got if isinstance(got, bytes | Down) else None

    def put(self, key: bytes, value: bytes) -> None:
        self.link.later("SET", self._key(key), value, "PX", self.ttl_ms, within=WRITE_WITHIN)
