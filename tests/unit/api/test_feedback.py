"""``POST /v1/feedback``'s rate(): who a rating is from, as session escalation sees it."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from tiergate.api.console import CONSOLE_CLIENT
from tiergate.api.feedback import CONSOLE_RATER, FeedbackBody, rate
from tiergate.errors import RequestError
from tiergate.protocols.openai.request import decode_json
from tiergate.wire import ChatRequest


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


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (b'{"decision_id": "dec_1"}', "rating", "invalid request: Object missing required field `rating`"),
        (
            b'{"decision_id": "dec_1", "rating": "5"}',
            "rating",
            "invalid request: Expected `int`, got `str` at `rating`",
        ),
    ],
)
def test_a_rating_left_out_or_of_the_wrong_type_names_it_as_the_param(body: bytes, param: str, message: str) -> None:
    """A rating left out said ``param: null``, a rating of the wrong type ``param: "rating"``."""
    with pytest.raises(RequestError) as raised:
        decode_json(body, FeedbackBody)
    assert (raised.value.param, raised.value.message) == (param, message)


def test_a_field_left_out_inside_a_list_is_named_with_its_place() -> None:
    with pytest.raises(RequestError) as raised:
        decode_json(b'{"messages": [{"content": "hi"}]}', ChatRequest)
    assert raised.value.param == "messages[0].role"
