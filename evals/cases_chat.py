"""Multi-turn chats. The label is for the *last* request, given the conversation so far: a hard
discussion can end in a trivial ask, and a casual one can end in a hard question."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, a, case, code, req, s, u

FETCH_PY = code(
    "python",
    """
def fetch_user(user_id):
    resp = requests.get(f"{BASE}/users/{user_id}", timeout=5)
    resp.raise_for_status()
    return resp.json()
""",
)


def _small_edit_session(turns: int) -> list[dict[str, str]]:
    asks = [
        ("add a type hint for the return value", "Done: `-> dict[str, Any]`."),
        ("use f-strings in the log lines", "Updated the three log calls to f-strings."),
        ("make the timeout a parameter with default 5", "Added `timeout: float = 5.0`."),
        ("move BASE into settings", "Now reads `settings.API_BASE`."),
        ("add a docstring", "Added a one-paragraph docstring."),
        ("raise a custom NotFound on 404", "Added `class NotFound(Exception)` and a 404 check."),
        ("sort the imports", "Sorted."),
        ("remove the unused json import", "Removed."),
    ]
    msgs: list[dict[str, str]] = [
        s(CONTINUE_CHAT),
        u("can you clean up this function a bit\n" + FETCH_PY),
        a("Sure — here it is with minor cleanups."),
    ]
    i = 0
    while len(msgs) < turns:
        q, r = asks[i % len(asks)]
        msgs += [u(q), a(r)]
        i += 1
    return msgs


CASES = [
    case(
        "chat-py-make-async",
        "local",
        "Follow-up converting a small function to httpx async.",
        req(
            u("write a function that fetches a user by id from our API with requests"),
            a("Here you go:\n" + FETCH_PY),
            u("now make it async with httpx"),
        ),
        "python",
        "chat",
        "edit",
    ),
    case(
        "chat-ts-add-docstring",
        "local",
        "A docstring after a small answer.",
        req(
            u("how do I debounce a function in typescript without lodash"),
            a(
                code(
                    "ts",
                    """
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let t: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
""",
                )
            ),
            u("thanks! add a jsdoc comment to it"),
        ),
        "typescript",
        "chat",
        "edit",
    ),
    case(
        "chat-regex-uppercase",
        "local",
        "Iterating on a simple regex.",
        req(
            u("regex for a uk postcode"),
            a("`^[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}$`"),
            u("doesn't match lowercase input like sw1a 1aa"),
            a("Add the `i` flag: `/^[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}$/i`."),
            u("and allow surrounding whitespace?"),
        ),
        "javascript",
        "chat",
        "regex",
    ),
    case(
        "chat-sql-zero-orders",
        "local",
        "Turning an inner join into a left join with COALESCE.",
        req(
            u("count orders per customer: customers(id,name), orders(id,customer_id)"),
            a(
                code(
                    "sql",
                    "SELECT c.name, COUNT(*) AS n FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name;",
                )
            ),
            u("also include customers with zero orders"),
        ),
        "sql",
        "chat",
        "query",
    ),
    case(
        "chat-bash-recursive",
        "local",
        "Small follow-up to a one-liner.",
        req(
            u("rename all .jpeg files in this folder to .jpg"),
            a(code("bash", 'for f in *.jpeg; do mv -- "$f" "${f%.jpeg}.jpg"; done')),
            u("make it recursive into subfolders"),
        ),
        "shell",
        "chat",
    ),
    case(
        "chat-long-session-rename",
        "local",
        "A long session of small edits; the last is a rename. Conversation length is not difficulty.",
        req(*_small_edit_session(18), u("ok last one, rename fetch_user to get_user")),
        "python",
        "chat",
        "long-conversation",
        "edit",
    ),
    case(
        "chat-py-translate-go",
        "local",
        "Translate a short function to Go.",
        req(
            u("write a python function that chunks a list into pieces of size n"),
            a(code("python", "def chunks(xs, n):\n    return [xs[i:i + n] for i in range(0, len(xs), n)]")),
            u("same thing in go with generics"),
        ),
        "go",
        "python",
        "chat",
    ),
    case(
        "chat-csharp-linq-order",
        "local",
        "One more LINQ clause.",
        req(
            s(COPILOT_LIKE),
            u("linq to get active users' emails"),
            a(code("csharp", "var emails = users.Where(u => u.IsActive).Select(u => u.Email).ToList();")),
            u("order them by LastLogin descending first"),
        ),
        "csharp",
        "chat",
    ),
    case(
        "chat-after-deep-talk-pytest-k",
        "local",
        "A long design discussion ends with a command lookup.",
        req(
            u(
                "we're designing idempotent consumers for our payment events. how should the dedupe table work with at-least-once delivery?"
            ),
            a(
                "Keep a processed_events table keyed by event id, insert it in the same transaction as the side effect, and treat a unique violation as 'already done'. "
                * 4
            ),
            u("what about events that arrive out of order?"),
            a("Carry a per-aggregate sequence number and either buffer gaps or reject and retry. " * 4),
            u(
                "ok I wrote a test for it in tests/test_consumer.py, how do I run just that one test with pytest, it's called test_out_of_order"
            ),
        ),
        "python",
        "chat",
        "question",
    ),
    case(
        "chat-py-debug-session",
        "sonnet",
        "Iterative debugging with a new stack trace each turn.",
        req(
            s(CONTINUE_CHAT),
            u("celery task fails with `kombu.exceptions.EncodeError: Object of type Decimal is not JSON serializable`"),
            a(
                "Your task returns a Decimal. Either convert to str/float before returning or switch the serializer to pickle (not recommended)."
            ),
            u(
                "I converted the return value, now I get\n"
                + code(
                    "text",
                    """
