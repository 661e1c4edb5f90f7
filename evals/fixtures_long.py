"""Deterministic generators of long pasted context for evals/cases_long_pastes.py: TypeScript and Java
modules, access logs, multi-source incident logs, Kubernetes manifests, pytest reports, Terraform, design
docs and metrics dumps. Every generator takes a seed and builds its text with random.Random(seed) only, so
the cases are the same on every build. Used only by evals/build.py."""

# ruff: noqa: E501  (generated text is data: long literal lines stay as written)

from __future__ import annotations

import random
from typing import Any

_NOUNS = ["order", "invoice", "customer", "shipment", "payment", "account", "session", "report", "ticket", "item"]


def chars(request: dict[str, Any]) -> int:
    """Total characters of a request's message contents (what the rubric's ~30k threshold counts)."""
    total = 0
    for m in request["messages"]:
        content = m.get("content") or ""
        total += len(content) if isinstance(content, str) else sum(len(p.get("text", "")) for p in content)
    return total


# --- code ---------------------------------------------------------------------------------------


def ts_module(n_funcs: int, seed: int, *, legacy_js: bool = False) -> str:
    """A TypeScript (or pre-ES6-style JavaScript) service module of small exported functions."""
    rng = random.Random(seed)
    decl = "var" if legacy_js else "const"
    out: list[str] = []
    if legacy_js:
        out += ["'use strict';", "", "var api = require('./api');", "var money = require('./money');", ""]
    else:
        out += [
            'import { api } from "./api";',
            'import { formatMoney, type Money } from "./money";',
            "",
            "export interface Record {",
            "  id: string;",
            "  status?: string;",
            "  amount?: number;",
            "  currency?: string;",
            "  region?: string;",
            "  updatedAt?: string;",
            "}",
            "",
        ]
    for i in range(n_funcs):
        noun = rng.choice(_NOUNS)
        cap = noun.capitalize()
        shape = rng.randrange(5)
        sig_t = "" if legacy_js else ": Record[]"
        ret_t = "" if legacy_js else ": Promise<Record[]>"
        if shape == 0:
            out += [
                f"export async function fetch{cap}s{i}(ids{': string[]' if not legacy_js else ''}){ret_t} {{",
                f"  {decl} results = [];",
                f"  for ({decl} id of ids) {{",
                f"    {decl} res = await api.get(`/{noun}s/${{id}}`);",
                "    if (res.status === 404) continue;",
                "    results.push(res.data);",
                "  }",
                "  return results;",
                "}",
            ]
        elif shape == 1:
            out += [
                f"export function total{cap}s{i}(records{sig_t}, currency{': string' if not legacy_js else ''}){': number' if not legacy_js else ''} {{",
                f"  {decl} sum = 0;",
                f"  for ({decl} r of records) {{",
                "    if (r.currency !== currency) continue;",
                f"    sum += r.amount{'' if legacy_js else ' ?? 0'}{' || 0' if legacy_js else ''};",
                "  }",
                f"  return Math.round(sum * {(scale := rng.choice([100, 1000]))}) / {scale};",
                "}",
            ]
        elif shape == 2:
            out += [
                f"export function group{cap}sByStatus{i}(records{sig_t}){': Map<string, Record[]>' if not legacy_js else ''} {{",
                f"  {decl} groups = new Map();",
                f"  for ({decl} r of records) {{",
                f"    {decl} key = r.status{' || ' if legacy_js else ' ?? '}'{rng.choice(['unknown', 'pending', 'new'])}';",
                "    if (!groups.has(key)) groups.set(key, []);",
                "    groups.get(key).push(r);",
                "  }",
                "  return groups;",
                "}",
            ]
        elif shape == 3:
            out += [
                f"export function format{cap}Line{i}(r{': Record' if not legacy_js else ''}){': string' if not legacy_js else ''} {{",
                f"  {decl} amount = formatMoney({{ value: r.amount{' || 0' if legacy_js else ' ?? 0'}, currency: r.currency{' || ' if legacy_js else ' ?? '}'EUR' }});",
                f"  {decl} when = r.updatedAt ? new Date(r.updatedAt).toISOString().slice(0, 10) : '-';",
                f"  return [r.id, r.status, amount, when].join('{rng.choice([' | ', ';', ', '])}');",
                "}",
            ]
        else:
            out += [
                f"export function dedupe{cap}s{i}(records{sig_t}){sig_t if not legacy_js else ''} {{",
                f"  {decl} seen = new Set();",
                f"  {decl} out = [];",
                f"  for ({decl} r of records) {{",
                f"    {decl} key = r.id + ':' + (r.region{' || ' if legacy_js else ' ?? '}'{rng.choice(['eu', 'us', 'global'])}');",
                "    if (seen.has(key)) continue;",
                "    seen.add(key);",
                "    out.push(r);",
                "  }",
                f"  return out.slice(0, {rng.choice([50, 100, 500])});",
                "}",
            ]
        out.append("")
    if legacy_js:
        out = [
            line.replace("export async function", "async function").replace("export function", "function")
            for line in out
        ]
    return "\n".join(out)


