"""Multi-turn requests, fourth batch (group turns-4): conversations and agent-loop steps whose latest ask
differs in difficulty from what surrounds it. A long or scary history (a big paste, a security review, a
failing distributed test) ending in a mechanical ask; an easy chat ending in a short question that needs
real reasoning; agent loops at every stage, where the tool floor keeps mechanical asks at sonnet.
Labelled by the rubric in evals/README.md."""

# ruff: noqa: E501  (prompts are data: long literal lines and tool output stay as written)

from __future__ import annotations

from typing import Any

from cases_chat_turns import attached, continue_ctx, cursor_ask
from cases_claude_code import cc
from cases_codex import cx, sh
from cases_ide_agents import cline, cursor
from cases_turns_more import AI, CONT, CUR, SDK, aider, cont_chat, cursor_chat, sdk
from fixtures import a, case, code, log_lines, python_module, req, s, u
from fixtures_agent import (
    AIDER_REMINDER,
    AIDER_SUMMARIZE_SYSTEM,
    CONTINUE_AGENT_SYSTEM,
    CONTINUE_TOOLS,
    TODO_EMPTY,
    Loop,
    aider_files,
    aider_repo,
    cc_edited,
    cc_read,
    cc_system,
    cline_error,
    cline_file,
    cline_result,
    cline_task,
    cursor_cmd_result,
    cursor_edit_result,
    cursor_read,
    cursor_user,
    cx_out,
    env_details,
    patch,
    repo_map_for,
    user_parts,
)

CC = "claude-code"
CX = "codex"
CL = "cline"


def cont_agent(*messages: dict[str, Any]) -> dict[str, Any]:
    return req(s(CONTINUE_AGENT_SYSTEM), *messages, tools=CONTINUE_TOOLS)


TUTOR = "You are a patient senior engineer helping a colleague in a chat tool. Be precise; show code when useful."
OPSBOT = "You are opsbot, the platform team's internal assistant. Users run services on our Kubernetes clusters (GKE 1.30). Be concise; give commands they can paste."
DATAPAL = "You are DataPal, the SQL assistant inside Harbor BI. The warehouse and the app database are Postgres 16. Answer with SQL in fenced blocks and keep explanations short."


# =================================================================================================
# chats without tools: scary or long history, mechanical last ask (local)
# =================================================================================================

RAFT_GO = """func (r *Replica) advanceCommit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := r.commitIndex + 1; n <= r.lastLogIndex(); n++ {
		if r.log[n].Term != r.currentTerm {
			continue // only entries from the current term commit by counting
		}
		votes := 1
		for _, p := range r.peers {
			if r.matchIndex[p] >= n {
				votes++
			}
		}
		if votes*2 > len(r.peers)+1 {
			r.commitIndex = n
			r.logger.Infof("comitted index %d in term %d (quorom %d)", n, r.currentTerm, votes)
		}
	}
	r.applyCond.Broadcast()
}"""


def _cont_raft_log_typo() -> dict[str, Any]:
    return cont_chat(
        u(
            continue_ctx(
                "internal/raft/commit.go",
                "go",
                RAFT_GO.replace(
                    "if r.log[n].Term != r.currentTerm {\n\t\t\tcontinue // only entries from the current term commit by counting\n\t\t}\n\t\t",
                    "",
                ),
            )
            + "\n\nour jepsen-style test lost an acknowledged write after two leader changes. the history shows the new leader committed an old-term entry by counting replicas and then it got overwritten. is this the figure 8 problem?"
        ),
        a(
            "Yes, that is exactly Figure 8 of the Raft paper. A leader may only advance `commitIndex` by counting replicas for entries of its *own* term; entries from earlier terms become committed indirectly once a current-term entry after them is committed. Without that check a leader can mark an old-term entry committed, crash, and a later leader whose log lacks it can legally overwrite it.\n\nAdd the term check inside the loop (skip, don't break: later indices may be current-term):\n\n"
            + code("go internal/raft/commit.go", "if r.log[n].Term != r.currentTerm {\n\tcontinue\n}")
        ),
        u(
            continue_ctx("internal/raft/commit.go", "go", RAFT_GO)
            + "\n\napplied it, 2000 runs of the nemesis test are clean now. last thing, the log line has two typos, fix them"
        ),
    )


JWT_TS = """import { jwtVerify, createRemoteJWKSet } from "jose";

const JWKS = createRemoteJWKSet(new URL(process.env.AUTH_JWKS_URL!));

export async function verifyTok(token: string) {
  const { payload } = await jwtVerify(token, JWKS, {
    issuer: process.env.AUTH_ISSUER,
    audience: "orders-api",
    algorithms: ["RS256"],
    clockTolerance: 30,
  });
  return payload;
}

export async function requireUser(req: Request) {
  const header = req.headers.get("authorization") ?? "";
  const [scheme, token] = header.split(" ");
  if (scheme !== "Bearer" || !token) throw new HttpError(401, "missing bearer token");
  const claims = await verifyTok(token);
  return { id: claims.sub as string, roles: (claims.roles as string[]) ?? [] };
}"""


def _cursor_jwt_rename() -> dict[str, Any]:
    old = JWT_TS.replace('    algorithms: ["RS256"],\n', "").replace('    audience: "orders-api",\n', "")
    return cursor_chat(
        u(
            cursor_ask(
                [attached("src/auth/verify.ts", old)],
                "security review before we go live. anything wrong with how we verify tokens?",
            )
        ),
        a(
            'Two real problems. No `audience` check: a token the same IdP issued for any other app is accepted here. And no `algorithms` allow-list: pin `RS256` so a key of another type in the JWKS can never be used with a different algorithm. Expiry and signature are checked by `jwtVerify`, and 30s of clock tolerance is fine. Add `audience: "orders-api"` and `algorithms: ["RS256"]` to the options.'
        ),
        u(
            cursor_ask(
                [attached("src/auth/verify.ts", JWT_TS)],
                "done, both added. now rename verifyTok to verifyAccessToken, including the call in requireUser",
            )
        ),
    )


def _sdk_readme_line() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u(
            "TestLinearizableCounter fails about 1 in 40 runs in CI, only with -race. porcupine says the history is not linearizable: a read returns 7 after an increment to 8 was acknowledged. 3 nodes, we kill the leader in the middle. reads go to whichever node thinks it is leader"
        ),
        a(
            "That is a stale read from a deposed leader. After the partition the old leader still believes it leads until it hears a higher term, and it serves the read from its local state, which misses the increment the new leader acknowledged. `-race` only changes the timing enough to open the window.\n\nServe reads through the log (append a no-op read entry and answer once it commits), or use ReadIndex: record the commit index, confirm leadership with a heartbeat round to a majority, wait until applied >= that index, then read. Leader leases are an option only with bounded clock drift."
        ),
        u("went with ReadIndex, 500 CI runs green. I also added a `make test-linearizability` target for it"),
        a("Good. Keep the nemesis in that target so the leader kill stays part of every run."),
        u(
            'thanks. now just update this README line so it mentions the new target too:\n\n"Run `make test` for unit tests and `make test-integration` for the docker-based suite."'
        ),
    )


def _cont_big_paste_log_line() -> dict[str, Any]:
    mod = python_module(80, 404)
    return cont_chat(
        u(
            continue_ctx("billing/helpers.py", "python", mod)
            + "\n\nin compute_invoice_10 add a log.debug as the first line that logs how many records came in (len(records)). don't touch anything else"
        ),
    )


SETTLE_PY = """from decimal import Decimal

from ledger.models import Entry, Account
from ledger.locks import account_lock


def settle(batch_id: int, session) -> list[Entry]:
    entries = session.query(Entry).filter_by(batch_id=batch_id, settled=False).all()
    by_account = defaultdict(list)
    for e in entries:
        by_account[e.account_id].append(e)
    out = []
    for account_id in sorted(by_account):
        with account_lock(session, account_id):
            acct = session.get(Account, account_id)
            total = sum((e.amount for e in by_account[account_id]), Decimal("0"))
            acct.balance += total
            for e in by_account[account_id]:
                e.settled = True
                out.append(e)
    return out
"""


def _aider_autofix_missing_import() -> dict[str, Any]:
    return aider(
        *aider_repo(repo_map_for(77, 7)),
        *aider_files([("ledger/settle.py", SETTLE_PY)]),
        u(
            "settle() deadlocks with the refund worker: both lock several accounts and the refund worker locks them in the order the refund lists them. sort the accounts so every path locks in ascending account_id, and group the entries per account"
        ),
        a(
            "Locking in one global order (ascending `account_id`) removes the cycle. I grouped the entries per account and iterate `sorted(by_account)`:\n\nledger/settle.py\n```python\n<<<<<<< SEARCH\n    out = []\n    for e in entries:\n        with account_lock(session, e.account_id):\n=======\n    by_account = defaultdict(list)\n    for e in entries:\n        by_account[e.account_id].append(e)\n    out = []\n    for account_id in sorted(by_account):\n        with account_lock(session, account_id):\n>>>>>>> REPLACE\n```\n\nThe refund worker needs the same ordering; add `ledger/refunds.py` to the chat and I will change it too."
        ),
        u(
            "Fix any errors below, if possible.\n\n## Running: .venv/bin/python -m pytest tests/ledger -x -q\n\nFE\n==================================== ERRORS ====================================\n_____________________ ERROR at setup of test_settle_groups _____________________\ntests/ledger/conftest.py:14: in batch\n    from ledger.settle import settle\nledger/settle.py:11: in settle\n    by_account = defaultdict(list)\nE   NameError: name 'defaultdict' is not defined\n=========================== short test summary info ============================\nERROR tests/ledger/test_settle.py::test_settle_groups - NameError: name 'defaultdict' is not defined\n1 error in 0.41s"
        ),
        s(AIDER_REMINDER),
    )


CHURN_SQL = """select a.account_id, a.plan, count(distinct s.id) as seats, max(e.occurred_at) as last_seen, sum(case when e.kind = 'export' then 1 else 0 end) as exports from accounts a join seats s on s.account_id = a.account_id left join events e on e.account_id = a.account_id and e.occurred_at > now() - interval '30 days' where a.status = 'active' and a.plan in ('team', 'business') group by a.account_id, a.plan having max(e.occurred_at) < now() - interval '14 days' or max(e.occurred_at) is null order by seats desc"""


def _cursor_sql_format() -> dict[str, Any]:
    return cursor_chat(
        u(
            "we backfill `plan_history` from the billing webhook log in a migration that runs in one transaction while the app is still writing. the migration does INSERT ... SELECT from the log then creates a trigger for new rows. can rows slip through?"
        ),
        a(
            "Yes. Under READ COMMITTED the INSERT ... SELECT sees a snapshot taken when it starts; webhook rows committed after that snapshot but before the trigger exists are neither copied nor caught by the trigger. Create the trigger first (in its own committed step), then backfill with `ON CONFLICT (event_id) DO NOTHING`, so every row is covered by one path or the other and duplicates are harmless."
        ),
        u("ok, reordered it that way and added the unique index on event_id. works on staging."),
        a("Good. Keep the `ON CONFLICT` in the backfill; the overlap window is expected."),
        u(
            cursor_ask(
                [attached("analytics/churn_candidates.sql", CHURN_SQL)],
                "unrelated: can you format this query so it's readable? uppercase keywords, one selected column per line, joins on their own lines. don't change what it does",
            )
        ),
    )


def _sdk_401_403() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u(
            "we're reviewing our session handling: session id in a cookie, rotated on login, HttpOnly+Secure+SameSite=Lax, 30 min idle timeout, server-side store in redis. the pentest flagged that logout only deletes the cookie on the client. is that a real issue?"
        ),
        a(
            "Yes. If logout only clears the cookie, the session stays valid in Redis until the idle timeout, so a session id stolen earlier (shared machine, proxy log, XSS elsewhere) keeps working after the user logged out. Delete the session key server-side on logout, and on password change revoke all of the user's sessions (keep a per-user set of session ids in Redis to find them)."
        ),
        u("makes sense, we'll delete the key on logout and keep a per-user index for password changes."),
        a('That covers it. Also return `Clear-Site-Data: "cookies"` on logout if you want the browser side tidy.'),
        u(
            "one more basic thing for the writeup: when the session is gone, should the API answer 401 or 403? I always mix them up"
        ),
    )


WS_TS = """export enum ConnState {
  Idle = "idle",
  Connecting = "connecting",
  Open = "open",
  Closing = "closing",
  Closed = "closed",
}

export function canSend(s: ConnState): boolean {
  return s === ConnState.Open;
}

export function label(s: ConnState): string {
  switch (s) {
    case ConnState.Idle: return "Not connected";
    case ConnState.Connecting: return "Connecting…";
    case ConnState.Open: return "Live";
    case ConnState.Closing:
    case ConnState.Closed: return "Offline";
  }
}"""