celery.exceptions.TimeoutError: The operation timed out.
  File "app/views.py", line 88, in checkout
    total = compute_total.delay(cart_id).get(timeout=10)
""",
                )
                + "\nthe task itself finishes in 200ms according to flower"
            ),
            a(
                "Flower shows it finishing, so the result isn't reaching the backend. Is `result_backend` configured, and is `task_ignore_result` set anywhere?"
            ),
            u(
                "result_backend is redis://redis:6379/1, and yes CELERY_TASK_IGNORE_RESULT = True is in base settings because ops wanted less redis load. the other tasks rely on that. what's the right fix?"
            ),
        ),
        "python",
        "chat",
        "debug",
    ),
    case(
        "chat-react-stale-state",
        "sonnet",
        "State/closure bug across renders in a multi-turn chat.",
        req(
            u(
                "my counter only increments once when I click fast\n"
                + code(
                    "tsx",
                    """
const [count, setCount] = useState(0);
const onClick = () => { setTimeout(() => setCount(count + 1), 200); };
""",
                )
            ),
            a("Use the functional updater: `setCount(c => c + 1)`."),
            u(
                "that fixed it. but now in this other component the websocket handler always logs the initial filter value\n"
                + code(
                    "tsx",
                    """
const [filter, setFilter] = useState("all");
useEffect(() => {
  const ws = new WebSocket(url);
  ws.onmessage = (e) => { if (matches(JSON.parse(e.data), filter)) push(e.data); };
  return () => ws.close();
}, []);
""",
                )
                + "\nI don't want to reconnect the socket every time the filter changes"
            ),
        ),
        "typescript",
        "chat",
        "debug",
    ),
    case(
        "chat-cache-layer-implement",
        "sonnet",
        "After a design discussion, implement a read-through cache with invalidation for one service.",
        req(
            u("we want a read-through cache in front of our product service (python, redis). thoughts?"),
            a(
                "Cache-aside with TTL plus explicit invalidation on writes; version keys to avoid races on update; guard against stampedes with a short lock."
            ),
            u(
                "ok write it: a ProductCache class with get(product_id) and invalidate(product_id), stampede lock with SET NX, 5 min TTL, json serialization, and tests with fakeredis"
            ),
        ),
        "python",
        "chat",
        "implement",
    ),
    case(
        "chat-go-flaky-test",
        "sonnet",
        "Flaky test from a timing assumption; test output provided.",
        req(
            u(
                "this test is flaky in CI\n"
                + code(
                    "go",
                    """
