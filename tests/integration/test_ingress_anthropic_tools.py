"""Anthropic's own tool types and Files API references on /v1/messages: what only Anthropic serves goes
only to an Anthropic target (a 400 naming it when there is none), and Anthropic's client tools reach any
other model as function tools of their published schema. The official anthropic SDK → the real gateway →
the fake Ollama and Anthropic upstreams, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tests.helpers import THREE_BACKENDS

LOCAL_ONLY = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen-test, capabilities: CAPS}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: CAPS}]}
routing: {mode: fixed, fixed_tier: local}
retries: {attempts: 0}
""".replace("CAPS", "{tools: true, vision: true, context_window: 200000}")
)
FALLING_BACK = LOCAL_ONLY + "fallbacks: {local: [sonnet]}\n"
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
SERVER_TOOL = "'web_search_20250305' is a server tool, which Anthropic runs itself"
EDITOR = {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}
BASH = {"type": "bash_20250124", "name": "bash"}
ASK: list[Any] = [{"role": "user", "content": "what changed in python 3.14? fix README.md"}]
FILE_DOCUMENT = {"type": "document", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}
FILE_IMAGE = {"type": "image", "source": {"type": "file", "file_id": "file_011CPMxVD3fHLUhvTqtsQA5w"}}
FILES_BETA = {"anthropic-beta": "files-api-2025-04-14"}


def start(gateway_for: GatewayFactory, tmp_path: Path, upstream_env: dict[str, str], routes: str) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(routes)
    return gateway_for(path, {**upstream_env, "VLLM_URL": "http://127.0.0.1:9"})


@pytest.fixture
def local_only(gateway_for: GatewayFactory, tmp_path: Path, upstream_env: dict[str, str]) -> str:
    return start(gateway_for, tmp_path, upstream_env, LOCAL_ONLY)


@pytest.fixture
def falling_back(gateway_for: GatewayFactory, tmp_path: Path, upstream_env: dict[str, str]) -> str:
    return start(gateway_for, tmp_path, upstream_env, FALLING_BACK)


@pytest.fixture
def claude(local_only: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=local_only, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def test_a_server_tool_routes_past_the_local_model_to_claude(
    falling_back: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """The local tier would answer without searching: the request goes to the first Anthropic target of
    its chain, and the dry run shows why."""
    body = {"model": "auto", "max_tokens": 64, "tools": [WEB_SEARCH], "messages": ASK}
    decision = httpx.post(falling_back + "/v1/route?dialect=anthropic&classify=false", json=body).json()
    assert decision["requires"] == ["anthropic", "tools"]
    assert [(t["tier"], t["skipped"]) for t in decision["targets"]] == [
        (
            "local",
            "not Anthropic, which tools[0] needs ('web_search_20250305' is a server tool, which Anthropic runs itself)",
        ),
        ("sonnet", None),
    ]
    fake_anthropic.replies.append(Text("Python 3.14 adds ...", web_search="python 3.14 changes"))
    r = httpx.post(falling_back + "/v1/messages", json=body)
    assert r.status_code == 200 and r.headers["x-tiergate-tier"] == "sonnet"
    assert [b["type"] for b in r.json()["content"]] == ["server_tool_use", "web_search_tool_result", "text"]
    assert fake_anthropic.requests[0].body["tools"] == [WEB_SEARCH]
    assert not fake_ollama.requests


@pytest.mark.parametrize(
    ("tools", "why"),
    [
        ([WEB_SEARCH], f"tools[0] needs ({SERVER_TOOL})"),
        (
            [BASH, {"type": "web_fetch_20250910", "name": "web_fetch"}],
            "tools[1] needs ('web_fetch_20250910' is a server tool, which Anthropic runs itself)",
        ),
        (
            [{"type": "computer_20250124", "name": "computer", "display_width_px": 1024, "display_height_px": 768}],
            "tools[0] needs ('computer_20250124' (computer use) is a protocol only Claude models are trained on)",
        ),
    ],
    ids=["web_search", "web_fetch", "computer"],
)
def test_a_tool_only_anthropic_serves_is_a_400_where_no_target_is_anthropic(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, tools: list[Any], why: str
) -> None:
    """Never a silent drop: the local model would answer as if the tool did not exist."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="auto", max_tokens=64, messages=ASK, tools=tools)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": f"no target can serve this request: local/qwen-test: not Anthropic, which {why}",
        },
    }
    assert not fake_ollama.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_anthropic_client_tools_reach_a_local_model_as_functions(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, stream: bool
) -> None:
    """bash and the text editor run at the client: a local model gets them with their published schemas,
    and its call comes back as the tool_use block Claude's would be."""
    fake_ollama.replies.append(ToolCalls([("bash", {"command": "cat README.md"})]))
    ask: dict[str, Any] = {"model": "auto", "max_tokens": 64, "messages": ASK, "tools": [EDITOR, BASH]}
    if stream:
        with claude.messages.stream(**ask) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**ask)
    assert message.stop_reason == "tool_use"
    assert [(b.type, b.name, b.input) for b in message.content] == [  # type: ignore[union-attr]
        ("tool_use", "bash", {"command": "cat README.md"})
    ]
    editor, bash = fake_ollama.requests[0].body["tools"]
    assert bash == {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "Run a command in a persistent bash shell (state stays between calls); `restart: true`"
            " starts a fresh shell.",
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {
                        "type": "string",
                        "description": "The bash command to run (required unless `restart`).",
                    },
                    "restart": {"type": "boolean", "description": "Restart the shell instead of running a command."},
                },
            },
        },
    }
    schema = editor["function"]["parameters"]
    assert editor["function"]["name"] == "str_replace_based_edit_tool"
    assert schema["properties"]["command"] == {"type": "string", "enum": ["view", "create", "str_replace", "insert"]}
    assert sorted(schema["properties"]) == [
        "command", "file_text", "insert_line", "new_str", "old_str", "path", "view_range"
    ]  # fmt: skip
    assert schema["required"] == ["command", "path"]


