"""IDE agents: Cursor's agent (its system prompt, <user_info>, <attached_files>/<current_file>/
<linter_errors> around a <user_query>, read_file/edit_file/run_terminal_cmd/codebase_search tools),
Cline (XML tool protocol in the system prompt, no OpenAI tools; <task>, <environment_details> on every
user turn, "[tool for 'x'] Result:" turns) and Continue in agent mode (builtin_* tools). Every stage of
the loop, across languages."""

# ruff: noqa: E501, RUF001  (prompts are data: long literal lines and tool output stay as written)

from __future__ import annotations

from typing import Any

from fixtures import a, case, log_lines, python_module, req, s, u
from fixtures_agent import (
    CONTINUE_AGENT_SYSTEM,
    CONTINUE_TOOLS,
    CURSOR_SYSTEM,
    CURSOR_TOOLS,
    Loop,
    cline_cmd,
    cline_error,
    cline_feedback,
    cline_file,
    cline_result,
    cline_saved,
    cline_system,
    cline_task,
    cursor_cmd_result,
    cursor_edit_result,
    cursor_read,
    cursor_user,
    env_details,
)


def cursor(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CURSOR_SYSTEM), *messages, tools=CURSOR_TOOLS)


def cont(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CONTINUE_AGENT_SYSTEM), *messages, tools=CONTINUE_TOOLS)


# === Cursor ======================================================================================

HANDLER_TS = """import type { Request, Response } from "express";
import { db } from "../db";

export async function createProject(req: Request, res: Response) {
  const { name, description, visibility, memberIds } = req.body;
  const project = await db.project.create({
    data: {
      name,
      description,
      visibility,
      ownerId: req.user.id,
      members: { connect: memberIds.map((id: string) => ({ id })) },
    },
  });
  res.status(201).json(project);
}"""


def _cursor_zod() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "add zod validation to this handler. name required 1-100 chars, description optional max 2000, visibility public|private default private, memberIds array of cuid max 50. 400 with the zod issues if invalid",
            attached=[("src/routes/projects/create.ts", HANDLER_TS)],
            current_file=(
                "src/routes/projects/create.ts",
                5,
                "  const { name, description, visibility, memberIds } = req.body;",
            ),
        )
    )


def _cursor_mypy_linter() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "fix these",
            workspace="/home/nadia/src/reports",
            os="linux 6.8.0",
            shell="/usr/bin/bash",
            current_file=("reports/render.py", 27, "    return template.render(**ctx)"),
            linter="""## Linter Errors

Path: reports/render.py
Errors:

Line 14: Argument 1 to "get_template" of "Environment" has incompatible type "str | None"; expected "str | Template"  [arg-type], severity: error
Line 19: Item "None" of "Report | None" has no attribute "period"  [union-attr], severity: error
Line 27: Returning Any from function declared to return "str"  [no-any-return], severity: error""",
        )
    )


def _cursor_regex_question() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "what does this regex do",
            current_file=("src/utils/validate.js", 8, r"const SLUG = /^(?!-)[a-z0-9-]{3,40}(?<!-)$/;"),
        )
    )


def _cursor_codebase_search_refresh() -> dict[str, Any]:
    L = Loop("rn")
    return cursor(
        cursor_user(
            "how does the auth token refresh work in the mobile app? I need to explain it to the new dev",
            workspace="/Users/dev/code/mobile",
        ),
        L.call(
            "codebase_search",
            "Let me find the token refresh logic.",
            query="refresh access token when expired",
            explanation="Locate the refresh flow in the app",
        ),
        L.result(
            """src/api/client.ts
Lines 12-41:
```
const client = axios.create({ baseURL: Config.API_URL, timeout: 15000 });

client.interceptors.request.use(async (config) => {
  const token = await tokenStore.getAccessToken();
  if (token) config.headers.Authorization = `Bearer ${token}`;
  return config;
});

let refreshing: Promise<string> | null = null;

client.interceptors.response.use(undefined, async (error) => {
  const original = error.config;
  if (error.response?.status !== 401 || original._retried) throw error;
  original._retried = true;
  refreshing ??= refreshAccessToken().finally(() => { refreshing = null; });
  const token = await refreshing;
  original.headers.Authorization = `Bearer ${token}`;
  return client(original);
});
```

src/auth/refresh.ts
Lines 1-24:
```
export async function refreshAccessToken(): Promise<string> {
  const refreshToken = await SecureStore.getItemAsync("refresh_token");
  if (!refreshToken) { await signOut(); throw new AuthExpired(); }
  const res = await fetch(`${Config.API_URL}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: Config.CLIENT_ID }).toString(),
  });
  if (!res.ok) { await signOut(); throw new AuthExpired(); }
  const body = await res.json();
  await tokenStore.setTokens(body.access_token, body.refresh_token);
  return body.access_token;
}
```

src/auth/tokenStore.ts
Lines 1-15:
```
let accessToken: string | null = null;
export const tokenStore = {
  getAccessToken: async () => accessToken,
  setTokens: async (access: string, refresh: string) => {
    accessToken = access;
    await SecureStore.setItemAsync("refresh_token", refresh);
  },
};
```"""
        ),
    )


def _cursor_edit_new_linter() -> dict[str, Any]:
    L = Loop("gol")
    return cursor(
        cursor_user(
            "add a context timeout of 5s to every outbound call in this client",
            attached=[
                (
                    "internal/billing/client.go",
                    'package billing\n\nfunc (c *Client) Invoice(ctx context.Context, id string) (*Invoice, error) {\n\treq, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/invoices/"+id, nil)\n\treturn c.do(req)\n}\n\nfunc (c *Client) Refund(ctx context.Context, id string, amt int64) error {\n\tbody, _ := json.Marshal(map[string]any{"amount": amt})\n\treq, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/invoices/"+id+"/refunds", bytes.NewReader(body))\n\t_, err := c.do(req)\n\treturn err\n}',
                )
            ],
            workspace="/home/dev/payments",
            os="linux 6.8.0",
            shell="/bin/bash",
        ),
        L.call(
            "edit_file",
            "I'll wrap each call's context with a 5s timeout.",
            target_file="internal/billing/client.go",
            instructions="Add a 5s context timeout to Invoice and Refund.",
            code_edit="func (c *Client) Invoice(ctx context.Context, id string) (*Invoice, error) {\n\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)\n\tdefer cancel()\n\t// ... existing code ...\n}\n\nfunc (c *Client) Refund(ctx context.Context, id string, amt int64) error {\n\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)\n\t// ... existing code ...\n}",
        ),
        L.result(
            cursor_edit_result(
                '@@ -3,2 +3,4 @@\n func (c *Client) Invoice(ctx context.Context, id string) (*Invoice, error) {\n+\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)\n+\tdefer cancel()\n \treq, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/invoices/"+id, nil)\n@@ -8,2 +10,3 @@\n func (c *Client) Refund(ctx context.Context, id string, amt int64) error {\n+\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)\n \tbody, _ := json.Marshal(map[string]any{"amount": amt})',
                linter="Line 11: the cancel function returned by context.WithTimeout should be called, not discarded, to avoid a context leak (lostcancel), severity: error\nLine 4: undefined: time, severity: error",
            )
        ),
    )


def _cursor_jest_tz() -> dict[str, Any]:
    L = Loop("jtz")
    return cursor(
        cursor_user("formatDueDate tests pass locally but fail in CI. fix", workspace="/Users/mo/code/tasks-web"),
        L.call(
            "run_terminal_cmd",
            "Running the tests the way CI does.",
            command="TZ=UTC npx jest src/utils/formatDueDate.test.js",
            is_background=False,
        ),
        L.result(
            cursor_cmd_result(
                "TZ=UTC npx jest src/utils/formatDueDate.test.js",
                """ FAIL  src/utils/formatDueDate.test.js
  formatDueDate
    ✓ formats today as "Today" (4 ms)
    ✕ formats tomorrow as "Tomorrow" (3 ms)

  ● formatDueDate › formats tomorrow as "Tomorrow"

    expect(received).toBe(expected) // Object.is equality

    Expected: "Tomorrow"
    Received: "Today"

      12 |   test('formats tomorrow as "Tomorrow"', () => {
      13 |     jest.setSystemTime(new Date("2025-03-09T23:30:00-08:00"));
    > 14 |     expect(formatDueDate("2025-03-10")).toBe("Tomorrow");

Tests:       1 failed, 1 passed, 2 total""",
                exit_code=1,
                cwd="/Users/mo/code/tasks-web",
            )
        ),
        L.call(
            "read_file",
            None,
            target_file="src/utils/formatDueDate.js",
            should_read_entire_file=True,
            start_line_one_indexed=1,
            end_line_one_indexed_inclusive=30,
        ),
        L.result(
            cursor_read(
                "src/utils/formatDueDate.js",
                """export function formatDueDate(isoDate) {
  const due = new Date(isoDate);           // "2025-03-10" parses as UTC midnight
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const days = Math.round((due - today) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Tomorrow";
  return due.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric" });
}""",
            )
        ),
    )


PYRIGHT = 'Line 22: Argument of type "str | None" cannot be assigned to parameter "tenant" of type "str" in function "scope_query"\n  Type "str | None" is not assignable to type "str"\n    "None" is not assignable to "str", severity: error'


def _cursor_stuck_linter_loop() -> dict[str, Any]:
    L = Loop("pyr")
    return cursor(
        cursor_user(
            "make list_invoices tenant-scoped using scope_query",
            workspace="/home/nadia/src/reports",
            os="linux 6.8.0",
            attached=[
                (
                    "reports/api/invoices.py",
                    'def list_invoices(request: Request) -> list[Invoice]:\n    tenant = request.headers.get("x-tenant")\n    q = select(Invoice).order_by(Invoice.issued_at.desc())\n    return session.scalars(q).all()',
                )
            ],
        ),
        L.call(
            "edit_file",
            None,
            target_file="reports/api/invoices.py",
            instructions="Scope the query by tenant.",
            code_edit='    tenant = request.headers.get("x-tenant")\n    q = scope_query(select(Invoice).order_by(Invoice.issued_at.desc()), tenant)\n    return session.scalars(q).all()',
        ),
        L.result(
            cursor_edit_result(
                "@@ -3 +3 @@\n-    q = select(Invoice).order_by(Invoice.issued_at.desc())\n+    q = scope_query(select(Invoice).order_by(Invoice.issued_at.desc()), tenant)",
                linter=PYRIGHT,
            )
        ),
        L.call(
            "edit_file",
            "Adding a type annotation for tenant.",
            target_file="reports/api/invoices.py",
            instructions="Annotate tenant as str.",
            code_edit='    tenant: str = request.headers.get("x-tenant")\n    // ... existing code ...',
        ),
        L.result(
            cursor_edit_result(
                '@@ -2 +2 @@\n-    tenant = request.headers.get("x-tenant")\n+    tenant: str = request.headers.get("x-tenant")',
                linter='Line 21: Type "str | None" is not assignable to declared type "str", severity: error\n'
                + PYRIGHT,
            )
        ),
        L.call(
            "edit_file",
            "Using a cast.",
            target_file="reports/api/invoices.py",
            instructions="Cast tenant.",
            code_edit='    tenant = cast(str, request.headers.get("x-tenant"))\n    // ... existing code ...',
        ),
        L.result(
            cursor_edit_result(
                '@@ -2 +2 @@\n-    tenant: str = request.headers.get("x-tenant")\n+    tenant = cast(str, request.headers.get("x-tenant"))',
                linter='Line 21: "cast" is not defined, severity: error',
            )
        ),
    )


