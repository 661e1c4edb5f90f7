"""The web console: one page and its JSON, served by the gateway itself (``GET /console``).

The page and its assets are open (they hold no data); everything they show comes from
``/console/api/*``, which needs the admin key whenever keys are configured: the page asks for it in a
form, keeps it in the tab's ``sessionStorage`` and sends it as ``Authorization: Bearer`` — never in a
URL. With no keys at all the gateway serves loopback clients only, and so does the console, without a
key. With client keys but no admin key set, the console is refused (it would otherwise be open to
any loopback process while clients need keys): set the admin key to use it.

    GET  /console                              the page
    GET  /console/assets/{name}                console.js, console.css
    GET  /console/api/status                   rules, reloads, breakers, decision log, shadow, dialects
    GET  /console/api/savings?window=24h       per tier, baselines, tier share over time, decided-by
    GET  /console/api/requests?limit=&before=&before_id=  recent requests (the last row's ts and id: the next page)
    GET  /console/api/requests/{decision_id}   one request: row, trace, attempts, ratings, shadow
    POST /console/api/feedback                 a rating, as POST /v1/feedback
    POST /console/api/route?dialect=&classify= the dry run, in any ingress dialect
    GET  /console/api/shadow?window=24h        live rules against the candidate
"""

from __future__ import annotations

import math
import time
from importlib import resources
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery

from tiergate.api.auth import ACCESS_ADMIN, ACCESS_OPEN, Authenticator
from tiergate.api.dialects import DEFAULT, DIALECTS
from tiergate.api.feedback import (
    DISABLED,
    MAX_BODY_BYTES,
    STATE_KEY,
    STATE_REASON_KEY,
    decision_log_health,
    feedback_body,
    log_off,
    rate,
    written,
)
from tiergate.api.gateway import gateway_of
from tiergate.api.ingress import feature_headers, query_flag
from tiergate.api.input_limits import check_messages, read_json
from tiergate.errors import AuthError, RequestError
from tiergate.telemetry.queries import WINDOWS, DecisionQueries
from tiergate.telemetry.savings import price_baselines
from tiergate.telemetry.shadow import STATE_KEY as SHADOW_KEY
from tiergate.telemetry.shadow import ShadowRules

_encode = msgspec.json.Encoder().encode
#: Who rated a decision from the console (``feedback.client`` in the log).
CONSOLE_CLIENT = "console"
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
SHADOW_EXAMPLES = 20

_PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}


def _asset(name: str) -> bytes:
    return resources.files("tiergate.console").joinpath(name).read_bytes()


def console_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """With client keys configured, the console needs the admin key to exist (the admin hook checks it)."""
    auth: Authenticator = connection.app.state.auth
    ring = auth.ring(connection.app.state.gateway.rules)
    if not ring.open and ring.admin is None:
        raise AuthError(
            f"the console needs the admin key while client keys are configured: set {ring.admin_env}", status=403
        )


CONSOLE_API: dict[str, Any] = {**ACCESS_ADMIN, "console": True}


def _json(payload: Any) -> Response[bytes]:
    return Response(_encode(payload), media_type="application/json", headers={"cache-control": "no-store"})


def _queries(request: Request[Any, Any, Any]) -> DecisionQueries:
    state = request.app.state
    dlog = state.get(STATE_KEY)
    if dlog is None:
        raise RequestError(f"the decision log is off: {_log_off_reason(state)}", code="decision_log_off", status=404)
    queries: DecisionQueries = dlog.queries()
    return queries


def _log_off_reason(state: Any) -> str:
    return str(state.get(STATE_REASON_KEY) or DISABLED)


def _window(name: str) -> tuple[float, float, float]:
    """(since, until, bucket seconds) for a window name: the last ``span`` seconds up to now."""
    if name not in WINDOWS:
        raise RequestError(
            f"unknown window `{name}`: use one of {', '.join(WINDOWS)}", param="window", code="invalid_value"
        )
    span, bucket = WINDOWS[name]
    until = time.time()
    return until - span, until, bucket


# Query parameters are taken as text and read here: Litestar's own reading refused `?limit=abc` with
# "Validation failed for GET ..." naming no parameter and no code, and took `?before=nan` (every row
# compares false with NaN: an empty page, not an error).


def _limit(given: str | None) -> int:
    if given is None:
        return DEFAULT_LIMIT
    text = given.strip()
    limit = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestError(f"`limit` must be 1 to {MAX_LIMIT}", param="limit", code="invalid_value")
    return limit


def _before(given: str | None) -> float | None:
    if given is None:
        return None
    try:
        before = float(given)
    except ValueError:
        before = math.nan
    if not math.isfinite(before):
        raise RequestError(
            "`before` must be a finite number: the `ts` of the last request shown (seconds since the epoch)",
            param="before",
            code="invalid_value",
        )
    return before


@get("/console", opt=ACCESS_OPEN, include_in_schema=False)
async def console_page() -> Response[bytes]:
    return Response(_asset("index.html"), media_type="text/html", headers=_PAGE_HEADERS)


@get("/console/assets/{name:str}", opt=ACCESS_OPEN, include_in_schema=False)
async def console_asset(name: FromPath[str]) -> Response[bytes]:
    media = _ASSETS.get(name)
    if media is None:
        raise RequestError(f"no console asset `{name}`", code="not_found", status=404)
    return Response(_asset(name), media_type=media, headers={**_PAGE_HEADERS, "cache-control": "no-cache"})


