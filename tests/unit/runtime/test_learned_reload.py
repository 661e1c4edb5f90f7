"""A reload whose learned head cannot be used is refused while the serving head scores: the head is part of the
rules. At start-up, and when the serving head could not be used either, it is taken as before (unavailable)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

import pytest

from tests.helpers import MINIMAL, FixedEncoder, chat
from tiergate.learned.cache import CachedEncoder
from tiergate.learned.embedder import Embedder
from tiergate.learned.head import FORMAT, HeadFile, Logistic, Member, Training, write_head
from tiergate.learned.scorer import LearnedPool, LearnedScorer, Unavailable
from tiergate.reload import _watch
from tiergate.runtime import Extensions, Rules

ROUTING = """
routing:
  learned:
    head: HEAD
    weights_dir: A
    cache_size: SIZE
  rules:
    - {name: no_reading, when: {feature: learned.available, eq: false}, then: {band: AMBIGUOUS}}
  scorers:
    - {name: learned, feature: learned.p_sonnet, transform: {kind: ramp, from: 0, to: 1}}
  bands: {local: 0.5, claude: 0.5}
  escalation: {when: {feature: learned.tier, eq: opus}}
"""


def write(path: Path, weights: int = 2, bias: float = 0.0) -> str:
    """A head file for the FixedEncoder (``weights`` other than 2 do not fit it); its version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    member = Member("test/fixed@0", "static", Logistic([0.0] * weights, bias), Logistic([0.0] * weights, bias))
    write_head(path, HeadFile(FORMAT, "ask", [member], Training("h", 1)))
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def rules_text(head: str, cache_size: int = 100) -> str:
    return MINIMAL + ROUTING.replace("HEAD", head).replace("SIZE", str(cache_size))


def line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """tmp_path as the scorer names it in messages (resolved)."""
    return tmp_path.resolve()


@pytest.fixture
def encoder() -> Embedder:
    return Embedder(CachedEncoder(FixedEncoder(), size=100))


def load(path: Path, embedder: Embedder) -> Rules:
    pool = LearnedPool()
    pool._embedders[("static", str(path.parent.resolve() / "A"))] = embedder  # as loading the weights in A would
    return Rules.load(path, {}, Extensions(learned=pool.build))


async def learned_of(rules: Rules) -> tuple[bool, str]:
    """What the serving rules' scorer makes of a request: (available, head version)."""
    routed = await rules.current.router.decide(chat("rename x"))
    learned = routed.decision.learned
    assert learned is not None
    return learned.available, learned.head