def _cursor_report_green() -> dict[str, Any]:
    L = Loop("mvn")
    return cursor(
        cursor_user(
            "add GET /api/customers/{id}/orders returning the customer's orders newest first, 404 if the customer doesn't exist. with a test",
            workspace="/Users/pia/work/crm",
            attached=[
                (
                    "src/main/java/com/acme/crm/customer/CustomerController.java",
                    '@RestController\n@RequestMapping("/api/customers")\n@RequiredArgsConstructor\nclass CustomerController {\n    private final CustomerService customers;\n\n    @GetMapping("/{id}")\n    CustomerDto get(@PathVariable UUID id) {\n        return customers.get(id);\n    }\n}',
                )
            ],
        ),
        L.call(
            "edit_file",
            None,
            target_file="src/main/java/com/acme/crm/customer/CustomerController.java",
            instructions="Add orders endpoint.",
            code_edit='    @GetMapping("/{id}/orders")\n    List<OrderDto> orders(@PathVariable UUID id) {\n        return customers.ordersNewestFirst(id);\n    }\n// ... existing code ...',
        ),
        L.result(
            cursor_edit_result(
                '@@ -10,0 +11,5 @@\n+\n+    @GetMapping("/{id}/orders")\n+    List<OrderDto> orders(@PathVariable UUID id) {\n+        return customers.ordersNewestFirst(id);\n+    }'
            )
        ),
        L.call(
            "edit_file",
            None,
            target_file="src/main/java/com/acme/crm/customer/CustomerService.java",
            instructions="Add ordersNewestFirst.",
            code_edit="    List<OrderDto> ordersNewestFirst(UUID id) {\n        if (!repo.existsById(id)) throw new CustomerNotFoundException(id);\n        return orders.findByCustomerIdOrderByCreatedAtDesc(id).stream().map(OrderDto::from).toList();\n    }\n// ... existing code ...",
        ),
        L.result(
            cursor_edit_result(
                "@@ -31,0 +32,5 @@\n+    List<OrderDto> ordersNewestFirst(UUID id) {\n+        if (!repo.existsById(id)) throw new CustomerNotFoundException(id);\n+        return orders.findByCustomerIdOrderByCreatedAtDesc(id).stream().map(OrderDto::from).toList();\n+    }"
            )
        ),
        L.call(
            "run_terminal_cmd",
            None,
            command="./mvnw -q test -Dtest='CustomerControllerTest' | cat",
            is_background=False,
        ),
        L.result(
            cursor_cmd_result(
                "./mvnw -q test -Dtest='CustomerControllerTest' | cat",
                "[INFO] Tests run: 7, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 2.418 s -- in com.acme.crm.customer.CustomerControllerTest\n[INFO]\n[INFO] Results:\n[INFO]\n[INFO] Tests run: 7, Failures: 0, Errors: 0, Skipped: 0\n[INFO]\n[INFO] BUILD SUCCESS",
                cwd="/Users/pia/work/crm",
            )
        ),
    )


def _cursor_followup_revert_interface() -> dict[str, Any]:
    L = Loop("cs")
    return cursor(
        cursor_user(
            "add a CancellationToken parameter to GetByIdAsync",
            workspace="C:\\Users\\tom\\src\\Inventory",
            os="win32 10.0.22631",
            shell="C:\\Program Files\\PowerShell\\7\\pwsh.exe",
            attached=[
                (
                    "src/Inventory/Data/SqlProductRepository.cs",
                    "public sealed class SqlProductRepository : IProductRepository\n{\n    public async Task<Product?> GetByIdAsync(int id)\n    {\n        await using var conn = await _factory.OpenAsync();\n        return await conn.QuerySingleOrDefaultAsync<Product>(Sql.ById, new { id });\n    }\n}",
                )
            ],
        ),
        L.call(
            "edit_file",
            None,
            target_file="src/Inventory/Data/SqlProductRepository.cs",
            instructions="Add CancellationToken.",
            code_edit="    public async Task<Product?> GetByIdAsync(int id, CancellationToken ct = default)\n    {\n        await using var conn = await _factory.OpenAsync(ct);\n        return await conn.QuerySingleOrDefaultAsync<Product>(new CommandDefinition(Sql.ById, new { id }, cancellationToken: ct));\n    }",
        ),
        L.result(
            cursor_edit_result(
                "@@ -3,5 +3,5 @@\n-    public async Task<Product?> GetByIdAsync(int id)\n+    public async Task<Product?> GetByIdAsync(int id, CancellationToken ct = default)\n     {\n-        await using var conn = await _factory.OpenAsync();\n-        return await conn.QuerySingleOrDefaultAsync<Product>(Sql.ById, new { id });\n+        await using var conn = await _factory.OpenAsync(ct);\n+        return await conn.QuerySingleOrDefaultAsync<Product>(new CommandDefinition(Sql.ById, new { id }, cancellationToken: ct));"
            )
        ),
        a(
            "Added `CancellationToken ct = default` to `SqlProductRepository.GetByIdAsync` and passed it to the connection and Dapper via `CommandDefinition`."
        ),
        cursor_user(
            "no, revert that — I meant on IProductRepository, and all three implementations (Sql, InMemory, Cached) should take it. no default value on the interface",
            first=False,
            recent=["src/Inventory/Data/IProductRepository.cs"],
        ),
    )


def _cursor_long_retry_logging() -> dict[str, Any]:
    mods = [
        (f"app/sync/{name}.py", python_module(38, 300 + i))
        for i, name in enumerate(["orders", "customers", "invoices"])
    ]
    return cursor(
        cursor_user(
            "add a log.warning in every except branch in these files that says which record id was skipped (some already do, keep those). don't change anything else",
            workspace="/home/dev/erp-sync",
            os="linux 6.8.0",
            attached=mods,
        )
    )


WS_TS = """import { WebSocketServer } from "ws";
import { verify } from "./auth";
import { rooms } from "./rooms";

const wss = new WebSocketServer({ port: 8081 });

wss.on("connection", async (socket, req) => {
  const token = new URL(req.url!, "http://x").searchParams.get("token");
  const claims = token ? await verify(token) : null;
  if (!claims) return socket.close(4401, "unauthorized");

  socket.on("message", async (raw) => {
    const msg = JSON.parse(raw.toString());
    switch (msg.type) {
      case "join":
        // members can only join rooms of their org
        if (await rooms.isMember(msg.userId, msg.roomId)) rooms.join(msg.roomId, socket);
        break;
      case "say":
        rooms.broadcast(msg.roomId, { from: msg.userId, text: msg.text });
        break;
      case "kick":
        if (claims.role === "admin") rooms.kick(msg.roomId, msg.targetUserId);
        break;
    }
  });
});"""


def _cursor_ws_auth_review() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "is the auth in this ok? we're opening the websocket API to third-party clients next month",
            attached=[("src/realtime/server.ts", WS_TS)],
            current_file=(
                "src/realtime/server.ts",
                17,
                "        if (await rooms.isMember(msg.userId, msg.roomId)) rooms.join(msg.roomId, socket);",
            ),
        )
    )


WEBHOOK_STRIPE = """@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request, db: Session = Depends(get_db)):
    event = stripe.Webhook.construct_event(await request.body(), request.headers["stripe-signature"], settings.STRIPE_WH_SECRET)
    if event["type"] != "checkout.session.completed":
        return {"ok": True}
    if db.query(ProcessedEvent).filter_by(id=event["id"]).first():
        return {"ok": True}
    order = db.get(Order, event["data"]["object"]["metadata"]["order_id"])
    warehouse.create_fulfilment(order)          # HTTP call to the 3PL
    order.status = "paid"
    db.add(ProcessedEvent(id=event["id"]))
    db.commit()
    return {"ok": True}"""


def _cursor_webhook_double_fulfil() -> dict[str, Any]:
    L = Loop("wh")
    return cursor(
        cursor_user(
            "the 3PL says we sometimes send two fulfilments for one order. stripe retries webhooks, but we dedupe on event id?",
            workspace="/home/dev/shop-api",
            os="linux 6.8.0",
        ),
        L.call(
            "grep_search",
            None,
            query="create_fulfilment",
            include_pattern="*.py",
            explanation="Find every place that creates fulfilments",
        ),
        L.result(
            "File: app/webhooks/stripe.py\nLine 9:     warehouse.create_fulfilment(order)          # HTTP call to the 3PL\nFile: app/admin/orders.py\nLine 77:         warehouse.create_fulfilment(order)\nFile: app/integrations/warehouse.py\nLine 14: def create_fulfilment(order: Order) -> str:"
        ),
        L.call(
            "read_file",
            None,
            target_file="app/webhooks/stripe.py",
            should_read_entire_file=True,
            start_line_one_indexed=1,
            end_line_one_indexed_inclusive=40,
        ),
        L.result(cursor_read("app/webhooks/stripe.py", WEBHOOK_STRIPE)),
    )


EPOCH_RS = """pub fn peek_newest(&self) -> Option<u64> {
    let guard = epoch::pin();
    let head = self.head.load(Ordering::Acquire, &guard);
    drop(guard);
    unsafe { head.as_ref().map(|n| n.seq) }
}

pub fn pop(&self) -> Option<u64> {
    let guard = epoch::pin();
    loop {
        let head = self.head.load(Ordering::Acquire, &guard);
        let node = unsafe { head.as_ref()? };
        let next = node.next.load(Ordering::Acquire, &guard);
        if self.head.compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire, &guard).is_ok() {
            unsafe { guard.defer_destroy(head) };
            return Some(node.seq);
        }
    }
}"""

MIRI = """error: Undefined Behavior: out-of-bounds pointer use: alloc81251 has been freed, so this pointer is dangling
   --> src/stack.rs:{line}:35
    |
{line}  |     unsafe {{ head.as_ref().map(|n| n.seq) }}
    |                                   ^^^^^ out-of-bounds pointer use: alloc81251 has been freed, so this pointer is dangling
    |
    = help: this indicates a bug in the program: it performed an invalid operation, and caused Undefined Behavior
note: inside `Stack::peek_newest` at src/stack.rs:{line}:35
error: aborting due to 1 previous error
error: test failed, to rerun pass `--lib`"""


