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
        req(u("regex to validate uuid v4 in js? case insensitive. only v4 not any uuid")),
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
        "s3-csharp-using-declaration",
        "local",
        "The difference between a using declaration and a using block is a C# syntax lookup.",
        req(
            u(
                "difference between `using var conn = ...;` and `using (var conn = ...) { }`? when is it disposed in the first one"
            )
        ),
        "csharp",
        "single",
        "question",
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
        "s3-cpp-nodiscard",
        "local",
        "What [[nodiscard]] does is a C++ syntax lookup.",
        req(
            s(COPILOT_LIKE),
            u("whats [[nodiscard]] for? saw it on a `tryLock()` in our codebase, and can i put it on a class"),
        ),
        "cpp",
        "single",
        "question",
    ),
]

CASES = [*LOCAL]
