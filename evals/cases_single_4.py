"""Single-turn IDE requests, fourth group: the surface words and the work disagree, in both directions.
Local for mechanical edits on frightening code (typos in a seqlock's comments, renames in a Paxos
acceptor, sorted imports in an auth module, a commit message, a translated log line, a comprehension)
and for routine work under scary words (URGENT, CRITICAL, security, architecture); sonnet for ordinary
debugging, features, tests and migrations that need a capable model but a well-trodden path; opus for
short, plainly worded asks that hide a memory-model, trust-boundary, distributed-consistency or
numerical hole, and for "prove it" where the claim is false."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "s4-cpp-seqlock-comment-typos",
        "local",
        "Fixing spelling in comments without touching the orderings is a mechanical edit, however delicate the seqlock is.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/telemetry/seqlock.hpp",
                    "cpp",
                    """
template <typename T>
class SeqLock {
  // writer incremnts seq to an odd value befor touching the payload
  void store(const T& v) {
    auto s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(&data_, &v, sizeof(T));  // paylod copy, must stay after the fence
    seq_.store(s + 2, std::memory_order_release);
  }

  // readers retry untill they see the same even sequnce on both sides
  T load() const {
    T out;
    std::uint64_t s0, s1;
    do {
      s0 = seq_.load(std::memory_order_acquire);
      std::memcpy(&out, &data_, sizeof(T));
      std::atomic_thread_fence(std::memory_order_acquire);
      s1 = seq_.load(std::memory_order_relaxed);
    } while (s0 != s1 || (s0 & 1));
    return out;
  }

  std::atomic<std::uint64_t> seq_{0};
  T data_;
};
""",
                )
                + "\n\nfix the spelling mistakes in the comments only. don't touch a single character of code, the fences were reviewed by two people"
            ),
        ),
        "cpp",
        "single",
        "edit",
        "misleading",
        "concurrency",
    ),
    case(
        "s4-go-paxos-acceptor-rename",
        "local",
        "Renaming terse fields and locals in a Paxos acceptor with behaviour unchanged is mechanical; the protocol is not in question.",
        req(
            u(
                selection(
                    "paxos/acceptor.go",
                    "go",
                    """
type Acceptor struct {
	mu sync.Mutex
	pb Ballot // promised
	ab Ballot // accepted ballot
	av []byte // accepted value
	st Storage
}

func (a *Acceptor) Prepare(b Ballot) (ok bool, ab Ballot, av []byte, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.Less(a.pb) {
		return false, a.ab, nil, nil
	}
	a.pb = b
	if err := a.st.Persist(a.pb, a.ab, a.av); err != nil {
		return false, Ballot{}, nil, err
	}
	return true, a.ab, a.av, nil
}
""",
                )
                + "\nrename pb/ab/av/st to promised/acceptedBallot/acceptedValue/storage everywhere in this selection (named returns too). pure rename please"
            )
        ),
        "go",
        "single",
        "edit",
        "misleading",
        "distributed",
    ),
    case(
        "s4-py-sort-imports-oidc",
        "local",
        "Sorting and grouping imports isort-style is mechanical even in an OIDC verifier.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "security-sensitive file so be careful: just sort the imports (stdlib / third party / local, alphabetical), nothing else\n"
                + code(
                    "python",
                    """
from app.settings import OIDC_ISSUER, OIDC_AUDIENCE
import jwt
from typing import Any
import time
from jwt import PyJWKClient
from app.errors import Unauthorized
import logging
from functools import lru_cache
from app.metrics import auth_failures

log = logging.getLogger(__name__)
""",
                )
            ),
        ),
        "python",
        "single",
        "edit",
        "misleading",
        "security",
    ),
    case(
        "s4-ts-commit-msg-pagination-diff",
        "local",
        "A one-line conventional commit message for a three-line diff is a summary a small model writes reliably.",
        req(
            s(COPILOT_LIKE),
            u(
                "write a conventional commit message (one line + short body) for this diff\n"
                + code(
                    "diff",
                    """
--- a/src/api/orders.ts
+++ b/src/api/orders.ts
@@ -41,9 +41,9 @@ export async function listOrders(req: Request, res: Response) {
   const page = Math.max(1, Number(req.query.page ?? 1));
   const size = Math.min(100, Number(req.query.size ?? 20));
-  const offset = page * size;
+  const offset = (page - 1) * size;
   const rows = await db.order.findMany({ skip: offset, take: size, orderBy: { id: "asc" } });
-  res.json({ page, size, rows });
+  res.json({ page, size, count: rows.length, rows });
 }
""",
                )
            ),
        ),
        "typescript",
        "single",
        "edit",
    ),
    case(
        "s4-java-translate-log-messages",
        "local",
        "Translating German log strings to English without touching the code is mechanical, whatever the settlement logic around them.",
        req(
            u(
                selection(
                    "src/main/java/de/acme/settlement/SettlementJob.java",
                    "java",
                    """
if (batch.isEmpty()) {
    log.info("Keine offenen Buchungen für Mandant {} gefunden", tenantId);
    return;
}
BigDecimal total = batch.stream().map(Booking::amount).reduce(BigDecimal.ZERO, BigDecimal::add);
if (total.compareTo(limits.dailyMax(tenantId)) > 0) {
    log.warn("Tageslimit überschritten für Mandant {}: Summe {} > {}", tenantId, total, limits.dailyMax(tenantId));
    alerts.raise(tenantId, AlertType.LIMIT);
}
log.debug("Starte Abrechnung von {} Buchungen (Lauf {})", batch.size(), runId);
ledger.settle(batch, runId);
log.info("Abrechnung abgeschlossen, Lauf {} in {} ms", runId, timer.elapsedMillis());
""",
                )
                + "\ntranslate the log messages to English, keep the {} placeholders and argument order exactly"
            )
        ),
        "java",
        "single",
        "edit",
    ),
    case(
        "s4-py-loop-to-comprehension-spectral",
        "local",
        "Turning an append loop into a list comprehension with the same filter is mechanical, numerical code or not.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "dsp/peaks.py",
                    "python",
                    """
def peak_bins(spectrum: np.ndarray, freqs: np.ndarray, floor_db: float) -> list[tuple[float, float]]:
    mags = 20 * np.log10(np.abs(spectrum) + 1e-12)
    out = []
    for i in range(1, len(mags) - 1):
        if mags[i] > floor_db and mags[i] > mags[i - 1] and mags[i] >= mags[i + 1]:
            out.append((float(freqs[i]), float(mags[i])))
    return out
""",
                )
                + "\n\nconvert the loop to a list comprehension, same output"
            ),
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "s4-rust-rustfmt-ffi-block",
        "local",
        "Reformatting an unsafe FFI block to rustfmt style changes no tokens, so it is mechanical.",
        req(
            u(
                "can you rustfmt this by hand (no toolchain on this box). unsafe ffi, so formatting only\n"
                + code(
                    "rust",
                    """
pub fn read_frame(dev:&Device,buf:&mut [u8])->Result<usize,Error>{
    let mut n:libc::size_t=0;
    let rc=unsafe{ sys::dev_read(dev.raw,buf.as_mut_ptr() as *mut libc::c_void,buf.len() as libc::size_t,&mut n as *mut libc::size_t,) };
    if rc!=0{return Err(Error::from_raw(rc))}
    debug_assert!(n<=buf.len());
    Ok(n as usize)
}
""",
                )
            )
        ),
        "rust",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s4-c-doxygen-dma-driver",
        "local",
        "Adding Doxygen comments to driver functions without changing code is a mechanical documentation edit.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "add doxygen @brief/@param/@return comments to these two, do not change the code (it's in the kernel tree, checkpatch will scream)\n"
                + code(
                    "c",
                    """
