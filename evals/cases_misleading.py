"""Requests whose surface words point the wrong way: big words on trivial asks, and plain words on
hard ones. The label follows the work, not the vocabulary."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, case, code, req, s, u

CASES = [
    case(
        "django-architecture-templatetags",
        "local",
        "'architecture' in a question with a one-line documented answer.",
        req(u("quick question about our architecture: in a django project where do custom template tags go?")),
        "python",
        "single",
        "misleading",
    ),
    case(
        "py-yaml-safe-load-critical",
        "local",
        "'critical security fix' on a one-line, well-known change.",
        req(
            u(
                "CRITICAL SECURITY FIX needed asap: change this to the safe loader\n"
                + code(
                    "python",
                    """
config = yaml.load(open(path))
""",
                )
            )
        ),
        "python",
        "single",
        "misleading",
        "security",
    ),
    case(
        "express-cookie-flags-critical",
        "local",
        "'critical security' on adding two cookie flags.",
        req(
            u(
                "critical security fix - make this cookie secure and httpOnly\n"
                + code(
                    "js",
                    """
res.cookie("sid", sessionId, { maxAge: 86400000 });
""",
                )
            )
        ),
        "javascript",
        "single",
        "misleading",
        "security",
    ),
    case(
        "react-folder-architecture",
        "local",
        "'architecture' for a folder layout of a small app.",
        req(u("what's a sensible folder architecture for a small react + vite app? components, hooks, pages etc")),
        "typescript",
        "single",
        "misleading",
    ),
    case(
        "py-refactor-the-names",
        "local",
        "'refactor the' on renaming local variables.",
        req(
            u(
                "refactor the variable names in this function so they're descriptive\n"
                + code(
                    "python",
                    """
def f(l, t):
    r = []
    for x in l:
        if x["p"] > t:
            r.append(x["n"])
    return r
""",
                )
            )
        ),
        "python",
        "single",
        "misleading",
        "edit",
    ),
    case(
        "rails-migration-index",
        "local",
        "'migration' as in a one-line Rails migration.",
        req(u("rails migration to add a unique index on users.email")),
        "ruby",
        "single",
        "misleading",
    ),
    case(
        "torch-distributed-basics",
        "local",
        "'distributed' in a basic API question.",
        req(
            u("what does init_process_group do in torch.distributed, just the basics, what are backend and world_size")
        ),
        "python",
        "single",
        "misleading",
    ),
    case(
        "py-prove-is-small-ints",
        "local",
        "'prove' used conversationally about a well-known CPython detail.",
        req(u("prove me wrong: `is` and `==` are the same thing for ints in python")),
        "python",
        "single",
        "misleading",
    ),
    case(
        "design-a-fibonacci",
        "local",
        "'design a' on a beginner exercise.",
        req(u("design a function that returns the nth fibonacci number efficiently (python)")),
        "python",
        "single",
        "misleading",
    ),
    case(
        "mutex-vs-semaphore",
        "local",
        "Concurrency vocabulary, textbook answer.",
        req(u("what's the difference between a mutex and a semaphore")),
        "single",
        "misleading",
        "concurrency",
    ),
    case(
        "what-is-deadlock",
        "local",
        "Concurrency vocabulary, textbook answer.",
        req(s(CONTINUE_CHAT), u("explain what a deadlock is with a simple example in python")),
        "python",
        "single",
        "misleading",
        "concurrency",
    ),
    case(
        "py-slow-list-membership",
        "local",
        "'performance' question whose answer is 'use a set'.",
        req(
            u(
                "why is this so slow for 100k items, any performance tips?\n"
                + code(
                    "python",
                    """
def dedupe(items):
    out = []
    for x in items:
        if x not in out:
            out.append(x)
    return out
""",
                )
            )
        ),
        "python",
        "single",
        "misleading",
        "performance",
    ),
    case(
        "rename-lockfree-queue",
        "local",
        "'lock-free' appears only in an identifier being renamed.",
        req(
            u(
                "rename lockFreeQueue to jobQueue in this snippet\n"
                + code(
                    "ts",
                    """
