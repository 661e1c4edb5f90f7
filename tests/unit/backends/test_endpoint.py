"""Where a backend sends a call: the endpoint's path under the base URL's path, the URL's query kept."""

from __future__ import annotations

import pytest

from tiergate.backends.base import endpoint


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/api/chat"),
        ("http://127.0.0.1:11434/", "http://127.0.0.1:11434/api/chat"),
        (
            "https://h.example/openai/v1/?api-version=2024-10-21",
            "https://h.example/openai/v1/api/chat?api-version=2024-10-21",
        ),
        # an encoded & or = stays one value; the credentials stay where aiohttp reads them
        ("http://u:p%40w@h:8/v1?token=a%26b%3D&x=1", "http://u:p%40w@h:8/v1/api/chat?token=a%26b%3D&x=1"),
        ("http://[::1]:8080/v1#part", "http://[::1]:8080/v1/api/chat"),  # a fragment is never sent
    ],
)
def test_the_path_goes_under_the_base_urls_path_and_its_query_is_kept(base_url: str, url: str) -> None:
    assert endpoint(base_url, "/api/chat") == url
