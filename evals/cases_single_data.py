"""Single-turn IDE requests about data work: SQL (Postgres, MySQL) and Python (pandas, SQLAlchemy,
asyncio, Celery, scripts). Local for standard queries, small rewrites, lookups and parametrised tests;
sonnet for query tuning from a plan, deadlocks from the engine's report, known migrations and
pipeline bugs with the evidence pasted; opus for isolation anomalies, distributed locks, exactly-once
pipelines, replication consistency, production schema changes, proofs and open-ended performance."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "data-pg-upsert-keep-created",
        "local",
        "INSERT ... ON CONFLICT DO UPDATE over one table: standard SQL.",
        req(
            u(
                "postgres: insert or update on email conflict. table subscribers(id serial, email text unique, name text, subscribed_at timestamptz default now()). update the name but keep the original subscribed_at"
            )
        ),
        "sql",
        "postgres",
        "single",
        "query",
    ),
    case(
        "data-mysql-weekly-signups",
        "local",
        "A GROUP BY week over one table with a date filter.",
        req(
            u(
                "mysql 8: number of signups per week for the last 12 weeks from users(created_at datetime). weeks start monday, show the week start date"
            )
        ),
        "sql",
        "mysql",
        "single",
        "query",
    ),
    case(
        "data-sql-rownumber-dedupe-explain",
        "local",
        "Explaining a short ROW_NUMBER dedupe query.",
        req(
            u(
                "what is this doing? inherited it and i'm scared to run it\n"
                + code(
                    "sql",
                    """
DELETE FROM contacts
WHERE id IN (
  SELECT id FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY lower(email) ORDER BY updated_at DESC) AS rn
    FROM contacts
  ) t
  WHERE t.rn > 1
);
""",
                )
            )
        ),
        "sql",
        "single",
        "question",
    ),
    case(
        "data-pandas-pivot-months",
        "local",
        "A pivot_table call with fill_value: a pandas lookup.",
        req(
            u(
                "pivot so each month is a column and each region a row, summing revenue. missing should be 0\n"
                + code(
                    "text",
                    """
>>> df.head()
  region    month  revenue
0   EMEA  2024-01   1200.0
1   EMEA  2024-02    980.5
2   APAC  2024-01    400.0
3   AMER  2024-03   2210.0
4   EMEA  2024-01     75.0
""",
                )
            )
        ),
        "python",
        "pandas",
        "single",
        "question",
    ),
    case(
        "data-py-pydantic-model",
        "local",
        "Turning a plain class into a pydantic v2 model with EmailStr is mechanical.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "make this a pydantic v2 model, email should be validated\n"
                + selection(
                    "app/schemas/signup.py",
                    "python",
                    """
class Signup:
    def __init__(self, email, name, age=None, referrer=None):
        self.email = email
        self.name = name
        self.age = age
        self.referrer = referrer
""",
                )
            ),
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "data-py-pathlib-rewrite",
        "local",
        "Rewriting os.walk code with pathlib.rglob is a mechanical edit.",
        req(
            u(
                "rewrite with pathlib\n"
                + code(
                    "python",
                    """
import os

