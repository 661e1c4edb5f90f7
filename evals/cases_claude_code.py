"""Claude Code sessions: a long CLI-agent system prompt with an <env> block and git status, user turns
wrapped in <system-reminder> blocks (CLAUDE.md, todo state, opened files), Bash/Read/Edit/Grep/TodoWrite
tools and their results (numbered file dumps, test output, tool errors), at every stage of the loop.
Also the client's own side requests (titles, topic detection, command-prefix checks, compaction),
which carry no tools."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

import random
from typing import Any

from fixtures import case, go_file, python_module, req, s, u
from fixtures_agent import (
    CC_TOOLS,
    TODO_EMPTY,
    TODO_OK,
    Loop,
    cc_edit_error,
    cc_edited,
    cc_read,
    cc_system,
    claude_md,
    numbered,
    opened_file,
    pytest_wall,
    selected_lines,
    todos,
    user_parts,
)


def cc(cwd: str, *messages: dict[str, Any], **env: Any) -> dict[str, Any]:
    return req(s(cc_system(cwd, **env)), *messages, tools=CC_TOOLS)


SHOP_CLAUDE_MD = """# shopctl

CLI + library for the shop's back office.

## Commands
- `uv run pytest -q` runs the tests; `uv run pytest tests/export -q` for one package
- `uv run ruff check . && uv run ruff format .` before finishing
- `uv run mypy src` must stay clean

## Conventions
- click for the CLI, one module per command group under src/shopctl/commands/
- no new dependencies without asking
- money is Decimal, never float"""


# --- first turn ----------------------------------------------------------------------------------


def _first_export_csv() -> dict[str, Any]:
    return cc(
        "/home/maya/src/shopctl",
        user_parts(
            claude_md("/home/maya/src/shopctl/CLAUDE.md", SHOP_CLAUDE_MD),
            "add a --format option to `shopctl export orders` so it can write csv as well as the current jsonl. default stays jsonl. csv should have a header row",
            TODO_EMPTY,
        ),
        branch="feat/export-csv",
        commits="9f1e2aa export: stream rows instead of loading all orders\n41c0d3b bump click to 8.1.7\n0be77c1 commands: split customers into its own module",
    )


LEASE_CLAUDE_MD = """# billing-scheduler

Go 1.22. `make test` (unit), `make itest` (needs docker: etcd + postgres via testcontainers).

- internal/lease: leader election on etcd (concurrency.Session, TTL 10s)
- internal/jobs: cron jobs; nightly `billing.Close` writes invoice rows to Postgres
- Never import internal/jobs from internal/lease."""


def _first_lease_fencing() -> dict[str, Any]:
    return cc(
        "/home/dev/billing-scheduler",
        user_parts(
            claude_md("/home/dev/billing-scheduler/CLAUDE.md", LEASE_CLAUDE_MD),
            "last tuesday two schedulers both ran the nightly billing close. the old leader had a ~40s stop-the-world pause (we think swap), its etcd session expired, a new leader got elected and started the job, then the old one woke up and carried on writing invoices. make this safe: a leader that has lost its lease must not be able to write billing rows even if it hasn't noticed yet",
            TODO_EMPTY,
        ),
        commits="c1d2e3f jobs: add billing.Close retries\n8a7b6c5 lease: bump session TTL to 10s",
    )


def _first_rust_zero_copy() -> dict[str, Any]:
    return cc(
        "/home/sam/code/logslice",
        user_parts(
            opened_file("/home/sam/code/logslice/src/record.rs"),
            "the parser allocates a String for every field and it shows up as 40% of the profile. change Record to borrow from the input line (Record<'a> with &'a str fields) and fix the callers. the writer only needs the record while the line buffer is alive",
        ),
        branch="perf/borrowed-records",
        platform="darwin",
        os_version="Darwin 24.3.0",
    )


def _first_terraform_logs_bucket() -> dict[str, Any]:
    return cc(
        "/Users/ines/infra/live/prod/eu-west-1",
        user_parts(
            claude_md(
                "/Users/ines/infra/CLAUDE.md",
                "Terraform 1.8, AWS provider 5.x. Modules in /modules, environments in /live/<env>/<region>.\nAlways run `terraform fmt -recursive` and `tflint`. Never run apply; plan only.\nAll resources get `tags = local.common_tags`.",
            ),
            "we need a bucket for the ALB access logs in prod. versioning on, block all public access, SSE with the default kms key, expire objects after 90 days, and the bucket policy so the eu-west-1 ELB account can write to it. then point the alb in alb.tf at it",
            TODO_EMPTY,
        ),
        platform="darwin",
        os_version="Darwin 23.6.0",
        status="M alb.tf",
    )


def _first_ruby_soft_delete() -> dict[str, Any]:
    return cc(
        "/home/deploy/apps/forum",
        user_parts(
            claude_md(
                "/home/deploy/apps/forum/CLAUDE.md",
                "Rails 7.1, Ruby 3.3, RSpec + FactoryBot. `bin/rspec` to test, `bin/rubocop -a` to lint.\nWe use the `discard` gem already for Topic.",
            ),
            "add soft delete to Comment the same way Topic does it (discarded_at). discarded comments should disappear from topic pages, the user profile comment list and the API, but admins still see them in /admin/comments",
            TODO_EMPTY,
        ),
        commits="5e4d3c2 topics: soft delete with discard\n1a2b3c4 admin: comments index",
    )


CRDT_CLAUDE_MD = """# notes-collab

Collaborative editor. packages/crdt is our own sequence CRDT (RGA-style with tombstones), packages/server relays ops over websockets.
- `pnpm -F crdt test` runs the property tests (fast-check)
- ops are applied in causal order by the server's vector-clock buffer"""


def _first_crdt_divergence() -> dict[str, Any]:
    return cc(
        "/home/lea/notes-collab",
        user_parts(
            claude_md("/home/lea/notes-collab/CLAUDE.md", CRDT_CLAUDE_MD),
            opened_file("/home/lea/notes-collab/packages/crdt/src/rga.ts"),
            "users report documents that look different on two laptops after both deleted overlapping ranges while offline and then reconnected. the fast-check test in rga.property.test.ts never caught it. figure out why replicas diverge and fix it so they converge",
        ),
        commits="77aa12b crdt: batch deletes into range ops\n3c4d5e6 server: vector clock buffer",
    )


def _first_perf_node_pool() -> dict[str, Any]:
    return cc(
        "/home/ops/checkout-svc",
        user_parts(
            "after we moved checkout-svc to the new node pool (c7g arm instances, same cpu/mem requests) p99 went from 180ms to 420ms. p50 is the same. no code change in that deploy. I have grafana but nothing obvious. help me find out why — you can use kubectl and the repo",
            TODO_EMPTY,
        ),
        branch="main",
        status="(clean)",
    )


# --- exploring -----------------------------------------------------------------------------------

TAX_TS = """import { Money, money } from "../money";
import { ratesFor } from "./rates";
import type { Cart } from "../cart/types";

export function taxFor(cart: Cart): Money {
  const rates = ratesFor(cart.shippingAddress);
  const itemsBase = cart.lines.reduce((sum, l) => sum.add(l.unitPrice.mul(l.qty)), money(0));
  const taxableBase = rates.taxShipping ? itemsBase.add(cart.shipping) : itemsBase;
  let tax = money(0);
  for (const r of rates.components) {
    tax = tax.add(taxableBase.mul(r.rate));
  }
  if (rates.taxShipping) {
    for (const r of rates.components) {
      tax = tax.add(cart.shipping.mul(r.rate));
    }
  }
  return tax.round();
}"""


def _explore_shipping_tax() -> dict[str, Any]:
    L = Loop("tax", "toolu")
    return cc(
        "/home/ana/web/storefront",
        user_parts(
            "customer in quebec says she was charged GST+QST on shipping twice. where do we compute tax on shipping?",
            TODO_EMPTY,
        ),
        L.call("Grep", None, pattern="taxShipping|shipping.*rate", path="src", output_mode="content", **{"-n": True}),
        L.result(
            "src/checkout/rates.ts:12:  taxShipping: boolean;\nsrc/checkout/rates.ts:41:    taxShipping: true,\nsrc/checkout/rates.ts:58:    taxShipping: ca.provincesTaxingShipping.includes(addr.region),\nsrc/checkout/tax.ts:8:  const taxableBase = rates.taxShipping ? itemsBase.add(cart.shipping) : itemsBase;\nsrc/checkout/tax.ts:13:  if (rates.taxShipping) {"
        ),
        L.call("Read", None, file_path="/home/ana/web/storefront/src/checkout/tax.ts"),
        L.result(cc_read(TAX_TS)),
    )


SECURITY_CONFIG = """package com.acme.orders.config;

@Configuration
@EnableWebSecurity
public class SecurityConfig {

    @Value("${management.server.port:8080}")
    private int managementPort;

    @Bean
    SecurityFilterChain api(HttpSecurity http) throws Exception {
        http
            .authorizeHttpRequests(auth -> auth
                .requestMatchers(HttpMethod.GET, "/actuator/health").permitAll()
                .requestMatchers("/api/public/**").permitAll()
                .anyRequest().authenticated())
            .oauth2ResourceServer(o -> o.jwt(Customizer.withDefaults()))
            .csrf(csrf -> csrf.disable());
        return http.build();
    }
}"""

STAGING_YML = """server:
  port: 8080
  servlet:
    context-path: /orders
management:
  server:
    port: 8081
  endpoints:
    web:
      exposure:
        include: health,info,prometheus
      base-path: /manage"""


def _explore_actuator_401() -> dict[str, Any]:
    L = Loop("act", "toolu")
    return cc(
        "/home/jon/work/orders-service",
        user_parts(
            "the k8s liveness probe gets 401 on the health endpoint in staging only, prod is fine. probe hits :8081/manage/health. why"
        ),
        L.calls(
            [
                (
                    "Read",
                    {
                        "file_path": "/home/jon/work/orders-service/src/main/java/com/acme/orders/config/SecurityConfig.java"
                    },
                ),
                ("Read", {"file_path": "/home/jon/work/orders-service/src/main/resources/application-staging.yml"}),
                (
                    "Bash",
                    {
                        "command": "diff src/main/resources/application-prod.yml src/main/resources/application-staging.yml",
                        "description": "Compare prod and staging config",
                    },
                ),
            ],
            "Let me look at the security config and the staging profile.",
        ),
        *L.results(
            cc_read(SECURITY_CONFIG),
            cc_read(STAGING_YML),
            "12a13\n>       base-path: /manage",
        ),
    )


METRICS_CELL_H = """#pragma once
#include <atomic>
#include <cstdint>

namespace metrics {

struct Snapshot {
  uint64_t count;
  double sum;
  double p50;
  double p99;
  uint64_t buckets[64];
};

// Single writer (the aggregator thread), many readers (the /metrics handler threads).
// Lock-free so the scrape never blocks aggregation.
class SnapshotCell {
 public:
  void publish(const Snapshot& s) {
    seq_.fetch_add(1, std::memory_order_relaxed);  // odd: write in progress
    data_ = s;
    seq_.fetch_add(1, std::memory_order_relaxed);  // even: stable
  }

  Snapshot read() const {
    Snapshot out;
    uint64_t before, after;
    do {
      before = seq_.load(std::memory_order_relaxed);
      out = data_;
      after = seq_.load(std::memory_order_relaxed);
    } while (before != after || (before & 1));
    return out;
  }

 private:
  std::atomic<uint64_t> seq_{0};
  Snapshot data_{};
};

}  // namespace metrics"""


def _explore_seqlock_arm() -> dict[str, Any]:
    L = Loop("seq", "toolu")
    return cc(
        "/home/pv/src/edge-proxy",
        user_parts(
            "dashboard sometimes shows the request count going DOWN between scrapes and a garbage p99 (like 4.9e-310). only on the arm (graviton) hosts. started after the lock-free metrics change last sprint. look into it"
        ),
        L.call(
            "Bash",
            None,
            command="git log --oneline -5 -- src/metrics && git show --stat HEAD~1",
            description="Recent changes to the metrics code",
        ),
        L.result(
            "e41a9c0 metrics: lock-free snapshot cell instead of mutex\n2b7f113 metrics: add p50\n9d0c4e1 metrics: histogram buckets to 64\ncommit e41a9c0\nAuthor: Pavel K <pk@edge.dev>\n\n    metrics: lock-free snapshot cell instead of mutex\n\n src/metrics/snapshot_cell.h  | 41 +++++++++++++++++++++++++++--\n src/metrics/aggregator.cc    |  9 +++----\n src/metrics/http_handler.cc  |  6 ++---\n 3 files changed, 44 insertions(+), 12 deletions(-)"
        ),
        L.call("Read", None, file_path="/home/pv/src/edge-proxy/src/metrics/snapshot_cell.h"),
        L.result(cc_read(METRICS_CELL_H)),
    )


