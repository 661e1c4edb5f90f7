"""Single-turn IDE requests about web stacks: TypeScript and JavaScript (Node, React, Next.js), PHP
(Laravel) and Ruby (Rails). Local for component edits, idioms, lookups and small tests; sonnet for
debugging with the error pasted, framework migrations and one-service designs; opus for auth and
token review, SSRF, idempotency and cross-service checkout invariants, convergence, and open-ended
performance."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "web-tsx-version",
        "local",
        "Converting a PropTypes component to a typed TSX component is mechanical.",
        req(
            u(
                "tsx version pls\n"
                + code(
                    "jsx",
                    """
import PropTypes from "prop-types";

export default function Avatar({ user, size, onClick }) {
  return (
    <img
      className="avatar"
      src={user.avatarUrl || "/default.png"}
      alt={user.name}
      width={size}
      height={size}
      onClick={onClick}
    />
  );
}

Avatar.propTypes = {
  user: PropTypes.shape({ name: PropTypes.string.isRequired, avatarUrl: PropTypes.string }).isRequired,
  size: PropTypes.number,
  onClick: PropTypes.func,
};
Avatar.defaultProps = { size: 32 };
""",
                )
            )
        ),
        "typescript",
        "react",
        "single",
        "edit",
    ),
    case(
        "web-react-effect-twice",
        "local",
        "StrictMode's double-invoked effects in development: a well-known React answer.",
        req(
            u(
                "why does my useEffect run twice?? console shows 'fetching' 2x on page load. react 18, vite dev server\n"
                + code(
                    "jsx",
                    """
useEffect(() => {
  console.log("fetching");
  fetch("/api/me").then((r) => r.json()).then(setMe);
}, []);
""",
                )
            )
        ),
        "javascript",
        "react",
        "single",
        "question",
    ),
    case(
        "web-next-public-env",
        "local",
        "The NEXT_PUBLIC_ prefix for browser-exposed env vars: a documented lookup.",
        req(
            u(
                "process.env.API_BASE is undefined in my client component but fine in getServerSideProps. .env.local has API_BASE=https://api.dev.local . next 14"
            )
        ),
        "typescript",
        "nextjs",
        "single",
        "question",
    ),
    case(
        "web-react-fragment-key",
        "local",
        "The key belongs on the fragment returned by map: a common React warning with a one-line fix.",
        req(
            u(
                'Warning: Each child in a list should have a unique "key" prop.\n\n'
                + code(
                    "jsx",
                    """
<ul>
  {items.map((item) => (
    <>
      <li>{item.title}</li>
      {item.note && <li className="note">{item.note}</li>}
    </>
  ))}
</ul>
""",
                )
                + "\ni do have ids on items"
            )
        ),
        "javascript",
        "react",
        "single",
        "debug",
    ),
    case(
        "web-ts-enum-to-union",
        "local",
        "Replacing an enum with a const array and a derived union type is a mechanical edit.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "swap this enum for a string union + a const array i can iterate over\n"
                + selection(
                    "src/billing/plan.ts",
                    "ts",
                    """
