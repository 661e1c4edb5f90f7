"""The ``max_tokens`` an Anthropic backend fits for a client that gave no output limit, at the edges the
gateway tests do not reach: a backend default below the floor, and a call that knows no window; and the one
it asks again with when the API refuses that, at the floor and for refusals it does not ask again."""

from __future__ import annotations

import pytest

from tests.helpers import chat
from tiergate.backends.anthropic import fitted_max_tokens, refitted_max_tokens
from tiergate.backends.base import Call
from tiergate.errors import UpstreamCapabilityError
from tiergate.protocols.estimate import output_room
from tiergate.protocols.overflow import too_long

#: 148,000 tokens by the estimate: no room in a 200,000-token window once its error is allowed for.
NEAR_FULL = chat("word " * 118_400)


def test_the_room_is_the_window_less_the_estimate_a_third_of_it_and_the_framing() -> None:
    assert output_room(chat("word " * 108_000), 200_000) == 200_000 - 135_000 - 45_000 - 1024


def test_a_default_below_the_floor_is_kept_however_full_the_window() -> None:
    """A backend that caps answers for their cost (``default_max_tokens: 2048``) is not raised to 4096."""
    call = Call(model="claude-sonnet-4-5", context_window=200_000)
    assert fitted_max_tokens(chat(), call, 2048) == 2048
    assert fitted_max_tokens(NEAR_FULL, call, 2048) == 2048


def test_without_a_window_the_cap_goes_out() -> None:
    """A call made outside dispatch (``tiergate profile``) knows no window: the smaller of the two caps."""
    assert fitted_max_tokens(NEAR_FULL, Call(model="claude-opus-4-1", max_output=32000), 64000) == 32000
    assert fitted_max_tokens(NEAR_FULL, Call(model="claude-sonnet-4-5"), 64000) == 64000


def refusal(message: str) -> UpstreamCapabilityError:
    return too_long("anthropic", "https://api.anthropic.com", message, status=400)


def over(prompt: int, output: int) -> str:
    return (
        f"input length and `max_tokens` exceed context limit: {prompt} + {output} > 200000, decrease input"
        " length or `max_tokens` and try again"
    )


@pytest.mark.parametrize(
    ("message", "again"),
    [
        (over(176_015, 32_000), 200_000 - 176_015 - 256),
        (over(200_000 - 256 - 1024, 4096), 1024),  # the floor's room: asked again
        (over(200_000 - 256 - 1023, 4096), None),  # a token less: the overflow it was
        ("prompt is too long: 201000 tokens > 200000 maximum", None),  # no max_tokens makes that fit
    ],
)
def test_a_refusal_is_asked_again_with_the_room_it_names_down_to_1024(message: str, again: int | None) -> None:
    assert refitted_max_tokens(refusal(message)) == again


def test_a_refusal_without_figures_is_not_asked_again() -> None:
    assert refitted_max_tokens(refusal("input length and `max_tokens` exceed context limit")) is None
    other = UpstreamCapabilityError("anthropic", "https://api.anthropic.com", "stop sequences not supported")
    assert refitted_max_tokens(other) is None
