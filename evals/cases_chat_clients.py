"""Chat clients that inject long context but call no tools: aider (its SEARCH/REPLACE edit protocol
in a long system prompt, a repo map, whole files "added to the chat", a trailing rules reminder, its
own commit-message, summary and lint/test-fix requests) and Continue chat (files and selections
attached as fenced blocks before the ask). The injected text is long; the label follows the ask."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from typing import Any

from fixtures import CONTINUE_CHAT, a, case, go_file, python_module, req, s, u
from fixtures_agent import (
    AIDER_COMMIT_SYSTEM,
    AIDER_REMINDER,
    AIDER_SUMMARIZE_SYSTEM,
    aider_files,
    aider_readonly,
    aider_repo,
    aider_system,
    ctx_block,
    repo_map_for,
)

# --- repo maps -----------------------------------------------------------------------------------

SAAS_MAP = [
    (
        "app/auth/tokens.py",
        [
            "def issue_access_token(user: User, scopes: list[str]) -> str:",
            "...",
            "def verify_access_token(token: str) -> Claims:",
            "...",
            "def rotate_signing_key() -> None:",
        ],
    ),
    (
        "app/auth/passwords.py",
        ["def hash_password(pw: str) -> str:", "...", "def check_password(pw: str, stored: str) -> bool:"],
    ),
    (
        "app/billing/stripe_client.py",
        [
            "class StripeClient:",
            "    def create_charge(self, customer_id: str, amount: int, idempotency_key: str) -> Charge:",
            "...",
            "    def refund(self, charge_id: str, amount: int | None = None) -> Refund:",
        ],
    ),
    ("app/billing/usage.py", ["def record_usage(usr, metric, qty):", "...", "def monthly_usage(usr, month):"]),
    (
        "app/billing/invoices.py",
        [
            "class InvoiceBuilder:",
            "    def add_line(self, desc: str, qty: int, unit_cents: int) -> None:",
            "...",
            "    def finalize(self) -> Invoice:",
        ],
    ),
    (
        "app/crypto/envelope.py",
        [
            "def encrypt_field(plaintext: bytes, key_id: str) -> bytes:",
            "...",
            "def decrypt_field(blob: bytes) -> bytes:",
        ],
    ),
    (
        "app/models.py",
        [
            "class User(Base):",
            "...",
            "class Org(Base):",
            "...",
            "class UsageRecord(Base):",
            "...",
            "class Invoice(Base):",
        ],
    ),
    ("app/replication/lag_monitor.py", ["class LagMonitor:", "    def replica_lag_seconds(self, name: str) -> float:"]),
    (
        "tests/test_usage.py",
        ["def test_record_usage_accumulates(db):", "...", "def test_monthly_usage_boundaries(db):"],
    ),
]

USAGE_PY = '''"""Metered usage for billing."""

from datetime import date, datetime, timezone

from sqlalchemy import func, select

from app.db import session
from app.models import UsageRecord

PLAN_LIMITS = {"free": 1_000, "team": 50_000, "enterprise": None}


def record_usage(usr, metric, qty):
    if qty <= 0:
        raise ValueError("qty must be positive")
    rec = UsageRecord(user_id=usr.id, org_id=usr.org_id, metric=metric, qty=qty, at=datetime.now(timezone.utc))
    session.add(rec)
    session.flush()
    limit = PLAN_LIMITS[usr.org.plan]
    if limit is not None and monthly_usage(usr, date.today())[metric] > limit:
        usr.org.over_limit = True
    return rec


def monthly_usage(usr, month):
    start = month.replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    rows = session.execute(
        select(UsageRecord.metric, func.sum(UsageRecord.qty))
        .where(UsageRecord.org_id == usr.org_id, UsageRecord.at >= start, UsageRecord.at < end)
        .group_by(UsageRecord.metric)
    ).all()
    return {metric: total for metric, total in rows}


def usage_report(usr, month):
    usage = monthly_usage(usr, month)
    lines = [f"Usage for {usr.email} in {month:%B %Y}"]
    for metric, total in sorted(usage.items()):
        lines.append(f"  {metric}: {total}")
    return "\\n".join(lines)
'''


def aider(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(aider_system()), *messages)


# --- aider: mechanical asks under long injected context -------------------------------------------


def _aider_rename_usr() -> dict[str, Any]:
    return aider(
        *aider_repo(SAAS_MAP + repo_map_for(3, 9)),
        *aider_readonly([("app/models.py", python_module(34, 12))]),
        *aider_files([("app/billing/usage.py", USAGE_PY)]),
        u("rename the `usr` parameter to `user` everywhere in usage.py"),
        s(AIDER_REMINDER),
    )


DISTANCE_GO = """package geo

import "math"

const earthRadiusKm = 6371.0

type Point struct {
	Lat float64
	Lon float64
}

