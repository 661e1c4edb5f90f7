"""Multi-turn IDE chats, second batch: 2-12 turns with realistic assistant replies (code included), from
Continue, Cursor-chat and plain chat clients. The label follows the LAST request given the history: a hard
design talk can end in a docstring, an easy chat can end in lock-free code, and follow-ups such as "and the
other one?" or "still fails, same error" only make sense with what came before."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, a, case, code, req, s, u

CURSOR_CHAT = """You are an intelligent programmer, powered by Claude. You are happy to help answer any questions that the user has (usually they will be about coding).

1. When the user is asking for edits to their code, please output a simplified version of the code block that highlights the changes necessary and adds comments to indicate where unchanged code has been skipped.
2. Do not lie or make up facts.
3. If a user messages you in a foreign language, please respond in that language.
4. Format your response in markdown.
5. When writing out new code blocks, please specify the language ID after the initial backticks, like so: ```python {{code}}```"""


def attached(path: str, text: str, lines: str | None = None) -> str:
    """A file attached to a Cursor-chat message, the way the client inlines it."""
    span = f' lines="{lines}"' if lines else ""
    return f'<file_contents path="{path}"{span}>\n{text.strip()}\n</file_contents>'


def cursor_ask(files: list[str], query: str) -> str:
    return "<attached_files>\n" + "\n".join(files) + "\n</attached_files>\n<user_query>\n" + query + "\n</user_query>"


def continue_ctx(path: str, lang: str, text: str) -> str:
    """A context item as Continue inlines it: a fenced block whose info string is the file path."""
    return f"```{lang} {path}\n{text.strip()}\n```"


LOCAL = [
    case(
        "turns-go-ratelimit-doc-comments",
        "local",
        "After a hard distributed rate-limiting discussion the last ask is doc comments on a 30-line Go file.",
        req(
            s(CONTINUE_CHAT),
            u(
                "we need a rate limiter shared across 12 api pods, 100 req/s per api key with bursts up to 200. redis is available. token bucket or sliding window?"
            ),
            a(
                'Token bucket fits "rate + burst" directly. Keep the bucket in a Redis hash and update it atomically in a Lua script so concurrent pods can\'t double-spend tokens:\n\n'
                + code(
                    "lua bucket.lua",
                    """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local allowed, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
""",
                )
                + "\n\nThe Go side passes `time.Now().UnixMilli()` as ARGV[3]."
            ),
            u("what happens with clock skew between pods? we pass time.Now() from go"),
            a(
                "With skew, a pod whose clock is behind computes a negative `now - ts` and the bucket never refills for it, while a pod ahead refills early. Take the time from Redis instead, so every pod uses one clock: replace ARGV[3] with\n\n"
                + code(
                    "lua",
                    """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
""",
                )
                + "\n\nand the Go wrapper becomes:\n\n"
                + code(
                    "go ratelimit/limiter.go",
                    """
package ratelimit

import (
	"context"
	_ "embed"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed bucket.lua
var bucketLua string

var bucketScript = redis.NewScript(bucketLua)

type Limiter struct {
	rdb   *redis.Client
	rate  float64
	burst int
}

func New(rdb *redis.Client, rate float64, burst int) *Limiter {
	return &Limiter{rdb: rdb, rate: rate, burst: burst}
}

func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	res, err := bucketScript.Run(ctx, l.rdb, []string{"rl:" + key}, l.rate, l.burst).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
""",
                )
            ),
            u("ok makes sense. now just add doc comments to the exported stuff in limiter.go"),
        ),
        "go",
        "chat",
        "edit",
        "misleading",
    ),
    case(
        "turns-py-asyncio-rename-drain",
        "local",
        "The cancellation discussion is settled; the last ask is a rename across a 30-line snippet.",
        req(
            u(
                "my batch writer loses the last few rows when the app shuts down\n"
                + code(
                    "python",
                    """
class BatchWriter:
    def __init__(self, conn, size=500, interval=1.0):
        self.conn, self.size, self.interval = conn, size, interval
        self.buf = []
        self.task = asyncio.create_task(self._loop())

    async def add(self, row):
        self.buf.append(row)
        if len(self.buf) >= self.size:
            await self._drain()

    async def _loop(self):
        while True:
            await asyncio.sleep(self.interval)
            await self._drain()

    async def _drain(self):
        rows, self.buf = self.buf, []
        if rows:
            await self.conn.copy_records_to_table("events", records=rows)

    async def close(self):
        self.task.cancel()
""",
                )
            ),
            a(
                "`close()` cancels the loop but never flushes what is still in `buf`, and if the cancel lands while `_drain` is awaiting the COPY, that batch is dropped too because `self.buf` was already swapped out. Make `close()` wait for the loop to stop and then flush:\n\n"
                + code(
                    "python",
                    """
    async def close(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self._drain()
""",
                )
                + "\n\nand shield the COPY so a cancel during a flush doesn't lose the batch in flight:\n\n"
                + code(
                    "python",
                    """
    async def _drain(self):
        rows, self.buf = self.buf, []
        if rows:
            await asyncio.shield(self.conn.copy_records_to_table("events", records=rows))
""",
                )
            ),
            u(
                "nice, that fixed it. the team wants clearer names tho: rename _drain to _flush_pending and update every place that calls it"
            ),
        ),
        "python",
        "chat",
        "edit",
    ),
    case(
        "turns-rust-derive-other-one",
        "local",
        "'and the other one?' asks for the same derive on the remaining struct the error named.",
        req(
            u(
                "getting this when I call config.clone()\n"
                + code(
                    "rust",
                    """
#[derive(Deserialize)]
pub struct Config {
    pub server: ServerConfig,
    pub db: DbConfig,
}

#[derive(Deserialize)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
}

#[derive(Deserialize)]
pub struct DbConfig {
    pub url: String,
    pub max_connections: u32,
}
""",
                )
                + "\n```\nerror[E0599]: no method named `clone` found for struct `Config` in the current scope\n```"
            ),
            a(
                "`Config` doesn't implement `Clone`. Derive it, and since deriving `Clone` on `Config` requires every field to be `Clone`, derive it on the nested struct too:\n\n"
                + code(
                    "rust",
                    """
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub server: ServerConfig,
    pub db: DbConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
}
""",
                )
            ),
            u("error[E0277]: the trait bound `DbConfig: Clone` is not satisfied\n\nand the other one?"),
        ),
        "rust",
        "chat",
        "followup",
        "edit",
    ),
    case(
        "turns-ts-zod-optional-default",
        "local",
        "A small follow-up edit to a zod schema written in the previous turn.",
        req(
            s(CONTINUE_CHAT),
            u(
                "zod schema for this type pls\n"
                + code("ts", "type NewUser = { name: string; email: string; role: 'admin' | 'user'; age?: number }")
            ),
            a(
                code(
                    "ts src/schemas/user.ts",
                    """
import { z } from "zod";

export const NewUserSchema = z.object({
  name: z.string().min(1),
  email: z.string().email(),
  role: z.enum(["admin", "user"]),
  age: z.number().int().nonnegative().optional(),
});

export type NewUser = z.infer<typeof NewUserSchema>;
""",
                )
            ),
            u("make email optional and role default to 'user' when missing"),
        ),
        "typescript",
        "chat",
        "edit",
    ),
    case(
        "turns-java-record-now-lineitem",
        "local",
        "Converting a second small class to a record the same way as the first.",
        req(
            u(
                "can these be records? java 17\n"
                + code(
                    "java",
                    """
public final class Money {
    private final BigDecimal amount;
    private final Currency currency;
    public Money(BigDecimal amount, Currency currency) {
        this.amount = Objects.requireNonNull(amount);
        this.currency = Objects.requireNonNull(currency);
    }
    public BigDecimal getAmount() { return amount; }
    public Currency getCurrency() { return currency; }
    // equals, hashCode, toString generated by IntelliJ
}

public final class LineItem {
    private final String sku;
    private final int quantity;
    private final Money unitPrice;
    private final List<String> tags;
    public LineItem(String sku, int quantity, Money unitPrice, List<String> tags) {
        if (quantity <= 0) throw new IllegalArgumentException("quantity must be positive");
        this.sku = sku;
        this.quantity = quantity;
        this.unitPrice = unitPrice;
        this.tags = tags;
    }
    public String getSku() { return sku; }
    public int getQuantity() { return quantity; }
    public Money getUnitPrice() { return unitPrice; }
    public List<String> getTags() { return tags; }
}
""",
                )
            ),
            a(
                "Yes. Money first; the null checks move into a compact constructor:\n\n"
                + code(
                    "java",
                    """
public record Money(BigDecimal amount, Currency currency) {
    public Money {
        Objects.requireNonNull(amount);
        Objects.requireNonNull(currency);
    }
}
""",
                )
                + "\n\nCallers change from `getAmount()` to `amount()`."
            ),
            u("cool now LineItem too"),
        ),
        "java",
        "chat",
        "followup",
        "edit",
    ),
    case(
        "turns-sql-islands-format",
        "local",
        "After a gaps-and-islands query was worked out, the last ask is to reformat it.",
        req(
            u(
                "need the longest streak of consecutive login days per user. table logins(user_id, login_at timestamptz), postgres"
            ),
            a(
                "Classic gaps-and-islands: dedupe to days, subtract a row number from the date so consecutive days share a group key, then take the biggest group.\n\n"
                + code(
                    "sql",
                    """
with days as (select distinct user_id, login_at::date as d from logins),
grp as (select user_id, d, d - (row_number() over (partition by user_id order by d))::int as g from days)
select user_id, max(cnt) as longest_streak from (select user_id, g, count(*) as cnt from grp group by user_id, g) s group by user_id order by longest_streak desc;
""",
                )
            ),
            u("works!! 👍"),
            a(
                "Glad it works. If you also want the start and end date of each streak, select `min(d)` and `max(d)` in the inner grouping."
            ),
            u(
                "sqlfluff in CI hates it. format it properly: uppercase keywords, one column per line, each CTE on its own lines"
            ),
        ),
        "sql",
        "chat",
        "format",
    ),
    case(
        "turns-bash-getopts-verbose",
        "local",
        "Adding one more flag to a getopts loop shown in the chat.",
        req(
            u("bash script that takes -e env and -t tag, both required, and deploys"),
            a(
                code(
                    "bash deploy.sh",
                    """
#!/usr/bin/env bash
set -euo pipefail

usage() { echo "usage: $0 -e <env> -t <tag>" >&2; exit 2; }

ENV="" TAG=""
while getopts ":e:t:" opt; do
  case "$opt" in
    e) ENV="$OPTARG" ;;
    t) TAG="$OPTARG" ;;
    *) usage ;;
  esac
done
[[ -z "$ENV" || -z "$TAG" ]] && usage

helm upgrade --install api ./chart -f "values/$ENV.yaml" --set image.tag="$TAG"
""",
                )
            ),
            u("only staging and prod should be accepted for -e"),
            a(
                "Validate it right after the required-args check:\n\n"
                + code(
                    "bash",
                    """
case "$ENV" in
  staging|prod) ;;
  *) echo "unknown env: $ENV (expected staging or prod)" >&2; exit 2 ;;
esac
""",
                )
            ),
            u("add -v for verbose that turns on set -x, and -n for dry run that passes --dry-run to helm"),
        ),
        "shell",
        "chat",
        "edit",
    ),
    case(
        "turns-kotlin-data-class-copy",
        "local",
        "Explaining data-class copy() on code already in the chat: textbook Kotlin.",
        req(
            u(
                "reviewing a PR and I don't get this line\n"
                + code(
                    "kotlin",
                    """
data class Settings(val theme: String = "light", val fontSize: Int = 14, val beta: Boolean = false)

fun toggleBeta(s: Settings) = s.copy(beta = !s.beta)
""",
                )
            ),
            a("`toggleBeta` returns a new `Settings` with `beta` flipped and the other fields unchanged."),
            u("but where does copy come from, we never defined it? and does it deep copy lists if there were any"),
        ),
        "kotlin",
        "chat",
        "question",
    ),
    case(
        "turns-swift-guard-let",
        "local",
        "Rewriting nested if-lets from the previous answer as guard statements.",
        req(
            u("parse this json dict into a User in swift without Codable, it's from an old objc api"),
            a(
                code(
                    "swift",
                    """