def _cont_ts_enum_union() -> dict[str, Any]:
    return cont_chat(
        u(
            "our websocket client reconnects twice sometimes: on a network drop both the onclose handler and the heartbeat timeout call reconnect(), and we end up with two sockets both receiving messages"
        ),
        a(
            "Make reconnect idempotent with a single owner: keep one `reconnectTimer` and a generation counter. `reconnect()` returns early if a timer is pending or the state is `Connecting`; each socket captures the generation when created and its handlers ignore events once the generation has moved on. Close the old socket explicitly before opening the new one."
        ),
        u("did that, the duplicate sockets are gone and the soak test ran overnight clean"),
        a(
            "Nice. Keep the generation check in `onmessage` too, since a late frame from the old socket is still possible during close."
        ),
        u(
            continue_ctx("src/ws/state.ts", "typescript", WS_TS)
            + "\n\nlast thing: our lint rule bans TS enums now. turn ConnState into a string literal union type and update canSend and label to match"
        ),
    )


LOCKS_JAVA = """package com.acme.orders.locking;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

public final class OrderLockMgr {
    private final ConcurrentHashMap<Long, ReentrantLock> locks = new ConcurrentHashMap<>();

    public ReentrantLock lockFor(long orderId) {
        return locks.computeIfAbsent(orderId, id -> new ReentrantLock());
    }

    public void withBoth(long a, long b, Runnable r) {
        long first = Math.min(a, b), second = Math.max(a, b);
        ReentrantLock l1 = lockFor(first), l2 = lockFor(second);
        l1.lock();
        try {
            l2.lock();
            try { r.run(); } finally { l2.unlock(); }
        } finally { l1.unlock(); }
    }
}"""


def _aider_java_rename_class() -> dict[str, Any]:
    return aider(
        *aider_files([("src/main/java/com/acme/orders/locking/OrderLockMgr.java", LOCKS_JAVA)], "java"),
        u(
            "merging two orders deadlocked in prod: thread dump shows two threads each holding one order lock and waiting for the other. can you make withBoth safe?"
        ),
        a(
            "The two threads took the locks in argument order, so merge(A,B) and merge(B,A) formed a cycle. I changed `withBoth` to always lock the smaller id first:\n\nsrc/main/java/com/acme/orders/locking/OrderLockMgr.java\n```java\n<<<<<<< SEARCH\n        ReentrantLock l1 = lockFor(a), l2 = lockFor(b);\n=======\n        long first = Math.min(a, b), second = Math.max(a, b);\n        ReentrantLock l1 = lockFor(first), l2 = lockFor(second);\n>>>>>>> REPLACE\n```"
        ),
        u("thanks. rename the class OrderLockMgr to OrderLockManager in this file (I'll git mv the file myself)"),
        s(AIDER_REMINDER),
    )


BAD_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: etcd-backup-verifier
  namespace: platform
spec:
  replicas: 1
  selector:
    matchLabels:
      app: etcd-backup-verifier
  template:
    metadata:
      labels:
        app: etcd-backup-verifier
    spec:
      containers:
      - name: verifier
        image: registry.internal/platform/etcd-verify:1.4.2
          args: ["--snapshot-dir=/backups", "--max-age=2h"]
        volumeMounts:
        - name: backups
          mountPath: /backups
      volumes:
      - name: backups
        persistentVolumeClaim:
          claimName: etcd-backups"""


def _sdk_k8s_yaml_indent() -> dict[str, Any]:
    return sdk(
        OPSBOT,
        u(
            "postmortem help: last night cluster-b's etcd lost quorum. 3 members, one node got drained for a kernel upgrade while another was already down with a full disk. API server went read-only for 40 min. how do we stop this happening again"
        ),
        a(
            "Two independent guards. A PodDisruptionBudget is not enough here because etcd on GKE control planes is managed, but for your self-hosted etcd on cluster-b: (1) alert on etcd member health and on `etcd_server_has_leader` / disk usage per member at 70%, (2) make the drain runbook check `etcdctl endpoint health --cluster` and refuse if fewer than all members are healthy, (3) defrag and compact on a schedule so the db does not fill the disk. Also verify your snapshots restore: a backup you have never restored is a guess."
        ),
        u(
            "ok I'm writing a deployment that restores the latest snapshot into a scratch etcd every hour. kubectl apply says `error converting YAML to JSON: yaml: line 19: mapping values are not allowed in this context`. fix it:\n\n"
            + code("yaml", BAD_YAML)
        ),
    )


RETRY_CS = """public sealed class PaymentClient
{
    private readonly HttpClient _http;
    private readonly ILogger<PaymentClient> _log;

    public PaymentClient(HttpClient http, ILogger<PaymentClient> log) { _http = http; _log = log; }

    public async Task<Receipt> CaptureAsync(string paymentId, decimal amount, CancellationToken ct)
    {
        var url = string.Format("/v2/payments/{0}/capture", paymentId);
        var body = JsonContent.Create(new { amount });
        using var res = await _http.PostAsync(url, body, ct).ConfigureAwait(false);
        if (!res.IsSuccessStatusCode)
            throw new PaymentException(string.Format("capture of {0} failed with {1}", paymentId, (int)res.StatusCode));
        return (await res.Content.ReadFromJsonAsync<Receipt>(cancellationToken: ct).ConfigureAwait(false))!;
    }
}"""


def _cursor_csharp_interpolation() -> dict[str, Any]:
    return cursor_chat(
        u(
            "our ASP.NET app hangs under load after we added PaymentClient. thread pool starvation in dotnet-counters, queue length keeps growing. the controller calls `_payments.CaptureAsync(id, amt, ct).Result`"
        ),
        a(
            "`.Result` blocks a thread-pool thread for the whole HTTP call; under load every worker ends up blocked waiting for completions that need a free worker to run, so the pool starves and only grows at ~1 thread/sec. Make the controller action `async` and `await` the call all the way up, and keep `ConfigureAwait(false)` in the library (it is there already)."
        ),
        u("made the action async, p99 is back to 80ms. thanks"),
        a("Good. Search for other `.Result` / `.Wait()` on the request path, they starve the pool the same way."),
        u(
            cursor_ask(
                [attached("src/Payments/PaymentClient.cs", RETRY_CS)],
                "small cleanup: replace both string.Format calls with string interpolation",
            )
        ),
    )


STATS_CPP = """#include <atomic>
#include <cstdint>
#include <vector>

struct alignas(64) Shard {
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
};

class CacheStats {
public:
    explicit CacheStats(size_t shards) : shards_(shards) {}

    void hit(size_t tid)  { shards_[tid % shards_.size()].hits.fetch_add(1, std::memory_order_relaxed); }
    void miss(size_t tid) { shards_[tid % shards_.size()].misses.fetch_add(1, std::memory_order_relaxed); }

    uint64_t total_hits() const {
        uint64_t sum = 0;
        for (size_t i = 0; i < shards_.size(); ++i) sum += shards_[i].hits.load(std::memory_order_relaxed);
        return sum;
    }

    uint64_t total_misses() const {
        uint64_t sum = 0;
        for (size_t i = 0; i < shards_.size(); ++i) sum += shards_[i].misses.load(std::memory_order_relaxed);
        return sum;
    }

private:
    std::vector<Shard> shards_;
};"""


def _cont_cpp_range_for() -> dict[str, Any]:
    return cont_chat(
        u(
            "our cache stats counter was a single std::atomic<uint64_t> and perf shows 30% of cycles in lock xadd on 64 cores. is relaxed enough for pure counters, and how do we stop the contention?"
        ),
        a(
            "Relaxed is enough: nothing else is published through these counters, and each `fetch_add` is still atomic, so no increment is lost. A reader summing them gets a value that may be slightly behind, which is fine for stats. The contention is the cache line bouncing between cores: shard the counters per thread (or per core) with each shard on its own 64-byte line, and sum on read."
        ),
        u(
            continue_ctx("src/cache_stats.h", "cpp", STATS_CPP)
            + "\n\nsharded it like this, lock xadd dropped out of the profile. style nit from review: use range-based for loops in total_hits and total_misses instead of the index loops"
        ),
    )


FLASH_PHP = """<?php

public function updatePassword(Request $request): RedirectResponse
{
    $validated = $request->validate([
        'current_password' => ['required', 'current_password'],
        'password' => ['required', Password::defaults(), 'confirmed'],
    ]);

    $user = $request->user();
    $user->forceFill(['password' => Hash::make($validated['password'])])->save();

    Auth::logoutOtherDevices($validated['password']);
    $sesion = $request->session();
    $sesion->regenerate();

    return back()->with('status', 'Your pasword has been udpated.');
}"""


def _sdk_php_typos() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u(
            "laravel app: after a password change, are old sessions on other devices still valid? we use the database session driver"
        ),
        a(
            "Yes, unless you end them. Laravel does not invalidate other sessions on its own when the password hash changes. Call `Auth::logoutOtherDevices($plainPassword)` after saving (it needs the `AuthenticateSession` middleware on your web routes to take effect), and regenerate the current session id so a fixated id from before the change is useless."
        ),
        u(
            "added both, and the middleware is on the web group. QA confirmed the other browser gets logged out.\n\n"
            + code("php", FLASH_PHP)
            + "\n\nthe reviewer spotted typos: the $sesion variable and the flash message. fix those, nothing else"
        ),
    )


CURSOR_COMMIT_PROMPT = "You are an expert at writing git commit messages. Given the diff below, write a single-line conventional commit message (type(scope): summary) under 72 characters. Output only the commit message."

FENCE_DIFF = """diff --git a/internal/lease/writer.go b/internal/lease/writer.go
--- a/internal/lease/writer.go
+++ b/internal/lease/writer.go
@@ -31,11 +31,16 @@ func (w *Writer) Flush(ctx context.Context, batch []Record) error {
-	if !w.lease.Held() {
-		return ErrNotLeader
-	}
-	return w.store.Put(ctx, w.key, encode(batch))
+	token, ok := w.lease.Token()
+	if !ok {
+		return ErrNotLeader
+	}
+	// The store rejects writes whose token is lower than the highest it has seen,
+	// so a writer paused past its lease expiry cannot overwrite a newer leader.
+	return w.store.PutFenced(ctx, w.key, token, encode(batch))
 }
