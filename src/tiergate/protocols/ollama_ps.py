"""Egress, tiergate → an Ollama server: which models are in memory (``GET /api/ps``), and unloading one
(``POST /api/generate`` with ``keep_alive: 0`` and no prompt). Pure.

``/api/ps`` answers ``{"models": [{"name", "model", "size", "digest", "details", "expires_at",
"size_vram"}]}``; an unload answers ``{"model", "created_at", "response": "", "done": true,
"done_reason": "unload"}``. ``keep_alive`` is a number of seconds or a Go duration string; any negative
keeps the model loaded for ever, 0 unloads it after the answer. A number must travel as a JSON number:
Ollama reads the string ``"-1"`` as a duration without a unit and refuses the request.

    models = decode_ps("ollama", url, body)        # [Resident("qwen2.5-coder:7b", "2025-...")]
    path, body = unload("qwen2.5-coder:7b")
    same_model("qwen2.5-coder", "qwen2.5-coder:latest")   # True: Ollama's default tag
"""

from __future__ import annotations

import msgspec

from tiergate.errors import UpstreamProtocolError

PS = "/api/ps"
GENERATE = "/api/generate"
#: ``keep_alive`` for a pinned target: loaded for ever.
FOREVER = -1
#: ``keep_alive`` that unloads the model at once.
NOW = 0


class Resident(msgspec.Struct, frozen=True):
    """One model in the server's memory; ``expires_at`` is when Ollama will unload it on its own (an
    RFC 3339 time; far in the future for ``keep_alive: -1``)."""

    name: str
    expires_at: str = ""


class _Model(msgspec.Struct):
    name: str = ""
    model: str = ""
    expires_at: str = ""


class _Ps(msgspec.Struct):
    models: list[_Model] | None = None


_decode_ps = msgspec.json.Decoder(_Ps).decode
_encode = msgspec.json.Encoder().encode


def decode_ps(backend: str, url: str, body: bytes) -> list[Resident]:
    """The models ``/api/ps`` lists (``models: null`` is none); an unreadable body raises."""
    try:
        ps = _decode_ps(body)
    except msgspec.DecodeError as exc:
        raise UpstreamProtocolError(backend, url, f"unreadable /api/ps answer: {exc}") from exc
    return [Resident(m.name or m.model, m.expires_at) for m in ps.models or () if m.name or m.model]


def load(model: str, num_ctx: int | None = None) -> tuple[str, bytes]:
    """The request that loads ``model`` and keeps it for ever (a pinned target): no prompt, nothing generated.
    ``num_ctx`` is the window its requests will send: Ollama restarts a model loaded with another one."""
    body: dict[str, object] = {"model": model, "keep_alive": FOREVER, "stream": False}
    if num_ctx is not None:
        body["options"] = {"num_ctx": num_ctx}
    return GENERATE, _encode(body)


def unload(model: str) -> tuple[str, bytes]:
    """The request that unloads ``model`` now: no prompt, so nothing is generated."""
    return GENERATE, _encode({"model": model, "keep_alive": NOW, "stream": False})


def keep_alive(value: str | int | None) -> str | int | float | None:
    """A configured ``keep_alive`` as Ollama reads it: a number (``-1``, ``"300"``) as a JSON number of
    seconds, a duration (``"10m"``, ``"1h"``) as it is; empty (``${OLLAMA_KEEP_ALIVE:-}``) as none, Ollama's
    own default."""
    if value is None or isinstance(value, int):
        return value
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def same_model(configured: str, listed: str) -> bool:
    """Whether a model id from routes.yaml names a model ``/api/ps`` lists: Ollama adds ``:latest`` to
    a name without a tag."""
    return tagged(configured) == tagged(listed)


def tagged(name: str) -> str:
    """The name as ``/api/ps`` lists it: ``:latest`` added to a name without a tag."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"
