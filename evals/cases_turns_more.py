"""Multi-turn requests, third batch (group turns-3): chats without tools (Continue chat, Cursor chat,
aider, apps built on the OpenAI SDK) whose last ask decides the tier, and agent loops with tools
(Claude Code, Codex CLI, Cursor agent, Cline, Continue agent) at every stage, plus the clients' own
side requests. New scenarios across languages and stacks; labelled by the rubric in evals/README.md."""

# ruff: noqa: E501, RUF001  (prompts are data: long literal lines and tool output stay as written)

from __future__ import annotations

from typing import Any

from cases_chat_turns import CURSOR_CHAT, attached, continue_ctx, cursor_ask
from fixtures import CONTINUE_CHAT, a, case, code, python_module, req, s, u
from fixtures_agent import (
    AIDER_COMMIT_SYSTEM,
    AIDER_REMINDER,
    AIDER_SUMMARIZE_SYSTEM,
    aider_files,
    aider_readonly,
    aider_repo,
    aider_system,
    repo_map_for,
)

CONT = "continue"
CUR = "cursor"
AI = "aider"
SDK = "sdk-app"


def cont_chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CONTINUE_CHAT), *messages)


def cursor_chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CURSOR_CHAT), *messages)


def aider(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(aider_system()), *messages)


def sdk(system: str, *messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(system), *messages)


DATAPAL = "You are DataPal, the SQL assistant built into Northwind Analytics. The warehouse is Postgres 15. Answer with SQL in fenced blocks and keep explanations short."
OPSBOT = "You are opsbot, an internal assistant for the platform team. Users are engineers running services on our Kubernetes clusters (EKS 1.29). Be concise; give commands they can paste."
TUTOR = "You are a patient senior engineer helping a colleague in a chat tool. Be precise; show code when useful."


# =================================================================================================
# chats without tools: local
# =================================================================================================

LRU_RS = """use std::collections::HashMap;
use std::hash::Hash;

pub struct Lru<K, V> {
    cap: usize,
    map: HashMap<K, (V, u64)>,
    tick: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(cap: usize) -> Self {
        Self { cap, map: HashMap::with_capacity(cap), tick: 0 }
    }

    pub fn get(&mut self, k: &K) -> Option<&V> {
        self.tick += 1;
        let t = self.tick;
        self.map.get_mut(k).map(|e| {
            e.1 = t;
            &e.0
        })
    }

    pub fn put(&mut self, k: K, v: V) {
        self.tick += 1;
        if self.map.len() == self.cap && !self.map.contains_key(&k) {
            let oldest = self.map.iter().min_by_key(|(_, e)| e.1).map(|(k, _)| k.clone());
            if let Some(o) = oldest {
                self.map.remove(&o);
            }
        }
        self.map.insert(k, (v, self.tick));
    }
}"""


def _cont_rust_lru_rename() -> dict[str, Any]:
    return cont_chat(
        u(
            continue_ctx("src/cache.rs", "rust", LRU_RS)
            + "\n\nput() is O(n) because of the min_by_key scan. can we get O(1) without pulling in the lru crate? we can't add deps"
        ),
        a(
            "Yes: keep the HashMap for lookup and an intrusive doubly linked list for recency. In safe Rust the usual trick is to store nodes in a `Vec` (a slab) and link them by index instead of by pointer, so there is no `unsafe` and no `Rc<RefCell<_>>` overhead:\n\n"
            + code(
                "rust src/cache.rs",
                "struct Node<K, V> { k: K, v: V, prev: usize, next: usize }\n\npub struct Lru<K, V> {\n    cap: usize,\n    map: HashMap<K, usize>,\n    nodes: Vec<Node<K, V>>,\n    head: usize, // most recent\n    tail: usize, // least recent\n}\n\nconst NIL: usize = usize::MAX;\n// get: look up index, unlink, push_front. put: if full, reuse the tail slot in place.",
            )
            + "\n\nEviction reuses the tail's slot, so the Vec never grows past `cap` and both operations are O(1)."
        ),
        u("nice, that works and the bench went from 3.1ms to 40µs. one thing: rename `cap` to `capacity` everywhere and make it `pub(crate)` so the metrics module can read it"),
    )