diff --git a/internal/lease/store.go b/internal/lease/store.go
--- a/internal/lease/store.go
+++ b/internal/lease/store.go
@@ -58,6 +58,19 @@ func (s *Store) Put(ctx context.Context, key string, val []byte) error {
+func (s *Store) PutFenced(ctx context.Context, key string, token uint64, val []byte) error {
+	res, err := s.db.ExecContext(ctx,
+		`UPDATE blobs SET val = $1, fence = $2 WHERE key = $3 AND fence <= $2`, val, token, key)
+	if err != nil {
+		return err
+	}
+	if n, _ := res.RowsAffected(); n == 0 {
+		return ErrFenced
+	}
+	return nil
+}"""

AUX_CURSOR_COMMIT = req(s(CURSOR_COMMIT_PROMPT), u(FENCE_DIFF))

CONT_TITLE = req(
    s(
        "Given the following message from a user, write a title for the chat in at most 5 words. Reply with the title only."
    ),
    u(
        "pentest report says our SAML ACS endpoint accepts assertions where the signature covers a different element than the one we read NameID from (XML signature wrapping). we use python3-saml 1.15 with a custom patch. how do we confirm and fix?"
    ),
)

AIDER_AUX_SUMMARY = req(
    s(AIDER_SUMMARIZE_SYSTEM),
    u(
        "# USER\nthe chaos test shows two replicas both accepting writes for partition 7 for about 2 seconds after a network split. replica.py and lease.py are in the chat\n\n# ASSISTANT\nThe old primary keeps serving until its local lease timer runs out, but the timer starts when it *receives* the grant, while the new primary's lease is granted from the coordinator's clock. With drift and the 2s grant latency the windows overlap. I changed `Lease.expires_at` in lease.py to be computed from the request send time minus a drift bound, and `Replica.accept_write` in replica.py to check it with a monotonic clock.\n\n# USER\nchaos test ran 300 times with no overlap. now also add a metric for how close to expiry each write is\n\n# ASSISTANT\nAdded a `lease_margin_seconds` histogram in replica.py, observed in `accept_write` before the check.\n\n# USER\nrename the histogram to lease_remaining_seconds\n\n# ASSISTANT\nRenamed it in replica.py and in the Grafana dashboard JSON under dashboards/replication.json."
    ),
)


CONFIG_RS = """use std::path::PathBuf;
use std::time::Duration;
use serde::Deserialize;
use crate::ring::Ring;

#[derive(Deserialize)]
pub struct IngestConfig {
    pub ring_capacity: usize,
    pub flush_every: Duration,
    pub spool_dir: PathBuf,
    pub max_batch: u32,
}"""


def _cont_rust_derive() -> dict[str, Any]:
    return cont_chat(
        u(
            "I have a `Ring<T>` backed by `Box<[UnsafeCell<MaybeUninit<T>>]>` with atomic head/tail, one producer and one consumer thread. the compiler says Ring<T> isn't Sync so I can't put it in an Arc. is `unsafe impl<T: Send> Sync for Ring<T> {}` correct?"
        ),
        a(
            "For an SPSC ring that bound is the usual one, provided the API enforces single producer and single consumer: split it into a `Producer` and a `Consumer` handle that are `Send` but not `Clone`, and take `&mut self` in `push`/`pop`. Otherwise two threads could both call `push` through a shared `&Ring`, and the `Sync` impl would be unsound. The producer must publish with `Release` on `tail` and the consumer read it with `Acquire` (and the same the other way for `head`)."
        ),
        u("split it into Producer/Consumer handles like you said, miri and loom are both happy"),
        a("Good. Keep the loom test in CI; it is the one that would catch an ordering regression."),
        u(
            continue_ctx("src/config.rs", "rust", CONFIG_RS)
            + "\n\nunrelated small one: derive Debug, Clone and PartialEq on IngestConfig, and sort the use lines (std first, then external crates, then crate::)"
        ),
    )


LOCAL_CHAT = [
    case(
        "t4-cont-raft-log-typo",
        "local",
        "After a Raft Figure-8 commit bug is fixed and verified, the last ask is two typos in one log string.",
        _cont_raft_log_typo(),
        "go",
        "chat",
        CONT,
        "distributed",
        "edit",
    ),
    case(
        "t4-cursor-jwt-rename",
        "local",
        "The token-verification holes are already fixed in the attached file; renaming a function and its one call site is mechanical.",
        _cursor_jwt_rename(),
        "typescript",
        "node",
        "chat",
        CUR,
        "security",
        "edit",
    ),
    case(
        "t4-sdk-readme-line",
        "local",
        "A linearizability failure was diagnosed and fixed earlier; the last ask rewrites one README sentence to name a new make target.",
        _sdk_readme_line(),
        "markdown",
        "go",
        "chat",
        SDK,
        "distributed",
        "docs",
    ),
    case(
        "t4-cont-big-paste-log-line",
        "local",
        "A 24k-character module under the 30k limit with a one-line edit: add a debug log at the top of one named function.",
        _cont_big_paste_log_line(),
        "python",
        "chat",
        CONT,
        "long",
        "edit",
    ),
    case(
        "t4-aider-autofix-missing-import",
        "local",
        "aider's automatic test turn after a lock-ordering fix shows a NameError: the fix is importing defaultdict.",
        _aider_autofix_missing_import(),
        "python",
        "chat",
        AI,
        "stage-test-fail",
        "concurrency",
    ),
    case(
        "t4-cursor-sql-format",
        "local",
        "After a migration race was settled, the last ask reformats one query without changing it.",
        _cursor_sql_format(),
        "sql",
        "postgres",
        "chat",
        CUR,
        "format",
    ),
    case(
        "t4-sdk-401-403",
        "local",
        "After a session-revocation review, the last ask is the textbook difference between 401 and 403.",
        _sdk_401_403(),
        "http",
        "chat",
        SDK,
        "security",
        "question",
    ),
    case(
        "t4-cont-ts-enum-union",
        "local",
        "The reconnect race is fixed; turning a string enum into a literal union and updating two small functions is mechanical.",
        _cont_ts_enum_union(),
        "typescript",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t4-aider-java-rename-class",
        "local",
        "After a lock-order deadlock fix the last ask renames a class inside one file.",
        _aider_java_rename_class(),
        "java",
        "chat",
        AI,
        "concurrency",
        "edit",
    ),
    case(
        "t4-sdk-k8s-yaml-indent",
        "local",
        "After an etcd quorum postmortem the last ask is one over-indented `args:` line in a Deployment the error message points at.",
        _sdk_k8s_yaml_indent(),
        "kubernetes",
        "yaml",
        "chat",
        SDK,
        "edit",
    ),
    case(
        "t4-cursor-csharp-interpolation",
        "local",
        "The sync-over-async starvation is fixed; replacing two string.Format calls with interpolation is mechanical.",
        _cursor_csharp_interpolation(),
        "csharp",
        "dotnet",
        "chat",
        CUR,
        "edit",
    ),
    case(
        "t4-cont-cpp-range-for",
        "local",
        "After an atomics contention discussion the last ask turns two index loops into range-based for loops.",
        _cont_cpp_range_for(),
        "cpp",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t4-sdk-php-typos",
        "local",
        "The session invalidation is done and verified; fixing a variable-name typo and a misspelt flash message is mechanical.",
        _sdk_php_typos(),
        "php",
        "laravel",
        "chat",
        SDK,
        "security",
        "edit",
    ),
    case(
        "t4-cont-rust-derive",
        "local",
        "After an unsafe Sync discussion the last ask adds three derives and sorts use lines on a plain config struct.",
        _cont_rust_derive(),
        "rust",
        "chat",
        CONT,
        "edit",
    ),
    case(
        "t4-cursor-aux-commit-fencing",
        "local",
        "A one-line commit message for a fencing-token diff: the client's side request, the diff says what changed.",
        AUX_CURSOR_COMMIT,
        "go",
        CUR,
        "aux",
        "distributed",
    ),
    case(
        "t4-cont-aux-title-saml",
        "local",
        "A five-word chat title for a first message about XML signature wrapping: the client's side request, not the review.",
        CONT_TITLE,
        CONT,
        "aux",
        "security",
    ),
    case(
        "t4-aider-aux-summary-lease",
        "local",
        "A short summary of an aider chat about lease overlap; the chat already states every change made.",
        AIDER_AUX_SUMMARY,
        "python",
        AI,
        "aux",
        "distributed",
    ),
]


# =================================================================================================
# chats without tools: easy history, last ask needs a strong model (sonnet)
# =================================================================================================

SLOTS_PY = """from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.models import Clinic


def day_slots(clinic: Clinic, day: date) -> list[datetime]:
    tz = ZoneInfo(clinic.tz)
    t = datetime.combine(day, clinic.opens_at, tzinfo=tz)
    end = datetime.combine(day, clinic.closes_at, tzinfo=tz)
    step = timedelta(minutes=clinic.slot_minutes)
    out = []
    while t < end:
        out.append(t.astimezone(ZoneInfo("UTC")))
        t += step
    return out
"""

RENDER_PY = """def render_slot(slot_utc: datetime, clinic: Clinic) -> str:
    local = slot_utc + timedelta(hours=clinic.utc_offset_hours)
    return local.strftime("%a %d %b, %H:%M")
"""


def _cursor_py_dst_slots() -> dict[str, Any]:
    fail = """FAILED tests/test_slots.py::test_no_duplicate_utc_slots[night-line-2025-03-30-Europe/Berlin] - AssertionError: assert 12 == 10
 +  where 12 = len(['2025-03-29T23:00Z', '2025-03-29T23:30Z', '2025-03-30T00:00Z', '2025-03-30T00:30Z', '2025-03-30T01:00Z', '2025-03-30T01:30Z', '2025-03-30T01:00Z', '2025-03-30T01:30Z', ...])
FAILED tests/test_slots.py::test_slot_count_matches_opening_hours[night-line-2025-10-26-Europe/Berlin] - AssertionError: assert 12 == 14
FAILED tests/test_render.py::test_render_in_clinic_time[2025-03-30T04:00Z-Europe/Berlin] - AssertionError: assert 'Sun 30 Mar, 05:00' == 'Sun 30 Mar, 06:00'
3 failed, 41 passed in 0.88s"""
    return cursor_chat(
        u("how do I print a datetime like 'Mon 03 Mar, 09:00' in python?"),
        a(
            '`dt.strftime("%a %d %b, %H:%M")`. `%a` and `%b` follow the locale, so set it (or format the names yourself) if you need English regardless of the server.'
        ),
        u(
            cursor_ask(
                [attached("clinic/slots.py", SLOTS_PY), attached("clinic/render.py", RENDER_PY)],
                "used that in render_slot. now tests fail, only on the DST weekends; the night line is open 00:00-06:00 local with 30 min slots. what's wrong, and fix both files\n\n"
                + fail,
            )
        ),
    )


GOROUTINE_DUMP = """goroutine profile: total 48213
47102 @ 0x43e2ce 0x44f8f7 0x44f8ce 0x46bf05 0x8a1c34 0x470a41
#	0x8a1c33	github.com/acme/quotes/internal/fanout.(*Client).quote.func1+0x93	/src/internal/fanout/client.go:58

611 @ 0x43e2ce 0x40a7ed 0x40a357 0x8a1f10 0x470a41
#	0x8a1f0f	github.com/acme/quotes/internal/fanout.(*Client).Best+0x1cf	/src/internal/fanout/client.go:81

14 @ 0x43e2ce 0x436a57 0x46a0a5 0x4e61c5 0x4e7511 0x4e74ff 0x5c33c9 0x5d6ae5 0x6b8f8c 0x470a41
#	0x6b8f8b	net/http.(*persistConn).readLoop+0x98b	/usr/local/go/src/net/http/transport.go:2205"""

FANOUT_GO = """func (c *Client) quote(ctx context.Context, p Provider, req Req) <-chan Quote {
	ch := make(chan Quote)
	go func() {
		q, err := p.Quote(ctx, req)
		if err != nil {
			return
		}
		ch <- q // line 58
	}()
	return ch
}

func (c *Client) Best(ctx context.Context, req Req) (Quote, error) {
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var chans []<-chan Quote
	for _, p := range c.providers {
		chans = append(chans, c.quote(ctx, p, req))
	}
	best := Quote{Price: math.MaxInt64}
	for _, ch := range chans {
		select {
		case q := <-ch: // line 81
			if q.Price < best.Price {
				best = q
			}
		case <-ctx.Done():
			return best, nil
		}
	}
	return best, nil
}"""


def _sdk_go_goroutine_leak() -> dict[str, Any]:
    return sdk(
        TUTOR,
        u("go: how do I wait on a channel with a timeout?"),
        a(
            "Use `select` with `time.After` or, better, a context:\n\n"
            + code("go", "select {\ncase v := <-ch:\n\tuse(v)\ncase <-ctx.Done():\n\treturn ctx.Err()\n}")
        ),
        u(
            "thanks, that's what Best() does. but memory on the quotes service grows ~200MB/hour and the goroutine count goes from 2k to 48k in a day. pprof goroutine dump and the code:\n\n"
            + code("text", GOROUTINE_DUMP)
            + "\n\n"
            + code("go", FANOUT_GO)
            + "\n\nwhere's the leak and what's the right fix?"
        ),
    )


MDC_JAVA = """@Component
public class TenantFilter extends OncePerRequestFilter {
    private static final ThreadLocal<String> TENANT = new ThreadLocal<>();

    public static String current() { return TENANT.get(); }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse res, FilterChain chain)
            throws ServletException, IOException {
        String tenant = req.getHeader("X-Tenant-Id");
        if (tenant != null) {
            TENANT.set(tenant);
            MDC.put("tenant", tenant);
        }
        chain.doFilter(req, res);
    }
}"""


def _cont_java_threadlocal_tenant() -> dict[str, Any]:
    return cont_chat(
        u("logback: how do I print an MDC key in the log pattern?"),
        a(
            "Use `%X{key}` in the pattern, e.g. `%d %-5level [%X{tenant}] %logger{36} - %msg%n`. Missing keys print as empty."
        ),
        u(
            continue_ctx("src/main/java/com/acme/web/TenantFilter.java", "java", MDC_JAVA)
            + "\n\nworks. but now we see something worse: health checks and a few internal calls (no X-Tenant-Id header) log a random customer's tenant, and yesterday one of those internal calls read TenantFilter.current() and exported data for the wrong tenant. tomcat, default thread pool. what's going on and how do we fix it properly?"
        ),
    )


def _sdk_pg_column_split() -> dict[str, Any]:
    return sdk(
        DATAPAL,
        u("how do I rename a column in postgres?"),
        a(
            code("sql", "ALTER TABLE customers RENAME COLUMN fullname TO full_name;")
            + "\n\nIt is a catalog change only, instant, but anything still using the old name breaks at once."
        ),
        u(
            "right. bigger one: customers.full_name (22M rows) has to become given_name + family_name. the app writes to customers all day and we deploy with rolling restarts, old and new app versions run side by side for ~10 min. give me the migration steps and the backfill SQL so nothing is lost and we don't lock the table"
        ),
    )


ORDERS_TS = """import express from "express";
import { Pool } from "pg";

const pool = new Pool({ connectionString: process.env.DATABASE_URL });
export const router = express.Router();

router.get("/orders/:id", async (req, res) => {
  const { rows } = await pool.query("SELECT * FROM orders WHERE id = $1", [req.params.id]);
  if (!rows.length) return res.status(404).end();
  res.json(rows[0]);
});"""


def _cursor_express_async() -> dict[str, Any]:
    crash = """node:internal/process/promises:289
            triggerUncaughtException(err, true /* fromPromise */);
            ^

error: invalid input syntax for type bigint: "latest"
    at /app/node_modules/pg/lib/client.js:526:17
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
    at async /app/dist/routes/orders.js:9:22 {
  length: 104,
  severity: 'ERROR',
  code: '22P02',
  routine: 'pg_strtoint64'
}

Node.js v20.12.2
[pm2] App [api:0] exited with code [1] via signal [SIGINT]
--- later, same day ---
Error: Connection terminated unexpectedly
    at Connection.<anonymous> (/app/node_modules/pg/lib/client.js:132:73)
    at Object.onceWrapper (node:events:634:26)
    at Connection.emit (node:events:519:28)
    at Socket.<anonymous> (/app/node_modules/pg/lib/connection.js:63:12)
[pm2] App [api:0] exited with code [1]"""
    return cursor_chat(
        u("express 4: add a GET /orders/:id route that returns the row or 404"),
        a("Here you go:\n\n" + code("ts src/routes/orders.ts", ORDERS_TS)),
        u(
            cursor_ask(
                [attached("src/routes/orders.ts", ORDERS_TS)],
                "the whole API process dies a few times a day. two different crashes from the pm2 log below. why does one bad request or a db restart kill the process, and what should change?\n\n"
                + crash,
            )
        ),
    )


NOTE_KT = """@Entity(tableName = "notes", indices = [Index("folder_id")])
data class NoteEntity(
    @PrimaryKey val id: Long,
    @ColumnInfo(name = "folder_id") val folderId: Long,
    val title: String,
    val body: String,
    @ColumnInfo(name = "updated_at") val updatedAt: Long,
)"""

DB_KT = """@Database(entities = [NoteEntity::class, FolderEntity::class], version = 3, exportSchema = true)
abstract class NotesDb : RoomDatabase() {
    abstract fun notes(): NoteDao
    abstract fun folders(): FolderDao

    companion object {
        fun build(ctx: Context): NotesDb =
            Room.databaseBuilder(ctx, NotesDb::class.java, "notes.db")
                .addMigrations(MIGRATION_1_2, MIGRATION_2_3)
                .build()
    }
}"""


def _aider_kotlin_room_migration() -> dict[str, Any]:
    return aider(
        *aider_files(
            [
                ("app/src/main/java/com/acme/notes/data/NoteEntity.kt", NOTE_KT),
                ("app/src/main/java/com/acme/notes/data/NotesDb.kt", DB_KT),
            ],
            "kotlin",
        ),
        u("rename the `notes()` dao accessor to `noteDao()`"),
        a(
            "app/src/main/java/com/acme/notes/data/NotesDb.kt\n```kotlin\n<<<<<<< SEARCH\n    abstract fun notes(): NoteDao\n=======\n    abstract fun noteDao(): NoteDao\n>>>>>>> REPLACE\n```\n\nCallers of `notes()` elsewhere need the same rename; add them to the chat if you want me to change them."
        ),
        u(
            "thanks, I fixed the callers. now the real work: add a nullable `lastSyncedAt` (epoch millis, column `last_synced_at`) to NoteEntity with an index on it, bump the db to version 4 with a proper migration (users have data, no destructive fallback), and add an instrumented MigrationTestHelper test that creates a v3 db with a couple of notes, migrates to 4 and checks the rows survive with last_synced_at null. schemas are exported to app/schemas"
        ),
        s(AIDER_REMINDER),
    )


def _sdk_long_log_first_error() -> dict[str, Any]:
    log = log_lines(
        390,
        4404,
        [
            "ERROR [orders-api] [worker-3] payment capture failed order=88121 err=upstream timeout after 3000ms",
            "WARN  [orders-api] [worker-3] circuit breaker payments-gw OPEN",
        ],
        at=0.55,
    )
    return sdk(
        OPSBOT,
        u(
            "orders-api had a blip around 14:20, full log of one pod below. I'll dig in myself, I just need a starting point\n\n"
            + code("text", log)
        ),
        a("Happy to help. What would you like me to pull out of it?"),
        u("just paste the first ERROR line, exactly as it appears"),
    )


SONNET_CHAT = [
    case(
        "t4-cursor-py-dst-slots",
        "sonnet",
        "After a strftime lookup the last ask is a DST bug across two files from failing tests: wall-clock stepping of aware datetimes across the transition (duplicate and missing UTC slots) and a fixed UTC offset in rendering.",
        _cursor_py_dst_slots(),
        "python",
        "chat",
        CUR,
        "debug",
        "datetime",
    ),
    case(
        "t4-sdk-go-goroutine-leak",
        "sonnet",
        "A goroutine leak from an unbuffered channel after an early timeout return, found from the pprof dump: a well-known pitfall with a standard fix.",
        _sdk_go_goroutine_leak(),
        "go",
        "chat",
        SDK,
        "concurrency",
        "debug",
    ),
    case(
        "t4-cont-java-threadlocal-tenant",
        "sonnet",
        "A ThreadLocal and MDC never cleared in a pooled Tomcat thread, found from the symptoms: the rubric's standard concurrency pitfall, fix in a finally with the null-header path.",
        _cont_java_threadlocal_tenant(),
        "java",
        "spring",
        "chat",
        CONT,
        "concurrency",
        "debug",
    ),
    case(
        "t4-sdk-pg-column-split",
        "sonnet",
        "After a rename lookup, a column split with batched backfill under rolling deploys: a known migration with several steps a small model drops.",
        _sdk_pg_column_split(),
        "sql",
        "postgres",
        "chat",
        SDK,
        "migration",
    ),
    case(
        "t4-cursor-express-async",
        "sonnet",
        "Express 4 async handler rejections and pg Pool's missing error listener, from two crash traces: the rubric's two-part well-known pitfall.",
        _cursor_express_async(),
        "typescript",
        "node",
        "express",
        "chat",
        CUR,
        "debug",
    ),
    case(
        "t4-aider-kotlin-room-migration",
        "sonnet",
        "After a rename, a Room schema bump with a hand-written migration, an index and a MigrationTestHelper test: a known migration across files whose details (index SQL matching the entity, exported schemas) a small model drops.",
        _aider_kotlin_room_migration(),
        "kotlin",
        "android",
        "chat",
        AI,
        "migration",
        "tests",
    ),
    case(
        "t4-sdk-long-log-first-error",
        "sonnet",
        "The ask is mechanical, but the request carries more than 30k characters of log, which the rubric sends to sonnet whatever the ask.",
        _sdk_long_log_first_error(),
        "logs",
        "chat",
        SDK,
        "long",
    ),
]


# =================================================================================================
# chats without tools: easy history, short last ask that needs careful reasoning (opus)
# =================================================================================================

CFG_GO = """type Server struct {
	loaded atomic.Bool
	cfg    *Config
	once   sync.Mutex
}

func (s *Server) config() *Config {
	if s.loaded.Load() {
		return s.cfg
	}
	s.once.Lock()
	defer s.once.Unlock()
	if !s.loaded.Load() {
		s.loaded.Store(true)
		s.cfg = loadConfig()
	}
	return s.cfg
}

func (c *Config) String() string {
	return fmt.Sprintf("Config{region=%s, shards=%d}", c.Region, c.Shards)
}"""


def _cont_go_publication() -> dict[str, Any]:
    return cont_chat(
        u("add a String() method to Config that prints region and shards"),
        a(
            code(
                "go internal/server/config.go",
                'func (c *Config) String() string {\n\treturn fmt.Sprintf("Config{region=%s, shards=%d}", c.Region, c.Shards)\n}',
            )
        ),
        u(
            continue_ctx("internal/server/config.go", "go", CFG_GO)
            + "\n\nthanks. quick one: under load test we sometimes get a nil pointer panic in String() called on config() right after startup. loaded is an atomic, so how can config() ever return nil?"
        ),
    )


def _sdk_pg_dual_write_deletes() -> dict[str, Any]:
    mig = """-- step 1: new table + trigger
CREATE TABLE account_balances (account_id bigint PRIMARY KEY, cents bigint NOT NULL, updated_at timestamptz NOT NULL);

CREATE FUNCTION mirror_balance() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM account_balances WHERE account_id = OLD.id;
    RETURN OLD;
  END IF;
  INSERT INTO account_balances VALUES (NEW.id, NEW.balance_cents, now())
  ON CONFLICT (account_id) DO UPDATE SET cents = EXCLUDED.cents, updated_at = EXCLUDED.updated_at;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_mirror AFTER INSERT OR UPDATE OR DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION mirror_balance();

-- step 2: backfill in batches of 10k, each batch its own transaction (READ COMMITTED)
INSERT INTO account_balances (account_id, cents, updated_at)
SELECT id, balance_cents, now() FROM accounts
WHERE id > :last_id ORDER BY id LIMIT 10000
ON CONFLICT (account_id) DO NOTHING;"""
    return sdk(
        DATAPAL,
        u("count accounts created per week this year"),
        a(
            code(
                "sql",
                "SELECT date_trunc('week', created_at) AS week, count(*)\nFROM accounts\nWHERE created_at >= date_trunc('year', now())\nGROUP BY 1 ORDER BY 1;",
            )
        ),
        u(
            "thanks. different thing: we're moving balances out of `accounts` into their own table while the app keeps writing (updates and account closures, which delete the row). this is the migration. is it safe under concurrent writes, i.e. after the backfill finishes will account_balances match accounts exactly?\n\n"
            + code("sql", mig)
        ),
    )


QUEUE_CPP = """template <typename T, size_t Cap>
class SpscQueue {
    std::array<T, Cap> buf_;
    alignas(64) std::atomic<size_t> head_{0};  // next slot to read, advanced by the consumer
    alignas(64) std::atomic<size_t> tail_{0};  // next slot to write, advanced by the producer
public:
    bool push(const T& v) {
        size_t t = tail_.load(std::memory_order_relaxed);
        if (t - head_.load(std::memory_order_acquire) == Cap) return false;
        buf_[t % Cap] = v;
        tail_.store(t + 1, std::memory_order_release);
        return true;
    }
    bool pop(T& out) {
        size_t h = head_.load(std::memory_order_relaxed);
        if (h == tail_.load(std::memory_order_acquire)) return false;
        out = buf_[h % Cap];
        head_.store(h + 1, std::memory_order_release);
        return true;
    }
    // called from a third thread, the metrics exporter
    size_t size() const {
        size_t h = head_.load(std::memory_order_acquire);
        size_t t = tail_.load(std::memory_order_acquire);
        return t - h;
    }
};"""


def _cursor_cpp_size_invariant() -> dict[str, Any]:
    return cursor_chat(
        u("what's the difference between memory_order_acquire and memory_order_seq_cst in one sentence?"),
        a(
            "Acquire only orders later reads and writes of this thread after the load and pairs with a release store; seq_cst adds a single total order over all seq_cst operations that every thread agrees on."
        ),
        u(
            cursor_ask(
                [attached("src/spsc_queue.hpp", QUEUE_CPP)],
                "ok. our dashboard assumes 0 <= size() <= Cap for this queue (we divide by Cap for a fill %). both loads in size() are acquire. can you prove the bound holds when size() runs on a third thread? if it doesn't, show how it breaks",
            )
        ),
    )


TEAMS_PY = """def remove_member(conn, team_id: int, user_id: int) -> None:
    with conn.transaction(isolation_level="repeatable read"):
        owners = conn.execute(
            "SELECT user_id FROM team_members WHERE team_id = %s AND role = 'owner'", (team_id,)
        ).fetchall()
        if [r[0] for r in owners] == [user_id]:
            raise LastOwnerError(team_id)
        conn.execute("DELETE FROM team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id))


def demote_owner(conn, team_id: int, user_id: int) -> None:
    with conn.transaction(isolation_level="repeatable read"):
        n = conn.execute(
            "SELECT count(*) FROM team_members WHERE team_id = %s AND role = 'owner'", (team_id,)
        ).fetchone()[0]
        if n <= 1:
            raise LastOwnerError(team_id)
        conn.execute(
            "UPDATE team_members SET role = 'member' WHERE team_id = %s AND user_id = %s", (team_id, user_id)
        )
"""


def _aider_py_owner_write_skew() -> dict[str, Any]:
    return aider(
        *aider_files([("app/teams/membership.py", TEAMS_PY)], "python"),
        u("add type hints for conn (psycopg Connection) and add docstrings to both functions"),
        a(
            'app/teams/membership.py\n```python\n<<<<<<< SEARCH\ndef remove_member(conn, team_id: int, user_id: int) -> None:\n=======\ndef remove_member(conn: psycopg.Connection, team_id: int, user_id: int) -> None:\n    """Remove a user from a team; refuse to remove the team\'s last owner."""\n>>>>>>> REPLACE\n```\n\napp/teams/membership.py\n```python\n<<<<<<< SEARCH\ndef demote_owner(conn, team_id: int, user_id: int) -> None:\n=======\ndef demote_owner(conn: psycopg.Connection, team_id: int, user_id: int) -> None:\n    """Demote an owner to member; refuse if they are the team\'s only owner."""\n>>>>>>> REPLACE\n```'
        ),
        u(
            "thanks. the product rule is 'every team always has at least one owner'. we run these with repeatable read, so each transaction sees a consistent snapshot. that guarantees the rule even if two admins click at the same time, right?"
        ),
        s(AIDER_REMINDER),
    )


WEBHOOK_TS = """import crypto from "node:crypto";
import express from "express";

export const hooks = express.Router();

hooks.post("/webhooks/billing", express.json(), (req, res) => {
  const sig = req.header("X-Billing-Signature") ?? "";
  const ts = req.header("X-Billing-Timestamp") ?? "";
  const expected = crypto
    .createHmac("sha256", process.env.BILLING_WEBHOOK_SECRET!)
    .update(ts + "." + JSON.stringify(req.body))
    .digest("hex");
  if (sig !== expected) return res.status(401).send("bad signature");
  handleBillingEvent(req.body).then(() => res.sendStatus(204));
});"""


def _cont_ts_webhook_review() -> dict[str, Any]:
    return cont_chat(
        u("how do I make a flex row wrap on small screens?"),
        a(
            "`flex-wrap: wrap;` on the container; add `gap` for spacing and give children a `flex-basis` or `min-width` so they wrap at a sensible width."
        ),
        u(
            continue_ctx("src/routes/webhooks.ts", "typescript", WEBHOOK_TS)
            + "\n\nthanks! also, quickly, before I ship it: does our billing webhook check look ok to you?"
        ),
    )


TLV_C = """#define MAX_VALUE 256

struct tlv { uint8_t type; uint16_t len; uint8_t value[MAX_VALUE]; };

/* Parse TLV records from a datagram. Returns number of records or -1. */
int parse_tlvs(const uint8_t *buf, size_t n, struct tlv *out, int max_out) {
    size_t off = 0;
    int count = 0;
    while (off + 3 <= n && count < max_out) {
        uint8_t type = buf[off];
        uint16_t len = (uint16_t)(buf[off + 1] << 8 | buf[off + 2]);
        off += 3;
        if (off + len > n)
            return -1;
        out[count].type = type;
        out[count].len = len;
        memcpy(out[count].value, buf + off, len);
        off += len;
        count++;
    }
    return count;
}"""


def _aider_c_tlv_parser() -> dict[str, Any]:
    return aider(
        *aider_files([("src/proto/tlv.c", TLV_C)], "c"),
        u("rename `n` to `buf_len` and `off` to `pos` in parse_tlvs"),
        a(
            "src/proto/tlv.c\n```c\n<<<<<<< SEARCH\nint parse_tlvs(const uint8_t *buf, size_t n, struct tlv *out, int max_out) {\n    size_t off = 0;\n=======\nint parse_tlvs(const uint8_t *buf, size_t buf_len, struct tlv *out, int max_out) {\n    size_t pos = 0;\n>>>>>>> REPLACE\n```\n\n(and the remaining uses in the loop body renamed the same way)"
        ),
        u(
            "thanks. these come straight off a UDP socket from devices in the field. the bounds check against the buffer length is there, so we're fine against malformed packets, right? anything else I should worry about?"
        ),
        s(AIDER_REMINDER),
    )


LWW_KT = """data class Lww<T>(val value: T, val ts: Long, val node: String)

fun <T> merge(a: Lww<T>, b: Lww<T>): Lww<T> =
    if (a.ts >= b.ts) a else b

// every replica calls merge(local, remote) when a remote update arrives
"""


def _cursor_kotlin_lww_merge() -> dict[str, Any]:
    return cursor_chat(
        u("kotlin: what does `data class` generate for me?"),
        a(
            "`equals`/`hashCode` over the primary-constructor properties, `toString`, `componentN` functions for destructuring, and `copy`."
        ),
        u(
            cursor_ask(
                [attached("sync/Lww.kt", LWW_KT)],
                "nice. our offline-first notes app syncs a title field with this last-writer-wins register, ts is the device's System.currentTimeMillis(). I need to argue in the design doc that replicas always converge no matter the order updates arrive in. can you prove merge is commutative, associative and idempotent?",
            )
        ),
    )


OPUS_CHAT = [
    case(
        "t4-cont-go-publication",
        "opus",
        "After a String() method, why an atomic flag set before the pointer is assigned lets a fast-path reader see nil: publication order under the Go memory model.",
        _cont_go_publication(),
        "go",
        "chat",
        CONT,
        "memory-model",
        "concurrency",
    ),
    case(
        "t4-sdk-pg-dual-write-deletes",
        "opus",
        "After a simple count query, a dual-write backfill on production data: a delete between a batch's snapshot and its insert resurrects a closed account, which 'looks safe' misses.",
        _sdk_pg_dual_write_deletes(),
        "sql",
        "postgres",
        "chat",
        SDK,
        "migration",
        "concurrency",
    ),
    case(
        "t4-cursor-cpp-size-invariant",
        "opus",
        "A 'prove it' on a false invariant: head is loaded before tail on a third thread, so the producer can refill past the stale head and size() exceeds Cap; the answer is a counterexample.",
        _cursor_cpp_size_invariant(),
        "cpp",
        "chat",
        CUR,
        "memory-model",
        "lock-free",
        "proof",
    ),
    case(
        "t4-aider-py-owner-write-skew",
        "opus",
        "After type hints and docstrings, whether repeatable read keeps 'at least one owner' across two concurrent demotions: write skew under snapshot isolation, where 'yes' ships.",
        _aider_py_owner_write_skew(),
        "python",
        "postgres",
        "chat",
        AI,
        "isolation",
    ),
    case(
        "t4-cont-ts-webhook-review",
        "opus",
        "A casual 'does this look ok' after a CSS question is a security review of webhook authentication: HMAC over re-serialised JSON, non-constant-time compare, no timestamp window for replays.",
        _cont_ts_webhook_review(),
        "typescript",
        "node",
        "chat",
        CONT,
        "security",
        "review",
    ),
    case(
        "t4-aider-c-tlv-parser",
        "opus",
        "After a rename, a review of a parser of untrusted UDP input: the buffer bound is checked but len up to 65535 overflows the 256-byte value array.",
        _aider_c_tlv_parser(),
        "c",
        "chat",
        AI,
        "security",
        "parser",
    ),
    case(
        "t4-cursor-kotlin-lww-merge",
        "opus",
        "After a data-class lookup, a convergence proof that is false: on equal timestamps merge keeps its first argument, so it is not commutative and replicas can diverge.",
        _cursor_kotlin_lww_merge(),
        "kotlin",
        "chat",
        CUR,
        "distributed",
        "proof",
    ),
]


# =================================================================================================
# agent loops: Claude Code
# =================================================================================================

HAZARD_RS = """pub fn publish(&self, v: T) {
    let slot = &self.slots[self.tail.load(Ordering::Relaxed) & MASK];
    unsafe { (*slot.val.get()).write(v) };
    slot.seq.store(self.tail.load(Ordering::Relaxed) + 1, Ordering::Release);
    self.tail.fetch_add(1, Ordering::Relaxed);
}

pub fn try_take(&self) -> Option<T> {
    let h = self.head.load(Ordering::Relaxed);
    let slot = &self.slots[h & MASK];
    if slot.seq.load(Ordering::Acquire) != h + 1 {
        return None;
    }
    let v = unsafe { (*slot.val.get()).assume_init_read() };
    self.head.store(h + 1, Ordering::Relaxed);
    Some(v)
}"""


def _cc_followup_rename_test() -> dict[str, Any]:
    L = Loop("rnt", "toolu")
    cwd = "/home/ines/src/telemetry-ring"
    return cc(
        cwd,
        user_parts(
            "try_take sometimes returns garbage on the graviton boxes. the consumer reads seq then the value. look at src/ring.rs and fix it, add a loom test",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/src/ring.rs"),
        L.result(
            cc_read(
                HAZARD_RS.replace("Ordering::Release);\n    self.tail", "Ordering::Relaxed);\n    self.tail").replace(
                    "seq.load(Ordering::Acquire)", "seq.load(Ordering::Relaxed)"
                ),
                40,
            )
        ),
        L.call(
            "Edit",
            "The slot's sequence number is the publication flag but both sides use Relaxed, so on ARM the consumer can see the new seq before the value write. The producer needs Release on the seq store and the consumer Acquire on the seq load.",
            file_path=f"{cwd}/src/ring.rs",
            old_string="slot.seq.store(self.tail.load(Ordering::Relaxed) + 1, Ordering::Relaxed);",
            new_string="slot.seq.store(self.tail.load(Ordering::Relaxed) + 1, Ordering::Release);",
        ),
        L.result(
            cc_edited(
                f"{cwd}/src/ring.rs",
                "    slot.seq.store(self.tail.load(Ordering::Relaxed) + 1, Ordering::Release);",
                43,
            )
        ),
        L.call(
            "Edit",
            None,
            file_path=f"{cwd}/src/ring.rs",
            old_string="if slot.seq.load(Ordering::Relaxed) != h + 1 {",
            new_string="if slot.seq.load(Ordering::Acquire) != h + 1 {",
        ),
        L.result(cc_edited(f"{cwd}/src/ring.rs", "    if slot.seq.load(Ordering::Acquire) != h + 1 {", 51)),
        L.call(
            "Bash",
            None,
            command="RUSTFLAGS='--cfg loom' cargo test --release --test loom_ring 2>&1 | tail -6",
            description="Run the new loom test",
        ),
        L.result(
            "running 1 test\ntest take_sees_published_value ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 41.87s"
        ),
        {
            "role": "assistant",
            "content": "Fixed in `src/ring.rs:43` and `src/ring.rs:51`: the slot's `seq` store is now `Release` and the consumer's `seq` load `Acquire`, so a consumer that sees the new sequence also sees the value written before it. Loom explores every interleaving of one producer and one consumer and found none that reads an uninitialised value (`tests/loom_ring.rs`).",
        },
        user_parts("great. rename the loom test to publish_then_take_is_visible, the current name doesn't say much"),
    )


def _cc_aux_bash_prefix() -> dict[str, Any]:
    return req(
        s(
            """You check shell commands that a coding agent is about to run, before the user's allow-list is applied.
Return the command's prefix: the program and the subcommands that define what it does (for example `git status`, `cargo test`, `docker compose up`).
Return "none" if there is no single prefix (pipelines, variable assignments, subshells).
Return "command_injection_detected" if any part of the command runs something other than what the prefix says: command substitution $(...) or backticks anywhere (also inside double quotes), a second command after ; && || or a newline, or output redirected outside the project. If unsure, treat it as injection.
Reply with the prefix or one of the two keywords, nothing else."""
        ),
        u(
            'Command: npm run release -- --notes "fixes for the SAML ACS handler $(git log -1 --format=%B origin/security-hotfix)"'
        ),
    )


def _cc_aux_compact() -> dict[str, Any]:
    convo = """USER: the oauth callback in services/auth/callback.py accepts any `state`. fix it and make sure the PKCE verifier is bound to the same browser session.

ASSISTANT: Read services/auth/callback.py and services/auth/session.py. `state` was generated but never stored; the callback only checked it was non-empty. Stored `state` and the PKCE `code_verifier` in the server-side session under `oauth:pending`, keyed by a random id set in a short-lived HttpOnly cookie `oauth_tx` (SameSite=Lax, 10 min). The callback now looks up `oauth:pending` by that cookie, compares `state` with hmac.compare_digest, deletes the entry before exchanging the code (single use) and passes the stored verifier to the token request.

USER: tests?

ASSISTANT: Added tests/auth/test_callback.py: missing cookie -> 400; wrong state -> 400; replayed callback after success -> 400; happy path exchanges the code with the stored verifier (token endpoint mocked with respx). `make test` passes (212 passed), `make lint` clean.

USER: also the redirect after login uses ?next= straight from the query string

ASSISTANT: services/auth/redirects.py: added `safe_next(url)` that accepts only relative paths starting with a single '/', rejects '//' and '/\\', and falls back to '/dashboard'. Used in callback.py and logout.py. Added 6 parametrised cases to tests/auth/test_redirects.py. Not committed yet; branch fix/oauth-state.

USER: ok. next I want the same for the mobile deep-link flow in services/auth/mobile.py, but first let's compact."""
    return req(
        s(cc_system("/home/ravi/src/platform", branch="fix/oauth-state")),
        user_parts(
            "Summarise the conversation so far so that work can continue from the summary alone. Include: the user's requests in order, the files read and changed with what changed in each, tests added and their results, decisions made and why, and the pending next step. Be precise about security-relevant details; do not invent anything.\n\n"
            + convo
        ),
    )


STORE_GO = """func (n *Node) Put(ctx context.Context, key string, val []byte) error {
	if !n.raft.IsLeader() {
		return ErrNotLeader
	}
	// Propose appends the entry to the leader's log and returns its index.
	idx, err := n.raft.Propose(ctx, encodePut(key, val))
	if err != nil {
		return err
	}
	n.metrics.proposed.Observe(float64(idx))
	return nil
}

func (n *Node) Get(ctx context.Context, key string) ([]byte, error) {
	return n.readThroughLog(ctx, key) // ReadIndex, see read.go
}"""


def _cc_testfail_acked_lost() -> dict[str, Any]:
    L = Loop("lin", "toolu")
    cwd = "/home/kai/src/kvd"
    out = """--- FAIL: TestLinearizableLeaderCrash (44.90s)
    linearizability_test.go:112: history is not linearizable (porcupine): 1 of 1 partitions failed
    linearizability_test.go:113: visualization written to /tmp/kvd-lin-5521.html
    linearizability_test.go:118: offending ops:
        client 3: Put(x, 11) -> ok          [t=20.112s .. 20.114s] via n1 (leader term 6)
        client 1: Get(x)     -> 10          [t=21.870s .. 21.902s] via n3 (leader term 7)
        client 1: Get(x)     -> 10          [t=23.004s .. 23.031s] via n3 (leader term 7)
    nemesis: kill -9 n1 at t=20.115s, restarted at t=26.0s
FAIL
FAIL	github.com/kai/kvd/internal/node	47.208s"""
    return cc(
        cwd,
        user_parts(
            "make the integration suite pass, TestLinearizableLeaderCrash fails on main about one run in five",
            TODO_EMPTY,
        ),
        L.call("Read", None, file_path=f"{cwd}/internal/node/node.go", offset=80, limit=30),
        L.result(cc_read(STORE_GO, 80)),
        L.call(
            "Bash",
            None,
            command="go test ./internal/node -run TestLinearizableLeaderCrash -count=3 2>&1 | tail -15",
            description="Reproduce the failing linearizability test",
        ),
        L.result(out),
    )


TRANSFER_PY = """async def transfer(db, src: int, dst: int, cents: int) -> None:
    async with db.transaction():
        bal = await db.fetchval("SELECT balance FROM wallets WHERE id = $1", src)
        if bal < cents:
            raise InsufficientFunds(src)
        await db.execute("UPDATE wallets SET balance = balance - $2 WHERE id = $1", src, cents)
        await db.execute("UPDATE wallets SET balance = balance + $2 WHERE id = $1", dst, cents)
"""


def _cc_invariant_after_lint() -> dict[str, Any]:
    L = Loop("inv", "toolu")
    cwd = "/home/lena/src/wallet-svc"
    return cc(
        cwd,
        user_parts("fix the ruff warnings in app/wallets/service.py", TODO_EMPTY),
        L.call("Bash", None, command="ruff check app/wallets/service.py", description="List ruff warnings"),
        L.result(
            "app/wallets/service.py:3:1: F401 [*] `decimal.Decimal` imported but unused\napp/wallets/service.py:27:9: E711 Comparison to `None` should be `cond is None`\nFound 2 errors.\n[*] 1 fixable with the `--fix` option."
        ),
        L.call(
            "Bash",
            None,
            command="ruff check --fix app/wallets/service.py && sed -i 's/ == None/ is None/' app/wallets/service.py && ruff check app/wallets/service.py",
            description="Fix the warnings",
        ),
        L.result("All checks passed!"),
        {
            "role": "assistant",
            "content": "Removed the unused `Decimal` import and changed `== None` to `is None` at `app/wallets/service.py:27`. ruff is clean.",
        },
        user_parts(
            selected_reminder(cwd),
            "thanks. while you're there, a question, don't change code yet: is 'a wallet balance never goes negative' actually guaranteed by transfer() when several transfers from the same wallet run at the same time? default isolation (read committed). prove it or give me a concrete interleaving",
        ),
    )


def selected_reminder(cwd: str) -> str:
    return (
        "<system-reminder>\nThe user selected lines 14 to 20 from "
        + cwd
        + "/app/wallets/service.py:\n"
        + TRANSFER_PY.strip()
        + "\n\nThis may or may not be related to the current task.\n</system-reminder>"
    )


AGENT_CC = [
    case(
        "t4-cc-followup-rename-test",
        "sonnet",
        "After an ARM publication fix verified with loom, the follow-up is a test rename: trivial, but inside a tool loop, so the tool floor.",
        _cc_followup_rename_test(),
        "rust",
        CC,
        "tools",
        "stage-followup",
        "memory-model",
    ),
    case(
        "t4-cc-aux-bash-prefix",
        "sonnet",
        "Claude Code's command-prefix check gates auto-approval; the $(...) hides inside double quotes, which is the case the rubric keeps at sonnet.",
        _cc_aux_bash_prefix(),
        CC,
        "aux",
        "security",
    ),
    case(
        "t4-cc-aux-compact",
        "sonnet",
        "Compaction of a security session: the summary must keep every file, check and pending step faithfully, which the rubric keeps at sonnet.",
        _cc_aux_compact(),
        "python",
        CC,
        "aux",
        "security",
    ),
    case(
        "t4-cc-testfail-acked-lost",
        "opus",
        "A failing linearizability test shows a write acknowledged on local append and lost when the leader dies: the fix waits for commit and apply of that index in that term, a consensus-safety fix with a plausible wrong version.",
        _cc_testfail_acked_lost(),
        "go",
        CC,
        "tools",
        "stage-test-fail",
        "distributed",
    ),
    case(
        "t4-cc-invariant-after-lint",
        "sonnet",
        "After a lint fix, 'prove it or give an interleaving' on a read-then-decrement of one balance under read committed: the counterexample and the fix (FOR UPDATE or a conditional UPDATE) are the standard check-then-act pair.",
        _cc_invariant_after_lint(),
        "python",
        "postgres",
        CC,
        "tools",
        "stage-followup",
        "concurrency",
    ),
]


# =================================================================================================
# agent loops: Codex CLI
# =================================================================================================


def _cx_report_green_typos() -> dict[str, Any]:
    L = Loop("typ")
    cwd = "/home/sam/src/ingestd"
    return cx(
        cwd,
        "- Rust 2021. `cargo test --all` and `cargo clippy --all-targets -- -D warnings` must pass before finishing.\n- Error messages are lower case, no trailing period.",
        "fix the typos in the user-facing error messages in src/errors.rs (recieve, seperator, occured, etc.) and make sure the snapshot tests still pass",
        sh(L, "rg -n 'recieve|seperator|occured|adress|lenght' src tests", cwd),
        L.result(
            cx_out(
                'src/errors.rs:14:    #[error("failed to recieve frame from {peer}")]\nsrc/errors.rs:22:    #[error("invalid field seperator {0:?} at line {1}")]\nsrc/errors.rs:31:    #[error("an error occured while flushing segment {0}")]\nsrc/errors.rs:38:    #[error("frame lenght {0} exceeds limit {1}")]\ntests/snapshots/cli__bad_separator.snap:5:error: invalid field seperator \';\' at line 3'
            )
        ),
        L.call(
            "apply_patch",
            None,
            input=patch(
                '*** Update File: src/errors.rs\n@@\n-    #[error("failed to recieve frame from {peer}")]\n+    #[error("failed to receive frame from {peer}")]\n@@\n-    #[error("invalid field seperator {0:?} at line {1}")]\n+    #[error("invalid field separator {0:?} at line {1}")]\n@@\n-    #[error("an error occured while flushing segment {0}")]\n+    #[error("an error occurred while flushing segment {0}")]\n@@\n-    #[error("frame lenght {0} exceeds limit {1}")]\n+    #[error("frame length {0} exceeds limit {1}")]',
                "*** Update File: tests/snapshots/cli__bad_separator.snap\n@@\n-error: invalid field seperator ';' at line 3\n+error: invalid field separator ';' at line 3",
            ),
        ),
        L.result(
            json_ok("Success. Updated the following files:\nM src/errors.rs\nM tests/snapshots/cli__bad_separator.snap")
        ),
        sh(L, "cargo test --all 2>&1 | tail -4 && cargo clippy --all-targets -- -D warnings 2>&1 | tail -2", cwd),
        L.result(
            cx_out(
                "test result: ok. 87 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.92s\n\n    Checking ingestd v0.9.3 (/home/sam/src/ingestd)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 3.40s",
                0,
                24.1,
            )
        ),
    )


def json_ok(text: str) -> str:
    return cx_out(text, 0, 0.1)


def _cx_stuck_build_tags() -> dict[str, Any]:
    L = Loop("tag")
    cwd = "/home/nora/src/billing"
    return cx(
        cwd,
        "- Go 1.22. Integration tests need the `integration` build tag and a Postgres from `docker compose up -d db`.\n- Run `go vet ./...` before finishing.",
        "the invoice numbering integration test TestInvoiceNumbersAreGapless fails on CI. reproduce it locally and fix it",
        sh(L, "docker compose up -d db && go test ./internal/invoices -run TestInvoiceNumbersAreGapless -v", cwd),
        L.result(
            cx_out(
                " Container billing-db-1  Running\ntesting: warning: no tests to run\nPASS\nok  \tgithub.com/acme/billing/internal/invoices\t0.012s [no tests to run]"
            )
        ),
        sh(
            L,
            "go test ./internal/invoices -run 'TestInvoiceNumbers.*' -count=1 -v",
            cwd,
            "Maybe the name filter is off; widening it.",
        ),
        L.result(
            cx_out(
                "testing: warning: no tests to run\nPASS\nok  \tgithub.com/acme/billing/internal/invoices\t0.011s [no tests to run]"
            )
        ),
        sh(
            L,
            "go test ./... -run TestInvoiceNumbersAreGapless -count=1",
            cwd,
            "Running across all packages in case the test lives elsewhere.",
        ),
        L.result(
            cx_out(
                "ok  \tgithub.com/acme/billing/cmd/billing\t0.009s [no tests to run]\nok  \tgithub.com/acme/billing/internal/invoices\t0.013s [no tests to run]\nok  \tgithub.com/acme/billing/internal/ledger\t0.010s [no tests to run]\n?   \tgithub.com/acme/billing/internal/pdf\t[no test files]",
                0,
                6.3,
            )
        ),
    )


SAFE_REDIRECT_PY = """from urllib.parse import urlparse

from flask import Blueprint, redirect, request, session, url_for

bp = Blueprint("auth", __name__)


def is_safe_path(target: str) -> bool:
    return target.startswith("/") and not urlparse(target).netloc


@bp.post("/logout")
def logout():
    session.clear()
    nxt = request.args.get("next", "/")
    return redirect(nxt if is_safe_path(nxt) else "/")


@bp.post("/login")
def login():
    user = authenticate(request.form["email"], request.form["password"])
    if user is None:
        return render_login(error="Invalid email or password"), 401
    session.clear()
    session["uid"] = user.id
    return redirect(url_for("dashboard.home"))
"""


def _cx_explore_open_redirect() -> dict[str, Any]:
    L = Loop("rdr")
    cwd = "/srv/app/portal"
    return cx(
        cwd,
        "- Flask 3, Python 3.12. `pytest -q` and `ruff check .` must pass.\n- Reuse helpers in portal/auth/ rather than adding new ones.",
        "after login, send users back to the page they came from. the login form should carry a ?next= like logout already does, reuse the same check",
        sh(L, "rg -n 'next' portal/auth portal/templates/login.html", cwd),
        L.result(
            cx_out(
                'portal/auth/views.py:16:    nxt = request.args.get("next", "/")\nportal/auth/views.py:17:    return redirect(nxt if is_safe_path(nxt) else "/")'
            )
        ),
        sh(L, "sed -n 1,40p portal/auth/views.py", cwd),
        L.result(cx_out(SAFE_REDIRECT_PY)),
    )


FREELIST_C = """typedef struct node { struct node *next; char payload[240]; } node_t;
static _Atomic(node_t *) free_head;

node_t *pool_get(void) {
    node_t *h = atomic_load_explicit(&free_head, memory_order_acquire);
    while (h && !atomic_compare_exchange_weak_explicit(&free_head, &h, h->next,
                                                       memory_order_acq_rel, memory_order_acquire))
        ;
    return h ? h : malloc(sizeof(node_t));
}

void pool_put(node_t *n) {
    node_t *h = atomic_load_explicit(&free_head, memory_order_relaxed);
    do { n->next = h; } while (!atomic_compare_exchange_weak_explicit(&free_head, &h, n,
                                                                      memory_order_release, memory_order_relaxed));
}"""


def _cx_stuck_freelist_aba() -> dict[str, Any]:
    L = Loop("aba")
    cwd = "/home/yuki/src/pktpool"
    stress_fail = "stress: 8 threads x 2000000 get/put\nstress: FAILED after 1384211 ops: node 0x7f3a1c0042f0 handed out twice (thread 3 and thread 6)\nAborted (core dumped)"
    return cx(
        cwd,
        "- C11, gcc 13 and clang 17. `make test` runs the unit tests and `make stress` the 8-thread stress test; both must pass.",
        "make stress fails intermittently since we switched the packet pool to a lock-free free list. fix it",
        sh(L, "sed -n 1,40p src/pool.c", cwd),
        L.result(cx_out(FREELIST_C)),
        L.call(
            "apply_patch",
            "The CAS in pool_put uses release only; I'll make both sides seq_cst so every thread sees the same order of pushes and pops.",
            input=patch(
                "*** Update File: src/pool.c\n@@\n-                                                                      memory_order_release, memory_order_relaxed));\n+                                                                      memory_order_seq_cst, memory_order_seq_cst));"
            ),
        ),
        L.result(json_ok("Success. Updated the following files:\nM src/pool.c")),
        sh(L, "make stress", cwd),
        L.result(
            cx_out(stress_fail.replace("1384211", "2210577").replace("0x7f3a1c0042f0", "0x7f3a1c011a80"), 134, 9.8)
        ),
        L.call(
            "apply_patch",
            "Still failing. The load of h->next in pool_get may read a stale next; adding a full fence before reading it.",
            input=patch(
                "*** Update File: src/pool.c\n@@\n-    while (h && !atomic_compare_exchange_weak_explicit(&free_head, &h, h->next,\n+    atomic_thread_fence(memory_order_seq_cst);\n+    while (h && !atomic_compare_exchange_weak_explicit(&free_head, &h, h->next,"
            ),
        ),
        L.result(json_ok("Success. Updated the following files:\nM src/pool.c")),
        sh(L, "make stress", cwd),
        L.result(
            cx_out(stress_fail.replace("1384211", "977302").replace("0x7f3a1c0042f0", "0x7f3a1c007b10"), 134, 7.1)
        ),
    )


LEASE_WRITER_GO = """func (w *Writer) Flush(ctx context.Context, batch []Record) error {
	if !w.lease.Held() {
		return ErrNotLeader
	}
	return w.store.Put(ctx, w.key, encode(batch))
}"""


def _cx_followup_fence_removed() -> dict[str, Any]:
    L = Loop("fnc")
    cwd = "/home/ari/src/segstore"
    return cx(
        cwd,
        "- Go 1.23. `go test ./... -race` must pass. The lease and writer live in internal/lease.",
        "Flush is slow: every flush does an extra round trip to read the current fence from Postgres. make it faster",
        sh(L, "sed -n 20,60p internal/lease/writer.go", cwd),
        L.result(
            cx_out(
                "func (w *Writer) Flush(ctx context.Context, batch []Record) error {\n\ttoken, ok := w.lease.Token()\n\tif !ok {\n\t\treturn ErrNotLeader\n\t}\n\tcur, err := w.store.CurrentFence(ctx, w.key)\n\tif err != nil {\n\t\treturn err\n\t}\n\tif token < cur {\n\t\treturn ErrFenced\n\t}\n\treturn w.store.PutFenced(ctx, w.key, token, encode(batch))\n}"
            )
        ),
        L.call(
            "apply_patch",
            "The lease already tells us whether we hold leadership; the extra fence read and the fenced put are redundant with that check.",
            input=patch(
                "*** Update File: internal/lease/writer.go\n@@\n"
                + "\n".join("+" + line for line in LEASE_WRITER_GO.splitlines())
            ),
        ),
        L.result(json_ok("Success. Updated the following files:\nM internal/lease/writer.go")),
        sh(L, "go test ./internal/lease/... -race -count=1", cwd),
        L.result(cx_out("ok  \tgithub.com/ari/segstore/internal/lease\t1.284s", 0, 8.2)),
        {
            "role": "assistant",
            "content": "Flush now checks `lease.Held()` and writes with a plain `Put`, saving the fence read and the conditional update: one round trip instead of two. Tests pass.",
        },
        u(
            "why did you drop the fence token entirely? the lease check should be enough, right? just confirm before I merge"
        ),
    )


AGENT_CX = [
    case(
        "t4-cx-report-green-typos",
        "sonnet",
        "Typo fixes in error strings are done and the suite and clippy are green; only the report is left, at the tool floor.",
        _cx_report_green_typos(),
        "rust",
        CX,
        "tools",
        "stage-report",
    ),
    case(
        "t4-cx-stuck-build-tags",
        "sonnet",
        "The same 'no tests to run' three times because the integration build tag is missing: a mechanical obstacle the AGENTS.md already names, so stuck at sonnet.",
        _cx_stuck_build_tags(),
        "go",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
    ),
    case(
        "t4-cx-explore-open-redirect",
        "opus",
        "Reusing the logout check for login redirects would ship its hole: startswith('/') with an empty netloc accepts '/\\evil.com', which browsers treat as another host, and the task touches it.",
        _cx_explore_open_redirect(),
        "python",
        "flask",
        CX,
        "tools",
        "stage-explore",
        "security",
        "auth",
    ),
    case(
        "t4-cx-stuck-freelist-aba",
        "opus",
        "Stuck because the agent's model is wrong: stronger orderings cannot fix the free list's ABA (a node popped, reused and pushed back between the load and the CAS); it needs tagged pointers or another scheme.",
        _cx_stuck_freelist_aba(),
        "c",
        CX,
        "tools",
        "stage-stuck",
        "repeated-failure",
        "lock-free",
        "memory-model",
    ),
    case(
        "t4-cx-followup-fence-removed",
        "opus",
        "'Why drop the fence token, the lease is enough?' needs the honest answer that a writer paused past its lease overwrites the new leader: fencing, where 'yes, confirmed' ships.",
        _cx_followup_fence_removed(),
        "go",
        "postgres",
        CX,
        "tools",
        "stage-followup",
        "distributed",
    ),
]


# =================================================================================================
# agent loops: Cursor agent
# =================================================================================================

REBALANCE_KT = """class PartitionTracker(private val metrics: Metrics) : ConsumerRebalanceListener {
    private val owned = ConcurrentHashMap.newKeySet<TopicPartition>()

    override fun onPartitionsRevoked(partitions: Collection<TopicPartition>) {
        owned.removeAll(partitions.toSet())
        metrics.gauge("consumer.owned_partitions", owned.size)
    }

    override fun onPartitionsAssigned(partitions: Collection<TopicPartition>) {
        owned.addAll(partitions)
        metrics.gauge("consumer.owned_partitions", owned.size)
    }
}"""


def _cursor_first_log_line() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "add an info log line in onPartitionsAssigned and onPartitionsRevoked that lists the partitions, use the existing slf4j logger pattern from the rest of the module",
            workspace="/Users/dana/code/settlement-consumer",
            current_file=(
                "src/main/kotlin/com/acme/settle/PartitionTracker.kt",
                8,
                "    override fun onPartitionsAssigned(partitions: Collection<TopicPartition>) {",
            ),
            attached=[("src/main/kotlin/com/acme/settle/PartitionTracker.kt", REBALANCE_KT)],
        ),
    )