func parseUser(_ dict: [String: Any]) -> User? {
    if let id = dict["id"] as? Int {
        if let name = dict["name"] as? String {
            if let email = dict["email"] as? String {
                let avatar = (dict["avatar_url"] as? String).flatMap(URL.init(string:))
                return User(id: id, name: name, email: email, avatarURL: avatar)
            }
        }
    }
    return nil
}
""",
                )
            ),
            u("pyramid of doom lol. rewrite with guard let"),
        ),
        "swift",
        "chat",
        "edit",
    ),
    case(
        "turns-csharp-switch-expression",
        "local",
        "Converting a switch statement to a switch expression.",
        req(
            s(COPILOT_LIKE),
            u("why does the compiler say not all code paths return a value here"),
            a(
                "Because `default` falls out of the switch without returning. Add `default: throw new ArgumentOutOfRangeException(nameof(status));` and it compiles:\n\n"
                + code(
                    "csharp",
                    """
public static string Label(OrderStatus status)
{
    switch (status)
    {
        case OrderStatus.Pending:
            return "Waiting for payment";
        case OrderStatus.Paid:
            return "Paid";
        case OrderStatus.Shipped:
            return "On its way";
        case OrderStatus.Cancelled:
            return "Cancelled";
        default:
            throw new ArgumentOutOfRangeException(nameof(status));
    }
}
""",
                )
            ),
            u("can you make it a switch expression, expression-bodied"),
        ),
        "csharp",
        "chat",
        "edit",
    ),
    case(
        "turns-ruby-each-with-object",
        "local",
        "Making a small Ruby method idiomatic.",
        req(
            u(
                "group these orders by customer and sum totals\n"
                + code(
                    "ruby",
                    "orders = [{customer: 'a', total: 10}, {customer: 'b', total: 5}, {customer: 'a', total: 7}]",
                )
            ),
            a(
                code(
                    "ruby",
                    """
def totals_by_customer(orders)
  result = {}
  orders.each do |o|
    result[o[:customer]] ||= 0
    result[o[:customer]] += o[:total]
  end
  result
end
""",
                )
            ),
            u("rubocop says it's not idiomatic. use each_with_object or whatever is nicest"),
        ),
        "ruby",
        "chat",
        "edit",
    ),
    case(
        "turns-cpp-lock-guard-vs-unique-lock",
        "local",
        "Why cv.wait needs unique_lock: a textbook question about code in the chat.",
        req(
            u("simple thread pool in c++17, fixed number of workers, submit(std::function<void()>)"),
            a(
                code(
                    "cpp",
                    """
class ThreadPool {
public:
    explicit ThreadPool(size_t n) {
        for (size_t i = 0; i < n; ++i) workers_.emplace_back([this] { worker(); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }
    void submit(std::function<void()> job) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            jobs_.push(std::move(job));
        }
        cv_.notify_one();
    }
private:
    void worker() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [this] { return stop_ || !jobs_.empty(); });
                if (stop_ && jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop();
            }
            job();
        }
    }
    std::vector<std::thread> workers_;
    std::queue<std::function<void()>> jobs_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
};
""",
                )
            ),
            u("why unique_lock in worker() but lock_guard everywhere else? can't I just use lock_guard there too"),
        ),
        "cpp",
        "chat",
        "question",
    ),
    case(
        "turns-go-raft-log-typo",
        "local",
        "A consensus discussion ends with fixing typos and casing in log messages.",
        req(
            u("in our raft impl, when is it safe for the leader to advance commitIndex?"),
            a(
                "Only for an index N where a majority has matchIndex >= N **and** log[N].term == currentTerm. Entries from earlier terms are committed indirectly when a current-term entry above them commits (Raft paper, section 5.4.2).\n\n"
                + code(
                    "go",
                    """
func (r *Raft) maybeAdvanceCommit() {
	for n := r.lastLogIndex(); n > r.commitIndex; n-- {
		if r.log[n].Term != r.currentTerm {
			break
		}
		votes := 1
		for _, p := range r.peers {
			if r.matchIndex[p] >= n {
				votes++
			}
		}
		if votes*2 > len(r.peers)+1 {
			log.Printf("Leader %d: Commited index %d (term %d)", r.id, n, r.currentTerm)
			r.commitIndex = n
			r.applyCond.Broadcast()
			return
		}
	}
	log.Printf("Leader %d: Nothing to commmit, commitIndex=%d", r.id, r.commitIndex)
}
""",
                )
            ),
            u(
                "ok that matches what we have now. last thing, fix the typos in those two log lines and make them lowercase like the rest of our logs"
            ),
        ),
        "go",
        "chat",
        "edit",
        "misleading",
    ),
    case(
        "turns-js-slugify-to-python",
        "local",
        "Porting a short string function from JS to Python.",
        req(
            u(
                "what does this do exactly\n"
                + code(
                    "js",
                    r"""
export const slugify = (s) =>
  s.normalize("NFKD")
   .replace(/[\u0300-\u036f]/g, "")
   .toLowerCase()
   .trim()
   .replace(/[^a-z0-9]+/g, "-")
   .replace(/^-+|-+$/g, "");
""",
                )
            ),
            a(
                'It makes URL slugs: splits accented letters into base letter + combining mark (NFKD) and drops the marks, lowercases, turns every run of non-alphanumerics into one `-`, and trims leading/trailing dashes. `"Crème Brûlée!"` → `"creme-brulee"`.'
            ),
            u("need the same in python for the backend, no extra packages"),
        ),
        "python",
        "javascript",
        "chat",
        "language-switch",
    ),
    case(
        "turns-go-table-test-parsesize",
        "local",
        "A table-driven test for a pure parsing function built up over the previous turns.",
        req(
            u("func to parse sizes like 512K, 10M, 2G into bytes in go"),
            a(
                code(
                    "go",
                    """
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}
""",
                )
            ),
            u("panics on empty string lol. also lowercase should work"),
            a(
                "Fixed both: uppercase the input before switching on the suffix, and return an error for an empty string before indexing it."
            ),
            u("and wrap the parse error with the input so the config loader's message makes sense"),
            a(
                code(
                    "go",
                    """
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	if s == "" {
		return 0, errors.New("empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	return n * mult, nil
}
""",
                )
            ),
            u("good. table driven test for it pls, include the error cases"),
        ),
        "go",
        "chat",
        "tests",
    ),
    case(
        "turns-continue-ts-explain-comments",
        "local",
        "Comments on a short attached function, Continue style.",
        req(
            s(CONTINUE_CHAT),
            u(
                continue_ctx(
                    "src/lib/retry.ts",
                    "ts",
                    """
export async function retry<T>(fn: () => Promise<T>, opts: { tries?: number; baseMs?: number } = {}): Promise<T> {
  const tries = opts.tries ?? 4;
  const base = opts.baseMs ?? 200;
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      if (i === tries - 1) break;
      const jitter = Math.random() * base;
      await new Promise((r) => setTimeout(r, base * 2 ** i + jitter));
    }
  }
  throw last;
}
""",
                )
                + "\n\nwhy does it wait up to ~2s in total when baseMs is 200?"
            ),
            a(
                "The delay doubles each attempt: 200, 400 and 800 ms before attempts 2, 3 and 4, plus up to 200 ms of random jitter each time. That's 1.4 s without jitter and up to 2.0 s with it; there's no wait after the last attempt because the loop breaks before sleeping."
            ),
            u("makes sense. add comments explaining each step, a junior is going to maintain this"),
        ),
        "typescript",
        "chat",
        "edit",
        "attached-file",
    ),
    case(
        "turns-cursor-regex-explain",
        "local",
        "Explaining a short regex in an attached selection.",
        req(
            s(CURSOR_CHAT),
            u(
                cursor_ask(
                    [
                        attached(
                            "app/validators/phone.py",
                            r"""
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
LOOSE = re.compile(r"^\+?(\d{1,3})?[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$")
""",
                            "8-9",
                        )
                    ],
                    "what does \\d{1,14} mean in the first one",
                )
            ),
            a(
                "`\\d{1,14}` is 1 to 14 digits. Together with the leading `[1-9]` that allows 2 to 15 digits after the `+`, and 15 is the maximum length of an E.164 number."
            ),
            u("ok and what's the difference between the two, which inputs does LOOSE accept that E164 doesnt"),
        ),
        "python",
        "chat",
        "regex",
        "attached-file",
    ),
    case(
        "turns-ts-atomics-then-default-export",
        "local",
        "After a lock-free SharedArrayBuffer discussion, the last ask is an ES module export error.",
        req(
            u(
                "I need to pass audio frames from an AudioWorklet to a worker without postMessage, single producer single consumer"
            ),
            a(
                "Use a SharedArrayBuffer ring with two Int32 indices updated through `Atomics` — the producer only writes `head`, the consumer only writes `tail`, and each publishes its index with `Atomics.store` after touching the data:\n\n"
                + code(
                    "ts src/audio/ring.ts",
                    """
export class SpscRing {
  private idx: Int32Array;   // [head, tail]
  private data: Float32Array;
  constructor(sab: SharedArrayBuffer, private capacity: number) {
    this.idx = new Int32Array(sab, 0, 2);
    this.data = new Float32Array(sab, 8, capacity);
  }
  push(frame: Float32Array): boolean {
    const head = Atomics.load(this.idx, 0);
    const tail = Atomics.load(this.idx, 1);
    if ((head - tail + this.capacity) % this.capacity + frame.length >= this.capacity) return false;
    for (let i = 0; i < frame.length; i++) this.data[(head + i) % this.capacity] = frame[i];
    Atomics.store(this.idx, 0, (head + frame.length) % this.capacity);
    return true;
  }
  pop(out: Float32Array): boolean {
    const tail = Atomics.load(this.idx, 1);
    const head = Atomics.load(this.idx, 0);
    if ((head - tail + this.capacity) % this.capacity < out.length) return false;
    for (let i = 0; i < out.length; i++) out[i] = this.data[(tail + i) % this.capacity];
    Atomics.store(this.idx, 1, (tail + out.length) % this.capacity);
    return true;
  }
}
""",
                )
                + "\n\nAtomics operations are sequentially consistent in JS, so the data writes are visible before the index that publishes them."
            ),
            u(
                "ok wired it up. now main.ts says `The requested module './audio/ring.ts' does not provide an export named 'default'` — I wrote `import SpscRing from './audio/ring'`. how do I make it the default export, or should I import it differently?"
            ),
        ),
        "typescript",
        "chat",
        "question",
        "misleading",
    ),
    case(
        "turns-pandas-session-rename-columns",
        "local",
        "A ten-turn notebook session of small pandas steps; the last ask is renaming and rounding columns.",
        req(
            s(CONTINUE_CHAT),
            u(
                "load orders.csv with pandas, OrderDate is a date, OrderTotal uses a comma as decimal separator (german export)"
            ),
            a(
                code(
                    "python",
                    'df = pd.read_csv("orders.csv", sep=";", decimal=",", parse_dates=["OrderDate"], dayfirst=True)',
                )
            ),
            u("some rows have no Country, drop them"),
            a(code("python", 'df = df.dropna(subset=["Country"])')),
            u("and only 2024"),
            a(code("python", 'df = df[df["OrderDate"].dt.year == 2024]')),
            u("Country has 'DE' and 'Germany' and 'de ' mixed, normalize to ISO codes"),
            a(
                code(
                    "python",
                    """