static int acme_dma_map_ring(struct acme_dev *ad, struct acme_ring *r, size_t nr_desc)
{
	r->desc = dma_alloc_coherent(&ad->pdev->dev, nr_desc * sizeof(*r->desc),
					&r->desc_dma, GFP_KERNEL);
	if (!r->desc)
		return -ENOMEM;
	r->nr_desc = nr_desc;
	r->head = r->tail = 0;
	return 0;
}

static void acme_dma_unmap_ring(struct acme_dev *ad, struct acme_ring *r)
{
	if (!r->desc)
		return;
	dma_free_coherent(&ad->pdev->dev, r->nr_desc * sizeof(*r->desc),
				r->desc, r->desc_dma);
	r->desc = NULL;
}
""",
                )
            ),
        ),
        "c",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s4-sql-format-reconciliation-query",
        "local",
        "Uppercasing keywords and indenting a query without changing it is formatting, however important the ledger.",
        req(
            u(
                "this is the month-end reconciliation query finance signs off on, so DO NOT change logic. just format it: uppercase keywords, one clause per line, indent the joins\n"
                + code(
                    "sql",
                    """
select a.account_id, a.currency, sum(case when e.direction='D' then e.amount_minor else 0 end) as debits, sum(case when e.direction='C' then e.amount_minor else 0 end) as credits, b.closing_minor from accounts a join ledger_entries e on e.account_id=a.account_id and e.posted_at >= :period_start and e.posted_at < :period_end left join balances b on b.account_id=a.account_id and b.period=:period where a.status <> 'closed' group by a.account_id, a.currency, b.closing_minor having sum(case when e.direction='D' then e.amount_minor else -e.amount_minor end) <> coalesce(b.closing_minor,0) order by a.account_id
""",
                )
            )
        ),
        "sql",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s4-shell-urgent-bad-interpreter",
        "local",
        "'bad interpreter: /bin/bash^M' is the textbook CRLF line-ending error with a one-command fix, whatever the urgency.",
        req(
            u(
                "URGENT!!! release blocked, deploy box says this and i have no idea, please help fast\n\n"
                "$ ./deploy.sh prod\n-bash: ./deploy.sh: /bin/bash^M: bad interpreter: No such file or directory\n\n"
                "the script hasn't changed except i edited it on my windows laptop this morning"
            )
        ),
        "shell",
        "single",
        "debug",
        "misleading",
    ),
    case(
        "s4-tf-critical-compliance-tags",
        "local",
        "Adding the same tags argument to four resources is a mechanical edit despite the 'critical compliance' framing.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "infra/storage.tf",
                    "hcl",
                    """
locals {
  common_tags = {
    owner       = "payments"
    cost_center = "cc-4410"
    data_class  = "confidential"
  }
}

resource "aws_s3_bucket" "statements" {
  bucket = "acme-statements-prod"
}

resource "aws_kms_key" "statements" {
  description         = "statements bucket key"
  enable_key_rotation = true
}

resource "aws_dynamodb_table" "idempotency" {
  name         = "payments-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "key"
  attribute {
    name = "key"
    type = "S"
  }
}

resource "aws_sqs_queue" "settlements" {
  name = "payments-settlements"
}
""",
                )
                + "\n\nCRITICAL compliance finding: every resource must carry local.common_tags. add `tags = local.common_tags` to each resource, change nothing else"
            ),
        ),
        "terraform",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s4-js-security-math-random-token",
        "local",
        "Swapping Math.random for crypto.randomBytes in a token helper is a canonical one-API security swap.",
        req(
            u(
                selection(
                    "src/lib/invite.js",
                    "javascript",
                    """
export function newInviteCode(len = 24) {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < len; i++) {
    out += alphabet[Math.floor(Math.random() * alphabet.length)];
  }
  return out;
}
""",
                )
                + "\nSECURITY: scanner flagged Math.random here (insecure randomness). replace it with node's crypto so invite codes are unguessable, keep the same signature and output format (hex is fine)"
            )
        ),
        "javascript",
        "single",
        "edit",
        "misleading",
        "security",
    ),
    case(
        "s4-kotlin-kdoc-coroutine-limiter",
        "local",
        "Writing KDoc for a coroutine rate limiter without changing it is documentation of visible behaviour.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "core/src/main/kotlin/net/acme/core/RateLimiter.kt",
                    "kotlin",
                    """
class RateLimiter(
    private val permitsPerSecond: Int,
    private val clock: () -> Long = System::nanoTime,
) {
    private val mutex = Mutex()
    private var nextFreeNanos = clock()

    suspend fun acquire() {
        val wait = mutex.withLock {
            val now = clock()
            val slot = maxOf(now, nextFreeNanos)
            nextFreeNanos = slot + 1_000_000_000L / permitsPerSecond
            slot - now
        }
        if (wait > 0) delay(wait / 1_000_000)
    }

    fun tryAcquire(): Boolean {
        if (!mutex.tryLock()) return false
        try {
            val now = clock()
            if (nextFreeNanos > now) return false
            nextFreeNanos = now + 1_000_000_000L / permitsPerSecond
            return true
        } finally {
            mutex.unlock()
        }
    }
}
""",
                )
                + "\n\nadd KDoc to the class and both functions (suspending vs non-suspending, what tryAcquire returns under contention). no code changes"
            ),
        ),
        "kotlin",
        "single",
        "edit",
        "concurrency",
    ),
    case(
        "s4-swift-rename-actor-properties",
        "local",
        "Renaming snake_case properties of an actor to Swift camelCase is a mechanical rename.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "swiftlint identifier_name is failing, rename the snake_case stuff to camelCase, touch nothing else\n"
                + code(
                    "swift",
                    """
actor TokenStore {
    private var access_token: String?
    private var refresh_token: String?
    private var expires_at: Date?

    func save(access_token: String, refresh_token: String, expires_in: TimeInterval) {
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = Date().addingTimeInterval(expires_in)
    }

    func validAccessToken(now: Date = Date()) -> String? {
        guard let token = access_token, let exp = expires_at, exp > now else { return nil }
        return token
    }
}
""",
                )
            ),
        ),
        "swift",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s4-ruby-rubocop-oauth-callback",
        "local",
        "Fixing rubocop style offences (quotes, frozen string literal, guard clause) is mechanical in an OAuth controller too.",
        req(
            u(
                "rubocop output below, fix just these offences in the controller, no behaviour change\n\n"
                "app/controllers/oauth_callbacks_controller.rb:1:1: C: Style/FrozenStringLiteralComment: Missing frozen string literal comment.\n"
                "app/controllers/oauth_callbacks_controller.rb:5:27: C: Style/StringLiterals: Prefer single-quoted strings when you don't need string interpolation or special symbols.\n"
                "app/controllers/oauth_callbacks_controller.rb:9:5: C: Style/GuardClause: Use a guard clause (return redirect_to(...) unless user) instead of wrapping the code inside a conditional expression.\n\n"
                + code(
                    "ruby",
                    """
class OauthCallbacksController < ApplicationController
  skip_before_action :authenticate_user!

  def github
    auth = request.env["omniauth.auth"]
    verify_state!(params[:state])
    user = User.from_omniauth(auth)

    if user
      reset_session
      sign_in(user)
      redirect_to after_sign_in_path_for(user)
    else
      redirect_to new_user_session_path, alert: "Sign in failed"
    end
  end
end
""",
                )
            )
        ),
        "ruby",
        "single",
        "edit",
        "misleading",
        "security",
    ),
    case(
        "s4-php-docblocks-webhook-verifier",
        "local",
        "PHPDoc blocks on a webhook verifier that already uses hash_equals and a timestamp window are documentation only.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/Webhooks/SignatureVerifier.php",
                    "php",
                    """
final class SignatureVerifier
{
    public function __construct(private string $secret, private int $toleranceSeconds = 300) {}

