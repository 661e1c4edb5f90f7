"""``POST /v1/feedback``: rate a decision, and the decision log's place in the app's lifespan.

A rating is an integer from 1 (wrong model, bad answer) to 5 (right call); thumbs-style clients send
1 and 5. A decision may be rated more than once (each rating is kept; stats average them). The
handler waits on the log's writer through a future, so the event loop never touches SQLite.

Any client may rate any decision it knows the id of, and the rating is stored under the rater's name.
Session escalation (``routing.session_escalation``), the rating the console lists a request with and the
labels ``tiergate train`` learns count a rating only when it comes from the client that made the request,
or from the admin console (whose rating wins over the client's): another client cannot move someone
else's session, nor overrule its rating (tiergate.telemetry.sql_queries.COUNTED_RATING).

    POST /v1/feedback {"decision_id": "dec_…", "rating": 5, "comment": "local was enough"}
    → 200 {"ok": true, "decision_id": "dec_…"}; 400 for a bad body; 404 for an unknown decision

A decision made in the last seconds may not be written yet: every worker and replica has its own writer,
which batches rows. Its id says when it was made, so a rating of a fresh one that finds no row waits up to a
second for it (:func:`written`) rather than answer 404; the console's request detail does the same.

    app = create_app(gateway, lifespans=[decision_log_lifespan(gateway), ...])   # + FEEDBACK_HANDLERS
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Litestar, Request, Response, post
from msgspec import Meta

from tiergate.api.auth import ACCESS_CLIENT
from tiergate.api.gateway import Gateway, client_of
from tiergate.api.input_limits import check_depth
from tiergate.engine.decision import decision_made_at
from tiergate.errors import RequestError
from tiergate.protocols.openai.request import decode_json
from tiergate.telemetry.cost import reference_price
from tiergate.telemetry.decisions import DecisionLog, DecisionLogError
from tiergate.telemetry.metrics import DecisionLogCollector
from tiergate.telemetry.postgres import PostgresDecisionLog
from tiergate.telemetry.sql_queries import ADMIN_RATER, is_postgres

log = logging.getLogger("tiergate.api")
T = TypeVar("T")
_encode = msgspec.json.Encoder().encode

RATING_MIN, RATING_MAX = 1, 5
MAX_COMMENT_CHARS = 4000
#: Room for a 4000-character comment even fully ``\u``-escaped (12 bytes a character); larger is not feedback.
MAX_BODY_BYTES = 64 * 1024
#: How long the handler waits for the writer (which itself gives up on a locked file after 10 s).
WRITE_TIMEOUT = 30.0
#: How long a rating or the console waits for the row of a decision made in the last ``FRESH_SECONDS`` (clocks
#: of replicas apart by a few seconds included) before it answers that there is none.
WRITTEN_WITHIN, FRESH_SECONDS = 1.0, 10.0
#: Where the lifespan leaves the open DecisionLog (None when off) and why it is off.
STATE_KEY, STATE_REASON_KEY = "decision_log", "decision_log_off"
#: Why the log is off when no error turned it off.
DISABLED = "server.decision_log.enabled is false in routes.yaml"
#: The admin console's name as a rater (``tiergate.api.console.CONSOLE_CLIENT``, which imports this module):
#: its ratings are the ones the console shows and ``tiergate train`` learns from, over the client's own.
CONSOLE_RATER = ADMIN_RATER


class FeedbackBody(msgspec.Struct):
    decision_id: Annotated[str, Meta(min_length=1, max_length=200)]
    rating: Annotated[int, Meta(ge=RATING_MIN, le=RATING_MAX)]
    comment: Annotated[str, Meta(max_length=MAX_COMMENT_CHARS)] | None = None


@post("/v1/feedback", status_code=200, opt=ACCESS_CLIENT, request_max_body_size=MAX_BODY_BYTES)
async def feedback(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await rate(request.app.state, await feedback_body(request), client_of(request), admin=False)


async def feedback_body(request: Request[Any, Any, Any]) -> FeedbackBody:
    """The rating in the request's body, nesting checked first as every JSON body is (a 400, not a 500)."""
    raw = await request.body()
    check_depth(raw, request.app.state.gateway.rules.current.graph.config.server.input_limits.max_json_depth)
    return decode_json(raw, FeedbackBody)


async def rate(state: Any, body: FeedbackBody, client: str, *, admin: bool | None = None) -> Response[bytes]:
    """Store one rating in the app's decision log (``POST /v1/feedback``, and the console's rating).

    ``admin`` (by default: ``client`` is the console's name) lets the rating count for session escalation
    whoever made the request; otherwise it counts only for the client's own requests."""
    if admin is None:
        admin = client == CONSOLE_RATER
    dlog: DecisionLog | None = state.get(STATE_KEY)
    if dlog is None:
        message = "feedback needs the decision log, which is off"
        if admin:  # why (a path, a database host) is the operator's to read, not every client's
            reason = state.get(STATE_REASON_KEY) or DISABLED
            message += f": {reason}"
        else:
            message += " (the gateway's log and /console say why)"
        raise RequestError(message, code="decision_log_off", status=404)

    async def submit(into: DecisionLog = dlog) -> bool:
        pending = into.submit_feedback(body.decision_id, body.rating, body.comment, client=client)
        found = await asyncio.wait_for(asyncio.wrap_future(pending), WRITE_TIMEOUT)
        return found

    if not await written(body.decision_id, submit):
        raise RequestError(
            f"no decision `{body.decision_id}` in the decision log (unknown, or removed by retention)",
            param="decision_id",
            code="decision_not_found",
            status=404,
        )
    gateway: Gateway | None = state.get("gateway")
    if gateway is not None:
        gateway.rated(body.decision_id, body.rating, None if admin else client)
    return Response(_encode({"ok": True, "decision_id": body.decision_id}), media_type="application/json")


