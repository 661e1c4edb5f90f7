"""The console in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) via selenium.

One browser for the whole module, and one gateway (client and admin keys set) over a decision log
seeded with a day of traffic (tests/seed_log.py) plus real requests sent through it to the fake
upstreams. Each test checks what the page shows against the log itself, and saves a screenshot to
test-artifacts/console/. Selenium is given the system chromedriver, so it downloads nothing.
"""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from selenium import webdriver  # a dev dependency (pip install -e '.[dev]'); missing, this module fails
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import ROOT, TEST_KEY, default_routes, with_bands
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text
from tests.fakes.server import ThreadedServer
from tests.seed_log import Seeded, seed

ARTIFACTS = ROOT / "test-artifacts" / "console"
CLIENT_KEY = "tg-client-SECRET-3e9a"
ADMIN_KEY = "tg-admin-SECRET-b77f"
DAY = 86_400.0
PRICES = {"sonnet": (3.0, 15.0), "opus": (15.0, 75.0)}
INSTALL = "apt-get install -y chromium chromium-driver"
NONE = "\N{EN DASH}"  # what the page shows for a number it does not have


@dataclass
class Site:
    url: str
    db: Path
    routes: Path
    seeded: Seeded
    local_id: str
    fallback_id: str


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None)
        pytest.fail(f"the console's browser test needs {missing}: {INSTALL}")
    os.environ["SE_OFFLINE"] = "true"  # selenium must not look for a driver online; it is given one
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama, _anthropic: FakeAnthropic) -> Iterator[Site]:
    from tiergate.server import build

    tmp = tmp_path_factory.mktemp("console")
    routes, candidate, db = tmp / "routes.yaml", tmp / "routes.next.yaml", tmp / "decisions.db"
    routes.write_text(default_routes(decision_log=f"{{path: '{db}'}}") + "\nshadow: routes.next.yaml\n")
    candidate.write_text(with_bands(default_routes(), "bands: {local: 0.0, claude: 0.0}"))
    seeded = seed(db, routes, now=time.time(), candidate=candidate)
    env = {
        "OLLAMA_HOST": _ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": _anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "TIERGATE_KEYS": CLIENT_KEY,
        "TIERGATE_ADMIN_KEY": ADMIN_KEY,
    }
    server = ThreadedServer(build(routes, environ=env, watch=False))
    url = server.start()
    _ollama.queue.reset()
    _anthropic.queue.reset()
    try:
        # two live requests: one the local model answers, one it fails so sonnet answers (a fallback)
        _ollama.replies.extend([Text("def add(a: int, b: int) -> int: ...", prompt_tokens=30, completion_tokens=12)])
        local = chat(url, "add type hints to def add(a, b): return a + b")
        _ollama.replies.append(Status(404, "model 'qwen2.5-coder:7b' not found"))
        _anthropic.replies.append(Text("Renamed.", prompt_tokens=400, completion_tokens=40))
        fallback = chat(url, "rename foo to bar in this snippet", model="local")
        assert fallback.headers["x-tiergate-tier"] == "sonnet", fallback.headers
        ids = [r.headers["x-tiergate-decision-id"] for r in (local, fallback)]
        until(lambda: query(db, "SELECT COUNT(*) FROM shadow_decisions WHERE decision_id IN (?, ?)", *ids)[0][0] == 2)
        yield Site(url, db, routes, seeded, *ids)
    finally:
        server.stop()
        _ollama.queue.reset()
        _anthropic.queue.reset()