def java_class(n_methods: int, seed: int, *, package: str = "com.acme.orders", cls: str = "OrderRepository") -> str:
    """A JDBC repository class with many small methods."""
    rng = random.Random(seed)
    out = [
        f"package {package};",
        "",
        "import java.sql.Connection;",
        "import java.sql.PreparedStatement;",
        "import java.sql.ResultSet;",
        "import java.sql.SQLException;",
        "import java.time.Instant;",
        "import java.util.ArrayList;",
        "import java.util.List;",
        "import java.util.Optional;",
        "import javax.sql.DataSource;",
        "import org.slf4j.Logger;",
        "import org.slf4j.LoggerFactory;",
        "",
        f"public class {cls} {{",
        f"    private static final Logger log = LoggerFactory.getLogger({cls}.class);",
        "    private final DataSource ds;",
        "",
        f"    public {cls}(DataSource ds) {{",
        "        this.ds = ds;",
        "    }",
        "",
    ]
    for i in range(n_methods):
        noun = rng.choice(_NOUNS)
        cap = noun.capitalize()
        table = noun + "s"
        shape = rng.randrange(3)
        if shape == 0:
            out += [
                f"    public Optional<Row> find{cap}ById{i}(long id) throws SQLException {{",
                f'        String sql = "SELECT id, status, amount, updated_at FROM {table} WHERE id = ?";',
                "        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {",
                "            ps.setLong(1, id);",
                "            try (ResultSet rs = ps.executeQuery()) {",
                "                return rs.next() ? Optional.of(Row.from(rs)) : Optional.empty();",
                "            }",
                "        }",
                "    }",
            ]
        elif shape == 1:
            status = rng.choice(["open", "paid", "void", "shipped"])
            out += [
                f"    public List<Row> list{cap}sByStatus{i}(String status, int limit) throws SQLException {{",
                f'        String sql = "SELECT id, status, amount, updated_at FROM {table} WHERE status = ? ORDER BY updated_at DESC LIMIT ?";',
                "        List<Row> rows = new ArrayList<>();",
                "        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {",
                f'            ps.setString(1, status == null ? "{status}" : status);',
                "            ps.setInt(2, limit);",
                "            try (ResultSet rs = ps.executeQuery()) {",
                "                while (rs.next()) rows.add(Row.from(rs));",
                "            }",
                "        }",
                "        return rows;",
                "    }",
            ]
        else:
            out += [
                f"    public int touch{cap}{i}(long id) throws SQLException {{",
                f'        String sql = "UPDATE {table} SET updated_at = ? WHERE id = ?";',
                "        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {",
                "            ps.setObject(1, Instant.now());",
                "            ps.setLong(2, id);",
                "            int n = ps.executeUpdate();",
                f'            if (n == 0) log.warn("{noun} {{}} not found", id);',
                "            return n;",
                "        }",
                "    }",
            ]
        out.append("")
    out.append("}")
    return "\n".join(out)


_RAFTY = [
    "replicate_entries",
    "advance_commit_index",
    "handle_append_entries",
    "handle_request_vote",
    "install_snapshot",
    "compact_log",
    "apply_committed",
    "step_down",
    "reset_election_timer",
    "send_heartbeats",
]


def consensus_py_module(n_funcs: int, seed: int) -> str:
    """A Python module with consensus-flavoured names but ordinary bodies, and a messy import block."""
    rng = random.Random(seed)
    out = [
        '"""Raft node helpers: log bookkeeping, peer state, metrics."""',
        "",
        "from .storage import LogStore, SnapshotStore",
        "import time",
        "from dataclasses import dataclass, field",
        "import structlog",
        "from typing import Iterable",
        "import asyncio",
        "from .transport import PeerClient",
        "import os",
        "from prometheus_client import Counter, Histogram",
        "import random",
        "from collections import defaultdict",
        "from .config import NodeConfig",
        "import json",
        "",
        "log = structlog.get_logger(__name__)",
        'APPENDS = Counter("raft_appends_total", "AppendEntries sent", ["peer"])',
        'APPLY_LAT = Histogram("raft_apply_seconds", "Time to apply a committed entry")',
        "",
        "@dataclass",
        "class PeerState:",
        "    next_index: int = 1",
        "    match_index: int = 0",
        "    inflight: int = 0",
        "    last_contact: float = field(default_factory=time.monotonic)",
        "",
    ]
    for i in range(n_funcs):
        name = f"{rng.choice(_RAFTY)}_{i}"
        shape = rng.randrange(4)
        if shape == 0:
            out += [
                f"def {name}(peers: dict[str, PeerState], now: float | None = None) -> list[str]:",
                "    now = now or time.monotonic()",
                "    stale = []",
                "    for peer_id, st in sorted(peers.items()):",
                f"        if now - st.last_contact > {rng.choice([0.5, 1.0, 1.5, 3.0])}:",
                "            stale.append(peer_id)",
                f"    log.debug('{name}', stale=len(stale))",
                "    return stale",
            ]
        elif shape == 1:
            out += [
                f"def {name}(entries: Iterable[dict], limit: int = {rng.choice([64, 128, 512])}) -> list[dict]:",
                "    batch = []",
                "    size = 0",
                "    for e in entries:",
                "        size += len(e.get('data', b''))",
                f"        if len(batch) >= limit or size > {rng.choice([1, 2, 4])} * 1024 * 1024:",
                "            break",
                "        batch.append(e)",
                "    return batch",
            ]
        elif shape == 2:
            out += [
                f"def {name}(peers: dict[str, PeerState]) -> dict[str, int]:",
                "    out = defaultdict(int)",
                "    for peer_id, st in peers.items():",
                "        out['inflight'] += st.inflight",
                "        out['lagging'] += int(st.next_index - st.match_index > 1)",
                "    return dict(out)",
            ]
        else:
            out += [
                f"def {name}(cfg: NodeConfig) -> float:",
                f"    base = cfg.election_timeout_ms / {rng.choice([1000, 1000.0])}",
                "    jitter = random.uniform(0, base)",
                "    return base + jitter",
            ]
        out.append("")
    return "\n".join(out)