def _explore_task_ratelimit() -> dict[str, Any]:
    L = Loop("rl", "toolu")
    return cc(
        "/home/kim/platform",
        user_parts(
            "add per-api-key rate limiting to the public API: 100 req/min with bursts up to 20, return 429 with Retry-After. we run 6 replicas so it has to be shared",
            TODO_EMPTY,
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Explore public API middleware and existing Redis usage", "in_progress"),
                ("Implement shared token-bucket limiter keyed by API key", "pending"),
                ("Wire middleware and 429 + Retry-After response", "pending"),
                ("Add tests", "pending"),
                ("Run lint, typecheck and tests", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call(
            "Task",
            None,
            description="Explore public API middleware",
            prompt="In /home/kim/platform, find how the public API service is built: framework, middleware order, where the API key is resolved onto the request, any existing Redis client and any existing rate limiting. Report file paths and the relevant snippets.",
            subagent_type="general-purpose",
        ),
        L.result(
            """The public API lives in services/public-api (Express 4, TypeScript).

- Middleware order (services/public-api/src/app.ts:18-31): requestId -> pinoHttp -> apiKeyAuth -> json body parser -> routers (/v1/orders, /v1/products, /v1/webhooks) -> errorHandler.
- API key resolution: src/middleware/apiKey.ts looks up the `x-api-key` header in Postgres (cached 60s in an in-memory LRU) and sets `req.apiKey = { id, tenantId, plan }`. Unauthenticated requests get 401 before reaching routers.
- Redis: src/lib/redis.ts exports a shared ioredis client (`redis`), used today only by src/routes/webhooks.ts for delivery dedupe (SET NX EX).
- No rate limiting exists in public-api. `express-rate-limit` is a dependency of services/admin-api only (memory store).
- Tests: vitest + supertest in services/public-api/test, with `ioredis-mock` already in devDependencies.
- Error format: errorHandler maps `HttpError(status, code, message)` to `{ error: { code, message } }`."""
        ),
    )


LOGIN_PHP = """<?php
require_once __DIR__ . '/config.php';   // defines SALT, starts the session

function login(PDO $db, string $email, string $password): bool
{
    $stmt = $db->prepare('SELECT id, password_hash, failed_attempts FROM users WHERE email = ?');
    $stmt->execute([$email]);
    $user = $stmt->fetch(PDO::FETCH_ASSOC);
    if (!$user) {
        return false;
    }
    if (md5($password . SALT) != $user['password_hash']) {
        $db->prepare('UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ?')
           ->execute([$user['id']]);
        return false;
    }
    $_SESSION['user_id'] = $user['id'];
    if (!empty($_POST['remember'])) {
        $token = base64_encode($user['id'] . ':' . time());
        setcookie('remember', $token, time() + 86400 * 30, '/');
        $db->prepare('UPDATE users SET remember_token = ? WHERE id = ?')->execute([$token, $user['id']]);
    }
    return true;
}

function auto_login(PDO $db): void
{
    if (isset($_COOKIE['remember']) && !isset($_SESSION['user_id'])) {
        [$id] = explode(':', base64_decode($_COOKIE['remember']));
        $stmt = $db->prepare('SELECT remember_token FROM users WHERE id = ?');
        $stmt->execute([$id]);
        $row = $stmt->fetch(PDO::FETCH_ASSOC);
        if ($row && $row['remember_token'] == $_COOKIE['remember']) {
            $_SESSION['user_id'] = $id;
        }
    }
}"""


def _explore_php_login_review() -> dict[str, Any]:
    L = Loop("php", "toolu")
    return cc(
        "/var/www/members",
        user_parts(
            "can you check our login + remember-me code before we go live on friday? we rolled our own because the framework one didn't fit our old user table"
        ),
        L.call("Glob", None, pattern="**/*login*.php"),
        L.result("/var/www/members/src/auth/login.php\n/var/www/members/public/login.php"),
        L.call("Read", None, file_path="/var/www/members/src/auth/login.php"),
        L.result(cc_read(LOGIN_PHP)),
        platform="linux",
        os_version="Linux 5.15.0-119-generic",
        branch="release/1.0",
    )


OUTBOX_JAVA = """package com.acme.orders.outbox;

@Component
@RequiredArgsConstructor
public class OutboxRelay {

    private final JdbcTemplate jdbc;
    private final KafkaProducer<String, byte[]> producer;   // acks=1, retries=0 (see KafkaConfig)

    @Scheduled(fixedDelay = 500)
    public void relay() {
        List<OutboxRow> rows = jdbc.query(
            "SELECT id, topic, msg_key, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100",
            OutboxRow.MAPPER);
        for (OutboxRow r : rows) {
            producer.send(new ProducerRecord<>(r.topic(), r.msgKey(), r.payload()));
            jdbc.update("UPDATE outbox SET sent_at = now() WHERE id = ?", r.id());
        }
    }
}"""


def _explore_outbox_relay() -> dict[str, Any]:
    L = Loop("obx", "toolu")
    return cc(
        "/home/raj/orders",
        user_parts(
            "fulfilment team says they sometimes get the same OrderPlaced twice and, rarely, never get one at all. the relay is in outbox/. we run 2 replicas of the service. find out what's going on",
            TODO_EMPTY,
        ),
        L.call("Grep", None, pattern="outbox", path="src/main/java", output_mode="files_with_matches"),
        L.result(
            "src/main/java/com/acme/orders/outbox/OutboxRelay.java\nsrc/main/java/com/acme/orders/outbox/OutboxRow.java\nsrc/main/java/com/acme/orders/service/OrderService.java\nsrc/main/java/com/acme/orders/config/KafkaConfig.java"
        ),
        L.call("Read", None, file_path="/home/raj/orders/src/main/java/com/acme/orders/outbox/OutboxRelay.java"),
        L.result(cc_read(OUTBOX_JAVA)),
    )


VERIFY_TS = """import jwt from "jsonwebtoken";
import { AuthError } from "../errors";
import { getKey } from "./keys";

export async function verifyToken(token: string): Promise<Claims> {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload === "string") throw new AuthError("malformed token");
  const { kid, alg } = decoded.header;
  const key = await getKey(kid, decoded.payload.iss);
  const claims = jwt.verify(token, key, { algorithms: [alg as jwt.Algorithm] }) as Claims;
  return claims;
}"""

KEYS_TS = """import { createPublicKey } from "node:crypto";
import { config } from "../config";

const cache = new Map<string, string>();

export async function getKey(kid: string | undefined, iss: string | undefined): Promise<string> {
  if (iss === config.internalIssuer) return config.internalHmacSecret; // HS256 tokens from our own login service
  const url = `${iss}/.well-known/jwks.json`;
  const cacheKey = `${url}#${kid}`;
  if (!cache.has(cacheKey)) {
    const jwks = await (await fetch(url)).json();
    const jwk = jwks.keys.find((k: { kid: string }) => k.kid === kid);
    cache.set(cacheKey, createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "pem" }).toString());
  }
  return cache.get(cacheKey)!;
}"""


def _explore_jwt_second_idp() -> dict[str, Any]:
    L = Loop("jwt", "toolu")
    return cc(
        "/home/tom/api-gateway",
        user_parts(
            selected_lines("/home/tom/api-gateway/src/auth/verify.ts", 5, 12, VERIFY_TS.split("\n\n", 1)[1]),
            "we're adding okta as a second IdP next to our own login service. make verifyToken accept okta tokens too (issuer https://acme.okta.com/oauth2/default, RS256)",
        ),
        L.calls(
            [
                ("Read", {"file_path": "/home/tom/api-gateway/src/auth/verify.ts"}),
                ("Read", {"file_path": "/home/tom/api-gateway/src/auth/keys.ts"}),
            ],
            "I'll read the verifier and the key lookup.",
        ),
        *L.results(cc_read(VERIFY_TS), cc_read(KEYS_TS)),
    )


def _explore_k8s_oomkilled() -> dict[str, Any]:
    L = Loop("oom", "toolu")
    return cc(
        "/home/sre/deploy/inventory",
        user_parts(
            "pods crashlooping since the helm upgrade to chart 3.2 this morning. nothing changed in the app image"
        ),
        L.call(
            "Bash",
            None,
            command="kubectl -n inventory describe pod inventory-api-7c9f8b6d5-x2kqp | sed -n '1,60p'",
            description="Describe a crashlooping pod",
        ),
        L.result(
            """Name:             inventory-api-7c9f8b6d5-x2kqp
Namespace:        inventory
Priority:         0
Node:             ip-10-2-14-88.eu-west-1.compute.internal/10.2.14.88
Labels:           app.kubernetes.io/name=inventory-api
                  helm.sh/chart=inventory-api-3.2.0
Status:           Running
Containers:
  api:
    Image:          registry.acme.dev/inventory-api:2024.11.3
    Port:           8080/TCP
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Thu, 12 Jun 2025 09:14:02 +0200
      Finished:     Thu, 12 Jun 2025 09:14:49 +0200
    Ready:          False
    Restart Count:  9
    Limits:
      cpu:     500m
      memory:  256Mi
    Requests:
      cpu:     250m
      memory:  256Mi
    Environment:
      JAVA_TOOL_OPTIONS:  -Xms512m -Xmx512m -XX:+UseG1GC
      SPRING_PROFILES_ACTIVE: prod
Events:
  Type     Reason     Age                  From     Message
  ----     ------     ----                 ----     -------
  Warning  BackOff    2m (x41 over 12m)    kubelet  Back-off restarting failed container api in pod inventory-api-7c9f8b6d5-x2kqp"""
        ),
        L.call(
            "Bash",
            None,
            command="helm get values inventory -n inventory && git diff HEAD~1 -- values-prod.yaml",
            description="Show release values and recent values change",
        ),
        L.result(
            """USER-SUPPLIED VALUES:
image:
  tag: 2024.11.3
env:
  JAVA_TOOL_OPTIONS: -Xms512m -Xmx512m -XX:+UseG1GC
diff --git a/values-prod.yaml b/values-prod.yaml
index 3c1a2f0..7d9e4b1 100644
--- a/values-prod.yaml
+++ b/values-prod.yaml
@@ -4,9 +4,3 @@ image:
 env:
   JAVA_TOOL_OPTIONS: -Xms512m -Xmx512m -XX:+UseG1GC
-resources:
-  limits:
-    cpu: "1"
-    memory: 1Gi
-  requests:
-    memory: 768Mi
+# resources now come from chart defaults (3.2)"""
        ),
    )


def _explore_junit5() -> dict[str, Any]:
    L = Loop("junit", "toolu")
    return cc(
        "/home/mk/ledger-core",
        user_parts(
            claude_md(
                "/home/mk/ledger-core/CLAUDE.md",
                "Maven multi-module. `./mvnw -pl ledger-core test`. Java 17. Keep Mockito 5.",
            ),
            "migrate the tests in ledger-core from junit 4 to junit 5 jupiter. no vintage engine at the end",
            TODO_EMPTY,
        ),
        L.call(
            "Grep",
            None,
            pattern="org\\.junit\\.|@RunWith|@Rule|ExpectedException|@Before\\b|@After\\b|@BeforeClass",
            path="ledger-core/src/test",
            output_mode="content",
            **{"-n": True},
        ),
        L.result(
            """ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:3:import org.junit.Before;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:4:import org.junit.Rule;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:5:import org.junit.Test;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:6:import org.junit.rules.ExpectedException;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:7:import org.junit.runner.RunWith;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:9:import static org.junit.Assert.assertEquals;
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:14:@RunWith(MockitoJUnitRunner.class)
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:17:    @Rule public ExpectedException thrown = ExpectedException.none();
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:24:    @Before
ledger-core/src/test/java/com/acme/ledger/PostingServiceTest.java:51:        assertEquals("balance after posting", new BigDecimal("10.00"), account.balance());
ledger-core/src/test/java/com/acme/ledger/AccountTest.java:3:import org.junit.Test;
ledger-core/src/test/java/com/acme/ledger/AccountTest.java:4:import static org.junit.Assert.*;
ledger-core/src/test/java/com/acme/ledger/AccountTest.java:22:    @Test(expected = InsufficientFundsException.class)
ledger-core/src/test/java/com/acme/ledger/RoundingTest.java:3:import org.junit.Test;
ledger-core/src/test/java/com/acme/ledger/RoundingTest.java:4:import org.junit.runner.RunWith;
ledger-core/src/test/java/com/acme/ledger/RoundingTest.java:5:import org.junit.runners.Parameterized;
ledger-core/src/test/java/com/acme/ledger/RoundingTest.java:12:@RunWith(Parameterized.class)
ledger-core/src/test/java/com/acme/ledger/RoundingTest.java:16:    @Parameterized.Parameters(name = "{0} -> {1}")
ledger-core/src/test/java/com/acme/ledger/TestClockRule.java:8:public class TestClockRule extends ExternalResource {
ledger-core/src/test/java/com/acme/ledger/PeriodCloseTest.java:6:import org.junit.BeforeClass;
ledger-core/src/test/java/com/acme/ledger/PeriodCloseTest.java:19:    @Rule public TestClockRule clock = new TestClockRule("2024-12-31T23:59:59Z");
ledger-core/src/test/java/com/acme/ledger/PeriodCloseTest.java:21:    @BeforeClass"""
        ),
    )


# --- editing -------------------------------------------------------------------------------------

SEARCHBOX_TSX = """import { useEffect, useState } from "react";
import { searchProducts } from "../api/search";
import type { Product } from "../types";

export function SearchBox({ onResults }: { onResults: (p: Product[]) => void }) {
  const [q, setQ] = useState("");

  useEffect(() => {
    if (!q) return;
    searchProducts(q).then(onResults);
  }, [q, onResults]);

  return <input value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search products" />;
}"""


def _edit_debounce_search() -> dict[str, Any]:
    L = Loop("deb", "toolu")
    return cc(
        "/home/ana/web/storefront",
        user_parts(
            opened_file("/home/ana/web/storefront/src/components/SearchBox.tsx"),
            "debounce the search box, we fire a request on every keystroke. 250ms. and don't let an old response overwrite a newer one",
        ),
        L.calls(
            [
                ("Read", {"file_path": "/home/ana/web/storefront/src/components/SearchBox.tsx"}),
                ("Grep", {"pattern": "useDebounce|debounce", "path": "src", "output_mode": "files_with_matches"}),
            ]
        ),
        *L.results(cc_read(SEARCHBOX_TSX), "src/hooks/useDebouncedValue.ts"),
        L.call("Read", None, file_path="/home/ana/web/storefront/src/hooks/useDebouncedValue.ts"),
        L.result(
            cc_read("""import { useEffect, useState } from "react";

export function useDebouncedValue<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}""")
        ),
        L.call(
            "Edit",
            "There's already a debounce hook; I'll use it and abort stale requests.",
            file_path="/home/ana/web/storefront/src/components/SearchBox.tsx",
            old_string="""  useEffect(() => {
    if (!q) return;
    searchProducts(q).then(onResults);
  }, [q, onResults]);""",
            new_string="""  const debounced = useDebouncedValue(q, 250);

  useEffect(() => {
    if (!debounced) return;
    const ctrl = new AbortController();
    searchProducts(debounced, { signal: ctrl.signal })
      .then(onResults)
      .catch((e) => {
        if (e.name !== "AbortError") throw e;
      });
    return () => ctrl.abort();
  }, [debounced, onResults]);""",
        ),
        L.result(
            cc_edited(
                "/home/ana/web/storefront/src/components/SearchBox.tsx",
                """export function SearchBox({ onResults }: { onResults: (p: Product[]) => void }) {
  const [q, setQ] = useState("");
  const debounced = useDebouncedValue(q, 250);

  useEffect(() => {
    if (!debounced) return;
    const ctrl = new AbortController();
    searchProducts(debounced, { signal: ctrl.signal })
      .then(onResults)
      .catch((e) => {
        if (e.name !== "AbortError") throw e;
      });
    return () => ctrl.abort();
  }, [debounced, onResults]);""",
                5,
            )
        ),
    )


PROJECT_MODEL = """from django.db import models


class Project(models.Model):
    org = models.ForeignKey("orgs.Org", on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("org", "name")]

    def __str__(self) -> str:
        return self.name"""


def _edit_django_archive_midloop() -> dict[str, Any]:
    L = Loop("arch", "toolu")
    return cc(
        "/srv/app/tracker",
        user_parts(
            claude_md(
                "/srv/app/tracker/CLAUDE.md",
                "Django 5 + DRF. `make test`, `make lint`. Migrations: always `python manage.py makemigrations <app>` then check the file.",
            ),
            "projects need an archived flag. archived projects are hidden from GET /api/projects unless ?include_archived=1, and you can't create issues in an archived project (400)",
            TODO_EMPTY,
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Add archived_at to Project + migration", "in_progress"),
                ("Filter archived projects in ProjectViewSet unless include_archived=1", "pending"),
                ("Reject issue creation in archived projects", "pending"),
                ("Tests for list filter and issue creation", "pending"),
                ("Run make test and make lint", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call("Read", None, file_path="/srv/app/tracker/projects/models.py"),
        L.result(cc_read(PROJECT_MODEL)),
        L.call(
            "Edit",
            None,
            file_path="/srv/app/tracker/projects/models.py",
            old_string="    created_at = models.DateTimeField(auto_now_add=True)\n",
            new_string="    created_at = models.DateTimeField(auto_now_add=True)\n    archived_at = models.DateTimeField(null=True, blank=True)\n\n    @property\n    def is_archived(self) -> bool:\n        return self.archived_at is not None\n",
        ),
        L.result(
            cc_edited(
                "/srv/app/tracker/projects/models.py",
                "    name = models.CharField(max_length=200)\n    created_at = models.DateTimeField(auto_now_add=True)\n    archived_at = models.DateTimeField(null=True, blank=True)\n\n    @property\n    def is_archived(self) -> bool:\n        return self.archived_at is not None",
                6,
            )
        ),
        L.call(
            "Bash",
            None,
            command="python manage.py makemigrations projects",
            description="Create migration for archived_at",
        ),
        L.result(
            "Migrations for 'projects':\n  projects/migrations/0014_project_archived_at.py\n    - Add field archived_at to project"
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Add archived_at to Project + migration", "completed"),
                ("Filter archived projects in ProjectViewSet unless include_archived=1", "in_progress"),
                ("Reject issue creation in archived projects", "pending"),
                ("Tests for list filter and issue creation", "pending"),
                ("Run make test and make lint", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call("Read", None, file_path="/srv/app/tracker/projects/views.py"),
        L.result(
            cc_read("""from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from .models import Project
from .serializers import ProjectSerializer


class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return Project.objects.filter(org=self.request.user.org).order_by("name")""")
        ),
    )


# --- tests failing -------------------------------------------------------------------------------

PERIODS_PY = """from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def billing_day(local_date: datetime, tz: str) -> tuple[datetime, datetime]:
    \"\"\"Return [start, end) in UTC of the customer's local calendar day containing local_date.\"\"\"
    zone = ZoneInfo(tz)
    start = local_date.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=zone).astimezone(timezone.utc)
    end = start + timedelta(hours=24)
    return start, end"""


def _testfail_py_dst() -> dict[str, Any]:
    L = Loop("dst", "toolu")
    return cc(
        "/home/maya/src/metering",
        user_parts(
            "usage on the last sunday of march is being billed with an hour of monday in it for EU customers. fix billing_day",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path="/home/maya/src/metering/metering/periods.py"),
        L.result(cc_read(PERIODS_PY)),
        L.call(
            "Bash", None, command="uv run pytest tests/test_periods.py -q", description="Run the billing period tests"
        ),
        L.result(
            """..F.                                                                     [100%]
=================================== FAILURES ===================================
_________________________ test_billing_day_spring_forward _________________________

    def test_billing_day_spring_forward():
        start, end = billing_day(datetime(2025, 3, 30, 15, 0), "Europe/Berlin")
        assert start == datetime(2025, 3, 29, 23, 0, tzinfo=timezone.utc)
>       assert end == datetime(2025, 3, 30, 22, 0, tzinfo=timezone.utc)
E       AssertionError: assert datetime.datetime(2025, 3, 30, 23, 0, tzinfo=datetime.timezone.utc) == datetime.datetime(2025, 3, 30, 22, 0, tzinfo=datetime.timezone.utc)

tests/test_periods.py:21: AssertionError
=========================== short test summary info ============================
FAILED tests/test_periods.py::test_billing_day_spring_forward - AssertionError: assert datetime.datetime(2025, 3, 30, 23, 0, tzinfo=...
1 failed, 3 passed in 0.09s"""
        ),
    )


def _testfail_rust_borrow() -> dict[str, Any]:
    L = Loop("bor", "toolu")
    return cc(
        "/home/sam/code/connpool",
        user_parts(
            "when the pool is over max_idle, evict the oldest idle sessions first. there's a TODO in evict_idle"
        ),
        L.call("Read", None, file_path="/home/sam/code/connpool/src/pool.rs", offset=30, limit=30),
        L.result(
            cc_read(
                """impl Pool {
    /// Drop idle sessions beyond max_idle. Returns how many were dropped.
    pub fn evict_idle(&mut self) -> usize {
        // TODO: evict oldest first
        let mut idle: Vec<&Session> = self.sessions.iter().filter(|s| s.is_idle()).collect();
        idle.sort_by_key(|s| s.last_used);
        let excess = idle.len().saturating_sub(self.max_idle);
        for victim in idle.iter().take(excess) {
            self.sessions.retain(|s| s.id != victim.id);
        }
        excess
    }""",
                40,
            )
        ),
        L.call("Bash", None, command="cargo build 2>&1 | head -30", description="Build to check the change"),
        L.result(
            """   Compiling connpool v0.4.1 (/home/sam/code/connpool)
error[E0502]: cannot borrow `self.sessions` as mutable because it is also borrowed as immutable
  --> src/pool.rs:48:13
   |
44 |         let mut idle: Vec<&Session> = self.sessions.iter().filter(|s| s.is_idle()).collect();
   |                                       ------------- immutable borrow occurs here
...
47 |         for victim in idle.iter().take(excess) {
   |                       ----------- immutable borrow later used here
48 |             self.sessions.retain(|s| s.id != victim.id);
   |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ mutable borrow occurs here

For more information about this error, try `rustc --explain E0502`.
error: could not compile `connpool` (lib) due to 1 previous error"""
        ),
    )


def _testfail_go_race_map() -> dict[str, Any]:
    L = Loop("race", "toolu")
    return cc(
        "/home/dev/authz",
        user_parts("CI is red on the token cache package, fix it", TODO_EMPTY),
        L.call(
            "Bash",
            None,
            command="go test -race ./internal/tokencache/... 2>&1 | head -50",
            description="Run token cache tests with the race detector",
        ),
        L.result(
            """==================
WARNING: DATA RACE
Write at 0x00c0001a2060 by goroutine 23:
  runtime.mapassign_faststr()
      /usr/local/go/src/runtime/map_faststr.go:203 +0x0
  github.com/acme/authz/internal/tokencache.(*Cache).refreshLoop()
      /home/dev/authz/internal/tokencache/cache.go:58 +0x1c4

Previous read at 0x00c0001a2060 by goroutine 31:
  runtime.mapaccess2_faststr()
      /usr/local/go/src/runtime/map_faststr.go:117 +0x0
  github.com/acme/authz/internal/tokencache.(*Cache).Get()
      /home/dev/authz/internal/tokencache/cache.go:31 +0x84
  github.com/acme/authz/internal/tokencache.TestConcurrentGet.func1()
      /home/dev/authz/internal/tokencache/cache_test.go:44 +0x6c
==================
--- FAIL: TestConcurrentGet (0.21s)
    testing.go:1398: race detected during execution of test
FAIL
FAIL	github.com/acme/authz/internal/tokencache	0.412s"""
        ),
        L.call("Read", None, file_path="/home/dev/authz/internal/tokencache/cache.go", offset=20, limit=45),
        L.result(
            cc_read(
                """type Cache struct {
	fetch   func(ctx context.Context, key string) (Token, error)
	entries map[string]Token
	every   time.Duration
}

func (c *Cache) Get(ctx context.Context, key string) (Token, error) {
	if t, ok := c.entries[key]; ok && time.Until(t.Expiry) > 30*time.Second {
		return t, nil
	}
	t, err := c.fetch(ctx, key)
	if err != nil {
		return Token{}, err
	}
	c.entries[key] = t
	return t, nil
}

func (c *Cache) refreshLoop(ctx context.Context) {
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for k, t := range c.entries {
			if time.Until(t.Expiry) < time.Minute {
				if nt, err := c.fetch(ctx, k); err == nil {
					c.entries[k] = nt
				}
			}
		}
	}
}""",
                20,
            )
        ),
    )


def _testfail_csharp_ef_tracking() -> dict[str, Any]:
    L = Loop("ef", "toolu")
    return cc(
        "/home/li/src/Crm",
        user_parts("UpdateCustomer_ChangesEmail test started failing after I added the audit log thing. fix please"),
        L.call(
            "Bash",
            None,
            command="dotnet test tests/Crm.Tests --filter UpdateCustomer 2>&1 | tail -25",
            description="Run the failing test",
        ),
        L.result(
            """  Failed Crm.Tests.CustomerServiceTests.UpdateCustomer_ChangesEmail [142 ms]
  Error Message:
   System.InvalidOperationException : The instance of entity type 'Customer' cannot be tracked because another instance with the same key value for {'Id'} is already being tracked. When attaching existing entities, ensure that only one entity instance with a given key value is attached.
  Stack Trace:
     at Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1.ThrowIdentityConflict(InternalEntityEntry entry)
     at Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1.Add(TKey key, InternalEntityEntry entry, Boolean updateDuplicate)
     at Microsoft.EntityFrameworkCore.DbContext.Update[TEntity](TEntity entity)
     at Crm.Services.CustomerService.UpdateCustomerAsync(CustomerDto dto) in /home/li/src/Crm/src/Crm/Services/CustomerService.cs:line 41
     at Crm.Tests.CustomerServiceTests.UpdateCustomer_ChangesEmail() in /home/li/src/Crm/tests/Crm.Tests/CustomerServiceTests.cs:line 58

Failed!  - Failed:     1, Passed:    23, Skipped:     0, Total:    24, Duration: 1 s"""
        ),
        L.call("Read", None, file_path="/home/li/src/Crm/src/Crm/Services/CustomerService.cs", offset=28, limit=20),
        L.result(
            cc_read(
                """    public async Task UpdateCustomerAsync(CustomerDto dto)
    {
        var before = await _db.Customers.FindAsync(dto.Id)
            ?? throw new NotFoundException($"customer {dto.Id}");
        _audit.Record("customer.update", before.Email, dto.Email);

        var customer = new Customer
        {
            Id = dto.Id,
            Name = dto.Name,
            Email = dto.Email,
            UpdatedAt = _clock.UtcNow,
        };
        _db.Customers.Update(customer);
        await _db.SaveChangesAsync();
    }""",
                28,
            )
        ),
    )


def _testfail_sql_running_balance() -> dict[str, Any]:
    L = Loop("win", "toolu")
    return cc(
        "/home/ola/analytics",
        user_parts("the new running_balance model fails its dbt test. fix the model, not the test"),
        L.call("Bash", None, command="dbt test --select running_balance", description="Run dbt tests for the model"),
        L.result(
            """12:03:41  Running with dbt=1.8.2
12:03:42  Found 48 models, 131 data tests, 9 sources
12:03:43  1 of 2 START test assert_running_balance_strictly_follows_postings ........ [RUN]
12:03:44  1 of 2 FAIL 37 assert_running_balance_strictly_follows_postings ............ [FAIL 37 in 0.61s]
12:03:44  2 of 2 START test not_null_running_balance_posting_id ...................... [RUN]
12:03:44  2 of 2 PASS not_null_running_balance_posting_id ............................ [PASS in 0.20s]
12:03:44  Failure in test assert_running_balance_strictly_follows_postings (tests/assert_running_balance_strictly_follows_postings.sql)
12:03:44    Got 37 results, configured to fail if != 0
12:03:44    compiled code at target/compiled/analytics/tests/assert_running_balance_strictly_follows_postings.sql"""
        ),
        L.calls(
            [
                ("Read", {"file_path": "/home/ola/analytics/models/marts/running_balance.sql"}),
                (
                    "Read",
                    {"file_path": "/home/ola/analytics/tests/assert_running_balance_strictly_follows_postings.sql"},
                ),
            ]
        ),
        *L.results(
            cc_read(
                """select
    p.posting_id,
    p.account_id,
    p.posted_at,
    p.amount,
    sum(p.amount) over (
        partition by p.account_id
        order by p.posted_at
    ) as running_balance
from {{ ref('stg_postings') }} p"""
            ),
            cc_read(
                """-- each posting's balance = previous posting's balance + its own amount
with b as (
    select *,
        lag(running_balance) over (partition by account_id order by posted_at, posting_id) as prev_balance
    from {{ ref('running_balance') }}
)
select *
from b
where prev_balance is not null
  and running_balance <> prev_balance + amount"""
            ),
        ),
    )


RELEASE_SH = """#!/usr/bin/env bash
set -euo pipefail

major="${1:?usage: release.sh <major> [--dry-run]}"
dry_run="${2:-}"

git fetch --tags --quiet
count=$(git tag --list | grep -c "^v${major}\\.")
next="v${major}.$((count)).0"

echo "next release: ${next}"
if [[ "${dry_run}" == "--dry-run" ]]; then
  exit 0
fi
git tag -a "${next}" -m "release ${next}"
git push origin "${next}\""""


def _testfail_shell_pipefail() -> dict[str, Any]:
    L = Loop("sh", "toolu")
    return cc(
        "/home/dev/tools/release",
        user_parts("`./release.sh 3 --dry-run` just exits 1 with no output for the new major. works for 2. why"),
        L.call("Read", None, file_path="/home/dev/tools/release/release.sh"),
        L.result(cc_read(RELEASE_SH)),
        L.call(
            "Bash", None, command='bash -x ./release.sh 3 --dry-run; echo "exit=$?"', description="Trace the script"
        ),
        L.result(
            """+ major=3
+ dry_run=--dry-run
+ git fetch --tags --quiet
++ git tag --list
++ grep -c '^v3\\.'
+ count=0
exit=1"""
        ),
    )


TLV_C = """#include "tlv.h"

/* Parse a buffer of TLV records. Length is one byte; 0xFF means a two-byte
 * big-endian length follows. TLV_NESTED values contain TLV records. */
int tlv_parse(const uint8_t *buf, size_t len, tlv_cb cb, void *ctx)
{
    size_t off = 0;
    while (off + 2 <= len) {
        uint8_t type = buf[off];
        size_t vlen = buf[off + 1];
        size_t hdr = 2;
        if (vlen == 0xFF) {
            vlen = ((size_t)buf[off + 2] << 8) | buf[off + 3];
            hdr = 4;
        }
        if (off + hdr + vlen > len)
            return -1;
        if (type == TLV_NESTED) {
            if (tlv_parse(buf + off + hdr, vlen, cb, ctx) != 0)
                return -1;
        } else {
            cb(ctx, type, buf + off + hdr, vlen);
        }
        off += hdr + vlen;
    }
    return off == len ? 0 : -1;
}"""


def _testfail_c_tlv_fuzz() -> dict[str, Any]:
    L = Loop("tlv", "toolu")
    return cc(
        "/home/nb/src/telemetryd",
        user_parts(
            claude_md(
                "/home/nb/src/telemetryd/CLAUDE.md",
                "C11, meson. `meson test -C build`. Fuzzers in fuzz/, build with `meson setup build-fuzz -Db_sanitize=address,undefined -Dfuzz=true`.\ntlv.c parses packets straight off the UDP socket from field devices.",
            ),
            "libFuzzer found a crash in the TLV parser, repro is fuzz/crashes/crash-5b1e. fix it properly — this parses packets from devices we don't control",
            TODO_EMPTY,
        ),
        L.call(
            "Bash",
            None,
            command="./build-fuzz/fuzz/tlv_fuzzer fuzz/crashes/crash-5b1e 2>&1 | head -30",
            description="Reproduce the fuzzer crash",
        ),
        L.result(
            """INFO: Running with entropic power schedule (0xFF, 100).
INFO: Seed: 2210438117
Running: fuzz/crashes/crash-5b1e
=================================================================
==48213==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000093 at pc 0x55d1c2a4b1f0 bp 0x7ffd5e0f9a10 sp 0x7ffd5e0f9a08
READ of size 1 at 0x602000000093 thread T0
    #0 0x55d1c2a4b1ef in tlv_parse /home/nb/src/telemetryd/src/tlv.c:13:50
    #1 0x55d1c2a4b8c4 in LLVMFuzzerTestOneInput /home/nb/src/telemetryd/fuzz/tlv_fuzzer.c:9:5
0x602000000093 is located 0 bytes after 3-byte region [0x602000000090,0x602000000093)
allocated by thread T0 here:
    #0 0x55d1c2a0f4ad in malloc
    #1 0x55d1c2a4b861 in LLVMFuzzerTestOneInput /home/nb/src/telemetryd/fuzz/tlv_fuzzer.c:7:20
SUMMARY: AddressSanitizer: heap-buffer-overflow /home/nb/src/telemetryd/src/tlv.c:13:50 in tlv_parse"""
        ),
        L.call("Read", None, file_path="/home/nb/src/telemetryd/src/tlv.c"),
        L.result(cc_read(TLV_C)),
    )


BOOKING_PY = """from psycopg import Connection, IsolationLevel


class RoomTaken(Exception):
    pass


def book(conn: Connection, room_id: int, start, end, guest_id: int) -> int:
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    with conn.transaction():
        clash = conn.execute(
            \"\"\"SELECT 1 FROM bookings
               WHERE room_id = %s AND tstzrange(start_at, end_at) && tstzrange(%s, %s)
               LIMIT 1\"\"\",
            (room_id, start, end),
        ).fetchone()
        if clash:
            raise RoomTaken(room_id)
        row = conn.execute(
            "INSERT INTO bookings (room_id, start_at, end_at, guest_id) VALUES (%s, %s, %s, %s) RETURNING id",
            (room_id, start, end, guest_id),
        ).fetchone()
        return row[0]"""


def _testfail_booking_write_skew() -> dict[str, Any]:
    L = Loop("book", "toolu")
    return cc(
        "/home/dev/hotel-api",
        user_parts(
            "added a concurrency test for bookings and it fails. I thought repeatable read would prevent double booking? make it correct, we get double bookings in prod on popular dates"
        ),
        L.call(
            "Bash",
            None,
            command="uv run pytest tests/test_booking_concurrency.py -q -x",
            description="Run the concurrent booking test",
        ),
        L.result(
            """F
=================================== FAILURES ===================================
_____________________ test_no_double_booking_under_concurrency _____________________

pg = <psycopg.Connection [IDLE] (host=localhost database=hotel_test) at 0x7f3a...>

    def test_no_double_booking_under_concurrency(pg_pool):
        results = run_concurrently(20, lambda conn, i: try_book(conn, room_id=7, start=D1, end=D3, guest_id=i))
        ok = [r for r in results if isinstance(r, int)]
>       assert len(ok) == 1, f"{len(ok)} bookings succeeded"
E       AssertionError: 3 bookings succeeded
E       assert 3 == 1

tests/test_booking_concurrency.py:31: AssertionError
1 failed in 0.84s"""
        ),
        L.call("Read", None, file_path="/home/dev/hotel-api/hotel/booking.py"),
        L.result(cc_read(BOOKING_PY)),
    )


# --- stuck ---------------------------------------------------------------------------------------

CONFIG_GO = """package config

import (
	"os"
	"time"
)

type Config struct {
	ListenAddr  string
	HTTPTimeout time.Duration
	DatabaseURL string
}

func Load() Config {
	return Config{
		ListenAddr:  getenv("LISTEN_ADDR", ":8080"),
		HTTPTimeout: 10 * time.Second,
		DatabaseURL: os.Getenv("DATABASE_URL"),
	}
}

func getenv(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}"""


def _stuck_edit_tabs_go() -> dict[str, Any]:
    L = Loop("tabs", "toolu")
    return cc(
        "/home/dev/relay",
        user_parts(
            "bump the default http timeout to 30s and let HTTP_TIMEOUT override it (go duration string like 45s)"
        ),
        L.call("Read", None, file_path="/home/dev/relay/internal/config/config.go"),
        L.result(cc_read(CONFIG_GO)),
        L.call(
            "Edit",
            None,
            file_path="/home/dev/relay/internal/config/config.go",
            old_string="        HTTPTimeout: 10 * time.Second,",
            new_string='        HTTPTimeout: durationEnv("HTTP_TIMEOUT", 30*time.Second),',
        ),
        L.result(cc_edit_error("        HTTPTimeout: 10 * time.Second,")),
        L.call(
            "Edit",
            "The indentation must differ; retrying with 4 spaces.",
            file_path="/home/dev/relay/internal/config/config.go",
            old_string="    HTTPTimeout: 10 * time.Second,",
            new_string='    HTTPTimeout: durationEnv("HTTP_TIMEOUT", 30*time.Second),',
        ),
        L.result(cc_edit_error("    HTTPTimeout: 10 * time.Second,")),
    )


JEST_ERR = """FAIL src/lib/__tests__/ids.test.ts
  ● Test suite failed to run

    Jest encountered an unexpected token

    Jest failed to parse a file. This happens e.g. when your code or its dependencies use non-standard JavaScript syntax, or when Jest is not configured to support such syntax.

    By default "node_modules" folder is ignored by transformers.

    Details:

    /home/ravi/app/node_modules/.pnpm/nanoid@5.0.7/node_modules/nanoid/index.js:1
    ({"Object.<anonymous>":function(module,exports,require,__dirname,__filename,jest){import { webcrypto as crypto } from 'node:crypto'
                                                                                      ^^^^^^

    SyntaxError: Cannot use import statement outside a module

      1 | import { nanoid } from "nanoid";
        | ^

Test Suites: 1 failed, 11 passed, 12 total
Tests:       58 passed, 58 total"""


def _stuck_jest_esm_pnpm() -> dict[str, Any]:
    L = Loop("esm", "toolu")
    return cc(
        "/home/ravi/app",
        user_parts("switched ids to nanoid v5 and now jest blows up on ids.test.ts. fix the jest config"),
        L.call("Bash", None, command="pnpm jest src/lib 2>&1 | tail -30", description="Run the lib tests"),
        L.result(JEST_ERR),
        L.call("Read", None, file_path="/home/ravi/app/jest.config.js"),
        L.result(
            cc_read("""/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleNameMapper: { "^@/(.*)$": "<rootDir>/src/$1" },
};""")
        ),
        L.call(
            "Edit",
            None,
            file_path="/home/ravi/app/jest.config.js",
            old_string='  testEnvironment: "node",\n',
            new_string='  testEnvironment: "node",\n  transformIgnorePatterns: ["node_modules/(?!nanoid)"],\n  transform: { "^.+\\\\.[tj]sx?$": ["ts-jest", { useESM: false }] },\n',
        ),
        L.result(
            cc_edited(
                "/home/ravi/app/jest.config.js",
                'module.exports = {\n  preset: "ts-jest",\n  testEnvironment: "node",\n  transformIgnorePatterns: ["node_modules/(?!nanoid)"],\n  transform: { "^.+\\\\.[tj]sx?$": ["ts-jest", { useESM: false }] },',
                2,
            )
        ),
        L.call("Bash", None, command="pnpm jest src/lib 2>&1 | tail -30", description="Re-run the lib tests"),
        L.result(JEST_ERR),
        L.call(
            "Bash",
            "Maybe ts-jest needs allowJs to transform the JS in nanoid.",
            command='sed -i \'s/"allowJs": false/"allowJs": true/\' tsconfig.json && pnpm jest src/lib 2>&1 | tail -30',
            description="Enable allowJs and re-run",
        ),
        L.result(JEST_ERR),
    )


PAYMENT_KT = """class PaymentService(
    private val repo: PaymentRepository,   // Postgres, shared by all pods
    private val gateway: CardGateway,      // external PSP, ~1-4s per charge
    private val lock: Mutex = Mutex(),
) {
    suspend fun charge(req: ChargeRequest): ChargeResult = lock.withLock {
        repo.findByIdempotencyKey(req.idempotencyKey)?.let { return it.toResult() }
        val psp = gateway.charge(req.cardToken, req.amount, req.currency)
        repo.save(Payment(req.idempotencyKey, psp.id, req.amount, psp.status))
        psp.toResult()
    }
}"""

PAYMENT_FAIL_1 = """> Task :payments:test

PaymentIdempotencyTest > retried request on another pod charges once() FAILED
    org.opentest4j.AssertionFailedError: expected: <1> but was: <2>
        at app//org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
        at app//com.acme.payments.PaymentIdempotencyTest.retried request on another pod charges once(PaymentIdempotencyTest.kt:47)

14 tests completed, 1 failed

FAILURE: Build failed with an exception."""

PAYMENT_FAIL_2 = """> Task :payments:test

PaymentIdempotencyTest > retried request on another pod charges once() FAILED
    org.opentest4j.AssertionFailedError: expected: <1> but was: <2>
        at app//com.acme.payments.PaymentIdempotencyTest.retried request on another pod charges once(PaymentIdempotencyTest.kt:47)

    Suppressed: org.springframework.dao.DuplicateKeyException: PreparedStatementCallback; ERROR: duplicate key value violates unique constraint "payments_idempotency_key_key"
      Detail: Key (idempotency_key)=(ord_8812-attempt) already exists.

14 tests completed, 1 failed

FAILURE: Build failed with an exception."""


def _stuck_payment_idempotency() -> dict[str, Any]:
    L = Loop("pay", "toolu")
    return cc(
        "/home/ed/payments",
        user_parts(
            "customers got charged twice when the mobile app retried after a timeout. I wrote PaymentIdempotencyTest to reproduce (two PaymentService instances = two pods, shared db, fake PSP that takes 3s, client retries after 2s). make it pass, for real"
        ),
        L.call("Read", None, file_path="/home/ed/payments/src/main/kotlin/com/acme/payments/PaymentService.kt"),
        L.result(cc_read(PAYMENT_KT)),
        L.call(
            "Bash",
            None,
            command="./gradlew :payments:test --tests '*PaymentIdempotencyTest*' -q",
            description="Run the idempotency test",
        ),
        L.result(PAYMENT_FAIL_1),
        L.call(
            "Write",
            "The check and the save race across instances; a unique constraint will stop the second insert.",
            file_path="/home/ed/payments/src/main/resources/db/migration/V31__payments_idempotency_unique.sql",
            content="ALTER TABLE payments ADD CONSTRAINT payments_idempotency_key_key UNIQUE (idempotency_key);\n",
        ),
        L.result(
            "File created successfully at: /home/ed/payments/src/main/resources/db/migration/V31__payments_idempotency_unique.sql"
        ),
        L.call(
            "Bash",
            None,
            command="./gradlew :payments:test --tests '*PaymentIdempotencyTest*' -q",
            description="Re-run the idempotency test",
        ),
        L.result(PAYMENT_FAIL_2),
        L.call(
            "Bash",
            "Let me make sure it isn't a stale build.",
            command="./gradlew clean :payments:test --tests '*PaymentIdempotencyTest*' -q",
            description="Clean build and re-run",
        ),
        L.result(PAYMENT_FAIL_2),
    )


STACK_HPP = """template <class T>
class LockFreeStack {
  struct Node {
    T value;
    Node* next;
  };

 public:
  explicit LockFreeStack(HazardDomain& hd) : hd_(hd) {}

  void push(T v) {
    Node* n = new Node{std::move(v), head_.load(std::memory_order_relaxed)};
    while (!head_.compare_exchange_weak(n->next, n, std::memory_order_release,
                                        std::memory_order_relaxed)) {
    }
  }

  std::optional<T> pop() {
    HazardSlot& hp = hd_.acquire_slot();
    Node* old = head_.load(std::memory_order_acquire);
    while (old) {
      hp.ptr.store(old, std::memory_order_release);
      Node* next = old->next;
      if (head_.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    hp.ptr.store(nullptr, std::memory_order_release);
    hd_.release_slot(hp);
    if (!old) return std::nullopt;
    T v = std::move(old->value);
    hd_.retire(old);  // freed once no hazard slot points at it
    return v;
  }

 private:
  std::atomic<Node*> head_{nullptr};
  HazardDomain& hd_;
};"""

UAF = """[==========] Running 1 test from 1 test suite.
[ RUN      ] LockFreeStackStress.EightThreadsPushPop
=================================================================
==90412==ERROR: AddressSanitizer: heap-use-after-free on address 0x6030000a1f28 at pc 0x5612f0a3c2d1 bp 0x7f2e8a7fd6b0 sp 0x7f2e8a7fd6a8
READ of size 8 at 0x6030000a1f28 thread T6
    #0 0x5612f0a3c2d0 in LockFreeStack<unsigned long>::pop() src/lfstack.hpp:{line}
    #1 0x5612f0a3b9e4 in worker(LockFreeStack<unsigned long>&, int) test/lfstack_stress.cc:31
freed by thread T3 here:
    #0 0x5612f0a0f2cd in operator delete(void*)
    #1 0x5612f0a3d118 in HazardDomain::scan() src/hazard.cc:88
    #2 0x5612f0a3d5f0 in HazardDomain::retire(void*) src/hazard.cc:61
SUMMARY: AddressSanitizer: heap-use-after-free src/lfstack.hpp:{line} in LockFreeStack<unsigned long>::pop()"""


def _stuck_hazard_pointers() -> dict[str, Any]:
    L = Loop("hp", "toolu")
    return cc(
        "/home/ju/src/lfds",
        user_parts(
            "the 8-thread stress test for the hazard-pointer stack crashes under ASan maybe 1 run in 5. fix the stack, the hazard domain itself has its own tests and I trust it"
        ),
        L.call("Read", None, file_path="/home/ju/src/lfds/src/lfstack.hpp"),
        L.result(cc_read(STACK_HPP, 20)),
        L.call(
            "Bash",
            None,
            command="for i in $(seq 10); do ./build-asan/test/lfstack_stress || break; done 2>&1 | tail -20",
            description="Run stress test repeatedly",
        ),
        L.result(UAF.replace("{line}", "42")),
        L.call(
            "Edit",
            "The hazard store may not be visible before the load of next; adding a full fence.",
            file_path="/home/ju/src/lfds/src/lfstack.hpp",
            old_string="      hp.ptr.store(old, std::memory_order_release);\n      Node* next = old->next;",
            new_string="      hp.ptr.store(old, std::memory_order_release);\n      std::atomic_thread_fence(std::memory_order_seq_cst);\n      Node* next = old->next;",
        ),
        L.result(
            cc_edited(
                "/home/ju/src/lfds/src/lfstack.hpp",
                "    while (old) {\n      hp.ptr.store(old, std::memory_order_release);\n      std::atomic_thread_fence(std::memory_order_seq_cst);\n      Node* next = old->next;",
                40,
            )
        ),
        L.call(
            "Bash",
            None,
            command="for i in $(seq 10); do ./build-asan/test/lfstack_stress || break; done 2>&1 | tail -20",
            description="Re-run stress test",
        ),
        L.result(UAF.replace("{line}", "43")),
        L.call(
            "Bash",
            "Maybe nodes are reclaimed too eagerly; raising the retire threshold.",
            command="sed -i 's/kRetireThreshold = 64/kRetireThreshold = 1024/' src/hazard.cc && cmake --build build-asan -j && for i in $(seq 10); do ./build-asan/test/lfstack_stress || break; done 2>&1 | tail -20",
            description="Raise retire threshold and re-run",
        ),
        L.result(UAF.replace("{line}", "43")),
    )


# --- clean run, only a report remains -----------------------------------------------------------


def _report_py_green() -> dict[str, Any]:
    L = Loop("rep", "toolu")
    done = todos(
        ("Add --since option to export customers", "completed"),
        ("Filter query by updated_at >= since", "completed"),
        ("Tests for --since parsing and filtering", "completed"),
        ("Run pytest, ruff, mypy", "completed"),
    )
    return cc(
        "/home/maya/src/shopctl",
        user_parts(
            claude_md("/home/maya/src/shopctl/CLAUDE.md", SHOP_CLAUDE_MD),
            "add --since YYYY-MM-DD to `shopctl export customers` (only customers updated on or after that date)",
            TODO_EMPTY,
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Add --since option to export customers", "in_progress"),
                ("Filter query by updated_at >= since", "pending"),
                ("Tests for --since parsing and filtering", "pending"),
                ("Run pytest, ruff, mypy", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call("Read", None, file_path="/home/maya/src/shopctl/src/shopctl/commands/export.py", offset=40, limit=30),
        L.result(
            cc_read(
                """@export.command("customers")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default="-")
@click.pass_obj
def export_customers(ctx: Context, out: str) -> None:
    rows = ctx.repo.customers()
    with open_out(out) as fh:
        for c in rows:
            fh.write(json.dumps(c.to_dict(), default=str) + "\\n")""",
                40,
            )
        ),
        L.call(
            "MultiEdit",
            None,
            file_path="/home/maya/src/shopctl/src/shopctl/commands/export.py",
            edits=[
                {
                    "old_string": '@click.option("--out", type=click.Path(dir_okay=False, writable=True), default="-")\n@click.pass_obj\ndef export_customers(ctx: Context, out: str) -> None:\n    rows = ctx.repo.customers()',
                    "new_string": '@click.option("--out", type=click.Path(dir_okay=False, writable=True), default="-")\n@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only customers updated on or after this date.")\n@click.pass_obj\ndef export_customers(ctx: Context, out: str, since: datetime | None) -> None:\n    rows = ctx.repo.customers(updated_since=since.date() if since else None)',
                },
            ],
        ),
        L.result("Applied 1 edit to /home/maya/src/shopctl/src/shopctl/commands/export.py"),
        L.call(
            "Edit",
            None,
            file_path="/home/maya/src/shopctl/src/shopctl/repo.py",
            old_string="    def customers(self) -> Iterator[Customer]:\n        q = select(Customer).order_by(Customer.id)",
            new_string="    def customers(self, updated_since: date | None = None) -> Iterator[Customer]:\n        q = select(Customer).order_by(Customer.id)\n        if updated_since is not None:\n            q = q.where(Customer.updated_at >= updated_since)",
        ),
        L.result(
            cc_edited(
                "/home/maya/src/shopctl/src/shopctl/repo.py",
                "    def customers(self, updated_since: date | None = None) -> Iterator[Customer]:\n        q = select(Customer).order_by(Customer.id)\n        if updated_since is not None:\n            q = q.where(Customer.updated_at >= updated_since)\n        yield from self.session.scalars(q)",
                88,
            )
        ),
        L.call(
            "Write",
            None,
            file_path="/home/maya/src/shopctl/tests/export/test_customers_since.py",
            content='def test_since_filters(cli, repo_with_customers):\n    out = cli(["export", "customers", "--since", "2025-01-15"])\n    ids = [json.loads(line)["id"] for line in out.splitlines()]\n    assert ids == [3, 4]\n\n\ndef test_since_rejects_bad_date(cli):\n    result = cli.invoke(["export", "customers", "--since", "15/01/2025"])\n    assert result.exit_code == 2\n',
        ),
        L.result("File created successfully at: /home/maya/src/shopctl/tests/export/test_customers_since.py"),
        L.call(
            "Bash",
            None,
            command="uv run pytest -q && uv run ruff check . && uv run mypy src",
            description="Run tests, lint and typecheck",
        ),
        L.result(
            "........................................... [100%]\n45 passed in 2.31s\nAll checks passed!\nSuccess: no issues found in 31 source files"
        ),
        L.call("TodoWrite", None, **done),
        L.result(TODO_OK),
    )


SPSC_RS_FIXED = """    pub fn push(&self, v: T) -> Result<(), T> {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) == self.cap {
            return Err(v);
        }
        unsafe { (*self.buf[tail & self.mask].get()).write(v) };
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    pub fn pop(&self) -> Option<T> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        let v = unsafe { (*self.buf[head & self.mask].get()).assume_init_read() };
        self.head.store(head.wrapping_add(1), Ordering::Release);
        Some(v)
    }"""


def _report_rust_loom_green() -> dict[str, Any]:
    L = Loop("loomok", "toolu")
    return cc(
        "/home/ko/src/ringq",
        user_parts(
            "loom finds a failure in the SPSC queue (consumer reads an uninitialised slot). fix the orderings, weakest correct ones please"
        ),
        L.call(
            "Bash",
            None,
            command="RUSTFLAGS='--cfg loom' cargo test --release --test loom_spsc 2>&1 | tail -8",
            description="Run the loom model test",
        ),
        L.result(
            "thread 'spsc_two_items' panicked at src/spsc.rs:74:9:\nassertion `left == right` failed: consumer read uninitialized slot\n  left: 0\n right: 41\nnote: loom explored 18231 interleavings before failure\ntest spsc_two_items ... FAILED"
        ),
        L.call("Read", None, file_path="/home/ko/src/ringq/src/spsc.rs", offset=50, limit=30),
        L.result(
            cc_read(
                SPSC_RS_FIXED.replace("Ordering::Acquire", "Ordering::Relaxed").replace(
                    "Ordering::Release", "Ordering::Relaxed"
                ),
                50,
            )
        ),
        L.call(
            "MultiEdit",
            "The producer publishes the slot with a Relaxed store of tail, so the consumer can observe the new tail before the write. Release on the stores that publish, Acquire on the loads that consume them.",
            file_path="/home/ko/src/ringq/src/spsc.rs",
            edits=[
                {
                    "old_string": "        let head = self.head.load(Ordering::Relaxed);\n        if tail.wrapping_sub(head)",
                    "new_string": "        let head = self.head.load(Ordering::Acquire);\n        if tail.wrapping_sub(head)",
                },
                {
                    "old_string": "        self.tail.store(tail.wrapping_add(1), Ordering::Relaxed);",
                    "new_string": "        self.tail.store(tail.wrapping_add(1), Ordering::Release);",
                },
                {
                    "old_string": "        let tail = self.tail.load(Ordering::Relaxed);\n        if head == tail",
                    "new_string": "        let tail = self.tail.load(Ordering::Acquire);\n        if head == tail",
                },
                {
                    "old_string": "        self.head.store(head.wrapping_add(1), Ordering::Relaxed);",
                    "new_string": "        self.head.store(head.wrapping_add(1), Ordering::Release);",
                },
            ],
        ),
        L.result("Applied 4 edits to /home/ko/src/ringq/src/spsc.rs:\n" + numbered(SPSC_RS_FIXED, 50)),
        L.call(
            "Bash",
            None,
            command="RUSTFLAGS='--cfg loom' cargo test --release --test loom_spsc 2>&1 | tail -6 && cargo test -q 2>&1 | tail -3",
            description="Re-run loom and unit tests",
        ),
        L.result(
            "running 3 tests\ntest spsc_two_items ... ok\ntest spsc_full_wraparound ... ok\ntest spsc_drop_drains ... ok\n\ntest result: ok. 3 passed; 0 failed; 0 ignored; finished in 41.87s\n\ntest result: ok. 19 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s"
        ),
    )


RING_HPP_AFTER = """template <class T, size_t N>
class SpscRing {
 public:
  bool push(const T& v) {
    size_t t = tail_.load(std::memory_order_relaxed);
    size_t h = head_.load(std::memory_order_relaxed);
    if (t - h == N) return false;
    buf_[t % N] = v;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  bool pop(T& out) {
    size_t h = head_.load(std::memory_order_relaxed);
    size_t t = tail_.load(std::memory_order_relaxed);
    if (h == t) return false;
    out = buf_[h % N];
    head_.store(h + 1, std::memory_order_release);
    return true;
  }

 private:
  std::array<T, N> buf_{};
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};"""


def _report_x86_green_arm_bug() -> dict[str, Any]:
    L = Loop("arm", "toolu")
    return cc(
        "/home/fw/sensor-hub",
        user_parts(
            "on the arm boards (cortex-a53) the consumer thread sometimes gets a stale/garbage sample out of SpscRing. fix the memory orderings. the stress test is tests/ring_stress.cc",
            TODO_EMPTY,
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Fix memory orderings in SpscRing", "in_progress"),
                ("Run ring stress test", "pending"),
                ("Summarize fix for user", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call("Read", None, file_path="/home/fw/sensor-hub/include/spsc_ring.hpp"),
        L.result(cc_read(RING_HPP_AFTER.replace("std::memory_order_release", "std::memory_order_relaxed"))),
        L.call(
            "MultiEdit",
            "The index stores are relaxed, so the slot write can become visible after the index. Making the publishing stores release.",
            file_path="/home/fw/sensor-hub/include/spsc_ring.hpp",
            edits=[
                {
                    "old_string": "    tail_.store(t + 1, std::memory_order_relaxed);",
                    "new_string": "    tail_.store(t + 1, std::memory_order_release);",
                },
                {
                    "old_string": "    head_.store(h + 1, std::memory_order_relaxed);",
                    "new_string": "    head_.store(h + 1, std::memory_order_release);",
                },
            ],
        ),
        L.result("Applied 2 edits to /home/fw/sensor-hub/include/spsc_ring.hpp"),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Fix memory orderings in SpscRing", "completed"),
                ("Run ring stress test", "in_progress"),
                ("Summarize fix for user", "pending"),
            ),
        ),
        L.result(TODO_OK),
        L.call(
            "Bash",
            None,
            command="cmake --build build -j && ./build/tests/ring_stress --iterations 50000000",
            description="Build and run the ring stress test",
        ),
        L.result(
            "[ 50%] Building CXX object tests/CMakeFiles/ring_stress.dir/ring_stress.cc.o\n[100%] Linking CXX executable ring_stress\n[100%] Built target ring_stress\nring_stress: host x86_64, 2 threads, 50000000 items\nproduced 50000000 consumed 50000000 mismatches 0\nPASS (3.92s)"
        ),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Fix memory orderings in SpscRing", "completed"),
                ("Run ring stress test", "completed"),
                ("Summarize fix for user", "in_progress"),
            ),
        ),
        L.result(TODO_OK),
    )


# --- the user's follow-up mid-loop --------------------------------------------------------------

CART_TS = """import type { CartLine, Promo, Summary } from "./types";
import { applyPromo } from "./promo";

export function cartSummary(lines: CartLine[], promo?: Promo): Summary {
  const subtotal = lines.reduce((s, l) => s + l.priceCents * l.qty, 0);
  const discount = promo ? applyPromo(promo, subtotal) : 0;
  return {
    subtotalCents: subtotal,
    discountCents: discount,
    discountPct: Math.round((discount / subtotal) * 100),
    totalCents: subtotal - discount,
  };
}"""


def _followup_empty_cart() -> dict[str, Any]:
    L = Loop("cart", "toolu")
    return cc(
        "/home/ana/web/storefront",
        user_parts("show the discount as a percentage in the cart summary too (rounded, whole number)"),
        L.call("Read", None, file_path="/home/ana/web/storefront/src/cart/summary.ts"),
        L.result(cc_read(CART_TS.replace("    discountPct: Math.round((discount / subtotal) * 100),\n", ""))),
        L.call(
            "Edit",
            None,
            file_path="/home/ana/web/storefront/src/cart/summary.ts",
            old_string="    discountCents: discount,\n",
            new_string="    discountCents: discount,\n    discountPct: Math.round((discount / subtotal) * 100),\n",
        ),
        L.result(cc_edited("/home/ana/web/storefront/src/cart/summary.ts", CART_TS.split("\n\n", 1)[1], 4)),
        L.call(
            "Bash",
            None,
            command="pnpm vitest run src/cart && pnpm tsc --noEmit",
            description="Run cart tests and typecheck",
        ),
        L.result(
            " ✓ src/cart/summary.test.ts (6 tests) 11ms\n ✓ src/cart/promo.test.ts (9 tests) 8ms\n\n Test Files  2 passed (2)\n      Tests  15 passed (15)\n   Duration  412ms"
        ),
        {
            "role": "assistant",
            "content": "Added `discountPct` to `cartSummary` (src/cart/summary.ts:10), rounded to a whole number. Tests and typecheck pass.",
        },
        user_parts(
            opened_file("/home/ana/web/storefront/src/components/CartSummary.tsx"),
            'also handle the empty cart — it renders "NaN% off" right now. 0 lines should just be 0%',
        ),
    )


def _followup_revert_signature() -> dict[str, Any]:
    L = Loop("sig", "toolu")
    return cc(
        "/home/pat/billing",
        user_parts("send_invoice should refuse invoices with a zero or negative total, raise InvalidInvoice"),
        L.call("Read", None, file_path="/home/pat/billing/billing/invoices.py", offset=60, limit=20),
        L.result(
            cc_read(
                '''def send_invoice(invoice, channel="email", dry_run=False):
    """Render the invoice and hand it to the delivery channel."""
    body = render(invoice)
    if dry_run:
        return body
    return CHANNELS[channel].deliver(invoice.customer, body)''',
                60,
            )
        ),
        L.call(
            "Edit",
            "Adding the check, and making channel/dry_run keyword-only so call sites are explicit.",
            file_path="/home/pat/billing/billing/invoices.py",
            old_string='def send_invoice(invoice, channel="email", dry_run=False):\n    """Render the invoice and hand it to the delivery channel."""\n',
            new_string='def send_invoice(invoice, *, channel="email", dry_run=False):\n    """Render the invoice and hand it to the delivery channel."""\n    if invoice.total <= 0:\n        raise InvalidInvoice(f"invoice {invoice.id} has non-positive total {invoice.total}")\n',
        ),
        L.result(
            cc_edited(
                "/home/pat/billing/billing/invoices.py",
                'def send_invoice(invoice, *, channel="email", dry_run=False):\n    """Render the invoice and hand it to the delivery channel."""\n    if invoice.total <= 0:\n        raise InvalidInvoice(f"invoice {invoice.id} has non-positive total {invoice.total}")\n    body = render(invoice)',
                60,
            )
        ),
        L.call("Bash", None, command="pytest tests/test_invoices.py -q", description="Run invoice tests"),
        L.result("..........                                                               [100%]\n10 passed in 0.34s"),
        {
            "role": "assistant",
            "content": "`send_invoice` now raises `InvalidInvoice` for totals ≤ 0 (billing/invoices.py:62). I also made `channel` and `dry_run` keyword-only. Tests pass.",
        },
        user_parts(
            'no, revert the signature change — the billing-worker repo calls send_invoice(inv, "sms") positionally. keep the validation'
        ),
    )


WITHDRAW_PY = """OVERDRAFT_LIMIT = Decimal("500.00")


def withdraw(conn, customer_id: int, account_id: int, amount: Decimal) -> None:
    \"\"\"The overdraft limit applies to the customer's combined balance across all accounts they hold, including joint ones.\"\"\"
    with conn.transaction(isolation_level="SERIALIZABLE"):
        total = conn.execute(
            \"\"\"SELECT COALESCE(SUM(a.balance), 0) FROM accounts a
               JOIN account_holders h ON h.account_id = a.id
               WHERE h.customer_id = %s\"\"\",
            (customer_id,),
        ).fetchone()[0]
        if total - amount < -OVERDRAFT_LIMIT:
            raise Overdraft(customer_id)
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, account_id))"""


def _followup_why_isolation() -> dict[str, Any]:
    L = Loop("iso", "toolu")
    return cc(
        "/home/dev/corebank",
        user_parts("test_concurrent_withdrawals is flaky, fails with serialization errors about 1 in 4 runs. fix it"),
        L.call(
            "Bash",
            None,
            command="pytest tests/test_withdraw.py -q -k concurrent --count 5",
            description="Run the flaky test several times",
        ),
        L.result(
            "..F.F\n=================================== FAILURES ===================================\nE   psycopg.errors.SerializationFailure: could not serialize access due to read/write dependencies among transactions\nE   DETAIL:  Reason code: Canceled on identification as a pivot, during write.\nE   HINT:  The transaction might succeed if retried.\n2 failed, 3 passed in 4.12s"
        ),
        L.call("Read", None, file_path="/home/dev/corebank/corebank/withdraw.py"),
        L.result(cc_read(WITHDRAW_PY)),
        L.call(
            "Edit",
            None,
            file_path="/home/dev/corebank/corebank/withdraw.py",
            old_string='    with conn.transaction(isolation_level="SERIALIZABLE"):',
            new_string='    with conn.transaction(isolation_level="READ COMMITTED"):',
        ),
        L.result(
            cc_edited(
                "/home/dev/corebank/corebank/withdraw.py",
                '    with conn.transaction(isolation_level="READ COMMITTED"):',
                9,
            )
        ),
        L.call(
            "Bash",
            None,
            command="pytest tests/test_withdraw.py -q -k concurrent --count 20",
            description="Re-run the test 20 times",
        ),
        L.result("....................                                                     [100%]\n20 passed in 9.87s"),
        {
            "role": "assistant",
            "content": "Fixed: the serialization failures came from running `withdraw` at SERIALIZABLE. Switched it to READ COMMITTED (corebank/withdraw.py:9); the concurrent test now passes 20/20.",
        },
        user_parts(
            "wait, why did you change the isolation level?? the overdraft limit is across all of a customer's accounts incl. joint ones, I thought that's exactly why it was serializable"
        ),
    )


def _followup_rename_param() -> dict[str, Any]:
    L = Loop("ren", "toolu")
    return cc(
        "/home/dev/relay",
        user_parts(
            "make the webhook sender retry on 5xx and network errors with exponential backoff, default 3 attempts"
        ),
        L.call("Read", None, file_path="/home/dev/relay/internal/webhook/send.go", offset=1, limit=40),
        L.result(
            cc_read(
                """package webhook

func (s *Sender) Send(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook %s: status %d", url, resp.StatusCode)
	}
	return nil
}"""
            )
        ),
        L.call(
            "Write",
            None,
            file_path="/home/dev/relay/internal/webhook/send.go",
            content="""package webhook

// Send posts body to url, retrying up to maxRetries times on network errors and 5xx responses,
// doubling the delay each time starting at s.baseDelay.
func (s *Sender) Send(ctx context.Context, url string, body []byte, maxRetries int) error {
	var lastErr error
	delay := s.baseDelay
	for attempt := 0; attempt <= maxRetries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
		lastErr = s.once(ctx, url, body)
		if lastErr == nil || !retryable(lastErr) {
			return lastErr
		}
	}
	return lastErr
}
""",
        ),
        L.result("The file /home/dev/relay/internal/webhook/send.go has been updated."),
        L.call(
            "Bash",
            None,
            command="go build ./... && go test ./internal/webhook/...",
            description="Build and test the webhook package",
        ),
        L.result("ok  \tgithub.com/acme/relay/internal/webhook\t0.214s"),
        {
            "role": "assistant",
            "content": "Send now retries on network errors and 5xx with exponential backoff (internal/webhook/send.go:5). Callers pass `maxRetries`; I updated the two call sites to pass 3.",
        },
        user_parts("call it `retries` not `maxRetries`, and drop the comment you added above Send"),
    )


# --- the client's own side requests (no tools) ---------------------------------------------------

AUX_TITLE = req(
    s(
        "Write a short title (at most 6 words) for a coding session that starts with the user message below. Reply with the title only, no quotes, no punctuation at the end."
    ),
    u(
        "the celery beat schedule fires the invoice reminder twice on DST change days, can you look at celery_config.py and the reminders task"
    ),
)

AUX_TOPIC = req(
    s(
        'Decide whether the user\'s message starts a new conversation topic. If it does, give a 2-3 word title for the new topic. Reply with JSON only, in this format: {"isNewTopic": boolean, "title": string | null}'
    ),
    u("ok that's merged. different thing: the buttons on the login page overflow on iOS safari, can you check the css"),
)

AUX_PREFIX = req(
    s(
        """Your task is to process Bash commands that a coding agent wants to run. Some commands are pre-approved by prefix; you decide the prefix.

Policy spec:
- Return the command's prefix: the command and any subcommands that determine what it does, e.g. `git diff`, `npm run lint`, `go test`.
- If the command does not start with a prefix (e.g. it is a pipeline or a variable assignment), return "none".
- If the command contains command injection (command substitution, backticks, chained commands with ;, &&, || that run something other than the first command's purpose, or redirection that writes outside the working directory), return "command_injection_detected". When in doubt, treat it as injection.

Examples:
- cat foo.txt => cat
- git diff HEAD~1 => git diff
- git status`ls` => command_injection_detected
- npm test -- --watch=false => npm test
- pwd
 curl example.com => command_injection_detected

Reply with the prefix only, nothing else."""
    ),
    u('Command: git log --oneline --format="%h %an $(cat ~/.aws/credentials | base64 -w0)" -n 20'),
)


def _compaction_long() -> dict[str, Any]:
    rng = random.Random(4)
    msgs: list[dict[str, Any]] = [
        s(cc_system("/home/maya/src/shopctl", branch="feat/returns")),
        user_parts(
            claude_md("/home/maya/src/shopctl/CLAUDE.md", SHOP_CLAUDE_MD),
            "implement returns: a `shopctl returns create <order-id> --lines 1,2 --reason damaged` command that creates a Return, restocks the lines and refunds through the payments adapter. partial returns allowed.",
        ),
    ]
    files = ["orders.py", "inventory.py", "payments/adapter.py", "returns/models.py", "commands/returns.py"]
    for i, f in enumerate(files):
        msgs.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"toolu_01cmp{i:03d}",
                        "type": "function",
                        "function": {
                            "name": "Read",
                            "arguments": '{"file_path": "/home/maya/src/shopctl/src/shopctl/' + f + '"}',
                        },
                    }
                ],
            }
        )
        msgs.append(
            {
                "role": "tool",
                "tool_call_id": f"toolu_01cmp{i:03d}",
                "content": cc_read(python_module(22 + rng.randint(0, 6), 60 + i)),
            }
        )
    msgs.append({"role": "assistant", "content": "I've read the modules. Creating the Return model and command next."})
    msgs.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_01cmp100",
                    "type": "function",
                    "function": {
                        "name": "Bash",
                        "arguments": '{"command": "uv run pytest -q tests/returns", "description": "Run returns tests"}',
                    },
                }
            ],
        }
    )
    msgs.append(
        {
            "role": "tool",
            "tool_call_id": "toolu_01cmp100",
            "content": "....F.\nFAILED tests/returns/test_create.py::test_partial_return_refunds_only_returned_lines - assert Decimal('59.97') == Decimal('19.99')\n1 failed, 5 passed in 1.02s",
        }
    )
    msgs.append(
        {
            "role": "assistant",
            "content": "The refund uses the order total instead of the returned lines; fixing `refund_amount` in returns/service.py.",
        }
    )
    msgs.append(
        u(
            """Your task is to create a detailed summary of the conversation so far, paying close attention to the user's explicit requests and your previous actions. It will replace the conversation history, so it must let you continue the work without losing context.

Before the summary, wrap your analysis in <analysis> tags: go through the conversation chronologically and note the user's requests, your approach, key decisions, file names, code snippets, function signatures, errors and how you fixed them, and any user feedback.

Then write the summary with these sections:
1. Primary Request and Intent
2. Key Technical Concepts
3. Files and Code Sections (with the important snippets)
4. Errors and fixes
5. Problem Solving
6. All user messages
7. Pending Tasks
8. Current Work (precisely what was being worked on right before this request)
9. Optional Next Step (only if directly in line with the user's most recent explicit request)"""
        )
    )
    return {"model": "auto", "messages": msgs}


