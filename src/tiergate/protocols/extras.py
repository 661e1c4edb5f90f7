"""Parameters tiergate does not model, and what each kind of backend gets of them.

A chat, Responses or Messages body may carry parameters beyond those its ingress reads: a local server's
sampling extras (vLLM's and llama.cpp's ``min_p``, ``repetition_penalty``, ``typical_p``, which the openai
SDK sends with ``extra_body``), or anything else a client's server or proxy reads. Each ingress keeps them as
they came (``ChatRequest.extra``, :func:`unmodelled`), and each backend takes what it can, whatever the
ingress:

- an OpenAI-compatible server gets those of :data:`OPENAI_PARAMS` (the open servers' sampling and decoding
  parameters) as sent, ``chat_template_kwargs`` with only the template's switches (:data:`TEMPLATE_SWITCHES`),
  and those its backend's ``pass_params`` names (``chat_template_kwargs`` there: all of it); nothing else.
  A server or proxy behind it may read a parameter as a choice tiergate made already: which model answers (LiteLLM's
  ``fallbacks``, OpenRouter's ``models`` and ``route``, a LoRA adapter), how many tokens it may write past
  ``max_tokens`` (llama.cpp's ``n_predict``), what is billed (OpenAI's ``service_tier``, a paid ``plugins``
  search), or where it is queued (vLLM's ``priority``). Spend would be charged, and the decision logged, as
  the tier tiergate chose; so only parameters known to change nothing of that are sent;
- Ollama gets the sampling parameters it has, as ``options`` (:data:`OLLAMA_OPTIONS`);
- Claude gets none: the Messages API has no other sampling parameter (``top_k`` is modelled, and goes).

What a target did not get is :func:`dropped`: the client is told in ``x-tiergate-dropped-params`` and the
request's log line, never left to guess; a key of ``chat_template_kwargs`` as ``chat_template_kwargs.<key>``.
A parameter (or key) sent as ``null`` asks for nothing and is never listed. The header lists beside them what
else the target was not sent of the body: what an ingress leaves out for every target (a Responses body's
hosted tools, ``tools[web_search]``) and what a backend's translation leaves out (Claude's ``top_p`` beside
``temperature``).

    for_openai({"min_p": 0.05, "fallbacks": ["gpt-5"]})               # {"min_p": 0.05}
    for_openai({"ignore_eos": True}, also={"ignore_eos"})            # {"ignore_eos": True}
    for_ollama({"repetition_penalty": 1.1, "store": True})           # {"repeat_penalty": 1.1}
    dropped({"repetition_penalty": 1.1, "store": True}, "ollama")    # ["store"]  (what Ollama is sent)
    unmodelled({"model": "m", "min_p": 0.05}, {"model"})              # {"min_p": 0.05}
    for_openai({"chat_template_kwargs": {"enable_thinking": False, "chat_template": "{{ ... }}"}})
    # {"chat_template_kwargs": {"enable_thinking": False}}; dropped: ["chat_template_kwargs.chat_template"]
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

#: Header naming, for the target that answered, the parameters of the client's body it did not get.
HEADER = "x-tiergate-dropped-params"

#: What an OpenAI-compatible server is sent of the parameters tiergate does not model, as the client sent
#: them: the sampling and decoding parameters of vLLM, llama.cpp's server, SGLang, LM Studio and LocalAI
#: (each server ignores or refuses those it does not have). Each changes only how the model that serves picks
#: its tokens, or the shape of its text: never which model serves, how many tokens it may write (``max_tokens``
#: still bounds them), what it costs, nor how the server queues or caches the request. An operator adds a
#: server's own (``pass_params`` on its backend). Left out, among those servers' own, and why:
#:
#: - an output limit of its own, read before ``max_tokens`` (llama.cpp's ``n_predict``, SGLang's
#:   ``max_new_tokens``), or a floor that makes the server write past the model's own end of its answer, up to
#:   the server's limit when the client sent no ``max_tokens`` (``min_tokens``, ``min_new_tokens``,
#:   ``ignore_eos``);
#: - more sequences computed than one answer (``best_of``, ``use_beam_search``, llama.cpp's ``n_cmpl``);
#: - another model's weights (``lora``, ``lora_path``, LM Studio's ``draft_model``), or a model's lifetime on
#:   the server (LM Studio's ``ttl``);
#: - the server's queue and cache, shared by every client (``priority``, ``request_id``, ``id_slot``,
#:   ``cache_prompt``, ``cache_salt``, ``n_cache_reuse``);
#: - token ids, which differ between the models a tier holds (``stop_token_ids``, ``allowed_token_ids``, as
#:   ``logit_bias`` is refused), and log probabilities, which tiergate does not return (``n_probs``,
#:   ``prompt_logprobs``);
#: - a rewritten prompt or a changed answer shape (``chat_template``, ``continue_final_message``, ``echo``,
#:   ``reasoning_format``, ``response_fields``, ``return_tokens``), also as keys of ``chat_template_kwargs``
#:   (:data:`TEMPLATE_SWITCHES`).
OPENAI_PARAMS = frozenset(
    {
        # samplers: vLLM, SGLang, llama.cpp, LM Studio, LocalAI
        "min_p",
        "typical_p",
        "tfs_z",
        "repetition_penalty",
        "repeat_penalty",
        "repeat_last_n",
        "dynatemp_range",
        "dynatemp_exponent",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
        "dry_multiplier",
        "dry_base",
        "dry_allowed_length",
        "dry_penalty_last_n",
        "dry_sequence_breakers",
        "xtc_probability",
        "xtc_threshold",
        "min_keep",
        "samplers",
        "bad_words",
        # constrained decoding: vLLM's (guided_* before 0.12, structured_outputs since), llama.cpp's, SGLang's
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "structured_outputs",
        "grammar",
        "json_schema",
        "regex",
        "ebnf",
        # the answer's text: special tokens, and the stop string kept (vLLM's, SGLang's spelling)
        "skip_special_tokens",
        "spaces_between_special_tokens",
        "include_stop_str_in_output",
        "no_stop_trim",
        # the chat template's own switches (vLLM, llama.cpp, SGLang): `{"enable_thinking": false}`, only
        # those of TEMPLATE_SWITCHES
        "chat_template_kwargs",
    }
)
TEMPLATE_KWARGS = "chat_template_kwargs"
#: The keys of ``chat_template_kwargs`` an OpenAI-compatible server is sent: switches that chat templates read
#: to change their own rendering of the same messages, all about thinking (Qwen3's, GLM's, SmolLM3's and
#: Gemma's ``enable_thinking``, DeepSeek V3.1's and Granite's ``thinking``, gpt-oss's ``reasoning_effort``,
#: Qwen3.6's ``preserve_thinking``, GLM-4.7's ``clear_thinking``, Seed-OSS's ``thinking_budget``). Every other
#: key is dropped: the servers hand the object to ``apply_chat_template`` or the template's context whole, so
#: a key may replace what tiergate sent and routed on or the server's own template: ``chat_template`` (a
#: template of the client's, Jinja run on the server: vLLM refuses it since its GHSA-6fvq-23cw-5628 fix,
#: SGLang renders with it), ``messages``, ``tools``, ``documents`` (llama.cpp's template context takes
#: them over the request's), ``add_generation_prompt``, ``continue_final_message``, ``tokenize``,
#: ``bos_token`` and the other special tokens, and the prompt text some templates take as a variable
#: (Llama 3's ``date_string``, ``custom_tools`` and ``builtin_tools``, gpt-oss's ``model_identity``).
#: A backend whose ``pass_params`` names ``chat_template_kwargs`` gets it whole.
TEMPLATE_SWITCHES = frozenset(
    {"enable_thinking", "thinking", "reasoning_effort", "preserve_thinking", "clear_thinking", "thinking_budget"}
)
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


def unmodelled(body: Mapping[str, Any], modelled: Collection[str]) -> dict[str, Any] | None:
    """The fields of a client's ``body`` that its ingress does not read (``modelled``: the names it reads), as
    sent: the request's ``extra``, or None when there are none."""
    return {name: value for name, value in body.items() if name not in modelled} or None