# --- logs ---------------------------------------------------------------------------------------

_PATHS = [
    "/api/v1/orders",
    "/api/v1/orders/{n}",
    "/api/v1/cart",
    "/api/v1/checkout",
    "/api/v1/products/{n}",
    "/api/v1/search?q=shoes",
    "/static/app.{h}.js",
    "/healthz",
    "/api/v1/users/me",
]
_UAS = [
    "okhttp/4.12.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
    "Mozilla/5.0 (X11; Linux x86_64)",
    "kube-probe/1.29",
    "curl/8.5.0",
]


def access_log(n: int, seed: int, needle: list[str] | None = None, at: float = 0.5) -> str:
    """nginx access log lines (combined format plus timings); ``needle`` lines inserted verbatim at ``at``."""
    rng = random.Random(seed)
    lines = []
    t = 14 * 3600 + 2 * 60
    for i in range(n):
        if needle and i == int(n * at):
            lines += needle
        t += rng.choice([0, 0, 1, 1, 2])
        path = rng.choice(_PATHS).format(n=rng.randint(1000, 99999), h=rng.choice(["3f9a1c", "b71e02"]))
        method = "POST" if path in ("/api/v1/cart", "/api/v1/checkout") and rng.random() < 0.7 else "GET"
        status = rng.choices([200, 201, 204, 304, 404, 499, 502], weights=[70, 5, 3, 8, 8, 2, 1])[0]
        rt = rng.randint(1, 400) / 1000
        stamp = f"03/Nov/2024:{t // 3600:02d}:{(t // 60) % 60:02d}:{t % 60:02d} +0000"
        ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        lines.append(
            f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {rng.randint(0, 9000)} "-" "{rng.choice(_UAS)}" rt={rt:.3f} urt={max(rt - 0.001, 0):.3f}'
        )
    return "\n".join(lines)


_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


class _Fill(dict):
    """Placeholder values for log templates. Besides {n}, {ms}, {s} and {c} (random), a name given in
    ``counters`` is a running counter: {x} increments it and returns it, {x_next} returns it plus one,
    {x_mark} does the same and remembers that value, {x_marked} returns the remembered value, and {x_replay}
    counts up again from the remembered value (a second consumer re-reading the same offsets)."""

    def __init__(self, rng: random.Random, counters: dict[str, int]) -> None:
        super().__init__(
            n=rng.randint(1000, 99999), ms=rng.randint(1, 250), s=rng.randint(900, 2400), c=rng.randint(1, 12)
        )
        self.counters = counters

    def __missing__(self, key: str) -> Any:
        name, _, op = key.rpartition("_")
        if not name:
            self.counters[key] += 1
            return self.counters[key]
        if op == "next":
            return self.counters[name] + 1
        if op == "mark":
            self.counters[name + "@mark"] = self.counters[name] + 1
            return self.counters[name + "@mark"]
        if op == "marked":
            return self.counters[name + "@mark"]
        if op == "replay":
            self.counters.setdefault(name + "@replay", self.counters[name + "@mark"] - 1)
            self.counters[name + "@replay"] += 1
            return self.counters[name + "@replay"]
        self.counters[key] += 1
        return self.counters[key]


