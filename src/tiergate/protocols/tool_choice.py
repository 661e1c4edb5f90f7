"""The tool calls a request's ``tool_choice`` lets an answer make, checked where the upstream may not keep to
it: Ollama has no ``tool_choice`` at all, and an OpenAI-compatible server is sent it but need not honour it
(Ollama's own ``/v1`` ignores it; a server without a tool grammar lets the model write any name). Claude and
OpenAI make the call a ``tool_choice`` requires (``required``, or a named tool) and call only the named one.
A client that forced a call counts on it, so an answer without it is refused as a capability the target
lacks: the request falls back to the next target (no retry, no breaker count), and with none left the
client gets a 502 saying why (``tool_call_missing``, :data:`MISSING`): the answer makes no call, or calls a
tool other than the one named.

A call to a tool the request does not declare is not refused, under ``auto`` or ``required``: it reaches
the client as the upstream sent it, and an agent client answers it as a tool it does not have (Claude
Code's "No such tool available"), from which the model recovers on its next turn; refusing it would end
an answer whose other calls the client could run. Under a named tool it is one of the other tools.

Pure: the codecs check each call's name as it opens (:meth:`CallRule.check`) and, where a call is required,
raise :meth:`CallRule.missing` for an answer that ends without one.

    rule = CallRule.of(request, why="Ollama cannot force one")
    rule.check("get_time", "ollama", url)             # raises for a call other than the named tool
    if rule.required and not calls: raise rule.missing("ollama", url)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tiergate.dispatch.one_call import one_call
from tiergate.errors import UpstreamCapabilityError
from tiergate.wire import ChatRequest

#: The code of a refused answer that lacks the call ``tool_choice`` requires (or calls another tool).
MISSING = "tool_call_missing"
#: The most characters of a name the model wrote that an error quotes.
_SHOWN = 120


def named_tool(choice: str | dict[str, Any] | None) -> str | None:
    """The function a ``tool_choice`` names (``{"type": "function", "function": {"name": ...}}``, which
    Anthropic's ``{type: tool}`` and Responses' named function are too), or None."""
    if isinstance(choice, dict) and isinstance(named := choice.get("function"), dict):
        name = named.get("name")
        return name if isinstance(name, str) else None
    return None


@dataclass(frozen=True)
class CallRule:
    """What an answer's tool calls must be: each to ``named`` when set, and at least one when ``required``.
    ``why`` says why the upstream needs checking, in each refusal. With ``first_only`` (one call at a time:
    ``parallel_tool_calls: false``) only the first call is checked: dispatch drops the others
    (:mod:`tiergate.dispatch.one_call`), so a named first call is the answer the client asked for."""

    named: str | None
    required: bool
    why: str
    first_only: bool = False

    @classmethod
    def of(cls, request: ChatRequest, *, why: str) -> CallRule:
        """The rule of ``request``: a call is required by ``tool_choice: "required"`` (Anthropic's ``any``,
        Responses' ``required``) or a named tool, of tools the request declares (``none`` requires none)."""
        declared = frozenset(tool.function.name for tool in request.tools or ())
        named = named_tool(request.tool_choice)
        named = named if named in declared else None  # an undeclared one is the ingress's 400
        required = bool(declared) and (request.tool_choice == "required" or named is not None)
        return cls(named, required, why, one_call(request))

    def check(self, name: str, backend: str, url: str, index: int = 0) -> None:
        """Raise for a call to ``name`` (the answer's call number ``index``, from 0) where ``tool_choice`` names
        another tool: the forced call is missing. A call after the first is not checked when only the first
        is kept."""
        if index > 0 and self.first_only:
            return
        if self.named is not None and name != self.named:
            detail = f"the model called `{_shown(name)}`, not `{self.named}`, which tool_choice names ({self.why})"
            raise UpstreamCapabilityError(backend, url, detail, status=502, code=MISSING)

    def missing(self, backend: str, url: str) -> UpstreamCapabilityError:
        """An answer without the tool call the request requires: this model did not make one, another may."""
        detail = f"the model answered without a tool call, which tool_choice requires ({self.why})"
        return UpstreamCapabilityError(backend, url, detail, status=502, code=MISSING)


def _shown(name: str) -> str:
    """A name the model wrote, as an error quotes it: cut to :data:`_SHOWN` characters."""
    return name if len(name) <= _SHOWN else name[: _SHOWN - 1] + "…"
