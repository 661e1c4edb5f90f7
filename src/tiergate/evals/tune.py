"""``tiergate tune``: fit scorer weights and band thresholds on a labelled dev set; print a routes.yaml diff.

What it changes: ``routing.scorers[*].weight``, ``routing.bands.local``, ``routing.bands.claude`` and
``routing.escalation.score_at_least`` (when the file sets it). Rules, keyword lists and transforms are
left alone: they are the vocabulary, tuning only re-weighs it.

How:

1. **Cases.** Each dev case is run through phase 1 once to record what tuning cannot change (rules that
   force a band or tier, the rules' score adjustments, the escalation condition, explicit choices,
   capability fallbacks) and the scorers' transformed values ``v`` in [0, 1]. A simulation of phase 1 from
   these numbers is checked against the real engine before anything is fitted.
2. **Weights.** The score is ``clip(w·v + adds, 0, 1)`` with ``w`` normalised to sum 1, so a logistic model
   in that score is linear in ``x = v + adds`` with coefficients ``β ≥ 0`` (``w = β / Σβ``). The model is an
   all-threshold ordinal logistic regression (one shared ``β``, one cut per tier boundary), fitted by
   projected gradient descent on the cases no rule forces, with an L2 penalty pulling ``β`` toward the
   current weights: a scorer the dev set says nothing about keeps its weight.
3. **Thresholds.** With the current and the fitted weights, a grid search over ``(bands.local,
   bands.claude, escalation.score_at_least)`` keeps the settings whose severe under-routing on dev is at
   most ``max_severe`` and whose sufficiency *per gold tier* is at least its floor (the current file's
   unless ``min_sufficiency`` names one). Of those within ``cost_tolerance`` of the cheapest estimated
   cost (classifier off), the most accurate wins, then the one nearest the current file. Per-tier floors
   stop the search from buying cheaper opus decisions with the local band; the tolerance stops it from
   chasing the last cent of a small dev set.
4. **Report.** The edited file is compiled and evaluated by the real engine on dev (and on the test set
   when given): before/after metrics beside a unified diff. The file is written only with ``--write``.

    tiergate tune --config routes.yaml evals/dev.jsonl                       # diff + metrics
    tiergate tune --config routes.yaml evals/dev.jsonl --test evals/test.jsonl --write
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from tiergate.config.loader import LoadedConfig, load_text
from tiergate.config.model import RoutesConfig
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.engine.router import Learned, Router
from tiergate.evals.dataset import Dataset
from tiergate.evals.metrics import Report, TierTable, output_tokens, score_labelled
from tiergate.evals.run import route_all
from tiergate.learned.scorer import LearnedPool
from tiergate.rules.features import Features

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TuneOptions:
    """``min_sufficiency``: per gold tier, the share that must be routed to that tier or above on dev; a
    tier not named keeps the current file's share (so by default tuning never trades quality away)."""

    max_severe: float = 0.01
    min_sufficiency: dict[str, float] = field(default_factory=dict)
    cost_tolerance: float = 0.02
    l2: float = 0.1
    output_tokens: int | None = None
    iterations: int = 4000


# --- 1. what phase 1 makes of each case -------------------------------------------------------


@dataclass
class CaseTable:
    """Per-case numbers for simulating phase 1 under other weights and thresholds (arrays over cases)."""

    ids: list[str]
    values: Array  # [cases, scorers] transformed scorer values in [0, 1]
    adds: Array  # sum of the fired rules' `score`
    forced_band: list[str | None]  # a rule forced this band (None: the scorers decide)
    fixed_tier: list[str | None]  # explicit choice, non-local_first mode, or a rule forcing a tier
    escalates: npt.NDArray[np.bool_]  # the escalation condition holds
    chosen: list[dict[str, str]]  # routed tier -> tier of the first usable target
    gold: npt.NDArray[np.int64]
    cost: Array  # [cases, tiers] estimated cost of serving each case on each tier

    @property
    def free(self) -> npt.NDArray[np.bool_]:
        """Cases whose band the scores decide."""
        return np.array([b is None and t is None for b, t in zip(self.forced_band, self.fixed_tier, strict=True)])


