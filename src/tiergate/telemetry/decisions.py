"""The decision log: every routed request as one row of an embedded SQLite file.

``observe`` runs on the event loop: it turns the record into its row (plain Python, cheap) and puts
the row on a queue. One writer thread owns the only write connection: it drains the queue in batches
(one transaction per batch), and applies retention in the same transaction every
``prune_every_rows`` inserts or ``prune_interval`` seconds, even when idle. Unless a full batch is
already waiting, the writer waits ``linger`` seconds after a row arrives, so a batch holds many rows
and the thread wakes (and takes the interpreter lock from the event loop) once per batch, not once per
request; the row building stays on the loop for the same reason. Feedback, ``flush`` and ``close`` cut the wait short.
The file is in WAL mode, so ``tiergate stats`` reads it while the gateway writes.

When the store cannot be reached (a PostgreSQL server restarting or not up yet, a SQLite file locked
or a full disk: ``_is_outage``), a batch is not lost: the writer keeps its rows at the head of the
queue and tries again after ``retry_min`` seconds, doubling up to ``retry_max``, with at most
``max_pending`` rows kept (the oldest are dropped beyond it, counted in ``dropped``). It logs one line
when the outage starts and one when writing resumes; ``health()`` says the same to ``/health``, the console
and ``/metrics`` (down since when, why, the rows waiting and dropped). Feedback and ``flush`` fail at once with
:class:`~tiergate.errors.LogUnavailable` meanwhile. A batch the store refuses for its data (a bad row)
is written again row by row, so only the bad row is dropped. ``open(connect_later=True)`` starts the
writer even when the store cannot be reached yet: it connects (and migrates) in its thread, and ``open``
waits at most ``CONNECT_WAIT`` seconds for its first try (a server that takes the connection and never
answers would hold the gateway's start-up for its whole ``connect_timeout``).

A write that waits on a lock another connection holds (a reader of the SQLite file, another session's
``LOCK TABLE`` in PostgreSQL) fails after ``lock_wait`` seconds and takes the outage path. A write, or a
try to connect, that has not finished after ``stall_after`` seconds makes ``health()`` say ``down`` while it
lasts, whatever holds it: a store that takes a statement and never answers raises nothing to tell.

Feedback goes through the same queue, behind every record observed before it: a client that got a
decision id and rates it at once finds its row written. ``submit_feedback`` answers with a
``concurrent.futures.Future``, so the API awaits it (``asyncio.wrap_future``) without blocking the loop.

    dlog = DecisionLog.open("tiergate-decisions.db", max_rows=1_000_000, max_age_days=30, reference=lambda: price)
    gateway.observers.append(dlog)
    found = await asyncio.wrap_future(dlog.submit_feedback("dec_…", 5, "right call"))
    dlog.close()   # writes what is queued, then stops the writer

A team's log in PostgreSQL (``server.decision_log.url``) is the same class with the SQL seams below
(``_connect``, ``_begin``, ``_insert_rows``, ``_insert_shadow``, ``_feedback``, ``_delete_old``) and its
read side (``queries``) written for it: :mod:`tiergate.telemetry.postgres`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from tiergate.config.model import Price
from tiergate.dispatch.dispatcher import render_attempts
from tiergate.engine.targets import Target
from tiergate.errors import LogUnavailable, OperatorError
from tiergate.telemetry.cost import ROUTING, cost_usd
from tiergate.telemetry.phases import decided_by
from tiergate.telemetry.queries import DecisionQueries
from tiergate.telemetry.record import RequestRecord, ShadowRecord
from tiergate.telemetry.sql_queries import SqliteRunner, SqlQueries
from tiergate.wire import Usage

log = logging.getLogger("tiergate.decisions")
T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_DAY = 86_400.0
#: Days of rows ``max_rows`` never deletes: the current month's first instant is at most 31 days (and a
#: daylight-saving hour) back in any zone, and budgets rebuild the month's spend (and the day's) from its rows.
SPEND_DAYS = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    decision_id       TEXT PRIMARY KEY,
    ts                REAL NOT NULL,     -- unix seconds when the request ended
    client            TEXT NOT NULL,
    endpoint          TEXT NOT NULL,     -- chat | completions
    tier              TEXT NOT NULL,     -- the tier that served it (the decided tier if none did)
    decided_tier      TEXT NOT NULL,
    backend           TEXT,
    model             TEXT NOT NULL,
    band              TEXT NOT NULL,
    phase             TEXT NOT NULL,
    score             REAL NOT NULL,
    confidence        REAL NOT NULL,
    stream            INTEGER NOT NULL,
    status            INTEGER NOT NULL,  -- 499: the client left mid-stream
    attempts          TEXT NOT NULL,     -- as in x-tiergate-attempts
    attempts_json     TEXT NOT NULL,
    attempt_count     INTEGER NOT NULL,
    prompt_tokens     INTEGER,           -- NULL when the upstream reported no usage
    completion_tokens INTEGER,
    latency_ms        REAL NOT NULL,
    ttft_ms           REAL,
    cost_usd          REAL,              -- what spend counted; an estimate when the tokens are NULL
    opus_cost_usd     REAL,              -- the same tokens at the always-Opus price
    fallback          INTEGER NOT NULL,  -- more than one target tried, or served by another tier
    error             TEXT,
    error_kind        TEXT,
    disconnected      INTEGER NOT NULL,
    rules_version     TEXT NOT NULL,
    decision_json     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts);
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY,
    decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
    ts          REAL NOT NULL,
    client      TEXT,              -- who rated it (the authenticated client's name)
    rating      INTEGER NOT NULL,
    comment     TEXT
);
CREATE INDEX IF NOT EXISTS feedback_decision ON feedback (decision_id);
"""

