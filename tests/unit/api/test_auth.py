"""Client keys, the admin key, loopback-only serving, per-client rpm — through the real app, in process.

``httpx.ASGITransport(client=...)`` sets the peer address, so a test can be a remote client.
"""

from __future__ import annotations

import hashlib
import logging
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.helpers import MINIMAL
from tiergate.api.app import create_app
from tiergate.api.auth import KeyRing, credentials, is_local_peer
from tiergate.api.gateway import Gateway
from tiergate.config.model import Auth, ClientKey
from tiergate.resilience.limits import Limiters
from tiergate.runtime import Rules

CLIENT_KEY = "tg-client-SECRET-0a1b2c3d4e"
OTHER_KEY = "tg-other-SECRET-5f6a7b8c9d"
HASHED_KEY = "tg-hashed-SECRET-1122334455"
ADMIN_KEY = "tg-admin-SECRET-66778899aa"
LOOPBACK = ("127.0.0.1", 40000)
REMOTE = ("203.0.113.9", 40000)
BODY = {"messages": [{"role": "user", "content": "hi"}]}


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def env_name(env: str, key: str) -> str:
    """The client name of a key given in variable ``env``: the variable and 8 hex digits of its SHA-256."""
    return f"{env}:{sha256(key)[:8]}"


def routes(server: str = "") -> str:
    return textwrap.dedent(MINIMAL) + textwrap.dedent(server)


def rewrite(path: Path, server: str) -> None:
    path.write_text(routes(server))


WITH_KEYS = f"""
server:
  auth:
    keys_env: [TIERGATE_KEYS]
    keys: [{{name: ci, sha256: {sha256(HASHED_KEY)}, rpm: 2}}]
"""

Client = Callable[..., httpx.AsyncClient]


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(routes())
    return path


@pytest_asyncio.fixture
async def app_client(rules_file: Path) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """``app_client(environ, peer=REMOTE, server=...)``: an httpx client on a fresh app over ``rules_file``
    (rewritten first with ``server`` as its ``server:`` section, when given)."""
    opened: list[tuple[httpx.AsyncClient, Rules]] = []

    def make(
        environ: dict[str, str] | None = None, peer: tuple[str, int] = LOOPBACK, server: str | None = None
    ) -> httpx.AsyncClient:
        if server is not None:
            rewrite(rules_file, server)
        rules = Rules.load(rules_file, environ or {})
        app = create_app(Gateway(rules), limiters=Limiters())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url="http://localhost")
        opened.append((client, rules))
        return client

    yield make
    for client, rules in opened:
        await client.aclose()
        await rules.aclose()


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


# --- the pieces -----------------------------------------------------------------------------


def test_key_ring_names_env_keys_and_hashed_entries() -> None:
    auth = Auth(keys_env=["TEAM", "UNSET"], keys=[ClientKey(name="ci", sha256=sha256(HASHED_KEY), rpm=5)])
    ring = KeyRing.build(auth, {"TEAM": f" {CLIENT_KEY} , {OTHER_KEY},", "TIERGATE_ADMIN_KEY": ADMIN_KEY})
    team, other = env_name("TEAM", CLIENT_KEY), env_name("TEAM", OTHER_KEY)
    assert [c.name for _, c in ring.clients] == [team, other, "ci"]
    assert ring.client([CLIENT_KEY]) is not None and ring.client([CLIENT_KEY]).name == team  # type: ignore[union-attr]
    assert ring.client([OTHER_KEY]).name == other  # type: ignore[union-attr]
    assert ring.client(["nope", HASHED_KEY]).rpm == 5  # type: ignore[union-attr]
    assert ring.client(["nope"]) is None and ring.client([]) is None
    assert ring.is_admin([ADMIN_KEY]) and not ring.is_admin([CLIENT_KEY])
    assert ring.unset_env == ("UNSET",)
    described = "\n".join(message for _, message in ring.describe())
    assert "server.auth.keys_env names UNSET, which is not set or empty" in described
    assert f"3 client keys configured: {team}, {other}, ci" in described
    assert CLIENT_KEY not in repr(ring) and HASHED_KEY not in repr(ring) and ADMIN_KEY not in repr(ring)


