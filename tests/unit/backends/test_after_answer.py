"""What an upstream sent after a whole answer is logged by its kind, never by what it said."""

from __future__ import annotations

import pytest

from tiergate.backends.after_answer import ended_whole
from tiergate.errors import UpstreamProtocolError, UpstreamStatusError
from tiergate.protocols.framing import TooLong

URL = "http://127.0.0.1:1"


def said(caplog: pytest.LogCaptureFixture, failure: Exception) -> str:
    caplog.set_level("WARNING", logger="tiergate.backends")
    ended_whole(failure, "finish_reason")
    (record,) = caplog.records
    return record.getMessage()


def status(upstream_type: str | None) -> UpstreamStatusError:
    return UpstreamStatusError("b", URL, "invalid x-api-key sk-echoed", status=529, upstream_type=upstream_type)


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (status("overloaded_error"), "an error event (overloaded_error)"),
        (status(None), "an error event (of no type)"),
        (status("sk-echoed\nforged line"), "an error event (of no type)"),
        (UpstreamProtocolError("b", URL, "invalid JSON in stream event: sk-echoed"), "a malformed event"),
        (TooLong("event", 16), "a malformed event"),
    ],
)
def test_a_failure_after_the_whole_answer_is_logged_by_its_kind(
    caplog: pytest.LogCaptureFixture, failure: Exception, kind: str
) -> None:
    message = said(caplog, failure)
    assert message == f"{kind} came after the whole answer (its finish_reason): the answer ends whole"
    assert "sk-" not in message
