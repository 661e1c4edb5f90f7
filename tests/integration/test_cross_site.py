"""A web page the developer visits cannot make the gateway spend money or change its rules.

Browsers attach ``Origin`` to cross-site requests and may send ``text/plain`` bodies without a
preflight; editors, SDKs and CLIs send neither. Every refusal here must leave the upstreams uncalled
and the rules unreloaded, over a real socket (the Host check needs a network peer).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b"}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
routing: {mode: fixed, fixed_tier: sonnet}
"""
EVIL = "https://evil.example"
FRIEND = "http://localhost:3000"
BODY = '{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}'


def write(tmp_path: Path, server: str = "") -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES + server)
    return path


@pytest.fixture
def upstreams(fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic) -> list[FakeOllama | FakeAnthropic]:
    return [fake_ollama, fake_anthropic]


def calls(upstreams: list[FakeOllama | FakeAnthropic]) -> int:
    return sum(len(u.requests) for u in upstreams)


def test_a_simple_cross_site_post_reaches_no_upstream(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    base = gateway_for(write(tmp_path), upstream_env)
    page = {"origin": EVIL, "content-type": "text/plain;charset=UTF-8"}
    r = httpx.post(base + "/v1/chat/completions", content=BODY, headers=page)
    assert r.status_code == 403
    assert r.json()["error"] == {
        "message": f"requests from the web page origin {EVIL} are refused: tiergate serves browsers only from "
        "origins listed in server.cors.allow_origins",
        "type": "permission_error",
        "param": None,
        "code": "origin_not_allowed",
    }
    # Even as JSON, and even on the endpoints that spend nothing.
    paths = (
        "/v1/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/responses",
        "/v1/route",
        "/v1/feedback",
    )
    for path in ("/v1/chat/completions", *paths):
        assert (
            httpx.post(base + path, content=BODY, headers={**page, "content-type": "application/json"}).status_code
            == 403
        )
    assert httpx.get(base + "/v1/models", headers={"origin": EVIL}).status_code == 403
    # Anthropic's clients get the refusal in Anthropic's shape.
    r = httpx.post(base + "/v1/messages?beta=true", content=BODY, headers=page)
    assert r.status_code == 403 and r.json() == {
        "type": "error",
        "error": {
            "type": "permission_error",
            "message": f"requests from the web page origin {EVIL} are refused: tiergate serves browsers only from "
            "origins listed in server.cors.allow_origins",
        },
    }
    assert calls(upstreams) == 0


def test_a_non_json_body_is_refused_whatever_its_origin(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    base = gateway_for(write(tmp_path), upstream_env)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = httpx.post(base + "/v1/chat/completions", content=BODY, headers={"content-type": content_type})
        assert r.status_code == 415
        assert r.json()["error"]["message"] == (
            f"the request body must be JSON (Content-Type: application/json), not {content_type}"
        )
        assert r.json()["error"]["code"] == "unsupported_media_type"
    r = httpx.post(base + "/v1/chat/completions", content=BODY)  # a body with no Content-Type at all
    assert r.status_code == 415 and r.json()["error"]["message"].endswith("not a body without one")
    assert r.headers["request-id"] == r.headers["x-request-id"] and r.headers["request-id"].startswith("req_")
    assert calls(upstreams) == 0
    for content_type in ("application/json; charset=utf-8", "application/vnd.tiergate+json"):
        r = httpx.post(base + "/v1/chat/completions", content=BODY, headers={"content-type": content_type})
        assert r.status_code == 200, r.text
    assert calls(upstreams) == 2


def test_a_cross_site_reload_is_refused_and_nothing_reloads(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path)
    base = gateway_for(path, upstream_env)
    path.write_text(ROUTES.replace("fixed_tier: sonnet", "fixed_tier: local"))
    assert httpx.post(base + "/admin/reload", headers={"origin": EVIL}).status_code == 403
    assert httpx.post(base + "/admin/reload", headers={"origin": EVIL, "content-type": "text/plain"}).status_code == 403
    assert httpx.get(base + "/health").json()["rules"]["reloads"] == 0
    assert httpx.post(base + "/admin/reload").json()["changed"] is True  # curl -X POST, no body: allowed


def test_preflights_are_answered_for_allowed_origins_only(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    base = gateway_for(
        write(tmp_path, f"server: {{cors: {{allow_origins: ['{FRIEND}'], max_age: 120}}}}"), upstream_env
    )
    ask = {"access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization"}
    refused = httpx.options(base + "/v1/chat/completions", headers={"origin": EVIL, **ask})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    allowed = httpx.options(base + "/v1/chat/completions", headers={"origin": FRIEND, **ask})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == FRIEND
    assert allowed.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert allowed.headers["access-control-allow-headers"] == "content-type, authorization"
    assert allowed.headers["access-control-max-age"] == "120"
    assert calls(upstreams) == 0
    r = httpx.post(
        base + "/v1/chat/completions", content=BODY, headers={"origin": FRIEND, "content-type": "application/json"}
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == FRIEND
    exposed = {name.strip() for name in r.headers["access-control-expose-headers"].split(",")}
    assert {"x-tiergate-decision-id", "request-id", "x-request-id"} <= exposed


def test_the_gateways_own_pages_and_plain_clients_pass(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    base = gateway_for(write(tmp_path), upstream_env)
    same = httpx.post(base + "/v1/route", content=BODY, headers={"origin": base, "content-type": "application/json"})
    assert same.status_code == 200 and same.headers["access-control-allow-origin"] == base
    sdk = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    assert sdk.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}]).choices


def test_without_keys_only_loopback_names_are_answered(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    """A page on a name that a DNS rebinding points at 127.0.0.1 is the same origin as that name."""
    base = gateway_for(write(tmp_path), upstream_env)
    port = base.rsplit(":", 1)[1]
    rebound = {"host": f"rebound.example:{port}", "origin": f"http://rebound.example:{port}"}
    r = httpx.post(base + "/v1/chat/completions", content=BODY, headers={**rebound, "content-type": "application/json"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "host_not_allowed"
    assert calls(upstreams) == 0
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert httpx.get(base + "/v1/models", headers={"host": host}).status_code == 200

    # X-Forwarded-For is no header a page is forbidden to send: from loopback, uvicorn puts its value in
    # place of the peer's address, and a name there is no loopback peer
    for forwarded in ("x", "127.0.0.1"):
        headers = {**rebound, "content-type": "application/json", "x-forwarded-for": forwarded}
        r = httpx.post(base + "/v1/chat/completions", content=BODY, headers=headers)
        assert r.status_code == 403, forwarded
        r = httpx.post(base + "/admin/reload", headers={**rebound, "x-forwarded-for": forwarded})
        assert r.status_code == 403, forwarded
    assert calls(upstreams) == 0


def test_with_client_keys_and_no_admin_key_a_rebound_name_reaches_no_admin_action(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """/admin/* takes loopback peers without a key while the admin key is unset: only by a loopback name."""
    keyed = write(tmp_path, "server: {auth: {keys_env: [TEAM_KEYS]}}")
    base = gateway_for(keyed, {**upstream_env, "TEAM_KEYS": "team-key-0123456789"})
    port = base.rsplit(":", 1)[1]
    rebound = {"host": f"rebound.example:{port}", "origin": f"http://rebound.example:{port}"}
    for path in ("/admin/config", "/admin/reload"):
        r = httpx.request("GET" if path.endswith("config") else "POST", base + path, headers=rebound)
        assert r.status_code == 403 and "loopback" in r.json()["error"]["message"], path
    assert httpx.get(base + "/admin/config", headers={"host": f"localhost:{port}"}).status_code == 200


def test_without_client_keys_open_endpoints_and_the_admin_key_serve_any_host(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    """`tiergate serve --host 0.0.0.0` without client keys, asked by its LAN address: /health, /ready and
    /metrics are open to everyone and the admin key is good from any client, as the docs say; they were
    refused (403 host_not_allowed) because the Host was no loopback name. Only what a loopback peer gets
    without a key still needs one."""
    admin_key = "tg-admin-key-0123456789"
    base = gateway_for(write(tmp_path), {**upstream_env, "TIERGATE_ADMIN_KEY": admin_key})
    port = base.rsplit(":", 1)[1]
    lan = {"host": f"192.0.2.10:{port}", "x-forwarded-for": "192.0.2.77"}  # a remote peer, by the LAN address
    rebound = {"host": f"rebound.example:{port}", "origin": f"http://rebound.example:{port}"}  # a loopback peer
    for headers in (lan, rebound):
        assert [httpx.get(base + path, headers=headers).status_code for path in ("/health", "/ready", "/metrics")] == [
            200,
            200,
            200,
        ]
        admin = {**headers, "authorization": f"Bearer {admin_key}"}
        assert [
            httpx.get(base + path, headers=admin).status_code for path in ("/admin/config", "/console/api/status")
        ] == [
            200,
            200,
        ]
        assert httpx.get(base + "/console/api/status", headers=headers).status_code == 401  # the key is still needed
    remote = httpx.post(
        base + "/v1/chat/completions", content=BODY, headers={**lan, "content-type": "application/json"}
    )
    assert (remote.status_code, remote.json()["error"]["code"]) == (403, "forbidden")
    assert remote.json()["error"]["message"].startswith("no client keys are configured")
    page = httpx.post(
        base + "/v1/chat/completions", content=BODY, headers={**rebound, "content-type": "application/json"}
    )
    assert page.status_code == 403
    assert page.json()["error"] == {
        "message": f"tiergate serves loopback clients without a key only when they address it by a loopback name "
        f"(localhost, 127.0.0.1, [::1]), not rebound.example:{port} (a web page on a name pointed at 127.0.0.1 "
        "would be one): address it as localhost, or configure keys",
        "type": "permission_error",
        "param": None,
        "code": "host_not_allowed",
    }
    assert calls(upstreams) == 0


def test_with_client_keys_any_host_may_be_named(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    keyed = write(tmp_path, "server: {auth: {keys_env: [TEAM_KEYS]}}")
    base = gateway_for(keyed, {**upstream_env, "TEAM_KEYS": "team-key-0123456789"})
    r = httpx.get(
        base + "/v1/models", headers={"host": "gateway.internal", "authorization": "Bearer team-key-0123456789"}
    )
    assert r.status_code == 200
    # auto, the tiers, then each target's model id (ROUTES routes no pattern elsewhere)
    assert [m["id"] for m in r.json()["data"]] == ["auto", "local", "sonnet", "qwen2.5-coder:7b", "claude-sonnet-4-5"]


def test_allowed_origins_follow_a_reload(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path)
    base = gateway_for(path, upstream_env)
    headers = {"origin": FRIEND, "content-type": "application/json"}
    before = httpx.post(base + "/v1/route", content=BODY, headers=headers)
    assert before.status_code == 403 and "access-control-allow-origin" not in before.headers
    path.write_text(ROUTES + f"server: {{cors: {{allow_origins: ['{FRIEND}']}}}}")
    assert httpx.post(base + "/admin/reload").json()["ok"] is True
    after = httpx.post(base + "/v1/route", content=BODY, headers=headers)
    assert after.status_code == 200 and after.headers["access-control-allow-origin"] == FRIEND


def test_allowed_origins_are_read_as_browsers_send_them(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """``http://LOCALHOST:3000``, ``https://a.example:443`` and ``http://b.example:80`` were accepted and
    matched no page: a browser sends its origin in lower case, without the scheme's default port."""
    written = "['http://LOCALHOST:3000', 'https://a.example:443', 'http://B.Example:80']"
    base = gateway_for(write(tmp_path, f"server: {{cors: {{allow_origins: {written}}}}}"), upstream_env)
    ask = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    answered = {}
    for origin in ("http://localhost:3000", "https://a.example", "http://b.example", "http://b.example:8080"):
        r = httpx.options(base + "/v1/chat/completions", headers={"origin": origin, **ask})
        answered[origin] = (r.status_code, r.headers.get("access-control-allow-origin"))
    assert answered == {
        "http://localhost:3000": (204, "http://localhost:3000"),
        "https://a.example": (204, "https://a.example"),
        "http://b.example": (204, "http://b.example"),
        "http://b.example:8080": (403, None),
    }


def test_refusals_take_the_anthropic_shape_for_its_clients_and_reach_an_allowed_page(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """A refusal of the guard on a path no dialect owns took OpenAI's shape even for a client sending
    ``anthropic-version`` (auth's own 401s take Anthropic's), and a 415 to an allowed origin carried no
    ``Access-Control-Allow-Origin``, so the page could not read why."""
    base = gateway_for(write(tmp_path, f"server: {{cors: {{allow_origins: ['{FRIEND}']}}}}"), upstream_env)
    anthropic = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    foreign = httpx.post(base + "/v1/feedback", content=BODY, headers={**anthropic, "origin": EVIL})
    plain = {"origin": FRIEND, "content-type": "text/plain"}
    not_json = httpx.post(base + "/v1/feedback", content=BODY, headers={**plain, "anthropic-version": "2023-06-01"})
    openai_page = httpx.post(base + "/v1/chat/completions", content=BODY, headers=plain)

    assert (foreign.status_code, foreign.json()) == (
        403,
        {
            "type": "error",
            "error": {
                "type": "permission_error",
                "message": f"requests from the web page origin {EVIL} are refused: tiergate serves browsers only "
                "from origins listed in server.cors.allow_origins",
            },
        },
    )
    assert "access-control-allow-origin" not in foreign.headers
    assert (not_json.status_code, not_json.json()) == (
        415,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "the request body must be JSON (Content-Type: application/json), not text/plain",
            },
        },
    )
    for refused in (not_json, openai_page):
        assert refused.headers["access-control-allow-origin"] == FRIEND
        assert refused.headers["vary"] == "origin"
    assert openai_page.status_code == 415 and openai_page.json()["error"]["code"] == "unsupported_media_type"


def raw_post(base: str, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, object]]:
    """POST ``BODY`` with exactly these header lines, in this order (an HTTP client would merge repeats)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    lines = [f"POST {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    lines += [f"Content-Length: {len(BODY)}", "Connection: close"]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n" + BODY).encode("latin-1"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_request_with_two_origin_host_or_content_type_headers_is_refused(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    tmp_path: Path,
    upstreams: list[FakeOllama | FakeAnthropic],
) -> None:
    """The guard read the last of repeated headers and auth and Litestar the first: a foreign Origin followed
    by the gateway's own passed as the gateway's own (200), and a loopback Host followed by a rebound name
    passed the guard as the page's own origin and auth as a loopback name."""
    base = gateway_for(write(tmp_path), upstream_env)
    port = base.rsplit(":", 1)[1]
    json_body = ("Content-Type", "application/json")
    sent = {
        "Origin": [("Host", f"127.0.0.1:{port}"), ("Origin", EVIL), ("Origin", base), json_body],
        "Host": [
            ("Host", f"localhost:{port}"),
            ("Host", f"rebound.example:{port}"),
            ("Origin", f"http://rebound.example:{port}"),
            json_body,
        ],
        "Content-Type": [("Host", f"127.0.0.1:{port}"), ("Content-Type", "text/plain"), json_body],
    }
    answers = {name: raw_post(base, "/v1/chat/completions", headers) for name, headers in sent.items()}
    anthropic = raw_post(base, "/v1/messages", sent["Origin"])

    assert answers == {
        name: (
            400,
            {
                "error": {
                    "message": f"the request carries more than one {name} header; send it once",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "duplicate_header",
                }
            },
        )
        for name in sent
    }
    assert anthropic == (
        400,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "the request carries more than one Origin header; send it once",
            },
        },
    )
    assert calls(upstreams) == 0
    one_each = [("Host", f"localhost:{port}"), ("Origin", base.replace("127.0.0.1", "localhost")), json_body]
    assert raw_post(base, "/v1/chat/completions", one_each)[0] == 200
