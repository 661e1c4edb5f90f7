"""The one scrubber: every known secret out of any text, in the forms upstreams quote it."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import graph
from tiergate.redact import (
    REDACTED,
    Redactor,
    credential_values,
    redact_dsn,
    redact_url_error,
    secret_values,
    url_secret_values,
)

KEY = "sk-ant-SECRET-0a1b2c3d4e"


def test_every_form_of_a_secret_is_replaced() -> None:
    scrub = Redactor([KEY])
    assert scrub(f"invalid x-api-key {KEY}.") == "invalid x-api-key ***."
    assert scrub("key=sk-ant-SECRET-0a1b2c3d4e&x=1") == "key=***&x=1"
    assert scrub('{"key": "sk-ant-SECRET-0a1b2c3d4e"}') == '{"key": "***"}'
    quoted = Redactor(['k"ey\\value-123'])
    assert quoted('said "k\\"ey\\\\value-123"') == 'said "***"'
    assert Redactor(["p@ss/w0rd+"])("url?token=p%40ss%2Fw0rd%2B") == "url?token=***"


def test_the_longer_of_two_overlapping_secrets_is_removed_whole() -> None:
    scrub = Redactor(["abcdef", "abcdef-long-key"])
    assert scrub("got abcdef-long-key") == f"got {REDACTED}"


def test_short_values_are_not_secrets_and_no_secrets_changes_nothing() -> None:
    assert Redactor(["abc"])("abc abc") == "abc abc"
    assert not Redactor() and Redactor()("anything") == "anything"


def test_the_rules_name_the_secrets() -> None:
    g = graph(
        base="""