def _cursor_stuck_epoch() -> dict[str, Any]:
    L = Loop("ep")
    return cursor(
        cursor_user(
            "miri fails on the concurrent stack test, fix the stack",
            workspace="/Users/ko/src/seqstack",
            attached=[("src/stack.rs", EPOCH_RS)],
        ),
        L.call(
            "run_terminal_cmd",
            None,
            command="cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
            is_background=False,
        ),
        L.result(
            cursor_cmd_result(
                "cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
                MIRI.format(line=41),
                exit_code=1,
                cwd="/Users/ko/src/seqstack",
            )
        ),
        L.call(
            "edit_file",
            "The load needs a stronger ordering to see the node before it's destroyed.",
            target_file="src/stack.rs",
            instructions="Use SeqCst for the head load in peek_newest.",
            code_edit="    let head = self.head.load(Ordering::SeqCst, &guard);",
        ),
        L.result(
            cursor_edit_result(
                "@@ -3 +3 @@\n-    let head = self.head.load(Ordering::Acquire, &guard);\n+    let head = self.head.load(Ordering::SeqCst, &guard);"
            )
        ),
        L.call(
            "run_terminal_cmd",
            None,
            command="cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
            is_background=False,
        ),
        L.result(
            cursor_cmd_result(
                "cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
                MIRI.format(line=41),
                exit_code=1,
                cwd="/Users/ko/src/seqstack",
            )
        ),
        L.call(
            "edit_file",
            "Making the CAS SeqCst as well so pop's destroy is ordered after the peek.",
            target_file="src/stack.rs",
            instructions="Use SeqCst on the CAS in pop.",
            code_edit="        if self.head.compare_exchange(head, next, Ordering::SeqCst, Ordering::SeqCst, &guard).is_ok() {",
        ),
        L.result(
            cursor_edit_result(
                "@@ -14 +14 @@\n-        if self.head.compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire, &guard).is_ok() {\n+        if self.head.compare_exchange(head, next, Ordering::SeqCst, Ordering::SeqCst, &guard).is_ok() {"
            )
        ),
        L.call(
            "run_terminal_cmd",
            None,
            command="cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
            is_background=False,
        ),
        L.result(
            cursor_cmd_result(
                "cargo +nightly miri test concurrent_peek_pop 2>&1 | tail -20",
                MIRI.format(line=41),
                exit_code=1,
                cwd="/Users/ko/src/seqstack",
            )
        ),
    )


def _cursor_followup_for_update() -> dict[str, Any]:
    L = Loop("fu")
    return cursor(
        cursor_user(
            "we get deadlocks in ReserveItems under load (mysql error 1213). fix",
            workspace="/home/dev/inventory",
            os="linux 6.8.0",
            attached=[
                (
                    "internal/store/reserve.go",
                    'func (s *Store) ReserveItems(ctx context.Context, items []Item) error {\n\ttx, err := s.db.BeginTx(ctx, nil)\n\tif err != nil {\n\t\treturn err\n\t}\n\tdefer tx.Rollback()\n\tfor _, it := range items {\n\t\tvar stock int\n\t\tif err := tx.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = ? FOR UPDATE", it.ProductID).Scan(&stock); err != nil {\n\t\t\treturn err\n\t\t}\n\t\tif stock < it.Qty {\n\t\t\treturn ErrOutOfStock\n\t\t}\n\t\tif _, err := tx.ExecContext(ctx, "UPDATE products SET stock = stock - ? WHERE id = ?", it.Qty, it.ProductID); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n\treturn tx.Commit()\n}',
                )
            ],
        ),
        L.call(
            "edit_file",
            None,
            target_file="internal/store/reserve.go",
            instructions="Remove FOR UPDATE to avoid lock waits.",
            code_edit='\t\tif err := tx.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = ?", it.ProductID).Scan(&stock); err != nil {',
        ),
        L.result(
            cursor_edit_result(
                '@@ -9 +9 @@\n-\t\tif err := tx.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = ? FOR UPDATE", it.ProductID).Scan(&stock); err != nil {\n+\t\tif err := tx.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = ?", it.ProductID).Scan(&stock); err != nil {'
            )
        ),
        L.call("run_terminal_cmd", None, command="go test ./internal/store -run Reserve -count 3", is_background=False),
        L.result(
            cursor_cmd_result(
                "go test ./internal/store -run Reserve -count 3",
                "ok  \tgithub.com/acme/inventory/internal/store\t4.120s",
                cwd="/home/dev/inventory",
            )
        ),
        a(
            "Removed the `FOR UPDATE` from the stock read in `ReserveItems`; without the row locks the transactions no longer deadlock. Tests pass."
        ),
        cursor_user(
            "why did you drop the FOR UPDATE? won't two orders both see stock=1 and both reserve now? (I think the deadlock is because carts have items in different orders)",
            first=False,
        ),
    )


def _cursor_event_loop_lag() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "prod only: event loop lag spikes to 1.5-2s roughly every 5 minutes, p99 on every route goes through the roof during those. CPU avg 35%. heap graph is a sawtooth 600MB->1.4GB. can't repro locally. where do I even start, and what's your best guess",
            workspace="/home/dev/api-node",
            os="linux 6.8.0",
            attached=[
                (
                    "src/server.ts",
                    'import express from "express";\nimport { initCache } from "./cache";\nimport { router } from "./routes";\n\nconst app = express();\napp.use(express.json({ limit: "5mb" }));\napp.use(router);\ninitCache({ refreshEveryMs: 5 * 60_000 });\napp.listen(3000);',
                ),
                (
                    "src/cache.ts",
                    'let catalog: Map<string, Product> = new Map();\n\nexport function initCache({ refreshEveryMs }: { refreshEveryMs: number }) {\n  const refresh = async () => {\n    const rows = await db.query("SELECT * FROM products"); // ~400k rows\n    const next = new Map<string, Product>();\n    for (const r of rows) next.set(r.sku, toProduct(r));\n    catalog = next;\n  };\n  refresh();\n  setInterval(refresh, refreshEveryMs);\n}\n\nexport const getProduct = (sku: string) => catalog.get(sku);',
                ),
            ],
        )
    )


OAUTH_PY = """@router.get("/auth/callback")
def oauth_callback(code: str, state: str | None = None, redirect_uri: str | None = None, response: Response = None):
    token = requests.post(
        f"{IDP}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri or settings.REDIRECT_URI,
              "client_id": settings.CLIENT_ID, "client_secret": settings.CLIENT_SECRET},
    ).json()
    log.info("token response: %s", token)
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    user = users.upsert_from_claims(claims)
    response.set_cookie("session", sessions.create(user.id), httponly=True)
    return RedirectResponse(request_next_url(state) or "/")"""


def _cursor_oauth_callback() -> dict[str, Any]:
    L = Loop("oa")
    return cursor(
        cursor_user(
            "login with the corporate IdP works but security flagged our callback in review. go through it and fix what's wrong",
            workspace="/home/dev/portal-api",
            os="linux 6.8.0",
        ),
        L.call(
            "read_file",
            None,
            target_file="app/auth/oauth.py",
            should_read_entire_file=False,
            start_line_one_indexed=30,
            end_line_one_indexed_inclusive=60,
        ),
        L.result(cursor_read("app/auth/oauth.py", OAUTH_PY, start=30, total=88)),
    )


def _cursor_okhttp_refresh() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "when two requests get 401 at the same time we refresh twice, and the second refresh invalidates the first refresh token (rotation), so the user gets logged out. fix TokenAuthenticator",
            workspace="/Users/lin/AndroidStudioProjects/shop",
            attached=[
                (
                    "app/src/main/java/com/acme/shop/net/TokenAuthenticator.kt",
                    'class TokenAuthenticator(\n    private val store: TokenStore,\n    private val api: AuthApi,\n) : Authenticator {\n    override fun authenticate(route: Route?, response: Response): Request? {\n        val refresh = store.refreshToken ?: return null\n        val result = api.refresh(refresh).execute()\n        if (!result.isSuccessful) { store.clear(); return null }\n        val tokens = result.body()!!\n        store.save(tokens.accessToken, tokens.refreshToken)\n        return response.request.newBuilder()\n            .header("Authorization", "Bearer ${tokens.accessToken}")\n            .build()\n    }\n}',
                )
            ],
        )
    )


def _cursor_bigint_migration() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "orders.id is int4 and we'll hit 2^31 in ~5 months. table is 1.8TB, ~3k writes/s, 14 tables have FKs to it, and we stream it to the warehouse with logical replication (debezium). plan + write the migration so we never take downtime and nothing downstream breaks",
            workspace="/home/dev/shop-db",
            os="linux 6.8.0",
            attached=[
                (
                    "db/schema/orders.sql",
                    "CREATE TABLE orders (\n  id serial PRIMARY KEY,\n  customer_id int NOT NULL REFERENCES customers(id),\n  status text NOT NULL,\n  total_cents bigint NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n-- referenced by: order_lines, payments, refunds, shipments, invoices, ... (14 tables)",
                )
            ],
        )
    )


# === Cline =======================================================================================

FLASK_FILES = [
    "app/",
    "app/__init__.py",
    "app/db.py",
    "app/routes.py",
    "app/models.py",
    "migrations/",
    "tests/",
    "tests/test_routes.py",
    "requirements.txt",
    "README.md",
    "wsgi.py",
]


def cline(*messages: dict[str, Any], cwd: str = "/home/dev/project") -> dict[str, Any]:
    return req(s(cline_system(cwd)), *messages)


def _cline_first_healthz() -> dict[str, Any]:
    env = env_details(["app/routes.py"], ["app/routes.py", "app/db.py"], files=FLASK_FILES)
    return cline(
        cline_task(
            'add a /healthz endpoint that checks the db connection (SELECT 1) and returns 503 with {"db": "down"} if it fails, 200 {"db": "ok"} otherwise',
            env,
        )
    )


REACT_FILES = [
    "src/",
    "src/App.tsx",
    "src/main.tsx",
    "src/pages/",
    "src/pages/Settings.tsx",
    "src/pages/Home.tsx",
    "src/components/",
    "src/components/ui/",
    "src/components/ui/button.tsx",
    "src/components/ui/switch.tsx",
    "src/hooks/",
    "src/styles/globals.css",
    "tailwind.config.ts",
    "tsconfig.json",
    "vite.config.ts",
    "package.json",
]


def _cline_list_files() -> dict[str, Any]:
    env = env_details(["src/pages/Settings.tsx"], cwd="/home/dev/dash", files=REACT_FILES)
    env2 = env_details(["src/pages/Settings.tsx"], cwd="/home/dev/dash", tokens="15,880 / 200K tokens used (8%)")
    return cline(
        cline_task(
            "add a dark mode toggle to the settings page. persist the choice in localStorage and respect prefers-color-scheme when nothing is saved",
            env,
        ),
        a(
            "<thinking>\nI should see how styling works first: tailwind is configured, so dark mode is probably class-based. Let me check the config and the settings page.\n</thinking>\n\n<read_file>\n<path>tailwind.config.ts</path>\n</read_file>"
        ),
        cline_result(
            "read_file for 'tailwind.config.ts'",
            cline_file(
                "tailwind.config.ts",
                'import type { Config } from "tailwindcss";\n\nexport default {\n  content: ["./index.html", "./src/**/*.{ts,tsx}"],\n  theme: { extend: {} },\n  plugins: [],\n} satisfies Config;',
            ),
            env2,
        ),
        cwd="/home/dev/dash",
    )