export enum Plan {
  Free = "free",
  Pro = "pro",
  Team = "team",
  Enterprise = "enterprise",
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
        "web-node-esm-dirname",
        "local",
        "import.meta.url / import.meta.dirname in ES modules: an API lookup.",
        req(
            u(
                "node 20 esm: read config.json sitting next to the current file and parse it, async. __dirname doesn't exist apparently"
            )
        ),
        "javascript",
        "node",
        "single",
        "question",
    ),
    case(
        "web-php-array-functions",
        "local",
        "Rewriting a foreach with array_filter/array_map is a mechanical edit.",
        req(
            u(
                "cleaner way to write this?\n"
                + code(
                    "php",
                    """
$emails = [];
foreach ($users as $user) {
    if ($user['active'] && !empty($user['email'])) {
        $emails[] = strtolower(trim($user['email']));
    }
}
$emails = array_unique($emails);
""",
                )
            )
        ),
        "php",
        "single",
        "edit",
    ),
    case(
        "web-laravel-form-request",
        "local",
        "Laravel validation rules from a list of requirements: standard boilerplate.",
        req(
            u(
                "laravel form request rules: email required + unique on users, password min 12 + confirmed, display_name optional max 50, birth_year optional integer between 1900 and the current year"
            )
        ),
        "php",
        "laravel",
        "single",
        "boilerplate",
    ),
    case(
        "web-rails-scopes",
        "local",
        "Moving a where chain into named model scopes is a mechanical refactor.",
        req(
            u(
                "move this into model scopes\n"
                + code(
                    "ruby",
                    """
# app/controllers/invoices_controller.rb
def overdue
  @invoices = Invoice.where(status: "sent").where("due_on < ?", Date.current).order(due_on: :asc)
end
""",
                )
            )
        ),
        "ruby",
        "rails",
        "single",
        "edit",
    ),
    case(
        "web-ruby-safe-nav-memo",
        "local",
        "Explaining &. and ||= in a three-line method is a textbook language question.",
        req(
            u(
                "what do &. and ||= do here\n"
                + code(
                    "ruby",
                    """
def display_name
  @display_name ||= profile&.nickname || email.split("@").first
end
""",
                )
            )
        ),
        "ruby",
        "single",
        "question",
    ),
    case(
        "web-jest-format-bytes",
        "local",
        "Tests for a pure formatting function with obvious cases.",
        req(
            s(CONTINUE_CHAT),
            u(
                "jest tests for this, include the error cases\n"
                + attached(
                    "src/lib/formatBytes.js",
                    "js",
                    """
export function formatBytes(n, decimals = 1) {
  if (!Number.isFinite(n) || n < 0) throw new RangeError("bad size");
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(decimals)} ${units[i]}`;
}
""",
                )
            ),
        ),
        "javascript",
        "single",
        "tests",
    ),
    case(
        "web-xss-comment-urgent",
        "local",
        "Despite the alarm, the fix is to render plain text as a child instead of dangerouslySetInnerHTML.",
        req(
            u(
                "SECURITY: pentest flagged XSS in comments, need this fixed ASAP before tonight's release!!!\n"
                + code(
                    "tsx",
                    """
export function Comment({ comment }: { comment: { author: string; body: string } }) {
  return (
    <div className="comment">
      <strong>{comment.author}</strong>
      <p dangerouslySetInnerHTML={{ __html: comment.body }} />
    </div>
  );
}
""",
                )
                + "\nbody is plain text from a textarea, we never allowed html in comments"
            )
        ),
        "typescript",
        "react",
        "single",
        "security",
        "misleading",
    ),
    case(
        "web-next-helpers-architecture",
        "local",
        "'Architecture question' about where a shared formatter lives and a tsconfig path alias.",
        req(
            u(
                "architecture question for the team: formatPrice() is copy-pasted in 3 pages of our next.js app router project. where should shared helpers like this live, and how do i import them without ../../../"
            )
        ),
        "typescript",
        "nextjs",
        "single",
        "question",
        "misleading",
    ),
    case(
        "web-var-closure-race",
        "local",
        "'Race condition' that is the classic var-in-a-loop closure; let fixes it.",
        req(
            u(
                "race condition in our retry code?? every timer logs 5 instead of 0..4\n"
                + code(
                    "js",
                    """
for (var i = 0; i < 5; i++) {
  setTimeout(() => console.log("retry", i), i * 1000);
}
""",
                )
            )
        ),
        "javascript",
        "single",
        "debug",
        "concurrency",
        "misleading",
    ),
]

