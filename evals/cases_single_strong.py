"""Single requests that need Claude: sonnet for multi-step but well-trodden work, opus for subtle
correctness (proofs, memory models, distributed failures, security review, cross-cutting designs).
Many are short: brevity says nothing about difficulty."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u

SONNET = [
    case(
        "py-fastapi-422-form",
        "sonnet",
        "Debugging across a React client and a FastAPI server; needs to know both sides' conventions.",
        req(
            s(CONTINUE_CHAT),
            u(
                "my fastapi endpoint returns 422 when the react app posts the form, works from swagger. why?\n"
                + code(
                    "python",
                    """
@app.post("/profile")
async def update_profile(name: str = Form(...), avatar: UploadFile | None = None):
    ...
""",
                )
                + "\n"
                + code(
                    "tsx",
                    """
const body = JSON.stringify({ name, avatar });
await fetch("/profile", { method: "POST", headers: { "Content-Type": "application/json" }, body });
""",
                )
            ),
        ),
        "python",
        "typescript",
        "single",
        "debug",
    ),
    case(
        "ts-debounced-search-hook",
        "sonnet",
        "A React hook with cancellation, races between responses and cleanup: easy to get subtly wrong, but a well-known pattern.",
        req(
            u(
                "write a react hook useDebouncedSearch(query) that debounces 300ms, cancels the in-flight fetch with AbortController when the query changes, ignores stale responses, and exposes {data, error, loading}"
            )
        ),
        "typescript",
        "single",
        "implement",
    ),
    case(
        "go-worker-pool-errgroup",
        "sonnet",
        "A standard bounded worker pool with cancellation and error collection.",
        req(
            u(
                "Go: process ~10k URLs with at most 16 concurrent fetches, stop everything on the first fatal error but collect non-fatal ones, respect ctx cancellation. use errgroup if it helps"
            )
        ),
        "go",
        "single",
        "implement",
    ),
    case(
        "rust-async-closure-lifetime",
        "sonnet",
        "Lifetimes with async closures stored in a map: a real but common Rust puzzle.",
        req(
            u(
                "getting `borrowed value does not live long enough` and I don't get why\n"
                + code(
                    "rust",
                    """
struct Router<'a> {
    handlers: HashMap<String, Box<dyn Fn(&'a Request) -> BoxFuture<'a, Response> + Send + Sync>>,
}