def _cline_read_rust() -> dict[str, Any]:
    env = env_details(
        ["src/main.rs"],
        cwd="/home/sam/code/lsdeps",
        files=["src/", "src/main.rs", "src/manifest.rs", "src/report.rs", "Cargo.toml", "Cargo.lock", "tests/cli.rs"],
    )
    main_rs = """use clap::Parser;

mod manifest;
mod report;

#[derive(Parser)]
struct Args {
    /// Path to Cargo.toml
    #[arg(default_value = "Cargo.toml")]
    manifest: PathBuf,
    /// Include dev-dependencies
    #[arg(long)]
    dev: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deps = manifest::load(&args.manifest, args.dev)?;
    for d in &deps {
        println!("{:<30} {:<12} {}", d.name, d.version, d.source);
    }
    Ok(())
}"""
    return cline(
        cline_task("add a --json flag to lsdeps that prints the deps as a JSON array instead of the table", env),
        a("<read_file>\n<path>src/main.rs</path>\n</read_file>"),
        cline_result(
            "read_file for 'src/main.rs'",
            cline_file("src/main.rs", main_rs),
            env_details(["src/main.rs"], cwd="/home/sam/code/lsdeps"),
        ),
        cwd="/home/sam/code/lsdeps",
    )


INVOICE_PHP = """<?php

namespace App\\Services;

class InvoiceNumberer
{
    public function next(int $year): string
    {
    \t$last = Invoice::whereYear('issued_at', $year)->max('seq') ?? 0;
    \treturn sprintf('INV-%d-%05d', $year, $last + 1);
    }
}"""


def _cline_replace_fail_twice() -> dict[str, Any]:
    env = env_details(["app/Services/InvoiceNumberer.php"], cwd="/var/www/billing")
    search_err = (
        """The SEARCH block:
        $last = Invoice::whereYear('issued_at', $year)->max('seq') ?? 0;
        return sprintf('INV-%d-%05d', $year, $last + 1);
...does not match anything in the file.

This is likely because the SEARCH block content doesn't match exactly with what's in the file, or if you used multiple SEARCH/REPLACE blocks they may not have been in the order they appear in the file.

The file was reverted to its original state:

"""
        + cline_file("app/Services/InvoiceNumberer.php", INVOICE_PHP)
        + """

Now that you have the latest state of the file, try the operation again with fewer, more precise SEARCH blocks."""
    )
    return cline(
        cline_task("invoice numbers should be INV-2025-000123 (6 digits) from now on", env),
        a("<read_file>\n<path>app/Services/InvoiceNumberer.php</path>\n</read_file>"),
        cline_result(
            "read_file for 'app/Services/InvoiceNumberer.php'",
            cline_file("app/Services/InvoiceNumberer.php", INVOICE_PHP),
            env,
        ),
        a(
            "<replace_in_file>\n<path>app/Services/InvoiceNumberer.php</path>\n<diff>\n------- SEARCH\n        $last = Invoice::whereYear('issued_at', $year)->max('seq') ?? 0;\n        return sprintf('INV-%d-%05d', $year, $last + 1);\n=======\n        $last = Invoice::whereYear('issued_at', $year)->max('seq') ?? 0;\n        return sprintf('INV-%d-%06d', $year, $last + 1);\n+++++++ REPLACE\n</diff>\n</replace_in_file>"
        ),
        cline_result("replace_in_file for 'app/Services/InvoiceNumberer.php'", cline_error(search_err), env),
        a(
            "<replace_in_file>\n<path>app/Services/InvoiceNumberer.php</path>\n<diff>\n------- SEARCH\n        return sprintf('INV-%d-%05d', $year, $last + 1);\n=======\n        return sprintf('INV-%d-%06d', $year, $last + 1);\n+++++++ REPLACE\n</diff>\n</replace_in_file>"
        ),
        cline_result(
            "replace_in_file for 'app/Services/InvoiceNumberer.php'",
            cline_error(
                search_err.replace("        $last = Invoice::whereYear('issued_at', $year)->max('seq') ?? 0;\n", "", 1)
            ),
            env,
        ),
        cwd="/var/www/billing",
    )


VITE_ERR = """> dash@0.3.0 build
> tsc -b && vite build

vite v5.4.2 building for production...
transforming (41) src/pages/Settings.tsx
✓ 43 modules transformed.
x Build failed in 612ms
error during build:
[vite]: Rollup failed to resolve import "@/components/ui/button" from "/home/dev/dash/src/pages/Settings.tsx".
This is most likely unintended because it can break your application at runtime.
If you do want to externalize this module explicitly add it to
`build.rollupOptions.external`"""


