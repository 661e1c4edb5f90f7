"""The admin endpoints (admin key, or loopback while none is set): reload now, and the effective config.

``GET /admin/config`` shows the rules as loaded — defaults filled in, ``${VAR}`` expanded — with every
secret taken out:

- backend ``headers`` values become ``***`` (their names stay);
- credentials in URLs (``user:pass@``, query values) become ``***``;
- keys are referenced by the *name* of their variable (``api_key_env``), which is not a secret and stays;
- client key digests (``server.auth.keys[].sha256``) are cut to their first 12 hex digits;
- and as a last net, any string holding the value of a key variable the rules name becomes ``***``.

    POST /admin/reload   -> 200 {"ok": true, "version", "changed", "problems": [...], "pending_restart": [...]}
                            or 422 with the problems
    GET  /admin/config   -> {"path", "version", "warnings": [...], "config": {...}, "pending_restart": {...}}

``warnings`` are the loaded file's, as ``tiergate validate`` lists them (each problem's file, line, column
and message, scrubbed of the keys the file names where it was made: tiergate.config.source); ``config`` is
the file as loaded; ``pending_restart`` names each setting read only at start-up
(:mod:`tiergate.restart_only`: ``state.*``, the decision log's location and retention) whose value there is
not the one the gateway runs with, with both values: such a change waits for a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from tiergate.api.auth import ACCESS_ADMIN
from tiergate.api.gateway import gateway_of
from tiergate.config.model import RoutesConfig
from tiergate.redact import REDACTED, Redactor, redact_url

DIGEST_SHOWN = 12
_encode = msgspec.json.Encoder().encode


@post("/admin/reload", status_code=200, opt=ACCESS_ADMIN)
async def admin_reload(request: Request[Any, Any, Any]) -> Response[bytes]:
    outcome = await gateway_of(request).rules.reload()
    fanout = request.app.state.get("reload_fanout")
    if fanout is not None:  # `serve --workers N`: the other workers reload too (tiergate.workers)
        fanout()
    return Response(_encode(outcome.to_dict()), status_code=200 if outcome.ok else 422, media_type="application/json")


@get("/admin/config", opt=ACCESS_ADMIN)
async def admin_config(request: Request[Any, Any, Any]) -> Response[bytes]:
    rules = gateway_of(request).rules
    runtime = rules.current
    config = redacted_config(runtime.graph.config, rules.environ)
    body = {
        "path": str(rules.path),
        "version": runtime.version,
        "warnings": [p.to_dict() for p in runtime.graph.warnings],
        "config": config,
        "pending_restart": pending_restart_shown(rules.started.config if rules.started else None, config, rules),
    }
    return Response(_encode(body), media_type="application/json")


def pending_restart_shown(started: RoutesConfig | None, shown: dict[str, Any], rules: Any) -> dict[str, Any]:
    """Each setting read only at start-up whose value in the file (``config`` shows it) is not the one running:
    ``{"state.redis_url": {"running": "redis://…", "file": "redis://…"}}``, redacted as the config is."""
    if started is None or not rules.pending_restart:
        return {}
    running = redacted_config(started, rules.environ)
    out: dict[str, Any] = {}
    for setting in rules.pending_restart:
        was, now = running, shown
        for part in setting.split("."):
            was, now = was[part], now[part]
        out[setting] = {"running": was, "file": now}
    return out


def redacted_config(config: RoutesConfig, environ: Mapping[str, str]) -> dict[str, Any]:
    """The config as plain JSON data, safe to show to an operator."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    for backend in data["backends"].values():
        backend["headers"] = dict.fromkeys(backend.get("headers", {}), REDACTED)
        backend["base_url"] = redact_url(backend["base_url"])
    for key in data["server"]["auth"]["keys"]:
        key["sha256"] = key["sha256"][:DIGEST_SHOWN] + "…"
    return _scrub(data, Redactor.of(config, environ))  # type: ignore[no-any-return]


#: A whole value that is one URL (a scheme, ``://``, no spaces): not a regex that mentions ``https?://``.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def _scrub(value: Any, scrub: Redactor) -> Any:
    """Any URL (a backend, ``state.redis_url``, the decision log's PostgreSQL DSN) loses its user, password
    and query values; a known secret in what is left, as the Redactor finds them (the passwords of those
    URLs too, as whole tokens), hides the whole string."""
    if isinstance(value, str):
        shown = redact_url(value) if _URL.fullmatch(value) else value
        return REDACTED if scrub(shown) != shown else shown
    if isinstance(value, dict):
        return {k: _scrub(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, scrub) for v in value]
    return value


HANDLERS = [admin_reload, admin_config]
