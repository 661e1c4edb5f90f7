"""Long pastes, second batch: logs, stack traces, whole modules, diffs, configs, CSV/JSON exports and specs,
with asks from mechanical to hard. Per the rubric, more than ~30k characters of context is at least sonnet
whatever the ask, and below that a mechanical ask over long context is local; several cases sit on either
side of that line (20k-40k characters), and several put a one-line hard question at the very start or the
very end of a long paste."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

import random

from fixtures import CONTINUE_CHAT, a, case, code, go_file, json_blob, log_lines, python_module, req, s, u, unified_diff
from fixtures_long import (
    access_log,
    consensus_py_module,
    java_class,
    k8s_manifests,
    markdown_doc,
    metrics_dump,
    multi_source_log,
    orders_csv,
    psp_and_ledger,
    pytest_report,
    spring_trace,
    sql_schema,
    terraform_module,
    tf_plan_updates,
    ts_module,
)

# --- logs -------------------------------------------------------------------------------------------


def _gateway_timeout_log() -> str:
    return log_lines(
        250,
        44,
        [
            "WARN  [gateway] [worker-4] upstream inventory-svc slow: 2840ms for GET /api/v1/stock/8812",
            "ERROR [gateway] [worker-4] GET /api/v1/stock/8812 504 upstream timeout after 3000ms (inventory-svc)",
            "ERROR [gateway] [worker-1] GET /api/v1/stock/1290 504 upstream timeout after 3000ms (inventory-svc)",
            "WARN  [gateway] [worker-6] circuit inventory-svc open after 5 failures",
            "ERROR [gateway] [worker-2] GET /api/v1/stock/4417 503 circuit open (inventory-svc)",
        ],
        at=0.55,
        service="gateway",
    )


def _db_timeout_log_big() -> str:
    return log_lines(
        410,
        59,
        [
            "WARN  [orders-api] [worker-7] slow query 4870ms: SELECT ... FROM order_lines WHERE order_id = ANY($1)",
            'ERROR [orders-api] [worker-7] GET /api/v1/orders/55120 500 5004ms error="pq: canceling statement due to statement timeout"',
            'ERROR [orders-api] [worker-3] GET /api/v1/orders/81234 500 5002ms error="pq: canceling statement due to statement timeout"',
            "WARN  [orders-api] [worker-3] db pool acquired conn=16 wait=1875ms",
        ],
        at=0.81,
    )


def _enospc_log() -> str:
    failing = {
        "[ingest]": [
            "ERROR flush failed: write /var/lib/ingest/segments/000142.seg: no space left on device",
            "WARN disk usage /var/lib/ingest 100%",
            "GET /healthz 200 1ms",
        ],
        "[compactor]": ["WARN compaction skipped: not enough free space for output segment (need {c}00 MB, have 0 MB)"],
        "[api]": [
            'ERROR POST /v1/ingest 503 {c}ms error="ingest unavailable: ENOSPC"',
            "GET /v1/query?range=1h 200 {ms}ms",
        ],
    }
    return multi_source_log(
        150,
        72,
        {
            "[ingest]": [
                "accepted batch size={c}00 from collector-{c}",
                "flushed segment {seg:06d}.seg ({ms} MB)",
                "GET /healthz 200 1ms",
            ],
            "[compactor]": ["compacted {c} segments in {ms}ms", "compaction queue depth={c}"],
            "[api]": ["GET /v1/query?range=1h 200 {ms}ms", "POST /v1/ingest 202 {ms}ms"],
        },
        [
            (
                0.7,
                [
                    "[ingest] WARN disk usage /var/lib/ingest 97%",
                    "[compactor] WARN compaction skipped: not enough free space for output segment (need 812 MB, have 301 MB)",
                    "[ingest] WARN disk usage /var/lib/ingest 100%",
                    "[ingest] ERROR flush failed: write /var/lib/ingest/segments/000142.seg: no space left on device",
                    '[api] ERROR POST /v1/ingest 503 2ms error="ingest unavailable: ENOSPC"',
                    "[ingest] ERROR wal append failed: open /var/lib/ingest/wal/00000091.log: no space left on device",
                ],
                failing,
            )
        ],
        start="02:58:10",
        counters={"seg": 123},
    )


def _dns_checkout_log() -> str:
    after = {
        "[checkout]": [
            'ERROR charge failed: Post "https://payments.internal.acme.io/v1/charges": dial tcp: lookup payments.internal.acme.io on 10.96.0.10:53: no such host',
            "WARN POST /v1/checkout 502 {ms}ms cart=c_{n} reason=payment_unavailable",
            "GET http://catalog.shop.svc.cluster.local/v1/products/{n} 200 {ms}ms",
            "reserved stock for cart=c_{n} items={c}",
            "released stock for cart=c_{n}: payment failed",
        ],
        "[cart]": ["GET /v1/cart/c_{n} 200 {ms}ms", "PUT /v1/cart/c_{n}/items 200 {ms}ms"],
        "[node-agent]": ["heartbeat ok node=ip-10-4-{c}-17", "kubelet pods={c}0 ready"],
    }
    return multi_source_log(
        250,
        73,
        {
            "[checkout]": [
                "POST /v1/checkout 200 {ms}ms cart=c_{n}",
                "GET http://catalog.shop.svc.cluster.local/v1/products/{n} 200 {ms}ms",
                "charge ok: POST https://payments.internal.acme.io/v1/charges 201 {ms}ms",
                "reserved stock for cart=c_{n} items={c}",
            ],
            "[cart]": ["GET /v1/cart/c_{n} 200 {ms}ms", "PUT /v1/cart/c_{n}/items 200 {ms}ms"],
            "[node-agent]": ["heartbeat ok node=ip-10-4-{c}-17", "kubelet pods={c}0 ready"],
        },
        [
            (
                0.48,
                [
                    "[node-agent] INFO config-sync: applied ConfigMap kube-system/node-local-dns revision 42",
                    "[node-agent] INFO config-sync: /etc/resolv.conf nameserver 169.254.20.10 -> 10.96.0.10",
                    "[node-agent] INFO stopped node-local-dns: disabled by revision 42",
                    '[checkout] ERROR charge failed: Post "https://payments.internal.acme.io/v1/charges": dial tcp: lookup payments.internal.acme.io on 10.96.0.10:53: no such host',
                    "[checkout] INFO GET http://catalog.shop.svc.cluster.local/v1/products/40112 200 12ms",
                    "[checkout] WARN POST /v1/checkout 502 31ms cart=c_66120 reason=payment_unavailable",
                ],
                after,
            ),
        ],
        start="14:28:30",
    )


_ORDERS_API = [
    "POST /v1/orders 201 {ms}ms order_id=ord_{n}",
    "POST /v1/orders 201 {ms}ms order_id=ord_{n}",
    "GET /v1/orders/ord_{n} 200 {ms}ms",
    "GET /v1/orders/ord_{n} 200 {ms}ms",
    "PATCH /v1/orders/ord_{n} 200 {ms}ms",
    "db pool in_use={c}/40 wait=0ms",
]


def _failover_log() -> str:
    steady = {
        "[orders-api]": _ORDERS_API,
        "[patroni pg-0]": ["no action. I am (pg-0), the leader with the lock"],
        "[patroni pg-1]": ["no action. I am (pg-1), a secondary, and following a leader (pg-0)"],
        "[patroni pg-2]": ["no action. I am (pg-2), a secondary, and following a leader (pg-0)"],
        "[haproxy]": ["DEBUG pg_write/pg-0 check 200 in {c}ms", "DEBUG pg_read/pg-1 check 200 in {c}ms"],
    }
    dcs_lost = {**steady, "[patroni pg-0]": ["WARN Failed to update leader lock: etcd unreachable, retrying"]}
    two_primaries = {
        "[orders-api]": _ORDERS_API,
        "[patroni pg-0]": ["WARN Failed to update leader lock: etcd unreachable, retrying"],
        "[patroni pg-1]": ["no action. I am (pg-1), the leader with the lock"],
        "[patroni pg-2]": ["no action. I am (pg-2), a secondary, and following a leader (pg-1)"],
        "[haproxy]": ["DEBUG pg_write/pg-0 check 200 in {c}ms", "DEBUG pg_write/pg-1 check 200 in {c}ms"],
    }
    one_primary = {
        "[orders-api]": _ORDERS_API,
        "[patroni pg-1]": ["no action. I am (pg-1), the leader with the lock"],
        "[patroni pg-2]": ["no action. I am (pg-2), a secondary, and following a leader (pg-1)"],
        "[haproxy]": ["DEBUG pg_write/pg-1 check 200 in {c}ms", "DEBUG pg_read/pg-2 check 200 in {c}ms"],
    }
    healed = {
        **one_primary,
        "[patroni pg-0]": ["no action. I am (pg-0), a secondary, and following a leader (pg-1)"],
    }
    return multi_source_log(
        350,
        74,
        steady,
        [
            (
                0.4,
                [
                    "[patroni pg-0] WARN Request failed to etcd-1:2379: ReadTimeoutError(\"HTTPConnectionPool(host='10.4.1.21', port=2379): Read timed out. (read timeout=3.333)\")",
                    "[patroni pg-0] WARN Request failed to etcd-2:2379: ReadTimeoutError(\"HTTPConnectionPool(host='10.4.2.21', port=2379): Read timed out. (read timeout=3.333)\")",
                    "[patroni pg-0] ERROR Failed to update leader lock: etcd unreachable, retrying for 10s",
                    "[orders-api] INFO POST /v1/orders 201 38ms order_id=ord_77102",
                    "[orders-api] INFO POST /v1/orders 201 41ms order_id=ord_77108",
                ],
                dcs_lost,
            ),
            (
                0.45,
                [
                    "[patroni pg-1] INFO Lock owner: None; I am pg-1",
                    "[patroni pg-1] INFO pg-2 reports received_location=3/1A00F2C8 replayed_location=3/1A00F2C8",
                    "[patroni pg-1] INFO my wal position 3/1A00F2C8, leader's last known position 3/1A2F10D0 (lag 3.0 MB < maximum_lag_on_failover 32 MB)",
                    "[patroni pg-1] INFO acquired session lock as a leader",
                    "[postgres pg-1] LOG received promote request",
                    "[postgres pg-1] LOG redo done at 3/1A00F2C8",
                    "[postgres pg-1] LOG selected new timeline ID: 8",
                    "[postgres pg-1] LOG database system is ready to accept connections",
                    "[patroni pg-1] INFO promoted self to leader by acquiring session lock",
                    "[orders-api] INFO POST /v1/orders 201 44ms order_id=ord_77115",
                    "[haproxy] INFO pg_write/pg-1 UP, check 200 in 3ms",
                    "[haproxy] WARN pg_write has 2 UP servers: pg-0, pg-1",
                    "[orders-api] INFO POST /v1/orders 201 39ms order_id=ord_77120",
                    "[orders-api] INFO POST /v1/orders 201 51ms order_id=ord_77124",
                ],
                two_primaries,
            ),
            (
                0.49,
                [
                    "[orders-api] INFO POST /v1/orders 201 36ms order_id=ord_77131",
                    "[patroni pg-0] ERROR Failed to update leader lock: etcd unreachable",
                    "[patroni pg-0] INFO Demoting self (immediate-nolock)",
                    "[postgres pg-0] LOG received immediate shutdown request",
                    "[orders-api] WARN db error: terminating connection due to administrator command (SQLSTATE 57P01), retrying",
                    "[haproxy] WARN pg_write/pg-0 DOWN, reason: Layer7 wrong status, code: 503, check duration: 2ms. 1 active server left",
                    "[orders-api] INFO POST /v1/orders 201 88ms order_id=ord_77140",
                ],
                one_primary,
            ),
            (
                0.62,
                [
                    "[patroni pg-0] INFO etcd reachable again",
                    "[patroni pg-0] INFO Lock owner: pg-1; I am pg-0",
                    "[patroni pg-0] INFO running pg_rewind from pg-1",
                    "[postgres pg-0] LOG pg_rewind: servers diverged at WAL location 3/1A00F2C8 on timeline 7",
                    "[postgres pg-0] LOG pg_rewind: rewinding from last common checkpoint at 3/19FF7A40 on timeline 7",
                    "[postgres pg-0] LOG pg_rewind: Done!",
                    "[patroni pg-0] INFO starting as a secondary",
                ],
                healed,
            ),
            (
                0.9,
                [
                    "[orders-api] WARN GET /v1/orders/ord_77120 404 4ms",
                    "[orders-api] WARN GET /v1/orders/ord_77108 404 3ms",
                    "[orders-api] WARN GET /v1/orders/ord_77131 404 5ms",
                ],
            ),
        ],
        start="09:40:00",
    )


_PATRONI_YML = """
scope: orders
ttl: 20
loop_wait: 10
retry_timeout: 10
maximum_lag_on_failover: 33554432
synchronous_mode: false
postgresql:
  use_pg_rewind: true
  parameters:
    synchronous_commit: "on"
    wal_level: replica
"""

_HAPROXY_CFG = """
backend pg_write
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 3s fall 3 rise 2
    server pg-0 10.4.0.11:5432 maxconn 200 check port 8008
    server pg-1 10.4.1.11:5432 maxconn 200 check port 8008
    server pg-2 10.4.2.11:5432 maxconn 200 check port 8008
