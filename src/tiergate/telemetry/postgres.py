"""The decision log in PostgreSQL: every replica and worker of a team writes one log.

``server.decision_log.url: postgresql://…`` selects it; SQLite stays the default. It is the SQLite
:class:`~tiergate.telemetry.decisions.DecisionLog` (the same rows, the same writer thread with its queue,
batches and retention, the same feedback path) with its SQL seams written for psycopg 3. The writer's
connection reconnects by itself when the server restarts: a connection-level error (``OperationalError``,
``InterfaceError``) keeps the batch, and the writer tries again with a growing delay (``DecisionLog``'s
outage handling), logging once when the outage starts and once when writing resumes. Opened with
``connect_later`` (as the gateway does), a server not up yet is no error: the writer connects and
migrates when it answers. A malformed URL is a DecisionLogError at once.

A write never hangs unseen. Its connection has TCP keepalives (a server whose host or network went away
silently is a broken connection within about a minute) and each write transaction a ``lock_timeout`` of
``lock_wait`` seconds (another session's ``LOCK TABLE``, ``ALTER TABLE`` or ``VACUUM FULL`` on the log's
tables): either fails the write into the outage path, its rows kept and retried. The ``lock_timeout`` is
``SET LOCAL`` in each transaction, never on the session: behind PgBouncer in transaction pooling a session
setting would stay on a server connection other clients get next, and would be missing from the server
connection the next transaction gets. An operator's own ``lock_timeout`` (``options=-c lock_timeout=…``
in the URL, ``PGOPTIONS``, ``ALTER ROLE``/``ALTER DATABASE … SET``, ``postgresql.conf``: any source but
the server's default) is kept: none is set then. Neither cuts a write that is slow, only one that
waits: keepalives are answered by the server's kernel however long a statement runs, and ``lock_timeout``
counts only time spent waiting for a lock, never the time a big retention delete takes on a slow disk
(retention waits for locks without a bound: two replicas pruning the same old rows wait for each other).
What still holds a write (a server that takes it and never answers) shows in ``health()`` after
``stall_after`` seconds. A setting the URL or its ``service`` gives (``connect_timeout``, ``keepalives_idle``…) is kept.

Schema changes are versioned as in SQLite: ``MIGRATIONS`` is applied in order at start, each step in its
own transaction, under an advisory lock so replicas starting together migrate once; the table
``tiergate_schema`` records the version reached.

    dlog = PostgresDecisionLog.open("postgresql://tiergate@db:5432/tiergate", max_rows=10_000_000)
    gateway.observers.append(dlog)
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tiergate.redact import redact_url, redact_url_error
from tiergate.telemetry.decisions import _COLUMNS, _SHADOW_COLUMNS, DecisionLog, DecisionLogError
from tiergate.telemetry.queries import DecisionQueries
from tiergate.telemetry.sql_queries import PsycopgRunner, SqlQueries, unless_given

log = logging.getLogger("tiergate.decisions")

#: Versioned schema changes, applied in order at start. Never edit a step that has shipped: add the next one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS decisions (
        decision_id       TEXT PRIMARY KEY,
        ts                DOUBLE PRECISION NOT NULL,
        client            TEXT NOT NULL,
        endpoint          TEXT NOT NULL,
        tier              TEXT NOT NULL,
        decided_tier      TEXT NOT NULL,
        backend           TEXT,
        model             TEXT NOT NULL,
        band              TEXT NOT NULL,
        phase             TEXT NOT NULL,
        score             DOUBLE PRECISION NOT NULL,
        confidence        DOUBLE PRECISION NOT NULL,
        stream            INTEGER NOT NULL,
        status            INTEGER NOT NULL,
        attempts          TEXT NOT NULL,
        attempts_json     TEXT NOT NULL,
        attempt_count     INTEGER NOT NULL,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        latency_ms        DOUBLE PRECISION NOT NULL,
        ttft_ms           DOUBLE PRECISION,
        cost_usd          DOUBLE PRECISION,
        opus_cost_usd     DOUBLE PRECISION,
        fallback          INTEGER NOT NULL,
        error             TEXT,
        error_kind        TEXT,
        disconnected      INTEGER NOT NULL,
        rules_version     TEXT NOT NULL,
        decision_json     TEXT NOT NULL,
        session           TEXT,
        ask               TEXT
    );
    CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts);
    CREATE INDEX IF NOT EXISTS decisions_session ON decisions (session);
    CREATE TABLE IF NOT EXISTS feedback (
        id          BIGSERIAL PRIMARY KEY,
        decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
        ts          DOUBLE PRECISION NOT NULL,
        client      TEXT,
        rating      INTEGER NOT NULL,
        comment     TEXT
    );
    CREATE INDEX IF NOT EXISTS feedback_decision ON feedback (decision_id);
    """,
    """
    ALTER TABLE decisions ADD COLUMN IF NOT EXISTS decided_by TEXT;
    CREATE TABLE IF NOT EXISTS shadow_decisions (
        decision_id   TEXT PRIMARY KEY REFERENCES decisions (decision_id) ON DELETE CASCADE,
        ts            DOUBLE PRECISION NOT NULL,
        file          TEXT NOT NULL,
        rules_version TEXT NOT NULL,
        tier          TEXT NOT NULL,
        model         TEXT NOT NULL,
        band          TEXT NOT NULL,
        phase         TEXT NOT NULL,
        decided_by    TEXT NOT NULL,
        score         DOUBLE PRECISION NOT NULL,
        cost_usd      DOUBLE PRECISION,
        decision_json TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS shadow_decisions_ts ON shadow_decisions (ts);
    """,
    """
    ALTER TABLE decisions ADD COLUMN IF NOT EXISTS cached_tokens INTEGER;
    ALTER TABLE decisions ADD COLUMN IF NOT EXISTS cache_write_tokens INTEGER;
    """,
)

