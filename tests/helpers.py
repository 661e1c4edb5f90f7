"""Small builders shared by tests: chat requests and compiled graphs from inline YAML."""

from __future__ import annotations

import base64
import textwrap
import time
from typing import Any

import msgspec
import numpy as np
import pytest

from tiergate.backends.registry import BACKEND_KINDS
from tiergate.config.loader import load_text
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.rules.operators import OPERATORS
from tiergate.rules.transforms import TRANSFORMS
from tiergate.wire import ChatRequest

#: What the loader's messages list of each registry, as they list it: a new operator, backend kind or
#: transform is no edit of a test that quotes such a message.
OPERATOR_NAMES = " ".join(OPERATORS)
BACKEND_KIND_NAMES = ", ".join(sorted(str(kind.__struct_config__.tag) for kind in BACKEND_KINDS))
TRANSFORM_KIND_NAMES = ", ".join(sorted(str(kind.__struct_config__.tag) for kind in TRANSFORMS))

#: The fake Ollama, Anthropic and OpenAI-compatible upstreams as three backends; a test adds its tiers.
THREE_BACKENDS = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  vllm: {kind: openai, base_url: "${VLLM_URL}/v1"}
"""

#: Every tier able to take images, on each of the three backends.
VISION_ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen-vl, capabilities: CAPS}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: CAPS}]}
  opus: {targets: [{backend: vllm, model: qwen-vl-large, capabilities: CAPS}]}
""".replace("CAPS", "{tools: true, vision: true, context_window: 200000}")
)
#: A one-pixel PNG, base64.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

#: Legacy completion fields tiergate refuses: (fields, the param named, the message).
LEGACY_REFUSALS = [
    (
        {"prompt": ["def add(a, b):", "class Stack:"]},
        "prompt",
        "`prompt` is a list of 2 prompts: tiergate completes one prompt per request; send one request per prompt",
    ),
    (
        {"prompt": "x = ", "echo": True},
        "echo",
        "`echo` is true: tiergate does not echo the prompt back; leave it out",
    ),
    (
        {"prompt": "x = ", "logprobs": 3},
        "logprobs",
        "`logprobs` is 3: tiergate does not return log probabilities; leave it out",
    ),
    (
        {"prompt": "x = ", "best_of": 2},
        "best_of",
        "`best_of` is 2: tiergate generates one completion; leave it out",
    ),
]

MINIMAL = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small-model, capabilities: {tools: false, context_window: 1000}}]}
  sonnet: {targets: [{backend: anthropic, model: mid-model, capabilities: {vision: true, context_window: 200000}}]}
  opus: {targets: [{backend: anthropic, model: big-model, aliases: [big], capabilities: {vision: true, context_window: 200000}}]}
fallbacks: {local: [sonnet], opus: [sonnet]}
"""


def chat(text: str = "hello", **extra: Any) -> ChatRequest:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}], **extra}
    return msgspec.convert(body, ChatRequest)


def request(**body: Any) -> ChatRequest:
    return msgspec.convert(body, ChatRequest)


def graph(routing_yaml: str = "", base: str = MINIMAL, environ: dict[str, str] | None = None) -> EvaluationGraph:
    text = textwrap.dedent(base) + "\n" + textwrap.dedent(routing_yaml)
    return compile_graph(load_text(text, "test.yaml", environ or {}))


def wait_for_record(caplog: pytest.LogCaptureFixture, decision_id: str) -> dict[str, Any]:
    """The request's log line; a stream's is written once its body ends, just after the client's read."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in list(caplog.records):
            fields = getattr(record, "tiergate", None)
            if record.name == "tiergate.requests" and fields and fields["decision_id"] == decision_id:
                return fields  # type: ignore[no-any-return]
        time.sleep(0.01)
    raise AssertionError(f"no request log line for {decision_id}")


class FixedEncoder:
    """An encoder whose vector is the text's length and 1: no weights to load, enough to drive a head in a test."""

    inline = True
    id = "test/fixed@0"
    dim = 2

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def pdf(pages: int) -> str:
    """A PDF of ``pages`` pages, base64: its page tree and one ``/Type /Page`` object per page."""
    objects = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
        b"2 0 obj << /Type /Pages /Count %d >> endobj" % pages,
    ]
    objects += [b"%d 0 obj << /Type /Page /Parent 2 0 R >> endobj" % (3 + i) for i in range(pages)]
    return base64.b64encode(b"%PDF-1.4\n" + b"\n".join(objects) + b"\n%%EOF\n").decode()
