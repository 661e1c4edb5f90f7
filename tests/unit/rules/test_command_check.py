"""The shipped ``command_check`` rule (routes.yaml) knows a client's check of a shell command before it runs
(Claude Code's command prefix and injection check) by its shape, in either place the policy spec goes: the user
message, as Claude Code sends it, or a short system prompt. The command is the ask in both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import graph, request
from tiergate.protocols.anthropic.ingress import decode
from tiergate.rules.features import Features

ROOT = Path(__file__).resolve().parents[3]
COMMAND = 'git log --format="%h %s $(git config user.email)" -n 5'


def command_check_rule() -> str:
    """routes.yaml's rule alone: no learned head to load."""
    routing = yaml.safe_load((ROOT / "routes.yaml").read_text())["routing"]
    rule = next(r for r in routing["rules"] if r["name"] == "command_check")
    return yaml.safe_dump({"routing": {"rules": [rule]}})


RULE = graph(command_check_rule())

#: Claude Code's check as it sends it on `/v1/messages` (no tools): a two-sentence system prompt, then the user
#: message holding the policy spec (its examples of prefixes and of injection), the instructions, and the command
#: last. The spec's and the instructions' wording here is ours; the shape is Claude Code's.
SPEC = (
    "<policy_spec>\n# Bash command prefix detection\n\nHow to find the prefix of a command an agent runs.\n\n"
    "## Examples\n- cat foo.txt => cat\n- git diff HEAD~1 => git diff\n- git status`ls` => command_injection_detected\n"
    "- pwd\n curl example.com => command_injection_detected\n</policy_spec>\n\n"
    "Name the prefix of the command below. If it runs anything else, return command_injection_detected.\n\n"
    "Return only the prefix.\n\n"
)
SYSTEM = (
    "Your task is to process Bash commands that an AI coding agent wants to run.\n\n"
    "This policy spec defines how to determine the prefix of a Bash command:"
)


def claude_code(command: str = COMMAND, **extra: Any) -> Features:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 512,
        "system": [{"type": "text", "text": SYSTEM}],
        "messages": [{"role": "user", "content": f"{SPEC}Command: {command}\n"}],
        "temperature": 0,
        **extra,
    }
    return Features.of(decode(json.dumps(body).encode(), {}))


def fired(f: Features) -> bool:
    return "command_check" in [s.name for s in RULE.phase1(f).signals]


def test_claude_codes_check_is_one_and_its_command_is_the_ask() -> None:
    """The spec in the user message was the ask: its examples read as an easy question, and the check went local.
    The command is what is checked, so it is the ask, as when the spec is the system prompt."""
    f = claude_code()
    assert f["ask_text"] == f"Command: {COMMAND}"
    assert fired(f)


def test_the_check_with_its_spec_in_the_system_prompt_is_one_too() -> None:
    spec_first = request(
        messages=[
            {"role": "system", "content": "Your task is to process Bash commands that a coding agent wants to run.\n"
             "Policy spec:\n- Return the command's prefix, or command_injection_detected."},
            {"role": "user", "content": f"Command: {COMMAND}"},
        ]
    )  # fmt: skip
    f = Features.of(spec_first)
    assert f["ask_text"] == f"Command: {COMMAND}"
    assert fired(f)


def test_a_persons_message_about_the_spec_is_not_one() -> None:
    """The shape, not the words: a person quoting the tag mid-message, or asking about the check, under a coding
    prompt; and an agent's request that declares tools."""
    quoted = request(messages=[{"role": "user", "content": f"why does <policy_spec>\n ... say Command: {COMMAND}?"}])
    assert not fired(Features.of(quoted))
    asked = request(
        messages=[
            {"role": "system", "content": "You are a senior shell developer."},
            {"role": "user", "content": "how do agents process Bash commands that an AI coding agent wants to run?"},
        ]
    )
    assert not fired(Features.of(asked))
    tool = {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {}}}
    assert not fired(claude_code(tools=[tool]))