def test_anthropic_client_tools_go_to_claude_as_the_client_sent_them(
    falling_back: str, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    body = {"model": "sonnet", "max_tokens": 64, "tools": [EDITOR, BASH], "messages": ASK}
    assert httpx.post(falling_back + "/v1/messages", json=body).status_code == 200
    assert fake_anthropic.requests[0].body["tools"] == [EDITOR, BASH]
    assert not fake_ollama.requests


@pytest.mark.parametrize("block", [FILE_DOCUMENT, FILE_IMAGE], ids=["document", "image"])
def test_a_files_api_reference_goes_to_claude_as_it_came(
    falling_back: str, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, block: dict[str, Any]
) -> None:
    content = [block, {"type": "text", "text": "describe it"}]
    body = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": content}]}
    r = httpx.post(falling_back + "/v1/messages", json=body, headers=FILES_BETA)
    assert r.status_code == 200 and r.headers["x-tiergate-tier"] == "sonnet"
    sent = fake_anthropic.requests[0]
    assert sent.body["messages"] == [{"role": "user", "content": content}]
    assert sent.headers["anthropic-beta"] == "files-api-2025-04-14"
    assert not fake_ollama.requests
    counted = httpx.post(falling_back + "/v1/messages/count_tokens", json=body, headers=FILES_BETA)
    assert counted.status_code == 200 and counted.json() == {"input_tokens": 3}


@pytest.mark.parametrize(
    ("content", "where", "what"),
    [
        (
            [FILE_DOCUMENT, {"type": "text", "text": "summarise"}],
            "messages[0].content[0]",
            "document 'file_011CNha8iCJcU1wXNR6q4V8w' from the Files API, which only Anthropic can read",
        ),
        (
            [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [FILE_IMAGE]}],
            "messages[2].content[0].content[0]",
            "image 'file_011CPMxVD3fHLUhvTqtsQA5w' from the Files API, which only Anthropic can read",
        ),
        (
            [
                {"type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
                {"type": "text", "text": "plot"},
            ],
            "messages[0].content[0]",
            "a container_upload of 'file_011CNha8iCJcU1wXNR6q4V8w', which only Anthropic's code execution reads",
        ),
    ],
    ids=["document", "tool-result-image", "container-upload"],
)
def test_a_files_api_reference_is_a_400_where_no_target_is_anthropic(
    local_only: str, fake_ollama: FakeOllama, content: list[Any], where: str, what: str
) -> None:
    """The file lives in Anthropic's storage: a local model would answer without it."""
    messages: list[Any] = [{"role": "user", "content": content}]
    if content[0]["type"] == "tool_result":
        call = {"type": "tool_use", "id": "toolu_1", "name": "screenshot", "input": {}}
        messages = [{"role": "user", "content": "look"}, {"role": "assistant", "content": [call]}, *messages]
    body = {"model": "auto", "max_tokens": 64, "messages": messages}
    r = httpx.post(local_only + "/v1/messages", json=body, headers=FILES_BETA)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        f"no target can serve this request: local/qwen-test: not Anthropic, which {where} needs ({what})"
    )
    assert not fake_ollama.requests