func TestDebouncer(t *testing.T) {
    var n int32
    d := NewDebouncer(50*time.Millisecond, func() { atomic.AddInt32(&n, 1) })
    for i := 0; i < 5; i++ { d.Trigger() }
    time.Sleep(60 * time.Millisecond)
    if atomic.LoadInt32(&n) != 1 { t.Fatalf("got %d", n) }
}
""",
                )
            ),
            a(
                "Sleeping 60ms for a 50ms debounce leaves 10ms of slack; under CI load that's not enough. Inject a clock or wait with a deadline."
            ),
            u(
                "I'd rather inject a clock. here's the debouncer, can you refactor it and rewrite the test?\n"
                + code(
                    "go",
                    """
type Debouncer struct {
    mu    sync.Mutex
    timer *time.Timer
    wait  time.Duration
    fn    func()
}
func NewDebouncer(wait time.Duration, fn func()) *Debouncer { return &Debouncer{wait: wait, fn: fn} }
func (d *Debouncer) Trigger() {
    d.mu.Lock()
    defer d.mu.Unlock()
    if d.timer != nil { d.timer.Stop() }
    d.timer = time.AfterFunc(d.wait, d.fn)
}
""",
                )
            ),
        ),
        "go",
        "chat",
        "tests",
    ),
    case(
        "chat-sql-still-slow",
        "sonnet",
        "Second round of query tuning with a new plan.",
        req(
            u(
                "slow query on events(user_id, type, created_at), 200M rows: SELECT * FROM events WHERE user_id = $1 AND type = 'click' ORDER BY created_at DESC LIMIT 20"
            ),
            a("Add a composite index `(user_id, type, created_at DESC)`."),
            u(
                "added it, still 800ms for some users\n"
                + code(
                    "text",
                    """
Limit  (actual time=792.1..792.3 rows=20)
  ->  Sort  (actual time=792.1..792.2 rows=20)
        Sort Key: created_at DESC
        Sort Method: top-N heapsort  Memory: 31kB
        ->  Bitmap Heap Scan on events  (actual time=12.4..771.9 rows=412337)
              Recheck Cond: ((user_id = 9913) AND (type = 'click'::text))
              ->  Bitmap Index Scan on events_user_type_created_idx  (rows=412337)
""",
                )
                + "\nthe index exists, why is it doing a bitmap scan + sort?"
            ),
        ),
        "sql",
        "chat",
        "performance",
    ),
    case(
        "chat-rust-trait-object",
        "sonnet",
        "Object safety and generics over a few turns.",
        req(
            u("error: the trait `Storage` cannot be made into an object"),
            a("A trait with generic methods or methods returning `Self` isn't object safe. Can you show the trait?"),
            u(
                code(
                    "rust",
                    """