func Haversine(a, b Point) float64 {
	dLat := rad(b.Lat - a.Lat)
	dLon := rad(b.Lon - a.Lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(a.Lat))*math.Cos(rad(b.Lat))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

func BoundingBox(center Point, radiusKm float64) (min, max Point) {
	dLat := radiusKm / earthRadiusKm * 180 / math.Pi
	dLon := dLat / math.Cos(rad(center.Lat))
	return Point{center.Lat - dLat, center.Lon - dLon}, Point{center.Lat + dLat, center.Lon + dLon}
}

func Within(p, center Point, radiusKm float64) bool {
	return Haversine(p, center) <= radiusKm
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }"""


def _aider_go_doc_comments() -> dict[str, Any]:
    return aider(
        *aider_repo(
            [
                (
                    "internal/geo/distance.go",
                    [
                        "func Haversine(a, b Point) float64 {",
                        "func BoundingBox(center Point, radiusKm float64) (min, max Point) {",
                    ],
                ),
                (
                    "internal/stores/nearby.go",
                    ["func (s *Service) Nearby(ctx context.Context, p geo.Point, km float64) ([]Store, error) {"],
                ),
                ("cmd/storefinder/main.go", ["func main() {"]),
            ]
        ),
        *aider_readonly([("internal/stores/store.go", go_file(40, 5))]),
        *aider_files([("internal/geo/distance.go", DISTANCE_GO)]),
        u("add doc comments to the exported stuff in distance.go, godoc style"),
    )


TEXT_UTILS = """import re
import unicodedata

_WS = re.compile(r"\\s+")


def normalize_ws(s):
    return _WS.sub(" ", s).strip()


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def truncate_words(s, max_words, suffix="…"):
    words = s.split()
    if len(words) <= max_words:
        return s
    return " ".join(words[:max_words]) + suffix


def initials(name):
    return "".join(part[0].upper() for part in name.split() if part)


def count_by_first_letter(words):
    out = {}
    for w in words:
        out.setdefault(w[:1].lower(), 0)
        out[w[:1].lower()] += 1
    return out
"""


def _aider_type_hints() -> dict[str, Any]:
    return aider(
        *aider_files([("src/textkit/text_utils.py", TEXT_UTILS)]),
        u("add type hints to everything in text_utils.py. py3.11, no typing.List etc"),
        s(AIDER_REMINDER),
    )


CLEANUP_CLI = """import argparse
import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger("cleanup")


def stale_dirs(root: Path, days: int):
    cutoff = time.time() - days * 86400
    for p in sorted(root.iterdir()):
        if p.is_dir() and p.stat().st_mtime < cutoff:
            yield p


def main(argv=None):
    ap = argparse.ArgumentParser(description="Delete build dirs older than N days")
    ap.add_argument("root", type=Path)
    ap.add_argument("--days", type=int, default=14)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    for d in stale_dirs(args.root, args.days):
        log.info("deleting %s", d)
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
"""


def _aider_dry_run_flag() -> dict[str, Any]:
    return aider(
        *aider_repo(
            [
                ("ci/cleanup.py", ["def stale_dirs(root: Path, days: int):", "def main(argv=None):"]),
                ("ci/upload.py", ["def upload(bucket: str, path: Path) -> None:"]),
                ("ci/sign.py", ["def sign_artifact(path: Path, key_id: str) -> bytes:"]),
            ]
        ),
        *aider_files([("ci/cleanup.py", CLEANUP_CLI)]),
        u("add a --dry-run flag that only logs what would be deleted"),
    )


DIFF_1 = """diff --git a/src/shopctl/commands/export.py b/src/shopctl/commands/export.py
index 2b1c4e0..8d0f7a3 100644
--- a/src/shopctl/commands/export.py
+++ b/src/shopctl/commands/export.py
@@ -40,11 +40,13 @@ def export():
 @export.command("customers")
 @click.option("--out", type=click.Path(dir_okay=False, writable=True), default="-")
+@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only customers updated on or after this date.")
 @click.pass_obj
-def export_customers(ctx: Context, out: str) -> None:
-    rows = ctx.repo.customers()
+def export_customers(ctx: Context, out: str, since: datetime | None) -> None:
+    rows = ctx.repo.customers(updated_since=since.date() if since else None)
     with open_out(out) as fh:
         for c in rows:
             fh.write(json.dumps(c.to_dict(), default=str) + "\\n")"""


def _aider_commit_message_py() -> dict[str, Any]:
    return req(s(AIDER_COMMIT_SYSTEM), u("# Diffs:\n" + DIFF_1))


DIFF_2 = """diff --git a/web/src/hooks/useOrders.ts b/web/src/hooks/useOrders.ts
index 77aa1c2..9e01bd4 100644
--- a/web/src/hooks/useOrders.ts
+++ b/web/src/hooks/useOrders.ts
@@ -8,12 +8,12 @@ export function useOrders(filters: OrderFilters) {
   return useQuery({
     queryKey: ["orders", filters],
     queryFn: () => fetchOrders(filters),
-    cacheTime: 5 * 60_000,
+    gcTime: 5 * 60_000,
     staleTime: 30_000,
   });
 }
@@ -24,7 +24,7 @@ export function useOrder(id: string) {
   const q = useQuery({ queryKey: ["order", id], queryFn: () => fetchOrder(id) });
-  return { order: q.data, loading: q.isLoading };
+  return { order: q.data, loading: q.isPending };
 }
diff --git a/web/package.json b/web/package.json
--- a/web/package.json
+++ b/web/package.json
@@ -14,7 +14,7 @@
-    "@tanstack/react-query": "^4.36.1",
+    "@tanstack/react-query": "^5.51.1","""


def _aider_commit_message_ts() -> dict[str, Any]:
    return req(s(AIDER_COMMIT_SYSTEM), u("# Diffs:\n" + DIFF_2))


def _aider_summarize_history() -> dict[str, Any]:
    transcript = """# USER
the monthly_usage function returns usage for the wrong month when called on the 1st at 00:30 CET

# ASSISTANT
`monthly_usage` compares `UsageRecord.at` (UTC) with naive `date` bounds, so the month boundary is at UTC midnight, not the customer's. I changed app/billing/usage.py to build the bounds with `datetime.combine(start, time(), tzinfo=org_tz)` and convert to UTC.

# USER
ok. also `end` uses timedelta but it isn't imported

# ASSISTANT
Added `from datetime import timedelta` to app/billing/usage.py.

# USER
tests/test_usage.py::test_monthly_usage_boundaries fails now, it passes a date for `month`

# ASSISTANT
The test passes a `date`; `monthly_usage` now accepts either a `date` or a `datetime` and normalises to the first day of the month in the org's timezone. Updated app/billing/usage.py and added a DST-boundary case to tests/test_usage.py.

# USER
rename usr to user while you're at it

# ASSISTANT
Renamed the `usr` parameter to `user` in record_usage, monthly_usage and usage_report in app/billing/usage.py."""
    return req(s(AIDER_SUMMARIZE_SYSTEM), u(transcript))


REPORT_PY = """from collections import defaultdict

from app.models import Invoice


def revenue_by_region(invoices: list[Invoice]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: Decimal("0"))
    for inv in invoices:
        if inv.status != "paid":
            continue
        out[inv.region] += inv.total
    return dict(out)


def top_regions(invoices: list[Invoice], n: int = 5) -> list[tuple[str, Decimal]]:
    rev = revenue_by_region(invoices)
    return sorted(rev.items(), key=lambda kv: kv[1], reverse=True)[:n]
"""


def _aider_lint_undefined_name() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(11, 10)),
        *aider_files([("app/reports/revenue.py", REPORT_PY)]),
        u("add a top_regions function that returns the n regions with the most paid revenue"),
        a(
            "app/reports/revenue.py\n```python\n<<<<<<< SEARCH\n    return dict(out)\n=======\n    return dict(out)\n\n\ndef top_regions(invoices: list[Invoice], n: int = 5) -> list[tuple[str, Decimal]]:\n    rev = revenue_by_region(invoices)\n    return sorted(rev.items(), key=lambda kv: kv[1], reverse=True)[:n]\n>>>>>>> REPLACE\n```"
        ),
        u(
            "# Fix any errors below, if possible.\n\n## Running: flake8 --select=E9,F821,F823,F831,F406,F407,F701,F702,F704,F706 --show-source --isolated app/reports/revenue.py\n\napp/reports/revenue.py:6:68: F821 undefined name 'Decimal'\ndef revenue_by_region(invoices: list[Invoice]) -> dict[str, Decimal]:\n                                                                   ^\napp/reports/revenue.py:7:37: F821 undefined name 'Decimal'\n    out: dict[str, Decimal] = defaultdict(lambda: Decimal(\"0\"))\n                                    ^\napp/reports/revenue.py:15:77: F821 undefined name 'Decimal'\ndef top_regions(invoices: list[Invoice], n: int = 5) -> list[tuple[str, Decimal]]:\n                                                                            ^\n\n## See relevant lines below marked with █.\n\napp/reports/revenue.py:\n...⋮...\n  6│def revenue_by_region(invoices: list[Invoice]) -> dict[str, Decimal]:\n  7█    out: dict[str, Decimal] = defaultdict(lambda: Decimal(\"0\"))\n...⋮...\n 15█def top_regions(invoices: list[Invoice], n: int = 5) -> list[tuple[str, Decimal]]:"
        ),
    )


RATE_PY = """def check_quota(org, requested: int) -> bool:
    used = usage_this_month(org)
    limit = org.plan.monthly_quota
    if used + requested >= limit:
        return False
    return True
"""


def _aider_followup_revert_check() -> dict[str, Any]:
    return aider(
        *aider_repo(SAAS_MAP[:5] + repo_map_for(7, 8)),
        *aider_files([("app/billing/quota.py", RATE_PY), ("app/billing/plans.py", python_module(26, 31))]),
        u("log at info level when a request is rejected for quota, with org id, used and limit"),
        a(
            'I\'ll add the log line and fix the off-by-one: a request that exactly reaches the quota should be allowed.\n\napp/billing/quota.py\n```python\n<<<<<<< SEARCH\n    if used + requested >= limit:\n        return False\n=======\n    if used + requested > limit:\n        log.info("quota rejected org=%s used=%s requested=%s limit=%s", org.id, used, requested, limit)\n        return False\n>>>>>>> REPLACE\n```'
        ),
        u("no, put the `>=` back the way it was, product wants the quota to be exclusive. keep the log line"),
    )


def _aider_followup_why_is_none() -> dict[str, Any]:
    return aider(
        *aider_files([("app/billing/usage.py", USAGE_PY.replace("if limit is not None", "if limit != None"))]),
        u("make record_usage reject unknown metrics (only api_calls, storage_gb, seats)"),
        a(
            'app/billing/usage.py\n```python\n<<<<<<< SEARCH\n    if qty <= 0:\n        raise ValueError("qty must be positive")\n=======\n    if metric not in METRICS:\n        raise ValueError(f"unknown metric {metric!r}")\n    if qty <= 0:\n        raise ValueError("qty must be positive")\n>>>>>>> REPLACE\n```\n\napp/billing/usage.py\n```python\n<<<<<<< SEARCH\n    if limit != None and monthly_usage(usr, date.today())[metric] > limit:\n=======\n    if limit is not None and monthly_usage(usr, date.today())[metric] > limit:\n>>>>>>> REPLACE\n```\n\napp/billing/usage.py\n```python\n<<<<<<< SEARCH\nPLAN_LIMITS = {\n=======\nMETRICS = frozenset({"api_calls", "storage_gb", "seats"})\n\nPLAN_LIMITS = {\n>>>>>>> REPLACE\n```'
        ),
        u("why did you change `!= None` to `is not None`? is that just style"),
    )


AVG_PY = '''def average_order_value(orders):
    """Mean order total in cents, rounded."""
    return round(sum(o.total_cents for o in orders) / len(orders))
'''


def _aider_empty_case() -> dict[str, Any]:
    return aider(
        *aider_files([("app/metrics/orders.py", AVG_PY)]),
        u("this crashes with ZeroDivisionError on days with no orders. return 0 for an empty list"),
        s(AIDER_REMINDER),
    )


CONFIG_RS = """use std::path::PathBuf;
use std::time::Duration;

pub struct ServerConfig {
    pub listen: String,
    pub workers: usize,
    pub tls: Option<TlsConfig>,
    pub request_timeout: Duration,
}

pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct LogConfig {
    pub level: String,
    pub json: bool,
}

pub struct Config {
    pub server: ServerConfig,
    pub log: LogConfig,
}"""


def _aider_rust_derives() -> dict[str, Any]:
    return aider(
        *aider_repo(
            [
                (
                    "src/config.rs",
                    [
                        "pub struct ServerConfig {",
                        "pub struct TlsConfig {",
                        "pub struct LogConfig {",
                        "pub struct Config {",
                    ],
                ),
                ("src/main.rs", ["fn main() -> anyhow::Result<()> {"]),
                ("src/server.rs", ["pub async fn serve(cfg: ServerConfig) -> anyhow::Result<()> {"]),
            ]
        ),
        *aider_files([("src/config.rs", CONFIG_RS)]),
        u("derive Debug, Clone and PartialEq on all the config structs. also serde Deserialize"),
    )


CLIENT_TS = """import { request } from "undici";

export class BillingClient {
  constructor(
    private readonly opts: {
      baseUrl: string;
      apiKey: string;
      timeoutMs?: number;
      retries?: number;
      userAgent?: string;
    },
  ) {}

  async getInvoice(id: string) {
    const res = await request(`${this.opts.baseUrl}/invoices/${id}`, {
      headers: { authorization: `Bearer ${this.opts.apiKey}`, "user-agent": this.opts.userAgent ?? "billing-client" },
      headersTimeout: this.opts.timeoutMs ?? 5000,
    });
    return res.body.json();
  }
}"""


def _aider_ts_interface() -> dict[str, Any]:
    return aider(
        *aider_files([("packages/billing-client/src/client.ts", CLIENT_TS)]),
        u("pull the opts type out into an exported interface BillingClientOptions"),
        s(AIDER_REMINDER),
    )


PARSER_H = """#pragma once
#include <string>
#include <vector>
#include <optional>

namespace ini {

struct Entry {
  std::string section;
  std::string key;
  std::string value;
};

std::vector<Entry> parse(std::string text);
std::optional<std::string> lookup(std::vector<Entry> entries, std::string section, std::string key);
bool has_section(std::vector<Entry> entries, std::string section);

}  // namespace ini"""

PARSER_CPP = """#include "ini/parser.h"
#include <sstream>

namespace ini {

std::optional<std::string> lookup(std::vector<Entry> entries, std::string section, std::string key) {
  for (const auto& e : entries) {
    if (e.section == section && e.key == key) return e.value;
  }
  return std::nullopt;
}

bool has_section(std::vector<Entry> entries, std::string section) {
  for (const auto& e : entries) {
    if (e.section == section) return true;
  }
  return false;
}

}  // namespace ini"""


def _aider_cpp_const_ref() -> dict[str, Any]:
    return aider(
        *aider_files([("include/ini/parser.h", PARSER_H), ("src/lookup.cpp", PARSER_CPP)]),
        u(
            "lookup and has_section copy the whole vector every call. take the params by const ref (string_view for the strings is fine too). leave parse alone"
        ),
    )


DEPLOY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: invoice-worker
  labels:
    app: invoice-worker
spec:
  replicas: 3
  selector:
    matchLabels:
      app: invoice-worker
  template:
    metadata:
      labels:
        app: invoice-worker
    spec:
      containers:
        - name: worker
          image: registry.acme.dev/invoice-worker:1.14.2
          args: ["--queue", "invoices"]
          ports:
            - containerPort: 9102
              name: metrics
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: invoice-db
                  key: url"""


def _aider_k8s_resources() -> dict[str, Any]:
    return aider(
        *aider_readonly(
            [
                (
                    f"deploy/{svc}/deployment.yaml",
                    DEPLOY_YAML.replace("invoice-worker", svc).replace("invoices", svc.split("-")[0] + "s"),
                )
                for svc in ("orders-api", "payment-worker", "email-worker", "search-api")
            ]
        ),
        *aider_files([("deploy/invoice-worker/deployment.yaml", DEPLOY_YAML)]),
        u(
            "add resources (requests 250m/256Mi, limits 1 cpu/512Mi) and a readiness probe on /ready on the metrics port"
        ),
        s(AIDER_REMINDER),
    )


NETWORK_TF = """resource "aws_vpc" "main" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
}