SEARCH_TS = """import { useEffect, useRef, useState } from "react";

export function useSearch(query: string, delayMs = 250) {
  const [results, setResults] = useState<Hit[]>([]);
  const [loading, setLoading] = useState(false);
  const ctrl = useRef<AbortController | null>(null);

  useEffect(() => {
    if (!query) { setResults([]); return; }
    const t = setTimeout(async () => {
      ctrl.current?.abort();
      ctrl.current = new AbortController();
      setLoading(true);
      try {
        const res = await fetch(`/api/search?q=${encodeURIComponent(query)}`, { signal: ctrl.current.signal });
        setResults(await res.json());
      } catch (e) {
        if ((e as Error).name !== "AbortError") throw e;
      } finally {
        setLoading(false);
      }
    }, delayMs);
    return () => clearTimeout(t);
  }, [query, delayMs]);

  return { results, loading };
}"""


def _cursor_ts_jsdoc() -> dict[str, Any]:
    return cursor_chat(
        u(
            cursor_ask(
                [attached("src/hooks/useSearch.ts", SEARCH_TS.replace("} finally {\n        setLoading(false);\n      }", "}\n      setLoading(false);"))],
                "sometimes the results for an older query show up after the newer ones, and the spinner gets stuck. why",
            )
        ),
        a(
            "Two things. The abort only happens when the *next* timer fires, so a slow response for `ab` can still land after you typed `abc` if the `abc` request was already sent and resolved first — the old one is never aborted because it was replaced before it was created. And when an aborted fetch throws, `setLoading(false)` is skipped, so the spinner stays on.\n\nMove the abort into the effect cleanup and put `setLoading(false)` in a `finally`; I've attached the fixed hook with both changes."
        ),
        u(
            cursor_ask(
                [attached("src/hooks/useSearch.ts", SEARCH_TS)],
                "ok that fixed both. now add jsdoc to useSearch: what it does, both params, and the return object",
            )
        ),
    )


RETRY_PY = '''import logging
import time

import httpx

log = logging.getLogger(__name__)


def fetch_with_retry(client: httpx.Client, url: str, attempts: int = 4) -> httpx.Response:
    delay = 0.5
    for i in range(attempts):
        try:
            r = client.get(url, timeout=10)
            if r.status_code < 500:
                return r
            log.warning("upstream %s returned %s (attempt %d/%d)" % (url, r.status_code, i + 1, attempts))
        except httpx.TransportError as exc:
            log.warning("transport error on %s: %s (attempt %d/%d)" % (url, exc, i + 1, attempts))
        time.sleep(delay)
        delay *= 2
    raise RuntimeError("giving up on %s after %d attempts" % (url, attempts))
'''


def _aider_py_lazy_logging() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(41, 6)),
        *aider_files([("app/clients/http.py", RETRY_PY)]),
        u("the log calls use % formatting eagerly. change them to logging's lazy args style (pass the values as arguments), leave the RuntimeError message as it is"),
        s(AIDER_REMINDER),
    )


def _sdk_sql_coalesce() -> dict[str, Any]:
    q = """WITH first_orders AS (
  SELECT customer_id, date_trunc('month', min(created_at)) AS cohort
  FROM orders GROUP BY customer_id
), activity AS (
  SELECT o.customer_id, f.cohort,
         (date_part('year', age(date_trunc('month', o.created_at), f.cohort)) * 12
          + date_part('month', age(date_trunc('month', o.created_at), f.cohort)))::int AS month_n
  FROM orders o JOIN first_orders f USING (customer_id)
)
SELECT cohort, month_n,
       count(DISTINCT customer_id) AS active,
       round(100.0 * count(DISTINCT customer_id)
             / COALESCE(max(count(DISTINCT customer_id)) FILTER (WHERE month_n = 0) OVER (PARTITION BY cohort), 1), 1) AS retention_pct
FROM activity
GROUP BY cohort, month_n
ORDER BY cohort, month_n;"""
    return sdk(
        DATAPAL,
        u("i need a monthly retention cohort table from orders (customer_id, created_at). cohort = month of first order, then % of the cohort active in month 0,1,2..."),
        a("Here's a cohort query. `month_n` is the number of whole months since the cohort month; the window over each cohort picks the month-0 size as the denominator.\n\n" + code("sql", q)),
        u("runs great, 2s on 40M rows. dumb question but what's the COALESCE(..., 1) doing in there"),
    )


