"""Building blocks for the labelled cases: message helpers, client system prompts, tool schemas, and
deterministic generators for long pasted context (modules, logs, diffs). Used only by evals/build.py.
"""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

import json
import random
from typing import Any

Msg = dict[str, Any]


# --- messages ---------------------------------------------------------------------------------


def u(text: str) -> Msg:
    return {"role": "user", "content": text}


def a(text: str) -> Msg:
    return {"role": "assistant", "content": text}


def s(text: str) -> Msg:
    return {"role": "system", "content": text}


def req(*messages: Msg, tools: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "auto", "messages": list(messages)}
    if tools:
        body["tools"] = tools
    body.update(extra)
    return body


def code(lang: str, text: str) -> str:
    return f"```{lang}\n{text.strip()}\n```"


class Calls:
    """Numbered tool calls and their results, as an agent loop accumulates them."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def call(self, name: str, thought: str | None = None, **args: Any) -> Msg:
        self.n += 1
        return {
            "role": "assistant",
            "content": thought,
            "tool_calls": [
                {
                    "id": f"call_{self.prefix}_{self.n}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
            ],
        }

    def result(self, text: str) -> Msg:
        return {"role": "tool", "tool_call_id": f"call_{self.prefix}_{self.n}", "content": text}


# --- client system prompts ------------------------------------------------------------------------

CONTINUE_CHAT = (
    "You are an expert software developer. You give helpful and concise responses. "
    "Always include the language and file name in the info string when you write code blocks."
)

COPILOT_LIKE = "You are a helpful programming assistant. Answer the user's coding questions accurately."

CURSOR_AGENT = """You are a powerful agentic AI coding assistant. You operate exclusively in Cursor, the world's best IDE.

You are pair programming with a USER to solve their coding task. The task may require creating a new codebase, modifying or debugging an existing codebase, or simply answering a question. Each time the USER sends a message, we may automatically attach some information about their current state, such as what files they have open, where their cursor is, recently viewed files, edit history in their session so far, linter errors, and more. This information may or may not be relevant to the coding task, it is up for you to decide.

<tool_calling>
You have tools at your disposal to solve the coding task. Follow these rules regarding tool calls:
1. ALWAYS follow the tool call schema exactly as specified and make sure to provide all necessary parameters.
2. NEVER refer to tool names when speaking to the USER.
3. Only calls tools when they are necessary. If the USER's task is general or you already know the answer, just respond without calling tools.
4. Before calling each tool, first explain to the USER why you are calling it.
</tool_calling>

<making_code_changes>
When making code changes, NEVER output code to the USER, unless requested. Instead use one of the code edit tools to implement the change.
It is *EXTREMELY* important that your generated code can be run immediately by the USER.
1. Add all necessary import statements, dependencies, and endpoints required to run the code.
2. Unless you are appending some small easy-to-apply edit to a file, or creating a new file, you MUST read the contents or section of what you're editing before editing it.
3. If you've introduced (linter) errors, fix them if clear how to. Do not loop more than 3 times on fixing linter errors on the same file.
</making_code_changes>

<debugging>
When debugging, only make code changes if you are certain that you can solve the problem. Otherwise, follow debugging best practices:
1. Address the root cause instead of the symptoms.
2. Add descriptive logging statements and error messages to track variable and code state.
3. Add test functions and statements to isolate the problem.
</debugging>"""

CLINE = """You are Cline, a highly skilled software engineer with extensive knowledge in many programming languages, frameworks, design patterns, and best practices.

====

TOOL USE

You have access to a set of tools that are executed upon the user's approval. You can use one tool per message, and will receive the result of that tool use in the user's response. You use tools step-by-step to accomplish a given task, with each tool use informed by the result of the previous tool use.

# Tool Use Guidelines

1. In <thinking> tags, assess what information you already have and what information you need to proceed with the task.
2. Choose the most appropriate tool based on the task and the tool descriptions provided.
3. If multiple actions are needed, use one tool at a time per message to accomplish the task iteratively.
4. After each tool use, the user will respond with the result of that tool use.

====

RULES

- Your current working directory is: /home/dev/project
- You cannot `cd` into a different directory to complete a task.
- Do not ask for more information than necessary. Use the tools provided to accomplish the user's request efficiently and effectively.
- When making changes to code, always consider the context in which the code is being used."""

CLI_AGENT = """You are an interactive CLI agent that helps users with software engineering tasks. Use the instructions below and the tools available to you to assist the user.

# Doing tasks
The user will primarily request you perform software engineering tasks: solving bugs, adding new functionality, refactoring code, explaining code. For these tasks:
1. Use the available search tools to understand the codebase and the user's query.
2. Implement the solution using all tools available to you.
3. Verify the solution if possible with tests. Never assume a specific test framework.
4. Run the lint and typecheck commands when you have completed a task.

