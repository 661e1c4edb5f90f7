from tiergate.rules.keywords import KeywordMatcher


def test_whole_words_case_insensitive_distinct() -> None:
    m = KeywordMatcher(["Format", "security audit", "race condition"])
    assert m.hits_in("please format this; format it again") == ("format",)
    assert m.hits_in("information about formatting") == ()
    assert m.hits_in("a security audit and a race condition") == ("security audit", "race condition")
    assert m.hits_in("") == ()


def test_duplicate_and_blank_words_are_dropped() -> None:
    assert KeywordMatcher(["a", "A", " ", "b"]).words == ("a", "b")
