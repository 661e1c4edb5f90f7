"""Long pasted context: logs, modules, diffs, specs. Length alone does not make a request hard, but
past ~30k characters the local model's answers degrade, so those are at least sonnet."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

import json
import random

from fixtures import (
    CONTINUE_CHAT,
    a,
    case,
    code,
    go_file,
    java_trace,
    json_blob,
    log_lines,
    python_module,
    req,
    s,
    u,
    unified_diff,
)


def _pool_exhaustion_log() -> str:
    needle = [
        "WARN  [orders-api] [worker-3] db pool acquired conn=16 wait=2870ms",
        "WARN  [orders-api] [worker-5] db pool exhausted: 16/16 in use, 41 waiting",
        'ERROR [orders-api] [worker-5] GET /api/v1/orders/88123 502 30004ms upstream=db error="timeout acquiring connection"',
        'ERROR [orders-api] [worker-1] POST /api/v1/payments 502 30001ms upstream=db error="timeout acquiring connection"',
        "INFO  [orders-api] [worker-2] scheduled job export-ledger started (batch=50000, tx=single)",
    ]
    return log_lines(520, 11, needle, at=0.62)


def _csv_sample() -> str:
    rng = random.Random(5)
    rows = ["order_id,date,region,sku,qty,unit_price,currency"]
    for i in range(260):
        rows.append(
            f"{100000 + i},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
            f"{rng.choice(['EU', 'US', 'APAC', 'LATAM'])},SKU-{rng.randint(100, 999)},{rng.randint(1, 9)},"
            f"{rng.uniform(2, 300):.2f},{rng.choice(['EUR', 'USD'])}"
        )
    return "\n".join(rows)


def _openapi_spec() -> str:
    paths = {}
    for noun in ["orders", "customers", "invoices", "shipments", "products", "refunds", "webhooks", "users"]:
        item = {
            "type": "object",
            "required": ["id", "created_at"],
            "properties": {
                "id": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "status": {"type": "string", "enum": ["draft", "active", "archived"]},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "amount": {"type": "integer", "description": "minor units"},
            },
        }
        paths[f"/v2/{noun}"] = {
            "get": {
                "operationId": f"list_{noun}",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "data": {"type": "array", "items": item},
                                        "next_cursor": {"type": ["string", "null"]},
                                    },
                                }
                            }
                        }
                    }
                },
            },
            "post": {
                "operationId": f"create_{noun[:-1]}",
                "requestBody": {"content": {"application/json": {"schema": item}}},
                "responses": {
                    "201": {"content": {"application/json": {"schema": item}}},
                    "409": {"description": "conflict"},
                },
            },
        }
        paths[f"/v2/{noun}/{{id}}"] = {
            "get": {
                "operationId": f"get_{noun[:-1]}",
                "responses": {
                    "200": {"content": {"application/json": {"schema": item}}},
                    "404": {"description": "not found"},
                },
            },
            "patch": {
                "operationId": f"update_{noun[:-1]}",
                "requestBody": {"content": {"application/merge-patch+json": {"schema": item}}},
                "responses": {"200": {"description": "ok"}},
            },
            "delete": {"operationId": f"delete_{noun[:-1]}", "responses": {"204": {"description": "deleted"}}},
        }
    return json.dumps({"openapi": "3.1.0", "info": {"title": "Acme API", "version": "2.3.0"}, "paths": paths}, indent=2)


def _cache_locking_diff() -> str:
    hunks = []
    for i in range(26):
        hunks.append(
            (
                f"""func (c *Cache) Get{i}(k string) (V, bool) {{
    c.mu.RLock()
    defer c.mu.RUnlock()
    e, ok := c.m[k]
    if !ok || e.expired() {{
        return zero, false
    }}
    return e.v, true
}}""",
                f"""func (c *Cache) Get{i}(k string) (V, bool) {{
    sh := c.shard(k)
    sh.mu.RLock()
    e, ok := sh.m[k]
    sh.mu.RUnlock()
    if !ok {{
        return zero, false
    }}
    if e.expired() {{
        sh.mu.Lock()
        delete(sh.m, k)
        sh.mu.Unlock()
        return zero, false
    }}
    e.hits++
    c.lru.MoveToFront(e.elem)
    return e.v, true
}}""",
            )
        )
    shard = [
        (
            """type Cache struct {
    mu sync.RWMutex
    m  map[string]*entry
    lru *list.List
}""",
            """type Cache struct {
    shards [64]struct {
        mu sync.RWMutex
        m  map[string]*entry
    }
    lru *list.List // shared across shards; guarded by the shard lock of the entry being moved
}""",
        )
    ]
    return unified_diff([("internal/cache/cache.go", shard + hunks[:13]), ("internal/cache/cache_get.go", hunks[13:])])


def _readme_with_typos() -> str:
    rng = random.Random(9)
    words = [
        "the service recieves events from the queue and writes them to the database",
        "configuration is read from enviroment variables and seperate files",
        "each worker proccesses one partition at a time and commits offsets after sucessful writes",
        "",
    ]
    sections = []
    for i in range(40):
        body = " ".join(rng.choice(words).strip().capitalize() + "." for _ in range(6))
        sections.append(f"## Section {i + 1}\n\n{body}\n")
    return "# Ingest service\n\n" + "\n".join(sections)


def _schema_dump() -> str:
    rng = random.Random(21)
    tables = [
        "customers",
        "addresses",
        "orders",
        "order_lines",
        "products",
        "categories",
        "product_categories",
        "warehouses",
        "stock_levels",
        "shipments",
        "shipment_lines",
        "invoices",
        "payments",
        "refunds",
        "coupons",
        "coupon_redemptions",
        "users",
        "roles",
        "user_roles",
        "audit_log",
    ]
    out = []
    for t in tables:
        cols = ["  id bigserial PRIMARY KEY"]
        for ref in rng.sample(tables, 2):
            if ref != t:
                cols.append(f"  {ref[:-1]}_id bigint REFERENCES {ref}(id)")
        for j in range(rng.randint(4, 9)):
            cols.append(
                f"  {rng.choice(['name', 'code', 'status', 'amount', 'note', 'qty', 'price', 'kind'])}_{j} "
                f"{rng.choice(['text', 'numeric(12,2)', 'integer', 'timestamptz', 'boolean'])}"
            )
        cols.append("  created_at timestamptz NOT NULL DEFAULT now()")
        out.append(f"CREATE TABLE {t} (\n" + ",\n".join(cols) + "\n);\n")
        out.append(f"CREATE INDEX {t}_created_at_idx ON {t}(created_at);\n")
    return "\n".join(out)


def _dist_lock_impl() -> str:
    body = '''
class LeaseLock:
    """Mutual exclusion across workers using a row in postgres with a lease."""

    def __init__(self, conn, name, ttl=30.0, clock=time.monotonic):
        self.conn, self.name, self.ttl, self.clock = conn, name, ttl, clock
        self.token = None
        self.acquired_at = None

    def acquire(self):
        now = datetime.utcnow()
        with self.conn.cursor() as cur:
            cur.execute(
                """UPDATE locks SET holder = %s, expires_at = %s
                   WHERE name = %s AND (holder IS NULL OR expires_at < %s)
                   RETURNING fence""",
                (WORKER_ID, now + timedelta(seconds=self.ttl), self.name, now),
            )
            row = cur.fetchone()
        self.conn.commit()
        if row is None:
            return False
        self.token = row[0]
        self.acquired_at = self.clock()
        return True

    def still_held(self):
        return self.acquired_at is not None and self.clock() - self.acquired_at < self.ttl

    def release(self):
        with self.conn.cursor() as cur:
            cur.execute("UPDATE locks SET holder = NULL WHERE name = %s AND holder = %s", (self.name, WORKER_ID))
        self.conn.commit()
        self.acquired_at = None
'''
    filler = python_module(70, 31)
    return filler + "\n\n" + body


CASES = [
    case(
        "long-log-502-root-cause",
        "sonnet",
        "Find the cause of 502s in a ~45k-character log: pool exhaustion coinciding with a single-transaction export job.",
        req(
            u(
                "we got a burst of 502s around 14:31. here's the log, what's the root cause?\n"
                + code("text", _pool_exhaustion_log())
            )
        ),
        "logs",
        "long",
    ),
    case(
        "long-module-docstrings",
        "sonnet",
        "Docstrings for every function of a ~38k-character module: simple per function, but past the local model's comfortable context.",
        req(
            u(
                "add docstrings to every function in this module, keep the code unchanged\n"
                + code("python", python_module(140, 3))
            )
        ),
        "python",
        "long",
        "edit",
    ),
    case(
        "medium-module-summary",
        "local",
        "A short summary of a ~9k-character module of plain functions.",
        req(s(CONTINUE_CHAT), u("briefly, what does this module do?\n" + code("python", python_module(30, 4)))),
        "python",
        "long",
        "question",
    ),
    case(
        "medium-json-to-yaml",
        "local",
        "Mechanical format conversion of a ~12k-character JSON document.",
        req(u("convert this to yaml\n" + code("json", json_blob(40, 2)))),
        "yaml",
        "long",
        "format",
    ),
    case(
        "medium-java-trace-meaning",
        "local",
        "Explain what a stack trace's root cause line means (pool timeout).",
        req(
            u(
                "what does this error mean?\n"
                + code(
                    "text",
                    java_trace(
                        70,
                        8,
                        "org.springframework.transaction.CannotCreateTransactionException: Could not open JPA EntityManager for transaction",
                    )
                    + "\nCaused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                )
            )
        ),
        "java",
        "long",
        "question",
    ),
    case(
        "long-go-add-tracing",
        "sonnet",
        "Add tracing spans to every method of a ~40k-character file: routine but long.",
        req(
            u(
                'add opentelemetry spans (tracer.Start(ctx, "Store.<Method>")) to every exported method in this file, record errors on the span\n'
                + code("go", go_file(120, 6))
            )
        ),
        "go",
        "long",
        "edit",
    ),
    case(
        "long-diff-cache-sharding-review",
        "opus",
        "Review a large locking change: the shared LRU list is mutated under per-shard locks (data race), and hits++ races under RLock.",
        req(
            u(
                "please review this diff for concurrency issues before we merge, it shards the cache lock\n"
                + code("diff", _cache_locking_diff())
            )
        ),
        "go",
        "long",
        "review",
        "concurrency",
    ),
    case(
        "medium-csv-pandas-monthly",
        "local",
        "Simple pandas code against a pasted sample.",
        req(
            u(
                "here's a sample of our orders export. write pandas code for monthly revenue (qty*unit_price) per region, separate columns per currency\n"
                + code("csv", _csv_sample())
            )
        ),
        "python",
        "long",
        "implement",
    ),
    case(
        "long-log-summarize-window",
        "sonnet",
        "Summarise a ~60k-character log window.",
        req(
            u(
                "summarize what happened between 14:20 and 14:40 in this log, anything unusual?\n"
                + code(
                    "text",
                    log_lines(
                        700,
                        17,
                        [
                            "WARN  [billing] [worker-2] retrying upstream call attempt=3 after 800ms",
                            "ERROR [billing] [worker-2] stripe webhook signature mismatch for evt_1Q9",
                            "WARN  [billing] [worker-7] clock skew detected: 4.2s against ntp",
                        ],
                        at=0.4,
                        service="billing",
                    ),
                )
            )
        ),
        "logs",
        "long",
    ),
    case(
        "long-openapi-ts-client",
        "sonnet",
        "Generate a typed client from a ~30k-character OpenAPI document.",
        req(
            u(
                "generate a typed typescript fetch client for this spec (one function per operationId, typed params and responses, cursor pagination helper)\n"
                + code("json", _openapi_spec())
            )
        ),
        "typescript",
        "long",
        "implement",
    ),
    case(
        "long-module-decimal-bug",
        "sonnet",
        "Find which function mishandles Decimal in a ~32k-character module.",
        req(
            u(
                "one of these functions returns totals that are off by a cent sometimes. which one and why?\n"
                + code("python", python_module(115, 12))
            )
        ),
        "python",
        "long",
        "debug",
    ),
    case(
        "long-lease-lock-proof",
        "opus",
        "A mutual-exclusion argument for a lease lock mixing wall-clock expiry in SQL with a monotonic local check.",
        req(
            u(
                "we use this LeaseLock (at the bottom of the file) to make sure only one worker runs the settlement job. prove it gives mutual exclusion, or show the schedule where two workers both think they hold it\n"
                + code("python", _dist_lock_impl())
            )
        ),
        "python",
        "long",
        "distributed",
        "proof",
    ),
    case(
        "medium-translate-module-ts",
        "sonnet",
        "Translate a ~6k-character module to idiomatic TypeScript with Decimal semantics preserved.",
        req(
            u(
                "translate this to typescript, use decimal.js where python uses Decimal\n"
                + code("python", python_module(18, 7))
            )
        ),
        "typescript",
        "python",
        "long",
    ),
    case(
        "medium-readme-spelling",
        "local",
        "Spelling fixes in a long README.",
        req(u("fix the spelling mistakes in this readme, don't change anything else\n" + _readme_with_typos())),
        "docs",
        "long",
        "edit",
    ),
    case(
        "medium-schema-query",
        "sonnet",
        "A multi-join query found through a 20-table schema.",
        req(
            u(
                "given this schema, write a query for revenue per product category for last month, net of refunds\n"
                + code("sql", _schema_dump())
            )
        ),
        "sql",
        "long",
        "query",
    ),
    case(
        "long-chat-followup-local",
        "local",
        "A long pasted module earlier in the chat; the final ask is a one-line explanation of one function.",
        req(
            u("here's our helpers module\n" + code("python", python_module(60, 14))),
            a("Thanks — it's a set of record-processing helpers (filtering, totals, grouping, dedupe)."),
            u("what does the `limit` keyword do in these functions, in one sentence?"),
        ),
        "python",
        "long",
        "chat",
        "question",
    ),
]
