"""Multi-turn requests, third batch (group turns-3): chats without tools (Continue chat, Cursor chat,
aider, apps built on the OpenAI SDK) whose last ask decides the tier, and agent loops with tools
(Claude Code, Codex CLI, Cursor agent, Cline, Continue agent) at every stage, plus the clients' own
side requests. New scenarios across languages and stacks; labelled by the rubric in evals/README.md."""

# ruff: noqa: E501  (prompts are data: long literal lines and tool output stay as written)

from __future__ import annotations

from typing import Any

from cases_chat_turns import CURSOR_CHAT, attached, continue_ctx, cursor_ask
from fixtures import CONTINUE_CHAT, a, case, code, python_module, req, s, u
from fixtures_agent import (
    AIDER_COMMIT_SYSTEM,
    AIDER_REMINDER,
    AIDER_SUMMARIZE_SYSTEM,
    CC_TOOLS,
    CODEX_INSTRUCTIONS,
    CODEX_TOOLS,
    CONTINUE_AGENT_SYSTEM,
    CONTINUE_TOOLS,
    CURSOR_SYSTEM,
    CURSOR_TOOLS,
    TODO_EMPTY,
    TODO_OK,
    Loop,
    agents_md,
    aider_files,
    aider_repo,
    aider_system,
    bash_lc,
    cc_edit_error,
    cc_edited,
    cc_read,
    cc_system,
    claude_md,
    cline_cmd,
    cline_file,
    cline_result,
    cline_system,
    cline_task,
    cursor_cmd_result,
    cursor_edit_result,
    cursor_read,
    cursor_user,
    cx_out,
    env_context,
    env_details,
    opened_file,
    patch,
    repo_map_for,
    todos,
    user_parts,
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
        u(
            "nice, that works and the bench went from 3.1ms to 40µs. one thing: rename `cap` to `capacity` everywhere and make it `pub(crate)` so the metrics module can read it"
        ),
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
                [
                    attached(
                        "src/hooks/useSearch.ts",
                        SEARCH_TS.replace(
                            "} finally {\n        setLoading(false);\n      }", "}\n      setLoading(false);"
                        ),
                    )
                ],
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


RETRY_PY = """import logging
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
"""


def _aider_py_lazy_logging() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(41, 6)),
        *aider_files([("app/clients/http.py", RETRY_PY)]),
        u(
            "the log calls use % formatting eagerly. change them to logging's lazy args style (pass the values as arguments), leave the RuntimeError message as it is"
        ),
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
        u(
            "i need a monthly retention cohort table from orders (customer_id, created_at). cohort = month of first order, then % of the cohort active in month 0,1,2..."
        ),
        a(
            "Here's a cohort query. `month_n` is the number of whole months since the cohort month; the window over each cohort picks the month-0 size as the denominator.\n\n"
            + code("sql", q)
        ),
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
        u(
            "how do i bound the number of goroutines when indexing 200k docs? right now I spawn one per doc and the fetch API rate limits us"
        ),
        a(
            "Use `errgroup` with `SetLimit` (Go 1.20+). It caps concurrency and cancels the shared context on the first error, so the other workers stop fetching:\n\n"
            + code("go internal/indexer/process.go", WORKERS_GO)
        ),
        u("perfect, deployed it. 8 workers is the sweet spot"),
        a("Good to hear. If the API sends `Retry-After`, honour it in `fetch` rather than lowering the limit further."),
        u(
            continue_ctx("internal/indexer/process.go", "go", WORKERS_GO)
            + "\n\nlinter says errors should be wrapped. change the three fmt.Errorf calls to use %w"
        ),
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
        u(
            cursor_ask(
                [attached("app/src/main/java/shop/data/OrderRepository.kt", REPO_KT)],
                "when the user leaves the screen mid-refresh, does the withContext call get cancelled? the viewModelScope is what calls refresh",
            )
        ),
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
            + code(
                "js",
                "const UK_POSTCODE = /^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$/;\nUK_POSTCODE.test('SW1A 1AA'); // true",
            )
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
        *aider_files(
            [
                (
                    "src/spsc.rs",
                    SPSC_RS
                    + "\n\nimpl<T> Spsc<T> {\n    pub fn push(&self, v: T) -> Result<(), T> {\n        let h = self.head.load(Ordering::Relaxed);\n        let t = self.tail.load(Ordering::Acquire);\n        if h.wrapping_sub(t) == self.buf.len() { return Err(v); }\n        unsafe { (*self.buf[h & (self.buf.len() - 1)].get()).write(v) };\n        self.head.store(h.wrapping_add(1), Ordering::Release);\n        Ok(())\n    }\n\n    pub fn pop(&self) -> Option<T> {\n        let t = self.tail.load(Ordering::Relaxed);\n        let h = self.head.load(Ordering::Acquire);\n        if h == t { return None; }\n        let v = unsafe { (*self.buf[t & (self.buf.len() - 1)].get()).assume_init_read() };\n        self.tail.store(t.wrapping_add(1), Ordering::Release);\n        Some(v)\n    }\n}\n",
                )
            ]
        ),
        u(
            "write push and pop for this. the producer and consumer are pinned to different cores, it's the audio path so no locks"
        ),
        a(
            "Here are push and pop. The producer loads `tail` with Acquire to know the slot is free, writes the value, then stores `head` with Release; the consumer mirrors it.\n\nsrc/spsc.rs\n```rust\n<<<<<<< SEARCH\n// TODO: push/pop\n=======\nimpl<T> Spsc<T> {\n    pub fn push(&self, v: T) -> Result<(), T> {\n        let h = self.head.load(Ordering::Relaxed);\n        let t = self.tail.load(Ordering::Acquire);\n        if h.wrapping_sub(t) == self.buf.len() { return Err(v); }\n        unsafe { (*self.buf[h & (self.buf.len() - 1)].get()).write(v) };\n        self.head.store(h.wrapping_add(1), Ordering::Release);\n        Ok(())\n    }\n\n    pub fn pop(&self) -> Option<T> {\n        let t = self.tail.load(Ordering::Relaxed);\n        let h = self.head.load(Ordering::Acquire);\n        if h == t { return None; }\n        let v = unsafe { (*self.buf[t & (self.buf.len() - 1)].get()).assume_init_read() };\n        self.tail.store(t.wrapping_add(1), Ordering::Release);\n        Some(v)\n    }\n}\n>>>>>>> REPLACE\n```"
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
        u(
            "our nightly reconciliation job takes 2h. it loads all shipments of the day into memory (~3M), then does 6 separate stream passes for the report. ideas?"
        ),
        a(
            "Three that usually pay off:\n\n1. Push the aggregation into SQL: `GROUP BY carrier, status` gives you every count in one query instead of 3M rows over the wire.\n2. If you must stay in Java, make it one pass: collect into a small accumulator per carrier instead of six streams.\n3. Page through by id (`WHERE id > :last ORDER BY id LIMIT 50000`) so the heap stays flat.\n\nStart with 1; the six passes are cheap compared to materialising 3M entities with Hibernate."
        ),
        u(
            continue_ctx("src/main/java/ops/recon/Report.java", "java", job)
            + "\n\nbefore I rip it out: what's the exact type groupingBy with counting() gives back? is the map ordered?"
        ),
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
        u(
            cursor_ask(
                [attached("src/components/OrdersPanel.tsx", jsx)],
                "should the fetching of orders live in this component or in the page? we use react-query",
            )
        ),
        a(
            "Keep it in the page (or a `useOrders` hook the page calls) and pass `orders`/`loading` down, as you do now. The panel stays a dumb view you can reuse in the dashboard and test without mocking the network; react-query's cache dedupes if two pages ask for the same key."
        ),
        u(
            "ok. the spinner sits at the top left of the panel though, i want it dead center of the area under the header. css only pls"
        ),
    )


ENUM_PY = """def render_invoice_lines(lines):
    out = []
    for n, line in enumerate(lines, start=1):
        out.append(f"{n:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}")
    return "\\n".join(out)
"""


def _aider_why_enumerate_start() -> dict[str, Any]:
    return aider(
        *aider_files([("billing/pdf/lines.py", ENUM_PY)]),
        u("clean up render_invoice_lines, it looks like C"),
        a(
            'billing/pdf/lines.py\n```python\n<<<<<<< SEARCH\n    for i in range(len(lines)):\n        line = lines[i]\n        out.append(f"{i + 1:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}")\n=======\n    for n, line in enumerate(lines, start=1):\n        out.append(f"{n:>3}. {line.sku:<12} {line.qty:>4} x {line.unit_price:>9.2f}")\n>>>>>>> REPLACE\n```'
        ),
        u("why enumerate(start=1) and not just i+1 like before? same output?"),
    )


def _sdk_biggest_logs() -> dict[str, Any]:
    return sdk(
        OPSBOT,
        u(
            "our bastion keeps filling /var/log. logrotate is installed, how do I rotate /var/log/app/*.log daily, keep 7, compress?"
        ),
        a(
            "Drop this in `/etc/logrotate.d/app`:\n\n"
            + code(
                "text",
                "/var/log/app/*.log {\n    daily\n    rotate 7\n    compress\n    delaycompress\n    missingok\n    notifempty\n    copytruncate\n}",
            )
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
        u(
            "meh, the if/else for tone is worse. put the ternary back for tone, keep the isServerError const and the title line"
        ),
    )


BUCKET_PY = """import asyncio
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
"""


def _cursor_py_type_hints() -> dict[str, Any]:
    return cursor_chat(
        u(
            "crawler hits each host too fast and gets 429s. we use aiohttp with ~200 concurrent tasks. I want per-host rate limits, 5 req/s with bursts of 10"
        ),
        a(
            "A token bucket per host does this. Holding the lock while sleeping is deliberate: waiters queue up in order instead of all waking at once and stampeding.\n\n"
            + code("python crawler/ratelimit.py", BUCKET_PY)
            + "\n\nCall `await bucket_for(buckets, url).acquire()` before each request."
        ),
        u("works, 429s are gone. is holding the lock during sleep going to block other hosts?"),
        a(
            "No: each host has its own `TokenBucket` with its own lock, so a sleeping waiter only blocks other requests for the same host, which would have to wait anyway."
        ),
        u(
            cursor_ask(
                [attached("crawler/ratelimit.py", BUCKET_PY)],
                "ok. add type hints to everything in this file, mypy strict is on in CI",
            )
        ),
    )


def _sdk_git_undo_commit() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u(
            "we're moving our monorepo CI from jenkins to github actions. 40 services, each has its own Jenkinsfile with build/test/deploy. how would you structure the workflows so we don't copy paste 40 times"
        ),
        a(
            "Use one reusable workflow (`.github/workflows/service.yml` with `on: workflow_call`) taking the service path and a few inputs, and one small caller workflow that detects changed services with `dorny/paths-filter` and fans out with a matrix. Deploys go in a separate job gated by `environment: production` so the approvals live in GitHub, not in 40 files. Composite actions cover the shared setup steps (toolchain, cache)."
        ),
        u(
            "makes sense, I'll start on that. side thing: I just committed to main locally by mistake (not pushed). how do I undo the commit but keep my changes"
        ),
    )


LOCAL_CHAT = [
    case(
        "t3-cont-rust-lru-rename",
        "local",
        "After an O(1) LRU design in Rust the last ask is a field rename and a visibility change.",
        _cont_rust_lru_rename(),
        "rust",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t3-cursor-ts-jsdoc",
        "local",
        "The race is already fixed; the last ask is JSDoc for one short hook.",
        _cursor_ts_jsdoc(),
        "typescript",
        "react",
        "chat",
        CUR,
        "docs",
    ),
    case(
        "t3-aider-py-lazy-logging",
        "local",
        "Switching three log calls from eager % formatting to logging's lazy arguments is mechanical.",
        _aider_py_lazy_logging(),
        "python",
        "chat",
        AI,
        "edit",
    ),
    case(
        "t3-sdk-sql-coalesce",
        "local",
        "Explaining what COALESCE does in one expression of a query already written.",
        _sdk_sql_coalesce(),
        "sql",
        "postgres",
        "chat",
        SDK,
        "question",
    ),
    case(
        "t3-cont-go-wrap-errors",
        "local",
        "Replacing %v with %w in three fmt.Errorf calls is a mechanical edit.",
        _cont_go_wrap_errors(),
        "go",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t3-cursor-kotlin-when",
        "local",
        "Turning an if/else chain into a Kotlin when expression, after a cancellation question already answered.",
        _cursor_kotlin_when(),
        "kotlin",
        "android",
        "chat",
        CUR,
        "edit",
    ),
    case(
        "t3-sdk-regex-postcode-followup",
        "local",
        "Making a known regex case-insensitive with an optional space is a one-line change.",
        _sdk_regex_postcode(),
        "javascript",
        "regex",
        "chat",
        SDK,
    ),
    case(
        "t3-aider-rust-comment-typos",
        "local",
        "Two spelling fixes in a doc comment, although the file is a lock-free ring buffer.",
        _aider_rust_comment_typos(),
        "rust",
        "chat",
        AI,
        "lock-free",
        "misleading",
    ),
    case(
        "t3-cont-java-grouping-type",
        "local",
        "An API lookup: groupingBy with counting() gives a Map<K, Long> (a HashMap in practice) with no ordering guarantee.",
        _cont_java_grouping_type(),
        "java",
        "chat",
        CONT,
        "question",
    ),
    case(
        "t3-cursor-center-spinner",
        "local",
        "Centering an element in the remaining area of a flex column is textbook CSS.",
        _cursor_center_spinner(),
        "css",
        "react",
        "chat",
        CUR,
    ),
    case(
        "t3-aider-why-enumerate-start",
        "local",
        "An honest answer about enumerate(start=1) versus i + 1 is short and textbook: same output.",
        _aider_why_enumerate_start(),
        "python",
        "chat",
        AI,
        "followup",
    ),
    case(
        "t3-sdk-biggest-logs",
        "local",
        "A well-known du/sort one-liner after a logrotate config already given.",
        _sdk_biggest_logs(),
        "shell",
        "chat",
        SDK,
    ),
    case(
        "t3-cont-ts-revert-ternary",
        "local",
        "Partly reverting a readability edit (ternary back for one variable) is mechanical.",
        _cont_ts_revert_ternary(),
        "typescript",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t3-cursor-py-type-hints",
        "local",
        "Type hints on a 40-line rate limiter already written and explained.",
        _cursor_py_type_hints(),
        "python",
        "chat",
        CUR,
        "edit",
    ),
    case(
        "t3-sdk-git-undo-commit",
        "local",
        "After a CI design talk the last ask is the textbook `git reset --soft HEAD~1`.",
        _sdk_git_undo_commit(),
        "git",
        "github-actions",
        "chat",
        SDK,
    ),
]


# =================================================================================================
# chats without tools: sonnet
# =================================================================================================

VIEWS_PY = """def project_list(request):
    projects = (
        Project.objects.filter(org=request.user.org)
        .select_related("owner")
        .prefetch_related("members")
        .order_by("-updated_at")[:50]
    )
    return render(request, "projects/list.html", {"projects": projects})"""

MODELS_PY = """class Project(models.Model):
    org = models.ForeignKey(Org, on_delete=models.CASCADE)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(User, through="Membership", related_name="projects")
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def active_members(self):
        return self.members.filter(membership__active=True)

    @property
    def open_task_count(self):
        return self.tasks.filter(done=False).count()"""


def _cont_django_prefetch_filter() -> dict[str, Any]:
    return cont_chat(
        u(
            continue_ctx(
                "projects/views.py",
                "python",
                VIEWS_PY.replace('.select_related("owner")\n        .prefetch_related("members")\n        ', ""),
            )
            + "\n\nproject list page does ~300 queries according to debug toolbar. fix?"
        ),
        a(
            'Classic N+1: each row of the template touches `project.owner` and `project.members`. Add `select_related("owner")` for the FK and `prefetch_related("members")` for the M2M; that turns ~150 queries into 3.'
        ),
        u(
            continue_ctx("projects/views.py", "python", VIEWS_PY)
            + "\n\n"
            + continue_ctx("projects/models.py", "python", MODELS_PY)
            + "\n\n"
            + continue_ctx(
                "templates/projects/list.html",
                "html",
                "{% for p in projects %}\n  <tr>\n    <td>{{ p.name }}</td><td>{{ p.owner.get_full_name }}</td>\n    <td>{% for m in p.active_members %}{{ m.initials }} {% endfor %}</td>\n    <td>{{ p.open_task_count }}</td>\n  </tr>\n{% endfor %}",
            )
            + "\n\ndid that, still 101 queries. toolbar shows 50x `SELECT ... FROM auth_user INNER JOIN projects_membership ... WHERE membership.active` and 50x `SELECT COUNT(*) FROM tasks_task WHERE project_id = %s AND NOT done`. the prefetch doesn't seem to apply"
        ),
    )