#: Any constant: replicas starting at once take this lock, so one of them migrates.
MIGRATION_LOCK = 0x7469_6572_6761_7465 >> 1

_INSERT = (
    f"INSERT INTO decisions ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
    "ON CONFLICT (decision_id) DO NOTHING"
)
#: SQLite's ``INSERT OR REPLACE … WHERE EXISTS``: kept only beside its live row; a second candidate replaces the first.
_INSERT_SHADOW = (
    f"INSERT INTO shadow_decisions ({', '.join(_SHADOW_COLUMNS)}) "
    f"SELECT {', '.join(['%s'] * len(_SHADOW_COLUMNS))} WHERE EXISTS (SELECT 1 FROM decisions WHERE decision_id = %s) "
    "ON CONFLICT (decision_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _SHADOW_COLUMNS if c != "decision_id")
)


#: The writer's connection settings, each unless the URL sets it: a connection attempt gives up after 10 s
#: (psycopg counts it whole), and a peer silent for 30 s is probed every 10 s and given up after 3 probes
#: unanswered, or after 60 s with data sent and not acknowledged.
WRITER_SETTINGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


def connect(url: str) -> psycopg.Connection[Any]:
    """The writer's connection, with :data:`WRITER_SETTINGS` where the URL gives none."""
    return psycopg.connect(url, autocommit=True, **unless_given(url, WRITER_SETTINGS))


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply the steps this database has not seen, each in its own transaction; the version reached.

    A session-level advisory lock is held throughout, so replicas that start together take turns: the
    first migrates, the others find the version already reached."""
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS tiergate_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM tiergate_schema").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        for step, script in enumerate(MIGRATIONS, start=1):
            if step <= version:
                continue
            with conn.transaction():
                conn.execute(script)
                conn.execute("INSERT INTO tiergate_schema (version) VALUES (%s)", (step,))
            version = step
        return version
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def operators_lock_timeout(conn: psycopg.Connection[Any]) -> bool:
    """Whether the connection's ``lock_timeout`` comes from anything but the server's default: the URL's
    ``options``, ``PGOPTIONS``, ``ALTER ROLE``/``ALTER DATABASE … SET`` or ``postgresql.conf``."""
    try:
        row = conn.execute("SELECT source FROM pg_settings WHERE name = 'lock_timeout'").fetchone()
    except psycopg.errors.InsufficientPrivilege:  # a hardened site revokes the view: bound each write anyway
        return False
    return row is not None and row[0] != "default"


class _Session:
    """The writer's connection, opened again when the server went away."""

    def __init__(self, url: str, *, lock_wait: float) -> None:
        self.url, self.lock_wait = url, lock_wait
        self.bound: str | None = None  # the statement that bounds a write's lock waits, unless the operator's
        self.conn = self._open()

    def _open(self) -> psycopg.Connection[Any]:
        """Connected and migrated (the database may be a new one; the migration's advisory lock waits for
        another replica's migration however long it takes), then asked once whether the operator bounds lock
        waits already: if not, each write transaction is bounded (:meth:`begin`)."""
        conn = connect(self.url)
        try:
            migrate(conn)
            kept = operators_lock_timeout(conn)
        except BaseException:
            conn.close()
            raise
        self.bound = None if kept else f"SET LOCAL lock_timeout = {max(1, round(self.lock_wait * 1000))}"
        return conn

    def begin(self) -> None:
        """A write transaction on a working connection, its waits for a lock bounded by ``lock_wait`` (only
        this transaction's: ``SET LOCAL``) unless the operator's ``lock_timeout`` applies."""
        conn = self.fresh()
        conn.execute("BEGIN")
        if self.bound is not None:
            conn.execute(self.bound)

    def fresh(self) -> psycopg.Connection[Any]:
        """The connection, opened again if it broke."""
        if self.conn.closed or self.conn.broken:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = self._open()
            log.debug("decision log %s: connected again", redact_url(self.url))
        return self.conn

    def close(self) -> None:
        self.conn.close()