def chat(url: str, text: str, model: str = "auto") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    r = httpx.post(
        url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {CLIENT_KEY}"}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def until(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


# --- what the page shows, and how it formats numbers (console.js: usd, pct, ms) --------------------


def usd(x: float | None) -> str:
    return NONE if x is None else ("-" if x < 0 else "") + f"${abs(x):.4f}"


def pct(x: float | None) -> str:
    return NONE if x is None else f"{x * 100:.1f}%"


def ms(x: float | None) -> str:
    return NONE if x is None else f"{math.floor(x + 0.5)} ms"


def text_of(browser: WebDriver, css: str, expected: str | None = None, seconds: float = 10.0) -> str:
    """The element's text once it is shown (and equals ``expected``, when given)."""
    last: list[str] = []

    def ready(d: WebDriver) -> bool:
        found = d.find_elements(By.CSS_SELECTOR, css)
        if not found or not found[0].is_displayed():
            return False
        last[:] = [found[0].text]
        return expected is None or found[0].text == expected

    try:  # an element the page re-renders between two looks goes stale: look again
        WebDriverWait(browser, seconds, ignored_exceptions=[StaleElementReferenceException]).until(ready)
    except Exception:
        browser.save_screenshot(str(ARTIFACTS / "failed.png"))
        raise AssertionError(
            f"{css}: expected {expected!r}, the page shows {last[0] if last else 'nothing'!r}"
        ) from None
    return last[0]


def shot(browser: WebDriver, name: str) -> None:
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def open_tab(browser: WebDriver, site: Site, tab: str) -> None:
    browser.get(f"{site.url}/console#{tab}")
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "tab-" + tab).is_displayed())


def no_errors(browser: WebDriver) -> None:
    logged = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert logged == [], logged


# --- the tests, in the order a person would go --------------------------------------------------


def test_sign_in_asks_for_the_admin_key_and_keeps_it_out_of_urls(browser: WebDriver, site: Site) -> None:
    browser.get(site.url + "/console")
    text_of(browser, "#login-why", "This gateway has keys configured: the console needs the admin key.")
    shot(browser, "01-sign-in")
    browser.find_element(By.ID, "login-key").send_keys(CLIENT_KEY)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    text_of(browser, "#login-why", "this key is not the admin key")
    browser.find_element(By.ID, "login-key").send_keys(ADMIN_KEY)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "main").is_displayed())
    refused = [e["message"] for e in browser.get_log("browser")]
    assert [m.split(" - ")[-1] for m in refused] == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)",
        "Failed to load resource: the server responded with a status of 403 (Forbidden)",
    ]

    assert browser.execute_script("return sessionStorage.getItem('tiergate.console.key')") == ADMIN_KEY
    assert browser.execute_script("return localStorage.length") == 0 and browser.get_cookies() == []
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/console/api/status" in u for u in urls)
    assert all(ADMIN_KEY not in u and CLIENT_KEY not in u for u in [browser.current_url, *urls])
    no_errors(browser)


def test_savings_show_what_the_log_holds(browser: WebDriver, site: Site) -> None:
    open_tab(browser, site, "savings")
    since = time.time() - DAY
    rows = query(
        site.db,
        "SELECT tier, cost_usd, prompt_tokens, completion_tokens, fallback, status, disconnected, latency_ms, "
        "ttft_ms, decided_by FROM decisions WHERE ts >= ?",
        since,
    )
    total = len(rows)
    assert total == len(site.seeded.ids) + 2
    text_of(browser, "[data-test=total-requests] [data-field=value]", str(total))
    cost = sum(r[1] or 0.0 for r in rows)
    text_of(browser, "[data-test=total-cost] [data-field=value]", usd(cost))
    prompt = sum(r[2] or 0 for r in rows)
    completion = sum(r[3] or 0 for r in rows)
    for name, tier in (("always-opus", "opus"), ("always-sonnet", "sonnet")):
        price_in, price_out = PRICES[tier]
        baseline = (prompt * price_in + completion * price_out) / 1e6
        text_of(browser, f"[data-baseline={name}] [data-field=value]", usd(baseline - cost))
        text_of(browser, f"[data-baseline={name}] [data-field=baseline]", usd(baseline))
    fallbacks = sum(r[4] for r in rows)
    errors = sum(1 for r in rows if r[5] >= 400 and not r[6])
    assert fallbacks >= 1 and errors >= 1
    text_of(browser, "[data-test=fallback-rate] [data-field=value]", pct(fallbacks / total))
    text_of(browser, "[data-test=error-rate] [data-field=value]", pct(errors / total))

    for tier in {r[0] for r in rows}:
        mine = [r for r in rows if r[0] == tier]
        ok = [r for r in mine if r[5] < 400]
        cell = f"#tier-table tr[data-tier={tier}] td[data-col=%s]"
        text_of(browser, cell % "requests", str(len(mine)))
        text_of(browser, cell % "share", pct(len(mine) / total))
        text_of(browser, cell % "cost", usd(sum(r[1] or 0.0 for r in mine)))
        p50 = float(np.percentile([r[7] for r in ok], 50)) if ok else None
        p95 = float(np.percentile([r[7] for r in ok], 95)) if ok else None
        text_of(browser, cell % "p50", ms(p50))
        text_of(browser, cell % "p95", ms(p95))
        ttfts = [r[8] for r in ok if r[8] is not None]
        text_of(browser, cell % "ttft50", ms(float(np.percentile(ttfts, 50)) if ttfts else None))
        text_of(browser, cell % "fallbacks", str(sum(r[4] for r in mine)))
        text_of(browser, cell % "errors", str(sum(1 for r in mine if r[5] >= 400 and not r[6])))

    for key in ("explicit", "rules", "learned", "classifier", "fallback"):
        count = sum(1 for r in rows if r[9] == key)
        text_of(browser, f"#decided-by tr[data-decided={key}] [data-field=count]", str(count))
    bars = browser.find_elements(By.CSS_SELECTOR, "#share-chart svg rect")
    assert len(bars) >= 20  # one bar per tier in every hour that saw requests
    shot(browser, "02-savings-24h")

    browser.find_element(By.CSS_SELECTOR, "#windows button[data-window='1h']").click()
    last_hour = query(site.db, "SELECT COUNT(*) FROM decisions WHERE ts >= ?", time.time() - 3600)[0][0]
    text_of(browser, "[data-test=total-requests] .sub", "in the last 1h")
    text_of(browser, "[data-test=total-requests] [data-field=value]", str(last_hour))
    no_errors(browser)