WS_TSX = """export function LiveOrders() {
  const [filter, setFilter] = useState<Status>("all");
  const [orders, setOrders] = useState<Order[]>([]);

  useEffect(() => {
    const ws = new WebSocket(`${WS_URL}/orders`);
    ws.onmessage = (ev) => {
      const o: Order = JSON.parse(ev.data);
      if (filter === "all" || o.status === filter) {
        setOrders([o, ...orders].slice(0, 100));
      }
    };
    return () => ws.close();
  }, []);

  return <OrdersView orders={orders} filter={filter} onFilter={setFilter} />;
}"""


def _cursor_react_stale_ws() -> dict[str, Any]:
    return cursor_chat(
        u(
            cursor_ask(
                [attached("src/pages/LiveOrders.tsx", WS_TSX)],
                "new orders replace the list instead of being added on top, only ever 1 row shows",
            )
        ),
        a(
            "`orders` inside `onmessage` is the value from the first render (the effect has `[]` deps), so every message builds `[o, ...[]]`. Use the functional update: `setOrders(prev => [o, ...prev].slice(0, 100))`."
        ),
        u(
            "ok rows accumulate now. but switching the filter dropdown to 'paid' does nothing, new 'pending' orders still come in. and when i added filter to the deps array we started getting duplicate rows + the server logs show a new socket every time i click the dropdown, some never closed. what's the right way to structure this"
        ),
    )


SETTINGS_V1 = """from typing import Optional

from pydantic import BaseSettings, Field, root_validator, validator


class Settings(BaseSettings):
    database_url: str = Field(..., env="DATABASE_URL")
    redis_url: Optional[str] = None
    workers: int = 4
    allowed_origins: list[str] = []
    s3_bucket: Optional[str] = None
    s3_region: Optional[str] = None

    @validator("allowed_origins", pre=True)
    def split_origins(cls, v):
        if isinstance(v, str):
            return [o.strip() for o in v.split(",") if o.strip()]
        return v

    @validator("workers")
    def positive(cls, v):
        if v < 1:
            raise ValueError("workers must be >= 1")
        return v

    @root_validator
    def s3_pair(cls, values):
        if bool(values.get("s3_bucket")) != bool(values.get("s3_region")):
            raise ValueError("set both S3_BUCKET and S3_REGION or neither")
        return values

    class Config:
        env_file = ".env"
        case_sensitive = False
        fields = {"redis_url": {"env": ["REDIS_URL", "CACHE_URL"]}}


settings = Settings()
"""


def _aider_pydantic_settings_v2() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(52, 7)),
        *aider_files(
            [
                ("app/config.py", SETTINGS_V1),
                ("requirements.txt", "fastapi==0.110.0\npydantic==2.6.4\nuvicorn[standard]==0.29.0\nredis==5.0.3\n"),
            ]
        ),
        u(
            "we bumped to pydantic 2 and config.py blows up on import (BaseSettings has been moved to pydantic-settings). migrate this file properly, keep the env var names and the REDIS_URL/CACHE_URL alias behaviour, and ALLOWED_ORIGINS must still accept a comma separated string"
        ),
        a(
            "Before I write the blocks: do you want `pydantic-settings` added to requirements.txt as well? It's a separate package in v2."
        ),
        u("yes add it, pin 2.2.1"),
        s(AIDER_REMINDER),
    )


def _sdk_pg_order_history() -> dict[str, Any]:
    plan = """Limit  (cost=0.00..48211.90 rows=1 width=212) (actual time=1893.221..1893.223 rows=1 loops=1)
  ->  Seq Scan on users  (cost=0.00..48211.90 rows=6120 width=212) (actual time=1893.219..1893.220 rows=1 loops=1)
        Filter: (lower((email)::text) = 'ana.r@example.com'::text)
        Rows Removed by Filter: 1224087
Planning Time: 0.144 ms
Execution Time: 1893.260 ms"""
    plan2 = """Sort  (cost=91822.11..92132.62 rows=124204 width=48) (actual time=2210.9..2388.4 rows=124711 loops=1)
  Sort Key: o.created_at DESC
  Sort Method: external merge  Disk: 7832kB
  ->  Hash Join  (cost=31.5..79820.4 rows=124204 width=48) (actual time=0.61..1930.2 rows=124711 loops=1)
        Hash Cond: (o.user_id = u.id)
        ->  Seq Scan on orders o  (actual time=0.01..1588.7 rows=4211980 loops=1)
              Filter: (status = ANY ('{paid,shipped}'::text[]))
        ->  Hash  (actual time=0.41..0.41 rows=12 loops=1)
              ->  Index Scan using users_org_id_idx on users u  (actual time=0.02..0.38 rows=12 loops=1)
                    Index Cond: (org_id = 77)
Planning Time: 0.3 ms
Execution Time: 2401.0 ms"""
    return sdk(
        DATAPAL,
        u("login lookup is slow, ~1.9s. there IS an index on users(email). plan:\n\n" + code("text", plan)),
        a(
            "The index is on `email`, but the query filters on `lower(email)`, which the planner can't match to that index. Create an expression index: `CREATE INDEX CONCURRENTLY users_lower_email_idx ON users (lower(email));` and `ANALYZE users;`. Alternatively store emails lowercased or use `citext`."
        ),
        u(
            "that fixed login (0.3ms). next one, the org order history page:\n\n"
            + code(
                "sql",
                "SELECT o.id, o.total_cents, o.status, o.created_at\nFROM orders o JOIN users u ON u.id = o.user_id\nWHERE u.org_id = 77 AND o.status IN ('paid', 'shipped')\nORDER BY o.created_at DESC;",
            )
            + "\n\n"
            + code("text", plan2)
            + "\n\norders has an index on (status) only. 4.2M rows. what indexes and should the query change? it's paginated in the UI, 50 per page"
        ),
    )


FANOUT_GO = """func (c *Client) PriceAll(ctx context.Context, skus []string) (map[string]int64, error) {
	type res struct {
		sku   string
		price int64
		err   error
	}
	ch := make(chan res)
	for _, s := range skus {
		go func(s string) {
			p, err := c.price(ctx, s)
			ch <- res{s, p, err}
		}(s)
	}
	out := make(map[string]int64, len(skus))
	for range skus {
		r := <-ch
		if r.err != nil {
			return nil, fmt.Errorf("price %s: %w", r.sku, r.err)
		}
		out[r.sku] = r.price
	}
	return out, nil
}"""


def _cont_go_goroutine_dump() -> dict[str, Any]:
    dump = """goroutine profile: total 48211
47960 @ 0x43e5ae 0x40b8ad 0x40b4d8 0x8f2c1d 0x471a41
#	0x8f2c1c	github.com/acme/catalog/internal/pricing.(*Client).PriceAll.func1+0x9c	/src/internal/pricing/client.go:41

112 @ 0x43e5ae 0x4370d7 0x46b0a5 0x4e1c52 ...
#	net/http.(*persistConn).readLoop"""
    return cont_chat(
        u(
            "catalog-svc memory grows ~200MB/day until OOMKilled, restarts every 3-4 days. no obvious caches. where would you start"
        ),
        a(
            "Grab a goroutine profile and a heap profile from `net/http/pprof` at two points a few hours apart. Steady growth that survives GC is usually goroutines (each pins its stack plus whatever it references) or an unbounded map. Compare `/debug/pprof/goroutine?debug=1` counts first; it's cheap."
        ),
        u(
            continue_ctx("internal/pricing/client.go", "go", FANOUT_GO)
            + "\n\ngoroutine count keeps climbing, 48k after 2 days:\n\n"
            + code("text", dump)
            + "\n\nline 41 is the `ch <- res{...}`. what's going on and how should this be written"
        ),
    )


IMPORT_JAVA = """@Service
public class CatalogImportService {
    private final ProductRepository products;
    private final PriceRepository prices;
    private final SupplierFeedClient feed;

    public ImportResult importSupplier(String supplierId) throws IOException {
        List<FeedRow> rows = feed.download(supplierId);
        return saveAll(supplierId, rows);
    }

    @Transactional
    public ImportResult saveAll(String supplierId, List<FeedRow> rows) throws IOException {
        int n = 0;
        for (FeedRow r : rows) {
            Product p = products.findBySku(r.sku()).orElseGet(() -> products.save(Product.from(r)));
            prices.save(Price.of(p, r.price(), r.currency()));
            if (r.imageUrl() != null) {
                p.setImage(feed.fetchImage(r.imageUrl())); // throws IOException on 404
            }
            n++;
        }
        return new ImportResult(supplierId, n);
    }
}"""


def _cursor_spring_tx_partial() -> dict[str, Any]:
    return cursor_chat(
        u(
            "supplier import sometimes half-imports: products saved, then an error, and the prices table has rows for only some of them. spring boot 3, postgres. how do I make it all-or-nothing"
        ),
        a(
            "Put the whole import in one transaction: annotate the method that does the saves with `@Transactional`. Any exception inside rolls back every insert, so you get all rows or none."
        ),
        u(
            cursor_ask(
                [attached("src/main/java/shop/catalog/CatalogImportService.java", IMPORT_JAVA)],
                "it IS annotated, see attached. the last failed import (an image 404 in the middle) still left 312 products and 312 prices in the db. logs show the IOException. why isn't it rolling back",
            )
        ),
    )


CRASH_DESCRIBE = """Name:         report-worker-7d9c8b6f5-xk2lp
Namespace:    analytics
Status:       Running
Init Containers:
  migrate:
    Image:          registry.internal/analytics/report-worker:2.14.0
    Command:        /app/bin/migrate --wait-for-db
    State:          Terminated
      Reason:       Completed
      Exit Code:    0
Containers:
  worker:
    Image:          registry.internal/analytics/report-worker:2.14.0
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Tue, 02 Dec 2025 09:14:03 +0000
      Finished:     Tue, 02 Dec 2025 09:14:41 +0000
    Ready:          False
    Restart Count:  23
    Limits:
      memory:  1Gi
    Requests:
      cpu:     500m
      memory:  512Mi
    Environment:
      JAVA_TOOL_OPTIONS:  -XX:MaxRAMPercentage=90 -XX:+UseG1GC
      REPORT_PARALLELISM: 8
Events:
  Warning  BackOff  2m (x310 over 80m)  kubelet  Back-off restarting failed container"""


def _sdk_k8s_oomkilled_jvm() -> dict[str, Any]:
    return sdk(
        OPSBOT,
        u("report-worker in analytics ns is crashlooping since the 2.14 rollout. what do I check"),
        a(
            "Start with `kubectl -n analytics describe pod <pod>` (look at Last State and the reason) and `kubectl -n analytics logs <pod> --previous` for the crashed container's last output."
        ),
        u(
            code("text", CRASH_DESCRIBE)
            + "\n\nlogs --previous ends with:\n"
            + code(
                "text",
                "INFO  ReportRunner - starting 8 partitions for tenant batch 2025-12-02\nINFO  ParquetWriter - buffer size 128MiB per partition\n",
            )
            + "\n\n2.13 had REPORT_PARALLELISM=4 and the same limits. heap looked fine in 2.13 dashboards (~600MB). so is it the parallelism? what should the limits/flags be"
        ),
    )


def _cont_why_lock_order() -> dict[str, Any]:
    before = """func (b *Bank) Transfer(from, to *Account, amount int64) error {
	from.mu.Lock()
	defer from.mu.Unlock()
	to.mu.Lock()
	defer to.mu.Unlock()
	if from.balance < amount {
		return ErrInsufficient
	}
	from.balance -= amount
	to.balance += amount
	return nil
}"""
    after = """func (b *Bank) Transfer(from, to *Account, amount int64) error {
	if from.ID == to.ID {
		return ErrSameAccount
	}
	first, second := from, to
	if second.ID < first.ID {
		first, second = second, first
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()
	if from.balance < amount {
		return ErrInsufficient
	}
	from.balance -= amount
	to.balance += amount
	return nil
}"""
    return cont_chat(
        u(
            continue_ctx("ledger/bank.go", "go", before)
            + "\n\nadd a check that from and to aren't the same account, return ErrSameAccount"
        ),
        a("Here's the check, plus one more change in the same function:\n\n" + code("go ledger/bank.go", after)),
        u(
            "why did you change the locking to first/second by ID? I only asked for the same-account check. our tests pass either way"
        ),
    )


ASYNC_CS = """private async void SaveButton_Click(object sender, RoutedEventArgs e)
{
    SaveButton.IsEnabled = false;
    try
    {
        await _vm.SaveAsync();
    }
    finally
    {
        SaveButton.IsEnabled = true;
    }
}

// ViewModel
public async Task SaveAsync()
{
    var dto = Map(Current);
    var json = JsonSerializer.Serialize(dto);
    var resp = _http.PostAsync("/api/invoices", new StringContent(json, Encoding.UTF8, "application/json")).Result;
    resp.EnsureSuccessStatusCode();
    Status = "Saved";
}"""


def _cursor_csharp_wpf_freeze() -> dict[str, Any]:
    return cursor_chat(
        u(
            cursor_ask(
                [attached("InvoiceApp/MainWindow.xaml.cs", ASYNC_CS)],
                "clicking save when the API is down crashes the whole app",
            )
        ),
        a(
            "The exception from `SaveAsync` escapes an `async void` handler, which rethrows it on the dispatcher and kills the process. Wrap the await in a `catch (HttpRequestException ex)` and show a message instead."
        ),
        u(
            "added the catch(HttpRequestException). now it doesn't crash but when the API is slow the whole window freezes (can't even move it) for ~30s and then the catch doesn't fire, we get an unhandled AggregateException dialog instead. this is .net 8 wpf"
        ),
    )


SUBS_PY = '''from datetime import date

from dateutil.relativedelta import relativedelta


def next_renewal(anchor: date, last: date) -> date:
    """Monthly renewal on the anchor day, clamped to the month's last day."""
    return last + relativedelta(months=1, day=anchor.day)


def proration_cents(price_cents: int, start: date, end: date, today: date) -> int:
    days = (end - start).days
    used = (today - start).days
    return round(price_cents * (days - used) / days)


def renew(sub, today: date, charge) -> None:
    if sub.cancelled_at or today < sub.renews_on:
        return
    charge(sub.customer_id, sub.price_cents, idempotency_key=f"renew:{sub.id}:{sub.renews_on.isoformat()}")
    sub.renews_on = next_renewal(sub.anchor, sub.renews_on)
'''


def _aider_subscription_tests() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(17, 6)),
        *aider_files(
            [
                ("billing/subscriptions.py", SUBS_PY),
                (
                    "tests/test_subscriptions.py",
                    "import pytest\n\nfrom billing.subscriptions import next_renewal, proration_cents, renew\n",
                ),
            ]
        ),
        u(
            "billing bug last month: a customer anchored on the 31st got renewed on Mar 28 and then Apr 28 forever after. I think I fixed it with day=anchor.day, check me"
        ),
        a(
            "Yes: `relativedelta(months=1, day=anchor.day)` adds a month and then sets the day to the anchor, clamping to the month's end, so Jan 31 → Feb 28 (29 in leap years) → Mar 31 → Apr 30. The old code added a month to `last`, which carried the clamped 28 forward."
        ),
        u(
            "ok now write proper pytest tests in tests/test_subscriptions.py: month-end anchors across a whole year incl leap year, proration on the first and last day and for a period with 0 days, and renew() — not charging before renews_on, not charging cancelled subs, idempotency key stable if renew runs twice on the same day. use a fake charge, no mocks library"
        ),
        s(AIDER_REMINDER),
    )


