"""A Responses ``input_file`` that is not a PDF never reaches Claude (which would refuse it): a 400 in the
Responses error shape naming the item, before any upstream call. A URL that names no file type goes on."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

NOT_PDF = (
    "tiergate carries only PDF documents (OpenAI extracts other files' text; tiergate cannot):"
    " send its text as `input_text`"
)


def ask_with(file: dict[str, Any]) -> list[Any]:
    return [
        {"role": "user", "content": [{"type": "input_text", "text": "summarise this"}, {"type": "input_file", **file}]}
    ]


@pytest.mark.parametrize(
    ("file", "param", "what"),
    [
        ({"file_url": "https://example.com/files/notes.docx"}, "file_url", "`.docx` file"),
        ({"file_url": "https://example.com/README.MD?raw=1"}, "file_url", "`.md` file"),
        ({"file_url": "https://example.com/download?id=7", "filename": "data.csv"}, "filename", "`.csv` file"),
    ],
)
def test_a_file_url_that_is_not_a_pdf_is_a_400_naming_it(
    client: openai.OpenAI,
    fake_anthropic: FakeAnthropic,
    fake_ollama: FakeOllama,
    file: dict[str, Any],
    param: str,
    what: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="sonnet", input=ask_with(file))
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": f"`input[0].content[1].{param}` names a {what}: {NOT_PDF}",
        "type": "invalid_request_error",
        "param": f"input[0].content[1].{param}",
        "code": "unsupported_content",
    }
    assert not fake_anthropic.requests and not fake_ollama.requests


def test_a_non_pdf_in_a_tool_output_is_named_there(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    conversation: list[Any] = [
        {"role": "user", "content": "read it"},
        {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": "{}"},
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": [{"type": "input_file", "file_url": "https://x/a.xlsx"}],
        },
    ]
    tool: Any = {"type": "function", "name": "read", "parameters": {"type": "object"}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="sonnet", input=conversation, tools=[tool])
    assert caught.value.body["param"] == "input[2].output[0].file_url"  # type: ignore[index]
    assert not fake_anthropic.requests


def test_file_data_that_is_not_a_pdf_is_a_400(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="sonnet", input=ask_with({"file_data": "data:text/plain;base64,aGk="}))
    assert caught.value.body["param"] == "input[0].content[1].file_data"  # type: ignore[index]
    assert not fake_anthropic.requests


def test_a_url_that_names_no_other_type_reaches_claude(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Text("A paper.", chunks=1))
    url = "https://arxiv.org/pdf/2401.00001"
    response = client.responses.create(model="sonnet", input=ask_with({"file_url": url, "filename": "paper.pdf"}))
    assert response.output_text == "A paper."
    sent = fake_anthropic.requests[0].body["messages"][0]["content"][1]
    assert sent == {"type": "document", "source": {"type": "url", "url": url}, "title": "paper.pdf"}
