"""PDF documents count toward a request's estimated tokens, 3,000 a page (plain or with its pages packed in
compressed object streams), and images 1,600 each:
``/v1/messages/count_tokens`` says so, and routing skips a target whose context window is too small for
them, on every ingress."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS, pdf
from tests.pdfs import packed_pdf

#: Sonnet's first target has a 10,000-token window; a 5-page PDF (15,000 tokens) needs its second.
TWO_WINDOWS = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen}]}
  sonnet:
    targets:
      - {backend: anthropic, model: claude-small, capabilities: {tools: true, vision: true, context_window: 10000}}
      - {backend: anthropic, model: claude-large, capabilities: {tools: true, vision: true, context_window: 200000}}
  opus: {targets: [{backend: anthropic, model: claude-opus}]}
"""
)


def document(data: str) -> dict[str, Any]:
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}}


@pytest.fixture
def two_windows(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(TWO_WINDOWS)
    return gateway_for(path, {**upstream_env, "VLLM_URL": "http://127.0.0.1:9"})


@pytest.fixture
def claude(two_windows: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=two_windows, api_key="sk-ant-unused", max_retries=0, timeout=30) as client:
        yield client


def test_count_tokens_counts_each_pdf_page(claude: anthropic.Anthropic) -> None:
    ask = {"type": "text", "text": "abcd"}  # 1 token
    counted = claude.messages.count_tokens(
        model="sonnet", messages=[{"role": "user", "content": [document(pdf(3)), ask]}]
    )
    assert counted.input_tokens == 3 * 3000 + 1
    # In a tool result too; a document by URL, unseen, is one page; a plain-text one is its text.
    by_url = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    plain = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x" * 40}}
    call = {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [document(pdf(2))]}
    messages: Any = [
        {"role": "user", "content": [by_url, plain]},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
    ]
    assert (
        claude.messages.count_tokens(model="sonnet", messages=messages).input_tokens
        == 3000 + 2 * 3000 + (40 + len("Read") + 3) // 4
    )


def packed(pages: int) -> str:
    """A PDF whose page objects sit in compressed object streams (as PDF 1.5+ writers save them), base64."""
    return base64.b64encode(packed_pdf(pages)).decode()


def test_count_tokens_counts_the_pages_of_a_packed_page_tree(claude: anthropic.Anthropic) -> None:
    """40 pages in a nested tree, and a one-page scan of 400 KB (16 pages by its size)."""
    ask = {"type": "text", "text": "abcd"}  # 1 token
    for made, pages in ((packed_pdf(40, fanout=6, root_last=True), 40), (packed_pdf(1, image_bytes=400_000), 1)):
        messages: Any = [{"role": "user", "content": [document(base64.b64encode(made).decode()), ask]}]
        assert claude.messages.count_tokens(model="sonnet", messages=messages).input_tokens == pages * 3000 + 1


@pytest.mark.parametrize("make", [pdf, packed], ids=["plain", "packed"])
def test_a_long_pdf_skips_a_target_whose_window_is_too_small(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, make: Callable[[int], str]
) -> None:
    """Packed PDFs are under 25 KB, a page by their size: their page trees tell them apart."""
    fake_anthropic.replies.extend([Text("Short."), Text("Long.")])
    for pages, model in ((2, "claude-small"), (5, "claude-large")):
        content = [document(make(pages)), {"type": "text", "text": "summarise"}]
        raw = claude.messages.with_raw_response.create(
            model="sonnet", max_tokens=64, messages=[{"role": "user", "content": content}]
        )
        assert raw.headers["x-tiergate-model"] == model
    assert [r.body["model"] for r in fake_anthropic.requests] == ["claude-small", "claude-large"]


@pytest.mark.parametrize("dialect", ["chat", "responses"])
def test_the_openai_ingresses_count_pdf_pages_for_routing(
    two_windows: str, fake_anthropic: FakeAnthropic, dialect: str
) -> None:
    data_url = "data:application/pdf;base64," + pdf(5)
    with openai.OpenAI(base_url=two_windows + "/v1", api_key="unused", max_retries=0, timeout=30) as client:
        if dialect == "chat":
            file: Any = {"type": "file", "file": {"file_data": data_url, "filename": "a.pdf"}}
            raw: Any = client.chat.completions.with_raw_response.create(
                model="sonnet", messages=[{"role": "user", "content": [{"type": "text", "text": "sum"}, file]}]
            )
        else:
            part: Any = {"type": "input_file", "file_data": data_url, "filename": "a.pdf"}
            raw = client.responses.with_raw_response.create(
                model="sonnet", input=[{"role": "user", "content": [{"type": "input_text", "text": "sum"}, part]}]
            )
    assert raw.headers["x-tiergate-model"] == "claude-large"
    assert fake_anthropic.requests[-1].body["model"] == "claude-large"


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


def test_images_count_1600_tokens_each_for_counting_and_routing(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """Claude counts at most about 1,600 tokens an image; tiergate, which does not read its size, counts that."""
    ask = {"type": "text", "text": "abcd"}  # 1 token
    counted = claude.messages.count_tokens(model="sonnet", messages=[{"role": "user", "content": [IMAGE, IMAGE, ask]}])
    assert counted.input_tokens == 2 * 1600 + 1
    fake_anthropic.replies.extend([Text("Few."), Text("Many.")])
    for images, model in ((6, "claude-small"), (7, "claude-large")):  # 9,600 and 11,200 tokens
        content = [*[IMAGE] * images, ask]
        raw = claude.messages.with_raw_response.create(
            model="sonnet", max_tokens=64, messages=[{"role": "user", "content": content}]
        )
        assert raw.headers["x-tiergate-model"] == model