POST_RB = """class Post < ApplicationRecord
  belongs_to :author, class_name: "User"
  has_many :comments, dependent: :destroy
  scope :published, -> { where.not(published_at: nil) }
end

class Comment < ApplicationRecord
  belongs_to :post
  belongs_to :user
end"""


def _aider_rails_counter_cache() -> dict[str, Any]:
    return aider(
        *aider_files(
            [
                ("app/models/post.rb", POST_RB),
                (
                    "app/views/posts/_post.html.erb",
                    '<article>\n  <h2><%= link_to post.title, post %></h2>\n  <span class="meta"><%= post.comments.count %> comments</span>\n</article>',
                ),
            ],
            "ruby",
        ),
        u("what's the difference between .count, .size and .length on an association? which one should the view use"),
        a(
            "`count` always runs `SELECT COUNT(*)`. `length` loads the whole association and counts in Ruby. `size` uses the loaded records if the association is loaded, a counter cache column if there is one, and `COUNT(*)` otherwise. In the view, `size` is the right default."
        ),
        u(
            "ok then let's do it properly: add a counter cache for comments on posts so size uses it. posts has 2.8M rows in prod and we deploy with zero downtime, so the backfill can't lock the table or run inside the migration transaction"
        ),
        s(AIDER_REMINDER),
    )


def _sdk_idempotency_openapi() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u(
            "designing a bookings API for our clinic app (Node/Fastify + Postgres). patients book, reschedule, cancel appointments; the mobile app retries on flaky networks. what endpoints?"
        ),
        a(
            "Keep it resource-shaped:\n\n- `POST /appointments` — book (requires `Idempotency-Key` header)\n- `GET /appointments/{id}`, `GET /patients/{id}/appointments?from=&to=`\n- `PATCH /appointments/{id}` with `{slotId}` — reschedule (send `If-Match` with the ETag so two devices can't overwrite each other)\n- `POST /appointments/{id}/cancel` — an action, so it can carry a reason and be idempotent by nature\n\nStore idempotency keys per patient with the request hash and the stored response for 24h."
        ),
        u(
            "good. write the openapi 3.1 yaml for those endpoints, with the error responses: slot taken, key reused with a different body, key still in flight, stale etag. include schemas"
        ),
    )


SONNET_CHAT = [
    case(
        "t3-cont-django-prefetch-filter",
        "sonnet",
        "Properties that filter or count defeat prefetch_related; the fix needs Prefetch with to_attr and an annotated count, found from the toolbar's evidence.",
        _cont_django_prefetch_filter(),
        "python",
        "django",
        "chat",
        CONT,
        "debug",
        "performance",
    ),
    case(
        "t3-cursor-react-stale-ws",
        "sonnet",
        "A stale closure plus a socket per filter change: the fix keeps one socket (filter in a ref or filtering at render) and closes it correctly, parts a small model drops.",
        _cursor_react_stale_ws(),
        "typescript",
        "react",
        "chat",
        CUR,
        "debug",
    ),
    case(
        "t3-aider-pydantic-settings-v2",
        "sonnet",
        "A known pydantic v1 to v2 migration of a settings class with validators, a root validator and env aliases.",
        _aider_pydantic_settings_v2(),
        "python",
        "chat",
        AI,
        "migration",
    ),
    case(
        "t3-sdk-pg-order-history-plan",
        "sonnet",
        "Reading an EXPLAIN with a disk sort to propose a composite index and keyset pagination: multi-step, evidence given.",
        _sdk_pg_order_history(),
        "sql",
        "postgres",
        "chat",
        SDK,
        "performance",
    ),
    case(
        "t3-cont-go-goroutine-dump",
        "sonnet",
        "A goroutine leak shown by its profile: an unbuffered channel abandoned on early return; the standard fix is a buffered channel or errgroup with context.",
        _cont_go_goroutine_dump(),
        "go",
        "chat",
        CONT,
        "concurrency",
        "debug",
    ),
    case(
        "t3-cursor-spring-tx-partial",
        "sonnet",
        "Two known Spring pitfalls together, found from the code and logs: self-invocation bypasses the transactional proxy and checked exceptions do not roll back by default.",
        _cursor_spring_tx_partial(),
        "java",
        "spring",
        "chat",
        CUR,
        "debug",
    ),
    case(
        "t3-sdk-k8s-oomkilled-jvm",
        "sonnet",
        "An OOMKilled JVM: heap at 90% of the limit leaves no room for non-heap memory once parallelism doubled the writer buffers; multi-step from describe output to heap sizing, buffers and limits.",
        _sdk_k8s_oomkilled_jvm(),
        "kubernetes",
        "java",
        "chat",
        SDK,
        "debug",
    ),
    case(
        "t3-cont-why-lock-order",
        "sonnet",
        "An honest answer about ordering two locks by ID: it prevents the lock-order deadlock between opposite transfers, a well-known pitfall.",
        _cont_why_lock_order(),
        "go",
        "chat",
        CONT,
        "followup",
        "concurrency",
    ),
    case(
        "t3-cursor-csharp-wpf-freeze",
        "sonnet",
        "Sync-over-async .Result on the UI thread: the freeze and the uncaught AggregateException both come from it, and the fix is await all the way down plus handling in the async void handler.",
        _cursor_csharp_wpf_freeze(),
        "csharp",
        "dotnet",
        "chat",
        CUR,
        "debug",
        "pushback",
    ),
    case(
        "t3-aider-subscription-tests",
        "sonnet",
        "Tests across month-end anchors, leap years, zero-day proration and idempotent renewal: fixtures with subtle edges.",
        _aider_subscription_tests(),
        "python",
        "chat",
        AI,
        "tests",
    ),
    case(
        "t3-aider-rails-counter-cache",
        "sonnet",
        "A counter cache with a batched, non-transactional backfill on a large table: a known migration with parts.",
        _aider_rails_counter_cache(),
        "ruby",
        "rails",
        "chat",
        AI,
        "migration",
    ),
    case(
        "t3-sdk-idempotency-openapi",
        "sonnet",
        "An OpenAPI spec for one service with idempotency and ETag errors: API design, well trodden.",
        _sdk_idempotency_openapi(),
        "yaml",
        "api",
        "chat",
        SDK,
        "design",
    ),
]


# =================================================================================================
# chats without tools: opus
# =================================================================================================

SEQLOCK_CPP = """struct Stats { uint64_t rx, tx, drops, last_ns; };

class StatsCell {
  std::atomic<uint32_t> seq_{0};
  Stats data_{};
 public:
  // single writer: the NIC poll thread
  void write(const Stats& s) {
    uint32_t q = seq_.load(std::memory_order_relaxed);
    seq_.store(q + 1, std::memory_order_relaxed);
    data_ = s;
    seq_.store(q + 2, std::memory_order_release);
  }
  // many readers: the metrics exporter, the admin endpoint
  Stats read() const {
    Stats out;
    uint32_t a, b;
    do {
      a = seq_.load(std::memory_order_acquire);
      out = data_;
      b = seq_.load(std::memory_order_relaxed);
    } while (a != b || (a & 1));
    return out;
  }
};"""


def _cont_cpp_seqlock() -> dict[str, Any]:
    return cont_chat(
        u(
            "the NIC poll thread updates 4 counters and the exporter reads them. a mutex shows up in perf (the poll loop is at 14Mpps). what's the cheapest way to give readers a consistent snapshot of all 4?"
        ),
        a(
            "A seqlock fits: one writer, readers retry if they raced with a write. The writer bumps the sequence to odd, writes, bumps to even; readers read the sequence, copy, re-read the sequence and retry if it changed or was odd. Readers never block the writer."
        ),
        u(
            continue_ctx("src/stats_cell.hpp", "cpp", SEQLOCK_CPP)
            + "\n\nwrote it like this. tests pass on my laptop and under tsan it... complains about data_ but i think that's a false positive for seqlocks? we ship on graviton (arm64). is this correct?"
        ),
    )


REFRESH_TS = """router.post("/auth/refresh", async (req, res) => {
  const token = req.cookies["rt"];
  if (!token) return res.status(401).end();
  let payload: RefreshClaims;
  try {
    payload = jwt.verify(token, process.env.REFRESH_SECRET!) as RefreshClaims;
  } catch {
    return res.status(401).end();
  }
  const stored = await db.refreshToken.findUnique({ where: { jti: payload.jti } });
  if (!stored) return res.status(401).end();

  const newJti = randomUUID();
  await db.refreshToken.create({ data: { jti: newJti, userId: payload.sub, familyId: stored.familyId } });
  res.cookie("rt", jwt.sign({ sub: payload.sub, jti: newJti }, process.env.REFRESH_SECRET!, { expiresIn: "30d" }), {
    httpOnly: true, secure: true, sameSite: "lax", path: "/auth/refresh",
  });
  res.json({ accessToken: issueAccessToken(payload.sub) });
});"""


def _cursor_refresh_rotation_review() -> dict[str, Any]:
    return cursor_chat(
        u(
            "we're moving from long-lived access tokens to short access tokens (10 min) + refresh tokens in an httpOnly cookie. SPA + express api. anything i should know?"
        ),
        a(
            "The usual shape: access token in memory only, refresh token in an `httpOnly; Secure; SameSite` cookie scoped to the refresh path, rotate the refresh token on every use, and store refresh tokens server-side (by `jti`, grouped in a family per login) so you can revoke. On logout delete the family."
        ),
        u(
            cursor_ask(
                [attached("api/src/routes/auth.ts", REFRESH_TS)],
                "implemented it. quick look before I ship tomorrow? nothing fancy, just want a sanity check",
            )
        ),
    )


BOOK_PY = """def book_seat(conn, show_id: int, seat: str, user_id: int) -> int:
    with conn.transaction(isolation_level=IsolationLevel.READ_COMMITTED):
        taken = conn.execute(
            "SELECT count(*) FROM bookings WHERE show_id = %s AND seat = %s AND status <> 'cancelled'",
            (show_id, seat),
        ).fetchone()[0]
        if taken:
            raise SeatTaken(seat)
        held = conn.execute(
            "SELECT count(*) FROM bookings WHERE show_id = %s AND user_id = %s AND status <> 'cancelled'",
            (show_id, user_id),
        ).fetchone()[0]
        if held >= MAX_SEATS_PER_USER:
            raise LimitReached(user_id)
        return conn.execute(
            "INSERT INTO bookings (show_id, seat, user_id, status) VALUES (%s, %s, %s, 'held') RETURNING id",
            (show_id, seat, user_id),
        ).fetchone()[0]
"""


def _aider_why_isolation_dropped() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(23, 5)),
        *aider_files([("tickets/booking.py", BOOK_PY)]),
        u(
            "book_seat is throwing SerializationFailure under load during big onsales (~3% of requests) and users see errors. make it stop failing"
        ),
        a(
            "The serialization failures come from running the check-then-insert under SERIALIZABLE; READ COMMITTED doesn't abort on concurrent conflicts, so the errors go away.\n\ntickets/booking.py\n```python\n<<<<<<< SEARCH\n    with conn.transaction(isolation_level=IsolationLevel.SERIALIZABLE):\n=======\n    with conn.transaction(isolation_level=IsolationLevel.READ_COMMITTED):\n>>>>>>> REPLACE\n```"
        ),
        u(
            "hm wait. why was it SERIALIZABLE in the first place, and is READ COMMITTED actually ok here? the unit tests all pass. there's a unique index on (show_id, seat) btw, but only WHERE status = 'paid'"
        ),
        s(AIDER_REMINDER),
    )


CONSUMER_JAVA = """@KafkaListener(topics = "orders.paid", groupId = "receipts")
@Transactional("kafkaTransactionManager")
public void onPaid(ConsumerRecord<String, OrderPaid> rec) {
    OrderPaid ev = rec.value();
    Receipt r = receipts.render(ev);
    mailer.send(ev.customerEmail(), "Your receipt", r.html());   // SES
    template.send("receipts.sent", ev.orderId(), new ReceiptSent(ev.orderId(), r.id()));
}"""


def _sdk_kafka_receipt_eos() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u("how does kafka's idempotent producer work? like what does enable.idempotence actually dedupe"),
        a(
            "The broker assigns the producer an id and the producer numbers each batch per partition. If a retry resends a batch the broker already appended, it sees the same producer id and sequence number and drops the duplicate. So it dedupes *retries of the same send within one producer session* — not two separate `send()` calls with the same payload, and not across a producer restart without transactions."
        ),
        u(
            code("java", CONSUMER_JAVA)
            + "\n\nok so with transactions on (isolation.level=read_committed on consumers, transactional.id set, the listener is @Transactional as above) we have exactly-once end to end now, right? customers complained about duplicate receipt emails after last week's broker rolling restart, I want to tell them it's fixed"
        ),
    )


POOL_RS = """pub struct Slab {
    ptr: *mut u8,
    cap: usize,
    next_free: Cell<usize>,
}

pub struct Handle(NonNull<Slab>);

unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Handle {
    pub fn alloc(&self, size: usize) -> Option<&mut [u8]> {
        let slab = unsafe { self.0.as_ref() };
        let start = slab.next_free.get();
        if start + size > slab.cap {
            return None;
        }
        slab.next_free.set(start + size);
        Some(unsafe { std::slice::from_raw_parts_mut(slab.ptr.add(start), size) })
    }
}"""


def _cont_rust_unsafe_sync() -> dict[str, Any]:
    return cont_chat(
        u(
            "the compiler says `*mut u8` cannot be sent between threads safely when I put my Handle in an Arc and hand it to the tokio tasks. what does that mean"
        ),
        a(
            "Raw pointers are neither `Send` nor `Sync`, so any struct containing one (directly or through `NonNull`) loses both auto traits. The compiler can't know whether the pointee may be touched from another thread, so it makes you promise it with `unsafe impl Send/Sync` — and that promise is only sound if the type really synchronises access."
        ),
        u(
            continue_ctx("src/arena.rs", "rust", POOL_RS)
            + "\n\nadded the two unsafe impls and it compiles, 40 tasks allocate from one Handle and the integration tests pass. sound? it's the request-buffer pool in the proxy"
        ),
    )


def _cursor_go_redis_lock_pause() -> dict[str, Any]:
    lock = """func (l *Lock) Run(ctx context.Context, job func(context.Context) error) error {
	ok, err := l.rdb.SetNX(ctx, l.key, l.owner, 30*time.Second).Result()
	if err != nil || !ok {
		return ErrNotLeader
	}
	stop := make(chan struct{})
	go func() { // renew every 10s while the job runs
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.rdb.Expire(ctx, l.key, 30*time.Second)
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	defer l.rdb.Del(ctx, l.key)
	return job(ctx)
}"""
    return cursor_chat(
        u(
            cursor_ask(
                [attached("internal/cron/lock.go", lock)],
                "review this redis lock for our cron runner, 3 replicas, only one should run the nightly settlement export",
            )
        ),
        a(
            "Two bugs first: the renewal uses `Expire` without checking you still own the key, and `Del` on exit can delete another replica's lock after yours expired. Both need a compare-and-act Lua script on `l.owner` (GET == owner then PEXPIRE / DEL)."
        ),
        u(
            "fixed both with lua scripts, thanks. and since we renew every 10s with a 30s TTL, a replica can't lose the lock while the job is still running, so we're safe from double exports now, right? the export writes settlement files to S3 and marks rows exported in postgres"
        ),
    )


def _sdk_amortized_shrink() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u("writing a growable array in C for an embedded project. doubling on full, fine. when should it shrink?"),
        a(
            "Halve the capacity when the array drops to a quarter full, not half. That gap is what keeps both operations O(1) amortised."
        ),
        u(
            "my lead wants a proper argument in the design doc, not 'trust me'. prove push and pop are amortised O(1) with grow-at-full/shrink-at-quarter (potential method is fine), and show concretely what goes wrong if we shrink at half full instead"
        ),
    )