"""


def _kafka_rebalance_log() -> str:
    before = {
        "[invoice-1]": [
            "processed offset={pa} partition=3 -> invoice inv_{n} in {ms}ms",
            "DEBUG committed offsets {{invoices-in-3={pa_next}}}",
        ],
        "[invoice-2]": [
            "processed offset={pb} partition=6 -> invoice inv_{n} in {ms}ms",
            "DEBUG committed offsets {{invoices-in-6={pb_next}}}",
        ],
        "[invoice-3]": [
            "processed offset={pc} partition=1 -> invoice inv_{n} in {ms}ms",
            "DEBUG committed offsets {{invoices-in-1={pc_next}}}",
        ],
    }
    big_batch = {**before, "[invoice-2]": ["processed offset={pb} partition=6 -> invoice inv_{n} in {s}ms"]}
    after = {
        "[invoice-1]": before["[invoice-1]"],
        "[invoice-2]": [
            "processed offset={pd} partition=2 -> invoice inv_{n} in {ms}ms",
            "DEBUG committed offsets {{invoices-in-2={pd_next}}}",
        ],
        "[invoice-3]": [
            "processed offset={pc} partition=1 -> invoice inv_{n} in {ms}ms",
            "processed offset={pb_replay} partition=6 -> invoice inv_{n} in {ms}ms",
            "DEBUG poll returned {c} records",
        ],
    }
    return multi_source_log(
        250,
        75,
        before,
        [
            (
                0.4,
                [
                    "[invoice-2] DEBUG committed offsets {{invoices-in-6={pb_mark}}}",
                    "[invoice-2] INFO poll returned 500 records",
                    "[invoice-2] INFO processed offset={pb} partition=6 -> invoice inv_55093 in 2140ms",
                    "[invoice-2] INFO processed offset={pb} partition=6 -> invoice inv_55097 in 1980ms",
                ],
                big_batch,
            ),
            (
                0.6,
                [
                    "[invoice-2] WARN [Consumer clientId=invoice-2, groupId=invoicing] consumer poll timeout has expired. This means the time between subsequent calls to poll() was longer than the configured max.poll.interval.ms, which typically implies that the poll loop is spending too much time processing messages. You can address this either by increasing max.poll.interval.ms or by reducing the maximum size of batches returned in poll() with max.poll.records.",
                    "[invoice-2] INFO [Consumer clientId=invoice-2, groupId=invoicing] Member invoice-2-5b1f0c3e sending LeaveGroup request to coordinator kafka-1:9092 (id: 2147483646 rack: null) due to consumer poll timeout has expired.",
                    "[invoice-1] INFO [Consumer clientId=invoice-1, groupId=invoicing] Request joining group due to: group is already rebalancing",
                    "[invoice-3] INFO [Consumer clientId=invoice-3, groupId=invoicing] Revoke previously assigned partitions invoices-in-1",
                    "[invoice-3] INFO [Consumer clientId=invoice-3, groupId=invoicing] Adding newly assigned partitions: invoices-in-1, invoices-in-6",
                    "[invoice-3] INFO [Consumer clientId=invoice-3, groupId=invoicing] Setting offset for partition invoices-in-6 to the committed offset FetchPosition{{offset={pb_marked}, offsetEpoch=Optional[31], currentLeader=LeaderAndEpoch{{leader=Optional[kafka-2:9092 (id: 2 rack: null)], epoch=31}}}}",
                    "[invoice-2] INFO processed offset={pb} partition=6 -> invoice inv_{n} in 1904ms",
                    "[invoice-3] INFO processed offset={pb_replay} partition=6 -> invoice inv_{n} in 160ms",
                    "[invoice-3] INFO processed offset={pb_replay} partition=6 -> invoice inv_{n} in 171ms",
                    "[invoice-2] INFO processed offset={pb} partition=6 -> invoice inv_{n} in 2210ms",
                    "[invoice-2] ERROR Offset commit failed on partition invoices-in-6: org.apache.kafka.clients.consumer.CommitFailedException: Offset commit cannot be completed since the consumer is not part of an active group for auto partition assignment; it is likely that the consumer was kicked out of the group.",
                    "[invoice-2] INFO [Consumer clientId=invoice-2, groupId=invoicing] Adding newly assigned partitions: invoices-in-2",
                ],
                after,
            ),
        ],
        start="11:05:00",
        counters={"pa": 55100, "pb": 884060, "pc": 10200, "pd": 40110},
    )


def _cache_stale_log() -> str:
    return multi_source_log(
        210,
        76,
        {
            "[catalog-api]": [
                "GET /v1/products/{n} 200 {c}ms cache=hit",
                "GET /v1/products/{n} 200 {ms}ms cache=miss source=replica replica_lag_ms={c}",
                "cache SET product:{n} ttl=21600",
            ],
            "[catalog-admin]": ["GET /admin/products?page={c} 200 {ms}ms"],
            "[pg-replica-1]": ["replication lag {c}0ms"],
        },
        [
            (
                0.3,
                [
                    "[catalog-admin] INFO PUT /admin/products/4411 200 22ms price 19.99 -> 24.99 user=maria (tx committed on primary)",
                    "[catalog-admin] INFO cache DEL product:4411",
                    "[catalog-api] INFO GET /v1/products/4411 200 7ms cache=miss source=replica replica_lag_ms=1840",
                    "[catalog-api] INFO cache SET product:4411 ttl=21600 price=19.99",
                    "[pg-replica-1] INFO replication lag 1900ms (autovacuum on products_history)",
                ],
            ),
            (
                0.55,
                [
                    "[catalog-admin] INFO PUT /admin/products/9020 200 18ms price 5.49 -> 4.99 user=tomas (tx committed on primary)",
                    "[catalog-admin] INFO cache DEL product:9020",
                    "[catalog-api] INFO GET /v1/products/9020 200 5ms cache=miss source=replica replica_lag_ms=40",
                    "[catalog-api] INFO cache SET product:9020 ttl=21600 price=4.99",
                ],
            ),
            (
                0.8,
                [
                    "[catalog-api] INFO GET /v1/products/4411 200 1ms cache=hit price=19.99",
                    "[catalog-api] INFO GET /v1/products/4411 200 1ms cache=hit price=19.99",
                ],
            ),
        ],
        start="10:14:00",
    )


def _incident_log_35k() -> str:
    return log_lines(
        390,
        77,
        [
            "WARN  [orders-api] [worker-2] kafka producer buffer 91% full",
            'ERROR [orders-api] [worker-2] POST /api/v1/payments 500 2210ms error="kafka: Failed to deliver 12 messages"',
            "ERROR [orders-api] [worker-5] kafka producer: broker kafka-3:9092 not available (ECONNREFUSED)",
            "WARN  [orders-api] [worker-5] retrying upstream call attempt=3 after 800ms",
        ],
        at=0.66,
    )


# --- diffs ------------------------------------------------------------------------------------------


def _dry_run_diff() -> str:
    return unified_diff(
        [
            (
                "syncer/cli.py",
                [
                    (
                        """@click.command()
@click.option("--source", required=True, help="Source bucket URL.")
@click.option("--dest", required=True, help="Destination bucket URL.")
def main(source: str, dest: str) -> None:
    plan = build_plan(source, dest)
    apply_plan(plan)""",
                        """@click.command()
@click.option("--source", required=True, help="Source bucket URL.")
@click.option("--dest", required=True, help="Destination bucket URL.")
@click.option("--dry-run", is_flag=True, help="Print what would be copied or deleted, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run, print the plan as JSON.")
def main(source: str, dest: str, dry_run: bool, as_json: bool) -> None:
    plan = build_plan(source, dest)
    if dry_run:
        click.echo(render_plan(plan, as_json=as_json))
        return
    apply_plan(plan)""",
                    ),
                ],
            ),
            (
                "syncer/plan.py",
                [
                    (
                        """@dataclass
class Plan:
    copies: list[Copy]
    deletes: list[str]""",
                        """@dataclass