def for_openai(extra: Mapping[str, Any] | None, also: Collection[str] = ()) -> dict[str, Any]:
    """The parameters an OpenAI-compatible server is sent, as the client sent them: those of
    :data:`OPENAI_PARAMS` (of ``chat_template_kwargs``, its :data:`TEMPLATE_SWITCHES`), and those its backend's
    ``pass_params`` names (``also``)."""
    sent: dict[str, Any] = {}
    for name, value in (extra or {}).items():
        if _forwarded(name, also):
            if name == TEMPLATE_KWARGS and name not in also:
                value = _switches(value)
            if value is not _NOTHING:
                sent[name] = value
    return sent


def for_ollama(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``options`` an Ollama server is sent for ``extra``."""
    return {option: value for option, (_, value) in _ollama(extra or {}).items()}


#: The most names :func:`shown` lists; the rest are counted.
SHOWN = 20
#: A name as the header and the log line show it: a parameter's spelling or a path to it (``tools[mcp]``), not
#: arbitrary text (a CR or LF in a header value makes the server refuse the whole response).
_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


def shown(names: list[str]) -> list[str]:
    """``names`` as the header and the log line list them: the first :data:`SHOWN` that read as parameter names,
    then ``+N more`` for the rest (a body of 20,000 unknown keys made a 900 KB header the client refused after
    the answer was paid for)."""
    listed = [name for name in names if _NAME.fullmatch(name)][:SHOWN]
    more = len(names) - len(listed)
    return [*listed, f"+{more} more"] if more else listed


def dropped(extra: Mapping[str, Any] | None, sent: str, also: Collection[str] = ()) -> list[str]:
    """The parameters of ``extra`` a target is not sent, in the body's order. ``sent``: which of them its
    backend's kind is sent (``BackendConfigBase.unmodelled``): ``openai``, those of :data:`OPENAI_PARAMS` and
    ``also`` (an ``openai`` backend's ``pass_params``); ``ollama``, those of :data:`OLLAMA_OPTIONS`; else
    none (Claude's)."""
    if not extra:
        return []
    if sent == "openai":
        kept = [name for name in extra if _forwarded(name, also)]
    elif sent == "ollama":
        used = {name for name, _ in _ollama(extra).values()}
        kept = [name for name in extra if name in used]
    else:
        kept = []
    out: list[str] = []
    for name, value in extra.items():
        if value is None:
            continue
        if name not in kept:
            out.append(name)
        elif name == TEMPLATE_KWARGS and name not in also:
            out += _unswitched(value)
    return out


_NOTHING = object()


def _switches(kwargs: Any) -> Any:
    """Of a client's ``chat_template_kwargs``, what an OpenAI-compatible server is sent: its switches, or
    ``_NOTHING`` when it holds none but other keys (or is no object, which no server reads)."""
    if not isinstance(kwargs, dict):
        return _NOTHING
    switches = {key: value for key, value in kwargs.items() if key in TEMPLATE_SWITCHES}
    return switches if switches or not kwargs else _NOTHING


def _unswitched(kwargs: Any) -> list[str]:
    """What :func:`_switches` leaves out, as ``x-tiergate-dropped-params`` names it: each key as
    ``chat_template_kwargs.<key>``, or ``chat_template_kwargs`` when it is no object."""
    if not isinstance(kwargs, dict):
        return [TEMPLATE_KWARGS]
    return [f"{TEMPLATE_KWARGS}.{key}" for key, v in kwargs.items() if v is not None and key not in TEMPLATE_SWITCHES]


def _forwarded(name: str, also: Collection[str]) -> bool:
    return (name in OPENAI_PARAMS or name in also) and not name.startswith(OWN_PREFIX)


def _ollama(extra: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each option Ollama is sent, with the client's name for it and its value: the first spelling of
    :data:`OLLAMA_OPTIONS` the client used (so ``repeat_penalty`` over ``repetition_penalty``)."""
    options: dict[str, tuple[str, Any]] = {}
    for name, option in OLLAMA_OPTIONS.items():
        if option not in options and extra.get(name) is not None:
            options[option] = (name, extra[name])
    return options