def test_a_request_opens_its_decision_trace_for_a_person_to_read(browser: WebDriver, site: Site) -> None:
    open_tab(browser, site, "requests")
    row = f"#requests-table tr[data-decision-id='{site.fallback_id}']"
    text_of(browser, row + " td[data-col=tier]", "sonnet")
    browser.find_element(By.CSS_SELECTOR, row).click()
    text_of(browser, "#detail h2 code", site.fallback_id)
    trace = "#detail [data-test=trace]"
    text_of(browser, trace + " [data-field=tier]", "local")  # decided local; served by sonnet after local failed
    attempts = browser.find_elements(By.CSS_SELECTOR, trace + " [data-test=attempts] tbody tr")
    assert [a.get_attribute("data-outcome") for a in attempts] == ["http_404", "ok"]
    assert "HTTP 404" in attempts[0].text and "sonnet / anthropic / claude-sonnet-4-5" in attempts[1].text
    signal = browser.find_element(By.CSS_SELECTOR, trace + " [data-test=signals] tr[data-signal=explicit]")
    assert "model 'local' names tier local" in signal.text and "tier=local" in signal.text
    assert text_of(browser, trace + " [data-field=phase]") == "named by the client (explicit)"
    assert "model 'local' names tier local" in text_of(browser, trace + " ol.reasons")
    assert "{" not in text_of(browser, trace)  # rendered for a person, not as JSON
    shadow_title = text_of(browser, "#detail h3:nth-of-type(1)")
    assert shadow_title.startswith("Why this tier")
    candidate = browser.find_elements(By.CSS_SELECTOR, "#detail [data-test=trace]")
    assert len(candidate) == 2  # the live trace and the shadow rules' trace
    shot(browser, "03-request-trace")

    browser.find_element(By.CSS_SELECTOR, f"#requests-table tr[data-decision-id='{site.local_id}']").click()
    text_of(browser, "#detail h2 code", site.local_id)
    learned = text_of(browser, trace + " [data-test=learned]")
    assert "P(needs sonnet or above)" in learned and "P(needs opus)" in learned
    signal = browser.find_element(By.CSS_SELECTOR, trace + " [data-test=signals] tr[data-signal=learned]")
    assert "scorer" in signal.text and "+0." in signal.text
    assert text_of(browser, trace + " [data-field=phase]") == "decided in phase 1 (rules and scorers)"
    assert "is in band LOCAL" in text_of(browser, trace + " ol.reasons")

    # a seeded classifier decision shows the classifier's answer
    classified = query(site.db, "SELECT decision_id FROM decisions WHERE decided_by = 'classifier' ORDER BY ts DESC")
    browser.find_element(By.CSS_SELECTOR, f"#requests-table tr[data-decision-id='{classified[0][0]}']").click()
    box = text_of(browser, "#detail [data-test=classifier]")
    assert "qwen2.5:1.5b" in box and "a focused edit" in box and "confidence 0.82" in box
    no_errors(browser)