async def case_table(
    graph: EvaluationGraph,
    data: Dataset,
    table: TierTable,
    fixed_output: int | None,
    learned: Learned | None = None,
) -> CaseTable:
    """``learned``: the file's learned scorer, as ``tiergate eval`` builds it (:class:`LearnedPool`); without
    it a file whose rules or scorers read ``learned.*`` is tabulated as if the scorer were unavailable."""
    config = graph.config
    router = Router(graph, learned=learned)
    k = len(table.order)
    values: list[Array] = []
    adds: list[float] = []
    bands: list[str | None] = []
    fixed: list[str | None] = []
    esc: list[bool] = []
    chosen: list[dict[str, str]] = []
    gold: list[int] = []
    cost: list[list[float]] = []
    for case in data.cases:
        f = graph.features(case.request)
        # The router puts the learned reading on f (learned.prepare) before its phase 1; everything below
        # reads f after it, as route_all does, so rules and scorers on learned.* see what the engine saw.
        decision = (await router.decide(case.request, {}, features=f, classify=False)).decision
        p1 = graph.phase1(f)
        v, _, _ = graph.scorers.evaluate(f)
        values.append(v if len(v) else np.zeros(0))
        fired = [r for r in graph.rules if r.predicate(f)]
        adds.append(sum(r.score for r in fired))
        forcing = next((r for r in fired if r.band or r.tier), None)
        if decision.phase == "explicit":
            bands.append(None)
            fixed.append(decision.tier)
        elif config.routing.mode != "local_first":
            bands.append(None)
            fixed.append(p1.tier)
        elif forcing is not None and forcing.tier:
            bands.append(None)
            fixed.append(forcing.tier)
        else:
            bands.append(forcing.band if forcing is not None else None)
            fixed.append(None)
        esc.append(bool(graph.escalation is not None and graph.escalation(f)))
        routes = {tier: _first_usable(graph, f, tier, p1.requires) for tier in config.tiers}
        if decision.phase == "explicit":
            routes[decision.tier] = decision.tier
        chosen.append(routes)
        g = table.rank(case.gold or "")
        gold.append(g)
        tokens_in, tokens_out = int(f["approx_tokens"]), output_tokens(g, fixed_output)
        cost.append([table.cost(t, tokens_in, tokens_out) for t in table.order])
    n_scorers = len(graph.scorers.names)
    return CaseTable(
        ids=[c.id for c in data.cases],
        values=np.array(values, dtype=np.float64).reshape(len(data.cases), n_scorers),
        adds=np.array(adds, dtype=np.float64),
        forced_band=bands,
        fixed_tier=fixed,
        escalates=np.array(esc, dtype=bool),
        chosen=chosen,
        gold=np.array(gold, dtype=np.int64),
        cost=np.array(cost, dtype=np.float64).reshape(len(data.cases), k),
    )


def _first_usable(graph: EvaluationGraph, f: Features, tier: str, requires: set[str]) -> str:
    """The tier the router ends up on for a routed tier (as Router.decide: capabilities, breakers closed)."""
    needs = set(requires)
    if f["tools_present"] or f["tool_results_present"]:
        needs.add("tools")
    if f["images_present"]:
        needs.add("vision")
    if f["documents_present"]:
        needs.add("documents")
    tokens = int(f["approx_tokens"]) + int(f["max_tokens"])
    chain = graph.chains.for_tier(tier, None)
    for target in chain:
        if target.lacks(frozenset(needs), tokens) is None:
            return target.tier
    return chain[0].tier if chain else tier


# --- simulation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    weights: tuple[float, ...]  # as written in the file (not normalised)
    local: float
    claude: float
    escalate_at: float | None

    def normalised(self) -> Array:
        w = np.asarray(self.weights, dtype=np.float64)
        return w / w.sum() if w.sum() > 0 else w


def scores(cases: CaseTable, weights: Array) -> Array:
    return (
        np.clip(cases.values @ weights + cases.adds, 0.0, 1.0) if cases.values.shape[1] else np.clip(cases.adds, 0, 1)
    )