WORKERS_GO = """func ProcessAll(ctx context.Context, ids []string, n int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, id := range ids {
		id := id
		g.Go(func() error {
			doc, err := fetch(ctx, id)
			if err != nil {
				return fmt.Errorf("fetch %s: %v", id, err)
			}
			if err := index(ctx, doc); err != nil {
				return fmt.Errorf("index %s: %v", id, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("process all: %v", err)
	}
	return nil
}"""


def _cont_go_wrap_errors() -> dict[str, Any]:
    return cont_chat(
        u("how do i bound the number of goroutines when indexing 200k docs? right now I spawn one per doc and the fetch API rate limits us"),
        a("Use `errgroup` with `SetLimit` (Go 1.20+). It caps concurrency and cancels the shared context on the first error, so the other workers stop fetching:\n\n" + code("go internal/indexer/process.go", WORKERS_GO)),
        u("perfect, deployed it. 8 workers is the sweet spot"),
        a("Good to hear. If the API sends `Retry-After`, honour it in `fetch` rather than lowering the limit further."),
        u(continue_ctx("internal/indexer/process.go", "go", WORKERS_GO) + "\n\nlinter says errors should be wrapped. change the three fmt.Errorf calls to use %w"),
    )


REPO_KT = """class OrderRepository(private val api: OrdersApi, private val dao: OrderDao) {
    suspend fun refresh(status: String): Int {
        val remote = withContext(Dispatchers.IO) { api.list() }
        val label = if (status == "NEW") {
            "New"
        } else if (status == "PAID") {
            "Paid"
        } else if (status == "SHIPPED" || status == "DELIVERED") {
            "On its way"
        } else if (status == "CANCELLED") {
            "Cancelled"
        } else {
            "Unknown"
        }
        dao.upsertAll(remote.map { it.toEntity(label) })
        return remote.size
    }
}"""


def _cursor_kotlin_when() -> dict[str, Any]:
    return cursor_chat(
        u(cursor_ask([attached("app/src/main/java/shop/data/OrderRepository.kt", REPO_KT)], "when the user leaves the screen mid-refresh, does the withContext call get cancelled? the viewModelScope is what calls refresh")),
        a(
            "Yes. `refresh` runs in `viewModelScope`, which is cancelled in `onCleared()`. `withContext(Dispatchers.IO)` is cancellable: when the scope is cancelled, the coroutine gets a `CancellationException` at the next suspension point. Whether the HTTP call itself stops depends on the client — Retrofit's suspend functions cancel the underlying OkHttp call, so yes, the request is aborted too. `dao.upsertAll` won't run."
        ),
        u("cool. unrelated, that if/else chain for label is ugly, turn it into a when"),
    )


def _sdk_regex_postcode() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u("regex to validate UK postcodes in a form? JS"),
        a(
            "A practical pattern (covers all current formats, not a full validity check against Royal Mail's list):\n\n"
            + code("js", "const UK_POSTCODE = /^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$/;\nUK_POSTCODE.test('SW1A 1AA'); // true")
        ),
        u("users type lowercase and sometimes leave out the space (sw1a1aa). make it accept both"),
    )


SPSC_RS = """/// A single-producer single-consumer ring buffer.
///
/// The producer owns `head`, the consumer owns `tail`. Each side reads the other's index with
/// Acquire and publishes its own with Release, so a slot's write happens-before the consumer
/// can recieve it and the consumer's read happens-before the producer reuses the slot.
/// Capacity must be a power of two; indices wrap seperately from the slot mask.
pub struct Spsc<T> {
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
}"""


