"""Scaffolding shared by the single-turn IDE cases (evals/cases_single_*.py): two more editor-client
system prompts, and the two ways editor clients attach the user's code to a message (a fenced file with
its path in the info string, and an "active selection" block). Used only by evals/build.py."""

from __future__ import annotations

from fixtures import code

# An in-editor assistant of the JetBrains / Visual Studio kind: short, generic, no tools.
EDITOR_ASSISTANT = (
    "You are an AI programming assistant built into the user's IDE. Answer questions about the user's code "
    "and the selected text. Keep answers short and practical. When you propose code, reply with complete, "
    "compilable snippets in fenced code blocks with the language tag, and do not repeat unchanged code."
)

# A chat panel that sends the project's language and framework along with every request.
PROJECT_CHAT = (
    "You are a senior engineer helping a teammate inside their editor. The user's workspace is described "
    "below when available. Prefer the libraries already used in the project, follow its style, and say "
    "so when something needs a migration, a config change or a test.\n"
    "Workspace: {workspace}"
)


def project_chat(workspace: str) -> str:
    return PROJECT_CHAT.format(workspace=workspace)


def attached(path: str, lang: str, text: str, lines: tuple[int, int] | None = None) -> str:
    """A file or a range of it as Continue-style clients attach it: fenced, path in the info string."""
    where = f" ({lines[0]}-{lines[1]})" if lines else ""
    return f"```{lang} {path}{where}\n{text.strip()}\n```"


def selection(path: str, lang: str, text: str) -> str:
    """The editor's current selection as Copilot-like clients prepend it to the question."""
    return f"Active selection in {path}:\n{code(lang, text)}"
