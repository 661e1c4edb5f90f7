"""An unhandled error: a 500 in the caller's shape whose request id is the one the log line names."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from tiergate.api.errors import EXCEPTION_HANDLERS


@get("/v1/models")
async def broken() -> None:
    raise KeyError("oops")


def test_an_unhandled_error_names_the_same_request_id_in_the_answer_and_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    with TestClient(Litestar([broken], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)) as client:
        r = client.get("/v1/models")
    assert r.status_code == 500
    assert r.json()["error"]["message"] == "internal error in tiergate: KeyError"
    request_id = r.headers["request-id"]
    assert request_id == r.headers["x-request-id"] and request_id.startswith("req_")
    logged = [rec.getMessage() for rec in caplog.records if "unhandled error" in rec.getMessage()]
    assert logged == [f"unhandled error on GET /v1/models (request-id {request_id})"]