resource "aws_subnet" "private" {
  count             = length(var.azs)
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(var.cidr, 4, count.index)
  availability_zone = var.azs[count.index]
}

resource "aws_subnet" "public" {
  count                   = length(var.azs)
  vpc_id                  = aws_vpc.main.id
  cidr_block              = cidrsubnet(var.cidr, 4, count.index + 8)
  availability_zone       = var.azs[count.index]
  map_public_ip_on_launch = true
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  count  = length(var.azs)
  domain = "vpc"
}

resource "aws_nat_gateway" "main" {
  count         = length(var.azs)
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
}"""


def _aider_terraform_tags() -> dict[str, Any]:
    return aider(
        *aider_repo(
            [
                ("modules/network/variables.tf", ['variable "cidr" {', 'variable "azs" {', 'variable "env" {']),
                ("modules/network/locals.tf", ["locals {", "  tags = {"]),
                ("modules/network/outputs.tf", ['output "vpc_id" {', 'output "private_subnet_ids" {']),
            ]
        ),
        *aider_files([("modules/network/main.tf", NETWORK_TF)]),
        u(
            "add `tags = local.tags` to every resource in main.tf. for the subnets merge in a Name tag like <env>-private-<az>"
        ),
    )


# --- aider: harder asks -----------------------------------------------------------------------------


def _aider_autotest_fail() -> dict[str, Any]:
    return aider(
        *aider_repo(SAAS_MAP),
        *aider_files(
            [
                ("app/billing/usage.py", USAGE_PY),
                (
                    "tests/test_usage.py",
                    'from datetime import date\n\nfrom app.billing.usage import monthly_usage, record_usage\n\n\ndef test_record_usage_accumulates(db, user_factory):\n    u = user_factory(plan="team")\n    record_usage(u, "api_calls", 10)\n    record_usage(u, "api_calls", 5)\n    assert monthly_usage(u, date.today())["api_calls"] == 15\n\n\ndef test_over_limit_flag(db, user_factory):\n    u = user_factory(plan="free")\n    record_usage(u, "api_calls", 1_001)\n    assert u.org.over_limit\n\n\ndef test_unknown_metric_zero(db, user_factory):\n    u = user_factory(plan="free")\n    record_usage(u, "api_calls", 1)\n    assert monthly_usage(u, date.today()).get("storage_gb", 0) == 0\n',
                ),
            ]
        ),
        u("make monthly_usage respect the org's timezone for month boundaries (org.timezone, IANA name)"),
        a(
            "app/billing/usage.py\n```python\n<<<<<<< SEARCH\ndef monthly_usage(usr, month):\n    start = month.replace(day=1)\n    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)\n=======\ndef monthly_usage(usr, month):\n    tz = ZoneInfo(usr.org.timezone)\n    first = month.replace(day=1)\n    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)\n    start = datetime.combine(first, time(), tzinfo=tz)\n    end = datetime.combine(nxt, time(), tzinfo=tz)\n>>>>>>> REPLACE\n```"
        ),
        u(
            "Fix the test failures:\n\n## Running: pytest -q tests/test_usage.py\n\nFFF\n=================================== FAILURES ===================================\n________________________ test_record_usage_accumulates _________________________\napp/billing/usage.py:28: in monthly_usage\n    tz = ZoneInfo(usr.org.timezone)\nE   NameError: name 'ZoneInfo' is not defined\n_____________________________ test_over_limit_flag _____________________________\napp/billing/usage.py:28: in monthly_usage\n    tz = ZoneInfo(usr.org.timezone)\nE   NameError: name 'ZoneInfo' is not defined\n___________________________ test_unknown_metric_zero ___________________________\napp/billing/usage.py:28: in monthly_usage\n    tz = ZoneInfo(usr.org.timezone)\nE   NameError: name 'ZoneInfo' is not defined\n3 failed in 0.41s\n\nAlso tests/conftest.py's user_factory creates orgs with timezone=None for the free plan."
        ),
    )


def _aider_long_repo_mechanical() -> dict[str, Any]:
    big_map = []
    for i in range(140):
        big_map.append(
            (
                f"app/domain/module_{i:03d}.py",
                [
                    f"class Service{i}:",
                    f"    def handle_{i}(self, cmd: Command{i}) -> Result{i}:",
                    "...",
                    f"def build_service_{i}(deps: Deps) -> Service{i}:",
                ],
            )
        )
    return aider(
        *aider_repo(big_map),
        *aider_files([("app/domain/module_017.py", python_module(60, 17))]),
        u("sort the imports in module_017.py (stdlib, third party, local) and remove the unused ones"),
    )


CHARGE_PY = """def charge_subscription(sub: Subscription) -> None:
    key = f"sub-{sub.id}-{sub.current_period_end:%Y%m}"
    for attempt in range(3):
        try:
            charge = stripe.create_charge(sub.customer_id, sub.amount_cents, idempotency_key=f"{key}-{attempt}")
            break
        except stripe.NetworkError:
            time.sleep(2 ** attempt)
    else:
        raise ChargeFailed(sub.id)
    with db.transaction():
        sub.last_charge_id = charge.id
        sub.current_period_end = add_month(sub.current_period_end)
        db.save(sub)