REUSE_TESTS = """ PASS  test/auth/refresh.test.ts
  POST /auth/refresh
    ✓ rotates the refresh token and returns a new pair (41 ms)
    ✓ rejects an expired refresh token (12 ms)
    ✓ reuse of a rotated token revokes the whole family (27 ms)
    ✓ a concurrent double submit of the same token: one succeeds, the family is revoked (58 ms)
    ✓ a revoked family cannot be refreshed with its newest token (15 ms)
    ✓ logout revokes the family (10 ms)

Test Suites: 1 passed, 1 total
Tests:       6 passed, 6 total
Time:        2.114 s"""


def _cursor_report_reuse_tests() -> dict[str, Any]:
    L = Loop("rft")
    ws = "/Users/ben/code/identity"
    return cursor(
        cursor_user(
            "implement refresh token rotation with reuse detection: each refresh returns a new token, the old one is single-use, and presenting an already-used token revokes the whole token family. tests included",
            workspace=ws,
        ),
        L.call(
            "edit_file",
            "Adding family ids and a used-at column, and doing the rotation in one transaction that locks the token row.",
            target_file="src/auth/refresh.ts",
            instructions="Rotate refresh tokens with reuse detection.",
            code_edit="// ... existing code ...\nconst row = await tx.refreshToken.findUnique({ where: { hash } , lock: 'FOR UPDATE' });\nif (!row || row.revokedAt || row.expiresAt < now) throw unauthorized();\nif (row.usedAt) { await revokeFamily(tx, row.familyId); throw unauthorized(); }\nawait tx.refreshToken.update({ where: { id: row.id }, data: { usedAt: now } });\n// ... existing code ...",
        ),
        L.result(
            cursor_edit_result(
                "@@ -18,9 +18,15 @@\n+  const row = await tx.refreshToken.findUnique({ where: { hash }, lock: 'FOR UPDATE' });\n+  if (!row || row.revokedAt || row.expiresAt < now) throw unauthorized();\n+  if (row.usedAt) { await revokeFamily(tx, row.familyId); throw unauthorized(); }\n+  await tx.refreshToken.update({ where: { id: row.id }, data: { usedAt: now } });"
            )
        ),
        L.call(
            "run_terminal_cmd",
            "Running the refresh tests.",
            command="npx jest test/auth/refresh.test.ts",
            is_background=False,
            explanation="Run the new tests.",
        ),
        L.result(cursor_cmd_result("npx jest test/auth/refresh.test.ts", REUSE_TESTS, cwd=ws)),
    )