class Plan:
    copies: list[Copy]
    deletes: list[str]

    @property
    def bytes_to_copy(self) -> int:
        return sum(c.size for c in self.copies)""",
                    ),
                    (
                        "",
                        """def render_plan(plan: Plan, *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(
            {
                "copies": [{"key": c.key, "size": c.size} for c in plan.copies],
                "deletes": plan.deletes,
                "bytes_to_copy": plan.bytes_to_copy,
            },
            indent=2,
        )
    lines = [f"copy   {c.key} ({naturalsize(c.size)})" for c in plan.copies]
    lines += [f"delete {key}" for key in plan.deletes]
    lines.append(f"{len(plan.copies)} to copy ({naturalsize(plan.bytes_to_copy)}), {len(plan.deletes)} to delete")
    return "\\n".join(lines)""",
                    ),
                ],
            ),
            (
                "tests/test_cli.py",
                [
                    (
                        "",
                        """def test_dry_run_changes_nothing(tmp_buckets, runner):
    src, dst = tmp_buckets(src={"a.txt": b"hello", "b.txt": b"x" * 2048}, dst={"old.txt": b"bye"})
    result = runner.invoke(main, ["--source", src.url, "--dest", dst.url, "--dry-run"])
    assert result.exit_code == 0
    assert "copy   a.txt (5 Bytes)" in result.output
    assert "delete old.txt" in result.output
    assert dst.keys() == {"old.txt"}


def test_dry_run_json(tmp_buckets, runner):
    src, dst = tmp_buckets(src={"a.txt": b"hello"}, dst={})
    result = runner.invoke(main, ["--source", src.url, "--dest", dst.url, "--dry-run", "--json"])
    assert json.loads(result.output) == {"copies": [{"key": "a.txt", "size": 5}], "deletes": [], "bytes_to_copy": 5}""",
                    ),
                ],
            ),
            (
                "README.md",
                [
                    (
                        "syncer --source s3://from --dest s3://to",
                        "syncer --source s3://from --dest s3://to\n\n# see what would happen first\nsyncer --source s3://from --dest s3://to --dry-run\nsyncer --source s3://from --dest s3://to --dry-run --json | jq .bytes_to_copy",
                    ),
                ],
            ),
        ]
    )


def _export_feature_diff() -> str:
    return unified_diff(
        [
            (
                "orders/views.py",
                [
                    (
                        "from .models import Order",
                        "import csv\nfrom datetime import datetime, timedelta\n\nfrom django.http import StreamingHttpResponse\n\nfrom .models import Order\nfrom .services.export import export_rows",
                    ),
                    (
                        "",
                        """class Echo:
    def write(self, value):
        return value


@login_required
@permission_required("orders.export_order")
def export_orders(request):
    days = int(request.GET.get("days", 30))
    page = int(request.GET.get("page", 1))
    size = min(int(request.GET.get("size", 5000)), 50000)
    since = datetime.now() - timedelta(days=days)
    rows = export_rows(request.user.organization, since=since, page=page, size=size)
    writer = csv.writer(Echo())
    response = StreamingHttpResponse((writer.writerow(r) for r in rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="orders-{since:%Y%m%d}.csv"'
    return response""",
                    ),
                ],
            ),
            (
                "orders/services/export.py",
                [
                    (
                        "",
                        """HEADER = ["order_id", "created_at", "customer_email", "status", "total", "currency", "items"]


def export_rows(organization, *, since, page, size):
    qs = (
        Order.objects.filter(organization=organization, created_at__gte=since)
        .order_by("-created_at")
    )
    offset = page * size
    orders = list(qs[offset : offset + size])
    yield HEADER
    for o in orders:
        yield [
            o.public_id,
            o.created_at.isoformat(),
            o.customer.email,
            o.get_status_display(),
            f"{o.total:.2f}",
            o.currency,
            ";".join(f"{li.sku}x{li.qty}" for li in o.lines.all()),
        ]""",
                    ),
                ],
            ),
            (
                "orders/urls.py",
                [
                    (
                        '    path("<uuid:public_id>/", views.order_detail, name="order-detail"),',
                        '    path("<uuid:public_id>/", views.order_detail, name="order-detail"),\n    path("export.csv", views.export_orders, name="orders-export"),',
                    )
                ],
            ),
            (
                "orders/tests/test_export.py",
                [
                    (
                        "",
                        """@pytest.mark.django_db
def test_export_contains_recent_orders(client, org_admin, order_factory):
    order_factory.create_batch(3, organization=org_admin.organization)
    client.force_login(org_admin)
    resp = client.get(reverse("orders-export"), {"days": 7})
    body = b"".join(resp.streaming_content).decode()
    assert resp.status_code == 200
    assert body.splitlines()[0].startswith("order_id,created_at")


@pytest.mark.django_db
def test_export_requires_permission(client, org_member):
    client.force_login(org_member)
    assert client.get(reverse("orders-export")).status_code == 403""",
                    ),
                ],
            ),
            (
                "templates/orders/list.html",
                [
                    (
                        '<h1>{% trans "Orders" %}</h1>',
                        '<h1>{% trans "Orders" %}</h1>\n{% if perms.orders.export_order %}\n  <a class="btn btn-secondary" href="{% url \'orders-export\' %}?days=30">{% trans "Export CSV" %}</a>\n{% endif %}',
                    )
                ],
            ),
        ]
    )


def _oauth_callback_diff() -> str:
    return unified_diff(
        [
            (
                "auth/oauth.py",
                [
                    (
                        """@bp.route("/login/google")
def login_google():
    state = secrets.token_urlsafe(32)
    session["oauth_state"] = state
    session["post_login_redirect"] = safe_next(request.args.get("next"))
    return redirect(google.authorize_url(state=state, redirect_uri=url_for("auth.google_callback", _external=True)))""",
                        """@bp.route("/login/google")
def login_google():
    # state is now carried in the redirect itself so that logging in from two tabs works (ENG-2231)
    state = base64.urlsafe_b64encode(json.dumps({"next": request.args.get("next", "/")}).encode()).decode()
    return redirect(google.authorize_url(state=state, redirect_uri=url_for("auth.google_callback", _external=True)))""",
                    ),
                    (
                        """@bp.route("/login/google/callback")
def google_callback():
    if request.args.get("state") != session.pop("oauth_state", None):
        abort(400, "invalid oauth state")
    token = google.exchange_code(request.args["code"], redirect_uri=url_for("auth.google_callback", _external=True))
    info = google.userinfo(token)
    user = User.query.filter_by(google_sub=info["sub"]).first()
    if user is None:
        abort(403, "no account linked to this google account")
    session.clear()
    session["user_id"] = user.id
    return redirect(session.pop("post_login_redirect", "/"))""",
                        """@bp.route("/login/google/callback")
def google_callback():
    state = json.loads(base64.urlsafe_b64decode(request.args.get("state", "e30=")))
    token = google.exchange_code(request.args["code"], redirect_uri=url_for("auth.google_callback", _external=True))
    info = google.userinfo(token)
    user = User.query.filter_by(google_sub=info["sub"]).first()
    if user is None:
        # first google login for an existing password account: link by email (ENG-2240)
        user = User.query.filter_by(email=info["email"].lower()).first()
        if user is None:
            abort(403, "no account for this email")
        user.google_sub = info["sub"]
        db.session.commit()
    session["user_id"] = user.id
    session.permanent = True
    log.info("google login", extra={"user_id": user.id, "next": state.get("next")})
    return redirect(state.get("next") or "/")""",
                    ),
                ],
            ),
            (
                "auth/views.py",
                [
                    (
                        """@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))""",
                        """@bp.route("/logout", methods=["GET", "POST"])
def logout():
    session.pop("user_id", None)
    return redirect(request.args.get("next") or url_for("auth.login"))""",
                    ),
                ],
            ),
            (
                "config.py",
                [
                    (
                        "PERMANENT_SESSION_LIFETIME = timedelta(hours=12)",
                        "PERMANENT_SESSION_LIFETIME = timedelta(days=30)",
                    ),
                ],
            ),
            (
                "templates/auth/login.html",
                [
                    (
                        '<a class="btn" href="{{ url_for(\'auth.login_google\') }}">Sign in with Google</a>',
                        "<a class=\"btn btn-google\" href=\"{{ url_for('auth.login_google', next=request.args.get('next')) }}\">\n  <img src=\"{{ url_for('static', filename='img/google.svg') }}\" alt=\"\"> Sign in with Google\n</a>",
                    ),
                ],
            ),
            (
                "tests/test_oauth.py",
                [
                    (
                        """def test_callback_rejects_bad_state(client):
    resp = client.get("/login/google/callback?state=nope&code=abc")
    assert resp.status_code == 400""",
                        '''def test_callback_links_existing_account_by_email(client, fake_google, user_factory):
    user = user_factory(email="ana@example.com", google_sub=None)
    fake_google.userinfo_returns({"sub": "g-123", "email": "Ana@Example.com"})
    resp = client.get("/login/google/callback?code=abc")
    assert resp.status_code == 302
    assert user.reload().google_sub == "g-123"''',
                    ),
                ],
            ),
        ]
    )


_RAFT_FUNCS = [
    ("sendHeartbeats", "heartbeat"),
    ("replicateTo", "replicate"),
    ("handleAppendEntriesReply", "append reply"),
    ("advanceCommitIndex", "commit"),
    ("applyLoop", "apply"),
    ("installSnapshotTo", "snapshot send"),
    ("handleInstallSnapshot", "snapshot recv"),
    ("resetElectionTimer", "timer reset"),
    ("becomeFollower", "step down"),
    ("becomeCandidate", "campaign"),
    ("becomeLeader", "leader"),
    ("compactLog", "compact"),
    ("readIndex", "read index"),
    ("transferLeadership", "transfer"),
]


def _raft_refactor_diff() -> str:
    """A large logging/metrics refactor of a Raft node with two safety-relevant changes in RequestVote."""
    rng = random.Random(78)
    hunks: list[tuple[str, str]] = []
    for i in range(70):
        fn, what = _RAFT_FUNCS[i % len(_RAFT_FUNCS)]
        peer = rng.choice(["peer", "p", "server"])
        hunks.append(
            (
                f"""	rf.mu.Lock()
	DPrintf("[%d] {what}: term=%d {peer}=%d idx=%d", rf.me, rf.currentTerm, {peer}, idx)
	start := time.Now()
	defer func() {{
		DPrintf("[%d] {what} done in %v", rf.me, time.Since(start))
	}}()""",
                f"""	rf.mu.Lock()
	rf.logger.Debug("{what}", "term", rf.currentTerm, "{peer}", {peer}, "idx", idx)
	start := time.Now()
	defer func() {{
		rf.metrics.{fn[0].upper() + fn[1:]}Latency.Observe(time.Since(start).Seconds())
		rf.logger.Debug("{what} done", "took", time.Since(start))
	}}()""",
            )
        )
    vote = (
        """func (rf *Raft) RequestVote(args *RequestVoteArgs, reply *RequestVoteReply) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	DPrintf("[%d] RequestVote from %d term=%d", rf.me, args.CandidateID, args.Term)
	if args.Term < rf.currentTerm {
		reply.Term, reply.VoteGranted = rf.currentTerm, false
		return
	}
	if args.Term > rf.currentTerm {
		rf.becomeFollower(args.Term)
	}
	lastIndex, lastTerm := rf.lastLogIndexAndTerm()
	upToDate := args.LastLogTerm > lastTerm ||
		(args.LastLogTerm == lastTerm && args.LastLogIndex >= lastIndex)
	if (rf.votedFor == -1 || rf.votedFor == args.CandidateID) && upToDate {
		rf.votedFor = args.CandidateID
		rf.persist()
		rf.resetElectionTimer()
		reply.VoteGranted = true
	}
	reply.Term = rf.currentTerm
}""",
        """func (rf *Raft) RequestVote(args *RequestVoteArgs, reply *RequestVoteReply) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.logger.Debug("request vote", "from", args.CandidateID, "term", args.Term)
	rf.metrics.VoteRequests.Inc()
	if args.Term < rf.currentTerm {
		reply.Term, reply.VoteGranted = rf.currentTerm, false
		return
	}
	if args.Term > rf.currentTerm {
		rf.becomeFollower(args.Term)
	}
	lastIndex, _ := rf.lastLogIndexAndTerm()
	// a candidate whose log is at least as long as ours is at least as up to date; comparing
	// terms as well was redundant and showed up in the vote-latency profile
	upToDate := args.LastLogIndex >= lastIndex
	if (rf.votedFor == -1 || rf.votedFor == args.CandidateID) && upToDate {
		rf.votedFor = args.CandidateID
		go rf.persist() // fsync off the vote path: p99 vote latency 18ms -> 0.4ms
		rf.resetElectionTimer()
		reply.VoteGranted = true
		rf.metrics.VotesGranted.Inc()
	}
	reply.Term = rf.currentTerm
}""",
    )
    persist = (
        """func (rf *Raft) persist() {
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	e.Encode(rf.currentTerm)
	e.Encode(rf.votedFor)
	e.Encode(rf.log)
	rf.persister.SaveRaftState(w.Bytes())
}""",
        """func (rf *Raft) persist() {
	rf.persistMu.Lock()
	defer rf.persistMu.Unlock()
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	e.Encode(rf.currentTerm)
	e.Encode(rf.votedFor)
	e.Encode(rf.log)
	rf.persister.SaveRaftState(w.Bytes())
	rf.metrics.PersistBytes.Add(float64(w.Len()))
}""",
    )
    return unified_diff(
        [
            ("raft/raft.go", [*hunks[:30], vote, persist]),
            ("raft/replication.go", hunks[30:55]),
            ("raft/snapshot.go", hunks[55:]),
            (
                "raft/metrics.go",
                [
                    (
                        "",
                        "type Metrics struct {\n\tVoteRequests   prometheus.Counter\n\tVotesGranted   prometheus.Counter\n\tPersistBytes   prometheus.Counter\n"
                        + "".join(f"\t{fn[0].upper() + fn[1:]}Latency prometheus.Histogram\n" for fn, _ in _RAFT_FUNCS)
                        + "}",
                    )
                ],
            ),
        ]
    )


# --- specs, configs, tool output ------------------------------------------------------------------

_REFUNDS_OPENAPI = """
openapi: 3.1.0
info:
  title: Payments API
  version: 2.4.0
paths:
  /v2/payments/{paymentId}/refunds:
    parameters:
      - name: paymentId
        in: path
        required: true
        schema: { type: string, pattern: "^pay_[a-z0-9]{10}$" }
    post:
      operationId: createRefund
      summary: Refund a captured payment, fully or partially.
      parameters:
        - name: Idempotency-Key
          in: header
          required: true
          schema: { type: string, maxLength: 64 }
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [amount]
              additionalProperties: false
              properties:
                amount: { type: integer, minimum: 1, description: "minor units; at most the captured amount minus earlier refunds" }
                reason: { type: string, enum: [duplicate, fraudulent, requested_by_customer] }
                metadata:
                  type: object
                  maxProperties: 20
                  additionalProperties: { type: string, maxLength: 500 }
      responses:
        "201": { description: created, content: { application/json: { schema: { $ref: "#/components/schemas/Refund" } } } }
        "400": { $ref: "#/components/responses/Problem" }
        "404": { $ref: "#/components/responses/Problem" }
        "409": { description: "payment not captured, or same Idempotency-Key with a different body", content: { application/problem+json: { schema: { $ref: "#/components/schemas/Problem" } } } }
        "422": { description: "amount exceeds refundable amount", content: { application/problem+json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    get:
      operationId: listRefunds
      parameters:
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100, default: 20 } }
        - { name: starting_after, in: query, schema: { type: string } }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [data, has_more]
                properties:
                  data: { type: array, items: { $ref: "#/components/schemas/Refund" } }
                  has_more: { type: boolean }
        "404": { $ref: "#/components/responses/Problem" }
  /v2/refunds/{refundId}:
    get:
      operationId: getRefund
      parameters:
        - { name: refundId, in: path, required: true, schema: { type: string, pattern: "^re_[a-z0-9]{10}$" } }
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Refund" } } } }
        "404": { $ref: "#/components/responses/Problem" }
components:
  schemas:
    Refund:
      type: object
      required: [id, payment_id, amount, currency, status, created_at]
      properties:
        id: { type: string }
        payment_id: { type: string }
        amount: { type: integer }
        currency: { type: string, minLength: 3, maxLength: 3 }
        status: { type: string, enum: [pending, succeeded, failed] }
        reason: { type: [string, "null"] }
        metadata: { type: object, additionalProperties: { type: string } }
        created_at: { type: string, format: date-time }
    Problem:
      type: object
      required: [type, title, status]
      properties:
        type: { type: string, format: uri }
        title: { type: string }
        status: { type: integer }
        detail: { type: string }
        errors: { type: array, items: { type: object, properties: { path: { type: string }, message: { type: string } } } }
  responses:
    Problem:
      description: error
      content: { application/problem+json: { schema: { $ref: "#/components/schemas/Problem" } } }
"""

_PRISMA_REFUNDS = """
model Payment {
  id              String   @id            // pay_xxxxxxxxxx
  amountCaptured  Int
  currency        String   @db.Char(3)
  status          String                  // authorized | captured | voided
  refunds         Refund[]
}

model Refund {
  id             String   @id             // re_xxxxxxxxxx
  paymentId      String
  payment        Payment  @relation(fields: [paymentId], references: [id])
  amount         Int
  currency       String   @db.Char(3)
  status         String
  reason         String?
  metadata       Json     @default("{}")
  idempotencyKey String
  requestHash    String
  createdAt      DateTime @default(now())
  @@unique([paymentId, idempotencyKey])
  @@index([paymentId, createdAt])
}
"""

_KUBECTL_DESCRIBE = """
$ kubectl -n billing describe pod invoice-worker-7d9f8c6b5-x2kqp
Name:             invoice-worker-7d9f8c6b5-x2kqp
Namespace:        billing
Priority:         0
Service Account:  invoice-worker
Node:             ip-10-4-3-112.eu-west-1.compute.internal/10.4.3.112
Start Time:       Sun, 03 Nov 2024 08:12:40 +0000
Labels:           app=invoice-worker
                  pod-template-hash=7d9f8c6b5
Status:           Running
IP:               10.4.3.57
Controlled By:    ReplicaSet/invoice-worker-7d9f8c6b5
Containers:
  worker:
    Container ID:   containerd://6a0e1c4f2b7d9a3e5c8f1b0d2a4c6e8f0b2d4a6c8e0f2b4d6a8c0e2f4b6d8a0c
    Image:          registry.acme.io/billing/invoice-worker:4.12.0
    Image ID:       registry.acme.io/billing/invoice-worker@sha256:9b1c0f7e5d3a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Sun, 03 Nov 2024 09:41:07 +0000
      Finished:     Sun, 03 Nov 2024 09:44:52 +0000
    Ready:          False
    Restart Count:  14
    Limits:
      cpu:     2
      memory:  1Gi
    Requests:
      cpu:     500m
      memory:  1Gi
    Environment:
      JAVA_TOOL_OPTIONS:  -Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxMetaspaceSize=256m
      SPRING_PROFILES_ACTIVE:  prod
      WORKER_THREADS:  64
      PDF_RENDERER:  chromium
    Mounts:
      /tmp from tmp (rw)
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-8k2mz (ro)
Conditions:
  Type              Status
  Initialized       True
  Ready             False
  ContainersReady   False
  PodScheduled      True
Volumes:
  tmp:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     Memory
    SizeLimit:  <unset>
QoS Class:                   Burstable
Events:
  Type     Reason     Age                   From     Message
  ----     ------     ----                  ----     -------
  Normal   Pulled     12m (x15 over 93m)    kubelet  Container image "registry.acme.io/billing/invoice-worker:4.12.0" already present on machine
  Normal   Created    12m (x15 over 93m)    kubelet  Created container worker
  Normal   Started    12m (x15 over 93m)    kubelet  Started container worker
  Warning  BackOff    2m (x180 over 88m)    kubelet  Back-off restarting failed container worker in pod invoice-worker-7d9f8c6b5-x2kqp_billing(2b0f3c1e-8a5d-4e7f-9c2b-1d3e5f7a9b0c)

