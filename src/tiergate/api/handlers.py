"""The HTTP endpoints. Each handler parses, delegates, and shapes the answer; nothing more.

POST /v1/chat/completions   OpenAI chat, stream or not          } one route per dialect
POST /v1/completions        legacy completions (autocomplete)   } (tiergate.api.dialects,
POST /v1/messages           Anthropic Messages                  }  tiergate.api.ingress)
POST /v1/responses          OpenAI Responses, stateless         }
POST /v1/messages/count_tokens   Anthropic's token count (an estimate)
GET  /v1/models             auto, the tiers, and every configured model id and alias a pattern leaves alone
GET  /v1/models/{id}        one of them, or a name a pattern routes (404 in the caller's shape otherwise)
POST /v1/route              the dry run: the RoutingDecision, no upstream model called
                            (``?dialect=anthropic|responses|completions`` reads the body in that dialect)
GET  /health                liveness, rules status, backends (open)
GET  /ready                 readiness: rules loaded, every tier has an available target (open)
GET  /metrics               Prometheus text format (open; 404 when server.metrics is false)
POST /admin/reload          re-read routes.yaml now (admin; see tiergate.api.admin)
GET  /admin/config          the effective config, secrets redacted (admin)

Who may call each endpoint is its ``opt`` (tiergate.api.auth). Bodies are read through
tiergate.api.input_limits, against the live ``server.input_limits``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from tiergate.api import admin
from tiergate.api.auth import ACCESS_CLIENT, ACCESS_CLIENT_METERED, ACCESS_OPEN
from tiergate.api.dialects import DEFAULT, DIALECTS, EXTRA_HANDLERS
from tiergate.api.feedback import FEEDBACK_HANDLERS, decision_log_health
from tiergate.api.gateway import client_of, gateway_of
from tiergate.api.ingress import feature_headers, query_flag, route_for
from tiergate.api.input_limits import check_messages, read_json
from tiergate.api.readiness import Readiness
from tiergate.config.model import InputLimits
from tiergate.errors import RequestError
from tiergate.learned.scorer import health as learned_health
from tiergate.redact import redact_url
from tiergate.telemetry.metrics import CONTENT_TYPE, Metrics

_encode = msgspec.json.Encoder().encode


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(payload), status_code=status, media_type="application/json")


def _limits(request: Request[Any, Any, Any]) -> InputLimits:
    return gateway_of(request).rules.current.graph.config.server.input_limits


@get("/v1/models", opt=ACCESS_CLIENT)
async def models(request: Request[Any, Any, Any]) -> Response[bytes]:
    listed = _models(request)
    if _anthropic_client(request):
        data, more = _page([_anthropic_model(m) for m in listed], request.query_params)
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return _json({"data": data, "has_more": more, "first_id": first, "last_id": last})
    return _json({"object": "list", "data": listed})


def _page(data: list[dict[str, Any]], query: Mapping[str, str]) -> tuple[list[dict[str, Any]], bool]:
    """Anthropic's paging of a list: ``limit`` items (1 to 1000, default 20) after ``after_id`` or before
    ``before_id``, and whether more lie that way."""
    raw = query.get("limit", "20")
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= 1000:
        raise RequestError(f"limit: must be an integer from 1 to 1000, got {raw!r}", param="limit")
    limit = int(raw)
    ids = [item["id"] for item in data]
    for name in ("after_id", "before_id"):
        if (cursor := query.get(name)) is not None and cursor not in ids:
            raise RequestError(f"{name}: no model '{cursor}' in the list", param=name)
    if (before := query.get("before_id")) is not None:
        end = ids.index(before)
        return data[max(0, end - limit) : end], end > limit
    start = ids.index(query["after_id"]) + 1 if "after_id" in query else 0
    return data[start : start + limit], start + limit < len(data)


@get("/v1/models/{model_id:path}", opt=ACCESS_CLIENT)
async def model(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[bytes]:
    wanted = model_id.lstrip("/")
    found = next((listed for listed in _models(request) if listed["id"] == wanted), None) or _matched(request, wanted)
    if found is not None:
        return _json(_anthropic_model(found) if _anthropic_client(request) else found)
    raise RequestError(
        f"no model '{wanted}' here: GET /v1/models lists them", param="model", code="model_not_found", status=404
    )


def _anthropic_client(request: Request[Any, Any, Any]) -> bool:
    """Anthropic's SDKs send ``anthropic-version`` on every call; they get Anthropic's model shape."""
    return "anthropic-version" in request.headers


def _anthropic_model(listed: dict[str, Any]) -> dict[str, Any]:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(listed["created"]))
    return {"type": "model", "id": listed["id"], "display_name": listed["id"], "created_at": created}


def _models(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """A target's id or alias that a ``routing.explicit.models`` pattern sends elsewhere (the default
    ``"claude-*": auto``) is left out: picking it from a client's list would not reach that model."""
    gw = gateway_of(request)
    rt = gw.rules.current
    created = int(gw.rules.loaded_at)
    data: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(model_id: str, owner: str, tier: str | None = None) -> None:
        named = rt.graph.model_names.match(model_id) if tier is not None else None
        if named is not None and named[1] != tier:
            return
        if model_id not in seen:
            seen.add(model_id)
            data.append({"id": model_id, "object": "model", "created": created, "owned_by": owner})

    for name in rt.graph.config.routing.explicit.auto_names:
        add(name, "tiergate")
    for tier in rt.graph.config.tiers:
        add(tier, "tiergate")
    for tier, tier_config in rt.graph.config.tiers.items():
        for target in tier_config.targets:
            add(target.model, target.backend, tier)
            for alias in target.aliases:
                add(alias, target.backend, tier)
    return data


