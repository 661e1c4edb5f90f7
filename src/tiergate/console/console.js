// tiergate console: plain JavaScript, no build step. Everything comes from /console/api/*; the admin key
// (when one is needed) lives in this tab's sessionStorage and goes out as an Authorization header only.
"use strict";

const KEY = "tiergate.console.key";
const PALETTE = ["#2d5bd0", "#e08a1e", "#7c3aed", "#17803d", "#c2410c", "#0e7490", "#be185d", "#4d7c0f"];
const DECIDED = [
  ["explicit", "Explicit (client named it)"],
  ["rules", "Rules"],
  ["learned", "Learned scorer"],
  ["classifier", "Classifier"],
  ["fallback", "Fallback (classifier failed)"],
  ["unknown", "Not recorded"],
];
const PHASES = { explicit: "named by the client (explicit)", heuristic: "decided in phase 1 (rules and scorers)",
  llm_classifier: "decided in phase 2 (the classifier)", fallback: "phase 2 failed: phase 1's guess (fallback)" };

const state = { status: null, window: "24h", shadowWindow: "24h", colors: {}, oldest: null, selected: null };

// --- small helpers --------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // CSSOM, which the page's CSP allows (a style attribute it would not)
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
const clear = (el) => { el.replaceChildren(); return el; };

function usd(x) {
  if (x === null || x === undefined) return "–";
  return (x < 0 ? "-" : "") + "$" + Math.abs(x).toFixed(4);
}
function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
function ms(x) { return x === null || x === undefined ? "–" : Math.round(x) + " ms"; }
function num(x, d = 3) { return x === null || x === undefined ? "–" : Number(x).toFixed(d).replace(/\.?0+$/, "") || "0"; }
function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "–"; }
function mean(x) { return x === null || x === undefined ? "–" : x.toFixed(2); }
function shown(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return num(v, 4);
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
function color(tier) {
  if (!(tier in state.colors)) state.colors[tier] = PALETTE[Object.keys(state.colors).length % PALETTE.length];
  return state.colors[tier];
}
function pill(text, cls) { return h("span", { class: "pill " + (cls || "") }, text); }

class AuthNeeded extends Error {}

// Why the sign-in form is shown when no key has been given yet (the page's own text).
const LOGIN_WHY = "This gateway has keys configured: the console needs the admin key.";

// What to do about a refusal no admin key can lift (tiergate.api.origin and tiergate.api.auth say why).
const REFUSED_SITE = {
  origin_not_allowed: "This page's origin, " + location.origin + ", is not the address the gateway was sent " +
    "(a reverse proxy that rewrites the Host header does this): add " + location.origin + " to " +
    "server.cors.allow_origins in routes.yaml, or have the proxy pass the Host on (nginx: proxy_set_header Host $host).",
  host_not_allowed: "", // the gateway's own message says what to do
};

async function api(path, options = {}) {
  const headers = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const key = sessionStorage.getItem(KEY);
  if (key) headers.authorization = "Bearer " + key;
  const r = await fetch(path, { method: options.method || "GET", headers, body: options.body, cache: "no-store",
    credentials: "omit" });
  let data = null;
  try { data = await r.json(); } catch (_) { data = null; }
  const err = data && data.error ? data.error : null;
  if (r.status === 403 && err && Object.hasOwn(REFUSED_SITE, err.code || "")) {
    // refused for where the page is or how it is addressed, not for its key: a key would not help
    const said = /[.!?]$/.test(err.message) ? err.message : err.message + ".";
    const e = new Error([said, REFUSED_SITE[err.code]].filter(Boolean).join(" "));
    e.status = r.status; e.code = err.code;
    throw e;
  }
  if (r.status === 401 || (r.status === 403 && err && (err.code === "forbidden" || err.type === "permission_error"))) {
    // a key asked for and none given: the page's own words (the API's say which header to send, which the form
    // does); any other refusal in the API's, which say why (a wrong key; no admin key set, for a remote page)
    showLogin(r.status === 401 && !key ? LOGIN_WHY : err ? err.message : LOGIN_WHY);
    throw new AuthNeeded();
  }
  if (!r.ok) {
    const e = new Error(err ? err.message : r.status + " " + r.statusText);
    e.status = r.status; e.code = err ? err.code : null;
    throw e;
  }
  return data;
}

function showError(e) {
  if (e instanceof AuthNeeded) return;
  const box = $("#error");
  box.textContent = e.message || String(e);
  box.hidden = false;
}
function clearError() { $("#error").hidden = true; }

// --- sign-in --------------------------------------------------------------------------------------

function showLogin(message) {
  $("#main").hidden = true;
  $("#login").hidden = false;
  $("#login-why").textContent = message;
  $("#signout").hidden = !sessionStorage.getItem(KEY);
  $("#login-key").focus();
}

async function start() {
  try {
    state.status = await api("/console/api/status");
  } catch (e) {
    if (!(e instanceof AuthNeeded)) { $("#main").hidden = false; showError(e); }
    return;
  }
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#signout").hidden = !sessionStorage.getItem(KEY);
  $("#rules-badge").textContent = "rules " + state.status.rules.version;
  state.status.rules.tiers.forEach(color);
  setupWindows("#windows", "window", loadSavings);
  setupWindows("#shadow-windows", "shadowWindow", loadShadow);
  setupDryRun();
  route();
}

function setupWindows(sel, field, load) {
  const box = clear($(sel));
  for (const w of state.status.windows) {
    box.append(h("button", { type: "button", "data-window": w, class: w === state[field] ? "on" : "",
      onclick: () => { state[field] = w; box.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.window === w)); load(); } }, w));
  }
}