@pytest.mark.asyncio
async def test_a_reload_to_a_missing_head_is_refused_and_the_old_head_keeps_scoring(
    tmp_path: Path, base: Path, encoder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    good = write(tmp_path / "heads" / "a.json")
    path = tmp_path / "routes.yaml"
    path.write_text(rules_text("heads/a.json"))
    rules = load(path, encoder)
    serving = rules.current
    caplog.set_level(logging.INFO)
    caplog.clear()
    broken = rules_text("heads/gone.json")
    path.write_text(broken)
    outcome = await rules.reload()
    assert outcome.to_dict() == {
        "ok": False,
        "version": serving.version,
        "changed": False,
        "problems": [
            {
                "file": str(path),
                "line": line_of(broken, "head: heads/gone.json"),
                "col": 11,
                "path": "$.routing.learned.head",
                "severity": "error",
                "message": f"learned head 'heads/gone.json' cannot be used: learned head "
                f"{base / 'heads' / 'gone.json'}: cannot read it (No such file or directory); "
                f"the last good rules keep serving with head {good}",
            }
        ],
        "pending_restart": [],
    }
    assert rules.current is serving and rules.status == "error" and rules.last_error == outcome.problems
    assert await learned_of(rules) == (True, good)
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [("tiergate.rules", "ERROR", f"reload rejected: {outcome.problems[0].render()}")]
    # The rule file names gone.json now: it is watched, and creating it is a reload like any edit.
    assert rules.watched() == [path, base / "heads" / "gone.json"]
    fixed = write(tmp_path / "heads" / "gone.json", bias=1.0)
    outcome = await rules.reload()
    assert outcome.ok and outcome.changed and rules.status == "ok"
    assert await learned_of(rules) == (True, fixed)
    assert rules.watched() == [path, base / "heads" / "gone.json"]
    await rules.aclose()


@pytest.mark.asyncio
async def test_a_head_rewritten_for_other_vectors_is_refused_and_leaves_the_encoders_as_they_were(
    tmp_path: Path, base: Path, encoder: Embedder
) -> None:
    """``tiergate train --write`` (or a copy by hand) leaves a head that does not fit the encoder, with a new
    cache_size in the same edit: neither is taken."""
    head = tmp_path / "heads" / "a.json"
    good = write(head)
    path = tmp_path / "routes.yaml"
    path.write_text(rules_text("heads/a.json"))
    rules = load(path, encoder)
    serving = rules.current
    write(head, weights=10)
    path.write_text(rules_text("heads/a.json", cache_size=300))
    outcome = await rules.reload()
    assert not outcome.ok and rules.current is serving
    (problem,) = outcome.problems
    assert problem.message == (
        f"learned head 'heads/a.json' cannot be used: learned head {base / 'heads' / 'a.json'}: member 0 (static, "
        "test/fixed@0) has 10 weights, and its encoder gives 2-dimensional vectors; retrain it (tiergate train); "
        f"the last good rules keep serving with head {good}"
    )
    assert encoder.encoder.size == 100
    assert await learned_of(rules) == (True, good)
    write(head)  # the head as it was: the rule file's new cache_size is taken
    outcome = await rules.reload()
    assert outcome.ok and outcome.changed and rules.status == "ok" and encoder.encoder.size == 300
    await rules.aclose()


@pytest.mark.asyncio
async def test_the_watcher_refuses_a_broken_head_once_and_takes_the_fixed_one(
    tmp_path: Path, encoder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "routes.yaml"
    good = write(tmp_path / "heads" / "a.json")
    path.write_text(rules_text("heads/a.json"))
    rules = load(path, encoder)
    serving = rules.current
    caplog.clear()
    stop = asyncio.Event()
    task = asyncio.create_task(_watch(rules, stop, 10, rules.signature(), poll_ms=50))

    async def until(done: object) -> None:
        for _ in range(500):  # up to 10 s
            if callable(done) and done():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("not reloaded")

    try:
        path.write_text(rules_text("heads/b.json"))
        await until(lambda: rules.status == "error")
        await asyncio.sleep(0.3)  # several polls: the refused file is not reloaded again
        (refused,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert refused.startswith("reload rejected: ") and "learned head 'heads/b.json' cannot be used" in refused
        assert rules.current is serving and await learned_of(rules) == (True, good)
        fixed = write(tmp_path / "heads" / "b.json", bias=1.0)
        await until(lambda: rules.current is not serving)
        assert rules.status == "ok" and await learned_of(rules) == (True, fixed)
    finally:
        stop.set()
        await task
        await rules.aclose()


@pytest.mark.asyncio
async def test_with_no_usable_head_serving_a_reload_takes_what_the_file_names(
    tmp_path: Path, encoder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """Started without a usable head: another broken head is taken (nothing better to keep), then a good one."""
    caplog.set_level(logging.WARNING, logger="tiergate.learned")
    path = tmp_path / "routes.yaml"
    path.write_text(rules_text("heads/a.json"))  # no such file yet
    rules = load(path, encoder)
    assert isinstance(rules.current.router.learned, Unavailable)
    assert await learned_of(rules) == (False, "")
    write(tmp_path / "heads" / "b.json", weights=10)
    path.write_text(rules_text("heads/b.json"))
    outcome = await rules.reload()
    assert outcome.ok and outcome.changed and rules.status == "ok"
    assert (
        isinstance(rules.current.router.learned, Unavailable)
        and "has 10 weights" in rules.current.router.learned.reason
    )
    warnings = [r.getMessage() for r in caplog.records if r.name == "tiergate.learned"]
    assert len(warnings) == 2 and "cannot read it" in warnings[0] and "has 10 weights" in warnings[1]
    good = write(tmp_path / "heads" / "c.json")
    path.write_text(rules_text("heads/c.json"))
    outcome = await rules.reload()
    assert outcome.ok and outcome.changed and isinstance(rules.current.router.learned, LearnedScorer)
    assert await learned_of(rules) == (True, good)
    await rules.aclose()


@pytest.mark.asyncio
async def test_a_reload_that_drops_routing_learned_is_taken(tmp_path: Path, encoder: Embedder) -> None:
    """Leaving the learned scorer out is a choice the file makes, not a broken head."""
    write(tmp_path / "heads" / "a.json")
    path = tmp_path / "routes.yaml"
    path.write_text(rules_text("heads/a.json"))
    rules = load(path, encoder)
    path.write_text(MINIMAL)
    outcome = await rules.reload()
    assert outcome.ok and outcome.changed and rules.current.router.learned is None
    assert rules.watched() == [path]
    await rules.aclose()
