"""Single-turn IDE requests in application languages beyond the web and systems sets: Java, Kotlin,
C#/.NET, Swift, Scala, Elixir and Haskell. Local for idiomatic rewrites, language questions and small
tests; sonnet for framework debugging with the trace pasted, known concurrency pitfalls, ports and
one-service designs; opus for publication and memory-model bugs, split brain, CRDT laws, reset-flow
security, multi-region invariants and open-ended JVM performance."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat, selection

LOCAL = [
    case(
        "lang-java-record",
        "local",
        "Turning an immutable value class into a record with a compact constructor is mechanical.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "make this a record\n"
                + selection(
                    "src/main/java/com/acme/pricing/Money.java",
                    "java",
                    """
public final class Money {
    private final BigDecimal amount;
    private final String currency;

    public Money(BigDecimal amount, String currency) {
        this.amount = Objects.requireNonNull(amount);
        this.currency = Objects.requireNonNull(currency);
    }

    public BigDecimal getAmount() { return amount; }
    public String getCurrency() { return currency; }

    @Override public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Money)) return false;
        Money m = (Money) o;
        return amount.equals(m.amount) && currency.equals(m.currency);
    }

    @Override public int hashCode() { return Objects.hash(amount, currency); }
}
""",
                )
            ),
        ),
        "java",
        "single",
        "edit",
    ),
    case(
        "lang-java-optional-chain",
        "local",
        "Replacing nested null checks with an Optional map chain is a mechanical rewrite.",
        req(
            u(
                "get rid of the null pyramid, Optional is fine\n"
                + code(
                    "java",
                    """