def test_a_listed_keys_client_name_is_stable_wherever_it_sits_and_shows_no_part_of_the_key() -> None:
    keys = [CLIENT_KEY, OTHER_KEY, HASHED_KEY]

    def names(listed: str) -> dict[str, str]:
        ring = KeyRing.build(Auth(keys_env=["TEAM"]), {"TEAM": listed})
        return {key: ring.client([key]).name for key in keys if ring.client([key])}  # type: ignore[union-attr]

    first = names(",".join(keys))
    assert first == {key: env_name("TEAM", key) for key in keys} and len(set(first.values())) == 3
    assert names(",".join(reversed(keys))) == first  # reordered
    assert names(f"{HASHED_KEY},{CLIENT_KEY}") == {k: first[k] for k in (CLIENT_KEY, HASHED_KEY)}  # one removed
    assert names(OTHER_KEY) == {OTHER_KEY: first[OTHER_KEY]}
    for key, name in first.items():
        assert name.startswith("TEAM:") and len(name) == len("TEAM:") + 8
        suffix = name.removeprefix("TEAM:")
        assert all(key[i : i + 3] not in suffix for i in range(len(key) - 2))  # not even 3 characters of the key


def test_no_keys_means_loopback_only_and_says_so() -> None:
    ring = KeyRing.build(Auth(), {})
    assert ring.open and ring.admin is None
    assert [m for _, m in ring.describe()] == [
        "no client keys configured: serving loopback clients only",
        "TIERGATE_ADMIN_KEY is not set: /admin/* serves loopback clients only",
    ]


@pytest.mark.parametrize(
    ("headers", "keys"),
    [
        ({"authorization": "Bearer k1"}, ["k1"]),
        ({"authorization": "bearer  k1 "}, ["k1"]),
        ({"x-api-key": "k2"}, ["k2"]),
        ({"authorization": "Bearer k1", "x-api-key": "k1"}, ["k1"]),  # Continue sends both
        ({"authorization": "Bearer k1", "x-api-key": "k2"}, ["k1", "k2"]),
        ({"authorization": "Basic dXNlcjpwdw=="}, []),
        ({"authorization": "Bearer "}, []),
        ({}, []),
    ],
)
def test_credentials_read_bearer_and_x_api_key(headers: dict[str, str], keys: list[str]) -> None:
    assert credentials(headers) == keys


@pytest.mark.parametrize(
    ("peer", "local"),
    [
        (("127.0.0.1", 1), True),
        (("127.8.9.10", 1), True),
        (("::1", 1), True),
        (("::ffff:127.0.0.1", 1), True),
        (("10.0.0.5", 1), False),
        (("::ffff:10.0.0.5", 1), False),
        (("2001:db8::1", 1), False),
        (None, True),  # a unix socket: no network peer
        (("x", 0), False),  # a name: uvicorn's place for a forwarded X-Forwarded-For value, whatever it says
        (("testclient", 50000), False),
    ],
)
def test_local_peers(peer: tuple[str, int] | None, local: bool) -> None:
    assert is_local_peer(peer) is local


# --- through the app ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_without_keys_loopback_is_served_and_others_get_403(app_client: Client) -> None:
    local = app_client()
    assert (await local.get("/v1/models")).status_code == 200
    assert (await local.post("/v1/route", json=BODY)).status_code == 200
    remote = app_client(peer=REMOTE)
    r = await remote.post("/v1/chat/completions", json=BODY)
    assert r.status_code == 403
    assert error_of(r) == {
        "message": "no client keys are configured, so tiergate serves loopback clients only "
        "(set server.auth.keys_env or server.auth.keys in routes.yaml)",
        "type": "permission_error",
        "param": None,
        "code": "forbidden",
    }
    for open_path in ("/health", "/ready", "/metrics"):
        assert (await remote.get(open_path)).status_code in (200, 503), open_path


