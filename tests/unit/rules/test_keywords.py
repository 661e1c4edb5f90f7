from tiergate.rules.keywords import KeywordMatcher


def test_whole_words_case_insensitive_distinct() -> None:
    m = KeywordMatcher(["Format", "security audit", "race condition"])
    assert m.hits("please format this; format it again") == ("format",)
    assert m.hits("information about formatting") == ()
    assert m.hits("a security audit and a race condition") == ("security audit", "race condition")
    assert m.count("") == 0


def test_duplicate_and_blank_words_are_dropped() -> None:
    assert KeywordMatcher(["a", "A", " ", "b"]).words == ("a", "b")
