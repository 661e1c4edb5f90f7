"""What the decision log keeps of an ask (``store_ask``): what `tiergate train --log` embeds again."""

from __future__ import annotations

from tiergate.api.serve import stored_ask


def test_a_short_ask_is_kept_whole() -> None:
    assert stored_ask("why does this deadlock?", 4000) == "why does this deadlock?"
    assert stored_ask("x" * 4000, 4000) == "x" * 4000


def test_a_long_ask_keeps_its_head_and_its_tail_as_the_encoders_read_it() -> None:
    """The head alone dropped the question after a pasted file, and embedded to another vector."""
    ask = "Here is the module:\n" + "code line\n" * 1000 + "Why does the second call deadlock?"
    kept = stored_ask(ask, 4000)
    assert len(kept) == 4000  # the two halves and the line break between them
    assert kept.startswith("Here is the module:\n") and kept.endswith("Why does the second call deadlock?")
    assert stored_ask(ask, 4001)[:2000] == ask[:2000] and stored_ask(ask, 4001)[-2000:] == ask[-2000:]
    assert stored_ask(ask, 4000)[:1999] == ask[:1999] and stored_ask(ask, 4000)[-2000:] == ask[-2000:]
