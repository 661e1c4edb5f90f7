"""The wire of Ollama's model memory, without I/O: ``/api/ps`` read back, the unload request, how a
configured ``keep_alive`` travels, and which listed name a configured model id means."""

from __future__ import annotations

import json

import pytest

from tiergate.errors import UpstreamProtocolError
from tiergate.protocols.ollama_ps import Resident, decode_ps, keep_alive, same_model, unload

URL = "http://127.0.0.1:11434"

#: An /api/ps answer in the shape of Ollama's API documentation.
PS = {
    "models": [
        {
            "name": "mistral:latest",
            "model": "mistral:latest",
            "size": 5137025024,
            "digest": "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "7.2B",
                "quantization_level": "Q4_0",
            },
            "expires_at": "2024-06-04T14:38:31.83753-07:00",
            "size_vram": 5137025024,
        }
    ]
}


def test_ps_lists_each_model_with_its_expiry() -> None:
    assert decode_ps("ollama", URL, json.dumps(PS).encode()) == [
        Resident("mistral:latest", "2024-06-04T14:38:31.83753-07:00")
    ]


@pytest.mark.parametrize("body", [b'{"models": []}', b'{"models": null}', b"{}"])
def test_ps_with_nothing_loaded(body: bytes) -> None:
    assert decode_ps("ollama", URL, body) == []


def test_a_model_without_name_is_named_by_model() -> None:
    body = json.dumps({"models": [{"model": "qwen2.5-coder:7b", "expires_at": ""}]}).encode()
    assert decode_ps("ollama", URL, body) == [Resident("qwen2.5-coder:7b", "")]


def test_an_unreadable_ps_is_a_protocol_error_naming_the_backend() -> None:
    with pytest.raises(UpstreamProtocolError) as info:
        decode_ps("ollama", URL, b"<html>proxy error</html>")
    assert info.value.message.startswith(f"backend 'ollama' at {URL}: unreadable /api/ps answer")


def test_unload_is_a_generate_with_keep_alive_zero_and_no_prompt() -> None:
    path, body = unload("qwen2.5-coder:7b")
    assert path == "/api/generate"
    assert json.loads(body) == {"model": "qwen2.5-coder:7b", "keep_alive": 0, "stream": False}


@pytest.mark.parametrize(
    ("configured", "sent"),
    [(None, None), ("-1", -1), ("300", 300), ("1.5", 1.5), ("10m", "10m"), ("-1m", "-1m"), ("0", 0)],
)
def test_keep_alive_numbers_travel_as_numbers(configured: str | None, sent: object) -> None:
    assert keep_alive(configured) == sent
    assert type(keep_alive(configured)) is type(sent)


@pytest.mark.parametrize(
    ("configured", "listed", "same"),
    [
        ("qwen2.5-coder:7b", "qwen2.5-coder:7b", True),
        ("mistral", "mistral:latest", True),
        ("mistral:latest", "mistral", True),
        ("mistral:7b", "mistral:latest", False),
        ("hf.co/org/model:Q4_K_M", "hf.co/org/model:Q4_K_M", True),
        ("localhost:5000/team/model", "localhost:5000/team/model:latest", True),
        ("qwen", "qwen2:latest", False),
    ],
)
def test_same_model_adds_the_default_tag(configured: str, listed: str, same: bool) -> None:
    assert same_model(configured, listed) is same
