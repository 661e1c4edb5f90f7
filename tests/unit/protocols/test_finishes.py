"""The warning an unknown finish reason gets: the reason quoted only when it is a name, never a key."""

from __future__ import annotations

import pytest

from tiergate.protocols.openai import finishes


@pytest.mark.parametrize(
    ("raw", "quoted", "said"),
    [
        ("end_of_text", "'end_of_text'", "a clean end"),
        ("MAX_LENGTH_REACHED", "'MAX_LENGTH_REACHED'", "a length cut"),
        # a server that echoes its key into the reason: the log quotes none of it
        ("weird_Bearer_sk-oai-SECRET-1a2b3c4d", "of 35 characters that is no name", "a clean end"),
        ("tok_4f1c2b9e7d", "of 14 characters that is no name", "a clean end"),
        ("x" * 65, "of 65 characters that is no name", "a clean end"),
    ],
)
def test_an_unknown_reason_is_quoted_only_when_it_is_a_name(
    caplog: pytest.LogCaptureFixture, raw: str, quoted: str, said: str
) -> None:
    finishes._notice.cache_clear()
    caplog.set_level("WARNING", logger="tiergate.backends")
    finishes.read("vllm", raw)
    assert [r.getMessage() for r in caplog.records] == [
        f"backend 'vllm' ended an answer with a finish_reason {quoted}, which tiergate does not know: read as {said}"
    ]
