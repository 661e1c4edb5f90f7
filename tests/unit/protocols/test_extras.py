"""What each kind of backend is sent of a chat body's parameters tiergate does not model, and what it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tiergate.protocols.extras import (
    OPENAI_PARAMS,
    TEMPLATE_SWITCHES,
    dropped,
    for_ollama,
    for_openai,
    shown,
    unmodelled,
)

ROOT = Path(__file__).resolve().parents[3]

EXTRA: dict[str, Any] = {
    "min_p": 0.05,
    "repetition_penalty": 1.1,
    "service_tier": "flex",
    "tiergate_route": "local",
    "store": None,
}


@pytest.mark.parametrize(
    ("sent", "left_out"),
    [
        ("openai", ["service_tier", "tiergate_route"]),
        ("ollama", ["service_tier", "tiergate_route"]),
        ("none", ["min_p", "repetition_penalty", "service_tier", "tiergate_route"]),
    ],
)
def test_what_is_left_out_is_named_in_the_bodys_order_but_a_null(sent: str, left_out: list[str]) -> None:
    assert dropped(EXTRA, sent) == left_out


def test_an_openai_compatible_server_gets_the_sampling_ones_as_sent_nulls_included() -> None:
    """``store`` went too, as everything but a short list did, until that let a client steer the model."""
    assert for_openai(EXTRA) == {"min_p": 0.05, "repetition_penalty": 1.1}
    assert for_openai({"min_p": None, "store": None}) == {"min_p": None}


def test_what_a_proxy_or_server_reads_as_a_routing_choice_is_not_passed() -> None:
    steering = {"fallbacks": ["gpt-5"], "models": ["o3"], "route": "fallback", "n_predict": 9, "priority": -1}
    assert for_openai(steering) == {}
    assert dropped(steering, "openai") == list(steering)


def test_a_backends_pass_params_go_too_but_never_tiergates_own() -> None:
    extra = {"ignore_eos": True, "n_predict": 9, "tiergate_route": "x", "min_p": 0.1}
    also = {"ignore_eos", "tiergate_route"}
    assert for_openai(extra, also) == {"ignore_eos": True, "min_p": 0.1}
    assert dropped(extra, "openai", also) == ["n_predict", "tiergate_route"]
    assert dropped(extra, "ollama", also) == ["ignore_eos", "n_predict", "tiergate_route"]


def test_chat_template_kwargs_keeps_the_templates_switches_alone() -> None:
    """Passed whole, its ``chat_template`` replaced the server's template (Jinja run on the server) and its
    ``messages`` or ``tools`` what the template renders in place of what tiergate sent and routed on."""
    kwargs = {
        "chat_template": "{{ 'anything' }}",
        "enable_thinking": False,
        "messages": [{"role": "user", "content": "something else"}],
        "reasoning_effort": "high",
        "tools": [{"type": "function"}],
        "add_generation_prompt": None,
    }
    extra = {"min_p": 0.1, "chat_template_kwargs": kwargs}
    assert for_openai(extra) == {
        "min_p": 0.1,
        "chat_template_kwargs": {"enable_thinking": False, "reasoning_effort": "high"},
    }
    assert dropped(extra, "openai") == [
        "chat_template_kwargs.chat_template",
        "chat_template_kwargs.messages",
        "chat_template_kwargs.tools",
    ]
    assert dropped(extra, "ollama") == ["chat_template_kwargs"]  # Ollama has none of it: named whole


def test_chat_template_kwargs_with_no_switch_is_not_sent() -> None:
    extra = {"chat_template_kwargs": {"chat_template": "{{ 'x' }}"}}
    assert (for_openai(extra), dropped(extra, "openai")) == ({}, ["chat_template_kwargs.chat_template"])
    extra = {"chat_template_kwargs": "enable_thinking=false"}  # no object: no server reads it
    assert (for_openai(extra), dropped(extra, "openai")) == ({}, ["chat_template_kwargs"])
    assert (for_openai({"chat_template_kwargs": {}}), dropped({"chat_template_kwargs": {}}, "openai")) == (
        {"chat_template_kwargs": {}},
        [],
    )


def test_a_backends_pass_params_naming_chat_template_kwargs_sends_it_whole() -> None:
    extra = {"chat_template_kwargs": {"enable_thinking": True, "custom_tools": []}}
    assert for_openai(extra, {"chat_template_kwargs"}) == extra
    assert dropped(extra, "openai", {"chat_template_kwargs"}) == []


def test_the_readme_lists_every_parameter_passed() -> None:
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(OPENAI_PARAMS | TEMPLATE_SWITCHES) if f"`{name}`" not in readme] == []


def test_ollama_gets_its_own_names_and_no_nulls() -> None:
    assert for_ollama(EXTRA) == {"min_p": 0.05, "repeat_penalty": 1.1}
    assert for_ollama({"repetition_penalty": 1.1, "min_p": None}) == {"repeat_penalty": 1.1}


def test_nothing_extra_is_nothing_dropped() -> None:
    assert (dropped(None, "none"), for_openai(None), for_ollama(None)) == ([], {}, {})


def test_an_ingress_keeps_the_fields_it_does_not_read_as_sent() -> None:
    assert unmodelled({"model": "m", "min_p": 0.05, "store": None}, {"model"}) == {"min_p": 0.05, "store": None}
    assert unmodelled({"model": "m"}, {"model"}) is None


def test_a_path_to_a_parameter_is_shown_but_not_arbitrary_text() -> None:
    assert shown(["tools[web_search]", "input[2].tools[mcp]", "bad\r\nx: 1"]) == [
        "tools[web_search]",
        "input[2].tools[mcp]",
        "+1 more",
    ]
