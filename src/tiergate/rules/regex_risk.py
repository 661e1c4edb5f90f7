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


#: A bounded repeat of at least this many times around an unbounded one is as slow as an unbounded one:
#: ``(?:.*,){8}x`` took 6 s on 40 characters. Fewer (``(?:\\s+\\w+){0,3}``) stay polynomial of low degree.
BOUNDED_RISK = 4


def nested_repeat(pattern: str) -> bool:
    """Whether ``pattern`` repeats a part that itself repeats, one of the two without an upper bound and
    the outer one at least :data:`BOUNDED_RISK` times (``(a+)+``, ``(a*b?)*``, ``(?:\\s*x)+``,
    ``(?:a+){8}``, ``(a{1,3})+``). False for a pattern that does not compile (the loader reports that)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return _walk(list(parsed), outer=None)


def _walk(items: list[tuple[Any, Any]], *, outer: int | None) -> bool:
    """``outer``: the upper bound of the innermost risky repeat around ``items`` (None: none around them)."""
    for op, av in items:
        if op in _REPEATS:
            _, high, sub = av
            if outer is not None and high > 1 and (outer == _UNBOUNDED or high == _UNBOUNDED):
                return True
            risky = high == _UNBOUNDED or high >= BOUNDED_RISK
            if _walk(list(sub), outer=high if risky and outer is None else outer):
                return True
        elif op is sre.SUBPATTERN:
            if _walk(list(av[-1]), outer=outer):
                return True
        elif op is sre.BRANCH:
            if any(_walk(list(branch), outer=outer) for branch in av[1]):
                return True
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if _walk(list(av[1]), outer=outer):
                return True
        elif op is sre.ATOMIC_GROUP or op is sre.POSSESSIVE_REPEAT:
            continue  # no backtracking into it
    return False


WARNING = (
    "a repeated group holds a repeat of its own, so on some texts (which a client may send) the match "
    "takes exponential time on the event loop; write it without the nesting (`(a+)+` is `a+`) or with a "
    "separator the parts cannot share"
)