$ kubectl -n billing logs invoice-worker-7d9f8c6b5-x2kqp --previous | tail -25
2024-11-03T09:41:19.204Z INFO  [main] o.s.b.StartupInfoLogger : Started InvoiceWorkerApplication in 11.8 seconds (process running for 12.6)
2024-11-03T09:41:19.310Z INFO  [main] c.a.b.w.WorkerPool : starting 64 worker threads
2024-11-03T09:41:20.002Z INFO  [worker-3] c.a.b.w.InvoiceJob : rendering invoice inv_88120 (142 lines) via chromium
2024-11-03T09:41:20.410Z INFO  [worker-9] c.a.b.w.InvoiceJob : rendering invoice inv_88121 (12 lines) via chromium
2024-11-03T09:41:21.877Z INFO  [worker-17] c.a.b.w.InvoiceJob : rendering invoice inv_88125 (3 lines) via chromium
2024-11-03T09:42:03.118Z INFO  [worker-3] c.a.b.w.InvoiceJob : wrote /tmp/render/inv_88120.pdf (2.1 MB)
2024-11-03T09:42:40.551Z WARN  [worker-22] c.a.b.w.InvoiceJob : chromium render slow: 38s for inv_88131
2024-11-03T09:43:12.004Z INFO  [gc] G1 Young Generation: 61ms, heap 742M->312M(1024M)
2024-11-03T09:44:01.660Z INFO  [worker-41] c.a.b.w.InvoiceJob : rendering invoice inv_88190 (2204 lines) via chromium
2024-11-03T09:44:30.877Z INFO  [gc] G1 Young Generation: 58ms, heap 801M->330M(1024M)
2024-11-03T09:44:51.990Z INFO  [worker-12] c.a.b.w.InvoiceJob : wrote /tmp/render/inv_88177.pdf (1.4 MB)
"""

_GRADLE_RUN = """
$ ./gradlew :api:bootRun
> Task :common:compileJava UP-TO-DATE
> Task :common:processResources NO-SOURCE
> Task :common:classes UP-TO-DATE
> Task :common:jar UP-TO-DATE
> Task :api:compileJava
> Task :api:processResources
> Task :api:classes
> Task :api:resolveMainClassName

> Task :api:bootRun

  .   ____          _            __ _ _
 /\\\\ / ___'_ __ _ _(_)_ __  __ _ \\ \\ \\ \\
( ( )\\___ | '_ | '_| | '_ \\/ _` | \\ \\ \\ \\
 \\\\/  ___)| |_)| | | | | || (_| |  ) ) ) )
  '  |____| .__|_| |_|_| |_\\__, | / / / /
 =========|_|==============|___/=/_/_/_/

 :: Spring Boot ::                (v3.2.5)

2024-11-03T10:02:11.412Z  INFO 48120 --- [           main] com.acme.api.ApiApplication              : Starting ApiApplication using Java 21.0.3 with PID 48120
2024-11-03T10:02:11.415Z  INFO 48120 --- [           main] com.acme.api.ApiApplication              : The following 1 profile is active: "local"
2024-11-03T10:02:13.027Z  INFO 48120 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat initialized with port 8080 (http)
2024-11-03T10:02:13.902Z  WARN 48120 --- [           main] ConfigServletWebServerApplicationContext : Exception encountered during context initialization - cancelling refresh attempt: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'jacksonObjectMapper' defined in class path resource [org/springframework/boot/autoconfigure/jackson/JacksonAutoConfiguration$JacksonObjectMapperConfiguration.class]: Failed to instantiate [com.fasterxml.jackson.databind.ObjectMapper]: Factory method 'jacksonObjectMapper' threw exception with message: 'com.fasterxml.jackson.databind.cfg.MapperBuilder com.fasterxml.jackson.databind.cfg.MapperBuilder.enable(com.fasterxml.jackson.core.StreamReadFeature[])'
2024-11-03T10:02:13.951Z ERROR 48120 --- [           main] o.s.b.d.LoggingFailureAnalysisReporter   :

***************************
APPLICATION FAILED TO START
***************************

Description:

An attempt was made to call a method that does not exist. The attempt was made from the following location:

    org.springframework.http.converter.json.Jackson2ObjectMapperBuilder.configure(Jackson2ObjectMapperBuilder.java:753)

The following method did not exist:

    'com.fasterxml.jackson.databind.cfg.MapperBuilder com.fasterxml.jackson.databind.cfg.MapperBuilder.enable(com.fasterxml.jackson.core.StreamReadFeature[])'

The calling method's class, org.springframework.http.converter.json.Jackson2ObjectMapperBuilder, was loaded from the following location:

    jar:file:/home/dev/.gradle/caches/modules-2/files-2.1/org.springframework/spring-web/6.1.6/spring-web-6.1.6.jar!/org/springframework/http/converter/json/Jackson2ObjectMapperBuilder.class

The called method's class, com.fasterxml.jackson.databind.cfg.MapperBuilder, is available from the following locations:

    jar:file:/home/dev/.gradle/caches/modules-2/files-2.1/com.fasterxml.jackson.core/jackson-databind/2.12.7.1/jackson-databind-2.12.7.1.jar!/com/fasterxml/jackson/databind/cfg/MapperBuilder.class

Action:

Correct the classpath of your application so that it contains compatible versions of the classes org.springframework.http.converter.json.Jackson2ObjectMapperBuilder and com.fasterxml.jackson.databind.cfg.MapperBuilder

> Task :api:bootRun FAILED

$ ./gradlew :api:dependencyInsight --dependency jackson-databind --configuration runtimeClasspath
> Task :api:dependencyInsight
com.fasterxml.jackson.core:jackson-databind:2.12.7.1
  Variant runtime:
    | Attribute Name                 | Provided     | Requested    |
    |--------------------------------|--------------|--------------|
    | org.gradle.status              | release      |              |
    | org.gradle.category            | library      | library      |
    | org.gradle.libraryelements     | jar          | jar          |
    | org.gradle.usage               | java-runtime | java-runtime |
   Selection reasons:
      - By constraint : dependency-management: pinned to 2.12.7.1
      - By conflict resolution : between versions 2.15.4, 2.13.5 and 2.12.7.1

com.fasterxml.jackson.core:jackson-databind:2.12.7.1
\\--- project :common
     \\--- runtimeClasspath

com.fasterxml.jackson.core:jackson-databind:2.13.5 -> 2.12.7.1
\\--- com.amazonaws:aws-java-sdk-core:1.12.470
     \\--- com.amazonaws:aws-java-sdk-s3:1.12.470
          \\--- project :api
               \\--- runtimeClasspath

com.fasterxml.jackson.core:jackson-databind:2.15.4 -> 2.12.7.1
+--- org.springframework.boot:spring-boot-starter-json:3.2.5
|    \\--- org.springframework.boot:spring-boot-starter-web:3.2.5
|         \\--- runtimeClasspath
\\--- com.fasterxml.jackson.datatype:jackson-datatype-jsr310:2.15.4
     \\--- org.springframework.boot:spring-boot-starter-json:3.2.5 (*)

$ cat common/build.gradle
plugins { id 'java-library'; id 'io.spring.dependency-management' version '1.1.4' }
dependencyManagement {
    imports { mavenBom 'org.springframework.boot:spring-boot-dependencies:2.5.15' }
    dependencies { dependency 'com.fasterxml.jackson.core:jackson-databind:2.12.7.1' }   // CVE-2022-42003 fix, pinned by security in 2022
}
dependencies {
    api 'com.fasterxml.jackson.core:jackson-databind'
    api 'org.apache.commons:commons-lang3:3.12.0'
}
"""

_EXPLAIN = """
Sort  (cost=1849220.57..1849221.82 rows=500 width=76) (actual time=18422.905..18422.951 rows=412 loops=1)
  Sort Key: (sum((ol.qty * ol.unit_price))) DESC
  Sort Method: quicksort  Memory: 71kB
  Buffers: shared hit=221904 read=1544102, temp read=98211 written=98420
  ->  HashAggregate  (cost=1849190.16..1849198.16 rows=500 width=76) (actual time=18421.602..18422.711 rows=412 loops=1)
        Group Key: c.id, c.name
        Batches: 1  Memory Usage: 217kB
        Buffers: shared hit=221904 read=1544102, temp read=98211 written=98420
        ->  Hash Join  (cost=412211.04..1801120.66 rows=4806950 width=50) (actual time=3104.477..17219.028 rows=4711093 loops=1)
              Hash Cond: (ol.order_id = o.id)
              Buffers: shared hit=221904 read=1544102, temp read=98211 written=98420
              ->  Seq Scan on order_lines ol  (cost=0.00..1121442.08 rows=48069508 width=22) (actual time=0.041..6120.338 rows=48069121 loops=1)
                    Buffers: shared hit=96880 read=543762
              ->  Hash  (cost=398102.55..398102.55 rows=812279 width=36) (actual time=3101.220..3101.224 rows=790212 loops=1)
                    Buckets: 262144 (originally 262144)  Batches: 8 (originally 4)  Memory Usage: 16385kB
                    Buffers: shared hit=125024 read=1000340, temp written=5690
                    ->  Hash Join  (cost=31.25..398102.55 rows=812279 width=36) (actual time=0.402..2894.118 rows=790212 loops=1)
                          Hash Cond: (o.customer_id = c.id)
                          Buffers: shared hit=125024 read=1000340
                          ->  Seq Scan on orders o  (cost=0.00..386170.00 rows=4812277 width=20) (actual time=0.019..2311.804 rows=4790018 loops=1)
                                Filter: ((created_at >= '2024-10-01 00:00:00+00'::timestamp with time zone) AND (created_at < '2024-11-01 00:00:00+00'::timestamp with time zone) AND (status = ANY ('{paid,shipped}'::text[])))
                                Rows Removed by Filter: 31209982
                                Buffers: shared hit=124990 read=1000340
                          ->  Hash  (cost=25.00..25.00 rows=500 width=24) (actual time=0.351..0.352 rows=500 loops=1)
                                Buckets: 1024  Batches: 1  Memory Usage: 36kB
                                ->  Seq Scan on customers c  (cost=0.00..25.00 rows=500 width=24) (actual time=0.010..0.190 rows=500 loops=1)
                                      Filter: (segment = 'enterprise'::text)
                                      Rows Removed by Filter: 1499500
Planning Time: 1.882 ms
JIT:
  Functions: 31
  Options: Inlining true, Optimization true, Expressions true, Deforming true
  Timing: Generation 3.114 ms, Inlining 102.551 ms, Optimization 311.090 ms, Emission 219.337 ms, Total 636.092 ms
Execution Time: 18430.117 ms
"""

_EXPLAIN_QUERY = """
SELECT c.id, c.name, sum(ol.qty * ol.unit_price) AS revenue
FROM customers c
JOIN orders o ON o.customer_id = c.id
JOIN order_lines ol ON ol.order_id = o.id
WHERE c.segment = 'enterprise'
  AND o.created_at >= '2024-10-01' AND o.created_at < '2024-11-01'
  AND o.status IN ('paid', 'shipped')
GROUP BY c.id, c.name
ORDER BY revenue DESC;

-- indexes: orders_pkey, orders_created_at_idx (created_at), order_lines_pkey, customers_pkey
-- row counts: customers 1.5M, orders 36M, order_lines 48M; postgres 16, work_mem 4MB
"""

_NGINX_CONF = r"""
upstream api_backend {
    least_conn;
    server 10.0.1.10:8080 max_fails=3 fail_timeout=10s;
    server 10.0.1.11:8080 max_fails=3 fail_timeout=10s;
    keepalive 64;
}

upstream ws_backend {
    ip_hash;
    server 10.0.2.10:9000;
    server 10.0.2.11:9000;
}

limit_req_zone $binary_remote_addr zone=login:10m rate=5r/m;
limit_req_zone $binary_remote_addr zone=api:20m rate=20r/s;

map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}

server {
    listen 80;
    server_name shop.example.com www.shop.example.com;
    return 301 https://shop.example.com$request_uri;
}

server {
    listen 443 ssl http2;
    server_name www.shop.example.com;
    ssl_certificate     /etc/letsencrypt/live/shop.example.com/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/shop.example.com/privkey.pem;
    return 301 https://shop.example.com$request_uri;
}