impl<'a> Router<'a> {
    async fn dispatch(&self, req: Request) -> Response {
        let h = self.handlers.get(&req.path).unwrap();
        h(&req).await
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "debug",
    ),
    case(
        "java-junit4-to-5",
        "sonnet",
        "Mechanical-looking migration with traps (rules, expected exceptions, runners).",
        req(
            u(
                "migrate this to junit 5\n"
                + code(
                    "java",
                    """
@RunWith(MockitoJUnitRunner.class)
public class InvoiceServiceTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();
    @Mock InvoiceRepository repo;
    @InjectMocks InvoiceService service;

    @Before public void setUp() { when(repo.nextNumber()).thenReturn(42L); }

    @Test(expected = IllegalStateException.class)
    public void closingTwiceFails() throws Exception {
        File out = tmp.newFile("inv.pdf");
        service.close(1L, out);
        service.close(1L, out);
    }
}
""",
                )
            )
        ),
        "java",
        "single",
        "edit",
    ),
    case(
        "sql-slow-query-explain",
        "sonnet",
        "Query tuning with the plan provided: needs careful reading of EXPLAIN ANALYZE, not deep research.",
        req(
            u(
                "this takes 12s on postgres 15, orders has 50M rows. how do I make it fast?\n"
                + code(
                    "sql",
                    """
SELECT o.*
FROM orders o
WHERE o.status = 'pending'
  AND date_trunc('day', o.created_at) = date_trunc('day', now() - interval '1 day')
ORDER BY o.created_at DESC
LIMIT 50;
""",
                )
                + "\n"
                + code(
                    "text",
                    """
Limit  (cost=0.56..8231.19 rows=50) (actual time=11873.2..11873.9 rows=50 loops=1)
  ->  Index Scan Backward using orders_created_at_idx on orders o  (actual time=11873.2..11873.8 rows=50 loops=1)
        Filter: ((status = 'pending') AND (date_trunc('day', created_at) = date_trunc('day', (now() - '1 day'::interval))))
        Rows Removed by Filter: 49120331
Planning Time: 0.2 ms
Execution Time: 11873.9 ms
""",
                )
            )
        ),
        "sql",
        "single",
        "performance",
    ),
    case(
        "py-split-name-migration",
        "sonnet",
        "Schema change plus a data backfill that must be reversible.",
        req(
            u(
                "sqlalchemy 2 + alembic: split users.name into first_name/last_name, backfill existing rows (split on the last space), make the downgrade work too"
            )
        ),
        "python",
        "sql",
        "single",
        "implement",
    ),
    case(
        "cpp-sfinae-error",
        "sonnet",
        "Reading a template error and fixing the constraint.",
        req(
            u(
                "why doesn't this compile? I want it to pick the first overload for containers\n"
                + code(
                    "cpp",
                    """
template <typename T, typename = decltype(std::declval<T>().begin())>
void print(const T& c) { for (auto& x : c) std::cout << x << ' '; }

template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
void print(const T& x) { std::cout << x; }
""",
                )
                + "\nerror: redefinition of 'template<class T, class> void print(const T&)'"
            )
        ),
        "cpp",
        "single",
        "debug",
    ),
    case(
        "ts-rest-api-design",
        "sonnet",
        "API design for one service: several decisions but no hard invariants.",
        req(
            s(COPILOT_LIKE),
            u(
                "design the REST API for a multi-tenant todo app: resources, endpoints, status codes, pagination, and how the tenant is identified. express + typescript"
            ),
        ),
        "typescript",
        "single",
        "design",
    ),
    case(
        "bash-ecs-deploy-rollback",
        "sonnet",
        "A multi-step deploy script with failure handling.",
        req(
            u(
                "write a bash deploy script: build the docker image, tag with git sha, push to ECR, update the ECS service, wait for it to become stable, and roll back to the previous task definition if the health check fails"
            )
        ),
        "shell",
        "single",
        "implement",
    ),
    case(
        "py-review-small-diff",
        "sonnet",
        "Reviewing a short diff for bugs needs care but the code is small.",
        req(
            u(
                "review this for bugs\n"
                + code(
                    "diff",
                    """
-def paginate(items, page, size):
-    return items[page * size:(page + 1) * size]
+def paginate(items, page, size=20):
+    if page < 1:
+        raise ValueError("page starts at 1")
+    start = page * size
+    return items[start:start + size], len(items) > start + size
""",
                )
            )
        ),
        "python",
        "single",
        "review",
    ),
    case(
        "k8s-crashloop",
        "sonnet",
        "Diagnosis from describe output and logs.",
        req(
            u("""pod keeps going CrashLoopBackOff. kubectl describe says:
    Last State: Terminated, Reason: OOMKilled, Exit Code: 137
    Limits: memory: 256Mi   Requests: memory: 128Mi
logs end with:
    Started Application in 41.2 seconds (process running for 44.0)
    o.s.b.w.embedded.tomcat.TomcatWebServer : Tomcat started on port 8080
it's a spring boot 3 app on java 17, image eclipse-temurin:17-jre. what should I change?""")
        ),
        "java",
        "kubernetes",
        "single",
        "debug",
    ),
    case(
        "go-rate-limit-redis",
        "sonnet",
        "A per-key token bucket in Redis with an atomic Lua script: standard, a few pitfalls.",
        req(
            u(
                "write net/http middleware in go that rate limits per API key with a token bucket stored in redis (must be atomic across replicas)"
            )
        ),
        "go",
        "single",
        "implement",
    ),
    case(
        "rust-tree-iterator",
        "sonnet",
        "Iterative in-order traversal implementing Iterator with borrowed nodes.",
        req(
            u(
                "implement Iterator for in-order traversal of this tree without recursion, yielding &T\n"
                + code(
                    "rust",
                    """
pub struct Node<T> {
    pub val: T,
    pub left: Option<Box<Node<T>>>,
    pub right: Option<Box<Node<T>>>,
}
""",
                )
            )
        ),
        "rust",
        "single",
        "implement",
    ),
    case(
        "java-transactional-self-call",
        "sonnet",
        "Known Spring proxy pitfall; needs the explanation and a clean fix.",
        req(
            u("""spring: my @Transactional method doesn't roll back when it throws. it's called from another method in the same service:
public void importAll(List<Row> rows) { for (Row r : rows) importOne(r); }
@Transactional public void importOne(Row r) { repo.save(map(r)); audit.log(r); }
audit.log throws a checked IOException sometimes""")
        ),
        "java",
        "single",
        "debug",
    ),
    case(
        "py-s3-tests-mock",
        "sonnet",
        "Tests for a class that talks to S3, with pagination and error paths.",
        req(
            u(
                "write unit tests for this, mock boto3 (no moto please)\n"
                + code(
                    "python",
                    """
class Archive:
    def __init__(self, s3, bucket):
        self.s3, self.bucket = s3, bucket

    def list_keys(self, prefix):
        keys, token = [], None
        while True:
            kw = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            page = self.s3.list_objects_v2(**kw)
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def restore(self, key):
        try:
            self.s3.restore_object(Bucket=self.bucket, Key=key, RestoreRequest={"Days": 1})
        except self.s3.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "RestoreAlreadyInProgress":
                raise
""",
                )
            )
        ),
        "python",
        "single",
        "tests",
    ),
    case(
        "sql-recursive-org-chart",
        "sonnet",
        "Recursive CTE with depth, path and cycle protection.",
        req(
            u(
                "postgres: employees(id, name, manager_id). get everyone under manager 42 with their depth and the path of names from 42 down, and don't loop forever if the data has a cycle"
            )
        ),
        "sql",
        "single",
        "query",
    ),
    case(
        "py-asyncio-task-destroyed",
        "sonnet",
        "Asyncio lifecycle bug: tasks created without references and never awaited.",
        req(
            u(
                "my script hangs at the end and then prints `Task was destroyed but it is pending!`\n"
                + code(
                    "python",
                    """
async def main():
    queue = asyncio.Queue()
    for _ in range(4):
        asyncio.create_task(worker(queue))
    for url in urls:
        await queue.put(url)
    await queue.join()

async def worker(queue):
    while True:
        url = await queue.get()
        await fetch(url)
        queue.task_done()

asyncio.run(main())
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
    ),
    case(
        "c-ring-buffer",
        "sonnet",
        "Full/empty disambiguation and wraparound are where small models slip silently.",
        req(
            u(
                "implement a fixed-size ring buffer of uint8_t in C (init, push, pop, is_full, is_empty) for a single producer and single consumer on a cortex-m, plus a few unit tests"
            )
        ),
        "c",
        "embedded",
        "single",
        "implement",
    ),
    case(
        "tf-s3-bucket",
        "sonnet",
        "Current AWS provider splits bucket settings into separate resources; older patterns are silently deprecated.",
        req(
            u(
                "terraform for an s3 bucket with versioning, SSE-KMS with our key, block all public access, and a lifecycle rule moving noncurrent versions to glacier after 90 days. aws provider 5.x"
            )
        ),
        "terraform",
        "single",
        "implement",
    ),
    case(
        "ts-zod-cross-field",
        "sonnet",
        "Cross-field validation with refinements and error paths.",
        req(
            u(
                "zod schema + inferred type for a signup form: email, password (min 12, one digit), confirmPassword must match, optional startDate/endDate where end must be after start if both set. errors should point at the right field"
            )
        ),
        "typescript",
        "single",
        "implement",
    ),
    case(
        "go-goroutine-leak",
        "sonnet",
        "A classic fan-out leak: senders blocked on an unbuffered channel after an early return.",
        req(
            u(
                "goroutine count keeps growing in prod. this is called per request:\n"
                + code(
                    "go",
                    """
func firstResult(ctx context.Context, backends []Backend, q Query) (Result, error) {
    results := make(chan Result)
    for _, b := range backends {
        go func(b Backend) {
            r, err := b.Search(ctx, q)
            if err == nil {
                results <- r
            }
        }(b)
    }
    select {
    case r := <-results:
        return r, nil
    case <-ctx.Done():
        return Result{}, ctx.Err()
    }
}
""",
                )
            )
        ),
        "go",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "java-chm-compute-recursive",
        "sonnet",
        "Known ConcurrentHashMap pitfall (recursive computeIfAbsent); explanation plus fix.",
        req(
            u(
                "why does this throw IllegalStateException: Recursive update?\n"
                + code(
                    "java",
                    """
private final Map<Integer, BigInteger> memo = new ConcurrentHashMap<>();

BigInteger fib(int n) {
    if (n < 2) return BigInteger.valueOf(n);
    return memo.computeIfAbsent(n, k -> fib(k - 1).add(fib(k - 2)));
}
""",
                )
            )
        ),
        "java",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "java-virtual-thread-pinning",
        "sonnet",
        "Performance regression whose cause the user already found (pinning); needs the known remedies.",
        req(
            u(
                "after moving to java 21 virtual threads our p99 went from 40ms to 900ms. cpu is low. jcmd Thread.dump_to_file shows carrier threads pinned inside synchronized blocks in the jdbc driver. what are our options short of rewriting the data layer?"
            )
        ),
        "java",
        "single",
        "performance",
    ),
    case(
        "node-http2-leak",
        "sonnet",
        "Memory leak with the retaining path already identified in the heap snapshot.",
        req(
            u(
                "node 20 service leaks memory only with http2 keep-alive. heap snapshot: thousands of ClientHttp2Session retained from `sessions` Map in this code. what's wrong?\n"
                + code(
                    "js",
                    """
const sessions = new Map();
function getSession(origin) {
  let s = sessions.get(origin);
  if (!s || s.destroyed) {
    s = http2.connect(origin);
    s.on('error', () => {});
    sessions.set(origin + ':' + Date.now(), s);
  }
  return s;
}
""",
                )
            )
        ),
        "javascript",
        "single",
        "debug",
        "performance",
    ),
    case(
        "py-threading-counter",
        "sonnet",
        "Read-modify-write race explained with the fix; GIL subtleties make small models hand-wave.",
        req(
            u(
                "if python has a GIL why does this not always print 400000?\n"
                + code(
                    "python",
                    """
count = 0
def bump():
    global count
    for _ in range(100_000):
        count += 1
threads = [threading.Thread(target=bump) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(count)
""",
                )
            )
        ),
        "python",
        "single",
        "question",
        "concurrency",
    ),
]

OPUS = [
    case(
        "cpp-ms-queue-linearizable",
        "opus",
        "A linearizability proof for a lock-free queue: linearization points, ABA, memory orders.",
        req(
            u(
                "prove this lock-free queue is linearizable (or find the bug)\n"
                + code(
                    "cpp",
                    """
template <class T> struct Queue {
  struct Node { T val; std::atomic<Node*> next{nullptr}; };
  std::atomic<Node*> head, tail;
  Queue() { auto d = new Node{}; head = tail = d; }
  void push(T v) {
    Node* n = new Node{v};
    for (;;) {
      Node* t = tail.load(std::memory_order_acquire);
      Node* nx = t->next.load(std::memory_order_acquire);
      if (t != tail.load(std::memory_order_acquire)) continue;
      if (nx == nullptr) {
        if (t->next.compare_exchange_weak(nx, n, std::memory_order_release)) {
          tail.compare_exchange_strong(t, n, std::memory_order_release);
          return;
        }
      } else {
        tail.compare_exchange_strong(t, nx, std::memory_order_release);
      }
    }
  }
  bool pop(T& out) {
    for (;;) {
      Node* h = head.load(std::memory_order_acquire);
      Node* nx = h->next.load(std::memory_order_acquire);
      if (nx == nullptr) return false;
      out = nx->val;
      if (head.compare_exchange_weak(h, nx, std::memory_order_release)) { delete h; return true; }
    }
  }
};
""",
                )
            )
        ),
        "cpp",
        "single",
        "proof",
        "concurrency",
    ),
    case(
        "go-raft-lost-commits",
        "opus",
        "Raft safety: the follower truncates its log on any AppendEntries, dropping committed entries.",
        req(
            u(
                "why does this raft follower lose committed entries after a leader change?\n"
                + code(
                    "go",
                    """
func (rf *Raft) AppendEntries(args *AppendEntriesArgs, reply *AppendEntriesReply) {
    rf.mu.Lock()
    defer rf.mu.Unlock()
    if args.Term < rf.currentTerm {
        reply.Success = false
        return
    }
    rf.currentTerm = args.Term
    if args.PrevLogIndex >= len(rf.log) || rf.log[args.PrevLogIndex].Term != args.PrevLogTerm {
        reply.Success = false
        return
    }
    rf.log = append(rf.log[:args.PrevLogIndex+1], args.Entries...)
    if args.LeaderCommit > rf.commitIndex {
        rf.commitIndex = min(args.LeaderCommit, len(rf.log)-1)
    }
    reply.Success = true
}
""",
                )
            )
        ),
        "go",
        "single",
        "distributed",
    ),
    case(
        "rust-relaxed-flag-arm",
        "opus",
        "Memory-model reasoning: a Relaxed flag publishes non-atomic data; breaks on ARM.",
        req(
            u(
                "consumer sometimes sees stale data on ARM (never on x86). is the Relaxed here the problem?\n"
                + code(
                    "rust",
                    """
static READY: AtomicBool = AtomicBool::new(false);
static mut DATA: [u64; 4] = [0; 4];

fn producer() {
    unsafe { DATA = compute(); }
    READY.store(true, Ordering::Relaxed);
}

fn consumer() -> [u64; 4] {
    while !READY.load(Ordering::Relaxed) { std::hint::spin_loop(); }
    unsafe { DATA }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "concurrency",
        "memory-model",
    ),
    case(
        "cpp-dcl-relaxed",
        "opus",
        "Asks for a proof or counterexample under the C++ memory model.",
        req(
            u(
                "is this double-checked locking correct under the C++ memory model? prove it or give a counterexample execution\n"
                + code(
                    "cpp",
                    """
std::atomic<Config*> g_cfg{nullptr};
std::mutex g_mu;

Config* get() {
  Config* c = g_cfg.load(std::memory_order_relaxed);
  if (!c) {
    std::lock_guard<std::mutex> lk(g_mu);
    c = g_cfg.load(std::memory_order_relaxed);
    if (!c) { c = new Config(load_from_disk()); g_cfg.store(c, std::memory_order_relaxed); }
  }
  return c;
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "proof",
        "memory-model",
    ),
    case(
        "py-jwt-alg-confusion",
        "opus",
        "Security review: algorithm confusion between HS256 and RS256 with a shared key variable.",
        req(
            u(
                "can you review our jwt verification? we support both HS256 (internal services) and RS256 (auth0)\n"
                + code(
                    "python",
                    """
def verify(token: str) -> dict:
    header = jwt.get_unverified_header(token)
    key = settings.JWT_SECRET if header["alg"] == "HS256" else settings.AUTH0_PUBLIC_KEY_PEM
    return jwt.decode(token, key, algorithms=[header["alg"]], audience=settings.AUDIENCE)
""",
                )
            )
        ),
        "python",
        "single",
        "security",
    ),
    case(
        "go-redis-lock-fencing",
        "opus",
        "Distributed lock safety under process pauses; needs fencing tokens and a safety argument.",
        req(
            u(
                "we use redis SET NX PX 10000 as a lock around writes to our ledger db. after a long GC pause two workers both wrote as if they held the lock. how do we make this actually safe? I want the safety argument, not just 'use redlock'"
            )
        ),
        "go",
        "single",
        "distributed",
    ),
    case(
        "sql-read-committed-double-spend",
        "opus",
        "Isolation-level anomaly analysis: needs the exact interleaving.",
        req(
            u(
                "under READ COMMITTED in postgres can two concurrent calls of this double-spend? show me the interleaving if so\n"
                + code(
                    "sql",
                    """
CREATE FUNCTION transfer(src int, dst int, amt numeric) RETURNS void AS $$
DECLARE bal numeric;
BEGIN
  SELECT balance INTO bal FROM accounts WHERE id = src;
  IF bal < amt THEN RAISE EXCEPTION 'insufficient funds'; END IF;
  UPDATE accounts SET balance = balance - amt WHERE id = src;
  UPDATE accounts SET balance = balance + amt WHERE id = dst;
END $$ LANGUAGE plpgsql;
""",
                )
            )
        ),
        "sql",
        "single",
        "concurrency",
    ),
    case(
        "pg-tenant-resharding",
        "opus",
        "Cross-cutting design with invariants (cross-tenant foreign keys, zero downtime).",
        req(
            u(
                "we need to move tenants between postgres shards with zero downtime. 3 tables have foreign keys to a shared `catalog` table that lives on every shard, and billing needs a consistent snapshot per tenant at month end. design the move procedure and tell me what can go wrong"
            )
        ),
        "sql",
        "single",
        "design",
        "distributed",
    ),
    case(
        "c-packet-length-overflow",
        "opus",
        "Security review of a parser: signed/unsigned length check that can be bypassed.",
        req(
            u(
                "security review this parser, it reads untrusted packets from the network\n"
                + code(
                    "c",
                    """
int parse_record(const uint8_t *buf, size_t len, struct record *out) {
    if (len < 4) return -1;
    int16_t n = (int16_t)((buf[2] << 8) | buf[3]);
    if (n > (int)len - 4) return -1;
    out->payload = malloc(n + 1);
    memcpy(out->payload, buf + 4, n);
    out->payload[n] = 0;
    return n + 4;
}
""",
                )
            )
        ),
        "c",
        "single",
        "security",
    ),
    case(
        "raft-figure8-commit",
        "opus",
        "Consensus safety question that is easy to answer confidently and wrongly.",
        req(
            u(
                "in our raft variant the leader marks an entry from a previous term committed as soon as it's on a majority. is that safe? I think it is since a majority has it"
            )
        ),
        "single",
        "distributed",
        "proof",
    ),
    case(
        "crdt-pncounter-negative",
        "opus",
        "CRDT convergence: merge takes the sum instead of the per-replica max; needs a convergence argument.",
        req(
            u(
                "our PN-counter goes negative after partitions heal. find the bug and prove the fixed merge converges\n"
                + code(
                    "ts",
                    """
type PN = { p: Record<string, number>; n: Record<string, number> };
function merge(a: PN, b: PN): PN {
  const out: PN = { p: { ...a.p }, n: { ...a.n } };
  for (const [r, v] of Object.entries(b.p)) out.p[r] = (out.p[r] ?? 0) + v;
  for (const [r, v] of Object.entries(b.n)) out.n[r] = (out.n[r] ?? 0) + v;
  return out;
}
const value = (c: PN) => sum(Object.values(c.p)) - sum(Object.values(c.n));
""",
                )
            )
        ),
        "typescript",
        "single",
        "distributed",
        "proof",
    ),
    case(
        "tla-2pc-timeouts",
        "opus",
        "A TLA+ specification with a checked atomicity invariant.",
        req(
            u(
                "write a TLA+ spec for our two-phase commit coordinator, including participant timeouts that unilaterally abort before voting, and state the atomicity invariant TLC should check"
            )
        ),
        "tla",
        "single",
        "proof",
        "distributed",
    ),
    case(
        "kafka-autocommit-async",
        "opus",
        "Delivery-semantics analysis across rebalances with async processing.",
        req(
            u(
                "kafka consumer with enable.auto.commit=true, we hand records to a thread pool and return from poll immediately. after rebalances we see BOTH duplicates and lost messages. explain exactly which interleavings cause each and design processing that is effectively-once with idempotent writes to postgres"
            )
        ),
        "java",
        "single",
        "distributed",
    ),
    case(
        "c-constant-time-compare",
        "opus",
        "Side-channel review that depends on compiler behaviour.",
        req(
            u(
                "is this actually constant time after -O2? our security team flagged it\n"
                + code(
                    "c",
                    """
int ct_equal(const unsigned char *a, const unsigned char *b, size_t n) {
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= a[i] ^ b[i];
        if (diff) return 0;
    }
    return 1;
}
""",
                )
            )
        ),
        "c",
        "single",
        "security",
    ),
    case(
        "dynarray-shrink-amortized",
        "opus",
        "An amortised-complexity proof where the obvious policy is wrong (thrashing at the boundary).",
        req(
            u(
                "prove that push/pop on our dynamic array are amortized O(1): we double capacity when full and halve it when it drops to half full"
            )
        ),
        "single",
        "proof",
    ),
    case(
        "rust-self-ref-pin-soundness",
        "opus",
        "Unsafe soundness review of a self-referential struct.",
        req(
            u(
                "is this sound? miri doesn't complain in our tests\n"
                + code(
                    "rust",
                    """
pub struct Parser {
    buf: String,
    cur: *const u8,
}

impl Parser {
    pub fn new(buf: String) -> Self {
        let mut p = Parser { buf, cur: std::ptr::null() };
        p.cur = p.buf.as_ptr();
        p
    }
    pub fn push(&mut self, more: &str) { self.buf.push_str(more); }
    pub fn peek(&self) -> u8 { unsafe { *self.cur } }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "security",
        "memory-model",
    ),
    case(
        "oauth-device-flow-threat-model",
        "opus",
        "Threat modelling of an auth flow.",
        req(
            u(
                "threat model our oauth device authorization flow: the polling endpoint, user code entropy (8 chars A-Z), and we bind the issued token to nothing. what attacks matter and what do we change?"
            )
        ),
        "single",
        "security",
    ),
    case(
        "cassandra-counter-retries",
        "opus",
        "Why non-idempotent counter writes plus client retries lose and double increments.",
        req(
            u(
                "cassandra counter column, we write at QUORUM and retry on WriteTimeoutException. counts are sometimes too high and occasionally too low after a node restart. why both directions?"
            )
        ),
        "single",
        "distributed",
    ),
    case(
        "paxos-equal-ballot",
        "opus",
        "Consensus safety of an acceptor's tie-breaking.",
        req(
            u(
                "our paxos acceptor accepts a prepare if ballot >= promised (not strictly greater) so a retried prepare from the same proposer succeeds. two proposers can share a ballot number if their clocks tie. is this safe?"
            )
        ),
        "single",
        "distributed",
        "proof",
    ),
    case(
        "vector-clock-compare-bug",
        "opus",
        "Causality bug: concurrent updates ordered by a sum comparison, silently dropping writes.",
        req(
            u(
                "we lose writes in our multi-master store, I think it's the conflict detection\n"
                + code(
                    "python",
                    """
def happened_before(a: dict[str, int], b: dict[str, int]) -> bool:
    return sum(a.values()) < sum(b.values())

def resolve(local, remote):
    if happened_before(local.clock, remote.clock):
        return remote
    if happened_before(remote.clock, local.clock):
        return local
    return max(local, remote, key=lambda v: v.timestamp)
""",
                )
            )
        ),
        "python",
        "single",
        "distributed",
    ),
    case(
        "seqlock-torn-reads",
        "opus",
        "'Explain' is applied to a subtle memory-model bug: the seqlock's data reads are not ordered with the sequence reads.",
        req(
            u(
                "explain why this seqlock sometimes returns torn values\n"
                + code(
                    "rust",
                    """
pub fn read(&self) -> (u64, u64) {
    loop {
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 { continue; }
        let a = unsafe { std::ptr::read_volatile(&*self.a.get()) };
        let b = unsafe { std::ptr::read_volatile(&*self.b.get()) };
        let s2 = self.seq.load(Ordering::Relaxed);
        if s1 == s2 { return (a, b); }
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "cpp-store-buffering-explain",
        "opus",
        "'Explain' applied to store buffering: acquire/release does not forbid r1 == r2 == 0.",
        req(
            u(
                "can you explain how both r1 and r2 end up 0 here? I used release/acquire everywhere\n"
                + code(
                    "cpp",
                    """
std::atomic<int> x{0}, y{0};
int r1, r2;
void t1() { x.store(1, std::memory_order_release); r1 = y.load(std::memory_order_acquire); }
void t2() { y.store(1, std::memory_order_release); r2 = x.load(std::memory_order_acquire); }
""",
                )
            )
        ),
        "cpp",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "etcd-lease-leader-election",
        "opus",
        "Leader election correctness under lease expiry and clock skew.",
        req(
            u(
                "we elect a leader with an etcd lease (ttl 10s) and the leader does a keepalive every 3s. during a network blip the old leader kept writing to s3 for ~20s while a new one was elected. why, and how do we guarantee at most one writer?"
            )
        ),
        "go",
        "single",
        "distributed",
    ),
    case(
        "java-dcl-nonvolatile-explain",
        "opus",
        "'Explain' on a publication race: a partially constructed object is visible without volatile.",
        req(
            u(
                "explain why we sometimes get a NullPointerException inside Config.get() under load, it's never null when constructed\n"
                + code(
                    "java",
                    """
class Holder {
    private static Config instance;
    static Config get() {
        if (instance == null) {
            synchronized (Holder.class) {
                if (instance == null) instance = new Config(loadProps());
            }
        }
        return instance;
    }
}
final class Config {
    private Map<String, String> props;
    Config(Map<String, String> p) { props = new HashMap<>(p); }
    String get(String k) { return props.get(k); }
}
""",
                )
            )
        ),
        "java",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "perf-tail-latency-investigation",
        "opus",
        "Open-ended performance investigation across layers with only symptoms given.",
        req(
            u(
                "p99 of our checkout API doubles every day at 14:00 UTC for ~10 minutes, p50 is flat, no deploys then, CPU and GC look normal, db p99 also spikes but db CPU doesn't. how would you find the cause? we run go services on k8s behind envoy with pgbouncer in transaction mode"
            )
        ),
        "go",
        "single",
        "performance",
    ),
]
