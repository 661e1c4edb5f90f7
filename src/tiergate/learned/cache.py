"""An LRU of embeddings keyed by a hash of the text, in front of any encoder.

Agent loops resend the same ask at every step, so only the first step pays for encoding. The key is a
128-bit BLAKE2b of the UTF-8 text, so the cache holds no request text. Stored rows are read-only: a caller
cannot change what the next hit returns. Safe to share between the event loop and the encoder's worker
thread.

    encoder = CachedEncoder(StaticEncoder.build(weights), size=4096)
    encoder.cached("rename foo")        # None on a miss, the row on a hit, never encodes
    encoder.encode(["rename foo"])      # encodes the misses only, in one batch
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from cachetools import LRUCache

from tiergate.learned.bert import F32
from tiergate.learned.vocabulary import READ_CHARS

if TYPE_CHECKING:
    from tiergate.learned.encoder import Encoder


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CachedEncoder:
    def __init__(self, inner: Encoder, *, size: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"cache_size must be at least 1, not {size}")
        self.inner = inner
        self._rows: LRUCache[bytes, F32] = LRUCache(maxsize=size)
        self._unfamiliar: LRUCache[str, float] = LRUCache(maxsize=size)  # as many asks as their vectors
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def inline(self) -> bool:
        return self.inner.inline

    def unfamiliar(self, text: str) -> float:
        """``learned.unfamiliar`` of ``text`` by this encoder's vocabulary (0 for an encoder without one)."""
        text = text[:READ_CHARS]  # all it reads: the key holds no more
        found = self._unfamiliar.get(text)
        if found is None:
            tokenizer = getattr(self.inner, "tokenizer", None)
            found = self._unfamiliar[text] = tokenizer.vocabulary.unfamiliar(text) if tokenizer is not None else 0.0
        return found

    @property
    def size(self) -> int:
        return int(self._rows.maxsize)

    def resize(self, size: int) -> None:
        """Keep at most ``size`` rows from now on (``routing.learned.cache_size`` changed by a reload), keeping
        the most recently stored ones that fit."""
        if size < 1:
            raise ValueError(f"cache_size must be at least 1, not {size}")
        with self._lock:
            if size == self._rows.maxsize:
                return
            rows: LRUCache[bytes, F32] = LRUCache(maxsize=size)
            for key in list(self._rows):
                rows[key] = self._rows[key]
            self._rows = rows
            self._unfamiliar = LRUCache(maxsize=size)

    def cached(self, text: str, key: bytes | None = None) -> F32 | None:
        """The row for ``text`` if it is here (``key``: its :func:`text_key`, when the caller has it)."""
        with self._lock:
            row = self._rows.get(key if key is not None else text_key(text))
            if row is not None:
                self.hits += 1
            return row

    def store(self, key: bytes, row: F32) -> F32:
        """Keep an embedding computed elsewhere (another replica, through Redis) under its text's
        :func:`text_key`; returns the stored row."""
        stored = np.array(row, dtype=np.float32)
        stored.setflags(write=False)
        with self._lock:
            self._rows[key] = stored
        return stored

    def encode(self, texts: Sequence[str]) -> F32:
        keys = [text_key(text) for text in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                row = self._rows.get(key)
                if row is not None:
                    self.hits += 1
                    out[i] = row
                else:
                    todo.setdefault(key, []).append(i)
        if not todo:
            return out
        fresh = self.inner.encode([texts[rows[0]] for rows in todo.values()])
        with self._lock:
            self.misses += len(todo)
            for (key, rows), row in zip(todo.items(), fresh, strict=True):
                out[rows] = row
                stored = row.copy()
                stored.setflags(write=False)
                self._rows[key] = stored
        return out