// --- tabs -----------------------------------------------------------------------------------------

const TABS = { savings: () => loadSavings(), requests: () => loadRequests(), dryrun: () => {}, rules: () => loadRules(),
  shadow: () => loadShadow() };

function route() {
  const tab = (location.hash || "#savings").slice(1);
  const name = tab in TABS ? tab : "savings";
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("on", a.dataset.tab === name));
  document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.id !== "tab-" + name; });
  clearError();
  Promise.resolve(TABS[name]()).catch(showError);
}

// --- savings --------------------------------------------------------------------------------------

async function loadSavings() {
  let data;
  try { data = await api("/console/api/savings?window=" + encodeURIComponent(state.window)); } catch (e) {
    showError(e); return;
  }
  const s = data.stats;
  const cards = clear($("#cards"));
  const empty = $("#savings-empty");
  empty.hidden = s.requests > 0;
  empty.textContent = "No requests in the last " + data.window + ". Send one through the gateway, or try a longer window.";
  const cost = s.tiers.reduce((a, t) => a + t.cost_usd, 0);
  cards.append(card("Requests", String(s.requests), "total-requests", "in the last " + data.window));
  cards.append(card("Estimated cost", usd(cost), "total-cost", "at routes.yaml prices"));
  for (const b of data.baselines) cards.append(baselineCard(b));
  cards.append(card("Fallback rate", pct(s.requests ? s.fallbacks / s.requests : null), "fallback-rate",
    s.fallbacks + " of " + s.requests));
  cards.append(card("Error rate", pct(s.requests ? s.errors / s.requests : null), "error-rate", s.errors + " of " + s.requests));

  const body = clear($("#tier-table tbody"));
  for (const t of s.tiers) {
    const cell = (col, text) => h("td", { class: "num", "data-col": col }, text);
    body.append(h("tr", { "data-tier": t.tier },
      h("td", { "data-col": "tier" }, h("span", { class: "swatch", style: "background:" + color(t.tier) }), t.tier),
      cell("requests", String(t.requests)), cell("share", pct(s.requests ? t.requests / s.requests : null)),
      cell("cost", usd(t.cost_usd)), cell("p50", ms(t.latency_p50_ms)), cell("p95", ms(t.latency_p95_ms)),
      cell("ttft50", ms(t.ttft_p50_ms)), cell("ttft95", ms(t.ttft_p95_ms)), cell("fallbacks", String(t.fallbacks)),
      cell("errors", String(t.errors)), cell("rating", t.ratings ? mean(t.rating_mean) + " (" + t.ratings + ")" : "–")));
  }
  drawShare($("#share-chart"), s);
  drawDecided($("#decided-by"), s);
}

