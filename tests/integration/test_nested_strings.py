"""JSON nested past what a decoder follows, inside strings the gateway decodes itself (a Messages client's
``metadata.user_id``, a tool call's ``arguments`` in the history): the body is small and shallow, so the input
limits pass it, and each such string was a 500 (RecursionError) before any upstream call. Each is read as
text that is no JSON, as a malformed one is."""

from __future__ import annotations

import httpx

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Text

DEEP = '{"a":' + "[" * 5000 + "]" * 5000 + "}"
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def test_a_messages_user_id_nested_past_a_decoder_is_no_session_id(gateway: str, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Text("ok"))
    body = {"model": "sonnet", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gateway + "/v1/messages", json={**body, "metadata": {"user_id": DEEP}}, headers=HEADERS, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == [{"type": "text", "text": "ok"}]


def test_tool_call_arguments_nested_past_a_decoder_go_to_claude_as_text(
    gateway: str, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text("ok"))
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": DEEP}}
    body = {
        "model": "sonnet",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    }
    r = httpx.post(gateway + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200, r.text
    sent = fake_anthropic.requests[0].body["messages"][1]["content"][0]
    assert (sent["type"], sent["name"]) == ("tool_use", "f") and isinstance(sent["input"], dict)