    public function verify(string $payload, string $header, int $now): bool
    {
        if (!preg_match('/^t=(\\d+),v1=([a-f0-9]{64})$/', $header, $m)) {
            return false;
        }
        [$_, $ts, $sig] = $m;
        if (abs($now - (int) $ts) > $this->toleranceSeconds) {
            return false;
        }
        $expected = hash_hmac('sha256', $ts . '.' . $payload, $this->secret);
        return hash_equals($expected, $sig);
    }
}
""",
                )
                + "\n\nadd phpdoc blocks (class + verify, with @param/@return). don't change code"
            ),
        ),
        "php",
        "single",
        "edit",
        "misleading",
        "security",
    ),
    case(
        "s4-csharp-compareexchange-return",
        "local",
        "What Interlocked.CompareExchange returns is an API lookup with a one-sentence answer.",
        req(
            u(
                "quick q, what does this return, the new value or the old one? and does it return null when it wins?\n"
                + code(
                    "csharp",
                    """
var prev = Interlocked.CompareExchange(ref _instance, new Registry(), null);
""",
                )
            )
        ),
        "csharp",
        "single",
        "question",
        "concurrency",
    ),
    case(
        "s4-go-errorf-wrap-2pc",
        "local",
        "Changing %v to %w in fmt.Errorf calls is mechanical, even in a two-phase-commit coordinator.",
        req(
            u(
                selection(
                    "txn/coordinator.go",
                    "go",
                    """
func (c *Coordinator) Commit(ctx context.Context, tx TxID) error {
	for _, p := range c.participants {
		if err := p.Prepare(ctx, tx); err != nil {
			_ = c.abortAll(ctx, tx)
			return fmt.Errorf("prepare %s on %s: %v", tx, p.Name(), err)
		}
	}
	if err := c.log.WriteDecision(ctx, tx, Committed); err != nil {
		return fmt.Errorf("write decision %s: %v", tx, err)
	}
	for _, p := range c.participants {
		if err := p.Commit(ctx, tx); err != nil {
			c.retry.Enqueue(tx, p)
			c.logger.Warn("commit deferred", "tx", tx, "participant", p.Name(), "err", err)
		}
	}
	return nil
}
""",
                )
                + "\nerrorlint wants %w instead of %v in the Errorf calls so callers can errors.Is. do that, nothing else"
            )
        ),
        "go",
        "single",
        "edit",
        "misleading",
        "distributed",
    ),
    case(
        "s4-py-type-hints-vector-clock",
        "local",
        "Adding type hints to a vector clock class is mechanical; its semantics are not being questioned.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "replication/vclock.py",
                    "python",
                    """
class VectorClock:
    def __init__(self, node, counters=None):
        self.node = node
        self.counters = dict(counters or {})

    def tick(self):
        self.counters[self.node] = self.counters.get(self.node, 0) + 1
        return self

    def merge(self, other):
        for n, c in other.counters.items():
            self.counters[n] = max(self.counters.get(n, 0), c)
        return self.tick()

    def happened_before(self, other):
        keys = set(self.counters) | set(other.counters)
        le = all(self.counters.get(k, 0) <= other.counters.get(k, 0) for k in keys)
        return le and self.counters != other.counters
""",
                )
                + "\n\nadd type hints (py3.11, use Self where it fits). no logic changes"
            ),
        ),
        "python",
        "single",
        "edit",
        "misleading",
        "distributed",
    ),
    case(
        "s4-gha-yaml-mapping-values-error",
        "local",
        "'mapping values are not allowed here' on a mis-indented step is a one-line YAML fix.",
        req(
            u(
                "Invalid workflow file: .github/workflows/release.yml#L15 - You have an error in your yaml syntax on line 15. mapping values are not allowed here\n"
                + code(
                    "yaml",
                    """
