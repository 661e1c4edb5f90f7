"""Codex CLI sessions: agent instructions, AGENTS.md contents and an <environment_context> block
(cwd, approval policy, sandbox, network, shell) sent as their own user turns before the ask; a `shell`
tool taking an argv array, `update_plan`, apply_patch edits, and function outputs as JSON with exit
codes. Every stage of the loop, across languages."""

# ruff: noqa: E501, RUF001  (prompts are data: long literal lines and tool output stay as written)

from __future__ import annotations

from typing import Any

from fixtures import case, python_module, req, s, u
from fixtures_agent import (
    CODEX_INSTRUCTIONS,
    CODEX_TOOLS,
    Loop,
    agents_md,
    bash_lc,
    build_log,
    cx_out,
    env_context,
    patch,
)


def cx(cwd: str, agents: str | None, ask: str, *messages: dict[str, Any], **env: Any) -> dict[str, Any]:
    head = [s(CODEX_INSTRUCTIONS)]
    if agents:
        head.append(agents_md(cwd, agents))
    head.append(env_context(cwd, **env))
    head.append(u(ask))
    return req(*head, *messages, tools=CODEX_TOOLS)


def sh(L: Loop, cmd: str, cwd: str, thought: str | None = None, **extra: Any) -> dict[str, Any]:
    return L.call("shell", thought, command=bash_lc(cmd), workdir=cwd, **extra)


GO_AGENTS = """# Repo guidelines
- Go 1.22, no cgo. `make test` runs `go test ./... -race`; `make lint` runs golangci-lint.
- Table-driven tests; use testify/require only in new test files.
- Commands live in cmd/, business logic in internal/. Keep cmd/ thin."""


# --- first turn ----------------------------------------------------------------------------------


def _first_go_json_flag() -> dict[str, Any]:
    return cx(
        "/home/dev/fleetctl",
        GO_AGENTS,
        "add a --output json|table flag to `fleetctl get nodes` (table stays default). json should be an array of the same fields, stable key order",
    )


def _first_resharding() -> dict[str, Any]:
    return cx(
        "/srv/src/tenancy",
        """# tenancy platform
- Python 3.12 services in services/*, shared libs in libs/.
- Each tenant lives on one Postgres shard; libs/routing/shardmap.py resolves tenant -> shard from a table in the control DB, cached 30s in every pod.
- Writes go through services/api and services/worker (celery). Reads also from services/reporting.
- Tests: `make test-<service>`. Don't touch prod configs in deploy/.""",
        "we need to move big tenants between shards while they keep writing (no maintenance window). design and implement the move: copy, catch-up, cutover. nothing may be lost or written to the old shard after cutover, and the 30s shardmap cache is a problem",
        network="enabled",
    )


def _first_makefile_question() -> dict[str, Any]:
    return cx(
        "/home/ana/src/widgets",
        None,
        "what does `make release` do in this repo? don't change anything",
        approval="never",
        sandbox="read-only",
    )


def _first_field_encryption() -> dict[str, Any]:
    return cx(
        "/home/dev/clinic-api",
        """- Django 4.2 + DRF. `pytest -q`.
- Secrets come from AWS KMS via libs/kms.py (generate_data_key, decrypt).
- PatientNote.body holds clinical notes; compliance wants it encrypted at rest in the app layer, not just disk encryption.""",
        "encrypt PatientNote.body at the application layer with AES-GCM using envelope encryption from KMS. we need key rotation later without re-encrypting everything at once, and existing rows have to be migrated",
    )


def _first_csharp_nullable() -> dict[str, Any]:
    return cx(
        "/home/li/src/Shop",
        "- .NET 8. `dotnet build -warnaserror` must pass in CI.\n- src/Shop.Api, src/Shop.Domain, tests/*.",
        "turn on nullable reference types for Shop.Api and fix the warnings properly (no blanket `!` everywhere)",
    )


def _first_keda_worker() -> dict[str, Any]:
    return cx(
        "/home/sre/k8s/apps/thumbnailer",
        "- kustomize base in base/, overlays in overlays/{staging,prod}.\n- KEDA 2.14 is installed cluster-wide. Queue is RabbitMQ (`thumbs` queue), connection string in secret rabbit-conn key `url`.",
        "add autoscaling for the thumbnailer worker on queue depth (KEDA ScaledObject, 1-20 replicas, ~50 msgs per replica) and a PDB so node drains don't take it to zero. prod overlay only",
    )


# --- exploring -----------------------------------------------------------------------------------


def _explore_ssr_flag() -> dict[str, Any]:
    L = Loop("ssr")
    cwd = "/home/kai/web"
    return cx(
        cwd,
        "- pnpm monorepo: apps/storefront (Next.js 14 app router), packages/flags (LaunchDarkly wrapper).\n- `pnpm -F storefront test`.",
        "where do we evaluate feature flags during SSR? new-checkout flag flickers: server renders old checkout then client swaps to new",
        sh(L, 'rg -n "useFlag|getFlag|evaluateFlags" apps/storefront packages/flags | head -40', cwd),
        L.result(
            cx_out(
                """packages/flags/src/server.ts:12:export async function evaluateFlags(user: FlagUser): Promise<FlagSet> {
packages/flags/src/client.tsx:8:export function useFlag(key: FlagKey): boolean {
packages/flags/src/client.tsx:9:  const flags = useContext(FlagContext);
apps/storefront/app/layout.tsx:21:  const flags = await evaluateFlags(anonymousUser());
apps/storefront/app/checkout/page.tsx:5:  const newCheckout = useFlag("new-checkout");
apps/storefront/app/providers.tsx:14:      <FlagProvider initial={{}}>"""
            )
        ),
        sh(
            L, "sed -n '1,40p' apps/storefront/app/providers.tsx && sed -n '15,30p' apps/storefront/app/layout.tsx", cwd
        ),
        L.result(
            cx_out(
                """"use client";
import { FlagProvider } from "@acme/flags/client";
import { SessionProvider } from "next-auth/react";

export function Providers({ children }: { children: React.ReactNode }) {
  return (
    <SessionProvider>
      <FlagProvider initial={{}}>
        {children}
      </FlagProvider>
    </SessionProvider>
  );
}
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const session = await auth();
  const flags = await evaluateFlags(anonymousUser());
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}"""
            )
        ),
    )


def _explore_two_tokios() -> dict[str, Any]:
    L = Loop("tok")
    cwd = "/home/sam/code/ingest"
    return cx(
        cwd,
        None,
        "why does the build pull two versions of tokio and hyper? binary got 3MB bigger after the last dep update",
        sh(L, "cargo tree -d --edges normal 2>/dev/null | head -40", cwd),
        L.result(
            cx_out(
                """hyper v0.14.30
└── reqwest v0.11.27
    └── ingest v0.9.0 (/home/sam/code/ingest)

hyper v1.4.1
├── axum v0.7.5
│   └── ingest v0.9.0 (/home/sam/code/ingest)
└── hyper-util v0.1.7
    └── axum v0.7.5 (*)

http v0.2.12
├── hyper v0.14.30 (*)
└── reqwest v0.11.27 (*)

http v1.1.0
├── axum v0.7.5 (*)
└── hyper v1.4.1 (*)

tokio v1.39.2
├── axum v0.7.5 (*)
└── ingest v0.9.0 (/home/sam/code/ingest)

tokio-rustls v0.24.1
└── reqwest v0.11.27 (*)
tokio-rustls v0.26.0
└── hyper-rustls v0.27.2
    └── ingest v0.9.0 (/home/sam/code/ingest)"""
            )
        ),
        sh(L, "grep -A30 '^\\[dependencies\\]' Cargo.toml", cwd),
        L.result(
            cx_out(
                '[dependencies]\naxum = "0.7"\nhyper-rustls = { version = "0.27", features = ["http2"] }\nreqwest = { version = "0.11", default-features = false, features = ["json", "rustls-tls"] }\nserde = { version = "1", features = ["derive"] }\ntokio = { version = "1", features = ["full"] }\ntracing = "0.1"'
            )
        ),
    )


SAML_RB = """module Sso
  class AssertionVerifier
    def initialize(idp_cert_pem)
      @cert = OpenSSL::X509::Certificate.new(idp_cert_pem)
    end

    # Returns the NameID of a valid assertion or raises InvalidAssertion.
    def verify!(saml_response_b64)
      doc = Nokogiri::XML(Base64.decode64(saml_response_b64))
      sig = doc.at_xpath("//ds:Signature", "ds" => DSIG)
      raise InvalidAssertion, "unsigned" unless sig

      signed_info = sig.at_xpath("ds:SignedInfo", "ds" => DSIG)
      ref_uri = signed_info.at_xpath("ds:Reference", "ds" => DSIG)["URI"].delete_prefix("#")
      signed_node = doc.at_xpath("//*[@ID='#{ref_uri}']")
      digest = Base64.encode64(OpenSSL::Digest::SHA256.digest(canonicalize(signed_node, exclude: sig))).strip
      raise InvalidAssertion, "digest" unless digest == signed_info.at_xpath(".//ds:DigestValue", "ds" => DSIG).text.strip

      sig_value = Base64.decode64(sig.at_xpath("ds:SignatureValue", "ds" => DSIG).text)
      raise InvalidAssertion, "signature" unless @cert.public_key.verify(OpenSSL::Digest::SHA256.new, sig_value, canonicalize(signed_info))

      doc.at_xpath("//saml:Assertion/saml:Subject/saml:NameID", "saml" => SAML).text
    end
  end
end"""


