"""``tiergate train``: fit the learned head on labelled requests and choose its cut-offs.

1. **Rows.** Labelled JSONL in the ``evals/`` format, each file with a weight (``--data FILE[:WEIGHT]``), and
   the decision log joined with feedback (``--log``): a rating of 1 or 2 on an answer says the next tier up
   was needed, 4 or 5 that the tier that answered was enough, and a conversation the client sent again
   explicitly to a higher tier labels its earlier routed requests (not its side requests) with that tier.
   Only logged rows with their ask stored (``server.decision_log.store_ask``) can be learned from. The log
   is the SQLite file or a team's ``postgresql://`` URL. The first file needs MIN_PER_TIER cases of each tier.
2. **Text.** What the routes.yaml's ask reader makes of each request (``ask_text``), embedded by every
   encoder of the head (``--encoders``).
3. **Fit.** Two L2 logistic regressions (tier >= sonnet, tier = opus) with per-row weights: over every
   encoder's vector side by side (``--combine concat``, the default), or one pair per encoder with the
   probabilities averaged (``--combine mean``).
4. **Cut-offs.** Cross-validated probabilities on the first data file (the in-domain set) are routed
   through the routes.yaml graph itself; the cut-offs kept are those with no severe under-routing and at
   least ``--sufficiency``, then the most exact, then the cheapest. The AMBIGUOUS band above the sonnet
   cut-off is sized to hold about ``--ambiguous`` of the requests.
5. **Report** on ``--test`` in ``tiergate eval``'s format, with the new head. ``--write`` writes the head
   file and the cut-offs and bands into routes.yaml; without it nothing is written.

    tiergate train --config routes.yaml --data evals/dev.jsonl --data public.jsonl:0.2 --test evals/test.jsonl
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import quote

import msgspec
import numpy as np
import psycopg

from tiergate.config.loader import LoadedConfig
from tiergate.config.model import Bands, RoutesConfig
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.errors import OperatorError
from tiergate.evals.dataset import Case, Dataset, load_dataset
from tiergate.evals.metrics import Outcome, Report, TierTable, score_labelled
from tiergate.learned.embedder import Embedder
from tiergate.learned.encoder import build_encoder
from tiergate.learned.fit import F64, fit_ordinal, predict_logistic
from tiergate.learned.head import FORMAT, TEXTS, Head, HeadFile, Logistic, Member, Training
from tiergate.learned.scorer import Cutoffs, LearnedConfig, LearnedScorer
from tiergate.redact import redact_dsn, redact_url_error
from tiergate.rules.ask import prose_of
from tiergate.rules.features import Features
from tiergate.rules.learned import MEMO_KEY, Reading
from tiergate.telemetry.sql_queries import COUNTED_RATING, is_postgres
from tiergate.wire import ChatRequest

RANKS = {"local": 0, "sonnet": 1, "opus": 2}
#: Labelled cases of each tier the first --data file needs: below it the regressions see too few examples of
#: a tier to tell it apart (none: a head that reads every request as the tiers it saw, with cross-validated
#: figures that cannot show it), and the shuffled folds hold out too few for the cut-offs to mean anything.
MIN_PER_TIER = 5
Kind = Literal["static", "transformer", "transformer-int8"]
#: The shipped head's encoders: what train fits when no --encoders is given and there is no head to read them from.
DEFAULT_ENCODERS = ("static", "transformer", "static:prose")


@dataclass
class Row:
    id: str
    text: str
    gold: int
    weight: float
    source: str
    case: Case | None = None


@dataclass
class Options:
    data: list[tuple[Path, float]]
    log: Path | str | None = None  # a SQLite file or a postgresql:// URL
    log_weight: float = 1.0
    #: Each member's input, ``kind`` or ``kind:text`` (``static:prose`` embeds the ask's words without its code).
    encoders: list[str] = field(default_factory=lambda: list(DEFAULT_ENCODERS))
    l2: float = 0.3
    combine: Literal["mean", "concat"] = "concat"
    sufficiency: float = 0.97
    ambiguous: float = 0.08
    folds: int = 5
    seed: int = 0  # how the cross-validation folds are shuffled
    #: ``random``: ``folds`` shuffled folds; ``group``: each case's group (its first tag) left out in turn.
    folds_by: Literal["random", "group"] = "random"


@dataclass
class Result:
    head: HeadFile
    cutoffs: Cutoffs
    bands: Bands
    cv: dict[str, Any]
    rows: int
    sources: dict[str, int]
    #: The chosen cut-offs' cross-validated report, unrounded (``cv`` is rounded for the head file): the
    #: limits are checked on this one, so 0.96996 is not read as 0.97.
    report: Report
    #: Per decision log: labelled decisions left out because no ask was stored.
    skipped: dict[str, int] = field(default_factory=dict)
    #: The decision logs whose schema predates stored asks (no ``ask`` column): every labelled one is skipped.
    before_asks: set[str] = field(default_factory=set)


# --- rows ---------------------------------------------------------------------------------------


def rows_from_dataset(path: Path, weight: float, graph: EvaluationGraph) -> list[Row]:
    data = load_dataset(path)
    if data.kind != "labelled":
        raise ValueError(f"{path} is a {data.kind} set; train fits on labelled ones (gold tiers)")
    rows = []
    for case in data.cases:
        if case.gold not in RANKS:
            raise ValueError(f"{path}: case '{case.id}' has gold '{case.gold}', not one of {', '.join(RANKS)}")
        rows.append(Row(case.id, ask_of(graph, case.request), RANKS[case.gold], weight, path.name, case))
    return rows


def ask_of(graph: EvaluationGraph, request: ChatRequest) -> str:
    f = graph.features(request)
    return str(f["ask_text"] or f["last_user_text"])


#: How long before an explicit retry a routed request of its conversation is read as the one retried.
RETRY_WINDOW_S = 3600.0
#: Each rated decision's rating as the console shows it (sql_queries.COUNTED_RATING): the admin's latest, else
#: its client's latest (a rating corrected later replaces the first); another client's rating is not used.
_RATED = (
    f"SELECT d.decision_id, {COUNTED_RATING} FROM decisions d "
    "WHERE d.decision_id IN (SELECT f.decision_id FROM feedback f)"
)


def _logged(columns: set[str], postgres: bool) -> str:
    """The decisions' rows as (id, ts, tier, phase, session, ask, side, status, asked). A log from before stored
    asks (SQLite schema step 1: no ``session`` or ``ask`` column) reads as one with neither stored. ``side`` is
    1 for a routed request kept out of its conversation's session (a side request: a rule's ``sticky: false``):
    the ``session`` column holds its conversation's key, as an explicit request's does, but its decision carries
    that key as ``conversation`` (``session`` null), and no retry of the conversation labels it. ``asked`` is
    an explicit request's own choice (its ``explicit`` signal's ``tier=...``): the logged tier is the one left
    after a budget's spill or an open breaker, which is not what the person asked for."""
    session = "session" if "session" in columns else "NULL"
    ask = "ask" if "ask" in columns else "NULL"
    if postgres:
        kept_out = "(decision_json::json ->> 'conversation')"
        choice = (
            "(SELECT s ->> 'action' FROM json_array_elements(CASE WHEN json_typeof(decision_json::json -> 'signals') "
            "= 'array' THEN decision_json::json -> 'signals' END) AS s WHERE s ->> 'kind' = 'explicit' LIMIT 1)"
        )
    else:
        kept_out = "json_extract(decision_json, '$.conversation')"
        choice = (  # read as PostgreSQL reads it: signals that are no list, or no objects, hold no choice
            "(SELECT json_extract(s.value, '$.action') FROM json_each(CASE WHEN json_type(decision_json, "
            "'$.signals') = 'array' THEN json_extract(decision_json, '$.signals') ELSE '[]' END) AS s "
            "WHERE s.type = 'object' AND json_extract(s.value, '$.kind') = 'explicit' LIMIT 1)"
        )
    side = f"CASE WHEN phase = 'explicit' OR {session} IS NULL OR {kept_out} IS NULL THEN 0 ELSE 1 END"
    asked = f"CASE WHEN phase = 'explicit' THEN {choice} END"
    return (
        f"SELECT decision_id, ts, tier, phase, {session}, {ask}, {side}, status, {asked} FROM decisions "
        "ORDER BY ts, decision_id"
    )


