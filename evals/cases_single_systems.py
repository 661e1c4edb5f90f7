"""Single-turn IDE requests about systems code: C, C++, Rust and Go. One user message, sometimes with
an editor client's system prompt and attached code. Local for mechanical edits, short explanations and
boilerplate; sonnet for debugging with the evidence pasted, migrations and one-service features; opus
for memory orderings, lock-free code, consensus, crypto and parser review, and open-ended performance."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "sys-c-sizeof-decay",
        "local",
        "Array-to-pointer decay in a function parameter: a textbook C explanation.",
        req(
            u(
                "why 2 here?? should be 10\n"
                + code(
                    "c",
                    r"""
#include <stdio.h>

static void dump(int arr[]) {
    size_t n = sizeof(arr) / sizeof(arr[0]);
    printf("dump: %zu\n", n);
}

int main(void) {
    int arr[10] = {0};
    printf("main: %zu\n", sizeof(arr) / sizeof(arr[0]));
    dump(arr);
}
""",
                )
                + "\noutput:\nmain: 10\ndump: 2"
            )
        ),
        "c",
        "single",
        "debug",
    ),
    case(
        "sys-c-strtol",
        "local",
        "A standard-library lookup: strtol with endptr, errno and a range check.",
        req(
            u(
                "atoi gives 0 for garbage and i can't tell that apart from a real \"0\". what's the proper way to parse an int from argv[1] in C, with a range check so it fits in int"
            )
        ),
        "c",
        "single",
        "question",
    ),
    case(
        "sys-c-makefile",
        "local",
        "A small Makefile with header dependency tracking is standard boilerplate.",
        req(
            u(
                "makefile pls: main.c parser.c util.c + parser.h util.h -> binary called `lox`. gcc, -Wall -Wextra -O2, a `debug` target with -g -O0, `clean`, and header deps so touching parser.h rebuilds what includes it"
            )
        ),
        "c",
        "single",
        "boilerplate",
    ),
    case(
        "sys-c-leak-urgent",
        "local",
        "Despite the alarm, the leak is a missing free on one early-return path of a twelve-line function.",
        req(
            u(
                "URGENT memory leak in production, valgrind says `definitely lost: 4,096 bytes in 1 blocks` for every request that hits a tenant without a config file. pls fix\n"
                + code(
                    "c",
                    r"""
int load_config(const char *path, struct config *out) {
    char *buf = malloc(4096);
    if (!buf) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    int rc = parse_config(buf, out);
    free(buf);
    return rc;
}
""",
                )
            )
        ),
        "c",
        "single",
        "debug",
        "misleading",
    ),
    case(
        "sys-c-rehash-next",
        "local",
        "The classic rehash bug (next pointer overwritten before advancing) in a fifteen-line function; the fix is to save next first.",
        req(
            u(
                "after the table grows some keys are just gone (get returns NULL). once it even hung inside grow(). single threaded, no frees anywhere else\n"
                + code(
                    "c",
                    """
struct entry { char *key; void *val; uint64_t hash; struct entry *next; };
struct table { struct entry **buckets; size_t cap; size_t len; };

static int grow(struct table *t) {
    size_t old_cap = t->cap;
    struct entry **old = t->buckets;
    t->cap *= 2;
    t->buckets = calloc(t->cap, sizeof *t->buckets);
    if (!t->buckets) { t->buckets = old; t->cap = old_cap; return -1; }
    for (size_t i = 0; i < old_cap; i++) {
        for (struct entry *e = old[i]; e; e = e->next) {
            size_t j = e->hash & (t->cap - 1);
            e->next = t->buckets[j];
            t->buckets[j] = e;
        }
    }
    free(old);
    return 0;
}
""",
                )
            )
        ),
        "c",
        "single",
        "debug",
    ),
    case(
        "sys-cpp-structured-bindings",
        "local",
        "Mechanical modernisation of one loop to a range-for with structured bindings.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "c++17-ify this\n"
                + selection(
                    "src/index/dump.cpp",
                    "cpp",
                    """
std::map<std::string, std::vector<int>>::iterator it;
for (it = index.begin(); it != index.end(); ++it) {
    std::string key = it->first;
    std::vector<int> ids = it->second;
    std::cout << key << ": " << ids.size() << "\\n";
}
""",
                )
            ),
        ),
        "cpp",
        "single",
        "edit",
    ),
    case(
        "sys-cpp-unique-ptr",
        "local",
        "Replacing two owning raw pointers with unique_ptr in a small class is a mechanical edit.",
        req(
            u(
                "get rid of the raw new/delete here\n"
                + code(
                    "cpp",
                    """