def test_a_rating_given_from_the_trace_is_stored_like_feedback(browser: WebDriver, site: Site) -> None:
    open_tab(browser, site, "requests")
    browser.find_element(By.CSS_SELECTOR, f"#requests-table tr[data-decision-id='{site.local_id}']").click()
    text_of(browser, "#detail [data-test=rating-status]", "Not rated yet")
    browser.find_element(By.CSS_SELECTOR, "#detail [data-test=rating-comment]").send_keys("local was right")
    browser.find_element(By.CSS_SELECTOR, "#detail button[data-rating='4']").click()
    text_of(browser, "#detail [data-test=rating-status]", "Saved: 4")
    assert query(site.db, "SELECT rating, comment, client FROM feedback WHERE decision_id = ?", site.local_id) == [
        (4, "local was right", "console")
    ]
    text_of(browser, f"#requests-table tr[data-decision-id='{site.local_id}'] td[data-col=rating]", "4")
    browser.refresh()
    text_of(browser, f"#requests-table tr[data-decision-id='{site.local_id}'] td[data-col=rating]", "4")
    shot(browser, "04-rated")
    no_errors(browser)


def test_the_dry_run_decides_without_calling_a_model(browser: WebDriver, site: Site, fake_ollama: FakeOllama) -> None:
    open_tab(browser, site, "dryrun")
    before = query(site.db, "SELECT COUNT(*) FROM decisions")[0][0]
    body = browser.find_element(By.ID, "dryrun-body")
    assert '"model": "auto"' in body.get_attribute("value")
    body.clear()
    typed = (
        '{"messages": [{"role": "user", "content": "read the config"}], '
        '"tools": [{"type": "function", "function": {"name": "read_file"}}]}'
    )
    body.send_keys(typed)
    browser.find_element(By.CSS_SELECTOR, "#dryrun-form button[type=submit]").click()
    # sonnet or opus, as the learned head says (the tools put it in the CLAUDE band): what the API decides
    keyed = {"content-type": "application/json", "authorization": f"Bearer {CLIENT_KEY}"}
    decided = httpx.post(site.url + "/v1/route", content=typed, headers=keyed)
    assert decided.status_code == 200 and decided.json()["tier"] in ("sonnet", "opus"), decided.text
    text_of(browser, "#dryrun-result [data-field=tier]", decided.json()["tier"])
    signals = text_of(browser, "#dryrun-result [data-test=signals]")
    assert "tools_present" in signals and "band=CLAUDE require=tools" in signals
    text_of(browser, "#dryrun-result [data-test=read] [data-field=ask]", "read the config")
    agent = "steps 0 · failures in a row 0 · most repeated failure 0 · tests green no"
    text_of(browser, "#dryrun-result [data-test=read] [data-field=agent]", agent)
    shot(browser, "05-dry-run")

    Select(browser.find_element(By.ID, "dryrun-dialect")).select_by_value("anthropic")
    assert '"max_tokens": 1024' in browser.find_element(By.ID, "dryrun-body").get_attribute("value")
    body = browser.find_element(By.ID, "dryrun-body")
    body.clear()
    body.send_keys('{"model": "sonnet", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}')
    browser.find_element(By.CSS_SELECTOR, "#dryrun-form button[type=submit]").click()
    text_of(browser, "#dryrun-result [data-field=phase]", "named by the client (explicit)")
    text_of(browser, "#dryrun-result [data-field=tier]", "sonnet")

    body = browser.find_element(By.ID, "dryrun-body")
    body.clear()
    body.send_keys('{"messages": [')
    browser.find_element(By.CSS_SELECTOR, "#dryrun-form button[type=submit]").click()
    assert text_of(browser, "#dryrun-result [data-test=dryrun-error]").startswith("the request body is not valid JSON")
    assert [r for r in fake_ollama.requests if "chat" in r.path] == [] and query(
        site.db, "SELECT COUNT(*) FROM decisions"
    )[0][0] == before
    browser.get_log("browser")  # the 400 of the last dry run is logged by the browser as a failed load