# Tone
Be concise, direct, and to the point. Minimize output tokens while maintaining helpfulness."""


# --- tools ------------------------------------------------------------------------------------------


def _tool(name: str, description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": props, "required": required},
        },
    }


STR = {"type": "string"}
READ_FILE = _tool("read_file", "Read the contents of a file in the workspace.", {"path": STR}, ["path"])
EDIT_FILE = _tool(
    "edit_file",
    "Replace old_string with new_string in a file. old_string must match exactly once.",
    {"path": STR, "old_string": STR, "new_string": STR},
    ["path", "old_string", "new_string"],
)
RUN = _tool(
    "run_terminal_cmd", "Run a shell command in the workspace and return its output.", {"command": STR}, ["command"]
)
GREP = _tool(
    "grep_search", "Search the workspace with a regular expression.", {"pattern": STR, "path": STR}, ["pattern"]
)
LIST_DIR = _tool("list_dir", "List a directory.", {"path": STR}, ["path"])
SEARCH = _tool("codebase_search", "Semantic search over the codebase.", {"query": STR}, ["query"])
AGENT_TOOLS = [READ_FILE, EDIT_FILE, RUN, GREP, LIST_DIR, SEARCH]
SMALL_TOOLS = [READ_FILE, EDIT_FILE, RUN]


# --- long context -------------------------------------------------------------------------------

_NOUNS = ["order", "invoice", "customer", "shipment", "payment", "account", "session", "report", "ticket", "item"]
_VERBS = ["load", "save", "validate", "normalize", "fetch", "render", "compute", "apply", "merge", "export"]


def python_module(n_funcs: int, seed: int) -> str:
    """A plausible service module: dataclasses and functions with bodies of varied shape."""
    rng = random.Random(seed)
    out = [
        '"""Order processing helpers."""',
        "",
        "from __future__ import annotations",
        "",
        "import logging",
        "from dataclasses import dataclass, field",
        "from decimal import Decimal",
        "",
        "log = logging.getLogger(__name__)",
        "",
    ]
    for noun in _NOUNS[: 3 + seed % 4]:
        cls = noun.capitalize()
        out += [
            "@dataclass",
            f"class {cls}:",
            "    id: int",
            "    status: str = 'new'",
            "    amount: Decimal = Decimal('0')",
            "    tags: list[str] = field(default_factory=list)",
            "",
        ]
    for i in range(n_funcs):
        verb, noun = rng.choice(_VERBS), rng.choice(_NOUNS)
        name = f"{verb}_{noun}_{i}"
        shape = rng.randrange(4)
        out.append(f"def {name}(records, *, limit=100, strict=False):")
        if shape == 0:
            out += [
                "    result = []",
                "    for r in records[:limit]:",
                f"        if strict and r.get('status') != '{rng.choice(['open', 'paid', 'void'])}':",
                "            continue",
                f"        result.append({{**r, 'checked': True, 'source': '{noun}'}})",
                "    return result",
            ]
        elif shape == 1:
            out += [
                "    total = Decimal('0')",
                "    for r in records:",
                "        try:",
                "            total += Decimal(str(r['amount']))",
                "        except (KeyError, ArithmeticError) as exc:",
                f"            log.warning('skipping {noun} %s: %s', r.get('id'), exc)",
                f"    return total.quantize(Decimal('0.{'0' * rng.randint(1, 3)}'))",
            ]
        elif shape == 2:
            out += [
                "    by_status = {}",
                "    for r in records:",
                "        by_status.setdefault(r.get('status', 'unknown'), []).append(r)",
                "    if strict and 'unknown' in by_status:",
                f"        raise ValueError('{noun} without status')",
                "    return {k: len(v) for k, v in sorted(by_status.items())}",
            ]
        else:
            out += [
                "    seen = set()",
                "    out = []",
                "    for r in records:",
                f"        key = (r.get('{rng.choice(['id', 'email', 'sku'])}'), r.get('region'))",
                "        if key in seen:",
                "            continue",
                "        seen.add(key)",
                "        out.append(r)",
                "    return out[:limit]",
            ]
        out.append("")
    return "\n".join(out)


def go_file(n_funcs: int, seed: int) -> str:
    rng = random.Random(seed)
    out = ["package store", "", "import (", '\t"context"', '\t"errors"', '\t"fmt"', '\t"sync"', '\t"time"', ")", ""]
    out += [
        'var ErrNotFound = errors.New("not found")',
        "",
        "type Store struct {",
        "\tmu    sync.RWMutex",
        "\titems map[string]Item",
        "\tttl   time.Duration",
        "}",
        "",
        "type Item struct {",
        "\tKey     string",
        "\tValue   []byte",
        "\tExpires time.Time",
        "}",
        "",
    ]
    for i in range(n_funcs):
        noun = rng.choice(_NOUNS).capitalize()
        shape = rng.randrange(3)
        out.append(f"func (s *Store) Get{noun}{i}(ctx context.Context, key string) (Item, error) {{")
        if shape == 0:
            out += [
                "\ts.mu.RLock()",
                "\tdefer s.mu.RUnlock()",
                "\tit, ok := s.items[key]",
                "\tif !ok || time.Now().After(it.Expires) {",
                "\t\treturn Item{}, ErrNotFound",
                "\t}",
                "\treturn it, nil",
            ]
        elif shape == 1:
            out += [
                "\tselect {",
                "\tcase <-ctx.Done():",
                "\t\treturn Item{}, ctx.Err()",
                "\tdefault:",
                "\t}",
                "\ts.mu.Lock()",
                "\tdefer s.mu.Unlock()",
                f'\tk := fmt.Sprintf("%s:{noun.lower()}", key)',
                "\tit := s.items[k]",
                "\tit.Expires = time.Now().Add(s.ttl)",
                "\ts.items[k] = it",
                "\treturn it, nil",
            ]
        else:
            out += [
                "\tfor attempt := 0; attempt < 3; attempt++ {",
                "\t\ts.mu.RLock()",
                "\t\tit, ok := s.items[key]",
                "\t\ts.mu.RUnlock()",
                "\t\tif ok {",
                "\t\t\treturn it, nil",
                "\t\t}",
                f"\t\ttime.Sleep(time.Duration(attempt+1) * {rng.choice([5, 10, 20])} * time.Millisecond)",
                "\t}",
                "\treturn Item{}, ErrNotFound",
            ]
        out += ["}", ""]
    return "\n".join(out)


_LEVELS = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2
_EVENTS = [
    "GET /api/v1/orders/{n} 200 {ms}ms",
    "POST /api/v1/payments 201 {ms}ms",
    "cache hit key=order:{n}",
    "cache miss key=customer:{n}",
    "db pool acquired conn={c} wait={ms}ms",
    "kafka consumer offset committed partition={c} offset={n}",
    "scheduled job reconcile-invoices finished in {ms}ms",
    "GET /healthz 200 1ms",
    "retrying upstream call attempt={c} after {ms}ms",
]


def log_lines(n: int, seed: int, needle: list[str], at: float = 0.7, service: str = "orders-api") -> str:
    """A service log of ``n`` lines with the ``needle`` lines inserted at fraction ``at``."""
    rng = random.Random(seed)
    lines = []
    t = 0
    for i in range(n):
        if i == int(n * at):
            for extra in needle:
                t += rng.randint(1, 40)
                lines.append(f"2024-11-03T14:{(t // 60000) % 60:02d}:{(t // 1000) % 60:02d}.{t % 1000:03d}Z {extra}")
        t += rng.randint(1, 900)
        ev = rng.choice(_EVENTS).format(n=rng.randint(1000, 99999), ms=rng.randint(1, 300), c=rng.randint(1, 16))
        stamp = f"2024-11-03T14:{(t // 60000) % 60:02d}:{(t // 1000) % 60:02d}.{t % 1000:03d}Z"
        lines.append(f"{stamp} {rng.choice(_LEVELS):5s} [{service}] [worker-{rng.randint(1, 8)}] {ev}")
    return "\n".join(lines)


def json_blob(n: int, seed: int) -> str:
    rng = random.Random(seed)
    items = [
        {
            "id": 1000 + i,
            "name": f"{rng.choice(_NOUNS)}-{i}",
            "price": round(rng.uniform(1, 500), 2),
            "tags": rng.sample(["new", "sale", "eu", "us", "bulk", "fragile"], k=2),
            "dimensions": {"w": rng.randint(1, 90), "h": rng.randint(1, 90), "d": rng.randint(1, 90)},
            "active": rng.random() > 0.2,
        }
        for i in range(n)
    ]
    return json.dumps({"items": items, "count": n, "next": None}, indent=2)


def unified_diff(files: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """A git diff: for each file, (removed, added) line pairs in hunks."""
    out = []
    for path, hunks in files:
        out += [f"diff --git a/{path} b/{path}", f"--- a/{path}", f"+++ b/{path}"]
        for i, (old, new) in enumerate(hunks):
            old_lines = old.splitlines()
            new_lines = new.splitlines()
            out.append(f"@@ -{10 + 20 * i},{len(old_lines)} +{10 + 20 * i},{len(new_lines)} @@")
            out += ["-" + line for line in old_lines]
            out += ["+" + line for line in new_lines]
    return "\n".join(out)


def java_trace(depth: int, seed: int, cause: str) -> str:
    rng = random.Random(seed)
    frames = [
        "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
        "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:166)",
        "org.springframework.security.web.FilterChainProxy.doFilterInternal(FilterChainProxy.java:221)",
        "org.hibernate.internal.SessionImpl.flush(SessionImpl.java:1425)",
        "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
        "com.acme.billing.InvoiceService.close(InvoiceService.java:{n})",
        "com.acme.billing.InvoiceController.closeInvoice(InvoiceController.java:{n})",
    ]
    lines = [cause]
    for _ in range(depth):
        lines.append("\tat " + rng.choice(frames).format(n=rng.randint(40, 400)))
    return "\n".join(lines)


def case(id: str, gold: str, why: str, request: dict[str, Any], *tags: str) -> dict[str, Any]:
    """One labelled case: ``gold`` is the cheapest tier that answers it well (see evals/README.md)."""
    assert gold in ("local", "sonnet", "opus"), gold
    return {"id": id, "gold": gold, "why": why, "tags": list(tags), "request": request}
