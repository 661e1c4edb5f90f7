"""Single requests a local 7B coding model answers well: mechanical edits, explanations of short
self-contained code or textbook concepts, lookups, boilerplate."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u

CASES = [
    case(
        "py-type-hints-merge",
        "local",
        "Mechanical annotation of a four-line function.",
        req(
            u(
                "add type hints to this function\n"
                + code(
                    "python",
                    """
def merge(a, b):
    out = dict(a)
    out.update(b)
    return out
""",
                )
            )
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "py-docstring-retry",
        "local",
        "A docstring for a short, readable function.",
        req(
            s(CONTINUE_CHAT),
            u(
                "write a google style docstring for this\n"
                + code(
                    "python",
                    """
def retry(fn, attempts=3, delay=0.5):
    for i in range(attempts):
        try:
            return fn()
        except Exception:
            if i == attempts - 1:
                raise
            time.sleep(delay * 2 ** i)
""",
                )
            ),
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "py-list-comprehension",
        "local",
        "Rewrite a loop as a comprehension; one correct answer.",
        req(
            u(
                "convert to a list comprehension pls\n"
                + code(
                    "python",
                    """
evens = []
for n in numbers:
    if n % 2 == 0:
        evens.append(n * n)
""",
                )
            )
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "py-args-kwargs",
        "local",
        "Textbook language question.",
        req(u("what does *args and **kwargs mean in a python function signature?")),
        "python",
        "single",
        "question",
    ),
    case(
        "py-pandas-skiprows",
        "local",
        "API lookup with a one-line answer.",
        req(u("how do I read a csv with pandas but skip the first 2 rows and use ; as separator")),
        "python",
        "single",
        "question",
    ),
    case(
        "ts-convert-js",
        "local",
        "Add types to a small JS function; no design decisions.",
        req(
            u(
                "Convert this to TypeScript with proper types\n"
                + code(
                    "js",
                    """
function groupBy(items, key) {
  return items.reduce((acc, item) => {
    const k = item[key];
    (acc[k] = acc[k] || []).push(item);
    return acc;
  }, {});
}
""",
                )
            )
        ),
        "typescript",
        "single",
        "edit",
    ),
    case(
        "ts-interface-vs-type",
        "local",
        "Textbook language question.",
        req(
            s(CONTINUE_CHAT),
            u("what's the difference between interface and type in typescript, when should I use which"),
        ),
        "typescript",
        "single",
        "question",
    ),
    case(
        "js-hex-color-regex",
        "local",
        "A short, well-known regex.",
        req(u("regex to match a css hex color like #fff or #a1b2c3 (case insensitive)")),
        "javascript",
        "single",
        "regex",
    ),
    case(
        "go-map-key-exists",
        "local",
        "Language basics.",
        req(u("how do i check if a key exists in a map in golang")),
        "go",
        "single",
        "question",
    ),
    case(
        "go-json-tags",
        "local",
        "Mechanical: add struct tags.",
        req(
            u(
                "add json tags in snake_case to this struct, omitempty on the optional ones\n"
                + code(
                    "go",
                    """
