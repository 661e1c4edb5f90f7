from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from tiergate.config.loader import load_text
from tiergate.config.problems import ConfigError
from tiergate.engine.graph import compile_graph
from tiergate.engine.model_names import ModelNames
from tiergate.engine.router import Router
from tiergate.wire import ChatRequest, Message

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:9"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  opus: {targets: [{backend: ollama, model: big}]}
routing:
  band_tiers: {local: local, claude: opus, ambiguous: opus}
  explicit:
    models:
      "claude-opus-*": opus
      "claude-sonnet-*[1m]": opus
      "claude-*": auto
"""


def test_only_the_star_is_special_and_the_first_match_wins() -> None:
    names = ModelNames.compile({"claude-sonnet-*[1m]": "opus", "claude-*": "auto", "a.b": "local"})
    assert names.match("claude-sonnet-4-5[1m]") == ("claude-sonnet-*[1m]", "opus")
    assert names.match("claude-sonnet-4-5") == ("claude-*", "auto")
    assert names.match("claude-sonnet-4-51") == ("claude-*", "auto")  # [1m] is literal, not a character class
    assert names.match("axb") is None and names.match("a.b") == ("a.b", "local")
    assert names.match("xclaude-opus") is None  # the whole name must match


@pytest.mark.asyncio
async def test_a_pattern_naming_a_tier_is_honoured_and_auto_is_routed() -> None:
    router = Router(compile_graph(load_text(ROUTES, "routes.yaml", {})))
    ask = [Message(role="user", content="hi")]
    honoured = (await router.decide(ChatRequest(messages=ask, model="claude-opus-5-5"))).decision
    assert (honoured.tier, honoured.phase) == ("opus", "explicit")
    assert honoured.reasons[0] == "model 'claude-opus-5-5' matches 'claude-opus-*', which names tier opus"
    routed = (await router.decide(ChatRequest(messages=ask, model="claude-haiku-4-5"))).decision
    assert routed.phase != "explicit"
    assert routed.reasons[0] == "model 'claude-haiku-4-5' matches 'claude-*'; routed as auto"


def test_a_pattern_naming_an_unknown_tier_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_graph(load_text(ROUTES.replace('"claude-opus-*": opus', '"claude-opus-*": opsu'), "routes.yaml", {}))
    assert "unknown tier 'opsu'" in str(caught.value) and "did you mean 'opus'" in str(caught.value)
    assert str(caught.value) == "routes.yaml:11:24: unknown tier 'opsu'; did you mean 'opus'?"


def test_the_default_file_routes_claude_code_names_as_auto() -> None:
    graph = compile_graph(load_text((ROOT / "routes.yaml").read_text(), str(ROOT / "routes.yaml"), {}))
    for name in ("claude-opus-5-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-fable-5-2"):
        matched = graph.model_names.match(name)
        assert matched is not None and matched[1] == "auto", name


@pytest.mark.asyncio
async def test_a_pattern_comes_before_a_targets_model_id() -> None:
    """The default file routes "claude-*" as auto; a target serving "claude-opus-4-1" must not turn Claude
    Code's own name for it into an explicit choice of opus. The tier's name still names the tier."""
    routes = ROUTES.replace("model: big", "model: claude-opus-4-1").replace('      "claude-opus-*": opus\n', "")
    router = Router(compile_graph(load_text(routes, "routes.yaml", {})))
    ask = [Message(role="user", content="hi")]
    routed = (await router.decide(ChatRequest(messages=ask, model="claude-opus-4-1"))).decision
    assert routed.phase != "explicit"
    assert routed.reasons[0] == "model 'claude-opus-4-1' matches 'claude-*'; routed as auto"
    named = (await router.decide(ChatRequest(messages=ask, model="opus"))).decision
    assert (named.tier, named.phase) == ("opus", "explicit")
    # without a pattern for it, a target's model id is honoured as before
    unmatched = Router(compile_graph(load_text(routes.replace('"claude-*": auto', '"claude-x-*": auto'), "r.yaml", {})))
    pinned = (await unmatched.decide(ChatRequest(messages=ask, model="claude-opus-4-1"))).decision
    assert (pinned.tier, pinned.phase) == ("opus", "explicit")


@pytest.mark.parametrize(
    ("pattern", "name", "matched"),
    [
        ("*", "", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "ac", False),
        ("ab*ba", "aba", False),  # the start and the end may not share characters
        ("a**b", "ab", True),
        ("*x*x*", "axbxc", True),
        ("*x*x*", "axb", False),
        ("claude-*-*[1m]", "claude-sonnet-4-5[1m]", True),
    ],
)
def test_stars_anywhere(pattern: str, name: str, matched: bool) -> None:
    assert (ModelNames.compile({pattern: "auto"}).match(name) is not None) is matched


def test_a_long_name_is_matched_in_about_one_pass() -> None:
    """The name is the client's (up to the body's megabytes). As a regex, ``.*`` per star, a pattern with two stars
    and a literal end backtracked over every pair of places: 200,000 dashes took seconds, a megabyte hours. In a
    child process that times itself, so a regression fails instead of hanging the suite."""
    code = textwrap.dedent(
        """
        import time
        from tiergate.engine.model_names import ModelNames
        names = ModelNames.compile({"claude-*-*[1m]": "opus", "*sonnet*[1m]": "sonnet", "claude-*": "auto"})
        start = time.perf_counter()
        assert names.match("claude-" + "-" * 200_000) == ("claude-*", "auto")
        assert names.match("x" + "sonnet" * 40_000) is None
        print(time.perf_counter() - start)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 1.0