@dataclass(frozen=True)
class Plan:
    """:class:`CaseTable` as rank arrays, so one setting's routing is a few vector operations."""

    fixed: npt.NDArray[np.int64]  # rank of a fixed tier, -1 when the band decides
    forced: npt.NDArray[np.int64]  # 0: scores decide, 1 LOCAL, 2 AMBIGUOUS, 3 CLAUDE
    on_local: npt.NDArray[np.int64]
    on_ambiguous: npt.NDArray[np.int64]
    on_claude: npt.NDArray[np.int64]
    on_escalation: npt.NDArray[np.int64]
    escalates: npt.NDArray[np.bool_]
    can_escalate: bool
    ambiguous_escalates: bool  # AMBIGUOUS falls back to the CLAUDE band's tier, so it escalates too

    @classmethod
    def of(cls, cases: CaseTable, config: RoutesConfig, table: TierTable) -> Plan:
        bt = config.routing.band_tiers
        esc = config.routing.escalation

        def ranks(tier_of: list[str | None]) -> npt.NDArray[np.int64]:
            return np.array(
                [-1 if t is None else table.rank(c[t]) for t, c in zip(tier_of, cases.chosen, strict=True)],
                dtype=np.int64,
            )

        n = len(cases.ids)
        codes = {None: 0, "LOCAL": 1, "AMBIGUOUS": 2, "CLAUDE": 3}
        return cls(
            fixed=ranks(cases.fixed_tier),
            forced=np.array([codes[b] for b in cases.forced_band], dtype=np.int64),
            on_local=ranks([bt.local] * n),
            on_ambiguous=ranks([bt.ambiguous] * n),
            on_claude=ranks([bt.claude] * n),
            on_escalation=ranks([esc.tier if esc is not None else bt.claude] * n),
            escalates=cases.escalates,
            can_escalate=esc is not None,
            ambiguous_escalates=bt.ambiguous == bt.claude,
        )

    def route(self, s: Array, local: float, claude: float, escalate_at: float | None) -> npt.NDArray[np.int64]:
        """Predicted tier ranks for one setting (the engine's phase 1, classifier off)."""
        band = np.where(self.forced > 0, self.forced, np.where(s < local, 1, np.where(s >= claude, 3, 2)))
        up = self.escalates | (s >= escalate_at) if escalate_at is not None else self.escalates
        up = up & ((band == 3) | ((band == 2) & self.ambiguous_escalates)) & self.can_escalate
        routed = np.where(
            band == 1,
            self.on_local,
            np.where(up, self.on_escalation, np.where(band == 2, self.on_ambiguous, self.on_claude)),
        )
        return np.where(self.fixed >= 0, self.fixed, routed)


def simulate(
    cases: CaseTable,
    config: RoutesConfig,
    table: TierTable,
    s: Array,
    local: float,
    claude: float,
    escalate_at: float | None,
) -> npt.NDArray[np.int64]:
    return Plan.of(cases, config, table).route(s, local, claude, escalate_at)


@dataclass(frozen=True)
class Quick:
    """Metrics of a simulated setting, enough to rank settings. ``per_tier[r]``: sufficiency of the cases
    whose gold tier has rank r (1.0 when there are none)."""

    cost: float
    sufficiency: float
    severe: float
    accuracy: float
    per_tier: tuple[float, ...]


def quick(cases: CaseTable, predicted: npt.NDArray[np.int64]) -> Quick:
    k = cases.cost.shape[1]
    top = k - 1
    g = cases.gold
    ok = predicted >= g
    return Quick(
        cost=float(cases.cost[np.arange(len(g)), predicted].sum()),
        sufficiency=float(ok.mean()),
        severe=float(((g == top) & (predicted == 0)).mean()) if top > 0 else 0.0,
        accuracy=float((predicted == g).mean()),
        per_tier=tuple(float(ok[g == r].mean()) if (g == r).any() else 1.0 for r in range(k)),
    )


# --- 2. the weights ---------------------------------------------------------------------------


def sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass
class Fit:
    beta: Array
    cuts: Array
    loss: float
    prior: Array


def fit_ordinal(
    x: Array, y: npt.NDArray[np.int64], k: int, prior: Array, l2: float, iterations: int, *, fit_beta: bool = True
) -> Fit:
    """All-threshold ordinal logistic regression: for each boundary j (1..k-1), P(y >= j) = sigmoid(x·β - c_j),
    with β ≥ 0 and penalty ``l2 · |β - prior|² / n``. ``prior`` is the current weights, rescaled by
    :func:`prior_scale`, so the penalty compares like with like. ``fit_beta=False`` fits only the cuts."""
    n, d = x.shape
    targets = np.stack([(y >= j).astype(np.float64) for j in range(1, k)], axis=1)  # [n, k-1]
    beta = prior.copy()
    cuts = np.linspace(-1.0, 1.0, k - 1) + float(x.mean(axis=0) @ beta)
    m_b, v_b = np.zeros(d), np.zeros(d)
    m_c, v_c = np.zeros(k - 1), np.zeros(k - 1)
    nll = float("inf")
    for t in range(1, iterations + 1):  # Adam, projected onto β >= 0 and ordered cuts
        p = sigmoid((x @ beta)[:, None] - cuts[None, :])
        nll = float(-(targets * np.log(p + 1e-12) + (1 - targets) * np.log(1 - p + 1e-12)).sum() / n)
        r = (p - targets) / n  # d nll / d (z - c)
        lr = 0.5 / (1 + t / 500)
        correction = np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        gc = -r.sum(axis=0)
        m_c, v_c = 0.9 * m_c + 0.1 * gc, 0.999 * v_c + 0.001 * gc**2
        cuts = np.sort(cuts - lr * correction * m_c / (np.sqrt(v_c) + 1e-8))
        if fit_beta:
            gb = x.T @ r.sum(axis=1) + 2 * l2 * (beta - prior) / n
            m_b, v_b = 0.9 * m_b + 0.1 * gb, 0.999 * v_b + 0.001 * gb**2
            beta = np.maximum(0.0, beta - lr * correction * m_b / (np.sqrt(v_b) + 1e-8))
    penalty = l2 * float(((beta - prior) ** 2).sum()) / n
    return Fit(beta, cuts, nll + penalty, prior)