def find_reports(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for fn in filenames:
            if fn.endswith(".csv") and not fn.startswith("tmp_"):
                out.append(os.path.join(dirpath, fn))
    return sorted(out)
""",
                )
            )
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "data-py-argparse-flags",
        "local",
        "Adding two argparse options is a mechanical edit.",
        req(
            s(CONTINUE_CHAT),
            u(
                "add a --dry-run flag and an optional --limit N (int) to this, pass both to backfill()\n"
                + attached(
                    "scripts/backfill_totals.py",
                    "python",
                    """
def main():
    parser = argparse.ArgumentParser(description="Backfill order totals")
    parser.add_argument("since", help="ISO date")
    args = parser.parse_args()
    backfill(since=date.fromisoformat(args.since))
""",
                    lines=(40, 45),
                )
            ),
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "data-py-generator-explain",
        "local",
        "Explaining yield and lazy generators on a ten-line function.",
        req(
            u(
                "whats yield doing here, and why does calling it print nothing in the repl\n"
                + code(
                    "python",
                    """
def batched(rows, n):
    batch = []
    for r in rows:
        batch.append(r)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch

batched(range(10), 3)
""",
                )
            )
        ),
        "python",
        "single",
        "question",
    ),
    case(
        "data-pytest-parametrize",
        "local",
        "Collapsing four copy-pasted tests into one parametrised test is mechanical.",
        req(
            u(
                "collapse these into one parametrized test (keep the error case separate if that's cleaner)\n"
                + code(
                    "python",
                    """
def test_parse_duration_seconds():
    assert parse_duration("45s") == 45

def test_parse_duration_minutes():
    assert parse_duration("3m") == 180

def test_parse_duration_hours():
    assert parse_duration("2h") == 7200

def test_parse_duration_bad():
    with pytest.raises(ValueError):
        parse_duration("2x")
""",
                )
            )
        ),
        "python",
        "single",
        "tests",
    ),
    case(
        "data-py-pickle-lambda",
        "local",
        "Process pools cannot pickle lambdas: move the function to module level or use functools.partial.",
        req(
            u(
                code(
                    "text",
                    """
AttributeError: Can't pickle local object 'main.<locals>.<lambda>'
""",
                )
                + "\n"
                + code(
                    "python",
                    """
def main():
    files = list(Path("data").glob("*.parquet"))
    with ProcessPoolExecutor() as ex:
        results = list(ex.map(lambda p: summarize(p, cols=COLS), files))
    write_report(results)
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
    ),
    case(
        "data-sqli-urgent",
        "local",
        "Despite the urgency, the fix is passing parameters to cursor.execute instead of an f-string.",
        req(
            u(
                "URGENT - security scanner flagged SQL injection in this, we have an audit tomorrow morning\n"
                + code(
                    "python",
                    """
def find_orders(conn, customer_email, status):
    cur = conn.cursor()
    cur.execute(f"SELECT id, total FROM orders WHERE email = '{customer_email}' AND status = '{status}'")
    return cur.fetchall()
""",
                )
                + "\npsycopg2"
            )
        ),
        "python",
        "sql",
        "single",
        "security",
        "misleading",
    ),
    case(
        "data-pandas-iterrows-critical",
        "local",
        "'Performance critical' on an iterrows loop that becomes two vectorised column expressions.",
        req(
            u(
                "PERFORMANCE CRITICAL: this step takes 40s on 300k rows and blocks the whole pipeline, needs optimising\n"
                + code(
                    "python",
                    """
for i, row in df.iterrows():
    df.loc[i, "total"] = row["price"] * row["qty"] * (1 - row["discount"])
    df.loc[i, "is_big"] = df.loc[i, "total"] > 1000
""",
                )
            )
        ),
        "python",
        "pandas",
        "single",
        "performance",
        "misleading",
    ),
    case(
        "data-py-lock-reentry-deadlock",
        "local",
        "'Deadlock in production' from re-acquiring a non-reentrant Lock in the same thread; use RLock or an unlocked helper.",
        req(
            u(
                "DEADLOCK in production!! worker hangs forever when the token expires, py-spy shows it stuck acquiring the lock inside refresh()\n"
                + code(
                    "python",
                    """
class TokenCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._token = None

    def get(self):
        with self._lock:
            if self._token is None or self._token.expired:
                self.refresh()
            return self._token

    def refresh(self):
        with self._lock:
            self._token = fetch_token()
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
        "concurrency",
        "misleading",
    ),
]

SONNET = [
    case(
        "data-pg-or-seqscan",
        "sonnet",
        "Reading an EXPLAIN ANALYZE: the OR across an expression nobody indexed forces a seq scan; needs an expression index (BitmapOr) or a UNION.",
        req(
            u(
                "login lookup is slow (~900ms) even though email and phone are indexed\n"
                + code(
                    "text",
                    """
EXPLAIN (ANALYZE, BUFFERS) SELECT id, password_hash FROM users WHERE lower(email) = lower($1) OR phone = $1;

 Gather  (cost=1000.00..61234.51 rows=2 width=72) (actual time=412.771..893.104 rows=1 loops=1)
   Workers Planned: 2
   Workers Launched: 2
   Buffers: shared hit=2188 read=39021
   ->  Parallel Seq Scan on users  (cost=0.00..60234.31 rows=1 width=72) (actual time=601.334..881.552 rows=0 loops=3)
         Filter: ((lower(email) = lower('ana@example.com'::text)) OR (phone = 'ana@example.com'::text))
         Rows Removed by Filter: 1402117
         Buffers: shared hit=2188 read=39021
 Planning Time: 0.211 ms
 Execution Time: 893.180 ms
""",
                )
                + "\nindexes: users_email_key UNIQUE (email), users_phone_idx (phone). pg 15"
            )
        ),
        "sql",
        "postgres",
        "single",
        "performance",
    ),
    case(
        "data-mysql-transfer-deadlock",
        "sonnet",
        "Deadlock read from SHOW ENGINE INNODB STATUS: opposite lock order in transfers; fix with a consistent row order and a retry.",
        req(
            u(
                "deadlocks on transfers a few times an hour. from SHOW ENGINE INNODB STATUS (0xfa2 = 4002, 0x2399 = 9113):\n"
                + code(
                    "text",
                    """
------------------------
LATEST DETECTED DEADLOCK
------------------------
2024-11-03 10:41:07 0x7f3a2c1f8700
*** (1) TRANSACTION:
TRANSACTION 48291734, ACTIVE 0 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1136, 2 row lock(s), undo log entries 1
MySQL thread id 1187, OS thread handle 139888, query id 8823401 10.0.2.17 app updating
UPDATE accounts SET balance = balance + 2500 WHERE id = 9113
*** (1) HOLDS THE LOCK(S):
RECORD LOCKS space id 212 page no 61 n bits 168 index PRIMARY of table `bank`.`accounts` trx id 48291734 lock_mode X locks rec but not gap
Record lock, heap no 77 PHYSICAL RECORD: n_fields 6; compact format; info bits 0
 0: len 8; hex 0000000000000fa2; asc         ;;
*** (1) WAITING FOR THIS LOCK TO BE GRANTED:
RECORD LOCKS space id 212 page no 88 n bits 160 index PRIMARY of table `bank`.`accounts` trx id 48291734 lock_mode X locks rec but not gap waiting
Record lock, heap no 12 PHYSICAL RECORD: n_fields 6; compact format; info bits 0
 0: len 8; hex 0000000000002399; asc       #;;
*** (2) TRANSACTION:
TRANSACTION 48291735, ACTIVE 0 sec starting index read
UPDATE accounts SET balance = balance + 100 WHERE id = 4002
*** (2) HOLDS THE LOCK(S):
RECORD LOCKS space id 212 page no 88 n bits 160 index PRIMARY of table `bank`.`accounts` trx id 48291735 lock_mode X locks rec but not gap
 0: len 8; hex 0000000000002399; asc       #;;
*** (2) WAITING FOR THIS LOCK TO BE GRANTED:
RECORD LOCKS space id 212 page no 61 n bits 168 index PRIMARY of table `bank`.`accounts` trx id 48291735 lock_mode X locks rec but not gap waiting
 0: len 8; hex 0000000000000fa2; asc         ;;
*** WE ROLL BACK TRANSACTION (2)
""",
                )
                + "\n"
                + code(
                    "python",
                    """
def transfer(conn, src, dst, amount):
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s",
            (amount, src, amount),
        )
        if cur.rowcount != 1:
            conn.rollback()
            raise InsufficientFunds(src)
        cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst))
    conn.commit()
""",
                )
            )
        ),
        "sql",
        "mysql",
        "python",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "data-sqlalchemy-2-port",
        "sonnet",
        "A known migration (SQLAlchemy 1.x Query API to 2.0 select/Mapped), including backref and bulk update changes.",
        req(
            s(project_chat("python 3.12, sqlalchemy 1.4 -> 2.0, alembic, postgres")),
            u(
                "port this to 2.0 style (select(), session.execute/scalars, Mapped[] annotations). we turned on SQLALCHEMY_WARN_20 and it's all red\n"
                + attached(
                    "app/orders/repo.py",
                    "python",
                    """
class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    status = Column(String(20), default="new")
    created_at = Column(DateTime, server_default=func.now())
    customer = relationship("Customer", backref="orders")


def recent_orders(session, customer_id, limit=20):
    return (
        session.query(Order)
        .filter(Order.customer_id == customer_id)
        .filter(Order.status != "void")
        .order_by(Order.created_at.desc())
        .limit(limit)
        .all()
    )


def count_by_status(session):
    return dict(session.query(Order.status, func.count(Order.id)).group_by(Order.status).all())


def void_old(session, before):
    n = (
        session.query(Order)
        .filter(Order.created_at < before, Order.status == "new")
        .update({"status": "void"}, synchronize_session=False)
    )
    session.commit()
    return n
""",
                )
            ),
        ),
        "python",
        "sql",
        "single",
        "migration",
    ),
    case(
        "data-pandas-chunked-p95",
        "sonnet",
        "Out-of-core aggregation where count and mean merge across chunks but p95 does not: needs a streaming engine or a sketch, and a 7B tends to average percentiles silently.",
        req(
            u(
                "MemoryError loading a 14GB csv on a 16GB box. i only need per merchant and month: count, mean and p95 of amount\n"
                + code(
                    "python",
                    """
df = pd.read_csv("tx_2024.csv", parse_dates=["ts"])
df["month"] = df.ts.dt.to_period("M")
out = df.groupby(["merchant_id", "month"]).amount.agg(["count", "mean", lambda s: s.quantile(0.95)])
out.to_parquet("merchant_stats.parquet")
""",
                )
                + "\ncolumns: tx_id, ts, merchant_id, customer_id, amount, currency, country, mcc, status (~180M rows, ~40k merchants)"
            )
        ),
        "python",
        "pandas",
        "single",
        "performance",
    ),
    case(
        "data-pg-sessionize",
        "sonnet",
        "Gaps-and-islands sessionisation with window functions and per-day aggregates: several steps where off-by-one errors are silent.",
        req(
            s(COPILOT_LIKE),
            u(
                "clickstream table events(user_id bigint, ts timestamptz, path text). i need sessions: a new session starts when the gap since that user's previous event is over 30 min. output per day: number of sessions, median session length in seconds, avg events per session. postgres 15"
            ),
        ),
        "sql",
        "postgres",
        "single",
        "query",
    ),
    case(
        "data-aiohttp-gather-fds",
        "sonnet",
        "Asyncio debugging from a traceback: a session per request exhausts file descriptors, gather without a bound or return_exceptions loses all results.",
        req(
            u(
                "scraper falls over at around 1000 urls\n"
                + code(
                    "text",
                    """
Traceback (most recent call last):
  File "/app/fetch.py", line 31, in <module>
    asyncio.run(main(urls))
  File "/usr/lib/python3.11/asyncio/runners.py", line 190, in run
    return runner.run(main)
  ...
  File "/app/fetch.py", line 26, in main
    results = await asyncio.gather(*(fetch(u) for u in urls))
  File "/app/fetch.py", line 15, in fetch
    async with s.get(url, timeout=aiohttp.ClientTimeout(total=30)) as r:
  ...
aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host cdn.example.org:443 ssl:default [Too many open files]
""",
                )
                + "\n"
                + code(
                    "python",
                    """
async def fetch(url):
    async with aiohttp.ClientSession() as s:
        async with s.get(url, timeout=aiohttp.ClientTimeout(total=30)) as r:
            return url, r.status, await r.read()

async def main(urls):
    results = await asyncio.gather(*(fetch(u) for u in urls))
    for url, status, body in results:
        save(url, status, body)
""",
                )
                + "\nalso one bad url kills the whole run and i lose everything fetched so far"
            )
        ),
        "python",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "data-celery-eta-visibility",
        "sonnet",
        "Duplicate Celery runs exactly an hour apart for long-countdown tasks: the Redis broker's visibility timeout redelivers them; the evidence points at a known setting.",
        req(
            u(
                "some celery tasks run twice. it's only the ones scheduled with a countdown of several hours\n"
                + code(
                    "text",
                    """
[2024-11-03 09:00:02,114: INFO/MainProcess] Task reports.send_digest[8f2c61d0-5b1e-4d8a-a0c3-3f1b9e0c77e1] received
[2024-11-03 10:00:05,873: INFO/MainProcess] Task reports.send_digest[8f2c61d0-5b1e-4d8a-a0c3-3f1b9e0c77e1] received
[2024-11-03 15:00:00,412: INFO/ForkPoolWorker-3] Task reports.send_digest[8f2c61d0-5b1e-4d8a-a0c3-3f1b9e0c77e1] succeeded in 3.1s: None
[2024-11-03 15:00:00,598: INFO/ForkPoolWorker-1] Task reports.send_digest[8f2c61d0-5b1e-4d8a-a0c3-3f1b9e0c77e1] succeeded in 3.0s: None
""",
                )
                + "\nbroker is redis, celery 5.3, task_acks_late=True, default broker_transport_options, 2 worker hosts"
            )
        ),
        "python",
        "single",
        "debug",
    ),
    case(
        "data-fastapi-upload-service-design",
        "sonnet",
        "API and job-state design for one service (uploads, validation reports, cancel); several decisions, no cross-service invariants.",
        req(
            u(
                "designing a FastAPI service where customers upload CSVs (up to 2GB), we validate them against a per-customer schema and load them into their warehouse table. needs: upload (resumable would be nice), job status, validation error report, cancel. one service + postgres + s3 + a worker. endpoints, pydantic models for the main payloads, and the job state machine?"
            )
        ),
        "python",
        "single",
        "design",
    ),
    case(
        "data-pg-jsonb-containment",
        "sonnet",
        "JSONB containment query plus choosing a GIN operator class that actually serves it on a large table.",
        req(
            u(
                'users.settings is jsonb like {"notifications": {"email": true, "push": false}, "tags": ["beta", "eu"]}. need all users where notifications.email is true AND tags contains "beta". 8M rows, runs every minute. query + the right index pls'
            )
        ),
        "sql",
        "postgres",
        "single",
        "query",
        "performance",
    ),
    case(
        "data-psycopg-repo-tests",
        "sonnet",
        "Integration tests with per-test rollback where a UniqueViolation aborts the transaction: needs savepoints, a trap small models miss.",
        req(
            u(
                "write pytest tests for this repo against a real postgres (docker in CI). each test should run in a transaction that's rolled back. cover the duplicate sku path and the pagination cursor\n"
                + code(
                    "python",
                    """
class ProductRepo:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def create(self, sku: str, name: str, price_cents: int) -> int:
        try:
            with self.conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO products (sku, name, price_cents) VALUES (%s, %s, %s) RETURNING id",
                    (sku, name, price_cents),
                )
                return cur.fetchone()[0]
        except psycopg.errors.UniqueViolation:
            raise DuplicateSku(sku) from None

    def page(self, after_id: int | None, limit: int = 50) -> list[dict]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT id, sku, name, price_cents FROM products WHERE id > %s ORDER BY id LIMIT %s",
                (after_id or 0, limit),
            )
            return cur.fetchall()
