"""A tiny encoder that counts its calls and can hold a call open until the test lets it go."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from tiergate.learned.bert import F32


class CountingEncoder:
    """Encodes a text as a one-hot row by its length; records every call and the thread it ran on."""

    id = "fake/counting"
    dim = 4

    def __init__(self, *, inline: bool = True) -> None:
        self.inline = inline
        self.calls: list[list[str]] = []
        self.threads: list[int] = []
        self.release = threading.Event()
        self.release.set()
        self.on_start: Callable[[], None] = lambda: None

    def encode(self, texts: Sequence[str]) -> F32:
        self.calls.append(list(texts))
        self.threads.append(threading.get_ident())
        self.on_start()
        self.release.wait(timeout=30)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, len(text) % self.dim] = 1
        return out