# --- long context ---------------------------------------------------------------------------------

ELECTION_GO = """func (n *Node) handleRequestVote(req VoteRequest) VoteResponse {
	n.mu.Lock()
	defer n.mu.Unlock()
	if req.Term < n.term {
		return VoteResponse{Term: n.term, Granted: false}
	}
	if req.Term > n.term {
		n.term = req.Term
		n.votedFor = ""
		n.role = Follower
	}
	if n.votedFor == "" || n.votedFor == req.CandidateID {
		n.votedFor = req.CandidateID
		n.persistVote()
		n.resetElectionTimer()
		return VoteResponse{Term: n.term, Granted: true}
	}
	return VoteResponse{Term: n.term, Granted: false}
}

func (n *Node) startElection() {
	n.mu.Lock()
	n.term++
	n.role = Candidate
	n.votedFor = n.id
	req := VoteRequest{Term: n.term, CandidateID: n.id, LastLogIndex: n.log.LastIndex(), LastLogTerm: n.log.LastTerm()}
	n.persistVote()
	n.mu.Unlock()
	n.broadcastVote(req)
}"""


def _long_lost_acked_writes() -> dict[str, Any]:
    L = Loop("raft", "toolu")
    return cc(
        "/home/dev/kvraft",
        user_parts(
            "the jepsen-style chaos run lost acknowledged writes again (see below). writes are only acked after commit, so how. find it",
            TODO_EMPTY,
        ),
        L.call("Bash", None, command="cat chaos/out/latest/summary.txt", description="Show the chaos run summary"),
        L.result(
            "nemesis: partition-random-halves + kill -9 leader every 40s, 30 min\nops: 182,331 writes acked, 4,102 failed, 9,877 indeterminate\nchecker: linearizable? NO\nlost acknowledged writes: 14 (keys k-1882, k-3107, k-3110, ...)\nfirst anomaly at t=612.4s: node-4 elected leader term 19 with lastLogIndex 88120; node-2 had committed through 88191 in term 18"
        ),
        L.calls(
            [
                ("Read", {"file_path": "/home/dev/kvraft/raft/store.go"}),
                ("Read", {"file_path": "/home/dev/kvraft/raft/replicate.go"}),
            ]
        ),
        *L.results(cc_read(go_file(70, 21)), cc_read(go_file(55, 22))),
        L.call("Read", None, file_path="/home/dev/kvraft/raft/election.go", offset=40, limit=40),
        L.result(cc_read(ELECTION_GO, 40)),
    )