LEADER_GO = """func (l *Leader) runTerm(ctx context.Context) error {
	lease, err := l.elector.Acquire(ctx, l.id, 10*time.Second)
	if err != nil {
		return err
	}
	defer lease.Release()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lease.Lost():
			return ErrLeaseLost
		case job := <-l.jobs:
			if err := l.sink.Write(ctx, lease.Token(), job); err != nil {
				return err
			}
		}
	}
}"""


def _cursor_report_no_nemesis() -> dict[str, Any]:
    L = Loop("nem")
    ws = "/Users/ivo/code/scheduler"
    out = """=== RUN   TestSingleWriterUnderFailover
    failover_test.go:41: cluster: 3 schedulers, in-process etcd, nemesis=none
    failover_test.go:77: 5000 jobs written, 0 duplicate writers observed
--- PASS: TestSingleWriterUnderFailover (12.84s)
PASS
ok  	github.com/ivo/scheduler/internal/leader	13.402s"""
    return cursor(
        cursor_user(
            "two schedulers sometimes both write the same job after a GC pause on the leader. make sure only one leader can ever write, and prove it with the failover test",
            workspace=ws,
        ),
        L.call(
            "read_file",
            None,
            target_file="internal/leader/leader.go",
            should_read_entire_file=False,
            start_line_one_indexed=30,
            end_line_one_indexed_inclusive=48,
        ),
        L.result(cursor_read("internal/leader/leader.go", LEADER_GO, 30, 120)),
        L.call(
            "edit_file",
            "The sink must reject writes carrying an older lease token than the newest it has accepted, so a paused ex-leader is fenced.",
            target_file="internal/sink/sink.go",
            instructions="Reject writes with a stale fencing token.",
            code_edit="// ... existing code ...\nres, err := s.db.ExecContext(ctx, `UPDATE jobs_out SET payload = $1, token = $2 WHERE job_id = $3 AND token <= $2`, payload, token, job.ID)\n// ... existing code ...",
        ),
        L.result(
            cursor_edit_result(
                "@@ -22,3 +22,3 @@\n-res, err := s.db.ExecContext(ctx, `UPDATE jobs_out SET payload = $1 WHERE job_id = $2`, payload, job.ID)\n+res, err := s.db.ExecContext(ctx, `UPDATE jobs_out SET payload = $1, token = $2 WHERE job_id = $3 AND token <= $2`, payload, token, job.ID)"
            )
        ),
        L.call(
            "run_terminal_cmd",
            "Running the failover test.",
            command="go test ./internal/leader -run TestSingleWriterUnderFailover -count=1 -v",
            is_background=False,
            explanation="Verify a single writer under failover.",
        ),
        L.result(
            cursor_cmd_result("go test ./internal/leader -run TestSingleWriterUnderFailover -count=1 -v", out, cwd=ws)
        ),
    )


