"""The ``tiergate`` command: serve, route (offline dry run), validate.

tiergate serve --config routes.yaml --host 127.0.0.1 --port 8080 [--workers N]
tiergate route --config routes.yaml request.json      # or - for stdin
tiergate validate routes.yaml examples/*.yaml
tiergate schema --write schemas/routes.schema.json   # make schema
tiergate train --config routes.yaml --data evals/dev.jsonl --test evals/test.jsonl [--write]
tiergate stats --config routes.yaml --since 24h     # or --db tiergate-decisions.db
tiergate encoder prepare                            # locate the encoder weights, distil the static table once
tiergate profile --config routes.yaml [--judge sonnet] # measure local targets, write profiles/*.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from tiergate.arguments import AT_LEAST_ZERO, COUNT, CURVE, PORT, SHARE, SWEEP
from tiergate.config.problems import ConfigError, Problem
from tiergate.learned.cli import register as register_encoder
from tiergate.profile.cli import register as register_profile

#: What ``--config`` names, for every command that reads one.
CONFIG_HELP = "the rule file (default routes.yaml)"

#: Where routes.yaml names the learned head, which ``train`` writes (and warns of itself when it cannot be read).
HEAD_KEY = ("routing", "learned", "head")

#: The levels ``--log-level`` and ``TIERGATE_LOG_LEVEL`` take, in any case.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tiergate", description="A declarative rules-engine LLM gateway.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the gateway")
    p.add_argument("--config", default="routes.yaml", type=Path, help=CONFIG_HELP)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default=8080, type=PORT)
    p.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default=None,
        help="default: TIERGATE_LOG_LEVEL, else info",
    )
    p.add_argument("--no-watch", action="store_true", help="do not reload when the rule file changes")
    p.add_argument("--workers", type=int, default=1, help="worker processes serving the port (default 1)")

    p = sub.add_parser("route", help="print the RoutingDecision for a request, calling no model")
    p.add_argument("--config", default="routes.yaml", type=Path, help=CONFIG_HELP)
    p.add_argument("request", help="a chat request JSON file, or - for stdin")

    p = sub.add_parser("validate", help="check rule files; prints file:line:col: message per problem")
    p.add_argument("paths", nargs="+", type=Path)

    p = sub.add_parser("schema", help="print the JSON Schema of routes.yaml, generated from the config Structs")
    p.add_argument("--write", type=Path, default=None, help="write it to this file instead")

    p = sub.add_parser("stats", help="summarise the decision log: tier share, cost, latency, fallbacks, ratings")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--db", help="the decision log file, or a postgresql:// URL")
    where.add_argument("--config", default=Path("routes.yaml"), type=Path, help="read server.decision_log.url or .path")
    p.add_argument("--since", help="only requests in this window, e.g. 30m, 24h, 7d")

    p = sub.add_parser("eval", help="route a labelled (or scored) JSONL set and report routing quality")
    p.add_argument("--config", default="routes.yaml", type=Path, help=CONFIG_HELP)
    p.add_argument("dataset", type=Path, help="JSONL: {id, gold, why, request} or {messages, strong_score, weak_score}")
    p.add_argument("--classify", action="store_true", help="ask the configured classifier for AMBIGUOUS requests")
    p.add_argument(
        "--output-tokens", type=COUNT, default=None, help="fixed output tokens per case for the cost estimate"
    )
    p.add_argument("--sweep", type=SWEEP, default=10, help="thresholds in the APGR sweep, 1 to 1000 (scored sets)")
    p.add_argument("--misses", action="store_true", help="list every misrouted case, not only under-routed ones")
    p.add_argument("--json", action="store_true", help="print the report and every case's outcome as JSON")
    p.add_argument(
        "--curve",
        type=CURVE,
        default=11,
        help="points of the cost/quality curve over routing.quality_preference, 0 to 1: 0 (none) to 101 "
        "(every 0.01); each routes the labelled set again",
    )

    p = sub.add_parser("train", help="fit the learned head on labelled requests; report held-out metrics")
    p.add_argument("--config", default="routes.yaml", type=Path, help=CONFIG_HELP)
    p.add_argument(
        "--data",
        action="append",
        default=None,
        help="labelled JSONL FILE[:WEIGHT]; repeat to add sets (default evals/dev.jsonl); the first is cross-validated",
    )
    p.add_argument(
        "--log", default=None, help="a decision log to learn from (ratings and explicit retries): file or postgresql://"
    )
    p.add_argument("--log-weight", type=AT_LEAST_ZERO, default=1.0, help="weight of the decision log's rows")
    p.add_argument(
        "--encoders",
        default=None,
        help="comma-separated inputs, KIND[:TEXT]: kinds static, transformer, transformer-int8; "
        "texts ask (default) and prose (the ask without its code blocks)",
    )
    p.add_argument("--l2", type=AT_LEAST_ZERO, default=0.3, help="L2 strength of the logistic heads")
    p.add_argument(
        "--combine",
        choices=["concat", "mean"],
        default="concat",
        help="several encoders: one regression over their vectors side by side, or one each, averaged",
    )
    p.add_argument(
        "--sufficiency", type=SHARE, default=0.97, help="cut-offs must keep at least this sufficiency (0 to 1)"
    )
    p.add_argument("--cv-seed", type=int, default=0, help="how the cross-validation folds are shuffled")
    p.add_argument(
        "--folds-by",
        choices=["random", "group"],
        default="random",
        help="cross-validation folds: 5 shuffled ones, or each group (a case's first tag) left out in turn, "
        "which estimates how the head does on traffic unlike any it was trained on",
    )
    p.add_argument(
        "--ambiguous", type=SHARE, default=0.08, help="share of requests the AMBIGUOUS band may hold (0 to 1)"
    )
    p.add_argument("--test", type=Path, default=None, help="held-out set to report on with the new head")
    p.add_argument("--write", action="store_true", help="write the head file and the cut-offs into --config")

    p = sub.add_parser("tune", help="fit scorer weights and bands on a labelled dev set; print a routes.yaml diff")
    p.add_argument("--config", default="routes.yaml", type=Path, help=CONFIG_HELP)
    p.add_argument("dataset", type=Path, help="the labelled dev set to fit on (JSONL: {id, gold, why, request})")
    p.add_argument("--test", type=Path, default=None, help="held-out set to report on (default: test.jsonl beside it)")
    p.add_argument("--max-severe", type=SHARE, default=0.01, help="severe under-routing allowed on dev (share, 0 to 1)")
    p.add_argument(
        "--min-sufficiency",
        default=None,
        help="share of each gold tier routed to it or above on dev: 0.9 for every tier, or sonnet=0.9,opus=0.7 "
        "(default: the current file's, per tier)",
    )
    p.add_argument("--l2", type=AT_LEAST_ZERO, default=0.1, help="pull of the current weights on the fit")
    p.add_argument(
        "--cost-tolerance",
        type=AT_LEAST_ZERO,
        default=0.02,
        help="settings this close to the cheapest count as equally cheap (0.02: within 2%%)",
    )
    p.add_argument(
        "--output-tokens", type=COUNT, default=None, help="fixed output tokens per case for the cost estimate"
    )
    p.add_argument("--write", action="store_true", help="write the suggested changes into --config")

    register_encoder(sub)
    register_profile(sub)

    args = parser.parse_args(argv)
    if args.command in ("encoder", "profile"):
        return int(args.run(args))
    if args.command == "tune":
        return _tune(args)
    if args.command == "train":
        return _train(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "serve":
        from tiergate.server import run

        if args.workers < 1:
            print("tiergate serve: --workers must be at least 1", file=sys.stderr)
            return 2
        if args.log_level is None:
            args.log_level = os.environ.get("TIERGATE_LOG_LEVEL", "info").strip().lower() or "info"
            if args.log_level not in LOG_LEVELS:
                level = os.environ["TIERGATE_LOG_LEVEL"]
                print(
                    f"tiergate serve: TIERGATE_LOG_LEVEL={level!r} is not a log level (one of {', '.join(LOG_LEVELS)})",
                    file=sys.stderr,
                )
                return 2
        return run(
            args.config, args.host, args.port, log_level=args.log_level, watch=not args.no_watch, workers=args.workers
        )
    if args.command == "route":
        return _route(args.config, args.request)
    if args.command == "stats":
        return _stats(args.db, args.config, args.since)
    if args.command == "schema":
        return _schema(args.write)
    return _validate(args.paths)


def _schema(target: Path | None) -> int:
    from tiergate.config.schema import render

    text = render()
    if target is None:
        sys.stdout.write(text)
    else:
        try:
            target.write_text(text)
        except OSError as exc:
            print(f"tiergate schema: {target}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 2
    return 0


def _warn(warnings: Sequence[Problem]) -> None:
    """The rule file's warnings on stderr, as ``validate`` prints them: a command that reads the file says
    what the gateway serving it would log."""
    for warning in warnings:
        print(warning.render(), file=sys.stderr)


def _route(config: Path, source: str) -> int:
    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.engine.router import Router
    from tiergate.errors import TiergateError
    from tiergate.protocols.openai.request import decode_chat

    try:
        graph = compile_graph(load_file(config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    _warn(graph.warnings)  # stdout holds only the decision
    try:
        body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        print(f"{source}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        request = decode_chat(body)
    except TiergateError as exc:
        print(f"{source}: {exc.message}", file=sys.stderr)
        return 2
    from tiergate.backends.registry import build_backend, missing_in
    from tiergate.dispatch.dispatcher import Dispatcher
    from tiergate.engine.classifier import ClassifierPool
    from tiergate.learned.scorer import LearnedPool

    # The configured classifier, never called (no backend to call it through): an AMBIGUOUS request's
    # decision says the classifier was skipped, as /v1/route?classify=false does, not that there is none.
    classifier = ClassifierPool().build(graph, Dispatcher({}))
    # The backends as the gateway would build them here, never called (no connection is opened): a target
    # whose key variable is not set is skipped, as a request would find it.
    backends = {name: build_backend(name, cfg, os.environ) for name, cfg in graph.config.backends.items()}
    pool = LearnedPool()
    try:
        router = Router(graph, classifier=classifier, learned=pool.build(graph), missing=partial(missing_in, backends))
        routed = asyncio.run(router.decide(request, classify=False, read=True))
    finally:
        pool.close()
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(routed.shown()), indent=2).decode() + "\n")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.evals.dataset import DatasetError, load_dataset
    from tiergate.evals.metrics import TierTable
    from tiergate.evals.run import EvalOptions, evaluate_with_curve, render, report_dict

    try:
        graph = compile_graph(load_file(args.config))
        _warn(graph.warnings)
        data = load_dataset(args.dataset)
        options = EvalOptions(
            classify=args.classify, output_tokens=args.output_tokens, sweep=args.sweep, curve=args.curve
        )
        outcomes, curve = asyncio.run(evaluate_with_curve(graph, data, options))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (DatasetError, ValueError) as exc:
        print(f"tiergate eval: {exc}", file=sys.stderr)
        return 2
    if args.json:
        body = report_dict(outcomes, data, TierTable.of(graph.config), options, curve)
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(body), indent=2).decode() + "\n")
    else:
        sys.stdout.write(render(outcomes, data, graph, args.config, options, misses=args.misses, curve=curve))
    return 0


def _train(args: argparse.Namespace) -> int:
    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.errors import OperatorError
    from tiergate.evals.dataset import load_dataset
    from tiergate.evals.metrics import TierTable
    from tiergate.evals.run import EvalOptions, render_misses, render_report, route_all
    from tiergate.learned.head import head_text
    from tiergate.learned.publish import publish
    from tiergate.learned.train import (
        DEFAULT_ENCODERS,
        Options,
        build_embedders,
        scorer_for,
        summarize,
        train,
        write_cutoffs,
    )

    try:
        loaded = load_file(args.config)
        graph = compile_graph(loaded)
        cfg = graph.config.routing.learned
        # the head is what train makes: none yet is no news; a broken one train names itself when it reads it
        # for its encoders (without --encoders), and the rule file's warning names it otherwise
        broken = (
            cfg is not None and args.encoders is not None and ((graph.source_dir or Path(".")) / cfg.head).is_file()
        )
        _warn([w for w in graph.warnings if w.path != HEAD_KEY or broken])
        if cfg is None:
            print(f"tiergate train: {args.config} has no routing.learned section to train for", file=sys.stderr)
            return 2
        head_path = (graph.source_dir or Path(".")) / cfg.head
        kinds = args.encoders.split(",") if args.encoders else None
        if kinds is None and head_path.exists():
            kinds = _head_inputs(head_path)
        data = [_weighted(spec) for spec in (args.data or ["evals/dev.jsonl"])]
        if data[0][1] <= 0:
            raise ValueError(
                f"the first --data file ({data[0][0]}) is the one fitted and cross-validated on: "
                "its weight must be above 0"
            )
        test = load_dataset(args.test) if args.test is not None else None
        if test is not None:
            _check_labelled(test, TierTable.of(graph.config).order, args.test)
        options = Options(
            data=data,
            log=args.log,
            log_weight=args.log_weight,
            encoders=kinds or list(DEFAULT_ENCODERS),
            l2=args.l2,
            combine=args.combine,
            seed=args.cv_seed,
            folds_by=args.folds_by,
            sufficiency=args.sufficiency,
            ambiguous=args.ambiguous,
        )
        embedders = build_embedders(options.encoders, cfg)
        try:
            result = train(loaded, graph, options, embedders)
            print("\n".join(summarize(result)))
            if test is not None:
                trained = compile_graph_with(loaded, result)
                outcomes = asyncio.run(route_all(trained, test, learned=scorer_for(result, embedders)))
                from tiergate.evals.metrics import score_labelled

                table = TierTable.of(trained.config)
                print(f"\nheld out: {args.test}, {len(test.cases)} labelled cases, classifier off\n")
                report = render_report(score_labelled(outcomes, table), table, EvalOptions())
                print("\n".join(report + render_misses(outcomes, test, table, every=False)))  # as `tiergate eval` does
        finally:
            for embedder in {id(e): e for e in embedders}.values():
                embedder.close()
    except (ConfigError, OperatorError, ValueError) as exc:
        print(f"tiergate train: {exc}", file=sys.stderr)
        return 2
    short = _short_of_limits(result.report, args.sufficiency)
    if short is not None:
        print(
            f"\ntiergate train: no cut-offs meet the limits on cross-validated {data[0][0]}: {short}; the ones "
            "shown are the most exact. Nothing written: ask for less (--sufficiency) or label more cases.",
            file=sys.stderr,
        )
        return 1
    if args.write:
        config = args.config.resolve()  # through a link: the file it names gets the cut-offs, beside its head
        try:  # both files or neither (tiergate.learned.publish)
            version = publish(
                head_path, head_text(result.head), config, lambda: write_cutoffs(config, result.cutoffs, result.bands)
            )
        except (ValueError, OSError) as exc:
            print(f"tiergate train: nothing written: {exc}", file=sys.stderr)
            return 2
        except OperatorError as exc:
            print(f"tiergate train: {exc}", file=sys.stderr)
            return 2
        print(f"\nwrote {head_path} (version {version}) and the cut-offs and bands into {args.config}")
    else:
        print("\nnothing written (--write writes the head file and the cut-offs)")
    return 0


def compile_graph_with(loaded: Any, result: Any) -> Any:
    from tiergate.learned.train import with_cutoffs

    return with_cutoffs(loaded, result.cutoffs, result.bands)


def _head_inputs(path: Path) -> list[str] | None:
    """The encoders of the head train replaces (the default for --encoders), or None (the shipped ones) with a
    warning when it cannot be read: a broken head is what the gateway asks to retrain, so it must not stop it."""
    from tiergate.learned.head import Head, HeadError
    from tiergate.learned.train import DEFAULT_ENCODERS

    try:
        return Head.load(path).inputs
    except HeadError as exc:
        shipped = ",".join(DEFAULT_ENCODERS)
        print(
            f"tiergate train: warning: {exc}; training with the default encoders ({shipped}; --encoders "
            "chooses others)",
            file=sys.stderr,
        )
        return None


def _weighted(spec: str) -> tuple[Path, float]:
    """``FILE`` or ``FILE:WEIGHT``; a weight that is not a number at least 0 is an error, not part of the name."""
    path, _, weight = spec.rpartition(":")
    if not path or Path(spec).exists():
        return Path(spec), 1.0
    try:
        value = float(weight)
    except ValueError:
        return Path(spec), 1.0  # a colon in the file's own name
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"--data {spec}: a weight is a number at least 0, got {weight}")
    return Path(path), value


def _short_of_limits(report: Any, sufficiency: float) -> str | None:
    """How the chosen cut-offs' cross-validated figures miss train's limits, or None when they meet them.
    Read unrounded: a sufficiency of 0.96996 misses 0.97 (shown as 97.0% below it, with more digits)."""
    missed = []
    if report.severe_under > 0:
        missed.append(f"severe under-routing {_percent(report.severe_under, 0.0)} (must be 0%)")
    if report.sufficiency < sufficiency:
        missed.append(f"sufficiency {_percent(report.sufficiency, sufficiency)} (--sufficiency {sufficiency:g})")
    return ", ".join(missed) or None


def _percent(value: float, limit: float) -> str:
    """``value`` as a percentage with enough digits that it does not read as ``limit`` (or as 0%)."""
    for digits in range(1, 6):
        text = f"{value:.{digits}%}"
        if text != f"{limit:.{digits}%}":
            return text
    return f"{value:.6%}"


def _check_labelled(test: Any, tiers: Sequence[str], path: Path) -> None:
    """A --test set must be labelled with this config's tiers, as `tiergate eval` demands: checked before
    the training it would otherwise fail after."""
    if test.kind != "labelled":
        raise ValueError(f"--test {path} is a {test.kind} set; train reports on a labelled one (gold tiers)")
    test.check_tiers(tiers)


def _tune(args: argparse.Namespace) -> int:
    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.evals.dataset import DatasetError, load_dataset
    from tiergate.evals.tune import TuneOptions, tune

    test_path: Path | None = args.test
    if test_path is None:
        beside = args.dataset.with_name("test.jsonl")
        test_path = beside if beside.exists() and beside.resolve() != args.dataset.resolve() else None
    try:
        floors = _floors(args.min_sufficiency)
    except ValueError as exc:
        print(f"tiergate tune: --min-sufficiency: {exc}", file=sys.stderr)
        return 2
    options = TuneOptions(
        max_severe=args.max_severe,
        min_sufficiency=floors,
        l2=args.l2,
        output_tokens=args.output_tokens,
        cost_tolerance=args.cost_tolerance,
    )
    try:
        loaded = load_file(args.config)
        _warn(compile_graph(loaded).warnings)
        dev = load_dataset(args.dataset)
        test = load_dataset(test_path) if test_path is not None else None
        result = asyncio.run(tune(loaded, args.config, dev, test, options))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (DatasetError, ValueError) as exc:
        print(f"tiergate tune: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write("\n".join(result.lines) + "\n")
    if not result.ok:
        return 1
    if args.write and result.diff:
        args.config.write_text(result.text)
        print(f"wrote {args.config}")
    elif result.diff:
        print(f"not written: rerun with --write to apply, or edit {args.config} by hand")
    return 0


def _floors(spec: str | None) -> dict[str, float]:
    """``0.9`` (every tier above the cheapest; filled in per tier by tune) or ``sonnet=0.9,opus=0.7``."""
    if not spec:
        return {}
    if "=" not in spec:
        return {"*": _floor(spec)}
    out = {}
    for part in spec.split(","):
        tier, _, share = part.partition("=")
        out[tier.strip()] = _floor(share, tier.strip())
    return out


def _floor(text: str, tier: str | None = None) -> float:
    value = float(text)
    if not 0 <= value <= 1:  # also false for nan
        raise ValueError(f"{tier + ': ' if tier else ''}a share must be between 0 and 1, got {text.strip()}")
    return value


def _validate(paths: list[Path]) -> int:
    from tiergate.runtime import validate_file

    failed = False
    for path in paths:
        problems = validate_file(path, os.environ)
        for p in problems:
            print(p.render())
        errors = [p for p in problems if p.severity == "error"]
        failed = failed or bool(errors)
        if not errors:
            print(f"{path}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 1 if failed else 0


def _stats(db: str | None, config: Path, since: str | None) -> int:
    import time

    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.telemetry.cost import reference_label
    from tiergate.telemetry.stats import StatsError, compute, parse_window, render

    try:
        cutoff = time.time() - parse_window(since) if since else None
    except ValueError as exc:
        print(f"tiergate stats: --since: {exc}", file=sys.stderr)
        return 2
    where: Path | str
    reference = None  # --db: no rules to say which tier the reference is
    if db is None:
        try:
            graph = compile_graph(load_file(config))
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        cfg = graph.config.server.decision_log
        where = cfg.url if cfg.url else Path(cfg.path)
        reference = reference_label(graph.chains.tiers)
    else:
        where = db  # as given: compute reads a file's name, and shows what was given without a password
    try:
        sys.stdout.write(render(compute(where, since=cutoff), reference))
    except StatsError as exc:
        print(f"tiergate stats: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
