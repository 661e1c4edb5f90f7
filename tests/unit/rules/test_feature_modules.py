"""A feature module is found by itself: one more module in ``rules/`` is read by routes.yaml and offered by the
schema, with no edit of the package's ``__init__`` (which listed its feature modules by hand)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import tiergate.rules

RULES = Path(tiergate.rules.__file__).parent

#: A feature module beside the package's own: a directory added to the package's path before it is imported.
MODULE = """
from tiergate.rules.features import Features, feature


@feature("number", "How many question marks the request holds.")
def question_marks(f: Features) -> int:
    return 0
"""

#: Imports the package with that directory on its path, as a fresh interpreter would import tiergate.rules.
CHECK = """
import importlib.util, json, sys

spec = importlib.util.spec_from_file_location(
    "tiergate.rules", sys.argv[1] + "/__init__.py", submodule_search_locations=[sys.argv[1], sys.argv[2]]
)
package = importlib.util.module_from_spec(spec)
sys.modules["tiergate.rules"] = package
spec.loader.exec_module(package)

from tiergate.config.loader import load_text
from tiergate.config.schema import routes_schema
from tiergate.engine.graph import compile_graph
from tiergate.rules.features import FEATURES

schema = routes_schema()["$defs"]
compile_graph(load_text(sys.argv[3], "routes.yaml", {}))  # its scorer and rule: no unknown feature
print(json.dumps([
    "question_marks" in FEATURES,
    "question_marks" in schema["Scorer"]["properties"]["feature"]["examples"],
    "question_marks" in schema["Condition"]["properties"]["feature"]["examples"],
]))
"""

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: m}]}
routing:
  band_tiers: {local: local, claude: local, ambiguous: local}
  scorers:
    - {name: asks, feature: question_marks, transform: {kind: ramp, from: 0, to: 3}}
  rules:
    - {name: many, when: {feature: question_marks, gt: 2}, then: {tier: local}}
"""


def test_a_feature_module_is_read_by_the_file_and_offered_by_the_schema(tmp_path: Path) -> None:
    (tmp_path / "questions.py").write_text(textwrap.dedent(MODULE))
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(RULES), str(tmp_path), ROUTES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode, run.stdout.strip(), run.stderr) == (0, "[true, true, true]", "")