class Renderer {
public:
    Renderer(int w, int h) : canvas_(new Canvas(w, h)), font_(new Font("mono.ttf")) {}
    ~Renderer() {
        delete canvas_;
        delete font_;
    }
    void draw(const Scene& s) { s.paint(*canvas_, *font_); }
private:
    Canvas* canvas_;
    Font* font_;
};
""",
                )
            )
        ),
        "cpp",
        "single",
        "edit",
    ),
    case(
        "sys-go-errors-wrap",
        "local",
        "Wrapping errors with %w and checking errors.Is is a routine edit.",
        req(
            s(CONTINUE_CHAT),
            u(
                "wrap these errors with some context using %w, and in the caller treat a missing manifest (os.ErrNotExist) as 'use defaults' instead of dying\n"
                + attached(
                    "internal/pkg/manifest.go",
                    "go",
                    """
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// caller, in cmd/pkgtool/main.go
m, err := readManifest(dir)
if err != nil {
	log.Fatal(err)
}
""",
                )
            ),
        ),
        "go",
        "single",
        "edit",
    ),
    case(
        "sys-go-sort-releases",
        "local",
        "A two-key sort with slices.SortFunc: a standard-library lookup.",
        req(
            u(
                "sort releases newest PublishedAt first, ties by Name ascending. go 1.22 so the slices pkg is fine\n"
                + code(
                    "go",
                    """
type Release struct {
	Name        string
	PublishedAt time.Time
	Draft       bool
}
""",
                )
            )
        ),
        "go",
        "single",
        "edit",
    ),
    case(
        "sys-go-internal-architecture",
        "local",
        "'Architecture' question whose answer is Go's documented internal/ import rule.",
        req(
            u(
                "architecture question for our go monorepo: retryWithBackoff is used by 3 services under cmd/. put it in pkg/retry or internal/retry? we don't want other repos importing it"
            )
        ),
        "go",
        "single",
        "question",
        "misleading",
    ),
    case(
        "sys-go-lockfree-counter",
        "local",
        "'Lock-free' here just means sync/atomic's Int64; a one-line answer.",
        req(
            u(
                "need a lock-free counter for request counts, incremented from thousands of goroutines and read by the metrics endpoint. how do i do that in go without a mutex"
            )
        ),
        "go",
        "single",
        "question",
        "concurrency",
        "misleading",
    ),
    case(
        "sys-go-httptest",
        "local",
        "An httptest test for a three-line handler is standard boilerplate.",
        req(
            u(
                "test for this with httptest, check the status, content type and the json body\n"
                + code(
                    "go",
                    """
func Health(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	}
}
""",
                )
            )
        ),
        "go",
        "single",
        "tests",
    ),
    case(
        "sys-rust-nested-match",
        "local",
        "Collapsing nested matches into if let with and_then is a mechanical rewrite.",
        req(
            u(
                "make this not ugly\n"
                + code(
                    "rust",
                    """
match config.get("timeout") {
    Some(v) => {
        match v.parse::<u64>() {
            Ok(secs) => {
                timeout = Duration::from_secs(secs);
            }
            Err(_) => {}
        }
    }
    None => {}
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
        "sys-rust-clap-derive",
        "local",
        "Clap derive boilerplate from a list of flags.",
        req(
            s(COPILOT_LIKE),
            u(
                "clap 4 derive struct for a cli: positional input file (PathBuf), -o/--output optional path, -j/--jobs usize default 4, -v that can be repeated for more verbosity",
            ),
        ),
        "rust",
        "single",
        "boilerplate",
    ),
]

