"""Build a backend from its config: one factory per ``kind``.

backend = build_backend("ollama", config.backends["ollama"], os.environ)
"""

from __future__ import annotations

from collections.abc import Mapping

from tiergate.backends.base import Backend
from tiergate.config.model import AnthropicBackendConfig, BackendConfig, OllamaBackendConfig, OpenAIBackendConfig


def build_backend(name: str, cfg: BackendConfig, environ: Mapping[str, str]) -> Backend:
    if isinstance(cfg, OllamaBackendConfig):
        from tiergate.backends.ollama import OllamaBackend

        return OllamaBackend(name, cfg)
    if isinstance(cfg, AnthropicBackendConfig):
        from tiergate.backends.anthropic import AnthropicBackend

        return AnthropicBackend(name, cfg, environ)
    assert isinstance(cfg, OpenAIBackendConfig)
    from tiergate.backends.openai import OpenAIBackend

    return OpenAIBackend(name, cfg, environ)
