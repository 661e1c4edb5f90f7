"""Keyword matching as rules use it: through a request's Features (the text read once, words looked up)."""

from tests.helpers import chat
from tiergate.rules.features import Features
from tiergate.rules.keywords import KeywordMatcher


def hits(matcher: KeywordMatcher, text: str) -> tuple[str, ...]:
    return Features.of(chat(text)).keyword_hits(matcher, "last_user_text")


def test_whole_words_case_insensitive_distinct() -> None:
    m = KeywordMatcher(["Format", "security audit", "race condition", "lock-free"])
    assert hits(m, "please FORMAT this; format it again") == ("format",)
    assert hits(m, "information about formatting") == ()
    assert hits(m, "a Security Audit and a race condition") == ("security audit", "race condition")
    assert hits(m, "is this lock-free? not lockfree, lock free") == ("lock-free",)
    assert hits(m, "security; audit") == ()  # a phrase only as a phrase
    assert hits(m, "") == ()


def test_keywords_list_order_decides_the_order_of_hits() -> None:
    m = KeywordMatcher(["race condition", "format"])
    assert hits(m, "format the race condition") == ("race condition", "format")


def test_duplicate_and_blank_words_are_dropped() -> None:
    assert KeywordMatcher(["a", "A", " ", "b"]).words == ("a", "b")