OIDC_PY = """import httpx
import jwt
from jwt import PyJWKClient

PROVIDERS = {
    "google": {"issuer": "https://accounts.google.com", "client_id": settings.GOOGLE_CLIENT_ID,
               "jwks": "https://www.googleapis.com/oauth2/v3/certs", "token_url": "https://oauth2.googleapis.com/token"},
}


def _jwks_for(issuer: str) -> PyJWKClient:
    for p in PROVIDERS.values():
        if p["issuer"] == issuer:
            return PyJWKClient(p["jwks"])
    return PyJWKClient(issuer.rstrip("/") + "/.well-known/jwks.json")


def handle_callback(provider: str, code: str, state: str, session) -> User:
    if state != session.pop("oauth_state", None):
        raise AuthError("bad state")
    p = PROVIDERS[provider]
    tok = httpx.post(p["token_url"], data={"code": code, "client_id": p["client_id"],
                     "client_secret": secret_for(provider), "grant_type": "authorization_code",
                     "redirect_uri": redirect_uri(provider)}).json()
    unverified = jwt.decode(tok["id_token"], options={"verify_signature": False})
    key = _jwks_for(unverified["iss"]).get_signing_key_from_jwt(tok["id_token"])
    claims = jwt.decode(tok["id_token"], key.key, algorithms=["RS256"], options={"verify_aud": False})
    return User.get_or_create_by_email(claims["email"])
"""


def _aider_oidc_second_provider() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(64, 6)),
        *aider_files([("app/auth/oidc.py", OIDC_PY)]),
        u("what does PyJWKClient cache? do we fetch google's certs on every login"),
        a(
            "`PyJWKClient` caches the JWK set in memory for `lifespan` seconds (300 by default) per client instance, but `_jwks_for` builds a new client on every call, so the cache is thrown away and each login fetches the certs. Keep one client per provider at module level."
        ),
        u(
            "ok. we're adding Microsoft Entra as a second login provider (multi-tenant app, issuer https://login.microsoftonline.com/{tid}/v2.0). add it to PROVIDERS and make the callback work for both, and do the jwks client caching fix while you're there"
        ),
        s(AIDER_REMINDER),
    )


def _cont_jvm_perf_investigation() -> dict[str, Any]:
    return cont_chat(
        u(
            "quick one: is it worth switching our spring boot services to virtual threads? mostly blocking JDBC + REST calls"
        ),
        a(
            "Often, yes: with `spring.threads.virtual.enabled=true` (Boot 3.2+) each request runs on a virtual thread, so blocking I/O stops tying up platform threads and you can drop most thread-pool tuning. Watch for pinning (blocking inside `synchronized`) and for pools downstream (Hikari) becoming the real limit."
        ),
        u(
            "so we did it. same release also went to JDK 21 from 17, hikari 5.1, and the new pg driver 42.7. and ops moved us to the c7g nodes. now checkout-api does 40% fewer req/s at the same CPU, p99 went 120ms -> 900ms under load, and hikari pending threads graph spikes to 200+ then drops to 0. GC looks normal. cpu is only 55%. how do I figure out which of these changes did it and what's actually happening?"
        ),
    )


OPUS_CHAT = [
    case(
        "t3-cont-cpp-seqlock-arm",
        "opus",
        "A seqlock with plain data reads and a relaxed re-read of the sequence: a data race and missing fences that pass on x86 and break on arm64; the memory-model answer is subtle.",
        _cont_cpp_seqlock(),
        "cpp",
        "chat",
        CONT,
        "memory-model",
        "lock-free",
    ),
    case(
        "t3-cursor-refresh-rotation-review",
        "opus",
        "A casual review of token rotation that never revokes the old jti and has no reuse detection: a stolen refresh token lives forever; security review of tokens.",
        _cursor_refresh_rotation_review(),
        "typescript",
        "node",
        "chat",
        CUR,
        "security",
        "auth",
        "review",
    ),
    case(
        "t3-aider-why-isolation-dropped",
        "opus",
        "An honest answer about dropping SERIALIZABLE: the per-user limit becomes write skew and the partial unique index does not cover held seats, so double booking ships; the fix is retries or locking.",
        _aider_why_isolation_dropped(),
        "python",
        "postgres",
        "chat",
        AI,
        "followup",
        "isolation",
    ),
    case(
        "t3-sdk-kafka-receipt-eos",
        "opus",
        "Kafka transactions do not cover the SES email sent inside the listener: duplicates survive rebalances and restarts, and the confident 'yes' is the plausible wrong answer.",
        _sdk_kafka_receipt_eos(),
        "java",
        "kafka",
        "chat",
        SDK,
        "distributed",
    ),
    case(
        "t3-cont-rust-unsafe-sync",
        "opus",
        "unsafe impl Sync over a Cell-based bump allocator: concurrent alloc hands out overlapping &mut slices; soundness of unsafe code under concurrency.",
        _cont_rust_unsafe_sync(),
        "rust",
        "chat",
        CONT,
        "unsafe",
        "concurrency",
    ),
    case(
        "t3-cursor-go-redis-lock-pause",
        "opus",
        "A renewed TTL lock does not exclude a paused or partitioned holder: without fencing tokens checked by S3 and Postgres the double export remains.",
        _cursor_go_redis_lock_pause(),
        "go",
        "redis",
        "chat",
        CUR,
        "distributed",
        "followup",
    ),
    case(
        "t3-sdk-amortized-shrink-proof",
        "opus",
        "A potential-function proof of amortised O(1) for grow/shrink plus the thrashing counterexample at one half.",
        _sdk_amortized_shrink(),
        "c",
        "chat",
        SDK,
        "proof",
    ),
    case(
        "t3-aider-oidc-second-provider",
        "opus",
        "The callback picks the JWKS from the token's own unverified iss and skips aud: adding Entra without fixing that keeps a token-forgery hole open.",
        _aider_oidc_second_provider(),
        "python",
        "chat",
        AI,
        "security",
        "auth",
    ),
    case(
        "t3-cont-jvm-perf-investigation",
        "opus",
        "Throughput loss with four layers changed at once (virtual threads, JDK, pool and driver, hardware): an open investigation from symptoms.",
        _cont_jvm_perf_investigation(),
        "java",
        "spring",
        "chat",
        CONT,
        "performance",
    ),
]


# =================================================================================================
# agent loops: Claude Code
# =================================================================================================

CC = "claude-code"


def cc(cwd: str, *messages: dict[str, Any], **env: Any) -> dict[str, Any]:
    return req(s(cc_system(cwd, **env)), *messages, tools=CC_TOOLS)


INVOICES_CLAUDE_MD = """# ledgerly-api

FastAPI + SQLAlchemy 2 (async) + Postgres. `make test` (pytest, needs docker for the db), `make lint` (ruff + mypy --strict).
- routers in app/routers/, one per resource; queries live in app/repos/, never in routers
- every list endpoint must be scoped by `org_id` from `current_org`
- migrations: alembic, `make migration m="..."`"""


def _cc_first_cursor_pagination() -> dict[str, Any]:
    return cc(
        "/home/tomas/src/ledgerly-api",
        user_parts(
            claude_md("/home/tomas/src/ledgerly-api/CLAUDE.md", INVOICES_CLAUDE_MD),
            opened_file("/home/tomas/src/ledgerly-api/app/routers/invoices.py"),
            "GET /v1/invoices returns everything for the org, some orgs have 80k invoices and the endpoint times out. add cursor pagination: ?limit= (default 50, max 200) and ?cursor=, newest first, response gets `next_cursor`. cursor must be stable when new invoices arrive. update the tests",
            TODO_EMPTY,
        ),
        branch="feat/invoice-pagination",
        commits="c0ffee1 invoices: add status filter\n7ab1e2d repos: move invoice queries out of router",
    )


FLAKY_TEST_PY = """async def test_export_lists_invoices_in_order(client, org, make_invoice):
    a = await make_invoice(org, number="INV-001", total=1000)
    b = await make_invoice(org, number="INV-002", total=2500)
    c = await make_invoice(org, number="INV-003", total=400)
    r = await client.get(f"/v1/orgs/{org.id}/exports/invoices.csv")
    rows = r.text.splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["INV-001", "INV-002", "INV-003"]
"""

EXPORT_REPO_PY = """async def invoices_for_export(session: AsyncSession, org_id: int) -> list[Invoice]:
    stmt = select(Invoice).where(Invoice.org_id == org_id, Invoice.deleted_at.is_(None))
    return list((await session.scalars(stmt)).all())
"""


def _cc_explore_flaky_export() -> dict[str, Any]:
    L = Loop("flk", "toolu")
    cwd = "/home/tomas/src/ledgerly-api"
    return cc(
        cwd,
        user_parts(
            "test_export_lists_invoices_in_order fails maybe 1 in 15 CI runs, never locally. find out why and fix it properly (not a retry)",
            TODO_EMPTY,
        ),
        L.call(
            "Grep", None, pattern="test_export_lists_invoices_in_order", path="tests", output_mode="files_with_matches"
        ),
        L.result("tests/exports/test_invoices_csv.py"),
        L.call("Read", None, file_path=f"{cwd}/tests/exports/test_invoices_csv.py"),
        L.result(cc_read(FLAKY_TEST_PY, 31)),
        L.call("Grep", None, pattern="def invoices_for_export", path="app", output_mode="content", **{"-n": True}),
        L.result(
            "app/repos/exports.py:18:async def invoices_for_export(session: AsyncSession, org_id: int) -> list[Invoice]:"
        ),
        L.call("Read", None, file_path=f"{cwd}/app/repos/exports.py", offset=18, limit=4),
        L.result(cc_read(EXPORT_REPO_PY, 18)),
        L.call(
            "Bash",
            None,
            command="grep -n 'xdist\\|-n auto\\|autovacuum\\|shared_buffers' pyproject.toml docker-compose.ci.yml .github/workflows/ci.yml",
            description="Check CI test parallelism and db settings",
        ),
        L.result(
            'pyproject.toml:41:addopts = "-q -n auto --dist loadfile"\ndocker-compose.ci.yml:12:      - "-c"\ndocker-compose.ci.yml:13:      - "autovacuum_naptime=1s"'
        ),
    )


DST_TS = """import { startOfDay } from "date-fns";
import { toZonedTime, fromZonedTime } from "date-fns-tz";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** Delivery slots for the next `n` days, 09:00 and 14:00 in the store's timezone, as UTC instants. */
export function slotsFor(store: { tz: string }, from: Date, n: number): Date[] {
  const out: Date[] = [];
  // midnight of `from`'s day in the store's zone, as an instant
  const midnight = fromZonedTime(startOfDay(toZonedTime(from, store.tz)), store.tz);
  for (let d = 0; d < n; d++) {
    const day = midnight.getTime() + d * DAY_MS;
    for (const h of [9, 14]) {
      out.push(new Date(day + h * HOUR_MS));
    }
  }
  return out;
}"""


def _cc_testfail_dst_slots() -> dict[str, Any]:
    L = Loop("dst", "toolu")
    cwd = "/Users/rin/dev/grocer"
    return cc(
        cwd,
        user_parts(
            "add a test for slotsFor across the october DST change in Europe/Berlin, then run the suite", TODO_EMPTY
        ),
        L.call("Read", None, file_path=f"{cwd}/src/slots.ts"),
        L.result(cc_read(DST_TS)),
        L.call(
            "Write",
            None,
            file_path=f"{cwd}/src/slots.dst.test.ts",
            content='import { slotsFor } from "./slots";\n\ntest("slots keep wall-clock times across the Oct 2025 DST change in Berlin", () => {\n  const from = new Date("2025-10-25T06:00:00Z"); // Sat, CEST\n  const s = slotsFor({ tz: "Europe/Berlin" }, from, 3).map((d) => d.toISOString());\n  expect(s).toEqual([\n    "2025-10-25T07:00:00.000Z", "2025-10-25T12:00:00.000Z",\n    "2025-10-26T08:00:00.000Z", "2025-10-26T13:00:00.000Z",\n    "2025-10-27T08:00:00.000Z", "2025-10-27T13:00:00.000Z",\n  ]);\n});\n',
        ),
        L.result(f"File created successfully at: {cwd}/src/slots.dst.test.ts"),
        L.call("Bash", None, command="TZ=UTC npx vitest run src/slots", description="Run slot tests in UTC like CI"),
        L.result(
            """ FAIL  src/slots.dst.test.ts > slots keep wall-clock times across the Oct 2025 DST change in Berlin
AssertionError: expected [ '2025-10-25T07:00:00.000Z', …(5) ] to deeply equal [ '2025-10-25T07:00:00.000Z', …(5) ]

- Expected
+ Received

  [
    "2025-10-25T07:00:00.000Z",
    "2025-10-25T12:00:00.000Z",
-   "2025-10-26T08:00:00.000Z",
-   "2025-10-26T13:00:00.000Z",
-   "2025-10-27T08:00:00.000Z",
-   "2025-10-27T13:00:00.000Z",
+   "2025-10-26T07:00:00.000Z",
+   "2025-10-26T12:00:00.000Z",
+   "2025-10-27T07:00:00.000Z",
+   "2025-10-27T12:00:00.000Z",
  ]

 ✓ src/slots.test.ts (6 tests) 14ms
 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 6 passed (7)"""
        ),
    )


MAKEFILE = "BIN := bin/relayd\nGOFLAGS := -trimpath\n\n.PHONY: build test lint\n\nbuild:\n\tgo build $(GOFLAGS) -o $(BIN) ./cmd/relayd\n\ntest:\n\tgo test ./... -race -count=1\n\nlint:\n\tgolangci-lint run ./..."


def _cc_stuck_makefile_tabs() -> dict[str, Any]:
    L = Loop("mk", "toolu")
    cwd = "/home/dev/relay"
    old = "test:\n    go test ./... -race -count=1"
    return cc(
        cwd,
        user_parts(
            "add a `make cover` target that writes coverage.out and prints the total, and make `test` also run `go vet ./...` first",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/Makefile"),
        L.result(cc_read(MAKEFILE)),
        L.call(
            "Edit",
            None,
            file_path=f"{cwd}/Makefile",
            old_string=old,
            new_string="test:\n    go vet ./...\n    go test ./... -race -count=1",
        ),
        L.result(cc_edit_error(old)),
        L.call(
            "Edit",
            "The whitespace may differ; retrying with the exact line.",
            file_path=f"{cwd}/Makefile",
            old_string="test:\n  go test ./... -race -count=1",
            new_string="test:\n  go vet ./...\n  go test ./... -race -count=1",
        ),
        L.result(cc_edit_error("test:\n  go test ./... -race -count=1")),
        L.call("Read", None, file_path=f"{cwd}/Makefile", offset=9, limit=2),
        L.result(cc_read("test:\n\tgo test ./... -race -count=1", 9)),
        L.call(
            "Edit",
            None,
            file_path=f"{cwd}/Makefile",
            old_string=old,
            new_string="test:\n    go vet ./...\n    go test ./... -race -count=1",
        ),
        L.result(cc_edit_error(old)),
    )


def _cc_report_vitest_migration() -> dict[str, Any]:
    L = Loop("vit", "toolu")
    cwd = "/home/ola/code/ui-kit"
    return cc(
        cwd,
        user_parts("move the tests from jest to vitest. keep the coverage thresholds from jest.config.js", TODO_EMPTY),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Add vitest config with coverage thresholds", "completed"),
                ("Replace jest globals and mocks", "completed"),
                ("Remove jest deps and config", "completed"),
                ("Run the suite and lint", "in_progress"),
            ),
        ),
        L.result(TODO_OK),
        L.call(
            "Bash",
            None,
            command="pnpm vitest run --coverage 2>&1 | tail -25",
            description="Run the suite with coverage",
        ),
        L.result(
            """ ✓ src/Button/Button.test.tsx (9 tests) 88ms
 ✓ src/Select/Select.test.tsx (21 tests) 412ms
 ✓ src/Toast/useToast.test.ts (7 tests) 31ms
 ✓ src/DatePicker/DatePicker.test.tsx (18 tests) 655ms
 ✓ src/utils/format.test.ts (12 tests) 9ms

 Test Files  23 passed (23)
      Tests  164 passed (164)
   Duration  4.91s

 % Coverage report from v8
-----------------|---------|----------|---------|---------|
File             | % Stmts | % Branch | % Funcs | % Lines |
-----------------|---------|----------|---------|---------|
All files        |   87.41 |    81.02 |   85.77 |   87.41 |
-----------------|---------|----------|---------|---------|"""
        ),
        L.call("Bash", None, command="pnpm lint && pnpm tsc --noEmit", description="Lint and typecheck"),
        L.result("> ui-kit@3.4.0 lint\n> eslint src --max-warnings 0\n\n(no output from tsc)"),
        L.call(
            "TodoWrite",
            None,
            **todos(
                ("Add vitest config with coverage thresholds", "completed"),
                ("Replace jest globals and mocks", "completed"),
                ("Remove jest deps and config", "completed"),
                ("Run the suite and lint", "completed"),
            ),
        ),
        L.result(TODO_OK),
    )


