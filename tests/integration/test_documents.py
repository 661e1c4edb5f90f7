"""PDF documents on every ingress, over real sockets: they reach a target that reads documents, in its own
wire form (an Anthropic `document` block, an OpenAI chat `file` part), or the client gets a 400 naming the
document, in its dialect's shape. Never an answer from a model that was not given the document.

The repository's routes.yaml reads documents on sonnet and opus (anthropic targets do by default), not on
local (Ollama cannot), so a PDF sent to local falls back to sonnet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS

#: The first bytes of a PDF ("%PDF-1.4\n"), base64.
PDF = "JVBERi0xLjQK"
PDF_URL = "https://example.com/report.pdf"
DOCUMENT: Any = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}}

#: No target reads documents: Ollama cannot, and an OpenAI-compatible server does only when it says so.
NO_READER = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen}]}
  sonnet: {targets: [{backend: vllm, model: mid}]}
  opus: {targets: [{backend: vllm, model: big}]}
fallbacks: {local: [sonnet]}
"""
)
#: The OpenAI-compatible opus target reads documents (as OpenAI's own API does), falling back to Claude.
OPENAI_READS = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  opus: {targets: [{backend: vllm, model: gpt-big, capabilities: {documents: true}}]}
fallbacks: {local: [sonnet], opus: [sonnet]}
"""
)

READ: Any = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}
#: Claude Code's second turn after its Read tool opened a PDF: the tool result is the document.
READ_A_PDF: list[Any] = [
    {"role": "user", "content": "what does report.pdf say?"},
    {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_01Read", "name": "Read", "input": {"file_path": "report.pdf"}}],
    },
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01Read", "content": [DOCUMENT]}]},
]


def serve_routes(
    routes: str, tmp_path: Path, gateway_for: GatewayFactory, env: dict[str, str], vllm: FakeOpenAI
) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(routes)
    return gateway_for(path, {**env, "VLLM_URL": vllm.url})  # type: ignore[attr-defined]


def claude_at(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key="sk-ant-client-unused", max_retries=0, timeout=30)


def openai_at(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with claude_at(gateway) as client:
        yield client


@pytest.fixture
def no_reader(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> str:
    return serve_routes(NO_READER, tmp_path, gateway_for, upstream_env, fake_openai)


@pytest.fixture
def openai_reads(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> str:
    return serve_routes(OPENAI_READS, tmp_path, gateway_for, upstream_env, fake_openai)


def anthropic_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


# --- Anthropic Messages ingress ---------------------------------------------------------------------


def test_a_pdf_goes_to_claude_as_sent_when_local_cannot_read_it(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    fake_anthropic.replies.append(Text("It is a report.", chunks=1))
    messages: list[Any] = [{"role": "user", "content": [DOCUMENT, {"type": "text", "text": "summarise this"}]}]
    raw = claude.messages.with_raw_response.create(model="local", max_tokens=64, messages=messages)
    assert raw.parse().content[0].text == "It is a report."  # type: ignore[union-attr]
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    assert fake_anthropic.requests[0].body["messages"] == messages
    assert not fake_ollama.requests


def test_a_pdf_in_a_tool_result_goes_to_claude_as_sent(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    fake_anthropic.replies.append(Text("It is a report.", chunks=1))
    raw = claude.messages.with_raw_response.create(model="local", max_tokens=64, tools=[READ], messages=READ_A_PDF)
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    sent = fake_anthropic.requests[0].body["messages"]
    assert sent == READ_A_PDF
    assert sent[2]["content"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
    }
    assert not fake_ollama.requests


def test_a_pdf_no_target_reads_is_a_400_naming_it(
    no_reader: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI
) -> None:
    with claude_at(no_reader) as client:
        messages: list[Any] = [{"role": "user", "content": [DOCUMENT, {"type": "text", "text": "summarise this"}]}]
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model="local", max_tokens=64, messages=messages)
        assert caught.value.body == anthropic_error(
            "messages[0].content[0]: a PDF document needs a target that reads documents, and none of this"
            " request's targets does (local/qwen, sonnet/mid); send the document's text instead"
        )
        assert not fake_ollama.requests and not fake_openai.requests


def test_a_pdf_in_a_tool_result_no_target_reads_is_a_400_naming_it(
    no_reader: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI
) -> None:
    with claude_at(no_reader) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model="local", max_tokens=64, tools=[READ], messages=READ_A_PDF)
        assert caught.value.status_code == 400
        assert caught.value.body == anthropic_error(
            "messages[2].content[0].content[0]: a PDF document needs a target that reads documents, and none of this"
            " request's targets does (local/qwen, sonnet/mid); send the document's text instead"
        )
        assert not fake_ollama.requests and not fake_openai.requests


def test_text_documents_are_still_read_as_text_on_the_local_tier(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """Plain-text and custom-content documents need no document reader: the local model gets their text."""
    fake_ollama.replies.append(Text("Two notes.", chunks=1))
    plain = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Note one."}}
    custom = {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "Note two."}]}}
    ask = {"type": "text", "text": "summarise these"}
    messages: list[Any] = [{"role": "user", "content": [plain, custom, ask]}]
    raw = claude.messages.with_raw_response.create(model="local", max_tokens=64, messages=messages)
    assert raw.headers["x-tiergate-tier"] == "local"
    assert fake_ollama.requests[0].body["messages"] == [
        {"role": "user", "content": "Note one.\nNote two.\nsummarise these"}
    ]
    assert not fake_anthropic.requests


def test_a_pdf_reaches_an_openai_compatible_target_that_reads_documents_as_a_file_part(
    openai_reads: str, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.replies.append(Text("It is a report.", chunks=1))
    with claude_at(openai_reads) as client:
        titled = {**DOCUMENT, "title": "report.pdf"}
        result = {"type": "tool_result", "tool_use_id": "toolu_01Read", "content": [titled]}
        messages: list[Any] = [*READ_A_PDF[:2], {"role": "user", "content": [result]}]
        message = client.messages.create(model="opus", max_tokens=64, tools=[READ], messages=messages)
        assert message.content[0].text == "It is a report."  # type: ignore[union-attr]
        sent = fake_openai.requests[0].body["messages"]
        assert sent[2:] == [
            {"role": "tool", "content": "", "tool_call_id": "toolu_01Read"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Documents from tool call toolu_01Read:"},
                    {
                        "type": "file",
                        "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "report.pdf"},
                    },
                ],
            },
        ]
        assert not fake_anthropic.requests


# --- OpenAI chat ingress ----------------------------------------------------------------------------


def test_a_chat_file_part_reaches_claude_as_a_document_block(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    fake_anthropic.replies.append(Text("It is a report.", chunks=1))
    file = {"type": "file", "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}}
    messages: list[Any] = [{"role": "user", "content": [{"type": "text", "text": "summarise this"}, file]}]
    raw = client.chat.completions.with_raw_response.create(model="local", messages=messages)
    assert raw.parse().choices[0].message.content == "It is a report."
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    assert fake_anthropic.requests[0].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "summarise this"},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    "title": "report.pdf",
                },
            ],
        }
    ]
    assert not fake_ollama.requests


def test_a_chat_file_part_no_target_reads_is_a_400_naming_it(no_reader: str, fake_ollama: FakeOllama) -> None:
    with openai_at(no_reader) as chat:
        file = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}"}}
        messages: list[Any] = [{"role": "user", "content": [{"type": "text", "text": "summarise this"}, file]}]
        with pytest.raises(openai.BadRequestError) as caught:
            chat.chat.completions.create(model="local", messages=messages)
        assert caught.value.body == {
            "message": "messages[0].content[1]: a PDF document needs a target that reads documents, and none of this"
            " request's targets does (local/qwen, sonnet/mid); send the document's text instead",
            "type": "invalid_request_error",
            "param": "messages[0].content[1]",
            "code": "unsupported_content",
        }
        assert not fake_ollama.requests


# --- OpenAI Responses ingress -----------------------------------------------------------------------


def test_a_responses_file_by_url_skips_a_chat_target_and_reaches_claude(
    openai_reads: str, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """OpenAI's chat API reads a PDF only as file_data: a URL moves on to Claude, which fetches it."""
    fake_anthropic.replies.append(Text("It is a report.", chunks=1))
    with openai_at(openai_reads) as responses:
        content = [{"type": "input_text", "text": "summarise this"}, {"type": "input_file", "file_url": PDF_URL}]
        ask: list[Any] = [{"role": "user", "content": content}]
        raw = responses.responses.with_raw_response.create(model="opus", input=ask)
        assert raw.parse().output_text == "It is a report."
        assert raw.headers["x-tiergate-tier"] == "sonnet"
        assert fake_anthropic.requests[0].body["messages"] == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "summarise this"},
                    {"type": "document", "source": {"type": "url", "url": PDF_URL}},
                ],
            }
        ]
        assert not fake_openai.requests


