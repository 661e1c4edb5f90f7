"""What ``x-tiergate-dropped-params`` names follows what a backend's kind says it sends, not the kind's name:
a kind added beside ``openai`` that speaks its wire is not told to have dropped what it sent."""

from __future__ import annotations

import msgspec
import pytest

from tests.helpers import MINIMAL, request
from tiergate.api.serve import dropped_params
from tiergate.backends.base import BackendConfigBase
from tiergate.backends.openai import OpenAIBackendConfig
from tiergate.config.loader import load_text
from tiergate.engine.targets import Target, build_target
from tiergate.wire import ChatRequest


class ProxyConfig(OpenAIBackendConfig, tag="test-proxy", frozen=True):
    """An OpenAI-compatible server with a kind of its own (a proxy's settings beside the OpenAI ones)."""


class WireConfig(BackendConfigBase, tag="test-wire", frozen=True):
    """A kind of its own that sends the OpenAI chat body as the client wrote it."""

    keeps_strict = True
    unmodelled = "openai"


class BareConfig(BackendConfigBase, tag="test-bare", frozen=True):
    """A kind that says nothing of what it sends: the header names what it may not have been sent."""


STRICT = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}]


def strict_tool_and_min_p() -> ChatRequest:
    """A body with a strict tool and ``min_p``, as the chat ingress keeps it (``extra``: what it does not model)."""
    sent = request(messages=[{"role": "user", "content": "hi"}], tools=STRICT)
    return msgspec.structs.replace(sent, extra={"min_p": 0.05})


def target_on(backend: BackendConfigBase) -> Target:
    config = load_text(MINIMAL, "test.yaml", {}).config
    config = msgspec.structs.replace(config, backends={**config.backends, "other": backend})
    listed = msgspec.structs.replace(config.tiers["local"].targets[0], backend="other")
    return build_target("local", listed, config)


@pytest.mark.parametrize("kind", [ProxyConfig, WireConfig])
def test_a_kind_on_the_openai_wire_is_not_said_to_drop_strict(kind: type[BackendConfigBase]) -> None:
    assert dropped_params(strict_tool_and_min_p(), target_on(kind(base_url="http://127.0.0.1:1/v1"))) == []


def test_a_kind_that_says_nothing_is_said_to_drop_strict_and_the_unmodelled() -> None:
    target = target_on(BareConfig(base_url="http://127.0.0.1:1"))
    assert dropped_params(strict_tool_and_min_p(), target) == ["tools[].strict", "min_p"]
