"""Agent loops: requests that declare tools, usually with earlier tool calls and results. Any of these
is at least sonnet (the local model is unreliable at tool calling); opus when the task itself is."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import AGENT_TOOLS, CLI_AGENT, CLINE, CURSOR_AGENT, SMALL_TOOLS, Calls, a, case, code, req, s, u


def _loop_fix_test() -> dict:
    c = Calls("fixtest")
    return req(
        s(CLINE),
        u("<task>\nfix the failing test in tests/test_dates.py\n</task>"),
        c.call("run_terminal_cmd", "Let me run the test first.", command="pytest tests/test_dates.py -q"),
        c.result("""F.
FAILED tests/test_dates.py::test_next_business_day_over_weekend - AssertionError: assert datetime.date(2024, 11, 9) == datetime.date(2024, 11, 11)
1 failed, 1 passed in 0.12s"""),
        c.call("read_file", "Now the implementation.", path="app/dates.py"),
        c.result("""from datetime import date, timedelta

def next_business_day(d: date) -> date:
    nxt = d + timedelta(days=1)
    if nxt.weekday() == 5:
        return nxt + timedelta(days=2)
    return nxt
"""),
        tools=SMALL_TOOLS,
    )


def _loop_rename() -> dict:
    c = Calls("rename")
    return req(
        s(CLI_AGENT),
        u("rename get_user to fetch_user everywhere, including tests"),
        c.call("grep_search", pattern=r"\bget_user\b"),
        c.result("""app/users/service.py:14:def get_user(user_id: int) -> User:
app/users/views.py:3:from app.users.service import get_user
app/users/views.py:22:    user = get_user(request.user_id)
app/admin/views.py:8:from app.users.service import get_user
app/admin/views.py:41:        target = get_user(form.user_id.data)
tests/users/test_service.py:5:from app.users.service import get_user
tests/users/test_service.py:19:    assert get_user(1).email == "a@example.com"
docs/api.md:77:`get_user(user_id)` returns the user or raises NotFound."""),
        tools=AGENT_TOOLS,
    )


def _loop_pagination() -> dict:
    c = Calls("page")
    return req(
        s(CURSOR_AGENT),
        u("add cursor pagination to GET /orders (limit + opaque cursor), keep the response backwards compatible"),
        c.call("read_file", "I'll read the current handler.", path="src/routes/orders.ts"),
        c.result("""router.get("/orders", async (req, res) => {
  const orders = await db.order.findMany({
    where: { tenantId: req.tenant.id },
    orderBy: { createdAt: "desc" },
  });
  res.json({ orders });
});"""),
        c.call("read_file", "And the Prisma schema for the index.", path="prisma/schema.prisma"),
        c.result("""model Order {
  id        String   @id @default(cuid())
  tenantId  String
  createdAt DateTime @default(now())
  total     Decimal
  @@index([tenantId])
}"""),
        tools=AGENT_TOOLS,
    )


def _loop_pydantic_v2() -> dict:
    c = Calls("pyd")
    return req(
        s(CLI_AGENT),
        u("migrate this repo from pydantic v1 to v2"),
        c.call("grep_search", pattern="from pydantic|@validator|class Config|\\.dict\\(|parse_obj"),
        c.result(
            "\n".join(
                f"app/{mod}.py:{line}: {text}"
                for mod, line, text in [
                    ("schemas/user", 1, "from pydantic import BaseModel, validator, EmailStr"),
                    ("schemas/user", 12, "    @validator('email')"),
                    ("schemas/user", 20, "    class Config:"),
                    ("schemas/order", 1, "from pydantic import BaseModel, root_validator"),
                    ("schemas/order", 30, "    @root_validator(pre=True)"),
                    ("api/orders", 44, "    return OrderOut.parse_obj(row).dict(exclude_none=True)"),
                    ("api/users", 18, "    payload = UserIn.parse_raw(body)"),
                    ("settings", 1, "from pydantic import BaseSettings"),
                    ("settings", 9, "    class Config:"),
                    ("workers/export", 57, "    rows = [r.dict() for r in records]"),
                ]
            )
        ),
        tools=AGENT_TOOLS,
    )


def _loop_flaky_failover() -> dict:
    c = Calls("failover")
    return req(
        s(CURSOR_AGENT),
        u("TestLeaderFailover fails about 1 in 50 runs. find the root cause, don't just add sleeps"),
        c.call(
            "run_terminal_cmd",
            "Running it repeatedly.",
            command="go test ./cluster -run TestLeaderFailover -count=200 -race 2>&1 | tail -40",
        ),
        c.result("""--- FAIL: TestLeaderFailover (3.41s)
    failover_test.go:88: node-2 acked write w-1173 at term 4, but after failover the new leader (node-3, term 5) has no w-1173
    failover_test.go:91: linearizability check failed: read r-1180 returned stale value for key k7