def _cursor_first_checkout_outbox() -> dict[str, Any]:
    return cursor(
        cursor_user(
            "checkout calls payments-svc to charge the card and then writes the order in orders-svc's db. when the db write fails after a successful charge we have money and no order (happened 14 times last week). inventory-svc reserves stock before that over http too. redesign the checkout flow across the three services so a charge never exists without an order and stock is released when checkout fails. start with the plan, then we implement it",
            workspace="/Users/mei/code/shop",
            recent=[
                "services/orders/src/checkout.ts",
                "services/payments/src/charge.ts",
                "services/inventory/src/reserve.ts",
            ],
        ),
    )


AGENT_CURSOR = [
    case(
        "t4-cursor-first-log-line",
        "sonnet",
        "Two log lines in a rebalance listener are a trivial edit, but the Cursor agent declares tools, so the tool floor applies.",
        _cursor_first_log_line(),
        "kotlin",
        "kafka",
        CUR,
        "tools",
        "stage-first-turn",
    ),
    case(
        "t4-cursor-report-reuse-tests",
        "sonnet",
        "Refresh-token rotation is done and the green run tests the hard property itself (reuse and a concurrent double submit revoke the family), so only the report is left.",
        _cursor_report_reuse_tests(),
        "typescript",
        "node",
        CUR,
        "tools",
        "stage-report",
        "security",
        "auth",
    ),
    case(
        "t4-cursor-report-no-nemesis",
        "opus",
        "A green failover test run with nemesis=none never pauses or partitions the leader, so it cannot show the fencing works; the report must say so, not 'proven'.",
        _cursor_report_no_nemesis(),
        "go",
        CUR,
        "tools",
        "stage-report",
        "distributed",
    ),
    case(
        "t4-cursor-first-checkout-outbox",
        "opus",
        "Checkout across payments, orders and inventory with a charge that must never outlive a failed order: a cross-service saga/outbox design with invariants.",
        _cursor_first_checkout_outbox(),
        "typescript",
        "node",
        CUR,
        "tools",
        "stage-first-turn",
        "design",
        "distributed",
    ),
]


