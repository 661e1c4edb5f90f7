"""Single-turn IDE requests, third group: the hard boundaries between tiers across many languages. Local
for mechanical edits and short explanations on code that looks frightening (lock-free deques, crypto
modules, Raft log lines, long pastes with a mechanical ask); sonnet for well-trodden pitfalls shown with
their evidence, migrations, multi-step debugging and one-service designs, however alarming they sound;
opus for short, casual asks under code with a subtle memory-model, reclamation, auth, crypto, isolation
or distributed-systems hole, for proofs whose claim is false, and for cross-service invariants."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, log_lines, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "s3-rust-chase-lev-rustdoc",
        "local",
        "Writing rustdoc comments for a work-stealing deque without touching its code is mechanical, however subtle the orderings are.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/deque.rs",
                    "rust",
                    """
impl<T> Worker<T> {
    pub fn push(&self, value: T) {
        let b = self.inner.bottom.load(Ordering::Relaxed);
        let t = self.inner.top.load(Ordering::Acquire);
        let mut buf = self.buffer.get();
        if b.wrapping_sub(t) >= buf.cap() as isize {
            buf = self.resize(buf, b, t, buf.cap() * 2);
        }
        unsafe { buf.write(b, value) };
        fence(Ordering::Release);
        self.inner.bottom.store(b.wrapping_add(1), Ordering::Relaxed);
    }

