"""The console's page and JSON, served by the real gateway (tiergate.server.build) on loopback.

Requests go through the gateway to the fake upstreams first, so the log, the shadow rows and the
traces the console reads are the ones the gateway wrote.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory, default_routes, with_bands
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

CLIENT_KEY = "tg-client-SECRET-71d0"
ADMIN_KEY = "tg-admin-SECRET-55e2"
#: The client of CLIENT_KEY, given in TIERGATE_KEYS: the variable and 8 hex digits of the key's SHA-256.
CLIENT_NAME = "TIERGATE_KEYS:" + hashlib.sha256(CLIENT_KEY.encode()).hexdigest()[:8]
CANDIDATE_BANDS = "bands: {local: 0.0, claude: 0.0}"  # everything is CLAUDE under the candidate


def write_routes(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=f"{{path: '{tmp_path / 'decisions.db'}'}}") + extra)
    (tmp_path / "routes.next.yaml").write_text(with_bands(default_routes(), CANDIDATE_BANDS))
    return config


def get(base: str, path: str, key: str | None = ADMIN_KEY, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.get(base + path, headers={**headers, **kw.pop("headers", {})}, timeout=30, **kw)


def post(base: str, path: str, body: Any, key: str | None = ADMIN_KEY, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    headers = {**headers, "content-type": "application/json", **kw.pop("headers", {})}
    return httpx.post(base + path, content=content, headers=headers, timeout=30, **kw)


def until(check: Callable[[], Any], what: str, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def keyed(gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path) -> str:
    env = {**upstream_env, "TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY}
    return gateway_for(write_routes(tmp_path, "shadow: routes.next.yaml\n"), env)


def test_the_page_is_open_holds_no_data_and_forbids_inline_script(keyed: str) -> None:
    page = httpx.get(keyed + "/console")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert (page.headers["x-frame-options"], page.headers["referrer-policy"]) == ("DENY", "no-referrer")
    assert '<script src="/console/assets/console.js" defer></script>' in page.text
    assert ADMIN_KEY not in page.text and CLIENT_KEY not in page.text
    script = httpx.get(keyed + "/console/assets/console.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "sessionStorage" in script.text and 'headers.authorization = "Bearer "' in script.text
    assert httpx.get(keyed + "/console/assets/console.css").headers["content-type"] == "text/css; charset=utf-8"
    missing = httpx.get(keyed + "/console/assets/secrets.txt")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_api_needs_the_admin_key_in_a_header_when_keys_are_configured(keyed: str) -> None:
    assert get(keyed, "/console/api/status", key=None).status_code == 401
    refused = get(keyed, "/console/api/status", key=CLIENT_KEY)
    assert (refused.status_code, refused.json()["error"]["message"]) == (403, "this key is not the admin key")
    assert get(keyed, f"/console/api/status?key={ADMIN_KEY}", key=None).status_code == 401  # never from a URL
    assert get(keyed, "/console/api/status").status_code == 200
    assert get(keyed, "/console/api/status", key=None, headers={"x-api-key": ADMIN_KEY}).status_code == 200
    assert (
        post(keyed, "/console/api/route", {"messages": [{"role": "user", "content": "hi"}]}, key=CLIENT_KEY).status_code
        == 403
    )


def test_client_keys_without_an_admin_key_refuse_the_console(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    base = gateway_for(write_routes(tmp_path), {**upstream_env, "TIERGATE_KEYS": CLIENT_KEY})
    refused = get(base, "/console/api/status", key=None)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "the console needs the admin key while client keys are configured: set TIERGATE_ADMIN_KEY"
    )
    assert httpx.get(base + "/console").status_code == 200  # the page itself says so, once it asks


def test_without_keys_loopback_needs_none_and_other_sites_are_refused(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    base = gateway_for(write_routes(tmp_path), upstream_env)
    assert get(base, "/console/api/status", key=None).status_code == 200
    own = base.replace("http://", "")
    same = post(
        base, "/console/api/feedback", {"decision_id": "dec_x", "rating": 3}, key=None, headers={"origin": base}
    )
    assert same.status_code == 404 and same.json()["error"]["code"] == "decision_not_found"  # passed the guard
    foreign = get(base, "/console/api/status", key=None, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_allowed"
    rebound = get(base, "/console/api/status", key=None, headers={"host": "evil.example:" + own.split(":")[1]})
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "host_not_allowed"


def test_savings_requests_trace_rating_and_shadow_from_real_traffic(
    keyed: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    client = {"authorization": f"Bearer {CLIENT_KEY}"}
    fake_ollama.replies.append(Text("def add(a: int, b: int) -> int: ...", prompt_tokens=20, completion_tokens=10))
    local = httpx.post(
        keyed + "/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": "add type hints to def add(a, b)"}]},
        headers=client,
        timeout=30,
    )
    fake_anthropic.replies.append(Text("A plan.", prompt_tokens=1000, completion_tokens=100))
    sonnet = httpx.post(
        keyed + "/v1/chat/completions",
        json={"model": "sonnet", "messages": [{"role": "user", "content": "plan the migration"}]},
        headers=client,
        timeout=30,
    )
    assert (local.status_code, sonnet.status_code) == (200, 200)
    local_id, sonnet_id = (r.headers["x-tiergate-decision-id"] for r in (local, sonnet))
    assert local.headers["x-tiergate-tier"] == "local"

    stats = until(
        lambda: (s := get(keyed, "/console/api/savings?window=1h").json()["stats"])["requests"] == 2 and s,
        "two logged requests",
    )
    tiers = {t["tier"]: t for t in stats["tiers"]}
    assert (tiers["local"]["requests"], tiers["local"]["cost_usd"]) == (1, 0.0)
    assert (tiers["sonnet"]["prompt_tokens"], tiers["sonnet"]["completion_tokens"]) == (1000, 100)
    assert tiers["sonnet"]["cost_usd"] == pytest.approx((1000 * 3 + 100 * 15) / 1e6)
    assert stats["decided_by"] == {"learned": 1, "explicit": 1}
    body = get(keyed, "/console/api/savings?window=1h").json()
    opus, sonnet_base = body["baselines"]
    assert opus["cost_usd"] == pytest.approx((1020 * 15 + 110 * 75) / 1e6)
    assert sonnet_base["saving_usd"] == pytest.approx((1020 * 3 + 110 * 15) / 1e6 - (1000 * 3 + 100 * 15) / 1e6)

    rows = get(keyed, "/console/api/requests?limit=10").json()["requests"]
    assert [(r["decision_id"], r["client"]) for r in rows] == [
        (sonnet_id, CLIENT_NAME),
        (local_id, CLIENT_NAME),
    ]
    detail = get(keyed, f"/console/api/requests/{local_id}").json()
    assert detail["decision"]["learned"]["available"] is True and detail["decision"]["phase"] == "heuristic"
    assert [(a["tier"], a["outcome"]) for a in detail["attempts"]] == [("local", "ok")]
    assert get(keyed, "/console/api/requests/dec_nope").status_code == 404

    rated = post(keyed, "/console/api/feedback", {"decision_id": local_id, "rating": 4, "comment": "fine"})
    assert (rated.status_code, rated.json()) == (200, {"ok": True, "decision_id": local_id})
    with sqlite3.connect(tmp_path / "decisions.db") as conn:
        assert conn.execute("SELECT decision_id, rating, comment, client FROM feedback").fetchall() == [
            (local_id, 4, "fine", "console")
        ]
    assert post(keyed, "/console/api/feedback", {"decision_id": local_id, "rating": 9}).status_code == 400

    shadow = until(
        lambda: (r := get(keyed, "/console/api/shadow?window=1h").json())["report"]["shadowed"] == 2 and r,
        "both requests shadowed",
    )
    assert shadow["status"]["configured"] is True and shadow["status"]["problems"] == []
    pairs = {(p["live"], p["candidate"]): p["count"] for p in shadow["report"]["pairs"]}
    assert pairs == {("local", "sonnet"): 1, ("sonnet", "sonnet"): 1}  # the candidate's bands send the ask to sonnet
    [example] = shadow["report"]["examples"]
    assert example["row"]["decision_id"] == local_id and example["candidate"]["tier"] == "sonnet"
    assert example["row"]["rating"] == 4 and shadow["report"]["disagreeing_ratings"]["4"] == 1
    assert shadow["report"]["candidate_cost_usd"] == pytest.approx((20 * 3 + 10 * 15 + 1000 * 3 + 100 * 15) / 1e6)
    assert get(keyed, f"/console/api/requests/{local_id}").json()["shadow"]["tier"] == "sonnet"


def test_the_dry_run_reads_every_ingress_dialect_and_logs_nothing(keyed: str, tmp_path: Path) -> None:
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]
    chat = post(
        keyed,
        "/console/api/route?dialect=openai&classify=false",
        {"messages": [{"role": "user", "content": "hi"}], "tools": tools},
    )
    assert chat.status_code == 200 and chat.json()["dialect"] == "openai"
    decision = chat.json()["decision"]
    assert decision["tier"] in ("sonnet", "opus") and decision["signals"][0]["name"] == "tools_present"

    messages = post(
        keyed,
        "/console/api/route?dialect=anthropic",
        {"model": "claude-opus-4-1", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]},
    )
    # Claude Code's name for the opus target is routed as auto, as routes.yaml's "claude-*": auto says
    assert messages.status_code == 200 and messages.json()["decision"]["phase"] != "explicit"
    assert (
        messages.json()["decision"]["reasons"][0] == "model 'claude-opus-4-1' matches 'claude-opus-*'; routed as auto"
    )
    named = post(
        keyed,
        "/console/api/route?dialect=anthropic",
        {"model": "opus", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert named.status_code == 200 and named.json()["decision"]["phase"] == "explicit"
    assert named.json()["decision"]["tier"] == "opus"
    responses = post(keyed, "/console/api/route?dialect=responses", {"model": "local", "input": "hi"})
    assert responses.status_code == 200 and responses.json()["decision"]["tier"] == "local"

    unknown = post(keyed, "/console/api/route?dialect=cohere", {"messages": []})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == (
        "unknown dialect `cohere`: use one of anthropic, completions, openai, responses"
    )
    broken = post(keyed, "/console/api/route", b'{"messages": [')
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    no_model = post(keyed, "/console/api/route?dialect=anthropic", {"messages": [{"role": "user", "content": "x"}]})
    assert (no_model.status_code, no_model.json()["error"]["message"]) == (400, "model: Field required")

    assert get(keyed, "/console/api/requests").json() == {"requests": []}  # a dry run is not a request
    assert get(keyed, "/console/api/savings?window=2h").status_code == 400


def test_with_the_log_off_the_console_says_why(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log="{enabled: false}"))
    base = gateway_for(config, upstream_env)
    status = get(base, "/console/api/status", key=None).json()
    assert status["decision_log"] == {
        "on": False,
        "status": "off",
        "where": None,
        "reason": "server.decision_log.enabled is false in routes.yaml",
        "down_since": None,
        "pending": 0,
        "dropped": 0,
        "outages": 0,
    }
    assert status["shadow"]["configured"] is False
    off = get(base, "/console/api/savings", key=None)
    assert off.status_code == 404 and off.json()["error"] == {
        "message": "the decision log is off: server.decision_log.enabled is false in routes.yaml",
        "type": "invalid_request_error",
        "param": None,
        "code": "decision_log_off",
    }


BEFORE = "`before` must be a finite number: the `ts` of the last request shown (seconds since the epoch)"


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("/console/api/requests?limit=abc", "limit", "`limit` must be 1 to 500"),
        ("/console/api/requests?limit=0", "limit", "`limit` must be 1 to 500"),
        ("/console/api/requests?limit=1.5", "limit", "`limit` must be 1 to 500"),
        *(
            (f"/console/api/requests?before={before}", "before", BEFORE)
            for before in ("abc", "1e400", "nan", "inf", "-Infinity")
        ),
        ("/console/api/savings?window=2d", "window", "unknown window `2d`: use one of 1h, 24h, 7d, 30d"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(keyed: str, query: str, param: str, message: str) -> None:
    """They were Litestar's "Validation failed for GET ..." with no param or code; `before=nan` was an
    empty page (no row's ts compares with NaN)."""
    r = get(keyed, query)
    assert (r.status_code, r.json()["error"]) == (
        400,
        {"message": message, "type": "invalid_request_error", "param": param, "code": "invalid_value"},
    )


def test_the_dry_run_s_classify_is_true_or_false(keyed: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    refused = post(keyed, "/console/api/route?classify=maybe", body)
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        {
            "message": "`classify` must be true or false",
            "type": "invalid_request_error",
            "param": "classify",
            "code": "invalid_value",
        },
    )
    for word in ("false", "0", "FALSE"):
        decided = post(keyed, f"/console/api/route?classify={word}", body)
        assert decided.status_code == 200 and decided.json()["decision"]["phase"] == "heuristic", word
    assert get(keyed, "/console/api/requests?limit=2&before=1e12").status_code == 200


def test_another_clients_rating_is_listed_but_overrules_neither_the_owners_nor_the_admins(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """Client B (who may rate any decision it knows the id of) rated 1 after the owner's 5 and the admin's
    5, and the console listed the request with B's 1: the latest rating, whoever gave it."""
    other_key = "tg-other-SECRET-a9f3"
    other_name = "TIERGATE_KEYS:" + hashlib.sha256(other_key.encode()).hexdigest()[:8]
    env = {**upstream_env, "TIERGATE_KEYS": f"{CLIENT_KEY},{other_key}", "TIERGATE_ADMIN_KEY": ADMIN_KEY}
    base = gateway_for(write_routes(tmp_path), env)
    chat = {"model": "local", "messages": [{"role": "user", "content": "rename x to count"}]}
    answered = post(base, "/v1/chat/completions", chat, key=CLIENT_KEY)
    decision_id = answered.headers["x-tiergate-decision-id"]

    def rate(key: str, rating: int, path: str = "/v1/feedback") -> None:
        assert post(base, path, {"decision_id": decision_id, "rating": rating}, key=key).status_code == 200

    def listed() -> int | None:
        rows = get(base, "/console/api/requests?limit=10").json()["requests"]
        return next(r["rating"] for r in rows if r["decision_id"] == decision_id)  # type: ignore[no-any-return]

    rate(CLIENT_KEY, 4)
    rate(other_key, 1)
    owner_over_other = listed()
    rate(ADMIN_KEY, 5, "/console/api/feedback")
    rate(CLIENT_KEY, 2)  # the admin's rating wins over the owner's, even a later one
    rate(other_key, 1)
    admin_over_both = listed()

    assert (answered.status_code, owner_over_other, admin_over_both) == (200, 4, 5)
    detail = get(base, f"/console/api/requests/{decision_id}").json()
    assert [(r["rating"], r["client"]) for r in detail["ratings"]] == [
        (4, CLIENT_NAME),
        (1, other_name),
        (5, "console"),
        (2, CLIENT_NAME),
        (1, other_name),
    ]
