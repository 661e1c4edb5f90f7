"""examples/grafana/tiergate.json: valid JSON, and every query names only metrics the gateway's /metrics exposes.

The exposed names come from a fresh gateway's ``/metrics``: its ``# TYPE`` lines list every family
(a labelled counter with no sample yet still has one), and each family's kind says which sample
names Prometheus stores (``_bucket``/``_sum``/``_count`` for a histogram).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.conftest import ROOT

DASHBOARD = ROOT / "examples" / "grafana" / "tiergate.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"}
#: What the dashboard must show (the issue's list), by the metric family that carries it.
REQUIRED = {
    "tier share": "tiergate_requests_total",
    "latency": "tiergate_request_latency_seconds_bucket",
    "TTFT": "tiergate_time_to_first_token_seconds_bucket",
    "errors": "tiergate_upstream_errors_total",
    "breakers": "tiergate_breaker_state",
    "classifier cache": "tiergate_classifier_cache_hits_total",
    "limits": "tiergate_rate_limit_rejections_total",
}


def exposed(metrics_text: str) -> set[str]:
    names: set[str] = set()
    for line in metrics_text.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split()
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that are metric names: not functions, keywords, labels or durations."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in PROMQL_WORDS:
            continue
        found.add(match.group())
    return found


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_the_dashboard_queries_only_metrics_that_metrics_exposes(gateway: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())  # valid JSON, or this fails
    names = exposed(httpx.get(gateway + "/metrics").text)
    assert "tiergate_breaker_state" in names and "tiergate_upstream_errors_total" in names

    queried: set[str] = set()
    graphs = [p for p in panels(dashboard) if p["type"] != "row"]
    assert len(graphs) >= 10
    for panel in graphs:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        for target in panel["targets"]:
            used = metric_names(target["expr"])
            assert used, f"{panel['title']}: {target['expr']!r} names no metric"
            unknown = used - names
            assert not unknown, f"{panel['title']}: {sorted(unknown)} are not exposed by /metrics"
            queried |= used
    missing = {topic: metric for topic, metric in REQUIRED.items() if metric not in queried}
    assert not missing, f"the dashboard shows nothing for {missing}"
    assert [p["id"] for p in panels(dashboard)] == list(range(1, len(panels(dashboard)) + 1))


def test_the_checker_catches_an_unknown_metric() -> None:
    assert metric_names('sum by (tier) (rate(tiergate_requests_total{status=~"5.."}[5m]))') == {
        "tiergate_requests_total"
    }
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(tiergate_nope_bucket[$__rate_interval])))") == {
        "tiergate_nope_bucket"
    }
    assert metric_names("a / on (tier) group_left b") == {"a", "b"}
