"""What ``GET /v1/models`` offers a client's model picker when ``routing.explicit.models`` patterns route some
names: a target id that a pattern sends to ``auto`` (or to another tier) is not offered as a choice, since
picking it would not reach that model; looking such a name up still answers, for clients that check a name
before using it. Real app on loopback, the openai and anthropic SDKs."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.conftest import GatewayFactory

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b", aliases: [coder]}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, aliases: [strong]}]}
  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}]}
routing:
  scorers:
    - {name: anything, feature: message_count, transform: {kind: threshold, at: 1}}
  explicit:
    models:
      "claude-opus-*": opus
      "claude-*": auto
"""


@pytest.fixture
def gateway(gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    return gateway_for(path, upstream_env)


def test_the_list_leaves_out_ids_a_pattern_routes_elsewhere(gateway: str) -> None:
    client = openai.OpenAI(base_url=gateway + "/v1", api_key="unused", max_retries=0)
    with client:
        listed = [(m.id, m.owned_by) for m in client.models.list()]
    assert listed == [
        ("auto", "tiergate"),
        ("local", "tiergate"),
        ("sonnet", "tiergate"),
        ("opus", "tiergate"),
        ("qwen2.5-coder:7b", "ollama"),
        ("coder", "ollama"),
        # claude-sonnet-4-5 is routed as auto by "claude-*": not a way to reach sonnet
        ("strong", "anthropic"),
        # "claude-opus-*" names opus, the tier this target is in: picking it reaches it
        ("claude-opus-4-1", "anthropic"),
    ]


def test_a_name_a_pattern_routes_can_be_looked_up(gateway: str) -> None:
    client = openai.OpenAI(base_url=gateway + "/v1", api_key="unused", max_retries=0)
    with client:
        routed = client.models.retrieve("claude-sonnet-4-5-20250929")
        assert (routed.id, routed.owned_by) == ("claude-sonnet-4-5-20250929", "tiergate")
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gpt-nine")
    claude = anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=0)
    with claude:
        info = claude.models.retrieve("claude-sonnet-4-5")
        assert (info.id, info.type) == ("claude-sonnet-4-5", "model")
        ids = [m.id for m in claude.models.list()]
    assert "claude-sonnet-4-5" not in ids and "claude-opus-4-1" in ids
    r = httpx.get(gateway + "/v1/models/claude-haiku-4-5", headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 200 and r.json()["display_name"] == "claude-haiku-4-5"


def test_an_unknown_model_is_a_404_in_the_callers_shape(gateway: str) -> None:
    """The anthropic SDK (it sends ``anthropic-version``) gets Anthropic's error body and its NotFoundError;
    the openai SDK, OpenAI's."""
    claude = anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=0)
    with claude, pytest.raises(anthropic.NotFoundError) as caught:
        claude.models.retrieve("gpt-nine")
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no model 'gpt-nine' here: GET /v1/models lists them"},
    }
    r = httpx.get(gateway + "/v1/models/gpt-nine")
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "message": "no model 'gpt-nine' here: GET /v1/models lists them",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


def test_the_anthropic_list_pages_as_anthropics_does(gateway: str) -> None:
    """``limit``, ``after_id`` and ``before_id`` were ignored: every page was the whole list."""
    claude = anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=0)
    with claude:
        page = claude.models.list(limit=3)
        assert [m.id for m in page.data] == ["auto", "local", "sonnet"]
        assert (page.has_more, page.first_id, page.last_id) == (True, "auto", "sonnet")
        # the SDK follows last_id as after_id until has_more is false
        assert [m.id for m in claude.models.list(limit=3)] == [
            "auto", "local", "sonnet", "opus", "qwen2.5-coder:7b", "coder", "strong", "claude-opus-4-1",
        ]  # fmt: skip
        with pytest.raises(anthropic.BadRequestError) as caught:
            claude.models.list(after_id="gpt-nine")
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "after_id: no model 'gpt-nine' in the list"},
    }
    headers = {"anthropic-version": "2023-06-01"}
    last = httpx.get(gateway + "/v1/models", params={"limit": 3, "after_id": "coder"}, headers=headers).json()
    assert last == {
        "data": [
            {"type": "model", "id": "strong", "display_name": "strong", "created_at": last["data"][0]["created_at"]},
            {
                "type": "model",
                "id": "claude-opus-4-1",
                "display_name": "claude-opus-4-1",
                "created_at": last["data"][0]["created_at"],
            },
        ],
        "has_more": False,
        "first_id": "strong",
        "last_id": "claude-opus-4-1",
    }
    before = httpx.get(gateway + "/v1/models", params={"limit": 2, "before_id": "opus"}, headers=headers).json()
    assert ([m["id"] for m in before["data"]], before["has_more"]) == (["local", "sonnet"], True)
    for bad in ("0", "1001", "x", "²", "9" * 5000):
        r = httpx.get(gateway + "/v1/models", params={"limit": bad}, headers=headers)
        assert (r.status_code, r.json()["error"]["type"]) == (400, "invalid_request_error")
