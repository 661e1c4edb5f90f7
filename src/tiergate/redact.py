"""Secrets out of everything a person can read: URLs, error messages, log lines, stored rows.

Two jobs, one module. ``redact_url`` takes credentials out of a URL wherever one is shown (/health,
/admin/config, start-up logs, error messages), and ``redact_dsn`` out of a database or Redis location as
written (a URL without its scheme, a libpq ``key=value`` string). ``Redactor`` takes the *values* of every
key the rules name (backend API keys, client keys, the admin key), of every header a backend sends and the
passwords of the URLs the rules hold out of any text; it is built once per rules load and applied where
upstream text enters tiergate (dispatch), so an upstream that echoes a key back ("invalid x-api-key
sk-...") cannot carry it into an error body, a log line or the decision log. The passwords of the Redis and
PostgreSQL locations are secrets only when they are no ordinary word (:func:`credential_values`), and are
taken only where they stand as a whole token: ``postgres`` as a password would blank "postgres_box".

    redact_url("https://user:pw@host/v1?key=abc")  ->  "https://***@host/v1?key=***"
    redact_dsn("host=db password=pw dbname=tg")     ->  "host=db password=*** dbname=tg"
    scrub = Redactor.of(config, os.environ)
    scrub("invalid x-api-key sk-ant-123456")        ->  "invalid x-api-key ***"
    Redactor(passwords=["S3cretRedisPw"])("S3cretRedisPw, xS3cretRedisPw")  ->  "***, xS3cretRedisPw"
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode

import yarl

if TYPE_CHECKING:
    from tiergate.config.model import RoutesConfig

REDACTED = "***"
#: Shorter values are not treated as secrets: replacing "ab" everywhere would garble every message.
MIN_SECRET_CHARS = 6


def redact_url(url: str) -> str:
    """``https://user:pw@host/p?key=v`` -> ``https://***@host/p?key=***``; other URLs unchanged.

    The credentials run to the *last* ``@``: libpq and redis-py take a password with ``#``, ``?`` or
    ``/`` in it unencoded (``postgresql://tg:pa#ss@db/x``), where a URL parser ends the host at the
    ``#`` and would show the password as the host. A URL with an ``@`` in its path loses that much of
    it from view, which is the safe way to be wrong; one in a query's value (``?password=S3cr@t``) is not
    the credentials' end, and the query's values are hidden by key. Never raises: a URL no parser reads is
    shown too.
    """
    head, credentials, rest = _split_credentials(url)
    query_at = rest.find("?")
    if not credentials and query_at < 0:
        return url
    shown = head + (REDACTED + "@" if credentials else "") + rest
    if query_at >= 0:  # a '#' after it is part of a value to libpq (``?password=ab#cd``), so it is hidden too
        base, _, query = rest.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED) for k, _ in pairs], safe="*") if pairs else query
        shown = head + (REDACTED + "@" if credentials else "") + base + "?" + query
    return shown


def redact_dsn(text: str) -> str:
    """A decision log's or Redis's location as written (a rule file's ``server.decision_log.url`` or
    ``state.redis_url``, ``tiergate stats --db``), shown without its credentials whatever its form: a URL
    (:func:`redact_url`, any scheme: ``postgresql+psycopg://``, ``POSTGRESQL://``), one without its scheme
    (``default:pw@redis:6379/0`` -> ``***@redis:6379/0``) or a libpq ``key=value`` string, whose credential
    values are hidden (``host=db password=pw`` -> ``host=db password=***``). Never raises.
    """
    if "://" in text:
        return redact_url(text)
    if _CONNINFO.match(text):
        return _CONNINFO_PAIR.sub(
            lambda m: m.group(1) + m.group(2) + REDACTED if _is_credential(m) else m.group(0), text
        )
    return redact_url("//" + text).removeprefix("//") if _schemeless(text) else text


#: A query whose first parameter's value holds an ``@`` (``?password=S3cr@t``, Azure's ``?user=app@server``): the
#: credentials end before it, and the query's values are hidden by key, when what stands before its ``?`` (past
#: any ``@``) is a host part and a path (:data:`_HOSTS_AND_PATH`), as libpq reads them. Otherwise the ``?`` is a
#: password's (``tg:S3cret?x=1@db``, which libpq takes whole): the credentials run to the last ``@``.
_QUERY_VALUE_AT = re.compile(r"\?[A-Za-z_][\w.-]*=[^@]*@")
#: Hosts (``db``, ``[::1]``), each with a port of digits, comma-separated, then a path: libpq's host part.
_HOSTS_AND_PATH = re.compile(
    r"(?:\[[^\]@/?]*\]|[^@/?:,\[]*)(?::\d*)?(?:,(?:\[[^\]@/?]*\]|[^@/?:,\[]*)(?::\d*)?)*(?:/[^@?]*)?"
)


def _split_credentials(url: str) -> tuple[str, str, str]:
    """``scheme://`` (or a leading ``//``: a host without a scheme), what stands before the last ``@`` of the
    rest (empty without one), the rest after it."""
    scheme, sep, rest = url.partition("://")
    if not sep and url.startswith("//"):
        scheme, sep, rest = "", "//", url[2:]
    if not sep:
        return "", "", url
    query = _QUERY_VALUE_AT.search(rest)
    if query is not None and _HOSTS_AND_PATH.fullmatch(rest[: query.start()].rpartition("@")[2]):
        # ``?password=S3cr@t``: an @ in the value of a query that follows a host part and a path
        credentials, at, after = rest[: query.start()].rpartition("@")
        return scheme + sep, credentials if at else "", (after if at else rest[: query.start()]) + rest[query.start() :]
    credentials, at, after = rest.rpartition("@")
    return scheme + sep, credentials if at else "", after if at else rest


def redact_url_error(url: str, text: str) -> str:
    """A URL reader's complaint about ``url`` (libpq's, psycopg's, redis-py's) with no part of its
    credentials or query values in it.

    Such messages quote the part they could not read, which is often the password itself
    (``invalid percent-encoded token: "Xy%zzS3cret"``, ``unexpected spaces found in "my pass"``, ``Port
    could not be cast to integer value as 'pa'``) or the whole URL. So the URL is replaced by what
    :func:`redact_url` shows, the credentials and the longer of their parts and query values are taken out
    wherever they appear (a password may hold a quote mark), and then each quoted part of the message that
    comes from the URL is kept only when :func:`redact_url` shows it too and it is no piece of a secret.

        redact_url_error("postgresql://u:p%zz@h/d", 'invalid percent-encoded token: "p%zz"')
        -> 'invalid percent-encoded token: "***"'
    """
    shown = redact_dsn(url)
    _, credentials, rest = _split_credentials(url if "://" in url else "//" + url)
    query = rest.partition("?")[2]
    # the password and query values wherever they appear; the user name only where quoted (below): a common
    # one ("postgres") would take words of the message with it
    password = credentials.partition(":")[2]
    parts = {password, *(v for _, v in parse_qsl(query, keep_blank_values=True)), *_conninfo_secrets(url)}
    secrets = {s for s in {credentials, *parts, *map(unquote, parts)} if s}
    text = text.replace(url, shown) if url else text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret == credentials or len(secret) >= _WHOLE_SECRET_CHARS:  # a short one would garble the text
            text = text.replace(secret, REDACTED)

    def quoted(m: re.Match[str]) -> str:
        part = m.group(0)[1:-1]
        private = part in url and (part not in shown or any(part in s for s in secrets))
        return m.group(0)[0] + REDACTED + m.group(0)[-1] if private and part else m.group(0)

    return _QUOTED.sub(quoted, text)


#: A part of a URL's credentials this long is taken out of a message wherever it appears, quoted or not.
_WHOLE_SECRET_CHARS = 4
#: A quoted part of a message: libpq and psycopg quote with "...", Python's repr with '...'.
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")


def secret_values(config: RoutesConfig, environ: Mapping[str, str]) -> set[str]:
    """The values of every key variable the rules name (backend keys, client keys, the admin key), of
    every header a backend sends and what a backend's ``base_url`` holds (:func:`url_secret_values`);
    the passwords of ``state.redis_url`` and ``server.decision_log.url`` are :func:`password_values`.

    A variable may hold several comma-separated keys; each is a secret, and so is the whole value. A
    header's value is a secret whole, and so is its last word: the token of ``Bearer <token>``, which an
    upstream may quote alone. ``/admin/config`` hides header values for the same reason.
    """
    names = {getattr(b, "api_key_env", None) for b in config.backends.values()}
    auth = config.server.auth
    names |= {*auth.keys_env, auth.admin_key_env}
    headers = [raw for backend in config.backends.values() for raw in backend.headers.values()]
    urls = {value for backend in config.backends.values() for value in url_secret_values(backend.base_url)}
    return _values(names, headers, environ) | urls | _referenced_in_urls(config, environ)


def _referenced_in_urls(config: RoutesConfig, environ: Mapping[str, str]) -> set[str]:
    """The values of variables named as credentials (``PROXY_TOKEN``, ``GATEWAY_KEY``: :data:`_CREDENTIAL_NAME`)
    that are a whole part of a backend's ``base_url`` path: a gateway that takes its token in the path
    (``http://proxy/${PROXY_TOKEN}/v1``) is sent it in every request's URL, and /health shows the URL. Only a part
    of the path, and one of at least :data:`MIN_CUT_CHARS`: a host (``ollama``, ``127.0.0.1``) or a word that
    some variable happens to hold (a dummy ``OPENAI_API_KEY=ollama``) stays readable."""
    parts = {
        part
        for backend in config.backends.values()
        for part in _split_credentials(backend.base_url)[2].partition("?")[0].split("/")[1:]
    }
    return {
        value
        for name, value in environ.items()
        if len(value) >= MIN_CUT_CHARS and value in parts and _CREDENTIAL_NAME.search(name)
    }


def password_values(config: RoutesConfig) -> set[str]:
    """The passwords of ``state.redis_url`` and ``server.decision_log.url`` (:func:`credential_values`),
    which the Redactor takes only where they stand as a whole token."""
    return credential_values(config.state.redis_url or "") | credential_values(config.server.decision_log.url or "")


#: A query parameter whose value is a credential (``token``, ``api_key``, ``sig`` of a SAS URL...); others
#: (``api-version=2024-10-21``, ``region=westeurope``) are words an upstream's errors need, left readable.
_CREDENTIAL_NAME = re.compile(r"(?i)token|key|secret|sig|pass|pwd|auth|credential|session|code")


def url_secret_values(url: str) -> set[str]:
    """What a backend URL sends that an upstream may quote back: the password, each query value whose name
    says it is a credential, and the
    HTTP Basic credentials made of the user and password (``base64(user:password)``, as aiohttp sends them).

    :func:`redact_url` hides these where tiergate shows the URL; an upstream that quotes the URL it was
    asked for (``no route for POST /v1/chat/completions?token=...``) or the Authorization header it got
    quotes them in its error, which reaches the client's error body and the log. The user name alone is
    not a secret here: a common one (``admin``) would take words of every message with it.

        url_secret_values("http://bob:pw-123456@h/v1?token=tok-abcdef")
        # {"pw-123456", "tok-abcdef", "Ym9iOnB3LTEyMzQ1Ng=="}
    """
    _, credentials, rest = _split_credentials(url)
    raw_password = credentials.partition(":")[2]
    query = rest.partition("?")[2].partition("#")[0]
    pairs = [pair.partition("=") for pair in query.split("&")]
    raw_values = [value for name, _, value in pairs if _CREDENTIAL_NAME.search(unquote(name))]
    parsed_values = [value for name, value in parse_qsl(query) if _CREDENTIAL_NAME.search(name)]
    values = {raw_password, unquote(raw_password), *raw_values, *parsed_values}
    if credentials:
        try:
            parsed = yarl.URL(url)
            basic = f"{parsed.user or ''}:{parsed.password or ''}".encode("latin-1")
        except (ValueError, TypeError, UnicodeError):  # aiohttp cannot send it either
            pass
        else:
            values.add(base64.b64encode(basic).decode("ascii"))
    return {value for value in values if len(value) >= MIN_SECRET_CHARS}


def written_secret_values(data: object, environ: Mapping[str, str]) -> set[str]:
    """:func:`secret_values` for a rule file's tree as written (``${VAR}`` expanded), which may not load.

    A problem in such a file may quote any value of it, a key that landed in a typed field included
    (``mode: ${ANTHROPIC_API_KEY}``), so its messages are scrubbed with these before anyone reads them.
    The names are read where they are written, and the defaults (``ANTHROPIC_API_KEY`` for an anthropic
    backend, ``TIERGATE_ADMIN_KEY``) apply where they are not; a "name" that is not a variable's name is
    a key written in its place, and is a secret itself.
    """
    root = data if isinstance(data, dict) else {}
    backends = root.get("backends")
    names: set[object] = set()
    headers: list[str] = []
    urls: set[str] = set()
    for backend in backends.values() if isinstance(backends, dict) else ():
        if not isinstance(backend, dict):
            continue
        default = DEFAULT_ANTHROPIC_KEY_ENV if backend.get("kind") == "anthropic" else None
        names.add(backend.get("api_key_env", default))
        base_url = backend.get("base_url")
        urls |= url_secret_values(base_url) if isinstance(base_url, str) else set()
        written = backend.get("headers")
        headers += [v for v in written.values() if isinstance(v, str)] if isinstance(written, dict) else []
    server = root.get("server")
    auth = server.get("auth") if isinstance(server, dict) else None
    auth = auth if isinstance(auth, dict) else {}
    keys_env = auth.get("keys_env")
    names |= set(keys_env) if isinstance(keys_env, list) else {keys_env}
    names.add(auth.get("admin_key_env", DEFAULT_ADMIN_KEY_ENV))
    strings = {name for name in names if isinstance(name, str)}
    variables = {name for name in strings if ENV_NAME.fullmatch(name)}
    not_names = {name for name in strings - variables if len(name) >= MIN_SECRET_CHARS}
    return _values(variables, headers, environ) | not_names | urls


def written_password_values(data: object, expanded: Iterable[str] = ()) -> set[str]:
    """:func:`password_values` for a rule file's tree as written, and the passwords of what its ``${VAR}``
    references ``expanded`` to: a variable no field names as a key may still hold a password, in a URL or a
    ``key=value`` string (``mode: ${TIERGATE_REDIS_URL}``), and that password is a secret wherever the
    variable is expanded."""
    root = data if isinstance(data, dict) else {}
    server = root.get("server")
    log = server.get("decision_log") if isinstance(server, dict) else None
    state = root.get("state")
    stores = [
        log.get("url") if isinstance(log, dict) else None,
        state.get("redis_url") if isinstance(state, dict) else None,
    ]
    return {value for text in [*stores, *expanded] if isinstance(text, str) for value in credential_values(text)}


def credential_values(text: str) -> set[str]:
    """The secrets a database's or server's location carries, for the Redactor: what :func:`url_secret_values`
    finds in a URL (its password, credential query values) or in one written without its scheme
    (``default:pw@redis:6379/0``), or the credential values of a libpq ``key=value`` string
    (``host=db password=secret-pw`` -> ``{"secret-pw"}``). Text that is none of these has none.

    A password that is an ordinary word is none: one of letters alone shorter than ``WORD_CHARS``
    (``postgres``, ``password``, ``tiergate``), or one that is part of what the location shows besides
    its credentials or of its user (``postgresql://tg-dev-1:tg-dev-1@db/tg-dev-1``). Dev setups use such
    passwords, and messages name the word for its own sake ("unknown backend 'postgres_box'", "model
    tiergate not found"); :func:`redact_dsn` still hides it wherever the location itself is shown.

        credential_values("redis://:S3cretRedisPw@redis:6379/0")   # {"S3cretRedisPw", ...}
        credential_values("postgresql://postgres:postgres@db/tg")   # only base64("postgres:postgres")
    """
    if _CONNINFO.match(text) and "://" not in text:
        values, user = {value for value in _conninfo_secrets(text) if len(value) >= MIN_SECRET_CHARS}, ""
    elif "://" in text or (_schemeless(text) and not any(c.isspace() for c in text)):  # not words with an @
        url = text if "://" in text else "//" + text
        values, user = url_secret_values(url), _split_credentials(url)[1].partition(":")[0]
    else:
        return set()
    around = _lower(f"{redact_dsn(text)} {user}")  # the user name shows in a key=value string's location
    return {value for value in values if not _WORD.fullmatch(value) and _lower(value) not in around}


#: A password of letters alone shorter than this is a word, not a secret (see credential_values).
WORD_CHARS = 12
_WORD = re.compile(rf"[A-Za-z]{{1,{WORD_CHARS - 1}}}")


def _schemeless(text: str) -> bool:
    """Whether ``text`` may be a URL written without its scheme, credentials and all (``user:pw@host``): it
    holds an ``@`` and is no file's path (``/var/lib/a@b/decisions.db`` keeps its name)."""
    return "@" in text and not text.startswith(("/", ".", "~"))


#: A libpq ``key=value`` connection string begins with a keyword and ``=``.
_CONNINFO = re.compile(r"\s*\w+\s*=")
#: One of its pairs: the keyword, the ``=`` with the spaces around it, and the value (quoted, or up to a space).
_CONNINFO_PAIR = re.compile(r"(?<!\S)(\w+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:\\.|[^\s\\])*)")


def _is_credential(pair: re.Match[str]) -> bool:
    return _CREDENTIAL_NAME.search(pair.group(1)) is not None


def _conninfo_secrets(text: str) -> set[str]:
    """The credential values of a libpq ``key=value`` string, as written and as libpq reads them (unquoted,
    unescaped); none for any other text."""
    if "://" in text or not _CONNINFO.match(text):
        return set()
    values: set[str] = set()
    for pair in _CONNINFO_PAIR.finditer(text):
        if _is_credential(pair) and (raw := pair.group(3)):
            read = raw[1:-1] if len(raw) > 1 and raw[0] == raw[-1] == "'" else raw
            values |= {raw, re.sub(r"\\(.)", r"\1", read)}
    return values


#: What a ``*_env`` field holds: an environment variable's name (the key is in the variable, never here).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The defaults of ``backends.*.api_key_env`` (anthropic) and ``server.auth.admin_key_env``, which the
#: config models take from here.
DEFAULT_ANTHROPIC_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_ADMIN_KEY_ENV = "TIERGATE_ADMIN_KEY"


def _values(names: Iterable[str | None], headers: Iterable[str], environ: Mapping[str, str]) -> set[str]:
    values: set[str] = set()
    for name in names:
        raw = environ.get(name, "") if name else ""
        values |= {part.strip() for part in [raw, *raw.split(",")] if len(part.strip()) >= MIN_SECRET_CHARS}
    for raw in headers:
        words = raw.split()
        values |= {part for part in [raw.strip(), *words[-1:]] if len(part) >= MIN_SECRET_CHARS}
    return values


class Redactor:
    """Replaces every known secret in a text with ``***``: the one scrubber every error path uses.

    A secret is found in any letter case (an upstream may quote a key upper-cased), URL-encoded and
    JSON-escaped, the ways upstreams most often quote it, and cut short:

    - where the text ends, a run of at least half a secret's characters (and at least ``MIN_SECRET_CHARS``)
      from its start: an upstream's error body is quoted up to a length, and a key it echoed may straddle
      the cut;
    - anywhere else, a run of at least half its characters and at least ``MIN_CUT_CHARS`` from its start
      that ends where a key could not go on (before ``...``, a space, a quote or other punctuation):
      upstreams shorten the key they echo (``invalid x-api-key sk-ant-api03-AbCd...``). A run followed by a
      letter, a digit, ``-`` or ``_`` is another word that begins alike (a header value such as a site's
      address begins other links), and is left alone.

    Either way the part shown never holds most of a secret. Where several secrets start at a place, the
    longest run is removed. One compiled pattern of the secrets' first halves finds every place a secret
    may start, so a text without one costs a single scan.

    ``passwords`` (those of the Redis and PostgreSQL locations, :func:`password_values`) are taken the same
    ways, but only where they stand as a whole token, not inside a longer word (``S3cretPw`` is no part of
    ``xS3cretPw_2``): a person's password may be a word, or begin one, that messages hold for its own sake.
    """

    __slots__ = ("_forms", "_pattern")

    def __init__(self, secrets: Iterable[str] = (), passwords: Iterable[str] = ()) -> None:
        keys = {_lower(form) for s in secrets if len(s) >= MIN_SECRET_CHARS for form in _forms(s)}
        tokens = {_lower(form) for s in passwords if len(s) >= MIN_SECRET_CHARS for form in _forms(s)} - keys
        #: form -> (its first half, which the pattern finds; the shortest run taken for it inside a text;
        #: whether it is taken only as a whole token)
        self._forms = {
            form: (
                form[: max(MIN_SECRET_CHARS, len(form) // 2)],
                max(MIN_CUT_CHARS, (len(form) + 1) // 2),
                form in tokens,
            )
            for form in keys | tokens
        }
        ordered = sorted({head for head, _, _ in self._forms.values()}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def of(cls, config: RoutesConfig, environ: Mapping[str, str]) -> Redactor:
        return cls(secret_values(config, environ), password_values(config))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        spans = self._spans(text)
        if "\\" in text:
            # an upstream's JSON quoted as raw bytes (a body in no shape tiergate reads) may escape a key's
            # characters: ``tok\/abc``, ``sk\u002dant``; read as JSON, the key shows, and is taken where it was
            # written, the rest of the text as it came
            plain, starts = _unescaped(text)
            if plain != text:
                spans += [(starts[a], starts[b]) for a, b in self._spans(plain)]
        if not spans:
            return text
        parts: list[str] = []
        done = 0
        for a, b in _merged(spans):
            parts += [text[done:a], REDACTED]
            done = b
        parts.append(text[done:])
        return "".join(parts)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets stand in ``text``: (start, end) of each, in order, none overlapping."""
        assert self._pattern is not None
        low = _lower(text)  # the same length as text: an index in one is the same place in the other
        spans: list[tuple[int, int]] = []
        at = 0
        while (m := self._pattern.search(low, at)) is not None:
            start = m.start()
            at = start + 1
            ends = [
                end
                for form, (head, cut, token) in self._forms.items()
                if low.startswith(head, start) and (end := _taken(low, start, form, cut, token))
            ]
            if ends:
                at = max(ends)
                spans.append((start, at))
        return spans

    def __bool__(self) -> bool:
        return self._pattern is not None


#: A JSON escape: of a backslash (kept as written: a secret's :func:`_forms` hold ``\\\\``), of ``/``, or of a printable
#: ASCII character other than ``"`` (whose escaped form ``\\"`` is a form too) and ``\\`` as ``\\u00XX``.
_JSON_ESCAPE = re.compile(r"\\(?:\\|/|u00(2[013-9a-fA-F]|[3-4][0-9a-fA-F]|5[0-9abd-fABD-F]|6[0-9a-fA-F]|7[0-9a-eA-E]))")


def _unescaped(text: str) -> tuple[str, list[int]]:
    """``text`` with its JSON escapes of ``/`` and of printable characters read, and where each of its characters
    begins in ``text``, and then where ``text`` ends: a span of the first is ``(starts[a], starts[b])`` in ``text``."""
    parts: list[str] = []
    starts: list[int] = []
    at = 0
    for m in _JSON_ESCAPE.finditer(text):
        parts.append(text[at : m.start()])
        starts.extend(range(at, m.start()))
        written = m.group(0)
        if written == "\\\\":
            parts.append(written)
            starts.extend((m.start(), m.start() + 1))
        else:
            parts.append("/" if m.group(1) is None else chr(int(m.group(1), 16)))
            starts.append(m.start())
        at = m.end()
    parts.append(text[at:])
    starts.extend(range(at, len(text) + 1))
    return "".join(parts), starts


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order, those that overlap joined (touching ones stay apart: two keys side by side)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


#: The shortest run of a secret's first characters taken for it inside a text (see Redactor): no word of a
#: message is this long and begins like a key.
MIN_CUT_CHARS = 12
#: What may go on a key after a place it was cut: a run followed by one of these is a different word.
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lower(text: str) -> str:
    """ASCII letters in lower case, nothing else changed: ``str.lower`` may lengthen other letters (İ)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _taken(text: str, start: int, form: str, cut: int, token: bool) -> int:
    """Where the run of ``form`` at ``start`` ends if it is taken for it (the whole of it, one cut short by the
    text's end, or one of at least ``cut`` characters that ends where a key could not go on); 0 if not. A
    ``token`` is not taken where the run goes on a word on either side (``postgres_box``, ``xpostgres``)."""
    n = _shared(text, start, form)
    end = start + n
    if token and (_joins(text, start - 1, start) or (end < len(text) and _joins(text, end - 1, end))):
        return 0
    taken = n == len(form) or end == len(text) or (n >= cut and text[end] not in _KEY_CHARS)
    return end if taken else 0


def _joins(text: str, before: int, after: int) -> bool:
    """Whether the characters at ``before`` and ``after`` are of one word (both may go on a key)."""
    return before >= 0 and text[before] in _KEY_CHARS and text[after] in _KEY_CHARS


def _shared(text: str, start: int, form: str) -> int:
    """How many characters of ``form`` ``text`` holds from ``start`` on."""
    n = 0
    for a, b in zip(text[start : start + len(form)], form, strict=False):
        if a != b:
            break
        n += 1
    return n


def _forms(secret: str) -> set[str]:
    escaped = secret.replace("\\", "\\\\").replace('"', '\\"')
    return {secret, quote(secret, safe=""), escaped}