COUNTRY_FIX = {"GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "UNITED KINGDOM": "GB", "UK": "GB"}
df["Country"] = df["Country"].str.strip().str.upper().replace(COUNTRY_FIX)
""",
                )
            ),
            u("how many rows per country now?"),
            a(code("python", 'df["Country"].value_counts()')),
            u("ok. avg order value and order count per country per month"),
            a(
                code(
                    "python",
                    """
monthly = (
    df.groupby([df["OrderDate"].dt.to_period("M"), "Country"])["OrderTotal"]
    .agg(["mean", "count"])
    .reset_index()
)
""",
                )
            ),
            u("only countries with at least 50 orders in the year"),
            a(
                code(
                    "python",
                    """
big = df["Country"].value_counts()
monthly = monthly[monthly["Country"].isin(big[big >= 50].index)]
""",
                )
            ),
            u("sort by month then by count desc"),
            a(code("python", 'monthly = monthly.sort_values(["OrderDate", "count"], ascending=[True, False])')),
            u("plot?"),
            a(
                code(
                    "python", 'monthly.pivot(index="OrderDate", columns="Country", values="mean").plot(figsize=(10, 5))'
                )
            ),
            u(
                "nice. last thing before I export it: rename the columns to snake_case month, country, avg_order_value, order_count and round the avg to 2 decimals"
            ),
        ),
        "python",
        "chat",
        "edit",
        "long-conversation",
    ),
    case(
        "turns-rust-clippy-range-loop",
        "local",
        "Applying a clippy suggestion to a loop pasted in the chat.",
        req(
            u(
                "first rust project, is this checksum fn ok?\n"
                + code(
                    "rust",
                    "fn checksum(data: &[u8]) -> u32 {\n    let mut sum: u32 = 0;\n    for i in 0..data.len() {\n        sum = sum.wrapping_add(data[i] as u32);\n    }\n    sum\n}",
                )
            ),
            a(
                "It's correct: `wrapping_add` avoids overflow panics in debug builds. Stylistically you can iterate over the slice directly instead of indexing."
            ),
            u(
                "yeah clippy says\n```\nwarning: the loop variable `i` is only used to index `data`\n  --> src/lib.rs:3:14\n   |\n3  |     for i in 0..data.len() {\n   |              ^^^^^^^^^^^^^\n   = help: for further information visit https://rust-lang.github.io/rust-clippy/master/index.html#needless_range_loop\n```\nfix it, or even nicer with an iterator chain?"
            ),
        ),
        "rust",
        "chat",
        "edit",
    ),
    case(
        "turns-kotlin-ext-to-java",
        "local",
        "Translating a tiny Kotlin extension function for a Java caller.",
        req(
            u("kotlin: extension to check if a string is a valid hex color"),
            a(
                code(
                    "kotlin",
                    'fun String.isHexColor(): Boolean = Regex("^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").matches(this)',
                )
            ),
            u(
                "part of the codebase is still java, how do I call that from java? or just give me the java version as a static util"
            ),
        ),
        "java",
        "kotlin",
        "chat",
        "language-switch",
    ),
    case(
        "turns-mysql-alias-still-fails",
        "local",
        "'still fails, same error': the user kept the alias in WHERE; the fix is obvious from the pasted query.",
        req(
            u(
                "ERROR 1054 (42S22): Unknown column 'total' in 'where clause'\n"
                + code(
                    "sql",
                    "SELECT customer_id, SUM(amount) AS total FROM orders WHERE total > 1000 GROUP BY customer_id;",
                )
            ),
            a(
                "WHERE runs before aggregation, so the alias `total` doesn't exist yet. Filter on the aggregate with HAVING:\n\n"
                + code(
                    "sql",
                    "SELECT customer_id, SUM(amount) AS total\nFROM orders\nGROUP BY customer_id\nHAVING total > 1000;",
                )
            ),
            u(
                "still fails, same error\n"
                + code(
                    "sql",
                    """
SELECT customer_id, SUM(amount) AS total
FROM orders
WHERE status = 'paid' AND total > 1000
GROUP BY customer_id
HAVING total > 1000;
""",
                )
            ),
        ),
        "sql",
        "chat",
        "followup",
        "debug",
    ),
    case(
        "turns-swift-codingkeys",
        "local",
        "Adding CodingKeys / a decoder strategy to a small Codable struct.",
        req(
            u(
                "decode this response in swift\n"
                + code(
                    "json",
                    '{"user_id": 42, "display_name": "Ana", "created_at": "2024-05-01T10:00:00Z", "is_admin": false}',
                )
            ),
            a(
                code(
                    "swift",
                    """
struct User: Decodable {
    let userId: Int
    let displayName: String
    let createdAt: Date
    let isAdmin: Bool
}

let decoder = JSONDecoder()
decoder.dateDecodingStrategy = .iso8601
let user = try decoder.decode(User.self, from: data)
""",
                )
            ),
            u('keyNotFound(CodingKeys(stringValue: "userId") ... what did I miss'),
        ),
        "swift",
        "chat",
        "debug",
    ),
    case(
        "turns-csharp-cs8618",
        "local",
        "Fixing nullable-reference warnings on a DTO: mechanical.",
        req(
            s(COPILOT_LIKE),
            u("turned on <Nullable>enable</Nullable> and now 40 warnings. start with this one"),
            a("Sure, paste the class and the warning."),
            u(
                code(
                    "csharp",
                    """
public class CustomerDto
{
    public int Id { get; set; }
    public string Name { get; set; }
    public string Email { get; set; }
    public string PhoneNumber { get; set; }   // optional
    public AddressDto Address { get; set; }   // optional
    public List<string> Tags { get; set; }
}
""",
                )
                + "\nwarning CS8618: Non-nullable property 'Name' must contain a non-null value when exiting constructor. Consider declaring the property as nullable."
            ),
        ),
        "csharp",
        "chat",
        "edit",
    ),
    case(
        "turns-java-assertj-after-fix",
        "local",
        "A long Spring debugging session ends with a mechanical assertion rewrite.",
        req(
            u(
                "@Transactional on my service method doesn't roll back when the second save fails\n"
                + code(
                    "java",
                    """
@Service
public class TransferService {
    public void transfer(long from, long to, BigDecimal amount) {
        doTransfer(from, to, amount);
    }

    @Transactional
    void doTransfer(long from, long to, BigDecimal amount) {
        accounts.debit(from, amount);
        accounts.credit(to, amount);   // throws on frozen account
    }
}
""",
                )
            ),
            a(
                "`transfer()` calls `doTransfer()` on `this`, so the call never goes through the Spring proxy and `@Transactional` is ignored (it's also package-private, which proxies skip). Put `@Transactional` on the public `transfer()` method, or move `doTransfer` to another bean."
            ),
            u("moved it to transfer(), now it rolls back for RuntimeException but not for our FrozenAccountException"),
            a(
                "By default Spring rolls back only on unchecked exceptions. `FrozenAccountException` is checked, so either `@Transactional(rollbackFor = FrozenAccountException.class)` or make it extend `RuntimeException`."
            ),
            u(
                "rollbackFor did it, test passes\n"
                + code(
                    "java",
                    """
@Test
void transferRollsBackWhenTargetFrozen() {
    accounts.freeze(2L);
    assertThrows(FrozenAccountException.class, () -> service.transfer(1L, 2L, new BigDecimal("50.00")));
    assertEquals(new BigDecimal("100.00"), accounts.balance(1L));
    assertEquals(new BigDecimal("0.00"), accounts.balance(2L));
    assertTrue(accounts.history(1L).isEmpty());
}
""",
                )
            ),
            a("Looks right: the balances and history are unchanged after the rollback."),
            u("team uses assertj everywhere, rewrite the assertions with assertThat / assertThatThrownBy"),
        ),
        "java",
        "chat",
        "edit",
        "tests",
    ),
    case(
        "turns-go-errorf-wrap",
        "local",
        "Switching %v to %w in error wrapping: mechanical.",
        req(
            u(
                "errors.Is(err, sql.ErrNoRows) is false in my handler even though the repo returns ErrNoRows. repo code:\n"
                + code(
                    "go",
                    """
func (r *Repo) GetUser(ctx context.Context, id int64) (*User, error) {
	var u User
	err := r.db.QueryRowContext(ctx, `SELECT id, email FROM users WHERE id = $1`, id).Scan(&u.ID, &u.Email)
	if err != nil {
		return nil, fmt.Errorf("get user %d: %v", id, err)
	}
	return &u, nil
}

func (r *Repo) GetOrg(ctx context.Context, id int64) (*Org, error) {
	var o Org
	err := r.db.QueryRowContext(ctx, `SELECT id, name FROM orgs WHERE id = $1`, id).Scan(&o.ID, &o.Name)
	if err != nil {
		return nil, fmt.Errorf("get org %d: %v", id, err)
	}
	return &o, nil
}
""",
                )
            ),
            a(
                "`%v` formats the error into a new string and drops the chain, so `errors.Is` can't see `sql.ErrNoRows`. Wrap with `%w` instead."
            ),
            u("ok change both of them"),
        ),
        "go",
        "chat",
        "edit",
    ),
    case(
        "turns-ruby-rspec-let",
        "local",
        "Converting before-block instance variables to let: mechanical RSpec edit.",
        req(
            u(
                "this spec works but feels old school\n"
                + code(
                    "ruby",
                    """
RSpec.describe InvoiceMailer do
  before do
    @customer = create(:customer, email: "ap@example.com")
    @invoice = create(:invoice, customer: @customer, total_cents: 12_500)
    @mail = InvoiceMailer.issued(@invoice)
  end

  it "sends to the customer" do
    expect(@mail.to).to eq(["ap@example.com"])
  end

  it "mentions the total" do
    expect(@mail.body.encoded).to include("$125.00")
  end
end
""",
                )
            ),
            a(
                "It's fine functionally. Modern RSpec style prefers `let` over instance variables in `before`, and `subject` for the thing under test."
            ),
            u("do that then"),
        ),
        "ruby",
        "chat",
        "edit",
        "tests",
    ),
]


SONNET = [
    case(
        "turns-py-sqlalchemy-detached-evidence",
        "sonnet",
        "Third round of a session-lifetime bug with a new traceback each turn; needs a pattern across endpoints and background tasks.",
        req(
            s(CONTINUE_CHAT),
            u(
                "fastapi + sqlalchemy 2.0\n"
                + code(
                    "python",
                    """
@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: int):
    with SessionLocal() as s:
        order = s.get(Order, order_id)
    return order
""",
                )
                + "\n```\nsqlalchemy.orm.exc.DetachedInstanceError: Parent instance <Order at 0x7f3a1c2b5d90> is not bound to a Session; lazy load operation of attribute 'items' cannot proceed\n```"
            ),
            a(
                "The session closes before FastAPI serializes the response, and `items` is lazy-loaded during serialization. Either serialize inside the `with` block or eager-load the relationship:\n\n"
                + code("python", "order = s.get(Order, order_id, options=[selectinload(Order.items)])")
            ),
            u(
                "that fixed GET. now PATCH blows up\n"
                + code(
                    "python",
                    """
@router.patch("/orders/{order_id}", response_model=OrderOut)
def update_order(order_id: int, patch: OrderPatch):
    with SessionLocal() as s:
        order = s.get(Order, order_id, options=[selectinload(Order.items)])
        order.status = patch.status
        s.commit()
    return order
""",
                )
                + "\n```\nsqlalchemy.orm.exc.DetachedInstanceError: Instance <Order at 0x7f3a1c0e2f10> is not bound to a Session; attribute refresh operation cannot proceed\n```"
            ),
            a(
                "`commit()` expires every loaded attribute (`expire_on_commit=True` by default), so reading `order.status` after the session closes needs a refresh that can't happen. Either `s.refresh(order)` before leaving the block, or create the sessionmaker with `expire_on_commit=False`."
            ),
            u(
                "went with expire_on_commit=False on the sessionmaker. GET and PATCH are fine now but the email task fails\n"
                + code(
                    "python",
                    """
@router.post("/orders/{order_id}/ship")
def ship(order_id: int, background: BackgroundTasks):
    with SessionLocal() as s:
        order = s.get(Order, order_id)
        order.status = "shipped"
        s.commit()
    background.add_task(send_shipped_email, order)
    return {"ok": True}

def send_shipped_email(order: Order):
    mailer.send(order.customer.email, render("shipped.html", order=order, items=order.items))
""",
                )
                + "\n```\nsqlalchemy.orm.exc.DetachedInstanceError: Parent instance <Order at 0x7f3a1bf9a2d0> is not bound to a Session; lazy load operation of attribute 'customer' cannot proceed\n```\nwe have ~30 endpoints like this. what's the right pattern so I'm not sprinkling selectinload everywhere and playing whack-a-mole?"
            ),
        ),
        "python",
        "chat",
        "debug",
    ),
    case(
        "turns-ts-fetch-retry-abort-tests",
        "sonnet",
        "An easy wrapper grows into retries with Retry-After, abortable backoff and fake-timer tests.",
        req(
            u("tiny typed wrapper around fetch that throws on non-2xx and parses json"),
            a(
                code(
                    "ts src/http.ts",
                    """
export class HttpError extends Error {
  constructor(public status: number, public body: string) {
    super(`HTTP ${status}`);
  }
}