def multi_source_log(
    n: int,
    seed: int,
    sources: dict[str, list[str]],
    needles: list[tuple[Any, ...]],
    start: str = "14:00:00",
    counters: dict[str, int] | None = None,
) -> str:
    """Interleaved log lines from several components, ``n`` lines of background plus the needles.

    ``sources`` maps a component tag to event templates (placeholders: see _Fill), all templates equally
    likely, so a chattier component gets more templates; a template may start with its level, otherwise it
    is INFO or DEBUG. ``needles`` are (fraction, lines) or (fraction, lines,
    new_sources) blocks inserted in order; each line is "<tag> <LEVEL> <text>" (braces doubled), stamped
    with the running clock; a block with new_sources changes the background from then on (a component
    that failed over stops logging what it logged before)."""
    rng = random.Random(seed)
    ctr = dict(counters or {})
    h, m, s_ = (int(x) for x in start.split(":"))
    t = ((h * 60 + m) * 60 + s_) * 1000
    pending = sorted(needles, key=lambda x: x[0])
    lines = []

    def stamp(ms: int) -> str:
        return f"2024-11-03T{ms // 3_600_000:02d}:{(ms // 60_000) % 60:02d}:{(ms // 1000) % 60:02d}.{ms % 1000:03d}Z"

    def emit_block(block: tuple[Any, ...]) -> None:
        nonlocal t, sources
        for extra in block[1]:
            t += rng.randint(5, 400)
            lines.append(f"{stamp(t)} {extra.format_map(_Fill(rng, ctr))}")
        if len(block) > 2:
            sources = block[2]

    for i in range(n):
        while pending and i == int(n * pending[0][0]):
            emit_block(pending.pop(0))
        t += rng.randint(20, 1500)
        tag, tmpl = rng.choice([(tag, tmpl) for tag, tmpls in sources.items() for tmpl in tmpls])
        ev = tmpl.format_map(_Fill(rng, ctr))
        first, _, rest = ev.partition(" ")
        if first in _LEVELS:
            level, ev = first, rest
        else:
            level = rng.choice(["INFO"] * 3 + ["DEBUG"])
        lines.append(f"{stamp(t)} {tag} {level} {ev}")
    for block in pending:
        emit_block(block)
    return "\n".join(lines)


# --- config and infrastructure ----------------------------------------------------------------------


def k8s_manifests(services: list[str], seed: int) -> str:
    """A Deployment and a Service for each name, as one multi-document YAML file."""
    rng = random.Random(seed)
    docs = []
    for name in services:
        port = rng.choice([8080, 8000, 3000, 9090])
        docs.append(
            f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
  labels:
    app: {name}
spec:
  replicas: {rng.choice([2, 3, 4, 6])}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "{port}"
    spec:
      serviceAccountName: {name}
      containers:
        - name: {name}
          image: registry.acme.io/shop/{name}:{rng.randint(1, 3)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}
          ports:
            - containerPort: {port}
          env:
            - name: LOG_LEVEL
              value: {rng.choice(["info", "debug", "warn"])}
            - name: DB_POOL_SIZE
              value: "{rng.choice([5, 10, 20])}"
          resources:
            requests:
              cpu: {rng.choice(["100m", "250m", "500m"])}
              memory: {rng.choice(["128Mi", "256Mi", "512Mi"])}
            limits:
              memory: {rng.choice(["256Mi", "512Mi", "1Gi"])}
          readinessProbe:
            httpGet:
              path: /healthz
              port: {port}
            periodSeconds: 10
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: shop
spec:
  selector:
    app: {name}
  ports:
    - port: 80
      targetPort: {port}"""
        )
    return "\n---\n".join(docs)


def terraform_module(n: int, seed: int) -> str:
    """A Terraform file whose resources interpolate var.env throughout."""
    rng = random.Random(seed)
    out = [
        'variable "env" {',
        "  type        = string",
        '  description = "deployment environment (staging, prod)"',
        "}",
        "",
        'variable "region" {',
        "  type    = string",
        '  default = "eu-west-1"',
        "}",
        "",
        "locals {",
        "  common_tags = {",
        "    env     = var.env",
        '    team    = "platform"',
        '    managed = "terraform"',
        "  }",
        "}",
        "",
    ]
    for i in range(n):
        noun = rng.choice(_NOUNS)
        kind = rng.randrange(4)
        if kind == 0:
            out += [
                f'resource "aws_s3_bucket" "{noun}_{i}" {{',
                f'  bucket = "acme-${{var.env}}-{noun}-{i}"',
                "  tags   = local.common_tags",
                "}",
            ]
        elif kind == 1:
            out += [
                f'resource "aws_sqs_queue" "{noun}_{i}" {{',
                f'  name                       = "${{var.env}}-{noun}-events-{i}"',
                f"  visibility_timeout_seconds = {rng.choice([30, 60, 300])}",
                f"  message_retention_seconds  = {rng.choice([86400, 345600, 1209600])}",
                "  tags                       = merge(local.common_tags, { queue = true })",
                "}",
            ]
        elif kind == 2:
            out += [
                f'resource "aws_cloudwatch_log_group" "{noun}_{i}" {{',
                f'  name              = "/acme/${{var.env}}/{noun}-{i}"',
                f'  retention_in_days = var.env == "prod" ? {rng.choice([30, 90])} : 7',
                "  tags              = local.common_tags",
                "}",
            ]
        else:
            out += [
                f'resource "aws_ssm_parameter" "{noun}_{i}_url" {{',
                f'  name  = "/${{var.env}}/{noun}/{i}/url"',
                '  type  = "String"',
                f'  value = "https://{noun}.${{var.env}}.acme.internal"',
                "  tags  = local.common_tags",
                "}",
            ]
        out.append("")
    out += ['output "env" {', "  value = var.env", "}"]
    return "\n".join(out)


def pytest_report(n: int, seed: int, failures: dict[int, tuple[str, str]]) -> str:
    """``pytest -v`` output for ``n`` tests; ``failures`` maps a test's position to (name, error block)."""
    rng = random.Random(seed)
    mods = [
        "test_orders",
        "test_invoices",
        "test_payments",
        "test_customers",
        "test_exports",
        "test_auth",
        "test_search",
    ]
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.12.3, pytest-8.2.1, pluggy-1.5.0 -- /app/.venv/bin/python",
        "cachedir: .pytest_cache",
        "rootdir: /app",
        "configfile: pyproject.toml",
        "plugins: anyio-4.4.0, cov-5.0.0, xdist-3.6.1, django-4.8.0",
        f"collected {n} items",
        "",
    ]
    failed = []
    for i in range(n):
        pct = (i + 1) * 100 // n
        if i in failures:
            name = failures[i][0]
            failed.append(name)
            lines.append(f"tests/{name} FAILED{' ' * 8}[{pct:3d}%]")
        else:
            mod = rng.choice(mods)
            verb = rng.choice(["creates", "rejects", "lists", "updates", "filters", "exports", "computes"])
            noun = rng.choice(_NOUNS)
            param = f"[{rng.choice(['eu', 'us', 'empty', 'large', 'utf8', 'none'])}]" if rng.random() < 0.3 else ""
            lines.append(f"tests/{mod}.py::test_{verb}_{noun}_{i}{param} PASSED{' ' * 8}[{pct:3d}%]")
    lines += ["", "=================================== FAILURES ==================================="]
    for i in sorted(failures):
        name, err = failures[i]
        lines += [f"_{'_' * 20} {name.split('::')[-1]} {'_' * 20}", "", err, ""]
    lines.append("=========================== short test summary info ============================")
    lines += [f"FAILED tests/{f}" for f in failed]
    lines.append(
        f"========== {len(failed)} failed, {n - len(failed)} passed in {rng.randint(40, 200)}.{rng.randint(10, 99)}s =========="
    )
    return "\n".join(lines)


