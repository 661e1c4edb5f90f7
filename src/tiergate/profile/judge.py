"""An optional quality check: a small prompt set answered by the local target, graded by a stronger tier.

Each prompt goes to the target; its answer, the prompt and (when the set has one) a reference answer go
to the judge (the first target of ``--judge``'s tier, e.g. sonnet) with a rubric asking for
``{"score": 1-5, "reason": ...}``. The report holds every grade, the mean, and the share at or above
``pass_at``. A judge answer without a readable score leaves that case ungraded (``score: null``) rather
than inventing one. The built-in set (:data:`PROMPTS`) is six everyday coding asks; ``--prompts FILE``
reads JSONL ``{"id", "prompt", "reference"?}`` instead.

    report = await judge_set(target_backend, target_call, judge_backend, judge_call, PROMPTS, judge_label)
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tiergate.backends.base import Backend, Call
from tiergate.errors import ProfileError, UpstreamError
from tiergate.profile.file import JudgedCase, QualityReport
from tiergate.wire import ChatRequest, Message


@dataclass(frozen=True)
class Prompt:
    id: str
    prompt: str
    reference: str | None = None


PROMPTS: tuple[Prompt, ...] = (
    Prompt("rename", "Rename the variable `tmp` to `total` in: `tmp = 0\nfor x in xs:\n    tmp += x\nprint(tmp)`"),
    Prompt("docstring", "Write a one-line docstring for: `def clamp(x, lo, hi): return max(lo, min(x, hi))`"),
    Prompt("explain", "In two sentences, what does `git rebase -i HEAD~3` do?"),
    Prompt("regex", "Give a Python regex that matches an ISO date like 2025-06-01, and nothing else."),
    Prompt("bug", "What is wrong with `def add(x, items=[]): items.append(x); return items`? Fix it."),
    Prompt("sql", "Write a SQL query returning the 5 customers with the highest total order amount."),
)

RUBRIC = """\
You grade answers written by a small local model for a coding assistant. Score the answer from 1 to 5:
5 correct and complete; 4 correct with small omissions; 3 partly correct; 2 mostly wrong; 1 wrong or
no answer. Reply with JSON only: {"score": <1-5>, "reason": "<one short sentence>"}."""

_OBJECT = re.compile(r"\{.*\}", re.S)


def load_prompts(path: Path) -> list[Prompt]:
    """Read a JSONL prompt set; ProfileError names the file and the line that is wrong."""
    found: list[Prompt] = []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ProfileError(f"prompt set {path}: cannot read it ({exc.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            found.append(Prompt(str(row.get("id", number)), str(row["prompt"]), row.get("reference")))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProfileError(f'{path}:{number}: expected {{"id", "prompt", "reference"?}}') from None
    if not found:
        raise ProfileError(f"prompt set {path} holds no prompts")
    return found


def parse_grade(text: str) -> tuple[float | None, str]:
    """The score (1 to 5) and reason from a judge's answer; (None, why) when there is none."""
    match = _OBJECT.search(text)
    if match is None:
        return None, f"no JSON in the judge's answer: {text[:80]!r}"
    try:
        value = json.loads(match.group(0))
        score = float(value["score"])
    except (ValueError, KeyError, TypeError):
        return None, f"no score in the judge's answer: {text[:80]!r}"
    if not 1 <= score <= 5:
        return None, f"score {score:g} is not from 1 to 5"
    return score, str(value.get("reason", ""))[:300]


def grading_request(prompt: Prompt, answer: str) -> ChatRequest:
    parts = [f"Question:\n{prompt.prompt}"]
    if prompt.reference:
        parts.append(f"Reference answer:\n{prompt.reference}")
    parts.append(f"Answer to grade:\n{answer}")
    return ChatRequest(
        messages=[Message(role="system", content=RUBRIC), Message(role="user", content="\n\n".join(parts))],
        max_tokens=200,
        temperature=0.0,
    )


async def _complete(backend: Backend, request: ChatRequest, call: Call) -> str:
    async with asyncio.timeout(call.total_timeout):
        return (await backend.complete(request, call)).content or ""


async def judge_set(
    target: Backend,
    target_call: Call,
    judge: Backend,
    judge_call: Call,
    prompts: Sequence[Prompt],
    judge_label: str,
    *,
    max_tokens: int = 256,
    pass_at: int = 4,
) -> QualityReport:
    cases: list[JudgedCase] = []
    for prompt in prompts:
        start = time.perf_counter()
        request = ChatRequest(messages=[Message(role="user", content=prompt.prompt)], max_tokens=max_tokens)
        try:
            answer = await _complete(target, request, target_call)
        except (UpstreamError, TimeoutError) as exc:
            answer = ""
            detail = getattr(exc, "message", "timed out")
            cases.append(JudgedCase(prompt.id, 1.0, f"the target failed: {detail[:200]}", _ms(start)))
            continue
        latency = _ms(start)
        try:
            graded = await _complete(judge, grading_request(prompt, answer), judge_call)
        except (UpstreamError, TimeoutError) as exc:
            cases.append(JudgedCase(prompt.id, None, f"the judge failed: {getattr(exc, 'message', 'timeout')}"))
            continue
        score, reason = parse_grade(graded)
        cases.append(JudgedCase(prompt.id, score, reason, latency))
    scores = [c.score for c in cases if c.score is not None]
    return QualityReport(
        judge=judge_label,
        prompts=len(prompts),
        graded=len(scores),
        mean_score=round(sum(scores) / len(scores), 3) if scores else None,
        pass_rate=round(sum(s >= pass_at for s in scores) / len(scores), 3) if scores else None,
        pass_at=pass_at,
        cases=cases,
    )


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