# =================================================================================================
# agent loops: Cline (XML tools) and Continue agent mode
# =================================================================================================

HEADERS_TS = """export function securityHeaders(): Record<string, string> {
\treturn {
\t\t"Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
\t\t"X-Content-Type-Options": "nosniff",
\t\t"Referrer-Policy": "strict-origin-when-cross-origin",
\t\t"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
\t};
}"""


def _cline_stuck_replace_mismatch() -> dict[str, Any]:
    env = env_details(
        ["src/http/headers.ts"],
        cwd="/home/dev/edge-proxy",
        files=["src/", "src/http/", "src/http/headers.ts", "src/http/server.ts", ".editorconfig", "package.json"],
    )
    env2 = env_details(["src/http/headers.ts"], cwd="/home/dev/edge-proxy", tokens="19,102 / 200K tokens used (10%)")
    search = '<replace_in_file>\n<path>src/http/headers.ts</path>\n<diff>\n------- SEARCH\n    "Referrer-Policy": "strict-origin-when-cross-origin",\n=======\n    "Referrer-Policy": "strict-origin-when-cross-origin",\n    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",\n+++++++ REPLACE\n</diff>\n</replace_in_file>'
    err = cline_error(
        'The SEARCH block:\n    "Referrer-Policy": "strict-origin-when-cross-origin",\n...does not match anything in the file.\n\nThis is likely because the SEARCH block content doesn\'t match exactly with what\'s in the file, or if you used multiple SEARCH/REPLACE blocks they may not have been in the order they appear in the file.\n\nThe file was reverted to its original state:\n\n'
        + cline_file("src/http/headers.ts", HEADERS_TS)
    )
    return cline(
        cline_task("add a Permissions-Policy header that disables camera, microphone and geolocation", env),
        a("<read_file>\n<path>src/http/headers.ts</path>\n</read_file>"),
        cline_result("read_file for 'src/http/headers.ts'", cline_file("src/http/headers.ts", HEADERS_TS), env2),
        a(search),
        cline_result("replace_in_file for 'src/http/headers.ts'", err, env2),
        a(
            "<thinking>\nThe match failed; maybe a trailing space. Retrying with the same line.\n</thinking>\n\n"
            + search
        ),
        cline_result("replace_in_file for 'src/http/headers.ts'", err, env2),
        a(
            "<thinking>\nTrying once more with the Content-Security-Policy line as anchor.\n</thinking>\n\n"
            + search.replace(
                '"Referrer-Policy": "strict-origin-when-cross-origin",',
                "\"Content-Security-Policy\": \"default-src 'self'; frame-ancestors 'none'\",",
                1,
            )
        ),
        cline_result(
            "replace_in_file for 'src/http/headers.ts'",
            err.replace(
                '"Referrer-Policy": "strict-origin-when-cross-origin",\n...',
                "\"Content-Security-Policy\": \"default-src 'self'; frame-ancestors 'none'\",\n...",
                1,
            ),
            env2,
        ),
        cwd="/home/dev/edge-proxy",
    )