def _asked(tier: str, action: Any) -> str:
    """The tier an explicit request asked for: its signal's ``tier=...``, else (a log from before it) the
    logged tier."""
    if isinstance(action, str) and action.startswith("tier="):
        return action[len("tier=") :]
    return tier


def _answered(status: Any) -> bool:
    """Whether the client was given an answer: a rating or a retry of a failed request (a 503 with no target
    up, a 499 the client left) says nothing of whether its tier could do the work."""
    return isinstance(status, int) and 200 <= status < 300


@dataclass
class _Log:
    decisions: list[tuple[Any, ...]]
    ratings: dict[str, int]
    source: str  # the log's name for ``trained.sources`` (no credentials)
    asks_stored: bool  # False: the log's schema predates the ``ask`` column


def _read_log(where: Path | str) -> _Log:
    """The decisions, each one's latest rating, and the log's name."""
    shown = redact_dsn(str(where))  # a URL this does not take for PostgreSQL is read as a file's, password and all
    columns = "SELECT * FROM decisions LIMIT 0"
    try:
        if is_postgres(where):
            with psycopg.connect(where, connect_timeout=10) as pg:
                have = {c.name for c in pg.execute(columns).description or ()}
                rows = pg.execute(_logged(have, True)).fetchall()
                return _Log(rows, _rated(pg.execute(_RATED).fetchall()), shown, "ask" in have)
        db = Path(where)
        if not db.is_file():
            hint = "a SQLite file or a postgresql:// URL" if "://" in shown or "=" in shown else "no such file"
            raise OperatorError(f"cannot read the decision log {shown} (--log): {hint}")
        with sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True) as conn:
            have = {c[0] for c in conn.execute(columns).description}
            rows = conn.execute(_logged(have, False)).fetchall()
            return _Log(rows, _rated(conn.execute(_RATED).fetchall()), db.name, "ask" in have)
    except (sqlite3.Error, psycopg.Error) as exc:
        why = redact_url_error(where, str(exc).strip()) if is_postgres(where) else str(exc)
        raise OperatorError(f"cannot read the decision log {shown} (--log): {why}") from None


