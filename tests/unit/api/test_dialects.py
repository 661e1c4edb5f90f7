from __future__ import annotations

from tiergate.api.dialects import DIALECTS, dialect_for_path
from tiergate.api.errors import Refusal


def test_every_ingress_is_found_with_its_path_and_id_prefix() -> None:
    found = {name: (d.path, d.id_prefix, d.endpoint) for name, d in DIALECTS.items()}
    assert found == {
        "anthropic": ("/v1/messages", "msg_", "messages"),
        "completions": ("/v1/completions", "cmpl-", "completions"),
        "openai": ("/v1/chat/completions", "chatcmpl-", "chat"),
        "responses": ("/v1/responses", "resp_", "responses"),
    }


def test_a_path_answers_errors_in_its_dialects_shape() -> None:
    assert dialect_for_path("/v1/messages").name == "anthropic"
    assert dialect_for_path("/v1/messages/count_tokens").name == "anthropic"
    assert dialect_for_path("/v1/messagesx").name == "openai"
    assert dialect_for_path("/v1/responses").name == "responses"
    assert dialect_for_path("/health").name == "openai"
    refusal = Refusal(404, "no such endpoint")
    assert dialect_for_path("/v1/messages/x").error_body(refusal) == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no such endpoint"},
    }
    assert dialect_for_path("/v1/responses").error_body(refusal) == {
        "error": {"message": "no such endpoint", "type": "not_found_error", "param": None, "code": None}
    }