export async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: { Accept: "application/json", ...init.headers } });
  if (!res.ok) throw new HttpError(res.status, await res.text());
  return (await res.json()) as T;
}
""",
                )
            ),
            u(
                "now add retries: exponential backoff with jitter, only on 429 and 5xx and network errors, honour Retry-After (seconds or http date), max 5 attempts. callers pass an AbortSignal and aborting must also cancel a backoff wait immediately. then vitest tests with fake timers for all of that"
            ),
        ),
        "typescript",
        "chat",
        "implement",
        "tests",
    ),
    case(
        "turns-go-goroutine-leak-pprof",
        "sonnet",
        "A goroutine leak shown by a pprof dump: unbuffered result channel abandoned on timeout, standard fix.",
        req(
            u("our go service's memory grows ~200MB/day until OOM. heap profile looks boring. where do I look"),
            a(
                "Check the goroutine count first: `curl localhost:6060/debug/pprof/goroutine?debug=1 | head -50`. A steadily growing number with the same stack usually means goroutines blocked forever."
            ),
            u(
                "48k goroutines lol\n"
                + code(
                    "text",
                    """
goroutine profile: total 48211
48190 @ 0x43b0d6 0x4073ec 0x406f78 0x8a41c5 0x46f2e1
#	0x8a41c4	github.com/acme/crawler/fetch.(*Fetcher).fetchOne.func1+0xa4	/src/fetch/fetch.go:41

9 @ 0x43b0d6 0x44b3d1 0x7a2e55 0x46f2e1
#	0x7a2e54	net/http.(*persistConn).readLoop+0x9b4	/usr/local/go/src/net/http/transport.go:2238
""",
                )
                + "\n"
                + code(
                    "go",
                    """
func (f *Fetcher) fetchOne(ctx context.Context, url string) ([]byte, error) {
	ch := make(chan result)
	go func() {
		b, err := f.get(url) // plain http.Get + io.ReadAll
		ch <- result{b, err}  // line 41
	}()
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
""",
                )
                + "\ncallers use a 2s context timeout"
            ),
        ),
        "go",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-java-computeifabsent-recursive",
        "sonnet",
        "Recursive computeIfAbsent on ConcurrentHashMap: a known pitfall with a standard restructuring.",
        req(
            u(
                "memoizing dependency resolution, getting this under load only\n"
                + code(
                    "text",
                    """
java.lang.IllegalStateException: Recursive update
	at java.base/java.util.concurrent.ConcurrentHashMap.computeIfAbsent(ConcurrentHashMap.java:1763)
	at com.acme.build.Resolver.resolve(Resolver.java:34)
	at com.acme.build.Resolver.lambda$resolve$0(Resolver.java:37)
	at java.base/java.util.concurrent.ConcurrentHashMap.computeIfAbsent(ConcurrentHashMap.java:1708)
	at com.acme.build.Resolver.resolve(Resolver.java:34)
""",
                )
                + "\n"
                + code(
                    "java",
                    """
public class Resolver {
    private final Map<String, Set<String>> cache = new ConcurrentHashMap<>();
    private final Graph graph;

    public Set<String> resolve(String module) {
        return cache.computeIfAbsent(module, m -> {
            Set<String> all = new LinkedHashSet<>();
            for (String dep : graph.directDeps(m)) {
                all.add(dep);
                all.addAll(resolve(dep));
            }
            return Collections.unmodifiableSet(all);
        });
    }
}
""",
                )
            ),
            a(
                "The mapping function calls `resolve()` recursively, which calls `computeIfAbsent` on the same map from inside a compute. ConcurrentHashMap forbids modifying the map from inside the mapping function."
            ),
            u(
                "ok but single threaded it worked fine for months (with HashMap before someone switched to CHM). what's the proper fix that stays thread safe and doesn't resolve the same module twice under concurrency? the graph has ~4k modules and no cycles"
            ),
        ),
        "java",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-rust-lines-iterator-lifetimes",
        "sonnet",
        "A borrowing-iterator design after two rounds of lifetime errors: needs restructuring, not a one-line fix.",
        req(
            u(
                "how do I fix this\n"
                + code(
                    "rust",
                    """
pub struct Lines {
    buf: String,
    pos: usize,
}

impl Iterator for Lines {
    type Item = &str;
    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        let end = rest.find('\\n')?;
        self.pos += end + 1;
        Some(&rest[..end])
    }
}
""",
                )
                + "\nerror[E0106]: missing lifetime specifier"
            ),
            a(
                "Give the item a lifetime:\n\n"
                + code("rust", "impl<'a> Iterator for Lines {\n    type Item = &'a str;")
            ),
            u(
                "```\nerror[E0207]: the lifetime parameter `'a` is not constrained by the impl trait, self type, or predicates\n --> src/lines.rs:6:6\n  |\n6 | impl<'a> Iterator for Lines {\n  |      ^^ unconstrained lifetime parameter\n```"
            ),
            a(
                "Then tie it to the struct: `pub struct Lines<'a>` ... but `buf` is an owned `String`, so there's nothing for `'a` to borrow from."
            ),
            u(
                "right. context: I read chunks from a TcpStream into a String buffer, and I want to iterate complete lines without allocating a String per line, and keep the partial last line around for the next read. how should this actually be structured?"
            ),
        ),
        "rust",
        "chat",
        "debug",
        "design",
    ),
    case(
        "turns-cpp-cmake-still-fails-visibility",
        "sonnet",
        "'still fails, same error' with nm output and flags: hidden visibility needs an export macro, a multi-step link diagnosis.",
        req(
            u(
                "linker error after splitting metrics into its own shared lib\n```\n/usr/bin/ld: CMakeFiles/app.dir/src/main.cpp.o: in function `main':\nmain.cpp:(.text+0x1a7): undefined reference to `metrics::Registry::counter(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)'\ncollect2: error: ld returned 1 exit status\n```"
            ),
            a(
                "`app` probably isn't linked against the new library. In CMake: `target_link_libraries(app PRIVATE metrics)`."
            ),
            u(
                "still fails, same error. it's already there\n"
                + code(
                    "cmake",
                    """
cmake_minimum_required(VERSION 3.20)
project(svc CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

add_library(metrics SHARED src/metrics/registry.cpp src/metrics/counter.cpp)
target_include_directories(metrics PUBLIC include)

add_executable(app src/main.cpp)
target_link_libraries(app PRIVATE metrics)
""",
                )
                + "\n```\n$ nm -C build/libmetrics.so | grep Registry::counter\n0000000000012f40 t metrics::Registry::counter(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)\n```\nthe symbol is right there??"
            ),
        ),
        "cpp",
        "chat",
        "debug",
        "build",
        "followup",
    ),
    case(
        "turns-kotlin-runcatching-cancellation",
        "sonnet",
        "runCatching swallowing CancellationException in a polling loop: a known coroutine pitfall with a standard fix.",
        req(
            u(
                "my polling job doesn't stop when the screen closes\n"
                + code(
                    "kotlin",
                    """
class OrdersViewModel(private val api: OrdersApi) : ViewModel() {
    val orders = MutableStateFlow<List<Order>>(emptyList())

    fun startPolling() {
        viewModelScope.launch(Dispatchers.IO) {
            while (true) {
                runCatching {
                    orders.value = api.fetchOrders()
                    delay(5_000)
                }.onFailure { Log.w("Orders", "poll failed", it) }
            }
        }
    }
}
""",
                )
            ),
            a(
                "viewModelScope is cancelled in `onCleared()`, so the coroutine should stop. Are you sure the ViewModel is cleared? Check that the fragment isn't holding it via `activityViewModels()`."
            ),
            u(
                "it IS cleared, I logged onCleared. but logcat keeps printing this every few ms after leaving, and the requests stop but the loop spins\n```\nW/Orders: poll failed\n    kotlinx.coroutines.JobCancellationException: Job was cancelled; job=SupervisorJobImpl{Cancelling}@5c1e3b2\n```"
            ),
        ),
        "kotlin",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-swift-actor-reentrancy",
        "sonnet",
        "Actor reentrancy causing duplicate downloads: a known Swift concurrency pitfall with the in-flight Task fix.",
        req(
            u(
                "made my image loader an actor so it's thread safe\n"
                + code(
                    "swift",
                    """
actor ImageLoader {
    private var cache: [URL: UIImage] = [:]

    func image(for url: URL) async throws -> UIImage {
        if let cached = cache[url] { return cached }
        let (data, _) = try await URLSession.shared.data(from: url)
        guard let image = UIImage(data: data) else { throw LoaderError.badData }
        cache[url] = image
        return image
    }
}
""",
                )
            ),
            a("That's a reasonable design; the actor serializes access to `cache`, so there are no data races."),
            u(
                "ok but Charles shows every avatar in the feed downloaded 3-4 times when I scroll fast. same URL, same session. I thought the actor only runs one call at a time?"
            ),
        ),
        "swift",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-csharp-result-deadlock",
        "sonnet",
        "Sync-over-async deadlock on a UI synchronization context: a known pitfall; the fix has to reach the call chain.",
        req(
            u(
                "this works in our console tool but hangs forever in the WPF app\n"
                + code(
                    "csharp",
                    """
public class PriceService
{
    private readonly HttpClient _http;
    public async Task<decimal> GetPriceAsync(string sku)
    {
        var json = await _http.GetStringAsync($"/prices/{sku}");
        return JsonSerializer.Deserialize<PriceDto>(json)!.Amount;
    }
    public decimal GetPrice(string sku) => GetPriceAsync(sku).Result;
}

// MainWindow.xaml.cs
private void RefreshButton_Click(object sender, RoutedEventArgs e)
{
    PriceLabel.Content = _prices.GetPrice(SkuBox.Text).ToString("C");
}
""",
                )
            ),
            a("Is the request actually sent? Check with Fiddler whether `/prices/...` gets a response."),
            u(
                "yes, Fiddler shows 200 in 30ms, and a breakpoint after `await _http.GetStringAsync` is never hit. GetPrice is also called from 12 other places incl. a legacy sync interface IPriceProvider we can't change yet. what's going on and how do I fix it properly?"
            ),
        ),
        "csharp",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-ruby-n-plus-one-other-one",
        "sonnet",
        "'and the other one?' is a scoped count per row that includes() cannot preload; needs a scoped association or a grouped count.",
        req(
            u(
                'bullet is yelling at me on the posts index\n```\nUSE eager loading detected\n  Post => [:author]\n  Add to your query: .includes([:author])\nN+1 Query detected\n  SELECT COUNT(*) FROM "comments" WHERE "comments"."post_id" = $1 AND "comments"."approved" = $2\n```\n'
                + code(
                    "ruby", "# posts_controller.rb\ndef index\n  @posts = Post.order(created_at: :desc).limit(50)\nend"
                )
                + "\n"
                + code(
                    "erb",
                    "<% @posts.each do |post| %>\n  <h2><%= post.title %></h2>\n  <p>by <%= post.author.name %> · <%= post.comments.where(approved: true).count %> comments</p>\n<% end %>",
                )
            ),
            a(
                "For the author: `@posts = Post.includes(:author).order(created_at: :desc).limit(50)`. That loads all authors in one query."
            ),
            u("author one is gone. and the other one?"),
        ),
        "ruby",
        "chat",
        "followup",
        "performance",
    ),
    case(
        "turns-sql-split-column-backfill",
        "sonnet",
        "A column split with batched backfill on a large live table: a known migration playbook.",
        req(
            u("postgres 15, users table has 80M rows and a full_name column. product wants first_name / last_name"),
            a(
                "How is the app deployed — can old and new code run at the same time? And do writes to users happen constantly?"
            ),
            u(
                "rolling deploys on k8s, so yes both versions run together for ~10 min. writes: signups + profile edits, a few hundred/sec at peak. we can't lock the table for more than a second or so. give me the full sequence: migrations, backfill script, app changes per deploy, and when we can drop full_name"
            ),
        ),
        "sql",
        "postgres",
        "chat",
        "migration",
    ),
    case(
        "turns-shell-cron-pipefail-trace",
        "sonnet",
        "A cron-only failure diagnosed from a pasted xtrace: grep's exit status under pipefail and errexit, plus the cron environment.",
        req(
            u(
                "backup script works when I run it by hand but in cron it just stops halfway, no error in the log\n"
                + code(
                    "bash backup.sh",
                    """
#!/usr/bin/env bash
set -euo pipefail
exec >>/var/log/backup.log 2>&1
echo "$(date -Is) start"

EXCLUDES=$(grep -v '^#' /etc/backup/exclude.list | wc -l)
echo "excluding $EXCLUDES patterns"

tar --exclude-from=/etc/backup/exclude.list -czf "/tmp/backup-$(date +%F).tgz" /srv/data
aws s3 cp "/tmp/backup-$(date +%F).tgz" "s3://acme-backups/$(hostname)/"
echo "$(date -Is) done"
""",
                )
            ),
            a(
                "Add `set -x` (or run it with `bash -x`) from the cron entry and capture the trace, that'll show the last command it ran."
            ),
            u(
                "here's the trace from cron\n```\n+ echo '2024-11-03T02:00:01+00:00 start'\n2024-11-03T02:00:01+00:00 start\n++ grep -v '^#' /etc/backup/exclude.list\n++ wc -l\n+ EXCLUDES=0\n```\nand that's it, nothing after. on prod exclude.list only has the comment header, on my box it has 3 patterns. crontab line is `0 2 * * * /opt/backup/backup.sh`. why does it die right there, and what else is going to bite me in cron after that?"
            ),
        ),
        "shell",
        "chat",
        "debug",
    ),
    case(
        "turns-ts-react-infinite-scroll",
        "sonnet",
        "A feature across an API route, a data hook and a component: cursor pagination with infinite scroll.",
        req(
            s(CONTINUE_CHAT),
            u("next.js 14 app router. show the activity feed for a project, newest first"),
            a(
                code(
                    "ts app/api/projects/[id]/activity/route.ts",
                    """
export async function GET(_req: Request, { params }: { params: { id: string } }) {
  const items = await prisma.activity.findMany({
    where: { projectId: params.id },
    orderBy: { createdAt: "desc" },
  });
  return Response.json({ items });
}
""",
                )
                + "\n\n"
                + code(
                    "tsx components/ActivityFeed.tsx",
                    """
export function ActivityFeed({ projectId }: { projectId: string }) {
  const { data } = useQuery({
    queryKey: ["activity", projectId],
    queryFn: () => fetch(`/api/projects/${projectId}/activity`).then((r) => r.json()),
  });
  return <ul>{data?.items.map((a: Activity) => <ActivityRow key={a.id} activity={a} />)}</ul>;
}
""",
                )
            ),
            u(
                "some projects have 200k activity rows and this times out. make it infinite scroll: cursor pagination in the route (createdAt+id, stable when new rows arrive), useInfiniteQuery in the component, load the next page when a sentinel becomes visible. and tell me which index to add"
            ),
        ),
        "typescript",
        "react",
        "chat",
        "implement",
    ),
    case(
        "turns-go-http-client-still-fails",
        "sonnet",
        "'still fails, same error' with the client code: a tiny per-host pool and bodies not closed on error paths; multi-step diagnosis.",
        req(
            u(
                "getting lots of `context deadline exceeded (Client.Timeout exceeded while awaiting headers)` calling our pricing service at ~200 rps"
            ),
            a(
                "The pricing service may be slow under load. Try raising the client timeout from 2s to 10s and see whether the errors go away."
            ),
            u(
                "still fails, same error, just takes 10s now. pricing's own metrics say p99 = 40ms and it has no queueing. our client:\n"
                + code(
                    "go",
                    """
var pricingClient = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		MaxIdleConnsPerHost: 2,
		MaxConnsPerHost:     10,
		IdleConnTimeout:     90 * time.Second,
	},
}