SONNET = [
    case(
        "sys-go-http-body-leak",
        "sonnet",
        "Goroutine leak diagnosed from a goroutine profile: unclosed and undrained bodies on the non-200 path plus a client without timeouts; the evidence is all there.",
        req(
            u(
                "goroutines keep climbing on our poller, ~40k after a day, then OOM. runs every 10s over ~2000 urls. goroutine profile:\n"
                + code(
                    "text",
                    """
goroutine profile: total 41877
20911 @ 0x43e1d6 0x44f0e5 0x6a3b25 0x471cc1
#	0x6a3b24	net/http.(*persistConn).readLoop+0x9c4	/usr/local/go/src/net/http/transport.go:2238
20902 @ 0x43e1d6 0x44f0e5 0x6a4e91 0x471cc1
#	0x6a4e90	net/http.(*persistConn).writeLoop+0xf0	/usr/local/go/src/net/http/transport.go:2421
31 @ 0x43e1d6 0x40a8ad 0x40a4d7 0x7c21a5 0x471cc1
#	0x7c21a4	main.main.func1+0x64	/app/main.go:41
""",
                )
                + "\n"
                + code(
                    "go",
                    """
func poll(ctx context.Context, urls []string) {
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			log.Printf("poll %s: %v", u, err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			log.Printf("poll %s: status %d", u, resp.StatusCode)
			continue
		}
		var st Status
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			log.Printf("decode %s: %v", u, err)
		}
		resp.Body.Close()
		record(u, st)
	}
}
""",
                )
            )
        ),
        "go",
        "single",
        "debug",
    ),
    case(
        "sys-go-embedded-time-marshal",
        "sonnet",
        "A promoted MarshalJSON from an embedded time.Time two levels down hijacks the whole struct's encoding; needs Go's method-promotion rules, not just a glance.",
        req(
            u(
                "why does json.Marshal on a User give just a timestamp string?? where did id, name and by go. started after someone refactored Audit\n"
                + code(
                    "go",
                    """
// Audit is embedded into most of our models
type Audit struct {
	time.Time        // when the row was last touched
	By        string `json:"by"`
}

type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Audit
}

u := User{ID: 7, Name: "ana", Audit: Audit{Time: time.Now(), By: "admin"}}
b, _ := json.Marshal(u)
fmt.Println(string(b))
""",
                )
                + '\nprints "2024-11-03T14:02:11.5+01:00"'
            )
        ),
        "go",
        "single",
        "debug",
    ),
    case(
        "sys-go-graceful-shutdown",
        "sonnet",
        "Ordered shutdown of an HTTP server, a consumer loop and a batcher within a deadline: a few moving parts, well-known pattern.",
        req(
            s(project_chat("go 1.22 service, net/http, internal queue client, deployed on kubernetes")),
            u(
                "add graceful shutdown to this main: on SIGTERM stop accepting http and let in-flight requests finish (max 20s), stop the consumer after the message it's handling, flush the metrics batcher last. k8s gives us 30s total. batcher has Flush(ctx) error and Stop()\n"
                + attached(
                    "cmd/orders/main.go",
                    "go",
                    """
func main() {
	cfg := loadConfig()
	db := mustOpenDB(cfg.DSN)
	batcher := metrics.NewBatcher(cfg.MetricsURL)
	go batcher.Run()

	consumer := queue.NewConsumer(cfg.QueueURL)
	go func() {
		for {
			msg, err := consumer.Next(context.Background())
			if err != nil {
				log.Printf("next: %v", err)
				continue
			}
			handle(db, msg)
			msg.Ack()
		}
	}()

	srv := &http.Server{Addr: ":8080", Handler: routes(db, batcher)}
	log.Fatal(srv.ListenAndServe())
}
""",
                )
            ),
        ),
        "go",
        "single",
        "implement",
        "concurrency",
    ),
    case(
        "sys-go-rand-mutex-contention",
        "sonnet",
        "Perf fix with a clear mutex profile: the global math/rand source's lock; the better fix (sampling on trace-ID bits) takes a moment's thought but is well known.",
        req(
            u(
                "mutex profile from our trace sampler on a 64-core box. throughput flatlines past ~8 cores\n"
                + code(
                    "text",
                    """
(pprof) top -cum
Showing nodes accounting for 41.2s, 92.10% of 44.7s total
      flat  flat%   sum%        cum   cum%
         0     0%     0%     41.2s 92.10%  main.(*Sampler).ShouldSample
         0     0%     0%     41.2s 92.10%  math/rand.Float64
         0     0%     0%     41.2s 92.10%  math/rand.(*Rand).Float64
         0     0%     0%     41.2s 92.10%  math/rand.(*lockedSource).Int63
     41.2s 92.10% 92.10%     41.2s 92.10%  sync.(*Mutex).Unlock
""",
                )
                + "\n"
                + code(
                    "go",
                    """
type Sampler struct {
	rate float64
}

func (s *Sampler) ShouldSample(traceID [16]byte) bool {
	return rand.Float64() < s.rate
}
""",
                )
                + "\ngo 1.19, can't upgrade this quarter"
            )
        ),
        "go",
        "single",
        "performance",
        "concurrency",
    ),
    case(
        "sys-rust-reqwest-blocking-in-tokio",
        "sonnet",
        "Reading a tokio panic back to reqwest::blocking inside an async handler, then porting the client to async: routine but needs both crates' models.",
        req(
            u(
                "panics on the first request:\n"
                + code(
                    "text",
                    """
thread 'tokio-runtime-worker' panicked at 'Cannot drop a runtime in a context where blocking is not allowed. This happens when a runtime is dropped from within an asynchronous context.', /home/dev/.cargo/registry/src/index.crates.io-6f17d22bba15001f/tokio-1.35.1/src/runtime/blocking/shutdown.rs:51:21
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
""",
                )
                + "\n"
                + code(
                    "rust",
                    """
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = Config::load()?;
    let client = GeoClient::new(&cfg.geo_url);
    let app = Router::new().route("/lookup/:ip", get(move |Path(ip): Path<String>| {
        let client = client.clone();
        async move { Json(client.lookup(&ip)) }
    }));
    axum::Server::bind(&cfg.addr).serve(app.into_make_service()).await?;
    Ok(())
}

#[derive(Clone)]
pub struct GeoClient { base: String }

impl GeoClient {
    pub fn new(base: &str) -> Self { Self { base: base.to_string() } }

    pub fn lookup(&self, ip: &str) -> GeoInfo {
        reqwest::blocking::get(format!("{}/{}", self.base, ip)).unwrap().json().unwrap()
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "debug",
    ),
    case(
        "sys-rust-conditional-borrow",
        "sonnet",
        "The borrow checker's conditional-return limitation (NLL problem case 3): needs restructuring, not a one-token fix.",
        req(
            u(
                "how do i make this compile? it's obviously fine, the first borrow is over in the None arm\n"
                + code(
                    "text",
                    """
error[E0499]: cannot borrow `*self` as mutable more than once at a time
  --> src/resolver.rs:24:25
   |
19 |     fn lookup(&mut self, name: &str) -> &mut Entry {
   |               - let's call the lifetime of this reference `'1`
20 |         match self.cache.get_mut(name) {
   |               ---------- first mutable borrow occurs here
21 |             Some(entry) => entry,
   |                            ----- returning this value requires that `self.cache` is borrowed for `'1`
...
24 |                 let e = self.resolve_uncached(name);
   |                         ^^^^ second mutable borrow occurs here
""",
                )
                + "\n"
                + code(
                    "rust",
                    """
impl Resolver {
    fn lookup(&mut self, name: &str) -> &mut Entry {
        match self.cache.get_mut(name) {
            Some(entry) => entry,
            None => {
                let e = self.resolve_uncached(name);
                self.cache.entry(name.to_string()).or_insert(e)
            }
        }
    }

    fn resolve_uncached(&mut self, name: &str) -> Entry {
        self.misses += 1;
        Entry::new(name, self.upstream.query(name))
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "debug",
    ),
    case(
        "sys-cpp-push-back-during-iteration",
        "sonnet",
        "Use-after-free from growing a vector inside a range-for, read off an ASan report; the fix has to keep the scheduling semantics.",
        req(
            u(
                "ASan on our scheduler test, can you explain and fix? (line numbers in comments)\n"
                + code(
                    "text",
                    """
==31337==ERROR: AddressSanitizer: heap-use-after-free on address 0x60b0000001d0 at pc 0x55d3c2a1b3f4 bp 0x7ffd5c9e8a10 sp 0x7ffd5c9e8a08
WRITE of size 1 at 0x60b0000001d0 thread T0
    #0 0x55d3c2a1b3f3 in Scheduler::tick() src/scheduler.cpp:41
    #1 0x55d3c2a1c0e2 in main src/main.cpp:18
0x60b0000001d0 is located 48 bytes inside of 96-byte region [0x60b0000001a0,0x60b000000200)
freed by thread T0 here:
    #0 0x7f1e2b8b6f57 in operator delete(void*)
    #1 0x55d3c2a1d7a1 in std::vector<Task, std::allocator<Task> >::_M_realloc_insert<Task>(...)
    #2 0x55d3c2a1b352 in Scheduler::schedule(Task) src/scheduler.cpp:22
    #3 0x55d3c2a1b3c8 in Scheduler::tick() src/scheduler.cpp:39
""",
                )
                + "\n"
                + code(
                    "cpp",
                    """
void Scheduler::schedule(Task t) {                          // 21
    tasks_.push_back(std::move(t));                          // 22
}

void Scheduler::tick() {                                     // 35
    for (auto& t : tasks_) {                                 // 36
        if (t.due <= now_) {                                 // 37
            Task next = t.run();                             // 38  may return a follow-up task
            if (next.valid()) schedule(std::move(next));     // 39
                                                             // 40
            t.done = true;                                   // 41
        }
    }
    std::erase_if(tasks_, [](const Task& t) { return t.done; });
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "debug",
    ),
    case(
        "sys-cmake-public-private",
        "sonnet",
        "CMake usage requirements (PUBLIC vs PRIVATE) diagnosed from a build error across two targets.",
        req(
            u(
                "app stopped building after I split the core lib out. report.h has a template that calls fmt::format, so fmt is used in the header\n"
                + code(
                    "text",
                    """
[ 75%] Building CXX object app/CMakeFiles/app.dir/main.cpp.o
In file included from /src/app/main.cpp:3:
/src/core/include/core/report.h:4:10: fatal error: fmt/format.h: No such file or directory
    4 | #include <fmt/format.h>
      |          ^~~~~~~~~~~~~~
compilation terminated.
""",
                )
                + "\n"
                + code(
                    "cmake",
                    """
# core/CMakeLists.txt
add_library(core src/report.cpp src/table.cpp)
target_include_directories(core PRIVATE include)
target_link_libraries(core PRIVATE fmt::fmt)

# app/CMakeLists.txt
add_executable(app main.cpp)
target_include_directories(app PRIVATE ../core/include)
target_link_libraries(app PRIVATE core)
""",
                )
            )
        ),
        "cpp",
        "cmake",
        "single",
        "debug",
    ),
    case(
        "sys-c-epoll-idle-timeout",
        "sonnet",
        "A feature in an event loop: O(1) idle tracking (an intrusive list ordered by last activity) and an epoll_wait timeout from the oldest deadline.",
        req(
            u(
                "add an idle timeout to this epoll server: close connections with no reads for 30s. there can be ~50k conns so no scanning all of them every tick\n"
                + code(
                    "c",
                    """
for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    for (int i = 0; i < n; i++) {
        struct conn *c = events[i].data.ptr;
        if (c == NULL) { accept_all(ep, lfd); continue; }
        if (events[i].events & (EPOLLHUP | EPOLLERR)) { conn_close(ep, c); continue; }
        if (events[i].events & EPOLLIN) {
            if (conn_read(c) <= 0) { conn_close(ep, c); continue; }
            handle_requests(c);
        }
    }
}
""",
                )
                + "\nstruct conn has fd and in/out buffers, nothing else yet. conn_close frees it"
            )
        ),
        "c",
        "single",
        "implement",
    ),
    case(
        "sys-go-shortener-api-design",
        "sonnet",
        "API design for one service: endpoints, shapes, status codes and indexes, with no cross-service invariants.",
        req(
            u(
                "designing the http api for a small url shortener (just this one go service, postgres behind it). needs: create short link (optional custom alias, optional expiry), redirect, per-link click stats by day, delete, list my links with pagination. auth is an api key header. give me endpoints, request/response shapes, status codes, error format, and which indexes are worth having"
            )
        ),
        "go",
        "single",
        "design",
    ),
    case(
        "sys-rust-serde-tagged-fallback",
        "sonnet",
        "Internally tagged serde enum with a catch-all variant that keeps the raw JSON: #[serde(other)] only covers unit variants, so it needs an untagged wrapper or a custom impl.",
        req(
            u(
                "serde: the `type` field decides the shape. i want an enum, and unknown types should land in an Other variant that keeps the raw json instead of failing the whole array\n"
                + code(
                    "json",
                    """
[{"type":"click","x":10,"y":20},{"type":"key","code":"KeyA","shift":true},{"type":"scroll","dy":-3}]
""",
                )
            )
        ),
        "rust",
        "single",
        "implement",
    ),
    case(
        "sys-cpp-rule-of-five",
        "sonnet",
        "Rule of five for an owning buffer: self-assignment, moved-from state and noexcept moves so vector growth uses them; a silent perf or double-free trap if done sloppily.",
        req(
            u(
                "we get a double free when a std::vector<Buffer> grows. I'm told to implement the rule of five. make sure the moves are actually used by vector\n"
                + code(
                    "cpp",
                    """
class Buffer {
public:
    explicit Buffer(size_t n) : data_(new uint8_t[n]), size_(n) {}
    ~Buffer() { delete[] data_; }
    uint8_t* data() { return data_; }
    size_t size() const { return size_; }
private:
    uint8_t* data_;
    size_t size_;
};
""",
                )
            )
        ),
        "cpp",
        "single",
        "implement",
    ),
    case(
        "sys-go-pq-to-pgx",
        "sonnet",
        "A known migration (lib/pq to pgx v5) with the array, error-code and transaction equivalents to get right.",
        req(
            s(CONTINUE_CHAT),
            u(
                "migrating this repo layer from database/sql + lib/pq to pgx v5 (pgxpool). keep the signatures except add ctx everywhere. pq.Array and the pq error code check need pgx equivalents\n"
                + attached(
                    "internal/store/tags.go",
                    "go",
                    """
type Repo struct{ db *sql.DB }

func (r *Repo) TagsFor(ids []int64) (map[int64][]string, error) {
	rows, err := r.db.Query(`SELECT item_id, tag FROM item_tags WHERE item_id = ANY($1)`, pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, err
		}
		out[id] = append(out[id], tag)
	}
	return out, rows.Err()
}

func (r *Repo) AddTag(id int64, tag string) error {
	_, err := r.db.Exec(`INSERT INTO item_tags (item_id, tag) VALUES ($1, $2)`, id, tag)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return ErrDuplicateTag
	}
	return err
}

func (r *Repo) Rename(old, new string) (int64, error) {
	tx, err := r.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`UPDATE item_tags SET tag = $1 WHERE tag = $2`, new, old)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}
""",
                )
            ),
        ),
        "go",
        "single",
        "migration",
    ),
    case(
        "sys-rust-drop-async-trait",
        "sonnet",
        "A known migration with a trap: native async fn in traits is not dyn-compatible, so Box<dyn Store> needs a boxed-future shim or trait_variant.",
        req(
            u(
                "we're on rust 1.78 now and want to drop the async-trait crate. but Box<dyn Store> is used everywhere and once i remove the macro the compiler says the trait isn't dyn compatible. what's the migration path?\n"
                + code(
                    "rust",
                    """
#[async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn put(&self, key: &str, val: Vec<u8>) -> Result<()>;
}

pub struct App {
    store: Box<dyn Store>,
}
""",
                )
            )
        ),
        "rust",
        "single",
        "migration",
    ),
]

OPUS = [
    case(
        "sys-cpp-spinlock-relaxed",
        "opus",
        "'Quick q' on a spinlock whose relaxed test_and_set/clear give no happens-before: a memory-model bug that passes tests on x86.",
        req(
            u(
                "quick q, is this spinlock ok?\n"
                + code(
                    "cpp",
                    """
class SpinLock {
    std::atomic_flag f_ = ATOMIC_FLAG_INIT;
public:
    void lock()   { while (f_.test_and_set(std::memory_order_relaxed)) { /* spin */ } }
    void unlock() { f_.clear(std::memory_order_relaxed); }
};
""",
                )
                + "\nusing it to guard an unordered_map, tests pass on my laptop"
            )
        ),
        "cpp",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "sys-cpp-dcl-plain-pointer",
        "opus",
        "Short question on double-checked locking with a non-atomic pointer: a data race under the C++ memory model, easy to wave through.",
        req(
            u(
                "is this double-checked locking safe in c++?\n"
                + code(
                    "cpp",
                    """
Logger* Logger::instance() {
    if (!instance_) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!instance_) {
            instance_ = new Logger();
        }
    }
    return instance_;
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "concurrency",
        "memory-model",
    ),
    case(
        "sys-cpp-shared-ptr-global-swap",
        "opus",
        "Concurrent read and assignment of one shared_ptr object is a data race even though the refcount is atomic; the plausible wrong answer is 'fine'.",
        req(
            u(
                "config reload: one thread swaps in a new config, request threads copy the pointer and use it. shared_ptr refcount is atomic so this is fine, right?\n"
                + code(
                    "cpp",
                    """
std::shared_ptr<const Config> g_config;

void reload() {
    auto next = std::make_shared<const Config>(Config::load("/etc/app.conf"));
    g_config = next;
}

void handle(Request& r) {
    std::shared_ptr<const Config> cfg = g_config;
    r.respond(cfg->render(r));
}
""",
                )
            )
        ),
        "cpp",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "sys-rust-arc-relaxed-drop",
        "opus",
        "Reference counting with a Relaxed decrement before freeing: needs Release on the decrement and an Acquire fence before drop, the reasoning behind std's Arc.",
        req(
            u(
                "review my tiny Arc clone (no weak refs needed)\n"
                + code(
                    "rust",
                    """
pub struct MyArc<T> {
    ptr: NonNull<Inner<T>>,
}

struct Inner<T> {
    count: AtomicUsize,
    data: T,
}

unsafe impl<T: Send + Sync> Send for MyArc<T> {}
unsafe impl<T: Send + Sync> Sync for MyArc<T> {}

impl<T> MyArc<T> {
    pub fn new(data: T) -> Self {
        let b = Box::new(Inner { count: AtomicUsize::new(1), data });
        MyArc { ptr: NonNull::from(Box::leak(b)) }
    }
}

impl<T> Clone for MyArc<T> {
    fn clone(&self) -> Self {
        unsafe { self.ptr.as_ref() }.count.fetch_add(1, Ordering::Relaxed);
        MyArc { ptr: self.ptr }
    }
}

impl<T> Drop for MyArc<T> {
    fn drop(&mut self) {
        if unsafe { self.ptr.as_ref() }.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            unsafe { drop(Box::from_raw(self.ptr.as_ptr())) };
        }
    }
}

impl<T> Deref for MyArc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &unsafe { self.ptr.as_ref() }.data
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "concurrency",
        "memory-model",
        "review",
    ),
    case(
        "sys-rust-unsafe-sync-slot",
        "opus",
        "Unsafe soundness: Sync without T: Send + Sync bounds, and a non-atomic check-then-write in set that races with readers holding &T.",
        req(
            u(
                "is this sound?\n"
                + code(
                    "rust",
                    """
pub struct Slot<T> {
    val: UnsafeCell<Option<T>>,
    ready: AtomicBool,
}

unsafe impl<T> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub const fn new() -> Self {
        Slot { val: UnsafeCell::new(None), ready: AtomicBool::new(false) }
    }

    pub fn set(&self, v: T) {
        if self.ready.load(Ordering::Acquire) {
            panic!("set twice");
        }
        unsafe { *self.val.get() = Some(v) };
        self.ready.store(true, Ordering::Release);
    }

    pub fn get(&self) -> Option<&T> {
        if self.ready.load(Ordering::Acquire) {
            unsafe { (*self.val.get()).as_ref() }
        } else {
            None
        }
    }
}
""",
                )
            )
        ),
        "rust",
        "single",
        "concurrency",
        "memory-model",
        "review",
    ),
    case(
        "sys-c-treiber-stack-reuse",
        "opus",
        "Mild framing on a CAS stack whose nodes are reused: ABA on pop plus a racy read of old->next; passes stress tests and corrupts the list later.",
        req(
            u(
                "replaced the mutex in our free-list with this, looks fine in tests (8 threads, 10M ops). anything I'm missing?\n"
                + code(
                    "c",
                    """
struct node { struct node *next; /* payload follows */ };
static _Atomic(struct node *) top;

void push(struct node *n) {
    struct node *old = atomic_load_explicit(&top, memory_order_relaxed);
    do {
        n->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&top, &old, n,
                 memory_order_release, memory_order_relaxed));
}

struct node *pop(void) {
    struct node *old = atomic_load_explicit(&top, memory_order_acquire);
    while (old && !atomic_compare_exchange_weak_explicit(&top, &old, old->next,
                 memory_order_acquire, memory_order_acquire))
        ;
    return old;
}
""",
                )
                + "\npopped nodes get reused by the caller and pushed back later"
            )
        ),
        "c",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "sys-c-mpsc-relaxed-arm",
        "opus",
        "Memory orderings in an intrusive MPSC queue: the link store must be release and the consumer's loads acquire, and the exchange acq_rel; reasoning about ARM visibility, not a pattern fix.",
        req(
            u(
                "intrusive mpsc queue (vyukov style). on arm64 the consumer sometimes sees msg->len == 0 or garbage payload. x86 is fine. what's wrong?\n"
                + code(
                    "c",
                    """
struct mpscq_node { _Atomic(struct mpscq_node *) next; };
struct msg { struct mpscq_node node; uint32_t len; char payload[256]; };
struct mpscq { _Atomic(struct mpscq_node *) head; struct mpscq_node *tail; struct mpscq_node stub; };

void mpscq_push(struct mpscq *q, struct mpscq_node *n) {
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    struct mpscq_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_relaxed);
    atomic_store_explicit(&prev->next, n, memory_order_relaxed);
}

/* single consumer */
struct mpscq_node *mpscq_pop(struct mpscq *q) {
    struct mpscq_node *tail = q->tail;
    struct mpscq_node *next = atomic_load_explicit(&tail->next, memory_order_relaxed);
    if (tail == &q->stub) {
        if (next == NULL) return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&tail->next, memory_order_relaxed);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    struct mpscq_node *head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (tail != head) return NULL;
    mpscq_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_relaxed);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}
""",
                )
                + "\nproducers fill m->len and m->payload, then call mpscq_push(&q, &m->node)"
            )
        ),
        "c",
        "single",
        "concurrency",
        "memory-model",
        "debug",
    ),
    case(
        "sys-go-raft-keep-votes",
        "opus",
        "A 'small tweak' that counts votes across terms (and never checks the reply's term) lets two leaders win the same term: a consensus safety violation.",
        req(
            u(
                "small tweak to our raft election so it converges faster on our flaky test network. ok to merge?\n"
                + code(
                    "go",
                    """
func (n *Node) startElection() {
	n.mu.Lock()
	n.currentTerm++
	n.state = Candidate
	n.votedFor = n.id
	// tweak: keep votes granted in earlier terms. a peer that voted for us
	// a moment ago still wants us as leader, no need to wait for it again.
	n.votesGranted[n.id] = true
	term := n.currentTerm
	lastIdx, lastTerm := n.log.LastIndex(), n.log.LastTerm()
	n.mu.Unlock()

	for _, p := range n.peers {
		go n.requestVote(p, term, lastIdx, lastTerm)
	}
}

func (n *Node) onVoteReply(from string, term uint64, granted bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if term > n.currentTerm {
		n.becomeFollower(term)
		return
	}
	if n.state != Candidate || !granted {
		return
	}
	n.votesGranted[from] = true
	if len(n.votesGranted) > len(n.cluster)/2 {
		n.becomeLeader()
	}
}
""",
                )
            )
        ),
        "go",
        "single",
        "distributed",
        "misleading",
    ),
    case(
        "sys-go-sharded-gauge-linearizable",
        "opus",
        "Linearizability proof or counterexample for a sharded counter with negative deltas: the sequential sum can return a value the gauge never held.",
        req(
            u(
                "is Load() linearizable here? Add can be negative, we use it for in-flight request gauges. proof or counterexample pls\n"
                + code(
                    "go",
                    """
type Counter struct {
	shards [64]struct {
		v atomic.Int64
		_ [56]byte
	}
}

func (c *Counter) Add(d int64) {
	c.shards[shardIndex()].v.Add(d) // shardIndex: current P id mod 64
}

func (c *Counter) Load() int64 {
	var sum int64
	for i := range c.shards {
		sum += c.shards[i].v.Load()
	}
	return sum
}
""",
                )
            )
        ),
        "go",
        "single",
        "concurrency",
        "proof",
    ),
    case(
        "sys-c-dns-name-decoder-review",
        "opus",
        "Security review of a parser of untrusted input: unbounded compression-pointer loops (DoS), forward pointers, no 255-byte name limit.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "we parse dns responses from upstream resolvers with this. can you check it before it goes into the edge proxy?\n"
                + attached(
                    "src/dns/name.c",
                    "c",
                    """
/* decode a possibly-compressed name at off into out (dotted).
   returns the number of bytes consumed at the original position, -1 on error */
int read_name(const uint8_t *msg, size_t msglen, size_t off, char *out, size_t outlen) {
    size_t o = 0, consumed = 0;
    int jumped = 0;
    for (;;) {
        if (off >= msglen) return -1;
        uint8_t len = msg[off];
        if ((len & 0xC0) == 0xC0) {
            if (off + 1 >= msglen) return -1;
            if (!jumped) consumed += 2;
            off = ((len & 0x3F) << 8) | msg[off + 1];
            jumped = 1;
            continue;
        }
        if (len == 0) {
            if (!jumped) consumed += 1;
            break;
        }
        off++;
        if (off + len > msglen) return -1;
        if (o + len + 1 > outlen) return -1;
        memcpy(out + o, msg + off, len);
        o += len;
        out[o++] = '.';
        off += len;
        if (!jumped) consumed += len + 1;
    }
    if (o > 0) o--; /* drop trailing dot */
    out[o] = '\\0';
    return (int)consumed;
}
""",
                )
            ),
        ),
        "c",
        "single",
        "security",
        "review",
    ),
    case(
        "sys-go-gcm-counter-nonce",
        "opus",
        "Crypto review: a per-process counter nonce with one key across six replicas and restarts repeats GCM nonces, which breaks confidentiality and authenticity.",
        req(
            u(
                "can you sanity check this encrypt helper? we run it on 6 replicas behind the LB, the key comes from an env var (same everywhere)\n"
                + code(
                    "go",
                    """
var nonceCounter uint64

func Seal(key, plaintext, aad []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	binary.BigEndian.PutUint64(nonce[4:], atomic.AddUint64(&nonceCounter, 1))
	return gcm.Seal(nonce, nonce, plaintext, aad), nil
}
""",
                )
            )
        ),
        "go",
        "single",
        "security",
        "review",
    ),
    case(
        "sys-go-p99-after-replatform",
        "opus",
        "Open-ended tail-latency investigation with only symptoms and three simultaneous changes (runtime, nodes, sidecar).",
        req(
            u(
                "our go api: p99 was ~25ms on 8-core VMs. last month we moved to k8s on 64-core nodes (pod requests 2 cpu, limit 4), went from go 1.20 to 1.22, and turned on the istio sidecar, all in the same release. now p99 is 300-900ms in bursts while avg latency barely moved, and the pod shows ~2.5 cores used. cpu profiles look the same as before. where do i even start?"
            )
        ),
        "go",
        "kubernetes",
        "single",
        "performance",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