def _cc_followup_flag_name() -> dict[str, Any]:
    L = Loop("flg", "toolu")
    cwd = "/home/kat/tools/backupctl"
    return cc(
        cwd,
        user_parts(
            "add a --from DATE option to `backupctl list` to hide snapshots older than DATE (YYYY-MM-DD)", TODO_EMPTY
        ),
        L.call(
            "Edit",
            None,
            file_path=f"{cwd}/backupctl/cli.py",
            old_string='@click.option("--json", "as_json", is_flag=True)',
            new_string='@click.option("--json", "as_json", is_flag=True)\n@click.option("--from", "from_", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only snapshots on or after this date.")',
        ),
        L.result(
            cc_edited(
                f"{cwd}/backupctl/cli.py",
                '@click.option("--json", "as_json", is_flag=True)\n@click.option("--from", "from_", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only snapshots on or after this date.")',
                40,
            )
        ),
        L.call("Bash", None, command="uv run pytest -q tests/test_list.py", description="Run list tests"),
        L.result("........\n8 passed in 0.31s"),
        {
            "role": "assistant",
            "content": "`backupctl list --from 2025-05-01` now hides older snapshots (backupctl/cli.py:41). Tests pass.",
        },
        user_parts("rename it to --since, --from reads weird next to --json. same behaviour"),
    )


AUTH_MW_TS = """export function authenticate(): RequestHandler {
  return async (req, res, next) => {
    // calls from the internal job runner come through the mesh with the user already resolved
    const fwd = (req.headers["x-forwarded-for"] as string | undefined)?.split(",")[0].trim();
    if (fwd && INTERNAL_CIDRS.some((c) => inCidr(fwd, c)) && req.headers["x-user-id"]) {
      req.user = await users.byId(String(req.headers["x-user-id"]));
      return next();
    }
    const sid = req.cookies["sid"];
    const session = sid ? await sessions.get(sid) : null;
    if (!session) return res.status(401).json({ error: "unauthenticated" });
    req.user = await users.byId(session.userId);
    next();
  };
}"""


def _cc_explore_api_key_header_hole() -> dict[str, Any]:
    L = Loop("apk", "toolu")
    cwd = "/srv/dev/portal-api"
    return cc(
        cwd,
        user_parts(
            "customers want API keys for scripts. add `Authorization: Bearer pk_live_...` support to the auth middleware next to the session cookie. keys are per user, hashed in an api_keys table (migration too), scoped read-only or read-write",
            TODO_EMPTY,
        ),
        L.call("Grep", None, pattern="export function authenticate", path="src", output_mode="content", **{"-n": True}),
        L.result("src/middleware/auth.ts:14:export function authenticate(): RequestHandler {"),
        L.call("Read", None, file_path=f"{cwd}/src/middleware/auth.ts", offset=14, limit=16),
        L.result(cc_read(AUTH_MW_TS, 14)),
        L.call(
            "Bash",
            None,
            command="grep -rn 'trust proxy\\|INTERNAL_CIDRS =' src | head",
            description="Check proxy trust and internal ranges",
        ),
        L.result(
            'src/app.ts:9:app.set("trust proxy", true);\nsrc/config.ts:22:export const INTERNAL_CIDRS = ["10.0.0.0/8", "172.16.0.0/12"];'
        ),
    )


OUTBOX_PY = """async def relay_once(conn, producer, batch=500):
    last = await conn.fetchval("SELECT last_id FROM outbox_cursor WHERE name = 'kafka'")
    rows = await conn.fetch(
        "SELECT id, topic, key, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2", last, batch
    )
    for r in rows:
        await producer.send_and_wait(r["topic"], key=r["key"], value=r["payload"])
    if rows:
        await conn.execute("UPDATE outbox_cursor SET last_id = $1 WHERE name = 'kafka'", rows[-1]["id"])
"""