"""


def _aider_double_charge() -> dict[str, Any]:
    return aider(
        *aider_repo(SAAS_MAP),
        *aider_files([("app/billing/renewals.py", CHARGE_PY)]),
        u(
            "finance says a handful of customers got charged twice for the same month during last week's stripe incident. the code uses idempotency keys so how? and the nightly renewal job runs on two workers for redundancy btw"
        ),
    )


RESET_PY = """def request_reset(email: str) -> None:
    user = User.query.filter_by(email=email).first()
    if not user:
        return
    ts = int(time.time())
    token = hashlib.md5(f"{user.email}{ts}".encode()).hexdigest()
    user.reset_token = token
    db.session.commit()
    send_mail(user.email, "Reset your password", f"{BASE_URL}/reset?email={user.email}&ts={ts}&token={token}")


def do_reset(email: str, ts: int, token: str, new_password: str) -> bool:
    user = User.query.filter_by(email=email).first()
    if user and hashlib.md5(f"{email}{ts}".encode()).hexdigest() == token:
        user.password_hash = bcrypt.hashpw(new_password.encode(), bcrypt.gensalt())
        db.session.commit()
        return True
    return False
"""


def _aider_reset_review() -> dict[str, Any]:
    return aider(
        *aider_files([("app/auth/reset.py", RESET_PY)]),
        u("can you review the password reset flow before we launch? fix anything that's off"),
        s(AIDER_REMINDER),
    )


DYN_ARRAY = """template <class T>
class DynArray {
 public:
  void push_back(const T& v) {
    if (size_ == cap_) resize(cap_ == 0 ? 1 : cap_ * 2);
    data_[size_++] = v;
  }
  void pop_back() {
    --size_;
    if (size_ <= cap_ / 2) resize(cap_ / 2);
  }
 private:
  void resize(size_t n);  // allocate n, move size_ elements, free old
  T* data_ = nullptr;
  size_t size_ = 0, cap_ = 0;
};"""


def _aider_amortized_proof() -> dict[str, Any]:
    return aider(
        *aider_files([("include/dynarray.h", DYN_ARRAY)]),
        u(
            "I need to put in the design doc that push_back and pop_back are amortized O(1). write the proof (potential method) and fix the code if the claim is false"
        ),
    )


HLC_GO = """type HLC struct {
	mu      sync.Mutex
	wall    int64 // ms
	logical int32
	now     func() int64
}

func (c *HLC) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now()
	if pt > c.wall {
		c.wall, c.logical = pt, 0
	} else {
		c.logical++
	}
	return Timestamp{c.wall, c.logical}
}

func (c *HLC) Update(remote Timestamp) Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now()
	switch {
	case pt > c.wall && pt > remote.Wall:
		c.wall, c.logical = pt, 0
	case remote.Wall > c.wall:
		c.wall, c.logical = remote.Wall, 0
	default:
		c.logical++
	}
	return Timestamp{c.wall, c.logical}
}"""

HLC_FAIL = """## Running: go test ./internal/hlc -run TestCausality -count 200

--- FAIL: TestCausality (0.02s)
    hlc_test.go:58: causality violated: event e2 (recv of m1 at node B) has ts {1718000000123 0} which is not > send ts {1718000000123 4}