String city = "unknown";
if (order != null) {
    Customer c = order.getCustomer();
    if (c != null) {
        Address a = c.getShippingAddress();
        if (a != null && a.getCity() != null) {
            city = a.getCity();
        }
    }
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
        "lang-junit5-leap-year",
        "local",
        "Parameterised JUnit 5 tests for a one-line pure function.",
        req(
            u(
                "junit 5 tests for this\n"
                + code(
                    "java",
                    """
static boolean isLeapYear(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
""",
                )
            )
        ),
        "java",
        "single",
        "tests",
    ),
    case(
        "lang-kotlin-copy-shallow",
        "local",
        "data class copy() is shallow: a textbook language question.",
        req(
            u(
                "kotlin data class copy() — does it deep copy the list inside?\n"
                + code(
                    "kotlin",
                    """
data class Cart(val id: String, val items: MutableList<Item>)

val b = a.copy(id = "new")
b.items.add(x)   // does a.items change too?
""",
                )
            )
        ),
        "kotlin",
        "single",
        "question",
    ),
    case(
        "lang-kotlin-scope-functions",
        "local",
        "let/apply/also/run: a textbook Kotlin question.",
        req(u("let vs apply vs also vs run in kotlin. when do i use which, short examples")),
        "kotlin",
        "single",
        "question",
    ),
    case(
        "lang-csharp-linq-groupby",
        "local",
        "Rewriting a dictionary-accumulating loop as LINQ GroupBy/ToDictionary is mechanical.",
        req(
            u(
                "linq version\n"
                + code(
                    "csharp",
                    """
var totals = new Dictionary<string, decimal>();
foreach (var o in orders)
{
    if (o.Status == OrderStatus.Cancelled) continue;
    if (!totals.ContainsKey(o.Country)) totals[o.Country] = 0m;
    totals[o.Country] += o.Total;
}
""",
                )
            )
        ),
        "csharp",
        "single",
        "edit",
    ),
    case(
        "lang-csharp-json-options",
        "local",
        "JsonSerializerOptions for camelCase and ignoring nulls: an API lookup.",
        req(
            s(COPILOT_LIKE),
            u("System.Text.Json: serialize with camelCase property names and skip null values. .net 8"),
        ),
        "csharp",
        "dotnet",
        "single",
        "question",
    ),
    case(
        "lang-csharp-threadsafe-readonly",
        "local",
        "'Thread safety concern' about a controller that only reads a static readonly dictionary and locals: safe as is, and the explanation is short.",
        req(
            u(
                "THREAD SAFETY concern!! this is hit by hundreds of concurrent requests, is it safe or do i need locks?\n"
                + code(
                    "csharp",
                    """
public class ShippingController : ControllerBase
{
    private static readonly IReadOnlyDictionary<string, decimal> Rates =
        new Dictionary<string, decimal> { ["DE"] = 4.90m, ["FR"] = 6.50m, ["US"] = 12.00m };

    [HttpGet("quote")]
    public IActionResult Quote(string country, decimal weightKg)
    {
        var total = 0m;
        if (Rates.TryGetValue(country, out var rate))
            total = rate * Math.Max(1m, weightKg);
        return Ok(new { country, total });
    }
}
""",
                )
            )
        ),
        "csharp",
        "single",
        "question",
        "concurrency",
        "misleading",
    ),
    case(
        "lang-swift-guard-let",
        "local",
        "Flattening nested if-lets into guard statements is a mechanical edit.",
        req(
            u(
                "clean up this pyramid\n"
                + code(
                    "swift",
                    """
func handle(_ data: Data?) {
    if let data = data {
        if let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let user = json["user"] as? [String: Any] {
                if let name = user["name"] as? String {
                    nameLabel.text = name
                }
            }
        }
    }
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
        "lang-scala-match-explain",
        "local",
        "Explaining a short pattern match with guards, binders and varargs patterns.",
        req(
            u(
                "explain this, especially the `mods @ _*` bit\n"
                + code(
                    "scala",
                    """
def describe(e: Event): String = e match {
  case Click(x, y) if x < 0 || y < 0               => "offscreen click"
  case Click(_, _)                                 => "click"
  case Key(code, mods @ _*) if mods.contains(Ctrl) => s"ctrl+$code"
  case Key(code, _*)                               => code.toString
  case _                                           => "other"
}
""",
                )
            )
        ),
        "scala",
        "single",
        "question",
    ),
    case(
        "lang-elixir-pipe-rewrite",
        "local",
        "Rewriting nested calls with the pipe operator is a mechanical edit.",
        req(
            u(
                "rewrite with |> so it reads top to bottom\n"
                + code(
                    "elixir",
                    """
def slug(title) do
  String.trim(String.replace(String.downcase(String.normalize(title, :nfd)), ~r/[^a-z0-9]+/u, "-"), "-")
end
""",
                )
            )
        ),
        "elixir",
        "single",
        "edit",
    ),
    case(
        "lang-haskell-foldl-thunks",
        "local",
        "Lazy foldl building thunks versus strict foldl': a textbook Haskell explanation.",
        req(u("why does `foldl (+) 0 [1..10000000]` eat all my memory in ghci but `foldl'` is fine")),
        "haskell",
        "single",
        "question",
    ),
]

SONNET = [
    case(
        "lang-spring-lazy-init",
        "sonnet",
        "LazyInitializationException when Jackson serialises an entity outside the transaction: known fixes (DTO, fetch join or entity graph) read from the trace.",
        req(
            u(
                "GET /customers/{id} blows up:\n"
                + code(
                    "text",
                    """
org.hibernate.LazyInitializationException: failed to lazily initialize a collection of role: com.acme.crm.Customer.orders: could not initialize proxy - no Session
	at org.hibernate.collection.spi.AbstractPersistentCollection.throwLazyInitializationException(AbstractPersistentCollection.java:635)
	at org.hibernate.collection.spi.AbstractPersistentCollection.withTemporarySessionIfNeeded(AbstractPersistentCollection.java:218)
	at org.hibernate.collection.spi.AbstractPersistentCollection.initialize(AbstractPersistentCollection.java:615)
	at org.hibernate.collection.spi.PersistentBag.iterator(PersistentBag.java:407)
	at com.fasterxml.jackson.databind.ser.std.CollectionSerializer.serializeContents(CollectionSerializer.java:139)
	at com.fasterxml.jackson.databind.ser.std.CollectionSerializer.serialize(CollectionSerializer.java:107)
	...
""",
                )
                + "\n"
                + code(
                    "java",
                    """
@GetMapping("/customers/{id}")
public Customer get(@PathVariable long id) {
    return customerService.find(id);
}

@Transactional(readOnly = true)
public Customer find(long id) {
    return repo.findById(id).orElseThrow(() -> new NotFound(id));
}
""",
                )
                + "\nspring.jpa.open-in-view=false, spring boot 3.2"
            )
        ),
        "java",
        "single",
        "debug",
    ),
    case(
        "lang-kotlin-flow-state-loss",
        "sonnet",
        "Collecting a SharedFlow in lifecycleScope keeps showing dialogs after onSaveInstanceState; the fix is repeatOnLifecycle plus not losing one-off events.",
        req(
            s(project_chat("android app, kotlin, coroutines + flow, fragments, viewbinding")),
            u(
                "crash when the app is in the background and a price update arrives\n"
                + code(
                    "text",
                    """
java.lang.IllegalStateException: Can not perform this action after onSaveInstanceState
	at androidx.fragment.app.FragmentManager.checkStateLoss(FragmentManager.java:1644)
	at androidx.fragment.app.FragmentManager.enqueueAction(FragmentManager.java:1684)
	at androidx.fragment.app.BackStackRecord.commitInternal(BackStackRecord.java:321)
	at androidx.fragment.app.BackStackRecord.commit(BackStackRecord.java:286)
	at androidx.fragment.app.DialogFragment.show(DialogFragment.java:266)
	at com.acme.shop.ui.CartFragment$onViewCreated$1$1.emit(CartFragment.kt:58)
""",
                )
                + "\n"
                + attached(
                    "app/src/main/java/com/acme/shop/ui/CartFragment.kt",
                    "kotlin",
                    """
override fun onViewCreated(view: View, savedInstanceState: Bundle?) {
    super.onViewCreated(view, savedInstanceState)
    lifecycleScope.launch {
        viewModel.events.collect { ev ->
            when (ev) {
                is CartEvent.PriceChanged -> PriceChangedDialog.new(ev).show(childFragmentManager, "price")
                is CartEvent.Error -> binding.error.text = ev.message
            }
        }
    }
}
""",
                    lines=(51, 62),
                )
                + "\nevents is a MutableSharedFlow(replay = 0) in the viewmodel"
            ),
        ),
        "kotlin",
        "single",
        "debug",
    ),
    case(
        "lang-wpf-result-deadlock",
        "sonnet",
        "Sync-over-async deadlock on the UI thread: a well-known pitfall with a standard fix (async handler, ConfigureAwait in library code).",
        req(
            u(
                "the 'Sync now' button freezes the whole WPF window forever. no exception, nothing in the logs\n"
                + code(
                    "csharp",
                    """
private void SyncButton_Click(object sender, RoutedEventArgs e)
{
    var count = _syncService.SyncAsync().Result;
    StatusText.Text = $"Synced {count} items";
}

public async Task<int> SyncAsync()
{
    var items = await _api.GetChangesAsync();
    await _db.SaveAsync(items);
    return items.Count;
}
""",
                )
            )
        ),
        "csharp",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "lang-webapi2-to-aspnetcore",
        "sonnet",
        "A known port (Web API 2 to ASP.NET Core 8): DI, options binding instead of ConfigurationManager, results and routing.",
        req(
            u(
                "porting this Web API 2 controller (.net framework 4.8) to asp.net core 8. config comes from web.config appSettings/connectionStrings today and it news up its own dependencies\n"
                + code(
                    "csharp",
                    """
public class ReportsController : ApiController
{
    private readonly ReportRepository _repo = new ReportRepository(
        ConfigurationManager.ConnectionStrings["Reports"].ConnectionString);

    [HttpGet, Route("api/reports/{id:int}")]
    public IHttpActionResult Get(int id)
    {
        var r = _repo.Find(id);
        if (r == null) return NotFound();
        return Ok(r);
    }

    [HttpPost, Route("api/reports")]
    public IHttpActionResult Create([FromBody] ReportDto dto)
    {
        if (!ModelState.IsValid) return BadRequest(ModelState);
        var maxRows = int.Parse(ConfigurationManager.AppSettings["Reports.MaxRows"]);
        var id = _repo.Create(dto, maxRows);
        return Created(new Uri(Request.RequestUri, $"/api/reports/{id}"), new { id });
    }
}
""",
                )
            )
        ),
        "csharp",
        "dotnet",
        "single",
        "migration",
    ),
    case(
        "lang-swift-actor-reentrancy",
        "sonnet",
        "Actor reentrancy across an await lets several refreshes run; the standard fix shares one in-flight Task.",
        req(
            u(
                "our TokenStore is an actor so i thought it was safe, but logs show 3-4 refresh calls at once when the app comes back from background (each refresh invalidates the previous refresh token, so some fail with 401)\n"
                + code(
                    "swift",
                    """
actor TokenStore {
    private var token: Token?
    private let api: AuthAPI

    init(api: AuthAPI) { self.api = api }

    func validToken() async throws -> Token {
        if let t = token, !t.isExpired { return t }
        let fresh = try await api.refresh(using: token?.refreshToken)
        token = fresh
        return fresh
    }
}
""",
                )
            )
        ),
        "swift",
        "single",
        "concurrency",
        "debug",
    ),
    case(
        "lang-play-blocking-jdbc",
        "sonnet",
        "Thread starvation from blocking JDBC on the default dispatcher, read from a thread dump; the fix is a bounded blocking execution context sized to the pool.",
        req(
            u(
                "play app: under load everything stalls, even /health. thread dump shows all default-dispatcher threads like this\n"
                + code(
                    "text",
                    """
"application-akka.actor.default-dispatcher-7" #41 prio=5 os_prio=0 cpu=812.33ms elapsed=1893.20s tid=0x00007f2c4c01e000 nid=0x5b waiting on condition  [0x00007f2bf77fd000]
   java.lang.Thread.State: TIMED_WAITING (parking)
	at jdk.internal.misc.Unsafe.park(java.base@17.0.9/Native Method)
	at java.util.concurrent.locks.LockSupport.parkNanos(java.base@17.0.9/LockSupport.java:252)
	at com.zaxxer.hikari.util.ConcurrentBag.borrow(ConcurrentBag.java:162)
	at com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:172)
	at play.api.db.DefaultDatabase.withConnection(Databases.scala:152)
	at repositories.OrderRepo.$anonfun$byCustomer$1(OrderRepo.scala:31)
	at scala.concurrent.Future$.$anonfun$apply$1(Future.scala:687)
""",
                )
                + "\n"
                + code(
                    "scala",
                    """
class OrderRepo @Inject()(db: Database)(implicit ec: ExecutionContext) {
  def byCustomer(id: Long): Future[Seq[Order]] = Future {
    db.withConnection { implicit c =>
      SQL"select * from orders where customer_id = $id".as(orderParser.*)
    }
  }
}
""",
                )
                + "\nhikari pool size 10, 8 cores"
            )
        ),
        "scala",
        "single",
        "debug",
        "concurrency",
        "performance",
    ),
    case(
        "lang-elixir-genserver-call-timeout",
        "sonnet",
        "A GenServer doing slow HTTP inside handle_call serialises every caller into timeouts; the standard fix is ETS reads plus async fetch with GenServer.reply.",
        req(
            u(
                "callers crash with this under load, and the GenServer's mailbox keeps growing\n"
                + code(
                    "text",
                    """
** (exit) exited in: GenServer.call(Pricing.Cache, {:get, "SKU-1182"}, 5000)
    ** (EXIT) time out
    (elixir 1.16.1) lib/gen_server.ex:1114: GenServer.call/3
    (shop 0.9.0) lib/shop/checkout.ex:44: Shop.Checkout.price_lines/1
""",
                )
                + "\n"
                + code(
                    "elixir",
                    """
def handle_call({:get, sku}, _from, state) do
  case Map.fetch(state.prices, sku) do
    {:ok, price} ->
      {:reply, price, state}

    :error ->
      price = PricingAPI.fetch!(sku)   # http, 200ms-3s
      {:reply, price, put_in(state.prices[sku], price)}
  end
end
""",
                )
            )
        ),
        "elixir",
        "single",
        "debug",
        "concurrency",
    ),
    case(
        "lang-library-loans-api-design",
        "sonnet",
        "API design for one Spring service, including the last-copy race handled with a conditional update or row lock.",
        req(
            u(
                "API design for a library loans service (spring boot + postgres, just this one service): members borrow copies of books, max 5 active loans each, reservations queue when no copy is free, renewals (max 2, not if someone reserved the book), returns, and an overdue list for staff. want endpoints, DTOs, status codes, and how you'd stop two members grabbing the last copy"
            )
        ),
        "java",
        "single",
        "design",
    ),
    case(
        "lang-haskell-map-space-leak",
        "sonnet",
        "Space leak with a clear heap profile: lazy foldl and lazy Map values, plus lazy ByteString slices retaining their chunks.",
        req(
            u(
                "endpoint count over a 2GB access log eats 12GB. heap profile by closure type says it's mostly THUNK and Integer\n"
                + code(
                    "haskell",
                    """
import qualified Data.ByteString.Lazy.Char8 as BL
import Data.List (sortOn)
import qualified Data.Map as M

main :: IO ()
main = do
  s <- BL.readFile "access.log"
  let counts = foldl step M.empty (BL.lines s)
  mapM_ print (take 20 (sortOn (negate . snd) (M.toList counts)))
  where
    step m line = M.insertWith (+) (endpoint line) 1 m

-- the path field of a log line
endpoint :: BL.ByteString -> BL.ByteString
endpoint = BL.takeWhile (/= ' ') . BL.dropWhile (/= '/')
""",
                )
            )
        ),
        "haskell",
        "single",
        "performance",
    ),
    case(
        "lang-kotlin-mockk-retry-tests",
        "sonnet",
        "Tests for retry logic with coroutines and virtual time: several paths and mocking details where wrong tests pass vacuously.",
        req(
            s(CONTINUE_CHAT),
            u(
                "tests for this with mockk + runTest: success first try, retry after IOException then success, gives up after 3 attempts and rethrows, no retry on a 4xx HttpException. virtual time, no real delays\n"
                + attached(
                    "sync/src/main/kotlin/com/acme/sync/PriceSync.kt",
                    "kotlin",
                    """
class PriceSync(private val api: PriceApi, private val dao: PriceDao) {
    suspend fun sync(sku: String): Price {
        var attempt = 0
        while (true) {
            try {
                val p = api.fetch(sku)
                dao.upsert(p)
                return p
            } catch (e: HttpException) {
                if (e.code() in 400..499 || attempt >= 2) throw e
            } catch (e: IOException) {
                if (attempt >= 2) throw e
            }
            delay(500L shl attempt)
            attempt++
        }
    }
}
""",
                )
            ),
        ),
        "kotlin",
        "single",
        "tests",
    ),
]

OPUS = [
    case(
        "lang-java-dcl-publish-before-load",
        "opus",
        "Volatile double-checked locking that publishes the instance before load() fills its HashMap: readers see a half-built, concurrently mutated map.",
        req(
            u(
                "is this double-checked locking safe? it's volatile so should be fine?\n"
                + code(
                    "java",
                    """
public final class Config {
    private static volatile Config instance;
    private final Map<String, String> values = new HashMap<>();

    public static Config get() {
        if (instance == null) {
            synchronized (Config.class) {
                if (instance == null) {
                    instance = new Config();
                    instance.load(Paths.get("/etc/app/app.properties"));
                }
            }
        }
        return instance;
    }

    private void load(Path p) { /* reads the file, values.put(k, v) for each line */ }

    public String value(String k) { return values.get(k); }
}
""",
                )
            )
        ),
        "java",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "lang-java-this-escape-final",
        "opus",
        "'Final fields' do not help when the constructor registers this before assigning them: another thread can observe nulls.",
        req(
            u(
                "fields are final so this is thread-safe, right? listeners get called from the event bus's thread pool\n"
                + code(
                    "java",
                    """
public class PriceWatcher implements Listener {
    private final String sku;
    private final BigDecimal threshold;
    private final Notifier notifier;

    public PriceWatcher(EventBus bus, String sku, BigDecimal threshold, Notifier notifier) {
        bus.register(this);
        this.sku = sku;
        this.threshold = threshold;
        this.notifier = notifier;
    }

    @Override
    public void onPrice(PriceEvent e) {
        if (e.sku().equals(sku) && e.price().compareTo(threshold) < 0) {
            notifier.alert(sku, e.price());
        }
    }
}
""",
                )
            )
        ),
        "java",
        "single",
        "concurrency",
        "memory-model",
        "misleading",
    ),
    case(
        "lang-akka-auto-down",
        "opus",
        "A 'small config change' enabling auto-down: a network partition splits the cluster and runs two billing singletons.",
        req(
            u(
                "small config change so the cluster heals faster after a node crash, look ok?\n"
                + code(
                    "hocon",
                    """
akka.cluster {
  auto-down-unreachable-after = 10s
  min-nr-of-members = 1
}
""",
                )
                + "\nwe run 4 nodes and the cluster singleton is our billing scheduler. akka 2.5 (yes i know)"
            )
        ),
        "scala",
        "single",
        "distributed",
        "misleading",
    ),
    case(
        "lang-haskell-lww-merge-laws",
        "opus",
        "CRDT laws: the merge is associative and idempotent but not commutative on equal stamps, so replicas diverge; needs the argument and a tie-break.",
        req(
            u(
                "we merge replica state with this as a CRDT (gossip, any order, duplicates possible). is it a proper join semilattice? i need the argument written down for the design review\n"
                + code(
                    "haskell",
                    """
data LWW a = LWW { stamp :: !Word64, val :: a } deriving (Show)

merge :: LWW a -> LWW a -> LWW a
merge x y
  | stamp y >= stamp x = y
  | otherwise          = x
""",
                )
                + "\nstamps are epoch millis from the writing node's clock"
            )
        ),
        "haskell",
        "single",
        "proof",
        "distributed",
    ),
    case(
        "lang-csharp-reset-code-review",
        "opus",
        "Security review of a password-reset flow: account enumeration, a non-cryptographic six-digit code with no attempt limit, reusable codes stored in clear, sessions left alive.",
        req(
            u(
                "review our password reset pls\n"
                + code(
                    "csharp",
                    """
public async Task<IActionResult> RequestReset(string email)
{
    var user = await _users.FindByEmailAsync(email);
    if (user == null) return NotFound("No account with that email");
    var code = new Random().Next(100000, 999999).ToString();
    user.ResetCode = code;
    user.ResetCodeExpires = DateTime.Now.AddHours(24);
    await _users.SaveAsync(user);
    await _mail.SendAsync(email, "Your reset code", $"Code: {code}");
    return Ok();
}

public async Task<IActionResult> Reset(string email, string code, string newPassword)
{
    var user = await _users.FindByEmailAsync(email);
    if (user == null || user.ResetCode != code || user.ResetCodeExpires < DateTime.Now)
        return BadRequest("Invalid code");
    user.PasswordHash = _hasher.Hash(newPassword);
    await _users.SaveAsync(user);
    return Ok();
}
""",
                )
            )
        ),
        "csharp",
        "single",
        "security",
        "review",
    ),
    case(
        "lang-kotlin-active-active-invariants",
        "opus",
        "Multi-region active-active design with global invariants (delete wins, unique email) over asynchronous replication.",
        req(
            u(
                "designing an active-active user profile service in two regions (kotlin/spring, postgres in each region, async replication through kafka mirrormaker). both regions accept writes. invariants: 'delete account' must win over any concurrent update in the other region, an email address can belong to only one account globally, and a user must read their own writes in whichever region they hit next. how would you model the data and the replication so these hold, and what do we give up?"
            )
        ),
        "kotlin",
        "single",
        "design",
        "distributed",
    ),
    case(
        "lang-jvm-zgc-96-cores",
        "opus",
        "Open-ended JVM performance investigation from symptoms (throughput loss only on large machines after a GC change) across GC threads, NUMA and allocation.",
        req(
            u(
                "after moving our matching engine from java 17 + G1 to java 21 + generational ZGC, p999 went from 40ms to 6ms (great) but throughput dropped ~30% and CPU is way up, only on the 96-core boxes; on 16-core boxes it's about the same. heap 64g, allocation rate ~3GB/s. how would you investigate?"
            )
        ),
        "java",
        "single",
        "performance",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