""",
                )
            )
        ),
        "python",
        "sql",
        "single",
        "tests",
    ),
]

OPUS = [
    case(
        "data-pg-repeatable-read-write-skew",
        "opus",
        "'Quick q' on an invariant check under REPEATABLE READ: write skew lets two engineers go off call together; needs SERIALIZABLE or a lock on the set.",
        req(
            u(
                "quick q: we're on repeatable read so this check is safe, right? rule is at least one on-call engineer per team at all times\n"
                + code(
                    "python",
                    """
def go_off_call(conn, engineer_id, team_id):
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    with conn.transaction():
        n = conn.execute(
            "SELECT count(*) FROM oncall WHERE team_id = %s AND active", (team_id,)
        ).fetchone()[0]
        if n <= 1:
            raise LastOnCall(team_id)
        conn.execute(
            "UPDATE oncall SET active = false WHERE engineer_id = %s AND team_id = %s",
            (engineer_id, team_id),
        )
""",
                )
                + "\npostgres 15, psycopg 3"
            )
        ),
        "python",
        "sql",
        "postgres",
        "single",
        "concurrency",
        "isolation",
        "misleading",
    ),
    case(
        "data-advisory-lock-pgbouncer",
        "opus",
        "Distributed lock safety: session advisory locks through transaction pooling land on arbitrary server sessions (re-entrant for strangers, unlock elsewhere), and nothing fences the job.",
        req(
            u(
                "is this fine for making sure only one worker runs the nightly billing job? workers on 3 hosts, they connect through pgbouncer (pool_mode = transaction)\n"
                + code(
                    "python",
                    """