def test_a_responses_pdf_in_a_tool_output_reaches_a_chat_target_that_reads_documents(
    openai_reads: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Text("It is a report.", chunks=1))
    with openai_at(openai_reads) as responses:
        pdf = {"type": "input_file", "filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}
        conversation: list[Any] = [
            {"role": "user", "content": "what does report.pdf say?"},
            {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": '{"path":"report.pdf"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": [pdf]},
        ]
        tool: Any = {"type": "function", "name": "read", "parameters": {"type": "object"}}
        answer = responses.responses.create(model="opus", input=conversation, tools=[tool])
        assert answer.output_text == "It is a report."
        assert fake_openai.requests[0].body["messages"][2:] == [
            {"role": "tool", "content": "", "tool_call_id": "call_1"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Documents from tool call call_1:"},
                    {
                        "type": "file",
                        "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "report.pdf"},
                    },
                ],
            },
        ]


def test_a_responses_pdf_no_target_reads_is_a_400_naming_it(no_reader: str, fake_ollama: FakeOllama) -> None:
    with openai_at(no_reader) as responses:
        pdf = {"type": "input_file", "file_data": f"data:application/pdf;base64,{PDF}"}
        ask: list[Any] = [{"role": "user", "content": [{"type": "input_text", "text": "summarise"}, pdf]}]
        with pytest.raises(openai.BadRequestError) as caught:
            responses.responses.create(model="local", input=ask)
        assert caught.value.body == {
            "message": "input[0].content[1]: a PDF document needs a target that reads documents, and none of this"
            " request's targets does (local/qwen, sonnet/mid); send the document's text instead",
            "type": "invalid_request_error",
            "param": "input[0].content[1]",
            "code": "unsupported_content",
        }
        assert not fake_ollama.requests
