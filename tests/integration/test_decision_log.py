"""The decision log end to end: requests through the real app → rows in SQLite → feedback → ``tiergate stats``.

The app is wired here as ``tiergate.server.build`` wires it (rules, gateway, the decision log's
lifespan, the feedback handler), with the log's file in the test's tmp_path.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import default_routes
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text
from tests.fakes.server import ThreadedServer
from tiergate.api.app import create_app
from tiergate.api.feedback import decision_log_lifespan, feedback
from tiergate.api.gateway import Gateway
from tiergate.cli import main
from tiergate.learned.scorer import LearnedPool
from tiergate.runtime import Extensions, Rules


@dataclass
class Served:
    url: str
    db: Path
    app: Any
    server: ThreadedServer

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=30)


def serve_with_log(tmp_path: Path, environ: dict[str, str], log_settings: str) -> Served:
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=log_settings))
    gateway = Gateway(Rules.load(config, environ, Extensions(learned=LearnedPool().build)))
    app = create_app(gateway, lifespans=[decision_log_lifespan(gateway)])
    if not any(route.path == "/v1/feedback" for route in app.routes):
        app.register(feedback)
    server = ThreadedServer(app)
    return Served(server.start(), tmp_path / "decisions.db", app, server)


@pytest.fixture
def served(tmp_path: Path, upstream_env: dict[str, str]) -> Iterator[Served]:
    s = serve_with_log(tmp_path, upstream_env, f"{{path: '{tmp_path / 'decisions.db'}'}}")
    yield s
    s.server.stop()


def chat(served: Served, model: str, text: str, **extra: Any) -> httpx.Response:
    r = served.post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": text}], **extra})
    assert r.status_code == 200, r.text
    return r


def test_requests_are_logged_rated_and_summarised(
    served: Served, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.replies.append(Text("def add(a: int, b: int) -> int: ...", chunks=1, prompt_tokens=11))
    local = chat(served, "auto", "add type hints to def add(a, b)").headers["x-tiergate-decision-id"]
    fake_anthropic.replies.append(Text("Plan.", chunks=2, prompt_tokens=1000, completion_tokens=100))
    sonnet = chat(served, "sonnet", "plan it", stream=True, stream_options={"include_usage": True})
    assert sonnet.text.endswith("data: [DONE]\n\n")
    fake_ollama.replies.append(Status(404, "model 'qwen2.5-coder:7b' not found"))
    fake_anthropic.replies.append(Text("Done.", chunks=1, prompt_tokens=2000, completion_tokens=0))
    fell_back = chat(served, "local", "hi")
    assert fell_back.headers["x-tiergate-tier"] == "sonnet"

    # rated at once: feedback queues behind the request's row, so the decision is always found
    ok = served.post("/v1/feedback", {"decision_id": local, "rating": 5, "comment": "local was enough"})
    assert (ok.status_code, ok.json()) == (200, {"ok": True, "decision_id": local})
    sonnet_id = sonnet.headers["x-tiergate-decision-id"]
    assert served.post("/v1/feedback", {"decision_id": sonnet_id, "rating": 2}).status_code == 200

    served.app.state.decision_log.flush()
    with sqlite3.connect(served.db) as conn:
        logged = conn.execute(
            "SELECT decision_id, tier, stream, status, attempts, prompt_tokens, completion_tokens, fallback, "
            "round(cost_usd, 6), round(opus_cost_usd, 6), latency_ms > 0 FROM decisions ORDER BY rowid"
        ).fetchall()
        rated = conn.execute("SELECT decision_id, rating, comment, client FROM feedback ORDER BY id").fetchall()
    assert logged == [
        (local, "local", 0, 200, "local/qwen2.5-coder:7b:ok", 11, 7, 0, 0.0, 0.00069, 1),
        (sonnet_id, "sonnet", 1, 200, "sonnet/claude-sonnet-4-5:ok", 1000, 100, 0, 0.0045, 0.0225, 1),
        (
            fell_back.headers["x-tiergate-decision-id"],
            "sonnet",
            0,
            200,
            "local/qwen2.5-coder:7b:http_404, sonnet/claude-sonnet-4-5:ok",
            2000,
            0,
            1,
            0.006,
            0.03,
            1,
        ),
    ]
    assert rated == [(local, 5, "local was enough", "anonymous"), (sonnet_id, 2, None, "anonymous")]

    assert main(["stats", "--db", str(served.db)]) == 0  # while the gateway still writes (WAL)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{served.db}: 3 requests from ")
    assert out[2] == "tier    requests  share  p50 ms  p95 ms  cost USD  fallbacks  errors  ratings  mean"
    sonnet_row, local_row = out[3].split(), out[4].split()
    assert sonnet_row[:3] == ["sonnet", "2", "66.7%"] and sonnet_row[5:] == ["0.0105", "1", "0", "1", "2.00"]
    assert local_row[:3] == ["local", "1", "33.3%"] and local_row[5:] == ["0.0000", "0", "0", "1", "5.00"]
    # --db alone has no rules to say which tier the reference price was (the log does not record it)
    assert out[5:7] == ["", "cost:      $0.0105 vs $0.0532 at the reference price (saving 80.3%)"]
    assert out[7:] == ["fallbacks: 33.3% (1 of 3)", "errors:    0.0% (0 of 3)", "ratings:   2, mean 3.50"]
    assert main(["stats", "--config", str(served.db.parent / "routes.yaml")]) == 0
    assert "cost:      $0.0105 vs $0.0532 always-opus (saving 80.3%)" in capsys.readouterr().out.splitlines()


def test_feedback_errors_are_in_the_openai_shape(served: Served, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    decision_id = chat(served, "local", "hi").headers["x-tiergate-decision-id"]

    unknown = served.post("/v1/feedback", {"decision_id": "dec_nope", "rating": 3})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "message": "no decision `dec_nope` in the decision log (unknown, or removed by retention)",
        "type": "invalid_request_error",
        "param": "decision_id",
        "code": "decision_not_found",
    }
    for body, param in [
        ({"decision_id": decision_id, "rating": 9}, "rating"),
        ({"decision_id": decision_id, "rating": 0}, "rating"),
        ({"decision_id": decision_id, "rating": True}, "rating"),
        ({"decision_id": decision_id, "rating": 4.5}, "rating"),
        ({"decision_id": decision_id, "rating": 4, "comment": "x" * 4001}, "comment"),
        ({"decision_id": "", "rating": 4}, "decision_id"),
        ({"rating": 4}, "decision_id"),
    ]:
        r = served.post("/v1/feedback", body)
        assert r.status_code == 400, body
        error = r.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", param), body
    assert served.post("/v1/feedback", {"decision_id": decision_id, "rating": 1, "comment": "x" * 4000}).is_success
    huge = served.post("/v1/feedback", {"decision_id": decision_id, "rating": 1, "comment": "x" * 100_000})
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "invalid_request_error"
    nested = b"[" * 30_000 + b"]" * 30_000
    deep = httpx.post(served.url + "/v1/feedback", content=nested, headers={"content-type": "application/json"})
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "json_too_deep"


def log_samples(base: str) -> dict[str, float]:
    """The decision log's samples in /metrics, as its text lines give them."""
    lines = httpx.get(base + "/metrics", timeout=30).text.splitlines()
    return {
        n: float(v) for n, _, v in (line.partition(" ") for line in lines) if n.startswith("tiergate_decision_log_")
    }


