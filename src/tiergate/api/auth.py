"""Who may call the gateway: client API keys, the admin key, and loopback-only serving without keys.

Every endpoint declares its access level in its handler's ``opt`` (``ACCESS``): ``open`` (/health,
/ready, /metrics), ``client`` (/v1/*) or ``admin`` (/admin/*). One app-level ``before_request`` hook
reads the *live* rules on each request, so a reload that adds or removes keys applies to the next
request. (A hook, not a Litestar guard: Litestar copies the route handler for every guard call, which
cost more than the whole key check.)

- Client keys come from the environment variables named in ``server.auth.keys_env`` (a value may hold
  several keys separated by commas) and from ``server.auth.keys`` entries, stored in routes.yaml as SHA-256
  hex digests. A key from a variable is the client named after the variable and the first 8 hex digits of
  the key's SHA-256 (``TIERGATE_KEYS:1a2b3c4d``, see ``env_client_name``): not its position in the list,
  so reordering the list or removing a key never hands one client's spend, budget or rpm to another; and
  32 bits of a digest reveal nothing usable about a key, so the name is safe in /health, logs and the
  decision log. A ``server.auth.keys`` entry is the client of its ``name``.
- A key is presented as ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (Continue sends both).
  The presented key is hashed once and compared with every configured digest by ``hmac.compare_digest``,
  without stopping at a match, so the time taken says nothing about which key (if any) matched.
- With no client keys configured, only loopback peers are served; others get 403.
- /admin/* needs the key in the variable ``server.auth.admin_key_env``; while it is unset, only loopback
  peers may use /admin/*.
- A request admitted without a key because its peer is loopback must also be addressed to a loopback
  name (``Host: localhost``, ``127.0.0.1``, ``[::1]``): a web page on a name a DNS rebinding points at
  127.0.0.1 is a loopback peer too (403 ``host_not_allowed``). Nothing else looks at the Host: an open
  endpoint is open to whoever reaches the port, and a key proves who sent the request wherever it was
  addressed.
- After authentication, ``metered`` endpoints spend one request of the client's rpm budget (the key's
  ``rpm``, else ``server.auth.client_rpm``) and answer 429 with ``retry-after`` when it is spent.

Key ring and environment: key variables are read when the rules load (start-up and every reload).

    auth = Authenticator(limiters)
    Litestar(route_handlers=[...], before_request=auth)
    @post("/v1/chat/completions", opt=ACCESS_CLIENT_METERED)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection

from tiergate.api.gateway import CLIENT_SCOPE_KEY
from tiergate.config.model import Auth
from tiergate.errors import AuthError, RateLimited
from tiergate.resilience.limits import Limiters
from tiergate.runtime import Rules, Runtime

log = logging.getLogger("tiergate.auth")

Access = Literal["open", "client", "admin"]
ACCESS_OPEN: dict[str, Any] = {"access": "open"}
ACCESS_CLIENT: dict[str, Any] = {"access": "client"}
ACCESS_CLIENT_METERED: dict[str, Any] = {"access": "client", "metered": True}
ACCESS_ADMIN: dict[str, Any] = {"access": "admin"}

ANONYMOUS = "anonymous"
KEY_HINT = "send it as `Authorization: Bearer <key>` or `x-api-key: <key>`"


@dataclass(frozen=True)
class Client:
    name: str
    rpm: int | None = None


@dataclass(frozen=True)
class KeyRing:
    """The keys of one rules load, as digests only: the plain keys are not kept.

    ring = KeyRing.build(config.server.auth, os.environ)
    ring.client(["sk-…"])   # Client(name="TIERGATE_KEYS:1a2b3c4d") or None
    """

    clients: tuple[tuple[bytes, Client], ...]
    admin: bytes | None
    admin_env: str
    client_rpm: int | None
    unset_env: tuple[str, ...] = ()

    @classmethod
    def build(cls, auth: Auth, environ: Mapping[str, str]) -> KeyRing:
        clients: list[tuple[bytes, Client]] = []
        unset: list[str] = []
        for env in auth.keys_env:
            keys = [k.strip() for k in environ.get(env, "").split(",") if k.strip()]
            if not keys:
                unset.append(env)
            clients.extend((digest, Client(env_client_name(env, digest))) for digest in map(_digest, keys))
        clients.extend((bytes.fromhex(k.sha256), Client(k.name, k.rpm)) for k in auth.keys)
        admin_key = environ.get(auth.admin_key_env, "").strip()
        return cls(
            tuple(clients),
            _digest(admin_key) if admin_key else None,
            auth.admin_key_env,
            auth.client_rpm,
            tuple(unset),
        )

    @property
    def open(self) -> bool:
        """No client keys: the gateway serves loopback peers only, without a key."""
        return not self.clients

    def client(self, presented: list[str]) -> Client | None:
        """The client owning one of the presented keys. Compares with every digest, always."""
        found: Client | None = None
        for key in presented:
            digest = _digest(key)
            for known, client in self.clients:
                if hmac.compare_digest(known, digest) and found is None:
                    found = client
        return found

    def is_admin(self, presented: list[str]) -> bool:
        if self.admin is None:
            return False
        matches = [hmac.compare_digest(self.admin, _digest(key)) for key in presented]
        return any(matches)

    def describe(self) -> list[tuple[int, str]]:
        """What start-up says about access: (log level, message) lines; never a key."""
        lines: list[tuple[int, str]] = []
        for env in self.unset_env:
            lines.append((logging.INFO, f"server.auth.keys_env names {env}, which is not set or empty"))
        if self.open:
            lines.append((logging.INFO, "no client keys configured: serving loopback clients only"))
        else:
            names = ", ".join(client.name for _, client in self.clients)
            lines.append((logging.INFO, f"{len(self.clients)} client keys configured: {names}"))
        if self.admin is None:
            lines.append((logging.INFO, f"{self.admin_env} is not set: /admin/* serves loopback clients only"))
        return lines


class Authenticator:
    """The app-level before-request hook. Caches the key ring per rules load (a reload builds a new Runtime).

    ``on_rate_limited`` is told each time a client is refused for its rpm (the metrics count it).

        auth = Authenticator(Limiters(), on_rate_limited=metrics.client_rate_limited)
        Litestar(..., before_request=auth)
    """

    def __init__(self, limiters: Limiters, *, on_rate_limited: Callable[[], None] | None = None) -> None:
        self._limiters = limiters
        self._on_rate_limited = on_rate_limited
        self._cached: tuple[Runtime, KeyRing] | None = None

    def ring(self, rules: Rules) -> KeyRing:
        runtime = rules.current
        if self._cached is None or self._cached[0] is not runtime:
            ring = KeyRing.build(runtime.graph.config.server.auth, rules.environ)
            if self._cached is not None:  # start-up reports through describe(); a reload reports here
                for env in ring.unset_env:
                    log.info("server.auth.keys_env names %s, which is not set or empty", env)
            self._cached = (runtime, ring)
        return self._cached[1]

    async def __call__(self, connection: Request[Any, Any, Any]) -> None:
        handler = connection.route_handler
        access: Access = handler.opt.get("access", "client")
        if access == "open":
            return
        ring = self.ring(connection.app.state.gateway.rules)
        presented = credentials(connection.headers)
        local = Locality.of(connection)
        try:
            if access == "admin":
                _admit_admin(ring, presented, local)
                return
            client = _admit_client(ring, presented, local)
        except AuthError as exc:
            _log_refusal(connection, exc)
            raise
        connection.scope[CLIENT_SCOPE_KEY] = client.name  # type: ignore[literal-required]
        rpm = client.rpm or ring.client_rpm
        if rpm is not None and handler.opt.get("metered", False):
            try:
                who = "keyless loopback clients" if client.name == ANONYMOUS else "this API key"
                await self._limiters.client(client.name, rpm, who)
            except RateLimited:
                if self._on_rate_limited is not None:
                    self._on_rate_limited()
                raise


@dataclass(frozen=True)
class Locality:
    """Whether a request may be trusted as the machine's own: a loopback peer (or a unix socket), addressed
    by a loopback name. The name is what keeps a DNS-rebound web page out: its requests come from the
    browser, a loopback peer, but are addressed to the page's own name."""

    peer: bool
    host: str | None

    @classmethod
    def of(cls, connection: ASGIConnection[Any, Any, Any, Any]) -> Locality:
        return cls(is_local_peer(connection.scope.get("client")), connection.headers.get("host"))

    def admit(self, refusal: str) -> None:
        """Raise 403 unless the request is local: ``refusal`` for a remote peer, ``host_not_allowed`` for a
        loopback peer addressed to another name."""
        if not self.peer:
            raise AuthError(refusal, status=403)
        if self.host is not None and not loopback_host(self.host):
            raise AuthError(REBOUND.format(host=self.host), status=403, code="host_not_allowed")