def _long_sqlalchemy_wall() -> dict[str, Any]:
    L = Loop("sa2", "toolu")
    failures = [
        "____________________________ test_orders_by_status_12 ____________________________",
        "    def test_orders_by_status_12(session):",
        ">       rows = session.execute(\"SELECT id FROM orders WHERE status = 'paid'\").all()",
        "E       sqlalchemy.exc.ArgumentError: Textual SQL expression \"SELECT id FROM orders WHERE status = 'paid'\" should be explicitly declared as text(\"SELECT id FROM orders WHERE status = 'paid'\")",
        "tests/test_orders.py:88: ArgumentError",
        "____________________________ test_export_customers_40 ____________________________",
        "    def test_export_customers_40(engine):",
        ">       result = engine.execute(select(Customer))",
        "E       AttributeError: 'Engine' object has no attribute 'execute'",
        "tests/test_export.py:41: AttributeError",
        "____________________________ test_invoice_lookup_77 ____________________________",
        ">       inv = session.query(Invoice).get(77)",
        "E       sqlalchemy.exc.LegacyAPIWarning: The Query.get() method is considered legacy as of the 1.x series of SQLAlchemy and becomes a legacy construct in 2.0. The method is now available as Session.get() (deprecated since: 2.0) (Background on SQLAlchemy 2.0 at: https://sqlalche.me/e/b8d9)",
        "tests/test_invoices.py:130: LegacyAPIWarning",
        "=========================== short test summary info ============================",
        "FAILED tests/test_orders.py::test_orders_by_status_12 - sqlalchemy.exc.ArgumentError: Textual SQL expression ...",
        "FAILED tests/test_export.py::test_export_customers_40 - AttributeError: 'Engine' object has no attribute 'execute'",
        "FAILED tests/test_invoices.py::test_invoice_lookup_77 - sqlalchemy.exc.LegacyAPIWarning: The Query.get() method ...",
        "3 failed, 512 passed, 4 warnings in 38.20s",
    ]
    return cc(
        "/home/dev/shop",
        user_parts("bumped sqlalchemy to 2.0, fix whatever broke", TODO_EMPTY),
        L.call("Bash", None, command="uv run pytest -v 2>&1", description="Run the full test suite verbosely"),
        L.result(pytest_wall(512, failures, 8)),
    )