def test_health_and_metrics_show_the_log_written(served: Served, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    chat(served, "local", "hi")
    served.app.state["decision_log"].flush()
    health = httpx.get(served.url + "/health", timeout=30).json()
    assert health["decision_log"] == {
        "status": "ok",
        "where": str(served.db),
        "reason": None,
        "down_since": None,
        "pending": 0,
        "dropped": 0,
        "outages": 0,
    }
    assert log_samples(served.url) == {
        "tiergate_decision_log_up": 1.0,
        "tiergate_decision_log_pending_rows": 0.0,
        "tiergate_decision_log_dropped_rows_total": 0.0,
        "tiergate_decision_log_outages_total": 0.0,
    }


@pytest.mark.parametrize(
    ("settings", "reason", "state"),
    [
        ("{{enabled: false, path: '{db}'}}", "server.decision_log.enabled is false", "off"),
        ("{{path: '{blocked}/decisions.db'}}", "decision log {blocked}/decisions.db: ", "error"),
    ],
)
def test_without_a_log_the_gateway_serves_and_feedback_says_where_to_look(
    tmp_path: Path, upstream_env: dict[str, str], fake_ollama: FakeOllama, settings: str, reason: str, state: str
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    where = {"db": tmp_path / "decisions.db", "blocked": blocked}
    s = serve_with_log(tmp_path, upstream_env, settings.format(**where))
    try:
        fake_ollama.replies.append(Text("ok", chunks=1))
        decision_id = chat(s, "local", "hi").headers["x-tiergate-decision-id"]
        r = s.post("/v1/feedback", {"decision_id": decision_id, "rating": 5})
        status = httpx.get(s.url + "/console/api/status", timeout=30).json()
        health = httpx.get(s.url + "/health", timeout=30).json()["decision_log"]
        samples = log_samples(s.url)
    finally:
        s.server.stop()
    assert r.status_code == 404 and r.json()["error"]["code"] == "decision_log_off"
    # why (a path, a database host) is the operator's: the log and the console say it, a client is told where
    message = "feedback needs the decision log, which is off (the gateway's log and /console say why)"
    assert r.json()["error"]["message"] == message
    assert reason.format(**where) in status["decision_log"]["reason"]
    # /health says it too, and /metrics has the log down only when one is configured (enabled: false is no outage)
    assert health == {
        "status": state,
        "where": None,
        "reason": status["decision_log"]["reason"],
        "down_since": None,
        "pending": 0,
        "dropped": 0,
        "outages": 0,
    }
    assert status["decision_log"] == {"on": False, **health}
    if state == "off":
        assert samples == {}
    else:
        assert samples == {
            "tiergate_decision_log_up": 0.0,
            "tiergate_decision_log_pending_rows": 0.0,
            "tiergate_decision_log_dropped_rows_total": 0.0,
            "tiergate_decision_log_outages_total": 0.0,
        }
    assert not s.db.exists()


def test_shutdown_writes_what_is_queued(
    served: Served, fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.replies.extend(Text("ok", chunks=1) for _ in range(5))
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)
    for _ in range(5):
        client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}])
    served.server.stop()  # the lifespan closes the log: no flush() here
    with sqlite3.connect(served.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (5,)
    assert main(["stats", "--db", str(served.db), "--since", "1h"]) == 0
    assert capsys.readouterr().out.splitlines()[3].split()[:3] == ["local", "5", "100.0%"]


def test_an_explicit_retry_in_the_real_log_labels_the_routed_request_before_it(
    tmp_path: Path, upstream_env: dict[str, str], fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """docs/evals.md step 2: a conversation sent again explicitly to a higher tier labels its earlier routed
    request with that tier. The log comes from the gateway itself, so the explicit row must carry the
    conversation's session for ``rows_from_log`` to join the two. The chat's title, which the client asked for
    in between (client_side_task: local, out of the session), was labelled opus by the retry as well: its row
    holds the conversation's key too."""
    from tiergate.learned.train import rows_from_log

    db = tmp_path / "decisions.db"
    s = serve_with_log(tmp_path, upstream_env, f"{{path: '{db}', store_ask: true}}")
    try:
        messages = [{"role": "user", "content": "add a docstring to def add(a, b)"}]
        title = {"role": "system", "content": "Write a short title for the chat (3-7 words). Reply with the title."}
        for _ in range(3):
            fake_ollama.replies.append(Text("ok", chunks=1))
            fake_anthropic.replies.append(Text("ok", chunks=1))
        routed = s.post("/v1/chat/completions", {"model": "auto", "messages": messages})
        side = s.post("/v1/chat/completions", {"model": "auto", "messages": [title, *messages]})
        retry = s.post("/v1/chat/completions", {"model": "opus", "messages": messages})
        assert (routed.status_code, side.status_code, retry.status_code) == (200, 200, 200)
        assert routed.headers["x-tiergate-tier"] != "opus" and retry.headers["x-tiergate-tier"] == "opus"
        assert side.headers["x-tiergate-tier"] == "local"
        s.app.state.decision_log.flush()
    finally:
        s.server.stop()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT decision_id, phase, session FROM decisions ORDER BY ts").fetchall()
    assert [phase for _, phase, _ in rows] == ["heuristic", "heuristic", "explicit"]
    assert rows[0][2] is not None and rows[0][2] == rows[1][2] == rows[2][2]
    logged = rows_from_log(db, 1.0, ("local", "sonnet", "opus"))
    assert [(r.id, r.gold) for r in logged.rows] == [(rows[0][0], 2)]


def test_a_decision_is_rated_and_shown_through_another_worker_before_its_writer_wrote_it(
    tmp_path: Path, upstream_env: dict[str, str], fake_ollama: FakeOllama
) -> None:
    """Two workers (or replicas) on one log, each with its own writer: a's batches its rows (here for 0.5 s), so
    b is asked about a decision whose row is not written yet. b waits for it, as the decision is fresh; an
    unknown id of the same shape, made long ago, is answered at once."""
    settings = f"{{path: '{tmp_path / 'decisions.db'}'}}"
    a, b = serve_with_log(tmp_path, upstream_env, settings), serve_with_log(tmp_path, upstream_env, settings)
    try:
        a.app.state["decision_log"]._linger = 0.5
        for _ in range(2):
            fake_ollama.replies.append(Text("ok", chunks=1))
        rated = chat(a, "local", "hi").headers["x-tiergate-decision-id"]
        shown = chat(a, "local", "hi again").headers["x-tiergate-decision-id"]
        assert re.fullmatch("dec_[0-9a-f]{20}", rated)
        ok = b.post("/v1/feedback", {"decision_id": rated, "rating": 5})
        assert (ok.status_code, ok.json()) == (200, {"ok": True, "decision_id": rated})
        detail = httpx.get(f"{b.url}/console/api/requests/{shown}", timeout=30)
        assert (detail.status_code, [a["tier"] for a in detail.json()["attempts"]]) == (200, ["local"])
        started = time.monotonic()
        old = b.post("/v1/feedback", {"decision_id": "dec_00000001" + "0" * 12, "rating": 5})
        assert old.status_code == 404 and time.monotonic() - started < 0.5
    finally:
        a.server.stop()
        b.server.stop()
    with sqlite3.connect(tmp_path / "decisions.db") as conn:
        assert conn.execute("SELECT decision_id, rating FROM feedback").fetchall() == [(rated, 5)]