#: Versioned schema changes, applied in order at start (``PRAGMA user_version`` records the last one).
#: Never edit a step that has shipped: add the next one.
MIGRATIONS: tuple[str, ...] = (
    SCHEMA,
    """
    ALTER TABLE decisions ADD COLUMN session TEXT;  -- a hash of the client and the first user message
    ALTER TABLE decisions ADD COLUMN ask TEXT;      -- the user's ask, only with server.decision_log.store_ask
    CREATE INDEX IF NOT EXISTS decisions_session ON decisions (session);
    """,
    """
    ALTER TABLE decisions ADD COLUMN decided_by TEXT;  -- explicit | rules | learned | classifier | fallback
    CREATE TABLE IF NOT EXISTS shadow_decisions (
        decision_id   TEXT PRIMARY KEY REFERENCES decisions (decision_id) ON DELETE CASCADE,
        ts            REAL NOT NULL,     -- unix seconds when the candidate rules decided
        file          TEXT NOT NULL,     -- the candidate rule file (routes.yaml's `shadow`)
        rules_version TEXT NOT NULL,     -- the candidate file's version
        tier          TEXT NOT NULL,     -- what the candidate rules would have chosen
        model         TEXT NOT NULL,
        band          TEXT NOT NULL,
        phase         TEXT NOT NULL,
        decided_by    TEXT NOT NULL,
        score         REAL NOT NULL,
        cost_usd      REAL,              -- the live request's tokens at the candidate target's price
        decision_json TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS shadow_decisions_ts ON shadow_decisions (ts);
    """,
    """
    ALTER TABLE decisions ADD COLUMN cached_tokens INTEGER;       -- prompt tokens read from the prompt cache
    ALTER TABLE decisions ADD COLUMN cache_write_tokens INTEGER;  -- prompt tokens written to it
    """,
)

_COLUMNS = (
    "decision_id", "ts", "client", "endpoint", "tier", "decided_tier", "backend", "model", "band", "phase",
    "score", "confidence", "stream", "status", "attempts", "attempts_json", "attempt_count", "prompt_tokens",
    "completion_tokens", "latency_ms", "ttft_ms", "cost_usd", "opus_cost_usd", "fallback", "error", "error_kind",
    "disconnected", "rules_version", "decision_json", "session", "ask", "decided_by", "cached_tokens",
    "cache_write_tokens",
)  # fmt: skip
_INSERT = f"INSERT OR IGNORE INTO decisions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_SHADOW_COLUMNS = (
    "decision_id", "ts", "file", "rules_version", "tier", "model", "band", "phase", "decided_by", "score", "cost_usd",
    "decision_json",
)  # fmt: skip
#: A candidate decision is kept only beside its live row (one the queue dropped has nothing to compare with).
_INSERT_SHADOW = (
    f"INSERT OR REPLACE INTO shadow_decisions ({', '.join(_SHADOW_COLUMNS)}) "
    f"SELECT {', '.join('?' * len(_SHADOW_COLUMNS))} WHERE EXISTS (SELECT 1 FROM decisions WHERE decision_id = ?)"
)


class DecisionLogError(OperatorError):
    """The log file cannot be opened or created; the message names the path."""