def test_the_rules_tab_shows_version_reload_error_warnings_and_breakers(browser: WebDriver, site: Site) -> None:
    health = httpx.get(site.url + "/health").json()
    open_tab(browser, site, "rules")
    text_of(browser, "#rules-badge", "rules " + health["rules"]["version"])
    text_of(browser, "#rules-error", "No reload error.")
    breakers = browser.find_elements(By.CSS_SELECTOR, "#breakers tbody tr")
    assert [b.get_attribute("data-target") for b in breakers] == list(health["breakers"])
    assert all(b.text.endswith("closed") for b in breakers)

    good = site.routes.read_text()
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    try:
        site.routes.write_text(good.replace("fallbacks:\n  local: [sonnet]", "fallbacks:\n  local: [sonet]"))
        assert httpx.post(site.url + "/admin/reload", headers=admin).status_code == 422
        browser.refresh()
        problem = text_of(browser, "[data-test=reload-error]")
        assert "The last reload was rejected" in problem and "sonet" in problem
        text_of(browser, "#rules-badge", "rules " + health["rules"]["version"])  # the last good rules still serve
        shot(browser, "06-rules-reload-error")
    finally:
        site.routes.write_text(good)
        assert httpx.post(site.url + "/admin/reload", headers=admin).status_code == 200
    browser.refresh()
    text_of(browser, "#rules-error", "No reload error.")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-test=rules-warnings]") == []

    spare = "tiers:\n  spare: {targets: [{backend: anthropic, model: claude-opus-4-1}]}\n"
    try:  # a file with a warning (opus's model is now first a target of tier spare) is served, and listed
        site.routes.write_text(good.replace("tiers:\n", spare, 1))
        assert httpx.post(site.url + "/admin/reload", headers=admin).status_code == 200
        browser.refresh()
        warned = text_of(browser, "[data-test=rules-warnings]")
        [warning] = httpx.get(site.url + "/health").json()["rules"]["warnings"]
        assert "model 'claude-opus-4-1' is also a target of tier 'spare'" in warning["message"]
        assert warned.splitlines() == [
            "The rules serving have warnings (tiergate validate lists them too):",
            f"{site.routes}:{warning['line']}:{warning['col']}: {warning['message']}",
        ]
    finally:
        site.routes.write_text(good)
        assert httpx.post(site.url + "/admin/reload", headers=admin).status_code == 200
    browser.refresh()
    text_of(browser, "#rules-error", "No reload error.")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-test=rules-warnings]") == []
    no_errors(browser)