def _rated(rows: list[Any]) -> dict[str, int]:
    """Decision id -> its counted rating; a decision rated only by other clients has none."""
    return {decision_id: rating for decision_id, rating in rows if rating is not None}


@dataclass
class LogRows:
    """What a decision log gives ``tiergate train``: the labelled rows, the log's name, and how many labelled
    decisions had no stored ask to learn from (``server.decision_log.store_ask`` was off, or the log predates
    stored asks: ``asks_stored`` is False)."""

    rows: list[Row]
    source: str
    no_ask: int
    asks_stored: bool = True


def rows_from_log(where: Path | str, weight: float, order: Sequence[str]) -> LogRows:
    """Labels from ratings and explicit retries of answered requests; decisions without a stored ask are counted,
    not used."""
    rank = {tier: i for i, tier in enumerate(order)}
    top = len(order) - 1
    log = _read_log(where)
    decisions, ratings = log.decisions, log.ratings
    labels: dict[str, int] = {}
    for decision_id, _, tier, _, _, _, _, status, _ in decisions:
        rating = ratings.get(decision_id)
        if rating is None or tier not in rank or not _answered(status):
            continue
        if rating <= 2:
            labels[decision_id] = min(rank[tier] + 1, top)
        elif rating >= 4:
            labels[decision_id] = rank[tier]
    # A conversation sent again explicitly to a higher tier: its earlier routed requests of the last
    # RETRY_WINDOW_S needed that tier. A session is the client and the first message, so two chats that open
    # alike ("hi") share one: the window keeps a retry from labelling last month's, and a rating of 4 or 5
    # (the person's own word that the answer was enough) is not overruled. Its side requests (a title, a
    # commit message: forced by a `sticky: false` rule, not a turn of it) were not what was retried.
    routed_by_session: dict[str, list[tuple[str, int, float]]] = {}
    failed_last: set[str] = set()  # sessions whose last routed request failed: a retry is of the failure
    for decision_id, ts, tier, phase, session, _, side, status, asked in decisions:
        tier = _asked(tier, asked) if phase == "explicit" else tier
        if not session or tier not in rank:
            continue
        if phase != "explicit" and not side and _answered(status):
            failed_last.discard(session)
        elif phase != "explicit" and not side:
            failed_last.add(session)
        if phase == "explicit" and session in failed_last:
            continue
        if phase == "explicit":
            for earlier_id, earlier_rank, earlier_ts in routed_by_session.get(session, []):
                late = float(ts) - earlier_ts > RETRY_WINDOW_S
                if rank[tier] > earlier_rank and not late and ratings.get(earlier_id, 0) < 4:
                    labels[earlier_id] = max(labels.get(earlier_id, 0), rank[tier])
        elif not side and _answered(status):
            routed_by_session.setdefault(session, []).append((decision_id, rank[tier], float(ts)))
    rows = [
        Row(decision_id, ask, labels[decision_id], weight, log.source)
        for decision_id, _, _, _, _, ask, *_ in decisions
        if decision_id in labels and ask
    ]
    return LogRows(rows, log.source, len(labels) - len(rows), log.asks_stored)