# pool = ConnectionPool(PGBOUNCER_DSN, kwargs={"autocommit": True})

def run_exclusive(job):
    with pool.connection() as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (job.name,)).fetchone()[0]
        if not got:
            log.info("%s already running elsewhere", job.name)
            return
        try:
            job.run()  # 20-40 min, uses its own connections
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (job.name,))
""",
                )
            )
        ),
        "python",
        "postgres",
        "single",
        "distributed",
        "misleading",
    ),
    case(
        "data-kafka-dedupe-restart",
        "opus",
        "Exactly-once analysis across restarts and rebalances: the seen-set snapshot lags offset commits, replicas overwrite one snapshot, and auto-commit can skip; needs idempotent writes in the ledger.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "our python consumer dedupes payment events before writing to the ledger table. after a deploy (restart) we found duplicate ledger rows. is the design wrong or is it just a bug?\n"
                + attached(
                    "ledger/consume.py",
                    "python",
                    """
seen: set[str] = load_seen_ids()  # from an s3 snapshot
last_snapshot = time.monotonic()

for msg in consumer:  # kafka, enable_auto_commit=True, auto_commit_interval_ms=5000
    ev = json.loads(msg.value)
    if ev["event_id"] in seen:
        continue
    ledger.insert(ev)  # autocommit insert into postgres
    seen.add(ev["event_id"])
    if time.monotonic() - last_snapshot > 60:
        save_seen_ids(seen)  # overwrites the s3 snapshot
        last_snapshot = time.monotonic()
