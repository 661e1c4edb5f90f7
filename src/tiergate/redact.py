"""Secrets out of URLs, wherever a URL is shown: /health, /admin/config, start-up logs, error messages.

redact_url("https://user:pw@host/v1?key=abc")  ->  "https://***@host/v1?key=***"
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"


def redact_url(url: str) -> str:
    """``https://user:pw@host/p?key=v`` -> ``https://***@host/p?key=***``; other URLs unchanged."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        query = urlencode([(k, REDACTED) for k, _ in parse_qsl(query, keep_blank_values=True)], safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