FAIL
ok  	cluster	611.203s (199 passed, 1 failed)"""),
        c.call("read_file", "Looking at how writes are acknowledged.", path="cluster/replicate.go"),
        c.result("""func (n *Node) handleWrite(w Write) error {
    n.log.Append(w)
    acks := 1
    for _, p := range n.peers {
        go func(p Peer) {
            if err := p.Replicate(w); err == nil {
                atomic.AddInt32(&n.acks[w.ID], 1)
            }
        }(p)
    }
    deadline := time.Now().Add(50 * time.Millisecond)
    for time.Now().Before(deadline) {
        if int(atomic.LoadInt32(&n.acks[w.ID]))+acks > len(n.peers)/2 {
            break
        }
        time.Sleep(time.Millisecond)
    }
    n.commit(w) // commit even on timeout; peers will catch up
    return nil
}"""),
        tools=AGENT_TOOLS,
    )


def _loop_reconcile_refunds() -> dict:
    c = Calls("refund")
    return req(
        s(CLINE),
        u("<task>\nthe nightly reconciliation report double-counts partial refunds. find and fix it\n</task>"),
        c.call("read_file", path="billing/reconcile.py"),
        c.result("""def reconcile(day):
    charges = Charge.objects.filter(created__date=day)
    total = sum(c.amount for c in charges)
    for c in charges:
        for r in c.refunds.all():
            total -= r.amount
    refunds = Refund.objects.filter(created__date=day)
    total -= sum(r.amount for r in refunds)
    return total"""),
        tools=SMALL_TOOLS,
    )


def _loop_auth_audit() -> dict:
    c = Calls("audit")
    return req(
        s(CLI_AGENT),
        u("audit our session and auth middleware for vulnerabilities before the pentest next week"),
        c.call("read_file", path="server/middleware/session.go"),
        c.result("""func Session(next http.Handler) http.Handler {
    return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
        c, err := r.Cookie("sid")
        if err != nil { next.ServeHTTP(w, r); return }
        parts := strings.SplitN(c.Value, ".", 2)
        if len(parts) != 2 { next.ServeHTTP(w, r); return }
        mac := hmac.New(sha256.New, secret)
        mac.Write([]byte(parts[0]))
        if hex.EncodeToString(mac.Sum(nil)) == parts[1] {
            ctx := context.WithValue(r.Context(), userKey, parts[0])
            r = r.WithContext(ctx)
        }
        next.ServeHTTP(w, r)
    })
}"""),
        c.call("read_file", path="server/handlers/login.go"),
        c.result("""func Login(w http.ResponseWriter, r *http.Request) {
    u, err := users.Check(r.FormValue("email"), r.FormValue("password"))
    if err != nil { http.Error(w, err.Error(), 401); return }
    value := u.ID + "." + sign(u.ID)
    http.SetCookie(w, &http.Cookie{Name: "sid", Value: value, Path: "/"})
    http.Redirect(w, r, r.FormValue("next"), http.StatusFound)
}"""),
        tools=AGENT_TOOLS,
    )


def _loop_ci_workflow() -> dict:
    return req(
        s(CURSOR_AGENT),
        u(
            "create a github actions workflow that runs ruff, mypy and pytest on python 3.11 and 3.12 for PRs, and builds the docker image on main"
        ),
        tools=AGENT_TOOLS,
    )


def _loop_ts_build_errors() -> dict:
    c = Calls("tsc")
    return req(
        s(CLI_AGENT),
        u("the build is broken after the dependency bump, fix it"),
        c.call("run_terminal_cmd", command="npm run build"),
        c.result("""src/api/client.ts(14,22): error TS2345: Argument of type 'string | undefined' is not assignable to parameter of type 'string'.