class PostgresDecisionLog(DecisionLog):
    CONNECT_ERRORS = (psycopg.Error, OSError)

    @staticmethod
    def _where(path: Any) -> str:
        return str(path)

    @classmethod
    def _check(cls, path: str | Any) -> None:
        """A URL no retry can fix (an unknown parameter, a port that is not a number) fails at once.

        libpq's complaint quotes what it could not read, often the password (``invalid percent-encoded
        token: "..."``), and a port read from a password with ``/`` in it is a piece of it: both are shown
        through :func:`redact_url_error`."""
        url = str(path)
        try:
            ports = str(conninfo_to_dict(url).get("port") or "5432")
        except psycopg.Error as exc:
            raise DecisionLogError(
                f"decision log {redact_url(url)}: {redact_url_error(url, str(exc).strip())}"
            ) from None
        if not all(p.isdigit() and 0 < int(p) < 65536 for p in ports.split(",") if p):
            why = redact_url_error(url, f"the port {ports!r} is not a port number")
            raise DecisionLogError(f"decision log {redact_url(url)}: {why}")

    def _is_outage(self, exc: BaseException) -> bool:
        """The server is away, restarting, out of disk or refusing connections: try again later.

        Anything else (a value PostgreSQL refuses, a missing privilege) is about the data or the setup."""
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError))

    def __init__(self, path: Any, **kw: Any) -> None:
        super().__init__(str(path), **kw)
        self.url = str(path)
        self.path = redact_url(self.url)  # what messages show

    def _stale(self, conn: Any) -> bool:
        """Only a connection that broke: a write cut by ``lock_timeout`` would wait as long again at once."""
        return bool(conn.conn.closed or conn.conn.broken)

    def _error_text(self, exc: BaseException) -> str:
        """libpq quotes the host it could not resolve, which is a piece of the password when the password
        holds an unencoded ``@`` (``failed to resolve host 'Tail@db'``): shown through :func:`redact_url_error`."""
        return redact_url_error(self.url, super()._error_text(exc))

    def queries(self) -> DecisionQueries:
        """The console's read side: the same statements as on SQLite, on a read-only snapshot of the server."""
        return SqlQueries(PsycopgRunner(self.url))

    def _connect(self) -> Any:
        return _Session(self.url, lock_wait=self._lock_wait)

    def _begin(self, conn: Any) -> None:
        conn.begin()

    def _rollback(self, conn: Any) -> None:
        conn.conn.execute("ROLLBACK")

    def _commit(self, conn: Any) -> None:
        conn.conn.execute("COMMIT")

    def _feedback(
        self, conn: Any, decision_id: str, ts: float, client: str | None, rating: int, comment: str | None
    ) -> bool:
        pg = conn.conn
        if pg.execute("SELECT 1 FROM decisions WHERE decision_id = %s", (decision_id,)).fetchone() is None:
            return False
        pg.execute(
            "INSERT INTO feedback (decision_id, ts, client, rating, comment) VALUES (%s, %s, %s, %s, %s)",
            (decision_id, ts, client, rating, comment),
        )
        return True

    def _insert_rows(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        with conn.conn.cursor() as cur:
            cur.executemany(_INSERT, rows)

    def _insert_shadow(self, conn: Any, row: tuple[Any, ...]) -> None:
        conn.conn.execute(_INSERT_SHADOW, row)

    def _delete_old(self, conn: Any, before: float, max_rows: int | None, spend_since: float) -> int:
        pg = conn.conn
        pg.execute("SET LOCAL lock_timeout = 0")  # another replica deleting the same rows: wait for it (see above)
        deleted = 0
        if before > float("-inf"):
            deleted += pg.execute("DELETE FROM decisions WHERE ts < %s", (before,)).rowcount
        if max_rows is not None:
            deleted += pg.execute(
                "DELETE FROM decisions WHERE ts < %s AND decision_id IN "
                "(SELECT decision_id FROM decisions ORDER BY ts DESC, decision_id DESC OFFSET %s)",
                (spend_since, max_rows),
            ).rowcount
        return deleted
