"""The tool calls a request's ``tool_choice`` lets an answer make, checked where the upstream may not keep to
it: Ollama has no ``tool_choice`` at all, and an OpenAI-compatible server is sent it but need not honour it
(Ollama's own ``/v1`` ignores it; a server without a tool grammar lets the model write any name). Claude and
OpenAI constrain their models: a call is always to a tool the request declares, to the one ``tool_choice``
names where it names one, and there where it requires one. Clients count on that (none can run a tool it
does not have), so an answer that breaks it is refused as a capability the target lacks: the request falls
back to the next target (no retry, no breaker count), and with none left the client gets a 502 saying why:

- ``tool_call_missing`` (:data:`MISSING`): ``tool_choice`` requires a call (``required``, or a named tool)
  and the answer makes none, or calls a tool other than the one named;
- ``tool_call_undeclared`` (:data:`UNDECLARED`): the answer calls a tool the request does not declare,
  whatever ``tool_choice`` says. (A request without tools is not checked: a server parses no tool calls
  without them, and the answer is as it was.)

Pure: the codecs check each call's name as it opens (:meth:`CallRule.check`) and, where a call is required,
raise :meth:`CallRule.missing` for an answer that ends without one.

    rule = CallRule.of(request, why="Ollama cannot force one")
    rule.check("get_weather", "ollama", url)          # raises for a call the request does not allow
    if rule.required and not calls: raise rule.missing("ollama", url)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tiergate.errors import UpstreamCapabilityError
from tiergate.wire import ChatRequest

#: The code of a refused answer that lacks the call ``tool_choice`` requires (or calls another tool).
MISSING = "tool_call_missing"
#: The code of a refused answer that calls a tool the request does not declare.
UNDECLARED = "tool_call_undeclared"
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
    """What an answer's tool calls must be: each to one of ``declared`` (when there are any), each to ``named``
    when set, and at least one when ``required``. ``why`` says why the upstream needs checking, in each
    refusal."""

    declared: frozenset[str]
    named: str | None
    required: bool
    why: str

    @classmethod
    def of(cls, request: ChatRequest, *, why: str) -> CallRule:
        """The rule of ``request``: a call is required by ``tool_choice: "required"`` (Anthropic's ``any``,
        Responses' ``required``) or a named tool, of tools the request declares (``none`` requires none)."""
        declared = frozenset(tool.function.name for tool in request.tools or ())
        named = named_tool(request.tool_choice)
        named = named if named in declared else None  # an undeclared one is the ingress's 400
        required = bool(declared) and (request.tool_choice == "required" or named is not None)
        return cls(declared, named, required, why)

    def check(self, name: str, backend: str, url: str) -> None:
        """Raise for a call to ``name`` that this rule does not allow."""
        if self.named is not None and name != self.named:
            detail = f"the model called `{_shown(name)}`, not `{self.named}`, which tool_choice names ({self.why})"
            raise UpstreamCapabilityError(backend, url, detail, status=502, code=MISSING)
        if self.declared and name not in self.declared:
            detail = f"the model called `{_shown(name)}`, a tool this request does not declare ({self.why})"
            raise UpstreamCapabilityError(backend, url, detail, status=502, code=UNDECLARED)

    def missing(self, backend: str, url: str) -> UpstreamCapabilityError:
        """An answer without the tool call the request requires: this model did not make one, another may."""
        detail = f"the model answered without a tool call, which tool_choice requires ({self.why})"
        return UpstreamCapabilityError(backend, url, detail, status=502, code=MISSING)


def _shown(name: str) -> str:
    """A name the model wrote, as an error quotes it: cut to :data:`_SHOWN` characters."""
    return name if len(name) <= _SHOWN else name[: _SHOWN - 1] + "…"