backends:
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1", api_key_env: CLAUDE_KEY}
tiers:
  sonnet: {targets: [{backend: anthropic, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
server:
  auth: {keys_env: [TEAM_KEYS], admin_key_env: BOSS_KEY}
"""
    )
    environ = {"CLAUDE_KEY": KEY, "TEAM_KEYS": "team-one-key, team-two-key", "BOSS_KEY": "boss-key-1", "OTHER": "x" * 9}
    assert secret_values(g.config, environ) == {
        KEY,
        "team-one-key, team-two-key",
        "team-one-key",
        "team-two-key",
        "boss-key-1",
    }
    scrub = Redactor.of(g.config, environ)
    assert scrub(f"{KEY} team-two-key boss-key-1 {'x' * 9}") == f"*** *** *** {'x' * 9}"


def test_the_values_of_a_backends_headers_are_secrets() -> None:
    g = graph(
        base="""
backends:
  anthropic:
    kind: anthropic
    base_url: "http://127.0.0.1:1"
    headers: {authorization: "Bearer proxy-token-123", x-org: org-secret-9, x-v: "1"}
tiers:
  sonnet: {targets: [{backend: anthropic, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
"""
    )
    assert secret_values(g.config, {}) == {"Bearer proxy-token-123", "proxy-token-123", "org-secret-9"}
    scrub = Redactor.of(g.config, {})
    assert scrub("bad token proxy-token-123 for org org-secret-9 (v 1)") == "bad token *** for org *** (v 1)"


def test_a_key_cut_short_where_an_excerpt_ends_is_removed_too() -> None:
    """An upstream's error body is quoted up to 200 characters: a key it echoed across the cut showed all
    but its last characters."""
    scrub = Redactor([KEY])
    assert scrub(f"<html>x-api-key: {KEY[:-3]}") == "<html>x-api-key: ***"
    assert scrub(f"x-api-key: {KEY[:12]}") == "x-api-key: ***"  # half a key, or more
    assert scrub(f"x-api-key: {KEY[:11]}") == f"x-api-key: {KEY[:11]}"  # less than half: no key in it
    assert scrub(f"keys {KEY}{KEY[:-1]}") == "keys ******"
    url_form = "p%40ss%2Fw0rd%2B-more-of-the-key"
    assert Redactor(["p@ss/w0rd+-more-of-the-key"])(f"token={url_form[:-4]}") == "token=***"


def test_a_key_whose_characters_an_upstreams_json_escaped_is_removed() -> None:
    """A body in no shape the backend reads is quoted as its raw bytes: a JSON encoder that escapes ``/``
    (PHP's, Java's) or writes ``-`` as ``\\u002d`` showed the key, whose forms were only the plain, URL-encoded
    and ``\\``/``"``-escaped ones. Text without a key keeps its escapes."""
    scrub = Redactor(["tok/FAKE-secret-0123456789abcdef"])
    assert scrub('{"message": "bad key tok\\/FAKE-secret-0123456789abcdef"}') == '{"message": "bad key ***"}'
    assert scrub("key tok\\/FAKE\\u002dsecret\\u002D0123456789abcdef, \\u0041") == "key ***, \\u0041"
    assert scrub('tok\\/FAKE\\u002dsecret\\u002d0123456789ab"') == '***"'  # cut short where the text ends
    assert scrub('no key: \\/ \\u002d \\"') == 'no key: \\/ \\u002d \\"'


def test_a_key_escaped_past_its_first_half_is_taken_whole_and_the_text_around_it_left_as_written() -> None:
    """A key whose first escape came after its first half lost only that half (the part before the ``\\`` read as
    a key cut short), and the text around a key found escaped came back with its own escapes read (a literal
    ``\\\\u0041`` as ``\\A``: no longer JSON)."""
    scrub = Redactor(["AbCdEfGhIjKlMnOpQr/StUvWxYz0123456", "tgk_0123456789abcdefghij-KLMNOPQRSTUVWXYZ"])
    assert scrub('{"error": "bad key AbCdEfGhIjKlMnOpQr\\/StUvWxYz0123456"}') == '{"error": "bad key ***"}'
    assert scrub("key tgk_0123456789abcdefghij\\u002dKLMNOPQRSTUVWXYZ.") == "key ***."
    body = '{"path": "C:\\\\u0041dir", "url": "http:\\/\\/x", "k": "AbCdEfGhIjKlMnOpQr\\/StUvWxYz0123456"}'
    assert scrub(body) == '{"path": "C:\\\\u0041dir", "url": "http:\\/\\/x", "k": "***"}'
    assert json.loads(scrub(body))["path"] == "C:\\u0041dir"


def test_a_secrets_beginning_that_goes_on_as_another_word_is_not_taken_for_it() -> None:
    """Every header value is a secret; one that is a site's address began the links in its errors."""
    referer = "https://openrouter.ai/tiergate"
    scrub = Redactor([referer, KEY])
    assert scrub("model not found; see https://openrouter.ai/docs") == "model not found; see https://openrouter.ai/docs"
    assert scrub(f"token {KEY[:20]}x3 and more") == f"token {KEY[:20]}x3 and more"  # another token, begun alike


def test_a_key_shortened_or_upper_cased_anywhere_in_a_text_is_removed() -> None:
    """An upstream echoing ``invalid x-api-key sk-ant-test-SECRETUP...`` (20 of 28 characters, then an
    ellipsis) or the key upper-cased showed it: a key cut short was taken only where the text ended. (This
    file's earlier test kept ``{KEY[:20]} and more``: a key's first 20 characters followed by a space.)"""
    key = "sk-ant-test-SECRETUPSTREAM42"
    scrub = Redactor([key])
    assert scrub(f"invalid x-api-key {key[:20]}... (check it)") == "invalid x-api-key ***... (check it)"
    assert scrub(f"invalid x-api-key {key[:14]}\u2026 and {key[:20]} and '{key[:16]}'") == (
        "invalid x-api-key ***\u2026 and *** and '***'"
    )
    assert scrub(f"key {key.upper()} and {key[:20].upper()}...") == "key *** and ***..."
    assert scrub(f"key {key[:13]}... and {key[:12]}...") == f"key {key[:13]}... and {key[:12]}..."  # under half
    short = Redactor(["sk-tg-0123456789ab"])  # 18 characters: a cut needs 12 of them, not just half
    assert short("key sk-tg-012345... and sk-tg-0123... or SK-TG-0123456789AB") == (
        "key ***... and sk-tg-0123... or ***"
    )


def test_a_credential_variable_is_a_secret_only_as_a_whole_part_of_a_base_urls_path() -> None:
    """A token a gateway takes in its path is a secret; a host, or a word some variable named like a credential
    happens to hold (Ollama's dummy ``OPENAI_API_KEY=ollama``), stays readable: every URL and message lost it."""
    g = graph(
        base="""
backends:
  ollama: {kind: ollama, base_url: "http://ollama:11434"}
  gw: {kind: openai, base_url: "http://127.0.0.1:9/t/tok-SECRET-9f8e7d6c5b/v1"}
tiers:
  local: {targets: [{backend: ollama, model: q}, {backend: gw, model: q}]}
routing: {mode: fixed, fixed_tier: local}
"""
    )
    environ = {"OPENAI_API_KEY": "ollama", "PASS_HOST": "127.0.0.1", "PROXY_TOKEN": "tok-SECRET-9f8e7d6c5b"}
    scrub = Redactor.of(g.config, environ)
    assert scrub("ollama at http://ollama:11434; gw at http://127.0.0.1:9/t/tok-SECRET-9f8e7d6c5b/v1") == (
        "ollama at http://ollama:11434; gw at http://127.0.0.1:9/t/***/v1"
    )


def test_a_key_used_as_a_base_urls_password_is_removed_in_its_basic_form_too() -> None:
    """A key in a base_url's password goes upstream as ``Basic base64(user:key)``, which an upstream quoting
    its Authorization header showed."""
    key = "sk-ant-test-SECRETUPSTREAM42"
    g = graph(
        base="""
backends:
  proxy: {kind: openai, base_url: "http://user:${PROXY_KEY}@127.0.0.1:1/v1"}
tiers:
  sonnet: {targets: [{backend: proxy, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
""",
        environ={"PROXY_KEY": key},
    )
    basic = base64.b64encode(f"user:{key}".encode()).decode()
    scrub = Redactor.of(g.config, {})
    assert scrub(f"auth Basic {basic} refused; auth {basic[:24]}...") == "auth Basic *** refused; auth ***..."


def test_a_backend_urls_password_query_values_and_basic_credentials_are_secrets() -> None:
    """An upstream quoting the URL it was asked for, or the Authorization header aiohttp made of the URL's
    user and password, showed them: only the keys and header values were scrubbed."""
    g = graph(
        base="""
backends:
  vllm: {kind: openai, base_url: "http://bob:pw%40secret-1@127.0.0.1:1/v1?token=tok%26secret-2&v=1"}
tiers:
  sonnet: {targets: [{backend: vllm, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
"""
    )
    basic = "Ym9iOnB3QHNlY3JldC0x"  # base64("bob:pw@secret-1"), as aiohttp sends it
    assert secret_values(g.config, {}) == {"pw%40secret-1", "pw@secret-1", "tok%26secret-2", "tok&secret-2", basic}
    scrub = Redactor.of(g.config, {})
    assert scrub(f"no route for /v1?token=tok%26secret-2 (Basic {basic}, pw@secret-1)") == (
        "no route for /v1?token=*** (Basic ***, ***)"
    )


def test_a_query_value_that_is_not_a_credential_stays_readable() -> None:
    """``api-version=2024-10-21`` is the word an upstream's refusal needs ("api-version 2024-10-21 does not
    support..."); scrubbing it turned "gpt-4o-2024-10-21" into "gpt-4o-***" too."""
    url = (
        "https://ai.example/openai/v1?api-version=2024-10-21&region=westeurope&sig=Zm9vYmFyYmF6cXV4&api_key=k3y-123456"
    )
    assert url_secret_values(url) == {"Zm9vYmFyYmF6cXV4", "k3y-123456"}


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("postgresql://tg:S3cretPgPw@db:5432/tg", "postgresql://***@db:5432/tg"),
        # schemes psycopg reads that are not taken for PostgreSQL (read as a file's name, shown as given)
        ("postgresql+psycopg://tg:S3cretPgPw@db:5432/tg", "postgresql+psycopg://***@db:5432/tg"),
        ("POSTGRESQL://tg:S3cretPgPw@db/tg", "POSTGRESQL://***@db/tg"),
        # a Redis URL without its scheme: it was shown whole
        ("default:S3cretRedisPw@redis:6379/0", "***@redis:6379/0"),
        # libpq's key=value form: it was shown whole
        ("host=db user=tg password=S3cretPgPw dbname=tg", "host=db user=tg password=*** dbname=tg"),
        ("host = db password = 'S3cret \\' PgPw' sslpassword=kEy-S3cret", "host = db password = *** sslpassword=***"),
        # what holds no credentials is shown as it is: a file's name, with an @ in it too
        ("tiergate-decisions.db", "tiergate-decisions.db"),
        ("/var/lib/ops@tg/decisions.db", "/var/lib/ops@tg/decisions.db"),
        # an @ in a query's value is no end of credentials: the password's end was shown as the host
        ("postgresql://db/tg?password=S3cr@tPassw0rd", "postgresql://db/tg?password=***"),
        ("postgresql://tg:S3cretPgPw@db/tg?user=app@tenant", "postgresql://***@db/tg?user=***"),
        # a password holding ? or / unencoded (libpq and redis-py read them so): hidden whole
        ("postgresql://tg:S3c?retPgPw@db:5432/tg", "postgresql://***@db:5432/tg"),
        # ... and one holding ? then name= before its @, which libpq takes whole: not a query
        ("postgresql://tg:MyS3cretPassw0rd?x=1@127.0.0.1:5432/tg", "postgresql://***@127.0.0.1:5432/tg"),
        ("redis://:S3cretRedis?x=1@redis:6379/0", "redis://***@redis:6379/0"),
        ("redis://:S3c/retRedisPw@redis:6379/0", "redis://***@redis:6379/0"),
    ],
)
def test_a_store_location_is_shown_without_its_password_in_any_form(written: str, shown: str) -> None:
    assert redact_dsn(written) == shown


def test_the_password_a_store_location_carries_is_a_secret() -> None:
    assert {"S3cretRedisPw"} <= credential_values("redis://:S3cretRedisPw@redis:6379/0")
    assert {"S3cretRedisPw"} <= credential_values("default:S3cretRedisPw@redis:6379/0")
    assert credential_values("host=db user=tg password='S3cret \\' PgPw' dbname=tg") == {
        "'S3cret \\' PgPw'",  # as written
        "S3cret ' PgPw",  # as libpq reads it
    }
    # words, a name, a path: no password
    assert credential_values("owner: ops@example.com") == credential_values("local_first") == set()
    assert credential_values("/var/lib/ops@tg/decisions.db") == set()


def test_the_redis_and_postgresql_passwords_of_the_rules_are_secrets() -> None:
    g = graph(
        base="""
backends:
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  sonnet: {targets: [{backend: anthropic, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
server: {decision_log: {url: "postgresql://tg:S3cretPgPw@db:5432/tg"}}
state: {redis_url: "redis://:S3cretRedisPw@redis:6379/0"}
"""
    )
    scrub = Redactor.of(g.config, {})
    assert scrub("auth failed for S3cretPgPw and S3cretRedisPw") == "auth failed for *** and ***"


def test_a_url_error_about_a_url_without_its_scheme_shows_no_piece_of_its_password() -> None:
    url = "default:S3cretRedisPw@redis:6379/0"
    shown = redact_url_error(url, f"cannot read {url}: 'S3cretRedisPw' is not a port")
    assert shown == "cannot read ***@redis:6379/0: '***' is not a port"


COMMON_PASSWORDS = """
backends:
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  sonnet: {targets: [{backend: anthropic, model: m}]}
routing: {band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}}
server: {decision_log: {url: "DECISION_LOG"}}
state: {redis_url: "redis://:password@redis:6379/0"}
"""
DEV_POSTGRES = "postgresql://postgres:postgres@db:5432/tiergate"


@pytest.mark.parametrize(
    ("decision_log", "message"),
    [
        (DEV_POSTGRES, "unknown backend 'postgres_box'"),
        (DEV_POSTGRES, "PostgreSQL error: is the postgres server running?"),
        (DEV_POSTGRES, "no file /var/lib/postgres/x.db"),
        (DEV_POSTGRES, "the password of the tier's key"),  # the Redis password
        ("postgresql://tg:tiergate@db:5432/tg", "model tiergate not found"),
    ],
)
def test_a_common_store_password_leaves_the_words_of_a_message(decision_log: str, message: str) -> None:
    """A dev setup's ``postgres:postgres`` (the password also its user, its scheme's word), a ``tiergate``
    password and a Redis password ``password`` blanked them: ``unknown backend '***_box'``, ``***QL error``,
    ``model *** not found``."""
    g = graph(base=COMMON_PASSWORDS.replace("DECISION_LOG", decision_log))
    assert Redactor.of(g.config, {})(message) == message


def test_a_store_password_that_is_a_word_or_part_of_its_location_is_no_secret() -> None:
    assert "postgres" not in credential_values("postgresql://postgres:postgres@db:5432/tiergate")
    assert "tiergate" not in credential_values("postgresql://tg:tiergate@db:5432/tg")
    assert "password" not in credential_values("redis://:password@redis:6379/0")
    assert credential_values("host=db user=tg-dev-1 password=tg-dev-1 dbname=tg") == set()  # the user's
    assert credential_values("postgresql://tg:tg-dev-01@db/tg-dev-01") & {"tg-dev-01"} == set()  # the database's
    assert {"S3cretPgPw", "Postgresqlish"} <= credential_values("postgresql://a:S3cretPgPw@db/tg") | credential_values(
        "postgresql://a:Postgresqlish@db/tg"
    )  # a digit, or 12 letters or more


def test_a_store_password_is_taken_only_as_a_whole_token() -> None:
    """A strong password is still taken out of any message, whole, cut short or upper-cased, but not out of a
    longer word that holds it."""
    g = graph(base=COMMON_PASSWORDS.replace(":password@", ":S3cretRedisPw@").replace("DECISION_LOG", DEV_POSTGRES))
    scrub = Redactor.of(g.config, {})
    assert scrub("NOAUTH S3cretRedisPw, 'S3CRETREDISPW' and S3cretRedisPw") == "NOAUTH ***, '***' and ***"
    assert scrub("auth S3cretRedisPw_old and xS3cretRedisPw kept") == "auth S3cretRedisPw_old and xS3cretRedisPw kept"
    assert Redactor(["S3cretRedisPw"])("auth S3cretRedisPw_old") == "auth ***_old"  # a key: anywhere, as before