name: release
on:
  push:
    tags: ["v*"]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: make dist
          env: VERSION=${{ github.ref_name }}
      - uses: softprops/action-gh-release@v2
        with:
          files: dist/*
""",
                )
            )
        ),
        "yaml",
        "single",
        "debug",
        "github-actions",
    ),
]

SONNET = [
    case(
        "s4-py-gather-orphaned-tasks",
        "sonnet",
        "asyncio.gather leaving sibling tasks running after one fails, with the warnings as evidence, is a well-known pitfall whose fix (TaskGroup or cancel-and-await) has parts a small model drops.",
        req(
            u(
                "after one fetch fails the others keep running and at shutdown i get the warnings below. why, and what's the right way?\n"
                + code(
                    "python",
                    """
async def refresh_all(client: httpx.AsyncClient, shops: list[str]) -> dict[str, Stock]:
    results = await asyncio.gather(*(fetch_stock(client, s) for s in shops))
    return dict(zip(shops, results))

async def main():
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                stock = await refresh_all(client, SHOPS)
                publish(stock)
            except httpx.HTTPError as e:
                log.warning("refresh failed: %s", e)
            await asyncio.sleep(30)
""",
                )
                + "\n"
                + code(
                    "text",
                    """
WARNING refresh failed: Server error '503 Service Unavailable' for url 'https://shop-17.internal/stock'
ERROR Task exception was never retrieved
future: <Task finished name='Task-2231' coro=<fetch_stock() done> exception=ReadTimeout('')>
ERROR Task was destroyed but it is pending!
task: <Task pending name='Task-2240' coro=<fetch_stock() running at app/stock.py:41>>
RuntimeError: Cannot send a request, as the client has been closed.
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s4-ts-react-search-out-of-order",
        "sonnet",
        "Out-of-order fetch responses in a search hook need an abort or ignore flag plus cleanup; a well-trodden fix a small model often gets half right.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/hooks/useSearch.ts",
                    "typescript",
                    """
export function useSearch(query: string) {
  const [results, setResults] = useState<Hit[]>([]);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    if (!query) return;
    setLoading(true);
    const t = setTimeout(async () => {
      const res = await fetch(`/api/search?q=${encodeURIComponent(query)}`);
      const body = await res.json();
      setResults(body.hits);
      setLoading(false);
    }, 250);
    return () => clearTimeout(t);
  }, [query]);

  return { results, loading };
}
""",
                )
                + "\n\nusers say when they type fast the list sometimes shows results for an older query. debounce is there, so what's wrong?"
            ),
        ),
        "typescript",
        "single",
        "debug",
        "react",
    ),
    case(
        "s4-go-query-ignores-context",
        "sonnet",
        "A handler that times out while the query keeps running needs QueryContext threaded through the store and the rows closed; a standard multi-part fix.",
        req(
            u(
                "handler returns 504 after 5s (context deadline exceeded) but pg_stat_activity shows the report query still running for minutes and the pool runs dry. what's going on?\n"
                + code(
                    "go",
                    """
func (h *Handler) Report(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rows, err := h.store.MonthlyTotals(ctx, r.URL.Query().Get("tenant"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
		return
	}
	json.NewEncoder(w).Encode(rows)
}

func (s *Store) MonthlyTotals(ctx context.Context, tenant string) ([]Total, error) {
	rows, err := s.db.Query(monthlyTotalsSQL, tenant)
	if err != nil {
		return nil, err
	}
	var out []Total
	for rows.Next() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var t Total
		if err := rows.Scan(&t.Month, &t.Amount); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
""",
                )
            )
        ),
        "go",
        "single",
        "debug",
        "postgres",
    ),
    case(
        "s4-java-supplyasync-commonpool-starved",
        "sonnet",
        "Blocking I/O in supplyAsync on the common pool, shown by a thread dump, is a known pitfall with a standard fix (a dedicated bounded executor, timeouts).",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "under load the enrichment endpoint takes 30s+ and unrelated parallel streams elsewhere in the app also crawl. thread dump excerpt and the code:\n"
                + code(
                    "text",
                    """
"ForkJoinPool.commonPool-worker-3" #41 daemon prio=5 WAITING
   at java.net.SocketInputStream.socketRead0(Native Method)
   at sun.net.www.http.HttpClient.parseHTTP(HttpClient.java:789)
   at com.acme.enrich.GeoClient.lookup(GeoClient.java:58)
"ForkJoinPool.commonPool-worker-5" #43 daemon prio=5 WAITING
   at java.net.SocketInputStream.socketRead0(Native Method)
   at com.acme.enrich.GeoClient.lookup(GeoClient.java:58)
   ... (all 7 commonPool workers in GeoClient.lookup)
""",
                )
                + "\n"
                + code(
                    "java",
                    """
public List<Enriched> enrich(List<Event> events) {
    List<CompletableFuture<Enriched>> fs = events.stream()
        .map(e -> CompletableFuture.supplyAsync(() -> new Enriched(e, geo.lookup(e.ip()))))
        .toList();
    return fs.stream().map(CompletableFuture::join).toList();
}
""",
                )
            ),
        ),
        "java",
        "single",
        "debug",
        "concurrency",
        "performance",
    ),
    case(
        "s4-sql-tenant-order-by-limit-index",
        "sonnet",
        "Reading an EXPLAIN ANALYZE where the planner walks the created_at index and filters by tenant, then choosing a composite index, is standard evidence-based tuning.",
        req(
            u(
                "this got slow for big tenants only, small tenants are instant. plan below, what index do i need?\n"
                + code(
                    "sql",
                    """
SELECT id, status, total_minor, created_at
FROM orders
WHERE tenant_id = 4411 AND status IN ('paid', 'shipped')
ORDER BY created_at DESC
LIMIT 20;
""",
                )
                + "\n"
                + code(
                    "text",
                    """
Limit  (cost=0.43..1893.22 rows=20 width=40) (actual time=4210.551..4211.020 rows=20 loops=1)
  ->  Index Scan Backward using orders_created_at_idx on orders  (cost=0.43..9120442.10 rows=96370 width=40) (actual time=4210.549..4211.011 rows=20 loops=1)
        Filter: ((tenant_id = 4411) AND (status = ANY ('{paid,shipped}'::text[])))
        Rows Removed by Filter: 11837215
Planning Time: 0.210 ms
Execution Time: 4211.061 ms
-- existing indexes: orders_pkey (id), orders_created_at_idx (created_at), orders_tenant_id_idx (tenant_id)
""",
                )
            )
        ),
        "sql",
        "single",
        "debug",
        "postgres",
        "performance",
    ),
    case(
        "s4-rust-nll-conditional-return-borrow",
        "sonnet",
        "The conditional-return borrow error (NLL problem case #3) needs a restructure a small model usually gets wrong by cloning or fighting lifetimes.",
        req(
            u(
                "why does this not compile? the borrow is clearly over by the time i insert\n"
                + code(
                    "rust",
                    """
impl Interner {
    pub fn get_or_intern(&mut self, s: &str) -> &Symbol {
        if let Some(sym) = self.map.get(s) {
            return sym;
        }
        let sym = Symbol(self.next_id());
        self.map.insert(s.to_owned(), sym);
        self.map.get(s).unwrap()
    }

    fn next_id(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }
}
""",
                )
                + "\n"
                + code(
                    "text",
                    """
error[E0502]: cannot borrow `*self` as mutable because it is also borrowed as immutable
  --> src/intern.rs:6:26
   |
2  |     pub fn get_or_intern(&mut self, s: &str) -> &Symbol {
   |                          - let's call the lifetime of this reference `'1`
3  |         if let Some(sym) = self.map.get(s) {
   |                            -------- immutable borrow occurs here
4  |             return sym;
   |                    --- returning this value requires that `self.map` is borrowed for `'1`
5  |         }
6  |         let sym = Symbol(self.next_id());
   |                          ^^^^^^^^^^^^^^ mutable borrow occurs here
""",
                )
            )
        ),
        "rust",
        "single",
        "debug",
    ),
    case(
        "s4-csharp-ef-migration-drop-add-rename",
        "sonnet",
        "An EF Core migration that drops and re-adds a renamed column must be rewritten to RenameColumn (and the snapshot kept consistent) before it loses data; a known migration fix.",
        req(
            s(project_chat("ASP.NET Core 8, EF Core 8, SQL Server")),
            u(
                "i renamed Customer.Phone to PhoneNumber and ran `dotnet ef migrations add RenamePhone`. reviewer says this will wipe prod data?? here's the generated migration\n"
                + code(
                    "csharp",
                    """
public partial class RenamePhone : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropColumn(name: "Phone", table: "Customers");
        migrationBuilder.AddColumn<string>(
            name: "PhoneNumber", table: "Customers", type: "nvarchar(32)", maxLength: 32, nullable: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropColumn(name: "PhoneNumber", table: "Customers");
        migrationBuilder.AddColumn<string>(
            name: "Phone", table: "Customers", type: "nvarchar(20)", maxLength: 20, nullable: true);
    }
}
""",
                )
                + "\nalso note i bumped max length 20 -> 32 in the same change"
            ),
        ),
        "csharp",
        "single",
        "migration",
        "dotnet",
    ),
    case(
        "s4-kotlin-stateflow-viewmodel-test",
        "sonnet",
        "Testing a ViewModel's debounced StateFlow on virtual time with a test dispatcher is a test whose fixture is subtle.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "app/src/main/java/net/acme/search/SearchViewModel.kt",
                    "kotlin",
                    """
class SearchViewModel(private val repo: SearchRepo) : ViewModel() {
    private val query = MutableStateFlow("")

    val state: StateFlow<SearchState> = query
        .debounce(300)
        .filter { it.length >= 2 }
        .distinctUntilChanged()
        .mapLatest { q -> SearchState.Results(repo.search(q)) as SearchState }
        .catch { emit(SearchState.Error(it.message ?: "error")) }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), SearchState.Idle)

    fun onQueryChanged(q: String) { query.value = q }
}
""",
                )
                + "\n\nwrite unit tests: debounce collapses fast typing into one search, <2 chars never searches, repo error becomes Error state. we have kotlinx-coroutines-test and turbine. tests must not actually sleep"
            ),
        ),
        "kotlin",
        "single",
        "test",
        "android",
    ),
    case(
        "s4-tf-count-to-for-each-moved",
        "sonnet",
        "Converting count to for_each on live resources without destroy/recreate needs moved blocks keyed correctly and a plan check; a known migration with parts to get right.",
        req(
            u(
                "want to switch these from count to for_each keyed by name so removing one from the middle doesn't recreate the others. they're live in prod. how do i do it without terraform destroying anything? tf 1.6\n"
                + code(
                    "hcl",
                    """
variable "queues" {
  type    = list(string)
  default = ["orders", "refunds", "payouts"]
}

resource "aws_sqs_queue" "q" {
  count                      = length(var.queues)
  name                       = "pay-${var.queues[count.index]}"
  visibility_timeout_seconds = 120
}

resource "aws_sqs_queue_policy" "q" {
  count     = length(var.queues)
  queue_url = aws_sqs_queue.q[count.index].id
  policy    = data.aws_iam_policy_document.q[count.index].json
}
""",
                )
            )
        ),
        "terraform",
        "single",
        "migration",
    ),
    case(
        "s4-cron-percent-and-path",
        "sonnet",
        "A cron job that works by hand but fails from cron has two separate causes here (unescaped % and PATH), read from the cron mail; a small model tends to fix one.",
        req(
            u(
                "CRITICAL: nightly backups have not run for 3 days. script works fine when i run it by hand. crontab line + the mail cron sends:\n"
                + code(
                    "shell",
                    """
# m h dom mon dow command
15 2 * * * /opt/backup/run.sh > /var/log/backup-$(date +%F).log 2>&1
""",
                )
                + "\n"
                + code(
                    "text",
                    """
From: root (Cron Daemon)
Subject: Cron <backup@db-2> /opt/backup/run.sh > /var/log/backup-$(date +

/bin/sh: 1: Syntax error: end of file unexpected (expecting ")")
""",
                )
                + "\nrun.sh calls `aws s3 cp` and `pg_dump` (aws was installed with pip --user so it lives in ~/.local/bin of the backup user, pg_dump is in /usr/lib/postgresql/16/bin)"
            )
        ),
        "shell",
        "single",
        "debug",
        "misleading",
    ),
    case(
        "s4-ts-jest-err-require-esm",
        "sonnet",
        "ERR_REQUIRE_ESM under Jest after a dependency went ESM-only needs a config change across ts-jest/transformIgnorePatterns or a move to ESM; multi-step but well trodden.",
        req(
            s(project_chat("Node 20, TypeScript 5.4, Jest 29 with ts-jest, CommonJS output")),
            u(
                "bumped nanoid 3 -> 5 and now every test that imports src/ids.ts dies:\n"
                + code(
                    "text",
                    """
 FAIL  test/orders.test.ts
  ● Test suite failed to run

    Jest encountered an unexpected token
    ...
    /app/node_modules/nanoid/index.js:1
    ({"Object.<anonymous>":function(module,exports,require,__dirname,__filename,jest){import { webcrypto as crypto } from 'node:crypto'
                                                                                      ^^^^^^

    SyntaxError: Cannot use import statement outside a module
""",
                )
                + "\nthe app itself also fails at runtime with ERR_REQUIRE_ESM after tsc. jest.config.js is just `preset: 'ts-jest'`. what are my options and which do you recommend?"
            ),
        ),
        "typescript",
        "single",
        "debug",
        "node",
    ),
    case(
        "s4-pandas-merge-doubles-revenue",
        "sonnet",
        "A revenue total that doubles after a merge is a many-to-many key problem to diagnose from the sample and fix with dedup and validate=; standard but multi-step.",
        req(
            u(
                "after adding the merge below, total revenue for march went from 1.21M to 2.38M. no idea why, the join key is just sku\n"
                + code(
                    "python",
                    """
orders = pd.read_parquet("orders_2024_03.parquet")      # order_id, sku, qty, unit_price
catalog = pd.read_parquet("catalog_snapshots.parquet")  # sku, category, valid_from, valid_to

df = orders.merge(catalog[["sku", "category"]], on="sku", how="left")
df["revenue"] = df["qty"] * df["unit_price"]
print(df.groupby("category")["revenue"].sum().sum())
""",
                )
                + "\n"
                + code(
                    "text",
                    """
>>> catalog[catalog.sku == "SKU-1182"]
        sku     category  valid_from    valid_to
310  SKU-1182  outdoor    2023-01-01  2024-02-14
311  SKU-1182  garden     2024-02-15  NaT
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
        "pandas",
    ),
    case(
        "s4-go-cursor-pagination-feature",
        "sonnet",
        "Adding keyset pagination across handler, store and tests, with an opaque cursor and a tie-breaker on id, is a multi-file feature on a known pattern.",
        req(
            s(project_chat("Go 1.22, chi, pgx v5, Postgres 15")),
            u(
                "our list endpoint uses offset and it's slow + skips rows when new orders arrive. switch it to cursor pagination (opaque cursor, limit param, next_cursor in the response), update the store query and add tests\n"
                + attached(
                    "internal/orders/http.go",
                    "go",
                    """
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	items, err := h.store.List(r.Context(), auth.Tenant(r), page*50, 50)
	if err != nil {
		httpx.Error(w, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": items, "page": page})
}
""",
                )
                + "\n"
                + attached(
                    "internal/orders/store.go",
                    "go",
                    """
func (s *Store) List(ctx context.Context, tenant string, offset, limit int) ([]Order, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, status, total_minor, created_at FROM orders
			WHERE tenant_id = $1 ORDER BY created_at DESC OFFSET $2 LIMIT $3`, tenant, offset, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Order])
}
""",
                )
            ),
        ),
        "go",
        "single",
        "implement",
        "postgres",
    ),
    case(
        "s4-ts-express-zod-validation",
        "sonnet",
        "Adding zod validation to several Express routes with inferred types and a shared 400 error format is a feature across a few components.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/routes/subscriptions.ts",
                    "typescript",
                    """
router.post("/subscriptions", async (req, res, next) => {
  try {
    const { planId, seats, coupon } = req.body;
    const sub = await subs.create(req.user.id, planId, Number(seats), coupon);
    res.status(201).json(sub);
  } catch (e) { next(e); }
});

router.patch("/subscriptions/:id", async (req, res, next) => {
  try {
    const sub = await subs.update(req.user.id, req.params.id, req.body);
    res.json(sub);
  } catch (e) { next(e); }
});

router.get("/subscriptions", async (req, res, next) => {
  try {
    res.json(await subs.list(req.user.id, Number(req.query.limit ?? 20)));
  } catch (e) { next(e); }
});
""",
                )
                + "\n\nadd zod validation for body/params/query on all three (seats 1..500 int, limit 1..100, patch only allows seats and coupon), a reusable validate() middleware, typed handlers from the schemas, and 400s shaped like {error: 'validation', issues: [...]}"
            ),
        ),
        "typescript",
        "single",
        "implement",
        "node",
    ),
    case(
        "s4-cpp-deferred-erase-use-after-free",
        "sonnet",
        "An ASan use-after-free where a deferred erase runs inside dispatch and frees the Session the caller still points to, traced across three functions, is multi-step debugging with the evidence provided.",
        req(
            u(
                "asan report below, happens only sometimes under load. the map is only touched from the io thread\n"
                + code(
                    "cpp",
                    """
struct Session { std::string user; std::vector<char> buf; };

class Server {
  std::unordered_map<int, Session> sessions_;
  std::vector<std::function<void()>> deferred_;

  void on_readable(int fd) {
    Session* s = &sessions_.at(fd);
    auto n = read_some(fd, s->buf);
    if (n == 0) {
      deferred_.push_back([this, fd] { sessions_.erase(fd); ::close(fd); });
    }
    dispatch(fd, *s);   // may call on_readable for pipelined peers and run deferred_
    log_bytes(s->user, n);
  }

  void dispatch(int fd, Session& s) {
    /* ... parse frames ... */
    run_deferred();
  }

  void run_deferred() {
    for (auto& f : deferred_) f();
    deferred_.clear();
  }
};
""",
                )
                + "\n"
                + code(
                    "text",
                    """
