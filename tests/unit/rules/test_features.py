from __future__ import annotations

import json

import pytest

from tests.helpers import request
from tiergate.api.dialects import DIALECTS
from tiergate.rules.features import FEATURES, Features, is_known


def features(**body: object) -> Features:
    return Features.of(request(**body), {"X-Team": "payments"})


def test_counts_and_text_features() -> None:
    f = features(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look at src/app.py and @lib/util.ts"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
        ]
    )
    assert f["message_count"] == 4
    assert f["user_turns"] == 2
    assert f["assistant_turns"] == 1
    assert f["system_chars"] == len("be brief")
    assert f["last_user_text"] == "look at src/app.py and @lib/util.ts"
    assert f["last_user_chars"] == len("look at src/app.py and @lib/util.ts")
    assert f["total_chars"] == len("be brief") + len("first") + len("ok") + f["last_user_chars"]
    assert f["file_references"] == 2
    assert f["images_present"] is True
    assert f["image_count"] == 1
    assert f["approx_tokens"] == f["total_chars"] // 4 + 1600  # the image


def test_pdf_documents_are_counted_and_read_as_no_text() -> None:
    pdf = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}}
    f = features(
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "summarise"}, pdf]},
            {"role": "tool", "tool_call_id": "c1", "content": [pdf]},
        ]
    )
    assert (f["documents_present"], f["document_count"]) == (True, 2)
    assert (f["images_present"], f["total_chars"]) == (False, len("summarise"))
    assert features(messages=[{"role": "user", "content": "hi"}])["documents_present"] is False


def test_tools_and_tool_results() -> None:
    f = features(
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        tools=[{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}],
    )
    assert f["tools_present"] is True
    assert f["tool_count"] == 1
    assert f["tool_results_present"] is True
    assert f["approx_tokens"] > f["total_chars"] // 4


def test_earlier_tool_calls_count_toward_approx_tokens_but_not_total_chars() -> None:
    """A file an agent wrote whole is input its next request sends again."""
    arguments = '{"path": "a.py", "content": "' + "x" * 4000 + '"}'
    f = features(
        messages=[
            {"role": "user", "content": "write a.py"},
            {
                "role": "assistant",
                "content": "writing",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "write", "arguments": arguments}}],
            },
        ]
    )
    assert f["total_chars"] == len("write a.py") + len("writing")
    assert f["approx_tokens"] == (f["total_chars"] + len("write") + len(arguments)) // 4
    assert f.request.estimated_tokens() == (f["total_chars"] + len("write") + len(arguments) + 3) // 4


def test_families_and_defaults() -> None:
    f = features(messages=[{"role": "user", "content": "x"}], metadata={"project": "apollo"})
    assert f["header.x-team"] == "payments"
    assert f["header.absent"] == ""
    assert f["metadata.project"] == "apollo"
    assert f["requested_model"] == "auto"
    assert f["max_tokens"] == 0
    assert f["code_blocks"] == 0
    assert f["fill_in_the_middle"] is False


def test_fill_in_the_middle_is_a_completion_with_a_suffix() -> None:
    f = features(messages=[{"role": "user", "content": "def add(a, b):\n    "}], suffix="\n\nprint(add(1, 2))")
    assert f["fill_in_the_middle"] is True
    assert features(messages=[{"role": "user", "content": "x"}], suffix="")["fill_in_the_middle"] is True


def completion(prompt: str) -> Features:
    """A legacy completion through the completions dialect, as Continue's autocomplete sends one."""
    body = json.dumps({"model": "auto", "prompt": prompt, "max_tokens": 64, "stream": True}).encode()
    return Features.of(DIALECTS["completions"].decode(body, {}))


PREFIX, SUFFIX = "def handler(req):\n    return process(req)\n" * 3, "\n    return x\n"


@pytest.mark.parametrize(
    "prompt",
    [
        f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>",  # CodeLlama
        f"<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>",  # Qwen, CodeGemma
        f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>",  # StarCoder
        f"<|repo_name|>app\n<|file_sep|>a.py\nx = 1\n<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>",
        # DeepSeek: fim▁begin, fim▁hole, fim▁end between full-width bars
        f"<\uff5cfim\u2581begin\uff5c>{PREFIX}<\uff5cfim\u2581hole\uff5c>{SUFFIX}<\uff5cfim\u2581end\uff5c>",
        f"[SUFFIX]{SUFFIX}[PREFIX]{PREFIX}",  # Codestral
    ],
)
def test_fill_in_the_middle_is_also_a_prompt_in_a_fim_template(prompt: str) -> None:
    """Continue's autocomplete with a model that has no `suffix` field writes the template into the prompt."""
    assert completion(prompt)["fill_in_the_middle"] is True