src/api/client.ts(31,5): error TS2322: Type 'AxiosResponse<any, any>' is not assignable to type 'User'.
src/hooks/useUser.ts(9,18): error TS2339: Property 'isLoading' does not exist on type 'UseQueryResult<User, Error>'. Did you mean 'isPending'?
src/hooks/useOrders.ts(12,7): error TS2769: No overload matches this call.
  Overload 1 of 3, '(options: UseQueryOptions<Order[], Error>): UseQueryResult<Order[], Error>', gave the following error.
    Object literal may only specify known properties, and 'cacheTime' does not exist in type 'UseQueryOptions<Order[], Error>'.
Found 4 errors in 3 files."""),
        tools=AGENT_TOOLS,
    )


def _loop_loom_spsc() -> dict:
    c = Calls("loom")
    return req(
        s(CLI_AGENT),
        u(
            "loom finds a failure in our SPSC ring buffer. figure out the ordering bug and fix it with the weakest correct orderings"
        ),
        c.call("run_terminal_cmd", command="RUSTFLAGS='--cfg loom' cargo test --release spsc_loom"),
        c.result("""thread 'spsc_loom' panicked at src/spsc.rs:74:9:
assertion `left == right` failed: consumer read uninitialized slot
  left: 0
 right: 41
note: loom explored 18231 interleavings before failure"""),
        c.call("read_file", path="src/spsc.rs"),
        c.result(
            code(
                "rust",
                """
pub fn push(&self, v: T) -> Result<(), T> {
    let tail = self.tail.load(Ordering::Relaxed);
    let head = self.head.load(Ordering::Relaxed);
    if tail.wrapping_sub(head) == self.cap { return Err(v); }
    unsafe { (*self.buf[tail & self.mask].get()).write(v); }
    self.tail.store(tail.wrapping_add(1), Ordering::Relaxed);
    Ok(())
}

pub fn pop(&self) -> Option<T> {
    let head = self.head.load(Ordering::Relaxed);
    let tail = self.tail.load(Ordering::Acquire);
    if head == tail { return None; }
    let v = unsafe { (*self.buf[head & self.mask].get()).assume_init_read() };
    self.head.store(head.wrapping_add(1), Ordering::Relaxed);
    Some(v)
}
""",
            )
        ),
        tools=AGENT_TOOLS,
    )


def _loop_index_migration() -> dict:
    c = Calls("idx")
    return req(
        s(CURSOR_AGENT),
        u("add a migration for an index on invoices(customer_id, issued_at) and add it to the model too"),
        c.call("list_dir", path="migrations/versions"),
        c.result("0041_add_invoice_status.py\n0042_drop_legacy_tax.py\n0043_customer_region.py"),
        tools=AGENT_TOOLS,
    )


def _loop_what_does_repo_do() -> dict:
    c = Calls("repo")
    return req(
        s(CURSOR_AGENT),
        u("what does this repo do?"),
        c.call("read_file", path="README.md"),
        c.result(
            "# shortlink\n\nA tiny URL shortener: Flask + SQLite. `flask run` then POST /links {url}. Links expire after 30 days."
        ),
        tools=AGENT_TOOLS,
    )


def _loop_dual_write_migration() -> dict:
    c = Calls("dual")
    return req(
        s(CLI_AGENT),
        u(
            "we're moving user balances from the `accounts.balance` column to a new `ledger_entries` table. implement the dual-write phase across the services so we can backfill and switch reads later without ever showing a wrong balance. this runs against prod"
        ),
        c.call("grep_search", pattern=r"balance\s*[-+]?=|\.balance\b"),
        c.result("""services/payments/charge.py:48:    account.balance -= amount
services/payments/refund.py:31:    account.balance += refund.amount
services/payouts/batch.py:112:        acct.balance -= payout.amount
services/promotions/credit.py:20:    account.balance += credit
services/admin/adjust.py:15:    account.balance = form.new_balance
api/serializers/account.py:9:    balance = fields.Decimal(attribute="balance")
jobs/interest.py:40:        a.balance = a.balance * (1 + rate)"""),
        tools=AGENT_TOOLS,
    )


def _loop_unit_tests_strings() -> dict:
    c = Calls("tests")
    return req(
        s(CURSOR_AGENT),
        u("add unit tests for src/utils/strings.ts"),
        c.call("read_file", path="src/utils/strings.ts"),
        c.result("""export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
