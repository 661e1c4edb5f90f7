"""The HTTP endpoints. Each handler parses, delegates, and shapes the answer; nothing more.

POST /v1/chat/completions   chat, stream or not
POST /v1/completions        legacy completions (Continue autocomplete)
GET  /v1/models             auto, the tiers, and every configured model id and alias
POST /v1/route              the dry run: the RoutingDecision, no upstream model called
GET  /health                liveness, rules status, backends (open)
GET  /ready                 readiness: rules loaded, every tier has an available target (open)
GET  /metrics               Prometheus text format (open; 404 when server.metrics is false)
POST /admin/reload          re-read routes.yaml now (admin; see tiergate.api.admin)
GET  /admin/config          the effective config, secrets redacted (admin)

Who may call each endpoint is its ``opt`` (tiergate.api.auth). Bodies are read through
tiergate.api.input_limits, against the live ``server.input_limits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Stream

from tiergate.api import admin
from tiergate.api.auth import ACCESS_CLIENT, ACCESS_CLIENT_METERED, ACCESS_OPEN
from tiergate.api.bodies import decode_chat, decode_completion
from tiergate.api.feedback import FEEDBACK_HANDLERS
from tiergate.api.gateway import client_of, gateway_of
from tiergate.api.input_limits import check_messages, read_json
from tiergate.api.readiness import Readiness
from tiergate.api.serve import serve, until_disconnected
from tiergate.config.model import InputLimits
from tiergate.redact import redact_url
from tiergate.telemetry.metrics import CONTENT_TYPE, Metrics

_encode = msgspec.json.Encoder().encode
#: Credentials never become routing features (``header.authorization`` reads as empty).
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(payload), status_code=status, media_type="application/json")


def _limits(request: Request[Any, Any, Any]) -> InputLimits:
    return gateway_of(request).rules.current.graph.config.server.input_limits


def feature_headers(request: Request[Any, Any, Any]) -> Mapping[str, str]:
    """The request's headers as routing sees them: lower-case names, credentials left out."""
    return {k.lower(): v for k, v in request.headers.items() if k.lower() not in CREDENTIAL_HEADERS}


@post("/v1/chat/completions", status_code=200, opt=ACCESS_CLIENT_METERED)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    limits = _limits(request)
    chat = decode_chat(await read_json(request, limits))
    check_messages(chat, limits)
    work = serve(gateway_of(request), chat, feature_headers(request), shape="chat", client=client_of(request))
    return await until_disconnected(request.receive, work)


@post("/v1/completions", status_code=200, opt=ACCESS_CLIENT_METERED)
async def completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    limits = _limits(request)
    _, chat = decode_completion(await read_json(request, limits))
    check_messages(chat, limits, prompt=True)
    work = serve(gateway_of(request), chat, feature_headers(request), shape="text", client=client_of(request))
    return await until_disconnected(request.receive, work)


@get("/v1/models", opt=ACCESS_CLIENT)
async def models(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway_of(request)
    rt = gw.rules.current
    created = int(gw.rules.loaded_at)
    data: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(model_id: str, owner: str) -> None:
        if model_id not in seen:
            seen.add(model_id)
            data.append({"id": model_id, "object": "model", "created": created, "owned_by": owner})

    for name in rt.graph.config.routing.explicit.auto_names:
        add(name, "tiergate")
    for tier in rt.graph.config.tiers:
        add(tier, "tiergate")
    for tier_config in rt.graph.config.tiers.values():
        for target in tier_config.targets:
            add(target.model, target.backend)
            for alias in target.aliases:
                add(alias, target.backend)
    return _json({"object": "list", "data": data})


@post("/v1/route", status_code=200, opt=ACCESS_CLIENT_METERED)
async def route(request: Request[Any, Any, Any], classify: FromQuery[bool] = True) -> Response[bytes]:
    limits = _limits(request)
    chat = decode_chat(await read_json(request, limits))
    check_messages(chat, limits)
    async with gateway_of(request).rules.use() as rt:
        routed = await rt.router.decide(
            chat, feature_headers(request), classify=classify, client=client_of(request), remember=False
        )
    return _json(routed.decision)


@get("/health", opt=ACCESS_OPEN)
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway_of(request)
    rules = gw.rules
    rt = rules.current
    backends = {
        name: {
            "kind": cfg.__struct_config__.tag,
            "url": redact_url(rt.backends[name].url),
            "missing": rt.backends[name].missing(),
        }
        for name, cfg in rt.graph.config.backends.items()
    }
    return _json(
        {
            "status": "ok",
            "rules": {
                "status": rules.status,
                "path": str(rules.path),
                "version": rt.version,
                "loaded_at": rules.loaded_at,
                "reloads": rules.reloads,
                "last_error": [p.to_dict() for p in rules.last_error],
            },
            "backends": backends,
            "breakers": {t.key: rt.router.breaker_state(t) for t in rt.graph.dispatch_targets()},
            # shared state and worker processes (tiergate.server): {"state": {...}, "workers": {...}}
            **{name: section() for name, section in (request.app.state.get("health_sections") or {}).items()},
        }
    )


@get("/ready", opt=ACCESS_OPEN)
async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
    readiness: Readiness = request.app.state.readiness
    report = await readiness.check(gateway_of(request).rules)
    return _json(report.body(), status=200 if report.ready else 503)


@get("/metrics", opt=ACCESS_OPEN)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    if not gateway_of(request).rules.current.graph.config.server.metrics:
        raise NotFoundException()
    collected: Metrics = request.app.state.metrics
    return Response(collected.exposition(), media_type=CONTENT_TYPE)


HANDLERS = [chat_completions, completions, models, route, health, ready, metrics, *admin.HANDLERS, *FEEDBACK_HANDLERS]