def _explore_saml_verifier() -> dict[str, Any]:
    L = Loop("saml")
    cwd = "/home/dev/portal"
    return cx(
        cwd,
        "- Rails 7. SSO code in app/lib/sso. `bin/rspec spec/lib/sso`.",
        "a customer's security team asked whether our SAML login is vulnerable to signature wrapping. can you check app/lib/sso/assertion_verifier.rb and tell me, then fix if needed",
        sh(L, "sed -n '1,80p' app/lib/sso/assertion_verifier.rb", cwd),
        L.result(cx_out(SAML_RB)),
    )


UNSAFE_RS = """/// A handle to a buffer in the per-thread arena. Cheap to copy around.
pub struct Handle {
    ptr: NonNull<u8>,
    len: usize,
    arena: *const Arena, // the thread-local arena this came from
}

// SAFETY: the arena outlives all handles (it's only reset at the end of a request),
// and handles are read-only.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Handle {
    pub fn as_bytes(&self) -> &[u8] {
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

thread_local! {
    static ARENA: RefCell<Arena> = RefCell::new(Arena::with_capacity(1 << 20));
}

pub fn alloc_copy(bytes: &[u8]) -> Handle {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let ptr = a.alloc(bytes.len());
        unsafe { ptr.as_ptr().copy_from_nonoverlapping(bytes.as_ptr(), bytes.len()) };
        Handle { ptr, len: bytes.len(), arena: &*a as *const Arena }
    })
}

/// Called by the server after each request finishes on this thread.
pub fn reset_arena() {
    ARENA.with(|a| a.borrow_mut().reset());
}"""


def _explore_unsafe_send() -> dict[str, Any]:
    L = Loop("send")
    cwd = "/home/ko/src/edge"
    return cx(
        cwd,
        "- Rust 1.79, tokio multi-thread runtime. `cargo test`, `cargo miri test -p arena` for the unsafe crate.",
        "we want to send arena Handles into tokio::spawn'd tasks (compiler made us add the Send impl). is the unsafe impl in crates/arena sound? if not, what's the smallest fix",
        sh(
            L,
            "sed -n '1,60p' crates/arena/src/handle.rs && rg -n 'reset_arena|tokio::spawn' crates/server/src | head",
            cwd,
        ),
        L.result(
            cx_out(
                UNSAFE_RS
                + "\ncrates/server/src/conn.rs:88:            tokio::spawn(async move { audit::record(h).await });\ncrates/server/src/conn.rs:131:        arena::reset_arena();"
            )
        ),
    )


def _explore_sql_mau() -> dict[str, Any]:
    L = Loop("mau")
    cwd = "/home/ola/analytics"
    return cx(
        cwd,
        None,
        "write the query for monthly active users per plan for the last 12 months (active = at least one event that month). put it in queries/mau_by_plan.sql",
        sh(L, "psql \"$ANALYTICS_URL\" -c '\\d events' -c '\\d subscriptions'", cwd),
        L.result(
            cx_out(
                """                       Table "public.events"
   Column    |           Type           | Nullable
-------------+--------------------------+----------
 id          | bigint                   | not null
 user_id     | bigint                   | not null
 name        | text                     | not null
 occurred_at | timestamp with time zone | not null
Indexes:
    "events_pkey" PRIMARY KEY, btree (id)
    "events_user_time" btree (user_id, occurred_at)

                    Table "public.subscriptions"
   Column   |           Type           | Nullable
------------+--------------------------+----------
 user_id    | bigint                   | not null
 plan       | text                     | not null
 started_at | timestamp with time zone | not null
 ended_at   | timestamp with time zone |
Indexes:
    "subscriptions_user" btree (user_id, started_at)"""
            )
        ),
    )


def _explore_perf_32_cores() -> dict[str, Any]:
    L = Loop("perf")
    cwd = "/home/dev/tsdb"
    return cx(
        cwd,
        "- Go 1.22. Benchmarks in bench/. Don't commit profiles.",
        "ingest throughput scales fine to 8 cores, flat at 16 and DROPS at 32 (1.9M -> 1.1M points/s). figure out why",
        sh(L, "go test ./bench -run x -bench Ingest -cpu 8,16,32 -benchtime 5s", cwd),
        L.result(
            cx_out(
                "goos: linux\ngoarch: amd64\ncpu: AMD EPYC 7R13 Processor\nBenchmarkIngest-8     \t 9431220\t   527.1 ns/op\nBenchmarkIngest-16    \t10022811\t   498.9 ns/op\nBenchmarkIngest-32    \t 5712003\t   902.4 ns/op\nPASS\nok  \ttsdb/bench\t22.117s",
                secs=22.9,
            )
        ),
        sh(
            L,
            "go test ./bench -run x -bench Ingest -cpu 32 -benchtime 5s -cpuprofile /tmp/cpu.out >/dev/null && go tool pprof -top -nodecount 15 /tmp/cpu.out",
            cwd,
        ),
        L.result(
            cx_out(
                """Showing nodes accounting for 41.2s, 88.1% of 46.8s total
      flat  flat%   sum%        cum   cum%
    11.90s 25.43% 25.43%     11.90s 25.43%  sync/atomic.(*Int64).Add
     7.31s 15.62% 41.05%      9.02s 19.27%  runtime.lock2
     5.88s 12.56% 53.61%      5.88s 12.56%  tsdb/internal/series.(*shard).append
     4.02s  8.59% 62.20%      4.40s  9.40%  runtime.mapaccess2_faststr
     3.10s  6.62% 68.82%     14.60s 31.20%  tsdb/internal/wal.(*Writer).Write
     2.44s  5.21% 74.04%      2.44s  5.21%  runtime.procyield
     2.01s  4.29% 78.33%      2.01s  4.29%  runtime.memmove
     1.70s  3.63% 81.97%      8.80s 18.80%  sync.(*Mutex).lockSlow
     1.51s  3.23% 85.19%      1.51s  3.23%  tsdb/internal/stats.(*Counters).Inc
     1.36s  2.91% 88.10%      1.36s  2.91%  runtime.futex""",
                secs=31.4,
            )
        ),
    )


KAFKA_CONSUMER = """public void run() {
    consumer.subscribe(List.of("payments.settled"), new LoggingRebalanceListener());
    while (running) {
        ConsumerRecords<String, Settlement> batch = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<String, Settlement> rec : batch) {
            executor.submit(() -> ledger.apply(rec.value()));   // ledger.apply inserts a ledger_entries row
        }
        consumer.commitAsync();
    }
}"""


def _explore_kafka_consumer() -> dict[str, Any]:
    L = Loop("kafka")
    cwd = "/home/raj/ledger"
    return cx(
        cwd,
        "- Java 21, Gradle. `./gradlew test`. Kafka client 3.7. Consumer group `ledger-writer`, 6 pods.",
        "finance found settlements posted twice to the ledger and a few missing, always around deploys. look at the settlement consumer and tell me what's wrong and how to get effectively-once into the ledger",
        sh(L, "rg -n 'class SettlementConsumer' -A 40 src/main/java | sed -n '1,60p'", cwd),
        L.result(cx_out(KAFKA_CONSUMER)),
        sh(L, "rg -n 'enable.auto.commit|max.poll|isolation.level|ledger_entries' src/main -S", cwd),
        L.result(
            cx_out(
                'src/main/resources/application.yml:14:      enable.auto.commit: false\nsrc/main/resources/application.yml:15:      max.poll.records: 500\nsrc/main/java/com/acme/ledger/Ledger.java:31:        jdbc.update("INSERT INTO ledger_entries (settlement_id, account_id, amount_minor, posted_at) VALUES (?, ?, ?, now())",'
            )
        ),
    )


WEBHOOK_PY = """BLOCKED_NETS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")]


def validate_target(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidTarget("scheme")
    addr = ipaddress.ip_address(socket.gethostbyname(parts.hostname))
    if any(addr in net for net in BLOCKED_NETS):
        raise InvalidTarget("private address")


def deliver(url: str, payload: dict) -> int:
    validate_target(url)
    resp = requests.post(url, json=payload, timeout=5, allow_redirects=True)
    return resp.status_code"""


def _explore_webhook_ssrf() -> dict[str, Any]:
    L = Loop("ssrf")
    cwd = "/home/dev/hooks"
    return cx(
        cwd,
        None,
        "pentest report says our webhook delivery is 'potentially vulnerable to SSRF' but we already block private IPs. is it? harden it if needed",
        sh(L, "sed -n '1,60p' hooks/delivery.py", cwd),
        L.result(cx_out(WEBHOOK_PY)),
    )


# --- editing -------------------------------------------------------------------------------------