def _cline_same_build_error() -> dict[str, Any]:
    env = env_details(
        ["tsconfig.json"], ["tsconfig.json", "src/pages/Settings.tsx", "vite.config.ts"], cwd="/home/dev/dash"
    )
    return cline(
        cline_task("npm run build fails after I added the shadcn button, fix it", env),
        a(
            "<execute_command>\n<command>npm run build</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result("execute_command for 'npm run build'", cline_cmd(VITE_ERR), env),
        a(
            '<thinking>The alias is not configured in TypeScript.</thinking>\n\n<replace_in_file>\n<path>tsconfig.json</path>\n<diff>\n------- SEARCH\n    "strict": true,\n=======\n    "strict": true,\n    "baseUrl": ".",\n    "paths": { "@/*": ["./src/*"] },\n+++++++ REPLACE\n</diff>\n</replace_in_file>'
        ),
        cline_result(
            "replace_in_file for 'tsconfig.json'", "The content was successfully saved to tsconfig.json.", env
        ),
        a(
            "<execute_command>\n<command>npm run build</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result("execute_command for 'npm run build'", cline_cmd(VITE_ERR), env),
        a(
            '<thinking>tsc -b uses tsconfig.app.json in this template; the paths must go there.</thinking>\n\n<replace_in_file>\n<path>tsconfig.app.json</path>\n<diff>\n------- SEARCH\n    "strict": true,\n=======\n    "strict": true,\n    "baseUrl": ".",\n    "paths": { "@/*": ["./src/*"] },\n+++++++ REPLACE\n</diff>\n</replace_in_file>'
        ),
        cline_result(
            "replace_in_file for 'tsconfig.app.json'", "The content was successfully saved to tsconfig.app.json.", env
        ),
        a(
            "<execute_command>\n<command>npm run build</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result("execute_command for 'npm run build'", cline_cmd(VITE_ERR), env),
        cwd="/home/dev/dash",
    )


IMPORT_PY = """def import_contacts(path: Path) -> ImportResult:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED - set(reader.fieldnames)
        if missing:
            raise ImportError_(f"missing columns: {', '.join(sorted(missing))}")
        rows = [normalize(r) for r in reader]
    created = Contact.bulk_upsert(rows)
    return ImportResult(total=len(rows), created=created)"""


def _cline_feedback_empty_csv() -> dict[str, Any]:
    env = env_details(["crm/importer.py"], cwd="/home/dev/crm")
    return cline(
        cline_task(
            "the contacts import should fail with a clear message when required columns are missing (email, first_name, last_name)",
            env,
        ),
        a("<read_file>\n<path>crm/importer.py</path>\n</read_file>"),
        cline_result(
            "read_file for 'crm/importer.py'",
            cline_file(
                "crm/importer.py",
                IMPORT_PY.replace(
                    "        missing = REQUIRED - set(reader.fieldnames)\n        if missing:\n            raise ImportError_(f\"missing columns: {', '.join(sorted(missing))}\")\n",
                    "",
                ),
            ),
            env,
        ),
        a("<write_to_file>\n<path>crm/importer.py</path>\n<content>\n" + IMPORT_PY + "\n</content>\n</write_to_file>"),
        cline_result("write_to_file for 'crm/importer.py'", cline_saved("crm/importer.py", IMPORT_PY), env),
        a(
            "<execute_command>\n<command>pytest tests/test_importer.py -q</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'pytest tests/test_importer.py -q'",
            cline_cmd(
                "......                                                                   [100%]\n6 passed in 0.21s"
            ),
            env,
        ),
        a(
            "<attempt_completion>\n<result>\nimport_contacts now raises ImportError_ listing the missing required columns before reading any rows. Tests pass.\n</result>\n</attempt_completion>"
        ),
        cline_result(
            "attempt_completion",
            cline_feedback(
                "also handle a completely empty file — right now it crashes with TypeError: 'NoneType' object is not iterable because fieldnames is None"
            ),
            env,
        ),
        cwd="/home/dev/crm",
    )


def _cline_feedback_revert_color() -> dict[str, Any]:
    env = env_details(["src/styles/card.css"], cwd="/home/dev/site")
    css_before = ".card {\n  padding: 12px;\n  border-radius: 6px;\n  background: #fff;\n  color: #333;\n}\n.card + .card {\n  margin-top: 4px;\n}"
    css_after = ".card {\n  padding: 16px 20px;\n  border-radius: 8px;\n  background: #f8fafc;\n  color: #0f172a;\n}\n.card + .card {\n  margin-top: 12px;\n}"
    return cline(
        cline_task("the cards on the pricing page look cramped, fix the spacing", env),
        a("<read_file>\n<path>src/styles/card.css</path>\n</read_file>"),
        cline_result("read_file for 'src/styles/card.css'", cline_file("src/styles/card.css", css_before), env),
        a(
            "<write_to_file>\n<path>src/styles/card.css</path>\n<content>\n"
            + css_after
            + "\n</content>\n</write_to_file>"
        ),
        cline_result("write_to_file for 'src/styles/card.css'", cline_saved("src/styles/card.css", css_after), env),
        a(
            "<attempt_completion>\n<result>\nIncreased card padding to 16px 20px and the gap between cards to 12px, softened the background and darkened the text for contrast.\n</result>\n</attempt_completion>"
        ),
        cline_result(
            "attempt_completion",
            cline_feedback("no, revert the color changes, brand team owns those. only the spacing"),
            env,
        ),
        cwd="/home/dev/site",
    )


def _cline_report_go() -> dict[str, Any]:
    env = env_details(["internal/slug/slug.go"], cwd="/home/dev/blog")
    slug = "func Make(title string) string {\n\tvar b strings.Builder\n\tprevDash := true\n\tfor _, r := range strings.ToLower(norm.NFKD.String(title)) {\n\t\tswitch {\n\t\tcase unicode.Is(unicode.Mn, r):\n\t\t\tcontinue\n\t\tcase r >= 'a' && r <= 'z', r >= '0' && r <= '9':\n\t\t\tb.WriteRune(r)\n\t\t\tprevDash = false\n\t\tcase !prevDash:\n\t\t\tb.WriteByte('-')\n\t\t\tprevDash = true\n\t\t}\n\t}\n\treturn strings.TrimSuffix(b.String(), \"-\")\n}"
    return cline(
        cline_task("slugs should strip accents (Crème Brûlée -> creme-brulee) and collapse repeated dashes", env),
        a("<read_file>\n<path>internal/slug/slug.go</path>\n</read_file>"),
        cline_result(
            "read_file for 'internal/slug/slug.go'",
            cline_file(
                "internal/slug/slug.go",
                'func Make(title string) string {\n\ts := strings.ToLower(title)\n\ts = nonAlnum.ReplaceAllString(s, "-")\n\treturn strings.Trim(s, "-")\n}',
            ),
            env,
        ),
        a(
            '<replace_in_file>\n<path>internal/slug/slug.go</path>\n<diff>\n------- SEARCH\nfunc Make(title string) string {\n\ts := strings.ToLower(title)\n\ts = nonAlnum.ReplaceAllString(s, "-")\n\treturn strings.Trim(s, "-")\n}\n=======\n'
            + slug
            + "\n+++++++ REPLACE\n</diff>\n</replace_in_file>"
        ),
        cline_result("replace_in_file for 'internal/slug/slug.go'", cline_saved("internal/slug/slug.go", slug), env),
        a(
            "<execute_command>\n<command>go test ./internal/slug/ -v -run TestMake</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'go test ./internal/slug/ -v -run TestMake'",
            cline_cmd(
                "=== RUN   TestMake\n=== RUN   TestMake/plain\n=== RUN   TestMake/accents\n=== RUN   TestMake/repeated_separators\n=== RUN   TestMake/leading_trailing\n--- PASS: TestMake (0.00s)\n    --- PASS: TestMake/plain (0.00s)\n    --- PASS: TestMake/accents (0.00s)\n    --- PASS: TestMake/repeated_separators (0.00s)\n    --- PASS: TestMake/leading_trailing (0.00s)\nPASS\nok  \tgithub.com/acme/blog/internal/slug\t0.004s"
            ),
            env,
        ),
        cwd="/home/dev/blog",
    )


def _cline_plan_mode_modules() -> dict[str, Any]:
    env = env_details(
        ["build.gradle.kts"],
        cwd="/home/pia/work/erp",
        mode="PLAN MODE",
        files=[
            "settings.gradle.kts",
            "build.gradle.kts",
            "app/",
            "app/src/main/kotlin/com/acme/erp/billing/",
            "app/src/main/kotlin/com/acme/erp/inventory/",
            "app/src/main/kotlin/com/acme/erp/sales/",
            "app/src/main/kotlin/com/acme/erp/shared/",
        ],
    )
    return cline(
        cline_task(
            "we want to pull the billing package out of the app module into its own gradle module (:billing) so the team can build/test it separately. right now sales calls billing classes directly and billing reads sales' Order entity. how would you approach it? just plan",
            env,
        ),
        cwd="/home/pia/work/erp",
    )


def _cline_terraform_validate() -> dict[str, Any]:
    env = env_details(["modules/queue/main.tf"], cwd="/home/ines/infra")
    return cline(
        cline_task("add a dead-letter queue to modules/queue, maxReceiveCount configurable (default 5)", env),
        a(
            "<execute_command>\n<command>cd modules/queue && terraform validate -no-color</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'cd modules/queue && terraform validate -no-color'",
            cline_cmd("""Error: Incorrect attribute value type

  on main.tf line 14, in resource "aws_sqs_queue" "this":
  14:   redrive_policy = {
  15:     deadLetterTargetArn = aws_sqs_queue.dlq.arn
  16:     maxReceiveCount     = var.max_receive_count
  17:   }

Inappropriate value for attribute "redrive_policy": string required.

Error: Reference to undeclared input variable

  on main.tf line 16, in resource "aws_sqs_queue" "this":
  16:     maxReceiveCount     = var.max_receive_count

An input variable with the name "max_receive_count" has not been declared. This variable can be declared with a variable "max_receive_count" {} block."""),
            env,
        ),
        cwd="/home/ines/infra",
    )


def _cline_long_read() -> dict[str, Any]:
    env = env_details(["billing/legacy_rates.py"], cwd="/home/dev/erp", tokens="41,002 / 200K tokens used (21%)")
    big = python_module(150, 77)
    return cline(
        cline_task(
            "rename every `records` parameter in billing/legacy_rates.py to `rows` (the linter wants consistent naming). nothing else",
            env,
        ),
        a("<read_file>\n<path>billing/legacy_rates.py</path>\n</read_file>"),
        cline_result("read_file for 'billing/legacy_rates.py'", cline_file("billing/legacy_rates.py", big), env),
        cwd="/home/dev/erp",
    )


def _cline_pkce() -> dict[str, Any]:
    env = env_details(
        ["src/auth/index.ts"],
        cwd="/home/dev/spa",
        files=[
            "src/",
            "src/auth/",
            "src/auth/index.ts",
            "src/api/client.ts",
            "src/main.tsx",
            "package.json",
            "vite.config.ts",
        ],
    )
    return cline(
        cline_task(
            "replace our implicit-flow login with authorization code + PKCE against Keycloak, no backend (pure SPA). tokens need to survive a page reload and refresh silently. we must not be vulnerable to XSS token theft any more than necessary, and CSRF on the callback",
            env,
        ),
        cwd="/home/dev/spa",
    )


KSTREAMS = """public class ClickCounter implements Processor<String, Click, String, Long> {
    private KeyValueStore<String, Long> store;
    private JedisPool redis;

    @Override
    public void process(Record<String, Click> rec) {
        String key = rec.value().campaignId();
        long n = Optional.ofNullable(store.get(key)).orElse(0L) + 1;
        store.put(key, n);
        try (Jedis j = redis.getResource()) {
            j.hincrBy("campaign_clicks", key, 1);   // dashboard reads this
        }
        context.forward(rec.withKey(key).withValue(n));
    }
}
// StreamsConfig: processing.guarantee=exactly_once_v2, commit.interval.ms=1000"""

KS_FAIL = """> Task :streams:integrationTest

ClickCounterIT > countsMatchAfterRebalance() FAILED
    org.opentest4j.AssertionFailedError: redis campaign_clicks[c-17] expected: <50000> but was: <50731>
        at app//com.acme.clicks.ClickCounterIT.countsMatchAfterRebalance(ClickCounterIT.java:92)

1 test completed, 1 failed"""


def _cline_stuck_kstreams() -> dict[str, Any]:
    env = env_details(["src/main/java/com/acme/clicks/ClickCounter.java"], cwd="/home/raj/clicks")
    return cline(
        cline_task(
            "the dashboard's click counts are higher than the topic's record count after deploys. I wrote ClickCounterIT which kills an instance mid-stream; make it pass",
            env,
        ),
        a("<read_file>\n<path>src/main/java/com/acme/clicks/ClickCounter.java</path>\n</read_file>"),
        cline_result(
            "read_file for 'src/main/java/com/acme/clicks/ClickCounter.java'",
            cline_file("src/main/java/com/acme/clicks/ClickCounter.java", KSTREAMS),
            env,
        ),
        a(
            "<execute_command>\n<command>./gradlew :streams:integrationTest --tests ClickCounterIT</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for './gradlew :streams:integrationTest --tests ClickCounterIT'", cline_cmd(KS_FAIL), env
        ),
        a(
            "<thinking>exactly_once_v2 should cover this. Maybe the commit interval is too long and the kill lands between commits; lowering it.</thinking>\n\n<replace_in_file>\n<path>src/main/resources/streams.properties</path>\n<diff>\n------- SEARCH\ncommit.interval.ms=1000\n=======\ncommit.interval.ms=100\n+++++++ REPLACE\n</diff>\n</replace_in_file>"
        ),
        cline_result(
            "replace_in_file for 'src/main/resources/streams.properties'",
            "The content was successfully saved to src/main/resources/streams.properties.",
            env,
        ),
        a(
            "<execute_command>\n<command>./gradlew :streams:integrationTest --tests ClickCounterIT</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for './gradlew :streams:integrationTest --tests ClickCounterIT'",
            cline_cmd(KS_FAIL.replace("50731", "50212")),
            env,
        ),
        a(
            "<execute_command>\n<command>./gradlew clean :streams:integrationTest --tests ClickCounterIT</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for './gradlew clean :streams:integrationTest --tests ClickCounterIT'",
            cline_cmd(KS_FAIL.replace("50731", "50388")),
            env,
        ),
        cwd="/home/raj/clicks",
    )


def _cline_explore_dual_write() -> dict[str, Any]:
    env = env_details(["accounts/services.py"], cwd="/home/dev/platform")
    hits = """Found 6 results.

accounts/services.py
│----
│def change_email(user_id: int, new_email: str) -> None:
│    with transaction.atomic(using="default"):
│        User.objects.filter(id=user_id).update(email=new_email)
│    identity_client.update_user(user_id, email=new_email)   # new identity service (own Postgres)
│----
│def deactivate(user_id: int) -> None:
│    identity_client.update_user(user_id, active=False)
│    with transaction.atomic(using="default"):
│        User.objects.filter(id=user_id).update(is_active=False)
│----

accounts/signup.py
│----
│    user = User.objects.create(email=email, password=make_password(pw))
│    transaction.on_commit(lambda: identity_client.create_user(user.id, email=email))
│----

jobs/backfill_identity.py
│----
│for user in User.objects.iterator(chunk_size=1000):
│    identity_client.upsert_user(user.id, email=user.email, active=user.is_active)
│----"""
    return cline(
        cline_task(
            "we're moving users to the new identity service. phase 1 (dual write) is half done by someone who left. check what's there and finish it so we can flip reads to identity next month with zero drift",
            env,
        ),
        a(
            "<search_files>\n<path>.</path>\n<regex>identity_client\\.</regex>\n<file_pattern>*.py</file_pattern>\n</search_files>"
        ),
        cline_result("search_files for 'identity_client\\.' in '*.py'", hits, env),
        cwd="/home/dev/platform",
    )


SAGA_GO = """func (s *TransferSaga) Run(ctx context.Context, t Transfer) error {
	if err := s.ledgerA.Debit(ctx, t.From, t.Amount, t.ID); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.ledgerB.Credit(cctx, t.To, t.Amount, t.ID); err != nil {
		// compensate
		return errors.Join(err, s.ledgerA.Credit(ctx, t.From, t.Amount, t.ID+"-comp"))
	}
	return nil
}"""


def _cline_testfail_saga() -> dict[str, Any]:
    env = env_details(["internal/saga/transfer.go"], cwd="/home/dev/banking")
    return cline(
        cline_task(
            "TestTransferConservesMoney fails when the fault injector delays ledger-b. money shouldn't appear out of nowhere. fix the saga",
            env,
        ),
        a(
            "<execute_command>\n<command>go test ./internal/saga -run TestTransferConservesMoney -count 5</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'go test ./internal/saga -run TestTransferConservesMoney -count 5'",
            cline_cmd(
                "--- FAIL: TestTransferConservesMoney (6.02s)\n    transfer_test.go:64: total money changed: before=1000000 after=1003150 (transfers timed out: 7, of which credited on ledger-b anyway: 7)\nFAIL\nFAIL\tgithub.com/acme/banking/internal/saga\t30.114s"
            ),
            env,
        ),
        a("<read_file>\n<path>internal/saga/transfer.go</path>\n</read_file>"),
        cline_result(
            "read_file for 'internal/saga/transfer.go'", cline_file("internal/saga/transfer.go", SAGA_GO), env
        ),
        cwd="/home/dev/banking",
    )


RING_C = """static int ring_push(struct ring *r, const struct msg *m)
{
	u32 head = r->head;
	u32 tail = READ_ONCE(r->tail);

	if (head - tail >= r->size)
		return -ENOSPC;
	r->slots[head & r->mask] = *m;
	smp_wmb();
	WRITE_ONCE(r->head, head + 1);
	return 0;
}

static int ring_pop(struct ring *r, struct msg *out)
{
	u32 tail = r->tail;
	u32 head = smp_load_acquire(&r->head);

	if (tail == head)
		return -EAGAIN;
	*out = r->slots[tail & r->mask];
	WRITE_ONCE(r->tail, tail + 1);
	return 0;
}"""


def _cline_followup_why_fence() -> dict[str, Any]:
    env = env_details(["drivers/acme/ring.c"], cwd="/home/fw/linux-acme")
    return cline(
        cline_task("ring_push is on the hot path, tidy it up and drop anything redundant", env),
        a("<read_file>\n<path>drivers/acme/ring.c</path>\n</read_file>"),
        cline_result(
            "read_file for 'drivers/acme/ring.c'",
            cline_file(
                "drivers/acme/ring.c",
                RING_C.replace(
                    "\t*out = r->slots[tail & r->mask];\n",
                    "\t*out = r->slots[tail & r->mask];\n\tsmp_mb();\t/* slot fully read before the producer may reuse it */\n",
                ).replace("\tu32 tail = READ_ONCE(r->tail);", "\tu32 tail = smp_load_acquire(&r->tail);"),
            ),
            env,
        ),
        a(
            "<replace_in_file>\n<path>drivers/acme/ring.c</path>\n<diff>\n------- SEARCH\n\tu32 tail = smp_load_acquire(&r->tail);\n=======\n\tu32 tail = READ_ONCE(r->tail);\n+++++++ REPLACE\n------- SEARCH\n\t*out = r->slots[tail & r->mask];\n\tsmp_mb();\t/* slot fully read before the producer may reuse it */\n=======\n\t*out = r->slots[tail & r->mask];\n+++++++ REPLACE\n</diff>\n</replace_in_file>"
        ),
        cline_result("replace_in_file for 'drivers/acme/ring.c'", cline_saved("drivers/acme/ring.c", RING_C), env),
        a(
            "<attempt_completion>\n<result>\nSimplified the ring: ring_push reads tail with READ_ONCE instead of an acquire load, and I removed the full barrier in ring_pop since smp_load_acquire on head already orders the slot access.\n</result>\n</attempt_completion>"
        ),
        cline_result(
            "attempt_completion",
            cline_feedback(
                "why is it safe to downgrade the tail load in push to READ_ONCE? the consumer's slot read and the producer's overwrite of that slot — what orders them now?"
            ),
            env,
        ),
        cwd="/home/fw/linux-acme",
    )


CORS_TS = """app.use(cors({ origin: (origin, cb) => cb(null, origin ?? true), credentials: true }));

app.use(session({
  secret: process.env.SESSION_SECRET!,
  cookie: { sameSite: "none", secure: true, httpOnly: true, maxAge: 30 * 24 * 3600 * 1000 },
  resave: false,
  saveUninitialized: true,
}));

app.use((req, res, next) => {
  if (["GET", "HEAD", "OPTIONS"].includes(req.method)) return next();
  const sent = req.get("x-csrf-token") ?? req.body?._csrf;
  if (sent && sent == req.session.csrf) return next();
  if (req.is("application/json")) return next(); // fetch() from our SPA always sends JSON
  return res.status(403).send("bad csrf token");
});"""


def _cline_csrf_review() -> dict[str, Any]:
    env = env_details(["src/server.ts"], cwd="/home/dev/app-api")
    return cline(
        cline_task(
            "we're embedding the app in partners' sites via iframe so I changed the cookie/cors/csrf setup. review src/server.ts middleware for security problems and fix them",
            env,
        ),
        a("<read_file>\n<path>src/server.ts</path>\n</read_file>"),
        cline_result("read_file for 'src/server.ts'", cline_file("src/server.ts", CORS_TS), env),
        cwd="/home/dev/app-api",
    )


# === Continue, agent mode ========================================================================


def _cont_first_patch_user() -> dict[str, Any]:
    return cont(
        u(
            '```go internal/http/users.go\nfunc (h *Handler) GetUser(w http.ResponseWriter, r *http.Request) {\n\tid := chi.URLParam(r, "id")\n\tu, err := h.store.User(r.Context(), id)\n\tif errors.Is(err, store.ErrNotFound) {\n\t\thttp.Error(w, "not found", http.StatusNotFound)\n\t\treturn\n\t}\n\tif err != nil {\n\t\th.fail(w, err)\n\t\treturn\n\t}\n\twriteJSON(w, http.StatusOK, u)\n}\n```\n\nadd PATCH /users/{id} next to this that updates only display_name (1-64 chars) and avatar_url (https only). other fields in the body are ignored. users can only patch themselves'
        )
    )


def _cont_explore_datepicker() -> dict[str, Any]:
    L = Loop("dp")
    return cont(
        u("the booking date picker shows the day before for users in US timezones. find out why"),
        L.call("builtin_grep_search", None, query="toISOString|new Date\\(.*-.*\\)"),
        L.result(
            'src/components/DatePicker.tsx\n  22:     onChange(day.toISOString().slice(0, 10));\nsrc/components/BookingForm.tsx\n  41:   const [date, setDate] = useState(new Date(initial));\n  57:   <DatePicker value={new Date(booking.date)} onChange={(d) => setValue("date", d)} />'
        ),
        L.call("builtin_read_file", None, filepath="src/components/DatePicker.tsx"),
        L.result(
            '```tsx src/components/DatePicker.tsx\nexport function DatePicker({ value, onChange }: Props) {\n  const days = useMonthDays(value);\n  return (\n    <div className="grid grid-cols-7">\n      {days.map((day) => (\n        <button\n          key={day.getTime()}\n          aria-pressed={isSameDay(day, value)}\n          onClick={() => onChange(day.toISOString().slice(0, 10))}\n        >\n          {day.getDate()}\n        </button>\n      ))}\n    </div>\n  );\n}\n```'
        ),
    )


def _cont_testfail_rails() -> dict[str, Any]:
    L = Loop("rs")
    return cont(
        u("I added a `notes` field to orders, the request spec for updating it fails with 422. fix"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="bin/rspec spec/requests/orders_spec.rb:48",
            waitForCompletion=True,
        ),
        L.result(
            'F\n\nFailures:\n\n  1) PATCH /orders/:id updates notes\n     Failure/Error: expect(response).to have_http_status(:ok)\n       expected the response to have status code :ok (200) but it was :unprocessable_entity (422)\n     # ./spec/requests/orders_spec.rb:53:in `block (2 levels) in <top (required)>\'\n\n1 example, 1 failure\n\nlog/test.log:\nUnpermitted parameter: :notes. Context: { controller: OrdersController, action: update, request: #<ActionDispatch::Request PATCH "http://www.example.com/orders/12">, params: {"order"=>{"notes"=>"leave at door"}, "id"=>"12"} }\nOrder update failed: Validation failed: Nothing to update'
        ),
        L.call("builtin_read_file", None, filepath="app/controllers/orders_controller.rb"),
        L.result(
            "class OrdersController < ApplicationController\n  def update\n    order = current_user.orders.find(params[:id])\n    order.update!(order_params)\n    render json: order\n  rescue ActiveRecord::RecordInvalid => e\n    render json: { error: e.message }, status: :unprocessable_entity\n  end\n\n  private\n\n  def order_params\n    params.require(:order).permit(:shipping_address_id, :gift_message)\n  end\nend"
        ),
    )


def _cont_stuck_module_not_found() -> dict[str, Any]:
    L = Loop("mnf")
    err = "ImportError while loading conftest '/home/dev/svc/tests/conftest.py'.\ntests/conftest.py:3: in <module>\n    from app.main import create_app\nE   ModuleNotFoundError: No module named 'app'"
    return cont(
        u("set up pytest for this repo and add a smoke test for GET /health"),
        L.call(
            "builtin_create_new_file",
            None,
            filepath="tests/conftest.py",
            contents="import pytest\nfrom fastapi.testclient import TestClient\nfrom app.main import create_app\n\n\n@pytest.fixture\ndef client():\n    return TestClient(create_app())\n",
        ),
        L.result("Created tests/conftest.py"),
        L.call("builtin_run_terminal_command", None, command="pytest -q", waitForCompletion=True),
        L.result(err),
        L.call(
            "builtin_create_new_file",
            "Adding an __init__.py so tests is a package.",
            filepath="tests/__init__.py",
            contents="",
        ),
        L.result("Created tests/__init__.py"),
        L.call("builtin_run_terminal_command", None, command="pytest -q", waitForCompletion=True),
        L.result(err),
        L.call("builtin_run_terminal_command", None, command="pip install -e . && pytest -q", waitForCompletion=True),
        L.result(
            "Obtaining file:///home/dev/svc\nERROR: file:///home/dev/svc does not appear to be a Python project: neither 'setup.py' nor 'pyproject.toml' found.\n"
            + err
        ),
        L.call("builtin_ls", None, dirPath=".", recursive=False),
        L.result("src/\ntests/\nrequirements.txt\nrequirements-dev.txt\nDockerfile\nREADME.md"),
    )


def _cont_report_diff() -> dict[str, Any]:
    L = Loop("rd")
    return cont(
        u("make the csv export include a header row and quote fields properly (some names have commas)"),
        L.call(
            "builtin_edit_existing_file",
            None,
            filepath="export/csv_export.py",
            changes="import csv\n\n# ... existing code ...\n\ndef export(rows, fh):\n    w = csv.writer(fh)\n    w.writerow(FIELDS)\n    for r in rows:\n        w.writerow([r[f] for f in FIELDS])",
        ),
        L.result("Edit applied to export/csv_export.py"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="python -m pytest tests/test_csv_export.py -q",
            waitForCompletion=True,
        ),
        L.result("....                                                                     [100%]\n4 passed in 0.05s"),
        L.call("builtin_view_diff", None),
        L.result(
            'diff --git a/export/csv_export.py b/export/csv_export.py\n--- a/export/csv_export.py\n+++ b/export/csv_export.py\n@@ -1,8 +1,10 @@\n+import csv\n+\n FIELDS = ["id", "name", "email", "plan"]\n \n def export(rows, fh):\n+    w = csv.writer(fh)\n+    w.writerow(FIELDS)\n     for r in rows:\n-        fh.write(",".join(str(r[f]) for f in FIELDS) + "\\n")\n+        w.writerow([r[f] for f in FIELDS])'
        ),
    )


FFI_RS = """extern "C" fn on_event(user: *mut c_void, ev: *const RawEvent) {
    let cb: Box<Box<dyn FnMut(Event) + Send>> = unsafe { Box::from_raw(user as *mut _) };
    let mut cb = cb;
    cb(unsafe { Event::from_raw(&*ev) });
    std::mem::forget(cb);
}

impl Watcher {
    pub fn subscribe<F: FnMut(Event) + Send + 'static>(&mut self, f: F) -> SubscriptionId {
        let user = Box::into_raw(Box::new(Box::new(f) as Box<dyn FnMut(Event) + Send>)) as *mut c_void;
        let id = unsafe { fsw_subscribe(self.raw, on_event, user) }; // libfsw calls back from its own thread pool
        self.subs.insert(id, user);
        SubscriptionId(id)
    }

    pub fn unsubscribe(&mut self, id: SubscriptionId) {
        if let Some(user) = self.subs.remove(&id.0) {
            unsafe { fsw_unsubscribe(self.raw, id.0) }; // returns immediately; in-flight callbacks may still run
            drop(unsafe { Box::from_raw(user as *mut Box<dyn FnMut(Event) + Send>) });
        }
    }
}"""


def _cont_ffi_callback() -> dict[str, Any]:
    L = Loop("ffi")
    return cont(
        u(
            "we get rare segfaults in the file watcher crate after unsubscribe, and once a 'double free detected in tcache'. the C lib is libfsw. review crates/fsw-sys-safe/src/watcher.rs for soundness"
        ),
        L.call("builtin_read_file", None, filepath="crates/fsw-sys-safe/src/watcher.rs"),
        L.result(FFI_RS),
    )


def _cont_logout_everywhere() -> dict[str, Any]:
    return cont(
        u(
            "```php app/Auth/SessionGuard.php\npublic function check(Request $r): ?User\n{\n    $sid = $r->cookie('sid');\n    if ($sid && ($uid = $this->redis->get(\"sess:$sid\"))) {\n        return $this->users->find((int) $uid);\n    }\n    if ($token = $r->cookie('remember')) {\n        [$selector, $validator] = explode(':', $token, 2);\n        $row = $this->db->fetchOne('SELECT user_id, validator_hash, expires_at FROM remember_tokens WHERE selector = ?', [$selector]);\n        if ($row && hash_equals($row['validator_hash'], hash('sha256', $validator)) && $row['expires_at'] > time()) {\n            return $this->login($this->users->find($row['user_id']));\n        }\n    }\n    return null;\n}\n```\n\nadd a \"log out of all devices\" button in account settings. sessions are in redis (sess:<sid> -> uid), remember-me tokens in mysql, and mobile uses personal API tokens (api_tokens table, bearer). after the user clicks it, nothing issued before that moment may keep working, including requests already in flight on other devices as far as possible. also do it automatically on password change"
        )
    )


LOCK_GO = """func (l *Lock) Acquire(ctx context.Context) error {
	for {
		ok, err := l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *Lock) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err() // delete only if value == token
}

// in the job:
//   lock.Acquire(ctx); defer lock.Release(ctx)
//   rows := loadPending(ctx)
//   for _, r := range rows { store.MarkInvoiced(ctx, r.ID); billing.Charge(ctx, r) }"""


def _cont_testfail_lock_pause() -> dict[str, Any]:
    L = Loop("lk")
    return cont(
        u(
            "TestLockSurvivesPause fails — it simulates a 12s GC pause in the holder with a 10s TTL. I thought the token check in Release made this safe?"
        ),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="go test ./internal/lock -run TestLockSurvivesPause -v",
            waitForCompletion=True,
        ),
        L.result(
            "=== RUN   TestLockSurvivesPause\n    lock_test.go:71: holder A paused 12s with ttl 10s; holder B acquired at t=10.05s\n    lock_test.go:88: both holders wrote to the protected resource: A at t=12.01s (stale), B at t=10.07s\n--- FAIL: TestLockSurvivesPause (12.11s)\nFAIL\nFAIL\tgithub.com/acme/billing/internal/lock\t12.118s"
        ),
        L.call("builtin_read_file", None, filepath="internal/lock/lock.go"),
        L.result(LOCK_GO),
    )


def _cont_rcu_routing() -> dict[str, Any]:
    return cont(
        u(
            "```cpp src/router/table.h\nclass RouteTable {\n public:\n  const Route* lookup(std::string_view host) const {\n    std::shared_lock lk(mu_);\n    auto it = routes_.find(host);\n    return it == routes_.end() ? nullptr : &it->second;\n  }\n  void replace(std::unordered_map<std::string, Route, Hash, Eq> next) {\n    std::unique_lock lk(mu_);\n    routes_ = std::move(next);\n  }\n private:\n  mutable std::shared_mutex mu_;\n  std::unordered_map<std::string, Route, Hash, Eq> routes_;\n};\n```\n\nlookup() is called ~2M/s across 32 worker threads and the shared_mutex cache line is killing us (perf shows it at the top). replace() happens every few seconds from the config watcher. make lookups lock-free (RCU-style snapshot swap). callers keep the Route* for the duration of a request, ~ms"
        )
    )


LEADER_GO = """le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
	Lock:            lock, // coordination.k8s.io Lease "billing-reconciler"
	LeaseDuration:   15 * time.Second,
	RenewDeadline:   10 * time.Second,
	RetryPeriod:     2 * time.Second,
	ReleaseOnCancel: true,
	Callbacks: leaderelection.LeaderCallbacks{
		OnStartedLeading: func(ctx context.Context) {
			go reconciler.Run(context.Background()) // long-running loop, writes charges to Stripe + Postgres
		},
		OnStoppedLeading: func() {
			log.Info("lost leadership")
		},
	},
})"""


def _cont_explore_leader_election() -> dict[str, Any]:
    L = Loop("le")
    return cont(
        u(
            "during a node pressure event yesterday both reconciler replicas were charging customers at the same time for ~40s. we use client-go leader election so how is that possible? check cmd/reconciler/main.go"
        ),
        L.call("builtin_read_file", None, filepath="cmd/reconciler/main.go"),
        L.result(LEADER_GO),
    )


def _cont_long_nightly_restart() -> dict[str, Any]:
    L = Loop("oomlog")
    needle = [
        "INFO  [orders-api] [worker-2] scheduled job export-ledger started (mode=full, rows=4182231, fetch=all)",
        "WARN  [orders-api] [worker-2] process rss 1.52GiB (limit 2GiB)",
        "WARN  [orders-api] [worker-5] GET /api/v1/orders/51230 200 2870ms",
        "WARN  [orders-api] [worker-2] process rss 1.88GiB (limit 2GiB)",
        "WARN  [orders-api] [worker-1] GET /healthz 200 2412ms",
        "WARN  [orders-api] [worker-2] process rss 1.99GiB (limit 2GiB)",
    ]
    return cont(
        u(
            "orders-api pods restart every day around 14:05 UTC and we lose in-flight requests. nothing in our alerts except the restart count. find out why and fix it"
        ),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="kubectl -n shop logs deploy/orders-api --previous --timestamps=false | tail -n 700",
            waitForCompletion=True,
        ),
        L.result(log_lines(700, 23, needle, at=0.985)),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="kubectl -n shop get pod -l app=orders-api -o jsonpath='{range .items[*]}{.metadata.name} {.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}{\"\\n\"}{end}'",
            waitForCompletion=True,
        ),
        L.result(
            "orders-api-6d9c7f5b8-2lq9x OOMKilled 137\norders-api-6d9c7f5b8-8vfkt OOMKilled 137\norders-api-6d9c7f5b8-pn4zd OOMKilled 137"
        ),
    )


