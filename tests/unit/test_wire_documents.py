"""A PDF's share of a request's estimated tokens: 3,000 a page, the pages counted from the PDF itself."""

from __future__ import annotations

import base64

from tests.helpers import pdf
from tiergate.wire import (
    DOCUMENT_PAGE_BYTES,
    DOCUMENT_PAGE_TOKENS,
    PDF_DATA_URL,
    ChatRequest,
    ContentPart,
    FileData,
    Message,
)


def test_pages_are_the_page_objects_the_pdf_shows() -> None:
    assert FileData(file_data=PDF_DATA_URL + pdf(1)).estimated_tokens() == DOCUMENT_PAGE_TOKENS
    assert FileData(file_data=PDF_DATA_URL + pdf(7)).estimated_tokens() == 7 * DOCUMENT_PAGE_TOKENS


def test_without_visible_pages_the_size_counts() -> None:
    """Page objects packed into compressed object streams: one page per DOCUMENT_PAGE_BYTES, at least one."""
    packed = base64.b64encode(b"%PDF-1.7\n" + b"\x00" * (2 * DOCUMENT_PAGE_BYTES + 1)).decode()
    assert FileData(file_data=PDF_DATA_URL + packed).estimated_tokens() == 3 * DOCUMENT_PAGE_TOKENS
    assert FileData(file_data=PDF_DATA_URL + "JVBERi0xLjQK").estimated_tokens() == DOCUMENT_PAGE_TOKENS
    assert FileData(file_data=PDF_DATA_URL + "not base64!").estimated_tokens() == DOCUMENT_PAGE_TOKENS
    assert FileData(file_url="https://example.com/a.pdf").estimated_tokens() == DOCUMENT_PAGE_TOKENS


def test_a_requests_estimate_adds_its_documents_to_its_text() -> None:
    file = ContentPart(type="file", file=FileData(file_data=PDF_DATA_URL + pdf(4)))
    request = ChatRequest(
        messages=[
            Message(role="user", content=[ContentPart(type="text", text="abcdefgh"), file]),
            Message(role="tool", tool_call_id="c", content=[file]),
        ]
    )
    assert request.estimated_tokens() == 2 + 2 * 4 * DOCUMENT_PAGE_TOKENS