def _check_coverage(path: Path, rows: Sequence[Row], folds: int) -> None:
    """Refuse a first file the head and its cut-offs cannot be fitted and cross-validated on: one with fewer
    than MIN_PER_TIER cases of a tier (all local: a head whose every reading is local, cut-offs that send
    everything there, and a perfect cross-validated report), or fewer cases than folds (empty folds)."""
    counts = {tier: sum(1 for r in rows if r.gold == rank) for tier, rank in RANKS.items()}
    if min(counts.values()) < MIN_PER_TIER:
        found = ", ".join(f"{tier} {n}" for tier, n in counts.items())
        raise ValueError(
            f"the first --data file ({path}) is fitted and cross-validated on: every tier needs at least "
            f"{MIN_PER_TIER} labelled cases in it; it has {found}. Label more cases of the tiers short of it"
        )
    if len(rows) < folds:
        raise ValueError(f"the first --data file ({path}) has fewer cases ({len(rows)}) than folds ({folds})")


def group_of(row: Row) -> str:
    """A row's group for ``--folds-by group``: its case's first tag (``evals/``: the round and kind it came from)."""
    return row.case.tags[0] if row.case is not None and row.case.tags else "(no tag)"


def training_hash(rows: Sequence[Row]) -> str:
    material = msgspec.json.encode([[r.source, r.id, r.gold, r.weight, r.text] for r in rows])
    return hashlib.sha256(material).hexdigest()


# --- fit ----------------------------------------------------------------------------------------


def parse_input(spec: str) -> tuple[str, str]:
    """``kind`` or ``kind:text`` (a name of ``TEXTS``) as (kind, text)."""
    kind, _, text = spec.partition(":")
    text = text or "ask"
    if kind not in ("static", "transformer", "transformer-int8"):
        raise ValueError(f"unknown encoder kind '{kind}' in '{spec}' (static, transformer, transformer-int8)")
    if text not in TEXTS:
        raise ValueError(f"unknown text '{text}' in '{spec}' (one of {', '.join(sorted(TEXTS))})")
    return kind, text