@get("/console/api/status", opt=CONSOLE_API, guards=[console_guard])
async def console_status(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway_of(request)
    rules, state = gw.rules, request.app.state
    rt = rules.current
    dlog = state.get(STATE_KEY)
    shadow = state.get(SHADOW_KEY)
    breakers = []
    seen: set[str] = set()
    for target in rt.graph.dispatch_targets():
        if target.key not in seen:
            seen.add(target.key)
            breakers.append(
                {
                    "target": target.key,
                    "tier": target.tier,
                    "backend": target.backend,
                    "model": target.model,
                    "state": rt.router.breaker_state(target),
                }
            )
    return _json(
        {
            "rules": {
                "status": rules.status,
                "path": str(rules.path),
                "version": rt.version,
                "loaded_at": rules.loaded_at,
                "reloads": rules.reloads,
                "last_error": [p.to_dict() for p in rules.last_error],
                "warnings": [p.to_dict() for p in rt.graph.warnings],
                "tiers": list(rt.graph.config.tiers),
            },
            "breakers": breakers,
            "decision_log": {"on": dlog is not None, **(decision_log_health(state) or log_off(state))},
            "shadow": shadow.status() if shadow is not None else {"configured": False},
            "dialects": [
                {"name": d.name, "label": d.label, "example": d.example}
                for d in sorted(DIALECTS.values(), key=lambda d: d is not DEFAULT)  # the default first
            ],
            "windows": list(WINDOWS),
            "started_at": gw.started_at,
        }
    )


@get("/console/api/savings", opt=CONSOLE_API, guards=[console_guard])
async def console_savings(request: Request[Any, Any, Any], window: FromQuery[str] = "24h") -> Response[bytes]:
    since, until, bucket = _window(window)
    found = await _queries(request).window(since, until, bucket)
    tiers = gateway_of(request).rules.current.graph.chains.tiers
    return _json({"window": window, "stats": found, "baselines": price_baselines(found, tiers)})


@get("/console/api/requests", opt=CONSOLE_API, guards=[console_guard])
async def console_requests(
    request: Request[Any, Any, Any],
    limit: FromQuery[str | None] = None,
    before: FromQuery[str | None] = None,
    before_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    rows, after = _limit(limit), _before(before)
    return _json({"requests": await _queries(request).recent(rows, after, before_id or None)})


@get("/console/api/requests/{decision_id:str}", opt=CONSOLE_API, guards=[console_guard])
async def console_request(request: Request[Any, Any, Any], decision_id: FromPath[str]) -> Response[bytes]:
    queries = _queries(request)
    found = await written(decision_id, lambda: queries.detail(decision_id))
    if found is None:
        raise RequestError(
            f"no decision `{decision_id}` in the decision log (unknown, or removed by retention)",
            code="decision_not_found",
            status=404,
        )
    return _json(found)


@post(
    "/console/api/feedback",
    status_code=200,
    opt=CONSOLE_API,
    guards=[console_guard],
    request_max_body_size=MAX_BODY_BYTES,
)
async def console_feedback(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await rate(request.app.state, await feedback_body(request), CONSOLE_CLIENT)


@post("/console/api/route", status_code=200, opt=CONSOLE_API, guards=[console_guard])
async def console_route(
    request: Request[Any, Any, Any], dialect: FromQuery[str] = DEFAULT.name, classify: FromQuery[str | None] = None
) -> Response[bytes]:
    """The dry run from the console: decode as ``dialect``, decide, call no model (bar the classifier)."""
    ask = query_flag(classify, "classify", default=True)
    chosen = DIALECTS.get(dialect)
    if chosen is None:
        raise RequestError(
            f"unknown dialect `{dialect}`: use one of {', '.join(DIALECTS)}", param="dialect", code="invalid_value"
        )
    gw = gateway_of(request)
    limits = gw.rules.current.graph.config.server.input_limits
    headers = feature_headers(request)
    chat = chosen.decode(await read_json(request, limits), headers)
    check_messages(chat, limits, prompt=chosen.prompt_only)
    async with gw.rules.use() as rt:
        routed = await rt.router.decide(chat, headers, classify=ask, client=CONSOLE_CLIENT, remember=False, read=True)
    return _json({"dialect": dialect, "decision": routed.shown()})


@get("/console/api/shadow", opt=CONSOLE_API, guards=[console_guard])
async def console_shadow(request: Request[Any, Any, Any], window: FromQuery[str] = "24h") -> Response[bytes]:
    since, until, _ = _window(window)
    report = await _queries(request).shadow(since, until, SHADOW_EXAMPLES)
    shadow: ShadowRules | None = request.app.state.get(SHADOW_KEY)
    settings = shadow.settings() if shadow is not None else None
    if shadow is not None and settings is not None:
        await shadow.candidate(settings)  # read (or re-read) the file now: its version or problems show at once
    status = shadow.status() if shadow is not None else {"configured": False}
    return _json({"window": window, "status": status, "report": report})


CONSOLE_HANDLERS = [
    console_page,
    console_asset,
    console_status,
    console_savings,
    console_requests,
    console_request,
    console_feedback,
    console_route,
    console_shadow,
]