def _aider_rust_comment_typos() -> dict[str, Any]:
    return aider(
        *aider_files([("src/spsc.rs", SPSC_RS + "\n\n// push/pop unchanged from the previous turn\n")]),
        u("write push and pop for this. the producer and consumer are pinned to different cores, it's the audio path so no locks"),
        a(
            "Here are push and pop. The producer loads `tail` with Acquire to know the slot is free, writes the value, then stores `head` with Release; the consumer mirrors it.\n\nsrc/spsc.rs\n```rust\n<<<<<<< SEARCH\n// push/pop unchanged from the previous turn\n=======\nimpl<T> Spsc<T> {\n    pub fn push(&self, v: T) -> Result<(), T> {\n        let h = self.head.load(Ordering::Relaxed);\n        let t = self.tail.load(Ordering::Acquire);\n        if h.wrapping_sub(t) == self.buf.len() { return Err(v); }\n        unsafe { (*self.buf[h & (self.buf.len() - 1)].get()).write(v) };\n        self.head.store(h.wrapping_add(1), Ordering::Release);\n        Ok(())\n    }\n\n    pub fn pop(&self) -> Option<T> {\n        let t = self.tail.load(Ordering::Relaxed);\n        let h = self.head.load(Ordering::Acquire);\n        if h == t { return None; }\n        let v = unsafe { (*self.buf[t & (self.buf.len() - 1)].get()).assume_init_read() };\n        self.tail.store(t.wrapping_add(1), Ordering::Release);\n        Some(v)\n    }\n}\n>>>>>>> REPLACE\n```"
        ),
        u("the doc comment on Spsc has two typos, recieve and seperately. fix just those"),
        s(AIDER_REMINDER),
    )


def _cont_java_grouping_type() -> dict[str, Any]:
    job = """public Map<String, Long> failuresByCarrier(List<Shipment> shipments) {
    return shipments.stream()
        .filter(s -> s.status() == Status.FAILED)
        .collect(Collectors.groupingBy(Shipment::carrier, Collectors.counting()));
}"""
    return cont_chat(
        u("our nightly reconciliation job takes 2h. it loads all shipments of the day into memory (~3M), then does 6 separate stream passes for the report. ideas?"),
        a(
            "Three that usually pay off:\n\n1. Push the aggregation into SQL: `GROUP BY carrier, status` gives you every count in one query instead of 3M rows over the wire.\n2. If you must stay in Java, make it one pass: collect into a small accumulator per carrier instead of six streams.\n3. Page through by id (`WHERE id > :last ORDER BY id LIMIT 50000`) so the heap stays flat.\n\nStart with 1; the six passes are cheap compared to materialising 3M entities with Hibernate."
        ),
        u(continue_ctx("src/main/java/ops/recon/Report.java", "java", job) + "\n\nbefore I rip it out: what's the exact type groupingBy with counting() gives back? is the map ordered?"),
    )


def _cursor_center_spinner() -> dict[str, Any]:
    jsx = """export function OrdersPanel({ orders, loading }: Props) {
  return (
    <section className="panel" style={{ height: 480 }}>
      <header className="panel__head">Orders</header>
      {loading ? <Spinner /> : <OrdersTable rows={orders} />}
    </section>
  );
}"""
    return cursor_chat(
        u(cursor_ask([attached("src/components/OrdersPanel.tsx", jsx)], "should the fetching of orders live in this component or in the page? we use react-query")),
        a("Keep it in the page (or a `useOrders` hook the page calls) and pass `orders`/`loading` down, as you do now. The panel stays a dumb view you can reuse in the dashboard and test without mocking the network; react-query's cache dedupes if two pages ask for the same key."),
        u("ok. the spinner sits at the top left of the panel though, i want it dead center of the area under the header. css only pls"),
    )


ENUM_PY = '''def render_invoice_lines(lines):
    out = []
    for n, line in enumerate(lines, start=1):
        out.append(f"{n:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}")
    return "\\n".join(out)
'''