SONNET = [
    case(
        "web-next-hydration-mismatch",
        "sonnet",
        "Hydration mismatch with two causes (server vs browser time zone, a window check during render) read from the error; a known fix for each.",
        req(
            u(
                "getting this in the prod build, only on some pages\n"
                + code(
                    "text",
                    """
Error: Text content does not match server-rendered HTML.
Warning: Text content did not match. Server: "3 Nov 2024, 13:02" Client: "3 Nov 2024, 14:02"
Error: Hydration failed because the initial UI does not match what was rendered on the server.
""",
                )
                + "\n"
                + code(
                    "tsx",
                    """
export default function OrderRow({ order }: { order: Order }) {
  const isMobile = typeof window !== "undefined" && window.innerWidth < 640;
  return (
    <tr>
      <td>{order.id}</td>
      <td>{new Date(order.createdAt).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}</td>
      {!isMobile && <td>{order.customerEmail}</td>}
    </tr>
  );
}
""",
                )
                + "\npages router, next 14"
            )
        ),
        "typescript",
        "nextjs",
        "react",
        "single",
        "debug",
    ),
    case(
        "web-express4-async-crash",
        "sonnet",
        "Crash from an unhandled rejection in an Express 4 async handler: Express 4 never routes rejected promises to the error middleware.",
        req(
            u(
                "api process dies every few hours, pm2 restarts it. last lines:\n"
                + code(
                    "text",
                    """
node:internal/process/promises:289
            triggerUncaughtException(err, true /* fromPromise */);
            ^

Error: connect ETIMEDOUT 10.0.3.14:5432
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {
  errno: -110,
  code: 'ETIMEDOUT',
  syscall: 'connect',
  address: '10.0.3.14',
  port: 5432
}

Node.js v18.19.0
""",
                )
                + "\n"
                + code(
                    "js",
                    """
app.get("/reports/:id", async (req, res) => {
  const report = await db.query("select * from reports where id = $1", [req.params.id]);
  if (!report.rows.length) return res.status(404).end();
  res.json(report.rows[0]);
});

app.use((err, req, res, next) => {
  log.error(err);
  res.status(500).json({ error: "internal" });
});
""",
                )
                + "\nexpress 4.18. i have an error handler, so why does it crash instead of returning 500?"
            )
        ),
        "javascript",
        "node",
        "single",
        "debug",
    ),
    case(
        "web-prisma-n-plus-one",
        "sonnet",
        "N+1 queries read from the Prisma query log; the fix is include plus a filtered _count and an index.",
        req(
            s(project_chat("express + prisma 5 + postgres, typescript")),
            u(
                "GET /projects takes 2.5s for 50 projects. prisma query log (trimmed):\n"
                + code(
                    "text",
                    """
prisma:query SELECT "public"."Project"."id", "public"."Project"."name", "public"."Project"."ownerId" FROM "public"."Project" WHERE "public"."Project"."orgId" = $1 ORDER BY "public"."Project"."updatedAt" DESC LIMIT $2 OFFSET $3
prisma:query SELECT "public"."User"."id", "public"."User"."name" FROM "public"."User" WHERE "public"."User"."id" = $1 LIMIT $2 OFFSET $3
prisma:query SELECT COUNT(*) FROM (SELECT "public"."Task"."id" FROM "public"."Task" WHERE ("public"."Task"."projectId" = $1 AND "public"."Task"."done" = $2) OFFSET $3) AS "sub"
prisma:query SELECT "public"."User"."id", "public"."User"."name" FROM "public"."User" WHERE "public"."User"."id" = $1 LIMIT $2 OFFSET $3
prisma:query SELECT COUNT(*) FROM (SELECT "public"."Task"."id" FROM "public"."Task" WHERE ("public"."Task"."projectId" = $1 AND "public"."Task"."done" = $2) OFFSET $3) AS "sub"
... (101 queries total)
""",
                )
                + "\n"
                + attached(
                    "src/routes/projects.ts",
                    "ts",
                    """
const projects = await prisma.project.findMany({ where: { orgId }, orderBy: { updatedAt: "desc" }, take: 50 });
const rows = await Promise.all(
  projects.map(async (p) => ({
    ...p,
    owner: await prisma.user.findUnique({ where: { id: p.ownerId }, select: { id: true, name: true } }),
    openTasks: await prisma.task.count({ where: { projectId: p.id, done: false } }),
  })),
);
res.json(rows);
""",
                    lines=(18, 27),
                )
            ),
        ),
        "typescript",
        "node",
        "single",
        "performance",
    ),
    case(
        "web-react-query-optimistic",
        "sonnet",
        "Optimistic updates across several cached list queries with rollback: a known react-query pattern with a few pitfalls (cancel, snapshot, settle).",
        req(
            u(
                "add optimistic updates for toggling a todo with react-query v5: flip it in the cache right away, roll back if the PATCH fails, refetch after. the list query key is ['todos', filter] and several filters can be cached at once\n"
                + code(
                    "ts",
                    """
export function useToggleTodo() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (t: { id: string; done: boolean }) => api.patch(`/todos/${t.id}`, { done: t.done }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["todos"] }),
  });
}
""",
                )
            )
        ),
        "typescript",
        "react",
        "single",
        "implement",
    ),
    case(
        "web-laravel-retry-after",
        "sonnet",
        "Queue config debugging from logs: retry_after shorter than the job's runtime makes the job be reserved again while still running.",
        req(
            u(
                "ExportReport keeps ending up in failed_jobs with MaxAttemptsExceededException even though the export finishes fine. and when i bumped $tries to 3 customers got the report emailed twice\n"
                + code(
                    "text",
                    r"""
[2024-11-03 02:14:07] production.INFO: ExportReport started {"report":881}
[2024-11-03 02:15:38] production.ERROR: App\Jobs\ExportReport has been attempted too many times or run too long. The job may have previously timed out. {"exception":"[object] (Illuminate\\Queue\\MaxAttemptsExceededException(code: 0): App\\Jobs\\ExportReport has been attempted too many times or run too long. The job may have previously timed out. at /app/vendor/laravel/framework/src/Illuminate/Queue/Worker.php:780)"}
[2024-11-03 02:16:52] production.INFO: ExportReport finished {"report":881,"secs":165}
""",
                )
                + "\n"
                + code(
                    "php",
                    """
class ExportReport implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $tries = 1;
    public $timeout = 600;

    public function handle(ReportExporter $exporter) { /* ... */ }
}
""",
                )
                + "\nconfig/queue.php redis connection has 'retry_after' => 90. worker: php artisan queue:work redis --timeout=600. laravel 9"
            )
        ),
        "php",
        "laravel",
        "single",
        "debug",
    ),
    case(
        "web-rails-zeitwerk-acronyms",
        "sonnet",
        "A known upgrade step (classic autoloader to Zeitwerk) with acronym inflections across many files.",
        req(
            u(
                "upgrading rails 6.0 -> 7.1, classic autoloader is gone. boot fails with\n"
                + code(
                    "text",
                    """
Zeitwerk::NameError: expected file /app/app/services/pdf_generator.rb to define constant PdfGenerator, but didn't
""",
                )
                + "\nand after i renamed that class, the next one: `expected file /app/app/lib/api/v2/json_api.rb to define constant Api::V2::JsonApi`. the classes are `class PDFGenerator` and `module API; module V2; class JSONAPI`. ~40 files reference API:: across the app, i'd rather not rename them all"
            )
        ),
        "ruby",
        "rails",
        "single",
        "migration",
        "debug",
    ),
    case(
        "web-node-stream-backpressure",
        "sonnet",
        "Memory blow-up from ignoring write() backpressure; the fix is stream.pipeline with a readable source.",
        req(
            u(
                "exporting ~5M rows to a csv on s3 and the node process climbs to 6GB RSS, then gets OOM killed\n"
                + code(
                    "js",
                    """
const out = new PassThrough();
const upload = new Upload({ client: s3, params: { Bucket, Key, Body: out } });
const done = upload.done();

const cursor = client.query(new Cursor("select * from events where day = $1", [day]));
let rows;
while ((rows = await cursor.read(1000)).length) {
  for (const r of rows) out.write(toCsvLine(r));
}
out.end();
await done;
""",
                )
            )
        ),
        "javascript",
        "node",
        "single",
        "performance",
        "debug",
    ),
    case(
        "web-notifications-api-design",
        "sonnet",
        "API and schema design for one service, including idempotent creation; decisions, but no cross-service invariants.",
        req(
            s(COPILOT_LIKE),
            u(
                "need an API design for our notifications service (one node/ts service, postgres). features: in-app notification list per user with unread count, mark one/all read, per-channel preferences (email/push/in-app) per notification type, and other services create notifications through the same API and must not create dupes when they retry. endpoints, payloads, pagination approach, tables"
            ),
        ),
        "typescript",
        "node",
        "single",
        "design",
    ),
    case(
        "web-next-pages-to-app-router",
        "sonnet",
        "A known migration (pages to app router): metadata, revalidation, a client island, and noticing the per-user field in shared-cached data.",
        req(
            u(
                "move this page from pages/ to the app router. keep the SEO meta, data should revalidate every 5 min, and the wishlist button needs client state\n"
                + code(
                    "tsx",
                    """
// pages/products/[slug].tsx
export const getServerSideProps: GetServerSideProps = async ({ params, req, res }) => {
  res.setHeader("Cache-Control", "s-maxage=300, stale-while-revalidate");
  const product = await getProduct(params!.slug as string, req.cookies.session);
  if (!product) return { notFound: true };
  return { props: { product } };
};

export default function ProductPage({ product }: { product: Product }) {
  const [saved, setSaved] = useState(product.inWishlist);
  return (
    <>
      <Head>
        <title>{product.name} | Shop</title>
        <meta name="description" content={product.summary} />
      </Head>
      <h1>{product.name}</h1>
      <Price value={product.price} />
      <button
        onClick={async () => {
          await toggleWishlist(product.id);
          setSaved(!saved);
        }}
      >
        {saved ? "Saved" : "Save"}
      </button>
    </>
  );
}
""",
                )
            )
        ),
        "typescript",
        "nextjs",
        "react",
        "single",
        "migration",
    ),
    case(
        "web-php74-to-82",
        "sonnet",
        "A known PHP 7.4 to 8.2 migration: dynamic properties, null to internal functions, count(null), removed each().",
        req(
            u(
                "moving from php 7.4 to 8.2 and this class spits out the below. fix it properly, not with @ or error_reporting\n"
                + code(
                    "text",
                    """
Deprecated: Creation of dynamic property Invoice::$currency is deprecated in /app/src/Invoice.php on line 11
Deprecated: strlen(): Passing null to parameter #1 ($string) of type string is deprecated in /app/src/Invoice.php on line 16
Fatal error: Uncaught TypeError: count(): Argument #1 ($value) must be of type Countable|array, null given in /app/src/Invoice.php:21
""",
                )
                + "\n"
                + code(
                    "php",
                    """
class Invoice
{
    public $lines;
    public $note;

    public function __construct(array $row)
    {
        $this->lines = $row['lines'] ?? null;
        $this->note = $row['note'] ?? null;
        $this->currency = $row['currency'] ?? 'EUR';
    }

    public function hasNote()
    {
        return strlen($this->note) > 0;
    }

    public function lineCount()
    {
        return count($this->lines);
    }

    public function total()
    {
        $sum = 0;
        reset($this->lines);
        while (list(, $line) = each($this->lines)) {
            $sum += $line['qty'] * $line['price'];
        }
        return $sum;
    }
}
""",
                )
                + "\n(and total() uses each() which i know is gone)"
            )
        ),
        "php",
        "single",
        "migration",
    ),
    case(
        "web-axios-refresh-once",
        "sonnet",
        "Single-flight token refresh in an interceptor with queued replays and no refresh loop: a well-known pattern with concurrency pitfalls.",
        req(
            u(
                "axios interceptor: on 401 refresh the access token ONCE even if 10 requests fail at the same time, then replay them all with the new token. if the refresh fails, log out. the refresh call itself must not loop\n"
                + code(
                    "ts",
                    """
export const api = axios.create({ baseURL: "/api" });

api.interceptors.request.use((cfg) => {
  const t = tokenStore.access;
  if (t) cfg.headers.Authorization = `Bearer ${t}`;
  return cfg;
});

// POST /auth/refresh with { refreshToken } -> { access, refresh }
""",
                )
            )
        ),
        "typescript",
        "single",
        "implement",
        "concurrency",
    ),
    case(
        "web-react-store-tearing",
        "sonnet",
        "Tearing under concurrent rendering with a hand-rolled subscription; the standard fix is useSyncExternalStore.",
        req(
            u(
                "we have our own tiny store. since react 18 + startTransition on the filters, two components on screen sometimes show different values for the same key for a frame. is the store wrong?\n"
                + code(
                    "ts",
                    """
export function createStore<T>(initial: T) {
  let state = initial;
  const subs = new Set<() => void>();
  return {
    get: () => state,
    set: (next: T) => {
      state = next;
      subs.forEach((s) => s());
    },
    subscribe: (fn: () => void) => {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}

export function useStore<T, S>(store: Store<T>, select: (t: T) => S): S {
  const [val, setVal] = useState(() => select(store.get()));
  useEffect(() => store.subscribe(() => setVal(select(store.get()))), [store, select]);
  return val;
}
""",
                )
            )
        ),
        "typescript",
        "react",
        "single",
        "concurrency",
        "debug",
    ),
    case(
        "web-rails-coupon-overredeem",
        "sonnet",
        "'Quick tweak' on a check-then-insert race across Puma threads and workers; the standard fix is an atomic conditional update or a row lock.",
        req(
            u(
                "quick tweak needed: coupons with a limit sometimes get redeemed more times than the limit (saw 103 on a 100-use coupon). puma 5 threads x 4 workers\n"
                + code(
                    "ruby",
                    """
class RedeemCoupon
  def call(user, code)
    coupon = Coupon.find_by!(code: code)
    raise LimitReached if coupon.redemptions.count >= coupon.limit
    coupon.redemptions.create!(user: user)
  end
end
""",
                )
            )
        ),
        "ruby",
        "rails",
        "single",
        "concurrency",
        "misleading",
    ),
]