function card(label, value, test, sub, cls) {
  return h("div", { class: "card", "data-test": test }, h("div", { class: "label" }, label),
    h("div", { class: "value " + (cls || ""), "data-field": "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

function baselineCard(b) {
  const title = "Saved vs " + b.name;
  if (b.cost_usd === null) return card(title, "–", "baseline-" + b.name, b.reason);
  const el = card(title, usd(b.saving_usd), "baseline-" + b.name, null, b.saving_usd < 0 ? "neg" : "pos");
  el.setAttribute("data-baseline", b.name);
  el.append(h("div", { class: "sub" }, h("span", { "data-field": "baseline" }, usd(b.cost_usd)), " if every request went to ",
    b.tier, b.saving_share !== null ? " (" + pct(b.saving_share) + ")" : ""));
  return el;
}

function drawShare(box, s) {
  clear(box);
  const W = 720, H = 200, pad = 28;
  const n = s.series.length;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 20}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "share of requests per tier over time");
  const slot = (W - pad) / Math.max(n, 1);
  const tiers = Object.keys(state.colors);
  s.series.forEach((b, i) => {
    const total = Object.values(b.tiers).reduce((a, c) => a + c, 0);
    let y = H;
    for (const tier of tiers) {
      const c = b.tiers[tier] || 0;
      if (!c) continue;
      const hgt = (c / total) * (H - 10);
      y -= hgt;
      const r = document.createElementNS(svg.namespaceURI, "rect");
      r.setAttribute("x", pad + i * slot + 1); r.setAttribute("y", y);
      r.setAttribute("width", Math.max(slot - 2, 1)); r.setAttribute("height", hgt);
      r.setAttribute("fill", color(tier));
      const t = document.createElementNS(svg.namespaceURI, "title");
      t.textContent = `${when(b.start)}: ${tier} ${c} of ${total}`;
      r.append(t);
      svg.append(r);
    }
  });
  for (const [frac, label] of [[0, "0%"], [0.5, "50%"], [1, "100%"]]) {
    const t = document.createElementNS(svg.namespaceURI, "text");
    t.setAttribute("x", 0); t.setAttribute("y", H - frac * (H - 10) + 4); t.setAttribute("font-size", "10");
    t.setAttribute("fill", "#667080"); t.textContent = label;
    svg.append(t);
  }
  if (n) {
    for (const [i, anchor] of [[0, "start"], [n - 1, "end"]]) {
      const t = document.createElementNS(svg.namespaceURI, "text");
      t.setAttribute("x", anchor === "start" ? pad : W); t.setAttribute("y", H + 16); t.setAttribute("font-size", "10");
      t.setAttribute("text-anchor", anchor); t.setAttribute("fill", "#667080");
      t.textContent = new Date((s.series[i].start + (anchor === "end" ? s.bucket_s : 0)) * 1000).toLocaleString();
      svg.append(t);
    }
  }
  box.append(svg);
  box.append(h("div", { class: "legend" }, tiers.map((t) => h("span", {}, h("span", { class: "swatch", style: "background:" + color(t) }), t))));
}

function drawDecided(box, s) {
  clear(box);
  const total = Object.values(s.decided_by).reduce((a, c) => a + c, 0);
  const stack = h("div", { class: "stack" });
  const list = h("table", { class: "grid" });
  DECIDED.forEach(([key, label], i) => {
    const c = s.decided_by[key] || 0;
    if (key === "unknown" && !c) return;
    if (c) stack.append(h("span", { style: `width:${(100 * c) / total}%;background:${PALETTE[i]}`, title: label }));
    list.append(h("tr", { "data-decided": key }, h("td", {}, h("span", { class: "swatch", style: "background:" + PALETTE[i] }), label),
      h("td", { class: "num", "data-field": "count" }, String(c)), h("td", { class: "num", "data-field": "share" }, pct(total ? c / total : null))));
  });
  box.append(stack, list);
}

// --- requests -------------------------------------------------------------------------------------

async function loadRequests(more) {
  const next = more && state.oldest ? "&before=" + state.oldest.ts + "&before_id=" + encodeURIComponent(state.oldest.id) : "";
  const q = "/console/api/requests?limit=50" + next;
  const data = await api(q);
  const body = $("#requests-table tbody");
  if (!more) clear(body);
  for (const r of data.requests) body.append(requestRow(r));
  const last = data.requests[data.requests.length - 1];
  if (last) state.oldest = { ts: last.ts, id: last.decision_id };
  $("#requests-empty").hidden = body.children.length > 0;
  $("#requests-more").hidden = data.requests.length < 50;
}

function requestRow(r) {
  const status = r.status < 400 ? pill(String(r.status), "ok") : pill(String(r.status), r.status === 499 ? "warn" : "bad");
  const tr = h("tr", { "data-decision-id": r.decision_id, onclick: () => openRequest(r.decision_id) },
    h("td", {}, when(r.ts)), h("td", {}, r.client),
    h("td", { "data-col": "tier" }, h("span", { class: "swatch", style: "background:" + color(r.tier) }), r.tier),
    h("td", { class: "mono" }, r.model), h("td", { "data-col": "decided" }, r.decided_by || r.phase), h("td", {}, status),
    h("td", { class: "num", "data-col": "cost" }, usd(r.cost_usd)), h("td", { class: "num", "data-col": "latency" }, ms(r.latency_ms)),
    h("td", { class: "num", "data-col": "rating" }, r.rating ? String(r.rating) : "–"));
  return tr;
}

async function openRequest(id) {
  state.selected = id;
  document.querySelectorAll("#requests-table tbody tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.decisionId === id));
  const box = $("#detail");
  box.hidden = false;
  clear(box).append(h("p", { class: "muted" }, "Loading " + id + "…"));
  let d;
  try { d = await api("/console/api/requests/" + encodeURIComponent(id)); } catch (e) { showError(e); return; }
  const r = d.row;
  clear(box).append(
    h("div", { class: "bar" }, h("h2", {}, "Request ", h("code", {}, r.decision_id)), h("button", { type: "button", onclick: () => { box.hidden = true; } }, "Close")),
    h("dl", { class: "facts" },
      fact("time", when(r.ts)), fact("client", r.client), fact("endpoint", d.endpoint + (d.stream ? " (stream)" : "")),
      fact("served by", r.tier + " · " + r.model), fact("status", String(r.status) + (d.error ? " — " + d.error : "")),
      fact("tokens", d.prompt_tokens === null ? "not reported" : d.prompt_tokens + " in, " + d.completion_tokens + " out"),
      fact("cost", usd(r.cost_usd)), fact("latency", ms(r.latency_ms) + (r.ttft_ms !== null ? " (first token " + ms(r.ttft_ms) + ")" : ""))),
    trace(d.decision, { attempts: d.attempts, title: "Why this tier" }),
    d.shadow ? h("div", {}, h("h3", {}, "The shadow rules would have chosen ", h("b", {}, d.shadow.tier), " (", d.shadow.file, ")"),
      trace(d.shadow.decision, { title: "Candidate rules " + d.shadow.rules_version })) : "",  // append() writes null as "null"
    ratingBox(r.decision_id, d.ratings),
  );
  box.scrollIntoView({ block: "start" });
}

function fact(k, v) { return [h("dt", {}, k), h("dd", {}, v)]; }

function ratingBox(id, ratings) {
  const status = h("span", { class: "muted", "data-test": "rating-status" },
    ratings.length ? "Rated " + ratings.map((x) => x.rating).join(", ") : "Not rated yet");
  const comment = h("input", { type: "text", placeholder: "comment (optional)", "data-test": "rating-comment", size: 40 });
  const box = h("div", { class: "rate", "data-test": "rating" }, h("span", {}, "Rate this decision:"));
  for (let v = 1; v <= 5; v++) {
    box.append(h("button", { type: "button", "data-rating": v, title: v === 1 ? "wrong model" : v === 5 ? "right call" : "",
      onclick: async (ev) => {
        const body = { decision_id: id, rating: v };
        if (comment.value.trim()) body.comment = comment.value.trim();
        try {
          await api("/console/api/feedback", { method: "POST", body: JSON.stringify(body) });
          status.textContent = "Saved: " + v;
          ev.target.classList.add("on");
          const cell = document.querySelector(`#requests-table tr[data-decision-id="${CSS.escape(id)}"] td[data-col=rating]`);
          if (cell) cell.textContent = String(v);
        } catch (e) { showError(e); }
      } }, String(v)));
  }
  box.append(comment, status);
  return box;
}

// --- the trace: one decision, for a person to read ---------------------------------------------------

function trace(d, opts = {}) {
  const box = h("div", { class: "trace", "data-test": "trace" });
  if (opts.title) box.append(h("h3", { style: "margin-top:0" }, opts.title));
  box.append(h("div", { class: "headline" }, "→ ", h("b", { "data-field": "tier" }, d.tier), " · ",
    h("span", { class: "mono", "data-field": "model" }, d.model || "no target"), d.provider ? " (" + d.provider + ")" : ""));
  box.append(h("div", { class: "meta" },
    h("span", {}, "band ", h("b", {}, d.band)), h("span", { "data-field": "phase" }, PHASES[d.phase] || d.phase),
    h("span", {}, "score " + num(d.score)), h("span", {}, "confidence " + num(d.confidence)),
    h("span", {}, "took " + (d.elapsed_us / 1000).toFixed(1) + " ms"), d.sticky ? pill("held by the session", "warn") : null,
    d.requires && d.requires.length ? h("span", {}, "needs " + d.requires.join(", ")) : null,
    h("span", { class: "mono" }, "rules " + d.rules_version)));
  if (d.reasons && d.reasons.length) {
    box.append(h("h4", {}, "Why"), h("ol", { class: "reasons" }, d.reasons.map((r) => h("li", {}, r))));
  }
  if (d.signals && d.signals.length) {
    const max = Math.max(...d.signals.map((s) => Math.abs(s.contribution || 0)), 0.0001);
    box.append(h("h4", {}, "Signals"), h("table", { class: "grid", "data-test": "signals" },
      h("thead", {}, h("tr", {}, h("th", {}, "signal"), h("th", {}, "kind"), h("th", {}, "what it read"), h("th", { class: "num" }, "contribution"), h("th", {}, "action"))),
      h("tbody", {}, d.signals.map((s) => h("tr", { "data-signal": s.name }, h("td", {}, h("b", {}, s.name)), h("td", {}, s.kind),
        h("td", { class: "mono" }, shown(s.value)),
        h("td", { class: "num" }, s.contribution ? (s.contribution > 0 ? "+" : "") + num(s.contribution, 4) + " " : "–",
          s.contribution ? h("span", { class: "meter", style: "width:60px" }, h("i", { style: `width:${(60 * Math.abs(s.contribution)) / max}px` })) : null),
        h("td", {}, s.action || ""))))));
  }
  if (d.read) box.append(readBlock(d.read));
  if (d.learned) box.append(learnedBlock(d.learned));
  if (d.classifier) box.append(classifierBlock(d.classifier));
  if (d.targets && d.targets.length) {
    box.append(h("h4", {}, "Targets, in order"), h("table", { class: "grid", "data-test": "targets" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "tier"), h("th", {}, "backend / model"), h("th", {}, "breaker"), h("th", {}, "usable"))),
      h("tbody", {}, d.targets.map((t, i) => h("tr", {}, h("td", {}, String(i + 1)), h("td", {}, t.tier),
        h("td", { class: "mono" }, t.backend + " / " + t.model), h("td", {}, pill(t.breaker, t.breaker)),
        h("td", {}, t.skipped ? pill("skipped: " + t.skipped, "bad") : pill("yes", "ok")))))));
  }
  if (opts.attempts && opts.attempts.length) {
    box.append(h("h4", {}, "Attempts"), h("table", { class: "grid", "data-test": "attempts" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "target"), h("th", {}, "outcome"), h("th", { class: "num" }, "time"), h("th", {}, "detail"))),
      h("tbody", {}, opts.attempts.map((a, i) => h("tr", { "data-outcome": a.outcome }, h("td", {}, String(i + 1)),
        h("td", { class: "mono" }, a.tier + " / " + a.backend + " / " + a.model),
        h("td", {}, pill(a.outcome, a.outcome === "ok" ? "ok" : "bad")), h("td", { class: "num" }, ms(a.elapsed_ms)),
        h("td", {}, [a.status ? "HTTP " + a.status : "", a.error || ""].filter(Boolean).join(" — ")))))));
  } else if (opts.attempts) {
    box.append(h("p", { class: "muted" }, "No upstream attempt was made."));
  }
  return box;
}