AUDIO = {"type": "audio", "source": {"type": "base64", "media_type": "audio/wav", "data": "UklGRg=="}}
UNTRANSLATED = "is a content block type tiergate has no translation of for other models"


@pytest.mark.parametrize(
    ("content", "where", "kind"),
    [
        ([AUDIO], "messages[0].content[0]", "audio"),
        ([{"type": "text", "text": "transcribe this"}, AUDIO], "messages[0].content[1]", "audio"),
        (
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "tool_reference", "tool_name": "x"}],
                }
            ],
            "messages[2].content[0].content[0]",
            "tool_reference",
        ),
    ],
    ids=["alone", "beside-text", "in-a-tool-result"],
)
def test_a_block_tiergate_cannot_translate_is_a_400_where_no_target_is_anthropic(
    local_only: str, fake_ollama: FakeOllama, content: list[Any], where: str, kind: str
) -> None:
    """It was dropped: a turn of it alone reached Ollama as no message at all, and the model answered."""
    messages: list[Any] = [{"role": "user", "content": content}]
    if content[0]["type"] == "tool_result":
        call = {"type": "tool_use", "id": "toolu_1", "name": "find_tools", "input": {}}
        messages = [{"role": "user", "content": "look"}, {"role": "assistant", "content": [call]}, *messages]
    r = httpx.post(local_only + "/v1/messages", json={"model": "auto", "max_tokens": 64, "messages": messages})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        f"no target can serve this request: local/qwen-test: not Anthropic, which {where} needs"
        f" ('{kind}' {UNTRANSLATED})"
    )
    assert not fake_ollama.requests


def test_a_block_tiergate_cannot_translate_goes_to_claude_as_it_came(
    falling_back: str, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """The API judges a block type tiergate does not know (one added since, say), not tiergate."""
    content = [{"type": "text", "text": "transcribe this"}, AUDIO]
    body = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": content}]}
    r = httpx.post(falling_back + "/v1/messages", json=body)
    assert r.status_code == 200 and r.headers["x-tiergate-tier"] == "sonnet"
    assert fake_anthropic.requests[0].body["messages"] == [{"role": "user", "content": content}]
    assert not fake_ollama.requests


def test_a_file_source_names_its_file(local_only: str) -> None:
    block = {"type": "image", "source": {"type": "file"}}
    body = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": [block]}]}
    r = httpx.post(local_only + "/v1/messages", json=body)
    assert (r.status_code, json.loads(r.text)["error"]["message"]) == (
        400,
        "messages[0].content[0].source.file_id: a file source names the file_id of an uploaded file",
    )


def test_the_mcp_connector_is_served_only_by_anthropic(claude: anthropic.Anthropic, fake_ollama: FakeOllama) -> None:
    """``mcp_servers`` (with no ``tools``, as the connector's first beta takes them) went to the local model,
    which answered without the servers' tools."""
    servers = [{"type": "url", "url": "https://mcp.example/sse", "name": "docs"}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="auto", max_tokens=64, messages=ASK, extra_body={"mcp_servers": servers})
    assert caught.value.body["error"]["message"] == (  # type: ignore[index]
        "no target can serve this request: local/qwen-test: not Anthropic, which mcp_servers needs (the MCP"
        " connector's servers, which Anthropic calls for the model)"
    )
    assert not fake_ollama.requests