def view(text: str, asks: Sequence[str]) -> list[str]:
    """What a member reading ``text`` sees of each row's ask."""
    return [prose_of(a) for a in asks] if text == "prose" else list(asks)


def embed_all(
    embedders: Sequence[Embedder], texts: Sequence[str], batch: int = 32, inputs: Sequence[str] | None = None
) -> list[F64]:
    """One matrix per embedder: the texts (or, with ``inputs``, each member's view of them) embedded."""
    out = []
    for i, embedder in enumerate(embedders):
        seen = view(parse_input(inputs[i])[1], texts) if inputs is not None else list(texts)
        parts = [embedder.encoder.encode(seen[j : j + batch]) for j in range(0, len(seen), batch)]
        out.append(np.concatenate(parts).astype(np.float64))
    return out


def _inputs(X: Sequence[F64], combine: str) -> list[F64]:
    """What each regression pair reads: every encoder's vectors side by side, or each encoder's alone."""
    return [np.hstack(list(X))] if combine == "concat" else list(X)


def fit_members(
    inputs: Sequence[str],
    embedders: Sequence[Embedder],
    X: Sequence[F64],
    gold: np.ndarray,
    w: F64,
    l2: float,
    combine: str = "mean",
) -> list[Member]:
    if combine == "concat":
        sonnet, opus = fit_ordinal(np.hstack(list(X)), gold, w, l2=l2)
        # Each member keeps its slice of the weights; the bias goes with the first, so the logits add up.
        edges = np.cumsum([0] + [x.shape[1] for x in X])
        parts = [
            (sonnet[a:b], opus[a:b], float(sonnet[-1]) if i == 0 else 0.0, float(opus[-1]) if i == 0 else 0.0)
            for i, (a, b) in enumerate(itertools.pairwise(edges))
        ]
    else:
        pairs = [fit_ordinal(x, gold, w, l2=l2) for x in X]
        parts = [(s[:-1], o[:-1], float(s[-1]), float(o[-1])) for s, o in pairs]
    return [
        Member(
            embedder.id,
            parse_input(spec)[0],
            Logistic([float(v) for v in ws], bs),
            Logistic([float(v) for v in wo], bo),
            text=parse_input(spec)[1],
        )
        for spec, embedder, (ws, wo, bs, bo) in zip(inputs, embedders, parts, strict=True)
    ]


def held_out_folds(
    inner: np.ndarray, folds: int, seed: int = 0, groups: Sequence[str] | None = None
) -> list[np.ndarray]:
    """The ``inner`` rows cut into ``folds`` shuffled folds, or with ``groups`` (one per row) one fold per
    group of the inner rows."""
    if groups is None:
        if len(inner) < folds:  # an empty fold: a head fitted without its rows scores nothing
            raise ValueError(f"{len(inner)} case(s) cannot be cut into {folds} folds: fewer cases than folds")
        return np.array_split(np.random.default_rng(seed).permutation(inner), folds)
    names = sorted({groups[i] for i in inner})
    return [np.array([i for i in inner if groups[i] == name]) for name in names]


