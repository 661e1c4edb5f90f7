"""What a request costs: prompt-cache reads and writes priced apart from the other prompt tokens."""

from __future__ import annotations

import msgspec
import pytest

from tiergate.config.model import Price
from tiergate.telemetry.cost import cost_usd
from tiergate.wire import Usage

#: Anthropic's usage of a Claude Code turn: 10 new input tokens, 10000 read from the cache, 20 out.
CACHED_TURN = Usage.of(10 + 10_000, 20, cached=10_000)


def test_cache_reads_and_writes_cost_their_own_prices() -> None:
    price = Price(input=3, output=15, cache_read=0.3, cache_write=3.75)
    # 10 x $3 + 10000 x $0.30 + 20 x $15, per million
    assert cost_usd(price, CACHED_TURN) == pytest.approx(0.003330)
    written = Usage.of(10 + 2_000 + 4_000, 20, cached=2_000, cache_write=4_000)
    # 10 x $3 + 2000 x $0.30 + 4000 x $3.75 + 20 x $15, per million
    assert cost_usd(price, written) == pytest.approx((30 + 600 + 15_000 + 300) / 1e6)


def test_without_cache_prices_cache_tokens_cost_the_input_price() -> None:
    price = Price(input=3, output=15)
    assert cost_usd(price, CACHED_TURN) == pytest.approx(0.030330)
    assert cost_usd(price, Usage.of(10 + 4_000, 20, cache_write=4_000)) == pytest.approx((4_010 * 3 + 300) / 1e6)
    # only one of the two given: the other is still the input price
    assert cost_usd(Price(input=3, output=15, cache_write=3.75), CACHED_TURN) == pytest.approx(0.030330)


def test_usage_without_cache_tokens_costs_as_before() -> None:
    price = Price(input=3, output=15, cache_read=0.3, cache_write=3.75)
    assert cost_usd(price, Usage.of(1_000_000, 100_000)) == pytest.approx(4.5)
    assert cost_usd(Price(), CACHED_TURN) == 0.0


def test_cache_prices_are_read_from_the_config_and_must_not_be_negative() -> None:
    price = msgspec.convert({"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}, Price)
    assert (price.cache_read, price.cache_write) == (0.3, 3.75)
    assert msgspec.convert({"input": 3.0}, Price).cache_read is None
    with pytest.raises(msgspec.ValidationError, match="cache_read"):
        msgspec.convert({"cache_read": -1}, Price)
