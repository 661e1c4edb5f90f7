"""An OpenAI-compatible backend's ``pass_params``, as the loader reads it: parameter names only, none that
tiergate reads itself; each refusal exactly as the user reads it (``file:line:col: message``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiergate.config.loader import load_file
from tiergate.config.problems import ConfigError
from tiergate.engine.targets import TargetChains

ROUTES = """\
version: 1
backends:
  vllm: {kind: openai, base_url: "http://127.0.0.1:8000/v1", pass_params: PARAMS}
  ollama: {kind: ollama, base_url: "http://127.0.0.1:11434"}
tiers:
  local: {targets: [{backend: vllm, model: m3, capabilities: {context_window: 32768}}]}
  sonnet: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
"""


def problems(tmp_path: Path, params: str) -> list[str]:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("PARAMS", params))
    try:
        load_file(path, {})
    except ConfigError as exc:
        return [p.render().removeprefix(f"{path}:") for p in exc.problems]
    return []


def test_names_are_taken_and_reach_the_backends_targets(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("PARAMS", "[ignore_eos, top_n_sigma]"))
    chains = TargetChains.compile(load_file(path, {}).config)
    assert chains.for_tier("local")[0].pass_params == {"ignore_eos", "top_n_sigma"}
    assert chains.for_tier("sonnet")[0].pass_params == frozenset()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            '[ignore_eos, "min_p: 0.1"]',
            "pass_params holds 'min_p: 0.1', which is not a parameter's name (letters, digits and _, as the chat "
            "body spells it: `ignore_eos`): write the name alone, its value comes from the client",
        ),
        (
            "[max_tokens]",
            "`max_tokens` in pass_params is a parameter tiergate reads itself and sends as each backend takes it, "
            "not one to pass on as sent: remove it",
        ),
        (
            "[metadata]",
            "`metadata` in pass_params is a parameter tiergate reads itself and sends as each backend takes it, "
            "not one to pass on as sent: remove it",
        ),
        ("[tiergate_extra]", "`tiergate_extra` in pass_params is tiergate's own, never sent upstream: remove it"),
    ],
)
def test_what_is_not_a_parameter_to_pass_is_refused_at_its_backend(tmp_path: Path, params: str, message: str) -> None:
    assert problems(tmp_path, params) == [f"3:9: {message} at $.backends.vllm"]
