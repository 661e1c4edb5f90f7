"""Budgets when the PostgreSQL decision log is down as the gateway starts: a real server, stopped and started
again in the test (``RestartablePostgres``, as in test_decision_log_outage.py), and the real app.

The month's spend cannot be read at start-up, so budgets count from zero; requests served meanwhile are
counted as they end, and their rows wait in the decision log's outage buffer. Once the server answers, the
month's spend up to the start is added: the history is back, and the rows the buffer wrote since are not
counted a second time. The read is retried every ``RETRY`` seconds, long enough for the test to bring the
server back and see the buffer written before it: the double count would show.

    first gateway   2 requests, logged         → $50 of history this month
    PostgreSQL stopped; a second gateway starts → spend $0, then 1 request: $25 (its row buffered)
    PostgreSQL back; the buffer writes its row  → then the read: $50 + $25, not $0 + $25 nor $50 + $25 + $25
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import GatewayFactory
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.server import ThreadedServer
from tests.integration.test_decision_log_outage import (  # the module's server fixtures too
    FAST,
    RestartablePostgres,
    _server,  # noqa: F401
    ids,
    server,  # noqa: F401
    wait_for,
)
from tiergate.api.app import create_app
from tiergate.api.feedback import decision_log_lifespan
from tiergate.api.gateway import Gateway
from tiergate.engine.adaptive import Signals, restore_spend_lifespan
from tiergate.runtime import Extensions, Rules

ROUTES = """
backends:
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  answer: {{targets: [{{backend: llama, model: llama-answer, price: {{input: 1000000, output: 2000000}}}}]}}
retries: {{attempts: 0}}
routing:
  mode: fixed
  fixed_tier: answer
  band_tiers: {{local: answer, claude: answer, ambiguous: answer}}
  stickiness: {{enabled: false}}
server: {{decision_log: {{url: '{url}'}}}}
budgets: {{clients: {{"*": {{monthly_usd: 100000, on_exceed: reject}}}}}}
"""

#: One answer of the fake: 11 tokens in, 7 out, at $1/$2 a token.
ANSWER = 11 * 1 + 7 * 2
#: Seconds between the second gateway's reads of the month's spend.
RETRY = 4.0


def chat(base: str) -> None:
    body = {"model": "answer", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(base + "/v1/chat/completions", json=body, timeout=30).status_code == 200


def monthly(base: str) -> tuple[float, float]:
    """The tier's and the client's spend this month, as budgets read it."""
    spend = httpx.get(base + "/health").json()["spend"]
    tier = spend["tiers"].get("answer", {}).get("monthly_usd", 0.0)
    return tier, spend["clients"].get("anonymous", {}).get("monthly_usd", 0.0)


def serve_late(config: Path) -> ThreadedServer:
    """The gateway as ``tiergate serve`` wires its spend and its decision log, with short retries for the log
    and ``RETRY`` seconds between reads of the month's spend."""
    signals = Signals()
    gateway = Gateway(Rules.load(config, {}, Extensions(signals=signals.build)))
    gateway.observers.append(signals)
    gateway.reports.append(signals.report)
    cfg = gateway.rules.current.graph.config.server.decision_log
    lifespans = [
        restore_spend_lifespan(signals, lambda: (cfg.enabled, cfg.url), retry_min=RETRY, retry_max=RETRY),
        decision_log_lifespan(gateway, **FAST),
    ]
    return ThreadedServer(create_app(gateway, lifespans=lifespans))


def test_the_months_spend_is_read_once_postgres_answers_and_the_outages_rows_count_once(
    server: RestartablePostgres,  # noqa: F811 (the imported fixture)
    fake_openai: FakeOpenAI,
    gateway_for: GatewayFactory,
    tmp_path: Path,
) -> None:
    url = server.database()
    config = tmp_path / "routes.yaml"
    config.write_text(ROUTES.format(openai=fake_openai.url, url=url))  # type: ignore[attr-defined]
    first = gateway_for(config, {})
    chat(first)
    chat(first)
    wait_for(lambda: len(ids(url)) == 2, "the history is logged")

    server.halt()
    late = serve_late(config)
    base = late.start()
    try:
        assert monthly(base) == (0.0, 0.0)  # the log cannot be read: budgets count from zero
        chat(base)
        assert monthly(base) == (ANSWER, ANSWER)
        server.resume()
        wait_for(lambda: len(ids(url)) == 3, "the outage's row is written")
        wait_for(lambda: monthly(base)[0] > ANSWER, "the month's spend is read")
        time.sleep(0.2)
        assert monthly(base) == (3 * ANSWER, 3 * ANSWER)
    finally:
        late.stop()