function meter(p, cut) {
  return h("span", { class: "meter" }, h("i", { style: `width:${Math.round(120 * p)}px` }),
    cut !== undefined && cut !== null ? h("b", { style: `left:${Math.round(120 * cut)}px`, title: "cut-off" }) : null);
}

// What the rules read of the conversation (the dry run only): the ask and where an agent loop stands.
function readBlock(r) {
  const a = r.agent || {};
  return h("div", { "data-test": "read" }, h("h4", {}, "What the rules read"), h("dl", { class: "facts" },
    fact("the ask (ask_text)", [h("span", { class: "mono", "data-field": "ask", style: "white-space:pre-wrap" }, r.ask || "(none)"),
      " (" + r.ask_chars + " characters)"]),
    fact("agent steps since it", h("span", { "data-field": "agent" }, "steps " + a.steps + " · failures in a row " + a.failures_in_row +
      " · most repeated failure " + a.repeated_failure + " · tests green " + (a.tests_green ? "yes" : "no")))));
}

function learnedBlock(l) {
  const box = h("div", { "data-test": "learned" }, h("h4", {}, "Learned scorer"));
  if (!l.available) {
    box.append(h("p", {}, pill("unavailable", "warn"), " ", l.reason || ""));
    return box;
  }
  box.append(h("dl", { class: "facts" },
    fact("P(needs sonnet or above)", [meter(l.p_sonnet), " " + num(l.p_sonnet, 3)]),
    fact("P(needs opus)", [meter(l.p_opus), " " + num(l.p_opus, 3)]),
    fact("its tier", l.tier || "–"), fact("head", l.head + " on " + l.encoders.join(", ")),
    fact("read in", (l.latency_us / 1000).toFixed(1) + " ms" + (l.cache_hit ? " (cached)" : ""))));
  return box;
}

