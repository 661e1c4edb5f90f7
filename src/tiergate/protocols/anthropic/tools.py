"""Anthropic's own tool types (a Messages ``tools`` entry with a ``type``), as the ingress reads them.

A tool without a ``type`` (or ``custom``) is the client's own function tool. The typed ones are of two kinds:

- Client tools with a published, fixed input schema, which the client runs (Claude Code-like agents):
  ``bash_*`` (named ``bash``), ``text_editor_*`` (``str_replace_editor``, later
  ``str_replace_based_edit_tool``) and ``memory_*`` (``memory``). For any other model they become function
  tools of that schema under the same name (:func:`function_of`), so a local model can call them, and its
  call comes back as the ``tool_use`` block Claude's would be. The schemas are those Anthropic documents
  for each tool.
- Everything else only Anthropic serves (:func:`anthropic_only`): the server tools it runs itself
  (``web_search_*``, ``web_fetch_*``, ``code_execution_*``, ``tool_search_tool_*``...), computer use (its
  screenshots and coordinates are Claude's trained protocol) and types tiergate does not know. Routing
  sends a request carrying one only to an Anthropic target.

    function_of("bash_20250124", "bash").parameters["properties"]   # {"command": ..., "restart": ...}
"""

from __future__ import annotations

from typing import Any

from tiergate.wire import FunctionDef

_PATH = {"type": "string", "description": "Absolute path of the file or directory."}
_VIEW_RANGE = {
    "type": "array",
    "items": {"type": "integer"},
    "minItems": 2,
    "maxItems": 2,
    "description": "`view` of a file: the first and last line to show, from 1; a last line of -1 reads to the end.",
}
_EDITS = {
    "file_text": {"type": "string", "description": "`create`: the whole content of the new file."},
    "old_str": {"type": "string", "description": "`str_replace`: the exact text to replace, found once in the file."},
    "new_str": {"type": "string", "description": "`str_replace`: the replacement; `insert`: the text to insert."},
    "insert_line": {"type": "integer", "description": "`insert`: the line after which to insert (0: the top)."},
}


def _editor(commands: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": commands},
            "path": _PATH,
            **_EDITS,
            "view_range": _VIEW_RANGE,
        },
        "required": ["command", "path"],
    }


_BASH = FunctionDef(
    name="bash",
    description="Run a command in a persistent bash shell (state stays between calls); `restart: true` starts"
    " a fresh shell.",
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run (required unless `restart`)."},
            "restart": {"type": "boolean", "description": "Restart the shell instead of running a command."},
        },
    },
)
_EDITOR = (
    "View and edit text files: `view` a file (with line numbers) or a directory, `create` a file with"
    " `file_text`, `str_replace` `old_str` (which must match exactly once) with `new_str`, `insert` `new_str`"
    " after line `insert_line`"
)
_MEMORY = FunctionDef(
    name="memory",
    description="Your memory directory, /memories, kept across conversations: check it before a task, and"
    " record progress and what you learn as you go. Commands: `view` a directory or a file, `create` a file"
    " with `file_text`, `str_replace` `old_str` with `new_str`, `insert` `insert_text` after `insert_line`,"
    " `delete` a path, `rename` `old_path` to `new_path`.",
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert", "delete", "rename"]},
            "path": {"type": "string", "description": "A path under /memories."},
            "file_text": _EDITS["file_text"],
            "old_str": _EDITS["old_str"],
            "new_str": {"type": "string", "description": "`str_replace`: the replacement."},
            "insert_line": _EDITS["insert_line"],
            "insert_text": {"type": "string", "description": "`insert`: the text to insert."},
            "view_range": _VIEW_RANGE,
            "old_path": {"type": "string", "description": "`rename`: the path to rename."},
            "new_path": {"type": "string", "description": "`rename`: its new path."},
        },
        "required": ["command"],
    },
)
#: The text editor versions that still have ``undo_edit`` (Claude 3.x's); later ones dropped it.
_UNDO = frozenset({"text_editor_20241022", "text_editor_20250124"})
#: Prefixes of the server tools Anthropic runs itself, named as such in the 400 for a non-Anthropic target.
_SERVER = ("web_search_", "web_fetch_", "code_execution_", "tool_search_tool_", "mcp_")


def function_of(kind: str, name: str) -> FunctionDef | None:
    """The function tool a client tool of type ``kind`` becomes for a model other than Claude, under the
    client's ``name`` (fixed by the API for these types); None for a type only Anthropic serves."""
    if kind.startswith("bash_"):
        return FunctionDef(name=name, description=_BASH.description, parameters=_BASH.parameters)
    if kind.startswith("text_editor_"):
        commands = ["view", "create", "str_replace", "insert", *(["undo_edit"] if kind in _UNDO else [])]
        described = _EDITOR + (", or `undo_edit` the last edit of `path`." if kind in _UNDO else ".")
        return FunctionDef(name=name, description=described, parameters=_editor(commands))
    if kind.startswith("memory_"):
        return FunctionDef(name=name, description=_MEMORY.description, parameters=_MEMORY.parameters)
    return None


def anthropic_only(kind: str) -> str:
    """Why a tool of type ``kind`` (one :func:`function_of` has no function for) needs Anthropic, said as
    the end of a sentence about it."""
    if kind.startswith(_SERVER):
        return f"'{kind}' is a server tool, which Anthropic runs itself"
    if kind.startswith("computer_"):
        return f"'{kind}' (computer use) is a protocol only Claude models are trained on"
    return f"'{kind}' is a tool type tiergate has no translation of for other models"
