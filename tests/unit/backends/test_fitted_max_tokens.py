"""The ``max_tokens`` an Anthropic backend fits for a client that gave no output limit, at the edges the
gateway tests do not reach: a backend default below the floor, and a call that knows no window."""

from __future__ import annotations

from tests.helpers import chat
from tiergate.backends.anthropic import fitted_max_tokens
from tiergate.backends.base import Call
from tiergate.protocols.estimate import output_room

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