def _matched(request: Request[Any, Any, Any], wanted: str) -> dict[str, Any] | None:
    """A name no target lists but a pattern routes (Claude Code's ``claude-opus-4-1`` under ``"claude-*":
    auto``) exists for a client that looks it up before using it; tiergate decides where it goes."""
    gw = gateway_of(request)
    if gw.rules.current.graph.model_names.match(wanted) is None:
        return None
    return {"id": wanted, "object": "model", "created": int(gw.rules.loaded_at), "owned_by": "tiergate"}


@post("/v1/route", status_code=200, opt=ACCESS_CLIENT_METERED)
async def route(
    request: Request[Any, Any, Any], classify: FromQuery[str | None] = None, dialect: FromQuery[str] = DEFAULT.name
) -> Response[bytes]:
    ask = query_flag(classify, "classify", default=True)
    limits = _limits(request)
    reader = DIALECTS.get(dialect)
    if reader is None:
        known = ", ".join(sorted(DIALECTS))
        raise RequestError(f"unknown dialect '{dialect}': one of {known}", param="dialect")
    chat = reader.decode(await read_json(request, limits), feature_headers(request))
    check_messages(chat, limits, prompt=reader.prompt_only)
    async with gateway_of(request).rules.use() as rt:
        routed = await rt.router.decide(
            chat, feature_headers(request), classify=ask, client=client_of(request), remember=False, read=True
        )
    return _json(routed.shown())


@get("/health", opt=ACCESS_OPEN)
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway_of(request)
    rules = gw.rules
    rt = rules.current
    backends = {
        name: {
            "kind": cfg.__struct_config__.tag,
            "url": rt.redact(redact_url(rt.backends[name].url)),  # a key may be referenced in its path
            "missing": rt.backends[name].missing(),
        }
        for name, cfg in rt.graph.config.backends.items()
    }
    # the decision log's state says nothing of liveness (nor readiness): the gateway serves while it is down
    logged = decision_log_health(request.app.state)
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
                "warnings": [p.to_dict() for p in rt.graph.warnings],  # the serving rules', as validate lists them
                "pending_restart": rules.pending_restart,  # changed in the file, read only at start-up
            },
            "backends": backends,
            "breakers": {t.key: rt.router.breaker_state(t) for t in rt.graph.dispatch_targets()},
            "learned": learned_health(rt.router.learned),
            **({"decision_log": logged} if logged is not None else {}),
            **{key: value for report in gw.reports for key, value in report().items()},
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


HANDLERS = [
    *(route_for(dialect) for dialect in DIALECTS.values()),
    *EXTRA_HANDLERS,
    models,
    model,
    route,
    health,
    ready,
    metrics,
    *admin.HANDLERS,
    *FEEDBACK_HANDLERS,
]