server {
    listen 443 ssl http2;
    server_name shop.example.com;

    ssl_certificate     /etc/letsencrypt/live/shop.example.com/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/shop.example.com/privkey.pem;
    ssl_protocols TLSv1.2 TLSv1.3;

    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy strict-origin-when-cross-origin always;

    client_max_body_size 20m;
    gzip on;
    gzip_types text/css application/javascript application/json image/svg+xml;

    root /srv/shop/dist;

    location = /healthz {
        access_log off;
        return 200 "ok\n";
    }

    location /assets/ {
        expires 1y;
        add_header Cache-Control "public, immutable";
        try_files $uri =404;
    }

    location /api/auth/login {
        limit_req zone=login burst=5 nodelay;
        proxy_pass http://api_backend;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }

    location /api/ {
        limit_req zone=api burst=40;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://api_backend;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 60s;
    }

    location /ws/ {
        proxy_pass http://ws_backend;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 3600s;
    }

    location /admin/ {
        allow 10.0.0.0/8;
        allow 192.168.10.0/24;
        deny all;
        auth_basic "admin";
        auth_basic_user_file /etc/nginx/htpasswd.admin;
        proxy_pass http://api_backend;
        proxy_set_header Host $host;
    }

    location ~ ^/p/(?<slug>[a-z0-9-]+)/?$ {
        rewrite ^ /products/$slug permanent;
    }

    location /legacy/ {
        rewrite ^/legacy/(.*)$ /$1 permanent;
    }

    location / {
        try_files $uri $uri/ /index.html;
    }

    error_page 502 503 504 /maintenance.html;
    location = /maintenance.html {
        root /srv/shop/static;
        internal;
    }
}
"""

_LINE_PROTOCOL_SPEC = """
# Metric line protocol, version 1

A payload is UTF-8 text of one or more lines separated by LF (U+000A). A trailing LF is optional. Empty
lines and lines whose first non-space character is `#` are ignored.

## Line

    line        = measurement *("," tag) SP fields [SP timestamp]
    tag         = key "=" value
    fields      = field *("," field)
    field       = key "=" fieldvalue

- `measurement` and tag keys/values are unquoted strings. Inside them, the characters `,` (comma),
  ` ` (space) and `=` (equals, not in measurement) must be escaped with a backslash. A backslash before any
  other character is kept literally (`a\\b` is the three characters a, backslash, b).
- Tags are optional. Tag keys must be unique within a line; a duplicate is an error. Tags are sorted by key
  before storage, so order on the wire does not matter.
- At least one field is required. Field keys follow the same escaping rules as tag keys and must be unique.

## Field values

| form                 | type     | example           |
| -------------------- | -------- | ----------------- |
| `123i`               | int64    | `requests=42i`    |
| `123u`               | uint64   | `bytes=912u`      |
| `1.5`, `-2e3`, `1`   | float64  | `load=0.75`       |
| `t`, `true`, `F`...  | bool     | `up=t`            |
| `"..."`              | string   | `msg="a \\"b\\""` |

- Integers out of range for their type are an error, not a wrap-around.
- A float must match the JSON number grammar (so `1.` and `.5` are errors); `NaN` and `Inf` are not allowed.
- Booleans: `t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE`.
- Strings are double-quoted; inside, `\\"` is a quote and `\\\\` a backslash; any other backslash is literal.
  Strings may contain spaces, commas and `=`. Strings are at most 64 KiB after unescaping.

## Timestamp

- Optional. A signed int64 of nanoseconds since the Unix epoch, no suffix. If absent the server uses its
  receive time. Precision can be changed per request with `?precision=s|ms|us|ns`; the value is then
  multiplied accordingly and overflow is an error.

## Errors

A parser reports the 1-based line number and the 1-based byte column of the first error in a line. A
payload is accepted if every line parses; otherwise nothing is written and the response lists at most 100
errors.

## Examples

    cpu,host=web-1,region=eu-west load=0.64,procs=212i 1730628000000000000
    http\\ requests,path=/api/v1/orders,method=GET count=12i,p99=0.182
    disk,host=db-1,mount=/var/lib/postgresql free=12884901888u,ro=f
    events,source=billing msg="invoice inv_88120 \\"closed\\", total=12.50"
    # comment lines are ignored
    weird\\,name,tag\\ key=tag\\=value f=1
"""

_TF_PLAN_HEAD = """
$ terraform plan -out plan.tfplan
Refreshing state... [id=vpc-0a1b2c3d4e5f60718]
...

Terraform used the selected providers to generate the following execution plan. Resource actions are
indicated with the following symbols:
  ~ update in-place
-/+ destroy and then create replacement

Terraform will perform the following actions:
"""

_TF_PLAN_DANGER = """
  # aws_db_instance.orders must be replaced
-/+ resource "aws_db_instance" "orders" {
      ~ address                               = "orders-prod.c9xk2abcdefg.eu-west-1.rds.amazonaws.com" -> (known after apply)
      ~ arn                                   = "arn:aws:rds:eu-west-1:123456789012:db:orders-prod" -> (known after apply)
      ~ endpoint                              = "orders-prod.c9xk2abcdefg.eu-west-1.rds.amazonaws.com:5432" -> (known after apply)
      ~ id                                    = "db-ABCDEFGHIJKLMNOPQRSTUVWXY" -> (known after apply)
        identifier                            = "orders-prod"
      ~ kms_key_id                            = "" -> (known after apply)
      ~ storage_encrypted                     = false -> true # forces replacement
        skip_final_snapshot                   = true
      ~ tags                                  = {
          + "cost-center" = "cc-204"
            # (2 unchanged elements hidden)
        }
        # (41 unchanged attributes hidden)
    }

  # aws_elasticache_replication_group.sessions must be replaced
-/+ resource "aws_elasticache_replication_group" "sessions" {
      ~ at_rest_encryption_enabled     = false -> true # forces replacement
      ~ primary_endpoint_address       = "master.sessions-prod.abc123.euw1.cache.amazonaws.com" -> (known after apply)
        replication_group_id           = "sessions-prod"
      ~ transit_encryption_enabled     = false -> true
        # (22 unchanged attributes hidden)
    }

  # aws_security_group_rule.api_ingress_443 will be updated in-place
  ~ resource "aws_security_group_rule" "api_ingress_443" {
      ~ cidr_blocks       = [
          - "10.0.0.0/8",
          + "0.0.0.0/0",
        ]
        id                = "sgrule-2914520071"
        # (6 unchanged attributes hidden)
    }
"""

_RUST_EXPR = r"""
//! Tiny expression language for pricing rules: `price * 0.9 if qty >= 10 else price`.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Num(f64),
    Ident(String),
    Op(char),
    Cmp(&'static str),
    LParen,
    RParen,
    If,
    Else,
}

#[derive(Debug, PartialEq)]
pub struct LexError {
    pub pos: usize,
    pub msg: String,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.pos, self.msg)
    }
}

pub fn tokenize(src: &str) -> Result<Vec<(usize, Token)>, LexError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let text = &src[start..i];
                let n = text.parse::<f64>().map_err(|_| LexError { pos: start, msg: format!("bad number {text:?}") })?;
                out.push((start, Token::Num(n)));
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let tok = match &src[start..i] {
                    "if" => Token::If,
                    "else" => Token::Else,
                    word => Token::Ident(word.to_string()),
                };
                out.push((start, tok));
            }
            '+' | '-' | '*' | '/' => {
                out.push((i, Token::Op(c)));
                i += 1;
            }
            '(' => { out.push((i, Token::LParen)); i += 1; }
            ')' => { out.push((i, Token::RParen)); i += 1; }
            '<' | '>' | '=' | '!' => {
                let two = src.get(i..i + 2).unwrap_or("");
                let cmp = match two {
                    "<=" => "<=", ">=" => ">=", "==" => "==", "!=" => "!=",
                    _ if c == '<' => "<",
                    _ if c == '>' => ">",
                    _ => return Err(LexError { pos: i, msg: format!("unexpected {c:?}") }),
                };
                out.push((i, Token::Cmp(cmp)));
                i += cmp.len();
            }
            _ => return Err(LexError { pos: i, msg: format!("unexpected {c:?}") }),
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(String),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    IfElse { then: Box<Expr>, cond: Box<Expr>, otherwise: Box<Expr> },
}

pub struct Parser {
    toks: Vec<(usize, Token)>,
    i: usize,
    end: usize,
}

#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

impl Parser {
    pub fn new(toks: Vec<(usize, Token)>, src_len: usize) -> Self {
        Parser { toks, i: 0, end: src_len }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { pos: self.pos(), msg: msg.into() })
    }

    pub fn parse(mut self) -> Result<Expr, ParseError> {
        let e = self.conditional()?;
        if self.i != self.toks.len() {
            return self.err("trailing input");
        }
        Ok(e)
    }

    // conditional := comparison ("if" comparison "else" conditional)?
    fn conditional(&mut self) -> Result<Expr, ParseError> {
        let then = self.comparison()?;
        if self.peek() == Some(&Token::If) {
            self.i += 1;
            let cond = self.comparison()?;
            if self.peek() != Some(&Token::Else) {
                return self.err("expected 'else'");
            }
            self.i += 1;
            let otherwise = self.conditional()?;
            return Ok(Expr::IfElse { then: Box::new(then), cond: Box::new(cond), otherwise: Box::new(otherwise) });
        }
        Ok(then)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.additive()?;
        if let Some(Token::Cmp(op)) = self.peek().cloned() {
            self.i += 1;
            let right = self.additive()?;
            return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.term()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.i += 1;
            let right = self.term()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while let Some(Token::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.i += 1;
            let right = self.unary()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Token::Op('-')) {
            self.i += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        match self.peek().cloned() {
            Some(Token::Num(n)) => { self.i += 1; Ok(Expr::Num(n)) }
            Some(Token::Ident(name)) => { self.i += 1; Ok(Expr::Var(name)) }
            Some(Token::LParen) => {
                self.i += 1;
                let e = self.conditional()?;
                if self.peek() != Some(&Token::RParen) {
                    return self.err("expected ')'");
                }
                self.i += 1;
                Ok(e)
            }
            Some(t) => self.err(format!("unexpected {t:?}")),
            None => self.err("unexpected end of input"),
        }
    }
}
"""


# --- code with something to find ------------------------------------------------------------------

_GO_RING = """
package store

import (
	"sync/atomic"
	"unsafe"
)

// Ring is a bounded MPMC queue of pointers (Vyukov-style sequence numbers per slot).
// Size must be a power of two.
type Ring struct {
	mask  uint64
	slots []slot
	_     [56]byte
	head  atomic.Uint64 // next position to write
	_     [56]byte
	tail  atomic.Uint64 // next position to read
}

type slot struct {
	seq atomic.Uint64
	val unsafe.Pointer
}

func NewRing(size int) *Ring {
	r := &Ring{mask: uint64(size - 1), slots: make([]slot, size)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// Push returns false when the ring is full.
func (r *Ring) Push(v unsafe.Pointer) bool {
	for {
		pos := r.head.Load()
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch {
		case seq == pos:
			if r.head.CompareAndSwap(pos, pos+1) {
				s.val = v
				s.seq.Store(pos + 1)
				return true
			}
		case seq < pos:
			return false
		}
	}
}

// Pop returns false when the ring is empty.
func (r *Ring) Pop() (unsafe.Pointer, bool) {
	for {
		pos := r.tail.Load()
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch {
		case seq == pos+1:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.seq.Store(pos + r.mask + 1)
				v := s.val
				s.val = nil
				return v, true
			}
		case seq < pos+1:
			return nil, false
		}
	}
}
"""

_JAVA_CONFIG_HOLDER = """
package com.acme.orders;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

public class ConfigHolder {
    private static ConfigHolder instance;

    private Map<String, String> values;
    private int timeoutMs;
    private int maxRetries;
    private String region;

    private ConfigHolder() {
        reload();
    }

    public static ConfigHolder get() {
        if (instance == null) {
            synchronized (ConfigHolder.class) {
                if (instance == null) {
                    instance = new ConfigHolder();
                }
            }
        }
        return instance;
    }

    /** Called by the admin endpoint and by a file watcher when orders.properties changes. */
    public void reload() {
        Properties p = new Properties();
        try (InputStream in = ConfigHolder.class.getResourceAsStream("/orders.properties")) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot load orders.properties", e);
        }
        if (values == null) {
            values = new HashMap<>();
        }
        values.clear();
        for (String k : p.stringPropertyNames()) {
            values.put(k, p.getProperty(k));
        }
        timeoutMs = Integer.parseInt(values.getOrDefault("orders.timeout.ms", "2000"));
        maxRetries = Integer.parseInt(values.getOrDefault("orders.max.retries", "3"));
        region = values.getOrDefault("orders.region", "eu-west-1");
    }

    public int timeoutMs() { return timeoutMs; }
    public int maxRetries() { return maxRetries; }
    public String region() { return region; }
    public String get(String key) { return values.get(key); }
}
"""

_TOKENS_PY = """

# --- API tokens for the partner portal ---------------------------------------------------------

import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

TOKEN_SECRET = os.environ["PORTAL_TOKEN_SECRET"].encode()


def issue_token(partner_id: int, scopes: list[str], ttl: int | None = 3600) -> str:
    payload = {"pid": partner_id, "scopes": scopes}
    if ttl:
        payload["exp"] = int(time.time()) + ttl
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hashlib.sha256(TOKEN_SECRET + body.encode()).hexdigest()
    return f"{body}.{mac}"


def verify_token(token: str) -> dict | None:
    body, _, mac = token.rpartition(".")
    if hashlib.sha256(TOKEN_SECRET + body.encode()).hexdigest() != mac:
        return None
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if "exp" in payload and payload["exp"] < time.time():
        return None
    return payload


def require_scope(token: str, scope: str) -> int:
    payload = verify_token(token)
    if payload is None or scope not in payload.get("scopes", []):
        raise PermissionError(scope)
    return payload["pid"]
"""

_CPP_TLV = r"""
// tlv.cpp — decoder for device telemetry frames received over UDP from field units.
#include "tlv.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace telemetry {

enum : uint8_t {
    T_DEVICE_ID = 0x01,
    T_NAME      = 0x02,
    T_READING   = 0x03,
    T_NESTED    = 0x04,
    T_FIRMWARE  = 0x05,
    T_PAD       = 0xFF,
};

struct Reading {
    uint16_t sensor;
    int32_t  value;
    uint32_t ts;
};

struct Frame {
    uint64_t device_id = 0;
    std::string name;
    std::string firmware;
    std::vector<Reading> readings;
};

static uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
static uint32_t be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
static uint64_t be64(const uint8_t* p) { return (uint64_t(be32(p)) << 32) | be32(p + 4); }

static const char* kTypeNames[] = {"?", "device_id", "name", "reading", "nested", "firmware"};

const char* type_name(uint8_t t) {
    return t < sizeof(kTypeNames) / sizeof(kTypeNames[0]) ? kTypeNames[t] : "unknown";
}

// Parses TLV records: 1 byte type, 2 bytes big-endian length, then `length` bytes of value.
// Returns false on malformed input; `out` may be partially filled.
bool parse_tlv(const uint8_t* p, size_t n, Frame& out) {
    size_t off = 0;
    while (off + 3 <= n) {
        const uint8_t type = p[off];
        const uint16_t len = be16(p + off + 1);
        off += 3;

        if (type == T_PAD) {
            off += len;
            continue;
        }
        if (type == T_NESTED) {
            // nested groups carry readings from sub-units; same encoding
            if (!parse_tlv(p + off, len, out)) return false;
            off += len;
            continue;
        }
        if (off + len > n) return false;

        switch (type) {
        case T_DEVICE_ID:
            if (len != 8) return false;
            out.device_id = be64(p + off);
            break;
        case T_NAME: {
            char name[64];
            std::memcpy(name, p + off, len);
            name[len] = '\0';
            out.name = name;
            break;
        }
        case T_FIRMWARE:
            out.firmware.assign(reinterpret_cast<const char*>(p + off), len);
            break;
        case T_READING: {
            if (len % 10 != 0) return false;
            for (size_t i = 0; i < len; i += 10) {
                const uint8_t* r = p + off + i;
                out.readings.push_back(Reading{be16(r), static_cast<int32_t>(be32(r + 2)), be32(r + 6)});
            }
            break;
        }
        default:
            // unknown types are skipped for forward compatibility
            break;
        }
        off += len;
    }
    return off == n;
}

// Called from the UDP receive loop, one datagram at a time (max 9000 bytes, jumbo frames).
bool decode_datagram(const uint8_t* buf, size_t n, Frame& out) {
    if (n < 4 || buf[0] != 'T' || buf[1] != 'L') return false;
    const uint16_t body_len = be16(buf + 2);
    if (body_len + 4u > n) return false;
    return parse_tlv(buf + 4, body_len, out);
}

std::string describe(const Frame& f) {
    std::string s = "device " + std::to_string(f.device_id);
    if (!f.name.empty()) s += " (" + f.name + ")";
    if (!f.firmware.empty()) s += " fw " + f.firmware;
    s += ", " + std::to_string(f.readings.size()) + " readings";
    return s;
}

}  // namespace telemetry
"""

_TLA_2PC = r"""
------------------------------- MODULE TwoPhaseRetry -------------------------------
(* Two-phase commit with a transaction manager that retries PREPARE on timeout. *)
EXTENDS Naturals, FiniteSets

