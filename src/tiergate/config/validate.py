"""Everything ``tiergate validate`` checks, as one list of Problems (errors and warnings).

The strict decode, the cross-reference checks and the graph compile (feature names, regexes,
transforms) run in that order. The JSON Schema in schemas/ describes the same file for editors and
check-jsonschema; a test keeps the two in step, and the decoder's messages are the more precise.

    for p in validate_file(Path("routes.yaml")): print(p.render())
"""

from __future__ import annotations

import json
from pathlib import Path

from tiergate.config.loader import load_file
from tiergate.config.problems import ConfigError, Problem


def validate_file(path: Path) -> list[Problem]:
    try:
        loaded = load_file(path)
        from tiergate.engine.graph import compile_graph

        compile_graph(loaded)
    except ConfigError as exc:
        return exc.problems
    return list(loaded.warnings)


def schema_path() -> Path:
    return Path(__file__).resolve().parents[3] / "schemas" / "routes.schema.json"


def load_schema() -> dict[str, object]:
    return json.loads(schema_path().read_text())  # type: ignore[no-any-return]