FAIL
FAIL	github.com/acme/kv/internal/hlc	0.611s"""


def _aider_stuck_hlc() -> dict[str, Any]:
    return aider(
        *aider_files([("internal/hlc/hlc.go", HLC_GO)]),
        u("TestCausality fails sometimes, fix the HLC"),
        a(
            "When the remote wall time is ahead we should take the remote's logical counter into account.\n\ninternal/hlc/hlc.go\n```go\n<<<<<<< SEARCH\n\tcase remote.Wall > c.wall:\n\t\tc.wall, c.logical = remote.Wall, 0\n=======\n\tcase remote.Wall > c.wall:\n\t\tc.wall, c.logical = remote.Wall, remote.Logical\n>>>>>>> REPLACE\n```"
        ),
        u("Fix the test failures:\n\n" + HLC_FAIL),
        a(
            "The receive must be strictly after the send, so increment after adopting the remote counter.\n\ninternal/hlc/hlc.go\n```go\n<<<<<<< SEARCH\n\t\tc.wall, c.logical = remote.Wall, remote.Logical\n=======\n\t\tc.wall, c.logical = remote.Wall, remote.Logical+1\n>>>>>>> REPLACE\n```"
        ),
        u(
            "Fix the test failures:\n\n"
            + HLC_FAIL.replace("{1718000000123 0}", "{1718000000123 2}").replace(
                "{1718000000123 4}", "{1718000000123 6}"
            )
        ),
    )


# --- Continue chat: attached files and selections, then the ask -------------------------------------

CONTINUE_RULES = (
    CONTINUE_CHAT
    + "\n\n<rules>\n- Prefer small, focused diffs.\n- Our stack: TypeScript (strict), Go 1.22, Python 3.12, Postgres 16.\n- Never suggest disabling linters.\n</rules>"
)


def chat(*messages: dict[str, Any], system: str = CONTINUE_RULES) -> dict[str, Any]:
    return req(s(system), *messages)


def _cont_explain_selection() -> dict[str, Any]:
    sel = """def chunked(iterable, size):
    it = iter(iterable)
    while batch := list(islice(it, size)):
        yield batch"""
    return chat(
        u(
            ctx_block("etl/pipeline.py", python_module(40, 8), "python")
            + "\n\n"
            + ctx_block("etl/utils.py", sel, "python", "L41-44")
            + "\n\nwhat does this do? never seen := before"
        )
    )


def _cont_regex_semver() -> dict[str, Any]:
    return chat(
        u(
            ctx_block(
                "scripts/release/validate.ts",
                "export function isValidVersion(v: string): boolean {\n  return /^\\d+\\.\\d+\\.\\d+$/.test(v);\n}",
                "ts",
                "L3-5",
            )
            + "\n\nextend the regex to allow an optional pre-release like -rc.1 or -beta and build metadata +sha.abc123"
        )
    )


SPLIT_GO = """// SplitName splits "Last, First Middle" or "First Middle Last" into first and last.
func SplitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	if i := strings.Index(full, ","); i >= 0 {
		return strings.TrimSpace(full[i+1:]), strings.TrimSpace(full[:i])
	}
	parts := strings.Fields(full)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return parts[0], ""
	default:
		return strings.Join(parts[:len(parts)-1], " "), parts[len(parts)-1]
	}
}"""


def _cont_go_table_test() -> dict[str, Any]:
    return chat(
        u(
            ctx_block("internal/people/names.go", SPLIT_GO, "go")
            + "\n\ntable driven test for SplitName pls, cover the comma form, single word, empty, extra spaces"
        )
    )


def _cont_callback_to_async() -> dict[str, Any]:
    js = """function loadConfig(path, cb) {
  fs.readFile(path, "utf8", (err, raw) => {
    if (err) return cb(err);
    let cfg;
    try {
      cfg = JSON.parse(raw);
    } catch (e) {
      return cb(new Error(`invalid JSON in ${path}: ${e.message}`));
    }
    fs.stat(cfg.dataDir, (err, st) => {
      if (err) return cb(err);
      if (!st.isDirectory()) return cb(new Error(`${cfg.dataDir} is not a directory`));
      cb(null, cfg);
    });
  });
}"""
    return chat(u(ctx_block("src/config.js", js, "js") + "\n\nrewrite with async/await and fs/promises"))


def _cont_csharp_linq() -> dict[str, Any]:
    cs = """var totals = new Dictionary<string, decimal>();
foreach (var order in orders)
{
    if (order.Status != OrderStatus.Paid) continue;
    if (!totals.ContainsKey(order.Country)) totals[order.Country] = 0m;
    totals[order.Country] += order.Total;
}
var top = totals.OrderByDescending(kv => kv.Value).Take(5).ToList();"""
    return chat(u(ctx_block("src/Reports/CountryReport.cs", cs, "csharp", "L18-25") + "\n\ncan this be one linq query"))


def _cont_kotlin_data_class() -> dict[str, Any]:
    java = """public final class Address {
    private final String street;
    private final String city;
    private final String postalCode;
    private final String country;

    public Address(String street, String city, String postalCode, String country) {
        this.street = street;
        this.city = city;
        this.postalCode = postalCode;
        this.country = country;
    }

    public String getStreet() { return street; }
    public String getCity() { return city; }
    public String getPostalCode() { return postalCode; }
    public String getCountry() { return country; }

    @Override public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Address)) return false;
        Address a = (Address) o;
        return street.equals(a.street) && city.equals(a.city) && postalCode.equals(a.postalCode) && country.equals(a.country);
    }

    @Override public int hashCode() { return Objects.hash(street, city, postalCode, country); }
}"""
    return chat(
        u(
            ctx_block("shared/src/main/java/com/acme/shared/Address.java", java, "java")
            + "\n\nkotlin data class version of this"
        )
    )


def _cont_sql_index() -> dict[str, Any]:
    q = """SELECT id, subject, created_at