def test_the_shadow_tab_compares_the_candidate_with_the_live_rules(browser: WebDriver, site: Site) -> None:
    open_tab(browser, site, "shadow")
    since = time.time() - DAY
    pairs = query(
        site.db,
        "SELECT d.decided_tier, s.tier, COUNT(*) FROM shadow_decisions s JOIN decisions d USING (decision_id) "
        "WHERE d.ts >= ? GROUP BY 1, 2",
        since,
    )
    shadowed = sum(n for _, _, n in pairs)
    differ = sum(n for live, cand, n in pairs if live != cand)
    assert shadowed == len(site.seeded.ids) + 2 and differ > 0
    text_of(browser, "[data-test=shadowed] [data-field=value]", str(shadowed))
    text_of(browser, "[data-test=shadow-disagree] [data-field=value]", str(differ))
    for live, cand, n in pairs:
        text_of(browser, f"[data-test=shadow-pairs] tr[data-pair='{live}>{cand}'] [data-field=count]", str(n))
    live_cost, cand_cost = query(
        site.db,
        "SELECT SUM(d.cost_usd), SUM(s.cost_usd) FROM shadow_decisions s JOIN decisions d USING (decision_id) "
        "WHERE d.ts >= ? AND s.cost_usd IS NOT NULL",
        since,
    )[0]
    text_of(browser, "[data-test=shadow-live-cost] [data-field=value]", usd(live_cost))
    text_of(browser, "[data-test=shadow-candidate-cost] [data-field=value]", usd(cand_cost))
    rated = query(
        site.db,
        "SELECT AVG(f.rating) FROM feedback f JOIN shadow_decisions s USING (decision_id) JOIN decisions d "
        "USING (decision_id) WHERE d.ts >= ? AND d.decided_tier <> s.tier",
        since,
    )[0][0]
    text_of(browser, "[data-test=shadow-ratings] [data-field=value]", NONE if rated is None else f"{rated:.2f}")
    examples = browser.find_elements(By.CSS_SELECTOR, "[data-test=shadow-example]")
    assert len(examples) == min(differ, 20)
    first = examples[0]
    assert len(first.find_elements(By.CSS_SELECTOR, "[data-test=trace]")) == 2
    assert "Live rules" in first.text and "Candidate (routes.next.yaml)" in first.text
    info = text_of(browser, "#shadow-info")
    assert "routes.next.yaml" in info and "not loaded" not in info
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "07-shadow")
    no_errors(browser)


def test_a_client_sent_name_of_any_length_keeps_the_trace_inside_the_window(browser: WebDriver, site: Site) -> None:
    """A client may send a model name of 8,000 characters: the trace quotes it cut short, and wraps it."""
    long_name = "x" * 8000
    decision = chat(site.url, "rename foo to bar", model=long_name).headers["x-tiergate-decision-id"]
    until(lambda: query(site.db, "SELECT 1 FROM decisions WHERE decision_id = ?", decision))
    open_tab(browser, site, "requests")
    browser.find_element(By.CSS_SELECTOR, f"#requests-table tr[data-decision-id='{decision}']").click()
    reasons = text_of(browser, "#detail [data-test=trace] ol.reasons")
    assert f"model '{'x' * 119}…' is not configured here; routed as auto" in reasons
    page, window = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert page <= window, (page, window)
    no_errors(browser)


def test_an_empty_log_on_a_fresh_keyless_gateway(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama
) -> None:
    from tiergate.server import build

    tmp = tmp_path_factory.mktemp("fresh")
    routes = tmp / "routes.yaml"
    routes.write_text(default_routes(decision_log=f"{{path: '{tmp / 'decisions.db'}'}}"))
    server = ThreadedServer(build(routes, environ={"OLLAMA_HOST": _ollama.url}, watch=False))  # type: ignore[attr-defined]
    url = server.start()
    try:
        browser.get(url + "/console")
        text_of(browser, "[data-test=total-requests] [data-field=value]", "0")  # no key asked: loopback, no keys
        assert not browser.find_element(By.ID, "login").is_displayed()
        assert text_of(browser, "#savings-empty").startswith("No requests in the last 24h")
        text_of(browser, "[data-baseline=always-opus] [data-field=value]", "$0.0000")
        shot(browser, "08-empty-log")
        browser.get(url + "/console#requests")
        text_of(browser, "#requests-empty", "No requests logged yet.")
        browser.get(url + "/console#shadow")
        assert text_of(browser, "[data-test=shadow-off]").startswith("No shadow rules.")

        # then one request: without shadow rules, its detail has no shadow part (it read "null")
        _ollama.replies.append(Text("Renamed."))
        decision = chat(url, "rename foo to bar", model="local").headers["x-tiergate-decision-id"]
        until(
            lambda: query(tmp / "decisions.db", "SELECT COUNT(*) FROM decisions WHERE decision_id = ?", decision)[0][0]
        )
        browser.get(url + "/console#requests")
        row = f"#requests-table tr[data-decision-id='{decision}']"
        text_of(browser, row + " td[data-col=tier]", "local")
        browser.find_element(By.CSS_SELECTOR, row).click()
        text_of(browser, "#detail h2 code", decision)
        assert len(browser.find_elements(By.CSS_SELECTOR, "#detail [data-test=trace]")) == 1
        assert "null" not in text_of(browser, "#detail").split("\n")
        no_errors(browser)
    finally:
        server.stop()