def _cc_stuck_outbox_gaps() -> dict[str, Any]:
    L = Loop("obx", "toolu")
    cwd = "/home/dev/orders-svc"
    fail = """FAILED tests/test_outbox_relay.py::test_no_event_lost_under_concurrent_writers - AssertionError: 3 of 20000 outbox rows never published: ids [11873, 15204, 15209]
1 failed, 14 passed in 21.88s"""
    return cc(
        cwd,
        user_parts(
            "the relay loses events under load (consumers never see some order.created). the stress test reproduces it. fix the relay",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/orders/outbox/relay.py"),
        L.result(cc_read(OUTBOX_PY)),
        L.call(
            "Bash", None, command="uv run pytest -q tests/test_outbox_relay.py", description="Run outbox relay tests"
        ),
        L.result(fail),
        L.call(
            "Edit",
            "Maybe the batch boundary drops rows; I'll make the batch size configurable and smaller.",
            file_path=f"{cwd}/orders/outbox/relay.py",
            old_string="batch=500",
            new_string="batch=50",
        ),
        L.result(cc_edited(f"{cwd}/orders/outbox/relay.py", "async def relay_once(conn, producer, batch=50):", 1)),
        L.call(
            "Bash", None, command="uv run pytest -q tests/test_outbox_relay.py", description="Re-run outbox relay tests"
        ),
        L.result(
            fail.replace("3 of 20000", "5 of 20000").replace(
                "[11873, 15204, 15209]", "[4410, 9021, 9022, 12770, 18302]"
            )
        ),
        L.call(
            "Edit",
            "Perhaps send_and_wait fails silently; wrap it so a failed send stops before advancing the cursor.",
            file_path=f"{cwd}/orders/outbox/relay.py",
            old_string='        await producer.send_and_wait(r["topic"], key=r["key"], value=r["payload"])',
            new_string='        try:\n            await producer.send_and_wait(r["topic"], key=r["key"], value=r["payload"])\n        except Exception:\n            log.exception("send failed for outbox id %s", r["id"])\n            raise',
        ),
        L.result(
            cc_edited(
                f"{cwd}/orders/outbox/relay.py",
                'try:\n            await producer.send_and_wait(r["topic"], key=r["key"], value=r["payload"])',
                7,
            )
        ),
        L.call(
            "Bash",
            None,
            command="uv run pytest -q tests/test_outbox_relay.py 2>&1 | tail -3; grep -c 'send failed' /tmp/relay-test.log",
            description="Re-run and check for send failures",
        ),
        L.result(fail.replace("3 of 20000", "2 of 20000").replace("[11873, 15204, 15209]", "[7712, 16650]") + "\n0"),
        user_parts("still losing them and no send failures logged. you've tried 3 things now, step back"),
    )


READY_RS = """pub struct Slot<T> {
    ready: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub fn publish(&self, v: T) {
        unsafe { (*self.value.get()).write(v) };
        self.ready.store(true, Ordering::Relaxed);
    }

    pub fn try_take(&self) -> Option<T> {
        if !self.ready.load(Ordering::Relaxed) {
            return None;
        }
        self.ready.store(false, Ordering::Relaxed);
        Some(unsafe { (*self.value.get()).assume_init_read() })
    }
}"""


def _cc_report_relaxed_publish() -> dict[str, Any]:
    L = Loop("rlx", "toolu")
    cwd = "/home/ivo/src/tickd"
    return cc(
        cwd,
        user_parts(
            "perf says Slot::publish/try_take are hot because of the SeqCst atomics. loosen the orderings to the minimum that's still correct, then run the tests and the loom-free stress test",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/src/slot.rs"),
        L.result(cc_read(READY_RS.replace("Ordering::Relaxed", "Ordering::SeqCst"))),
        L.call(
            "Edit",
            "Only one flag guards the value, so Relaxed should be enough here.",
            file_path=f"{cwd}/src/slot.rs",
            old_string="self.ready.store(true, Ordering::SeqCst);",
            new_string="self.ready.store(true, Ordering::Relaxed);",
        ),
        L.result(cc_edited(f"{cwd}/src/slot.rs", "        self.ready.store(true, Ordering::Relaxed);", 11)),
        L.call(
            "Edit",
            None,
            file_path=f"{cwd}/src/slot.rs",
            old_string="if !self.ready.load(Ordering::SeqCst) {",
            new_string="if !self.ready.load(Ordering::Relaxed) {",
        ),
        L.result(cc_edited(f"{cwd}/src/slot.rs", "        if !self.ready.load(Ordering::Relaxed) {", 15)),
        L.call(
            "Bash",
            None,
            command="cargo test --release 2>&1 | tail -6 && cargo run --release --example stress -- --secs 60",
            description="Run tests and the 60s stress run",
        ),
        L.result(
            "test slot::tests::publish_then_take ... ok\ntest slot::tests::take_empty ... ok\ntest result: ok. 14 passed; 0 failed; 0 ignored\n\nstress: 2 producers x 2 consumers, 60s on x86_64 (i9-13900K)\n  published 912,443,101  taken 912,443,101  mismatches 0\n  ns/op: 7.9 (was 19.4)"
        ),
    )


CHARGE_NEW_PY = """async def create_charge(db, stripe, key: str, request_hash: str, amount: int, currency: str, customer_id: str):
    async with db.transaction():
        row = await db.fetchrow(CLAIM_KEY, key, request_hash)  # INSERT ... ON CONFLICT DO NOTHING RETURNING
        if row is None:
            existing = await db.fetchrow(GET_KEY, key)
            if existing["request_hash"] != request_hash:
                raise KeyReuse(key)
            if existing["state"] == "done":
                return existing["response"]
            if existing["claimed_at"] > utcnow() - timedelta(seconds=30):
                raise InFlight(key)
            await db.execute(RECLAIM_KEY, key)  # stale claim: previous attempt died, take it over
    charge = await stripe.charges.create(amount=amount, currency=currency, customer=customer_id)
    async with db.transaction():
        await db.execute(SAVE_RESPONSE, key, charge.json())
    return charge.json()"""


def _cc_followup_why_idempotency_reclaim() -> dict[str, Any]:
    L = Loop("idm", "toolu")
    cwd = "/home/dev/payments"
    return cc(
        cwd,
        user_parts(
            "charge endpoint got slow, p95 400ms. the idempotency insert holds a row lock for the whole stripe call. speed it up without breaking idempotency",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/app/charges.py", offset=20, limit=20),
        L.result(
            cc_read(
                "async def create_charge(db, stripe, key: str, request_hash: str, amount: int, currency: str, customer_id: str):\n    async with db.transaction():\n        await db.execute(INSERT_IDEMPOTENCY_KEY, key, request_hash)\n        charge = await stripe.charges.create(amount=amount, currency=currency, customer=customer_id)\n        await db.execute(SAVE_RESPONSE, key, charge.json())\n    return charge.json()",
                20,
            )
        ),
        L.call("Write", None, file_path=f"{cwd}/app/charges.py", content=CHARGE_NEW_PY),
        L.result(f"The file {cwd}/app/charges.py has been updated."),
        L.call("Bash", None, command="uv run pytest -q tests/test_charges.py", description="Run charge tests"),
        L.result("............\n12 passed in 1.31s"),
        {
            "role": "assistant",
            "content": "The key is now claimed in a short transaction, the Stripe call runs outside any transaction, and the response is saved afterwards (app/charges.py:20). A retry while the first attempt is running gets 409 `InFlight`; a claim older than 30s is treated as abandoned and taken over, so a crashed attempt doesn't block the key forever. Tests pass.",
        },
        user_parts(
            "what's the 30s takeover for exactly? stripe sometimes takes 40s+ when they're degraded. can that double charge someone?"
        ),
    )


def _cc_first_dual_write() -> dict[str, Any]:
    return cc(
        "/home/nadia/work/catalog",
        user_parts(
            claude_md(
                "/home/nadia/work/catalog/CLAUDE.md",
                "# catalog\nNode 20 + TypeScript. Product data lives in MongoDB (products, variants collections); search indexing via change streams.\n- `npm test`, `npm run test:int` (needs docker)\n- 14 services read products through packages/catalog-client",
            ),
            "we're moving products + variants from mongo to postgres. no downtime, writes keep coming (~300/s at peak, price updates from 3 feeds), and we must be able to roll back to mongo at any point until cutover. plan it and start implementing: dual writes, backfill, verification, read switch",
            TODO_EMPTY,
        ),
        branch="migrate/products-pg",
    )


AUX_TITLE_CC = req(
    s(
        "Write a short title (at most 6 words) for a coding session that starts with the user message below. Reply with the title only, no quotes, no punctuation at the end."
    ),
    u(
        "the grafana alert for disk usage on the kafka brokers fires every night at 3am and resolves itself at 3:20, can you check the alert rule and the retention settings"
    ),
)


AGENT_CC = [
    case(
        "t3-cc-first-cursor-pagination",
        "sonnet",
        "Keyset pagination with an opaque stable cursor over a few files and tests: a well-trodden feature in a tool loop.",
        _cc_first_cursor_pagination(),
        "python",
        "postgres",
        CC,
        "tools",
        "stage-first-turn",
    ),
    case(
        "t3-cc-explore-flaky-export",
        "sonnet",
        "A missing ORDER BY exposed by parallel CI and autovacuum, found from the files read: a standard fix plus an honest test.",
        _cc_explore_flaky_export(),
        "python",
        "sql",
        CC,
        "tools",
        "stage-explore",
        "debug",
    ),
    case(
        "t3-cc-testfail-dst-slots",
        "sonnet",
        "Adding 24h in ms across a DST change shifts wall-clock slots; the fix is calendar-day arithmetic in the zone, shown by the failing test.",
        _cc_testfail_dst_slots(),
        "typescript",
        CC,
        "tools",
        "stage-test-fail",
    ),
    case(
        "t3-cc-stuck-makefile-tabs",
        "sonnet",
        "A mechanical obstacle: the Edit keeps failing on spaces versus the Makefile's tabs.",
        _cc_stuck_makefile_tabs(),
        "make",
        CC,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "tool-error",
    ),
    case(
        "t3-cc-report-vitest-migration",
        "sonnet",
        "Only the summary of a green jest-to-vitest migration is left: the report stage at the tool floor.",
        _cc_report_vitest_migration(),
        "typescript",
        CC,
        "tools",
        "stage-report",
        "migration",
    ),
    case(
        "t3-cc-followup-flag-name",
        "sonnet",
        "Renaming a flag after a finished change: trivial, but inside a tool loop.",
        _cc_followup_flag_name(),
        "python",
        CC,
        "tools",
        "stage-followup",
    ),
    case(
        "t3-cc-explore-api-key-header-hole",
        "opus",
        "The middleware trusts X-User-Id from a client-controlled X-Forwarded-For under trust proxy: adding API keys to it while leaving that impersonation hole is not acceptable.",
        _cc_explore_api_key_header_hole(),
        "typescript",
        "node",
        CC,
        "tools",
        "stage-explore",
        "security",
        "auth",
    ),
    case(
        "t3-cc-stuck-outbox-gaps",
        "opus",
        "The agent's model is wrong: sequence ids commit out of order, so an id > cursor relay skips late commits; the fix needs a visibility-aware cursor, not batching or error handling.",
        _cc_stuck_outbox_gaps(),
        "python",
        "postgres",
        CC,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "distributed",
    ),
    case(
        "t3-cc-report-relaxed-publish",
        "opus",
        "The green run is on x86, which cannot show the missing Release/Acquire pair publishing the value; the report must undo the change, not summarise it.",
        _cc_report_relaxed_publish(),
        "rust",
        CC,
        "tools",
        "stage-report",
        "memory-model",
        "lock-free",
    ),
    case(
        "t3-cc-followup-why-idempotency-reclaim",
        "opus",
        "An honest answer: a time-based takeover of a live claim double charges when Stripe is slow or the first attempt crashed after charging; exactly-once across an external side effect needs Stripe's own idempotency key and a recovery path, not a timeout.",
        _cc_followup_why_idempotency_reclaim(),
        "python",
        "payments",
        CC,
        "tools",
        "stage-followup",
        "distributed",
    ),
    case(
        "t3-cc-first-dual-write",
        "opus",
        "A zero-downtime Mongo to Postgres dual-write migration with rollback and continuous writes: cross-cutting invariants over many services.",
        _cc_first_dual_write(),
        "typescript",
        "postgres",
        CC,
        "tools",
        "stage-first-turn",
        "design",
        "migration",
    ),
    case(
        "t3-cc-aux-title",
        "local",
        "The client's title request: a few words for one message, no tools.",
        AUX_TITLE_CC,
        CC,
        "aux",
    ),
]


# =================================================================================================
# agent loops: Codex CLI
# =================================================================================================

CX = "codex"


def cx(cwd: str, agents: str | None, ask: str, *messages: dict[str, Any], **env: Any) -> dict[str, Any]:
    head = [s(CODEX_INSTRUCTIONS)]
    if agents:
        head.append(agents_md(cwd, agents))
    head.append(env_context(cwd, **env))
    head.append(u(ask))
    return req(*head, *messages, tools=CODEX_TOOLS)


def sh(L: Loop, cmd: str, cwd: str, thought: str | None = None) -> dict[str, Any]:
    return L.call("shell", thought, command=bash_lc(cmd), workdir=cwd)


def _cx_first_rust_exclude() -> dict[str, Any]:
    return cx(
        "/home/jo/src/dupfind",
        "- Rust 2021, MSRV 1.74. `cargo test`, `cargo clippy -- -D warnings` must pass.\n- CLI args with clap derive in src/cli.rs; the walker is src/walk.rs (uses the `ignore` crate).",
        "add a repeatable --exclude <GLOB> option (e.g. --exclude '*.tmp' --exclude 'node_modules/**') that skips matching paths during the walk, relative to the root being scanned. tests for it too",
    )


def _cx_stuck_sandbox_network() -> dict[str, Any]:
    L = Loop("net")
    cwd = "/home/max/web/landing"
    err = """npm error code EAI_AGAIN
npm error syscall getaddrinfo
npm error errno EAI_AGAIN
npm error request to https://registry.npmjs.org/@tailwindcss%2fforms failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org
npm error A complete log of this run can be found in: /home/max/.npm/_logs/2025-06-12T09_14_33_112Z-debug-0.log"""
    return cx(
        cwd,
        "- Astro 4 site. `npm run build` must pass. Tailwind config in tailwind.config.mjs.",
        "style the contact form with @tailwindcss/forms",
        sh(L, "npm install -D @tailwindcss/forms", cwd),
        L.result(cx_out(err, 1, 31.2)),
        sh(L, "npm install -D @tailwindcss/forms --prefer-offline", cwd, "Retrying from the cache."),
        L.result(cx_out(err.replace("09_14_33_112Z", "09_15_08_540Z"), 1, 30.9)),
        sh(L, "npm config set registry https://registry.npmjs.org/ && npm install -D @tailwindcss/forms", cwd),
        L.result(cx_out(err.replace("09_14_33_112Z", "09_15_44_007Z"), 1, 31.0)),
    )


RACE_OUT = """==================
WARNING: DATA RACE
Write at 0x00c0001a4090 by goroutine 41:
  runtime.mapassign_faststr()
      /usr/local/go/src/runtime/map_faststr.go:223 +0x0
  github.com/acme/geo/internal/tiles.(*Cache).Get()
      /home/dev/geo/internal/tiles/cache.go:31 +0x1c4
  github.com/acme/geo/internal/tiles.(*Handler).ServeTile()
      /home/dev/geo/internal/tiles/handler.go:48 +0x2b0

Previous read at 0x00c0001a4090 by goroutine 39:
  runtime.mapaccess2_faststr()
      /usr/local/go/src/runtime/map_faststr.go:117 +0x0
  github.com/acme/geo/internal/tiles.(*Cache).Get()
      /home/dev/geo/internal/tiles/cache.go:24 +0x8c
==================
--- FAIL: TestServeTileConcurrent (0.31s)
    testing.go:1398: race detected during execution of test
FAIL
FAIL	github.com/acme/geo/internal/tiles	0.442s"""

CACHE_GO = """type Cache struct {
	items map[string][]byte
	load  func(ctx context.Context, key string) ([]byte, error)
}

func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	if b, ok := c.items[key]; ok {
		return b, nil
	}
	b, err := c.load(ctx, key)
	if err != nil {
		return nil, err
	}
	c.items[key] = b
	return b, nil
}"""


def _cx_testfail_go_race() -> dict[str, Any]:
    L = Loop("race")
    cwd = "/home/dev/geo"
    return cx(
        cwd,
        "- Go 1.22. `make test` = `go test ./... -race`.\n- internal/tiles serves map tiles; load() renders from PostGIS and takes 50-400ms.",
        "add a concurrent test for ServeTile and make sure make test passes",
        sh(L, "sed -n '15,40p' internal/tiles/cache.go", cwd),
        L.result(cx_out(CACHE_GO)),
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Add File: internal/tiles/handler_concurrent_test.go\n+package tiles\n+\n+func TestServeTileConcurrent(t *testing.T) {\n+\th := newTestHandler(t)\n+\tvar wg sync.WaitGroup\n+\tfor i := 0; i < 64; i++ {\n+\t\twg.Add(1)\n+\t\tgo func(i int) { defer wg.Done(); serve(t, h, fmt.Sprintf("/tiles/3/%d/2.png", i%4)) }(i)\n+\t}\n+\twg.Wait()\n+}'
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nA internal/tiles/handler_concurrent_test.go")),
        sh(L, "go test ./internal/tiles/ -race -run Concurrent", cwd),
        L.result(cx_out(RACE_OUT, 1, 2.1)),
    )


def _cx_report_laravel_export() -> dict[str, Any]:
    L = Loop("lrv")
    cwd = "/var/www/crm"
    return cx(
        cwd,
        "- Laravel 11, PHP 8.3. `php artisan test`, `./vendor/bin/pint` before finishing.\n- Queued jobs on Redis (Horizon).",
        "make the contacts CSV export a queued job that emails a signed download link when done, instead of building it in the request (it times out for big accounts)",
        L.call(
            "update_plan",
            None,
            plan=[
                {"step": "Create ExportContacts job writing to storage", "status": "completed"},
                {"step": "Signed temporary route for download", "status": "completed"},
                {"step": "Mail with link + controller returns 202", "status": "completed"},
                {"step": "Feature tests and pint", "status": "in_progress"},
            ],
        ),
        L.result("Plan updated"),
        sh(L, "php artisan test --filter=ContactExport && ./vendor/bin/pint --test", cwd),
        L.result(
            cx_out(
                "   PASS  Tests\\Feature\\ContactExportTest\n  ✓ export request is queued and returns 202                         0.21s\n  ✓ job writes csv with all contacts of the account                    0.34s\n  ✓ mail contains a signed link that expires in 24h                    0.05s\n  ✓ download link rejects a tampered signature                         0.04s\n  ✓ other accounts cannot download the file                            0.06s\n\n  Tests:    5 passed (19 assertions)\n  Duration: 0.93s\n\n  PASS   ......................................................... 142 files",
                0,
                4.8,
            )
        ),
        L.call(
            "update_plan",
            None,
            plan=[
                {"step": "Create ExportContacts job writing to storage", "status": "completed"},
                {"step": "Signed temporary route for download", "status": "completed"},
                {"step": "Mail with link + controller returns 202", "status": "completed"},
                {"step": "Feature tests and pint", "status": "completed"},
            ],
        ),
        L.result("Plan updated"),
    )


CODEX_COMPACT_PROMPT = """You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another LLM that will resume the task.

Include:
- Current progress and key decisions made
- Important context, constraints, or user preferences
- What remains to be done (clear next steps)
- Any critical data, examples, or references needed to continue

Be concise, structured, and focused on helping the next LLM seamlessly continue the work."""


def _cx_aux_compaction() -> dict[str, Any]:
    L = Loop("cmp")
    cwd = "/home/ana/src/billing-worker"
    mod = python_module(30, 77)
    return req(
        s(CODEX_INSTRUCTIONS),
        agents_md(cwd, "- Python 3.12, `pytest -q`, `ruff check`.\n- Money in integer cents. Never log card data."),
        env_context(cwd),
        u(
            "dunning: after a failed renewal charge, retry on day 1, 3 and 7, email the customer each time, and downgrade to free after the last failure. use the existing scheduler in billing/scheduler.py"
        ),
        sh(L, "rg -n 'def schedule|class Scheduler' billing/", cwd),
        L.result(
            cx_out(
                "billing/scheduler.py:12:class Scheduler:\nbilling/scheduler.py:30:    def schedule(self, at: datetime, task: str, payload: dict, *, dedupe_key: str | None = None) -> None:"
            )
        ),
        sh(L, "sed -n '1,250p' billing/renewals.py", cwd),
        L.result(cx_out(mod)),
        L.call(
            "apply_patch",
            None,
            input=patch(
                "*** Add File: billing/dunning.py\n+RETRY_DAYS = (1, 3, 7)\n+\n+def on_renewal_failed(sub, failure, scheduler, now):\n+    attempt = failure.attempt\n+    if attempt >= len(RETRY_DAYS):\n+        downgrade_to_free(sub)\n+        send_email(sub.customer, 'downgraded')\n+        return\n+    at = now + timedelta(days=RETRY_DAYS[attempt])\n+    scheduler.schedule(at, 'billing.retry_renewal', {'sub_id': sub.id, 'attempt': attempt + 1}, dedupe_key=f'dunning:{sub.id}:{attempt + 1}')\n+    send_email(sub.customer, 'payment_failed', attempt=attempt + 1)"
            ),
        ),
        L.result(cx_out("Success. Updated the following files:\nA billing/dunning.py")),
        u(
            "also: never more than one dunning email per customer per day, some customers have several subscriptions failing on the same day"
        ),
        {
            "role": "assistant",
            "content": "Noted: I'll batch the dunning emails per customer per day. First I'll run the dunning tests.",
        },
        sh(L, "pytest -q tests/test_dunning.py", cwd),
        L.result(
            cx_out(
                "..F.\nFAILED tests/test_dunning.py::test_third_failure_downgrades - AssertionError: expected downgrade after attempt 3, got retry scheduled for day 7\n1 failed, 3 passed in 0.52s",
                1,
            )
        ),
        {
            "role": "assistant",
            "content": "The retry days are offsets from the first failure, but I index them by the attempt number that just failed, so the downgrade comes one attempt late. I'll fix the indexing next, then add the per-customer daily email batching you asked for.",
        },
        u(CODEX_COMPACT_PROMPT),
    )


def _cx_first_ledger_exactly_once() -> dict[str, Any]:
    return cx(
        "/home/dev/ledger",
        "- Go 1.22 services. services/ledger-consumer reads `payments.captured` (Kafka, 24 partitions, consumer group ledger) and writes ledger_entries in Postgres.\n- Offsets are committed by franz-go autocommit every 5s.\n- `make test`, `make itest` (docker compose: kafka + postgres).",
        "after every deploy (rolling, 6 pods) and during the last broker maintenance we get duplicate ledger entries, and finance says twice an entry was MISSING after a rebalance. make the consumer exactly-once with respect to the ledger. no dupes, no losses, across rebalances and crashes",
        network="enabled",
    )


SAFE_FETCH_PY = """ALLOWED_SCHEMES = {"http", "https"}


def _is_public(host: str) -> bool:
    for info in socket.getaddrinfo(host, None):
        ip = ipaddress.ip_address(info[4][0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            return False
    return True


def safe_fetch(url: str, *, max_bytes: int = 5_000_000) -> bytes:
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise UnsafeURL(url)
    if not _is_public(parts.hostname):
        raise UnsafeURL(url)
    r = requests.get(url, timeout=5, allow_redirects=True, stream=True)
    r.raise_for_status()
    return r.raw.read(max_bytes + 1)[:max_bytes]
"""


def _cx_explore_avatar_ssrf() -> dict[str, Any]:
    L = Loop("ssrf")
    cwd = "/home/dev/community"
    return cx(
        cwd,
        "- Django 5, `pytest -q`. Media on S3 via django-storages.\n- libs/net/safe_fetch.py is the ONLY allowed way to fetch user-supplied URLs (webhooks already use it).",
        "let users set their avatar from a URL (profile settings, field `avatar_url`). download it with our safe_fetch helper, check it's a png/jpeg under 5MB, resize to 256px and store it",
        sh(L, "rg -n 'safe_fetch' --type py | head -20", cwd),
        L.result(
            cx_out(
                "libs/net/safe_fetch.py:20:def safe_fetch(url: str, *, max_bytes: int = 5_000_000) -> bytes:\nwebhooks/delivery.py:44:        body = safe_fetch(hook.verify_url, max_bytes=10_000)"
            )
        ),
        sh(L, "sed -n '1,40p' libs/net/safe_fetch.py", cwd),
        L.result(
            cx_out(
                "import ipaddress\nimport socket\nfrom urllib.parse import urlsplit\n\nimport requests\n\n\nclass UnsafeURL(ValueError):\n    pass\n\n\n"
                + SAFE_FETCH_PY
            )
        ),
    )


ONCALL_PY = """def go_off_call(conn, shift_id: int, doctor_id: int) -> None:
    with conn.transaction(isolation="repeatable read"):
        on_call = conn.execute(
            "SELECT count(*) FROM shift_assignments WHERE shift_id = %s AND on_call", (shift_id,)
        ).scalar()
        if on_call < 2:
            raise MustKeepOneOnCall(shift_id)
        conn.execute(
            "UPDATE shift_assignments SET on_call = false WHERE shift_id = %s AND doctor_id = %s",
            (shift_id, doctor_id),
        )
"""


def _cx_testfail_write_skew() -> dict[str, Any]:
    L = Loop("skw")
    cwd = "/home/dev/rota"
    return cx(
        cwd,
        "- Python 3.12, psycopg 3, Postgres 16. `pytest -q` (uses a real db from docker compose).",
        "there's a new concurrency test for go_off_call in tests/test_oncall_concurrency.py that the on-call team wrote. make it pass",
        sh(L, "sed -n '1,30p' rota/oncall.py", cwd),
        L.result(cx_out(ONCALL_PY)),
        sh(L, "pytest -q tests/test_oncall_concurrency.py", cwd),
        L.result(
            cx_out(
                'F\n=================================== FAILURES ===================================\n______________________ test_two_doctors_cannot_both_leave ______________________\n\n    def test_two_doctors_cannot_both_leave(db_factory):\n        shift = make_shift(on_call=["ana", "ben"])\n        results = run_concurrently(\n            lambda c: go_off_call(c, shift.id, ANA),\n            lambda c: go_off_call(c, shift.id, BEN),\n        )\n>       assert on_call_count(shift.id) >= 1\nE       assert 0 >= 1\n\ntests/test_oncall_concurrency.py:27: AssertionError\n1 failed in 0.88s',
                1,
                1.4,
            )
        ),
    )


AGENT_CX = [
    case(
        "t3-cx-first-rust-exclude",
        "sonnet",
        "A repeatable clap option wired into an ignore-crate walker with tests: a small well-trodden feature in a tool loop.",
        _cx_first_rust_exclude(),
        "rust",
        CX,
        "tools",
        "stage-first-turn",
    ),
    case(
        "t3-cx-stuck-sandbox-network",
        "sonnet",
        "A mechanical obstacle: the sandbox has no network, so the agent must stop retrying and ask for escalation or the user to install.",
        _cx_stuck_sandbox_network(),
        "javascript",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "t3-cx-testfail-go-race",
        "sonnet",
        "An unsynchronised map in a cache shown by the race detector: a standard fix (RWMutex or singleflight) from evidence.",
        _cx_testfail_go_race(),
        "go",
        CX,
        "tools",
        "stage-test-fail",
        "concurrency",
    ),
    case(
        "t3-cx-report-laravel-export",
        "sonnet",
        "Every step done and the tests green, including the access checks: only the summary is left, at the tool floor.",
        _cx_report_laravel_export(),
        "php",
        "laravel",
        CX,
        "tools",
        "stage-report",
    ),
    case(
        "t3-cx-aux-compaction",
        "sonnet",
        "The client's compaction request: the handoff must keep the off-by-one diagnosis and the user's one-email-per-day constraint faithfully.",
        _cx_aux_compaction(),
        "python",
        CX,
        "aux",
    ),
    case(
        "t3-cx-first-ledger-exactly-once",
        "opus",
        "Exactly-once into Postgres across rebalances with autocommit offsets: offsets must be stored transactionally with the entries, duplicates and losses both explained.",
        _cx_first_ledger_exactly_once(),
        "go",
        "kafka",
        "postgres",
        CX,
        "tools",
        "stage-first-turn",
        "distributed",
    ),
    case(
        "t3-cx-explore-avatar-ssrf",
        "opus",
        "The mandated safe_fetch checks DNS then fetches again and follows redirects: rebinding and redirect SSRF, a hole the new feature would widen.",
        _cx_explore_avatar_ssrf(),
        "python",
        "django",
        CX,
        "tools",
        "stage-explore",
        "security",
    ),
    case(
        "t3-cx-testfail-write-skew",
        "opus",
        "Write skew under REPEATABLE READ: an invariant over several rows needs SERIALIZABLE with retries or an explicit lock, and the plausible fixes fail silently.",
        _cx_testfail_write_skew(),
        "python",
        "postgres",
        CX,
        "tools",
        "stage-test-fail",
        "isolation",
    ),
]


# =================================================================================================
# agent loops: Cursor agent
# =================================================================================================


def cursor(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CURSOR_SYSTEM), *messages, tools=CURSOR_TOOLS)


RESOLVERS_TS = """export const resolvers: Resolvers = {
  Query: {
    orders: (_p, { first, after }, ctx) => ctx.db.order.findMany({ take: first, cursor: after ? { id: after } : undefined, skip: after ? 1 : 0, where: { shopId: ctx.shopId } }),
  },
  Order: {
    customer: (order, _a, ctx) => ctx.db.customer.findUnique({ where: { id: order.customerId } }),
    lines: (order, _a, ctx) => ctx.db.orderLine.findMany({ where: { orderId: order.id } }),
  },
  OrderLine: {
    product: (line, _a, ctx) => ctx.db.product.findUnique({ where: { id: line.productId } }),
  },
};"""


def _cursor_explore_graphql_n1() -> dict[str, Any]:
    L = Loop("gql")
    return cursor(
        cursor_user(
            "the admin orders page takes 6s to load 50 orders. the graphql query is in src/admin/queries/orders.graphql. find out why and fix it",
            workspace="/Users/lu/code/shop-admin-api",
        ),
        L.call(
            "grep_search",
            "Finding the resolvers for Order.",
            query="Order: \\{",
            include_pattern="src/**/*.ts",
            explanation="Locate the Order field resolvers.",
        ),
        L.result("File: src/graphql/resolvers.ts\nLine 6:   Order: {"),
        L.call(
            "read_file",
            None,
            target_file="src/graphql/resolvers.ts",
            should_read_entire_file=True,
            start_line_one_indexed=1,
            end_line_one_indexed_inclusive=40,
        ),
        L.result(cursor_read("src/graphql/resolvers.ts", RESOLVERS_TS)),
        L.call(
            "run_terminal_cmd",
            "Counting the SQL queries one page load makes.",
            command="DEBUG=prisma:query node scripts/replay-admin-orders.js 2>&1 | grep -c 'prisma:query'",
            is_background=False,
            explanation="Measure queries per request.",
        ),
        L.result(
            cursor_cmd_result(
                "DEBUG=prisma:query node scripts/replay-admin-orders.js 2>&1 | grep -c 'prisma:query'",
                "1187",
                cwd="/Users/lu/code/shop-admin-api",
            )
        ),
    )


UNION_TS = """type PaymentEvent =
  | { kind: "authorized"; amount: number; authCode: string }
  | { kind: "captured"; amount: number; captureId: string }
  | { kind: "refunded"; amount: number; refundId: string; reason?: string };

export function describe(ev: PaymentEvent): string {
  const id = ev.kind === "refunded" ? ev.refundId : ev.kind === "captured" ? ev.captureId : ev.authCode;
  return `${ev.kind} ${formatCents(ev.amount)} (${id})${ev.reason ? ` — ${ev.reason}` : ""}`;
}"""


def _cursor_stuck_ts_narrowing() -> dict[str, Any]:
    L = Loop("nrw")
    lint = "src/payments/describe.ts\nLine 8: Property 'reason' does not exist on type 'PaymentEvent'.\n  Property 'reason' does not exist on type '{ kind: \"authorized\"; amount: number; authCode: string; }'., severity: error"
    return cursor(
        cursor_user(
            "add the refund reason to describe() output when there is one",
            workspace="/Users/lu/code/checkout",
            linter=None,
        ),
        L.call(
            "edit_file",
            None,
            target_file="src/payments/describe.ts",
            instructions="Append the reason for refunds.",
            code_edit='  return `${ev.kind} ${formatCents(ev.amount)} (${id})${ev.reason ? ` — ${ev.reason}` : ""}`;',
        ),
        L.result(
            cursor_edit_result(
                '@@ -8 +8 @@\n-  return `${ev.kind} ${formatCents(ev.amount)} (${id})`;\n+  return `${ev.kind} ${formatCents(ev.amount)} (${id})${ev.reason ? ` — ${ev.reason}` : ""}`;',
                lint,
            )
        ),
        L.call(
            "edit_file",
            "Using optional chaining should satisfy the checker.",
            target_file="src/payments/describe.ts",
            instructions="Use optional chaining.",
            code_edit='  return `${ev.kind} ${formatCents(ev.amount)} (${id})${ev?.reason ? ` — ${ev?.reason}` : ""}`;',
        ),
        L.result(
            cursor_edit_result(
                '@@ -8 +8 @@\n-  ...${ev.reason ? ` — ${ev.reason}` : ""}`;\n+  ...${ev?.reason ? ` — ${ev?.reason}` : ""}`;',
                lint,
            )
        ),
        L.call(
            "edit_file",
            "Casting to access the optional field.",
            target_file="src/payments/describe.ts",
            instructions="Cast.",
            code_edit='  return `${ev.kind} ${formatCents(ev.amount)} (${id})${(ev as any).reason ? ` — ${(ev as any).reason}` : ""}`;',
        ),
        L.result(
            cursor_edit_result(
                '@@ -8 +8 @@\n-  ...${ev?.reason ? ` — ${ev?.reason}` : ""}`;\n+  ...${(ev as any).reason ? ` — ${(ev as any).reason}` : ""}`;',
                "src/payments/describe.ts\nLine 8: Unexpected any. Specify a different type. (@typescript-eslint/no-explicit-any), severity: error",
            )
        ),
    )


def _cursor_followup_button_label() -> dict[str, Any]:
    L = Loop("btn")
    return cursor(
        cursor_user(
            "the profile form should disable the submit button while saving and show a spinner in it",
            workspace="/Users/lu/code/web",
            current_file=(
                "src/settings/ProfileForm.vue",
                42,
                '<button type="submit" class="btn-primary">Save</button>',
            ),
        ),
        L.call(
            "edit_file",
            None,
            target_file="src/settings/ProfileForm.vue",
            instructions="Disable while saving and show a spinner.",
            code_edit='<button type="submit" class="btn-primary" :disabled="saving">\n  <Spinner v-if="saving" size="sm" class="mr-2" />\n  Save\n</button>',
        ),
        L.result(
            cursor_edit_result(
                '@@ -42 +42,4 @@\n-<button type="submit" class="btn-primary">Save</button>\n+<button type="submit" class="btn-primary" :disabled="saving">\n+  <Spinner v-if="saving" size="sm" class="mr-2" />\n+  Save\n+</button>'
            )
        ),
        a("The submit button is disabled while `saving` is true and shows a small spinner before the label."),
        cursor_user("nice. change the label to 'Save changes' and make it 'Saving…' while it's saving", first=False),
    )


def _cursor_first_perf_layers() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "since last thursday's release the search API p99 went from 250ms to 1.8s, p50 barely moved. that release: node 18 -> 20, prisma 4 -> 5, we put a redis cache in front of the facet counts, and infra changed the ALB idle timeout. CPU and memory on the pods look normal, db cpu too. I don't even know where to start, help me investigate (you can run stuff locally, there's a k6 script in load/)",
            workspace="/Users/kim/code/search-api",
            recent=["src/search/facets.ts", "src/cache/redis.ts", "load/search.k6.js"],
        ),
    )