def markdown_doc(title: str, n_sections: int, seed: int) -> str:
    """A design document with numbered sections, sub-sections, lists and the odd code block."""
    rng = random.Random(seed)
    topics = [
        ("Ingestion", "events arrive over HTTPS and are written to the staging topic before validation"),
        ("Validation", "each event is checked against the registered schema version for its source"),
        ("Storage", "validated events are stored in daily partitions and compacted after seven days"),
        ("Retention", "raw payloads are kept for 30 days, aggregates for two years"),
        ("Access control", "readers authenticate with service tokens scoped to a project"),
        ("Backfills", "operators can replay a partition range into a new table version"),
        ("Quotas", "each project has an ingest quota expressed in events per second and bytes per day"),
        ("Observability", "every stage emits lag, throughput and error metrics with the project label"),
        ("Failure handling", "poison events go to a dead-letter topic with the validation error attached"),
        ("Schema evolution", "new optional fields are backwards compatible; removals need a new major version"),
        ("Billing export", "daily usage per project is exported to the billing system as CSV"),
        ("Deletion requests", "a deletion request removes a subject's events from all partitions within 30 days"),
    ]
    out = [f"# {title}", "", "Status: draft · Owners: data-platform", ""]
    for i in range(n_sections):
        name, line = topics[i % len(topics)]
        suffix = "" if i < len(topics) else f" ({i // len(topics) + 1})"
        out += [f"## {i + 1}. {name}{suffix}", ""]
        for _ in range(rng.randint(2, 3)):
            out.append(
                " ".join(
                    line[0].upper() + line[1:] + "."
                    if j == 0
                    else rng.choice(
                        [
                            "This keeps the hot path simple and the failure modes visible.",
                            "The limits are configurable per project and documented in the runbook.",
                            "Operators see the state of each step in the admin console.",
                            "We measured the cost of this step at under two percent of total CPU.",
                            "Clients do not need to change when this behaviour changes.",
                        ]
                    )
                    for j in range(rng.randint(2, 4))
                )
            )
            out.append("")
        if rng.random() < 0.5:
            out += [f"### {i + 1}.1 Details", ""]
            out += [
                f"- {rng.choice(['limit', 'timeout', 'retry', 'batch size', 'window'])}: {rng.randint(2, 500)} {rng.choice(['ms', 's', 'events', 'MB'])}"
                for _ in range(rng.randint(2, 5))
            ]
            out.append("")
        if rng.random() < 0.25:
            out += [
                "```yaml",
                f"{name.lower().replace(' ', '_')}:",
                f"  enabled: {rng.choice(['true', 'false'])}",
                f"  max_batch: {rng.randint(100, 5000)}",
                "```",
                "",
            ]
    return "\n".join(out)