pub trait Storage {
    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>>;
    fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()>;
}
""",
                )
                + "\nI need Box<dyn Storage> because the backend is chosen from config at startup (sqlite or s3)"
            ),
        ),
        "rust",
        "chat",
        "design",
    ),
    case(
        "chat-k8s-ingress-tls",
        "sonnet",
        "Config debugging across ingress, cert-manager and service.",
        req(
            s(CONTINUE_CHAT),
            u("set up tls on my nginx ingress with cert-manager and letsencrypt"),
            a(
                "Create a ClusterIssuer for ACME HTTP-01, then annotate the Ingress with `cert-manager.io/cluster-issuer` and add a `tls:` block with a secretName."
            ),
            u(
                "the certificate is stuck: `Issuing certificate as Secret does not exist`, the challenge shows `Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'`. the ingress has `nginx.ingress.kubernetes.io/ssl-redirect: \"true\"` and a global auth annotation. what's blocking it?"
            ),
        ),
        "kubernetes",
        "chat",
        "debug",
    ),
    case(
        "chat-monolith-extract-plan",
        "sonnet",
        "A plan to extract one module into a service; several files, known playbook.",
        req(
            u("we want to pull the notifications module out of our django monolith into its own service"),
            a(
                "Start by drawing the boundary: which models, signals and tasks belong to notifications, and who calls it."
            ),
            u(
                "it's notifications/models.py, notifications/tasks.py and notifications/signals.py, called from orders/views.py and accounts/services.py via direct function calls. give me a step by step plan with a strangler approach and what the API between them should look like"
            ),
        ),
        "python",
        "chat",
        "design",
    ),
    case(
        "chat-event-replay-proof",
        "opus",
        "A design discussion ends with a request for a correctness argument about out-of-order replay.",
        req(
            u("we're building projections from an event store. events per aggregate have a version number."),
            a("Projections should apply events in version order per aggregate and record the last applied version."),
            u(
                "but our projector consumes from kafka partitioned by tenant, not aggregate, and replays can interleave with live events"
            ),
            a(
                "Then per-aggregate ordering is only preserved if all of an aggregate's events land in one partition; with tenant partitioning they do, but replay interleaving needs a guard."
            ),
            u(
                "our guard is: apply an event only if event.version == last_version + 1, otherwise park it and retry later. prove the projection converges to the same state as an in-order replay, or show a case where it doesn't (deletes and snapshots exist too)"
            ),
        ),
        "chat",
        "distributed",
        "proof",
    ),
    case(
        "chat-aba-tagged-pointer",
        "opus",
        "ABA analysis with a 16-bit tag under realistic contention.",
        req(
            u("i'm writing a treiber stack in c++ with a tagged pointer to avoid ABA"),
            a("Pack a counter with the pointer and CAS both; increment the tag on every successful pop."),
            u(
                "we use the top 16 bits of the pointer for the tag on x86-64. under heavy contention with 64 threads and a freelist that recycles nodes immediately, is ABA still possible? how likely, and what would you do instead?"
            ),
        ),
        "cpp",
        "chat",
        "concurrency",
        "memory-model",
    ),
    case(
        "chat-raft-membership",
        "opus",
        "Membership-change safety in consensus.",
        req(
            u("how does raft handle adding a server?"),
            a("Via configuration changes replicated through the log; the simplest form adds one server at a time."),
            u(
                "we want to go from 3 to 5 nodes in one config change to save time, applying the new config as soon as it's appended (not committed). can two leaders be elected in the same term during the switch?"
            ),
        ),
        "chat",
        "distributed",
        "proof",
    ),
    case(
        "chat-password-reset-review",
        "opus",
        "Security review of a reset flow after a general discussion.",
        req(
            u("what's the best practice for password reset tokens?"),
            a(
                "Random 128-bit+ tokens, stored hashed, single use, short expiry, bound to the user, compared in constant time."
            ),
            u(
                "here's ours, please review it properly\n"
                + code(
                    "python",
                    """
def request_reset(email):
    user = User.find(email=email)
    if not user:
        return "no such user", 404
    token = hashlib.md5(f"{user.id}{time.time()}".encode()).hexdigest()
    cache.set(f"reset:{token}", user.id, ttl=86400)
    mail(user.email, f"https://app/reset?t={token}")
    return "ok", 200

def reset(token, new_password):
    user_id = cache.get(f"reset:{token}")
    if user_id:
        User.get(user_id).set_password(new_password)
        return "ok", 200
    return "invalid", 400
""",
                )
            ),
        ),
        "python",
        "chat",
        "security",
    ),
    case(
        "chat-allocator-contention",
        "opus",
        "Performance investigation with a flame graph: contention hidden inside the allocator across threads.",
        req(
            u("our c++ service scales badly past 8 cores, throughput flat from 8 to 32 threads"),
            a("Can you share a profile? perf record -g with a flame graph would help."),
            u(
                "top of `perf report --no-children`:\n"
                + code(
                    "text",
                    """
  31.2%  [kernel]      native_queued_spin_lock_slowpath
  14.8%  libc.so.6     _int_malloc
   9.9%  libc.so.6     _int_free
   6.1%  service       std::_Sp_counted_base<>::_M_release
   4.4%  [kernel]      futex_wake
   3.9%  service       Router::dispatch
""",
                )
                + "\nthe spinlock callers are mostly from mmap/munmap and futex. requests allocate lots of small std::string and shared_ptr. what's going on and what would you try, in order?"
            ),
        ),
        "cpp",
        "chat",
        "performance",
    ),
]