RING_CPP = """template <typename T, size_t N>
class Ring {
  std::array<T, N> buf_;
  std::atomic<size_t> head_{0};  // written by producer
  std::atomic<size_t> tail_{0};  // written by consumer
 public:
  bool publish(const T& v) {
    size_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_.load(std::memory_order_acquire) == N) return false;
    buf_[h % N] = v;
    head_.store(h + 1, std::memory_order_relaxed);
    return true;
  }
  // consume() unchanged
};"""


def _cursor_followup_why_fence() -> dict[str, Any]:
    L = Loop("fnc")
    return cursor(
        cursor_user(
            "clean up publish() in ring.hpp, it's hard to read",
            workspace="/home/oz/src/feedhandler",
            os="linux 6.8.0",
            shell="/bin/bash",
        ),
        L.call(
            "edit_file",
            None,
            target_file="include/fh/ring.hpp",
            instructions="Simplify publish().",
            code_edit="  bool publish(const T& v) {\n    size_t h = head_.load(std::memory_order_relaxed);\n    if (h - tail_.load(std::memory_order_acquire) == N) return false;\n    buf_[h % N] = v;\n    head_.store(h + 1, std::memory_order_relaxed);\n    return true;\n  }",
        ),
        L.result(
            cursor_edit_result(
                "@@ -9,12 +9,7 @@\n   bool publish(const T& v) {\n-    const size_t h = head_.load(std::memory_order_relaxed);\n-    const size_t t = tail_.load(std::memory_order_acquire);\n-    if (h - t == N) {\n-      return false;\n-    }\n-    buf_[h % N] = v;\n-    std::atomic_thread_fence(std::memory_order_release);\n-    head_.store(h + 1, std::memory_order_relaxed);\n+    size_t h = head_.load(std::memory_order_relaxed);\n+    if (h - tail_.load(std::memory_order_acquire) == N) return false;\n+    buf_[h % N] = v;\n+    head_.store(h + 1, std::memory_order_relaxed);\n     return true;\n   }"
            )
        ),
        a(
            "publish() is now four lines: read head, check for full against tail, write the slot, advance head. I also dropped the standalone fence since head_ is already atomic."
        ),
        cursor_user(
            "hold on, why did you drop the atomic_thread_fence? head_ being atomic doesn't sound like the same thing",
            first=False,
            attached=[("include/fh/ring.hpp", RING_CPP)],
        ),
    )


AUX_CURSOR_COMMIT = req(
    s(
        "You are an expert at writing Git commit messages. Generate a concise commit message for the staged changes below. Use the conventional commits format (type(scope): subject), subject under 60 characters, then optionally a blank line and up to three short bullet points. Reply with the commit message only."
    ),
    u(
        'diff --git a/src/settings/ProfileForm.vue b/src/settings/ProfileForm.vue\n--- a/src/settings/ProfileForm.vue\n+++ b/src/settings/ProfileForm.vue\n@@ -40,3 +40,6 @@\n-<button type="submit" class="btn-primary">Save</button>\n+<button type="submit" class="btn-primary" :disabled="saving">\n+  <Spinner v-if="saving" size="sm" class="mr-2" />\n+  {{ saving ? \'Saving…\' : \'Save changes\' }}\n+</button>\n@@ -71,6 +74,7 @@ async function onSubmit() {\n+  saving.value = true\n   try {\n     await api.updateProfile(form)\n+  } finally {\n+    saving.value = false\n   }'
    ),
)


AGENT_CURSOR = [
    case(
        "t3-cursor-explore-graphql-n1",
        "sonnet",
        "Per-row resolvers make 1187 queries for 50 orders: the standard DataLoader batching fix, found from evidence.",
        _cursor_explore_graphql_n1(),
        "typescript",
        "graphql",
        CUR,
        "tools",
        "stage-explore",
        "performance",
    ),
    case(
        "t3-cursor-stuck-ts-narrowing",
        "sonnet",
        "A linter loop on a discriminated union: the mechanical fix is narrowing on kind before reading reason.",
        _cursor_stuck_ts_narrowing(),
        "typescript",
        CUR,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "t3-cursor-followup-button-label",
        "sonnet",
        "A label change after a finished edit: trivial, but inside a tool loop.",
        _cursor_followup_button_label(),
        "vue",
        "javascript",
        CUR,
        "tools",
        "stage-followup",
    ),
    case(
        "t3-cursor-first-perf-layers",
        "opus",
        "Tail latency after four layers changed at once, symptoms only: an open investigation across runtime, ORM, cache and load balancer.",
        _cursor_first_perf_layers(),
        "typescript",
        "node",
        CUR,
        "tools",
        "stage-first-turn",
        "performance",
    ),
    case(
        "t3-cursor-followup-why-fence",
        "opus",
        "An honest answer: the release fence made the relaxed head store publish the slot; without it the consumer can read a stale element on ARM, and the edit must be undone.",
        _cursor_followup_why_fence(),
        "cpp",
        CUR,
        "tools",
        "stage-followup",
        "memory-model",
        "lock-free",
    ),
    case(
        "t3-cursor-aux-commit-message",
        "local",
        "A commit message for a small diff: the client's own side request, without tools.",
        AUX_CURSOR_COMMIT,
        "vue",
        CUR,
        "aux",
    ),
]


# =================================================================================================
# agent loops: Cline (XML tools) and Continue (agent mode)
# =================================================================================================

CL = "cline"


def cline(*messages: dict[str, Any], cwd: str = "/home/dev/project") -> dict[str, Any]:
    return req(s(cline_system(cwd)), *messages)


def cont_agent(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CONTINUE_AGENT_SYSTEM), *messages, tools=CONTINUE_TOOLS)


VUE_FILES = [
    "src/",
    "src/App.vue",
    "src/main.ts",
    "src/router.ts",
    "src/views/",
    "src/views/Dashboard.vue",
    "src/views/Settings.vue",
    "src/views/Billing.vue",
    "src/components/",
    "src/components/NavBar.vue",
    "src/stores/user.ts",
    "package.json",
    "vite.config.ts",
]


def _cline_plan_i18n() -> dict[str, Any]:
    env = env_details(["src/App.vue"], cwd="/home/eva/work/portal", mode="PLAN MODE", files=VUE_FILES)
    return cline(
        cline_task(
            "we need German and French in the portal. plan how to add i18n: library, where strings live, how the user picks the language (saved on their profile), dates and currency formatting, and how we stop people adding new hardcoded strings. just the plan for now",
            env,
        ),
        cwd="/home/eva/work/portal",
    )


def _cline_testfail_jest_esm() -> dict[str, Any]:
    env = env_details(
        ["src/lib/slugify.test.ts"],
        cwd="/home/dev/cms",
        files=[
            "src/",
            "src/lib/slugify.ts",
            "src/lib/slugify.test.ts",
            "jest.config.js",
            "package.json",
            "tsconfig.json",
        ],
    )
    env2 = env_details(["src/lib/slugify.test.ts"], cwd="/home/dev/cms", tokens="18,004 / 200K tokens used (9%)")
    return cline(
        cline_task(
            "slugify should transliterate non-latin titles, use the `transliteration` package (already installed). add tests",
            env,
        ),
        a(
            "<thinking>\nThe package is installed; I'll update slugify to call transliterate() and add test cases, then run jest.\n</thinking>\n\n<execute_command>\n<command>npx jest src/lib/slugify.test.ts</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'npx jest src/lib/slugify.test.ts'",
            cline_cmd(
                """ FAIL  src/lib/slugify.test.ts
  ● Test suite failed to run

    Jest encountered an unexpected token

    Details:

    /home/dev/cms/node_modules/transliteration/dist/node/src/node/index.mjs:1
    ({"Object.<anonymous>":function(module,exports,require,__dirname,__filename,jest){import { transliterate, slugify } from './transliterate.mjs';
                                                                                      ^^^^^^

    SyntaxError: Cannot use import statement outside a module

      1 | import { transliterate } from "transliteration";
        | ^

      at Runtime.createScriptFromCode (node_modules/jest-runtime/build/index.js:1505:14)

Test Suites: 1 failed, 1 total
Tests:       0 total"""
            ),
            env2,
        ),
        cwd="/home/dev/cms",
    )