func getPrice(ctx context.Context, sku string) (Price, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", pricingURL+"/v1/prices/"+sku, nil)
	resp, err := pricingClient.Do(req)
	if err != nil {
		return Price{}, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return Price{}, ErrNoPrice
	}
	defer resp.Body.Close()
	var p Price
	return p, json.NewDecoder(resp.Body).Decode(&p)
}
""",
                )
                + "\nabout 8% of skus have no price (404)"
            ),
        ),
        "go",
        "chat",
        "debug",
        "followup",
    ),
    case(
        "turns-py-port-to-go-errgroup",
        "sonnet",
        "Porting bounded-concurrency asyncio code to Go with errgroup, cancellation and retries preserved.",
        req(
            u(
                "we're moving this downloader to go. here's the python\n"
                + code(
                    "python",
                    """
async def download_all(urls: list[str], dest: Path, concurrency: int = 20) -> list[Path]:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(url: str) -> Path:
            async with sem:
                for attempt in range(3):
                    try:
                        r = await client.get(url)
                        r.raise_for_status()
                        break
                    except (httpx.TransportError, httpx.HTTPStatusError) as e:
                        if attempt == 2 or (isinstance(e, httpx.HTTPStatusError) and e.response.status_code < 500):
                            raise
                        await asyncio.sleep(2 ** attempt)
                path = dest / hashlib.sha1(url.encode()).hexdigest()
                path.write_bytes(r.content)
                return path
        return await asyncio.gather(*(one(u) for u in urls))
""",
                )
            ),
            a(
                "Before porting: note that `gather` without `return_exceptions` raises the first error but does **not** cancel the other downloads — they keep running in the background until the client closes."
            ),
            u(
                "good catch, in go I actually want the first error to cancel everything else. write the go version: errgroup, same concurrency limit, same retry rules, results in input order, stream to disk instead of buffering whole bodies"
            ),
        ),
        "go",
        "python",
        "chat",
        "language-switch",
        "concurrency",
    ),
    case(
        "turns-java-junit4-to-5-class",
        "sonnet",
        "A JUnit 4 to 5 migration of a class using a parameterized runner and rules: a known migration with several moving parts.",
        req(
            u("what do I need in build.gradle for junit 5 if we still have a bunch of junit 4 tests"),
            a(
                code(
                    "groovy",
                    """
dependencies {
    testImplementation platform('org.junit:junit-bom:5.10.2')
    testImplementation 'org.junit.jupiter:junit-jupiter'
    testRuntimeOnly 'org.junit.vintage:junit-vintage-engine'   // runs the old JUnit 4 tests
    testImplementation 'org.mockito:mockito-junit-jupiter:5.11.0'
}
test { useJUnitPlatform() }
""",
                )
            ),
            u(
                "thanks. now migrate this one to junit 5 properly, no vintage\n"
                + code(
                    "java",
                    """
@RunWith(Parameterized.class)
public class CsvImporterTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();
    @Rule public ExpectedException thrown = ExpectedException.none();

    private static Clock clock;
    private final String delimiter;
    private final Charset charset;

    public CsvImporterTest(String delimiter, Charset charset) {
        this.delimiter = delimiter;
        this.charset = charset;
    }

    @Parameterized.Parameters(name = "{0} {1}")
    public static Collection<Object[]> params() {
        return Arrays.asList(new Object[][] {
            {",", StandardCharsets.UTF_8}, {";", StandardCharsets.ISO_8859_1}, {"\\t", StandardCharsets.UTF_16LE}
        });
    }

    @BeforeClass
    public static void fixClock() { clock = Clock.fixed(Instant.parse("2024-01-01T00:00:00Z"), ZoneOffset.UTC); }

    @Test
    public void importsRows() throws Exception {
        File f = tmp.newFile("in.csv");
        Files.write(f.toPath(), ("id" + delimiter + "name\\n1" + delimiter + "Zoë\\n").getBytes(charset));
        List<Row> rows = new CsvImporter(delimiter, charset, clock).read(f.toPath());
        assertEquals(1, rows.size());
        assertEquals("Zoë", rows.get(0).get("name"));
    }

    @Test
    public void rejectsMissingHeader() throws Exception {
        File f = tmp.newFile("empty.csv");
        thrown.expect(ImportException.class);
        thrown.expectMessage("missing header");
        new CsvImporter(delimiter, charset, clock).read(f.toPath());
    }

    @Test(timeout = 2000)
    public void largeFileIsStreamed() throws Exception {
        Path p = tmp.newFile("big.csv").toPath();
        CsvFixtures.writeRows(p, 200_000, delimiter, charset);
        assertEquals(200_000, new CsvImporter(delimiter, charset, clock).count(p));
    }
}
""",
                )
            ),
        ),
        "java",
        "chat",
        "migration",
        "tests",
    ),
    case(
        "turns-csharp-ef-already-tracked",
        "sonnet",
        "An EF Core tracking conflict traced through two turns of evidence; the fix changes how the update loads and maps.",
        req(
            u(
                "EF Core 8, PUT endpoint fails\n```\nSystem.InvalidOperationException: The instance of entity type 'Product' cannot be tracked because another instance with the same key value for {'Id'} is already being tracked. When attaching existing entities, ensure that only one entity instance with a given key value is attached.\n```"
            ),
            a(
                "Somewhere the same Product is loaded and then a second instance with the same Id is attached. Can you show the endpoint and anything it calls?"
            ),
            u(
                code(
                    "csharp",
                    """
[HttpPut("{id:int}")]
public async Task<IActionResult> Update(int id, ProductDto dto)
{
    await _validator.EnsureSkuUniqueAsync(dto.Sku, id);   // see below
    var product = _mapper.Map<Product>(dto);
    product.Id = id;
    _db.Products.Update(product);
    await _db.SaveChangesAsync();
    return NoContent();
}

public async Task EnsureSkuUniqueAsync(string sku, int exceptId)
{
    var existing = await _db.Products.FirstOrDefaultAsync(p => p.Sku == sku);
    if (existing != null && existing.Id != exceptId) throw new ConflictException("sku taken");
}
""",
                )
                + "\nthe validator and controller get the same scoped DbContext. also: when it doesn't throw, the update wipes CreatedAt and the Tags collection. what's the right way to write this update?"
            ),
        ),
        "csharp",
        "chat",
        "debug",
    ),
    case(
        "turns-rust-tokio-blocking-handler",
        "sonnet",
        "Blocking work inside async handlers stalling the runtime: a known pitfall, fixed with spawn_blocking and a bounded pool.",
        req(
            u("axum service: under load, even /healthz takes seconds to answer. CPU is only ~30% on an 8 core box"),
            a(
                "That pattern usually means the runtime's worker threads are blocked. Are there any synchronous calls (file IO, blocking HTTP, CPU-heavy hashing) inside handlers?"
            ),
            u(
                "login does argon2, and there's a report export. tokio-console shows tasks in `login` and `export_csv` with busy durations of 300ms-4s and most others waiting to be polled\n"
                + code(
                    "rust",
                    """
async fn login(State(app): State<App>, Json(req): Json<LoginReq>) -> Result<Json<Token>, ApiError> {
    let user = app.users.by_email(&req.email).await?.ok_or(ApiError::Unauthorized)?;
    let parsed = PasswordHash::new(&user.password_hash)?;
    Argon2::default().verify_password(req.password.as_bytes(), &parsed).map_err(|_| ApiError::Unauthorized)?;
    Ok(Json(app.tokens.issue(&user)?))
}

async fn export_csv(State(app): State<App>, Query(q): Query<ExportQuery>) -> Result<Response, ApiError> {
    let rows = app.reports.rows(&q).await?;          // Vec<Row>, up to 500k rows
    let mut w = csv::Writer::from_writer(vec![]);
    for r in &rows { w.serialize(r)?; }
    let bytes = w.into_inner()?;
    std::fs::write(format!("/var/exports/{}.csv", q.id), &bytes)?;
    Ok(([(header::CONTENT_TYPE, "text/csv")], bytes).into_response())
}
""",
                )
                + "\nhow should these be restructured? I don't want logins to be starved by exports either"
            ),
        ),
        "rust",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-py-django-env-pushback",
        "sonnet",
        "The user rejects a generic answer with new evidence; the cause is a .env file baked into the image overriding the real env.",
        req(
            u(
                'django in docker compose can\'t reach postgres: `connection to server at "localhost" (127.0.0.1), port 5432 failed: Connection refused`'
            ),
            a(
                "Inside a container, `localhost` is the container itself. Set `DATABASE_URL=postgres://app:app@db:5432/app` in the web service's environment so it uses the `db` service name."
            ),
            u(
                "no, that's not it. it IS set, look\n"
                + code(
                    "yaml",
                    """
services:
  web:
    build: .
    environment:
      DATABASE_URL: postgres://app:app@db:5432/app
    depends_on: [db]
  db:
    image: postgres:16
""",
                )
                + "\n```\n$ docker compose exec web env | grep DATABASE\nDATABASE_URL=postgres://app:app@db:5432/app\n```\n"
                + code(
                    "python",
                    """
