"""An Ollama backend's ``keep_alive``, as the loader reads it: seconds or a duration Ollama reads. Ollama
refuses any other value on every request (``time: missing unit in duration "10:00"``), a 400 with no
fallback, so the loader refuses it at its backend (``file:line:col: message``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tiergate.backends.ollama import OllamaBackendConfig
from tiergate.config.loader import load_file
from tiergate.config.problems import ConfigError
from tiergate.protocols import ollama_ps

ROUTES = """\
version: 1
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:11434", keep_alive: VALUE}
tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
routing: {mode: fixed, fixed_tier: local}
"""


def load(tmp_path: Path, value: str) -> OllamaBackendConfig:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("VALUE", value))
    backend = load_file(path, {}).config.backends["ollama"]
    assert isinstance(backend, OllamaBackendConfig)
    return backend


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        *[("300", 300), ("-1", -1), ('"300"', 300), ('"1.5"', 1.5), ('"1e3"', 1000), ('" 300"', 300), ('""', None)],
        *[("10m", "10m"), ("1h30m", "1h30m"), ('"-1s"', "-1s"), ("1.5h", "1.5h"), ("300ms", "300ms"), ("+5m", "+5m")],
    ],
)
def test_seconds_and_durations_are_taken_and_sent_as_ollama_reads_them(
    tmp_path: Path, written: str, sent: str | int | float
) -> None:
    assert ollama_ps.keep_alive(load(tmp_path, written).keep_alive) == sent


@pytest.mark.parametrize(
    "written", ["10:00", "abc", "'1 hour'", "10 m", "5min", '"5m "', '" 5m"', '"\u0663m"', '"nan"']
)
def test_what_ollama_cannot_read_is_refused_at_its_backend(tmp_path: Path, written: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, written)
    value = json.loads(written) if written.startswith('"') else written.strip("'")  # as YAML reads it
    assert [p.render().removeprefix(f"{tmp_path / 'routes.yaml'}:") for p in refused.value.problems] == [
        f"3:11: keep_alive {value!r} is no duration Ollama reads, and it would refuse every request: write seconds"
        " (300, -1 for ever) or a number with units (10m, 1h, 1h30m) at $.backends.ollama"
    ]


def test_an_unset_variable_with_an_empty_default_sends_ollamas_own_default(tmp_path: Path) -> None:
    """``keep_alive: ${OLLAMA_KEEP_ALIVE:-}`` with the variable unset: no keep_alive is sent (Ollama's 5m), and
    the empty value is no problem of its own beside the unset variable."""
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("VALUE", '"${OLLAMA_KEEP_ALIVE:-}"'))
    backend = load_file(path, {}).config.backends["ollama"]
    assert isinstance(backend, OllamaBackendConfig)
    assert ollama_ps.keep_alive(backend.keep_alive) is None
