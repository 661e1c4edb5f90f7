"""The tool calls a request's ``tool_choice`` allows (:mod:`tiergate.protocols.tool_choice`): which requests require
a call, and which calls are refused: only one to another tool than the named one; a call to a tool the request
does not declare is the client's to answer."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tiergate.errors import UpstreamCapabilityError
from tiergate.protocols.tool_choice import MISSING, CallRule
from tiergate.wire import ChatRequest

URL = "http://server.test"
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("f", "g")]
NAMED_F = {"type": "function", "function": {"name": "f"}}


def rule(**fields: Any) -> CallRule:
    request = msgspec.convert({"messages": [{"role": "user", "content": "hi"}], **fields}, ChatRequest)
    return CallRule.of(request, why="it cannot force one")


@pytest.mark.parametrize(
    ("fields", "named", "required"),
    [
        ({"tools": TOOLS, "tool_choice": "required"}, None, True),
        ({"tools": TOOLS, "tool_choice": NAMED_F}, "f", True),
        ({"tools": TOOLS, "tool_choice": "auto"}, None, False),
        ({"tools": TOOLS}, None, False),
        ({"tools": TOOLS, "tool_choice": "none"}, None, False),
        ({"tool_choice": "required"}, None, False),  # nothing to call
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "h"}}}, None, False),
    ],
)
def test_what_a_request_requires(fields: dict[str, Any], named: str | None, required: bool) -> None:
    assert (rule(**fields).named, rule(**fields).required) == (named, required)


@pytest.mark.parametrize("called", ["g", "h"], ids=["declared", "undeclared"])
def test_a_call_to_another_tool_than_the_named_one_is_the_forced_call_missing(called: str) -> None:
    with pytest.raises(UpstreamCapabilityError) as caught:
        rule(tools=TOOLS, tool_choice=NAMED_F).check(called, "local", URL)
    error = caught.value
    said = f"the model called `{called}`, not `f`, which tool_choice names (it cannot force one)"
    assert (error.message, error.status, error.code) == (f"backend 'local' at {URL}: {said}", 502, MISSING)
    assert (error.fallback_ok, error.retryable, error.trips_breaker) == (True, False, False)


@pytest.mark.parametrize(
    ("choice", "called"),
    [(NAMED_F, "f"), ("auto", "g"), ("required", "f"), ("none", "g"), (None, "g")],
)
def test_a_call_the_request_allows_passes(choice: Any, called: str) -> None:
    rule(tools=TOOLS, tool_choice=choice).check(called, "local", URL)


@pytest.mark.parametrize("choice", ["auto", "required", None])
def test_a_call_to_an_undeclared_tool_passes_unless_a_tool_is_named(choice: Any) -> None:
    """The client answers it as a tool it does not have, and the model corrects itself: not a refusal."""
    rule(tools=TOOLS, tool_choice=choice).check("read_file", "local", URL)


def test_without_tools_no_name_is_checked() -> None:
    """A server parses no tool calls for a request without tools: nothing to hold them to."""
    rule().check("anything", "local", URL)


def test_a_long_name_is_quoted_cut() -> None:
    with pytest.raises(UpstreamCapabilityError) as caught:
        rule(tools=TOOLS, tool_choice=NAMED_F).check("x" * 500, "local", URL)
    assert f"`{'x' * 119}…`" in caught.value.message