# settings.py
import environ
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=True)
DATABASES = {"default": env.db("DATABASE_URL")}
""",
                )
                + "\nDockerfile is just `COPY . .` + gunicorn. and it still says localhost"
            ),
        ),
        "python",
        "docker",
        "chat",
        "debug",
        "pushback",
    ),
    case(
        "turns-java-threadlocal-tenant-pool",
        "sonnet",
        "A ThreadLocal tenant context reused across pooled async tasks: a known pitfall with a TaskDecorator/clear-in-finally fix.",
        req(
            u("spring boot multi tenant, we put the tenant id in a ThreadLocal in a filter. works fine"),
            a(
                "That's a common approach. Make sure the filter clears it in a `finally` block so the request thread doesn't keep the old tenant."
            ),
            u(
                "it does clear in finally. but support found 2 cases where a report email went out with another tenant's numbers. the report is built async\n"
                + code(
                    "java",
                    """
public final class TenantContext {
    private static final ThreadLocal<String> CURRENT = new InheritableThreadLocal<>();
    public static void set(String t) { CURRENT.set(t); }
    public static String get() { return CURRENT.get(); }
    public static void clear() { CURRENT.remove(); }
}

@Service
public class ReportService {
    @Async("reportExecutor")
    public CompletableFuture<Void> emailMonthly(long reportId) {
        String tenant = TenantContext.get();
        Report r = reports.build(tenant, reportId);
        mailer.send(r);
        return CompletableFuture.completedFuture(null);
    }
}

@Bean("reportExecutor")
ThreadPoolTaskExecutor reportExecutor() {
    var ex = new ThreadPoolTaskExecutor();
    ex.setCorePoolSize(4);
    ex.setMaxPoolSize(4);
    ex.initialize();
    return ex;
}
""",
                )
                + "\nwhy would TenantContext.get() ever return another tenant there, and what's the fix?"
            ),
        ),
        "java",
        "chat",
        "debug",
        "concurrency",
    ),
    case(
        "turns-swiftui-stale-search-results",
        "sonnet",
        "Out-of-order async search results overwriting newer ones: a known pitfall fixed with task cancellation or .task(id:).",
        req(
            u(
                "search screen, view model below. typing fast sometimes leaves results for an older query on screen\n"
                + code(
                    "swift",
                    """
@MainActor
final class SearchViewModel: ObservableObject {
    @Published var query = ""
    @Published var results: [Item] = []
    private let api: SearchAPI

    init(api: SearchAPI) { self.api = api }

    func queryChanged() {
        Task {
            do {
                results = try await api.search(query)
            } catch {
                results = []
            }
        }
    }
}

// in the view
TextField("Search", text: $vm.query)
    .onChange(of: vm.query) { _ in vm.queryChanged() }
""",
                )
            ),
            a("Each keystroke starts a new Task, and nothing guarantees they finish in order."),
            u(
                "yeah that's it. fix it properly: debounce ~300ms, cancel in-flight requests when the query changes, never show results for a query that isn't the current one, and don't flash an empty list on cancellation. api.search uses URLSession async"
            ),
        ),
        "swift",
        "chat",
        "implement",
        "concurrency",
    ),
    case(
        "turns-cursor-soft-delete-users",
        "sonnet",
        "Soft delete across model, migration, CRUD and routes, with a partial unique index: a few-file feature.",
        req(
            s(CURSOR_CHAT),
            u(
                cursor_ask(
                    [
                        attached(
                            "app/models.py",
                            """
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    orders: Mapped[list["Order"]] = relationship(back_populates="user")
""",
                        ),
                        attached(
                            "app/crud.py",
                            """
def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)

def get_user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email))

def list_users(db: Session, offset: int, limit: int) -> list[User]:
    return list(db.scalars(select(User).order_by(User.id).offset(offset).limit(limit)))

def delete_user(db: Session, user: User) -> None:
    db.delete(user)
    db.commit()
""",
                        ),
                        attached(
                            "app/routers/users.py",
                            """
@router.delete("/users/{user_id}", status_code=204)
def delete(user_id: int, db: Session = Depends(get_db), me: User = Depends(current_user)):
    user = crud.get_user(db, user_id)
    if not user:
        raise HTTPException(404)
    if user.id != me.id and not me.is_admin:
        raise HTTPException(403)
    crud.delete_user(db, user)
""",
                        ),
                    ],
                    "we need soft delete for users instead of hard delete. deleted_at column + alembic migration, every read in crud excludes deleted users, DELETE sets deleted_at, admins get POST /users/{id}/restore. someone who deleted their account must be able to sign up again with the same email. orders of deleted users stay.",
                )
            ),
            a(
                "Before I write it: should a restored user get their old email back even if someone re-registered it in the meantime?"
            ),
            u("no, restore should fail with 409 in that case. go"),
        ),
        "python",
        "chat",
        "implement",
        "attached-file",
    ),
    case(
        "turns-continue-vitest-mocks",
        "sonnet",
        "Tests with mocked fetch and repository for a paginated sync with retry and partial failure: component tests, not a pure function.",
        req(
            s(CONTINUE_CHAT),
            u(
                continue_ctx(
                    "src/sync/inventory.ts",
                    "ts",
                    """
import type { InventoryRepo } from "../repo";

export interface SyncResult { upserted: number; failed: string[]; pages: number }

export async function syncInventory(baseUrl: string, token: string, repo: InventoryRepo): Promise<SyncResult> {
  let cursor: string | null = null;
  const result: SyncResult = { upserted: 0, failed: [], pages: 0 };
  do {
    const url = new URL("/v1/stock", baseUrl);
    if (cursor) url.searchParams.set("cursor", cursor);
    let res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    if (res.status === 429) {
      const wait = Number(res.headers.get("Retry-After") ?? "1") * 1000;
      await new Promise((r) => setTimeout(r, wait));
      res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    }
    if (!res.ok) throw new Error(`stock api ${res.status}`);
    const body = (await res.json()) as { items: { sku: string; qty: number }[]; next: string | null };
    for (const item of body.items) {
      try {
        await repo.upsert(item.sku, item.qty);
        result.upserted++;
      } catch {
        result.failed.push(item.sku);
      }
    }
    result.pages++;
    cursor = body.next;
  } while (cursor);
  return result;
}
""",
                )
                + "\n\nwhat happens if the api returns 429 twice in a row?"
            ),
            a(
                "It waits `Retry-After` seconds once and retries once. If the retry is also a 429, `res.ok` is false and it throws `stock api 429`; the pages synced before that stay upserted in the repo, but the caller gets no `SyncResult` for them."
            ),
            u(
                "ok that's acceptable for now. write vitest tests for this. cover multi-page, 429 then success (don't actually wait), 429 twice, a 500, and some upserts failing. mock fetch and the repo"
            ),
        ),
        "typescript",
        "chat",
        "tests",
        "attached-file",
    ),
    case(
        "turns-go-webhooks-api-design",
        "sonnet",
        "API design for one service after a short discussion: well-trodden, several endpoints and conventions.",
        req(
            u(
                "we're building an outbound webhooks service in go for our SaaS. customers register URLs and we POST events to them"
            ),
            a(
                "Core pieces: endpoint registry per customer, signed payloads (HMAC with a per-endpoint secret), a delivery queue with retries and exponential backoff, a delivery log customers can inspect, and manual replay."
            ),
            u(
                "events are at-least-once, customers dedupe with an event id header. ok now design the REST API customers use: register/update/disable endpoints, subscribe to event types, rotate the signing secret with an overlap window, list deliveries with filters and pagination, replay a delivery. include the error format and an openapi sketch"
            ),
        ),
        "go",
        "chat",
        "design",
        "api",
    ),
    case(
        "turns-sql-deadlock-lock-order",
        "sonnet",
        "A deadlock from two transactions locking stock rows in different orders, shown by the server log: standard fix by ordering.",
        req(
            u("getting `ERROR: deadlock detected` in checkout a few times an hour since black friday traffic"),
            a(
                "Can you paste the full log entry? Postgres logs both processes and the statements they were waiting on."
            ),
            u(
                '```\n2024-11-29 14:02:17.331 UTC [48811] ERROR:  deadlock detected\n2024-11-29 14:02:17.331 UTC [48811] DETAIL:  Process 48811 waits for ShareLock on transaction 99120411; blocked by process 48790.\n\tProcess 48790 waits for ShareLock on transaction 99120398; blocked by process 48811.\n\tProcess 48811: UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND warehouse_id = $3\n\tProcess 48790: UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND warehouse_id = $3\n2024-11-29 14:02:17.331 UTC [48811] HINT:  See server log for query details.\n2024-11-29 14:02:17.331 UTC [48811] CONTEXT:  while updating tuple (1841,7) in relation "stock"\n```\n'
                + code(
                    "python",
                    """
def reserve(cart):
    with conn.transaction():
        for line in cart.lines:          # lines are in the order the customer added them
            conn.execute(
                "UPDATE stock SET reserved = reserved + %s WHERE sku = %s AND warehouse_id = %s",
                (line.qty, line.sku, cart.warehouse_id),
            )
        conn.execute("INSERT INTO reservations ...")
""",
                )
                + "\nwhat's the fix? retrying the whole thing on deadlock feels like a bandaid"
            ),
        ),
        "sql",
        "python",
        "chat",
        "debug",
        "concurrency",
    ),
]


OPUS = [
    case(
        "turns-go-mpmc-now-lock-free",
        "opus",
        "An easy queue chat turns into a lock-free bounded MPMC queue that must be correct on arm64.",
        req(
            u("need a bounded queue between our log parser goroutines and the shipper goroutines"),
            a(
                "A buffered channel is the idiomatic bounded queue in Go: `q := make(chan Record, 8192)`; producers `q <- r`, consumers `for r := range q`."
            ),
            u("we need Offer that never blocks and returns false when full, plus Len() for metrics"),
            a(
                code(
                    "go",
                    """
type Queue[T any] struct {
	mu         sync.Mutex
	buf        []T
	head, size int
}

func New[T any](capacity int) *Queue[T] { return &Queue[T]{buf: make([]T, capacity)} }

func (q *Queue[T]) Offer(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.size == len(q.buf) {
		return false
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
	return true
}

func (q *Queue[T]) Poll() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var zero T
	if q.size == 0 {
		return zero, false
	}
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v, true
}

func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size
}
""",
                )
            ),
            u(
                "pprof: 40% of CPU in sync.(*Mutex).lockSlow with 64 producers and 8 consumers. now make it lock-free: multi producer multi consumer, bounded, no allocation per op, Offer/Poll never block. must be correct on arm64 too, we run on graviton"
            ),
        ),
        "go",
        "chat",
        "concurrency",
        "lock-free",
    ),
    case(
        "turns-cpp-dcl-relaxed-pushback",
        "opus",
        "The user pushes back on a wrong 'it's fine': relaxed double-checked locking publishes an unconstructed object to the fast path on ARM.",
        req(
            u(
                "is this singleton ok? c++17\n"
                + code(
                    "cpp",
                    """
std::atomic<Widget*> g_instance{nullptr};
std::mutex g_mu;

Widget* Widget::instance() {
    Widget* p = g_instance.load(std::memory_order_relaxed);
    if (!p) {
        std::lock_guard<std::mutex> lk(g_mu);
        p = g_instance.load(std::memory_order_relaxed);
        if (!p) {
            p = new Widget(loadConfig());
            g_instance.store(p, std::memory_order_relaxed);
        }
    }
    return p;
}
""",
                )
            ),
            a(
                "Yes, this is fine. The mutex provides the ordering you need for construction, and making the pointer atomic prevents torn reads, so every thread sees either nullptr or a fully built Widget."
            ),
            u(
                "hm, but threads that see p != nullptr on the fast path never touch the mutex. we get rare crashes only on our graviton (arm64) fleet, core dumps show instance()->config_.endpoints with a garbage size. never on x86. are you sure it's fine?"
            ),
        ),
        "cpp",
        "chat",
        "memory-model",
        "pushback",
    ),
    case(
        "turns-py-idempotency-pushback",
        "opus",
        "Pushback on a wrong answer: check-then-insert under READ COMMITTED plus an external side effect cannot stop concurrent retries from double charging.",
        req(
            u(
                "does this protect us from double charges when the mobile client retries?\n"
                + code(
                    "python",
                    """
def charge(idem_key: str, customer_id: str, amount: int) -> dict:
    with db.transaction():  # postgres, default isolation
        row = db.fetchone("SELECT response FROM idempotency WHERE key = %s", (idem_key,))
        if row:
            return json.loads(row["response"])
        resp = stripe.PaymentIntent.create(customer=customer_id, amount=amount, currency="eur", confirm=True)
        db.execute(
            "INSERT INTO idempotency (key, response) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
            (idem_key, json.dumps(resp)),
        )
        return resp