def orders_csv(n: int, seed: int) -> str:
    rng = random.Random(seed)
    rows = ["order_id,created_at,customer_email,country,sku,qty,unit_price,currency,status"]
    for i in range(n):
        rows.append(
            f"{200000 + i},2024-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z,"
            f"{rng.choice(['ana', 'li', 'tom', 'maria', 'kofi', 'yuki', 'sam'])}{rng.randint(1, 999)}@example.com,"
            f"{rng.choice(['DE', 'FR', 'US', 'GB', 'JP', 'BR'])},SKU-{rng.randint(1000, 9999)},{rng.randint(1, 5)},"
            f"{rng.uniform(3, 250):.2f},{rng.choice(['EUR', 'USD', 'GBP'])},{rng.choice(['paid', 'paid', 'paid', 'refunded', 'pending'])}"
        )
    return "\n".join(rows)


def metrics_dump(seed: int, minutes: int, spike_every: int = 60) -> str:
    """Per-10-second metrics for three services. Every ``spike_every`` seconds checkout's new connections and
    TLS handshakes to payments jump and its p99 follows; CPU, GC and payments' own latency stay flat."""
    rng = random.Random(seed)
    rows = ["ts,service,rps,p50_ms,p99_ms,cpu_pct,gc_pause_ms,open_conns,new_conns,tls_handshakes,pool_wait_ms"]
    for k in range(minutes * 6):
        ts = 14 * 3600 + k * 10
        stamp = f"14:{(ts // 60) % 60:02d}:{ts % 60:02d}"
        spike = (k * 10) % spike_every < 10
        for svc in ("gateway", "checkout", "payments"):
            rps = rng.randint(380, 460) if svc != "payments" else rng.randint(170, 210)
            p50 = rng.randint(9, 14) if svc != "payments" else rng.randint(18, 25)
            p99 = rng.randint(60, 90) if svc != "payments" else rng.randint(70, 95)
            new_c = rng.randint(0, 3)
            tls = rng.randint(0, 2)
            wait = rng.randint(0, 2)
            if spike and svc == "checkout":
                p99 = rng.randint(780, 1350)
                new_c = rng.randint(140, 210)
                tls = new_c - rng.randint(0, 4)
                wait = rng.randint(300, 900)
            if spike and svc == "gateway":
                p99 = rng.randint(820, 1400)
            rows.append(
                f"{stamp},{svc},{rps},{p50},{p99},{rng.randint(31, 44)},{rng.randint(1, 4)},{rng.randint(180, 220)},{new_c},{tls},{wait}"
            )
    return "\n".join(rows)


# --- traces, schemas, exports ---------------------------------------------------------------------

_SECURITY_FILTERS = [
    "DisableEncodeUrlFilter",
    "WebAsyncManagerIntegrationFilter",
    "context.SecurityContextHolderFilter",
    "header.HeaderWriterFilter",
    "csrf.CsrfFilter",
    "authentication.logout.LogoutFilter",
    "oauth2.server.resource.web.authentication.BearerTokenAuthenticationFilter",
    "savedrequest.RequestCacheAwareFilter",
    "servletapi.SecurityContextHolderAwareRequestFilter",
    "authentication.AnonymousAuthenticationFilter",
    "session.SessionManagementFilter",
    "access.ExceptionTranslationFilter",
    "access.intercept.AuthorizationFilter",
]


