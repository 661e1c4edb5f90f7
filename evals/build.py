"""Write evals/dev.jsonl and evals/test.jsonl from the hand-written cases in evals/cases_*.py.

The split is deterministic and stratified: within each (group, gold) stratum the cases are ordered by
the SHA-256 of their id and case i goes to dev when floor((i+1)*3/5) > floor(i*3/5): 3 of every 5, with
small strata filled test-first so that the test file sees every kind of case. Editing one case never moves
another between the files; adding a case can reorder its whole (group, gold) stratum, so add new cases as a
new group (as the 2026-12-03 additions were), which leaves every existing case on its side.

    python evals/build.py            # rewrite both files
    python evals/build.py --check    # exit 1 if the files are not what the cases produce
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases_agent  # noqa: E402
import cases_chat  # noqa: E402
import cases_chat_clients  # noqa: E402
import cases_chat_turns  # noqa: E402
import cases_claude_code  # noqa: E402
import cases_codex  # noqa: E402
import cases_ide_agents  # noqa: E402
import cases_local  # noqa: E402
import cases_long  # noqa: E402
import cases_long_pastes  # noqa: E402
import cases_misleading  # noqa: E402
import cases_single_4  # noqa: E402
import cases_single_data  # noqa: E402
import cases_single_langs  # noqa: E402
import cases_single_more  # noqa: E402
import cases_single_ops  # noqa: E402
import cases_single_strong  # noqa: E402
import cases_single_systems  # noqa: E402
import cases_single_web  # noqa: E402
import cases_turns_4  # noqa: E402
import cases_turns_more  # noqa: E402

GROUPS: dict[str, list[dict[str, Any]]] = {
    "single-local": cases_local.CASES,
    "single-strong": [*cases_single_strong.SONNET, *cases_single_strong.OPUS],
    "misleading": cases_misleading.CASES,
    "chat": cases_chat.CASES,
    "agent": cases_agent.CASES,
    "long": cases_long.CASES,
    "single-systems": cases_single_systems.CASES,
    "single-web": cases_single_web.CASES,
    "single-data": cases_single_data.CASES,
    "single-ops": cases_single_ops.CASES,
    "single-langs": cases_single_langs.CASES,
    "chat-2": cases_chat_turns.CASES,
    "long-2": cases_long_pastes.CASES,
    "agent-claude-code": cases_claude_code.CASES,
    "agent-codex": cases_codex.CASES,
    "agent-ide": cases_ide_agents.CASES,
    "agent-chat-clients": cases_chat_clients.CASES,
    "single-3": cases_single_more.CASES,
    "turns-3": cases_turns_more.CASES,
    "single-4": cases_single_4.CASES,
    "turns-4": cases_turns_4.CASES,
}
DEV_SHARE = (3, 5)  # 3 of every 5


def split() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dev: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    seen: set[str] = set()
    for group, cases in GROUPS.items():
        for c in cases:
            if c["id"] in seen:
                raise SystemExit(f"duplicate case id {c['id']!r}")
            seen.add(c["id"])
        for gold in ("local", "sonnet", "opus"):
            stratum = sorted(
                (c for c in cases if c["gold"] == gold), key=lambda c: hashlib.sha256(c["id"].encode()).hexdigest()
            )
            take, every = DEV_SHARE
            for i, c in enumerate(stratum):
                row = {
                    "id": c["id"],
                    "gold": c["gold"],
                    "why": c["why"],
                    "tags": [group, *c["tags"]],
                    "request": c["request"],
                }
                (dev if (i + 1) * take // every > i * take // every else test).append(row)
    return dev, test


def render(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if dev.jsonl/test.jsonl are stale")
    args = parser.parse_args()
    dev, test = split()
    outputs = {HERE / "dev.jsonl": render(dev), HERE / "test.jsonl": render(test)}
    if args.check:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        if stale:
            print(f"stale: {', '.join(stale)} (run python evals/build.py)", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs.items():
        path.write_text(text)
    for name, rows in (("dev", dev), ("test", test)):
        golds = Counter(r["gold"] for r in rows)
        print(f"{name}: {len(rows)} cases  " + "  ".join(f"{g}={golds[g]}" for g in ("local", "sonnet", "opus")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