""",
                )
            ),
            a(
                "Yes. The SELECT and INSERT run in one transaction, so a retry with the same key finds the stored response and returns it instead of charging again."
            ),
            u(
                "no. we had two charges 40ms apart with the same idempotency key last night, client retried after its 10s timeout while the first request was still waiting on stripe. how is that possible if it's all in one transaction, and what's the actual fix? we run 6 api pods"
            ),
        ),
        "python",
        "sql",
        "chat",
        "distributed",
        "pushback",
    ),
    case(
        "turns-rust-spinlock-soundness",
        "opus",
        "Soundness of a hand-rolled spinlock: a Relaxed acquire and a missing T: Send bound on Sync.",
        req(
            u("for a per-cpu stats table in a hot path, spinlock or parking_lot::Mutex?"),
            a(
                "`parking_lot::Mutex` spins briefly before parking, so for short critical sections it's usually as fast as a spinlock without burning CPU under contention. Measure before writing your own."
            ),
            u(
                "it's for a no_std allocator so no parking_lot. wrote this, tests pass on our x86 CI. is it sound?\n"
                + code(
                    "rust",
                    """
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

unsafe impl<T> Sync for SpinLock<T> {}

pub struct Guard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    pub fn lock(&self) -> Guard<'_, T> {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
        Guard { lock: self }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T { unsafe { &*self.lock.value.get() } }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T { unsafe { &mut *self.lock.value.get() } }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) { self.lock.locked.store(false, Ordering::Release); }
}
""",
                )
            ),
        ),
        "rust",
        "chat",
        "memory-model",
        "unsafe",
    ),
    case(
        "turns-sql-write-skew-on-call",
        "opus",
        "Write skew under REPEATABLE READ (snapshot isolation): two concurrent go-off-call transactions each see enough doctors.",
        req(
            u(
                "schema for hospital on-call: shifts(doctor_id, ward_id, day, on_call bool). rule: every ward needs at least one doctor on call per day"
            ),
            a(
                "Put a partial index on `(ward_id, day) WHERE on_call` for the lookups. The rule itself can't be a simple CHECK constraint since it spans rows; enforce it in the transaction that changes `on_call`."
            ),
            u(
                "right, that's what we do\n"
                + code(
                    "sql",
                    """
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM shifts WHERE ward_id = $1 AND day = $2 AND on_call;
-- app: if count < 2 then ROLLBACK and show "you're the last one on call"
UPDATE shifts SET on_call = false WHERE doctor_id = $3 AND ward_id = $1 AND day = $2;
COMMIT;
""",
                )
                + "\nyesterday Dr. Okafor and Dr. Lind both went off call from their phones within a second and the ward had nobody. I thought repeatable read in postgres prevents exactly this? what happened and what's the correct fix?"
            ),
        ),
        "sql",
        "postgres",
        "chat",
        "isolation",
    ),
    case(
        "turns-ts-jwt-middleware-review",
        "opus",
        "Security review of JWT verification: algorithm taken from the token header, expired tokens accepted, key chosen by kid.",
        req(
            u("should we use HS256 or RS256 for our api tokens? the auth service issues them, 5 other services verify"),
            a(
                "RS256 (or EdDSA): only the auth service holds the private key, verifiers get public keys by `kid` from a JWKS endpoint, and a leaked verifier can't mint tokens."
            ),
            u(
                "we had HS256 with a shared secret and are moving to RS256 with kid now, both need to work during the migration. here's the middleware, please review it properly before it goes out\n"
                + code(
                    "ts",
                    """
import jwt from "jsonwebtoken";
import { publicKeys } from "./jwks"; // Map<kid, PEM string>, refreshed every 10 min

export function requireAuth(req: Request, res: Response, next: NextFunction) {
  const token = req.headers.authorization?.split(" ")[1];
  if (!token) return res.status(401).json({ error: "missing token" });

  const decoded = jwt.decode(token, { complete: true });
  const alg = decoded?.header.alg ?? "HS256";
  const key = decoded?.header.kid ? publicKeys.get(decoded.header.kid) : process.env.JWT_SECRET;

  try {
    req.user = jwt.verify(token, key as string, { algorithms: [alg as jwt.Algorithm] }) as UserClaims;
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) {
      // mobile clients have bad clocks, don't log them out
      req.user = jwt.decode(token) as UserClaims;
      return next();
    }
    return res.status(401).json({ error: "invalid token" });
  }
  next();
}
""",
                )
            ),
        ),
        "typescript",
        "chat",
        "security",
        "auth",
    ),
    case(
        "turns-go-redis-lease-payout",
        "opus",
        "A Redis SET NX lease guarding money movement: expiry during long runs, unconditional DEL, no fencing or idempotency at the bank.",
        req(
            u(
                "k8s cronjob runs our nightly partner payout in go. sometimes two pods start (concurrencyPolicy issue during node drain). how do we make sure only one runs?"
            ),
            a(
                "Take a distributed lock before doing any work; with Redis, `SET lock:payout <owner> NX PX 30000` is the usual primitive."
            ),
            u(
                "did that\n"
                + code(
                    "go",
                    """
func runPayout(ctx context.Context) error {
	ok, err := rdb.SetNX(ctx, "lock:payout", podName, 30*time.Second).Result()
	if err != nil || !ok {
		return err
	}
	defer rdb.Del(context.Background(), "lock:payout")

	batches, err := store.PendingPayouts(ctx)
	if err != nil {
		return err
	}
	for _, b := range batches {
		if err := bank.Transfer(ctx, b.PartnerIBAN, b.AmountCents, b.Reference); err != nil {
			return fmt.Errorf("batch %d: %w", b.ID, err)
		}
		if err := store.MarkPaid(ctx, b.ID); err != nil {
			return err
		}
	}
	return nil
}
""",
                )
                + "\nusually takes ~20s, at month end up to 3 min. redis is a single primary with a replica and sentinel. is this safe now? if not, what exactly can go wrong and what should it look like?"
            ),
        ),
        "go",
        "chat",
        "distributed",
        "leases",
    ),
    case(
        "turns-java-kafka-exactly-once-rebalance",
        "opus",
        "Exactly-once from a topic into both a database and an output topic across rebalances and crashes.",
        req(
            u("kafka consumer in java, processing is slow (~200ms per record) so we hand records to a thread pool"),
            a(
                "Then offsets must only be committed for records whose processing finished, otherwise a crash loses records. Track completed offsets per partition and commit the highest contiguous one."
            ),
            u(
                "we do that, roughly\n"
                + code(
                    "java",
                    """
while (running) {
    ConsumerRecords<String, Order> recs = consumer.poll(Duration.ofMillis(500));
    for (ConsumerRecord<String, Order> r : recs) {
        pool.submit(() -> {
            Invoice inv = invoiceService.create(r.value());          // INSERT into postgres, own transaction
            producer.send(new ProducerRecord<>("invoices", inv.orderId(), inv));
            tracker.done(r.topic(), r.partition(), r.offset());
        });
    }
    consumer.commitAsync(tracker.committable(), null);
}
""",
                )
                + "\nbut after every deploy (rebalance) we get duplicate invoices in postgres AND duplicate messages on the invoices topic. finance is not happy. we need effectively exactly-once into both the db and the topic, across rebalances and crashes. what's the design? we're on kafka 3.6, can change anything"
            ),
        ),
        "java",
        "chat",
        "distributed",
        "kafka",
    ),
    case(
        "turns-cpp-seqlock-torn-quotes",
        "opus",
        "A seqlock with a relaxed first increment and a plain data race on the payload: torn reads that only ordering and atomics fix.",
        req(
            u(
                "market data thread updates a Quote (bid, ask, ts) and 12 strategy threads read it constantly. a mutex is too slow"
            ),
            a(
                "A seqlock fits: the writer bumps a sequence number to odd, writes, bumps it to even; readers retry if the number was odd or changed during the read. Readers never block the writer."
            ),
            u(
                "implemented it\n"
                + code(
                    "cpp",
                    """
struct Quote { double bid; double ask; int64_t ts; };

class QuoteBox {
    std::atomic<uint64_t> seq_{0};
    Quote q_{};
public:
    void write(const Quote& q) {
        seq_.fetch_add(1, std::memory_order_relaxed);
        q_ = q;
        seq_.fetch_add(1, std::memory_order_release);
    }
    Quote read() const {
        Quote out;
        uint64_t s0, s1;
        do {
            s0 = seq_.load(std::memory_order_acquire);
            out = q_;
            s1 = seq_.load(std::memory_order_relaxed);
        } while (s0 != s1 || (s0 & 1));
        return out;
    }
};
""",
                )
                + "\nevery few hours a strategy logs a quote where bid > ask by a mile, which the feed never sends. x86-64, gcc 13 -O2. what's wrong?"
            ),
        ),
        "cpp",
        "chat",
        "memory-model",
        "lock-free",
    ),
    case(
        "turns-py-reshard-cutover-plan",
        "opus",
        "A long resharding design ends with the cutover plan itself: dual writes, backfill and switch with no lost or doubled writes.",
        req(
            u(
                "we shard postgres by tenant_id (hash mod 8 → 8 clusters). two shards are at 85% disk and a few big tenants dominate. options?"
            ),
            a(
                "Move from hash-mod to a directory: a `tenant_shard` table that maps tenant → shard, cached in the app. Then you can move individual tenants instead of rehashing everything, and add shards without moving anyone."
            ),
            u(
                "directory makes sense. our app is django, ~40 tables per tenant, all with tenant_id, ids are bigserial per shard. background jobs (celery) write too."
            ),
            a(
                "Ids are the first problem: bigserial per shard means a moved tenant's ids can collide with ids already on the destination. Either switch to globally unique ids (UUIDv7 / snowflake) first, or remap ids during the move, which touches every FK."
            ),
            u("we migrated to snowflake ids last quarter, all tables. so ids are globally unique now."),
            a(
                "Good, that removes remapping. A tenant move is then: copy, catch up, switch the directory entry, clean up. The hard part is the switch: writes in flight during the move."
            ),
            u(
                "biggest tenant is 600GB, writes ~300/s at peak, we can't have downtime longer than a couple of seconds per tenant, and we can't lose or double-apply a single write (payments live in there). write the actual cutover procedure step by step: how the copy and catch-up work (logical replication? our own CDC?), how the app and celery workers switch, what happens to transactions in flight at the switch, how we verify, how we roll back, and the invariants that make it correct"
            ),
        ),
        "python",
        "sql",
        "chat",
        "distributed",
        "design",
        "migration",
    ),
    case(
        "turns-csharp-amortised-shrink-proof",
        "opus",
        "The requested amortised-O(1) proof is false: shrinking at half full thrashes; the answer must find the counterexample and the fix.",
        req(
            u("c# - writing a small array-backed stack for a hot path, we want to give memory back when it shrinks"),
            a(
                "Double the capacity when full, and shrink when it gets sparse. Keep a minimum capacity so tiny stacks don't resize constantly."
            ),
            u(
                "here it is\n"
                + code(
                    "csharp",
                    """
public sealed class CompactStack<T>
{
    private T[] _items = new T[4];
    private int _count;

    public void Push(T item)
    {
        if (_count == _items.Length) Resize(_items.Length * 2);
        _items[_count++] = item;
    }

    public T Pop()
    {
        if (_count == 0) throw new InvalidOperationException("empty");
        T item = _items[--_count];
        _items[_count] = default!;
        if (_items.Length > 4 && _count <= _items.Length / 2) Resize(_items.Length / 2);
        return item;
    }

    private void Resize(int capacity)
    {
        var next = new T[capacity];
        Array.Copy(_items, next, _count);
        _items = next;
    }
}
""",
                )
                + "\nour lead wants a written proof that Push and Pop are amortised O(1) before it goes in (potential method please), for the design doc"
            ),
        ),
        "csharp",
        "chat",
        "proof",
    ),
    case(
        "turns-ruby-partner-webhook-review",
        "opus",
        "Security review of webhook authentication: non-constant-time compare, no replay protection, and an authenticated partner acting on other accounts' orders.",
        req(
            u("how do I verify an HMAC signature on an incoming webhook in rails?"),
            a(
                "Compute `OpenSSL::HMAC.hexdigest('SHA256', secret, request.raw_post)` over the raw body (not re-serialized params) and compare it with the header value."
            ),
            u(
                "ok here's our partner webhook endpoint. partners are external logistics companies, each partner account has its own secret. we open this to 40 partners next week, please do a security review\n"
                + code(
                    "ruby",
                    """