CU = "cursor"
CL = "cline"
CO = "continue"

CASES = [
    # Cursor
    case(
        "ide-cursor-zod-handler",
        "sonnet",
        "Request validation for one handler: routine, with the agent's tools declared.",
        _cursor_zod(),
        "typescript",
        CU,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ide-cursor-mypy-linter-errors",
        "sonnet",
        "Three clear mypy errors from the injected linter block: mechanical, but in a tool-declaring agent.",
        _cursor_mypy_linter(),
        "python",
        CU,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ide-cursor-regex-question",
        "sonnet",
        "A one-line regex explanation, but the request declares tools; the injected current-file block is the whole context.",
        _cursor_regex_question(),
        "javascript",
        "regex",
        CU,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ide-cursor-explain-refresh-flow",
        "sonnet",
        "Explaining a refresh flow from three search hits: easy reading, inside a tool loop.",
        _cursor_codebase_search_refresh(),
        "typescript",
        "react-native",
        CU,
        "tools",
        "stage-explore",
    ),
    case(
        "ide-cursor-edit-new-linter-errors",
        "sonnet",
        "The apply step introduced a missing import and a discarded cancel: clear linter errors to fix.",
        _cursor_edit_new_linter(),
        "go",
        CU,
        "tools",
        "stage-edit",
    ),
    case(
        "ide-cursor-testfail-utc-date",
        "sonnet",
        "A date-only string parsed as UTC compared with local midnight: a classic, with the failing test and code in hand.",
        _cursor_jest_tz(),
        "javascript",
        CU,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ide-cursor-stuck-pyright-loop",
        "sonnet",
        "Three edits fighting the same Optional error: decide what a missing header means (400) and narrow; routine once the loop stops guessing.",
        _cursor_stuck_linter_loop(),
        "python",
        CU,
        "tools",
        "stage-stuck",
        "tool-error",
    ),
    case(
        "ide-cursor-report-maven-green",
        "sonnet",
        "BUILD SUCCESS after a small endpoint; only the summary remains, tools declared.",
        _cursor_report_green(),
        "java",
        "spring",
        CU,
        "tools",
        "stage-report",
    ),
    case(
        "ide-cursor-followup-interface-not-class",
        "sonnet",
        "Redo a signature change on the interface and three implementations: routine, in a tool loop.",
        _cursor_followup_revert_interface(),
        "csharp",
        CU,
        "tools",
        "stage-followup",
    ),
    case(
        "ide-cursor-long-attached-logging",
        "sonnet",
        "A mechanical logging edit, but over 30k characters of attached modules and inside a tool-declaring agent.",
        _cursor_long_retry_logging(),
        "python",
        CU,
        "tools",
        "stage-first-turn",
        "long",
    ),
    case(
        "ide-cursor-ws-auth-review",
        "opus",
        "Security review of a realtime API that trusts client-sent user ids after connect and never re-checks expiry or revocation.",
        _cursor_ws_auth_review(),
        "typescript",
        CU,
        "tools",
        "stage-first-turn",
        "security",
    ),
    case(
        "ide-cursor-webhook-double-fulfil",
        "opus",
        "The 3PL call happens before the dedupe row commits, so retries and concurrent deliveries repeat a side effect: exactly-once across an external system.",
        _cursor_webhook_double_fulfil(),
        "python",
        CU,
        "tools",
        "stage-explore",
        "distributed",
    ),
    case(
        "ide-cursor-stuck-epoch-guard",
        "opus",
        "Stuck on a use-after-free in epoch-based reclamation: the Shared is used after its guard is dropped, which no ordering change fixes.",
        _cursor_stuck_epoch(),
        "rust",
        CU,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "memory-model",
    ),
    case(
        "ide-cursor-followup-for-update",
        "sonnet",
        "Dropping FOR UPDATE reintroduces a lost update; the standard fix is consistent lock order (sort ids) or a conditional UPDATE, well trodden.",
        _cursor_followup_for_update(),
        "go",
        "sql",
        CU,
        "tools",
        "stage-followup",
        "concurrency",
    ),
    case(
        "ide-cursor-event-loop-lag",
        "opus",
        "Periodic event-loop stalls with a sawtooth heap: an open-ended cross-layer performance investigation (GC of a 400k-entry map rebuild, blocking work).",
        _cursor_event_loop_lag(),
        "typescript",
        "node",
        CU,
        "tools",
        "stage-first-turn",
        "performance",
    ),
    case(
        "ide-cursor-oauth-callback-review",
        "opus",
        "OAuth callback security: unchecked state, attacker-controlled redirect_uri, unverified id_token, tokens logged, open redirect.",
        _cursor_oauth_callback(),
        "python",
        CU,
        "tools",
        "stage-explore",
        "security",
    ),
    case(
        "ide-cursor-okhttp-refresh-race",
        "sonnet",
        "Concurrent 401s refreshing twice under token rotation: a well-known race with a standard fix (synchronise and re-check the stored token).",
        _cursor_okhttp_refresh(),
        "kotlin",
        "android",
        CU,
        "tools",
        "stage-first-turn",
        "concurrency",
    ),
    case(
        "ide-cursor-bigint-pk-migration",
        "opus",
        "int4 to bigint on a 1.8TB hot table with 14 FKs and CDC consumers, no downtime: a cross-cutting production data migration.",
        _cursor_bigint_migration(),
        "sql",
        "postgres",
        CU,
        "tools",
        "stage-first-turn",
        "migration",
    ),
    # Cline
    case(
        "ide-cline-first-healthz",
        "sonnet",
        "A small endpoint, but the client speaks Cline's XML tool protocol.",
        _cline_first_healthz(),
        "python",
        "flask",
        CL,
        "stage-first-turn",
        "xml-tools",
    ),
    case(
        "ide-cline-explore-dark-mode",
        "sonnet",
        "A dark-mode toggle with tailwind's class strategy: routine, through the XML tool protocol.",
        _cline_list_files(),
        "typescript",
        "react",
        CL,
        "stage-explore",
        "xml-tools",
    ),
    case(
        "ide-cline-read-json-flag",
        "sonnet",
        "Add a --json flag with serde: routine, in an XML tool loop.",
        _cline_read_rust(),
        "rust",
        CL,
        "stage-explore",
        "xml-tools",
    ),
    case(
        "ide-cline-stuck-search-block-tabs",
        "sonnet",
        "Two SEARCH blocks fail because the file mixes a tab into the indentation; copy the exact text from the reverted content. Routine recovery.",
        _cline_replace_fail_twice(),
        "php",
        CL,
        "stage-stuck",
        "tool-error",
        "xml-tools",
    ),
    case(
        "ide-cline-stuck-vite-alias",
        "sonnet",
        "Same Rollup resolve error three times: the alias must be in vite.config too, not just tsconfig. A known fix.",
        _cline_same_build_error(),
        "typescript",
        "vite",
        CL,
        "stage-stuck",
        "repeated-failure",
        "xml-tools",
    ),
    case(
        "ide-cline-feedback-empty-csv",
        "sonnet",
        "Handle fieldnames None for an empty file after completion feedback: small, via XML tools.",
        _cline_feedback_empty_csv(),
        "python",
        CL,
        "stage-followup",
        "xml-tools",
    ),
    case(
        "ide-cline-feedback-revert-colors",
        "sonnet",
        "Revert the colour changes and keep the spacing: trivial, via XML tools.",
        _cline_feedback_revert_color(),
        "css",
        CL,
        "stage-followup",
        "xml-tools",
    ),
    case(
        "ide-cline-report-slug-green",
        "sonnet",
        "Tests pass; only attempt_completion remains, in the XML protocol.",
        _cline_report_go(),
        "go",
        CL,
        "stage-report",
        "xml-tools",
    ),
    case(
        "ide-cline-plan-module-split",
        "sonnet",
        "Plan a Gradle module extraction with a dependency cycle to break: design for one codebase, well trodden.",
        _cline_plan_mode_modules(),
        "kotlin",
        "gradle",
        CL,
        "stage-first-turn",
        "design",
        "xml-tools",
    ),
    case(
        "ide-cline-terraform-redrive",
        "sonnet",
        "Two clear validate errors (jsonencode the policy, declare the variable).",
        _cline_terraform_validate(),
        "terraform",
        CL,
        "stage-test-fail",
        "xml-tools",
    ),
    case(
        "ide-cline-long-rename-param",
        "sonnet",
        "A mechanical rename over a 30k+ character file, through the XML protocol.",
        _cline_long_read(),
        "python",
        CL,
        "stage-explore",
        "long",
        "xml-tools",
    ),
    case(
        "ide-cline-spa-pkce",
        "opus",
        "Auth flow design for a pure SPA: PKCE, state/nonce, token storage vs XSS, silent refresh with rotation. Mistakes are silent security holes.",
        _cline_pkce(),
        "typescript",
        CL,
        "stage-first-turn",
        "security",
        "xml-tools",
    ),
    case(
        "ide-cline-stuck-kstreams-side-effect",
        "opus",
        "Stuck because exactly_once_v2 doesn't cover the Redis HINCRBY side effect; replays after rebalance double count. Needs a design, not tuning.",
        _cline_stuck_kstreams(),
        "java",
        "kafka",
        CL,
        "stage-stuck",
        "repeated-failure",
        "distributed",
        "xml-tools",
    ),
    case(
        "ide-cline-explore-dual-write",
        "opus",
        "Finishing a dual-write with non-atomic writes in inconsistent order, a racing backfill and no reconciliation: a zero-drift migration across services.",
        _cline_explore_dual_write(),
        "python",
        "django",
        CL,
        "stage-explore",
        "distributed",
        "migration",
        "xml-tools",
    ),
    case(
        "ide-cline-testfail-saga-timeout",
        "opus",
        "A timed-out credit that actually applied gets compensated anyway: saga correctness needs idempotent status queries or a pending state, distributed failure handling.",
        _cline_testfail_saga(),
        "go",
        CL,
        "stage-test-fail",
        "distributed",
        "xml-tools",
    ),
    case(
        "ide-cline-followup-why-fence",
        "opus",
        "'Why is it safe' about removing the acquire on tail and the barrier before the tail store in a kernel ring: it isn't; memory-model reasoning.",
        _cline_followup_why_fence(),
        "c",
        "linux-kernel",
        CL,
        "stage-followup",
        "memory-model",
        "xml-tools",
    ),
    case(
        "ide-cline-csrf-cors-review",
        "opus",
        "Security review: reflected origin with credentials, SameSite=None, CSRF bypass for JSON bodies and a loose compare.",
        _cline_csrf_review(),
        "typescript",
        "express",
        CL,
        "stage-explore",
        "security",
        "xml-tools",
    ),
    # Continue agent mode
    case(
        "ide-cont-first-patch-user",
        "sonnet",
        "A small PATCH endpoint with validation and an ownership check, in agent mode.",
        _cont_first_patch_user(),
        "go",
        CO,
        "tools",
        "stage-first-turn",
    ),
    case(
        "ide-cont-explore-datepicker-utc",
        "sonnet",
        "toISOString shifts a local date to UTC: classic, found in one read.",
        _cont_explore_datepicker(),
        "typescript",
        "react",
        CO,
        "tools",
        "stage-explore",
    ),
    case(
        "ide-cont-testfail-unpermitted-param",
        "sonnet",
        "Strong params missing :notes, shown in the log: a one-line fix in a tool loop.",
        _cont_testfail_rails(),
        "ruby",
        "rails",
        CO,
        "tools",
        "stage-test-fail",
    ),
    case(
        "ide-cont-stuck-module-not-found",
        "sonnet",
        "The same import error three times: the package lives in src/, so pythonpath must be configured. A known fix.",
        _cont_stuck_module_not_found(),
        "python",
        CO,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "ide-cont-report-csv-diff",
        "sonnet",
        "Tests pass and the diff is shown; only the summary remains, tools declared.",
        _cont_report_diff(),
        "python",
        CO,
        "tools",
        "stage-report",
    ),
    case(
        "ide-cont-ffi-callback-soundness",
        "opus",
        "Unsafe FFI review: callbacks racing unsubscribe on another thread free the boxed closure under them; needs a refcount or a synchronous unregister.",
        _cont_ffi_callback(),
        "rust",
        "ffi",
        CO,
        "tools",
        "stage-explore",
        "memory-safety",
    ),
    case(
        "ide-cont-logout-all-devices",
        "opus",
        "Session revocation across Redis sessions, remember-me and API tokens, including in-flight requests: session security design.",
        _cont_logout_everywhere(),
        "php",
        CO,
        "tools",
        "stage-first-turn",
        "security",
    ),
    case(
        "ide-cont-testfail-lock-pause",
        "opus",
        "A TTL lock without fencing lets a paused holder write after expiry; needs fencing tokens checked by the resource.",
        _cont_testfail_lock_pause(),
        "go",
        "redis",
        CO,
        "tools",
        "stage-test-fail",
        "distributed",
    ),
    case(
        "ide-cont-rcu-route-table",
        "opus",
        "Lock-free snapshot swap with readers holding raw pointers for milliseconds: safe reclamation (RCU/hazard/atomic shared_ptr) and orderings.",
        _cont_rcu_routing(),
        "cpp",
        CO,
        "tools",
        "stage-first-turn",
        "memory-model",
        "performance",
    ),
    case(
        "ide-cont-long-nightly-oom",
        "sonnet",
        "A 30k+ log shows a full-table export job in the API process growing to the memory limit before each OOM kill: clear evidence, standard fix (stream in batches, move the job out).",
        _cont_long_nightly_restart(),
        "python",
        "kubernetes",
        CO,
        "tools",
        "stage-explore",
        "long",
    ),
    case(
        "ide-cont-leader-election-split-brain",
        "opus",
        "The reconciler runs on a context that survives losing the lease: leases without fencing, two leaders charging customers.",
        _cont_explore_leader_election(),
        "go",
        "kubernetes",
        CO,
        "tools",
        "stage-explore",
        "distributed",
    ),
]