def _edit_go_generics() -> dict[str, Any]:
    L = Loop("gen")
    cwd = "/home/dev/fleetctl"
    return cx(
        cwd,
        GO_AGENTS,
        "internal/set has StringSet and IntSet that are copy-pasted. replace them with one generic Set[T comparable] and update callers",
        sh(L, "rg -n 'StringSet|IntSet' --type go | wc -l && sed -n '1,50p' internal/set/set.go", cwd),
        L.result(
            cx_out(
                "23\npackage set\n\ntype StringSet map[string]struct{}\n\nfunc NewStringSet(items ...string) StringSet {\n\ts := StringSet{}\n\tfor _, it := range items {\n\t\ts[it] = struct{}{}\n\t}\n\treturn s\n}\n\nfunc (s StringSet) Has(v string) bool { _, ok := s[v]; return ok }\nfunc (s StringSet) Add(v string)      { s[v] = struct{}{} }\n\ntype IntSet map[int]struct{}\n\nfunc NewIntSet(items ...int) IntSet {\n\ts := IntSet{}\n\tfor _, it := range items {\n\t\ts[it] = struct{}{}\n\t}\n\treturn s\n}\n\nfunc (s IntSet) Has(v int) bool { _, ok := s[v]; return ok }\nfunc (s IntSet) Add(v int)      { s[v] = struct{}{} }"
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: internal/set/set.go\n@@\n-type StringSet map[string]struct{}\n-\n-func NewStringSet(items ...string) StringSet {\n-\ts := StringSet{}\n+type Set[T comparable] map[T]struct{}\n+\n+func New[T comparable](items ...T) Set[T] {\n+\ts := Set[T]{}\n \tfor _, it := range items {\n \t\ts[it] = struct{}{}\n \t}\n \treturn s\n }\n \n-func (s StringSet) Has(v string) bool { _, ok := s[v]; return ok }\n-func (s StringSet) Add(v string)      { s[v] = struct{}{} }\n-\n-type IntSet map[int]struct{}\n-...\n+func (s Set[T]) Has(v T) bool { _, ok := s[v]; return ok }\n+func (s Set[T]) Add(v T)      { s[v] = struct{}{} }"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM internal/set/set.go")),
        sh(L, "go build ./... 2>&1 | head -20", cwd),
        L.result(
            cx_out(
                "# github.com/acme/fleetctl/internal/nodes\ninternal/nodes/filter.go:14:12: undefined: set.StringSet\ninternal/nodes/filter.go:22:9: undefined: set.NewStringSet\n# github.com/acme/fleetctl/cmd/fleetctl\ncmd/fleetctl/get.go:41:15: undefined: set.NewIntSet",
                exit_code=1,
            )
        ),
    )


def _edit_laravel_eager() -> dict[str, Any]:
    L = Loop("lar")
    cwd = "/var/www/shop"
    return cx(
        cwd,
        "- Laravel 11, PHP 8.3. `php artisan test`. Pint for formatting (`./vendor/bin/pint`).",
        "the /orders index does 300+ queries per page according to debugbar. fix the N+1s",
        sh(
            L,
            "sed -n '1,40p' app/Http/Controllers/OrderController.php && sed -n '1,30p' resources/views/orders/index.blade.php",
            cwd,
        ),
        L.result(
            cx_out(
                "<?php\n\nnamespace App\\Http\\Controllers;\n\nclass OrderController extends Controller\n{\n    public function index(Request $request)\n    {\n        $orders = Order::where('shop_id', $request->user()->shop_id)\n            ->latest()\n            ->paginate(50);\n\n        return view('orders.index', compact('orders'));\n    }\n}\n@foreach ($orders as $order)\n  <tr>\n    <td>{{ $order->number }}</td>\n    <td>{{ $order->customer->name }}</td>\n    <td>{{ $order->items->count() }} items</td>\n    <td>{{ $order->items->sum(fn ($i) => $i->product->price * $i->qty) }}</td>\n    <td>{{ $order->shipment?->carrier }}</td>\n  </tr>\n@endforeach"
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: app/Http/Controllers/OrderController.php\n@@\n         $orders = Order::where('shop_id', $request->user()->shop_id)\n+            ->with(['customer', 'items.product', 'shipment'])\n             ->latest()\n             ->paginate(50);"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM app/Http/Controllers/OrderController.php")),
    )


def _edit_plan_midway() -> dict[str, Any]:
    L = Loop("plan")
    cwd = "/home/dev/notify"
    return cx(
        cwd,
        "- Python 3.12, FastAPI. `uv run pytest`. Settings via pydantic-settings in notify/settings.py.",
        "add a per-user quiet hours setting (start/end local time + tz). notifications in quiet hours get queued and sent when it ends. email and push only, sms ignores it",
        L.call(
            "update_plan",
            None,
            plan=[
                {"step": "Add quiet hours fields to UserPrefs + migration", "status": "completed"},
                {"step": "Check quiet hours in dispatcher for email/push", "status": "in_progress"},
                {"step": "Queue deferred notifications and flush job", "status": "pending"},
                {"step": "Tests incl. overnight window (22:00-07:00) and DST", "status": "pending"},
            ],
        ),
        L.result("Plan updated"),
        sh(L, "sed -n '1,60p' notify/dispatch.py", cwd),
        L.result(
            cx_out(
                "async def dispatch(n: Notification, prefs: UserPrefs) -> None:\n    for channel in n.channels:\n        sender = SENDERS[channel]\n        await sender.send(n.user_id, n.render(channel))\n        await record_sent(n.id, channel)"
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: notify/dispatch.py\n@@\n async def dispatch(n: Notification, prefs: UserPrefs) -> None:\n+    now = datetime.now(ZoneInfo(prefs.timezone))\n     for channel in n.channels:\n+        if channel in (Channel.EMAIL, Channel.PUSH) and prefs.in_quiet_hours(now.time()):\n+            await defer(n, channel, until=prefs.quiet_hours_end_after(now))\n+            continue\n         sender = SENDERS[channel]"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM notify/dispatch.py")),
    )


# --- tests failing -------------------------------------------------------------------------------


def _testfail_kotlin_runtest() -> dict[str, Any]:
    L = Loop("kt")
    cwd = "/home/ed/android/app"
    return cx(
        cwd,
        "- Kotlin 2.0, coroutines 1.8. Unit tests: `./gradlew :feature:sync:testDebugUnitTest`.",
        "SyncRepositoryTest.retries_after_backoff times out since I added the backoff. fix the test or the code, whichever is wrong",
        sh(
            L,
            "./gradlew :feature:sync:testDebugUnitTest --tests '*SyncRepositoryTest*' -q 2>&1 | tail -20",
            cwd,
            timeout_ms=300000,
        ),
        L.result(
            cx_out(
                "SyncRepositoryTest > retries_after_backoff FAILED\n    kotlinx.coroutines.test.UncompletedCoroutinesError: After waiting for 10s, the test body did not run to completion\n        at kotlinx.coroutines.test.TestBuildersKt__TestBuildersKt.runTest(TestBuilders.kt:348)\n\n1 test completed, 1 failed",
                exit_code=1,
                secs=41.2,
            )
        ),
        sh(
            L,
            "sed -n '20,50p' feature/sync/src/main/kotlin/com/acme/sync/SyncRepository.kt && sed -n '30,52p' feature/sync/src/test/kotlin/com/acme/sync/SyncRepositoryTest.kt",
            cwd,
        ),
        L.result(
            cx_out("""    suspend fun syncWithRetry(): SyncResult = withContext(Dispatchers.IO) {
        var delayMs = 3_000L
        repeat(3) { attempt ->
            runCatching { api.sync() }.onSuccess { return@withContext SyncResult.Ok(it) }
            delay(delayMs)
            delayMs *= 4
        }
        SyncResult.Failed
    }
    @Test
    fun retries_after_backoff() = runTest {
        api.failTimes(2)
        val result = repo.syncWithRetry()
        assertEquals(SyncResult.Ok(expected), result)
        assertEquals(3, api.calls)
    }""")
        ),
    )


def _testfail_rspec_frozen() -> dict[str, Any]:
    L = Loop("rb")
    cwd = "/home/deploy/apps/forum"
    return cx(
        cwd,
        "- Ruby 3.3, Rails 7.1. `bin/rspec`. We just enabled `# frozen_string_literal: true` everywhere via rubocop -a.",
        "a bunch of specs broke after the frozen string literal change, fix them",
        sh(L, "bin/rspec spec/lib 2>&1 | tail -25", cwd),
        L.result(
            cx_out(
                """Failures:

  1) SlugBuilder.build appends a counter when the slug is taken
     Failure/Error: base << "-#{n}"

     FrozenError:
       can't modify frozen String: "hello-world"
     # ./lib/slug_builder.rb:14:in `build'
     # ./spec/lib/slug_builder_spec.rb:22:in `block (3 levels) in <top (required)>'

  2) CsvExport#header builds the header row
     Failure/Error: line << col.to_s.humanize << ","

     FrozenError:
       can't modify frozen String: ""
     # ./lib/csv_export.rb:31:in `block in header'

Finished in 1.42 seconds (files took 2.1 seconds to load)
61 examples, 2 failures""",
                exit_code=1,
            )
        ),
    )


def _testfail_terraform_replace() -> dict[str, Any]:
    L = Loop("tf")
    cwd = "/home/ines/infra/live/prod/eu-west-1/db"
    return cx(
        cwd,
        "- Terraform 1.8. plan only, never apply. Module sources pinned by tag.",
        "I only renamed things to match our naming convention but plan wants to destroy the prod database?! why, and how do I do the rename without that",
        sh(L, "terraform plan -no-color 2>&1 | sed -n '1,45p'", cwd, timeout_ms=120000),
        L.result(
            cx_out(
                """Terraform will perform the following actions:

  # aws_db_instance.orders must be replaced
-/+ resource "aws_db_instance" "orders" {
      ~ address                      = "orders-prod.c9xk2.eu-west-1.rds.amazonaws.com" -> (known after apply)
      ~ arn                          = "arn:aws:rds:eu-west-1:123456789012:db:orders-prod" -> (known after apply)
      ~ identifier                   = "orders-prod" -> "prod-orders-pg" # forces replacement
        instance_class               = "db.r6g.xlarge"
      ~ endpoint                     = "orders-prod.c9xk2.eu-west-1.rds.amazonaws.com:5432" -> (known after apply)
        # (41 unchanged attributes hidden)
    }

  # aws_security_group.db will be destroyed
  # (because aws_security_group.db is not in configuration)
  # aws_security_group.orders_db will be created

Plan: 2 to add, 0 to change, 2 to destroy.""",
                secs=18.3,
            )
        ),
    )


def _testfail_cmake_link() -> dict[str, Any]:
    L = Loop("ld")
    cwd = "/home/nb/src/imgtool"
    return cx(
        cwd,
        "- C++20, CMake >= 3.25, vcpkg manifest mode. `cmake --build build && ctest --test-dir build`.",
        "I added webp export using libwebp from vcpkg and now the link fails",
        sh(L, "cmake --build build 2>&1 | tail -15", cwd),
        L.result(
            cx_out(
                """[ 92%] Linking CXX executable imgtool
/usr/bin/ld: CMakeFiles/imgtool.dir/src/export_webp.cpp.o: in function `imgtool::export_webp(imgtool::Image const&, std::filesystem::path const&, int)':
export_webp.cpp:(.text+0x9e): undefined reference to `WebPEncodeRGBA'
/usr/bin/ld: export_webp.cpp:(.text+0x141): undefined reference to `WebPFree'
collect2: error: ld returned 1 exit status
gmake[2]: *** [CMakeLists.txt:31: imgtool] Error 1""",
                exit_code=2,
            )
        ),
        sh(L, "cat CMakeLists.txt vcpkg.json", cwd),
        L.result(
            cx_out(
                'cmake_minimum_required(VERSION 3.25)\nproject(imgtool CXX)\nset(CMAKE_CXX_STANDARD 20)\nfind_package(PNG REQUIRED)\nfind_package(WebP CONFIG REQUIRED)\nadd_executable(imgtool src/main.cpp src/image.cpp src/export_png.cpp src/export_webp.cpp)\ntarget_link_libraries(imgtool PRIVATE PNG::PNG)\n{\n  "name": "imgtool",\n  "dependencies": ["libpng", "libwebp"]\n}'
            )
        ),
    )


CACHE_GO = """func (s *ProfileService) Get(ctx context.Context, id string) (Profile, error) {
	if p, ok := s.cache.Get(ctx, id); ok {
		return p, nil
	}
	p, err := s.replica.LoadProfile(ctx, id) // read replica, typically 50-500ms behind
	if err != nil {
		return Profile{}, err
	}
	s.cache.Set(ctx, id, p, 10*time.Minute)
	return p, nil
}

func (s *ProfileService) Update(ctx context.Context, p Profile) error {
	if err := s.primary.SaveProfile(ctx, p); err != nil {
		return err
	}
	return s.cache.Delete(ctx, id(p))
}"""


def _testfail_stale_cache() -> dict[str, Any]:
    L = Loop("stale")
    cwd = "/home/dev/profiles"
    return cx(
        cwd,
        GO_AGENTS,
        "users sometimes see their old display name for ~10 minutes after changing it. I wrote TestReadAfterUpdate with a simulated lagging replica and it reproduces. fix it properly",
        sh(L, "go test ./internal/profile -run TestReadAfterUpdate -count 50 2>&1 | tail -12", cwd),
        L.result(
            cx_out(
                '--- FAIL: TestReadAfterUpdate (0.31s)\n    service_test.go:77: after Update(name="Ada L.") and 1s wait, Get returned name="Ada" (cache entry set at t=+120ms from replica at lag 300ms)\n--- FAIL: TestReadAfterUpdate (0.29s)\n    service_test.go:77: after Update(name="Ada L.") and 1s wait, Get returned name="Ada" (cache entry set at t=+40ms from replica at lag 300ms)\nFAIL\nFAIL\tgithub.com/acme/profiles/internal/profile\t15.402s',
                exit_code=1,
                secs=15.9,
            )
        ),
        sh(L, "sed -n '30,60p' internal/profile/service.go", cwd),
        L.result(cx_out(CACHE_GO)),
    )


def _testfail_react_undefined_map() -> dict[str, Any]:
    L = Loop("rx")
    cwd = "/home/kai/web/apps/admin"
    return cx(
        cwd,
        None,
        "backend changed /api/teams to return {data: [...], next_cursor} instead of a bare array. TeamList tests fail now. update the frontend",
        sh(L, "pnpm vitest run src/teams 2>&1 | tail -20", cwd),
        L.result(
            cx_out(
                """ FAIL  src/teams/TeamList.test.tsx > TeamList > renders teams
TypeError: Cannot read properties of undefined (reading 'map')
 ❯ TeamList src/teams/TeamList.tsx:18:20
     16|   if (isLoading) return <Spinner />;
     17|   return (
     18|     <ul>{teams.map((t) => <TeamRow key={t.id} team={t} />)}</ul>
       |                    ^
 ❯ renderWithHooks node_modules/react-dom/cjs/react-dom.development.js:15486:18

 Test Files  1 failed | 4 passed (5)
      Tests  1 failed | 22 passed (23)""",
                exit_code=1,
            )
        ),
        sh(L, "sed -n '1,30p' src/teams/api.ts src/teams/TeamList.test.tsx | head -50", cwd),
        L.result(
            cx_out(
                'export async function fetchTeams(): Promise<Team[]> {\n  const res = await fetch("/api/teams");\n  if (!res.ok) throw new Error(`teams: ${res.status}`);\n  return res.json();\n}\nimport { server } from "../test/server";\nimport { http, HttpResponse } from "msw";\n\nit("renders teams", async () => {\n  server.use(http.get("/api/teams", () => HttpResponse.json({ data: [{ id: "t1", name: "Core" }], next_cursor: null })));\n  render(<TeamList />);\n  expect(await screen.findByText("Core")).toBeInTheDocument();\n});'
            )
        ),
    )


# --- stuck ---------------------------------------------------------------------------------------


def _stuck_patch_context() -> dict[str, Any]:
    L = Loop("pctx")
    cwd = "/home/dev/notify"
    fail = "apply_patch verification failed: Failed to find expected lines in notify/templates.py:\n    def render_subject(n: Notification) -> str:\n        return n.subject.format(**n.params)"
    return cx(
        cwd,
        "- Python 3.12, FastAPI. `uv run pytest`.",
        "subject lines longer than 78 chars should be truncated with an ellipsis",
        sh(L, "rg -n 'def render_subject' -A4 notify/", cwd),
        L.result(
            cx_out(
                'notify/templates.py:41:def render_subject(n: "Notification") -> str:\nnotify/templates.py-42-    subject = n.subject.format(**n.params)\nnotify/templates.py-43-    return subject.strip()\nnotify/templates.py-44-'
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Update File: notify/templates.py\n@@\n def render_subject(n: Notification) -> str:\n-    return n.subject.format(**n.params)\n+    s = n.subject.format(**n.params)\n+    return s if len(s) <= 78 else s[:77] + "…"'
            ),
        ),
        L.result(cx_out(fail, exit_code=1)),
        L.call(
            "apply_patch",
            "Retrying with more context.",
            input=patch(
                '*** Update File: notify/templates.py\n@@ def render_subject\n def render_subject(n: Notification) -> str:\n-    return n.subject.format(**n.params)\n+    s = n.subject.format(**n.params).strip()\n+    return s if len(s) <= 78 else s[:77] + "…"'
            ),
        ),
        L.result(cx_out(fail, exit_code=1)),
    )


PIP_FAIL = """WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f1c2a3b4d90>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/freezegun/
ERROR: Could not find a version that satisfies the requirement freezegun>=1.5 (from versions: none)
ERROR: No matching distribution found for freezegun>=1.5"""


def _stuck_sandbox_network() -> dict[str, Any]:
    L = Loop("net")
    cwd = "/home/maya/src/metering"
    return cx(
        cwd,
        "- Python 3.12, uv. Tests: `uv run pytest -q`.",
        "add freezegun to the dev deps and use it in tests/test_periods.py instead of the hand-rolled clock patching",
        sh(L, "uv add --dev 'freezegun>=1.5'", cwd),
        L.result(
            cx_out(
                "error: Failed to fetch: `https://pypi.org/simple/freezegun/`\n  Caused by: Request failed after 3 retries\n  Caused by: error sending request for url (https://pypi.org/simple/freezegun/)\n  Caused by: dns error: failed to lookup address information: Temporary failure in name resolution",
                exit_code=2,
                secs=9.1,
            )
        ),
        sh(L, "pip install 'freezegun>=1.5'", cwd, "uv may be misconfigured; trying pip directly."),
        L.result(cx_out(PIP_FAIL, exit_code=1, secs=21.4)),
        sh(L, "pip install --index-url https://pypi.org/simple 'freezegun>=1.5'", cwd),
        L.result(cx_out(PIP_FAIL, exit_code=1, secs=21.0)),
    )


SEGV = "[==========] Running 6 tests from 1 test suite.\n[ RUN      ] SessionTable.ExpireRemovesOldSessions\nbash: line 1: 48120 Segmentation fault      (core dumped) ./build/tests/session_table_test"


def _stuck_erase_in_loop() -> dict[str, Any]:
    L = Loop("segv")
    cwd = "/home/nb/src/gatewayd"
    return cx(
        cwd,
        "- C++17, CMake. `cmake --build build && ./build/tests/session_table_test`.",
        "implement SessionTable::expire(now) — remove sessions idle longer than ttl. test is already written",
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: src/session_table.cpp\n@@ size_t SessionTable::expire(Clock::time_point now) {\n-  return 0;  // TODO\n+  size_t removed = 0;\n+  for (auto& [id, s] : sessions_) {\n+    if (now - s.last_seen > ttl_) {\n+      sessions_.erase(id);\n+      ++removed;\n+    }\n+  }\n+  return removed;"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM src/session_table.cpp")),
        sh(L, "cmake --build build -j && ./build/tests/session_table_test", cwd),
        L.result(cx_out(SEGV, exit_code=139, secs=6.2)),
        sh(
            L,
            "cmake --build build -j --clean-first && ./build/tests/session_table_test",
            cwd,
            "Could be a stale object file; rebuilding clean.",
        ),
        L.result(cx_out(SEGV, exit_code=139, secs=48.0)),
        sh(
            L,
            "cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug && cmake --build build -j && ./build/tests/session_table_test",
            cwd,
        ),
        L.result(cx_out(SEGV, exit_code=139, secs=51.7)),
    )


OBJ_C = """struct conn *conn_get(struct conn_table *t, uint32_t id)
{
    struct conn *c = t->slots[id & t->mask];   /* read without the table lock */
    if (c && c->id == id) {
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        return c;
    }
    return NULL;
}

void conn_put(struct conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_release) == 1) {
        atomic_thread_fence(memory_order_acquire);
        free(c->buf);
        free(c);
    }
}

void conn_close(struct conn_table *t, struct conn *c)
{
    pthread_mutex_lock(&t->lock);
    t->slots[c->id & t->mask] = NULL;
    pthread_mutex_unlock(&t->lock);
    conn_put(c);   /* drop the table's reference */
}"""

TSAN = """==================
WARNING: ThreadSanitizer: heap-use-after-free (pid=77120)
  Atomic write of size 4 at 0x7b2000001a10 by thread T3:
    #0 __tsan_atomic32_fetch_add <null>
    #1 conn_get src/conn_table.c:{n}
    #2 worker_main src/worker.c:88
  Previous write of size 8 at 0x7b2000001a10 by thread T1:
    #0 free <null>
    #1 conn_put src/conn_table.c:{m}
    #2 conn_close src/conn_table.c:{k}
SUMMARY: ThreadSanitizer: heap-use-after-free src/conn_table.c:{n} in conn_get
==================
ThreadSanitizer: reported 1 warnings"""


def _stuck_refcount_resurrect() -> dict[str, Any]:
    L = Loop("ref")
    cwd = "/home/nb/src/gatewayd"
    return cx(
        cwd,
        "- C11, make. `make tsan && ./build-tsan/stress_conns -t 16 -n 2000000`.",
        "stress_conns under TSan reports heap-use-after-free in conn_get. fix the refcounting",
        sh(L, "sed -n '40,80p' src/conn_table.c", cwd),
        L.result(cx_out(OBJ_C)),
        sh(L, "./build-tsan/stress_conns -t 16 -n 2000000 2>&1 | tail -16", cwd),
        L.result(cx_out(TSAN.format(n=45, m=55, k=64), exit_code=66, secs=12.3)),
        L.call(
            "apply_patch",
            "The relaxed increment may not be ordered with the free; make both seq_cst.",
            input=patch(
                "*** Update File: src/conn_table.c\n@@\n-        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);\n+        atomic_fetch_add_explicit(&c->refs, 1, memory_order_seq_cst);\n@@\n-    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_release) == 1) {\n+    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_seq_cst) == 1) {"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM src/conn_table.c")),
        sh(L, "make tsan >/dev/null && ./build-tsan/stress_conns -t 16 -n 2000000 2>&1 | tail -16", cwd),
        L.result(cx_out(TSAN.format(n=45, m=55, k=64), exit_code=66, secs=12.9)),
        sh(
            L,
            "make tsan >/dev/null && ./build-tsan/stress_conns -t 16 -n 2000000 2>&1 | tail -16",
            cwd,
            "Running again to see if it is consistent.",
        ),
        L.result(cx_out(TSAN.format(n=45, m=55, k=64), exit_code=66, secs=13.1)),
    )


DEADLOCK = """fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
github.com/acme/crawler/internal/fetch.FetchAll({0xc000126000, 0x5, 0x5}, 0x2)
	/home/dev/crawler/internal/fetch/fetch.go:38 +0x1e5
github.com/acme/crawler/internal/fetch.TestFetchAllStopsOnError(0xc000103380)
	/home/dev/crawler/internal/fetch/fetch_test.go:51 +0x11d

goroutine 21 [chan send]:
github.com/acme/crawler/internal/fetch.FetchAll.func1({0x5f1a2e, 0x13})
	/home/dev/crawler/internal/fetch/fetch.go:29 +0xa9
FAIL	github.com/acme/crawler/internal/fetch	0.019s"""


def _stuck_go_deadlock() -> dict[str, Any]:
    L = Loop("dl")
    cwd = "/home/dev/crawler"
    return cx(
        cwd,
        GO_AGENTS,
        "FetchAll should return the first error and stop. TestFetchAllStopsOnError hangs/deadlocks, fix FetchAll",
        sh(L, "sed -n '15,45p' internal/fetch/fetch.go", cwd),
        L.result(
            cx_out(
                "func FetchAll(urls []string, workers int) ([]Page, error) {\n\tpages := make(chan Page)\n\terrs := make(chan error)\n\tsem := make(chan struct{}, workers)\n\tfor _, u := range urls {\n\t\tgo func(u string) {\n\t\t\tsem <- struct{}{}\n\t\t\tdefer func() { <-sem }()\n\t\t\tp, err := fetch(u)\n\t\t\tif err != nil {\n\t\t\t\terrs <- err\n\t\t\t\treturn\n\t\t\t}\n\t\t\tpages <- p\n\t\t}(u)\n\t}\n\tvar out []Page\n\tfor range urls {\n\t\tout = append(out, <-pages)\n\t}\n\tselect {\n\tcase err := <-errs:\n\t\treturn nil, err\n\tdefault:\n\t}\n\treturn out, nil\n}"
            )
        ),
        sh(L, "go test ./internal/fetch -run TestFetchAllStopsOnError -count 1", cwd),
        L.result(cx_out(DEADLOCK, exit_code=1)),
        L.call(
            "apply_patch",
            "Buffering the semaphore differently should unblock the workers.",
            input=patch(
                "*** Update File: internal/fetch/fetch.go\n@@\n-\tsem := make(chan struct{}, workers)\n+\tsem := make(chan struct{}, len(urls))"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM internal/fetch/fetch.go")),
        sh(L, "go test ./internal/fetch -run TestFetchAllStopsOnError -count 1", cwd),
        L.result(cx_out(DEADLOCK, exit_code=1)),
    )


# --- clean run, only a report remains -----------------------------------------------------------


def _report_vitest_green() -> dict[str, Any]:
    L = Loop("vok")
    cwd = "/home/kai/web/apps/admin"
    return cx(
        cwd,
        None,
        "backend changed /api/teams to return {data: [...], next_cursor} instead of a bare array. update the frontend (no pagination UI yet, just read data)",
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Update File: src/teams/api.ts\n@@\n-export async function fetchTeams(): Promise<Team[]> {\n+type TeamsPage = { data: Team[]; next_cursor: string | null };\n+\n+export async function fetchTeams(): Promise<Team[]> {\n   const res = await fetch("/api/teams");\n   if (!res.ok) throw new Error(`teams: ${res.status}`);\n-  return res.json();\n+  const page: TeamsPage = await res.json();\n+  return page.data;\n }'
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM src/teams/api.ts")),
        sh(L, "pnpm vitest run src/teams && pnpm tsc --noEmit -p . && pnpm eslint src/teams", cwd),
        L.result(
            cx_out(
                " ✓ src/teams/TeamList.test.tsx (4 tests) 61ms\n ✓ src/teams/api.test.ts (3 tests) 9ms\n ✓ src/teams/TeamForm.test.tsx (16 tests) 140ms\n\n Test Files  3 passed (3)\n      Tests  23 passed (23)\n   Duration  1.21s",
                secs=6.8,
            )
        ),
    )


def _report_go_green() -> dict[str, Any]:
    L = Loop("gok")
    cwd = "/home/dev/fleetctl"
    return cx(
        cwd,
        GO_AGENTS,
        "add a --output json|table flag to `fleetctl get nodes` (table stays default)",
        L.call(
            "update_plan",
            None,
            plan=[
                {"step": "Add --output flag and json encoder path", "status": "completed"},
                {"step": "Table-driven test for both formats", "status": "completed"},
                {"step": "make test && make lint", "status": "in_progress"},
            ],
        ),
        L.result("Plan updated"),
        sh(L, "make test && make lint", cwd, timeout_ms=600000),
        L.result(
            cx_out(
                "go test ./... -race\nok  \tgithub.com/acme/fleetctl/cmd/fleetctl\t1.311s\nok  \tgithub.com/acme/fleetctl/internal/nodes\t0.207s\nok  \tgithub.com/acme/fleetctl/internal/output\t0.118s\nok  \tgithub.com/acme/fleetctl/internal/set\t0.012s\ngolangci-lint run ./...\n0 issues.",
                secs=38.4,
            )
        ),
        L.call(
            "update_plan",
            None,
            plan=[
                {"step": "Add --output flag and json encoder path", "status": "completed"},
                {"step": "Table-driven test for both formats", "status": "completed"},
                {"step": "make test && make lint", "status": "completed"},
            ],
        ),
        L.result("Plan updated"),
    )


def _report_traversal_fixed() -> dict[str, Any]:
    L = Loop("trav")
    cwd = "/home/dev/docs-svc"
    return cx(
        cwd,
        "- Python 3.12, Starlette. `uv run pytest -q`.",
        "GET /files/{path} lets you read ../../etc/passwd. fix it and add tests",
        sh(L, "sed -n '1,30p' docs_svc/files.py", cwd),
        L.result(
            cx_out(
                'ROOT = Path(os.environ["DOCS_ROOT"])\n\n\nasync def get_file(request):\n    rel = request.path_params["path"]\n    return FileResponse(ROOT / rel)'
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Update File: docs_svc/files.py\n@@\n-ROOT = Path(os.environ["DOCS_ROOT"])\n+ROOT = Path(os.environ["DOCS_ROOT"]).resolve()\n@@\n     rel = request.path_params["path"]\n-    return FileResponse(ROOT / rel)\n+    target = (ROOT / rel).resolve()\n+    if not target.is_relative_to(ROOT) or not target.is_file():\n+        raise HTTPException(404)\n+    return FileResponse(target)',
                '*** Add File: tests/test_files_traversal.py\n+import pytest\n+\n+\n+@pytest.mark.parametrize("path", ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "sub/../../secret.txt", "link_out"])\n+def test_traversal_is_404(client, path):\n+    assert client.get(f"/files/{path}").status_code == 404\n+\n+\n+def test_normal_file(client):\n+    assert client.get("/files/guide/intro.md").status_code == 200',
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM docs_svc/files.py\nA tests/test_files_traversal.py")),
        sh(L, "uv run pytest -q", cwd),
        L.result(
            cx_out(
                "..................................                                       [100%]\n34 passed in 0.88s"
            )
        ),
    )


# --- the user's follow-up mid-loop --------------------------------------------------------------


def _followup_why_static_lock() -> dict[str, Any]:
    L = Loop("lock")
    cwd = "/home/li/src/Shop"
    return cx(
        cwd,
        "- .NET 8. `dotnet test`.",
        "PriceCache.GetAsync sometimes calls the pricing API many times for the same sku at once when the cache is cold. make it only fetch once per sku",
        sh(L, "sed -n '1,40p' src/Shop.Api/Pricing/PriceCache.cs", cwd),
        L.result(
            cx_out(
                "public sealed class PriceCache\n{\n    private readonly IMemoryCache _cache;\n    private readonly IPricingClient _client;\n\n    public async Task<Price> GetAsync(string sku, CancellationToken ct)\n    {\n        if (_cache.TryGetValue(sku, out Price? p)) return p!;\n        var price = await _client.GetPriceAsync(sku, ct);\n        _cache.Set(sku, price, TimeSpan.FromMinutes(5));\n        return price;\n    }\n}"
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: src/Shop.Api/Pricing/PriceCache.cs\n@@\n public sealed class PriceCache\n {\n+    private static readonly SemaphoreSlim Gate = new(1, 1);\n@@\n         if (_cache.TryGetValue(sku, out Price? p)) return p!;\n-        var price = await _client.GetPriceAsync(sku, ct);\n-        _cache.Set(sku, price, TimeSpan.FromMinutes(5));\n-        return price;\n+        await Gate.WaitAsync(ct);\n+        try\n+        {\n+            if (_cache.TryGetValue(sku, out p)) return p!;\n+            var price = await _client.GetPriceAsync(sku, ct);\n+            _cache.Set(sku, price, TimeSpan.FromMinutes(5));\n+            return price;\n+        }\n+        finally { Gate.Release(); }"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM src/Shop.Api/Pricing/PriceCache.cs")),
        sh(L, "dotnet test tests/Shop.Api.Tests --filter PriceCache", cwd),
        L.result(
            cx_out("Passed!  - Failed:     0, Passed:     6, Skipped:     0, Total:     6, Duration: 212 ms", secs=9.4)
        ),
        {
            "role": "assistant",
            "content": "PriceCache now double-checks the cache under a SemaphoreSlim, so concurrent cold misses fetch once. Tests pass.",
        },
        u(
            "why is the semaphore static though? doesn't that mean a slow sku blocks every other sku, across all requests?"
        ),
    )


def _followup_revert_migration() -> dict[str, Any]:
    L = Loop("mig")
    cwd = "/home/dev/tracker"
    return cx(
        cwd,
        "- Django 5. Migrations are reviewed by the DBA team; never squash or edit applied ones.",
        "add a `priority` field to Issue (low/normal/high, default normal) and expose it in the API",
        sh(L, "python manage.py makemigrations issues && git status --short", cwd),
        L.result(
            cx_out(
                "Migrations for 'issues':\n  issues/migrations/0022_issue_priority.py\n    - Add field priority to issue\n M issues/models.py\n M issues/serializers.py\n?? issues/migrations/0022_issue_priority.py\n M issues/migrations/0021_issue_labels.py"
            )
        ),
        {
            "role": "assistant",
            "content": "Added `Issue.priority` with choices and default `normal`, exposed it in IssueSerializer, and generated 0022. I also tidied 0021 (sorted the operations) while I was there.",
        },
        u("undo the change to 0021, that one is already applied in prod. keep the rest"),
    )


TOKEN_LUA = """-- KEYS[1] = bucket key; ARGV = rate_per_sec, burst, now_ms, cost
local rate  = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now   = tonumber(ARGV[3])
local cost  = tonumber(ARGV[4])

local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts     = tonumber(b[2]) or now

tokens = math.min(burst, tokens + (now - ts) / 1000 * rate)
local allowed = tokens >= cost
if allowed then tokens = tokens - cost end

redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000))
return allowed and 1 or 0"""


def _followup_redis_failover() -> dict[str, Any]:
    L = Loop("tb")
    cwd = "/home/kim/platform/services/public-api"
    return cx(
        cwd,
        "- Node 20, ioredis, vitest. Redis is a managed primary + replica with automatic failover; clients connect through the primary endpoint.",
        "implement the per-key token bucket as a Redis Lua script so it's atomic across our 6 replicas",
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Add File: src/ratelimit/bucket.lua\n" + "\n".join("+" + line for line in TOKEN_LUA.splitlines())
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nA src/ratelimit/bucket.lua")),
        sh(L, "pnpm vitest run src/ratelimit", cwd),
        L.result(
            cx_out(
                " ✓ src/ratelimit/bucket.test.ts (7 tests) 38ms\n\n Test Files  1 passed (1)\n      Tests  7 passed (7)"
            )
        ),
        {
            "role": "assistant",
            "content": "Added src/ratelimit/bucket.lua (refill + take in one EVALSHA, so it's atomic per key) and the middleware that calls it with `Date.now()` from each pod. Tests pass against ioredis-mock.",
        },
        u(
            "ok. will this still be correct when the redis primary fails over? and we pass now_ms from 6 different pods, is that a problem"
        ),
    )


def _followup_empty_dir() -> dict[str, Any]:
    L = Loop("dir")
    cwd = "/home/ops/scripts"
    return cx(
        cwd,
        None,
        "write rotate_backups.sh: keep the newest 7 *.tar.gz in $BACKUP_DIR, delete the rest",
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Add File: rotate_backups.sh\n+#!/usr/bin/env bash\n+set -euo pipefail\n+dir="${BACKUP_DIR:?BACKUP_DIR not set}"\n+ls -1t "$dir"/*.tar.gz | tail -n +8 | xargs -r rm --'
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nA rotate_backups.sh")),
        sh(L, "chmod +x rotate_backups.sh && shellcheck rotate_backups.sh", cwd),
        L.result(
            cx_out(
                'In rotate_backups.sh line 4:\nls -1t "$dir"/*.tar.gz | tail -n +8 | xargs -r rm --\n^-- SC2012 (info): Use find instead of ls to better handle non-alphanumeric filenames.',
                exit_code=1,
            )
        ),
        {
            "role": "assistant",
            "content": "Created rotate_backups.sh. shellcheck only has an info-level note about ls; fine for our timestamped file names.",
        },
        u(
            "also handle the case where the dir has no backups yet — right now it errors with `ls: cannot access '/backups/*.tar.gz'` and the cron mails us"
        ),
    )


GEN_CACHE_GO = """type entry struct {
	val Value
	gen uint64
}

type Cache struct {
	mu    sync.Mutex
	gen   uint64 // bumped by every Invalidate
	items map[string]entry
	load  func(context.Context, string) (Value, error)
}

func (c *Cache) Get(ctx context.Context, k string) (Value, error) {
	c.mu.Lock()
	if e, ok := c.items[k]; ok && e.gen == c.gen {
		c.mu.Unlock()
		return e.val, nil
	}
	startGen := c.gen
	c.mu.Unlock()

	v, err := c.load(ctx, k) // reads the primary DB
	if err != nil {
		return Value{}, err
	}

	c.mu.Lock()
	if c.gen == startGen {
		c.items[k] = entry{v, startGen}
	}
	c.mu.Unlock()
	return v, nil
}

func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}"""


def _followup_prove_cache() -> dict[str, Any]:
    L = Loop("gen")
    cwd = "/home/dev/profiles"
    return cx(
        cwd,
        GO_AGENTS,
        "the config cache can keep serving a value loaded before an Invalidate. add a generation counter so a load that raced with Invalidate isn't cached",
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Update File: internal/confcache/cache.go\n@@\n"
                + "\n".join("+" + line for line in GEN_CACHE_GO.splitlines()[:12])
                + "\n@@ ..."
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nM internal/confcache/cache.go")),
        sh(L, "sed -n '1,60p' internal/confcache/cache.go && go test ./internal/confcache -race -count 20", cwd),
        L.result(cx_out(GEN_CACHE_GO + "\nok  \tgithub.com/acme/profiles/internal/confcache\t3.902s", secs=4.3)),
        {
            "role": "assistant",
            "content": "Get now records the generation before loading and only stores the result if no Invalidate happened meanwhile (internal/confcache/cache.go:14). Race tests pass 20/20.",
        },
        u(
            "tests passing doesn't convince me. argue precisely: if Invalidate() returns before Get(k) is called, can that Get ever return a value the DB had before the invalidation? and can a stale entry survive in the map? the writer updates the DB, then calls Invalidate"
        ),
    )


# --- long context ---------------------------------------------------------------------------------


def _long_cmake_build_log() -> dict[str, Any]:
    L = Loop("blog")
    cwd = "/home/nb/src/columnar"
    needle = [
        "[463/740] Building CXX object src/query/CMakeFiles/query.dir/planner_17.cc.o",
        "FAILED: src/query/CMakeFiles/query.dir/planner_17.cc.o",
        "/usr/bin/c++ -DNDEBUG -I/home/nb/src/columnar/src -O2 -std=c++20 -MD -MT src/query/CMakeFiles/query.dir/planner_17.cc.o -c /home/nb/src/columnar/src/query/planner_17.cc",
        "In file included from /home/nb/src/columnar/src/query/planner_17.cc:4:",
        "/home/nb/src/columnar/src/query/plan_node.h:58:29: error: 'std::span' has not been declared",
        "   58 |   void set_children(std::span<PlanNode* const> kids);",
        "      |                             ^~~~",
        "/home/nb/src/columnar/src/query/plan_node.h:58:33: error: expected ',' or '...' before '<' token",
        "note: 'std::span' is defined in header '<span>'; this is probably fixable by adding '#include <span>'",
        "ninja: build stopped: subcommand failed.",
    ]
    return cx(
        cwd,
        "- C++20, CMake + Ninja. Build: `cmake --build build`. GCC 13 on CI, clang 17 locally.",
        "CI build broke on gcc after my refactor (works with clang locally). fix it",
        sh(L, "cmake --build build 2>&1", cwd, timeout_ms=1200000),
        L.result(cx_out(build_log(700, 3, needle, at=0.66), exit_code=1, secs=412.0)),
    )


def _long_auth_diff_review() -> dict[str, Any]:
    L = Loop("rev")
    cwd = "/home/dev/shop-api"
    auth_hunk = """diff --git a/shop_api/auth/session.py b/shop_api/auth/session.py
--- a/shop_api/auth/session.py
+++ b/shop_api/auth/session.py
@@ -18,21 +18,19 @@
 def load_session(request):
     raw = request.cookies.get("sid")
     if not raw:
         return None
-    sid, mac = raw.rsplit(".", 1)
-    if not hmac.compare_digest(mac, _sign(sid)):
-        return None
+    sid, mac = raw.rsplit(".", 1)
+    if mac != _sign(sid):
+        return None
     sess = SESSIONS.get(sid)
-    if sess is None or sess.expires_at < utcnow():
+    if sess is None:
         return None
     return sess
@@ -52,12 +50,11 @@
 def login(request, user):
-    old = load_session(request)
-    if old:
-        SESSIONS.delete(old.id)
-    sess = SESSIONS.create(user.id, ttl=timedelta(hours=12))
+    sess = load_session(request) or SESSIONS.create(user.id, ttl=timedelta(hours=12))
+    sess.user_id = user.id
+    SESSIONS.save(sess)
     return sess
@@ -80,6 +77,9 @@
 def _sign(sid: str) -> str:
-    return hmac.new(SECRET, sid.encode(), hashlib.sha256).hexdigest()
+    return hashlib.sha256((SECRET.decode() + sid).encode()).hexdigest()"""
    body = []
    for i in range(6):
        mod = python_module(24, 90 + i)
        body.append(
            f"diff --git a/shop_api/orders/part_{i}.py b/shop_api/orders/part_{i}.py\n--- a/shop_api/orders/part_{i}.py\n+++ b/shop_api/orders/part_{i}.py\n@@ -1,{len(mod.splitlines())} +1,{len(mod.splitlines())} @@\n"
            + "\n".join((" " if j % 7 else "+") + line for j, line in enumerate(mod.splitlines()))
        )
    diff = "\n".join(body[:3]) + "\n" + auth_hunk + "\n" + "\n".join(body[3:])
    return cx(
        cwd,
        "- Python 3.12, Starlette. Reviews: check security-sensitive files under shop_api/auth with extra care.",
        "review the diff on this branch before I open the PR — it's mostly the orders refactor plus 'simplifying' the session code",
        sh(L, "git diff main...HEAD", cwd),
        L.result(cx_out(diff, secs=0.2)),
    )


CX = "codex"

CASES = [
    # first turn
    case(
        "codex-first-output-flag",
        "sonnet",
        "A small CLI flag in Go; the request declares the agent's tools.",
        _first_go_json_flag(),
        "go",
        CX,
        "tools",
        "stage-first-turn",
    ),
    case(
        "codex-first-online-resharding",
        "opus",
        "Moving live tenants between shards with a cached shard map: cross-service invariants (no lost or misdirected writes) at cutover.",
        _first_resharding(),
        "python",
        CX,
        "tools",
        "stage-first-turn",
        "distributed",
        "migration",
    ),
    case(
        "codex-first-makefile-question",
        "sonnet",
        "A lookup question, but asked of a tool-declaring agent in a read-only sandbox.",
        _first_makefile_question(),
        "make",
        CX,
        "tools",
        "stage-first-turn",
    ),
    case(
        "codex-first-field-encryption",
        "opus",
        "Envelope encryption with AES-GCM, key rotation and a migration of existing rows: crypto where nonce or key mistakes fail silently.",
        _first_field_encryption(),
        "python",
        CX,
        "tools",
        "stage-first-turn",
        "security",
        "crypto",
    ),
    case(
        "codex-first-nullable-refs",
        "sonnet",
        "Enabling nullable reference types and fixing warnings: routine C# work across a project.",
        _first_csharp_nullable(),
        "csharp",
        CX,
        "tools",
        "stage-first-turn",
    ),
    case(
        "codex-first-keda-pdb",
        "sonnet",
        "A KEDA ScaledObject and a PDB in a kustomize overlay: standard manifests, through tools.",
        _first_keda_worker(),
        "kubernetes",
        "yaml",
        CX,
        "tools",
        "stage-first-turn",
    ),
    # exploring
    case(
        "codex-explore-ssr-flags",
        "sonnet",
        "The flicker is explained by the provider getting empty initial flags; wiring server flags through is routine.",
        _explore_ssr_flag(),
        "typescript",
        "react",
        CX,
        "tools",
        "stage-explore",
        "debugging",
    ),
    case(
        "codex-explore-duplicate-tokio",
        "sonnet",
        "cargo tree shows reqwest 0.11 pulling hyper 0.14; upgrading reqwest is the well-known fix.",
        _explore_two_tokios(),
        "rust",
        CX,
        "tools",
        "stage-explore",
    ),
    case(
        "codex-explore-saml-wrapping",
        "opus",
        "The verifier checks the signed node by ID but reads NameID from any Assertion: signature wrapping, an auth security review.",
        _explore_saml_verifier(),
        "ruby",
        CX,
        "tools",
        "stage-explore",
        "security",
    ),
    case(
        "codex-explore-unsafe-send",
        "opus",
        "Soundness of unsafe Send/Sync on handles into a thread-local arena that is reset per request while spawned tasks still hold them.",
        _explore_unsafe_send(),
        "rust",
        CX,
        "tools",
        "stage-explore",
        "memory-safety",
    ),
    case(
        "codex-explore-mau-query",
        "sonnet",
        "A monthly-active-users query joining plan intervals: routine SQL with the schema in hand.",
        _explore_sql_mau(),
        "sql",
        CX,
        "tools",
        "stage-explore",
        "query",
    ),
    case(
        "codex-explore-scaling-collapse",
        "opus",
        "Throughput collapse past 16 cores with a shared atomic and lock contention: an open-ended scaling investigation.",
        _explore_perf_32_cores(),
        "go",
        CX,
        "tools",
        "stage-explore",
        "performance",
    ),
    case(
        "codex-explore-kafka-effectively-once",
        "opus",
        "Async processing with commitAsync across rebalances loses and duplicates; effectively-once into the ledger needs an idempotency design.",
        _explore_kafka_consumer(),
        "java",
        CX,
        "tools",
        "stage-explore",
        "distributed",
    ),
    case(
        "codex-explore-webhook-ssrf",
        "opus",
        "The private-IP check resolves DNS separately from the request and follows redirects: SSRF via rebinding and redirects, a security fix.",
        _explore_webhook_ssrf(),
        "python",
        CX,
        "tools",
        "stage-explore",
        "security",
    ),
    # editing
    case(
        "codex-edit-generic-set",
        "sonnet",
        "A generics refactor with compile errors at the call sites to update: routine.",
        _edit_go_generics(),
        "go",
        CX,
        "tools",
        "stage-edit",
        "refactor",
    ),
    case(
        "codex-edit-laravel-eager-load",
        "sonnet",
        "Eager loading for an N+1, patch applied, tests next: routine in a tool loop.",
        _edit_laravel_eager(),
        "php",
        CX,
        "tools",
        "stage-edit",
    ),
    case(
        "codex-edit-quiet-hours",
        "sonnet",
        "A feature halfway through its plan (deferral, flush job, overnight windows): routine multi-step work.",
        _edit_plan_midway(),
        "python",
        CX,
        "tools",
        "stage-edit",
    ),
    # tests failing
    case(
        "codex-testfail-runtest-dispatcher",
        "sonnet",
        "runTest cannot skip delays on Dispatchers.IO; inject the dispatcher. A known coroutine-testing fix.",
        _testfail_kotlin_runtest(),
        "kotlin",
        CX,
        "tools",
        "stage-test-fail",
    ),
    case(
        "codex-testfail-frozen-string",
        "sonnet",
        "FrozenError from << on literals after the magic comment: a mechanical fix per site, in a tool loop.",
        _testfail_rspec_frozen(),
        "ruby",
        CX,
        "tools",
        "stage-test-fail",
    ),
    case(
        "codex-testfail-terraform-forces-replacement",
        "sonnet",
        "The plan shows identifier forces replacement; the answer is a moved block / keeping identifier, well documented.",
        _testfail_terraform_replace(),
        "terraform",
        CX,
        "tools",
        "stage-test-fail",
    ),
    case(
        "codex-testfail-cmake-webp-link",
        "sonnet",
        "Missing target_link_libraries for the WebP target: the link error and CMakeLists show it.",
        _testfail_cmake_link(),
        "cpp",
        "cmake",
        CX,
        "tools",
        "stage-test-fail",
    ),
    case(
        "codex-testfail-stale-cache-replica",
        "opus",
        "Cache-aside filled from a lagging replica races with delete-on-update: read-your-writes needs versioning or a primary read after writes, a replication anomaly.",
        _testfail_stale_cache(),
        "go",
        CX,
        "tools",
        "stage-test-fail",
        "distributed",
    ),
    case(
        "codex-testfail-paged-response",
        "sonnet",
        "An API shape change breaking one component: update the fetcher, routine.",
        _testfail_react_undefined_map(),
        "typescript",
        "react",
        CX,
        "tools",
        "stage-test-fail",
    ),
    # stuck
    case(
        "codex-stuck-patch-context",
        "sonnet",
        "Two patch failures because the real signature quotes the annotation and the body differs: re-read and patch, routine recovery.",
        _stuck_patch_context(),
        "python",
        CX,
        "tools",
        "stage-stuck",
        "tool-error",
    ),
    case(
        "codex-stuck-sandbox-network",
        "sonnet",
        "The same install fails three times because network is sandboxed: rerun with escalated permissions, a known harness step.",
        _stuck_sandbox_network(),
        "python",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "codex-stuck-erase-while-iterating",
        "sonnet",
        "Same segfault three times from erasing inside a range-for: a well-known iterator-invalidation fix.",
        _stuck_erase_in_loop(),
        "cpp",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "codex-stuck-refcount-resurrection",
        "opus",
        "Stuck on a use-after-free: conn_get increments a refcount that may already be zero on an unlocked slot read; orderings can't fix it, it needs inc-not-zero under the lock or deferred reclamation.",
        _stuck_refcount_resurrect(),
        "c",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "memory-model",
    ),
    case(
        "codex-stuck-fetchall-deadlock",
        "sonnet",
        "Same deadlock twice: an erroring worker blocks on an unread errs channel while FetchAll waits for pages; select on both and cancel, a well-known fix.",
        _stuck_go_deadlock(),
        "go",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "concurrency",
    ),
    # report
    case(
        "codex-report-teams-green",
        "sonnet",
        "Tests, typecheck and lint are green; only the final message remains, in a tool-declaring session.",
        _report_vitest_green(),
        "typescript",
        CX,
        "tools",
        "stage-report",
    ),
    case(
        "codex-report-output-flag-green",
        "sonnet",
        "make test and lint clean, plan complete: only a short report remains.",
        _report_go_green(),
        "go",
        CX,
        "tools",
        "stage-report",
    ),
    case(
        "codex-report-traversal-fixed",
        "sonnet",
        "The security fix is done correctly (resolve + is_relative_to) and tested; what remains is the report, not the review.",
        _report_traversal_fixed(),
        "python",
        CX,
        "tools",
        "stage-report",
        "security",
    ),
    # follow-ups
    case(
        "codex-followup-static-semaphore",
        "sonnet",
        "The static gate serialises every sku; per-key locking or Lazy<Task> is a standard fix, in a tool loop.",
        _followup_why_static_lock(),
        "csharp",
        CX,
        "tools",
        "stage-followup",
        "concurrency",
    ),
    case(
        "codex-followup-revert-applied-migration",
        "sonnet",
        "Revert one file's change: trivial, but in a tool loop.",
        _followup_revert_migration(),
        "python",
        CX,
        "tools",
        "stage-followup",
    ),
    case(
        "codex-followup-redis-failover",
        "opus",
        "Async replication loses bucket state on failover and pod clock skew breaks refill: correctness of a distributed limiter.",
        _followup_redis_failover(),
        "lua",
        "redis",
        CX,
        "tools",
        "stage-followup",
        "distributed",
    ),
    case(
        "codex-followup-empty-backup-dir",
        "sonnet",
        "Handle an empty glob in a small script, mid-loop with tools.",
        _followup_empty_dir(),
        "shell",
        CX,
        "tools",
        "stage-followup",
    ),
    case(
        "codex-followup-prove-generation-cache",
        "opus",
        "A precise correctness argument for a generation-counter cache (ordering of DB write, Invalidate, the gen snapshot and the load; stale entries linger but are never served): reasoning about linearizability, where tests prove nothing.",
        _followup_prove_cache(),
        "go",
        CX,
        "tools",
        "stage-followup",
        "proof",
        "concurrency",
    ),
    # long
    case(
        "codex-long-gcc-missing-include",
        "sonnet",
        "A missing <span> include buried in a 30k+ build log: simple once found, but the context is long.",
        _long_cmake_build_log(),
        "cpp",
        CX,
        "tools",
        "stage-test-fail",
        "long",
    ),
    case(
        "codex-long-session-diff-review",
        "opus",
        "A long diff hides a session 'simplification' that drops constant-time compare, expiry and fixation protection and replaces HMAC with a hash: auth security review.",
        _long_auth_diff_review(),
        "python",
        CX,
        "tools",
        "stage-explore",
        "security",
        "long",
    ),
]
