"""Chat parameters tiergate does not model, and what each kind of backend gets of them.

A chat body may carry parameters beyond those :class:`~tiergate.wire.ChatRequest` reads: a local server's
sampling extras (vLLM's and llama.cpp's ``min_p``, ``repetition_penalty``, ``typical_p``, which the openai
SDK sends with ``extra_body``), or OpenAI's own newer ones (``store``, ``prediction``, ``verbosity``). The
chat decoder keeps them as they came (``ChatRequest.extra``), and each backend takes what it can:

- an OpenAI-compatible server gets them in its body as sent, as vLLM and llama.cpp read their extras (each
  ignores what it does not know), except the few in :data:`WITHHELD`;
- Ollama gets the sampling parameters it has, as ``options`` (:data:`OLLAMA_OPTIONS`);
- Claude gets none: the Messages API has no other sampling parameter (``top_k`` is modelled, and goes).

What a target did not get is :func:`dropped`: the client is told in ``x-tiergate-dropped-params`` and the
request's log line, never left to guess. A parameter sent as ``null`` asks for nothing and is never listed.

    for_openai({"min_p": 0.05, "service_tier": "flex"})            # {"min_p": 0.05}
    for_ollama({"repetition_penalty": 1.1, "store": True})         # {"repeat_penalty": 1.1}
    dropped({"repetition_penalty": 1.1, "store": True}, "ollama")  # ["store"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Header naming, for the target that answered, the parameters of the client's body it did not get.
HEADER = "x-tiergate-dropped-params"

#: Parameters an OpenAI-compatible target is never sent, and why. Everything else not modelled goes as sent.
WITHHELD = {
    # OpenAI's processing tier sets the price (flex is cheaper, priority dearer); tiergate charges spend and
    # budgets at the target's configured `price`, which would then be wrong.
    "service_tier": "it changes the price per token, and spend is charged at the target's configured price",
    # OpenAI's search models answer with url_citation annotations, which tiergate does not carry back, and
    # bill each search apart, which tiergate does not count.
    "web_search_options": "a search answer's citations would be lost, and its searches not counted",
}
#: Names beginning so are tiergate's own (``tiergate_continuation``), never a client's to send upstream.
OWN_PREFIX = "tiergate_"

#: Ollama's ``options`` for a client's sampling parameter (Ollama's own names, and vLLM's and Hugging
#: Face's ``repetition_penalty`` for its ``repeat_penalty``). When both spellings are sent, ``repeat_penalty``
#: is used. Load-time options (``num_ctx``, ``num_gpu``) are not taken from a client: tiergate sends a
#: target's context window, so Ollama never reloads the model between requests.
OLLAMA_OPTIONS = {
    "min_p": "min_p",
    "typical_p": "typical_p",
    "repeat_last_n": "repeat_last_n",
    "repeat_penalty": "repeat_penalty",
    "repetition_penalty": "repeat_penalty",
}


def for_openai(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters an OpenAI-compatible server is sent, as the client sent them."""
    return {name: value for name, value in (extra or {}).items() if _forwarded(name)}


def for_ollama(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``options`` an Ollama server is sent for ``extra``."""
    return {option: value for option, (_, value) in _ollama(extra or {}).items()}


def dropped(extra: Mapping[str, Any] | None, kind: str) -> list[str]:
    """The parameters of ``extra`` a target of backend ``kind`` (``openai``, ``ollama``, ``anthropic``) is
    not sent, in the body's order."""
    if not extra:
        return []
    if kind == "ollama":
        used = {name for name, _ in _ollama(extra).values()}
        kept = [name for name in extra if name in used]
    elif kind == "anthropic":
        kept = []
    else:
        kept = [name for name in extra if _forwarded(name)]
    return [name for name, value in extra.items() if value is not None and name not in kept]


def _forwarded(name: str) -> bool:
    return name not in WITHHELD and not name.startswith(OWN_PREFIX)


def _ollama(extra: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each option Ollama is sent, with the client's name for it and its value: the first spelling of
    :data:`OLLAMA_OPTIONS` the client used (so ``repeat_penalty`` over ``repetition_penalty``)."""
    options: dict[str, tuple[str, Any]] = {}
    for name, option in OLLAMA_OPTIONS.items():
        if option not in options and extra.get(name) is not None:
            options[option] = (name, extra[name])
    return options