OPUS = [
    case(
        "web-oauth-callback-review",
        "opus",
        "Security review of an OAuth callback: unchecked state, state reused as redirect target, caller-chosen redirect_uri, account linking by unverified email, no session regeneration.",
        req(
            u(
                "can u look over our google login callback before we ship?\n"
                + code(
                    "ts",
                    """
router.get("/auth/google/callback", async (req, res) => {
  const { code, state } = req.query as Record<string, string>;
  const tokens = await google.exchangeCode(code, (req.query.redirect_uri as string) ?? DEFAULT_REDIRECT);
  const profile = await google.userInfo(tokens.access_token);

  let user = await db.user.findUnique({ where: { email: profile.email } });
  if (!user) {
    user = await db.user.create({ data: { email: profile.email, name: profile.name } });
  }
  await db.identity.upsert({
    where: { provider_subject: { provider: "google", subject: profile.sub } },
    update: {},
    create: { provider: "google", subject: profile.sub, userId: user.id },
  });

  req.session.userId = user.id;
  const next = state ? Buffer.from(state, "base64").toString() : "/";
  res.redirect(next);
});
""",
                )
            )
        ),
        "typescript",
        "node",
        "single",
        "security",
        "review",
    ),
    case(
        "web-jwt-jku-trust",
        "opus",
        "'Quick q' on JWT verification that fetches the key from a URL named in the token itself: any attacker-signed token verifies.",
        req(
            u(
                "quick q, this ok? we accept tokens from a few partner idps\n"
                + code(
                    "ts",
                    """
export async function verify(token: string) {
  const { header, payload } = jwt.decode(token, { complete: true }) as jwt.Jwt;
  const jwksUrl = header.jku ?? (payload as any).iss + "/.well-known/jwks.json";
  const client = jwksClient({ jwksUri: jwksUrl, cache: true });
  const key = await client.getSigningKey(header.kid);
  return jwt.verify(token, key.getPublicKey());
}
""",
                )
            )
        ),
        "typescript",
        "node",
        "single",
        "security",
        "misleading",
    ),
    case(
        "web-php-remember-me-loose-compare",
        "opus",
        "Auth review with PHP type juggling: a loose != against an md5 hex digest accepts magic-hash values, and the token never expires or rotates.",
        req(
            u(
                "remember-me cookie check, inherited code. anything wrong with it?\n"
                + code(
                    "php",
                    """
function userFromRememberCookie(PDO $db): ?array
{
    if (empty($_COOKIE['remember'])) {
        return null;
    }
    [$id, $sig] = explode(':', base64_decode($_COOKIE['remember']), 2) + [null, null];
    $expected = md5($id . REMEMBER_SECRET);
    if ($sig != $expected) {
        return null;
    }
    $stmt = $db->prepare('SELECT * FROM users WHERE id = ?');
    $stmt->execute([$id]);
    return $stmt->fetch() ?: null;
}
""",
                )
                + "\nmysql, users.id is an int"
            )
        ),
        "php",
        "single",
        "security",
        "review",
    ),
    case(
        "web-link-preview-ssrf",
        "opus",
        "SSRF review: resolve-then-fetch is a DNS-rebinding TOCTOU, redirects bypass the check, and the blocklist misses IPv6, link-local metadata and other ranges.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "link preview endpoint. we block internal IPs, is that enough?\n"
                + attached(
                    "app/api/preview/route.ts",
                    "ts",
                    """
export async function GET(req: NextRequest) {
  const url = new URL(req.nextUrl.searchParams.get("url")!);
  if (!["http:", "https:"].includes(url.protocol)) return new Response("bad", { status: 400 });
  const { address } = await dns.promises.lookup(url.hostname);
  if (isPrivate(address)) return new Response("forbidden", { status: 403 });
  const page = await fetch(url, { redirect: "follow" });
  const html = await page.text();
  return Response.json(extractOpenGraph(html));
}

function isPrivate(ip: string) {
  return /^(10\\.|127\\.|192\\.168\\.|172\\.(1[6-9]|2\\d|3[01])\\.)/.test(ip);
}
""",
                )
            ),
        ),
        "typescript",
        "nextjs",
        "single",
        "security",
        "review",
    ),
    case(
        "web-idempotency-middleware",
        "opus",
        "Idempotency for payments: concurrent retries both miss the cache and charge twice, keys are not scoped per client or bound to the request, and a crash between charge and store loses the record.",
        req(
            u(
                "does our idempotency middleware look right? clients retry POST /payments with the same Idempotency-Key\n"
                + code(
                    "ts",
                    """
export function idempotent(): RequestHandler {
  return async (req, res, next) => {
    const key = req.header("Idempotency-Key");
    if (!key) return next();
    const cached = await redis.get(`idem:${key}`);
    if (cached) {
      const { status, body } = JSON.parse(cached);
      return res.status(status).json(body);
    }
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      redis.set(`idem:${key}`, JSON.stringify({ status: res.statusCode, body }), "EX", 86400);
      return json(body);
    };
    next();
  };
}
""",
                )
            )
        ),
        "typescript",
        "node",
        "single",
        "distributed",
        "security",
        "review",
    ),
    case(
        "web-checkout-webhooks-design",
        "opus",
        "Cross-service design with invariants (paid implies reserved or refunded) under duplicated, reordered webhooks, racing expiry jobs and partial outages.",
        req(
            u(
                "design question. checkout spans 3 services: orders (node), payments (node, wraps stripe), inventory (go). today orders calls payments synchronously, then inventory reserve; stripe webhooks hit payments, which calls orders to mark paid. we see double reservations when stripe retries webhooks, orders marked paid and then cancelled by the 30-min expiry job racing the webhook, and oversold stock on flash sales. i want a design where a paid order always ends with stock reserved or money refunded, webhooks can arrive duplicated or out of order, and any service can be down for minutes. what should the flow and the state machines look like?"
            )
        ),
        "typescript",
        "go",
        "single",
        "design",
        "distributed",
    ),
    case(
        "web-ot-insert-tie",
        "opus",
        "Convergence (TP1) of an OT transform: equal positions shift both inserts, so sites diverge without a site-id tie-break; needs a proof or counterexample.",
        req(
            u(
                "our collab editor's transform for concurrent inserts. is it convergent (TP1)? if not show me the case\n"
                + code(
                    "ts",
                    """
type Insert = { site: number; pos: number; text: string };

// a and b were generated concurrently against the same document.
// returns a' such that apply(apply(doc, b), a') == apply(apply(doc, a), transform(b, a))
export function transform(a: Insert, b: Insert): Insert {
  if (a.pos < b.pos) return a;
  return { ...a, pos: a.pos + b.text.length };
}
""",
                )
            )
        ),
        "typescript",
        "single",
        "proof",
        "distributed",
    ),
    case(
        "web-node-periodic-p99",
        "opus",
        "Open-ended latency investigation from symptoms only (periodic spikes, sawtooth memory, prod only) across GC, event loop, pools and infrastructure.",
        req(
            u(
                "node 20 api (fastify + pg + redis). p99 jumps to 2-4s roughly every 2 minutes for ~10s, then back to 40ms. cpu avg 35%, no errors, db dashboards look flat, only happens in prod (staging has a tenth of the traffic). memory is a sawtooth between 600MB and 1.4GB. no idea where to start"
            )
        ),
        "javascript",
        "node",
        "single",
        "performance",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