@pytest.mark.asyncio
async def test_keys_by_bearer_or_x_api_key_and_401_in_openai_shape(app_client: Client) -> None:
    client = app_client({"TIERGATE_KEYS": CLIENT_KEY}, peer=REMOTE, server=WITH_KEYS)
    assert (await client.get("/v1/models", headers={"authorization": f"Bearer {CLIENT_KEY}"})).status_code == 200
    assert (await client.get("/v1/models", headers={"x-api-key": CLIENT_KEY})).status_code == 200
    assert (await client.get("/v1/models", headers={"x-api-key": HASHED_KEY})).status_code == 200
    missing = await client.get("/v1/models")
    assert missing.status_code == 401
    assert error_of(missing) == {
        "message": "missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }
    wrong = await client.get("/v1/models", headers={"authorization": "Bearer sk-wrong"})
    assert wrong.status_code == 401
    assert error_of(wrong) == {
        "message": "invalid API key",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }
    # Keys apply on loopback too, once configured.
    local = app_client({"TIERGATE_KEYS": CLIENT_KEY})
    assert (await local.get("/v1/models")).status_code == 401


@pytest.mark.asyncio
async def test_client_name_reaches_the_router(app_client: Client) -> None:
    client = app_client({"TIERGATE_KEYS": f"{OTHER_KEY},{CLIENT_KEY}"}, peer=REMOTE, server=WITH_KEYS)
    seen: list[str] = []
    gateway = client._transport.app.state.gateway  # type: ignore[attr-defined]
    decide = gateway.rules.current.router.decide

    async def spy(*args: Any, **kw: Any) -> Any:
        seen.append(kw["client"])
        return await decide(*args, **kw)

    gateway.rules.current.router.decide = spy
    await client.post("/v1/route", json=BODY, headers={"x-api-key": CLIENT_KEY})
    await client.post("/v1/route", json=BODY, headers={"x-api-key": HASHED_KEY})
    assert seen == [env_name("TIERGATE_KEYS", CLIENT_KEY), "ci"]


@pytest.mark.asyncio
async def test_admin_key_guards_admin_endpoints(app_client: Client) -> None:
    environ = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY}
    for peer in (LOOPBACK, REMOTE):
        client = app_client(environ, peer=peer, server=WITH_KEYS)
        for method, path in (("POST", "/admin/reload"), ("GET", "/admin/config")):
            missing = await client.request(method, path)
            assert missing.status_code == 401 and error_of(missing)["message"].startswith("missing admin key")
            as_client = await client.request(method, path, headers={"authorization": f"Bearer {CLIENT_KEY}"})
            assert as_client.status_code == 403
            assert error_of(as_client) == {
                "message": "this key is not the admin key",
                "type": "permission_error",
                "param": None,
                "code": "forbidden",
            }
            ok = await client.request(method, path, headers={"x-api-key": ADMIN_KEY})
            assert ok.status_code == 200, ok.text


@pytest.mark.asyncio
async def test_admin_without_admin_key_is_loopback_only(app_client: Client) -> None:
    assert (await app_client().post("/admin/reload")).status_code == 200
    r = await app_client(peer=REMOTE).post("/admin/reload")
    assert r.status_code == 403
    assert error_of(r)["message"] == "/admin/* is served to loopback clients only while TIERGATE_ADMIN_KEY is not set"