def spring_trace(
    seed: int,
    cause: str,
    own_top: list[str],
    root: list[str],
    root_own: list[str],
    *,
    aop: bool = True,
    controller: tuple[str, ...] = (),
    committing: bool = False,
) -> str:
    """A Spring Boot 3 / Tomcat stack trace: ``cause`` with ``own_top`` frames (a transactional service
    method) over the proxy frames, the ``controller`` frames and the servlet stack, then a ``Caused by``
    block (``root`` lines, ``root_own`` frames) ending in '... N more'. ``aop=False`` leaves out the proxy
    and handler-invocation frames (for errors raised while writing the response); ``committing=True``
    leaves out the frames of the service method itself (for errors raised at commit, after it returned)."""
    rng = random.Random(seed)
    frames = [f"\tat {f}" for f in own_top]
    aop_frames = [
        "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
        "\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)",
        "\tat org.springframework.aop.support.AopUtils.invokeJoinpointUsingReflection(AopUtils.java:354)",
        "\tat org.springframework.aop.framework.ReflectiveMethodInvocation.invokeJoinpoint(ReflectiveMethodInvocation.java:196)",
        "\tat org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:163)",
        "\tat org.springframework.transaction.interceptor.TransactionInterceptor$1.proceedWithInvocation(TransactionInterceptor.java:123)",
        "\tat org.springframework.transaction.interceptor.TransactionAspectSupport.invokeWithinTransaction(TransactionAspectSupport.java:392)",
        "\tat org.springframework.transaction.interceptor.TransactionInterceptor.invoke(TransactionInterceptor.java:119)",
        "\tat org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
        "\tat org.springframework.aop.framework.CglibAopProxy$DynamicAdvisedInterceptor.intercept(CglibAopProxy.java:765)",
        *(f"\tat {f}" for f in controller),
        "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
        "\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)",
        "\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)",
        "\tat org.springframework.web.method.support.InvocableHandlerMethod.invokeForRequest(InvocableHandlerMethod.java:188)",
    ]
    if committing:
        aop_frames = aop_frames[6:]
    frames += aop_frames if aop else []
    frames += [
        "\tat org.springframework.web.servlet.mvc.method.annotation.ServletInvocableHandlerMethod.invokeAndHandle(ServletInvocableHandlerMethod.java:118)",
        "\tat org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.invokeHandlerMethod(RequestMappingHandlerAdapter.java:926)",
        "\tat org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.handleInternal(RequestMappingHandlerAdapter.java:831)",
        "\tat org.springframework.web.servlet.mvc.method.AbstractHandlerMethodAdapter.handle(AbstractHandlerMethodAdapter.java:87)",
        "\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
        "\tat org.springframework.web.servlet.DispatcherServlet.doService(DispatcherServlet.java:979)",
        "\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
        "\tat org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:914)",
        "\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:590)",
        "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
        "\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
        "\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:205)",
        "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:149)",
        "\tat org.apache.tomcat.websocket.server.WsFilter.doFilter(WsFilter.java:51)",
    ]
    for f in _SECURITY_FILTERS:
        cls = f.rsplit(".", 1)[-1]
        frames += [
            f"\tat org.springframework.security.web.{f}.doFilter({cls}.java:{rng.randint(60, 240)})",
            f"\tat org.springframework.security.web.ObservationFilterChainDecorator$ObservationFilter.wrapFilter(ObservationFilterChainDecorator.java:{rng.choice([240, 227])})",
            f"\tat org.springframework.security.web.ObservationFilterChainDecorator$VirtualFilterChain.doFilter(ObservationFilterChainDecorator.java:{rng.choice([137, 138])})",
        ]
    frames += [
        "\tat org.springframework.security.web.FilterChainProxy.doFilterInternal(FilterChainProxy.java:233)",
        "\tat org.springframework.security.web.FilterChainProxy.doFilter(FilterChainProxy.java:191)",
        "\tat org.springframework.web.filter.DelegatingFilterProxy.invokeDelegate(DelegatingFilterProxy.java:352)",
        "\tat org.springframework.web.filter.DelegatingFilterProxy.doFilter(DelegatingFilterProxy.java:268)",
        "\tat org.springframework.web.filter.RequestContextFilter.doFilterInternal(RequestContextFilter.java:100)",
        "\tat org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)",
        "\tat org.springframework.web.filter.FormContentFilter.doFilterInternal(FormContentFilter.java:93)",
        "\tat org.springframework.web.filter.ServerHttpObservationFilter.doFilterInternal(ServerHttpObservationFilter.java:109)",
        "\tat org.springframework.web.filter.CharacterEncodingFilter.doFilterInternal(CharacterEncodingFilter.java:201)",
        "\tat org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:167)",
        "\tat org.apache.catalina.core.StandardContextValve.invoke(StandardContextValve.java:90)",
        "\tat org.apache.catalina.authenticator.AuthenticatorBase.invoke(AuthenticatorBase.java:482)",
        "\tat org.apache.catalina.core.StandardHostValve.invoke(StandardHostValve.java:115)",
        "\tat org.apache.catalina.valves.ErrorReportValve.invoke(ErrorReportValve.java:93)",
        "\tat org.apache.catalina.core.StandardEngineValve.invoke(StandardEngineValve.java:74)",
        "\tat org.apache.catalina.connector.CoyoteAdapter.service(CoyoteAdapter.java:344)",
        "\tat org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:391)",
        "\tat org.apache.coyote.AbstractProcessorLight.process(AbstractProcessorLight.java:63)",
        "\tat org.apache.coyote.AbstractProtocol$ConnectionHandler.process(AbstractProtocol.java:896)",
        "\tat org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1744)",
        "\tat org.apache.tomcat.util.net.SocketProcessorBase.run(SocketProcessorBase.java:52)",
        "\tat org.apache.tomcat.util.threads.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1191)",
        "\tat org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)",
        "\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
    ]
    out = [cause, *frames]
    if root:
        out.append("Caused by: " + root[0])
        out += root[1:]
        out += [f"\tat {f}" for f in root_own]
        out.append(f"\t... {len(frames) - 2} more")
    return "\n".join(out)


_COLUMNS = [
    ("name", "text NOT NULL"),
    ("code", "varchar(32)"),
    ("status", "varchar(16) NOT NULL DEFAULT 'new'"),
    ("amount", "numeric(12,2)"),
    ("note", "text"),
    ("qty", "integer NOT NULL DEFAULT 1"),
    ("unit_price", "numeric(12,2)"),
    ("kind", "varchar(32)"),
    ("email", "citext"),
    ("region", "varchar(8)"),
    ("is_active", "boolean NOT NULL DEFAULT true"),
    ("updated_at", "timestamptz"),
    ("external_ref", "varchar(64)"),
    ("metadata", "jsonb NOT NULL DEFAULT '{}'"),
]