def test_a_completion_that_only_mentions_fim_tokens_is_not_fill_in_the_middle() -> None:
    assert (
        completion(f"Explain what <PRE> and <MID> mean in CodeLlama's prompt:\n{PREFIX}")["fill_in_the_middle"] is False
    )
    chat = features(messages=[{"role": "user", "content": f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>"}])
    assert chat["fill_in_the_middle"] is False  # a chat message is answered, not continued


HUNK = "--- a/src/app.py\n+++ b/src/app.py\n@@ -3,2 +3,2 @@\n-x = 1\n+x = 2\n"


@pytest.mark.parametrize(
    "text",
    [
        "# Diffs:\ndiff --git a/src/app.py b/src/app.py\n" + HUNK,  # aider
        "diff --git a/src/app.py b/src/app.py\nnew file mode 100644\n--- /dev/null\n+++ b/src/app.py\n",
        "# CODE CHANGES:\n```diff\n" + HUNK + "```",  # Copilot Chat, fenced
        "--- src/app.py\n+++ src/app.py\n@@ -3 +3 @@\n-x = 1\n+x = 2\n",  # git diff --no-prefix
        "Staged:\r\n" + HUNK.replace("\n", "\r\n"),
        "context " * 5000 + "\n" + HUNK + "notes " * 5000,  # past the scan window's halves
    ],
    ids=["aider", "new file", "fenced", "no prefix", "crlf", "mid-message"],
)
def test_last_user_diff_is_a_unified_diffs_header_or_hunk(text: str) -> None:
    assert features(messages=[{"role": "user", "content": text}])["last_user_diff"] is True


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "how do I read `diff --git a/x b/x` output? and what is @@ -3,2 +3,2 @@?"}],
        [{"role": "user", "content": "Notes\n---\nabove the rule\n@@ -x\n@@ -3,2 +3,2"}],
        [{"role": "user", "content": HUNK}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "why"}],
        [{"role": "system", "content": HUNK}],
    ],
    ids=["named in prose", "not a header", "an earlier message", "no user message"],
)
def test_last_user_diff_is_not_a_diff_named_or_sent_earlier(messages: list[dict[str, str]]) -> None:
    assert features(messages=messages)["last_user_diff"] is False


def test_control_characters_are_removed_from_routing_text_only() -> None:
    req = request(messages=[{"role": "user", "content": "sec\x00urity\x1b audit\tnow\n"}])
    f = Features.of(req)
    assert f["last_user_text"] == "security audit\tnow\n"
    assert req.messages[0].content == "sec\x00urity\x1b audit\tnow\n"


def test_features_are_computed_once() -> None:
    f = features(messages=[{"role": "user", "content": "x"}])
    assert f["total_chars"] == 1
    f.request.messages[0].content = "changed"
    assert f["total_chars"] == 1


def test_known_names() -> None:
    assert is_known("total_chars")
    assert is_known("header.x-anything")
    assert not is_known("header.")
    assert not is_known("total_char")
    with pytest.raises(KeyError):
        features(messages=[{"role": "user", "content": "x"}])["nope"]
    assert all(spec.doc for spec in FEATURES.values())


def readme_feature_table() -> dict[str, str]:
    """README's "Request features" table: each feature its first column names (``a`` / ``b`` in one row), with
    the kind its second column gives it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("### Request features\n", 1)[1]
    rows = [line for line in section.split("\n\n", 2)[1].splitlines() if line.startswith("| `")]
    table: dict[str, str] = {}
    for row in rows:
        names, kinds = (cell.strip() for cell in row.split(" | ")[:2])
        named = [name.strip().strip("`") for name in names.removeprefix("| ").split(" / ")]
        kind = kinds.split(" / ")
        table.update(zip(named, kind if len(kind) == len(named) else kind * len(named), strict=True))
    return table


def test_the_readme_feature_table_lists_every_feature_with_its_kind() -> None:
    """The table was kept by hand: ``ask_prose`` was registered and named nowhere a person reads."""
    from tiergate.rules.features import FAMILIES

    table = readme_feature_table()
    single = {name: kind for name, kind in table.items() if "<" not in name}
    assert single == {name: spec.kind for name, spec in FEATURES.items()}
    assert {name.split(".", 1)[0] for name in table if "<" in name} == set(FAMILIES)