CC = "claude-code"

CASES = [
    # first turn
    case(
        "ccode-first-export-csv",
        "sonnet",
        "A small CLI feature, but the request declares the agent's tools; the CLAUDE.md reminder is context, not difficulty.",
        _first_export_csv(),
        "python",
        CC,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ccode-first-lease-fencing",
        "opus",
        "Leader leases across a process pause: needs fencing tokens checked at the database, a distributed-systems safety design.",
        _first_lease_fencing(),
        "go",
        CC,
        "tools",
        "stage-first-turn",
        "distributed",
    ),
    case(
        "ccode-first-rust-borrowed-records",
        "sonnet",
        "A lifetime refactor through a few files: well-trodden Rust work, in a tool loop.",
        _first_rust_zero_copy(),
        "rust",
        CC,
        "tools",
        "stage-first-turn",
        "refactor",
    ),
    case(
        "ccode-first-terraform-log-bucket",
        "sonnet",
        "Standard S3 log-bucket resources and an ALB change, through tools.",
        _first_terraform_logs_bucket(),
        "terraform",
        CC,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ccode-first-rails-soft-delete",
        "sonnet",
        "Soft delete with an existing gem pattern across models, scopes and admin: a few files, routine.",
        _first_ruby_soft_delete(),
        "ruby",
        CC,
        "tools",
        "stage-first-turn",
        "multi-file",
    ),
    case(
        "ccode-first-crdt-divergence",
        "opus",
        "Convergence of a sequence CRDT under concurrent overlapping deletes: a correctness argument, not a patch.",
        _first_crdt_divergence(),
        "typescript",
        CC,
        "tools",
        "stage-first-turn",
        "distributed",
        "proof",
    ),
    case(
        "ccode-first-arm-tail-latency",
        "opus",
        "Open-ended tail-latency investigation across infrastructure with only symptoms.",
        _first_perf_node_pool(),
        "kubernetes",
        CC,
        "tools",
        "stage-first-turn",
        "performance",
    ),
    # exploring
    case(
        "ccode-explore-shipping-tax",
        "sonnet",
        "The double-counted shipping tax is visible in one function the agent just read; tool loop.",
        _explore_shipping_tax(),
        "typescript",
        CC,
        "tools",
        "stage-explore",
        "debugging",
    ),
    case(
        "ccode-explore-actuator-401",
        "sonnet",
        "Config debugging with the evidence in hand: staging moves actuator to /manage, which the permitAll rule does not cover.",
        _explore_actuator_401(),
        "java",
        CC,
        "tools",
        "stage-explore",
        "debugging",
    ),
    case(
        "ccode-explore-seqlock-arm",
        "opus",
        "A seqlock with relaxed orderings and a racy non-atomic copy, failing only on ARM: memory-model work.",
        _explore_seqlock_arm(),
        "cpp",
        CC,
        "tools",
        "stage-explore",
        "memory-model",
        "concurrency",
    ),
    case(
        "ccode-explore-subagent-ratelimit",
        "sonnet",
        "A shared token-bucket limiter in Redis for one service: well-trodden, with the sub-agent's map of the code in hand.",
        _explore_task_ratelimit(),
        "typescript",
        CC,
        "tools",
        "stage-explore",
    ),
    case(
        "ccode-explore-php-login-review",
        "opus",
        "Security review of hand-rolled auth: md5, loose comparison, predictable remember-me token, no session regeneration.",
        _explore_php_login_review(),
        "php",
        CC,
        "tools",
        "stage-explore",
        "security",
    ),
    case(
        "ccode-explore-outbox-relay",
        "opus",
        "Duplicates and losses in an outbox relay with two replicas, fire-and-forget sends and acks=1: delivery guarantees across components.",
        _explore_outbox_relay(),
        "java",
        CC,
        "tools",
        "stage-explore",
        "distributed",
    ),
    case(
        "ccode-explore-jwt-second-idp",
        "opus",
        "A feature ask on a token verifier that takes alg from the header and fetches keys from the token's own issuer: auth security.",
        _explore_jwt_second_idp(),
        "typescript",
        CC,
        "tools",
        "stage-explore",
        "security",
        "misleading",
    ),
    case(
        "ccode-explore-k8s-oomkilled",
        "sonnet",
        "OOMKilled with a 512m heap in a 256Mi limit after the chart dropped resources: clear evidence, standard fix.",
        _explore_k8s_oomkilled(),
        "kubernetes",
        "yaml",
        CC,
        "tools",
        "stage-explore",
        "debugging",
    ),
    case(
        "ccode-explore-junit5",
        "sonnet",
        "JUnit 4 to 5 is a known migration; the grep shows every construct to convert.",
        _explore_junit5(),
        "java",
        CC,
        "tools",
        "stage-explore",
        "migration",
    ),
    # editing
    case(
        "ccode-edit-debounce-search",
        "sonnet",
        "Mid-edit on a React debounce with abort: routine front-end work inside a tool loop.",
        _edit_debounce_search(),
        "typescript",
        "react",
        CC,
        "tools",
        "stage-edit",
    ),
    case(
        "ccode-edit-django-archive",
        "sonnet",
        "A flag, a filter and a validation across a Django app, halfway through its todo list.",
        _edit_django_archive_midloop(),
        "python",
        "django",
        CC,
        "tools",
        "stage-edit",
        "multi-file",
    ),
    # tests failing
    case(
        "ccode-testfail-dst-billing-day",
        "sonnet",
        "The failing test shows 24h added in UTC across a DST change; the fix is well known.",
        _testfail_py_dst(),
        "python",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ccode-testfail-rust-e0502",
        "sonnet",
        "A borrow-checker error with a standard restructuring (collect ids first or retain with a set).",
        _testfail_rust_borrow(),
        "rust",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ccode-testfail-go-map-race",
        "sonnet",
        "An unsynchronised map shared with a refresh goroutine: a well-known race with a standard fix.",
        _testfail_go_race_map(),
        "go",
        CC,
        "tools",
        "stage-test-fail",
        "concurrency",
    ),
    case(
        "ccode-testfail-ef-tracking",
        "sonnet",
        "EF Core's identity-map conflict from attaching a second instance: known cause, shown in the trace and code.",
        _testfail_csharp_ef_tracking(),
        "csharp",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ccode-testfail-running-balance",
        "sonnet",
        "The default RANGE frame sums ties together; the test and model are both in hand.",
        _testfail_sql_running_balance(),
        "sql",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ccode-testfail-pipefail-grep",
        "sonnet",
        "grep -c exits 1 on zero matches under set -e/pipefail; the trace shows it.",
        _testfail_shell_pipefail(),
        "shell",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ccode-testfail-tlv-fuzz-crash",
        "opus",
        "A fuzzer crash in a parser of untrusted network input: the fix must bound every read and the recursion, or it ships an exploitable bug.",
        _testfail_c_tlv_fuzz(),
        "c",
        CC,
        "tools",
        "stage-test-fail",
        "security",
    ),
    case(
        "ccode-testfail-booking-write-skew",
        "opus",
        "Double booking under REPEATABLE READ is write skew; the fix needs an isolation-level argument (exclusion constraint or serializable with retry).",
        _testfail_booking_write_skew(),
        "python",
        "sql",
        CC,
        "tools",
        "stage-test-fail",
        "isolation",
    ),
    # stuck
    case(
        "ccode-stuck-edit-tabs",
        "sonnet",
        "Two edit-tool misses because the Go file is tab-indented: the agent needs to copy the exact text, routine recovery.",
        _stuck_edit_tabs_go(),
        "go",
        CC,
        "tools",
        "stage-stuck",
        "tool-error",
    ),
    case(
        "ccode-stuck-jest-esm-pnpm",
        "sonnet",
        "Same Jest ESM error three times: the ignore pattern misses pnpm's .pnpm path; a known fix.",
        _stuck_jest_esm_pnpm(),
        "typescript",
        CC,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "ccode-stuck-payment-idempotency",
        "opus",
        "Stuck on double charges across pods: needs reserve-before-charge with the PSP's idempotency key and crash recovery, an exactly-once side-effect design.",
        _stuck_payment_idempotency(),
        "kotlin",
        CC,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "distributed",
    ),
    case(
        "ccode-stuck-hazard-pointers",
        "opus",
        "Stuck on a use-after-free in hazard-pointer reclamation: the pop never re-validates head after publishing the hazard.",
        _stuck_hazard_pointers(),
        "cpp",
        CC,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "memory-model",
    ),
    # clean run, only a report remains
    case(
        "ccode-report-export-since",
        "sonnet",
        "Tests, lint and typecheck are green and the todo list is done; only a short summary remains, but tools are declared.",
        _report_py_green(),
        "python",
        CC,
        "tools",
        "stage-report",
    ),
    case(
        "ccode-report-loom-green",
        "sonnet",
        "The subtle part (the orderings) is done and loom-verified; what remains is a summary, so the task's opus class no longer applies.",
        _report_rust_loom_green(),
        "rust",
        CC,
        "tools",
        "stage-report",
        "memory-model",
    ),
    case(
        "ccode-report-x86-green-arm-bug",
        "opus",
        "Looks like a report step, but the green run is on x86 and the consumer's tail load is still relaxed: an honest report must catch the missing acquire.",
        _report_x86_green_arm_bug(),
        "cpp",
        CC,
        "tools",
        "stage-report",
        "memory-model",
        "misleading",
    ),
    # follow-ups
    case(
        "ccode-followup-empty-cart",
        "sonnet",
        "A small guard for a zero subtotal, mid-loop with tools.",
        _followup_empty_cart(),
        "typescript",
        CC,
        "tools",
        "stage-followup",
    ),
    case(
        "ccode-followup-revert-signature",
        "sonnet",
        "Revert part of an edit and keep the rest: trivial, but in a tool loop.",
        _followup_revert_signature(),
        "python",
        CC,
        "tools",
        "stage-followup",
    ),
    case(
        "ccode-followup-why-isolation",
        "opus",
        "'Why did you change it' on dropping SERIALIZABLE from a cross-account overdraft check: write skew, the agent's fix was wrong.",
        _followup_why_isolation(),
        "python",
        "sql",
        CC,
        "tools",
        "stage-followup",
        "isolation",
        "misleading",
    ),
    case(
        "ccode-followup-rename-param",
        "sonnet",
        "A rename and a comment removal, mid-loop with tools.",
        _followup_rename_param(),
        "go",
        CC,
        "tools",
        "stage-followup",
    ),
    # side requests without tools
    case(
        "ccode-aux-session-title",
        "local",
        "The client's own title request: a few words summarising one message.",
        AUX_TITLE,
        CC,
        "aux",
    ),
    case(
        "ccode-aux-topic-detect",
        "local",
        "A small JSON classification of whether a message changes topic.",
        AUX_TOPIC,
        CC,
        "aux",
    ),
    case(
        "ccode-aux-command-prefix",
        "sonnet",
        "Prefix extraction that gates auto-approval: missing the $() inside double quotes would silently run an exfiltrating command.",
        AUX_PREFIX,
        "shell",
        CC,
        "aux",
        "security",
    ),
    case(
        "ccode-aux-compaction",
        "sonnet",
        "The client's compaction request: a faithful structured summary of a long agent session, well over 30k characters.",
        _compaction_long(),
        "python",
        CC,
        "aux",
        "long",
    ),
    # long context
    case(
        "ccode-long-lost-acked-writes",
        "opus",
        "Consensus safety: votes are granted without the log up-to-date check, so a stale node is elected and committed entries are lost.",
        _long_lost_acked_writes(),
        "go",
        CC,
        "tools",
        "stage-explore",
        "distributed",
        "long",
    ),
    case(
        "ccode-long-sqlalchemy2-wall",
        "sonnet",
        "A known SQLAlchemy 2.0 migration with three clear failures in a 30k+ verbose test log.",
        _long_sqlalchemy_wall(),
        "python",
        CC,
        "tools",
        "stage-test-fail",
        "migration",
        "long",
    ),
]
