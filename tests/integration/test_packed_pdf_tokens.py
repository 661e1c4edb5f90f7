"""A PDF whose pages are packed into compressed object streams (as PDF 1.5+ writers save them) counts its
page tree's pages, 3,000 tokens each: in ``/v1/messages/count_tokens`` and in routing by context window."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS
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
"""
)


def document(pdf: bytes) -> dict[str, Any]:
    data = base64.b64encode(pdf).decode()
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}}


@pytest.fixture
def claude(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> Iterator[anthropic.Anthropic]:
    path = tmp_path / "routes.yaml"
    path.write_text(TWO_WINDOWS)
    url = gateway_for(path, {**upstream_env, "VLLM_URL": "http://127.0.0.1:9"})
    with anthropic.Anthropic(base_url=url, api_key="sk-ant-unused", max_retries=0, timeout=30) as client:
        yield client


def test_count_tokens_counts_the_pages_of_a_packed_page_tree(claude: anthropic.Anthropic) -> None:
    """40 pages in a nested tree, and a one-page scan of 400 KB (16 pages by its size)."""
    ask = {"type": "text", "text": "abcd"}  # 1 token
    for pdf, pages in ((packed_pdf(40, fanout=6, root_last=True), 40), (packed_pdf(1, image_bytes=400_000), 1)):
        messages: Any = [{"role": "user", "content": [document(pdf), ask]}]
        assert claude.messages.count_tokens(model="sonnet", messages=messages).input_tokens == pages * 3000 + 1


def test_a_packed_pdf_of_many_pages_skips_a_target_whose_window_is_too_small(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """Both PDFs are under 25 KB, a page by their size: their page trees tell them apart."""
    fake_anthropic.replies.extend([Text("Short."), Text("Long.")])
    for pages, model in ((2, "claude-small"), (5, "claude-large")):
        content = [document(packed_pdf(pages)), {"type": "text", "text": "summarise"}]
        raw = claude.messages.with_raw_response.create(
            model="sonnet", max_tokens=64, messages=[{"role": "user", "content": content}]
        )
        assert raw.headers["x-tiergate-model"] == model
    assert [r.body["model"] for r in fake_anthropic.requests] == ["claude-small", "claude-large"]