def _aider_why_enumerate_start() -> dict[str, Any]:
    old = '''def render_invoice_lines(lines):
    out = []
    for i in range(len(lines)):
        line = lines[i]
        out.append(f"{i + 1:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}")
    return "\\n".join(out)
'''
    return aider(
        *aider_files([("billing/pdf/lines.py", old)]),
        u("clean up render_invoice_lines, it looks like C"),
        a(
            "billing/pdf/lines.py\n```python\n<<<<<<< SEARCH\n    for i in range(len(lines)):\n        line = lines[i]\n        out.append(f\"{i + 1:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}\")\n=======\n    for n, line in enumerate(lines, start=1):\n        out.append(f\"{n:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}\")\n>>>>>>> REPLACE\n```"
        ),
        u("why enumerate(start=1) and not just i+1 like before? same output?"),
    )


def _sdk_biggest_logs() -> dict[str, Any]:
    return sdk(
        OPSBOT,
        u("our bastion keeps filling /var/log. logrotate is installed, how do I rotate /var/log/app/*.log daily, keep 7, compress?"),
        a(
            "Drop this in `/etc/logrotate.d/app`:\n\n"
            + code("text", "/var/log/app/*.log {\n    daily\n    rotate 7\n    compress\n    delaycompress\n    missingok\n    notifempty\n    copytruncate\n}")
            + "\n\nTest with `sudo logrotate -d /etc/logrotate.d/app` (dry run), then force once with `-f`."
        ),
        u("done. still 94% full tho. one-liner to list the 5 biggest files under /var/log with sizes?"),
    )


TOAST_TS = """export function toastFor(err: ApiError): Toast {
  const tone = err.status >= 500 ? "danger" : "warning";
  return { tone, title: err.status >= 500 ? "Something went wrong" : err.message, timeoutMs: 6000 };
}"""


def _cont_ts_revert_ternary() -> dict[str, Any]:
    return cont_chat(
        u(continue_ctx("web/src/lib/toast.ts", "typescript", TOAST_TS) + "\n\nmake this easier to read"),
        a(
            "Split the two decisions so each reads on its own line:\n\n"
            + code(
                "typescript web/src/lib/toast.ts",
                'export function toastFor(err: ApiError): Toast {\n  const isServerError = err.status >= 500;\n  let tone: Toast["tone"];\n  if (isServerError) {\n    tone = "danger";\n  } else {\n    tone = "warning";\n  }\n  const title = isServerError ? "Something went wrong" : err.message;\n  return { tone, title, timeoutMs: 6000 };\n}',
            )
        ),
        u("meh, the if/else for tone is worse. put the ternary back for tone, keep the isServerError const and the title line"),
    )


BUCKET_PY = '''import asyncio
import time


class TokenBucket:
    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def acquire(self, n=1):
        async with self.lock:
            while True:
                self._refill()
                if self.tokens >= n:
                    self.tokens -= n
                    return
                await asyncio.sleep((n - self.tokens) / self.rate)

    def _refill(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now


def per_host_buckets(hosts, rate, burst):
    return {h: TokenBucket(rate, burst) for h in hosts}


def bucket_for(buckets, url):
    from urllib.parse import urlsplit
    return buckets[urlsplit(url).hostname]
'''


def _cursor_py_type_hints() -> dict[str, Any]:
    return cursor_chat(
        u("crawler hits each host too fast and gets 429s. we use aiohttp with ~200 concurrent tasks. I want per-host rate limits, 5 req/s with bursts of 10"),
        a(
            "A token bucket per host does this. Holding the lock while sleeping is deliberate: waiters queue up in order instead of all waking at once and stampeding.\n\n"
            + code("python crawler/ratelimit.py", BUCKET_PY)
            + "\n\nCall `await bucket_for(buckets, url).acquire()` before each request."
        ),
        u("works, 429s are gone. is holding the lock during sleep going to block other hosts?"),
        a("No: each host has its own `TokenBucket` with its own lock, so a sleeping waiter only blocks other requests for the same host, which would have to wait anyway."),
        u(cursor_ask([attached("crawler/ratelimit.py", BUCKET_PY)], "ok. add type hints to everything in this file, mypy strict is on in CI")),
    )


