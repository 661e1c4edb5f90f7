"""Bad input and dead upstreams: a clear error in the OpenAI shape, and never a key."""

from __future__ import annotations

import logging
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.conftest import ROOT, TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text


def error_of(r: httpx.Response) -> dict[str, object]:
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("content", "status", "param", "message"),
    [
        (b'{"messages": [', 400, None, "the request body is not valid JSON"),
        (b"", 400, None, "the request body is empty"),
        (b'{"model": "auto"}', 400, "messages", "Object missing required field `messages`"),
        (b'{"messages": []}', 400, "messages", "`messages` must hold at least one message"),
        (b'{"messages": "hi"}', 400, "messages", "Expected `array`, got `str`"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', 400, "messages[0].role", "Invalid enum value 'wizard'"),
        (
            b'{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}',
            400,
            "temperature",
            "invalid request: Expected `float | null`, got `str` at `temperature`",
        ),
        (b"[1, 2]", 400, None, "the request body must be a JSON object"),
        (
            b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
            400,
            None,
            "the request body is not valid JSON: an unpaired UTF-16 surrogate escape (\\ud800) at byte 43; "
            "strings must be valid Unicode",
        ),
        (b'{"messages": [{"role": "user", "content": null}]}', 400, "messages[0].content", "is missing"),
        (b'{"messages": [{"role": "user"}]}', 400, "messages[0].content", "a `user` message needs content"),
    ],
)
def test_malformed_requests(gateway: str, content: bytes, status: int, param: str | None, message: str) -> None:
    r = httpx.post(gateway + "/v1/chat/completions", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status
    err = error_of(r)
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param
    assert message in str(err["message"])


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/route", "/v1/completions"])
def test_invalid_utf8_in_an_unknown_field_is_a_400(gateway: str, path: str) -> None:
    """It was a 500 (chat, the dry run), or a 200 that dropped the field unseen (a legacy completion)."""
    body = b'{"model": "auto", "prompt": "hi", "messages": [{"role": "user", "content": "hi"}], "x": "\xc3\x28"}'
    r = httpx.post(gateway + path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    err = error_of(r)
    assert (err["type"], err["code"]) == ("invalid_request_error", "invalid_json")
    at = body.index(b"\xc3")
    assert err["message"] == f"the request body is not valid JSON: invalid UTF-8 at byte {at}; send the body as UTF-8"


@pytest.mark.parametrize("model", ["local", "sonnet"])
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "assistant", "content": "only me"}]}, "messages"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:text/html,x"}}]}
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
    ],
)
def test_what_the_upstream_would_refuse_never_reaches_it(
    gateway: str,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    model: str,
    extra: dict[str, object],
    param: str,
) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    for path in ("/v1/chat/completions", "/v1/route"):
        r = httpx.post(gateway + path, json=body)
        assert r.status_code == 400 and error_of(r)["param"] == param
    assert fake_ollama.requests == [] and fake_anthropic.requests == []


def test_unknown_fields_ignored_and_openai_extras_accepted(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    done = client.chat.completions.create(
        model="local",
        messages=[{"role": "developer", "content": "terse"}, {"role": "user", "content": "hi"}],
        max_completion_tokens=33,
        parallel_tool_calls=False,
        extra_body={"frobnicate": True, "logit_bias": {}, "n": 1},
    )
    assert done.choices[0].message.content == "ok"
    sent = fake_ollama.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "terse"}
    assert sent["options"]["num_predict"] == 33


def test_unknown_endpoint_and_method(gateway: str) -> None:
    r = httpx.get(gateway + "/v1/nothing")
    assert r.status_code == 404 and error_of(r)["message"] == "no such endpoint: GET /v1/nothing"
    r = httpx.get(gateway + "/v1/chat/completions")
    assert r.status_code == 405 and error_of(r)["type"] == "invalid_request_error"