==31337==ERROR: AddressSanitizer: heap-use-after-free on address 0x6080000bf2a0
READ of size 8 at 0x6080000bf2a0 thread T0
    #0 Server::on_readable(int) server.cpp:15
freed by thread T0 here:
    #1 std::unordered_map<int, Session>::erase(int const&)
    #2 Server::on_readable(int)::{lambda()#1}::operator()() server.cpp:11
    #3 Server::run_deferred() server.cpp:25
    #4 Server::dispatch(int, Session&) server.cpp:20
""",
                )
            )
        ),
        "cpp",
        "single",
        "debug",
    ),
    case(
        "s4-ruby-sidekiq-duplicate-receipts",
        "sonnet",
        "Duplicate emails from a retried Sidekiq job, with the log showing the retry, need an idempotency marker set atomically and ordered with the send; a standard one-service fix.",
        req(
            u(
                "customers get 2-3 copies of the receipt email. log + job below. how do i make it send exactly once?\n"
                + code(
                    "ruby",
                    """
class SendReceiptJob
  include Sidekiq::Job
  sidekiq_options retry: 5

  def perform(order_id)
    order = Order.find(order_id)
    ReceiptMailer.with(order: order).receipt.deliver_now
    Accounting.push_invoice!(order)   # calls external API, times out sometimes
    order.update!(receipt_sent_at: Time.current)
  end
end
""",
                )
                + "\n"
                + code(
                    "text",
                    """