def _sdk_git_undo_commit() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u("we're moving our monorepo CI from jenkins to github actions. 40 services, each has its own Jenkinsfile with build/test/deploy. how would you structure the workflows so we don't copy paste 40 times"),
        a(
            "Use one reusable workflow (`.github/workflows/service.yml` with `on: workflow_call`) taking the service path and a few inputs, and one small caller workflow that detects changed services with `dorny/paths-filter` and fans out with a matrix. Deploys go in a separate job gated by `environment: production` so the approvals live in GitHub, not in 40 files. Composite actions cover the shared setup steps (toolchain, cache)."
        ),
        u("makes sense, I'll start on that. side thing: I just committed to main locally by mistake (not pushed). how do I undo the commit but keep my changes"),
    )


LOCAL_CHAT = [
    case("t3-cont-rust-lru-rename", "local", "After an O(1) LRU design in Rust the last ask is a field rename and a visibility change.", _cont_rust_lru_rename(), "rust", "chat", CONT, "edit"),
    case("t3-cursor-ts-jsdoc", "local", "The race is already fixed; the last ask is JSDoc for one short hook.", _cursor_ts_jsdoc(), "typescript", "react", "chat", CUR, "docs"),
    case("t3-aider-py-lazy-logging", "local", "Switching three log calls from eager % formatting to logging's lazy arguments is mechanical.", _aider_py_lazy_logging(), "python", "chat", AI, "edit"),
    case("t3-sdk-sql-coalesce", "local", "Explaining what COALESCE does in one expression of a query already written.", _sdk_sql_coalesce(), "sql", "postgres", "chat", SDK, "question"),
    case("t3-cont-go-wrap-errors", "local", "Replacing %v with %w in three fmt.Errorf calls is a mechanical edit.", _cont_go_wrap_errors(), "go", "chat", CONT, "edit"),
    case("t3-cursor-kotlin-when", "local", "Turning an if/else chain into a Kotlin when expression, after a cancellation question already answered.", _cursor_kotlin_when(), "kotlin", "android", "chat", CUR, "edit"),
    case("t3-sdk-regex-postcode-followup", "local", "Making a known regex case-insensitive with an optional space is a one-line change.", _sdk_regex_postcode(), "javascript", "regex", "chat", SDK),
    case("t3-aider-rust-comment-typos", "local", "Two spelling fixes in a doc comment, although the file is a lock-free ring buffer.", _aider_rust_comment_typos(), "rust", "chat", AI, "lock-free", "misleading"),
    case("t3-cont-java-grouping-type", "local", "An API lookup: groupingBy with counting() returns a HashMap<K, Long> with no ordering guarantee.", _cont_java_grouping_type(), "java", "chat", CONT, "question"),
    case("t3-cursor-center-spinner", "local", "Centering an element in the remaining area of a flex column is textbook CSS.", _cursor_center_spinner(), "css", "react", "chat", CUR),
    case("t3-aider-why-enumerate-start", "local", "An honest answer about enumerate(start=1) versus i + 1 is short and textbook: same output.", _aider_why_enumerate_start(), "python", "chat", AI, "followup"),
    case("t3-sdk-biggest-logs", "local", "A well-known du/sort one-liner after a logrotate config already given.", _sdk_biggest_logs(), "shell", "chat", SDK),
    case("t3-cont-ts-revert-ternary", "local", "Partly reverting a readability edit (ternary back for one variable) is mechanical.", _cont_ts_revert_ternary(), "typescript", "chat", CONT, "edit"),
    case("t3-cursor-py-type-hints", "local", "Type hints on a 40-line rate limiter already written and explained.", _cursor_py_type_hints(), "python", "chat", CUR, "edit"),
    case("t3-sdk-git-undo-commit", "local", "After a CI design talk the last ask is the textbook `git reset --soft HEAD~1`.", _sdk_git_undo_commit(), "git", "github-actions", "chat", SDK),
]

CASES = [*LOCAL_CHAT]