CONSTANTS RM          \* the resource managers, e.g. {r1, r2, r3}

VARIABLES
  rmState,            \* rmState[r] \in {"working", "prepared", "committed", "aborted"}
  tmState,            \* "init" | "committed" | "aborted"
  tmPrepared,         \* RMs from which the TM has received "Prepared"
  msgs,               \* messages in flight (never removed: the network may duplicate)
  attempts            \* how many times the TM has re-sent PREPARE

vars == <<rmState, tmState, tmPrepared, msgs, attempts>>

Messages ==
  [type : {"Prepared"}, rm : RM] \cup [type : {"Prepare", "Commit", "Abort"}]

TypeOK ==
  /\ rmState \in [RM -> {"working", "prepared", "committed", "aborted"}]
  /\ tmState \in {"init", "committed", "aborted"}
  /\ tmPrepared \subseteq RM
  /\ msgs \subseteq Messages
  /\ attempts \in Nat

Init ==
  /\ rmState = [r \in RM |-> "working"]
  /\ tmState = "init"
  /\ tmPrepared = {}
  /\ msgs = {}
  /\ attempts = 0

TMSendPrepare ==
  /\ tmState = "init"
  /\ msgs' = msgs \cup {[type |-> "Prepare"]}
  /\ attempts' = attempts + 1
  /\ UNCHANGED <<rmState, tmState, tmPrepared>>

TMRcvPrepared(r) ==
  /\ tmState = "init"
  /\ [type |-> "Prepared", rm |-> r] \in msgs
  /\ tmPrepared' = tmPrepared \cup {r}
  /\ UNCHANGED <<rmState, tmState, msgs, attempts>>

TMCommit ==
  /\ tmState = "init"
  /\ tmPrepared = RM
  /\ tmState' = "committed"
  /\ msgs' = msgs \cup {[type |-> "Commit"]}
  /\ UNCHANGED <<rmState, tmPrepared, attempts>>

TMAbort ==
  /\ tmState = "init"
  /\ tmState' = "aborted"
  /\ msgs' = msgs \cup {[type |-> "Abort"]}
  /\ UNCHANGED <<rmState, tmPrepared, attempts>>

RMPrepare(r) ==
  /\ rmState[r] \in {"working", "prepared"}
  /\ [type |-> "Prepare"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "prepared"]
  /\ msgs' = msgs \cup {[type |-> "Prepared", rm |-> r]}
  /\ UNCHANGED <<tmState, tmPrepared, attempts>>

\* an RM may give up on its own, e.g. after a local timeout waiting for the decision
RMChooseToAbort(r) ==
  /\ rmState[r] \in {"working", "prepared"}
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs, attempts>>