export const truncate = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n - 1) + "…");
export const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, "$1-$2").replace(/[\\s_]+/g, "-").toLowerCase();"""),
        tools=AGENT_TOOLS,
    )


def _loop_latency_regression() -> dict:
    c = Calls("perf")
    return req(
        s(CLI_AGENT),
        u(
            "p99 on /search regressed from 120ms to 480ms in release 2.14. find out why. the benchmark is in bench/search_test.go"
        ),
        c.call("run_terminal_cmd", command="git diff v2.13..v2.14 --stat"),
        c.result(""" internal/search/index.go      | 41 +++++++++-----
 internal/search/rank.go       | 12 ++--
 internal/cache/lru.go         | 88 ++++++++++++++++++++-------
 internal/httpx/middleware.go  | 19 ++++--
 go.mod                        |  4 +-
 5 files changed, 118 insertions(+), 46 deletions(-)"""),
        c.call("run_terminal_cmd", command="go test ./bench -bench Search -benchtime 5s -cpu 1,8"),
        c.result("""BenchmarkSearch      	   81234	     71203 ns/op
BenchmarkSearch-8    	   25511	    228911 ns/op
PASS"""),
        tools=AGENT_TOOLS,
    )


def _loop_cline_readme_typo() -> dict:
    return req(
        s(
            CLINE
            + "\n\n# Tools\n\n## read_file\n## write_to_file\n## execute_command\n\nUse XML-style tags for tool use."
        ),
        u("<task>\nfix the typo 'recieve' in README.md\n</task>"),
    )


def _loop_threads_to_asyncio() -> dict:
    c = Calls("async")
    return req(
        s(CURSOR_AGENT),
        u(
            "port the crawler from threads to asyncio. it shares a visited set, a rate limiter per domain and a sqlite writer across workers; those invariants must hold (no URL fetched twice, per-domain limits respected, writes serialized)"
        ),
        c.call("list_dir", path="crawler"),
        c.result("__init__.py\nworkers.py\nfrontier.py\nratelimit.py\nstore.py\nrobots.py\nmain.py"),
        c.call("read_file", path="crawler/frontier.py"),
        c.result("""class Frontier:
    def __init__(self):
        self._q = queue.Queue()
        self._seen = set()
        self._lock = threading.Lock()

    def add(self, url):
        with self._lock:
            if url in self._seen:
                return
            self._seen.add(url)
        self._q.put(url)

    def next(self, timeout=1.0):
        return self._q.get(timeout=timeout)"""),
        tools=AGENT_TOOLS,
    )


def _loop_explain_array_at() -> dict:
    return req(
        s(CURSOR_AGENT),
        u("what does Array.prototype.at do"),
        tools=AGENT_TOOLS,
    )


def _loop_add_verbose_flag() -> dict:
    c = Calls("verbose")
    return req(
        s(CLI_AGENT),
        u("add a --verbose flag to the cli that sets logging to DEBUG"),
        c.call("read_file", path="tool/cli.py"),
        c.result("""def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("--out", default="-")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run(args.input, args.out)"""),
        tools=AGENT_TOOLS,
    )


def _loop_dockerfile_slim() -> dict:
    c = Calls("docker")
    return req(
        s(CLINE),
        u("<task>\nour docker image is 2.1GB, make it smaller\n</task>"),
        c.call("read_file", path="Dockerfile"),
        c.result("""FROM python:3.12
WORKDIR /app
COPY . .
RUN apt-get update && apt-get install -y build-essential libpq-dev
RUN pip install -r requirements.txt
CMD ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]"""),
        tools=SMALL_TOOLS,
    )


def _loop_after_answer_followup() -> dict:
    c = Calls("follow")
    return req(
        s(CURSOR_AGENT),
        u("why does `make test` fail on my machine"),
        c.call("run_terminal_cmd", command="make test"),
        c.result("""python -m pytest
