"""A document or an image in a Messages assistant turn is a 400 in Anthropic's shape naming the block, as the API
itself answers it, whichever target the request would have gone to: never dropped on a translated path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.helpers import pdf

PDF_BLOCK = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf(1)}}
TEXT_BLOCK = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Notes."}}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
IMAGE_BLOCK = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as client:
        yield client


@pytest.mark.parametrize("model", ["local", "sonnet"])  # translated to Ollama; native to Anthropic
@pytest.mark.parametrize("block", [PDF_BLOCK, TEXT_BLOCK, IMAGE_BLOCK], ids=["pdf", "text", "image"])
def test_a_document_in_an_assistant_turn_is_a_400_naming_it(
    claude: anthropic.Anthropic,
    fake_anthropic: FakeAnthropic,
    fake_ollama: FakeOllama,
    model: str,
    block: dict[str, Any],
) -> None:
    messages: Any = [
        {"role": "user", "content": "write me a report"},
        {"role": "assistant", "content": [{"type": "text", "text": "Here it is."}, block]},
        {"role": "user", "content": "summarise it"},
    ]
    kind = block["type"]
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=model, max_tokens=64, messages=messages)
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": f"messages[1].content[1].type: '{kind}' blocks are not permitted within assistant turns;"
            f" send the {kind} in a user turn",
        },
    }
    with pytest.raises(anthropic.BadRequestError):  # counting refuses what /v1/messages refuses
        claude.messages.count_tokens(model=model, messages=messages)
    assert not fake_anthropic.requests and not fake_ollama.requests