function classifierBlock(c) {
  const box = h("div", { "data-test": "classifier" }, h("h4", {}, "Classifier (phase 2)"));
  const ok = c.outcome === "ok" || c.outcome === "cache_hit";
  box.append(h("dl", { class: "facts" },
    fact("model", c.model || "–"), fact("outcome", pill(c.outcome === "cache_hit" ? "answered from cache" : c.outcome, ok ? "ok" : c.outcome === "skipped" ? "" : "bad")),
    c.tier ? fact("its answer", c.tier + (c.confidence !== null && c.confidence !== undefined ? " (confidence " + num(c.confidence) + ")" : "")) : null,
    c.reason ? fact("its reason", c.reason) : null, c.floor ? fact("lowest allowed", c.floor) : null,
    c.error ? fact("error", c.error) : null, c.latency_us ? fact("took", (c.latency_us / 1000).toFixed(1) + " ms") : null,
    c.usage ? fact("charged", c.usage.prompt_tokens + " prompt + " + c.usage.completion_tokens + " completion tokens") : null));
  return box;
}

// --- dry run --------------------------------------------------------------------------------------

function setupDryRun() {
  const select = clear($("#dryrun-dialect"));
  for (const d of state.status.dialects) select.append(h("option", { value: d.name }, d.label));
  const fill = () => {
    const d = state.status.dialects.find((x) => x.name === select.value);
    $("#dryrun-body").value = JSON.stringify(d.example, null, 2);
  };
  select.onchange = fill;
  fill();
  $("#dryrun-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const out = clear($("#dryrun-result"));
    const q = "?dialect=" + encodeURIComponent(select.value) + "&classify=" + ($("#dryrun-classify").checked ? "true" : "false");
    try {
      const data = await api("/console/api/route" + q, { method: "POST", body: $("#dryrun-body").value });
      out.append(trace(data.decision, { title: "Decision (no model called)" }));
    } catch (e) {
      if (!(e instanceof AuthNeeded)) out.append(h("p", { class: "error", "data-test": "dryrun-error" }, e.message));
    }
  };
}