/usr/bin/python: No module named pytest
make: *** [Makefile:12: test] Error 1"""),
        a(
            "pytest isn't installed in the interpreter `make` uses. Create the venv and install the dev extras: `python -m venv .venv && .venv/bin/pip install -e '.[dev]'`, then run `make test` with the venv active."
        ),
        u("did that, now it says `ModuleNotFoundError: No module named 'app'` when collecting tests"),
        tools=AGENT_TOOLS,
    )


CASES = [
    case(
        "agent-fix-business-day",
        "sonnet",
        "Agent loop with a clear failing test and a one-function fix.",
        _loop_fix_test(),
        "python",
        "agent",
        "tools",
    ),
    case(
        "agent-rename-across-files",
        "sonnet",
        "Mechanical multi-file rename through tools.",
        _loop_rename(),
        "python",
        "agent",
        "tools",
        "multi-file",
    ),
    case(
        "agent-cursor-pagination",
        "sonnet",
        "A feature across handler and schema, routine design.",
        _loop_pagination(),
        "typescript",
        "agent",
        "tools",
    ),
    case(
        "agent-pydantic-v2",
        "sonnet",
        "Known migration playbook across ~6 files.",
        _loop_pydantic_v2(),
        "python",
        "agent",
        "tools",
        "multi-file",
    ),
    case(
        "agent-flaky-failover",
        "opus",
        "Replication commits on timeout without quorum: a distributed-systems safety bug found through a flaky test.",
        _loop_flaky_failover(),
        "go",
        "agent",
        "tools",
        "distributed",
    ),
    case(
        "agent-refund-double-count",
        "sonnet",
        "Business-logic bug visible in one function.",
        _loop_reconcile_refunds(),
        "python",
        "agent",
        "tools",
    ),
    case(
        "agent-auth-audit",
        "opus",
        "Security audit: non-constant-time MAC compare, open redirect, cookie flags, session fixation.",
        _loop_auth_audit(),
        "go",
        "agent",
        "tools",
        "security",
    ),
    case(
        "agent-ci-workflow",
        "sonnet",
        "Routine CI workflow through tools.",
        _loop_ci_workflow(),
        "yaml",
        "agent",
        "tools",
    ),
    case(
        "agent-ts-build-errors",
        "sonnet",
        "Dependency-bump compile errors with clear messages.",
        _loop_ts_build_errors(),
        "typescript",
        "agent",
        "tools",
    ),
    case(
        "agent-loom-spsc",
        "opus",
        "Memory-ordering fix with the weakest correct orderings, verified by loom.",
        _loop_loom_spsc(),
        "rust",
        "agent",
        "tools",
        "memory-model",
    ),
    case(
        "agent-index-migration",
        "sonnet",
        "Small migration through tools.",
        _loop_index_migration(),
        "python",
        "agent",
        "tools",
    ),
    case(
        "agent-what-does-repo-do",
        "sonnet",
        "Trivial question, but inside a tool-calling agent loop.",
        _loop_what_does_repo_do(),
        "agent",
        "tools",
    ),
    case(
        "agent-dual-write-ledger",
        "opus",
        "Production data migration across 7 call sites with a never-wrong-balance invariant.",
        _loop_dual_write_migration(),
        "python",
        "agent",
        "tools",
        "multi-file",
    ),
    case(
        "agent-tests-strings",
        "sonnet",
        "Tests for three small functions, inside an agent loop.",
        _loop_unit_tests_strings(),
        "typescript",
        "agent",
        "tools",
    ),
    case(
        "agent-latency-regression",
        "opus",
        "Performance investigation: scaling collapse across cores after an LRU rewrite.",
        _loop_latency_regression(),
        "go",
        "agent",
        "tools",
        "performance",
    ),
    case(
        "agent-cline-readme-typo",
        "sonnet",
        "Trivial edit, but the client speaks Cline's XML tool protocol, which the local model does not follow reliably.",
        _loop_cline_readme_typo(),
        "agent",
    ),
    case(
        "agent-threads-to-asyncio",
        "opus",
        "Concurrency-model port across modules with three shared-state invariants.",
        _loop_threads_to_asyncio(),
        "python",
        "agent",
        "tools",
        "multi-file",
        "concurrency",
    ),
    case(
        "agent-explain-array-at",
        "sonnet",
        "A lookup question, but inside an agent with tools declared.",
        _loop_explain_array_at(),
        "javascript",
        "agent",
        "tools",
    ),
    case(
        "agent-add-verbose-flag",
        "sonnet",
        "Small feature through tools.",
        _loop_add_verbose_flag(),
        "python",
        "agent",
        "tools",
    ),
    case(
        "agent-docker-slim",
        "sonnet",
        "Multi-stage build rewrite through tools.",
        _loop_dockerfile_slim(),
        "docker",
        "agent",
        "tools",
    ),
    case(
        "agent-make-test-followup",
        "sonnet",
        "Environment debugging in an agent loop.",
        _loop_after_answer_followup(),
        "python",
        "agent",
        "tools",
    ),
]
