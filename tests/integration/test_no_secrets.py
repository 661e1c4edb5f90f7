"""No key in a log line, an error body, /health or GET /admin/config — checked over the whole session.

Every log record of the test session is inspected for a configured secret. Every key the tests
configure contains ``SECRET-`` and 8+ hex digits (conftest's ``TEST_KEY`` too), so one pattern finds
them all. Two hooks, installed when this module is imported (at collection, before any test runs):

- a log-record factory sees every record any logger creates — message, arguments and traceback —
  whatever handlers a test or a web framework installs or removes later (Litestar's logging config
  replaces the root logger's handlers);
- a handler on the ``tiergate`` logger also sees the fields passed as ``extra`` (the request line).

A session fixture asserts in its teardown, at the very end of the session, that nothing leaked; the
tests below exercise the error paths with keys set and check what has been seen so far.
(Moving ``WATCH.install()`` into conftest's ``pytest_configure`` would make it independent of this
module being collected.)
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text
from tiergate.api.admin import redacted_config
from tiergate.config.loader import load_file, load_text
from tiergate.config.problems import ConfigError
from tiergate.redact import redact_url
from tiergate.telemetry.logs import JsonFormatter

SECRET = re.compile(r"SECRET-[0-9a-f]{8}")
CLIENT_KEY = "tg-team-SECRET-a1b2c3d4e5"
ADMIN_KEY = "tg-admin-SECRET-f6a7b8c9d0"
ORG_TOKEN = "tg-org-SECRET-1a2b3c4d5e"


class LogSecretWatch(logging.Handler):
    """Records every log record that holds a secret; ``leaks`` is what a test asserts empty."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.seen = 0
        self.leaks: list[str] = []
        #: More secrets to look for, in forms the pattern does not find (a base64 form of one).
        self.also: set[str] = set()
        self._previous = logging.getLogRecordFactory()
        self._format = JsonFormatter()

    def install(self) -> None:
        logging.setLogRecordFactory(self._create)
        tiergate = logging.getLogger("tiergate")
        tiergate.addHandler(self)
        tiergate.setLevel(logging.DEBUG)

    def uninstall(self) -> None:
        logging.setLogRecordFactory(self._previous)
        logging.getLogger("tiergate").removeHandler(self)

    def _create(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._previous(*args, **kwargs)
        self._check(record, _render(record))
        return record

    def emit(self, record: logging.LogRecord) -> None:
        self._check(record, self._format.format(record) + repr(vars(record)))

    def _check(self, record: logging.LogRecord, text: str) -> None:
        self.seen += 1
        if SECRET.search(text) or TEST_KEY in text or any(secret in text for secret in self.also):
            self.leaks.append(f"{record.name}: {text[:400]}")


def _render(record: logging.LogRecord) -> str:
    parts = [str(record.msg), repr(record.args)]
    with contextlib.suppress(Exception):  # a broken format string is the logging module's to report
        parts.append(record.getMessage())
    if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(parts)


WATCH = LogSecretWatch()
WATCH.install()


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[LogSecretWatch]:
    """Torn down at the end of the session: by then every test has logged what it will."""
    yield WATCH
    leaks = list(WATCH.leaks)
    WATCH.uninstall()
    assert WATCH.seen > 0
    assert not leaks, "secrets in log lines:\n" + "\n".join(leaks)


def test_the_watch_sees_every_logger(no_secret_in_any_log_line: LogSecretWatch) -> None:
    watch = no_secret_in_any_log_line
    before = len(watch.leaks)
    probe = "tg-probe-SECRET-00000000"
    logging.getLogger("tiergate.probe").warning("request", extra={"tiergate": {"key": probe}})
    logging.getLogger("some.library").error("failed with %s", probe)
    try:
        raise RuntimeError(probe)
    except RuntimeError:
        logging.getLogger("other").exception("boom")
    caught = watch.leaks[before:]
    del watch.leaks[before:]
    assert [line.split(":", 1)[0] for line in caught] == ["tiergate.probe", "some.library", "other"]


KEYED_ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic:
    kind: anthropic
    base_url: "${ANTHROPIC_BASE_URL}"
    api_key_env: ANTHROPIC_API_KEY
    headers: {x-org-token: "${ORG_TOKEN}"}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b"}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}]}
fallbacks: {local: [sonnet], opus: [sonnet]}
routing: {bands: {local: 0.2, claude: 0.7}}
server: {auth: {keys_env: [TIERGATE_KEYS]}}
"""


def keyed_routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(KEYED_ROUTES)
    return path


def assert_no_secret(r: httpx.Response) -> None:
    shown = r.text + repr(dict(r.headers))
    for secret in (TEST_KEY, CLIENT_KEY, ADMIN_KEY, ORG_TOKEN):
        assert secret not in shown, (r.request.url, secret)


def test_error_paths_with_keys_set_leak_nothing(
    gateway_for: GatewayFactory,
    upstream_env: dict[str, str],
    fake_anthropic: FakeAnthropic,
    closed_port: int,
    tmp_path: Path,
) -> None:
    secrets = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY, "ORG_TOKEN": ORG_TOKEN}
    base = gateway_for(keyed_routes(tmp_path), {**upstream_env, **secrets})
    client = {"authorization": f"Bearer {CLIENT_KEY}"}
    chat = {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}
    responses = [
        httpx.post(base + "/v1/chat/completions", json=chat),
        httpx.post(base + "/v1/chat/completions", json=chat, headers={"x-api-key": CLIENT_KEY + "0"}),
        httpx.post(base + "/admin/reload", headers=client),
        httpx.get(base + "/admin/config", headers={"x-api-key": CLIENT_KEY}),
        httpx.get(base + "/health"),
        httpx.get(base + "/ready"),
        httpx.get(base + "/metrics"),
    ]
    assert [r.status_code for r in responses] == [401, 401, 403, 403, 200, 200, 200]
    fake_anthropic.replies.extend([Status(401, f"invalid x-api-key {TEST_KEY}")] * 2)
    upstream_401 = httpx.post(base + "/v1/chat/completions", json=chat, headers=client)
    assert upstream_401.status_code == 502  # tiergate's key was refused, not the client's
    assert fake_anthropic.requests[0].headers["x-org-token"] == ORG_TOKEN  # the header was configured, and sent
    fake_anthropic.replies.clear()
    fake_anthropic.replies.append(Status(401, f"invalid x-org-token {ORG_TOKEN}"))
    header_401 = httpx.post(base + "/v1/chat/completions", json=chat, headers=client)
    assert header_401.status_code == 502
    assert "invalid x-org-token ***" in header_401.json()["error"]["message"]  # a header's value is a secret too
    config = httpx.get(base + "/admin/config", headers={"x-api-key": ADMIN_KEY})
    assert config.status_code == 200
    for r in [*responses, upstream_401, header_401, config]:
        assert_no_secret(r)
    dead = f"http://127.0.0.1:{closed_port}"
    down = gateway_for(keyed_routes(tmp_path), {**secrets, "OLLAMA_HOST": dead, "ANTHROPIC_BASE_URL": dead})
    for r in (
        httpx.post(down + "/v1/chat/completions", json={**chat, "model": "local"}, headers=client),
        httpx.get(down + "/ready"),
        httpx.get(down + "/health"),
    ):
        assert r.status_code in (200, 503)
        assert_no_secret(r)
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_an_upstream_echoing_the_key_shortened_or_upper_cased_shows_none_of_it(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """``invalid x-api-key sk-ant-test-SECRET-4...`` (the key's first 20 characters and an ellipsis) and the
    key upper-cased reached the client's error body and the log line: only a whole key, or one cut short
    by the end of the text, was scrubbed."""
    secrets = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY, "ORG_TOKEN": ORG_TOKEN}
    base = gateway_for(keyed_routes(tmp_path), {**upstream_env, **secrets})
    client = {"authorization": f"Bearer {CLIENT_KEY}"}
    chat = {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}
    fake_anthropic.replies.extend(
        [Status(401, f"invalid x-api-key {TEST_KEY[:20]}..."), Status(400, f"no key {TEST_KEY.upper()} here")]
    )

    shortened = httpx.post(base + "/v1/chat/completions", json=chat, headers=client)
    upper = httpx.post(base + "/v1/chat/completions", json=chat, headers=client)

    at = upstream_env["ANTHROPIC_BASE_URL"]
    assert [shortened.json()["error"]["message"], upper.json()["error"]["message"]] == [
        f"backend 'anthropic' at {at}: refused tiergate's key or account for this backend (HTTP 401): "
        "invalid x-api-key ***...",
        f"backend 'anthropic' at {at}: no key *** here",
    ]
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_a_proxys_error_page_quoting_a_header_json_escaped_shows_it_to_no_one(
    gateway_for: GatewayFactory, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """A proxy before Ollama answered in a shape Ollama's backend does not read, so its bytes were quoted as
    they came, with the token's ``/`` and ``-`` JSON-escaped: the client's error body and the log showed it."""
    token = "oll/SECRET-5e6f7a8b9c-more"
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        """
backends:
  ollama:
    kind: ollama
    base_url: "${OLLAMA_HOST}"
    headers: {X-Ollama-Token: "${OLLAMA_TOKEN}"}
tiers:
  local: {targets: [{backend: ollama, model: qwen-fake}]}
routing: {band_tiers: {local: local, claude: local, ambiguous: local}}
"""
    )
    base = gateway_for(routes, {"OLLAMA_HOST": fake_ollama.url, "OLLAMA_TOKEN": token})  # type: ignore[attr-defined]
    escaped = token.replace("/", "\\/").replace("-", "\\u002d")
    WATCH.also.add(escaped)
    fake_ollama.replies.extend([Status(400, f"bad key {escaped}", html=True) for _ in range(3)])

    chat = httpx.post(
        base + "/v1/chat/completions", json={"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    )

    assert chat.status_code == 400
    at = fake_ollama.url  # type: ignore[attr-defined]
    assert chat.json()["error"]["message"] == f"backend 'ollama' at {at}: <html><body>bad key ***</body></html>"
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_credentials_in_a_backend_url_stay_out_of_errors_and_logs(
    gateway_for: GatewayFactory, closed_port: int, tmp_path: Path
) -> None:
    password = "pw-SECRET-77aa88bb"
    secrets = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY, "ORG_TOKEN": ORG_TOKEN}
    dead = f"http://ops:{password}@127.0.0.1:{closed_port}"
    base = gateway_for(keyed_routes(tmp_path), {**secrets, "OLLAMA_HOST": dead, "ANTHROPIC_BASE_URL": dead})
    chat = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(base + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert r.status_code == 503
    message = r.json()["error"]["message"]
    assert f"at http://***@127.0.0.1:{closed_port}" in message
    for shown in (httpx.get(base + "/health"), httpx.get(base + "/ready"), r):
        assert password not in shown.text
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_a_key_or_token_referenced_in_a_backend_urls_path_shows_neither_in_health_nor_the_start_up_log(
    gateway_for: GatewayFactory, closed_port: int, tmp_path: Path
) -> None:
    """``base_url: http://host/${ANTHROPIC_API_KEY}`` (a gateway that takes its key in the path): the error
    bodies were scrubbed, but /health (open to anyone) and the start-up line about the backend showed the key,
    which only lost a URL's credentials and query values there. A variable named as a credential that only a
    URL's path holds (``${PROXY_TOKEN}``) was no secret at all: error bodies showed it too."""
    key = "sk-ant-SECRET-0a1b2c3d4e5f"
    token = "tok-SECRET-9f8e7d6c5b"
    WATCH.also.add(token)
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        f"""
backends:
  proxy:
    kind: openai
    base_url: "http://127.0.0.1:{closed_port}/${{ANTHROPIC_API_KEY}}/v1"
  gateway:
    kind: openai
    base_url: "http://127.0.0.1:{closed_port}/t/${{PROXY_TOKEN}}/v1"
  anthropic: {{kind: anthropic, base_url: "http://127.0.0.1:{closed_port}"}}
tiers:
  local: {{targets: [{{backend: proxy, model: qwen-fake}}, {{backend: gateway, model: qwen-fake}}]}}
  sonnet: {{targets: [{{backend: anthropic, model: claude-fake}}]}}
routing: {{band_tiers: {{local: local, claude: sonnet, ambiguous: local}}}}
"""
    )
    base = gateway_for(routes, {"ANTHROPIC_API_KEY": key, "PROXY_TOKEN": token})

    health = httpx.get(base + "/health")
    hi = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    chat = httpx.post(base + "/v1/chat/completions", json=hi)

    backends = health.json()["backends"]
    assert backends["proxy"]["url"] == f"http://127.0.0.1:{closed_port}/***/v1"
    assert backends["gateway"]["url"] == f"http://127.0.0.1:{closed_port}/t/***/v1"
    assert chat.status_code == 503 and f"at http://127.0.0.1:{closed_port}/t/***/v1" in chat.text
    for shown in (health.text, chat.text):
        assert key not in shown and token not in shown
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_an_upstream_quoting_a_base_urls_query_or_basic_credentials_shows_them_to_no_one(
    gateway_for: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """The upstream quoted the URL it was asked for (``no route for POST /v1?token=tok-...``) and the
    Authorization header aiohttp made of the URL's user and password (``Basic base64(user:password)``): both
    reached the client's error body and the request's log line whole."""
    password, token = "pw-SECRET-0badc0de", "tok-SECRET-feedf00d"
    basic = base64.b64encode(f"ops:{password}".encode()).decode()
    WATCH.also.add(basic)
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        """
backends:
  vllm: {kind: openai, base_url: "http://ops:${VLLM_PW}@${VLLM_AT}/v1?token=${VLLM_TOKEN}"}
tiers:
  local: {targets: [{backend: vllm, model: m}]}
  sonnet: {targets: [{backend: vllm, model: m}]}
  opus: {targets: [{backend: vllm, model: m}]}
routing: {bands: {local: 0.2, claude: 0.7}}
"""
    )
    at = fake_openai.url.removeprefix("http://")  # type: ignore[attr-defined]
    base = gateway_for(routes, {"VLLM_PW": password, "VLLM_AT": at, "VLLM_TOKEN": token})
    chat = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    fake_openai.replies.extend(
        [
            Status(404, f"no route for POST /v1/chat/completions?token={token}"),
            Status(400, f"bad request with authorization Basic {basic}"),
        ]
    )

    quoted_url = httpx.post(base + "/v1/chat/completions", json=chat)
    quoted_auth = httpx.post(base + "/v1/chat/completions", json=chat)

    assert fake_openai.requests[0].headers["authorization"] == f"Basic {basic}"  # what aiohttp sent
    assert [quoted_url.json()["error"]["message"], quoted_auth.json()["error"]["message"]] == [
        f"backend 'vllm' at http://***@{at}/v1?token=***: HTTP 404: no route for POST /v1/chat/completions?token=***",
        f"backend 'vllm' at http://***@{at}/v1?token=***: HTTP 400: bad request with authorization Basic ***",
    ]
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_an_ollama_ps_refusal_quoting_the_header_shows_it_neither_in_health_nor_the_log(
    gateway_for: GatewayFactory, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """``/api/ps`` behind a proxy answered 401 quoting the Authorization header: /health (open to anyone)
    showed the token in ``loaded.ollama.error``, and so did the residency's warning and the switch's debug
    line, which kept the upstream's text without the Redactor."""
    token = "oll-SECRET-5e6f7a8b9c"
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        """
backends:
  ollama:
    kind: ollama
    base_url: "${OLLAMA_HOST}"
    max_loaded: 1
    headers: {Authorization: "Bearer ${OLLAMA_TOKEN}"}
tiers:
  local: {targets: [{backend: ollama, model: qwen-fake}]}
routing: {band_tiers: {local: local, claude: local, ambiguous: local}}
"""
    )
    base = gateway_for(routes, {"OLLAMA_HOST": fake_ollama.url, "OLLAMA_TOKEN": token})  # type: ignore[attr-defined]
    fake_ollama.ps_status, fake_ollama.ps_quotes_auth = 401, True
    fake_ollama.replies.append(Text("hi"))

    hi = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    chat = httpx.post(base + "/v1/chat/completions", json=hi)
    health = httpx.get(base + "/health")

    assert chat.status_code == 200  # a failing /api/ps never fails a call
    error = health.json()["loaded"]["ollama"]["error"]
    assert error.endswith("ps failed: invalid authorization ***")  # asked afresh by the switch, scrubbed
    assert token not in health.text
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


def test_admin_config_is_the_effective_config_redacted(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    secrets = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY, "ORG_TOKEN": ORG_TOKEN}
    base = gateway_for(keyed_routes(tmp_path), {**upstream_env, **secrets})
    body = httpx.get(base + "/admin/config", headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()
    assert body["path"] == str(tmp_path / "routes.yaml") and len(body["version"]) > 6
    config = body["config"]
    anthropic = config["backends"]["anthropic"]
    assert anthropic["headers"] == {"x-org-token": "***"}
    assert anthropic["api_key_env"] == "ANTHROPIC_API_KEY"  # the variable's name is not a secret
    assert anthropic["base_url"] == upstream_env["ANTHROPIC_BASE_URL"]  # ${VAR} expanded: the effective config
    assert config["server"]["auth"] == {
        "keys_env": ["TIERGATE_KEYS"],
        "keys": [],
        "admin_key_env": "TIERGATE_ADMIN_KEY",
        "client_rpm": None,
    }
    assert config["tiers"]["local"]["targets"][0]["model"] == "qwen2.5-coder:7b"
    assert config["tiers"]["local"]["targets"][0]["capabilities"] == {  # defaults filled in
        "tools": True,
        "vision": False,
        "documents": False,  # an ollama backend
        "context_window": 8192,
        "max_output": None,
        "thinking": False,
    }
    assert config["routing"]["bands"] == {"local": 0.2, "claude": 0.7}


def test_redacted_config_cuts_digests_and_scrubs_every_key_value() -> None:
    digest = "ab" * 32
    loaded = load_text(
        f"""
backends:
  o: {{kind: ollama, base_url: "http://u:${{PW}}@127.0.0.1:1/?token=${{PW}}&v=1"}}
  a: {{kind: anthropic, base_url: "http://127.0.0.1:1", api_key_env: A_KEY, description: "${{A_KEY}}"}}
tiers:
  local: {{targets: [{{backend: o, model: m}}]}}
  sonnet: {{targets: [{{backend: a, model: s}}]}}
  opus: {{targets: [{{backend: a, model: p}}]}}
server: {{auth: {{keys: [{{name: ci, sha256: {digest}}}]}}}}
""",
        "t.yaml",
        {"PW": "tg-pw-SECRET-00112233", "A_KEY": TEST_KEY},
    )
    data = redacted_config(loaded.config, {"A_KEY": TEST_KEY})
    assert data["backends"]["o"]["base_url"] == "http://***@127.0.0.1:1/?token=***&v=***"
    assert data["backends"]["a"]["description"] == "***"  # holds a key variable's value
    assert data["server"]["auth"]["keys"] == [{"name": "ci", "sha256": "abababababab…", "rpm": None}]
    assert not SECRET.search(repr(data))


def test_redacted_config_hides_the_passwords_in_the_redis_and_postgres_urls() -> None:
    loaded = load_text(
        r"""
backends:
  o: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: o, model: m}]}
  sonnet: {targets: [{backend: o, model: s}]}
  opus: {targets: [{backend: o, model: p}]}
routing:
  rules:
    - {name: links, when: {feature: ask_text, matches: 'https?://\S+\?\w+='}, then: {tier: sonnet}}
server: {decision_log: {url: "postgresql://pguser:${PG_PW}@127.0.0.1:5432/tiergate?sslpassword=x"}}
state: {redis_url: "redis://:${REDIS_PW}@127.0.0.1:6379/0"}
""",
        "t.yaml",
        {"PG_PW": "pg-pw-SECRET-445566", "REDIS_PW": "redis-pw-SECRET-778899"},
    )
    data = redacted_config(loaded.config, {})
    assert data["routing"]["rules"][0]["when"]["matches"] == r"https?://\S+\?\w+="  # a regex, not a URL
    assert data["server"]["decision_log"]["url"] == "postgresql://***@127.0.0.1:5432/tiergate?sslpassword=***"
    assert data["state"]["redis_url"] == "redis://***@127.0.0.1:6379/0"
    assert "SECRET" not in repr(data)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("https://api.anthropic.com", "https://api.anthropic.com"),
        ("https://user:pw@host:8443/v1", "https://***@host:8443/v1"),
        ("https://host/v1?api-key=k&x=", "https://host/v1?api-key=***&x=***"),
        # libpq takes these unencoded: a URL parser ended the host at the # or ? and showed the password
        ("postgresql://tg:pa#ss@db:5432/x", "postgresql://***@db:5432/x"),
        ("postgresql://tg:pa?ss@db:5432/x?sslmode=require", "postgresql://***@db:5432/x?sslmode=***"),
        ("redis://:pa/ss@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
        ("postgresql://tg:pw@[::1/x", "postgresql://***@[::1/x"),  # no parser reads it: shown, not raised
        # a '#' in a query value is part of it to libpq: the value's tail was shown as a fragment
        ("postgresql://db/x?password=ab#cdefgh&user=zz", "postgresql://db/x?password=***&user=***"),
        # a base_url without a scheme, shown as config/semantic shows it: the password was shown whole
        ("//tg:hunter2secret@proxy.corp:8443", "//***@proxy.corp:8443"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_key_written_in_a_rule_field_is_never_quoted_by_a_refused_reload(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """``mode: ${ANTHROPIC_API_KEY}`` is refused, and the refusal (the reload's 422, /health's last_error, the
    console's status, the shadow candidate's problems and the log line) says why without the key."""
    secrets = {"TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY, "ORG_TOKEN": ORG_TOKEN}
    routes = keyed_routes(tmp_path)
    good = routes.read_text()
    (tmp_path / "next.yaml").write_text(good.replace("routing: {", 'routing: {mode: "${ORG_TOKEN}", '))
    routes.write_text(good + "shadow: next.yaml\n")
    base = gateway_for(routes, {**upstream_env, **secrets})
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    routes.write_text(good.replace("routing: {", 'routing: {mode: "${ANTHROPIC_API_KEY}", '))
    refused = httpx.post(base + "/admin/reload", headers=admin)
    why = "Invalid enum value '***' at $.routing.mode (one of fixed, keyword, local_first)"
    assert refused.status_code == 422
    assert [p["message"] for p in refused.json()["problems"]] == [why]
    health = httpx.get(base + "/health").json()
    assert [p["message"] for p in health["rules"]["last_error"]] == [why]
    status = httpx.get(base + "/console/api/status", headers=admin).json()
    assert [p["message"] for p in status["rules"]["last_error"]] == [why]
    shadow = httpx.get(base + "/console/api/shadow", headers=admin).json()
    assert shadow["status"]["problems"] == [f"{tmp_path / 'next.yaml'}:14:17: {why}"]
    assert_no_secret(refused)
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)


@pytest.mark.parametrize(
    ("variable", "written", "at", "field", "example"),
    [
        (
            "api_key_env: ANTHROPIC_API_KEY",
            'api_key_env: "${ANTHROPIC_API_KEY}"',
            "7:18",
            "api_key_env",
            "ANTHROPIC_API_KEY",
        ),
        ("api_key_env: ANTHROPIC_API_KEY", f"api_key_env: {TEST_KEY}", "7:18", "api_key_env", "ANTHROPIC_API_KEY"),
        ("[TIERGATE_KEYS]", "[TIERGATE_KEYS, '${TIERGATE_KEYS}']", "15:43", "keys_env", "TIERGATE_KEYS"),
        (
            "[TIERGATE_KEYS]",
            '[TIERGATE_KEYS], admin_key_env: "${TIERGATE_ADMIN_KEY}"',
            "15:59",
            "admin_key_env",
            "TIERGATE_ADMIN_KEY",
        ),
    ],
)
def test_a_key_written_where_its_variable_name_belongs_is_refused_without_quoting_it(
    variable: str,
    written: str,
    at: str,
    field: str,
    example: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A ``*_env`` field names a variable: the key itself there was accepted, and "environment variable
    sk-ant-... is not set" went to /health, every 503 and /admin/config. Now validate (and serve) refuse it,
    at the field, without quoting it."""
    from tiergate.cli import main

    path = tmp_path / "routes.yaml"
    path.write_text(KEYED_ROUTES.replace(variable, written))
    secrets = {"ANTHROPIC_API_KEY": TEST_KEY, "TIERGATE_KEYS": CLIENT_KEY, "TIERGATE_ADMIN_KEY": ADMIN_KEY}
    for name, value in {**secrets, "ORG_TOKEN": ORG_TOKEN, "OLLAMA_HOST": "x", "ANTHROPIC_BASE_URL": "x"}.items():
        monkeypatch.setenv(name, value)
    assert main(["validate", str(path)]) == 1
    if "${" in written:  # refused as written, before the key is read in
        why = (
            f"{field} names an environment variable: write the variable's name itself, not a ${{...}} reference,"
            " which puts its value (it may be a key) where the name belongs"
        )
    else:
        why = (
            f"{field} names an environment variable (letters, digits, _); this value is not a name (not shown: it"
            f" may be a key) — write the variable's name, e.g. {example}, not its value or ${{{example}}}"
        )
    assert capsys.readouterr().out == f"{path}:{at}: {why}\n"


def test_a_reference_in_a_name_field_is_refused_even_when_the_key_looks_like_a_name(tmp_path: Path) -> None:
    """A key of letters, digits and _ passed the name check, and "environment variable <the key> is not
    set" reached /health and the log."""
    key = "tgSecretToken0123456789abcdef"
    path = tmp_path / "routes.yaml"
    path.write_text(KEYED_ROUTES.replace("api_key_env: ANTHROPIC_API_KEY", 'api_key_env: "${VLLM_TOKEN}"'))
    environ = {"VLLM_TOKEN": key, "ORG_TOKEN": ORG_TOKEN, "OLLAMA_HOST": "x", "ANTHROPIC_BASE_URL": "x"}
    with pytest.raises(ConfigError) as raised:
        load_file(path, environ)
    assert key not in str(raised.value)
    assert "api_key_env names an environment variable: write the variable's name itself" in str(raised.value)


def test_a_base_url_without_a_scheme_is_refused_without_its_password(tmp_path: Path) -> None:
    """The refusal quoted ``tg:hunter2secret@proxy.corp:8443`` whole, in the reload's 422 and /health."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "backends:\n  a: {kind: anthropic, base_url: '${PROXY_URL}'}\n"
        "tiers:\n  sonnet: {targets: [{backend: a, model: claude-sonnet-4-5}]}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_file(routes, {"PROXY_URL": "tg:hunter2secret@proxy.corp:8443"})
    assert "hunter2" not in str(raised.value)
    assert "'***@proxy.corp:8443' is not an http:// or https:// URL" in str(raised.value)


def test_a_url_error_keeps_words_that_hold_the_user_name() -> None:
    """The user name was taken out of every word: ``is the ***ql server up``."""
    from tiergate.redact import redact_url_error

    shown = redact_url_error(
        "postgresql://postgres:pa%zzword@h/d",
        'failed for user "postgres": invalid percent-encoded token: "pa%zzword"; is the postgresql server up',
    )
    assert shown == 'failed for user "***": invalid percent-encoded token: "***"; is the postgresql server up'


STORES = """
backends:
  a: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  sonnet: {targets: [{backend: a, model: claude-sonnet-4-5}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
"""


@pytest.mark.parametrize(
    ("written", "environ", "shown"),
    [
        # redis-py refuses it without its scheme; it was quoted whole
        (
            'state: {redis_url: "${REDIS_URL}"}',
            {"REDIS_URL": "default:S3cretRedisPw@redis:6379/0"},
            "state.redis_url '***@redis:6379/0' cannot be read",
        ),
        # a libpq key=value string is no postgresql:// URL; it was quoted whole
        (
            'server: {decision_log: {url: "${PG_DSN}"}}',
            {"PG_DSN": "host=db user=tg password=S3cretPgPw dbname=tg"},
            "server.decision_log.url 'host=db user=tg password=*** dbname=tg' is not a postgresql:// URL",
        ),
        # a variable no key field names, holding a URL with a password, expanded into a typed field
        (
            "routing: {mode: '${SOME_URL}', band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}",
            {"SOME_URL": "redis://:S3cretRedisPw@redis:6379/0"},
            "Invalid enum value 'redis://:***@redis:6379/0' at $.routing.mode",
        ),
        (
            "routing: {mode: '${SOME_DSN}', band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}",
            {"SOME_DSN": "host=db password='S3cret PgPw' dbname=tg"},
            'Invalid enum value "host=db password=*** dbname=tg" at $.routing.mode',
        ),
    ],
)
def test_a_rule_file_problem_shows_no_redis_or_postgresql_password(
    written: str, environ: dict[str, str], shown: str, tmp_path: Path
) -> None:
    """validate, the log, /health's rules.last_error and the reload's 422 show these messages."""
    routes = tmp_path / "routes.yaml"
    text = STORES + written + "\n"
    if written.startswith("routing:"):
        text = text.replace("routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}\n", "")
    routes.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_file(routes, environ)
    assert shown in str(raised.value)
    assert "S3cret" not in str(raised.value)


def test_a_common_store_password_leaves_a_rule_file_problem_and_the_config_readable(tmp_path: Path) -> None:
    """With ``postgres:postgres`` as a dev setup writes it, validate said ``unknown backend '***_box'`` and
    /admin/config showed the decision log's URL, and a path with the word in it, as ``***``."""
    url = "postgresql://postgres:postgres@db:5432/tiergate"
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        STORES.replace("backend: a,", "backend: postgres_box,") + 'server: {decision_log: {url: "${PG_URL}"}}\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_file(routes, {"PG_URL": url})
    assert "unknown backend 'postgres_box'" in str(raised.value)
    text = STORES.replace("kind: anthropic,", "kind: anthropic, description: /var/lib/postgres/x.db,")
    loaded = load_text(text + 'server: {decision_log: {url: "${PG_URL}"}}\n', "t.yaml", {"PG_URL": url})
    data = redacted_config(loaded.config, {})
    assert data["server"]["decision_log"]["url"] == "postgresql://***@db:5432/tiergate"
    assert data["backends"]["a"]["description"] == "/var/lib/postgres/x.db"


def test_a_strong_store_password_is_still_hidden_from_a_rule_file_problem(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(STORES.replace("backend: a,", "backend: S3cretPgPw,") + 'state: {redis_url: "${REDIS_URL}"}\n')
    with pytest.raises(ConfigError) as raised:
        load_file(routes, {"REDIS_URL": "redis://:S3cretPgPw@redis:6379/0"})
    assert "unknown backend '***'" in str(raised.value)


VLLM_KEY = "sk-vllm-SECRET-0a1b2c3d4e"


def test_an_openai_compatible_servers_error_code_and_param_show_no_key(
    gateway_for: GatewayFactory, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """An OpenAI-compatible server's own ``code`` (and ``param``) reach the client's error object: one that
    echoed the key tiergate sent it carried the key there, past the scrubbed message."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        'backends:\n  vllm: {kind: openai, base_url: "${OPENAI_URL}/v1", api_key_env: VLLM_API_KEY}\n'
        "tiers:\n  local: {targets: [{backend: vllm, model: qwen}]}\n"
        "routing: {mode: fixed, fixed_tier: local}\nretries: {attempts: 0}\n"
    )
    base = gateway_for(routes, {"OPENAI_URL": fake_openai.url, "VLLM_API_KEY": VLLM_KEY})  # type: ignore[attr-defined]
    echoed = Status(500, f"see code {VLLM_KEY}", fields={"code": f"c_Bearer {VLLM_KEY}", "param": f"p_{VLLM_KEY}"})
    fake_openai.replies.extend([echoed, echoed])
    chat = httpx.post(
        base + "/v1/chat/completions", json={"model": "local", "messages": [{"role": "user", "content": "hi"}]}
    )
    responses = httpx.post(base + "/v1/responses", json={"model": "local", "input": "hi"})
    url = fake_openai.url + "/v1"  # type: ignore[attr-defined]
    assert chat.status_code == 500 and chat.json()["error"] == {
        "message": f"backend 'vllm' at {url}: HTTP 500: see code ***",
        "type": "upstream_error",
        "param": None,
        "code": "c_Bearer ***",
    }
    assert responses.status_code == 500 and responses.json()["error"]["code"] == "c_Bearer ***"
    for shown in (chat, responses):
        assert VLLM_KEY not in shown.text
    assert not WATCH.leaks, "secrets in log lines:\n" + "\n".join(WATCH.leaks)