    pub fn pop(&self) -> Option<T> {
        let b = self.inner.bottom.load(Ordering::Relaxed).wrapping_sub(1);
        let buf = self.buffer.get();
        self.inner.bottom.store(b, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let t = self.inner.top.load(Ordering::Relaxed);
        /* ... */
    }
}

impl<T> Stealer<T> {
    pub fn steal(&self) -> Steal<T> {
        let t = self.inner.top.load(Ordering::Acquire);
        fence(Ordering::SeqCst);
        let b = self.inner.bottom.load(Ordering::Acquire);
        /* ... */
    }
}
""",
                )
                + "\n\nadd /// doc comments to push, pop and steal (who may call each one, what it returns when empty). do NOT change any code or orderings, it's been loom tested"
            ),
        ),
        "rust",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-py-crypto-module-rename",
        "local",
        "Renaming short variables in a crypto helper without changing behaviour is a mechanical edit.",
        req(
            u(
                "rename the one-letter vars to something readable, keep behaviour identical, this is our envelope encryption helper so dont get creative\n"
                + code(
                    "python",
                    """
import os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def seal(k: bytes, p: bytes, a: bytes) -> bytes:
    n = os.urandom(12)
    c = AESGCM(k).encrypt(n, p, a)
    return n + c


def open_(k: bytes, b: bytes, a: bytes) -> bytes:
    n, c = b[:12], b[12:]
    return AESGCM(k).decrypt(n, c, a)
""",
                )
            )
        ),
        "python",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-go-raft-slog-fields",
        "local",
        "Turning a Printf log line into structured slog attributes is mechanical, even inside Raft code.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                selection(
                    "internal/raft/replicate.go",
                    "go",
                    """
log.Printf("[raft] node=%d term=%d appendEntries to=%d prevIdx=%d prevTerm=%d n=%d commit=%d",
    r.id, r.currentTerm, peer, prevIndex, prevTerm, len(entries), r.commitIndex)
""",
                )
                + "\nmake this a slog.Debug with proper key/value attrs, we moved to log/slog"
            ),
        ),
        "go",
        "single",
        "edit",
        "distributed",
        "misleading",
    ),
    case(
        "s3-c-kernighan-popcount-explain",
        "local",
        "Explaining a short, well-known bit trick (clearing the lowest set bit) is a textbook explanation.",
        req(
            u(
                "can someone explain how this counts bits?? found it in our bitmap allocator, no comments\n"
                + code(
                    "c",
                    """
static inline unsigned bits_set(uint64_t v) {
    unsigned c = 0;
    for (; v; c++)
        v &= v - 1;
    return c;
}
""",
                )
            )
        ),
        "c",
        "single",
        "question",
    ),
    case(
        "s3-tsx-extract-props-interface",
        "local",
        "Pulling inline prop types out of a long component into a named interface is a mechanical edit.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/components/InvoiceTable.tsx",
                    "tsx",
                    """
import { useMemo, useState } from "react";
import { formatMoney } from "../lib/money";
import { Invoice } from "../api/types";

export function InvoiceTable({
  invoices,
  currency,
  loading,
  onSelect,
  onRetryPayment,
  pageSize = 25,
  highlightOverdue = true,
}: {
  invoices: Invoice[];
  currency: string;
  loading: boolean;
  onSelect: (id: string) => void;
  onRetryPayment?: (id: string) => Promise<void>;
  pageSize?: number;
  highlightOverdue?: boolean;
}) {
  const [page, setPage] = useState(0);
  const [sortKey, setSortKey] = useState<"dueDate" | "amount">("dueDate");
  const sorted = useMemo(
    () => [...invoices].sort((a, b) => (sortKey === "amount" ? a.amountMinor - b.amountMinor : a.dueDate.localeCompare(b.dueDate))),
    [invoices, sortKey],
  );
  const rows = sorted.slice(page * pageSize, (page + 1) * pageSize);
  if (loading) return <Spinner />;
  return (
    <table className="invoices">
      <thead>
        <tr>
          <th onClick={() => setSortKey("dueDate")}>Due</th>
          <th onClick={() => setSortKey("amount")}>Amount</th>
          <th>Status</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((inv) => (
          <tr key={inv.id} className={highlightOverdue && inv.status === "overdue" ? "overdue" : ""} onClick={() => onSelect(inv.id)}>
            <td>{inv.dueDate}</td>
            <td>{formatMoney(inv.amountMinor, currency)}</td>
            <td>{inv.status}</td>
            <td>{inv.status === "failed" && onRetryPayment && <button onClick={() => onRetryPayment(inv.id)}>Retry</button>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
""",
                )
                + "\n\nmove the props type to an exported `InvoiceTableProps` interface above the component, with a one-line comment per prop"
            ),
        ),
        "typescript",
        "react",
        "single",
        "edit",
    ),
    case(
        "s3-java-builder",
        "local",
        "A static nested builder for a six-field immutable class is standard boilerplate.",
        req(
            u(
                "generate a Builder for this (static nested class, build() checks host and port are set). java 11 so no records\n"
                + code(
                    "java",
                    """
public final class SmtpConfig {
    private final String host;
    private final int port;
    private final String username;
    private final String password;
    private final boolean startTls;
    private final Duration timeout;

    // constructor + getters already exist
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
        "s3-kotlin-when-chain",
        "local",
        "Rewriting an if/else-if chain as a Kotlin when expression is mechanical.",
        req(
            u(
                "kotlin: turn into `when`, return directly\n"
                + code(
                    "kotlin",
                    """
fun statusLabel(code: Int): String {
    var label: String
    if (code in 200..299) {
        label = "ok"
    } else if (code == 304) {
        label = "not modified"
    } else if (code == 401 || code == 403) {
        label = "auth"
    } else if (code in 500..599) {
        label = "server error"
    } else {
        label = "other"
    }
    return label
}
""",
                )
            )
        ),
        "kotlin",
        "single",
        "edit",
    ),
    case(
        "s3-csharp-primary-ctor",
        "local",
        "Converting constructor-injected fields to a C# 12 primary constructor is a mechanical edit.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "Can you convert it to use primary constructor? We are on .NET 8 now.\n"
                + selection(
                    "Services/ReportService.cs",
                    "csharp",
                    """
public class ReportService : IReportService
{
    private readonly IReportRepository _repo;
    private readonly ILogger<ReportService> _logger;
    private readonly TimeProvider _clock;

    public ReportService(IReportRepository repo, ILogger<ReportService> logger, TimeProvider clock)
    {
        _repo = repo;
        _logger = logger;
        _clock = clock;
    }

    public async Task<Report> BuildAsync(int tenantId, CancellationToken ct)
    {
        _logger.LogInformation("Building report for {TenantId}", tenantId);
        var rows = await _repo.GetRowsAsync(tenantId, _clock.GetUtcNow().AddDays(-30), ct);
        return new Report(tenantId, rows);
    }
}
""",
                )
            ),
        ),
        "csharp",
        "single",
        "edit",
    ),
    case(
        "s3-ruby-filter-map",
        "local",
        "Replacing map plus compact with filter_map is a one-idiom Ruby edit.",
        req(
            u(
                "rubocop says Performance/MapCompact. fix pls\n"
                + code(
                    "ruby",
                    """
def billable_emails(accounts)
  accounts.map { |a| a.billing_email if a.active? && !a.trial? }.compact
end
""",
                )
            )
        ),
        "ruby",
        "single",
        "edit",
    ),
    case(
        "s3-php-null-coalescing",
        "local",
        "Rewriting isset ternaries with the null coalescing operator is mechanical.",
        req(
            u(
                "php 8.1, clean these up with ?? and ??=\n"
                + code(
                    "php",
                    """
$page = isset($_GET['page']) ? (int) $_GET['page'] : 1;
$perPage = isset($_GET['per_page']) ? (int) $_GET['per_page'] : 20;
$sort = isset($options['sort']) ? $options['sort'] : 'created_at';
if (!isset($config['cache_ttl'])) {
    $config['cache_ttl'] = 300;
}
""",
                )
            )
        ),
        "php",
        "single",
        "edit",
    ),
    case(
        "s3-sql-subquery-to-cte",
        "local",
        "Moving a nested derived table into a CTE without changing the result is a mechanical rewrite.",
        req(
            u(
                "rewrite with a WITH clause so its readable, same output\n"
                + code(
                    "sql",
                    """
SELECT t.region, t.total, t.total * 100.0 / g.grand AS pct
FROM (
  SELECT c.region, SUM(o.amount) AS total
  FROM orders o JOIN customers c ON c.id = o.customer_id
  WHERE o.created_at >= date_trunc('month', now())
  GROUP BY c.region
) t
CROSS JOIN (
  SELECT SUM(amount) AS grand FROM orders WHERE created_at >= date_trunc('month', now())
) g
ORDER BY pct DESC;
""",
                )
            )
        ),
        "sql",
        "postgres",
        "single",
        "edit",
    ),
    case(
        "s3-bash-trap-explain",
        "local",
        "Explaining an EXIT trap that removes a mktemp directory is a textbook shell explanation.",
        req(
            u(
                "what does the trap line do exactly and why is it before the curl?\n"
                + code(
                    "bash",
                    """
#!/usr/bin/env bash
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "$RELEASE_URL" -o "$tmp/release.tgz"
tar -xzf "$tmp/release.tgz" -C "$tmp"
install -m 0755 "$tmp/bin/tool" /usr/local/bin/tool
""",
                )
            )
        ),
        "shell",
        "single",
        "question",
    ),
    case(
        "s3-gha-matrix-add",
        "local",
        "Extending a GitHub Actions matrix with another OS and Python version is a mechanical YAML edit.",
        req(
            u(
                "add python 3.12 and also run everything on macos-latest too. and exclude 3.9 on mac\n"
                + code(
                    "yaml",
                    """
jobs:
  test:
    runs-on: ${{ matrix.os }}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest]
        python: ["3.9", "3.10", "3.11"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - run: pip install -e .[dev] && pytest -q
""",
                )
            )
        ),
        "yaml",
        "github-actions",
        "single",
        "edit",
    ),
    case(
        "s3-tf-variable-descriptions",
        "local",
        "Adding types and descriptions to Terraform variables is mechanical.",
        req(
            s(project_chat("Terraform 1.7, AWS provider 5.x, modules/vpc")),
            u(
                "tflint complains terraform_documented_variables + terraform_typed_variables. add type and description for each\n"
                + attached(
                    "modules/vpc/variables.tf",
                    "hcl",
                    """
variable "name" {}
variable "cidr_block" {
  default = "10.0.0.0/16"
}
variable "azs" {}
variable "private_subnets" {
  default = []
}
variable "enable_nat_gateway" {
  default = true
}
variable "tags" {
  default = {}
}
""",
                )
            ),
        ),
        "terraform",
        "single",
        "edit",
    ),
    case(
        "s3-swift-enum-caseiterable",
        "local",
        "Adding CaseIterable and a computed display name to a Swift enum is a mechanical edit.",
        req(
            u(
                "make this CaseIterable and add a `displayName` computed property (Title Case), i need it for a Picker\n"
                + code(
                    "swift",
                    """
enum SortOrder: String, Codable {
    case newest
    case oldest
    case priceLowToHigh = "price_asc"
    case priceHighToLow = "price_desc"
}
""",
                )
            )
        ),
        "swift",
        "single",
        "edit",
    ),
    case(
        "s3-go-select-default-explain",
        "local",
        "Explaining a non-blocking channel send with select/default is a textbook Go explanation.",
        req(
            u(
                "what happens here when the channel is full? does it block the handler\n"
                + code(
                    "go",
                    """
func (m *Metrics) Record(ev Event) {
	select {
	case m.events <- ev:
	default:
		m.dropped.Add(1)
	}
}
""",
                )
            )
        ),
        "go",
        "single",
        "question",
        "concurrency",
    ),
    case(
        "s3-rust-impl-display",
        "local",
        "Implementing Display for a small enum is boilerplate.",
        req(
            u(
                "impl fmt::Display for this so i can use it in format!, lowercase names, and Custom should print its inner string\n"
                + code(
                    "rust",
                    """
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
    Custom(String),
}
""",
                )
            )
        ),
        "rust",
        "single",
        "edit",
    ),
    case(
        "s3-py-redis-lock-typos",
        "local",
        "Fixing spelling in comments and a log message leaves the lock logic untouched, so it is mechanical.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "fix the typos in the comments + log msg only. no logic changes, the lock design is being reviewed in a separate PR\n"
                + selection(
                    "workers/locks.py",
                    "python",
                    """
def acquire(redis, name: str, ttl_ms: int) -> str | None:
    # Aquire a lock by seting the key only if it dosent exist yet.
    # The token is returnd so only the owner can releese it.
    token = secrets.token_hex(16)
    if redis.set(f"lock:{name}", token, nx=True, px=ttl_ms):
        return token
    log.debug("lock %s allready held, backing of", name)
    return None
""",
                )
            ),
        ),
        "python",
        "redis",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-cpp-move-const",
        "local",
        "That std::move on a const object falls back to a copy is a well-known C++ fact with a one-line fix.",
        req(
            u(
                "profiler says we still copy the vector here even though i std::move it?? c++17\n"
                + code(
                    "cpp",
                    """
void Batch::flush(const std::vector<Row>& pending) {
    const auto rows = pending;          // snapshot
    writer_.submit(std::move(rows));    // submit(std::vector<Row>)
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "question",
        "performance",
    ),
    case(
        "s3-go-readonly-map-safe",
        "local",
        "A package-level map written only in init and read afterwards is plainly safe for concurrent reads; confirming it costs nothing.",
        req(
            u(
                "is `Lookup` safe to call from many goroutines at once? no mutex and im nervous\n"
                + code(
                    "go",
                    """
var mimeByExt map[string]string

func init() {
	mimeByExt = map[string]string{
		".json": "application/json",
		".csv":  "text/csv",
		".png":  "image/png",
	}
}

func Lookup(ext string) (string, bool) {
	m, ok := mimeByExt[strings.ToLower(ext)]
	return m, ok
}
""",
                )
            )
        ),
        "go",
        "single",
        "question",
        "concurrency",
    ),
    case(
        "s3-log-first-payment-error",
        "local",
        "Finding the first ERROR line of one service in a medium log paste is mechanical reading.",
        req(
            u(
                "which is the first ERROR line from payments? just quote it\n"
                + code(
                    "text",
                    log_lines(
                        90,
                        seed=311,
                        needle=[
                            "ERROR [payments] [worker-3] charge failed: upstream 503 from psp-gateway (attempt 1/3)",
                            "WARN  [payments] [worker-3] retrying charge in 400ms",
                            "ERROR [payments] [worker-5] charge failed: upstream 503 from psp-gateway (attempt 2/3)",
                        ],
                        at=0.55,
                        service="checkout",
                    ),
                )
            )
        ),
        "text",
        "long",
        "single",
        "question",
    ),
    case(
        "s3-java-unused-imports-cipher",
        "local",
        "Removing unused imports and sorting the rest is mechanical, even in a file that uses JCA crypto.",
        req(
            u(
                "remove unused imports and sort them (java.* first then javax then others)\n"
                + code(
                    "java",
                    """
import javax.crypto.spec.GCMParameterSpec;
import java.util.List;
import java.security.SecureRandom;
import org.slf4j.Logger;
import javax.crypto.Cipher;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import org.slf4j.LoggerFactory;

public final class TokenSealer {
    private static final Logger log = LoggerFactory.getLogger(TokenSealer.class);
    private final SecureRandom rng = new SecureRandom();
    private final SecretKeySpec key;

    public TokenSealer(byte[] rawKey) { this.key = new SecretKeySpec(rawKey, "AES"); }

    public byte[] seal(byte[] plain) throws Exception {
        byte[] iv = new byte[12];
        rng.nextBytes(iv);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
        byte[] ct = c.doFinal(plain);
        return ByteBuffer.allocate(iv.length + ct.length).put(iv).put(ct).array();
    }
}
""",
                )
            )
        ),
        "java",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-sql-lag-explain",
        "local",
        "Explaining what LAG over a partition computes in a short query is a textbook SQL explanation.",
        req(
            u(
                "what does the lag(...) over (...) part return for the first row of each user? trying to understand a report query\n"
                + code(
                    "sql",
                    """
SELECT user_id,
       logged_in_at,
       logged_in_at - LAG(logged_in_at) OVER (PARTITION BY user_id ORDER BY logged_in_at) AS gap
FROM logins;
""",
                )
            )
        ),
        "sql",
        "single",
        "question",
    ),
    case(
        "s3-c-tls-alert-defines-enum",
        "local",
        "Turning a block of #defines into a typed enum is mechanical, whatever protocol the constants belong to.",
        req(
            u(
                "convert to a typedef enum tls_alert with the same values, keep the comments\n"
                + code(
                    "c",
                    """
#define TLS_ALERT_CLOSE_NOTIFY            0   /* sender will not send more */
#define TLS_ALERT_UNEXPECTED_MESSAGE     10
#define TLS_ALERT_BAD_RECORD_MAC         20   /* fatal */
#define TLS_ALERT_RECORD_OVERFLOW        22
#define TLS_ALERT_HANDSHAKE_FAILURE      40
#define TLS_ALERT_BAD_CERTIFICATE        42
#define TLS_ALERT_DECODE_ERROR           50
#define TLS_ALERT_PROTOCOL_VERSION       70
#define TLS_ALERT_INTERNAL_ERROR         80
""",
                )
            )
        ),
        "c",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-k8s-envfrom-configmap",
        "local",
        "Replacing a list of configMapKeyRef env entries with one envFrom is a mechanical manifest edit.",
        req(
            u(
                "can i collapse all these into envFrom? every key in the configmap should become an env var\n"
                + code(
                    "yaml",
                    """
containers:
  - name: api
    image: registry.example.com/api:1.14.2
    env:
      - name: LOG_LEVEL
        valueFrom: { configMapKeyRef: { name: api-config, key: LOG_LEVEL } }
      - name: FEATURE_FLAGS_URL
        valueFrom: { configMapKeyRef: { name: api-config, key: FEATURE_FLAGS_URL } }
      - name: CACHE_TTL
        valueFrom: { configMapKeyRef: { name: api-config, key: CACHE_TTL } }
      - name: REGION
        valueFrom: { configMapKeyRef: { name: api-config, key: REGION } }
""",
                )
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "edit",
    ),
    case(
        "s3-dockerfile-nonroot-critical",
        "local",
        "Adding a non-root user and USER line to a small Dockerfile is standard boilerplate despite the alarm.",
        req(
            u(
                "SECURITY SCAN FAILED: container runs as root (CIS 4.1). need fix asap before release, here is the dockerfile\n"
                + code(
                    "dockerfile",
                    """
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
EXPOSE 8000
CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:create_app()"]
""",
                )
            )
        ),
        "docker",
        "single",
        "edit",
        "security",
        "misleading",
    ),
    case(
        "s3-py-pytest-parse-duration",
        "local",
        "Parametrised tests for a small pure parsing function are standard test boilerplate.",
        req(
            u(
                "write pytest tests for this, parametrize, include the error cases\n"
                + code(
                    "python",
                    """
_UNITS = {"h": 3600, "m": 60, "s": 1}
_RE = re.compile(r"(\\d+)([hms])")


def parse_duration(text: str) -> int:
    \"\"\"'1h30m' -> 5400. Raises ValueError on empty or malformed input.\"\"\"
    text = text.strip()
    if not text:
        raise ValueError("empty duration")
    pos, total = 0, 0
    for m in _RE.finditer(text):
        if m.start() != pos:
            raise ValueError(f"bad duration: {text!r}")
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"bad duration: {text!r}")
    return total
""",
                )
            )
        ),
        "python",
        "single",
        "test",
    ),
    case(
        "s3-go-error-strings-consensus",
        "local",
        "Lowercasing error strings and dropping trailing punctuation for staticcheck is mechanical, even in a consensus package.",
        req(
            u(
                "staticcheck ST1005 on all of these. fix them\n"
                + code(
                    "go",
                    """
var (
	ErrNotLeader      = errors.New("Not the leader.")
	ErrStaleTerm      = errors.New("Stale term, request rejected.")
	ErrLogCompacted   = errors.New("Requested index was Compacted")
	ErrProposalDropped = errors.New("Proposal dropped!")
)

func (n *Node) checkTerm(t uint64) error {
	if t < n.term {
		return fmt.Errorf("Term %d is older than current term %d.", t, n.term)
	}
	return nil
}
""",
                )
            )
        ),
        "go",
        "single",
        "edit",
        "distributed",
        "misleading",
    ),
    case(
        "s3-js-uuid-v4-regex",
        "local",
        "A regex for UUID v4 is a well-known one-liner.",
        req(s(COPILOT_LIKE), u("regex to validate uuid v4 in js? case insensitive. only v4 not any uuid")),
        "javascript",
        "single",
        "question",
        "regex",
    ),
    case(
        "s3-rust-clippy-warnings",
        "local",
        "Applying the fixes clippy itself suggests is mechanical.",
        req(
            u(
                "fix these clippy warnings\n"
                + code(
                    "text",
                    """
warning: this expression creates a reference which is immediately dereferenced by the compiler
  --> src/wal.rs:88:31
   |
88 |         let crc = checksum(&(&frame.payload));
   |                            ^^^^^^^^^^^^^^^^^ help: change this to: `&frame.payload`

warning: length comparison to zero
   --> src/wal.rs:104:12
    |
104 |         if segments.len() == 0 {
    |            ^^^^^^^^^^^^^^^^^^^ help: using `is_empty` is clearer and more explicit: `segments.is_empty()`

warning: redundant clone
   --> src/wal.rs:131:42
    |
131 |         self.index.insert(seg.id, seg.path.clone());
    |                                          ^^^^^^^^ help: remove this
""",
                )
                + "\n"
                + code(
                    "rust",
                    """
    // src/wal.rs:86-90
        for frame in frames {
            let crc = checksum(&(&frame.payload));
            if crc != frame.crc { return Err(WalError::Corrupt(frame.offset)); }
        }
    // 102-106
        if segments.len() == 0 {
            return Ok(Recovered::empty());
        }
    // 129-132
    for seg in segments {
        self.index.insert(seg.id, seg.path.clone());
    }
""",
                )
            )
        ),
        "rust",
        "single",
        "edit",
    ),
    case(
        "s3-awk-sum-by-column",
        "local",
        "An awk one-liner summing a column grouped by another is a well-known idiom.",
        req(
            u(
                "csv with header: date,team,cost_usd. want total cost per team, sorted desc. awk pls no python\n"
                "sample:\n2024-10-01,platform,12.50\n2024-10-01,data,4.10\n2024-10-02,platform,9.00"
            )
        ),
        "shell",
        "csv",
        "single",
        "question",
    ),
    case(
        "s3-ts-jwt-rename-pinned",
        "local",
        "Renaming identifiers in a JWT verifier whose algorithm, issuer and audience are already pinned is a mechanical edit.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "rename `tok` -> `accessToken` and `k` -> `publicKey` everywhere in here, nothing else\n"
                + selection(
                    "src/auth/verify.ts",
                    "ts",
                    """
import { jwtVerify, type JWTPayload, type KeyLike } from "jose";

export async function verifyAccess(tok: string, k: KeyLike): Promise<JWTPayload> {
  const { payload } = await jwtVerify(tok, k, {
    algorithms: ["ES256"],
    issuer: "https://auth.example.com/",
    audience: "api://orders",
    clockTolerance: 30,
  });
  if (typeof payload.sub !== "string") throw new Error("missing sub");
  return payload;
}
""",
                )
            ),
        ),
        "typescript",
        "single",
        "edit",
        "misleading",
    ),
    case(
        "s3-k8s-hpa-unknown-targets",
        "local",
        "The describe output names the cause (no CPU request on the log-shipper sidecar); the fix is one resources block, reading rather than diagnosis.",
        req(
            u(
                "hpa never scales, TARGETS shows <unknown>/70%. metrics-server is installed (kubectl top pods works)\n"
                + code(
                    "text",
                    """
$ kubectl describe hpa api
Name:                                                  api
Reference:                                             Deployment/api
Metrics:                                               ( current / target )
  resource cpu on pods  (as a percentage of request):  <unknown> / 70%
Min replicas:                                          2
Max replicas:                                          12
Conditions:
  Type           Status  Reason                   Message
  ----           ------  ------                   -------
  AbleToScale    True    SucceededGetScale        the HPA controller was able to get the target's current scale
  ScalingActive  False   FailedGetResourceMetric  the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container "log-shipper" of Pod "api-7d9c8b6f5-x2kq4"
""",
                )
                + "\n"
                + code(
                    "yaml",
                    """
      containers:
        - name: api
          image: registry.example.com/api:2.3.0
          resources:
            requests: { cpu: 250m, memory: 256Mi }
            limits: { memory: 512Mi }
        - name: log-shipper
          image: fluent/fluent-bit:3.0
""",
                )
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "debug",
        "ops",
        "misleading",
    ),
    case(
        "s3-go-loopvar-raft-peers",
        "local",
        "Goroutines capturing the range variable before Go 1.22 is a textbook one-step bug, even inside Raft replication code.",
        req(
            u(
                "weird, leader only ever replicates to the LAST peer in the list, the others time out and trigger elections. go 1.21\n"
                + code(
                    "go",
                    """
func (r *Raft) broadcastAppend() {
	for _, p := range r.peers {
		if p.id == r.id {
			continue
		}
		go func() {
			r.sendAppendEntries(p)
		}()
	}
}
""",
                )
            )
        ),
        "go",
        "single",
        "debug",
        "distributed",
        "misleading",
    ),
    case(
        "s3-py-mutable-default-tags",
        "local",
        "A mutable default argument shared across calls is a textbook one-step Python bug.",
        req(
            u(
                "why do tags from earlier calls show up in later items?? each item should only have its own\n"
                + code(
                    "python",
                    """
def make_item(name: str, tags: list[str] = []) -> dict:
    if name.endswith("-beta"):
        tags.append("beta")
    return {"name": name, "tags": tags}


print(make_item("search-beta"))
print(make_item("export"))   # {'name': 'export', 'tags': ['beta']}  ???
""",
                )
            )
        ),
        "python",
        "single",
        "debug",
    ),
]

SONNET = [
    case(
        "s3-py-pytest-asyncio-other-loop",
        "sonnet",
        "A session-scoped async fixture used from function-scoped event loops: a known pytest-asyncio pitfall whose fix spans fixture and loop scope config.",
        req(
            u(
                "every test that uses the pool fails with this, the ones without db pass. app works fine in prod\n"
                + code(
                    "text",
                    """
tests/test_orders.py::test_list_orders FAILED
E   RuntimeError: Task <Task pending name='Task-7' coro=<test_list_orders() running at tests/test_orders.py:21>> got Future <Future pending cb=[Protocol._on_waiter_completed()]> attached to a different loop
  .venv/lib/python3.12/site-packages/asyncpg/pool.py:894: in fetch
""",
                )
                + "\n"
                + code(
                    "python",
                    """
# tests/conftest.py
@pytest_asyncio.fixture(scope="session")
async def pool():
    p = await asyncpg.create_pool(os.environ["TEST_DATABASE_URL"])
    yield p
    await p.close()

# tests/test_orders.py
@pytest.mark.asyncio
async def test_list_orders(pool):
    rows = await pool.fetch("select id from orders")
    ...
""",
                )
                + "\npytest-asyncio 0.24, asyncio_mode=strict"
            )
        ),
        "python",
        "postgres",
        "single",
        "debug",
        "test",
    ),
    case(
        "s3-node-pipe-emfile",
        "sonnet",
        "File descriptors leaked by .pipe() when clients abort downloads: a well-known Node pitfall; the fix (pipeline, error handling, destroying the source) has parts a small model drops.",
        req(
            s(CONTINUE_CHAT),
            u(
                "after ~1 day our download server starts throwing EMFILE: too many open files. `lsof -p` shows thousands of handles on files under /data/exports. restart fixes it. most users cancel downloads midway on mobile fwiw\n"
                + attached(
                    "src/routes/download.js",
                    "js",
                    """
router.get("/exports/:id", async (req, res) => {
  const exp = await Export.findById(req.params.id);
  if (!exp || exp.ownerId !== req.user.id) return res.sendStatus(404);
  res.setHeader("Content-Type", "application/zip");
  res.setHeader("Content-Disposition", `attachment; filename="${exp.id}.zip"`);
  fs.createReadStream(exp.path).pipe(res);
});
""",
                )
            ),
        ),
        "javascript",
        "node",
        "single",
        "debug",
    ),
    case(
        "s3-go-rows-not-closed-pool",
        "sonnet",
        "Pool exhaustion from rows left open on an early return, read from db.Stats: multi-step debugging with the evidence pasted and a standard fix.",
        req(
            u(
                "PROD: after some hours every request hangs then 'context deadline exceeded'. we dumped db.Stats() from the debug endpoint:\n"
                + code(
                    "json",
                    '{"MaxOpenConnections":20,"OpenConnections":20,"InUse":20,"Idle":0,"WaitCount":48213,"WaitDuration":"9h12m3.4s","MaxIdleClosed":0,"MaxLifetimeClosed":112}',
                )
                + "\nthe only query that changed in the last deploy:\n"
                + code(
                    "go",
                    """
func (s *Store) FirstActiveSub(ctx context.Context, userID int64) (*Sub, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, plan, status FROM subscriptions WHERE user_id = $1 ORDER BY created_at`, userID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var sub Sub
		if err := rows.Scan(&sub.ID, &sub.Plan, &sub.Status); err != nil {
			return nil, err
		}
		if sub.Status == "active" {
			return &sub, nil
		}
	}
	rows.Close()
	return nil, rows.Err()
}
""",
                )
            )
        ),
        "go",
        "postgres",
        "single",
        "debug",
    ),
    case(
        "s3-rust-mutexguard-across-await",
        "sonnet",
        "A std MutexGuard held across an await makes the future !Send: a known error whose fix (scope the guard, or an async mutex) needs the code restructured.",
        req(
            u(
                "no idea what this wants from me. it compiled before i added the notify call\n"
                + code(
                    "text",
                    """
error: future cannot be sent between threads safely
   --> src/server.rs:41:18
    |
41  |     tokio::spawn(handle(state.clone(), req));
    |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^ future returned by `handle` is not `Send`
    |
    = help: within `impl Future<Output = ()>`, the trait `Send` is not implemented for `std::sync::MutexGuard<'_, HashMap<u64, Session>>`
note: future is not `Send` as this value is used across an await
   --> src/server.rs:58:36
    |
55  |     let mut sessions = state.sessions.lock().unwrap();
    |         ------------ has type `std::sync::MutexGuard<'_, HashMap<u64, Session>>` which is not `Send`
...
58  |         state.notifier.notify(id).await;
    |                                   ^^^^^ await occurs here, with `mut sessions` maybe used later
""",
                )
                + "\n"
                + code(
                    "rust",
                    """
async fn handle(state: Arc<AppState>, req: Request) {
    let mut sessions = state.sessions.lock().unwrap();
    if let Some(s) = sessions.get_mut(&req.session_id) {
        s.last_seen = Instant::now();
        state.notifier.notify(req.session_id).await;
        s.touches += 1;
    }
}
""",
                )
            )
        ),
        "rust",
        "tokio",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s3-java-optimistic-lock-patch",
        "sonnet",
        "Concurrent PATCHes hitting a JPA @Version: a standard fix (If-Match/ETag or a bounded retry that re-reads) across controller and service.",
        req(
            s(project_chat("Spring Boot 3.2, Spring Data JPA, Postgres")),
            u(
                "users editing the same ticket at the same time get a 500. what's the right way to handle this, retry? return 409?\n"
                + code(
                    "text",
                    """
org.springframework.orm.ObjectOptimisticLockingFailureException: Row was updated or deleted by another transaction (or unsaved-value mapping was incorrect) : [com.acme.desk.Ticket#8812]
	at org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:325)
	at com.acme.desk.TicketService.patch(TicketService.java:64)
	at com.acme.desk.TicketController.patch(TicketController.java:41)
Caused by: org.hibernate.StaleObjectStateException: Row was updated or deleted by another transaction
""",
                )
                + "\n"
                + code(
                    "java",
                    """
@Transactional
public Ticket patch(long id, TicketPatch p) {
    Ticket t = repo.findById(id).orElseThrow(NotFound::new);
    p.title().ifPresent(t::setTitle);
    p.assignee().ifPresent(t::setAssignee);
    p.status().ifPresent(t::setStatus);
    return repo.save(t);
}
// Ticket has @Version private long version;
""",
                )
            ),
        ),
        "java",
        "spring",
        "single",
        "debug",
        "design",
    ),
    case(
        "s3-kotlin-main-dispatcher-tests",
        "sonnet",
        "ViewModel tests need Dispatchers.setMain with a test dispatcher and runTest sharing its scheduler: a test fixture a small model gets subtly wrong.",
        req(
            u(
                "unit test for my viewmodel crashes. how do i test this properly, i also want to check the loading state shows before the result\n"
                + code(
                    "text",
                    'Exception in thread "Test worker" java.lang.IllegalStateException: Module with the Main dispatcher had failed to initialize. For tests Dispatchers.setMain from kotlinx-coroutines-test module can be used',
                )
                + "\n"
                + code(
                    "kotlin",
                    """
class ProfileViewModel(private val repo: ProfileRepo) : ViewModel() {
    private val _state = MutableStateFlow<UiState>(UiState.Idle)
    val state: StateFlow<UiState> = _state

    fun load(id: String) {
        viewModelScope.launch {
            _state.value = UiState.Loading
            _state.value = runCatching { repo.fetch(id) }
                .fold({ UiState.Loaded(it) }, { UiState.Error(it.message ?: "error") })
        }
    }
}
""",
                )
            )
        ),
        "kotlin",
        "android",
        "single",
        "test",
    ),
    case(
        "s3-csharp-httpclient-per-request",
        "sonnet",
        "Socket exhaustion from an HttpClient per request: well known, but the acceptable fix (IHttpClientFactory or a pooled handler with a connection lifetime for DNS) has parts.",
        req(
            u(
                "under load test our service starts failing with this, worked fine with low traffic:\n"
                + code(
                    "text",
                    """
System.Net.Http.HttpRequestException: Only one usage of each socket address (protocol/network address/port) is normally permitted. (rates.internal:443)
 ---> System.Net.Sockets.SocketException (10048): Only one usage of each socket address (protocol/network address/port) is normally permitted.
   at System.Net.Http.ConnectHelper.ConnectAsync(...)
   at Acme.Pricing.RatesClient.GetRateAsync(String from, String to) in RatesClient.cs:line 23
""",
                )
                + "\n"
                + code(
                    "csharp",
                    """
public class RatesClient
{
    public async Task<decimal> GetRateAsync(string from, string to)
    {
        using var http = new HttpClient { BaseAddress = new Uri("https://rates.internal/") };
        var dto = await http.GetFromJsonAsync<RateDto>($"v1/rates?from={from}&to={to}");
        return dto!.Rate;
    }
}
""",
                )
                + "\nits registered as services.AddScoped<RatesClient>() in an aspnet core 8 app"
            )
        ),
        "csharp",
        "dotnet",
        "single",
        "debug",
    ),
    case(
        "s3-rails-job-before-commit",
        "sonnet",
        "A job enqueued inside the transaction runs before commit and finds no record: a known Rails pitfall whose fix (after_commit, or enqueue after the transaction) touches model and call site.",
        req(
            u(
                "sidekiq randomly fails with RecordNotFound right after signup, then succeeds on retry. how is the record not there if we just created it??\n"
                + code(
                    "text",
                    """
ActiveRecord::RecordNotFound: Couldn't find User with 'id'=918273
  app/jobs/welcome_email_job.rb:5:in `perform'
""",
                )
                + "\n"
                + code(
                    "ruby",
                    """
# app/services/signup.rb
def call
  ActiveRecord::Base.transaction do
    user = User.create!(params)
    Workspace.create!(owner: user, name: "#{user.first_name}'s workspace")
    WelcomeEmailJob.perform_later(user.id)
    Billing::Trial.start!(user)   # calls stripe, ~300ms
  end
end
""",
                )
            )
        ),
        "ruby",
        "rails",
        "single",
        "debug",
    ),
    case(
        "s3-laravel-chunk-skips-rows",
        "sonnet",
        "chunk() over a where clause on the column being updated skips pages: a documented Laravel pitfall; chunkById (and the memory question) is the standard fix.",
        req(
            u(
                "backfill command only migrated ~half the rows?? no errors. run it again and it does half of the rest. before i used ->get() but that died with 'Allowed memory size of 134217728 bytes exhausted'\n"
                + code(
                    "php",
                    """
public function handle(): int
{
    Invoice::where('currency_migrated', false)
        ->orderBy('id')
        ->chunk(500, function ($invoices) {
            foreach ($invoices as $invoice) {
                $invoice->amount_minor = (int) round($invoice->amount * 100);
                $invoice->currency_migrated = true;
                $invoice->save();
            }
        });
    return self::SUCCESS;
}
""",
                )
            )
        ),
        "php",
        "laravel",
        "single",
        "debug",
    ),
    case(
        "s3-alembic-index-concurrently",
        "sonnet",
        "Building an index without blocking writes needs CONCURRENTLY outside Alembic's transaction (autocommit_block) and handling an invalid index on failure: a known migration with parts.",
        req(
            u(
                "our last deploy ran this alembic migration and the orders table was locked for 6 minutes, checkout down. how do i write index migrations so this never happens again\n"
                + code(
                    "python",
                    """
def upgrade():
    op.create_index("ix_orders_customer_created", "orders", ["customer_id", "created_at"])


def downgrade():
    op.drop_index("ix_orders_customer_created", table_name="orders")
""",
                )
                + "\norders is ~180M rows, postgres 15, alembic 1.13"
            )
        ),
        "python",
        "sql",
        "postgres",
        "single",
        "ops",
    ),
    case(
        "s3-pg-correlated-columns-estimate",
        "sonnet",
        "A row estimate off by four orders of magnitude on correlated columns, read from EXPLAIN ANALYZE: extended statistics are the standard fix once the plan is read.",
        req(
            u(
                "why is postgres picking a nested loop here, it's 40s. indexes exist on both columns\n"
                + code(
                    "text",
                    """
Nested Loop  (cost=1.13..16902.40 rows=41 width=64) (actual time=0.091..40122.771 rows=231877 loops=1)
  ->  Index Scan using ix_addresses_city on addresses a  (cost=0.56..310.12 rows=41 width=16) (actual time=0.040..211.404 rows=231877 loops=1)
        Index Cond: (city = 'Zürich'::text)
        Filter: (country = 'CH'::text)
  ->  Index Scan using orders_address_id_idx on orders o  (cost=0.57..404.01 rows=1 width=48) (actual time=0.160..0.170 rows=1 loops=231877)
        Index Cond: (address_id = a.id)
Planning Time: 0.412 ms
Execution Time: 40188.019 ms
""",
                )
                + "\nquery is `select o.* from orders o join addresses a on a.id = o.address_id where a.city = 'Zürich' and a.country = 'CH'`. ANALYZE ran last night"
            )
        ),
        "sql",
        "postgres",
        "single",
        "debug",
        "performance",
    ),
    case(
        "s3-ts-pnpm-workspace-types",
        "sonnet",
        "Types not resolving across a pnpm workspace: node10 resolution ignores the exports map and the package has no types or main field; debugging across both package.json and tsconfig with the config pasted.",
        req(
            u(
                "moved to pnpm workspaces and now tsc cant find our shared pkg. runtime works (vite). what am i missing\n"
                + code(
                    "text",
                    "apps/web/src/api.ts:1:29 - error TS2307: Cannot find module '@acme/shared' or its corresponding type declarations.",
                )
                + "\n"
                + code(
                    "json",
                    """
// packages/shared/package.json
{
  "name": "@acme/shared",
  "version": "0.0.0",
  "type": "module",
  "exports": { ".": { "import": "./dist/index.js" } },
  "scripts": { "build": "tsc -p tsconfig.build.json" }
}
// apps/web/tsconfig.json
{
  "compilerOptions": { "module": "ESNext", "moduleResolution": "node", "strict": true, "noEmit": true },
  "include": ["src"]
}
// apps/web/package.json dependencies
{ "@acme/shared": "workspace:*" }
""",
                )
                + "\npackages/shared/dist has index.js and index.d.ts after build"
            )
        ),
        "typescript",
        "single",
        "debug",
    ),
    case(
        "s3-go-jwt-v3-to-v5",
        "sonnet",
        "A known library migration (golang-jwt v3 to v5: RegisteredClaims, parser options, errors.Is) on a verifier that already pins its method.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "dependabot wants jwt v3 -> v5 (v3 is deprecated + CVE). please port this, keep the same behaviour\n"
                + selection(
                    "internal/auth/token.go",
                    "go",
                    """
import "github.com/dgrijalva/jwt-go"

type Claims struct {
	TenantID string `json:"tid"`
	jwt.StandardClaims
}

func (v *Verifier) Parse(raw string) (*Claims, error) {
	var c Claims
	tok, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (interface{}, error) {
		if _, ok := t.Method.(*jwt.SigningMethodRSA); !ok || t.Method.Alg() != "RS256" {
			return nil, fmt.Errorf("unexpected alg %v", t.Header["alg"])
		}
		return v.pub, nil
	})
	if err != nil {
		if ve, ok := err.(*jwt.ValidationError); ok && ve.Errors&jwt.ValidationErrorExpired != 0 {
			return nil, ErrExpired
		}
		return nil, err
	}
	if !tok.Valid || !c.VerifyAudience("orders-api", true) || !c.VerifyIssuer("https://auth.example.com", true) {
		return nil, ErrInvalid
	}
	return &c, nil
}
""",
                )
            ),
        ),
        "go",
        "single",
        "edit",
        "migration",
    ),
    case(
        "s3-django-stock-oversell",
        "sonnet",
        "Check-then-act on one stock counter: the standard database fixes (select_for_update inside atomic, or a conditional F() update) once the error is explained.",
        req(
            u(
                "we oversold a limited drop yesterday (stock went to -14). i tried adding select_for_update and now i get this:\n"
                + code(
                    "text",
                    "django.db.transaction.TransactionManagementError: select_for_update cannot be used outside of a transaction.",
                )
                + "\n"
                + code(
                    "python",
                    """
def reserve(request, product_id):
    product = Product.objects.select_for_update().get(pk=product_id)
    qty = int(request.POST["qty"])
    if product.stock < qty:
        return JsonResponse({"error": "sold out"}, status=409)
    product.stock -= qty
    product.save()
    Reservation.objects.create(product=product, user=request.user, qty=qty)
    return JsonResponse({"ok": True})
""",
                )
                + "\nATOMIC_REQUESTS is off"
            )
        ),
        "python",
        "django",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s3-gha-docker-layer-cache",
        "sonnet",
        "Docker layer caching on GitHub Actions needs buildx with the gha cache backend and a Dockerfile ordered for it: a few parts, all well documented.",
        req(
            u(
                "every CI run rebuilds the whole image from scratch (~11 min, npm ci every time). how do i get layer caching on github actions?\n"
                + code(
                    "yaml",
                    """
      - uses: actions/checkout@v4
      - run: docker build -t ghcr.io/acme/web:${{ github.sha }} .
      - run: echo "${{ secrets.GITHUB_TOKEN }}" | docker login ghcr.io -u ${{ github.actor }} --password-stdin
      - run: docker push ghcr.io/acme/web:${{ github.sha }}
""",
                )
                + "\n"
                + code(
                    "dockerfile",
                    """
FROM node:20-alpine AS build
WORKDIR /app
COPY . .
RUN npm ci && npm run build
FROM nginx:1.27-alpine
COPY --from=build /app/dist /usr/share/nginx/html
""",
                )
            )
        ),
        "github-actions",
        "docker",
        "yaml",
        "single",
        "ops",
    ),
    case(
        "s3-tf-import-handmade-resources",
        "sonnet",
        "Bringing hand-made resources under Terraform with import blocks and reconciling the plan so nothing is replaced: a known workflow with several steps.",
        req(
            u(
                "someone created our prod SQS queues + DLQ by hand in the console. i want them in terraform without recreating them (they have messages in them!!). tf 1.7. how?\n"
                + code(
                    "hcl",
                    """
resource "aws_sqs_queue" "orders_dlq" {
  name = "orders-dlq"
}

resource "aws_sqs_queue" "orders" {
  name                       = "orders"
  visibility_timeout_seconds = 60
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn
    maxReceiveCount     = 5
  })
}
""",
                )
                + "\nthe plan must show no replacements, i've been burned by that before"
            )
        ),
        "terraform",
        "aws",
        "single",
        "ops",
        "migration",
    ),
    case(
        "s3-swift-combine-retain-cycle",
        "sonnet",
        "A view model never deinitialised: strong self captured in stored sinks and a timer publisher, found from the memory graph; a known fix with more than one site.",
        req(
            u(
                "memory graph shows like 15 instances of ChatViewModel after navigating back and forth, deinit never prints. what's holding it\n"
                + code(
                    "swift",
                    """
final class ChatViewModel: ObservableObject {
    @Published var messages: [Message] = []
    @Published var typing = false
    private var bag = Set<AnyCancellable>()

    init(service: ChatService) {
        service.messages
            .receive(on: DispatchQueue.main)
            .sink { msgs in self.messages = msgs }
            .store(in: &bag)

        Timer.publish(every: 5, on: .main, in: .common)
            .autoconnect()
            .sink { _ in self.refreshTyping(service) }
            .store(in: &bag)
    }

    deinit { print("ChatViewModel deinit") }

    private func refreshTyping(_ service: ChatService) {
        service.typingStatus { [self] isTyping in typing = isTyping }
    }
}
""",
                )
            )
        ),
        "swift",
        "single",
        "debug",
    ),
    case(
        "s3-cpp-asan-lambda-capture",
        "sonnet",
        "An ASan stack-use-after-return from a by-reference lambda capture outliving its frame in a thread pool: debugging with the report pasted and a standard fix.",
        req(
            u(
                "memory corruption??? only in release, asan build (ASAN_OPTIONS=detect_stack_use_after_return=1) gives this. the pool is battle tested so im confused\n"
                + code(
                    "text",
                    """
==48211==ERROR: AddressSanitizer: stack-use-after-return on address 0x7ffd3b2a1c40 at pc 0x55d1a3 bp 0x7f2a...
READ of size 8 at 0x7ffd3b2a1c40 thread T3
    #0 0x55d1a2 in Indexer::scheduleBatch(std::vector<Doc> const&)::$_0::operator()() const src/indexer.cpp:77
    #1 0x55c9f0 in std::function<void ()>::operator()() const
    #2 0x55b812 in ThreadPool::workerLoop() src/thread_pool.cpp:48
Address 0x7ffd3b2a1c40 is located in stack of thread T0 at offset 64 in frame
    #0 0x55d0e1 in Indexer::scheduleBatch(std::vector<Doc> const&) src/indexer.cpp:70
""",
                )
                + "\n"
                + code(
                    "cpp",
                    """
void Indexer::scheduleBatch(const std::vector<Doc>& docs) {   // line 70
    auto batchId = nextBatchId_++;
    size_t count = docs.size();
    for (size_t i = 0; i < count; i += kChunk) {
        size_t end = std::min(i + kChunk, count);
        pool_.submit([&, i, end] {
            for (size_t j = i; j < end; ++j)
                index_.add(batchId, docs[j]);        // line 77
            stats_.chunkDone(batchId);
        });
    }
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s3-java-testcontainers-async-rollback",
        "sonnet",
        "@Transactional test rollback does not cover work done on an @Async thread: a subtle test fixture that needs explicit cleanup or awaiting, with the failure pasted.",
        req(
            u(
                "our integration tests leak data into each other, only the ones that touch notifications. each test class is @Transactional so everything should roll back?\n"
                + code(
                    "text",
                    """
NotificationIT > sendsOneDigestPerUser() FAILED
    org.opentest4j.AssertionFailedError: expected: <1> but was: <3>
        at NotificationIT.sendsOneDigestPerUser(NotificationIT.java:52)
""",
                )
                + "\n"
                + code(
                    "java",
                    """
@SpringBootTest
@Testcontainers
@Transactional
class NotificationIT {
    @Container @ServiceConnection
    static PostgreSQLContainer<?> pg = new PostgreSQLContainer<>("postgres:16");

    @Autowired DigestService digests;   // calls notifier.sendAsync(...) which is @Async and saves a Notification row
    @Autowired NotificationRepository repo;

    @Test
    void sendsOneDigestPerUser() throws Exception {
        var u = users.save(new User("a@example.com"));
        digests.runDaily();
        Thread.sleep(500);
        assertEquals(1, repo.countByUserId(u.getId()));
    }
}
""",
                )
            )
        ),
        "java",
        "spring",
        "single",
        "test",
    ),
    case(
        "s3-py-conversion-jobs-api",
        "sonnet",
        "A REST API for one job service (submit, poll, cancel, webhook, retries) is a one-service design on a well-trodden path.",
        req(
            s(project_chat("FastAPI, Postgres, Redis + RQ workers, S3")),
            u(
                "need to design the API for our doc conversion service: client uploads a docx/pptx, we convert to pdf (can take 2-90s), they need to get the result. should support cancel and an optional webhook when done. clients retry a lot on flaky mobile networks. endpoints, status codes, job states pls"
            ),
        ),
        "python",
        "single",
        "design",
    ),
    case(
        "s3-go-time-after-loop",
        "sonnet",
        "Memory growth from time.After in a hot select loop, read from a heap profile: a known Go pitfall (before 1.23) with a reusable-timer fix.",
        req(
            u(
                "memory grows steadily in our consumer, heap profile top:\n"
                + code(
                    "text",
                    """
(pprof) top 5
Showing nodes accounting for 1.41GB, 93.12% of 1.51GB total
      flat  flat%   sum%        cum   cum%
    1.12GB 74.17% 74.17%     1.12GB 74.17%  time.NewTimer
    0.21GB 13.91% 88.08%     0.21GB 13.91%  runtime.malg
    0.08GB  5.04% 93.12%     0.08GB  5.04%  bufio.NewReaderSize
""",
                )
                + "\n"
                + code(
                    "go",
                    """
for {
	select {
	case msg := <-c.msgs:
		c.handle(msg)
	case <-time.After(30 * time.Second):
		c.sendHeartbeat()
	case <-ctx.Done():
		return
	}
}
""",
                )
                + "\ngo.mod says go 1.21, ~20k msgs/sec"
            )
        ),
        "go",
        "single",
        "debug",
        "performance",
    ),
    case(
        "s3-efcore-rename-drops-column",
        "sonnet",
        "EF Core scaffolding a drop and add for a renamed property: a known migration fix (RenameColumn) that must also keep the data and the index.",
        req(
            u(
                "i renamed a property `Customer.Phone` -> `PhoneNumber` and the generated migration looks like this. is this going to lose data? how to do it properly\n"
                + code(
                    "csharp",
                    """
protected override void Up(MigrationBuilder migrationBuilder)
{
    migrationBuilder.DropIndex(name: "IX_Customers_Phone", table: "Customers");
    migrationBuilder.DropColumn(name: "Phone", table: "Customers");
    migrationBuilder.AddColumn<string>(name: "PhoneNumber", table: "Customers", type: "nvarchar(32)", maxLength: 32, nullable: true);
    migrationBuilder.CreateIndex(name: "IX_Customers_PhoneNumber", table: "Customers", column: "PhoneNumber");
}
""",
                )
            )
        ),
        "csharp",
        "dotnet",
        "sql",
        "single",
        "migration",
    ),
    case(
        "s3-bash-local-masks-failure",
        "sonnet",
        "Two classic bash traps together (local masking a command's status under set -e, a pipe into while running in a subshell), shown with the output: each fix is standard, both are needed.",
        req(
            u(
                "this script says 'backed up 0 dbs' AND exits 0 even when pg_dump fails (the error is in /var/log/backup.log). set -e is on!? what is going on\n"
                + code(
                    "bash",
                    """
#!/usr/bin/env bash
set -euo pipefail

count=0

dump_one() {
  local out=$(pg_dump -Fc "$1" 2>&1 > "/backups/$1.dump")
  echo "$out" >> /var/log/backup.log
}

psql -Atc "select datname from pg_database where not datistemplate" | while read -r db; do
  dump_one "$db"
  count=$((count + 1))
done

echo "backed up $count dbs"
""",
                )
                + "\noutput:\n"
                + code(
                    "text",
                    """
$ ./backup.sh; echo $?
backed up 0 dbs
0
$ tail -1 /var/log/backup.log
pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  role "backup" does not exist
""",
                )
            )
        ),
        "shell",
        "single",
        "debug",
    ),
    case(
        "s3-redis-cache-stampede",
        "sonnet",
        "A cache stampede on one hot key in one service: standard remedies (single-flight, early refresh with jitter, stale-while-revalidate) to weigh and implement.",
        req(
            u(
                "every 10 minutes exactly our DB CPU spikes to 100% for ~20s. we cache the homepage feed in redis with TTL 600. when it expires ~3k req/s all miss at once and run the 800ms query. whats the best fix, we're a single node.js service with 12 pods"
            )
        ),
        "javascript",
        "redis",
        "single",
        "design",
        "performance",
    ),
    case(
        "s3-android-duplicate-toasts-rotation",
        "sonnet",
        "One-off UI events replayed after rotation and collected while stopped: a known Android pitfall whose fix (Channel or SharedFlow plus repeatOnLifecycle) has two parts.",
        req(
            u(
                "after rotating the screen the 'Saved!' toast shows again, and sometimes twice. also when app is in background it still collects? \n"
                + code(
                    "kotlin",
                    """
// ViewModel
private val _events = MutableStateFlow<Event?>(null)
val events: StateFlow<Event?> = _events
fun save() = viewModelScope.launch { repo.save(draft); _events.value = Event.Saved }

// Fragment.onViewCreated
lifecycleScope.launch {
    viewModel.events.collect { ev ->
        if (ev is Event.Saved) Toast.makeText(requireContext(), "Saved!", Toast.LENGTH_SHORT).show()
    }
}
""",
                )
            )
        ),
        "kotlin",
        "android",
        "single",
        "debug",
    ),
    case(
        "s3-rails-flaky-midnight-spec",
        "sonnet",
        "A spec failing only in the hours before midnight UTC: Date.today against the app's time zone in a scope and a spec, debugged across two files from the CI output.",
        req(
            u(
                "spec fails on CI only late in the evening, roughly 22:00-24:00 UTC (we're Europe/Berlin, config.time_zone is set, CI machines are UTC). passes locally always\n"
                + code(
                    "text",
                    """
  1) Subscription.renewing_today includes subscriptions that renew today
     Failure/Error: expect(Subscription.renewing_today).to include(sub)
       expected #<ActiveRecord::Relation []> to include #<Subscription id: 7, renews_on: "2024-11-05">
     # ./spec/models/subscription_spec.rb:14
""",
                )
                + "\n"
                + code(
                    "ruby",
                    """
# app/models/subscription.rb
scope :renewing_today, -> { where(renews_on: Date.today) }

# spec/models/subscription_spec.rb
it "includes subscriptions that renew today" do
  sub = create(:subscription, renews_on: Time.zone.today)
  expect(Subscription.renewing_today).to include(sub)
end
""",
                )
            )
        ),
        "ruby",
        "rails",
        "single",
        "debug",
        "test",
    ),
    case(
        "s3-phpunit-9-to-10",
        "sonnet",
        "PHPUnit 9 to 10 is a known migration: static data providers, attributes instead of annotations, removed assertions and config changes across the suite.",
        req(
            u(
                "upgrading phpunit 9.6 -> 10.5, ~400 tests. getting tons of 'Data Provider method ... is not static' and deprecations about annotations. what do i need to change (config too), and can rector do some of it\n"
                + code(
                    "php",
                    """
/**
 * @dataProvider amounts
 * @covers \\App\\Money\\Formatter
 */
public function testFormats(int $minor, string $expected): void
{
    $this->assertEquals($expected, (new Formatter('EUR'))->format($minor));
}

public function amounts(): array
{
    return [[0, '0,00 €'], [123456, '1.234,56 €']];
}
""",
                )
            )
        ),
        "php",
        "single",
        "migration",
        "test",
    ),
    case(
        "s3-efcore-second-operation-whenall",
        "sonnet",
        "One scoped DbContext shared by parallel queries under Task.WhenAll: a known EF Core error whose fix (sequential awaits, or IDbContextFactory per task) must keep the request's semantics.",
        req(
            u(
                "tried to speed up the dashboard endpoint by running the queries in parallel and now it randomly throws this. ef core 8\n"
                + code(
                    "text",
                    """
System.InvalidOperationException: A second operation was started on this context instance before a previous operation completed. This is usually caused by different threads concurrently using the same instance of DbContext.
   at Microsoft.EntityFrameworkCore.Infrastructure.Internal.ConcurrencyDetector.EnterCriticalSection()
   at Acme.Dashboard.DashboardService.GetAsync(Int32 tenantId) in DashboardService.cs:line 31
""",
                )
                + "\n"
                + code(
                    "csharp",
                    """
public async Task<DashboardDto> GetAsync(int tenantId)
{
    var ordersTask = _db.Orders.Where(o => o.TenantId == tenantId && o.CreatedAt >= _since).CountAsync();
    var revenueTask = _db.Orders.Where(o => o.TenantId == tenantId && o.CreatedAt >= _since).SumAsync(o => o.TotalMinor);
    var ticketsTask = _db.Tickets.Where(t => t.TenantId == tenantId && t.Status == TicketStatus.Open).CountAsync();
    await Task.WhenAll(ordersTask, revenueTask, ticketsTask);
    return new DashboardDto(ordersTask.Result, revenueTask.Result, ticketsTask.Result);
}
// AppDbContext registered with AddDbContext (scoped), DashboardService scoped
""",
                )
            )
        ),
        "csharp",
        "dotnet",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "s3-go-retry-client-review",
        "sonnet",
        "Reviewing a retrying HTTP client for the well-known faults (bodies not closed between attempts, POST retried blindly, no backoff jitter, context ignored in the sleep) is a well-trodden review with several parts.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "can you review this before i open the PR? it's used for all calls to partner APIs\n"
                + selection(
                    "pkg/partner/retry.go",
                    "go",
                    """
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		resp, err = c.http.Do(req)
		if err == nil && resp.StatusCode < 500 {
			return resp, nil
		}
		time.Sleep(time.Duration(1<<attempt) * 100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	return resp, fmt.Errorf("partner: giving up after 5 attempts, last status %d", resp.StatusCode)
}
""",
                )
                + "\ncallers do POST /orders and GET /stock through it"
            ),
        ),
        "go",
        "single",
        "review",
    ),
    case(
        "s3-pg-vacuum-full-prod",
        "sonnet",
        "Whether to run VACUUM FULL on a large production table has a well-known answer (ACCESS EXCLUSIVE lock for the whole rewrite, twice the disk, pg_repack or pg_squeeze instead, fix autovacuum) that needs all its parts.",
        req(
            s(COPILOT_LIKE),
            u(
                "is it safe to run VACUUM FULL on prod during the day? events table is 400GB, pgstattuple says ~60% dead/free space after we deleted old rows. disk is at 78%. pg 14 on RDS"
            ),
        ),
        "sql",
        "postgres",
        "single",
        "question",
        "ops",
    ),
]

OPUS = [
    case(
        "s3-c-release-fence-after-store",
        "opus",
        "A release fence placed after the relaxed flag store orders nothing: a memory-model fact whose plausible wrong answer passes on x86 and ships.",
        req(
            u(
                code(
                    "c",
                    """
static struct msg slot;
static atomic_int ready;

void publish(const struct msg *m) {
    slot = *m;
    atomic_store_explicit(&ready, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

int try_consume(struct msg *out) {
    if (!atomic_load_explicit(&ready, memory_order_relaxed))
        return 0;
    atomic_thread_fence(memory_order_acquire);
    *out = slot;
    return 1;
}
""",
                )
                + "\nfences look right to me? tests pass on x86, shipping to the arm boards next week"
            )
        ),
        "c",
        "single",
        "question",
        "memory-model",
        "misleading",
    ),
    case(
        "s3-rust-atomicptr-config-reload",
        "opus",
        "Freeing the old config right after the swap while readers hold references derived from &self is a reclamation bug (use-after-free) that an unsafe-Rust reviewer must catch; the fix needs epochs, hazard pointers or arc-swap.",
        req(
            u(
                "lock free config hot reload, fine? miri was happy with my test\n"
                + code(
                    "rust",
                    """
pub struct Live {
    ptr: AtomicPtr<Config>,
}

impl Live {
    pub fn new(c: Config) -> Self {
        Self { ptr: AtomicPtr::new(Box::into_raw(Box::new(c))) }
    }

    pub fn get(&self) -> &Config {
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    pub fn reload(&self, c: Config) {
        let old = self.ptr.swap(Box::into_raw(Box::new(c)), Ordering::AcqRel);
        unsafe { drop(Box::from_raw(old)) };
    }
}

unsafe impl Sync for Live {}
""",
                )
            )
        ),
        "rust",
        "single",
        "review",
        "memory-model",
        "concurrency",
    ),
    case(
        "s3-express-login-session-fixation",
        "opus",
        "A casual review of login and logout code that keeps the pre-login session id (fixation) and never destroys the server session: authentication review is opus however it is asked.",
        req(
            s(CONTINUE_CHAT),
            u(
                "quick review before i merge? just login/logout, nothing fancy\n"
                + attached(
                    "src/routes/auth.ts",
                    "ts",
                    """
router.post("/login", loginLimiter, async (req, res) => {
  const { email, password } = req.body;
  const user = await db.user.findUnique({ where: { email: email.toLowerCase() } });
  const ok = user && (await bcrypt.compare(password, user.passwordHash));
  if (!ok) return res.status(401).json({ error: "invalid credentials" });
  req.session.userId = user.id;
  req.session.role = user.role;
  res.json({ ok: true });
});

router.post("/logout", (req, res) => {
  req.session.userId = undefined;
  res.clearCookie("sid");
  res.json({ ok: true });
});

// app.ts: app.use(session({ name: "sid", secret: process.env.SESSION_SECRET!, resave: false,
//   saveUninitialized: true, store: new RedisStore({ client: redis }), cookie: { httpOnly: true, secure: true } }))
""",
                )
            ),
        ),
        "typescript",
        "node",
        "single",
        "review",
        "security",
        "misleading",
    ),
    case(
        "s3-go-aes-ctr-cookie",
        "opus",
        "Unauthenticated AES-CTR on a cookie lets a user flip bits of their own user id: a crypto review where the plausible answer (it is encrypted, so fine) ships a privilege escalation.",
        req(
            u(
                "we put the user id in a cookie encrypted like this so users can't tamper with it. good enough?\n"
                + code(
                    "go",
                    """
func sealUID(key []byte, uid uint64) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	pt := []byte(strconv.FormatUint(uid, 10))
	ct := make([]byte, len(pt))
	cipher.NewCTR(block, iv).XORKeyStream(ct, pt)
	return base64.RawURLEncoding.EncodeToString(append(iv, ct...)), nil
}

func openUID(key []byte, s string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) <= aes.BlockSize {
		return 0, errBadCookie
	}
	block, _ := aes.NewCipher(key)
	pt := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCTR(block, raw[:aes.BlockSize]).XORKeyStream(pt, raw[aes.BlockSize:])
	return strconv.ParseUint(string(pt), 10, 64)
}
""",
                )
            )
        ),
        "go",
        "single",
        "review",
        "security",
        "crypto",
    ),
    case(
        "s3-py-zip-extract-prefix-check",
        "opus",
        "An extractor for untrusted archives whose containment check is a bare string prefix (a sibling theme directory passes), with an unchecked slug and file modes (setuid included) copied from the archive: review of a parser of untrusted input.",
        req(
            u(
                "users upload theme zips, we extract like this. i added the startswith check for zip slip so we're good right?\n"
                + code(
                    "python",
                    """
THEMES = "/srv/app/themes"


def install_theme(upload: IO[bytes], slug: str) -> None:
    dest = os.path.join(THEMES, slug)
    with zipfile.ZipFile(upload) as zf:
        for info in zf.infolist():
            target = os.path.abspath(os.path.join(dest, info.filename))
            if not target.startswith(dest):
                raise ValueError(f"bad path in archive: {info.filename}")
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(target, mode)
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
        "s3-pg-repeatable-read-report-anomaly",
        "opus",
        "A read-only REPEATABLE READ report can observe a state no serial order produces (the read-only transaction anomaly): an isolation question whose plausible answer is a confident wrong yes.",
        req(
            u(
                "postgres: our end-of-day report runs in a REPEATABLE READ read-only txn, so the totals it prints for a closed batch are final and can never change later, right? setup:\n"
                + code(
                    "sql",
                    """
-- deposits are written in a txn that reads the current open batch first:
--   BEGIN ISOLATION LEVEL REPEATABLE READ;
--   SELECT id FROM batches WHERE status = 'open';          -- say 41
--   INSERT INTO deposits(batch_id, amount) VALUES (41, ...);
--   COMMIT;
-- closing a batch (separate txn, also REPEATABLE READ):
--   UPDATE batches SET status = 'closed' WHERE id = 41;
--   INSERT INTO batches(status) VALUES ('open');
-- report:
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT id FROM batches WHERE status = 'closed' ORDER BY id DESC LIMIT 1;   -- 41
SELECT sum(amount) FROM deposits WHERE batch_id = 41;
COMMIT;
""",
                )
            )
        ),
        "sql",
        "postgres",
        "single",
        "question",
        "distributed",
        "isolation",
    ),
    case(
        "s3-go-raft-leader-local-reads",
        "opus",
        "Serving reads from a node that believes it is leader returns stale data after a partition unless ReadIndex or a clock-bounded lease is used: consensus read safety.",
        req(
            u(
                "small perf win for our raft kv: reads skip the log if we're leader. p99 read dropped from 4ms to 0.3ms. any issue?\n"
                + code(
                    "go",
                    """
func (s *Server) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	if s.raft.State() != raft.Leader {
		return nil, status.Errorf(codes.FailedPrecondition, "not leader, try %s", s.raft.Leader())
	}
	// we're the leader, our state machine is the most up to date
	v, ok := s.fsm.Get(req.Key)
	if !ok {
		return nil, status.Error(codes.NotFound, req.Key)
	}
	return &pb.GetResponse{Value: v}, nil
}
""",
                )
            )
        ),
        "go",
        "single",
        "review",
        "distributed",
        "misleading",
    ),
    case(
        "s3-snowflake-worker-id-hash",
        "opus",
        "Worker ids from a hostname hash modulo 1024 collide between pods (birthday bound), and waiting out a backwards clock is not enough across restarts: a distributed uniqueness invariant.",
        req(
            u(
                "our id generator (snowflake style) for orders, runs in ~60 pods. ids must be globally unique. look ok?\n"
                + code(
                    "java",
                    """
public final class IdGen {
    private static final long EPOCH = 1704067200000L;
    private final long workerId = Math.floorMod(System.getenv("HOSTNAME").hashCode(), 1024);
    private long lastMs = -1, seq = 0;

    public synchronized long next() {
        long now = System.currentTimeMillis();
        while (now < lastMs) {            // clock went backwards, wait it out
            now = System.currentTimeMillis();
        }
        if (now == lastMs) {
            seq = (seq + 1) & 0xFFF;
            if (seq == 0) { while ((now = System.currentTimeMillis()) <= lastMs) { } }
        } else {
            seq = 0;
        }
        lastMs = now;
        return ((now - EPOCH) << 22) | (workerId << 12) | seq;
    }
}
""",
                )
            )
        ),
        "java",
        "kubernetes",
        "single",
        "review",
        "distributed",
    ),
    case(
        "s3-py-binary-search-prove",
        "opus",
        "Asked to prove a binary search correct when it loops forever on two elements and returns a wrong index when every element is smaller: 'prove X' with X false needs the counterexample.",
        req(
            u(
                "need a short proof for the design doc that this terminates and returns the first index i with a[i] >= x (a sorted, non-empty). loop invariant style pls\n"
                + code(
                    "python",
                    """
def first_ge(a: list[int], x: int) -> int:
    lo, hi = 0, len(a) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid
        else:
            hi = mid
    return lo
""",
                )
            )
        ),
        "python",
        "single",
        "proof",
    ),
    case(
        "s3-sliding-window-bound",
        "opus",
        "The weighted two-window rate limiter only approximates a sliding window; the claimed hard bound is false and the answer needs a counterexample and the true worst case.",
        req(
            u(
                "for the API contract we want to state 'never more than 100 requests in any 60s window'. our limiter is the usual weighted sliding window below. can we promise that? if yes a quick argument, if not what's the real bound\n"
                + code(
                    "typescript",
                    """
async function allow(key: string, now = Date.now()): Promise<boolean> {
  const win = Math.floor(now / 60_000);
  const elapsed = (now % 60_000) / 60_000;
  const [prev, cur] = await redis.mget(`rl:${key}:${win - 1}`, `rl:${key}:${win}`);
  const estimate = Number(prev ?? 0) * (1 - elapsed) + Number(cur ?? 0);
  if (estimate >= 100) return false;
  await redis.multi().incr(`rl:${key}:${win}`).expire(`rl:${key}:${win}`, 120).exec();
  return true;
}
""",
                )
            )
        ),
        "typescript",
        "redis",
        "single",
        "proof",
    ),
    case(
        "s3-c-varint-decoder-review",
        "opus",
        "A varint decoder on untrusted bytes with no end-of-buffer check in the loop and a shift past 63 bits: review of a parser of untrusted input.",
        req(
            u(
                "quick review, this decodes varints from the network (our own framing, protobuf-like)\n"
                + code(
                    "c",
                    """
/* returns bytes consumed, 0 on error */
size_t read_uvarint(const uint8_t *p, size_t len, uint64_t *out) {
    uint64_t v = 0;
    unsigned shift = 0;
    size_t i = 0;
    if (len == 0) return 0;
    for (;;) {
        uint8_t b = p[i++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *out = v;
    return i;
}

/* caller */
size_t n = read_uvarint(buf + off, buf_len - off, &field_len);
if (!n) return -1;
off += n;
memcpy(dst, buf + off, field_len);
""",
                )
            )
        ),
        "c",
        "single",
        "review",
        "security",
    ),
    case(
        "s3-kotlin-oidc-add-google",
        "opus",
        "Adding a second identity provider to an ID-token verifier that never checks aud (any token Google mints for any client would pass): the feature touches the hole, so adding it and leaving the hole is not acceptable.",
        req(
            s(project_chat("Kotlin, Ktor 2, nimbus-jose-jwt")),
            u(
                "we need 'Sign in with Google' next to Azure AD. can you extend this to accept google id tokens too (issuer https://accounts.google.com, jwks https://www.googleapis.com/oauth2/v3/certs)?\n"
                + attached(
                    "src/main/kotlin/auth/IdTokenVerifier.kt",
                    "kotlin",
                    """
class IdTokenVerifier(private val azureTenant: String) {
    private val azureIssuer = "https://login.microsoftonline.com/$azureTenant/v2.0"
    private val azureKeys = JWKSourceBuilder.create<SecurityContext>(
        URL("https://login.microsoftonline.com/$azureTenant/discovery/v2.0/keys")).build()

    fun verify(idToken: String): Principal {
        val processor = DefaultJWTProcessor<SecurityContext>().apply {
            jwsKeySelector = JWSVerificationKeySelector(JWSAlgorithm.RS256, azureKeys)
            jwtClaimsSetVerifier = DefaultJWTClaimsVerifier(
                JWTClaimsSet.Builder().issuer(azureIssuer).build(),
                setOf("sub", "exp", "iat", "email"),
            )
        }
        val claims = processor.process(idToken, null)
        return Principal(email = claims.getStringClaim("email"), subject = claims.subject)
    }
}
""",
                )
            ),
        ),
        "kotlin",
        "single",
        "edit",
        "security",
        "misleading",
    ),
    case(
        "s3-php-md5-secret-prefix-links",
        "opus",
        "A secret-prefix MD5 over unseparated fields is open to length extension and to shifting digits between path and expiry: a crypto question whose easy answer (it is the same as HMAC) is wrong.",
        req(
            u(
                "colleague says switch to hash_hmac but isnt md5(secret . data) basically the same thing? secret is 32 random bytes and we use hash_equals\n"
                + code(
                    "php",
                    """
function signedUrl(string $path, int $expires): string {
    $sig = md5(SIGNING_SECRET . $path . $expires);
    return "/dl/{$path}?e={$expires}&s={$sig}";
}

function checkSigned(string $path, string $e, string $s): bool {
    if ((int) $e < time()) return false;
    return hash_equals(md5(SIGNING_SECRET . $path . $e), $s);
}
""",
                )
            )
        ),
        "php",
        "single",
        "question",
        "security",
        "crypto",
    ),
    case(
        "s3-gha-comment-deploy-injection",
        "opus",
        "A comment-triggered workflow that interpolates the comment body into a shell script and runs the PR's code with deploy secrets: CI-trigger security review.",
        req(
            u(
                "quick look at our /deploy chatops workflow? works great\n"
                + code(
                    "yaml",
                    """
on:
  issue_comment:
    types: [created]

jobs:
  deploy:
    if: github.event.issue.pull_request && startsWith(github.event.comment.body, '/deploy')
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: refs/pull/${{ github.event.issue.number }}/head
      - name: parse target
        run: |
          TARGET=$(echo "${{ github.event.comment.body }}" | awk '{print $2}')
          echo "target=$TARGET" >> "$GITHUB_ENV"
      - run: ./scripts/deploy.sh "$target"
        env:
          AWS_ACCESS_KEY_ID: ${{ secrets.STAGING_AWS_KEY_ID }}
          AWS_SECRET_ACCESS_KEY: ${{ secrets.STAGING_AWS_SECRET }}
""",
                )
            )
        ),
        "github-actions",
        "yaml",
        "single",
        "review",
        "security",
    ),
    case(
        "s3-gdpr-erasure-across-services",
        "opus",
        "Erasure across seven services fed by an event bus must guarantee no late or replayed event recreates the data (tombstones, ordering, backups, caches): a cross-cutting invariant over many services.",
        req(
            u(
                "how should we design GDPR deletion? we have 7 services (accounts, orders, billing, support, analytics, search, notifications) talking over kafka, each with its own db, plus S3 exports and nightly backups. legal needs proof of erasure within 30 days and data must not 'come back' (we had a case where a delayed profile-updated event re-created a deleted user in search). billing must keep invoices 10 years"
            )
        ),
        "kafka",
        "single",
        "design",
        "distributed",
    ),
    case(
        "s3-py-latency-after-three-changes",
        "opus",
        "Only symptoms, three layers changed at once (gevent workers, ORM upgrade, Graviton) and a request for how to investigate: an open-ended performance investigation across layers.",
        req(
            u(
                "since last sprint our django api p50 went 45ms -> 90ms and p99 200ms -> 1.4s. same traffic. in that sprint we: switched gunicorn sync -> gevent workers (4x more concurrency per pod), upgraded django 3.2 -> 4.2 + psycopg2 -> psycopg3, and moved nodes from m6i to m7g (graviton). CPU per pod went DOWN (35% -> 22%), db cpu unchanged. where do i even start"
            )
        ),
        "python",
        "django",
        "single",
        "performance",
    ),
    case(
        "s3-rust-set-len-panic-safety",
        "opus",
        "set_len before initialising with a user Clone that can panic drops uninitialised elements: an unsafe-Rust soundness question where the plausible answer (it is fast and tests pass) is UB.",
        req(
            u(
                "perf trick to avoid bounds checks, is this sound?\n"
                + code(
                    "rust",
                    """
pub fn tile<T: Clone>(src: &[T], times: usize) -> Vec<T> {
    let n = src.len() * times;
    let mut v = Vec::with_capacity(n);
    unsafe {
        v.set_len(n);
        let p = v.as_mut_ptr();
        for i in 0..n {
            p.add(i).write(src[i % src.len()].clone());
        }
    }
    v
}
""",
                )
            )
        ),
        "rust",
        "single",
        "question",
        "review",
    ),
    case(
        "s3-k8s-ci-role-escalation",
        "opus",
        "A CI role without secrets access that can still create pods can mount any secret or service account in the namespace: an authorization review whose reassuring answer is wrong.",
        req(
            u(
                "we locked down the CI service account, it has NO access to secrets now. review?\n"
                + code(
                    "yaml",
                    """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ci-deployer
  namespace: prod
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "list", "patch", "update"]
  - apiGroups: [""]
    resources: ["pods", "pods/log"]
    verbs: ["get", "list", "create", "delete"]
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "update"]
""",
                )
                + "\nprod namespace also runs the payments-worker SA which has an IRSA role for KMS"
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "review",
        "security",
    ),
    case(
        "s3-go-tls-pin-any-chain-cert",
        "opus",
        "A pin that accepts the connection when any presented certificate matches, with chain verification off, is bypassed by appending the public pinned certificate: TLS/auth review.",
        req(
            u(
                "we pin our api cert in the mobile sdk's go core like this. ok?\n"
                + code(
                    "go",
                    """
var pinnedSHA256 = mustHex("9f2c...e41a") // sha256 of our leaf cert DER

func pinnedClient() *http.Client {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // we do our own verification below
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			for _, c := range rawCerts {
				sum := sha256.Sum256(c)
				if bytes.Equal(sum[:], pinnedSHA256) {
					return nil
				}
			}
			return errors.New("certificate pin mismatch")
		},
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 15 * time.Second}
}
""",
                )
            )
        ),
        "go",
        "single",
        "review",
        "security",
        "crypto",
    ),
    case(
        "s3-ts-usage-endpoint-tenant-header",
        "opus",
        "The tenant middleware the new endpoint reuses takes the tenant from a client header with no staff check, so any user reads any tenant: a plain feature request on auth code whose hole the change touches.",
        req(
            s(CONTINUE_CHAT),
            u(
                attached(
                    "src/middleware/tenant.ts",
                    "ts",
                    """
import type { Request, Response, NextFunction } from "express";

// req.auth is set by express-jwt (RS256, issuer + audience checked) before this runs.
// The header lets support staff switch tenants from the admin console.
export function tenantScope(req: Request, res: Response, next: NextFunction) {
  const tenantId = req.header("x-tenant-id") ?? req.auth?.tid;
  if (!tenantId) return res.status(400).json({ error: "tenant required" });
  req.tenantId = tenantId;
  next();
}
""",
                )
                + "\n"
                + attached(
                    "src/routes/invoices.ts",
                    "ts",
                    """
router.get("/invoices", requireAuth, tenantScope, async (req, res) => {
  const rows = await db.invoice.findMany({ where: { tenantId: req.tenantId }, orderBy: { issuedAt: "desc" }, take: 50 });
  res.json(rows);
});
""",
                )
                + "\n\nadd GET /usage that returns this month's api call count + storage bytes for the current tenant (tables usage_daily(tenant_id, day, api_calls, storage_bytes)). same pattern as /invoices"
            ),
        ),
        "typescript",
        "node",
        "single",
        "edit",
        "security",
        "misleading",
    ),
    case(
        "s3-go-treiber-sync-pool-aba",
        "opus",
        "Recycling nodes through sync.Pool brings back the ABA problem the garbage collector otherwise prevents in a Go Treiber stack; diagnosing lost items from a rare arm64 failure needs lock-free reasoning.",
        req(
            u(
                "test fails like 1 in 20k runs, only on the arm64 runners: items go missing from our lock free stack (pushed 1M, popped 999,9xx). race detector is clean. started after i added the sync.Pool to cut allocations\n"
                + code(
                    "go",
                    """
type node struct {
	val  int64
	next *node
}

var nodes = sync.Pool{New: func() any { return new(node) }}

type Stack struct{ head atomic.Pointer[node] }

func (s *Stack) Push(v int64) {
	n := nodes.Get().(*node)
	n.val = v
	for {
		old := s.head.Load()
		n.next = old
		if s.head.CompareAndSwap(old, n) {
			return
		}
	}
}

func (s *Stack) Pop() (int64, bool) {
	for {
		old := s.head.Load()
		if old == nil {
			return 0, false
		}
		if s.head.CompareAndSwap(old, old.next) {
			v := old.val
			nodes.Put(old)
			return v, true
		}
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
        "memory-model",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