// --- rules ----------------------------------------------------------------------------------------

async function loadRules() {
  const s = (state.status = await api("/console/api/status"));
  $("#rules-badge").textContent = "rules " + s.rules.version;
  const info = clear($("#rules-info"));
  info.append(...fact("file", s.rules.path), ...fact("version", s.rules.version), ...fact("last (re)load", when(s.rules.loaded_at)),
    ...fact("reloads", String(s.rules.reloads)), ...fact("status", s.rules.status === "ok" ? "ok" : "last reload rejected"));
  const err = clear($("#rules-error"));
  if (s.rules.last_error.length) {
    err.append(h("div", { class: "error", "data-test": "reload-error" }, h("b", {}, "The last reload was rejected; the rules above still serve."),
      h("ul", {}, s.rules.last_error.map((p) => h("li", { class: "mono" }, (p.file ? p.file + (p.line ? ":" + p.line : "") + ": " : "") + (p.path ? p.path + ": " : "") + p.message)))));
  } else {
    err.append(h("p", { class: "muted" }, "No reload error."));
  }
  const warned = clear($("#rules-warnings"));
  if (s.rules.warnings.length) {
    warned.append(h("div", { class: "warning", "data-test": "rules-warnings" }, h("b", {}, "The rules serving have warnings (tiergate validate lists them too):"),
      h("ul", {}, s.rules.warnings.map((p) => h("li", { class: "mono" }, p.file + (p.line ? ":" + p.line + ":" + p.col : "") + ": " + p.message)))));
  }
  const body = clear($("#breakers tbody"));
  for (const b of s.breakers) {
    body.append(h("tr", { "data-target": b.target }, h("td", { class: "mono" }, b.backend + " / " + b.model), h("td", {}, b.tier),
      h("td", {}, pill(b.state, b.state))));
  }
  const log = clear($("#log-info"));
  const dl = s.decision_log;
  const logState = !dl.on ? "off" : dl.status === "down" ? "down since " + when(dl.down_since) + ": rows are kept until it can be written" : "on";
  log.append(...fact("state", logState), ...(dl.on ? fact("where", dl.where) : []), ...(dl.reason ? fact("why", dl.reason) : []),
    ...(dl.on ? fact("waiting / dropped", dl.pending + " / " + dl.dropped) : []));
}