def prior_scale(x: Array, y: npt.NDArray[np.int64], k: int, w: Array) -> float:
    """The slope ``B`` with which the current weights fit best as they are (β = B·w), by a 1-D search."""
    best, best_loss = 1.0, float("inf")
    for b in np.geomspace(0.5, 500, 40):
        fit = fit_ordinal(x, y, k, float(b) * w, 0.0, 300, fit_beta=False)
        if fit.loss < best_loss:
            best, best_loss = float(b), fit.loss
    return best


# --- 3. the thresholds ------------------------------------------------------------------------


def candidates(s: Array, *keep: float | None) -> list[float]:
    """Midpoints between the distinct scores (where a threshold can change a decision), plus ``keep``."""
    u = np.unique(np.round(s, 6))
    mids = (u[1:] + u[:-1]) / 2 if len(u) > 1 else u
    out = {round(float(m), 3) for m in mids} | {0.0, 1.0} | {round(float(v), 3) for v in keep if v is not None}
    return sorted(v for v in out if 0.0 <= v <= 1.0)


@dataclass
class Search:
    setting: Setting | None
    quick: Quick | None
    feasible: int
    tried: int


def search(
    cases: CaseTable,
    config: RoutesConfig,
    table: TierTable,
    weight_sets: Sequence[tuple[float, ...]],
    current: Setting,
    max_severe: float,
    floors: Sequence[float],
    tolerance: float,
) -> Search:
    """Feasible: severe under-routing at most ``max_severe`` and each gold tier's sufficiency at least its
    floor. Among feasible (weights, local, claude, escalate_at) settings, those within ``tolerance`` of the
    cheapest cost count as equally cheap: the most accurate of them wins, then the one nearest now.
    (Chasing the last cent on a small dev set picks corners that do not carry over to new traffic.)"""
    found: list[tuple[float, float, float, Setting, Quick]] = []
    tried = 0
    plan = Plan.of(cases, config, table)
    for weights in dict.fromkeys(weight_sets):
        s = scores(cases, Setting(weights, 0, 0, None).normalised())
        grid = candidates(s, current.local, current.claude, current.escalate_at)
        esc_grid: list[float | None] = [None] if current.escalate_at is None else list(grid)
        moved = sum(abs(a - b) for a, b in zip(weights, current.weights, strict=True))
        for local in grid:
            for claude in (c for c in grid if c >= local):
                for esc in esc_grid:
                    tried += 1
                    q = quick(cases, plan.route(s, local, claude, esc))
                    if q.severe > max_severe + 1e-12 or any(
                        got < want - 1e-12 for got, want in zip(q.per_tier, floors, strict=True)
                    ):
                        continue
                    distance = moved + abs(local - current.local) + abs(claude - current.claude)
                    if esc is not None and current.escalate_at is not None:
                        distance += abs(esc - current.escalate_at)
                    found.append((q.cost, q.accuracy, distance, Setting(weights, local, claude, esc), q))
    if not found:
        return Search(None, None, 0, tried)
    cheapest = min(f[0] for f in found)
    near = [f for f in found if f[0] <= cheapest * (1 + tolerance) + 1e-12]
    _, _, _, setting, q = min(near, key=lambda f: (-f[1], f[2], f[0]))
    return Search(setting, q, len(found), tried)


# --- 4. the file ------------------------------------------------------------------------------


def current_setting(config: RoutesConfig) -> Setting:
    r = config.routing
    return Setting(
        tuple(s.weight for s in r.scorers),
        r.bands.local,
        r.bands.claude,
        r.escalation.score_at_least if r.escalation is not None else None,
    )


