"""The HTTP endpoints. Each handler parses, delegates, and shapes the answer; nothing more.

POST /v1/chat/completions   chat, stream or not
POST /v1/completions        legacy completions (Continue autocomplete)
GET  /v1/models             auto, the tiers, and every configured model id and alias
POST /v1/route              the dry run: the RoutingDecision, no upstream model called
GET  /health                liveness, rules status, backends
POST /admin/reload          re-read routes.yaml now
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Stream

from tiergate.api.bodies import decode_chat, decode_completion
from tiergate.api.gateway import client_of, gateway_of
from tiergate.api.serve import serve

_encode = msgspec.json.Encoder().encode


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(payload), status_code=status, media_type="application/json")


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    chat = decode_chat(await request.body())
    return await serve(gateway_of(request), chat, request.headers, shape="chat", client=client_of(request))


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    _, chat = decode_completion(await request.body())
    return await serve(gateway_of(request), chat, request.headers, shape="text", client=client_of(request))


@get("/v1/models")
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
    for tier in rt.graph.config.tiers.values():
        for target in tier.targets:
            add(target.model, target.backend)
            for alias in target.aliases:
                add(alias, target.backend)
    return _json({"object": "list", "data": data})


@post("/v1/route", status_code=200)
async def route(request: Request[Any, Any, Any], classify: FromQuery[bool] = True) -> Response[bytes]:
    chat = decode_chat(await request.body())
    async with gateway_of(request).rules.use() as rt:
        routed = await rt.router.decide(chat, request.headers, classify=classify, client=client_of(request))
    return _json(routed.decision)


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = gateway_of(request)
    rules = gw.rules
    rt = rules.current
    backends = {
        name: {"kind": cfg.__struct_config__.tag, "url": rt.backends[name].url, "missing": rt.backends[name].missing()}
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
            "breakers": {t.key: rt.router.breaker_state(t) for t in rt.graph.chains.all_targets()},
        }
    )


@post("/admin/reload", status_code=200)
async def admin_reload(request: Request[Any, Any, Any]) -> Response[bytes]:
    outcome = await gateway_of(request).rules.reload()
    return _json(outcome.to_dict(), status=200 if outcome.ok else 422)


HANDLERS = [chat_completions, completions, models, route, health, admin_reload]