// --- shadow ---------------------------------------------------------------------------------------

async function loadShadow() {
  let data;
  try { data = await api("/console/api/shadow?window=" + encodeURIComponent(state.shadowWindow)); } catch (e) {
    showError(e); return;
  }
  const st = data.status, rep = data.report;
  const info = clear($("#shadow-info"));
  const body = clear($("#shadow-body"));
  if (!st.configured) {
    body.append(h("p", { class: "muted", "data-test": "shadow-off" },
      "No shadow rules. Name a candidate file in routes.yaml (shadow: routes.next.yaml): every live request is then also decided by it, after its response, with no model call."));
  } else {
    info.append(...fact("candidate", st.path || st.file), ...fact("version", st.version || "not loaded"),
      ...fact("sample", pct(st.sample)), ...fact("decided / pending / dropped", st.decided + " / " + st.pending + " / " + st.dropped));
    if (st.problems.length) body.append(h("div", { class: "error" }, h("b", {}, "The candidate file is not usable:"), h("ul", {}, st.problems.map((p) => h("li", { class: "mono" }, p)))));
  }
  if (!rep.shadowed) {
    if (st.configured) body.append(h("p", { class: "muted" }, "No shadowed requests in the last " + data.window + " yet."));
    return;
  }
  const differ = rep.shadowed - rep.agreed;
  const delta = rep.candidate_cost_usd - rep.live_cost_usd;
  body.append(h("div", { class: "cards" },
    card("Shadowed requests", String(rep.shadowed), "shadowed", "in the last " + data.window),
    card("Disagree", String(differ), "shadow-disagree", pct(differ / rep.shadowed) + " of them", differ ? "neg" : ""),
    card("Live cost", usd(rep.live_cost_usd), "shadow-live-cost", "over " + rep.priced + " priced requests"),
    card("Candidate cost (estimate)", usd(rep.candidate_cost_usd), "shadow-candidate-cost",
      (delta > 0 ? "+" : "") + usd(delta) + " against the live rules", delta > 0 ? "neg" : "pos"),
    card("Ratings where they disagree", rep.disagreeing_rated ? mean(rep.disagreeing_rating_mean) : "–", "shadow-ratings",
      rep.disagreeing_rated + " rated: " + Object.entries(rep.disagreeing_ratings).map(([k, v]) => k + "★ " + v).join(", "))));
  body.append(h("h3", {}, "Live tier → candidate tier"), h("table", { class: "grid", "data-test": "shadow-pairs" },
    h("thead", {}, h("tr", {}, h("th", {}, "live"), h("th", {}, "candidate"), h("th", { class: "num" }, "requests"))),
    h("tbody", {}, rep.pairs.map((p) => h("tr", { "data-pair": p.live + ">" + p.candidate, class: p.live === p.candidate ? "muted" : "" },
      h("td", {}, p.live), h("td", {}, p.live === p.candidate ? p.candidate + " (same)" : h("b", {}, p.candidate)),
      h("td", { class: "num", "data-field": "count" }, String(p.count)))))));
  if (rep.examples.length) {
    body.append(h("h3", {}, "Where they disagree (latest first)"));
    for (const ex of rep.examples) {
      body.append(h("div", { class: "panel", "data-test": "shadow-example", "data-decision-id": ex.row.decision_id },
        h("div", {}, h("code", {}, ex.row.decision_id), " · ", when(ex.row.ts), " · ", ex.row.client, ex.row.rating ? " · rated " + ex.row.rating : ""),
        h("div", { class: "sbs" }, h("div", {}, trace(ex.live, { title: "Live rules" })),
          h("div", {}, trace(ex.candidate.decision, { title: "Candidate (" + ex.candidate.file + ")" })))));
    }
  }
}

// --- boot -----------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("#login-key").value);
    $("#login-key").value = "";
    start();
  });
  $("#signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  $("#requests-refresh").addEventListener("click", () => loadRequests().catch(showError));
  $("#requests-more").addEventListener("click", () => loadRequests(true).catch(showError));
  window.addEventListener("hashchange", route);
  start();
});