""",
                )
                + "\nwe run 3 replicas in the same consumer group"
            ),
        ),
        "python",
        "single",
        "distributed",
    ),
    case(
        "data-largest-remainder-proof",
        "opus",
        "A written proof (sum exactness, per-part error below one cent, edge cases like negative totals) about an allocation routine.",
        req(
            u(
                "we split invoice totals across cost centers by weight with this. finance wants a written argument that (1) parts always sum exactly to the total and (2) no part is off from its exact share by a cent or more. can you prove it, or break it?\n"
                + code(
                    "python",
                    """
def allocate(total_cents: int, weights: list[int]) -> list[int]:
    W = sum(weights)
    exact = [total_cents * w for w in weights]  # shares, scaled by W
    parts = [e // W for e in exact]
    rema = [e % W for e in exact]
    short = total_cents - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: rema[i], reverse=True)
    for i in order[:short]:
        parts[i] += 1
    return parts
""",
                )
                + "\ntotals can be negative (credit notes). weights are positive ints"
            )
        ),
        "python",
        "single",
        "proof",
    ),
    case(
        "data-outbox-vs-cdc-design",
        "opus",
        "Cross-service event publication with invariants (no loss, no phantom events, per-key order, effectively-once effects) through crashes, duplicate relays and rebalances.",
        req(
            u(
                "we want to publish domain events from our postgres-backed order service to kafka for 4 downstream consumers. requirements: no event lost if the service crashes after commit, no event for a rolled-back txn, per-order ordering preserved, consumers may see duplicates but their side effects must happen once. we're weighing an outbox table polled by a relay vs debezium on the WAL. walk me through the design and the failure cases: relay crash mid-batch, two relay instances running, producer retries, consumer rebalance"
            )
        ),
        "sql",
        "postgres",
        "single",
        "design",
        "distributed",
    ),
    case(
        "data-pg-int-to-bigint-online",
        "opus",
        "Production schema change on a 1.4TB table with six foreign keys, logical replication and a one-minute write budget: a cross-cutting plan with invariants.",
        req(
            u(
                "orders.id is int4 and we're at 1.9B. need bigint. table is 1.4TB, 6 tables have FKs to it (order_items alone is 5B rows), ~3k writes/s, logical replication to the analytics db, and we can afford maybe 1 minute of write downtime in total. plan?"
            )
        ),
        "sql",
        "postgres",
        "single",
        "migration",
        "design",
    ),
    case(
        "data-replica-read-your-writes",
        "opus",
        "Read-your-writes over async replicas: a fixed pin window fails under lag spikes and across devices; the sound answer uses GTID positions or causal tokens.",
        req(
            u(
                "we route reads to mysql replicas. users complain that after saving their profile they still see the old one. proposal from the team: after any write, pin that user's reads to the primary for 2 seconds (via a cookie). replication lag is usually under 200ms. good enough, or is there a better approach?"
            )
        ),
        "sql",
        "mysql",
        "single",
        "distributed",
        "design",
    ),
    case(
        "data-pg-upgrade-batch-slow",
        "opus",
        "Open-ended database performance investigation after an upgrade, from symptoms only (stats, configuration and vacuum are all candidates).",
        req(
            u(
                "after pg 13 -> 16 (pg_upgrade --link, same hardware) our nightly batch went from ~20 min to 3h+. the main query's EXPLAIN has the same shape as before. iowait is high during the batch, autovacuum is running on several big tables at once, and checkpoints show up way more often in the logs. nothing else changed that we know of. how should i go about this?"
            )
        ),
        "sql",
        "postgres",
        "single",
        "performance",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