class RemotePeer:
    """What the gateway sees of a browser on another machine: every request from ``peer``."""

    def __init__(self, app: Any, peer: str) -> None:
        self.app, self.peer = app, peer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": (self.peer, 50000)}
        await self.app(scope, receive, send)


def test_a_remote_page_on_a_gateway_without_an_admin_key_is_told_why_no_key_will_do(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama
) -> None:
    """With client keys and no admin key set, the console's API serves no page from another machine: it is told
    to set the admin key, not asked for one (no key the form takes would let it in)."""
    from tiergate.server import build

    tmp = tmp_path_factory.mktemp("remote")
    routes = tmp / "routes.yaml"
    routes.write_text(default_routes(decision_log=f"{{path: '{tmp / 'decisions.db'}'}}"))
    app = build(routes, environ={"OLLAMA_HOST": _ollama.url, "TIERGATE_KEYS": CLIENT_KEY}, watch=False)  # type: ignore[attr-defined]
    server = ThreadedServer(RemotePeer(app, "10.0.0.5"))
    url = server.start()
    try:
        browser.get(url + "/console")
        said = "the console needs the admin key while client keys are configured: set TIERGATE_ADMIN_KEY"
        text_of(browser, "#login-why", said)
        browser.get_log("browser")  # the 403 is logged by the browser as a failed load
    finally:
        server.stop()


class HostRewrite:
    """What the gateway sees behind a reverse proxy that rewrites the Host (nginx's default,
    ``proxy_set_header Host $proxy_host``): every request addressed to ``host``, whatever the browser asked."""

    def __init__(self, app: Any, host: str) -> None:
        self.app, self.host = app, host.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(n, v) for n, v in scope["headers"] if n != b"host"]
            scope = {**scope, "headers": [*headers, (b"host", self.host)]}
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        # the page's POSTs carry its own origin, which is not the rewritten Host: refused as another site's
        ("127.0.0.1:8080", "origin"),
        # with no client keys, a console addressed to another name is refused before it shows anything
        ("gateway.internal:8080", "host"),
    ],
)
def test_a_refusal_for_the_page_s_address_is_shown_not_answered_with_the_sign_in_form(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama, host: str, shown: str
) -> None:
    """Behind a proxy that rewrites the Host, the console took the 403 for a missing key and asked for the
    admin key again and again; no key lifts these refusals, so the page says what does."""
    from tiergate.server import build

    tmp = tmp_path_factory.mktemp("proxied")
    routes = tmp / "routes.yaml"
    routes.write_text(default_routes(decision_log=f"{{path: '{tmp / 'decisions.db'}'}}"))
    app = build(routes, environ={"OLLAMA_HOST": _ollama.url}, watch=False)  # type: ignore[attr-defined]
    server = ThreadedServer(HostRewrite(app, host))
    url = server.start()
    try:
        if shown == "origin":
            browser.get(url + "/console#dryrun")
            WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "tab-dryrun").is_displayed())
            browser.find_element(By.CSS_SELECTOR, "#dryrun-form button[type=submit]").click()
            assert text_of(browser, "#dryrun-result [data-test=dryrun-error]") == (
                f"requests from the web page origin {url} are refused: tiergate serves browsers only from origins "
                f"listed in server.cors.allow_origins. This page's origin, {url}, is not the address the gateway "
                f"was sent (a reverse proxy that rewrites the Host header does this): add {url} to "
                "server.cors.allow_origins in routes.yaml, or have the proxy pass the Host on (nginx: "
                "proxy_set_header Host $host)."
            )
        else:
            browser.get(url + "/console")
            assert text_of(browser, "#error") == (
                "tiergate serves loopback clients without a key only when they address it by a loopback name "
                f"(localhost, 127.0.0.1, [::1]), not {host} (a web page on a name pointed at 127.0.0.1 would be "
                "one): address it as localhost, or configure keys."
            )
        assert not browser.find_element(By.ID, "login").is_displayed()
        shot(browser, f"09-refused-{shown}")
        browser.get_log("browser")  # the 403 is logged by the browser as a failed load
    finally:
        server.stop()