REBOUND = (
    "tiergate serves loopback clients without a key only when they address it by a loopback name "
    "(localhost, 127.0.0.1, [::1]), not {host} (a web page on a name pointed at 127.0.0.1 would be one): "
    "address it as localhost, or configure keys"
)


def _admit_admin(ring: KeyRing, presented: list[str], local: Locality) -> None:
    if ring.admin is None:
        local.admit(f"/admin/* is served to loopback clients only while {ring.admin_env} is not set")
        return
    if not presented:
        raise AuthError(f"missing admin key: {KEY_HINT}")
    if not ring.is_admin(presented):
        raise AuthError("this key is not the admin key", status=403)


def _admit_client(ring: KeyRing, presented: list[str], local: Locality) -> Client:
    if ring.open:
        local.admit(
            "no client keys are configured, so tiergate serves loopback clients only "
            "(set server.auth.keys_env or server.auth.keys in routes.yaml)"
        )
        return Client(ANONYMOUS)
    if not presented:
        raise AuthError(f"missing API key: {KEY_HINT}")
    client = ring.client(presented)
    if client is None:
        raise AuthError("invalid API key")
    return client


def credentials(headers: Mapping[str, str]) -> list[str]:
    """The distinct keys a request presents, from ``Authorization: Bearer`` and ``x-api-key``."""
    found: list[str] = []
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found.append(token.strip())
    api_key = headers.get("x-api-key", "").strip()
    if api_key and api_key not in found:
        found.append(api_key)
    return found