2024-05-02T10:14:03Z pid=7 tid=ab3 class=SendReceiptJob jid=9f1c INFO: start
2024-05-02T10:14:33Z pid=7 tid=ab3 class=SendReceiptJob jid=9f1c elapsed=30.1 INFO: fail
2024-05-02T10:14:33Z pid=7 tid=ab3 WARN: Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)>
2024-05-02T10:15:02Z pid=9 tid=c11 class=SendReceiptJob jid=9f1c INFO: start
2024-05-02T10:15:32Z pid=9 tid=c11 class=SendReceiptJob jid=9f1c elapsed=30.0 INFO: fail
""",
                )
            )
        ),
        "ruby",
        "single",
        "debug",
        "rails",
    ),
    case(
        "s4-php-carbon3-diffindays-float",
        "sonnet",
        "Carbon 3 made diffIn* return signed floats, which silently breaks trial and billing arithmetic; the migration needs each call site reasoned about.",
        req(
            s(project_chat("Laravel 11, PHP 8.3, nesbot/carbon 3.x (upgraded from 2.72)")),
            u(
                "after the carbon 3 upgrade the trial banner says '13.999988425926 days left' and one test for proration fails. what changed and how should i fix these call sites?\n"
                + code(
                    "php",
                    """
public function trialDaysLeft(User $user): int
{
    return now()->diffInDays($user->trial_ends_at);
}

public function prorate(Subscription $sub, Carbon $changeAt): int
{
    $total = $sub->period_start->diffInDays($sub->period_end);
    $used  = $sub->period_start->diffInDays($changeAt);
    return intdiv($sub->price_minor * ($total - $used), $total);
}

public function isOverdue(Invoice $inv): bool
{
    return $inv->due_at->diffInHours(now()) > 72;
}
""",
                )
            ),
        ),
        "php",
        "single",
        "migration",
        "laravel",
    ),
    case(
        "s4-swift-task-cancellation-alert",
        "sonnet",
        "A CancellationError surfacing as an error alert from SwiftUI's .task needs cancellation handled separately and .task(id:) for reloads; a known pitfall with two parts.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "when i switch tabs quickly users get an 'Error: cancelled' alert. also pull to refresh sometimes shows it. why?\n"
                + code(
                    "swift",
                    """
struct OrdersView: View {
    @State private var orders: [Order] = []
    @State private var error: Error?
    let filter: OrderFilter

    var body: some View {
        List(orders) { OrderRow(order: $0) }
            .task { await load() }
            .onChange(of: filter) { _ in Task { await load() } }
            .refreshable { await load() }
            .alert("Error", isPresented: .constant(error != nil)) {
                Button("OK") { error = nil }
            } message: { Text(error?.localizedDescription ?? "") }
    }

    private func load() async {
        do {
            orders = try await API.shared.orders(filter: filter)
        } catch {
            self.error = error
        }
    }
}
""",
                )
            ),
        ),
        "swift",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s4-py-streaming-variance-negative",
        "sonnet",
        "A negative variance from E[x^2]-E[x]^2 over large-offset values needs Welford plus Chan's merge of per-chunk states; well documented, but a small model rarely gets the merge right.",
        req(
            u(
                "our latency aggregator sometimes reports a negative variance (and sqrt -> nan) for one gauge whose values sit around 1.7e9 with a spread of a few units. each worker aggregates a chunk and we combine. why negative, and how do i fix it keeping the chunk/merge design?\n"
                + code(
                    "python",
                    """
@dataclass
class Agg:
    n: int = 0
    s: float = 0.0
    s2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        self.s += x
        self.s2 += x * x

    def merge(self, o: "Agg") -> "Agg":
        return Agg(self.n + o.n, self.s + o.s, self.s2 + o.s2)

    def variance(self) -> float:
        mean = self.s / self.n
        return self.s2 / self.n - mean * mean
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
    ),
    case(
        "s4-k8s-urgent-jvm17-oomkilled",
        "sonnet",
        "OOMKilled after a JDK upgrade with no -Xmx under a 1Gi limit is a known container-sizing issue, but the answer must cover heap percentage plus metaspace, threads and direct memory; sonnet despite the URGENT.",
        req(
            u(
                "URGENT prod incident: after moving the image from jdk 11 to 17 pods get OOMKilled every ~40 min. nothing else changed. describe + deployment snippet below\n"
                + code(
                    "text",
                    """
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
    Limits:
      memory:  1Gi
    Requests:
      cpu:     500m
      memory:  1Gi
""",
                )
                + "\n"
                + code(
                    "yaml",
                    """
        env:
          - name: JAVA_OPTS
            value: "-XX:MaxRAMPercentage=90 -XX:+UseG1GC -Dio.netty.maxDirectMemory=0"
        command: ["sh", "-c", "exec java $JAVA_OPTS -jar /app/app.jar"]
""",
                )
                + "\nthe app is spring boot + netty (webflux), ~200 threads"
            )
        ),
        "kubernetes",
        "single",
        "debug",
        "misleading",
        "java",
    ),
]

