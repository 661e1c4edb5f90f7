"""Regular expressions from routes.yaml that can take exponential time on a text a client chooses.

Python's ``re`` backtracks, and a rule's ``matches`` runs on the event loop over the request's own text:
``^(a+)+$`` on 27 ``a`` and a ``b`` took 4 s, with every other request waiting. The usual cause is a
repeated group that holds a repeat of its own, where the two can split the same characters many ways.
:func:`nested_repeat` finds that shape; the loader warns at the pattern's line. It is a warning, not an
error: a separator between the parts (``(\\d+\\.)*``) makes the same shape safe, and only the author can
say which it is.

    nested_repeat(r"^(a+)+$")     ->  True   (a repeated group with a repeat inside)
    nested_repeat(r"^\\w+\\.py$")  ->  False
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]  # re.sre_parse, without its deprecation
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

#: What a repeat's upper bound is when none is written (``+``, ``*``, ``{2,}``).
_UNBOUNDED = sre.MAXREPEAT
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)


def nested_repeat(pattern: str) -> bool:
    """Whether ``pattern`` repeats, without an upper bound, a part that itself repeats (``(a+)+``,
    ``(a*b?)*``, ``(?:\\s*x)+``). False for a pattern that does not compile (the loader reports that)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return _walk(list(parsed), inside=False)


def _walk(items: list[tuple[Any, Any]], *, inside: bool) -> bool:
    for op, av in items:
        if op in _REPEATS:
            _, high, sub = av
            if inside and high > 1:
                return True
            if _walk(list(sub), inside=inside or high == _UNBOUNDED):
                return True
        elif op is sre.SUBPATTERN:
            if _walk(list(av[-1]), inside=inside):
                return True
        elif op is sre.BRANCH:
            if any(_walk(list(branch), inside=inside) for branch in av[1]):
                return True
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if _walk(list(av[1]), inside=inside):
                return True
        elif op is sre.ATOMIC_GROUP or op is sre.POSSESSIVE_REPEAT:
            continue  # no backtracking into it
    return False


WARNING = (
    "a repeated group holds a repeat of its own, so on some texts (which a client may send) the match "
    "takes exponential time on the event loop; write it without the nesting (`(a+)+` is `a+`) or with a "
    "separator the parts cannot share"
)
