from __future__ import annotations

import pytest

from tests.helpers import request
from tiergate.rules.features import FEATURES, Features, is_known


def features(**body: object) -> Features:
    return Features.of(request(**body), {"X-Team": "payments"})


def test_counts_and_text_features() -> None:
    f = features(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look at src/app.py and @lib/util.ts"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
        ]
    )
    assert f["message_count"] == 4
    assert f["user_turns"] == 2
    assert f["assistant_turns"] == 1
    assert f["system_chars"] == len("be brief")
    assert f["last_user_text"] == "look at src/app.py and @lib/util.ts"
    assert f["last_user_chars"] == len("look at src/app.py and @lib/util.ts")
    assert f["total_chars"] == len("be brief") + len("first") + len("ok") + f["last_user_chars"]
    assert f["file_references"] == 2
    assert f["images_present"] is True
    assert f["image_count"] == 1
    assert f["approx_tokens"] == f["total_chars"] // 4 + 1600  # the image


def test_pdf_documents_are_counted_and_read_as_no_text() -> None:
    pdf = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}}
    f = features(
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "summarise"}, pdf]},
            {"role": "tool", "tool_call_id": "c1", "content": [pdf]},
        ]
    )
    assert (f["documents_present"], f["document_count"]) == (True, 2)
    assert (f["images_present"], f["total_chars"]) == (False, len("summarise"))
    assert features(messages=[{"role": "user", "content": "hi"}])["documents_present"] is False


def test_tools_and_tool_results() -> None:
    f = features(
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        tools=[{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}],
    )
    assert f["tools_present"] is True
    assert f["tool_count"] == 1
    assert f["tool_results_present"] is True
    assert f["approx_tokens"] > f["total_chars"] // 4


def test_families_and_defaults() -> None:
    f = features(messages=[{"role": "user", "content": "x"}], metadata={"project": "apollo"})
    assert f["header.x-team"] == "payments"
    assert f["header.absent"] == ""
    assert f["metadata.project"] == "apollo"
    assert f["requested_model"] == "auto"
    assert f["max_tokens"] == 0
    assert f["code_blocks"] == 0
    assert f["fill_in_the_middle"] is False


def test_fill_in_the_middle_is_a_completion_with_a_suffix() -> None:
    f = features(messages=[{"role": "user", "content": "def add(a, b):\n    "}], suffix="\n\nprint(add(1, 2))")
    assert f["fill_in_the_middle"] is True
    assert features(messages=[{"role": "user", "content": "x"}], suffix="")["fill_in_the_middle"] is True


def test_control_characters_are_removed_from_routing_text_only() -> None:
    req = request(messages=[{"role": "user", "content": "sec\x00urity\x1b audit\tnow\n"}])
    f = Features.of(req)
    assert f["last_user_text"] == "security audit\tnow\n"
    assert req.messages[0].content == "sec\x00urity\x1b audit\tnow\n"


def test_features_are_computed_once() -> None:
    f = features(messages=[{"role": "user", "content": "x"}])
    assert f["total_chars"] == 1
    f.request.messages[0].content = "changed"
    assert f["total_chars"] == 1


def test_known_names() -> None:
    assert is_known("total_chars")
    assert is_known("header.x-anything")
    assert not is_known("header.")
    assert not is_known("total_char")
    with pytest.raises(KeyError):
        features(messages=[{"role": "user", "content": "x"}])["nope"]
    assert all(spec.doc for spec in FEATURES.values())