OPUS = [
    case(
        "s4-rust-spinlock-sync-missing-send",
        "opus",
        "`unsafe impl<T> Sync for SpinLock<T>` without `T: Send` lets an Rc or other !Send value be shared across threads; a soundness hole a quick 'looks fine' ships.",
        req(
            u(
                "tiny spinlock for our no_std allocator, quick sanity check before i publish the crate?\n"
                + code(
                    "rust",
                    """
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

unsafe impl<T> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    pub fn lock(&self) -> Guard<'_, T> {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        Guard { lock: self }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "review",
        "concurrency",
        "memory-model",
    ),
    case(
        "s4-go-once-atomic-bool-early-return",
        "opus",
        "A hand-rolled Once that sets the flag before f finishes lets concurrent callers return and read an unbuilt value; the publication bug passes single-goroutine tests.",
        req(
            u(
                "replaced sync.Once with this to avoid the mutex, same semantics right?\n"
                + code(
                    "go",
                    """
type LazyClient struct {
	done   atomic.Bool
	client *grpc.ClientConn
	err    error
}

func (l *LazyClient) Get(ctx context.Context, target string) (*grpc.ClientConn, error) {
	if l.done.CompareAndSwap(false, true) {
		l.client, l.err = grpc.DialContext(ctx, target, grpc.WithTransportCredentials(creds()))
	}
	return l.client, l.err
}
""",
                )
            )
        ),
        "go",
        "single",
        "review",
        "concurrency",
        "memory-model",
    ),
    case(
        "s4-java-volatile-array-elements",
        "opus",
        "A volatile array reference does not make element writes visible or ordered, so readers can see a stale or half-published slot; a memory-model fact a plausible 'yes' gets wrong.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "this is thread safe right? the array is volatile\n"
                + code(
                    "java",
                    """
public final class ShardRouter {
    private volatile ShardInfo[] shards = new ShardInfo[64];

    // called by the admin thread when a shard moves
    public void move(int slot, ShardInfo target) {
        shards[slot] = target;
    }

    // called by request threads
    public ShardInfo route(long key) {
        ShardInfo s = shards[(int) (key & 63)];
        return s != null ? s : ShardInfo.DEFAULT;
    }
}
""",
                )
            ),
        ),
        "java",
        "single",
        "question",
        "concurrency",
        "memory-model",
    ),
    case(
        "s4-py-reset-token-sha256-time",
        "opus",
        "A reset token derived from the email and a second-resolution timestamp is guessable by anyone who requests a reset; a token-security hole under a casual review ask.",
        req(
            u(
                "quick review of our password reset token, does this look ok?\n"
                + code(
                    "python",
                    """
def make_reset_token(user: User) -> str:
    issued = int(time.time())
    digest = hashlib.sha256(f"{user.email}:{issued}".encode()).hexdigest()
    cache.set(f"reset:{digest}", user.id, timeout=3600)
    return digest

def consume_reset_token(token: str) -> User | None:
    user_id = cache.get(f"reset:{token}")
    if user_id is None:
        return None
    cache.delete(f"reset:{token}")
    return User.objects.get(pk=user_id)
""",
                )
            )
        ),
        "python",
        "single",
        "review",
        "security",
    ),
    case(
        "s4-ts-next-returnto-startswith",
        "opus",
        "A returnTo check of startsWith('/') still lets //evil.example and /\\evil.example through to a cross-origin redirect after login; a trust-boundary check that looks right.",
        req(
            u(
                selection(
                    "app/login/actions.ts",
                    "typescript",
                    """
export async function login(formData: FormData) {
  const user = await verifyPassword(formData.get("email"), formData.get("password"));
  if (!user) return { error: "invalid" };
  await createSession(user.id);
  const returnTo = String(formData.get("returnTo") ?? "/");
  redirect(returnTo.startsWith("/") ? returnTo : "/");
}
""",
                )
                + "\nis the returnTo handling safe now? we added the startsWith after a pentest comment"
            )
        ),
        "typescript",
        "single",
        "review",
        "security",
    ),
    case(
        "s4-go-signed-url-add-expiry",
        "opus",
        "Adding an expiry query parameter to URLs whose HMAC covers only the path leaves the expiry unsigned; the feature must change what is signed, which a plain implementation misses.",
        req(
            s(project_chat("Go 1.22 file service behind a CDN")),
            u(
                "add an expiry to our download links (default 15 min, ?exp=unix seconds) and reject expired ones\n"
                + code(
                    "go",
                    """
func (s *Signer) Sign(path string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(path))
	return path + "?sig=" + hex.EncodeToString(mac.Sum(nil))
}

func (s *Signer) Verify(r *http.Request) bool {
	sig, err := hex.DecodeString(r.URL.Query().Get("sig"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(r.URL.Path))
	return hmac.Equal(sig, mac.Sum(nil))
}
""",
                )
            ),
        ),
        "go",
        "single",
        "implement",
        "security",
        "misleading",
    ),
    case(
        "s4-sql-budget-allocations-write-skew",
        "opus",
        "Checking SUM(allocations) then inserting under REPEATABLE READ lets two concurrent inserts overspend the budget (write skew over rows neither touches); the one-word question hides an isolation anomaly.",
        req(
            u(
                "postgres, REPEATABLE READ. this can't overspend the budget, right?\n"
                + code(
                    "sql",
                    """
BEGIN ISOLATION LEVEL REPEATABLE READ;

SELECT b.limit_minor - COALESCE(SUM(a.amount_minor), 0) AS remaining
FROM budgets b
LEFT JOIN allocations a ON a.budget_id = b.id
WHERE b.id = $1
GROUP BY b.limit_minor;

-- application: if remaining >= $2 then
INSERT INTO allocations (budget_id, team_id, amount_minor) VALUES ($1, $3, $2);

COMMIT;
""",
                )
            )
        ),
        "sql",
        "single",
        "question",
        "postgres",
        "distributed",
    ),
    case(
        "s4-kafka-autocommit-threadpool-loss",
        "opus",
        "Auto-commit with records handed to a thread pool commits offsets of unprocessed records, so a crash or rebalance loses them; a delivery-guarantee failure behind a one-line question.",
        req(
            u(
                "is enable.auto.commit=true fine here? we only need at-least-once\n"
                + code(
                    "java",
                    """
props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
props.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "5000");
KafkaConsumer<String, Payment> consumer = new KafkaConsumer<>(props);
consumer.subscribe(List.of("payments"));
ExecutorService workers = Executors.newFixedThreadPool(16);

while (running) {
    ConsumerRecords<String, Payment> records = consumer.poll(Duration.ofMillis(500));
    for (ConsumerRecord<String, Payment> r : records) {
        workers.submit(() -> ledger.apply(r.value()));
    }
}
""",
                )
            )
        ),
        "java",
        "single",
        "question",
        "kafka",
        "distributed",
    ),
    case(
        "s4-proof-two-stack-deque-amortized",
        "opus",
        "The claim is false: alternating pops at both ends make every pop move the whole other stack, so the right answer is a counterexample sequence, not a potential-function proof.",
        req(
            u(
                "for the design doc: can you write a short amortised-analysis proof that every operation of this deque is O(1) amortised? same argument as the two-stack queue\n"
                + code(
                    "python",
                    """
class Deque:
    def __init__(self):
        self.front, self.back = [], []

    def push_front(self, x): self.front.append(x)
    def push_back(self, x): self.back.append(x)

    def pop_front(self):
        if not self.front:
            while self.back:
                self.front.append(self.back.pop())
        return self.front.pop()

    def pop_back(self):
        if not self.back:
            while self.front:
                self.back.append(self.front.pop())
        return self.back.pop()
""",
                )
            )
        ),
        "python",
        "single",
        "proof",
    ),
    case(
        "s4-proof-rounded-shares-sum",
        "opus",
        "Rounding each share half-even does not preserve the total (100 split three ways gives 99), so 'prove it' needs a counterexample and a largest-remainder fix.",
        req(
            s(COPILOT_LIKE),
            u(
                "we split a charge between N payers like this. finance wants a one-paragraph argument that the shares always add up to the charge exactly. can you write it?\n"
                + code(
                    "python",
                    """
from decimal import Decimal, ROUND_HALF_EVEN

def split(amount_minor: int, weights: list[int]) -> list[int]:
    total_w = sum(weights)
    return [
        int((Decimal(amount_minor) * w / total_w).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        for w in weights
    ]
""",
                )
            ),
        ),
        "python",
        "single",
        "proof",
        "misleading",
    ),
    case(
        "s4-tla-tlc-small-model-all-n",
        "opus",
        "A clean TLC run with N=2 is not a proof for all N, and here the invariant holds only because Acquire revokes every other holder in one atomic step, which real lease holders with drifting clocks cannot do; the honest answer needs reasoning about what the spec models.",
        req(
            u(
                "TLC finished with 'No error has been found' for our lease spec (N = 2 nodes, MaxTime = 4). so we can say the invariant holds for any cluster size in the design review?\n"
                + code(
                    "tla",
                    """
CONSTANTS N, MaxTime, LeaseLen
Nodes == 1..N
VARIABLES holds, expiry, clock

Init == /\\ holds = [n \\in Nodes |-> FALSE]
        /\\ expiry = 0
        /\\ clock = [n \\in Nodes |-> 0]

Acquire(n) == /\\ clock[n] >= expiry
              /\\ holds' = [k \\in Nodes |-> k = n]
              /\\ expiry' = clock[n] + LeaseLen
              /\\ UNCHANGED clock

Tick(n) == /\\ clock[n] < MaxTime
           /\\ clock' = [clock EXCEPT ![n] = @ + 1]
           /\\ UNCHANGED <<holds, expiry>>

Next == \\E n \\in Nodes : Acquire(n) \\/ Tick(n)

AtMostOneHolder == \\A n, m \\in Nodes : (holds[n] /\\ holds[m]) => n = m
""",
                )
            )
        ),
        "tla",
        "single",
        "proof",
        "distributed",
    ),
    case(
        "s4-gha-workflow-run-artifact-comment",
        "opus",
        "A workflow_run job with a write token that downloads and uses an artifact built by fork PR code is an artifact-poisoning path; the 'just add a comment step' ask touches it.",
        req(
            u(
                "add a step that posts the coverage summary as a PR comment. the coverage job already uploads `coverage/` as an artifact\n"
                + code(
                    "yaml",
                    """
name: coverage-report
on:
  workflow_run:
    workflows: ["ci"]
    types: [completed]
permissions:
  contents: read
  pull-requests: write
jobs:
  report:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          name: coverage
          run-id: ${{ github.event.workflow_run.id }}
          github-token: ${{ secrets.GITHUB_TOKEN }}
      - run: node scripts/summarize-coverage.js coverage/summary.json > summary.md
      - run: bash coverage/post-process.sh
""",
                )
            )
        ),
        "yaml",
        "single",
        "implement",
        "security",
        "github-actions",
        "misleading",
    ),
    case(
        "s4-tf-iam-passrole-escalation",
        "opus",
        "iam:PassRole on * together with lambda:CreateFunction lets the CI role run code as any role, so 'least privilege' is false; a privilege-escalation review asked as a sign-off.",
        req(
            u(
                "security wants sign-off that the deploy role is least-privilege. it can only touch lambda, nothing else. ok to approve?\n"
                + code(
                    "hcl",
                    """
data "aws_iam_policy_document" "deployer" {
  statement {
    sid = "Lambda"
    actions = [
      "lambda:CreateFunction",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
      "lambda:InvokeFunction",
      "lambda:GetFunction",
    ]
    resources = ["arn:aws:lambda:eu-west-1:123456789012:function:*"]
  }
  statement {
    sid       = "PassExecRole"
    actions   = ["iam:PassRole"]
    resources = ["*"]
  }
}
""",
                )
            )
        ),
        "terraform",
        "single",
        "review",
        "security",
    ),
    case(
        "s4-php-prefs-cookie-loose-compare",
        "opus",
        "Adding a field to a cookie that is unserialized after a loose == HMAC check touches both holes (magic-hash comparison and object injection); the feature must fix them.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/Http/PrefsCookie.php",
                    "php",
                    """
final class PrefsCookie
{
    public function __construct(private string $key) {}

    public function write(array $prefs): string
    {
        $data = base64_encode(serialize($prefs));
        return $data . '.' . md5($this->key . $data);
    }

    public function read(?string $cookie): array
    {
        if (!$cookie || !str_contains($cookie, '.')) {
            return [];
        }
        [$data, $mac] = explode('.', $cookie, 2);
        if (md5($this->key . $data) != $mac) {
            return [];
        }
        return unserialize(base64_decode($data)) ?: [];
    }
}
""",
                )
                + "\n\nadd a 'theme' pref (light/dark/system, default system) to this cookie and a getter for it"
            ),
        ),
        "php",
        "single",
        "implement",
        "security",
        "misleading",
    ),
    case(
        "s4-go-publish-after-commit-goroutine",
        "opus",
        "Publishing events in a goroutine after commit loses them on crash and reorders them per order; consumers' ordering and completeness need an outbox-style design, not a quick yes.",
        req(
            u(
                "consumers need every status change of an order, in order. this is fine right? publish happens only after commit\n"
                + code(
                    "go",
                    """
func (s *Service) SetStatus(ctx context.Context, id OrderID, st Status) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1, updated_at = now() WHERE id = $2`, st, id); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	go func() {
		if err := s.bus.Publish(context.Background(), "orders.status", id.String(), StatusChanged{ID: id, Status: st}); err != nil {
			s.log.Error("publish failed", "order", id, "err", err)
		}
	}()
	return nil
}
""",
                )
            )
        ),
        "go",
        "single",
        "question",
        "distributed",
    ),
    case(
        "s4-ts-gcounter-merge-sum",
        "opus",
        "A G-counter merge that sums replica entries is not idempotent, so repeated gossip inflates counts and replicas never converge; convergence reasoning behind a 'quick q'.",
        req(
            u(
                "quick q, merge is right? it's a grow-only counter replicated between edge nodes via gossip (each node gossips its full state every 2s)\n"
                + code(
                    "typescript",
                    """
type GCounter = Record<string, number>; // nodeId -> count

export function increment(c: GCounter, node: string, by = 1): GCounter {
  return { ...c, [node]: (c[node] ?? 0) + by };
}

export function merge(a: GCounter, b: GCounter): GCounter {
  const out: GCounter = { ...a };
  for (const [node, n] of Object.entries(b)) {
    out[node] = (out[node] ?? 0) + n;
  }
  return out;
}

export const value = (c: GCounter) => Object.values(c).reduce((x, y) => x + y, 0);
""",
                )
            )
        ),
        "typescript",
        "single",
        "question",
        "distributed",
    ),
    case(
        "s4-cassandra-quorum-write-one-read",
        "opus",
        "With RF=3, writes at QUORUM and reads at ONE, R+W is not greater than N, so a user can miss their own write; a consistency question whose confident 'yes' ships stale reads.",
        req(
            u(
                "keyspace RF=3. we write at QUORUM and read at ONE for latency. user updates their profile then reloads: guaranteed to see it, since quorum already has it?\n"
                + code(
                    "java",
                    """
session.execute(updateProfile.bind(userId, displayName, avatarUrl)
    .setConsistencyLevel(DefaultConsistencyLevel.LOCAL_QUORUM));

// next request, possibly another app node
Row row = session.execute(selectProfile.bind(userId)
    .setConsistencyLevel(DefaultConsistencyLevel.LOCAL_ONE)).one();
""",
                )
            )
        ),
        "java",
        "single",
        "question",
        "distributed",
        "cassandra",
    ),
    case(
        "s4-kotlin-webview-js-bridge-locale",
        "opus",
        "Adding a method to a JavaScript bridge that already exposes the auth token to any page the deep link loads extends a real hole; the feature cannot ship without restricting origins.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "add a getLocale() to the JS bridge so the web checkout can localize\n"
                + code(
                    "kotlin",
                    """
class CheckoutActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val web = WebView(this).also { setContentView(it) }
        web.settings.javaScriptEnabled = true
        web.addJavascriptInterface(Bridge(session), "AcmeApp")
        val url = intent.data?.getQueryParameter("url") ?: "https://pay.acme.example/checkout"
        web.loadUrl(url)
    }

    class Bridge(private val session: Session) {
        @JavascriptInterface
        fun getAuthToken(): String = session.accessToken

        @JavascriptInterface
        fun close() { /* finish() via handler */ }
    }
}
""",
                )
            ),
        ),
        "kotlin",
        "single",
        "implement",
        "security",
        "android",
        "misleading",
    ),
    case(
        "s4-c-ticket-lock-relaxed-unlock",
        "opus",
        "A relaxed increment of now_serving in unlock does not publish the critical section's writes to the next holder; 'only the owner writes it' is the plausible wrong reasoning.",
        req(
            u(
                "short q: unlock can be relaxed since only the lock owner ever writes now_serving, right? saves a barrier on arm\n"
                + code(
                    "c",
                    """
typedef struct {
    _Atomic uint32_t next_ticket;
    _Atomic uint32_t now_serving;
} ticket_lock_t;

static inline void tl_lock(ticket_lock_t *l) {
    uint32_t me = atomic_fetch_add_explicit(&l->next_ticket, 1, memory_order_relaxed);
    while (atomic_load_explicit(&l->now_serving, memory_order_acquire) != me)
        cpu_relax();
}

static inline void tl_unlock(ticket_lock_t *l) {
    uint32_t cur = atomic_load_explicit(&l->now_serving, memory_order_relaxed);
    atomic_store_explicit(&l->now_serving, cur + 1, memory_order_relaxed);
}
""",
                )
            )
        ),
        "c",
        "single",
        "question",
        "concurrency",
        "memory-model",
    ),
    case(
        "s4-csharp-forwarded-headers-ip-allowlist",
        "opus",
        "With KnownProxies and KnownNetworks cleared, any client sets X-Forwarded-For and RemoteIpAddress becomes attacker-chosen, so an IP allowlist built on it is bypassable; the feature touches the hole.",
        req(
            s(project_chat("ASP.NET Core 8 minimal API, deployed behind an Azure Application Gateway")),
            u(
                "add an IP allowlist for /admin (office range 203.0.113.0/24) using the client IP\n"
                + code(
                    "csharp",
                    """
builder.Services.Configure<ForwardedHeadersOptions>(o =>
{
    o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
    o.KnownNetworks.Clear();
    o.KnownProxies.Clear();
    o.ForwardLimit = null;
});

var app = builder.Build();
app.UseForwardedHeaders();
app.UseAuthentication();
app.UseAuthorization();

app.MapGroup("/admin").MapAdminEndpoints().RequireAuthorization("staff");
""",
                )
            ),
        ),
        "csharp",
        "single",
        "implement",
        "security",
        "dotnet",
        "misleading",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