def test_unreachable_upstreams_name_backend_and_url(gateway_for: GatewayFactory, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    base = gateway_for(
        ROOT / "routes.yaml", {"OLLAMA_HOST": url, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": TEST_KEY}
    )
    r = httpx.post(
        base + "/v1/chat/completions", json={"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 503
    err = error_of(r)
    assert f"backend 'ollama' at {url}: connection refused; is Ollama running?" in str(err["message"])
    assert f"backend 'anthropic' at {url}" in str(err["message"])
    assert TEST_KEY not in r.text
    assert r.headers["x-tiergate-attempts"] == "local/qwen2.5-coder:7b:connect, sonnet/claude-sonnet-4-5:connect"


def test_fresh_machine_names_what_is_missing(gateway_for: GatewayFactory, closed_port: int) -> None:
    base = gateway_for(ROOT / "routes.yaml", {"OLLAMA_HOST": f"http://127.0.0.1:{closed_port}"})
    assert httpx.get(base + "/health").status_code == 200
    models = httpx.get(base + "/v1/models").json()
    assert [m["id"] for m in models["data"]][:5] == ["auto", "tiergate/auto", "local", "sonnet", "opus"]
    assert httpx.post(base + "/v1/route", json={"messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    r = httpx.post(
        base + "/v1/chat/completions", json={"model": "opus", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 503
    unset = "backend 'anthropic' is not configured: environment variable ANTHROPIC_API_KEY is not set"
    assert unset in str(error_of(r)["message"])
    # A target whose key is not set is skipped without a call, so its breaker never opens: past the breaker's
    # fail_max (5), every answer still names the missing key, and the local tier's refusals stay named once its
    # breaker opens.
    for n in range(7):
        for model in ("opus", "local"):
            r = httpx.post(
                base + "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
            )
            message = str(error_of(r)["message"])
            assert r.status_code == 503, (n, model, message)
            assert unset in message, (n, model)
            assert model == "opus" or "connection refused; is Ollama running?" in message, (n, message)
    assert "local/qwen2.5-coder:7b: breaker open (last failure: backend 'ollama'" in message
    assert httpx.get(base + "/health").json()["breakers"]["anthropic/claude-opus-4-1"] == "closed"
    health = httpx.get(base + "/health").json()
    assert health["backends"]["anthropic"]["missing"] == "environment variable ANTHROPIC_API_KEY is not set"


def test_upstream_auth_error_never_echoes_the_key(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    """Anthropic refusing tiergate's key is a 502 naming the backend, not a 401 that tells the client its own
    key is wrong."""
    fake_anthropic.replies.extend([Status(401, f"invalid x-api-key {TEST_KEY}")] * 2)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502
    url = fake_anthropic.url  # type: ignore[attr-defined]
    assert info.value.body == {
        "message": f"backend 'anthropic' at {url}: refused tiergate's key or account for this backend (HTTP 401): "
        "invalid x-api-key ***",
        "type": "upstream_error",
        "param": None,
        "code": "upstream_credentials_refused",
    }
    assert TEST_KEY not in caplog.text


def test_models_lists_tiers_and_aliases(gateway: str) -> None:
    body = httpx.get(gateway + "/v1/models").json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert ids == [
        "auto",
        "tiergate/auto",
        "local",
        "sonnet",
        "opus",
        "qwen2.5-coder:7b",
        "qwen",
        # claude-sonnet-4-5 and claude-opus-4-1 are routed as auto by the default "claude-*" patterns
        "sonnet-latest",
        "opus-latest",
    ]
    assert all(set(m) == {"id", "object", "created", "owned_by"} and m["object"] == "model" for m in body["data"])


def test_offline_route_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tiergate.cli import main

    req = tmp_path / "req.json"
    req.write_text('{"messages": [{"role": "user", "content": "prove this lock-free queue is linearizable"}]}')
    assert main(["route", "--config", str(ROOT / "routes.yaml"), str(req)]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert (d["tier"], d["band"], d["phase"]) == ("opus", "CLAUDE", "heuristic")
    req.write_text('{"messages": []}')
    assert main(["route", "--config", str(ROOT / "routes.yaml"), str(req)]) == 2
    assert "`messages` must hold at least one message" in capsys.readouterr().err


def test_start_up_says_which_backends_it_reached(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    fake_ollama: FakeOllama,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ollama is probed (``/api/version``); Anthropic has no free health check, so its backend is said to be
    configured, not ready, whether or not anything listens at its URL."""
    caplog.set_level(logging.INFO, logger="tiergate.server")
    fake_ollama.tags = ["qwen2.5-coder:7b", "qwen2.5:1.5b"]
    environ = {**upstream_env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    gateway_for(ROOT / "routes.yaml", environ)
    said = [r.getMessage() for r in caplog.records if r.name == "tiergate.server" and "backend '" in r.getMessage()]
    assert said == [
        f"backend 'ollama' at {upstream_env['OLLAMA_HOST']} is ready",
        "backend 'anthropic' at http://127.0.0.1:9 is configured (not contacted: the first request will reach it)",
    ]


def test_start_up_warns_of_a_model_ollama_has_not_pulled(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    fake_ollama: FakeOllama,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each request for it would answer 404 and fall back to sonnet, paid, with only the attempts header to
    show it."""
    caplog.set_level(logging.INFO, logger="tiergate.server")
    fake_ollama.tags = ["llama3.2:latest", "qwen2.5:1.5b"]  # the classifier's model, not the local tier's
    gateway_for(ROOT / "routes.yaml", upstream_env)
    warned = [r.getMessage() for r in caplog.records if r.name == "tiergate.server" and r.levelno == logging.WARNING]
    assert warned == [
        "backend 'ollama' has not pulled model 'qwen2.5-coder:7b': pull it with `ollama pull qwen2.5-coder:7b`, or "
        "every call to it answers 404 and falls back"
    ]


def test_every_target_refusing_tiergates_key_is_one_502_the_sdk_does_not_retry(
    gateway: str, fake_anthropic: FakeAnthropic
) -> None:
    """opus, then its fallback sonnet, both on the Anthropic backend whose key is refused: one 502 in the
    client's shape, `x-should-retry: false`, and the anthropic SDK (two retries allowed) sends it once."""
    fake_anthropic.replies.extend([Status(401, "invalid x-api-key")] * 6)
    claude = anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=2)
    with claude, pytest.raises(anthropic.APIStatusError) as caught:
        claude.messages.create(model="opus", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    url = fake_anthropic.url  # type: ignore[attr-defined]
    refused = "refused tiergate's key or account for this backend (HTTP 401): invalid x-api-key"
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "api_error",
            "message": f"all 2 targets failed: opus/claude-opus-4-1: backend 'anthropic' at {url}: {refused}; "
            f"sonnet/claude-sonnet-4-5: backend 'anthropic' at {url}: {refused}",
        },
    }
    assert [r.body["model"] for r in fake_anthropic.requests] == ["claude-opus-4-1", "claude-sonnet-4-5"]
    # the OpenAI shape: the same type and code as when one target is refused
    r = httpx.post(
        gateway + "/v1/chat/completions", json={"model": "opus", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 502 and r.headers["x-should-retry"] == "false"
    assert {k: v for k, v in r.json()["error"].items() if k != "message"} == {
        "type": "upstream_error",
        "param": None,
        "code": "upstream_credentials_refused",
    }