RMRcvCommitMsg(r) ==
  /\ [type |-> "Commit"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "committed"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs, attempts>>

RMRcvAbortMsg(r) ==
  /\ [type |-> "Abort"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs, attempts>>

Next ==
  \/ TMSendPrepare \/ TMCommit \/ TMAbort
  \/ \E r \in RM : TMRcvPrepared(r) \/ RMPrepare(r) \/ RMChooseToAbort(r)
                   \/ RMRcvCommitMsg(r) \/ RMRcvAbortMsg(r)

Spec == Init /\ [][Next]_vars

Consistency ==
  \A r1, r2 \in RM : ~ /\ rmState[r1] = "aborted"
                       /\ rmState[r2] = "committed"
=====================================================================================
"""

_ORDERS_MIGRATION = """
-- MySQL 8 (monolith), orders schema
CREATE TABLE orders (
  id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  public_id     CHAR(26) NOT NULL UNIQUE,          -- ULID, exposed in the API
  customer_id   BIGINT UNSIGNED NOT NULL,
  status        ENUM('cart','placed','paid','shipped','cancelled','refunded') NOT NULL,
  total_cents   BIGINT NOT NULL,
  currency      CHAR(3) NOT NULL,
  version       INT NOT NULL DEFAULT 0,            -- optimistic locking
  updated_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY (customer_id, created_at)
);
CREATE TABLE order_lines (
  id        BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  order_id  BIGINT UNSIGNED NOT NULL,
  sku       VARCHAR(64) NOT NULL,
  qty       INT NOT NULL,
  price_cents BIGINT NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders(id)
);

# who writes orders today (from grepping the monolith)
#  - checkout/service.py         place_order(), add_line(), remove_line()        ~150 writes/s peak
#  - payments/webhooks.py        mark_paid() on PSP webhook (retries for 24h)    ~60 writes/s
#  - fulfillment/worker.py       mark_shipped() from a celery task                ~20 writes/s
#  - support/admin.py            cancel(), refund() from the Django admin         rare
#  - reporting/nightly.sql       UPDATE orders SET status='cancelled' WHERE status='cart' AND created_at < NOW() - INTERVAL 7 DAY

# checkout/service.py (excerpt)
def mark_paid(public_id: str, psp_event_id: str) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(public_id=public_id)
        if order.status in ("paid", "shipped"):
            return
        order.status = "paid"
        order.version += 1
        order.save(update_fields=["status", "version", "updated_at"])
        PaymentEvent.objects.create(order=order, psp_event_id=psp_event_id)

def add_line(public_id: str, sku: str, qty: int) -> None:
    order = Order.objects.get(public_id=public_id)
    price = catalog.price(sku)
    rows = Order.objects.filter(id=order.id, version=order.version).update(
        total_cents=F("total_cents") + price * qty, version=F("version") + 1
    )
    if rows == 0:
        raise ConcurrentModification(public_id)
    OrderLine.objects.create(order=order, sku=sku, qty=qty, price_cents=price)

# target: new orders service (Go) with its own Postgres 16 database; same public_id; the monolith keeps
# working during the move, reads move first, then writes, endpoint by endpoint
"""


def _pytest_failures() -> str:
    return pytest_report(
        270,
        51,
        {
            41: (
                "test_invoices.py::test_invoice_total_rounding[eu]",
                """    def test_invoice_total_rounding(region):
        inv = make_invoice(region, lines=[("A", 3, Decimal("0.335"))])
>       assert inv.total == Decimal("1.01")
E       AssertionError: assert Decimal('1.00') == Decimal('1.01')

tests/test_invoices.py:88: AssertionError""",
            ),
            122: (
                "test_exports.py::test_export_csv_utf8_bom",
                """    def test_export_csv_utf8_bom(client, admin):
        resp = client.get("/exports/orders.csv")
>       assert resp.content.startswith(codecs.BOM_UTF8)
E       AssertionError: assert False

tests/test_exports.py:41: AssertionError""",
            ),
            123: (
                "test_exports.py::test_export_csv_header",
                """    def test_export_csv_header(client, admin):
        resp = client.get("/exports/orders.csv")
>       assert resp.content.decode("utf-8-sig").splitlines()[0] == "order_id,created_at,total"
E       AssertionError: assert 'id,created_at,total' == 'order_id,created_at,total'

tests/test_exports.py:49: AssertionError""",
            ),
            230: (
                "test_auth.py::test_login_rate_limited",
                """    def test_login_rate_limited(client):
        for _ in range(6):
            client.post("/login", {"email": "a@example.com", "password": "wrong"})
>       assert client.post("/login", {"email": "a@example.com", "password": "wrong"}).status_code == 429
E       assert 401 == 429

tests/test_auth.py:112: AssertionError""",
            ),
        },
    )


def _invoice_close_trace() -> str:
    return spring_trace(
        80,
        "org.springframework.orm.ObjectOptimisticLockingFailureException: Row was updated or deleted by another transaction (or unsaved-value mapping was incorrect) : [com.acme.billing.domain.Invoice#88120]",
        [
            "org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:325)",
            "org.springframework.orm.jpa.vendor.HibernateJpaDialect.translateExceptionIfPossible(HibernateJpaDialect.java:244)",
            "org.springframework.orm.jpa.JpaTransactionManager.doCommit(JpaTransactionManager.java:565)",
            "org.springframework.transaction.support.AbstractPlatformTransactionManager.processCommit(AbstractPlatformTransactionManager.java:795)",
            "org.springframework.transaction.support.AbstractPlatformTransactionManager.commit(AbstractPlatformTransactionManager.java:758)",
            "org.springframework.transaction.interceptor.TransactionAspectSupport.commitTransactionAfterReturning(TransactionAspectSupport.java:698)",
        ],
        [
            "org.hibernate.StaleObjectStateException: Row was updated or deleted by another transaction (or unsaved-value mapping was incorrect) : [com.acme.billing.domain.Invoice#88120]",
            "\tat org.hibernate.persister.entity.AbstractEntityPersister.check(AbstractEntityPersister.java:2701)",
            "\tat org.hibernate.engine.jdbc.mutation.internal.ModelMutationHelper.identifiedResultsCheck(ModelMutationHelper.java:75)",
            "\tat org.hibernate.action.internal.EntityUpdateAction.execute(EntityUpdateAction.java:167)",
            "\tat org.hibernate.engine.spi.ActionQueue.executeActions(ActionQueue.java:635)",
            "\tat org.hibernate.event.internal.AbstractFlushingEventListener.performExecutions(AbstractFlushingEventListener.java:359)",
            "\tat org.hibernate.internal.SessionImpl.doFlush(SessionImpl.java:1425)",
            "\tat org.hibernate.internal.SessionImpl.managedFlush(SessionImpl.java:476)",
            "\tat org.springframework.orm.jpa.JpaTransactionManager.doCommit(JpaTransactionManager.java:561)",
        ],
        [],
        committing=True,
        controller=(
            "com.acme.billing.service.InvoiceService$$SpringCGLIB$$0.close(<generated>)",
            "com.acme.billing.api.InvoiceController.closeInvoice(InvoiceController.java:88)",
        ),
    )


def _lazy_init_trace() -> str:
    return spring_trace(
        79,
        "org.springframework.http.converter.HttpMessageNotWritableException: Could not write JSON: failed to lazily initialize a collection of role: com.acme.billing.domain.Invoice.lines: could not initialize proxy - no Session",
        [
            "org.springframework.http.converter.json.AbstractJackson2HttpMessageConverter.writeInternal(AbstractJackson2HttpMessageConverter.java:492)",
            "org.springframework.http.converter.AbstractGenericHttpMessageConverter.write(AbstractGenericHttpMessageConverter.java:114)",
            "org.springframework.web.servlet.mvc.method.annotation.AbstractMessageConverterMethodProcessor.writeWithMessageConverters(AbstractMessageConverterMethodProcessor.java:297)",
            "org.springframework.web.servlet.mvc.method.annotation.RequestResponseBodyMethodProcessor.handleReturnValue(RequestResponseBodyMethodProcessor.java:245)",
            "org.springframework.web.method.support.HandlerMethodReturnValueHandlerComposite.handleReturnValue(HandlerMethodReturnValueHandlerComposite.java:78)",
        ],
        [
            'com.fasterxml.jackson.databind.JsonMappingException: failed to lazily initialize a collection of role: com.acme.billing.domain.Invoice.lines: could not initialize proxy - no Session (through reference chain: com.acme.billing.api.InvoicePage["items"]->java.util.ArrayList[0]->com.acme.billing.domain.Invoice["lines"])',
            "\tat com.fasterxml.jackson.databind.JsonMappingException.wrapWithPath(JsonMappingException.java:402)",
            "\tat com.fasterxml.jackson.databind.ser.std.StdSerializer.wrapAndThrow(StdSerializer.java:323)",
            "\tat com.fasterxml.jackson.databind.ser.std.BeanSerializerBase.serializeFields(BeanSerializerBase.java:780)",
            "\tat com.fasterxml.jackson.databind.ser.BeanSerializer.serialize(BeanSerializer.java:178)",
            "\tat com.fasterxml.jackson.databind.ser.impl.IndexedListSerializer.serializeContents(IndexedListSerializer.java:119)",
            "\tat com.fasterxml.jackson.databind.ser.DefaultSerializerProvider.serializeValue(DefaultSerializerProvider.java:341)",
            "\tat com.fasterxml.jackson.databind.ObjectWriter.writeValue(ObjectWriter.java:1062)",
            "\tat org.springframework.http.converter.json.AbstractJackson2HttpMessageConverter.writeInternal(AbstractJackson2HttpMessageConverter.java:483)",
            "\t... 98 more",
            "Caused by: org.hibernate.LazyInitializationException: failed to lazily initialize a collection of role: com.acme.billing.domain.Invoice.lines: could not initialize proxy - no Session",
            "\tat org.hibernate.collection.spi.AbstractPersistentCollection.throwLazyInitializationException(AbstractPersistentCollection.java:635)",
            "\tat org.hibernate.collection.spi.AbstractPersistentCollection.withTemporarySessionIfNeeded(AbstractPersistentCollection.java:218)",
            "\tat org.hibernate.collection.spi.AbstractPersistentCollection.initialize(AbstractPersistentCollection.java:615)",
            "\tat org.hibernate.collection.spi.AbstractPersistentCollection.read(AbstractPersistentCollection.java:136)",
            "\tat org.hibernate.collection.spi.PersistentBag.iterator(PersistentBag.java:369)",
            "\tat com.fasterxml.jackson.databind.ser.std.CollectionSerializer.serializeContents(CollectionSerializer.java:111)",
        ],
        [],
        aop=False,
    )


LOCAL = [
    case(
        "paste-py-docstrings-under-limit",
        "local",
        "Docstrings for every function of a ~27k-character module of plain functions: mechanical and under the ~30k line.",
        req(
            s(CONTINUE_CHAT),
            u(
                "add google style docstrings to every function in this file. don't change any code\n\n"
                + code("python", python_module(88, 41))
            ),
        ),
        "python",
        "long",
        "module",
        "edit",
        "boundary",
    ),
    case(
        "paste-json-to-yaml-under-limit",
        "local",
        "Format conversion of a ~27k-character JSON document: mechanical, under the ~30k line.",
        req(u("convert to yaml, keep key order\n" + code("json", json_blob(112, 43)))),
        "json",
        "yaml",
        "long",
        "format",
        "boundary",
    ),
    case(
        "paste-log-first-timeout-question-end",
        "local",
        "Finding the first timeout line in a ~23k-character log: a mechanical search with the ask at the end.",
        req(
            u(
                code("text", _gateway_timeout_log())
                + "\n\nwhich line is the first one with the timeout? need the exact timestamp for the incident doc"
            )
        ),
        "logs",
        "long",
        "boundary",
    ),
    case(
        "paste-go-doc-comments-store",
        "local",
        "Doc comments on every exported method of a ~16k-character Go file: mechanical.",
        req(
            u(
                "add a doc comment to every exported method (golint style, starting with the method name)\n"
                + code("go", go_file(55, 45))
            )
        ),
        "go",
        "long",
        "module",
        "edit",
    ),
    case(
        "paste-csv-markdown-table",
        "local",
        "Reformatting a pasted CSV into a markdown table with a subset of columns.",
        req(
            u(
                "turn this into a markdown table for the wiki, only order_id, country, qty, unit_price and status\n\n"
                + orders_csv(80, 46)
            )
        ),
        "csv",
        "long",
        "format",
    ),
    case(
        "paste-js-var-to-const-let",
        "local",
        "Replacing var with const/let across a ~13k-character legacy JS file: mechanical.",
        req(
            s(CONTINUE_CHAT),
            u(
                "replace every var with const, or let where the variable is reassigned. nothing else changes\n"
                + code("js lib/records.js", ts_module(50, 47, legacy_js=True))
            ),
        ),
        "javascript",
        "long",
        "module",
        "edit",
    ),
    case(
        "paste-k8s-add-team-label",
        "local",
        "Adding one label to every Deployment of a multi-document manifest: mechanical YAML edit.",
        req(
            u(
                "add the label `team: storefront` to every Deployment, both metadata.labels and the pod template labels. NOT to the Services and NOT to the selectors\n"
                + code(
                    "yaml",
                    k8s_manifests(
                        [
                            "cart",
                            "checkout",
                            "catalog",
                            "search",
                            "users",
                            "notifications",
                            "payments-adapter",
                            "recommendations",
                            "reviews",
                            "shipping",
                        ],
                        48,
                    ),
                )
            )
        ),
        "kubernetes",
        "yaml",
        "long",
        "edit",
    ),
    case(
        "paste-java-trace-own-frames",
        "local",
        "Listing the application's own frames in a ~12k-character trace: a mechanical scan.",
        req(
            u(
                "which of our own classes (com.acme.*) appear in this trace, and on which lines? just list them\n"
                + code("text", _lazy_init_trace())
            )
        ),
        "java",
        "long",
        "trace",
    ),
    case(
        "paste-diff-commit-message",
        "local",
        "A commit message summarising a small, readable feature diff.",
        req(
            u(
                "write a conventional commit message for this diff (subject + short body)\n"
                + code("diff", _dry_run_diff())
            )
        ),
        "python",
        "long",
        "diff",
    ),
    case(
        "paste-sql-schema-if-not-exists",
        "local",
        "Adding IF NOT EXISTS to every CREATE statement of a schema dump: mechanical.",
        req(
            u(
                "make this idempotent: add IF NOT EXISTS to every CREATE TABLE and CREATE INDEX\n"
                + code(
                    "sql",
                    sql_schema(
                        [
                            "customers",
                            "addresses",
                            "categories",
                            "products",
                            "product_categories",
                            "warehouses",
                            "stock_levels",
                            "orders",
                            "order_lines",
                            "shipments",
                            "invoices",
                            "payments",
                            "refunds",
                            "coupons",
                            "audit_events",
                        ],
                        50,
                    ),
                )
            )
        ),
        "sql",
        "long",
        "edit",
    ),
    case(
        "paste-raft-module-sort-imports",
        "local",
        "Sorting an import block at the top of a ~24k-character module full of consensus vocabulary: mechanical despite the words.",
        req(
            u(
                "sort the imports isort-style (stdlib, third party, local, one blank line between groups), leave everything else exactly as is\n"
                + code("python raft/node_helpers.py", consensus_py_module(86, 52))
            )
        ),
        "python",
        "long",
        "module",
        "edit",
        "misleading",
    ),
    case(
        "paste-pytest-list-failures",
        "local",
        "Reading the failed test names out of a ~21k-character pytest report.",
        req(u("CI output below. which tests failed? just the names\n" + code("text", _pytest_failures()))),
        "python",
        "long",
        "tests",
    ),
    case(
        "paste-access-log-awk-5xx",
        "local",
        "A well-known one-liner for the format shown in a pasted access log.",
        req(
            u(
                "our nginx logs look like this. awk or sort/uniq one-liner to count 5xx responses per path (without query string), highest first\n"
                + code("text", access_log(110, 53))
            )
        ),
        "shell",
        "logs",
        "long",
    ),
    case(
        "paste-design-doc-toc",
        "local",
        "A table of contents with anchors for a long markdown document: mechanical.",
        req(
            u(
                "generate a table of contents with github anchor links for this doc, nested for the ### sections\n\n"
                + markdown_doc("Event ingestion platform: design", 24, 54)
            )
        ),
        "markdown",
        "docs",
        "long",
    ),
    case(
        "paste-terraform-rename-var",
        "local",
        "Renaming a variable throughout a ~14k-character Terraform file: mechanical.",
        req(
            u(
                "rename the variable env to environment everywhere (the declaration and every var.env use). nothing else\n"
                + code("hcl", terraform_module(75, 54))
            )
        ),
        "terraform",
        "long",
        "edit",
    ),
    case(
        "paste-chat-go-file-then-deprecate",
        "local",
        "A long Go file earlier in the chat, total under ~30k; the last ask is two deprecation comments.",
        req(
            u("here's store.go, we're going to clean it up over the next few days\n" + code("go", go_file(96, 55))),
            a(
                "Got it. It's a `Store` over a map guarded by an RWMutex, with many near-identical `Get*` accessors: some read under RLock with expiry, some refresh the TTL under the write lock, some poll up to three times."
            ),
            u(
                "ok for now just add a `// Deprecated: use GetOrderV2 instead.` comment above GetOrder11, and the same with GetItemV2 above GetItem37"
            ),
        ),
        "go",
        "long",
        "chat",
        "edit",
        "boundary",
    ),
    case(
        "paste-json-ts-interfaces",
        "local",
        "TypeScript interfaces for a ~16k-character JSON response with one repeated item shape.",
        req(u("generate typescript interfaces for this api response\n" + code("json", json_blob(66, 56)))),
        "typescript",
        "json",
        "long",
    ),
    case(
        "paste-urgent-enospc-meaning",
        "local",
        "Alarmed wording, but the log plainly says the disk is full: explaining a textbook error.",
        req(u("URGENT!!! prod ingest is DOWN since 3am. what does this error mean??\n" + code("text", _enospc_log()))),
        "logs",
        "long",
        "misleading",
    ),
]


_PSP_LEDGER = psp_and_ledger(80, 150)

SONNET = [
    case(
        "paste-py-docstrings-over-limit",
        "sonnet",
        "The same mechanical docstring ask over a ~33k-character module: past the ~30k line, so a strong model.",
        req(
            s(CONTINUE_CHAT),
            u(
                "add google style docstrings to every function in this file. don't change any code\n\n"
                + code("python", python_module(108, 57))
            ),
        ),
        "python",
        "long",
        "module",
        "edit",
        "boundary",
    ),
    case(
        "paste-json-to-yaml-over-limit",
        "sonnet",
        "Format conversion of a ~34k-character JSON document: mechanical but past the ~30k line.",
        req(u("convert this to yaml pls\n" + code("json", json_blob(140, 58)))),
        "json",
        "yaml",
        "long",
        "format",
        "boundary",
    ),
    case(
        "paste-log-first-timeout-question-start",
        "sonnet",
        "A mechanical search asked up front over a ~38k-character log: past the ~30k line.",
        req(
            u(
                "find the line where the db timeout first shows up and paste it back exactly\n\n"
                + code("text", _db_timeout_log_big())
            )
        ),
        "logs",
        "long",
        "boundary",
    ),
    case(
        "paste-go-doc-comments-over-limit",
        "sonnet",
        "Doc comments on every exported method of a ~32k-character Go file: mechanical but past the ~30k line.",
        req(u("add doc comments to all exported methods in this file, golint style\n" + code("go", go_file(112, 60)))),
        "go",
        "long",
        "module",
        "edit",
        "boundary",
    ),
    case(
        "paste-csv-to-jsonl-over-limit",
        "sonnet",
        "Converting a ~39k-character CSV to JSON lines: mechanical, but the context is past the ~30k line.",
        req(u("convert to json lines, numbers as numbers, created_at as is\n\n" + orders_csv(490, 61))),
        "csv",
        "json",
        "long",
        "format",
        "boundary",
    ),
    case(
        "paste-ts-module-minor-units",
        "sonnet",
        "A semantic refactor of a ~19k-character module to integer minor units, including 0- and 3-decimal currencies.",
        req(
            u(
                code("ts src/records.ts", ts_module(68, 62))
                + "\n\nwe're moving all money to integer minor units. in this module `amount` becomes `amountMinor` (integer), totals must be exact, formatMoney now takes `{ minor, currency }`, and JPY (0 decimals) and KWD (3 decimals) have to work. update the module and list what callers need to change"
            )
        ),
        "typescript",
        "long",
        "module",
        "refactor",
    ),
    case(
        "paste-log-checkout-dns",
        "sonnet",
        "Debugging from a ~21k-character multi-component log: a node DNS config change broke resolution of one private zone.",
        req(
            u(
                "checkout started failing payments a few minutes ago, nothing deployed on our side. catalog calls still work. why?\n"
                + code("text", _dns_checkout_log())
            )
        ),
        "kubernetes",
        "logs",
        "long",
        "debug",
    ),
    case(
        "paste-java-trace-lazy-init",
        "sonnet",
        "A long serialization trace after disabling open-in-view: the fix is DTOs or fetch plans across endpoints, not re-enabling it.",
        req(
            u(
                code("text", _lazy_init_trace())
                + "\n\n"
                + code(
                    "java",
                    """
@GetMapping("/invoices")
public InvoicePage list(@RequestParam(defaultValue = "0") int page) {
    return invoiceService.page(currentTenant(), page);
}

@Transactional(readOnly = true)
public InvoicePage page(TenantId tenant, int page) {
    Page<Invoice> p = invoices.findByTenant(tenant, PageRequest.of(page, 50, Sort.by("issuedAt").descending()));
    return new InvoicePage(p.getContent(), p.hasNext());
}
""",
                )
                + "\nstarted right after we set spring.jpa.open-in-view=false like the startup warning suggests. ~25 endpoints return entities like this. what's the proper fix, not just turning it back on?"
            )
        ),
        "java",
        "long",
        "trace",
        "debug",
    ),
    case(
        "paste-diff-export-review",
        "sonnet",
        "Reviewing a feature diff: page offset skips the first page, naive datetime, N+1 queries, and the whole export loaded into memory.",
        req(s(CONTINUE_CHAT), u("can you review this PR before I merge\n" + code("diff", _export_feature_diff()))),
        "python",
        "django",
        "long",
        "diff",
        "review",
    ),
    case(
        "paste-openapi-refunds-handlers",
        "sonnet",
        "Implementing three endpoints from a pasted spec with validation, idempotency and a problem+json error format.",
        req(
            u(
                "implement these endpoints in express + zod + prisma, following the spec exactly (validation, status codes, problem+json errors, idempotency semantics)\n"
                + code("yaml openapi/refunds.yaml", _REFUNDS_OPENAPI)
                + "\n"
                + code("prisma", _PRISMA_REFUNDS)
            )
        ),
        "typescript",
        "long",
        "spec",
        "implement",
    ),
    case(
        "paste-kubectl-oomkilled",
        "sonnet",
        "Diagnosing a CrashLoopBackOff from describe output and logs: heap equal to the limit, plus Chromium and a memory-backed tmp outside the heap.",
        req(
            u(
                "invoice-worker keeps crashlooping since this morning, we didn't change the image. what's going on?\n"
                + code("text", _KUBECTL_DESCRIBE)
            )
        ),
        "kubernetes",
        "java",
        "long",
        "debug",
    ),
    case(
        "paste-gradle-nosuchmethod",
        "sonnet",
        "A startup failure traced through dependencyInsight to an old BOM and a pin in a shared module.",
        req(u("after upgrading to boot 3.2 the api won't start. full output below\n" + code("text", _GRADLE_RUN))),
        "java",
        "gradle",
        "long",
        "debug",
        "build",
    ),
    case(
        "paste-explain-slow-report",
        "sonnet",
        "Tuning a report query from its EXPLAIN ANALYZE: filter order, missing indexes, work_mem; well-trodden.",
        req(
            u(
                "monthly revenue report takes 18s. plan + query below. how do I make it fast?\n"
                + code("text", _EXPLAIN)
                + "\n"
                + code("sql", _EXPLAIN_QUERY)
            )
        ),
        "sql",
        "postgres",
        "long",
        "performance",
    ),
    case(
        "paste-chat-big-log-then-trivial",
        "sonnet",
        "The last ask is trivial, but the conversation carries a ~36k-character log: past the ~30k line.",
        req(
            u("log from last night's incident, can you summarize it\n" + code("text", _incident_log_35k())),
            a(
                "Summary: normal traffic until the Kafka producer buffer filled up (91%), then payment requests started failing with `Failed to deliver 12 messages` because broker kafka-3 refused connections; the service retried upstream calls, and traffic looks normal again after that block."
            ),
            u("thanks. what's the timestamp of the first ERROR line?"),
        ),
        "logs",
        "long",
        "chat",
        "misleading",
        "boundary",
    ),
    case(
        "paste-csv-reconcile-psp-ledger",
        "sonnet",
        "A reconciliation script over two pasted exports with fees, FX, timezones, refunds and duplicates: multi-step data work.",
        req(
            u(
                "two exports for the same day below: our PSP's settlement file and our ledger. write a pandas script that reconciles them: match on merchant_ref/payment_id, flag missing on either side, amount mismatches (careful: PSP is decimal gross in the original currency, ledger is minor units), duplicates, and anything booked on the wrong day (ledger is Europe/Berlin local time). output one csv of exceptions with a reason column\n\n"
                + "psp_settlement_2024-11-02.csv\n"
                + code("csv", _PSP_LEDGER[0])
                + "\n\nledger_2024-11-02.csv\n"
                + code("csv", _PSP_LEDGER[1])
            )
        ),
        "python",
        "csv",
        "long",
        "implement",
    ),
    case(
        "paste-nginx-to-caddy",
        "sonnet",
        "Translating an nginx config with rate limits, websockets, IP allowlists and rewrites to Caddy without losing behaviour.",
        req(
            u(
                "we're moving to caddy 2. convert this to a Caddyfile and keep the behaviour the same, call out anything caddy can't do natively\n"
                + code("nginx", _NGINX_CONF)
            )
        ),
        "nginx",
        "long",
        "config",
        "migration",
    ),
    case(
        "paste-spec-line-protocol-parser",
        "sonnet",
        "Implementing a parser with tests from a pasted spec with escaping rules and typed values.",
        req(
            u(
                _LINE_PROTOCOL_SPEC.strip()
                + "\n\nimplement a parser for this in go: func Parse(payload []byte) ([]Point, []ParseError), and table tests that cover every escaping rule and the error positions"
            )
        ),
        "go",
        "long",
        "spec",
        "implement",
    ),
    case(
        "paste-tf-plan-destroy",
        "sonnet",
        "Reading a ~24k-character plan for destructive changes: two forced replacements (one with skip_final_snapshot) and an ingress opened to the world.",
        req(
            u(
                "routine tagging change, plan below. anything in here that destroys data or causes downtime before I apply?\n"
                + code(
                    "text",
                    _TF_PLAN_HEAD
                    + tf_plan_updates(24, 63)
                    + _TF_PLAN_DANGER
                    + tf_plan_updates(14, 64)
                    + "\nPlan: 0 to add, 39 to change, 2 to destroy.",
                )
            )
        ),
        "terraform",
        "long",
        "review",
    ),
    case(
        "paste-go-file-question-end-over-limit",
        "sonnet",
        "A scan of a ~37k-character Go file for which methods return ErrNotFound or may sleep, with the question at the end: past the ~30k line.",
        req(
            u(
                code("go", go_file(128, 65))
                + "\n\nwhich of these methods can return ErrNotFound, and which can block for a while? list them"
            )
        ),
        "go",
        "long",
        "module",
        "question",
        "boundary",
    ),
    case(
        "paste-rust-expr-tests",
        "sonnet",
        "Unit tests for a tokenizer and recursive-descent parser, including precedence, the conditional form and error positions.",
        req(
            s(CONTINUE_CHAT),
            u(
                "write unit tests for tokenize and Parser in this file. cover precedence, unary minus, the if/else form incl. nesting, and the exact error positions\n"
                + code("rust src/rules/expr.rs", _RUST_EXPR)
            ),
        ),
        "rust",
        "long",
        "tests",
    ),
]


OPUS = [
    case(
        "paste-failover-lost-writes-question-start",
        "opus",
        "Replication/failover anomaly from ~35k characters of logs: async replication plus a primary that outlives its lease (ttl < loop_wait + 2*retry_timeout) and HAProxy routing to both.",
        req(
            u(
                "from these logs, why do we lose writes during failover? orders created right around the switch are just gone (ord_77108, ord_77120, ord_77131)\n\n"
                + code("yaml patroni.yml", _PATRONI_YML)
                + "\n"
                + code("haproxy", _HAPROXY_CFG)
                + "\n"
                + code("text", _failover_log())
            )
        ),
        "postgres",
        "logs",
        "long",
        "distributed",
    ),
    case(
        "paste-go-ring-question-end",
        "opus",
        "A lock-free MPMC ring at the bottom of a long paste releases the slot before reading it; the one-line question comes last and blames arm64.",
        req(
            u(
                "two files from our store package\n"
                + code("go store.go", go_file(70, 66))
                + "\n"
                + code("go ring.go", _GO_RING)
                + "\n\nwe very rarely see the same pointer popped twice and another one never popped, only on the graviton boxes. is Push/Pop in ring.go correct on arm64?"
            )
        ),
        "go",
        "long",
        "module",
        "lock-free",
        "memory-model",
    ),
    case(
        "paste-java-config-holder-question-start",
        "opus",
        "Unsafe publication and unsynchronised reload of a HashMap in a config singleton, asked first over a ~25k-character paste.",
        req(
            u(
                'why do we sometimes see timeoutMs() == 0 right after a deploy, and get("orders.feature.split") returning null while config reloads? code below (the repository is just for context, ConfigHolder is at the end)\n\n'
                + code("java OrderRepository.java", java_class(44, 67))
                + "\n\n"
                + code("java ConfigHolder.java", _JAVA_CONFIG_HOLDER)
            )
        ),
        "java",
        "long",
        "module",
        "memory-model",
        "misleading",
    ),
    case(
        "paste-diff-oauth-callback-review",
        "opus",
        "Security review of an OAuth change: state check removed (login CSRF), open redirect via next, account linking by unverified email, session not reset on login.",
        req(
            u(
                "pls review, this fixes the multi-tab login bug and lets password users sign in with google\n"
                + code("diff", _oauth_callback_diff())
            )
        ),
        "python",
        "flask",
        "long",
        "diff",
        "security",
        "auth",
    ),
    case(
        "paste-kafka-rebalance-duplicates",
        "opus",
        "Exactly-once invoicing across rebalances from a ~25k-character consumer log: poll-interval eviction, processing after revocation, and side effects outside any transaction.",
        req(
            u(
                code("text", _kafka_rebalance_log())
                + "\n\n"
                + code(
                    "java",
                    """
// max.poll.records=500, max.poll.interval.ms=30000 (lowered last sprint so stuck consumers get kicked faster), enable.auto.commit=false
while (running) {
    ConsumerRecords<String, Order> batch = consumer.poll(Duration.ofSeconds(1));
    for (ConsumerRecord<String, Order> r : batch) {
        Invoice inv = invoices.create(r.value());              // INSERT ... (own transaction), renders pdf
        producer.send(new ProducerRecord<>("invoices", inv.orderId(), inv));
    }
    try {
        consumer.commitSync();
    } catch (CommitFailedException e) {
        log.error("Offset commit failed on partition {}", e.getMessage());
    }
}
""",
                )
                + "\nwhy do we get duplicate invoices (db rows and messages on `invoices`) after these rebalances, and what's the proper fix? finance needs exactly one invoice per order"
            )
        ),
        "java",
        "kafka",
        "logs",
        "long",
        "distributed",
    ),
    case(
        "paste-metrics-p99-every-minute",
        "opus",
        "An open-ended latency investigation from a ~20k-character metrics dump: synchronized reconnect storms every 60s with only symptoms to go on.",
        req(
            u(
                "checkout/gateway p99 goes >1s for ~10s once a minute, every minute. CPU and GC look fine, payments' own latency is flat. export from grafana below (10s buckets). checkout calls payments over https through an internal load balancer. what's going on and how do we prove it?\n"
                + code("csv", metrics_dump(68, 25))
            )
        ),
        "performance",
        "csv",
        "long",
    ),
    case(
        "paste-tla-two-phase-retry",
        "opus",
        "TLA+ analysis: an RM may abort after preparing (Consistency fails), and an unbounded retry counter makes the state space infinite.",
        req(
            u(
                "TLC has been running for 6 hours on 3 RMs and never finishes. does Consistency actually hold for this spec? and why doesn't TLC terminate?\n"
                + code("tla", _TLA_2PC)
            )
        ),
        "tla+",
        "long",
        "proof",
        "distributed",
    ),
    case(
        "paste-orders-dual-write-migration",
        "opus",
        "A zero-downtime dual-write migration of live order data with optimistic locking, webhooks and a nightly SQL job writing to the same rows.",
        req(
            u(
                "we're carving orders out of the monolith. context below. write the migration plan: how data gets to the new postgres db and stays in sync, the order in which reads and writes move, how we avoid lost or double-applied updates while both sides write (optimistic locking, psp webhook retries, the nightly job), how we verify, and how each step rolls back\n"
                + code("text", _ORDERS_MIGRATION)
            )
        ),
        "sql",
        "python",
        "go",
        "long",
        "design",
        "migration",
        "distributed",
    ),
    case(
        "paste-cache-replica-stale-prices",
        "opus",
        "A cache-aside race with replica lag, visible in an ~18k-character log: the fix must hold under concurrency, not just add a delay.",
        req(
            u(
                "some product prices stay stale for hours after admins change them, but not always. logs + code below. why, and how do we fix it without reading everything from the primary?\n"
                + code("text", _cache_stale_log())
                + "\n"
                + code(
                    "python",
                    """
def update_price(product_id: int, price: Decimal) -> None:
    with primary.transaction():
        primary.execute("UPDATE products SET price = %s, updated_at = now() WHERE id = %s", (price, product_id))
    cache.delete(f"product:{product_id}")

def get_product(product_id: int) -> dict:
    key = f"product:{product_id}"
    if (hit := cache.get(key)) is not None:
        return hit
    row = replica.fetchone("SELECT * FROM products WHERE id = %s", (product_id,))
    cache.set(key, row, ttl=6 * 3600)
    return row
""",
                )
            )
        ),
        "python",
        "logs",
        "long",
        "distributed",
        "caching",
    ),
    case(
        "paste-token-module-question-end",
        "opus",
        "Crypto review hidden at the end of a ~24k-character module: secret-prefix SHA-256 instead of HMAC, non-constant-time compare, optional expiry.",
        req(
            u(
                code("python portal/core.py", python_module(76, 69) + _TOKENS_PY)
                + "\n\nanything wrong with how we sign and verify the portal tokens in here?"
            )
        ),
        "python",
        "long",
        "module",
        "security",
        "crypto",
    ),
    case(
        "paste-cpp-tlv-parser-review",
        "opus",
        "Security review of a parser of untrusted UDP input: unchecked nested length, a 64-byte stack buffer, unbounded recursion.",
        req(
            u(
                "this decodes telemetry from field units over UDP (the network is not trusted, units can be spoofed). we're about to expose the port publicly for a new customer. can you review it for memory safety?\n"
                + code("cpp src/tlv.cpp", _CPP_TLV)
            )
        ),
        "cpp",
        "long",
        "security",
        "parser",
    ),
    case(
        "paste-raft-diff-election-safety",
        "opus",
        "A ~39k-character 'mostly logging' diff whose RequestVote changes break the election restriction and make the vote non-durable.",
        req(
            u(
                "big diff, mostly the switch from DPrintf to slog plus metrics, and a small RequestVote speedup. does it still preserve election safety and leader completeness? tests pass\n"
                + code("diff", _raft_refactor_diff())
            )
        ),
        "go",
        "long",
        "diff",
        "distributed",
        "proof",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
