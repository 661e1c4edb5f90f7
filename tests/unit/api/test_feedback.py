"""``POST /v1/feedback``'s rate(): who a rating is from, as session escalation sees it."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from tiergate.api.console import CONSOLE_CLIENT
from tiergate.api.feedback import CONSOLE_RATER, FeedbackBody, rate


class Log:
    def submit_feedback(self, decision_id: str, rating: int, comment: str | None, *, client: str | None) -> Any:
        done: Future[bool] = Future()
        done.set_result(True)
        return done


class Gateway:
    def __init__(self) -> None:
        self.raters: list[str | None] = []

    def rated(self, decision_id: str, rating: int, rater: str | None = None) -> None:
        self.raters.append(rater)


def test_the_console_rates_under_the_name_rate_trusts() -> None:
    assert CONSOLE_RATER == CONSOLE_CLIENT


@pytest.mark.asyncio
async def test_a_client_rates_as_itself_and_the_console_as_the_admin() -> None:
    gateway = Gateway()
    state = {"decision_log": Log(), "gateway": gateway}
    body = FeedbackBody(decision_id="dec_1", rating=1)
    await rate(state, body, "team-a", admin=False)
    await rate(state, body, CONSOLE_CLIENT)  # the console's call
    await rate(state, body, CONSOLE_CLIENT, admin=False)  # a client key named "console" is just a client
    assert gateway.raters == ["team-a", None, "console"]