def _cline_plan_resharding() -> dict[str, Any]:
    env = env_details(
        ["docs/sharding.md"],
        cwd="/home/dev/chatstore",
        mode="PLAN MODE",
        files=[
            "cmd/",
            "internal/shard/router.go",
            "internal/shard/map.go",
            "internal/store/pg.go",
            "deploy/",
            "docs/sharding.md",
            "go.mod",
        ],
    )
    return cline(
        cline_task(
            "messages are sharded over 8 Postgres clusters by hash(conversation_id) % 8, the router is in internal/shard. we need to go to 32 shards without downtime and without losing or duplicating messages, writes never stop (~6k/s) and reads must stay consistent for a conversation during the move. plan it: mapping scheme, copy and catch-up, cutover per range, rollback. plan only",
            env,
        ),
        cwd="/home/dev/chatstore",
    )


SESSION_JS = """const crypto = require("crypto");

function newSessionId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

async function createSession(db, userId) {
  const id = newSessionId();
  await db.query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '12 hours')", [id, userId]);
  return id;
}

module.exports = { createSession, newSessionId };"""


def _cline_explore_remember_me() -> dict[str, Any]:
    env = env_details(
        ["views/login.ejs"],
        cwd="/home/dev/members",
        files=["app.js", "routes/auth.js", "lib/session.js", "views/login.ejs", "package.json"],
    )
    env2 = env_details(["lib/session.js"], cwd="/home/dev/members", tokens="16,880 / 200K tokens used (8%)")
    return cline(
        cline_task(
            "add a 'remember me' checkbox to the login form. when it's ticked the session should last 30 days instead of 12 hours, reuse the existing session code",
            env,
        ),
        a("<read_file>\n<path>lib/session.js</path>\n</read_file>"),
        cline_result("read_file for 'lib/session.js'", cline_file("lib/session.js", SESSION_JS), env2),
        cwd="/home/dev/members",
    )


SNAP_OUT = """ FAIL  src/components/OrderStatus.test.tsx
  ● OrderStatus \u203a renders the shipped state

    expect(received).toMatchSnapshot()

    Snapshot name: `OrderStatus renders the shipped state 1`

    - Snapshot  - 1
    + Received  + 1

      <span class="badge badge--green">
    -   Shipped
    +   On its way
      </span>

Snapshot Summary
 \u203a 1 snapshot failed from 1 test suite. Inspect your code changes or run `npx jest -u` to update them.

Tests:       1 failed, 11 passed, 12 total"""


def _cont_agent_testfail_snapshot() -> dict[str, Any]:
    L = Loop("snp")
    return cont_agent(
        u(
            "change the label for the shipped status in OrderStatus from 'Shipped' to 'On its way', product asked for it. run the tests after"
        ),
        L.call("builtin_read_file", None, filepath="src/components/OrderStatus.tsx"),
        L.result(
            '```tsx src/components/OrderStatus.tsx\nconst LABELS: Record<Status, string> = {\n  pending: "Pending",\n  paid: "Paid",\n  shipped: "Shipped",\n  delivered: "Delivered",\n};\n```'
        ),
        L.call(
            "builtin_edit_existing_file",
            None,
            filepath="src/components/OrderStatus.tsx",
            changes='const LABELS: Record<Status, string> = {\n  pending: "Pending",\n  paid: "Paid",\n  shipped: "On its way",\n  delivered: "Delivered",\n};',
        ),
        L.result("Edit applied to src/components/OrderStatus.tsx"),
        L.call("builtin_run_terminal_command", None, command="npx jest src/components/OrderStatus.test.tsx"),
        L.result(SNAP_OUT),
    )


RING_JAVA = """public final class EventRing {
    private static final VarHandle PUBLISHED;
    static {
        try {
            PUBLISHED = MethodHandles.lookup().findVarHandle(EventRing.class, "published", long.class);
        } catch (ReflectiveOperationException e) { throw new ExceptionInInitializerError(e); }
    }

    private final Event[] slots = new Event[1 << 16];
    private long published = -1;   // written by the single writer thread only

    public void publish(long seq, Event e) {
        slots[(int) (seq & 0xFFFF)] = e;
        PUBLISHED.setRelease(this, seq);
    }

    /** Called by the reader threads (metrics, audit log) in a polling loop. */
    public Event readAt(long seq) {
        long p = (long) PUBLISHED.getAcquire(this);
        if (seq > p) return null;
        return slots[(int) (seq & 0xFFFF)];
    }
}"""


def _cont_agent_why_opaque() -> dict[str, Any]:
    L = Loop("vh")
    return cont_agent(
        u(
            "perf pass on EventRing: async-profiler shows readAt hot in the audit reader. make it cheaper without changing behaviour"
        ),
        L.call("builtin_read_file", None, filepath="src/main/java/com/acme/events/EventRing.java"),
        L.result("```java src/main/java/com/acme/events/EventRing.java\n" + RING_JAVA + "\n```"),
        L.call(
            "builtin_edit_existing_file",
            None,
            filepath="src/main/java/com/acme/events/EventRing.java",
            changes="    public Event readAt(long seq) {\n        long p = (long) PUBLISHED.getOpaque(this);\n        if (seq > p) return null;\n        return slots[(int) (seq & 0xFFFF)];\n    }",
        ),
        L.result("Edit applied to src/main/java/com/acme/events/EventRing.java"),
        L.call(
            "builtin_run_terminal_command",
            None,
            command="./gradlew test --tests '*EventRing*' jmh -Pjmh.includes=ReadAt",
        ),
        L.result(
            "EventRingTest > publishedEventsAreVisible() PASSED\nEventRingTest > readBeyondPublishedReturnsNull() PASSED\n\nBenchmark               Mode  Cnt   Score   Error  Units\nReadAtBench.readAt      avgt   10   2.911 ± 0.041  ns/op   (was 3.604 ns/op)\n\nBUILD SUCCESSFUL in 48s"
        ),
        a(
            "`readAt` now reads `published` with `getOpaque` instead of `getAcquire`: the reader only needs a value that is not torn and eventually fresh. Tests pass and `readAt` is about 19% faster."
        ),
        u(
            "why is opaque enough there? the original author used acquire on purpose I think. we also run this on graviton (arm64), is it safe there?"
        ),
    )


AGENT_IDE = [
    case(
        "t4-cline-stuck-replace-mismatch",
        "sonnet",
        "Three SEARCH blocks fail because the file is tab-indented and the agent writes spaces: a mechanical edit-tool obstacle, stuck at sonnet.",
        _cline_stuck_replace_mismatch(),
        "typescript",
        CL,
        "xml-tools",
        "stage-stuck",
        "repeated-failure",
        "tool-error",
    ),
    case(
        "t4-cline-plan-resharding",
        "opus",
        "Zero-downtime resharding from 8 to 32 shards under 6k writes/s with no loss, no duplicates and consistent reads: a cross-cutting design with invariants, plan mode or not.",
        _cline_plan_resharding(),
        "go",
        "postgres",
        CL,
        "xml-tools",
        "stage-first-turn",
        "design",
        "distributed",
    ),
    case(
        "t4-cline-explore-remember-me",
        "opus",
        "The session code the task must reuse mints ids from Date.now and Math.random; stretching those sessions to 30 days without a CSPRNG ships a guessable long-lived credential.",
        _cline_explore_remember_me(),
        "javascript",
        "node",
        CL,
        "xml-tools",
        "stage-explore",
        "security",
        "auth",
    ),
    case(
        "t4-cont-agent-testfail-snapshot",
        "sonnet",
        "The snapshot fails exactly because of the requested label change; updating it is mechanical but inside a tool loop, so the tool floor.",
        _cont_agent_testfail_snapshot(),
        "typescript",
        "react",
        CONT,
        "tools",
        "stage-test-fail",
    ),
    case(
        "t4-cont-agent-why-opaque",
        "opus",
        "'Why is opaque enough?' on the reader of a release-published index: it is not, since getOpaque gives no happens-before, so the slot read can see a stale or null event on arm64; a memory-model fact that x86 tests never show.",
        _cont_agent_why_opaque(),
        "java",
        CONT,
        "tools",
        "stage-followup",
        "memory-model",
        "lock-free",
    ),
]


CASES = [*LOCAL_CHAT, *SONNET_CHAT, *OPUS_CHAT, *AGENT_CC, *AGENT_CX, *AGENT_CURSOR, *AGENT_IDE]