def cross_validated(
    X: Sequence[F64],
    gold: np.ndarray,
    w: F64,
    inner: np.ndarray,
    l2: float,
    folds: int,
    combine: str = "mean",
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> F64:
    """(len(inner), 2) probabilities for the ``inner`` rows, each from a head fitted without its fold
    (:func:`held_out_folds`)."""
    held_out = held_out_folds(inner, folds, seed, groups)
    out = np.zeros((len(gold), 2))
    inputs = _inputs(X, combine)
    for held in held_out:
        train = np.setdiff1d(np.arange(len(gold)), held)
        ps = np.zeros(len(held))
        po = np.zeros(len(held))
        for x in inputs:
            sonnet, opus = fit_ordinal(x[train], gold[train], w[train], l2=l2)
            ps += predict_logistic(sonnet, x[held]) / len(inputs)
            po += predict_logistic(opus, x[held]) / len(inputs)
        out[held, 0], out[held, 1] = np.maximum(ps, po), po  # as Head.predict: P(>= sonnet) >= P(opus)
    result: F64 = out[inner]
    return result


# --- cut-offs -------------------------------------------------------------------------------------


def with_cutoffs(loaded: LoadedConfig, cutoffs: Cutoffs, bands: Bands) -> EvaluationGraph:
    config: RoutesConfig = loaded.config
    learned = config.routing.learned
    assert learned is not None
    routing = msgspec.structs.replace(
        config.routing, learned=msgspec.structs.replace(learned, cutoffs=cutoffs), bands=bands
    )
    return compile_graph(LoadedConfig(msgspec.structs.replace(config, routing=routing), loaded.source, loaded.version))


def route_with(
    graph: EvaluationGraph,
    rows: Sequence[Row],
    probs: F64,
    features: list[Features] | None = None,
    unfamiliar: Sequence[float] | None = None,
) -> list[Outcome]:
    """Each row routed by ``graph`` with the given probabilities as its learned reading. ``features``
    (one per row, from an earlier call) spares reading the requests again; their learned values are reset.
    ``unfamiliar``: each row's ``learned.unfamiliar`` (0 without)."""
    cutoffs = graph.config.routing.learned.cutoffs  # type: ignore[union-attr]
    outcomes = []
    for i, (row, (ps, po)) in enumerate(zip(rows, probs, strict=True)):
        assert row.case is not None
        f = features[i] if features is not None else graph.features(row.case.request)
        for key in [k for k in f._memo if isinstance(k, str) and k.startswith("learned.")]:
            del f._memo[key]
        tier, alone = cutoffs.tier(ps, po), cutoffs.opus_alone(ps, po)
        f._memo[MEMO_KEY] = Reading(float(ps), float(po), tier, unfamiliar[i] if unfamiliar is not None else 0.0, alone)
        p1 = graph.phase1(f)
        outcomes.append(Outcome(row.id, p1.tier, p1.band, "heuristic", int(f["approx_tokens"]), gold=row.case.gold))
    return outcomes


def choose_cutoffs(
    loaded: LoadedConfig,
    rows: Sequence[Row],
    probs: F64,
    options: Options,
    unfamiliar: Sequence[float] | None = None,
) -> tuple[Cutoffs, Bands, Report]:
    table = TierTable.of(loaded.config)
    ambiguous_width = _band_width(probs[:, 0], options.ambiguous)

    def key(report: Report) -> tuple[bool, float, float]:
        ok = report.severe_under == 0 and report.sufficiency >= options.sufficiency
        return ok, report.accuracy, report.saved

    best: tuple[tuple[bool, float, float], Cutoffs, Bands, Report] | None = None
    read = [_graph_of(loaded).features(r.case.request) for r in rows if r.case is not None]
    for grid in (_coarse(), None):
        candidates = grid if grid is not None else _fine(best[1] if best else Cutoffs())
        for ts, to in candidates:
            cutoffs = Cutoffs(sonnet=ts, opus=to)
            bands = Bands(local=ts, claude=min(1.0, ts + ambiguous_width))
            routed = route_with(with_cutoffs(loaded, cutoffs, bands), rows, probs, read, unfamiliar)
            report = score_labelled(routed, table)
            if best is None or key(report) > best[0]:
                best = (key(report), cutoffs, bands, report)
    assert best is not None
    return best[1], best[2], best[3]


def _graph_of(loaded: LoadedConfig) -> EvaluationGraph:
    return compile_graph(loaded)


def _coarse() -> list[tuple[float, float]]:
    steps = np.round(np.arange(0.05, 0.96, 0.05), 3)
    return [(float(ts), float(to)) for ts in steps for to in steps]


def _fine(around: Cutoffs) -> list[tuple[float, float]]:
    def near(x: float) -> list[float]:
        return [round(v, 3) for v in np.arange(max(0.01, x - 0.04), min(0.99, x + 0.041), 0.01)]

    return [(ts, to) for ts in near(around.sonnet) for to in near(around.opus)]


def _band_width(p_sonnet: F64, share: float) -> float:
    """A width such that about ``share`` of the probabilities sit just above any cut-off: a quantile of the
    distances between neighbouring probabilities, scaled."""
    if share <= 0 or len(p_sonnet) < 2:
        return 0.0
    return float(np.clip(share * (np.quantile(p_sonnet, 0.9) - np.quantile(p_sonnet, 0.1)) / 0.8, 0.0, 0.3))


# --- the whole run ----------------------------------------------------------------------------------


def train(loaded: LoadedConfig, graph: EvaluationGraph, options: Options, embedders: Sequence[Embedder]) -> Result:
    rows: list[Row] = []
    first = 0  # the first file's rows come first: those are fitted and cross-validated on
    sources: dict[str, int] = {}
    skipped: dict[str, int] = {}
    before_asks: set[str] = set()
    names = [path.name for path, _ in options.data]
    if len(set(names)) < len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"two --data files are named {twice}: the head records each source by its name; rename one")
    for i, (path, weight) in enumerate(options.data):
        found = rows_from_dataset(path, weight, graph)
        rows += found
        if i == 0:
            first = len(found)
            _check_coverage(path, found, options.folds)
    if options.log is not None:
        logged = rows_from_log(options.log, options.log_weight, TierTable.of(graph.config).order)
        rows += logged.rows
        if logged.no_ask:
            skipped[logged.source] = logged.no_ask
        if not logged.asks_stored:
            before_asks.add(logged.source)
    gold = np.array([r.gold for r in rows])
    w = np.array([r.weight for r in rows], dtype=np.float64)
    X = embed_all(embedders, [r.text for r in rows], inputs=options.encoders)
    inner = np.arange(first)
    groups = [group_of(r) for r in rows] if options.folds_by == "group" else None
    if groups is not None and len({groups[i] for i in inner}) < 2:
        raise ValueError("--folds-by group needs at least two groups (a case's first tag) in the first --data file")
    probs = cross_validated(X, gold, w, inner, options.l2, options.folds, options.combine, options.seed, groups)
    chosen = [rows[i] for i in inner]  # each with its case (rows_from_dataset): route_with reads them
    unfamiliar = [
        embedders[0].encoder.unfamiliar(str(graph.features(r.case.request)["ask_prose"])) if r.case else 0.0
        for r in chosen
    ]
    cutoffs, bands, report = choose_cutoffs(loaded, chosen, probs, options, unfamiliar)
    weights: dict[str, float] = {}
    for r in rows:
        sources[r.source] = sources.get(r.source, 0) + 1
        weights[r.source] = r.weight
    if options.log is not None:
        sources.setdefault(logged.source, 0)  # listed even when it gave no row
    cv: dict[str, Any] = {
        "folds": options.folds if groups is None else len({groups[i] for i in inner}),
        "by": options.folds_by,
        "exact": round(report.accuracy, 4),
        "sufficiency": round(report.sufficiency, 4),
        "severe_under": round(report.severe_under, 4),
        "saved": round(report.saved, 4),
        "oracle_saved": round(report.oracle_saved, 4),
    }
    head = HeadFile(
        FORMAT,
        "ask",
        fit_members(options.encoders, embedders, X, gold, w, options.l2, options.combine),
        Training(training_hash(rows), len(rows), weights, options.l2, cv),
        combine=options.combine,
    )
    return Result(head, cutoffs, bands, cv, len(rows), sources, report, skipped, before_asks)