def rounded_weights(beta: Array, current: Sequence[float]) -> tuple[float, ...]:
    """β rescaled to the file's current total weight, two decimals."""
    total = float(sum(current)) or float(len(current))
    scaled = beta / beta.sum() * total if beta.sum() > 0 else np.asarray(current, dtype=np.float64)
    return tuple(round(float(v), 2) for v in scaled)


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value not in (0.0, 1.0) else f"{value:g}"


class YamlEdit:
    """Edits of scalar values in a YAML text at the nodes' own positions, so comments and layout survive."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        self._edits: list[tuple[int, int, str]] = []

    def node(self, path: Sequence[str | int]) -> yaml.Node | None:
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return None
            if node is None:
                return None
        return node

    def set(self, path: Sequence[str | int], value: str) -> None:
        """Replace the scalar at ``path``, or add ``key: value`` to the mapping at ``path[:-1]``."""
        node = self.node(path)
        if isinstance(node, yaml.ScalarNode):
            if node.value != value:
                self._edits.append((node.start_mark.index, node.end_mark.index, value))
            return
        parent = self.node(path[:-1])
        key = str(path[-1])
        if not isinstance(parent, yaml.MappingNode):
            self.set(path[:-1], "{" + f"{key}: {value}" + "}")
            return
        if parent.flow_style:
            end = parent.end_mark.index - 1  # the closing brace
            sep = ", " if parent.value else ""
            self._edits.append((end, end, f"{sep}{key}: {value}"))
            return
        first_key = parent.value[0][0]
        end = parent.value[-1][1].end_mark.index
        while end > 0 and self.text[end - 1] in " \t\r\n":
            end -= 1
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        self._edits.append((line_end, line_end, "\n" + " " * first_key.start_mark.column + f"{key}: {value}"))

    def result(self) -> str:
        text = self.text
        for start, end, new in sorted(self._edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text


def patched(text: str, config: RoutesConfig, setting: Setting) -> str:
    edit = YamlEdit(text)
    for i, weight in enumerate(setting.weights):
        edit.set(("routing", "scorers", i, "weight"), _fmt(weight))
    edit.set(("routing", "bands", "local"), _fmt(setting.local))
    edit.set(("routing", "bands", "claude"), _fmt(setting.claude))
    if setting.escalate_at is not None and config.routing.escalation is not None:
        edit.set(("routing", "escalation", "score_at_least"), _fmt(setting.escalate_at))
    return edit.result()


# --- the command ------------------------------------------------------------------------------


@dataclass
class TuneResult:
    text: str  # the suggested file (== the original when nothing changes)
    diff: str
    lines: list[str] = field(default_factory=list)
    ok: bool = True


async def tune(
    loaded: LoadedConfig, config_path: Path, dev: Dataset, test: Dataset | None, options: TuneOptions
) -> TuneResult:
    graph = compile_graph(loaded)
    config = graph.config
    for data in (dev, test):
        if data is not None:
            if data.kind != "labelled":
                raise ValueError(f"{data.path}: tune needs a labelled set ({{id, gold, why, request}})")
            data.check_tiers(config.tiers)
    if config.routing.mode != "local_first":
        raise ValueError(f"{config_path}: routing.mode is {config.routing.mode}; tune fits the local_first scorers")
    if not config.routing.scorers:
        raise ValueError(f"{config_path}: routing.scorers is empty; nothing to tune")
    pool = LearnedPool()  # the learned scorer, built as `tiergate eval` builds it
    try:
        return await _tune(loaded, graph, config_path, dev, test, options, pool)
    finally:
        pool.close()


async def _tune(
    loaded: LoadedConfig,
    graph: EvaluationGraph,
    config_path: Path,
    dev: Dataset,
    test: Dataset | None,
    options: TuneOptions,
    pool: LearnedPool,
) -> TuneResult:
    config = graph.config
    table = TierTable.of(config)
    learned = pool.build(graph)
    cases = await case_table(graph, dev, table, options.output_tokens, learned)
    current = current_setting(config)
    engine = await route_all(graph, dev, learned=learned)
    simulated = simulate(
        cases, config, table, scores(cases, current.normalised()), current.local, current.claude, current.escalate_at
    )
    agree = sum(int(table.rank(o.predicted) == p) for o, p in zip(engine, simulated, strict=True))
    lines = [
        f"tiergate tune: {config_path} (rules {graph.version}) on {dev.path}: {len(dev.cases)} cases, "
        f"{int(cases.free.sum())} placed by the scores (the rest forced by rules or explicit)",
        f"phase-1 simulation agrees with the engine on {agree}/{len(dev.cases)} dev cases",
    ]
    free = cases.free
    k = len(table.order)
    weights = current.weights
    if free.sum() >= 2 and len(set(cases.gold[free].tolist())) >= 2:
        x = cases.values[free] + cases.adds[free][:, None]
        y = cases.gold[free]
        w0 = current.normalised()
        scale = prior_scale(x, y, k, w0)
        fit = fit_ordinal(x, y, k, scale * w0, options.l2, options.iterations)
        weights = rounded_weights(fit.beta, current.weights)
        lines.append(
            f"weights: all-threshold ordinal logistic on {int(free.sum())} cases, β ≥ 0, L2 {options.l2:g} toward "
            f"the current weights (slope {scale:.3g}); loss {fit.loss:.4f}"
        )
    else:
        lines.append("weights: kept (fewer than two score-placed cases with different gold tiers on dev)")
    now = quick(cases, simulated)
    wanted = dict(options.min_sufficiency)
    every = wanted.pop("*", None)
    unknown = sorted(set(wanted) - set(table.order))
    if unknown:
        raise ValueError(f"--min-sufficiency names {', '.join(unknown)}, not tiers of {config_path}")
    floors = tuple(
        wanted.get(tier, every if every is not None and r > 0 else now.per_tier[r])
        for r, tier in enumerate(table.order)
    )
    found = search(
        cases, config, table, [current.weights, weights], current, options.max_severe, floors, options.cost_tolerance
    )
    floor_text = ", ".join(f"{tier} {100 * f:.0f}%" for tier, f in list(zip(table.order, floors, strict=True))[1:])
    lines.append(
        f"thresholds: {found.feasible} of {found.tried} settings (current and fitted weights) keep severe "
        "under-routing <= {:g}% and each gold tier's sufficiency at or above {}".format(
            100 * options.max_severe, "its floor" if options.min_sufficiency else "the current file's"
        )
        + (f" ({floor_text})" if floor_text else "")
        + f" on dev; of those within {100 * options.cost_tolerance:g}% of the cheapest estimated cost, "
        "the most accurate"
    )
    original = loaded.source.text
    if found.setting is None:
        lines.append("no setting of the weights and bands meets the constraints on dev: no change suggested")
        return TuneResult(original, "", lines, ok=False)
    text = patched(original, config, found.setting)
    diff = "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"a/{config_path}",
            tofile=f"b/{config_path}",
        )
    )
    after_graph = compile_graph(load_text(text, str(config_path)))
    lines += [
        "",
        diff.rstrip("\n") if diff else "(no change suggested: the current file is already the best found)",
        "",
    ]
    lines += await compare(graph, after_graph, dev, test, options, learned=(learned, pool.build(after_graph)))
    return TuneResult(text, diff, lines)


async def compare(
    before: EvaluationGraph,
    after: EvaluationGraph,
    dev: Dataset,
    test: Dataset | None,
    options: TuneOptions,
    *,
    learned: tuple[Learned | None, Learned | None] = (None, None),
) -> list[str]:
    """Before/after metrics from the real engine (classifier off), each graph with its learned scorer
    (``learned``: before's, after's), as ``tiergate eval`` routes."""
    columns: list[tuple[str, Report]] = []
    for data, label in ((dev, "dev"), (test, "test")):
        if data is None:
            continue
        for graph, scorer, when in ((before, learned[0], "before"), (after, learned[1], "after")):
            outcomes = await route_all(graph, data, learned=scorer)
            columns.append(
                (f"{label} {when}", score_labelled(outcomes, TierTable.of(graph.config), options.output_tokens))
            )
    rows: list[tuple[str, Callable[[Report], float]]] = [
        ("exact accuracy", lambda r: r.accuracy),
        ("sufficiency", lambda r: r.sufficiency),
        ("under-routing", lambda r: r.under),
        ("severe under-routing", lambda r: r.severe_under),
        ("over-routing", lambda r: r.over),
        ("severe over-routing", lambda r: r.severe_over),
        ("decided by phase 1", lambda r: r.phase1_share),
        ("cost saved vs dearest", lambda r: r.saved),
    ]
    out = ["metrics (classifier off)".ljust(24) + "".join(f"{name:>13}" for name, _ in columns)]
    for label, get in rows:
        out.append(label.ljust(24) + "".join(f"{100 * get(r):12.1f}%" for _, r in columns))
    return out