@pytest.mark.asyncio
async def test_per_client_rpm_answers_429_with_retry_after(app_client: Client) -> None:
    # ci: rpm 2; the TIERGATE_KEYS client: unlimited (no client_rpm)
    client = app_client({"TIERGATE_KEYS": CLIENT_KEY}, peer=REMOTE, server=WITH_KEYS)
    ci = {"x-api-key": HASHED_KEY}
    assert [(await client.post("/v1/route", json=BODY, headers=ci)).status_code for _ in range(2)] == [200, 200]
    limited = await client.post("/v1/route", json=BODY, headers=ci)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "30"
    assert error_of(limited) == {
        "message": "rate limit for this API key reached (2 requests per minute)",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert (await client.get("/v1/models", headers=ci)).status_code == 200  # listing models is not metered
    other = {"x-api-key": CLIENT_KEY}
    assert [(await client.post("/v1/route", json=BODY, headers=other)).status_code for _ in range(4)] == [200] * 4
    metrics = (await client.get("/metrics")).text
    assert 'tiergate_rate_limit_rejections_total{scope="client"} 1.0' in metrics


@pytest.mark.asyncio
async def test_client_rpm_default_applies_to_every_key(app_client: Client) -> None:
    server = "server: {auth: {keys_env: [TIERGATE_KEYS], client_rpm: 1}}"
    client = app_client({"TIERGATE_KEYS": f"{CLIENT_KEY},{OTHER_KEY}"}, peer=REMOTE, server=server)
    for key in (CLIENT_KEY, OTHER_KEY):  # each key has its own budget
        statuses = [(await client.post("/v1/route", json=BODY, headers={"x-api-key": key})).status_code for _ in "ab"]
        assert statuses == [200, 429]


@pytest.mark.asyncio
async def test_keyless_loopback_clients_over_client_rpm_are_not_told_of_an_api_key(app_client: Client) -> None:
    """With no client keys the loopback clients share one budget: the 429 says whose, not "this API key"."""
    client = app_client(server="server: {auth: {client_rpm: 1}}")
    assert (await client.post("/v1/route", json=BODY)).status_code == 200
    limited = await client.post("/v1/route", json=BODY)
    assert limited.status_code == 429
    assert error_of(limited)["message"] == "rate limit for keyless loopback clients reached (1 requests per minute)"


@pytest.mark.asyncio
async def test_reordering_the_key_list_keeps_each_clients_rpm_across_a_reload(
    app_client: Client, rules_file: Path
) -> None:
    environ = {"TIERGATE_KEYS": f"{CLIENT_KEY},{OTHER_KEY}"}
    client = app_client(environ, peer=REMOTE, server="server: {auth: {keys_env: [TIERGATE_KEYS], client_rpm: 1}}")
    spent = {"x-api-key": CLIENT_KEY}
    assert [(await client.post("/v1/route", json=BODY, headers=spent)).status_code for _ in "ab"] == [200, 429]

    environ["TIERGATE_KEYS"] = f"{OTHER_KEY},{CLIENT_KEY}"  # the operator reorders the list, then reloads
    rewrite(rules_file, "server: {auth: {keys_env: [TIERGATE_KEYS, SPARE], client_rpm: 1}}")
    rules: Rules = client._transport.app.state.gateway.rules  # type: ignore[attr-defined]
    assert (await rules.reload()).changed
    assert (await client.post("/v1/route", json=BODY, headers=spent)).status_code == 429  # still spent
    fresh = {"x-api-key": OTHER_KEY}
    assert (await client.post("/v1/route", json=BODY, headers=fresh)).status_code == 200  # not handed the spend


@pytest.mark.asyncio
async def test_a_reload_applies_new_keys_to_the_next_request(
    app_client: Client, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_client({"TIERGATE_KEYS": CLIENT_KEY})
    assert (await client.get("/v1/models")).status_code == 200
    rewrite(rules_file, "server: {auth: {keys_env: [TIERGATE_KEYS, TEAM_B]}}")
    with caplog.at_level(logging.INFO, logger="tiergate.auth"):
        assert (await client.post("/admin/reload")).json()["changed"] is True
        assert (await client.get("/v1/models")).status_code == 401
    assert (await client.get("/v1/models", headers={"x-api-key": CLIENT_KEY})).status_code == 200
    assert "server.auth.keys_env names TEAM_B, which is not set or empty" in caplog.text


@pytest.mark.asyncio
async def test_refusals_are_logged_without_the_key(app_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    client = app_client({"TIERGATE_KEYS": CLIENT_KEY}, peer=REMOTE, server=WITH_KEYS)
    with caplog.at_level(logging.INFO, logger="tiergate.auth"):
        await client.get("/v1/models", headers={"authorization": f"Bearer {CLIENT_KEY}x"})
    [record] = [r for r in caplog.records if r.name == "tiergate.auth"]
    assert record.getMessage() == "refused GET /v1/models: invalid API key"
    assert record.tiergate == {"status": 401, "path": "/v1/models", "peer": "203.0.113.9"}  # type: ignore[attr-defined]
    assert CLIENT_KEY not in caplog.text
