"""The shipped tokenizer's padding and 128-token truncation are off; our bound keeps head and tail."""

from __future__ import annotations

import pytest

from tests.unit.learned.tiny import tokenizer_json
from tiergate.learned.tokens import CHARS_PER_TOKEN, Tokenizer
from tiergate.learned.weights import Weights

CLS, SEP = 2, 3  # in the tiny vocabulary; w<i> is id 5 + i


def tiny(max_tokens: int) -> Tokenizer:
    return Tokenizer.parse(tokenizer_json(), max_tokens=max_tokens)


def words(*numbers: int) -> str:
    return " ".join(f"w{n}" for n in numbers)


def test_no_padding_and_no_builtin_truncation() -> None:
    # tiny's tokenizer.json pads and truncates to 8, like the shipped one does to 128.
    assert tiny(64).ids(words(1)).tolist() == [CLS, 6, SEP]
    assert len(tiny(64).ids(words(*range(20)))) == 22


def test_long_text_keeps_head_and_tail() -> None:
    ids = tiny(8).ids(words(*range(20)))  # 6 tokens of room: 3 from the head, 3 from the tail
    assert ids.tolist() == [CLS, 5, 6, 7, 5 + 17, 5 + 18, 5 + 19, SEP]
    odd = tiny(9).content_ids(words(*range(20)))  # no specials: 9 of room, the head gets the extra one
    assert odd.tolist() == [5, 6, 7, 8, 9, 5 + 16, 5 + 17, 5 + 18, 5 + 19]


def test_a_huge_paste_is_cut_before_tokenizing_and_keeps_both_ends() -> None:
    tokenizer = tiny(6)
    text = "w1 " + "w2 " * 1_000_000 + "w3"
    ids = tokenizer.content_ids(text)
    assert ids.tolist() == [6, 7, 7, 7, 7, 8]
    assert len(text) > 6 * CHARS_PER_TOKEN * 100


def test_the_real_tokenizer_matches_the_models_token_counts(weights: Weights) -> None:
    tokenizer = Tokenizer.parse(weights.tokenizer_json, max_tokens=256)
    assert tokenizer.ids("A man is eating food.").tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    assert len(tokenizer.ids("word " * 200)) == 202  # beyond the file's 128


def test_lone_surrogates_do_not_escape_as_foreign_errors() -> None:
    assert tiny(16).ids("w1 \ud800 w2").tolist()[:2] == [CLS, 6]


@pytest.mark.parametrize("bad", [0, 2])
def test_max_tokens_must_leave_room_for_a_token(bad: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        tiny(bad)


def test_a_tokenizer_without_cls_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        Tokenizer.parse(tokenizer_json().replace('"[CLS]"', '"[XLS]"'), max_tokens=16)