def _singular(table: str) -> str:
    if table.endswith("ies"):
        return table[:-3] + "y"
    if table.endswith(("sses", "ches", "shes")):
        return table[:-2]
    return table[:-1] if table.endswith("s") else table


def sql_schema(tables: list[str], seed: int) -> str:
    """CREATE TABLE / CREATE INDEX statements with foreign keys between the given tables."""
    rng = random.Random(seed)
    out = []
    for i, t in enumerate(tables):
        cols = ["    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
        refs = [r for r in tables[:i] if rng.random() < 0.35][:2]
        cols += [f"    {_singular(r)}_id bigint NOT NULL REFERENCES {r}(id)" for r in refs]
        for name, typ in rng.sample(_COLUMNS, rng.randint(3, 7)):
            cols.append(f"    {name} {typ}")
        cols.append("    created_at timestamptz NOT NULL DEFAULT now()")
        out.append(f"CREATE TABLE {t} (\n" + ",\n".join(dict.fromkeys(cols)) + "\n);")
        out.append(f"CREATE INDEX {t}_created_at_idx ON {t} (created_at);")
        for r in refs:
            out.append(f"CREATE INDEX {t}_{_singular(r)}_id_idx ON {t} ({_singular(r)}_id);")
        out.append("")
    return "\n".join(out)


def psp_and_ledger(seed: int, n: int) -> tuple[str, str]:
    """A payment provider's settlement export and our ledger export for the same day, with planted
    differences: missing rows on each side, an amount mismatch, fees, FX-converted rows and a duplicate."""
    rng = random.Random(seed)
    psp = ["psp_ref,merchant_ref,created_utc,type,gross,fee,net,currency,settlement_currency,fx_rate"]
    ledger = ["entry_id,payment_id,booked_at_local,kind,amount_minor,currency,account"]
    for i in range(n):
        ref = f"pay_{rng.randrange(16**10):010x}"
        gross = round(rng.uniform(5, 400), 2)
        cur = rng.choice(["EUR", "EUR", "EUR", "USD", "GBP"])
        fx = 1.0 if cur == "EUR" else round(rng.uniform(0.82, 1.19), 4)
        fee = round(gross * 0.014 + 0.25, 2)
        kind = "refund" if rng.random() < 0.06 else "charge"
        sign = -1 if kind == "refund" else 1
        hh, mm = rng.randint(0, 23), rng.randint(0, 59)
        if i % 97 != 5:
            psp.append(
                f"psp_{100000 + i},{ref},2024-11-02T{hh:02d}:{mm:02d}:{rng.randint(0, 59):02d}Z,{kind},{sign * gross:.2f},{fee:.2f},{sign * gross - fee:.2f},{cur},EUR,{fx}"
            )
        if i % 89 != 7:
            amount = round(gross * 100) * sign
            if i % 131 == 11:
                amount += rng.choice([-1, 1, 100])
            local_h = (hh + 1) % 24
            ledger.append(
                f"L{500000 + i},{ref},2024-11-{'03' if hh == 23 else '02'} {local_h:02d}:{mm:02d},{kind},{amount},{cur},{rng.choice(['1200', '1210'])}"
            )
            if i % 173 == 17:
                ledger.append(f"L{900000 + i},{ref},2024-11-02 {local_h:02d}:{mm:02d},{kind},{amount},{cur},1200")
    return "\n".join(psp), "\n".join(ledger)


def tf_plan_updates(n: int, seed: int) -> str:
    """`terraform plan` blocks for in-place tag updates, the bulk of a routine plan."""
    rng = random.Random(seed)
    kinds = [
        ("aws_s3_bucket", "acme-prod-{noun}-{i}"),
        ("aws_sqs_queue", "prod-{noun}-events-{i}"),
        ("aws_cloudwatch_log_group", "/acme/prod/{noun}-{i}"),
        ("aws_iam_role", "prod-{noun}-worker-{i}"),
        ("aws_lambda_function", "prod-{noun}-handler-{i}"),
    ]
    out = []
    for i in range(n):
        kind, name = rng.choice(kinds)
        noun = rng.choice(_NOUNS)
        rname = f"{noun}_{i}"
        ident = name.format(noun=noun, i=i)
        out += [
            f"  # {kind}.{rname} will be updated in-place",
            f'  ~ resource "{kind}" "{rname}" {{',
            f'        id       = "{ident}"',
            f'        name     = "{ident}"',
            "      ~ tags     = {",
            f'          + "cost-center" = "{rng.choice(["cc-101", "cc-204", "cc-330"])}"',
            '            "env"         = "prod"',
            '          ~ "managed"     = "manual" -> "terraform"',
            "        }",
            "      ~ tags_all = {",
            f'          + "cost-center" = "{rng.choice(["cc-101", "cc-204", "cc-330"])}"',
            '          ~ "managed"     = "manual" -> "terraform"',
            "            # (1 unchanged element hidden)",
            "        }",
            f"        # ({rng.randint(4, 17)} unchanged attributes hidden)",
            "    }",
            "",
        ]
    return "\n".join(out)