def is_local_peer(client: Any) -> bool:
    """True for a loopback address, and for a peer with no network address at all (a unix socket).

    A name in place of an address is not local: behind a proxy, uvicorn puts the ``X-Forwarded-For``
    value there, whatever it says (``X-Forwarded-For: x`` from a page on the same host).
    """
    if not client:
        return True
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


#: Hex digits of a key's SHA-256 in the client name of a key from ``server.auth.keys_env``.
NAME_DIGITS = 8


def env_client_name(env: str, digest: bytes) -> str:
    """The client name of a key given in variable ``env``: ``TIERGATE_KEYS:1a2b3c4d``, the variable and the
    first 8 hex digits of the key's SHA-256 (``printf %s "$KEY" | sha256sum | cut -c1-8``). It stays the
    same wherever the key sits in the list, and shows nothing usable about the key."""
    return f"{env}:{digest.hex()[:NAME_DIGITS]}"


def _log_refusal(connection: ASGIConnection[Any, Any, Any, Any], exc: AuthError) -> None:
    peer = connection.scope.get("client")
    log.info(
        "refused %s %s: %s",
        connection.scope.get("method", "-"),
        connection.url.path,
        exc.message,
        extra={
            "tiergate": {
                "status": exc.status,
                "path": connection.url.path,
                "peer": str(peer[0]) if peer else None,
            }
        },
    )


def loopback_host(host: str) -> bool:
    """``Host: localhost``, ``127.0.0.1:8080``, ``[::1]``...: a name no DNS answer can point elsewhere."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