def scorer_for(result: Result, embedders: Sequence[Embedder]) -> LearnedScorer:
    """The trained head as a live scorer, without writing anything (for the held-out report)."""
    raw = msgspec.json.encode(result.head)
    head = Head(result.head, hashlib.sha256(raw).hexdigest()[:12], "<trained, not written>")
    return LearnedScorer(head, list(embedders), result.cutoffs)


def build_embedders(inputs: Sequence[str], cfg: LearnedConfig | None) -> list[Embedder]:
    """One embedder per input, in order; inputs of the same kind share one."""
    from tiergate.learned.weights import load_weights

    weights = load_weights(Path(cfg.weights_dir) if cfg and cfg.weights_dir else None)
    built: dict[str, Embedder] = {}
    for spec in inputs:
        kind = parse_input(spec)[0]
        if kind not in built:
            built[kind] = Embedder(build_encoder(cast(Kind, kind), weights=weights, cache_size=64))
    return [built[parse_input(spec)[0]] for spec in inputs]


def write_cutoffs(config_path: Path, cutoffs: Cutoffs, bands: Bands) -> str:
    """routes.yaml with ``routing.learned.cutoffs`` and ``routing.bands`` set, comments and layout kept."""
    text = config_path.read_text()
    text = _set_flow(text, "cutoffs", f"{{sonnet: {cutoffs.sonnet:g}, opus: {cutoffs.opus:g}}}")
    text = _set_flow(text, "bands", f"{{local: {bands.local:g}, claude: {round(bands.claude, 3):g}}}")
    return text