type User struct {
    ID        int64
    FirstName string
    LastName  string
    Email     string
    AvatarURL *string
    CreatedAt time.Time
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
        "rust-question-mark",
        "local",
        "Textbook language question.",
        req(u("what does the ? operator do in rust? can i use it in main")),
        "rust",
        "single",
        "question",
    ),
    case(
        "rust-use-after-move",
        "local",
        "The most common borrow-checker error, with a three-line reproduction.",
        req(
            u(
                "why does this not compile\n"
                + code(
                    "rust",
                    """
let s = String::from("hello");
let t = s;
println!("{} {}", s, t);
""",
                )
                + "\nerror[E0382]: borrow of moved value: `s`"
            )
        ),
        "rust",
        "single",
        "debug",
    ),
    case(
        "java-getters-setters",
        "local",
        "Boilerplate generation.",
        req(
            u(
                "generate getters, setters and a toString for this class\n"
                + code(
                    "java",
                    """
public class Address {
    private String street;
    private String city;
    private String postcode;
    private String country;
}
""",
                )
            )
        ),
        "java",
        "single",
        "boilerplate",
    ),
    case(
        "java-anon-to-lambda",
        "local",
        "Mechanical rewrite.",
        req(
            u(
                "convert this to a lambda\n"
                + code(
                    "java",
                    """
Collections.sort(people, new Comparator<Person>() {
    @Override
    public int compare(Person a, Person b) {
        return a.getAge() - b.getAge();
    }
});
""",
                )
            )
        ),
        "java",
        "single",
        "edit",
    ),
    case(
        "cpp-reserve-vs-resize",
        "local",
        "Textbook library question.",
        req(u("c++: difference between vector::reserve and vector::resize?")),
        "cpp",
        "single",
        "question",
    ),
    case(
        "c-missing-nul",
        "local",
        "Classic missing terminator in a six-line program.",
        req(
            u(
                "why does this print garbage after hello\n"
                + code(
                    "c",
                    """
char buf[5];
memcpy(buf, "hello", 5);
printf("%s\\n", buf);
""",
                )
            )
        ),
        "c",
        "single",
        "debug",
    ),
    case(
        "sql-top-customers",
        "local",
        "A join, GROUP BY and LIMIT over a given schema.",
        req(
            u("""tables: customers(id, name), orders(id, customer_id, amount, created_at)
write a query for the top 5 customers by total order amount in 2024""")
        ),
        "sql",
        "single",
        "query",
    ),
    case(
        "sql-format",
        "local",
        "Formatting.",
        req(
            u(
                "format this sql so it's readable\nselect u.id,u.email,count(o.id) as n from users u left join orders o on o.user_id=u.id where u.created_at>'2024-01-01' group by u.id,u.email having count(o.id)>3 order by n desc"
            )
        ),
        "sql",
        "single",
        "format",
    ),
    case(
        "bash-find-old-logs",
        "local",
        "Well-known one-liner.",
        req(u("bash one liner to delete all .log files under /var/app older than 7 days")),
        "shell",
        "single",
        "question",
    ),
    case(
        "bash-set-euo",
        "local",
        "Textbook shell question.",
        req(u("what does set -euo pipefail actually do")),
        "shell",
        "single",
        "question",
    ),
    case(
        "git-undo-commit",
        "local",
        "Well-known git command.",
        req(s(COPILOT_LIKE), u("how do I undo my last commit but keep the changes in my working tree")),
        "git",
        "single",
        "question",
    ),
    case(
        "docker-node-express",
        "local",
        "Standard boilerplate.",
        req(u("write a Dockerfile for a small node 20 express app, it starts with `node server.js` on port 3000")),
        "docker",
        "single",
        "boilerplate",
    ),
    case(
        "yaml-from-json",
        "local",
        "Format conversion.",
        req(
            u(
                'convert to yaml: {"name": "api", "replicas": 3, "env": [{"name": "PORT", "value": "8080"}], "resources": {"limits": {"cpu": "500m"}}}'
            )
        ),
        "yaml",
        "single",
        "format",
    ),
    case(
        "kotlin-rename",
        "local",
        "Rename inside one snippet.",
        req(
            u(
                "rename usr to user everywhere in this\n"
                + code(
                    "kotlin",
                    """
fun greet(usr: User?): String {
    if (usr == null) return "Hello, guest"
    val name = usr.displayName ?: usr.email
    return "Hello, $name"
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
        "csharp-xml-doc",
        "local",
        "Doc comments for a short method.",
        req(
            u(
                "add XML doc comments\n"
                + code(
                    "csharp",
                    """
public static decimal ApplyDiscount(decimal price, decimal percent)
{
    if (percent < 0 || percent > 100) throw new ArgumentOutOfRangeException(nameof(percent));
    return Math.Round(price * (1 - percent / 100m), 2);
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
        "ruby-symbol-to-proc",
        "local",
        "Language idiom.",
        req(u("ruby: what does the &:upcase mean in names.map(&:upcase)")),
        "ruby",
        "single",
        "question",
    ),
    case(
        "php-typo",
        "local",
        "Spelling fix.",
        req(
            u(
                "fix the typo in this message\n"
                + code(
                    "php",
                    """
throw new InvalidArgumentException("The email adress is not vaild");
""",
                )
            )
        ),
        "php",
        "single",
        "edit",
    ),
    case(
        "swift-codable",
        "local",
        "Conformance boilerplate with a CodingKeys enum.",
        req(
            u(
                "make this conform to Codable, the json keys are snake_case\n"
                + code(
                    "swift",
                    """
struct Post {
    let id: Int
    let authorName: String
    let publishedAt: Date
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
        "css-center-flex",
        "local",
        "Textbook CSS.",
        req(u("how to center a div both horizontally and vertically with flexbox")),
        "css",
        "single",
        "question",
    ),
    case(
        "py-pytest-slugify",
        "local",
        "Tests for a pure function with obvious cases.",
        req(
            u(
                "write pytest tests for this\n"
                + code(
                    "python",
                    """
def slugify(title: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower())
    return s.strip("-")
""",
                )
            )
        ),
        "python",
        "single",
        "tests",
    ),
    case(
        "py-sort-imports",
        "local",
        "Formatting.",
        req(
            u(
                "sort these imports isort style\n"
                + code(
                    "python",
                    """
from app.models import User
import os
from typing import Any
import sys
from app.db import session
import requests
""",
                )
            )
        ),
        "python",
        "single",
        "format",
    ),
    case(
        "ts-jsdoc",
        "local",
        "Doc comments.",
        req(
            u(
                "add jsdoc to these\n"
                + code(
                    "ts",
                    """
export const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const uniq = <T,>(xs: T[]) => [...new Set(xs)];
""",
                )
            )
        ),
        "typescript",
        "single",
        "edit",
    ),
    case(
        "go-table-test",
        "local",
        "A table-driven test for a pure function.",
        req(
            u(
                "write a table driven test for this\n"
                + code(
                    "go",
                    """
func Reverse(s string) string {
    r := []rune(s)
    for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
        r[i], r[j] = r[j], r[i]
    }
    return string(r)
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
        "py-explain-password-regex",
        "local",
        "Explaining a short regex.",
        req(u(r"explain this regex: ^(?=.*\d)(?=.*[a-z])(?=.*[A-Z]).{8,}$")),
        "python",
        "single",
        "regex",
    ),
    case(
        "java-string-immutability",
        "local",
        "Predict the output of a short program.",
        req(
            u(
                "what does this print and why\n"
                + code(
                    "java",
                    """
String s = "abc";
s.toUpperCase();
s.concat("def");
System.out.println(s);
""",
                )
            )
        ),
        "java",
        "single",
        "question",
    ),
    case(
        "cpp-accumulate",
        "local",
        "Mechanical rewrite.",
        req(
            u(
                "rewrite with std::accumulate\n"
                + code(
                    "cpp",
                    """
double total = 0;
for (size_t i = 0; i < prices.size(); ++i) {
    total += prices[i] * qty[i];
}
""",
                )
                + "\nactually inner_product is probably better? whichever is cleaner"
            )
        ),
        "cpp",
        "single",
        "edit",
    ),
    case(
        "sql-where-vs-having",
        "local",
        "Textbook SQL question.",
        req(u("difference between WHERE and HAVING?")),
        "sql",
        "single",
        "question",
    ),
    case(
        "py-dict-to-dataframe",
        "local",
        "One-line pandas answer.",
        req(
            u(
                "turn this into a dataframe with columns name, score\n"
                + code(
                    "python",
                    """
data = {"alice": [90, 85], "bob": [70, 88], "carol": [95, 91]}
""",
                )
                + "\none row per score"
            )
        ),
        "python",
        "single",
        "question",
    ),
    case(
        "js-array-plus-object",
        "local",
        "Well-known JS coercion explanation.",
        req(u("why does [] + {} give '[object Object]' in js")),
        "javascript",
        "single",
        "question",
    ),
    case(
        "rust-derive",
        "local",
        "Add derives.",
        req(
            u(
                "add Debug, Clone, PartialEq derives and a Default impl where it makes sense\n"
                + code(
                    "rust",
                    """
enum Status { Active, Suspended, Deleted }

struct Account {
    id: u64,
    owner: String,
    status: Status,
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
        "py-add-logging",
        "local",
        "Insert log lines.",
        req(
            u(
                "add logging (logger = logging.getLogger(__name__)) at start and end of this, include the user id\n"
                + code(
                    "python",
                    """
def deactivate(user_id: int) -> None:
    user = repo.get(user_id)
    user.active = False
    repo.save(user)
    mailer.send_goodbye(user.email)
""",
                )
            )
        ),
        "python",
        "single",
        "edit",
    ),
    case(
        "cpp-lru-cache",
        "local",
        "A standard data structure (list + hash map) that small code models write correctly.",
        req(u("implement an LRU cache class in C++ with get(key) and put(key, value) both O(1), capacity in ctor")),
        "cpp",
        "single",
        "implement",
    ),
    case(
        "py-parse-json-dataclasses",
        "local",
        "Straightforward mapping of a small JSON shape onto dataclasses.",
        req(
            u("""parse this API response into dataclasses (Order with a list of Line)
{"id": 7, "currency": "EUR", "lines": [{"sku": "A1", "qty": 2, "unit_price": "9.90"}]}
unit_price should be a Decimal""")
        ),
        "python",
        "single",
        "implement",
    ),
    case(
        "go-buffered-channels",
        "local",
        "Textbook concurrency explanation with a toy example; the words are hard, the question is not.",
        req(
            u(
                "explain the difference between buffered and unbuffered channels in go, and show a tiny example that deadlocks with an unbuffered one"
            )
        ),
        "go",
        "single",
        "question",
        "misleading",
    ),
    case(
        "py-fstring-format",
        "local",
        "Format spec lookup.",
        req(u("python f-string to print a float with 2 decimals and thousands separator, like 1,234.50")),
        "python",
        "single",
        "question",
    ),
    case(
        "sh-loop-files",
        "local",
        "Short script.",
        req(u("bash: loop over all *.png in a folder and convert each to webp with cwebp, keep the same name")),
        "shell",
        "single",
        "implement",
    ),
    case(
        "ts-optional-chaining",
        "local",
        "Mechanical simplification.",
        req(
            u(
                "simplify with optional chaining / nullish coalescing\n"
                + code(
                    "ts",
                    """
const city = user && user.address && user.address.city ? user.address.city : "unknown";
""",
                )
            )
        ),
        "typescript",
        "single",
        "edit",
    ),
    case(
        "java-stream-filter",
        "local",
        "Rewrite a loop with streams.",
        req(
            u(
                "use streams instead\n"
                + code(
                    "java",
                    """
List<String> names = new ArrayList<>();
for (User u : users) {
    if (u.isActive()) {
        names.add(u.getName().toLowerCase());
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
]