const lockFreeQueue = new RingBuffer<Job>(1024);
export function enqueue(job: Job) { lockFreeQueue.push(job); }
export function drain() { while (!lockFreeQueue.isEmpty()) run(lockFreeQueue.pop()!); }
""",
                )
            )
        ),
        "typescript",
        "single",
        "misleading",
        "edit",
    ),
    case(
        "raft-docs-typo",
        "local",
        "'raft', 'committed', 'leader' appear, but the task is a spelling fix.",
        req(
            u(
                "fix the typos: 'A log entry is comitted once the leader has replicated it on a majority of servers; the leader then aplies it to its state machine.'"
            )
        ),
        "single",
        "misleading",
        "edit",
    ),
    case(
        "sql-format-consensus-table",
        "local",
        "Distributed-systems nouns in table names; the task is formatting.",
        req(u("format: select node_id,max(term) from consensus_votes where quorum_reached=true group by node_id")),
        "sql",
        "single",
        "misleading",
        "format",
    ),
    case(
        "py-log-email-security",
        "local",
        "'Security' policy question with a standard answer.",
        req(u("security question: is it ok to log the user's email address at info level in our web app logs?")),
        "single",
        "misleading",
        "security",
    ),
    case(
        "tabs-vs-spaces-tradeoffs",
        "local",
        "'trade-offs' on a style question with a standard answer.",
        req(u("trade-offs of tabs vs spaces in python? what does pep8 say")),
        "python",
        "single",
        "misleading",
    ),
    case(
        "go-distinct-index-writes",
        "sonnet",
        "'simple question' on a data-race question that needs the Go memory model's per-element rule; plain words, real thinking.",
        req(
            u(
                "simple question: is there a race here? the race detector is quiet but my colleague says it's unsafe\n"
                + code(
                    "go",
                    """
results := make([]int, len(jobs))
var wg sync.WaitGroup
for i, j := range jobs {
    wg.Add(1)
    go func(i int, j Job) {
        defer wg.Done()
        results[i] = j.Run()
    }(i, j)
}
wg.Wait()
""",
                )
            )
        ),
        "go",
        "single",
        "misleading",
        "concurrency",
    ),
    case(
        "cpp-comment-acquire",
        "sonnet",
        "A 'comment' request whose content needs a correct account of acquire/release pairing.",
        req(
            u(
                "add a comment explaining why this load needs memory_order_acquire\n"
                + code(
                    "cpp",
                    """
while (!ready.load(std::memory_order_acquire)) {}
use(payload);
""",
                )
            )
        ),
        "cpp",
        "single",
        "misleading",
        "memory-model",
    ),
    case(
        "quick-look-cache-hang",
        "sonnet",
        "Casual 'quick look': the hang comes from the leader's exception path never setting the event; careful reading, not deep theory.",
        req(
            u(
                "quick look? small thing, our cache sometimes hangs forever for one key\n"
                + code(
                    "python",
                    """
class Cache:
    def __init__(self):
        self._data, self._loading = {}, {}
        self._lock = threading.Lock()

    def get(self, key, load):
        with self._lock:
            if key in self._data:
                return self._data[key]
            ev = self._loading.get(key)
            if ev is None:
                ev = self._loading[key] = threading.Event()
                leader = True
            else:
                leader = False
        if leader:
            value = load(key)
            with self._lock:
                self._data[key] = value
                del self._loading[key]
            ev.set()
            return value
        ev.wait()
        return self._data[key]
""",
                )
            )
        ),
        "python",
        "single",
        "misleading",
        "concurrency",
    ),
    case(
        "tiny-fix-auth-bypass",
        "opus",
        "'tiny fix' framing on an authorization check with a bypass (path normalisation).",
        req(
            u(
                "tiny fix? admins say non-admins can reach /admin pages sometimes\n"
                + code(
                    "js",
                    """
app.use((req, res, next) => {
  if (req.path.startsWith('/admin') && !req.user?.isAdmin) return res.status(403).end();
  next();
});
app.use('/Admin', adminRouter);  // legacy links
app.use('/admin', adminRouter);
""",
                )
            )
        ),
        "javascript",
        "single",
        "misleading",
        "security",
    ),
    case(
        "whats-wrong-epoch-reclaim",
        "opus",
        "Plain 'what's wrong' on an epoch-based reclamation scheme with a use-after-free window.",
        req(
            u(
                "what's wrong with this? crashes once a week\n"
                + code(
                    "cpp",
                    """
void retire(Node* n) { garbage[global_epoch.load() % 3].push_back(n); }

void try_advance() {
  uint64_t e = global_epoch.load();
  for (auto& t : threads)
    if (t.active.load() && t.epoch.load() != e) return;
  global_epoch.store(e + 1);
  for (Node* n : garbage[(e + 1) % 3]) delete n;
  garbage[(e + 1) % 3].clear();
}

void enter() { self.active.store(true); self.epoch.store(global_epoch.load()); }
""",
                )
            )
        ),
        "cpp",
        "single",
        "misleading",
        "concurrency",
        "memory-model",
    ),
]