FEEDBACK_HANDLERS = [feedback]


async def written(decision_id: str, look: Callable[[], Awaitable[T]], *, clock: Callable[[], float] = time.time) -> T:
    """``look()``, and again while it finds nothing and ``decision_id`` was made in the last
    :data:`FRESH_SECONDS` (:func:`~tiergate.engine.decision.decision_made_at`), for up to :data:`WRITTEN_WITHIN`
    seconds: the row may still wait in another worker's or replica's writer, which batches rows (50 ms, longer
    under load). An unknown or older id is answered at once."""
    found = await look()
    made = decision_made_at(decision_id)
    if found or made is None or abs(clock() - made) > FRESH_SECONDS:
        return found
    deadline, delay = time.monotonic() + WRITTEN_WITHIN, 0.05
    while not found and (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, 0.25)
        found = await look()
    return found


def decision_log_health(state: Any) -> dict[str, Any] | None:
    """The /health section ``decision_log``: the open log's :meth:`~DecisionLog.health` (``ok`` or ``down``),
    ``off`` (``enabled: false``) or ``error`` (it could not be opened at start-up: a path that cannot be
    created, a malformed URL; a restart is what retries it), with the reason. None when the app runs without
    :func:`decision_log_lifespan`."""
    if STATE_KEY not in state:
        return None
    dlog: DecisionLog | None = state.get(STATE_KEY)
    return dlog.health() if dlog is not None else log_off(state)


def log_off(state: Any) -> dict[str, Any]:
    """The ``decision_log`` section of an app without a log: ``off``, or ``error`` when opening it failed."""
    failed = state.get(STATE_REASON_KEY)
    return {
        "status": "error" if failed else "off",
        "where": None,
        "reason": failed or DISABLED,
        "down_since": None,
        "pending": 0,
        "dropped": 0,
        "outages": 0,
    }


def decision_log_lifespan(
    gateway: Gateway,
    *,
    clock: Callable[[], float] = time.time,
    retry_min: float = 0.5,
    retry_max: float = 30.0,
    lock_wait: float = 10.0,
    stall_after: float = 30.0,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Open the log from ``server.decision_log`` at start-up, observe every request, close it at shutdown.

    ``url: postgresql://…`` writes to PostgreSQL instead of the SQLite ``path``. The settings are read once,
    at start-up: a reload that changes them takes effect on restart. A
    file that cannot be opened, or a malformed URL, is logged and the gateway serves without the log (as it
    does without Ollama). A PostgreSQL server that does not answer yet (the gateway started first) is no
    such error: the log's writer connects and creates its tables when it answers, retrying every
    ``retry_min`` seconds doubling to ``retry_max``, and keeps the rows of the requests served meanwhile;
    start-up does not wait for a server that takes the connection and does not answer. A write waiting
    ``lock_wait`` seconds for a lock fails into the same outage, and one (or a try to connect) that has not
    finished after ``stall_after`` seconds shows as ``down`` while it lasts (:meth:`DecisionLog.health`).
    Its state is in /health (:func:`decision_log_health`) and, while it is enabled, in /metrics
    (:class:`~tiergate.telemetry.metrics.DecisionLogCollector`).
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tuning = {
            "clock": clock,
            "retry_min": retry_min,
            "retry_max": retry_max,
            "lock_wait": lock_wait,
            "stall_after": stall_after,
        }
        cfg = gateway.rules.current.graph.config.server.decision_log
        app.state[STATE_KEY] = None
        if not cfg.enabled:
            yield
            return
        metrics = app.state.get("metrics")
        collector = DecisionLogCollector(lambda: decision_log_health(app.state))
        if metrics is not None:
            metrics.registry.register(collector)
        try:
            async with _opened(gateway, app, cfg, tuning):
                yield
        finally:
            if metrics is not None:
                with contextlib.suppress(KeyError):
                    metrics.registry.unregister(collector)

    return lifespan


@asynccontextmanager
async def _opened(gateway: Gateway, app: Litestar, cfg: Any, tuning: dict[str, Any]) -> AsyncIterator[None]:
    """The log ``cfg`` names, open and observing every request while the app runs (see decision_log_lifespan);
    ``tuning``: the clock, retry delays and bounds ``DecisionLog.open`` takes."""
    kind, where = (PostgresDecisionLog, cfg.url) if is_postgres(cfg.url) else (DecisionLog, cfg.path)
    try:
        dlog = await asyncio.to_thread(
            kind.open,
            where,
            max_rows=cfg.max_rows,
            max_age_days=cfg.max_age_days,
            reference=lambda: reference_price(gateway.rules.current.graph.chains.tiers),
            connect_later=True,
            **tuning,
        )
    except DecisionLogError as exc:
        log.error("%s; serving without the decision log", exc)
        app.state[STATE_REASON_KEY] = str(exc)
        yield
        return
    if dlog.unreachable or dlog.still_connecting:
        log.warning("decision log: %s (not reachable yet: rows are kept until it answers)", dlog.path)
    else:
        log.info("decision log: %s", dlog.path)
    gateway.observers.append(dlog)
    app.state[STATE_KEY] = dlog
    try:
        yield
    finally:
        gateway.observers.remove(dlog)
        await asyncio.to_thread(dlog.close)