def _cline_stuck_pytest_imports() -> dict[str, Any]:
    env = env_details(
        ["tests/test_pricing.py"],
        cwd="/home/dev/quotes",
        files=[
            "src/",
            "src/quotes/",
            "src/quotes/__init__.py",
            "src/quotes/pricing.py",
            "tests/",
            "tests/test_pricing.py",
            "pyproject.toml",
        ],
    )
    env2 = env_details(["tests/test_pricing.py"], cwd="/home/dev/quotes", tokens="21,733 / 200K tokens used (11%)")
    err = "ImportError while importing test module '/home/dev/quotes/tests/test_pricing.py'.\nHint: make sure your test modules/packages have valid Python names.\nTraceback:\n/usr/lib/python3.12/importlib/__init__.py:90: in import_module\n    return _bootstrap._gcd_import(name[level:], package, level)\ntests/test_pricing.py:3: in <module>\n    from quotes.pricing import quote_total\nE   ModuleNotFoundError: No module named 'quotes'\n=========================== short test summary info ============================\nERROR tests/test_pricing.py\n1 error in 0.09s"
    return cline(
        cline_task(
            "add a volume discount to quote_total: 5% from 100 units, 10% from 500. tests in tests/test_pricing.py", env
        ),
        a(
            "<thinking>\nI've added the discount tiers to pricing.py. Now run the tests.\n</thinking>\n\n<execute_command>\n<command>python -m pytest tests/test_pricing.py -q</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result("execute_command for 'python -m pytest tests/test_pricing.py -q'", cline_cmd(err), env2),
        a(
            "<thinking>\nMaybe an __init__.py is missing in tests.\n</thinking>\n\n<write_to_file>\n<path>tests/__init__.py</path>\n<content>\n</content>\n</write_to_file>"
        ),
        cline_result(
            "write_to_file for 'tests/__init__.py'", "The content was successfully saved to tests/__init__.py.", env2
        ),
        a(
            "<execute_command>\n<command>python -m pytest tests/test_pricing.py -q</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result("execute_command for 'python -m pytest tests/test_pricing.py -q'", cline_cmd(err), env2),
        a(
            "<execute_command>\n<command>cd tests && python -m pytest test_pricing.py -q</command>\n<requires_approval>false</requires_approval>\n</execute_command>"
        ),
        cline_result(
            "execute_command for 'cd tests && python -m pytest test_pricing.py -q'",
            cline_cmd(
                err.replace("/home/dev/quotes/tests/test_pricing.py", "/home/dev/quotes/tests/test_pricing.py").replace(
                    "tests/test_pricing.py:3", "test_pricing.py:3"
                )
            ),
            env2,
        ),
        cwd="/home/dev/quotes",
    )


RESET_PHP = """<?php
class PasswordResetController extends Controller
{
    public function send(Request $request)
    {
        $user = User::where('email', $request->input('email'))->first();
        if (!$user) {
            return back()->with('status', 'If the address exists, we sent a link.');
        }
        $ts = time();
        $token = md5($user->email . $ts);
        DB::table('password_resets')->insert(['email' => $user->email, 'token' => $token, 'created_at' => now()]);
        Mail::to($user)->send(new ResetLink(url("/reset?email={$user->email}&ts={$ts}&token={$token}")));
        return back()->with('status', 'If the address exists, we sent a link.');
    }

    public function reset(Request $request)
    {
        $expected = md5($request->query('email') . $request->query('ts'));
        if (!hash_equals($expected, $request->query('token')) || time() - (int) $request->query('ts') > 86400) {
            abort(403);
        }
        $user = User::where('email', $request->query('email'))->firstOrFail();
        $user->update(['password' => Hash::make($request->input('password'))]);
        return redirect('/login');
    }
}"""


def _cline_explore_reset_token_reuse() -> dict[str, Any]:
    env = env_details(
        ["app/Http/Controllers/Auth/PasswordResetController.php"],
        cwd="/home/dev/shopfront",
        files=[
            "app/",
            "app/Http/Controllers/Auth/",
            "app/Http/Controllers/Auth/PasswordResetController.php",
            "app/Http/Controllers/Auth/RegisterController.php",
            "routes/web.php",
            "composer.json",
        ],
    )
    env2 = env_details(
        ["app/Http/Controllers/Auth/PasswordResetController.php"],
        cwd="/home/dev/shopfront",
        tokens="16,512 / 200K tokens used (8%)",
    )
    return cline(
        cline_task(
            "new signups need to verify their email before they can check out. reuse the token mechanism from the password reset flow so we don't have two ways of doing it",
            env,
        ),
        a(
            "<thinking>\nLet me look at how password reset tokens are generated and checked.\n</thinking>\n\n<read_file>\n<path>app/Http/Controllers/Auth/PasswordResetController.php</path>\n</read_file>"
        ),
        cline_result(
            "read_file for 'app/Http/Controllers/Auth/PasswordResetController.php'",
            cline_file("app/Http/Controllers/Auth/PasswordResetController.php", RESET_PHP),
            env2,
        ),
        cwd="/home/dev/shopfront",
    )


def _cont_agent_followup_skip_locked() -> dict[str, Any]:
    L = Loop("skl")
    claim = "UPDATE jobs SET state = 'running', locked_by = $1, locked_at = now()\nWHERE id = (\n  SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now()\n  ORDER BY priority DESC, run_at\n  LIMIT 1\n  FOR UPDATE SKIP LOCKED\n)\nRETURNING id, kind, payload;"
    return cont_agent(
        u(
            "workers sometimes run the same job twice, we have 6 of them polling the jobs table. fix the claim query in worker/queue.ts"
        ),
        L.call("builtin_read_file", None, filepath="worker/queue.ts"),
        L.result(
            "```ts worker/queue.ts\nconst CLAIM = `\nUPDATE jobs SET state = 'running', locked_by = $1, locked_at = now()\nWHERE id = (\n  SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now()\n  ORDER BY priority DESC, run_at\n  LIMIT 1\n)\nRETURNING id, kind, payload;`;\n```"
        ),
        L.call(
            "builtin_edit_existing_file", None, filepath="worker/queue.ts", changes="const CLAIM = `\n" + claim + "`;"
        ),
        L.result("Edit applied to worker/queue.ts"),
        a(
            "The claim subquery now locks the row it picks with `FOR UPDATE SKIP LOCKED`, so concurrent workers each get a different job."
        ),
        u(
            "why SKIP LOCKED specifically and not just FOR UPDATE? and why did it double-run before, it's a single UPDATE statement"
        ),
    )


TPC_TLA = """VARIABLES rmState, tmState, tmPrepared, msgs, tmLog

TMRcvPrepared(r) == /\\ tmState = "init" /\\ [type |-> "Prepared", rm |-> r] \\in msgs
                    /\\ tmPrepared' = tmPrepared \\cup {r} /\\ UNCHANGED <<rmState, tmState, msgs, tmLog>>

TMCommit == /\\ tmState = "init" /\\ tmPrepared = RM
            /\\ tmState' = "committed" /\\ msgs' = msgs \\cup {[type |-> "Commit"]}
            /\\ UNCHANGED <<rmState, tmPrepared, tmLog>>

TMCrash == /\\ tmState' = "init" /\\ tmPrepared' = {} /\\ UNCHANGED <<rmState, msgs, tmLog>>

TMRecover == /\\ tmState = "init" /\\ tmLog = "committed"
             /\\ tmState' = "committed" /\\ UNCHANGED <<rmState, tmPrepared, msgs, tmLog>>

TMAbort == /\\ tmState = "init" /\\ tmState' = "aborted"
           /\\ msgs' = msgs \\cup {[type |-> "Abort"]} /\\ UNCHANGED <<rmState, tmPrepared, tmLog>>

Consistent == \\A r1, r2 \\in RM : ~ (rmState[r1] = "aborted" /\\ rmState[r2] = "committed")"""


def _cont_agent_stuck_tla_2pc() -> dict[str, Any]:
    L = Loop("tla")
    tlc = 'Error: Invariant Consistent is violated.\nError: The behavior up to this point is:\nState 1: <Initial predicate>\nState 2: <RMPrepare(r1)>\nState 3: <RMPrepare(r2)>\nState 4: <TMRcvPrepared(r1)>\nState 5: <TMRcvPrepared(r2)>\nState 6: <TMCommit>\nState 7: <RMRcvCommitMsg(r1)>\nState 8: <TMCrash>\nState 9: <TMAbort>\nState 10: <RMRcvAbortMsg(r2)>\n/\\ rmState = (r1 :> "committed" @@ r2 :> "aborted")\n12841 states generated, 3310 distinct states found, 1212 states left on queue.'
    return cont_agent(
        u(
            "I added coordinator crash/recovery to our 2PC spec (specs/TwoPhase.tla) and TLC finds a Consistent violation. fix the spec so the TM is crash-safe; run `tlc -config TwoPhase.cfg specs/TwoPhase.tla` to check"
        ),
        L.call("builtin_read_file", None, filepath="specs/TwoPhase.tla"),
        L.result("```tla specs/TwoPhase.tla\n" + TPC_TLA + "\n```"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="tlc -config TwoPhase.cfg specs/TwoPhase.tla",
            waitForCompletion=True,
        ),
        L.result(tlc),
        L.call(
            "builtin_edit_existing_file",
            "TMAbort should not fire once anything was prepared; guarding it.",
            filepath="specs/TwoPhase.tla",
            changes='TMAbort == /\\ tmState = "init" /\\ tmPrepared = {} /\\ tmState\' = "aborted"\n           /\\ msgs\' = msgs \\cup {[type |-> "Abort"]} /\\ UNCHANGED <<rmState, tmPrepared, tmLog>>',
        ),
        L.result("Edit applied to specs/TwoPhase.tla"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="tlc -config TwoPhase.cfg specs/TwoPhase.tla",
            waitForCompletion=True,
        ),
        L.result(tlc.replace("12841", "11907").replace("3310", "3102")),
        L.call(
            "builtin_edit_existing_file",
            "TMCrash must also reset msgs so the Commit message is not seen after the crash.",
            filepath="specs/TwoPhase.tla",
            changes="TMCrash == /\\ tmState' = \"init\" /\\ tmPrepared' = {} /\\ msgs' = {} /\\ UNCHANGED <<rmState, tmLog>>",
        ),
        L.result("Edit applied to specs/TwoPhase.tla"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="tlc -config TwoPhase.cfg specs/TwoPhase.tla",
            waitForCompletion=True,
        ),
        L.result(tlc.replace("12841", "9310").replace("3310", "2444")),
    )


CONT_TITLE = req(
    s(
        "Given the following message from a user, write a title for the chat in at most 5 words. Reply with the title only."
    ),
    u("how do I make the vite dev server proxy /api to localhost:8080 but keep websockets working for /api/live"),
)


AIDER_DIFF = """diff --git a/app/clients/http.py b/app/clients/http.py
--- a/app/clients/http.py
+++ b/app/clients/http.py
@@ -14,9 +14,9 @@ def fetch_with_retry(client: httpx.Client, url: str, attempts: int = 4) -> httpx.Response:
             r = client.get(url, timeout=10)
             if r.status_code < 500:
                 return r
-            log.warning("upstream %s returned %s (attempt %d/%d)" % (url, r.status_code, i + 1, attempts))
+            log.warning("upstream %s returned %s (attempt %d/%d)", url, r.status_code, i + 1, attempts)
         except httpx.TransportError as exc:
-            log.warning("transport error on %s: %s (attempt %d/%d)" % (url, exc, i + 1, attempts))
+            log.warning("transport error on %s: %s (attempt %d/%d)", url, exc, i + 1, attempts)
         time.sleep(delay)
         delay *= 2"""


AIDER_AUX_COMMIT = req(s(AIDER_COMMIT_SYSTEM), u("# Diffs:\n" + AIDER_DIFF))


AIDER_AUX_SUMMARY = req(
    s(AIDER_SUMMARIZE_SYSTEM),
    u(
        "# USER\nrename the `cap` field to `capacity` in src/cache.rs and make it pub(crate)\n\n# ASSISTANT\nsrc/cache.rs: renamed `cap` to `capacity` in the struct, `new`, and `put`; made it `pub(crate)`.\n\n# USER\nalso add a `len()` method\n\n# ASSISTANT\nAdded `pub fn len(&self) -> usize { self.map.len() }` to `Lru` in src/cache.rs.\n\n# USER\nand is_empty, clippy wants it\n\n# ASSISTANT\nAdded `pub fn is_empty(&self) -> bool` next to `len()` in src/cache.rs."
    ),
)


AGENT_IDE = [
    case(
        "t3-cline-plan-i18n",
        "sonnet",
        "Cline PLAN MODE for i18n in one Vue app: a well-trodden plan, inside the XML tool protocol.",
        _cline_plan_i18n(),
        "typescript",
        "vue",
        CL,
        "xml-tools",
        "stage-first-turn",
        "design",
    ),
    case(
        "t3-cline-testfail-jest-esm",
        "sonnet",
        "Jest cannot parse an ESM-only dependency: the known fix is transformIgnorePatterns or a CJS entry, from the trace.",
        _cline_testfail_jest_esm(),
        "typescript",
        CL,
        "xml-tools",
        "stage-test-fail",
    ),
    case(
        "t3-cline-stuck-pytest-imports",
        "sonnet",
        "A mechanical obstacle: a src layout not on the path; pythonpath in pyproject or an editable install ends the loop.",
        _cline_stuck_pytest_imports(),
        "python",
        CL,
        "xml-tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "t3-cline-explore-reset-token-reuse",
        "opus",
        "The reset token is md5(email + ts), forgeable by anyone, and never consumed; reusing it for email verification spreads the hole, so the task needs a random single-use token design.",
        _cline_explore_reset_token_reuse(),
        "php",
        "laravel",
        CL,
        "xml-tools",
        "stage-explore",
        "security",
        "auth",
    ),
    case(
        "t3-cont-agent-followup-skip-locked",
        "sonnet",
        "An honest answer about SKIP LOCKED and why the unlocked subquery let two workers claim one job under READ COMMITTED: a known queue pattern.",
        _cont_agent_followup_skip_locked(),
        "typescript",
        "postgres",
        CONT,
        "tools",
        "stage-followup",
        "concurrency",
    ),
    case(
        "t3-cont-agent-stuck-tla-2pc",
        "opus",
        "The agent's model of the bug is wrong: the TM must log the commit decision before sending Commit and recover from the log; guarding abort or erasing messages does not fix it.",
        _cont_agent_stuck_tla_2pc(),
        "tla",
        CONT,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "distributed",
        "proof",
    ),
    case(
        "t3-cont-aux-title",
        "local",
        "The client's chat-title request: a few words for one message, no tools.",
        CONT_TITLE,
        CONT,
        "aux",
    ),
    case(
        "t3-aider-aux-commit",
        "local",
        "aider's one-line commit message for a three-line diff.",
        AIDER_AUX_COMMIT,
        "python",
        AI,
        "aux",
    ),
    case(
        "t3-aider-aux-summary",
        "local",
        "aider's summary of a short conversation of mechanical edits.",
        AIDER_AUX_SUMMARY,
        "rust",
        AI,
        "aux",
    ),
]

CASES = [*LOCAL_CHAT, *SONNET_CHAT, *OPUS_CHAT, *AGENT_CC, *AGENT_CX, *AGENT_CURSOR, *AGENT_IDE]