FROM tickets
WHERE org_id = $1 AND status = 'open'
ORDER BY created_at DESC
LIMIT 50;"""
    return chat(
        u(
            ctx_block("db/queries/tickets.sql", q, "sql", "L12-16")
            + "\n\nthis is slow on big orgs (seq scan on tickets). what index do I add? postgres"
        )
    )


def _cont_dockerfile() -> dict[str, Any]:
    pkg = '{\n  "name": "notes-api",\n  "version": "1.3.0",\n  "type": "module",\n  "main": "dist/server.js",\n  "scripts": {\n    "build": "tsc -p tsconfig.build.json",\n    "start": "node dist/server.js",\n    "test": "vitest run"\n  },\n  "dependencies": {\n    "fastify": "^4.28.1",\n    "pg": "^8.12.0",\n    "zod": "^3.23.8"\n  },\n  "devDependencies": {\n    "typescript": "^5.5.4",\n    "vitest": "^2.0.5",\n    "@types/pg": "^8.11.6"\n  },\n  "engines": { "node": ">=20" }\n}'
    return chat(
        u(
            ctx_block("package.json", pkg, "json")
            + "\n\nwrite a Dockerfile for this. multi-stage, node 20 alpine, non-root, app listens on 8080"
        )
    )


def _cont_jsdoc() -> dict[str, Any]:
    ts = """export function formatMoney(cents: number, currency = "EUR", locale = "de-DE"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

export function parseMoney(input: string): number | null {
  const cleaned = input.replace(/[^\\d,.-]/g, "").replace(/\\.(?=\\d{3}(\\D|$))/g, "").replace(",", ".");
  const n = Number(cleaned);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}"""
    return chat(u(ctx_block("src/lib/money.ts", ts, "ts") + "\n\nadd jsdoc to both, with an @example each"))


def _cont_ts_typo_error() -> dict[str, Any]:
    ts = """export function summarize(items: LineItem[]): Summary {
  const count = items.lenght;
  const total = items.reduce((s, i) => s + i.priceCents * i.qty, 0);
  return { count, total, average: count ? Math.round(total / count) : 0 };
}"""
    return chat(
        u(
            ctx_block("src/cart/summary.ts", ts, "ts")
            + "\n\n```\nsrc/cart/summary.ts:2:23 - error TS2551: Property 'lenght' does not exist on type 'LineItem[]'. Did you mean 'length'?\n```\nfix"
        )
    )


def _cont_cmake_warnings() -> dict[str, Any]:
    cm = """cmake_minimum_required(VERSION 3.20)
project(ringlog C)
set(CMAKE_C_STANDARD 11)

add_subdirectory(third_party/cjson)

add_library(ringlog src/ringlog.c src/format.c)
target_include_directories(ringlog PUBLIC include)
target_link_libraries(ringlog PRIVATE cjson)

add_executable(ringlog-cli src/cli.c)
target_link_libraries(ringlog-cli PRIVATE ringlog)"""
    return chat(
        u(
            ctx_block("CMakeLists.txt", cm, "cmake")
            + "\n\nturn on -Wall -Wextra -Werror for our own targets only, not cjson (it has warnings we can't fix)"
        )
    )


def _cont_bash_getopts() -> dict[str, Any]:
    sh = """#!/usr/bin/env bash
set -euo pipefail

src="$1"
dest="$2"

rsync -a --delete "$src/" "$dest/"
echo "synced $src -> $dest\""""
    return chat(
        u(
            ctx_block("bin/sync.sh", sh, "bash")
            + "\n\nadd -v (rsync --verbose + print each step) and -n (dry run, rsync -n) flags with getopts, keep src and dest positional"
        )
    )


def _cont_gha_cache() -> dict[str, Any]:
    wf = """name: test
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - run: pip install -r requirements.txt -r requirements-dev.txt
      - run: pytest -q"""
    return chat(u(ctx_block(".github/workflows/test.yml", wf, "yaml") + "\n\nadd pip caching"))


def _cont_py_dataclass() -> dict[str, Any]:
    py = """def make_shipment(order_id, carrier, tracking=None, weight_kg=0.0, items=None):
    return {
        "order_id": order_id,
        "carrier": carrier,
        "tracking": tracking,
        "weight_kg": weight_kg,
        "items": items or [],
    }


def label_text(shipment):
    return f"{shipment['carrier'].upper()} {shipment['tracking'] or 'PENDING'} ({shipment['weight_kg']:.1f} kg)\""""
    return chat(
        u(
            ctx_block("shipping/rates.py", python_module(30, 44), "python")
            + "\n\n"
            + ctx_block("shipping/shipments.py", py, "python")
            + "\n\nturn the dict into a frozen dataclass Shipment and update label_text"
        )
    )


def _cont_rust_iter() -> dict[str, Any]:
    rs = """fn active_emails(users: &[User]) -> Vec<String> {
    let mut out = Vec::new();
    for u in users {
        if u.active && !u.email.is_empty() {
            out.push(u.email.to_lowercase());
        }
    }
    out.sort();
    out.dedup();
    out
}"""
    return chat(u(ctx_block("src/users.rs", rs, "rust", "L88-98") + "\n\nmore idiomatic with iterators?"))


def _cont_go_wrap_errors() -> dict[str, Any]:
    go = """func LoadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open manifest: %v", err)
	}
	defer f.Close()
	var m Manifest
	if err := yaml.NewDecoder(f).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest %s: %v", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, errors.New("invalid manifest: " + err.Error())
	}
	return &m, nil
}"""
    return chat(
        u(
            ctx_block("internal/deploy/store.go", go_file(55, 9), "go")
            + "\n\n"
            + ctx_block("internal/deploy/manifest.go", go, "go")
            + "\n\nwrap errors properly so callers can errors.Is(err, fs.ErrNotExist)"
        )
    )


def _cont_php_match() -> dict[str, Any]:
    php = """function statusLabel(string $status): string
{
    switch ($status) {
        case 'pending':
            return 'Awaiting payment';
        case 'paid':
        case 'processing':
            return 'Being prepared';
        case 'shipped':
            return 'On its way';
        case 'delivered':
            return 'Delivered';
        default:
            return 'Unknown';
    }
}"""
    return chat(u(ctx_block("src/Orders/StatusLabel.php", php, "php") + "\n\nconvert to a match expression (php 8.3)"))


# --- Continue chat: harder asks ----------------------------------------------------------------------

NPE_TRACE = """java.lang.NullPointerException: Cannot invoke "com.acme.crm.customer.Address.getCountry()" because the return value of "com.acme.crm.customer.Customer.getBillingAddress()" is null
	at com.acme.crm.tax.TaxService.rateFor(TaxService.java:42)
	at com.acme.crm.invoice.InvoiceService.draft(InvoiceService.java:88)
	at com.acme.crm.invoice.InvoiceController.createDraft(InvoiceController.java:31)"""


def _cont_debug_npe() -> dict[str, Any]:
    return chat(
        u(
            ctx_block(
                "src/main/java/com/acme/crm/tax/TaxService.java",
                "public BigDecimal rateFor(Customer c, Product p) {\n    String country = c.getBillingAddress().getCountry();\n    if (p.isDigital()) return vatRates.digital(country);\n    return vatRates.standard(country);\n}",
                "java",
                "L40-45",
            )
            + "\n\n"
            + ctx_block(
                "src/main/java/com/acme/crm/invoice/InvoiceService.java",
                "public Invoice draft(UUID customerId, List<LineRequest> lines) {\n    Customer c = customers.findById(customerId).orElseThrow();\n    Invoice inv = Invoice.draftFor(c);\n    for (LineRequest l : lines) {\n        Product p = products.get(l.productId());\n        inv.addLine(p, l.qty(), taxes.rateFor(c, p));\n    }\n    return invoices.save(inv);\n}",
                "java",
                "L80-89",
            )
            + "\n\n"
            + ctx_block(
                "src/main/java/com/acme/crm/customer/Customer.java",
                "@Entity\npublic class Customer {\n    @Id UUID id;\n    @OneToOne(fetch = FetchType.LAZY, optional = true) Address billingAddress;\n    @OneToOne(fetch = FetchType.LAZY, optional = false) Address shippingAddress;\n    boolean billingSameAsShipping;\n    public Address getBillingAddress() { return billingAddress; }\n}",
                "java",
            )
            + "\n\ngetting this when drafting invoices for some customers since last release:\n```\n"
            + NPE_TRACE
            + "\n```\nwhat's the right fix? the last release added 'billing same as shipping' checkbox on signup"
        )
    )


def _cont_long_mechanical() -> dict[str, Any]:
    return chat(
        u(
            ctx_block("app/legacy/reconcile.py", python_module(130, 55), "python")
            + "\n\nadd a module-level __all__ listing every public function in this file, alphabetical"
        )
    )


def _cont_pagination_two_files() -> dict[str, Any]:
    repo = """public interface ProductRepository extends JpaRepository<Product, UUID> {
    List<Product> findByCategoryOrderByNameAsc(String category);
}"""
    ctrl = """@RestController
@RequestMapping("/api/products")
class ProductController {
    private final ProductRepository repo;

    ProductController(ProductRepository repo) { this.repo = repo; }

    @GetMapping
    List<ProductDto> list(@RequestParam String category) {
        return repo.findByCategoryOrderByNameAsc(category).stream().map(ProductDto::from).toList();
    }
}"""
    return chat(
        u(
            ctx_block("src/main/java/com/acme/shop/ProductRepository.java", repo, "java")
            + "\n\n"
            + ctx_block("src/main/java/com/acme/shop/ProductController.java", ctrl, "java")
            + "\n\nadd keyset pagination (after=<last name+id>, limit default 20 max 100) to the list endpoint, response {items, nextCursor}. names aren't unique"
        )
    )


MPMC_CPP = """template <class T, size_t N>
class MpmcQueue {
  struct Cell { std::atomic<size_t> seq; T value; };
  alignas(64) Cell cells_[N];
  alignas(64) std::atomic<size_t> enq_{0};
  alignas(64) std::atomic<size_t> deq_{0};
 public:
  MpmcQueue() { for (size_t i = 0; i < N; ++i) cells_[i].seq.store(i, std::memory_order_relaxed); }

  bool push(const T& v) {
    size_t pos = enq_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos % N];
      size_t seq = c.seq.load(std::memory_order_acquire);
      intptr_t diff = (intptr_t)seq - (intptr_t)pos;
      if (diff == 0) {
        if (enq_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.value = v;
          c.seq.store(pos + 1, std::memory_order_relaxed);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = enq_.load(std::memory_order_relaxed);
      }
    }
  }

  bool pop(T& out) {
    size_t pos = deq_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos % N];
      size_t seq = c.seq.load(std::memory_order_acquire);
      intptr_t diff = (intptr_t)seq - (intptr_t)(pos + 1);
      if (diff == 0) {
        if (deq_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = c.value;
          c.seq.store(pos + N, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = deq_.load(std::memory_order_relaxed);
      }
    }
  }
};"""


def _cont_mpmc_review() -> dict[str, Any]:
    return chat(
        u(
            ctx_block("src/queue/mpmc.h", MPMC_CPP, "cpp")
            + "\n\nadapted this from the well-known bounded MPMC design. is it correct? it passes our 8-thread test on x86"
        )
    )


SESSION_GO = """func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		var s Session
		raw, _ := base64.URLEncoding.DecodeString(c.Value)
		if err := json.Unmarshal(raw, &s); err != nil || s.ExpiresAt.Before(time.Now()) {
			next.ServeHTTP(w, r)
			return
		}
		if s.MAC != m.mac(s.UserID, s.ExpiresAt) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), ctxUser{}, s)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (m *Manager) mac(uid string, exp time.Time) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(uid + exp.Format(time.RFC3339)))
	return hex.EncodeToString(h.Sum(nil))
}

// Session also carries Role, set at login from the users table.
type Session struct {
	UserID    string    `json:"uid"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"exp"`
	MAC       string    `json:"mac"`
}"""


def _cont_session_review() -> dict[str, Any]:
    return chat(
        u(
            ctx_block("internal/auth/session.go", SESSION_GO, "go")
            + "\n\nanything wrong here security-wise? we're replacing server-side sessions with this to get rid of redis"
        )
    )


def _cont_replication_disappear() -> dict[str, Any]:
    cfg = """# pgbouncer / app routing
primary: db-primary.internal:5432
replicas:
  - db-replica-1.internal:5432   # async streaming replication
  - db-replica-2.internal:5432   # async streaming replication
failover: patroni, maximum_lag_on_failover: 1048576   # 1MB
synchronous_mode: false"""
    py = """def get_db(kind: str = "read"):
    if kind == "write" or request_ctx.get("wrote_recently"):
        return primary_pool.connection()
    return random.choice(replica_pools).connection()


def create_order(payload):
    with get_db("write") as conn:
        order_id = insert_order(conn, payload)
    request_ctx.set("wrote_recently", True)   # this request only
    return order_id"""
    return chat(
        u(
            ctx_block("deploy/db.yaml", cfg, "yaml")
            + "\n\n"
            + ctx_block("app/db.py", py, "python")
            + "\n\nsince the patroni failover on tuesday a few customers say orders they placed (and got confirmation emails for) are just gone, and separately people sometimes see a new order vanish from their list for a few seconds right after placing it. are these related? what do we do"
        )
    )


TLA = """---- MODULE Lease ----
EXTENDS Naturals, Sequences
CONSTANTS Nodes, TTL
VARIABLES holder, expires, clock, writes

Init == holder = "none" /\\ expires = 0 /\\ clock = [n \\in Nodes |-> 0] /\\ writes = <<>>

Acquire(n) == /\\ clock[n] >= expires
              /\\ holder' = n /\\ expires' = clock[n] + TTL
              /\\ UNCHANGED <<clock, writes>>

Write(n) == /\\ holder = n /\\ clock[n] < expires
            /\\ writes' = Append(writes, <<n, expires>>)
            /\\ UNCHANGED <<holder, expires, clock>>

Tick(n) == clock' = [clock EXCEPT ![n] = @ + 1] /\\ UNCHANGED <<holder, expires, writes>>

Next == \\E n \\in Nodes : Acquire(n) \\/ Write(n) \\/ Tick(n)

\\* no two different nodes write under the same lease
OneWriter == \\A i, j \\in 1..Len(writes) : writes[i][2] = writes[j][2] => writes[i][1] = writes[j][1]
===="""


def _cont_tla_lease() -> dict[str, Any]:
    return chat(
        u(
            ctx_block("specs/Lease.tla", TLA, "tla")
            + "\n\nTLC says OneWriter holds for 3 nodes TTL 3 but our real system had two writers. I think the spec is wrong, not TLC. what is the spec failing to model (the clocks are per node) and how should I write the invariant and the actions so TLC can find the real bug?"
        )
    )


AI = "aider"
CN = "continue"

CASES = [
    # aider: mechanical asks under long injected context
    case(
        "aider-rename-usr-param",
        "local",
        "A parameter rename in one added file; the repo map lists auth and crypto files, which the ask never touches.",
        _aider_rename_usr(),
        "python",
        AI,
        "edit",
        "misleading",
        "stage-first-turn",
    ),
    case(
        "aider-go-doc-comments",
        "local",
        "Doc comments for four short exported functions.",
        _aider_go_doc_comments(),
        "go",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-type-hints",
        "local",
        "Type hints on five small functions.",
        _aider_type_hints(),
        "python",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-dry-run-flag",
        "local",
        "A --dry-run flag that skips one call: a mechanical edit of a short script.",
        _aider_dry_run_flag(),
        "python",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-commit-message-export",
        "local",
        "The client's commit-message request for a small diff: one line.",
        _aider_commit_message_py(),
        "python",
        AI,
        "aux",
        "git",
    ),
    case(
        "aider-commit-message-react-query",
        "local",
        "The client's commit-message request for a dependency bump diff: one line.",
        _aider_commit_message_ts(),
        "typescript",
        AI,
        "aux",
        "git",
    ),
    case(
        "aider-summarize-history",
        "local",
        "The client's chat-history summary request over a short transcript.",
        _aider_summarize_history(),
        "python",
        AI,
        "aux",
    ),
    case(
        "aider-lint-missing-import",
        "local",
        "The client's lint-fix turn: F821 for Decimal, fix is one import line.",
        _aider_lint_undefined_name(),
        "python",
        AI,
        "stage-test-fail",
        "lint",
    ),
    case(
        "aider-followup-restore-comparison",
        "local",
        "Put one operator back and keep a log line: a small follow-up edit.",
        _aider_followup_revert_check(),
        "python",
        AI,
        "stage-followup",
        "edit",
    ),
    case(
        "aider-followup-why-is-none",
        "local",
        "Explain `is not None` vs `!= None`: a textbook answer after a small edit.",
        _aider_followup_why_is_none(),
        "python",
        AI,
        "stage-followup",
        "question",
    ),
    case(
        "aider-empty-list-average",
        "local",
        "Guard a division for an empty list.",
        _aider_empty_case(),
        "python",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-rust-derives",
        "local",
        "Add derives to four structs (Duration/PathBuf derive fine).",
        _aider_rust_derives(),
        "rust",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-ts-extract-interface",
        "local",
        "Extract an inline type into an exported interface.",
        _aider_ts_interface(),
        "typescript",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-cpp-const-ref-params",
        "local",
        "Change by-value parameters to const references in two declarations and definitions.",
        _aider_cpp_const_ref(),
        "cpp",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-k8s-resources-probe",
        "local",
        "Add standard resources and a readiness probe to one Deployment.",
        _aider_k8s_resources(),
        "kubernetes",
        "yaml",
        AI,
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-terraform-tags",
        "local",
        "Add a tags attribute to six resources and a merged Name tag on two.",
        _aider_terraform_tags(),
        "terraform",
        AI,
        "edit",
        "stage-first-turn",
    ),
    # aider: harder asks
    case(
        "aider-autotest-timezone-fail",
        "sonnet",
        "The client's test-fix turn: a missing import plus orgs with no timezone need a fallback; small multi-file debugging with the evidence given.",
        _aider_autotest_fail(),
        "python",
        AI,
        "stage-test-fail",
    ),
    case(
        "aider-long-repo-map-imports",
        "sonnet",
        "Sorting imports is mechanical, but the repo map and file push the request past 30k characters.",
        _aider_long_repo_mechanical(),
        "python",
        AI,
        "long",
        "edit",
        "stage-first-turn",
    ),
    case(
        "aider-double-charge-idempotency",
        "sonnet",
        "The idempotency key includes the attempt number, so a retried charge that had succeeded is charged again; the code shows it.",
        _aider_double_charge(),
        "python",
        AI,
        "debugging",
        "payments",
        "stage-first-turn",
    ),
    case(
        "aider-password-reset-review",
        "opus",
        "Security review of a reset flow: md5 of guessable inputs, no expiry, token not invalidated, email enumeration.",
        _aider_reset_review(),
        "python",
        AI,
        "security",
        "stage-first-turn",
    ),
    case(
        "aider-amortized-shrink-proof",
        "opus",
        "An amortised-bound proof where the claim is false: shrinking at half capacity thrashes; needs the potential argument and a 1/4 threshold.",
        _aider_amortized_proof(),
        "cpp",
        AI,
        "proof",
        "stage-first-turn",
    ),
    case(
        "aider-stuck-hlc-causality",
        "opus",
        "The client's test-fix turn after two failed attempts: the HLC ignores the remote logical counter when wall times tie; causality reasoning.",
        _aider_stuck_hlc(),
        "go",
        AI,
        "stage-stuck",
        "repeated-failure",
        "distributed",
    ),
    # Continue chat: mechanical
    case(
        "contchat-explain-walrus-chunked",
        "local",
        "Explain a four-line generator and the walrus operator.",
        _cont_explain_selection(),
        "python",
        CN,
        "question",
        "stage-first-turn",
    ),
    case(
        "contchat-semver-regex",
        "local",
        "Extend a version regex with pre-release and build metadata.",
        _cont_regex_semver(),
        "typescript",
        CN,
        "regex",
        "stage-first-turn",
    ),
    case(
        "contchat-go-table-test",
        "local",
        "A table-driven test for a pure function.",
        _cont_go_table_test(),
        "go",
        CN,
        "test",
        "stage-first-turn",
    ),
    case(
        "contchat-callbacks-to-async",
        "local",
        "Rewrite nested callbacks with fs/promises.",
        _cont_callback_to_async(),
        "javascript",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-csharp-linq-groupby",
        "local",
        "Rewrite a loop as a LINQ GroupBy query.",
        _cont_csharp_linq(),
        "csharp",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-java-to-kotlin-data-class",
        "local",
        "Translate a value class to a Kotlin data class.",
        _cont_kotlin_data_class(),
        "kotlin",
        "java",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-postgres-composite-index",
        "local",
        "Textbook composite index for an equality filter plus ORDER BY.",
        _cont_sql_index(),
        "sql",
        CN,
        "question",
        "stage-first-turn",
    ),
    case(
        "contchat-node-dockerfile",
        "local",
        "Standard multi-stage Dockerfile for a small Node app.",
        _cont_dockerfile(),
        "docker",
        "typescript",
        CN,
        "boilerplate",
        "stage-first-turn",
    ),
    case(
        "contchat-jsdoc-money",
        "local",
        "JSDoc with examples for two short functions.",
        _cont_jsdoc(),
        "typescript",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-ts-typo-length",
        "local",
        "A typo the compiler already names.",
        _cont_ts_typo_error(),
        "typescript",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-cmake-warnings-own-targets",
        "local",
        "target_compile_options on two targets.",
        _cont_cmake_warnings(),
        "cmake",
        "c",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-bash-getopts",
        "local",
        "Add two getopts flags to a short script.",
        _cont_bash_getopts(),
        "shell",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-gha-pip-cache",
        "local",
        "setup-python's cache option in a workflow.",
        _cont_gha_cache(),
        "yaml",
        "github-actions",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-dict-to-dataclass",
        "local",
        "Replace a dict with a frozen dataclass in two small functions.",
        _cont_py_dataclass(),
        "python",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-rust-iterator-chain",
        "local",
        "Loop to iterator chain.",
        _cont_rust_iter(),
        "rust",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-go-wrap-errors",
        "local",
        "Use %w in three error returns.",
        _cont_go_wrap_errors(),
        "go",
        CN,
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-php-match",
        "local",
        "switch to match expression.",
        _cont_php_match(),
        "php",
        CN,
        "edit",
        "stage-first-turn",
    ),
    # Continue chat: harder
    case(
        "contchat-npe-billing-same-as-shipping",
        "sonnet",
        "Debugging across three attached files with a trace: the new checkbox leaves billingAddress null; fix in the model or a fallback, with a data backfill question.",
        _cont_debug_npe(),
        "java",
        "spring",
        CN,
        "debugging",
        "stage-first-turn",
    ),
    case(
        "contchat-long-module-all",
        "sonnet",
        "A mechanical __all__ list, but the attached module is over 30k characters.",
        _cont_long_mechanical(),
        "python",
        CN,
        "long",
        "edit",
        "stage-first-turn",
    ),
    case(
        "contchat-keyset-pagination",
        "sonnet",
        "Keyset pagination with a (name, id) cursor across repository and controller: routine feature work.",
        _cont_pagination_two_files(),
        "java",
        "spring",
        CN,
        "feature",
        "stage-first-turn",
    ),
    case(
        "contchat-mpmc-queue-review",
        "opus",
        "Lock-free review: the producer publishes the cell with a relaxed seq store, so consumers can read the value before it is written on weak memory models.",
        _cont_mpmc_review(),
        "cpp",
        CN,
        "memory-model",
        "concurrency",
        "stage-first-turn",
    ),
    case(
        "contchat-stateless-session-review",
        "opus",
        "Security review of a stateless cookie: Role isn't covered by the MAC, non-constant-time compare, no revocation, delimiter-free MAC input.",
        _cont_session_review(),
        "go",
        CN,
        "security",
        "stage-first-turn",
    ),
    case(
        "contchat-failover-lost-orders",
        "opus",
        "Async replication with lag allowed on failover loses acknowledged writes, and per-request read-your-writes fails across requests: two replication anomalies.",
        _cont_replication_disappear(),
        "python",
        "postgres",
        CN,
        "distributed",
        "stage-first-turn",
    ),
    case(
        "contchat-tla-lease-clocks",
        "opus",
        "TLA+: the spec makes lease ownership global truth (Write checks the shared holder), so a node acting on its own stale view of the lease is never modelled; needs per-node lease beliefs, clock drift and a new invariant.",
        _cont_tla_lease(),
        "tla",
        CN,
        "proof",
        "distributed",
        "stage-first-turn",
    ),
]