def _set_flow(text: str, key: str, value: str) -> str:
    """``key``'s mapping set to ``value`` (a one-line flow mapping), whether the file wrote it on one line
    (``cutoffs: {sonnet: 0.2, opus: 0.2}``) or as a block of more-indented lines below the key."""
    flow = re.compile(rf"^(\s+{key}:\s*)\{{[^}}\n]*\}}", re.MULTILINE)
    if flow.search(text):
        return flow.sub(lambda m: m.group(1) + value, text, count=1)
    block = re.compile(
        rf"^(?P<indent>[ ]+)(?P<key>{key}:)[ ]*(?:#[^\n]*)?\n(?P<body>(?:(?P=indent)[ ]+[^\n]*\n)+)", re.MULTILINE
    )
    found = block.search(text)
    if found is None:
        raise ValueError(f"cannot find `{key}:` in the rule file to update; set it by hand: {value}")
    return text[: found.start()] + f"{found['indent']}{found['key']} {value}\n" + text[found.end() :]


def as_dataset(rows: Sequence[Row]) -> Dataset:
    return Dataset("<rows>", "labelled", tuple(r.case for r in rows if r.case is not None))


def summarize(result: Result) -> list[str]:
    lines = [
        f"rows: {result.rows} ({', '.join(f'{k}: {v}' for k, v in result.sources.items())})",
        *(
            f"{source}: {n} labelled decision(s) skipped, no ask stored ({_why(source, result)})"
            for source, n in result.skipped.items()
        ),
        f"cross-validated on the first data file ({_folds(result.cv)}): exact {result.cv['exact']:.1%}, "
        f"sufficiency {result.cv['sufficiency']:.1%}, severe under-routing {result.cv['severe_under']:.1%}, "
        f"saved {result.cv['saved']:.1%} (oracle {result.cv['oracle_saved']:.1%})",
        f"cut-offs: sonnet {result.cutoffs.sonnet:g}, opus {result.cutoffs.opus:g}; "
        f"bands: local {result.bands.local:g}, claude {round(result.bands.claude, 3):g}",
    ]
    return lines


def _why(source: str, result: Result) -> str:
    if source in result.before_asks:
        return (
            "the log predates stored asks: start the gateway on it once to add the column, "
            "with server.decision_log.store_ask: true"
        )
    return "set server.decision_log.store_ask: true"


def _folds(cv: dict[str, Any]) -> str:
    if cv.get("by") == "group":
        return f"{cv['folds']} groups, each left out in turn"
    return f"{cv['folds']} folds"
