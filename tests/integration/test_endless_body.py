"""An upstream that keeps sending a whole (non-stream) body and never ends it is a malformed answer as soon as
the body passes the HTTP client's cap, not a body to buffer until the total timeout runs out; an error
status's endless body is read only as far as its message needs, and the status decides.

The upstream is a tiny ASGI app: a status, then the start of a JSON answer, then 16 KiB pieces of it until its
client hangs up. The cap is lowered to 64 KiB and the total timeout is long (6 s), so only the cap can end
the attempt promptly:

- the fallback target answers, and the attempts header says the primary failed as ``protocol``, once;
- with no fallback, the client gets a 502 error in the OpenAI shape, naming the backend and the cap;
- an error status with an endless body is retried and falls back as that status, promptly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.ollama import FakeOllama
from tests.fakes.server import serve
from tests.integration.endless import (
    PROMPTLY,
    RESCUED,
    Endless,
    backend_url,
    fixture_gateway,  # noqa: F401 (a fixture)
    fixture_kind,  # noqa: F401 (a fixture)
    fixture_rescue,  # noqa: F401 (a fixture)
    refused,
)
from tiergate.backends import http

CAP = 64 * 1024

#: Each protocol's whole answer, as far as it opens.
OPENINGS = {
    "ollama": b'{"model": "m", "message": {"role": "assistant", "content": "',
    "openai": b'{"id": "c1", "object": "chat.completion", "choices": [{"message": {"content": "',
    "anthropic": b'{"type": "message", "content": [{"type": "text", "text": "',
}


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", CAP)


@pytest.fixture
def endless_upstream(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[Endless, str]]:
    """The endless body, after a 200 or the status the test's parameter says."""
    fake = Endless(getattr(request, "param", 200), b"application/json", OPENINGS[kind])
    with serve(fake) as url:
        yield fake, url


def chat(base: str, tier: str) -> tuple[httpx.Response, float]:
    body = {"model": tier, "messages": [{"role": "user", "content": "hi"}]}
    began = time.monotonic()
    r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    return r, time.monotonic() - began


def rescued(gateway: str, attempts: str) -> None:
    """``local`` is answered by its fallback, promptly, after ``attempts``."""
    r, took = chat(gateway, "local")
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == attempts
    assert r.json()["choices"][0]["message"]["content"] == RESCUED
    assert took < PROMPTLY, f"the fallback took {took:.1f}s"


@pytest.mark.usefixtures("capped")
def test_the_fallback_answers_promptly(gateway: str, endless_upstream: tuple[Endless, str]) -> None:
    fake, _ = endless_upstream
    rescued(gateway, "local/endless-model:protocol, rescue/qwen-rescue:ok")
    assert fake.calls == 1, "a malformed answer is not retried on the same target"
    assert fake.hung_up.wait(PROMPTLY), "the endless upstream's connection is dropped"


@pytest.mark.usefixtures("capped")
def test_with_no_fallback_the_client_gets_an_error(
    gateway: str, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    r, took = chat(gateway, "alone")
    where = backend_url(kind, url)
    detail = f"backend 'endless' at {where}: the answer's body passed the {CAP}-byte cap before it ended"
    refused(r, took, detail, fake, rescue)


@pytest.mark.parametrize("endless_upstream", [500], indirect=True, ids=["http-500"])
def test_an_endless_error_body_is_its_status(gateway: str, endless_upstream: tuple[Endless, str]) -> None:
    fake, _ = endless_upstream
    rescued(gateway, "local/endless-model:http_500, rescue/qwen-rescue:ok")
    assert fake.calls == 3, "an error status is retried (twice), as ever"
