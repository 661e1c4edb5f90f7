"""Which rule regexes the loader warns of: a repeated group holding an unbounded-repeat's own repeat."""

from __future__ import annotations

import pytest

from tiergate.rules.regex_risk import nested_repeat


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(a+)+$",
        r"(a*)*",
        r"(?:\s*x)+",
        r"((ab)*c)+",
        r"(?:a|(b+))*",
        r"(?=(a+)+)x",
        r"(a{1,3})+",
        r"(a+){2,}",
        r"^(?:a+){8}$",  # a bounded outer repeat, many times: 2.9 s on 46 characters
        r"(?:.*,){8}x",
        r"(?:(?:b{1,3})a+){4}",
    ],
)
def test_a_repeat_inside_an_unbounded_repeat_is_risky(pattern: str) -> None:
    assert nested_repeat(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\w+\.py$",
        r"(a|b)+",
        r"(?:\s+[\w-]+){0,3}",  # three times at most: the shipped rules' title pattern
        r"(?:a{1,3}){2}",
        r"(?>a+)+",
        r"a++",
        r"(x?)+",
        r"(ab)+",
        "(unclosed",
        "",
    ],
)
def test_single_repeats_bounded_outer_repeats_and_atomic_groups_are_not(pattern: str) -> None:
    assert not nested_repeat(pattern)