class PartnerWebhooksController < ActionController::API
  def create
    account = PartnerAccount.find_by!(public_id: params[:account])
    sig = request.headers["X-Partner-Signature"].to_s
    expected = OpenSSL::HMAC.hexdigest("SHA256", account.webhook_secret, request.raw_post)
    return head :unauthorized unless sig == expected

    case params[:type]
    when "shipment.delivered"
      order = Order.find(params[:data][:order_id])
      order.update!(status: "delivered", delivered_at: Time.current)
    when "refund.approved"
      Refund.create!(order_id: params[:data][:order_id], amount_cents: params[:data][:amount_cents])
    end
    head :ok
  end
end
""",
                )
            ),
        ),
        "ruby",
        "chat",
        "security",
        "auth",
    ),
    case(
        "turns-rust-frame-parser-review",
        "opus",
        "Memory-safety review of a parser for untrusted network input: unchecked slicing after an add that wraps on 32-bit targets, and panics on crafted input.",
        req(
            u("what's the idiomatic way to read a big-endian u32 from a byte slice in rust?"),
            a(
                "`u32::from_be_bytes(buf[2..6].try_into().unwrap())`, or `u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]])` if you've already checked the length."
            ),
            u(
                "thanks. this parses frames straight off the socket from untrusted clients, the same crate is also built for wasm32 for our browser client. review it for safety please, we removed bounds checks with get_unchecked because it's hot\n"
                + code(
                    "rust",
                    """
pub struct Frame<'a> {
    pub kind: u8,
    pub stream_id: Option<u64>,
    pub payload: &'a [u8],
    pub extensions: Vec<&'a [u8]>,
}

pub fn parse_frame(buf: &[u8]) -> Result<(Frame<'_>, usize), Error> {
    if buf.len() < 6 {
        return Err(Error::Incomplete);
    }
    let kind = buf[0];
    let flags = buf[1];
    let len = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
    let hdr = if flags & 0x01 != 0 { 14 } else { 6 };
    let end = hdr + len;
    if end > buf.len() {
        return Err(Error::Incomplete);
    }
    let stream_id = if flags & 0x01 != 0 {
        Some(u64::from_be_bytes(unsafe { *(buf.as_ptr().add(6) as *const [u8; 8]) }))
    } else {
        None
    };
    let payload = unsafe { buf.get_unchecked(hdr..end) };

    let mut extensions = Vec::new();
    if flags & 0x02 != 0 {
        let n = payload[0] as usize;
        let mut off = 1;
        for _ in 0..n {
            let l = payload[off] as usize;
            extensions.push(unsafe { payload.get_unchecked(off + 1..off + 1 + l) });
            off += 1 + l;
        }
    }
    Ok((Frame { kind, stream_id, payload, extensions }, end))
}
""",
                )
            ),
        ),
        "rust",
        "chat",
        "security",
        "parser",
        "unsafe",
    ),
    case(
        "turns-kotlin-outbox-relay-gap",
        "opus",
        "Proof requested for an outbox relay that reads by id > last id: sequence values commit out of order, so the relay can skip events forever.",
        req(
            u("we're adding a transactional outbox to our kotlin/spring order service so events reach kafka reliably"),
            a(
                "Write the event into an `outbox` table in the same transaction as the state change, and have a relay publish rows from that table to Kafka and record how far it got."
            ),
            u(
                "done\n"
                + code(
                    "kotlin",
                    """
@Transactional
fun placeOrder(cmd: PlaceOrder): Order {
    val order = orders.save(Order.from(cmd))
    outbox.save(OutboxEvent(aggregateId = order.id, type = "OrderPlaced", payload = json.write(order)))  // id BIGSERIAL
    return order
}

@Scheduled(fixedDelay = 200)
fun relay() {
    val last = cursorRepo.get("orders")                     // last published outbox id
    val batch = jdbc.query(
        "SELECT id, aggregate_id, type, payload FROM outbox WHERE id > ? ORDER BY id LIMIT 500",
        mapper, last,
    )
    for (e in batch) {
        kafka.send("orders", e.aggregateId.toString(), e.payload).get()
    }
    if (batch.isNotEmpty()) cursorRepo.set("orders", batch.last().id)
}
""",
                )
                + "\nthe relay runs on one instance (shedlock). the architect wants a short argument for the design doc that this (1) never publishes an event whose transaction rolled back and (2) never loses one, even with 20 app instances writing concurrently. can you write it?"
            ),
        ),
        "kotlin",
        "chat",
        "distributed",
        "proof",
    ),
    case(
        "turns-swift-aesgcm-counter-nonce",
        "opus",
        "Crypto review: a GCM nonce counter in UserDefaults with a key in synchronizable Keychain repeats nonces across devices and reinstalls.",
        req(
            u("best way to encrypt a refresh token at rest on iOS?"),
            a(
                "Simplest is to store it in the Keychain directly with `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`; if you must encrypt a blob yourself, use CryptoKit `AES.GCM` with a key kept in the Keychain."
            ),
            u(
                "we encrypt several cached payloads, not just the token. our wrapper\n"
                + code(
                    "swift",
                    """
enum Vault {
    static let key: SymmetricKey = KeychainStore.loadOrCreateKey(
        account: "vault.key",
        synchronizable: true          // so it survives device migration via iCloud Keychain
    )

    static func seal(_ plaintext: Data) throws -> Data {
        let counter = UserDefaults.standard.integer(forKey: "vault.nonce") + 1
        UserDefaults.standard.set(counter, forKey: "vault.nonce")
        var nonce = Data(repeating: 0, count: 12)
        withUnsafeBytes(of: UInt64(counter).bigEndian) { nonce.replaceSubrange(4..<12, with: $0) }
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce))
        return box.combined!
    }

    static func open(_ blob: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: blob), using: key)
    }
}
""",
                )
                + "\na counter nonce is supposed to be the safe choice vs random, right? security review pls, we also sync some of these blobs through our backend between a user's iPhone and iPad"
            ),
        ),
        "swift",
        "chat",
        "security",
        "crypto",
    ),
    case(
        "turns-py-lru-shared-memory-lock-free",
        "opus",
        "A simple TTL cache chat turns into a lock-free cross-process cache in shared memory, where Python gives no atomics.",
        req(
            u("decorator for caching a function's result with a ttl, python 3.12"),
            a(
                code(
                    "python",
                    """
def ttl_cache(seconds: float, maxsize: int = 1024):
    def deco(fn):
        cache: OrderedDict = OrderedDict()
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            key = (args, tuple(sorted(kwargs.items())))
            now = time.monotonic()
            hit = cache.get(key)
            if hit and now - hit[0] < seconds:
                cache.move_to_end(key)
                return hit[1]
            value = fn(*args, **kwargs)
            cache[key] = (now, value)
            cache.move_to_end(key)
            if len(cache) > maxsize:
                cache.popitem(last=False)
            return value
        return wrapper
    return deco
""",
                )
            ),
            u("nice. add a hit/miss counter"),
            a(
                "Add `wrapper.hits = wrapper.misses = 0` after defining `wrapper` and increment them in the two branches; expose `wrapper.cache_info = lambda: (wrapper.hits, wrapper.misses, len(cache))`."
            ),
            u(
                "ok the real problem: gunicorn runs 16 worker processes and each has its own cache, so the hit rate is awful. make the cache shared across the workers via multiprocessing.shared_memory, fixed-size entries are fine (values are ≤ 512 bytes pickled). it has to be lock-free, readers must never see a half-written entry, and a worker getting SIGKILLed mid-write must not wedge or corrupt the cache for the others"
            ),
        ),
        "python",
        "chat",
        "concurrency",
        "lock-free",
    ),
    case(
        "turns-go-gateway-p99-spikes",
        "opus",
        "An open-ended tail-latency investigation across layers, with only symptoms pasted turn by turn.",
        req(
            u(
                "our go api gateway's p99 jumps from ~40ms to ~2s for about 5 seconds, every 2-3 minutes. p50 doesn't move. no errors"
            ),
            a(
                "First rule out GC: run one pod with `GODEBUG=gctrace=1` and see whether long pauses line up with the spikes."
            ),
            u(
                "gc looks fine\n```\ngc 4411 @8123.417s 1%: 0.081+3.1+0.052 ms clock, 0.65+1.2/5.9/11+0.42 ms cpu, 412->418->207 MB, 420 MB goal, 0 MB stacks, 0 MB globals, 8 P\ngc 4412 @8125.230s 1%: 0.077+2.9+0.049 ms clock, 0.61+1.1/5.6/10+0.39 ms cpu, 405->411->204 MB, 414 MB goal, 0 MB stacks, 0 MB globals, 8 P\n```"
            ),
            a(
                "Next, CPU throttling from the container limit: check `cat /sys/fs/cgroup/cpu.stat` before and after a spike."
            ),
            u("```\nnr_periods 51201\nnr_throttled 37\nthrottled_usec 412200\n```\nbarely changes across a spike"),
            a(
                "Then it isn't CPU either. Do the spikes line up across pods, and do the upstreams see the slow requests on their side? Client-side httptrace timings (DNS, connect, TLS, first byte) for slow requests would tell us where the time goes."
            ),
            u(
                "added httptrace on 1% of requests. slow ones look like this\n```\ndns=0.4ms connect=1003.2ms tls=0ms first_byte=12.1ms total=1016ms upstream=inventory.shop.svc.cluster.local:80 reused=false\ndns=0.3ms connect=1001.8ms tls=0ms first_byte=9.8ms total=1013ms upstream=pricing.shop.svc.cluster.local:80 reused=false\ndns=0.5ms connect=3007.9ms tls=0ms first_byte=15.0ms total=3024ms upstream=inventory.shop.svc.cluster.local:80 reused=false\n```\nfast ones are all reused=true"
            ),
            a(
                "So the time is in TCP connect on new connections: ~1s and ~3s are SYN retransmission timeouts. Something drops the first SYN of new connections during the spikes."
            ),
            u(
                "more facts: the spikes hit all 6 gateway pods at the same second. the upstream services' own server-side latency doesn't move during spikes. nodes show conntrack ~120k of 262k. gateway uses one shared http.Transport with defaults except MaxIdleConnsPerHost=100, upstreams are k8s ClusterIP services (kube-proxy iptables mode, ~900 services in the cluster). why would new connections be dropped every 2-3 minutes, why only new ones, and what would you check next, in order?"
            ),
        ),
        "go",
        "kubernetes",
        "chat",
        "performance",
        "debug",
    ),
    case(
        "turns-ts-lww-crdt-convergence",
        "opus",
        "A convergence proof request for an LWW merge with timestamp ties and delete flags: needs a counterexample, not reassurance.",
        req(
            u("building offline-first collaborative todo lists (react native + sync server). thinking of using a crdt"),
            a(
                "For a todo list, a map of LWW registers per field usually suffices: each field carries a timestamp, and merge keeps the later write. Deletes become tombstones so they aren't resurrected by stale replicas."
            ),
            u(
                "this is what we built\n"
                + code(
                    "ts",
                    """
type Stamp = { ts: number; device: string };
type Field<T> = { value: T; stamp: Stamp };
type Todo = { id: string; title: Field<string>; done: Field<boolean>; deleted: Field<boolean> };

const newer = (a: Stamp, b: Stamp) => b.ts > a.ts;

function mergeField<T>(a: Field<T>, b: Field<T>): Field<T> {
  return newer(a.stamp, b.stamp) ? b : a;
}

export function mergeTodo(local: Todo, remote: Todo): Todo {
  return {
    id: local.id,
    title: mergeField(local.title, remote.title),
    done: mergeField(local.done, remote.done),
    deleted: mergeField(local.deleted, remote.deleted),
  };
}

// every edit: field = { value, stamp: { ts: Date.now(), device: DEVICE_ID } }
// server and clients apply mergeTodo for every incoming op, ops may arrive duplicated and in any order
""",
                )
                + "\nfor the architecture review I need to show that all replicas converge no matter the delivery order or duplicates. prove it, or show me a concrete case where they diverge"
            ),
        ),
        "typescript",
        "chat",
        "distributed",
        "proof",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
