"""What each kind of backend is sent of a chat body's parameters tiergate does not model, and what it is not."""

from __future__ import annotations

from typing import Any

import pytest

from tiergate.protocols.extras import dropped, for_ollama, for_openai

EXTRA: dict[str, Any] = {
    "min_p": 0.05,
    "repetition_penalty": 1.1,
    "service_tier": "flex",
    "tiergate_route": "local",
    "store": None,
}


@pytest.mark.parametrize(
    ("kind", "left_out"),
    [
        ("openai", ["service_tier", "tiergate_route"]),
        ("ollama", ["service_tier", "tiergate_route"]),
        ("anthropic", ["min_p", "repetition_penalty", "service_tier", "tiergate_route"]),
    ],
)
def test_what_is_left_out_is_named_in_the_bodys_order_but_a_null(kind: str, left_out: list[str]) -> None:
    assert dropped(EXTRA, kind) == left_out


def test_an_openai_compatible_server_gets_the_rest_as_sent_nulls_included() -> None:
    assert for_openai(EXTRA) == {"min_p": 0.05, "repetition_penalty": 1.1, "store": None}


def test_ollama_gets_its_own_names_and_no_nulls() -> None:
    assert for_ollama(EXTRA) == {"min_p": 0.05, "repeat_penalty": 1.1}
    assert for_ollama({"repetition_penalty": 1.1, "min_p": None}) == {"repeat_penalty": 1.1}


def test_nothing_extra_is_nothing_dropped() -> None:
    assert (dropped(None, "anthropic"), for_openai(None), for_ollama(None)) == ([], {}, {})
