"""Targets (tier + backend + model, with resolved knobs) and the ordered chain a decision tries.

Overrides are merged with the file's defaults once, at compile time, so dispatch reads plain values.

    chain = TargetChains.compile(config)
    chain.for_tier("local")   # local's targets, then each fallback tier's, depth-first, no repeats

A chain holds every listing, in order; the router tries each backend/model (``Target.key``) once, at its
first listing this request can use: two tiers that list the same model share its breaker and limits, and
a request that tried it in the first tier must not call (and pay) it again in the second. A later listing
with what the first lacks for the request (a larger context window, vision) or in a tier a budget left
open is still tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import msgspec

from tiergate.backends.base import BackendConfigBase, Unmodelled
from tiergate.backends.ollama import OllamaBackendConfig
from tiergate.config.model import (
    Breaker,
    Capabilities,
    ClassifierConfig,
    Limits,
    Price,
    Retries,
    RoutesConfig,
    TargetConfig,
    Timeouts,
)


@dataclass(frozen=True)
class Target:
    tier: str
    backend: str
    model: str
    capabilities: Capabilities
    price: Price
    timeouts: Timeouts
    retries: Retries
    breaker: Breaker
    limits: Limits
    scope: str = ""
    """Keeps a side use of a model (the classifier's) on its own breaker and limits."""
    pinned: bool = False
    """Kept in its Ollama server's memory (``keep_alive: -1``), never unloaded by ``max_loaded``."""
    fill_in_the_middle: bool = False
    """Takes a legacy completion's ``suffix`` (Ollama's ``/api/generate``); other backends would drop it."""
    num_ctx: int | None = None
    """The context window an Ollama server runs the model with (``options.num_ctx``): the tier target's
    ``capabilities.context_window``; None sends none (the server's own)."""
    native: str | None = None
    """The client dialect its backend takes natively (``anthropic``: an Anthropic backend gets a Messages
    client's own body), which alone serves what a request's ``native.exclusive`` holds."""
    timeout_setting: str | None = None
    """The one setting behind every time bound of this target, named by its timeout errors instead of
    ``timeouts.*`` (the classifier's ``routing.classifier.timeout``)."""
    unmodelled: Unmodelled = "openai"
    """Which of a chat body's parameters that tiergate does not model its backend's kind is sent
    (``BackendConfigBase.unmodelled``, :func:`tiergate.protocols.extras.dropped`)."""
    pass_params: frozenset[str] = frozenset()
    """Its ``openai`` backend's ``pass_params``: the parameters it is sent beyond the sampling ones, which the
    answer's ``x-tiergate-dropped-params`` leaves out (:func:`tiergate.protocols.extras.dropped`)."""
    keeps_strict: bool = True
    """Its backend's kind sends a tool's ``strict`` as written (``BackendConfigBase.keeps_strict``)."""
    caps_output: bool = False
    """Its backend's kind lowers an output limit above ``capabilities.max_output`` to it
    (``BackendConfigBase.caps_output``)."""

    def timeout_named(self, which: str) -> str:
        """The setting a timeout of kind ``which`` (``total``, ``first_token``, ``idle``) comes from."""
        return self.timeout_setting or f"timeouts.{which}"

    def total_timeout(self, took: str = "no answer within") -> str:
        """What a target that ran out of its whole time says: the file's ``timeouts.total`` is shared by the
        retries; the classifier's timeout bounds its one call."""
        if self.timeout_setting is not None:
            return f"{took} {self.timeouts.total:g}s ({self.timeout_setting})"
        return f"{took} {self.timeouts.total:g}s, retries included (timeouts.total)"

    @property
    def key(self) -> str:
        """Identity for breakers and limiters: survives reloads that keep the same backend and model."""
        return f"{self.scope}{self.backend}/{self.model}"

    @property
    def label(self) -> str:
        return f"{self.tier}/{self.model}"

    def lacks(self, needs: frozenset[str], tokens: int, output: int = 0) -> str | None:
        """Why this target cannot serve a request, or None. ``tokens``: the prompt's estimate plus the
        ``output`` limit the request asks for."""
        caps = self.capabilities
        if "tools" in needs and not caps.tools:
            return "no tool support"
        if "vision" in needs and not caps.vision:
            return "no vision support"
        if "documents" in needs and not caps.documents:
            return "no document support"
        if "fill_in_the_middle" in needs and not self.fill_in_the_middle:
            return "cannot take `suffix` (fill-in-the-middle needs an ollama backend)"
        return self.too_small(tokens, output)

    def too_small(self, tokens: int, output: int = 0) -> str | None:
        """Why this target's context window cannot hold ``tokens`` (of which ``output`` is the limit the
        request asks for), or None: the reason :meth:`lacks` gives when the window is all it lacks. The output
        counted is the limit the target is sent (:meth:`sent_output`)."""
        sent = self.sent_output(output)
        tokens, output = tokens - output + sent, sent
        window = self.capabilities.context_window
        if tokens <= window:
            return None
        if output:
            return f"context window {window} < ~{tokens} tokens (prompt ~{tokens - output} + max_tokens {output})"
        return f"context window {window} < ~{tokens} tokens"

    def sent_output(self, output: int) -> int:
        """The output limit this target is sent for a request that asks for ``output``: an ``anthropic``
        backend (``caps_output``) lowers one above the model's ``capabilities.max_output`` to it (the API
        refuses more), so a window that holds the prompt and that much takes the request."""
        most = self.capabilities.max_output
        return min(output, most) if self.caps_output and most is not None else output


S = TypeVar("S", Timeouts, Retries, Breaker)


def _merge(default: S, override: msgspec.Struct | None) -> S:
    """The file's defaults with every field the override sets (not None) replaced."""
    if override is None:
        return default
    changes = {k: v for k in override.__struct_fields__ if (v := getattr(override, k)) is not None}
    return msgspec.structs.replace(default, **changes)


def build_target(tier: str, cfg: TargetConfig, config: RoutesConfig) -> Target:
    kind = _kind(config, cfg.backend)
    return Target(
        tier=tier,
        backend=cfg.backend,
        model=cfg.model,
        capabilities=cfg.capabilities or Capabilities(),  # the loader fills it in (tiergate.config.profiles)
        price=cfg.price,
        timeouts=_merge(config.timeouts, cfg.timeouts),
        retries=_merge(config.retries, cfg.retries),
        breaker=_merge(config.breakers, cfg.breaker),
        limits=cfg.limits if cfg.limits is not None else config.limits,
        pinned=cfg.pinned,
        fill_in_the_middle=kind.fill_in_the_middle,
        num_ctx=cfg.capabilities.context_window if cfg.capabilities is not None else None,
        native=kind.native,
        unmodelled=kind.unmodelled,
        pass_params=_sent_params(config, cfg.backend),
        keeps_strict=kind.keeps_strict,
        caps_output=kind.caps_output,
    )


def _kind(config: RoutesConfig, backend: str) -> type[BackendConfigBase]:
    """The config class of the backend named ``backend``: its kind, which says what it is sent and takes
    (the base's defaults for one the file does not define, which the config check has refused already)."""
    cfg = config.backends.get(backend)
    return type(cfg) if cfg is not None else BackendConfigBase


def _sent_params(config: RoutesConfig, backend: str) -> frozenset[str]:
    """The parameters the backend named ``backend`` is sent beyond its kind's (an ``openai`` one's
    ``pass_params``)."""
    cfg = config.backends.get(backend)
    return cfg.sent_params() if cfg is not None else frozenset()


@dataclass(frozen=True)
class TargetChains:
    tiers: dict[str, tuple[Target, ...]]
    fallbacks: dict[str, tuple[str, ...]]
    by_model: dict[str, Target]

    @classmethod
    def compile(cls, config: RoutesConfig) -> TargetChains:
        tiers: dict[str, tuple[Target, ...]] = {}
        by_model: dict[str, Target] = {}
        for name, tier in config.tiers.items():
            built = []
            for tcfg in tier.targets:
                target = build_target(name, tcfg, config)
                built.append(target)
                for ident in (tcfg.model, *tcfg.aliases):
                    by_model.setdefault(ident, target)
            tiers[name] = tuple(built)
        fallbacks = {k: tuple(v) for k, v in config.fallbacks.items()}
        chains = cls(tiers, fallbacks, by_model)
        _ = chains._chains  # compiled now, at load time, not on the first request
        return chains

    def tier_order(self, tier: str) -> list[str]:
        """The tier, then its fallbacks depth first, no repeats (compiled once per tier)."""
        return list(self._chains[tier][1]) if tier in self._chains else self._order(tier)

    def _order(self, tier: str) -> list[str]:
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order or name not in self.tiers:
                return
            order.append(name)
            for nxt in self.fallbacks.get(name, ()):
                visit(nxt)

        visit(tier)
        return order

    def for_tier(self, tier: str, first: Target | None = None) -> list[Target]:
        compiled = self._chains.get(tier)
        targets = compiled[0] if compiled is not None else ()
        if first is None:
            return list(targets)
        return [first, *(t for t in targets if t is not first)]

    @cached_property
    def _chains(self) -> dict[str, tuple[tuple[Target, ...], tuple[str, ...]]]:
        """Per tier: the ordered targets of it and its fallbacks (each listing: the router tries a
        backend/model once, at its first usable listing), and the tier order itself."""
        out = {}
        for tier in self.tiers:
            order = tuple(self._order(tier))
            out[tier] = (tuple(t for name in order for t in self.tiers[name]), order)
        return out

    def all_targets(self) -> list[Target]:
        return [t for targets in self.tiers.values() for t in targets]


def classifier_target(cfg: ClassifierConfig, config: RoutesConfig) -> Target:
    """The classifier model as a dispatch target: its own timeout for every bound, no retries (a slow model
    is not made faster by asking twice), its own breaker and limits."""
    tier = next(iter(config.tiers))
    caps = config.tiers[tier].targets[0].capabilities or Capabilities()
    # `thinking` lets the request's reasoning_effort "none" out as Ollama's `think: false` (which a model
    # without thinking takes too: Ollama refuses only `think: true`); an OpenAI-compatible server is sent
    # no reasoning_effort, since not every one takes "none".
    kind = _kind(config, cfg.backend)
    ollama = isinstance(config.backends.get(cfg.backend), OllamaBackendConfig)
    caps = msgspec.structs.replace(caps, thinking=ollama)
    breaker = Breaker(
        fail_max=cfg.breaker.fail_max if cfg.breaker and cfg.breaker.fail_max else DEFAULT_FAIL_MAX,
        reset_timeout=cfg.breaker.reset_timeout if cfg.breaker and cfg.breaker.reset_timeout else DEFAULT_RESET_TIMEOUT,
    )
    connect = min(cfg.timeout, config.timeouts.connect)
    timeouts = Timeouts(connect=connect, first_token=cfg.timeout, idle=cfg.timeout, total=cfg.timeout)
    # The borrowed capabilities say nothing of the classifier's model: it runs with the window of a tier
    # target of the same model (Ollama reloads a model whose num_ctx changes), else the server's own.
    same = (cfg.backend, cfg.model)
    twins = [t for tier_cfg in config.tiers.values() for t in tier_cfg.targets if (t.backend, t.model) == same]
    num_ctx = next((t.capabilities.context_window for t in twins if t.capabilities is not None), None)
    # what its calls are charged: its own price, else that of a tier target of the same model, else nothing
    price = cfg.price or next((t.price for t in twins), None) or Price()
    return Target(
        "classifier",
        cfg.backend,
        cfg.model,
        caps,
        price,
        timeouts,
        Retries(attempts=0),
        breaker,
        cfg.limits or Limits(),
        scope="classifier:",
        num_ctx=num_ctx,
        timeout_setting="routing.classifier.timeout",
        unmodelled=kind.unmodelled,
        pass_params=_sent_params(config, cfg.backend),
        keeps_strict=kind.keeps_strict,
        caps_output=kind.caps_output,
    )


DEFAULT_FAIL_MAX = 5
DEFAULT_RESET_TIMEOUT = 60.0
