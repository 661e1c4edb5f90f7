"""``await embedder.embed(text)``: the event loop's way to an embedding, never blocking it on a forward pass.

A cache hit returns at once. On a miss an inline encoder (the static table) runs right there; any other
(the transformer) runs on one worker thread, so concurrent misses queue behind each other instead of
fighting over the two cores, and a duplicate that was queued meets the cache when its turn comes.

With a ``remote`` cache (``state.redis_url``: :mod:`tiergate.state.cache`) a local miss asks Redis before
encoding, and each new embedding is stored there, so an ask one replica embedded is a hit on every other.

Create it once in the app's lifespan and close it there:

    embedder = Embedder(build_encoder("transformer"))
    vector = await embedder.embed("why does this test hang?")      # (384,) float32, unit length
    embedder.close()
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np

from tiergate.learned.bert import F32
from tiergate.learned.cache import CachedEncoder, text_key
from tiergate.state.cache import RemoteCache


class Embedder:
    def __init__(
        self, encoder: CachedEncoder, *, executor: Executor | None = None, remote: RemoteCache | None = None
    ) -> None:
        """``executor`` replaces the worker thread (and is then the caller's to shut down)."""
        self.encoder = encoder
        self.remote = remote
        self._owned: Executor | None = None
        if executor is None and not encoder.inline:
            executor = self._owned = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiergate-encoder")
        self._executor = executor

    @property
    def id(self) -> str:
        return self.encoder.id

    async def embed(self, text: str) -> F32:
        return (await self.lookup(text))[0]

    async def lookup(self, text: str) -> tuple[F32, bool]:
        """The embedding, and whether this process's cache had it (the text is hashed once for both)."""
        key = text_key(text)
        row = self.encoder.cached(text, key)
        if row is not None:
            return row, True
        return await self._miss(text, key), False

    async def _miss(self, text: str, key: bytes) -> F32:
        if self.remote is not None:
            found = await self.remote.get(key)
            if isinstance(found, bytes) and len(found) == self.encoder.dim * 4:
                return self.encoder.store(key, np.frombuffer(found, dtype=np.float32))
        if self._executor is None:
            rows = self.encoder.encode([text])
        else:
            loop = asyncio.get_running_loop()
            rows = await loop.run_in_executor(self._executor, self.encoder.encode, [text])
        first: F32 = rows[0]
        if self.remote is not None:
            self.remote.put(key, np.ascontiguousarray(first, dtype=np.float32).tobytes())
        return first

    def close(self) -> None:
        """Stop the worker thread; queued encodes are dropped, one that is running finishes."""
        if self._owned is not None:
            self._owned.shutdown(wait=False, cancel_futures=True)