@dataclass
class _Observed:
    row: tuple[Any, ...]


@dataclass
class _Shadow(_Observed):
    """A candidate decision (routes.yaml's ``shadow``), written after its live row."""


@dataclass
class _Command:
    """Work for the writer's connection, run in order with the rows; its result goes to ``future``."""

    run: Callable[[Any], Any]
    future: Future[Any] = field(default_factory=Future)


_STOP = object()
#: SQLite's primary result codes that a later try may not meet: a lock held too long, a full disk, an I/O error.
_SQLITE_TRANSIENT = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})


class DecisionLog:
    """An Observer that writes each RequestRecord to SQLite on its own thread. Build with ``open``."""

    #: What ``open`` reports as DecisionLogError when the writer cannot connect.
    CONNECT_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
    #: Seconds ``open(connect_later=True)`` waits for the writer's first try to connect: enough for a store that
    #: answers (connected and migrated before the gateway serves, an unusable path reported at once), not for a
    #: server that takes the connection and never answers to hold up start-up until its ``connect_timeout``.
    CONNECT_WAIT = 2.0

    def __init__(
        self,
        path: Path | str,
        *,
        max_rows: int | None,
        max_age_days: float | None,
        reference: Callable[[], Price],
        clock: Callable[[], float],
        batch_size: int,
        prune_every_rows: int,
        prune_interval: float,
        max_pending: int,
        linger: float = 0.0,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        connect_later: bool = False,
        lock_wait: float = 10.0,
        stall_after: float = 30.0,
    ) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_age_days = max_age_days
        self.dropped = 0
        self.writes = 0  # transactions committed: how well rows are batched
        self.outages = 0  # times the store became unreachable
        # rows put on the queue (counted on the event loop) and, of those, rows written or dropped (counted by
        # the writer): each counter has one thread that adds to it, so their difference is what waits
        self._queued_rows = 0
        self._done_rows = 0
        self._reference = reference
        self._clock = clock
        self._batch_size = batch_size
        self._prune_every_rows = prune_every_rows
        self._prune_interval = prune_interval
        self._max_pending = max_pending
        self._linger = linger
        self._retry_min, self._retry_max = retry_min, max(retry_min, retry_max)
        self._connect_later = connect_later
        self._lock_wait, self._stall_after = lock_wait, stall_after
        # what the writer is doing with the store ("a write", "connecting") since when (monotonic, epoch): None
        # between tries. Set and cleared by the writer, read whole by health() on the event loop
        self._busy: tuple[str, float, float] | None = None
        self._urgent = threading.Event()
        self._queue: queue.SimpleQueue[_Observed | _Command | object] = queue.SimpleQueue()
        self._closed = False
        self._ready: Future[None] = Future()
        self._last_prune = 0.0
        self._since_prune = 0
        # the writer's own: items taken from the queue and not written yet (a batch kept through an outage)
        self._held: deque[Any] = deque()
        self._down_since: float | None = None  # monotonic time the store became unreachable; None: it answers
        self._down_at: float | None = None  # the same instant in seconds since the epoch, for /health
        self._last_error: str | None = None  # why the store could not be written at the last try
        self._delay = retry_min
        self._dropped_before_outage = 0
        self._thread = threading.Thread(target=self._run, name="tiergate-decision-log", daemon=True)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        max_rows: int | None = 1_000_000,
        max_age_days: float | None = 30.0,
        reference: Callable[[], Price] = Price,
        clock: Callable[[], float] = time.time,
        batch_size: int = 500,
        prune_every_rows: int = 1000,
        prune_interval: float = 60.0,
        max_pending: int = 100_000,
        linger: float = 0.05,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        connect_later: bool = False,
        lock_wait: float = 10.0,
        stall_after: float = 30.0,
    ) -> DecisionLog:
        """Create the file (and its folder) if needed, set WAL mode and the schema, start the writer.

        ``path`` is relative to the working directory. ``reference`` gives the always-Opus price at
        the moment a request ends (rules can reload between requests). Raises DecisionLogError. With
        ``connect_later``, a store that cannot be reached yet (``_is_outage``: a PostgreSQL server not up)
        is no error: the writer connects and migrates in its thread, retrying every ``retry_min`` seconds
        doubling to ``retry_max``, and keeps up to ``max_pending`` rows meanwhile; ``open`` waits for its first
        try at most ``CONNECT_WAIT`` seconds, and a try still running then is the writer's to finish (an error
        that is no outage is then logged, and retried as one). ``lock_wait`` bounds a write's wait for a lock,
        ``stall_after`` how long a write or a try to connect runs before ``health()`` says ``down``.
        """
        cls._check(path)
        dlog = cls(
            cls._where(path),
            max_rows=max_rows,
            max_age_days=max_age_days,
            reference=reference,
            clock=clock,
            batch_size=batch_size,
            prune_every_rows=prune_every_rows,
            prune_interval=prune_interval,
            max_pending=max_pending,
            linger=linger,
            retry_min=retry_min,
            retry_max=retry_max,
            connect_later=connect_later,
            lock_wait=lock_wait,
            stall_after=stall_after,
        )
        dlog._thread.start()
        try:
            try:
                dlog._ready.result(cls.CONNECT_WAIT if connect_later else None)
            except TimeoutError:
                if dlog._ready.cancel():  # the writer goes on trying; what it meets is its own to report
                    return dlog
                dlog._ready.result()  # it answered in between
        except cls.CONNECT_ERRORS as exc:
            dlog._thread.join()
            raise DecisionLogError(f"decision log {dlog.path}: {dlog._error_text(exc)}") from None  # shown by /health
        return dlog

    @staticmethod
    def _where(path: str | Path) -> Path | str:
        return Path(path)

    @classmethod
    def _check(cls, path: str | Path) -> None:
        """Raise DecisionLogError for a location no retry can fix (the PostgreSQL log checks its URL)."""

    @property
    def unreachable(self) -> bool:
        """Whether the writer is waiting for the store to answer again (rows are kept meanwhile)."""
        return self._down_since is not None

    @property
    def still_connecting(self) -> bool:
        """Whether ``open`` returned before the writer's first try to connect had finished (``CONNECT_WAIT``
        passed): read right after ``open``, the store has not answered yet."""
        return self._ready.cancelled()

    @property
    def pending(self) -> int:
        """Rows observed and not written yet: queued, or kept through an outage."""
        return max(0, self._queued_rows - self._done_rows)

    def health(self) -> dict[str, Any]:
        """The /health section ``decision_log`` (and the console's): ``status`` ``ok``, or ``down`` while the
        store cannot be written (``reason``: its last error, in the words the log line uses, with no piece of
        a URL's credentials; ``down_since``: seconds since the epoch), where the rows go (a URL redacted), and
        the rows waiting, dropped (``max_pending`` passed, or a row the store refused) and outages so far.

        A write or a try to connect that has run ``stall_after`` seconds is ``down`` too, while it lasts (``reason``
        says what has not finished and for how long; ``down_since``: when it started, unless an outage began
        before): a store that holds a statement without answering raises nothing for the outage to start."""
        down, reason, since = self._down_since is not None, self._last_error, self._down_at
        busy = self._busy
        if busy is not None and (took := time.monotonic() - busy[1]) >= self._stall_after:
            reason = f"{busy[0]} has not finished for {took:.0f}s; rows are kept meanwhile"
            since = since if down else busy[2]
            down = True
        return {
            "status": "down" if down else "ok",
            "where": str(self.path),
            "reason": reason if down else None,
            "down_since": since if down else None,
            "pending": self.pending,
            "dropped": self.dropped,
            "outages": self.outages,
        }

    # --- the event loop's side: never blocks ---------------------------------------------------

    def observe(self, record: RequestRecord) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._max_pending:  # the writer is stuck: shed rows, not memory
            self._count_drop()
            return
        self._queue.put(_Observed(_row(self._clock(), record, self._reference())))
        self._queued_rows += 1

    def observe_shadow(self, shadow: ShadowRecord) -> None:
        """Keep what the candidate rules decided for a logged request (the console compares the two)."""
        if self._closed or self._queue.qsize() >= self._max_pending:
            return
        decision = shadow.decision
        row = (
            shadow.decision_id,
            self._clock(),
            shadow.file,
            decision.rules_version,
            decision.tier,
            decision.model,
            decision.band,
            decision.phase,
            decided_by(decision),
            decision.score,
            shadow.cost_usd,
            _encode(decision).decode(),
            shadow.decision_id,
        )
        self._queue.put(_Shadow(row))

    def queries(self) -> DecisionQueries:
        """The console's read side over this file (read-only connections, off the event loop)."""
        assert isinstance(self.path, Path)
        return SqlQueries(SqliteRunner(self.path))

    def submit_feedback(
        self, decision_id: str, rating: int, comment: str | None = None, *, client: str | None = None
    ) -> Future[bool]:
        """Store a rating once every record observed so far is written; the future says whether the id exists."""

        def run(conn: Any) -> bool:
            return self._feedback(conn, decision_id, self._clock(), client, rating, comment)

        return self._submit(run)

    # --- blocking helpers, for tests, the CLI and shutdown --------------------------------------

    def add_feedback(
        self,
        decision_id: str,
        rating: int,
        comment: str | None = None,
        *,
        client: str | None = None,
        timeout: float = 10.0,
    ) -> bool:
        """``submit_feedback`` and wait: False when ``decision_id`` is not in the log."""
        return self.submit_feedback(decision_id, rating, comment, client=client).result(timeout)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every record observed before this call is committed.

        Raises LogUnavailable while the store cannot be reached (the rows stay queued)."""
        self._submit(lambda conn: None).result(timeout)

    def prune(self, timeout: float = 10.0) -> int:
        """Apply retention now; returns how many decisions were deleted."""
        return int(self._submit(self._prune).result(timeout))

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer and close the file. Safe to call twice.

        While the store cannot be reached the writer tries once more, then logs how many rows it leaves."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._urgent.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("decision log %s: the writer did not finish within %gs", self.path, timeout)

    def _submit(self, run: Callable[[Any], T]) -> Future[T]:
        if self._closed:
            raise DecisionLogError(f"decision log {self.path} is closed")
        command = _Command(run)
        self._queue.put(command)
        self._urgent.set()
        return command.future

    # --- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        conn: Any = None
        try:
            with self._busy_with("connecting"):
                conn = self._connect()
        except Exception as exc:
            if not (self._connect_later and self._is_outage(exc)) and self._settle(exc):
                return
            if not self._is_outage(exc):  # open() stopped waiting: as a later try's, logged and retried
                log.error("decision log %s: cannot connect: %s", self.path, self._error_text(exc))
            self._went_down(exc)  # the writer connects when the store answers; rows wait meanwhile
        except BaseException as exc:
            self._settle(exc)
            return
        self._settle(None)
        try:
            self._last_prune, self._since_prune = self._clock(), 0
            if conn is not None:
                self._held.append(_Command(self._prune))  # a restart after a long pause trims at once
            while True:
                if self._down_since is not None:
                    self._back_off()
                elif not self._held:
                    self._held.extend(self._take())
                batch, stopping = self._next_batch()
                if not batch and self._down_since is not None:
                    batch = [_Command(_nothing)]  # nothing kept: an empty transaction tells whether it is back
                if conn is None:
                    conn = self._try_connect()
                left = batch if conn is None else self._write(conn, batch)
                if left:  # the store is away: keep the rows at the head of the queue
                    self._keep(left)
                    if stopping or self._closed:
                        self._give_up()
                        return
                    continue
                if self._down_since is not None:
                    self._came_back(batch)
                if stopping:
                    return
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _settle(self, exc: BaseException | None) -> bool:
        """Tell ``open`` how the first try went; False when it no longer waits (``CONNECT_WAIT`` passed)."""
        try:
            if exc is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(exc)
        except InvalidStateError:  # cancelled by open()
            return False
        return True

    @contextlib.contextmanager
    def _busy_with(self, what: str) -> Iterator[None]:
        """Mark the writer as waiting for the store (``what``) for ``health()``, which says ``down`` after
        ``stall_after`` seconds of it."""
        self._busy = (what, time.monotonic(), time.time())
        try:
            yield
        finally:
            self._busy = None

    def _next_batch(self) -> tuple[list[Any], bool]:
        """Up to ``batch_size`` held items (rows kept through an outage first); whether close came next."""
        batch: list[Any] = []
        while self._held and len(batch) < self._batch_size:
            item = self._held.popleft()
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _try_connect(self) -> Any:
        """The connection the writer could not open before (``connect_later``); None while the store is away."""
        try:
            with self._busy_with("connecting"):
                conn = self._connect()
        except Exception as exc:
            if not self._is_outage(exc):
                log.error("decision log %s: cannot connect: %s", self.path, self._error_text(exc))
            self._went_down(exc)
            return None
        self._last_prune = self._clock()
        return conn

    def _stale(self, conn: Any) -> bool:
        """Whether a write that met an outage may have met a stale connection, which a fresh one would not
        (SQLite cannot tell: it tries once more)."""
        return True

    def _is_outage(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the store cannot be reached right now (try again later), not that the data is bad."""
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in _SQLITE_TRANSIENT

    def _error_text(self, exc: BaseException) -> str:
        """What a log line shows of ``exc``: its first line (a store with credentials in its URL shows no
        piece of them: :class:`~tiergate.telemetry.postgres.PostgresDecisionLog`)."""
        return _first_line(exc)

    def _went_down(self, exc: BaseException) -> None:
        self._last_error = f"{type(exc).__name__}: {self._error_text(exc)}"  # before the state /health reads
        if self._down_since is None:
            self._down_at = time.time()
            self.outages += 1
            self._down_since = time.monotonic()
            self._delay = self._retry_min
            self._dropped_before_outage = self.dropped
            log.warning(
                "decision log %s cannot be written (%s); keeping up to %d row(s) and retrying every %gs to %gs",
                self.path,
                self._last_error,
                self._max_pending,
                self._retry_min,
                self._retry_max,
            )
        else:
            self._delay = min(self._delay * 2, self._retry_max)

    def _came_back(self, written: list[Any]) -> None:
        assert self._down_since is not None
        log.warning(
            "decision log %s is written again after %.1fs: %d row(s) kept through the outage, %d dropped",
            self.path,
            time.monotonic() - self._down_since,
            _rows(written) + _rows(self._held),
            self.dropped - self._dropped_before_outage,
        )
        self._down_since, self._delay = None, self._retry_min

    def _keep(self, items: list[Any]) -> None:
        """Put the rows of a batch the store did not take back at the head of the queue. Feedback and
        flush (held or in it) fail at once, so their callers answer 503 rather than wait for the store."""
        failure = LogUnavailable(f"the decision log {self.path} cannot be written right now; the gateway keeps serving")
        for item in [*items, *self._held]:
            if isinstance(item, _Command) and not item.future.done():
                item.future.set_exception(failure)
        self._held = deque(i for i in [*items, *self._held] if not isinstance(i, _Command))
        self._shed()

    def _back_off(self) -> None:
        """Wait the retry delay, taking arrivals off the queue (shedding the oldest rows beyond
        ``max_pending``); feedback, flush and close cut it short (one try, so they get an answer)."""
        deadline = time.monotonic() + self._delay
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = self._queue.get(timeout=min(remaining, threading.TIMEOUT_MAX))
            except queue.Empty:
                break
            self._held.append(item)
            if not isinstance(item, _Observed):
                break
            self._shed()
        self._urgent.clear()

    def _shed(self) -> None:
        """Drop the oldest held rows beyond ``max_pending`` (while the store is away, only rows are held)."""
        while len(self._held) > self._max_pending and isinstance(self._held[0], _Observed):
            if not isinstance(self._held.popleft(), _Shadow):
                self._done_rows += 1
                self._count_drop()

    def _give_up(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._held.append(self._queue.get_nowait())
        rows = _rows(self._held)
        if rows:
            log.error("decision log %s: closing while it cannot be written; %d row(s) not written", self.path, rows)
        else:  # nothing lost: not an error an operator must look into
            log.warning("decision log %s: closing while it cannot be written; no row was waiting", self.path)
        self.dropped += rows
        self._done_rows += rows

    def _count_drop(self) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:
            log.warning("decision log %s is behind; %d row(s) dropped so far", self.path, self.dropped)

    # --- the SQL seams (SQLite here; tiergate.telemetry.postgres overrides them) ------------------

    def _connect(self) -> Any:
        assert isinstance(self.path, Path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit, one per batch
        # a reader holding a lock delays the writer, never the loop; for longer, it is an outage (rows kept)
        conn.execute(f"PRAGMA busy_timeout = {max(1, round(self._lock_wait * 1000))}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a network file system; the log still works, readers may wait
            log.warning("decision log %s: journal mode is %s, not wal", self.path, mode)
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL stays consistent; a power cut may lose the last batch
        conn.execute("PRAGMA foreign_keys = ON")  # pruning a decision removes its feedback
        migrate(conn)
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def _feedback(
        self, conn: Any, decision_id: str, ts: float, client: str | None, rating: int, comment: str | None
    ) -> bool:
        if conn.execute("SELECT 1 FROM decisions WHERE decision_id = ?", (decision_id,)).fetchone() is None:
            return False
        conn.execute(
            "INSERT INTO feedback (decision_id, ts, client, rating, comment) VALUES (?, ?, ?, ?, ?)",
            (decision_id, ts, client, rating, comment),
        )
        return True

    def _insert_rows(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        conn.executemany(_INSERT, rows)

    def _insert_shadow(self, conn: Any, row: tuple[Any, ...]) -> None:
        """One candidate decision (``_SHADOW_COLUMNS`` then the decision id again), kept only beside its live row."""
        conn.execute(_INSERT_SHADOW, row)

    def _delete_old(self, conn: Any, before: float, max_rows: int | None, spend_since: float) -> int:
        """Rows older than ``before``, then those past the newest ``max_rows`` that are older than ``spend_since``."""
        deleted = 0
        if before > float("-inf"):
            deleted += conn.execute("DELETE FROM decisions WHERE ts < ?", (before,)).rowcount
        if max_rows is not None:
            # rowids grow with insertion order, so the cut-off row is the (max_rows + 1)-th newest
            deleted += conn.execute(
                "DELETE FROM decisions WHERE ts < ? AND rowid <= "
                "(SELECT rowid FROM decisions ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
                (spend_since, max_rows),
            ).rowcount
        return int(deleted)

    def _take(self) -> list[_Observed | _Command | object]:
        """Block for the first item (waking for idle retention), then drain up to a batch."""
        try:
            batch = [self._queue.get(timeout=min(self._prune_interval, threading.TIMEOUT_MAX))]
        except queue.Empty:
            return [_Command(self._prune)] if self._prune_due() else []
        if self._linger > 0 and isinstance(batch[0], _Observed) and self._queue.qsize() < self._batch_size:
            self._urgent.wait(self._linger)  # let rows gather: one wake-up and one transaction for all
        self._urgent.clear()
        while len(batch) < self._batch_size and batch[-1] is not _STOP:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, conn: Any, batch: list[Any]) -> list[Any]:
        """Write ``batch`` in one transaction; what is left unwritten because the store cannot be reached.

        A connection that went stale (the server restarted) gets one immediate try on a fresh one. A batch
        the store refuses for its data is written item by item: only the bad item is dropped (and logged)."""
        if not batch:
            return []
        try:
            try:
                done = self._transact(conn, batch)
            except Exception as exc:
                if not self._is_outage(exc) or self._down_since is not None or not self._stale(conn):
                    raise
                self._abort(conn)
                done = self._transact(conn, batch)  # a stale connection: the seams connect again
        except Exception as exc:
            self._abort(conn)
            if self._is_outage(exc):
                self._went_down(exc)
                return batch
            if len(batch) > 1:
                log.warning(
                    "decision log %s: a batch of %d item(s) was refused (%s: %s); writing it item by item",
                    self.path,
                    len(batch),
                    type(exc).__name__,
                    self._error_text(exc),
                )
                for at, item in enumerate(batch):
                    if self._write(conn, [item]):
                        return batch[at:]
                return []
            item = batch[0]
            if isinstance(item, _Command):
                item.future.set_exception(exc)
            else:
                self.dropped += not isinstance(item, _Shadow)
                self._done_rows += not isinstance(item, _Shadow)
                log.error(
                    "decision log %s: %s %s was not written: %s: %s",
                    self.path,
                    "the shadow decision of" if isinstance(item, _Shadow) else "the row of",
                    item.row[0],
                    type(exc).__name__,
                    self._error_text(exc),
                )
            return []
        self._done_rows += _rows(batch)
        for future, result in done:
            future.set_result(result)
        return []

    def _transact(self, conn: Any, batch: list[Any]) -> list[tuple[Future[Any], Any]]:
        with self._busy_with("a write"):
            return self._transact_batch(conn, batch)

    def _transact_batch(self, conn: Any, batch: list[Any]) -> list[tuple[Future[Any], Any]]:
        rows: list[tuple[Any, ...]] = []
        done: list[tuple[Future[Any], Any]] = []
        self._begin(conn)
        for item in batch:
            if isinstance(item, _Shadow):
                self._insert(conn, rows)
                self._insert_shadow(conn, item.row)
                continue
            if isinstance(item, _Observed):
                rows.append(item.row)
                continue
            self._insert(conn, rows)
            done.append((item.future, item.run(conn)))
        self._insert(conn, rows)
        if self._prune_due():
            self._prune(conn)
        self._commit(conn)
        self.writes += 1
        return done

    def _abort(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            self._rollback(conn)

    def _insert(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self._insert_rows(conn, rows)
            self._since_prune += len(rows)
            rows.clear()

    def _prune_due(self) -> bool:
        return self._since_prune >= self._prune_every_rows or self._clock() - self._last_prune >= self._prune_interval

    def _prune(self, conn: Any) -> int:
        """Delete decisions older than ``max_age_days``, then all but the newest ``max_rows``, except the rows of
        the last :data:`SPEND_DAYS`: budgets rebuild this month's spend from them at start-up, and a busy
        month's rows past ``max_rows`` deleted would reopen its caps at the next restart."""
        now = self._clock()
        before = now - self.max_age_days * _DAY if self.max_age_days is not None else float("-inf")
        deleted = self._delete_old(conn, before, self.max_rows, now - SPEND_DAYS * _DAY)
        self._last_prune, self._since_prune = now, 0
        if deleted:
            log.info("decision log %s: retention removed %d decision(s)", self.path, deleted)
        return deleted


def _nothing(conn: Any) -> None:
    return None


def _rows(items: Any) -> int:
    """How many decision rows (not shadow decisions, not commands) ``items`` holds."""
    return sum(1 for i in items if isinstance(i, _Observed) and not isinstance(i, _Shadow))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n", 1)[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file has not seen yet, each in its own transaction; the version reached.

    A file from before versioning (``user_version`` 1 with the first schema) continues at step 2.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for step, script in enumerate(MIGRATIONS, start=1):
        if step <= version:
            continue
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {step}; COMMIT;")
        version = step
    return version


def _attempt_charged(attempt: Any) -> dict[str, Any]:
    """A failed attempt's tokens its upstream had counted (after its 200), and their cost at its target;
    ``estimated`` where they are an estimate (a whole answer given up after it was sent)."""
    usage = getattr(attempt, "charged", None)
    if usage is None:
        return {}
    charged = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": cost_usd(attempt.target.price, usage),
    }
    return {**charged, "estimated": True} if getattr(attempt, "estimated", False) else charged


def _side_charged(target: Target, usage: Usage) -> dict[str, Any]:
    """What routing spent at a target (the classifier's call), in ``attempts_json`` beside the attempts, so the
    readers that move an attempt's cost to its tier move it to ``classifier``; ``outcome`` tells it apart."""
    return {
        "tier": target.tier,
        "backend": target.backend,
        "model": target.model,
        "outcome": ROUTING,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": cost_usd(target.price, usage),
    }


def _row(ts: float, record: RequestRecord, reference: Price) -> tuple[Any, ...]:
    """One ``decisions`` row, in ``_COLUMNS`` order."""
    decision, target = record.decision, record.target
    usage = record.usage if target is not None else None  # no target served it: nothing to price
    charged = record.charged if target is not None else None  # the usage, or an estimate where it had none
    attempts = [
        {
            "tier": a.target.tier,
            "backend": a.target.backend,
            "model": a.target.model,
            "outcome": a.outcome,
            "elapsed_ms": round(a.elapsed_ms, 3),
            "status": a.status,
            "error": a.error,
            **_attempt_charged(a),
        }
        for a in record.attempts
    ]
    attempts += [_side_charged(t, u) for t, u in record.side]  # after the attempts: their own order stays
    spent = record.spent()  # the serving target's charged usage, and what failed attempts had been counted
    row = {
        "decision_id": decision.decision_id,
        "ts": ts,
        "client": record.client,
        "endpoint": record.endpoint,
        "tier": target.tier if target else decision.tier,
        "decided_tier": decision.tier,
        "backend": target.backend if target else None,
        "model": target.model if target else decision.model,
        "band": decision.band,
        "phase": decision.phase,
        "score": decision.score,
        "confidence": decision.confidence,
        "stream": int(record.stream),
        "status": record.status,
        "attempts": render_attempts(record.attempts),
        "attempts_json": _encode(attempts).decode(),
        "attempt_count": len(record.attempts),
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "cost_usd": sum(cost_usd(t.price, u) for t, u in spent) if spent else None,
        "opus_cost_usd": cost_usd(reference, charged) if charged else None,
        "fallback": int(len(record.attempts) > 1 or (target is not None and target.tier != decision.tier)),
        "error": record.error,
        "error_kind": record.error_kind,
        "disconnected": int(record.disconnected),
        "rules_version": decision.rules_version,
        "decision_json": _encode(decision).decode(),
        "session": decision.session or decision.conversation,
        "ask": record.ask,
        "decided_by": decided_by(decision),
        # the upstream's own counts (part of prompt_tokens), NULL with it: the savings baselines price them apart
        "cached_tokens": usage.cached_tokens if usage else None,
        "cache_write_tokens": usage.cache_write_tokens if usage else None,
    }
    return tuple(row[c] for c in _COLUMNS)
